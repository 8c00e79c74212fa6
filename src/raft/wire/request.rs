//! Requests: the core's [`Message`]s out as Kafka's schemas ([`request`]),
//! and Kafka's schemas in as the core's messages ([`parse_request`]),
//! checked the way `KafkaRaftClient`'s `handle*Request` checks them.

use kafka_protocol::messages::{
    begin_quorum_epoch_request, end_quorum_epoch_request, fetch_request, vote_request,
    BeginQuorumEpochRequest, BrokerId, EndQuorumEpochRequest, FetchRequest, TopicName, VoteRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::{
    FetchParams, Incoming, RaftRequest, WireContext, WireError, METADATA_PARTITION, METADATA_TOPIC,
    METADATA_TOPIC_ID,
};
use crate::raft::{Message, NodeId};

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str(METADATA_TOPIC))
}

fn cluster_id(ctx: &WireContext) -> Option<StrBytes> {
    Some(StrBytes::from_string(ctx.cluster_id.clone()))
}

// ANCHOR: request
/// `message` as the request to send to `to`; `None` for a response message.
pub fn request(ctx: &WireContext, to: NodeId, message: &Message) -> Option<RaftRequest> {
    let request = match message {
        &Message::VoteRequest { epoch, last_epoch, end_offset, pre_vote } => {
            // Kafka's prospective sends its own epoch; the core names the next.
            let replica_epoch = if pre_vote { epoch.saturating_sub(1) } else { epoch };
            let partition = vote_request::PartitionData::default()
                .with_partition_index(METADATA_PARTITION)
                .with_replica_epoch(replica_epoch)
                .with_replica_id(BrokerId(ctx.local_id))
                .with_last_offset_epoch(last_epoch)
                .with_last_offset(end_offset)
                .with_pre_vote(pre_vote);
            RaftRequest::Vote(
                VoteRequest::default()
                    .with_cluster_id(cluster_id(ctx))
                    .with_voter_id(BrokerId(to))
                    .with_topics(vec![vote_request::TopicData::default()
                        .with_topic_name(topic_name())
                        .with_partitions(vec![partition])]),
            )
        }
        &Message::BeginQuorumEpoch { epoch } => {
            let partition = begin_quorum_epoch_request::PartitionData::default()
                .with_partition_index(METADATA_PARTITION)
                .with_leader_id(BrokerId(ctx.local_id))
                .with_leader_epoch(epoch);
            RaftRequest::BeginQuorumEpoch(
                BeginQuorumEpochRequest::default()
                    .with_cluster_id(cluster_id(ctx))
                    .with_voter_id(BrokerId(to))
                    .with_topics(vec![begin_quorum_epoch_request::TopicData::default()
                        .with_topic_name(topic_name())
                        .with_partitions(vec![partition])]),
            )
        }
        Message::EndQuorumEpoch { epoch, preferred_successors } => {
            // v1 names candidates with their directory ids (none here); v0's
            // PreferredSuccessors is not in v1.
            let candidates = preferred_successors
                .iter()
                .map(|&id| end_quorum_epoch_request::ReplicaInfo::default().with_candidate_id(BrokerId(id)))
                .collect();
            let partition = end_quorum_epoch_request::PartitionData::default()
                .with_partition_index(METADATA_PARTITION)
                .with_leader_id(BrokerId(ctx.local_id))
                .with_leader_epoch(*epoch)
                .with_preferred_candidates(candidates);
            RaftRequest::EndQuorumEpoch(
                EndQuorumEpochRequest::default().with_cluster_id(cluster_id(ctx)).with_topics(vec![
                    end_quorum_epoch_request::TopicData::default()
                        .with_topic_name(topic_name())
                        .with_partitions(vec![partition]),
                ]),
            )
        }
        &Message::FetchRequest { epoch, fetch_offset, last_fetched_epoch } => {
            let partition = fetch_request::FetchPartition::default()
                .with_partition(METADATA_PARTITION)
                .with_current_leader_epoch(epoch)
                .with_fetch_offset(fetch_offset)
                .with_last_fetched_epoch(last_fetched_epoch)
                .with_partition_max_bytes(ctx.fetch_max_bytes);
            RaftRequest::Fetch(
                FetchRequest::default()
                    .with_cluster_id(cluster_id(ctx))
                    .with_replica_state(
                        fetch_request::ReplicaState::default().with_replica_id(BrokerId(ctx.local_id)),
                    )
                    .with_max_wait_ms(ctx.fetch_max_wait_ms)
                    .with_max_bytes(ctx.fetch_max_bytes)
                    .with_topics(vec![fetch_request::FetchTopic::default()
                        .with_topic_id(METADATA_TOPIC_ID)
                        .with_partitions(vec![partition])]),
            )
        }
        &Message::FetchSnapshotRequest { epoch, snapshot_id, position, max_bytes } => {
            RaftRequest::FetchSnapshot(super::fetch_snapshot_request(
                ctx,
                epoch,
                snapshot_id,
                position,
                max_bytes,
            ))
        }
        Message::VoteResponse { .. }
        | Message::FetchResponse { .. }
        | Message::FetchSnapshotResponse { .. } => return None,
    };
    Some(request)
}
// ANCHOR_END: request

