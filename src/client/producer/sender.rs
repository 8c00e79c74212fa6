//! The sender: a tokio task that turns ready batches into Produce requests
//! and their responses into answers for each record (Kafka's `Sender`).
//!
//! ```text
//!  loop:
//!    expire batches past delivery.timeout.ms
//!    refresh metadata if a leader is unknown (at most every retry.backoff.ms)
//!    drain ready batches, grouped by leader ─▶ one Produce per broker
//!        (only brokers with fewer than max.in.flight requests outstanding)
//!    wait for: a response | a wake-up from send/flush/close | the next linger deadline
//!  response, per batch:
//!    ok                  ─▶ each record: offset = base offset + index
//!    retriable, in time  ─▶ back to the front of its queue after retry.backoff.ms
//!                           (and a metadata refresh if the leader may have moved)
//!    otherwise           ─▶ each record: the error; and if the batch was
//!                           numbered (idempotence), the epoch is bumped
//! ```
//!
//! The task is the only writer to broker connections, so it alone counts
//! requests in flight. Responses are awaited in a [`JoinSet`], each from a
//! [`Connection::send_pipelined`]; a connection that fails (I/O error, request
//! timeout, garbled response) is dropped, which fails its other in-flight
//! requests too, and the next request to that broker opens a new one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;
use tokio::task::JoinSet;

use super::accumulator::{complete, BatchOutcome, ProducerBatch, Route};
use super::Shared;
use crate::client::admin::topic_name;
use crate::client::{Acks, ClientError, Connection};

/// `max.request.size`'s default: a request carries batches up to this many
/// bytes (a single larger batch still goes, alone).
pub const REQUEST_BYTES_MAX: usize = 1024 * 1024;

/// A Produce request's outcome, from the task that awaited it.
type Answer = (i32, Vec<ProducerBatch>, Result<ProduceResponse, ClientError>);

struct Sender {
    shared: Arc<Shared>,
    connections: BTreeMap<i32, Connection>,
    /// Requests awaiting a response, per broker.
    in_flight: BTreeMap<i32, usize>,
    responses: JoinSet<Answer>,
    /// Topics whose leaders must be looked up again.
    stale_topics: BTreeSet<String>,
    next_refresh_ms: u64,
}

// ANCHOR: run
/// Runs until the producer is closed and every batch is answered.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut sender = Sender {
        shared,
        connections: BTreeMap::new(),
        in_flight: BTreeMap::new(),
        responses: JoinSet::new(),
        stale_topics: BTreeSet::new(),
        next_refresh_ms: 0,
    };
    loop {
        let now_ms = sender.shared.now_ms();
        sender.expire(now_ms);
        sender.refresh_metadata(now_ms).await;
        let next_ready_ms = sender.send_ready().await;
        let accumulator = &sender.shared.accumulator;
        if accumulator.is_closed() && accumulator.is_empty() && sender.responses.is_empty() {
            return;
        }
        // Without news, look again when a batch's linger or backoff is up; and
        // while batches wait for a leader, every retry.backoff.ms.
        let backoff_ms = sender.shared.config.retry_backoff_ms;
        let mut wait_ms = next_ready_ms.map_or(u64::MAX, |t| t.saturating_sub(now_ms));
        if !accumulator.is_empty() {
            wait_ms = wait_ms.min(backoff_ms.max(1));
        }
        tokio::select! {
            Some(answer) = sender.responses.join_next(), if !sender.responses.is_empty() => {
                match answer {
                    Ok((node, batches, result)) => sender.handle_response(node, batches, result),
                    Err(e) => panic!("a response task failed: {e}"),
                }
            }
            () = sender.shared.wake_sender.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(wait_ms)), if wait_ms != u64::MAX => {}
        }
    }
}
// ANCHOR_END: run

impl Sender {
    /// Fails the queued batches whose `delivery.timeout.ms` is up.
    fn expire(&mut self, now_ms: u64) {
        let expired = self.shared.accumulator.expire(now_ms);
        if expired.is_empty() {
            return;
        }
        for batch in expired {
            let error = self.expired_error(&batch, None);
            self.bump_epoch_after(&batch, &error);
            complete(batch, BatchOutcome::Failed(error));
        }
        self.shared.batch_done.notify_waiters();
    }

    fn expired_error(&self, batch: &ProducerBatch, last: Option<&ClientError>) -> ClientError {
        let last = last.map_or(String::new(), |e| format!(" (last error: {e})"));
        ClientError::TimedOut {
            what: format!(
                "{} record(s) for {} expired: not acknowledged{last}",
                batch.record_count(),
                batch.topic_partition
            ),
            timeout_ms: self.shared.config.delivery_timeout_ms,
        }
    }

    async fn refresh_metadata(&mut self, now_ms: u64) {
        if self.stale_topics.is_empty() || now_ms < self.next_refresh_ms {
            return;
        }
        self.next_refresh_ms = now_ms + self.shared.config.retry_backoff_ms;
        let topics: Vec<&str> = self.stale_topics.iter().map(String::as_str).collect();
        let refresh = self.shared.refresh_metadata(&topics);
        if let Ok(Ok(())) = tokio::time::timeout(self.shared.config.request_timeout(), refresh).await {
            self.stale_topics.clear();
        }
        // On failure the topics stay stale and are asked about again after the backoff.
    }

