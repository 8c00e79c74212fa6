//! `spool perf produce`: `kafka-producer-perf-test.sh` against spool.
//!
//! Sends `--num-records` records of `--record-size` random-looking bytes with
//! spool's producer ([`crate::client::producer::Producer`], configured by
//! `--producer-props`), at most `--throughput` records per second (-1: as fast
//! as it goes), and measures each record's latency from `send` to its
//! acknowledgement. Prints Kafka's window line every reporting interval and its
//! total line, percentiles included, at the end. `security.protocol`, `ssl.*`
//! and `sasl.*` among the producer properties secure its connections, as the
//! console tools' ([`crate::tools::client_properties::client_security`]).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::stats::ProducerStats;
use crate::client::producer::{Producer, ProducerConfig};
use crate::client::{ClientError, ProducerRecord, Security};
use crate::tools::client_properties::{client_security, is_security_key};
use crate::tools::ClientSettings;

/// `spool perf produce`'s flags: kafka-producer-perf-test.sh's.
#[derive(Debug, Clone, clap::Args)]
pub struct ProducePerfArgs {
    /// Where to connect; else `bootstrap.servers` from the producer
    /// properties, else 127.0.0.1:9092 (as Kafka's tools decide).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[arg(long)]
    pub topic: String,
    #[arg(long)]
    pub num_records: u64,
    /// Bytes per record value.
    #[arg(long)]
    pub record_size: usize,
    /// Records per second at most; -1 (zero or less) for no limit.
    #[arg(long, allow_negative_numbers = true)]
    pub throughput: f64,
    /// Producer settings: --producer-props acks=1 batch.size=16384 linger.ms=5 ...
    #[arg(long = "producer-props", num_args = 1.., value_name = "KEY=VALUE")]
    pub producer_props: Vec<String>,
    /// A properties file of producer settings (--producer-props win over it).
    #[arg(long = "producer.config", value_name = "FILE")]
    pub producer_config: Option<PathBuf>,
    /// A window line every this many ms.
    #[arg(long = "reporting-interval", default_value_t = 5_000, value_name = "MS")]
    pub reporting_interval_ms: u64,
}

impl ProducePerfArgs {
    /// Kafka's producer defaults, then the producer properties (the security
    /// keys are [`Self::security`]'s).
    pub fn producer_config(&self) -> Result<ProducerConfig, ClientError> {
        let settings = self.settings()?;
        let mut config = ProducerConfig::new(settings.bootstrap_servers);
        for (key, value) in settings.properties.iter().filter(|(key, _)| !is_security_key(key)) {
            config.set(key, value)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// How the producer's connections are secured: the security keys among
    /// the producer properties.
    pub fn security(&self) -> Result<Security, ClientError> {
        client_security(&self.settings()?.properties)
    }

    fn settings(&self) -> Result<ClientSettings, ClientError> {
        ClientSettings::from_args(
            self.bootstrap_server.as_deref(),
            self.producer_config.as_deref(),
            &self.producer_props,
        )
    }
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
    let producer = Producer::connect_with(args.producer_config()?, args.security()?).await?;
    let reporting_interval = Duration::from_millis(args.reporting_interval_ms.max(1));
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
        if window_start.elapsed() >= reporting_interval {
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
