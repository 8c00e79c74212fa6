//! The metadata image: what the metadata log says the cluster looks like now.
//!
//! Every broker builds it the same way — replay the log from the start, apply
//! each record — so every broker that has read to the same offset agrees.
//!
//! ```text
//!  RegisterBrokerRecord ─────────────▶ brokers[id] = registration (fenced)
//!  BrokerRegistrationChangeRecord ───▶ brokers[id].fenced / in_controlled_shutdown
//!  TopicRecord, PartitionRecord ─────▶ topics[name].partitions[index]
//!  PartitionChangeRecord ────────────▶ merged into the partition: a new leader
//!                                      bumps the leader epoch, every change the
//!                                      partition epoch (Kafka's PartitionRegistration.merge)
//!  ConfigRecord (TOPIC) ─────────────▶ topics[name].configs[key]
//!  ConfigRecord (BROKER) ────────────▶ broker_configs[id or ""][key] (dynamic broker configs)
//!  AccessControlEntryRecord ─────────▶ acls[id]  (chapter 11's authorizer reads them)
//!  RemoveAccessControlEntryRecord ───▶ acls[id] removed
//!  ClientQuotaRecord ────────────────▶ client_quotas[entity][key] (issue 19's quotas)
//!  UserScramCredentialRecord ────────▶ scram[(user, mechanism)] (issue 19: what SCRAM logins check)
//!  RemoveUserScramCredentialRecord ──▶ scram[(user, mechanism)] removed
//! ```

use std::collections::BTreeMap;
use std::fmt;

use uuid::Uuid;

use super::records::{
    BrokerEndpoint, BrokerRegistrationChangeRecord, ControlledShutdownChange, FencingChange, MetadataRecord,
    PartitionChangeRecord, PartitionRecord, RegisterBrokerRecord, NO_LEADER_CHANGE, NO_RECOVERY_STATE_CHANGE,
    RESOURCE_BROKER, RESOURCE_TOPIC,
};
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
use crate::security::AclSet;
use crate::TopicPartition;

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
    /// A PartitionChangeRecord for a partition the image does not hold.
    ChangeOfUnknownPartition { topic_id: Uuid, partition_id: i32 },
    /// A ConfigRecord for a topic name the image does not hold.
    ConfigOfUnknownTopic(String),
    /// A RemoveTopicRecord for a topic id the image does not hold.
    RemovalOfUnknownTopic(Uuid),
    /// A ProducerIdsRecord whose block does not end past the last one's:
    /// applying it would let ids be handed out twice (chapter 8).
    ProducerIdsNotAdvancing { next_producer_id: i64, current: i64 },
    /// A fencing, unfencing, registration change or unregistration for a
    /// broker id with no registration.
    UnknownBroker(i32),
    /// A change to a broker's registration that names another incarnation's
    /// epoch: it was meant for a registration that has since been replaced.
    StaleBrokerEpoch { broker_id: i32, epoch: i64, registered: i64 },
    /// An AccessControlEntryRecord under an id the image already holds: the
    /// controller gives every ACL a fresh id.
    DuplicateAcl(Uuid),
    /// A RemoveAccessControlEntryRecord for an id the image does not hold.
    RemovalOfUnknownAcl(Uuid),
    /// A RemoveUserScramCredentialRecord for a credential the image does not
    /// hold (Kafka's replay throws the same).
    RemovalOfUnknownScramCredential { user: String, mechanism: &'static str },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::DuplicateTopic { name, topic_id } => {
                write!(f, "topic {name} ({topic_id}) already exists by name or id")
            }
            ImageError::PartitionOfUnknownTopic(id) => write!(f, "partition of unknown topic id {id}"),
            ImageError::ChangeOfUnknownPartition { topic_id, partition_id } => {
                write!(f, "change to unknown partition {partition_id} of topic id {topic_id}")
            }
            ImageError::ConfigOfUnknownTopic(name) => write!(f, "config for unknown topic {name}"),
            ImageError::RemovalOfUnknownTopic(id) => write!(f, "removal of unknown topic id {id}"),
            ImageError::ProducerIdsNotAdvancing { next_producer_id, current } => {
                write!(f, "producer id block ending at {next_producer_id} does not follow {current}")
            }
            ImageError::UnknownBroker(id) => write!(f, "change to unregistered broker {id}"),
            ImageError::StaleBrokerEpoch { broker_id, epoch, registered } => {
                write!(
                    f,
                    "change to broker {broker_id} at epoch {epoch}, but it is registered at {registered}"
                )
            }
            ImageError::DuplicateAcl(id) => write!(f, "ACL id {id} already exists"),
            ImageError::RemovalOfUnknownAcl(id) => write!(f, "removal of unknown ACL id {id}"),
            ImageError::RemovalOfUnknownScramCredential { user, mechanism } => {
                write!(f, "removal of unknown {mechanism} credential of user {user}")
            }
        }
    }
}

