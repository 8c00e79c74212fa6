//! FetchSnapshot (api 59, KIP-630) on the wire: the core's
//! [`Message::FetchSnapshotRequest`] and [`Message::FetchSnapshotResponse`]
//! as Kafka's schema, and a Fetch answer's `snapshot_id` (see
//! [`mod@super::response`]).
//!
//! Kafka checks a FetchSnapshot as it checks a Fetch (`handleFetchSnapshotRequest`):
//! the cluster id, then one topic `__cluster_metadata` and one partition 0
//! (else INVALID_REQUEST at top level), then the fields; a negative
//! position or snapshot id is INVALID_REQUEST at partition level. The
//! chunk travels in `UnalignedRecords`: bytes of the snapshot file, cut
//! anywhere, which only the whole file makes sense of.

use bytes::Bytes;
use kafka_protocol::messages::{
    fetch_snapshot_request, fetch_snapshot_response, BrokerId, FetchSnapshotRequest, FetchSnapshotResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::request::only_partition;
use super::METADATA_TOPIC;
use super::{node_id, wire_id, Incoming, RaftResponse, Reply, WireContext, WireError, METADATA_PARTITION};
use crate::raft::{Epoch, Message, NodeId, RaftError, SnapshotId, SnapshotResult};

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str(METADATA_TOPIC))
}

/// A core FetchSnapshot request as Kafka's.
pub fn fetch_snapshot_request(
    ctx: &WireContext,
    epoch: Epoch,
    snapshot_id: SnapshotId,
    position: u64,
    max_bytes: u32,
) -> FetchSnapshotRequest {
    let partition = fetch_snapshot_request::PartitionSnapshot::default()
        .with_partition(METADATA_PARTITION)
        .with_current_leader_epoch(epoch)
        .with_snapshot_id(
            fetch_snapshot_request::SnapshotId::default()
                .with_end_offset(snapshot_id.end_offset)
                .with_epoch(snapshot_id.epoch),
        )
        .with_position(position as i64);
    FetchSnapshotRequest::default()
        .with_cluster_id(Some(StrBytes::from_string(ctx.cluster_id.clone())))
        .with_replica_id(BrokerId(ctx.local_id))
        .with_max_bytes(max_bytes.min(i32::MAX as u32) as i32)
        .with_topics(vec![fetch_snapshot_request::TopicSnapshot::default()
            .with_name(topic_name())
            .with_partitions(vec![partition])])
}

// ANCHOR: parse_fetch_snapshot
/// A received FetchSnapshot as the core's message, checked in Kafka's order.
pub fn parse_fetch_snapshot(ctx: &WireContext, r: &FetchSnapshotRequest) -> Result<Incoming, WireError> {
    if let Some(id) = r.cluster_id.as_ref().filter(|id| id.as_str() != ctx.cluster_id) {
        return Err(WireError::InconsistentClusterId { received: id.to_string() });
    }
    let p = only_partition(&r.topics, |t| (&t.name, &t.partitions), |p| p.partition)?;
    if r.replica_id.0 < 0 {
        return Err(WireError::InvalidRequest("fetch snapshot: negative replica id"));
    }
    if p.position < 0 || p.snapshot_id.end_offset < 0 || p.snapshot_id.epoch < 0 || r.max_bytes < 0 {
        return Err(WireError::InvalidRequest("fetch snapshot: negative position, snapshot id or max bytes"));
    }
    let message = Message::FetchSnapshotRequest {
        epoch: p.current_leader_epoch,
        snapshot_id: SnapshotId { end_offset: p.snapshot_id.end_offset, epoch: p.snapshot_id.epoch },
        position: p.position as u64,
        max_bytes: r.max_bytes as u32,
    };
    Ok(Incoming { from: r.replica_id.0, message, fetch: None })
}
// ANCHOR_END: parse_fetch_snapshot

