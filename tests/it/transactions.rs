//! Chapter 9's transaction coordinator over real TCP, on one broker: the
//! coordinator found with FindCoordinator (key type 1), `__transaction_state`
//! created on that first lookup, InitProducerId with a transactional id,
//! AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, DescribeTransactions and
//! ListTransactions (KIP-98, KIP-664), spoken by the raw client of
//! `tests/it/wire/`. Real transactional clients are `tests/it/transactions_clients.rs`.
//!
//! ```text
//! cargo test --test it transactions::
//! ```

use crate::common::batches;
use crate::wire::harness;
use crate::wire::requests;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::describe_transactions_response::TransactionState;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, DescribeTransactionsRequest, EndTxnRequest,
    FindCoordinatorRequest, GroupId, InitProducerIdRequest, ListTransactionsRequest, ProducerId,
    TransactionalId, TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::config::BrokerConfig;
use spool::format::{BatchBuilder, RecordBatch};
use spool::log::manager::lock;
use spool::txn::{
    partition_for, TransactionLogRecord, TransactionLogValue, TransactionState as TxnState,
    TRANSACTION_STATE_TOPIC,
};
use spool::TopicPartition;

use batches::batch_of;
use harness::{code, name, start, start_in, Client, FETCH_V};
use requests::{create_topic, fetch_one, fetch_request, metadata, produce_request};

const INIT_V: i16 = 4;
const ADD_V: i16 = 3;
const END_V: i16 = 3;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn tid(v: &str) -> TransactionalId {
    TransactionalId(s(v))
}

/// Three `__transaction_state` partitions, so a test's log stays small.
fn small(config: &mut BrokerConfig) {
    config.transactions.state_log_num_partitions = 3;
}

/// InitProducerId for `id`: (error code, producer id, epoch).
async fn init(client: &mut Client, id: &str, timeout_ms: i32) -> (i16, i64, i16) {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(tid(id)))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r = client.request(INIT_V, &request).await;
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

/// AddPartitionsToTxn (v3, the clients' form): each partition's error code.
async fn add(
    client: &mut Client,
    id: &str,
    pid: i64,
    epoch: i16,
    topic: &str,
    partitions: &[i32],
) -> Vec<i16> {
    let request = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid(id))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(name(topic))
            .with_partitions(partitions.to_vec())]);
    let r = client.request(ADD_V, &request).await;
    (r.results_by_topic_v3_and_below.iter())
        .flat_map(|t| t.results_by_partition.iter().map(|p| p.partition_error_code))
        .collect()
}

async fn end(client: &mut Client, version: i16, id: &str, pid: i64, epoch: i16, commit: bool) -> i16 {
    let request = EndTxnRequest::default()
        .with_transactional_id(tid(id))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    client.request(version, &request).await.error_code
}

async fn describe(client: &mut Client, id: &str) -> TransactionState {
    let request = DescribeTransactionsRequest::default().with_transactional_ids(vec![tid(id)]);
    client.request(0, &request).await.transaction_states.remove(0)
}