impl std::error::Error for ImageError {}

/// One partition's replicas and leadership (Kafka's `PartitionRegistration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionImage {
    /// In preferred order: the first is the preferred leader.
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub removing_replicas: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    /// A broker id, or -1 (no leader).
    pub leader: i32,
    /// Bumped by every leader election (and by a change that names the same leader).
    pub leader_epoch: i32,
    /// Bumped by every change to the partition: AlterPartition's compare-and-set version.
    pub partition_epoch: i32,
    /// 0 recovered, 1 recovering from an unclean election.
    pub leader_recovery_state: i8,
    /// The log directory of each replica (empty when written before KIP-858).
    pub directories: Vec<Uuid>,
}

impl PartitionImage {
    fn from_record(p: &PartitionRecord) -> Self {
        PartitionImage {
            replicas: p.replicas.clone(),
            isr: p.isr.clone(),
            removing_replicas: p.removing_replicas.clone(),
            adding_replicas: p.adding_replicas.clone(),
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            partition_epoch: p.partition_epoch,
            leader_recovery_state: p.leader_recovery_state,
            directories: p.directories.clone(),
        }
    }

    // ANCHOR: partition_merge
    /// The partition after `change`, as Kafka's `PartitionRegistration.merge`
    /// computes it: a field the change leaves out stays; naming a leader — even
    /// the same one — bumps the leader epoch; every change bumps the partition
    /// epoch.
    pub fn merge(&self, change: &PartitionChangeRecord) -> PartitionImage {
        let or = |new: &Option<Vec<i32>>, old: &Vec<i32>| new.clone().unwrap_or_else(|| old.clone());
        let (leader, leader_epoch) = if change.leader == NO_LEADER_CHANGE {
            (self.leader, self.leader_epoch)
        } else {
            (change.leader, self.leader_epoch + 1)
        };
        PartitionImage {
            replicas: or(&change.replicas, &self.replicas),
            isr: or(&change.isr, &self.isr),
            removing_replicas: or(&change.removing_replicas, &self.removing_replicas),
            adding_replicas: or(&change.adding_replicas, &self.adding_replicas),
            leader,
            leader_epoch,
            partition_epoch: self.partition_epoch + 1,
            leader_recovery_state: if change.leader_recovery_state == NO_RECOVERY_STATE_CHANGE {
                self.leader_recovery_state
            } else {
                change.leader_recovery_state
            },
            directories: change.directories.clone().unwrap_or_else(|| self.directories.clone()),
        }
    }
    // ANCHOR_END: partition_merge
}

/// One topic: its id, partitions and config overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: BTreeMap<i32, PartitionImage>,
    pub configs: BTreeMap<String, String>,
}

/// A registered broker (Kafka's `BrokerRegistration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub id: i32,
    /// The offset of its RegisterBrokerRecord: requests carry it, so one from
    /// an earlier incarnation is told STALE_BROKER_EPOCH.
    pub epoch: i64,
    pub incarnation_id: Uuid,
    pub endpoints: Vec<BrokerEndpoint>,
    pub rack: Option<String>,
    /// A fenced broker leads nothing and is in no ISR.
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
    pub log_dirs: Vec<Uuid>,
}

impl BrokerRegistration {
    /// Unfenced and not shutting down: may lead, and may join an ISR
    /// (Kafka's `ClusterControlManager.isActive`).
    pub fn is_active(&self) -> bool {
        !self.fenced && !self.in_controlled_shutdown
    }

    fn from_record(r: &RegisterBrokerRecord) -> Self {
        BrokerRegistration {
            id: r.broker_id,
            epoch: r.broker_epoch,
            incarnation_id: r.incarnation_id,
            endpoints: r.endpoints.clone(),
            rack: r.rack.clone(),
            fenced: r.fenced,
            in_controlled_shutdown: r.in_controlled_shutdown,
            log_dirs: r.log_dirs.clone(),
        }
    }
}

