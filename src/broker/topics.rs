//! Creating and deleting topics: the controller's side. A topic is created by
//! committing its records to the metadata log — TopicRecord, one PartitionRecord
//! per partition, one ConfigRecord per override — in one batch. The partition
//! logs are opened *before* the commit: a topic whose logs cannot be created
//! (no file descriptor left, a full disk) is not committed, its client gets
//! `KAFKA_STORAGE_ERROR`, and the logs already opened for it are removed.
//! (Kafka's controller commits first and a broker that cannot create the log
//! marks its directory offline; with the controller and the only broker in one
//! process, refusing the topic is the gentler equivalent.)

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{now_ms, Broker, Error};
use crate::log::LogConfig;
use crate::metadata::records::RESOURCE_TOPIC;
use crate::metadata::MetadataRecord;
use crate::TopicPartition;

/// A topic-level error: Kafka's code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    pub code: ResponseError,
    pub message: String,
}

impl TopicError {
    fn new(code: ResponseError, message: impl Into<String>) -> Self {
        TopicError { code, message: message.into() }
    }
}

/// Topic config keys Kafka knows, with the ones spool's log uses first.
pub const TOPIC_CONFIG_KEYS: &[&str] = &[
    "segment.bytes",
    "segment.ms",
    "segment.index.bytes",
    "index.interval.bytes",
    "retention.ms",
    "retention.bytes",
    "flush.messages",
    "flush.ms",
    "message.timestamp.type",
    "max.message.bytes",
    "compression.type",
    "cleanup.policy",
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "delete.retention.ms",
    "min.compaction.lag.ms",
    "max.compaction.lag.ms",
    "min.cleanable.dirty.ratio",
    "file.delete.delay.ms",
    "preallocate",
    "segment.jitter.ms",
    "message.timestamp.difference.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.after.max.ms",
    "message.downconversion.enable",
    "follower.replication.throttled.replicas",
    "leader.replication.throttled.replicas",
    "local.retention.ms",
    "local.retention.bytes",
    "remote.storage.enable",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
];

/// Kafka's topic name rules: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    let bad = |why: &str| Err(TopicError::new(ResponseError::InvalidTopicException, why));
    if name.is_empty() || name.len() > 249 {
        return bad("topic names are 1 to 249 characters long");
    }
    if name == "." || name == ".." {
        return bad("a topic cannot be named '.' or '..'");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return bad("topic names use only ASCII letters, digits, '.', '_' and '-'");
    }
    if name.starts_with("__cluster_metadata") {
        return bad("the name is reserved for the metadata log");
    }
    Ok(())
}

/// Checks one topic config override.
pub fn validate_topic_config(key: &str, value: &str) -> Result<(), TopicError> {
    let invalid = |why: String| Err(TopicError::new(ResponseError::InvalidConfig, why));
    if !TOPIC_CONFIG_KEYS.contains(&key) {
        return invalid(format!("unknown topic config {key}"));
    }
    match key {
        "compression.type" => {
            if !["producer", "uncompressed", "none", "gzip", "snappy", "lz4", "zstd"].contains(&value) {
                return invalid(format!("invalid compression.type {value:?}"));
            }
        }
        "cleanup.policy" => {
            if !value.split(',').map(str::trim).all(|p| p == "delete" || p == "compact") {
                return invalid(format!("invalid cleanup.policy {value:?}"));
            }
        }
        "max.message.bytes" | "min.insync.replicas" => {
            if value.parse::<i32>().map_or(true, |v| v < 0) {
                return invalid(format!("invalid {key} {value:?}"));
            }
        }
        _ => {
            let mut scratch = LogConfig::default();
            if let Err(why) = scratch.set(key, value) {
                return invalid(why);
            }
        }
    }
    Ok(())
}

impl Broker {
    // ANCHOR: create_topic
    /// Creates a topic: validates it, opens its partition logs, then commits
    /// its records to the metadata log as one batch. With `validate_only`,
    /// stops after validation (CreateTopics' dry run).
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(Uuid, i32, i16), TopicError> {
        validate_topic_name(name)?;
        let partitions = if partitions == -1 { self.config.num_partitions } else { partitions };
        let replication_factor = if replication_factor == -1 {
            self.config.default_replication_factor
        } else {
            replication_factor
        };
        if partitions < 1 {
            return Err(TopicError::new(ResponseError::InvalidPartitions, "partitions must be at least 1"));
        }
        if replication_factor != 1 {
            return Err(TopicError::new(
                ResponseError::InvalidReplicationFactor,
                format!("replication factor {replication_factor} is larger than the 1 available broker"),
            ));
        }
        for (k, v) in configs {
            validate_topic_config(k, v)?;
        }
        self.log_dir.check().map_err(|e| TopicError::new(e.kafka_error(), e.to_string()))?;
        let mut metadata = self.metadata_writer();
        if metadata.image().topic(name).is_some() {
            return Err(TopicError::new(
                ResponseError::TopicAlreadyExists,
                format!("topic {name} already exists"),
            ));
        }
        let topic_id = Uuid::new_v4();
        if validate_only {
            return Ok((topic_id, partitions, replication_factor));
        }
        let node = self.config.node_id;
        let mut records = vec![MetadataRecord::Topic { name: name.to_string(), topic_id }];
        records.extend((0..partitions).map(|p| {
            MetadataRecord::Partition(crate::metadata::records::PartitionRecord {
                partition_id: p,
                topic_id,
                replicas: vec![node],
                isr: vec![node],
                removing_replicas: vec![],
                adding_replicas: vec![],
                leader: node,
                leader_recovery_state: 0,
                leader_epoch: 0,
                partition_epoch: 0,
                directories: vec![crate::metadata::records::DIRECTORY_UNASSIGNED],
            })
        }));
        records.extend(configs.iter().map(|(k, v)| MetadataRecord::Config {
            resource_type: RESOURCE_TOPIC,
            resource_name: name.to_string(),
            name: k.clone(),
            value: Some(v.clone()),
        }));
        // The logs first: a topic is committed only once every partition has
        // one, so a failure (no file descriptors left, a full disk) leaves no
        // topic that Metadata lists but no produce can reach.
        let mut logs = self.lock_logs();
        let opened = self.open_partition_logs(&mut logs, name, partitions, configs)?;
        if let Err(e) = metadata.commit(&records, now_ms()) {
            remove_partition_logs(&mut logs, name, opened);
            return Err(self.metadata_failed(e.into()));
        }
        drop((logs, metadata));
        self.apply_image(now_ms()).map_err(|e| {
            let e = Error::from(e);
            TopicError::new(e.kafka_error(), e.to_string())
        })?;
        tracing::info!(topic = name, partitions, "created topic");
        Ok((topic_id, partitions, replication_factor))
    }
    // ANCHOR_END: create_topic

