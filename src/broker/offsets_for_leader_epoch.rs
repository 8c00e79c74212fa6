//! OffsetsForLeaderEpoch (API key 23): "my last record is of epoch `e`;
//! where does epoch `e` end on the leader?"
//!
//! A follower asks it after a leader change to find where its log diverged
//! from the new leader's and truncates there, not at its high watermark
//! (KIP-101); a consumer asks it after a leader change to check that the
//! records before its position are still in the log (KIP-320). The answer is
//! the leader's epoch cache's ([`crate::replication::LeaderEpochCache::end_offset_for`]):
//! the largest epoch at or below `e` the leader has, and where the epoch after
//! it starts, or the log end for the leader's own epoch.
//!
//! ```text
//!  per partition:  not hosted                            ──▶ UNKNOWN_TOPIC_OR_PARTITION
//!                  not its leader                        ──▶ NOT_LEADER_OR_FOLLOWER
//!                  log directory offline                 ──▶ KAFKA_STORAGE_ERROR
//!                  current_leader_epoch < the leader's   ──▶ FENCED_LEADER_EPOCH  (asker's metadata is stale)
//!                  current_leader_epoch > the leader's   ──▶ UNKNOWN_LEADER_EPOCH (this broker is behind: retry)
//!                  otherwise (or current_leader_epoch -1) ──▶ (epoch, end offset), or (-1, -1) if unknown
//! ```
//!
//! A leader holds its epoch from the moment it leads: becoming leader writes
//! (leader epoch, log end offset) into the cache before any record of that
//! epoch exists, as Kafka's `Partition.makeLeader` does
//! ([`crate::broker::Partition::become_leader`]), so an empty partition
//! answers its own epoch at its log end, not "unknown".
//!
//! Only the leader answers, whoever asks (`replica_id`, v3+, changes
//! nothing: followers and consumers alike need the leader's view). v0–v1 are not
//! spoken: the codec crate decodes v2 on. The epoch check is the replication
//! core's ([`LeaderState::check_current_leader_epoch`]), the one Fetch uses.

use kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderPartition;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;

use super::Broker;
use crate::log::manager::lock;
use crate::replication::{self, LeaderState, ReplicationError, UNDEFINED_EPOCH};
use crate::TopicPartition;

impl Broker {
    /// Answers every partition of the request, each on its own.
    pub fn offsets_for_leader_epoch(
        &self,
        request: OffsetForLeaderEpochRequest,
    ) -> OffsetForLeaderEpochResponse {
        let topics = request
            .topics
            .into_iter()
            .map(|topic| {
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|asked| {
                        let tp = TopicPartition::new(topic.topic.0.to_string(), asked.partition);
                        let answer = EpochEndOffset::default().with_partition(asked.partition);
                        match self.epoch_end_offset(&tp, asked) {
                            Ok(end) => {
                                answer.with_leader_epoch(end.leader_epoch).with_end_offset(end.end_offset)
                            }
                            Err(e) => {
                                answer.with_error_code(e.code()).with_leader_epoch(-1).with_end_offset(-1)
                            }
                        }
                    })
                    .collect();
                OffsetForLeaderTopicResult::default().with_topic(topic.topic).with_partitions(partitions)
            })
            .collect();
        OffsetForLeaderEpochResponse::default().with_topics(topics)
    }

    /// One partition's answer, in Kafka's order of checks.
    fn epoch_end_offset(
        &self,
        tp: &TopicPartition,
        asked: &OffsetForLeaderPartition,
    ) -> Result<replication::EpochEndOffset, ResponseError> {
        let partition = self.partition(tp).ok_or(ResponseError::UnknownTopicOrPartition)?;
        if let Err(cause) = self.log_dir.check() {
            self.log_dir.warn(tp, "offsets for leader epoch", &cause);
            return Err(cause.kafka_error());
        }
        let leader_epoch = partition.leader_epoch_if_leader().map_err(ReplicationError::response_error)?;
        // -1 is "not said" (Kafka's `NO_PARTITION_LEADER_EPOCH`); any other value is compared.
        let current = Some(asked.current_leader_epoch).filter(|&e| e != UNDEFINED_EPOCH);
        LeaderState::check_current_leader_epoch(current, leader_epoch)
            .map_err(ReplicationError::response_error)?;
        let end = lock(&partition.log).end_offset_for_epoch(asked.leader_epoch);
        Ok(end)
    }
}
