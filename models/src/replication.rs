//! Chapter 6's model: three replicas of one partition, a controller, crashes
//! and elections, and the real replication core deciding everything.
//!
//! Every decision of the protocol — the high watermark, ISR shrink and
//! expansion, when an `acks=all` produce is answered, where a follower's log
//! diverges and where it truncates — is made by `src/replication/`'s
//! [`LeaderState`] and [`FollowerState`], the same code the broker will run.
//! The model holds what the driver holds: each replica's log (entries of
//! (leader epoch, value) whose offset is their index, all flushed) and its
//! [`LeaderEpochCache`]; and it plays the controller.
//!
//! # Actions
//!
//! ```text
//!  Produce(v)   the leader: check_append(acks=all), append (epoch, v), on_append → acks
//!  Fetch(r)     follower r, from the replica it believes leads (if that one leads now):
//!               fetch_request → leader on_fetch → truncate, or append + on_records, or
//!               FENCED_LEADER_EPOCH (nothing happens); an ISR expansion is committed at once
//!  FetchLost(r) the same fetch, its response lost: the leader recorded r's fetch offset
//!               (and may have let r into the ISR), r got nothing
//!  Shrink       the leader's tick after replica.lag.time.max.ms: laggards leave the ISR
//!  Crash(r)     r stops (its log, epoch cache and high watermark checkpoint stay on disk);
//!               a crashed leader is fenced at once: the controller elects the first ISR
//!               member in assignment order, bumps the leader epoch; the new leader and
//!               every live replica not lagging behind the metadata log learn it.
//!               A crashed follower stays in the ISR until the leader shrinks it (a fast restart).
//!  Restart(r)   r comes back as a follower of the current leader (or is elected, if it
//!               was the last ISR member and the partition had no leader)
//!  MoveLeader(r) the controller moves leadership to ISR member r without a crash
//!               (preferred leader election, controlled shutdown); the old leader
//!               stays in the ISR. Only in the bounds that need it (see "Bounds").
//!  MetadataLag(r) follower r stops applying the metadata log (its metadata fetch stalls,
//!               shorter than broker.session.timeout.ms, so it is not fenced): it keeps
//!               following the leader and epoch it knows, and elections pass it by
//!  MetadataCatchUp(r) r applies the metadata log again and follows the current leader
//!               (a restart catches up too)
//! ```
//!
//! A fetch is one step: request, answer and the follower's reaction. Time
//! takes two values: fetches happen at 0 and the leader's tick at
//! `replica.lag.time.max.ms + 1`, so a tick sees every ISR follower short of
//! the leader's log end as lagging too long.
//!
//! # Properties
//!
//! - [`ACKED_KEPT`]: every record acknowledged with `acks=all` is in the
//!   leader's log at its offset, while at most RF − `min.insync.replicas` = 1
//!   replica is down at a time.
//! - [`CONSUMED_KEPT`]: the high watermark a consumer has seen never goes
//!   back: the records below the highest one any leader exposed stay in every
//!   later leader's log. (A new leader's own high watermark can start lower —
//!   it learned the old one a fetch late — as in Kafka; what it must not do is
//!   lose or change what was exposed.)
//! - [`ISR_AGREE`]: every ISR member's log equals the leader's below the
//!   leader's high watermark.
//! - Reachability: a record is acknowledged, the leader changes, a follower
//!   truncates records.
//!
//! # The bugs it catches
//!
//! - [`Bug::AckBeforeHw`]: `acks=all` answered when the leader has written the
//!   record, before the high watermark covers it. The leader crashes before a
//!   follower fetched it: the new leader never had it (2 steps).
//! - [`Bug::TruncateToHw`] (Kafka before KIP-101, 0.11): a restarted replica,
//!   and a replica that becomes follower, truncates its log to its high
//!   watermark, and fetches without its last epoch. Followers learn the high
//!   watermark a fetch late, so the truncation removes records that were
//!   acknowledged; the replica is still in the ISR and is elected (7 steps:
//!   produce, two fetches by one follower (the second tells the leader it has
//!   a0), the leader shrinks the ISR to itself and that follower and
//!   acknowledges, the follower crashes and restarts without the record, the
//!   leader crashes and the follower is elected; ISR agreement breaks at the
//!   restart, step 6).
//! - [`Bug::EpochWithoutOffset`] (before KIP-279, 2.0): the leader's diverging
//!   answer carries the end offset without the epoch it belongs to, so a
//!   follower cannot tell that it never had that epoch; and, as before
//!   KIP-595, it asks once per leader epoch and then fetches without epochs.
//!   Two fast leader changes: 0 writes a0 (epoch 0), leadership moves to 2,
//!   which writes a1 (epoch 1) and 1 copies it; 2 crashes and 0 leads epoch 2.
//!   1 asks where epoch 1 ends: 0 never had epoch 1 and answers "at 1" (where
//!   its epoch 2 starts), so 1 keeps a1 at offset 0 where 0 has a0. Once 1
//!   fetches again the high watermark covers offset 0, and the ISR disagrees
//!   there (7 steps); consumers read a0, which 1 would replace if elected (9).
//!   With the epoch in the answer (KIP-279), 1 sees that 0's answer is about
//!   epoch 0, which ends for 1 at 0, and truncates a1.
//! - [`Bug::UncleanElection`] (`unclean.leader.election.enable=true`): when no
//!   ISR member is left, a replica outside the ISR is elected. The ISR
//!   shrinks to the leader, whose high watermark then covers a record only it
//!   has; it crashes and the new leader lacks what consumers read (3 steps).
//! - [`Bug::ExpandBelowEpochStart`] (KAFKA-7128, fixed in 2.1): a follower
//!   rejoins the ISR once it reaches the leader's high watermark, without
//!   reaching the start of the leader's epoch. a0 is acknowledged with the
//!   ISR {0, 1}; 0 crashes and 1 leads with its own, lagging, high watermark
//!   0; empty replica 2 fetches from 0, rejoins, and the response with a0 is
//!   lost; 1 crashes and 2 is elected without a0 (8 steps).
//! - [`Bug::LostDisk`]: not an old bug but an assumption broken — a replica
//!   restarts with an empty log (unflushed writes, a replaced disk) before the
//!   controller removed it from the ISR, and is elected (KIP-966's case, which
//!   Kafka 4.x answers with eligible leader replicas and unclean-shutdown
//!   detection). The ISR shrinks to the leader alone, whose high watermark
//!   covers a0; it crashes and restarts empty, and is elected again: what
//!   consumers read is gone (4 steps); an acknowledged record goes the same
//!   way through a follower (7 steps).
//! - [`Bug::FetchWithoutEpoch`] (before KIP-320, 2.1): followers as in Kafka
//!   0.11 to 2.0 — one epoch check per leader epoch they learn of, then
//!   fetches by offset alone — and no fetch carries the leader epoch the
//!   follower believes in. Follower 2 copies a0 (epoch 0) and falls behind
//!   the metadata log; 0 crashes, 1 leads epoch 1, 0 comes back, cuts a0
//!   (1 never had it) and rejoins the ISR; 1 crashes and 0 leads epoch 2, and
//!   writes a1 at offset 0. Follower 2 still believes 0 leads epoch 0, so its
//!   fetch from offset 1 goes to 0, which serves it and counts it as having
//!   offset 0: the high watermark covers a1 (acknowledged) on 0 and a0 on 2
//!   (10 steps). With KIP-320's epoch, 0 answers FENCED_LEADER_EPOCH until 2
//!   catches up and checks its log again. Carrying the last fetched epoch in
//!   every fetch (KIP-595) also saves the real core: dropping only the
//!   current leader epoch from its fetches breaks nothing in this bound.
//!
//! # Bounds and simplifications
//!
//! CI: [`ReplicationModel::small`] — two values, two crashes, at most one
//! replica down at a time, one lost fetch response, one follower falling
//! behind the metadata log: 2,593,375 states in 20 to 50 s (release; 609,778
//! in about four seconds before the metadata lag).
//! `--big` ([`ReplicationModel::big`]): three values, three crashes, no lost
//! response and no metadata lag: 13,440,518 states in 100 to 150 s (with a
//! lost response too, the search passed 13 GB and was stopped). One partition, RF 3,
//! `min.insync.replicas` 2; every append is flushed. Leader moves without a
//! crash multiply the states tenfold, so only [`Bug::EpochWithoutOffset`]'s
//! check has one, in place of the lost response — and the real core is
//! checked with the same bound too (2,605,710 states, about 15 s), without the
//! metadata lag; [`Bug::FetchWithoutEpoch`]'s check has the lag and no lost
//! response. AlterPartition is committed at once. Only followers lag behind
//! the metadata log: a new leader learns of its election at once, and an old
//! leader steps down at once, so there is never a second leader — a zombie
//! leader that has not heard of its deposition, and a follower's epoch newer
//! than its leader's (UNKNOWN_LEADER_EPOCH), are outside this model; the
//! core's answers to them are unit-tested in `src/replication/tests.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use spool::replication::{
    AckOutcome, FollowerState, LeaderEpochCache, LeaderState, ReplicaId, ReplicationConfig,
};
use stateright::{Model, Property};

