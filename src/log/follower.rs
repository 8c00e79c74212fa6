//! The log side of a follower (chapter 6): appending what a fetch from the
//! leader brought, as it is, and starting over when the leader's log start has
//! passed this log's end.
//!
//! ```text
//!  leader: Log::append(batches, epoch)   assigns offsets, stamps the epoch (and LogAppendTime)
//!                 │ Fetch answer: the leader's batches, byte for byte, cut at max bytes
//!                 ▼
//!  follower: Log::append_as_follower(batches)
//!     drop a trailing partial batch ─ check framing and CRC ─ check offsets continue the log
//!     ─ write each batch unchanged (rolling as the leader did) ─ learn its epoch
//!     ─ copy it into the producer table ─ publish the end ─ flush by policy
//! ```
//!
//! Kafka's `UnifiedLog.appendAsFollower` is its `append` with offset
//! assignment off, and so is this, with the same checks in the same order:
//! every whole batch is framed and its CRC matches (else `CorruptBatch`), the
//! first starts at or after the log end (else `UnexpectedAppendOffset`), each
//! next one after the last offset of the one before (else `OffsetsOutOfOrder`);
//! any of these writes nothing. A first batch *above* the log end is taken,
//! as Kafka takes it: a compacted leader's log has gaps, and the copy has the
//! same gaps. The producer table is updated from the batches as on the leader
//! but never refuses one — the leader already decided, and a follower that
//! disagreed would diverge from it (Kafka's `ProducerAppendInfo` with origin
//! REPLICATION skips the sequence check and only warns of an older producer
//! epoch). Because each batch is written by the same code as on the leader,
//! a segment rolls at the same batch and a follower's files are byte for byte
//! its leader's (`tests/it/log/follower.rs` checks it for any chunking).
//!
//! Simplifications: Kafka refuses a follower append larger in total than a
//! segment; spool only refuses a single batch larger than a segment, since it
//! rolls batch by batch. Kafka checks no record count on a follower; neither
//! does spool (a compacted batch may hold fewer records than its offset range).

use bytes::BytesMut;

use super::error::{LogError, Result};
use super::segment::LogSegment;
use super::storage::Storage;
use super::{epochs, AppendInfo, Log};
use crate::format::batch;
use crate::format::{BatchError, RecordBatch};
use crate::idempotence::BatchInfo;
use crate::replication::LeaderEpochCache;

impl<S: Storage> Log<S> {
    // ANCHOR: append_as_follower
    /// Appends batches fetched from the leader, keeping their offsets,
    /// partition leader epochs and timestamps (Kafka's `appendAsFollower`).
    /// A trailing partial batch is dropped; an empty input appends nothing.
    pub fn append_as_follower(&mut self, mut batches: BytesMut) -> Result<AppendInfo> {
        self.check_online()?; // an offline log takes nothing more
        let headers = follower_batches(&batches, self.config.segment_bytes)?;
        self.check_follower_offsets(&headers)?;
        let end = self.log_end_offset();
        let mut info = AppendInfo {
            first_offset: headers.first().map_or(end, |h| h.base_offset),
            last_offset: end - 1,
            max_timestamp: -1,
            log_append_time: -1,
            records: 0,
            duplicate: false,
        };
        let mut epochs_changed = false;
        for header in &headers {
            let (batch, _) = RecordBatch::parse(&batches.split_to(header.size).freeze())?;
            self.move_empty_active_to(&batch)?;
            if self.active().should_roll(
                &self.config,
                batch.size_in_bytes(),
                batch.last_offset(),
                batch.max_timestamp(),
            ) {
                self.roll(batch.base_offset())?;
            }
            let storage = &mut self.storage;
            let active = self.segments.values_mut().next_back().expect("active segment");
            active.append(storage, &batch)?;
            self.copy_producer_state(&batch)?;
            let epoch = batch.partition_leader_epoch();
            epochs_changed |= epochs::learn_epoch(&mut self.leader_epochs, epoch, batch.base_offset());
            info.last_offset = batch.last_offset();
            info.max_timestamp = info.max_timestamp.max(batch.max_timestamp());
            info.records += batch.records_count().max(0) as u64;
        }
        self.finish_append(info.records, epochs_changed)?;
        Ok(info)
    }
    // ANCHOR_END: append_as_follower

