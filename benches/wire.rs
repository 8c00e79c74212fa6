//! Chapter 2's costs, measured in one run: the codec, a produce's round trip,
//! and long polling against short polling.
//!
//! ```text
//! cargo bench --bench wire            # the numbers (benches/RESULTS-wire.md)
//! cargo bench --bench wire -- --test  # CI smoke-run: every bench once
//! ```
//!
//! | group | with | without |
//! |---|---|---|
//! | `wire/decode_request` | `decode_request` of ApiVersions, Metadata, Produce (16 KiB batch), Fetch (3 partitions) | — |
//! | `wire/encode_response` | `encode_response` of the broker's own answers to those four | — |
//! | `wire/produce_ack` | acks=1 into the page cache (Kafka's default) | `spool.log.flush.before.ack=true`: fsync (group commit) before the ack |
//! | `wire/fetch_wake` | long polling: one fetch parked with `max_wait_ms` 10 000 | short polling: `max_wait_ms` 0 every 10 ms |
//!
//! Everything runs in this process: a broker on 127.0.0.1:0 with its log
//! directory in a tempdir, served by `spool::wire::server::serve` on a tokio
//! runtime (two workers), and clients from [`spool::client::Connection`] over
//! loopback TCP. Nothing listens beyond 127.0.0.1, and each bench stops its
//! broker when it is done.
//!
//! The codec benches use the broker's real answers: each request frame is
//! decoded and handled once by `Broker::handle` before the timing, and that
//! response is what `encode_response` encodes again and again.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, BrokerId, FetchRequest, FetchResponse, MetadataRequest, ProduceRequest,
    RequestHeader, ResponseKind, TopicName,
};
use kafka_protocol::protocol::{Encodable, Request, StrBytes};
use spool::client::{Client, Connection, NewTopic};
use spool::format::BatchBuilder;
use spool::wire::codec::{decode_request, encode_response};
use tokio::runtime::Runtime;

/// Every client request gives up after this long: it only bounds a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Value bytes per record: with a 10-byte key and the record framing, ~100 bytes
/// (the records of `benches/log.rs`).
const RECORD_VALUE_BYTES: usize = 82;
/// Records in the "16 KiB" produce batch: 160 records of ~100 bytes.
const RECORDS_PER_16K_BATCH: usize = 160;
/// Partitions of the topic the Metadata bench asks about.
const METADATA_PARTITIONS: i32 = 10;
/// Partitions one Fetch asks for, each holding one 16 KiB batch.
const FETCH_PARTITIONS: i32 = 3;
/// A consumer's defaults: `fetch.max.bytes` and `max.partition.fetch.bytes`.
const FETCH_MAX_BYTES: i32 = 50 * 1024 * 1024;
const PARTITION_MAX_BYTES: i32 = 1024 * 1024;
/// The long poll's `max_wait_ms`: far longer than any wake-up measured.
const LONG_POLL_WAIT_MS: i32 = 10_000;
/// The short poll's sleep between fetches.
const SHORT_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// The time from a consumer starting to wait to the record being produced:
/// 1 ms (so the long poll has certainly parked) plus a pseudo-random 0–10 ms,
/// so a produce lands at every phase of the short poll's 10 ms cycle.
const PRODUCE_DELAY_MIN_US: u64 = 1_000;
const PRODUCE_DELAY_SPREAD_US: u64 = 10_000;
/// How long the idle comparison watches a topic that gets no records.
const IDLE_WINDOW: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------
// A broker in the bench's process, and the requests sent to it
// ---------------------------------------------------------------------------

#[path = "common/broker.rs"]
mod broker;
use broker::{runtime, BenchBroker};

#[allow(dead_code)]
#[path = "../tests/it/common/batches.rs"]
mod batches;
use batches::batch_of;

impl BenchBroker {
    /// Creates a topic through the client, as `spool topics --create` does.
    fn create_topic(&self, rt: &Runtime, name: &str, partitions: i32, configs: &[(&str, &str)]) {
        rt.block_on(async {
            let mut client = Client::connect(&self.addr, REQUEST_TIMEOUT).await.expect("connect");
            let configs: BTreeMap<String, String> =
                configs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let topic = NewTopic { partitions, configs, ..NewTopic::new(name) };
            for created in client.create_topics(&[topic], false).await.expect("CreateTopics") {
                created.expect("topic created");
            }
        });
    }

    fn connect(&self, rt: &Runtime) -> Connection {
        rt.block_on(Connection::connect(&self.addr, REQUEST_TIMEOUT)).expect("connect")
    }
}

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// One batch of `records` records of ~100 bytes.
fn batch(records: usize) -> Bytes {
    let value = [b'v'; RECORD_VALUE_BYTES];
    let now_ms = spool::broker::now_ms();
    batch_of(BatchBuilder::default(), (0..records).map(|i| (now_ms, format!("key-{i:06}"), &value)))
}