/// The core's FetchSnapshot answer as Kafka's; `None` for another message.
pub fn fetch_snapshot_response(message: &Message) -> Option<FetchSnapshotResponse> {
    let Message::FetchSnapshotResponse { epoch, leader_id, result } = message else { return None };
    let partition = match result {
        SnapshotResult::Chunk { snapshot_id, size, position, bytes } => {
            snapshot_partition(0, *epoch, *leader_id)
                .with_snapshot_id(
                    fetch_snapshot_response::SnapshotId::default()
                        .with_end_offset(snapshot_id.end_offset)
                        .with_epoch(snapshot_id.epoch),
                )
                .with_size(*size as i64)
                .with_position(*position as i64)
                .with_unaligned_records(Bytes::copy_from_slice(bytes))
        }
        SnapshotResult::Error(e) => snapshot_partition(e.code(), *epoch, *leader_id),
    };
    Some(snapshot_response(0, Some(partition)))
}

/// A FetchSnapshot refused before the core saw it: at top level, or at
/// partition level with this replica's epoch and leader.
pub fn fetch_snapshot_error(error: &WireError, epoch: Epoch, leader_id: Option<NodeId>) -> RaftResponse {
    let response = if error.is_top_level() {
        snapshot_response(error.code(), None)
    } else {
        snapshot_response(0, Some(snapshot_partition(error.code(), epoch, leader_id)))
    };
    RaftResponse::FetchSnapshot(response)
}

fn snapshot_partition(
    error_code: i16,
    epoch: Epoch,
    leader_id: Option<NodeId>,
) -> fetch_snapshot_response::PartitionSnapshot {
    fetch_snapshot_response::PartitionSnapshot::default()
        .with_index(METADATA_PARTITION)
        .with_error_code(error_code)
        .with_snapshot_id(fetch_snapshot_response::SnapshotId::default().with_end_offset(-1).with_epoch(-1))
        .with_current_leader(
            fetch_snapshot_response::LeaderIdAndEpoch::default()
                .with_leader_id(BrokerId(wire_id(leader_id)))
                .with_leader_epoch(epoch),
        )
}

fn snapshot_response(
    top: i16,
    partition: Option<fetch_snapshot_response::PartitionSnapshot>,
) -> FetchSnapshotResponse {
    let topics = partition.map(|p| {
        fetch_snapshot_response::TopicSnapshot::default().with_name(topic_name()).with_partitions(vec![p])
    });
    FetchSnapshotResponse::default().with_error_code(top).with_topics(topics.into_iter().collect())
}

// ANCHOR: parse_fetch_snapshot_response
/// A FetchSnapshot answer as the core's message.
pub fn parse_fetch_snapshot_response(r: &FetchSnapshotResponse) -> Result<Reply, WireError> {
    if r.error_code != 0 {
        return Err(WireError::Refused(r.error_code));
    }
    let p = only_partition(&r.topics, |t| (&t.name, &t.partitions), |p| p.index)?;
    let (epoch, leader_id) = (p.current_leader.leader_epoch, node_id(p.current_leader.leader_id.0));
    let result = match p.error_code {
        0 => {
            if p.size <= 0 || p.position < 0 || p.snapshot_id.end_offset < 0 || p.snapshot_id.epoch < 0 {
                return Err(WireError::InvalidResponse("fetch snapshot: a chunk without size or position"));
            }
            SnapshotResult::Chunk {
                snapshot_id: SnapshotId { end_offset: p.snapshot_id.end_offset, epoch: p.snapshot_id.epoch },
                size: p.size as u64,
                position: p.position as u64,
                bytes: p.unaligned_records.to_vec(),
            }
        }
        code => SnapshotResult::Error(RaftError::from_code(code).ok_or(WireError::Refused(code))?),
    };
    let message = Message::FetchSnapshotResponse { epoch, leader_id, result };
    Ok(Reply::Message { message, records: Bytes::new() })
}
// ANCHOR_END: parse_fetch_snapshot_response
