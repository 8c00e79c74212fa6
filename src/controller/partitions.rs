//! CreatePartitions (KIP-195): more partitions for a topic that exists.
//!
//! A topic's partition count only grows. The request names the new total
//! (`count`), and either lets the controller place the new partitions or
//! gives their replicas (`assignments`, one list per new partition). The
//! answer is the same records a topic's creation ends with — one
//! PartitionRecord per new partition, numbered on from the last one — so a
//! broker replaying the log opens the new logs and takes its roles exactly as
//! it does for a new topic, and Metadata lists them at once:
//!
//! ```text
//!  "orders" has 0 1 2 ──CreatePartitions(count 5)──▶ PartitionRecord 3, PartitionRecord 4
//!                                                     (replicas placed with the topic's
//!                                                      replication factor, ISR = the active
//!                                                      replicas, leader = the first of them)
//! ```
//!
//! Producers see the new partitions on their next metadata refresh; a
//! consumer group's leader sees them on its own and rejoins, and the
//! coordinator's rebalance hands them out (chapter 5).
//!
//! Checks, as Kafka's `ReplicationControlManager.createPartitions` makes them:
//! an unknown topic is UNKNOWN_TOPIC_OR_PARTITION; a count not above today's
//! is INVALID_PARTITIONS; assignments that do not give exactly one replica
//! list per new partition, or name an unregistered broker, a broker twice, or
//! another replication factor than the topic's, are INVALID_REPLICA_ASSIGNMENT;
//! a topic named twice in one request is INVALID_REQUEST for each entry.
//!
//! Simplification, and one departure: Kafka's controller lets an operator add
//! partitions to `__consumer_offsets` and `__transaction_state` (its
//! coordinators keep hashing over the configured count, so the new
//! partitions are dead weight). spool's coordinators hash over the count
//! the image shows, so more partitions would move every group and
//! transactional id away from its state: spool refuses, with
//! INVALID_REQUEST, and changes nothing.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;

use super::placement::place;
use super::topics::{too_large, ClusterView, TopicError, MAX_RECORDS_PER_USER_OP};
use super::{Batch, Controller, ControllerResult, Random};
use crate::metadata::records::PartitionRecord;
use crate::metadata::{MetadataImage, MetadataRecord};

/// One topic of a CreatePartitions request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewPartitions {
    pub name: String,
    /// The partition count wanted, new partitions included.
    pub count: i32,
    /// The replicas of each new partition, in partition order; `None` lets
    /// the controller place them.
    pub assignments: Option<Vec<Vec<i32>>>,
}

// ANCHOR: partition_records
/// The PartitionRecords that take `topic` to its new count in `image`, the
/// new partitions placed on `cluster`'s brokers. Answers the records.
pub fn partition_records(
    image: &MetadataImage,
    cluster: &ClusterView,
    topic: &NewPartitions,
    random: &mut dyn Random,
) -> Result<Vec<MetadataRecord>, TopicError> {
    if topic.name == crate::group::CONSUMER_OFFSETS_TOPIC || topic.name == crate::txn::TRANSACTION_STATE_TOPIC
    {
        let message = format!(
            "Cannot add partitions to the internal topic {}: its coordinators find their state by its partition count.",
            topic.name
        );
        return Err(TopicError::new(ResponseError::InvalidRequest, message));
    }
    let Some(existing) = image.topic(&topic.name) else {
        let message = format!("This server does not host the topic {}.", topic.name);
        return Err(TopicError::new(ResponseError::UnknownTopicOrPartition, message));
    };
    let current = existing.partitions.len() as i32;
    let invalid_partitions =
        |message: String| Err(TopicError::new(ResponseError::InvalidPartitions, message));
    if topic.count == current {
        return invalid_partitions(format!("Topic already has {current} partition(s)."));
    }
    if topic.count < current {
        return invalid_partitions(format!(
            "The topic {} currently has {current} partition(s); {} would not be an increase.",
            topic.name, topic.count
        ));
    }
    let additional = topic.count - current;
    if additional as usize > MAX_RECORDS_PER_USER_OP {
        return Err(too_large());
    }
    let replication_factor = existing.partitions.values().next().map_or(1, |p| p.replicas.len());
    let replica_sets = match &topic.assignments {
        Some(assignments) => check_assignments(cluster, assignments, additional, replication_factor)?,
        None => place(&cluster.usable(), additional, replication_factor as i16, random).map_err(|why| {
            let message = format!("Unable to replicate the partition {replication_factor} time(s): {why}");
            TopicError::new(ResponseError::InvalidReplicationFactor, message)
        })?,
    };
    let mut records = Vec::with_capacity(replica_sets.len());
    for (partition_id, replicas) in (current..).zip(replica_sets) {
        let isr: Vec<i32> = replicas.iter().copied().filter(|r| cluster.is_active(*r)).collect();
        let Some(&leader) = isr.first() else {
            let (code, message) = if topic.assignments.is_some() {
                let message = format!("All brokers specified in the manual partition assignment for partition {partition_id} are fenced or in controlled shutdown.");
                (ResponseError::InvalidReplicaAssignment, message)
            } else {
                let message = format!("Unable to replicate the partition {replication_factor} time(s): All brokers are currently fenced or in controlled shutdown.");
                (ResponseError::InvalidReplicationFactor, message)
            };
            return Err(TopicError::new(code, message));
        };
        let directories = replicas.iter().map(|r| cluster.broker(*r).expect("checked or placed").default_dir);
        records.push(MetadataRecord::Partition(PartitionRecord {
            partition_id,
            topic_id: existing.topic_id,
            directories: directories.collect(),
            replicas,
            isr,
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader,
            leader_recovery_state: 0,
            leader_epoch: 0,
            partition_epoch: 0,
        }));
    }
    Ok(records)
}
// ANCHOR_END: partition_records

