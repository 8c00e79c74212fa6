//! Why the replication core refused a request, as Kafka's error codes.

use std::fmt;

use kafka_protocol::ResponseError;

/// One partition's replication errors. Each is retriable for the client or
/// follower that receives it: the doc says what it does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReplicationError {
    /// The fetching replica is not in this partition's replica set (or is the
    /// leader itself): refresh metadata, stop fetching.
    NotLeaderOrFollower,
    /// The fetch offset is past the leader's log end: the follower asks for the
    /// leader's log end and truncates to it.
    OffsetOutOfRange,
    /// An `acks=all` append while the ISR is smaller than
    /// `min.insync.replicas`: nothing was written; retry later.
    NotEnoughReplicas,
    /// The append was written, but the ISR fell below `min.insync.replicas`
    /// before the high watermark covered it: retry (a duplicate unless idempotent).
    NotEnoughReplicasAfterAppend,
    /// The request's leader epoch is older than this leader's: the sender has
    /// stale metadata; refresh it (KIP-320).
    FencedLeaderEpoch,
    /// The request's leader epoch is newer than this replica knows: this
    /// replica has stale metadata; retry after a moment (KIP-320).
    UnknownLeaderEpoch,
}

impl ReplicationError {
    /// Kafka's error, for the response's `error_code`.
    pub fn response_error(self) -> ResponseError {
        match self {
            ReplicationError::NotLeaderOrFollower => ResponseError::NotLeaderOrFollower,
            ReplicationError::OffsetOutOfRange => ResponseError::OffsetOutOfRange,
            ReplicationError::NotEnoughReplicas => ResponseError::NotEnoughReplicas,
            ReplicationError::NotEnoughReplicasAfterAppend => ResponseError::NotEnoughReplicasAfterAppend,
            ReplicationError::FencedLeaderEpoch => ResponseError::FencedLeaderEpoch,
            ReplicationError::UnknownLeaderEpoch => ResponseError::UnknownLeaderEpoch,
        }
    }

    /// The wire code.
    pub fn code(self) -> i16 {
        self.response_error().code()
    }
}

impl fmt::Display for ReplicationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.response_error())
    }
}

impl std::error::Error for ReplicationError {}
