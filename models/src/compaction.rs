//! Chapter 10's model: the log cleaner of `src/log/cleaner/` against appends,
//! a reader, the clock and power cuts — in the middle of a swap too.
//!
//! The cleaner rewrites a compacted log's sealed segments while producers
//! append and consumers fetch, and it replaces files that hold the only copy
//! of a key's latest value. Four promises follow, and this model checks them
//! in every state it can reach within its bounds:
//!
//! 1. **A read sees the table.** A read from the log start returns records in
//!    offset order, each one that was appended at that offset, and for each
//!    key exactly its latest record — or nothing once that record is a
//!    tombstone the cleaner removed. No half-swapped segment shows an older
//!    value next to a newer one.
//! 2. **A consumer that keeps up sees every key's latest value.** A reader
//!    fetching from its position (`read_batches`) across cleanings, gaps in
//!    the offsets and emptied batches, gets records in offset order and, once
//!    caught up, holds each key's latest value — unless its fetches were
//!    `delete.retention.ms` or more apart, Kafka's documented exception: a
//!    tombstone may then be gone before the reader reached it (a `sometimes`
//!    property shows that it happens).
//! 3. **Acknowledged means durable, cleaning or not.** A record is
//!    *acknowledged* once a `log.flush()` covered it (the durable mode of
//!    chapter 1: `spool.log.flush.before.ack=true` acks at that flush). After
//!    any crash and recovery, each key still has its latest acknowledged
//!    record or a later one (a later tombstone may stand for it).
//! 4. **Tombstones live `delete.retention.ms`.** A tombstone that is its key's
//!    latest record leaves the log only once the clock is `delete.retention.ms`
//!    past its append (KIP-534's delete horizon, stamped at its first cleaning).
//!
//! # The same code, not a copy
//!
//! The state holds a real [`Log`] over a [`CutStorage`] (a [`MemStorage`]
//! that can lose power after any number of write operations). The cleaner's
//! three phases are three actions, with appends, fetches, ticks and crashes
//! allowed between them, each calling the code the broker's cleaner runs:
//!
//! ```text
//!  action   code                                           cleaning becomes
//!  Plan     Log::first_dirty_offset, first_uncleanable_offset,
//!           Log::plan_clean          (phase 1, under the lock)   Planned(plan)
//!  Clean    CleanPlan::clean_with into the log's own storage
//!           (phase 2: writes only `.cleaned` files)               Cleaned(groups)
//!  Swap     Log::swap_cleaned        (phase 3, under the lock)   Idle, checkpoint
//!  SwapCut  Log::swap_cleaned, the power cut after n writes      (crashed)
//!  Restart  Log::open: recover_swap_files, then segment recovery
//! ```
//!
//! The model adds what lives outside the log: the log manager's
//! `recovery-point-offset-checkpoint` (written at each flush) and
//! `cleaner-offset-checkpoint` (written after each swap, as Kafka's
//! `doneCleaning` does), what was appended where, and the reader.
//!
//! # The bug it catches
//!
//! [`Bug::DeleteBeforeDurable`] runs the swap as
//! [`SwapVariant::RemoveOldBeforeSync`]: phase 2 does not sync the `.cleaned`
//! files, and the swap removes the old segments before it syncs the new ones.
//! A power cut in between loses records the cleaner kept (`check compaction
//! --bug delete-before-durable`).
//!
//! # Bounds
//!
//! The appends follow a fixed script ([`SCRIPT`]: two keys, a tombstone, a key
//! written again) in segments of two batches, so two cleanings happen: the
//! first stamps the tombstone's delete horizon, the second — after one tick of
//! the clock, which is `delete.retention.ms` — removes it. `--big` appends one
//! more record (the deleted key written again), lets the clock tick twice and
//! tears writes too.
//! The small bound is 359,609 states (about 16 s in release: mostly the
//! reader's positions and views times the swap's cut points); the bug's
//! counterexample takes well under a second with `--first-failure`.
//! `--big` is a long run: millions of states (it had not finished after
//! 150 s and 3.5 GB in release when this was written; its count is not
//! pinned).
//! [`crate::check`] fails if a run stops at its state budget or timeout.
//!
//! # Simplifications
//!
//! - One partition, one replica: the high watermark follows the log end.
//! - The cleaner cleans whenever a sealed segment is dirty: the dirty ratio
//!   and the cleaner manager's choice among logs are not modelled, nor the
//!   throttle; `min.compaction.lag.ms` is 0.
//! - A crash strikes between actions, or inside a swap after any number of
//!   its write operations; not inside an append or phase 2 (a half-written
//!   `.cleaned` file is deleted by recovery like a whole one).
//! - A restart loses the reader's session: it starts over from the log start
//!   (without replication, a crash may take back unflushed records it saw).
//! - No producer ids or transactions: the filter's producer and transaction
//!   rules are checked by `src/log/cleaner/filter/` tests, not here.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::BytesMut;
use spool::format::batch::HEADER_SIZE;
use spool::format::BatchBuilder;
use spool::log::cleaner::SwapVariant;
#[cfg(doc)]
use spool::log::MemStorage;
use spool::log::{CrashMode, Log, LogConfig, OpenOptions};
use stateright::{Model, Property};

