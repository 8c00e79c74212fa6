//! Issue 17's two halves joined, on one broker: the config table
//! (`spool::config::def`) says which broker keys are dynamic, and every key
//! it calls dynamic really takes effect on a running broker when set as a
//! dynamic broker config (Kafka's `DynamicBrokerConfig`, KIP-226); values
//! are checked against the table; DescribeConfigs reports where each value
//! came from (DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG) as
//! Kafka's `ConfigHelper` does.
//!
//! ```text
//! cargo test --test it configglue::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::client::configs::{AlterConfigOp, ConfigOp, ConfigResource, DescribedConfig};
use spool::client::ClientError;
use spool::config::def::{broker_key, Dynamic, BROKER_KEYS};
use spool::format::BatchBuilder;

use harness::{start, TestBroker};
use requests::{create_topic, fetch, produce};

/// Kafka's `ConfigSource` ids.
const DYNAMIC_TOPIC: i8 = 1;
const DYNAMIC_BROKER: i8 = 2;
const DYNAMIC_DEFAULT_BROKER: i8 = 3;
const STATIC_BROKER: i8 = 4;
const DEFAULT: i8 = 5;

async fn admin(broker: &TestBroker) -> spool::client::Client {
    spool::client::Client::connect(&broker.addr.to_string(), Duration::from_secs(10))
        .await
        .expect("admin client")
}

fn refusal(result: Result<(), ClientError>) -> (ResponseError, String) {
    match result {
        Err(ClientError::Kafka { code, message, .. }) => (code, message.unwrap_or_default()),
        other => panic!("expected a Kafka error, got {other:?}"),
    }
}

fn batch(records: &[(Option<&str>, &str)]) -> Bytes {
    let mut builder = BatchBuilder::default();
    for (key, value) in records {
        builder.append(now_ms(), key.map(str::as_bytes), Some(value.as_bytes()), &[]);
    }
    builder.build().as_bytes().clone()
}

async fn set_default(admin: &mut spool::client::Client, key: &str, value: &str) {
    let ops = [AlterConfigOp::set(key, value)];
    admin.incremental_alter_configs(&ConfigResource::broker(""), &ops, false).await.expect(key);
}

fn named<'a>(configs: &'a [DescribedConfig], name: &str) -> &'a DescribedConfig {
    configs.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("{name} described"))
}

/// The table is the one list of what is dynamic, and it lists only keys a
/// running broker applies: every ClusterWide key is accepted as a dynamic
/// cluster default, and every read-only key is refused with Kafka's
/// "Cannot update these configs dynamically" (INVALID_REQUEST).
#[tokio::test]
async fn the_table_decides_what_is_dynamic() {
    let broker = start(|_| {}).await;
    let mut admin = admin(&broker).await;
    for key in BROKER_KEYS {
        let Some(value) = key.default.filter(|v| !v.is_empty()) else { continue };
        let ops = [AlterConfigOp::set(key.name, value)];
        let answer = admin.incremental_alter_configs(&ConfigResource::broker(""), &ops, true).await;
        match key.dynamic {
            Dynamic::ClusterWide => assert!(answer.is_ok(), "{} is dynamic: {answer:?}", key.name),
            _ => {
                let (code, message) = refusal(answer);
                assert_eq!(code, ResponseError::InvalidRequest, "{}", key.name);
                assert!(message.contains("Cannot update these configs dynamically"), "{message}");
            }
        }
    }
    broker.stop().await;
}

/// A dynamic cluster default of `message.max.bytes` bounds a topic without
/// its own `max.message.bytes` (MESSAGE_TOO_LARGE); `min.insync.replicas`
/// refuses an acks=all write on a one-replica partition
/// (NOT_ENOUGH_REPLICAS); `log.cleanup.policy=compact` makes the topic
/// compacted, so a keyless record is refused (INVALID_RECORD); and
/// `compression.type=gzip` makes the broker store batches gzip'd. Each is
/// applied at once, to a partition that already exists (KIP-226).
#[tokio::test]
async fn dynamic_defaults_reach_live_partitions() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "live", 1, &[]).await;
    let mut admin = admin(&broker).await;
    let big = "x".repeat(3_000);
    assert_eq!(produce(&mut client, "live", 0, batch(&[(Some("k"), &big)]), 1).await.error_code, 0);

    set_default(&mut admin, "message.max.bytes", "1000").await;
    let refused = produce(&mut client, "live", 0, batch(&[(Some("k"), &big)]), 1).await;
    assert_eq!(refused.error_code, ResponseError::MessageTooLarge.code(), "message.max.bytes applied");
    set_default(&mut admin, "message.max.bytes", "1048588").await;

    set_default(&mut admin, "min.insync.replicas", "2").await;
    let refused = produce(&mut client, "live", 0, batch(&[(Some("k"), "v")]), -1).await;
    assert_eq!(refused.error_code, ResponseError::NotEnoughReplicas.code(), "min.insync.replicas applied");
    set_default(&mut admin, "min.insync.replicas", "1").await;
    assert_eq!(produce(&mut client, "live", 0, batch(&[(Some("k"), "v")]), -1).await.error_code, 0);

    set_default(&mut admin, "log.cleanup.policy", "compact").await;
    let refused = produce(&mut client, "live", 0, batch(&[(None, "keyless")]), 1).await;
    assert_eq!(refused.error_code, ResponseError::InvalidRecord.code(), "log.cleanup.policy applied");
    set_default(&mut admin, "log.cleanup.policy", "delete").await;

    set_default(&mut admin, "compression.type", "gzip").await;
    let at = produce(&mut client, "live", 0, batch(&[(Some("k"), "squeezed")]), 1).await.base_offset;
    let fetched = fetch(&mut client, "live", 0, at).await.records.expect("records");
    let (stored, _) = spool::format::RecordBatch::parse(&fetched).expect("a batch");
    assert_eq!(
        stored.compression().expect("a codec"),
        spool::format::Compression::Gzip,
        "compression.type applied: the batch is stored gzip'd"
    );
    broker.stop().await;
}

