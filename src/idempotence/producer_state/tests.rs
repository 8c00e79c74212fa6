//! Golden scenarios of the producer table, each citing the Kafka rule it pins,
//! and a property test against a reference that keeps every batch ever written.

use proptest::prelude::*;

use super::*;

const PID: i64 = 1000;

/// A batch of `records` records from `PID` at `epoch`, starting at `seq`.
fn batch(epoch: i16, seq: i32, records: i32) -> BatchInfo {
    BatchInfo {
        producer_id: PID,
        producer_epoch: epoch,
        base_sequence: seq,
        last_offset_delta: records - 1,
        max_timestamp: 1_000 + i64::from(seq),
        is_transactional: false,
    }
}

/// Validates and, if it is to be appended, appends at `*log_end` and updates.
fn produce(
    state: &mut ProducerStateManager,
    log_end: &mut i64,
    info: BatchInfo,
) -> Result<Validated, ProducerError> {
    let validated = state.validate(&info)?;
    if matches!(validated, Validated::Append | Validated::NoProducerId) {
        state.update(&info, *log_end);
        *log_end += i64::from(info.last_offset_delta) + 1;
    }
    Ok(validated)
}

/// Five batches of two records each, at epoch 0: sequences 0..10, offsets 0..10.
fn five_batches() -> (ProducerStateManager, i64) {
    let mut state = ProducerStateManager::new(ProducerStateConfig::default());
    let mut log_end = 0;
    for i in 0..5 {
        assert_eq!(produce(&mut state, &mut log_end, batch(0, 2 * i, 2)), Ok(Validated::Append));
    }
    (state, log_end)
}

// A retry of any of the last five batches is a duplicate answered with the
// original offsets, and writes nothing (Kafka's `findDuplicateBatch`, KAFKA-5494).
#[test]
fn a_retry_of_each_of_the_last_five_batches_is_a_duplicate() {
    let (mut state, mut log_end) = five_batches();
    for i in 0..5 {
        let Ok(Validated::Duplicate(original)) = produce(&mut state, &mut log_end, batch(0, 2 * i, 2)) else {
            panic!("batch {i} is not recognised as a duplicate");
        };
        assert_eq!((original.first_offset(), original.last_offset), (i64::from(2 * i), i64::from(2 * i + 1)));
        assert_eq!((original.first_seq(), original.last_seq), (2 * i, 2 * i + 1));
        assert_eq!(original.timestamp, 1_000 + i64::from(2 * i));
    }
    assert_eq!(log_end, 10, "a duplicate writes nothing");
}

// A batch must match a remembered one exactly: an overlapping range is not a
// duplicate but out of order (Kafka compares first and last sequence).
#[test]
fn an_overlapping_range_is_out_of_order_not_a_duplicate() {
    let (state, _) = five_batches();
    assert!(matches!(state.validate(&batch(0, 2, 1)), Err(ProducerError::OutOfOrderSequence { .. })));
    assert!(matches!(state.validate(&batch(0, 3, 2)), Err(ProducerError::OutOfOrderSequence { .. })));
}

// Only five batches are remembered: after a sixth, a retry of the first is
// refused as out of order, not written again.
#[test]
fn the_sixth_oldest_batch_is_out_of_order() {
    let (mut state, mut log_end) = five_batches();
    assert_eq!(produce(&mut state, &mut log_end, batch(0, 10, 2)), Ok(Validated::Append));
    assert_eq!(state.entry(PID).unwrap().batches().len(), NUM_BATCHES_TO_RETAIN);
    let refused = state.validate(&batch(0, 0, 2));
    assert_eq!(
        refused,
        Err(ProducerError::OutOfOrderSequence { producer_id: PID, epoch: 0, first_seq: 0, last_seq: 11 })
    );
    assert_eq!(refused.unwrap_err().kafka_error_code(), 45);
    assert!(
        matches!(state.validate(&batch(0, 2, 2)), Ok(Validated::Duplicate(_))),
        "the 5th-oldest still is"
    );
}

