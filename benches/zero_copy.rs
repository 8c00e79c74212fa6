//! Chapter 3's measurement: a consumer reading a topic through loopback, with
//! the broker sending records by `sendfile` (zero copy) or reading them into
//! memory first (the copying path, `spool.fetch.zero.copy=false`).
//!
//! ```text
//! cargo bench --bench zero_copy            # the numbers (benches/RESULTS-zero-copy.md)
//! cargo bench --bench zero_copy -- --test  # CI smoke-run: every bench once
//! ```
//!
//! | bench | with | without |
//! |---|---|---|
//! | `zero_copy/consume/100B` | `sendfile` | read + copy + write |
//! | `zero_copy/consume/1KiB` | `sendfile` | read + copy + write |
//!
//! One iteration reads a whole topic (4 partitions, 32 MiB of record batches in
//! the page cache, batches of ~16 KiB as a producer's default `batch.size`
//! makes them) from offset 0 to its end, with a consumer's default limits
//! (`fetch.max.bytes` 50 MiB, `max.partition.fetch.bytes` 1 MiB).
//!
//! The broker runs on its own thread — a current-thread tokio runtime, so all
//! its work is done by that one thread — and the bench reads the thread's CPU
//! time with `getrusage(RUSAGE_THREAD)` (user + system: `sendfile`'s work in
//! the kernel counts) before and after each sample. After the group it prints,
//! per record size, MB/s and the broker's CPU seconds per GB read for each
//! path, and their ratios. Both brokers serve the same log directory, one after
//! the other, so both paths read identical files.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{BrokerId, FetchRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use spool::broker::Broker;
use spool::client::{Client, Connection, NewTopic};
use spool::config::BrokerConfig;
use spool::format::{BatchBuilder, RecordBatch};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::{oneshot, watch};

#[allow(dead_code)]
#[path = "../tests/it/common/batches.rs"]
mod batches;
use batches::batch_of;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const PARTITIONS: i32 = 4;
/// Record batch bytes in the topic, over all partitions.
const TOPIC_BYTES: usize = 32 << 20;
/// A producer's default `batch.size`.
const BATCH_BYTES: usize = 16 << 10;
/// A consumer's defaults: `fetch.max.bytes`, `max.partition.fetch.bytes`.
const FETCH_MAX_BYTES: i32 = 50 << 20;
const PARTITION_MAX_BYTES: i32 = 1 << 20;
/// The two record sizes: value bytes (the key adds 10, framing a few more).
const RECORD_SIZES: [(&str, usize); 2] = [("100B", 100), ("1KiB", 1024)];

/// A broker on its own thread and current-thread runtime.
struct BrokerThread {
    addr: String,
    runtime: tokio::runtime::Handle,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BrokerThread {
    fn start(log_dir: &std::path::Path, zero_copy: bool) -> BrokerThread {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let log_dir = log_dir.to_path_buf();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
                let addr = listener.local_addr().expect("local addr");
                let config = BrokerConfig {
                    listener: addr,
                    advertised_port: addr.port(),
                    log_dir,
                    zero_copy,
                    ..Default::default()
                };
                let broker = Arc::new(Broker::open(config).expect("open broker"));
                ready_tx.send((addr.to_string(), tokio::runtime::Handle::current())).expect("bench waits");
                spool::wire::server::serve(broker.clone(), listener, shutdown_rx).await;
                broker.shutdown().expect("clean shutdown");
            });
        });
        let (addr, runtime) = ready_rx.recv().expect("broker started");
        BrokerThread { addr, runtime, shutdown, thread: Some(thread) }
    }

    /// CPU time the broker's thread has used (user + system), read on that
    /// thread: a task on a current-thread runtime runs on the thread driving it.
    fn cpu_time(&self) -> Duration {
        let (tx, rx) = oneshot::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(thread_cpu_time());
        });
        rx.blocking_recv().expect("the broker thread answers")
    }

    fn stop(mut self) {
        self.shutdown.send(true).expect("server is listening");
        self.thread.take().expect("running").join().expect("broker thread did not panic");
    }
}

/// `getrusage(RUSAGE_THREAD)`: the calling thread's user + system CPU time.
fn thread_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_THREAD is supported
    // on Linux since 2.6.26. On failure the zeroed value is read, and the
    // assertion stops the bench.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD)");
    // SAFETY: initialised above (zeroed, then filled by getrusage).
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// One ~`BATCH_BYTES` batch of records with `value_bytes` values.
fn batch(value_bytes: usize) -> Bytes {
    let value = vec![b'v'; value_bytes];
    let records = (BATCH_BYTES / (value_bytes + 20)).max(1);
    batch_of(
        BatchBuilder::default(),
        (0..records).map(|i| (1_700_000_000_000, format!("key-{i:06}"), &value)),
    )
}

