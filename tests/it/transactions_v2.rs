//! KIP-890 part 2 over real TCP, on one broker: transaction version 2. The
//! broker advertises the finalized feature `transaction.version` at level 2
//! in ApiVersions (`spool.transaction.version`, default 2); a client that
//! sees it ends each transaction with EndTxn v5, whose answer carries the
//! epoch the coordinator bumped for the next transaction, and it sends no
//! AddPartitionsToTxn for the partitions it produces to: Produce v12 (and
//! TxnOffsetCommit v5) tell the partition leader to add the partition to the
//! transaction itself while it verifies the batch. The markers carry the
//! bumped epoch, so the ended transaction's late batch is fenced for good.
//! Spoken by the raw client of `tests/it/wire/`.
//!
//! ```text
//! cargo test --test it transactions_v2::
//! ```

use crate::common::batches;
use crate::wire::harness;
use crate::wire::requests;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::describe_transactions_response::TransactionState;
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, DescribeTransactionsRequest, EndTxnRequest, GroupId,
    InitProducerIdRequest, ProducerId, TransactionalId, TxnOffsetCommitRequest,
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
use harness::{code, name, start, Client, TestBroker};
use requests::{create_topic, produce_request};

const TOPIC: &str = "t";
const TXN: &str = "tx";
const GROUP: &str = "g";
const OFFSETS_PARTITIONS: i32 = 3;
/// The versions a transaction version 2 client speaks (KIP-890 part 2).
const PRODUCE_V2: i16 = 12;
const END_V2: i16 = 5;
const TXN_OFFSET_COMMIT_V2: i16 = 5;

fn tid(v: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(v.to_string()))
}

fn small(config: &mut BrokerConfig) {
    config.transactions.state_log_num_partitions = 3;
    config.offsets_topic_num_partitions = OFFSETS_PARTITIONS;
}

async fn api_versions(client: &mut Client) -> ApiVersionsResponse {
    client.request(3, &ApiVersionsRequest::default()).await
}

fn max_version(r: &ApiVersionsResponse, key: ApiKey) -> i16 {
    r.api_keys.iter().find(|k| k.api_key == key as i16).expect("advertised").max_version
}

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

/// EndTxn v5: the answer's (producer id, epoch), or its error.
async fn end_v2(client: &mut Client, pid: i64, epoch: i16, commit: bool) -> Result<(i64, i16), i16> {
    let request = EndTxnRequest::default()
        .with_transactional_id(tid(TXN))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let r = client.request(END_V2, &request).await;
    if r.error_code == 0 {
        Ok((r.producer_id.0, r.producer_epoch))
    } else {
        Err(r.error_code)
    }
}

async fn describe(client: &mut Client) -> TransactionState {
    let request = DescribeTransactionsRequest::default().with_transactional_ids(vec![tid(TXN)]);
    client.request(0, &request).await.transaction_states.remove(0)
}