    /// Opens an empty log for each of a new topic's partitions. If one
    /// cannot be opened, removes the ones that were and answers
    /// `KAFKA_STORAGE_ERROR` with the cause. Returns how many were opened.
    fn open_partition_logs(
        &self,
        logs: &mut crate::log::LogManager,
        name: &str,
        partitions: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<i32, TopicError> {
        let config = self.topic_log_config(configs);
        for p in 0..partitions {
            let tp = TopicPartition::new(name, p);
            if let Err(e) = logs.get_or_create(&tp, Some(config.clone()), now_ms()) {
                tracing::warn!(%tp, error = %e, "cannot create the partition's log: topic not created");
                remove_partition_logs(logs, name, p);
                let message = format!("cannot create the log of {tp}: {e}");
                return Err(TopicError::new(ResponseError::KafkaStorageError, message));
            }
        }
        Ok(partitions)
    }

    /// A metadata commit failed: the commit was rolled back (the image and
    /// the log still agree). A storage failure takes the log directory, which
    /// holds the metadata log too, offline and is `KAFKA_STORAGE_ERROR`; a
    /// record the image refused is not a storage error ([`Error::kafka_error`]).
    fn metadata_failed(&self, e: Error) -> TopicError {
        if let Some(log_error) = e.log_error() {
            self.log_dir.fail(&crate::metadata::METADATA_TOPIC, log_error);
        }
        TopicError::new(e.kafka_error(), e.to_string())
    }

    /// Deletes a topic: a RemoveTopicRecord, then its logs and directories.
    /// The groups' offsets in it are the caller's next step
    /// (`Broker::delete_topic_offsets`, as DeleteTopics does), outside the metadata log's lock.
    pub fn delete_topic(&self, name: &str) -> Result<Uuid, TopicError> {
        if name == crate::group::CONSUMER_OFFSETS_TOPIC {
            // The group coordinator's log: deleting it would lose every group's offsets.
            return Err(TopicError::new(
                ResponseError::InvalidTopicException,
                "cannot delete internal topic",
            ));
        }
        let mut metadata = self.metadata_writer();
        let Some(topic) = metadata.image().topic(name) else {
            return Err(TopicError::new(ResponseError::UnknownTopicOrPartition, format!("no topic {name}")));
        };
        let (topic_id, partitions): (Uuid, Vec<i32>) =
            (topic.topic_id, topic.partitions.keys().copied().collect());
        metadata
            .commit(&[MetadataRecord::RemoveTopic { topic_id }], now_ms())
            .map_err(|e| self.metadata_failed(e.into()))?;
        let mut logs = self.lock_logs();
        // Out of the partition map first, so no new request finds the logs.
        {
            let mut map = self.partitions.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            for &p in &partitions {
                map.remove(&TopicPartition::new(name, p));
            }
        }
        for p in partitions {
            if let Err(e) = logs.delete(&TopicPartition::new(name, p)) {
                tracing::warn!(topic = name, partition = p, error = %e, "could not delete log directory");
            }
        }
        tracing::info!(topic = name, "deleted topic");
        Ok(topic_id)
    }
}

/// Removes the logs of a topic's first `count` partitions: a creation that
/// did not commit leaves no directory behind.
fn remove_partition_logs(logs: &mut crate::log::LogManager, name: &str, count: i32) {
    for p in 0..count {
        let tp = TopicPartition::new(name, p);
        if let Err(e) = logs.delete(&tp) {
            tracing::warn!(%tp, error = %e, "could not remove the log of a topic not created");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v2_eu-1").is_ok());
        for bad in ["", ".", "..", "has space", "slash/", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn topic_configs_are_checked() {
        assert!(validate_topic_config("retention.ms", "1000").is_ok());
        assert!(validate_topic_config("compression.type", "zstd").is_ok());
        assert!(validate_topic_config("cleanup.policy", "compact,delete").is_ok());
        assert!(validate_topic_config("retention.ms", "soon").is_err());
        assert!(validate_topic_config("compression.type", "brotli").is_err());
        assert!(validate_topic_config("no.such.key", "1").is_err());
    }
}
