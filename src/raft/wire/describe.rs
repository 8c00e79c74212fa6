//! DescribeQuorum (api 55, KIP-595, KIP-836): the leader's view of the
//! quorum — its epoch and high watermark, and how far each voter and
//! observer has fetched — for `spool metadata-quorum describe`.
//!
//! The driver fills a [`QuorumStatus`] from the leader's progress;
//! [`describe_quorum_response()`] writes it as Kafka's schema. Version 1 adds
//! the two timestamps, version 2 the voters' endpoints (`Nodes`) and error
//! messages. A replica that is not the leader answers
//! NOT_LEADER_OR_FOLLOWER ([`describe_quorum_error`]), as Kafka's does.

use kafka_protocol::messages::describe_quorum_response::{self, Listener, Node, ReplicaState};
use kafka_protocol::messages::{BrokerId, DescribeQuorumRequest, DescribeQuorumResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{wire_id, WireError, METADATA_PARTITION, METADATA_TOPIC};
use crate::raft::{Epoch, NodeId, Offset};

/// The leader's view of the quorum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuorumStatus {
    pub leader_id: Option<NodeId>,
    pub leader_epoch: Epoch,
    /// `None` until the leader has committed an entry of its epoch.
    pub high_watermark: Option<Offset>,
    pub voters: Vec<ReplicaStatus>,
    pub observers: Vec<ReplicaStatus>,
    /// Each voter's listeners (sent from v2 as `Nodes`).
    pub endpoints: Vec<(NodeId, Vec<Endpoint>)>,
}

/// How far one replica has fetched, in the leader's wall-clock time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub replica_id: NodeId,
    /// `None` if the leader has not heard from it.
    pub log_end_offset: Option<Offset>,
    pub last_fetch_timestamp_ms: Option<i64>,
    /// When it last fetched at (or past) the leader's log end of that moment.
    pub last_caught_up_timestamp_ms: Option<i64>,
}

/// A listener of a voter, as `controller.quorum.voters` and `listeners` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub host: String,
    pub port: u16,
}

/// Whether `request` asks about `__cluster_metadata-0` (else Kafka answers
/// UNKNOWN_TOPIC_OR_PARTITION through [`describe_quorum_error`]).
pub fn check_describe_quorum(request: &DescribeQuorumRequest) -> Result<(), WireError> {
    let [topic] = request.topics.as_slice() else { return Err(WireError::WrongPartition) };
    let [partition] = topic.partitions.as_slice() else { return Err(WireError::WrongPartition) };
    if topic.topic_name.0.as_str() != METADATA_TOPIC || partition.partition_index != METADATA_PARTITION {
        return Err(WireError::WrongPartition);
    }
    Ok(())
}

// ANCHOR: describe_quorum_response
/// `status` as the DescribeQuorum response at `version`.
pub fn describe_quorum_response(version: i16, status: &QuorumStatus) -> DescribeQuorumResponse {
    let replica = |r: &ReplicaStatus| {
        let state = ReplicaState::default()
            .with_replica_id(BrokerId(r.replica_id))
            .with_log_end_offset(r.log_end_offset.unwrap_or(-1));
        if version >= 1 {
            state
                .with_last_fetch_timestamp(r.last_fetch_timestamp_ms.unwrap_or(-1))
                .with_last_caught_up_timestamp(r.last_caught_up_timestamp_ms.unwrap_or(-1))
        } else {
            state
        }
    };
    let partition = describe_quorum_response::PartitionData::default()
        .with_partition_index(METADATA_PARTITION)
        .with_leader_id(BrokerId(wire_id(status.leader_id)))
        .with_leader_epoch(status.leader_epoch)
        .with_high_watermark(status.high_watermark.unwrap_or(-1))
        .with_current_voters(status.voters.iter().map(replica).collect())
        .with_observers(status.observers.iter().map(replica).collect());
    let response = DescribeQuorumResponse::default().with_topics(vec![topic(partition)]);
    if version < 2 {
        return response;
    }
    let nodes = status.endpoints.iter().map(|(id, endpoints)| {
        let listeners = endpoints.iter().map(|e| {
            Listener::default()
                .with_name(StrBytes::from_string(e.name.clone()))
                .with_host(StrBytes::from_string(e.host.clone()))
                .with_port(e.port)
        });
        Node::default().with_node_id(BrokerId(*id)).with_listeners(listeners.collect())
    });
    response.with_nodes(nodes.collect())
}
// ANCHOR_END: describe_quorum_response

/// A refusal at partition level, for the partitions `request` named (all of
/// them: Kafka echoes each): UNKNOWN_TOPIC_OR_PARTITION for a request
/// [`check_describe_quorum`] rejects, NOT_LEADER_OR_FOLLOWER from a replica
/// that does not lead. The message rides from v2.
pub fn describe_quorum_error(
    version: i16,
    request: &DescribeQuorumRequest,
    error: ResponseError,
) -> DescribeQuorumResponse {
    let topics = request.topics.iter().map(|t| {
        let partitions = t.partitions.iter().map(|p| {
            let partition = describe_quorum_response::PartitionData::default()
                .with_partition_index(p.partition_index)
                .with_error_code(error.code());
            if version >= 2 {
                partition.with_error_message(Some(StrBytes::from_string(format!("{error}"))))
            } else {
                partition
            }
        });
        describe_quorum_response::TopicData::default()
            .with_topic_name(t.topic_name.clone())
            .with_partitions(partitions.collect())
    });
    DescribeQuorumResponse::default().with_topics(topics.collect())
}

fn topic(partition: describe_quorum_response::PartitionData) -> describe_quorum_response::TopicData {
    describe_quorum_response::TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
        .with_partitions(vec![partition])
}
