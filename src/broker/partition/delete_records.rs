//! A partition's side of DeleteRecords (issue 17): the leader moves its log
//! start offset, each follower learns the leader's from its fetch answers and
//! moves its own, and the leader's *low watermark* — the smallest log start of
//! its live replicas — says how far the deletion has reached.
//!
//! ```text
//!  DeleteRecords(t-0, 5) ──▶ leader: log start 0 → 5, segments below 5 deleted
//!  follower fetch ◀── answer { log_start_offset: 5 } ── follower: 0 → 5
//!  follower fetch { log_start_offset: 5 } ──▶ leader: low watermark = min(5, 5) = 5
//! ```
//!
//! Kafka's `Partition.deleteRecordsOnLeader` and `lowWatermarkIfLeader`; a
//! replica on a fenced broker is left out of the minimum, as Kafka leaves out
//! a replica whose broker is not alive.

use kafka_protocol::ResponseError;

use super::{Partition, Role};
use crate::log::manager::lock;
use crate::log::LogError;
use crate::replication::ReplicaId;

/// DeleteRecords' offset that means "the high watermark".
pub const HIGH_WATERMARK: i64 = -1;

impl Partition {
    // ANCHOR: delete_records_on_leader
    /// Moves this leader's log start up to `offset` (-1: the high watermark)
    /// and deletes the segments wholly below it; an offset at or below the
    /// log start moves nothing. Returns the offset the low watermark must
    /// reach. Refused: not the leader (NOT_LEADER_OR_FOLLOWER), a log whose
    /// `cleanup.policy` lacks `delete` (POLICY_VIOLATION), an offset below -1
    /// or past the high watermark (OFFSET_OUT_OF_RANGE).
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, DeleteRecordsError> {
        let role = self.role();
        let Role::Leader(_) = &*role else { return Err(ResponseError::NotLeaderOrFollower.into()) };
        let mut log = lock(&self.log);
        if !log.config().cleanup_delete {
            return Err(ResponseError::PolicyViolation.into());
        }
        let high_watermark = log.high_watermark();
        let offset = if offset == HIGH_WATERMARK { high_watermark } else { offset };
        if !(0..=high_watermark).contains(&offset) {
            return Err(ResponseError::OffsetOutOfRange.into());
        }
        if offset > log.log_start_offset() {
            log.delete_before(offset)?;
        }
        Ok(offset)
    }
    // ANCHOR_END: delete_records_on_leader

    /// The smallest log start offset among this leader and its followers on
    /// brokers `alive` says are alive (-1 for one that has not fetched since
    /// this replica became leader): every record below it is gone everywhere.
    pub fn low_watermark_if_leader(&self, alive: impl Fn(ReplicaId) -> bool) -> Result<i64, ResponseError> {
        let role = self.role();
        let Role::Leader(leader) = &*role else { return Err(ResponseError::NotLeaderOrFollower) };
        let own = lock(&self.log).log_start_offset();
        let followers = leader.state.replicas().iter().filter(|&&r| r != leader.state.replica_id && alive(r));
        let starts = followers.map(|r| leader.follower_log_start_offsets.get(r).copied().unwrap_or(-1));
        Ok(starts.fold(own, i64::min))
    }

    /// A follower's fetch said where its log starts; returns whether that
    /// moved (a DeleteRecords may be waiting for it).
    pub fn on_follower_log_start(&self, replica_id: ReplicaId, log_start_offset: i64) -> bool {
        let mut role = self.role();
        let Role::Leader(leader) = &mut *role else { return false };
        let before = leader.follower_log_start_offsets.insert(replica_id, log_start_offset);
        before != Some(log_start_offset)
    }

    // ANCHOR: follow_log_start
    /// A follower moves its log start up to its leader's (Kafka's
    /// `maybeIncrementLogStartOffset` with `LeaderOffsetIncremented`), but
    /// never past its own high watermark: what it has not yet copied it
    /// cannot delete, and the next fetch brings the rest. Returns whether
    /// the log start moved.
    pub fn follow_leader_log_start(&self, leader_log_start_offset: i64) -> Result<bool, LogError> {
        let role = self.role();
        let Role::Follower(_) = &*role else { return Ok(false) };
        let mut log = lock(&self.log);
        let offset = leader_log_start_offset.min(log.high_watermark());
        if offset <= log.log_start_offset() {
            return Ok(false);
        }
        log.delete_before(offset)?;
        Ok(true)
    }
    // ANCHOR_END: follow_log_start
}

/// Why one partition's DeleteRecords was refused.
#[derive(Debug)]
pub enum DeleteRecordsError {
    /// A Kafka error for the client (NOT_LEADER_OR_FOLLOWER, POLICY_VIOLATION,
    /// OFFSET_OUT_OF_RANGE).
    Refused(ResponseError),
    /// The log could not delete its segments: the log directory has failed
    /// (KAFKA_STORAGE_ERROR once the broker marks it).
    Log(LogError),
}

impl From<ResponseError> for DeleteRecordsError {
    fn from(e: ResponseError) -> Self {
        DeleteRecordsError::Refused(e)
    }
}

impl From<LogError> for DeleteRecordsError {
    fn from(e: LogError) -> Self {
        DeleteRecordsError::Log(e)
    }
}
