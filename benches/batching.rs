//! Chapter 4's costs, measured in one run: batching and linger through spool's
//! producer, the codecs, and what the broker pays to validate and recompress.
//!
//! ```text
//! cargo bench --bench batching                     # the numbers (benches/RESULTS-batching.md)
//! cargo bench --bench batching -- --test           # CI smoke-run: every bench once
//! python3 scripts/plot-batching.py                 # book/src/img/batching-throughput.svg
//! ```
//!
//! | group | with | without |
//! |---|---|---|
//! | `batching/batch_size/N` | N = 10, 100, 1,000, 10,000 records per batch | N = 1: one record per batch, one batch per request |
//! | `batching/linger` | `linger.ms` 5 (Kafka 4.0's default) and 50 | `linger.ms=0`: send as soon as the sender is free |
//! | `batching/latency` | — | the same three lingers, one record at a time: what linger costs an idle producer |
//! | `batching/compress`, `batching/decompress` | gzip, snappy, lz4, zstd on JSON-like events and on random bytes | `none` (a copy) |
//! | `batching/validate` | the broker decompresses and checks every record (`as-sent`), and re-encodes for a topic naming another codec (`recompress`) | `crc-only`: framing and CRC, what a broker trusting the producer would do |
//! | `batching/end_to_end` | producer `lz4` / `zstd`; topic `compression.type=producer` | producer `none`; and `lz4` into a `gzip` topic (the broker recompresses) |
//!
//! The producer benches run a broker in this process the way `benches/wire.rs`
//! does: 127.0.0.1:0, its log directory in a tempdir, `spool::wire::server::serve`
//! on a tokio runtime with two workers. The producer's sender task runs on that
//! runtime too; the records are sent from the bench's own thread, inside
//! `block_on`. So the producer, its sender and the broker share the machine's
//! cores, and a number here is the throughput of the whole loop over loopback,
//! not of a broker alone.
//!
//! Records are JSON-like events of a fixed length (`event`), generated from
//! their index, so a run is deterministic and `batch.size` can be chosen to hold
//! exactly N of them; each batch-size run reads its last iteration back from
//! the log and asserts that every stored batch held exactly N records.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use spool::client::{Client, Connection, NewTopic, Producer, ProducerConfig, ProducerRecord};
use spool::format::batch::HEADER_SIZE;
use spool::format::{BatchBuilder, Compression, RecordBatch};
use spool::log::validate_batches;
use spool::log::validator::{validate_records, TopicCompression, ValidationPolicy};
use tokio::runtime::Runtime;

/// Every client request gives up after this long: it only bounds a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The records' `CreateTime`: one fixed timestamp keeps every record's encoded
/// size the same (its timestamp delta is always 0), so `batch.size` can be
/// set to hold exactly N records.
const TIMESTAMP_MS: i64 = 1_700_000_000_000;
/// The records per batch the batch-size sweep asks for.
const BATCH_RECORDS: [usize; 5] = [1, 10, 100, 1_000, 10_000];
/// The lingers compared: none, Kafka 4.0's default (KIP-1030), and a long one.
const LINGERS_MS: [u64; 3] = [0, 5, 50];
/// Bytes of uncompressed records in the codec and validation benches: the
/// producer's default `batch.size`, and a 1 MiB batch for the ratio table.
const CODEC_BATCH_BYTES: usize = 16 * 1024;
const BIG_BATCH_BYTES: usize = 1024 * 1024;
/// The topic keeps at most this much log: retention runs between timed
/// iterations, so a long run neither fills the disk nor measures writeback.
/// (By size only: `retention.ms=-1`, since every record carries the fixed
/// `TIMESTAMP_MS`, long past any retention by time.)
const SEGMENT_BYTES: &str = "16777216";
const RETENTION_BYTES: &str = "67108864";

// ---------------------------------------------------------------------------
// Data: JSON-like events and random bytes, deterministic
// ---------------------------------------------------------------------------

/// SplitMix64: a fixed, seedable sequence (no dependency, same on every run).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

