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

use super::{Epoch, NodeId, Offset};

/// What an entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Record {
    /// The control record a new leader writes at the start of its epoch
    /// (Kafka's LeaderChangeMessage). Committing it commits everything
    /// before it: a leader may only count replicas for its own epoch.
    LeaderChange { leader_id: NodeId },
    /// A record the state machine above appended (a metadata record).
    Data(Vec<u8>),
}

/// One entry of the log; its offset is its position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// Removes every entry at `offset` and after.
    fn truncate_to(&mut self, offset: Offset);
}

/// A log in memory: the unit tests' and the model's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoryLog {
    pub entries: Vec<Entry>,
}

impl RaftLog for MemoryLog {
    fn end_offset(&self) -> Offset {
        self.entries.len() as Offset
    }

    fn last_epoch(&self) -> Epoch {
        self.entries.last().map_or(0, |e| e.epoch)
    }

    fn entry(&self, offset: Offset) -> Option<Entry> {
        usize::try_from(offset).ok().and_then(|i| self.entries.get(i)).cloned()
    }

    fn end_offset_for_epoch(&self, epoch: Epoch) -> (Epoch, Offset) {
        // Epochs only grow along the log: the first entry of a larger epoch ends it.
        match self.entries.iter().position(|e| e.epoch > epoch) {
            Some(0) => (0, 0),
            Some(end) => (self.entries[end - 1].epoch, end as Offset),
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
        self.entries.truncate(offset.max(0) as usize);
    }
}
