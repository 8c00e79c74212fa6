//! WriteTxnMarkers: the second phase of a transaction's commit, on each
//! partition it wrote to (KIP-98; Kafka's `KafkaApis.handleWriteTxnMarkersRequest`).
//!
//! Once the transaction coordinator has durably decided a transaction
//! (PrepareCommit or PrepareAbort in `__transaction_state`), it asks the
//! leader of every partition the transaction touched to append one
//! **control batch** holding an end-transaction marker:
//!
//! ```text
//!  coordinator ──WriteTxnMarkers{pid 7, epoch 2, COMMIT, coordinator epoch 4, [t-0, t-1]}──▶ leader
//!                                                      │
//!     for each partition:   leader? ── no ──▶ NOT_LEADER_OR_FOLLOWER
//!                           known?  ── no ──▶ UNKNOWN_TOPIC_OR_PARTITION
//!                           control batch {pid 7, epoch 2, seq -1, transactional, control}
//!                             record: key (0, COMMIT)  value (0, coordinator epoch 4)
//!                           log append ── the producer table checks epochs first:
//!                              older producer epoch    ──▶ INVALID_PRODUCER_EPOCH
//!                              older coordinator epoch ──▶ TRANSACTION_COORDINATOR_FENCED
//!                           wait for the high watermark (acks=all) ──▶ NONE
//! ```
//!
//! The marker closes the producer's transaction in the partition's producer
//! table, which moves the last stable offset; an ABORT also lands in the
//! segment's `.txnindex` so `read_committed` fetches can skip the aborted
//! records (`crate::log::transactions`). The append goes through the same
//! leader path as a produce, but skips what only clients are held to: the
//! validator refuses control batches from clients, and `__consumer_offsets`
//! is written only by coordinators.
//!
//! Like a produce with `acks=all`, a partition is answered only once the
//! high watermark covers its marker: a coordinator told NONE may forget the
//! partition, and the marker must survive a leader change.
//!
//! Simplifications: Kafka bounds the wait by the broker's
//! `request.timeout.ms`; spool uses that setting's default (30 s), there is
//! no such broker setting yet.
//!
//! A marker written to `__consumer_offsets` also tells the group coordinator
//! to make visible (COMMIT) or drop (ABORT) the offsets the transaction
//! committed with TxnOffsetCommit ([`offsets_partitions_marked`], then
//! `Broker::complete_txn`), as Kafka's handler calls
//! `GroupCoordinator.onTransactionCompleted` before it answers.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::write_txn_markers_request::WritableTxnMarker;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use kafka_protocol::ResponseError;

use super::produce::{wait_for_replication, AppendedWaiting};
use super::{now_ms, Broker};
use crate::format::batch::NO_SEQUENCE;
use crate::format::BatchBuilder;
use crate::idempotence::EndTxnMarker;
use crate::log::producers::AppendOrigin;
use crate::TopicPartition;

/// How long a marker waits for the in-sync replicas: Kafka's default
/// `request.timeout.ms`.
pub const MARKER_APPEND_TIMEOUT_MS: u64 = 30_000;

/// One marker's partitions as appended, before the waits.
type Appends = Vec<(TopicName, Vec<(i32, AppendedWaiting)>)>;

impl Broker {
    // ANCHOR: write_txn_markers
    /// Appends each marker to each of its partitions on this leader, then
    /// answers each partition once its marker is replicated (or with the
    /// error that stopped it). The transaction coordinator calls this directly
    /// for the partitions this broker leads, and over the wire for the others.
    pub async fn write_txn_markers(
        self: &Arc<Self>,
        request: WriteTxnMarkersRequest,
    ) -> WriteTxnMarkersResponse {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(MARKER_APPEND_TIMEOUT_MS);
        let mut appended = Vec::with_capacity(request.markers.len());
        for marker in &request.markers {
            appended.push((marker.producer_id, self.append_marker_everywhere(marker).await));
        }
        let mut markers = Vec::with_capacity(appended.len());
        for (producer_id, topics) in appended {
            let mut results = Vec::with_capacity(topics.len());
            for (name, partitions) in topics {
                let mut answers = Vec::with_capacity(partitions.len());
                for (index, result) in partitions {
                    let code = match result {
                        Ok((_, Some(wait))) => wait_for_replication(wait, deadline).await,
                        Ok((_, None)) => Ok(()),
                        Err(e) => Err(e),
                    }
                    .map_or_else(|(code, _)| code.code(), |()| 0);
                    answers.push(
                        WritableTxnMarkerPartitionResult::default()
                            .with_partition_index(index)
                            .with_error_code(code),
                    );
                }
                results
                    .push(WritableTxnMarkerTopicResult::default().with_name(name).with_partitions(answers));
            }
            markers
                .push(WritableTxnMarkerResult::default().with_producer_id(producer_id).with_topics(results));
        }
        // ANCHOR: offsets_marked
        // The group coordinator learns here which `__consumer_offsets`
        // partitions now hold the transaction's end, and applies (COMMIT) or
        // drops (ABORT) the transaction's pending offsets. No log lock is held.
        for (marker, result) in request.markers.iter().zip(&markers) {
            for offsets_partition in offsets_partitions_marked(result) {
                self.complete_txn(offsets_partition, marker.producer_id.0, marker.transaction_result);
            }
        }
        // ANCHOR_END: offsets_marked
        WriteTxnMarkersResponse::default().with_markers(markers)
    }