// ANCHOR: parse_request
/// A received request as the core's message, its sender and (for a Fetch)
/// what the driver must honour. The checks run in Kafka's order: cluster
/// id, topic and partition, then the fields.
pub fn parse_request(ctx: &WireContext, request: &RaftRequest) -> Result<Incoming, WireError> {
    match request {
        RaftRequest::Vote(r) => {
            check_cluster(ctx, &r.cluster_id)?;
            let p = only_partition(&r.topics, |t| (&t.topic_name, &t.partitions), |p| p.partition_index)?;
            check_voter(ctx, r.voter_id.0)?;
            let from = sender(p.replica_id.0)?;
            // A candidate bumps its epoch past its log's; a prospective does not.
            let illegal_epoch = if p.pre_vote {
                p.last_offset_epoch > p.replica_epoch
            } else {
                p.last_offset_epoch >= p.replica_epoch
            };
            if p.last_offset < 0 || p.last_offset_epoch < 0 || illegal_epoch {
                return Err(WireError::InvalidRequest("vote: last offset or epoch out of range"));
            }
            let epoch = if p.pre_vote { p.replica_epoch.checked_add(1) } else { Some(p.replica_epoch) };
            let epoch = epoch.ok_or(WireError::InvalidRequest("vote: epoch overflows"))?;
            let message = Message::VoteRequest {
                epoch,
                last_epoch: p.last_offset_epoch,
                end_offset: p.last_offset,
                pre_vote: p.pre_vote,
            };
            Ok(Incoming { from, message, fetch: None })
        }
        RaftRequest::BeginQuorumEpoch(r) => {
            check_cluster(ctx, &r.cluster_id)?;
            let p = only_partition(&r.topics, |t| (&t.topic_name, &t.partitions), |p| p.partition_index)?;
            check_voter(ctx, r.voter_id.0)?;
            let from = sender(p.leader_id.0)?;
            let epoch = non_negative(p.leader_epoch, "begin quorum epoch: negative epoch")?;
            Ok(Incoming { from, message: Message::BeginQuorumEpoch { epoch }, fetch: None })
        }
        RaftRequest::EndQuorumEpoch(r) => {
            check_cluster(ctx, &r.cluster_id)?;
            let p = only_partition(&r.topics, |t| (&t.topic_name, &t.partitions), |p| p.partition_index)?;
            let from = sender(p.leader_id.0)?;
            let epoch = non_negative(p.leader_epoch, "end quorum epoch: negative epoch")?;
            // v0 lists successors, v1 candidates; a decoded request holds one.
            let successors: Vec<NodeId> = if p.preferred_candidates.is_empty() {
                p.preferred_successors.clone()
            } else {
                p.preferred_candidates.iter().map(|c| c.candidate_id.0).collect()
            };
            if successors.iter().any(|&id| id < 0) {
                return Err(WireError::InvalidRequest("end quorum epoch: negative successor id"));
            }
            let message = Message::EndQuorumEpoch { epoch, preferred_successors: successors };
            Ok(Incoming { from, message, fetch: None })
        }
        RaftRequest::Fetch(r) => parse_fetch(ctx, r),
        RaftRequest::FetchSnapshot(r) => super::parse_fetch_snapshot(ctx, r),
    }
}
// ANCHOR_END: parse_request

