//! A data partition of the transactions model: its log, the real producer
//! table (`src/idempotence/producer_state`) that tracks the transactions open
//! on it, the aborted transactions its `.txnindex` would hold, and what a
//! `read_committed` consumer sees of it.

use spool::idempotence::{
    BatchInfo, CompletedTxn, EndTxnMarker, ProducerError, ProducerStateManager, Validated,
};

use super::ProducerIdx;

/// One batch in a partition's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A transactional data batch of one record, from the model's producer
    /// `producer` (the output record, or on the offsets partition the offset commit).
    Data { producer: ProducerIdx, producer_id: i64, producer_epoch: i16 },
    /// A COMMIT or ABORT control batch.
    Marker { producer_id: i64, producer_epoch: i16, commit: bool },
}

/// A partition leader's answer to a transactional produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Appended, or a duplicate of a batch in the log.
    Written,
    /// The producer's epoch is not the latest (INVALID_PRODUCER_EPOCH or,
    /// from KIP-890's verification, PRODUCER_FENCED): it must stop.
    Fenced,
    /// Refused otherwise (TRANSACTION_ABORTABLE from the verification, say):
    /// the transaction must abort.
    Refused,
}

/// One partition, as its leader holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partition {
    /// The log; an entry's offset is its index. The high watermark is its
    /// end: the model's partitions have one replica.
    pub log: Vec<Entry>,
    /// The leader's producer table: the real one.
    pub table: ProducerStateManager,
    /// The transactions an ABORT marker ended here, as `apply_marker`
    /// reported them (what the `.txnindex` keeps for readers).
    pub aborted: Vec<CompletedTxn>,
}

/// How a `read_committed` consumer sees one data record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Below the LSO and in no aborted transaction: returned.
    Visible,
    /// In an aborted transaction: skipped, now and forever.
    Aborted,
    /// At or above the LSO: not returned yet.
    Pending,
}

impl Partition {
    pub fn new(table: ProducerStateManager) -> Self {
        Partition { log: Vec::new(), table, aborted: Vec::new() }
    }

    fn high_watermark(&self) -> i64 {
        self.log.len() as i64
    }

    /// The last stable offset, from the real producer table: the first offset
    /// of the earliest undecided transaction, or the high watermark.
    pub fn last_stable_offset(&self) -> i64 {
        self.table.first_unstable_offset().unwrap_or(self.high_watermark())
    }

    // ANCHOR: append
    /// Appends a transactional batch if the producer table lets it (the real
    /// `validate` and `update`), the high watermark following at once.
    pub fn append_data(&mut self, producer: ProducerIdx, producer_id: i64, producer_epoch: i16) -> Answer {
        let batch = BatchInfo {
            producer_id,
            producer_epoch,
            base_sequence: 0, // each producer writes one batch per partition
            last_offset_delta: 0,
            max_timestamp: 0,
            is_transactional: true,
        };
        match self.table.validate(&batch) {
            Ok(Validated::Append) => {
                let offset = self.high_watermark();
                self.log.push(Entry::Data { producer, producer_id, producer_epoch });
                self.table.update(&batch, offset);
                self.table.on_high_watermark_updated(self.high_watermark());
                Answer::Written
            }
            Ok(Validated::Duplicate(_)) => Answer::Written,
            Ok(Validated::NoProducerId) => unreachable!("the model's batches have a producer id"),
            Err(ProducerError::InvalidProducerEpoch { .. }) => Answer::Fenced,
            Err(_) => Answer::Refused,
        }
    }

    /// Writes a COMMIT or ABORT marker if the producer table lets it (the
    /// real `validate_marker` and `apply_marker`); false if it was refused.
    pub fn write_marker(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
    ) -> bool {
        let marker = EndTxnMarker { is_abort: !commit, coordinator_epoch };
        if self.table.validate_marker(producer_id, producer_epoch, &marker).is_err() {
            return false;
        }
        let offset = self.high_watermark();
        self.log.push(Entry::Marker { producer_id, producer_epoch, commit });
        let completed = self.table.apply_marker(producer_id, producer_epoch, &marker, offset, 0);
        self.aborted.extend(completed.filter(|txn| txn.is_aborted));
        self.table.on_high_watermark_updated(self.high_watermark());
        true
    }
    // ANCHOR_END: append

    // ANCHOR: read_committed
    /// What a `read_committed` consumer makes of the record at `offset`:
    /// records below the LSO are returned unless an aborted transaction of
    /// their producer covers them (Kafka's `FetchResponse.abortedTransactions`).
    pub fn seen(&self, offset: usize) -> Seen {
        let Entry::Data { producer_id, .. } = self.log[offset] else { panic!("a marker is never returned") };
        let offset = offset as i64;
        let aborted = self.aborted.iter().any(|txn| {
            txn.producer_id == producer_id && (txn.first_offset..=txn.last_offset).contains(&offset)
        });
        if aborted {
            Seen::Aborted
        } else if offset < self.last_stable_offset() {
            Seen::Visible
        } else {
            Seen::Pending
        }
    }
    // ANCHOR_END: read_committed

    /// How the reader sees each record of `producer`.
    pub fn seen_of(&self, producer: ProducerIdx) -> impl Iterator<Item = Seen> + '_ {
        self.log.iter().enumerate().filter_map(move |(offset, entry)| match entry {
            Entry::Data { producer: p, .. } if *p == producer => Some(self.seen(offset)),
            _ => None,
        })
    }

    /// The open transactions, read from the log itself rather than from the
    /// producer table: for each producer id, the first data batch after its
    /// last marker.
    pub fn open_transactions(&self) -> Vec<i64> {
        let mut open: std::collections::BTreeMap<i64, Option<i64>> = Default::default();
        for (offset, entry) in self.log.iter().enumerate() {
            match *entry {
                Entry::Data { producer_id, .. } => {
                    open.entry(producer_id).or_default().get_or_insert(offset as i64);
                }
                Entry::Marker { producer_id, .. } => {
                    open.insert(producer_id, None);
                }
            }
        }
        open.into_values().flatten().collect()
    }
}
