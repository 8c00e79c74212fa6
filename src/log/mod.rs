//! Chapter 1 — the log: an append-only, segmented, indexed file of record batches.
//!
//! A Kafka partition *is* a log: an ordered sequence of record batches, each
//! record numbered by its **offset**. Producers append at the end, consumers read
//! from any offset they like, and nothing is modified in place. This module is that
//! log, in Kafka's own on-disk format, so `kafka-dump-log.sh` and `spool dump-log`
//! read the same files:
//!
//! ```text
//!  Log (one partition: "orders-0/")
//!  ├─ log start offset ─┐                                   log end offset ─┐
//!  │                    ▼                                                   ▼
//!  │   ┌──────────────────────┐ ┌──────────────────────┐ ┌──────────────────┐
//!  │   │ segment 0            │ │ segment 42000        │ │ segment 85000    │ ◀ appends
//!  │   │ .log .index .timeidx │ │ .log .index .timeidx │ │ (active)         │
//!  │   └──────────────────────┘ └──────────────────────┘ └──────────────────┘
//!  │     deleted whole by retention                        rolled on size/age
//!  └─ recovery point: everything below it is known to be on disk (fsynced)
//! ```
//!
//! - **Appending** ([`Log::append`]) validates each batch (framing, magic, CRC),
//!   assigns offsets by rewriting the batch's `baseOffset` in place, rolls the
//!   active segment when it is full or old, writes the bytes to the page cache,
//!   and only then *publishes* the new log end offset to readers ([`end`]).
//! - **Reading** ([`Log::read`]) turns an offset into a [`FileRegion`] — a file
//!   handle, a position and a length — found through the sparse [`index`]. The
//!   bytes are not copied here; chapter 3 sends the region with `sendfile`
//!   ([`read`]).
//! - **Durability**: appends land in the page cache. They are flushed by policy
//!   (`log.flush.interval.messages`, `log.flush.interval.ms`), or before the
//!   acknowledgement in durable mode, where [`GroupCommit`] lets one `fsync`
//!   cover every append waiting on it. The **recovery point** is the offset below
//!   which everything is flushed; the log manager checkpoints it ([`durability`]).
//! - **Recovery** ([`Log::open`]): after an unclean stop, every segment from the
//!   recovery point on is scanned batch by batch ([`LogSegment::recover`]); the
//!   log is cut at the first torn or corrupt batch and the indexes are rebuilt.
//! - **Retention** ([`Log::delete_old_segments`]) deletes whole segments by age
//!   (`log.retention.ms`) or total size (`log.retention.bytes`) and advances the
//!   log start offset ([`retention`]).
//!
//! Where the later chapters plug in, without changing this design:
//!
//! - *Replication (chapter 6)*: [`Log::append`] takes the leader epoch to stamp on
//!   each batch; a follower appends the leader's batches with their offsets and
//!   epochs ([`Log::append_as_follower`], in [`follower`]), truncates with
//!   [`Log::truncate_to`], or starts over at the leader's log start
//!   ([`Log::truncate_fully_and_start_at`]). The log keeps the high watermark
//!   ([`high_watermark`]), which bounds consumer reads through
//!   [`ReadOptions::max_offset`] and the log manager checkpoints. Wired in [`epochs`]: the log keeps the replication
//!   core's leader epoch cache ([`Log::leader_epoch_cache`],
//!   [`Log::end_offset_for_epoch`]) and Kafka's `leader-epoch-checkpoint` file in
//!   the partition directory, through the same [`Storage`]: an epoch starts with
//!   the first batch appended in it, truncation and retention cut it, and
//!   [`Log::open`] rebuilds what recovery rescanned from the batches' epochs.
//! - *Idempotence (chapter 8)*, wired in [`producers`]: [`Log::append`] checks
//!   each idempotent batch against the partition's producer table before it
//!   writes anything (a retry is answered with the original offsets), the table
//!   is written as `<offset>.snapshot` at each roll and at clean shutdown, and
//!   [`Log::open`] rebuilds it from the newest snapshot plus the batch headers
//!   after it.
//! - *Transactions (chapter 9)*, wired in [`transactions`]: every append runs
//!   its batches through the producer table, which tracks each producer's
//!   open transaction; an ABORT marker appends the transaction to the active
//!   segment's `.txnindex` ([`txn_index`], Kafka's format), which truncation
//!   cuts and recovery rebuilds. [`Log::last_stable_offset`] is the smaller of
//!   the high watermark and the earliest undecided transaction's first offset;
//!   [`Log::collect_aborted_transactions`] answers what a `read_committed`
//!   fetch must drop. (The fetch and ListOffsets handlers do not use them yet.)
//!
//! Simplifications: Kafka deletes segments asynchronously (renaming them
//! `.deleted` first); spool unlinks at once, and open handles keep a deleted file
//! readable until the fetch sending it is done. Index files are never
//! preallocated or memory-mapped (see [`index`]). One log directory only.

