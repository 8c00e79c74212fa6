//! Chapter 1's shared-memory code, chapter 2's long-poll wake-up, chapter 4's
//! record accumulator and chapter 6's acks=all waits, under loom:
//! every interleaving of the threads, not just the ones a stress test happens to hit.
//!
//! ```text
//! RUSTFLAGS="--cfg spool_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom
//! ```
//!
//! Under `--cfg spool_loom`, `spool::sync` hands the log loom's `Arc`, `Mutex`
//! and `Condvar`, so the very code the broker runs ([`EndOffsetPublisher`],
//! [`GroupCommit`], `AppendNotifier`, `RecordAccumulator`) is what loom schedules. Without the cfg
//! this file compiles to nothing, so a plain `cargo test` does not need loom.
//!
//! Each check states one `always` property (asserted in every execution) and one
//! `sometimes` property (asserted over all executions: the interesting
//! interleaving was really explored, so the `always` is not vacuous), and pins the
//! number of executions loom explored: a change means the code's synchronisation
//! changed, which deserves a look before the number is updated.
//!
//! Simplifications: the page cache is a `Vec<u8>` behind a loom mutex, locked once
//! per `write`, which is what makes a write of a batch in two calls non-atomic.
//! A real `pwrite` may also become visible byte by byte; two steps are enough to
//! expose a publication that comes too early.
#![cfg(spool_loom)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use loom::sync::{Arc, Mutex};
use loom::thread;
use spool::format::batch::HEADER_SIZE;
use spool::format::{BatchBuilder, RecordBatch, RecordBatchMut};
use spool::log::group_commit::SyncHandle;
use spool::log::segment::log_file_name;
use spool::log::{
    EndOffsetPublisher, EndOffsetWatch, GroupCommit, Log, LogConfig, LogOffsetMetadata, MemStorage,
    OpenOptions, ReadAt, Storage,
};
use spool::sync::lock;

/// The one message the reader panics with when it could see a partial batch;
/// the negative test expects exactly this.
const PARTIAL_BATCH: &str = "reader saw a partial batch";

