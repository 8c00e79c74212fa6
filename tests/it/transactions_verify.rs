//! KIP-890 part 1 over real TCP, on one broker: a partition leader appends a
//! producer's first transactional batch only once the transaction
//! coordinator confirms the partition is in the producer's open transaction
//! (`transaction.partition.verification.enable`, on by default). Without
//! that, a late batch of an ended transaction opens one no coordinator
//! knows, which pins the partition's last stable offset for good: the
//! hanging transaction of KAFKA-14402 (`check transactions --bug
//! hanging-transaction` in the model). The group coordinator's
//! TxnOffsetCommit goes through the same verification for its group's
//! `__consumer_offsets` partition (Kafka's `GroupCoordinator.handleTxnCommitOffsets`):
//! a commit whose offsets partition is not in the transaction (no
//! AddOffsetsToTxn) would hang that partition the same way. Spoken by the
//! raw client of `tests/it/wire/`.
//!
//! ```text
//! cargo test --test it transactions_verify::
//! ```

use crate::common::batches;
use crate::wire::harness;
use crate::wire::requests;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, DescribeTransactionsRequest, EndTxnRequest, GroupId,
    InitProducerIdRequest, OffsetFetchRequest, ProducerId, TransactionalId, TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::config::BrokerConfig;
use spool::format::BatchBuilder;
use spool::group::{partition_for, CONSUMER_OFFSETS_TOPIC};
use spool::log::manager::lock;
use spool::TopicPartition;

use batches::batch_of;
use harness::{code, name, start, Client, TestBroker, PRODUCE_V};
use requests::{create_topic, produce_request};

const TOPIC: &str = "t";
const TXN: &str = "tx";
const GROUP: &str = "g";
/// `__consumer_offsets`' partitions in these tests.
const OFFSETS_PARTITIONS: i32 = 3;

fn tid(v: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(v.to_string()))
}

/// Three `__transaction_state` (and `__consumer_offsets`) partitions, so a
/// test's logs stay small.
fn small(config: &mut BrokerConfig) {
    config.transactions.state_log_num_partitions = 3;
    config.offsets_topic_num_partitions = OFFSETS_PARTITIONS;
}

/// The same, with KIP-890's verification switched off (Kafka before 3.6).
fn unverified(config: &mut BrokerConfig) {
    small(config);
    config.transactions.partition_verification_enable = false;
}

/// InitProducerId for [`TXN`]: (producer id, epoch).
async fn init(client: &mut Client) -> (i64, i16) {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(tid(TXN)))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r = client.request(4, &request).await;
    assert_eq!(r.error_code, 0);
    (r.producer_id.0, r.producer_epoch)
}

/// AddPartitionsToTxn (v3, the clients' form) of [`TOPIC`]'s `partition`.
async fn add(client: &mut Client, pid: i64, epoch: i16, partition: i32) {
    let request = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid(TXN))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(name(TOPIC))
            .with_partitions(vec![partition])]);
    let r = client.request(3, &request).await;
    assert_eq!(r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code, 0);
}

