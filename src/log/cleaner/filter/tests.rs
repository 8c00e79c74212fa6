//! One test per rule of the filter, each on a small log written by hand.

use bytes::Bytes;

use super::*;
use crate::format::{BatchBuilder, Compression, RecordBatchMut};
use crate::idempotence::EndTxnMarker;
use crate::log::cleaner::offset_map::{MapBuilder, MapProgress, DEFAULT_LOAD_FACTOR};

const RETENTION_MS: i64 = 1_000;

fn at(base: i64, batch: RecordBatch) -> RecordBatch {
    let mut buf = batch.as_bytes().to_vec();
    RecordBatchMut::new(&mut buf).unwrap().set_base_offset(base);
    RecordBatch::from_bytes(Bytes::from(buf)).unwrap()
}

/// A batch at `base` of `(key, value)` records, timestamps 100, 101, ...
fn data(base: i64, builder: BatchBuilder, records: &[(Option<&str>, Option<&str>)]) -> RecordBatch {
    let mut builder = builder;
    for (i, (key, value)) in records.iter().enumerate() {
        builder.append(100 + i as i64, key.map(str::as_bytes), value.map(str::as_bytes), &[]);
    }
    at(base, builder.build())
}

fn plain(base: i64, records: &[(Option<&str>, Option<&str>)]) -> RecordBatch {
    data(base, BatchBuilder::default(), records)
}

fn txn(base: i64, producer_id: i64, records: &[(Option<&str>, Option<&str>)]) -> RecordBatch {
    data(base, BatchBuilder::default().producer(producer_id, 0, 0).transactional(true), records)
}

fn marker(base: i64, producer_id: i64, abort: bool) -> RecordBatch {
    let (key, value) = EndTxnMarker { is_abort: abort, coordinator_epoch: 0 }.encode();
    let mut builder = BatchBuilder::default().producer(producer_id, 0, -1).transactional(true).control(true);
    builder.append(100, Some(&key), Some(&value), &[]);
    at(base, builder.build())
}

fn context(log: &[RecordBatch], now_ms: i64) -> FilterContext {
    FilterContext {
        delete_retention_ms: RETENTION_MS,
        now_ms,
        round_end_offset: log.last().map_or(0, RecordBatch::next_offset) + 1000,
        ..FilterContext::default()
    }
}

/// One cleaning of the whole log: map every batch, then filter every batch.
fn clean(log: &[RecordBatch], context: &FilterContext) -> Vec<RecordBatch> {
    let mut map = OffsetMap::new(1 << 16, DEFAULT_LOAD_FACTOR);
    let mut builder = MapBuilder::new(&mut map, context, 0);
    for batch in log {
        assert_eq!(builder.add(batch).unwrap(), MapProgress::Continue);
    }
    let mut filter = BatchFilter::new(&map, context);
    let out = log.iter().filter_map(|b| filter.filter(b).unwrap());
    out.map(|bytes| RecordBatch::from_bytes(bytes).unwrap()).collect()
}

/// `(offset, key, value)` of every record left.
fn records(log: &[RecordBatch]) -> Vec<(i64, Option<String>, Option<String>)> {
    let text = |b: &Option<Bytes>| b.as_ref().map(|b| String::from_utf8(b.to_vec()).unwrap());
    let all = log.iter().flat_map(|b| b.decode_records().unwrap());
    all.map(|r| (r.offset, text(&r.key), text(&r.value))).collect()
}

fn kv(offset: i64, key: &str, value: &str) -> (i64, Option<String>, Option<String>) {
    (offset, Some(key.into()), Some(value.into()))
}

// Compaction's one promise: for each key the record at its latest offset
// stays, at that same offset, and older ones go (LogCleaner.shouldRetainRecord).
#[test]
fn the_latest_record_of_each_key_stays_at_its_offset() {
    let log =
        [plain(0, &[(Some("k1"), Some("a")), (Some("k2"), Some("b"))]), plain(2, &[(Some("k1"), Some("c"))])];
    let out = clean(&log, &context(&log, 0));
    assert_eq!(records(&out), vec![kv(1, "k2", "b"), kv(2, "k1", "c")]);
    assert_eq!((out[0].base_offset(), out[0].last_offset()), (0, 1), "a rewritten batch keeps its offsets");
}

// The map covers the dirty range only: a key absent from it lives in the
// clean part and is kept; one present there is dropped from the clean part.
#[test]
fn keys_outside_the_dirty_range_are_kept() {
    let log = [
        plain(0, &[(Some("old"), Some("a")), (Some("k1"), Some("b"))]),
        plain(2, &[(Some("k1"), Some("c"))]),
    ];
    let context = context(&log, 0);
    let mut map = OffsetMap::new(1 << 16, DEFAULT_LOAD_FACTOR);
    let mut builder = MapBuilder::new(&mut map, &context, 2);
    for batch in &log {
        builder.add(batch).unwrap();
    }
    let mut filter = BatchFilter::new(&map, &context);
    let out: Vec<_> = log
        .iter()
        .filter_map(|b| filter.filter(b).unwrap())
        .map(|b| RecordBatch::from_bytes(b).unwrap())
        .collect();
    assert_eq!(records(&out), vec![kv(0, "old", "a"), kv(2, "k1", "c")]);
}

