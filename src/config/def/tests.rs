//! The table against itself and against the setters it fronts.

use proptest::prelude::*;

use super::*;
use crate::controller::topics::validate_topic_config;
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;

/// A value just outside `key`'s valid values, if it has an outside.
fn out_of_range(key: &ConfigKey) -> Option<String> {
    match (key.kind, key.valid) {
        (ConfigType::Boolean, _) => Some("maybe".into()),
        (_, Valid::AtLeast(min)) => Some((min - 1).to_string()),
        (_, Valid::Between(_, max)) => Some((max + 1).to_string()),
        (_, Valid::DoubleBetween(_, max)) | (_, Valid::DoubleAbove(_, max)) if max < f64::MAX => {
            Some((max + 0.5).to_string())
        }
        (_, Valid::DoubleAbove(min, _)) => Some(min.to_string()),
        (_, Valid::OneOf(_)) | (_, Valid::ListOf(_)) => Some("no-such-choice".into()),
        (ConfigType::Int, Valid::Any) => Some("2147483648".into()),
        (ConfigType::Long, Valid::Any) => Some("9223372036854775808".into()),
        _ => None,
    }
}

/// Every topic key round-trips through CreateTopics' check
/// (`validate_topic_config`, Kafka's `LogConfig.validate`): its default is
/// accepted, a value just outside its range is `INVALID_CONFIG` naming the key.
#[test]
fn every_topic_key_accepts_its_default_and_refuses_out_of_range() {
    for key in TOPIC_KEYS {
        let default = key.default.expect("every topic key has a default");
        assert_eq!(validate_topic_config(key.name, default), Ok(()), "{}", key.name);
        if let Some(bad) = out_of_range(key) {
            let error = validate_topic_config(key.name, &bad).expect_err(key.name);
            assert_eq!(error.code, ResponseError::InvalidConfig, "{}={bad}", key.name);
            assert!(error.message.contains(key.name), "{}={bad}: {}", key.name, error.message);
        }
    }
    let unknown = validate_topic_config("retention.parsecs", "1").unwrap_err();
    assert_eq!(unknown.code, ResponseError::InvalidConfig);
    assert!(unknown.message.contains("retention.parsecs"), "{}", unknown.message);
}

/// Values CreateTopics used to let through, each of which Kafka refuses
/// (`LogConfig`'s validators): a boolean that is not one, a
/// `min.insync.replicas` of 0, a codec name Kafka does not have, an integer
/// past its type.
#[test]
fn values_kafka_refuses_are_refused() {
    for (key, value) in [
        ("preallocate", "maybe"),
        ("min.insync.replicas", "0"),
        ("compression.type", "none"),
        ("segment.jitter.ms", "-1"),
        ("compression.zstd.level", "99"),
        ("remote.storage.enable", "yes"),
        ("file.delete.delay.ms", "soon"),
    ] {
        let error = validate_topic_config(key, value).expect_err(key);
        assert_eq!(error.code, ResponseError::InvalidConfig, "{key}={value}");
        assert!(error.message.contains(key), "{}", error.message);
    }
}

/// Every broker key the table lists is taken by a setter with its default,
/// and the value DescribeConfigs reads back from a default config is that
/// default: the table and the structs cannot disagree on a default.
#[test]
fn every_broker_key_default_is_the_structs_default() {
    let defaults = BrokerConfig::default();
    for key in BROKER_KEYS {
        let Some(default) = key.default else { continue };
        assert_eq!(key.validate(default), Ok(()), "{}", key.name);
        if let Some(read) = key.broker_value {
            assert_eq!(read(&defaults), default, "{}: the table's default is not the struct's", key.name);
        }
    }
    for key in TOPIC_KEYS {
        if let Some(read) = key.topic_value {
            let value = read(&LogConfig::default(), &defaults);
            assert_eq!(Some(value.as_str()), key.default, "{}", key.name);
        }
    }
}