/// Runs `f` under loom with the default (unbounded) search and returns how many
/// executions it explored.
fn explore(f: impl Fn() + Sync + Send + 'static) -> usize {
    let executions = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = executions.clone();
    loom::model(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let n = executions.load(Ordering::Relaxed);
    eprintln!("loom explored {n} executions");
    n
}

/// `count` batches of 3 records each, with base offsets 0, 3, 6, … already
/// assigned (as the log would), built once outside the model.
fn batches(count: i64) -> Vec<Bytes> {
    (0..count)
        .map(|i| {
            let mut builder = BatchBuilder::default();
            for r in 0..3 {
                builder.append(1_000 + r, Some(b"key"), Some(format!("value {i}.{r}").as_bytes()), &[]);
            }
            let mut bytes = BytesMut::from(&builder.build().as_bytes()[..]);
            RecordBatchMut::new(&mut bytes).expect("one whole batch").set_base_offset(3 * i);
            bytes.freeze()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Publishing the log end offset (`spool::log::end`)
// ---------------------------------------------------------------------------

/// Where the writer publishes the new end, relative to its two writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Header, rest of the batch, then publish: what `Log::append` does.
    WriteThenPublish,
    /// Header, publish, rest of the batch: the bug the ordering rule forbids.
    PublishBeforeTail,
}

/// The writer's side of one append: the batch goes to the page cache in two
/// writes (header, then records), and the end is published in `order`.
fn append(page_cache: &Mutex<Vec<u8>>, publisher: &EndOffsetPublisher, batch: &Bytes, order: Order) {
    let (header, tail) = batch.split_at(HEADER_SIZE);
    let position = page_cache.lock().unwrap().len() as u64;
    let parsed = RecordBatch::from_bytes(batch.clone()).expect("a valid batch");
    let end = LogOffsetMetadata {
        message_offset: parsed.next_offset(),
        segment_base_offset: 0,
        relative_position: position + batch.len() as u64,
    };
    page_cache.lock().unwrap().extend_from_slice(header);
    if order == Order::PublishBeforeTail {
        publisher.publish(end);
    }
    page_cache.lock().unwrap().extend_from_slice(tail);
    if order == Order::WriteThenPublish {
        publisher.publish(end);
    }
}

/// What a reader saw: the end it loaded, and whether the file already held
/// bytes past it (a batch being written, correctly hidden).
struct Read {
    end: LogOffsetMetadata,
    saw_unpublished_bytes: bool,
}

/// The reader's side: load the published end, read the file up to it, and check
/// that those bytes are whole, valid batches ending exactly at the published offset.
fn read(page_cache: &Mutex<Vec<u8>>, watch: &EndOffsetWatch) -> Read {
    let end = watch.load();
    let (bytes, file_len) = {
        let file = page_cache.lock().unwrap();
        let upto = end.relative_position as usize;
        assert!(upto <= file.len(), "{PARTIAL_BATCH}: end {upto} is past the {} bytes written", file.len());
        (Bytes::copy_from_slice(&file[..upto]), file.len())
    };
    let mut rest = bytes;
    let mut next_offset = 0;
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).unwrap_or_else(|e| panic!("{PARTIAL_BATCH}: {e}"));
        batch.validate().unwrap_or_else(|e| panic!("{PARTIAL_BATCH}: {e}"));
        assert_eq!(batch.base_offset(), next_offset, "batches are contiguous");
        next_offset = batch.next_offset();
        rest = tail;
    }
    assert_eq!(next_offset, end.message_offset, "the published offset matches the bytes before it");
    Read { end, saw_unpublished_bytes: file_len > end.relative_position as usize }
}

/// One writer appends `batches` in `order` while the model's main thread reads
/// `reads` times. Returns whether some read saw written-but-unpublished bytes.
fn publication_model(batches: &[Bytes], order: Order, reads: usize) -> bool {
    let page_cache = Arc::new(Mutex::new(Vec::new()));
    let publisher = EndOffsetPublisher::new(LogOffsetMetadata::default());
    let watch = publisher.watch();
    let writer = {
        let (page_cache, batches) = (page_cache.clone(), batches.to_vec());
        thread::spawn(move || {
            for batch in &batches {
                append(&page_cache, &publisher, batch, order);
            }
        })
    };
    let mut saw_unpublished = false;
    let mut last_end = 0;
    for _ in 0..reads {
        let seen = read(&page_cache, &watch);
        assert!(seen.end.message_offset >= last_end, "the end never moves back");
        last_end = seen.end.message_offset;
        saw_unpublished |= seen.saw_unpublished_bytes;
    }
    writer.join().unwrap();
    saw_unpublished
}

/// Proves that a reader which loads the published end and reads up to it never
/// sees part of a batch, even though the batch reaches the page cache in two
/// writes — the ordering `Log::append` follows (Kafka's `nextOffsetMetadata` is
/// updated only after the segment append). `sometimes`: the reader does run
/// between the two writes, so the hidden bytes were really there to be seen.
#[test]
fn end_offset_is_published_after_the_whole_batch() {
    let batches = batches(1);
    let sometimes = std::sync::Arc::new(AtomicBool::new(false));
    let seen = sometimes.clone();
    let executions = explore(move || {
        if publication_model(&batches, Order::WriteThenPublish, 1) {
            seen.store(true, Ordering::Relaxed);
        }
    });
    assert!(sometimes.load(Ordering::Relaxed), "no execution read between the two writes");
    assert_eq!(executions, 21);
}

/// The same with two appends in a row and a reader that reads twice: the
/// second batch is written while the first is already published, and the
/// published end only moves forward.
#[test]
fn two_appends_publish_in_order() {
    let batches = batches(2);
    let sometimes = std::sync::Arc::new(AtomicBool::new(false));
    let seen = sometimes.clone();
    let executions = explore(move || {
        if publication_model(&batches, Order::WriteThenPublish, 2) {
            seen.store(true, Ordering::Relaxed);
        }
    });
    assert!(sometimes.load(Ordering::Relaxed), "no execution read between two writes");
    assert_eq!(executions, 703);
}

/// The check is not vacuous: publishing the end between the header and the rest
/// of the batch is caught — loom finds the interleaving where the reader loads
/// the new end before the records are written.
#[test]
#[should_panic(expected = "reader saw a partial batch")]
fn publishing_before_the_tail_is_caught() {
    let batches = batches(1);
    explore(move || {
        publication_model(&batches, Order::PublishBeforeTail, 1);
    });
}

// ---------------------------------------------------------------------------
// 2. Group commit (`spool::log::group_commit`)
// ---------------------------------------------------------------------------

/// A [`MemStorage`] that [`GroupCommit`] can flush without the log's lock: its
/// handles share the files and `sync_data` marks a file durable, as `fsync` does.
///
/// The files sit behind a std mutex, not a loom one: every use is a short
/// critical section that never blocks, so it adds no interleavings worth
/// exploring, and loom (which switches threads only at its own primitives)
/// treats each storage call, `sync_data` included, as one atomic step.
#[derive(Debug, Clone, Default)]
struct SharedMemStorage {
    files: std::sync::Arc<std::sync::Mutex<MemStorage>>,
}

impl SharedMemStorage {
    fn with<T>(&self, f: impl FnOnce(&mut MemStorage) -> T) -> T {
        f(&mut self.files.lock().unwrap())
    }

    /// The offset below which the durable bytes of segment 0's `.log` hold
    /// every record: what survives a crash now.
    fn durable_end_offset(&self) -> i64 {
        let durable = self.with(|s| s.files[&log_file_name(0)].durable.clone());
        let mut rest = Bytes::from(durable);
        let mut next_offset = 0;
        while !rest.is_empty() {
            let (batch, tail) = RecordBatch::parse(&rest).expect("durable bytes are whole batches");
            next_offset = batch.next_offset();
            rest = tail;
        }
        next_offset
    }
}

#[derive(Debug, Clone)]
struct SharedHandle {
    storage: SharedMemStorage,
    name: String,
}

impl ReadAt for SharedHandle {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.storage.with(|s| s.read_at(&self.name, pos, buf))
    }
}

