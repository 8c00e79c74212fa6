//! `spool topics`: create, list, describe and delete topics, as
//! `kafka-topics.sh` does — over the wire, through [`crate::client`], like any
//! other client (CreateTopics, Metadata, DescribeConfigs, DeleteTopics, and
//! CreatePartitions for `--alter --partitions`).
//!
//! Fields are separated by tabs (shown here as two spaces):
//!
//! ```text
//! $ spool topics --create --topic orders --partitions 3 --config retention.ms=60000
//! Created topic orders.
//! $ spool topics --describe --topic orders
//! Topic: orders  TopicId: 3Jd0-F0rQ3mJ9lq6bKJ8bw  PartitionCount: 3  ReplicationFactor: 1  Configs: retention.ms=60000
//!   Topic: orders  Partition: 0  Leader: 1  Replicas: 1  Isr: 1
//! …
//! $ spool topics --alter --topic orders --partitions 6
//! ```
//!
//! `--alter` prints nothing when it succeeds, as kafka-topics.sh does.

use std::io::Write;

use uuid::Uuid;

use super::client_properties::{AdminSettings, CommandConfigArg};
use crate::client::{Client, ClientError, NewTopic, TopicMetadata};

/// `spool topics`' flags: kafka-topics.sh's.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["create", "list", "describe", "delete", "alter"])))]
pub struct TopicsArgs {
    /// Where to connect (default 127.0.0.1:9092).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    #[command(flatten)]
    pub command_config: CommandConfigArg,
    /// Create --topic.
    #[arg(long, requires = "topic")]
    pub create: bool,
    /// List every topic's name.
    #[arg(long)]
    pub list: bool,
    /// Describe --topic, or every topic.
    #[arg(long)]
    pub describe: bool,
    /// Delete --topic.
    #[arg(long, requires = "topic")]
    pub delete: bool,
    /// Alter --topic: raise its partition count to --partitions.
    #[arg(long, requires_all = ["topic", "partitions"])]
    pub alter: bool,
    #[arg(long)]
    pub topic: Option<String>,
    /// Partitions of a new topic (default: the broker's num.partitions), or
    /// the new partition count of an altered one.
    #[arg(long)]
    pub partitions: Option<i32>,
    /// Replication factor of a new topic (default: the broker's default.replication.factor).
    #[arg(long)]
    pub replication_factor: Option<i16>,
    /// A topic config override for --create: --config key=value (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub configs: Vec<String>,
}

impl TopicsArgs {
    /// The one action the flags ask for.
    pub fn command(&self) -> Result<TopicsCommand, ClientError> {
        let topic = self.topic.clone().unwrap_or_default();
        if self.create {
            let mut new_topic = NewTopic::new(topic);
            new_topic.partitions = self.partitions.unwrap_or(-1);
            new_topic.replication_factor = self.replication_factor.unwrap_or(-1);
            for config in &self.configs {
                let Some((k, v)) = config.split_once('=') else {
                    return Err(ClientError::InvalidArgument(format!(
                        "--config {config:?}: expected key=value"
                    )));
                };
                new_topic.configs.insert(k.trim().to_string(), v.trim().to_string());
            }
            Ok(TopicsCommand::Create(new_topic))
        } else if self.list {
            Ok(TopicsCommand::List)
        } else if self.describe {
            Ok(TopicsCommand::Describe(self.topic.clone()))
        } else if self.alter {
            let partitions = self.partitions.expect("clap requires --partitions with --alter");
            if partitions < 1 {
                // kafka-topics.sh checks this before sending anything.
                return Err(ClientError::InvalidArgument("The partitions must be greater than 0".into()));
            }
            Ok(TopicsCommand::Alter { topic, partitions })
        } else {
            Ok(TopicsCommand::Delete(topic))
        }
    }
}

/// `spool topics`: connects, runs the command, prints to stdout.
pub async fn main(args: TopicsArgs) -> Result<(), ClientError> {
    let command = args.command()?;
    let command_config = args.command_config.command_config.as_deref();
    let mut client =
        AdminSettings::from_args(args.bootstrap_server.as_deref(), command_config)?.connect().await?;
    run(&mut client, command, &mut std::io::stdout().lock()).await
}

/// What `spool topics` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicsCommand {
    Create(NewTopic),
    List,
    /// One topic, or every topic.
    Describe(Option<String>),
    Delete(String),
    /// Raise a topic's partition count (CreatePartitions).
    Alter {
        topic: String,
        partitions: i32,
    },
}

