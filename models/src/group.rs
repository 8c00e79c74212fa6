//! Chapter 5's model: a consumer group rebalancing cooperatively (KIP-429)
//! around the real group coordinator.
//!
//! The coordinator of `src/group/` never sees a partition: it hands out
//! generations, and the group's leader — a client — decides who reads what.
//! So the promise "no partition is read by two consumers at once" is a
//! property of the coordinator *and* the clients' protocol together. This
//! model checks it with both: the state holds the real [`GroupCoordinator`]
//! and a few consumers written as small state machines that join, sync,
//! heartbeat, commit, leave and crash, and whose leader runs a
//! cooperative-sticky assignor.
//!
//! # The two-phase handover
//!
//! ```text
//!  gen 1   A owns {0,1}                B joins: rebalance
//!  gen 2   A keeps {0}, 1 goes to nobody (A still owns it)   A revokes 1, rejoins
//!  gen 3   A {0}, B {1}
//! ```
//!
//! Each member puts the partitions it owns (and the generation they are from)
//! in its JoinGroup metadata; the leader gives a partition that changes hands
//! to nobody while its owner still claims it. [`Bug::SkipRevoke`] gives it to
//! the new owner at once, and the checker finds the moment both read it.
//!
//! # What a client may assume about time
//!
//! A coordinator can drop a member that is still running (it missed heartbeats
//! for `session.timeout.ms`, or did not rejoin within the rebalance timeout)
//! and give its partitions away. No protocol can stop that process from
//! reading; the client must stop itself. The model's consumers do: each holds a
//! *lease* of one session timeout from the last successful answer (a
//! heartbeat, a JoinGroup or a SyncGroup), and drops its partitions when it
//! runs out. Because the coordinator's own timers start no earlier and last no
//! shorter (the session timeout is at most the rebalance timeout), the
//! consumer always lets go first. Kafka's Java consumer approximates this with
//! `max.poll.interval.ms` and its heartbeat thread, but does not enforce it
//! against a network partition: what Kafka guarantees for such a zombie is that
//! its *commits* are fenced, which is the model's other property.
//!
//! # Properties
//!
//! - [`ONE_OWNER_PER_GENERATION`]: the assignments the coordinator holds never
//!   share a partition.
//! - [`ONE_CONSUMER_AT_A_TIME`]: no two consumers believe they own the same
//!   partition at the same time, across generations.
//! - [`NO_STALE_COMMIT`]: an OffsetCommit sent in an older generation (or by a
//!   member since removed) is never accepted and stored. Commits travel: one is sent in
//!   one step and arrives in a later one, so a rebalance can fall in between.
//!   [`Bug::CommitIgnoresGeneration`] stands in for a coordinator that skips the
//!   generation check, by presenting each commit with the current generation.
//! - [`NO_REFUSED_COMMIT_VISIBLE`]: an OffsetFetch never returns an offset
//!   whose commit was answered with an error. A delivered commit's records
//!   are stored or not (`DeliverCommit` / `DeliverCommitUnstored`), and the
//!   coordinator hears which before the client does; it keeps the offsets
//!   pending until then. [`Bug::StoreAssumed`] reports every store as a
//!   success, as spool's coordinator once assumed.
//!
//! Reachability (`sometimes`): a Stable group with every partition consumed; a
//! second generation; a partition handed from one consumer to another; a
//! stale commit rejected.
//!
//! # Bounds
//!
//! CI checks [`GroupModel::small`]: two consumers, two partitions, three ticks,
//! no crash — 139,811 states in a few seconds, enough to reach every
//! `sometimes` property and for each bug's counterexample (7–12 steps).
//! `--big` ([`GroupModel::big`]) adds a partition, three more ticks and one
//! crash: 2,082,816 states, about 30 s and 1.6 GB, measured before a
//! commit's store could fail (not re-measured since; that choice grew the
//! small bound by about a quarter). A third consumer is out of
//! reach for an exhaustive check (more than 19 GB at three ticks): each state
//! carries a whole coordinator, and three clients interleave freely.
//! [`crate::check`] fails if a run stops short.
//!
//! # Simplifications
//!
//! - Requests other than OffsetCommit reach the coordinator at once, and its
//!   answers (immediate or parked) reach the client at once. A commit's store
//!   is reported in the step that delivers it, so no commit stays pending
//!   across steps: pending commits completing out of order are the unit
//!   tests' (`src/group/tests.rs`) and the driver's
//!   (`src/broker/groups/replication_tests.rs`).
//! - One group, one topic; dynamic members only (static membership is tested
//!   in `src/group/tests.rs`); consumers heartbeat only when Stable.
//! - Time moves in ticks of one millisecond up to a bound; sessions last
//!   [`SESSION_MS`] ticks, rebalances [`REBALANCE_MS`].
//! - Each consumer asks for a member id a bounded number of times, and at
//!   most [`GroupModel::crashes_max`] consumers crash (for good).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use spool::group::{
    GroupCoordinator, GroupCoordinatorConfig, GroupError, GroupState, HeartbeatRequest, JoinGroupMember,
    JoinGroupRequest, LeavingMember, OffsetCommitPartition, OffsetCommitRequest, Output, Protocol, Response,
    SyncGroupRequest,
};
use spool::TopicPartition;
use stateright::{Model, Property};
use uuid::Uuid;

