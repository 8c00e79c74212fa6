//! Chapter 7's model: a KRaft quorum — three voters (and an observer) —
//! electing leaders and replicating the metadata log over a lossy,
//! reordering network, with crashes and restarts, every decision made by
//! `src/raft/`'s [`RaftNode`], the code the controllers will run.
//!
//! The model is the driver: it holds each replica's log ([`MemoryLog`]) and
//! its `quorum-state` (the last [`ElectionState`] persisted), carries out
//! the core's [`Output`]s in order, and plays the network and the clocks.
//!
//! # Actions
//!
//! ```text
//!  Deliver(m)        request m reaches its replica, which steps; its outputs are
//!                    carried out in order (persist, send), its response goes back
//!                    and the requester steps on it in the same action. Each link
//!                    (from, to) holds at most one request: a newer one replaces
//!                    (loses) the older, requests reorder across links, and one
//!                    never delivered is lost.
//!  DeliverCrash(m)   the same, but the replica crashes just before the last
//!                    quorum-state write the step asked for: what it sent before
//!                    that write is out, the write is not.
//!  Timeout(r, t)     replica r's armed timer t fires (election, fetch, check-quorum):
//!                    any time at all, since the core takes no clock. A leader's
//!                    Timeout(r, CheckQuorum) is a fetch timeout passing on its
//!                    clock, offered even when the core armed no such timer
//!                    (check-quorum off: the core ignores it, the history counts it)
//!  Resend(r)         r's request backoff: it sends again what may have been lost
//!  Append(r)         leader r's state machine appends a record
//!  Read(r)           a broker reads the committed metadata from leader r (taken
//!                    only when the history must remember it: a stale read)
//!  Crash(r)          r stops: its log and quorum-state stay, its memory and the
//!                    messages queued to it go
//!  Restart(r)        r comes back from its log and quorum-state
//! ```
//!
//! # Properties
//!
//! The model keeps a history beside the replicas: the committed prefix (each
//! entry with the epoch in which some replica first saw it committed) and
//! every (epoch, leader) pair that ever was.
//!
//! - [`ONE_LEADER_PER_EPOCH`]: no two replicas ever lead the same epoch.
//! - [`COMMITTED_KEPT`]: every leader of an epoch at or after the one that
//!   committed an entry holds it at its offset (Raft's leader completeness).
//! - [`LOGS_AGREE`]: every replica's log below its high watermark is the
//!   committed prefix.
//! - [`HW_MONOTONIC`]: a running replica's high watermark never goes back.
//! - [`STALE_READS_BOUNDED`]: a leader is *stale* while a newer epoch has
//!   committed a record (which it cannot hold); after
//!   [`STALE_TIMEOUTS_MAX`] fetch timeouts of its own clock since then, it
//!   answers no read. Before that deadline it may: Kafka does not promise
//!   linearizable metadata reads, only that a cut-off leader resigns. A
//!   Fetch that reaches it after its sender moved to a newer epoch (a
//!   network delay the model does not bound, and Kafka's timers assume
//!   bounded) starts its count again.
//! - [`LEADER_ELECTED_WHEN_STABLE`] (liveness, [`mod@liveness`]): once the
//!   faults stop ([`Action::Settle`]), with a majority up, a leader that a
//!   majority follows is elected or can still be, from every state.
//! - Reachability: a leader is elected; a record is committed; with two
//!   epochs, a stale leader outlives one fetch timeout (so the bound of two
//!   is not vacuous).
//!
//! # The bugs it catches
//!
//! - [`Bug::VoteNotPersisted`]: the vote is sent before the quorum-state
//!   write. Voters 1 and 2 win pre-votes and stand in epoch 1; voter 3 grants
//!   1 its vote and crashes before the write, so 1 leads; restarted, 3
//!   remembers no vote and grants 2's resent request: two leaders in epoch 1
//!   (8 steps, CI bound).
//! - [`Bug::VoteWithoutLogCheck`]: votes (and pre-votes) granted without
//!   comparing logs. 1 leads epoch 1 with 2's vote; 2, not yet told, times
//!   out and stands in epoch 2 with 3's pre-vote; 3 follows 1 and fetches its
//!   LeaderChange entry, which commits; 3 then grants 2's vote, and 2 leads
//!   epoch 2 without the committed entry (9 steps, the leader-change bound).
//! - [`Bug::CommitOldEpoch`]: the leader counts replicas of an earlier
//!   epoch's entry as committed (Raft's figure 8). With a LeaderChange entry
//!   at every epoch's start it takes four epochs, too deep for a search from
//!   a fresh quorum, so its bound starts from a scripted, reachable state
//!   ([`KraftModel::two_leaders_prefix`]: 1 led epoch 1 and wrote x, which
//!   nobody copied; 2 leads epoch 2 with only its own entry). Then, in 11
//!   steps: 1 learns epoch 2, times out and wins epoch 3 with 3's vote; 2
//!   times out and gets 3's pre-vote for epoch 4; 3 follows 1 and fetches
//!   offset 0 (epoch 1's entry), which 1 counts as committed although its
//!   own epoch 3 entry is on no follower; 3's last epoch 1 is behind 2's
//!   last epoch 2, so 3 votes for 2, which leads epoch 4 without the
//!   committed entry. The real core from the same start keeps every
//!   property (18,929,743 states, release: not in CI).
//! - [`Bug::NoCheckQuorum`]: the leader arms no CheckQuorum timer
//!   (KAFKA-15489's split brain). 1 leads epoch 1; before its
//!   BeginQuorumEpoch arrives, 2 wins epoch 2 with 3's pre-vote and vote,
//!   and 3 fetches 2's LeaderChange, which commits. Nobody fetches from 1,
//!   yet after two fetch timeouts it still leads epoch 1 and answers a read
//!   without the committed record (12 steps, the leader-change bound).
//! - [`Bug::ProspectiveFollowsDeadLeader`]: a prospective refused by a voter
//!   that still follows the leader the prospective timed out on follows it
//!   again (the livelock a real three-controller spool cluster hit, pinned
//!   by `src/raft/tests.rs`). 3 leads epoch 1 and crashes with its
//!   BeginQuorumEpoch in flight; then the faults stop: 1 and 2 follow the
//!   dead 3, and whichever times out first asks the other while it still
//!   follows 3, is refused with "3 leads", and follows 3 again — no
//!   schedule elects (5 steps, [`KraftModel::liveness`]). Only the liveness
//!   property catches it: every safety property holds over the bug's
//!   280,907 states.
//!
//! # Bounds and simplifications
//!
//! CI: [`KraftModel::small`] — three voters, one epoch (split votes), one
//! append, one crash: 430,174 states in about 5 s (release); and
//! [`KraftModel::leader_change`] — two epochs, no append, no crash:
//! 1,961,244 states in about 20 s. `--big` adds the observer, whose fetches
//! multiply the states (7 million after 76 s without an end), so observers
//! are checked by `src/raft/tests.rs` today, not here.
//! [`KraftModel::liveness`] (`--liveness`) — the first bound without the
//! append, and the stable phase — is 276,275 states in about 20 s (release:
//! each stable state without a leader searches for a schedule that elects).
//! Epochs stop at [`KraftModel::epochs_max`] (a step that would take a
//! replica past it is not taken), the state machine appends
//! [`KraftModel::appends_max`] records, and at most
//! [`KraftModel::crashes_max`] crashes happen. A Fetch answer carries one
//! entry. Messages are never duplicated by the network (a resend is a new
//! message), and a link keeps only its newest request: Kafka's links are TCP
//! connections, in order, so what this leaves out is a stale request
//! overtaking a newer one on one link. A response is never lost or delayed:
//! a lost response is, for the requester, a request that was lost or a timer
//! that fired first — both are explored — though the responder did act on it.
//! A prospective's Resend is left out (its election timeout asks again).
//! Snapshots ([`mod@snapshot`]) are behind [`KraftModel::snapshots_max`], off
//! in the bounds above: [`KraftModel::snapshots`] (`--snapshots`: one epoch,
//! one append, one snapshot, no crash; 457,952 states) checks them on their
//! own, and shows a follower install a snapshot ([`SNAPSHOT_INSTALLED`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use spool::raft::{
    ElectionState, Entry, Epoch, MemoryLog, Message, NodeId, Output, RaftConfig, RaftNode, Record, Role,
    Timer,
};
use stateright::{Model, Property};

