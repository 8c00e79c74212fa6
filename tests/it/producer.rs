//! Chapter 4's producer against an in-process broker over TCP: every record
//! sent is acknowledged once, at the offset where it really is, and reads back
//! byte for byte in per-partition send order — across `linger.ms`,
//! `batch.size`, every codec and every `acks`; and it survives a topic that
//! appears late and a broker restarted mid-stream.
//!
//! ```text
//! cargo test --release --test it producer::
//! ```

use crate::wire::harness;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use spool::client::{
    Client, ClientError, Consumer, ConsumerConfig, DeliveryFuture, NewTopic, Producer, ProducerConfig,
    ProducerRecord, RecordMetadata,
};
use spool::TopicPartition;

const RECORDS: usize = 10_000;
const PARTITIONS: i32 = 3;

/// Record `i`: every third has no key (the sticky partitioner places it),
/// values of 0–300 bytes, some headers, some null values, a fixed timestamp.
fn record(i: usize) -> ProducerRecord {
    let key = (i % 3 != 0).then(|| Bytes::from(format!("key-{}", i % 101)));
    let value = (i % 97 != 0).then(|| Bytes::from(format!("value-{i}-{}", "x".repeat(i % 300))));
    let headers = if i % 5 == 0 {
        vec![("h".to_string(), Some(Bytes::from(format!("{i}")))), ("null".into(), None)]
    } else {
        vec![]
    };
    ProducerRecord { key, value, headers, timestamp_ms: Some(1_700_000_000_000 + i as i64) }
}

async fn create_topic(client: &mut Client, name: &str, partitions: i32) {
    let mut topic = NewTopic::new(name);
    topic.partitions = partitions;
    let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
    created.into_iter().next().expect("one answer").expect("topic created");
}

/// Reads `topic`'s partitions from offset 0 with a consumer until
/// `expected[p]` records are there (acks=0 gives no offsets to wait for),
/// with a bound on the attempts.
async fn read_back(
    bootstrap: &str,
    topic: &str,
    expected: &BTreeMap<i32, usize>,
) -> BTreeMap<i32, Vec<spool::format::record::Record>> {
    let mut read: BTreeMap<i32, Vec<spool::format::record::Record>> = BTreeMap::new();
    let mut consumer = Consumer::connect(bootstrap, ConsumerConfig::default()).await.expect("consumer");
    consumer.assign(expected.keys().map(|&p| TopicPartition::new(topic, p)));
    for &p in expected.keys() {
        consumer.seek(topic, p, 0).expect("assigned");
    }
    for _ in 0..500 {
        if expected.iter().all(|(p, &n)| read.get(p).map_or(0, Vec::len) >= n) {
            return read;
        }
        for r in consumer.poll(Duration::from_millis(100)).await.expect("poll") {
            read.entry(r.partition).or_default().push(r.record);
        }
    }
    panic!(
        "{topic}: read {:?} records, expected {expected:?}",
        read.iter().map(|(p, r)| (p, r.len())).collect::<Vec<_>>()
    );
}

/// The fetched record is the sent one, byte for byte.
fn assert_same(sent: &ProducerRecord, got: &spool::format::record::Record, what: &str) {
    assert_eq!(got.key, sent.key, "{what}: key");
    assert_eq!(got.value, sent.value, "{what}: value");
    let headers: Vec<(String, Option<Bytes>)> =
        got.headers.iter().map(|h| (h.key.clone(), h.value.clone())).collect();
    assert_eq!(headers, sent.headers, "{what}: headers");
    assert_eq!(Some(got.timestamp), sent.timestamp_ms, "{what}: timestamp");
}

