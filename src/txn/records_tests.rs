use proptest::prelude::*;

use super::*;

fn ongoing() -> TransactionLogRecord {
    TransactionLogRecord {
        transactional_id: "tx1".into(),
        value: Some(TransactionLogValue {
            producer_id: 1000,
            previous_producer_id: -1,
            next_producer_id: -1,
            producer_epoch: 3,
            transaction_timeout_ms: 60_000,
            state: TransactionState::Ongoing,
            partitions: [
                TopicPartition::new("b", 2),
                TopicPartition::new("a", 1),
                TopicPartition::new("a", 0),
            ]
            .into_iter()
            .collect(),
            last_update_timestamp_ms: 7,
            start_timestamp_ms: 5,
            client_transaction_version: 0,
        }),
    }
}

// The key is TransactionLogKey v0 with its version prefix: int16 0, then the
// id as an int16-length string (TransactionLogKey.json, MessageUtil.toVersionPrefixedBytes).
#[test]
fn key_matches_kafkas_layout() {
    assert_eq!(ongoing().key_bytes(), [0, 0, 0, 3, b't', b'x', b'1']);
}

// TransactionLogValue v0, assembled field by field from TransactionLogValue.json:
// the partitions are grouped by topic, an int32-counted array of
// (string topic, int32-counted partition ids).
#[test]
fn value_v0_matches_kafkas_layout() {
    let mut want = vec![0, 0];
    want.extend(1000i64.to_be_bytes());
    want.extend(3i16.to_be_bytes());
    want.extend(60_000i32.to_be_bytes());
    want.push(1); // Ongoing
    want.extend(2i32.to_be_bytes());
    want.extend([0, 1, b'a']);
    want.extend(2i32.to_be_bytes());
    want.extend(0i32.to_be_bytes());
    want.extend(1i32.to_be_bytes());
    want.extend([0, 1, b'b']);
    want.extend(1i32.to_be_bytes());
    want.extend(2i32.to_be_bytes());
    want.extend(7i64.to_be_bytes());
    want.extend(5i64.to_be_bytes());
    assert_eq!(ongoing().value_bytes(0), Some(want));
}

// TransactionLogValue v1 is flexible: compact arrays and strings (length + 1
// as an unsigned varint), an empty tagged-field byte after each partition
// entry, and the tagged fields last, in tag order, each as tag, size, data;
// fields at their defaults are left out.
#[test]
fn value_v1_matches_kafkas_layout() {
    let mut record = ongoing();
    let value = record.value.as_mut().expect("a value");
    value.previous_producer_id = 999;
    value.client_transaction_version = 2;
    let mut want = vec![0, 1];
    want.extend(1000i64.to_be_bytes());
    want.extend(3i16.to_be_bytes());
    want.extend(60_000i32.to_be_bytes());
    want.push(1);
    want.push(3); // two topics
    want.extend([2, b'a', 3]);
    want.extend(0i32.to_be_bytes());
    want.extend(1i32.to_be_bytes());
    want.push(0);
    want.extend([2, b'b', 2]);
    want.extend(2i32.to_be_bytes());
    want.push(0);
    want.extend(7i64.to_be_bytes());
    want.extend(5i64.to_be_bytes());
    want.extend([2, 0, 8]); // two tagged fields; tag 0 is eight bytes
    want.extend(999i64.to_be_bytes());
    want.extend([2, 2, 0, 2]); // tag 2, two bytes: client transaction version 2
    assert_eq!(record.value_bytes(1), Some(want));
}

// An Empty transaction writes a null partition list (-1 in v0, 0 in v1), and
// an expired id is a tombstone: a key with no value.
#[test]
fn empty_state_and_tombstone() {
    let mut record = ongoing();
    let value = record.value.as_mut().expect("a value");
    value.state = TransactionState::Empty;
    value.partitions.clear();
    let v0 = record.value_bytes(0).expect("a value");
    assert_eq!(v0[17..21], (-1i32).to_be_bytes());
    let v1 = record.value_bytes(1).expect("a value");
    assert_eq!(v1[17], 0);
    assert_eq!(TransactionLogRecord::decode(&record.key_bytes(), Some(&v1)), Ok(record.clone()));

    let tombstone = TransactionLogRecord { transactional_id: "tx1".into(), value: None };
    assert_eq!(tombstone.value_bytes(1), None);
    assert_eq!(TransactionLogRecord::decode(&tombstone.key_bytes(), None), Ok(tombstone));
}

