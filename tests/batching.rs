//! Chapter 4 on the broker's side, over real TCP: end-to-end compression. A
//! batch is stored as the producer compressed it when the topic's
//! `compression.type` is `producer` or the same codec, re-encoded when the
//! topic names another, and refused when its records are not fit for the log
//! (Kafka's `LogValidator`).
//!
//! ```text
//! cargo test --release --test batching
//! ```

#[allow(dead_code)]
#[path = "wire/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "wire/requests.rs"]
mod requests;

use bytes::Bytes;
use kafka_protocol::messages::ProduceRequest;
use kafka_protocol::ResponseError;
use spool::log::{BatchBuilder, Compression, RecordBatch};

use harness::{code, start};
use requests::{create_topic, fetch, fetched_values, produce, produce_request};

/// One batch of `values` keyed `k0`, `k1`, … compressed with `codec`.
fn batch(codec: Compression, values: &[&str]) -> Bytes {
    let mut builder = BatchBuilder::new(codec).producer(7, 0, 0);
    for (i, v) in values.iter().enumerate() {
        builder.append(
            1_700_000_000_000 + i as i64,
            Some(format!("k{i}").as_bytes()),
            Some(v.as_bytes()),
            &[],
        );
    }
    builder.build().as_bytes().clone()
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
