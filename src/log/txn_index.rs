//! The aborted-transaction index: `<base offset>.txnindex` beside a segment,
//! in Kafka's format (`TransactionIndex`, `AbortedTxn`; KIP-98).
//!
//! A `read_committed` consumer reads records up to the last stable offset and
//! must drop those of aborted transactions. Rather than scan for markers, the
//! broker answers each fetch with the aborted transactions that overlap what
//! it returns, from this index: one entry per ABORT marker, appended to the
//! segment the marker lands in, in marker order.
//!
//! ```text
//!  offset  size  field                 (AbortedTxn, version 0: 34 bytes)
//!  0       2     version (int16) = 0
//!  2       8     producer_id (int64)
//!  10      8     first_offset (int64)        the transaction's first batch
//!  18      8     last_offset (int64)         its ABORT marker
//!  26      8     last_stable_offset (int64)  the LSO once it was decided
//! ```
//!
//! Entries only ever go at the end, so the file is a plain append-only array
//! with no header, created at its first entry (a segment without aborted
//! transactions has no `.txnindex`). The `last_stable_offset` is what lets a
//! search stop: every transaction that began below it has been decided by
//! this entry's marker, so an entry with `last_stable_offset >= upper bound`
//! means no later marker can belong to a transaction overlapping the range.
//!
//! Truncation cuts the entries whose marker is gone; recovery after an
//! unclean stop rebuilds the index of every rescanned segment by replaying
//! the producer table over it ([`super::transactions`]).

use super::error::Result;
use super::storage::Storage;
use crate::idempotence::producer_state::txn::CompletedTxn;

/// The only `AbortedTxn` version (`AbortedTxn.CURRENT_VERSION`).
pub const ABORTED_TXN_VERSION: i16 = 0;
/// Bytes of one entry (`AbortedTxn.TOTAL_SIZE`).
pub const ABORTED_TXN_SIZE: usize = 2 + 8 + 8 + 8 + 8;

/// The `.txnindex` file of the segment at `base_offset`.
pub fn txn_index_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.txnindex")
}

// ANCHOR: aborted_txn
/// One aborted transaction on this partition (Kafka's `AbortedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The offset of its ABORT marker.
    pub last_offset: i64,
    pub last_stable_offset: i64,
}
// ANCHOR_END: aborted_txn

impl AbortedTxn {
    /// The entry for a transaction an ABORT marker ended; `None` for a commit.
    pub fn of(completed: &CompletedTxn) -> Option<AbortedTxn> {
        completed.is_aborted.then_some(AbortedTxn {
            producer_id: completed.producer_id,
            first_offset: completed.first_offset,
            last_offset: completed.last_offset,
            last_stable_offset: completed.last_stable_offset,
        })
    }

