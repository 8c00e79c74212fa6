//! The metadata image: what the metadata log says the cluster looks like now.
//!
//! Every broker builds it the same way — replay the log from the start, apply
//! each record — so every broker that has read to the same offset agrees.

use std::collections::BTreeMap;
use std::fmt;

use uuid::Uuid;

use super::records::{MetadataRecord, RESOURCE_TOPIC};

/// Why the image refused a record. The controller writes the metadata log in
/// order, after checking each record against the image, so none of these
/// happens to a healthy broker: in a replayed log one means the log is
/// corrupt (or another cluster's), in a commit it means a controller bug.
/// Either way it is a metadata error, not a storage one: the disk did
/// nothing wrong, and the log directory stays online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// A TopicRecord for a name or an id the image already holds: the
    /// controller creates a topic only when its name is free, and ids are
    /// fresh, so replacing the old topic would orphan its partitions.
    DuplicateTopic { name: String, topic_id: Uuid },
    /// A PartitionRecord for a topic id no TopicRecord introduced.
    PartitionOfUnknownTopic(Uuid),
    /// A ConfigRecord for a topic name the image does not hold.
    ConfigOfUnknownTopic(String),
    /// A RemoveTopicRecord for a topic id the image does not hold.
    RemovalOfUnknownTopic(Uuid),
    /// A ProducerIdsRecord whose block does not end past the last one's:
    /// applying it would let ids be handed out twice (chapter 8).
    ProducerIdsNotAdvancing { next_producer_id: i64, current: i64 },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::DuplicateTopic { name, topic_id } => {
                write!(f, "topic {name} ({topic_id}) already exists by name or id")
            }
            ImageError::PartitionOfUnknownTopic(id) => write!(f, "partition of unknown topic id {id}"),
            ImageError::ConfigOfUnknownTopic(name) => write!(f, "config for unknown topic {name}"),
            ImageError::RemovalOfUnknownTopic(id) => write!(f, "removal of unknown topic id {id}"),
            ImageError::ProducerIdsNotAdvancing { next_producer_id, current } => {
                write!(f, "producer id block ending at {next_producer_id} does not follow {current}")
            }
        }
    }
}

impl std::error::Error for ImageError {}

/// One partition's replicas and leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionImage {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub leader: i32,
    pub leader_epoch: i32,
}

/// One topic: its id, partitions and config overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: BTreeMap<i32, PartitionImage>,
    pub configs: BTreeMap<String, String>,
}

/// The cluster's topics, as of the last applied record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataImage {
    topics: BTreeMap<String, TopicImage>,
    names: BTreeMap<Uuid, String>,
    /// The first producer id no block has covered yet (chapter 8): every id
    /// below it may have been handed out.
    next_producer_id: i64,
}

impl MetadataImage {
    /// Applies one record. Records about unknown topics are an error: the log
    /// is written by the controller in order, so one means a corrupt log.
    /// A refused record leaves the image as it was.
    pub fn apply(&mut self, record: &MetadataRecord) -> Result<(), ImageError> {
        match record {
            MetadataRecord::Topic { name, topic_id } => {
                if self.topics.contains_key(name) || self.names.contains_key(topic_id) {
                    return Err(ImageError::DuplicateTopic { name: name.clone(), topic_id: *topic_id });
                }
                self.names.insert(*topic_id, name.clone());
                self.topics.insert(
                    name.clone(),
                    TopicImage {
                        name: name.clone(),
                        topic_id: *topic_id,
                        partitions: BTreeMap::new(),
                        configs: BTreeMap::new(),
                    },
                );
            }
            MetadataRecord::Partition {
                partition_id, topic_id, replicas, isr, leader, leader_epoch, ..
            } => {
                let topic = self.topic_by_id_mut(topic_id)?;
                let partition = PartitionImage {
                    replicas: replicas.clone(),
                    isr: isr.clone(),
                    leader: *leader,
                    leader_epoch: *leader_epoch,
                };
                topic.partitions.insert(*partition_id, partition);
            }
            MetadataRecord::Config { resource_type, resource_name, name, value } => {
                if *resource_type != RESOURCE_TOPIC {
                    return Ok(()); // broker configs: not kept in the image yet
                }
                let topic = self
                    .topics
                    .get_mut(resource_name)
                    .ok_or_else(|| ImageError::ConfigOfUnknownTopic(resource_name.clone()))?;
                match value {
                    Some(v) => topic.configs.insert(name.clone(), v.clone()),
                    None => topic.configs.remove(name),
                };
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                let name = self.names.remove(topic_id).ok_or(ImageError::RemovalOfUnknownTopic(*topic_id))?;
                self.topics.remove(&name);
            }
            MetadataRecord::ProducerIds { next_producer_id, .. } => {
                // Blocks only move forward: a record that would hand out ids
                // again means a corrupt log.
                if *next_producer_id <= self.next_producer_id {
                    return Err(ImageError::ProducerIdsNotAdvancing {
                        next_producer_id: *next_producer_id,
                        current: self.next_producer_id,
                    });
                }
                self.next_producer_id = *next_producer_id;
            }
        }
        Ok(())
    }

    fn topic_by_id_mut(&mut self, id: &Uuid) -> Result<&mut TopicImage, ImageError> {
        let name = self.names.get(id).ok_or(ImageError::PartitionOfUnknownTopic(*id))?;
        Ok(self.topics.get_mut(name).expect("names and topics agree"))
    }

    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        self.topics.get(name)
    }

    pub fn topic_by_id(&self, id: &Uuid) -> Option<&TopicImage> {
        self.names.get(id).and_then(|n| self.topics.get(n))
    }

    /// The first producer id of the next block to hand out.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    pub fn topics(&self) -> impl Iterator<Item = &TopicImage> {
        self.topics.values()
    }
}
