//! Ongoing transactions in the producer table: golden scenarios citing
//! Kafka's rules, and a property test against a reference that keeps every
//! transaction's first offset and marker.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::idempotence::producer_state::{BatchInfo, ProducerStateConfig, Validated};
use crate::idempotence::{decode_snapshot, encode_snapshot};

/// One batch of `records` records from producer `pid` at epoch 0.
fn batch(pid: i64, seq: i32, records: i32, transactional: bool) -> BatchInfo {
    BatchInfo {
        producer_id: pid,
        producer_epoch: 0,
        base_sequence: seq,
        last_offset_delta: records - 1,
        max_timestamp: 1_000,
        is_transactional: transactional,
    }
}

const ABORT: EndTxnMarker = EndTxnMarker { is_abort: true, coordinator_epoch: 3 };
const COMMIT: EndTxnMarker = EndTxnMarker { is_abort: false, coordinator_epoch: 3 };

fn table() -> ProducerStateManager {
    ProducerStateManager::new(ProducerStateConfig::default())
}

// A producer's first transactional batch opens its transaction at that
// batch's first offset; later batches of the same transaction do not move it
// (Kafka's `appendDataBatch`: `currentTxnFirstOffset` is set once).
#[test]
fn the_first_transactional_batch_opens_the_transaction() {
    let mut state = table();
    state.update(&batch(1, 0, 2, false), 0); // offsets 0..=1, idempotent only
    assert_eq!(state.first_unstable_offset(), None);
    state.update(&batch(1, 2, 3, true), 2); // 2..=4
    state.update(&batch(1, 5, 1, true), 5);
    assert_eq!(state.entry(1).unwrap().current_txn_first_offset, Some(2));
    assert_eq!(state.first_unstable_offset(), Some(2));
    assert_eq!(state.ongoing_txns().collect::<Vec<_>>(), vec![(2, 1)]);
}

// An ABORT marker ends the transaction: first offset, the marker's offset,
// and the LSO after it (the offset after the marker when nothing else is
// open). The transaction still pins the first unstable offset until the high
// watermark passes the marker (Kafka's `unreplicatedTxns`).
#[test]
fn a_marker_ends_the_transaction_and_waits_for_the_high_watermark() {
    let mut state = table();
    state.update(&batch(1, 0, 3, true), 10); // 10..=12
    let completed = state.apply_marker(1, 0, &ABORT, 13, 2_000).expect("a transaction was open");
    let expected = CompletedTxn {
        producer_id: 1,
        first_offset: 10,
        last_offset: 13,
        is_aborted: true,
        last_stable_offset: 14,
    };
    assert_eq!(completed, expected);
    assert_eq!(state.entry(1).unwrap().current_txn_first_offset, None);
    assert_eq!(state.entry(1).unwrap().coordinator_epoch, 3);
    assert_eq!(state.ongoing_txns().count(), 0);
    assert_eq!(state.first_unstable_offset(), Some(10), "the marker is not yet below the high watermark");
    state.on_high_watermark_updated(13);
    assert_eq!(state.first_unstable_offset(), Some(10), "the high watermark is at the marker, not past it");
    state.on_high_watermark_updated(14);
    assert_eq!(state.first_unstable_offset(), None);
}

// The LSO an aborted transaction records is the first offset of the earliest
// transaction of another producer still open (Kafka's
// `lastStableOffset(completedTxn)`), not the offset after its marker.
#[test]
fn the_lso_of_a_completed_transaction_stops_at_another_open_one() {
    let mut state = table();
    state.update(&batch(1, 0, 1, true), 10);
    state.update(&batch(2, 0, 1, true), 11);
    state.update(&batch(1, 1, 1, true), 12);
    let p1 = state.apply_marker(1, 0, &ABORT, 13, 0).unwrap();
    assert_eq!((p1.first_offset, p1.last_offset, p1.last_stable_offset), (10, 13, 11));
    let p2 = state.apply_marker(2, 0, &COMMIT, 14, 0).unwrap();
    assert_eq!((p2.first_offset, p2.is_aborted, p2.last_stable_offset), (11, false, 15));
}

