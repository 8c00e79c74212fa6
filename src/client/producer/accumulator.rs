//! The record accumulator: Kafka's `RecordAccumulator`, where `send` leaves
//! records and the sender picks up batches.
//!
//! ```text
//!   send() ──append──▶ orders-0: [batch 3 (full)] [batch 4 (open) ◀── appends go here]
//!   send() ──append──▶ orders-1: [batch 5 (open, lingering)]
//!                                     │
//!   sender ◀──drain(now)── ready: full, linger.ms expired, flushing, closing,
//!                                 or buffer.memory exhausted with a `send` waiting
//! ```
//!
//! Each partition has a deque of batches; records are appended to the last
//! one until the next record would take it past `batch.size`, then a new
//! batch starts (a record bigger than `batch.size` gets a batch of its own).
//! Every batch reserves `max(batch.size, its first record)` bytes of
//! `buffer.memory` until its records are acknowledged or failed; a new batch
//! that does not fit is refused with [`AppendError::NoMemory`], and the caller
//! waits for memory (bounded by `max.block.ms`: that is back-pressure).
//!
//! The accumulator has no clock and no I/O: times are passed in (`now_ms`, a
//! monotonic millisecond count of the caller's choosing), completion handles
//! are channels the caller awaits, and waiting is the caller's business. That
//! is what lets the unit tests below step time by hand and `tests/loom.rs` run
//! several appending threads against a draining one under loom: its one lock
//! is [`crate::sync::Mutex`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::RecordMetadata;
use crate::client::{ClientError, ProducerRecord};
use crate::format::batch::HEADER_SIZE;
use crate::format::{BatchBuilder, Compression};
use crate::sync::{lock, Mutex};
use crate::TopicPartition;

/// What one record's `send` gets back: resolved with the record's offset once
/// the broker acknowledged its batch, or with the error that ended it.
pub type Completion = oneshot::Receiver<Result<RecordMetadata, ClientError>>;

/// The accumulator's settings, a subset of [`super::ProducerConfig`].
#[derive(Debug, Clone, Copy)]
pub struct AccumulatorConfig {
    pub batch_size: usize,
    pub linger_ms: u64,
    pub buffer_memory: usize,
    pub compression: Compression,
    pub retry_backoff_ms: u64,
    pub delivery_timeout_ms: u64,
    /// At most one batch of a partition in flight: `max.in.flight.requests.per.connection=1`.
    pub guarantee_order: bool,
}

/// A record accepted into a batch.
#[derive(Debug)]
pub struct Appended {
    pub completion: Completion,
    /// The record's batch (or a batch before it) can be sent now: wake the sender.
    pub batch_full: bool,
    /// A new batch was started: the sender must learn its linger deadline.
    pub new_batch: bool,
}

/// Why a record was not appended.
#[derive(Debug, PartialEq, Eq)]
pub enum AppendError {
    /// A new batch is needed and `buffer.memory` has no room for it: wait for
    /// [`RecordAccumulator::done`] to free some, then try again.
    NoMemory,
    /// The record alone is larger than `buffer.memory`: it can never be sent.
    TooLarge { record_bytes: usize, buffer_memory: usize },
    /// The producer is closing: no new records.
    Closed,
}

/// One record in a batch, waiting for its answer.
#[derive(Debug)]
struct PendingRecord {
    timestamp_ms: i64,
    reply: oneshot::Sender<Result<RecordMetadata, ClientError>>,
}

/// A batch on its way: records for one partition, and a handle per record.
#[derive(Debug)]
pub struct ProducerBatch {
    pub topic_partition: TopicPartition,
    /// Unique per accumulator, increasing: `flush` waits for the ids below its mark.
    pub id: u64,
    pub created_ms: u64,
    /// How many times it was sent and failed with a retriable error.
    pub attempts: u32,
    retry_at_ms: u64,
    reserved_bytes: usize,
    builder: BatchBuilder,
    records: Vec<PendingRecord>,
    /// The encoded batch, built when first drained: a retry sends the same bytes,
    /// and no record can join it any more.
    built: Option<Bytes>,
}

