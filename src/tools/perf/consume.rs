//! `spool perf consume`: `kafka-consumer-perf-test.sh` against spool.
//!
//! Reads `--messages` records from every partition of `--topic` with spool's
//! consumer ([`crate::client::Consumer`], `assign`ed to all partitions, so
//! `rebalance.time.ms` is 0) and prints Kafka's summary line. It stops early
//! when no record arrived for `--timeout` ms, with Kafka's warning.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::client::{Client, ClientError, Consumer, ConsumerConfig, OffsetReset};

use super::format_time_ms;

/// The header Kafka prints before the summary line.
pub const HEADER: &str =
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
                          rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
/// The header of `--show-detailed-stats` lines.
pub const DETAILED_HEADER: &str = "time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
                                   rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

/// What to read and how.
#[derive(Debug, Clone)]
pub struct ConsumePerfArgs {
    pub bootstrap: String,
    pub topic: String,
    /// `--messages`: stop after this many records.
    pub messages: u64,
    /// `--timeout`: stop after this long without a record.
    pub timeout: Duration,
    /// `--from-latest`: start at the end instead of the beginning.
    pub from_latest: bool,
    /// `--reporting-interval`.
    pub reporting_interval: Duration,
    /// `--show-detailed-stats`: a Kafka stats line per interval on stdout
    /// (otherwise a progress line on stderr).
    pub show_detailed_stats: bool,
    pub hide_header: bool,
    /// `--fetch-size` and `--consumer-props`/`--consumer.config` settings.
    pub consumer: ConsumerConfig,
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
    let mut client = Client::connect(&args.bootstrap, args.consumer.request_timeout).await?;
    let partitions = client.topic(&args.topic, false).await?.partitions;
    let reset = if args.from_latest { OffsetReset::Latest } else { OffsetReset::Earliest };
    let config = ConsumerConfig { auto_offset_reset: reset, ..args.consumer.clone() };
    let mut consumer = Consumer::connect(&args.bootstrap, config).await?;
    consumer.assign(partitions.iter().map(|p| (args.topic.clone(), p.partition)));

    if !args.hide_header {
        let header = if args.show_detailed_stats { DETAILED_HEADER } else { HEADER };
        writeln!(out, "{header}").map_err(ClientError::Io)?;
    }
    let start_ms = crate::client::now_ms();
    let start = Instant::now();
    let (mut total, mut interval) = (Counts::default(), Counts::default());
    let (mut last_record, mut last_report) = (Instant::now(), Instant::now());
    while total.records < args.messages && last_record.elapsed() <= args.timeout {
        let wait = args.reporting_interval.min(args.timeout).max(Duration::from_millis(1));
        for r in consumer.poll(wait).await? {
            let size =
                r.record.key.as_ref().map_or(0, |k| k.len()) + r.record.value.as_ref().map_or(0, |v| v.len());
            for counts in [&mut total, &mut interval] {
                counts.records += 1;
                counts.bytes += size as u64;
            }
            last_record = Instant::now();
        }
        if last_report.elapsed() >= args.reporting_interval {
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
            args.timeout.as_millis()
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