// ANCHOR: event
/// The `i`th event: a clickstream record as a service would log it, 88 bytes
/// whatever `i` is. Field names and most values repeat from record to record,
/// as they do in real JSON, which is what batch compression feeds on.
fn event(i: u64) -> Vec<u8> {
    const TYPES: [&str; 4] = ["click", "view_", "order", "login"];
    const COUNTRIES: [&str; 6] = ["DE", "US", "IN", "BR", "FR", "JP"];
    let r = mix(i);
    format!(
        r#"{{"id":{:010},"user":"u-{:06}","type":"{}","page":"/p/{:05}","cc":"{}","ms":{:04}}}"#,
        i,
        r % 50_000,
        TYPES[(r >> 20) as usize % TYPES.len()],
        (r >> 24) % 20_000,
        COUNTRIES[(r >> 40) as usize % COUNTRIES.len()],
        (r >> 44) % 10_000,
    )
    .into_bytes()
}
// ANCHOR_END: event

/// `len` bytes no codec can shrink.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let seed = mix(seed);
    (0..len.div_ceil(8) as u64).flat_map(|i| mix(seed ^ i).to_le_bytes()).take(len).collect()
}

/// The record section of an uncompressed batch of `bytes` of records: the bytes
/// a codec compresses. `value(i)` is the `i`th record's value.
fn record_section(bytes: usize, value: impl Fn(u64) -> Vec<u8>) -> Bytes {
    let batch = build_batch(Compression::None, bytes, value);
    batch.as_bytes().slice(HEADER_SIZE..)
}

/// A batch holding about `bytes` of records, compressed with `codec`.
fn build_batch(codec: Compression, bytes: usize, value: impl Fn(u64) -> Vec<u8>) -> RecordBatch {
    let mut builder = BatchBuilder::new(codec);
    let mut i = 0;
    while builder.estimated_size() < bytes {
        builder.append(TIMESTAMP_MS, None, Some(&value(i)), &[]);
        i += 1;
    }
    builder.build()
}

fn random_value(i: u64) -> Vec<u8> {
    random_bytes(event(0).len(), i)
}

// ---------------------------------------------------------------------------
// A broker in the bench's process (as in benches/wire.rs)
// ---------------------------------------------------------------------------

#[path = "common/broker.rs"]
mod broker;
use broker::{runtime, BenchBroker};