impl SyncHandle for SharedHandle {
    fn sync_data(&self) -> std::io::Result<()> {
        self.storage.with(|s| s.sync(&self.name))
    }
}

impl Storage for SharedMemStorage {
    type Handle = SharedHandle;

    fn list(&self) -> std::io::Result<Vec<String>> {
        self.with(|s| s.list())
    }
    fn create(&mut self, name: &str) -> std::io::Result<()> {
        self.with(|s| s.create(name))
    }
    fn exists(&self, name: &str) -> bool {
        self.with(|s| s.exists(name))
    }
    fn len(&self, name: &str) -> std::io::Result<u64> {
        self.with(|s| s.len(name))
    }
    fn append(&mut self, name: &str, data: &[u8]) -> std::io::Result<()> {
        self.with(|s| s.append(name, data))
    }
    fn read_at(&self, name: &str, pos: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.with(|s| s.read_at(name, pos, buf))
    }
    fn truncate(&mut self, name: &str, len: u64) -> std::io::Result<()> {
        self.with(|s| s.truncate(name, len))
    }
    fn sync(&mut self, name: &str) -> std::io::Result<()> {
        self.with(|s| s.sync(name))
    }
    fn remove(&mut self, name: &str) -> std::io::Result<()> {
        self.with(|s| s.remove(name))
    }
    fn rename(&mut self, from: &str, to: &str) -> std::io::Result<()> {
        self.with(|s| s.rename(from, to))
    }
    fn write_atomic(&mut self, name: &str, data: &[u8]) -> std::io::Result<()> {
        self.with(|s| s.write_atomic(name, data))
    }
    fn handle(&self, name: &str) -> std::io::Result<SharedHandle> {
        self.with(|s| s.handle(name))?; // fails like MemStorage for a missing file
        Ok(SharedHandle { storage: self.clone(), name: name.to_string() })
    }
}

