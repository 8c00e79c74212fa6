//! The broker's cleaner threads (Kafka's `LogCleaner` and its
//! `CleanerThread`s): the driver that runs the sans-IO pieces of this
//! chapter against the real log directory.
//!
//! It lives in the log layer, not the broker, because everything it touches
//! is the log's — the [`LogManager`], the [`CleanerManager`], the
//! [`Throttler`] — as Kafka's `LogCleaner` belongs to its `LogManager`; the
//! broker only starts it and stops it.
//!
//! ```text
//!  each of log.cleaner.threads, with its own OffsetMap (dedupe.buffer.size / threads):
//!
//!   ┌─▶ gather   log manager's lock, each log's in turn: cleanable_stats
//!   │   grab     CleanerManager::grab_filthiest ──── none ─▶ wait log.cleaner.backoff.ms
//!   │   plan     the log's lock: Log::plan_clean                (a condvar: shutdown wakes it)
//!   │   clean    no lock: CleanPlan::clean_with on a second DiskStorage of
//!   │            the partition directory, the Throttler in on_read
//!   │   swap     the log's lock: Log::swap_cleaned
//!   │   done     CleanerManager::done ─▶ LogManager::checkpoint_cleaned
//!   └───────────────────────────────────────────────────────────────┘
//! ```
//!
//! **Stopping a cleaning.** [`CleanerControl::abort_and_pause`] (a deletion:
//! [`LogManager::delete`], Kafka's `abortCleaning`) marks an in-progress
//! cleaning aborted and waits until its thread has given up; a shutdown
//! ([`LogCleaner::shutdown`]) stops every thread. Either way the thread
//! notices between batches (the `.cleaned` writes start failing, see
//! [`Abortable`](super::gated::Abortable)), deletes its `.cleaned` files and reports `done`.
//!
//! **Lock order.** The gather step holds the log manager's lock, then each
//! log's for a moment, then the cleaner manager's (to grab): so a deletion,
//! which holds the log manager's lock, never races a grab. From the grab to
//! `done` a thread takes no log manager lock, which is what lets
//! [`LogManager::delete`] wait for it while holding that lock.
//!
//! **Errors.** A log deleted under the cleaner is not an error. Any other
//! failure of a cleaning marks the partition uncleanable (Kafka's
//! `markPartitionUncleanable`) and is logged; the log directory stays
//! online, since the cleaner's own `.cleaned` files are not the log's data
//! (a failed swap, which touches live files, is logged the same way and
//! `Log::open` finishes or undoes it at the next start).
//!
//! Truncation (a follower's, or a leader becoming a follower) does not pause
//! the cleaner here: it bumps the log's layout generation, so a cleaning
//! planned before it is refused at the swap and its files deleted.
//!
//! Simplifications: no cleaner metrics (`max-clean-time-secs`, …), and a
//! thread that dies is not restarted (none should: a panic in a cleaning is
//! caught and the partition marked uncleanable).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::gated::{Gated, StopWhen};
use super::offset_map::OffsetMap;
use super::segments::{remove_cleaned_files, CLEANED_SUFFIX};
use super::{CleanParams, Cleaned, SwapOutcome};
use crate::log::cleaner_manager::{Candidate, CleanerManager, Done, LogToClean, PauseOutcome};
use crate::log::manager::{lock, SharedLog};
use crate::log::throttler::{Throttler, CLEANER_CHECK_INTERVAL_MS};
use crate::log::{CleanerConfig, DiskStorage, LogError, LogManager, Result, Storage};
use crate::TopicPartition;

