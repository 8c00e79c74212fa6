//! Chapter 9 in the producer table: ongoing transactions and the markers
//! that end them (KIP-98; Kafka's `ProducerStateManager.ongoingTxns`,
//! `ProducerAppendInfo.appendEndTxnMarker` and `completeTxn`).
//!
//! A transactional producer's first transactional batch on a partition opens
//! its transaction there, at that batch's first offset; the transaction
//! coordinator later writes a **control batch** holding one end-transaction
//! marker, COMMIT or ABORT, which closes it:
//!
//! ```text
//!  offset:  10      11      12      13       14      15
//!           p1:txn  p2      p1:txn  p1:ABORT p3:txn
//!           ▲ p1 opens at 10         ▲ p1 closes: AbortedTxn{p1, 10..=13, lso 14}
//!                                             ▲ p3 opens at 15: LSO ≤ 15
//! ```
//!
//! The table keeps every open transaction by its first offset: the earliest
//! pins the **last stable offset** (LSO), below which every transaction is
//! decided. A transaction whose marker is written stays in the way until the
//! marker is below the high watermark (Kafka's `unreplicatedTxns`): before
//! that a new leader may not have the marker, and a `read_committed` consumer
//! must not have read past the transaction's start.
//!
//! A marker's record: key = version int16 (0), type int16 (0 = ABORT, 1 =
//! COMMIT); value = version int16 (0), coordinator epoch int32.
//!
//! Simplifications: a marker for a producer with no transaction open here
//! (the coordinator aborts a partition the producer added but never wrote to)
//! changes only the producer's epochs, as in Kafka, and completes nothing.

use super::{ProducerError, ProducerStateEntry, ProducerStateManager};
use crate::format::batch::RecordBatch;

/// The control record type of an abort marker (Kafka's `ControlRecordType.ABORT`).
pub const ABORT_CONTROL_TYPE: i16 = 0;
/// The control record type of a commit marker (`ControlRecordType.COMMIT`).
pub const COMMIT_CONTROL_TYPE: i16 = 1;

/// One end-transaction marker, read from a control batch (Kafka's
/// `EndTransactionMarker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndTxnMarker {
    /// ABORT (`true`) or COMMIT (`false`).
    pub is_abort: bool,
    /// The epoch of the transaction coordinator that wrote it.
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    /// The marker a control batch holds, or `None` if it holds another control
    /// record (a KRaft `LEADER_CHANGE`, say), is not a control batch, or its
    /// first record is not a readable marker.
    pub fn of(batch: &RecordBatch) -> Option<EndTxnMarker> {
        if !batch.is_control() {
            return None;
        }
        let record = batch.records().ok()?.next()?.ok()?;
        Self::parse(record.key.as_deref()?, record.value.as_deref()?)
    }

    /// Reads a marker from a control record's key and value.
    pub fn parse(key: &[u8], value: &[u8]) -> Option<EndTxnMarker> {
        let [k0, k1, t0, t1, ..] = *key else { return None };
        let [v0, v1, e0, e1, e2, e3, ..] = *value else { return None };
        if i16::from_be_bytes([k0, k1]) < 0 || i16::from_be_bytes([v0, v1]) < 0 {
            return None;
        }
        let is_abort = match i16::from_be_bytes([t0, t1]) {
            ABORT_CONTROL_TYPE => true,
            COMMIT_CONTROL_TYPE => false,
            _ => return None,
        };
        Some(EndTxnMarker { is_abort, coordinator_epoch: i32::from_be_bytes([e0, e1, e2, e3]) })
    }

    // ANCHOR: marker_encode
    /// The control record's key and value, version 0 of each.
    pub fn encode(&self) -> ([u8; 4], [u8; 6]) {
        let control_type = if self.is_abort { ABORT_CONTROL_TYPE } else { COMMIT_CONTROL_TYPE };
        let mut key = [0; 4];
        key[2..].copy_from_slice(&control_type.to_be_bytes());
        let mut value = [0; 6];
        value[2..].copy_from_slice(&self.coordinator_epoch.to_be_bytes());
        (key, value)
    }
    // ANCHOR_END: marker_encode
}

/// A transaction a marker ended on this partition (Kafka's `CompletedTxn`,
/// with the LSO its `lastStableOffset(completedTxn)` computes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompletedTxn {
    pub producer_id: i64,
    /// The transaction's first batch's base offset.
    pub first_offset: i64,
    /// The marker's offset.
    pub last_offset: i64,
    pub is_aborted: bool,
    /// The LSO once this transaction is decided: the first offset of the
    /// earliest other open transaction, or the offset after the marker. The
    /// aborted-transaction index keeps it so a reader knows where to stop looking.
    pub last_stable_offset: i64,
}

