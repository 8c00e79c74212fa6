//! OffsetsForLeaderEpoch (API key 23): "where does my copy of epoch `e` end
//! on the leader?", answered from the partition log's leader epoch cache
//! (KIP-101), with the asker's view of the leader's epoch checked first
//! (KIP-320's `current_leader_epoch`).

use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::EpochEndOffset;
use kafka_protocol::messages::{ApiKey, BrokerId, OffsetForLeaderEpochRequest};
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::wire::codec::supported_versions;
use spool::TopicPartition;

use crate::wire::harness::{code, name, start, Client};
use crate::wire::requests::{batch, create_topic, produce};

/// The newest version, the one the tests use unless they say otherwise.
const OFFSET_FOR_LEADER_EPOCH_V: i16 = 4;

/// No `current_leader_epoch`: the asker does not know the leader's epoch.
const NO_CURRENT_EPOCH: i32 = -1;

/// A consumer's request for one partition (`replica_id` -1).
fn request(
    topic: &str,
    partition: i32,
    current_leader_epoch: i32,
    leader_epoch: i32,
) -> OffsetForLeaderEpochRequest {
    let asked = OffsetForLeaderPartition::default()
        .with_partition(partition)
        .with_current_leader_epoch(current_leader_epoch)
        .with_leader_epoch(leader_epoch);
    OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        OffsetForLeaderTopic::default().with_topic(name(topic)).with_partitions(vec![asked]),
    ])
}

/// Sends `request` at `version` and returns its one partition's answer.
async fn ask_at(client: &mut Client, version: i16, request: &OffsetForLeaderEpochRequest) -> EpochEndOffset {
    let response = client.request(version, request).await;
    assert_eq!(response.topics.len(), 1, "{response:?}");
    let topic = response.topics.into_iter().next().unwrap();
    assert_eq!(topic.topic, request.topics[0].topic);
    assert_eq!(topic.partitions.len(), 1);
    topic.partitions.into_iter().next().unwrap()
}

async fn ask(client: &mut Client, topic: &str, partition: i32, current: i32, epoch: i32) -> EpochEndOffset {
    ask_at(client, OFFSET_FOR_LEADER_EPOCH_V, &request(topic, partition, current, epoch)).await
}

fn answer(error: i16, leader_epoch: i32, end_offset: i64) -> (i16, i32, i64) {
    (error, leader_epoch, end_offset)
}

fn got(e: &EpochEndOffset) -> (i16, i32, i64) {
    (e.error_code, e.leader_epoch, e.end_offset)
}

/// Epoch 0 is this broker's only epoch and still being written, so it ends
/// at the log end offset; an epoch above every one the leader knows has no
/// end (UNDEFINED_EPOCH -1, UNDEFINED_EPOCH_OFFSET -1), as Kafka's
/// `LeaderEpochFileCache.endOffsetFor` answers (KIP-101).
#[tokio::test]
async fn the_latest_epoch_ends_at_the_log_end_and_a_later_one_is_undefined() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "epochs", 1, &[]).await;
    produce(&mut client, "epochs", 0, batch(now_ms(), &["a", "b", "c"]), 1).await;
    produce(&mut client, "epochs", 0, batch(now_ms(), &["d"]), 1).await;
    assert_eq!(got(&ask(&mut client, "epochs", 0, 0, 0).await), answer(0, 0, 4));
    assert_eq!(got(&ask(&mut client, "epochs", 0, NO_CURRENT_EPOCH, 0).await), answer(0, 0, 4));
    assert_eq!(got(&ask(&mut client, "epochs", 0, 0, 1).await), answer(0, -1, -1));
    assert_eq!(got(&ask(&mut client, "epochs", 0, 0, -1).await), answer(0, -1, -1), "no epoch asked");
}

