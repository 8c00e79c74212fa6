//! The quorum's requests on the CONTROLLER listener: Vote,
//! BeginQuorumEpoch, EndQuorumEpoch, a voter's Fetch and anyone's
//! FetchSnapshot go to the core;
//! a broker's Fetch of `__cluster_metadata` reads the committed batches;
//! DescribeQuorum reports what the leader knows of each replica.
//!
//! ```text
//!  Fetch from a voter ──▶ core: records, or the diverging epoch ──▶ nothing new?
//!                          park until the log or the high watermark moves, or max_wait_ms
//!  Fetch from a broker ─▶ leader only: the batches below the high watermark
//!                          (NOT_LEADER_OR_FOLLOWER + current_leader elsewhere)
//! ```

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{
    self, FetchableTopicResponse, LeaderIdAndEpoch, PartitionData,
};
use kafka_protocol::messages::{
    BeginQuorumEpochRequest, BeginQuorumEpochResponse, BrokerId, DescribeQuorumRequest,
    DescribeQuorumResponse, EndQuorumEpochRequest, EndQuorumEpochResponse, FetchRequest, FetchResponse,
    FetchSnapshotRequest, FetchSnapshotResponse, VoteRequest, VoteResponse,
};
use kafka_protocol::ResponseError;

use super::{MetadataQuorum, ReplicaSeen, State};
use crate::broker::now_ms;
use crate::raft::wire::{
    self, QuorumStatus, RaftRequest, RaftResponse, ReplicaStatus, WireContext, WireError,
};
use crate::raft::{FetchResult, Message, NodeId, Offset, RaftError, RaftLog, Role};

impl MetadataQuorum {
    /// What the wire mapping needs to know about this member.
    pub(super) fn wire_context(&self) -> WireContext {
        WireContext {
            cluster_id: self.cluster_id.clone(),
            local_id: self.id,
            fetch_max_wait_ms: (self.timeouts.fetch_ms / 4).clamp(1, 500) as i32,
            fetch_max_bytes: 8 << 20,
        }
    }

    pub fn handle_vote(&self, request: VoteRequest, version: i16) -> VoteResponse {
        match self.answer_control(RaftRequest::Vote(request), version) {
            RaftResponse::Vote(r) => r,
            _ => VoteResponse::default().with_error_code(ResponseError::UnknownServerError.code()),
        }
    }

    pub fn handle_begin_quorum_epoch(
        &self,
        request: BeginQuorumEpochRequest,
        version: i16,
    ) -> BeginQuorumEpochResponse {
        match self.answer_control(RaftRequest::BeginQuorumEpoch(request), version) {
            RaftResponse::BeginQuorumEpoch(r) => r,
            _ => {
                BeginQuorumEpochResponse::default().with_error_code(ResponseError::UnknownServerError.code())
            }
        }
    }

    pub fn handle_end_quorum_epoch(
        &self,
        request: EndQuorumEpochRequest,
        version: i16,
    ) -> EndQuorumEpochResponse {
        match self.answer_control(RaftRequest::EndQuorumEpoch(request), version) {
            RaftResponse::EndQuorumEpoch(r) => r,
            _ => EndQuorumEpochResponse::default().with_error_code(ResponseError::UnknownServerError.code()),
        }
    }

    // ANCHOR: handle_fetch_snapshot
    /// FetchSnapshot (KIP-630) from a voter or a broker: one chunk of the
    /// leader's snapshot, or the core's refusal (SNAPSHOT_NOT_FOUND,
    /// POSITION_OUT_OF_RANGE, FENCED_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER).
    pub fn handle_fetch_snapshot(
        &self,
        request: FetchSnapshotRequest,
        version: i16,
    ) -> FetchSnapshotResponse {
        let _ = version; // v1 only adds tagged fields
        let raft = RaftRequest::FetchSnapshot(request);
        let incoming = wire::parse_request(&self.wire_context(), &raft);
        let mut st = self.lock();
        let refuse = |e: &WireError, st: &State| match wire::fetch_snapshot_error(
            e,
            st.node.epoch(),
            st.node.leader_id(),
        ) {
            RaftResponse::FetchSnapshot(r) => r,
            _ => FetchSnapshotResponse::default().with_error_code(ResponseError::UnknownServerError.code()),
        };
        let incoming = match incoming {
            Ok(incoming) => incoming,
            Err(e) => return refuse(&e, &st),
        };
        if st.failed {
            return refuse(&WireError::Raft(RaftError::NotLeaderOrFollower), &st);
        }
        match self
            .on_request(&mut st, incoming.from, incoming.message)
            .as_ref()
            .and_then(wire::fetch_snapshot_response)
        {
            Some(response) => response,
            None => refuse(&WireError::InvalidRequest("no fetch snapshot answer"), &st),
        }
    }
    // ANCHOR_END: handle_fetch_snapshot