// A marker for a producer with nothing open on the partition (the
// coordinator ends a transaction that added the partition but wrote nothing
// to it) completes nothing: no index entry, no effect on the LSO.
#[test]
fn a_marker_without_an_open_transaction_completes_nothing() {
    let mut state = table();
    state.update(&batch(1, 0, 1, false), 0);
    assert_eq!(state.apply_marker(1, 0, &ABORT, 1, 0), None);
    assert_eq!(state.first_unstable_offset(), None);
    assert_eq!(state.entry(1).unwrap().coordinator_epoch, 3);
    assert_eq!(state.map_end_offset(), 2);
}

// Inside an open transaction a plain batch of the same producer is refused
// with INVALID_TXN_STATE (48), as Kafka's `appendDataBatch` refuses it.
#[test]
fn a_plain_batch_inside_a_transaction_is_an_invalid_txn_state() {
    let mut state = table();
    state.update(&batch(1, 0, 1, true), 0);
    let refused = state.validate(&batch(1, 1, 1, false));
    assert_eq!(refused, Err(ProducerError::InvalidTxnState { producer_id: 1 }));
    assert_eq!(refused.unwrap_err().kafka_error_code(), 48);
    assert_eq!(state.validate(&batch(1, 1, 1, true)), Ok(Validated::Append));
}

// A marker from an older producer epoch or an older coordinator is fenced
// (Kafka's `checkProducerEpoch`, `checkCoordinatorEpoch`): 47 and 52.
#[test]
fn markers_from_zombies_are_fenced() {
    let mut state = table();
    state.update(&BatchInfo { producer_epoch: 2, ..batch(1, 0, 1, true) }, 0);
    state.apply_marker(1, 2, &COMMIT, 1, 0);
    let old_epoch = state.validate_marker(1, 1, &ABORT).unwrap_err();
    assert_eq!(old_epoch.kafka_error_code(), 47);
    let old_coordinator = EndTxnMarker { is_abort: true, coordinator_epoch: 2 };
    assert_eq!(state.validate_marker(1, 2, &old_coordinator).unwrap_err().kafka_error_code(), 52);
    assert_eq!(state.validate_marker(1, 3, &COMMIT), Ok(()));
}

// The snapshot keeps each open transaction's first offset
// (`currentTxnFirstOffset`), so a table loaded from it knows what is open
// and a later marker completes the transaction from its real first offset.
#[test]
fn a_snapshot_keeps_the_open_transactions() {
    let mut state = table();
    state.update(&batch(1, 0, 2, true), 4);
    state.update(&batch(2, 0, 1, false), 6);
    let mut loaded = table();
    loaded.load_snapshot(7, decode_snapshot(&encode_snapshot(&state)).unwrap(), 0);
    assert_eq!(loaded.first_unstable_offset(), Some(4));
    assert_eq!(loaded.ongoing_txns().collect::<Vec<_>>(), vec![(4, 1)]);
    let completed = loaded.apply_marker(1, 0, &ABORT, 7, 0).unwrap();
    assert_eq!((completed.first_offset, completed.last_offset), (4, 7));
}

// A marker's control record is version 0 of Kafka's key (version, type) and
// value (version, coordinator epoch), and only ABORT and COMMIT are markers.
#[test]
fn markers_encode_and_parse_as_kafka_writes_them() {
    let (key, value) = ABORT.encode();
    assert_eq!(key, [0, 0, 0, 0]);
    assert_eq!(value, [0, 0, 0, 0, 0, 3]);
    assert_eq!(EndTxnMarker::parse(&key, &value), Some(ABORT));
    let (key, value) = COMMIT.encode();
    assert_eq!(key, [0, 0, 0, 1]);
    assert_eq!(EndTxnMarker::parse(&key, &value), Some(COMMIT));
    assert_eq!(EndTxnMarker::parse(&[0, 0, 0, 2], &value), None, "LEADER_CHANGE is not a marker");
    assert_eq!(EndTxnMarker::parse(&[0, 0, 0], &value), None);
    assert_eq!(EndTxnMarker::parse(&key, &[0, 0, 0]), None);
}

