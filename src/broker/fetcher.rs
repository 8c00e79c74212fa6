//! Follower fetchers: how a follower copies its leader's log. Kafka's
//! `ReplicaFetcherManager` and `ReplicaFetcherThread`, one task per leader
//! broker, fetching every partition this broker follows on that leader in
//! one Fetch request.
//!
//! ```text
//!  apply_image ──▶ start_fetchers: a task per leader with no task yet
//!
//!  fetcher(leader) loop:
//!    partitions following `leader` ──▶ Partition::next_fetch (fetch offset = log end,
//!                                      last fetched epoch, current leader epoch)
//!    Fetch(replica_id = this broker) ──▶ leader ──▶ per partition:
//!      records           ──▶ Partition::on_leader_records (append as they are, HW follows)
//!                            ──▶ Partition::follow_leader_log_start (the leader's log start, up to the HW)
//!      diverging epoch   ──▶ Partition::on_diverging (truncate where the logs part)
//!      OFFSET_OUT_OF_RANGE ▶ ListOffsets(latest, earliest) ──▶ Partition::on_out_of_range
//!      a metadata error  ──▶ wait for the next image (replica.fetch.backoff.ms)
//!    no partition left ──▶ the task ends
//! ```
//!
//! The fetch offset the leader receives is how it learns this follower's
//! progress: the next fetch after an append is what moves its high watermark.
//! Its log start offset is how the leader learns that a DeleteRecords has
//! reached this replica (the leader's *low watermark*).
//! A fetch long-polls on the leader (`replica.fetch.wait.max.ms`), so an idle
//! partition costs one request per wait, and a new record travels at once.
//!
//! Simplifications: no fetch sessions (KIP-227: every fetch is a full one);
//! one connection per leader; partitions are not throttled (quotas, issue 19).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{Broker, Partition};
use crate::client::{ClientError, Connection};
use crate::log::LogError;
use crate::replication::{EpochEndOffset, FollowerFetch, ReplicaId};
use crate::TopicPartition;

/// The leaders that have a fetcher task running.
#[derive(Debug, Default)]
pub struct Fetchers {
    running: Mutex<BTreeSet<ReplicaId>>,
}

/// One partition in a fetch: what was asked, for the answer.
struct Asked {
    partition: Arc<Partition>,
    fetch: FollowerFetch,
    /// This replica's log start, told to the leader (DeleteRecords waits on it).
    log_start_offset: i64,
}

impl Broker {
    /// Starts a fetcher task for each leader this broker follows a partition
    /// of and fetches from no one yet. Each task ends by itself once it
    /// follows nothing on its leader.
    pub(crate) fn start_fetchers(self: &Arc<Self>) {
        let leaders: BTreeSet<ReplicaId> = self
            .read_partitions()
            .values()
            .filter_map(|p| p.next_fetch().map(|(leader, ..)| leader))
            .collect();
        let mut running = self.fetchers.running.lock().unwrap_or_else(PoisonError::into_inner);
        for leader in leaders {
            if running.insert(leader) {
                let broker = self.clone();
                tokio::spawn(async move { broker.run_fetcher(leader).await });
            }
        }
    }

    // ANCHOR: run_fetcher
    async fn run_fetcher(self: Arc<Self>, leader: ReplicaId) {
        tracing::info!(leader, "fetcher started");
        let backoff = Duration::from_millis(self.config.replication.replica_fetch_backoff_ms);
        let mut connection: Option<Connection> = None;
        while !self.is_shutting_down() {
            let Some(asked) = self.following(leader) else { break };
            let Some(addr) = self.broker_address(leader) else {
                tokio::time::sleep(backoff).await;
                continue;
            };
            if connection.as_ref().is_none_or(|c| c.is_broken() || c.addr() != addr.as_str()) {
                match self.dial_broker(&addr, self.replica_socket_timeout()).await {
                    Ok(c) => connection = Some(c),
                    Err(e) => {
                        tracing::debug!(leader, %addr, error = %e, "fetcher cannot connect");
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                }
            }
            let c = connection.as_mut().expect("connected above");
            match self.fetch_once(c, &asked).await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(backoff).await,
                Err(e) => {
                    tracing::debug!(leader, error = %e, "follower fetch failed");
                    connection = None;
                    tokio::time::sleep(backoff).await;
                }
            }
        }
        tracing::info!(leader, "fetcher stopped");
    }
    // ANCHOR_END: run_fetcher

    /// The partitions this broker follows on `leader`, or `None` (and the
    /// task is deregistered, under the same lock `start_fetchers` takes, so
    /// a partition arriving now gets a new task).
    fn following(&self, leader: ReplicaId) -> Option<BTreeMap<TopicPartition, Asked>> {
        let mut running = self.fetchers.running.lock().unwrap_or_else(PoisonError::into_inner);
        let asked: BTreeMap<TopicPartition, Asked> = self
            .read_partitions()
            .iter()
            .filter_map(|(tp, p)| {
                let (l, fetch, log_start_offset) = p.next_fetch()?;
                (l == leader).then(|| (tp.clone(), Asked { partition: p.clone(), fetch, log_start_offset }))
            })
            .collect();
        if asked.is_empty() {
            running.remove(&leader);
            return None;
        }
        Some(asked)
    }

