//! Snapshots in the Raft core (KIP-630): a follower too far behind catches
//! up from the leader's snapshot instead of its log.
//!
//! Once the state machine has a snapshot of its image at a committed offset,
//! the log before that offset may go, and the log's **start offset** moves up
//! to it. A follower whose fetch offset is below the leader's start offset
//! cannot be sent entries; the Fetch answer names the leader's latest
//! snapshot instead (`snapshot_id`), and the follower pulls it with
//! FetchSnapshot, one chunk at a time, from byte `position`:
//!
//! ```text
//!  follower                                   leader (log starts at 120, snapshot 120-3)
//!    Fetch(offset 40, epoch 2) ─────────────▶ 40 < start 120
//!    ◀──────────────────────── snapshot_id (120, 3)
//!    FetchSnapshot((120,3), position 0) ────▶ size 9000: bytes 0..4096
//!    FetchSnapshot((120,3), position 4096) ─▶ bytes 4096..8192
//!    FetchSnapshot((120,3), position 8192) ─▶ bytes 8192..9000  (the last chunk)
//!    install: the log now starts (and ends) at 120, last epoch 3
//!    Fetch(offset 120, epoch 3) ────────────▶ entries from 120 on
//! ```
//!
//! The leader refuses an id it does not hold (SNAPSHOT_NOT_FOUND, Kafka's
//! name for an unknown snapshot id: it took a newer one and deleted this
//! one) and a position past the end (POSITION_OUT_OF_RANGE); the follower
//! then fetches again, which names the newest snapshot. A chunk counts as
//! contact for check-quorum, as a Fetch does.
//!
//! Taking a snapshot is the state machine's: it asks [`RaftNode::snapshot_id`]
//! which id its image at a committed offset has, writes it
//! ([`RaftLog::create_snapshot`]), and only then lets the log delete what is
//! below ([`RaftLog::delete_before`]).

use std::fmt;

use super::message::{Message, Output, SnapshotResult};
use super::node::Role;
use super::{Epoch, NodeId, Offset, RaftError, RaftLog, RaftNode};

/// A finished snapshot file's suffix (Kafka's `Snapshots.SUFFIX`).
pub const SUFFIX: &str = ".checkpoint";

/// Which log prefix a snapshot stands for: every record below `end_offset`,
/// the last of them written in `epoch` (Kafka's `OffsetAndEpoch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct SnapshotId {
    /// The first offset the snapshot does NOT hold: the log resumes here.
    pub end_offset: Offset,
    pub epoch: Epoch,
}

impl SnapshotId {
    /// `<end offset, 20 digits>-<epoch, 10 digits>.checkpoint`.
    pub fn file_name(&self) -> String {
        format!("{:020}-{:010}{SUFFIX}", self.end_offset, self.epoch)
    }

    /// The id a `.checkpoint` file name stands for, or `None` for any other name.
    pub fn from_file_name(name: &str) -> Option<SnapshotId> {
        let stem = name.strip_suffix(SUFFIX)?;
        let (offset, epoch) = stem.split_once('-')?;
        let digits = |s: &str, width| s.len() == width && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(offset, 20) || !digits(epoch, 10) {
            return None;
        }
        Some(SnapshotId { end_offset: offset.parse().ok()?, epoch: epoch.parse().ok()? })
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(end offset {}, epoch {})", self.end_offset, self.epoch)
    }
}

impl RaftNode {
    // ANCHOR: snapshot_id
    /// The id a snapshot of the state machine at `end_offset` gets, if one
    /// may be taken there: only at or below the high watermark (a snapshot
    /// holds committed records only, Kafka's `createNewSnapshot`), past the
    /// latest snapshot, and within the log (the epoch is the entry's before it).
    pub fn snapshot_id(&self, log: &impl RaftLog, end_offset: Offset) -> Option<SnapshotId> {
        let latest = log.latest_snapshot().map_or(0, |id| id.end_offset);
        if end_offset > self.high_watermark || end_offset <= latest || end_offset <= log.start_offset() {
            return None;
        }
        let epoch = log.entry(end_offset - 1)?.epoch;
        Some(SnapshotId { end_offset, epoch })
    }
    // ANCHOR_END: snapshot_id

