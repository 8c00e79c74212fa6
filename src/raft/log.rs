//! The replicated log as the Raft core sees it: entries, each stamped with
//! the epoch of the leader that wrote it, at consecutive offsets.
//!
//! The core asks the log a handful of questions (where it ends, which epoch
//! wrote an offset, where an epoch ends) and tells it to append or truncate;
//! [`RaftLog`] is that surface. [`MemoryLog`] keeps the entries in a `Vec`
//! for the unit tests and the model, one entry per offset; the controllers'
//! metadata log, `__cluster_metadata-0`, implements the same trait on disk
//! (`crate::metadata::quorum_log::QuorumLog`), where entries are Kafka record
//! batches ([`super::batches`]) and a Fetch answer is whole batches
//! ([`RaftLog::entries`]).
//!
//! A log may start after offset 0: once a snapshot stands for its prefix
//! (KIP-630), the entries below the snapshot's end offset may go, and the
//! log's **start offset** moves up to it. The log holds its snapshots too
//! (Kafka's `ReplicatedLog` does): the core asks for the latest one when a
//! follower fetches below the start, reads it in chunks for FetchSnapshot,
//! and a follower writes the chunks it receives and installs the snapshot
//! when the last one arrives.

use super::{Epoch, NodeId, Offset, SnapshotId};

/// What an entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Record {
    /// The control record a new leader writes at the start of its epoch
    /// (Kafka's LeaderChangeMessage). Committing it commits everything
    /// before it: a leader may only count replicas for its own epoch.
    LeaderChange { leader_id: NodeId },
    /// A record the state machine above appended (a metadata record).
    Data(Vec<u8>),
}

/// One entry of the log; its offset is its position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub epoch: Epoch,
    pub record: Record,
}

/// The log the core reads and changes. Every change must be durable when the
/// call returns (or before the driver carries out the outputs of the same
/// step): a follower's next Fetch tells the leader its log holds what it
/// fetched, and the leader counts that toward the high watermark.
pub trait RaftLog {
    /// The offset the next entry will get (the log end offset).
    fn end_offset(&self) -> Offset;
    /// The epoch of the last entry, 0 for an empty log.
    fn last_epoch(&self) -> Epoch;
    /// The entry at `offset`, if the log holds it.
    fn entry(&self, offset: Offset) -> Option<Entry>;
    // ANCHOR: entries
    /// The entries from `from` on, what a Fetch answer carries: whole
    /// batches, stopping before one that would bring the count past `max`,
    /// but always the first (from `from`, which may be inside it), so a
    /// follower always makes progress. A log of one entry per batch, like
    /// [`MemoryLog`], answers at most `max` entries; a log of bigger batches
    /// may answer more, never a batch cut in two.
    fn entries(&self, from: Offset, max: usize) -> Vec<Entry> {
        (from..self.end_offset()).take(max).filter_map(|offset| self.entry(offset)).collect()
    }
    // ANCHOR_END: entries
    /// The largest epoch ≤ `epoch` in the log and the offset where it ends
    /// (where the next epoch starts, or the log end); `(0, 0)` if there is
    /// none. The answer to "where does my log diverge from yours?".
    fn end_offset_for_epoch(&self, epoch: Epoch) -> (Epoch, Offset);
    /// Appends `entries` at the log end.
    fn append(&mut self, entries: Vec<Entry>);
    /// Removes every entry at `offset` and after (never below the start offset).
    fn truncate_to(&mut self, offset: Offset);

    // ANCHOR: snapshot_surface
    /// The first offset the log holds: 0, or the end offset of the snapshot
    /// the entries before it were deleted for.
    fn start_offset(&self) -> Offset;
    /// The newest snapshot this log holds, if any.
    fn latest_snapshot(&self) -> Option<SnapshotId>;
    /// The size in bytes of snapshot `id`, if this log holds it.
    fn snapshot_size(&self, id: SnapshotId) -> Option<u64>;
    /// Up to `max_bytes` of snapshot `id` from `position` (empty if it is
    /// not held or `position` is past its end): one FetchSnapshot chunk.
    fn read_snapshot(&self, id: SnapshotId, position: u64, max_bytes: usize) -> Vec<u8>;
    /// Stores a new snapshot `id` whole (`bytes`), durably: the state
    /// machine's image at `id.end_offset`, which must be committed. The
    /// log keeps its entries; [`RaftLog::delete_before`] removes them.
    fn create_snapshot(&mut self, id: SnapshotId, bytes: Vec<u8>);
    /// Moves the start offset up to `offset` (at most the latest snapshot's
    /// end offset) and deletes what is wholly below it. Called only once the
    /// snapshot at `offset` is durable, so a crash never loses both.
    fn delete_before(&mut self, offset: Offset);
    /// A follower receives snapshot `id` from its leader: `bytes` at
    /// `position` of a snapshot not yet complete (position 0 starts over).
    fn append_snapshot_chunk(&mut self, id: SnapshotId, position: u64, bytes: &[u8]);
    /// The last chunk of `id` arrived: make it the latest snapshot, durably,
    /// then drop every entry and start the log empty at `id.end_offset`,
    /// its last epoch `id.epoch` (Kafka's `truncateToLatestSnapshot`).
    fn install_snapshot(&mut self, id: SnapshotId);
    // ANCHOR_END: snapshot_surface
}