use crate::Bound;

/// A partition of the group's one topic.
pub type Partition = u8;

const GROUP: &str = "g";
const TOPIC: &str = "t";
const PROTOCOL: &str = "cooperative-sticky";
/// `session.timeout.ms`, in ticks.
pub const SESSION_MS: i32 = 2;
/// `max.poll.interval.ms` (the rebalance timeout), in ticks: not shorter than
/// the session (the consumers' lease argument needs that), and as short as
/// that allows, so the bound of ticks reaches its expiry.
pub const REBALANCE_MS: i32 = 2;
/// `group.initial.rebalance.delay.ms`, in ticks.
pub const INITIAL_DELAY_MS: i32 = 1;

// ANCHOR: bugs
/// Mistakes the checker must catch. `None` in [`GroupModel::bug`] is the real code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// The leader's assignor gives a partition to its new owner in the same
    /// generation in which the old owner still holds it (eager assignment
    /// with cooperative clients, which do not revoke before rejoining).
    SkipRevoke,
    /// The coordinator accepts an OffsetCommit whatever its generation.
    CommitIgnoresGeneration,
    /// A consumer keeps reading after its lease ran out (a zombie: paused, or
    /// cut off from the coordinator, while the group moves on).
    NoLease,
    /// The coordinator takes every commit as stored, even one whose append
    /// failed and whose client heard an error (spool before its commits were
    /// kept pending): OffsetFetch then shows an offset the client was told
    /// was not committed.
    StoreAssumed,
}
// ANCHOR_END: bugs

impl Bug {
    pub const ALL: [Bug; 4] =
        [Bug::SkipRevoke, Bug::CommitIgnoresGeneration, Bug::NoLease, Bug::StoreAssumed];

    pub fn name(self) -> &'static str {
        match self {
            Bug::SkipRevoke => "skip-revoke",
            Bug::CommitIgnoresGeneration => "commit-ignores-generation",
            Bug::NoLease => "no-lease",
            Bug::StoreAssumed => "store-assumed",
        }
    }
}

/// Where a consumer is in the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Must (re)join.
    Idle,
    /// Its JoinGroup is parked at the coordinator.
    Joining,
    /// Joined a generation; must sync. The leader holds every member's metadata.
    Joined(Vec<JoinGroupMember>),
    /// Its SyncGroup is parked.
    Syncing,
    /// Got its assignment; its poll loop has not applied it yet (Kafka runs
    /// `onPartitionsRevoked`/`onPartitionsAssigned` in the next `poll`).
    Assigned(BTreeSet<Partition>),
    /// Has applied its assignment; heartbeats.
    Stable,
    /// Sent LeaveGroup and exited.
    Left,
    /// The process died.
    Crashed,
}

/// An OffsetCommit on its way to the coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitInFlight {
    pub member_id: String,
    pub generation: i32,
    pub partitions: BTreeSet<Partition>,
}