    // ANCHOR: on_fetch_snapshot_request
    /// The leader serves one chunk of a snapshot it holds.
    pub(super) fn on_fetch_snapshot_request(
        &mut self,
        log: &impl RaftLog,
        from: NodeId,
        epoch: Epoch,
        (snapshot_id, position, max_bytes): (SnapshotId, u64, u32),
        out: &mut Vec<Output>,
    ) {
        let result = match self.refuse_follower_request(epoch) {
            Some(error) => SnapshotResult::Error(error),
            None => match log.snapshot_size(snapshot_id) {
                None => SnapshotResult::Error(RaftError::SnapshotNotFound),
                Some(size) if position >= size => SnapshotResult::Error(RaftError::PositionOutOfRange),
                Some(size) => {
                    if let Role::Leader(progress) = &mut self.role {
                        if self.config.voters.contains(&from) {
                            progress.fetched.insert(from);
                        }
                    }
                    let bytes = log.read_snapshot(snapshot_id, position, max_bytes.max(1) as usize);
                    SnapshotResult::Chunk { snapshot_id, size, position, bytes }
                }
            },
        };
        let message =
            Message::FetchSnapshotResponse { epoch: self.epoch(), leader_id: self.leader_id(), result };
        Self::send(from, message, out);
    }
    // ANCHOR_END: on_fetch_snapshot_request

    // ANCHOR: on_fetch_snapshot_response
    /// A follower receives a chunk: it writes it, asks for the next, and on
    /// the last one installs the snapshot and fetches from its end.
    pub(super) fn on_fetch_snapshot_response(
        &mut self,
        log: &mut impl RaftLog,
        from: NodeId,
        epoch: Epoch,
        leader_id: Option<NodeId>,
        result: SnapshotResult,
        out: &mut Vec<Output>,
    ) {
        if epoch > self.epoch() {
            return self.learn_epoch(log, epoch, leader_id, out);
        }
        let Role::Follower { leader_id, fetching_snapshot: Some((id, position)) } = self.role else { return };
        if epoch != self.epoch() || leader_id != from {
            return;
        }
        match result {
            SnapshotResult::Chunk { snapshot_id, size, position: at, bytes }
                if snapshot_id == id && at == position && !bytes.is_empty() =>
            {
                log.append_snapshot_chunk(id, position, &bytes);
                let position = position + bytes.len() as u64;
                self.reset_timer(out);
                if position < size {
                    self.role = Role::Follower { leader_id, fetching_snapshot: Some((id, position)) };
                    return self.send_fetch_snapshot(leader_id, out);
                }
                log.install_snapshot(id);
                out.push(Output::SnapshotInstalled(id));
                if id.end_offset > self.high_watermark {
                    self.high_watermark = id.end_offset;
                    out.push(Output::HighWatermark(id.end_offset));
                }
            }
            // The leader no longer holds it, or our position is off: start
            // over from a Fetch, whose answer names the newest snapshot.
            SnapshotResult::Error(RaftError::SnapshotNotFound | RaftError::PositionOutOfRange) => {}
            // An older chunk (reordered), or an error from our own leader:
            // wait for the next answer or the resend.
            _ => return,
        }
        self.role = Role::Follower { leader_id, fetching_snapshot: None };
        self.send_fetch(log, leader_id, out);
    }
    // ANCHOR_END: on_fetch_snapshot_response

    /// A Fetch answer named the leader's snapshot: pull it from position 0.
    pub(super) fn start_fetching_snapshot(&mut self, snapshot_id: SnapshotId, out: &mut Vec<Output>) {
        let Role::Follower { leader_id, .. } = self.role else { return };
        self.role = Role::Follower { leader_id, fetching_snapshot: Some((snapshot_id, 0)) };
        self.reset_timer(out);
        self.send_fetch_snapshot(leader_id, out);
    }

    /// Asks the leader for the next chunk of the snapshot being fetched.
    pub(super) fn send_fetch_snapshot(&self, leader_id: NodeId, out: &mut Vec<Output>) {
        let Role::Follower { fetching_snapshot: Some((snapshot_id, position)), .. } = self.role else {
            return;
        };
        let max_bytes = self.config.snapshot_chunk_bytes_max;
        let message = Message::FetchSnapshotRequest { epoch: self.epoch(), snapshot_id, position, max_bytes };
        Self::send(leader_id, message, out);
    }
}
