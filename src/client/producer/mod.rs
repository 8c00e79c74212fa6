//! Chapter 4 — the producer: batching, back-pressure and retries.
//!
//! Chapter 2's [`Client::produce`](crate::client::Client::produce) sends what
//! it is given, when it is given it, and waits for the answer. A real producer
//! is asked to send one record at a time, by many callers, as fast as they
//! like; it answers each with a future and decides itself what goes in which
//! request, and when. This is Kafka's `KafkaProducer`, in three parts:
//!
//! ```text
//!  caller tasks                     accumulator                      sender task
//!  ────────────                     ───────────                      ───────────
//!  send(topic, record)              per partition, a deque           drain(now): ready batches
//!   ├ metadata: how many            of batches:                      group by leader ─▶ Produce
//!   │ partitions? (≤ max.block.ms)  orders-0 [b3 full][b4 open]      ≤ max.in.flight per connection
//!   ├ partitioner: which one        orders-1 [b5 lingering]           │ response: per batch
//!   ├ append (waits for memory      buffer.memory: 32 MiB             ├ ok: offsets to each record
//!   │ ≤ max.block.ms)                                                 ├ retriable: back to the queue
//!   └ DeliveryFuture ◀─────────── completed by the sender ◀───────────┘ fatal/expired: error
//! ```
//!
//! **Batching.** Each Produce request costs a round trip, a request header, a
//! CRC and an fsync-or-page-cache write per partition on the broker, whatever
//! its size; records sent one per request leave the network mostly idle
//! waiting for acks. So records for a partition are appended to an open batch
//! ([`accumulator`]) — one v2 record batch, compressed as a unit with
//! `compression.type`, which is exactly what the broker stores — and a batch
//! is sent when it holds `batch.size` bytes.
//!
//! **`linger.ms` and the throughput/latency trade.** A batch that never fills
//! must still go: after `linger.ms` it is sent half empty. With `linger.ms=0`
//! a record is sent as soon as the sender is free — the lowest latency when
//! the producer is idle, but under load batches are as small as the gaps
//! between requests make them. A few milliseconds of linger (Kafka 4.0 made 5
//! the default, KIP-1030) buy fuller batches, fewer requests, better
//! compression, for at most that much added latency. Once batches fill before
//! the linger is up, linger costs nothing: full batches go at once.
//!
//! **Back-pressure.** Records arrive faster than the broker takes them, and
//! the accumulator would grow without bound. `buffer.memory` caps it: each
//! batch reserves `batch.size` bytes until its records are answered, and a
//! `send` that needs a new batch when there is no room waits — for at most
//! `max.block.ms`, then fails with [`ClientError::TimedOut`]. While someone
//! waits, every batch is ready regardless of linger, since sending is the only
//! way to free memory. `send` is therefore an `async fn`: awaiting it is the
//! back-pressure, and it returns a [`DeliveryFuture`] for the acknowledgement.
//!
//! **In-flight requests and ordering.** The sender keeps up to
//! `max.in.flight.requests.per.connection` Produce requests outstanding on
//! each broker connection
//! ([`Connection::send_pipelined`](crate::client::Connection::send_pipelined)),
//! so the network stays busy while the broker appends. A broker answers one connection's requests
//! in order, so without failures a partition's batches land in the order they
//! were sent. With a retry they may not: batch 1 fails, batch 2 (already in
//! flight) succeeds, batch 1 is sent again and lands after it. Kafka without
//! idempotence has exactly this caveat; this producer does what Kafka does:
//! with `max.in.flight.requests.per.connection=1` a partition has at most one
//! batch in flight (Kafka's "muted" partitions), so order holds through
//! retries; with more, it may not. Chapter 8's idempotent producer numbers
//! batches so the broker can refuse the out-of-order one, making 5 safe.
//!
//! **Retries and the delivery timeout.** A batch that fails with a retriable
//! error (`NOT_LEADER_OR_FOLLOWER`, `UNKNOWN_TOPIC_OR_PARTITION`, a broken
//! connection, a request timeout) goes back to the front of its partition's
//! queue and is sent again after `retry.backoff.ms`, with a metadata refresh
//! first when the error says the leader may have moved. It stops after
//! `retries` attempts or when `delivery.timeout.ms` has passed since the
//! batch was created — the one bound a caller can rely on (KIP-91): every
//! record's future resolves within it, or, if its batch is in flight when the
//! time runs out, when that request is answered or times out
//! (`request.timeout.ms`; Kafka also fails in-flight batches at the deadline). A retried batch may be written twice
//! (the first attempt reached the log, its response was lost): at-least-once,
//! unless the producer is idempotent.
//!
//! **Idempotence (chapter 8, `enable.idempotence`: on by default when
//! `acks=all`, as since Kafka 3.0, see [`ProducerConfig::idempotent`]).** The producer asks
//! the broker for a producer id (InitProducerId) when it connects, and stamps
//! each batch, as the accumulator seals it, with that id, its epoch and the
//! partition's next sequence number ([`accumulator`]'s `stamp`). A retry
//! sends the same bytes, so the broker recognises a batch it already wrote
//! and answers with the original offsets ([`crate::idempotence`]). When a
//! numbered batch fails for good — the broker refuses its sequence
//! (`OUT_OF_ORDER_SEQUENCE_NUMBER`, `UNKNOWN_PRODUCER_ID`) or the batch
//! (`MESSAGE_TOO_LARGE`, `INVALID_RECORD`, `CORRUPT_MESSAGE` after its
//! retries), or `delivery.timeout.ms` runs out after a send — its sequences
//! are a hole, and the producer bumps its epoch before the partition's next
//! batch is sealed, every partition starting again at 0 (KIP-360, as Java's
//! `TransactionManager.handleFailedBatch`); batches sealed with the old
//! epoch (at most one per partition) keep it and go first. Only a fencing
//! error (`INVALID_PRODUCER_EPOCH`, `PRODUCER_FENCED`) fails the batch
//! without a bump. Kafka keeps up to five
//! batches per partition in flight and re-sends a failed one ahead of the
//! newer ones by sequence; spool's producer keeps it simpler and correct by
//! construction: one batch per partition in flight (as with
//! `max.in.flight.requests.per.connection=1`), so a retry is always of the one
//! outstanding batch and sequences reach the broker in order. Requests to one
//! broker still carry up to five partitions' batches each.
//!
//! **Partitioning.** A keyed record goes to `murmur2(key) % partitions`, as
//! the Java client's ([`partition_for_key`]); an unkeyed one (or every record
//! with `partitioner.ignore.keys=true`) to the uniform sticky partitioner's
//! current partition, which moves on after `batch.size` bytes (KIP-480 and
//! KIP-794, [`StickyPartitioner`]).
//!
//! Simplifications: no transactions (chapter 9); idempotence as above (one
//! batch per partition in flight; an exhausted epoch is not replaced by a new
//! producer id; `INVALID_PRODUCER_EPOCH` fails the batch rather than the
//! whole producer); a batch
//! refused with `MESSAGE_TOO_LARGE` fails rather than being split in two as
//! Kafka does; `batch.size` counts uncompressed bytes (Kafka estimates the
//! compressed size from a running ratio); `max.request.size` is fixed at 1 MiB
//! ([`sender::REQUEST_BYTES_MAX`]); waiters for memory are woken together,
//! not first-come-first-served as in Kafka's `BufferPool`; the sender opens
//! connections inline (one slow connect delays the other brokers); metadata
//! is refreshed only when a topic is new or an error says it is stale (no
//! `metadata.max.age.ms`, so added partitions go unnoticed until then); a
//! failed connect counts as an attempt against `retries`; no
//! `partitioner.adaptive.partitioning.enable`, interceptors, serializers
//! (records are bytes), metrics, or `close(timeout)`.

