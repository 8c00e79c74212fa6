//! KRaft's RPCs on the wire: the core's [`Message`]s as Kafka's own
//! requests and responses, so that controllers talk to each other over the
//! CONTROLLER listener exactly as Kafka's do.
//!
//! # The problem
//!
//! The Raft core speaks in [`Message`]s trimmed to what the protocol decides
//! on. Between processes they must travel as Kafka's schemas (KIP-595):
//! Vote (api 52), BeginQuorumEpoch (53), EndQuorumEpoch (54) and Fetch (1),
//! each wrapping one topic, `__cluster_metadata`, and one partition, 0, and
//! each carrying the cluster id so that a controller of another cluster is
//! refused (`INCONSISTENT_CLUSTER_ID`). DescribeQuorum (55) lets an operator
//! ask the leader how the quorum is doing (`spool metadata-quorum`).
//!
//! # How Kafka does it
//!
//! `RaftUtil` builds one-topic one-partition requests and responses;
//! `KafkaRaftClient`'s `handle*Request` methods check the cluster id (a
//! missing one is accepted), then the topic and partition (a mismatch is
//! `INVALID_REQUEST`, top level, "until we support multi-raft"), then the
//! fields (`INVALID_REQUEST` at partition level, with the responder's epoch
//! and leader). Errors the protocol decides (a fenced epoch, not the
//! leader) travel at partition level, beside the responder's epoch and leader.
//!
//! ```text
//!   core Message ──request()──▶ RaftRequest ──encode──▶ bytes ──▶ peer
//!                                                                  │ decode
//!   core Message ◀─parse_response()─ RaftResponse ◀── bytes ◀──┐   ▼
//!                                                              │ parse_request() → Incoming → core.step
//!                                                              └── response()/ack()/error_response()
//! ```
//!
//! # This code
//!
//! Pure mapping, no IO: [`request()`] and [`parse_request`] in
//! [`mod@request`], [`response()`], [`ack`], [`error_response`] and
//! [`parse_response`] in [`mod@response`], DescribeQuorum in [`describe`]. A few fields are not on the wire at all — a Vote
//! response does not repeat the epoch it answers, a Fetch response does not
//! repeat the fetch offset — because Kafka matches a response to its request
//! by correlation id; [`parse_response`] therefore takes the request it
//! answers.
//!
//! The versions sent are the highest that both this crate and Kafka 4.0
//! speak, one per API ([`RpcKind::version`]): Vote v2 (KIP-996's `PreVote`
//! flag first appears there, and the core asks for pre-votes; Kafka 3.9 stops
//! at v1), BeginQuorumEpoch v1 and EndQuorumEpoch v1 (KIP-853, Kafka 3.9+),
//! Fetch v17 (KIP-853's replica directory id; v18 is newer than 4.0). Any
//! version the crate decodes is accepted coming in.
//!
//! # Simplifications
//!
//! - No directory ids (KIP-853): a static voter set, so every directory id is
//!   zero, which Kafka reads as "none".
//! - No leader endpoints: the optional `LeaderEndpoints`/`NodeEndpoints`
//!   fields stay empty; every controller knows the others' addresses from
//!   `controller.quorum.voters`.
//! - FetchSnapshot (api 59) is mapped in [`mod@snapshot`]; a Fetch answer
//!   names the leader's snapshot in `SnapshotId` when the fetch offset is
//!   below its log start.
//! - The pre-vote epoch: Kafka's prospective sends its current epoch
//!   (`ReplicaEpoch`, not bumped); the core's [`Message::VoteRequest`] names
//!   the epoch it would stand in, one more. The mapping adds and subtracts
//!   the one.

pub mod describe;
pub mod request;
pub mod response;
pub mod snapshot;

use std::fmt;

use kafka_protocol::messages::{
    ApiKey, BeginQuorumEpochRequest, BeginQuorumEpochResponse, EndQuorumEpochRequest, EndQuorumEpochResponse,
    FetchRequest, FetchResponse, FetchSnapshotRequest, FetchSnapshotResponse, RequestKind, ResponseKind,
    VoteRequest, VoteResponse,
};
use kafka_protocol::ResponseError;
use uuid::Uuid;

