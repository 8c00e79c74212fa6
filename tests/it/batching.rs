//! Chapter 4 on the broker's side, over real TCP: end-to-end compression. A
//! batch is stored as the producer compressed it when the topic's
//! `compression.type` is `producer` or the same codec, re-encoded when the
//! topic names another, and refused when its records are not fit for the log
//! (Kafka's `LogValidator`).
//!
//! ```text
//! cargo test --release --test it batching::
//! ```

use crate::common::batches;
use crate::wire::harness;
use crate::wire::requests;

use bytes::Bytes;
use kafka_protocol::messages::ProduceRequest;
use kafka_protocol::ResponseError;
use spool::format::{BatchBuilder, Compression, RecordBatch};
use spool::TopicPartition;

use batches::keyed_batch;
use harness::{code, start};
use requests::{create_topic, fetch, fetched_values, produce, produce_request};

/// One batch of `values` keyed `k0`, `k1`, … compressed with `codec`, from
/// producer 7 (epoch 0, sequence 0).
fn batch(codec: Compression, values: &[&str]) -> Bytes {
    keyed_batch(BatchBuilder::new(codec).producer(7, 0, 0), one_ms_apart, values)
}

/// One batch of `values` without a producer id: a producer that is not
/// idempotent, so the same bytes may be appended again and again (an
/// idempotent producer's repeats are duplicates since chapter 8).
fn plain_batch(codec: Compression, values: &[&str]) -> Bytes {
    keyed_batch(BatchBuilder::new(codec), one_ms_apart, values)
}

/// The `i`-th record's timestamp: one millisecond after the one before.
fn one_ms_apart(i: usize) -> i64 {
    1_700_000_000_000 + i as i64
}

/// The codec of every batch in fetched bytes.
fn codecs(records: &Bytes) -> Vec<Compression> {
    let mut out = Vec::new();
    let mut rest = records.clone();
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).expect("whole batches");
        out.push(batch.compression().expect("a known codec"));
        rest = tail;
    }
    out
}

/// `compression.type=producer` (the default) stores each batch with the
/// producer's codec, byte for byte; a topic naming another codec stores the
/// same records re-encoded with it, keeping the producer id.
#[tokio::test]
async fn the_topic_codec_decides_what_is_stored() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "as-sent", 1, &[]).await;
    create_topic(&mut client, "lz4-topic", 1, &[("compression.type", "lz4")]).await;
    create_topic(&mut client, "plain-topic", 1, &[("compression.type", "uncompressed")]).await;
    let gzip = batch(Compression::Gzip, &["a", "b", "c"]);
    let values = vec![(0, "a".to_string()), (1, "b".to_string()), (2, "c".to_string())];
    for (topic, stored) in
        [("as-sent", Compression::Gzip), ("lz4-topic", Compression::Lz4), ("plain-topic", Compression::None)]
    {
        let produced = produce(&mut client, topic, 0, gzip.clone(), 1).await;
        assert_eq!(produced.error_code, 0, "{topic}");
        let data = fetch(&mut client, topic, 0, 0).await;
        let records = data.records.expect("records");
        assert_eq!(codecs(&records), vec![stored], "{topic}");
        assert_eq!(fetched_values(&records), values, "{topic}");
        let (stored_batch, _) = RecordBatch::parse(&records).unwrap();
        assert_eq!(stored_batch.producer_id(), 7, "{topic}: the producer id survives re-encoding");
        if stored == Compression::Gzip {
            // Past the two fields the broker owns: base offset and leader epoch.
            assert_eq!(records[16..], gzip[16..], "stored as sent");
        }
    }
}

/// The broker's own `compression.type` is every topic's default.
#[tokio::test]
async fn the_broker_compression_type_is_the_default() {
    let broker =
        start(|c| c.compression_type = spool::log::validator::TopicCompression::Codec(Compression::Zstd))
            .await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    assert_eq!(produce(&mut client, "t", 0, batch(Compression::Snappy, &["x"]), 1).await.error_code, 0);
    let records = fetch(&mut client, "t", 0, 0).await.records.expect("records");
    assert_eq!(codecs(&records), vec![Compression::Zstd]);
}

/// Records the log must not take are refused with Kafka's codes, and nothing
/// is appended: a keyless record on a compacted topic (INVALID_RECORD), zstd
/// in a Produce older than v7 (UNSUPPORTED_COMPRESSION_TYPE, KIP-110).
#[tokio::test]
async fn unfit_records_are_refused() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "compacted", 1, &[("cleanup.policy", "compact")]).await;
    let mut keyless = BatchBuilder::new(Compression::Gzip);
    keyless.append(1, Some(b"k"), Some(b"v"), &[]).append(2, None, Some(b"no key"), &[]);
    let refused = produce(&mut client, "compacted", 0, keyless.build().as_bytes().clone(), 1).await;
    assert_eq!(refused.error_code, code(ResponseError::InvalidRecord));
    assert_eq!(
        produce(&mut client, "compacted", 0, batch(Compression::Gzip, &["keyed"]), 1).await.base_offset,
        0
    );

    create_topic(&mut client, "z", 1, &[]).await;
    let v3: ProduceRequest = produce_request("z", 0, batch(Compression::Zstd, &["z"]), 1);
    let response = client.request(3, &v3).await;
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(partition.error_code, code(ResponseError::UnsupportedCompressionType));
    assert_eq!(
        produce(&mut client, "z", 0, batch(Compression::Zstd, &["z"]), 1).await.base_offset,
        0,
        "v9 may"
    );
}