use crate::Bound;

pub mod cut;
mod display;
mod pending;

pub use cut::CutStorage;
pub use pending::{Cleaning, PendingPlan, PendingSwap};

/// A record key: one byte.
pub type Key = u8;
/// An index into the script; the value of a record that is not a tombstone.
pub type RecordId = u8;

/// `delete.retention.ms`, which is also one tick of the model's clock.
pub const DELETE_RETENTION_MS: i64 = 1;

// ANCHOR: script
/// What the producer appends, in order, one record per batch: `(key,
/// tombstone)`; a value is its record's index. In segments of two batches:
///
/// ```text
///  offset   0     1       2     3     4     5
///  record   k0=0  k0=del  k1=2  k1=3  k1=4  k0=5      (5: --big only)
///  segment  [0          ] [2        ] [4 (active)
/// ```
///
/// The first cleaning (segment 0, once the third append rolled it) drops
/// `k0=0` and stamps the tombstone with its delete horizon; the second
/// (segment 2 too, once the fifth rolled it) drops `k1=2` and, a tick later,
/// the tombstone. The small bound appends the first five records; `--big`
/// writes `k0` again: `k0=5` must not bring `k0=0` back.
pub const SCRIPT: [(Key, bool); 6] = [(0, false), (0, true), (1, false), (1, false), (1, false), (0, false)];
// ANCHOR_END: script

/// The clock, the appends and the cleaner's progress outside the log.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CompactionState {
    pub phase: Phase,
    /// The broker's clock, in ticks of [`DELETE_RETENTION_MS`].
    pub now_ms: i64,
    /// The next record of the script to append.
    pub next: RecordId,
    /// What was appended at each offset below the log end, and when. A
    /// recovery that cuts the log end forgets what it cut; offsets the
    /// cleaner removed stay (their records existed).
    pub appended: BTreeMap<i64, Appended>,
    /// Acknowledged: every offset below this was covered by a flush.
    pub flushed_end: i64,
    /// The log manager's `recovery-point-offset-checkpoint`, written at each flush.
    pub recovery_checkpoint: i64,
    /// The log manager's `cleaner-offset-checkpoint`: where the next cleaning's
    /// dirty section starts. `None` until the first swap.
    pub cleaner_checkpoint: Option<i64>,
    pub reader: Reader,
    /// What the last [`Log::open`] found.
    pub last_open: Option<OpenSummary>,
}

/// Whether the broker is up.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The log is boxed: it is large, and a crashed state need not carry its room.
    Running { log: Box<Log<CutStorage>>, cleaning: Cleaning },
    /// The power went out; `mid_swap` if it went inside a swap.
    Crashed { files: CutStorage, mid_swap: bool },
    /// [`Log::open`] failed: the broker cannot start.
    OpenFailed(String),
}

