//! OffsetDelete (KIP-496) on the wire, v0: KafkaApis' part first — a topic
//! or partition this broker's metadata does not know is answered
//! UNKNOWN_TOPIC_OR_PARTITION and never reaches the coordinator — then the
//! coordinator's rules ([`crate::group`]'s `offset_delete.rs`) and the
//! tombstones' append, which the answer waits for like a commit.
//!
//! A group-level error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, NOT_COORDINATOR,
//! COORDINATOR_LOAD_IN_PROGRESS, or the append's error) is the response's
//! `error_code` with no topics, as Kafka's `getErrorResponse` sends it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use kafka_protocol::ResponseError;

use super::super::Broker;
use crate::group::{GroupCoordinator, GroupError};
use crate::TopicPartition;

// ANCHOR: offset_delete
pub(super) async fn offset_delete(broker: &Arc<Broker>, r: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let group_id = r.group_id.0.to_string();
    let mut codes: BTreeMap<TopicPartition, i16> = BTreeMap::new();
    let mut order = Vec::new();
    let mut asked = Vec::new();
    let image = broker.metadata_image();
    for topic in &r.topics {
        let known = image.topic(topic.name.0.as_str());
        for p in &topic.partitions {
            let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
            order.push(tp.clone());
            if known.is_some_and(|t| t.partitions.contains_key(&p.partition_index)) {
                asked.push(tp);
            } else {
                codes.insert(tp, ResponseError::UnknownTopicOrPartition.code());
            }
        }
    }
    drop(image);
    let delete = |c: &mut GroupCoordinator, now| match broker.coordinator_error(&group_id) {
        Some(error) => (Err(error), Default::default()),
        None => c.delete_offsets(&group_id, &asked, now),
    };
    let (results, stored_error) = broker.group_input(delete).await;
    let results = match (results, stored_error) {
        (Err(error), _) | (Ok(_), Some(error)) => return error_response(error),
        (Ok(results), None) => results,
    };
    for (tp, error) in results {
        codes.insert(tp, error.map_or(0, GroupError::code));
    }
    OffsetDeleteResponse::default().with_topics(by_topic(order, &codes))
}
// ANCHOR_END: offset_delete

fn error_response(error: GroupError) -> OffsetDeleteResponse {
    OffsetDeleteResponse::default().with_error_code(error.code())
}

/// Each partition's code in request order, grouped by topic.
fn by_topic(
    order: Vec<TopicPartition>,
    codes: &BTreeMap<TopicPartition, i16>,
) -> Vec<OffsetDeleteResponseTopic> {
    let mut topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    for tp in order {
        let partition = OffsetDeleteResponsePartition::default()
            .with_partition_index(tp.partition)
            .with_error_code(codes.get(&tp).copied().unwrap_or_default());
        match topics.last_mut() {
            Some(t) if t.name.0.as_str() == tp.topic => t.partitions.push(partition),
            _ => topics.push(
                OffsetDeleteResponseTopic::default()
                    .with_name(kafka_protocol::messages::TopicName(tp.topic.clone().into()))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    topics
}
