//! The snapshot format byte for byte, its round trip, its refusals, and
//! recovery from a snapshot plus the log after it.

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::format::batch::RecordBatchMut;
use crate::format::BatchBuilder;
use crate::idempotence::{BatchInfo, ProducerError, Validated};

/// A batch of `records` records as the log stores it, at `base_offset`.
fn log_batch(producer: (i64, i16, i32), records: usize, base_offset: i64) -> RecordBatch {
    let (producer_id, epoch, seq) = producer;
    let mut builder = BatchBuilder::default().producer(producer_id, epoch, seq);
    for i in 0..records {
        builder.append(10 * base_offset + i as i64, None, Some(b"v"), &[]);
    }
    let mut buf = BytesMut::from(&builder.build().as_bytes()[..]);
    RecordBatchMut::new(&mut buf).expect("one batch").set_base_offset(base_offset);
    RecordBatch::from_bytes(buf.freeze()).expect("a valid batch")
}

/// A log: producer 1 writes seven batches, producer 2 two (the second at a new
/// epoch), and a plain producer one, interleaved.
fn a_log() -> Vec<RecordBatch> {
    let mut log = Vec::new();
    let mut offset = 0;
    let mut push = |producer, records| {
        log.push(log_batch(producer, records, offset));
        offset += records as i64;
    };
    for i in 0..7 {
        push((1, 0, 2 * i), 2);
        if i == 2 {
            push((2, 5, 0), 1);
            push((-1, -1, -1), 3);
        }
    }
    push((2, 6, 0), 1);
    log
}

fn state_of(batches: &[RecordBatch]) -> ProducerStateManager {
    let mut state = ProducerStateManager::new(ProducerStateConfig::default());
    for batch in batches {
        state.update(&BatchInfo::of(batch), batch.base_offset());
    }
    state
}

// The bytes Kafka's `writeSnapshot` produces for one producer, field by field
// (PID_SNAPSHOT_MAP_SCHEMA, ProducerStateManager.java).
#[test]
fn kafka_format() {
    let state = state_of(&[log_batch((77, 3, 40), 4, 100)]);
    let bytes = encode_snapshot(&state);
    let mut expected = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
    expected.extend(77i64.to_be_bytes()); // producer_id
    expected.extend(3i16.to_be_bytes()); // epoch
    expected.extend(43i32.to_be_bytes()); // last_sequence
    expected.extend(103i64.to_be_bytes()); // last_offset
    expected.extend(3i32.to_be_bytes()); // offset_delta
    expected.extend(1003i64.to_be_bytes()); // timestamp: the batch's max
    expected.extend((-1i32).to_be_bytes()); // coordinator_epoch
    expected.extend((-1i64).to_be_bytes()); // current_txn_first_offset
    let crc = crc32c::crc32c(&expected[6..]);
    expected[2..6].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(&bytes[..], &expected[..]);
    assert_eq!(bytes.len(), 10 + ENTRY_SIZE);
    assert_eq!(snapshot_file_name(8312), "00000000000000008312.snapshot");
    assert_eq!(parse_snapshot_file_name("00000000000000008312.snapshot"), Some(8312));
    assert_eq!(parse_snapshot_file_name("8312.snapshot"), None);
    assert_eq!(parse_snapshot_file_name("00000000000000008312.log"), None);
}

// A snapshot reads back as the state it was taken from, each producer
// reduced to its last batch: what Kafka's snapshot holds.
#[test]
fn round_trip_keeps_the_last_batch_of_each_producer() {
    let state = state_of(&a_log());
    let entries = decode_snapshot(&encode_snapshot(&state)).expect("decodes");
    assert_eq!(entries.len(), 2);
    for (read, written) in entries.iter().zip(state.producers()) {
        assert_eq!(read.producer_id, written.producer_id);
        assert_eq!(read.producer_epoch, written.producer_epoch);
        assert_eq!(read.last_timestamp, written.last_timestamp);
        assert_eq!(read.batches().copied().collect::<Vec<_>>(), vec![*written.last_batch().unwrap()]);
    }
    assert_eq!(state.entry(1).unwrap().batches().len(), 5);
}

