//! `spool perf consume`: `kafka-consumer-perf-test.sh` against spool.
//!
//! Reads `--messages` records from every partition of `--topic` with spool's
//! consumer ([`crate::client::Consumer`], `assign`ed to all partitions, so
//! `rebalance.time.ms` is 0) and prints Kafka's summary line. It stops early
//! when no record arrived for `--timeout` ms, with Kafka's warning.
//! `security.protocol`, `ssl.*` and `sasl.*` among the consumer properties
//! secure its connections, as the console tools'
//! ([`crate::tools::client_properties::client_security`]).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::client::{ClientError, Consumer, ConsumerConfig, OffsetReset, Security};
use crate::tools::client_properties::{client_security, is_security_key};
use crate::tools::ClientSettings;
use crate::TopicPartition;

use super::format_time_ms;

/// The header Kafka prints before the summary line.
pub const HEADER: &str =
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
                          rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
/// The header of `--show-detailed-stats` lines.
pub const DETAILED_HEADER: &str = "time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
                                   rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

/// `spool perf consume`'s flags: kafka-consumer-perf-test.sh's.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsumePerfArgs {
    /// Where to connect; else `bootstrap.servers` from the consumer
    /// properties, else 127.0.0.1:9092 (as Kafka's tools decide).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[arg(long)]
    pub topic: String,
    /// How many records to read.
    #[arg(long)]
    pub messages: u64,
    /// Stop after this many ms without a record.
    #[arg(long = "timeout", default_value_t = 10_000, value_name = "MS")]
    pub timeout_ms: u64,
    /// max.partition.fetch.bytes.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub fetch_size: i32,
    /// Start at the end of each partition rather than its beginning.
    #[arg(long)]
    pub from_latest: bool,
    /// Print a stats line every interval (Kafka's detailed format) on stdout
    /// instead of a progress line on stderr and a summary.
    #[arg(long)]
    pub show_detailed_stats: bool,
    #[arg(long = "reporting-interval", default_value_t = 5_000, value_name = "MS")]
    pub reporting_interval_ms: u64,
    #[arg(long)]
    pub hide_header: bool,
    /// Consumer settings: --consumer-props key=value ...
    #[arg(long = "consumer-props", num_args = 1.., value_name = "KEY=VALUE")]
    pub consumer_props: Vec<String>,
    /// A properties file of consumer settings (--consumer-props win over it).
    #[arg(long = "consumer.config", value_name = "FILE")]
    pub consumer_config: Option<PathBuf>,
}

impl ConsumePerfArgs {
    /// The broker and the consumer's settings: `--fetch-size`, then the
    /// consumer properties (the security keys are [`Self::security`]'s),
    /// then where to start (`--from-latest`).
    pub fn consumer_config(&self) -> Result<(String, ConsumerConfig), ClientError> {
        let settings = self.settings()?;
        let mut config = ConsumerConfig::default();
        config.fetch.partition_max_bytes = self.fetch_size;
        for (key, value) in settings.properties.iter().filter(|(key, _)| !is_security_key(key)) {
            config.set(key, value)?;
        }
        config.auto_offset_reset = if self.from_latest { OffsetReset::Latest } else { OffsetReset::Earliest };
        Ok((settings.bootstrap_servers, config))
    }

    /// How the consumer's connections are secured: the security keys among
    /// the consumer properties.
    pub fn security(&self) -> Result<Security, ClientError> {
        client_security(&self.settings()?.properties)
    }

    fn settings(&self) -> Result<ClientSettings, ClientError> {
        ClientSettings::from_args(
            self.bootstrap_server.as_deref(),
            self.consumer_config.as_deref(),
            &self.consumer_props,
        )
    }
}

/// Counts of one run, or of one interval.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    records: u64,
    bytes: u64,
}

