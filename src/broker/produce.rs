//! Produce: validate each partition's batches, append them on the leader,
//! wake the fetches waiting for them, and answer when `acks` says.
//!
//! - `acks=1`: answered once the leader has appended.
//! - `acks=-1` (all): refused before anything is written while the ISR is
//!   smaller than `min.insync.replicas` (NOT_ENOUGH_REPLICAS); otherwise
//!   answered when the high watermark covers the batch — every ISR member has
//!   it ([`Partition::after_append`](super::Partition::after_append)) — or REQUEST_TIMED_OUT after the
//!   request's `timeout_ms`, or NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR
//!   shrank below the minimum meanwhile. The partitions of one request wait
//!   together, under one deadline.
//! - `acks=0` gets no response at all: the client does not wait for one — so
//!   if such a produce fails, the broker closes the connection, the only
//!   signal that client will notice (Kafka does the same).
//!
//! Any other `acks` is `INVALID_REQUIRED_ACKS`. A replica that does not lead
//! the partition answers NOT_LEADER_OR_FOLLOWER: the client refreshes its
//! metadata and sends the batch to the leader.
//!
//! Chapter 9: a producer's first transactional batch on a partition is
//! appended only once the transaction coordinator confirms the partition is
//! in its open transaction (KIP-890 part 1, `produce/verify.rs`).

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::ResponseError;

use super::partition::AckWait;
use super::{now_ms, Broker, Error};
use crate::log::manager::lock;
use crate::log::producers::AppendOrigin;
use crate::log::validator::{validate_partition_records, ValidationPolicy};
use crate::replication::ReplicationError;
use crate::TopicPartition;

/// What one partition's append answers: (base offset, log append time, log
/// start offset), or why it was refused.
type Appended = Result<(i64, i64, i64), Refused>;

/// A client's append as it stands before any wait, or why it was refused
/// (with the records at fault, KIP-467).
type ProduceAppend = Result<((i64, i64, i64), Option<AckWait>), Refused>;

/// One partition's append as it stands before any wait: the offsets and, for
/// `acks=all`, the wait for the high watermark.
pub(super) type AppendedWaiting = Result<((i64, i64, i64), Option<AckWait>), (ResponseError, String)>;

impl Broker {
    // ANCHOR: produce
    /// Appends every partition's records, then waits (for `acks=all`) until
    /// each is replicated or the request's timeout passes. `Ok(None)` for a
    /// successful `acks=0`; `Err` (close the connection) for a failed one.
    pub async fn produce(
        self: &Arc<Self>,
        request: ProduceRequest,
        version: i16,
    ) -> Result<Option<ProduceResponse>, Error> {
        match self.append_produce(request, version).await? {
            Some(waiting) => Ok(Some(waiting.answer().await)),
            None => Ok(None),
        }
    }

    /// The first half of [`Broker::produce`]: appends every partition's
    /// records and returns the answer still to wait for (`None` for a
    /// successful `acks=0`). The wire server may read the connection's next
    /// produce while this one waits (`spool.produce.pipelining`).
    pub async fn append_produce(
        self: &Arc<Self>,
        request: ProduceRequest,
        version: i16,
    ) -> Result<Option<Waiting>, Error> {
        let acks = request.acks;
        let transactional_id = request.transactional_id.as_ref().map(|id| id.0.to_string());
        let valid_acks = matches!(acks, -1..=1);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(request.timeout_ms.max(0) as u64);
        let mut topics = Vec::new();
        for topic in request.topic_data {
            let mut partitions = Vec::new();
            for data in topic.partition_data {
                let tp = TopicPartition::new(topic.name.0.to_string(), data.index);
                let result = match data.records {
                    _ if !valid_acks => {
                        Err((ResponseError::InvalidRequiredAcks, format!("acks={acks}")).into())
                    }
                    Some(records) => {
                        let records = BytesMut::from(&records[..]);
                        self.append(&tp, records, version, acks == -1, transactional_id.as_deref()).await
                    }
                    None => Err((ResponseError::CorruptMessage, "no records".to_string()).into()),
                };
                partitions.push((tp, result));
            }
            topics.push((topic.name, partitions));
        }
        let failed = topics.iter().flat_map(|(_, partitions)| partitions).any(|(_, result)| result.is_err());
        match acks {
            0 if failed => Err(Error::CloseConnection("a produce with acks=0 failed".into())),
            0 => Ok(None),
            _ => Ok(Some(Waiting { topics, deadline })),
        }
    }

