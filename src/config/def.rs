//! The one table of configs: every key spool knows, broker and topic, with
//! its type, default, valid values, documentation, scope and whether it can
//! change at runtime — Kafka's `ConfigDef` (`LogConfig.CONFIG`,
//! `KafkaConfig`'s definitions, `ServerTopicConfigSynonyms`) as data.
//!
//! ```text
//!                      ┌──────────── def::BROKER_KEYS ───────────┐
//!  server.properties ─▶│ name · type · default · valid · doc      │─▶ BrokerConfig::set
//!  --override k=v      │ dynamic? · synonyms · field · value()    │─▶ DescribeConfigs (broker)
//!                      └──────────────────────────────────────────┘─▶ book/src/reference/configs.md
//!                      ┌──────────── def::TOPIC_KEYS ────────────┐
//!  CreateTopics ──────▶│ name · type · default · valid · doc      │─▶ validate_topic_config
//!  (alter configs)     │ broker synonyms, in Kafka's order        │─▶ DescribeConfigs (topic)
//!                      └──────────────────────────────────────────┘
//! ```
//!
//! Kafka checks a value in two steps — parse it as the key's type, then ask the
//! key's validator (`atLeast`, `between`, `in`, `ValidList.in`) — and so does
//! [`ConfigKey::validate`]; every error names the key. The struct fields are
//! still set by the layer that owns them (`BrokerConfig::set`, `LogConfig::set`,
//! …), but only for a key the table lists: a key it does not list is ignored
//! with a warning, as before, and a value it refuses never reaches them.
//!
//! The lookups other layers use are [`topic_key`] and [`broker_key`] (for
//! example: "is `log.retention.ms` dynamic?" is
//! `broker_key("log.retention.ms").map(|k| k.dynamic)`).
//!
//! Simplifications: a key's importance (HIGH/MEDIUM/LOW) is not kept; the
//! `Dynamic` column lists only keys spool can apply at runtime, which are
//! fewer than Kafka's `DynamicBrokerConfig` (thread pools, listeners and
//! SSL stores cannot be reconfigured here).

mod broker;
mod docs;
mod topic;

pub use broker::BROKER_KEYS;
pub use docs::{reference_page, REGENERATE};
pub use topic::TOPIC_KEYS;

use super::BrokerConfig;
use crate::log::LogConfig;

/// How a value is parsed: Kafka's `ConfigDef.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    Int,
    Long,
    Double,
    String,
    /// Comma-separated values.
    List,
    /// A Java class name: spool loads no plugins, so only the name is kept.
    Class,
    /// A secret: never shown by DescribeConfigs.
    Password,
}

impl ConfigType {
    /// The lower-case name Kafka's documentation uses.
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "boolean",
            ConfigType::Int => "int",
            ConfigType::Long => "long",
            ConfigType::Double => "double",
            ConfigType::String => "string",
            ConfigType::List => "list",
            ConfigType::Class => "class",
            ConfigType::Password => "password",
        }
    }

    /// DescribeConfigs' `config_type` (v3+): `DescribeConfigsResponse.ConfigType`'s id.
    pub fn describe_configs_id(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String => 2,
            ConfigType::Int => 3,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List => 7,
            ConfigType::Class => 8,
            ConfigType::Password => 9,
        }
    }
}

/// What values a key accepts beyond its type: Kafka's validators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Valid {
    /// Any value of the type.
    Any,
    /// An integer at least this (`atLeast`).
    AtLeast(i64),
    /// An integer in `[min, max]` (`between`).
    Between(i64, i64),
    /// A double in `[min, max]`, and not NaN.
    DoubleBetween(f64, f64),
    /// A double greater than `min` and at most `max`.
    DoubleAbove(f64, f64),
    /// One of these strings (`ValidString.in`).
    OneOf(&'static [&'static str]),
    /// A non-empty list of these strings (`ValidList.in`).
    ListOf(&'static [&'static str]),
}