/// A step of the property test, on one of three producers.
#[derive(Debug, Clone)]
enum Step {
    Data { producer: i64, records: i32, transactional: bool },
    Marker { producer: i64, abort: bool },
    HighWatermark { back: i64 },
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1..=3i64, 1..4i32, any::<bool>()).prop_map(|(producer, records, transactional)| Step::Data {
            producer,
            records,
            transactional
        }),
        (1..=3i64, any::<bool>()).prop_map(|(producer, abort)| Step::Marker { producer, abort }),
        (0..6i64).prop_map(|back| Step::HighWatermark { back }),
    ]
}

/// The reference: every transaction's first offset and, once ended, its marker.
#[derive(Default)]
struct Reference {
    open: BTreeMap<i64, i64>,
    ended: Vec<(i64, i64)>,
    high_watermark: i64,
}

impl Reference {
    fn first_unstable_offset(&self) -> Option<i64> {
        let open = self.open.values().copied();
        let unreplicated =
            self.ended.iter().filter(|(_, marker)| *marker >= self.high_watermark).map(|(f, _)| *f);
        open.chain(unreplicated).min()
    }
}

proptest! {
    // Whatever the interleaving of producers, markers and high watermark
    // moves, the table's first unstable offset is the reference's, each
    // completed transaction's LSO is the earliest other open transaction (or
    // the offset after its marker), and a snapshot keeps every open one.
    #[test]
    fn ongoing_transactions_match_the_reference(steps in prop::collection::vec(any_step(), 0..60)) {
        let mut state = table();
        let mut reference = Reference::default();
        let mut log_end = 0i64;
        for step in &steps {
            match *step {
                Step::Data { producer, records, transactional } => {
                    let info = BatchInfo { base_sequence: log_end as i32, ..batch(producer, 0, records, transactional) };
                    state.update(&info, log_end);
                    if transactional {
                        reference.open.entry(producer).or_insert(log_end);
                    }
                    log_end += i64::from(records);
                }
                Step::Marker { producer, abort } => {
                    let marker = EndTxnMarker { is_abort: abort, coordinator_epoch: 0 };
                    let completed = state.apply_marker(producer, 0, &marker, log_end, 0);
                    let others = reference.open.iter().filter(|(&p, _)| p != producer).map(|(_, &f)| f).min();
                    match reference.open.remove(&producer) {
                        Some(first) => {
                            let expected = CompletedTxn {
                                producer_id: producer,
                                first_offset: first,
                                last_offset: log_end,
                                is_aborted: abort,
                                last_stable_offset: others.unwrap_or(log_end + 1),
                            };
                            prop_assert_eq!(completed, Some(expected));
                            reference.ended.push((first, log_end));
                        }
                        None => prop_assert_eq!(completed, None),
                    }
                    log_end += 1;
                }
                Step::HighWatermark { back } => {
                    reference.high_watermark = reference.high_watermark.max(log_end - back);
                    state.on_high_watermark_updated(reference.high_watermark);
                }
            }
            prop_assert_eq!(state.first_unstable_offset(), reference.first_unstable_offset());
            prop_assert_eq!(state.map_end_offset(), log_end);
        }
        let mut loaded = table();
        loaded.load_snapshot(log_end, decode_snapshot(&encode_snapshot(&state)).unwrap(), 0);
        let open: Vec<(i64, i64)> = reference.open.iter().map(|(&p, &f)| (f, p)).collect::<BTreeMap<_, _>>().into_iter().collect();
        prop_assert_eq!(loaded.ongoing_txns().collect::<Vec<_>>(), open);
    }
}