/// A log in memory: the unit tests' and the model's. `entries[0]` is at
/// offset `start`; the snapshot, if any, stands for everything below
/// `start` (and maybe a little more, until [`RaftLog::delete_before`]).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct MemoryLog {
    pub entries: Vec<Entry>,
    /// The log start offset.
    pub start: Offset,
    /// The latest snapshot and its bytes.
    pub snapshot: Option<(SnapshotId, Vec<u8>)>,
    /// A snapshot being received from the leader, not yet complete.
    pub partial: Option<(SnapshotId, Vec<u8>)>,
}

impl MemoryLog {
    /// The epoch of the snapshot the log starts at (0 if none).
    fn start_epoch(&self) -> Epoch {
        self.snapshot.as_ref().filter(|(id, _)| id.end_offset == self.start).map_or(0, |(id, _)| id.epoch)
    }
}

impl RaftLog for MemoryLog {
    fn end_offset(&self) -> Offset {
        self.start + self.entries.len() as Offset
    }

    fn last_epoch(&self) -> Epoch {
        self.entries.last().map_or(self.start_epoch(), |e| e.epoch)
    }

    fn entry(&self, offset: Offset) -> Option<Entry> {
        usize::try_from(offset - self.start).ok().and_then(|i| self.entries.get(i)).cloned()
    }

    fn end_offset_for_epoch(&self, epoch: Epoch) -> (Epoch, Offset) {
        // Epochs only grow along the log: the first entry of a larger epoch
        // ends it. Below the start, only the snapshot's epoch is known.
        let start_epoch = self.start_epoch();
        let below_start =
            if start_epoch > 0 && start_epoch <= epoch { (start_epoch, self.start) } else { (0, 0) };
        match self.entries.iter().position(|e| e.epoch > epoch) {
            Some(0) => below_start,
            Some(end) => (self.entries[end - 1].epoch, self.start + end as Offset),
            None if self.entries.is_empty() => below_start,
            None => (self.last_epoch(), self.end_offset()),
        }
    }

    fn append(&mut self, entries: Vec<Entry>) {
        for entry in &entries {
            assert!(entry.epoch >= self.last_epoch(), "epochs never go back along the log");
        }
        self.entries.extend(entries);
    }

    fn truncate_to(&mut self, offset: Offset) {
        self.entries.truncate((offset - self.start).max(0) as usize);
    }

    fn start_offset(&self) -> Offset {
        self.start
    }

    fn latest_snapshot(&self) -> Option<SnapshotId> {
        self.snapshot.as_ref().map(|(id, _)| *id)
    }

    fn snapshot_size(&self, id: SnapshotId) -> Option<u64> {
        self.snapshot.as_ref().filter(|(held, _)| *held == id).map(|(_, bytes)| bytes.len() as u64)
    }

    fn read_snapshot(&self, id: SnapshotId, position: u64, max_bytes: usize) -> Vec<u8> {
        let Some((_, bytes)) = self.snapshot.as_ref().filter(|(held, _)| *held == id) else {
            return Vec::new();
        };
        let from = (position as usize).min(bytes.len());
        bytes[from..(from + max_bytes).min(bytes.len())].to_vec()
    }

    fn create_snapshot(&mut self, id: SnapshotId, bytes: Vec<u8>) {
        assert!(id.end_offset <= self.end_offset(), "a snapshot of entries the log does not hold");
        self.snapshot = Some((id, bytes));
    }

    fn delete_before(&mut self, offset: Offset) {
        let offset = offset.min(self.latest_snapshot().map_or(0, |id| id.end_offset)).min(self.end_offset());
        if offset > self.start {
            self.entries.drain(..(offset - self.start) as usize);
            self.start = offset;
        }
    }

    fn append_snapshot_chunk(&mut self, id: SnapshotId, position: u64, bytes: &[u8]) {
        if position == 0 || self.partial.as_ref().is_none_or(|(held, _)| *held != id) {
            self.partial = Some((id, Vec::new()));
        }
        let (_, held) = self.partial.as_mut().expect("set above");
        held.truncate(position as usize);
        held.extend_from_slice(bytes);
    }

    fn install_snapshot(&mut self, id: SnapshotId) {
        let Some((partial_id, bytes)) = self.partial.take() else { return };
        assert_eq!(partial_id, id, "installing a snapshot that was not received");
        self.snapshot = Some((id, bytes));
        self.entries.clear();
        self.start = id.end_offset;
    }
}
