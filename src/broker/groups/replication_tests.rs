//! Group records are replicated before they are acknowledged: Kafka's group
//! coordinator appends to `__consumer_offsets` with `acks=-1`, so an
//! OffsetCommit is answered only once the partition's high watermark covers
//! it (`GroupMetadataManager.storeOffsets`), and a commit the ISR did not
//! confirm gets a retriable error. Broker 1 leads the one offsets partition;
//! followers 2 and 3 are played by Fetch requests with their replica ids.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, GroupId, JoinGroupRequest, OffsetCommitRequest, OffsetFetchRequest,
    RequestHeader, RequestKind, ResponseKind, SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::super::Broker;
use crate::config::BrokerConfig;
use crate::group::{GroupState, CONSUMER_OFFSETS_TOPIC};
use crate::log::manager::lock;
use crate::metadata::records::{PartitionChangeRecord, PartitionRecord};
use crate::metadata::MetadataRecord;
use crate::wire::codec::Request;
use crate::TopicPartition;

const LEADER_EPOCH: i32 = 3;

fn partition(topic_id: Uuid, replicas: &[i32]) -> MetadataRecord {
    MetadataRecord::Partition(PartitionRecord {
        partition_id: 0,
        topic_id,
        replicas: replicas.to_vec(),
        isr: replicas.to_vec(),
        removing_replicas: vec![],
        adding_replicas: vec![],
        leader: 1,
        leader_recovery_state: 0,
        leader_epoch: LEADER_EPOCH,
        partition_epoch: 0,
        directories: vec![],
    })
}

/// Broker 1: `__consumer_offsets` (one partition, replicas and ISR 1, 2, 3,
/// led by 1) and a topic `t` to commit offsets of. Returns the offsets topic's id.
fn broker() -> (tempfile::TempDir, Arc<Broker>, Uuid) {
    broker_with(BrokerConfig::default())
}

/// [`broker`] with `config`'s group settings.
fn broker_with(config: BrokerConfig) -> (tempfile::TempDir, Arc<Broker>, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let config = BrokerConfig { log_dir: dir.path().to_path_buf(), ..config };
    let broker = Broker::open(config).unwrap();
    let (offsets_id, topic_id) = (Uuid::new_v4(), Uuid::new_v4());
    let records = [
        MetadataRecord::Topic { name: CONSUMER_OFFSETS_TOPIC.into(), topic_id: offsets_id },
        partition(offsets_id, &[1, 2, 3]),
        MetadataRecord::Topic { name: "t".into(), topic_id },
        partition(topic_id, &[1]),
    ];
    broker.metadata_writer().commit(&records, 0).unwrap();
    broker.apply_image(0).unwrap();
    (dir, Arc::new(broker), offsets_id)
}

/// A simple consumer's OffsetCommit v8 (generation -1) of `t`-0, spawned:
/// its error code, when answered.
fn commit(broker: &Arc<Broker>, offset: i64) -> tokio::task::JoinHandle<i16> {
    let partition =
        OffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(offset);
    let topic = OffsetCommitRequestTopic::default()
        .with_name(TopicName(StrBytes::from_static_str("t")))
        .with_partitions(vec![partition]);
    let body = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![topic]);
    let request = Request {
        header: RequestHeader::default()
            .with_request_api_key(ApiKey::OffsetCommit as i16)
            .with_request_api_version(8),
        api_key: ApiKey::OffsetCommit,
        body: RequestKind::OffsetCommit(body),
        client_host: "/127.0.0.1".into(),
        listener: String::new(),
        principal: crate::security::Principal::anonymous(),
    };
    let broker = broker.clone();
    tokio::spawn(async move {
        let Ok(ResponseKind::OffsetCommit(r)) = broker.handle_group(request).await else {
            panic!("no answer")
        };
        r.topics[0].partitions[0].error_code
    })
}

/// Sends one group request (v3, before KIP-394's member id round trip).
async fn send(broker: &Arc<Broker>, api_key: ApiKey, body: RequestKind) -> ResponseKind {
    let header = RequestHeader::default().with_request_api_key(api_key as i16).with_request_api_version(3);
    let request = Request {
        header,
        api_key,
        body,
        client_host: "/127.0.0.1".into(),
        listener: String::new(),
        principal: crate::security::Principal::anonymous(),
    };
    broker.handle_group(request).await.expect("an answer")
}