use crate::Bound;

mod display;
pub mod liveness;
pub mod snapshot;
pub mod trace;

/// One replica as its driver holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Replica {
    /// The core in memory; `None` while crashed.
    pub node: Option<RaftNode>,
    /// On disk: the log and the quorum-state file.
    pub log: MemoryLog,
    pub disk: ElectionState,
}

/// A message in flight.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Envelope {
    pub from: NodeId,
    pub to: NodeId,
    pub message: Message,
}

/// The whole system and its history.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KraftState {
    /// Replica with id `i` is at index `i - 1`.
    pub replicas: Vec<Replica>,
    /// The links: at most one message in flight from one replica to another.
    pub network: BTreeMap<(NodeId, NodeId), Message>,
    pub appends: u8,
    pub crashes: u8,
    pub snapshots: u8,
    /// History: a follower installed a leader's snapshot.
    pub snapshot_installed: bool,
    /// History: every (epoch, leader) that ever was.
    pub leaders: BTreeSet<(Epoch, NodeId)>,
    /// History: the committed prefix, each entry with the epoch of the
    /// replica that first saw it below its high watermark.
    pub committed: Vec<(Entry, Epoch)>,
    /// History: a replica's high watermark covered entries that disagree
    /// with the committed prefix (or that its log does not hold).
    pub committed_changed: bool,
    /// History: a running replica's high watermark went down.
    pub hw_went_back: bool,
    /// History: each stale leader — one that leads an epoch while a newer
    /// epoch has committed a record it cannot have — with the fetch
    /// timeouts its clock has run since it became stale (at most
    /// [`STALE_TIMEOUTS_MAX`]), keyed by (leader, epoch).
    pub stale_leaders: BTreeMap<(NodeId, Epoch), u8>,
    /// History: a leader answered a read [`STALE_TIMEOUTS_MAX`] fetch
    /// timeouts after it became stale.
    pub stale_read: bool,
    /// The stable phase, once [`Action::Settle`] has begun it ([`mod@liveness`]).
    pub stable: Option<liveness::Stable>,
}