/// Describes `id` until its state is `state` (the markers are written in the
/// background), or panics after a bound that only catches a hang.
async fn wait_for_state(client: &mut Client, id: &str, state: &str) -> TransactionState {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = describe(client, id).await;
        if d.transaction_state.as_str() == state {
            return d;
        }
        assert!(Instant::now() < deadline, "{id} still {} rather than {state}", d.transaction_state);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One transactional batch of `values`, as a transactional producer stamps it.
fn txn_batch(pid: i64, epoch: i16, base_sequence: i32, values: &[&str]) -> Bytes {
    let builder = BatchBuilder::default().producer(pid, epoch, base_sequence).transactional(true);
    batch_of(builder, values.iter().map(|v| (now_ms(), "key", v)))
}

/// A transactional producer's Produce of `records` to `t-partition`,
/// carrying its transactional id: the leader asks the coordinator about a
/// transaction's first batch there (KIP-890 part 1).
async fn produce_in(
    client: &mut Client,
    id: &str,
    partition: i32,
    records: Bytes,
) -> kafka_protocol::messages::produce_response::PartitionProduceResponse {
    let request = produce_request("t", partition, records, -1).with_transactional_id(Some(tid(id)));
    let mut response = client.request(harness::PRODUCE_V, &request).await;
    response.responses.remove(0).partition_responses.remove(0)
}

/// The values a read_committed (or read_uncommitted) consumer reads from
/// `topic-partition`, filtering as a client does: control batches are
/// skipped, and read_committed drops the batches of each aborted transaction
/// the answer lists (KIP-98's consumer side).
async fn read(client: &mut Client, topic: &str, partition: i32, committed: bool) -> Vec<String> {
    let request = fetch_request(topic, partition, 0, 0, 0).with_isolation_level(i8::from(committed));
    let data = fetch_one(client.request(FETCH_V, &request).await);
    let aborted: Vec<(i64, i64)> =
        (data.aborted_transactions.iter().flatten()).map(|t| (t.producer_id.0, t.first_offset)).collect();
    let mut values = Vec::new();
    let mut rest = data.records.clone().unwrap_or_default();
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).expect("whole batches");
        rest = tail;
        let dropped =
            aborted.iter().any(|&(pid, first)| pid == batch.producer_id() && first <= batch.base_offset());
        if batch.is_control() || (committed && dropped) {
            continue;
        }
        for r in batch.decode_records().expect("records decode") {
            values.push(String::from_utf8(r.value.expect("a value").to_vec()).expect("utf-8"));
        }
    }
    values
}

/// The first FindCoordinator for a transactional id creates
/// `__transaction_state` as Kafka's `TransactionStateManager` does
/// (`transaction.state.log.num.partitions`, compacted, internal) and names
/// this broker, in both the single-key (v3) and batched (v4, KIP-699) forms.
#[tokio::test]
async fn find_coordinator_creates_the_transaction_state_topic() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    let found =
        client.request(3, &FindCoordinatorRequest::default().with_key(s("tx")).with_key_type(1)).await;
    assert_eq!((found.error_code, found.node_id.0, found.port), (0, 1, i32::from(broker.addr.port())));
    let batched =
        FindCoordinatorRequest::default().with_key_type(1).with_coordinator_keys(vec![s("a"), s("b")]);
    let v4 = client.request(4, &batched).await;
    assert!(v4.coordinators.iter().all(|c| c.error_code == 0 && c.node_id.0 == 1), "{v4:?}");

    let topics = metadata(&mut client, Some(&[TRANSACTION_STATE_TOPIC]), false).await;
    assert_eq!((topics[0].error_code, topics[0].partitions.len()), (0, 3));
    assert!(topics[0].is_internal);
    let image = broker.broker().metadata_image().topic(TRANSACTION_STATE_TOPIC).cloned().unwrap();
    assert_eq!(image.configs.get("cleanup.policy").map(String::as_str), Some("compact"));
    assert_eq!(broker.broker().transactions().lock().len(), 3, "a coordinator per partition");
    broker.stop().await;
}