impl BenchBroker {
    /// A one-partition topic with bounded retention and the given configs.
    fn create_topic(&self, rt: &Runtime, name: &str, configs: &[(&str, &str)]) {
        rt.block_on(async {
            let mut client = Client::connect(&self.addr, REQUEST_TIMEOUT).await.expect("connect");
            let mut all = BTreeMap::from([
                ("segment.bytes".to_string(), SEGMENT_BYTES.to_string()),
                ("retention.bytes".to_string(), RETENTION_BYTES.to_string()),
                ("retention.ms".to_string(), "-1".to_string()),
            ]);
            all.extend(configs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let topic = NewTopic { partitions: 1, configs: all, ..NewTopic::new(name) };
            for created in client.create_topics(&[topic], false).await.expect("CreateTopics") {
                created.expect("topic created");
            }
        });
    }

    /// A producer with the defaults and these settings, without chapter 8's
    /// idempotence (on by default): this measures chapter 4's batching and
    /// pipelining, which idempotence narrows to one batch per partition in flight.
    fn producer(&self, rt: &Runtime, settings: &[(&str, String)]) -> Producer {
        let mut config = ProducerConfig::new(&self.addr);
        config.enable_idempotence = Some(false);
        for (key, value) in settings {
            config.set(key, value).expect("a valid producer setting");
        }
        rt.block_on(Producer::connect(config)).expect("producer connects")
    }

    /// Retention, as `spool serve` runs it every few seconds: outside the timing.
    fn tick(&self) {
        self.broker.tick().expect("retention");
    }
}

// ---------------------------------------------------------------------------
// Driving the producer
// ---------------------------------------------------------------------------

/// `records` prepared events, sent as fast as `send` takes them.
fn records(count: usize) -> Vec<ProducerRecord> {
    (0..count as u64)
        .map(|i| ProducerRecord {
            value: Some(Bytes::from(event(i))),
            timestamp_ms: Some(TIMESTAMP_MS),
            ..Default::default()
        })
        .collect()
}

/// One record sent and acknowledged before the timing starts: the producer
/// has fetched the topic's metadata and opened its connection to the leader.
fn warm_up(rt: &Runtime, producer: &Producer, topic: &str) {
    rt.block_on(send_all(producer, topic, &records(1)));
}

// ANCHOR: send_all
/// Sends every record to partition 0 as fast as the producer takes them (its
/// `send` waits only when `buffer.memory` is full), flushes, and waits for
/// every acknowledgement. Returns the offset of the first record.
async fn send_all(producer: &Producer, topic: &str, records: &[ProducerRecord]) -> i64 {
    let mut deliveries = Vec::with_capacity(records.len());
    for record in records {
        deliveries.push(producer.send_to_partition(topic, 0, record.clone()).await.expect("send"));
    }
    producer.flush().await;
    let mut first = None;
    for delivery in deliveries {
        let metadata = delivery.await.expect("acknowledged");
        first.get_or_insert(metadata.offset);
    }
    first.expect("at least one record")
}
// ANCHOR_END: send_all

/// The `batch.size` that holds exactly `n` events: a batch takes the next
/// record while its size plus that record's upper bound fits (see
/// `RecordAccumulator::append`), so the limit is the size of `n - 1` records
/// plus one upper bound.
fn batch_size_for(n: usize) -> usize {
    let mut builder = BatchBuilder::default();
    for i in 0..n as u64 - 1 {
        builder.append(TIMESTAMP_MS, None, Some(&event(i)), &[]);
    }
    let record = ProducerRecord { value: Some(Bytes::from(event(0))), ..Default::default() };
    builder.estimated_size() + spool::client::producer::accumulator::record_size_upper_bound(&record)
}

/// Reads partition 0 of `topic` from `from` to its end; returns the number of
/// batches and of records stored there.
fn stored_batches(rt: &Runtime, addr: &str, topic: &str, from: i64) -> (u64, u64) {
    rt.block_on(async {
        let mut connection = Connection::connect(addr, REQUEST_TIMEOUT).await.expect("connect");
        let (mut batches, mut records, mut offset) = (0, 0, from);
        loop {
            let partition = FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(8 << 20);
            let topic_name = TopicName(StrBytes::from_string(topic.to_string()));
            let request = FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(0)
                .with_max_bytes(8 << 20)
                .with_session_epoch(-1)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(topic_name)
                    .with_partitions(vec![partition])]);
            let response = connection.send(&request).await.expect("fetch");
            let p = &response.responses[0].partitions[0];
            assert_eq!(p.error_code, 0, "fetch failed");
            let mut rest = p.records.clone().unwrap_or_default();
            if rest.is_empty() {
                return (batches, records);
            }
            while let Ok((batch, tail)) = RecordBatch::parse(&rest) {
                if batch.base_offset() >= from {
                    batches += 1;
                    records += batch.records_count() as u64;
                }
                offset = batch.next_offset();
                rest = tail;
            }
        }
    })
}

/// What one configuration measured, over every timed iteration.
#[derive(Debug, Default, Clone)]
struct Totals {
    records: u64,
    bytes: u64,
    wall: Duration,
    /// From the stored log, last iteration: batches and records (batch-size
    /// and linger runs), for records per batch.
    stored: (u64, u64),
}

type Results = Arc<Mutex<BTreeMap<String, Totals>>>;

fn add(results: &Results, key: &str, records: u64, bytes: u64, wall: Duration) {
    let mut results = results.lock().expect("results");
    let totals = results.entry(key.to_string()).or_default();
    totals.records += records;
    totals.bytes += bytes;
    totals.wall += wall;
}

