//! Creating a topic: its name and configs checked, its replicas placed,
//! and its records built — TopicRecord, one ConfigRecord per override, one
//! PartitionRecord per partition, in Kafka's order — for one batch.
//!
//! ```text
//!  CreatableTopic ─▶ validate_topic (name, counts, configs: no image needed)
//!                 ─▶ topic_records  (exists? placement or the explicit
//!                                    assignment, ISR = the active replicas,
//!                                    leader = the first of them)
//!                 ─▶ records + CreatedTopic
//! ```
//!
//! The single-node broker runs the same two steps, as a cluster of one
//! ([`ClusterView::single`]), with its own log checks in between.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::placement::{place, UsableBroker};
use super::{Batch, Controller, ControllerConfig, ControllerResult, Random};
use crate::log::LogConfig;
use crate::metadata::records::{PartitionRecord, DIRECTORY_MIGRATING, DIRECTORY_UNASSIGNED, RESOURCE_TOPIC};
use crate::metadata::{MetadataImage, MetadataRecord};

/// A topic-level error: Kafka's code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    pub code: ResponseError,
    pub message: String,
}

impl TopicError {
    pub fn new(code: ResponseError, message: impl Into<String>) -> Self {
        TopicError { code, message: message.into() }
    }
}

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

/// Checks one topic config override against the config table
/// ([`crate::config::def::topic_key`]): an unknown key, or a value its type or
/// range refuses, is `INVALID_CONFIG` naming the key. CreateTopics and the
/// alter APIs call this with each `key=value` they are given.
pub fn validate_topic_config(key: &str, value: &str) -> Result<(), TopicError> {
    let invalid = |why: String| Err(TopicError::new(ResponseError::InvalidConfig, why));
    let Some(definition) = crate::config::def::topic_key(key) else {
        return invalid(format!("unknown topic config {key}"));
    };
    if let Err(why) = definition.validate(value) {
        return invalid(why);
    }
    // The log's own setter has the last word on the keys it reads (the
    // table's ranges are its ranges, so this refuses nothing the table took).
    if let Err(why) = LogConfig::default().set(key, value) {
        return invalid(why);
    }
    Ok(())
}

/// The most records one operation may commit (Kafka's
/// `QuorumController.MAX_RECORDS_PER_USER_OP`): a limit on what one request
/// can make the controller build and the log write in one batch.
pub const MAX_RECORDS_PER_USER_OP: usize = 10_000;

/// Kafka's answer to an operation past [`MAX_RECORDS_PER_USER_OP`].
pub(super) fn too_large() -> TopicError {
    TopicError::new(ResponseError::PolicyViolation, "Unable to perform excessively large batch operation.")
}

/// A CreateTopics entry's fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatableTopic {
    pub name: String,
    /// -1: `num.partitions` (or the assignment's count).
    pub num_partitions: i32,
    /// -1: `default.replication.factor` (or the assignment's).
    pub replication_factor: i16,
    /// Explicit replicas per partition index; empty to let the placer choose.
    pub assignments: Vec<(i32, Vec<i32>)>,
    pub configs: BTreeMap<String, String>,
}

/// A created topic, as CreateTopics answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedTopic {
    pub topic_id: Uuid,
    pub num_partitions: i32,
    pub replication_factor: i16,
}

/// One broker as topic creation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterBroker {
    pub id: i32,
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
    /// Where its new replicas' logs go (Kafka's `defaultDir`).
    pub default_dir: Uuid,
}

/// The brokers a topic can be placed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    pub brokers: Vec<ClusterBroker>,
}

impl ClusterView {
    /// The registered brokers of a cluster.
    pub fn of(image: &MetadataImage) -> Self {
        let brokers = image
            .brokers()
            .values()
            .map(|b| ClusterBroker {
                id: b.id,
                fenced: b.fenced,
                in_controlled_shutdown: b.in_controlled_shutdown,
                default_dir: match b.log_dirs.as_slice() {
                    [] => DIRECTORY_MIGRATING,
                    [one] => *one,
                    _ => DIRECTORY_UNASSIGNED,
                },
            })
            .collect();
        ClusterView { brokers }
    }

    /// A single-node broker: itself, the one live broker, registered
    /// implicitly (its metadata log has no RegisterBrokerRecord).
    pub fn single(node_id: i32) -> Self {
        let me = ClusterBroker {
            id: node_id,
            fenced: false,
            in_controlled_shutdown: false,
            default_dir: DIRECTORY_UNASSIGNED,
        };
        ClusterView { brokers: vec![me] }
    }

    pub(super) fn broker(&self, id: i32) -> Option<&ClusterBroker> {
        self.brokers.iter().find(|b| b.id == id)
    }

    pub(super) fn is_active(&self, id: i32) -> bool {
        self.broker(id).is_some_and(|b| !b.fenced && !b.in_controlled_shutdown)
    }

    pub(super) fn usable(&self) -> Vec<UsableBroker> {
        let usable = self.brokers.iter().filter(|b| !b.in_controlled_shutdown);
        usable.map(|b| UsableBroker { id: b.id, fenced: b.fenced }).collect()
    }
}

