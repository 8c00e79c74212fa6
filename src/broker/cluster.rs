//! What a broker in a cluster keeps beside its partitions: its link to the
//! controller, its broker epoch, whether it has caught up on the metadata,
//! its shutdown handshake, and the ISR changes waiting to be sent. The tasks
//! that use them are in [`crate::node::lifecycle`]; a standalone broker
//! (no `process.roles`) has none of this and is its own controller.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, PoisonError};

use bytes::BytesMut;
use kafka_protocol::messages::alter_partition_request::{BrokerState, PartitionData, TopicData};
use kafka_protocol::messages::{AlterPartitionRequest, AlterPartitionResponse, BrokerId};
use tokio::sync::Notify;

use super::controller_link::ControllerLink;
use super::{now_ms, Broker, Error};
use crate::TopicPartition;

/// A broker's membership of a cluster.
#[derive(Debug)]
pub struct ClusterMember {
    pub link: Arc<ControllerLink>,
    /// The epoch of this broker's registration; -1 until registered.
    broker_epoch: AtomicI64,
    /// Whether the metadata copy has reached the controller's end once: until
    /// then the broker asks to stay fenced.
    caught_up: AtomicBool,
    /// Set when the broker starts to stop: heartbeats ask to shut down.
    wants_shut_down: AtomicBool,
    /// The controller's answer: it leads nothing now.
    may_shut_down: AtomicBool,
    shut_down_allowed: Notify,
    /// Wakes the AlterPartition task.
    alter_partition_queued: Notify,
}

impl ClusterMember {
    pub fn new(link: ControllerLink) -> Self {
        ClusterMember {
            link: Arc::new(link),
            broker_epoch: AtomicI64::new(-1),
            caught_up: AtomicBool::new(false),
            wants_shut_down: AtomicBool::new(false),
            may_shut_down: AtomicBool::new(false),
            shut_down_allowed: Notify::new(),
            alter_partition_queued: Notify::new(),
        }
    }
}

impl Broker {
    fn member(&self) -> &ClusterMember {
        self.cluster.as_ref().expect("only a broker in a cluster runs the lifecycle tasks")
    }

    /// The link to the controller, for a broker in a cluster.
    pub fn controller_link(&self) -> Option<Arc<ControllerLink>> {
        self.cluster.as_ref().map(|m| m.link.clone())
    }

    pub fn broker_epoch(&self) -> i64 {
        self.cluster.as_ref().map_or(-1, |m| m.broker_epoch.load(Ordering::Acquire))
    }

    pub fn set_broker_epoch(&self, epoch: i64) {
        self.member().broker_epoch.store(epoch, Ordering::Release);
    }

    /// The next offset of this broker's metadata copy.
    pub fn metadata_end_offset(&self) -> i64 {
        self.metadata.end_offset()
    }

    pub fn metadata_caught_up(&self) -> bool {
        self.member().caught_up.load(Ordering::Acquire)
    }

    pub fn set_metadata_caught_up(&self) {
        self.member().caught_up.store(true, Ordering::Release);
    }

    pub fn wants_shut_down(&self) -> bool {
        self.member().wants_shut_down.load(Ordering::Acquire)
    }

    pub fn set_may_shut_down(&self, may: bool) {
        let member = self.member();
        member.may_shut_down.store(may, Ordering::Release);
        if may {
            member.shut_down_allowed.notify_waiters();
        }
    }

