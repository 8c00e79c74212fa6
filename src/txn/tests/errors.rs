//! Each refusal of the coordinator, and the Kafka error it answers with.

use super::*;

fn add_reply(c: &mut TransactionCoordinator, id: &str, producer_id: i64, epoch: i16) -> ReplyBody {
    only_reply(&c.add_partitions(9, &add_request(id, producer_id, epoch, &parts(&[("a", 0)])), 100))
}

fn end_reply(c: &mut TransactionCoordinator, producer_id: i64, epoch: i16, commit: bool) -> ReplyBody {
    only_reply(&c.end_txn(9, &end_request("tx", producer_id, epoch, commit, 0), 100))
}

// Requests a coordinator cannot answer: before loading (NOT_COORDINATOR),
// during it (COORDINATOR_LOAD_IN_PROGRESS), for an id of another partition
// (NOT_COORDINATOR), with an empty id (INVALID_REQUEST).
#[test]
fn ownership_and_loading() {
    let mut c = TransactionCoordinator::new(TransactionCoordinatorConfig::default(), PARTITION);
    let err = |e| ReplyBody::AddPartitionsToTxn(Err(e));
    assert_eq!(add_reply(&mut c, "tx", 1, 0), err(TxnError::NotCoordinator));
    c.start_loading(1);
    assert_eq!(add_reply(&mut c, "tx", 1, 0), err(TxnError::CoordinatorLoadInProgress));
    c.finish_loading();
    assert_eq!(add_reply(&mut c, "my-txn", 1, 0), err(TxnError::NotCoordinator), "partition 45");
    assert_eq!(add_reply(&mut c, "", 1, 0), err(TxnError::InvalidRequest));
    assert_eq!(add_reply(&mut c, "tx", 1, 0), err(TxnError::InvalidProducerIdMapping), "unknown id");
}

// InitProducerId's own checks: a timeout above transaction.max.timeout.ms or
// not positive is INVALID_TRANSACTION_TIMEOUT; with no producer id left the
// driver is asked for a block and the client retries (COORDINATOR_LOAD_IN_PROGRESS).
#[test]
fn init_producer_id_checks() {
    let mut c = coordinator();
    let too_long = c.init_producer_id(1, &init_request("tx", 900_001, None), 0);
    assert_eq!(only_reply(&too_long), ReplyBody::InitProducerId(Err(TxnError::InvalidTransactionTimeout)));
    let zero = c.init_producer_id(1, &init_request("tx", 0, None), 0);
    assert_eq!(only_reply(&zero), ReplyBody::InitProducerId(Err(TxnError::InvalidTransactionTimeout)));

    let mut c = TransactionCoordinator::new(TransactionCoordinatorConfig::default(), PARTITION);
    c.start_loading(1);
    c.finish_loading();
    let out = c.init_producer_id(1, &init_request("tx", TIMEOUT_MS, None), 0);
    assert!(out.wants_producer_ids);
    assert_eq!(only_reply(&out), ReplyBody::InitProducerId(Err(TxnError::CoordinatorLoadInProgress)));
    c.add_producer_ids(5, 1);
    assert_eq!(init(&mut c, None, 1), ReplyBody::InitProducerId(Ok(ids(5, 0))));
}

// AddPartitionsToTxn: another producer id is INVALID_PRODUCER_ID_MAPPING, an
// old epoch PRODUCER_FENCED, a change while another is pending or while the
// markers are written CONCURRENT_TRANSACTIONS; partitions already in the
// transaction are answered at once, with no record.
#[test]
fn add_partitions_checks() {
    let mut c = coordinator();
    ongoing(&mut c, 0);
    let err = |e| ReplyBody::AddPartitionsToTxn(Err(e));
    assert_eq!(add_reply(&mut c, "tx", 7, 0), err(TxnError::InvalidProducerIdMapping));
    assert_eq!(add_reply(&mut c, "tx", PRODUCER_ID, 1), err(TxnError::ProducerFenced));
    let again = c.add_partitions(9, &add_request("tx", PRODUCER_ID, 0, &parts(&[("a", 0)])), 100);
    assert_eq!((again.appends.len(), only_reply(&again)), (0, ReplyBody::AddPartitionsToTxn(Ok(()))));
    let pending = c.add_partitions(9, &add_request("tx", PRODUCER_ID, 0, &parts(&[("c", 0)])), 100);
    assert_eq!(pending.appends.len(), 1);
    assert_eq!(add_reply(&mut c, "tx", PRODUCER_ID, 0), err(TxnError::ConcurrentTransactions));
    durable(&mut c, pending, 101);
    let end = c.end_txn(9, &end_request("tx", PRODUCER_ID, 0, false, 0), 102);
    durable(&mut c, end, 103);
    assert_eq!(
        add_reply(&mut c, "tx", PRODUCER_ID, 0),
        err(TxnError::ConcurrentTransactions),
        "PrepareAbort"
    );
}

