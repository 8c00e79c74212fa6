//! The log manager: one log directory, every partition's log in it, and the
//! files that say how the last run ended.
//!
//! ```text
//!  data/                                  (log.dirs)
//!  ├─ .kafka_cleanshutdown                written last at a clean shutdown
//!  ├─ recovery-point-offset-checkpoint    per partition: flushed below here
//!  ├─ log-start-offset-checkpoint         per partition: first readable offset
//!  ├─ replication-offset-checkpoint       per partition: the high watermark (chapter 6)
//!  ├─ cleaner-offset-checkpoint           per compacted partition: cleaned below here (chapter 10)
//!  ├─ orders-0/  00000000000000000000.log .index .timeindex …
//!  └─ orders-1/  …
//! ```
//!
//! On open, the marker decides how much work recovery is: present, every segment
//! is trusted; absent, each log scans its segments from its recovery point on.
//! The marker is deleted as soon as the logs are open, so a crash from then on
//! is seen as unclean by the next start.
//!
//! The high watermarks are checkpointed on their own, more frequent, period
//! (`replica.high.watermark.checkpoint.interval.ms`, 5 s, as Kafka's
//! `ReplicaManager` does) and at shutdown; at open each log takes its own
//! back, clamped to the log (a partition missing from the file gets 0, so its
//! log start: a high watermark too low only makes consumers wait, one too
//! high would show them records that may be lost).
//!
//! Chapter 10 adds `cleaner-offset-checkpoint`: for each compacted partition,
//! the first dirty offset, where the log cleaner's last clean stopped. It is
//! read at open and written whole after each clean
//! ([`LogManager::checkpoint_cleaned`]), as Kafka's `LogCleanerManager` does;
//! a deleted partition's entry goes with it. An offset that no longer fits
//! its log is clamped when it is used ([`Log::first_dirty_offset`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checkpoint;
use super::cleaner::CleanerControl;
use super::error::Result;
use super::storage::{DiskStorage, Storage};
use super::{Log, LogConfig, OpenOptions, RecoveryReport};
use crate::sync::{Mutex, MutexGuard};
use crate::TopicPartition;

pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
pub const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";
pub const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";
pub const CLEANER_OFFSET_CHECKPOINT: &str = "cleaner-offset-checkpoint";

/// A partition log shared between the requests that append to and read from it.
/// A std mutex, not an async one: it is held for microseconds (an append, or
/// finding a read's file region), never across an await or a network write.
/// `crate::sync`'s, so [`super::GroupCommit`] (which loom checks) takes it.
pub type SharedLog = Arc<Mutex<Log<DiskStorage>>>;

/// Every partition log in one log directory.
#[derive(Debug)]
pub struct LogManager {
    root: DiskStorage,
    default_config: LogConfig,
    logs: BTreeMap<TopicPartition, SharedLog>,
    had_clean_shutdown: bool,
    /// `log.flush.offset.checkpoint.interval.ms`: how often `tick` writes the
    /// checkpoints. A stale recovery point only costs a longer recovery scan.
    pub checkpoint_interval_ms: i64,
    last_checkpoint_ms: i64,
    /// `replica.high.watermark.checkpoint.interval.ms`: how often `tick`
    /// writes `replication-offset-checkpoint`. Kafka's default, 5 s.
    pub high_watermark_checkpoint_interval_ms: i64,
    last_high_watermark_checkpoint_ms: i64,
    /// `log.retention.check.interval.ms`: how often `tick` applies retention
    /// (and expires idle producers). Kafka schedules it apart from the
    /// checkpoints and the flusher, and so does `tick`: each duty keeps its
    /// own period, whatever the tick's.
    pub retention_check_interval_ms: i64,
    /// When retention last ran; `None` until the first tick, which runs it.
    last_retention_ms: Option<i64>,
    /// `cleaner-offset-checkpoint`: each compacted partition's first dirty
    /// offset (chapter 10), as last written.
    cleaner_checkpoints: BTreeMap<TopicPartition, i64>,
    /// The cleaner threads' shared state (chapter 10): a deletion stops and
    /// pauses the cleaning of its log here before the files go.
    cleaner_control: Arc<CleanerControl>,
}