/// How many fetch timeouts a stale leader's clock may run before it must
/// have stopped answering reads. Two, not one: the core checks the quorum
/// once per fetch timeout and counts the fetches since the last check, so
/// the check that ends the interval in which the quorum moved on may still
/// count a fetch from before; the next one cannot.
pub const STALE_TIMEOUTS_MAX: u8 = 2;

/// What can happen next.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Deliver(Envelope),
    DeliverCrash(Envelope),
    Timeout(NodeId, Timer),
    Resend(NodeId),
    Append(NodeId),
    /// Replica r's state machine snapshots its committed prefix and the
    /// log deletes what is below it.
    Snapshot(NodeId),
    /// A broker reads the metadata from replica r, which must be a leader
    /// (Kafka's brokers fetch from the leader only).
    Read(NodeId),
    Crash(NodeId),
    Restart(NodeId),
    /// The faults are over: from here on nothing crashes and nothing is
    /// lost, requests arrive before any timer fires, and timers take turns
    /// ([`mod@liveness`]).
    Settle,
}

// ANCHOR: bugs
/// Raft's classic mistakes, each a switch in [`RaftConfig`] the checker must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// A vote granted without comparing the candidate's log with the voter's.
    VoteWithoutLogCheck,
    /// The leader commits an earlier epoch's entry by counting replicas (figure 8).
    CommitOldEpoch,
    /// The vote is sent before it is persisted.
    VoteNotPersisted,
    /// The leader never resigns for want of fetches (before KAFKA-15489's fix).
    NoCheckQuorum,
    /// A prospective refused by a voter that still follows the leader it
    /// timed out on follows that dead leader again: a livelock.
    ProspectiveFollowsDeadLeader,
}

impl Bug {
    pub const ALL: [Bug; 5] = [
        Bug::VoteWithoutLogCheck,
        Bug::CommitOldEpoch,
        Bug::VoteNotPersisted,
        Bug::NoCheckQuorum,
        Bug::ProspectiveFollowsDeadLeader,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::VoteWithoutLogCheck => "vote-without-log-check",
            Bug::CommitOldEpoch => "commit-old-epoch",
            Bug::VoteNotPersisted => "vote-not-persisted",
            Bug::NoCheckQuorum => "no-check-quorum",
            Bug::ProspectiveFollowsDeadLeader => "prospective-follows-dead-leader",
        }
    }
}
// ANCHOR_END: bugs