/// Records per timed iteration for a batch of `n` records: enough for a few
/// hundred requests at the small sizes, a few dozen batches at the large ones.
fn records_per_iteration(n: usize) -> usize {
    match n {
        1 => 2_000,
        10 => 10_000,
        _ => 100_000,
    }
}

// ---------------------------------------------------------------------------
// 1. Throughput against batch size, and against linger
// ---------------------------------------------------------------------------

/// One configuration of a producer throughput bench.
struct ProducerRun<'a> {
    /// The bench is `batching/{function}/{parameter}`; its totals are keyed
    /// `{function}/{parameter}`, and its topic is named after it.
    function: &'static str,
    parameter: String,
    /// Producer settings over the defaults, by Kafka's key names.
    settings: Vec<(&'static str, String)>,
    /// Topic configs over the bench's retention settings.
    topic_configs: &'a [(&'a str, &'a str)],
    /// Events per timed iteration.
    records: usize,
}

/// Runs one producer configuration as a criterion bench: each iteration sends
/// `run.records` events, flushes and waits for every acknowledgement.
fn producer_run(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    broker: &BenchBroker,
    results: &Results,
    run: ProducerRun<'_>,
) {
    let key = format!("{}/{}", run.function, run.parameter);
    let id = BenchmarkId::new(run.function, &run.parameter);
    let (settings, topic_configs, count) = (&run.settings[..], run.topic_configs, run.records);
    let topic = key.replace(['/', '=', ' '], "-");
    broker.create_topic(rt, &topic, topic_configs);
    let producer = broker.producer(rt, settings);
    warm_up(rt, &producer, &topic);
    let records = records(count);
    let bytes_per_iteration: u64 =
        records.iter().map(|r| r.value.as_ref().map_or(0, Bytes::len) as u64).sum();
    let mut last_first_offset = 0;
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut wall = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                last_first_offset = rt.block_on(send_all(&producer, &topic, &records));
                wall += start.elapsed();
                broker.tick();
            }
            add(results, &key, iters * count as u64, iters * bytes_per_iteration, wall);
            wall
        })
    });
    rt.block_on(producer.close()).expect("producer closes");
    let stored = stored_batches(rt, &broker.addr, &topic, last_first_offset);
    results.lock().expect("results").entry(key).or_default().stored = stored;
}

// ANCHOR: bench_batch_size
/// Throughput against records per batch: `batch.size` set to hold exactly N
/// events, `linger.ms` long enough that only full batches go (the last one goes
/// on `flush`), no compression, one partition. N = 1 is batching off: one
/// record per batch and per Produce request, `max.in.flight` (5) of them
/// outstanding.
fn batch_size(c: &mut Criterion, results: &Results) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    let mut group = c.benchmark_group("batching");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    for n in BATCH_RECORDS {
        let batch_size = batch_size_for(n);
        eprintln!("batching/batch_size/{n}: batch.size={batch_size}");
        let run = ProducerRun {
            function: "batch_size",
            parameter: n.to_string(),
            settings: vec![("batch.size", batch_size.to_string()), ("linger.ms", "1000".to_string())],
            topic_configs: &[],
            records: records_per_iteration(n),
        };
        producer_run(&mut group, &rt, &broker, results, run);
        // The bench measures what it claims: the last iteration's records were
        // stored in batches of N (none can hold more: batch.size stops it).
        let (batches, records) = results.lock().expect("results")[&format!("batch_size/{n}")].stored;
        assert_eq!(
            (batches * n as u64, records),
            (records_per_iteration(n) as u64, records_per_iteration(n) as u64),
            "batches of {n} records"
        );
    }
    group.finish();
    broker.stop(&rt);
}
// ANCHOR_END: bench_batch_size

