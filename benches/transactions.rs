//! Chapter 9's costs, measured against a broker in this process: what a
//! commit costs as transactions grow, what read_committed costs a fetch, and
//! how long a consumer parked at the last stable offset waits after a commit.
//!
//! ```text
//! cargo bench --bench transactions            # the numbers (benches/RESULTS-transactions.md)
//! cargo bench --bench transactions -- --test  # CI smoke-run: every bench once
//! ```
//!
//! | group | with | without |
//! |---|---|---|
//! | `transactions/commit` | one whole transaction: AddPartitionsToTxn, the records (1, 100, 10,000; batches of ≤ 1,000), EndTxn commit | — (records/s shows the per-transaction cost shrinking) |
//! | `transactions/fetch` | read_committed: up to the LSO, with the aborted transactions listed | read_uncommitted: the same log up to the high watermark |
//! | `transactions/lso_wait` | EndTxn sent → a parked read_committed fetch returns the records (the markers written, the LSO moved) | — |
//!
//! A transaction here is what a transactional producer sends, spoken with
//! [`spool::client::Connection`]: InitProducerId with a transactional id
//! once, then per transaction AddPartitionsToTxn, Produce (acks=all,
//! transactional batches with the producer's next sequences), EndTxn. EndTxn
//! answers once the decision is in `__transaction_state`; the markers follow
//! in the background, and until they are written the next AddPartitionsToTxn
//! is refused with `CONCURRENT_TRANSACTIONS`, which the bench retries after
//! 1 ms (Kafka's producer waits 20 ms): so a commit's time includes its
//! markers, as a producer's next transaction sees it.
//!
//! Everything runs in this process: a broker on 127.0.0.1:0 with its logs in a
//! tempdir (page cache, no fsync) on a two-worker tokio runtime, clients over
//! loopback TCP.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, BrokerId, EndTxnRequest, FetchRequest, FetchResponse, FindCoordinatorRequest,
    InitProducerIdRequest, ProduceRequest, ProducerId, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::client::{Client, Connection, NewTopic};
use spool::format::{BatchBuilder, RecordBatch};
use tokio::runtime::Runtime;

#[path = "common/broker.rs"]
mod broker;
use broker::{runtime, BenchBroker};

#[allow(dead_code)]
#[path = "../tests/it/common/batches.rs"]
mod batches;
use batches::batch_of;

/// Every client request gives up after this long: it only bounds a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Value bytes per record: ~100-byte records, as the other benches.
const RECORD_VALUE_BYTES: usize = 82;
/// Records per batch: a 10,000-record transaction is ten produces, each
/// under `message.max.bytes` (1 MiB).
const BATCH_RECORDS_MAX: usize = 1_000;
/// The transaction timeout asked for: far longer than any transaction here.
const TRANSACTION_TIMEOUT_MS: i32 = 60_000;
/// The fetch bench's log: this many transactions of this many records, every
/// `ABORT_EVERY`th aborted.
const FETCH_TRANSACTIONS: usize = 40;
const FETCH_TRANSACTION_RECORDS: usize = 250;
const ABORT_EVERY: usize = 4;
/// A consumer's `max.partition.fetch.bytes`.
const PARTITION_MAX_BYTES: i32 = 1024 * 1024;
/// The parked fetch's `max_wait_ms`: far longer than any wake-up measured.
const LONG_POLL_WAIT_MS: i32 = 10_000;
/// Untimed pause after sending the parked fetch, so it has certainly parked
/// before EndTxn is sent.
const PARK_DELAY: Duration = Duration::from_millis(2);
/// The wait between retries of a request refused while the previous
/// transaction's markers are written (or the coordinator loads).
const RETRY_BACKOFF: Duration = Duration::from_millis(1);

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// Whether `code` is one a transactional producer retries.
fn retriable(code: i16) -> bool {
    [
        ResponseError::ConcurrentTransactions,
        ResponseError::CoordinatorLoadInProgress,
        ResponseError::CoordinatorNotAvailable,
        ResponseError::NotCoordinator,
    ]
    .iter()
    .any(|e| e.code() == code)
}

/// A transactional producer on one connection, writing to partition 0 of one topic.
struct TxnProducer {
    connection: Connection,
    transactional_id: TransactionalId,
    topic: String,
    producer_id: i64,
    producer_epoch: i16,
    next_sequence: i32,
}

impl TxnProducer {
    /// Finds the coordinator (creating `__transaction_state`) and inits the id.
    async fn init(addr: &str, transactional_id: &str, topic: &str) -> TxnProducer {
        let mut connection = Connection::connect(addr, REQUEST_TIMEOUT).await.expect("connect");
        let key = StrBytes::from_string(transactional_id.to_string());
        let find =
            FindCoordinatorRequest::default().with_key_type(1).with_coordinator_keys(vec![key.clone()]);
        while retriable(connection.send(&find).await.expect("FindCoordinator").coordinators[0].error_code) {
            tokio::time::sleep(RETRY_BACKOFF).await;
        }
        let transactional_id = TransactionalId(key);
        let init = InitProducerIdRequest::default()
            .with_transactional_id(Some(transactional_id.clone()))
            .with_transaction_timeout_ms(TRANSACTION_TIMEOUT_MS)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let response = loop {
            let response = connection.send(&init).await.expect("InitProducerId");
            if !retriable(response.error_code) {
                break response;
            }
            tokio::time::sleep(RETRY_BACKOFF).await;
        };
        assert_eq!(response.error_code, 0, "InitProducerId");
        TxnProducer {
            connection,
            transactional_id,
            topic: topic.to_string(),
            producer_id: response.producer_id.0,
            producer_epoch: response.producer_epoch,
            next_sequence: 0,
        }
    }

