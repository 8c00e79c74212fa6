//! DescribeTopicPartitions (API 75, KIP-966): the paginated describe that
//! newer admin clients use in place of Metadata, so a cluster of a million
//! partitions is described a page at a time (Kafka's
//! `DescribeTopicPartitionsRequestHandler` over `KRaftMetadataCache`).
//!
//! ```text
//!  request {topics: [a, b] (or [] = all), limit 3, cursor: none}
//!     a: 0 1        ──▶ a-0 a-1
//!     b: 0 1 2 3    ──▶ b-0              next_cursor (b, 1)
//!  request {…, cursor (b, 1)}
//!                   ──▶ b-1 b-2 b-3      no next_cursor: done
//! ```
//!
//! Topics go in name order from the cursor's topic (every topic when the
//! list is empty, skipping unknown ones; the listed ones otherwise, an
//! unknown one answered UNKNOWN_TOPIC_OR_PARTITION). The page holds at most
//! `response_partition_limit` partitions, bounded to 1..=the broker's
//! `max.request.partition.size.limit` (Kafka's key, default
//! [`PARTITION_LIMIT_MAX`]); when it fills, `next_cursor`
//! names the first partition left out. A cursor whose topic is not among the
//! listed ones, or with a negative partition, is INVALID_REQUEST for every
//! listed topic, as Kafka answers.
//!
//! Any broker answers, from its own metadata image: a standalone broker's
//! and a cluster member's alike.
//!
//! Simplifications: no eligible leader replicas (KIP-966's ELR needs
//! `eligible.leader.replicas.version`; spool answers both lists empty); no
//! authorization, so `topic_authorized_operations` is Kafka's "not asked"
//! (-2147483648) — the ACL work of issue 19 may fill it in.

use std::collections::BTreeSet;

use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::Broker;
use crate::controller::topics::validate_topic_name;
use crate::group::CONSUMER_OFFSETS_TOPIC;
use crate::metadata::{MetadataImage, PartitionImage, TopicImage};
use crate::txn::TRANSACTION_STATE_TOPIC;

/// The default of `max.request.partition.size.limit`
/// ([`crate::config::BrokerConfig::max_request_partition_size_limit`]): the
/// most partitions one answer holds, whatever the request asks.
pub const PARTITION_LIMIT_MAX: i32 = 2000;

/// `topic_authorized_operations` when they were not computed (Kafka's
/// `Integer.MIN_VALUE`).
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

impl Broker {
    /// DescribeTopicPartitions, from this broker's metadata image.
    pub fn describe_topic_partitions(
        &self,
        request: DescribeTopicPartitionsRequest,
    ) -> DescribeTopicPartitionsResponse {
        describe_topic_partitions(
            &self.metadata_image(),
            &request,
            self.config.max_request_partition_size_limit,
        )
    }
}

// ANCHOR: describe_topic_partitions
/// One page of partitions for `request`, at most `limit_max` of them.
pub fn describe_topic_partitions(
    image: &MetadataImage,
    request: &DescribeTopicPartitionsRequest,
    limit_max: i32,
) -> DescribeTopicPartitionsResponse {
    let all = request.topics.is_empty();
    let cursor = request.cursor.as_ref().map(|c| (c.topic_name.0.as_str(), c.partition_index));
    let from = cursor.map_or("", |(topic, _)| topic);
    let names: BTreeSet<&str> = if all {
        image.topics().map(|t| t.name.as_str()).filter(|name| *name >= from).collect()
    } else {
        request.topics.iter().map(|t| t.name.0.as_str()).filter(|name| *name >= from).collect()
    };
    if let Some((topic, partition)) = cursor {
        if (!all && !names.contains(topic)) || partition < 0 {
            return refused(request, ResponseError::InvalidRequest);
        }
    }
    let mut remaining = request.response_partition_limit.min(limit_max).max(1) as usize;
    let mut response = DescribeTopicPartitionsResponse::default();
    for name in names {
        if remaining == 0 {
            // The page is full at a topic boundary: the next one starts here.
            response.next_cursor = Some(cursor_at(name, 0));
            break;
        }
        let Some(topic) = image.topic(name) else {
            if !all {
                response.topics.push(unknown_topic(name));
            }
            continue;
        };
        let start = match cursor {
            Some((topic, partition)) if topic == name => partition,
            _ => 0,
        };
        let mut left = topic.partitions.range(start..);
        let page: Vec<_> = left.by_ref().take(remaining).map(|(&i, p)| partition(image, i, p)).collect();
        remaining -= page.len();
        response.topics.push(described(topic, page));
        if let Some((&next, _)) = left.next() {
            response.next_cursor = Some(cursor_at(name, next));
            break;
        }
    }
    response
}
// ANCHOR_END: describe_topic_partitions