    pub fn encode(&self) -> [u8; ABORTED_TXN_SIZE] {
        let mut buf = [0; ABORTED_TXN_SIZE];
        buf[0..2].copy_from_slice(&ABORTED_TXN_VERSION.to_be_bytes());
        buf[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        buf[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        buf[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        buf[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        buf
    }

    /// Reads one entry; `None` for a version this code does not know.
    pub fn decode(buf: &[u8; ABORTED_TXN_SIZE]) -> Option<AbortedTxn> {
        let i64_at = |at: usize| i64::from_be_bytes(buf[at..at + 8].try_into().expect("8 bytes"));
        (i16::from_be_bytes([buf[0], buf[1]]) == ABORTED_TXN_VERSION).then(|| AbortedTxn {
            producer_id: i64_at(2),
            first_offset: i64_at(10),
            last_offset: i64_at(18),
            last_stable_offset: i64_at(26),
        })
    }
}

/// A segment's aborted transactions, kept in memory and mirrored to its
/// `.txnindex` file (Kafka reads the file on each search; the entries are few).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionIndex {
    base_offset: i64,
    entries: Vec<AbortedTxn>,
}

impl TransactionIndex {
    pub fn new(base_offset: i64) -> Self {
        TransactionIndex { base_offset, entries: Vec::new() }
    }

    /// Reads an index file, or `None` if it is not one this segment could
    /// have written (Kafka's `sanityCheck` and more): a torn entry, an unknown
    /// version, a marker below the segment or out of order. The segment is
    /// then recovered, which rebuilds it.
    pub fn parse(base_offset: i64, bytes: &[u8]) -> Option<Self> {
        if bytes.len() % ABORTED_TXN_SIZE != 0 {
            return None;
        }
        let mut index = TransactionIndex::new(base_offset);
        for chunk in bytes.chunks_exact(ABORTED_TXN_SIZE) {
            let txn = AbortedTxn::decode(chunk.try_into().expect("exact chunks"))?;
            let in_order = index.entries.last().is_none_or(|last| last.last_offset < txn.last_offset);
            if txn.last_offset < base_offset || !in_order {
                return None;
            }
            index.entries.push(txn);
        }
        Some(index)
    }

    /// Reads the segment's index file; an empty index if there is none.
    pub fn read<S: Storage>(storage: &S, base_offset: i64) -> Result<Option<Self>> {
        Ok(match storage.read_file(&txn_index_file_name(base_offset))? {
            None => Some(TransactionIndex::new(base_offset)),
            Some(bytes) => Self::parse(base_offset, &bytes),
        })
    }

    pub fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }

    // ANCHOR: append
    /// Appends an entry to the file, creating it at the first one. Markers
    /// come in offset order, so an entry at or below the last is a bug.
    pub fn append<S: Storage>(&mut self, storage: &mut S, txn: AbortedTxn) -> Result<()> {
        if let Some(last) = self.entries.last() {
            assert!(txn.last_offset > last.last_offset, "aborted transactions are indexed in marker order");
        }
        let name = txn_index_file_name(self.base_offset);
        if !storage.exists(&name) {
            storage.create(&name)?;
        }
        storage.append(&name, &txn.encode())?;
        self.entries.push(txn);
        Ok(())
    }
    // ANCHOR_END: append

    /// Drops the entries whose marker is at or after `offset` (Kafka's
    /// `truncateTo`): the log no longer holds them.
    pub fn truncate_to<S: Storage>(&mut self, storage: &mut S, offset: i64) -> Result<()> {
        let keep = self.entries.partition_point(|t| t.last_offset < offset);
        if keep < self.entries.len() {
            self.entries.truncate(keep);
            storage.truncate(&txn_index_file_name(self.base_offset), (keep * ABORTED_TXN_SIZE) as u64)?;
        }
        Ok(())
    }

    /// Forgets every entry and deletes the file (Kafka's `reset`): recovery
    /// writes it again from the log.
    pub fn reset<S: Storage>(&mut self, storage: &mut S) -> Result<()> {
        self.entries.clear();
        let name = txn_index_file_name(self.base_offset);
        if storage.exists(&name) {
            storage.remove(&name)?;
        }
        Ok(())
    }

    /// Makes the file durable, if there is one.
    pub fn flush<S: Storage>(&self, storage: &mut S) -> Result<()> {
        let name = txn_index_file_name(self.base_offset);
        if storage.exists(&name) {
            storage.sync(&name)?;
        }
        Ok(())
    }

    // ANCHOR: collect
    /// The aborted transactions that overlap `[fetch_offset, upper_bound)`,
    /// and whether the search is complete: an entry whose LSO reaches the
    /// upper bound proves that no later marker belongs to a transaction in
    /// range (Kafka's `collectAbortedTxns`).
    pub fn collect_aborted_txns(&self, fetch_offset: i64, upper_bound: i64) -> (Vec<AbortedTxn>, bool) {
        let mut found = Vec::new();
        for txn in &self.entries {
            if txn.last_offset >= fetch_offset && txn.first_offset < upper_bound {
                found.push(*txn);
            }
            if txn.last_stable_offset >= upper_bound {
                return (found, true);
            }
        }
        (found, false)
    }
    // ANCHOR_END: collect
}

#[cfg(test)]
mod tests;
