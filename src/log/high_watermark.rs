//! The high watermark in the log (chapter 6): the offset below which every
//! record is on every in-sync replica, so below which a consumer may read.
//!
//! ```text
//!   log start         high watermark            log end
//!      │                    │                      │
//!      ▼                    ▼                      ▼
//!      ┌────┬────┬────┬────┬────┬────┬────┬────┐
//!      │ 0  │ 2  │ 4  │ 6  │ 8  │ 10 │ 12 │ 14 │   batches (base offsets)
//!      └────┴────┴────┴────┴────┴────┴────┴────┘
//!      ◀── committed: consumers ──▶◀─ only followers ─▶
//! ```
//!
//! The log keeps the number, as Kafka's `UnifiedLog` keeps
//! `highWatermarkMetadata`; who moves it is replication's business (the
//! leader's ISR minimum, the follower's copy of the leader's), so the log only
//! keeps it inside `[log start, log end]`: [`Log::update_high_watermark`]
//! clamps, truncation brings it down with the log end, and a log start moved
//! past it by retention carries it up. Consumers' reads pass it as
//! [`ReadOptions::max_offset`](super::ReadOptions::max_offset): a read then
//! returns only whole batches that end below it, never the batch that holds
//! it (`LocalLog.read` stops at the position of that batch). The log manager
//! checkpoints it to `replication-offset-checkpoint` ([`super::manager`]).
//!
//! Simplifications: Kafka keeps the high watermark with its segment position
//! (`LogOffsetMetadata`) so a bounded read need not look it up; spool finds the
//! position through the offset index on each bounded read.
//!
//! Retention deletes only segments wholly below the high watermark, as
//! Kafka's `UnifiedLog.deletableSegments` does: a leader never deletes what a
//! follower may still need, a follower never what is not yet committed.
//! (A log whose high watermark nobody moves — a test's bare log — keeps
//! everything.)

use super::storage::Storage;
use super::Log;

impl<S: Storage> Log<S> {
    /// The offset below which records are committed (and consumers may read).
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    // ANCHOR: update_high_watermark
    /// Sets the high watermark to `offset` clamped to `[log start, log end]`
    /// (Kafka's `updateHighWatermark`): the leader at startup, a follower from
    /// each fetch answer. It may go down (a follower takes the leader's).
    /// Returns whether it moved.
    pub fn update_high_watermark(&mut self, offset: i64) -> bool {
        let clamped = offset.clamp(self.log_start_offset, self.log_end_offset());
        let moved = clamped != self.high_watermark;
        self.high_watermark = clamped;
        // Chapter 9: a marker now below it decides its transaction for readers.
        self.producers.on_high_watermark_updated(clamped);
        moved
    }
    // ANCHOR_END: update_high_watermark

    /// Brings the high watermark back inside the log after its start or end
    /// moved (truncation, retention, a full truncation).
    pub(super) fn clamp_high_watermark(&mut self) {
        self.update_high_watermark(self.high_watermark);
    }
}
