//! Issue 17's config APIs on one broker, end to end: IncrementalAlterConfigs
//! (KIP-339) and AlterConfigs change a live topic's configs through spool's
//! own admin client, the ConfigRecords are committed to the metadata log,
//! and the topic's logs and partitions take the new values at once — and
//! again after a restart.
//!
//! ```text
//! cargo test --test it alterconfigs::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::client::admin::CONFIG_SOURCE_TOPIC;
use spool::client::configs::{AlterConfigOp, ConfigOp, ConfigResource};
use spool::client::ClientError;
use spool::config::BrokerConfig;
use spool::format::BatchBuilder;

use harness::{start, start_in, TestBroker};
use requests::{create_topic, fetch, list_offset, produce};

const PATIENCE: Duration = Duration::from_secs(60);

/// Retention runs on every maintenance tick; the cleaner looks every 100 ms.
fn eager(config: &mut BrokerConfig) {
    config.retention_check_interval_ms = 0;
    config.cleaner.backoff_ms = 100;
}

async fn admin(broker: &TestBroker) -> spool::client::Client {
    spool::client::Client::connect(&broker.addr.to_string(), Duration::from_secs(10))
        .await
        .expect("admin client")
}

fn kafka_code(result: Result<(), ClientError>) -> Option<ResponseError> {
    match result {
        Ok(()) => None,
        Err(ClientError::Kafka { code, .. }) => Some(code),
        Err(other) => panic!("expected a Kafka error, got {other}"),
    }
}

/// One batch of keyed records, stamped `timestamp_ms`.
fn batch(timestamp_ms: i64, records: &[(&str, &str)]) -> Bytes {
    let mut builder = BatchBuilder::default();
    for (key, value) in records {
        builder.append(timestamp_ms, Some(key.as_bytes()), Some(value.as_bytes()), &[]);
    }
    builder.build().as_bytes().clone()
}

/// The topic's overrides as DescribeConfigs reports them.
async fn overrides(client: &mut spool::client::Client, topic: &str) -> Vec<(String, String)> {
    let configs = client.topic_configs(topic).await.expect("DescribeConfigs");
    (configs.into_iter())
        .filter(|c| c.source == CONFIG_SOURCE_TOPIC)
        .map(|c| (c.name, c.value.unwrap_or_default()))
        .collect()
}

/// A topic with rolled segments of hour-old records keeps them under the
/// default retention; `retention.ms` set to a minute on the live topic makes
/// the next retention run delete every expired sealed segment, so the log
/// start moves up (Kafka's time-based retention, "log.retention.ms").
#[tokio::test]
async fn retention_altered_on_a_live_topic_deletes_old_segments() {
    let broker = start(eager).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "events", 1, &[("segment.bytes", "200")]).await;
    let hour_ago = now_ms() - 3_600_000;
    for i in 0..10 {
        let value = format!("{i:0>60}");
        assert_eq!(
            produce(&mut client, "events", 0, batch(hour_ago, &[("k", &value)]), 1).await.error_code,
            0
        );
    }
    broker.broker().tick().expect("retention");
    assert_eq!(list_offset(&mut client, "events", 0, -2).await.offset, 0, "the default keeps them");

    let mut admin = admin(&broker).await;
    let retention = [AlterConfigOp::set("retention.ms", "60000")];
    admin
        .incremental_alter_configs(&ConfigResource::topic("events"), &retention, false)
        .await
        .expect("alter");
    broker.broker().tick().expect("retention");
    let start = list_offset(&mut client, "events", 0, -2).await.offset;
    assert!(start > 0, "old segments deleted: the log start is {start}");
    broker.stop().await;
}

/// `max.message.bytes` lowered on a live topic refuses a batch over it
/// (MESSAGE_TOO_LARGE, Kafka's produce check); DELETE returns the key to the
/// broker's default and the same batch is accepted. AlterConfigs, which
/// replaces the whole set, removes a key it does not name.
#[tokio::test]
async fn max_message_bytes_altered_then_deleted() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "sized", 1, &[]).await;
    let big = "x".repeat(3_000);
    let big_batch = || batch(now_ms(), &[("k", big.as_str())]);
    let mut admin = admin(&broker).await;
    let topic = ConfigResource::topic("sized");
    admin
        .incremental_alter_configs(&topic, &[AlterConfigOp::set("max.message.bytes", "1000")], false)
        .await
        .unwrap();
    let refused = produce(&mut client, "sized", 0, big_batch(), 1).await;
    assert_eq!(refused.error_code, ResponseError::MessageTooLarge.code());

    admin
        .incremental_alter_configs(&topic, &[AlterConfigOp::delete("max.message.bytes")], false)
        .await
        .unwrap();
    assert_eq!(produce(&mut client, "sized", 0, big_batch(), 1).await.error_code, 0);
    assert!(overrides(&mut admin, "sized").await.is_empty());

    let two = [("max.message.bytes".to_string(), "1000".to_string()), ("retention.ms".into(), "9000".into())];
    admin.alter_configs(&topic, &two, false).await.unwrap();
    admin.alter_configs(&topic, &two[1..], false).await.unwrap();
    assert_eq!(overrides(&mut admin, "sized").await, vec![("retention.ms".to_string(), "9000".to_string())]);
    assert_eq!(produce(&mut client, "sized", 0, big_batch(), 1).await.error_code, 0, "the limit is gone");
    broker.stop().await;
}

