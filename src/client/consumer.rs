//! Chapter 4 — spool's consumer: assign partitions, seek, poll.
//!
//! A Kafka consumer is a loop around Fetch. It keeps a **position** per
//! assigned partition — the offset of the next record it will hand out — and
//! each `poll` sends one fetch per leader for all of its partitions at their
//! positions, long-polling (`fetch.min.bytes`, `fetch.max.wait.ms`) so that an
//! idle consumer costs the broker one request per wait. The answer is whole
//! batches, possibly compressed; the consumer checks each batch's CRC,
//! decompresses it (end-to-end compression: the broker never did), drops the
//! records before its position, and moves the position past the last whole
//! batch ([`super::fetch::decode_fetched`], called by the one Fetch
//! implementation, `Client::fetch_from` in [`super::fetch`]). Records come out in offset order
//! within each partition; across partitions there is no order, as in Kafka.
//!
//! A partition without a position gets one from `auto.offset.reset`:
//! `earliest` (the log start offset), `latest` (the log end offset, Kafka's
//! default), or `none` (an error the caller must handle by seeking). A
//! position that falls off the log (`OFFSET_OUT_OF_RANGE`: retention deleted
//! it, or it was never there) is reset the same way.
//!
//! ```text
//!   assign([orders-0, orders-1]) ─▶ positions {0: ?, 1: ?}
//!   poll ─▶ ListOffsets (auto.offset.reset) ─▶ {0: 0, 1: 0}
//!        ─▶ Fetch {orders-0 @0, orders-1 @0} ─▶ batches ─▶ records, {0: 120, 1: 97}
//! ```
//!
//! This consumer is told its partitions (`assign`). Chapter 5's
//! [`super::group_consumer::GroupConsumer`] `subscribe`s instead: it joins a
//! consumer group, is given partitions by the group, and drives this
//! consumer's `assign`, `seek` and `poll` with them.
//!
//! Simplifications: partitions led by different brokers are fetched
//! one leader after another, not in parallel; no fetch sessions (KIP-227); no
//! prefetching while the caller works on the last poll's records.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;

use super::fetch::{FetchOptions, OffsetSpec};
use super::group_consumer::GroupConfig;
use super::{Client, ClientError};
use crate::format::batch::TimestampType;
use crate::format::record::Record;
use crate::TopicPartition;

/// `auto.offset.reset`: where a partition without a valid position starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    /// Fail: the caller decides (by seeking).
    None,
}

/// A consumer's settings, with Kafka's names and defaults.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `fetch.min.bytes`, `fetch.max.wait.ms`, `fetch.max.bytes`,
    /// `max.partition.fetch.bytes`.
    pub fetch: FetchOptions,
    /// `auto.offset.reset` (default `latest`).
    pub auto_offset_reset: OffsetReset,
    /// `request.timeout.ms`.
    pub request_timeout: Duration,
    /// `group.id` and the rest of a group member's settings (chapter 5's
    /// [`super::group_consumer::GroupConsumer`]; an `assign`ing consumer ignores them).
    pub group: GroupConfig,
    /// `client.id` (`None`: spool's own, [`super::connection::CLIENT_ID`]).
    pub client_id: Option<String>,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            fetch: FetchOptions::default(),
            auto_offset_reset: OffsetReset::Latest,
            request_timeout: super::REQUEST_TIMEOUT_DEFAULT,
            group: GroupConfig::default(),
            client_id: None,
        }
    }
}