pub mod checkpoint;
pub mod cleanable;
pub mod cleaner;
pub mod cleaner_manager;
pub mod config;
pub mod durability;
pub mod end;
pub mod epochs;
pub mod error;
pub mod follower;
pub mod group_commit;
pub mod high_watermark;
pub mod index;
pub mod manager;
pub mod producers;
pub mod read;
pub mod retention;
pub mod segment;
pub mod storage;
pub mod throttler;
pub mod transactions;
pub mod txn_index;
pub mod validator;

use std::collections::BTreeMap;
use std::io;

use bytes::{Bytes, BytesMut};

use crate::format::batch;
use crate::format::{BatchError, RecordBatch, RecordBatchMut, TimestampType};

pub use config::{CleanerConfig, LogConfig, Ratio};
pub use end::{EndOffsetPublisher, EndOffsetWatch, LogOffsetMetadata};
pub use error::{LogError, Result};
pub use group_commit::GroupCommit;
pub use manager::LogManager;
pub use segment::LogSegment;
pub use storage::{CrashMode, DiskStorage, MemStorage, ReadAt, Storage};

/// Where a log picks up when it is opened: the log manager reads these from its
/// checkpoint files and the clean-shutdown marker. The default is a new log
/// that trusts nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OpenOptions {
    /// Offset below which everything was flushed before the stop.
    pub recovery_point: i64,
    /// First offset still readable (advanced by retention and deletes).
    pub log_start_offset: i64,
    /// Whether the broker stopped cleanly, so no segment needs scanning.
    pub clean_shutdown: bool,
}

/// What opening the log had to repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    pub segments_recovered: usize,
    pub batches_scanned: u64,
    /// Bytes cut from a torn or corrupt tail.
    pub bytes_truncated: u64,
    /// Whole segments after a corrupt one, deleted.
    pub segments_deleted: usize,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub first_offset: i64,
    pub last_offset: i64,
    /// Largest timestamp in the appended batches (the broker's for `LogAppendTime`).
    pub max_timestamp: i64,
    /// The broker's clock, for `LogAppendTime` topics; -1 for `CreateTime`.
    pub log_append_time: i64,
    /// Records written: 0 for a duplicate.
    pub records: u64,
    /// The append was a retry of batches already in the log (chapter 8): nothing
    /// was written, and the offsets are the original's.
    pub duplicate: bool,
}

/// Bounds on a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    pub max_bytes: u32,
    /// Read nothing at or beyond this offset: a consumer's read passes the
    /// high watermark (chapter 6). Only whole batches that end below it are
    /// returned, never the batch holding it, as `LocalLog.read` stops at the
    /// position of the batch holding `maxOffsetMetadata`. `None`: the log end.
    pub max_offset: Option<i64>,
    /// Return the first batch even if it alone is larger than `max_bytes` (KIP-74).
    pub min_one_batch: bool,
    /// A consumer's read: when the rest of a sealed segment holds only
    /// batches a cleaning emptied (chapter 10), read on in the next segment
    /// instead. Followers, recovery and tools read every batch.
    pub skip_emptied_tail: bool,
}