/// The offset `cleaner-offset-checkpoint` holds for `topic`-0, if any.
fn cleaner_checkpoint(log_dir: &Path, topic: &str) -> Option<i64> {
    let text = std::fs::read_to_string(log_dir.join("cleaner-offset-checkpoint")).ok()?;
    let prefix = format!("{topic} 0 ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|o| o.trim().parse().ok())
}

/// A `delete` topic holding many values per key is switched to
/// `cleanup.policy=compact` while live (APPEND, as `kafka-configs.sh
/// --add-config cleanup.policy=[compact]` does not; SET then SUBTRACT): the
/// cleaner starts considering its log and cleans it, so a fetch from 0 sees
/// fewer records (Kafka's "Log Compaction").
#[tokio::test]
async fn cleanup_policy_compact_switched_on_gets_cleaned() {
    let broker = start(eager).await;
    broker.broker().start_cleaner().unwrap();
    let log_dir = broker.broker().config.log_dir.clone();
    let mut client = broker.client().await;
    create_topic(&mut client, "table", 1, &[("segment.bytes", "300"), ("min.cleanable.dirty.ratio", "0.01")])
        .await;
    for round in 0..8 {
        let value = format!("v{round}");
        produce(&mut client, "table", 0, batch(now_ms(), &[("a", &value), ("b", &value)]), 1).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(cleaner_checkpoint(&log_dir, "table"), None, "a delete topic is not cleaned");

    let mut admin = admin(&broker).await;
    let topic = ConfigResource::topic("table");
    let append = [AlterConfigOp {
        name: "cleanup.policy".into(),
        op: ConfigOp::Append,
        value: Some("compact".into()),
    }];
    admin.incremental_alter_configs(&topic, &append, false).await.unwrap();
    let subtract = [AlterConfigOp {
        name: "cleanup.policy".into(),
        op: ConfigOp::Subtract,
        value: Some("delete".into()),
    }];
    admin.incremental_alter_configs(&topic, &subtract, false).await.unwrap();
    let now = overrides(&mut admin, "table").await;
    assert!(now.contains(&("cleanup.policy".into(), "compact".into())), "{now:?}");
    let deadline = Instant::now() + PATIENCE;
    while cleaner_checkpoint(&log_dir, "table").is_none() {
        assert!(Instant::now() < deadline, "the switched topic was never cleaned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let data = fetch(&mut client, "table", 0, 0).await;
    let mut count = 0;
    let mut rest = data.records.unwrap_or_default();
    while !rest.is_empty() {
        let (batch, tail) = spool::format::RecordBatch::parse(&rest).unwrap();
        count += batch.decode_records().unwrap().len();
        rest = tail;
    }
    assert!(count < 16, "cleaned: {count} of 16 records left");
    broker.stop().await;
}

/// An override survives a restart: the metadata log replays the
/// ConfigRecord, DescribeConfigs reports it, and the reopened partition
/// enforces it (MESSAGE_TOO_LARGE).
#[tokio::test]
async fn a_restart_keeps_the_override() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "kept", 1, &[]).await;
    let mut first = admin(&broker).await;
    let ops = [AlterConfigOp::set("max.message.bytes", "1000")];
    first.incremental_alter_configs(&ConfigResource::topic("kept"), &ops, false).await.unwrap();
    drop((client, first));
    let dir = broker.stop().await;

    let broker = start_in(dir, |_| {}).await;
    let mut admin = admin(&broker).await;
    assert_eq!(overrides(&mut admin, "kept").await, vec![("max.message.bytes".into(), "1000".into())]);
    let mut client = broker.client().await;
    let big = "x".repeat(3_000);
    let refused = produce(&mut client, "kept", 0, batch(now_ms(), &[("k", &big)]), 1).await;
    assert_eq!(refused.error_code, ResponseError::MessageTooLarge.code());
    broker.stop().await;
}

/// `validate_only` answers as the change would and changes nothing; bad
/// input is refused with Kafka's codes and changes nothing either: an
/// unknown topic (UNKNOWN_TOPIC_OR_PARTITION), an unknown key or bad value
/// (INVALID_CONFIG naming the key), APPEND on a non-list key
/// (INVALID_CONFIG), a static broker key (INVALID_REQUEST).
#[tokio::test]
async fn validate_only_and_bad_input_change_nothing() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let mut admin = admin(&broker).await;
    let topic = ConfigResource::topic("t");
    let set = [AlterConfigOp::set("retention.ms", "1000")];
    admin.incremental_alter_configs(&topic, &set, true).await.expect("a valid change validates");
    assert!(overrides(&mut admin, "t").await.is_empty(), "validate_only committed nothing");

    let unknown = admin.incremental_alter_configs(&ConfigResource::topic("nope"), &set, false).await;
    assert_eq!(kafka_code(unknown), Some(ResponseError::UnknownTopicOrPartition));
    let bad_key =
        admin.incremental_alter_configs(&topic, &[AlterConfigOp::set("retention.parsecs", "1")], false).await;
    match bad_key {
        Err(ClientError::Kafka { code: ResponseError::InvalidConfig, message: Some(m), .. }) => {
            assert!(m.contains("retention.parsecs"), "{m}")
        }
        other => panic!("expected INVALID_CONFIG, got {other:?}"),
    }
    let bad_value =
        admin.incremental_alter_configs(&topic, &[AlterConfigOp::set("retention.ms", "soon")], false).await;
    assert_eq!(kafka_code(bad_value), Some(ResponseError::InvalidConfig));
    let append =
        [AlterConfigOp { name: "retention.ms".into(), op: ConfigOp::Append, value: Some("1".into()) }];
    let append = admin.incremental_alter_configs(&topic, &append, false).await;
    assert_eq!(kafka_code(append), Some(ResponseError::InvalidConfig));
    let fixed = [AlterConfigOp::set("node.id", "7")];
    let fixed = admin.incremental_alter_configs(&ConfigResource::broker(""), &fixed, false).await;
    assert_eq!(kafka_code(fixed), Some(ResponseError::InvalidRequest));
    assert!(overrides(&mut admin, "t").await.is_empty());
    broker.stop().await;
}

/// A dynamic broker default (`log.retention.ms` on the cluster-wide
/// resource "") reaches a topic with no override of its own: its hour-old
/// sealed segments go at the next retention run (Kafka's `DynamicLogConfig`).
#[tokio::test]
async fn a_dynamic_broker_default_reaches_live_logs() {
    let broker = start(eager).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "plain", 1, &[("segment.bytes", "200")]).await;
    let hour_ago = now_ms() - 3_600_000;
    for i in 0..10 {
        let value = format!("{i:0>60}");
        produce(&mut client, "plain", 0, batch(hour_ago, &[("k", &value)]), 1).await;
    }
    let mut admin = admin(&broker).await;
    let ops = [AlterConfigOp::set("log.retention.ms", "60000")];
    admin.incremental_alter_configs(&ConfigResource::broker(""), &ops, false).await.expect("dynamic default");
    broker.broker().tick().expect("retention");
    assert!(list_offset(&mut client, "plain", 0, -2).await.offset > 0, "the dynamic default applied");
    broker.stop().await;
}