pub use describe::{
    check_describe_quorum, describe_quorum_error, describe_quorum_response, Endpoint, QuorumStatus,
    ReplicaStatus,
};
pub use request::{parse_request, request};
pub use response::{ack, error_response, parse_response, response};
pub use snapshot::{
    fetch_snapshot_error, fetch_snapshot_request, fetch_snapshot_response, parse_fetch_snapshot,
    parse_fetch_snapshot_response,
};

pub use super::METADATA_TOPIC;
use super::{Message, NodeId, RaftError};

/// The metadata log's one partition.
pub const METADATA_PARTITION: i32 = 0;

/// `__cluster_metadata`'s topic id, fixed in Kafka (`Uuid.METADATA_TOPIC_ID`,
/// 0 then 1): Fetch v13+ names topics by id.
pub const METADATA_TOPIC_ID: Uuid = Uuid::from_u64_pair(0, 1);

/// What the wire needs beyond a message: who we are and how we fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireContext {
    /// `cluster.id` from `meta.properties`: sent in every request, checked in
    /// every request received.
    pub cluster_id: String,
    /// This controller's `node.id`.
    pub local_id: NodeId,
    /// How long the leader may park a Fetch with nothing new (Kafka's
    /// `controller.quorum.fetch.timeout.ms / 2` is the ceiling; it sends 500).
    pub fetch_max_wait_ms: i32,
    /// The most bytes a Fetch answer may carry (Kafka: 8 MiB, one batch max).
    pub fetch_max_bytes: i32,
}

/// The five KRaft RPCs, and the version spool sends each at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RpcKind {
    Vote,
    BeginQuorumEpoch,
    EndQuorumEpoch,
    Fetch,
    FetchSnapshot,
}

impl RpcKind {
    /// The API key in the request header.
    pub fn api_key(self) -> ApiKey {
        match self {
            RpcKind::Vote => ApiKey::Vote,
            RpcKind::BeginQuorumEpoch => ApiKey::BeginQuorumEpoch,
            RpcKind::EndQuorumEpoch => ApiKey::EndQuorumEpoch,
            RpcKind::Fetch => ApiKey::Fetch,
            RpcKind::FetchSnapshot => ApiKey::FetchSnapshot,
        }
    }

    /// The version spool sends (see the module docs for why these).
    pub fn version(self) -> i16 {
        match self {
            RpcKind::Vote => 2,
            RpcKind::BeginQuorumEpoch | RpcKind::EndQuorumEpoch => 1,
            RpcKind::Fetch => 17,
            // v1 adds KIP-853's directory id and leader endpoints (tagged).
            RpcKind::FetchSnapshot => 1,
        }
    }
}

/// A KRaft request as Kafka's schema.
#[derive(Debug, Clone, PartialEq)]
pub enum RaftRequest {
    Vote(VoteRequest),
    BeginQuorumEpoch(BeginQuorumEpochRequest),
    EndQuorumEpoch(EndQuorumEpochRequest),
    Fetch(FetchRequest),
    FetchSnapshot(FetchSnapshotRequest),
}

impl RaftRequest {
    /// Which RPC this is.
    pub fn kind(&self) -> RpcKind {
        match self {
            RaftRequest::Vote(_) => RpcKind::Vote,
            RaftRequest::BeginQuorumEpoch(_) => RpcKind::BeginQuorumEpoch,
            RaftRequest::EndQuorumEpoch(_) => RpcKind::EndQuorumEpoch,
            RaftRequest::Fetch(_) => RpcKind::Fetch,
            RaftRequest::FetchSnapshot(_) => RpcKind::FetchSnapshot,
        }
    }

    /// The version to send it at.
    pub fn version(&self) -> i16 {
        self.kind().version()
    }