/// Reads as `kafka-consumer-perf-test.sh` does; writes its lines to `out`,
/// progress to `progress`. Returns the number of records read.
pub async fn run(
    args: &ConsumePerfArgs,
    out: &mut impl Write,
    progress: &mut impl Write,
) -> Result<u64, ClientError> {
    let (bootstrap, config) = args.consumer_config()?;
    let mut consumer = Consumer::connect_with(&bootstrap, config, args.security()?).await?;
    let partitions = consumer.client().topic(&args.topic, false).await?.partitions;
    consumer.assign(partitions.iter().map(|p| TopicPartition::new(args.topic.clone(), p.partition)));
    let timeout = Duration::from_millis(args.timeout_ms);
    let reporting_interval = Duration::from_millis(args.reporting_interval_ms.max(1));

    if !args.hide_header {
        let header = if args.show_detailed_stats { DETAILED_HEADER } else { HEADER };
        writeln!(out, "{header}").map_err(ClientError::Io)?;
    }
    let start_ms = crate::client::now_ms();
    let start = Instant::now();
    let (mut total, mut interval) = (Counts::default(), Counts::default());
    let (mut last_record, mut last_report) = (Instant::now(), Instant::now());
    while total.records < args.messages && last_record.elapsed() <= timeout {
        let wait = reporting_interval.min(timeout).max(Duration::from_millis(1));
        for r in consumer.poll(wait).await? {
            let size =
                r.record.key.as_ref().map_or(0, |k| k.len()) + r.record.value.as_ref().map_or(0, |v| v.len());
            for counts in [&mut total, &mut interval] {
                counts.records += 1;
                counts.bytes += size as u64;
            }
            last_record = Instant::now();
        }
        if last_report.elapsed() >= reporting_interval {
            let elapsed = last_report.elapsed();
            if args.show_detailed_stats {
                let now = crate::client::now_ms();
                writeln!(out, "{}", stats_line(&format_time_ms(now), interval, elapsed))
                    .map_err(ClientError::Io)?;
            } else {
                let line = format!(
                    "{} records consumed, {:.1} records/sec",
                    total.records,
                    rate(interval.records, elapsed)
                );
                writeln!(progress, "{line}").map_err(ClientError::Io)?;
            }
            interval = Counts::default();
            last_report = Instant::now();
        }
    }
    let elapsed = start.elapsed();
    if total.records < args.messages {
        writeln!(
            progress,
            "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded. \
             You can use the --timeout option to increase the timeout.",
            timeout.as_millis()
        )
        .map_err(ClientError::Io)?;
    }
    if !args.show_detailed_stats {
        let times = format!("{}, {}", format_time_ms(start_ms), format_time_ms(crate::client::now_ms()));
        writeln!(out, "{}", stats_line(&times, total, elapsed)).map_err(ClientError::Io)?;
    }
    Ok(total.records)
}

fn rate(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// `<times>, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms,
/// fetch.MB.sec, fetch.nMsg.sec`: with `assign` there is no rebalance, so the
/// fetch time is the whole time.
fn stats_line(times: &str, counts: Counts, elapsed: Duration) -> String {
    let mb = counts.bytes as f64 / 1024.0 / 1024.0;
    let secs = elapsed.as_secs_f64().max(1e-9);
    format!(
        "{times}, {mb:.4}, {:.4}, {}, {:.4}, 0, {}, {:.4}, {:.4}",
        mb / secs,
        counts.records,
        counts.records as f64 / secs,
        elapsed.as_millis(),
        mb / secs,
        counts.records as f64 / secs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary line has Kafka's ten columns in Kafka's number formats.
    #[test]
    fn the_stats_line_has_kafkas_columns() {
        let counts = Counts { records: 1000, bytes: 2 * 1024 * 1024 };
        let line = stats_line("A, B", counts, Duration::from_millis(500));
        assert_eq!(line, "A, B, 2.0000, 4.0000, 1000, 2000.0000, 0, 500, 4.0000, 2000.0000");
        assert_eq!(line.split(", ").count(), HEADER.split(", ").count());
    }
}