/// Group `g`'s committed offset of `t`-0 (OffsetFetch v7), -1 for none.
async fn fetch_offset(broker: &Arc<Broker>) -> i64 {
    let topic = OffsetFetchRequestTopic::default()
        .with_name(TopicName(StrBytes::from_static_str("t")))
        .with_partition_indexes(vec![0]);
    let body = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_topics(Some(vec![topic]));
    let request = Request {
        header: RequestHeader::default()
            .with_request_api_key(ApiKey::OffsetFetch as i16)
            .with_request_api_version(7),
        api_key: ApiKey::OffsetFetch,
        body: RequestKind::OffsetFetch(body),
        client_host: "/127.0.0.1".into(),
        listener: String::new(),
        principal: crate::security::Principal::anonymous(),
    };
    let Ok(ResponseKind::OffsetFetch(r)) = broker.handle_group(request).await else { panic!("no answer") };
    assert_eq!(r.error_code, 0);
    r.topics[0].partitions[0].committed_offset
}

/// Follower `replica_id` fetches the offsets partition from `offset`.
async fn follower_fetch(broker: &Arc<Broker>, replica_id: i32, offset: i64) {
    let partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(offset)
        .with_last_fetched_epoch(LEADER_EPOCH)
        .with_current_leader_epoch(LEADER_EPOCH)
        .with_partition_max_bytes(1 << 20);
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(replica_id))
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str(CONSUMER_OFFSETS_TOPIC)))
            .with_partitions(vec![partition])]);
    broker.fetch(request).await;
}

/// Yields until the offsets partition's log holds `records` records (the
/// spawned commit appended them).
async fn appended(broker: &Broker, records: i64) {
    let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, 0);
    let partition = broker.partition(&tp).unwrap();
    while lock(&partition.log).log_end_offset() < records {
        tokio::task::yield_now().await;
    }
}

/// The commit is answered only when both followers have fetched past it.
#[tokio::test]
async fn a_commit_is_answered_once_the_isr_has_it() {
    let (_dir, broker, _) = broker();
    let waiting = commit(&broker, 42);
    appended(&broker, 1).await;
    follower_fetch(&broker, 2, 1).await;
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "answered before follower 3 had the commit");
    follower_fetch(&broker, 3, 1).await;
    assert_eq!(waiting.await.unwrap(), 0);
}

/// No follower fetches: after `offsets.commit.timeout.ms` the commit gets
/// COORDINATOR_NOT_AVAILABLE (Kafka's mapping of REQUEST_TIMED_OUT for a
/// group's append), not a success it never had.
#[tokio::test(start_paused = true)]
async fn an_unreplicated_commit_times_out_with_a_retriable_error() {
    let (_dir, broker, _) = broker();
    assert_eq!(commit(&broker, 42).await.unwrap(), ResponseError::CoordinatorNotAvailable.code());
}

/// The wait is the broker's `offsets.commit.timeout.ms`, not a fixed one:
/// set to 7000 (the default is 5000), an unreplicated commit is still
/// waiting after 6 s and gets COORDINATOR_NOT_AVAILABLE once 7 s have passed.
#[tokio::test(start_paused = true)]
async fn an_unreplicated_commit_waits_offsets_commit_timeout_ms() {
    let mut config = BrokerConfig::default();
    config.group.offsets_commit_timeout_ms = 7_000;
    let (_dir, broker, _) = broker_with(config);
    let start = tokio::time::Instant::now();
    let waiting = commit(&broker, 42);
    appended(&broker, 1).await;
    tokio::time::sleep(Duration::from_millis(6_000)).await;
    assert!(!waiting.is_finished(), "answered before offsets.commit.timeout.ms");
    assert_eq!(waiting.await.unwrap(), ResponseError::CoordinatorNotAvailable.code());
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(7_000) && waited < Duration::from_millis(7_500), "{waited:?}");
}

