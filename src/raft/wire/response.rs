//! Responses: the core's answers out as Kafka's schemas ([`response`],
//! [`ack`], [`error_response`]) and Kafka's answers in as the core's
//! messages ([`parse_response`]).
//!
//! Errors travel where Kafka puts them: refusals of the request as a whole
//! (another cluster, another partition) in the top-level `ErrorCode` with no
//! partition; everything else at partition level, beside the responder's
//! epoch and leader so that the sender can catch up.

use bytes::Bytes;
use kafka_protocol::messages::{
    begin_quorum_epoch_response, end_quorum_epoch_response, fetch_response, vote_response,
    BeginQuorumEpochResponse, BrokerId, EndQuorumEpochResponse, FetchResponse, TopicName, VoteResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::request::only_partition;
use super::{
    node_id, wire_id, RaftResponse, Reply, RpcKind, WireError, METADATA_PARTITION, METADATA_TOPIC,
    METADATA_TOPIC_ID,
};
use crate::raft::{Epoch, FetchResult, Message, NodeId, Offset, RaftError, SnapshotId};

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str(METADATA_TOPIC))
}

/// The partition-level fields every KRaft answer shares.
#[derive(Clone, Copy)]
struct Answer {
    error_code: i16,
    epoch: Epoch,
    leader_id: Option<NodeId>,
}

// ANCHOR: response
/// The core's answer `message` as the response to a request received at
/// `request_version`; `None` for a request message. A Fetch answer's
/// `records` are the encoded batches (the entries of
/// [`FetchResult::Records`] are not read here: the caller encoded them).
pub fn response(request_version: i16, message: &Message, records: Bytes) -> Option<RaftResponse> {
    match message {
        &Message::VoteResponse { epoch, granted, leader_id, error, .. } => {
            let answer = Answer { error_code: error.map_or(0, RaftError::code), epoch, leader_id };
            Some(vote(0, Some(answer), granted))
        }
        Message::FetchResponse { epoch, leader_id, result } => {
            let answer = |error_code| Answer { error_code, epoch: *epoch, leader_id: *leader_id };
            let partition = match result {
                FetchResult::Records { high_watermark, .. } => {
                    fetch_partition(request_version, answer(0), *high_watermark).with_records(Some(records))
                }
                &FetchResult::Diverging { epoch, end_offset, .. } => {
                    let mut p = fetch_partition(request_version, answer(0), -1);
                    if request_version >= 12 {
                        p.diverging_epoch = fetch_response::EpochEndOffset::default()
                            .with_epoch(epoch)
                            .with_end_offset(end_offset);
                    }
                    p
                }
                &FetchResult::Snapshot { snapshot_id, .. } => {
                    let mut p = fetch_partition(request_version, answer(0), -1);
                    p.snapshot_id = fetch_response::SnapshotId::default()
                        .with_end_offset(snapshot_id.end_offset)
                        .with_epoch(snapshot_id.epoch);
                    p
                }
                FetchResult::Error(e) => fetch_partition(request_version, answer(e.code()), -1),
            };
            Some(fetch(request_version, 0, Some(partition)))
        }
        Message::FetchSnapshotResponse { .. } => {
            super::fetch_snapshot_response(message).map(RaftResponse::FetchSnapshot)
        }
        _ => None,
    }
}
// ANCHOR_END: response

/// The answer to a BeginQuorumEpoch or EndQuorumEpoch the core took (it
/// sends none of its own): no error, and this replica's epoch and leader.
/// `None` for a Vote or Fetch, which the core answers itself.
pub fn ack(kind: RpcKind, epoch: Epoch, leader_id: Option<NodeId>) -> Option<RaftResponse> {
    let answer = Answer { error_code: 0, epoch, leader_id };
    match kind {
        RpcKind::BeginQuorumEpoch => Some(begin(0, Some(answer))),
        RpcKind::EndQuorumEpoch => Some(end(0, Some(answer))),
        RpcKind::Vote | RpcKind::Fetch | RpcKind::FetchSnapshot => None,
    }
}