    /// Vote, BeginQuorumEpoch, EndQuorumEpoch: the core's answer, or an
    /// acknowledgement with this member's epoch and leader.
    fn answer_control(&self, request: RaftRequest, version: i16) -> RaftResponse {
        let kind = request.kind();
        let refuse = |e: &WireError, st: &State| {
            wire::error_response(kind, version, e, st.node.epoch(), st.node.leader_id())
        };
        let incoming = wire::parse_request(&self.wire_context(), &request);
        let mut st = self.lock();
        let incoming = match incoming {
            Ok(incoming) => incoming,
            Err(e) => return refuse(&e, &st),
        };
        if st.failed {
            return refuse(&WireError::Raft(RaftError::NotLeaderOrFollower), &st);
        }
        // The core ignores a leader's announcement of an older epoch; Kafka
        // answers it FENCED_LEADER_EPOCH (`validateVoterOnlyRequest`), so the
        // stale leader is told plainly, not acknowledged.
        if let Message::BeginQuorumEpoch { epoch } | Message::EndQuorumEpoch { epoch, .. } = incoming.message
        {
            if epoch < st.node.epoch() {
                return refuse(&WireError::Raft(RaftError::FencedLeaderEpoch), &st);
            }
        }
        let reply = self.on_request(&mut st, incoming.from, incoming.message);
        let answer = match reply {
            Some(message) => wire::response(version, &message, Bytes::new()),
            None => wire::ack(kind, st.node.epoch(), st.node.leader_id()),
        };
        answer.unwrap_or_else(|| refuse(&WireError::InvalidRequest("no answer"), &st))
    }

    /// A Fetch of `__cluster_metadata`: a voter's goes to the core, anyone
    /// else's (a broker) reads the committed batches.
    pub async fn handle_fetch(&self, request: FetchRequest, version: i16) -> FetchResponse {
        let replica_id = if request.replica_state.replica_id.0 >= 0 {
            request.replica_state.replica_id.0
        } else {
            request.replica_id.0
        };
        // Every Fetch's cluster id is checked first, an observer's too (as
        // Kafka's `handleFetchRequest` does): a broker of another cluster
        // pointed at these controllers must not read this cluster's metadata.
        if let Some(received) = request.cluster_id.as_ref().filter(|id| id.as_str() != self.cluster_id) {
            let error = WireError::InconsistentClusterId { received: received.to_string() };
            return self.fetch_refused(&error, version);
        }
        if replica_id != self.id && self.voters.contains_key(&replica_id) {
            self.fetch_for_voter(request, version).await
        } else {
            self.fetch_committed(&request, replica_id, version).await
        }
    }

