//! DescribeProducers (KIP-664): the producers a partition's replica
//! remembers, read from its producer table — what an operator looks at to
//! find a hanging transaction (one whose start offset pins the LSO).
//!
//! ```text
//!  DescribeProducers{t: [0]} ──▶ replica of t-0 ──▶ producer table ──▶
//!     [{producer 7, epoch 2, last sequence 41, last timestamp …,
//!       coordinator epoch 4, current txn start offset 1200}]   (-1: no open txn)
//! ```
//!
//! As in Kafka (`Partition.activeProducerState`), any replica hosting the
//! partition answers from its own table — the admin client sends the request
//! to the leader unless told otherwise; a partition the metadata knows but
//! this broker does not host is NOT_LEADER_OR_FOLLOWER, one it does not know
//! UNKNOWN_TOPIC_OR_PARTITION.
//!
//! Simplifications: no authorization (spool has none).

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::Broker;
use crate::idempotence::ProducerStateEntry;
use crate::log::manager::lock;
use crate::TopicPartition;

impl Broker {
    // ANCHOR: describe_producers
    /// DescribeProducers: each requested partition's producer table.
    pub fn describe_producers(&self, request: DescribeProducersRequest) -> DescribeProducersResponse {
        let topics = request
            .topics
            .into_iter()
            .map(|topic| {
                let partitions = topic
                    .partition_indexes
                    .iter()
                    .map(|&index| self.producers_of(&TopicPartition::new(topic.name.0.to_string(), index)))
                    .collect();
                TopicResponse::default().with_name(topic.name).with_partitions(partitions)
            })
            .collect();
        DescribeProducersResponse::default().with_topics(topics)
    }

    /// One partition's answer.
    fn producers_of(&self, tp: &TopicPartition) -> PartitionResponse {
        let response = PartitionResponse::default().with_partition_index(tp.partition);
        let Some(partition) = self.partition(tp) else {
            let known = self.metadata_image().partition(&tp.topic, tp.partition).is_some();
            let code = if known {
                ResponseError::NotLeaderOrFollower
            } else {
                ResponseError::UnknownTopicOrPartition
            };
            return response.with_error_code(code.code());
        };
        let log = lock(&partition.log);
        let producers = log.producer_state().producers().map(producer_state).collect();
        response.with_active_producers(producers)
    }
    // ANCHOR_END: describe_producers
}

/// One producer as DescribeProducers reports it (Kafka's `UnifiedLog.activeProducers`).
fn producer_state(entry: &ProducerStateEntry) -> ProducerState {
    ProducerState::default()
        .with_producer_id(ProducerId(entry.producer_id))
        .with_producer_epoch(i32::from(entry.producer_epoch))
        .with_last_sequence(entry.last_seq())
        .with_last_timestamp(entry.last_timestamp)
        .with_coordinator_epoch(entry.coordinator_epoch)
        .with_current_txn_start_offset(entry.current_txn_first_offset.unwrap_or(-1))
}