use crate::Bound;

/// A record's payload: the producer sends 0, 1, … in order.
pub type Value = u8;

/// `replica.lag.time.max.ms` in the model (its value does not matter: see "time").
pub const LAG_MS: i64 = 30_000;
/// The only two instants: when fetches happen, and when the leader's tick does.
const FETCH_TIME_MS: i64 = 0;
const TICK_TIME_MS: i64 = LAG_MS + 1;

// ANCHOR: state
/// One record in a replica's log; its offset is its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    pub epoch: i32,
    pub value: Value,
}

/// What a replica is doing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    Offline,
    Follower(FollowerState),
    Leader(Box<LeaderState>),
}

/// One replica: the log and epoch cache on its disk, and its role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Replica {
    pub log: Vec<Entry>,
    pub cache: LeaderEpochCache,
    pub role: Role,
    /// The high watermark it had when it stopped (`replication-offset-checkpoint`).
    pub hw_checkpoint: i64,
    /// [`Bug::EpochWithoutOffset`] only: the follower has not yet asked, in
    /// this leader epoch, where its log diverges (before KIP-595 it asked once,
    /// with OffsetsForLeaderEpoch, then fetched without epochs).
    pub epoch_unchecked: bool,
    /// The replica has stopped applying the metadata log: elections do not
    /// reach it until it catches up, and it keeps following the leader and
    /// epoch it last heard of.
    pub metadata_lagging: bool,
}