/// EndTxn, then waits until the coordinator has written every marker.
async fn end(client: &mut Client, pid: i64, epoch: i16, commit: bool) {
    let request = EndTxnRequest::default()
        .with_transactional_id(tid(TXN))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    assert_eq!(client.request(3, &request).await.error_code, 0);
    let done = if commit { "CompleteCommit" } else { "CompleteAbort" };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let request = DescribeTransactionsRequest::default().with_transactional_ids(vec![tid(TXN)]);
        let state = client.request(0, &request).await.transaction_states.remove(0).transaction_state;
        if state.as_str() == done {
            return;
        }
        assert!(Instant::now() < deadline, "{TXN} still {state}, not {done}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One transactional batch, as a transactional producer stamps it.
fn txn_batch(pid: i64, epoch: i16, base_sequence: i32, values: &[&str]) -> Bytes {
    let builder = BatchBuilder::default().producer(pid, epoch, base_sequence).transactional(true);
    batch_of(builder, values.iter().map(|v| (now_ms(), "key", v)))
}

/// A Produce of `records` to [`TOPIC`]'s `partition`, carrying the
/// transactional id as a transactional producer's request does.
async fn produce(
    client: &mut Client,
    transactional_id: Option<&str>,
    partition: i32,
    records: Bytes,
) -> PartitionProduceResponse {
    let request =
        produce_request(TOPIC, partition, records, -1).with_transactional_id(transactional_id.map(tid));
    let response = client.request(PRODUCE_V, &request).await;
    response.responses[0].partition_responses[0].clone()
}

/// (log end offset, last stable offset) of [`TOPIC`]'s `partition`.
fn offsets(broker: &TestBroker, partition: i32) -> (i64, i64) {
    let p = broker.broker().partition(&TopicPartition::new(TOPIC, partition)).expect("the partition");
    let log = lock(&p.log);
    (log.log_end_offset(), log.last_stable_offset())
}

/// The hanging transaction on the wire: InitProducerId, AddPartitionsToTxn,
/// EndTxn(abort) with its marker written, then a late Produce of that
/// transaction's batch. Returns the late produce's answer.
async fn late_produce_after_abort(broker: &TestBroker, client: &mut Client) -> PartitionProduceResponse {
    create_topic(client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(client).await;
    add(client, pid, epoch, 0).await;
    end(client, pid, epoch, false).await;
    assert_eq!(offsets(broker, 0), (1, 1), "the ABORT marker alone, decided");
    // The abort bumped nothing for a v3 EndTxn: the late batch carries the
    // producer's current id and epoch, as a retry in flight does.
    produce(client, Some(TXN), 0, txn_batch(pid, epoch, 0, &["late"])).await
}

/// KAFKA-14402 reproduced, with verification off: the late batch is appended
/// and opens a transaction the coordinator has already ended, so nothing
/// will ever write its marker — the partition's last stable offset stays at
/// the late batch while the log moves on, and read_committed readers stop there.
#[tokio::test]
async fn without_verification_a_late_produce_hangs_the_partition() {
    let broker = start(unverified).await;
    let mut client = broker.client().await;
    let late = late_produce_after_abort(&broker, &mut client).await;
    assert_eq!((late.error_code, late.base_offset), (0, 1), "appended after the marker");
    let plain = batch_of(BatchBuilder::default(), [(now_ms(), "key", "after")]);
    assert_eq!(produce(&mut client, None, 0, plain).await.error_code, 0);
    assert_eq!(offsets(&broker, 0), (3, 1), "the LSO is pinned at the late batch");
    broker.stop().await;
}

/// KIP-890 part 1 (the default): the same late batch is refused with
/// INVALID_TXN_STATE (Produce v9: TRANSACTION_ABORTABLE is for v11 clients),
/// nothing is written, and the last stable offset follows the log end.
#[tokio::test]
async fn with_verification_a_late_produce_is_refused() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    let late = late_produce_after_abort(&broker, &mut client).await;
    assert_eq!(late.error_code, code(ResponseError::InvalidTxnState));
    let plain = batch_of(BatchBuilder::default(), [(now_ms(), "key", "after")]);
    assert_eq!(produce(&mut client, None, 0, plain).await.error_code, 0);
    assert_eq!(offsets(&broker, 0), (2, 2), "nothing open: the LSO is the log end");
    broker.stop().await;
}

/// A producer that did add the partition: its first transactional batch is
/// verified and appended, the next ones need no verification, and the
/// commit ends the transaction there as usual.
#[tokio::test]
async fn a_partition_in_the_transaction_is_verified_and_appended() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    add(&mut client, pid, epoch, 0).await;
    let first = produce(&mut client, Some(TXN), 0, txn_batch(pid, epoch, 0, &["a", "b"])).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    let second = produce(&mut client, Some(TXN), 0, txn_batch(pid, epoch, 2, &["c"])).await;
    assert_eq!((second.error_code, second.base_offset), (0, 2));
    assert_eq!(offsets(&broker, 0), (3, 0), "open: the LSO waits at its first batch");
    end(&mut client, pid, epoch, true).await;
    assert_eq!(offsets(&broker, 0), (4, 4), "committed: the marker decides it");
    broker.stop().await;
}

/// A producer whose partition was never added to its transaction is
/// refused there (INVALID_TXN_STATE), while the partition it did add takes
/// its batch; a transactional batch in a request without a transactional
/// id cannot be verified, and is refused the same way.
#[tokio::test]
async fn a_partition_not_in_the_transaction_is_refused() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 2, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    add(&mut client, pid, epoch, 0).await;
    let stray = produce(&mut client, Some(TXN), 1, txn_batch(pid, epoch, 0, &["stray"])).await;
    assert_eq!(stray.error_code, code(ResponseError::InvalidTxnState));
    assert_eq!(offsets(&broker, 1), (0, 0), "nothing written");
    let anonymous = produce(&mut client, None, 0, txn_batch(pid, epoch, 0, &["who"])).await;
    assert_eq!(anonymous.error_code, code(ResponseError::InvalidTxnState));
    assert_eq!(produce(&mut client, Some(TXN), 0, txn_batch(pid, epoch, 0, &["ok"])).await.error_code, 0);
    broker.stop().await;
}

