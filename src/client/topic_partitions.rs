//! DescribeTopicPartitions (KIP-966) from the client side: a topic's
//! partitions a page at a time, following the broker's `next_cursor` until
//! it gives none — how Kafka's `Admin.describeTopics` walks a large cluster
//! without one enormous Metadata answer.
//!
//! ```text
//!  page(topics, limit, cursor: none)   ──▶ [a-0 a-1 b-0]  next (b, 1)
//!  page(topics, limit, cursor: (b, 1)) ──▶ [b-1 b-2]      next: none ── done
//! ```
//!
//! Any broker answers (from its metadata image), so the pages go to the
//! bootstrap broker.

use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic;
use kafka_protocol::messages::DescribeTopicPartitionsRequest;
use uuid::Uuid;

use super::admin::topic_name;
use super::{Client, ClientError, PartitionMetadata};

/// One topic as DescribeTopicPartitions describes it (its partitions, or
/// some of them on a page that the limit cut).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionsDescription {
    pub name: String,
    pub topic_id: Uuid,
    pub is_internal: bool,
    /// In partition order.
    pub partitions: Vec<PartitionDescription>,
}

/// One partition: Metadata's view, plus the replicas on brokers that are down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    pub metadata: PartitionMetadata,
    pub offline_replicas: Vec<i32>,
}

/// One answer: the topics on it, and where the next page starts, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionsPage {
    pub topics: Vec<TopicPartitionsDescription>,
    /// (topic, partition) of the first partition left out.
    pub next_cursor: Option<(String, i32)>,
}

impl Client {
    /// One DescribeTopicPartitions: `topics` (every topic when empty) from
    /// `cursor`, at most `limit` partitions. A topic's error (an unknown one)
    /// is an `Err`, as Kafka's admin client fails the call for it.
    pub async fn describe_topic_partitions_page(
        &mut self,
        topics: &[&str],
        limit: i32,
        cursor: Option<(&str, i32)>,
    ) -> Result<TopicPartitionsPage, ClientError> {
        let request = DescribeTopicPartitionsRequest::default()
            .with_topics(topics.iter().map(|t| TopicRequest::default().with_name(topic_name(t))).collect())
            .with_response_partition_limit(limit)
            .with_cursor(
                cursor.map(|(t, p)| Cursor::default().with_topic_name(topic_name(t)).with_partition_index(p)),
            );
        let response = self.any_connection().await?.send(&request).await?;
        let topics = response.topics.into_iter().map(described).collect::<Result<_, _>>()?;
        let next_cursor = response.next_cursor.map(|c| (c.topic_name.0.to_string(), c.partition_index));
        Ok(TopicPartitionsPage { topics, next_cursor })
    }

    // ANCHOR: describe_topic_partitions
    /// Every partition of `topics` (every topic when empty), walking the
    /// cursor a page of at most `limit` partitions at a time; a topic cut
    /// across pages comes back whole.
    pub async fn describe_topic_partitions(
        &mut self,
        topics: &[&str],
        limit: i32,
    ) -> Result<Vec<TopicPartitionsDescription>, ClientError> {
        let mut described: Vec<TopicPartitionsDescription> = Vec::new();
        let mut cursor: Option<(String, i32)> = None;
        loop {
            let at = cursor.as_ref().map(|(t, p)| (t.as_str(), *p));
            let page = self.describe_topic_partitions_page(topics, limit, at).await?;
            for topic in page.topics {
                match described.last_mut() {
                    Some(last) if last.name == topic.name => last.partitions.extend(topic.partitions),
                    _ => described.push(topic),
                }
            }
            match page.next_cursor {
                // A broker must move forward, or the walk would never end.
                Some(next) if Some(&next) == cursor.as_ref() => {
                    return Err(ClientError::Protocol(format!(
                        "DescribeTopicPartitions repeated cursor {next:?}"
                    )));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(described),
            }
        }
    }
    // ANCHOR_END: describe_topic_partitions
}

fn described(topic: DescribeTopicPartitionsResponseTopic) -> Result<TopicPartitionsDescription, ClientError> {
    let name = topic.name.map(|n| n.0.to_string()).unwrap_or_default();
    ClientError::check(topic.error_code, None, || format!("describe topic partitions of {name}"))?;
    let ids = |ids: Vec<kafka_protocol::messages::BrokerId>| ids.into_iter().map(|id| id.0).collect();
    let partitions = topic
        .partitions
        .into_iter()
        .map(|p| PartitionDescription {
            metadata: PartitionMetadata {
                partition: p.partition_index,
                leader: p.leader_id.0,
                leader_epoch: p.leader_epoch,
                replicas: ids(p.replica_nodes),
                isr: ids(p.isr_nodes),
                error_code: p.error_code,
            },
            offline_replicas: ids(p.offline_replicas),
        })
        .collect();
    Ok(TopicPartitionsDescription {
        name,
        topic_id: topic.topic_id,
        is_internal: topic.is_internal,
        partitions,
    })
}
