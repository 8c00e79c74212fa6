//! `spool perf produce`: `kafka-producer-perf-test.sh` against spool.
//!
//! Sends `--num-records` records of `--record-size` random-looking bytes with
//! spool's producer ([`crate::client::producer::Producer`], configured by
//! `--producer-props`), at most `--throughput` records per second (-1: as fast
//! as it goes), and measures each record's latency from `send` to its
//! acknowledgement. Prints Kafka's window line every reporting interval and its
//! total line, percentiles included, at the end.

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::stats::ProducerStats;
use crate::client::producer::{Producer, ProducerConfig};
use crate::client::{ClientError, ProducerRecord};

/// What to send and how.
#[derive(Debug, Clone)]
pub struct ProducePerfArgs {
    pub topic: String,
    pub num_records: u64,
    pub record_size: usize,
    /// Records per second; zero or less means unthrottled.
    pub throughput: f64,
    pub reporting_interval: Duration,
    pub producer: ProducerConfig,
}

/// A record's payload: printable bytes from a fixed pseudo-random sequence (as
/// Kafka's tool fills its payload with random uppercase letters).
fn payload(size: usize, seed: u64) -> Bytes {
    let mut x = seed | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'A' + (x % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

// ANCHOR: run
/// Runs the test; window lines and the total line go to `out`.
pub async fn run(args: &ProducePerfArgs, out: &mut impl Write) -> Result<ProducerStats, ClientError> {
    let producer = Producer::connect(args.producer.clone()).await?;
    let value = payload(args.record_size, 0x5eed);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Result<Duration, ClientError>>();
    let mut stats = ProducerStats::new(args.num_records);
    let start = Instant::now();
    let mut window_start = Instant::now();
    let mut first_error = None;
    let mut record = |stats: &mut ProducerStats, outcome: Result<Duration, ClientError>| match outcome {
        Ok(latency) => stats.record(latency, args.record_size as u64),
        Err(e) => {
            first_error.get_or_insert(e);
        }
    };
    for i in 0..args.num_records {
        if args.throughput > 0.0 {
            // Kafka's ThroughputThrottler: sleep until record i is due.
            let due = start + Duration::from_secs_f64(i as f64 / args.throughput);
            tokio::time::sleep_until(due.into()).await;
        }
        let sent_at = Instant::now();
        let record_ = ProducerRecord { value: Some(value.clone()), ..ProducerRecord::default() };
        let delivery = producer.send(&args.topic, record_).await?;
        let done = done_tx.clone();
        tokio::spawn(async move {
            let _ = done.send(delivery.await.map(|_| sent_at.elapsed()));
        });
        while let Ok(outcome) = done_rx.try_recv() {
            record(&mut stats, outcome);
        }
        if window_start.elapsed() >= args.reporting_interval {
            writeln!(out, "{}", stats.take_window(window_start.elapsed())).map_err(ClientError::Io)?;
            window_start = Instant::now();
        }
    }
    drop(done_tx);
    producer.flush().await;
    while let Some(outcome) = done_rx.recv().await {
        record(&mut stats, outcome);
    }
    let elapsed = start.elapsed();
    producer.close().await?;
    if let Some(e) = first_error {
        return Err(e);
    }
    writeln!(out, "{}", stats.total_line(elapsed)).map_err(ClientError::Io)?;
    Ok(stats)
}
// ANCHOR_END: run