impl ProducerBatch {
    /// The encoded v2 batch (built and compressed on first call).
    pub fn bytes(&mut self) -> Bytes {
        let builder = &self.builder;
        self.built.get_or_insert_with(|| builder.build().as_bytes().clone()).clone()
    }

    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// Bytes the request will carry for it (uncompressed until built).
    pub fn size_bytes(&self) -> usize {
        self.built.as_ref().map_or(self.builder.estimated_size(), Bytes::len)
    }

    fn is_sealed(&self) -> bool {
        self.built.is_some()
    }

    /// The producer epoch the sealed batch carries (-1 when not idempotent or not sealed).
    pub fn producer_epoch(&self) -> i16 {
        use crate::format::batch::{be_i16, field};
        self.built.as_ref().map_or(-1, |b| be_i16(b, field::PRODUCER_EPOCH))
    }
}

/// The outcome the sender reports for a batch.
#[derive(Debug)]
pub enum BatchOutcome {
    /// Acknowledged: its first record got `base_offset` (-1 with `acks=0`);
    /// `log_append_time_ms` is the broker's time for `LogAppendTime` topics, -1 otherwise.
    Acked { base_offset: i64, log_append_time_ms: i64 },
    /// Failed for good: every record gets (a copy of) this error.
    Failed(ClientError),
}

/// Where the sender can send a partition's batches now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To this broker, which has room for another request.
    Node(i32),
    /// Its leader has as many requests in flight as allowed.
    Busy,
    /// No leader known: the sender should refresh metadata.
    Unknown,
}

/// What [`RecordAccumulator::drain`] found.
#[derive(Debug, Default)]
pub struct Drained {
    /// At most one request's worth of ready batches per broker, at most one per partition.
    pub by_node: BTreeMap<i32, Vec<ProducerBatch>>,
    /// Topics with a ready batch and no known leader.
    pub unknown_leaders: BTreeSet<String>,
    /// The earliest time a batch left behind becomes ready by itself (linger or
    /// retry backoff): when the sender should look again if nothing wakes it sooner.
    pub next_ready_ms: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    queues: BTreeMap<TopicPartition, VecDeque<ProducerBatch>>,
    used_bytes: usize,
    /// `send` calls waiting for memory: while any, every batch is ready, since
    /// sending is the only way to free memory.
    memory_waiters: usize,
    /// `flush` calls in progress: while any, every batch is ready (linger is skipped).
    flushes: usize,
    closed: bool,
    /// Batches drained and not yet done, per partition.
    in_flight: BTreeMap<TopicPartition, usize>,
    /// Every batch not yet done, queued or in flight, by id.
    incomplete: BTreeSet<u64>,
    next_batch_id: u64,
    /// Chapter 8: the idempotent producer's id and epoch, once InitProducerId
    /// answered; `None` for a producer that is not idempotent.
    producer: Option<(i64, i16)>,
    /// The sequence the next batch of each partition starts at (this epoch).
    next_sequence: BTreeMap<TopicPartition, i32>,
}

/// The accumulator: one lock over all partitions' queues and the memory count.
#[derive(Debug)]
pub struct RecordAccumulator {
    config: AccumulatorConfig,
    state: Mutex<State>,
}

/// An upper bound on a record's encoded size in a v2 batch (Kafka's
/// `DefaultRecord.estimateSizeInBytesUpperBound`): each varint at its longest.
pub fn record_size_upper_bound(record: &ProducerRecord) -> usize {
    const VARINT_MAX: usize = 5;
    const VARLONG_MAX: usize = 10;
    let field = |b: &Option<Bytes>| VARINT_MAX + b.as_ref().map_or(0, Bytes::len);
    let headers: usize = record.headers.iter().map(|(k, v)| VARINT_MAX + k.len() + field(v)).sum();
    VARINT_MAX
        + 1
        + VARLONG_MAX
        + VARINT_MAX
        + field(&record.key)
        + field(&record.value)
        + VARINT_MAX
        + headers
}

