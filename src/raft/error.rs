//! Why a Raft request was refused, as Kafka's error codes.

use std::fmt;

use kafka_protocol::ResponseError;

/// The KRaft core's refusals. Each travels in a response's `error_code`,
/// with the responder's epoch and leader so the sender can catch up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum RaftError {
    /// The request's epoch is older than the responder's: the sender learns
    /// the newer epoch (and its leader, if named) from the same response.
    FencedLeaderEpoch,
    /// The request's epoch is newer than the responder knows: the responder
    /// will learn of it from the leader; the sender retries.
    UnknownLeaderEpoch,
    /// A Fetch to, or an append on, a replica that is not this epoch's leader:
    /// fetch from the leader the response names, or wait for one.
    NotLeaderOrFollower,
    /// A Vote from, or to, a replica outside the voter set
    /// (`controller.quorum.voters`): a configuration error, not retriable.
    InconsistentVoterSet,
    /// A FetchSnapshot for a snapshot id the leader does not hold (Kafka's
    /// SNAPSHOT_NOT_FOUND, code 98): fetch again to learn the newest one.
    SnapshotNotFound,
    /// A FetchSnapshot from a position outside the snapshot: start over.
    PositionOutOfRange,
    /// A request whose fields cannot be true of any replica (a negative
    /// offset or epoch, an entry of an epoch past the request's own, a
    /// fetch under the leader's own id): a bug or a misconfiguration in the
    /// sender, not retriable as it stands. Only ever sent; a received
    /// INVALID_REQUEST is the driver's to handle ([`RaftError::from_code`]).
    InvalidRequest,
}

impl RaftError {
    /// Kafka's error, for the response's `error_code`.
    pub fn response_error(self) -> ResponseError {
        match self {
            RaftError::FencedLeaderEpoch => ResponseError::FencedLeaderEpoch,
            RaftError::UnknownLeaderEpoch => ResponseError::UnknownLeaderEpoch,
            RaftError::NotLeaderOrFollower => ResponseError::NotLeaderOrFollower,
            RaftError::InconsistentVoterSet => ResponseError::InconsistentVoterSet,
            RaftError::SnapshotNotFound => ResponseError::SnapshotNotFound,
            RaftError::PositionOutOfRange => ResponseError::PositionOutOfRange,
            RaftError::InvalidRequest => ResponseError::InvalidRequest,
        }
    }

    /// The wire code.
    pub fn code(self) -> i16 {
        self.response_error().code()
    }

    /// The refusal a response's `error_code` names, if it is one the core
    /// acts on (none for 0, and none for errors outside the protocol, such
    /// as INVALID_REQUEST, which the driver handles by backing off).
    pub fn from_code(code: i16) -> Option<Self> {
        [
            RaftError::FencedLeaderEpoch,
            RaftError::UnknownLeaderEpoch,
            RaftError::NotLeaderOrFollower,
            RaftError::InconsistentVoterSet,
            RaftError::SnapshotNotFound,
            RaftError::PositionOutOfRange,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }
}

impl fmt::Display for RaftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.response_error())
    }
}

impl std::error::Error for RaftError {}