pub mod accumulator;
pub mod config;
pub mod sender;

use crate::TopicPartition;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use accumulator::RecordAccumulator;
pub use config::ProducerConfig;

use super::partitioner::{partition_for_key, StickyPartitioner};
use super::{Client, ClientError, ProducerRecord};
use accumulator::{AccumulatorConfig, AppendError};

/// Where the broker put a record: the answer to one `send`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    /// The record's offset; -1 with `acks=0`, which gets no answer.
    pub offset: i64,
    /// The record's timestamp: its `CreateTime`, or the broker's clock for a
    /// `LogAppendTime` topic.
    pub timestamp_ms: i64,
}

/// A record's acknowledgement: resolves once the broker answered for its
/// batch (or the producer gave up on it).
#[derive(Debug)]
pub struct DeliveryFuture {
    completion: accumulator::Completion,
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata, ClientError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.completion).poll(cx).map(|answer| {
            answer.unwrap_or_else(|_| {
                Err(ClientError::Io(std::io::Error::other(
                    "the producer's sender stopped before answering this record",
                )))
            })
        })
    }
}

/// Partition leaders and broker addresses, as the last Metadata said.
#[derive(Debug, Default, Clone)]
pub(crate) struct MetadataCache {
    /// Each topic's partition leaders by partition number (-1: none).
    pub topics: BTreeMap<String, Vec<i32>>,
    pub brokers: BTreeMap<i32, String>,
}