impl RecordAccumulator {
    pub fn new(config: AccumulatorConfig) -> Self {
        RecordAccumulator { config, state: Mutex::new(State::default()) }
    }

    pub fn config(&self) -> &AccumulatorConfig {
        &self.config
    }

    // ANCHOR: append
    /// Appends a record (its timestamp already set) to `tp`'s open batch, or to
    /// a new one when it would not fit. Never blocks: when a new batch needs
    /// memory that is not there, says so and the caller waits.
    pub fn append(
        &self,
        tp: &TopicPartition,
        record: &ProducerRecord,
        timestamp_ms: i64,
        now_ms: u64,
    ) -> Result<Appended, AppendError> {
        let size = record_size_upper_bound(record);
        let mut state = lock(&self.state);
        if state.closed {
            return Err(AppendError::Closed);
        }
        let batch_size = self.config.batch_size;
        let queue = state.queues.entry(tp.clone()).or_default();
        let fits_last =
            queue.back().is_some_and(|b| !b.is_sealed() && b.builder.estimated_size() + size <= batch_size);
        let new_batch = !fits_last;
        if new_batch {
            let reserve = batch_size.max(HEADER_SIZE + size);
            if reserve > self.config.buffer_memory {
                let buffer_memory = self.config.buffer_memory;
                return Err(AppendError::TooLarge { record_bytes: size, buffer_memory });
            }
            if state.used_bytes + reserve > self.config.buffer_memory {
                return Err(AppendError::NoMemory);
            }
            state.used_bytes += reserve;
            let id = state.next_batch_id;
            state.next_batch_id += 1;
            state.incomplete.insert(id);
            let batch = ProducerBatch {
                topic_partition: tp.clone(),
                id,
                created_ms: now_ms,
                attempts: 0,
                retry_at_ms: 0,
                reserved_bytes: reserve,
                builder: BatchBuilder::new(self.config.compression),
                records: Vec::new(),
                built: None,
            };
            state.queues.get_mut(tp).expect("entry made above").push_back(batch);
        }
        let queue = state.queues.get_mut(tp).expect("entry made above");
        let batch = queue.back_mut().expect("a batch was found or pushed");
        let headers: Vec<(&str, Option<&[u8]>)> =
            record.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
        batch.builder.append(timestamp_ms, record.key.as_deref(), record.value.as_deref(), &headers);
        let (reply, completion) = oneshot::channel();
        batch.records.push(PendingRecord { timestamp_ms, reply });
        let batch_full =
            queue.len() > 1 || queue.back().is_some_and(|b| b.builder.estimated_size() >= batch_size);
        Ok(Appended { completion, batch_full, new_batch })
    }
    // ANCHOR_END: append

