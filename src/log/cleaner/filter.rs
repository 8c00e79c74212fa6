//! The cleaner's record-level rules: one batch in, the batch to write out (or
//! nothing) out — Kafka's `LogCleaner.cleanInto` with `MemoryRecords.filterTo`.
//!
//! The segment driver feeds every batch of the segments being cleaned, in
//! offset order from the log start, to [`BatchFilter::filter`], with the
//! [`OffsetMap`] of the dirty range and a [`FilterContext`] it collected under
//! the log's lock. Each batch is decided in two steps:
//!
//! ```text
//!  the batch ───▶ may the whole batch go? (transactions, see txns.rs)
//!                   aborted data ─────────────────▶ drop every record
//!                   a marker no batch needs, past its delete horizon ─▶ drop it
//!            ───▶ each record: keep it if
//!                   its offset is past the map's latest offset, or
//!                   it is a control record, or
//!                   it has a key, no later offset in the map has that key, and
//!                   it has a value or its batch's delete horizon has not passed
//!            ───▶ all kept, nothing to stamp ──▶ the original bytes
//!                 some kept ────────────────────▶ the batch rewritten (format::retain)
//!                 none kept, but it is a producer's last batch
//!                   or the last batch of the round ─▶ an empty batch (header only)
//!                 none kept ────────────────────▶ nothing
//! ```
//!
//! The rules, each Kafka's:
//! - **Latest wins.** A record is kept if the map holds no later offset for its
//!   key (`shouldRetainRecord`: `record.offset >= map.get(key)`); a key absent
//!   from the map lives in the already-clean part and is kept.
//! - **Keyless records go.** A compacted topic's records must have keys (the
//!   broker rejects keyless appends with `INVALID_RECORD`); one that got in
//!   anyway is counted as invalid and removed by the cleaner, as Kafka does.
//! - **Tombstones (null values) and markers live until their delete horizon**
//!   (KIP-534). The first cleaning that keeps a batch with a tombstone, or a
//!   marker whose transaction has no batch left, stamps the batch with
//!   `now + delete.retention.ms` (attribute bit 6, in `baseTimestamp`); a
//!   cleaning at or after that time removes them. A consumer that reads the
//!   topic within `delete.retention.ms` of the first cleaning sees every delete.
//! - **Aborted transactions go; markers stay while needed.** See [`txns`].
//! - **A producer's last batch stays**, emptied if its records all went
//!   (`isBatchLastRecordOfProducer`): its header holds the producer's last
//!   sequence and epoch, which the producer table rebuilt from the log after a
//!   restart needs, or a retry would be taken for a gap. The last batch before
//!   the round's end offset stays too, so the log's next offset survives.
//! - **One batch in, at most one batch out.** Batches are never merged, so a
//!   transactional batch is never mixed with another transaction's records.
//!   A rewritten batch keeps its codec (re-compressed), offsets, producer
//!   fields and leader epoch ([`crate::format::retain`]); an unchanged one is
//!   written back byte for byte, never re-compressed.
//!
//! A batch that fails its CRC or does not decode is
//! [`LogError::CorruptBatch`] (Kafka's `CORRUPT_MESSAGE`): the cleaning of
//! this log stops and nothing is swapped.
//!
//! Simplifications: spool writes magic v2 only, so Kafka's legacy delete
//! horizon (for v0/v1 tombstones: the last clean segment's modification time
//! minus `delete.retention.ms`) does not exist here, and with it the filter's
//! need to know whether a segment is in the clean or the dirty part.

pub mod txns;

use std::collections::HashMap;

use bytes::Bytes;

use self::txns::CleanedTxns;
use super::offset_map::OffsetMap;
use crate::format::record::Record;
use crate::format::retain::{empty_batch, retained_batch};
use crate::format::{BatchError, RecordBatch};
use crate::log::error::{LogError, Result};
use crate::log::txn_index::AbortedTxn;

/// A producer still in the partition's producer table, as the cleaner needs
/// it (Kafka's `LastRecord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerLastRecord {
    /// The last offset of its last data batch; `None` if the table holds no
    /// batch of it (its last entry in the log is a marker).
    pub last_data_offset: Option<i64>,
    pub producer_epoch: i16,
}

/// What the filter needs beyond the batch and the map, collected by the
/// driver under the log's lock as plain data.
#[derive(Debug, Clone, Default)]
pub struct FilterContext {
    /// The aborted transactions (from the `.txnindex` files) overlapping the
    /// segments being read, any order.
    pub aborted_txns: Vec<AbortedTxn>,
    /// Every producer in the producer table, by producer id (Kafka's
    /// `lastRecordsOfActiveProducers`).
    pub producers: HashMap<i64, ProducerLastRecord>,
    /// The log's `delete.retention.ms`.
    pub delete_retention_ms: i64,
    /// The time of this cleaning.
    pub now_ms: i64,
    /// The end of this cleaning round (Kafka's `upperBoundOffsetOfCleaningRound`,
    /// the first uncleanable offset): the batch that ends just before it is
    /// kept even if emptied.
    pub round_end_offset: i64,
}

/// What [`BatchFilter`] decided about a whole batch before looking at its
/// records (Kafka's `BatchRetention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchRetention {
    /// Drop it, records and all.
    Delete,
    /// Drop it only if no record is kept.
    DeleteEmpty,
    /// Keep it, as an empty batch if no record is kept.
    RetainEmpty,
}

