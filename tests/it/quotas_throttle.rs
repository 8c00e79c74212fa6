//! Issue 19's throttling on one broker (KIP-219): a producer with a
//! `producer_byte_rate` quota moves its bytes at that rate while a client id
//! without one, on the same broker at the same time, is never throttled; a
//! consumer over its `consumer_byte_rate` gets Kafka's empty throttled fetch.
//!
//! ```text
//! cargo build && cargo test --test it quotas_throttle::
//! ```
//!
//! No timing is asserted beyond the quota itself: the rate is the run's
//! bytes over the run's own measured time.

use crate::wire::harness;
use crate::wire::requests;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::FetchRequest;
use spool::client::client_quotas::{EntityName, QuotaEntity};
use spool::client::connection::Connection;
use spool::format::BatchBuilder;

use harness::{start, TestBroker};
use requests::{create_topic, produce_request};

const TIMEOUT: Duration = Duration::from_secs(30);

fn batch(value_bytes: usize) -> Bytes {
    let mut builder = BatchBuilder::default();
    builder.append(0, None, Some(&vec![b'x'; value_bytes]), &[]);
    builder.build().as_bytes().clone()
}

async fn set_quota(broker: &TestBroker, client_id: &str, key: &str, value: f64) {
    let mut admin = spool::client::Client::connect(&broker.addr.to_string(), TIMEOUT).await.expect("admin");
    let entity = QuotaEntity::of(None, Some(EntityName::Name(client_id.to_string())));
    admin.alter_client_quotas(&entity, &[(key.to_string(), Some(value))], false).await.expect("quota set");
}

/// Produces `batch` back to back for `run`: (bytes, measured time, the
/// largest throttle_time_ms seen).
async fn produce_for(addr: &str, client_id: &str, batch: Bytes, run: Duration) -> (usize, Duration, i32) {
    let mut connection = Connection::connect_as(addr, TIMEOUT, client_id).await.expect("connect");
    let (started, mut bytes, mut throttle_max) = (Instant::now(), 0, 0);
    while started.elapsed() < run {
        let response = connection.send(&produce_request("t", 0, batch.clone(), 1)).await.expect("produce");
        let partition = &response.responses[0].partition_responses[0];
        assert_eq!(partition.error_code, 0);
        bytes += batch.len();
        throttle_max = throttle_max.max(response.throttle_time_ms);
    }
    (bytes, started.elapsed(), throttle_max)
}

/// `slow` (producer_byte_rate = 200 KB/s) produces for 11 s, inside the
/// quota's 11 one-second windows, and its bytes over its measured time are
/// the quota ±10%, with throttle_time_ms in its responses; `fast`, with no
/// quota, produces at the same time and never sees a throttle time.
#[tokio::test]
async fn a_quota_limited_producer_runs_at_its_byte_rate_beside_an_unlimited_one() {
    let broker = start(|_| {}).await;
    create_topic(&mut broker.client().await, "t", 1, &[]).await;
    let quota = 200_000.0;
    set_quota(&broker, "slow", "producer_byte_rate", quota).await;
    let addr = broker.addr.to_string();
    let run = Duration::from_secs(11);
    let fast = tokio::spawn({
        let addr = addr.clone();
        async move { produce_for(&addr, "fast", batch(4_000), run).await }
    });
    let (slow_bytes, slow_time, slow_throttle) = produce_for(&addr, "slow", batch(4_000), run).await;
    let (fast_bytes, _, fast_throttle) = fast.await.expect("fast producer");
    let rate = slow_bytes as f64 / slow_time.as_secs_f64();
    assert!((rate / quota - 1.0).abs() <= 0.10, "slow ran at {rate:.0} B/s against {quota} B/s");
    assert!(slow_throttle > 0, "slow saw no throttle_time_ms");
    assert_eq!(fast_throttle, 0, "fast has no quota");
    assert!(fast_bytes > 2 * slow_bytes, "fast moved {fast_bytes} B, slow {slow_bytes} B");
}

/// A consumer whose fetch takes it over its consumer_byte_rate is answered
/// as Kafka's `handleFetchRequest` answers it: no records, the throttle time
/// set (`FetchContext.getThrottledResponse`).
#[tokio::test]
async fn a_fetch_over_the_consumer_quota_is_empty_and_throttled() {
    let broker = start(|_| {}).await;
    create_topic(&mut broker.client().await, "t", 1, &[]).await;
    let addr = broker.addr.to_string();
    let mut producer = Connection::connect_as(&addr, TIMEOUT, "p").await.expect("connect");
    producer.send(&produce_request("t", 0, batch(50_000), 1)).await.expect("produce");
    set_quota(&broker, "c", "consumer_byte_rate", 1_000.0).await;
    let mut consumer = Connection::connect_as(&addr, TIMEOUT, "c").await.expect("connect");
    let fetch = requests::fetch_request("t", 0, 0, 0, 1);
    let first: kafka_protocol::messages::FetchResponse =
        consumer.send::<FetchRequest>(&fetch).await.expect("fetch");
    assert!(first.throttle_time_ms > 0, "50 KB against 1 KB/s must throttle");
    assert!(first.responses.iter().all(|t| t.partitions.is_empty()), "a throttled fetch carries no records");
}