/// What the callers of [`Producer`] and its sender task share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: ProducerConfig,
    pub accumulator: RecordAccumulator,
    /// Told when a batch is done: memory was freed, a flush may be over.
    pub batch_done: Notify,
    /// Wakes the sender: a batch filled, a new one started lingering, a flush or close began.
    pub wake_sender: Notify,
    /// The connection Metadata requests go through, for `send` and the sender alike.
    pub metadata_client: tokio::sync::Mutex<Client>,
    pub metadata: crate::sync::Mutex<MetadataCache>,
    partitioner: crate::sync::Mutex<StickyPartitioner>,
    epoch: Instant,
    /// `security.protocol`: the sender's connections are secured as the client's.
    pub security: crate::client::Security,
}

impl Shared {
    /// Milliseconds since the producer started: the accumulator's clock.
    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn waits(&self) -> Waits<'_> {
        Waits {
            accumulator: &self.accumulator,
            batch_done: &self.batch_done,
            wake_sender: &self.wake_sender,
            epoch: self.epoch,
            max_block_ms: self.config.max_block_ms,
        }
    }

    /// Asks for `topics`' metadata and caches the answer. Topic errors are not
    /// an `Err`: a topic that does not exist (yet) is left out of the cache.
    pub async fn refresh_metadata(&self, topics: &[&str]) -> Result<(), ClientError> {
        let answer = self.metadata_client.lock().await.metadata(Some(topics), true).await?;
        let mut cache = crate::sync::lock(&self.metadata);
        cache.brokers =
            answer.brokers.iter().map(|b| (b.node_id, format!("{}:{}", b.host, b.port))).collect();
        for topic in answer.topics {
            if topic.error_code != 0 || topic.partitions.is_empty() {
                cache.topics.remove(&topic.name);
                ClientError::check(topic.error_code, None, || format!("metadata for {}", topic.name))
                    .or_else(|e| if e.is_retriable() { Ok(()) } else { Err(e) })?;
                continue;
            }
            let leaders =
                topic.partitions.iter().map(|p| if p.error_code == 0 { p.leader } else { -1 }).collect();
            cache.topics.insert(topic.name, leaders);
        }
        Ok(())
    }
}

/// spool's Kafka producer. Cheap to share (`&self` everywhere): wrap it in an
/// `Arc` to send from many tasks.
#[derive(Debug)]
pub struct Producer {
    shared: std::sync::Arc<Shared>,
    sender: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// Marks a `send` as waiting for memory for as long as it lives (also when
/// the `send` future is dropped mid-wait).
struct MemoryWaiter<'a>(&'a RecordAccumulator);

impl Drop for MemoryWaiter<'_> {
    fn drop(&mut self) {
        self.0.memory_waiter(false);
    }
}

impl Producer {
    /// Connects to `bootstrap.servers` and starts the sender task.
    pub async fn connect(config: ProducerConfig) -> Result<Self, ClientError> {
        Self::connect_with(config, crate::client::Security::default()).await
    }

