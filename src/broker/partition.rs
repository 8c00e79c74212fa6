//! One partition on this broker: its log, and the replica's part in the
//! partition's replication — leader or follower — run by the replication
//! core of chapter 6 ([`crate::replication`]).
//!
//! ```text
//!  metadata image ──▶ replica manager ──▶ become_leader / become_follower   (role lock)
//!
//!  leader:  Produce ──▶ check_append ──▶ log append ──▶ after_append ──▶ acks=all waits
//!           follower Fetch ──▶ on_follower_fetch ──▶ HW moves ──▶ waits answered,
//!                                                           consumers woken
//!           timer ──▶ tick ──▶ AlterPartition to the controller
//!  consumers read below high_watermark(), which takes no lock
//! ```
//!
//! The driver's half of the core: this file owns the locks, the clock and
//! the channels; [`LeaderState`] and [`FollowerState`] own the decisions. The
//! role lock comes before the partition's log lock (the broker's lock order),
//! and is never held across an `.await`, nor across an append's fsync: an
//! append takes the log lock alone, then reports the new log end here. (A
//! role change holds it while it writes the leader-epoch checkpoint and, in
//! durable mode, flushes: rare, and it must see one log end.)
//!
//! Why a produce reports its log end *after* appending, and a follower's
//! fetch first brings the leader state up to the log's end: an append and a
//! fetch race, and the core insists that a follower never fetches past the
//! leader's known log end. Both read the log end under the role lock, so the
//! state only ever moves forward to what the log really holds.
//!
//! In durable mode (`spool.log.flush.before.ack`, chapter 1) "what the log
//! holds" is what an fsync covers: the leader reports only its flushed end,
//! never less than the core already has (`reported_end`). Else a produce
//! whose fsync finished would report another produce's batch still being
//! fsynced; a one-replica ISR's high watermark would pass it, a consumer
//! could read it, and a crash would take it back. So followers are sent
//! records up to the flushed end only, `acks=all` waits for the leader's
//! fsync and the followers' fetches (not their fsyncs), every leader append
//! reports after its fsync (produce, group and transaction coordinators),
//! and a new leadership flushes first, as the core starts at the log end.
//! Kafka has no such mode: its high watermark ignores flushes.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use tokio::sync::oneshot;
use uuid::Uuid;

mod delete_records;
pub use delete_records::{DeleteRecordsError, HIGH_WATERMARK};
#[cfg(test)]
mod tests;

use super::acks::Leader;
use crate::log::manager::{lock, SharedLog};
use crate::log::validator::ValidationPolicy;
use crate::log::{GroupCommit, LogError};
use crate::replication::{
    AlterPartition, FetchAnswer, FollowerFetch, FollowerState, LeaderState, PartitionAssignment, ReplicaId,
    ReplicationConfig, ReplicationError,
};

/// One partition this broker hosts.
#[derive(Debug)]
pub struct Partition {
    pub log: SharedLog,
    pub topic_id: Uuid,
    /// Its topic's produce checks, replaced when an image changes the
    /// topic's configs (issue 17's AlterConfigs).
    settings: RwLock<ProduceSettings>,
    /// Durable mode's group commit for this log (chapter 1): created with the
    /// log and dropped with it, so a topic re-created under the same name
    /// starts with a fresh one.
    pub group_commit: Arc<GroupCommit>,
    /// Leader or follower, and the replication core's state for it.
    role: Mutex<Role>,
    /// The high watermark as the role last computed it: what consumers may
    /// read below, read without the role lock.
    high_watermark: AtomicI64,
}

/// What a partition's topic asks of incoming batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceSettings {
    /// `max.message.bytes` of its topic.
    pub max_message_bytes: usize,
    /// `compression.type`, keys when `cleanup.policy` includes `compact`,
    /// and the `message.timestamp.*` bounds (chapter 4).
    pub validation: ValidationPolicy,
}

/// This replica's part in the partition.
#[derive(Debug)]
enum Role {
    /// Boxed: the leader's state is ten times a follower's.
    Leader(Box<Leader<oneshot::Sender<Result<(), ReplicationError>>>>),
    Follower(FollowerState),
}