fn produce_request(topic: &str, partition: i32, records: Bytes) -> ProduceRequest {
    let data = PartitionProduceData::default().with_index(partition).with_records(Some(records));
    ProduceRequest::default().with_acks(1).with_timeout_ms(30_000).with_topic_data(vec![
        TopicProduceData::default().with_name(name(topic)).with_partition_data(vec![data]),
    ])
}

/// A consumer's fetch of `partitions` of `topic`, each from `offset`.
fn fetch_request(topic: &str, partitions: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
    let partitions = (0..partitions)
        .map(|p| {
            FetchPartition::default()
                .with_partition(p)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(PARTITION_MAX_BYTES)
        })
        .collect();
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(FETCH_MAX_BYTES)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(partitions)])
}

/// The record bytes a fetch brought back, over every partition.
fn fetched_bytes(response: &FetchResponse) -> usize {
    assert_eq!(response.error_code, 0, "fetch failed");
    let partitions = response.responses.iter().flat_map(|t| &t.partitions);
    partitions
        .map(|p| {
            assert_eq!(p.error_code, 0, "fetch of partition {} failed", p.partition_index);
            p.records.as_ref().map_or(0, Bytes::len)
        })
        .sum()
}

// ---------------------------------------------------------------------------
// 1. The codec: decode a request, encode a response
// ---------------------------------------------------------------------------

/// A request frame as a Kafka client sends it, after its 4-byte size (what
/// `parse_frame` hands `decode_request`).
fn request_frame<R: Request>(version: i16, body: &R) -> Bytes {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("bench-client")));
    let mut buf = BytesMut::new();
    header.encode(&mut buf, R::header_version(version)).expect("encode header");
    body.encode(&mut buf, version).expect("encode body");
    buf.freeze()
}

/// One API's request frame, and the broker's answer to it.
struct Exchange {
    api: &'static str,
    api_key: ApiKey,
    version: i16,
    frame: Bytes,
    response: ResponseKind,
}

impl Exchange {
    /// Decodes `body`'s frame and lets the broker answer it once.
    fn new<R: Request>(
        rt: &Runtime,
        broker: &BenchBroker,
        api: &'static str,
        version: i16,
        body: &R,
    ) -> Self {
        let frame = request_frame(version, body);
        let request = decode_request(frame.clone()).expect("a valid request");
        let api_key = request.api_key;
        let reply = rt.block_on(broker.broker.handle(request)).expect("handled").expect("a response");
        let response = rt.block_on(reply.into_message()).expect("records read");
        Exchange { api, api_key, version, frame, response }
    }
}

/// The four requests, at the versions a current Java client sends them: the
/// highest spool speaks.
fn exchanges(rt: &Runtime, broker: &BenchBroker) -> Vec<Exchange> {
    broker.create_topic(rt, "bench-metadata", METADATA_PARTITIONS, &[]);
    broker.create_topic(rt, "bench-produce", 1, &[]);
    broker.create_topic(rt, "bench-fetch", FETCH_PARTITIONS, &[]);
    let big_batch = batch(RECORDS_PER_16K_BATCH);
    // Each fetched partition holds one 16 KiB batch.
    for p in 0..FETCH_PARTITIONS {
        Exchange::new(rt, broker, "Produce", 11, &produce_request("bench-fetch", p, big_batch.clone()));
    }

    let api_versions = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("apache-kafka-java"))
        .with_client_software_version(StrBytes::from_static_str("3.9.0"));
    let metadata = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(name("bench-metadata")))]));
    let produce = produce_request("bench-produce", 0, big_batch);
    let fetch = fetch_request("bench-fetch", FETCH_PARTITIONS, 0, 500);
    let exchanges = vec![
        Exchange::new(rt, broker, "ApiVersions", 3, &api_versions),
        Exchange::new(rt, broker, "Metadata", 12, &metadata),
        Exchange::new(rt, broker, "Produce", 11, &produce),
        Exchange::new(rt, broker, "Fetch", 12, &fetch),
    ];
    match &exchanges[3].response {
        ResponseKind::Fetch(f) => {
            assert_eq!(fetched_bytes(f), FETCH_PARTITIONS as usize * produce_bytes(&produce))
        }
        other => panic!("a Fetch was answered with {other:?}"),
    }
    exchanges
}

fn produce_bytes(request: &ProduceRequest) -> usize {
    request.topic_data[0].partition_data[0].records.as_ref().map_or(0, Bytes::len)
}

