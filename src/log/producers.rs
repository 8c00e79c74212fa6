//! The log's half of chapter 8: the partition's producer table
//! ([`crate::idempotence::ProducerStateManager`]) lives inside the [`Log`],
//! is consulted by every append, and is written beside the segments as
//! `<offset>.snapshot` files so that a restart replays only the tail of the log.
//!
//! ```text
//!  Log::append(batches)          all under the partition's log lock
//!    check_producers ──▶ Duplicate(m): write nothing, answer m's offsets
//!                    ──▶ Err(e):       write nothing, answer e's error code
//!                    ──▶ Append:       write each batch, then update(batch, offset)
//!  Log::roll(base)               ──▶ <base>.snapshot       the table as the new segment starts
//!  clean shutdown                ──▶ <log end>.snapshot    nothing to replay on the next start
//!  Log::open, Log::truncate_to   ──▶ drop snapshots outside [log start, log end],
//!                                    load the newest readable one, replay the batches after it
//!  retention                     ──▶ keep every producer, drop snapshots below the new log start
//! ```
//!
//! Why inside the log, under its lock: the check, the write and the update
//! must be one step per partition. Two produce requests from the same producer
//! racing between `validate` and `update` would both pass as "next in
//! sequence", and one would be written twice; with the lock held throughout,
//! the second sees the first as appended and is answered as its duplicate.
//!
//! Recovery after an unclean stop needs nothing special: the log is cut at
//! its first bad batch first, and a snapshot above the cut describes batches
//! that are gone, so it is deleted (Kafka's `truncateAndReload`) and an older
//! one, or the log start, is the replay's starting point.
//!
//! Simplifications: Kafka writes a snapshot's file off the append path
//! (`flushProducerStateSnapshot` on a scheduler, KAFKA-9101); spool writes it
//! in `roll` with [`Storage::write_atomic`], one small fsynced file per segment.
//! `producer.id.expiration.ms` is Kafka's default (one day), not a setting yet.

use bytes::Bytes;

use super::error::Result;
use super::storage::Storage;
use super::{Log, ReadOptions};
use crate::format::batch::{self, field, RecordBatch};
use crate::idempotence::producer_state::txn::{CompletedTxn, EndTxnMarker};
use crate::idempotence::{
    decode_snapshot, encode_snapshot, parse_snapshot_file_name, replay, snapshot_file_name, BatchInfo,
    BatchMetadata, ProducerError, ProducerStateConfig, ProducerStateManager, Validated, VerificationGuard,
};

/// How much of the log one read of the replay holds in memory.
const REPLAY_READ_BYTES: u32 = 1 << 20;

/// The producer fields of one batch, read from its header bytes (the batch is
/// framed and checked already): [`BatchInfo::of`] without parsing it.
pub fn batch_info(one: &[u8]) -> BatchInfo {
    BatchInfo {
        producer_id: batch::be_i64(one, field::PRODUCER_ID),
        producer_epoch: batch::be_i16(one, field::PRODUCER_EPOCH),
        base_sequence: batch::be_i32(one, field::BASE_SEQUENCE),
        last_offset_delta: batch::be_i32(one, field::LAST_OFFSET_DELTA),
        max_timestamp: batch::be_i64(one, field::MAX_TIMESTAMP),
        is_transactional: batch::be_u16(one, field::ATTRIBUTES) & batch::TRANSACTIONAL_BIT != 0,
    }
}

/// The end-transaction marker of a control batch from a producer (chapter
/// 9), read from its one record; `None` for a data batch. A control batch
/// holds a few dozen bytes, so it is parsed whole.
fn marker_of(one: &[u8]) -> Option<EndTxnMarker> {
    let control = batch::be_u16(one, field::ATTRIBUTES) & batch::CONTROL_BIT != 0;
    if !control || batch::be_i64(one, field::PRODUCER_ID) < 0 {
        return None;
    }
    let (batch, _) = RecordBatch::parse(&Bytes::copy_from_slice(one)).ok()?;
    EndTxnMarker::of(&batch)
}