// EndTxn against each state (TransactionCoordinator.endTransaction): nothing
// open is INVALID_TXN_STATE, the other decision too, a repeat of a pending
// decision CONCURRENT_TRANSACTIONS.
#[test]
fn end_txn_checks() {
    let mut c = coordinator();
    let err = |e| ReplyBody::EndTxn(Err(e));
    assert_eq!(
        end_reply(&mut c, PRODUCER_ID, 0, true),
        err(TxnError::InvalidProducerIdMapping),
        "unknown id"
    );
    init(&mut c, None, 0);
    assert_eq!(end_reply(&mut c, PRODUCER_ID, 0, true), err(TxnError::InvalidTxnState), "Empty");
    assert_eq!(end_reply(&mut c, 7, 0, true), err(TxnError::InvalidProducerIdMapping));
    let add = c.add_partitions(9, &add_request("tx", PRODUCER_ID, 0, &parts(&[("a", 0)])), 1);
    durable(&mut c, add, 2);
    assert_eq!(end_reply(&mut c, PRODUCER_ID, 3, true), err(TxnError::ProducerFenced));
    let abort = c.end_txn(9, &end_request("tx", PRODUCER_ID, 0, false, 0), 3);
    assert_eq!(end_reply(&mut c, PRODUCER_ID, 0, false), err(TxnError::ConcurrentTransactions), "pending");
    durable(&mut c, abort, 4);
    assert_eq!(
        end_reply(&mut c, PRODUCER_ID, 0, false),
        err(TxnError::ConcurrentTransactions),
        "PrepareAbort"
    );
    assert_eq!(end_reply(&mut c, PRODUCER_ID, 0, true), err(TxnError::InvalidTxnState), "commit after abort");
}

// A failed append leaves the state as it was and answers the request with
// Kafka's mapping of the append error; an unload answers whatever waits with
// NOT_COORDINATOR and ignores later completions.
#[test]
fn failed_appends_and_unload() {
    let mut c = coordinator();
    init(&mut c, None, 0);
    let add = c.add_partitions(9, &add_request("tx", PRODUCER_ID, 0, &parts(&[("a", 0)])), 1);
    let failed = c.append_completed(add.appends[0].id, Err(AppendFailure::NotReplicated), 2);
    assert_eq!(only_reply(&failed), ReplyBody::AddPartitionsToTxn(Err(TxnError::CoordinatorNotAvailable)));
    let m = &c.transactions()["tx"];
    assert_eq!((m.state, m.pending.is_none()), (TransactionState::Empty, true));

    let add = c.add_partitions(9, &add_request("tx", PRODUCER_ID, 0, &parts(&[("a", 0)])), 3);
    assert_eq!(only_reply(&c.unload()), ReplyBody::AddPartitionsToTxn(Err(TxnError::NotCoordinator)));
    assert_eq!(c.append_completed(add.appends[0].id, Ok(()), 4), Output::default());
    assert!(c.transactions().is_empty());
}

// KIP-890 part 1: the verify-only AddPartitionsToTxn answers per partition
// whether it is in the open transaction, writes nothing, and after the
// transaction ends refuses every partition — a late produce cannot reopen it.
#[test]
fn verification_of_partitions() {
    let mut c = coordinator();
    ongoing(&mut c, 0);
    let asked = parts(&[("a", 0), ("c", 9)]);
    let answer =
        c.verify_partitions(&add_request("tx", PRODUCER_ID, 0, &asked)).expect("answers per partition");
    assert_eq!(answer[&TopicPartition::new("a", 0)], Ok(()));
    assert_eq!(answer[&TopicPartition::new("c", 9)], Err(TxnError::TransactionAbortable));
    assert_eq!(
        c.verify_partitions(&add_request("tx", PRODUCER_ID, 1, &asked)),
        Err(TxnError::ProducerFenced)
    );
    assert_eq!(
        c.verify_partitions(&add_request("tx", 7, 0, &asked)),
        Err(TxnError::InvalidProducerIdMapping)
    );

    let end = c.end_txn(9, &end_request("tx", PRODUCER_ID, 0, true, 0), 1);
    let markers = durable(&mut c, end, 2).markers;
    assert_eq!(
        c.verify_partitions(&add_request("tx", PRODUCER_ID, 0, &asked)),
        Err(TxnError::ConcurrentTransactions)
    );
    let complete = c.markers_written(&markers[0], 3);
    durable(&mut c, complete, 4);
    let answer =
        c.verify_partitions(&add_request("tx", PRODUCER_ID, 0, &asked)).expect("answers per partition");
    assert!(answer.values().all(|r| *r == Err(TxnError::TransactionAbortable)), "{answer:?}");
}

