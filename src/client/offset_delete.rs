//! OffsetDelete (KIP-496) from the client side: what
//! `kafka-consumer-groups.sh --delete-offsets` and an admin client's
//! `deleteConsumerGroupOffsets` send — to the group's coordinator, found
//! with FindCoordinator first, since only it may write the tombstones.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::OffsetDeleteRequest;

use super::admin::topic_name;
use super::group::group_id;
use super::{Client, ClientError};
use crate::TopicPartition;

/// Each partition's outcome of an OffsetDelete.
pub type OffsetDeleteResults = Vec<(TopicPartition, Result<(), ClientError>)>;

impl Client {
    // ANCHOR: delete_offsets
    /// Deletes `group`'s committed offsets of `partitions` at its
    /// coordinator. `Err` is the group's error (GROUP_ID_NOT_FOUND,
    /// NON_EMPTY_GROUP, …); otherwise each partition's outcome
    /// (GROUP_SUBSCRIBED_TO_TOPIC, UNKNOWN_TOPIC_OR_PARTITION, or deleted).
    pub async fn delete_offsets(
        &mut self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<OffsetDeleteResults, ClientError> {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in partitions {
            by_topic.entry(&tp.topic).or_default().push(tp.partition);
        }
        let topics = by_topic
            .into_iter()
            .map(|(t, ps)| {
                let partitions = ps
                    .into_iter()
                    .map(|p| OffsetDeleteRequestPartition::default().with_partition_index(p))
                    .collect();
                OffsetDeleteRequestTopic::default().with_name(topic_name(t)).with_partitions(partitions)
            })
            .collect();
        let request = OffsetDeleteRequest::default().with_group_id(group_id(group)).with_topics(topics);
        let coordinator = self.find_coordinator(group).await?;
        let timeout = self.request_timeout;
        let response = self.send_to(&coordinator, &request, timeout).await?;
        ClientError::check(response.error_code, None, || format!("delete offsets of group {group}"))?;
        let mut results = Vec::new();
        for t in response.topics {
            for p in t.partitions {
                let tp = TopicPartition::new(t.name.0.to_string(), p.partition_index);
                let result = ClientError::check(p.error_code, None, || format!("delete offset of {tp}"));
                results.push((tp, result));
            }
        }
        Ok(results)
    }
    // ANCHOR_END: delete_offsets
}