// A gap is refused: the broker never appends a batch after a missing one.
#[test]
fn a_gap_is_out_of_order() {
    let (state, _) = five_batches();
    assert!(matches!(state.validate(&batch(0, 11, 1)), Err(ProducerError::OutOfOrderSequence { .. })));
    assert_eq!(state.validate(&batch(0, 10, 1)), Ok(Validated::Append));
}

// An epoch older than the latest is a zombie: INVALID_PRODUCER_EPOCH (47) on
// every produce version, never PRODUCER_FENCED (KIP-588, KAFKA-10687).
#[test]
fn a_stale_epoch_is_fenced() {
    let mut state = ProducerStateManager::new(ProducerStateConfig::default());
    let mut log_end = 0;
    produce(&mut state, &mut log_end, batch(3, 0, 1)).unwrap();
    let refused = state.validate(&batch(2, 1, 1)).unwrap_err();
    assert_eq!(refused, ProducerError::InvalidProducerEpoch { producer_id: PID, epoch: 2, current_epoch: 3 });
    assert_eq!(refused.kafka_error_code(), 47);
    // Even a batch that was written at the old epoch is no duplicate any more.
    produce(&mut state, &mut log_end, batch(4, 0, 1)).unwrap();
    assert!(matches!(state.validate(&batch(3, 0, 1)), Err(ProducerError::InvalidProducerEpoch { .. })));
}

// A new epoch restarts sequences at 0 (KIP-360's epoch bump) and forgets the
// old epoch's batches: the new sequence 0 is a new batch, not a retry.
#[test]
fn an_epoch_bump_resets_the_sequences() {
    let (mut state, mut log_end) = five_batches();
    assert!(matches!(state.validate(&batch(1, 10, 1)), Err(ProducerError::OutOfOrderSequence { .. })));
    assert_eq!(produce(&mut state, &mut log_end, batch(1, 0, 2)), Ok(Validated::Append));
    let entry = state.entry(PID).unwrap();
    assert_eq!((entry.producer_epoch, entry.batches().len(), entry.last_seq()), (1, 1, 1));
    assert_eq!(log_end, 12, "sequence 0 of epoch 1 was written, not taken for epoch 0's");
    assert_eq!(produce(&mut state, &mut log_end, batch(1, 2, 1)), Ok(Validated::Append));
    assert!(state.is_known(PID, 1) && !state.is_known(PID, 0) && !state.is_known(PID + 1, 0));
}

// The planted bug the model catches: keeping the old epoch's batches makes
// a new batch look like a retry, acknowledged with another batch's offsets.
#[test]
fn without_the_reset_a_new_epoch_batch_is_taken_for_an_old_one() {
    let config = ProducerStateConfig { reset_on_epoch_bump: false, ..ProducerStateConfig::default() };
    let mut state = ProducerStateManager::new(config);
    let mut log_end = 0;
    produce(&mut state, &mut log_end, batch(0, 0, 1)).unwrap();
    produce(&mut state, &mut log_end, batch(1, 0, 1)).unwrap();
    let Ok(Validated::Duplicate(wrong)) = state.validate(&batch(1, 0, 1)) else { panic!("no duplicate") };
    assert_eq!(wrong.first_offset(), 0, "the retry of offset 1 is answered with epoch 0's offset 0");
}

// Batches without a producer id (-1, or any negative id as Kafka's
// `hasProducerId`) are not idempotent: nothing to check or remember.
#[test]
fn batches_without_a_producer_id_bypass_every_check() {
    let (mut state, mut log_end) = five_batches();
    let plain = BatchInfo { producer_id: -1, producer_epoch: -1, base_sequence: -1, ..batch(0, 0, 3) };
    assert_eq!(produce(&mut state, &mut log_end, plain), Ok(Validated::NoProducerId));
    assert_eq!(produce(&mut state, &mut log_end, plain), Ok(Validated::NoProducerId));
    let negative = BatchInfo { producer_id: -7, ..batch(3, -5, 1) };
    assert_eq!(produce(&mut state, &mut log_end, negative), Ok(Validated::NoProducerId));
    assert_eq!(state.producers().len(), 1);
    assert_eq!((log_end, state.map_end_offset()), (17, 17));
}

