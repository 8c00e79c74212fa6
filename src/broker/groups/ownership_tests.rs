//! The coordinator follows `__consumer_offsets`' leadership (Kafka's
//! `onElection` / `onResignation`), checked in one broker of a cluster whose
//! metadata image the test writes: leading the offsets partition loads its
//! groups, losing it unloads them and answers their parked requests
//! NOT_COORDINATOR, and leading it again loads them back from the log.

use std::sync::Arc;

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, GroupId, JoinGroupRequest, OffsetCommitRequest, OffsetFetchRequest, RequestHeader, RequestKind,
    ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::super::Broker;
use crate::config::{BrokerConfig, HostPort, ProcessRoles, QuorumVoter, TransactionConfig};
use crate::group::CONSUMER_OFFSETS_TOPIC;
use crate::metadata::records::{PartitionChangeRecord, PartitionRecord};
use crate::metadata::MetadataRecord;
use crate::wire::codec::Request;

fn str(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

/// Broker 1 of a cluster (its controller is never contacted here), with
/// `__consumer_offsets` (one partition, replicas 1 and 2, led by `leader`)
/// and a topic `t`. Returns the offsets topic's id.
fn broker(leader: i32) -> (tempfile::TempDir, Arc<Broker>, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let controller = QuorumVoter { node_id: 9, endpoint: HostPort { host: "127.0.0.1".into(), port: 9 } };
    let config = BrokerConfig {
        log_dir: dir.path().to_path_buf(),
        process_roles: ProcessRoles::Broker,
        controller_quorum_voters: vec![controller],
        // The tests play the transaction coordinator (its markers): there is
        // none to verify a TxnOffsetCommit with (KIP-890).
        transactions: TransactionConfig {
            partition_verification_enable: false,
            ..TransactionConfig::default()
        },
        ..BrokerConfig::default()
    };
    let broker = Broker::open(config).unwrap();
    assert!(broker.cluster.is_some());
    let (offsets_id, topic_id) = (Uuid::new_v4(), Uuid::new_v4());
    let partition = |topic_id, replicas: &[i32]| {
        MetadataRecord::Partition(PartitionRecord {
            partition_id: 0,
            topic_id,
            replicas: replicas.to_vec(),
            isr: vec![1],
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader,
            leader_recovery_state: 0,
            leader_epoch: 3,
            partition_epoch: 0,
            directories: vec![],
        })
    };
    let records = [
        MetadataRecord::Topic { name: CONSUMER_OFFSETS_TOPIC.into(), topic_id: offsets_id },
        partition(offsets_id, &[1, 2]),
        MetadataRecord::Topic { name: "t".into(), topic_id },
        partition(topic_id, &[1, 2]),
    ];
    broker.metadata_writer().commit(&records, 0).unwrap();
    broker.apply_image(0).unwrap();
    (dir, Arc::new(broker), offsets_id)
}

/// The controller moves the offsets partition's leadership to `leader`.
fn move_leadership(broker: &Broker, offsets_id: Uuid, leader: i32) {
    let change = PartitionChangeRecord { leader, ..PartitionChangeRecord::new(offsets_id, 0) };
    broker.metadata_writer().commit(&[MetadataRecord::PartitionChange(change)], 0).unwrap();
    broker.apply_image(0).unwrap();
}

async fn send(broker: &Arc<Broker>, api_key: ApiKey, version: i16, body: RequestKind) -> ResponseKind {
    let header =
        RequestHeader::default().with_request_api_key(api_key as i16).with_request_api_version(version);
    let request = Request {
        header,
        api_key,
        body,
        client_host: "/127.0.0.1".into(),
        principal: crate::wire::codec::ANONYMOUS.into(),
    };
    broker.handle_group(request).await.expect("an answer")
}

/// A simple consumer commits offset 42 of `t`-0 for group `g`: the error code.
async fn commit(broker: &Arc<Broker>) -> i16 {
    let partition = OffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(42);
    let topic =
        OffsetCommitRequestTopic::default().with_name(TopicName(str("t"))).with_partitions(vec![partition]);
    let body = OffsetCommitRequest::default()
        .with_group_id(GroupId(str("g")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![topic]);
    let ResponseKind::OffsetCommit(r) =
        send(broker, ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(body)).await
    else {
        unreachable!()
    };
    r.topics[0].partitions[0].error_code
}

/// Group `g`'s committed offset of `t`-0, or the error.
async fn fetch(broker: &Arc<Broker>) -> Result<i64, i16> {
    let topic =
        OffsetFetchRequestTopic::default().with_name(TopicName(str("t"))).with_partition_indexes(vec![0]);
    let body = OffsetFetchRequest::default().with_group_id(GroupId(str("g"))).with_topics(Some(vec![topic]));
    let ResponseKind::OffsetFetch(r) =
        send(broker, ApiKey::OffsetFetch, 7, RequestKind::OffsetFetch(body)).await
    else {
        unreachable!()
    };
    match r.error_code {
        0 => Ok(r.topics[0].partitions[0].committed_offset),
        code => Err(code),
    }
}

/// A broker that does not lead the group's offsets partition refuses it
/// (NOT_COORDINATOR); once it leads, it coordinates the group.
#[tokio::test]
async fn only_the_offsets_partitions_leader_coordinates() {
    let (_dir, broker, offsets_id) = broker(2);
    assert_eq!(commit(&broker).await, ResponseError::NotCoordinator.code());
    assert_eq!(fetch(&broker).await, Err(ResponseError::NotCoordinator.code()));
    move_leadership(&broker, offsets_id, 1);
    assert_eq!(commit(&broker).await, 0);
    assert_eq!(fetch(&broker).await, Ok(42));
}

/// Losing the leadership unloads the group: its parked JoinGroup is answered
/// NOT_COORDINATOR, its offsets are refused here; leading again (a new epoch)
/// loads the group back from the partition's log, the commit included.
#[tokio::test]
async fn groups_unload_with_the_leadership_and_load_back_from_the_log() {
    let (_dir, broker, offsets_id) = broker(1);
    assert_eq!(commit(&broker).await, 0);
    // JoinGroup v3 (no KIP-394 round trip) parks for the initial rebalance delay.
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(str("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default().with_name(str("range"))]);
    let waiting = tokio::spawn({
        let broker = broker.clone();
        async move { send(&broker, ApiKey::JoinGroup, 3, RequestKind::JoinGroup(join)).await }
    });
    while !broker.groups.lock().group("g").is_some_and(|g| g.members().any(|m| m.is_awaiting_join())) {
        tokio::task::yield_now().await;
    }
    move_leadership(&broker, offsets_id, 2);
    let ResponseKind::JoinGroup(joined) = waiting.await.unwrap() else { unreachable!() };
    assert_eq!(joined.error_code, ResponseError::NotCoordinator.code());
    assert!(broker.groups.lock().group("g").is_none(), "the group stayed in memory");
    assert_eq!(fetch(&broker).await, Err(ResponseError::NotCoordinator.code()));
    move_leadership(&broker, offsets_id, 1);
    assert_eq!(fetch(&broker).await, Ok(42), "not loaded back from the log");
}

/// Chapter 9: a transaction's marker written to the offsets partition while
/// its groups load — after the load read the log, before it handed the
/// groups over — still ends the transaction: `Broker::complete_txn` keeps it
/// for the partition, and the load applies it once the groups are in
/// (without that, the offsets would stay pending until a restart).
#[tokio::test]
async fn a_marker_written_while_loading_is_applied_after_the_load() {
    use bytes::BytesMut;
    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::{ProducerId, TxnOffsetCommitRequest};

    use super::ownership::Ownership;
    use crate::format::BatchBuilder;
    use crate::idempotence::producer_state::txn::EndTxnMarker;
    use crate::log::manager::lock;
    use crate::TopicPartition;

    let (_dir, broker, offsets_id) = broker(1);
    let partition =
        TxnOffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(42);
    let topic = TxnOffsetCommitRequestTopic::default()
        .with_name(TopicName(str("t")))
        .with_partitions(vec![partition]);
    let body = TxnOffsetCommitRequest::default()
        .with_group_id(GroupId(str("g")))
        .with_producer_id(ProducerId(5))
        .with_generation_id(-1)
        .with_topics(vec![topic]);
    let ResponseKind::TxnOffsetCommit(r) =
        send(&broker, ApiKey::TxnOffsetCommit, 3, RequestKind::TxnOffsetCommit(body)).await
    else {
        unreachable!()
    };
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    move_leadership(&broker, offsets_id, 2);

    // Led again: the load has read the log (the transaction's record, no marker) …
    broker.groups.lock_ownership().insert(0, Ownership { leader_epoch: 9, loaded: false });
    let read = broker.read_offsets_partition(0).unwrap();
    // … when WriteTxnMarkers appends the COMMIT marker and reports it.
    let (key, value) = EndTxnMarker { is_abort: false, coordinator_epoch: 0 }.encode();
    let mut marker = BatchBuilder::default().producer(5, 0, -1).transactional(true).control(true);
    marker.append(0, Some(&key), Some(&value), &[]);
    let log = broker.partition(&TopicPartition::new(CONSUMER_OFFSETS_TOPIC, 0)).unwrap().log.clone();
    lock(&log).append(BytesMut::from(&marker.build().as_bytes()[..]), 3, 0).unwrap();
    broker.complete_txn(0, 5, true);
    broker.install_offsets_partition(0, 9, read);

    let coordinator = broker.groups.lock();
    let group = coordinator.group("g").expect("loaded");
    assert!(!group.has_pending_txn_offsets(5), "the marker was lost");
    assert_eq!(coordinator.offset_fetch("g", None)[0].offset, 42);
}