    // ANCHOR: fetch_for_voter
    /// A voter's Fetch, stepped through the core. Nothing new for it: the
    /// fetch is parked until the log or the high watermark moves (then
    /// stepped again) or its `max_wait_ms` runs out — Kafka's fetch
    /// purgatory, which is what lets a follower fetch again at once.
    async fn fetch_for_voter(&self, request: FetchRequest, version: i16) -> FetchResponse {
        let raft = RaftRequest::Fetch(request);
        let incoming = match wire::parse_request(&self.wire_context(), &raft) {
            Ok(incoming) => incoming,
            Err(e) => return self.fetch_refused(&e, version),
        };
        let max_wait = incoming.fetch.map_or(0, |f| f.max_wait_ms.max(0) as u64);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(max_wait);
        let mut changes = self.subscribe();
        let mut first_high_watermark = None;
        loop {
            changes.borrow_and_update();
            let max_bytes = incoming.fetch.map_or(8 << 20, |f| f.max_bytes.max(0) as u32);
            let (reply, records) = {
                let mut st = self.lock();
                if st.failed {
                    return self.fetch_refused(&WireError::Raft(RaftError::NotLeaderOrFollower), version);
                }
                if let Message::FetchRequest { fetch_offset, .. } = incoming.message {
                    note_fetch(&mut st, incoming.from, fetch_offset);
                }
                let reply = self.on_request(&mut st, incoming.from, incoming.message.clone());
                // The entries' batches as they are on disk (see QuorumLog::stage_fetched).
                let records = match &reply {
                    Some(Message::FetchResponse {
                        result: FetchResult::Records { fetch_offset, entries, .. },
                        ..
                    }) if !entries.is_empty() => {
                        let end = fetch_offset + entries.len() as Offset;
                        st.log.read_bytes(*fetch_offset, end, max_bytes)
                    }
                    _ => Ok(Bytes::new()),
                };
                (reply, records)
            };
            let Some(reply) = reply else {
                return self.fetch_refused(&WireError::Raft(RaftError::NotLeaderOrFollower), version);
            };
            if let Message::FetchResponse {
                result: FetchResult::Records { entries, high_watermark, .. },
                ..
            } = &reply
            {
                let known = *first_high_watermark.get_or_insert(*high_watermark);
                let nothing_new = entries.is_empty() && *high_watermark == known;
                let waited = nothing_new
                    && tokio::time::Instant::now() < deadline
                    && tokio::time::timeout_at(deadline, changes.changed()).await.is_ok_and(|r| r.is_ok());
                if waited {
                    continue;
                }
            }
            let records = match records {
                Ok(records) => records,
                Err(e) => {
                    tracing::error!(error = %e, "reading the metadata log failed");
                    return self.fetch_refused(
                        &WireError::Refused(ResponseError::KafkaStorageError.code()),
                        version,
                    );
                }
            };
            return match wire::response(version, &reply, records) {
                Some(RaftResponse::Fetch(r)) => r,
                _ => self.fetch_refused(&WireError::InvalidRequest("no fetch answer"), version),
            };
        }
    }
    // ANCHOR_END: fetch_for_voter

    fn fetch_refused(&self, error: &WireError, version: i16) -> FetchResponse {
        let view = self.view();
        match wire::error_response(wire::RpcKind::Fetch, version, error, view.epoch, view.leader_id) {
            RaftResponse::Fetch(r) => r,
            _ => FetchResponse::default().with_error_code(ResponseError::UnknownServerError.code()),
        }
    }

    // ANCHOR: fetch_committed
    /// A broker's Fetch: the committed batches from its offset, from the
    /// leader only (a broker's copy holds committed records, so it never has
    /// to truncate). Nothing new: wait for a commit, up to `max_wait_ms`.
    async fn fetch_committed(
        &self,
        request: &FetchRequest,
        replica_id: NodeId,
        version: i16,
    ) -> FetchResponse {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
        let mut topics = Vec::new();
        for topic in &request.topics {
            let mut partitions = Vec::new();
            for p in &topic.partitions {
                let data = PartitionData::default().with_partition_index(p.partition);
                let ours = topic.topic.0.as_str() == crate::metadata::METADATA_TOPIC
                    || topic.topic_id == wire::METADATA_TOPIC_ID;
                if !ours || p.partition != 0 {
                    partitions.push(data.with_error_code(ResponseError::UnknownTopicOrPartition.code()));
                    continue;
                }
                let max_bytes = p.partition_max_bytes.max(0) as u32;
                partitions
                    .push(self.read_committed(data, p.fetch_offset, max_bytes, replica_id, deadline).await);
            }
            topics.push(
                FetchableTopicResponse::default()
                    .with_topic(topic.topic.clone())
                    .with_topic_id(topic.topic_id)
                    .with_partitions(partitions),
            );
        }
        let _ = version;
        FetchResponse::default().with_responses(topics)
    }