    // ANCHOR: drain
    /// Takes the batches that are ready and have somewhere to go: the first
    /// batch of each partition, if it is full, its `linger.ms` is up, a flush or
    /// close is under way, or someone waits for memory; unless it is backing off
    /// after a failure, or (with `guarantee_order`) an earlier batch of its
    /// partition is still in flight. `route` says where a partition goes.
    /// Each broker's batches stay under `request_bytes_max` (but one always goes).
    pub fn drain(
        &self,
        now_ms: u64,
        request_bytes_max: usize,
        route: impl Fn(&TopicPartition) -> Route,
    ) -> Drained {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let hurry = state.flushes > 0 || state.closed || state.memory_waiters > 0;
        let mut drained = Drained::default();
        let mut request_bytes: BTreeMap<i32, usize> = BTreeMap::new();
        for (tp, queue) in state.queues.iter_mut() {
            let Some(first) = queue.front() else { continue };
            if self.config.guarantee_order && state.in_flight.get(tp).is_some_and(|&n| n > 0) {
                continue; // sent when the one in flight is done
            }
            let ready_at = if first.attempts > 0 {
                first.retry_at_ms
            } else if hurry || queue.len() > 1 || first.builder.estimated_size() >= self.config.batch_size {
                0
            } else {
                first.created_ms.saturating_add(self.config.linger_ms)
            };
            if now_ms < ready_at {
                drained.next_ready_ms = Some(drained.next_ready_ms.map_or(ready_at, |t| t.min(ready_at)));
                continue;
            }
            let node = match route(tp) {
                Route::Node(node) => node,
                Route::Busy => continue,
                Route::Unknown => {
                    drained.unknown_leaders.insert(tp.topic.clone());
                    continue;
                }
            };
            let bytes = request_bytes.entry(node).or_default();
            if *bytes > 0 && *bytes + first.size_bytes() > request_bytes_max {
                continue; // the next request to this broker takes it
            }
            let mut batch = queue.pop_front().expect("front was Some");
            if let (Some(producer), false) = (state.producer, batch.is_sealed()) {
                stamp(&mut batch, producer, &mut state.next_sequence);
            }
            batch.bytes(); // sealed: later records start a new batch
            *bytes += batch.size_bytes();
            *state.in_flight.entry(tp.clone()).or_default() += 1;
            drained.by_node.entry(node).or_default().push(batch);
        }
        state.queues.retain(|_, q| !q.is_empty());
        drained
    }
    // ANCHOR_END: drain

    /// Ends a drained batch: completes each record's handle (offset = base
    /// offset + its index in the batch) or fails them all, and frees its memory.
    pub fn done(&self, batch: ProducerBatch, outcome: BatchOutcome) {
        {
            let mut state = lock(&self.state);
            Self::forget(&mut state, &batch, true);
        }
        complete(batch, outcome);
    }

    /// Makes the producer idempotent (chapter 8): every batch sealed from now
    /// on carries `producer_id`, `epoch` and its partition's next sequence,
    /// from 0. Called with InitProducerId's answer, and again for an epoch bump.
    pub fn set_producer(&self, producer_id: i64, epoch: i16) {
        let mut state = lock(&self.state);
        state.producer = Some((producer_id, epoch));
        state.next_sequence.clear();
    }

    /// The idempotent producer's id and epoch, if it is one.
    pub fn producer(&self) -> Option<(i64, i16)> {
        lock(&self.state).producer
    }

    // ANCHOR: bump_epoch
    /// KIP-360's way out after a numbered batch failed for good (a refused
    /// sequence, a refused batch, an expiry after a send: see the sender's
    /// `bump_epoch_after`): its sequences are a hole the broker will never
    /// see filled, so the producer moves to the next epoch, where every
    /// partition starts again at 0. Batches already sealed keep their old
    /// epoch and numbers; that is consistent because an idempotent producer
    /// has at most one sealed batch per partition (`guarantee_order`: the one
    /// in flight, or back at the front of its queue for a retry). On the
    /// failed batch's partition there is then none left, and the next batch
    /// is sealed with the new epoch at sequence 0, which the broker accepts
    /// after any sequence of the old one. On any other partition the one
    /// old-epoch batch still goes first and is retried with the same bytes
    /// (so the broker still tells a retry from a new batch), and only the
    /// batch after it starts the new epoch at 0. Returns the new epoch, or
    /// `None` when the epoch is exhausted (Kafka then asks for a new producer
    /// id; spool's producer keeps failing such batches).
    pub fn bump_epoch(&self, failed_epoch: i16) -> Option<i16> {
        let mut state = lock(&self.state);
        let (producer_id, epoch) = state.producer?;
        if failed_epoch != epoch {
            return Some(epoch); // an older epoch's batch: already bumped past it
        }
        let next = epoch.checked_add(1)?;
        state.producer = Some((producer_id, next));
        state.next_sequence.clear();
        Some(next)
    }
    // ANCHOR_END: bump_epoch