/// A follower's fetch, as the leader answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerFetchAnswer {
    pub answer: FetchAnswer,
    /// An ISR expansion to send to the controller.
    pub alter_partition: Option<AlterPartition>,
    /// Whether the high watermark moved: consumers' long polls should look again.
    pub high_watermark_moved: bool,
}

/// A produce's wait for the high watermark to cover its batch (`acks=all`).
pub type AckWait = oneshot::Receiver<Result<(), ReplicationError>>;

impl Partition {
    /// A partition whose replica has no role yet: [`Partition::become_leader`]
    /// or [`Partition::become_follower`] gives it one. Until then it answers
    /// as a follower of nobody (NOT_LEADER_OR_FOLLOWER).
    pub fn new(
        log: SharedLog,
        topic_id: Uuid,
        max_message_bytes: usize,
        validation: ValidationPolicy,
        group_commit: Arc<GroupCommit>,
        replica_id: ReplicaId,
    ) -> Partition {
        // Where the last run left it (replication-offset-checkpoint).
        let high_watermark = lock(&log).high_watermark();
        Partition {
            log,
            topic_id,
            settings: RwLock::new(ProduceSettings { max_message_bytes, validation }),
            group_commit,
            role: Mutex::new(Role::Follower(FollowerState::become_follower(
                replica_id,
                -1,
                -1,
                high_watermark,
            ))),
            high_watermark: AtomicI64::new(high_watermark),
        }
    }

    /// Its topic's `max.message.bytes`.
    pub fn max_message_bytes(&self) -> usize {
        self.settings.read().unwrap_or_else(PoisonError::into_inner).max_message_bytes
    }

    /// Its topic's checks of incoming batches.
    pub fn validation(&self) -> ValidationPolicy {
        self.settings.read().unwrap_or_else(PoisonError::into_inner).validation
    }

    /// Takes its topic's configs as they are now (an altered topic): the
    /// next produce is checked against them.
    pub fn set_settings(&self, settings: ProduceSettings) {
        *self.settings.write().unwrap_or_else(PoisonError::into_inner) = settings;
    }

    /// The role lock. Recovered if poisoned: the state is replaced whole by
    /// each role change, and the log it describes is checked again by every
    /// fetch and append.
    fn role(&self) -> MutexGuard<'_, Role> {
        self.role.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What consumers may read below.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// The leader epoch this replica knows: its own if it leads, its
    /// leader's if it follows.
    pub fn leader_epoch(&self) -> i32 {
        match &*self.role() {
            Role::Leader(leader) => leader.state.leader_epoch(),
            Role::Follower(follower) => follower.leader_epoch,
        }
    }

    /// The leader epoch if this replica leads: what produce stamps on
    /// batches and what OffsetsForLeaderEpoch checks against.
    pub fn leader_epoch_if_leader(&self) -> Result<i32, ReplicationError> {
        match &*self.role() {
            Role::Leader(leader) => Ok(leader.state.leader_epoch()),
            Role::Follower(_) => Err(ReplicationError::NotLeaderOrFollower),
        }
    }

    /// Whether this replica leads the partition.
    pub fn is_leader(&self) -> bool {
        matches!(&*self.role(), Role::Leader(_))
    }