/// A leader holds its epoch from the moment it leads, before any record of
/// it: Kafka's `Partition.makeLeader` writes (epoch, log end) into the cache.
/// So a consumer validating its position on an empty partition at epoch 0
/// learns that epoch 0 ends at offset 0, not "undefined" (which would tell it
/// its position is unknown to the leader).
#[tokio::test]
async fn an_empty_partition_answers_the_leaders_epoch_at_offset_zero() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "empty", 1, &[]).await;
    assert_eq!(got(&ask(&mut client, "empty", 0, 0, 0).await), answer(0, 0, 0));
    assert_eq!(got(&ask(&mut client, "empty", 0, 0, 3).await), answer(0, -1, -1));
}

/// A `current_leader_epoch` above the partition's leader epoch means the asker
/// saw newer metadata than this broker has: UNKNOWN_LEADER_EPOCH (75),
/// retriable (KIP-320). The leader epoch and end offset are left undefined.
#[tokio::test]
async fn a_current_leader_epoch_from_the_future_is_unknown_leader_epoch() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "future", 1, &[]).await;
    produce(&mut client, "future", 0, batch(now_ms(), &["a"]), 1).await;
    let e = ask(&mut client, "future", 0, 1, 0).await;
    assert_eq!(got(&e), answer(code(ResponseError::UnknownLeaderEpoch), -1, -1));
}

/// A topic or partition the broker does not host answers
/// UNKNOWN_TOPIC_OR_PARTITION (3), partition by partition.
#[tokio::test]
async fn an_unknown_topic_or_partition_is_unknown_topic_or_partition() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "known", 1, &[]).await;
    let unknown = (code(ResponseError::UnknownTopicOrPartition), -1, -1);
    assert_eq!(got(&ask(&mut client, "known", 1, 0, 0).await), unknown, "partition 1 of 1");
    assert_eq!(got(&ask(&mut client, "nowhere", 0, 0, 0).await), unknown, "no such topic");
}

/// Every version spool lists (v2–v4; v3 added `replica_id`, v4 is flexible)
/// decodes and answers the same, whatever the asker's `replica_id`: on one
/// node there is no follower to tell apart, and Kafka checks it only to
/// refuse a follower's request to a non-leader.
#[tokio::test]
async fn every_supported_version_answers_the_same() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "versions", 2, &[]).await;
    produce(&mut client, "versions", 1, batch(now_ms(), &["a", "b"]), 1).await;
    let (min, max) = supported_versions(ApiKey::OffsetForLeaderEpoch).expect("listed in SUPPORTED");
    assert_eq!((min, max), (2, 4));
    for version in min..=max {
        for replica_id in [-1, -2, 0, 7] {
            let request = request("versions", 1, 0, 0).with_replica_id(BrokerId(replica_id));
            let e = ask_at(&mut client, version, &request).await;
            assert_eq!((e.partition, got(&e)), (1, answer(0, 0, 2)), "v{version} replica {replica_id}");
        }
    }
}

/// A log directory taken offline by a failed fsync answers
/// KAFKA_STORAGE_ERROR (56), as every request touching a partition log does.
#[tokio::test]
async fn an_offline_log_directory_is_kafka_storage_error() {
    let broker = start(|c| c.log.flush_before_ack = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "failing", 1, &[]).await;
    assert_eq!(produce(&mut client, "failing", 0, batch(now_ms(), &["kept"]), -1).await.error_code, 0);
    let log = broker.broker().partition(&TopicPartition::new("failing", 0)).expect("created").log.clone();
    log.lock().unwrap().storage_mut().fail_next_syncs(1);
    let failed = produce(&mut client, "failing", 0, batch(now_ms(), &["lost"]), -1).await;
    assert_eq!(failed.error_code, code(ResponseError::KafkaStorageError));
    let e = ask(&mut client, "failing", 0, 0, 0).await;
    assert_eq!(got(&e), answer(code(ResponseError::KafkaStorageError), -1, -1));
    broker.crash().await; // a clean shutdown cannot flush an offline log
}