    /// A gap in the leader's offsets (compaction) can put a batch past what
    /// the empty active segment's 32-bit relative offsets reach; `roll` never
    /// rolls an empty segment, so the empty one is replaced by one starting
    /// at the batch (Kafka rolls there, `canConvertToRelativeOffset`).
    fn move_empty_active_to(&mut self, batch: &RecordBatch) -> Result<()> {
        let active = self.active();
        if active.size() > 0 || active.offset_index().can_hold(batch.last_offset()) {
            return Ok(());
        }
        let (_, empty) = self.segments.pop_last().expect("active segment");
        empty.delete(&mut self.storage)?;
        let base = batch.base_offset();
        self.segments.insert(base, LogSegment::create(&mut self.storage, base, &self.config)?);
        Ok(())
    }

    /// Kafka's offset checks for an append with offsets already assigned.
    fn check_follower_offsets(&self, headers: &[FollowerBatch]) -> Result<()> {
        let Some(first) = headers.first() else { return Ok(()) };
        let log_end_offset = self.log_end_offset();
        if first.base_offset < log_end_offset {
            return Err(LogError::UnexpectedAppendOffset { first_offset: first.base_offset, log_end_offset });
        }
        for pair in headers.windows(2) {
            if pair[1].base_offset <= pair[0].last_offset {
                let (last_offset, next_base_offset) = (pair[0].last_offset, pair[1].base_offset);
                return Err(LogError::OffsetsOutOfOrder { last_offset, next_base_offset });
            }
        }
        Ok(())
    }

    /// Takes the leader's decision on an idempotent batch: the table learns
    /// it, whatever its sequence; an older producer epoch is only logged.
    fn copy_producer_state(&mut self, batch: &RecordBatch) -> Result<()> {
        let info = BatchInfo::of(batch);
        if let Some(known) = self.producers.producer_epoch(info.producer_id) {
            if info.has_producer_id() && info.producer_epoch < known {
                tracing::warn!(
                    producer_id = info.producer_id,
                    epoch = info.producer_epoch,
                    known,
                    offset = batch.base_offset(),
                    "follower copies a batch of an older producer epoch"
                );
            }
        }
        self.apply_to_producers(batch)
    }

    // ANCHOR: truncate_fully_and_start_at
    /// Deletes every segment and starts the log empty at `offset` (Kafka's
    /// `truncateFullyAndStartAt`): a follower whose fetch offset is below the
    /// leader's log start. Log start, log end, recovery point and high
    /// watermark all become `offset`; the epoch cache and the producer table
    /// (with its snapshots) are emptied.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<()> {
        assert!(offset >= 0, "a log cannot start at a negative offset");
        self.check_online()?;
        self.layout_generation += 1; // a cleaning planned before this is void
        self.note_truncation(offset);
        for (_, segment) in std::mem::take(&mut self.segments) {
            segment.delete(&mut self.storage)?;
        }
        self.segments.insert(offset, LogSegment::create(&mut self.storage, offset, &self.config)?);
        self.end.publish(self.compute_end());
        self.log_start_offset = offset;
        self.recovery_point = offset;
        self.unflushed_records = 0;
        self.leader_epochs = LeaderEpochCache::new();
        self.write_leader_epochs()?;
        self.delete_producer_snapshots_below(i64::MAX)?;
        self.producers = crate::idempotence::ProducerStateManager::new(*self.producers.config());
        self.clamp_high_watermark();
        Ok(())
    }
    // ANCHOR_END: truncate_fully_and_start_at

    /// Removes everything at or after `offset`: a follower truncating to its
    /// leader (chapter 6). Whole batches go, so the new end is the base of the
    /// batch that held `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> Result<()> {
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        self.layout_generation += 1; // a cleaning planned before this is void
        self.note_truncation(offset);
        let doomed: Vec<i64> = self.segments.range(offset.max(0) + 1..).map(|(&b, _)| b).collect();
        for base in doomed {
            if self.segments.len() == 1 {
                break;
            }
            let segment = self.segments.remove(&base).expect("listed above");
            segment.delete(&mut self.storage)?;
        }
        let storage = &mut self.storage;
        let active = self.segments.values_mut().next_back().expect("active segment");
        active.truncate_to(storage, offset)?;
        // Make the cut durable: a crash must not bring truncated batches back.
        // (An offline log cannot: the cut then only undoes a failed append in
        // memory, and whatever reached the disk is what the next start reads.)
        if self.offline.is_none() {
            active.flush(storage)?;
        }
        if self.active().size() == 0 && self.active().base_offset() > offset {
            // Everything went: start again exactly at `offset`.
            let old = self.segments.pop_last().expect("active segment").1;
            old.delete(&mut self.storage)?;
            self.segments.insert(offset, LogSegment::create(&mut self.storage, offset, &self.config)?);
        }
        let end = self.compute_end();
        self.end.publish(end);
        self.recovery_point = self.recovery_point.min(end.message_offset);
        self.log_start_offset = self.log_start_offset.min(end.message_offset);
        self.clamp_high_watermark();
        self.truncate_leader_epochs_from_end(end.message_offset)?;
        // The table may hold batches that are gone: rebuild it from a snapshot
        // at or below the new end. Expiration is the tick's job, not this one's.
        self.load_producer_state(i64::MIN)?;
        Ok(())
    }
}

