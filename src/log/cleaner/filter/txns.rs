//! What the cleaner knows about transactions as it walks the log in offset
//! order (Kafka's `CleanedTransactionMetadata`).
//!
//! A transaction's records and its marker may sit far apart, and whether a
//! batch may go depends on the marker that comes *after* it:
//!
//! ```text
//!  offset  10        11        12           13
//!          txn(p=7)  data      txn(p=7)     ABORT(p=7)
//!          ▲ aborted txn from .txnindex: first 10, last 13
//! ```
//!
//! - a transactional batch of a producer whose aborted transaction has begun
//!   (an entry of the `.txnindex` with `first_offset <=` the batch's last
//!   offset) is aborted: all its records may go;
//! - an ABORT marker stays while any batch of its transaction was still seen
//!   in this cleaning (and its transaction goes back into the cleaned
//!   segment's `.txnindex`); once none is, the marker may go, after its
//!   delete horizon;
//! - a COMMIT marker may go, after its delete horizon, once no batch of its
//!   transaction was seen in this cleaning.
//!
//! The state is carried across every segment of one cleaning, which always
//! starts at the log start, so a transaction that spans segments is seen whole.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::format::record::Record;
use crate::format::RecordBatch;
use crate::idempotence::EndTxnMarker;
use crate::log::txn_index::AbortedTxn;

/// An aborted transaction whose first batch the cleaner has passed.
#[derive(Debug, Clone, Copy)]
struct OngoingAbort {
    txn: AbortedTxn,
    /// The last offset of the last batch of it seen in this cleaning; `None`
    /// if every batch of it was removed by an earlier one.
    last_batch_offset: Option<i64>,
}

/// Transaction state of one cleaning, fed every batch in offset order.
#[derive(Debug, Default)]
pub struct CleanedTxns {
    /// Aborted transactions not reached yet, by first offset.
    pending: VecDeque<AbortedTxn>,
    ongoing_aborted: HashMap<i64, OngoingAbort>,
    ongoing_committed: HashSet<i64>,
    /// Aborted transactions whose ABORT marker is kept: the cleaned
    /// segments' `.txnindex` entries.
    retained_aborted: Vec<AbortedTxn>,
}

impl CleanedTxns {
    /// Starts from the aborted transactions of the `.txnindex` files of the
    /// segments to be read (any order).
    pub fn new(mut aborted: Vec<AbortedTxn>) -> Self {
        aborted.sort_by_key(|t| t.first_offset);
        CleanedTxns { pending: aborted.into(), ..CleanedTxns::default() }
    }

    fn begin_aborted_up_to(&mut self, offset: i64) {
        while self.pending.front().is_some_and(|t| t.first_offset <= offset) {
            let txn = self.pending.pop_front().expect("front was checked");
            self.ongoing_aborted
                .entry(txn.producer_id)
                .or_insert(OngoingAbort { txn, last_batch_offset: None });
        }
    }

    /// A data batch: `true` if it belongs to an aborted transaction, so all
    /// its records may go (Kafka's `onBatchRead`).
    pub fn on_data_batch(&mut self, batch: &RecordBatch) -> bool {
        self.begin_aborted_up_to(batch.last_offset());
        if !batch.is_transactional() {
            return false;
        }
        match self.ongoing_aborted.get_mut(&batch.producer_id()) {
            Some(abort) => {
                abort.last_batch_offset = Some(batch.last_offset());
                true
            }
            None => {
                self.ongoing_committed.insert(batch.producer_id());
                false
            }
        }
    }

    /// A control batch with its records: `true` if it may go once its delete
    /// horizon has passed (Kafka's `onControlBatchRead`). A control record
    /// that is not a COMMIT or ABORT marker always stays.
    pub fn on_control_batch(&mut self, batch: &RecordBatch, records: &[Record]) -> bool {
        self.begin_aborted_up_to(batch.last_offset());
        let Some(first) = records.first() else {
            return true; // emptied by an earlier cleaning
        };
        let marker = match (&first.key, &first.value) {
            (Some(key), Some(value)) => EndTxnMarker::parse(key, value),
            _ => None,
        };
        let Some(marker) = marker else { return false };
        let producer_id = batch.producer_id();
        if !marker.is_abort {
            return !self.ongoing_committed.remove(&producer_id);
        }
        match self.ongoing_aborted.remove(&producer_id) {
            Some(OngoingAbort { txn, last_batch_offset: Some(_) }) => {
                self.retained_aborted.push(txn);
                false
            }
            _ => true,
        }
    }

    /// Takes the aborted transactions whose markers were kept since the last
    /// call: what the cleaned segment's `.txnindex` holds.
    pub fn take_retained_aborted(&mut self) -> Vec<AbortedTxn> {
        std::mem::take(&mut self.retained_aborted)
    }
}
