//! Chapter 10 — compaction: the log cleaner keeps the latest record of each key.
//!
//! A `cleanup.policy=compact` topic is a table: the consumer offsets of
//! `__consumer_offsets`, a transactional id's state in
//! `__transaction_state`, a user's changelog. Retention by age would lose a
//! key's only value; keeping everything would grow without bound. Kafka's
//! answer (KAFKA-881, the *log cleaner*) is to rewrite old segments keeping,
//! for each key, only its latest record, and to remove a key's tombstone
//! (a record with a null value) once `delete.retention.ms` has passed
//! (KIP-534 records the delete horizon in the batch header).
//!
//! ```text
//!   log start                first_dirty           first_uncleanable   log end
//!   │  clean (cleaned before) │  dirty (new since)   │  uncleanable       │
//!   ▼                         ▼                      ▼                    ▼
//!   ┌─────────┬───────────────┬──────────┬───────────┬────────┬───────────┐
//!   │ seg 0   │ seg 300       │ seg 520  │ seg 800   │ seg 950│ active    │
//!   └─────────┴───────────────┴──────────┴───────────┴────────┴───────────┘
//!   1. plan   (lock):  handles, sizes, aborted txns, producers, generation
//!   2. map    (no lock): dirty batches → key → latest offset (until full)
//!      clean  (no lock): seg 0..800 → groups → 00..0.log.cleaned, ...
//!   3. swap   (lock):  .cleaned → .swap → live; old → .deleted → gone
//! ```
//!
//! The uncleanable section is what the cleaner must not touch: the active
//! segment, records above the last stable offset (undecided transactions)
//! or younger than `min.compaction.lag.ms`; the cleaner manager computes
//! `first_uncleanable` and `first_dirty` (its `cleaner-offset-checkpoint`).
//!
//! A cleaning runs in three phases so that the log's lock — a std mutex
//! appends and fetches hold for microseconds — is never held while segment
//! bytes are read and rewritten:
//!
//! 1. [`plan`]: [`Log::plan_clean`](crate::log::Log::plan_clean) takes, under
//!    the lock, everything the cleaning reads as plain data, and the log's
//!    *layout generation*, a counter truncation, retention and deletion bump.
//! 2. [`CleanPlan::build_map`] feeds the dirty section's batches to the
//!    filter's offset map (Kafka's `SkimpyOffsetMap`, bounded by
//!    `log.cleaner.dedupe.buffer.size`); [`CleanPlan::clean_into`] groups the
//!    segments below the map's end so each group fits one segment
//!    ([`segments`]), and writes each through the filter as a `.cleaned`
//!    segment, indexes rebuilt, synced.
//! 3. [`swap`]: [`Log::swap_cleaned`](crate::log::Log::swap_cleaned) renames,
//!    under the lock, or gives up if the generation moved. The renames are
//!    ordered so a crash at any point leaves each group's old segments or its
//!    new one, and [`swap::recover_swap_files`] finishes the job when the log
//!    is opened.
//!
//! The record rules live in [`offset_map`] (the key → latest offset map) and
//! [`filter`] (one batch in, the batch to write out or nothing): the driver
//! takes them as two closures, so the segment mechanics are tested with
//! simple rules and the record rules on their own.
//!
//! Every old segment's last batch is kept (emptied if the filter drops it),
//! so a cleaned segment ends where its old ones did: `Log::open` treats a
//! rescanned segment that ends before the next begins as a lost tail
//! ([`segments`]).
//!
//! Simplifications: a segment that overflows its relative offsets is
//! not split (Kafka's `splitOverflowedSegment`); old segment files are removed
//! at once, not after `file.delete.delay.ms` (open handles keep them readable).

pub mod filter;
pub mod gated;
pub mod offset_map;
pub mod plan;
pub mod run;
pub mod segments;
pub mod swap;
pub mod threads;

pub use plan::{CleanParams, CleanPlan, MapProgress, PlannedSegment, SwapVariant};
pub use run::CleanOutcome;
pub use segments::{Cleaned, CleanedGroup};
pub use swap::SwapOutcome;
pub use threads::{CleanerControl, LogCleaner};

#[cfg(test)]
mod tests;