/// Waits until the coordinator has written every marker of the transaction.
async fn wait_complete(client: &mut Client, done: &str) -> TransactionState {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = describe(client).await;
        if state.transaction_state.as_str() == done {
            return state;
        }
        assert!(Instant::now() < deadline, "{TXN} still {}, not {done}", state.transaction_state);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn txn_batch(pid: i64, epoch: i16, base_sequence: i32, values: &[&str]) -> Bytes {
    let builder = BatchBuilder::default().producer(pid, epoch, base_sequence).transactional(true);
    batch_of(builder, values.iter().map(|v| (now_ms(), "key", v)))
}

async fn produce(
    client: &mut Client,
    version: i16,
    partition: i32,
    records: Bytes,
) -> PartitionProduceResponse {
    let request = produce_request(TOPIC, partition, records, -1).with_transactional_id(Some(tid(TXN)));
    let response = client.request(version, &request).await;
    response.responses[0].partition_responses[0].clone()
}

/// (log end offset, last stable offset) of [`TOPIC`]'s `partition`.
fn offsets(broker: &TestBroker, partition: i32) -> (i64, i64) {
    let p = broker.broker().partition(&TopicPartition::new(TOPIC, partition)).expect("the partition");
    let log = lock(&p.log);
    (log.log_end_offset(), log.last_stable_offset())
}

/// ApiVersions v3+ carries the finalized feature `transaction.version` at 2
/// (supported 0–2, KIP-584's FinalizedFeatures with its epoch), and the
/// versions that only a transaction version 2 client sends: Produce v12,
/// EndTxn v5, TxnOffsetCommit v5. At `spool.transaction.version=0` the
/// feature is finalized at 0 (not listed, as Kafka lists no level-0 feature)
/// and those versions are not offered.
#[tokio::test]
async fn api_versions_advertise_transaction_version_2() {
    let broker = start(small).await;
    let r = api_versions(&mut broker.client().await).await;
    let supported = r.supported_features.iter().find(|f| f.name.as_str() == "transaction.version");
    let supported = supported.expect("transaction.version supported");
    assert_eq!((supported.min_version, supported.max_version), (0, 2));
    let finalized = r.finalized_features.iter().find(|f| f.name.as_str() == "transaction.version");
    let finalized = finalized.expect("transaction.version finalized");
    assert_eq!((finalized.min_version_level, finalized.max_version_level), (2, 2));
    assert!(r.finalized_features_epoch >= 0, "a finalized epoch with finalized features");
    assert_eq!(max_version(&r, ApiKey::Produce), 12);
    assert_eq!(max_version(&r, ApiKey::EndTxn), 5);
    assert_eq!(max_version(&r, ApiKey::TxnOffsetCommit), 5);
    broker.stop().await;

    let broker = start(|c| {
        small(c);
        assert_eq!(c.transactions.set("spool.transaction.version", "0"), Ok(true));
    })
    .await;
    let r = api_versions(&mut broker.client().await).await;
    assert!(r.finalized_features.iter().all(|f| f.name.as_str() != "transaction.version"));
    assert_eq!(max_version(&r, ApiKey::Produce), 11);
    assert_eq!(max_version(&r, ApiKey::EndTxn), 4);
    assert_eq!(max_version(&r, ApiKey::TxnOffsetCommit), 4);
    broker.stop().await;
}

/// A whole transaction version 2 transaction: no AddPartitionsToTxn — the
/// Produce v12 batch makes the leader add the partition (the coordinator
/// shows it Ongoing with that partition); EndTxn v5 answers the epoch bumped
/// by the commit; the COMMIT marker carries it and decides the batch; the
/// next transaction runs at the new epoch, sequences from 0.
#[tokio::test]
async fn produce_v12_adds_the_partition_and_end_txn_v5_bumps_the_epoch() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    let first = produce(&mut client, PRODUCE_V2, 0, txn_batch(pid, epoch, 0, &["a", "b"])).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0), "added by the leader, appended");
    let open = describe(&mut client).await;
    assert_eq!(open.transaction_state.as_str(), "Ongoing");
    assert_eq!(open.topics.len(), 1, "the partition joined the transaction: {open:?}");
    assert_eq!((open.topics[0].topic.0.as_str(), &open.topics[0].partitions[..]), (TOPIC, &[0][..]));

    assert_eq!(end_v2(&mut client, pid, epoch, true).await, Ok((pid, epoch + 1)));
    let done = wait_complete(&mut client, "CompleteCommit").await;
    assert_eq!(done.producer_epoch, epoch + 1);
    assert_eq!(offsets(&broker, 0), (3, 3), "the marker (epoch + 1) decided the batch");

    let next = produce(&mut client, PRODUCE_V2, 0, txn_batch(pid, epoch + 1, 0, &["c"])).await;
    assert_eq!((next.error_code, next.base_offset), (0, 3), "the next transaction, at the new epoch");
    assert_eq!(end_v2(&mut client, pid, epoch + 1, false).await, Ok((pid, epoch + 2)));
    wait_complete(&mut client, "CompleteAbort").await;
    assert_eq!(offsets(&broker, 0), (5, 5));
    broker.stop().await;
}