/// Proves that `GroupCommit::append` acknowledges an append only once an fsync
/// covers it: when it returns, the durable bytes hold the appended records and
/// the recovery point is past them — for every interleaving of two appenders,
/// with no deadlock or lost wakeup (loom fails an execution where every thread
/// is blocked). `sometimes`: one fsync covers both appends (the point of group
/// commit), and sometimes each append needs its own.
#[test]
fn group_commit_acknowledges_only_durable_appends() {
    let batches = batches(1);
    let shared = std::sync::Arc::new(AtomicBool::new(false));
    let unshared = std::sync::Arc::new(AtomicBool::new(false));
    let (shared_seen, unshared_seen) = (shared.clone(), unshared.clone());
    let executions = explore(move || {
        let storage = SharedMemStorage::default();
        let (log, _) = Log::open(storage.clone(), LogConfig::default(), OpenOptions::default(), 0).unwrap();
        let log = Arc::new(spool::sync::Mutex::new(log));
        let commit = Arc::new(GroupCommit::new());
        let appender = |log: Arc<spool::sync::Mutex<Log<SharedMemStorage>>>, commit: Arc<GroupCommit>| {
            let (storage, batch) = (storage.clone(), batches[0].clone());
            move || {
                let info = commit.append(&log, BytesMut::from(&batch[..]), 0, 0).unwrap();
                assert!(storage.durable_end_offset() > info.last_offset, "acknowledged before durable");
                assert!(lock(&log).recovery_point() > info.last_offset, "recovery point behind an ack");
            }
        };
        let other = thread::spawn(appender(log.clone(), commit.clone()));
        appender(log.clone(), commit.clone())();
        other.join().unwrap();
        assert_eq!(lock(&log).recovery_point(), 6, "both appends are durable");
        match commit.fsyncs() {
            1 => shared_seen.store(true, Ordering::Relaxed),
            2 => unshared_seen.store(true, Ordering::Relaxed),
            n => panic!("{n} fsyncs for two appends"),
        }
    });
    assert!(shared.load(Ordering::Relaxed), "no execution shared an fsync");
    assert!(unshared.load(Ordering::Relaxed), "no execution needed two fsyncs");
    // 6555 while `GroupCommit` kept its own watermark; each waiter now reads the
    // log's recovery point under the log's lock (issue 12: a watermark of its
    // own outlived a deleted topic's log), one more lock per check.
    assert_eq!(executions, 31_365);
}

// ---------------------------------------------------------------------------
// 3. Waking a long-polling fetch (`spool::broker::notify`)
// ---------------------------------------------------------------------------

/// When the fetch reads the notifier's generation, relative to checking the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchOrder {
    /// Generation, then the log, then wait past that generation: what
    /// `Broker::fetch` does.
    GenerationFirst,
    /// The log, then the generation: the lost wake-up the ordering rule forbids.
    DataFirst,
}

/// Drives a future on the current loom thread: poll it, and park until its
/// waker unparks the thread. loom's own `loom::future::block_on` needs loom's
/// `futures` feature, which spool does not enable; park and unpark are loom's
/// primitives, so a fetch parked with nobody left to unpark it is a deadlock.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(loom::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// One append and one long-polling fetch. The appender makes its data visible
/// (`has_data`, standing for the log end offset the fetch would read) and then
/// calls `notify()`, as `Broker::append` does; the fetch checks for data and, if
/// there is none, waits for a generation past the one it read. Returns whether the
/// fetch had to wait. A fetch that waits forever is a deadlock, which loom reports.
///
/// loom reports a deadlock by panicking with no thread active; a loom `Arc`
/// dropped while that panic unwinds calls back into loom, panics again, and
/// aborts the test binary. So the fetch's side holds its `Arc`s in
/// `ManuallyDrop` and drops them itself once it is done: the deadlock then
/// unwinds cleanly into the `should_panic` test below.
fn long_poll_model(order: FetchOrder) -> bool {
    use loom::sync::atomic::AtomicBool as LoomBool;
    use spool::broker::notify::AppendNotifier;
    use std::mem::ManuallyDrop;

    let notifier = ManuallyDrop::new(Arc::new(AppendNotifier::new()));
    let has_data = ManuallyDrop::new(Arc::new(LoomBool::new(false)));
    let appender = {
        let (notifier, has_data) = (Arc::clone(&notifier), Arc::clone(&has_data));
        thread::spawn(move || {
            has_data.store(true, Ordering::SeqCst);
            notifier.notify();
        })
    };
    let (generation, found) = match order {
        FetchOrder::GenerationFirst => {
            let generation = notifier.generation();
            (generation, has_data.load(Ordering::SeqCst))
        }
        FetchOrder::DataFirst => {
            let found = has_data.load(Ordering::SeqCst);
            (notifier.generation(), found)
        }
    };
    if !found {
        block_on(notifier.wait_past(generation));
        assert!(has_data.load(Ordering::SeqCst), "the fetch woke up but the data is not there");
    }
    appender.join().unwrap();
    drop(ManuallyDrop::into_inner(notifier));
    drop(ManuallyDrop::into_inner(has_data));
    !found
}

