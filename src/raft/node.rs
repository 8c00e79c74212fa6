//! [`RaftNode`]: one replica's state in the quorum, its roles and the moves
//! between them. The RPC handlers are in [`super::vote`] and [`super::fetch`].

use std::collections::{BTreeMap, BTreeSet};

use super::message::{Message, Output, Timer};
use super::{
    ElectionState, Entry, Epoch, NodeId, Offset, RaftConfig, RaftError, RaftLog, Record, SnapshotId,
};

/// What a replica is doing in its epoch (Kafka's `EpochState` subclasses).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// No leader known in this epoch (it may have voted). Observers wait here
    /// for a Fetch answer that names the leader.
    Unattached,
    /// KIP-996: asking for pre-votes for `epoch + 1` without bumping the
    /// epoch, so a replica cut off from the quorum cannot disturb it.
    /// `timed_out_on` is the leader it stopped hearing from, if any: a
    /// refusal naming that leader is no reason to follow it again.
    Prospective { granted: BTreeSet<NodeId>, timed_out_on: Option<NodeId> },
    /// Standing for election in this epoch, having voted for itself.
    Candidate { granted: BTreeSet<NodeId> },
    /// Leading this epoch.
    Leader(LeaderProgress),
    /// Fetching from this epoch's leader, heard from within the fetch timeout;
    /// `fetching_snapshot`: pulling the leader's snapshot, and the next byte
    /// wanted ([`super::snapshot`]).
    Follower { leader_id: NodeId, fetching_snapshot: Option<(SnapshotId, u64)> },
    /// Was the leader of this epoch and stepped down (check-quorum,
    /// shutdown, or a restart); waits for the next election.
    Resigned,
}

/// The leader's view of the quorum (Kafka's `LeaderState`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct LeaderProgress {
    /// Where this epoch's LeaderChange entry is: the high watermark moves
    /// only once a majority holds it.
    pub epoch_start_offset: Offset,
    /// Each voter's log end, learned from its fetch offset (the leader's own
    /// from its log). A voter that has not fetched in this epoch is absent.
    pub end_offsets: BTreeMap<NodeId, Offset>,
    /// Voters that fetched since the last check-quorum.
    pub fetched: BTreeSet<NodeId>,
}

/// One replica of the KRaft quorum, sans IO: a voter or an observer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RaftNode {
    pub id: NodeId,
    pub config: RaftConfig,
    /// The epoch, leader and vote, as last persisted (or about to be).
    pub election: ElectionState,
    pub role: Role,
    /// Entries below it are committed; learned again after a restart.
    pub high_watermark: Offset,
}

impl RaftNode {
    /// A replica starting from its persisted `quorum-state` (the default
    /// for a fresh one) and its log. A leader that restarts comes back
    /// Resigned: its in-memory progress is gone, so it cannot go on leading.
    pub fn restart(
        id: NodeId,
        config: RaftConfig,
        election: ElectionState,
        log: &impl RaftLog,
    ) -> (Self, Vec<Output>) {
        let role = match election.leader_id {
            Some(leader) if leader == id => Role::Resigned,
            Some(leader_id) => Role::Follower { leader_id, fetching_snapshot: None },
            None => Role::Unattached,
        };
        // A snapshot holds committed records only: its end is committed.
        let high_watermark = log.latest_snapshot().map_or(0, |id| id.end_offset);
        let node = RaftNode { id, config, election, role, high_watermark };
        let mut out = Vec::new();
        node.reset_timer(&mut out);
        if let Role::Follower { leader_id, .. } = node.role {
            node.send_fetch(log, leader_id, &mut out);
        }
        (node, out)
    }

    /// The epoch this replica is in.
    pub fn epoch(&self) -> Epoch {
        self.election.epoch
    }

    /// Whether this replica votes (is in `controller.quorum.voters`).
    pub fn is_voter(&self) -> bool {
        self.config.voters.contains(&self.id)
    }

    /// The leader this replica knows for its epoch.
    pub fn leader_id(&self) -> Option<NodeId> {
        match self.role {
            Role::Leader(_) => Some(self.id),
            Role::Follower { leader_id, .. } => Some(leader_id),
            _ => None,
        }
    }

    /// Why a follower's request (Fetch, FetchSnapshot) in `epoch` is
    /// refused, if it is: a stale or future epoch, or not the leader.
    pub(super) fn refuse_follower_request(&self, epoch: Epoch) -> Option<RaftError> {
        if epoch < self.epoch() {
            Some(RaftError::FencedLeaderEpoch)
        } else if epoch > self.epoch() {
            Some(RaftError::UnknownLeaderEpoch)
        } else if !matches!(self.role, Role::Leader(_)) {
            Some(RaftError::NotLeaderOrFollower)
        } else {
            None
        }
    }

    /// The timer the current role runs, if any.
    pub fn armed_timer(&self) -> Option<Timer> {
        match self.role {
            Role::Follower { .. } => Some(Timer::Fetch),
            Role::Leader(_) if self.config.check_quorum => Some(Timer::CheckQuorum),
            Role::Leader(_) => None,
            _ if self.is_voter() => Some(Timer::Election),
            _ => None,
        }
    }