    /// Puts a batch that failed with a retriable error back at the front of its
    /// partition's queue, to be sent again after `retry.backoff.ms`.
    pub fn reenqueue(&self, mut batch: ProducerBatch, now_ms: u64) {
        batch.attempts += 1;
        batch.retry_at_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
        let mut state = lock(&self.state);
        decrement(&mut state.in_flight, &batch.topic_partition);
        state.queues.entry(batch.topic_partition.clone()).or_default().push_front(batch);
    }

    /// Whether a batch that failed at `now_ms` has run out of `delivery.timeout.ms`.
    pub fn delivery_expired(&self, batch: &ProducerBatch, now_ms: u64) -> bool {
        now_ms >= batch.created_ms.saturating_add(self.config.delivery_timeout_ms)
    }

    /// Takes out the queued (not in-flight) batches whose `delivery.timeout.ms`
    /// is up, their memory already freed; the caller fails their records with
    /// [`complete`].
    pub fn expire(&self, now_ms: u64) -> Vec<ProducerBatch> {
        let mut state = lock(&self.state);
        let mut expired = Vec::new();
        for queue in state.queues.values_mut() {
            while queue.front().is_some_and(|b| self.delivery_expired(b, now_ms)) {
                expired.push(queue.pop_front().expect("front was Some"));
            }
        }
        state.queues.retain(|_, q| !q.is_empty());
        for batch in &expired {
            Self::forget(&mut state, batch, false);
        }
        expired
    }

    fn forget(state: &mut State, batch: &ProducerBatch, was_in_flight: bool) {
        assert!(state.incomplete.remove(&batch.id), "batch {} ended twice", batch.id);
        assert!(state.used_bytes >= batch.reserved_bytes, "memory accounting went negative");
        state.used_bytes -= batch.reserved_bytes;
        if was_in_flight {
            decrement(&mut state.in_flight, &batch.topic_partition);
        }
    }

    /// A `send` starts (`true`) or stops (`false`) waiting for memory.
    pub fn memory_waiter(&self, waiting: bool) {
        let mut state = lock(&self.state);
        if waiting {
            state.memory_waiters += 1;
        } else {
            state.memory_waiters = state.memory_waiters.saturating_sub(1);
        }
    }

    /// Starts a flush: every batch is ready now. Returns the mark to pass to
    /// [`Self::flushed`]: the batches that exist now are the ones to wait for.
    pub fn begin_flush(&self) -> u64 {
        let mut state = lock(&self.state);
        state.flushes += 1;
        state.next_batch_id
    }

    /// Whether every batch created before `mark` is done.
    pub fn flushed(&self, mark: u64) -> bool {
        lock(&self.state).incomplete.first().is_none_or(|&id| id >= mark)
    }

    pub fn end_flush(&self) {
        let mut state = lock(&self.state);
        state.flushes = state.flushes.saturating_sub(1);
    }

    /// Refuses new records from now on; what is queued becomes ready.
    pub fn close(&self) {
        lock(&self.state).closed = true;
    }