/// The model and its bounds.
#[derive(Debug, Clone)]
pub struct KraftModel {
    pub bug: Option<Bug>,
    pub voters: NodeId,
    pub observers: NodeId,
    pub epochs_max: Epoch,
    pub appends_max: u8,
    pub crashes_max: u8,
    /// How many snapshots may be taken (0: the model of chapter 7 without them).
    pub snapshots_max: u8,
    /// KIP-996 pre-vote (Kafka 4.0's default).
    pub pre_vote: bool,
    /// A scripted beginning: the search starts from the state these steps
    /// reach from a fresh quorum (each must be possible), to reach a deep
    /// scenario within the bound.
    pub prefix: Vec<Scripted>,
    /// Whether the faults may stop ([`Action::Settle`]), so that
    /// [`LEADER_ELECTED_WHEN_STABLE`] has something to check ([`mod@liveness`]).
    pub stable: bool,
}

/// One step of [`KraftModel::prefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scripted {
    Timeout(NodeId, Timer),
    /// Deliver the request waiting on the link (from, to).
    Deliver(NodeId, NodeId),
    Append(NodeId),
}

impl KraftModel {
    /// The CI bound: one epoch, so two or three voters may stand at once and
    /// split the vote; one record appended; one crash, at any point of any
    /// step. For a bug, the bound that shows it (see "The bugs it catches").
    pub fn small(bug: Option<Bug>) -> Self {
        let base = KraftModel {
            bug,
            voters: 3,
            observers: 0,
            epochs_max: 1,
            appends_max: 1,
            crashes_max: 1,
            snapshots_max: 0,
            pre_vote: true,
            prefix: Vec::new(),
            stable: false,
        };
        match bug {
            None => base,
            Some(Bug::VoteNotPersisted) => KraftModel { appends_max: 0, ..base },
            Some(Bug::VoteWithoutLogCheck | Bug::NoCheckQuorum) => Self::leader_change(bug),
            Some(Bug::ProspectiveFollowsDeadLeader) => Self::liveness(bug),
            Some(Bug::CommitOldEpoch) => {
                KraftModel { epochs_max: 4, crashes_max: 0, prefix: Self::two_leaders_prefix(), ..base }
            }
        }
    }

    /// The CI's second bound: two epochs, so a leader changes and the new one
    /// must hold what the old one committed; no append, no crash.
    pub fn leader_change(bug: Option<Bug>) -> Self {
        KraftModel { epochs_max: 2, appends_max: 0, crashes_max: 0, ..Self::small(None) }.with_bug(bug)
    }

    /// Snapshots (`--snapshots`): one epoch, one append, one snapshot, no
    /// crash. The leader (or a follower) snapshots at its high watermark and
    /// deletes its log below; a voter that had not fetched yet is answered
    /// with the snapshot id and installs the snapshot, one entry per chunk.
    /// With one crash as well (a restart from a snapshot) every property
    /// still holds over 1,890,346 states (150 s in a debug build), too long
    /// for CI: `KraftModel { crashes_max: 1, ..KraftModel::snapshots(None) }`.
    pub fn snapshots(bug: Option<Bug>) -> Self {
        KraftModel { snapshots_max: 1, crashes_max: 0, ..Self::small(None) }.with_bug(bug)
    }

    /// `--big`: the observer too (one epoch, one append, no crash). Its
    /// fetches multiply the states: the search passed 7 million states in
    /// 76 s (release) without ending, so it is not part of CI.
    pub fn big(bug: Option<Bug>) -> Self {
        KraftModel { observers: 1, crashes_max: 0, ..Self::small(None) }.with_bug(bug)
    }

    /// Figure 8's start: 1 leads epoch 1 (3's vote) and appends x, which
    /// nobody copies; 2 then leads epoch 2 with 3's vote, its log only its
    /// own LeaderChange entry.
    pub fn two_leaders_prefix() -> Vec<Scripted> {
        use Scripted::*;
        vec![
            Timeout(1, Timer::Election),
            Deliver(1, 3), // pre-vote granted: 1 stands in epoch 1
            Deliver(1, 3), // vote granted: 1 leads epoch 1
            Append(1),
            Timeout(2, Timer::Election),
            Deliver(2, 3), // 3 is in epoch 1 already: 2 learns it
            Timeout(2, Timer::Election),
            Deliver(2, 3), // pre-vote for epoch 2 granted
            Deliver(2, 3), // vote granted: 2 leads epoch 2
        ]
    }