impl ConsumerConfig {
    /// The keys [`set`](Self::set) knows (with [`GroupConfig::KEYS`]).
    pub const KEYS: &'static [&'static str] = &[
        "fetch.min.bytes",
        "fetch.max.wait.ms",
        "fetch.max.bytes",
        "max.partition.fetch.bytes",
        "request.timeout.ms",
        "auto.offset.reset",
        "client.id",
    ];

    /// Sets one property by Kafka's name; an unknown key or a bad value is an error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ClientError> {
        let bad = || ClientError::InvalidArgument(format!("invalid value {value:?} for {key}"));
        let int = |v: &str| v.parse::<i32>().map_err(|_| bad());
        match key {
            "fetch.min.bytes" => self.fetch.min_bytes = int(value)?,
            "fetch.max.wait.ms" => self.fetch.max_wait_ms = int(value)?,
            "fetch.max.bytes" => self.fetch.max_bytes = int(value)?,
            "max.partition.fetch.bytes" => self.fetch.partition_max_bytes = int(value)?,
            "request.timeout.ms" => {
                self.request_timeout = Duration::from_millis(value.parse().map_err(|_| bad())?)
            }
            "auto.offset.reset" => {
                self.auto_offset_reset = match value {
                    "earliest" => OffsetReset::Earliest,
                    "latest" => OffsetReset::Latest,
                    "none" => OffsetReset::None,
                    _ => return Err(bad()),
                }
            }
            "client.id" => self.client_id = Some(value.to_string()).filter(|id| !id.is_empty()),
            _ if self.group.set(key, value)? => {}
            _ => return Err(ClientError::InvalidArgument(format!("unknown consumer property {key}"))),
        }
        Ok(())
    }
}

/// A record with the partition it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: String,
    pub partition: i32,
    pub record: Record,
    /// Which clock `record.timestamp` is from (its batch's).
    pub timestamp_type: TimestampType,
}

/// A consumer of explicitly assigned partitions.
#[derive(Debug)]
pub struct Consumer {
    client: Client,
    config: ConsumerConfig,
    /// Each assigned partition's position; `None` until reset or sought.
    positions: BTreeMap<TopicPartition, Option<i64>>,
}

impl Consumer {
    /// Connects to `bootstrap` (a `host:port`).
    pub async fn connect(bootstrap: &str, config: ConsumerConfig) -> Result<Self, ClientError> {
        Self::connect_with(bootstrap, config, super::Security::default()).await
    }

    /// [`Consumer::connect`], secured as `security` says (`security.protocol`;
    /// a [`super::Tls`] alone is SSL).
    pub async fn connect_with(
        bootstrap: &str,
        config: ConsumerConfig,
        security: impl Into<super::Security>,
    ) -> Result<Self, ClientError> {
        let client =
            Client::open(bootstrap, config.request_timeout, config.client_id.as_deref(), security).await?;
        Ok(Consumer { client, config, positions: BTreeMap::new() })
    }

    /// Replaces the assignment; partitions kept from the old one keep their positions.
    pub fn assign(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        let old = std::mem::take(&mut self.positions);
        for tp in partitions {
            let position = old.get(&tp).copied().flatten();
            self.positions.insert(tp, position);
        }
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> impl Iterator<Item = &TopicPartition> {
        self.positions.keys()
    }

    /// Makes `offset` the next record `poll` hands out from `topic`-`partition`.
    pub fn seek(&mut self, topic: &str, partition: i32, offset: i64) -> Result<(), ClientError> {
        match self.positions.get_mut(&TopicPartition::new(topic, partition)) {
            Some(position) => {
                *position = Some(offset);
                Ok(())
            }
            None => Err(ClientError::InvalidArgument(format!("{topic}-{partition} is not assigned"))),
        }
    }

    /// Seeks every assigned partition to its earliest or latest offset.
    pub async fn seek_to(&mut self, spec: OffsetSpec) -> Result<(), ClientError> {
        let all: Vec<TopicPartition> = self.positions.keys().cloned().collect();
        self.reset(&all, spec).await
    }

    /// The client underneath, for the group calls of chapter 5's group consumer.
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// How the consumer's connections are secured: a group consumer's
    /// heartbeat connection is secured the same way.
    pub fn security(&self) -> &super::Security {
        self.client.security()
    }

    /// The settings this consumer was made with.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// The next offset `poll` hands out from `topic`-`partition`, once known.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.positions.get(&TopicPartition::new(topic, partition)).copied().flatten()
    }

