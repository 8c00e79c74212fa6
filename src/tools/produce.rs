//! `spool produce`: lines from stdin become records, as
//! `kafka-console-producer.sh` (and `kcat -P`) make them.
//!
//! Each line is a record's value; with `--key-separator SEP` the text before
//! the first `SEP` is its key (the console producer's `parse.key=true` and
//! `key.separator`). `--header k=v` adds the same headers to every record, as
//! `kcat -H` does. A record goes to `--partition P` if given, else to
//! `murmur2(key) % partitions` like the Java client's default partitioner, or
//! round-robin when it has no key ([`crate::client::partitioner`]).
//!
//! ```text
//!  stdin ──(reader thread)──▶ lines ──▶ pending records ──▶ Client::produce
//!                                       flushed at RECORDS_PER_REQUEST_MAX,
//!                                       BYTES_PER_REQUEST_MAX, end of input, or
//!                                       after LINGER of quiet on stdin
//! ```
//!
//! The linger is what lets the same loop serve a pipe (full requests, few round
//! trips) and a person typing (each line sent at once): it is the console
//! producer's `linger.ms`, in miniature. Chapter 4 is about doing this well.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::client::partitioner::{partition_for_key, RoundRobin};
use crate::client::{Client, ClientError, ProduceOptions, ProducerRecord};

/// A request carries at most this many records…
pub const RECORDS_PER_REQUEST_MAX: usize = 1000;
/// …and at most about this many bytes of keys, values and headers.
pub const BYTES_PER_REQUEST_MAX: usize = 1024 * 1024;
/// Pending records are sent after stdin has been quiet this long.
pub const LINGER: Duration = Duration::from_millis(10);
/// Lines read ahead of the network, at most.
const LINES_QUEUED_MAX: usize = 4096;

/// What `spool produce` was asked to do.
#[derive(Debug, Clone)]
pub struct ProduceArgs {
    pub topic: String,
    /// `parse.key=true` with this `key.separator`; `None`: lines are values only.
    pub key_separator: Option<String>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub partition: Option<i32>,
    pub options: ProduceOptions,
}

/// What was produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProduceSummary {
    pub records: u64,
    pub requests: u64,
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

/// Produces every line from `lines` until it ends.
pub async fn run(
    client: &mut Client,
    args: &ProduceArgs,
    mut lines: mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> Result<ProduceSummary, ClientError> {
    // A producer's first Metadata may create the topic (auto.create.topics.enable).
    let partitions = client.topic(&args.topic, true).await?.partitions.len() as i32;
    if let Some(p) = args.partition.filter(|&p| p < 0 || p >= partitions) {
        return Err(ClientError::InvalidArgument(format!(
            "topic {} has no partition {p} (it has {partitions})",
            args.topic
        )));
    }
    let mut round_robin = RoundRobin::starting_at(std::process::id());
    let mut pending: BTreeMap<i32, Vec<ProducerRecord>> = BTreeMap::new();
    let (mut pending_records, mut pending_bytes) = (0usize, 0usize);
    let mut summary = ProduceSummary::default();
    loop {
        let next = if pending_records == 0 {
            lines.recv().await
        } else {
            match tokio::time::timeout(LINGER, lines.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    flush(client, args, &mut pending, &mut summary).await?;
                    (pending_records, pending_bytes) = (0, 0);
                    continue;
                }
            }
        };
        let Some(line) = next else { break };
        let (key, value) =
            parse_line(&line?, args.key_separator.as_deref()).map_err(ClientError::InvalidArgument)?;
        let partition = match (args.partition, &key) {
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, partitions),
            (None, None) => round_robin.next(partitions),
        };
        pending_bytes += key.as_ref().map_or(0, Bytes::len) + value.len();
        pending_records += 1;
        let headers = args.headers.clone();
        pending.entry(partition).or_default().push(ProducerRecord {
            key,
            value: Some(value),
            headers,
            timestamp_ms: None,
        });
        if pending_records >= RECORDS_PER_REQUEST_MAX || pending_bytes >= BYTES_PER_REQUEST_MAX {
            flush(client, args, &mut pending, &mut summary).await?;
            (pending_records, pending_bytes) = (0, 0);
        }
    }
    flush(client, args, &mut pending, &mut summary).await?;
    Ok(summary)
}

async fn flush(
    client: &mut Client,
    args: &ProduceArgs,
    pending: &mut BTreeMap<i32, Vec<ProducerRecord>>,
    summary: &mut ProduceSummary,
) -> Result<(), ClientError> {
    if pending.is_empty() {
        return Ok(());
    }
    let records = std::mem::take(pending);
    summary.records += records.values().map(|r| r.len() as u64).sum::<u64>();
    summary.requests += 1;
    client.produce(&args.topic, records, args.options).await?;
    Ok(())
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