/// One consumer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Consumer {
    pub phase: Phase,
    pub member_id: String,
    pub generation: i32,
    /// The partitions it reads now, as it believes.
    pub owned: BTreeSet<Partition>,
    /// The generation `owned` was assigned in (sent with it in JoinGroup).
    pub owned_generation: i32,
    /// It stops reading at this time unless an answer renews it.
    pub lease_until_ms: Option<i64>,
    /// Member ids it has asked for; its requests' tokens carry the count.
    pub incarnation: u8,
    pub commit: Option<CommitInFlight>,
}

/// The whole system.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GroupModelState {
    pub now_ms: i64,
    pub coordinator: GroupCoordinator,
    pub consumers: Vec<Consumer>,
    pub crashes: u8,
    /// Who read each partition last (for "a partition moved").
    pub last_owner: BTreeMap<Partition, usize>,
    pub partition_moved: bool,
    /// The coordinator dropped a member whose consumer is still running.
    pub live_member_dropped: bool,
    pub stale_commit_accepted: bool,
    pub stale_commit_rejected: bool,
    /// An OffsetFetch answered an offset whose commit the client was told failed.
    pub refused_commit_visible: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Join(usize),
    Sync(usize),
    /// The consumer's poll loop applies the assignment it got.
    Apply(usize),
    Heartbeat(usize),
    SendCommit(usize),
    /// The commit reaches the coordinator and its records are stored.
    DeliverCommit(usize),
    /// The commit reaches the coordinator but its records are not stored (a
    /// disk error, too few replicas, a timeout): the client hears an error.
    DeliverCommitUnstored(usize),
    Leave(usize),
    Crash(usize),
    Tick,
}

/// The model's bounds, and which bug (if any) to plant.
#[derive(Debug, Clone)]
pub struct GroupModel {
    pub bug: Option<Bug>,
    pub consumers: usize,
    pub partitions: Partition,
    pub time_max_ms: i64,
    pub crashes_max: u8,
    /// How many member ids each consumer may ask for.
    pub incarnations_max: u8,
}

impl GroupModel {
    /// What CI checks: two consumers, two partitions.
    pub fn small(bug: Option<Bug>) -> Self {
        GroupModel { bug, consumers: 2, partitions: 2, time_max_ms: 3, crashes_max: 0, incarnations_max: 1 }
    }

    /// `--big`: a third partition, six ticks, one crash.
    pub fn big(bug: Option<Bug>) -> Self {
        GroupModel { bug, consumers: 2, partitions: 3, time_max_ms: 6, crashes_max: 1, incarnations_max: 1 }
    }

    pub fn bound(&self) -> Bound {
        // Sized well above the state counts the tests pin and the CLI prints,
        // and (for `--big`) below what fits in memory: a state holds a whole
        // coordinator, several hundred bytes.
        let big = self.time_max_ms > Self::small(None).time_max_ms;
        Bound {
            states_max: if big { 30_000_000 } else { 5_000_000 },
            timeout: Duration::from_secs(if big { 3_600 } else { 300 }),
        }
    }

    fn config() -> GroupCoordinatorConfig {
        GroupCoordinatorConfig {
            session_timeout_ms_min: 1,
            initial_rebalance_delay_ms: INITIAL_DELAY_MS,
            new_member_join_timeout_ms: 1_000,
            ..GroupCoordinatorConfig::default()
        }
    }

    fn token(consumer: usize, incarnation: u8) -> u64 {
        (consumer as u64) << 8 | u64::from(incarnation)
    }
}

// ANCHOR: metadata
/// A consumer's JoinGroup metadata: the generation its partitions are from,
/// then the partitions (cooperative-sticky's `ownedPartitions`).
fn subscription(c: &Consumer) -> Vec<u8> {
    let mut bytes = vec![(c.owned_generation + 1) as u8];
    bytes.extend(&c.owned);
    bytes
}

fn decode_subscription(bytes: &[u8]) -> (i32, BTreeSet<Partition>) {
    match bytes.split_first() {
        Some((generation, owned)) => (i32::from(*generation) - 1, owned.iter().copied().collect()),
        None => (-1, BTreeSet::new()),
    }
}
// ANCHOR_END: metadata