/// The answer to a request refused before the core saw it (or by the
/// driver): a top-level error alone, or a partition-level one with this
/// replica's epoch and leader (see [`WireError::is_top_level`]).
pub fn error_response(
    kind: RpcKind,
    version: i16,
    error: &WireError,
    epoch: Epoch,
    leader_id: Option<NodeId>,
) -> RaftResponse {
    let (top, answer) = if error.is_top_level() {
        (error.code(), None)
    } else {
        (0, Some(Answer { error_code: error.code(), epoch, leader_id }))
    };
    match kind {
        RpcKind::Vote => vote(top, answer, false),
        RpcKind::BeginQuorumEpoch => begin(top, answer),
        RpcKind::EndQuorumEpoch => end(top, answer),
        RpcKind::Fetch => fetch(version, top, answer.map(|a| fetch_partition(version, a, -1))),
        RpcKind::FetchSnapshot => super::fetch_snapshot_error(error, epoch, leader_id),
    }
}

fn vote(top: i16, answer: Option<Answer>, granted: bool) -> RaftResponse {
    let topics = answer.map(|a| {
        let p = vote_response::PartitionData::default()
            .with_partition_index(METADATA_PARTITION)
            .with_error_code(a.error_code)
            .with_leader_id(BrokerId(wire_id(a.leader_id)))
            .with_leader_epoch(a.epoch)
            .with_vote_granted(granted);
        vote_response::TopicData::default().with_topic_name(topic_name()).with_partitions(vec![p])
    });
    RaftResponse::Vote(VoteResponse::default().with_error_code(top).with_topics(topics.into_iter().collect()))
}

fn begin(top: i16, answer: Option<Answer>) -> RaftResponse {
    let topics = answer.map(|a| {
        let p = begin_quorum_epoch_response::PartitionData::default()
            .with_partition_index(METADATA_PARTITION)
            .with_error_code(a.error_code)
            .with_leader_id(BrokerId(wire_id(a.leader_id)))
            .with_leader_epoch(a.epoch);
        begin_quorum_epoch_response::TopicData::default()
            .with_topic_name(topic_name())
            .with_partitions(vec![p])
    });
    let response = BeginQuorumEpochResponse::default().with_error_code(top);
    RaftResponse::BeginQuorumEpoch(response.with_topics(topics.into_iter().collect()))
}

fn end(top: i16, answer: Option<Answer>) -> RaftResponse {
    let topics = answer.map(|a| {
        let p = end_quorum_epoch_response::PartitionData::default()
            .with_partition_index(METADATA_PARTITION)
            .with_error_code(a.error_code)
            .with_leader_id(BrokerId(wire_id(a.leader_id)))
            .with_leader_epoch(a.epoch);
        end_quorum_epoch_response::TopicData::default().with_topic_name(topic_name()).with_partitions(vec![p])
    });
    let response = EndQuorumEpochResponse::default().with_error_code(top);
    RaftResponse::EndQuorumEpoch(response.with_topics(topics.into_iter().collect()))
}

/// A Fetch partition without records; the current leader rides along from
/// v12 (before it, the schema has no place for it).
fn fetch_partition(version: i16, a: Answer, high_watermark: Offset) -> fetch_response::PartitionData {
    let mut p = fetch_response::PartitionData::default()
        .with_partition_index(METADATA_PARTITION)
        .with_error_code(a.error_code)
        .with_high_watermark(high_watermark)
        .with_log_start_offset(0);
    if version >= 12 {
        p.current_leader = fetch_response::LeaderIdAndEpoch::default()
            .with_leader_id(BrokerId(wire_id(a.leader_id)))
            .with_leader_epoch(a.epoch);
    }
    p
}

fn fetch(version: i16, top: i16, partition: Option<fetch_response::PartitionData>) -> RaftResponse {
    let responses = partition.map(|p| {
        let topic = fetch_response::FetchableTopicResponse::default().with_partitions(vec![p]);
        // v13 names the topic by id, earlier versions by name.
        if version >= 13 {
            topic.with_topic_id(METADATA_TOPIC_ID)
        } else {
            topic.with_topic(topic_name())
        }
    });
    RaftResponse::Fetch(
        FetchResponse::default().with_error_code(top).with_responses(responses.into_iter().collect()),
    )
}