    /// How many batches were ever started.
    pub fn batches_created(&self) -> u64 {
        lock(&self.state).next_batch_id
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// Every batch is done (none queued, none in flight).
    pub fn is_empty(&self) -> bool {
        lock(&self.state).incomplete.is_empty()
    }

    /// Bytes of `buffer.memory` reserved by batches not yet done.
    pub fn used_bytes(&self) -> usize {
        lock(&self.state).used_bytes
    }
}

fn decrement(in_flight: &mut BTreeMap<TopicPartition, usize>, tp: &TopicPartition) {
    if let Some(n) = in_flight.get_mut(tp) {
        *n -= 1;
        if *n == 0 {
            in_flight.remove(tp);
        }
    }
}

// ANCHOR: stamp
/// Numbers a batch as it is sealed: the producer's id and epoch, and the
/// partition's next sequence, which then moves past the batch's records. A
/// retry sends the same sealed bytes, so the broker sees the same numbers.
fn stamp(
    batch: &mut ProducerBatch,
    (producer_id, epoch): (i64, i16),
    next: &mut BTreeMap<TopicPartition, i32>,
) {
    let sequence = next.entry(batch.topic_partition.clone()).or_insert(0);
    let builder = std::mem::take(&mut batch.builder);
    batch.builder = builder.producer(producer_id, epoch, *sequence);
    *sequence = crate::idempotence::producer_state::increment_sequence(*sequence, batch.records.len() as i32);
}
// ANCHOR_END: stamp

/// Answers every record of a batch that the accumulator no longer tracks.
pub fn complete(batch: ProducerBatch, outcome: BatchOutcome) {
    let tp = batch.topic_partition;
    for (index, record) in batch.records.into_iter().enumerate() {
        let result = match &outcome {
            BatchOutcome::Acked { base_offset, log_append_time_ms } => Ok(RecordMetadata {
                topic: tp.topic.clone(),
                partition: tp.partition,
                offset: if *base_offset < 0 { -1 } else { base_offset + index as i64 },
                timestamp_ms: if *log_append_time_ms >= 0 {
                    *log_append_time_ms
                } else {
                    record.timestamp_ms
                },
            }),
            BatchOutcome::Failed(error) => Err(error.duplicate()),
        };
        // The caller may have dropped its handle: nobody to tell, which is fine.
        let _ = record.reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AccumulatorConfig {
        AccumulatorConfig {
            batch_size: 1024,
            linger_ms: 10,
            buffer_memory: 8 * 1024,
            compression: Compression::None,
            retry_backoff_ms: 100,
            delivery_timeout_ms: 1000,
            guarantee_order: false,
        }
    }

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition { topic: "t".into(), partition }
    }

    fn record(value_bytes: usize) -> ProducerRecord {
        ProducerRecord { value: Some(Bytes::from(vec![b'v'; value_bytes])), ..Default::default() }
    }

    fn everywhere(_: &TopicPartition) -> Route {
        Route::Node(1)
    }

    fn drained_ids(drained: &Drained) -> Vec<u64> {
        drained.by_node.values().flatten().map(|b| b.id).collect()
    }

    /// A batch is full, and sent at once without waiting for linger.ms, as soon
    /// as the next record would not fit; the record that did not fit starts the
    /// next batch, which lingers.
    #[test]
    fn a_full_batch_is_ready_at_once() {
        let acc = RecordAccumulator::new(config());
        let mut new_batches = 0;
        let mut full = false;
        for _ in 0..10 {
            let appended = acc.append(&tp(0), &record(200), 0, 0).unwrap();
            new_batches += usize::from(appended.new_batch);
            full |= appended.batch_full;
        }
        assert_eq!(new_batches, 3, "1024-byte batches hold four ~220-byte records");
        assert!(full);
        let drained = acc.drain(0, 1 << 20, everywhere);
        // One batch per partition per drain: the first, full one.
        assert_eq!(drained_ids(&drained), vec![0]);
        let drained = acc.drain(0, 1 << 20, everywhere);
        assert_eq!(drained_ids(&drained), vec![1], "the second is full too: a batch is behind it");
        let drained = acc.drain(0, 1 << 20, everywhere);
        assert!(drained.by_node.is_empty(), "the last batch is open and lingers");
        assert_eq!(drained.next_ready_ms, Some(10));
    }

    /// linger.ms: a batch that is not full waits, and is ready once its linger
    /// has passed since it was created (Kafka's `linger.ms` docs).
    #[test]
    fn a_batch_is_ready_when_its_linger_expires() {
        let acc = RecordAccumulator::new(config());
        acc.append(&tp(0), &record(10), 0, 100).unwrap();
        acc.append(&tp(0), &record(10), 0, 105).unwrap();
        let early = acc.drain(109, 1 << 20, everywhere);
        assert!(early.by_node.is_empty());
        assert_eq!(early.next_ready_ms, Some(110), "linger counts from the batch's first record");
        let on_time = acc.drain(110, 1 << 20, everywhere);
        assert_eq!(on_time.by_node[&1][0].record_count(), 2);
    }

    /// flush() makes every batch ready at once, and is over when the batches
    /// that existed at its start are done, not those that came later.
    #[test]
    fn flush_sends_everything_now() {
        let acc = RecordAccumulator::new(config());
        acc.append(&tp(0), &record(10), 0, 0).unwrap();
        acc.append(&tp(1), &record(10), 0, 0).unwrap();
        let mark = acc.begin_flush();
        acc.append(&tp(2), &record(10), 0, 0).unwrap();
        let drained = acc.drain(0, 1 << 20, everywhere);
        assert_eq!(drained_ids(&drained), vec![0, 1, 2]);
        assert!(!acc.flushed(mark));
        let mut batches: Vec<_> = drained.by_node.into_values().flatten().collect();
        let third = batches.pop().unwrap();
        for batch in batches {
            acc.done(batch, BatchOutcome::Acked { base_offset: 0, log_append_time_ms: -1 });
        }
        assert!(acc.flushed(mark), "batch 2 came after the flush began");
        acc.end_flush();
        acc.done(third, BatchOutcome::Acked { base_offset: 0, log_append_time_ms: -1 });
        assert!(acc.is_empty());
        assert_eq!(acc.used_bytes(), 0);
    }

    /// A record larger than batch.size is not refused: it gets a batch of its
    /// own, sized for it, which is full at once. One larger than buffer.memory is.
    #[test]
    fn an_oversized_record_gets_its_own_batch() {
        let acc = RecordAccumulator::new(config());
        acc.append(&tp(0), &record(10), 0, 0).unwrap();
        let big = acc.append(&tp(0), &record(3000), 0, 0).unwrap();
        assert!(big.new_batch && big.batch_full);
        let after = acc.append(&tp(0), &record(10), 0, 0).unwrap();
        assert!(after.new_batch, "nothing joins the oversized batch");
        assert!(acc.used_bytes() >= 1024 + 3000 + 1024);
        let counts: Vec<usize> = (0..2)
            .flat_map(|_| acc.drain(0, 1 << 20, everywhere).by_node.into_values().flatten())
            .map(|b| b.record_count())
            .collect();
        assert_eq!(counts, vec![1, 1]);
        assert_eq!(
            acc.append(&tp(0), &record(9000), 0, 0).unwrap_err(),
            AppendError::TooLarge { record_bytes: 9000 + 36, buffer_memory: 8192 }
        );
    }

    /// Back-pressure: when buffer.memory is taken, a record that needs a new
    /// batch is refused (the producer then waits), records that fit in an open
    /// batch still go in, every batch becomes ready while someone waits, and
    /// acknowledging a batch frees its memory so the append succeeds.
    #[test]
    fn back_pressure_refuses_then_admits() {
        let acc = RecordAccumulator::new(config());
        for p in 0..8 {
            acc.append(&tp(p), &record(10), 0, 0).unwrap();
        }
        assert_eq!(acc.used_bytes(), 8 * 1024);
        assert_eq!(acc.append(&tp(8), &record(10), 0, 0).unwrap_err(), AppendError::NoMemory);
        acc.append(&tp(0), &record(10), 0, 0).expect("an open batch still has room");
        assert!(acc.drain(0, 1 << 20, everywhere).by_node.is_empty(), "lingering, nobody waits");
        acc.memory_waiter(true);
        let drained = acc.drain(0, 1 << 20, everywhere);
        assert_eq!(drained.by_node[&1].len(), 8, "exhausted memory with a waiter: all ready");
        let mut batches = drained.by_node.into_values().flatten();
        acc.done(batches.next().unwrap(), BatchOutcome::Acked { base_offset: 0, log_append_time_ms: -1 });
        acc.append(&tp(8), &record(10), 0, 0).expect("memory was freed");
        acc.memory_waiter(false);
        assert_eq!(acc.append(&tp(9), &record(10), 0, 0).unwrap_err(), AppendError::NoMemory);
    }

    /// Each record's handle gets base offset + its index in the batch, and the
    /// record's own timestamp (CreateTime) or the broker's (LogAppendTime);
    /// a failure reaches every record.
    #[test]
    fn completion_gives_each_record_its_offset() {
        let acc = RecordAccumulator::new(config());
        let mut handles: Vec<Completion> =
            (0..3).map(|i| acc.append(&tp(0), &record(10), 1000 + i, 0).unwrap().completion).collect();
        let failed = acc.append(&tp(1), &record(10), 5, 0).unwrap().completion;
        let mut drained = acc.drain(10, 1 << 20, everywhere).by_node.remove(&1).unwrap().into_iter();
        acc.done(drained.next().unwrap(), BatchOutcome::Acked { base_offset: 40, log_append_time_ms: -1 });
        let error = ClientError::kafka(10, None, "t-1"); // MESSAGE_TOO_LARGE
        acc.done(drained.next().unwrap(), BatchOutcome::Failed(error));
        let got: Vec<(i64, i64)> = handles
            .iter_mut()
            .map(|h| h.try_recv().unwrap().unwrap())
            .map(|m| (m.offset, m.timestamp_ms))
            .collect();
        assert_eq!(got, vec![(40, 1000), (41, 1001), (42, 1002)]);
        let mut failed = failed;
        assert!(failed.try_recv().unwrap().is_err());
    }

    /// A retried batch goes back to the front of its queue, waits
    /// retry.backoff.ms, and is sent with the same bytes; with guarantee_order
    /// (max.in.flight=1) a partition's next batch waits while one is in flight.
    #[test]
    fn retries_back_off_and_order_can_be_guaranteed() {
        let acc = RecordAccumulator::new(AccumulatorConfig { guarantee_order: true, ..config() });
        acc.append(&tp(0), &record(10), 0, 0).unwrap();
        let mut first = acc.drain(10, 1 << 20, everywhere).by_node.remove(&1).unwrap().remove(0);
        let bytes = first.bytes();
        acc.append(&tp(0), &record(10), 0, 10).unwrap();
        assert!(acc.drain(100, 1 << 20, everywhere).by_node.is_empty(), "muted while batch 0 is in flight");
        acc.reenqueue(first, 100);
        let backing_off = acc.drain(150, 1 << 20, everywhere);
        assert!(backing_off.by_node.is_empty());
        assert_eq!(backing_off.next_ready_ms, Some(200));
        let mut again = acc.drain(200, 1 << 20, everywhere).by_node.remove(&1).unwrap();
        assert_eq!(again[0].id, 0, "the retry goes before the later batch");
        assert_eq!(again[0].bytes(), bytes);
        assert_eq!(again[0].attempts, 1);
    }

    /// delivery.timeout.ms: a queued batch past it is taken out to be failed,
    /// its memory freed; an unknown leader is reported for a metadata refresh.
    #[test]
    fn expiry_and_unknown_leaders() {
        let acc = RecordAccumulator::new(config());
        acc.append(&tp(0), &record(10), 0, 0).unwrap();
        let drained = acc.drain(50, 1 << 20, |_| Route::Unknown);
        assert_eq!(drained.unknown_leaders, BTreeSet::from(["t".to_string()]));
        assert!(acc.expire(999).is_empty());
        let expired = acc.expire(1000);
        assert_eq!(expired.len(), 1);
        assert_eq!(acc.used_bytes(), 0);
        assert!(acc.is_empty());
    }

    /// Once closed, appends are refused and what is queued is ready at once.
    #[test]
    fn close_refuses_appends_and_hurries_the_rest() {
        let acc = RecordAccumulator::new(config());
        acc.append(&tp(0), &record(10), 0, 0).unwrap();
        acc.close();
        assert_eq!(acc.append(&tp(0), &record(10), 0, 0).unwrap_err(), AppendError::Closed);
        assert_eq!(acc.drain(0, 1 << 20, everywhere).by_node[&1].len(), 1);
    }
}