/// Who wrote a batch the leader appends (Kafka's `AppendOrigin`): a client's
/// batches are checked for sequence and duplicates, a coordinator's only for
/// the producer's epoch ([`ProducerStateManager::validate_coordinator`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppendOrigin {
    /// A produce request.
    Client,
    /// A produce request while `transaction.partition.verification.enable`
    /// is on (KIP-890 part 1): a transactional batch that would open its
    /// producer's transaction must carry the guard the coordinator's
    /// verification started with ([`ProducerStateManager::check_verified`]);
    /// [`VerificationGuard::SENTINEL`] when none was started.
    VerifiedClient(VerificationGuard),
    /// A coordinator writing for a producer: the group coordinator's
    /// TxnOffsetCommit records (chapter 9).
    Coordinator,
    /// The same while `transaction.partition.verification.enable` is on: the
    /// group coordinator asked the transaction coordinator whether the
    /// group's offsets partition is in the producer's transaction, and a
    /// batch that would open the transaction here must carry the guard that
    /// question started with, as a verified client's does (Kafka's
    /// `GroupMetadataManager.storeOffsets` with its `verificationGuard`).
    VerifiedCoordinator(VerificationGuard),
}

impl<S: Storage> Log<S> {
    // ANCHOR: check_producers
    /// Checks the batches of one append (`sizes` from [`super::validate_batches`])
    /// against the producer table, changing nothing: `Some(m)` if the append is
    /// a retry of the batch `m` already in the log, `None` to append it.
    ///
    /// One batch, what idempotent producers send per partition, is checked
    /// against the table as it is. Several are checked in order against a
    /// trial copy that takes each one as appended, so the second batch of a
    /// producer follows its first; like Kafka, the first duplicate found
    /// answers for the whole append, and the first error fails all of it.
    pub(super) fn check_producers(
        &self,
        batches: &[u8],
        sizes: &[usize],
        origin: AppendOrigin,
    ) -> std::result::Result<Option<BatchMetadata>, ProducerError> {
        let duplicate = |v: Validated| match v {
            Validated::Duplicate(original) => Some(original),
            Validated::Append | Validated::NoProducerId => None,
        };
        let guard = match origin {
            AppendOrigin::Coordinator => {
                return self.check_coordinator_batches(batches, sizes, None).map(|()| None)
            }
            AppendOrigin::VerifiedCoordinator(guard) => {
                return self.check_coordinator_batches(batches, sizes, Some(guard)).map(|()| None)
            }
            AppendOrigin::VerifiedClient(guard) => Some(guard),
            AppendOrigin::Client => None,
        };
        if let [size] = sizes {
            let one = &batches[..*size];
            let info = batch_info(one);
            return match marker_of(one) {
                Some(marker) => self
                    .producers
                    .validate_marker(info.producer_id, info.producer_epoch, &marker)
                    .map(|()| None),
                None => validate_client(&self.producers, &info, guard).map(duplicate),
            };
        }
        let mut headers = Vec::with_capacity(sizes.len());
        let mut at = 0;
        for &size in sizes {
            let one = &batches[at..at + size];
            headers.push((batch_info(one), marker_of(one)));
            at += size;
        }
        if !headers.iter().any(|(info, _)| info.has_producer_id()) {
            return Ok(None);
        }
        let mut trial = self.producers.clone();
        let mut offset = self.log_end_offset();
        for (info, marker) in &headers {
            if let Some(marker) = marker {
                trial.validate_marker(info.producer_id, info.producer_epoch, marker)?;
                trial.apply_marker(info.producer_id, info.producer_epoch, marker, offset, info.max_timestamp);
            } else {
                if let Some(original) = validate_client(&trial, info, guard).map(duplicate)? {
                    return Ok(Some(original));
                }
                trial.update(info, offset);
            }
            offset += i64::from(info.last_offset_delta) + 1;
        }
        Ok(None)
    }
    // ANCHOR_END: check_producers

