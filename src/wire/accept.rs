//! Backing off when `accept` fails.
//!
//! Out of file descriptors (`EMFILE`, or `ENFILE` for the whole system),
//! `accept` fails at once, and keeps failing for as long as the connection
//! waits in the listen backlog: a loop that logs and retries spins a core and
//! once wrote 3.5 million WARN lines (385 MB) in five seconds. Kafka's acceptor
//! pauses after such a failure; spool does too, and rate-limits the log line:
//!
//! ```text
//!  failure   1    2    3    4     5     6     7     8     9 …  success
//!  at ms     0   10   30   70   150   310   630  1270  2270
//!  pause    10   20   40   80   160   320   640  1000  1000    next pause 10 ms
//!  logged   yes  ── not logged, counted ─────────  yes   yes
//!                                        (suppressed=6)
//! ```
//!
//! The pause ends early for nothing but shutdown; connections already open are
//! served throughout, and closing some of them is what frees descriptors.
//! The policy is a plain state machine fed the time, so its test needs no clock.

use std::time::{Duration, Instant};

/// The first pause after a failed `accept`.
pub const PAUSE_MIN: Duration = Duration::from_millis(10);
/// The longest pause: a broker that gets its descriptors back serves again
/// within a second.
pub const PAUSE_MAX: Duration = Duration::from_secs(1);
/// At most one log line per interval while `accept` keeps failing.
pub const LOG_INTERVAL: Duration = Duration::from_secs(1);

// ANCHOR: backoff
/// When to try `accept` again, and when to say so.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    /// The pause after the next failure; `None` after a success.
    next_pause: Option<Duration>,
    /// When a failure was last logged.
    logged_at: Option<Instant>,
    /// Failures since then that were not logged.
    suppressed: u64,
}

/// What to do after one failed `accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptFailure {
    /// How long to wait before accepting again.
    pub pause: Duration,
    /// `Some(n)`: log this failure, with the `n` not logged since the last line.
    pub log: Option<u64>,
}

impl AcceptBackoff {
    /// Records a failure at `now`: the pause doubles, from [`PAUSE_MIN`] up to
    /// [`PAUSE_MAX`]; the failure is logged if none was in the last [`LOG_INTERVAL`].
    pub fn failed(&mut self, now: Instant) -> AcceptFailure {
        let pause = self.next_pause.unwrap_or(PAUSE_MIN);
        self.next_pause = Some((pause * 2).min(PAUSE_MAX));
        let due = self.logged_at.is_none_or(|at| now.saturating_duration_since(at) >= LOG_INTERVAL);
        if !due {
            self.suppressed += 1;
            return AcceptFailure { pause, log: None };
        }
        self.logged_at = Some(now);
        AcceptFailure { pause, log: Some(std::mem::take(&mut self.suppressed)) }
    }

    /// A connection was accepted: the next failure pauses briefly again. (The
    /// log's rate limit stays: descriptors that come and go must not flood it.)
    pub fn succeeded(&mut self) {
        self.next_pause = None;
    }
}
// ANCHOR_END: backoff

#[cfg(test)]
mod tests {
    use super::*;

    /// Failures one after another pause 10, 20, 40 … ms up to a second, and
    /// only the first of each second is logged, carrying the count of the rest;
    /// a success starts the pauses over.
    #[test]
    fn pauses_double_and_log_lines_are_counted() {
        let start = Instant::now();
        let mut backoff = AcceptBackoff::default();
        let mut now = start;
        let mut pauses = Vec::new();
        let mut logs = Vec::new();
        for _ in 0..10 {
            let failure = backoff.failed(now);
            pauses.push(failure.pause.as_millis());
            logs.extend(failure.log);
            now += failure.pause;
        }
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        // Logged at 0 ms, then at 1270 ms (6 suppressed), 2270 and 3270.
        assert_eq!(logs, [0, 6, 0, 0]);
        backoff.succeeded();
        assert_eq!(backoff.failed(now).pause, PAUSE_MIN);
    }

    /// A failure right after a logged one, even after a success, is counted,
    /// not logged: flapping descriptors cannot flood the log either.
    #[test]
    fn a_success_does_not_reset_the_log_rate() {
        let now = Instant::now();
        let mut backoff = AcceptBackoff::default();
        assert_eq!(backoff.failed(now).log, Some(0));
        backoff.succeeded();
        assert_eq!(backoff.failed(now + Duration::from_millis(5)).log, None);
        assert_eq!(backoff.failed(now + LOG_INTERVAL).log, Some(1));
    }
}