    // ANCHOR: send_ready
    /// Drains and sends until no ready batch has a broker with room; returns
    /// when the next lingering or backing-off batch becomes ready.
    async fn send_ready(&mut self) -> Option<u64> {
        loop {
            let now_ms = self.shared.now_ms();
            let metadata = crate::sync::lock(&self.shared.metadata).clone();
            let in_flight_max = self.shared.config.max_in_flight_requests_per_connection;
            let route = |tp: &crate::TopicPartition| {
                let leader = metadata.topics.get(&tp.topic).and_then(|l| l.get(tp.partition as usize));
                match leader {
                    Some(&node) if node >= 0 && metadata.brokers.contains_key(&node) => {
                        if self.in_flight.get(&node).copied().unwrap_or(0) < in_flight_max {
                            Route::Node(node)
                        } else {
                            Route::Busy
                        }
                    }
                    _ => Route::Unknown,
                }
            };
            let drained = self.shared.accumulator.drain(now_ms, REQUEST_BYTES_MAX, route);
            self.stale_topics.extend(drained.unknown_leaders);
            if drained.by_node.is_empty() {
                return drained.next_ready_ms;
            }
            for (node, batches) in drained.by_node {
                let addr = metadata.brokers.get(&node).cloned().unwrap_or_default();
                self.send_produce(node, &addr, batches).await;
            }
        }
    }
    // ANCHOR_END: send_ready

    /// The connection to `node`, opening one if there is none or it broke.
    async fn connection(&mut self, node: i32, addr: &str) -> Result<&mut Connection, ClientError> {
        let usable = self.connections.get(&node).is_some_and(|c| !c.is_broken() && c.addr() == addr);
        if !usable {
            self.connections.remove(&node);
            let timeout = self.shared.config.request_timeout();
            let client_id =
                self.shared.config.client_id.as_deref().unwrap_or(super::super::connection::CLIENT_ID);
            let connection = Connection::open(addr, timeout, client_id, &self.shared.security).await?;
            self.connections.insert(node, connection);
        }
        Ok(self.connections.get_mut(&node).expect("inserted above"))
    }

    // ANCHOR: send_produce
    /// One Produce request to `node` with `batches` (one per partition).
    async fn send_produce(&mut self, node: i32, addr: &str, mut batches: Vec<ProducerBatch>) {
        let config = &self.shared.config;
        let mut topics: BTreeMap<String, Vec<PartitionProduceData>> = BTreeMap::new();
        for batch in &mut batches {
            let data = PartitionProduceData::default()
                .with_index(batch.topic_partition.partition)
                .with_records(Some(batch.bytes()));
            topics.entry(batch.topic_partition.topic.clone()).or_default().push(data);
        }
        let request = ProduceRequest::default()
            .with_acks(config.acks.code())
            .with_timeout_ms(config.request_timeout_ms as i32)
            .with_topic_data(
                topics
                    .into_iter()
                    .map(|(t, data)| {
                        TopicProduceData::default().with_name(topic_name(&t)).with_partition_data(data)
                    })
                    .collect(),
            );
        let acks_none = config.acks == Acks::None;
        let sent = match self.connection(node, addr).await {
            Err(e) => Err(e),
            Ok(connection) if acks_none => connection.send_oneway(&request).await.map(|()| None),
            Ok(connection) => connection.send_pipelined(&request).await.map(Some),
        };
        match sent {
            // acks=0: written is all the answer there will be.
            Ok(None) => {
                for batch in batches {
                    let acked = BatchOutcome::Acked { base_offset: -1, log_append_time_ms: -1 };
                    self.shared.accumulator.done(batch, acked);
                }
                self.shared.batch_done.notify_waiters();
            }
            Ok(Some(response)) => {
                *self.in_flight.entry(node).or_default() += 1;
                self.responses.spawn(async move { (node, batches, response.await) });
            }
            Err(e) => {
                self.connections.remove(&node);
                self.fail_request(batches, &e);
            }
        }
    }
    // ANCHOR_END: send_produce