/// A transaction's first phase (KIP-98): InitProducerId gives the id a
/// producer id at epoch 0, AddPartitionsToTxn and AddOffsetsToTxn put
/// partitions in it, DescribeTransactions and ListTransactions (KIP-664) show
/// it Ongoing; a second InitProducerId bumps the epoch.
#[tokio::test]
async fn partitions_join_an_ongoing_transaction() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 2, &[]).await;
    let (error, pid, epoch) = init(&mut client, "tx-1", 60_000).await;
    assert_eq!((error, epoch), (0, 0));
    assert!(pid >= 0);
    assert_eq!(add(&mut client, "tx-1", pid, epoch, "t", &[0, 1]).await, vec![0, 0]);
    let offsets = AddOffsetsToTxnRequest::default()
        .with_transactional_id(tid("tx-1"))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_group_id(GroupId(s("g")));
    assert_eq!(client.request(3, &offsets).await.error_code, 0);

    let d = describe(&mut client, "tx-1").await;
    assert_eq!((d.error_code, d.transaction_state.as_str(), d.producer_id.0), (0, "Ongoing", pid));
    let mut topics: Vec<(String, Vec<i32>)> =
        d.topics.iter().map(|t| (t.topic.0.to_string(), t.partitions.clone())).collect();
    topics.sort();
    assert_eq!(topics[1], ("t".to_string(), vec![0, 1]));
    assert_eq!(topics[0].0, "__consumer_offsets");

    let listed = client.request(1, &ListTransactionsRequest::default().with_duration_filter(-1)).await;
    assert_eq!(listed.error_code, 0);
    let ids: Vec<(&str, &str)> = listed
        .transaction_states
        .iter()
        .map(|t| (t.transactional_id.0.as_str(), t.transaction_state.as_str()))
        .collect();
    assert_eq!(ids, vec![("tx-1", "Ongoing")]);
    let unknown = ListTransactionsRequest::default().with_state_filters(vec![s("Nonsense")]);
    assert_eq!(client.request(1, &unknown).await.unknown_state_filters, vec![s("Nonsense")]);

    let (error, _, other) = init(&mut client, "tx-2", 60_000).await;
    assert_eq!((error, other), (0, 0));
    broker.stop().await;
}

/// A new producer with the same transactional id fences the old one
/// (KIP-98's zombie fencing): its InitProducerId aborts the open transaction
/// first, answering CONCURRENT_TRANSACTIONS until the abort is written, and
/// then the old producer's EndTxn is PRODUCER_FENCED — INVALID_PRODUCER_EPOCH
/// for a version before KIP-588 (EndTxn v0–v1).
#[tokio::test]
async fn a_new_producer_fences_the_old_one() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let (_, pid, epoch) = init(&mut client, "tx", 60_000).await;
    assert_eq!(add(&mut client, "tx", pid, epoch, "t", &[0]).await, vec![0]);

    let (error, _, _) = init(&mut client, "tx", 60_000).await;
    assert_eq!(error, code(ResponseError::ConcurrentTransactions));
    assert_eq!(end(&mut client, END_V, "tx", pid, epoch, true).await, code(ResponseError::ProducerFenced));
    assert_eq!(end(&mut client, 1, "tx", pid, epoch, true).await, code(ResponseError::InvalidProducerEpoch));
    broker.stop().await;
}

/// What a client gets wrong gets Kafka's error, never a panic: an unknown
/// topic (UNKNOWN_TOPIC_OR_PARTITION, and OPERATION_NOT_ATTEMPTED for the
/// request's other partitions), an empty transactional id (INVALID_REQUEST),
/// a timeout over `transaction.max.timeout.ms`, an EndTxn for an id no
/// producer initialized, and an AddPartitionsToTxn from an unknown producer id.
#[tokio::test]
async fn bad_requests_get_kafkas_errors() {
    let broker = start(|c| {
        small(c);
        c.transactions.coordinator.transaction_timeout_ms_max = 60_000;
    })
    .await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let (error, _, _) = init(&mut client, "", 60_000).await;
    assert_eq!(error, code(ResponseError::InvalidRequest));
    let (error, _, _) = init(&mut client, "tx", 60_001).await;
    assert_eq!(error, code(ResponseError::InvalidTransactionTimeout));
    let (_, pid, epoch) = init(&mut client, "tx", 60_000).await;

    let request = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid("tx"))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![
            AddPartitionsToTxnTopic::default().with_name(name("t")).with_partitions(vec![0]),
            AddPartitionsToTxnTopic::default().with_name(name("nope")).with_partitions(vec![0]),
        ]);
    let r = client.request(ADD_V, &request).await;
    let codes: Vec<(String, i16)> = (r.results_by_topic_v3_and_below.iter())
        .map(|t| (t.name.0.to_string(), t.results_by_partition[0].partition_error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("nope".into(), code(ResponseError::UnknownTopicOrPartition)),
            ("t".into(), code(ResponseError::OperationNotAttempted))
        ]
    );
    assert_eq!(describe(&mut client, "tx").await.transaction_state.as_str(), "Empty");

    let mapping = code(ResponseError::InvalidProducerIdMapping);
    assert_eq!(
        end(&mut client, END_V, "never", 7, 0, true).await,
        code(ResponseError::InvalidProducerIdMapping)
    );
    assert_eq!(add(&mut client, "tx", pid + 1000, epoch, "t", &[0]).await, vec![mapping]);
    let missing = describe(&mut client, "never").await;
    assert_eq!(missing.error_code, code(ResponseError::TransactionalIdNotFound));
    broker.stop().await;
}

