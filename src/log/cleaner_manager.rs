//! Choosing what the log cleaner cleans next (chapter 10), Kafka's
//! `LogCleanerManager`, as a sans-IO core: no threads, no clock, no files.
//! The cleaner threads (which the lead wires) bring it each compacted log's
//! numbers ([`super::cleanable::CleanableStats`], computed with their
//! `now_ms`) and get back a decision.
//!
//! ```text
//!             grab_filthiest                      done(tp, end) ─▶ Checkpoint(end)
//!   (none) ─────────────────▶ InProgress ───────────────────────▶ (none)
//!     │  ▲                        │ abort_and_pause
//!     │  │ resume (last one)      ▼
//!     │  │                     Aborted ── done(tp, _) ──▶ Paused(1)   (nothing written)
//!     │  └──────────────── Paused(n) ◀── abort_and_pause (n + 1) / resume (n − 1)
//!     └── abort_and_pause ──▶ Paused(1)
//! ```
//!
//! - **Picking** ([`CleanerManager::grab_filthiest`]): among logs whose
//!   `cleanup.policy` has `compact`, that are neither being cleaned nor
//!   paused nor marked uncleanable, and that hold any bytes, those whose
//!   dirty ratio is above their `min.cleanable.dirty.ratio` or that
//!   `max.compaction.lag.ms` forces (with something to clean); of these, the
//!   filthiest (highest ratio). It is marked in progress before it is
//!   returned, so a second cleaner thread asking next takes another log.
//! - **Pausing** ([`CleanerManager::abort_and_pause`]): a truncation, a
//!   deletion or a leader becoming a follower must not race a clean that
//!   would swap in segments of the old log. A log not being cleaned is paused
//!   at once; one being cleaned is marked aborted, its cleaner sees that
//!   ([`CleanerManager::is_aborted`]) and stops, and its [`CleanerManager::done`]
//!   then pauses it without writing the checkpoint. Kafka's caller blocks
//!   until the pause holds; here it asks [`CleanerManager::is_paused`].
//!   Pauses nest: each [`CleanerManager::resume`] undoes one.
//! - **Finishing** ([`CleanerManager::done`]): a completed clean answers the
//!   offset to write to `cleaner-offset-checkpoint`
//!   ([`super::LogManager::checkpoint_cleaned`]).
//!
//! Simplifications: Kafka also keeps a per-directory set of uncleanable
//! partitions with gauges, and the `compact,delete` path that lets retention
//! pause cleaning (`pauseCleaningForNonCompactedPartitions`); spool keeps one
//! set and no metrics. Where two logs are equally filthy Kafka takes either;
//! spool takes the first by topic and partition, so a test can say which.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::cleanable::CleanableStats;
use crate::TopicPartition;

/// Where a partition is in its cleaning life (Kafka's `LogCleaningState`).
/// A partition in none of them is simply cleanable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CleaningState {
    /// A cleaner thread is cleaning it.
    InProgress,
    /// It is being cleaned, and someone asked for it to stop and pause.
    Aborted,
    /// Not to be cleaned, by this many callers (each resumes once).
    Paused(u32),
}

/// One compacted log as the cleaner threads see it before choosing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate<'a> {
    pub topic_partition: &'a TopicPartition,
    /// `cleanup.policy` includes `compact`.
    pub compact: bool,
    /// The log's `min.cleanable.dirty.ratio`.
    pub min_cleanable_dirty_ratio: f64,
    pub stats: CleanableStats,
}

/// The log chosen to clean, and the range to clean (Kafka's `LogToClean`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogToClean {
    pub topic_partition: TopicPartition,
    pub first_dirty_offset: i64,
    /// Clean below this (a segment base).
    pub first_uncleanable_offset: i64,
    pub dirty_ratio: f64,
    /// Chosen because `max.compaction.lag.ms` forced it.
    pub needs_compaction_now: bool,
}

/// What one look over the logs decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grab {
    /// The log to clean now, already marked in progress; `None`: back off
    /// for `log.cleaner.backoff.ms`.
    pub filthiest: Option<LogToClean>,
    /// Checkpoints found outside their log and reset to its start, to be
    /// written back (Kafka's `forceUpdateCheckpoint`).
    pub reset_checkpoints: Vec<(TopicPartition, i64)>,
}

/// What [`CleanerManager::abort_and_pause`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseOutcome {
    /// The log is paused: no cleaner touches it until resumed.
    Paused,
    /// A cleaner is on it: it is paused once that cleaner reports `done`.
    AwaitingCleaner,
}

/// What a cleaner's [`CleanerManager::done`] means for the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The clean completed: write this first dirty offset to `cleaner-offset-checkpoint`.
    Checkpoint(i64),
    /// The clean was aborted: nothing to write, the log is now paused.
    Paused,
}

/// A call that does not fit the partition's state: a caller's bug, which
/// Kafka throws as an `IllegalStateException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanerStateError {
    pub topic_partition: TopicPartition,
    pub operation: &'static str,
    pub state: Option<CleaningState>,
}

impl fmt::Display for CleanerStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tp = &self.topic_partition;
        write!(f, "cannot {} {}-{} in state {:?}", self.operation, tp.topic, tp.partition, self.state)
    }
}

impl std::error::Error for CleanerStateError {}

/// The cleaning state of every partition that has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanerManager {
    states: BTreeMap<TopicPartition, CleaningState>,
    /// Partitions whose clean failed unexpectedly: skipped until removed.
    uncleanable: BTreeSet<TopicPartition>,
}

