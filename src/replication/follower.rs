//! One partition on a follower: what it fetches and what it does with the
//! answer. Kafka's `AbstractFetcherThread` / `ReplicaFetcherThread` for one
//! partition, and `Partition.makeFollower`.
//!
//! ```text
//!  fetch_request(cache, leo) ──▶ Fetch(offset = leo, last fetched epoch, current leader epoch)
//!  answer Records   ──▶ driver appends them ──▶ on_records(cache, epochs, leo, leader HW)
//!  answer Diverging ──▶ truncation_offset(…) ──▶ driver truncates ──▶ on_truncated(cache, offset)
//! ```

use super::epoch_cache::{EpochEndOffset, LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};
use super::leader::{FollowerFetch, ReplicaId};

/// One partition on a follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FollowerState {
    pub replica_id: ReplicaId,
    pub leader_id: ReplicaId,
    pub leader_epoch: i32,
    /// The follower's high watermark: the leader's, as of its last answer,
    /// capped by the follower's own log end.
    pub high_watermark: i64,
}

impl FollowerState {
    /// This replica follows `leader_id` in `leader_epoch`. Nothing is
    /// truncated here: since KIP-101 a follower keeps its log until the
    /// leader tells it, by epoch, where the two diverge.
    pub fn become_follower(
        replica_id: ReplicaId,
        leader_id: ReplicaId,
        leader_epoch: i32,
        high_watermark: i64,
    ) -> FollowerState {
        FollowerState { replica_id, leader_id, leader_epoch, high_watermark }
    }

    // ANCHOR: fetch_request
    /// The next fetch: from the log end, with the epoch of the last record
    /// (KIP-595) and the leader epoch this follower believes in (KIP-320).
    pub fn fetch_request(&self, cache: &LeaderEpochCache, log_end_offset: i64) -> FollowerFetch {
        FollowerFetch {
            replica_id: self.replica_id,
            fetch_offset: log_end_offset,
            last_fetched_epoch: cache.latest_epoch(),
            current_leader_epoch: Some(self.leader_epoch),
        }
    }
    // ANCHOR_END: fetch_request

    // ANCHOR: truncation_offset
    /// Where to cut the log after a diverging-epoch answer (Kafka's
    /// `getOffsetTruncationState`, KIP-101 and KIP-279):
    ///
    /// - the leader has the epoch it answered for: keep up to the smaller of
    ///   the two ends of that epoch;
    /// - the follower does not have that epoch: cut at its own end of the
    ///   largest epoch below it, then fetch again (the next answer is for an
    ///   older epoch, so this converges);
    /// - the leader answered without an epoch: keep up to its end offset;
    /// - the leader knows nothing: fall back to the high watermark.
    ///
    /// Never past the follower's own log end.
    pub fn truncation_offset(
        &self,
        diverging: EpochEndOffset,
        cache: &LeaderEpochCache,
        log_end_offset: i64,
    ) -> i64 {
        if diverging.end_offset == UNDEFINED_EPOCH_OFFSET {
            return self.high_watermark.min(log_end_offset);
        }
        if diverging.leader_epoch == UNDEFINED_EPOCH {
            return diverging.end_offset.min(log_end_offset);
        }
        let ours = cache.end_offset_for(diverging.leader_epoch, log_end_offset);
        let offset = if ours.end_offset == UNDEFINED_EPOCH_OFFSET {
            diverging.end_offset
        } else if ours.leader_epoch != diverging.leader_epoch {
            ours.end_offset
        } else {
            ours.end_offset.min(diverging.end_offset)
        };
        offset.min(log_end_offset)
    }
    // ANCHOR_END: truncation_offset

    /// The driver truncated the log to end at `offset`: the epoch cache
    /// forgets the epochs that started there or after, and the high watermark
    /// cannot be past the log end.
    pub fn on_truncated(&mut self, cache: &mut LeaderEpochCache, offset: i64) {
        cache.truncate_from_end(offset);
        self.high_watermark = self.high_watermark.min(offset);
    }

    /// The leader answered OFFSET_OUT_OF_RANGE: if its log ends before ours,
    /// cut ours there (Kafka's `handleOutOfRangeError`); `None` otherwise.
    pub fn out_of_range_truncation(&self, leader_log_end_offset: i64, log_end_offset: i64) -> Option<i64> {
        (leader_log_end_offset < log_end_offset).then_some(leader_log_end_offset)
    }

    // ANCHOR: on_records
    /// The driver appended the answer's batches, given as (leader epoch, base
    /// offset) in order; the log now ends at `log_end_offset`. The epoch cache
    /// learns each new epoch where its first batch starts (an entry of an
    /// epoch this replica led without writing gives way), and the high
    /// watermark follows the leader's, capped by this log's end.
    pub fn on_records(
        &mut self,
        cache: &mut LeaderEpochCache,
        batches: impl IntoIterator<Item = (i32, i64)>,
        log_end_offset: i64,
        leader_high_watermark: i64,
    ) {
        for (epoch, base_offset) in batches {
            cache.assign(epoch, base_offset);
        }
        let high_watermark = leader_high_watermark.min(log_end_offset);
        self.high_watermark = self.high_watermark.max(high_watermark);
    }
    // ANCHOR_END: on_records
}