// ANCHOR: validate_topic
/// The checks that need no image: the name, the counts (resolving -1 to the
/// defaults) and the config overrides. Answers the partition count and
/// replication factor, -1 when an explicit assignment decides them.
pub fn validate_topic(config: &ControllerConfig, topic: &CreatableTopic) -> Result<(i32, i16), TopicError> {
    validate_topic_name(&topic.name)?;
    let counts = if !topic.assignments.is_empty() {
        if topic.num_partitions != -1 || topic.replication_factor != -1 {
            let message = "both a partition count or replication factor and an assignment";
            return Err(TopicError::new(ResponseError::InvalidRequest, message));
        }
        (-1, -1)
    } else if topic.replication_factor < -1 || topic.replication_factor == 0 {
        let message = "Replication factor must be larger than 0, or -1 to use the default value.";
        return Err(TopicError::new(ResponseError::InvalidReplicationFactor, message));
    } else if topic.num_partitions < -1 || topic.num_partitions == 0 {
        let message = "Number of partitions was set to an invalid non-positive value.";
        return Err(TopicError::new(ResponseError::InvalidPartitions, message));
    } else {
        let partitions =
            if topic.num_partitions == -1 { config.num_partitions } else { topic.num_partitions };
        let factor = match topic.replication_factor {
            -1 => config.default_replication_factor,
            rf => rf,
        };
        (partitions, factor)
    };
    validate_topic_configs(&topic.configs)?;
    Ok(counts)
}
// ANCHOR_END: validate_topic

/// A topic's whole set of overrides checked: each key
/// ([`validate_topic_config`]), then the keys checked together
/// (`LogConfig.validateValues`: the compaction lags). CreateTopics and the
/// config APIs ([`super::configs`]) both call it.
pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<(), TopicError> {
    for (k, v) in configs {
        validate_topic_config(k, v)?;
    }
    let mut together = LogConfig::default();
    for (k, v) in configs {
        if let Err(why) = together.set(k, v) {
            return Err(TopicError::new(ResponseError::InvalidConfig, why));
        }
    }
    Ok(())
}

// ANCHOR: topic_records
/// The records that create `topic` (already through [`validate_topic`]) in
/// `image`, its replicas placed on `cluster`'s brokers.
pub fn topic_records(
    image: &MetadataImage,
    cluster: &ClusterView,
    topic: &CreatableTopic,
    (partitions, replication_factor): (i32, i16),
    random: &mut dyn Random,
) -> Result<(Vec<MetadataRecord>, CreatedTopic), TopicError> {
    if image.topic(&topic.name).is_some() {
        let message = format!("Topic '{}' already exists.", topic.name);
        return Err(TopicError::new(ResponseError::TopicAlreadyExists, message));
    }
    let partition_count =
        if topic.assignments.is_empty() { partitions as usize } else { topic.assignments.len() };
    if 1 + topic.configs.len() + partition_count > MAX_RECORDS_PER_USER_OP {
        return Err(too_large());
    }
    let replica_sets = if topic.assignments.is_empty() {
        let placed = place(&cluster.usable(), partitions, replication_factor, random).map_err(|why| {
            let message = format!("Unable to replicate the partition {replication_factor} time(s): {why}");
            TopicError::new(ResponseError::InvalidReplicationFactor, message)
        })?;
        placed.into_iter().enumerate().map(|(i, r)| (i as i32, r)).collect()
    } else {
        check_assignments(cluster, &topic.assignments)?
    };
    let topic_id = random.topic_id();
    let mut records = vec![MetadataRecord::Topic { name: topic.name.clone(), topic_id }];
    records.extend(topic.configs.iter().map(|(k, v)| MetadataRecord::Config {
        resource_type: RESOURCE_TOPIC,
        resource_name: topic.name.clone(),
        name: k.clone(),
        value: Some(v.clone()),
    }));
    for (partition_id, replicas) in &replica_sets {
        let isr: Vec<i32> = replicas.iter().copied().filter(|r| cluster.is_active(*r)).collect();
        let Some(&leader) = isr.first() else {
            let message = if topic.assignments.is_empty() {
                format!(
                    "Unable to replicate the partition {replication_factor} time(s): All brokers are currently fenced or in controlled shutdown."
                )
            } else {
                format!(
                    "All brokers specified in the manual partition assignment for partition {partition_id} are fenced or in controlled shutdown."
                )
            };
            let code = if topic.assignments.is_empty() {
                ResponseError::InvalidReplicationFactor
            } else {
                ResponseError::InvalidReplicaAssignment
            };
            return Err(TopicError::new(code, message));
        };
        let directories = replicas.iter().map(|r| cluster.broker(*r).expect("placed on it").default_dir);
        records.push(MetadataRecord::Partition(PartitionRecord {
            partition_id: *partition_id,
            topic_id,
            replicas: replicas.clone(),
            isr,
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader,
            leader_recovery_state: 0,
            leader_epoch: 0,
            partition_epoch: 0,
            directories: directories.collect(),
        }));
    }
    let created = CreatedTopic {
        topic_id,
        num_partitions: replica_sets.len() as i32,
        replication_factor: replica_sets.first().map_or(0, |(_, r)| r.len() as i16),
    };
    Ok((records, created))
}
// ANCHOR_END: topic_records