impl CleanerManager {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn state(&self, tp: &TopicPartition) -> Option<CleaningState> {
        self.states.get(tp).copied()
    }

    // ANCHOR: grab_filthiest
    /// Chooses the filthiest cleanable log among `candidates` and marks it in
    /// progress (Kafka's `grabFilthiestCompactedLog`).
    pub fn grab_filthiest<'a>(&mut self, candidates: impl IntoIterator<Item = Candidate<'a>>) -> Grab {
        let mut grab = Grab::default();
        let mut filthiest: Option<Candidate<'a>> = None;
        for candidate in candidates {
            let tp = candidate.topic_partition;
            if !candidate.compact || self.states.contains_key(tp) || self.uncleanable.contains(tp) {
                continue;
            }
            let first_dirty = candidate.stats.first_dirty_offset;
            if first_dirty.reset {
                grab.reset_checkpoints.push((tp.clone(), first_dirty.offset));
            }
            let stats = &candidate.stats;
            if stats.clean_bytes + stats.cleanable_bytes == 0 {
                continue;
            }
            if !(stats.needs_compaction_now() || stats.dirty_ratio() > candidate.min_cleanable_dirty_ratio) {
                continue;
            }
            if filthiest.is_none_or(|f| stats.dirty_ratio() > f.stats.dirty_ratio()) {
                filthiest = Some(candidate);
            }
        }
        grab.filthiest = filthiest.map(|chosen| {
            self.states.insert(chosen.topic_partition.clone(), CleaningState::InProgress);
            LogToClean {
                topic_partition: chosen.topic_partition.clone(),
                first_dirty_offset: chosen.stats.first_dirty_offset.offset,
                first_uncleanable_offset: chosen.stats.first_uncleanable_offset,
                dirty_ratio: chosen.stats.dirty_ratio(),
                needs_compaction_now: chosen.stats.needs_compaction_now(),
            }
        });
        grab
    }
    // ANCHOR_END: grab_filthiest

    /// Whether the clean of `tp` was asked to stop: its cleaner checks this
    /// between segments and gives up (Kafka's `checkCleaningAborted`).
    pub fn is_aborted(&self, tp: &TopicPartition) -> bool {
        self.state(tp) == Some(CleaningState::Aborted)
    }

    /// Whether `tp` is paused: the pause a caller asked for now holds.
    pub fn is_paused(&self, tp: &TopicPartition) -> bool {
        matches!(self.state(tp), Some(CleaningState::Paused(_)))
    }

    // ANCHOR: abort_and_pause
    /// Stops any clean of `tp` and keeps the cleaner off it until
    /// [`Self::resume`] (Kafka's `abortAndPauseCleaning`): before a
    /// truncation, a deletion, or the leader becoming a follower.
    pub fn abort_and_pause(&mut self, tp: &TopicPartition) -> Result<PauseOutcome, CleanerStateError> {
        let next = match self.state(tp) {
            None => CleaningState::Paused(1),
            Some(CleaningState::InProgress) => CleaningState::Aborted,
            Some(CleaningState::Paused(n)) => CleaningState::Paused(n + 1),
            state @ Some(CleaningState::Aborted) => return Err(self.misuse(tp, "abort and pause", state)),
        };
        self.states.insert(tp.clone(), next);
        Ok(if next == CleaningState::Aborted { PauseOutcome::AwaitingCleaner } else { PauseOutcome::Paused })
    }
    // ANCHOR_END: abort_and_pause

    /// Undoes one pause of `tp` (Kafka's `resumeCleaning`); the last one
    /// makes it cleanable again.
    pub fn resume(&mut self, tp: &TopicPartition) -> Result<(), CleanerStateError> {
        match self.state(tp) {
            Some(CleaningState::Paused(1)) => {
                self.states.remove(tp);
            }
            Some(CleaningState::Paused(n)) => {
                self.states.insert(tp.clone(), CleaningState::Paused(n - 1));
            }
            state => return Err(self.misuse(tp, "resume", state)),
        }
        Ok(())
    }

    // ANCHOR: done
    /// A cleaner finished with `tp`, having cleaned everything below
    /// `cleaned_up_to` (Kafka's `doneCleaning`). A completed clean answers the
    /// checkpoint to write; an aborted one pauses the log instead.
    pub fn done(&mut self, tp: &TopicPartition, cleaned_up_to: i64) -> Result<Done, CleanerStateError> {
        match self.state(tp) {
            Some(CleaningState::InProgress) => {
                self.states.remove(tp);
                Ok(Done::Checkpoint(cleaned_up_to))
            }
            Some(CleaningState::Aborted) => {
                self.states.insert(tp.clone(), CleaningState::Paused(1));
                Ok(Done::Paused)
            }
            state => Err(self.misuse(tp, "finish cleaning", state)),
        }
    }
    // ANCHOR_END: done

    /// Skips `tp` from now on: its clean failed in a way a retry would repeat
    /// (Kafka's `markPartitionUncleanable`). Its cleaner still calls [`Self::done`].
    pub fn mark_uncleanable(&mut self, tp: &TopicPartition) {
        self.uncleanable.insert(tp.clone());
    }

    /// Forgets `tp`, whose log was deleted (after pausing it, so no cleaner holds it).
    pub fn remove(&mut self, tp: &TopicPartition) {
        self.states.remove(tp);
        self.uncleanable.remove(tp);
    }

    fn misuse(
        &self,
        tp: &TopicPartition,
        operation: &'static str,
        state: Option<CleaningState>,
    ) -> CleanerStateError {
        CleanerStateError { topic_partition: tp.clone(), operation, state }
    }
}

#[cfg(test)]
mod tests;
