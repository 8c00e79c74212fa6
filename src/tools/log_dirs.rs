//! `spool log-dirs --describe`, as kafka-log-dirs.sh does it: DescribeLogDirs
//! (KIP-113) on every broker (or those of `--broker-list`), printed as
//! Kafka's JSON, optionally only the partitions of `--topic-list`'s topics.
//!
//! ```text
//! $ spool log-dirs --describe --bootstrap-server 127.0.0.1:9092 --topic-list orders
//! Querying brokers for log directories information
//! Received log directory information from brokers 1
//! {"brokers":[{"broker":1,"logDirs":[{"error":null,"logDir":"/var/spool","partitions":[{"isFuture":false,"offsetLag":0,"partition":"orders-0","size":1048576}]}]}],"version":1}
//! ```
//!
//! As in Kafka the topic filter is applied to the answer (every partition
//! is asked for). An offline directory's `error` is the name of Kafka's
//! exception class for its error, as Kafka prints it.

use serde_json::{json, Value};

use super::client_properties::{AdminSettings, CommandConfigArg};
use crate::client::log_dirs::LogDirDescription;
use crate::client::{Client, ClientError};

/// `spool log-dirs`' flags: kafka-log-dirs.sh's.
#[derive(Debug, Clone, clap::Args)]
pub struct LogDirsArgs {
    /// Where to connect (default 127.0.0.1:9092).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[command(flatten)]
    pub command_config: CommandConfigArg,
    /// Describe the log directories of the brokers (the only action).
    #[arg(long, required = true)]
    pub describe: bool,
    /// Only these topics' partitions, as `topic1,topic2` (default: all).
    #[arg(long, value_name = "TOPICS", default_value = "")]
    pub topic_list: String,
    /// Only these brokers, as `0,1,2` (default: all).
    #[arg(long, value_name = "BROKERS", default_value = "")]
    pub broker_list: String,
}

/// `spool log-dirs`: connects, asks, prints to stdout.
pub async fn main(args: LogDirsArgs) -> Result<(), ClientError> {
    let command_config = args.command_config.command_config.as_deref();
    let mut client =
        AdminSettings::from_args(args.bootstrap_server.as_deref(), command_config)?.connect().await?;
    let out = run(&mut client, &args.topic_list, &args.broker_list).await?;
    print!("{out}");
    Ok(())
}

fn split(list: &str) -> Vec<&str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

// ANCHOR: log_dirs_tool
/// What kafka-log-dirs.sh prints for `--topic-list` and `--broker-list`.
pub async fn run(client: &mut Client, topic_list: &str, broker_list: &str) -> Result<String, ClientError> {
    let topics = split(topic_list);
    let mut wanted_brokers = Vec::new();
    for b in split(broker_list) {
        let id =
            b.parse::<i32>().map_err(|_| ClientError::InvalidArgument(format!("invalid broker id {b}")))?;
        wanted_brokers.push(id);
    }
    let mut brokers = client.describe_log_dirs(None).await?;
    let known: Vec<i32> = brokers.iter().map(|(id, _)| *id).collect();
    let missing: Vec<String> =
        wanted_brokers.iter().filter(|id| !known.contains(id)).map(i32::to_string).collect();
    if !missing.is_empty() {
        let existing: Vec<String> = known.iter().map(i32::to_string).collect();
        return Err(ClientError::InvalidArgument(format!(
            "ERROR: The given brokers do not exist from --broker-list: {}. Current existent brokers: {}",
            missing.join(","),
            existing.join(",")
        )));
    }
    if !wanted_brokers.is_empty() {
        brokers.retain(|(id, _)| wanted_brokers.contains(id));
    }
    let ids: Vec<String> = brokers.iter().map(|(id, _)| id.to_string()).collect();
    let json = format_json(&brokers, &topics);
    Ok(format!(
        "Querying brokers for log directories information\nReceived log directory information from brokers {}\n{json}\n",
        ids.join(",")
    ))
}
// ANCHOR_END: log_dirs_tool

/// Kafka's JSON (`version` 1): per broker, per log directory, its error and partitions.
pub fn format_json(brokers: &[(i32, Vec<LogDirDescription>)], topics: &[&str]) -> String {
    let brokers: Vec<Value> = brokers
        .iter()
        .map(|(id, dirs)| {
            let dirs: Vec<Value> = dirs
                .iter()
                .map(|d| {
                    let partitions: Vec<Value> = d
                        .partitions
                        .iter()
                        .filter(|p| topics.is_empty() || topics.contains(&p.topic.as_str()))
                        .map(|p| {
                            json!({
                                "partition": format!("{}-{}", p.topic, p.partition),
                                "size": p.size_bytes,
                                "offsetLag": p.offset_lag,
                                "isFuture": p.is_future,
                            })
                        })
                        .collect();
                    json!({ "logDir": d.path, "error": d.error, "partitions": partitions })
                })
                .collect();
            json!({ "broker": id, "logDirs": dirs })
        })
        .collect();
    json!({ "version": 1, "brokers": brokers }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::log_dirs::LogDirPartition;

    // kafka-log-dirs.sh's JSON: "topic-partition" names, size, offsetLag,
    // isFuture, a null error; --topic-list keeps only its topics' partitions.
    #[test]
    fn the_json_is_kafka_log_dirs_and_filters_by_topic() {
        let partition = |topic: &str, size_bytes| LogDirPartition {
            topic: topic.into(),
            partition: 0,
            size_bytes,
            offset_lag: 0,
            is_future: false,
        };
        let dir = LogDirDescription {
            path: "/d".into(),
            error: None,
            partitions: vec![partition("a", 10), partition("b", 20)],
            total_bytes: 100,
            usable_bytes: 50,
        };
        let json: Value = serde_json::from_str(&format_json(&[(1, vec![dir])], &["b"])).unwrap();
        let expected = json!({"version": 1, "brokers": [{"broker": 1, "logDirs": [{
            "logDir": "/d", "error": null,
            "partitions": [{"partition": "b-0", "size": 20, "offsetLag": 0, "isFuture": false}]
        }]}]});
        assert_eq!(json, expected);
    }
}