/// One appended record as the model remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Appended {
    pub id: RecordId,
    pub at_ms: i64,
}

/// A consumer fetching from its position, and what it concluded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Reader {
    /// The next offset to fetch.
    pub position: i64,
    /// Each key's last record it read: (offset, value; `None`: a tombstone).
    pub view: BTreeMap<Key, (i64, Option<RecordId>)>,
    /// When it last fetched; `None` since it (re)started from the log start.
    pub fetched_at_ms: Option<i64>,
    /// A fetch returned a record out of offset order, behind its position,
    /// unlike what was appended there, or failed.
    pub misread: bool,
    /// Caught up, yet some key's view was not its latest record, though
    /// the fetches were less than `delete.retention.ms` apart (and none
    /// before was `missed_slow`).
    pub missed_fresh: bool,
    /// The same, with fetches `delete.retention.ms` or more apart.
    pub missed_slow: bool,
}

/// What a restart found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenSummary {
    /// The crash struck inside a swap.
    pub mid_swap: bool,
    /// The directory held `.swap` files: recovery finished a swap.
    pub swap_files: bool,
}

/// What can happen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The producer appends the script's next record.
    Append(RecordId),
    /// `log.flush()`: everything appended is acknowledged.
    Flush,
    /// The clock moves `delete.retention.ms` on.
    Tick,
    /// Cleaner phase 1.
    Plan,
    /// Cleaner phase 2.
    Clean,
    /// Cleaner phase 3.
    Swap,
    /// Phase 3, and the power goes after `ops` of its write operations.
    SwapCut {
        ops: u32,
        mode: CrashMode,
    },
    /// The reader fetches from its position to the log end.
    Fetch,
    /// A power cut between two actions.
    Crash(CrashMode),
    Restart,
}

// ANCHOR: bugs
/// Mistakes the checker must catch. `None` is the real code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// The swap removes the old segments before the cleaned ones are durable
    /// ([`SwapVariant::RemoveOldBeforeSync`]).
    DeleteBeforeDurable,
}

impl CompactionModel {
    /// How the cleaner orders its swap: the broker's, or the bug's.
    pub fn swap_variant(&self) -> SwapVariant {
        match self.bug {
            Some(Bug::DeleteBeforeDurable) => SwapVariant::RemoveOldBeforeSync,
            None => SwapVariant::Safe,
        }
    }
}
// ANCHOR_END: bugs

impl Bug {
    pub const ALL: [Bug; 1] = [Bug::DeleteBeforeDurable];

    /// The variant's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Bug::DeleteBeforeDurable => "delete-before-durable",
        }
    }
}

/// The model: how much of the script, how far the clock goes, which crashes.
#[derive(Debug, Clone)]
pub struct CompactionModel {
    pub bug: Option<Bug>,
    /// Records of [`SCRIPT`] appended.
    pub records_max: RecordId,
    /// Ticks of the clock.
    pub ticks_max: i64,
    pub crash_modes: Vec<CrashMode>,
    /// Size of a one-record batch with a value, in bytes.
    batch_bytes: usize,
}

/// The most write operations one swap of the model performs; a cut after
/// more would find the swap finished (a `SwapCut` asserts it).
pub const SWAP_OPS_MAX: u32 = 48;

/// `log.cleaner.dedupe.buffer.size` for the model: room for every key.
const DEDUPE_BUFFER_BYTES: usize = 4096;

impl CompactionModel {
    /// The bound CI checks: five records, one tick, power cuts that lose
    /// what was not synced (torn writes are chapter 1's model's business).
    pub fn small(bug: Option<Bug>) -> Self {
        Self::new(bug, 5, 1, vec![CrashMode::LoseUnsynced])
    }

    /// `--big`: the whole script, two ticks, torn tails too.
    pub fn big(bug: Option<Bug>) -> Self {
        let modes = vec![CrashMode::LoseUnsynced, CrashMode::TornPrefix(HEADER_SIZE / 2)];
        Self::new(bug, SCRIPT.len() as RecordId, 2, modes)
    }