/// Sends `RECORDS` records with `settings` and checks the whole contract.
async fn produce_and_verify(broker: &harness::TestBroker, name: &str, settings: &[&str]) {
    let bootstrap = format!("bootstrap.servers={}", broker.addr);
    let config = ProducerConfig::parse(std::iter::once(bootstrap.as_str()).chain(settings.iter().copied()))
        .expect("valid config");
    let acks_none = config.acks == spool::client::Acks::None;
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(10)).await.unwrap();
    create_topic(&mut client, name, PARTITIONS).await;

    let producer = Producer::connect(config).await.expect("producer connects");
    let mut deliveries: Vec<DeliveryFuture> = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        deliveries.push(producer.send(name, record(i)).await.expect("send"));
    }
    let mut acked: Vec<RecordMetadata> = Vec::with_capacity(RECORDS);
    for delivery in deliveries {
        acked.push(delivery.await.unwrap_or_else(|e| panic!("{name}: a record failed: {e}")));
    }
    producer.close().await.expect("close");

    // Per partition, in send order: which records went there.
    let mut sent_to: BTreeMap<i32, Vec<usize>> = (0..PARTITIONS).map(|p| (p, vec![])).collect();
    for (i, meta) in acked.iter().enumerate() {
        assert_eq!(meta.topic, name);
        assert!((0..PARTITIONS).contains(&meta.partition), "{meta:?}");
        if let Some(key) = &record(i).key {
            let want = spool::client::partitioner::partition_for_key(key, PARTITIONS);
            assert_eq!(meta.partition, want, "{name}: record {i} keyed to murmur2's partition");
        }
        assert_eq!(meta.timestamp_ms, record(i).timestamp_ms.unwrap());
        sent_to.get_mut(&meta.partition).unwrap().push(i);
    }
    for (p, indexes) in &sent_to {
        assert!(!indexes.is_empty(), "{name}: nothing went to partition {p}");
        let offsets: Vec<i64> = indexes.iter().map(|&i| acked[i].offset).collect();
        if acks_none {
            assert!(offsets.iter().all(|&o| o == -1), "{name}: acks=0 has no offsets");
        } else {
            // Distinct, contiguous from 0, and increasing in send order.
            let want: Vec<i64> = (0..indexes.len() as i64).collect();
            assert_eq!(offsets, want, "{name}: partition {p} offsets in send order");
        }
    }

    let expected: BTreeMap<i32, usize> = sent_to.iter().map(|(&p, v)| (p, v.len())).collect();
    let read = read_back(&broker.addr.to_string(), name, &expected).await;
    for (p, indexes) in &sent_to {
        let got = &read[p];
        assert_eq!(got.len(), indexes.len(), "{name}: partition {p} holds exactly what was sent");
        for (n, (&i, record_read)) in indexes.iter().zip(got).enumerate() {
            assert_eq!(record_read.offset, n as i64);
            assert_same(&record(i), record_read, &format!("{name} p{p} record {i}"));
        }
    }
}

/// Every record of 10,000 is acknowledged at a distinct offset, contiguous
/// per partition and in send order, and reads back byte-identical — with no
/// linger and with 20 ms, with 1 KiB batches (many requests, several in
/// flight at once) and 64 KiB ones, with each codec, with acks 0, 1 and all,
/// and with one request in flight. Keyed records land where murmur2 says
/// (Kafka's `BuiltInPartitioner.partitionForKey`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_is_delivered_once_in_order() {
    let broker = harness::start(|_| {}).await;
    let configs: &[(&str, &[&str])] = &[
        ("linger-0", &["linger.ms=0"]),
        ("linger-20", &["linger.ms=20"]),
        ("batch-1k", &["batch.size=1024", "linger.ms=0"]),
        ("batch-1k-linger-20", &["batch.size=1024", "linger.ms=20"]),
        ("batch-64k", &["batch.size=65536", "linger.ms=20"]),
        ("gzip", &["compression.type=gzip", "batch.size=65536"]),
        ("snappy", &["compression.type=snappy"]),
        ("lz4", &["compression.type=lz4", "linger.ms=0"]),
        ("zstd", &["compression.type=zstd", "batch.size=1024"]),
        ("acks-0", &["acks=0"]),
        ("acks-1", &["acks=1", "compression.type=lz4"]),
        ("acks-all", &["acks=all", "batch.size=1024"]),
        ("in-flight-1", &["max.in.flight.requests.per.connection=1", "batch.size=1024", "linger.ms=0"]),
        ("small-buffer", &["buffer.memory=8192", "batch.size=1024", "linger.ms=0"]),
        ("idempotent", &["enable.idempotence=true", "batch.size=1024", "linger.ms=0"]),
    ];
    for (name, settings) in configs {
        produce_and_verify(&broker, name, settings).await;
    }
    broker.stop().await;
}