/// Bytes a read found: a region of one segment file, sent later without the log's lock.
#[derive(Debug, Clone)]
pub struct FileRegion<H> {
    pub handle: H,
    pub segment_base_offset: i64,
    pub position: u64,
    pub length: u32,
    /// Base offset of the first batch in the region.
    pub first_batch_offset: i64,
}

impl<H: ReadAt> FileRegion<H> {
    /// Copies the region into memory: the "naive" path of chapter 3, and what tests use.
    pub fn read_bytes(&self) -> io::Result<Bytes> {
        let mut buf = vec![0; self.length as usize];
        let n = self.handle.read_at(self.position, &mut buf)?;
        buf.truncate(n);
        Ok(Bytes::from(buf))
    }
}

/// One partition's log over a [`Storage`]: the disk for the broker, memory for the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Log<S: Storage> {
    storage: S,
    config: LogConfig,
    /// Segments by base offset; the last is the active one.
    segments: BTreeMap<i64, LogSegment>,
    log_start_offset: i64,
    recovery_point: i64,
    /// Records appended since the last flush (`log.flush.interval.messages`).
    unflushed_records: u64,
    last_flush_ms: i64,
    end: EndOffsetPublisher,
    /// Idempotent producers' epochs and last batches, as of the log end
    /// (chapter 8, [`producers`]).
    producers: crate::idempotence::ProducerStateManager,
    /// Where each leader epoch starts in this log (chapter 6, [`epochs`]).
    leader_epochs: crate::replication::LeaderEpochCache,
    /// Below here every record is committed (chapter 6, [`high_watermark`]);
    /// always within `[log_start_offset, log end]`.
    high_watermark: i64,
    /// Why the log went offline: an fsync failed. From then on it refuses
    /// appends and flushes ([`LogError::LogDirOffline`]).
    offline: Option<String>,
    /// Bumped by every change to the segment layout other than an append or
    /// a roll: truncation, retention, deletion. The cleaner plans under the
    /// lock, cleans without it, and swaps only if this has not moved
    /// (chapter 10, [`cleaner`]).
    layout_generation: u64,
    /// The lowest offset a truncation cut the log to since the cleaner last
    /// asked ([`Log::take_truncated_to`]): its checkpoint must not stay above.
    truncated_to: Option<i64>,
}

