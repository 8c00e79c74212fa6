//! Group commit: one `fsync` acknowledges every append that waited on it.
//!
//! In durable mode (`spool.log.flush.before.ack=true`) an append may only be
//! acknowledged once it is on disk. An `fsync` costs milliseconds on a real disk
//! whatever it covers, so one per append caps a partition at a few hundred
//! appends a second. Group commit lets appends keep landing while an `fsync` is
//! in flight, and the next `fsync` covers all of them:
//!
//! ```text
//!  appender A: append(0..9)  ──wait──────────────┐ ack
//!  appender B:   append(10..19) ──wait───────────┤ ack   one fsync covers 0..39
//!  appender C:     append(20..39) ──wait─────────┘ ack
//!  flusher:               [ fsync(.log up to 40) ]
//! ```
//!
//! The first waiter that finds no flush running becomes the flusher: it takes
//! the log lock only long enough to collect file handles and the end offset,
//! syncs *without* the log lock (so appends continue), then records the new
//! recovery point and wakes everyone whose offsets it covered.
//!
//! The naive version, [`Log::append_durable`], fsyncs inside every append; the
//! `log` bench measures both.

use std::fs::File;
use std::sync::Arc as StdArc;

use bytes::BytesMut;

use super::error::{LogError, Result};
use super::storage::Storage;
use super::{AppendInfo, Log};
use crate::sync::{lock, Condvar, Mutex};

/// A handle whose file can be made durable without the log's lock.
pub trait SyncHandle {
    fn sync_data(&self) -> std::io::Result<()>;
}

impl SyncHandle for StdArc<File> {
    fn sync_data(&self) -> std::io::Result<()> {
        File::sync_data(self)
    }
}

/// The files to sync for one group flush, and the offset they make durable.
pub struct FlushJob<H> {
    handles: Vec<H>,
    pub end_offset: i64,
    /// A failure the storage was told to report ([`Storage::take_sync_fault`]).
    fault: Option<std::io::Error>,
}

impl<H: SyncHandle> FlushJob<H> {
    pub fn run(self) -> std::io::Result<()> {
        self.handles.iter().try_for_each(SyncHandle::sync_data)?;
        self.fault.map_or(Ok(()), Err)
    }
}

impl<S: Storage> Log<S>
where
    S::Handle: SyncHandle,
{
    /// Collects what a flush to the current end must sync. An offline log
    /// refuses: nothing it holds can be made durable any more.
    pub fn begin_flush(&mut self) -> Result<FlushJob<S::Handle>> {
        self.check_online()?;
        let fault = self.storage_mut().take_sync_fault();
        let end_offset = self.log_end_offset();
        let mut handles = Vec::new();
        for segment in self.segments() {
            if segment.next_offset() > self.recovery_point() || segment.base_offset() >= self.recovery_point()
            {
                let base = segment.base_offset();
                for name in [
                    super::segment::log_file_name(base),
                    super::segment::index_file_name(base),
                    super::segment::time_index_file_name(base),
                ] {
                    handles.push(self.storage().handle(&name)?);
                }
                // Chapter 9: the aborted-transaction index, once it exists.
                let txn_index = super::txn_index::txn_index_file_name(base);
                if self.storage().exists(&txn_index) {
                    handles.push(self.storage().handle(&txn_index)?);
                }
            }
        }
        Ok(FlushJob { handles, end_offset, fault })
    }

    /// Records that a flush job finished: its end is the new recovery point.
    pub fn complete_flush(&mut self, end_offset: i64) {
        self.mark_flushed(end_offset);
    }

    /// Records that a flush job failed: the log goes offline, and the error is
    /// what the flusher answers.
    pub fn fail_flush(&mut self, e: std::io::Error) -> LogError {
        self.go_offline(LogError::Io(e))
    }
}

#[derive(Debug, Default)]
struct CommitState {
    flushing: bool,
    fsyncs: u64,
}

/// Shares fsyncs between concurrent durable appends to one log.
///
/// It keeps no watermark of its own: what is durable is the log's recovery
/// point, read under the log's lock. A copy kept here could outlive its log
/// (a topic deleted and re-created under the same name once inherited the old
/// log's watermark, and its first appends were acknowledged with no fsync), so
/// a `GroupCommit` belongs to one partition's log and is created and dropped
/// with it (`broker::Partition`).
#[derive(Debug, Default)]
pub struct GroupCommit {
    state: Mutex<CommitState>,
    flushed: Condvar,
}

impl GroupCommit {
    pub fn new() -> Self {
        Self::default()
    }