/// Throughput against `linger.ms` at the default `batch.size` (16 KiB, ~150
/// events), the producer saturated: how full do batches get when nothing
/// waits for them?
fn linger(c: &mut Criterion, results: &Results) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    let mut group = c.benchmark_group("batching");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    for linger_ms in LINGERS_MS {
        let run = ProducerRun {
            function: "linger",
            parameter: linger_ms.to_string(),
            settings: vec![("linger.ms", linger_ms.to_string())],
            topic_configs: &[],
            records: 100_000,
        };
        producer_run(&mut group, &rt, &broker, results, run);
    }
    group.finish();
    broker.stop(&rt);
}

// ANCHOR: bench_latency
/// One record at a time: send, wait for its acknowledgement, send the next.
/// Criterion's time per iteration is the record's latency from `send` to ack.
/// An idle producer is linger's worst case: nobody else fills the batch, so
/// every record waits the whole `linger.ms`.
fn latency(c: &mut Criterion, results: &Results) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    let mut group = c.benchmark_group("batching");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for linger_ms in LINGERS_MS {
        let topic = format!("latency-{linger_ms}");
        broker.create_topic(&rt, &topic, &[]);
        let producer = broker.producer(&rt, &[("linger.ms", linger_ms.to_string())]);
        warm_up(&rt, &producer, &topic);
        let record = records(1).remove(0);
        group.throughput(Throughput::Elements(1));
        let key = format!("latency/{linger_ms}");
        group.bench_function(BenchmarkId::new("latency", format!("linger_ms={linger_ms}")), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    rt.block_on(async {
                        let delivery =
                            producer.send_to_partition(&topic, 0, record.clone()).await.expect("send");
                        delivery.await.expect("acknowledged")
                    });
                }
                let wall = start.elapsed();
                add(results, &key, iters, 0, wall);
                wall
            })
        });
        rt.block_on(producer.close()).expect("producer closes");
    }
    group.finish();
    broker.stop(&rt);
}
// ANCHOR_END: bench_latency

// ---------------------------------------------------------------------------
// 2. The codecs
// ---------------------------------------------------------------------------

const CODECS: [Compression; 5] =
    [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

/// Compress and decompress one 16 KiB record section per codec, for JSON-like
/// events and for random bytes; MB/s counts uncompressed bytes both ways.
fn codecs(c: &mut Criterion, results: &Results) {
    let mut group = c.benchmark_group("batching");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_millis(1500));
    for (data, value) in [("json", event as fn(u64) -> Vec<u8>), ("random", random_value)] {
        let section = record_section(CODEC_BATCH_BYTES, value);
        group.throughput(Throughput::Bytes(section.len() as u64));
        for codec in CODECS {
            let packed = Bytes::from(codec.compress(&section));
            let key = format!("compress/{}/{data}", codec.name());
            group.bench_function(&key, |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(codec.compress(black_box(&section)));
                    }
                    let wall = start.elapsed();
                    add(results, &key, iters, iters * section.len() as u64, wall);
                    wall
                })
            });
            let key = format!("decompress/{}/{data}", codec.name());
            group.bench_function(&key, |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(codec.decompress(packed.clone()).expect("decompresses"));
                    }
                    let wall = start.elapsed();
                    add(results, &key, iters, iters * section.len() as u64, wall);
                    wall
                })
            });
        }
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// 3. The broker: validate, keep or recompress
// ---------------------------------------------------------------------------

/// The codec a `recompress` topic names for a producer using `codec`: zstd,
/// or lz4 for a zstd producer.
fn other_codec(codec: Compression) -> Compression {
    if codec == Compression::Zstd {
        Compression::Lz4
    } else {
        Compression::Zstd
    }
}

