//! What of a compacted log the cleaner may clean now (chapter 10): the
//! numbers Kafka's `LogCleanerManager` reads off a log before it picks one.
//!
//! ```text
//!  log start        first dirty            first uncleanable     log end
//!  │  clean part     │  dirty, cleanable    │  dirty, not yet     │
//!  ├─────────────────┼──────────────────────┼─────────────────────┤
//!  └ cleaned before ─┘└ cleanable_bytes ───┘└ active segment, open transactions,
//!    (clean_bytes)                             records younger than
//!                                              min.compaction.lag.ms,
//!                                              above the high watermark
//! ```
//!
//! - The **first dirty offset** is where the last clean stopped, from
//!   `cleaner-offset-checkpoint` ([`super::manager`]); a checkpoint outside
//!   the log (below its start after retention, above its end after a
//!   truncation) is reset to the log start, as Kafka's `cleanableOffsets` does.
//! - The **first uncleanable offset** is the smallest of the active segment's
//!   base (it is still being written), the last stable offset (an open
//!   transaction's first offset, and never past the high watermark: the
//!   cleaner only rewrites what every replica has and every transaction has
//!   decided), and the base of the first dirty segment whose largest
//!   timestamp is newer than `now − min.compaction.lag.ms` (KIP-58).
//! - The **dirty ratio** is cleanable bytes over clean + cleanable bytes; the
//!   cleaner picks the log with the highest one above its
//!   `min.cleanable.dirty.ratio` (the cleaner manager).
//! - **`max.compaction.lag.ms`** (KIP-354) forces a clean whatever the ratio
//!   once the earliest dirty segment's first batch is older than the lag.
//!
//! Simplifications: Kafka counts the bytes of whole segments, so a segment
//! that the first dirty offset splits counts as both clean and cleanable;
//! spool does the same rather than measure inside a segment.

use super::error::Result;
use super::storage::Storage;
use super::Log;

/// Where the dirty part of a log starts, and whether the checkpoint had to
/// be reset to find it (the caller then writes the reset offset back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstDirtyOffset {
    pub offset: i64,
    /// The checkpointed offset lay outside `[log start, log end]`.
    pub reset: bool,
}

/// What the cleaner manager needs to know of one log to choose among logs
/// (Kafka's `LogToClean`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanableStats {
    /// Cleaning starts here.
    pub first_dirty_offset: FirstDirtyOffset,
    /// Cleaning stops before here: the base of the segment holding the first
    /// uncleanable offset (the cleaner works in whole segments).
    pub first_uncleanable_offset: i64,
    /// Bytes of the segments below the first dirty offset.
    pub clean_bytes: u64,
    /// Bytes of the segments from the first dirty offset to the first uncleanable one.
    pub cleanable_bytes: u64,
    /// How long past `max.compaction.lag.ms` the oldest dirty record is; above
    /// zero, the log must be cleaned now whatever its ratio.
    pub compaction_delay_ms: i64,
}

impl CleanableStats {
    /// Cleanable bytes over clean + cleanable bytes; 0 for an empty log.
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.cleanable_bytes;
        if total == 0 {
            return 0.0;
        }
        self.cleanable_bytes as f64 / total as f64
    }

    /// `max.compaction.lag.ms` forces a clean, and there is something to clean.
    pub fn needs_compaction_now(&self) -> bool {
        self.compaction_delay_ms > 0 && self.cleanable_bytes > 0
    }
}

impl<S: Storage> Log<S> {
    // ANCHOR: first_dirty_offset
    /// The first dirty offset given the checkpointed one: the checkpoint when
    /// it lies within `[log start, log end]`, else the log start, with
    /// `reset` set (Kafka's `cleanableOffsets`: retention moved the start past
    /// it, or a truncation cut the end below it). No checkpoint is the log start.
    pub fn first_dirty_offset(&self, checkpointed: Option<i64>) -> FirstDirtyOffset {
        let start = self.log_start_offset();
        match checkpointed {
            None => FirstDirtyOffset { offset: start, reset: false },
            Some(offset) if offset < start || offset > self.log_end_offset() => {
                FirstDirtyOffset { offset: start, reset: true }
            }
            Some(offset) => FirstDirtyOffset { offset, reset: false },
        }
    }
    // ANCHOR_END: first_dirty_offset

