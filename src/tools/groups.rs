//! `spool groups`: list, describe and delete consumer groups, as
//! `kafka-consumer-groups.sh` does — ListGroups, DescribeGroups, OffsetFetch,
//! ListOffsets and DeleteGroups through [`crate::client`].
//!
//! `--describe` prints each partition the group has a committed offset for or
//! a member reading it, with its lag (log end offset minus committed offset),
//! in kafka-consumer-groups.sh's columns:
//!
//! ```text
//! $ spool groups --describe --group billing
//!
//! GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
//! billing         orders          0          120             130             10              spool-cli-3f…   /127.0.0.1      spool-cli
//! billing         orders          1          -               97              -               spool-cli-3f…   /127.0.0.1      spool-cli
//! ```
//!
//! `--describe --members` prints one line per member instead (with
//! `--verbose`, its partitions too). `--delete-offsets` (KIP-496) is in
//! [`delete_offsets`]. Simplifications: no `--reset-offsets` or `--state`;
//! `--all-groups` is not supported.

pub mod delete_offsets;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use super::client_properties::{AdminSettings, CommandConfigArg};
use crate::client::{Client, ClientError, GroupDescription, OffsetSpec};
use crate::TopicPartition;

/// `spool groups`' flags: kafka-consumer-groups.sh's.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["list", "describe", "delete", "delete_offsets"])))]
pub struct GroupsArgs {
    /// Where to connect (default 127.0.0.1:9092).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[command(flatten)]
    pub command_config: CommandConfigArg,
    /// List every group's id.
    #[arg(long)]
    pub list: bool,
    /// Describe --group: its partitions' offsets and lag (or, with --members, its members).
    #[arg(long, requires = "group")]
    pub describe: bool,
    /// Delete --group (only a group without members).
    #[arg(long, requires = "group")]
    pub delete: bool,
    /// Delete --group's committed offsets of each --topic (KIP-496).
    #[arg(long, requires_all = ["group", "topic"])]
    pub delete_offsets: bool,
    /// A group (repeatable).
    #[arg(long)]
    pub group: Vec<String>,
    /// With --delete-offsets: `TOPIC` (all its partitions) or `TOPIC:P,P` (repeatable).
    #[arg(long, requires = "delete_offsets")]
    pub topic: Vec<String>,
    /// With --describe: one line per member instead of per partition.
    #[arg(long, requires = "describe")]
    pub members: bool,
    /// With --describe --members: each member's partitions too.
    #[arg(long, requires = "members")]
    pub verbose: bool,
}

impl GroupsArgs {
    /// The one action the flags ask for.
    pub fn command(&self) -> GroupsCommand {
        let groups = self.group.clone();
        if self.list {
            GroupsCommand::List
        } else if self.describe && self.members {
            GroupsCommand::DescribeMembers { groups, verbose: self.verbose }
        } else if self.describe {
            GroupsCommand::DescribeOffsets(groups)
        } else if self.delete_offsets {
            GroupsCommand::DeleteOffsets { groups, topics: self.topic.clone() }
        } else {
            GroupsCommand::Delete(groups)
        }
    }
}

/// `spool groups`: connects, runs the command, prints to stdout.
pub async fn main(args: GroupsArgs) -> Result<(), ClientError> {
    let command_config = args.command_config.command_config.as_deref();
    let mut client =
        AdminSettings::from_args(args.bootstrap_server.as_deref(), command_config)?.connect().await?;
    run(&mut client, args.command(), &mut std::io::stdout().lock()).await
}

/// What `spool groups` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupsCommand {
    List,
    /// Each group's partitions, offsets and lag.
    DescribeOffsets(Vec<String>),
    /// Each group's members; `verbose` adds their assignments.
    DescribeMembers {
        groups: Vec<String>,
        verbose: bool,
    },
    Delete(Vec<String>),
    /// The groups' committed offsets of these `--topic` values.
    DeleteOffsets {
        groups: Vec<String>,
        topics: Vec<String>,
    },
}

/// One line of `--describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRow {
    pub topic: String,
    pub partition: i32,
    /// The committed offset, if any.
    pub current: Option<i64>,
    pub log_end: Option<i64>,
    /// (consumer id, host, client id) of the member reading it, if any.
    pub member: Option<(String, String, String)>,
}