impl LogManager {
    /// Opens (creating) the log directory and every partition log in it,
    /// recovering them if the last stop was not clean.
    pub fn open(
        dir: impl AsRef<Path>,
        default_config: LogConfig,
        now_ms: i64,
    ) -> Result<(Self, BTreeMap<TopicPartition, RecoveryReport>)> {
        let mut root = DiskStorage::open(dir.as_ref())?;
        let clean = root.exists(CLEAN_SHUTDOWN_FILE);
        let recovery_points = checkpoint::read(&root, RECOVERY_POINT_CHECKPOINT)?;
        let start_offsets = checkpoint::read(&root, LOG_START_OFFSET_CHECKPOINT)?;
        let high_watermarks = checkpoint::read(&root, REPLICATION_OFFSET_CHECKPOINT)?;
        let cleaner_checkpoints = checkpoint::read(&root, CLEANER_OFFSET_CHECKPOINT)?;
        let mut logs = BTreeMap::new();
        let mut reports = BTreeMap::new();
        for entry in std::fs::read_dir(dir.as_ref())? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(tp) = TopicPartition::from_dir_name(&name).filter(|_| entry.path().is_dir()) else {
                continue;
            };
            let options = OpenOptions {
                recovery_point: recovery_points.get(&tp).copied().unwrap_or(0),
                log_start_offset: start_offsets.get(&tp).copied().unwrap_or(0),
                clean_shutdown: clean,
            };
            let storage = DiskStorage::open(entry.path())?;
            let (mut log, report) = Log::open(storage, default_config.clone(), options, now_ms)?;
            // Kafka's `Partition.createLog`: missing means 0, and the log clamps.
            log.update_high_watermark(high_watermarks.get(&tp).copied().unwrap_or(0));
            reports.insert(tp.clone(), report);
            logs.insert(tp, Arc::new(Mutex::new(log)));
        }
        if clean {
            root.remove(CLEAN_SHUTDOWN_FILE)?;
        }
        let manager = LogManager {
            root,
            default_config,
            logs,
            had_clean_shutdown: clean,
            checkpoint_interval_ms: 60_000,
            last_checkpoint_ms: now_ms,
            high_watermark_checkpoint_interval_ms: 5_000,
            last_high_watermark_checkpoint_ms: now_ms,
            retention_check_interval_ms: 300_000,
            last_retention_ms: None,
            cleaner_checkpoints,
            cleaner_control: Arc::default(),
        };
        Ok((manager, reports))
    }

    /// What the cleaner threads ([`super::cleaner::LogCleaner`]) share with this manager.
    pub fn cleaner_control(&self) -> Arc<CleanerControl> {
        self.cleaner_control.clone()
    }

    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    pub fn had_clean_shutdown(&self) -> bool {
        self.had_clean_shutdown
    }

    /// The log of `tp`, created empty with `config` (or the default) if new;
    /// an existing log takes `config` if one is given.
    pub fn get_or_create(
        &mut self,
        tp: &TopicPartition,
        config: Option<LogConfig>,
        now_ms: i64,
    ) -> Result<SharedLog> {
        if let Some(log) = self.logs.get(tp) {
            // Opened at start with the defaults: the topic's config now applies
            // (a compacted topic would otherwise be neither cleaned nor spared
            // retention after a restart).
            if let Some(config) = config {
                let mut opened = lock(log);
                if *opened.config() != config {
                    opened.set_config(config);
                }
            }
            return Ok(log.clone());
        }
        let path: PathBuf = self.root.path().join(tp.dir_name());
        let storage = DiskStorage::open(path)?;
        let config = config.unwrap_or_else(|| self.default_config.clone());
        let options = OpenOptions { clean_shutdown: true, ..OpenOptions::default() };
        let (log, _) = Log::open(storage, config, options, now_ms)?;
        let log = Arc::new(Mutex::new(log));
        self.logs.insert(tp.clone(), log.clone());
        Ok(log)
    }

    /// Removes `tp` from the manager and hands its log over whole: its owner
    /// now flushes it, and the manager's checkpoints leave it out (so an unclean
    /// stop rescans it from its start).
    pub fn take(&mut self, tp: &TopicPartition) -> Option<Log<DiskStorage>> {
        let shared = self.logs.remove(tp)?;
        let log = Arc::try_unwrap(shared).expect("no other handle to a log being taken");
        Some(log.into_inner().expect("log lock poisoned"))
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<SharedLog> {
        self.logs.get(tp).cloned()
    }

    pub fn partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.logs.keys()
    }

    /// Deletes a partition's log and its directory, and its entries in the
    /// checkpoint files.
    pub fn delete(&mut self, tp: &TopicPartition) -> Result<()> {
        // Kafka's `abortCleaning`: no cleaner thread may write in the
        // directory once it is going (it holds no log manager lock from its
        // grab to its done, so waiting here cannot deadlock).
        self.cleaner_control.abort_and_pause(tp);
        let removed = self.delete_files(tp);
        self.cleaner_control.remove(tp);
        removed
    }

    /// What [`Self::delete`] does once no cleaner works on `tp`.
    fn delete_files(&mut self, tp: &TopicPartition) -> Result<()> {
        if let Some(log) = self.logs.remove(tp) {
            let path = lock(&log).storage().path().to_path_buf();
            drop(log);
            std::fs::remove_dir_all(path)?;
            self.checkpoint()?;
            self.checkpoint_high_watermarks()?;
            // Chapter 10: a topic made again under this name starts dirty.
            if self.cleaner_checkpoints.contains_key(tp) {
                self.write_cleaner_checkpoint()?;
            }
        }
        Ok(())
    }

    /// The first dirty offset `cleaner-offset-checkpoint` holds for `tp`: where
    /// the cleaner's last clean of it stopped. Clamp it to the log with
    /// [`Log::first_dirty_offset`] before use.
    pub fn cleaner_checkpoint(&self, tp: &TopicPartition) -> Option<i64> {
        self.cleaner_checkpoints.get(tp).copied()
    }

    // ANCHOR: checkpoint_cleaned
    /// Records that `tp` is cleaned below `first_dirty_offset` and writes
    /// `cleaner-offset-checkpoint` whole (Kafka's `updateCheckpoints`, after
    /// each clean and for a reset checkpoint). Partitions this manager no
    /// longer holds are dropped from the file as it is written.
    pub fn checkpoint_cleaned(&mut self, tp: &TopicPartition, first_dirty_offset: i64) -> Result<()> {
        self.cleaner_checkpoints.insert(tp.clone(), first_dirty_offset);
        self.write_cleaner_checkpoint()
    }
    // ANCHOR_END: checkpoint_cleaned

    /// Lowers `tp`'s cleaner checkpoint to `offset` if it is above it: the
    /// log was truncated there (Kafka's `maybeTruncateCheckpoint`).
    pub fn truncate_cleaner_checkpoint(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        match self.cleaner_checkpoints.get_mut(tp) {
            Some(checkpointed) if *checkpointed > offset => *checkpointed = offset,
            _ => return Ok(()),
        }
        self.write_cleaner_checkpoint()
    }

    /// Lowers the cleaner checkpoint of every log a truncation cut below
    /// it since the last call ([`Log::take_truncated_to`]): the cleaner's
    /// gather step runs this before weighing the logs.
    pub fn apply_truncations(&mut self) -> Result<()> {
        let cut: Vec<(TopicPartition, i64)> = (self.logs.iter())
            .filter_map(|(tp, log)| Some((tp.clone(), lock(log).take_truncated_to()?)))
            .collect();
        for (tp, offset) in cut {
            self.truncate_cleaner_checkpoint(&tp, offset)?;
        }
        Ok(())
    }

    fn write_cleaner_checkpoint(&mut self) -> Result<()> {
        let logs = &self.logs;
        self.cleaner_checkpoints.retain(|tp, _| logs.contains_key(tp));
        checkpoint::write(&mut self.root, CLEANER_OFFSET_CHECKPOINT, &self.cleaner_checkpoints)
    }

    /// Writes both checkpoint files (Kafka does this every
    /// `log.flush.offset.checkpoint.interval.ms`, 60 s).
    pub fn checkpoint(&mut self) -> Result<()> {
        let points = self.logs.iter().map(|(tp, log)| (tp.clone(), lock(log).recovery_point())).collect();
        checkpoint::write(&mut self.root, RECOVERY_POINT_CHECKPOINT, &points)?;
        let starts = self.logs.iter().map(|(tp, log)| (tp.clone(), lock(log).log_start_offset())).collect();
        checkpoint::write(&mut self.root, LOG_START_OFFSET_CHECKPOINT, &starts)?;
        Ok(())
    }

    /// Writes every partition's high watermark to `replication-offset-checkpoint`
    /// (Kafka's `ReplicaManager.checkpointHighWatermarks`), whole and atomically.
    pub fn checkpoint_high_watermarks(&mut self) -> Result<()> {
        let hws = self.logs.iter().map(|(tp, log)| (tp.clone(), lock(log).high_watermark())).collect();
        checkpoint::write(&mut self.root, REPLICATION_OFFSET_CHECKPOINT, &hws)
    }

    /// The maintenance tick: the flush-by-time policy on every tick; retention
    /// and producer expiry once `retention_check_interval_ms` has passed since
    /// they last ran (the first tick runs them); the checkpoints once
    /// `checkpoint_interval_ms` has passed; the high watermarks once
    /// `high_watermark_checkpoint_interval_ms` has.
    pub fn tick(&mut self, now_ms: i64) -> Result<()> {
        let retention_due =
            self.last_retention_ms.is_none_or(|last| now_ms - last >= self.retention_check_interval_ms);
        for log in self.logs.values() {
            let mut log = lock(log);
            log.maybe_flush(now_ms)?;
            if retention_due {
                log.delete_old_segments(now_ms)?;
                log.remove_expired_producers(now_ms);
            }
        }
        if retention_due {
            self.last_retention_ms = Some(now_ms);
        }
        if now_ms - self.last_checkpoint_ms >= self.checkpoint_interval_ms {
            self.checkpoint()?;
            self.last_checkpoint_ms = now_ms;
        }
        if now_ms - self.last_high_watermark_checkpoint_ms >= self.high_watermark_checkpoint_interval_ms {
            self.checkpoint_high_watermarks()?;
            self.last_high_watermark_checkpoint_ms = now_ms;
        }
        Ok(())
    }

    // ANCHOR: shutdown
    /// Clean shutdown: flush every log, write the checkpoints (the high
    /// watermarks too), and only then the marker that lets the next start
    /// skip recovery.
    pub fn shutdown(&mut self) -> Result<()> {
        for log in self.logs.values() {
            let mut log = lock(log);
            log.flush()?;
            // Chapter 8: the producer table at the log end, so the next start
            // replays nothing.
            log.take_producer_snapshot()?;
        }
        self.checkpoint()?;
        self.checkpoint_high_watermarks()?;
        self.root.write_atomic(CLEAN_SHUTDOWN_FILE, b"")?;
        Ok(())
    }
    // ANCHOR_END: shutdown
}

/// Locks a log; a poisoned lock means a thread panicked mid-append, and the
/// log's in-memory state can no longer be trusted.
pub fn lock(log: &SharedLog) -> MutexGuard<'_, Log<DiskStorage>> {
    log.lock().expect("a thread panicked while holding a log lock")
}

#[cfg(test)]
mod tests;
