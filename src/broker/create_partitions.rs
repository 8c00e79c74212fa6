//! CreatePartitions on the broker (API key 37, KIP-195): the wire's request
//! turned into the controller's [`NewPartitions`], decided by
//! [`crate::controller::partitions`], and answered per topic.
//!
//! ```text
//!  standalone: decide on a cluster of one ─▶ open the new logs ─▶ commit ─▶ apply_image
//!  in a cluster: forward to the active controller, which commits the
//!                PartitionRecords; every broker's apply_image opens the logs
//!                it now hosts and takes its role, as for a new topic
//! ```
//!
//! As for a new topic on a standalone broker ([`super::topics`]), the logs
//! are opened before the commit, so a full disk leaves the topic as it was
//! and answers KAFKA_STORAGE_ERROR. `validate_only` decides and commits
//! nothing. `timeout_ms` bounds how long a forwarded request looks for the
//! controller; a standalone broker answers once its commit is done.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::forward::forward_deadline;
use super::{now_ms, Broker, Error};
use crate::controller::partitions::create_partitions;
use crate::controller::{ClusterView, NewPartitions, SeededRandom, TopicError};
use crate::metadata::MetadataRecord;
use crate::TopicPartition;

/// The request's topics as the controller reads them.
pub fn new_partitions(request: &CreatePartitionsRequest) -> Vec<NewPartitions> {
    (request.topics.iter())
        .map(|t| NewPartitions {
            name: t.name.0.to_string(),
            count: t.count,
            assignments: (t.assignments.as_ref())
                .map(|a| a.iter().map(|a| a.broker_ids.iter().map(|b| b.0).collect()).collect()),
        })
        .collect()
}

/// The answer: one result per topic, in the request's order.
pub fn response(topics: &[NewPartitions], answers: Vec<Result<(), TopicError>>) -> CreatePartitionsResponse {
    let results = (topics.iter().zip(answers))
        .map(|(topic, answer)| {
            let name = kafka_protocol::messages::TopicName(StrBytes::from_string(topic.name.clone()));
            let result = CreatePartitionsTopicResult::default().with_name(name);
            match answer {
                Ok(()) => result,
                Err(e) => result
                    .with_error_code(e.code.code())
                    .with_error_message(Some(StrBytes::from_string(e.message))),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

impl Broker {
    // ANCHOR: create_partitions
    /// CreatePartitions on a standalone broker: decided by the controller's
    /// code on a cluster of this one broker, the new logs opened, the
    /// PartitionRecords committed, the image applied.
    pub fn create_partitions(&self, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
        let topics = new_partitions(&request);
        let mut metadata = self.metadata_writer();
        let cluster = ClusterView::single(self.config.node_id);
        let random = &mut SeededRandom::new(Uuid::new_v4().as_u64_pair().0);
        let mut decided = create_partitions(metadata.image(), &cluster, &topics, random);
        if request.validate_only || decided.records.is_empty() {
            return response(&topics, decided.answer);
        }
        let stored = self.log_dir.check().map_err(|e| TopicError::new(e.kafka_error(), e.to_string()));
        let stored = stored.and_then(|()| {
            let mut logs = self.lock_logs();
            let opened = self.open_new_partition_logs(&mut logs, metadata.image(), &decided.records)?;
            if let Err(e) = metadata.commit(&decided.records, now_ms()) {
                opened.iter().for_each(|tp| remove_log(&mut logs, tp));
                return Err(self.metadata_failed(e.into()));
            }
            Ok(())
        });
        drop(metadata);
        let stored = stored.and_then(|()| {
            self.apply_image(now_ms()).map_err(|e| {
                let e = Error::from(e);
                TopicError::new(e.kafka_error(), e.to_string())
            })
        });
        if let Err(e) = stored {
            // Nothing (or not all) of the batch is in place: every topic it
            // would have grown hears why.
            decided.answer.iter_mut().filter(|a| a.is_ok()).for_each(|a| *a = Err(e.clone()));
        } else {
            for topic in topics.iter().zip(&decided.answer).filter(|(_, a)| a.is_ok()) {
                tracing::info!(topic = topic.0.name, partitions = topic.0.count, "added partitions");
            }
        }
        response(&topics, decided.answer)
    }
    // ANCHOR_END: create_partitions

    /// Opens an empty log for each new partition in `records`, with its
    /// topic's configs. If one cannot be opened, removes the ones that were.
    fn open_new_partition_logs(
        &self,
        logs: &mut crate::log::LogManager,
        image: &crate::metadata::MetadataImage,
        records: &[MetadataRecord],
    ) -> Result<Vec<TopicPartition>, TopicError> {
        let mut opened = Vec::new();
        for record in records {
            let MetadataRecord::Partition(p) = record else { continue };
            let topic = image.topic_by_id(&p.topic_id).expect("the controller grows known topics");
            let tp = TopicPartition::new(topic.name.clone(), p.partition_id);
            let config = self.topic_log_config(&topic.configs);
            if let Err(e) = logs.get_or_create(&tp, Some(config), now_ms()) {
                tracing::warn!(%tp, error = %e, "cannot create the partition's log: partitions not added");
                opened.iter().for_each(|tp| remove_log(logs, tp));
                let message = format!("cannot create the log of {tp}: {e}");
                return Err(TopicError::new(ResponseError::KafkaStorageError, message));
            }
            opened.push(tp);
        }
        Ok(opened)
    }

    /// CreatePartitions in a cluster: forwarded to the active controller.
    pub async fn forward_create_partitions(
        &self,
        request: CreatePartitionsRequest,
    ) -> CreatePartitionsResponse {
        let link = self.controller_link().expect("a broker in a cluster");
        match link.send_within(&request, forward_deadline(&link, request.timeout_ms)).await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(error = %e, "CreatePartitions: cannot reach the controller");
                let topics = new_partitions(&request);
                let refused = TopicError::new(ResponseError::RequestTimedOut, e.to_string());
                response(&topics, topics.iter().map(|_| Err(refused.clone())).collect())
            }
        }
    }
}

/// Removes the log of a new partition that was not committed.
fn remove_log(logs: &mut crate::log::LogManager, tp: &TopicPartition) {
    if let Err(e) = logs.delete(tp) {
        tracing::warn!(%tp, error = %e, "could not remove the log of a partition not added");
    }
}

#[cfg(test)]
mod tests;