/// The controller's view of the partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Controller {
    pub leader: Option<ReplicaId>,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub isr: BTreeSet<ReplicaId>,
}

/// The whole system.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReplicationState {
    /// Replica `i` has id `i`.
    pub replicas: Vec<Replica>,
    pub controller: Controller,
    pub next_value: Value,
    /// (offset, value) of every record acknowledged to the producer.
    pub acked: BTreeSet<(i64, Value)>,
    /// The records below the highest high watermark a leader exposed: what consumers may have read.
    pub consumed: Vec<Entry>,
    pub crashes: u8,
    pub moves: u8,
    pub fetch_losses: u8,
    pub metadata_lags: u8,
    pub leader_changed: bool,
    pub truncated: bool,
}
// ANCHOR_END: state

/// What can happen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Produce(Value),
    Fetch(ReplicaId),
    /// A fetch whose response is lost: the leader acted on it, the follower got nothing.
    FetchLost(ReplicaId),
    Shrink,
    Crash(ReplicaId),
    Restart(ReplicaId),
    /// Follower r stops applying the metadata log (its metadata fetch is slow).
    MetadataLag(ReplicaId),
    /// Lagging follower r catches up with the metadata log: it learns the
    /// current leader and epoch and follows them.
    MetadataCatchUp(ReplicaId),
    /// The controller moves leadership to this ISR member; the old leader stays in the ISR.
    MoveLeader(ReplicaId),
}

// ANCHOR: bugs
/// Kafka's historical mistakes, each a switch the checker must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// `acks=all` is answered at the leader's append, not when the high watermark covers it.
    AckBeforeHw,
    /// Before KIP-101: truncate to the high watermark on restart and on becoming follower.
    TruncateToHw,
    /// Before KIP-279: the diverging answer carries the end offset but not its epoch.
    EpochWithoutOffset,
    /// `unclean.leader.election.enable`: elect outside the ISR when no ISR member is left.
    UncleanElection,
    /// The replica comes back with an empty disk (its log was never flushed,
    /// or the disk was replaced) while still in the ISR: what KIP-966 addresses.
    LostDisk,
    /// KAFKA-7128: a follower rejoins the ISR at the leader's high watermark
    /// without reaching the start of the leader's epoch.
    ExpandBelowEpochStart,
    /// Before KIP-320 (2.1): a follower checks its log against the leader once
    /// per leader epoch it learns of, then fetches by offset alone, without
    /// the leader epoch it believes in, so a leader never fences a follower
    /// that missed a leader change.
    FetchWithoutEpoch,
}