/// Kafka's checks of a manual assignment: each partition once, a non-empty
/// replica list of registered brokers, each once, the same replication
/// factor throughout, and partitions numbered 0..n. Answers it sorted.
fn check_assignments(
    cluster: &ClusterView,
    assignments: &[(i32, Vec<i32>)],
) -> Result<Vec<(i32, Vec<i32>)>, TopicError> {
    let invalid = |message: String| Err(TopicError::new(ResponseError::InvalidReplicaAssignment, message));
    let mut sorted: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let mut factor = None;
    for (partition, replicas) in assignments {
        if sorted.contains_key(partition) {
            return invalid(format!("Found multiple manual partition assignments for partition {partition}"));
        }
        if replicas.is_empty() {
            return invalid("The manual partition assignment includes an empty replica list.".into());
        }
        let mut ids = replicas.clone();
        ids.sort_unstable();
        for (i, id) in ids.iter().enumerate() {
            if cluster.broker(*id).is_none() {
                return invalid(format!(
                    "The manual partition assignment includes broker {id}, but no such broker is registered."
                ));
            }
            if i > 0 && ids[i - 1] == *id {
                return invalid(format!(
                    "The manual partition assignment includes the broker {id} more than once."
                ));
            }
        }
        if let Some(factor) = factor.filter(|f| *f != replicas.len()) {
            return invalid(format!(
                "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have {factor} replica(s).",
                replicas.len()
            ));
        }
        factor = Some(replicas.len());
        sorted.insert(*partition, replicas.clone());
    }
    if !sorted.keys().copied().eq(0..sorted.len() as i32) {
        return invalid("partitions should be a consecutive 0-based integer sequence".into());
    }
    Ok(sorted.into_iter().collect())
}

impl Controller {
    // ANCHOR: create_topics
    /// CreateTopics on a cluster: each topic checked and placed on the
    /// registered brokers; a name listed twice is refused everywhere it
    /// appears (INVALID_REQUEST). The records of every created topic go in
    /// one batch.
    pub fn create_topics(
        &self,
        image: &MetadataImage,
        topics: &[CreatableTopic],
        random: &mut dyn Random,
    ) -> ControllerResult<Vec<Result<CreatedTopic, TopicError>>> {
        let cluster = ClusterView::of(image);
        let mut batch = Batch::new(image);
        let mut answers = Vec::new();
        for topic in topics {
            if topics.iter().filter(|t| t.name == topic.name).count() > 1 {
                let message = format!("topic {} is listed more than once", topic.name);
                answers.push(Err(TopicError::new(ResponseError::InvalidRequest, message)));
                continue;
            }
            let created = validate_topic(&self.config, topic)
                .and_then(|counts| topic_records(&batch.image, &cluster, topic, counts, random))
                .and_then(|(records, created)| {
                    // The whole request is one batch, under the same limit.
                    if batch.records.len() + records.len() > MAX_RECORDS_PER_USER_OP {
                        return Err(too_large());
                    }
                    Ok((records, created))
                });
            answers.push(created.map(|(records, created)| {
                records.into_iter().for_each(|r| batch.push(r));
                created
            }));
        }
        batch.finish(answers)
    }
    // ANCHOR_END: create_topics
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

    /// Chapter 10's topic keys are checked against Kafka's ranges, not
    /// passed through: a dirty ratio of 1.5 or a negative lag is
    /// INVALID_CONFIG naming the key, and so is a minimum compaction lag
    /// above the maximum given in the same request (`LogConfig.validateValues`).
    #[test]
    fn compaction_configs_are_checked() {
        for (key, value) in [
            ("min.cleanable.dirty.ratio", "1.5"),
            ("min.cleanable.dirty.ratio", "banana"),
            ("delete.retention.ms", "-5"),
            ("min.compaction.lag.ms", "-1"),
            ("max.compaction.lag.ms", "0"),
        ] {
            let error = validate_topic_config(key, value).expect_err(key);
            assert_eq!(error.code, ResponseError::InvalidConfig, "{key}");
            assert!(error.message.contains(key), "{}", error.message);
        }
        assert!(validate_topic_config("min.cleanable.dirty.ratio", "0.1").is_ok());
        let topic = |min: &str, max: &str| CreatableTopic {
            name: "t".into(),
            num_partitions: 1,
            replication_factor: 1,
            configs: [("min.compaction.lag.ms", min), ("max.compaction.lag.ms", max)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..CreatableTopic::default()
        };
        let config = ControllerConfig::default();
        let error = validate_topic(&config, &topic("200", "100")).unwrap_err();
        assert_eq!(error.code, ResponseError::InvalidConfig);
        assert!(error.message.contains("min.compaction.lag.ms"), "{}", error.message);
        assert!(validate_topic(&config, &topic("100", "200")).is_ok());
    }
}
