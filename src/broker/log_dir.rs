//! The log directory's health: what the broker does when the disk fails.
//!
//! Kafka funnels every `IOException` on a log directory into its
//! `LogDirFailureChannel`: the directory is marked offline, every partition
//! in it answers `KAFKA_STORAGE_ERROR` (code 56) to produce and fetch from then
//! on, nothing more is acknowledged from it, and the broker logs the failure
//! once, at ERROR, with its cause. A broker whose last directory goes offline
//! shuts down.
//!
//! ```text
//!  append / fsync / roll fails ──▶ LogDir::fail ──▶ offline (once, ERROR)
//!                                                     │
//!  Produce, Fetch, ListOffsets, OffsetCommit ──check──┘──▶ KAFKA_STORAGE_ERROR
//!  Metadata, ApiVersions, FindCoordinator       (no partition log: still served)
//! ```
//!
//! spool has one log directory, so "offline" is the broker's whole storage.
//! spool stays up and serves errors rather than exiting: the clients keep a
//! broker that tells them what is wrong (`KAFKA_STORAGE_ERROR` on every
//! partition, which they retry and report) instead of a refused connection,
//! and an operator sees the ERROR line and restarts it, which recovers the
//! logs from what is on disk. Either way nothing further is acknowledged.
//!
//! Simplifications: only writes (append, roll, fsync, retention's deletes)
//! take the directory offline; a failed read (a fetch that cannot open a
//! segment, say with `EMFILE`) answers `KAFKA_STORAGE_ERROR` for that request
//! only, since a read cannot make the broker acknowledge lost data. Kafka is
//! stricter and takes the directory offline for those too.

use std::sync::OnceLock;

use crate::log::LogError;

/// The one log directory: online, or offline with the first failure's cause.
#[derive(Debug, Default)]
pub struct LogDir {
    offline: OnceLock<String>,
}

impl LogDir {
    /// `Err(cause)` once the directory is offline: the caller answers
    /// `KAFKA_STORAGE_ERROR` and touches no partition log.
    pub fn check(&self) -> Result<(), String> {
        match self.offline.get() {
            Some(cause) => Err(format!("log directory offline: {cause}")),
            None => Ok(()),
        }
    }

    pub fn is_offline(&self) -> bool {
        self.offline.get().is_some()
    }

    /// Reports a failed write to a log in the directory (`what` names it: a
    /// topic-partition, or the metadata log). An I/O error, or a log that an
    /// earlier failed fsync took offline, takes the directory offline; the
    /// first one is logged at ERROR with its cause. Other errors (a bad batch,
    /// a sequence error) are the client's and change nothing here.
    pub fn fail(&self, what: &dyn std::fmt::Display, e: &LogError) {
        if !matches!(e, LogError::Io(_) | LogError::LogDirOffline(_)) {
            return;
        }
        let mut first = false;
        self.offline.get_or_init(|| {
            first = true;
            format!("{what}: {e}")
        });
        if first {
            tracing::error!(
                partition = %what,
                error = %e,
                "log directory offline: nothing more will be acknowledged; restart the broker to recover it"
            );
        }
    }
}
