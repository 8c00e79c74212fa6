//! Chapter 1's model: append, flush, crash and recovery of one partition log.
//!
//! The log of `src/log/` promises two things about a power cut, and this model
//! checks both against every crash it can reach within its bounds:
//!
//! 1. **Recovery never serves garbage.** After any crash the reopened log holds
//!    a *prefix* of what was written to it: the records in the order they were
//!    appended, no duplicates, no gaps in the offsets, and no torn or corrupt
//!    batch handed to a reader.
//! 2. **Flushed means durable.** Everything a `flush` covered is still there
//!    after a crash; in durable mode (`spool.log.flush.before.ack=true`) that
//!    includes every acknowledged append, because an ack waits for the flush.
//!    In page-cache mode, Kafka's default, an ack promises nothing about a power
//!    cut: replication (chapter 6) is what makes Kafka durable. The model shows
//!    that too, as a `sometimes` property.
//!
//! # The same code, not a copy
//!
//! The state holds a real [`Log`] over a [`MemStorage`]: the very segment,
//! index and recovery code the broker runs on disk, with files kept as byte
//! vectors that remember how much of each was synced. Every action calls that
//! code: an append is [`Log::append`], a flush is [`Log::flush`], a restart is
//! [`Log::open`]. The model adds only what lives outside the log: the client's
//! acknowledgements, and the log manager's two small files — the
//! recovery-point checkpoint and the clean-shutdown marker (see
//! `src/log/manager.rs`).
//!
//! # How a crash is modelled
//!
//! A crash is a power cut: [`MemStorage::crash`] keeps each file's synced bytes
//! and, depending on the [`CrashMode`], some of the rest:
//!
//! ```text
//!  one .log file:  [ synced ............ | unsynced (page cache only) ...... ]
//!  LoseUnsynced    [ synced ............ ]
//!  TornPrefix(n)   [ synced ............ | first n bytes ]   a torn write
//!  ZeroedTail      [ synced ............ | 00 00 00 00 00 00 00 00 00 00 00 ]
//! ```
//!
//! The model tears at three places: in the middle of a batch header, in the
//! middle of a batch's records, and in the header of the *second* unsynced
//! batch (so the first survives whole — and, in a rolled log, a later segment
//! can survive while an earlier one is torn). A crash can strike between any
//! two actions, including between the steps of a clean shutdown.
//!
//! ```text
//!  phase               actions                                   leads to
//!  Running(log)        Append, Flush, Checkpoint                 Running
//!                      Shutdown(first step)                      ShuttingDown
//!                      Crash(mode)                               Crashed
//!  ShuttingDown(log)   Shutdown(next step)                       ShuttingDown, Stopped
//!                      Crash(mode)                               Crashed
//!  Stopped(files)      Restart                                   Running
//!                      Crash(mode)                               Crashed
//!  Crashed(files)      Restart: Log::open(files, checkpoint,     Running
//!                               clean-shutdown marker)
//! ```
//!
//! `Stopped` is a clean exit: the process is gone but the page cache still
//! holds what was not synced, so a later power cut can still lose it.
//!
//! # The bugs it catches
//!
//! Each [`Bug`] is a small, plausible mistake the checker must catch with a
//! counterexample (`cargo run --release -p spool-models -- check log --bug …`):
//!
//! - [`Bug::AckBeforeFsync`]: durable mode acknowledges an append as soon as it
//!   is in the page cache. A crash before the next flush loses an acked record
//!   (three steps: append, power cut, restart).
//! - [`Bug::MarkerBeforeFlush`]: clean shutdown writes the clean-shutdown marker
//!   before flushing. A crash in between leaves damaged files *and* a marker that
//!   tells the next start to trust them. [`LogSegment::open`] still notices a torn
//!   tail or a garbage length (it re-reads the batch headers after the last index
//!   entry), but not a page of a record lost behind an intact header
//!   ([`CrashMode::LostPage`]): only recovery's CRC scan would, and the marker
//!   skipped it. The log serves a corrupt batch (four steps).
//!
//! # Bounds
//!
//! Appends stop at [`LogModel::RECORDS_MAX`] (3: two segments) for CI, which
//! checks 9,339 states in well under a second, or at
//! [`LogModel::RECORDS_MAX_BIG`] (5: three segments, `--big`), 193,838 states in
//! a few seconds. Crashes and restarts are unbounded: the state space is finite
//! because the files are. [`crate::check`] fails if a run stops short.
//!
//! The files include the partition's `leader-epoch-checkpoint` (chapter 6,
//! `src/log/epochs.rs`). It is written durably when the first batch of epoch 0
//! is appended, before that batch is flushed, as Kafka writes it; so a power cut
//! can leave a file naming an epoch whose only batch was lost (the next open
//! cuts it), and such a crashed state differs from one whose file an earlier
//! restart had already cut. Those are the only new states: without that file
//! the counts were 9,293 and 193,744.
//!
//! # Simplifications
//!
//! - One partition, one producer, one record per batch; a record's value is its
//!   id, so the checker can tell which records a log holds.
//! - The clock stands still (`now_ms` is always 0): time-based rolling,
//!   flushing and retention are not explored, nor is retention at all.
//! - A crash strikes between actions, not inside one: each file operation of
//!   an append is atomic with respect to the others. The torn-write modes stand
//!   in for a crash in the middle of writing a batch.
//! - File creation and deletion are durable at once ([`MemStorage`]'s rule);
//!   only file *contents* can be lost.
//! - The log manager's checkpoint and marker are written atomically (a
//!   temporary file renamed over the old one), so they are kept as plain values.
//! - The durable mode's flush is one `Flush` action that stands for the
//!   group-commit flusher of [`spool::log::GroupCommit`]: it acknowledges every
//!   append waiting on it. A crash fails the appends still waiting.

