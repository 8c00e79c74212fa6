//! Altering configs (issue 17): IncrementalAlterConfigs (API 44, KIP-339)
//! and AlterConfigs (API 33) decided as ConfigRecords.
//!
//! Kafka's `ConfigurationControlManager` turns each resource's operations
//! into the new set of overrides, checks that set, and writes one
//! ConfigRecord per key that changes (a null value removes the override, so
//! the key falls back to the broker's default). Every broker applies the
//! records to its image, and from there to its live logs
//! (`Broker::apply_image` in `crate::broker::replica_manager`).
//!
//! ```text
//!  resource (TOPIC "t" | BROKER "" | BROKER "<id>")
//!     ─▶ operations on the current overrides:
//!          SET k=v · DELETE k · APPEND k+=a (list keys) · SUBTRACT k-=a (list keys)
//!        or, for AlterConfigs, the request's set replaces them all
//!     ─▶ the new set checked: each key (validate_topic_config) and all together
//!     ─▶ ConfigRecord(k, v) per changed key; ConfigRecord(k, null) per removed one
//! ```
//!
//! Dynamic broker configs: Kafka's `DynamicBrokerConfig` lets a running
//! broker take new values of some keys; the rest are "read-only" and an
//! alter of them is INVALID_REQUEST ("Cannot update these configs
//! dynamically"). spool can change at runtime exactly the broker-wide
//! defaults of topic configs (Kafka's `DynamicLogConfig`: `log.retention.ms`,
//! `log.segment.bytes`, `log.cleanup.policy`, …): every log's config is
//! rebuilt from the broker's defaults, the dynamic ones and the topic's
//! overrides each time an image is applied. `log.cleaner.threads` is dynamic
//! in Kafka but not here: spool's cleaner threads are started once.
//!
//! Simplifications: APPEND and SUBTRACT start from the override, else from
//! Kafka's default of the key (not a broker's `log.cleanup.policy`); topic
//! configs of internal topics are not guarded; a per-broker resource is
//! accepted for any broker id, not only the receiving broker's.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::ResponseError;

use super::topics::{validate_topic_configs, TopicError};
use super::{Batch, ControllerResult};
use crate::log::LogConfig;
use crate::metadata::records::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::metadata::{MetadataImage, MetadataRecord};

/// An IncrementalAlterConfigs operation (`AlterConfigOp.OpType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigOp {
    Set = 0,
    Delete = 1,
    /// Adds values to a list key, once each.
    Append = 2,
    /// Removes values from a list key.
    Subtract = 3,
}

impl ConfigOp {
    pub fn from_id(id: i8) -> Option<Self> {
        Some(match id {
            0 => ConfigOp::Set,
            1 => ConfigOp::Delete,
            2 => ConfigOp::Append,
            3 => ConfigOp::Subtract,
            _ => return None,
        })
    }
}

/// One key's change. `op` is `None` for an operation id Kafka does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    pub name: String,
    pub op: Option<ConfigOp>,
    pub value: Option<String>,
}

/// One resource's changes, from either API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigResourceChange {
    pub resource_type: i8,
    pub resource_name: String,
    pub changes: Vec<ConfigChange>,
    /// AlterConfigs: the changes (all SETs) are the resource's whole new set
    /// of overrides; a key left out is removed.
    pub replace: bool,
}

/// The topic config keys whose values are lists, with Kafka's defaults:
/// the only keys APPEND and SUBTRACT apply to.
const TOPIC_LIST_KEYS: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("follower.replication.throttled.replicas", ""),
    ("leader.replication.throttled.replicas", ""),
];

/// The broker keys spool can change while running: the broker-wide
/// defaults of the topic configs its logs read (module doc).
pub const DYNAMIC_BROKER_KEYS: &[&str] = &[
    "log.segment.bytes",
    "log.roll.ms",
    "log.index.interval.bytes",
    "log.index.size.max.bytes",
    "log.retention.ms",
    "log.retention.bytes",
    "log.cleanup.policy",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.message.timestamp.type",
];

const BROKER_LIST_KEYS: &[(&str, &str)] = &[("log.cleanup.policy", "delete")];

// ANCHOR: alter_configs
/// Decides each resource's changes against `image`: the ConfigRecords of
/// the accepted ones, and an answer per resource in the request's order. A
/// resource named twice is refused both times (INVALID_REQUEST), as Kafka does.
pub fn alter_configs(
    image: &MetadataImage,
    resources: &[ConfigResourceChange],
) -> ControllerResult<Vec<Result<(), TopicError>>> {
    let mut batch = Batch::new(image);
    let mut seen = BTreeMap::new();
    for r in resources {
        *seen.entry((r.resource_type, r.resource_name.as_str())).or_insert(0) += 1;
    }
    let mut answers = Vec::new();
    for r in resources {
        if seen[&(r.resource_type, r.resource_name.as_str())] > 1 {
            answers.push(Err(invalid_request("Each resource must appear at most once.")));
            continue;
        }
        let decided = new_overrides(&batch.image, r).map(|new| {
            let old = current_overrides(&batch.image, r);
            for record in config_records(r, &old, &new) {
                batch.push(record);
            }
        });
        answers.push(decided);
    }
    batch.finish(answers)
}
// ANCHOR_END: alter_configs

