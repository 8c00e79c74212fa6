//! Fetch and ListOffsets: reading a partition from an offset.
//!
//! A fetch names a partition and an offset and gets back *batches*, not
//! records: whole batches as the producer wrote them, which can begin before
//! the requested offset (the offset may be in the middle of a compressed batch)
//! and whose last one can be cut short by the size limit. So a consumer
//!
//! - skips records before the offset it asked for,
//! - ignores a partial batch at the end (the next fetch starts there again),
//! - skips control batches (transaction markers, chapter 9), and
//! - continues from the offset after the last whole batch, not after the last
//!   record: offsets can have gaps (compaction, chapter 10; markers).
//!
//! There is one Fetch here, `Client::fetch_from` (one request to one leader
//! for partitions of any topics), and one caller: the [`Consumer`](super::Consumer),
//! which chapter 5's group consumer and `spool consume` drive.
//!
//! `max_wait_ms` is long polling (see [`crate::broker::fetch`]): with nothing to
//! read, the broker holds the request that long before answering empty.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, ListOffsetsRequest};
use kafka_protocol::ResponseError;

use super::admin::topic_name;
use super::{Client, ClientError};
use crate::format::batch::TimestampType;
use crate::format::record::Record;
use crate::format::{BatchError, RecordBatch};
use crate::TopicPartition;

/// Limits of one fetch, with Kafka's consumer defaults.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// `fetch.max.wait.ms`: how long the broker may wait for `min_bytes`.
    pub max_wait_ms: i32,
    /// `fetch.min.bytes`.
    pub min_bytes: i32,
    /// `fetch.max.bytes`: the whole response (a first batch may exceed it, KIP-74).
    pub max_bytes: i32,
    /// `max.partition.fetch.bytes`.
    pub partition_max_bytes: i32,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 50 * 1024 * 1024,
            partition_max_bytes: 1024 * 1024,
        }
    }
}

/// Which offset ListOffsets looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (timestamp -2).
    Earliest,
    /// The log end offset: where the next record will go (timestamp -1).
    Latest,
    /// The first offset whose timestamp is at or after this one.
    Timestamp(i64),
}

impl OffsetSpec {
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

// ANCHOR: decode_fetched
/// Decodes a partition's fetched bytes: the records at or after
/// `fetch_offset`, each with its batch's timestamp type, and the offset to
/// fetch next.
pub fn decode_fetched(
    mut bytes: Bytes,
    fetch_offset: i64,
) -> Result<(Vec<(Record, TimestampType)>, i64), ClientError> {
    let mut records = Vec::new();
    let mut next_offset = fetch_offset;
    while !bytes.is_empty() {
        let (batch, rest) = match RecordBatch::parse(&bytes) {
            Ok(parsed) => parsed,
            // The size limit cut the last batch: fetch it again next time.
            Err(BatchError::Truncated { .. }) => break,
            Err(e) => return Err(e.into()),
        };
        batch.validate()?; // the CRC, as Kafka's `check.crcs=true`
        if batch.next_offset() > fetch_offset && !batch.is_control() {
            let timestamp_type = batch.timestamp_type();
            let decoded = batch.decode_records()?.into_iter().filter(|r| r.offset >= fetch_offset);
            records.extend(decoded.map(|r| (r, timestamp_type)));
        }
        next_offset = next_offset.max(batch.next_offset());
        bytes = rest;
    }
    Ok((records, next_offset))
}
// ANCHOR_END: decode_fetched

/// One partition's outcome of a fetch: its records and next offset, or its error.
type PartitionOutcome = (TopicPartition, Result<(Vec<(Record, TimestampType)>, i64), ResponseError>);

impl Client {
    // ANCHOR: fetch
    /// One Fetch to `leader` for `(partition, offset)`s of any topics:
    /// each partition's records and next offset, or its error code for the
    /// caller to act on (a consumer resets on `OFFSET_OUT_OF_RANGE`). The
    /// [`Consumer`](super::Consumer) groups its partitions by leader and
    /// calls this once per leader.
    pub(crate) async fn fetch_from(
        &mut self,
        leader: i32,
        partitions: &[(TopicPartition, i64)],
        options: FetchOptions,
    ) -> Result<Vec<PartitionOutcome>, ClientError> {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, offset) in partitions {
            topics.entry(&tp.topic).or_default().push(
                FetchPartition::default()
                    .with_partition(tp.partition)
                    .with_fetch_offset(*offset)
                    .with_partition_max_bytes(options.partition_max_bytes),
            );
        }
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(options.max_wait_ms)
            .with_min_bytes(options.min_bytes)
            .with_max_bytes(options.max_bytes)
            .with_session_epoch(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| FetchTopic::default().with_topic(topic_name(t)).with_partitions(ps))
                    .collect(),
            );
        let timeout = self.request_timeout + Duration::from_millis(options.max_wait_ms.max(0) as u64);
        let response = self.node_connection(leader).await?.send_within(&request, timeout).await?;
        ClientError::check(response.error_code, None, || "fetch".to_string())?;
        let mut out = Vec::new();
        for t in response.responses {
            for p in t.partitions {
                let tp = TopicPartition::new(t.topic.0.to_string(), p.partition_index);
                let asked = partitions.iter().find(|(asked, _)| *asked == tp);
                let Some(&(_, offset)) = asked else {
                    return Err(ClientError::Protocol(format!("Fetch answered {tp}, not asked")));
                };
                let outcome = match ResponseError::try_from_code(p.error_code) {
                    Some(code) => Err(code),
                    None => Ok(decode_fetched(p.records.unwrap_or_else(Bytes::new), offset)?),
                };
                out.push((tp, outcome));
            }
        }
        Ok(out)
    }
    // ANCHOR_END: fetch

    /// ListOffsets: the earliest or latest offset (or the one for a timestamp)
    /// of each partition, from its leader.
    pub async fn list_offsets(
        &mut self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
    ) -> Result<BTreeMap<i32, i64>, ClientError> {
        let by_leader = self.by_leader(topic, partitions.iter().map(|&p| (p, ())), false).await?;
        let mut offsets = BTreeMap::new();
        for (leader, partitions) in by_leader {
            let request = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
                ListOffsetsTopic::default().with_name(topic_name(topic)).with_partitions(
                    partitions
                        .iter()
                        .map(|&(p, ())| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p)
                                .with_timestamp(spec.timestamp())
                        })
                        .collect(),
                ),
            ]);
            let response = self.node_connection(leader).await?.send(&request).await?;
            for t in response.topics {
                for p in t.partitions {
                    let tp = format!("{topic}-{}", p.partition_index);
                    ClientError::check(p.error_code, None, || format!("list offsets of {tp}"))?;
                    offsets.insert(p.partition_index, p.offset);
                }
            }
        }
        Ok(offsets)
    }
}