    /// The request as the codec's enum, to encode.
    pub fn into_kind(self) -> RequestKind {
        match self {
            RaftRequest::Vote(r) => RequestKind::Vote(r),
            RaftRequest::BeginQuorumEpoch(r) => RequestKind::BeginQuorumEpoch(r),
            RaftRequest::EndQuorumEpoch(r) => RequestKind::EndQuorumEpoch(r),
            RaftRequest::Fetch(r) => RequestKind::Fetch(r),
            RaftRequest::FetchSnapshot(r) => RequestKind::FetchSnapshot(r),
        }
    }
}

/// A decoded request that is one of KRaft's; any other is handed back.
impl TryFrom<RequestKind> for RaftRequest {
    type Error = RequestKind;

    fn try_from(kind: RequestKind) -> Result<Self, RequestKind> {
        match kind {
            RequestKind::Vote(r) => Ok(RaftRequest::Vote(r)),
            RequestKind::BeginQuorumEpoch(r) => Ok(RaftRequest::BeginQuorumEpoch(r)),
            RequestKind::EndQuorumEpoch(r) => Ok(RaftRequest::EndQuorumEpoch(r)),
            RequestKind::Fetch(r) => Ok(RaftRequest::Fetch(r)),
            RequestKind::FetchSnapshot(r) => Ok(RaftRequest::FetchSnapshot(r)),
            other => Err(other),
        }
    }
}

/// A KRaft response as Kafka's schema.
#[derive(Debug, Clone, PartialEq)]
pub enum RaftResponse {
    Vote(VoteResponse),
    BeginQuorumEpoch(BeginQuorumEpochResponse),
    EndQuorumEpoch(EndQuorumEpochResponse),
    Fetch(FetchResponse),
    FetchSnapshot(FetchSnapshotResponse),
}

impl RaftResponse {
    /// Which RPC this answers.
    pub fn kind(&self) -> RpcKind {
        match self {
            RaftResponse::Vote(_) => RpcKind::Vote,
            RaftResponse::BeginQuorumEpoch(_) => RpcKind::BeginQuorumEpoch,
            RaftResponse::EndQuorumEpoch(_) => RpcKind::EndQuorumEpoch,
            RaftResponse::Fetch(_) => RpcKind::Fetch,
            RaftResponse::FetchSnapshot(_) => RpcKind::FetchSnapshot,
        }
    }

    /// The response as the codec's enum, to encode.
    pub fn into_kind(self) -> ResponseKind {
        match self {
            RaftResponse::Vote(r) => ResponseKind::Vote(r),
            RaftResponse::BeginQuorumEpoch(r) => ResponseKind::BeginQuorumEpoch(r),
            RaftResponse::EndQuorumEpoch(r) => ResponseKind::EndQuorumEpoch(r),
            RaftResponse::Fetch(r) => ResponseKind::Fetch(r),
            RaftResponse::FetchSnapshot(r) => ResponseKind::FetchSnapshot(r),
        }
    }
}

/// A decoded response that is one of KRaft's; any other is handed back.
impl TryFrom<ResponseKind> for RaftResponse {
    type Error = ResponseKind;

    fn try_from(kind: ResponseKind) -> Result<Self, ResponseKind> {
        match kind {
            ResponseKind::Vote(r) => Ok(RaftResponse::Vote(r)),
            ResponseKind::BeginQuorumEpoch(r) => Ok(RaftResponse::BeginQuorumEpoch(r)),
            ResponseKind::EndQuorumEpoch(r) => Ok(RaftResponse::EndQuorumEpoch(r)),
            ResponseKind::Fetch(r) => Ok(RaftResponse::Fetch(r)),
            ResponseKind::FetchSnapshot(r) => Ok(RaftResponse::FetchSnapshot(r)),
            other => Err(other),
        }
    }
}

/// A request received, as the core takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The sender: the candidate, the leader, or the fetching replica (`-1`
    /// for an anonymous fetch, see [`FetchParams::replica`]).
    pub from: NodeId,
    pub message: Message,
    /// A Fetch's parameters the core does not decide on.
    pub fetch: Option<FetchParams>,
}