    // ANCHOR: poll
    /// Fetches from every assigned partition at its position; returns as soon
    /// as some records arrived, or empty once `timeout` has passed.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.reset_missing_positions().await?;
            let left = deadline.saturating_duration_since(Instant::now());
            let wait_ms = (left.as_millis() as i32).min(self.config.fetch.max_wait_ms);
            let options = FetchOptions { max_wait_ms: wait_ms, ..self.config.fetch };
            let records = self.fetch_once(options).await?;
            if !records.is_empty() || Instant::now() >= deadline {
                return Ok(records);
            }
        }
    }
    // ANCHOR_END: poll

    /// Positions for partitions without one, from `auto.offset.reset`.
    async fn reset_missing_positions(&mut self) -> Result<(), ClientError> {
        let missing: Vec<TopicPartition> =
            self.positions.iter().filter(|(_, p)| p.is_none()).map(|(tp, _)| tp.clone()).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let spec = match self.config.auto_offset_reset {
            OffsetReset::Earliest => OffsetSpec::Earliest,
            OffsetReset::Latest => OffsetSpec::Latest,
            OffsetReset::None => {
                return Err(ClientError::InvalidArgument(format!(
                    "{} has no position and auto.offset.reset is none: seek first",
                    missing[0]
                )));
            }
        };
        self.reset(&missing, spec).await
    }

    async fn reset(&mut self, partitions: &[TopicPartition], spec: OffsetSpec) -> Result<(), ClientError> {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in partitions {
            by_topic.entry(&tp.topic).or_default().push(tp.partition);
        }
        for (topic, partitions) in by_topic {
            for (partition, offset) in self.client.list_offsets(topic, &partitions, spec).await? {
                self.positions.insert(TopicPartition::new(topic, partition), Some(offset));
            }
        }
        Ok(())
    }

    /// One fetch per leader for every assigned partition; advances positions.
    async fn fetch_once(&mut self, options: FetchOptions) -> Result<Vec<ConsumerRecord>, ClientError> {
        let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, i64)>> = BTreeMap::new();
        let mut by_topic: BTreeMap<String, Vec<(i32, i64)>> = BTreeMap::new();
        for (tp, position) in &self.positions {
            let offset = position.expect("positions are reset before a fetch");
            by_topic.entry(tp.topic.clone()).or_default().push((tp.partition, offset));
        }
        for (topic, partitions) in by_topic {
            for (leader, list) in self.client.by_leader(&topic, partitions, false).await? {
                by_leader
                    .entry(leader)
                    .or_default()
                    .extend(list.into_iter().map(|(p, o)| (TopicPartition::new(topic.clone(), p), o)));
            }
        }
        let mut records = Vec::new();
        for (leader, partitions) in by_leader {
            let fetched = self.client.fetch_from(leader, &partitions, options).await?;
            for (tp, result) in fetched {
                match result {
                    Ok((batch_records, next_offset)) => {
                        records.extend(batch_records.into_iter().map(|(record, timestamp_type)| {
                            ConsumerRecord {
                                topic: tp.topic.clone(),
                                partition: tp.partition,
                                record,
                                timestamp_type,
                            }
                        }));
                        self.positions.insert(tp, Some(next_offset));
                    }
                    // Fell off the log: reset it as auto.offset.reset says.
                    Err(ResponseError::OffsetOutOfRange)
                        if self.config.auto_offset_reset != OffsetReset::None =>
                    {
                        self.positions.insert(tp, None);
                    }
                    Err(code) => {
                        if code.is_retriable() {
                            self.client.invalidate(&tp.topic);
                        }
                        return Err(ClientError::kafka(code.code(), None, format!("fetch from {tp}")));
                    }
                }
            }
        }
        Ok(records)
    }
}