impl Bug {
    pub const ALL: [Bug; 7] = [
        Bug::AckBeforeHw,
        Bug::TruncateToHw,
        Bug::EpochWithoutOffset,
        Bug::UncleanElection,
        Bug::LostDisk,
        Bug::ExpandBelowEpochStart,
        Bug::FetchWithoutEpoch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeHw => "ack-before-hw",
            Bug::TruncateToHw => "truncate-to-hw",
            Bug::EpochWithoutOffset => "epoch-without-offset",
            Bug::UncleanElection => "unclean-election",
            Bug::LostDisk => "lost-disk",
            Bug::ExpandBelowEpochStart => "expand-below-epoch-start",
            Bug::FetchWithoutEpoch => "fetch-without-epoch",
        }
    }
}
// ANCHOR_END: bugs

/// The model and its bounds.
#[derive(Debug, Clone)]
pub struct ReplicationModel {
    pub bug: Option<Bug>,
    pub replication_factor: i32,
    pub min_insync_replicas: usize,
    pub values_max: Value,
    pub crashes_max: u8,
    /// Leader moves without a crash (preferred leader election, controlled
    /// shutdown): the old leader stays in the ISR.
    pub moves_max: u8,
    /// Fetch responses the network may lose (the leader acted on the fetch).
    pub fetch_losses_max: u8,
    /// Times a follower may fall behind the metadata log.
    pub metadata_lags_max: u8,
    /// Followers as in Kafka 0.11 to 2.6: one OffsetsForLeaderEpoch per
    /// leader epoch they learn of, then fetches by offset alone (KIP-595, 2.7,
    /// put the last fetched epoch in every fetch). Implied by
    /// [`Bug::EpochWithoutOffset`] and [`Bug::FetchWithoutEpoch`]; on its own,
    /// it checks that KIP-320's leader epoch is what makes such fetches safe.
    pub epoch_checked_once: bool,
}

impl ReplicationModel {
    /// The CI bound: two values, two crashes; [`Bug::EpochWithoutOffset`]
    /// needs a leader move without a crash to show, and gets one.
    pub fn small(bug: Option<Bug>) -> Self {
        ReplicationModel {
            bug,
            replication_factor: 3,
            min_insync_replicas: 2,
            values_max: 2,
            crashes_max: 2,
            moves_max: u8::from(bug == Some(Bug::EpochWithoutOffset)),
            fetch_losses_max: u8::from(!matches!(
                bug,
                Some(Bug::EpochWithoutOffset | Bug::FetchWithoutEpoch)
            )),
            metadata_lags_max: u8::from(bug != Some(Bug::EpochWithoutOffset)),
            epoch_checked_once: false,
        }
    }

    /// `--big`: three values, three crashes, no lost response (with one,
    /// the search outgrew 13 GB of memory) and no metadata lag (it
    /// multiplies the CI bound's states by four), so only the CI bound shows
    /// [`Bug::FetchWithoutEpoch`].
    pub fn big(bug: Option<Bug>) -> Self {
        ReplicationModel {
            values_max: 3,
            crashes_max: 3,
            fetch_losses_max: 0,
            metadata_lags_max: 0,
            ..Self::small(bug)
        }
    }

    /// The safety nets for [`crate::check`], well above the pinned counts.
    pub fn bound(&self) -> Bound {
        let big = self.values_max > Self::small(None).values_max;
        Bound {
            states_max: if big { 200_000_000 } else { 20_000_000 },
            timeout: Duration::from_secs(if big { 3_600 } else { 300 }),
        }
    }

    fn config(&self) -> ReplicationConfig {
        ReplicationConfig {
            min_insync_replicas: self.min_insync_replicas,
            replica_lag_time_max_ms: LAG_MS,
            expansion_needs_epoch_start: !self.has(Bug::ExpandBelowEpochStart),
        }
    }

    fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }
}

impl ReplicationState {
    /// The leader's id and core, if the partition has a leader.
    pub fn leader(&self) -> Option<(ReplicaId, &LeaderState)> {
        let id = self.controller.leader?;
        match &self.replicas[id as usize].role {
            Role::Leader(state) => Some((id, state)),
            role => unreachable!("the controller's leader {id} is {role:?}"),
        }
    }

    fn leader_mut(&mut self) -> Option<&mut LeaderState> {
        let id = self.controller.leader?;
        match &mut self.replicas[id as usize].role {
            Role::Leader(state) => Some(state),
            _ => None,
        }
    }

    /// Whether replica `r` is the leader (a lagging follower may still follow
    /// a replica that is no longer, or again, the leader).
    fn is_leader(&self, r: ReplicaId) -> bool {
        matches!(self.replicas[r as usize].role, Role::Leader(_))
    }

    fn is_offline(&self, r: ReplicaId) -> bool {
        matches!(self.replicas[r as usize].role, Role::Offline)
    }

    fn high_watermark_of(&self, r: ReplicaId) -> i64 {
        match &self.replicas[r as usize].role {
            Role::Offline => self.replicas[r as usize].hw_checkpoint,
            Role::Follower(f) => f.high_watermark,
            Role::Leader(l) => l.high_watermark(),
        }
    }

    /// The producer hears back.
    fn record_acks(&mut self, acks: Vec<AckOutcome>) {
        for ack in acks {
            if ack.result.is_ok() {
                self.acked.insert(((ack.token >> 8) as i64, ack.token as Value));
            }
        }
    }

    /// A consumer reads up to the leader's high watermark (if what it read so far is still there).
    fn consume(&mut self) {
        let Some((id, leader)) = self.leader() else { return };
        let hw = leader.high_watermark() as usize;
        let log = &self.replicas[id as usize].log;
        if hw > self.consumed.len() && log.starts_with(&self.consumed) {
            self.consumed = log[..hw].to_vec();
        }
    }

    /// Cuts replica `r`'s log to `offset` records, through the follower core.
    fn truncate(&mut self, r: ReplicaId, offset: i64) {
        let replica = &mut self.replicas[r as usize];
        let Role::Follower(follower) = &mut replica.role else { unreachable!("only followers truncate") };
        if (offset as usize) < replica.log.len() {
            replica.log.truncate(offset as usize);
            self.truncated = true;
        }
        follower.on_truncated(&mut replica.cache, offset);
    }
}

mod display;
mod steps;

impl Model for ReplicationModel {
    type State = ReplicationState;
    type Action = Action;

    /// Replica 0 leads epoch 0 of an empty partition, all three in the ISR.
    fn init_states(&self) -> Vec<ReplicationState> {
        let placeholder = Role::Follower(FollowerState::become_follower(0, -1, -1, 0));
        let replica = Replica {
            log: Vec::new(),
            cache: LeaderEpochCache::new(),
            role: placeholder,
            hw_checkpoint: 0,
            epoch_unchecked: false,
            metadata_lagging: false,
        };
        let all: BTreeSet<ReplicaId> = (0..self.replication_factor).collect();
        let mut state = ReplicationState {
            replicas: vec![replica; self.replication_factor as usize],
            controller: Controller { leader: None, leader_epoch: -1, partition_epoch: -1, isr: all.clone() },
            next_value: 0,
            acked: BTreeSet::new(),
            consumed: Vec::new(),
            crashes: 0,
            moves: 0,
            fetch_losses: 0,
            metadata_lags: 0,
            leader_changed: false,
            truncated: false,
        };
        self.elect(&mut state, Some(0), all);
        state.leader_changed = false;
        vec![state]
    }