use std::collections::BTreeSet;
use std::time::Duration;

use spool::format::batch::HEADER_SIZE;
use spool::format::{BatchBuilder, RecordBatch};
#[cfg(doc)]
use spool::log::LogSegment;
use spool::log::{CrashMode, Log, LogConfig, MemStorage, OpenOptions};
use stateright::{Model, Property};

use crate::Bound;

mod display;

/// A record's id, which is also its one-byte value.
pub type RecordId = u8;

/// The broker's clock, frozen: time-based policies are out of this model.
const NOW_MS: i64 = 0;

// ANCHOR: state
/// Whether an acknowledgement waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Kafka's default: ack once the batch is in the page cache.
    PageCache,
    /// `spool.log.flush.before.ack=true`: ack only once a flush covers the batch.
    Durable,
}

/// Where the broker is in its life.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The log is open and takes appends.
    Running(Log<MemStorage>),
    /// A clean shutdown has done `steps_done` of its steps.
    ShuttingDown { log: Log<MemStorage>, steps_done: usize },
    /// The process exited cleanly; unsynced bytes still sit in the page cache.
    Stopped(MemStorage),
    /// The power went out: only what [`MemStorage::crash`] kept is left.
    Crashed(MemStorage),
    /// [`Log::open`] returned an error: the broker cannot start.
    OpenFailed(String),
}

/// One state of the model: the broker, what its clients were told, and what
/// the log manager wrote down. Sets, not vectors: ids are appended in
/// increasing order, so a set is the log's order too, and equal histories
/// collapse into one state.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LogState {
    pub mode: Mode,
    pub phase: Phase,
    /// Every id ever appended; the next id is `appended.len()`.
    pub appended: BTreeSet<RecordId>,
    /// What the log should hold: set on each append to what the log serves
    /// plus the new id, and left alone by a crash — so after recovery the log
    /// is compared with what it held when the power went out.
    pub written: BTreeSet<RecordId>,
    /// Ids a completed flush covered: these must survive any crash.
    pub flushed: BTreeSet<RecordId>,
    /// Ids whose producer got a success response.
    pub acked: BTreeSet<RecordId>,
    /// Durable mode: appends waiting for the flush that will acknowledge them.
    /// A crash fails them (the producer sees a timeout, and may retry).
    pub waiting: BTreeSet<RecordId>,
    /// The log manager's `recovery-point-offset-checkpoint` for this partition.
    pub checkpoint: i64,
    /// Whether `.kafka_cleanshutdown` exists.
    pub clean_shutdown_marker: bool,
    /// What the last [`Log::open`] found, for the `sometimes` properties.
    pub last_open: Option<OpenSummary>,
}