// KIP-360 (Kafka 2.5+): a producer the partition does not know — first write
// here, or its state expired — is accepted at any sequence, where Kafka before
// 2.5 answered UNKNOWN_PRODUCER_ID.
#[test]
fn an_unknown_producer_is_accepted_at_any_sequence() {
    let mut state = ProducerStateManager::new(ProducerStateConfig::default());
    assert_eq!(state.validate(&batch(7, 42, 1)), Ok(Validated::Append));
    let mut log_end = 100;
    produce(&mut state, &mut log_end, batch(7, 42, 1)).unwrap();
    assert_eq!(state.validate(&batch(7, 43, 1)), Ok(Validated::Append));
    assert!(matches!(state.validate(&batch(7, 42, 1)), Ok(Validated::Duplicate(_))));
    assert_eq!(state.producer_epoch(PID), Some(7));
}

// Sequences wrap from i32::MAX to 0, inside a batch and between batches.
#[test]
fn sequences_wrap_at_i32_max() {
    let mut state = ProducerStateManager::new(ProducerStateConfig::default());
    let mut log_end = 0;
    produce(&mut state, &mut log_end, batch(0, i32::MAX - 1, 1)).unwrap();
    // i32::MAX, 0, 1: a batch across the wrap.
    let across = batch(0, i32::MAX, 3);
    assert_eq!(across.last_sequence(), 1);
    assert_eq!(produce(&mut state, &mut log_end, across), Ok(Validated::Append));
    let Ok(Validated::Duplicate(original)) = state.validate(&across) else { panic!("not a duplicate") };
    assert_eq!((original.first_seq(), original.last_seq, original.first_offset()), (i32::MAX, 1, 1));
    assert_eq!(state.validate(&batch(0, 2, 1)), Ok(Validated::Append));
    assert!(in_sequence(i32::MAX, 0) && !in_sequence(i32::MAX, 1) && !in_sequence(-1, 1));
}

// A producer id with a negative sequence is an invalid record (LogValidator).
#[test]
fn a_negative_sequence_with_a_producer_id_is_invalid() {
    let state = ProducerStateManager::new(ProducerStateConfig::default());
    let refused = state.validate(&batch(0, -1, 1)).unwrap_err();
    assert_eq!(refused, ProducerError::InvalidSequence { producer_id: PID, base_sequence: -1 });
    assert_eq!(refused.kafka_error_code(), 87);
}

// Only expiration forgets a producer (producer.id.expiration.ms); a moving log
// start offset keeps it (KAFKA-7190).
#[test]
fn producers_expire_by_time_not_by_retention() {
    let config = ProducerStateConfig { producer_id_expiration_ms: 500, ..ProducerStateConfig::default() };
    let mut state = ProducerStateManager::new(config);
    let mut log_end = 0;
    produce(&mut state, &mut log_end, batch(0, 0, 1)).unwrap(); // timestamp 1000
    state.on_log_start_offset_incremented(50);
    assert!(state.is_known(PID, 0));
    assert_eq!(state.map_end_offset(), 50);
    state.remove_expired_producers(1_499);
    assert!(state.is_known(PID, 0));
    state.remove_expired_producers(1_500);
    assert_eq!(state.producers().len(), 0);
}

/// A batch the reference remembers: (first seq, last seq, first offset, last offset).
type Appended = (i32, i32, i64, i64);

/// A reference producer table written differently: it keeps every batch of
/// the current epoch and looks at the last five when it needs them.
#[derive(Default)]
struct Reference {
    /// Per producer: its epoch, and every batch appended at that epoch.
    producers: std::collections::HashMap<i64, (i16, Vec<Appended>)>,
}

