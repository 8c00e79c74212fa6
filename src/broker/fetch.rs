//! Fetch, with long polling and read_committed, and ListOffsets.
//!
//! A consumer's fetch names partitions and offsets and says how long it is
//! willing to wait (`max_wait_ms`) for how much (`min_bytes`). The broker reads
//! what is there; if that is less than `min_bytes`, it parks the fetch until an
//! append wakes it or the wait runs out, then reads again. That is long polling:
//! an idle consumer costs one request per `max_wait_ms`, not a busy loop, and a
//! record reaches a waiting consumer as soon as it is appended.
//!
//! Two kinds of fetcher (chapter 6). A **consumer** reads only below the
//! partition's high watermark — what every in-sync replica has — and only
//! from its leader. A **follower** (a Fetch whose `replica_id` is a broker's
//! id) reads up to the leader's log end (in durable mode, its flushed end);
//! its fetch offset tells the leader how far it has got
//! ([`Partition::on_follower_fetch`]), which may move the high watermark and
//! so answer waiting `acks=all` produces and wake consumers.
//! If the follower's log has diverged, the answer is the diverging epoch
//! instead of records, and the follower truncates.
//!
//! Transactions (chapter 9, KIP-98): every answer carries the partition's
//! last stable offset (LSO). A consumer with `isolation_level=1`
//! (read_committed) reads only below it — nothing there can still be
//! aborted — and is told the aborted transactions whose records the fetched
//! range may hold (`.txnindex`), so it can drop them; read_uncommitted gets
//! null there, as from Kafka. A parked read_committed fetch wakes with the
//! appends, and so when a marker or a high watermark move shifts the LSO.
//! ListOffsets at read_committed answers LATEST with the LSO and never
//! points a timestamp at an offset past it.
//!
//! Sizes: each partition gets at most its `partition_max_bytes`, the response at
//! most `max_bytes`, except that the first partition with data always returns at
//! least one whole batch, however large (KIP-74), so a consumer never stalls on a
//! batch bigger than its limits.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::FetchPartition as RequestPartition;
use kafka_protocol::messages::fetch_response::{AbortedTransaction, EpochEndOffset, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{FetchRequest, ListOffsetsRequest, ListOffsetsResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::{now_ms, Broker, Partition};
use crate::log::manager::lock;
use crate::log::txn_index::AbortedTxn;
use crate::log::{LogError, ReadOptions};
use crate::replication::{FetchAnswer, FollowerFetch, LeaderState, ReplicaId, UNDEFINED_EPOCH};
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
                let fetcher = match follower(request) {
                    Some(replica_id) => Fetcher::Follower(replica_id),
                    None => Fetcher::Consumer { read_committed: request.isolation_level == READ_COMMITTED },
                };
                let partition = self.read_partition(&tp, p, fetcher, max_bytes, total == 0);
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
        asked: &RequestPartition,
        fetcher: Fetcher,
        max_bytes: u32,
        first: bool,
    ) -> FetchPartition {
        // Kafka answers null to read_uncommitted and followers, a list to read_committed.
        let read_committed = fetcher == Fetcher::Consumer { read_committed: true };
        let data = PartitionData::default()
            .with_partition_index(tp.partition)
            .with_aborted_transactions(read_committed.then(Vec::new));
        let error = |data: PartitionData, code: ResponseError| FetchPartition {
            data: data.with_error_code(code.code()),
            region: None,
        };
        let Some(partition) = self.partition(tp) else {
            return error(data, ResponseError::UnknownTopicOrPartition);
        };
        if let Err(cause) = self.log_dir.check() {
            self.log_dir.warn(tp, "fetch", &cause);
            return error(data, cause.kafka_error());
        }
        // Where this fetcher may read up to, and the high watermark to tell it.
        let (max_offset, high_watermark) = match fetcher {
            Fetcher::Follower(replica_id) => match self.follower_fetch(tp, &partition, asked, replica_id) {
                // Up to the leader's reported log end: in durable mode, its flushed end.
                Ok(FetchAnswer::Records { high_watermark, log_end_offset }) => {
                    (Some(log_end_offset), high_watermark)
                }
                Ok(FetchAnswer::Diverging { diverging_epoch, high_watermark }) => {
                    let diverging = EpochEndOffset::default()
                        .with_epoch(diverging_epoch.leader_epoch)
                        .with_end_offset(diverging_epoch.end_offset);
                    let data = data.with_high_watermark(high_watermark).with_diverging_epoch(diverging);
                    return FetchPartition {
                        data: data.with_records(Some(Default::default())),
                        region: None,
                    };
                }
                Err(code) => return error(data, code),
            },
            Fetcher::Consumer { .. } => {
                if let Err(code) = consumer_may_read(&partition, asked.current_leader_epoch) {
                    return error(data, code);
                }
                let high_watermark = partition.high_watermark();
                (Some(high_watermark), high_watermark)
            }
        };
        // The log lock covers only finding the region (and, for
        // read_committed, the aborted transactions in it); the bytes move later.
        // ANCHOR: read_committed
        let (region, log_start, last_stable, aborted) = {
            let log = lock(&partition.log);
            // Chapter 9: read_committed stops at the LSO, below which every
            // transaction is decided.
            let last_stable = log.last_stable_offset().min(high_watermark);
            let max_offset = max_offset.map(|max| if read_committed { max.min(last_stable) } else { max });
            // Only a consumer's read (bounded by the high watermark) skips a segment
            // tail of emptied batches; a follower copies every batch, since a
            // producer's emptied last batch carries its state (chapter 10).
            let skip_emptied_tail = matches!(fetcher, Fetcher::Consumer { .. });
            let options = ReadOptions { max_bytes, max_offset, min_one_batch: first, skip_emptied_tail };
            let region = log.read_with(asked.fetch_offset, options);
            let aborted = match &region {
                Ok(Some(region)) if read_committed => {
                    let bound = log.aborted_search_bound(region.segment_base_offset, last_stable);
                    log.collect_aborted_transactions(asked.fetch_offset, bound)
                }
                _ => Vec::new(),
            };
            (region, log.log_start_offset(), last_stable, aborted)
        };
        // ANCHOR_END: read_committed
        let data = data
            .with_high_watermark(high_watermark)
            .with_last_stable_offset(last_stable)
            .with_log_start_offset(log_start);
        let data = match read_committed {
            true => data.with_aborted_transactions(Some(aborted.iter().map(aborted_transaction).collect())),
            false => data,
        };
        match region {
            Ok(Some(region)) => FetchPartition { data, region: Some(region) },
            Ok(None) => FetchPartition { data: data.with_records(Some(Default::default())), region: None },
            Err(LogError::OffsetOutOfRange { .. }) => error(data, ResponseError::OffsetOutOfRange),
            Err(e) => {
                self.log_dir.warn(tp, "fetch", &e);
                error(data, ResponseError::KafkaStorageError)
            }
        }
    }
    // ANCHOR_END: read_partition

    /// A follower's fetch of one partition, on its leader: the replication
    /// core's answer. A move of the high watermark wakes the consumers' long
    /// polls; an ISR expansion goes to the controller.
    fn follower_fetch(
        &self,
        tp: &TopicPartition,
        partition: &Partition,
        asked: &RequestPartition,
        replica_id: ReplicaId,
    ) -> Result<FetchAnswer, ResponseError> {
        let fetch = FollowerFetch {
            replica_id,
            fetch_offset: asked.fetch_offset,
            last_fetched_epoch: Some(asked.last_fetched_epoch).filter(|&e| e != UNDEFINED_EPOCH),
            current_leader_epoch: Some(asked.current_leader_epoch).filter(|&e| e != UNDEFINED_EPOCH),
        };
        let answer = partition.on_follower_fetch(&fetch, now_ms()).map_err(|e| e.response_error())?;
        // A DeleteRecords may wait for this follower's log start (its low watermark).
        let log_start_moved = partition.on_follower_log_start(replica_id, asked.log_start_offset);
        if answer.high_watermark_moved || log_start_moved {
            self.notifier.notify();
        }
        if let Some(alter) = answer.alter_partition {
            self.submit_alter_partition(tp, partition, alter);
        }
        Ok(answer.answer)
    }

    /// ListOffsets: earliest (-2), latest (-1), or the first offset at or after a
    /// timestamp, found through the time index.
    pub fn list_offsets(&self, request: ListOffsetsRequest) -> ListOffsetsResponse {
        // A follower (replica id ≥ 0) is told the log end; a consumer, the
        // high watermark, or the LSO if it reads committed data only.
        let reader = match request.replica_id.0 {
            id if id >= 0 => Reader::Follower,
            _ if request.isolation_level == READ_COMMITTED => Reader::ReadCommitted,
            _ => Reader::ReadUncommitted,
        };
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
                        match self.offset_for(&tp, p.timestamp, p.current_leader_epoch, reader) {
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

    fn offset_for(
        &self,
        tp: &TopicPartition,
        timestamp: i64,
        current_leader_epoch: i32,
        reader: Reader,
    ) -> Result<(i64, i64), ResponseError> {
        let partition = self.partition(tp).ok_or(ResponseError::UnknownTopicOrPartition)?;
        consumer_may_read(&partition, current_leader_epoch)?;
        if let Err(cause) = self.log_dir.check() {
            self.log_dir.warn(tp, "list offsets", &cause);
            return Err(cause.kafka_error());
        }
        // Consumers see the log up to the high watermark only, or the LSO
        // (Kafka's `lastFetchableOffset`).
        let log = lock(&partition.log);
        let last_fetchable = match reader {
            Reader::Follower => log.log_end_offset(),
            Reader::ReadUncommitted => partition.high_watermark(),
            Reader::ReadCommitted => log.last_stable_offset().min(partition.high_watermark()),
        };
        match timestamp {
            LATEST => Ok((-1, last_fetchable)),
            EARLIEST => Ok((-1, log.log_start_offset())),
            t if t >= 0 => match log.offset_for_timestamp(t) {
                Ok(Some((ts, offset))) if offset < last_fetchable => Ok((ts, offset)),
                Ok(Some(_)) => Ok((-1, -1)),
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

/// `isolation_level` of a Fetch or ListOffsets that asks for committed data only.
const READ_COMMITTED: i8 = 1;

/// Who reads a partition, and so up to where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetcher {
    /// A follower replica: up to the log end its leader reports (in durable
    /// mode, the flushed end: `Partition`'s docs).
    Follower(ReplicaId),
    /// A consumer: up to the high watermark, or the last stable offset if it
    /// reads committed data only (chapter 9).
    Consumer { read_committed: bool },
}

/// Who asks ListOffsets, and so where the log ends for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Follower,
    ReadUncommitted,
    ReadCommitted,
}

/// One aborted transaction as a Fetch answer names it.
fn aborted_transaction(txn: &AbortedTxn) -> AbortedTransaction {
    AbortedTransaction::default()
        .with_producer_id(ProducerId(txn.producer_id))
        .with_first_offset(txn.first_offset)
}

/// The follower a Fetch comes from, if it is a follower's: `replica_id`
/// (v0-v14) or `replica_state.replica_id` (v15+); consumers send -1.
fn follower(request: &FetchRequest) -> Option<ReplicaId> {
    let id = if request.replica_state.replica_id.0 >= 0 {
        request.replica_state.replica_id.0
    } else {
        request.replica_id.0
    };
    (id >= 0).then_some(id)
}

/// A consumer reads from the leader only, in the leader epoch it names
/// (KIP-320: -1 skips the check).
fn consumer_may_read(partition: &Partition, current_leader_epoch: i32) -> Result<(), ResponseError> {
    let leader_epoch = partition.leader_epoch_if_leader().map_err(|e| e.response_error())?;
    let current = Some(current_leader_epoch).filter(|&e| e != UNDEFINED_EPOCH);
    LeaderState::check_current_leader_epoch(current, leader_epoch).map_err(|e| e.response_error())
}