/// Proves that a long-polling fetch which reads the generation *before* checking
/// the log never sleeps through an append — in every interleaving the fetch
/// either finds the data or is woken and then finds it (loom fails an execution
/// in which the fetch is parked with nobody left to wake it). This is Kafka's
/// delayed-fetch contract: an append completes the fetches waiting on it.
/// `sometimes`: the fetch does park and get woken, and sometimes finds the data
/// at once, so both paths were explored.
#[test]
fn a_long_poll_is_never_left_asleep() {
    let waited = std::sync::Arc::new(AtomicBool::new(false));
    let immediate = std::sync::Arc::new(AtomicBool::new(false));
    let (waited_seen, immediate_seen) = (waited.clone(), immediate.clone());
    let executions = explore(move || {
        if long_poll_model(FetchOrder::GenerationFirst) {
            waited_seen.store(true, Ordering::Relaxed);
        } else {
            immediate_seen.store(true, Ordering::Relaxed);
        }
    });
    assert!(waited.load(Ordering::Relaxed), "no execution parked the fetch");
    assert!(immediate.load(Ordering::Relaxed), "no execution found the data at once");
    assert_eq!(executions, 43);
}

/// The check is not vacuous: a fetch that checks the log and only then reads the
/// generation can miss an append that lands in between (it reads the generation
/// the append already produced, and waits past it forever) — loom finds that
/// interleaving and reports the deadlock.
#[test]
#[should_panic(expected = "deadlock")]
fn reading_the_generation_after_the_data_is_caught() {
    explore(|| {
        long_poll_model(FetchOrder::DataFirst);
    });
}

// ---------------------------------------------------------------------------
// 4. The producer's record accumulator (`spool::client::producer::accumulator`)
// ---------------------------------------------------------------------------