    /// Appends one partition's batches on its leader: the offsets to answer,
    /// and for `acks=all` the wait for the high watermark.
    async fn append(
        self: &Arc<Self>,
        tp: &TopicPartition,
        records: BytesMut,
        version: i16,
        acks_all: bool,
        transactional_id: Option<&str>,
    ) -> ProduceAppend {
        if self.is_shutting_down() {
            return Err((ResponseError::NotLeaderOrFollower, "broker is shutting down".to_string()).into());
        }
        let Some(partition) = self.partition(tp) else {
            return Err((ResponseError::UnknownTopicOrPartition, format!("no partition {tp}")).into());
        };
        partition.check_append(acks_all).map_err(|e| replication_error(tp, e))?;
        if let Err(e) = self.log_dir.check() {
            self.log_dir.warn(tp, "produce", &e);
            return Err((e.kafka_error(), e.to_string()).into());
        }
        if [crate::group::CONSUMER_OFFSETS_TOPIC, crate::txn::TRANSACTION_STATE_TOPIC]
            .contains(&tp.topic.as_str())
        {
            // Only the group (chapter 5) and transaction (chapter 9)
            // coordinators write them, as in Kafka.
            return Err((
                ResponseError::InvalidTopicException,
                format!("cannot append to internal topic {tp}"),
            )
                .into());
        }
        check_batch_sizes(&records, partition.max_message_bytes())?;
        // Chapter 4: open every batch, check its records, recompress it if the
        // topic names another codec. (Produce v0-v2 arrive rewritten as v3.)
        // A batch refused for some of its records names them (KIP-467).
        let policy = ValidationPolicy { zstd_allowed: version >= 7, ..partition.validation() };
        let validated = validate_partition_records(records, policy, &tp.to_string(), now_ms())?;
        let records = validated.batches;
        if validated.recompressed > 0 {
            // A re-encoded batch may have grown past the limit.
            check_batch_sizes(&records, partition.max_message_bytes())?;
        }
        // Chapter 9: the coordinator's word first, for a transaction's first batch.
        let origin = self.verify_txn_produce(tp, &partition, &records, transactional_id, version).await?;
        // Checked again: the verification may have waited while leadership moved.
        let leader_epoch = partition.check_append(acks_all).map_err(|e| replication_error(tp, e))?;
        Ok(self.append_as_leader(tp, &partition, records, leader_epoch, acks_all, origin).await?)
    }

    /// Writes batches already checked for their origin (a client's produce,
    /// or the transaction coordinator's markers) on the leader of
    /// `leader_epoch`, through the log's producer table (which checks them
    /// as `origin` says): the offsets to answer, and for `acks=all` the wait
    /// for the high watermark.
    pub(super) async fn append_as_leader(
        self: &Arc<Self>,
        tp: &TopicPartition,
        partition: &Arc<super::Partition>,
        records: BytesMut,
        leader_epoch: i32,
        acks_all: bool,
        origin: AppendOrigin,
    ) -> AppendedWaiting {
        let durable = lock(&partition.log).config().flush_before_ack;
        let info = if durable {
            // Group commit waits for an fsync: a blocking wait, off the async threads.
            let log = partition.log.clone();
            let commit = partition.group_commit.clone();
            tokio::task::spawn_blocking(move || {
                let info = lock(&log).append_from(records, leader_epoch, now_ms(), origin)?;
                commit.wait_durable(&log, info.last_offset + 1).map(|()| info)
            })
            .await
            .map_err(|e| (ResponseError::UnknownServerError, e.to_string()))?
        } else {
            lock(&partition.log).append_from(records, leader_epoch, now_ms(), origin)
        }
        .map_err(|e| {
            self.log_dir.fail(tp, &e);
            let e = Error::Log(e);
            (e.kafka_error(), e.to_string())
        })?;
        // A retried batch is waited for too: its first append may not be replicated yet.
        let (wait, _) = partition
            .after_append(leader_epoch, info.last_offset, acks_all)
            .map_err(|e| replication_error(tp, e))?;
        if !info.duplicate {
            self.notifier.notify();
        }
        let log_start = lock(&partition.log).log_start_offset();
        Ok(((info.first_offset, info.log_append_time, log_start), wait))
    }
    // ANCHOR_END: produce
}

