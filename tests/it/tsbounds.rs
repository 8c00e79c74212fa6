//! KIP-937's timestamp bounds against a broker in the test's process, with
//! raw Produce requests: on a CreateTime topic a batch holding a record
//! stamped further from the broker's clock than `message.timestamp.before.max.ms`
//! (into the past) or `message.timestamp.after.max.ms` (into the future)
//! allows is refused with INVALID_TIMESTAMP, each such record named in
//! `record_errors` (KIP-467), and nothing of it is appended — as Kafka's
//! `LogValidator.validateTimestamp` refuses it. The bounds come from the
//! topic, else the broker's dynamic default, else its static config, and an
//! altered value applies to the next produce. Timestamps are fixed relative
//! to the test's clock, hours from either bound, so no timing matters.
//!
//! ```text
//! cargo test --test it tsbounds::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::client::admin::CONFIG_SOURCE_TOPIC;
use spool::client::configs::{AlterConfigOp, ConfigResource};
use spool::format::BatchBuilder;

use harness::{code, start, TestBroker};
use requests::{create_topic, list_offset, produce};

/// ListOffsets' timestamp for the log end offset.
const LATEST: i64 = -1;
const HOUR_MS: i64 = 3_600_000;

/// One record per timestamp, keyed `k0`, `k1`, ….
fn stamped(timestamps: &[i64]) -> Bytes {
    let mut builder = BatchBuilder::default();
    for (i, timestamp) in timestamps.iter().enumerate() {
        builder.append(*timestamp, Some(format!("k{i}").as_bytes()), Some(b"v"), &[]);
    }
    builder.build().as_bytes().clone()
}

async fn admin(broker: &TestBroker) -> spool::client::Client {
    spool::client::Client::connect(&broker.addr.to_string(), Duration::from_secs(10))
        .await
        .expect("admin client")
}

/// The value DescribeConfigs reports for `key` of `topic`, and whether it is the topic's own.
async fn described(admin: &mut spool::client::Client, topic: &str, key: &str) -> (String, bool) {
    let configs = admin.topic_configs(topic).await.expect("DescribeConfigs");
    let entry = configs.into_iter().find(|c| c.name == key).unwrap_or_else(|| panic!("{key} described"));
    (entry.value.unwrap_or_default(), entry.source == CONFIG_SOURCE_TOPIC)
}

/// A topic created with `message.timestamp.before.max.ms` = one hour refuses
/// a batch whose second record is stamped two hours ago: INVALID_TIMESTAMP,
/// `record_errors` naming record 1 with Kafka's message, nothing appended.
/// IncrementalAlterConfigs raising the bound to three hours makes the same
/// batch acceptable at once; DescribeConfigs shows each value as the topic's.
#[tokio::test]
async fn a_record_older_than_before_max_ms_is_refused_until_the_bound_is_raised() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "bounded", 1, &[("message.timestamp.before.max.ms", "3600000")]).await;
    let mut admin = admin(&broker).await;
    let key = "message.timestamp.before.max.ms";
    assert_eq!(described(&mut admin, "bounded", key).await, ("3600000".to_string(), true));

    let two_hours_ago = now_ms() - 2 * HOUR_MS;
    let batch = stamped(&[now_ms(), two_hours_ago, now_ms()]);
    let refused = produce(&mut client, "bounded", 0, batch.clone(), 1).await;
    assert_eq!(refused.error_code, code(ResponseError::InvalidTimestamp));
    let named: Vec<i32> = refused.record_errors.iter().map(|e| e.batch_index).collect();
    assert_eq!(named, vec![1], "only the two-hour-old record");
    let message = refused.record_errors[0].batch_index_error_message.as_ref().expect("a message").to_string();
    assert!(
        message.starts_with(&format!("Timestamp {two_hours_ago} of message with offset 1 is out of range"))
    );
    assert_eq!(list_offset(&mut client, "bounded", 0, LATEST).await.offset, 0, "nothing appended");

    let raise = [AlterConfigOp::set(key, (3 * HOUR_MS).to_string())];
    admin.incremental_alter_configs(&ConfigResource::topic("bounded"), &raise, false).await.expect("alter");
    assert_eq!(described(&mut admin, "bounded", key).await, ("10800000".to_string(), true));
    let accepted = produce(&mut client, "bounded", 0, batch, 1).await;
    assert_eq!((accepted.error_code, accepted.base_offset), (0, 0));
    broker.stop().await;
}

/// The broker's static `log.message.timestamp.difference.max.ms` bounds a
/// topic with no override both ways (the deprecated key stands in for the
/// two new ones, KIP-937): a record an hour in the future is refused. A
/// dynamic cluster-wide `log.message.timestamp.after.max.ms` of two hours
/// then takes precedence for the future side, and the same batch is accepted;
/// the past side still follows the static difference. DescribeConfigs
/// shows the topic the broker's value.
#[tokio::test]
async fn broker_defaults_bound_topics_without_overrides() {
    let broker = start(|c| {
        c.log.set("log.message.timestamp.difference.max.ms", "60000").expect("a broker key");
    })
    .await;
    let mut client = broker.client().await;
    create_topic(&mut client, "plain", 1, &[]).await;
    let mut admin = admin(&broker).await;
    let key = "message.timestamp.difference.max.ms";
    assert_eq!(described(&mut admin, "plain", key).await, ("60000".to_string(), false), "the broker's value");
    let future = stamped(&[now_ms() + HOUR_MS]);
    let refused = produce(&mut client, "plain", 0, future.clone(), 1).await;
    assert_eq!(refused.error_code, code(ResponseError::InvalidTimestamp));
    assert_eq!(refused.record_errors.iter().map(|e| e.batch_index).collect::<Vec<_>>(), vec![0]);

    let ops = [AlterConfigOp::set("log.message.timestamp.after.max.ms", (2 * HOUR_MS).to_string())];
    admin.incremental_alter_configs(&ConfigResource::broker(""), &ops, false).await.expect("dynamic default");
    assert_eq!(produce(&mut client, "plain", 0, future, 1).await.error_code, 0);
    let past = produce(&mut client, "plain", 0, stamped(&[now_ms() - HOUR_MS]), 1).await;
    assert_eq!(past.error_code, code(ResponseError::InvalidTimestamp), "the past is still bounded");
    broker.stop().await;
}

/// A LogAppendTime topic takes any producer timestamp, however far off,
/// whatever its bounds: the broker stamps the batch itself.
#[tokio::test]
async fn log_append_time_topics_are_not_bounded() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let configs = [("message.timestamp.type", "LogAppendTime"), ("message.timestamp.before.max.ms", "0")];
    create_topic(&mut client, "stamped", 1, &configs).await;
    let accepted = produce(&mut client, "stamped", 0, stamped(&[now_ms() - 10 * HOUR_MS]), 1).await;
    assert_eq!(accepted.error_code, 0);
    broker.stop().await;
}
