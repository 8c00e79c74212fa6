//! A windowed rate, measured the way Kafka's `Rate` over a `SampledStat`
//! measures it, fed with `(amount, now_ms)` and never reading a clock.
//!
//! ```text
//!  samples (quota.window.num + 1 of them, a ring; each quota.window.size.seconds long)
//!   ┌──────┬──────┬──────┬─ … ─┬──────┐
//!   │ 4 KB │ 0 KB │ 9 KB │     │ 2 KB │ ◀─ current: records add here until it is a window old
//!   └──────┴──────┴──────┴─ … ─┴──────┘
//!  rate = sum of the samples / (now − start of the oldest sample)
//!         where a sample untouched for num × size is reset first, and a history
//!         shorter than num − 1 windows counts as num − 1 windows (so a first
//!         burst is not read as an enormous rate)
//! ```
//!
//! The throttle time is Kafka's too (`QuotaUtils.throttleTime`): how long the
//! client must stay silent for the same bytes, spread over a window that long,
//! to be back at the quota — `(rate − quota) / quota × window`.

/// `quota.window.num` and `quota.window.size.seconds` (Kafka's defaults: 11
/// windows of 1 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    pub num: usize,
    pub size_ms: i64,
}

impl Default for QuotaWindow {
    fn default() -> Self {
        QuotaWindow { num: 11, size_ms: 1_000 }
    }
}

/// One window's worth of recorded amounts.
#[derive(Debug, Clone, Copy)]
struct Sample {
    start_ms: i64,
    last_event_ms: i64,
    value: f64,
}

impl Sample {
    fn new(now_ms: i64) -> Self {
        Sample { start_ms: now_ms, last_event_ms: now_ms, value: 0.0 }
    }
}

// ANCHOR: rate
/// A rate in units per second over the last [`QuotaWindow`]s.
#[derive(Debug, Clone, Default)]
pub struct Rate {
    samples: Vec<Sample>,
    current: usize,
}

impl Rate {
    /// Adds `amount` at `now_ms`, starting a new sample when the current one
    /// is a window old.
    pub fn record(&mut self, window: &QuotaWindow, amount: f64, now_ms: i64) {
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now_ms));
        }
        if now_ms - self.samples[self.current].start_ms >= window.size_ms {
            self.current = (self.current + 1) % (window.num + 1);
            match self.samples.get_mut(self.current) {
                Some(sample) => *sample = Sample::new(now_ms),
                None => self.samples.push(Sample::new(now_ms)),
            }
        }
        let sample = &mut self.samples[self.current];
        sample.value += amount;
        sample.last_event_ms = now_ms;
    }

    /// The rate at `now_ms`, per second.
    pub fn measure(&mut self, window: &QuotaWindow, now_ms: i64) -> f64 {
        let window_ms = self.window_ms(window, now_ms);
        let total: f64 = self.samples.iter().map(|s| s.value).sum();
        total * 1_000.0 / window_ms as f64
    }

    /// The time the rate is taken over: from the oldest sample's start, but
    /// at least `num − 1` whole windows.
    pub fn window_ms(&mut self, window: &QuotaWindow, now_ms: i64) -> i64 {
        self.purge_obsolete(window, now_ms);
        let oldest = self.samples.iter().map(|s| s.start_ms).min().unwrap_or(now_ms);
        let mut elapsed_ms = now_ms - oldest;
        let full_windows = elapsed_ms / window.size_ms;
        let min_full_windows = window.num as i64 - 1;
        if full_windows < min_full_windows {
            elapsed_ms += (min_full_windows - full_windows) * window.size_ms;
        }
        elapsed_ms.max(1)
    }

    /// Samples nothing was recorded in for the whole span are emptied.
    fn purge_obsolete(&mut self, window: &QuotaWindow, now_ms: i64) {
        let expire_ms = window.num as i64 * window.size_ms;
        for sample in &mut self.samples {
            if now_ms - sample.last_event_ms >= expire_ms {
                *sample = Sample::new(now_ms);
            }
        }
    }

    /// Records `amount`, then checks the rate against `quota` (per second):
    /// the throttle time in ms that brings it back, 0 when it is within.
    pub fn record_and_throttle_ms(
        &mut self,
        window: &QuotaWindow,
        amount: f64,
        quota: f64,
        now_ms: i64,
    ) -> i64 {
        assert!(quota > 0.0, "a quota is positive (the controller refuses others)");
        self.record(window, amount, now_ms);
        let rate = self.measure(window, now_ms);
        if rate <= quota {
            return 0;
        }
        let window_ms = self.window_ms(window, now_ms) as f64;
        ((rate - quota) / quota * window_ms).round() as i64
    }
}
// ANCHOR_END: rate

#[cfg(test)]
mod tests;