    fn with_bug(self, bug: Option<Bug>) -> Self {
        KraftModel { bug, ..self }
    }

    /// The safety nets for [`crate::check`], well above the pinned counts.
    pub fn bound(&self) -> Bound {
        Bound { states_max: 200_000_000, timeout: Duration::from_secs(3_600) }
    }

    /// The core's configuration, with this model's bug planted.
    pub fn config(&self) -> RaftConfig {
        let mut config = RaftConfig::new(1..=self.voters);
        config.pre_vote = self.pre_vote;
        config.fetch_entries_max = 1;
        // One snapshot entry (three bytes) per FetchSnapshot chunk.
        config.snapshot_chunk_bytes_max = 3;
        match self.bug {
            Some(Bug::VoteWithoutLogCheck) => config.vote_checks_log = false,
            Some(Bug::CommitOldEpoch) => config.commit_needs_current_epoch = false,
            Some(Bug::VoteNotPersisted) => config.persist_before_send = false,
            Some(Bug::NoCheckQuorum) => config.check_quorum = false,
            Some(Bug::ProspectiveFollowsDeadLeader) => config.prospective_skips_timed_out_leader = false,
            None => {}
        }
        config
    }

    fn ids(&self) -> impl Iterator<Item = NodeId> {
        1..=self.voters + self.observers
    }
}

impl KraftState {
    fn replica(&self, id: NodeId) -> &Replica {
        &self.replicas[(id - 1) as usize]
    }

    fn replica_mut(&mut self, id: NodeId) -> &mut Replica {
        &mut self.replicas[(id - 1) as usize]
    }

    /// Carries out `id`'s outputs in order; with `crash`, stops just before
    /// the last quorum-state write and crashes `id`. Returns false if a
    /// crash was asked for a step that writes nothing (the same as Crash).
    /// Requests go on their link; a response goes straight back to its
    /// requester, which steps on it at once (an RPC is one action).
    fn apply(&mut self, id: NodeId, outputs: Vec<Output>, crash: bool) -> bool {
        let cut = if crash {
            match outputs.iter().rposition(|o| matches!(o, Output::PersistQuorumState(_))) {
                Some(last_write) => last_write,
                None => return false,
            }
        } else {
            outputs.len()
        };
        let mut responses = Vec::new();
        for output in outputs.into_iter().take(cut) {
            match output {
                Output::PersistQuorumState(state) => self.replica_mut(id).disk = state,
                // A crashed replica's connections refuse what is sent to it.
                Output::Send { to, .. } if self.replica(to).node.is_none() => {}
                Output::Send { to, message } if is_response(&message) => responses.push((to, message)),
                Output::Send { to, message } => {
                    self.network.insert((id, to), message);
                }
                Output::SnapshotInstalled(_) => self.snapshot_installed = true,
                Output::ResetTimer(_) | Output::HighWatermark(_) => {}
            }
        }
        if crash {
            self.crash(id);
        }
        for (to, message) in responses {
            let r = self.replica_mut(to);
            let Some(node) = r.node.as_mut() else { continue };
            let out = node.step(&mut r.log, id, message);
            self.apply(to, out, false);
        }
        true
    }

    fn crash(&mut self, id: NodeId) {
        self.crashes += 1;
        self.replica_mut(id).node = None;
        self.network.retain(|&(_, to), _| to != id);
    }

    /// Updates the history after a step.
    fn observe(&mut self, hws_before: &[Option<i64>]) {
        let replicas = &self.replicas;
        self.stale_leaders.retain(|&(id, epoch), _| {
            let node = replicas[(id - 1) as usize].node.as_ref();
            node.is_some_and(|n| matches!(n.role, Role::Leader(_)) && n.epoch() == epoch)
        });
        for (i, replica) in self.replicas.iter().enumerate() {
            let Some(node) = &replica.node else { continue };
            if let Role::Leader(_) = node.role {
                self.leaders.insert((node.epoch(), node.id));
            }
            if hws_before[i].is_some_and(|before| node.high_watermark < before) {
                self.hw_went_back = true;
            }
            let hw = node.high_watermark as usize;
            let log = &snapshot::full_log(&replica.log);
            if log.len() < hw {
                self.committed_changed = true;
                continue;
            }
            let known = self.committed.len().min(hw);
            if self.committed[..known].iter().zip(&log[..known]).any(|((c, _), e)| c != e) {
                self.committed_changed = true;
            }
            for entry in log.iter().take(hw).skip(self.committed.len()) {
                self.committed.push((entry.clone(), node.epoch()));
            }
        }
    }