/// Transaction calls made out of turn get Kafka's errors, on a connection
/// that stays usable (issue 15 §4): AddOffsetsToTxn before any InitProducerId
/// of its id, and EndTxn naming another producer id, are
/// INVALID_PRODUCER_ID_MAPPING; EndTxn with nothing in the transaction is
/// INVALID_TXN_STATE (Kafka's `endTransaction` from Empty, EndTxn v0–4).
#[tokio::test]
async fn transaction_calls_out_of_turn_get_kafkas_errors() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    let offsets = |id: &str, pid: i64, epoch: i16| {
        AddOffsetsToTxnRequest::default()
            .with_transactional_id(tid(id))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(s("g")))
    };
    create_topic(&mut client, "in", 1, &[]).await;
    let (_, pid, epoch) = init(&mut client, "tx", 60_000).await;
    let mapping = code(ResponseError::InvalidProducerIdMapping);
    assert_eq!(client.request(3, &offsets("nobody", 7, 0)).await.error_code, mapping);
    assert_eq!(end(&mut client, END_V, "tx", pid + 1, epoch, true).await, mapping);
    assert_eq!(end(&mut client, END_V, "tx", pid, epoch, true).await, code(ResponseError::InvalidTxnState));
    assert_eq!(describe(&mut client, "tx").await.transaction_state.as_str(), "Empty");
    broker.stop().await;
}

/// A TxnOffsetCommit outside the producer's transaction — its
/// `__consumer_offsets` partition never added by AddOffsetsToTxn — is
/// INVALID_TXN_STATE in Kafka: the group coordinator writes through KIP-890's
/// verification (`CoordinatorRuntime::scheduleTransactionalWriteOperation`,
/// `transaction.partition.verification.enable`, on by default), which asks
/// the transaction coordinator and refuses a partition not in the
/// transaction, as spool does (`src/broker/groups/txn_verify.rs`). Without
/// it, the offsets would wait for a marker that never comes to that partition.
#[tokio::test]
async fn txn_offset_commit_outside_the_transaction_is_invalid_txn_state() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "in", 1, &[]).await;
    let (_, pid, epoch) = init(&mut client, "tx", 60_000).await;
    let commit = TxnOffsetCommitRequest::default()
        .with_transactional_id(tid("tx"))
        .with_group_id(GroupId(s("g")))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_generation_id(-1)
        .with_topics(vec![TxnOffsetCommitRequestTopic::default()
            .with_name(name("in"))
            .with_partitions(vec![TxnOffsetCommitRequestPartition::default().with_committed_offset(5)])]);
    let r = client.request(3, &commit).await;
    let codes: Vec<i16> = r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect();
    assert_eq!(codes, vec![code(ResponseError::InvalidTxnState)]);
    assert_eq!(describe(&mut client, "tx").await.transaction_state.as_str(), "Empty");
    broker.stop().await;
}