    // ANCHOR: become_leader
    /// This replica leads `assignment` (Kafka's `makeLeader`): the epoch
    /// starts at the log end in the epoch cache (and its checkpoint file); a
    /// replica that led an older epoch answers its waiting produces
    /// NOT_LEADER_OR_FOLLOWER first. The same epoch again is an ISR change
    /// the controller committed.
    pub fn become_leader(
        &self,
        replica_id: ReplicaId,
        assignment: &PartitionAssignment,
        config: ReplicationConfig,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let mut role = self.role();
        if let Role::Leader(leader) = &mut *role {
            if leader.state.leader_epoch() == assignment.leader_epoch {
                // The topic's `min.insync.replicas` may have been altered.
                leader.state.config = config;
                if assignment.partition_epoch > leader.state.partition_epoch() {
                    leader.isr_committed(assignment.isr.clone(), assignment.partition_epoch);
                    self.publish_high_watermark(leader.state.high_watermark());
                }
                return Ok(());
            }
        }
        let mut log = lock(&self.log);
        if log.config().flush_before_ack {
            // The core starts at the log end: in durable mode that end must be
            // flushed (a follower's fetched records, a restart's rescanned tail).
            log.flush()?;
        }
        log.assign_leader_epoch(assignment.leader_epoch)?;
        let mut cache = log.leader_epoch_cache().clone();
        let log_end_offset = log.log_end_offset();
        let high_watermark = self.high_watermark().min(log_end_offset);
        let state = LeaderState::become_leader(
            replica_id,
            assignment,
            config,
            &mut cache,
            log_end_offset,
            high_watermark,
            now_ms,
        );
        drop(log);
        let mut leader = Leader::new(state);
        // A single replica's high watermark is its log end at once.
        leader.appended(log_end_offset, None);
        self.publish_high_watermark(leader.state.high_watermark());
        if let Role::Leader(old) = std::mem::replace(&mut *role, Role::Leader(Box::new(leader))) {
            old.resign();
        }
        Ok(())
    }
    // ANCHOR_END: become_leader

    /// This replica follows `leader_id` in `leader_epoch` (Kafka's
    /// `makeFollower`): nothing is truncated until the leader says where the
    /// logs diverge; waiting produces of an earlier leadership are answered
    /// NOT_LEADER_OR_FOLLOWER. Returns whether anything changed (a fetcher
    /// should start fetching from the new leader).
    pub fn become_follower(&self, replica_id: ReplicaId, leader_id: ReplicaId, leader_epoch: i32) -> bool {
        let mut role = self.role();
        if let Role::Follower(f) = &*role {
            if f.leader_id == leader_id && f.leader_epoch == leader_epoch {
                return false;
            }
        }
        let high_watermark = self.high_watermark();
        let follower = FollowerState::become_follower(replica_id, leader_id, leader_epoch, high_watermark);
        if let Role::Leader(old) = std::mem::replace(&mut *role, Role::Follower(follower)) {
            old.resign();
        }
        true
    }

    // ANCHOR: check_append
    /// Before a produce appends: this replica must lead, and an `acks=all`
    /// produce needs `min.insync.replicas` in the ISR. Returns the leader
    /// epoch to stamp on the batches.
    pub fn check_append(&self, acks_all: bool) -> Result<i32, ReplicationError> {
        match &*self.role() {
            Role::Leader(leader) => {
                leader.state.check_append(acks_all)?;
                Ok(leader.state.leader_epoch())
            }
            Role::Follower(_) => Err(ReplicationError::NotLeaderOrFollower),
        }
    }

    /// After a produce appended up to `last_offset` in `leader_epoch`: the
    /// leader's log end moves (which may move the high watermark), and an
    /// `acks=all` produce gets the wait to answer it on. Fails if the replica
    /// stopped leading that epoch in between: the records were written but
    /// the new leader decides their fate, so the client must retry. In
    /// durable mode an `acks=all` caller reports only once an fsync covers
    /// `last_offset`: the wait is for offsets the core has been told of.
    pub fn after_append(
        &self,
        leader_epoch: i32,
        last_offset: i64,
        acks_all: bool,
    ) -> Result<(Option<AckWait>, bool), ReplicationError> {
        let mut role = self.role();
        let Role::Leader(leader) = &mut *role else { return Err(ReplicationError::NotLeaderOrFollower) };
        if leader.state.leader_epoch() != leader_epoch {
            return Err(ReplicationError::NotLeaderOrFollower);
        }
        let log_end_offset = reported_end(&lock(&self.log), leader.state.log_end_offset());
        let (waiter, wait) = match acks_all {
            true => {
                let (tx, rx) = oneshot::channel();
                (Some((tx, last_offset + 1)), Some(rx))
            }
            false => (None, None),
        };
        // One step, under the role lock: see `acks`.
        let moved = leader.appended(log_end_offset, waiter);
        self.publish_high_watermark(leader.state.high_watermark());
        Ok((wait, moved))
    }
    // ANCHOR_END: check_append