    fn new(bug: Option<Bug>, records_max: RecordId, ticks_max: i64, crash_modes: Vec<CrashMode>) -> Self {
        let batch_bytes = batch(0, 0).len();
        CompactionModel { bug, records_max, ticks_max, crash_modes, batch_bytes }
    }

    /// Whether this is the `--big` bound.
    pub fn is_big(&self) -> bool {
        self.records_max as usize == SCRIPT.len()
    }

    /// The safety nets for [`crate::check`], well above the pinned counts.
    pub fn bound(&self) -> Bound {
        let big = self.is_big();
        Bound {
            states_max: if big { 50_000_000 } else { 2_000_000 },
            timeout: Duration::from_secs(if big { 3_600 } else { 300 }),
        }
    }

    /// A compacted log of two batches a segment, an index entry per batch.
    pub fn config(&self) -> LogConfig {
        LogConfig {
            segment_bytes: 2 * self.batch_bytes as u64,
            index_interval_bytes: 0,
            cleanup_delete: false,
            cleanup_compact: true,
            delete_retention_ms: DELETE_RETENTION_MS,
            min_compaction_lag_ms: 0,
            ..LogConfig::default()
        }
    }

    /// The key and whether it is a tombstone, of record `id`.
    pub fn record(id: RecordId) -> (Key, bool) {
        SCRIPT[id as usize]
    }
}

/// Record `id` of the script as a one-record batch, stamped `now_ms`.
fn batch(id: RecordId, now_ms: i64) -> BytesMut {
    let (key, tombstone) = CompactionModel::record(id);
    let mut builder = BatchBuilder::default();
    let value = [id];
    builder.append(now_ms, Some(&[key]), (!tombstone).then_some(&value[..]), &[]);
    BytesMut::from(&builder.build().as_bytes()[..])
}

/// One record a read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub offset: i64,
    pub key: Key,
    /// `None` for a tombstone.
    pub value: Option<RecordId>,
}

/// Every record from `offset` to the log end, as a consumer decodes it; an
/// error says what it would have choked on.
pub fn served_from(log: &Log<CutStorage>, offset: i64) -> Result<Vec<Served>, String> {
    let batches = log.read_batches(offset).map_err(|e| format!("read failed: {e}"))?;
    let mut out = Vec::new();
    for batch in batches {
        let at = batch.base_offset();
        batch.validate().map_err(|e| format!("corrupt batch at {at}: {e}"))?;
        for r in batch.decode_records().map_err(|e| format!("bad records at {at}: {e}"))? {
            let key = match r.key.as_deref() {
                Some(&[key]) => key,
                other => return Err(format!("unknown key {other:?} at {}", r.offset)),
            };
            let value = match r.value.as_deref() {
                None => None,
                Some(&[id]) => Some(id),
                Some(other) => return Err(format!("unknown value {other:?} at {}", r.offset)),
            };
            out.push(Served { offset: r.offset, key, value });
        }
    }
    Ok(out)
}

impl CompactionState {
    /// The open log, if the broker is up.
    pub fn log(&self) -> Option<&Log<CutStorage>> {
        match &self.phase {
            Phase::Running { log, .. } => Some(log),
            _ => None,
        }
    }

    /// Each key's latest appended record below the log end: (offset, id).
    pub fn latest(&self) -> BTreeMap<Key, (i64, RecordId)> {
        self.latest_below(i64::MAX)
    }

    /// Each key's latest record among those appended below `end`.
    pub fn latest_below(&self, end: i64) -> BTreeMap<Key, (i64, RecordId)> {
        (self.appended.range(..end))
            .map(|(&offset, a)| (CompactionModel::record(a.id).0, (offset, a.id)))
            .collect()
    }