/// Whether a broker key can change without a restart, and where: Kafka's
/// `DynamicBrokerConfig` classes. Topic keys are always per-topic overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// Read at startup only: DescribeConfigs says `read_only`.
    ReadOnly,
    /// Alterable for one broker (`--entity-name <id>`).
    PerBroker,
    /// Alterable for one broker or as the cluster-wide default (`--entity-default`).
    ClusterWide,
}

impl Dynamic {
    /// As the reference page words it (Kafka's "Update Mode").
    pub fn name(self) -> &'static str {
        match self {
            Dynamic::ReadOnly => "read-only",
            Dynamic::PerBroker => "per-broker",
            Dynamic::ClusterWide => "cluster-wide",
        }
    }
}

/// Reads a broker key's current value out of the parsed config.
pub type BrokerValue = fn(&BrokerConfig) -> String;
/// Reads a topic key's effective value: the topic's log config (its overrides
/// over the broker's `log.*` keys) and the broker config for the rest.
pub type TopicValue = fn(&LogConfig, &BrokerConfig) -> String;

/// One key of the table. Built with the `const fn`s below, so each table row
/// reads like Kafka's `.define(name, TYPE, default, validator, doc)`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigKey {
    pub name: &'static str,
    pub kind: ConfigType,
    /// The default as Kafka writes it; `None` is Kafka's `null` (no default).
    pub default: Option<&'static str>,
    pub valid: Valid,
    /// One line, our words.
    pub doc: &'static str,
    /// Broker keys only; topic keys are [`Dynamic::ReadOnly`] here and always alterable per topic.
    pub dynamic: Dynamic,
    /// For a topic key, the broker keys that set its default, in Kafka's order
    /// (the first one set wins); for a broker key, the other names of the same
    /// setting (`log.retention.minutes` for `log.retention.ms`), Kafka's
    /// `DynamicBrokerConfig.brokerConfigSynonyms`.
    pub synonyms: &'static [&'static str],
    /// The struct field it sets (`LogConfig::retention_ms`); empty when spool
    /// accepts the key and does not use it.
    pub field: &'static str,
    /// Its broker value, for a broker key spool uses.
    pub broker_value: Option<BrokerValue>,
    /// Its effective value, for a topic key spool uses.
    pub topic_value: Option<TopicValue>,
}

