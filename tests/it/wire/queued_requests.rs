//! `queued.max.request.bytes`: the memory for requests being read and handled,
//! shared by every connection. A connection the pool cannot serve is not read
//! until a request ahead of it has been handled (Kafka mutes it).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{CreateTopicsRequest, MetadataRequest, RequestHeader};
use kafka_protocol::protocol::{Encodable, Request, StrBytes};

use crate::wire::harness::{name, start, Client, CREATE_TOPICS_V, METADATA_V, READ_TIMEOUT};
use crate::wire::requests::creatable;

/// A request frame padded to about `bytes` by a long client id.
fn padded_frame<R: Request>(version: i16, correlation_id: i32, body: &R, bytes: usize) -> Bytes {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string("c".repeat(bytes))));
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0; 4]);
    header.encode(&mut buf, R::header_version(version)).expect("encode header");
    body.encode(&mut buf, version).expect("encode body");
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

/// With room for one big request only, a second connection's request waits,
/// unread, until the first connection's request — sent half, paused, then
/// finished — has been handled. The proof is what the second request sees:
/// it asks for the topic the first creates, and finds it.
#[tokio::test]
async fn a_connection_waits_unread_while_the_pool_is_full() {
    let broker = start(|c| {
        c.queued_max_request_bytes = Some(2_000);
        c.auto_create_topics = false;
    })
    .await;
    let pool = broker.broker().request_pool.clone().expect("queued.max.request.bytes is set");
    let create = CreateTopicsRequest::default()
        .with_topics(vec![creatable("queued", 1, -1, &[])])
        .with_timeout_ms(5_000);
    let create = padded_frame(CREATE_TOPICS_V, 1, &create, 1_200);
    let mut first = Client::connect(broker.addr).await;
    first.write(&create[..100]).await;
    // The first connection has its size prefix read and its bytes reserved.
    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
    while pool.available_bytes() == 2_000 {
        assert!(tokio::time::Instant::now() < deadline, "the first request never reserved its bytes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let topic = MetadataRequestTopic::default().with_name(Some(name("queued")));
    let metadata =
        MetadataRequest::default().with_topics(Some(vec![topic])).with_allow_auto_topic_creation(false);
    let mut second = Client::connect(broker.addr).await;
    second.write(&padded_frame(METADATA_V, 1, &metadata, 1_200)).await;
    // Without the pool the second request is answered now, before the topic
    // exists; with it, no pause is long enough for that.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.write(&create[100..]).await;
    let created = first.receive::<CreateTopicsRequest>(CREATE_TOPICS_V, 1).await;
    assert_eq!(created.topics[0].error_code, 0, "{:?}", created.topics[0].error_message);
    let seen = second.receive::<MetadataRequest>(METADATA_V, 1).await;
    assert_eq!(seen.topics[0].error_code, 0, "the second request was handled before the first");
    assert_eq!(pool.available_bytes(), 2_000, "every reservation is returned");
}
