//! KIP-890 part 1 over real TCP, on one broker: a partition leader appends a
//! producer's first transactional batch only once the transaction
//! coordinator confirms the partition is in the producer's open transaction
//! (`transaction.partition.verification.enable`, on by default). Without
//! that, a late batch of an ended transaction opens one no coordinator
//! knows, which pins the partition's last stable offset for good: the
//! hanging transaction of KAFKA-14402 (`check transactions --bug
//! hanging-transaction` in the model). Spoken by the raw client of `tests/wire/`.
//!
//! ```text
//! cargo test --test transactions_verify
//! ```

#[allow(dead_code)]
#[path = "common/batches.rs"]
mod batches;
#[allow(dead_code)]
#[path = "wire/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "wire/requests.rs"]
mod requests;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, DescribeTransactionsRequest, EndTxnRequest, InitProducerIdRequest, ProducerId,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::config::BrokerConfig;
use spool::format::BatchBuilder;
use spool::log::manager::lock;
use spool::TopicPartition;

use batches::batch_of;
use harness::{code, name, start, Client, TestBroker, PRODUCE_V};
use requests::{create_topic, produce_request};

const TOPIC: &str = "t";
const TXN: &str = "tx";

fn tid(v: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(v.to_string()))
}

/// Three `__transaction_state` partitions, so a test's log stays small.
fn small(config: &mut BrokerConfig) {
    config.transactions.state_log_num_partitions = 3;
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