/// What a restart found, copied out of [`spool::log::RecoveryReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenSummary {
    /// The restart followed a power cut, not a clean exit.
    pub after_crash: bool,
    /// The clean-shutdown marker was there, so recovery was skipped.
    pub trusted_marker: bool,
    /// Records the reopened log serves, and how many of them were never flushed.
    pub records_kept: usize,
    pub unflushed_kept: usize,
    pub bytes_truncated: u64,
    pub segments_deleted: usize,
}
// ANCHOR_END: state

/// The steps of a clean shutdown, each one a separate action so that a crash
/// can fall between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutdownStep {
    /// `log.flush()`: everything appended becomes durable.
    Flush,
    /// Write the log's recovery point to the checkpoint file.
    Checkpoint,
    /// Write `.kafka_cleanshutdown`: the next start may skip recovery.
    WriteMarker,
}

/// What can happen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A producer appends a one-record batch whose value is this id.
    Append(RecordId),
    /// The flush policy (or the group-commit flusher) runs `log.flush()`.
    Flush,
    /// The log manager checkpoints the recovery point (every 60 s in Kafka).
    Checkpoint,
    /// The next step of a clean shutdown.
    Shutdown(ShutdownStep),
    /// A power cut.
    Crash(CrashMode),
    /// The broker starts and opens the log.
    Restart,
}

// ANCHOR: bugs
/// Mistakes the checker must catch. `None` in [`LogModel::bug`] is the real code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// Durable mode acks an append before the flush that makes it durable.
    AckBeforeFsync,
    /// Clean shutdown writes the clean-shutdown marker before flushing.
    MarkerBeforeFlush,
}

impl LogModel {
    /// The order of a clean shutdown's steps: `LogManager::shutdown`'s, or the bug's.
    pub fn shutdown_steps(&self) -> [ShutdownStep; 3] {
        use ShutdownStep::*;
        match self.bug {
            Some(Bug::MarkerBeforeFlush) => [WriteMarker, Flush, Checkpoint],
            _ => [Flush, Checkpoint, WriteMarker],
        }
    }

    /// Whether an append is acknowledged at once, before any flush.
    fn acks_on_append(&self, mode: Mode) -> bool {
        mode == Mode::PageCache || self.bug == Some(Bug::AckBeforeFsync)
    }
}
// ANCHOR_END: bugs

impl Bug {
    /// Every variant, for the CLI and the tests.
    pub const ALL: [Bug; 2] = [Bug::AckBeforeFsync, Bug::MarkerBeforeFlush];

    /// The variant's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeFsync => "ack-before-fsync",
            Bug::MarkerBeforeFlush => "marker-before-flush",
        }
    }
}

/// The model: how many records to append, and which bug (if any) to plant.
#[derive(Debug, Clone)]
pub struct LogModel {
    pub bug: Option<Bug>,
    /// The bound: appends stop after this many records.
    pub records_max: RecordId,
    /// Size of one of the model's batches, in bytes (69: a 61-byte header and
    /// one 8-byte record).
    batch_bytes: usize,
}

impl LogModel {
    /// The bound CI checks: three records, enough for a roll.
    pub const RECORDS_MAX: RecordId = 3;
    /// `--big`: five records, three segments.
    pub const RECORDS_MAX_BIG: RecordId = 5;

    pub fn new(bug: Option<Bug>, records_max: RecordId) -> Self {
        LogModel { bug, records_max, batch_bytes: batch(0).size_in_bytes() }
    }

    /// The safety nets for [`crate::check`], sized well above the state
    /// counts the tests pin, so that reaching one means the model grew.
    pub fn bound(&self) -> Bound {
        let big = self.records_max > Self::RECORDS_MAX;
        Bound {
            states_max: if big { 50_000_000 } else { 1_000_000 },
            timeout: Duration::from_secs(if big { 3_600 } else { 300 }),
        }
    }

    /// A log small enough to check: two batches fill a segment, so the third
    /// append rolls; an index entry is written for every batch after a
    /// segment's first, so torn and zeroed index files are explored too.
    pub fn config(&self, mode: Mode) -> LogConfig {
        LogConfig {
            segment_bytes: 2 * self.batch_bytes as u64,
            index_interval_bytes: 0,
            flush_before_ack: mode == Mode::Durable,
            ..LogConfig::default()
        }
    }