// ANCHOR: assignor
/// The leader's assignor: balanced and sticky (members keep what they own up
/// to their share), and cooperative: a partition whose owner is another
/// member goes to nobody this generation — unless [`Bug::SkipRevoke`].
pub fn assign(
    members: &[JoinGroupMember],
    partitions: Partition,
    bug: Option<Bug>,
) -> Vec<(String, Vec<u8>)> {
    let subs: Vec<(i32, BTreeSet<Partition>)> =
        members.iter().map(|m| decode_subscription(&m.metadata)).collect();
    // The owner of a partition: the member claiming it from the latest generation.
    let mut owner: BTreeMap<Partition, (i32, usize)> = BTreeMap::new();
    for (i, (generation, owned)) in subs.iter().enumerate() {
        for &p in owned.iter().filter(|&&p| p < partitions) {
            if owner.get(&p).is_none_or(|&(g, _)| *generation > g) {
                owner.insert(p, (*generation, i));
            }
        }
    }
    let n = members.len();
    let (base, mut extra) = (partitions as usize / n, partitions as usize % n);
    let mut target: Vec<BTreeSet<Partition>> = vec![BTreeSet::new(); n];
    for (i, share) in target.iter_mut().enumerate() {
        let mine: Vec<Partition> = owner.iter().filter(|(_, &(_, o))| o == i).map(|(&p, _)| p).collect();
        let mut quota = base;
        if mine.len() > base && extra > 0 {
            quota += 1;
            extra -= 1;
        }
        share.extend(mine.into_iter().take(quota));
    }
    for p in 0..partitions {
        if target.iter().any(|t| t.contains(&p)) {
            continue;
        }
        let (i, _) = target
            .iter()
            .enumerate()
            .filter(|(_, t)| t.len() < base || (t.len() == base && extra > 0))
            .min_by_key(|(i, t)| (t.len(), *i))
            .expect("a member below its share");
        if target[i].len() == base {
            extra -= 1;
        }
        target[i].insert(p);
    }
    if bug != Some(Bug::SkipRevoke) {
        for (i, share) in target.iter_mut().enumerate() {
            share.retain(|p| owner.get(p).is_none_or(|&(_, o)| o == i));
        }
    }
    members.iter().zip(target).map(|(m, share)| (m.member_id.clone(), share.into_iter().collect())).collect()
}
// ANCHOR_END: assignor

impl GroupModelState {
    fn lose_everything(&mut self, i: usize) {
        let c = &mut self.consumers[i];
        c.owned.clear();
        c.owned_generation = -1;
        c.member_id.clear();
        c.generation = -1;
        c.lease_until_ms = None;
        c.phase = Phase::Idle;
    }

    /// Hands each answer in `out` to the consumer whose token it carries.
    fn deliver(&mut self, out: Output) {
        for reply in out.replies {
            let i = (reply.token >> 8) as usize;
            let Some(c) = self.consumers.get(i) else { continue };
            if GroupModel::token(i, c.incarnation) != reply.token {
                continue; // an answer to an earlier incarnation
            }
            match reply.response {
                Response::Join(r) if c.phase == Phase::Joining => self.on_join(i, r),
                Response::Sync(r) if c.phase == Phase::Syncing => self.on_sync(i, r.error, &r.assignment),
                _ => {}
            }
        }
    }

    fn on_join(&mut self, i: usize, r: spool::group::JoinGroupResponse) {
        let now = self.now_ms;
        let c = &mut self.consumers[i];
        match r.error {
            None => {
                c.member_id = r.member_id;
                c.generation = r.generation_id;
                c.lease_until_ms = Some(now + i64::from(SESSION_MS));
                c.phase = Phase::Joined(r.members);
            }
            Some(GroupError::MemberIdRequired) => {
                c.member_id = r.member_id;
                c.lease_until_ms = Some(now + i64::from(SESSION_MS));
                c.phase = Phase::Idle;
            }
            Some(GroupError::RebalanceInProgress) => c.phase = Phase::Idle,
            Some(_) => self.lose_everything(i),
        }
    }

    /// A SyncGroup answer: the assignment waits for the consumer's next poll.
    fn on_sync(&mut self, i: usize, error: Option<GroupError>, assignment: &[u8]) {
        match error {
            None => {}
            Some(GroupError::RebalanceInProgress) => return self.consumers[i].phase = Phase::Idle,
            Some(_) => return self.lose_everything(i),
        }
        let c = &mut self.consumers[i];
        c.lease_until_ms = Some(self.now_ms + i64::from(SESSION_MS));
        c.phase = Phase::Assigned(assignment.iter().copied().collect());
    }