mod refused;
mod verify;

pub use refused::Refused;

/// A produce's answer after its appends: for `acks=all`, the high watermark
/// each partition waits for.
#[derive(Debug)]
pub struct Waiting {
    topics: Vec<(TopicName, Vec<(TopicPartition, ProduceAppend)>)>,
    /// The request's `timeout_ms`, from its arrival.
    deadline: tokio::time::Instant,
}

impl Waiting {
    /// Whether any partition still waits for its replicas (else the answer is
    /// ready now).
    pub fn waits(&self) -> bool {
        self.topics
            .iter()
            .flat_map(|(_, partitions)| partitions)
            .any(|(_, result)| matches!(result, Ok((_, Some(_)))))
    }

    /// Answers `partitions` of topic `name` with `code` beside the appended
    /// ones: the partitions the authorizer refused (chapter 11).
    pub fn refuse(&mut self, name: TopicName, partitions: &[i32], code: ResponseError) {
        let refused = (partitions.iter())
            .map(|&p| {
                let tp = TopicPartition::new(name.to_string(), p);
                (tp, Err(Refused::from((code, "not authorized to write to this topic".to_string()))))
            })
            .collect();
        self.topics.push((name, refused));
    }

    /// The response, once every partition's wait is over: the partitions of
    /// one request wait together, under one deadline.
    pub async fn answer(self) -> ProduceResponse {
        let mut responses = Vec::new();
        for (name, partitions) in self.topics {
            let mut answers = Vec::new();
            for (tp, result) in partitions {
                let result = match result {
                    Ok((offsets, Some(wait))) => wait_for_replication(wait, self.deadline)
                        .await
                        .map(|()| offsets)
                        .map_err(Refused::from),
                    Ok((offsets, None)) => Ok(offsets),
                    Err(e) => Err(e),
                };
                answers.push(partition_response(&tp, result));
            }
            responses.push(TopicProduceResponse::default().with_name(name).with_partition_responses(answers));
        }
        ProduceResponse::default().with_responses(responses)
    }
}

/// Waits for the high watermark to cover an `acks=all` append, until `deadline`.
pub(super) async fn wait_for_replication(
    wait: AckWait,
    deadline: tokio::time::Instant,
) -> Result<(), (ResponseError, String)> {
    match tokio::time::timeout_at(deadline, wait).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err((e.response_error(), e.to_string())),
        // The partition was dropped with the wait unanswered (deleted).
        Ok(Err(_)) => Err((ResponseError::NotLeaderOrFollower, "the partition is gone".into())),
        Err(_) => Err((
            ResponseError::RequestTimedOut,
            "the in-sync replicas did not confirm the append within the request timeout".into(),
        )),
    }
}

fn partition_response(tp: &TopicPartition, result: Appended) -> PartitionProduceResponse {
    let response = PartitionProduceResponse::default().with_index(tp.partition);
    match result {
        Ok((base_offset, log_append_time, log_start_offset)) => response
            .with_base_offset(base_offset)
            .with_log_append_time_ms(log_append_time)
            .with_log_start_offset(log_start_offset),
        Err(refused) => {
            tracing::debug!(%tp, code = ?refused.code, refused.message, "produce failed");
            refused.response(tp.partition)
        }
    }
}

fn replication_error(tp: &TopicPartition, e: ReplicationError) -> (ResponseError, String) {
    (e.response_error(), format!("{tp}: {e}"))
}

/// `message.max.bytes` (or the topic's `max.message.bytes`) bounds each batch.
fn check_batch_sizes(records: &[u8], max: usize) -> Result<(), (ResponseError, String)> {
    let mut rest = records;
    while rest.len() >= crate::format::batch::LOG_OVERHEAD {
        let Some(Ok(size)) = crate::format::batch::batch_size(rest) else { break };
        if size > max {
            return Err((
                ResponseError::MessageTooLarge,
                format!("batch of {size} bytes exceeds max.message.bytes {max}"),
            ));
        }
        rest = &rest[size.min(rest.len())..];
    }
    Ok(())
}