impl<S: Storage> Log<S> {
    // ANCHOR: open
    /// Opens the log in `storage`, creating its first segment if there is none.
    /// After an unclean stop, every segment from the recovery point on is
    /// recovered: scanned, cut at the first bad batch, its indexes rebuilt; the
    /// segments after a cut are deleted, since their offsets would now be a gap.
    pub fn open(
        mut storage: S,
        config: LogConfig,
        options: OpenOptions,
        now_ms: i64,
    ) -> Result<(Self, RecoveryReport)> {
        let mut report = RecoveryReport::default();
        // Chapter 10: finish or undo a cleaner's swap before anything is loaded.
        cleaner::swap::recover_swap_files(&mut storage)?;
        let bases = Self::discover_segments(&mut storage)?;
        let mut segments = BTreeMap::new();
        let mut cut = false;
        let mut first_recovered = None;
        for (i, &base) in bases.iter().enumerate() {
            if cut {
                segment::delete_files(&mut storage, base)?;
                report.segments_deleted += 1;
                continue;
            }
            let next_base = bases.get(i + 1).copied().unwrap_or(i64::MAX);
            let trusted = options.clean_shutdown || next_base <= options.recovery_point;
            let (segment, recovered) = if trusted {
                LogSegment::open(&mut storage, base, &config)?
            } else {
                let (segment, outcome) = LogSegment::recover(&mut storage, base, &config)?;
                (segment, Some(outcome))
            };
            if let Some(outcome) = recovered {
                first_recovered.get_or_insert(base);
                report.segments_recovered += 1;
                report.batches_scanned += outcome.valid_batches;
                report.bytes_truncated += outcome.truncated_bytes;
                // A cut segment ends before the next one starts: a gap. Kafka
                // deletes everything after the first corruption.
                let gap = next_base != i64::MAX && segment.next_offset() < next_base;
                cut = outcome.truncated_bytes > 0 || gap;
            }
            segments.insert(base, segment);
        }
        if segments.is_empty() {
            let base = options.log_start_offset.max(0);
            segments.insert(base, LogSegment::create(&mut storage, base, &config)?);
        }
        let mut log = Log {
            storage,
            config,
            segments,
            log_start_offset: 0,
            recovery_point: 0,
            unflushed_records: 0,
            last_flush_ms: now_ms,
            end: EndOffsetPublisher::new(LogOffsetMetadata::default()),
            producers: producers::new_producer_state(),
            leader_epochs: crate::replication::LeaderEpochCache::new(),
            high_watermark: 0,
            offline: None,
            layout_generation: 0,
            truncated_to: None,
        };
        let end = log.compute_end();
        log.end.publish(end);
        let first_base = *log.segments.keys().next().expect("at least one segment");
        log.log_start_offset = options.log_start_offset.clamp(first_base, end.message_offset);
        log.clamp_high_watermark(); // the log manager sets the checkpointed one
        log.recovery_point = if options.clean_shutdown {
            end.message_offset
        } else {
            options.recovery_point.min(end.message_offset)
        };
        if let Some(first) = first_recovered {
            // Chapter 9: a rescanned segment's `.txnindex` was dropped with it.
            log.rebuild_txn_indexes(first)?;
        }
        log.load_producer_state(now_ms)?;
        log.load_leader_epochs(first_recovered)?;
        Ok((log, report))
    }
    // ANCHOR_END: open

    /// Lists segment base offsets and removes leftovers: index files without a
    /// log file, and temporary files of an interrupted checkpoint.
    fn discover_segments(storage: &mut S) -> Result<Vec<i64>> {
        let names = storage.list()?;
        let base_of = |name: &str, ext: &str| {
            let stem = name.strip_suffix(ext)?;
            (stem.len() == 20).then(|| stem.parse::<i64>().ok()).flatten()
        };
        let bases: Vec<i64> = names.iter().filter_map(|n| base_of(n, ".log")).collect();
        for name in &names {
            let orphan_index = [".index", ".timeindex", ".txnindex"]
                .iter()
                .any(|ext| base_of(name, ext).is_some_and(|b| !bases.contains(&b)));
            if orphan_index || name.ends_with(".tmp") {
                storage.remove(name)?;
            }
        }
        Ok(bases)
    }

    fn active(&self) -> &LogSegment {
        self.segments.values().next_back().expect("a log always has an active segment")
    }

    fn compute_end(&self) -> LogOffsetMetadata {
        let active = self.active();
        LogOffsetMetadata {
            message_offset: active.next_offset(),
            segment_base_offset: active.base_offset(),
            relative_position: active.size(),
        }
    }

    // ANCHOR: log_append
    /// Appends the batches in `batches` (one or more, as a produce request carries
    /// them), all or nothing. Each is validated, given the next offsets and
    /// `leader_epoch`, stamped with `now_ms` on a `LogAppendTime` topic, and
    /// written to the active segment; then the new end is published.
    ///
    /// Batches from idempotent producers are checked first (chapter 8,
    /// [`producers`]): a retry of batches already in the log writes nothing
    /// and answers with the original's offsets; a sequence or epoch error
    /// writes nothing and is [`LogError::Producer`].
    pub fn append(&mut self, batches: BytesMut, leader_epoch: i32, now_ms: i64) -> Result<AppendInfo> {
        self.append_from(batches, leader_epoch, now_ms, producers::AppendOrigin::Client)
    }

