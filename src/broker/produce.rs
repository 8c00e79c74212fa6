//! Produce: validate each partition's batches, append them, wake the fetches
//! waiting for them.
//!
//! With one broker, `acks=1` and `acks=-1` mean the same thing — the leader is
//! the whole ISR (chapter 6 makes them differ). `acks=0` gets no response at all:
//! the client does not wait for one — so if such a produce fails, the broker
//! closes the connection, the only signal that client will notice (Kafka does
//! the same). Any other `acks` is `INVALID_REQUIRED_ACKS`.

use bytes::BytesMut;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::sync::Arc;

use super::{now_ms, Broker, Error};
use crate::log::manager::lock;
use crate::log::validator::{validate_records, ValidationError, ValidationPolicy};
use crate::TopicPartition;

impl Broker {
    // ANCHOR: produce
    /// Appends every partition's records. `Ok(None)` for a successful `acks=0`;
    /// `Err` (close the connection) for a failed one.
    pub async fn produce(
        self: &Arc<Self>,
        request: ProduceRequest,
        version: i16,
    ) -> Result<Option<ProduceResponse>, Error> {
        let acks = request.acks;
        let valid_acks = matches!(acks, -1..=1);
        let mut failed = false;
        let mut responses = Vec::new();
        for topic in request.topic_data {
            let mut partitions = Vec::new();
            for data in topic.partition_data {
                let tp = TopicPartition::new(topic.name.0.to_string(), data.index);
                let result = match data.records {
                    _ if !valid_acks => Err((ResponseError::InvalidRequiredAcks, format!("acks={acks}"))),
                    Some(records) => self.append(&tp, BytesMut::from(&records[..]), version).await,
                    None => Err((ResponseError::CorruptMessage, "no records".to_string())),
                };
                failed |= result.is_err();
                let response = PartitionProduceResponse::default().with_index(data.index);
                partitions.push(match result {
                    Ok((base_offset, log_append_time, log_start_offset)) => response
                        .with_base_offset(base_offset)
                        .with_log_append_time_ms(log_append_time)
                        .with_log_start_offset(log_start_offset),
                    Err((code, message)) => {
                        tracing::debug!(%tp, ?code, message, "produce failed");
                        response
                            .with_error_code(code.code())
                            .with_base_offset(-1)
                            .with_error_message(Some(StrBytes::from_string(message)))
                    }
                });
            }
            responses.push(
                TopicProduceResponse::default().with_name(topic.name).with_partition_responses(partitions),
            );
        }
        match acks {
            0 if failed => Err(Error::CloseConnection("a produce with acks=0 failed".into())),
            0 => Ok(None),
            _ => Ok(Some(ProduceResponse::default().with_responses(responses))),
        }
    }

    /// Appends one partition's batches: (base offset, log append time, log start offset).
    async fn append(
        self: &Arc<Self>,
        tp: &TopicPartition,
        records: BytesMut,
        version: i16,
    ) -> Result<(i64, i64, i64), (ResponseError, String)> {
        if self.is_shutting_down() {
            return Err((ResponseError::NotLeaderOrFollower, "broker is shutting down".into()));
        }
        let Some(partition) = self.partition(tp) else {
            return Err((ResponseError::UnknownTopicOrPartition, format!("no partition {tp}")));
        };
        if let Err(e) = self.log_dir.check() {
            self.log_dir.warn(tp, "produce", &e);
            return Err((e.kafka_error(), e.to_string()));
        }
        if tp.topic == crate::group::CONSUMER_OFFSETS_TOPIC {
            // Only the group coordinator writes it (chapter 5), as in Kafka.
            return Err((
                ResponseError::InvalidTopicException,
                format!("cannot append to internal topic {tp}"),
            ));
        }
        check_batch_sizes(&records, partition.max_message_bytes)?;
        // Chapter 4: open every batch, check its records, recompress it if the
        // topic names another codec. (Produce v0-v2 arrive rewritten as v3.)
        let policy = ValidationPolicy { zstd_allowed: version >= 7, ..partition.validation };
        let validated = validate_records(records, policy).map_err(validation_error)?;
        let records = validated.batches;
        if validated.recompressed > 0 {
            // A re-encoded batch may have grown past the limit.
            check_batch_sizes(&records, partition.max_message_bytes)?;
        }
        let durable = lock(&partition.log).config().flush_before_ack;
        let info = if durable {
            // Group commit waits for an fsync: a blocking wait, off the async threads.
            let (log, epoch) = (partition.log.clone(), partition.leader_epoch);
            let commit = partition.group_commit.clone();
            tokio::task::spawn_blocking(move || commit.append(&log, records, epoch, now_ms()))
                .await
                .map_err(|e| (ResponseError::UnknownServerError, e.to_string()))?
        } else {
            lock(&partition.log).append(records, partition.leader_epoch, now_ms())
        }
        .map_err(|e| {
            self.log_dir.fail(tp, &e);
            let e = Error::Log(e);
            (e.kafka_error(), e.to_string())
        })?;
        if !info.duplicate {
            self.notifier.notify();
        }
        let log_start = lock(&partition.log).log_start_offset();
        Ok((info.first_offset, info.log_append_time, log_start))
    }
    // ANCHOR_END: produce
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

fn validation_error(e: ValidationError) -> (ResponseError, String) {
    let code = match &e {
        ValidationError::Corrupt(_) => ResponseError::CorruptMessage,
        ValidationError::InvalidRecord(_) => ResponseError::InvalidRecord,
        ValidationError::UnsupportedCompression(_) => ResponseError::UnsupportedCompressionType,
    };
    (code, e.to_string())
}