/// The cluster's brokers and topics, as of the last applied record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataImage {
    brokers: BTreeMap<i32, BrokerRegistration>,
    topics: BTreeMap<String, TopicImage>,
    names: BTreeMap<Uuid, String>,
    /// Dynamic broker configs by resource name: "" the cluster-wide
    /// default, "`<id>`" one broker's (issue 17). A resource with no keys left
    /// is removed, so an image rebuilt from its records is equal to it.
    broker_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// The first producer id no block has covered yet (chapter 8): every id
    /// below it may have been handed out.
    next_producer_id: i64,
    /// Every ACL, by id (chapter 11): what each broker's authorizer reads.
    acls: AclSet,
    /// Client quotas by entity (issue 19); an entity with no keys left is
    /// removed, as a broker config resource is.
    client_quotas: crate::quotas::ClientQuotas,
    /// SCRAM credentials by user and mechanism (issue 19): what a SASL
    /// listener checks a SCRAM login against. Secrets derived from the
    /// password, never the password.
    scram: BTreeMap<(String, ScramMechanism), ScramCredential>,
}

impl MetadataImage {
    /// Applies one record. Records about unknown topics, partitions or
    /// brokers are an error: the log is written by the controller in order,
    /// so one means a corrupt log. A refused record leaves the image as it was.
    pub fn apply(&mut self, record: &MetadataRecord) -> Result<(), ImageError> {
        match record {
            MetadataRecord::RegisterBroker(r) => {
                // A new incarnation replaces the old registration whole.
                self.brokers.insert(r.broker_id, BrokerRegistration::from_record(r));
            }
            MetadataRecord::UnregisterBroker { broker_id, broker_epoch } => {
                self.registered(*broker_id, *broker_epoch)?;
                self.brokers.remove(broker_id);
            }
            MetadataRecord::FenceBroker { id, epoch } => self.registered(*id, *epoch)?.fenced = true,
            MetadataRecord::UnfenceBroker { id, epoch } => self.registered(*id, *epoch)?.fenced = false,
            MetadataRecord::BrokerRegistrationChange(c) => self.apply_registration_change(c)?,
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
            MetadataRecord::Partition(p) => {
                let topic = self.topic_by_id_mut(&p.topic_id)?;
                topic.partitions.insert(p.partition_id, PartitionImage::from_record(p));
            }
            MetadataRecord::PartitionChange(c) => {
                let unknown = || ImageError::ChangeOfUnknownPartition {
                    topic_id: c.topic_id,
                    partition_id: c.partition_id,
                };
                let topic = self.topic_by_id_mut(&c.topic_id).map_err(|_| unknown())?;
                let partition = topic.partitions.get_mut(&c.partition_id).ok_or_else(unknown)?;
                *partition = partition.merge(c);
            }
            MetadataRecord::Config { resource_type, resource_name, name, value } => {
                if *resource_type == RESOURCE_BROKER {
                    self.apply_broker_config(resource_name, name, value.as_deref());
                    return Ok(());
                }
                if *resource_type != RESOURCE_TOPIC {
                    return Ok(()); // other resources (client metrics, groups): not kept
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
            MetadataRecord::ClientQuota { entity, key, value, remove } => {
                let quotas = self.client_quotas.entry(entity.clone()).or_default();
                match remove {
                    false => quotas.insert(key.clone(), *value),
                    true => quotas.remove(key),
                };
                if quotas.is_empty() {
                    self.client_quotas.remove(entity);
                }
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
            MetadataRecord::AccessControlEntry { id, acl } => {
                if self.acls.acls.contains_key(id) {
                    return Err(ImageError::DuplicateAcl(*id));
                }
                self.acls.acls.insert(*id, acl.clone());
            }
            MetadataRecord::RemoveAccessControlEntry { id } => {
                self.acls.acls.remove(id).ok_or(ImageError::RemovalOfUnknownAcl(*id))?;
            }
            MetadataRecord::UserScramCredential { name, mechanism, credential } => {
                self.scram.insert((name.clone(), *mechanism), credential.clone());
            }
            MetadataRecord::RemoveUserScramCredential { name, mechanism } => {
                self.scram.remove(&(name.clone(), *mechanism)).ok_or_else(|| {
                    ImageError::RemovalOfUnknownScramCredential {
                        user: name.clone(),
                        mechanism: mechanism.name(),
                    }
                })?;
            }
        }
        Ok(())
    }

    fn apply_broker_config(&mut self, resource_name: &str, name: &str, value: Option<&str>) {
        match value {
            Some(v) => {
                let configs = self.broker_configs.entry(resource_name.to_string()).or_default();
                configs.insert(name.to_string(), v.to_string());
            }
            None => {
                if let Some(configs) = self.broker_configs.get_mut(resource_name) {
                    configs.remove(name);
                    if configs.is_empty() {
                        self.broker_configs.remove(resource_name);
                    }
                }
            }
        }
    }

    fn apply_registration_change(&mut self, c: &BrokerRegistrationChangeRecord) -> Result<(), ImageError> {
        let broker = self.registered(c.broker_id, c.broker_epoch)?;
        match c.fenced {
            FencingChange::Fence => broker.fenced = true,
            FencingChange::Unfence => broker.fenced = false,
            FencingChange::None => {}
        }
        if c.in_controlled_shutdown == ControlledShutdownChange::InControlledShutdown {
            broker.in_controlled_shutdown = true;
        }
        Ok(())
    }

    /// The registration a change names, if its epoch is the registered one.
    fn registered(&mut self, broker_id: i32, epoch: i64) -> Result<&mut BrokerRegistration, ImageError> {
        let broker = self.brokers.get_mut(&broker_id).ok_or(ImageError::UnknownBroker(broker_id))?;
        if broker.epoch != epoch {
            return Err(ImageError::StaleBrokerEpoch { broker_id, epoch, registered: broker.epoch });
        }
        Ok(broker)
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

    /// Partition `index` of `topic`.
    pub fn partition(&self, topic: &str, index: i32) -> Option<&PartitionImage> {
        self.topics.get(topic)?.partitions.get(&index)
    }

    /// Every partition, with its topic's name and id, in name order.
    pub fn partitions(&self) -> impl Iterator<Item = (&TopicImage, i32, &PartitionImage)> {
        self.topics.values().flat_map(|t| t.partitions.iter().map(move |(i, p)| (t, *i, p)))
    }

    /// The partitions `broker_id` holds a replica of: what its replica
    /// manager must host.
    pub fn partitions_on(&self, broker_id: i32) -> Vec<(TopicPartition, &PartitionImage)> {
        self.partitions()
            .filter(|(_, _, p)| p.replicas.contains(&broker_id))
            .map(|(t, i, p)| (TopicPartition::new(t.name.clone(), i), p))
            .collect()
    }

    /// Every ACL of the cluster (chapter 11).
    pub fn acls(&self) -> &AclSet {
        &self.acls
    }

    /// `user`'s SCRAM credential for `mechanism`, if one is set (issue 19).
    pub fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<&ScramCredential> {
        self.scram.get(&(user.to_string(), mechanism))
    }

    /// Every SCRAM credential, by user then mechanism.
    pub fn scram_credentials(&self) -> &BTreeMap<(String, ScramMechanism), ScramCredential> {
        &self.scram
    }

    /// The first producer id of the next block to hand out.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    /// The dynamic broker configs of a resource: "" the cluster-wide
    /// default, "`<id>`" one broker's.
    pub fn broker_configs(&self, resource_name: &str) -> Option<&BTreeMap<String, String>> {
        self.broker_configs.get(resource_name)
    }

    /// Every resource's dynamic broker configs, by resource name.
    /// Every entity's client quotas (issue 19).
    pub fn client_quotas(&self) -> &crate::quotas::ClientQuotas {
        &self.client_quotas
    }

    pub fn all_broker_configs(&self) -> &BTreeMap<String, BTreeMap<String, String>> {
        &self.broker_configs
    }

    pub fn topics(&self) -> impl Iterator<Item = &TopicImage> {
        self.topics.values()
    }

    /// Every registered broker, fenced or not, by id.
    pub fn brokers(&self) -> &BTreeMap<i32, BrokerRegistration> {
        &self.brokers
    }

    pub fn broker(&self, id: i32) -> Option<&BrokerRegistration> {
        self.brokers.get(&id)
    }

    /// The live brokers: registered and unfenced (the ones Metadata lists).
    pub fn live_brokers(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.brokers.values().filter(|b| !b.fenced)
    }

    /// Whether `id` may lead or join an ISR: registered, unfenced, not shutting down.
    pub fn is_active(&self, id: i32) -> bool {
        self.brokers.get(&id).is_some_and(BrokerRegistration::is_active)
    }
}

#[cfg(test)]
mod tests;
mod write;
#[cfg(test)]
mod write_tests;
