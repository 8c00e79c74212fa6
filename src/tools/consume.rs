//! `spool consume`: print a topic's records, as `kafka-console-consumer.sh`
//! (and `kcat -C`) do.
//!
//! It finds the topic's partitions (Metadata), assigns them to chapter 4's
//! [`Consumer`], seeks each (ListOffsets: the end by default, the start with
//! `--from-beginning`, or `--offset N` on one `--partition`), then polls and
//! prints each record as Kafka's `DefaultMessageFormatter` does
//! ([`super::formatter`]), configured the way Kafka's tool is: `--property
//! print.key=true --property print.timestamp=true`, `print.partition`,
//! `print.offset`, `print.headers`, `print.value`, `key.separator`,
//! `line.separator`, `headers.separator`, `null.literal`, or a
//! `--formatter-config FILE` of them. spool's shorthands `--print-key`,
//! `--print-headers` and `--key-separator` stay and win over the properties:
//!
//! ```text
//!  [CreateTime:1700000000000 <sep>] [Partition:0 <sep>] [Offset:5 <sep>] [h1:v1,h2:v2 <sep>] [key <sep>] value
//! ```
//!
//! The consumer's settings come as Kafka's tool takes them, later ones
//! winning: this tool's (`client.id` `console-consumer`, no auto commit,
//! `auto.offset.reset` from `--from-beginning`), `--consumer.config FILE`,
//! `--consumer-property k=v`, then `--group` and `--isolation-level`. Keys
//! spool's consumer does not use are warned about and ignored;
//! `security.protocol`, `ssl.*` and `sasl.*` secure its connections
//! ([`super::client_properties::client_security`]).
//!
//! It stops after `--max-messages`, after `--timeout-ms` without a new record,
//! or on Ctrl-C, then prints `Processed a total of N messages` on stderr.
//!
//! With `--group G` (or `group.id` in the consumer properties; chapter 5) it is a member of consumer group `G`
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

use super::client_properties::{client_security, file_then_flags, is_security_key};
use super::formatter::{Formatter, RecordPlace};
use super::line_reader::warn_unknown;
use super::unescape;
use crate::client::group_consumer::GroupConfig;
use crate::client::{ClientError, Consumer, ConsumerConfig, ConsumerRecord, GroupConsumer, OffsetSpec};
use crate::TopicPartition;

/// `client.id` unless the properties name one, as Kafka's console consumer.
pub const CLIENT_ID: &str = "console-consumer";

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
    /// Print each record's key before its value (print.key=true).
    #[arg(long)]
    pub print_key: bool,
    /// Between fields (key.separator; `\t` is a tab, the default).
    #[arg(long, value_name = "SEP", value_parser = unescape)]
    pub key_separator: Option<String>,
    /// Print each record's headers first (print.headers=true: k:v,k2:v2, or NO_HEADERS).
    #[arg(long)]
    pub print_headers: bool,
    /// A formatter setting: print.timestamp, print.key, print.offset,
    /// print.partition, print.headers, print.value, key.separator,
    /// line.separator, headers.separator, null.literal, key.deserializer,
    /// value.deserializer (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub formatter_properties: Vec<String>,
    /// A properties file of formatter settings (--property wins over it).
    #[arg(long = "formatter-config", value_name = "FILE")]
    pub formatter_config: Option<PathBuf>,
    /// The key's deserializer class (only String/ByteArray: bytes print as they are).
    #[arg(long, value_name = "CLASS")]
    pub key_deserializer: Option<String>,
    /// The value's deserializer class (only String/ByteArray).
    #[arg(long, value_name = "CLASS")]
    pub value_deserializer: Option<String>,
    /// read_uncommitted (the default; spool's consumer reads no other way yet).
    #[arg(long, value_name = "LEVEL")]
    pub isolation_level: Option<String>,
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

    /// How records are printed: `--formatter-config`, the deserializer
    /// flags, `--property`, then spool's `--print-key`, `--print-headers`
    /// and `--key-separator`.
    pub fn formatter(&self) -> Result<Formatter, ClientError> {
        let mut properties =
            file_then_flags("--property", self.formatter_config.as_deref(), &self.formatter_properties)?;
        let deserializers =
            [("key.deserializer", &self.key_deserializer), ("value.deserializer", &self.value_deserializer)];
        for (key, class) in deserializers {
            if let Some(class) = class {
                properties.insert(0, (key.into(), class.clone()));
            }
        }
        let mut formatter = Formatter::from_properties(&properties)?;
        formatter.print_key |= self.print_key;
        formatter.print_headers |= self.print_headers;
        if let Some(separator) = &self.key_separator {
            formatter.key_separator = separator.as_bytes().to_vec();
        }
        Ok(formatter)
    }

    /// The broker and the consumer's settings, the same for both modes:
    /// [`CLIENT_ID`], no auto commit (with a group the tool commits exactly
    /// what it printed; auto commit would commit positions past records a
    /// `--max-messages` stop never printed), `auto.offset.reset=earliest`
    /// with `--from-beginning`, then the consumer properties (file, then
    /// flags), then `--group`. A group id given twice must be the same one,
    /// and a group cannot be read one `--partition` at a time — as in Kafka.
    pub fn consumer_config(&self) -> Result<(String, ConsumerConfig), ClientError> {
        let properties = file_then_flags(
            "--consumer-property",
            self.consumer_config.as_deref(),
            &self.consumer_properties,
        )?;
        let bootstrap = super::bootstrap_servers(self.bootstrap_server.as_deref(), &properties);
        let mut config = ConsumerConfig { client_id: Some(CLIENT_ID.into()), ..ConsumerConfig::default() };
        config.set("enable.auto.commit", "false")?;
        if self.from_beginning {
            config.set("auto.offset.reset", "earliest")?;
        }
        let mut isolation_level = self.isolation_level.clone();
        for (key, value) in &properties {
            let value = value.trim();
            match key.as_str() {
                "bootstrap.servers" => {}
                "auto.offset.reset" if self.from_beginning && value != "earliest" => {
                    return Err(ClientError::InvalidArgument(format!(
                        "Can't simultaneously specify --from-beginning and 'auto.offset.reset={value}', \
                         please remove one option"
                    )))
                }
                "isolation.level" => isolation_level = isolation_level.or(Some(value.to_string())),
                _ if ConsumerConfig::KEYS.contains(&key.as_str())
                    || GroupConfig::KEYS.contains(&key.as_str()) =>
                {
                    config.set(key, value)?
                }
                _ if is_security_key(key) => {}
                _ => warn_unknown("consumer", key, ConsumerConfig::KEYS),
            }
        }
        check_isolation_level(isolation_level.as_deref())?;
        self.set_group(&mut config)?;
        Ok((bootstrap, config))
    }

    /// How the consumer's connections are secured: the consumer properties'
    /// `security.protocol`, `ssl.*` and `sasl.*` keys (file, then flags).
    pub fn security(&self) -> Result<crate::client::Security, ClientError> {
        client_security(&file_then_flags(
            "--consumer-property",
            self.consumer_config.as_deref(),
            &self.consumer_properties,
        )?)
    }

    /// `--group` into `config`, checked against a `group.id` property.
    fn set_group(&self, config: &mut ConsumerConfig) -> Result<(), ClientError> {
        match (&self.group, &config.group.group_id) {
            (Some(flag), Some(property)) if flag != property => {
                return Err(ClientError::InvalidArgument(format!(
                    "The group ids provided in different places (directly using '--group', \
                     using '--consumer-property', or using '--consumer.config') do not match. \
                     Detected group ids: '{flag}', '{property}'"
                )))
            }
            (Some(flag), _) => config.set("group.id", flag)?,
            (None, _) => {}
        }
        if config.group.group_id.is_some() && (self.partition.is_some() || self.offset.is_some()) {
            return Err(ClientError::InvalidArgument(
                "Options group and partition cannot be specified together.".into(),
            ));
        }
        Ok(())
    }
}