    /// More than half of `controller.quorum.voters`.
    pub(super) fn is_majority(&self, count: usize) -> bool {
        count * 2 > self.config.voters.len()
    }

    pub(super) fn reset_timer(&self, out: &mut Vec<Output>) {
        if let Some(timer) = self.armed_timer() {
            out.push(Output::ResetTimer(timer));
        }
    }

    pub(super) fn send(to: NodeId, message: Message, out: &mut Vec<Output>) {
        out.push(Output::Send { to, message });
    }

    fn other_voters(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.config.voters.iter().copied().filter(move |&v| v != self.id)
    }

    /// Records a new election state; the driver persists it before the
    /// outputs that follow.
    pub(super) fn persist(&mut self, election: ElectionState, out: &mut Vec<Output>) {
        if election != self.election {
            self.election = election.clone();
            out.push(Output::PersistQuorumState(election));
        }
    }

    // ANCHOR: node_timeout
    /// A timer fired.
    pub fn timeout(&mut self, log: &mut impl RaftLog, timer: Timer) -> Vec<Output> {
        let mut out = Vec::new();
        if self.armed_timer() != Some(timer) {
            return out; // a stale timer: the role changed since it was set
        }
        match (&self.role, timer) {
            (Role::Leader(progress), Timer::CheckQuorum) => {
                let heard = progress.fetched.iter().filter(|&&v| v != self.id).count() + 1;
                if self.is_majority(heard) {
                    if let Role::Leader(progress) = &mut self.role {
                        progress.fetched.clear();
                    }
                    self.reset_timer(&mut out);
                } else {
                    self.resign(&mut out);
                }
            }
            // KIP-996: an election that went nowhere sends a prospective back
            // to the leader it had timed out on (alive after all, or about to
            // be timed out on again); one with no such leader stands again.
            (&Role::Prospective { timed_out_on: Some(leader), .. }, Timer::Election) => {
                let epoch = self.epoch();
                self.become_follower(log, epoch, leader, &mut out);
            }
            (Role::Follower { .. }, Timer::Fetch) if !self.is_voter() => {
                let forgotten = ElectionState { leader_id: None, ..self.election.clone() };
                self.persist(forgotten, &mut out);
                self.role = Role::Unattached;
            }
            _ => self.start_election(log, &mut out),
        }
        out
    }
    // ANCHOR_END: node_timeout

    /// A voter whose leader went quiet, or whose election went nowhere,
    /// asks for pre-votes (or, without pre-vote, stands at once).
    pub(super) fn start_election(&mut self, log: &mut impl RaftLog, out: &mut Vec<Output>) {
        if !self.config.pre_vote {
            return self.become_candidate(log, out);
        }
        let timed_out_on = match self.role {
            Role::Follower { leader_id, .. } => Some(leader_id),
            Role::Prospective { timed_out_on, .. } => timed_out_on,
            _ => None,
        };
        self.role = Role::Prospective { granted: BTreeSet::from([self.id]), timed_out_on };
        self.reset_timer(out);
        if self.is_majority(1) {
            return self.become_candidate(log, out);
        }
        self.request_votes(log, out);
    }

    pub(super) fn become_candidate(&mut self, log: &mut impl RaftLog, out: &mut Vec<Output>) {
        let epoch = self.epoch() + 1;
        self.persist(ElectionState { epoch, leader_id: None, voted_id: Some(self.id) }, out);
        self.role = Role::Candidate { granted: BTreeSet::from([self.id]) };
        self.reset_timer(out);
        if self.is_majority(1) {
            return self.become_leader(log, out);
        }
        self.request_votes(log, out);
    }

    /// Sends (or resends) the Vote requests of a prospective or candidate to
    /// the voters that have not granted yet.
    fn request_votes(&self, log: &impl RaftLog, out: &mut Vec<Output>) {
        let (granted, pre_vote, epoch) = match &self.role {
            Role::Prospective { granted, .. } => (granted, true, self.epoch() + 1),
            Role::Candidate { granted } => (granted, false, self.epoch()),
            _ => return,
        };
        let (last_epoch, end_offset) = (log.last_epoch(), log.end_offset());
        for voter in self.other_voters().filter(|v| !granted.contains(v)) {
            Self::send(voter, Message::VoteRequest { epoch, last_epoch, end_offset, pre_vote }, out);
        }
    }

    /// Won the election: persist the leadership, write the LeaderChange
    /// entry, and announce the epoch.
    pub(super) fn become_leader(&mut self, log: &mut impl RaftLog, out: &mut Vec<Output>) {
        let epoch = self.epoch();
        self.persist(ElectionState { epoch, leader_id: Some(self.id), voted_id: Some(self.id) }, out);
        let epoch_start_offset = log.end_offset();
        log.append(vec![Entry { epoch, record: Record::LeaderChange { leader_id: self.id } }]);
        let end_offsets = BTreeMap::from([(self.id, log.end_offset())]);
        self.role =
            Role::Leader(LeaderProgress { epoch_start_offset, end_offsets, fetched: BTreeSet::new() });
        self.reset_timer(out);
        for voter in self.other_voters() {
            Self::send(voter, Message::BeginQuorumEpoch { epoch }, out);
        }
        self.advance_high_watermark(out);
    }

