//! DescribeConfigs from the table, against Kafka's `ConfigHelper` answers.

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{CreateTopicsRequest, TopicName};

use super::*;
use crate::config::BrokerConfig;

/// A broker whose file sets `lines`, with topic `t` overriding `segment.bytes`.
fn broker_with(lines: &str) -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("log.dirs={}\n{lines}", dir.path().display());
    let (config, ignored) =
        BrokerConfig::from_properties(&BrokerConfig::parse_properties(&text).unwrap()).unwrap();
    assert!(ignored.is_empty(), "{ignored:?}");
    let broker = Broker::open(config).unwrap();
    let topic = CreatableTopic::default()
        .with_name(TopicName(str("t")))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![CreatableTopicConfig::default()
            .with_name(str("segment.bytes"))
            .with_value(Some(str("1048576")))]);
    let response = broker.create_topics(CreateTopicsRequest::default().with_topics(vec![topic]), 7);
    assert_eq!(response.topics[0].error_code, 0);
    (dir, broker)
}

fn describe(
    broker: &Broker,
    resource_type: i8,
    name: &str,
    synonyms: bool,
    docs: bool,
) -> DescribeConfigsResult {
    let resource = DescribeConfigsResource::default()
        .with_resource_type(resource_type)
        .with_resource_name(str(name))
        .with_configuration_keys(None);
    let request = DescribeConfigsRequest::default()
        .with_resources(vec![resource])
        .with_include_synonyms(synonyms)
        .with_include_documentation(docs);
    broker.describe_configs(request).results.remove(0)
}

fn find<'a>(result: &'a DescribeConfigsResult, name: &str) -> &'a DescribeConfigsResourceResult {
    result.configs.iter().find(|c| c.name.as_str() == name).unwrap_or_else(|| panic!("{name} not described"))
}

fn chain(config: &DescribeConfigsResourceResult) -> Vec<(String, Option<String>, i8)> {
    let text = |v: &Option<StrBytes>| v.as_ref().map(|v| v.to_string());
    config.synonyms.iter().map(|s| (s.name.to_string(), text(&s.value), s.source)).collect()
}

/// A topic is described with exactly the table's topic keys, in its order,
/// as Kafka describes every key of `LogConfig` whether set or not.
#[test]
fn a_topic_lists_exactly_the_tables_topic_keys() {
    let (_dir, broker) = broker_with("");
    let result = describe(&broker, RESOURCE_TOPIC, "t", false, false);
    assert_eq!(result.error_code, 0);
    let names: Vec<&str> = result.configs.iter().map(|c| c.name.as_str()).collect();
    let table: Vec<&str> = TOPIC_KEYS.iter().map(|k| k.name).collect();
    assert_eq!(names, table);
    assert!(result.configs.iter().all(|c| !c.read_only && c.value.is_some()));
    let broker_result = describe(&broker, RESOURCE_BROKER, "1", false, false);
    let names: Vec<&str> = broker_result.configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, BROKER_KEYS.iter().map(|k| k.name).collect::<Vec<_>>());
}

/// Sources and synonyms in Kafka's order (`ConfigHelper.createTopicConfigEntry`):
/// a topic override first (1), then the broker synonyms the file set (4), then
/// the broker key's default (5); the first is the entry's source. A file that
/// sets `log.retention.hours` makes `retention.ms` STATIC_BROKER_CONFIG.
#[test]
fn sources_and_synonyms_follow_kafkas_order() {
    let (_dir, broker) = broker_with("log.retention.hours=2\n");
    let result = describe(&broker, RESOURCE_TOPIC, "t", true, false);
    let retention = find(&result, "retention.ms");
    assert_eq!(
        (retention.value.as_deref(), retention.config_source),
        (Some("7200000"), SOURCE_STATIC_BROKER)
    );
    assert_eq!(
        chain(retention),
        vec![
            ("log.retention.hours".into(), Some("2".into()), SOURCE_STATIC_BROKER),
            ("log.retention.hours".into(), Some("168".into()), SOURCE_DEFAULT),
        ]
    );
    let segment = find(&result, "segment.bytes");
    assert_eq!((segment.value.as_deref(), segment.config_source), (Some("1048576"), SOURCE_TOPIC));
    assert_eq!(
        chain(segment),
        vec![
            ("segment.bytes".into(), Some("1048576".into()), SOURCE_TOPIC),
            ("log.segment.bytes".into(), Some("1073741824".into()), SOURCE_DEFAULT),
        ]
    );
    let preallocate = find(&result, "preallocate");
    assert_eq!((preallocate.value.as_deref(), preallocate.config_source), (Some("false"), SOURCE_DEFAULT));
    assert!(chain(preallocate).is_empty(), "log.preallocate is not a key spool reads");
    // Without include_synonyms the chain is left out, the source is not.
    let plain = describe(&broker, RESOURCE_TOPIC, "t", false, false);
    assert!(find(&plain, "retention.ms").synonyms.is_empty());
    assert_eq!(find(&plain, "retention.ms").config_source, SOURCE_STATIC_BROKER);
    // The broker resource: the key and its aliases.
    let broker_result = describe(&broker, RESOURCE_BROKER, "1", true, false);
    let ms = find(&broker_result, "log.retention.ms");
    assert_eq!((ms.value.as_deref(), ms.config_source), (Some("7200000"), SOURCE_STATIC_BROKER));
    let hours = find(&broker_result, "log.retention.hours");
    assert_eq!((hours.value.as_deref(), hours.config_source), (Some("2"), SOURCE_STATIC_BROKER));
    let minutes = find(&broker_result, "log.retention.minutes");
    assert_eq!((minutes.value.as_deref(), minutes.config_source), (None, SOURCE_DEFAULT));
}

/// `include_documentation` (v3+) sends the table's doc line; `config_type`
/// is the key's type; a broker key is read-only unless the table calls it
/// dynamic (Kafka's `DynamicBrokerConfig.AllDynamicConfigs`).
#[test]
fn documentation_types_and_read_only() {
    let (_dir, broker) = broker_with("");
    let documented = describe(&broker, RESOURCE_TOPIC, "t", false, true);
    let ratio = find(&documented, "min.cleanable.dirty.ratio");
    assert_eq!(
        ratio.documentation.as_deref(),
        crate::config::def::topic_key(ratio.name.as_str()).map(|k| k.doc)
    );
    assert_eq!((ratio.config_type, find(&documented, "cleanup.policy").config_type), (6, 7));
    let plain = describe(&broker, RESOURCE_TOPIC, "t", false, false);
    assert!(plain.configs.iter().all(|c| c.documentation.is_none()));
    let broker_result = describe(&broker, RESOURCE_BROKER, "1", false, false);
    assert!(find(&broker_result, "node.id").read_only);
    assert!(!find(&broker_result, "log.retention.ms").read_only);
    assert_eq!(find(&broker_result, "node.id").config_type, 3);
    assert_eq!(describe(&broker, RESOURCE_TOPIC, "missing", false, false).error_code, 3);
}