/// Two `send`ing threads append two records each to one partition while the
/// sender drains, as `KafkaProducer.send` and the `Sender` thread share Kafka's
/// `RecordAccumulator`. The drainer stands in for the broker too: each batch it
/// takes is "appended to the log" at the next offset and acknowledged.
///
/// `always`: every record's handle is answered exactly once, the four offsets
/// are 0–3 with no gap or repeat, the log holds at each offset exactly the
/// record that was told that offset, and each thread's two records keep their
/// order. `sometimes`: the drainer takes a batch while appends are still
/// coming, so a later record starts a new batch (the sealing after a drain
/// really is exercised); and sometimes all four records share one batch.
#[test]
fn the_accumulator_loses_and_duplicates_nothing() {
    use spool::client::producer::accumulator::{
        AccumulatorConfig, BatchOutcome, ProducerBatch, RecordAccumulator, Route,
    };
    use spool::client::ProducerRecord;
    use spool::format::Compression;
    use spool::TopicPartition;

    /// The broker's side of a drained batch: its records go to the log at the
    /// next offsets, then the batch is acknowledged with its base offset.
    fn acknowledge(acc: &RecordAccumulator, log: &Mutex<Vec<Bytes>>, mut batch: ProducerBatch) {
        let (parsed, _) = RecordBatch::parse(&batch.bytes()).expect("a whole batch");
        let records = parsed.decode_records().expect("valid records");
        let base_offset = {
            let mut log = log.lock().unwrap();
            let base = log.len() as i64;
            log.extend(records.into_iter().map(|r| r.value.expect("values are set")));
            base
        };
        acc.done(batch, BatchOutcome::Acked { base_offset, log_append_time_ms: -1 });
    }

    let split = std::sync::Arc::new(AtomicBool::new(false));
    let together = std::sync::Arc::new(AtomicBool::new(false));
    let (split_seen, together_seen) = (split.clone(), together.clone());
    // ANCHOR: accumulator_loom
    let executions = explore(move || {
        let acc = Arc::new(RecordAccumulator::new(AccumulatorConfig {
            batch_size: 16_384,
            linger_ms: 0, // every batch is ready as soon as it exists
            buffer_memory: 1 << 20,
            compression: Compression::None,
            retry_backoff_ms: 100,
            delivery_timeout_ms: 120_000,
            guarantee_order: false,
        }));
        let log = Arc::new(Mutex::new(Vec::new()));
        let tp = TopicPartition { topic: "t".into(), partition: 0 };
        let appender = |name: &'static str| {
            let (acc, tp) = (acc.clone(), tp.clone());
            thread::spawn(move || {
                (0..2)
                    .map(|i| {
                        let value = Bytes::from(format!("{name}{i}"));
                        let record = ProducerRecord { value: Some(value.clone()), ..Default::default() };
                        (value, acc.append(&tp, &record, 0, 0).expect("room for it").completion)
                    })
                    .collect::<Vec<_>>()
            })
        };
        let (a, b) = (appender("a"), appender("b"));
        let drainer = {
            let (acc, log) = (acc.clone(), log.clone());
            thread::spawn(move || {
                let drained = acc.drain(0, 1 << 20, |_| Route::Node(1));
                for batch in drained.by_node.into_values().flatten() {
                    acknowledge(&acc, &log, batch);
                }
            })
        };
        let mut sent = a.join().unwrap();
        sent.extend(b.join().unwrap());
        drainer.join().unwrap();
        // The sender's next rounds: whatever the drainer left.
        while !acc.is_empty() {
            for batch in acc.drain(0, 1 << 20, |_| Route::Node(1)).by_node.into_values().flatten() {
                acknowledge(&acc, &log, batch);
            }
        }
        let log = log.lock().unwrap().clone();
        assert_eq!(log.len(), 4, "every record is in the log once");
        let mut offsets = Vec::new();
        for (value, mut completion) in sent {
            let meta = completion.try_recv().expect("answered").expect("acknowledged");
            assert_eq!(log[meta.offset as usize], value, "the log holds this record at its offset");
            assert!(completion.try_recv().is_err(), "answered once");
            offsets.push(meta.offset);
        }
        assert!(offsets[0] < offsets[1] && offsets[2] < offsets[3], "each thread's records in order");
        offsets.sort();
        assert_eq!(offsets, vec![0, 1, 2, 3]);
        if acc.batches_created() > 1 {
            split_seen.store(true, Ordering::Relaxed);
        } else {
            together_seen.store(true, Ordering::Relaxed);
        }
    });
    assert!(split.load(Ordering::Relaxed), "no execution drained between appends");
    assert!(together.load(Ordering::Relaxed), "no execution put all four records in one batch");
    assert_eq!(executions, 96_141);
    // ANCHOR_END: accumulator_loom
}

// ---------------------------------------------------------------------------
// 5. A leader's acks=all waits (`spool::broker::acks`, chapter 6)
// ---------------------------------------------------------------------------

/// A produce's slot, under loom: where its waiter's answer lands.
#[derive(Clone)]
struct Slot(Arc<Mutex<Option<Result<(), spool::replication::ReplicationError>>>>);

impl spool::broker::acks::Waiter for Slot {
    fn answer(self, result: Result<(), spool::replication::ReplicationError>) {
        let previous = lock(&self.0).replace(result);
        assert!(previous.is_none(), "a produce answered twice");
    }
}

/// How the follower's fetch learns the leader's log end.
#[derive(Clone, Copy)]
enum LogEndAtFetch {
    /// From the log, as `Partition::on_follower_fetch` reads it.
    FromTheLog,
    /// From the leader state: an append that has not reported yet is missed.
    FromTheState,
}