    // ANCHOR: crash_modes
    /// The power cuts tried after every step.
    pub fn crash_modes(&self) -> [CrashMode; 6] {
        [
            CrashMode::LoseUnsynced,
            // In the middle of the first unsynced batch's header.
            CrashMode::TornPrefix(HEADER_SIZE / 2),
            // The first unsynced batch's header is whole, its record is not.
            CrashMode::TornPrefix(self.batch_bytes - 4),
            // The first unsynced batch survives, the second is torn in its header.
            CrashMode::TornPrefix(self.batch_bytes + HEADER_SIZE / 2),
            CrashMode::ZeroedTail,
            // The first unsynced batch's header reaches the disk, a page of its
            // record does not: only the CRC can tell.
            CrashMode::LostPage { offset: HEADER_SIZE + 2, len: 4 },
        ]
    }
    // ANCHOR_END: crash_modes

    // ANCHOR: restart
    /// A restart: [`Log::open`] with what the log manager wrote down — the
    /// checkpointed recovery point, and whether the clean-shutdown marker is there.
    fn open(&self, storage: MemStorage, state: &LogState, after_crash: bool) -> LogState {
        let mut next = state.clone();
        let options = OpenOptions {
            recovery_point: state.checkpoint,
            log_start_offset: 0,
            clean_shutdown: state.clean_shutdown_marker,
        };
        // The log manager deletes the marker once the logs are open.
        next.clean_shutdown_marker = false;
        match Log::open(storage, self.config(state.mode), options, NOW_MS) {
            Ok((log, report)) => {
                let kept = served_ids(&log);
                next.last_open = Some(OpenSummary {
                    after_crash,
                    trusted_marker: options.clean_shutdown,
                    records_kept: kept.len(),
                    unflushed_kept: kept.difference(&state.flushed).count(),
                    bytes_truncated: report.bytes_truncated,
                    segments_deleted: report.segments_deleted,
                });
                next.phase = Phase::Running(log);
            }
            Err(e) => next.phase = Phase::OpenFailed(e.to_string()),
        }
        next
    }
    // ANCHOR_END: restart
}

/// A one-record batch whose value is `id`, as a producer would send it.
pub fn batch(id: RecordId) -> RecordBatch {
    let mut builder = BatchBuilder::default();
    builder.append(NOW_MS, None, Some(&[id]), &[]);
    builder.build()
}

/// Everything the log serves from its start, as (offset, id), read the way a
/// consumer would: `read_batches`, then each batch checked and decoded. An
/// error says what a consumer would have choked on.
pub fn served(log: &Log<MemStorage>) -> Result<Vec<(i64, RecordId)>, String> {
    let batches = log.read_batches(log.log_start_offset()).map_err(|e| format!("read failed: {e}"))?;
    let mut out = Vec::new();
    for batch in batches {
        let at = batch.base_offset();
        batch.validate().map_err(|e| format!("corrupt batch at offset {at}: {e}"))?;
        for record in batch.decode_records().map_err(|e| format!("bad records at offset {at}: {e}"))? {
            match record.value.as_deref() {
                Some(&[id]) => out.push((record.offset, id)),
                other => return Err(format!("unknown value {other:?} at offset {}", record.offset)),
            }
        }
    }
    Ok(out)
}

/// The ids the log serves; empty if it serves garbage (a property reports that).
fn served_ids(log: &Log<MemStorage>) -> BTreeSet<RecordId> {
    served(log).map(|records| records.into_iter().map(|(_, id)| id).collect()).unwrap_or_default()
}

impl LogState {
    /// The open log, if the broker is up.
    pub fn log(&self) -> Option<&Log<MemStorage>> {
        match &self.phase {
            Phase::Running(log) | Phase::ShuttingDown { log, .. } => Some(log),
            _ => None,
        }
    }

    fn log_mut(&mut self) -> &mut Log<MemStorage> {
        match &mut self.phase {
            Phase::Running(log) | Phase::ShuttingDown { log, .. } => log,
            _ => unreachable!("only a running log takes this action"),
        }
    }

    /// `log.flush()`, and what it means outside the log: every id the log
    /// serves is now durable, and in durable mode the waiting appends are acked.
    fn flush(&mut self) {
        let log = self.log_mut();
        log.flush().expect("flushing memory storage cannot fail");
        let held = served_ids(log);
        self.flushed.extend(held);
        self.acked.append(&mut self.waiting);
    }
}

impl Model for LogModel {
    type State = LogState;
    type Action = Action;