/// Each broker key loads from a properties file through the table: its
/// default is accepted and recorded as set by the file, and a value outside
/// its range refuses to start with an error naming the key.
#[test]
fn every_broker_key_loads_and_is_range_checked() {
    for key in BROKER_KEYS {
        let Some(default) = key.default else { continue };
        if ["listeners", "advertised.listeners", "listener.security.protocol.map"].contains(&key.name) {
            continue; // read together, below in `from_properties`; covered by config.rs's tests
        }
        let props = BTreeMap::from([(key.name.to_string(), default.to_string())]);
        let loaded = BrokerConfig::from_properties(&props);
        let (config, ignored) = loaded.unwrap_or_else(|e| panic!("{}={default}: {e}", key.name));
        assert!(ignored.is_empty() && config.static_values.contains_key(key.name), "{}", key.name);
        if let Some(bad) = out_of_range(key) {
            let props = BTreeMap::from([(key.name.to_string(), bad.clone())]);
            let error = BrokerConfig::from_properties(&props).map(|_| ()).expect_err(key.name);
            assert!(error.contains(key.name), "{}={bad}: {error}", key.name);
        }
    }
}

/// `offsets.commit.timeout.ms` (Kafka's `GroupCoordinatorConfig`: an int, at
/// least 1) loads from a properties file into the group coordinator's config,
/// where the driver's wait for the ISR reads it, and DescribeConfigs reads the
/// value back; 0 refuses to start, naming the key.
#[test]
fn offsets_commit_timeout_reaches_the_group_config() {
    let props = BTreeMap::from([("offsets.commit.timeout.ms".to_string(), "250".to_string())]);
    let (config, _) = BrokerConfig::from_properties(&props).unwrap();
    assert_eq!(config.group.offsets_commit_timeout_ms, 250);
    let key = broker_key("offsets.commit.timeout.ms").expect("in the table");
    assert_eq!(key.broker_value.expect("a value reader")(&config), "250");
    let props = BTreeMap::from([("offsets.commit.timeout.ms".to_string(), "0".to_string())]);
    let error = BrokerConfig::from_properties(&props).map(|_| ()).expect_err("0 accepted");
    assert!(error.contains("offsets.commit.timeout.ms"), "{error}");
}

/// The names are unique, every topic synonym that is a broker key spool
/// reads is in the broker table, and a topic key with no value reader of its
/// own has no broker synonym spool would read either (so its value is its default).
#[test]
fn the_table_is_consistent() {
    let mut names: Vec<&str> = BROKER_KEYS.iter().map(|k| k.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), BROKER_KEYS.len(), "a broker key is listed twice");
    let mut topic: Vec<&str> = TOPIC_KEYS.iter().map(|k| k.name).collect();
    let sorted = {
        let mut s = topic.clone();
        s.sort();
        s
    };
    assert_eq!(topic, sorted, "topic keys are listed in name order");
    topic.dedup();
    assert_eq!(topic.len(), TOPIC_KEYS.len());
    for key in TOPIC_KEYS.iter().filter(|k| k.topic_value.is_none()) {
        assert!(key.synonyms.iter().all(|s| broker_key(s).is_none()), "{}", key.name);
    }
    for key in TOPIC_KEYS.iter().filter(|k| k.topic_value.is_some()) {
        assert!(broker_key(key.synonyms[0]).is_some(), "{}", key.name);
    }
}

proptest! {
    /// For every integer key with a lower bound, exactly the values at or above it pass.
    #[test]
    fn at_least_is_exactly_the_bound(n in -1_000i64..1_000_000_000) {
        for key in TOPIC_KEYS.iter().chain(BROKER_KEYS) {
            if let (ConfigType::Int | ConfigType::Long, Valid::AtLeast(min)) = (key.kind, key.valid) {
                prop_assert_eq!(key.validate(&n.to_string()).is_ok(), n >= min, "{}", key.name);
            }
        }
    }
}

/// The book's reference page is what the table generates; when it is not,
/// the message says how to regenerate it.
#[test]
fn the_reference_page_is_generated_from_the_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/book/src/reference/configs.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == reference_page(),
        "book/src/reference/configs.md differs from the config table; regenerate it with `{REGENERATE}`"
    );
}

/// Java's `Double.toString`, as DescribeConfigs shows doubles.
#[test]
fn doubles_are_written_as_java_writes_them() {
    assert_eq!(java_double(0.5), "0.5");
    assert_eq!(java_double(1.0), "1.0");
    assert_eq!(java_double(f64::MAX), "1.7976931348623157E308");
    assert_eq!(java_double(1e-5), "1.0E-5");
}