/// KIP-890 part 1's verify-only AddPartitionsToTxn (v4, batched), as a
/// partition leader sends it: a partition in the transaction is fine, one
/// not in it is INVALID_TXN_STATE (TRANSACTION_ABORTABLE from v5), and
/// nothing is added.
#[tokio::test]
async fn verify_only_checks_without_adding() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 2, &[]).await;
    let (_, pid, epoch) = init(&mut client, "tx", 60_000).await;
    assert_eq!(add(&mut client, "tx", pid, epoch, "t", &[0]).await, vec![0]);
    let verify =
        AddPartitionsToTxnRequest::default().with_transactions(vec![AddPartitionsToTxnTransaction::default(
        )
        .with_transactional_id(tid("tx"))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_verify_only(true)
        .with_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(name("t"))
            .with_partitions(vec![0, 1])])]);
    let r = client.request(4, &verify).await;
    let codes: Vec<i16> = r.results_by_transaction[0].topic_results[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect();
    assert_eq!(codes, vec![0, code(ResponseError::InvalidTxnState)]);
    assert_eq!(describe(&mut client, "tx").await.topics[0].partitions, vec![0]);
    broker.stop().await;
}

/// The coordinator's state is its log: after a restart the broker loads
/// `__transaction_state` and the open transaction is there, at the same
/// producer id and epoch, with its partitions.
#[tokio::test]
async fn an_open_transaction_survives_a_restart() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 2, &[]).await;
    let (_, pid, epoch) = init(&mut client, "tx", 60_000).await;
    assert_eq!(add(&mut client, "tx", pid, epoch, "t", &[0, 1]).await, vec![0, 0]);
    drop(client);
    let dir = broker.stop().await;

    let broker = start_in(dir, small).await;
    let mut client = broker.client().await;
    let d = describe(&mut client, "tx").await;
    assert_eq!((d.transaction_state.as_str(), d.producer_id.0, d.producer_epoch), ("Ongoing", pid, epoch));
    assert_eq!(d.topics[0].partitions, vec![0, 1]);
    broker.stop().await;
}

/// Both phases of KIP-98's commit, end to end on one broker: EndTxn(commit)
/// records PrepareCommit, the coordinator writes a COMMIT marker to each
/// partition (WriteTxnMarkers to itself, called directly), then records
/// CompleteCommit; a read_committed consumer sees the records only then. An
/// abort ends the same way with ABORT markers, and read_committed never sees
/// its records while read_uncommitted does.
#[tokio::test]
async fn commit_and_abort_write_their_markers() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 2, &[]).await;
    let (_, pid, epoch) = init(&mut client, "tx", 60_000).await;

    assert_eq!(add(&mut client, "tx", pid, epoch, "t", &[0, 1]).await, vec![0, 0]);
    for p in [0, 1] {
        assert_eq!(
            produce_in(&mut client, "tx", p, txn_batch(pid, epoch, 0, &["c1", "c2"])).await.error_code,
            0
        );
    }
    assert!(read(&mut client, "t", 0, true).await.is_empty(), "open: hidden from read_committed");
    assert_eq!(end(&mut client, END_V, "tx", pid, epoch, true).await, 0);
    let d = wait_for_state(&mut client, "tx", "CompleteCommit").await;
    assert!(d.topics.is_empty());
    for p in [0, 1] {
        assert_eq!(read(&mut client, "t", p, true).await, vec!["c1", "c2"]);
        let partition = broker.broker().partition(&TopicPartition::new("t", p)).unwrap();
        assert_eq!(lock(&partition.log).log_end_offset(), 3, "two records and the COMMIT marker");
    }

    assert_eq!(add(&mut client, "tx", pid, epoch, "t", &[0]).await, vec![0]);
    assert_eq!(produce_in(&mut client, "tx", 0, txn_batch(pid, epoch, 2, &["a1"])).await.error_code, 0);
    assert_eq!(end(&mut client, END_V, "tx", pid, epoch, false).await, 0);
    wait_for_state(&mut client, "tx", "CompleteAbort").await;
    assert_eq!(read(&mut client, "t", 0, false).await, vec!["c1", "c2", "a1"]);
    let partition = broker.broker().partition(&TopicPartition::new("t", 0)).unwrap();
    {
        let log = lock(&partition.log);
        assert_eq!((log.log_end_offset(), log.last_stable_offset()), (5, 5), "the ABORT marker ends it");
        assert_eq!(log.collect_aborted_transactions(0, 5).len(), 1, "the abort is indexed");
    }
    broker.stop().await;
}