/// What the cleaner threads and the log manager share: the cleaner manager's
/// states, and the condvar that wakes a backing-off thread at shutdown and a
/// waiting [`CleanerControl::abort_and_pause`] when its cleaning stops.
#[derive(Debug, Default)]
pub struct CleanerControl {
    state: Mutex<ControlState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct ControlState {
    manager: CleanerManager,
    stopping: bool,
}

impl CleanerControl {
    /// The cleaner manager's state; recovered if poisoned, since a cleaning
    /// panic is caught outside the lock and its states are whole values.
    fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ANCHOR: abort_and_pause_blocking
    /// Stops any cleaning of `tp` and keeps the cleaners off it until
    /// [`Self::resume`]; returns once no thread works on it (Kafka's
    /// `abortAndPauseCleaning`, which blocks the same way).
    pub fn abort_and_pause(&self, tp: &TopicPartition) {
        let mut state = self.lock();
        match state.manager.abort_and_pause(tp) {
            Ok(PauseOutcome::Paused) => return,
            Ok(PauseOutcome::AwaitingCleaner) => {}
            // A second caller while the first still waits: wait with it.
            Err(e) => tracing::warn!(error = %e, "cleaner pause while another waits"),
        }
        while !state.manager.is_paused(tp) {
            state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }
    // ANCHOR_END: abort_and_pause_blocking

    /// Undoes one [`Self::abort_and_pause`].
    pub fn resume(&self, tp: &TopicPartition) {
        if let Err(e) = self.lock().manager.resume(tp) {
            tracing::warn!(error = %e, "cleaner resume without a pause");
        }
    }

    /// Forgets `tp`, whose log is gone (after [`Self::abort_and_pause`]).
    pub fn remove(&self, tp: &TopicPartition) {
        self.lock().manager.remove(tp);
    }

    /// Whether the cleaning of `tp` must stop now: aborted, or the cleaner stopping.
    fn must_stop(&self, tp: &TopicPartition) -> bool {
        let state = self.lock();
        state.stopping || state.manager.is_aborted(tp)
    }

    fn stopping(&self) -> bool {
        self.lock().stopping
    }

    /// A thread finished with `tp`: the checkpoint to write, if any, and
    /// wake whoever waits for the pause.
    fn done(&self, tp: &TopicPartition, cleaned_up_to: i64) -> Option<i64> {
        let done = self.lock().manager.done(tp, cleaned_up_to);
        self.changed.notify_all();
        match done {
            Ok(Done::Checkpoint(offset)) => Some(offset),
            Ok(Done::Paused) => None,
            Err(e) => {
                tracing::error!(error = %e, "cleaner finished a log it did not hold");
                None
            }
        }
    }
}

/// The running cleaner threads. Dropping it stops them too.
#[derive(Debug)]
pub struct LogCleaner {
    control: Arc<CleanerControl>,
    threads: Vec<JoinHandle<()>>,
}

/// What each thread shares with the others.
#[derive(Debug)]
struct Shared {
    logs: Arc<Mutex<LogManager>>,
    control: Arc<CleanerControl>,
    /// One throttle for all threads, as Kafka's: the cap is on their sum.
    throttler: Mutex<Throttler>,
    /// The throttler's clock starts here (it wants nanoseconds as an `i64`).
    epoch: Instant,
    backoff: Duration,
}

impl LogCleaner {
    // ANCHOR: start
    /// Starts `log.cleaner.threads` threads cleaning the compacted logs of
    /// `logs`; none if `log.cleaner.enable` is off.
    pub fn start(config: &CleanerConfig, logs: Arc<Mutex<LogManager>>) -> std::io::Result<LogCleaner> {
        let control = logs.lock().unwrap_or_else(PoisonError::into_inner).cleaner_control();
        control.lock().stopping = false;
        let mut cleaner = LogCleaner { control: control.clone(), threads: Vec::new() };
        if !config.enable {
            return Ok(cleaner);
        }
        let shared = Arc::new(Shared {
            logs,
            control,
            throttler: Mutex::new(Throttler::new(
                config.io_max_bytes_per_second,
                CLEANER_CHECK_INTERVAL_MS,
                0,
            )),
            epoch: Instant::now(),
            backoff: Duration::from_millis(u64::try_from(config.backoff_ms).unwrap_or(0)),
        });
        let threads = config.threads.max(1);
        let map_bytes = usize::try_from(config.dedupe_buffer_bytes / threads as u64).unwrap_or(usize::MAX);
        let load_factor = config.io_buffer_load_factor.get();
        for i in 0..threads {
            let shared = shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("kafka-log-cleaner-thread-{i}"))
                .spawn(move || shared.run(OffsetMap::new(map_bytes, load_factor)))?;
            cleaner.threads.push(thread);
        }
        Ok(cleaner)
    }
    // ANCHOR_END: start