impl ConfigKey {
    /// A key of `kind` with `default`, accepting any value of its type.
    pub const fn new(
        name: &'static str,
        kind: ConfigType,
        default: Option<&'static str>,
        doc: &'static str,
    ) -> Self {
        ConfigKey {
            name,
            kind,
            default,
            valid: Valid::Any,
            doc,
            dynamic: Dynamic::ReadOnly,
            synonyms: &[],
            field: "",
            broker_value: None,
            topic_value: None,
        }
    }
    pub const fn valid(mut self, valid: Valid) -> Self {
        self.valid = valid;
        self
    }
    pub const fn dynamic(mut self, dynamic: Dynamic) -> Self {
        self.dynamic = dynamic;
        self
    }
    pub const fn synonyms(mut self, synonyms: &'static [&'static str]) -> Self {
        self.synonyms = synonyms;
        self
    }
    /// The field this key sets and how DescribeConfigs reads it back.
    pub const fn broker(mut self, field: &'static str, value: BrokerValue) -> Self {
        self.field = field;
        self.broker_value = Some(value);
        self
    }
    /// The field this topic key sets and how DescribeConfigs reads it back.
    pub const fn topic(mut self, field: &'static str, value: TopicValue) -> Self {
        self.field = field;
        self.topic_value = Some(value);
        self
    }
    /// A key spool accepts and stores without a value of its own to report
    /// (an alias such as `log.retention.hours`).
    pub const fn field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }

    /// Is `value` acceptable for this key? Parsed as the key's type, then
    /// checked against its valid values; the error names the key.
    pub fn validate(&self, value: &str) -> Result<(), String> {
        let v = value.trim();
        let invalid = |why: &str| Err(format!("invalid value {value:?} for {}: {why}", self.name));
        match self.kind {
            ConfigType::Boolean => {
                // Any case, as Kafka's ConfigDef parses a BOOLEAN.
                if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                    return invalid("expected true or false");
                }
            }
            ConfigType::Int => match v.parse::<i32>() {
                Ok(n) => return self.check_integer(value, n.into()),
                Err(_) => return invalid("expected a 32-bit integer"),
            },
            ConfigType::Long => match v.parse::<i64>() {
                Ok(n) => return self.check_integer(value, n),
                Err(_) => return invalid("expected a 64-bit integer"),
            },
            ConfigType::Double => match v.parse::<f64>() {
                Ok(x) if !x.is_nan() => return self.check_double(value, x),
                _ => return invalid("expected a number"),
            },
            ConfigType::String | ConfigType::Class | ConfigType::Password => {
                if let Valid::OneOf(choices) = self.valid {
                    if !choices.contains(&v) {
                        return invalid(&format!("must be one of {}", choices.join(", ")));
                    }
                }
            }
            ConfigType::List => {
                // An empty list is allowed where it is the default (`process.roles`).
                if let (Valid::ListOf(choices), false) =
                    (self.valid, v.is_empty() && self.default == Some(""))
                {
                    let items: Vec<&str> = v.split(',').map(str::trim).collect();
                    if items.iter().any(|i| !choices.contains(i)) {
                        return invalid(&format!("each item must be one of {}", choices.join(", ")));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_integer(&self, value: &str, n: i64) -> Result<(), String> {
        let bad = |why: String| Err(format!("invalid value {value:?} for {}: {why}", self.name));
        match self.valid {
            Valid::AtLeast(min) if n < min => bad(format!("must be at least {min}")),
            Valid::Between(min, max) if n < min || n > max => bad(format!("must be between {min} and {max}")),
            _ => Ok(()),
        }
    }

    fn check_double(&self, value: &str, x: f64) -> Result<(), String> {
        let bad = |why: String| Err(format!("invalid value {value:?} for {}: {why}", self.name));
        match self.valid {
            Valid::DoubleBetween(min, max) if !(min..=max).contains(&x) => {
                bad(format!("must be between {min} and {max}"))
            }
            Valid::DoubleAbove(min, max) if x <= min || x > max => {
                bad(format!("must be greater than {min} and at most {max}"))
            }
            _ => Ok(()),
        }
    }

    /// The valid values, as the reference page shows them.
    pub fn valid_text(&self) -> String {
        match self.valid {
            Valid::Any => String::new(),
            Valid::AtLeast(min) => format!("[{min},...]"),
            Valid::Between(min, max) => format!("[{min},...,{max}]"),
            Valid::DoubleBetween(min, max) => format!("[{min:?},...,{max:?}]"),
            Valid::DoubleAbove(min, max) => format!("({min:?},...,{max:?}]"),
            Valid::OneOf(choices) | Valid::ListOf(choices) => format!("[{}]", choices.join(", ")),
        }
    }

    /// Sensitive keys' values are never shown.
    pub fn is_sensitive(&self) -> bool {
        self.kind == ConfigType::Password
    }
}

/// The topic key named `name` (`retention.ms`), if Kafka has one spool knows.
/// CreateTopics and the alter APIs refuse any other with `INVALID_CONFIG`.
pub fn topic_key(name: &str) -> Option<&'static ConfigKey> {
    TOPIC_KEYS.iter().find(|k| k.name == name)
}

/// The broker key named `name` (`log.retention.ms`, `node.id`), if spool
/// knows it; its [`ConfigKey::dynamic`] says whether it can be altered at runtime.
pub fn broker_key(name: &str) -> Option<&'static ConfigKey> {
    BROKER_KEYS.iter().find(|k| k.name == name)
}

/// A double as Java's `Double.toString` writes it, since DescribeConfigs
/// shows Kafka's text: `0.5`, `1.0`, `1.7976931348623157E308`.
pub fn java_double(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = value.to_string();
        return if text.contains('.') { text } else { format!("{text}.0") };
    }
    let text = format!("{value:e}");
    let (mantissa, exponent) = text.split_once('e').expect("{:e} has an exponent");
    let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
    format!("{mantissa}E{exponent}")
}

#[cfg(test)]
mod tests;