/// A topic without its own `cleanup.policy` takes the broker's: with
/// `log.cleanup.policy=compact` every topic is compacted, and a keyless
/// record is refused there too (INVALID_RECORD), as Kafka's LogValidator
/// judges by the topic's effective config.
#[tokio::test]
async fn the_broker_cleanup_policy_is_the_default() {
    let broker = start(|c| c.log.cleanup_compact = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let mut keyless = BatchBuilder::new(Compression::None);
    keyless.append(1, None, Some(b"no key"), &[]);
    let refused = produce(&mut client, "t", 0, keyless.build().as_bytes().clone(), 1).await;
    assert_eq!(refused.error_code, code(ResponseError::InvalidRecord));
}

/// spool's consumer: `assign` two partitions of two topics, `poll` hands out
/// every record once, in offset order within each partition, decompressed from
/// whatever codec each batch carries; `seek` rewinds; a position off the log
/// is reset by `auto.offset.reset`; `latest` starts at the end.
#[tokio::test]
async fn the_consumer_reads_assigned_partitions_in_offset_order() {
    use spool::client::{Consumer, ConsumerConfig, OffsetReset};
    use std::time::Duration;

    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "a", 2, &[]).await;
    create_topic(&mut client, "b", 1, &[]).await;
    let codecs =
        [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];
    let mut expected: std::collections::BTreeMap<TopicPartition, Vec<String>> = Default::default();
    for (i, codec) in codecs.iter().enumerate() {
        for (topic, partition) in [("a", 0), ("a", 1), ("b", 0)] {
            let values: Vec<String> = (0..10).map(|r| format!("{topic}{partition}-{i}-{r}")).collect();
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            assert_eq!(
                produce(&mut client, topic, partition, plain_batch(*codec, &refs), 1).await.error_code,
                0
            );
            expected.entry(TopicPartition::new(topic, partition)).or_default().extend(values);
        }
    }
    let config = ConsumerConfig { auto_offset_reset: OffsetReset::Earliest, ..ConsumerConfig::default() };
    let mut consumer = Consumer::connect(&broker.addr.to_string(), config).await.expect("connect");
    consumer.assign([TopicPartition::new("a", 0), TopicPartition::new("a", 1), TopicPartition::new("b", 0)]);
    let mut got: std::collections::BTreeMap<TopicPartition, Vec<(i64, String)>> = Default::default();
    while got.values().map(Vec::len).sum::<usize>() < 150 {
        let records = consumer.poll(Duration::from_secs(5)).await.expect("poll");
        assert!(!records.is_empty(), "records were waiting");
        for r in records {
            let value = String::from_utf8(r.record.value.unwrap().to_vec()).unwrap();
            got.entry(TopicPartition::new(r.topic, r.partition)).or_default().push((r.record.offset, value));
        }
    }
    for (tp, values) in &expected {
        let offsets: Vec<i64> = (0..values.len() as i64).collect();
        let (got_offsets, got_values): (Vec<i64>, Vec<String>) = got[tp].iter().cloned().unzip();
        assert_eq!((&got_offsets, &got_values), (&offsets, values), "{tp}");
    }
    assert_eq!(consumer.position("a", 1), Some(50));

    // seek: mid-batch, within a compressed batch (the records before are skipped).
    consumer.seek("a", 1, 23).unwrap();
    consumer.assign([TopicPartition::new("a", 1)]);
    let records = consumer.poll(Duration::from_secs(5)).await.unwrap();
    assert_eq!(records.first().map(|r| r.record.offset), Some(23));
    assert_eq!(records.last().map(|r| r.record.offset), Some(49));
    assert!(consumer.seek("b", 0, 0).is_err(), "b-0 is no longer assigned");

    // Off the log: reset to earliest (auto.offset.reset), then read from 0.
    consumer.seek("a", 1, 10_000).unwrap();
    let records = consumer.poll(Duration::from_secs(5)).await.unwrap();
    assert_eq!(records.first().map(|r| r.record.offset), Some(0));

    // latest: nothing old; a record produced while polling arrives (long poll).
    let mut latest = Consumer::connect(&broker.addr.to_string(), ConsumerConfig::default()).await.unwrap();
    latest.assign([TopicPartition::new("b", 0)]);
    assert!(latest.poll(Duration::from_millis(200)).await.unwrap().is_empty());
    assert_eq!(latest.position("b", 0), Some(50));
    let producer = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        produce(&mut client, "b", 0, plain_batch(Compression::Lz4, &["late"]), 1).await
    };
    let (records, produced) = tokio::join!(latest.poll(Duration::from_secs(10)), producer);
    assert_eq!(produced.base_offset, 50);
    let records = records.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].record.value.as_deref(), Some(&b"late"[..]));
}
