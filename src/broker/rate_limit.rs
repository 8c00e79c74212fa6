//! A log-line rate limiter: at most one line per key per interval, and a
//! count of the lines it held back, reported with the next one.
//!
//! A failing disk fails every request that touches it, thousands a second:
//! one line per failure would bury the cause and fill the disk the broker
//! logs to. One line per partition per interval keeps each partition visible
//! and the volume bounded. The limiter has no clock: the caller passes
//! `now_ms`, so a test drives time by hand.

use std::collections::BTreeMap;

/// The most keys remembered; past it, keys idle for a whole interval are
/// forgotten (a forgotten key's next line is simply admitted).
const KEYS_MAX: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    last_ms: i64,
    suppressed: u64,
}

/// Admits one line per key per `interval_ms`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    interval_ms: i64,
    keys: BTreeMap<K, Window>,
}

impl<K: Ord + Clone> RateLimiter<K> {
    pub fn new(interval_ms: i64) -> Self {
        RateLimiter { interval_ms, keys: BTreeMap::new() }
    }

    /// `Some(suppressed)` if a line for `key` may be written at `now_ms`:
    /// how many were held back since the last one. `None`: hold this one back.
    pub fn admit(&mut self, key: &K, now_ms: i64) -> Option<u64> {
        if let Some(window) = self.keys.get_mut(key) {
            if now_ms.saturating_sub(window.last_ms) < self.interval_ms {
                window.suppressed += 1;
                return None;
            }
            let suppressed = window.suppressed;
            *window = Window { last_ms: now_ms, suppressed: 0 };
            return Some(suppressed);
        }
        if self.keys.len() >= KEYS_MAX {
            let interval_ms = self.interval_ms;
            self.keys.retain(|_, w| now_ms.saturating_sub(w.last_ms) < interval_ms);
        }
        self.keys.insert(key.clone(), Window { last_ms: now_ms, suppressed: 0 });
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per key per interval: the first is admitted, the rest of the
    /// interval is held back and counted, and the first line after it reports
    /// the count; another key has its own window.
    #[test]
    fn one_line_per_key_per_interval_with_a_count() {
        let mut limiter = RateLimiter::new(10_000);
        assert_eq!(limiter.admit(&"t-0", 1_000), Some(0));
        assert_eq!(limiter.admit(&"t-0", 1_001), None);
        assert_eq!(limiter.admit(&"t-0", 10_999), None);
        assert_eq!(limiter.admit(&"t-1", 5_000), Some(0), "another partition is not held back");
        assert_eq!(limiter.admit(&"t-0", 11_000), Some(2), "two held back since the last line");
        assert_eq!(limiter.admit(&"t-0", 11_001), None);
        assert_eq!(limiter.admit(&"t-0", 30_000), Some(1));
    }

    /// The limiter remembers at most `KEYS_MAX` keys: idle ones are forgotten.
    #[test]
    fn idle_keys_are_forgotten_past_the_limit() {
        let mut limiter = RateLimiter::new(10);
        for k in 0..KEYS_MAX {
            limiter.admit(&k, 0);
        }
        assert_eq!(limiter.admit(&KEYS_MAX, 100), Some(0));
        assert_eq!(limiter.keys.len(), 1, "every idle key was forgotten");
    }
}