    /// The transaction's batches of `records` records, stamped with the next
    /// sequences (built before a timing starts).
    fn batches(&mut self, records: usize) -> Vec<Bytes> {
        let value = [b'v'; RECORD_VALUE_BYTES];
        let now_ms = spool::broker::now_ms();
        let mut batches = Vec::new();
        let mut left = records;
        while left > 0 {
            let n = left.min(BATCH_RECORDS_MAX);
            let builder = BatchBuilder::default()
                .producer(self.producer_id, self.producer_epoch, self.next_sequence)
                .transactional(true);
            batches.push(batch_of(builder, (0..n).map(|i| (now_ms, format!("key-{i:06}"), &value))));
            self.next_sequence += n as i32;
            left -= n;
        }
        batches
    }

    /// AddPartitionsToTxn for partition 0, retried while the previous
    /// transaction's markers are still being written.
    async fn add_partition(&mut self) {
        let request = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(self.transactional_id.clone())
            .with_v3_and_below_producer_id(ProducerId(self.producer_id))
            .with_v3_and_below_producer_epoch(self.producer_epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(name(&self.topic))
                .with_partitions(vec![0])]);
        loop {
            let response = self.connection.send(&request).await.expect("AddPartitionsToTxn");
            let code = response.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
            if !retriable(code) {
                assert_eq!(code, 0, "AddPartitionsToTxn");
                return;
            }
            tokio::time::sleep(RETRY_BACKOFF).await;
        }
    }

    /// Produces `batches` (acks=all), all in flight at once, as a producer
    /// with `max.in.flight.requests.per.connection` unbounded would: the
    /// first batch's offset.
    async fn produce(&mut self, batches: Vec<Bytes>) -> i64 {
        let mut answers = Vec::with_capacity(batches.len());
        for batch in batches {
            let data = PartitionProduceData::default().with_index(0).with_records(Some(batch));
            let request = ProduceRequest::default()
                .with_transactional_id(Some(self.transactional_id.clone()))
                .with_acks(-1)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(name(&self.topic))
                    .with_partition_data(vec![data])]);
            answers.push(self.connection.send_pipelined(&request).await.expect("Produce sent"));
        }
        let mut base_offsets = Vec::with_capacity(answers.len());
        for answer in answers {
            let response = answer.await.expect("Produce");
            let partition = &response.responses[0].partition_responses[0];
            assert_eq!(partition.error_code, 0, "Produce");
            base_offsets.push(partition.base_offset);
        }
        base_offsets[0]
    }

    /// EndTxn: answered once the decision is logged, before the markers.
    async fn end(&mut self, commit: bool) {
        let request = EndTxnRequest::default()
            .with_transactional_id(self.transactional_id.clone())
            .with_producer_id(ProducerId(self.producer_id))
            .with_producer_epoch(self.producer_epoch)
            .with_committed(commit);
        assert_eq!(self.connection.send(&request).await.expect("EndTxn").error_code, 0, "EndTxn");
    }

    /// One whole transaction of `batches`.
    async fn transaction(&mut self, batches: Vec<Bytes>, commit: bool) {
        self.add_partition().await;
        black_box(self.produce(batches).await);
        self.end(commit).await;
    }
}

fn create_topic(rt: &Runtime, broker: &BenchBroker, topic: &str) {
    rt.block_on(async {
        let mut client = Client::connect(&broker.addr, REQUEST_TIMEOUT).await.expect("connect");
        let topic = NewTopic { partitions: 1, ..NewTopic::new(topic) };
        for created in client.create_topics(&[topic], false).await.expect("CreateTopics") {
            created.expect("topic created");
        }
    });
}

/// A consumer's fetch of partition 0 of `topic` from `offset`.
fn fetch_request(topic: &str, offset: i64, read_committed: bool, max_wait_ms: i32) -> FetchRequest {
    let partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(PARTITION_MAX_BYTES);
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(50 * 1024 * 1024)
        .with_isolation_level(i8::from(read_committed))
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(vec![partition])])
}

/// A fetch answer's records, the offset after its last batch (`offset` if
/// none) and how many of its batches hold records (not markers).
fn fetched(response: &FetchResponse, offset: i64) -> (Bytes, i64, usize) {
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.error_code, 0, "fetch failed");
    let records = p.records.clone().unwrap_or_default();
    let (mut rest, mut next, mut data_batches) = (records.clone(), offset, 0);
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).expect("whole batches");
        next = batch.next_offset();
        data_batches += usize::from(!batch.is_control());
        rest = tail;
    }
    (records, next, data_batches)
}

