//! DescribeLogDirs (KIP-113) from the client side, as `kafka-log-dirs.sh
//! --describe` asks it: every broker, about its log directories and the
//! partitions in them.

use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::DescribeLogDirsRequest;

use super::admin::topic_name;
use super::{Client, ClientError};

/// One log directory of one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirDescription {
    pub path: String,
    /// The directory's error (KAFKA_STORAGE_ERROR when it is offline).
    pub error: Option<String>,
    pub partitions: Vec<LogDirPartition>,
    /// The volume's bytes (v4), -1 when unknown.
    pub total_bytes: i64,
    pub usable_bytes: i64,
}

/// One partition's replica in a log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirPartition {
    pub topic: String,
    pub partition: i32,
    pub size_bytes: i64,
    pub offset_lag: i64,
    pub is_future: bool,
}

impl Client {
    /// DescribeLogDirs on every broker (`topics`: only their partitions, or
    /// all when `None`): each broker's node id and log directories.
    pub async fn describe_log_dirs(
        &mut self,
        topics: Option<&[&str]>,
    ) -> Result<Vec<(i32, Vec<LogDirDescription>)>, ClientError> {
        let metadata = self.metadata(topics.or(Some(&[])), false).await?;
        let wanted = topics.map(|_| {
            metadata
                .topics
                .iter()
                .map(|t| {
                    let partitions = t.partitions.iter().map(|p| p.partition).collect();
                    DescribableLogDirTopic::default()
                        .with_topic(topic_name(&t.name))
                        .with_partitions(partitions)
                })
                .collect()
        });
        let request = DescribeLogDirsRequest::default().with_topics(wanted);
        let mut brokers = Vec::new();
        for broker in &metadata.brokers {
            let response = self.node_connection(broker.node_id).await?.send(&request).await?;
            ClientError::check(response.error_code, None, || {
                format!("describe log dirs of {}", broker.node_id)
            })?;
            let dirs = response.results.into_iter().map(describe_dir).collect();
            brokers.push((broker.node_id, dirs));
        }
        Ok(brokers)
    }
}

fn describe_dir(
    r: kafka_protocol::messages::describe_log_dirs_response::DescribeLogDirsResult,
) -> LogDirDescription {
    let error = ClientError::check(r.error_code, None, String::new).err().map(|e| e.to_string());
    let partitions = r
        .topics
        .into_iter()
        .flat_map(|t| {
            let topic = t.name.0.to_string();
            t.partitions.into_iter().map(move |p| LogDirPartition {
                topic: topic.clone(),
                partition: p.partition_index,
                size_bytes: p.partition_size,
                offset_lag: p.offset_lag,
                is_future: p.is_future_key,
            })
        })
        .collect();
    LogDirDescription {
        path: r.log_dir.to_string(),
        error,
        partitions,
        total_bytes: r.total_bytes,
        usable_bytes: r.usable_bytes,
    }
}
