//! `spool produce`: lines from stdin become records, as
//! `kafka-console-producer.sh` (and `kcat -P`) make them.
//!
//! Each line is a record's value; with `--key-separator SEP` the text before
//! the first `SEP` is its key (the console producer's `parse.key=true` and
//! `key.separator`). `--header k=v` adds the same headers to every record, as
//! `kcat -H` does. A record goes to `--partition P` if given, else to
//! `murmur2(key) % partitions` like the Java client's default partitioner, or
//! round-robin when it has no key ([`crate::client::partitioner`]): a line at
//! a time is what a console producer is for, and round-robin shows each line
//! landing somewhere new (the producer's own sticky partitioner would put a
//! short input all in one partition).
//!
//! ```text
//!  stdin ──(reader thread)──▶ lines ──▶ Producer::send ──▶ accumulator ──▶ sender task
//!                                        batches fill to batch.size, or go
//!                                        after linger.ms (LINGER_MS) of quiet
//! ```
//!
//! Batching is chapter 4's [`Producer`]'s job: a pipe fills whole batches,
//! a person typing gets each line sent after [`LINGER_MS`].

use std::collections::VecDeque;
use std::io::BufRead;
use std::path::PathBuf;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{unescape, ClientSettings};
use crate::client::partitioner::{partition_for_key, RoundRobin};
use crate::client::{Acks, ClientError, DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
use crate::format::Compression;

/// `linger.ms` for the console producer: short, so a typed line goes at once.
pub const LINGER_MS: u64 = 10;
/// Acknowledgements awaited at most this far behind the line being sent:
/// bounds the memory a long pipe holds in futures.
pub const DELIVERIES_PENDING_MAX: usize = 10_000;
/// Lines read ahead of the network, at most.
const LINES_QUEUED_MAX: usize = 4096;

/// `spool produce`'s flags: kafka-console-producer.sh's (and `kcat -H`'s headers).
#[derive(Debug, Clone, clap::Args)]
pub struct ProduceArgs {
    /// Where to connect; else `bootstrap.servers` from the producer
    /// properties, else 127.0.0.1:9092 (as Kafka's tools decide).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[arg(long)]
    pub topic: String,
    /// Split each line into key and value at the first SEP (parse.key=true;
    /// `\t` is a tab). Without it, lines are values only.
    #[arg(long, value_name = "SEP", value_parser = unescape)]
    pub key_separator: Option<String>,
    /// A header on every record: --header key=value (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Send every record to this partition instead of partitioning by key.
    #[arg(long)]
    pub partition: Option<i32>,
    /// none, gzip, snappy, lz4 or zstd.
    #[arg(long, default_value = "none", value_parser = parse_compression)]
    pub compression: Compression,
    /// 0 (no response), 1 (the leader) or -1/all (every in-sync replica).
    #[arg(long, default_value = "-1", allow_hyphen_values = true, value_parser = parse_acks)]
    pub acks: Acks,
    /// A producer setting: --producer-property enable.idempotence=true (repeatable).
    #[arg(long = "producer-property", value_name = "KEY=VALUE")]
    pub producer_properties: Vec<String>,
    /// A properties file of producer settings (the flags win over it).
    #[arg(long = "producer.config", value_name = "FILE")]
    pub producer_config: Option<PathBuf>,
}

impl ProduceArgs {
    /// The producer's settings: Kafka's defaults, then this tool's
    /// ([`LINGER_MS`], `--acks`, `--compression`), then the producer properties.
    pub fn producer_config(&self) -> Result<ProducerConfig, ClientError> {
        let settings = ClientSettings::from_args(
            self.bootstrap_server.as_deref(),
            self.producer_config.as_deref(),
            &self.producer_properties,
        )?;
        let mut config = ProducerConfig {
            acks: self.acks,
            compression: self.compression,
            linger_ms: LINGER_MS,
            ..ProducerConfig::new(settings.bootstrap_servers)
        };
        for (key, value) in &settings.properties {
            config.set(key, value)?;
        }
        config.validate()?;
        Ok(config)
    }
}

fn parse_acks(s: &str) -> Result<Acks, String> {
    Acks::parse(s).ok_or_else(|| format!("{s:?}: expected 0, 1, -1 or all"))
}

fn parse_compression(s: &str) -> Result<Compression, String> {
    Compression::from_name(s).ok_or_else(|| format!("{s:?}: expected none, gzip, snappy, lz4 or zstd"))
}

/// `spool produce`: stdin's lines to the topic, until stdin ends.
pub async fn main(args: ProduceArgs) -> Result<(), ClientError> {
    let producer = Producer::connect(args.producer_config()?).await?;
    let lines = spawn_line_reader(std::io::BufReader::new(std::io::stdin()));
    run(&producer, &args, lines).await.map(drop)
}

/// What was produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProduceSummary {
    /// Records acknowledged (with `acks=0`: written).
    pub records: u64,
}

// ANCHOR: parse_line
/// Splits a line into key and value at the first `key_separator`. As Kafka's
/// console producer, a line without the separator is an error when keys are
/// parsed (rather than silently a null key).
pub fn parse_line(line: &[u8], key_separator: Option<&str>) -> Result<(Option<Bytes>, Bytes), String> {
    let Some(separator) = key_separator.map(str::as_bytes) else {
        return Ok((None, Bytes::copy_from_slice(line)));
    };
    match line.windows(separator.len()).position(|w| w == separator) {
        Some(at) => Ok((
            Some(Bytes::copy_from_slice(&line[..at])),
            Bytes::copy_from_slice(&line[at + separator.len()..]),
        )),
        None => Err(format!(
            "no key separator {:?} in line {:?}",
            key_separator.unwrap_or_default(),
            String::from_utf8_lossy(line)
        )),
    }
}
// ANCHOR_END: parse_line