/// Values of dynamic broker keys are checked by the table, and a refusal
/// names the key. A per-broker resource must name the broker that receives
/// the request: Kafka's `ConfigAdminManager` answers any other id with
/// INVALID_REQUEST "Unexpected broker id, expected <me>, but received <id>".
#[tokio::test]
async fn dynamic_values_and_broker_ids_are_checked() {
    let broker = start(|_| {}).await;
    let me = broker.broker().config.node_id;
    let mut admin = admin(&broker).await;
    for (key, value) in
        [("message.max.bytes", "lots"), ("min.insync.replicas", "0"), ("compression.type", "rar")]
    {
        let ops = [AlterConfigOp::set(key, value)];
        let (code, message) =
            refusal(admin.incremental_alter_configs(&ConfigResource::broker(""), &ops, false).await);
        assert_eq!(code, ResponseError::InvalidRequest, "{key}={value}: {message}");
        assert!(message.contains(key), "{message}");
    }
    // Sent as is (spool's admin client routes a broker's resource to that
    // broker), with a good resource after it that is still decided.
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::IncrementalAlterConfigsRequest;
    let resource = |name: String| {
        AlterConfigsResource::default().with_resource_type(4).with_resource_name(name.into()).with_configs(
            vec![AlterableConfig::default()
                .with_name("log.retention.ms".into())
                .with_config_operation(0)
                .with_value(Some("60000".into()))],
        )
    };
    let request = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![resource((me + 1).to_string()), resource(String::new())]);
    let mut raw = broker.client().await;
    let response = raw.request(0, &request).await;
    let (foreign, default) = (&response.responses[0], &response.responses[1]);
    assert_eq!(foreign.error_code, ResponseError::InvalidRequest.code());
    let message = foreign.error_message.as_deref().map(ToString::to_string).unwrap_or_default();
    assert!(
        message.contains(&format!("Unexpected broker id, expected {me}, but received {}", me + 1)),
        "{message}"
    );
    assert_eq!((default.error_code, default.resource_name.as_str()), (0, ""));
    let ops = [AlterConfigOp::set("log.retention.ms", "60000")];
    admin
        .incremental_alter_configs(&ConfigResource::broker(me.to_string()), &ops, false)
        .await
        .expect("mine");
    broker.stop().await;
}

/// DescribeConfigs' sources with dynamic broker configs, in Kafka's order
/// (topic override, dynamic per-broker, dynamic default, static, default):
/// a topic key whose broker synonym is a dynamic default reports
/// DYNAMIC_DEFAULT_BROKER_CONFIG; set for this broker too, DYNAMIC_BROKER_CONFIG;
/// and the broker resource shows the dynamic value with its source.
#[tokio::test]
async fn describe_reports_dynamic_sources() {
    let broker = start(|c| {
        c.log.segment_bytes = 1 << 20;
        c.static_values.insert("log.segment.bytes".into(), (1 << 20).to_string());
    })
    .await;
    let me = broker.broker().config.node_id.to_string();
    let mut client = broker.client().await;
    create_topic(&mut client, "described", 1, &[]).await;
    let mut admin = admin(&broker).await;
    set_default(&mut admin, "log.retention.ms", "60000").await;
    let topic = ConfigResource::topic("described");

    let configs = admin.describe_configs(&topic).await.unwrap();
    let retention = named(&configs, "retention.ms");
    assert_eq!((retention.value.as_deref(), retention.source), (Some("60000"), DYNAMIC_DEFAULT_BROKER));
    let first = &retention.synonyms[0];
    assert_eq!((first.0.as_str(), first.1.as_deref(), first.2), ("log.retention.ms", Some("60000"), 3));
    assert_eq!(retention.synonyms.last().map(|s| s.2), Some(DEFAULT));

    let ops = [AlterConfigOp::set("log.retention.ms", "120000")];
    admin.incremental_alter_configs(&ConfigResource::broker(me.clone()), &ops, false).await.unwrap();
    let ops = [AlterConfigOp::set("segment.bytes", "4096")];
    admin.incremental_alter_configs(&topic, &ops, false).await.unwrap();
    let configs = admin.describe_configs(&topic).await.unwrap();
    let retention = named(&configs, "retention.ms");
    assert_eq!((retention.value.as_deref(), retention.source), (Some("120000"), DYNAMIC_BROKER));
    let sources: Vec<i8> = retention.synonyms.iter().map(|s| s.2).collect();
    assert_eq!(&sources[..2], &[DYNAMIC_BROKER, DYNAMIC_DEFAULT_BROKER]);
    let segment = named(&configs, "segment.bytes");
    let sources: Vec<i8> = segment.synonyms.iter().map(|s| s.2).collect();
    assert_eq!((segment.source, sources), (DYNAMIC_TOPIC, vec![DYNAMIC_TOPIC, STATIC_BROKER, DEFAULT]));

    let configs = admin.describe_configs(&ConfigResource::broker(me)).await.unwrap();
    let retention = named(&configs, "log.retention.ms");
    assert_eq!((retention.value.as_deref(), retention.source), (Some("120000"), DYNAMIC_BROKER));
    assert_eq!(broker_key("log.retention.ms").map(|k| k.dynamic), Some(Dynamic::ClusterWide));
    broker.stop().await;
}