/// Runs one `spool groups` command, writing what kafka-consumer-groups.sh would print to `out`.
pub async fn run(
    client: &mut Client,
    command: GroupsCommand,
    out: &mut impl Write,
) -> Result<(), ClientError> {
    match command {
        GroupsCommand::List => {
            for group in client.list_groups().await? {
                writeln!(out, "{}", group.group_id)?;
            }
        }
        GroupsCommand::DescribeOffsets(groups) => {
            for group in groups {
                let description = describe(client, &group).await?;
                let rows = offset_rows(client, &description).await?;
                write!(out, "{}", format_offsets(&group, &rows))?;
            }
        }
        GroupsCommand::DescribeMembers { groups, verbose } => {
            for group in groups {
                let description = describe(client, &group).await?;
                write!(out, "{}", format_members(&description, verbose))?;
            }
        }
        GroupsCommand::DeleteOffsets { groups, topics } => {
            for group in groups {
                delete_offsets::run(client, &group, &topics, out, &mut std::io::stderr()).await?;
            }
        }
        GroupsCommand::Delete(groups) => {
            let names: Vec<&str> = groups.iter().map(String::as_str).collect();
            let results = client.delete_groups(&names).await?;
            let failed: Vec<&(String, Result<(), ClientError>)> =
                results.iter().filter(|(_, r)| r.is_err()).collect();
            if failed.is_empty() {
                let quoted: Vec<String> = groups.iter().map(|g| format!("'{g}'")).collect();
                writeln!(
                    out,
                    "Deletion of requested consumer groups ({}) was successful.",
                    quoted.join(", ")
                )?;
            } else {
                let mut why = String::from("Deletion of some consumer groups failed:");
                for (group, result) in failed {
                    if let Err(e) = result {
                        why.push_str(&format!("\n* Group '{group}' could not be deleted due to: {e}"));
                    }
                }
                return Err(ClientError::InvalidArgument(why));
            }
        }
    }
    Ok(())
}

/// DescribeGroups, with Kafka's wording for a group that is not there.
async fn describe(client: &mut Client, group: &str) -> Result<GroupDescription, ClientError> {
    let description = client.describe_group(group).await?;
    if description.state == "Dead" {
        return Err(ClientError::InvalidArgument(format!("Consumer group '{group}' does not exist.")));
    }
    Ok(description)
}

/// The partitions with a committed offset or a reader, with log end offsets.
async fn offset_rows(
    client: &mut Client,
    description: &GroupDescription,
) -> Result<Vec<OffsetRow>, ClientError> {
    let coordinator = client.find_coordinator(&description.group_id).await?;
    let committed = client.committed_offsets(&coordinator, &description.group_id, None).await?;
    let mut readers: BTreeMap<TopicPartition, (String, String, String)> = BTreeMap::new();
    for m in &description.members {
        for tp in &m.assignment {
            readers.insert(tp.clone(), (m.member_id.clone(), m.client_host.clone(), m.client_id.clone()));
        }
    }
    let partitions: BTreeSet<TopicPartition> = committed.keys().chain(readers.keys()).cloned().collect();
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in &partitions {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    let mut log_end: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    for (topic, partitions) in by_topic {
        client.invalidate(topic);
        // A deleted topic's offsets are still described, without a log end.
        if let Ok(offsets) = client.list_offsets(topic, &partitions, OffsetSpec::Latest).await {
            log_end.extend(offsets.into_iter().map(|(p, o)| (TopicPartition::new(topic, p), o)));
        }
    }
    Ok(partitions
        .into_iter()
        .map(|tp| OffsetRow {
            current: committed.get(&tp).copied(),
            log_end: log_end.get(&tp).copied(),
            member: readers.get(&tp).cloned(),
            topic: tp.topic,
            partition: tp.partition,
        })
        .collect())
}

/// Column widths as kafka-consumer-groups.sh computes them: at least 15, or the longest value.
fn width<'a>(values: impl Iterator<Item = &'a str>) -> usize {
    values.map(str::len).max().unwrap_or(0).max(15)
}

fn dash(value: Option<i64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

// ANCHOR: format_offsets
/// `--describe`'s table: a blank line, the header, one line per partition.
pub fn format_offsets(group: &str, rows: &[OffsetRow]) -> String {
    let member = |r: &OffsetRow, i: usize| {
        r.member.as_ref().map_or("-".to_string(), |m| [&m.0, &m.1, &m.2][i].to_string())
    };
    let group_w = width(std::iter::once(group));
    let topic_w = width(rows.iter().map(|r| r.topic.as_str()));
    let ids: Vec<String> = rows.iter().map(|r| member(r, 0)).collect();
    let hosts: Vec<String> = rows.iter().map(|r| member(r, 1)).collect();
    let id_w = width(ids.iter().map(String::as_str));
    let host_w = width(hosts.iter().map(String::as_str));
    let line = |cells: [&str; 9]| {
        format!(
            "{:group_w$} {:topic_w$} {:10} {:15} {:15} {:15} {:id_w$} {:host_w$} {}\n",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8]
        )
    };
    let mut out = String::from("\n");
    if rows.iter().all(|r| r.member.is_none()) {
        out.push_str(&format!("Consumer group '{group}' has no active members.\n\n"));
    }
    out.push_str(&line([
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]));
    for (i, r) in rows.iter().enumerate() {
        let lag = match (r.current, r.log_end) {
            (Some(current), Some(end)) => Some((end - current).max(0)),
            _ => None,
        };
        let client_id = member(r, 2);
        out.push_str(&line([
            group,
            &r.topic,
            &r.partition.to_string(),
            &dash(r.current),
            &dash(r.log_end),
            &dash(lag),
            &ids[i],
            &hosts[i],
            &client_id,
        ]));
    }
    out
}
// ANCHOR_END: format_offsets

