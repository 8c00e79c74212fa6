//! WriteTxnMarkers on a standalone broker (KIP-98): broker 1 leads `t-0`
//! and follows broker 2 on `t-1`; the tests append transactional batches
//! by hand, as a transactional producer would, then end them with markers.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{ProduceRequest, ProducerId, TopicName, WriteTxnMarkersRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::offsets_partitions_marked;
use crate::broker::Broker;
use crate::config::BrokerConfig;
use crate::format::BatchBuilder;
use crate::log::manager::lock;
use crate::log::txn_index::AbortedTxn;
use crate::metadata::records::PartitionRecord;
use crate::metadata::MetadataRecord;
use crate::TopicPartition;

const TOPIC: &str = "t";
const PRODUCER_ID: i64 = 7;

/// Broker 1: leader of `t-0`, follower of broker 2 on `t-1`.
pub(crate) fn broker() -> (tempfile::TempDir, Arc<Broker>) {
    broker_with_isr(&[1])
}

/// The same, with `isr` the in-sync replicas of `t-0`.
fn broker_with_isr(isr: &[i32]) -> (tempfile::TempDir, Arc<Broker>) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig { log_dir: dir.path().to_path_buf(), ..BrokerConfig::default() };
    // No coordinator runs here: the batches are appended as if it had
    // verified them (KIP-890's check is `tests/it/transactions_verify.rs`'s).
    config.transactions.partition_verification_enable = false;
    let broker = Broker::open(config).unwrap();
    let topic_id = Uuid::new_v4();
    let partition = |partition_id, leader| {
        MetadataRecord::Partition(PartitionRecord {
            partition_id,
            topic_id,
            replicas: vec![1, 2],
            isr: if leader == 1 { isr.to_vec() } else { vec![leader] },
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader,
            leader_recovery_state: 0,
            leader_epoch: 0,
            partition_epoch: 0,
            directories: vec![],
        })
    };
    let records = [MetadataRecord::Topic { name: TOPIC.into(), topic_id }, partition(0, 1), partition(1, 2)];
    broker.metadata_writer().commit(&records, 0).unwrap();
    broker.apply_image(0).unwrap();
    (dir, Arc::new(broker))
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// Appends one transactional batch of `values` to `t-0` (acks=all): the
/// producer's transaction opens (or continues) there. Returns the error code.
pub(crate) async fn produce_txn(broker: &Arc<Broker>, epoch: i16, sequence: i32, values: &[&str]) -> i16 {
    produce_txn_acks(broker, -1, epoch, sequence, values).await
}

async fn produce_txn_acks(
    broker: &Arc<Broker>,
    acks: i16,
    epoch: i16,
    sequence: i32,
    values: &[&str],
) -> i16 {
    let mut builder = BatchBuilder::default().producer(PRODUCER_ID, epoch, sequence).transactional(true);
    for value in values {
        builder.append(crate::broker::now_ms(), None, Some(value.as_bytes()), &[]);
    }
    let records = Bytes::copy_from_slice(builder.build().as_bytes());
    let data = PartitionProduceData::default().with_index(0).with_records(Some(records));
    let request = ProduceRequest::default().with_acks(acks).with_timeout_ms(5_000).with_topic_data(vec![
        TopicProduceData::default().with_name(topic_name(TOPIC)).with_partition_data(vec![data]),
    ]);
    let response = broker.produce(request, 9).await.unwrap().unwrap();
    response.responses[0].partition_responses[0].error_code
}

/// One marker for `PRODUCER_ID` on `topic`'s `partitions`.
pub(crate) fn marker(
    commit: bool,
    epoch: i16,
    coordinator_epoch: i32,
    topic: &str,
    partitions: &[i32],
) -> WriteTxnMarkersRequest {
    let topics = vec![WritableTxnMarkerTopic::default()
        .with_name(topic_name(topic))
        .with_partition_indexes(partitions.to_vec())];
    WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
        .with_producer_id(ProducerId(PRODUCER_ID))
        .with_producer_epoch(epoch)
        .with_transaction_result(commit)
        .with_coordinator_epoch(coordinator_epoch)
        .with_topics(topics)])
}