    /// [`Producer::connect`], every connection secured as `security` says
    /// (`security.protocol`; a [`crate::client::Tls`] alone is SSL).
    pub async fn connect_with(
        config: ProducerConfig,
        security: impl Into<crate::client::Security>,
    ) -> Result<Self, ClientError> {
        let security = security.into();
        config.validate()?;
        let mut client = Client::open(
            &config.bootstrap_servers,
            config.request_timeout(),
            config.client_id.as_deref(),
            security.clone(),
        )
        .await?;
        let accumulator = RecordAccumulator::new(AccumulatorConfig {
            batch_size: config.batch_size,
            linger_ms: config.linger_ms,
            buffer_memory: config.buffer_memory,
            compression: config.compression,
            retry_backoff_ms: config.retry_backoff_ms,
            delivery_timeout_ms: config.delivery_timeout_ms,
            // An idempotent producer keeps one batch per partition in flight:
            // see "Idempotence" above.
            guarantee_order: config.max_in_flight_requests_per_connection == 1 || config.idempotent(),
        });
        if config.idempotent() {
            let (producer_id, epoch) = client.init_producer_id().await?;
            accumulator.set_producer(producer_id, epoch);
        }
        let start = std::process::id() ^ crate::client::now_ms() as u32;
        let shared = std::sync::Arc::new(Shared {
            partitioner: crate::sync::Mutex::new(StickyPartitioner::new(config.batch_size, start)),
            config,
            accumulator,
            batch_done: Notify::new(),
            wake_sender: Notify::new(),
            metadata_client: tokio::sync::Mutex::new(client),
            metadata: crate::sync::Mutex::new(MetadataCache::default()),
            epoch: Instant::now(),
            security,
        });
        let sender = tokio::spawn(sender::run(shared.clone()));
        Ok(Producer { shared, sender: std::sync::Mutex::new(Some(sender)) })
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.shared.config
    }

    // ANCHOR: send
    /// Hands a record to the producer. Awaiting this waits (at most
    /// `max.block.ms`) for the topic's metadata and for buffer memory; it
    /// returns once the record is in a batch, with a future that resolves
    /// when the broker has acknowledged it. Records sent one after another to
    /// a partition are appended in that order.
    pub async fn send(&self, topic: &str, record: ProducerRecord) -> Result<DeliveryFuture, ClientError> {
        self.send_to(topic, None, record).await
    }

    /// [`Self::send`] to a chosen partition, bypassing the partitioner.
    pub async fn send_to_partition(
        &self,
        topic: &str,
        partition: i32,
        record: ProducerRecord,
    ) -> Result<DeliveryFuture, ClientError> {
        self.send_to(topic, Some(partition), record).await
    }

    async fn send_to(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: ProducerRecord,
    ) -> Result<DeliveryFuture, ClientError> {
        let shared = &*self.shared;
        let max_block = Duration::from_millis(shared.config.max_block_ms);
        let deadline = tokio::time::Instant::now() + max_block;
        let partitions = self.partitions_for(topic, deadline).await?;
        let sticky = partition.is_none() && (record.key.is_none() || shared.config.partitioner_ignore_keys);
        let partition = match (partition, &record.key) {
            (Some(p), _) if (0..partitions).contains(&p) => p,
            (Some(p), _) => {
                return Err(ClientError::InvalidArgument(format!(
                    "topic {topic} has no partition {p} (it has {partitions})"
                )))
            }
            (None, Some(key)) if !sticky => partition_for_key(key, partitions),
            (None, _) => crate::sync::lock(&shared.partitioner).partition(topic, partitions),
        };
        let tp = TopicPartition { topic: topic.to_string(), partition };
        let timestamp_ms = record.timestamp_ms.unwrap_or_else(crate::client::now_ms);
        let appended = append_or_wait(shared.waits(), &tp, &record, timestamp_ms, deadline).await?;
        if sticky {
            let size = accumulator::record_size_upper_bound(&record);
            crate::sync::lock(&shared.partitioner).on_append(topic, partition, size, partitions);
        }
        Ok(DeliveryFuture { completion: appended.completion })
    }
    // ANCHOR_END: send

    /// How many partitions `topic` has, from the producer's metadata (waiting
    /// for it, at most `max.block.ms`, as `send` does): Kafka's `partitionsFor`.
    pub async fn partitions(&self, topic: &str) -> Result<i32, ClientError> {
        let max_block = Duration::from_millis(self.shared.config.max_block_ms);
        self.partitions_for(topic, tokio::time::Instant::now() + max_block).await
    }