// ANCHOR: bench_validate
/// What the broker does with one 16 KiB batch of events from a producer using
/// each codec: `crc-only` checks framing and CRC (validation off: trusting
/// the producer's records); `as-sent` is Kafka's default, decompress and check
/// every record, store the producer's bytes; `recompress` also re-encodes for
/// a topic naming another codec. The batch is copied into a fresh buffer for
/// each call outside the timing, since the validator takes it by value.
fn validate(c: &mut Criterion, results: &Results) {
    let mut group = c.benchmark_group("batching");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_millis(1500));
    for codec in CODECS {
        let batch = build_batch(codec, CODEC_BATCH_BYTES, event);
        let uncompressed = build_batch(Compression::None, CODEC_BATCH_BYTES, event).as_bytes().len();
        group.throughput(Throughput::Bytes(uncompressed as u64));
        let policies = [
            ("as-sent", TopicCompression::Producer),
            ("recompress", TopicCompression::Codec(other_codec(codec))),
        ];
        let key = format!("validate/{}/crc-only", codec.name());
        group.bench_function(&key, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(validate_batches(black_box(batch.as_bytes()), u64::MAX).expect("valid"));
                }
                let wall = start.elapsed();
                add(results, &key, iters, iters * uncompressed as u64, wall);
                wall
            })
        });
        for (name, compression) in policies {
            let policy = ValidationPolicy { compression, zstd_allowed: true, ..ValidationPolicy::default() };
            let key = format!("validate/{}/{name}", codec.name());
            group.bench_function(&key, |b| {
                b.iter_custom(|iters| {
                    let inputs: Vec<BytesMut> =
                        (0..iters).map(|_| BytesMut::from(&batch.as_bytes()[..])).collect();
                    let start = Instant::now();
                    for input in inputs {
                        black_box(validate_records(input, policy, 0).expect("valid"));
                    }
                    let wall = start.elapsed();
                    add(results, &key, iters, iters * uncompressed as u64, wall);
                    wall
                })
            });
        }
    }
    group.finish();
}
// ANCHOR_END: bench_validate

/// The whole loop with compression: producer codec, broker validation and
/// (for the gzip topic) recompression, at the default `batch.size` and
/// `linger.ms`.
fn end_to_end(c: &mut Criterion, results: &Results) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    let mut group = c.benchmark_group("batching");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    let topic_gzip: &[(&str, &str)] = &[("compression.type", "gzip")];
    let runs = [
        ("none", "none", &[][..]),
        ("lz4", "lz4", &[]),
        ("zstd", "zstd", &[]),
        ("lz4-to-gzip-topic", "lz4", topic_gzip),
    ];
    for (name, codec, topic_configs) in runs {
        let run = ProducerRun {
            function: "end_to_end",
            parameter: name.to_string(),
            settings: vec![("compression.type", codec.to_string())],
            topic_configs,
            records: 100_000,
        };
        producer_run(&mut group, &rt, &broker, results, run);
    }
    group.finish();
    broker.stop(&rt);
}

// ---------------------------------------------------------------------------
// The report: ratios from this run
// ---------------------------------------------------------------------------