// AddOffsetsToTxn adds the group's __consumer_offsets partition (the group's
// coordinator partition), so the offsets commit with the transaction.
#[test]
fn add_offsets_adds_the_groups_partition() {
    let mut c = coordinator();
    init(&mut c, None, 0);
    let out = c.add_offsets(9, &offsets_request("tx", PRODUCER_ID, 0, "orders-eos"), 1);
    assert_eq!(only_reply(&durable(&mut c, out, 2)), ReplyBody::AddOffsetsToTxn(Ok(())));
    assert_eq!(c.transactions()["tx"].partitions, parts(&[("__consumer_offsets", 21)]));
    let empty = c.add_offsets(9, &offsets_request("tx", PRODUCER_ID, 0, ""), 3);
    assert_eq!(only_reply(&empty), ReplyBody::AddOffsetsToTxn(Err(TxnError::InvalidRequest)));
}

// transactional.id.expiration.ms: an id idle that long with nothing open is
// forgotten through a tombstone; an open transaction never expires.
#[test]
fn idle_ids_expire() {
    let config = TransactionCoordinatorConfig { transactional_id_expiration_ms: 1_000, ..Default::default() };
    let mut c = coordinator_with(config);
    init(&mut c, None, 0);
    assert_eq!(c.tick(999), Output::default());
    let out = c.tick(1_000);
    assert_eq!(out.appends.len(), 1);
    assert_eq!(out.appends[0].record.value, None, "a tombstone");
    let busy = c.init_producer_id(1, &init_request("tx", TIMEOUT_MS, None), 1_001);
    assert_eq!(only_reply(&busy), ReplyBody::InitProducerId(Err(TxnError::ConcurrentTransactions)));
    durable(&mut c, out, 1_002);
    assert!(c.transactions().is_empty());

    let config = TransactionCoordinatorConfig { transactional_id_expiration_ms: 10, ..Default::default() };
    let mut c = coordinator_with(config);
    ongoing(&mut c, 0);
    let out = c.tick(50);
    assert!(out.appends.iter().all(|a| a.record.value.is_some()), "Ongoing does not expire: {out:?}");
}

fn loaded(state: TransactionState, producer_id: i64, producer_epoch: i16) -> TransactionLogRecord {
    let value = TransactionLogValue {
        producer_id,
        previous_producer_id: -1,
        next_producer_id: -1,
        producer_epoch,
        transaction_timeout_ms: TIMEOUT_MS,
        state,
        partitions: if state.is_open() { parts(&[("a", 0)]) } else { Default::default() },
        last_update_timestamp_ms: 0,
        start_timestamp_ms: 0,
        client_transaction_version: 0,
    };
    TransactionLogRecord { transactional_id: "tx".into(), value: Some(value) }
}

// i16::MAX is the epoch only a fence reaches (exhausted epochs rotate the
// producer id first), so no producer holds it: a request claiming it is
// fenced, rather than opening a transaction that no timeout could fence again.
#[test]
fn a_claimed_fencing_epoch_is_refused() {
    let mut c = coordinator();
    c.start_loading(5);
    c.load_record(&loaded(TransactionState::CompleteAbort, 42, i16::MAX)).expect("a valid record");
    c.finish_loading();
    let claim = c.add_partitions(9, &add_request("tx", 42, i16::MAX, &parts(&[("a", 0)])), 0);
    let claim = durable(&mut c, claim, 1);
    assert_eq!(only_reply(&claim), ReplyBody::AddPartitionsToTxn(Err(TxnError::ProducerFenced)));
    let timeout = c.tick(10 * i64::from(TIMEOUT_MS));
    durable(&mut c, timeout, 10 * i64::from(TIMEOUT_MS));
}