/// A transaction open longer than its `transaction.timeout.ms` is aborted by
/// the coordinator itself (Kafka's `abortTimedOutTransactions`, every
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms`): its
/// partitions get ABORT markers, and the producer, whose epoch was bumped, is fenced.
#[tokio::test]
async fn a_timed_out_transaction_is_aborted() {
    let broker = start(|c| {
        small(c);
        c.transactions.abort_timed_out_cleanup_interval_ms = 50;
    })
    .await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    // Long enough for the produce below to land in the open transaction
    // (KIP-890 would refuse it after the abort), short for the test.
    let (_, pid, epoch) = init(&mut client, "tx", 1_000).await;
    assert_eq!(add(&mut client, "tx", pid, epoch, "t", &[0]).await, vec![0]);
    assert_eq!(produce_in(&mut client, "tx", 0, txn_batch(pid, epoch, 0, &["late"])).await.error_code, 0);

    let d = wait_for_state(&mut client, "tx", "CompleteAbort").await;
    assert!(d.producer_epoch > epoch, "the abort fenced the producer's epoch");
    assert_eq!(end(&mut client, END_V, "tx", pid, epoch, true).await, code(ResponseError::ProducerFenced));
    assert!(read(&mut client, "t", 0, true).await.is_empty());
    broker.stop().await;
}

/// A decision recorded before a stop is carried out after it: the markers
/// of a transaction whose last record is PrepareCommit are written by the
/// coordinator that loads it (Kafka's `loadTransactionsForTxnTopicPartition`
/// sends them again). The PrepareCommit record is appended by hand, as a
/// coordinator that stopped between the record and its markers left it.
#[tokio::test]
async fn a_prepared_commit_is_finished_after_a_restart() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let (_, pid, epoch) = init(&mut client, "tx", 60_000).await;
    assert_eq!(add(&mut client, "tx", pid, epoch, "t", &[0]).await, vec![0]);
    assert_eq!(produce_in(&mut client, "tx", 0, txn_batch(pid, epoch, 0, &["kept"])).await.error_code, 0);
    let ongoing =
        broker.broker().transactions().lock().values().find_map(|c| c.transactions().get("tx").cloned());
    let ongoing = ongoing.expect("tx is loaded");
    let prepared = TransactionLogRecord {
        transactional_id: "tx".into(),
        value: Some(TransactionLogValue {
            producer_id: pid,
            previous_producer_id: -1,
            next_producer_id: -1,
            producer_epoch: epoch,
            transaction_timeout_ms: 60_000,
            state: TxnState::PrepareCommit,
            partitions: BTreeSet::from([TopicPartition::new("t", 0)]),
            last_update_timestamp_ms: now_ms(),
            start_timestamp_ms: ongoing.txn_start_timestamp_ms,
            client_transaction_version: 0,
        }),
    };
    let state_tp = TopicPartition::new(TRANSACTION_STATE_TOPIC, partition_for("tx", 3));
    let mut builder = BatchBuilder::default();
    builder.append(now_ms(), Some(&prepared.key_bytes()), prepared.value_bytes(0).as_deref(), &[]);
    let state = broker.broker().partition(&state_tp).unwrap();
    lock(&state.log).append(BytesMut::from(&builder.build().as_bytes()[..]), 0, now_ms()).unwrap();
    drop(client);
    let dir = broker.stop().await;

    let broker = start_in(dir, small).await;
    let mut client = broker.client().await;
    wait_for_state(&mut client, "tx", "CompleteCommit").await;
    assert_eq!(read(&mut client, "t", 0, true).await, vec!["kept"]);
    broker.stop().await;
}