    /// Whether `served` is the records appended at those offsets, in offset order.
    fn as_appended(&self, served: &[Served]) -> bool {
        served.windows(2).all(|w| w[0].offset < w[1].offset)
            && served.iter().all(|s| {
                self.appended.get(&s.offset).is_some_and(|a| {
                    let (key, tombstone) = CompactionModel::record(a.id);
                    s.key == key && s.value == (!tombstone).then_some(a.id)
                })
            })
    }
}

/// Each key's last record in `served`: (offset, value).
fn last_by_key(served: &[Served]) -> BTreeMap<Key, (i64, Option<RecordId>)> {
    served.iter().map(|s| (s.key, (s.offset, s.value))).collect()
}

/// Whether a key's last record read, `seen` (offset, record), is its latest
/// record `latest`: the same, or nothing when the latest is a tombstone.
fn is_latest(seen: Option<i64>, latest: (i64, RecordId)) -> bool {
    match seen {
        Some(offset) => offset == latest.0,
        None => CompactionModel::record(latest.1).1,
    }
}

mod step;

impl Model for CompactionModel {
    type State = CompactionState;
    type Action = Action;

    fn init_states(&self) -> Vec<CompactionState> {
        let (log, _) = Log::open(CutStorage::default(), self.config(), OpenOptions::default(), 0)
            .expect("an empty log opens");
        vec![CompactionState {
            phase: Phase::Running { log: Box::new(log), cleaning: Cleaning::Idle },
            now_ms: 0,
            next: 0,
            appended: BTreeMap::new(),
            flushed_end: 0,
            recovery_checkpoint: 0,
            cleaner_checkpoint: None,
            reader: Reader::default(),
            last_open: None,
        }]
    }

    fn actions(&self, state: &CompactionState, actions: &mut Vec<Action>) {
        let Phase::Running { cleaning, .. } = &state.phase else {
            if matches!(state.phase, Phase::Crashed { .. }) {
                actions.push(Action::Restart);
            }
            return;
        };
        if state.next < self.records_max {
            actions.push(Action::Append(state.next));
        }
        actions.extend([Action::Flush, Action::Fetch]);
        if state.now_ms < self.ticks_max * DELETE_RETENTION_MS {
            actions.push(Action::Tick);
        }
        match cleaning {
            Cleaning::Idle => actions.push(Action::Plan),
            Cleaning::Planned(_) => actions.push(Action::Clean),
            Cleaning::Cleaned(_) => {
                actions.push(Action::Swap);
                for ops in 1..SWAP_OPS_MAX {
                    actions.extend(self.crash_modes.iter().map(|&mode| Action::SwapCut { ops, mode }));
                }
            }
        }
        actions.extend(self.crash_modes.iter().map(|&mode| Action::Crash(mode)));
    }

    fn next_state(&self, state: &CompactionState, action: Action) -> Option<CompactionState> {
        self.step(state, action)
    }

    // ANCHOR: properties
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(REOPENS, |_, s: &CompactionState| !matches!(s.phase, Phase::OpenFailed(_))),
            Property::always(READ_SEES_LATEST, |_, s: &CompactionState| {
                let Some(log) = s.log() else { return true };
                let Ok(served) = served_from(log, log.log_start_offset()) else { return false };
                let last = last_by_key(&served);
                s.as_appended(&served)
                    && s.latest().iter().all(|(k, &latest)| is_latest(last.get(k).map(|l| l.0), latest))
            }),
            Property::always(ACKED_SURVIVE, |_, s: &CompactionState| {
                let Some(log) = s.log() else { return true };
                let Ok(served) = served_from(log, log.log_start_offset()) else { return false };
                let last = last_by_key(&served);
                log.log_end_offset() >= s.flushed_end
                    && s.latest_below(s.flushed_end).iter().all(|(k, &(acked, _))| match last.get(k) {
                        Some(&(offset, _)) => offset >= acked,
                        // Gone: only behind a later tombstone of the key.
                        None => s.appended.range(acked..).any(|(_, a)| SCRIPT[a.id as usize] == (*k, true)),
                    })
            }),
            Property::always(TOMBSTONES_LIVE, |_, s: &CompactionState| {
                s.removed_tombstones().all(|a| s.now_ms >= a.at_ms + DELETE_RETENTION_MS)
            }),
            Property::always(READER_IN_ORDER, |_, s: &CompactionState| !s.reader.misread),
            Property::always(READER_UP_TO_DATE, |_, s: &CompactionState| !s.reader.missed_fresh),
            Property::sometimes(SWAPPED, |_, s: &CompactionState| {
                s.log().is_some() && s.cleaner_checkpoint.is_some()
            }),
            Property::sometimes(RECOVERED_MID_SWAP, |_, s: &CompactionState| {
                s.log().is_some() && s.last_open.is_some_and(|o| o.mid_swap && o.swap_files)
            }),
            Property::sometimes(TOMBSTONE_REMOVED, |_, s: &CompactionState| {
                s.removed_tombstones().next().is_some()
            }),
            Property::sometimes(SLOW_READER_MISSES_DELETE, |_, s: &CompactionState| s.reader.missed_slow),
        ]
    }
    // ANCHOR_END: properties
}