// An empty table is a valid snapshot too: ten bytes.
#[test]
fn an_empty_table_round_trips() {
    let state = ProducerStateManager::new(ProducerStateConfig::default());
    let bytes = encode_snapshot(&state);
    assert_eq!(bytes.len(), 10);
    assert_eq!(decode_snapshot(&bytes), Ok(vec![]));
}

// A damaged snapshot is refused: a flipped bit anywhere, a torn tail, a bad
// version, trailing bytes, or a huge count (which must not allocate).
#[test]
fn corrupt_snapshots_are_refused() {
    let bytes = encode_snapshot(&state_of(&a_log())).to_vec();
    for at in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        assert!(decode_snapshot(&flipped).is_err(), "a flipped bit at byte {at} went unnoticed");
    }
    for len in 0..bytes.len() {
        assert!(decode_snapshot(&bytes[..len]).is_err(), "a snapshot torn at {len} bytes was accepted");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_snapshot(&longer).is_err());

    let mut huge = vec![0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff];
    let crc = crc32c::crc32c(&huge[6..]);
    huge[2..6].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(decode_snapshot(&huge), Err(SnapshotError::Truncated { .. })));
    let mut negative = vec![0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
    let crc = crc32c::crc32c(&negative[6..]);
    negative[2..6].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(decode_snapshot(&negative), Err(SnapshotError::InvalidCount(-1)));
}

// Recovery: a snapshot at any batch boundary plus the batches after it gives
// the same table as replaying the whole log — for every producer that wrote
// after the snapshot (Kafka's `rebuildProducerState`).
#[test]
fn rebuild_equals_the_state_built_directly() {
    let log = a_log();
    let direct = state_of(&log);
    assert_eq!(rebuild(ProducerStateConfig::default(), None, &log, 0), Ok(direct.clone()));
    // Producer 1's last five batches are its 3rd to 7th: a snapshot at offset
    // 6 holds the 3rd, the replay adds the other four, so all five come back.
    let cut = 6;
    let before: Vec<_> = log.iter().filter(|b| b.base_offset() < cut).cloned().collect();
    let snapshot = encode_snapshot(&state_of(&before));
    let rebuilt = rebuild(ProducerStateConfig::default(), Some((cut, &snapshot[..])), &log, 0).unwrap();
    assert_eq!(rebuilt.entry(1), direct.entry(1));
    assert_eq!(rebuilt.entry(2), direct.entry(2));
    assert_eq!(rebuilt.map_end_offset(), direct.map_end_offset());
}

// The limit of a snapshot: a producer that wrote nothing after it comes back
// with its last batch only, so a retry of an older one is out of order.
#[test]
fn after_a_restart_only_the_last_batch_is_a_duplicate() {
    let log = a_log();
    let end = log.last().unwrap().next_offset();
    let snapshot = encode_snapshot(&state_of(&log));
    let rebuilt = rebuild(ProducerStateConfig::default(), Some((end, &snapshot[..])), &log, 0).unwrap();
    let retry = |seq| BatchInfo {
        producer_id: 1,
        producer_epoch: 0,
        base_sequence: seq,
        last_offset_delta: 1,
        max_timestamp: 0,
        is_transactional: false,
    };
    assert!(matches!(rebuilt.validate(&retry(12)), Ok(Validated::Duplicate(_))));
    assert!(matches!(rebuilt.validate(&retry(10)), Err(ProducerError::OutOfOrderSequence { .. })));
    assert!(matches!(state_of(&log).validate(&retry(10)), Ok(Validated::Duplicate(_))));
}

// A snapshot loaded at recovery drops producers idle past the expiration.
#[test]
fn rebuild_drops_expired_producers() {
    let log = a_log();
    let snapshot = encode_snapshot(&state_of(&log));
    let config = ProducerStateConfig { producer_id_expiration_ms: 100, ..ProducerStateConfig::default() };
    // Producer 1's last timestamp is 10 * 16 + 1 = 161, producer 2's 10 * 18 = 180.
    let rebuilt = rebuild(config, Some((19, &snapshot[..])), &[], 265).unwrap();
    assert_eq!(rebuilt.producers().map(|e| e.producer_id).collect::<Vec<_>>(), vec![2]);
}