    /// [`append`](Self::append) of batches `origin` wrote: a coordinator's
    /// producer batches are checked for their epoch only (chapter 9's
    /// TxnOffsetCommit records, [`producers::AppendOrigin`]).
    pub fn append_from(
        &mut self,
        mut batches: BytesMut,
        leader_epoch: i32,
        now_ms: i64,
        origin: producers::AppendOrigin,
    ) -> Result<AppendInfo> {
        self.check_online()?; // an offline log takes nothing more
        let sizes = validate_batches(&batches, self.config.segment_bytes)?;
        if let Some(original) = self.check_producers(&batches, &sizes, origin)? {
            return Ok(self.duplicate_info(&original));
        }
        let first_offset = self.log_end_offset();
        let mut info = AppendInfo {
            first_offset,
            last_offset: first_offset - 1,
            max_timestamp: -1,
            log_append_time: -1,
            records: 0,
            duplicate: false,
        };
        let mut epochs_changed = false;
        for size in sizes {
            let mut bytes = batches.split_to(size);
            let mut batch_mut = RecordBatchMut::new(&mut bytes)?;
            batch_mut.set_base_offset(info.last_offset + 1);
            batch_mut.set_partition_leader_epoch(leader_epoch);
            if self.config.timestamp_type == TimestampType::LogAppendTime {
                batch_mut.set_log_append_time(now_ms);
                info.log_append_time = now_ms;
            }
            // Validated above; the rewrites kept the CRC right. Only framing is re-read.
            let (batch, _) = RecordBatch::parse(&bytes.freeze())?;
            if self.active().should_roll(
                &self.config,
                batch.size_in_bytes(),
                batch.last_offset(),
                batch.max_timestamp(),
            ) {
                self.roll(batch.base_offset())?;
            }
            let storage = &mut self.storage;
            let active = self.segments.values_mut().next_back().expect("active segment");
            active.append(storage, &batch)?;
            // Under the same lock as the check: the next append sees this batch.
            // A marker also ends its transaction (chapter 9, [`transactions`]).
            self.apply_to_producers(&batch)?;
            epochs_changed |= epochs::learn_epoch(&mut self.leader_epochs, leader_epoch, batch.base_offset());
            info.last_offset = batch.last_offset();
            info.max_timestamp = info.max_timestamp.max(batch.max_timestamp());
            info.records += batch.records_count().max(0) as u64;
        }
        self.finish_append(info.records, epochs_changed)?;
        Ok(info)
    }

    /// After an append (a leader's or a follower's) wrote every batch:
    /// publish the new end, record any new epoch, and flush if
    /// `flush.messages` says so.
    fn finish_append(&mut self, records: u64, epochs_changed: bool) -> Result<()> {
        // Publish only now that every byte is written: see `end`.
        self.end.publish(self.compute_end());
        if epochs_changed {
            // Before any flush below: the file covers every batch below the
            // recovery point (see `epochs`).
            self.write_leader_epochs()?;
        }
        self.unflushed_records += records;
        if self.unflushed_records >= self.config.flush_interval_messages {
            self.flush()?;
        }
        Ok(())
    }
    // ANCHOR_END: log_append

    /// The answer to a retried batch: its original offsets, and its append
    /// time on a `LogAppendTime` topic (-1 otherwise). Kafka answers the
    /// batch's max timestamp as `logAppendTime` on either kind of topic; a
    /// client then reports that timestamp for every record of a `CreateTime`
    /// batch, so spool answers -1 there, as for a first append.
    fn duplicate_info(&self, original: &crate::idempotence::BatchMetadata) -> AppendInfo {
        let log_append_time =
            if self.config.timestamp_type == TimestampType::LogAppendTime { original.timestamp } else { -1 };
        AppendInfo {
            first_offset: original.first_offset(),
            last_offset: original.last_offset,
            max_timestamp: original.timestamp,
            log_append_time,
            records: 0,
            duplicate: true,
        }
    }

