//! Retention: whole segments are deleted by age (`log.retention.ms`, by each
//! segment's largest timestamp) or by the log's total size
//! (`log.retention.bytes`), oldest first, and the log start offset moves up
//! to the first segment left — never past the high watermark (chapter 6),
//! and never for a `cleanup.policy=compact` log.

use super::{Log, Result, Storage};

impl<S: Storage> Log<S> {
    // ANCHOR: retention
    /// Deletes whole segments past `log.retention.ms` (by their largest
    /// timestamp) or while the log exceeds `log.retention.bytes`, oldest first,
    /// and moves the log start offset — never past the high watermark: a
    /// segment reaching past it stays (chapter 6). Returns how many segments
    /// went. A log whose `cleanup.policy` lacks `delete` (only `compact`) is
    /// left alone.
    pub fn delete_old_segments(&mut self, now_ms: i64) -> Result<usize> {
        let config = &self.config;
        if !config.cleanup_delete {
            return Ok(0);
        }
        let mut total: i64 = self.segments.values().map(|s| s.size() as i64).sum();
        let mut doomed = Vec::new();
        for segment in self.segments.values() {
            let expired = config.retention_ms >= 0
                && segment.size() > 0
                && now_ms - segment.max_timestamp() > config.retention_ms;
            let oversized =
                config.retention_bytes >= 0 && total - segment.size() as i64 >= config.retention_bytes;
            // Only what every in-sync replica has (Kafka's `deletableSegments`):
            // a segment reaching past the high watermark stays.
            let below_high_watermark = segment.next_offset() <= self.high_watermark;
            if !(expired || oversized) || segment.size() == 0 || !below_high_watermark {
                break;
            }
            total -= segment.size() as i64;
            doomed.push(segment.base_offset());
        }
        if doomed.last() == Some(&self.active().base_offset()) {
            // The active segment itself expired: roll, so the log keeps a segment.
            self.roll(self.log_end_offset())?;
        }
        if !doomed.is_empty() {
            self.layout_generation += 1; // a cleaning planned before this is void
        }
        for base in &doomed {
            let segment = self.segments.remove(base).expect("listed above");
            segment.delete(&mut self.storage)?;
        }
        let first = *self.segments.keys().next().expect("active segment");
        self.log_start_offset = self.log_start_offset.max(first);
        self.clamp_high_watermark();
        if !doomed.is_empty() {
            // Retention keeps producers (KAFKA-7190): the table is untouched,
            // only snapshots below the new log start go.
            self.producers.on_log_start_offset_incremented(self.log_start_offset);
            self.delete_producer_snapshots_below(self.log_start_offset)?;
            self.truncate_leader_epochs_from_start(self.log_start_offset)?;
        }
        Ok(doomed.len())
    }
    // ANCHOR_END: retention

    // ANCHOR: delete_before
    /// Moves the log start offset up to `offset` (at most the log end) and
    /// deletes the segments wholly below it (Kafka's `KafkaMetadataLog`
    /// `deleteBeforeSnapshot`): the metadata log, once a snapshot stands for
    /// everything below `offset`. The caller guarantees that snapshot is
    /// durable and committed; no high watermark is consulted. DeleteRecords
    /// uses it too, its caller having checked `offset` against the high
    /// watermark (`Partition::delete_records_before`). Returns how many
    /// segments went.
    pub fn delete_before(&mut self, offset: i64) -> Result<usize> {
        let offset = offset.min(self.log_end_offset());
        if offset <= self.log_start_offset {
            return Ok(0);
        }
        if self.active().base_offset() < offset && self.active().next_offset() <= offset {
            // Everything is below: roll, so the log keeps a segment at its end.
            self.roll(self.log_end_offset())?;
        }
        // Never the active segment: after the roll it may be empty at `offset`.
        let active = self.active().base_offset();
        let doomed: Vec<i64> = (self.segments.values())
            .filter(|s| s.next_offset() <= offset && s.base_offset() != active)
            .map(|s| s.base_offset())
            .collect();
        self.layout_generation += 1; // a cleaning planned before this is void
        for base in &doomed {
            let segment = self.segments.remove(base).expect("listed above");
            segment.delete(&mut self.storage)?;
        }
        self.log_start_offset = offset;
        self.clamp_high_watermark();
        self.producers.on_log_start_offset_incremented(self.log_start_offset);
        self.delete_producer_snapshots_below(self.log_start_offset)?;
        self.truncate_leader_epochs_from_start(self.log_start_offset)?;
        Ok(doomed.len())
    }
    // ANCHOR_END: delete_before
}
