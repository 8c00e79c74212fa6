//! The log's half of chapter 6's leader epochs: every partition log keeps a
//! [`LeaderEpochCache`] — where each leader epoch's records start — and its
//! `leader-epoch-checkpoint` file beside the segments, as Kafka's `UnifiedLog`
//! keeps its `LeaderEpochFileCache`. The cache and the file's format are the
//! replication core's ([`crate::replication::epoch_cache`],
//! [`crate::replication::checkpoint`]); this file decides when they change and
//! writes them through the log's [`Storage`].
//!
//! ```text
//!  Log::append(batches, epoch)   a batch of an epoch above the latest ──▶ assign(epoch, its base offset)
//!  Log::truncate_to(offset)      ──▶ truncate_from_end(new log end)      epochs with no record left go
//!  retention (log start moves)   ──▶ truncate_from_start(log start)      the epoch in force starts there
//!  Log::open                     ──▶ load the file; rescan what recovery rescanned (or everything,
//!                                    if the file is missing or unreadable); cut at both ends
//!  each change                   ──▶ leader-epoch-checkpoint, whole (Storage::write_atomic)
//! ```
//!
//! ```text
//!  leader-epoch-checkpoint      0        version
//!                               2        entries
//!                               0 0      epoch 0 starts at offset 0
//!                               2 6      epoch 2 starts at offset 6
//! ```
//!
//! Why the file may be written before the batches it describes are durable:
//! recovery fixes it. After an unclean stop, every segment recovery scans has
//! its epochs forgotten and relearnt from its batches' `partitionLeaderEpoch`
//! (Kafka's `LogSegment.recover` does the same), and the cache is cut at the
//! recovered log end, so an epoch whose only batch was torn off is gone too.
//! Below the recovery point the batches were fsynced after the file that
//! names their epochs was written, so the file covers them.
//!
//! Simplifications: Kafka creates the file empty with the log and rewrites it
//! on a scheduler after a truncation from the start; spool writes it at open
//! whenever it does not say what the cache says (`0\n0\n` for a new log), and
//! on every change after, synchronously (once per epoch, or per truncation). A file that does not parse is rebuilt from the
//! batches with a warning; Kafka fails the log directory instead. Only
//! batches whose epoch is above the latest start an epoch: the broker fences a
//! produce at an older epoch before it reaches the log.

use super::error::Result;
use super::storage::Storage;
use super::Log;
use crate::replication::{
    decode_checkpoint, encode_checkpoint, EpochEndOffset, LeaderEpochCache, LEADER_EPOCH_CHECKPOINT_FILE,
};

// ANCHOR: learn_epoch
/// What the log learns from a batch at `base_offset` written in `epoch`:
/// if the epoch is above every epoch it knows, that epoch starts here
/// (Kafka's `maybeAssignEpochStartOffset` on append, and `LogSegment.recover`).
/// A batch without an epoch (-1, a pre-KIP-101 writer) teaches nothing.
/// Returns whether the cache changed.
pub fn learn_epoch(cache: &mut LeaderEpochCache, epoch: i32, base_offset: i64) -> bool {
    let newer = cache.latest_epoch().is_none_or(|latest| epoch > latest);
    epoch >= 0 && newer && cache.assign(epoch, base_offset)
}
// ANCHOR_END: learn_epoch

impl<S: Storage> Log<S> {
    /// Where each leader epoch starts in this log: what a follower sends as its
    /// last fetched epoch and what OffsetsForLeaderEpoch is answered from.
    pub fn leader_epoch_cache(&self) -> &LeaderEpochCache {
        &self.leader_epochs
    }

    /// OffsetsForLeaderEpoch on this log (KIP-101, KIP-279): the largest epoch
    /// at or below `epoch` that this log has, and where its records end.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> EpochEndOffset {
        self.leader_epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// This replica becomes leader of `epoch`: the epoch starts at the log
    /// end before any record of it is written (Kafka's `makeLeader`), so a
    /// follower asking where an older epoch ends is answered by this one's
    /// start. Written to `leader-epoch-checkpoint` at once. An epoch not above
    /// the latest (a restart in the same epoch) changes nothing.
    pub fn assign_leader_epoch(&mut self, epoch: i32) -> Result<()> {
        let log_end_offset = self.log_end_offset();
        if learn_epoch(&mut self.leader_epochs, epoch, log_end_offset) {
            self.write_leader_epochs()?;
        }
        Ok(())
    }

