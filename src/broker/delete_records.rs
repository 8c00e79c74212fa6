//! DeleteRecords (API key 21, issue 17): "forget everything in these
//! partitions before these offsets". The partition's leader moves its log
//! start offset, deletes the segments wholly below it and writes
//! `log-start-offset-checkpoint`; then the request waits, as in Kafka's
//! `DelayedDeleteRecords` purgatory, until every live replica's log start has
//! followed (the *low watermark*), or `timeout_ms` passes (REQUEST_TIMED_OUT).
//!
//! ```text
//!  DeleteRecords{t-0: 5} ──▶ checks ──▶ Partition::delete_records_before(5)
//!                                           │ segments below 5 deleted, checkpoint
//!      ┌────────────────────────────────────┘
//!      ▼
//!  low watermark ≥ 5? ── yes ──▶ answer {low_watermark}
//!      │ no: wait for a follower's fetch to report its log start (notifier)
//!      └── timeout_ms ──▶ REQUEST_TIMED_OUT, low watermark -1
//! ```
//!
//! The followers' part is in [`super::fetcher`]: each fetch answer carries the
//! leader's log start, and each fetch tells the leader the follower's.
//! Kafka's checks, in its order: a partition the metadata does not know is
//! UNKNOWN_TOPIC_OR_PARTITION, an internal topic INVALID_TOPIC_EXCEPTION, then
//! the leader's own (see [`super::Partition::delete_records_before`]).
//!
//! Simplifications: no authorization (spool has none); one notifier wakes
//! every waiting request, as it wakes every long-polling fetch.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use kafka_protocol::ResponseError;

use super::partition::DeleteRecordsError;
use super::Broker;
use crate::group::CONSUMER_OFFSETS_TOPIC;
use crate::txn::TRANSACTION_STATE_TOPIC;
use crate::TopicPartition;

/// One partition of the request: still waiting for its low watermark, or answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting { required_offset: i64 },
    Done { low_watermark: i64, error: Option<ResponseError> },
}

impl Broker {
    // ANCHOR: delete_records
    /// DeleteRecords: each partition's deletion on its leader, then the wait
    /// for every live replica's log start to reach it.
    pub async fn delete_records(self: &Arc<Self>, request: DeleteRecordsRequest) -> DeleteRecordsResponse {
        let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut statuses: BTreeMap<TopicPartition, Status> = BTreeMap::new();
        for topic in &request.topics {
            for p in &topic.partitions {
                let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                let status = match self.delete_records_on_leader(&tp, p.offset) {
                    Ok(required_offset) => Status::Waiting { required_offset },
                    Err(error) => Status::Done { low_watermark: -1, error: Some(error) },
                };
                statuses.insert(tp, status);
            }
        }
        if statuses.values().any(|s| matches!(s, Status::Waiting { .. })) {
            self.checkpoint_log_starts();
        }
        loop {
            // Read the generation *before* the low watermarks: see `notify`.
            let generation = self.notifier.generation();
            self.check_low_watermarks(&mut statuses);
            let waiting = statuses.values().any(|s| matches!(s, Status::Waiting { .. }));
            if !waiting
                || tokio::time::timeout_at(deadline, self.notifier.wait_past(generation)).await.is_err()
            {
                break;
            }
        }
        delete_records_response(&request, &statuses)
    }
    // ANCHOR_END: delete_records

    /// One partition's deletion on this broker, its leader: the offset its
    /// low watermark must reach, or the error to answer.
    fn delete_records_on_leader(&self, tp: &TopicPartition, offset: i64) -> Result<i64, ResponseError> {
        if self.metadata_image().partition(&tp.topic, tp.partition).is_none() {
            return Err(ResponseError::UnknownTopicOrPartition);
        }
        if tp.topic == CONSUMER_OFFSETS_TOPIC || tp.topic == TRANSACTION_STATE_TOPIC {
            return Err(ResponseError::InvalidTopicException);
        }
        let partition = self.partition(tp).ok_or(ResponseError::NotLeaderOrFollower)?;
        if let Err(cause) = self.log_dir.check() {
            self.log_dir.warn(tp, "delete records", &cause);
            return Err(cause.kafka_error());
        }
        match partition.delete_records_before(offset) {
            Ok(required_offset) => {
                tracing::info!(%tp, log_start_offset = required_offset, "records deleted");
                Ok(required_offset)
            }
            Err(DeleteRecordsError::Refused(e)) => Err(e),
            Err(DeleteRecordsError::Log(e)) => {
                self.log_dir.fail(tp, &e);
                Err(ResponseError::KafkaStorageError)
            }
        }
    }

    /// Answers each waiting partition whose low watermark has reached its
    /// offset, or that this broker no longer leads.
    fn check_low_watermarks(&self, statuses: &mut BTreeMap<TopicPartition, Status>) {
        let image = self.metadata_image();
        let alive = |id| image.broker(id).is_none_or(|b| !b.fenced);
        for (tp, status) in statuses.iter_mut() {
            let Status::Waiting { required_offset } = *status else { continue };
            let low_watermark = match self.partition(tp) {
                Some(partition) => partition.low_watermark_if_leader(alive),
                None => Err(ResponseError::NotLeaderOrFollower),
            };
            *status = match low_watermark {
                Ok(low_watermark) if low_watermark >= required_offset => {
                    Status::Done { low_watermark, error: None }
                }
                Ok(_) => continue,
                Err(error) => Status::Done { low_watermark: -1, error: Some(error) },
            };
        }
    }

    /// Writes `log-start-offset-checkpoint` now, so a crash cannot bring the
    /// deleted records back (the periodic checkpoint may be a minute away).
    pub(crate) fn checkpoint_log_starts(&self) {
        if let Err(e) = self.lock_logs().checkpoint() {
            self.log_dir.fail(&"log-start-offset-checkpoint", &e);
        }
    }
}

/// The answer, in the request's order; a partition still waiting timed out.
fn delete_records_response(
    request: &DeleteRecordsRequest,
    statuses: &BTreeMap<TopicPartition, Status>,
) -> DeleteRecordsResponse {
    let topics = (request.topics.iter())
        .map(|topic| {
            let partitions = (topic.partitions.iter())
                .map(|p| {
                    let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                    let (low_watermark, error) = match statuses[&tp] {
                        Status::Done { low_watermark, error } => (low_watermark, error),
                        Status::Waiting { .. } => (-1, Some(ResponseError::RequestTimedOut)),
                    };
                    DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(low_watermark)
                        .with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect();
            DeleteRecordsTopicResult::default().with_name(topic.name.clone()).with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