    // ANCHOR: handle_response
    fn handle_response(
        &mut self,
        node: i32,
        batches: Vec<ProducerBatch>,
        result: Result<ProduceResponse, ClientError>,
    ) {
        if let Some(n) = self.in_flight.get_mut(&node) {
            *n = n.saturating_sub(1);
        }
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                // Kafka closes a connection whose request timed out: a late
                // response would be read as the next request's.
                self.connections.remove(&node);
                self.fail_request(batches, &e);
                return;
            }
        };
        let mut answers = BTreeMap::new();
        for topic in response.responses {
            for p in topic.partition_responses {
                answers.insert((topic.name.0.to_string(), p.index), p);
            }
        }
        for batch in batches {
            let tp = &batch.topic_partition;
            let Some(p) = answers.remove(&(tp.topic.clone(), tp.partition)) else {
                let error = ClientError::Protocol(format!("the Produce response left out {tp}"));
                self.fail_batch(batch, &error);
                continue;
            };
            let context = || format!("produce to {tp}");
            match ClientError::check(p.error_code, p.error_message.map(|m| m.to_string()), context) {
                Ok(()) => {
                    let outcome = BatchOutcome::Acked {
                        base_offset: p.base_offset,
                        log_append_time_ms: p.log_append_time_ms,
                    };
                    self.shared.accumulator.done(batch, outcome);
                }
                Err(e) => self.fail_batch(batch, &e),
            }
        }
        self.shared.batch_done.notify_waiters();
        self.shared.wake_sender.notify_one(); // a slot is free: look for ready batches
    }
    // ANCHOR_END: handle_response

    // ANCHOR: bump_epoch_after
    /// Chapter 8: a numbered (sealed idempotent) batch has failed for good, so
    /// its sequences are a hole the broker will never see filled, whatever
    /// the cause: a refused sequence (`OUT_OF_ORDER_SEQUENCE_NUMBER`,
    /// `UNKNOWN_PRODUCER_ID`), a refused batch (`MESSAGE_TOO_LARGE`,
    /// `INVALID_RECORD`, `CORRUPT_MESSAGE` after its retries), or
    /// `delivery.timeout.ms` running out after a send (the broker may or may
    /// not have written it). The next batch of the partition would then fail
    /// with `OUT_OF_ORDER_SEQUENCE_NUMBER`; instead the producer bumps its
    /// epoch, so its next batches start again at sequence 0 (KIP-360, as the
    /// Java client's `TransactionManager.handleFailedBatch` →
    /// `requestIdempotentEpochBumpForPartition`). Called before the batch's
    /// records are answered and before the sender drains again, so no later
    /// batch of the partition is sealed with the old numbering. A fencing
    /// error (`INVALID_PRODUCER_EPOCH`, `PRODUCER_FENCED`) only fails the
    /// batch: a newer epoch exists, and bumping would not get past it.
    fn bump_epoch_after(&self, batch: &ProducerBatch, error: &ClientError) {
        let failed_epoch = batch.producer_epoch();
        let fenced =
            matches!(error.code(), Some(ResponseError::InvalidProducerEpoch | ResponseError::ProducerFenced));
        if failed_epoch < 0 || fenced {
            return; // not numbered (never sealed, or not idempotent): no hole
        }
        let bumped = self.shared.accumulator.bump_epoch(failed_epoch);
        tracing::warn!(tp = %batch.topic_partition, ?bumped, %error, "idempotent batch failed: epoch bumped");
    }
    // ANCHOR_END: bump_epoch_after

    /// A whole request failed (connection, timeout): each batch is retried or failed.
    fn fail_request(&mut self, batches: Vec<ProducerBatch>, error: &ClientError) {
        // Kafka refreshes metadata after a disconnection, since the broker may
        // be gone: `leader_may_have_moved` says so for I/O errors and timeouts.
        for batch in batches {
            self.fail_batch(batch, error);
        }
        self.shared.batch_done.notify_waiters();
    }

    // ANCHOR: retry
    /// Retries a batch that failed with a retriable error, if `retries` and
    /// `delivery.timeout.ms` allow; otherwise answers its records with the error.
    fn fail_batch(&mut self, batch: ProducerBatch, error: &ClientError) {
        let now_ms = self.shared.now_ms();
        let config = &self.shared.config;
        let accumulator = &self.shared.accumulator;
        if error.is_retriable()
            && batch.attempts < config.retries
            && !accumulator.delivery_expired(&batch, now_ms)
        {
            if leader_may_have_moved(error) {
                self.stale_topics.insert(batch.topic_partition.topic.clone());
                self.next_refresh_ms = self.next_refresh_ms.min(now_ms);
            }
            accumulator.reenqueue(batch, now_ms);
            return;
        }
        let error = if error.is_retriable() && accumulator.delivery_expired(&batch, now_ms) {
            self.expired_error(&batch, Some(error))
        } else {
            error.duplicate()
        };
        self.bump_epoch_after(&batch, &error);
        self.shared.accumulator.done(batch, BatchOutcome::Failed(error));
    }
    // ANCHOR_END: retry
}

/// Errors after which the partition's leader should be looked up again
/// (Kafka's `InvalidMetadataException` family, and a lost connection).
fn leader_may_have_moved(error: &ClientError) -> bool {
    match error.code() {
        Some(code) => matches!(
            code,
            ResponseError::NotLeaderOrFollower
                | ResponseError::UnknownTopicOrPartition
                | ResponseError::LeaderNotAvailable
                | ResponseError::FencedLeaderEpoch
                | ResponseError::UnknownLeaderEpoch
                | ResponseError::KafkaStorageError
        ),
        None => matches!(error, ClientError::Io(_) | ClientError::Timeout { .. } | ClientError::Protocol(_)),
    }
}
