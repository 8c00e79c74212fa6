//! The second phase of a transaction: each WriteTxnMarkers the core asks for
//! goes to the leaders of the transaction's partitions, and once every
//! partition has its COMMIT or ABORT marker the core hears `markers_written`
//! and records the transaction complete.
//!
//! ```text
//!  Output.markers ─▶ task ─▶ group the partitions by leader (metadata image)
//!       this broker ─▶ Broker::write_txn_markers (no network)
//!       another     ─▶ WriteTxnMarkers v1 over a connection to its inter-broker listener
//!       answered ok ─▶ partition done │ retriable error, no leader ─▶ again after a backoff
//!       topic deleted ─▶ partition dropped
//!       coordinator epoch moved on, INVALID_PRODUCER_EPOCH or
//!       TRANSACTION_COORDINATOR_FENCED ─▶ stop (a newer coordinator finishes it)
//!  every partition done ─▶ coordinator.markers_written(request)
//! ```
//!
//! As in Kafka's `TransactionMarkerChannelManager`, a marker is retried until
//! it is written or its topic is gone: the decision is durable, so giving up
//! would leave the partitions' last stable offsets stuck behind it.
//!
//! Simplifications: one task per transaction end, and a connection opened
//! per request to another broker (Kafka keeps one channel per broker and
//! batches the markers of many transactions into one request).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::{ProducerId, TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::super::Broker;
use crate::txn::WriteTxnMarkers;
use crate::TopicPartition;

/// The first wait before a marker is sent again; doubled up to [`RETRY_BACKOFF_MS_MAX`].
const RETRY_BACKOFF_MS: u64 = 50;
const RETRY_BACKOFF_MS_MAX: u64 = 1_000;
/// How long a marker request to another broker may take.
const MARKER_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// What became of one partition's marker.
enum Sent {
    Written,
    Retry,
    /// The marker is refused for good: a newer coordinator or producer epoch.
    Fenced,
}

impl Broker {
    /// Writes `markers` in the background, then reports them to the
    /// coordinator of `__transaction_state` partition `partition`.
    pub(super) fn spawn_markers(self: &Arc<Self>, partition: i32, markers: WriteTxnMarkers) {
        let broker = self.clone();
        tokio::spawn(async move {
            if broker.write_markers(partition, &markers).await {
                let _ = broker.txn_input(partition, |c, now| c.markers_written(&markers, now)).await;
            }
        });
    }

    // ANCHOR: write_markers
    /// Sends `m`'s markers until every partition has one or is gone: `true`.
    /// `false` if the coordinator moved on (shutdown, lost leadership, fenced).
    async fn write_markers(self: &Arc<Self>, partition: i32, m: &WriteTxnMarkers) -> bool {
        let mut left: BTreeSet<TopicPartition> = m.partitions.clone();
        let mut backoff_ms = RETRY_BACKOFF_MS;
        loop {
            if self.is_shutting_down() || !self.coordinates(partition, m.coordinator_epoch) {
                return false;
            }
            let image = self.metadata_image();
            let mut by_leader: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
            left.retain(|tp| match image.partition(&tp.topic, tp.partition) {
                Some(p) => {
                    by_leader.entry(p.leader).or_default().push(tp.clone());
                    true
                }
                None => {
                    tracing::info!(%tp, "no marker for a deleted partition");
                    false
                }
            });
            for (leader, partitions) in by_leader {
                if leader < 0 {
                    continue; // no leader yet: the next round
                }
                for (tp, sent) in self.send_markers(leader, m, &partitions).await {
                    match sent {
                        Sent::Written => {
                            left.remove(&tp);
                        }
                        Sent::Retry => {}
                        Sent::Fenced => return false,
                    }
                }
            }
            if left.is_empty() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
            backoff_ms = (backoff_ms * 2).min(RETRY_BACKOFF_MS_MAX);
        }
    }
    // ANCHOR_END: write_markers

    /// Whether this broker still runs the coordinator of `partition` in `coordinator_epoch`.
    fn coordinates(&self, partition: i32, coordinator_epoch: i32) -> bool {
        self.transactions.lock().get(&partition).is_some_and(|c| c.coordinator_epoch() == coordinator_epoch)
    }

    /// One WriteTxnMarkers to `leader` for `partitions`, and what became of each.
    async fn send_markers(
        self: &Arc<Self>,
        leader: i32,
        m: &WriteTxnMarkers,
        partitions: &[TopicPartition],
    ) -> Vec<(TopicPartition, Sent)> {
        let request = marker_request(m, partitions);
        let response = if leader == self.config.node_id {
            Ok(self.write_txn_markers(request).await)
        } else {
            self.send_remote_markers(leader, &request).await
        };
        let codes: BTreeMap<TopicPartition, i16> = match response {
            Ok(r) => (r.markers.iter())
                .flat_map(|marker| &marker.topics)
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| (TopicPartition::new(t.name.0.to_string(), p.partition_index), p.error_code))
                })
                .collect(),
            Err(e) => {
                tracing::debug!(leader, error = %e, "markers not sent; retrying");
                BTreeMap::new()
            }
        };
        let outcome = |tp: &TopicPartition| match codes.get(tp).map(|&c| ResponseError::try_from_code(c)) {
            Some(None) => Sent::Written,
            Some(Some(ResponseError::InvalidProducerEpoch | ResponseError::TransactionCoordinatorFenced)) => {
                tracing::info!(%tp, producer_id = m.producer_id, "marker fenced: a newer epoch owns it");
                Sent::Fenced
            }
            Some(Some(e)) => {
                tracing::debug!(%tp, error = ?e, "marker not written; retrying");
                Sent::Retry
            }
            None => Sent::Retry,
        };
        partitions.iter().map(|tp| (tp.clone(), outcome(tp))).collect()
    }

    /// WriteTxnMarkers to another broker, on its inter-broker listener.
    async fn send_remote_markers(
        &self,
        leader: i32,
        request: &WriteTxnMarkersRequest,
    ) -> Result<WriteTxnMarkersResponse, String> {
        let addr = self.broker_address(leader).ok_or_else(|| format!("no address for broker {leader}"))?;
        let timeout = Duration::from_millis(MARKER_REQUEST_TIMEOUT_MS);
        let mut connection = self.dial_broker(&addr, timeout).await.map_err(|e| e.to_string())?;
        connection.send(request).await.map_err(|e| e.to_string())
    }
}

/// The WriteTxnMarkers request of `m` for `partitions`.
fn marker_request(m: &WriteTxnMarkers, partitions: &[TopicPartition]) -> WriteTxnMarkersRequest {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    let topics = (by_topic.into_iter())
        .map(|(name, indexes)| {
            WritableTxnMarkerTopic::default()
                .with_name(TopicName(StrBytes::from_string(name.to_string())))
                .with_partition_indexes(indexes)
        })
        .collect();
    let marker = WritableTxnMarker::default()
        .with_producer_id(ProducerId(m.producer_id))
        .with_producer_epoch(m.producer_epoch)
        .with_transaction_result(m.commit)
        .with_coordinator_epoch(m.coordinator_epoch)
        .with_topics(topics);
    WriteTxnMarkersRequest::default().with_markers(vec![marker])
}