/// A zombie: a producer fenced by a newer InitProducerId of its
/// transactional id writes to a partition its old transaction had added.
/// The coordinator answers PRODUCER_FENCED, which the producer hears as
/// INVALID_PRODUCER_EPOCH (Kafka's `AddPartitionsToTxnManager`); nothing is written.
#[tokio::test]
async fn a_fenced_producer_is_refused_by_the_coordinator() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    let (new_pid, new_epoch) = init(&mut client).await;
    assert_eq!((new_pid, new_epoch), (pid, epoch + 1));
    let zombie = produce(&mut client, Some(TXN), 0, txn_batch(pid, epoch, 0, &["zombie"])).await;
    assert_eq!(zombie.error_code, code(ResponseError::InvalidProducerEpoch));
    assert_eq!(offsets(&broker, 0), (0, 0));
    broker.stop().await;
}

/// AddOffsetsToTxn of [`GROUP`]: its `__consumer_offsets` partition joins the transaction.
async fn add_offsets(client: &mut Client, pid: i64, epoch: i16) {
    let request = AddOffsetsToTxnRequest::default()
        .with_transactional_id(tid(TXN))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_group_id(GroupId(StrBytes::from_string(GROUP.to_string())));
    assert_eq!(client.request(3, &request).await.error_code, 0);
}

/// TxnOffsetCommit (at `version`) of [`GROUP`]'s `offset` for [`TOPIC`]-0:
/// the partition's error code.
async fn txn_commit(client: &mut Client, version: i16, pid: i64, epoch: i16, offset: i64) -> i16 {
    let request = TxnOffsetCommitRequest::default()
        .with_transactional_id(tid(TXN))
        .with_group_id(GroupId(StrBytes::from_string(GROUP.to_string())))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_generation_id(-1)
        .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(name(TOPIC)).with_partitions(
            vec![TxnOffsetCommitRequestPartition::default().with_committed_offset(offset)],
        )]);
    client.request(version, &request).await.topics[0].partitions[0].error_code
}

/// OffsetFetch v7 with `require_stable` (KIP-447) of [`GROUP`]'s offset for
/// [`TOPIC`]-0: (offset, error code).
async fn fetch_stable(client: &mut Client) -> (i64, i16) {
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(GROUP.to_string())))
        .with_require_stable(true)
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(name(TOPIC))
            .with_partition_indexes(vec![0])]));
    let response = client.request(7, &request).await;
    assert_eq!(response.error_code, 0);
    let p = &response.topics[0].partitions[0];
    (p.committed_offset, p.error_code)
}

