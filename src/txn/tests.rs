//! Scenario tests of the coordinator: whole transactions, scripted request by
//! request, with what the coordinator answers and asks the driver to do.

use std::collections::BTreeSet;

use super::*;
use crate::TopicPartition;

mod errors;
mod props;
mod version_2;

/// `tx`'s partition of `__transaction_state` (Java's "tx".hashCode() = 3716).
const PARTITION: i32 = 16;
const PRODUCER_ID: i64 = 1000;
const TIMEOUT_MS: i32 = 60_000;

/// A loaded coordinator at coordinator epoch 5 with producer ids 1000..1010.
pub(super) fn coordinator() -> TransactionCoordinator {
    coordinator_with(TransactionCoordinatorConfig::default())
}

pub(super) fn coordinator_with(config: TransactionCoordinatorConfig) -> TransactionCoordinator {
    let mut c = TransactionCoordinator::new(config, PARTITION);
    c.start_loading(5);
    assert_eq!(c.finish_loading(), Output::default());
    c.add_producer_ids(PRODUCER_ID, 10);
    c
}

pub(super) fn parts(names: &[(&str, i32)]) -> BTreeSet<TopicPartition> {
    names.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect()
}

/// Makes every append of `out` durable; returns everything that followed.
pub(super) fn durable(c: &mut TransactionCoordinator, out: Output, now_ms: i64) -> Output {
    let mut all = Output { appends: vec![], ..out.clone() };
    for append in out.appends {
        let next = c.append_completed(append.id, Ok(()), now_ms);
        all.markers.extend(next.markers);
        all.replies.extend(next.replies);
        all.appends.extend(next.appends);
    }
    all
}

pub(super) fn only_reply(out: &Output) -> ReplyBody {
    assert_eq!(out.replies.len(), 1, "one reply in {out:?}");
    out.replies[0].body.clone()
}

pub(super) fn ids(producer_id: i64, producer_epoch: i16) -> ProducerIdAndEpoch {
    ProducerIdAndEpoch { producer_id, producer_epoch }
}

/// InitProducerId for `tx`, made durable; returns the answer.
pub(super) fn init(
    c: &mut TransactionCoordinator,
    current: Option<ProducerIdAndEpoch>,
    now_ms: i64,
) -> ReplyBody {
    let out = c.init_producer_id(1, &init_request("tx", TIMEOUT_MS, current), now_ms);
    only_reply(&durable(c, out, now_ms))
}

/// `tx` at epoch 0 with partitions a-0 and b-1 in an open transaction.
pub(super) fn ongoing(c: &mut TransactionCoordinator, now_ms: i64) {
    assert_eq!(init(c, None, now_ms), ReplyBody::InitProducerId(Ok(ids(PRODUCER_ID, 0))));
    let out = c.add_partitions(2, &add_request("tx", PRODUCER_ID, 0, &parts(&[("a", 0), ("b", 1)])), now_ms);
    assert_eq!(only_reply(&durable(c, out, now_ms)), ReplyBody::AddPartitionsToTxn(Ok(())));
}

fn state(c: &TransactionCoordinator) -> TransactionState {
    c.transactions()["tx"].state
}

// A transactional id hashes to the same `__transaction_state` partition as in
// Kafka (Utils.abs(String.hashCode) % 50; values from Java's hashCode rules).
#[test]
fn partition_for_matches_kafka() {
    assert_eq!(partition_for("tx", 50), PARTITION);
    assert_eq!(partition_for("my-txn", 50), 45);
    assert_eq!(partition_for("polygenelubricants", 50), 0, "hashCode is i32::MIN");
}

