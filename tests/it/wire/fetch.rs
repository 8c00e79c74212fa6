//! Fetch and ListOffsets: the bytes a consumer reads back, long polling, and
//! finding an offset by position or timestamp.

use std::time::{Duration, Instant};

use kafka_protocol::messages::FetchRequest;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;

use crate::wire::harness::{code, start, FETCH_V};
use crate::wire::requests::{
    batch, create_topic, fetch, fetch_one, fetch_request, fetched_values, list_offset, produce,
};

/// Fetch returns the producer's bytes unchanged, except the two header fields
/// the broker owns — `baseOffset` and `partitionLeaderEpoch`, both outside the
/// CRC — so the CRC a producer computed is the one a consumer checks.
#[tokio::test]
async fn fetch_returns_exactly_the_produced_bytes() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "exact", 1, &[]).await;
    let batches = [batch(now_ms(), &["a", "b", "c"]), batch(now_ms(), &["d"])];
    for b in &batches {
        assert_eq!(produce(&mut client, "exact", 0, b.clone(), 1).await.error_code, 0);
    }
    let data = fetch(&mut client, "exact", 0, 0).await;
    assert_eq!((data.error_code, data.high_watermark, data.log_start_offset), (0, 4, 0));
    let records = data.records.expect("records");
    assert_eq!(records.len(), batches[0].len() + batches[1].len());
    let mut at = 0;
    for (b, base_offset) in batches.iter().zip([0i64, 3]) {
        let got = &records[at..at + b.len()];
        assert_eq!(&got[..8], &base_offset.to_be_bytes(), "baseOffset assigned by the broker");
        assert_eq!(&got[12..16], &0i32.to_be_bytes(), "partitionLeaderEpoch: the leader's epoch, 0");
        assert_eq!(&got[8..12], &b[8..12], "batchLength unchanged");
        assert_eq!(&got[16..], &b[16..], "magic, CRC and everything under it unchanged");
        at += b.len();
    }
    let values = fetched_values(&records);
    assert_eq!(
        values.iter().map(|(o, v)| format!("{o}:{v}")).collect::<Vec<_>>(),
        ["0:a", "1:b", "2:c", "3:d"]
    );
    // From the middle of a batch, the whole batch comes back (the consumer skips).
    let mid = fetch(&mut client, "exact", 0, 1).await;
    assert_eq!(mid.records.unwrap().len(), records.len());
}

/// A fetch at an offset past the log end offset answers OFFSET_OUT_OF_RANGE
/// (1), so the consumer applies its `auto.offset.reset`; at exactly the end it
/// is an empty, successful read.
#[tokio::test]
async fn fetch_past_the_end_is_offset_out_of_range() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "short", 1, &[]).await;
    produce(&mut client, "short", 0, batch(now_ms(), &["only"]), 1).await;
    let past = fetch(&mut client, "short", 0, 5).await;
    assert_eq!(past.error_code, code(ResponseError::OffsetOutOfRange));
    let at_end = fetch(&mut client, "short", 0, 1).await;
    assert_eq!(at_end.error_code, 0);
    assert!(at_end.records.unwrap_or_default().is_empty());
    assert_eq!(at_end.high_watermark, 1);
}

/// Long polling: a fetch that waits up to 5 s for 1 byte on an empty partition
/// is answered as soon as another connection produces — well before the 5 s —
/// and carries the new record (Kafka's delayed fetch, completed by the append).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_is_answered_when_another_connection_produces() {
    let broker = start(|_| {}).await;
    let mut consumer = broker.client().await;
    let mut producer = broker.client().await;
    create_topic(&mut producer, "waiting", 1, &[]).await;
    let started = Instant::now();
    let correlation_id = consumer.send(FETCH_V, &fetch_request("waiting", 0, 0, 5_000, 1)).await;
    // Let the fetch find nothing and park, then produce.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(produce(&mut producer, "waiting", 0, batch(now_ms(), &["wake up"]), 1).await.error_code, 0);
    let response = consumer.receive::<FetchRequest>(FETCH_V, correlation_id).await;
    let elapsed = started.elapsed();
    let data = fetch_one(response);
    assert_eq!(fetched_values(&data.records.unwrap()), vec![(0, "wake up".to_string())]);
    assert!(elapsed < Duration::from_secs(4), "woken by the append, not the 5 s deadline ({elapsed:?})");
}

/// A long poll with no data returns an empty response once `max_wait_ms` has
/// passed — not before (it waited), and not never.
#[tokio::test]
async fn a_long_poll_with_no_data_returns_empty_after_the_wait() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "quiet", 1, &[]).await;
    let started = Instant::now();
    let response = client.request(FETCH_V, &fetch_request("quiet", 0, 0, 200, 1)).await;
    let elapsed = started.elapsed();
    let data = fetch_one(response);
    assert_eq!(data.error_code, 0);
    assert!(data.records.unwrap_or_default().is_empty());
    assert!(elapsed >= Duration::from_millis(150), "answered after {elapsed:?}: it did not wait");
    assert!(elapsed < Duration::from_secs(4), "answered after {elapsed:?}");
}

/// ListOffsets: EARLIEST (-2) is the log start offset, LATEST (-1) the log end
/// offset, and a timestamp finds the first record at or after it (KIP-79); a
/// timestamp after every record gives offset -1.
#[tokio::test]
async fn list_offsets_earliest_latest_and_by_timestamp() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "timeline", 1, &[]).await;
    let t0 = now_ms() - 60_000;
    for (i, values) in [&["a", "b"][..], &["c"], &["d", "e", "f"]].iter().enumerate() {
        produce(&mut client, "timeline", 0, batch(t0 + 1_000 * i as i64, values), 1).await;
    }
    // Offsets: a b @ t0 (0, 1); c @ t0+1000 (2); d e f @ t0+2000 (3, 4, 5).
    assert_eq!(list_offset(&mut client, "timeline", 0, -2).await.offset, 0);
    assert_eq!(list_offset(&mut client, "timeline", 0, -1).await.offset, 6);
    let at = list_offset(&mut client, "timeline", 0, t0 + 500).await;
    assert_eq!((at.error_code, at.offset, at.timestamp), (0, 2, t0 + 1_000));
    let exact = list_offset(&mut client, "timeline", 0, t0 + 2_000).await;
    assert_eq!((exact.offset, exact.timestamp), (3, t0 + 2_000));
    assert_eq!(list_offset(&mut client, "timeline", 0, t0).await.offset, 0);
    let after = list_offset(&mut client, "timeline", 0, t0 + 10_000).await;
    assert_eq!((after.error_code, after.offset, after.timestamp), (0, -1, -1));
    let unknown = list_offset(&mut client, "no-such-topic", 0, -1).await;
    assert_eq!(unknown.error_code, code(ResponseError::UnknownTopicOrPartition));
}