/// The leadership moves to broker 2 while the commit waits: NOT_COORDINATOR
/// (Kafka's mapping of NOT_LEADER_OR_FOLLOWER), so the client finds the new
/// coordinator and commits again there.
#[tokio::test]
async fn a_commit_waiting_when_the_leadership_moves_gets_not_coordinator() {
    let (_dir, broker, offsets_id) = broker();
    let waiting = commit(&broker, 42);
    appended(&broker, 1).await;
    let change = PartitionChangeRecord { leader: 2, ..PartitionChangeRecord::new(offsets_id, 0) };
    broker.metadata_writer().commit(&[MetadataRecord::PartitionChange(change)], 0).unwrap();
    broker.apply_image(0).unwrap();
    assert_eq!(waiting.await.unwrap(), ResponseError::NotCoordinator.code());
}

/// An OffsetFetch sees a commit only once it is stored: while the ISR has
/// not confirmed it, the group's offset is still the previous one (none
/// here), as Kafka keeps the commit in `pendingOffsetCommits` until its
/// append completes.
#[tokio::test]
async fn a_commit_is_fetched_only_once_the_isr_has_it() {
    let (_dir, broker, _) = broker();
    let waiting = commit(&broker, 42);
    appended(&broker, 1).await;
    assert_eq!(fetch_offset(&broker).await, -1, "visible before it was stored");
    follower_fetch(&broker, 2, 1).await;
    follower_fetch(&broker, 3, 1).await;
    assert_eq!(waiting.await.unwrap(), 0);
    assert_eq!(fetch_offset(&broker).await, 42);
}

/// A commit answered with an error never shows: the first commit is
/// replicated and acknowledged, the second one no follower fetches, so it
/// times out (COORDINATOR_NOT_AVAILABLE) and OffsetFetch still answers the
/// first — the client that retries from there re-reads, never skips.
#[tokio::test(start_paused = true)]
async fn a_commit_refused_for_want_of_replicas_is_never_fetched() {
    let (_dir, broker, _) = broker();
    let first = commit(&broker, 42);
    appended(&broker, 1).await;
    follower_fetch(&broker, 2, 1).await;
    follower_fetch(&broker, 3, 1).await;
    assert_eq!(first.await.unwrap(), 0);
    assert_eq!(commit(&broker, 43).await.unwrap(), ResponseError::CoordinatorNotAvailable.code());
    assert_eq!(fetch_offset(&broker).await, 42, "a refused commit is visible");
}

/// A generation whose GroupMetadata record the ISR never confirms is never
/// handed out: the leader's SyncGroup waits for the store, gets
/// COORDINATOR_NOT_AVAILABLE after `offsets.commit.timeout.ms`, and the
/// group, its assignment cleared, is rebalancing again rather than Stable
/// (Kafka's SyncGroup: the group is Stable only once the assignment is stored).
#[tokio::test(start_paused = true)]
async fn a_generation_the_isr_never_confirms_is_never_handed_out() {
    let (_dir, broker, _) = broker();
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default().with_name(StrBytes::from_static_str("range"))
        ]);
    let ResponseKind::JoinGroup(joined) =
        send(&broker, ApiKey::JoinGroup, RequestKind::JoinGroup(join)).await
    else {
        unreachable!()
    };
    assert_eq!((joined.error_code, joined.generation_id), (0, 1));
    let assignment = SyncGroupRequestAssignment::default()
        .with_member_id(joined.member_id.clone())
        .with_assignment(vec![1].into());
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_generation_id(1)
        .with_member_id(joined.member_id)
        .with_assignments(vec![assignment]);
    let ResponseKind::SyncGroup(synced) =
        send(&broker, ApiKey::SyncGroup, RequestKind::SyncGroup(sync)).await
    else {
        unreachable!()
    };
    assert_eq!(synced.error_code, ResponseError::CoordinatorNotAvailable.code());
    let coordinator = broker.groups.lock();
    let group = coordinator.group("g").expect("g");
    assert_eq!(group.state(), GroupState::PreparingRebalance, "an unstored generation handed out");
    assert!(group.members().all(|m| m.assignment.is_empty()));
}