// Bad bytes are typed errors, never panics.
#[test]
fn rejects_bad_bytes() {
    let key = ongoing().key_bytes();
    assert_eq!(TransactionLogRecord::decode(&[0], None), Err(DecodeError::Truncated));
    assert_eq!(TransactionLogRecord::decode(&[0, 2, 0, 0], None), Err(DecodeError::UnknownKeyVersion(2)));
    assert_eq!(TransactionLogRecord::decode(&[0, 0, 0, 0, 1], None), Err(DecodeError::TrailingBytes(1)));
    let mut value = ongoing().value_bytes(0).expect("a value");
    value[1] = 2;
    assert_eq!(TransactionLogRecord::decode(&key, Some(&value)), Err(DecodeError::UnknownValueVersion(2)));
    value[1] = 0;
    value[16] = 9;
    assert_eq!(TransactionLogRecord::decode(&key, Some(&value)), Err(DecodeError::UnknownState(9)));
    value[16] = 1;
    value[17..21].copy_from_slice(&(-1i32).to_be_bytes());
    let error = TransactionLogRecord::decode(&key, Some(&value[..21]));
    assert_eq!(error, Err(DecodeError::Malformed("null partitions outside Empty")));
    let mut v1 = ongoing().value_bytes(1).expect("a value");
    let last = v1.len() - 1;
    v1[last] = 1; // one tagged field announced, none there
    assert_eq!(TransactionLogRecord::decode(&key, Some(&v1)), Err(DecodeError::Truncated));
    v1.extend([0, 2, 0, 0]); // tag 0 (an int64) with two bytes
    let error = TransactionLogRecord::decode(&key, Some(&v1));
    assert_eq!(error, Err(DecodeError::Malformed("tagged field of the wrong size")));
}

fn value(flexible: bool) -> impl Strategy<Value = TransactionLogValue> {
    let tagged =
        if flexible { (any::<i64>(), any::<i64>(), any::<i16>()).boxed() } else { Just((-1, -1, 0)).boxed() };
    (
        (any::<i64>(), any::<i16>(), any::<i32>(), proptest::sample::select(TransactionState::ALL.to_vec())),
        proptest::collection::btree_set(("[a-z._-]{1,6}", 0..4i32), 0..6),
        (any::<i64>(), any::<i64>()),
        tagged,
    )
        .prop_map(
            |((producer_id, producer_epoch, timeout, state), partitions, (last, start), (prev, next, tv))| {
                let partitions = if state == TransactionState::Empty {
                    BTreeSet::new()
                } else {
                    partitions.into_iter().map(|(t, p)| TopicPartition::new(t, p)).collect()
                };
                TransactionLogValue {
                    producer_id,
                    previous_producer_id: prev,
                    next_producer_id: next,
                    producer_epoch,
                    transaction_timeout_ms: timeout,
                    state,
                    partitions,
                    last_update_timestamp_ms: last,
                    start_timestamp_ms: start,
                    client_transaction_version: tv,
                }
            },
        )
}

proptest! {
    // Every record reads back as itself in both value versions (v0 without
    // the tagged fields it cannot carry), tombstones included.
    #[test]
    fn records_round_trip(
        id in "[a-zA-Z0-9é_-]{1,12}",
        v0 in proptest::option::of(value(false)),
        v1 in proptest::option::of(value(true)),
    ) {
        for (version, value) in [(0, v0), (1, v1)] {
            let record = TransactionLogRecord { transactional_id: id.clone(), value };
            let bytes = record.value_bytes(version);
            prop_assert_eq!(TransactionLogRecord::decode(&record.key_bytes(), bytes.as_deref()), Ok(record));
        }
    }

    // Any bytes at all decode to a record or an error, never a panic.
    #[test]
    fn garbage_never_panics(
        key in proptest::collection::vec(any::<u8>(), 0..12),
        version in 0..2u8,
        value in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let _ = TransactionLogRecord::decode(&key, Some(&value));
        // Past a valid key and value version, so the field readers see the garbage.
        let value = [&[0, version][..], &value].concat();
        let _ = TransactionLogRecord::decode(&[0, 0, 0, 1, b'x'], Some(&value));
    }
}