/// Kafka's checks of the replica lists given for the new partitions: one
/// per new partition, each non-empty, of registered brokers named once, as
/// many as the topic's replication factor.
fn check_assignments(
    cluster: &ClusterView,
    assignments: &[Vec<i32>],
    additional: i32,
    replication_factor: usize,
) -> Result<Vec<Vec<i32>>, TopicError> {
    let invalid = |message: String| Err(TopicError::new(ResponseError::InvalidReplicaAssignment, message));
    if assignments.len() != additional as usize {
        return invalid(format!(
            "Attempted to add {additional} additional partition(s), but only {} assignment(s) were specified.",
            assignments.len()
        ));
    }
    for replicas in assignments {
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
        if replicas.len() != replication_factor {
            return invalid(format!(
                "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have {replication_factor} replica(s).",
                replicas.len()
            ));
        }
    }
    Ok(assignments.to_vec())
}

// ANCHOR: create_partitions
/// CreatePartitions on `cluster`: each topic checked and its new partitions
/// placed; a topic named twice is refused everywhere it appears
/// (INVALID_REQUEST, "Duplicate topic name."). The records of every topic
/// that grows go in one batch.
pub fn create_partitions(
    image: &MetadataImage,
    cluster: &ClusterView,
    topics: &[NewPartitions],
    random: &mut dyn Random,
) -> ControllerResult<Vec<Result<(), TopicError>>> {
    let mut named = BTreeMap::new();
    for topic in topics {
        *named.entry(topic.name.as_str()).or_insert(0) += 1;
    }
    let mut batch = Batch::new(image);
    let mut answers = Vec::with_capacity(topics.len());
    for topic in topics {
        if named[topic.name.as_str()] > 1 {
            answers.push(Err(TopicError::new(ResponseError::InvalidRequest, "Duplicate topic name.")));
            continue;
        }
        let records = partition_records(&batch.image, cluster, topic, random).and_then(|records| {
            // The whole request is one batch, under the same limit.
            if batch.records.len() + records.len() > MAX_RECORDS_PER_USER_OP {
                return Err(too_large());
            }
            Ok(records)
        });
        answers.push(records.map(|records| records.into_iter().for_each(|r| batch.push(r))));
    }
    batch.finish(answers)
}
// ANCHOR_END: create_partitions

impl Controller {
    /// CreatePartitions on the registered brokers of a cluster.
    pub fn create_partitions(
        &self,
        image: &MetadataImage,
        topics: &[NewPartitions],
        random: &mut dyn Random,
    ) -> ControllerResult<Vec<Result<(), TopicError>>> {
        create_partitions(image, &ClusterView::of(image), topics, random)
    }
}

#[cfg(test)]
mod tests;