// ANCHOR: parse_response
/// A response, as what it means to the driver: a message for the core, or
/// an acknowledgement. `sent` is the request it answers (the driver pairs
/// them by correlation id): the wire does not repeat what it asked.
pub fn parse_response(sent: &Message, response: &RaftResponse) -> Result<Reply, WireError> {
    match (sent, response) {
        (&Message::VoteRequest { epoch: vote_epoch, pre_vote, .. }, RaftResponse::Vote(r)) => {
            refused(r.error_code)?;
            let p = only_partition(&r.topics, |t| (&t.topic_name, &t.partitions), |p| p.partition_index)?;
            let message = Message::VoteResponse {
                epoch: p.leader_epoch,
                vote_epoch,
                pre_vote,
                granted: p.vote_granted,
                leader_id: node_id(p.leader_id.0),
                error: raft_error(p.error_code)?,
            };
            Ok(Reply::Message { message, records: Bytes::new() })
        }
        (&Message::FetchRequest { fetch_offset, .. }, RaftResponse::Fetch(r)) => parse_fetch(fetch_offset, r),
        (Message::FetchSnapshotRequest { .. }, RaftResponse::FetchSnapshot(r)) => {
            super::parse_fetch_snapshot_response(r)
        }
        (Message::BeginQuorumEpoch { .. }, RaftResponse::BeginQuorumEpoch(r)) => {
            refused(r.error_code)?;
            let p = only_partition(&r.topics, |t| (&t.topic_name, &t.partitions), |p| p.partition_index)?;
            ack_reply(p.error_code, p.leader_epoch, p.leader_id.0)
        }
        (Message::EndQuorumEpoch { .. }, RaftResponse::EndQuorumEpoch(r)) => {
            refused(r.error_code)?;
            let p = only_partition(&r.topics, |t| (&t.topic_name, &t.partitions), |p| p.partition_index)?;
            ack_reply(p.error_code, p.leader_epoch, p.leader_id.0)
        }
        _ => Err(WireError::InvalidResponse("the response is not for the request sent")),
    }
}
// ANCHOR_END: parse_response

fn parse_fetch(fetch_offset: Offset, r: &FetchResponse) -> Result<Reply, WireError> {
    refused(r.error_code)?;
    let [topic] = r.responses.as_slice() else { return Err(WireError::WrongPartition) };
    let named = topic.topic_id == METADATA_TOPIC_ID || topic.topic.0.as_str() == METADATA_TOPIC;
    let [p] = topic.partitions.as_slice() else { return Err(WireError::WrongPartition) };
    if !named || p.partition_index != METADATA_PARTITION {
        return Err(WireError::WrongPartition);
    }
    let (epoch, leader_id) = (p.current_leader.leader_epoch, node_id(p.current_leader.leader_id.0));
    let mut records = Bytes::new();
    let result = if let Some(error) = raft_error(p.error_code)? {
        FetchResult::Error(error)
    } else if p.diverging_epoch.epoch >= 0 {
        if p.diverging_epoch.end_offset < 0 {
            return Err(WireError::InvalidResponse("fetch: diverging epoch without an end offset"));
        }
        FetchResult::Diverging {
            fetch_offset,
            epoch: p.diverging_epoch.epoch,
            end_offset: p.diverging_epoch.end_offset,
        }
    } else if p.snapshot_id.epoch >= 0 || p.snapshot_id.end_offset >= 0 {
        if p.snapshot_id.epoch < 0 || p.snapshot_id.end_offset < 0 {
            return Err(WireError::InvalidResponse("fetch: a snapshot id with a negative half"));
        }
        let snapshot_id = SnapshotId { end_offset: p.snapshot_id.end_offset, epoch: p.snapshot_id.epoch };
        FetchResult::Snapshot { fetch_offset, snapshot_id }
    } else {
        records = p.records.clone().unwrap_or_default();
        // -1 is "not known yet": nothing is committed as far as we learn.
        FetchResult::Records { fetch_offset, entries: Vec::new(), high_watermark: p.high_watermark.max(0) }
    };
    Ok(Reply::Message { message: Message::FetchResponse { epoch, leader_id, result }, records })
}

fn ack_reply(error_code: i16, epoch: Epoch, leader_id: i32) -> Result<Reply, WireError> {
    // A fenced epoch is still an answer: the responder's epoch is news.
    raft_error(error_code)?;
    Ok(Reply::Ack { epoch, leader_id: node_id(leader_id) })
}

/// A top-level error refuses the whole request.
fn refused(code: i16) -> Result<(), WireError> {
    if code != 0 {
        return Err(WireError::Refused(code));
    }
    Ok(())
}

/// A partition-level error: none, one the core acts on, or a refusal.
fn raft_error(code: i16) -> Result<Option<RaftError>, WireError> {
    match code {
        0 => Ok(None),
        code => RaftError::from_code(code).map(Some).ok_or(WireError::Refused(code)),
    }
}
