//! `spool consume`: print a topic's records, as `kafka-console-consumer.sh`
//! (and `kcat -C`) do.
//!
//! It finds the topic's partitions (Metadata), assigns them to chapter 4's
//! [`Consumer`], seeks each (ListOffsets: the end by default, the start with
//! `--from-beginning`, or `--offset N` on one `--partition`), then polls and
//! prints each record's value on a line, with its headers and key first when
//! asked, in Kafka's `DefaultMessageFormatter` layout:
//!
//! ```text
//!  [headers <key.separator>] [key <key.separator>] value
//!  headers: k1:v1,k2:v2   (NO_HEADERS when there are none; null prints "null")
//! ```
//!
//! It stops after `--max-messages`, after `--timeout-ms` without a new record,
//! or on Ctrl-C, then prints `Processed a total of N messages` on stderr.
//!
//! With `--group G` (chapter 5) it is a member of consumer group `G`
//! instead ([`run_group`]): it subscribes to the topic, reads the partitions
//! the group gives it, starting at the group's committed offsets (or by
//! `auto.offset.reset`: `--from-beginning` makes it `earliest`), and commits
//! after each batch it printed — exactly what it printed, so a consumer
//! stopped by `--max-messages` leaves the rest to the next member. On exit it
//! leaves the group.
//!
//! In both modes a position that falls off the log (`OFFSET_OUT_OF_RANGE`)
//! is reset by `auto.offset.reset`: `earliest` with `--from-beginning`, else
//! `latest`, unless a consumer property says otherwise — as the console
//! consumer does.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{unescape, ClientSettings};
use crate::client::{ClientError, Consumer, ConsumerConfig, GroupConsumer, OffsetSpec};
use crate::format::record::Record;
use crate::TopicPartition;

/// Where to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    Earliest,
    Latest,
    /// An exact offset (only with one `--partition`).
    At(i64),
}

impl StartOffset {
    /// Parses `--offset`: a non-negative number, `earliest` or `latest`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "earliest" => Ok(StartOffset::Earliest),
            "latest" => Ok(StartOffset::Latest),
            n => match n.parse::<i64>() {
                Ok(n) if n >= 0 => Ok(StartOffset::At(n)),
                _ => Err(format!("--offset {s:?}: expected a non-negative number, 'earliest' or 'latest'")),
            },
        }
    }
}

/// How records are printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatOptions {
    pub print_key: bool,
    pub print_headers: bool,
    /// Between fields; Kafka's `key.separator`, a tab by default.
    pub key_separator: String,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions { print_key: false, print_headers: false, key_separator: "\t".into() }
    }
}

/// `spool consume`'s flags: kafka-console-consumer.sh's.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsumeArgs {
    /// Where to connect; else `bootstrap.servers` from the consumer
    /// properties, else 127.0.0.1:9092 (as Kafka's tools decide).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[arg(long)]
    pub topic: String,
    /// Start at each partition's first offset rather than its end.
    #[arg(long, conflicts_with = "offset")]
    pub from_beginning: bool,
    /// Read only this partition.
    #[arg(long)]
    pub partition: Option<i32>,
    /// Start at this offset (a number, earliest or latest); needs --partition.
    #[arg(long, requires = "partition", value_parser = StartOffset::parse)]
    pub offset: Option<StartOffset>,
    /// Consume as a member of this consumer group, committing what is printed.
    #[arg(long, conflicts_with_all = ["partition", "offset"])]
    pub group: Option<String>,
    /// A consumer setting: --consumer-property key=value (repeatable).
    #[arg(long = "consumer-property", value_name = "KEY=VALUE")]
    pub consumer_properties: Vec<String>,
    /// A properties file of consumer settings (the flags win over it).
    #[arg(long = "consumer.config", value_name = "FILE")]
    pub consumer_config: Option<PathBuf>,
    /// Exit after printing this many records.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// Exit after this long without a new record.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Print each record's key before its value.
    #[arg(long)]
    pub print_key: bool,
    /// Between headers, key and value (`\t` is a tab).
    #[arg(long, default_value = "\\t", value_name = "SEP", value_parser = unescape)]
    pub key_separator: String,
    /// Print each record's headers first (k:v,k2:v2, or NO_HEADERS).
    #[arg(long)]
    pub print_headers: bool,
}

impl ConsumeArgs {
    /// Where reading starts: `--offset`, else the start with
    /// `--from-beginning`, else the end.
    pub fn start(&self) -> StartOffset {
        match self.offset {
            Some(offset) => offset,
            None if self.from_beginning => StartOffset::Earliest,
            None => StartOffset::Latest,
        }
    }

    /// `--timeout-ms`; `None`: run until stopped.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }

    /// How records are printed.
    pub fn format(&self) -> FormatOptions {
        FormatOptions {
            print_key: self.print_key,
            print_headers: self.print_headers,
            key_separator: self.key_separator.clone(),
        }
    }