    /// Appends one marker to every partition it names; none waits yet.
    async fn append_marker_everywhere(self: &Arc<Self>, marker: &WritableTxnMarker) -> Appends {
        let end = EndTxnMarker {
            is_abort: !marker.transaction_result,
            coordinator_epoch: marker.coordinator_epoch,
        };
        let mut topics = Vec::with_capacity(marker.topics.len());
        for topic in &marker.topics {
            let mut partitions = Vec::with_capacity(topic.partition_indexes.len());
            for &index in &topic.partition_indexes {
                let tp = TopicPartition::new(topic.name.0.to_string(), index);
                let result = self.append_marker(&tp, marker.producer_id.0, marker.producer_epoch, end).await;
                if let Err((code, message)) = &result {
                    tracing::debug!(%tp, ?code, message, "txn marker refused");
                }
                partitions.push((index, result));
            }
            topics.push((topic.name.clone(), partitions));
        }
        topics
    }

    /// Appends one marker's control batch to `tp` as its leader, `acks=all`.
    async fn append_marker(
        self: &Arc<Self>,
        tp: &TopicPartition,
        producer_id: i64,
        producer_epoch: i16,
        marker: EndTxnMarker,
    ) -> AppendedWaiting {
        if self.is_shutting_down() {
            return Err((ResponseError::NotLeaderOrFollower, "broker is shutting down".into()));
        }
        let Some(partition) = self.partition(tp) else {
            return Err((ResponseError::UnknownTopicOrPartition, format!("no partition {tp}")));
        };
        let leader_epoch =
            partition.check_append(true).map_err(|e| (e.response_error(), format!("{tp}: {e}")))?;
        if let Err(e) = self.log_dir.check() {
            self.log_dir.warn(tp, "txn marker", &e);
            return Err((e.kafka_error(), e.to_string()));
        }
        let batch = control_batch(producer_id, producer_epoch, marker, now_ms());
        self.append_as_leader(tp, &partition, batch, leader_epoch, true, AppendOrigin::Client).await
    }
    // ANCHOR_END: write_txn_markers
}

// ANCHOR: control_batch
/// The control batch of one end-transaction marker (Kafka's
/// `MemoryRecords.withEndTransactionMarker`): the producer's id and epoch, no
/// sequence, the transactional and control bits, and one record whose key
/// and value are the marker's.
pub fn control_batch(
    producer_id: i64,
    producer_epoch: i16,
    marker: EndTxnMarker,
    timestamp_ms: i64,
) -> BytesMut {
    let (key, value) = marker.encode();
    let mut builder = BatchBuilder::default()
        .producer(producer_id, producer_epoch, NO_SEQUENCE)
        .transactional(true)
        .control(true);
    builder.append(timestamp_ms, Some(&key), Some(&value), &[]);
    BytesMut::from(&builder.build().as_bytes()[..])
}
// ANCHOR_END: control_batch

/// The partitions of `__consumer_offsets` whose marker was written (error
/// NONE) in one marker's result: where a transaction's offset commits become
/// visible (COMMIT) or are dropped (ABORT) — Kafka hands these to
/// `GroupCoordinator.onTransactionCompleted` before answering.
pub fn offsets_partitions_marked(result: &WritableTxnMarkerResult) -> Vec<i32> {
    result
        .topics
        .iter()
        .filter(|topic| topic.name.0.as_str() == crate::group::CONSUMER_OFFSETS_TOPIC)
        .flat_map(|topic| &topic.partitions)
        .filter(|p| p.error_code == 0)
        .map(|p| p.partition_index)
        .collect()
}

#[cfg(test)]
mod tests;
