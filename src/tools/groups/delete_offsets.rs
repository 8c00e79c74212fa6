//! `spool groups --delete-offsets --group G --topic T[:P,P]` (KIP-496), as
//! kafka-consumer-groups.sh does it: a `--topic` without partitions means
//! all of its partitions (from the metadata), and the answer is Kafka's
//! summary line and its TOPIC / PARTITION / STATUS table.
//!
//! ```text
//! $ spool groups --delete-offsets --group billing --topic orders:0,1
//! Request succeed for deleting offsets with topic orders:0,1 group billing
//!
//! TOPIC                          PARTITION       STATUS
//! orders                         0               Successful
//! orders                         1               Successful
//! ```
//!
//! A group-level error (the group does not exist, or has members of another
//! protocol) prints Kafka's message on stderr and every partition as that
//! error. Unlike kafka-consumer-groups.sh, which exits 0 whatever happened,
//! spool exits non-zero when any offset was not deleted, so a script notices.

use std::io::Write;

use kafka_protocol::ResponseError;

use crate::client::{Client, ClientError};
use crate::TopicPartition;

/// `T` (every partition) or `T:P,P` — one `--topic` value.
pub fn parse_topic(value: &str) -> Result<(String, Option<Vec<i32>>), ClientError> {
    let Some((topic, partitions)) = value.split_once(':') else {
        return Ok((value.to_string(), None));
    };
    let partitions = partitions
        .split(',')
        .map(|p| p.trim().parse::<i32>().ok().filter(|&p| p >= 0))
        .collect::<Option<Vec<i32>>>()
        .ok_or_else(|| ClientError::InvalidArgument(format!("invalid partitions in --topic {value}")))?;
    Ok((topic.to_string(), Some(partitions)))
}

// ANCHOR: delete_offsets_tool
/// Deletes `group`'s offsets of `topics` (each `T` or `T:P,P`) and writes
/// kafka-consumer-groups.sh's report to `out` (its error line to `err`).
pub async fn run(
    client: &mut Client,
    group: &str,
    topics: &[String],
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), ClientError> {
    let mut partitions = Vec::new();
    for value in topics {
        match parse_topic(value)? {
            (topic, Some(ps)) => partitions.extend(ps.into_iter().map(|p| TopicPartition::new(&topic, p))),
            (topic, None) => {
                let metadata = client.metadata(Some(&[topic.as_str()]), false).await?;
                let known = metadata.topics.iter().find(|t| t.name == topic && t.error_code == 0);
                let Some(known) = known else {
                    return Err(ClientError::InvalidArgument(format!("Topic '{topic}' does not exist.")));
                };
                partitions.extend(known.partitions.iter().map(|p| TopicPartition::new(&topic, p.partition)));
            }
        }
    }
    let rows: Vec<(TopicPartition, Option<ResponseError>)> =
        match client.delete_offsets(group, &partitions).await {
            Ok(results) => results.into_iter().map(|(tp, r)| (tp, r.err().and_then(|e| e.code()))).collect(),
            Err(e) if e.code().is_some() => partitions.into_iter().map(|tp| (tp, e.code())).collect(),
            Err(e) => return Err(e),
        };
    let first_error = rows.iter().find_map(|(_, e)| *e);
    match first_error {
        None => writeln!(
            out,
            "Request succeed for deleting offsets with topic {} group {group}",
            topics.join(", ")
        )?,
        Some(e) => writeln!(err, "\nError: {}", summary(group, e))?,
    }
    write!(out, "{}", format_statuses(&rows))?;
    match first_error {
        None => Ok(()),
        Some(e) => Err(ClientError::InvalidArgument(summary(group, e))),
    }
}
// ANCHOR_END: delete_offsets_tool

/// kafka-consumer-groups.sh's line for the request's outcome.
fn summary(group: &str, error: ResponseError) -> String {
    match error {
        ResponseError::InvalidGroupId => format!("'{group}' is not valid."),
        ResponseError::GroupIdNotFound => format!("'{group}' does not exist."),
        ResponseError::NonEmptyGroup => {
            format!("Deleting offsets of a consumer group '{group}' is forbidden if the group is not empty.")
        }
        ResponseError::GroupSubscribedToTopic | ResponseError::UnknownTopicOrPartition => {
            "Encounter some partition level error, see the follow-up details:".to_string()
        }
        other => format!("Encounter some unknown error: {other}"),
    }
}

/// The TOPIC / PARTITION / STATUS table, sorted as Kafka sorts it (by topic
/// and partition as one string), each line led by a newline as Kafka prints it.
pub fn format_statuses(rows: &[(TopicPartition, Option<ResponseError>)]) -> String {
    let line =
        |topic: &str, partition: &str, status: &str| format!("\n{topic:<30} {partition:<15} {status:<15}");
    let mut sorted: Vec<_> = rows.iter().collect();
    sorted.sort_by_key(|(tp, _)| format!("{}{}", tp.topic, tp.partition));
    let mut out = line("TOPIC", "PARTITION", "STATUS");
    for (tp, error) in sorted {
        let status = error.map_or_else(|| "Successful".to_string(), |e| format!("Error: :{e}"));
        out.push_str(&line(&tp.topic, &tp.partition.to_string(), &status));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // `--topic` takes Kafka's two forms, and refuses a partition that is not a number.
    #[test]
    fn topic_values_parse_as_kafka_consumer_groups_takes_them() {
        assert_eq!(parse_topic("t").unwrap(), ("t".to_string(), None));
        assert_eq!(parse_topic("t:0,2").unwrap(), ("t".to_string(), Some(vec![0, 2])));
        assert!(parse_topic("t:x").is_err());
        assert!(parse_topic("t:-1").is_err());
    }

    // The table is kafka-consumer-groups.sh's: 30/15/15 columns, sorted, one status a line.
    #[test]
    fn the_status_table_reads_as_kafkas() {
        let rows = [
            (TopicPartition::new("t", 1), Some(ResponseError::GroupSubscribedToTopic)),
            (TopicPartition::new("t", 0), None),
        ];
        let table = format_statuses(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(lines[1].trim_end(), format!("{:<30} {:<15} STATUS", "TOPIC", "PARTITION"));
        assert_eq!(lines[2].trim_end(), format!("{:<30} {:<15} Successful", "t", "0"));
        assert!(lines[3].starts_with(&format!("{:<30} {:<15} Error: :", "t", "1")), "{table}");
        assert!(table.ends_with('\n'));
    }
}