    // ANCHOR: apply
    /// The poll loop applies the assignment: it starts reading what is new;
    /// if a partition it owned is missing, it revokes it and rejoins at once (KIP-429).
    fn apply(&mut self, i: usize) {
        let Phase::Assigned(assigned) = self.consumers[i].phase.clone() else { return };
        for &p in assigned.difference(&self.consumers[i].owned) {
            if self.last_owner.insert(p, i).is_some_and(|before| before != i) {
                self.partition_moved = true;
            }
        }
        let c = &mut self.consumers[i];
        let revoked = !c.owned.is_subset(&assigned);
        c.owned = assigned;
        c.owned_generation = c.generation;
        c.phase = if revoked { Phase::Idle } else { Phase::Stable };
    }
    // ANCHOR_END: apply

    fn group_assignments(&self) -> Vec<BTreeSet<Partition>> {
        self.coordinator
            .group(GROUP)
            .map(|g| g.members().map(|m| m.assignment.iter().copied().collect()).collect())
            .unwrap_or_default()
    }
}

fn disjoint(sets: impl IntoIterator<Item = BTreeSet<Partition>>) -> bool {
    let mut seen = BTreeSet::new();
    sets.into_iter().flatten().all(|p| seen.insert(p))
}

impl GroupModel {
    fn join_request(&self, c: &Consumer, i: usize) -> JoinGroupRequest {
        JoinGroupRequest {
            group_id: GROUP.into(),
            member_id: c.member_id.clone(),
            group_instance_id: None,
            client_id: format!("c{i}"),
            client_host: String::new(),
            session_timeout_ms: SESSION_MS,
            rebalance_timeout_ms: REBALANCE_MS,
            protocol_type: "consumer".into(),
            protocols: vec![Protocol { name: PROTOCOL.into(), metadata: subscription(c) }],
            require_known_member_id: true,
            new_member_uuid: Uuid::from_u128(u128::from(c.incarnation)),
        }
    }

    /// A consumer sends SyncGroup; the leader's carries the assignment it computed.
    fn sync(&self, next: &mut GroupModelState, i: usize) {
        let now = next.now_ms;
        let c = &mut next.consumers[i];
        let Phase::Joined(members) = std::mem::replace(&mut c.phase, Phase::Syncing) else {
            unreachable!("only a joined consumer syncs")
        };
        let assignments =
            if members.is_empty() { vec![] } else { assign(&members, self.partitions, self.bug) };
        let request = SyncGroupRequest {
            group_id: GROUP.into(),
            generation_id: c.generation,
            member_id: c.member_id.clone(),
            group_instance_id: None,
            protocol_type: Some("consumer".into()),
            protocol_name: Some(PROTOCOL.into()),
            assignments,
        };
        let out = next.coordinator.sync_group(Self::token(i, c.incarnation), &request, now);
        // The leader's generation is stored at once (only commits' stores fail here).
        let stored = out.store.map(|token| next.coordinator.store_completed(token, Ok(()), now));
        next.deliver(out);
        next.deliver(stored.unwrap_or_default());
    }

    fn heartbeat(&self, next: &mut GroupModelState, i: usize) {
        let now = next.now_ms;
        let c = &next.consumers[i];
        let request = HeartbeatRequest {
            group_id: GROUP.into(),
            generation_id: c.generation,
            member_id: c.member_id.clone(),
            group_instance_id: None,
        };
        match next.coordinator.heartbeat(&request, now) {
            None => next.consumers[i].lease_until_ms = Some(now + i64::from(SESSION_MS)),
            Some(GroupError::RebalanceInProgress) => next.consumers[i].phase = Phase::Idle,
            Some(GroupError::IllegalGeneration) => {
                let c = &mut next.consumers[i];
                c.owned.clear();
                c.generation = -1;
                c.phase = Phase::Idle;
            }
            Some(_) => next.lose_everything(i),
        }
    }