/// What closes the hanging transaction for good: after a transaction
/// version 2 commit, a late batch of that transaction (its old epoch) is
/// fenced — INVALID_PRODUCER_EPOCH, what Kafka answers a producer on
/// produce for PRODUCER_FENCED — and nothing is written, whether it would
/// open the partition again (Produce v12) or not (v11).
#[tokio::test]
async fn a_late_produce_of_a_version_2_transaction_is_fenced() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    assert_eq!(produce(&mut client, PRODUCE_V2, 0, txn_batch(pid, epoch, 0, &["a"])).await.error_code, 0);
    assert_eq!(end_v2(&mut client, pid, epoch, true).await, Ok((pid, epoch + 1)));
    wait_complete(&mut client, "CompleteCommit").await;
    for version in [PRODUCE_V2, 11] {
        let late = produce(&mut client, version, 0, txn_batch(pid, epoch, 1, &["late"])).await;
        assert_eq!(late.error_code, code(ResponseError::InvalidProducerEpoch), "Produce v{version}");
    }
    assert_eq!(offsets(&broker, 0), (2, 2), "nothing written, nothing open");
    // A retry of the commit (the epoch before the bump) gets the same answer.
    assert_eq!(end_v2(&mut client, pid, epoch, true).await, Ok((pid, epoch + 1)));
    broker.stop().await;
}

/// A batch of the next transaction that reaches a partition before the
/// previous transaction's marker (EndTxn is answered once the decision is
/// durable, before the markers) must not join the old transaction there:
/// the leader asks the coordinator rather than trusting the open
/// transaction of another epoch, and the coordinator refuses an epoch that
/// is not the transaction's (CONCURRENT_TRANSACTIONS while the markers are
/// written, PRODUCER_FENCED here, where the coordinator never bumped).
#[tokio::test]
async fn a_batch_of_another_epoch_does_not_join_the_open_transaction() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    assert_eq!(produce(&mut client, PRODUCE_V2, 0, txn_batch(pid, epoch, 0, &["a"])).await.error_code, 0);
    let other = produce(&mut client, PRODUCE_V2, 0, txn_batch(pid, epoch + 1, 0, &["other"])).await;
    assert_eq!(other.error_code, code(ResponseError::InvalidProducerEpoch));
    assert_eq!(offsets(&broker, 0), (1, 0), "only the first batch, still open");
    broker.stop().await;
}

/// TxnOffsetCommit v5 (transaction version 2): no AddOffsetsToTxn — the
/// group coordinator's verification adds the group's `__consumer_offsets`
/// partition to the transaction, and the commit is accepted.
#[tokio::test]
async fn txn_offset_commit_v5_adds_the_offsets_partition() {
    let broker = start(small).await;
    let mut client = broker.client().await;
    create_topic(&mut client, TOPIC, 1, &[]).await;
    let (pid, epoch) = init(&mut client).await;
    let request = TxnOffsetCommitRequest::default()
        .with_transactional_id(tid(TXN))
        .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_generation_id(-1)
        .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(name(TOPIC)).with_partitions(
            vec![TxnOffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(7)],
        )]);
    let r = client.request(TXN_OFFSET_COMMIT_V2, &request).await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let open = describe(&mut client).await;
    let offsets_partition = partition_for(GROUP, OFFSETS_PARTITIONS);
    assert!(
        open.topics
            .iter()
            .any(|t| t.topic.0.as_str() == CONSUMER_OFFSETS_TOPIC && t.partitions == [offsets_partition]),
        "the offsets partition joined the transaction: {open:?}"
    );
    assert_eq!(end_v2(&mut client, pid, epoch, true).await, Ok((pid, epoch + 1)));
    wait_complete(&mut client, "CompleteCommit").await;
    broker.stop().await;
}