/// Unkeyed records follow the sticky partitioner (KIP-480/794): they fill a
/// partition's batch.size before moving on, so consecutive records share a
/// partition and, over many batches, every partition gets a fair share.
#[tokio::test]
async fn unkeyed_records_stick_then_spread() {
    let broker = harness::start(|_| {}).await;
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(10)).await.unwrap();
    create_topic(&mut client, "sticky", 4).await;
    let config =
        ProducerConfig::parse([format!("bootstrap.servers={}", broker.addr).as_str(), "batch.size=4096"])
            .unwrap();
    let producer = Producer::connect(config).await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..4000 {
        let value = Bytes::from(format!("{i:0>100}"));
        deliveries.push(
            producer
                .send("sticky", ProducerRecord { value: Some(value), ..Default::default() })
                .await
                .unwrap(),
        );
    }
    let mut partitions = Vec::new();
    for d in deliveries {
        partitions.push(d.await.unwrap().partition);
    }
    producer.close().await.unwrap();
    let switches = partitions.windows(2).filter(|w| w[0] != w[1]).count();
    // ~136 bytes per record upper bound, 4096-byte stickiness: ~30 records a run.
    assert!(switches < 4000 / 20, "{switches} switches: not sticky");
    let mut counts = [0usize; 4];
    for p in partitions {
        counts[p as usize] += 1;
    }
    assert!(counts.iter().all(|&c| (900..=1100).contains(&c)), "uneven: {counts:?}");
    broker.stop().await;
}