/// What a Fetch asks of the driver rather than of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchParams {
    /// How long the leader may park the fetch when it has nothing new.
    pub max_wait_ms: i32,
    /// The most bytes the answer may carry.
    pub max_bytes: i32,
    /// Whether the sender named itself (`ReplicaState.ReplicaId` ≥ 0, or
    /// `ReplicaId` before v15): a voter or an observer with a `node.id`, whose
    /// progress the leader tracks. An anonymous fetch (`-1`) only reads.
    pub replica: bool,
}

/// What a response means to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A message for the core; for a Fetch answer, `records` holds the
    /// record batches (the message's entries are empty: the driver decodes
    /// the batches into entries before stepping the core).
    Message { message: Message, records: bytes::Bytes },
    /// A BeginQuorumEpoch or EndQuorumEpoch answer: the core sends no such
    /// response and takes none, but a responder in a newer epoch says so here.
    Ack { epoch: i32, leader_id: Option<NodeId> },
}

/// Why a request or response could not be mapped. Each names the Kafka
/// error a request refused this way is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The request names another cluster: a misconfigured peer, not retriable.
    InconsistentClusterId { received: String },
    /// Not exactly `__cluster_metadata` partition 0. Kafka answers
    /// INVALID_REQUEST at top level (UNKNOWN_TOPIC_OR_PARTITION for DescribeQuorum).
    WrongPartition,
    /// A field out of range (a negative id, offset or epoch, …).
    InvalidRequest(&'static str),
    /// A Vote or BeginQuorumEpoch meant for another voter (`VoterId`).
    InvalidVoterKey { voter_id: NodeId },
    /// A refusal the core decides (for [`error_response`]).
    Raft(RaftError),
    /// A response whose error the core cannot act on (a top-level error,
    /// INVALID_REQUEST, …): the driver backs off and retries.
    Refused(i16),
    /// A response that does not fit the request it answers.
    InvalidResponse(&'static str),
}

impl WireError {
    /// Kafka's error code for the answer.
    pub fn code(&self) -> i16 {
        match self {
            WireError::InconsistentClusterId { .. } => ResponseError::InconsistentClusterId.code(),
            WireError::WrongPartition | WireError::InvalidRequest(_) | WireError::InvalidResponse(_) => {
                ResponseError::InvalidRequest.code()
            }
            WireError::InvalidVoterKey { .. } => ResponseError::InvalidVoterKey.code(),
            WireError::Raft(e) => e.code(),
            WireError::Refused(code) => *code,
        }
    }

    /// Whether Kafka answers it in the response's top-level `ErrorCode`, with
    /// no partition (else at partition level with the responder's epoch).
    pub fn is_top_level(&self) -> bool {
        matches!(self, WireError::InconsistentClusterId { .. } | WireError::WrongPartition)
    }
}

impl From<RaftError> for WireError {
    fn from(e: RaftError) -> Self {
        WireError::Raft(e)
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::InconsistentClusterId { received } => write!(f, "cluster id {received:?} is not ours"),
            WireError::WrongPartition => write!(f, "not {METADATA_TOPIC}-{METADATA_PARTITION}"),
            WireError::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            WireError::InvalidVoterKey { voter_id } => write!(f, "meant for voter {voter_id}"),
            WireError::Raft(e) => write!(f, "{e}"),
            WireError::Refused(code) => match ResponseError::try_from_code(*code) {
                Some(e) => write!(f, "refused: {e:?}"),
                None => write!(f, "refused: error code {code}"),
            },
            WireError::InvalidResponse(why) => write!(f, "invalid response: {why}"),
        }
    }
}

impl std::error::Error for WireError {}

/// The id on the wire: -1 for none.
fn wire_id(id: Option<NodeId>) -> i32 {
    id.unwrap_or(-1)
}

/// The id off the wire: negative is none.
fn node_id(id: i32) -> Option<NodeId> {
    (id >= 0).then_some(id)
}

#[cfg(test)]
mod tests;