/// `--describe --members`: one line per member; `verbose` adds its partitions
/// as `topic(0,1,2)`.
pub fn format_members(description: &GroupDescription, verbose: bool) -> String {
    let group = description.group_id.as_str();
    let members = &description.members;
    let instance = |i: &Option<String>| i.clone().unwrap_or_else(|| "-".to_string());
    let instances: Vec<String> = members.iter().map(|m| instance(&m.group_instance_id)).collect();
    let group_w = width(std::iter::once(group));
    let id_w = width(members.iter().map(|m| m.member_id.as_str()));
    let instance_w = width(instances.iter().map(String::as_str));
    let host_w = width(members.iter().map(|m| m.client_host.as_str()));
    let client_w = width(members.iter().map(|m| m.client_id.as_str()));
    let line = |cells: [&str; 7]| {
        let mut line = format!(
            "{:group_w$} {:id_w$} {:instance_w$} {:host_w$} {:client_w$} {:12}",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
        );
        if verbose {
            line.push(' ');
            line.push_str(cells[6]);
        }
        line.trim_end().to_string() + "\n"
    };
    let mut out = String::from("\n");
    if members.is_empty() {
        out.push_str(&format!("Consumer group '{group}' has no active members.\n"));
        return out;
    }
    out.push_str(&line([
        "GROUP",
        "CONSUMER-ID",
        "GROUP-INSTANCE-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
        "ASSIGNMENT",
    ]));
    for (m, instance) in members.iter().zip(&instances) {
        let mut by_topic: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for tp in &m.assignment {
            by_topic.entry(&tp.topic).or_default().push(tp.partition.to_string());
        }
        let assignment: Vec<String> =
            by_topic.iter().map(|(t, ps)| format!("{t}({})", ps.join(","))).collect();
        let assignment = if assignment.is_empty() { "-".to_string() } else { assignment.join(",") };
        let count = m.assignment.len().to_string();
        out.push_str(&line([
            group,
            &m.member_id,
            instance,
            &m.client_host,
            &m.client_id,
            &count,
            &assignment,
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::MemberDescription;

    /// `--describe` prints kafka-consumer-groups.sh's columns (at least 15
    /// wide, wider for long values), `-` for what is unknown, lag = log end −
    /// committed, and says when nobody is reading.
    #[test]
    fn offsets_print_like_kafka_consumer_groups() {
        let reader = Some(("member-1".to_string(), "/127.0.0.1".to_string(), "spool-cli".to_string()));
        let rows = vec![
            OffsetRow {
                topic: "orders".into(),
                partition: 0,
                current: Some(7),
                log_end: Some(10),
                member: reader.clone(),
            },
            OffsetRow {
                topic: "orders".into(),
                partition: 1,
                current: None,
                log_end: Some(4),
                member: reader,
            },
        ];
        let text = format_offsets("billing", &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1],
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             \
             CONSUMER-ID     HOST            CLIENT-ID"
        );
        assert_eq!(
            lines[2],
            "billing         orders          0          7               10              3               \
             member-1        /127.0.0.1      spool-cli"
        );
        let cells: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(cells, ["billing", "orders", "1", "-", "4", "-", "member-1", "/127.0.0.1", "spool-cli"]);
        let idle = vec![OffsetRow {
            topic: "a-very-long-topic-name".into(),
            partition: 0,
            current: Some(1),
            log_end: Some(1),
            member: None,
        }];
        let text = format_offsets("billing", &idle);
        assert!(text.contains("Consumer group 'billing' has no active members."));
        assert!(text.contains("a-very-long-topic-name 0 "), "{text}");
        assert!(text.ends_with("-               -               -\n"), "{text:?}");
    }

    /// `--members --verbose` lists each member with its partitions per topic.
    #[test]
    fn members_print_with_their_assignments() {
        let description = GroupDescription {
            group_id: "billing".into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            members: vec![MemberDescription {
                member_id: "m1".into(),
                group_instance_id: Some("host-a".into()),
                client_id: "spool-cli".into(),
                client_host: "/127.0.0.1".into(),
                topics: vec!["orders".into()],
                assignment: vec![
                    TopicPartition::new("orders", 0),
                    TopicPartition::new("orders", 2),
                    TopicPartition::new("refunds", 1),
                ],
            }],
        };
        let text = format_members(&description, true);
        let cells: Vec<&str> = text.lines().nth(2).unwrap().split_whitespace().collect();
        assert_eq!(
            cells,
            ["billing", "m1", "host-a", "/127.0.0.1", "spool-cli", "3", "orders(0,2),refunds(1)"]
        );
        assert!(!format_members(&description, false).contains("ASSIGNMENT"));
    }
}
