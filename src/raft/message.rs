//! What goes in and out of the core: KRaft's RPCs as the core's own types
//! (the wire layer maps them to Kafka's schemas), and the outputs a driver
//! carries out in order.

use super::{ElectionState, Entry, Epoch, NodeId, Offset, RaftError, SnapshotId};

/// KRaft's RPCs, trimmed to what the protocol decides on. Every message
/// carries the sender's epoch; a newer one makes the receiver catch up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Message {
    /// A Vote request. With `pre_vote` (KIP-996) it asks "would you vote for
    /// me in `epoch`?" and changes nothing on the voter; `epoch` is then the
    /// epoch the prospective would stand in, one past its own.
    VoteRequest { epoch: Epoch, last_epoch: Epoch, end_offset: Offset, pre_vote: bool },
    /// The answer. `epoch` is the voter's own, `vote_epoch` the one asked about.
    VoteResponse {
        epoch: Epoch,
        vote_epoch: Epoch,
        pre_vote: bool,
        granted: bool,
        leader_id: Option<NodeId>,
        error: Option<RaftError>,
    },
    /// A new leader announces itself to the voters (resent until they fetch).
    BeginQuorumEpoch { epoch: Epoch },
    /// A leader steps down and names its successors, most caught-up first.
    EndQuorumEpoch { epoch: Epoch, preferred_successors: Vec<NodeId> },
    /// A follower (or observer) asks for entries from `fetch_offset`, and
    /// says which epoch wrote the entry just before it.
    FetchRequest { epoch: Epoch, fetch_offset: Offset, last_fetched_epoch: Epoch },
    /// The answer; `epoch` and `leader_id` are the responder's view.
    FetchResponse { epoch: Epoch, leader_id: Option<NodeId>, result: FetchResult },
    /// A follower behind the leader's log start asks for up to `max_bytes`
    /// of the leader's snapshot `snapshot_id` from byte `position` (KIP-630).
    FetchSnapshotRequest { epoch: Epoch, snapshot_id: SnapshotId, position: u64, max_bytes: u32 },
    /// The answer: a chunk, or a refusal; `epoch` and `leader_id` as in a Fetch answer.
    FetchSnapshotResponse { epoch: Epoch, leader_id: Option<NodeId>, result: SnapshotResult },
}

/// What a FetchSnapshot gets back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum SnapshotResult {
    /// `bytes` of the snapshot from `position`; `size` is the whole snapshot's.
    Chunk { snapshot_id: SnapshotId, size: u64, position: u64, bytes: Vec<u8> },
    /// Refused: SNAPSHOT_NOT_FOUND, POSITION_OUT_OF_RANGE, or the epoch and
    /// leader errors of a Fetch.
    Error(RaftError),
}

/// What a Fetch gets back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum FetchResult {
    /// The entries from `fetch_offset` on, and the leader's high watermark.
    Records { fetch_offset: Offset, entries: Vec<Entry>, high_watermark: Offset },
    /// The follower's log diverges: `epoch` (the largest the leader has at
    /// or below the follower's last fetched epoch) ends at `end_offset`.
    Diverging { fetch_offset: Offset, epoch: Epoch, end_offset: Offset },
    /// `fetch_offset` is below the leader's log start: fetch its latest
    /// snapshot, `snapshot_id`, instead (KIP-630).
    Snapshot { fetch_offset: Offset, snapshot_id: SnapshotId },
    /// Refused; the response's epoch and leader tell the follower where to go.
    Error(RaftError),
}

/// The one timer a role arms. The driver owns the clock: it restarts the
/// timer on [`Output::ResetTimer`] (adding random jitter to
/// `controller.quorum.election.timeout.ms`) and calls
/// [`super::RaftNode::timeout`] when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Timer {
    /// Unattached, Prospective, Candidate, Resigned voters:
    /// `controller.quorum.election.timeout.ms` plus jitter.
    Election,
    /// A follower: `controller.quorum.fetch.timeout.ms` without hearing from its leader.
    Fetch,
    /// The leader: a fetch timeout without fetches from a majority (check-quorum).
    CheckQuorum,
}

/// What the driver must do, in this order. A [`Output::PersistQuorumState`]
/// comes before every [`Output::Send`] that depends on it, so a driver that
/// carries the outputs out one after the other (fsync included) is correct.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Output {
    /// Write the `quorum-state` file (and fsync it) before going on.
    PersistQuorumState(ElectionState),
    /// Send a message.
    Send { to: NodeId, message: Message },
    /// Restart the role's timer.
    ResetTimer(Timer),
    /// The high watermark moved up: entries below it are committed.
    HighWatermark(Offset),
    /// A follower installed snapshot `id` from its leader: its log now
    /// starts at `id.end_offset`; the state machine loads its image from
    /// the snapshot (comes before the [`Output::HighWatermark`] it implies).
    SnapshotInstalled(SnapshotId),
}