/// APPEND and SUBTRACT on `cleanup.policy` start from the topic's override,
/// else from the key's default in Kafka's schema ("delete") — not from the
/// broker's `log.cleanup.policy`: Kafka's `ConfigurationControlManager`
/// (`getParts` reads `KafkaConfigSchema.getDefault`) does the same.
#[tokio::test]
async fn append_and_subtract_start_from_the_schema_default() {
    let broker = start(|c| c.log.cleanup_compact = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "listed", 1, &[]).await;
    let mut admin = admin(&broker).await;
    let topic = ConfigResource::topic("listed");
    let op =
        |op, value: &str| [AlterConfigOp { name: "cleanup.policy".into(), op, value: Some(value.into()) }];
    admin.incremental_alter_configs(&topic, &op(ConfigOp::Append, "compact"), false).await.unwrap();
    let configs = admin.describe_configs(&topic).await.unwrap();
    assert_eq!(named(&configs, "cleanup.policy").value.as_deref(), Some("delete,compact"));
    admin.incremental_alter_configs(&topic, &op(ConfigOp::Subtract, "delete"), false).await.unwrap();
    let configs = admin.describe_configs(&topic).await.unwrap();
    assert_eq!(named(&configs, "cleanup.policy").value.as_deref(), Some("compact"));
    broker.stop().await;
}

/// `spool configs --describe --entity-type brokers` with no name describes
/// every broker (kafka-configs.sh's loop over the cluster's brokers), and a
/// topic key's line names the dynamic default in its synonyms as
/// kafka-configs.sh prints them:
/// `synonyms={DYNAMIC_TOPIC_CONFIG:…, DYNAMIC_DEFAULT_BROKER_CONFIG:…, …, DEFAULT_CONFIG:…}`.
#[tokio::test]
async fn the_configs_tool_describes_every_broker_and_dynamic_synonyms() {
    use spool::tools::configs::{run, ConfigsArgs};
    let broker = start(|_| {}).await;
    let me = broker.broker().config.node_id;
    let mut client = broker.client().await;
    create_topic(&mut client, "shown", 1, &[]).await;
    let mut admin = admin(&broker).await;
    set_default(&mut admin, "log.retention.ms", "60000").await;
    let ops = [AlterConfigOp::set("log.retention.ms", "120000")];
    admin.incremental_alter_configs(&ConfigResource::broker(me.to_string()), &ops, false).await.unwrap();
    let ops = [AlterConfigOp::set("retention.ms", "30000")];
    admin.incremental_alter_configs(&ConfigResource::topic("shown"), &ops, false).await.unwrap();
    let args = |entity_type: &str, name: Option<&str>| ConfigsArgs {
        bootstrap_server: None,
        entity_type: entity_type.into(),
        entity_name: name.map(Into::into),
        entity_default: false,
        describe: true,
        all: false,
        alter: false,
        add_config: None,
        delete_config: None,
        command_config: Default::default(),
    };
    let mut out = Vec::new();
    run(&mut admin, &args("brokers", None), &mut out).await.expect("--describe every broker");
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(&format!("Dynamic configs for broker {me} are:\n")), "{text}");
    assert!(
        text.contains("  log.retention.ms=120000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=120000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=60000"),
        "{text}"
    );
    let mut out = Vec::new();
    run(&mut admin, &args("topics", Some("shown")), &mut out).await.expect("--describe a topic");
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("  retention.ms=30000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=30000, DYNAMIC_BROKER_CONFIG:log.retention.ms=120000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=60000, "),
        "{text}"
    );
    assert!(text.trim_end().ends_with("DEFAULT_CONFIG:log.retention.hours=168}"), "{text}");
    broker.stop().await;
}