// The figure of KIP-98: init → add partitions → EndTxn(commit) → markers →
// CompleteCommit. Nothing is answered, and no marker requested, before the
// record that decides it is durable.
#[test]
fn a_committed_transaction() {
    let mut c = coordinator();
    ongoing(&mut c, 10);
    assert_eq!(state(&c), TransactionState::Ongoing);

    let out = c.end_txn(3, &end_request("tx", PRODUCER_ID, 0, true, 0), 20);
    assert!(out.replies.is_empty() && out.markers.is_empty(), "waits for PrepareCommit: {out:?}");
    let record = out.appends[0].record.value.clone().expect("a value");
    assert_eq!((record.state, record.partitions.len()), (TransactionState::PrepareCommit, 2));
    assert_eq!(
        c.end_txn(4, &end_request("tx", PRODUCER_ID, 0, true, 0), 21).replies[0].body,
        ReplyBody::EndTxn(Err(TxnError::ConcurrentTransactions))
    );

    let out = durable(&mut c, out, 22);
    assert_eq!(only_reply(&out), ReplyBody::EndTxn(Ok(ids(PRODUCER_ID, 0))));
    let markers = WriteTxnMarkers {
        transactional_id: "tx".into(),
        producer_id: PRODUCER_ID,
        producer_epoch: 0,
        commit: true,
        coordinator_epoch: 5,
        partitions: parts(&[("a", 0), ("b", 1)]),
    };
    assert_eq!(out.markers, std::slice::from_ref(&markers));
    assert_eq!(state(&c), TransactionState::PrepareCommit);

    let out = c.markers_written(&markers, 30);
    assert_eq!(out.appends[0].record.value.as_ref().map(|v| v.state), Some(TransactionState::CompleteCommit));
    durable(&mut c, out, 31);
    let m = &c.transactions()["tx"];
    assert_eq!((m.state, m.partitions.len(), m.producer_epoch), (TransactionState::CompleteCommit, 0, 0));
    // A retried commit gets the same answer; an abort of it is refused.
    let retry = c.end_txn(5, &end_request("tx", PRODUCER_ID, 0, true, 0), 32);
    assert_eq!(only_reply(&retry), ReplyBody::EndTxn(Ok(ids(PRODUCER_ID, 0))));
    let abort = c.end_txn(6, &end_request("tx", PRODUCER_ID, 0, false, 0), 33);
    assert_eq!(only_reply(&abort), ReplyBody::EndTxn(Err(TxnError::InvalidTxnState)));
}

// KIP-98's zombie fencing: a second producer's InitProducerId bumps the epoch
// at once (the zombie is fenced before anything is durable), aborts the
// zombie's open transaction with the new epoch, answers
// CONCURRENT_TRANSACTIONS until the abort completes, and its retry bumps again.
#[test]
fn a_zombie_is_fenced_by_a_new_producer() {
    let mut c = coordinator();
    ongoing(&mut c, 10);
    let out = c.init_producer_id(7, &init_request("tx", TIMEOUT_MS, None), 20);
    assert_eq!(
        out.appends[0].record.value.as_ref().map(|v| (v.state, v.producer_epoch)),
        Some((TransactionState::PrepareAbort, 1))
    );
    let zombie = c.end_txn(8, &end_request("tx", PRODUCER_ID, 0, true, 0), 21);
    assert_eq!(only_reply(&zombie), ReplyBody::EndTxn(Err(TxnError::ProducerFenced)));

    let out = durable(&mut c, out, 22);
    assert_eq!(only_reply(&out), ReplyBody::InitProducerId(Err(TxnError::ConcurrentTransactions)));
    let markers = out.markers[0].clone();
    assert_eq!((markers.commit, markers.producer_epoch), (false, 1));
    let early = c.init_producer_id(9, &init_request("tx", TIMEOUT_MS, None), 23);
    assert_eq!(only_reply(&early), ReplyBody::InitProducerId(Err(TxnError::ConcurrentTransactions)));

    let out = c.markers_written(&markers, 24);
    durable(&mut c, out, 25);
    assert_eq!(state(&c), TransactionState::CompleteAbort);
    assert_eq!(init(&mut c, None, 26), ReplyBody::InitProducerId(Ok(ids(PRODUCER_ID, 2))));
    let zombie = c.add_partitions(10, &add_request("tx", PRODUCER_ID, 0, &parts(&[("a", 0)])), 27);
    assert_eq!(only_reply(&zombie), ReplyBody::AddPartitionsToTxn(Err(TxnError::ProducerFenced)));
}

