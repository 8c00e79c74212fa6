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
//! dynamically"). Which keys are dynamic is the config table's word
//! ([`crate::config::def::ConfigKey::dynamic`]), and the table marks dynamic
//! only what a running broker applies: the broker-wide defaults of topic
//! configs (`log.retention.ms`, `log.segment.bytes`, `log.cleanup.policy`,
//! `message.max.bytes`, `compression.type`, `min.insync.replicas`, …), which
//! every broker reads from its image each time one is applied
//! (`Broker::dynamic_broker_configs`). Values are checked by the table too.
//! A per-broker resource (`"<id>"`) must name the broker that receives the
//! request; that broker checks it before forwarding (Kafka's
//! `ConfigAdminManager`, `crate::broker::alter_configs`).
//!
//! APPEND and SUBTRACT start from the override, else from the key's default
//! in Kafka's schema (`delete` for `cleanup.policy`), not from a broker's
//! `log.cleanup.policy`: Kafka's `ConfigurationControlManager.getParts` does
//! the same. Internal topics' configs are altered like any other's: KRaft's
//! `ControllerConfigurationValidator` guards none of their keys.
//!
//! Simplifications: Kafka accepts unknown keys in a broker's dynamic set
//! (custom plugin configs); spool refuses them as not dynamic.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::ResponseError;

use super::topics::{validate_topic_configs, TopicError};
use super::{Batch, ControllerResult};
use crate::config::def::{broker_key, Dynamic};
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
        validate_broker_configs(&r.resource_name, &configs)?;
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

// ANCHOR: validate_broker_configs
/// A broker's dynamic set, checked by the config table (`config::def`):
/// only keys the table marks dynamic (and, for the cluster-wide default
/// resource "", only [`Dynamic::ClusterWide`] ones), each value of its
/// key's type and range, and all of them together.
///
/// Kafka answers every refusal here INVALID_REQUEST, a bad value too:
/// `ConfigAdminManager` turns `DynamicBrokerConfig.validate`'s
/// `ConfigException` into `InvalidRequestException` (KAFKA-13609 keeps it so
/// for compatibility), and spool answers as Kafka does.
fn validate_broker_configs(
    resource_name: &str,
    configs: &BTreeMap<String, String>,
) -> Result<(), TopicError> {
    let dynamic = |k: &str| broker_key(k).map_or(Dynamic::ReadOnly, |key| key.dynamic);
    let fixed: Vec<&str> =
        configs.keys().map(String::as_str).filter(|k| dynamic(k) == Dynamic::ReadOnly).collect();
    if !fixed.is_empty() {
        return Err(invalid_request(format!(
            "Cannot update these configs dynamically: {}",
            fixed.join(", ")
        )));
    }
    let per_broker: Vec<&str> =
        configs.keys().map(String::as_str).filter(|k| dynamic(k) == Dynamic::PerBroker).collect();
    if resource_name.is_empty() && !per_broker.is_empty() {
        return Err(invalid_request(format!(
            "Cannot update these configs at default cluster level, broker id must be specified: {}",
            per_broker.join(", ")
        )));
    }
    for (k, v) in configs {
        let key = broker_key(k).expect("a dynamic key is in the table");
        key.validate(v).map_err(invalid_request)?;
    }
    let mut together = LogConfig::default();
    for (k, v) in configs {
        together.set(k, v).map_err(invalid_request)?;
    }
    Ok(())
}
// ANCHOR_END: validate_broker_configs

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