/// The cleaning side of one cleaning: fed every batch of the cleaned
/// segments in offset order, it carries the transaction state across them.
pub struct BatchFilter<'a> {
    map: &'a OffsetMap,
    context: &'a FilterContext,
    txns: CleanedTxns,
}

impl<'a> BatchFilter<'a> {
    pub fn new(map: &'a OffsetMap, context: &'a FilterContext) -> Self {
        BatchFilter { map, context, txns: CleanedTxns::new(context.aborted_txns.clone()) }
    }

    // ANCHOR: filter_batch
    /// The batch to write in place of `batch`: `None` drops it; `Some` is the
    /// same bytes when nothing changed, or a rewritten batch with the same
    /// offsets.
    pub fn filter(&mut self, batch: &RecordBatch) -> Result<Option<Bytes>> {
        let records = decode_checked(batch)?;
        let may_go = if batch.is_control() {
            self.txns.on_control_batch(batch, &records)
        } else {
            self.txns.on_data_batch(batch)
        };
        let now_ms = self.context.now_ms;
        let horizon_passed = batch.delete_horizon_ms().is_some_and(|h| h <= now_ms);
        let drop_records = may_go && (!batch.is_control() || horizon_passed);
        let retention = self.batch_retention(batch, drop_records);
        if retention == BatchRetention::Delete {
            return Ok(None);
        }
        let total = records.len();
        let kept: Vec<Record> = if drop_records {
            Vec::new()
        } else {
            records.into_iter().filter(|r| batch.is_control() || self.keeps(batch, r)).collect()
        };
        if kept.is_empty() {
            let empty = retention == BatchRetention::RetainEmpty;
            return Ok(empty.then(|| empty_batch(batch).as_bytes().clone()));
        }
        let has_tombstone = kept.iter().any(|r| r.value.is_none());
        let marker_may_go = may_go && batch.is_control();
        let stamp_horizon = (has_tombstone || marker_may_go) && !batch.has_delete_horizon();
        if kept.len() == total && !stamp_horizon {
            return Ok(Some(batch.as_bytes().clone()));
        }
        let horizon_ms = if stamp_horizon {
            Some(now_ms.saturating_add(self.context.delete_retention_ms))
        } else {
            batch.delete_horizon_ms()
        };
        Ok(Some(retained_batch(batch, &kept, horizon_ms).as_bytes().clone()))
    }
    // ANCHOR_END: filter_batch

    /// Takes the aborted transactions whose ABORT markers were kept since the
    /// last call: the entries of the cleaned segment's `.txnindex`.
    pub fn take_retained_aborted_txns(&mut self) -> Vec<AbortedTxn> {
        self.txns.take_retained_aborted()
    }

    // ANCHOR: batch_retention
    /// Kafka's `checkBatchRetention`.
    fn batch_retention(&self, batch: &RecordBatch, drop_records: bool) -> BatchRetention {
        // A producer's last sequence and epoch, or the round's last offset,
        // must survive in a header even if every record goes.
        let last_of_producer = batch.producer_id() >= 0 && self.is_last_batch_of_producer(batch);
        if last_of_producer || batch.next_offset() == self.context.round_end_offset {
            BatchRetention::RetainEmpty
        } else if drop_records {
            BatchRetention::Delete
        } else {
            BatchRetention::DeleteEmpty
        }
    }

    /// Kafka's `isBatchLastRecordOfProducer`: the batch holding the last data
    /// offset of a producer in the table, or, for a producer whose last entry
    /// is a marker, that marker of its current epoch (it fences older epochs).
    fn is_last_batch_of_producer(&self, batch: &RecordBatch) -> bool {
        let Some(last) = self.context.producers.get(&batch.producer_id()) else {
            return false;
        };
        match last.last_data_offset {
            Some(offset) => batch.last_offset() == offset,
            None => batch.is_control() && batch.producer_epoch() == last.producer_epoch,
        }
    }
    // ANCHOR_END: batch_retention

    // ANCHOR: keeps
    /// Kafka's `shouldRetainRecord` for a data record.
    fn keeps(&self, batch: &RecordBatch, record: &Record) -> bool {
        if record.offset > self.map.latest_offset() {
            return true; // the map knows nothing this late
        }
        let Some(key) = &record.key else {
            return false; // keyless: invalid in a compacted log
        };
        let latest = self.map.get(key).is_none_or(|latest| record.offset >= latest);
        let delete_retained = batch.delete_horizon_ms().is_none_or(|h| self.context.now_ms < h);
        latest && (record.value.is_some() || delete_retained)
    }
    // ANCHOR_END: keeps
}

/// The records of `batch`, after checking its CRC, that they decode, and
/// that their offsets increase within `[baseOffset, lastOffset]`: what the
/// cleaner must know before it rewrites anything.
pub(crate) fn decode_checked(batch: &RecordBatch) -> Result<Vec<Record>> {
    batch.validate().map_err(LogError::CorruptBatch)?;
    let records = batch.decode_records().map_err(LogError::CorruptBatch)?;
    let mut previous = batch.base_offset().wrapping_sub(1);
    for record in &records {
        if record.offset <= previous || record.offset > batch.last_offset() {
            return Err(LogError::CorruptBatch(BatchError::InvalidRecords(format!(
                "record offset {} outside the batch's [{}, {}] or out of order",
                record.offset,
                batch.base_offset(),
                batch.last_offset()
            ))));
        }
        previous = record.offset;
    }
    Ok(records)
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
