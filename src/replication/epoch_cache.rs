//! The leader epoch cache: for each leader epoch a replica has written
//! records of, the offset of that epoch's first record. Kafka's
//! `LeaderEpochFileCache` (`storage/.../internals/epoch/`), kept beside each
//! partition's log and checkpointed to `leader-epoch-checkpoint`
//! ([`super::checkpoint`]).
//!
//! ```text
//!  offset:   0    1    2    3    4    5    6
//!  epoch:    0    0    0    2    2    5    5      log end offset 7
//!  cache:    {0 → 0, 2 → 3, 5 → 5}
//!  end_offset_for(0) = (0, 3)   end_offset_for(1) = (0, 3)
//!  end_offset_for(2) = (2, 5)   end_offset_for(5) = (5, 7)
//! ```
//!
//! The one question it answers for others is "where does my copy of epoch
//! `e` end?" ([`LeaderEpochCache::end_offset_for`], the OffsetsForLeaderEpoch
//! request and Fetch's diverging-epoch check): a follower whose last record is
//! of epoch `e` keeps its log up to that end offset and no further, because
//! past it the leader wrote records of a later epoch that the follower never
//! saw (KIP-101), and it learns which epoch the answer is for, so a follower
//! that never had that epoch can ask again (KIP-279).

use std::collections::BTreeMap;

/// An epoch nobody asked about, or that is unknown: Kafka's `UNDEFINED_EPOCH`.
pub const UNDEFINED_EPOCH: i32 = -1;
/// The end offset of an epoch nobody knows: Kafka's `UNDEFINED_EPOCH_OFFSET`.
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// One line of the cache: epoch `epoch` starts at `start_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// An answer to "where does epoch `e` end?": the largest epoch at or below
/// `e` that the answering replica knows, and the offset where the epoch after
/// it starts (or its log end, for its latest epoch). Fetch's `DivergingEpoch`
/// and OffsetsForLeaderEpoch's `EpochEndOffset` carry exactly this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EpochEndOffset {
    pub leader_epoch: i32,
    pub end_offset: i64,
}

impl EpochEndOffset {
    /// Nothing known: (-1, -1).
    pub const UNDEFINED: EpochEndOffset =
        EpochEndOffset { leader_epoch: UNDEFINED_EPOCH, end_offset: UNDEFINED_EPOCH_OFFSET };
}

/// Epoch → start offset, both strictly increasing together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LeaderEpochCache {
    /// Invariant: a later epoch never starts before an earlier one.
    epochs: BTreeMap<i32, i64>,
}

impl LeaderEpochCache {
    pub fn new() -> Self {
        LeaderEpochCache::default()
    }

    /// The entries, oldest epoch first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = EpochEntry> + '_ {
        self.epochs.iter().map(|(&epoch, &start_offset)| EpochEntry { epoch, start_offset })
    }

    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    /// The latest epoch with records (or led) on this replica: what a follower
    /// sends as its `LastFetchedEpoch`.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.last_key_value().map(|(&epoch, _)| epoch)
    }

    pub fn earliest_entry(&self) -> Option<EpochEntry> {
        self.entries().next()
    }

    /// Where `epoch` starts, if this replica has it.
    pub fn start_offset_of(&self, epoch: i32) -> Option<i64> {
        self.epochs.get(&epoch).copied()
    }

    /// The epoch of the record at `offset`: the latest epoch starting at or before it.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        self.epochs.iter().rev().find(|&(_, &start)| start <= offset).map(|(&epoch, _)| epoch)
    }

    // ANCHOR: assign
    /// Records that `epoch` starts at `start_offset`: when a replica becomes
    /// leader (at its log end) and when a follower appends the first batch of
    /// an epoch it had not seen. The same epoch again is a no-op unless it now
    /// starts earlier. Entries the new one contradicts — an epoch at or above
    /// it, or one starting at or after it — are dropped first, so epochs and
    /// start offsets stay increasing together (Kafka's `assign`). Returns
    /// whether the cache changed (the driver then rewrites the checkpoint).
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        assert!(epoch >= 0 && start_offset >= 0, "epoch {epoch} at offset {start_offset}: both must be >= 0");
        if let Some((&latest, &latest_start)) = self.epochs.last_key_value() {
            if latest == epoch && latest_start <= start_offset {
                return false;
            }
        }
        self.epochs.retain(|&e, &mut start| e < epoch && start < start_offset);
        self.epochs.insert(epoch, start_offset);
        true
    }
    // ANCHOR_END: assign

    // ANCHOR: end_offset_for
    /// OffsetsForLeaderEpoch on this replica, whose log ends at
    /// `log_end_offset` (Kafka's `endOffsetFor`):
    ///
    /// - the latest epoch: (that epoch, the log end) — still being written;
    /// - an older epoch `e`: (the largest known epoch ≤ `e`, the start of the
    ///   first epoch > `e`) — where this replica stopped writing `e`'s records;
    /// - below every known epoch: (`e`, the start of the earliest known epoch) —
    ///   Kafka's answer when the older epochs were deleted with the log's
    ///   start; the caller may keep nothing past it;
    /// - [`UNDEFINED_EPOCH`], or above every known epoch, or an empty cache:
    ///   [`EpochEndOffset::UNDEFINED`].
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> EpochEndOffset {
        if requested_epoch == UNDEFINED_EPOCH {
            return EpochEndOffset::UNDEFINED;
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return EpochEndOffset { leader_epoch: requested_epoch, end_offset: log_end_offset };
        }
        let Some((_, &next_start)) = self.epochs.range(requested_epoch + 1..).next() else {
            return EpochEndOffset::UNDEFINED;
        };
        let floor = self.epochs.range(..=requested_epoch).next_back().map(|(&epoch, _)| epoch);
        EpochEndOffset { leader_epoch: floor.unwrap_or(requested_epoch), end_offset: next_start }
    }
    // ANCHOR_END: end_offset_for

    /// The log was truncated to end at `end_offset`: epochs starting at or
    /// after it had no record left and are forgotten (Kafka's `truncateFromEnd`).
    pub fn truncate_from_end(&mut self, end_offset: i64) {
        if end_offset >= 0 {
            self.epochs.retain(|_, &mut start| start < end_offset);
        }
    }

    /// The log's start moved to `start_offset` (retention, DeleteRecords):
    /// epochs that ended before it are forgotten and the epoch in force at it
    /// now starts there (Kafka's `truncateFromStart`).
    pub fn truncate_from_start(&mut self, start_offset: i64) {
        let Some(in_force) = self.epoch_for_offset(start_offset) else { return };
        self.epochs.retain(|&epoch, _| epoch >= in_force);
        self.epochs.insert(in_force, start_offset);
    }

    /// A cache from checkpoint entries, refusing any that break the order
    /// (epochs and start offsets increasing together, none negative).
    pub fn from_entries(entries: impl IntoIterator<Item = EpochEntry>) -> Result<Self, EpochEntry> {
        let mut cache = LeaderEpochCache::new();
        for entry in entries {
            let in_order = cache
                .epochs
                .last_key_value()
                .is_none_or(|(&epoch, &start)| entry.epoch > epoch && entry.start_offset > start);
            if entry.epoch < 0 || entry.start_offset < 0 || !in_order {
                return Err(entry);
            }
            cache.epochs.insert(entry.epoch, entry.start_offset);
        }
        Ok(cache)
    }
}

#[cfg(test)]
mod tests;