    /// [`check_producers`](Self::check_producers) for a coordinator's
    /// append: each producer batch's epoch, against the table as the
    /// earlier batches of the append leave it. No duplicates, no sequences.
    /// With a `guard` (KIP-890), a batch that would open its producer's
    /// transaction must carry the producer's current one, checked first as
    /// Kafka's `UnifiedLog.analyzeAndValidateProducerState` does.
    fn check_coordinator_batches(
        &self,
        batches: &[u8],
        sizes: &[usize],
        guard: Option<VerificationGuard>,
    ) -> std::result::Result<(), ProducerError> {
        let mut trial = self.producers.clone();
        let mut offset = self.log_end_offset();
        let mut at = 0;
        for &size in sizes {
            let one = &batches[at..at + size];
            at += size;
            let info = batch_info(one);
            if let Some(marker) = marker_of(one) {
                trial.validate_marker(info.producer_id, info.producer_epoch, &marker)?;
                trial.apply_marker(
                    info.producer_id,
                    info.producer_epoch,
                    &marker,
                    offset,
                    info.max_timestamp,
                );
            } else if info.has_producer_id() {
                if let Some(guard) = guard {
                    trial.check_verified(&info, guard)?;
                }
                trial.validate_coordinator(&info)?;
                trial.update(&info, offset);
            }
            offset += i64::from(info.last_offset_delta) + 1;
        }
        Ok(())
    }

    /// Starts KIP-890's verification of `producer_id`'s transactional batch
    /// (or finds it started): the guard its append must carry, or
    /// [`VerificationGuard::SENTINEL`] if its transaction is open here and
    /// nothing needs asking ([`ProducerStateManager::maybe_start_verification`]).
    pub fn maybe_start_txn_verification(
        &mut self,
        producer_id: i64,
        sequence: i32,
        epoch: i16,
        now_ms: i64,
    ) -> VerificationGuard {
        self.producers.maybe_start_verification(producer_id, sequence, epoch, now_ms)
    }

    /// The partition's producer table, as of the log end.
    pub fn producer_state(&self) -> &ProducerStateManager {
        &self.producers
    }

    /// Forgets producers idle for `producer.id.expiration.ms` (the log
    /// manager's tick; Kafka checks every `producer.id.expiration.check.interval.ms`).
    pub fn remove_expired_producers(&mut self, now_ms: i64) {
        self.producers.remove_expired_producers(now_ms);
    }

    /// Writes the producer table as `<log end>.snapshot`: at clean shutdown,
    /// so the next start loads it and replays nothing.
    pub fn take_producer_snapshot(&mut self) -> Result<()> {
        self.write_producer_snapshot(self.log_end_offset())
    }

    /// Writes the table as `<offset>.snapshot`, whole and durable or not at
    /// all ([`Storage::write_atomic`]): a torn snapshot never exists.
    pub(super) fn write_producer_snapshot(&mut self, offset: i64) -> Result<()> {
        let bytes = encode_snapshot(&self.producers);
        self.storage.write_atomic(&snapshot_file_name(offset), &bytes)?;
        Ok(())
    }

    /// The offsets of the snapshot files beside the segments, ascending.
    pub fn producer_snapshot_offsets(&self) -> Result<Vec<i64>> {
        let mut offsets: Vec<i64> =
            self.storage.list()?.iter().filter_map(|n| parse_snapshot_file_name(n)).collect();
        offsets.sort_unstable();
        Ok(offsets)
    }

    /// Deletes the snapshots below `offset`: retention moved the log start
    /// there, and Kafka keeps only snapshots at or above the log start.
    pub(super) fn delete_producer_snapshots_below(&mut self, offset: i64) -> Result<()> {
        for old in self.producer_snapshot_offsets()? {
            if old < offset {
                self.storage.remove(&snapshot_file_name(old))?;
            }
        }
        Ok(())
    }

    // ANCHOR: load_producer_state
    /// Rebuilds the producer table from the files (Kafka's
    /// `UnifiedLog.rebuildProducerState`): deletes snapshots outside
    /// `[log start, log end]` — those above describe batches recovery or a
    /// truncation removed — loads the newest one that decodes (a corrupt one
    /// is deleted and the next older tried), then replays the batch headers
    /// from its offset to the log end. Without a snapshot, the replay starts at
    /// the log start.
    pub(super) fn load_producer_state(&mut self, now_ms: i64) -> Result<()> {
        let mut state = self.producer_state_at(self.log_end_offset(), now_ms)?;
        state.on_log_start_offset_incremented(self.log_start_offset);
        // Chapter 9: transactions the replay saw end are decided for readers
        // once their marker is below the high watermark.
        state.on_high_watermark_updated(self.high_watermark);
        self.producers = state;
        Ok(())
    }
    // ANCHOR_END: load_producer_state

