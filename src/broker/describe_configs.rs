//! DescribeConfigs (API 32), answered from the config table
//! ([`crate::config::def`]): every topic key Kafka knows with its value and
//! where that value came from, and every broker key spool reads.
//!
//! A value's *source* is the first of its synonyms, in Kafka's order
//! (`ConfigHelper.createTopicConfigEntry`):
//!
//! ```text
//!  topic retention.ms ── override on the topic?          DYNAMIC_TOPIC_CONFIG (1)
//!                     └─ log.retention.ms, .minutes, .hours set in the file?
//!                                                         STATIC_BROKER_CONFIG (4)
//!                     └─ the broker key's default         DEFAULT_CONFIG       (5)
//! ```
//!
//! With `include_synonyms` the whole chain is returned, with
//! `include_documentation` (v3+) the table's one-line doc; `config_type` (v3+)
//! is the key's type, `is_sensitive` marks passwords (whose value is never
//! sent), and a broker key is `read_only` unless the table says it is dynamic.
//!
//! Simplifications: no dynamic broker configs yet (sources 2 and 3 are the
//! alter APIs'). Kafka drops a broker synonym chain's entries ahead of the
//! described key's own name (so a broker whose file sets only
//! `log.retention.hours` reports `retention.ms` as `DEFAULT_CONFIG`); spool
//! keeps them, so the source says which line of the file set the value.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::Broker;
use crate::config::def::{broker_key, ConfigKey, Dynamic, BROKER_KEYS, TOPIC_KEYS};
use crate::metadata::TopicImage;

/// `DYNAMIC_TOPIC_CONFIG`: the topic's own override.
pub const SOURCE_TOPIC: i8 = 1;
/// `STATIC_BROKER_CONFIG`: `server.properties` or `--override`.
pub const SOURCE_STATIC_BROKER: i8 = 4;
/// `DEFAULT_CONFIG`: nobody set it.
pub const SOURCE_DEFAULT: i8 = 5;

/// DescribeConfigs' resource types spool answers.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// What the caller asked to see beyond name, value and source.
#[derive(Debug, Clone, Copy, Default)]
pub struct Include {
    pub synonyms: bool,
    pub documentation: bool,
}

impl Broker {
    /// DescribeConfigs for topics (type 2) and this broker (type 4).
    pub fn describe_configs(&self, request: DescribeConfigsRequest) -> DescribeConfigsResponse {
        let include =
            Include { synonyms: request.include_synonyms, documentation: request.include_documentation };
        let results = request
            .resources
            .into_iter()
            .map(|resource| {
                let result = DescribeConfigsResult::default()
                    .with_resource_type(resource.resource_type)
                    .with_resource_name(resource.resource_name.clone());
                let configs = match resource.resource_type {
                    RESOURCE_TOPIC => match self.metadata_image().topic(&resource.resource_name) {
                        Some(topic) => Ok(self.topic_configs(topic, include)),
                        None => Err(ResponseError::UnknownTopicOrPartition),
                    },
                    RESOURCE_BROKER => Ok(self.broker_configs(include)),
                    _ => Err(ResponseError::InvalidRequest),
                };
                match configs {
                    Ok(configs) => {
                        let wanted = resource.configuration_keys;
                        let configs = configs
                            .into_iter()
                            .filter(|c| wanted.as_ref().is_none_or(|w| w.contains(&c.name)))
                            .collect();
                        result.with_configs(configs)
                    }
                    Err(e) => result.with_error_code(e.code()),
                }
            })
            .collect();
        DescribeConfigsResponse::default().with_results(results)
    }