/// `isolation.level`: spool's consumer reads every record (Fetch's
/// isolation level 0), so `read_committed` is refused rather than ignored.
fn check_isolation_level(level: Option<&str>) -> Result<(), ClientError> {
    match level {
        None | Some("read_uncommitted") => Ok(()),
        Some(other) => Err(ClientError::InvalidArgument(format!(
            "isolation.level={other}: spool's console consumer reads read_uncommitted only"
        ))),
    }
}

/// `spool consume`: prints records until `--max-messages`, `--timeout-ms` or
/// Ctrl-C, then `Processed a total of N messages` on stderr. With `--group`
/// it leaves the group on the way out.
pub async fn main(args: ConsumeArgs) -> Result<(), ClientError> {
    let (bootstrap, config) = args.consumer_config()?;
    let security = args.security()?;
    let formatter = args.formatter()?;
    // Listen for Ctrl-C (SIGINT) from the start, so an early one still ends
    // the tool cleanly with its summary line.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let stop = async move {
        interrupt.recv().await;
    };
    let mut out = std::io::stdout().lock();
    let consumed = if config.group.group_id.is_some() {
        let mut consumer = GroupConsumer::connect_with(&bootstrap, config, security).await?;
        let result = run_group(&mut consumer, &args, &formatter, &mut out, stop).await;
        let closed = consumer.close().await;
        let consumed = result?;
        closed?;
        consumed
    } else {
        let mut consumer = Consumer::connect_with(&bootstrap, config, security).await?;
        run(&mut consumer, &args, &formatter, &mut out, stop).await?
    };
    eprintln!("Processed a total of {consumed} messages");
    Ok(())
}

/// How long one poll may wait: short enough to notice `--timeout-ms` and
/// Ctrl-C promptly.
const FETCH_WAIT_MAX: Duration = Duration::from_millis(500);

/// Appends one record's line to `out`.
fn format_record(formatter: &Formatter, r: &ConsumerRecord, out: &mut Vec<u8>) {
    formatter.write(&r.record, RecordPlace { partition: r.partition, timestamp_type: r.timestamp_type }, out);
}

/// Consumes until `--max-messages`, `--timeout-ms` or `stop` resolves (Ctrl-C);
/// returns the number of records printed.
pub async fn run(
    consumer: &mut Consumer,
    args: &ConsumeArgs,
    formatter: &Formatter,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> Result<u64, ClientError> {
    assign_and_seek(consumer, args).await?;
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
            format_record(formatter, r, &mut buf);
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
    formatter: &Formatter,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> Result<u64, ClientError> {
    consumer.subscribe([args.topic.clone()]);
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
            format_record(formatter, &r, &mut buf);
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