    // ANCHOR: group_commit
    /// Appends under the log lock, then waits until an fsync covers the append.
    pub fn append<S: Storage>(
        &self,
        log: &Mutex<Log<S>>,
        batches: BytesMut,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo>
    where
        S::Handle: SyncHandle,
    {
        let info = lock(log).append(batches, leader_epoch, now_ms)?;
        self.wait_durable(log, info.last_offset + 1)?;
        Ok(info)
    }

    /// Returns once the log's recovery point has reached `offset`, running the
    /// flush itself if nobody else is. A failed fsync takes the log offline
    /// ([`Log::is_durable`] then fails for every waiter not yet covered): after a writeback
    /// error the kernel may have dropped the pages, and a retried fsync that
    /// succeeds proves nothing.
    pub fn wait_durable<S: Storage>(&self, log: &Mutex<Log<S>>, offset: i64) -> Result<()>
    where
        S::Handle: SyncHandle,
    {
        let mut state = lock(&self.state);
        // Lock order: this state, then the log; the flusher below drops the state first.
        while !lock(log).is_durable(offset)? {
            if state.flushing {
                state = self.flushed.wait(state).expect("group commit lock poisoned");
                continue;
            }
            state.flushing = true;
            drop(state);
            // Bound on its own line: a guard temporary in the chained call below
            // would live to the end of the statement, holding the log lock through
            // the fsync and deadlocking on the second `lock(log)`.
            let job = lock(log).begin_flush();
            let result = job.and_then(|job| {
                let end_offset = job.end_offset;
                match job.run() {
                    // `run` is the slow part: the fsyncs, outside both locks.
                    Ok(()) => {
                        lock(log).complete_flush(end_offset);
                        Ok(())
                    }
                    Err(e) => Err(lock(log).fail_flush(e)),
                }
            });
            state = lock(&self.state);
            state.flushing = false;
            self.flushed.notify_all();
            result?;
            state.fsyncs += 1;
        }
        Ok(())
    }
    // ANCHOR_END: group_commit

    /// How many group flushes ran: appends divided by this is the sharing factor.
    pub fn fsyncs(&self) -> u64 {
        lock(&self.state).fsyncs
    }
}

#[cfg(all(test, not(spool_loom)))]
mod tests {
    use super::*;
    use crate::format::BatchBuilder;
    use crate::log::{DiskStorage, LogConfig, OpenOptions};
    use std::collections::BTreeSet;

    /// Durable appends from several threads each get their own offsets, and every
    /// acknowledgement is covered by a flush: when all threads are done, the
    /// recovery point has reached the log end and no fsync ran without an append.
    #[test]
    fn concurrent_durable_appends_are_all_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let storage = DiskStorage::open(dir.path().join("t-0")).unwrap();
        let (log, _) = Log::open(storage, LogConfig::default(), OpenOptions::default(), 0).unwrap();
        let log = Mutex::new(log);
        let commit = GroupCommit::new();
        let (threads, per_thread) = (4, 25);
        let offsets: Vec<i64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (log, commit) = (&log, &commit);
                    s.spawn(move || {
                        (0..per_thread)
                            .map(|i| {
                                let mut b = BatchBuilder::default();
                                b.append(i, None, Some(format!("{t}-{i}").as_bytes()), &[]);
                                let bytes = BytesMut::from(&b.build().as_bytes()[..]);
                                let info = commit.append(log, bytes, 0, 0).unwrap();
                                assert!(
                                    lock(log).recovery_point() > info.last_offset,
                                    "acked before durable"
                                );
                                info.first_offset
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let unique: BTreeSet<i64> = offsets.iter().copied().collect();
        assert_eq!(unique, (0..threads * per_thread).collect());
        let log = log.into_inner().unwrap();
        assert_eq!(log.recovery_point(), log.log_end_offset());
        assert!((1..=threads * per_thread).contains(&(commit.fsyncs() as i64)));
    }

    /// A failed fsync takes the log offline, as Kafka's `LogDirFailureChannel`
    /// takes its directory: the append whose flush failed gets the error, a
    /// waiter for it too, and a later durable append is refused rather than
    /// acknowledged, although the disk's next fsync would succeed (after a
    /// writeback error a successful retry proves nothing: "fsyncgate").
    #[test]
    fn a_failed_fsync_takes_the_log_offline() {
        let dir = tempfile::tempdir().unwrap();
        let storage = DiskStorage::open(dir.path().join("t-0")).unwrap();
        let (log, _) = Log::open(storage, LogConfig::default(), OpenOptions::default(), 0).unwrap();
        let log = Mutex::new(log);
        let commit = GroupCommit::new();
        let batch = |value: &str| {
            let mut b = BatchBuilder::default();
            b.append(0, None, Some(value.as_bytes()), &[]);
            BytesMut::from(&b.build().as_bytes()[..])
        };
        commit.append(&log, batch("durable"), 0, 0).unwrap();
        lock(&log).storage_mut().fail_next_syncs(1);
        let failed = commit.append(&log, batch("lost"), 0, 0);
        assert!(matches!(failed, Err(LogError::Io(_))), "{failed:?}");
        let waiter = commit.wait_durable(&log, 2);
        assert!(matches!(waiter, Err(LogError::LogDirOffline(_))), "{waiter:?}");
        let later = commit.append(&log, batch("after"), 0, 0);
        assert!(
            matches!(later, Err(LogError::LogDirOffline(_))),
            "acknowledged after a failed fsync: {later:?}"
        );
        let log = log.into_inner().unwrap();
        assert_eq!(
            (log.recovery_point(), log.log_end_offset()),
            (1, 2),
            "nothing appended after the failure"
        );
    }
}
