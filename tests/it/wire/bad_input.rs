//! Bad input: one connection misbehaves, the broker serves the others.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, MetadataRequest};
use spool::broker::now_ms;
use tokio::io::AsyncWriteExt;

use crate::wire::harness::{request_frame, start, API_VERSIONS_V, FETCH_V, METADATA_V, PRODUCE_V};
use crate::wire::requests::{
    assert_still_serving, batch, create_topic, fetch, fetch_request, fetched_values, produce, produce_request,
};

/// A client that sends part of a frame and then closes its side is dropped;
/// nothing of its half-request is acted on, and others are served.
#[tokio::test]
async fn a_truncated_frame_then_close_is_dropped() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let frame = request_frame(PRODUCE_V, 1, &produce_request("half", 0, batch(now_ms(), &["half"]), 1));
    client.write(&frame[..frame.len() / 2]).await;
    client.stream.shutdown().await.expect("half-close");
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// Bytes that are not Kafka frames — an HTTP request, whose first four bytes
/// read as a size of ~1.2 GB — close the connection without an allocation of
/// that size (a size above `socket.request.max.bytes` is not a request).
#[tokio::test]
async fn an_http_request_closes_the_connection() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    client.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    client.expect_closed().await;
    // A negative size is garbage too.
    let mut client = broker.client().await;
    client.write(&(-5i32).to_be_bytes()).await;
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// A frame whose size prefix exceeds `socket.request.max.bytes` closes the
/// connection as soon as the prefix arrives: the broker does not wait for (or
/// buffer) the body — here it is never sent, and the close comes anyway.
#[tokio::test]
async fn a_frame_above_socket_request_max_bytes_is_refused_unread() {
    let broker = start(|c| c.socket_request_max_bytes = 4_096).await;
    let mut client = broker.client().await;
    client.write(&100_000i32.to_be_bytes()).await;
    client.write(&[0u8; 100]).await; // a little of the body, far from all of it
    client.expect_closed().await;
    // Under the limit is a request; over it, even a well-formed one, is not.
    assert_still_serving(&broker).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "near-limit", 1, &[]).await;
    let request = produce_request("near-limit", 0, batch(now_ms(), &[&"y".repeat(3_000)]), 1);
    assert!(request_frame(PRODUCE_V, 1, &request).len() - 4 <= 4_096);
    assert_eq!(client.request(PRODUCE_V, &request).await.responses[0].partition_responses[0].error_code, 0);
    let too_big = produce_request("near-limit", 0, batch(now_ms(), &[&"y".repeat(5_000)]), 1);
    client.send(PRODUCE_V, &too_big).await;
    client.expect_closed().await;
}

/// An API key Kafka does not define closes the connection (Kafka cannot parse
/// the header, so it cannot answer).
#[tokio::test]
async fn an_unknown_api_key_closes_the_connection() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let mut frame = BytesMut::new();
    frame.put_i32(10);
    frame.put_i16(9_999);
    frame.put_i16(0);
    frame.put_i32(1);
    frame.put_i16(-1); // null client id
    client.write(&frame).await;
    client.expect_closed().await;
    // A key Kafka defines but spool does not implement (DescribeDelegationToken:
    // spool has no delegation tokens) too.
    let mut client = broker.client().await;
    let tokens = kafka_protocol::messages::DescribeDelegationTokenRequest::default();
    client.send(1, &tokens).await;
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// A version of a known API outside the range spool advertised closes the
/// connection (only ApiVersions gets an answer at an unknown version, KIP-511).
#[tokio::test]
async fn an_unsupported_version_of_a_known_api_closes_the_connection() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    // Metadata v13 is valid Kafka, but beyond the v12 spool lists.
    client.send(13, &MetadataRequest::default()).await;
    client.expect_closed().await;
    let mut client = broker.client().await;
    // Fetch v1 is older than spool's oldest (v2).
    let mut frame = BytesMut::new();
    frame.put_i32(10);
    frame.put_i16(ApiKey::Fetch as i16);
    frame.put_i16(1);
    frame.put_i32(1);
    frame.put_i16(-1);
    client.write(&frame).await;
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// A client that vanishes — mid-frame, or while its long-polling fetch is
/// parked — costs the broker nothing: the fetch's late response goes nowhere
/// and other connections are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_mid_request_is_forgotten() {
    let broker = start(|_| {}).await;
    let mut setup = broker.client().await;
    create_topic(&mut setup, "abandoned", 1, &[]).await;
    {
        let mut client = broker.client().await;
        let frame = request_frame(METADATA_V, 1, &MetadataRequest::default());
        client.write(&frame[..6]).await;
    } // dropped: the socket closes with the frame unfinished
    {
        let mut client = broker.client().await;
        client.send(FETCH_V, &fetch_request("abandoned", 0, 0, 1_000, 1)).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    } // dropped while the fetch waits
    assert_still_serving(&broker).await;
    // The parked fetch wakes on this append and writes to a closed socket.
    produce(&mut setup, "abandoned", 0, batch(now_ms(), &["for nobody"]), 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_still_serving(&broker).await;
}

/// 200 idle connections, all open at once, do not stop another client from
/// producing and fetching (one task per connection; an idle one just waits).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_idle_connections_do_not_block_a_busy_one() {
    let broker = start(|_| {}).await;
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(broker.client().await);
    }
    let mut client = broker.client().await;
    create_topic(&mut client, "busy", 1, &[]).await;
    for i in 0..20 {
        let produced = produce(&mut client, "busy", 0, batch(now_ms(), &[&format!("v{i}")]), 1).await;
        assert_eq!((produced.error_code, produced.base_offset), (0, i));
    }
    let data = fetch(&mut client, "busy", 0, 0).await;
    assert_eq!(fetched_values(&data.records.unwrap()).len(), 20);
    // The idle ones are still open and still served.
    for c in idle.iter_mut().step_by(40) {
        assert_eq!(c.request(API_VERSIONS_V, &ApiVersionsRequest::default()).await.error_code, 0);
    }
}