/// A record for a topic that does not exist yet: `send` waits for its
/// metadata (UNKNOWN_TOPIC_OR_PARTITION is retriable) — failing after
/// max.block.ms if it never comes, delivering once the topic is created.
#[tokio::test]
async fn a_topic_created_after_the_first_send_still_gets_the_record() {
    let broker = harness::start(|c| c.auto_create_topics = false).await;
    let bootstrap = format!("bootstrap.servers={}", broker.addr);
    let impatient =
        Producer::connect(ProducerConfig::parse([bootstrap.as_str(), "max.block.ms=300"]).unwrap())
            .await
            .unwrap();
    let record = ProducerRecord { value: Some(Bytes::from_static(b"early")), ..Default::default() };
    let refused = impatient.send("late", record.clone()).await;
    assert!(matches!(refused, Err(ClientError::TimedOut { timeout_ms: 300, .. })), "{refused:?}");

    let producer = std::sync::Arc::new(
        Producer::connect(ProducerConfig::parse([bootstrap.as_str()]).unwrap()).await.unwrap(),
    );
    let waiting = tokio::spawn({
        let producer = producer.clone();
        async move { producer.send("late", record).await?.await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await; // let it ask, and not find the topic
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(10)).await.unwrap();
    create_topic(&mut client, "late", 1).await;
    let meta = waiting.await.unwrap().expect("delivered once the topic exists");
    assert_eq!((meta.partition, meta.offset), (0, 0));
    producer.close().await.unwrap();
    broker.stop().await;
}

/// A broker stopped and restarted mid-stream, on the same address with the
/// same logs: batches caught in flight or queued meanwhile fail with I/O
/// errors, are retried after retry.backoff.ms (metadata refreshed), and every
/// record is acknowledged; at the offset each acknowledgement names, the log
/// holds exactly that record. With max.in.flight=1 a partition's offsets also
/// follow send order, even across the retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_stream_loses_nothing() {
    let broker = harness::start(|_| {}).await;
    let addr = broker.addr;
    let mut client = Client::connect(&addr.to_string(), Duration::from_secs(10)).await.unwrap();
    create_topic(&mut client, "restart", 2).await;
    drop(client);
    let settings = [
        format!("bootstrap.servers={addr}"),
        "max.in.flight.requests.per.connection=1".into(),
        "linger.ms=1".into(),
    ];
    let producer =
        Producer::connect(ProducerConfig::parse(settings.iter().map(String::as_str)).unwrap()).await.unwrap();
    let total = 4000;
    let mut deliveries = Vec::new();
    for i in 0..total / 2 {
        deliveries.push(producer.send("restart", record(i)).await.unwrap());
    }
    let dir = broker.stop().await;
    for i in total / 2..total * 3 / 4 {
        deliveries.push(producer.send("restart", record(i)).await.unwrap()); // queued while it is down
    }
    let broker = harness::start_on(addr, dir, |_| {}).await;
    for i in total * 3 / 4..total {
        deliveries.push(producer.send("restart", record(i)).await.unwrap());
    }
    let mut acked = Vec::new();
    for d in deliveries {
        acked.push(d.await.expect("delivered despite the restart"));
    }
    producer.close().await.unwrap();

    let mut client = Client::connect(&addr.to_string(), Duration::from_secs(10)).await.unwrap();
    let ends = client.list_offsets("restart", &[0, 1], spool::client::OffsetSpec::Latest).await.unwrap();
    let expected: BTreeMap<i32, usize> = ends.iter().map(|(&p, &end)| (p, end as usize)).collect();
    let read = read_back(&addr.to_string(), "restart", &expected).await;
    let mut last_offset: BTreeMap<i32, i64> = BTreeMap::new();
    for (i, meta) in acked.iter().enumerate() {
        let stored = &read[&meta.partition][meta.offset as usize];
        assert_eq!(stored.offset, meta.offset);
        assert_same(&record(i), stored, &format!("record {i}"));
        let last = last_offset.entry(meta.partition).or_insert(-1);
        assert!(meta.offset > *last, "record {i}: offset {} after {last}", meta.offset);
        *last = meta.offset;
    }
    broker.stop().await;
}

/// One producer shared by four tasks on two threads (`send` takes `&self`):
/// every record is acknowledged once, each partition's offsets are exactly
/// 0..n, and each task's records keep their order within a partition — Kafka's
/// guarantee for records of one `send` caller to one partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_share_one_producer() {
    let broker = harness::start(|_| {}).await;
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(10)).await.unwrap();
    create_topic(&mut client, "shared", PARTITIONS).await;
    let config =
        ProducerConfig::parse([format!("bootstrap.servers={}", broker.addr).as_str(), "batch.size=2048"])
            .unwrap();
    let producer = std::sync::Arc::new(Producer::connect(config).await.unwrap());
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            let producer = producer.clone();
            tokio::spawn(async move {
                let mut deliveries = Vec::new();
                for i in 0..2500 {
                    let record = ProducerRecord {
                        key: Some(Bytes::from(format!("task-{task}-{}", i % 7))),
                        value: Some(Bytes::from(format!("{task}:{i}"))),
                        ..Default::default()
                    };
                    deliveries.push(producer.send("shared", record).await.unwrap());
                }
                let mut acked = Vec::new();
                for d in deliveries {
                    acked.push(d.await.unwrap());
                }
                acked
            })
        })
        .collect();
    let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for task in tasks {
        let mut last: BTreeMap<i32, i64> = BTreeMap::new();
        for meta in task.await.unwrap() {
            let previous = last.insert(meta.partition, meta.offset).unwrap_or(-1);
            assert!(meta.offset > previous, "a task's records out of order in partition {}", meta.partition);
            offsets.entry(meta.partition).or_default().push(meta.offset);
        }
    }
    producer.close().await.unwrap();
    let mut total = 0;
    for (p, mut got) in offsets {
        got.sort();
        total += got.len();
        assert_eq!(got, (0..got.len() as i64).collect::<Vec<_>>(), "partition {p}: each offset once");
    }
    assert_eq!(total, 10_000);
    broker.stop().await;
}