    // ANCHOR: tick
    /// Time moves on: consumers whose lease ran out stop reading, then the
    /// coordinator's timers fire.
    fn tick(&self, state: &GroupModelState, next: &mut GroupModelState) {
        next.now_ms += 1;
        let now = next.now_ms;
        let live: Vec<String> = next
            .consumers
            .iter()
            .filter(|c| !matches!(c.phase, Phase::Left | Phase::Crashed) && !c.member_id.is_empty())
            .map(|c| c.member_id.clone())
            .collect();
        // Consumers whose lease ran out stop reading first...
        for i in 0..next.consumers.len() {
            let expired = next.consumers[i].lease_until_ms.is_some_and(|until| until <= now);
            if expired && self.bug != Some(Bug::NoLease) {
                next.lose_everything(i);
            }
        }
        // ...then the coordinator's timers fire.
        let out = next.coordinator.tick(now);
        next.deliver(out);
        let group = next.coordinator.group(GROUP);
        let was_member = |id: &String| state.coordinator.group(GROUP).is_some_and(|g| g.member(id).is_some());
        if live.iter().filter(|id| was_member(id)).any(|id| group.is_none_or(|g| g.member(id).is_none())) {
            next.live_member_dropped = true;
        }
    }
    // ANCHOR_END: tick

    // ANCHOR: deliver_commit
    /// A commit reaches the coordinator; the driver appends its records and
    /// reports whether they were `stored`. Its offset is the delivery time,
    /// so commits of different ticks differ.
    fn deliver_commit(&self, state: &mut GroupModelState, i: usize, stored: bool) {
        let Some(commit) = state.consumers[i].commit.take() else { return };
        let group = state.coordinator.group(GROUP);
        let current = group.map_or(-1, |g| g.generation_id());
        let is_member = group.is_some_and(|g| g.member(&commit.member_id).is_some());
        let stale = commit.generation != current || !is_member;
        let generation =
            if self.bug == Some(Bug::CommitIgnoresGeneration) { current } else { commit.generation };
        let partitions: Vec<TopicPartition> =
            commit.partitions.iter().map(|&p| TopicPartition::new(TOPIC, i32::from(p))).collect();
        let request = OffsetCommitRequest {
            group_id: GROUP.into(),
            generation_id: generation,
            member_id: commit.member_id.clone(),
            group_instance_id: None,
            partitions: partitions
                .iter()
                .map(|partition| OffsetCommitPartition {
                    partition: partition.clone(),
                    offset: state.now_ms + 1,
                    leader_epoch: -1,
                    metadata: None,
                })
                .collect(),
        };
        let before = state.coordinator.offset_fetch(GROUP, Some(&partitions));
        let token = Self::token(i, state.consumers[i].incarnation);
        let (results, out) = state.coordinator.offset_commit(token, &request, state.now_ms);
        if let Some(token) = out.store {
            let reported = stored || self.bug == Some(Bug::StoreAssumed);
            let outcome = if reported { Ok(()) } else { Err(GroupError::CoordinatorNotAvailable) };
            state.coordinator.store_completed(token, outcome, state.now_ms);
        }
        // The coordinator's verdict (its generation check); a stale commit it
        // let through does harm once stored.
        let passed = results.iter().all(|(_, e)| e.is_none());
        if passed && stored && stale {
            state.stale_commit_accepted = true;
        }
        if !passed && stale {
            state.stale_commit_rejected = true;
        }
        if !stored && state.coordinator.offset_fetch(GROUP, Some(&partitions)) != before {
            state.refused_commit_visible = true;
        }
    }
    // ANCHOR_END: deliver_commit
}

impl Model for GroupModel {
    type State = GroupModelState;
    type Action = Action;

    fn init_states(&self) -> Vec<GroupModelState> {
        let consumer = Consumer {
            phase: Phase::Idle,
            member_id: String::new(),
            generation: -1,
            owned: BTreeSet::new(),
            owned_generation: -1,
            lease_until_ms: None,
            incarnation: 0,
            commit: None,
        };
        vec![GroupModelState {
            now_ms: 0,
            coordinator: GroupCoordinator::new(Self::config()),
            consumers: vec![consumer; self.consumers],
            crashes: 0,
            last_owner: BTreeMap::new(),
            partition_moved: false,
            live_member_dropped: false,
            stale_commit_accepted: false,
            stale_commit_rejected: false,
            refused_commit_visible: false,
        }]
    }