    fn actions(&self, s: &ReplicationState, actions: &mut Vec<Action>) {
        let offline = (0..self.replication_factor).find(|&r| s.is_offline(r));
        if let Some(r) = offline {
            actions.push(Action::Restart(r));
        }
        if s.controller.leader.is_some() {
            if s.next_value < self.values_max {
                actions.push(Action::Produce(s.next_value));
            }
            for r in 0..self.replication_factor {
                let replica = &s.replicas[r as usize];
                let Role::Follower(follower) = &replica.role else { continue };
                if s.is_leader(follower.leader_id) {
                    actions.push(Action::Fetch(r));
                    if s.fetch_losses < self.fetch_losses_max {
                        actions.push(Action::FetchLost(r));
                    }
                }
                if replica.metadata_lagging {
                    actions.push(Action::MetadataCatchUp(r));
                } else if s.metadata_lags < self.metadata_lags_max {
                    actions.push(Action::MetadataLag(r));
                }
            }
            actions.push(Action::Shrink);
            if s.moves < self.moves_max {
                let live_isr = s.controller.isr.iter().filter(|&&r| !s.is_offline(r));
                actions.extend(
                    live_isr.filter(|&&r| Some(r) != s.controller.leader).map(|&r| Action::MoveLeader(r)),
                );
            }
        }
        // At most RF - min.insync.replicas = 1 replica down at a time.
        if s.crashes < self.crashes_max && offline.is_none() {
            actions.extend((0..self.replication_factor).map(Action::Crash));
        }
    }

    fn next_state(&self, s: &ReplicationState, action: Action) -> Option<ReplicationState> {
        let mut next = s.clone();
        match action {
            Action::Produce(value) => self.produce(&mut next, value),
            Action::Fetch(r) => self.fetch(&mut next, r, false),
            Action::FetchLost(r) => {
                next.fetch_losses += 1;
                self.fetch(&mut next, r, true);
            }
            Action::Shrink => {
                let alter = next.leader_mut()?.tick(TICK_TIME_MS)?;
                self.commit_isr(&mut next, alter.new_isr);
            }
            Action::Crash(r) => self.crash(&mut next, r),
            Action::Restart(r) => self.restart(&mut next, r),
            Action::MetadataLag(r) => {
                next.metadata_lags += 1;
                next.replicas[r as usize].metadata_lagging = true;
            }
            Action::MetadataCatchUp(r) => {
                next.replicas[r as usize].metadata_lagging = false;
                self.become_follower(&mut next, r);
            }
            Action::MoveLeader(r) => {
                next.moves += 1;
                let isr = next.controller.isr.clone();
                self.elect(&mut next, Some(r), isr);
            }
        }
        next.consume();
        Some(next)
    }

    // ANCHOR: properties
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(ACKED_KEPT, |_, s: &ReplicationState| {
                let Some((id, _)) = s.leader() else { return true };
                let log = &s.replicas[id as usize].log;
                s.acked
                    .iter()
                    .all(|&(offset, value)| log.get(offset as usize).map(|e| e.value) == Some(value))
            }),
            Property::always(CONSUMED_KEPT, |_, s: &ReplicationState| {
                let Some((id, _)) = s.leader() else { return true };
                s.replicas[id as usize].log.starts_with(&s.consumed)
            }),
            Property::always(ISR_AGREE, |_, s: &ReplicationState| {
                let Some((id, leader)) = s.leader() else { return true };
                let below = &s.replicas[id as usize].log[..leader.high_watermark() as usize];
                s.controller.isr.iter().all(|&r| s.replicas[r as usize].log.starts_with(below))
            }),
            Property::sometimes(ACKED, |_, s: &ReplicationState| !s.acked.is_empty()),
            Property::sometimes(LEADER_CHANGED, |_, s: &ReplicationState| s.leader_changed),
            Property::sometimes(FOLLOWER_TRUNCATED, |_, s: &ReplicationState| s.truncated),
        ]
    }
    // ANCHOR_END: properties

    fn format_action(&self, action: &Action) -> String {
        format!("{action:?}")
    }
}

// ANCHOR: property_names
/// Every record acknowledged with acks=all is in the leader's log at its offset.
pub const ACKED_KEPT: &str = "an acknowledged record is never lost";
/// The records below the highest high watermark any leader exposed never change.
pub const CONSUMED_KEPT: &str = "the high watermark a consumer saw never goes back";
/// ISR members hold the leader's records below its high watermark.
pub const ISR_AGREE: &str = "ISR members agree below the high watermark";
// ANCHOR_END: property_names

pub const ACKED: &str = "a record is acknowledged";
pub const LEADER_CHANGED: &str = "the leader changes";
pub const FOLLOWER_TRUNCATED: &str = "a follower truncates records";