// Records in states Kafka never writes (Dead, PrepareEpochFence) or with a
// negative producer id are refused when loading, so a corrupt
// `__transaction_state` cannot make a later request hit an impossible state.
#[test]
fn impossible_records_are_refused_when_loading() {
    let mut c = coordinator();
    c.start_loading(5);
    let _ = c.load_record(&loaded(TransactionState::PrepareEpochFence, 42, 3));
    let _ = c.load_record(&loaded(TransactionState::Ongoing, -5, 3));
    c.finish_loading();
    let answer = init(&mut c, None, 0);
    assert!(matches!(answer, ReplyBody::InitProducerId(Ok(_))), "{answer:?}");

    c.start_loading(6);
    for state in [TransactionState::Dead, TransactionState::PrepareEpochFence] {
        assert!(c.load_record(&loaded(state, 42, 3)).is_err(), "{state}");
    }
    assert!(c.load_record(&loaded(TransactionState::Ongoing, -5, 3)).is_err());
    assert!(c.load_record(&loaded(TransactionState::Ongoing, 42, -2)).is_err());
}

// A transactional id whose first InitProducerId failed to append has a
// producer id but no epoch yet (-1): a request naming that producer id with
// epoch -1 is refused as INVALID_PRODUCER_ID_MAPPING, not taken as a producer's.
#[test]
fn a_producer_id_without_an_epoch_is_nobodys() {
    let mut c = coordinator();
    let out = c.init_producer_id(1, &init_request("tx", TIMEOUT_MS, None), 0);
    c.append_completed(out.appends[0].id, Err(AppendFailure::NotReplicated), 1);
    let add = c.add_partitions(2, &add_request("tx", PRODUCER_ID, -1, &parts(&[("a", 0)])), 2);
    assert_eq!(only_reply(&add), ReplyBody::AddPartitionsToTxn(Err(TxnError::InvalidProducerIdMapping)));
    let end = c.end_txn(3, &end_request("tx", PRODUCER_ID, -1, true, 2), 3);
    assert_eq!(only_reply(&end), ReplyBody::EndTxn(Err(TxnError::InvalidProducerIdMapping)));
    let verify = c.verify_partitions(&add_request("tx", PRODUCER_ID, -1, &parts(&[("a", 0)])));
    assert_eq!(verify, Err(TxnError::InvalidProducerIdMapping));
}

// DescribeTransactions and ListTransactions (KIP-664, KIP-994's duration
// filter) read the metadata: an unknown id is TRANSACTIONAL_ID_NOT_FOUND, a
// loading partition COORDINATOR_LOAD_IN_PROGRESS, one not ours lists nothing.
#[test]
fn describe_and_list() {
    let mut c = coordinator();
    assert_eq!(c.describe_transaction("tx"), Err(TxnError::TransactionalIdNotFound));
    ongoing(&mut c, 100);
    let described = c.describe_transaction("tx").expect("described");
    assert_eq!(
        (described.state, described.producer_id, described.transaction_start_time_ms),
        (TransactionState::Ongoing, PRODUCER_ID, 100)
    );
    assert_eq!(described.partitions, parts(&[("a", 0), ("b", 1)]));

    let listed = |c: &TransactionCoordinator, filter: ListTransactionsFilter| {
        c.list_transactions(&filter, 1_000)
            .map(|l| l.into_iter().map(|t| t.transactional_id).collect::<Vec<_>>())
    };
    let all = ListTransactionsFilter { duration_ms_min: -1, ..Default::default() };
    assert_eq!(listed(&c, all.clone()), Ok(vec!["tx".to_owned()]));
    let ongoing_only = BTreeSet::from([TransactionState::from_name("Ongoing").expect("a state")]);
    assert_eq!(
        listed(&c, ListTransactionsFilter { states: ongoing_only, ..all.clone() }).map(|l| l.len()),
        Ok(1)
    );
    let empty_only = BTreeSet::from([TransactionState::Empty]);
    assert_eq!(
        listed(&c, ListTransactionsFilter { states: empty_only, ..all.clone() }).map(|l| l.len()),
        Ok(0)
    );
    let other_producer = BTreeSet::from([7]);
    assert_eq!(
        listed(&c, ListTransactionsFilter { producer_ids: other_producer, ..all.clone() }).map(|l| l.len()),
        Ok(0)
    );
    assert_eq!(
        listed(&c, ListTransactionsFilter { duration_ms_min: 900, ..all.clone() }).map(|l| l.len()),
        Ok(0),
        "running 900 ms"
    );
    assert_eq!(
        listed(&c, ListTransactionsFilter { duration_ms_min: 899, ..all.clone() }).map(|l| l.len()),
        Ok(1)
    );

    c.start_loading(6);
    assert_eq!(listed(&c, all.clone()), Err(TxnError::CoordinatorLoadInProgress));
    assert_eq!(c.describe_transaction("tx"), Err(TxnError::CoordinatorLoadInProgress));
    c.unload();
    assert_eq!(listed(&c, all), Ok(vec![]));
}