    // ANCHOR: stale_read
    /// A fetch timeout passed on leader `id`'s clock: if a newer epoch has
    /// committed a record, `id` is stale and its count goes up.
    fn fetch_timeout_passed(&mut self, id: NodeId) {
        let Some(node) = self.replica(id).node.as_ref().filter(|n| matches!(n.role, Role::Leader(_))) else {
            return;
        };
        let epoch = node.epoch();
        if self.committed.iter().any(|(entry, _)| entry.epoch > epoch) {
            let timeouts = self.stale_leaders.entry((id, epoch)).or_insert(0);
            *timeouts = (*timeouts + 1).min(STALE_TIMEOUTS_MAX);
        }
    }

    /// A Fetch whose sender has since moved to a newer epoch: the network
    /// held it across the sender's whole move, which the model allows and
    /// Kafka's timeouts assume away (its check-quorum timer is 1.5 fetch
    /// timeouts "to tolerate network transition time"). The leader that
    /// answers it has heard from a voter, so its stale count starts again.
    fn late_fetch(&mut self, envelope: &Envelope) {
        let Message::FetchRequest { epoch, .. } = envelope.message else { return };
        let sender = self.replica(envelope.from);
        let sender_epoch = sender.node.as_ref().map_or(sender.disk.epoch, |n| n.epoch());
        if sender_epoch > epoch {
            self.stale_leaders.remove(&(envelope.to, epoch));
        }
    }

    /// A broker reads from leader `id`: remembered if `id` has been stale
    /// for [`STALE_TIMEOUTS_MAX`] fetch timeouts. Returns whether the
    /// history changed; any other read leaves the state as it was.
    fn read(&mut self, id: NodeId) -> bool {
        let Some(node) = self.replica(id).node.as_ref() else { return false };
        let timeouts = self.stale_leaders.get(&(id, node.epoch())).copied().unwrap_or(0);
        let stale_after_deadline = timeouts >= STALE_TIMEOUTS_MAX && !self.stale_read;
        self.stale_read |= stale_after_deadline;
        stale_after_deadline
    }
    // ANCHOR_END: stale_read

    fn hws(&self) -> Vec<Option<i64>> {
        self.replicas.iter().map(|r| r.node.as_ref().map(|n| n.high_watermark)).collect()
    }
}

fn is_response(message: &Message) -> bool {
    matches!(
        message,
        Message::VoteResponse { .. } | Message::FetchResponse { .. } | Message::FetchSnapshotResponse { .. }
    )
}

impl Model for KraftModel {
    type State = KraftState;
    type Action = Action;

    /// A fresh quorum: every replica Unattached in epoch 0, empty logs.
    fn init_states(&self) -> Vec<KraftState> {
        let replicas = self
            .ids()
            .map(|id| {
                let log = MemoryLog::default();
                let (node, _) = RaftNode::restart(id, self.config(), ElectionState::default(), &log);
                Replica { node: Some(node), log, disk: ElectionState::default() }
            })
            .collect();
        let fresh = KraftState {
            replicas,
            network: BTreeMap::new(),
            appends: 0,
            crashes: 0,
            snapshots: 0,
            snapshot_installed: false,
            leaders: BTreeSet::new(),
            committed: Vec::new(),
            committed_changed: false,
            hw_went_back: false,
            stale_leaders: BTreeMap::new(),
            stale_read: false,
            stable: None,
        };
        let start = self.prefix.iter().fold(fresh, |s, &step| {
            let action = match step {
                Scripted::Timeout(id, timer) => Action::Timeout(id, timer),
                Scripted::Append(id) => Action::Append(id),
                Scripted::Deliver(from, to) => {
                    let message = s.network.get(&(from, to)).expect("a request on the link").clone();
                    Action::Deliver(Envelope { from, to, message })
                }
            };
            self.next_state(&s, action.clone()).unwrap_or_else(|| panic!("{action:?} is not possible"))
        });
        vec![start]
    }