    // ANCHOR: first_uncleanable_offset
    /// The first offset the cleaner may not touch yet, at least
    /// `first_dirty`: the smallest of the active segment's base, the last
    /// stable offset (which the high watermark bounds), and the base of the
    /// first dirty segment with a record newer than `now_ms −
    /// min_compaction_lag_ms` (by its largest timestamp, as Kafka's
    /// `cleanableOffsets` does).
    pub fn first_uncleanable_offset(&self, first_dirty: i64, now_ms: i64, min_compaction_lag_ms: i64) -> i64 {
        let active = self.active().base_offset();
        let mut uncleanable = active.min(self.last_stable_offset());
        let lag_ms = min_compaction_lag_ms.max(0);
        if lag_ms > 0 {
            let too_young = self
                .dirty_non_active_segments(first_dirty)
                .find(|s| s.max_timestamp() > now_ms.saturating_sub(lag_ms))
                .map(|s| s.base_offset());
            uncleanable = uncleanable.min(too_young.unwrap_or(i64::MAX));
        }
        uncleanable.max(first_dirty)
    }
    // ANCHOR_END: first_uncleanable_offset

    /// The closed segments from the one holding `from` on (Kafka's
    /// `nonActiveLogSegmentsFrom`).
    fn dirty_non_active_segments(&self, from: i64) -> impl Iterator<Item = &super::LogSegment> {
        let active = self.active().base_offset();
        let start = self.segments.range(..=from).next_back().map_or(from, |(&base, _)| base);
        self.segments.range(start..active).map(|(_, s)| s)
    }

    /// How long past `max_compaction_lag_ms` the earliest dirty closed
    /// segment's first batch is (0 if none is): Kafka's `maxCompactionDelay`,
    /// which goes by the first batch's timestamp, ignoring segments whose
    /// first batch has none. Reads each dirty segment's first batch header.
    pub fn max_compaction_delay_ms(
        &self,
        first_dirty: i64,
        now_ms: i64,
        max_compaction_lag_ms: i64,
    ) -> Result<i64> {
        let mut earliest = i64::MAX;
        for segment in self.dirty_non_active_segments(first_dirty) {
            if let Some(first) = segment.read_batch_info(&self.storage, 0)? {
                if first.max_timestamp > 0 {
                    earliest = earliest.min(first.max_timestamp);
                }
            }
        }
        let clean_until_ms = now_ms.saturating_sub(max_compaction_lag_ms.max(0));
        Ok(if earliest < clean_until_ms { clean_until_ms - earliest } else { 0 })
    }

    // ANCHOR: cleanable_stats
    /// The log as the cleaner manager weighs it, from its checkpointed first
    /// dirty offset, with this log's `min.compaction.lag.ms` and
    /// `max.compaction.lag.ms` (Kafka's `LogToClean`).
    pub fn cleanable_stats(&self, checkpointed: Option<i64>, now_ms: i64) -> Result<CleanableStats> {
        let first_dirty = self.first_dirty_offset(checkpointed);
        let dirty = first_dirty.offset;
        let uncleanable = self.first_uncleanable_offset(dirty, now_ms, self.config.min_compaction_lag_ms);
        // Whole segments: clean up to the base of the one holding `uncleanable`.
        let active = self.active().base_offset();
        let first_uncleanable_offset =
            self.dirty_non_active_segments(uncleanable).next().map_or(active, |s| s.base_offset());
        let clean_bytes = self.segments.range(..dirty).map(|(_, s)| s.size()).sum();
        let cleanable_bytes =
            self.segments_between(dirty.min(first_uncleanable_offset), first_uncleanable_offset);
        let compaction_delay_ms =
            self.max_compaction_delay_ms(dirty, now_ms, self.config.max_compaction_lag_ms)?;
        Ok(CleanableStats {
            first_dirty_offset: first_dirty,
            first_uncleanable_offset,
            clean_bytes,
            cleanable_bytes,
            compaction_delay_ms,
        })
    }
    // ANCHOR_END: cleanable_stats

    /// Bytes of the segments overlapping `[from, to)` (Kafka's `logSegments(from, to)`).
    fn segments_between(&self, from: i64, to: i64) -> u64 {
        let start = self.segments.range(..=from).next_back().map_or(from, |(&base, _)| base);
        if start >= to {
            return 0;
        }
        self.segments.range(start..to).map(|(_, s)| s.size()).sum()
    }
}

#[cfg(test)]
mod tests;