impl Reference {
    /// Some((first offset, last offset)) for a duplicate, None for an append,
    /// or the error code.
    fn validate(&self, b: &BatchInfo) -> Result<Option<(i64, i64)>, i16> {
        if b.producer_id < 0 {
            return Ok(None);
        }
        if b.base_sequence < 0 {
            return Err(87);
        }
        // An unknown producer is one at epoch -1 with no batches.
        let (epoch, batches) =
            self.producers.get(&b.producer_id).map_or((&-1, &[][..]), |(e, v)| (e, &v[..]));
        let last_seq = |seq: i32, delta: i32| ((i64::from(seq) + i64::from(delta)) % (1 << 31)) as i32;
        let retained = &batches[batches.len().saturating_sub(5)..];
        if b.producer_epoch == *epoch {
            let range = (b.base_sequence, last_seq(b.base_sequence, b.last_offset_delta));
            if let Some(&(_, _, first, last)) = retained.iter().find(|r| (r.0, r.1) == range) {
                return Ok(Some((first, last)));
            }
        }
        if b.producer_epoch < *epoch {
            return Err(47);
        }
        if *epoch == -1 {
            return Ok(None);
        }
        let expected = if b.producer_epoch != *epoch {
            0
        } else {
            batches.last().map_or(0, |r| if r.1 == i32::MAX { 0 } else { r.1 + 1 })
        };
        if b.base_sequence == expected {
            Ok(None)
        } else {
            Err(45)
        }
    }

    fn append(&mut self, b: &BatchInfo, first_offset: i64) {
        if b.producer_id < 0 {
            return;
        }
        let last_seq = ((i64::from(b.base_sequence) + i64::from(b.last_offset_delta)) % (1 << 31)) as i32;
        let (epoch, batches) = self.producers.entry(b.producer_id).or_insert((-1, Vec::new()));
        if *epoch != b.producer_epoch {
            *epoch = b.producer_epoch;
            batches.clear();
        }
        batches.push((
            b.base_sequence,
            last_seq,
            first_offset,
            first_offset + i64::from(b.last_offset_delta),
        ));
    }
}

/// What the next batch of a random run does, relative to the producer's
/// history: most steps are plausible (the next sequence, a retry of a recent
/// batch, a gap, an epoch bump), some are wild header values.
#[derive(Debug, Clone)]
enum Step {
    Next { producer: usize, records: i32 },
    Retry { producer: usize, back: usize },
    Gap { producer: usize, skip: i32 },
    Bump { producer: usize, seq: i32 },
    Stale { producer: usize },
    Wild { producer_id: i64, epoch: i16, seq: i32, delta: i32 },
}

fn any_step() -> impl Strategy<Value = Step> {
    let producer = 0usize..2;
    prop_oneof![
        6 => (producer.clone(), 1i32..4).prop_map(|(producer, records)| Step::Next { producer, records }),
        4 => (producer.clone(), 0usize..8).prop_map(|(producer, back)| Step::Retry { producer, back }),
        1 => (producer.clone(), 1i32..3).prop_map(|(producer, skip)| Step::Gap { producer, skip }),
        1 => (producer.clone(), prop_oneof![Just(0i32), 0i32..3]).prop_map(|(producer, seq)| Step::Bump { producer, seq }),
        1 => producer.prop_map(|producer| Step::Stale { producer }),
        1 => (prop_oneof![Just(-1i64), Just(1), any::<i64>()], any::<i16>(), any::<i32>(), 0i32..3)
            .prop_map(|(producer_id, epoch, seq, delta)| Step::Wild { producer_id, epoch, seq, delta }),
    ]
}

/// A client's view of two producers (ids 1 and 2): epoch, next sequence, and
/// every batch it sent, so that retries can pick any of them.
struct Clients {
    epoch: [i16; 2],
    next_seq: [i32; 2],
    sent: [Vec<BatchInfo>; 2],
}