    // ANCHOR: controlled_shutdown
    /// Controlled shutdown: ask the controller (through the heartbeats) to
    /// move every leadership off this broker, and wait until it says so, or
    /// `timeout` passes. A standalone broker has nothing to hand over.
    pub async fn controlled_shutdown(&self, timeout: std::time::Duration) {
        let Some(member) = &self.cluster else { return };
        if !self.config.replication.controlled_shutdown {
            return;
        }
        member.wants_shut_down.store(true, Ordering::Release);
        let allowed = async {
            while !member.may_shut_down.load(Ordering::Acquire) {
                let notified = member.shut_down_allowed.notified();
                if member.may_shut_down.load(Ordering::Acquire) {
                    break;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(timeout, allowed).await.is_err() {
            tracing::warn!("the controller did not release this broker in time; shutting down anyway");
        }
    }
    // ANCHOR_END: controlled_shutdown

    /// Appends metadata batches fetched from the controller to this broker's
    /// copy, then applies the new image: roles, logs, fetchers.
    pub fn apply_fetched_metadata(self: &Arc<Self>, batches: BytesMut) -> Result<(), Error> {
        self.apply_metadata_change(|writer| writer.append_fetched(batches))
    }

    /// Installs a metadata snapshot fetched from the quorum's leader (this
    /// broker's copy had fallen below its log start), then applies the new
    /// image as [`Self::apply_fetched_metadata`] does.
    pub fn install_metadata_snapshot(
        self: &Arc<Self>,
        id: crate::metadata::SnapshotId,
        bytes: &[u8],
    ) -> Result<(), Error> {
        self.apply_metadata_change(|writer| writer.install_snapshot(id, bytes))
    }

    fn apply_metadata_change(
        self: &Arc<Self>,
        change: impl FnOnce(&mut crate::metadata::MetadataWriter<'_>) -> Result<(), crate::metadata::Error>,
    ) -> Result<(), Error> {
        let before = self.metadata_image();
        change(&mut self.metadata_writer())?;
        self.apply_image(now_ms())?;
        self.start_fetchers();
        // A deleted topic's committed offsets go too, in the groups this
        // broker coordinates (Kafka's `onPartitionsDeleted`).
        let after = self.metadata_image();
        for topic in before.topics().filter(|t| after.topic_by_id(&t.topic_id).is_none()) {
            let (broker, name) = (self.clone(), topic.name.clone());
            tokio::spawn(async move { broker.delete_topic_offsets(&name).await });
        }
        Ok(())
    }

    /// Waits until a leader has queued an ISR change.
    pub async fn alter_partitions_pending(&self) {
        let member = self.member();
        let queued = member.alter_partition_queued.notified();
        if self.alter_partitions.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
            queued.await;
        }
    }

    /// Wakes the AlterPartition task (a standalone broker has none: its
    /// partitions have one replica, so their ISR never changes).
    pub(crate) fn alter_partition_queued(&self) {
        if let Some(member) = &self.cluster {
            member.alter_partition_queued.notify_one();
        }
    }

    /// Takes every queued ISR change into one AlterPartition request.
    pub fn alter_partition_request(&self) -> Option<(AlterPartitionRequest, Vec<TopicPartition>)> {
        let queued =
            std::mem::take(&mut *self.alter_partitions.lock().unwrap_or_else(PoisonError::into_inner));
        let mut topics: BTreeMap<uuid::Uuid, Vec<PartitionData>> = BTreeMap::new();
        let mut asked = Vec::new();
        for (tp, alter) in queued {
            let Some(partition) = self.partition(&tp) else { continue };
            let image = self.metadata_image();
            let isr = alter
                .new_isr
                .iter()
                .map(|&id| {
                    let epoch = image.broker(id).map_or(-1, |b| b.epoch);
                    BrokerState::default().with_broker_id(BrokerId(id)).with_broker_epoch(epoch)
                })
                .collect();
            topics.entry(partition.topic_id).or_default().push(
                PartitionData::default()
                    .with_partition_index(tp.partition)
                    .with_leader_epoch(alter.leader_epoch)
                    .with_partition_epoch(alter.partition_epoch)
                    .with_new_isr_with_epochs(isr),
            );
            asked.push(tp);
        }
        if asked.is_empty() {
            return None;
        }
        let request = AlterPartitionRequest::default()
            .with_broker_id(BrokerId(self.config.node_id))
            .with_broker_epoch(self.broker_epoch())
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic_id, partitions)| {
                        TopicData::default().with_topic_id(topic_id).with_partitions(partitions)
                    })
                    .collect(),
            );
        Some((request, asked))
    }

    /// The controller answered: a refused change is forgotten by its
    /// partition (the committed ones arrive with the next image).
    pub fn on_alter_partition_response(&self, asked: &[TopicPartition], response: &AlterPartitionResponse) {
        if response.error_code != 0 {
            tracing::info!(code = response.error_code, "AlterPartition refused");
            self.on_alter_partition_failed(asked);
            return;
        }
        let image = self.metadata_image();
        for topic in &response.topics {
            let Some(name) = image.topic_by_id(&topic.topic_id).map(|t| t.name.clone()) else { continue };
            for p in &topic.partitions {
                if p.error_code != 0 {
                    let tp = TopicPartition::new(name.clone(), p.partition_index);
                    tracing::info!(%tp, code = p.error_code, "ISR change refused");
                    if let Some(partition) = self.partition(&tp) {
                        partition.alter_partition_failed();
                    }
                }
            }
        }
    }

    /// The request failed whole: every partition in it may propose again.
    pub fn on_alter_partition_failed(&self, asked: &[TopicPartition]) {
        for tp in asked {
            if let Some(partition) = self.partition(tp) {
                partition.alter_partition_failed();
            }
        }
    }
}
