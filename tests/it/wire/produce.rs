//! Produce: acks, offsets, and the batches the broker refuses.

use bytes::BytesMut;
use kafka_protocol::messages::ApiVersionsRequest;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;

use crate::wire::harness::{code, start, API_VERSIONS_V, PRODUCE_V};
use crate::wire::requests::{
    assert_still_serving, batch, create_topic, fetch, fetched_values, list_offset, produce, produce_request,
};

/// Produce with acks=1 and acks=-1 answers each partition with the base offset
/// its batch was given; offsets continue across requests (one broker: both acks
/// mean "the leader has it", chapter 6 makes them differ).
#[tokio::test]
async fn produce_acks_one_and_all_return_offsets() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "orders", 1, &[]).await;
    let first = produce(&mut client, "orders", 0, batch(now_ms(), &["a", "b", "c"]), 1).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    assert_eq!(first.log_append_time_ms, -1, "CreateTime topic");
    let second = produce(&mut client, "orders", 0, batch(now_ms(), &["d", "e"]), -1).await;
    assert_eq!((second.error_code, second.base_offset), (0, 3));
    assert_eq!(list_offset(&mut client, "orders", 0, -1).await.offset, 5);
}

/// Produce with acks=0 gets no response at all: the client does not read one,
/// so the next frame on the connection answers the next request.
#[tokio::test]
async fn produce_acks_zero_gets_no_response() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "fire-and-forget", 1, &[]).await;
    client.send(PRODUCE_V, &produce_request("fire-and-forget", 0, batch(now_ms(), &["x"]), 0)).await;
    let next = client.send(API_VERSIONS_V, &ApiVersionsRequest::default()).await;
    let response = client.receive::<ApiVersionsRequest>(API_VERSIONS_V, next).await;
    assert_eq!(response.error_code, 0);
    // The record was appended all the same (requests are handled in order).
    let data = fetch(&mut client, "fire-and-forget", 0, 0).await;
    assert_eq!(fetched_values(&data.records.unwrap()), vec![(0, "x".to_string())]);
}

/// A failed produce with acks=0 closes the connection: the client reads no
/// response, so a close is the only error it can notice (Kafka's KafkaApis does
/// the same, and the producer then refreshes its metadata).
#[tokio::test]
async fn a_failed_acks_zero_produce_closes_the_connection() {
    let broker = start(|c| c.auto_create_topics = false).await;
    let mut client = broker.client().await;
    client.send(PRODUCE_V, &produce_request("missing", 0, batch(now_ms(), &["x"]), 0)).await;
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// `acks` other than -1, 0 or 1 is INVALID_REQUIRED_ACKS (21) for every
/// partition, and nothing is appended.
#[tokio::test]
async fn acks_outside_minus_one_to_one_is_invalid_required_acks() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "strict", 1, &[]).await;
    let response = produce(&mut client, "strict", 0, batch(now_ms(), &["x"]), 2).await;
    assert_eq!(response.error_code, code(ResponseError::InvalidRequiredAcks));
    assert_eq!(list_offset(&mut client, "strict", 0, -1).await.offset, 0);
}

/// In durable mode (every acknowledged append fsynced first, through group
/// commit) concurrent producers on several connections all get their offsets:
/// the blocking fsync wait runs off the async threads and every ack arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_mode_acknowledges_concurrent_producers() {
    let broker = start(|c| c.log.flush_before_ack = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "fsynced", 1, &[]).await;
    let mut producers = Vec::new();
    for p in 0..4 {
        let mut client = broker.client().await;
        producers.push(tokio::spawn(async move {
            let mut offsets = Vec::new();
            for i in 0..10 {
                let r = produce(&mut client, "fsynced", 0, batch(now_ms(), &[&format!("{p}.{i}")]), -1).await;
                assert_eq!(r.error_code, 0);
                offsets.push(r.base_offset);
            }
            offsets
        }));
    }
    let mut offsets = Vec::new();
    for p in producers {
        offsets.extend(p.await.expect("producer task"));
    }
    offsets.sort();
    assert_eq!(offsets, (0..40).collect::<Vec<i64>>(), "each append got its own offset");
}

/// A batch whose bytes no longer match its CRC-32C is refused with
/// CORRUPT_MESSAGE (2) and nothing is appended — Kafka's LogValidator checks the
/// CRC of every batch a producer sends.
#[tokio::test]
async fn a_corrupt_batch_is_refused_and_not_appended() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "fragile", 1, &[]).await;
    let good = batch(now_ms(), &["one", "two"]);
    let mut bad = BytesMut::from(&good[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0x40; // inside the records, under the CRC
    let response = produce(&mut client, "fragile", 0, bad.freeze(), 1).await;
    assert_eq!(response.error_code, code(ResponseError::CorruptMessage));
    assert_eq!(response.base_offset, -1);
    assert_eq!(list_offset(&mut client, "fragile", 0, -1).await.offset, 0, "nothing appended");
    // The good batch after it lands at offset 0.
    assert_eq!(produce(&mut client, "fragile", 0, good, 1).await.base_offset, 0);
}

/// A batch larger than the topic's `max.message.bytes` is refused with
/// MESSAGE_TOO_LARGE (10), and nothing is appended.
#[tokio::test]
async fn a_batch_above_max_message_bytes_is_refused() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "small", 1, &[("max.message.bytes", "256")]).await;
    let big = "x".repeat(300);
    let response = produce(&mut client, "small", 0, batch(now_ms(), &[&big]), 1).await;
    assert_eq!(response.error_code, code(ResponseError::MessageTooLarge));
    assert_eq!(list_offset(&mut client, "small", 0, -1).await.offset, 0);
    assert_eq!(produce(&mut client, "small", 0, batch(now_ms(), &["fits"]), 1).await.error_code, 0);
}

/// Produce never creates topics (in Kafka, only Metadata auto-creates): to a
/// missing topic it answers UNKNOWN_TOPIC_OR_PARTITION (3).
#[tokio::test]
async fn produce_to_a_missing_topic_is_unknown_topic_or_partition() {
    let broker = start(|c| c.auto_create_topics = false).await;
    let mut client = broker.client().await;
    let response = produce(&mut client, "nowhere", 0, batch(now_ms(), &["lost"]), 1).await;
    assert_eq!(response.error_code, code(ResponseError::UnknownTopicOrPartition));
    create_topic(&mut client, "somewhere", 1, &[]).await;
    let response = produce(&mut client, "somewhere", 5, batch(now_ms(), &["lost"]), 1).await;
    assert_eq!(response.error_code, code(ResponseError::UnknownTopicOrPartition), "no partition 5");
}