    fn actions(&self, state: &GroupModelState, actions: &mut Vec<Action>) {
        for (i, c) in state.consumers.iter().enumerate() {
            match &c.phase {
                Phase::Idle if !c.member_id.is_empty() || c.incarnation < self.incarnations_max => {
                    actions.push(Action::Join(i))
                }
                Phase::Joined(_) => actions.push(Action::Sync(i)),
                Phase::Assigned(_) => actions.push(Action::Apply(i)),
                Phase::Stable => actions.extend([Action::Heartbeat(i), Action::Leave(i)]),
                _ => {}
            }
            if !c.owned.is_empty() && c.commit.is_none() && !matches!(c.phase, Phase::Left | Phase::Crashed) {
                actions.push(Action::SendCommit(i));
            }
            if c.commit.is_some() {
                actions.extend([Action::DeliverCommit(i), Action::DeliverCommitUnstored(i)]);
            }
            if state.crashes < self.crashes_max && !matches!(c.phase, Phase::Left | Phase::Crashed) {
                actions.push(Action::Crash(i));
            }
        }
        if state.now_ms < self.time_max_ms {
            actions.push(Action::Tick);
        }
    }

    fn next_state(&self, state: &GroupModelState, action: Action) -> Option<GroupModelState> {
        let mut next = state.clone();
        let now = next.now_ms;
        match action {
            Action::Join(i) => {
                let c = &mut next.consumers[i];
                if c.member_id.is_empty() {
                    c.incarnation += 1;
                }
                c.phase = Phase::Joining;
                let request = self.join_request(c, i);
                let token = Self::token(i, c.incarnation);
                let out = next.coordinator.join_group(token, &request, now);
                next.deliver(out);
            }
            Action::Sync(i) => self.sync(&mut next, i),
            Action::Heartbeat(i) => self.heartbeat(&mut next, i),
            Action::SendCommit(i) => {
                let c = &mut next.consumers[i];
                c.commit = Some(CommitInFlight {
                    member_id: c.member_id.clone(),
                    generation: c.generation,
                    partitions: c.owned.clone(),
                });
            }
            Action::Apply(i) => next.apply(i),
            Action::DeliverCommit(i) => self.deliver_commit(&mut next, i, true),
            Action::DeliverCommitUnstored(i) => self.deliver_commit(&mut next, i, false),
            Action::Leave(i) => {
                let leaving =
                    LeavingMember { member_id: next.consumers[i].member_id.clone(), group_instance_id: None };
                let (_, out) = next.coordinator.leave_group(GROUP, &[leaving], now);
                next.lose_everything(i);
                next.consumers[i].phase = Phase::Left;
                next.deliver(out);
            }
            Action::Crash(i) => {
                next.lose_everything(i);
                next.consumers[i].phase = Phase::Crashed;
                next.crashes += 1;
            }
            Action::Tick => self.tick(state, &mut next),
        }
        next.coordinator.check_invariants();
        Some(next)
    }

    // ANCHOR: properties
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(ONE_OWNER_PER_GENERATION, |_, s: &GroupModelState| {
                disjoint(s.group_assignments())
            }),
            Property::always(ONE_CONSUMER_AT_A_TIME, |_, s: &GroupModelState| {
                disjoint(s.consumers.iter().map(|c| c.owned.clone()))
            }),
            Property::always(NO_STALE_COMMIT, |_, s: &GroupModelState| !s.stale_commit_accepted),
            Property::always(NO_REFUSED_COMMIT_VISIBLE, |_, s: &GroupModelState| !s.refused_commit_visible),
            Property::sometimes(ALL_CONSUMED, |m: &GroupModel, s: &GroupModelState| {
                let stable = s.coordinator.group(GROUP).is_some_and(|g| g.state() == GroupState::Stable);
                let consumed: BTreeSet<Partition> =
                    s.consumers.iter().flat_map(|c| c.owned.clone()).collect();
                stable && consumed.len() == m.partitions as usize
            }),
            Property::sometimes(REBALANCE_COMPLETES, |_, s: &GroupModelState| {
                s.coordinator
                    .group(GROUP)
                    .is_some_and(|g| g.state() == GroupState::Stable && g.generation_id() >= 2)
            }),
            Property::sometimes(PARTITION_MOVES, |_, s: &GroupModelState| s.partition_moved),
            Property::sometimes(STALE_COMMIT_REJECTED, |_, s: &GroupModelState| s.stale_commit_rejected),
            Property::sometimes(LIVE_MEMBER_DROPPED, |_, s: &GroupModelState| s.live_member_dropped),
        ]
    }
    // ANCHOR_END: properties

    fn format_action(&self, action: &Action) -> String {
        format!("{action:?}")
    }
}