/// Replicas 1 (leader, epoch 1) and 2, both in the ISR. A producer appends
/// one record (the log end becomes 1) and waits with acks=all; follower 2,
/// once the record is in the log, fetches from offset 1 — the fetch that
/// covers it. Both use one `Leader` behind one lock, as a partition's role
/// lock holds it. Returns whether the produce was answered at once (the
/// fetch came first) rather than by the fetch.
fn acks_model(log_end_at_fetch: LogEndAtFetch) -> bool {
    use loom::sync::atomic::AtomicI64;
    use spool::broker::acks::Leader;
    use spool::replication::{
        FollowerFetch, LeaderEpochCache, LeaderState, PartitionAssignment, ReplicationConfig,
    };

    let assignment =
        PartitionAssignment { replicas: vec![1, 2], isr: [1, 2].into(), leader_epoch: 1, partition_epoch: 0 };
    let mut cache = LeaderEpochCache::new();
    let state = LeaderState::become_leader(1, &assignment, ReplicationConfig::default(), &mut cache, 0, 0, 0);
    let leader = Arc::new(Mutex::new(Leader::<Slot>::new(state)));
    let log_end = Arc::new(AtomicI64::new(0));
    let slot = Slot(Arc::new(Mutex::new(None)));
    let producer = {
        let (leader, log_end, slot) = (leader.clone(), log_end.clone(), slot.clone());
        thread::spawn(move || {
            log_end.store(1, Ordering::SeqCst); // the append reached the log
            let mut leader = lock(&leader);
            leader.appended(1, Some((slot.clone(), 1)));
            lock(&slot.0).is_some()
        })
    };
    while log_end.load(Ordering::SeqCst) < 1 {
        thread::yield_now(); // the follower has nothing to fetch yet
    }
    {
        let mut leader = lock(&leader);
        let known = match log_end_at_fetch {
            LogEndAtFetch::FromTheLog => log_end.load(Ordering::SeqCst),
            LogEndAtFetch::FromTheState => leader.state.log_end_offset(),
        };
        let fetch = FollowerFetch {
            replica_id: 2,
            fetch_offset: 1,
            last_fetched_epoch: Some(1),
            current_leader_epoch: Some(1),
        };
        // A refused fetch (OFFSET_OUT_OF_RANGE) moves nothing: the follower
        // would retry, but this model's follower fetches once.
        let _ = leader.follower_fetched(known, &fetch, &cache, 0);
    }
    let answered_at_once = producer.join().unwrap();
    let answer = lock(&slot.0).clone();
    assert_eq!(answer, Some(Ok(())), "the acks=all produce was never answered");
    answered_at_once
}

// ANCHOR: acks_loom
/// An `acks=all` produce never misses the fetch that covers it: in every
/// interleaving of the append and the follower's fetch, the produce's waiter
/// is answered `Ok` exactly once — by its own registration when the fetch
/// came first (the high watermark was already past it), by the fetch
/// otherwise. `sometimes`: both happen.
#[test]
fn an_acks_all_produce_never_misses_its_fetch() {
    let at_once = std::sync::Arc::new(AtomicBool::new(false));
    let by_fetch = std::sync::Arc::new(AtomicBool::new(false));
    let (at_once_seen, by_fetch_seen) = (at_once.clone(), by_fetch.clone());
    let executions = explore(move || {
        if acks_model(LogEndAtFetch::FromTheLog) {
            at_once_seen.store(true, Ordering::Relaxed);
        } else {
            by_fetch_seen.store(true, Ordering::Relaxed);
        }
    });
    assert!(at_once.load(Ordering::Relaxed), "no execution fetched before the produce waited");
    assert!(by_fetch.load(Ordering::Relaxed), "no execution answered the produce by the fetch");
    assert_eq!(executions, 99);
}
// ANCHOR_END: acks_loom

/// The check is not vacuous: a leader that takes the log end from its own
/// state, not the log, refuses the follower's fetch when the append has not
/// reported yet (OFFSET_OUT_OF_RANGE), and the produce waits for a fetch
/// that already came.
#[test]
#[should_panic(expected = "never answered")]
fn a_fetch_that_misses_the_log_end_is_caught() {
    explore(|| {
        acks_model(LogEndAtFetch::FromTheState);
    });
}
