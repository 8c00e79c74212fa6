//! Creating and deleting topics: the controller's side. A topic is created by
//! committing its records to the metadata log — TopicRecord, one ConfigRecord
//! per override, one PartitionRecord per partition — in one batch, checked and
//! built by the controller's [`crate::controller::topics`] with this broker as
//! the cluster's one live broker. The partition
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
use crate::controller::{topics, ClusterView, ControllerConfig, CreatableTopic, SeededRandom};
use crate::metadata::MetadataRecord;
use crate::TopicPartition;

pub use crate::controller::topics::{validate_topic_config, validate_topic_name, TopicError};

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
        let topic = CreatableTopic {
            name: name.to_string(),
            num_partitions: partitions,
            replication_factor,
            assignments: Vec::new(),
            configs: configs.clone(),
        };
        self.create_topic_from(&topic, validate_only)
    }

    /// This broker's topic defaults, as the controller reads them.
    fn controller_config(&self) -> ControllerConfig {
        ControllerConfig {
            num_partitions: self.config.num_partitions,
            default_replication_factor: self.config.default_replication_factor,
            ..ControllerConfig::default()
        }
    }

    /// Creates a topic from a CreateTopics entry, with the controller's
    /// checks and records ([`crate::controller::topics`]) on a cluster of
    /// this one broker.
    pub fn create_topic_from(
        &self,
        topic: &CreatableTopic,
        validate_only: bool,
    ) -> Result<(Uuid, i32, i16), TopicError> {
        let counts = topics::validate_topic(&self.controller_config(), topic)?;
        self.log_dir.check().map_err(|e| TopicError::new(e.kafka_error(), e.to_string()))?;
        let mut metadata = self.metadata_writer();
        let cluster = ClusterView::single(self.config.node_id);
        let random = &mut SeededRandom::new(Uuid::new_v4().as_u64_pair().0);
        let (records, created) = topics::topic_records(metadata.image(), &cluster, topic, counts, random)?;
        let answer = (created.topic_id, created.num_partitions, created.replication_factor);
        if validate_only {
            return Ok(answer);
        }
        let name = topic.name.as_str();
        // The logs first: a topic is committed only once every partition has
        // one, so a failure (no file descriptors left, a full disk) leaves no
        // topic that Metadata lists but no produce can reach.
        let mut logs = self.lock_logs();
        let opened = self.open_partition_logs(&mut logs, name, created.num_partitions, &topic.configs)?;
        if let Err(e) = metadata.commit(&records, now_ms()) {
            remove_partition_logs(&mut logs, name, opened);
            return Err(self.metadata_failed(e.into()));
        }
        drop((logs, metadata));
        self.apply_image(now_ms()).map_err(|e| {
            let e = Error::from(e);
            TopicError::new(e.kafka_error(), e.to_string())
        })?;
        tracing::info!(topic = name, partitions = created.num_partitions, "created topic");
        Ok(answer)
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
    pub(super) fn metadata_failed(&self, e: Error) -> TopicError {
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
