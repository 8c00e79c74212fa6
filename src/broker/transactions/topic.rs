//! `__transaction_state`: created the first time a client looks for a
//! transaction coordinator, as Kafka does, and where a transactional id lives
//! in it.
//!
//! Its shape is Kafka's: `transaction.state.log.num.partitions` partitions,
//! compacted (only an id's last record matters), `segment.bytes` from
//! `transaction.state.log.segment.bytes`, and in a cluster
//! `transaction.state.log.replication.factor` replicas capped by the live
//! brokers (as spool caps `__consumer_offsets`; Kafka answers
//! COORDINATOR_NOT_AVAILABLE until enough brokers are up) with
//! `min.insync.replicas` from `transaction.state.log.min.isr`, capped by the
//! replication factor so a capped topic can still take its records.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;

use super::super::Broker;
use crate::txn::{partition_for, TxnError, TRANSACTION_STATE_TOPIC};

impl Broker {
    /// The topic configs of `__transaction_state` with `replication` replicas.
    pub(crate) fn transaction_state_configs(&self, replication: i16) -> BTreeMap<String, String> {
        let c = &self.config.transactions;
        let min_isr = c.state_log_min_isr.min(replication.max(1) as u32);
        BTreeMap::from([
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("segment.bytes".to_string(), c.state_log_segment_bytes.to_string()),
            ("min.insync.replicas".to_string(), min_isr.to_string()),
        ])
    }

    // ANCHOR: ensure_transaction_state_topic
    /// `__transaction_state`'s partition count, creating the topic first on a
    /// standalone broker. In a cluster the controller creates it
    /// (FindCoordinator forwards CreateTopics): COORDINATOR_NOT_AVAILABLE until then.
    pub(crate) fn ensure_transaction_state_topic(&self) -> Result<i32, ResponseError> {
        let existing = |broker: &Broker| {
            broker.metadata_image().topic(TRANSACTION_STATE_TOPIC).map(|t| t.partitions.len() as i32)
        };
        if let Some(n) = existing(self) {
            return Ok(n);
        }
        if self.cluster.is_some() {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        // No lock serializes creators (creating the topic applies the image,
        // which takes the coordinators' lock): a second one is told
        // TOPIC_ALREADY_EXISTS and reads the count from the image.
        let n = self.config.transactions.state_log_num_partitions;
        match self.create_topic(TRANSACTION_STATE_TOPIC, n, 1, &self.transaction_state_configs(1), false) {
            Ok(_) => Ok(n),
            Err(e) if e.code == ResponseError::TopicAlreadyExists => {
                existing(self).ok_or(ResponseError::CoordinatorNotAvailable)
            }
            Err(e) => {
                tracing::error!(error = ?e, "cannot create {TRANSACTION_STATE_TOPIC}");
                Err(ResponseError::CoordinatorNotAvailable)
            }
        }
    }
    // ANCHOR_END: ensure_transaction_state_topic

    /// The `__transaction_state` partition of `transactional_id`: where its
    /// coordinator is. COORDINATOR_NOT_AVAILABLE before the topic exists.
    pub(crate) fn transaction_state_partition(&self, transactional_id: &str) -> Result<i32, TxnError> {
        let image = self.metadata_image();
        let topic = image.topic(TRANSACTION_STATE_TOPIC).filter(|t| !t.partitions.is_empty());
        let count = topic.ok_or(TxnError::CoordinatorNotAvailable)?.partitions.len() as i32;
        Ok(partition_for(transactional_id, count))
    }
}