/// `spool configs` speaks kafka-configs.sh: `--alter --add-config` with a
/// bracketed list prints "Completed updating config for topic T.",
/// `--describe` lists the topic's dynamic configs in Kafka's line format,
/// `--delete-config` removes one, and a static broker key is refused.
#[tokio::test]
async fn the_configs_tool_alters_and_describes() {
    use spool::tools::configs::{run, ConfigsArgs};
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "orders", 1, &[]).await;
    let mut admin = admin(&broker).await;
    let args = |alter: bool, add: Option<&str>, delete: Option<&str>| ConfigsArgs {
        bootstrap_server: None,
        entity_type: "topics".into(),
        entity_name: Some("orders".into()),
        entity_default: false,
        describe: !alter,
        all: false,
        alter,
        add_config: add.map(Into::into),
        delete_config: delete.map(Into::into),
        command_config: Default::default(),
    };
    let mut out = Vec::new();
    run(&mut admin, &args(true, Some("retention.ms=60000,cleanup.policy=[compact,delete]"), None), &mut out)
        .await
        .expect("--alter");
    assert_eq!(String::from_utf8(out).unwrap(), "Completed updating config for topic orders.\n");
    let mut out = Vec::new();
    run(&mut admin, &args(false, None, None), &mut out).await.expect("--describe");
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("Dynamic configs for topic orders are:\n"), "{text}");
    assert!(text.contains("\n  cleanup.policy=compact,delete sensitive=false synonyms={"), "{text}");
    assert!(text.contains("\n  retention.ms=60000 sensitive=false synonyms={"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");

    run(&mut admin, &args(true, None, Some("retention.ms")), &mut Vec::new()).await.expect("--delete-config");
    assert_eq!(
        overrides(&mut admin, "orders").await,
        vec![("cleanup.policy".into(), "compact,delete".into())]
    );

    let brokers = ConfigsArgs {
        entity_type: "brokers".into(),
        entity_name: None,
        entity_default: true,
        ..args(true, Some("node.id=3"), None)
    };
    let refused = run(&mut admin, &brokers, &mut Vec::new()).await;
    assert!(
        matches!(refused, Err(ClientError::Kafka { code: ResponseError::InvalidRequest, .. })),
        "{refused:?}"
    );
    broker.stop().await;
}