    // ANCHOR: on_follower_fetch
    /// A follower's Fetch reached this leader: check its epochs, record how
    /// far it has got, and say what to send. The log end is brought up to
    /// date first (an append may not have reported yet).
    pub fn on_follower_fetch(
        &self,
        fetch: &FollowerFetch,
        now_ms: i64,
    ) -> Result<FollowerFetchAnswer, ReplicationError> {
        let mut role = self.role();
        let Role::Leader(leader) = &mut *role else { return Err(ReplicationError::NotLeaderOrFollower) };
        let before = leader.state.high_watermark();
        let outcome = {
            let log = lock(&self.log);
            let log_end_offset = reported_end(&log, leader.state.log_end_offset());
            leader.follower_fetched(log_end_offset, fetch, log.leader_epoch_cache(), now_ms)?
        };
        let high_watermark = leader.state.high_watermark();
        self.publish_high_watermark(high_watermark);
        Ok(FollowerFetchAnswer {
            answer: outcome.answer,
            alter_partition: outcome.alter_partition,
            high_watermark_moved: high_watermark > before,
        })
    }
    // ANCHOR_END: on_follower_fetch

    // ANCHOR: follower_side
    /// What this replica's next fetch asks its leader, if it follows one:
    /// (leader, the fetch, this log's start offset).
    pub fn next_fetch(&self) -> Option<(ReplicaId, FollowerFetch, i64)> {
        let role = self.role();
        let Role::Follower(follower) = &*role else { return None };
        if follower.leader_id < 0 {
            return None;
        }
        let log = lock(&self.log);
        let fetch = follower.fetch_request(log.leader_epoch_cache(), log.log_end_offset());
        Some((follower.leader_id, fetch, log.log_start_offset()))
    }

    /// The leader of `leader_epoch` answered with `records` (perhaps none)
    /// and its high watermark: append them as they are (offsets and epochs
    /// kept), and follow the leader's high watermark as far as this log
    /// reaches. `Ok(false)`: this replica no longer follows that epoch, and
    /// the answer is dropped.
    pub fn on_leader_records(
        &self,
        leader_epoch: i32,
        records: bytes::BytesMut,
        leader_high_watermark: i64,
    ) -> Result<bool, LogError> {
        let mut role = self.role();
        let Some(follower) = following(&mut role, leader_epoch) else { return Ok(false) };
        let mut log = lock(&self.log);
        if !records.is_empty() {
            // The log learns each batch's epoch as it appends it.
            log.append_as_follower(records)?;
        }
        let log_end_offset = log.log_end_offset();
        let mut cache = log.leader_epoch_cache().clone();
        drop(log);
        follower.on_records(&mut cache, [], log_end_offset, leader_high_watermark);
        self.set_high_watermark(follower.high_watermark);
        Ok(true)
    }

    /// The leader of `leader_epoch` says this log diverges from its own:
    /// truncate where the replication core says (KIP-101, KIP-279).
    /// `Ok(None)`: this replica no longer follows that epoch.
    pub fn on_diverging(
        &self,
        leader_epoch: i32,
        diverging: crate::replication::EpochEndOffset,
    ) -> Result<Option<i64>, LogError> {
        let mut role = self.role();
        let Some(follower) = following(&mut role, leader_epoch) else { return Ok(None) };
        let mut log = lock(&self.log);
        let offset = follower.truncation_offset(diverging, log.leader_epoch_cache(), log.log_end_offset());
        self.truncate(follower, &mut log, offset)?;
        Ok(Some(offset))
    }