proptest! {
    // Recovery from a snapshot at any batch boundary agrees with replaying the
    // whole log: the same producers, epochs, last batches and end offset, and
    // each producer's remembered batches are a suffix of the full replay's
    // (fewer only where the snapshot kept one batch of several).
    #[test]
    fn rebuild_from_any_cut_agrees_with_the_full_replay(
        batches in prop::collection::vec((prop_oneof![Just(-1i64), Just(1), Just(2)], 0i16..2, 0i32..20, 1usize..3), 0..16),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut log = Vec::new();
        let mut offset = 0;
        for (producer_id, epoch, seq, records) in batches {
            log.push(log_batch((producer_id, epoch, seq), records, offset));
            offset += records as i64;
        }
        let cut = cut.index(log.len() + 1);
        let cut_offset = log.get(cut).map_or(offset, |b| b.base_offset());
        let snapshot = encode_snapshot(&state_of(&log[..cut]));
        let rebuilt = rebuild(ProducerStateConfig::default(), Some((cut_offset, &snapshot[..])), &log, 0).unwrap();
        let direct = state_of(&log);
        prop_assert_eq!(rebuilt.producers().len(), direct.producers().len());
        prop_assert_eq!(rebuilt.map_end_offset(), direct.map_end_offset());
        for full in direct.producers() {
            let got = rebuilt.entry(full.producer_id).expect("the producer is rebuilt");
            prop_assert_eq!(got.producer_epoch, full.producer_epoch);
            prop_assert_eq!(got.last_batch(), full.last_batch());
            prop_assert_eq!(got.last_timestamp, full.last_timestamp);
            let got: Vec<_> = got.batches().collect();
            let full: Vec<_> = full.batches().collect();
            prop_assert!(full.ends_with(&got), "{:?} is not a suffix of {:?}", got, full);
        }
    }

    // Any bytes at all: decoding returns, never panics.
    #[test]
    fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_snapshot(&bytes);
    }

    // Bytes with a valid version and crc but arbitrary entries: never panics,
    // and a well-formed length decodes.
    #[test]
    fn decoding_checksummed_garbage_never_panics(count in 0i32..4, body in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = vec![0, 1, 0, 0, 0, 0];
        bytes.extend(count.to_be_bytes());
        bytes.extend(body);
        let crc = crc32c::crc32c(&bytes[6..]);
        bytes[2..6].copy_from_slice(&crc.to_be_bytes());
        let decoded = decode_snapshot(&bytes);
        prop_assert_eq!(decoded.is_ok(), bytes.len() == 10 + count as usize * ENTRY_SIZE);
    }

    // Encode then decode gives back every field of every producer's last batch.
    #[test]
    fn round_trip(producers in prop::collection::vec((any::<i64>(), any::<i16>(), 0i32..i32::MAX, 0i32..100, 0i64..i64::MAX / 2, any::<i64>()), 0..20)) {
        let mut state = ProducerStateManager::new(ProducerStateConfig::default());
        for &(producer_id, producer_epoch, base_sequence, last_offset_delta, offset, max_timestamp) in &producers {
            let info = BatchInfo {
                producer_id,
                producer_epoch,
                base_sequence,
                last_offset_delta,
                max_timestamp,
                is_transactional: false,
            };
            state.update(&info, offset);
        }
        let entries = decode_snapshot(&encode_snapshot(&state)).expect("our own snapshot decodes");
        prop_assert_eq!(entries.len(), state.producers().len());
        for (read, written) in entries.iter().zip(state.producers()) {
            prop_assert_eq!(read.producer_id, written.producer_id);
            prop_assert_eq!(read.producer_epoch, written.producer_epoch);
            prop_assert_eq!(read.last_timestamp, written.last_timestamp);
            prop_assert_eq!(read.last_batch(), written.last_batch());
            prop_assert_eq!(read.batches().len(), 1);
        }
    }
}