impl ProducerStateManager {
    // ANCHOR: validate_marker
    /// Checks a marker before it is appended (Kafka's `checkProducerEpoch`
    /// and `checkCoordinatorEpoch`): an older producer epoch or an older
    /// coordinator is fenced. Changes nothing.
    pub fn validate_marker(
        &self,
        producer_id: i64,
        epoch: i16,
        marker: &EndTxnMarker,
    ) -> Result<(), ProducerError> {
        let Some(entry) = self.producers.get(&producer_id) else { return Ok(()) };
        if epoch < entry.producer_epoch {
            return Err(ProducerError::InvalidProducerEpoch {
                producer_id,
                epoch,
                current_epoch: entry.producer_epoch,
            });
        }
        if marker.coordinator_epoch < entry.coordinator_epoch {
            return Err(ProducerError::CoordinatorFenced {
                producer_id,
                coordinator_epoch: marker.coordinator_epoch,
                current_coordinator_epoch: entry.coordinator_epoch,
            });
        }
        Ok(())
    }
    // ANCHOR_END: validate_marker

    // ANCHOR: apply_marker
    /// Records a marker appended at `offset` (Kafka's `appendEndTxnMarker`
    /// then `completeTxn`). Total, like [`update`](Self::update): recovery
    /// replays markers through it. Returns the transaction it ended, if the
    /// producer had one open here.
    pub fn apply_marker(
        &mut self,
        producer_id: i64,
        epoch: i16,
        marker: &EndTxnMarker,
        offset: i64,
        timestamp: i64,
    ) -> Option<CompletedTxn> {
        self.map_end_offset = self.map_end_offset.max(offset.wrapping_add(1));
        // The transaction is over here: a verification pending from before
        // the marker must not let a batch open a new one (KIP-890).
        self.clear_verification(producer_id);
        let config = self.config;
        let entry =
            self.producers.entry(producer_id).or_insert_with(|| ProducerStateEntry::empty(producer_id));
        let first_offset = entry.current_txn_first_offset.take();
        if epoch != entry.producer_epoch {
            if config.reset_on_epoch_bump {
                entry.batches.clear();
            }
            entry.producer_epoch = epoch;
        }
        entry.coordinator_epoch = marker.coordinator_epoch;
        entry.last_timestamp = timestamp;
        let first_offset = first_offset?;
        let next_open =
            self.ongoing_txns.iter().find(|(_, &pid)| pid != producer_id).map(|(&first, _)| first);
        self.ongoing_txns.remove(&first_offset);
        let completed = CompletedTxn {
            producer_id,
            first_offset,
            last_offset: offset,
            is_aborted: marker.is_abort,
            last_stable_offset: next_open.unwrap_or(offset.wrapping_add(1)),
        };
        self.unreplicated_txns.insert(first_offset, completed);
        Some(completed)
    }
    // ANCHOR_END: apply_marker

    /// Applies one batch read from the log, data or control (Kafka's
    /// `ProducerAppendInfo.append`): what the log's append, a follower's
    /// append and recovery's replay all call.
    pub fn apply(&mut self, batch: &RecordBatch) -> Option<CompletedTxn> {
        if batch.is_control() {
            let Some(marker) = EndTxnMarker::of(batch) else {
                // Another control record (or none readable): it only takes offsets.
                self.map_end_offset = self.map_end_offset.max(batch.next_offset());
                return None;
            };
            let (producer_id, epoch) = (batch.producer_id(), batch.producer_epoch());
            return self.apply_marker(
                producer_id,
                epoch,
                &marker,
                batch.base_offset(),
                batch.max_timestamp(),
            );
        }
        self.update(&super::BatchInfo::of(batch), batch.base_offset());
        None
    }

    // ANCHOR: first_unstable_offset
    /// The first offset of the earliest transaction not yet decided for
    /// readers: open, or ended by a marker not yet below the high watermark
    /// (Kafka's `firstUnstableOffset`). `None` when every one is decided.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        let open = self.ongoing_txns.keys().next();
        let unreplicated = self.unreplicated_txns.keys().next();
        open.into_iter().chain(unreplicated).min().copied()
    }
    // ANCHOR_END: first_unstable_offset

    /// The high watermark moved to `high_watermark`: transactions whose marker
    /// is now below it are decided for readers (Kafka's `onHighWatermarkUpdated`).
    pub fn on_high_watermark_updated(&mut self, high_watermark: i64) {
        self.unreplicated_txns.retain(|_, txn| txn.last_offset >= high_watermark);
    }

    /// The open transactions, as (first offset, producer id), earliest first.
    pub fn ongoing_txns(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ongoing_txns.iter().map(|(&first, &pid)| (first, pid))
    }
}

#[cfg(test)]
mod tests;