/// Parses `--header key=value`; `key` alone is a header with a null value.
pub fn parse_header(arg: &str) -> Result<(String, Option<Bytes>), String> {
    let (key, value) = match arg.split_once('=') {
        Some((k, v)) => (k, Some(Bytes::copy_from_slice(v.as_bytes()))),
        None => (arg, None),
    };
    if key.is_empty() {
        return Err(format!("--header {arg:?}: the header key is empty"));
    }
    Ok((key.to_string(), value))
}

/// Reads lines from `input` on a thread of its own (stdin reads block), without
/// their `\n` or `\r\n`, into a bounded channel.
pub fn spawn_line_reader(input: impl BufRead + Send + 'static) -> mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(LINES_QUEUED_MAX);
    std::thread::spawn(move || {
        for line in input.split(b'\n') {
            let line = line.map(|mut l| {
                if l.last() == Some(&b'\r') {
                    l.pop();
                }
                l
            });
            let failed = line.is_err();
            if tx.blocking_send(line).is_err() || failed {
                break;
            }
        }
    });
    rx
}

/// Produces every line from `lines` until it ends, then closes the producer
/// (every record answered). The first failed record fails the run.
pub async fn run(
    producer: &Producer,
    args: &ProduceArgs,
    lines: mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> Result<ProduceSummary, ClientError> {
    let sent = send_lines(producer, args, lines).await;
    let closed = producer.close().await;
    let summary = sent?;
    closed?;
    Ok(summary)
}

async fn send_lines(
    producer: &Producer,
    args: &ProduceArgs,
    mut lines: mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> Result<ProduceSummary, ClientError> {
    // A producer's first Metadata may create the topic (auto.create.topics.enable).
    let partitions = producer.partitions(&args.topic).await?;
    if let Some(p) = args.partition.filter(|&p| p < 0 || p >= partitions) {
        return Err(ClientError::InvalidArgument(format!(
            "topic {} has no partition {p} (it has {partitions})",
            args.topic
        )));
    }
    let mut round_robin = RoundRobin::starting_at(std::process::id());
    let mut deliveries: VecDeque<DeliveryFuture> = VecDeque::new();
    let mut summary = ProduceSummary::default();
    while let Some(line) = lines.recv().await {
        let (key, value) =
            parse_line(&line?, args.key_separator.as_deref()).map_err(ClientError::InvalidArgument)?;
        let partition = match (args.partition, &key) {
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, partitions),
            (None, None) => round_robin.next(partitions),
        };
        let record =
            ProducerRecord { key, value: Some(value), headers: args.headers.clone(), timestamp_ms: None };
        deliveries.push_back(producer.send_to_partition(&args.topic, partition, record).await?);
        if deliveries.len() > DELIVERIES_PENDING_MAX {
            let oldest = deliveries.pop_front().expect("longer than the maximum");
            oldest.await?;
            summary.records += 1;
        }
    }
    producer.flush().await;
    for delivery in deliveries {
        delivery.await?;
        summary.records += 1;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a separator the whole line is the value; with one, the first
    /// occurrence splits key from value (the rest may contain it again), as
    /// kafka-console-producer's `parse.key` does.
    #[test]
    fn lines_split_at_the_first_separator() {
        assert_eq!(parse_line(b"a:b", None), Ok((None, Bytes::from_static(b"a:b"))));
        assert_eq!(
            parse_line(b"k:v:w", Some(":")),
            Ok((Some(Bytes::from_static(b"k")), Bytes::from_static(b"v:w")))
        );
        assert_eq!(
            parse_line(b"key::=value", Some("::=")),
            Ok((Some(Bytes::from_static(b"key")), Bytes::from_static(b"value")))
        );
        assert_eq!(parse_line(b":v", Some(":")), Ok((Some(Bytes::new()), Bytes::from_static(b"v"))));
        assert_eq!(parse_line(b"", None), Ok((None, Bytes::new())));
    }

    /// A line without the separator is an error when keys are expected, as in Kafka.
    #[test]
    fn missing_separator_is_an_error() {
        assert!(parse_line(b"no separator", Some("\t")).is_err());
    }

    /// `--header k=v` splits at the first '='; `k` alone has a null value.
    #[test]
    fn headers_parse() {
        assert_eq!(parse_header("source=cli"), Ok(("source".into(), Some(Bytes::from_static(b"cli")))));
        assert_eq!(parse_header("eq=a=b"), Ok(("eq".into(), Some(Bytes::from_static(b"a=b")))));
        assert_eq!(parse_header("flag"), Ok(("flag".into(), None)));
        assert!(parse_header("=v").is_err());
    }

    /// The reader thread strips `\n` and `\r\n` and keeps a last line without one.
    #[test]
    fn reader_strips_line_endings() {
        let mut rx = spawn_line_reader(std::io::Cursor::new(b"a\r\nb\n\nc".to_vec()));
        let mut lines = Vec::new();
        while let Some(line) = rx.blocking_recv() {
            lines.push(line.unwrap());
        }
        assert_eq!(lines, vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec(), b"c".to_vec()]);
    }
}