fn parse_fetch(ctx: &WireContext, r: &FetchRequest) -> Result<Incoming, WireError> {
    check_cluster(ctx, &r.cluster_id)?;
    // v13+ names the topic by id, earlier versions by name.
    let [topic] = r.topics.as_slice() else { return Err(WireError::WrongPartition) };
    let named = topic.topic_id == METADATA_TOPIC_ID || topic.topic.0.as_str() == METADATA_TOPIC;
    let [p] = topic.partitions.as_slice() else { return Err(WireError::WrongPartition) };
    if !named || p.partition != METADATA_PARTITION {
        return Err(WireError::WrongPartition);
    }
    if r.max_wait_ms < 0
        || p.fetch_offset < 0
        || p.last_fetched_epoch < 0
        || p.last_fetched_epoch > p.current_leader_epoch
    {
        return Err(WireError::InvalidRequest("fetch: wait, offset or last fetched epoch out of range"));
    }
    // v15 moved the replica id into ReplicaState.
    let replica_id =
        if r.replica_state.replica_id.0 >= 0 { r.replica_state.replica_id.0 } else { r.replica_id.0 };
    let from = replica_id.max(-1);
    let message = Message::FetchRequest {
        epoch: p.current_leader_epoch,
        fetch_offset: p.fetch_offset,
        last_fetched_epoch: p.last_fetched_epoch,
    };
    let fetch = FetchParams { max_wait_ms: r.max_wait_ms, max_bytes: r.max_bytes, replica: replica_id >= 0 };
    Ok(Incoming { from, message, fetch: Some(fetch) })
}

/// A missing cluster id is accepted, as Kafka does (old clients send none).
fn check_cluster(ctx: &WireContext, cluster_id: &Option<StrBytes>) -> Result<(), WireError> {
    match cluster_id {
        Some(id) if id.as_str() != ctx.cluster_id => {
            Err(WireError::InconsistentClusterId { received: id.as_str().to_string() })
        }
        _ => Ok(()),
    }
}

/// `VoterId` (v1+) names the receiver; -1 (v0, or not known) is anyone.
fn check_voter(ctx: &WireContext, voter_id: i32) -> Result<(), WireError> {
    if voter_id >= 0 && voter_id != ctx.local_id {
        return Err(WireError::InvalidVoterKey { voter_id });
    }
    Ok(())
}

fn sender(id: i32) -> Result<NodeId, WireError> {
    non_negative(id, "negative sender id")
}

fn non_negative(value: i32, why: &'static str) -> Result<i32, WireError> {
    if value < 0 {
        return Err(WireError::InvalidRequest(why));
    }
    Ok(value)
}

/// The one partition of the one topic, if it is `__cluster_metadata-0`.
pub(super) fn only_partition<'a, T, P>(
    topics: &'a [T],
    fields: impl Fn(&'a T) -> (&'a TopicName, &'a Vec<P>),
    index: impl Fn(&P) -> i32,
) -> Result<&'a P, WireError> {
    let [topic] = topics else { return Err(WireError::WrongPartition) };
    let (name, partitions) = fields(topic);
    let [partition] = partitions.as_slice() else { return Err(WireError::WrongPartition) };
    if name.0.as_str() != METADATA_TOPIC || index(partition) != METADATA_PARTITION {
        return Err(WireError::WrongPartition);
    }
    Ok(partition)
}