    /// Stops every thread and waits for them: a cleaning in progress is
    /// abandoned, its `.cleaned` files deleted. Call before the logs close.
    pub fn shutdown(&mut self) {
        self.control.lock().stopping = true;
        self.control.changed.notify_all();
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a log cleaner thread panicked");
            }
        }
    }
}

impl Drop for LogCleaner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    // ANCHOR: cleaner_loop
    /// One thread's life: clean the filthiest log, or back off when none is dirty.
    fn run(&self, mut map: OffsetMap) {
        while !self.control.stopping() {
            let cleaned = match self.grab_filthiest() {
                Some((to_clean, log)) => {
                    self.clean_and_checkpoint(&to_clean, &log, &mut map);
                    true
                }
                None => false,
            };
            if !cleaned {
                let state = self.control.lock();
                if !state.stopping {
                    let _ = self.control.changed.wait_timeout(state, self.backoff);
                }
            }
        }
    }
    // ANCHOR_END: cleaner_loop

    fn now_ns(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(i64::MAX)
    }

    /// Gathers each compacted log's numbers and grabs the filthiest (marked
    /// in progress); writes back the checkpoints the grab had to reset.
    fn grab_filthiest(&self) -> Option<(LogToClean, SharedLog)> {
        let now = now_ms();
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = logs.apply_truncations() {
            tracing::warn!(error = %e, "cannot lower cleaner-offset-checkpoint after a truncation");
        }
        let mut gathered = Vec::new();
        for tp in logs.partitions() {
            let Some(shared) = logs.get(tp) else { continue };
            let log = lock(&shared);
            if !log.config().cleanup_compact {
                continue;
            }
            match log.cleanable_stats(logs.cleaner_checkpoint(tp), now) {
                Ok(stats) => gathered.push((tp.clone(), log.config().min_cleanable_dirty_ratio.get(), stats)),
                Err(e) => tracing::warn!(%tp, error = %e, "cannot weigh a compacted log"),
            }
        }
        let candidates = gathered.iter().map(|(tp, ratio, stats)| Candidate {
            topic_partition: tp,
            compact: true,
            min_cleanable_dirty_ratio: *ratio,
            stats: *stats,
        });
        let grab = self.control.lock().manager.grab_filthiest(candidates);
        for (tp, offset) in grab.reset_checkpoints {
            if let Err(e) = logs.checkpoint_cleaned(&tp, offset) {
                tracing::warn!(%tp, error = %e, "cannot write cleaner-offset-checkpoint");
            }
        }
        let to_clean = grab.filthiest?;
        let log = logs.get(&to_clean.topic_partition).expect("gathered under this lock");
        Some((to_clean, log))
    }

    /// Cleans one grabbed log, reports `done`, writes the checkpoint.
    fn clean_and_checkpoint(&self, to_clean: &LogToClean, log: &SharedLog, map: &mut OffsetMap) {
        let tp = &to_clean.topic_partition;
        let outcome = catch_unwind(AssertUnwindSafe(|| self.clean(to_clean, log, map)));
        let cleaned_up_to = match outcome {
            Ok(Ok(Some(offset))) => Some(offset),
            Ok(Ok(None)) => None,
            Ok(Err(_)) if self.control.must_stop(tp) => None, // aborted or stopping: not an error
            Ok(Err(e)) => {
                tracing::error!(%tp, error = %e, "log cleaning failed: partition marked uncleanable");
                self.control.lock().manager.mark_uncleanable(tp);
                None
            }
            Err(_) => {
                tracing::error!(%tp, "log cleaning panicked: partition marked uncleanable");
                self.control.lock().manager.mark_uncleanable(tp);
                None
            }
        };
        map.clear();
        let checkpoint = self.control.done(tp, cleaned_up_to.unwrap_or(to_clean.first_dirty_offset));
        if let (Some(offset), Some(_)) = (checkpoint, cleaned_up_to) {
            let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(e) = logs.checkpoint_cleaned(tp, offset) {
                tracing::warn!(%tp, error = %e, "cannot write cleaner-offset-checkpoint");
            }
        }
    }

    // ANCHOR: clean_one
    /// The three phases on one log: `Some(first dirty offset)` of the next
    /// cleaning after a swap, `None` when nothing changed.
    fn clean(&self, to_clean: &LogToClean, log: &SharedLog, map: &mut OffsetMap) -> Result<Option<i64>> {
        let tp = &to_clean.topic_partition;
        let (plan, dir) = {
            let log = lock(log);
            let params =
                CleanParams { delete_retention_ms: log.config().delete_retention_ms, now_ms: now_ms() };
            let plan =
                log.plan_clean(to_clean.first_dirty_offset, to_clean.first_uncleanable_offset, params)?;
            (plan, log.storage().path().to_path_buf())
        };
        let Some(mut plan) = plan else { return Ok(None) };
        let control = &self.control;
        let mut out = Gated::new(DiskStorage::open(dir)?, StopWhen(|| control.must_stop(tp)));
        let mut on_read = |bytes: usize| self.throttle(bytes);
        let cleaned = match plan.clean_with(&mut out, map, &mut on_read) {
            Ok(Some(cleaned)) => cleaned,
            Ok(None) => return Err(map_too_small(to_clean)),
            Err(e) => {
                remove_every_cleaned_file(&mut out.into_inner());
                return Err(e);
            }
        };
        if control.must_stop(tp) {
            abandon(out.into_inner(), &cleaned)?;
            return Ok(None);
        }
        let swapped = lock(log).swap_cleaned(cleaned)?;
        Ok(match swapped {
            SwapOutcome::Swapped { groups } => {
                tracing::info!(%tp, groups, cleaned_up_to = plan.map_end, "cleaned log");
                Some(plan.map_end)
            }
            SwapOutcome::Aborted => None, // truncated or retention ran: planned again next time
        })
    }
    // ANCHOR_END: clean_one

    /// The I/O throttle, `log.cleaner.io.max.bytes.per.second` for all threads.
    fn throttle(&self, bytes: usize) {
        let now = self.now_ns();
        let sleep =
            self.throttler.lock().unwrap_or_else(PoisonError::into_inner).maybe_throttle(bytes as u64, now);
        if !sleep.is_zero() {
            std::thread::sleep(sleep);
        }
    }
}

/// Deletes the `.cleaned` files of a cleaning that will not be swapped.
fn abandon(mut out: DiskStorage, cleaned: &Cleaned) -> Result<()> {
    for group in &cleaned.groups {
        remove_cleaned_files(&mut out, group.base_offset)?;
    }
    Ok(())
}

/// After a failed or stopped phase 2, whatever `.cleaned` files it wrote
/// (only this thread writes them in this directory). Best effort: the
/// directory may be gone, and `Log::open` deletes any left over.
fn remove_every_cleaned_file(out: &mut DiskStorage) {
    let names = out.list().unwrap_or_default();
    for name in names.iter().filter(|n| n.ends_with(CLEANED_SUFFIX)) {
        let _ = out.remove(name);
    }
}

/// The offset map could not hold the first dirty segment's keys: Kafka
/// fails the cleaning the same way (and the partition is marked uncleanable).
fn map_too_small(to_clean: &LogToClean) -> LogError {
    let message = format!(
        "log.cleaner.dedupe.buffer.size too small for one segment of {} from offset {}",
        to_clean.topic_partition, to_clean.first_dirty_offset
    );
    LogError::Io(std::io::Error::other(message))
}

/// The broker's clock, in Kafka's unit.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
