use super::*;
use crate::format::{BatchBuilder, RecordBatchMut};

/// A transactional gzip batch of three records at offsets 100..=102, from
/// producer 7 (epoch 2, base sequence 40), stamped with leader epoch 5.
fn three_records() -> RecordBatch {
    let mut builder = BatchBuilder::new(Compression::Gzip).producer(7, 2, 40).transactional(true);
    builder.append(1_000, Some(b"a"), Some(b"1"), &[("h", Some(b"x"))]);
    builder.append(1_005, Some(b"b"), None, &[]);
    builder.append(1_003, Some(b"c"), Some(b"3"), &[]);
    let mut buf = builder.build().as_bytes().to_vec();
    let mut batch = RecordBatchMut::new(&mut buf).unwrap();
    batch.set_base_offset(100);
    batch.set_partition_leader_epoch(5);
    RecordBatch::from_bytes(Bytes::from(buf)).unwrap()
}

// A rewritten batch is the same batch with records missing, as Kafka's
// `buildRetainedRecordsInto` writes it: offsets, last offset delta, producer
// fields, leader epoch, codec and flags kept; count, CRC and maxTimestamp new.
#[test]
fn a_retained_batch_keeps_the_header_and_the_kept_records() {
    let original = three_records();
    let records = original.decode_records().unwrap();
    let kept = retained_batch(&original, &[records[0].clone()], None);

    kept.validate().unwrap();
    assert_eq!(kept.base_offset(), 100);
    assert_eq!(kept.last_offset(), 102, "the last offset survives its record");
    assert_eq!(kept.last_sequence(), original.last_sequence());
    assert_eq!(kept.partition_leader_epoch(), 5);
    assert_eq!((kept.producer_id(), kept.producer_epoch(), kept.base_sequence()), (7, 2, 40));
    assert_eq!(kept.compression().unwrap(), Compression::Gzip);
    assert!(kept.is_transactional() && !kept.is_control() && !kept.has_delete_horizon());
    assert_eq!(kept.records_count(), 1);
    assert_eq!(kept.max_timestamp(), 1_000, "maxTimestamp of the kept records only");
    assert_eq!(kept.decode_records().unwrap(), vec![records[0].clone()]);
}

// KIP-534: the delete horizon is attribute bit 6 with the horizon in
// baseTimestamp, and each record's timestamp still reads back unchanged
// because its delta is counted from the horizon.
#[test]
fn a_delete_horizon_rebases_the_record_timestamps() {
    let original = three_records();
    let records = original.decode_records().unwrap();
    let kept = retained_batch(&original, &records[1..], Some(90_000));

    assert!(kept.has_delete_horizon());
    assert_eq!(kept.delete_horizon_ms(), Some(90_000));
    assert_eq!(kept.base_timestamp(), 90_000);
    assert_eq!(kept.max_timestamp(), 1_005);
    let without_size = |r: &Record| (r.offset, r.timestamp, r.sequence, r.key.clone(), r.value.clone());
    let read: Vec<_> = kept.decode_records().unwrap().iter().map(without_size).collect();
    assert_eq!(
        read,
        records[1..].iter().map(without_size).collect::<Vec<_>>(),
        "a record's size grows with its delta"
    );
}

// Kafka's `writeEmptyHeader`: a batch whose records all went keeps its
// offsets, producer id, epoch and base sequence, with no codec and no records.
#[test]
fn an_empty_batch_is_a_bare_header_of_the_same_producer() {
    let original = three_records();
    let empty = empty_batch(&original);

    empty.validate().unwrap();
    assert_eq!(empty.size_in_bytes(), HEADER_SIZE);
    assert_eq!((empty.base_offset(), empty.last_offset()), (100, 102));
    assert_eq!((empty.producer_id(), empty.producer_epoch(), empty.base_sequence()), (7, 2, 40));
    assert_eq!(empty.last_sequence(), 42);
    assert_eq!(empty.partition_leader_epoch(), 5);
    assert_eq!(empty.compression().unwrap(), Compression::None);
    assert_eq!((empty.base_timestamp(), empty.max_timestamp()), (NO_TIMESTAMP, 1_005));
    assert!(empty.is_transactional());
    assert_eq!(empty.records_count(), 0);
    assert!(empty.decode_records().unwrap().is_empty());
}