    /// The topic's partition count, asking Metadata (again every
    /// `retry.backoff.ms`) until it exists, for at most `max.block.ms`.
    async fn partitions_for(&self, topic: &str, deadline: tokio::time::Instant) -> Result<i32, ClientError> {
        let shared = &*self.shared;
        loop {
            if let Some(leaders) = crate::sync::lock(&shared.metadata).topics.get(topic) {
                return Ok(leaders.len() as i32);
            }
            let refreshed = tokio::time::timeout_at(deadline, shared.refresh_metadata(&[topic])).await;
            match refreshed {
                Ok(Ok(())) => {}
                Ok(Err(e)) if !e.is_retriable() => return Err(e),
                Ok(Err(_)) | Err(_) => {}
            }
            if crate::sync::lock(&shared.metadata).topics.contains_key(topic) {
                continue;
            }
            let backoff = tokio::time::Instant::now() + Duration::from_millis(shared.config.retry_backoff_ms);
            if backoff >= deadline {
                return Err(ClientError::TimedOut {
                    what: format!("topic {topic} to appear in metadata"),
                    timeout_ms: shared.config.max_block_ms,
                });
            }
            tokio::time::sleep_until(backoff).await;
        }
    }

    // ANCHOR: flush
    /// Sends every batch now, ignoring `linger.ms`, and waits until each record
    /// sent before the call has its answer (success or failure: see each
    /// record's future).
    pub async fn flush(&self) {
        let accumulator = &self.shared.accumulator;
        let mark = accumulator.begin_flush();
        struct EndFlush<'a>(&'a RecordAccumulator);
        impl Drop for EndFlush<'_> {
            fn drop(&mut self) {
                self.0.end_flush();
            }
        }
        let _end = EndFlush(accumulator);
        self.shared.wake_sender.notify_one();
        loop {
            let done = self.shared.batch_done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if accumulator.flushed(mark) {
                return;
            }
            done.await;
        }
    }
    // ANCHOR_END: flush

    /// Refuses new records, sends every batch, and waits until all are
    /// answered and the sender task has stopped. Calling it again is harmless.
    pub async fn close(&self) -> Result<(), ClientError> {
        self.shared.accumulator.close();
        self.shared.wake_sender.notify_one();
        let sender = self.sender.lock().expect("no panic holds this lock").take();
        match sender {
            Some(task) => {
                task.await.map_err(|e| ClientError::Io(std::io::Error::other(format!("sender: {e}"))))
            }
            None => Ok(()),
        }
    }
}

impl Drop for Producer {
    /// Dropped without `close`: the sender still delivers what was sent, then stops.
    fn drop(&mut self) {
        self.shared.accumulator.close();
        self.shared.wake_sender.notify_one();
    }
}

/// What [`append_or_wait`] needs from [`Shared`]: no network, so it can be
/// tested alone.
#[derive(Clone, Copy)]
struct Waits<'a> {
    accumulator: &'a RecordAccumulator,
    batch_done: &'a Notify,
    wake_sender: &'a Notify,
    epoch: Instant,
    max_block_ms: u64,
}

// ANCHOR: append_or_wait
/// Appends a record, waiting for buffer memory until `deadline` (`max.block.ms`)
/// while there is none: the back-pressure. Wakes the sender when there is
/// something for it to do.
async fn append_or_wait(
    waits: Waits<'_>,
    tp: &TopicPartition,
    record: &ProducerRecord,
    timestamp_ms: i64,
    deadline: tokio::time::Instant,
) -> Result<accumulator::Appended, ClientError> {
    let Waits { accumulator, batch_done, wake_sender, epoch, max_block_ms } = waits;
    let mut waiting: Option<MemoryWaiter<'_>> = None;
    loop {
        // Registered before trying, so a batch done in between still wakes us.
        let memory_freed = batch_done.notified();
        tokio::pin!(memory_freed);
        memory_freed.as_mut().enable();
        let now_ms = epoch.elapsed().as_millis() as u64;
        match accumulator.append(tp, record, timestamp_ms, now_ms) {
            Ok(appended) => {
                if appended.batch_full || appended.new_batch {
                    wake_sender.notify_one();
                }
                return Ok(appended);
            }
            Err(AppendError::NoMemory) => {
                if waiting.is_none() {
                    accumulator.memory_waiter(true);
                    waiting = Some(MemoryWaiter(accumulator));
                    wake_sender.notify_one(); // every batch is ready now
                }
                if tokio::time::timeout_at(deadline, memory_freed).await.is_err() {
                    return Err(ClientError::TimedOut {
                        what: format!("allocating buffer memory for a record to {tp}"),
                        timeout_ms: max_block_ms,
                    });
                }
            }
            Err(AppendError::TooLarge { record_bytes, buffer_memory }) => {
                return Err(ClientError::InvalidArgument(format!(
                    "a record of {record_bytes} bytes is larger than buffer.memory ({buffer_memory})"
                )))
            }
            Err(AppendError::Closed) => return Err(ClientError::Closed),
        }
    }
}
// ANCHOR_END: append_or_wait