    async fn read_committed(
        &self,
        data: PartitionData,
        fetch_offset: Offset,
        max_bytes: u32,
        replica_id: NodeId,
        deadline: tokio::time::Instant,
    ) -> PartitionData {
        let mut changes = self.subscribe();
        loop {
            changes.borrow_and_update();
            let read = {
                let mut st = self.lock();
                let leader = LeaderIdAndEpoch::default()
                    .with_leader_id(BrokerId(st.node.leader_id().unwrap_or(-1)))
                    .with_leader_epoch(st.node.epoch());
                if st.failed || !matches!(st.node.role, Role::Leader(_)) {
                    let error = ResponseError::NotLeaderOrFollower.code();
                    return data.with_error_code(error).with_current_leader(leader);
                }
                if replica_id >= 0 {
                    note_fetch(&mut st, replica_id, fetch_offset);
                }
                let high_watermark = st.applied;
                if let Some(snapshot) =
                    st.log.latest_snapshot().filter(|_| fetch_offset < st.log.start_offset())
                {
                    // Below the log start: the broker loads the snapshot (KIP-630).
                    let id = fetch_response::SnapshotId::default()
                        .with_end_offset(snapshot.end_offset)
                        .with_epoch(snapshot.epoch);
                    return data
                        .with_snapshot_id(id)
                        .with_high_watermark(high_watermark)
                        .with_log_start_offset(st.log.start_offset())
                        .with_current_leader(leader);
                }
                if fetch_offset < 0 || fetch_offset > st.log.end_offset() {
                    return data
                        .with_error_code(ResponseError::OffsetOutOfRange.code())
                        .with_high_watermark(high_watermark)
                        .with_current_leader(leader);
                }
                let bytes = if fetch_offset < high_watermark {
                    st.log.read_bytes(fetch_offset, high_watermark, max_bytes).map(Some)
                } else {
                    Ok(None)
                };
                (bytes, high_watermark, leader)
            };
            let (bytes, high_watermark, leader) = read;
            let answer = |records: Bytes| {
                data.clone()
                    .with_high_watermark(high_watermark)
                    .with_last_stable_offset(high_watermark)
                    .with_current_leader(leader.clone())
                    .with_records(Some(records))
            };
            match bytes {
                Ok(Some(records)) => return answer(records),
                Ok(None) => {
                    if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                        return answer(Bytes::new());
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading the metadata log failed");
                    return data.with_error_code(ResponseError::KafkaStorageError.code());
                }
            }
        }
    }
    // ANCHOR_END: fetch_committed

    /// DescribeQuorum (`spool metadata-quorum describe`): the leader's view
    /// of every voter and observer; NOT_LEADER_OR_FOLLOWER elsewhere.
    pub fn handle_describe_quorum(
        &self,
        request: DescribeQuorumRequest,
        version: i16,
    ) -> DescribeQuorumResponse {
        if wire::check_describe_quorum(&request).is_err() {
            return wire::describe_quorum_error(version, &request, ResponseError::UnknownTopicOrPartition);
        }
        let st = self.lock();
        let Role::Leader(progress) = &st.node.role else {
            return wire::describe_quorum_error(version, &request, ResponseError::NotLeaderOrFollower);
        };
        let status_of = |id: NodeId, end: Option<Offset>| {
            let seen = st.seen.get(&id);
            ReplicaStatus {
                replica_id: id,
                log_end_offset: end.or(seen.map(|s| s.log_end_offset)),
                last_fetch_timestamp_ms: seen.map(|s| s.last_fetch_ms),
                last_caught_up_timestamp_ms: seen.map(|s| s.last_caught_up_ms).filter(|&t| t >= 0),
            }
        };
        let now = now_ms();
        let voters = (self.voters.keys())
            .map(|&id| {
                let mut status = status_of(id, progress.end_offsets.get(&id).copied());
                if id == self.id {
                    status.last_fetch_timestamp_ms = Some(now);
                    status.last_caught_up_timestamp_ms = Some(now);
                }
                status
            })
            .collect();
        let observers = (st.seen.keys())
            .filter(|id| !self.voters.contains_key(id))
            .map(|&id| status_of(id, None))
            .collect();
        let high_watermark =
            (st.node.high_watermark > progress.epoch_start_offset).then_some(st.node.high_watermark);
        let status = QuorumStatus {
            leader_id: Some(self.id),
            leader_epoch: st.node.epoch(),
            high_watermark,
            voters,
            observers,
            endpoints: Vec::new(),
        };
        wire::describe_quorum_response(version, &status)
    }
}

/// The leader notes a replica's fetch for DescribeQuorum: its log end, and
/// when it last fetched at the leader's log end.
fn note_fetch(st: &mut State, replica_id: NodeId, fetch_offset: Offset) {
    if !matches!(st.node.role, Role::Leader(_)) {
        return;
    }
    let now = now_ms();
    let end = st.log.end_offset();
    let seen =
        st.seen.entry(replica_id).or_insert(ReplicaSeen { last_caught_up_ms: -1, ..ReplicaSeen::default() });
    seen.log_end_offset = fetch_offset;
    seen.last_fetch_ms = now;
    if fetch_offset >= end {
        seen.last_caught_up_ms = now;
    }
}