    /// Every topic key of the table, for `topic`: its override, else the
    /// effective value the log runs with, else the table's default.
    pub fn topic_configs(&self, topic: &TopicImage, include: Include) -> Vec<DescribeConfigsResourceResult> {
        let log = self.topic_log_config(&topic.configs);
        TOPIC_KEYS
            .iter()
            .map(|key| {
                let own = topic.configs.get(key.name);
                let mut chain: Vec<DescribeConfigsSynonym> =
                    own.map(|v| synonym(key.name, Some(v), SOURCE_TOPIC, key)).into_iter().collect();
                chain.extend(self.broker_synonyms(key.synonyms, key));
                let value = match own {
                    Some(v) => Some(v.clone()),
                    None => key.topic_value.map(|read| read(&log, &self.config)),
                };
                let value = value.or_else(|| key.default.map(String::from));
                entry(key, value, chain, false, include)
            })
            .collect()
    }

    /// Every broker key of the table: the value this broker runs with (as the
    /// file wrote it for an alias such as `log.retention.hours`), read-only
    /// unless the table says the key is dynamic.
    pub fn broker_configs(&self, include: Include) -> Vec<DescribeConfigsResourceResult> {
        BROKER_KEYS
            .iter()
            .map(|key| {
                let names =
                    if key.synonyms.is_empty() { std::slice::from_ref(&key.name) } else { key.synonyms };
                let chain = self.broker_synonyms(names, key);
                let value = match key.broker_value {
                    Some(read) => Some(read(&self.config)),
                    None => self.config.static_values.get(key.name).cloned(),
                };
                let value = value.or_else(|| key.default.map(String::from));
                entry(key, value, chain, key.dynamic == Dynamic::ReadOnly, include)
            })
            .collect()
    }

    /// The broker keys among `names` the file set (source 4), then their
    /// defaults (source 5), each group in `names`' order, as Kafka lists them.
    fn broker_synonyms(&self, names: &[&str], described: &ConfigKey) -> Vec<DescribeConfigsSynonym> {
        let set = names.iter().filter_map(|name| {
            let value = self.config.static_values.get(*name)?;
            Some(synonym(name, Some(value), SOURCE_STATIC_BROKER, described))
        });
        let defaults = names.iter().filter_map(|name| {
            let default = broker_key(name)?.default?;
            Some(synonym(name, Some(&default.to_string()), SOURCE_DEFAULT, described))
        });
        set.chain(defaults).collect()
    }
}

fn synonym(name: &str, value: Option<&String>, source: i8, key: &ConfigKey) -> DescribeConfigsSynonym {
    let value = value.filter(|_| !key.is_sensitive()).map(|v| str(v));
    DescribeConfigsSynonym::default().with_name(str(name)).with_value(value).with_source(source)
}

fn entry(
    key: &ConfigKey,
    value: Option<String>,
    chain: Vec<DescribeConfigsSynonym>,
    read_only: bool,
    include: Include,
) -> DescribeConfigsResourceResult {
    let source = chain.first().map_or(SOURCE_DEFAULT, |s| s.source);
    let value = value.filter(|_| !key.is_sensitive());
    DescribeConfigsResourceResult::default()
        .with_name(str(key.name))
        .with_value(value.map(|v| str(&v)))
        .with_config_source(source)
        .with_read_only(read_only)
        .with_is_sensitive(key.is_sensitive())
        .with_synonyms(if include.synonyms { chain } else { Vec::new() })
        .with_config_type(key.kind.describe_configs_id())
        .with_documentation(include.documentation.then(|| str(key.doc)))
}

/// The (name, value, source) triples older tests read.
#[cfg(test)]
impl Broker {
    pub(crate) fn topic_config_entries(&self, topic: &TopicImage) -> Vec<(String, String, i8)> {
        triples(self.topic_configs(topic, Include::default()))
    }
    pub(crate) fn broker_config_entries(&self) -> Vec<(String, String, i8)> {
        triples(self.broker_configs(Include::default()))
    }
}

#[cfg(test)]
fn triples(configs: Vec<DescribeConfigsResourceResult>) -> Vec<(String, String, i8)> {
    let text = |v: Option<StrBytes>| v.map(|v| v.to_string()).unwrap_or_default();
    configs.into_iter().map(|c| (c.name.to_string(), text(c.value), c.config_source)).collect()
}

#[cfg(test)]
mod tests;