// transaction.timeout.ms: a transaction open longer than its timeout is
// aborted by the coordinator with a bumped epoch (TransactionStateManager's
// timedOutTransactions: start + timeout < now), which fences its producer.
#[test]
fn a_timed_out_transaction_is_aborted_with_fencing() {
    let mut c = coordinator();
    ongoing(&mut c, 1_000);
    assert_eq!(c.tick(1_000 + i64::from(TIMEOUT_MS)), Output::default(), "not past the timeout yet");
    let out = c.tick(1_001 + i64::from(TIMEOUT_MS));
    assert_eq!(out.appends.len(), 1);
    assert!(out.replies.is_empty() && out.markers.is_empty());
    let out = durable(&mut c, out, 70_000);
    assert_eq!(out.markers.len(), 1);
    assert_eq!((out.markers[0].commit, out.markers[0].producer_epoch), (false, 1));
    assert!(out.replies.is_empty(), "nobody asked");
    let late = c.end_txn(3, &end_request("tx", PRODUCER_ID, 0, true, 0), 70_001);
    assert_eq!(only_reply(&late), ReplyBody::EndTxn(Err(TxnError::ProducerFenced)));
    let out = c.markers_written(&out.markers[0], 70_002);
    durable(&mut c, out, 70_003);
    assert_eq!(state(&c), TransactionState::CompleteAbort);
}

// A coordinator that crashed after PrepareCommit was durable, but before the
// markers were written, reloads the partition and writes them again, under its
// new coordinator epoch: a durable decision is always carried out.
#[test]
fn a_restart_resumes_a_prepared_commit() {
    let mut c = coordinator();
    let mut log = Vec::new();
    let run = |c: &mut TransactionCoordinator, out: Output, log: &mut Vec<TransactionLogRecord>| {
        log.extend(out.appends.iter().map(|a| a.record.clone()));
        durable(c, out, 50)
    };
    let out = c.init_producer_id(1, &init_request("tx", TIMEOUT_MS, None), 10);
    run(&mut c, out, &mut log);
    let out = c.add_partitions(2, &add_request("tx", PRODUCER_ID, 0, &parts(&[("a", 0)])), 20);
    run(&mut c, out, &mut log);
    let out = c.end_txn(3, &end_request("tx", PRODUCER_ID, 0, true, 0), 30);
    let before = run(&mut c, out, &mut log).markers;

    // The records as Kafka's bytes, read back by a new coordinator.
    let mut restarted = TransactionCoordinator::new(TransactionCoordinatorConfig::default(), PARTITION);
    restarted.start_loading(6);
    let loading = restarted.end_txn(4, &end_request("tx", PRODUCER_ID, 0, true, 0), 40);
    assert_eq!(only_reply(&loading), ReplyBody::EndTxn(Err(TxnError::CoordinatorLoadInProgress)));
    for record in &log {
        let bytes = record.value_bytes(0);
        restarted
            .load_record(
                &TransactionLogRecord::decode(&record.key_bytes(), bytes.as_deref()).expect("reads back"),
            )
            .expect("a valid record");
    }
    let out = restarted.finish_loading();
    assert_eq!(out.markers, [WriteTxnMarkers { coordinator_epoch: 6, ..before[0].clone() }]);
    // The old coordinator's report is stale; the new one's completes.
    assert_eq!(restarted.markers_written(&before[0], 60), Output::default());
    let complete = restarted.markers_written(&out.markers[0], 61);
    durable(&mut restarted, complete, 62);
    assert_eq!(state(&restarted), TransactionState::CompleteCommit);
}

