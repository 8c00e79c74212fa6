//! The cleaner's I/O throttle: `log.cleaner.io.max.bytes.per.second`.
//!
//! Compaction reads whole segments and writes them again; on a busy broker it
//! competes with producers and fetches for the disk. Kafka caps the cleaner
//! threads' combined rate with one `Throttler`: each thread reports the bytes
//! it read or wrote, and every `checkIntervalMs` (300 ms for the cleaner) the
//! throttler compares the rate since the last check with the desired one and,
//! if the cleaners ran ahead, makes the reporting thread sleep long enough to
//! bring the period's average back down to it.
//!
//! ```text
//!  bytes ─▶ maybe_throttle(bytes, now_ns) ─▶ Duration to sleep (zero: carry on)
//!
//!  period: ├──── elapsed ────┤ observed bytes
//!          sleep = observed / rate − elapsed   (when observed / elapsed > rate)
//! ```
//!
//! Here it is a pure struct, as the cleaner's other cores are: the clock is an
//! argument and the answer is how long to sleep, so a test drives it with
//! numbers and the cleaner thread (which the lead wires) does the sleeping.
//! Shared by several threads, it goes behind a mutex, as Kafka's is.
//!
//! Simplifications: Kafka's throttler also feeds a metrics meter
//! (`kafka.utils:type=Throttler,name=cleaner-io`); spool has none. Kafka reads
//! the clock again after sleeping to start the next period; spool starts it
//! where the sleep it asked for ends, the same instant for a caller that
//! sleeps as told.

use std::time::Duration;

/// Kafka's `LogCleaner` checks its rate every 300 ms.
pub const CLEANER_CHECK_INTERVAL_MS: u64 = 300;

const NS_PER_SEC: f64 = 1e9;
const NS_PER_MS: i64 = 1_000_000;

/// A rate limit on bytes per second, checked every `check_interval_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct Throttler {
    /// The rate to hold to; `f64::MAX` (Kafka's default) never sleeps.
    bytes_per_second_max: f64,
    check_interval_ns: i64,
    /// When the current measuring period began.
    period_start_ns: i64,
    /// Bytes reported since then.
    observed_bytes: f64,
}

impl Throttler {
    /// A throttler to `bytes_per_second_max`, whose first period starts at `now_ns`.
    pub fn new(bytes_per_second_max: f64, check_interval_ms: u64, now_ns: i64) -> Self {
        assert!(bytes_per_second_max > 0.0, "a rate of zero would sleep forever");
        let check_interval_ns = i64::try_from(check_interval_ms).unwrap_or(i64::MAX / NS_PER_MS) * NS_PER_MS;
        Throttler { bytes_per_second_max, check_interval_ns, period_start_ns: now_ns, observed_bytes: 0.0 }
    }

    // ANCHOR: maybe_throttle
    /// Reports `bytes` read or written at `now_ns`; answers how long the
    /// caller must sleep before its next I/O (zero: none). Only once a check
    /// interval has passed with bytes observed is the rate measured; then the
    /// period starts again, at the end of the sleep.
    pub fn maybe_throttle(&mut self, bytes: u64, now_ns: i64) -> Duration {
        self.observed_bytes += bytes as f64;
        let elapsed_ns = now_ns.saturating_sub(self.period_start_ns);
        if elapsed_ns <= self.check_interval_ns || self.observed_bytes <= 0.0 {
            return Duration::ZERO;
        }
        let rate = self.observed_bytes * NS_PER_SEC / elapsed_ns as f64;
        let mut sleep_ms = 0;
        if rate > self.bytes_per_second_max {
            // The time these bytes should have taken, minus the time they did.
            let bytes_per_ms_max = self.bytes_per_second_max / 1000.0;
            let elapsed_ms = elapsed_ns / NS_PER_MS;
            sleep_ms = (self.observed_bytes / bytes_per_ms_max - elapsed_ms as f64).round().max(0.0) as u64;
        }
        let sleep = Duration::from_millis(sleep_ms);
        self.period_start_ns = now_ns.saturating_add(i64::try_from(sleep.as_nanos()).unwrap_or(i64::MAX));
        self.observed_bytes = 0.0;
        sleep
    }
    // ANCHOR_END: maybe_throttle
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    /// Cleaners slower than the limit never sleep, and each check starts a
    /// new period (what was counted before does not carry over).
    #[test]
    fn under_the_rate_no_sleep() {
        let mut throttler = Throttler::new(1_000_000.0, 300, 0);
        assert_eq!(throttler.maybe_throttle(100_000, 400 * MS), Duration::ZERO);
        assert_eq!(throttler.observed_bytes, 0.0, "a check starts a new period");
        assert_eq!(throttler.maybe_throttle(200_000, 800 * MS), Duration::ZERO);
    }

    /// 1 MB in 500 ms against 1 MB/s: the bytes should have taken 1000 ms,
    /// so the caller sleeps the missing 500 ms (Kafka's
    /// `observedSoFar / desiredRateMs − elapsedMs`), and the next period
    /// begins where that sleep ends.
    #[test]
    fn over_the_rate_sleeps_the_difference() {
        let mut throttler = Throttler::new(1_000_000.0, 300, 0);
        assert_eq!(throttler.maybe_throttle(1_000_000, 500 * MS), Duration::from_millis(500));
        assert_eq!(throttler.period_start_ns, 1_000 * MS);
        // 400 kB in the 400 ms after the sleep: exactly the rate, no sleep.
        assert_eq!(throttler.maybe_throttle(400_000, 1_400 * MS), Duration::ZERO);
    }

    /// Within a check interval nothing is measured, however fast: the bytes
    /// accumulate and count at the first check after it.
    #[test]
    fn bytes_within_an_interval_count_at_the_next_check() {
        let mut throttler = Throttler::new(1_000_000.0, 300, 0);
        assert_eq!(throttler.maybe_throttle(600_000, 100 * MS), Duration::ZERO);
        assert_eq!(throttler.maybe_throttle(600_000, 300 * MS), Duration::ZERO, "not past the interval yet");
        // 1.2 MB in 400 ms at 1 MB/s: 1200 − 400 = 800 ms.
        assert_eq!(throttler.maybe_throttle(0, 400 * MS), Duration::from_millis(800));
    }

    /// Kafka's default, `Double.MAX_VALUE`, is no limit at all.
    #[test]
    fn the_default_rate_never_sleeps() {
        let mut throttler = Throttler::new(f64::MAX, CLEANER_CHECK_INTERVAL_MS, 0);
        for step in 1..10 {
            assert_eq!(throttler.maybe_throttle(u64::MAX / 16, step * 1_000 * MS), Duration::ZERO);
        }
    }

    /// A clock that goes backwards (or a report at the period's start) is no
    /// elapsed time: no division by zero, no sleep, nothing lost.
    #[test]
    fn no_elapsed_time_is_not_a_measurement() {
        let mut throttler = Throttler::new(1_000.0, 300, 5_000 * MS);
        assert_eq!(throttler.maybe_throttle(10_000, 4_000 * MS), Duration::ZERO);
        assert_eq!(throttler.maybe_throttle(0, 5_000 * MS), Duration::ZERO);
        assert_eq!(throttler.observed_bytes, 10_000.0);
    }
}