/// One partition: its leader, replicas, ISR, and the replicas on brokers
/// that are down.
fn partition(
    image: &MetadataImage,
    index: i32,
    p: &PartitionImage,
) -> DescribeTopicPartitionsResponsePartition {
    let ids = |ids: &[i32]| ids.iter().map(|&id| BrokerId(id)).collect::<Vec<_>>();
    let offline: Vec<i32> = p.replicas.iter().copied().filter(|&id| is_offline(image, id)).collect();
    DescribeTopicPartitionsResponsePartition::default()
        .with_partition_index(index)
        .with_leader_id(BrokerId(p.leader))
        .with_leader_epoch(p.leader_epoch)
        .with_replica_nodes(ids(&p.replicas))
        .with_isr_nodes(ids(&p.isr))
        .with_eligible_leader_replicas(Some(Vec::new()))
        .with_last_known_elr(Some(Vec::new()))
        .with_offline_replicas(ids(&offline))
}

/// A replica is offline when its broker is fenced or, in a cluster (whose
/// brokers register), not registered at all. A standalone broker registers
/// with no controller: its image lists no brokers, and nothing is offline.
fn is_offline(image: &MetadataImage, id: i32) -> bool {
    match image.broker(id) {
        Some(broker) => broker.fenced,
        None => !image.brokers().is_empty(),
    }
}

fn described(
    topic: &TopicImage,
    partitions: Vec<DescribeTopicPartitionsResponsePartition>,
) -> DescribeTopicPartitionsResponseTopic {
    DescribeTopicPartitionsResponseTopic::default()
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(topic.topic_id)
        .with_is_internal(is_internal(&topic.name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

/// A listed topic the image does not hold: UNKNOWN_TOPIC_OR_PARTITION, or
/// INVALID_TOPIC_EXCEPTION for a name no topic could have.
fn unknown_topic(name: &str) -> DescribeTopicPartitionsResponseTopic {
    let code = match validate_topic_name(name) {
        Ok(()) => ResponseError::UnknownTopicOrPartition,
        Err(_) => ResponseError::InvalidTopicException,
    };
    DescribeTopicPartitionsResponseTopic::default()
        .with_error_code(code.code())
        .with_name(Some(topic_name(name)))
        .with_is_internal(is_internal(name))
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

/// Kafka's `getErrorResponse`: every listed topic answers `code`.
fn refused(request: &DescribeTopicPartitionsRequest, code: ResponseError) -> DescribeTopicPartitionsResponse {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            DescribeTopicPartitionsResponseTopic::default()
                .with_error_code(code.code())
                .with_name(Some(t.name.clone()))
                .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
        })
        .collect();
    DescribeTopicPartitionsResponse::default().with_topics(topics)
}

fn cursor_at(topic: &str, partition: i32) -> Cursor {
    Cursor::default().with_topic_name(topic_name(topic)).with_partition_index(partition)
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// The topics only the coordinators write (Kafka's `Topic.isInternal`).
fn is_internal(name: &str) -> bool {
    name == CONSUMER_OFFSETS_TOPIC || name == TRANSACTION_STATE_TOPIC
}

#[cfg(test)]
mod tests;