// ANCHOR: bench_codec
/// `decode_request` and `encode_response` per API, in nanoseconds per request
/// and bytes of frame per second. The Produce request carries a 16 KiB batch
/// and the Fetch response three of them: their record bytes dominate.
fn codec(c: &mut Criterion) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    let exchanges = exchanges(&rt, &broker);

    let mut group = c.benchmark_group("wire/decode_request");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    for e in &exchanges {
        eprintln!("wire/decode_request/{}: v{}, frame of {} bytes", e.api, e.version, e.frame.len());
        group.throughput(Throughput::Bytes(e.frame.len() as u64));
        group.bench_function(e.api, |b| b.iter(|| decode_request(e.frame.clone()).expect("decodes")));
    }
    group.finish();

    let mut group = c.benchmark_group("wire/encode_response");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    for e in &exchanges {
        let encoded = encode_response(e.api_key, e.version, 7, &e.response).expect("encodes");
        eprintln!("wire/encode_response/{}: v{}, frame of {} bytes", e.api, e.version, encoded.len());
        group.throughput(Throughput::Bytes(encoded.len() as u64));
        group.bench_function(e.api, |b| {
            b.iter(|| encode_response(e.api_key, e.version, 7, black_box(&e.response)).expect("encodes"))
        });
    }
    group.finish();
    broker.stop(&rt);
}
// ANCHOR_END: bench_codec

// ---------------------------------------------------------------------------
// 2. Produce to acknowledgement
// ---------------------------------------------------------------------------

// ANCHOR: bench_produce_ack
/// One connection produces one small batch (one ~100-byte record) with
/// `acks=1` and waits for the response, again and again: into the page cache
/// (Kafka's default), and with `spool.log.flush.before.ack=true`, where the
/// broker fsyncs through group commit before it answers. One producer has
/// nobody to share an fsync with, so this is the durable mode's worst case.
fn produce_ack(c: &mut Criterion) {
    let rt = runtime();
    let small_batch = batch(1);
    let mut group = c.benchmark_group("wire/produce_ack");
    // Round trips over loopback and fsyncs: few samples, short measurement.
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    // `spool.log.flush.before.ack` is a broker setting (not a topic config):
    // one broker for each side.
    for (bench, flush_before_ack) in [("page_cache", "false"), ("flush_before_ack", "true")] {
        let broker = BenchBroker::start(&rt, &[("spool.log.flush.before.ack", flush_before_ack)]);
        broker.create_topic(&rt, "acks", 1, &[]);
        let mut producer = broker.connect(&rt);
        let request = produce_request("acks", 0, small_batch.clone());
        group.bench_function(bench, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let response = producer.send(&request).await.expect("produce");
                        assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
                    }
                    start.elapsed()
                })
            })
        });
        drop(producer);
        broker.stop(&rt);
    }
    group.finish();
}
// ANCHOR_END: bench_produce_ack

// ---------------------------------------------------------------------------
// 3. Long polling against short polling
// ---------------------------------------------------------------------------

// ANCHOR: polling
/// How a consumer waits for records: the switch between the two benches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polling {
    /// One fetch with `max_wait_ms` = 10 s and `min_bytes` = 1: the broker
    /// parks it and an append wakes it.
    Long,
    /// The naive alternative: a fetch with `max_wait_ms` = 0, answered at once
    /// (empty or not); if empty, sleep 10 ms and ask again.
    Short,
}

/// Fetches `topic`-0 from `offset` until records come back; returns when
/// they arrived. Counts every fetch sent in `fetches`.
async fn consume(
    consumer: &mut Connection,
    topic: &str,
    offset: i64,
    polling: Polling,
    fetches: &mut u64,
) -> Instant {
    let max_wait_ms = if polling == Polling::Long { LONG_POLL_WAIT_MS } else { 0 };
    let request = fetch_request(topic, 1, offset, max_wait_ms);
    let timeout = REQUEST_TIMEOUT + Duration::from_millis(max_wait_ms as u64);
    loop {
        *fetches += 1;
        let response = consumer.send_within(&request, timeout).await.expect("fetch");
        if fetched_bytes(&response) > 0 {
            return Instant::now();
        }
        if polling == Polling::Short {
            tokio::time::sleep(SHORT_POLL_INTERVAL).await;
        }
    }
}
// ANCHOR_END: polling

/// One consumer and one producer on their own topic, and what they measured.
struct PollBench {
    topic: &'static str,
    polling: Polling,
    consumer: Connection,
    producer: Connection,
    next_offset: i64,
    /// Records produced, fetches sent and latencies seen, under criterion.
    records: u64,
    /// xorshift state for the produce delays: the same sequence for both modes.
    rng: u64,
    fetches: u64,
    latencies: Vec<Duration>,
}