    fn actions(&self, s: &KraftState, actions: &mut Vec<Action>) {
        if let Some(stable) = &s.stable {
            return self.stable_actions(s, stable, actions);
        }
        if self.stable {
            actions.push(Action::Settle);
        }
        for (&(from, to), message) in &s.network {
            let envelope = Envelope { from, to, message: message.clone() };
            if s.crashes < self.crashes_max {
                actions.push(Action::DeliverCrash(envelope.clone()));
            }
            actions.push(Action::Deliver(envelope));
        }
        for id in self.ids() {
            let Some(node) = &s.replica(id).node else {
                actions.push(Action::Restart(id));
                continue;
            };
            // A leader's clock runs whether or not the core armed its
            // CheckQuorum timer: a fetch timeout passes all the same (with
            // check-quorum off the core ignores it).
            let is_leader = matches!(node.role, Role::Leader(_));
            let timer = if is_leader { Some(Timer::CheckQuorum) } else { node.armed_timer() };
            if let Some(timer) = timer {
                let elects = node.is_voter() && timer != Timer::CheckQuorum;
                if !elects || node.epoch() < self.epochs_limit(s) {
                    actions.push(Action::Timeout(id, timer));
                }
            }
            if is_leader {
                actions.push(Action::Read(id));
            }
            // A prospective's timeout already asks again.
            if !matches!(node.role, Role::Prospective { .. }) {
                actions.push(Action::Resend(id));
            }
            if matches!(node.role, Role::Leader(_)) && s.appends < self.appends_max {
                actions.push(Action::Append(id));
            }
            if s.crashes < self.crashes_max {
                actions.push(Action::Crash(id));
            }
            if s.snapshots < self.snapshots_max {
                actions.push(Action::Snapshot(id));
            }
        }
    }

    fn next_state(&self, s: &KraftState, action: Action) -> Option<KraftState> {
        let mut next = s.clone();
        let hws_before = s.hws();
        match action {
            Action::Deliver(envelope) | Action::DeliverCrash(envelope)
                if next.replica(envelope.to).node.is_none() =>
            {
                unreachable!("{envelope:?} queued to a crashed replica")
            }
            Action::Deliver(envelope) => {
                next.network.remove(&(envelope.from, envelope.to));
                next.late_fetch(&envelope);
                let to = envelope.to;
                let r = next.replica_mut(to);
                let out = r.node.as_mut()?.step(&mut r.log, envelope.from, envelope.message);
                next.apply(to, out, false);
            }
            Action::DeliverCrash(envelope) => {
                next.network.remove(&(envelope.from, envelope.to));
                next.late_fetch(&envelope);
                let to = envelope.to;
                let r = next.replica_mut(to);
                let out = r.node.as_mut()?.step(&mut r.log, envelope.from, envelope.message);
                if !next.apply(to, out, true) {
                    return None;
                }
            }
            Action::Timeout(id, timer) => {
                if timer == Timer::CheckQuorum {
                    next.fetch_timeout_passed(id);
                }
                let r = next.replica_mut(id);
                let out = r.node.as_mut()?.timeout(&mut r.log, timer);
                next.apply(id, out, false);
            }
            Action::Resend(id) => {
                let r = next.replica_mut(id);
                let out = r.node.as_mut()?.resend(&r.log);
                next.apply(id, out, false);
                if next.network == s.network {
                    return None;
                }
            }
            Action::Append(id) => {
                next.appends += 1;
                let r = next.replica_mut(id);
                let (_, out) = r.node.as_mut()?.append(&mut r.log, vec![s.appends]).ok()?;
                next.apply(id, out, false);
            }
            Action::Snapshot(id) => {
                next.snapshots += 1;
                let r = next.replica_mut(id);
                snapshot::take(r.node.as_ref()?, &mut r.log)?;
            }
            Action::Read(id) => {
                if !next.read(id) {
                    return None;
                }
            }
            Action::Crash(id) => next.crash(id),
            Action::Settle => next.stable = Some(liveness::Stable::default()),
            Action::Restart(id) => {
                let r = next.replica_mut(id);
                let (node, out) = RaftNode::restart(id, self.config(), r.disk.clone(), &r.log);
                r.node = Some(node);
                next.apply(id, out, false);
            }
        }
        // The bound: no step may take a replica past the last epoch (an
        // EndQuorumEpoch starts elections without a timer).
        let epochs_limit = self.epochs_limit(&next);
        if next.replicas.iter().filter_map(|r| r.node.as_ref()).any(|n| n.epoch() > epochs_limit) {
            return None;
        }
        next.observe(&hws_before);
        next.observe_stable(self);
        Some(next)
    }