fn report(results: &BTreeMap<String, Totals>) {
    let rate = |t: &Totals| t.records as f64 / t.wall.as_secs_f64();
    let mb_s = |t: &Totals| t.bytes as f64 / 1e6 / t.wall.as_secs_f64();
    let get = |key: &str| results.get(key).filter(|t| t.records > 0);

    println!(
        "\nbatching: throughput against records per batch (linger.ms=1000, none, acks=all, 1 partition)"
    );
    println!(
        "{:>8} {:>12} {:>14} {:>10} {:>10} {:>16}",
        "N", "batch.size", "records/s", "MB/s", "x N=1", "stored rec/batch"
    );
    let base = get("batch_size/1").map(rate);
    for n in BATCH_RECORDS {
        let Some(t) = get(&format!("batch_size/{n}")) else { continue };
        let (batches, records) = t.stored;
        println!(
            "{:>8} {:>12} {:>14.0} {:>10.1} {:>9.1}x {:>16.1}",
            n,
            batch_size_for(n),
            rate(t),
            mb_s(t),
            base.map_or(f64::NAN, |b| rate(t) / b),
            records as f64 / batches.max(1) as f64
        );
    }

    println!("\nbatching: throughput against linger.ms (batch.size=16384, none, saturated)");
    println!("{:>10} {:>14} {:>10} {:>16}", "linger.ms", "records/s", "MB/s", "stored rec/batch");
    for linger_ms in LINGERS_MS {
        let Some(t) = get(&format!("linger/{linger_ms}")) else { continue };
        let (batches, records) = t.stored;
        println!(
            "{:>10} {:>14.0} {:>10.1} {:>16.1}",
            linger_ms,
            rate(t),
            mb_s(t),
            records as f64 / batches.max(1) as f64
        );
    }

    println!("\nbatching: latency from send to ack, one record at a time (an idle producer)");
    println!("{:>10} {:>14}", "linger.ms", "mean ms");
    for linger_ms in LINGERS_MS {
        let Some(t) = get(&format!("latency/{linger_ms}")) else { continue };
        println!("{:>10} {:>14.3}", linger_ms, t.wall.as_secs_f64() * 1e3 / t.records as f64);
    }

    println!(
        "\nbatching: codecs on one batch's records (uncompressed MB/s; ratio = uncompressed / compressed)"
    );
    println!(
        "{:<7} {:>11} {:>11} {:>11} {:>13} {:>13} {:>13}",
        "codec", "json 16K", "json 1M", "random 16K", "json comp MB/s", "json dec MB/s", "rand comp MB/s"
    );
    let json16 = record_section(CODEC_BATCH_BYTES, event);
    let json1m = record_section(BIG_BATCH_BYTES, event);
    let random16 = record_section(CODEC_BATCH_BYTES, random_value);
    for codec in CODECS {
        let ratio = |s: &Bytes| s.len() as f64 / codec.compress(s).len() as f64;
        let speed = |key: String| get(&key).map_or(f64::NAN, mb_s);
        println!(
            "{:<7} {:>10.2}x {:>10.2}x {:>10.3}x {:>13.0} {:>13.0} {:>13.0}",
            codec.name(),
            ratio(&json16),
            ratio(&json1m),
            ratio(&random16),
            speed(format!("compress/{}/json", codec.name())),
            speed(format!("decompress/{}/json", codec.name())),
            speed(format!("compress/{}/random", codec.name())),
        );
    }

    println!("\nbatching: the broker's work per 16 KiB batch of events (microseconds; x = against crc-only)");
    println!("{:<7} {:>10} {:>16} {:>22}", "codec", "crc-only", "as-sent", "recompress");
    for codec in CODECS {
        let micros = |name: &str| {
            get(&format!("validate/{}/{name}", codec.name()))
                .map_or(f64::NAN, |t| t.wall.as_secs_f64() * 1e6 / t.records as f64)
        };
        let (crc, kept, re) = (micros("crc-only"), micros("as-sent"), micros("recompress"));
        println!(
            "{:<7} {:>10.1} {:>9.1} ({:>4.0}x) {:>9.1} ({:>4.0}x, to {})",
            codec.name(),
            crc,
            kept,
            kept / crc,
            re,
            re / crc,
            other_codec(codec).name()
        );
    }

    println!(
        "\nbatching: end to end, producer codec and topic compression.type (batch.size=16384, linger.ms=5)"
    );
    println!("{:<20} {:>14} {:>10} {:>10}", "run", "records/s", "MB/s", "x none");
    let base = get("end_to_end/none").map(rate);
    for name in ["none", "lz4", "zstd", "lz4-to-gzip-topic"] {
        let Some(t) = get(&format!("end_to_end/{name}")) else { continue };
        println!(
            "{:<20} {:>14.0} {:>10.1} {:>9.2}x",
            name,
            rate(t),
            mb_s(t),
            base.map_or(f64::NAN, |b| rate(t) / b)
        );
    }
}

fn all(c: &mut Criterion) {
    let results: Results = Arc::default();
    batch_size(c, &results);
    linger(c, &results);
    latency(c, &results);
    codecs(c, &results);
    validate(c, &results);
    end_to_end(c, &results);
    report(&results.lock().expect("results"));
}

criterion_group!(benches, all);
criterion_main!(benches);