impl PollBench {
    fn new(rt: &Runtime, broker: &BenchBroker, topic: &'static str, polling: Polling) -> Self {
        broker.create_topic(rt, topic, 1, &[]);
        let (consumer, producer) = (broker.connect(rt), broker.connect(rt));
        PollBench {
            topic,
            polling,
            consumer,
            producer,
            next_offset: 0,
            records: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            fetches: 0,
            latencies: Vec::new(),
        }
    }

    fn produce_delay(&mut self) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        Duration::from_micros(PRODUCE_DELAY_MIN_US + self.rng % PRODUCE_DELAY_SPREAD_US)
    }

    // ANCHOR: bench_round
    /// One record's trip: the consumer starts waiting for offset `next_offset`;
    /// after a delay the producer sends one record. Returns the time from the
    /// produce being sent to the fetch response that carries it arriving.
    async fn round(&mut self) -> Duration {
        let delay = self.produce_delay();
        let request = produce_request(self.topic, 0, batch(1));
        let PollBench { topic, polling, consumer, producer, next_offset, fetches, .. } = self;
        let consume = consume(consumer, topic, *next_offset, *polling, fetches);
        let produce = async {
            tokio::time::sleep(delay).await;
            let sent = Instant::now();
            let response = producer.send(&request).await.expect("produce");
            let partition = &response.responses[0].partition_responses[0];
            assert_eq!((partition.error_code, partition.base_offset), (0, *next_offset));
            sent
        };
        let (received, sent) = tokio::join!(consume, produce);
        *next_offset += 1;
        let latency = received.duration_since(sent);
        self.records += 1;
        self.latencies.push(latency);
        latency
    }

    /// A few untimed rounds, so first-time costs (the partition's first
    /// append, the connections' first fetches) are not criterion's estimate of
    /// a round, which sizes the whole run.
    fn warm(&mut self, rt: &Runtime) {
        rt.block_on(async {
            for _ in 0..5 {
                self.round().await;
            }
        });
        (self.records, self.fetches) = (0, 0);
        self.latencies.clear();
    }
    // ANCHOR_END: bench_round

    /// Prints what criterion does not: fetches per record and the spread.
    fn report(&mut self) {
        self.latencies.sort();
        let at = |q: f64| self.latencies[((self.latencies.len() - 1) as f64 * q).round() as usize];
        eprintln!(
            "wire/fetch_wake/{:?}: {} records, {} fetches, {:.2} fetches per record; latency p50 {:?}, p99 {:?}, max {:?}",
            self.polling,
            self.records,
            self.fetches,
            self.fetches as f64 / self.records as f64,
            at(0.5),
            at(0.99),
            at(1.0),
        );
    }
}

// ANCHOR: bench_fetch_wake
/// Produce-to-receive latency for a waiting consumer, long polling against
/// short polling, on the same produce delays; then, once, the fetches each
/// sends while its topic stays idle for a second.
///
/// Each round sleeps its produce delay (6 ms on average) besides the latency
/// it returns; criterion sizes a run by the wall clock of the whole routine,
/// so a 3 s measurement is a few hundred rounds either way.
fn fetch_wake(c: &mut Criterion) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    let mut group = c.benchmark_group("wire/fetch_wake");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for (polling, topic) in [(Polling::Long, "wake-long-poll"), (Polling::Short, "wake-short-poll")] {
        let mut bench = PollBench::new(&rt, &broker, topic, polling);
        bench.warm(&rt);
        let name = if polling == Polling::Long { "long_poll" } else { "short_poll" };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += bench.round().await;
                    }
                    total
                })
            })
        });
        bench.report();
    }
    group.finish();
    idle_fetches(&rt, &broker);
    broker.stop(&rt);
}
// ANCHOR_END: bench_fetch_wake

/// Both consumers wait on a topic that gets no records, side by side, for
/// `IDLE_WINDOW`: how many fetches does each send for nothing?
fn idle_fetches(rt: &Runtime, broker: &BenchBroker) {
    broker.create_topic(rt, "wake-idle", 1, &[]);
    let count = |polling: Polling| {
        let mut consumer = broker.connect(rt);
        async move {
            let mut fetches = 0;
            let waited = tokio::time::timeout(
                IDLE_WINDOW,
                consume(&mut consumer, "wake-idle", 0, polling, &mut fetches),
            );
            assert!(waited.await.is_err(), "the idle topic got a record");
            // The connection is dropped with its fetch unanswered: never reused.
            fetches
        }
    };
    let (long, short) = (count(Polling::Long), count(Polling::Short));
    let (long, short) = rt.block_on(async { tokio::join!(long, short) });
    eprintln!(
        "wire/fetch_wake/idle for {IDLE_WINDOW:?}: long polling sent {long} fetches, short polling {short}"
    );
}

criterion_group!(wire, codec, produce_ack, fetch_wake);
criterion_main!(wire);