    // ANCHOR: properties
    fn properties(&self) -> Vec<Property<Self>> {
        let mut properties = vec![
            Property::always(ONE_LEADER_PER_EPOCH, |_, s: &KraftState| {
                let epochs: BTreeSet<Epoch> = s.leaders.iter().map(|&(epoch, _)| epoch).collect();
                epochs.len() == s.leaders.len()
            }),
            Property::always(COMMITTED_KEPT, |_, s: &KraftState| {
                s.replicas.iter().all(|r| {
                    let Some(node) = r.node.as_ref().filter(|n| matches!(n.role, Role::Leader(_))) else {
                        return true;
                    };
                    let log = snapshot::full_log(&r.log);
                    s.committed.iter().enumerate().all(|(offset, (entry, committed_in))| {
                        node.epoch() < *committed_in || log.get(offset) == Some(entry)
                    })
                })
            }),
            Property::always(LOGS_AGREE, |_, s: &KraftState| !s.committed_changed),
            Property::always(HW_MONOTONIC, |_, s: &KraftState| !s.hw_went_back),
            Property::always(STALE_READS_BOUNDED, |_, s: &KraftState| !s.stale_read),
            Property::sometimes(LEADER_ELECTED, |_, s: &KraftState| !s.leaders.is_empty()),
            Property::always(LEADER_ELECTED_WHEN_STABLE, |model: &KraftModel, s: &KraftState| {
                model.elects_when_stable(s)
            }),
            Property::sometimes(RECORD_COMMITTED, |_, s: &KraftState| {
                s.committed.iter().any(|(e, _)| matches!(e.record, Record::Data(_)))
            }),
        ];
        // With a second epoch a leader can go stale: show that one outlives
        // a fetch timeout, so the bound of two is not vacuous.
        if self.snapshots_max > 0 {
            properties
                .push(Property::sometimes(SNAPSHOT_INSTALLED, |_, s: &KraftState| s.snapshot_installed));
        }
        if self.epochs_max >= 2 {
            properties.push(Property::sometimes(STALE_LEADER_SURVIVES_A_CHECK, |_, s: &KraftState| {
                s.stale_leaders.values().any(|&timeouts| timeouts >= 1)
            }));
        }
        properties
    }
    // ANCHOR_END: properties

    fn format_action(&self, action: &Action) -> String {
        display::action(action)
    }
}

// ANCHOR: property_names
/// No two replicas ever lead the same epoch.
pub const ONE_LEADER_PER_EPOCH: &str = "at most one leader per epoch";
/// Every leader of a later epoch holds each committed entry at its offset.
pub const COMMITTED_KEPT: &str = "a committed record is never lost or changed";
/// Below its high watermark, every replica's log is the committed prefix.
pub const LOGS_AGREE: &str = "logs agree up to the high watermark";
/// A running replica's high watermark never goes back.
pub const HW_MONOTONIC: &str = "the high watermark never goes back";
/// A leader cut off from a newer epoch's commits stops answering reads
/// within [`STALE_TIMEOUTS_MAX`] fetch timeouts of its own clock.
pub const STALE_READS_BOUNDED: &str = "no stale read two fetch timeouts after a newer commit";
/// Once the faults are over, with a majority of voters up, a leader that a
/// majority follows can always still be elected ([`mod@liveness`]).
pub const LEADER_ELECTED_WHEN_STABLE: &str = "with a stable majority, a leader is elected";
// ANCHOR_END: property_names

pub const LEADER_ELECTED: &str = "a leader is elected";
/// A follower behind the leader's log start installed its snapshot.
pub const SNAPSHOT_INSTALLED: &str = "a follower installed a snapshot";
pub const RECORD_COMMITTED: &str = "a record is committed";
/// A stale leader is still leading after one fetch timeout of its clock.
pub const STALE_LEADER_SURVIVES_A_CHECK: &str = "a stale leader outlives one fetch timeout";