pub const ONE_OWNER_PER_GENERATION: &str = "no partition is assigned twice in a generation";
pub const ONE_CONSUMER_AT_A_TIME: &str = "no partition is consumed by two consumers at once";
pub const NO_STALE_COMMIT: &str = "a commit from an older generation is never accepted";
pub const NO_REFUSED_COMMIT_VISIBLE: &str = "an OffsetFetch never returns an offset whose commit was refused";
pub const ALL_CONSUMED: &str = "a stable group consumes every partition";
pub const REBALANCE_COMPLETES: &str = "a rebalance completes (generation 2 is stable)";
pub const PARTITION_MOVES: &str = "a partition moves from one consumer to another";
pub const STALE_COMMIT_REJECTED: &str = "a stale commit is rejected";
pub const LIVE_MEMBER_DROPPED: &str = "the coordinator drops a member whose consumer still runs";

/// One line per state: `t=3 g=Stable/2 [c0 Stable m=c0-..01 g2 owns{0} | c1 Idle owns{} ] `.
impl fmt::Debug for GroupModelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = self.coordinator.group(GROUP);
        let state =
            group.map_or("-".to_string(), |g| format!("{}/gen{}", g.state().name(), g.generation_id()));
        write!(f, "t={} group={state} |", self.now_ms)?;
        for (i, c) in self.consumers.iter().enumerate() {
            let phase = match &c.phase {
                Phase::Joined(m) if !m.is_empty() => "Joined(leader)".to_string(),
                other => format!("{other:?}"),
            };
            let id = c.member_id.rsplit('-').next().map_or("", |s| s.trim_start_matches('0'));
            write!(f, " c{i} {phase} id={id} gen={} owns={:?}", c.generation, c.owned)?;
            if let Some(commit) = &c.commit {
                write!(f, " commit(gen{} {:?})", commit.generation, commit.partitions)?;
            }
            write!(f, " |")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, generation: i32, owned: &[Partition]) -> JoinGroupMember {
        let mut metadata = vec![(generation + 1) as u8];
        metadata.extend(owned);
        JoinGroupMember { member_id: id.into(), group_instance_id: None, metadata }
    }

    // KIP-429's first phase: a joins owning both partitions, b owns none; the
    // balanced target moves partition 1 to b, but while a claims it nobody
    // gets it. The buggy assignor hands it over at once.
    #[test]
    fn cooperative_assignor_withholds_a_moving_partition() {
        let members = [member("a", 1, &[0, 1]), member("b", -1, &[])];
        assert_eq!(assign(&members, 2, None), [("a".to_string(), vec![0]), ("b".to_string(), vec![])]);
        assert_eq!(
            assign(&members, 2, Some(Bug::SkipRevoke)),
            [("a".to_string(), vec![0]), ("b".to_string(), vec![1])]
        );
        // Second phase: a revoked 1 and rejoined; now 1 is free and goes to b.
        let members = [member("a", 2, &[0]), member("b", 2, &[])];
        assert_eq!(assign(&members, 2, None), [("a".to_string(), vec![0]), ("b".to_string(), vec![1])]);
    }

    // A stale claim loses to the latest generation's: b's claim from
    // generation 3 wins over a's leftover claim from generation 1.
    #[test]
    fn the_latest_claim_owns_a_partition() {
        let members = [member("a", 1, &[0, 1]), member("b", 3, &[1])];
        assert_eq!(assign(&members, 2, None), [("a".to_string(), vec![0]), ("b".to_string(), vec![1])]);
    }
}