/// Where one whole batch of a follower's append is, and the offsets it holds.
struct FollowerBatch {
    size: usize,
    base_offset: i64,
    last_offset: i64,
}

/// The whole batches at the front of `buf`, each framed, of magic 2, with a
/// matching CRC, an offset range that goes forward and no larger than
/// `max_batch_bytes`; a partial batch at the
/// end (a fetch cut by its byte limit) is left out, as Kafka's batch iterator
/// leaves it out.
fn follower_batches(buf: &[u8], max_batch_bytes: u64) -> Result<Vec<FollowerBatch>> {
    let mut batches = Vec::new();
    let mut rest = buf;
    while let Some(size) = batch::batch_size(rest) {
        let size = size?;
        if size > rest.len() {
            break; // the partial tail
        }
        let (one, tail) = rest.split_at(size);
        batch::validate_slice(one)?;
        if size as u64 > max_batch_bytes {
            return Err(LogError::BatchTooLarge { size, max: max_batch_bytes as usize });
        }
        let base_offset = batch::be_i64(one, batch::field::BASE_OFFSET);
        let last_offset_delta = batch::be_i32(one, batch::field::LAST_OFFSET_DELTA);
        // The range must go forward and leave a next offset: otherwise the
        // log end would move back, or overflow.
        let next_offset = base_offset.checked_add(i64::from(last_offset_delta) + 1);
        let Some(last_offset) = next_offset.filter(|_| last_offset_delta >= 0).map(|n| n - 1) else {
            let why = format!("batch at {base_offset} has lastOffsetDelta {last_offset_delta}");
            return Err(BatchError::InvalidRecords(why).into());
        };
        batches.push(FollowerBatch { size, base_offset, last_offset });
        rest = tail;
    }
    Ok(batches)
}

impl<S: Storage> Log<S> {
    /// Chapter 10: remembers the lowest offset the log was cut to, for the
    /// cleaner's checkpoint.
    fn note_truncation(&mut self, offset: i64) {
        self.truncated_to = Some(self.truncated_to.map_or(offset, |o| o.min(offset)));
    }

    /// The lowest offset a truncation cut the log to since the last call:
    /// the log manager lowers the `cleaner-offset-checkpoint` to it (Kafka's
    /// `maybeTruncateCheckpoint`), or records appended again below the old
    /// checkpoint would be taken for clean and never compacted.
    pub fn take_truncated_to(&mut self) -> Option<i64> {
        self.truncated_to.take()
    }
}
