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
//! Every storage error a client is answered with is also logged at WARN, with
//! its partition and cause, at most once per partition every ten seconds
//! ([`super::rate_limit`]), so a dying disk neither goes unseen nor floods the
//! broker's own log.
//!
//! Simplifications: only writes (append, roll, fsync, retention's deletes)
//! take the directory offline; a failed read (a fetch that cannot open a
//! segment, say with `EMFILE`) answers `KAFKA_STORAGE_ERROR` for that request
//! only, since a read cannot make the broker acknowledge lost data. Kafka is
//! stricter and takes the directory offline for those too.

use std::fmt::Display;
use std::sync::{Mutex, OnceLock};

use super::rate_limit::RateLimiter;
use super::Error;
use crate::log::LogError;

/// At most one WARN line per partition this often, for the storage errors
/// clients are answered (each line counts the ones held back).
pub const STORAGE_WARNING_INTERVAL_MS: i64 = 10_000;

/// The one log directory: online, or offline with the first failure's cause.
#[derive(Debug)]
pub struct LogDir {
    offline: OnceLock<String>,
    /// Per partition: when its last storage warning was logged.
    warnings: Mutex<RateLimiter<String>>,
}

impl Default for LogDir {
    fn default() -> Self {
        LogDir {
            offline: OnceLock::new(),
            warnings: Mutex::new(RateLimiter::new(STORAGE_WARNING_INTERVAL_MS)),
        }
    }
}

impl LogDir {
    /// [`Error::LogDirOffline`] once the directory is offline: the caller
    /// answers `KAFKA_STORAGE_ERROR` and touches no partition log.
    pub fn check(&self) -> Result<(), Error> {
        match self.offline.get() {
            Some(cause) => Err(Error::LogDirOffline(cause.clone())),
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
    pub fn fail(&self, what: &dyn Display, e: &LogError) {
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
        } else {
            self.warn(what, "write", e);
        }
    }

    /// Logs, at WARN, a storage error a client is being answered with
    /// (`KAFKA_STORAGE_ERROR`): the partition, the request and the cause, at
    /// most once per partition every [`STORAGE_WARNING_INTERVAL_MS`], with
    /// the number of lines held back since the last.
    pub fn warn(&self, partition: &dyn Display, request: &str, cause: &dyn Display) {
        let key = partition.to_string();
        // Recovered if poisoned (the broker's rule): a limiter only decides what is logged.
        let admitted = {
            let mut warnings = self.warnings.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            warnings.admit(&key, super::now_ms())
        };
        if let Some(suppressed) = admitted {
            tracing::warn!(
                partition = %key,
                request,
                error = %cause,
                suppressed,
                "storage error answered with KAFKA_STORAGE_ERROR"
            );
        }
    }
}
