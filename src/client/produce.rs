//! Produce: records become one v2 batch per partition, sent to each
//! partition's leader.
//!
//! The batch is built here with [`BatchBuilder`], compressed with the codec the
//! caller picks, and stored by the broker byte for byte (only its base offset is
//! rewritten). `acks` says what the broker must do before answering: 0, not
//! answer at all; 1, append to the leader's log; -1 (`all`), append on every
//! in-sync replica — the same as 1 while there is one broker (chapter 6).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::ProduceRequest;

use super::admin::topic_name;
use super::{Client, ClientError};
use crate::format::{BatchBuilder, Compression};

/// One record to produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// `CreateTime`; `None` means now.
    pub timestamp_ms: Option<i64>,
}

/// `acks`: how much of the write must be done before the broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: fire and forget; no response, no offsets, no errors.
    None,
    /// `acks=1`: the leader appended it.
    Leader,
    /// `acks=all` (-1): every in-sync replica appended it.
    All,
}

impl Acks {
    /// The wire value.
    pub fn code(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }

    /// Parses Kafka's spellings: `0`, `1`, `-1`, `all`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "0" => Some(Acks::None),
            "1" => Some(Acks::Leader),
            "-1" | "all" => Some(Acks::All),
            _ => None,
        }
    }
}

/// How a produce call writes.
#[derive(Debug, Clone, Copy)]
pub struct ProduceOptions {
    pub acks: Acks,
    pub compression: Compression,
}

impl Default for ProduceOptions {
    /// Kafka 3.0's producer defaults: `acks=all`, no compression.
    fn default() -> Self {
        ProduceOptions { acks: Acks::All, compression: Compression::None }
    }
}

/// The broker's answer for one partition: the offset of its batch's first record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionAck {
    pub partition: i32,
    /// -1 with `acks=0`.
    pub base_offset: i64,
    /// The broker's clock for `LogAppendTime` topics, -1 otherwise.
    pub log_append_time_ms: i64,
}

/// Encodes records as one batch (base offset 0; the broker assigns the real one).
pub fn build_batch(records: &[ProducerRecord], compression: Compression) -> Bytes {
    let now = super::now_ms();
    let mut builder = BatchBuilder::new(compression);
    for r in records {
        let headers: Vec<(&str, Option<&[u8]>)> =
            r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
        builder.append(r.timestamp_ms.unwrap_or(now), r.key.as_deref(), r.value.as_deref(), &headers);
    }
    builder.build().as_bytes().clone()
}

impl Client {
    // ANCHOR: produce
    /// Produces each partition's records as one batch, one request per leader.
    /// Any partition's error fails the call (after every leader was tried, so a
    /// caller cannot tell which other partitions were written: chapter 4's
    /// producer reports per batch).
    pub async fn produce(
        &mut self,
        topic: &str,
        records: BTreeMap<i32, Vec<ProducerRecord>>,
        options: ProduceOptions,
    ) -> Result<Vec<PartitionAck>, ClientError> {
        let records = records.into_iter().filter(|(_, r)| !r.is_empty());
        let by_leader = self.by_leader(topic, records, true).await?;
        let timeout_ms = self.request_timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut acks = Vec::new();
        let mut first_error = None;
        for (leader, partitions) in by_leader {
            let data = partitions
                .iter()
                .map(|(p, records)| {
                    PartitionProduceData::default()
                        .with_index(*p)
                        .with_records(Some(build_batch(records, options.compression)))
                })
                .collect();
            let request = ProduceRequest::default()
                .with_acks(options.acks.code())
                .with_timeout_ms(timeout_ms)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(topic_name(topic))
                    .with_partition_data(data)]);
            let connection = self.node_connection(leader).await?;
            if options.acks == Acks::None {
                connection.send_oneway(&request).await?;
                acks.extend(partitions.iter().map(|(p, _)| PartitionAck {
                    partition: *p,
                    base_offset: -1,
                    log_append_time_ms: -1,
                }));
                continue;
            }
            let response = connection.send(&request).await?;
            let mut unanswered: BTreeSet<i32> = partitions.iter().map(|(p, _)| *p).collect();
            for t in response.responses {
                for p in t.partition_responses {
                    unanswered.remove(&p.index);
                    let message = p.error_message.map(|m| m.to_string());
                    match ClientError::check(p.error_code, message, || {
                        format!("produce to {topic}-{}", p.index)
                    }) {
                        Ok(()) => acks.push(PartitionAck {
                            partition: p.index,
                            base_offset: p.base_offset,
                            log_append_time_ms: p.log_append_time_ms,
                        }),
                        Err(e) => {
                            if e.code().is_some_and(|c| c.is_retriable()) {
                                self.invalidate(topic); // perhaps the leader moved
                            }
                            first_error.get_or_insert(e);
                        }
                    }
                }
            }
            if !unanswered.is_empty() {
                let why = format!("Produce response left out {topic} partitions {unanswered:?}");
                first_error.get_or_insert(ClientError::Protocol(why));
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(acks),
        }
    }
    // ANCHOR_END: produce
}
