//! `spool produce`: lines from stdin become records, as
//! `kafka-console-producer.sh` (and `kcat -P`) make them.
//!
//! Each line is read by Kafka's `LineMessageReader` rules
//! ([`super::line_reader`]), configured the way Kafka's tool is: `--property
//! parse.key=true --property key.separator=:`, `parse.headers`,
//! `null.marker` (a value equal to it is a tombstone), … or a
//! `--reader-config FILE` of them. spool's shorthands stay: `--key-separator
//! SEP` is `parse.key=true` with that separator, and `--header k=v` adds the
//! same header to every record, as `kcat -H` does.
//!
//! The producer's own settings come as Kafka's tool takes them, later ones
//! winning: this tool's defaults (`linger.ms` [`LINGER_MS`], `client.id`
//! `console-producer`), `--producer.config FILE`, `--producer-property k=v`,
//! then the flags `--acks` (`--request-required-acks`) and `--compression`
//! (`--compression-codec`). Keys spool's producer does not use are warned
//! about and ignored; `security.protocol`, `ssl.*` and `sasl.*` secure its
//! connections ([`super::client_properties::client_security`]).
//!
//! A record goes to `--partition P` if given, else to
//! `murmur2(key) % partitions` like the Java client's default partitioner, or
//! round-robin when it has no key ([`crate::client::partitioner`]): a line at
//! a time is what a console producer is for, and round-robin shows each line
//! landing somewhere new (the producer's own sticky partitioner would put a
//! short input all in one partition).
//!
//! ```text
//!  stdin ──(reader thread)──▶ lines ──▶ LineReader ──▶ Producer::send ──▶ accumulator ──▶ sender task
//!                                                      batches fill to batch.size, or go
//!                                                      after linger.ms (LINGER_MS) of quiet
//! ```
//!
//! Batching is chapter 4's [`Producer`]'s job: a pipe fills whole batches,
//! a person typing gets each line sent after [`LINGER_MS`].

use std::collections::VecDeque;
use std::io::BufRead;
use std::path::PathBuf;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::client_properties::{client_security, file_then_flags, is_security_key};
use super::line_reader::{warn_unknown, LineReader, LineRecord};
use super::unescape;
use crate::client::partitioner::{partition_for_key, RoundRobin};
use crate::client::{Acks, ClientError, DeliveryFuture, Producer, ProducerConfig, ProducerRecord, Security};
use crate::format::Compression;

/// `linger.ms` for the console producer: short, so a typed line goes at once.
pub const LINGER_MS: u64 = 10;
/// `client.id` unless the properties name one, as Kafka's console producer.
pub const CLIENT_ID: &str = "console-producer";
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
    /// Split each line into key and value at the first SEP (the same as
    /// `--property parse.key=true --property key.separator=SEP`; `\t` is a tab).
    #[arg(long, value_name = "SEP", value_parser = unescape)]
    pub key_separator: Option<String>,
    /// A header on every record: --header key=value (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Send every record to this partition instead of partitioning by key.
    #[arg(long)]
    pub partition: Option<i32>,
    /// none, gzip, snappy, lz4 or zstd (`--compression-codec` alone: gzip).
    /// Beats `compression.type` in the producer properties.
    #[arg(long, alias = "compression-codec", num_args = 0..=1, default_missing_value = "gzip",
          value_parser = parse_compression)]
    pub compression: Option<Compression>,
    /// 0 (no response), 1 (the leader) or -1/all (every in-sync replica; the
    /// default). Beats `acks` in the producer properties.
    #[arg(long, alias = "request-required-acks", allow_hyphen_values = true, value_parser = parse_acks)]
    pub acks: Option<Acks>,
    /// A producer setting: --producer-property enable.idempotence=true (repeatable).
    #[arg(long = "producer-property", value_name = "KEY=VALUE")]
    pub producer_properties: Vec<String>,
    /// A properties file of producer settings (--producer-property wins over it).
    #[arg(long = "producer.config", value_name = "FILE")]
    pub producer_config: Option<PathBuf>,
    /// A line reader setting: parse.key, key.separator, parse.headers,
    /// headers.delimiter, headers.separator, headers.key.separator,
    /// ignore.error, null.marker (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub reader_properties: Vec<String>,
    /// A properties file of line reader settings (--property wins over it).
    #[arg(long = "reader-config", value_name = "FILE")]
    pub reader_config: Option<PathBuf>,
}

impl ProduceArgs {
    /// The producer's settings: Kafka's defaults, then this tool's
    /// ([`LINGER_MS`], [`CLIENT_ID`]), then the producer properties (file,
    /// then flags), then `--acks` and `--compression`.
    pub fn producer_config(&self) -> Result<ProducerConfig, ClientError> {
        let properties = file_then_flags(
            "--producer-property",
            self.producer_config.as_deref(),
            &self.producer_properties,
        )?;
        let bootstrap = super::bootstrap_servers(self.bootstrap_server.as_deref(), &properties);
        let mut config = ProducerConfig {
            linger_ms: LINGER_MS,
            client_id: Some(CLIENT_ID.into()),
            ..ProducerConfig::new(bootstrap)
        };
        for (key, value) in &properties {
            match key.as_str() {
                "bootstrap.servers" => {}
                _ if ProducerConfig::KEYS.contains(&key.as_str()) => config.set(key, value.trim())?,
                _ if is_security_key(key) => {}
                _ => warn_unknown("producer", key, ProducerConfig::KEYS),
            }
        }
        if let Some(acks) = self.acks {
            config.acks = acks;
        }
        if let Some(compression) = self.compression {
            config.compression = compression;
        }
        config.validate()?;
        Ok(config)
    }

    /// How the producer's connections are secured: the producer properties'
    /// `security.protocol`, `ssl.*` and `sasl.*` keys (file, then flags).
    pub fn security(&self) -> Result<Security, ClientError> {
        client_security(&file_then_flags(
            "--producer-property",
            self.producer_config.as_deref(),
            &self.producer_properties,
        )?)
    }

    /// The line reader: `--reader-config`, then `--property`, then
    /// `--key-separator`.
    pub fn line_reader(&self) -> Result<LineReader, ClientError> {
        let mut properties =
            file_then_flags("--property", self.reader_config.as_deref(), &self.reader_properties)?;
        if let Some(separator) = &self.key_separator {
            properties.push(("parse.key".into(), "true".into()));
            properties.push(("key.separator".into(), separator.clone()));
        }
        LineReader::from_properties(&properties)
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
    args.line_reader()?; // a bad reader setting fails before connecting
    let producer = Producer::connect_with(args.producer_config()?, args.security()?).await?;
    let lines = spawn_line_reader(std::io::BufReader::new(std::io::stdin()));
    run(&producer, &args, lines).await.map(drop)
}

/// What was produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProduceSummary {
    /// Records acknowledged (with `acks=0`: written).
    pub records: u64,
}

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
    let reader = args.line_reader()?;
    let mut round_robin = RoundRobin::starting_at(std::process::id());
    let mut line_number = 0u64;
    let mut deliveries: VecDeque<DeliveryFuture> = VecDeque::new();
    let mut summary = ProduceSummary::default();
    while let Some(line) = lines.recv().await {
        line_number += 1;
        let LineRecord { mut headers, key, value } = reader.read(&line?, line_number)?;
        headers.extend(args.headers.iter().cloned());
        let partition = match (args.partition, &key) {
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, partitions),
            (None, None) => round_robin.next(partitions),
        };
        let record = ProducerRecord { key, value, headers, timestamp_ms: None };
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