impl CompactionState {
    /// The tombstones that are their key's latest record and that a read
    /// from the log start no longer returns: the cleaner removed them. Only
    /// those acknowledged, or any before the first crash: an unflushed one
    /// a crash took is chapter 1's loss, not the cleaner's.
    fn removed_tombstones(&self) -> impl Iterator<Item = Appended> + '_ {
        let served = self.log().map(|log| served_from(log, log.log_start_offset()).unwrap_or_default());
        let last = last_by_key(served.as_deref().unwrap_or_default());
        let latest = if self.log().is_some() { self.latest() } else { BTreeMap::new() };
        latest.into_iter().filter_map(move |(key, (offset, id))| {
            let tombstone = CompactionModel::record(id).1;
            let tracked = offset < self.flushed_end || self.last_open.is_none();
            (tombstone && tracked && !last.contains_key(&key)).then(|| self.appended[&offset])
        })
    }
}

// ANCHOR: property_names
/// The log always reopens after a crash.
pub const REOPENS: &str = "the log reopens after every crash";
/// A read from the log start returns, in offset order, what was appended,
/// and for each key its latest record (nothing once a removed tombstone).
pub const READ_SEES_LATEST: &str = "a read from the log start sees each key's latest record, in order";
/// After any crash and recovery, each key keeps its latest acknowledged
/// record or a later one.
pub const ACKED_SURVIVE: &str = "each key's latest acknowledged record survives a crash";
/// A tombstone leaves the log only `delete.retention.ms` after its append
/// (of those acknowledged, or any before the first crash).
pub const TOMBSTONES_LIVE: &str = "a tombstone is removed only after delete.retention.ms";
/// A fetching reader gets records in offset order, as appended.
pub const READER_IN_ORDER: &str = "a reader fetches records in offset order, as appended";
/// A reader that keeps up holds each key's latest record.
pub const READER_UP_TO_DATE: &str = "a reader that keeps up sees each key's latest record";
// ANCHOR_END: property_names

// The `sometimes` properties: each shows the bound reaches the path.
pub const SWAPPED: &str = "a cleaning is swapped in";
pub const RECOVERED_MID_SWAP: &str = "recovery finishes a swap a crash interrupted";
pub const TOMBSTONE_REMOVED: &str = "a tombstone is removed";
pub const SLOW_READER_MISSES_DELETE: &str = "a reader slower than delete.retention.ms misses a delete";

#[cfg(test)]
mod tests {
    use super::*;

    // Two value batches fill a segment, so the third append rolls.
    #[test]
    fn segments_hold_two_batches() {
        let model = CompactionModel::small(None);
        let mut state = model.init_states().remove(0);
        for id in 0..3 {
            state = model.next_state(&state, Action::Append(id)).expect("a step");
        }
        assert_eq!(state.log().expect("running").segments().count(), 2);
    }
}