/// The batches of partition `p` of `topic` in the broker's log: (producer id,
/// epoch, base sequence, records).
fn stored_batches(broker: &harness::TestBroker, topic: &str, p: i32) -> Vec<(i64, i16, i32, i32)> {
    let tp = TopicPartition::new(topic, p);
    let log = broker.broker().partition(&tp).expect("partition").log.clone();
    let batches = spool::log::manager::lock(&log).read_batches(0).expect("read the log");
    batches
        .iter()
        .map(|b| (b.producer_id(), b.producer_epoch(), b.base_sequence(), b.records_count()))
        .collect()
}

/// Chapter 8's producer: with `enable.idempotence=true` it takes a producer id
/// from the broker and numbers each partition's batches from sequence 0,
/// without gaps — what the broker's check needs to tell a retry from a new batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_producer_numbers_each_partitions_batches() {
    let broker = harness::start(|_| {}).await;
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(10)).await.unwrap();
    create_topic(&mut client, "numbered", 2).await;
    let bootstrap = format!("bootstrap.servers={}", broker.addr);
    let settings = [bootstrap.as_str(), "enable.idempotence=true", "batch.size=512", "linger.ms=0"];
    let producer = Producer::connect(ProducerConfig::parse(settings).unwrap()).await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..400 {
        deliveries.push(producer.send_to_partition("numbered", i % 2, record(i as usize)).await.unwrap());
    }
    for d in deliveries {
        d.await.expect("acknowledged");
    }
    producer.close().await.unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for p in 0..2 {
        let batches = stored_batches(&broker, "numbered", p);
        assert!(batches.len() > 3, "several batches on partition {p}");
        let mut next = 0;
        for &(producer_id, epoch, base_sequence, records) in &batches {
            assert!(producer_id >= 0 && epoch == 0, "stamped: {batches:?}");
            assert_eq!(base_sequence, next, "partition {p}: no gap, no repeat");
            next += records;
            ids.insert(producer_id);
        }
        assert_eq!(next, 200);
    }
    assert_eq!(ids.len(), 1, "one producer id for the whole producer");
    broker.stop().await;
}

/// When the broker refuses a batch's sequence (here: another writer used the
/// producer's id and took sequences 1-2, as a zombie would), that batch fails
/// with OUT_OF_ORDER_SEQUENCE_NUMBER and the producer bumps its epoch
/// (KIP-360): the next record goes in at epoch 1, sequence 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_sequence_fails_its_batch_and_bumps_the_epoch() {
    let broker = harness::start(|_| {}).await;
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(10)).await.unwrap();
    create_topic(&mut client, "bumped", 1).await;
    let bootstrap = format!("bootstrap.servers={}", broker.addr);
    let settings = [bootstrap.as_str(), "enable.idempotence=true", "linger.ms=0"];
    let producer = Producer::connect(ProducerConfig::parse(settings).unwrap()).await.unwrap();
    producer.send_to_partition("bumped", 0, record(1)).await.unwrap().await.expect("first record");
    let (pid, _, _, _) = stored_batches(&broker, "bumped", 0)[0];
    let mut stolen = spool::format::BatchBuilder::default().producer(pid, 0, 1);
    stolen.append(1_700_000_000_000, None, Some(b"zombie-1"), &[]);
    stolen.append(1_700_000_000_000, None, Some(b"zombie-2"), &[]);
    let tp = TopicPartition::new("bumped", 0);
    let log = broker.broker().partition(&tp).unwrap().log.clone();
    let bytes = bytes::BytesMut::from(&stolen.build().as_bytes()[..]);
    spool::log::manager::lock(&log).append(bytes, 0, 1_700_000_000_000).unwrap();

    let refused = producer.send_to_partition("bumped", 0, record(2)).await.unwrap().await;
    let error = refused.expect_err("sequence 1 after 1-2 is out of order");
    assert_eq!(error.code(), Some(kafka_protocol::ResponseError::OutOfOrderSequenceNumber), "{error}");
    let after =
        producer.send_to_partition("bumped", 0, record(3)).await.unwrap().await.expect("after the bump");
    assert_eq!(after.offset, 3);
    producer.close().await.unwrap();
    let batches = stored_batches(&broker, "bumped", 0);
    assert_eq!(batches.last(), Some(&(pid, 1, 0, 1)), "epoch 1 starts at sequence 0: {batches:?}");
    broker.stop().await;
}