    fn init_states(&self) -> Vec<LogState> {
        [Mode::PageCache, Mode::Durable]
            .into_iter()
            .map(|mode| {
                let (log, _) =
                    Log::open(MemStorage::new(), self.config(mode), OpenOptions::default(), NOW_MS)
                        .expect("an empty log opens");
                LogState {
                    mode,
                    phase: Phase::Running(log),
                    appended: BTreeSet::new(),
                    written: BTreeSet::new(),
                    flushed: BTreeSet::new(),
                    acked: BTreeSet::new(),
                    waiting: BTreeSet::new(),
                    checkpoint: 0,
                    clean_shutdown_marker: false,
                    last_open: None,
                }
            })
            .collect()
    }

    fn actions(&self, state: &LogState, actions: &mut Vec<Action>) {
        let crashes = self.crash_modes().map(Action::Crash);
        match &state.phase {
            Phase::Running(_) => {
                let next_id = state.appended.len() as RecordId;
                if next_id < self.records_max {
                    actions.push(Action::Append(next_id));
                }
                actions.extend([Action::Flush, Action::Checkpoint]);
                actions.push(Action::Shutdown(self.shutdown_steps()[0]));
                actions.extend(crashes);
            }
            Phase::ShuttingDown { steps_done, .. } => {
                actions.push(Action::Shutdown(self.shutdown_steps()[*steps_done]));
                actions.extend(crashes);
            }
            Phase::Stopped(_) => {
                actions.push(Action::Restart);
                actions.extend(crashes);
            }
            Phase::Crashed(_) => actions.push(Action::Restart),
            Phase::OpenFailed(_) => {}
        }
    }

    fn next_state(&self, state: &LogState, action: Action) -> Option<LogState> {
        let mut next = state.clone();
        match action {
            Action::Append(id) => {
                let log = next.log_mut();
                let mut held = served_ids(log);
                log.append(batch(id).as_bytes().clone().into(), 0, NOW_MS)
                    .expect("appending to memory storage cannot fail");
                held.insert(id);
                next.written = held;
                next.appended.insert(id);
                if self.acks_on_append(state.mode) {
                    next.acked.insert(id);
                } else {
                    next.waiting.insert(id);
                }
            }
            Action::Flush => next.flush(),
            Action::Checkpoint => next.checkpoint = next.log_mut().recovery_point(),
            Action::Shutdown(step) => {
                match step {
                    ShutdownStep::Flush => next.flush(),
                    ShutdownStep::Checkpoint => next.checkpoint = next.log_mut().recovery_point(),
                    ShutdownStep::WriteMarker => next.clean_shutdown_marker = true,
                }
                let (log, done) = match next.phase {
                    Phase::Running(log) => (log, 1),
                    Phase::ShuttingDown { log, steps_done } => (log, steps_done + 1),
                    _ => unreachable!("only a running log shuts down"),
                };
                next.phase = if done == self.shutdown_steps().len() {
                    // The process exits; the files stay as the page cache has them.
                    Phase::Stopped(log.storage().clone())
                } else {
                    Phase::ShuttingDown { log, steps_done: done }
                };
            }
            Action::Crash(mode) => {
                let storage = match &state.phase {
                    Phase::Running(log) | Phase::ShuttingDown { log, .. } => log.storage(),
                    Phase::Stopped(storage) => storage,
                    _ => unreachable!("only a live machine crashes"),
                };
                next.phase = Phase::Crashed(storage.crash(mode));
                next.waiting.clear();
            }
            Action::Restart => {
                let (storage, after_crash) = match &state.phase {
                    Phase::Stopped(storage) => (storage.clone(), false),
                    Phase::Crashed(storage) => (storage.clone(), true),
                    _ => unreachable!("only a stopped broker restarts"),
                };
                next = self.open(storage, &next, after_crash);
            }
        }
        Some(next)
    }

