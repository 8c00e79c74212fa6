//! The log's half of chapter 9: the last stable offset and the
//! aborted-transaction index (KIP-98; Kafka's `UnifiedLog.lastStableOffset`,
//! `collectAbortedTransactions` and `LogSegment.updateTxnIndex`).
//!
//! ```text
//!  log start                    LSO          high watermark        log end
//!     │                          │                 │                  │
//!     ▼                          ▼                 ▼                  ▼
//!     ┌───┬───┬───┬───┬───┬───┬───┬───┬───┬───┬───┬───┬───┬───┬───┐
//!     │p1 │p1 │p2 │ A │   │   │p3 │   │p3 │   │   │   │   │   │   │
//!     └───┴───┴───┴───┴───┴───┴───┴───┴───┴───┴───┴───┴───┴───┴───┘
//!       p1's ABORT at 3 ─▶ .txnindex {p1, 0..=3}   p3 open at 6: LSO = 6
//! ```
//!
//! - **The LSO** ([`Log::last_stable_offset`]) is the smaller of the high
//!   watermark and the first offset of the earliest transaction not yet
//!   decided for readers — open, or ended by a marker still above the high
//!   watermark. A `read_committed` fetch stops there: nothing below it can
//!   still turn out aborted.
//! - **The index**: every append (a leader's or a follower's) runs each batch
//!   through the producer table; a marker that ends a transaction with ABORT
//!   appends an [`AbortedTxn`] to the active segment's `.txnindex`
//!   ([`super::txn_index`]). Truncation cuts it with the segment, retention
//!   deletes it with the segment, and [`Log::open`] rebuilds the index of every
//!   segment recovery rescanned, replaying the producer table from the
//!   newest snapshot at or below the first of them.
//! - **The search** ([`Log::collect_aborted_transactions`]) reads the
//!   indexes from the segment holding the fetch offset on, until an entry's
//!   LSO shows that no later marker can belong to the range.
//!
//! Simplifications: Kafka keeps the LSO with its segment position
//! (`LogOffsetMetadata`) for the fetch path; spool keeps the number, as it
//! does the high watermark.

use super::error::Result;
use super::storage::Storage;
use super::txn_index::AbortedTxn;
use super::Log;
use crate::format::RecordBatch;

impl<S: Storage> Log<S> {
    // ANCHOR: last_stable_offset
    /// The offset below which every transaction is decided and committed
    /// (Kafka's `lastStableOffset`): a `read_committed` consumer reads up to here.
    pub fn last_stable_offset(&self) -> i64 {
        let high_watermark = self.high_watermark();
        match self.producers.first_unstable_offset() {
            Some(first) if first < high_watermark => first,
            _ => high_watermark,
        }
    }
    // ANCHOR_END: last_stable_offset

    // ANCHOR: collect_aborted_transactions
    /// The aborted transactions overlapping `[from, upper_bound)`: those whose
    /// marker is at or after `from` and whose first offset is below
    /// `upper_bound`, in marker order (what a `read_committed` fetch from
    /// `from` answers with; Kafka's `collectAbortedTransactions`).
    pub fn collect_aborted_transactions(&self, from: i64, upper_bound: i64) -> Vec<AbortedTxn> {
        let start = self.segments.range(..=from).next_back().map_or(i64::MIN, |(&base, _)| base);
        let mut found = Vec::new();
        for segment in self.segments.range(start..).map(|(_, s)| s) {
            let (txns, complete) = segment.txn_index().collect_aborted_txns(from, upper_bound);
            found.extend(txns);
            if complete {
                break;
            }
        }
        found
    }
    // ANCHOR_END: collect_aborted_transactions

    /// Where a `read_committed` fetch that read from the segment at
    /// `segment_base_offset`, up to `max_offset`, stops looking for aborted
    /// transactions: the next segment's base, or `max_offset` if sooner. A
    /// transaction starting after the fetched batches is harmless in the
    /// answer (the consumer applies an entry only from its first offset on),
    /// so Kafka's bound at batch grain (`fetchUpperBoundOffset`) is kept at
    /// segment grain here.
    pub fn aborted_search_bound(&self, segment_base_offset: i64, max_offset: i64) -> i64 {
        let next_segment = self.segments.range(segment_base_offset.saturating_add(1)..).next();
        next_segment.map_or(max_offset, |(&base, _)| base.min(max_offset))
    }

    // ANCHOR: apply_to_producers
    /// Runs one batch just written to the active segment through the producer
    /// table, and indexes the transaction its ABORT marker ended, if any.
    pub(super) fn apply_to_producers(&mut self, batch: &RecordBatch) -> Result<()> {
        let Some(aborted) = self.producers.apply(batch).as_ref().and_then(AbortedTxn::of) else {
            return Ok(());
        };
        let active = self.segments.values_mut().next_back().expect("active segment");
        active.append_aborted_txn(&mut self.storage, aborted)
    }
    // ANCHOR_END: apply_to_producers

    /// Rebuilds the `.txnindex` of every segment from `from` (the first that
    /// recovery rescanned) on: the producer table as of `from`, then a replay
    /// of the batches after it, indexing each aborted transaction in the
    /// segment that holds its marker (Kafka's `LogSegment.recover` with the
    /// producer table rebuilt to the segment's base). The files are synced
    /// before it returns.
    pub(super) fn rebuild_txn_indexes(&mut self, from: i64) -> Result<()> {
        let mut state = self.producer_state_at(from, i64::MIN)?;
        for segment in self.segments.range_mut(from..).map(|(_, s)| s) {
            segment.reset_txn_index(&mut self.storage)?;
        }
        let completed = self.replay_producers(&mut state, from, self.log_end_offset())?;
        for aborted in completed.iter().filter_map(AbortedTxn::of) {
            let (_, segment) = self
                .segments
                .range_mut(..=aborted.last_offset)
                .next_back()
                .expect("the marker is in the log");
            segment.append_aborted_txn(&mut self.storage, aborted)?;
        }
        // Durably: these segments may already lie below the recovery point,
        // which no later flush syncs again, and an index lost in the next
        // crash would look like a segment without aborted transactions.
        for segment in self.segments.range(from..).map(|(_, s)| s) {
            segment.txn_index().flush(&mut self.storage)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
