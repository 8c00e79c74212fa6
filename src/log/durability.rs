//! Durability: appends land in the page cache, and a flush makes them
//! durable. The **recovery point** is the offset below which everything is
//! flushed; a restart rescans only what lies above it.
//!
//! ```text
//!   log start            recovery point                log end
//!      │ flushed: trusted at restart │ page cache only: rescanned │
//!      ▼                             ▼                            ▼
//! ```
//!
//! A log is flushed by policy — `log.flush.interval.messages` at each
//! append, `log.flush.interval.ms` by [`Log::maybe_flush`] on the broker's
//! tick — or before the acknowledgement in durable mode, one `fsync` per
//! append ([`Log::append_durable`]) or one per group of appends
//! ([`super::GroupCommit`]). A failed `fsync` takes the log offline for good
//! ([`Log::go_offline`]): nothing not yet durable can be acknowledged as
//! durable again.

use bytes::BytesMut;

use super::{AppendInfo, Log, LogError, Result, Storage};

impl<S: Storage> Log<S> {
    // ANCHOR: append_durable
    /// Appends and flushes before returning: one `fsync` per append, the plain
    /// durable mode that [`super::GroupCommit`] improves on. Kept for the `log` bench.
    pub fn append_durable(
        &mut self,
        batches: BytesMut,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo> {
        let info = self.append(batches, leader_epoch, now_ms)?;
        self.flush()?;
        Ok(info)
    }
    // ANCHOR_END: append_durable

    // ANCHOR: flush
    /// Makes everything appended so far durable and moves the recovery point to
    /// the log end. Only segments with data past the recovery point are synced.
    pub fn flush(&mut self) -> Result<()> {
        self.check_online()?;
        let end = self.log_end_offset();
        if self.recovery_point >= end {
            return Ok(());
        }
        let recovery_point = self.recovery_point;
        for segment in self.segments.values() {
            if segment.next_offset() > recovery_point
                || segment.size() > 0 && segment.base_offset() >= recovery_point
            {
                if let Err(e) = segment.flush(&mut self.storage) {
                    return Err(self.go_offline(e));
                }
            }
        }
        self.recovery_point = end;
        self.unflushed_records = 0;
        Ok(())
    }
    // ANCHOR_END: flush

    /// [`LogError::LogDirOffline`] once an fsync has failed.
    pub fn check_online(&self) -> Result<()> {
        match &self.offline {
            Some(cause) => Err(LogError::LogDirOffline(cause.clone())),
            None => Ok(()),
        }
    }

    /// Whether everything below `offset` is durable (the recovery point has
    /// reached it): what a durable acknowledgement waits for. Offsets not yet
    /// durable never will be once the log is offline, hence the error.
    pub fn is_durable(&self, offset: i64) -> Result<bool> {
        if self.recovery_point >= offset {
            return Ok(true);
        }
        self.check_online().map(|()| false)
    }

    /// Takes the log offline after a failed fsync, as Kafka's
    /// `LogDirFailureChannel` does: once the kernel has reported a writeback
    /// error it may have dropped the dirty pages, and a later fsync that
    /// succeeds says nothing about them (PostgreSQL's "fsyncgate"). Nothing
    /// appended so far or later can be acknowledged as durable. Returns `e`.
    pub fn go_offline(&mut self, e: LogError) -> LogError {
        if self.offline.is_none() {
            self.offline = Some(e.to_string());
        }
        e
    }

    /// Why the log is offline, if it is.
    pub fn offline_cause(&self) -> Option<&str> {
        self.offline.as_deref()
    }

    /// Records that everything below `offset` is durable (a group flush finished).
    pub(super) fn mark_flushed(&mut self, offset: i64) {
        if offset > self.recovery_point {
            self.recovery_point = offset.min(self.log_end_offset());
            if self.recovery_point == self.log_end_offset() {
                self.unflushed_records = 0;
            }
        }
    }

    /// Flushes if `log.flush.interval.ms` has passed since the last flush.
    pub fn maybe_flush(&mut self, now_ms: i64) -> Result<()> {
        if self.unflushed_records > 0
            && now_ms.saturating_sub(self.last_flush_ms) >= self.config.flush_interval_ms
        {
            self.flush()?;
            self.last_flush_ms = now_ms;
        }
        Ok(())
    }
}
