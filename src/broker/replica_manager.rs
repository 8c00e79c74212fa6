//! The replica manager: what this broker does with each metadata image —
//! Kafka's `ReplicaManager.applyDelta`. For every partition whose replica
//! set names this broker, it opens the log and gives the replica its role:
//!
//! ```text
//!  published image ──▶ apply_image ──┬─ leader == this broker ──▶ Partition::become_leader
//!                                    │    (same epoch, newer partition epoch: the ISR the
//!                                    │     controller committed)
//!                                    ├─ another leader ─────────▶ Partition::become_follower
//!                                    └─ no longer hosted ───────▶ resign; out of the map
//! ```
//!
//! A partition keeps its [`Partition`] (its role, its waiting produces, its
//! group commit) from one image to the next as long as its log is the same;
//! a topic deleted and created again under the same name gets a new one.
//!
//! A topic's configs may change between images (issue 17's AlterConfigs):
//! each application gives every hosted log its config again, each partition
//! its produce checks (`max.message.bytes`, `compression.type`,
//! `cleanup.policy`) and each leader its `min.insync.replicas`.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};

use crate::log::{GroupCommit, LogError};
use crate::metadata::{PartitionImage, TopicImage};
use crate::replication::{PartitionAssignment, ReplicationConfig};
use crate::TopicPartition;

use super::partition::ProduceSettings;
use super::{Broker, Partition};

impl Broker {
    // ANCHOR: apply_image
    /// Makes the partition map and every hosted replica's role match the
    /// published metadata image. The log manager's lock is held from reading
    /// the image to replacing the map, so two applications replace it in the
    /// order they read the images, and the map never goes back to an older
    /// image than one it already showed.
    pub(crate) fn apply_image(&self, now_ms: i64) -> Result<(), LogError> {
        let mut logs = self.lock_logs();
        let image = self.metadata_image();
        let old = self.read_partitions().clone();
        let me = self.config.node_id;
        let mut map = BTreeMap::new();
        for topic in image.topics() {
            let log_config = self.topic_log_config(&topic.configs);
            for (&index, assigned) in &topic.partitions {
                if !assigned.replicas.contains(&me) {
                    continue;
                }
                let tp = TopicPartition::new(topic.name.clone(), index);
                let log = logs.get_or_create(&tp, Some(log_config.clone()), now_ms)?;
                let partition = match old.get(&tp) {
                    Some(p) if Arc::ptr_eq(&p.log, &log) => {
                        // Its topic's configs may have been altered (issue 17).
                        p.set_settings(self.produce_settings(topic));
                        p.clone()
                    }
                    _ => Arc::new(self.new_partition(topic, log)),
                };
                if assigned.leader == me {
                    let config = self.replication_config(topic);
                    partition.become_leader(me, &assignment(assigned), config, now_ms)?;
                } else {
                    partition.become_follower(me, assigned.leader, assigned.leader_epoch);
                }
                map.insert(tp, partition);
            }
        }
        let gone: Vec<TopicPartition> = old.keys().filter(|tp| !map.contains_key(*tp)).cloned().collect();
        for tp in &gone {
            // Deleted, or moved off this broker: waiting produces are answered.
            old[tp].become_follower(me, -1, -1);
        }
        *self.partitions.write().unwrap_or_else(PoisonError::into_inner) = map;
        for tp in gone {
            // Kafka's StopReplica with delete: the log goes too.
            if let Err(e) = logs.delete(&tp) {
                tracing::warn!(%tp, error = %e, "could not delete the log of a partition no longer hosted");
            }
        }
        drop(logs);
        // The group coordinator moves with `__consumer_offsets`' leadership
        // (chapter 5's coordinator, in a cluster; the coordinator's lock comes
        // before the log manager's, so only after it is released).
        self.follow_offsets_leadership();
        // So do the transaction coordinators with `__transaction_state`'s (chapter 9).
        self.follow_transaction_state_leadership();
        Ok(())
    }
    // ANCHOR_END: apply_image

    fn new_partition(&self, topic: &TopicImage, log: crate::log::manager::SharedLog) -> Partition {
        let ProduceSettings { max_message_bytes, validation } = self.produce_settings(topic);
        let group_commit = Arc::new(GroupCommit::new());
        Partition::new(log, topic.topic_id, max_message_bytes, validation, group_commit, self.config.node_id)
    }

    /// A topic's produce checks: its overrides, else the broker's dynamic
    /// configs, else its static settings.
    fn produce_settings(&self, topic: &TopicImage) -> ProduceSettings {
        let max_message_bytes =
            (self.topic_or_dynamic(&topic.configs, "max.message.bytes", "message.max.bytes"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(self.config.message_max_bytes);
        ProduceSettings { max_message_bytes, validation: self.topic_validation(&topic.configs) }
    }

    /// A topic's replication settings: `min.insync.replicas` (the topic's,
    /// else the broker's dynamic one, else its static one) and
    /// `replica.lag.time.max.ms`.
    pub fn replication_config(&self, topic: &TopicImage) -> ReplicationConfig {
        let broker = &self.config.replication;
        let min_insync_replicas =
            (self.topic_or_dynamic(&topic.configs, "min.insync.replicas", "min.insync.replicas"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(broker.min_insync_replicas as usize);
        ReplicationConfig {
            min_insync_replicas,
            replica_lag_time_max_ms: i64::try_from(broker.replica_lag_time_ms_max).unwrap_or(i64::MAX),
            ..ReplicationConfig::default()
        }
    }
}

/// The replication core's view of a partition in the image.
fn assignment(partition: &PartitionImage) -> PartitionAssignment {
    PartitionAssignment {
        replicas: partition.replicas.clone(),
        isr: partition.isr.iter().copied().collect(),
        leader_epoch: partition.leader_epoch,
        partition_epoch: partition.partition_epoch,
    }
}

impl Broker {
    /// A leader wants the ISR changed: queued for the controller, which
    /// commits it (or refuses it) and the next image brings the outcome.
    ///
    /// In a cluster, a change that adds a replica the image shows fenced or
    /// in controlled shutdown is not sent (KIP-841): the controller would
    /// refuse it, and the follower's next fetch would propose it again. The
    /// proposal is dropped, and proposed anew once the broker is active.
    pub(crate) fn submit_alter_partition(
        &self,
        tp: &TopicPartition,
        partition: &Partition,
        alter: crate::replication::AlterPartition,
    ) {
        if self.cluster.is_some() {
            let image = self.metadata_image();
            let isr = partition.leader_isr().unwrap_or_default();
            if alter.new_isr.iter().any(|id| !isr.contains(id) && !image.is_active(*id)) {
                tracing::debug!(%tp, ?alter, "not proposing an ISR with an inactive broker");
                partition.alter_partition_failed();
                return;
            }
        }
        tracing::info!(%tp, ?alter, "ISR change proposed");
        self.alter_partitions.lock().unwrap_or_else(PoisonError::into_inner).insert(tp.clone(), alter);
        self.alter_partition_queued();
    }
}
