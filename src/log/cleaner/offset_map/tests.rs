use std::hash::{BuildHasherDefault, Hasher};

use bytes::Bytes;

use super::*;
use crate::format::{BatchBuilder, RecordBatchMut};
use crate::idempotence::EndTxnMarker;
use crate::log::txn_index::AbortedTxn;

/// A hasher under which every key collides.
#[derive(Default)]
struct Constant;

impl Hasher for Constant {
    fn finish(&self) -> u64 {
        7
    }
    fn write(&mut self, _: &[u8]) {}
}

/// A data batch at `base` with one record per key, value "v".
fn batch(base: i64, keys: &[&str], transactional_pid: Option<i64>) -> RecordBatch {
    let mut builder = BatchBuilder::default();
    if let Some(pid) = transactional_pid {
        builder = builder.producer(pid, 0, 0).transactional(true);
    }
    for key in keys {
        builder.append(0, Some(key.as_bytes()), Some(b"v"), &[]);
    }
    at(base, builder.build())
}

fn at(base: i64, batch: RecordBatch) -> RecordBatch {
    let mut buf = batch.as_bytes().to_vec();
    RecordBatchMut::new(&mut buf).unwrap().set_base_offset(base);
    RecordBatch::from_bytes(Bytes::from(buf)).unwrap()
}

// Offsets are fed in increasing order and the last put for a key is the one
// the map answers: the latest offset wins, as in Kafka's buildOffsetMap.
#[test]
fn the_latest_offset_of_a_key_wins() {
    let mut map = OffsetMap::new(1 << 10, DEFAULT_LOAD_FACTOR);
    assert_eq!(map.put(b"k1", 3), MapProgress::Continue);
    assert_eq!(map.put(b"k2", 4), MapProgress::Continue);
    assert_eq!(map.put(b"k1", 9), MapProgress::Continue);
    assert_eq!(map.get(b"k1"), Some(9));
    assert_eq!(map.get(b"k2"), Some(4));
    assert_eq!(map.get(b"k3"), None);
    assert_eq!((map.len(), map.latest_offset()), (2, 9));
}

// The budget is `dedupe.buffer.size × load factor` bytes: a new key that does
// not fit is refused with Full and not stored, while keys already in the map
// still take newer offsets (they cost nothing more).
#[test]
fn a_full_map_refuses_new_keys_but_updates_known_ones() {
    let entry = 2 + ENTRY_OVERHEAD_BYTES; // a two-byte key
    let mut map = OffsetMap::new(((3 * entry) as f64 / 0.9).ceil() as usize, 0.9);
    for (i, key) in [b"k1", b"k2", b"k3"].into_iter().enumerate() {
        assert_eq!(map.put(key, i as i64), MapProgress::Continue);
    }
    assert_eq!(map.put(b"k4", 3), MapProgress::Full);
    assert_eq!(map.get(b"k4"), None, "a refused key is not stored");
    assert_eq!(map.latest_offset(), 2, "a refused key does not move the latest offset");
    assert_eq!(map.put(b"k1", 4), MapProgress::Continue);
    assert_eq!(map.get(b"k1"), Some(4));
    assert!((map.utilization() - 1.0).abs() < 1e-9);
}

// Kafka's SkimpyOffsetMap keeps only an MD5 of each key, so colliding keys
// share an entry and one key's latest record could be dropped for the
// other's. This map compares whole keys: with a hasher under which every key
// collides, each still has its own latest offset.
#[test]
fn colliding_hashes_never_merge_two_keys() {
    let mut map = OffsetMap::with_hasher(1 << 10, 0.9, BuildHasherDefault::<Constant>::default());
    map.put(b"alice", 1);
    map.put(b"bob", 2);
    map.put(b"carol", 3);
    assert_eq!(map.get(b"alice"), Some(1));
    assert_eq!(map.get(b"bob"), Some(2));
    assert_eq!(map.get(b"carol"), Some(3));
    assert_eq!(map.get(b"dave"), None);
}

// buildOffsetMap: records of an aborted transaction and records below the
// first dirty offset are not mapped, but the latest offset still moves over
// every batch of the dirty range, markers included.
#[test]
fn the_builder_skips_aborted_records_and_the_clean_part() {
    let abort = EndTxnMarker { is_abort: true, coordinator_epoch: 0 };
    let (key, value) = abort.encode();
    let mut marker = BatchBuilder::default().producer(9, 0, -1).transactional(true).control(true);
    marker.append(0, Some(&key), Some(&value), &[]);
    let context = FilterContext {
        aborted_txns: vec![AbortedTxn {
            producer_id: 9,
            first_offset: 2,
            last_offset: 3,
            last_stable_offset: 2,
        }],
        ..FilterContext::default()
    };
    let mut map = OffsetMap::new(1 << 10, DEFAULT_LOAD_FACTOR);
    let mut builder = MapBuilder::new(&mut map, &context, 1);
    for b in [
        batch(0, &["clean"], None),
        batch(1, &["k1"], None),
        batch(2, &["aborted"], Some(9)),
        at(3, marker.build()),
    ] {
        assert_eq!(builder.add(&b).unwrap(), MapProgress::Continue);
    }
    assert_eq!(map.get(b"clean"), None, "below the first dirty offset");
    assert_eq!(map.get(b"k1"), Some(1));
    assert_eq!(map.get(b"aborted"), None, "aborted records are never the latest");
    assert_eq!(map.latest_offset(), 3, "the marker's offset is covered");
}

// When the map fills in the middle of a batch, it covers exactly the records
// before the refused key: the filter keeps everything after that as it is.
#[test]
fn a_full_builder_stops_at_the_refused_record() {
    let entry = 2 + ENTRY_OVERHEAD_BYTES;
    let mut map = OffsetMap::new(2 * entry, 1.0);
    let context = FilterContext::default();
    let mut builder = MapBuilder::new(&mut map, &context, 0);
    assert_eq!(builder.add(&batch(0, &["k1", "k2", "k3", "k4"], None)).unwrap(), MapProgress::Full);
    assert_eq!(map.latest_offset(), 1);
    assert_eq!((map.get(b"k2"), map.get(b"k3")), (Some(1), None));
}

// A corrupt batch is an error for the caller to stop on, never a panic.
#[test]
fn the_builder_refuses_a_corrupt_batch() {
    let good = batch(0, &["k1"], None);
    let mut bytes = good.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let (bad, _) = RecordBatch::parse(&Bytes::from(bytes)).unwrap();
    let mut map = OffsetMap::new(1 << 10, DEFAULT_LOAD_FACTOR);
    let context = FilterContext::default();
    let err = MapBuilder::new(&mut map, &context, 0).add(&bad).unwrap_err();
    assert_eq!(err.kafka_error_code(), 2, "CORRUPT_MESSAGE: {err}");
}