/// The error code of each partition of the one marker's one topic.
async fn write(broker: &Arc<Broker>, request: WriteTxnMarkersRequest) -> Vec<(i32, i16)> {
    let response = broker.write_txn_markers(request).await;
    assert_eq!(response.markers.len(), 1);
    assert_eq!(response.markers[0].producer_id.0, PRODUCER_ID);
    let partitions = &response.markers[0].topics[0].partitions;
    partitions.iter().map(|p| (p.partition_index, p.error_code)).collect()
}

fn log_state(broker: &Broker) -> (i64, i64, Vec<(i64, i64)>) {
    let partition = broker.partition(&TopicPartition::new(TOPIC, 0)).unwrap();
    let log = lock(&partition.log);
    (log.log_end_offset(), log.last_stable_offset(), log.producer_state().ongoing_txns().collect())
}

/// A COMMIT marker closes the producer's open transaction on the partition:
/// the control batch takes the next offset, the open transaction is gone and
/// the last stable offset moves past the marker (KIP-98).
#[tokio::test]
async fn a_commit_marker_ends_the_transaction() {
    let (_dir, broker) = broker();
    assert_eq!(produce_txn(&broker, 0, 0, &["a", "b"]).await, 0);
    assert_eq!(
        log_state(&broker),
        (2, 0, vec![(0, PRODUCER_ID)]),
        "the transaction pins the LSO at its start"
    );

    assert_eq!(write(&broker, marker(true, 0, 3, TOPIC, &[0])).await, vec![(0, 0)]);
    assert_eq!(log_state(&broker), (3, 3, vec![]), "the marker at offset 2 ends it");
    let partition = broker.partition(&TopicPartition::new(TOPIC, 0)).unwrap();
    assert!(lock(&partition.log).collect_aborted_transactions(0, 3).is_empty(), "a commit is not indexed");
}

/// An ABORT marker ends the transaction too, and indexes it in `.txnindex`
/// so a read_committed fetch can skip its records (KIP-98).
#[tokio::test]
async fn an_abort_marker_lands_in_the_txn_index() {
    let (_dir, broker) = broker();
    assert_eq!(produce_txn(&broker, 0, 0, &["a", "b", "c"]).await, 0);
    assert_eq!(write(&broker, marker(false, 0, 3, TOPIC, &[0])).await, vec![(0, 0)]);
    let partition = broker.partition(&TopicPartition::new(TOPIC, 0)).unwrap();
    let aborted = lock(&partition.log).collect_aborted_transactions(0, 4);
    let expected =
        AbortedTxn { producer_id: PRODUCER_ID, first_offset: 0, last_offset: 3, last_stable_offset: 4 };
    assert_eq!(aborted, vec![expected]);
}

/// A marker from an older coordinator (a zombie after a coordinator
/// failover) is refused TRANSACTION_COORDINATOR_FENCED and writes nothing; an
/// older producer epoch, INVALID_PRODUCER_EPOCH (Kafka's `checkCoordinatorEpoch`
/// and `checkProducerEpoch`).
#[tokio::test]
async fn stale_coordinator_or_producer_epochs_are_refused() {
    let (_dir, broker) = broker();
    assert_eq!(produce_txn(&broker, 1, 0, &["a"]).await, 0);
    assert_eq!(write(&broker, marker(true, 1, 5, TOPIC, &[0])).await, vec![(0, 0)]);
    assert_eq!(produce_txn(&broker, 1, 1, &["b"]).await, 0);
    let before = log_state(&broker);

    let fenced = ResponseError::TransactionCoordinatorFenced.code();
    assert_eq!(write(&broker, marker(true, 1, 4, TOPIC, &[0])).await, vec![(0, fenced)]);
    let stale = ResponseError::InvalidProducerEpoch.code();
    assert_eq!(write(&broker, marker(false, 0, 5, TOPIC, &[0])).await, vec![(0, stale)]);
    assert_eq!(log_state(&broker), before, "a refused marker wrote something");
}