    // ANCHOR: properties
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(REOPENS, |_, s: &LogState| !matches!(s.phase, Phase::OpenFailed(_))),
            Property::always(NO_CORRUPT_BATCH, |_, s: &LogState| {
                s.log().is_none_or(|log| served(log).is_ok())
            }),
            Property::always(PREFIX, |_, s: &LogState| {
                let Some(Ok(records)) = s.log().map(served) else { return true };
                // In order, no duplicates, no gaps: record i has offset i and is
                // the i-th id the log was written.
                records.len() <= s.written.len()
                    && records
                        .iter()
                        .zip(&s.written)
                        .enumerate()
                        .all(|(i, (&(offset, id), &expected))| offset == i as i64 && id == expected)
            }),
            Property::always(FLUSHED_SURVIVE, |_, s: &LogState| {
                s.log().is_none_or(|log| served_ids(log).is_superset(&s.flushed))
            }),
            Property::always(ACKED_SURVIVE, |_, s: &LogState| {
                s.mode != Mode::Durable || s.log().is_none_or(|log| served_ids(log).is_superset(&s.acked))
            }),
            Property::sometimes(ROLLS, |_, s: &LogState| {
                s.log().is_some_and(|log| log.segments().count() > 1)
            }),
            Property::sometimes(TRUNCATES_TORN_TAIL, |_, s: &LogState| {
                s.last_open.is_some_and(|o| o.bytes_truncated > 0)
            }),
            Property::sometimes(DELETES_AFTER_GAP, |_, s: &LogState| {
                s.last_open.is_some_and(|o| o.segments_deleted > 0)
            }),
            Property::sometimes(RECORD_SURVIVES_CRASH, |_, s: &LogState| {
                s.last_open.is_some_and(|o| o.after_crash && o.records_kept > 0)
            }),
            Property::sometimes(UNFLUSHED_SURVIVES_CRASH, |_, s: &LogState| {
                s.last_open.is_some_and(|o| o.after_crash && o.unflushed_kept > 0)
            }),
            Property::sometimes(TRUSTS_MARKER, |_, s: &LogState| {
                s.last_open.is_some_and(|o| o.trusted_marker && o.records_kept > 0)
            }),
            Property::sometimes(PAGE_CACHE_LOSES_ACK, |_, s: &LogState| {
                s.mode == Mode::PageCache
                    && matches!(s.phase, Phase::Running(_))
                    && s.log().is_some_and(|log| !served_ids(log).is_superset(&s.acked))
            }),
        ]
    }
    // ANCHOR_END: properties
}

// ANCHOR: property_names
/// The log always reopens: recovery never fails on what a crash left.
pub const REOPENS: &str = "the log reopens after every stop";
/// A reader is never handed a torn or corrupt batch.
pub const NO_CORRUPT_BATCH: &str = "no corrupt batch is served";
/// The log holds a prefix of what was written: in order, no duplicates, no gaps.
pub const PREFIX: &str = "the log is a prefix of what was written";
/// Whatever a completed flush covered survives every crash.
pub const FLUSHED_SURVIVE: &str = "flushed records survive a crash";
/// In durable mode, whatever was acknowledged survives every crash.
pub const ACKED_SURVIVE: &str = "acknowledged records survive a crash (durable mode)";
// ANCHOR_END: property_names

// The `sometimes` properties: each shows the bound is big enough to reach a path.
pub const ROLLS: &str = "the log rolls a new segment";
pub const TRUNCATES_TORN_TAIL: &str = "recovery truncates a torn tail";
pub const DELETES_AFTER_GAP: &str = "recovery deletes the segments after a gap";
pub const RECORD_SURVIVES_CRASH: &str = "a record survives a crash";
pub const UNFLUSHED_SURVIVES_CRASH: &str = "an unflushed record survives a crash";
pub const TRUSTS_MARKER: &str = "a restart trusts the clean-shutdown marker";
pub const PAGE_CACHE_LOSES_ACK: &str = "page-cache mode loses an acknowledged record";

#[cfg(test)]
mod tests {
    use super::*;

    // A model batch is 69 bytes, so two fill a segment and the third rolls.
    #[test]
    fn batches_are_sized_for_a_roll() {
        let model = LogModel::new(None, 3);
        assert_eq!(model.batch_bytes, HEADER_SIZE + 8);
        assert_eq!(model.config(Mode::PageCache).segment_bytes, 138);
    }

    // A running log serves exactly what was appended, read back through the consumer path.
    #[test]
    fn served_reads_back_the_ids() {
        let model = LogModel::new(None, 3);
        let mut state = model.init_states().remove(0);
        for id in 0..3 {
            state = model.next_state(&state, Action::Append(id)).expect("a step");
        }
        let log = state.log().expect("running");
        assert_eq!(served(log), Ok(vec![(0, 0), (1, 1), (2, 2)]));
        assert_eq!(log.segments().count(), 2);
    }
}
