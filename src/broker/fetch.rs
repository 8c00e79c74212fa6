//! Fetch, with long polling, and ListOffsets.
//!
//! A consumer's fetch names partitions and offsets and says how long it is
//! willing to wait (`max_wait_ms`) for how much (`min_bytes`). The broker reads
//! what is there; if that is less than `min_bytes`, it parks the fetch until an
//! append wakes it or the wait runs out, then reads again. That is long polling:
//! an idle consumer costs one request per `max_wait_ms`, not a busy loop, and a
//! record reaches a waiting consumer as soon as it is appended.
//!
//! Sizes: each partition gets at most its `partition_max_bytes`, the response at
//! most `max_bytes`, except that the first partition with data always returns at
//! least one whole batch, however large (KIP-74), so a consumer never stalls on a
//! batch bigger than its limits.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{FetchRequest, ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use super::Broker;
use crate::log::manager::lock;
use crate::log::{LogError, ReadOptions};
use crate::zero_copy::{FetchPartition, FetchReply, FetchTopic};
use crate::TopicPartition;

/// `ListOffsets` timestamps with special meanings.
const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

impl Broker {
    // ANCHOR: fetch
    /// Reads now; if fewer than `min_bytes` came back and nothing failed, waits
    /// for an append (or the deadline) and reads again. The reply names the
    /// records' file regions; the server sends them (chapter 3).
    pub async fn fetch(self: &Arc<Self>, request: FetchRequest) -> FetchReply {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
        loop {
            // Read the generation *before* the logs: see `notify`.
            let generation = self.notifier.generation();
            let (reply, bytes, errors) = self.read_fetch(&request);
            let waited_enough = tokio::time::Instant::now() >= deadline;
            if bytes >= request.min_bytes.max(0) as usize || errors || waited_enough {
                return reply;
            }
            if tokio::time::timeout_at(deadline, self.notifier.wait_past(generation)).await.is_err() {
                // Deadline reached: answer with what there is (perhaps nothing).
                return self.read_fetch(&request).0;
            }
        }
    }
    // ANCHOR_END: fetch

    /// One pass over the requested partitions: the reply, its record bytes,
    /// and whether any partition had an error.
    fn read_fetch(&self, request: &FetchRequest) -> (FetchReply, usize, bool) {
        let mut budget = request.max_bytes.max(0) as usize;
        let mut total = 0;
        let mut errors = false;
        let mut topics = Vec::new();
        for topic in &request.topics {
            let mut partitions = Vec::new();
            for p in &topic.partitions {
                let tp = TopicPartition::new(topic.topic.0.to_string(), p.partition);
                let max_bytes = (p.partition_max_bytes.max(0) as usize).min(budget) as u32;
                let partition = self.read_partition(&tp, p.fetch_offset, max_bytes, total == 0);
                let len = partition.records_len();
                errors |= partition.data.error_code != 0;
                budget = budget.saturating_sub(len);
                total += len;
                partitions.push(partition);
            }
            topics.push(FetchTopic { name: topic.topic.clone(), partitions });
        }
        (FetchReply { topics, ..FetchReply::default() }, total, errors)
    }

    // ANCHOR: read_partition
    /// Finds one partition's records: a region of a segment file, not its bytes.
    fn read_partition(
        &self,
        tp: &TopicPartition,
        offset: i64,
        max_bytes: u32,
        first: bool,
    ) -> FetchPartition {
        let data = PartitionData::default()
            .with_partition_index(tp.partition)
            .with_aborted_transactions(Some(vec![]));
        let Some(partition) = self.partition(tp) else {
            let data = data.with_error_code(ResponseError::UnknownTopicOrPartition.code());
            return FetchPartition { data, region: None };
        };
        if let Err(cause) = self.log_dir.check() {
            self.log_dir.warn(tp, "fetch", &cause);
            let data = data.with_error_code(cause.kafka_error().code());
            return FetchPartition { data, region: None };
        }
        // The log lock covers only finding the region; the bytes move later.
        let (region, log_start, end) = {
            let log = lock(&partition.log);
            let options = ReadOptions { max_bytes, max_offset: None, min_one_batch: first };
            (log.read_with(offset, options), log.log_start_offset(), log.log_end_offset())
        };
        // One broker: the high watermark and last stable offset are the log end.
        let data =
            data.with_high_watermark(end).with_last_stable_offset(end).with_log_start_offset(log_start);
        match region {
            Ok(Some(region)) => FetchPartition { data, region: Some(region) },
            Ok(None) => FetchPartition { data: data.with_records(Some(Default::default())), region: None },
            Err(LogError::OffsetOutOfRange { .. }) => {
                let data = data.with_error_code(ResponseError::OffsetOutOfRange.code());
                FetchPartition { data, region: None }
            }
            Err(e) => {
                self.log_dir.warn(tp, "fetch", &e);
                let data = data.with_error_code(ResponseError::KafkaStorageError.code());
                FetchPartition { data, region: None }
            }
        }
    }
    // ANCHOR_END: read_partition

    /// ListOffsets: earliest (-2), latest (-1), or the first offset at or after a
    /// timestamp, found through the time index.
    pub fn list_offsets(&self, request: ListOffsetsRequest) -> ListOffsetsResponse {
        let topics = request
            .topics
            .into_iter()
            .map(|topic| {
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|p| {
                        let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                        let response =
                            ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index);
                        match self.offset_for(&tp, p.timestamp) {
                            Ok((timestamp, offset)) => response.with_timestamp(timestamp).with_offset(offset),
                            Err(code) => response.with_error_code(code.code()),
                        }
                    })
                    .collect();
                ListOffsetsTopicResponse::default().with_name(topic.name).with_partitions(partitions)
            })
            .collect();
        ListOffsetsResponse::default().with_topics(topics)
    }

    fn offset_for(&self, tp: &TopicPartition, timestamp: i64) -> Result<(i64, i64), ResponseError> {
        let partition = self.partition(tp).ok_or(ResponseError::UnknownTopicOrPartition)?;
        if let Err(cause) = self.log_dir.check() {
            self.log_dir.warn(tp, "list offsets", &cause);
            return Err(cause.kafka_error());
        }
        let log = lock(&partition.log);
        match timestamp {
            LATEST => Ok((-1, log.log_end_offset())),
            EARLIEST => Ok((-1, log.log_start_offset())),
            t if t >= 0 => match log.offset_for_timestamp(t) {
                Ok(Some((ts, offset))) => Ok((ts, offset)),
                Ok(None) => Ok((-1, -1)),
                Err(e) => {
                    self.log_dir.warn(tp, "list offsets", &e);
                    Err(ResponseError::KafkaStorageError)
                }
            },
            _ => Err(ResponseError::UnsupportedVersion),
        }
    }
}