/// (log end offset, last stable offset) of [`GROUP`]'s `__consumer_offsets` partition.
fn group_offsets(broker: &TestBroker) -> (i64, i64) {
    let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition_for(GROUP, OFFSETS_PARTITIONS));
    let p = broker.broker().partition(&tp).expect("the group's offsets partition");
    let log = lock(&p.log);
    (log.log_end_offset(), log.last_stable_offset())
}

const UNSTABLE: i16 = 88;

/// The group coordinator's hanging transaction, with verification off (Kafka
/// before 3.6): a TxnOffsetCommit whose offsets partition the producer never
/// added is appended as the producer's transactional batch, opening a
/// transaction there that no marker will end — the partition's last stable
/// offset is pinned, and `require_stable` answers UNSTABLE_OFFSET_COMMIT for good.
#[tokio::test]
async fn without_verification_an_offset_commit_outside_the_transaction_hangs_its_group() {
    let broker = start(unverified).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    assert_eq!(txn_commit(&mut client, 3, pid, epoch, 5).await, 0);
    assert_eq!(fetch_stable(&mut client).await, (-1, UNSTABLE));
    assert_eq!(group_offsets(&broker), (1, 0), "the LSO is pinned at the commit");
    broker.stop().await;
}

/// KIP-890 part 1 for the group coordinator (the default): the same commit
/// is refused with INVALID_TXN_STATE (Kafka's `handleTxnCommitOffsets`
/// verifies the group's offsets partition first); nothing is written and
/// nothing waits for a marker, so `require_stable` answers at once.
#[tokio::test]
async fn with_verification_an_offset_commit_outside_the_transaction_is_refused() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    assert_eq!(txn_commit(&mut client, 3, pid, epoch, 5).await, code(ResponseError::InvalidTxnState));
    assert_eq!(txn_commit(&mut client, 4, pid, epoch, 5).await, code(ResponseError::InvalidTxnState));
    assert_eq!(fetch_stable(&mut client).await, (-1, 0), "nothing pending");
    assert_eq!(group_offsets(&broker), (0, 0), "nothing written");
    broker.stop().await;
}

/// What every transactional consumer loop does (`send_offsets_to_transaction`):
/// AddOffsetsToTxn, then TxnOffsetCommit. The first commit is verified and
/// appended, the next one of the transaction needs no verification, the
/// offsets are pending until the COMMIT marker and visible after it.
#[tokio::test]
async fn an_offset_commit_after_add_offsets_to_txn_is_verified_and_committed() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    add_offsets(&mut client, pid, epoch).await;
    assert_eq!(txn_commit(&mut client, 3, pid, epoch, 5).await, 0);
    assert_eq!(txn_commit(&mut client, 4, pid, epoch, 7).await, 0);
    assert_eq!(fetch_stable(&mut client).await, (-1, UNSTABLE));
    assert_eq!(group_offsets(&broker), (2, 0), "open: the LSO waits at the first commit");
    end(&mut client, pid, epoch, true).await;
    assert_eq!(fetch_stable(&mut client).await, (7, 0));
    assert_eq!(group_offsets(&broker), (3, 3), "committed: the marker decides it");
    broker.stop().await;
}

/// A zombie's commit: a producer fenced by a newer InitProducerId of its
/// transactional id commits offsets its group's partition has never seen
/// from it. Only the coordinator knows it is fenced: PRODUCER_FENCED,
/// heard as INVALID_PRODUCER_EPOCH; nothing is written.
#[tokio::test]
async fn a_fenced_producer_cannot_commit_offsets_to_a_group_it_never_wrote() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    let (new_pid, new_epoch) = init(&mut client).await;
    assert_eq!((new_pid, new_epoch), (pid, epoch + 1));
    assert_eq!(txn_commit(&mut client, 3, pid, epoch, 9).await, code(ResponseError::InvalidProducerEpoch));
    assert_eq!(fetch_stable(&mut client).await, (-1, 0));
    assert_eq!(group_offsets(&broker), (0, 0), "nothing written");
    broker.stop().await;
}