/// Creates `topic` and fills its partitions with `TOPIC_BYTES` of batches;
/// returns each partition's end offset.
fn fill(rt: &Runtime, addr: &str, topic: &str, value_bytes: usize) -> Vec<i64> {
    rt.block_on(async {
        let mut client = Client::connect(addr, REQUEST_TIMEOUT).await.expect("connect");
        let new = NewTopic { partitions: PARTITIONS, ..NewTopic::new(topic) };
        for created in client.create_topics(&[new], false).await.expect("CreateTopics") {
            created.expect("topic created");
        }
        let mut connection = Connection::connect(addr, REQUEST_TIMEOUT).await.expect("connect");
        let records = batch(value_bytes);
        let per_partition = TOPIC_BYTES / PARTITIONS as usize / records.len();
        let mut ends = Vec::new();
        for p in 0..PARTITIONS {
            let mut end = 0;
            for _ in 0..per_partition {
                let data = PartitionProduceData::default().with_index(p).with_records(Some(records.clone()));
                let request =
                    ProduceRequest::default().with_acks(1).with_timeout_ms(30_000).with_topic_data(vec![
                        TopicProduceData::default().with_name(name(topic)).with_partition_data(vec![data]),
                    ]);
                let response = connection.send(&request).await.expect("produce");
                let partition = &response.responses[0].partition_responses[0];
                assert_eq!(partition.error_code, 0, "produce failed");
                end = partition.base_offset
                    + i64::from(RecordBatch::from_bytes(records.clone()).expect("batch").records_count());
            }
            ends.push(end);
        }
        ends
    })
}

/// Reads `topic` from offset 0 to `ends`, as a consumer with default limits
/// does; returns the record bytes read.
async fn consume_all(connection: &mut Connection, topic: &str, ends: &[i64]) -> u64 {
    let mut offsets = vec![0i64; ends.len()];
    let mut bytes = 0;
    while offsets.iter().zip(ends).any(|(o, e)| o < e) {
        let partitions = (0..PARTITIONS)
            .filter(|&p| offsets[p as usize] < ends[p as usize])
            .map(|p| {
                FetchPartition::default()
                    .with_partition(p)
                    .with_fetch_offset(offsets[p as usize])
                    .with_partition_max_bytes(PARTITION_MAX_BYTES)
            })
            .collect();
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(FETCH_MAX_BYTES)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(partitions)]);
        let response = connection.send(&request).await.expect("fetch");
        for p in response.responses.iter().flat_map(|t| &t.partitions) {
            assert_eq!(p.error_code, 0, "fetch of partition {} failed", p.partition_index);
            let mut rest = p.records.clone().unwrap_or_default();
            bytes += rest.len() as u64;
            // Step past each whole batch (a consumer's next offset).
            while let Ok((batch, tail)) = RecordBatch::parse(&rest) {
                offsets[p.partition_index as usize] = batch.next_offset();
                rest = tail;
            }
        }
    }
    bytes
}

/// What one path measured for one record size: bytes read, wall time, broker CPU.
#[derive(Default, Clone, Copy)]
struct Totals {
    bytes: u64,
    wall: Duration,
    cpu: Duration,
}

type Results = Arc<Mutex<BTreeMap<(&'static str, &'static str), Totals>>>;

fn consume(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_dir = dir.path().join("logs");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let results: Results = Arc::default();
    let mut ends = BTreeMap::new();
    let mut group = c.benchmark_group("zero_copy");
    group.sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    for (path, zero_copy) in [("zero-copy", true), ("copy", false)] {
        let broker = BrokerThread::start(&log_dir, zero_copy);
        for (size, value_bytes) in RECORD_SIZES {
            let topic = format!("consume-{size}");
            let ends =
                ends.entry(size).or_insert_with(|| fill(&rt, &broker.addr, &topic, value_bytes)).clone();
            let mut connection =
                rt.block_on(Connection::connect(&broker.addr, REQUEST_TIMEOUT)).expect("connect");
            group.throughput(Throughput::Bytes(rt.block_on(consume_all(&mut connection, &topic, &ends))));
            group.bench_function(BenchmarkId::new(format!("consume/{size}"), path), |b| {
                b.iter_custom(|iters| {
                    let cpu_before = broker.cpu_time();
                    let start = Instant::now();
                    let mut bytes = 0;
                    for _ in 0..iters {
                        bytes += rt.block_on(consume_all(&mut connection, &topic, &ends));
                    }
                    let wall = start.elapsed();
                    let cpu = broker.cpu_time() - cpu_before;
                    let mut results = results.lock().expect("results");
                    let totals = results.entry((size, path)).or_default();
                    totals.bytes += bytes;
                    totals.wall += wall;
                    totals.cpu += cpu;
                    wall
                })
            });
        }
        broker.stop();
    }
    group.finish();
    report(&results.lock().expect("results"));
}

/// Prints MB/s and broker CPU s/GB per path and record size, and the ratios.
fn report(results: &BTreeMap<(&'static str, &'static str), Totals>) {
    println!("\nzero_copy: consume through loopback, broker CPU from getrusage(RUSAGE_THREAD)");
    println!(
        "{:<6} {:>16} {:>16} {:>10} {:>18} {:>18} {:>10}",
        "record", "copy MB/s", "zero-copy MB/s", "ratio", "copy CPU s/GB", "zero-copy CPU s/GB", "ratio"
    );
    for (size, _) in RECORD_SIZES {
        let (Some(copy), Some(zero)) = (results.get(&(size, "copy")), results.get(&(size, "zero-copy")))
        else {
            continue;
        };
        let mb_s = |t: &Totals| t.bytes as f64 / 1e6 / t.wall.as_secs_f64();
        let cpu_gb = |t: &Totals| t.cpu.as_secs_f64() / (t.bytes as f64 / 1e9);
        println!(
            "{:<6} {:>16.0} {:>16.0} {:>9.2}x {:>18.3} {:>18.3} {:>9.2}x",
            size,
            mb_s(copy),
            mb_s(zero),
            mb_s(zero) / mb_s(copy),
            cpu_gb(copy),
            cpu_gb(zero),
            cpu_gb(copy) / cpu_gb(zero),
        );
    }
}

criterion_group!(benches, consume);
criterion_main!(benches);