/// Markers go to partition leaders only: a follower answers
/// NOT_LEADER_OR_FOLLOWER (the coordinator looks the leader up again), a
/// partition this broker does not know UNKNOWN_TOPIC_OR_PARTITION — each
/// partition answered on its own.
#[tokio::test]
async fn followers_and_unknown_partitions_are_refused_per_partition() {
    let (_dir, broker) = broker();
    assert_eq!(produce_txn(&broker, 0, 0, &["a"]).await, 0);
    let answers = write(&broker, marker(true, 0, 0, TOPIC, &[0, 1, 9])).await;
    let not_leader = ResponseError::NotLeaderOrFollower.code();
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    assert_eq!(answers, vec![(0, 0), (1, not_leader), (9, unknown)]);
    assert_eq!(write(&broker, marker(true, 0, 0, "missing", &[0])).await, vec![(0, unknown)]);
}

/// The group coordinator's hook names exactly the `__consumer_offsets`
/// partitions whose marker was written: not another topic's, not a refused one.
#[test]
fn only_written_offsets_partitions_are_handed_to_the_groups() {
    let partitions = |codes: &[(i32, i16)]| {
        codes
            .iter()
            .map(|&(i, c)| {
                WritableTxnMarkerPartitionResult::default().with_partition_index(i).with_error_code(c)
            })
            .collect()
    };
    let result = WritableTxnMarkerResult::default().with_topics(vec![
        WritableTxnMarkerTopicResult::default()
            .with_name(topic_name(crate::group::CONSUMER_OFFSETS_TOPIC))
            .with_partitions(partitions(&[(3, 0), (4, 6), (5, 0)])),
        WritableTxnMarkerTopicResult::default()
            .with_name(topic_name(TOPIC))
            .with_partitions(partitions(&[(0, 0)])),
    ]);
    assert_eq!(offsets_partitions_marked(&result), vec![3, 5]);
}

/// A Fetch of `t-0` from `offset`: by follower `replica_id`, or by a
/// read_committed consumer (-1). Returns (last stable offset, record bytes).
async fn fetch(broker: &Arc<Broker>, replica_id: i32, offset: i64) -> (i64, usize) {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{BrokerId, FetchRequest, ResponseKind};
    let partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(offset)
        .with_last_fetched_epoch(if offset > 0 { 0 } else { -1 })
        .with_current_leader_epoch(0)
        .with_partition_max_bytes(1 << 20);
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(replica_id))
        .with_isolation_level(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(TOPIC))
            .with_partitions(vec![partition])]);
    let reply = crate::broker::Reply::Fetch(broker.fetch(request).await);
    let ResponseKind::Fetch(response) = reply.into_message().await.unwrap() else { unreachable!() };
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    (p.last_stable_offset, p.records.as_ref().map_or(0, Bytes::len))
}

/// A committed transaction stays invisible to read_committed until its
/// marker is below the high watermark (Kafka's `unreplicatedTxns`): a new
/// leader without the marker would otherwise reopen what a consumer read.
/// The marker's answer, like an acks=all produce, waits for the follower too.
#[tokio::test]
async fn read_committed_waits_for_the_marker_to_be_replicated() {
    let (_dir, broker) = broker_with_isr(&[1, 2]);
    assert_eq!(produce_txn_acks(&broker, 1, 0, 0, &["a", "b"]).await, 0);
    fetch(&broker, 2, 2).await; // the follower has the transaction: high watermark 2
    let marker = tokio::spawn({
        let broker = broker.clone();
        async move { write(&broker, marker(true, 0, 0, TOPIC, &[0])).await }
    });
    for _ in 0..10_000 {
        if log_state(&broker).0 == 3 {
            break; // the marker is in the leader's log
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(log_state(&broker).0, 3, "the marker was never appended");
    assert_eq!(fetch(&broker, -1, 0).await, (0, 0), "read before the marker was replicated");
    assert!(!marker.is_finished(), "the marker was answered before the follower had it");

    fetch(&broker, 2, 3).await; // the follower has the marker: high watermark 3
    assert_eq!(marker.await.unwrap(), vec![(0, 0)]);
    let (last_stable, bytes) = fetch(&broker, -1, 0).await;
    assert_eq!(last_stable, 3);
    assert!(bytes > 0, "the committed transaction is not readable");
}