    /// Writes the cache to `leader-epoch-checkpoint`, whole and durable. A
    /// failure takes the log offline, as Kafka's `LogDirFailureChannel` does:
    /// the file may now be old or missing, and only a restart repairs it.
    pub(super) fn write_leader_epochs(&mut self) -> Result<()> {
        let text = encode_checkpoint(&self.leader_epochs);
        match self.storage.write_atomic(LEADER_EPOCH_CHECKPOINT_FILE, text.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.go_offline(e.into())),
        }
    }

    /// The log now ends at `end_offset` (`truncate_to`): epochs starting at
    /// or after it had no record left (Kafka's `truncateFromEnd`). An offline
    /// log only forgets them in memory; the next start repairs the file.
    pub(super) fn truncate_leader_epochs_from_end(&mut self, end_offset: i64) -> Result<()> {
        let before = self.leader_epochs.entries().len();
        self.leader_epochs.truncate_from_end(end_offset);
        if self.leader_epochs.entries().len() != before && self.offline.is_none() {
            self.write_leader_epochs()?;
        }
        Ok(())
    }

    /// The log now starts at `start_offset` (retention): the epoch in force
    /// there starts there, older ones go (Kafka's `truncateFromStart`).
    pub(super) fn truncate_leader_epochs_from_start(&mut self, start_offset: i64) -> Result<()> {
        let before = self.leader_epochs.clone();
        self.leader_epochs.truncate_from_start(start_offset);
        if self.leader_epochs != before {
            self.write_leader_epochs()?;
        }
        Ok(())
    }

    // ANCHOR: load_leader_epochs
    /// Builds the cache as the log opens, after recovery: loads the file,
    /// forgets and relearns the
    /// epochs of the segments from `rescan_from` on — those recovery scanned,
    /// whose tails may have been cut — or of the whole log if the file is
    /// missing, empty or unreadable, then cuts the cache at the log's end and start.
    /// The file is rewritten if it no longer says the same.
    pub(super) fn load_leader_epochs(&mut self, rescan_from: Option<i64>) -> Result<()> {
        let on_disk = self.storage.read_file(LEADER_EPOCH_CHECKPOINT_FILE)?;
        let loaded = match on_disk.as_deref() {
            // Kafka creates the file empty with a new log: no entries written
            // yet, so the batches (if any) are the truth.
            None | Some([]) => None,
            Some(bytes) => decode_checkpoint(bytes)
                .inspect_err(|e| tracing::warn!(error = %e, "rebuilding a corrupt leader-epoch-checkpoint"))
                .ok(),
        };
        let first_base = *self.segments.keys().next().expect("at least one segment");
        let (mut cache, rescan_from) = match loaded {
            Some(cache) => (cache, rescan_from),
            None => (LeaderEpochCache::new(), Some(first_base)),
        };
        if let Some(from) = rescan_from {
            cache.truncate_from_end(from);
            self.relearn_epochs(&mut cache, from)?;
        }
        cache.truncate_from_end(self.log_end_offset());
        cache.truncate_from_start(self.log_start_offset);
        let unchanged = on_disk.as_deref() == Some(encode_checkpoint(&cache).as_bytes());
        self.leader_epochs = cache;
        if !unchanged {
            self.write_leader_epochs()?;
        }
        Ok(())
    }
    // ANCHOR_END: load_leader_epochs

    /// Teaches `cache` the epochs of the batches from `from` on, reading only
    /// their headers.
    fn relearn_epochs(&self, cache: &mut LeaderEpochCache, from: i64) -> Result<()> {
        for segment in self.segments.values().filter(|s| s.next_offset() > from) {
            let mut position = 0;
            while u64::from(position) < segment.size() {
                let Some(info) = segment.read_batch_info(&self.storage, position)? else { break };
                if info.base_offset >= from {
                    learn_epoch(cache, info.partition_leader_epoch, info.base_offset);
                }
                position += info.size;
            }
        }
        Ok(())
    }
}