#[cfg(test)]
mod tests {
    use super::accumulator::{BatchOutcome, Route};
    use super::*;
    use crate::format::Compression;
    use bytes::Bytes;

    struct Parts {
        accumulator: RecordAccumulator,
        batch_done: Notify,
        wake_sender: Notify,
        epoch: Instant,
    }

    impl Parts {
        /// Room for two 1 KiB batches.
        fn new() -> Self {
            let accumulator = RecordAccumulator::new(AccumulatorConfig {
                batch_size: 1024,
                linger_ms: 1000,
                buffer_memory: 2048,
                compression: Compression::None,
                retry_backoff_ms: 100,
                delivery_timeout_ms: 120_000,
                guarantee_order: false,
            });
            Parts {
                accumulator,
                batch_done: Notify::new(),
                wake_sender: Notify::new(),
                epoch: Instant::now(),
            }
        }

        fn waits(&self, max_block_ms: u64) -> Waits<'_> {
            Waits {
                accumulator: &self.accumulator,
                batch_done: &self.batch_done,
                wake_sender: &self.wake_sender,
                epoch: self.epoch,
                max_block_ms,
            }
        }
    }

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition { topic: "t".into(), partition }
    }

    fn record() -> ProducerRecord {
        ProducerRecord { value: Some(Bytes::from_static(b"value")), ..Default::default() }
    }

    fn deadline(ms: u64) -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_millis(ms)
    }

    /// Back-pressure: with buffer.memory taken, a send waits (and while it
    /// waits every batch is ready, lingering or not); when a batch is done and
    /// its memory freed, the waiting send goes through.
    #[tokio::test(start_paused = true)]
    async fn a_send_blocks_on_memory_then_unblocks() {
        let parts = std::sync::Arc::new(Parts::new());
        for p in 0..2 {
            append_or_wait(parts.waits(60_000), &tp(p), &record(), 0, deadline(60_000)).await.unwrap();
        }
        let blocked = tokio::spawn({
            let parts = parts.clone();
            async move {
                append_or_wait(parts.waits(60_000), &tp(2), &record(), 0, deadline(60_000)).await.map(drop)
            }
        });
        // The send has registered as a waiter once lingering batches are ready.
        let mut drained = Vec::new();
        for _ in 0..100 {
            tokio::task::yield_now().await;
            drained.extend(
                parts.accumulator.drain(0, 1 << 20, |_| Route::Node(1)).by_node.into_values().flatten(),
            );
            if !drained.is_empty() {
                break;
            }
        }
        assert_eq!(drained.len(), 2, "the blocked send made the lingering batches ready");
        assert!(!blocked.is_finished());
        parts
            .accumulator
            .done(drained.remove(0), BatchOutcome::Acked { base_offset: 0, log_append_time_ms: -1 });
        parts.batch_done.notify_waiters();
        blocked.await.unwrap().expect("memory was freed");
    }

    /// max.block.ms: a send that cannot get memory in time fails with
    /// TimedOut (Kafka's TimeoutException), and stops counting as a waiter.
    #[tokio::test(start_paused = true)]
    async fn a_send_gives_up_after_max_block_ms() {
        let parts = Parts::new();
        for p in 0..2 {
            append_or_wait(parts.waits(100), &tp(p), &record(), 0, deadline(100)).await.unwrap();
        }
        let result = append_or_wait(parts.waits(100), &tp(2), &record(), 0, deadline(100)).await;
        assert!(matches!(result, Err(ClientError::TimedOut { timeout_ms: 100, .. })), "{result:?}");
        let drained = parts.accumulator.drain(0, 1 << 20, |_| Route::Node(1));
        assert!(drained.by_node.is_empty(), "nobody waits any more: batches linger again");
    }
}