    /// The producer table as of `offset`: the newest readable snapshot at or
    /// below it, then the batches from there up to `offset`. Deletes the
    /// snapshots outside `[log start, log end]` and the corrupt ones it meets.
    pub(super) fn producer_state_at(&mut self, offset: i64, now_ms: i64) -> Result<ProducerStateManager> {
        let (start, end) = (self.log_start_offset, self.log_end_offset());
        let mut offsets = Vec::new();
        for snapshot in self.producer_snapshot_offsets()? {
            if !(start..=end).contains(&snapshot) {
                self.storage.remove(&snapshot_file_name(snapshot))?;
            } else if snapshot <= offset {
                offsets.push(snapshot);
            }
        }
        let config = *self.producers.config();
        let mut state = ProducerStateManager::new(config);
        let mut from = start;
        while let Some(snapshot) = offsets.pop() {
            let name = snapshot_file_name(snapshot);
            let bytes = self.storage.read_file(&name)?.unwrap_or_default();
            match decode_snapshot(&bytes) {
                Ok(entries) => {
                    state.load_snapshot(snapshot, entries, now_ms);
                    from = snapshot;
                    break;
                }
                Err(e) => {
                    tracing::warn!(snapshot = name, error = %e, "deleting a corrupt producer snapshot");
                    self.storage.remove(&name)?;
                }
            }
        }
        self.replay_producers(&mut state, from, offset)?;
        Ok(state)
    }

    /// Applies every batch from `from` up to `to` (a segment base or the log
    /// end) to `state`, a megabyte of log at a time; returns the transactions
    /// whose markers it met (chapter 9).
    pub(super) fn replay_producers(
        &self,
        state: &mut ProducerStateManager,
        from: i64,
        to: i64,
    ) -> Result<Vec<CompletedTxn>> {
        let mut completed = Vec::new();
        let mut offset = from.max(self.log_start_offset);
        let options = ReadOptions {
            max_bytes: REPLAY_READ_BYTES,
            max_offset: None,
            min_one_batch: true,
            skip_emptied_tail: false,
        };
        while offset < to {
            let Some(region) = self.read_with(offset, options)? else { break };
            let mut rest: Bytes = region.read_bytes()?;
            let mut batches = Vec::new();
            // A region may end inside a batch (a fetch's may, too): the
            // partial batch is read whole by the next region, which starts at it.
            loop {
                match batch::batch_size(&rest) {
                    Some(Ok(size)) if size <= rest.len() => {
                        let (batch, tail) = RecordBatch::parse(&rest)?;
                        batches.push(batch);
                        rest = tail;
                    }
                    Some(Err(e)) => return Err(e.into()),
                    _ => break,
                }
            }
            let Some(last) = batches.last() else {
                // The read promised at least one whole batch (KIP-74's rule).
                let available = rest.len();
                return Err(batch::BatchError::Truncated { needed: batch::HEADER_SIZE, available }.into());
            };
            offset = last.next_offset();
            batches.retain(|b| b.base_offset() < to);
            completed.extend(replay(state, from, &batches));
        }
        Ok(completed)
    }
}

/// A client's data batch against `table`: a retry of a batch in the log
/// first (as Kafka: its answer stands even if the transaction has ended
/// since), then KIP-890's verification if the append carries a `guard`,
/// then the epoch and sequence.
fn validate_client(
    table: &ProducerStateManager,
    info: &BatchInfo,
    guard: Option<VerificationGuard>,
) -> std::result::Result<Validated, ProducerError> {
    let validated = table.validate(info);
    if let (Some(guard), false) = (guard, matches!(validated, Ok(Validated::Duplicate(_)))) {
        table.check_verified(info, guard)?;
    }
    validated
}

/// The table a new log starts with: Kafka's settings.
pub(super) fn new_producer_state() -> ProducerStateManager {
    ProducerStateManager::new(ProducerStateConfig::default())
}

#[cfg(test)]
mod tests;