/// Sends `records` to partition 0 of `topic` at once (each its own batch:
/// `batch.size` fits one), then waits for every answer, in order.
async fn send_each_in_its_own_batch(
    broker: &harness::TestBroker,
    topic: &str,
    records: Vec<ProducerRecord>,
) -> Vec<Result<RecordMetadata, ClientError>> {
    let bootstrap = format!("bootstrap.servers={}", broker.addr);
    let settings = [bootstrap.as_str(), "enable.idempotence=true", "batch.size=64", "linger.ms=0"];
    let producer = Producer::connect(ProducerConfig::parse(settings).unwrap()).await.unwrap();
    let mut deliveries = Vec::new();
    for record in records {
        deliveries.push(producer.send_to_partition(topic, 0, record).await.unwrap());
    }
    let mut answers = Vec::new();
    for d in deliveries {
        answers.push(d.await);
    }
    producer.close().await.unwrap();
    answers
}

fn value_of(value_bytes: usize) -> ProducerRecord {
    ProducerRecord { value: Some(Bytes::from(vec![b'v'; value_bytes])), ..Default::default() }
}

/// A batch that fails for good after it was numbered leaves a hole in its
/// partition's sequences; the producer must bump its epoch so the next batch
/// starts again at sequence 0, not fail with OUT_OF_ORDER_SEQUENCE_NUMBER
/// (KIP-360; the Java client's `TransactionManager.handleFailedBatch`).
/// Here: a record over the topic's `max.message.bytes` (MESSAGE_TOO_LARGE)
/// between good ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_for_good_does_not_fail_the_next_one() {
    let broker = harness::start(|_| {}).await;
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(10)).await.unwrap();
    let mut topic = NewTopic::new("small");
    topic.configs.insert("max.message.bytes".into(), "500".into());
    client.create_topics(&[topic], false).await.unwrap().remove(0).expect("topic created");
    let records = vec![value_of(10), value_of(2000), value_of(10), value_of(10)];
    let answers = send_each_in_its_own_batch(&broker, "small", records).await;
    let offsets: Vec<Option<i64>> = answers.iter().map(|a| a.as_ref().ok().map(|m| m.offset)).collect();
    assert_eq!(offsets, vec![Some(0), None, Some(1), Some(2)], "{answers:?}");
    let error = answers[1].as_ref().unwrap_err();
    assert_eq!(error.code(), Some(kafka_protocol::ResponseError::MessageTooLarge), "{error}");
    let batches = stored_batches(&broker, "small", 0);
    let numbers: Vec<(i16, i32)> = batches.iter().map(|&(_, epoch, sequence, _)| (epoch, sequence)).collect();
    assert_eq!(numbers, vec![(0, 0), (1, 0), (1, 1)], "epoch 1 starts at sequence 0");
    broker.stop().await;
}

/// The same for another permanent refusal: a keyless record on a compacted
/// topic (INVALID_RECORD) is followed by a keyed one, which goes in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_record_does_not_fail_the_next_one() {
    let broker = harness::start(|_| {}).await;
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(10)).await.unwrap();
    let mut topic = NewTopic::new("compacted");
    topic.configs.insert("cleanup.policy".into(), "compact".into());
    client.create_topics(&[topic], false).await.unwrap().remove(0).expect("topic created");
    let keyed = |k: &str| ProducerRecord { key: Some(Bytes::from(k.to_string())), ..value_of(10) };
    let records = vec![keyed("a"), value_of(10), keyed("b")];
    let answers = send_each_in_its_own_batch(&broker, "compacted", records).await;
    let offsets: Vec<Option<i64>> = answers.iter().map(|a| a.as_ref().ok().map(|m| m.offset)).collect();
    assert_eq!(offsets, vec![Some(0), None, Some(1)], "{answers:?}");
    let error = answers[1].as_ref().unwrap_err();
    assert_eq!(error.code(), Some(kafka_protocol::ResponseError::InvalidRecord), "{error}");
    broker.stop().await;
}
