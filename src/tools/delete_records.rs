//! `spool delete-records`: deletes the records of partitions before given
//! offsets, as `kafka-delete-records.sh` does, reading the same JSON file and
//! printing the same lines.
//!
//! ```text
//! $ cat offsets.json
//! {"partitions": [{"topic": "t", "partition": 0, "offset": 3}], "version": 1}
//! $ spool delete-records --bootstrap-server 127.0.0.1:9092 --offset-json-file offsets.json
//! Executing records delete operation
//! Records delete operation completed:
//! partition: t-0    low_watermark: 3
//! ```
//!
//! (The two fields are separated by a tab.) An offset of -1 deletes up to the high watermark. A partition the broker
//! refuses prints `partition: t-0<TAB>error: …` instead; a file Kafka's tool
//! refuses (not JSON, no `partitions`, a version other than 1, a partition
//! twice) is refused here with Kafka's message, before anything is sent.
//!
//! Simplifications: no `--command-config`; partitions are sent one by one.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

use super::client_properties::{AdminSettings, CommandConfigArg};
use crate::client::{Client, ClientError};
use crate::TopicPartition;

/// `spool delete-records`' flags (kafka-delete-records.sh's).
#[derive(Debug, Clone, clap::Args)]
pub struct DeleteRecordsArgs {
    /// Where to connect (default 127.0.0.1:9092).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[command(flatten)]
    pub command_config: CommandConfigArg,
    /// The JSON file naming each partition and the offset to delete before:
    /// {"partitions": [{"topic": "t", "partition": 0, "offset": 3}], "version": 1}
    #[arg(long, value_name = "FILE")]
    pub offset_json_file: PathBuf,
}

/// How long the leader may wait for its replicas (Kafka's admin client's
/// default `default.api.timeout.ms` is longer; its request timeout is 30 s).
const TIMEOUT_MS: i32 = 30_000;

pub async fn main(args: DeleteRecordsArgs) -> Result<(), ClientError> {
    let text = std::fs::read_to_string(&args.offset_json_file)
        .map_err(|e| ClientError::InvalidArgument(format!("{}: {e}", args.offset_json_file.display())))?;
    let offsets = parse_offset_json(&text)?;
    let command_config = args.command_config.command_config.as_deref();
    let mut client =
        AdminSettings::from_args(args.bootstrap_server.as_deref(), command_config)?.connect().await?;
    run(&mut client, &offsets, &mut std::io::stdout()).await
}

// ANCHOR: run
/// Deletes and prints what kafka-delete-records.sh prints.
pub async fn run(
    client: &mut Client,
    offsets: &[(TopicPartition, i64)],
    out: &mut impl Write,
) -> Result<(), ClientError> {
    writeln!(out, "Executing records delete operation")?;
    let mut results = Vec::new();
    for (partition, offset) in offsets {
        results.push((partition, client.delete_records(partition, *offset, TIMEOUT_MS).await));
    }
    writeln!(out, "Records delete operation completed:")?;
    for (partition, result) in results {
        match result {
            Ok(low_watermark) => writeln!(out, "partition: {partition}\tlow_watermark: {low_watermark}")?,
            Err(e) => writeln!(out, "partition: {partition}\terror: {e}")?,
        }
    }
    Ok(())
}
// ANCHOR_END: run

/// The partitions and offsets of an offset JSON file, in the file's order,
/// with Kafka's refusals (`DeleteRecordsCommand.parseOffsetJsonStringWithoutDedup`).
pub fn parse_offset_json(text: &str) -> Result<Vec<(TopicPartition, i64)>, ClientError> {
    let refuse = |m: String| ClientError::InvalidArgument(m);
    let json: Value =
        serde_json::from_str(text).map_err(|_| refuse("The input string is not a valid JSON".into()))?;
    let version = json.get("version").map_or(Some(1), Value::as_i64);
    if version != Some(1) {
        let shown = json.get("version").map_or_else(String::new, Value::to_string);
        return Err(refuse(format!("Not supported version field value {shown}")));
    }
    let partitions = json.get("partitions").ok_or_else(|| refuse("Missing partitions field".into()))?;
    let partitions = partitions.as_array().ok_or_else(|| refuse("partitions: expected an array".into()))?;
    let mut offsets = Vec::new();
    for p in partitions {
        let field = |name: &str| p.get(name).ok_or_else(|| refuse(format!("Missing {name} field in {p}")));
        let topic =
            field("topic")?.as_str().ok_or_else(|| refuse(format!("topic: expected a string in {p}")))?;
        let partition = (field("partition")?.as_i64())
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| refuse(format!("partition: expected an int in {p}")))?;
        let offset =
            field("offset")?.as_i64().ok_or_else(|| refuse(format!("offset: expected a long in {p}")))?;
        offsets.push((TopicPartition::new(topic.to_string(), partition), offset));
    }
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<String> =
        offsets.iter().filter(|(tp, _)| !seen.insert(tp.clone())).map(|(tp, _)| tp.to_string()).collect();
    if !duplicates.is_empty() {
        let list = duplicates.into_iter().collect::<Vec<_>>().join(",");
        return Err(refuse(format!("Offset json file contains duplicate topic partitions: {list}")));
    }
    Ok(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's file format parses, in order, with version 1 the default.
    #[test]
    fn an_offset_file_parses_in_order() {
        let text = r#"{"partitions": [{"topic": "t", "partition": 1, "offset": 3},
                                     {"topic": "a", "partition": 0, "offset": -1}]}"#;
        let parsed = parse_offset_json(text).unwrap();
        assert_eq!(parsed, vec![(TopicPartition::new("t", 1), 3), (TopicPartition::new("a", 0), -1)]);
    }

    /// The files Kafka's tool refuses are refused, with its messages.
    #[test]
    fn bad_offset_files_are_refused_with_kafkas_messages() {
        let cases = [
            ("not json", "The input string is not a valid JSON"),
            (r#"{"version": 1}"#, "Missing partitions field"),
            (r#"{"partitions": [], "version": 2}"#, "Not supported version field value 2"),
            (
                r#"{"partitions": [{"topic": "t", "partition": 0, "offset": 1},
                                   {"topic": "t", "partition": 0, "offset": 2}], "version": 1}"#,
                "Offset json file contains duplicate topic partitions: t-0",
            ),
            (r#"{"partitions": [{"topic": "t", "offset": 1}]}"#, "Missing partition field"),
        ];
        for (text, message) in cases {
            let error = parse_offset_json(text).unwrap_err().to_string();
            assert!(error.contains(message), "{text}: {error}");
        }
    }
}