    /// The broker and the consumer's settings, the same for both modes:
    /// no auto commit (with `--group` the tool commits exactly what it
    /// printed; auto commit would commit positions past records a
    /// `--max-messages` stop never printed), `auto.offset.reset=earliest`
    /// with `--from-beginning`, then the consumer properties, then `--group`.
    pub fn consumer_config(&self) -> Result<(String, ConsumerConfig), ClientError> {
        let settings = ClientSettings::from_args(
            self.bootstrap_server.as_deref(),
            self.consumer_config.as_deref(),
            &self.consumer_properties,
        )?;
        let mut config = ConsumerConfig::default();
        config.set("enable.auto.commit", "false")?;
        if self.from_beginning {
            config.set("auto.offset.reset", "earliest")?;
        }
        for (key, value) in &settings.properties {
            config.set(key, value)?;
        }
        if let Some(group) = &self.group {
            config.set("group.id", group)?;
        }
        Ok((settings.bootstrap_servers, config))
    }
}

/// `spool consume`: prints records until `--max-messages`, `--timeout-ms` or
/// Ctrl-C, then `Processed a total of N messages` on stderr. With `--group`
/// it leaves the group on the way out.
pub async fn main(args: ConsumeArgs) -> Result<(), ClientError> {
    let (bootstrap, config) = args.consumer_config()?;
    // Listen for Ctrl-C (SIGINT) from the start, so an early one still ends
    // the tool cleanly with its summary line.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let stop = async move {
        interrupt.recv().await;
    };
    let mut out = std::io::stdout().lock();
    let consumed = if args.group.is_some() {
        let mut consumer = GroupConsumer::connect(&bootstrap, config).await?;
        let result = run_group(&mut consumer, &args, &mut out, stop).await;
        let closed = consumer.close().await;
        let consumed = result?;
        closed?;
        consumed
    } else {
        let mut consumer = Consumer::connect(&bootstrap, config).await?;
        run(&mut consumer, &args, &mut out, stop).await?
    };
    eprintln!("Processed a total of {consumed} messages");
    Ok(())
}

/// How long one poll may wait: short enough to notice `--timeout-ms` and
/// Ctrl-C promptly.
const FETCH_WAIT_MAX: Duration = Duration::from_millis(500);

// ANCHOR: format_record
/// Appends one record's line to `out`, in `DefaultMessageFormatter`'s layout.
pub fn format_record(record: &Record, format: &FormatOptions, out: &mut Vec<u8>) {
    let separator = format.key_separator.as_bytes();
    if format.print_headers {
        if record.headers.is_empty() {
            out.extend_from_slice(b"NO_HEADERS");
        }
        for (i, header) in record.headers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(header.key.as_bytes());
            out.push(b':');
            out.extend_from_slice(header.value.as_deref().unwrap_or(b"null"));
        }
        out.extend_from_slice(separator);
    }
    if format.print_key {
        out.extend_from_slice(record.key.as_deref().unwrap_or(b"null"));
        out.extend_from_slice(separator);
    }
    out.extend_from_slice(record.value.as_deref().unwrap_or(b"null"));
    out.push(b'\n');
}
// ANCHOR_END: format_record

