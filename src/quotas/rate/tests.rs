//! The meter's two promises, as properties over simulated time (KIP-13's
//! quotas, KIP-219's throttle time): a client under its quota is never
//! throttled, and a client over it that waits out each throttle time ends up
//! at its quota.

use proptest::prelude::*;

use super::*;

/// A client sending `bytes` every `interval_ms`, at most 80% of the quota
/// (a record's own size, spread over the ten-window minimum, stays under the
/// other 20%), is never throttled in two simulated minutes.
#[test]
fn a_steady_rate_under_the_quota_is_never_throttled() {
    proptest!(|(quota in 1_000u32..10_000_000, share in 0.01f64..0.8, interval_ms in 1i64..2_000)| {
        let window = QuotaWindow::default();
        let quota = f64::from(quota);
        let bytes = (quota * share * interval_ms as f64 / 1_000.0).min(quota);
        let mut rate = Rate::default();
        let mut now_ms = 1_000_000;
        while now_ms < 1_120_000 {
            let throttle_ms = rate.record_and_throttle_ms(&window, bytes, quota, now_ms);
            prop_assert_eq!(throttle_ms, 0, "throttled at {} ms", now_ms);
            now_ms += interval_ms;
        }
    });
}

/// A client that wants more than its quota and, as a Kafka client does,
/// stays silent for each throttle time it is given, moves its bytes at the
/// quota within ±10% over a minute (after its first ten seconds, which the
/// ten-window minimum lets run ahead). Each request is at most a tenth of a
/// second's quota: with requests as big as a window, Kafka's windows are too
/// coarse for ±10% (one request every 1.8 s measured 13% over in this test).
#[test]
fn throttling_brings_a_greedy_client_back_to_its_quota() {
    proptest!(|(quota in 1_000u32..10_000_000, greed in 1.5f64..20.0, share in 0.001f64..0.1)| {
        let window = QuotaWindow::default();
        let quota = f64::from(quota);
        let bytes = quota * share;
        let interval_ms = ((share * 1_000.0 / greed).round() as i64).max(1);
        let mut rate = Rate::default();
        let start_ms = 5_000;
        let mut now_ms = start_ms;
        let (mut measured_bytes, measure_from_ms) = (0.0, start_ms + 10_000);
        while now_ms < start_ms + 70_000 {
            let throttle_ms = rate.record_and_throttle_ms(&window, bytes, quota, now_ms);
            if now_ms >= measure_from_ms {
                measured_bytes += bytes;
            }
            now_ms += interval_ms.max(throttle_ms);
        }
        let achieved = measured_bytes * 1_000.0 / (now_ms - measure_from_ms) as f64;
        prop_assert!((achieved / quota - 1.0).abs() <= 0.10, "{} B/s against a quota of {}", achieved, quota);
    });
}

/// The first burst is read over the ten-window minimum, not over the
/// instant it took: 10 KB at once is 1 KB/s, not infinite.
#[test]
fn a_first_burst_is_spread_over_the_minimum_window() {
    let (window, mut rate) = (QuotaWindow::default(), Rate::default());
    rate.record(&window, 10_000.0, 0);
    assert_eq!(rate.measure(&window, 0), 1_000.0);
}

/// Kafka's formula: 2 KB/s measured over 10 s against 1 KB/s is 10 s of silence.
#[test]
fn the_throttle_time_is_the_excess_over_the_window() {
    let (window, mut rate) = (QuotaWindow::default(), Rate::default());
    assert_eq!(rate.record_and_throttle_ms(&window, 20_000.0, 1_000.0, 0), 10_000);
}

/// Samples untouched for the whole span (11 windows) are forgotten.
#[test]
fn old_samples_expire() {
    let (window, mut rate) = (QuotaWindow::default(), Rate::default());
    rate.record(&window, 10_000.0, 0);
    assert_eq!(rate.measure(&window, 11_000), 0.0);
}