// KIP-360: a producer that sends its current producer id and epoch gets the
// next epoch and may retry that call; a stale epoch is fenced, and a new
// producer (no current ids) takes the id away for good.
#[test]
fn kip_360_recovery_and_retry() {
    let mut c = coordinator();
    assert_eq!(init(&mut c, None, 0), ReplyBody::InitProducerId(Ok(ids(PRODUCER_ID, 0))));
    assert_eq!(
        init(&mut c, Some(ids(PRODUCER_ID, 0)), 1),
        ReplyBody::InitProducerId(Ok(ids(PRODUCER_ID, 1)))
    );
    assert_eq!(
        init(&mut c, Some(ids(PRODUCER_ID, 0)), 2),
        ReplyBody::InitProducerId(Ok(ids(PRODUCER_ID, 1))),
        "a retry"
    );
    let stale = c.init_producer_id(1, &init_request("tx", TIMEOUT_MS, Some(ids(PRODUCER_ID, 5))), 3);
    assert_eq!(only_reply(&stale), ReplyBody::InitProducerId(Err(TxnError::ProducerFenced)));
    let other = c.init_producer_id(1, &init_request("tx", TIMEOUT_MS, Some(ids(77, 1))), 3);
    assert_eq!(only_reply(&other), ReplyBody::InitProducerId(Err(TxnError::ProducerFenced)));
    assert_eq!(init(&mut c, None, 4), ReplyBody::InitProducerId(Ok(ids(PRODUCER_ID, 2))));
    let old = c.init_producer_id(1, &init_request("tx", TIMEOUT_MS, Some(ids(PRODUCER_ID, 1))), 5);
    assert_eq!(only_reply(&old), ReplyBody::InitProducerId(Err(TxnError::ProducerFenced)));
}

// When a producer id's epochs are used up, InitProducerId moves the
// transactional id to a fresh producer id at epoch 0 (Kafka's
// prepareProducerIdRotation), from the driver's block.
#[test]
fn an_exhausted_epoch_rotates_the_producer_id() {
    let mut c = loaded_at_the_last_epoch(TransactionState::CompleteCommit, BTreeSet::new());
    assert_eq!(init(&mut c, None, 1), ReplyBody::InitProducerId(Ok(ids(PRODUCER_ID, 0))));
    assert_eq!(c.transactions()["tx"].previous_producer_id, 42);
}

/// A coordinator that loaded "tx" as producer id 42 one epoch short of the
/// last (`i16::MAX - 1`), in `state` with `partitions`: where the epochs run
/// out at the next bump.
pub(super) fn loaded_at_the_last_epoch(
    state: TransactionState,
    partitions: BTreeSet<TopicPartition>,
) -> TransactionCoordinator {
    let mut c = coordinator();
    c.start_loading(5);
    let value = TransactionLogValue {
        producer_id: 42,
        previous_producer_id: -1,
        next_producer_id: -1,
        producer_epoch: i16::MAX - 1,
        transaction_timeout_ms: TIMEOUT_MS,
        state,
        partitions,
        last_update_timestamp_ms: 0,
        start_timestamp_ms: 0,
        client_transaction_version: 0,
    };
    c.load_record(&TransactionLogRecord { transactional_id: "tx".into(), value: Some(value) })
        .expect("a valid record");
    c.finish_loading();
    c
}

pub(super) fn init_request(
    id: &str,
    timeout_ms: i32,
    current: Option<ProducerIdAndEpoch>,
) -> InitProducerIdRequest {
    InitProducerIdRequest { transactional_id: id.into(), transaction_timeout_ms: timeout_ms, current }
}

pub(super) fn add_request(
    id: &str,
    producer_id: i64,
    producer_epoch: i16,
    partitions: &BTreeSet<TopicPartition>,
) -> AddPartitionsToTxnRequest {
    AddPartitionsToTxnRequest {
        transactional_id: id.into(),
        producer_id,
        producer_epoch,
        partitions: partitions.clone(),
    }
}

pub(super) fn offsets_request(
    id: &str,
    producer_id: i64,
    producer_epoch: i16,
    group_id: &str,
) -> AddOffsetsToTxnRequest {
    AddOffsetsToTxnRequest {
        transactional_id: id.into(),
        producer_id,
        producer_epoch,
        group_id: group_id.into(),
    }
}

pub(super) fn end_request(
    id: &str,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    version: i16,
) -> EndTxnRequest {
    EndTxnRequest {
        transactional_id: id.into(),
        producer_id,
        producer_epoch,
        commit,
        client_transaction_version: version,
    }
}