    /// Follows `leader_id` in `epoch` (the same or a newer one) and fetches.
    pub(super) fn become_follower(
        &mut self,
        log: &impl RaftLog,
        epoch: Epoch,
        leader_id: NodeId,
        out: &mut Vec<Output>,
    ) {
        let voted_id = if epoch == self.epoch() { self.election.voted_id } else { None };
        self.persist(ElectionState { epoch, leader_id: Some(leader_id), voted_id }, out);
        self.role = Role::Follower { leader_id, fetching_snapshot: None };
        self.reset_timer(out);
        self.send_fetch(log, leader_id, out);
    }

    /// Moves to a newer epoch with no leader known yet.
    pub(super) fn become_unattached(&mut self, epoch: Epoch, out: &mut Vec<Output>) {
        self.persist(ElectionState { epoch, leader_id: None, voted_id: None }, out);
        self.role = Role::Unattached;
        self.reset_timer(out);
    }

    /// Catches up with a newer epoch a message revealed.
    pub(super) fn learn_epoch(
        &mut self,
        log: &impl RaftLog,
        epoch: Epoch,
        leader_id: Option<NodeId>,
        out: &mut Vec<Output>,
    ) {
        match leader_id {
            Some(leader) if leader != self.id => self.become_follower(log, epoch, leader, out),
            _ => self.become_unattached(epoch, out),
        }
    }

    pub(super) fn send_fetch(&self, log: &impl RaftLog, leader_id: NodeId, out: &mut Vec<Output>) {
        let fetch_offset = log.end_offset();
        let message =
            Message::FetchRequest { epoch: self.epoch(), fetch_offset, last_fetched_epoch: log.last_epoch() };
        Self::send(leader_id, message, out);
    }

    /// The leader steps down (check-quorum failed, or it shuts down) and
    /// hands over to the voters most caught up.
    pub fn resign(&mut self, out: &mut Vec<Output>) {
        let Role::Leader(progress) = &self.role else { return };
        let mut successors: Vec<(Offset, NodeId)> =
            self.other_voters().map(|v| (progress.end_offsets.get(&v).copied().unwrap_or(-1), v)).collect();
        successors.sort_by(|a, b| b.cmp(a));
        let preferred_successors: Vec<NodeId> = successors.into_iter().map(|(_, v)| v).collect();
        self.role = Role::Resigned;
        self.reset_timer(out);
        let epoch = self.epoch();
        for &voter in &preferred_successors {
            let message =
                Message::EndQuorumEpoch { epoch, preferred_successors: preferred_successors.clone() };
            Self::send(voter, message, out);
        }
    }

    /// The state machine above appends a record; only the leader takes it.
    /// Returns its offset; it is committed once the high watermark passes it.
    pub fn append(
        &mut self,
        log: &mut impl RaftLog,
        data: Vec<u8>,
    ) -> Result<(Offset, Vec<Output>), RaftError> {
        self.append_all(log, vec![data])
    }

    /// Appends `records` together, in one call to the log (one batch on
    /// disk), so the high watermark never falls between them: the
    /// controller's records for one decision commit together or not at all.
    /// Returns the first one's offset.
    pub fn append_all(
        &mut self,
        log: &mut impl RaftLog,
        records: Vec<Vec<u8>>,
    ) -> Result<(Offset, Vec<Output>), RaftError> {
        let Role::Leader(progress) = &mut self.role else { return Err(RaftError::NotLeaderOrFollower) };
        let offset = log.end_offset();
        let epoch = self.election.epoch;
        log.append(records.into_iter().map(|data| Entry { epoch, record: Record::Data(data) }).collect());
        progress.end_offsets.insert(self.id, log.end_offset());
        let mut out = Vec::new();
        self.advance_high_watermark(&mut out);
        Ok((offset, out))
    }

    /// The request backoff elapsed: send again what may have been lost
    /// (Vote requests, BeginQuorumEpoch to voters not yet fetching, the
    /// follower's Fetch, an observer's search for the leader).
    pub fn resend(&mut self, log: &impl RaftLog) -> Vec<Output> {
        let mut out = Vec::new();
        match &self.role {
            Role::Prospective { .. } | Role::Candidate { .. } => self.request_votes(log, &mut out),
            Role::Leader(progress) => {
                let epoch = self.epoch();
                for voter in self.other_voters().filter(|v| !progress.end_offsets.contains_key(v)) {
                    Self::send(voter, Message::BeginQuorumEpoch { epoch }, &mut out);
                }
            }
            Role::Follower { leader_id, fetching_snapshot: Some(_) } => {
                self.send_fetch_snapshot(*leader_id, &mut out)
            }
            Role::Follower { leader_id, fetching_snapshot: None } => {
                self.send_fetch(log, *leader_id, &mut out)
            }
            Role::Unattached if !self.is_voter() => {
                for voter in self.config.voters.iter().copied() {
                    self.send_fetch(log, voter, &mut out);
                }
            }
            Role::Unattached | Role::Resigned => {}
        }
        out
    }
}
