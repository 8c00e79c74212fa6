//! The `.txnindex` format byte for byte, its refusals, truncation and search.

use super::*;
use crate::log::storage::MemStorage;

fn txn(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
    AbortedTxn { producer_id: pid, first_offset: first, last_offset: last, last_stable_offset: lso }
}

// One entry is Kafka's 34 bytes: version int16 0, then producer id, first
// offset, last offset and LSO as big-endian int64s (`AbortedTxn.java`).
#[test]
fn an_entry_is_kafkas_34_bytes() {
    let entry = txn(0x0102_0304_0506_0708, 10, 13, 14);
    let mut expected = vec![0, 0];
    expected.extend([1, 2, 3, 4, 5, 6, 7, 8]);
    expected.extend([0, 0, 0, 0, 0, 0, 0, 10]);
    expected.extend([0, 0, 0, 0, 0, 0, 0, 13]);
    expected.extend([0, 0, 0, 0, 0, 0, 0, 14]);
    assert_eq!(entry.encode().to_vec(), expected);
    assert_eq!(AbortedTxn::decode(&entry.encode()), Some(entry));
    let mut newer = entry.encode();
    newer[1] = 1;
    assert_eq!(AbortedTxn::decode(&newer), None, "an unknown version is refused");
}

// The file is the entries back to back, created at the first one.
#[test]
fn the_file_is_the_entries_in_marker_order() {
    let mut storage = MemStorage::new();
    let mut index = TransactionIndex::new(100);
    index.truncate_to(&mut storage, 0).unwrap();
    assert!(!storage.exists(&txn_index_file_name(100)), "no entry, no file");
    index.append(&mut storage, txn(1, 90, 101, 102)).unwrap();
    index.append(&mut storage, txn(2, 103, 105, 106)).unwrap();
    let bytes = storage.read_file("00000000000000000100.txnindex").unwrap().unwrap();
    assert_eq!(bytes, [txn(1, 90, 101, 102).encode(), txn(2, 103, 105, 106).encode()].concat());
    assert_eq!(TransactionIndex::read(&storage, 100).unwrap(), Some(index));
}

// A torn entry, an unknown version, a marker below the segment or out of
// order: not a file this segment wrote, so the segment is recovered.
#[test]
fn damaged_files_are_refused() {
    let good = [txn(1, 90, 101, 102).encode(), txn(2, 103, 105, 106).encode()].concat();
    assert!(TransactionIndex::parse(100, &good).is_some());
    assert!(TransactionIndex::parse(100, &good[..good.len() - 1]).is_none(), "torn");
    assert!(TransactionIndex::parse(106, &good).is_none(), "a marker below the segment");
    let reversed = [txn(2, 103, 105, 106).encode(), txn(1, 90, 101, 102).encode()].concat();
    assert!(TransactionIndex::parse(100, &reversed).is_none(), "out of order");
    let mut newer = good.clone();
    newer[1] = 1;
    assert!(TransactionIndex::parse(100, &newer).is_none(), "unknown version");
}

// Truncation drops the entries whose marker is at or after the cut, in the
// file too (Kafka's `truncateTo`).
#[test]
fn truncation_cuts_the_entries_at_and_after_the_offset() {
    let mut storage = MemStorage::new();
    let mut index = TransactionIndex::new(0);
    for (i, last) in [3, 7, 9].into_iter().enumerate() {
        index.append(&mut storage, txn(i as i64, last - 1, last, last + 1)).unwrap();
    }
    index.truncate_to(&mut storage, 8).unwrap();
    assert_eq!(index.entries(), [txn(0, 2, 3, 4), txn(1, 6, 7, 8)]);
    assert_eq!(storage.len(&txn_index_file_name(0)).unwrap(), 2 * ABORTED_TXN_SIZE as u64);
    index.truncate_to(&mut storage, 7).unwrap();
    assert_eq!(index.entries(), [txn(0, 2, 3, 4)]);
}

// The search returns the entries overlapping [fetch, upper) and stops at the
// first whose LSO reaches the upper bound (Kafka's `collectAbortedTxns`).
#[test]
fn the_search_returns_overlapping_entries_and_stops_at_the_lso() {
    let mut storage = MemStorage::new();
    let mut index = TransactionIndex::new(0);
    index.append(&mut storage, txn(1, 0, 4, 2)).unwrap(); // p2 open from 2 when p1 aborted
    index.append(&mut storage, txn(2, 2, 8, 9)).unwrap();
    index.append(&mut storage, txn(3, 9, 12, 13)).unwrap();
    assert_eq!(index.collect_aborted_txns(5, 9), (vec![txn(2, 2, 8, 9)], true));
    assert_eq!(index.collect_aborted_txns(0, 3), (vec![txn(1, 0, 4, 2), txn(2, 2, 8, 9)], true));
    assert_eq!(
        index.collect_aborted_txns(9, 20),
        (vec![txn(3, 9, 12, 13)], false),
        "a later segment may hold more"
    );
}