/// Consumes until `--max-messages`, `--timeout-ms` or `stop` resolves (Ctrl-C);
/// returns the number of records printed.
pub async fn run(
    consumer: &mut Consumer,
    args: &ConsumeArgs,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> Result<u64, ClientError> {
    assign_and_seek(consumer, args).await?;
    let format = args.format();
    let mut consumed = 0u64;
    let mut last_record = tokio::time::Instant::now();
    tokio::pin!(stop);
    loop {
        if args.max_messages.is_some_and(|max| consumed >= max) {
            break;
        }
        let Some(wait) = next_wait(args.timeout(), last_record) else { break };
        let records = tokio::select! {
            records = consumer.poll(wait) => records?,
            () = &mut stop => break,
        };
        let mut buf = Vec::new();
        for r in &records {
            if args.max_messages.is_some_and(|max| consumed >= max) {
                break;
            }
            format_record(&r.record, &format, &mut buf);
            consumed += 1;
            last_record = tokio::time::Instant::now();
        }
        out.write_all(&buf)?;
        out.flush()?;
    }
    Ok(consumed)
}

// ANCHOR: run_group
/// `--group`: consumes as a member of a consumer group until `--max-messages`,
/// `--timeout-ms` or `stop`, committing what it printed after each batch;
/// returns the number of records printed. The caller closes the consumer.
pub async fn run_group(
    consumer: &mut GroupConsumer,
    args: &ConsumeArgs,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> Result<u64, ClientError> {
    consumer.subscribe([args.topic.clone()]);
    let format = args.format();
    let mut consumed = 0u64;
    let mut last_record = tokio::time::Instant::now();
    let mut stopping = false;
    tokio::pin!(stop);
    while !stopping && args.max_messages.is_none_or(|max| consumed < max) {
        let Some(wait) = next_wait(args.timeout(), last_record) else { break };
        // A poll is never cut short (it may be midway through a rebalance,
        // and the commit and LeaveGroup still need the group): Ctrl-C lets
        // the current poll finish, then ends the loop.
        let records = {
            let poll = consumer.poll(wait);
            tokio::pin!(poll);
            tokio::select! {
                records = &mut poll => records?,
                () = &mut stop => {
                    stopping = true;
                    poll.await?
                }
            }
        };
        let mut buf = Vec::new();
        let mut printed: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for r in records {
            if args.max_messages.is_some_and(|max| consumed >= max) {
                break;
            }
            format_record(&r.record, &format, &mut buf);
            printed.insert(TopicPartition::new(r.topic, r.partition), r.record.offset + 1);
            consumed += 1;
            last_record = tokio::time::Instant::now();
        }
        out.write_all(&buf)?;
        out.flush()?;
        match consumer.commit(&printed).await {
            Ok(()) => {}
            // The group moved on (a rebalance): what was printed may be
            // printed again by the partition's next reader — at least once.
            Err(e) if e.code().is_some_and(is_group_change) || e.is_retriable() => {
                tracing::warn!(error = %e, "commit failed; continuing");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(consumed)
}
// ANCHOR_END: run_group

/// The errors of a commit that lost a race with a rebalance.
fn is_group_change(code: kafka_protocol::ResponseError) -> bool {
    use kafka_protocol::ResponseError::{IllegalGeneration, RebalanceInProgress, UnknownMemberId};
    matches!(code, RebalanceInProgress | IllegalGeneration | UnknownMemberId)
}

/// Assigns the topic's partitions (or `--partition`) and seeks each to where
/// reading starts.
async fn assign_and_seek(consumer: &mut Consumer, args: &ConsumeArgs) -> Result<(), ClientError> {
    let topic = consumer.client().topic(&args.topic, false).await?;
    let partitions: Vec<i32> = match args.partition {
        Some(p) if topic.partitions.iter().any(|m| m.partition == p) => vec![p],
        Some(p) => {
            return Err(ClientError::InvalidArgument(format!(
                "topic {} has no partition {p} (it has {})",
                args.topic,
                topic.partitions.len()
            )))
        }
        None => topic.partitions.iter().map(|p| p.partition).collect(),
    };
    consumer.assign(partitions.iter().map(|&p| TopicPartition::new(args.topic.clone(), p)));
    match args.start() {
        StartOffset::At(offset) => partitions.iter().try_for_each(|&p| consumer.seek(&args.topic, p, offset)),
        StartOffset::Earliest => consumer.seek_to(OffsetSpec::Earliest).await,
        StartOffset::Latest => consumer.seek_to(OffsetSpec::Latest).await,
    }
}

/// How long the next fetch may wait: at most [`FETCH_WAIT_MAX`], and no longer
/// than `--timeout-ms` leaves since the last record; `None` once it has passed.
fn next_wait(timeout: Option<Duration>, last_record: tokio::time::Instant) -> Option<Duration> {
    match timeout {
        None => Some(FETCH_WAIT_MAX),
        Some(timeout) => {
            let left = timeout.saturating_sub(last_record.elapsed());
            (!left.is_zero()).then(|| FETCH_WAIT_MAX.min(left))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::record::Header;
    use bytes::Bytes;

    fn record(key: Option<&'static [u8]>, value: Option<&'static [u8]>, headers: Vec<Header>) -> Record {
        Record {
            offset: 0,
            timestamp: 0,
            sequence: -1,
            key: key.map(Bytes::from_static),
            value: value.map(Bytes::from_static),
            headers,
            size_in_bytes: 0,
        }
    }

    fn line(record: &Record, format: &FormatOptions) -> String {
        let mut out = Vec::new();
        format_record(record, format, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// Records print as DefaultMessageFormatter does: headers, then key, then
    /// value, separated by `key.separator`, with `null` and `NO_HEADERS`.
    #[test]
    fn records_print_like_the_console_consumer() {
        let plain = FormatOptions::default();
        let all = FormatOptions { print_key: true, print_headers: true, key_separator: "|".into() };
        let headers = vec![
            Header { key: "a".into(), value: Some(Bytes::from_static(b"1")) },
            Header { key: "b".into(), value: None },
        ];
        let r = record(Some(b"k"), Some(b"v"), headers);
        assert_eq!(line(&r, &plain), "v\n");
        assert_eq!(line(&r, &all), "a:1,b:null|k|v\n");
        let bare = record(None, None, vec![]);
        assert_eq!(line(&bare, &all), "NO_HEADERS|null|null\n");
        let keyed = FormatOptions { print_key: true, ..FormatOptions::default() };
        assert_eq!(line(&bare, &keyed), "null\tnull\n");
    }

    /// `--offset` takes a number or Kafka's two names, never a negative number.
    #[test]
    fn offsets_parse() {
        assert_eq!(StartOffset::parse("earliest"), Ok(StartOffset::Earliest));
        assert_eq!(StartOffset::parse("latest"), Ok(StartOffset::Latest));
        assert_eq!(StartOffset::parse("42"), Ok(StartOffset::At(42)));
        assert!(StartOffset::parse("-1").is_err());
        assert!(StartOffset::parse("soon").is_err());
    }
}