// Kafka counts a keyless record in a compacted log as invalid and the
// cleaner removes it (shouldRetainRecord's `stats.invalidMessage()`).
#[test]
fn keyless_records_are_removed() {
    let log = [plain(0, &[(None, Some("a")), (Some("k1"), Some("b"))])];
    assert_eq!(records(&clean(&log, &context(&log, 0))), vec![kv(1, "k1", "b")]);
}

// filterTo writes a batch whose records all stay back as it was: the very
// bytes, not a re-compressed copy (the output shares the input's buffer).
#[test]
fn an_unchanged_batch_is_written_back_byte_for_byte() {
    let batch =
        data(0, BatchBuilder::new(Compression::Zstd), &[(Some("k1"), Some("a")), (Some("k2"), Some("b"))]);
    let context = context(std::slice::from_ref(&batch), 0);
    let mut map = OffsetMap::new(1 << 16, DEFAULT_LOAD_FACTOR);
    MapBuilder::new(&mut map, &context, 0).add(&batch).unwrap();
    let out = BatchFilter::new(&map, &context).filter(&batch).unwrap().unwrap();
    assert_eq!(out.as_ptr(), batch.as_bytes().as_ptr(), "not re-encoded");
    assert_eq!(out.len(), batch.size_in_bytes());
}

// A compressed batch that loses records is re-compressed with its own codec.
#[test]
fn a_rewritten_batch_keeps_its_codec() {
    let log = [
        data(0, BatchBuilder::new(Compression::Lz4), &[(Some("k1"), Some("a")), (Some("k2"), Some("b"))]),
        plain(2, &[(Some("k1"), Some("c"))]),
    ];
    let out = clean(&log, &context(&log, 0));
    assert_eq!(out[0].compression().unwrap(), Compression::Lz4);
    assert_eq!(records(&out), vec![kv(1, "k2", "b"), kv(2, "k1", "c")]);
}

// KIP-534: the first cleaning keeps a tombstone and stamps its batch with the
// delete horizon now + delete.retention.ms (bit 6, in baseTimestamp), record
// timestamps unchanged; a cleaning before the horizon keeps it; one at the
// horizon removes it.
#[test]
fn a_tombstone_lives_until_its_delete_horizon() {
    let log =
        [plain(0, &[(Some("k1"), Some("a"))]), plain(1, &[(Some("k1"), None), (Some("k2"), Some("b"))])];
    let first = clean(&log, &context(&log, 5_000));
    assert_eq!(records(&first), vec![(1, Some("k1".into()), None), kv(2, "k2", "b")]);
    assert_eq!(first[0].delete_horizon_ms(), Some(5_000 + RETENTION_MS));
    let times: Vec<i64> = first[0].decode_records().unwrap().iter().map(|r| r.timestamp).collect();
    assert_eq!(times, vec![100, 101], "timestamps re-based on the horizon read the same");

    let before = clean(&first, &context(&first, 5_000 + RETENTION_MS - 1));
    assert_eq!(records(&before), records(&first));
    let after = clean(&first, &context(&first, 5_000 + RETENTION_MS));
    assert_eq!(records(&after), vec![kv(2, "k2", "b")]);
}

// Records of an aborted transaction go (onBatchRead); its ABORT marker stays
// while a batch of it was seen, and is listed for the cleaned .txnindex; the
// next cleaning stamps the marker with a delete horizon, and one after the
// horizon removes it (onControlBatchRead, checkBatchRetention).
#[test]
fn aborted_records_go_and_their_marker_after_its_horizon() {
    let aborted = AbortedTxn { producer_id: 9, first_offset: 1, last_offset: 2, last_stable_offset: 1 };
    let log =
        [plain(0, &[(Some("k1"), Some("a"))]), txn(1, 9, &[(Some("k1"), Some("x"))]), marker(2, 9, true)];
    let mut context = context(&log, 0);
    context.aborted_txns = vec![aborted];

    let mut map = OffsetMap::new(1 << 16, DEFAULT_LOAD_FACTOR);
    let mut builder = MapBuilder::new(&mut map, &context, 0);
    log.iter().for_each(|b| assert_eq!(builder.add(b).unwrap(), MapProgress::Continue));
    let mut filter = BatchFilter::new(&map, &context);
    let first: Vec<_> = log
        .iter()
        .filter_map(|b| filter.filter(b).unwrap())
        .map(|b| RecordBatch::from_bytes(b).unwrap())
        .collect();
    assert_eq!(filter.take_retained_aborted_txns(), vec![aborted]);
    assert_eq!(first.len(), 2);
    assert_eq!(
        records(&first[..1]),
        vec![kv(0, "k1", "a")],
        "the aborted value never shadows the committed one"
    );
    assert!(first[1].is_control() && !first[1].has_delete_horizon());

    let second = clean(&first, &context);
    assert_eq!(
        second[1].delete_horizon_ms(),
        Some(RETENTION_MS),
        "no batch left: the marker's horizon is set"
    );
    let mut later = context.clone();
    later.now_ms = RETENTION_MS;
    let third = clean(&second, &later);
    assert_eq!(third.len(), 1, "the marker is gone after its horizon: {third:?}");
}