// ANCHOR: bench_commit
/// One transaction of 1, 100 or 10,000 records, start to commit.
fn commit(c: &mut Criterion) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    create_topic(&rt, &broker, "commit");
    let mut producer = rt.block_on(TxnProducer::init(&broker.addr, "bench-commit", "commit"));
    let mut group = c.benchmark_group("transactions/commit");
    group.sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_secs(1));
    for records in [1usize, 100, 10_000] {
        group.throughput(Throughput::Elements(records as u64));
        if records == 10_000 {
            group.sample_size(10).measurement_time(Duration::from_secs(10));
        }
        group.bench_function(BenchmarkId::from_parameter(format!("{records}_records")), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let batches = producer.batches(records);
                    let start = Instant::now();
                    rt.block_on(producer.transaction(batches, true));
                    elapsed += start.elapsed();
                }
                elapsed
            })
        });
    }
    group.finish();
    drop(producer);
    broker.stop(&rt);
}
// ANCHOR_END: bench_commit

/// Reading a log of committed and aborted transactions from the start to
/// its end, at read_committed and at read_uncommitted.
fn fetch(c: &mut Criterion) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    create_topic(&rt, &broker, "fetch");
    let mut producer = rt.block_on(TxnProducer::init(&broker.addr, "bench-fetch", "fetch"));
    for i in 0..FETCH_TRANSACTIONS {
        let batches = producer.batches(FETCH_TRANSACTION_RECORDS);
        rt.block_on(producer.transaction(batches, (i + 1) % ABORT_EVERY != 0));
    }
    // The last markers: one more transaction's AddPartitionsToTxn waits for them.
    rt.block_on(producer.add_partition());
    rt.block_on(producer.end(true));
    let mut consumer = rt.block_on(Connection::connect(&broker.addr, REQUEST_TIMEOUT)).expect("connect");
    let mut group = c.benchmark_group("transactions/fetch");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements((FETCH_TRANSACTIONS * FETCH_TRANSACTION_RECORDS) as u64));
    for (label, read_committed) in [("read_uncommitted", false), ("read_committed", true)] {
        group.bench_function(label, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut offset = 0;
                    loop {
                        let request = fetch_request("fetch", offset, read_committed, 0);
                        let response = consumer.send(&request).await.expect("Fetch");
                        let (records, next, _) = fetched(&response, offset);
                        black_box(records);
                        if next == offset {
                            return offset;
                        }
                        offset = next;
                    }
                })
            })
        });
    }
    group.finish();
    drop((producer, consumer));
    broker.stop(&rt);
}

// ANCHOR: bench_lso_wait
/// The idle LSO wait: a read_committed consumer parked at the start of an
/// open transaction gets its records only when the commit's markers move the
/// LSO. Timed from EndTxn's sending to the parked fetch's answer (from
/// EndTxn's *answer* it is often negative: markers written locally can beat
/// the answer back to the producer; the bench counts how often).
fn lso_wait(c: &mut Criterion) {
    let rt = runtime();
    let broker = BenchBroker::start(&rt, &[]);
    create_topic(&rt, &broker, "lso");
    let mut producer = rt.block_on(TxnProducer::init(&broker.addr, "bench-lso", "lso"));
    let mut consumer = rt.block_on(Connection::connect(&broker.addr, REQUEST_TIMEOUT)).expect("connect");
    let mut group = c.benchmark_group("transactions/lso_wait");
    group.sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_secs(1));
    // Samples in which the fetch answered before EndTxn did: the markers
    // were written before EndTxn's answer reached the producer.
    let (mut samples, mut fetch_first) = (0u64, 0u64);
    group.bench_function("commit_to_fetch", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let batches = producer.batches(1);
                elapsed += rt.block_on(async {
                    producer.add_partition().await;
                    // Parked at the transaction's first offset, above the LSO.
                    let offset = producer.produce(batches).await;
                    let request = fetch_request("lso", offset, true, LONG_POLL_WAIT_MS);
                    let parked = consumer.send_pipelined(&request).await.expect("Fetch sent");
                    let parked = tokio::spawn(async move {
                        let response = parked.await;
                        (response, Instant::now())
                    });
                    tokio::time::sleep(PARK_DELAY).await;
                    let sent = Instant::now();
                    producer.end(true).await;
                    let answered = Instant::now();
                    let (response, returned) = parked.await.expect("the fetch task");
                    let (_, _, data_batches) = fetched(&response.expect("Fetch"), offset);
                    assert_eq!(data_batches, 1, "the parked fetch returned the committed records");
                    samples += 1;
                    fetch_first += u64::from(returned < answered);
                    returned.saturating_duration_since(sent)
                });
            }
            elapsed
        })
    });
    group.finish();
    eprintln!(
        "transactions/lso_wait: the fetch answered before EndTxn in {fetch_first} of {samples} samples"
    );
    drop((producer, consumer));
    broker.stop(&rt);
}
// ANCHOR_END: bench_lso_wait

criterion_group!(benches, commit, fetch, lso_wait);
criterion_main!(benches);
