//! Kafka's *ConsumerProtocol*: the bytes of a subscription (JoinGroup's
//! protocol metadata) and of an assignment (SyncGroup's), as every Kafka
//! client writes them.
//!
//! ```text
//!  subscription:  version i16 | topics [string] | user_data bytes
//!                 | owned_partitions [topic, [i32]] (v1+) | generation_id i32 (v2+)
//!                 | rack_id string (v3+)
//!  assignment:    version i16 | assigned_partitions [topic, [i32]] | user_data bytes
//! ```
//!
//! Both are kafka-protocol's `ConsumerProtocolSubscription` and
//! `ConsumerProtocolAssignment` behind a two-byte version. A reader given a
//! *newer* version than it knows reads it as its newest: versions only append
//! fields, so the known prefix is valid (Kafka's `ConsumerProtocol` does the
//! same, which is how old and new clients share a group). This code writes v3
//! of both, as Kafka 3.x's Java client does.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::{Assignment, Subscription};
use crate::client::admin::topic_name;
use crate::client::ClientError;
use crate::TopicPartition;

/// The version this code writes, and the newest it reads as itself.
pub const VERSION: i16 = 3;

/// Partitions grouped by topic, in order.
fn by_topic(partitions: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    let mut grouped: std::collections::BTreeMap<&str, Vec<i32>> = std::collections::BTreeMap::new();
    for tp in partitions {
        grouped.entry(&tp.topic).or_default().push(tp.partition);
    }
    grouped
        .into_iter()
        .map(|(t, mut ps)| {
            (t.to_string(), {
                ps.sort_unstable();
                ps
            })
        })
        .collect()
}

fn with_version(version: i16, body: &impl Encodable) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    body.encode(&mut buf, version).expect("every field of these structs exists in v3");
    buf.freeze()
}

/// The version prefix; a newer one than [`VERSION`] is read as [`VERSION`].
fn read_version(bytes: &mut Bytes, what: &str) -> Result<i16, ClientError> {
    if bytes.len() < 2 {
        return Err(ClientError::Protocol(format!("{what}: {} bytes, too short for a version", bytes.len())));
    }
    let version = i16::from_be_bytes([bytes[0], bytes[1]]);
    let _ = bytes.split_to(2);
    if version < 0 {
        return Err(ClientError::Protocol(format!("{what}: unsupported version {version}")));
    }
    Ok(version.min(VERSION))
}

// ANCHOR: subscription
/// A subscription's bytes, at [`VERSION`].
pub fn encode_subscription(subscription: &Subscription) -> Bytes {
    let owned = by_topic(&subscription.owned_partitions)
        .into_iter()
        .map(|(t, ps)| OwnedTopic::default().with_topic(topic_name(&t)).with_partitions(ps))
        .collect();
    let body = ConsumerProtocolSubscription::default()
        .with_topics(subscription.topics.iter().map(|t| StrBytes::from_string(t.clone())).collect())
        .with_user_data(subscription.user_data.clone())
        .with_owned_partitions(owned)
        .with_generation_id(subscription.generation_id)
        .with_rack_id(subscription.rack_id.clone().map(StrBytes::from_string));
    with_version(VERSION, &body)
}

/// Reads a subscription any Kafka client wrote (v0 to v3, or newer).
pub fn decode_subscription(mut bytes: Bytes) -> Result<Subscription, ClientError> {
    let version = read_version(&mut bytes, "subscription")?;
    let body = ConsumerProtocolSubscription::decode(&mut bytes, version)
        .map_err(|e| ClientError::Protocol(format!("subscription v{version}: {e}")))?;
    Ok(Subscription {
        topics: body.topics.iter().map(|t| t.to_string()).collect(),
        user_data: body.user_data,
        owned_partitions: body
            .owned_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(|&p| TopicPartition::new(t.topic.0.to_string(), p)))
            .collect(),
        generation_id: body.generation_id,
        rack_id: body.rack_id.map(|r| r.to_string()),
    })
}
// ANCHOR_END: subscription

/// An assignment's bytes, at [`VERSION`].
pub fn encode_assignment(assignment: &Assignment) -> Bytes {
    let assigned = by_topic(&assignment.partitions)
        .into_iter()
        .map(|(t, ps)| AssignedTopic::default().with_topic(topic_name(&t)).with_partitions(ps))
        .collect();
    let body = ConsumerProtocolAssignment::default()
        .with_assigned_partitions(assigned)
        .with_user_data(assignment.user_data.clone());
    with_version(VERSION, &body)
}

/// Reads an assignment. No bytes at all is the empty assignment: the
/// coordinator sends that to a member the leader left out.
pub fn decode_assignment(mut bytes: Bytes) -> Result<Assignment, ClientError> {
    if bytes.is_empty() {
        return Ok(Assignment::default());
    }
    let version = read_version(&mut bytes, "assignment")?;
    let body = ConsumerProtocolAssignment::decode(&mut bytes, version)
        .map_err(|e| ClientError::Protocol(format!("assignment v{version}: {e}")))?;
    let mut partitions: Vec<TopicPartition> = body
        .assigned_partitions
        .iter()
        .flat_map(|t| t.partitions.iter().map(|&p| TopicPartition::new(t.topic.0.to_string(), p)))
        .collect();
    partitions.sort();
    Ok(Assignment { partitions, user_data: body.user_data })
}