impl Clients {
    fn batch(&mut self, step: &Step) -> BatchInfo {
        let info = |p: usize, epoch, seq, records: i32| BatchInfo {
            producer_id: p as i64 + 1,
            producer_epoch: epoch,
            base_sequence: seq,
            last_offset_delta: records - 1,
            max_timestamp: 0,
            is_transactional: false,
        };
        let info = match *step {
            Step::Next { producer: p, records } => {
                let b = info(p, self.epoch[p], self.next_seq[p], records);
                self.next_seq[p] = increment_sequence(self.next_seq[p], records);
                b
            }
            Step::Retry { producer: p, back } => match self.sent[p].iter().rev().nth(back) {
                Some(b) => *b,
                None => info(p, self.epoch[p], 0, 1),
            },
            Step::Gap { producer: p, skip } => {
                info(p, self.epoch[p], increment_sequence(self.next_seq[p], skip), 1)
            }
            Step::Bump { producer: p, seq } => {
                self.epoch[p] = self.epoch[p].saturating_add(1);
                self.next_seq[p] = increment_sequence(seq, 1);
                info(p, self.epoch[p], seq, 1)
            }
            Step::Stale { producer: p } => info(p, self.epoch[p].saturating_sub(1), self.next_seq[p], 1),
            Step::Wild { producer_id, epoch, seq, delta } => {
                return BatchInfo {
                    producer_id,
                    producer_epoch: epoch,
                    base_sequence: seq,
                    last_offset_delta: delta,
                    max_timestamp: 0,
                    is_transactional: false,
                };
            }
        };
        let p = (info.producer_id - 1) as usize;
        self.sent[p].push(info);
        info
    }
}

proptest! {
    // validate and update agree with the reference on every step, and never
    // panic, whatever the headers hold.
    #[test]
    fn validate_and_update_match_the_reference(steps in prop::collection::vec(any_step(), 0..80)) {
        let mut state = ProducerStateManager::new(ProducerStateConfig::default());
        let mut reference = Reference::default();
        let mut clients = Clients { epoch: [0; 2], next_seq: [0; 2], sent: [Vec::new(), Vec::new()] };
        let mut log_end = 0i64;
        for step in &steps {
            let info = clients.batch(step);
            let expected = reference.validate(&info);
            let got = state.validate(&info);
            match (got, expected) {
                (Ok(Validated::Append | Validated::NoProducerId), Ok(None)) => {
                    state.update(&info, log_end);
                    reference.append(&info, log_end);
                    log_end += i64::from(info.last_offset_delta) + 1;
                }
                (Ok(Validated::Duplicate(m)), Ok(Some((first, last)))) => {
                    prop_assert_eq!((m.first_offset(), m.last_offset), (first, last));
                }
                (Err(e), Err(code)) => prop_assert_eq!(e.kafka_error_code(), code),
                (got, expected) => prop_assert!(false, "{:?}: got {:?}, reference {:?}", info, got, expected),
            }
        }
    }

    // update is total: any header, any offset, no panic, and at most five batches kept.
    #[test]
    fn update_never_panics(batches in prop::collection::vec((any::<i64>(), any::<i16>(), any::<i32>(), any::<i32>(), any::<i64>()), 0..40)) {
        let mut state = ProducerStateManager::new(ProducerStateConfig::default());
        for (producer_id, producer_epoch, base_sequence, last_offset_delta, offset) in batches {
            let info = BatchInfo {
                producer_id,
                producer_epoch,
                base_sequence,
                last_offset_delta,
                max_timestamp: offset,
                is_transactional: false,
            };
            let _ = state.validate(&info);
            state.update(&info, offset);
        }
        prop_assert!(state.producers().all(|e| e.batches().len() <= NUM_BATCHES_TO_RETAIN));
    }
}