    /// One Fetch to the leader and what each partition's answer does.
    /// `Ok(false)`: every partition answered an error (back off).
    async fn fetch_once(
        &self,
        connection: &mut Connection,
        asked: &BTreeMap<TopicPartition, Asked>,
    ) -> Result<bool, ClientError> {
        let request = self.fetch_request(asked);
        let timeout = self.replica_socket_timeout() + Duration::from_millis(request.max_wait_ms as u64);
        let response = connection.send_within(&request, timeout).await?;
        ClientError::check(response.error_code, None, || "follower fetch".to_string())?;
        let mut progressed = false;
        let mut moved = false;
        let mut log_starts_moved = false;
        for topic in response.responses {
            for data in topic.partitions {
                let tp = TopicPartition::new(topic.topic.0.to_string(), data.partition_index);
                let Some(a) = asked.get(&tp) else { continue };
                let epoch = a.fetch.current_leader_epoch.unwrap_or(-1);
                let result = match ResponseError::try_from_code(data.error_code) {
                    None if data.diverging_epoch.epoch >= 0 || data.diverging_epoch.end_offset >= 0 => {
                        let diverging = EpochEndOffset {
                            leader_epoch: data.diverging_epoch.epoch,
                            end_offset: data.diverging_epoch.end_offset,
                        };
                        a.partition.on_diverging(epoch, diverging).map(|t| t.is_some())
                    }
                    None => {
                        let records = data.records.map(|r| BytesMut::from(&r[..])).unwrap_or_default();
                        let appended = !records.is_empty();
                        let r = a.partition.on_leader_records(epoch, records, data.high_watermark);
                        moved |= appended;
                        // The leader's log start moved (DeleteRecords, retention): follow it.
                        match r {
                            Ok(true) => a.partition.follow_leader_log_start(data.log_start_offset).map(|m| {
                                log_starts_moved |= m;
                                true
                            }),
                            r => r,
                        }
                    }
                    Some(ResponseError::OffsetOutOfRange) => {
                        let (end, start) = self.leader_offsets(connection, &tp).await?;
                        a.partition.on_out_of_range(epoch, end, start).map(|t| t.is_some())
                    }
                    Some(e) => {
                        // Stale metadata on one side or the other: the next image settles it.
                        tracing::debug!(%tp, error = ?e, "follower fetch refused");
                        continue;
                    }
                };
                match result {
                    Ok(_) => progressed = true,
                    Err(LogError::UnexpectedAppendOffset { .. }) => {
                        // The log moved under this answer (a truncation raced it): fetch again.
                        tracing::debug!(%tp, "follower fetch answer no longer fits the log");
                    }
                    Err(e) => self.log_dir.fail(&tp, &e),
                }
            }
        }
        if moved {
            self.notifier.notify();
        }
        if log_starts_moved {
            self.checkpoint_log_starts();
        }
        Ok(progressed)
    }

    fn fetch_request(&self, asked: &BTreeMap<TopicPartition, Asked>) -> FetchRequest {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, a) in asked {
            let partition = FetchPartition::default()
                .with_partition(tp.partition)
                .with_fetch_offset(a.fetch.fetch_offset)
                .with_last_fetched_epoch(a.fetch.last_fetched_epoch.unwrap_or(-1))
                .with_current_leader_epoch(a.fetch.current_leader_epoch.unwrap_or(-1))
                .with_log_start_offset(a.log_start_offset)
                .with_partition_max_bytes(self.config.replication.replica_fetch_bytes_max as i32);
            topics.entry(&tp.topic).or_default().push(partition);
        }
        FetchRequest::default()
            .with_replica_id(BrokerId(self.config.node_id))
            .with_max_wait_ms(self.config.replication.replica_fetch_wait_ms_max as i32)
            .with_min_bytes(self.config.replication.replica_fetch_bytes_min as i32)
            .with_max_bytes(self.config.replication.replica_fetch_response_bytes_max as i32)
            .with_session_epoch(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        FetchTopic::default()
                            .with_topic(TopicName(StrBytes::from_string(name.to_string())))
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
    }

    /// The leader's log end and log start, asked as a follower (ListOffsets
    /// with this broker's replica id answers the log end, not the high watermark).
    async fn leader_offsets(
        &self,
        connection: &mut Connection,
        tp: &TopicPartition,
    ) -> Result<(i64, i64), ClientError> {
        let mut offsets = [0i64; 2];
        for (i, timestamp) in [-1i64, -2].into_iter().enumerate() {
            let request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(self.config.node_id))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![ListOffsetsPartition::default()
                        .with_partition_index(tp.partition)
                        .with_timestamp(timestamp)])]);
            let response = connection.send(&request).await?;
            let p = response
                .topics
                .first()
                .and_then(|t| t.partitions.first())
                .ok_or_else(|| ClientError::Protocol(format!("ListOffsets for {tp}: no answer")))?;
            ClientError::check(p.error_code, None, || format!("ListOffsets for {tp}"))?;
            offsets[i] = p.offset;
        }
        Ok((offsets[0], offsets[1]))
    }

    fn replica_socket_timeout(&self) -> Duration {
        Duration::from_millis(self.config.replication.replica_socket_timeout_ms)
    }
}

impl Broker {
    /// Where to reach broker `id` as a broker: its registered endpoint on
    /// `inter.broker.listener.name`, from the metadata image.
    pub(crate) fn broker_address(&self, id: ReplicaId) -> Option<String> {
        let image = self.metadata_image();
        let broker = image.broker(id)?;
        let name = &self.config.inter_broker_listener_name;
        let endpoint = broker.endpoints.iter().find(|e| &e.name == name)?;
        Some(format!("{}:{}", endpoint.host, endpoint.port))
    }

    // ANCHOR: dial_broker
    /// Opens a connection to another broker's `inter.broker.listener.name`
    /// endpoint ([`Self::broker_address`]), secured as that listener is (TLS,
    /// SASL): every broker-to-broker link dials through here.
    pub(crate) async fn dial_broker(
        &self,
        addr: &str,
        timeout: Duration,
    ) -> Result<Connection, crate::client::ClientError> {
        Connection::connect_with(addr, timeout, &self.config.inter_broker_security).await
    }
    // ANCHOR_END: dial_broker
}
