//! A group member's settings: Kafka's consumer keys for groups.

use std::time::Duration;

use crate::client::assignor::{Assignor, RebalanceProtocol};
use crate::client::ClientError;

/// A group member's settings, with Kafka's keys and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.id`: required to `subscribe`.
    pub group_id: Option<String>,
    /// `partition.assignment.strategy`, in preference order (Kafka 3.x's
    /// default: `range, cooperative-sticky`).
    pub assignors: Vec<Assignor>,
    /// `session.timeout.ms` (45 s): no heartbeat for this long and the
    /// coordinator removes the member.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (3 s).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms` (5 min): also the rebalance timeout.
    pub max_poll_interval: Duration,
    /// `enable.auto.commit` (true).
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms` (5 s).
    pub auto_commit_interval: Duration,
    /// `group.instance.id`: a static member's identity (KIP-345).
    pub group_instance_id: Option<String>,
    /// `retry.backoff.ms` (100 ms): between attempts to join.
    pub retry_backoff: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_id: None,
            assignors: vec![Assignor::Range, Assignor::CooperativeSticky],
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            group_instance_id: None,
            retry_backoff: Duration::from_millis(100),
        }
    }
}

impl GroupConfig {
    /// The keys [`set`](Self::set) knows.
    pub const KEYS: &'static [&'static str] = &[
        "group.id",
        "group.instance.id",
        "partition.assignment.strategy",
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "max.poll.interval.ms",
        "auto.commit.interval.ms",
        "retry.backoff.ms",
        "enable.auto.commit",
    ];

    /// Sets one group property by Kafka's name: `Ok(false)` if `key` is not a
    /// group property, an error for a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ClientError> {
        let bad = || ClientError::InvalidArgument(format!("invalid value {value:?} for {key}"));
        let ms = |v: &str| v.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| bad());
        let name = |v: &str| Some(v.trim().to_string()).filter(|s| !s.is_empty());
        match key {
            "group.id" => self.group_id = name(value),
            "group.instance.id" => self.group_instance_id = name(value),
            "partition.assignment.strategy" => {
                let assignors: Vec<Assignor> = value
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(Assignor::parse)
                    .collect::<Result<_, _>>()?;
                if assignors.is_empty() {
                    return Err(bad());
                }
                self.assignors = assignors;
            }
            "session.timeout.ms" => self.session_timeout = ms(value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = ms(value)?,
            "max.poll.interval.ms" => self.max_poll_interval = ms(value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval = ms(value)?,
            "retry.backoff.ms" => self.retry_backoff = ms(value)?,
            "enable.auto.commit" => {
                self.enable_auto_commit = crate::client::producer::config::boolean(key, value)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Cooperative only if every listed assignor is (Kafka's rule: a group
    /// can settle on any of them).
    pub fn rebalance_protocol(&self) -> RebalanceProtocol {
        if self.assignors.iter().all(|a| a.protocol() == RebalanceProtocol::Cooperative) {
            RebalanceProtocol::Cooperative
        } else {
            RebalanceProtocol::Eager
        }
    }

    pub(super) fn validate(&self) -> Result<&str, ClientError> {
        let Some(group_id) = self.group_id.as_deref() else {
            return Err(ClientError::InvalidArgument("a group consumer needs group.id".into()));
        };
        if self.heartbeat_interval >= self.session_timeout {
            return Err(ClientError::InvalidArgument(
                "heartbeat.interval.ms must be lower than session.timeout.ms".into(),
            ));
        }
        if self.assignors.is_empty() {
            return Err(ClientError::InvalidArgument("partition.assignment.strategy is empty".into()));
        }
        Ok(group_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's keys and defaults: `range, cooperative-sticky` (so eager),
    /// class names accepted, bad values refused, unknown keys left to the
    /// caller; heartbeat.interval.ms must be below session.timeout.ms.
    #[test]
    fn group_settings_use_kafkas_keys() {
        let mut config = GroupConfig::default();
        assert_eq!(config.rebalance_protocol(), RebalanceProtocol::Eager);
        assert!(config.validate().is_err(), "no group.id");
        assert!(config.set("group.id", "billing").unwrap());
        assert!(config.set("partition.assignment.strategy", "cooperative-sticky").unwrap());
        assert_eq!(config.rebalance_protocol(), RebalanceProtocol::Cooperative);
        let classes = "org.apache.kafka.clients.consumer.RangeAssignor, roundrobin";
        assert!(config.set("partition.assignment.strategy", classes).unwrap());
        assert_eq!(config.assignors, vec![Assignor::Range, Assignor::RoundRobin]);
        assert!(config.set("partition.assignment.strategy", "sticky-ish").is_err());
        assert!(config.set("partition.assignment.strategy", " , ").is_err());
        assert!(config.set("enable.auto.commit", "yes").is_err());
        assert!(config.set("session.timeout.ms", "-1").is_err());
        assert!(!config.set("fetch.min.bytes", "1").unwrap(), "not a group key");
        assert!(config.set("group.instance.id", "host-a").unwrap());
        assert_eq!(config.group_instance_id.as_deref(), Some("host-a"));
        assert_eq!(config.validate().unwrap(), "billing");
        assert!(config.set("heartbeat.interval.ms", "45000").unwrap());
        assert!(config.validate().is_err(), "heartbeat interval ≥ session timeout");
    }
}