/// `ConfigSource.DEFAULT_CONFIG`: `kafka-topics.sh --describe` leaves these out.
const CONFIG_SOURCE_DEFAULT: i8 = 5;

/// Runs one `spool topics` command, writing what kafka-topics.sh would print to `out`.
pub async fn run(
    client: &mut Client,
    command: TopicsCommand,
    out: &mut impl Write,
) -> Result<(), ClientError> {
    match command {
        TopicsCommand::Create(topic) => {
            let name = topic.name.clone();
            for result in client.create_topics(&[topic], false).await? {
                result?;
            }
            writeln!(out, "Created topic {name}.")?;
        }
        TopicsCommand::List => {
            let metadata = client.metadata(None, false).await?;
            for topic in metadata.topics {
                writeln!(out, "{}", topic.name)?;
            }
        }
        TopicsCommand::Describe(name) => {
            let topics = match &name {
                Some(name) => {
                    client.invalidate(name);
                    vec![client.topic(name, false).await?]
                }
                None => client.metadata(None, false).await?.topics,
            };
            for topic in topics {
                let configs = client.topic_configs(&topic.name).await?;
                let overrides: Vec<String> = configs
                    .iter()
                    .filter(|c| c.source != CONFIG_SOURCE_DEFAULT)
                    .map(|c| format!("{}={}", c.name, c.value.as_deref().unwrap_or("null")))
                    .collect();
                write!(out, "{}", describe(&topic, &overrides.join(",")))?;
            }
        }
        TopicsCommand::Alter { topic, partitions } => {
            client.create_partitions(&topic, partitions, false).await?;
        }
        TopicsCommand::Delete(name) => {
            for (_, result) in client.delete_topics(&[&name]).await? {
                result?;
            }
        }
    }
    Ok(())
}

/// `--describe`'s lines for one topic, in kafka-topics.sh's layout.
pub fn describe(topic: &TopicMetadata, configs: &str) -> String {
    let replication_factor = topic.partitions.first().map_or(0, |p| p.replicas.len());
    let mut s = format!(
        "Topic: {}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}\n",
        topic.name,
        kafka_uuid(topic.topic_id),
        topic.partitions.len(),
        replication_factor,
        configs
    );
    let join = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    for p in &topic.partitions {
        let leader = if p.leader < 0 { "none".to_string() } else { p.leader.to_string() };
        s.push_str(&format!(
            "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\n",
            topic.name,
            p.partition,
            leader,
            join(&p.replicas),
            join(&p.isr)
        ));
    }
    s
}

/// A topic id the way Kafka prints it (`Uuid.toString()`): URL-safe base64 of
/// the 16 bytes, without padding — 22 characters, not the dashed hex form.
pub fn kafka_uuid(id: Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        // 3 bytes make 4 characters; a final 1 byte makes 2 (16 = 5 × 3 + 1).
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::PartitionMetadata;

    /// Topic ids print as Kafka's 22-character URL-safe base64 (`Uuid.toString`).
    #[test]
    fn topic_ids_print_like_kafka() {
        assert_eq!(kafka_uuid(Uuid::nil()), "AAAAAAAAAAAAAAAAAAAAAA");
        let id = Uuid::from_bytes([0xff; 16]);
        assert_eq!(kafka_uuid(id), "_____________________w");
        let id = Uuid::from_bytes([0xfb, 0xef, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
        assert_eq!(kafka_uuid(id), "----AAAAAAAAAAAAAAAAEA");
    }

    /// `--describe` prints kafka-topics.sh's header line and one line per partition.
    #[test]
    fn describe_layout() {
        let topic = TopicMetadata {
            name: "orders".into(),
            topic_id: Uuid::nil(),
            is_internal: false,
            error_code: 0,
            partitions: (0..2)
                .map(|p| PartitionMetadata {
                    partition: p,
                    leader: 1,
                    leader_epoch: 0,
                    replicas: vec![1],
                    isr: vec![1],
                    error_code: 0,
                })
                .collect(),
        };
        assert_eq!(
            describe(&topic, "retention.ms=1000"),
            "Topic: orders\tTopicId: AAAAAAAAAAAAAAAAAAAAAA\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=1000\n\
             \tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n\
             \tTopic: orders\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\n"
        );
    }
}