    /// Closes the active segment and starts a new one at `base_offset`. Kafka
    /// schedules a flush of the old segment at this point; spool leaves it to the
    /// flush policy, and the recovery point still covers it until then.
    pub fn roll(&mut self, base_offset: i64) -> Result<()> {
        assert!(base_offset >= self.log_end_offset(), "roll below the log end");
        if self.active().size() == 0 && self.active().base_offset() == base_offset {
            return Ok(());
        }
        let segment = LogSegment::create(&mut self.storage, base_offset, &self.config)?;
        self.segments.insert(base_offset, segment);
        // Chapter 8: the producer table as this segment starts, so a restart
        // replays from here instead of from the log start (Kafka's `roll`).
        self.write_producer_snapshot(base_offset)?;
        Ok(())
    }

    /// Flushes everything: the log manager then writes the clean-shutdown marker.
    pub fn close(mut self) -> Result<S> {
        self.flush()?;
        self.take_producer_snapshot()?;
        Ok(self.storage)
    }

    pub fn log_end_offset(&self) -> i64 {
        self.end.get().message_offset
    }
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }
    /// The published end with its position, for readers outside the log's lock.
    pub fn end_offset_watch(&self) -> EndOffsetWatch {
        self.end.watch()
    }
    pub fn config(&self) -> &LogConfig {
        &self.config
    }
    /// Replaces the log's config (Kafka's `UnifiedLog.updateConfig`): a log
    /// opened at start with the broker's defaults takes its topic's
    /// overrides — `cleanup.policy=compact` among them — once the metadata
    /// names them. Segments already written keep their index sizes.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }
    pub fn segments(&self) -> impl Iterator<Item = &LogSegment> {
        self.segments.values()
    }
    pub fn size_in_bytes(&self) -> u64 {
        self.segments.values().map(LogSegment::size).sum()
    }
    pub fn storage(&self) -> &S {
        &self.storage
    }
    /// The storage, for a model that crashes it. Tests only; the log's own
    /// bookkeeping assumes nobody else writes.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }
}

/// Checks that `buf` is a sequence of whole, valid v2 batches, each no larger
/// than `max_batch_bytes`; returns their sizes.
pub fn validate_batches(buf: &[u8], max_batch_bytes: u64) -> Result<Vec<usize>> {
    let mut sizes = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let available = rest.len();
        let size = match batch::batch_size(rest) {
            None => return Err(BatchError::Truncated { needed: batch::LOG_OVERHEAD, available }.into()),
            Some(size) => size?,
        };
        if size > available {
            return Err(BatchError::Truncated { needed: size, available }.into());
        }
        let (one, tail) = rest.split_at(size);
        batch::validate_slice(one)?;
        if size as u64 > max_batch_bytes {
            return Err(LogError::BatchTooLarge { size, max: max_batch_bytes as usize });
        }
        let last_offset_delta = batch::be_i32(one, batch::field::LAST_OFFSET_DELTA);
        let count = batch::be_i32(one, batch::field::RECORDS_COUNT);
        // Kafka's `LogValidator`: a v2 batch holds at least one record, and its
        // offset range covers exactly its records.
        if count < 1 || last_offset_delta != count - 1 {
            return Err(BatchError::InvalidRecords(format!(
                "inconsistent batch: {count} records, lastOffsetDelta {last_offset_delta}"
            ))
            .into());
        }
        sizes.push(size);
        rest = tail;
    }
    if sizes.is_empty() {
        return Err(BatchError::Truncated { needed: batch::HEADER_SIZE, available: 0 }.into());
    }
    Ok(sizes)
}
