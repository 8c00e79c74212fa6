//! The image as records: what a metadata snapshot holds (issue 14 §2).
//!
//! A snapshot replaces a prefix of the metadata log with the records that
//! rebuild the image that prefix built. Kafka's `MetadataImage.write` asks
//! each part of the image to write itself, in an order that lets a reader
//! apply them one by one: the cluster's brokers, then topics with their
//! partitions, then configs (a topic's ConfigRecord needs its TopicRecord
//! first), then the producer id block. [`MetadataImage::records`] does the
//! same:
//!
//! ```text
//!  brokers[id]            ──▶ RegisterBrokerRecord (fenced, in controlled shutdown as they are now)
//!  topics[name]           ──▶ TopicRecord, then PartitionRecord per partition (epochs as they are now)
//!  topics[name].configs   ──▶ ConfigRecord per override
//!  broker_configs[name]   ──▶ ConfigRecord (BROKER) per dynamic broker config
//!  client_quotas[entity]  ──▶ ClientQuotaRecord per key
//!  next_producer_id       ──▶ ProducerIdsRecord (broker -1, epoch -1, as Kafka's ProducerIdsImage writes it)
//!  acls[id]               ──▶ AccessControlEntryRecord per ACL, under its id (Kafka's AclsImage)
//!  scram[(user, mech)]    ──▶ UserScramCredentialRecord per credential (Kafka's ScramImage)
//! ```
//!
//! A history of changes collapses to one record per thing: a partition moved
//! through ten leaders is one PartitionRecord at leader epoch 10, a fenced
//! broker one RegisterBrokerRecord with `fenced: true`.
//!
//! Simplifications: the image keeps neither a broker's supported features
//! nor whether it is a migrating ZooKeeper broker, so the RegisterBrokerRecords
//! list no features; no FeatureLevelRecord (`metadata.version`) is written,
//! since spool's image holds none — a Kafka controller loading this snapshot
//! would want one.

use super::{MetadataImage, MetadataRecord};
use crate::metadata::records::{PartitionRecord, RegisterBrokerRecord, RESOURCE_BROKER, RESOURCE_TOPIC};

impl MetadataImage {
    // ANCHOR: image_records
    /// Records that, applied in order to an empty image, rebuild this one.
    pub fn records(&self) -> Vec<MetadataRecord> {
        let mut out = Vec::new();
        for b in self.brokers.values() {
            out.push(MetadataRecord::RegisterBroker(RegisterBrokerRecord {
                broker_id: b.id,
                is_migrating_zk_broker: false,
                incarnation_id: b.incarnation_id,
                broker_epoch: b.epoch,
                endpoints: b.endpoints.clone(),
                features: Vec::new(),
                rack: b.rack.clone(),
                fenced: b.fenced,
                in_controlled_shutdown: b.in_controlled_shutdown,
                log_dirs: b.log_dirs.clone(),
            }));
        }
        for t in self.topics.values() {
            out.push(MetadataRecord::Topic { name: t.name.clone(), topic_id: t.topic_id });
            for (&partition_id, p) in &t.partitions {
                out.push(MetadataRecord::Partition(PartitionRecord {
                    partition_id,
                    topic_id: t.topic_id,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    removing_replicas: p.removing_replicas.clone(),
                    adding_replicas: p.adding_replicas.clone(),
                    leader: p.leader,
                    leader_recovery_state: p.leader_recovery_state,
                    leader_epoch: p.leader_epoch,
                    partition_epoch: p.partition_epoch,
                    directories: p.directories.clone(),
                }));
            }
        }
        for t in self.topics.values() {
            for (name, value) in &t.configs {
                out.push(MetadataRecord::Config {
                    resource_type: RESOURCE_TOPIC,
                    resource_name: t.name.clone(),
                    name: name.clone(),
                    value: Some(value.clone()),
                });
            }
        }
        for (resource_name, configs) in &self.broker_configs {
            for (name, value) in configs {
                out.push(MetadataRecord::Config {
                    resource_type: RESOURCE_BROKER,
                    resource_name: resource_name.clone(),
                    name: name.clone(),
                    value: Some(value.clone()),
                });
            }
        }
        for (entity, quotas) in &self.client_quotas {
            for (key, value) in quotas {
                out.push(MetadataRecord::ClientQuota {
                    entity: entity.clone(),
                    key: key.clone(),
                    value: *value,
                    remove: false,
                });
            }
        }
        // An image that never handed out a block has nothing to say: a
        // ProducerIdsRecord at 0 would not advance an empty image's 0.
        if self.next_producer_id > 0 {
            out.push(MetadataRecord::ProducerIds {
                broker_id: -1,
                broker_epoch: -1,
                next_producer_id: self.next_producer_id,
            });
        }
        for (id, acl) in self.acls().iter() {
            out.push(MetadataRecord::AccessControlEntry { id: *id, acl: acl.clone() });
        }
        for ((name, mechanism), credential) in &self.scram {
            out.push(MetadataRecord::UserScramCredential {
                name: name.clone(),
                mechanism: *mechanism,
                credential: credential.clone(),
            });
        }
        out
    }
    // ANCHOR_END: image_records
}
