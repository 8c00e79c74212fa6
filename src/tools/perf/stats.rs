//! What `kafka-producer-perf-test.sh` counts and how it prints it: every
//! record's latency (send to acknowledgement), a window line every reporting
//! interval, and a total line with percentiles at the end.

use std::time::Duration;

/// At most this many latencies are kept for the percentiles; beyond it every
/// n-th record is sampled, as Kafka's `Stats` does (it keeps 500,000).
pub const MAX_SAMPLES: u64 = 500_000;

/// Counts for one window or for the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    pub records: u64,
    pub bytes: u64,
    pub latency_total_ms: f64,
    pub latency_max_ms: f64,
}

impl Window {
    fn record(&mut self, latency_ms: f64, bytes: u64) {
        self.records += 1;
        self.bytes += bytes;
        self.latency_total_ms += latency_ms;
        self.latency_max_ms = self.latency_max_ms.max(latency_ms);
    }

    /// Kafka's window line: `N records sent, X records/sec (Y MB/sec), A ms avg
    /// latency, M ms max latency.`
    pub fn line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        format!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            self.records,
            self.records as f64 / secs,
            self.bytes as f64 / 1024.0 / 1024.0 / secs,
            self.avg_latency_ms(),
            self.latency_max_ms,
        )
    }

    pub fn avg_latency_ms(&self) -> f64 {
        if self.records == 0 {
            0.0
        } else {
            self.latency_total_ms / self.records as f64
        }
    }
}

/// The whole run's statistics.
#[derive(Debug, Clone)]
pub struct ProducerStats {
    pub total: Window,
    pub window: Window,
    sampling: u64,
    samples: Vec<f64>,
}

impl ProducerStats {
    /// For a run of `num_records` records.
    pub fn new(num_records: u64) -> Self {
        let sampling = (num_records / MAX_SAMPLES.min(num_records.max(1))).max(1);
        ProducerStats { total: Window::default(), window: Window::default(), sampling, samples: Vec::new() }
    }

    /// One acknowledged record: its latency and its size.
    pub fn record(&mut self, latency: Duration, bytes: u64) {
        let latency_ms = latency.as_secs_f64() * 1000.0;
        if self.total.records % self.sampling == 0 {
            self.samples.push(latency_ms);
        }
        self.total.record(latency_ms, bytes);
        self.window.record(latency_ms, bytes);
    }

    /// The window line for the last `elapsed`, and a fresh window.
    pub fn take_window(&mut self, elapsed: Duration) -> String {
        let line = self.window.line(elapsed);
        self.window = Window::default();
        line
    }

    /// The final line, with the 50th, 95th, 99th and 99.9th percentiles.
    pub fn total_line(&mut self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        self.samples.sort_by(f64::total_cmp);
        let [p50, p95, p99, p999] = [0.5, 0.95, 0.99, 0.999].map(|q| percentile(&self.samples, q));
        format!(
            "{} records sent, {:.6} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, \
             {p50} ms 50th, {p95} ms 95th, {p99} ms 99th, {p999} ms 99.9th.",
            self.total.records,
            self.total.records as f64 / secs,
            self.total.bytes as f64 / 1024.0 / 1024.0 / secs,
            self.total.avg_latency_ms(),
            self.total.latency_max_ms,
        )
    }
}

/// The `q` quantile of sorted latencies, in whole milliseconds as Kafka prints
/// them (`(int) latencies[(int) (q * length)]`).
pub fn percentile(sorted: &[f64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((q * sorted.len() as f64) as usize).min(sorted.len() - 1);
    sorted[index] as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines read like Kafka's, numbers included, on a run whose answers
    /// are known: 1,000 records of 1 KiB over 2 s, latencies 1..=1000 ms.
    #[test]
    fn lines_match_kafkas_format() {
        let mut stats = ProducerStats::new(1000);
        for i in 1..=1000u64 {
            stats.record(Duration::from_millis(i), 1024);
        }
        assert_eq!(
            stats.take_window(Duration::from_secs(2)),
            "1000 records sent, 500.0 records/sec (0.49 MB/sec), 500.5 ms avg latency, 1000.0 ms max latency."
        );
        assert_eq!(stats.window, Window::default(), "a fresh window");
        assert_eq!(
            stats.total_line(Duration::from_secs(2)),
            "1000 records sent, 500.000000 records/sec (0.49 MB/sec), 500.50 ms avg latency, 1000.00 ms max \
             latency, 501 ms 50th, 951 ms 95th, 991 ms 99th, 1000 ms 99.9th."
        );
    }

    /// Past `MAX_SAMPLES` records, every n-th latency is kept, so memory stays
    /// bounded and the percentiles still come from the whole run.
    #[test]
    fn sampling_bounds_the_latencies_kept() {
        let mut stats = ProducerStats::new(2 * MAX_SAMPLES);
        for i in 0..2 * MAX_SAMPLES {
            stats.record(Duration::from_micros(i), 1);
        }
        assert_eq!(stats.samples.len() as u64, MAX_SAMPLES);
        assert_eq!(stats.total.records, 2 * MAX_SAMPLES);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