    /// The leader of `leader_epoch` answered OFFSET_OUT_OF_RANGE. If its log
    /// ends before this one, cut this one there; if it starts after this
    /// one's end (retention moved its start), start empty at its start.
    /// `Ok(None)`: nothing to do (or no longer following that epoch).
    pub fn on_out_of_range(
        &self,
        leader_epoch: i32,
        leader_log_end_offset: i64,
        leader_log_start_offset: i64,
    ) -> Result<Option<i64>, LogError> {
        let mut role = self.role();
        let Some(follower) = following(&mut role, leader_epoch) else { return Ok(None) };
        let mut log = lock(&self.log);
        let log_end_offset = log.log_end_offset();
        if let Some(offset) = follower.out_of_range_truncation(leader_log_end_offset, log_end_offset) {
            self.truncate(follower, &mut log, offset)?;
            return Ok(Some(offset));
        }
        if leader_log_start_offset > log_end_offset {
            log.truncate_fully_and_start_at(leader_log_start_offset)?;
            let mut cache = log.leader_epoch_cache().clone();
            follower.on_truncated(&mut cache, leader_log_start_offset);
            self.set_high_watermark_locked(&mut log, follower.high_watermark.max(leader_log_start_offset));
            return Ok(Some(leader_log_start_offset));
        }
        Ok(None)
    }

    fn truncate(
        &self,
        follower: &mut FollowerState,
        log: &mut crate::log::Log<crate::log::DiskStorage>,
        offset: i64,
    ) -> Result<(), LogError> {
        if offset < log.log_end_offset() {
            tracing::info!(offset, log_end_offset = log.log_end_offset(), "follower truncates");
            log.truncate_to(offset)?;
        }
        let mut cache = log.leader_epoch_cache().clone();
        follower.on_truncated(&mut cache, offset);
        self.set_high_watermark_locked(log, follower.high_watermark);
        Ok(())
    }
    // ANCHOR_END: follower_side

    /// The leader's timer: followers lagging for `replica.lag.time.max.ms`
    /// leave the ISR through the returned AlterPartition.
    pub fn tick(&self, now_ms: i64) -> Option<AlterPartition> {
        match &mut *self.role() {
            Role::Leader(leader) => leader.state.tick(now_ms),
            Role::Follower(_) => None,
        }
    }

    /// The controller refused this leader's AlterPartition: forget it.
    pub fn alter_partition_failed(&self) {
        if let Role::Leader(leader) = &mut *self.role() {
            leader.state.on_alter_partition_failed();
        }
    }

    /// The leader's view of the ISR and replicas, for describing it.
    pub fn leader_isr(&self) -> Option<Vec<ReplicaId>> {
        match &*self.role() {
            Role::Leader(leader) => Some(leader.state.isr().iter().copied().collect()),
            Role::Follower(_) => None,
        }
    }

    /// The leader's high watermark, published to readers and to the log
    /// (which checkpoints it). Never goes back.
    fn publish_high_watermark(&self, high_watermark: i64) {
        if self.high_watermark.fetch_max(high_watermark, Ordering::AcqRel) < high_watermark {
            lock(&self.log).update_high_watermark(high_watermark);
        }
    }

    /// A follower's high watermark, which a truncation may lower.
    fn set_high_watermark(&self, high_watermark: i64) {
        self.set_high_watermark_locked(&mut lock(&self.log), high_watermark);
    }

    /// The same, for a caller that already holds the log's lock (a
    /// truncation): taking it again would deadlock, a std mutex is not
    /// reentrant.
    fn set_high_watermark_locked(
        &self,
        log: &mut crate::log::Log<crate::log::DiskStorage>,
        high_watermark: i64,
    ) {
        self.high_watermark.store(high_watermark, Ordering::Release);
        log.update_high_watermark(high_watermark);
    }
}

/// The log end a leader reports to the replication core, which already
/// holds `known`: the log end, or in durable mode only what an fsync covers
/// (see the module docs). Never below `known`, which the core forbids: a
/// log switched to durable mode at runtime keeps its unflushed tail counted.
fn reported_end(log: &crate::log::Log<crate::log::DiskStorage>, known: i64) -> i64 {
    let log_end_offset = log.log_end_offset();
    match log.config().flush_before_ack {
        true => log.recovery_point().min(log_end_offset).max(known),
        false => log_end_offset,
    }
}

/// The follower state, if this replica still follows `leader_epoch`.
fn following(role: &mut Role, leader_epoch: i32) -> Option<&mut FollowerState> {
    match role {
        Role::Follower(follower) if follower.leader_epoch == leader_epoch => Some(follower),
        _ => None,
    }
}