/// The resource's overrides now: none for a resource that has none yet.
fn current_overrides(image: &MetadataImage, r: &ConfigResourceChange) -> BTreeMap<String, String> {
    let found = match r.resource_type {
        RESOURCE_TOPIC => image.topic(&r.resource_name).map(|t| &t.configs),
        _ => image.broker_configs(&r.resource_name),
    };
    found.cloned().unwrap_or_default()
}

/// The resource's overrides after its changes, checked.
fn new_overrides(
    image: &MetadataImage,
    r: &ConfigResourceChange,
) -> Result<BTreeMap<String, String>, TopicError> {
    let (list_keys, is_broker) = match r.resource_type {
        RESOURCE_TOPIC => {
            if image.topic(&r.resource_name).is_none() {
                let message = format!("Topic {} does not exist", r.resource_name);
                return Err(TopicError::new(ResponseError::UnknownTopicOrPartition, message));
            }
            (TOPIC_LIST_KEYS, false)
        }
        RESOURCE_BROKER => {
            if !r.resource_name.is_empty() && r.resource_name.parse::<i32>().map_or(true, |id| id < 0) {
                let message = format!("Node id must be an integer, but it is: {}", r.resource_name);
                return Err(invalid_request(message));
            }
            (BROKER_LIST_KEYS, true)
        }
        other => return Err(invalid_request(format!("Unknown resource type {other}"))),
    };
    check_shape(&r.changes)?;
    let mut configs = if r.replace { BTreeMap::new() } else { current_overrides(image, r) };
    for change in &r.changes {
        apply_change(&mut configs, change, list_keys)?;
    }
    if is_broker {
        validate_broker_configs(&configs)?;
    } else {
        validate_topic_configs(&configs)?;
    }
    Ok(configs)
}

/// Kafka's checks before any value is read: no key twice, a value for
/// every operation but DELETE, only known operations.
fn check_shape(changes: &[ConfigChange]) -> Result<(), TopicError> {
    let mut names = BTreeSet::new();
    if !changes.iter().all(|c| names.insert(c.name.as_str())) {
        return Err(invalid_request("Error due to duplicate config keys"));
    }
    let null: Vec<&str> = (changes.iter())
        .filter(|c| c.op != Some(ConfigOp::Delete) && c.value.is_none())
        .map(|c| c.name.as_str())
        .collect();
    if !null.is_empty() {
        return Err(invalid_request(format!("Null value not supported for : {}", null.join(", "))));
    }
    match changes.iter().find(|c| c.op.is_none()) {
        Some(c) => Err(invalid_request(format!("Unknown operations type for config {}", c.name))),
        None => Ok(()),
    }
}

/// One operation on the working set of overrides.
fn apply_change(
    configs: &mut BTreeMap<String, String>,
    change: &ConfigChange,
    list_keys: &[(&str, &str)],
) -> Result<(), TopicError> {
    let name = change.name.clone();
    let value = change.value.clone().unwrap_or_default();
    match change.op.expect("checked by check_shape") {
        ConfigOp::Set => {
            configs.insert(name, value);
        }
        ConfigOp::Delete => {
            configs.remove(&name);
        }
        op @ (ConfigOp::Append | ConfigOp::Subtract) => {
            let Some(&(_, default)) = list_keys.iter().find(|(k, _)| *k == name) else {
                let verb = if op == ConfigOp::Append { "append" } else { "subtract" };
                let message = format!("Config value {verb} is not allowed for config key: {name}");
                return Err(TopicError::new(ResponseError::InvalidConfig, message));
            };
            let current = configs.get(&name).map_or(default, String::as_str);
            let mut items: Vec<String> = split_list(current);
            for item in split_list(&value) {
                let present = items.contains(&item);
                match op {
                    ConfigOp::Append if !present => items.push(item),
                    ConfigOp::Subtract => items.retain(|i| *i != item),
                    _ => {}
                }
            }
            configs.insert(name, items.join(","));
        }
    }
    Ok(())
}

fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// A broker's dynamic set: only the keys spool can change at runtime, each
/// value one the log config takes, and all of them together.
fn validate_broker_configs(configs: &BTreeMap<String, String>) -> Result<(), TopicError> {
    let fixed: Vec<&str> =
        configs.keys().map(String::as_str).filter(|k| !DYNAMIC_BROKER_KEYS.contains(k)).collect();
    if !fixed.is_empty() {
        return Err(invalid_request(format!(
            "Cannot update these configs dynamically: {}",
            fixed.join(", ")
        )));
    }
    let mut together = LogConfig::default();
    for (k, v) in configs {
        if let Err(why) = together.set(k, v) {
            return Err(TopicError::new(ResponseError::InvalidConfig, why));
        }
    }
    Ok(())
}

/// One ConfigRecord per key whose value changes: the new value, or null
/// for a key no longer overridden.
fn config_records(
    r: &ConfigResourceChange,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<MetadataRecord> {
    let record = |name: &str, value: Option<&String>| MetadataRecord::Config {
        resource_type: r.resource_type,
        resource_name: r.resource_name.clone(),
        name: name.to_string(),
        value: value.cloned(),
    };
    let set = new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, v)| record(k, Some(v)));
    let removed = old.keys().filter(|k| !new.contains_key(*k)).map(|k| record(k, None));
    set.chain(removed).collect()
}

fn invalid_request(message: impl Into<String>) -> TopicError {
    TopicError::new(ResponseError::InvalidRequest, message)
}

#[cfg(test)]
mod tests;