// A COMMIT marker stays while a batch of its transaction is in the log; once
// compaction has removed them all, it gets a horizon and then goes.
#[test]
fn a_commit_marker_stays_while_its_transaction_has_batches() {
    let log =
        [txn(0, 9, &[(Some("k1"), Some("a"))]), marker(1, 9, false), plain(2, &[(Some("k2"), Some("b"))])];
    let first = clean(&log, &context(&log, 0));
    assert_eq!(first.len(), 3);
    assert!(!first[1].has_delete_horizon(), "its batch is still there");

    let overwritten = [first.clone(), vec![plain(3, &[(Some("k1"), Some("c"))])]].concat();
    let second = clean(&overwritten, &context(&overwritten, 0));
    assert!(second[0].is_control(), "the data batch went, the marker stays: {second:?}");
    let third = clean(&second, &context(&second, 0));
    assert_eq!(third[0].delete_horizon_ms(), Some(RETENTION_MS));
    let fourth = clean(&third, &context(&third, RETENTION_MS));
    assert_eq!(records(&fourth), vec![kv(2, "k2", "b"), kv(3, "k1", "c")]);
}

// isBatchLastRecordOfProducer: the batch holding a producer's last data
// offset stays, emptied, with its producer id, epoch and base sequence, so
// the producer table rebuilt from the log keeps the last sequence.
#[test]
fn a_producers_last_batch_stays_as_an_empty_batch() {
    let idempotent = data(0, BatchBuilder::default().producer(5, 3, 17), &[(Some("k1"), Some("a"))]);
    let log = [idempotent, plain(1, &[(Some("k1"), Some("b"))])];
    let mut context = context(&log, 0);
    context.producers.insert(5, ProducerLastRecord { last_data_offset: Some(0), producer_epoch: 3 });
    let out = clean(&log, &context);
    assert_eq!(out.len(), 2);
    let empty = &out[0];
    assert_eq!((empty.producer_id(), empty.producer_epoch(), empty.base_sequence()), (5, 3, 17));
    assert_eq!((empty.records_count(), empty.last_offset(), empty.last_sequence()), (0, 0, 17));

    context.producers.clear();
    assert_eq!(clean(&log, &context).len(), 1, "a producer no longer in the table keeps nothing");
}

// A producer whose last entry is a marker keeps that marker of its current
// epoch, even past its horizon: the epoch fences older producers.
#[test]
fn a_producers_last_marker_of_its_epoch_stays() {
    let log = [marker(0, 9, false), plain(1, &[(Some("k2"), Some("b"))])];
    let mut context = context(&log, 0);
    context.producers.insert(9, ProducerLastRecord { last_data_offset: None, producer_epoch: 0 });
    let stamped = clean(&log, &context);
    context.now_ms = RETENTION_MS;
    let out = clean(&stamped, &context);
    assert_eq!(out.len(), 2);
    assert!(out[0].is_control() && out[0].records_count() == 0, "kept as an empty marker batch");
}

// The batch that ends at the round's end offset stays even if emptied, so
// the log's next offset is not lost (checkBatchRetention).
#[test]
fn the_last_batch_of_the_round_stays_even_empty() {
    let log = [plain(0, &[(Some("k1"), Some("a"))]), plain(1, &[(Some("k1"), Some("b"))])];
    let mut context = context(&log, 0);
    context.round_end_offset = 1;
    let out = clean(&log, &context);
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].records_count(), out[0].last_offset()), (0, 0));
}

// A batch that fails its CRC, or whose records do not decode, is
// CORRUPT_MESSAGE for the driver to stop on — never a panic.
#[test]
fn a_corrupt_batch_is_an_error() {
    let good = plain(0, &[(Some("k1"), Some("a"))]);
    let map = OffsetMap::new(1 << 10, DEFAULT_LOAD_FACTOR);
    let context = context(std::slice::from_ref(&good), 0);
    let mut bad_crc = good.as_bytes().to_vec();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xff;
    let mut bad_count = good.as_bytes().to_vec();
    bad_count[crate::format::batch::field::RECORDS_COUNT + 3] = 2;
    let crc = crc32c::crc32c(&bad_count[crate::format::batch::field::ATTRIBUTES..]);
    bad_count[crate::format::batch::field::CRC..crate::format::batch::field::CRC + 4]
        .copy_from_slice(&crc.to_be_bytes());
    for bytes in [bad_crc, bad_count] {
        let (bad, _) = RecordBatch::parse(&Bytes::from(bytes)).unwrap();
        let err = BatchFilter::new(&map, &context).filter(&bad).unwrap_err();
        assert_eq!(err.kafka_error_code(), 2, "{err}");
    }
}
