//! The controller's admin APIs, forwarded by brokers: CreateTopics,
//! CreatePartitions, DeleteTopics, ElectLeaders (preferred and unclean), and the producer id
//! blocks of AllocateProducerIds. Each is decided by the controller core and
//! committed before it is answered, as the broker-facing APIs in the parent
//! module are.

use std::sync::PoisonError;

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    AllocateProducerIdsRequest, AllocateProducerIdsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse, ElectLeadersRequest, ElectLeadersResponse, ProducerId,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::ControllerNode;
use crate::controller::{self, ControllerResult};
use crate::metadata::MetadataRecord;

/// The topic APIs and producer id blocks.
impl ControllerNode {
    // ANCHOR: controller_create_topics
    /// CreateTopics (forwarded by a broker): checked and placed by the
    /// controller core on the registered brokers, committed as one batch.
    /// `validate_only` commits nothing.
    pub(super) async fn create_topics(
        &self,
        request: CreateTopicsRequest,
        version: i16,
    ) -> CreateTopicsResponse {
        let topics: Vec<controller::CreatableTopic> = (request.topics.iter())
            .map(|t| controller::CreatableTopic {
                name: t.name.0.to_string(),
                num_partitions: t.num_partitions,
                replication_factor: t.replication_factor,
                assignments: (t.assignments.iter())
                    .map(|a| (a.partition_index, a.broker_ids.iter().map(|b| b.0).collect()))
                    .collect(),
                configs: (t.configs.iter())
                    .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                    .collect(),
            })
            .collect();
        let decided = self.begin().and_then(|(active, mut writer)| {
            let image = writer.image().clone();
            let mut random = self.random.lock().unwrap_or_else(PoisonError::into_inner);
            let mut result = active.core.create_topics(&image, &topics, &mut *random);
            if request.validate_only {
                result.records.clear();
            }
            self.commit(&mut writer, result)
        });
        let answers = match self.settle(decided).await {
            Ok(answers) => answers,
            Err(code) => {
                topics.iter().map(|_| Err(controller::TopicError::new(code, not_committed(code)))).collect()
            }
        };
        let results = (topics.iter().zip(answers))
            .map(|(topic, answer)| {
                let out = CreatableTopicResult::default()
                    .with_name(TopicName(StrBytes::from_string(topic.name.clone())));
                match answer {
                    Ok(created) => {
                        tracing::info!(
                            topic = topic.name,
                            partitions = created.num_partitions,
                            "created topic"
                        );
                        let out = if version >= 5 {
                            out.with_num_partitions(created.num_partitions)
                                .with_replication_factor(created.replication_factor)
                        } else {
                            out
                        };
                        if version >= 7 {
                            out.with_topic_id(created.topic_id)
                        } else {
                            out
                        }
                    }
                    Err(e) => out
                        .with_error_code(e.code.code())
                        .with_error_message(Some(StrBytes::from_string(e.message))),
                }
            })
            .collect();
        CreateTopicsResponse::default().with_topics(results)
    }
    // ANCHOR_END: controller_create_topics

    /// CreatePartitions (forwarded by a broker): the new PartitionRecords,
    /// placed on the registered brokers, committed as one batch before the
    /// answer; each broker opens the logs it now hosts when it applies them.
    /// `validate_only` commits nothing.
    pub(super) async fn create_partitions(
        &self,
        request: kafka_protocol::messages::CreatePartitionsRequest,
    ) -> kafka_protocol::messages::CreatePartitionsResponse {
        let topics = crate::broker::create_partitions::new_partitions(&request);
        let decided = self.begin().and_then(|(active, mut writer)| {
            let image = writer.image().clone();
            let mut random = self.random.lock().unwrap_or_else(PoisonError::into_inner);
            let mut result = active.core.create_partitions(&image, &topics, &mut *random);
            if request.validate_only {
                result.records.clear();
            }
            self.commit(&mut writer, result)
        });
        let answers = match self.settle(decided).await {
            Ok(answers) => answers,
            Err(code) => {
                topics.iter().map(|_| Err(controller::TopicError::new(code, not_committed(code)))).collect()
            }
        };
        for (topic, _) in topics.iter().zip(&answers).filter(|(_, a)| a.is_ok()) {
            if !request.validate_only {
                tracing::info!(topic = topic.name, partitions = topic.count, "added partitions");
            }
        }
        crate::broker::create_partitions::response(&topics, answers)
    }

    /// IncrementalAlterConfigs and AlterConfigs (forwarded by a broker): the
    /// ConfigRecords committed as one batch before the answer; every broker
    /// applies them to its live logs when it applies them to its image.
    /// `validate_only` commits nothing.
    pub(super) async fn alter_configs(
        &self,
        resources: &[controller::configs::ConfigResourceChange],
        validate_only: bool,
    ) -> Vec<Result<(), controller::TopicError>> {
        let decided = self.begin().and_then(|(_active, mut writer)| {
            let image = writer.image().clone();
            let mut result = controller::configs::alter_configs(&image, resources);
            if validate_only {
                result.records.clear();
            }
            self.commit(&mut writer, result)
        });
        match self.settle(decided).await {
            Ok(answers) => {
                if !validate_only {
                    crate::broker::alter_configs::log_altered(resources, &answers);
                }
                answers
            }
            Err(code) => resources
                .iter()
                .map(|_| Err(controller::TopicError::new(code, not_committed(code))))
                .collect(),
        }
    }

    /// AlterClientQuotas (forwarded by a broker, issue 19): the
    /// ClientQuotaRecords committed as one batch before the answer.
    pub(super) async fn alter_client_quotas(
        &self,
        request: kafka_protocol::messages::AlterClientQuotasRequest,
    ) -> kafka_protocol::messages::AlterClientQuotasResponse {
        let decided = self.begin().and_then(|(_active, mut writer)| {
            let image = writer.image().clone();
            let (mut records, answer) = controller::client_quotas::alter_client_quotas(&image, &request);
            if request.validate_only {
                records.clear();
            }
            self.commit(&mut writer, controller::ControllerResult { records, answer })
        });
        match self.settle(decided).await {
            Ok(response) => {
                if !request.validate_only {
                    crate::broker::client_quotas::log_altered(&response);
                }
                response
            }
            Err(code) => {
                let (_, mut response) =
                    controller::client_quotas::alter_client_quotas(&Default::default(), &request);
                crate::broker::client_quotas::refuse_all(&mut response, code, not_committed(code));
                response
            }
        }
    }

    /// AlterUserScramCredentials (forwarded by a broker, issue 19): the
    /// credential records committed as one batch before the answer.
    pub(super) async fn alter_user_scram_credentials(
        &self,
        request: kafka_protocol::messages::AlterUserScramCredentialsRequest,
    ) -> kafka_protocol::messages::AlterUserScramCredentialsResponse {
        use crate::broker::scram::{log_altered, refuse_all};
        let decided = self.begin().and_then(|(_active, mut writer)| {
            let image = writer.image().clone();
            let (records, answer) = controller::scram::alter_user_scram_credentials(&image, &request);
            self.commit(&mut writer, controller::ControllerResult { records, answer })
        });
        match self.settle(decided).await {
            Ok(response) => {
                log_altered(&response);
                response
            }
            Err(code) => {
                let (_, mut response) =
                    controller::scram::alter_user_scram_credentials(&Default::default(), &request);
                refuse_all(&mut response, code, not_committed(code));
                response
            }
        }
    }

    /// DeleteTopics (forwarded by a broker): a RemoveTopicRecord per topic;
    /// each broker drops the partitions and deletes their logs when its
    /// image no longer has them.
    pub(super) async fn delete_topics(&self, request: DeleteTopicsRequest) -> DeleteTopicsResponse {
        let names: Vec<TopicName> = request
            .topic_names
            .into_iter()
            .chain(request.topics.into_iter().filter_map(|t| t.name))
            .collect();
        let (mut responses, last) = match self.remove_topics(names) {
            Ok(decided) => decided,
            Err(refused) => return refused,
        };
        // The removals commit in order: the last one committed means all did.
        if let Some(pending) = last {
            match self.quorum.wait_committed(pending).await {
                Ok(()) => {
                    for r in responses.iter().filter(|r| r.error_code == 0) {
                        tracing::info!(topic = ?r.name, "deleted topic");
                    }
                }
                Err(code) => {
                    for r in responses.iter_mut().filter(|r| r.error_code == 0) {
                        r.error_code = code.code();
                        r.error_message = Some(StrBytes::from_static_str(not_committed(code)));
                    }
                }
            }
        }
        DeleteTopicsResponse::default().with_responses(responses)
    }

    /// DeleteTopics' decisions and appends, under the controller's locks:
    /// each topic's answer, and the last removal's pending commit.
    #[allow(clippy::type_complexity)]
    fn remove_topics(
        &self,
        names: Vec<TopicName>,
    ) -> Result<(Vec<DeletableTopicResult>, Option<crate::node::quorum::Pending>), DeleteTopicsResponse> {
        let (_active, mut writer) = match self.begin() {
            Ok(began) => began,
            Err(code) => {
                let refuse = |name: TopicName| {
                    DeletableTopicResult::default()
                        .with_name(Some(name))
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_static_str(not_committed(code))))
                };
                return Err(
                    DeleteTopicsResponse::default().with_responses(names.into_iter().map(refuse).collect())
                );
            }
        };
        let mut responses = Vec::new();
        let mut last = None;
        for name in names {
            let result = DeletableTopicResult::default().with_name(Some(name.clone()));
            let refused = |code: ResponseError, message: String| {
                result
                    .clone()
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_string(message)))
            };
            if name.0.as_str() == crate::group::CONSUMER_OFFSETS_TOPIC {
                responses.push(refused(
                    ResponseError::InvalidTopicException,
                    "cannot delete internal topic".into(),
                ));
                continue;
            }
            let Some(topic_id) = writer.image().topic(&name.0).map(|t| t.topic_id) else {
                responses
                    .push(refused(ResponseError::UnknownTopicOrPartition, format!("no topic {}", name.0)));
                continue;
            };
            let removal =
                ControllerResult { records: vec![MetadataRecord::RemoveTopic { topic_id }], answer: () };
            responses.push(match self.commit(&mut writer, removal) {
                Ok(((), pending)) => {
                    last = Some(pending);
                    result.with_topic_id(topic_id)
                }
                Err(code) => refused(code, not_committed(code).into()),
            });
        }
        Ok((responses, last))
    }

    /// AllocateProducerIds: the next block of ids, committed before it is
    /// handed to the broker (chapter 8).
    pub(super) async fn allocate_producer_ids(
        &self,
        request: AllocateProducerIdsRequest,
    ) -> AllocateProducerIdsResponse {
        let decided = self.begin().and_then(|(active, mut writer)| {
            let image = writer.image().clone();
            match active.core.allocate_producer_ids(&image, request.broker_id.0, request.broker_epoch) {
                Ok(result) => self.commit(&mut writer, result),
                Err(e) => Err(e.code()),
            }
        });
        match self.settle(decided).await {
            Ok(block) => AllocateProducerIdsResponse::default()
                .with_producer_id_start(ProducerId(block.first))
                .with_producer_id_len((block.end - block.first) as i32),
            Err(code) => AllocateProducerIdsResponse::default().with_error_code(code.code()),
        }
    }
}

impl ControllerNode {
    // ANCHOR: elect_leaders
    /// ElectLeaders (`kafka-leader-election.sh`, AdminClient.electLeaders):
    /// the preferred election moves each partition's leadership back to its
    /// first replica when that replica is in the ISR and active; the unclean
    /// one gives a leaderless partition a live replica even from outside the
    /// ISR ([`controller::elections`]). No partitions named: every partition,
    /// and those whose election was not needed are left out of the answer,
    /// as Kafka does. An unknown election type is INVALID_REQUEST.
    pub(super) async fn elect_leaders(
        &self,
        request: ElectLeadersRequest,
        version: i16,
    ) -> ElectLeadersResponse {
        use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
        // Only v1+ carry a type (and a top-level error code); v0 is preferred.
        let Some(election_type) = controller::ElectionType::from_code(request.election_type) else {
            return refuse_elect_leaders(&request, ResponseError::InvalidRequest);
        };
        let every_partition = request.topic_partitions.is_none();
        let (asked, decided) = {
            let (active, mut writer) = match self.begin() {
                Ok(began) => began,
                Err(code) => return refuse_elect_leaders(&request, code),
            };
            let image = writer.image().clone();
            let asked: Vec<crate::TopicPartition> = match &request.topic_partitions {
                Some(topics) => (topics.iter())
                    .flat_map(|t| {
                        t.partitions.iter().map(|&p| crate::TopicPartition::new(t.topic.0.to_string(), p))
                    })
                    .collect(),
                None => image
                    .partitions()
                    .map(|(t, p, _)| crate::TopicPartition::new(t.name.clone(), p))
                    .collect(),
            };
            let result = active.core.elect_leaders(&image, election_type, &asked);
            (asked, self.commit(&mut writer, result))
        };
        let answers = match self.settle(decided).await {
            Ok(answers) => answers,
            Err(code) => asked.into_iter().map(|tp| (tp, Some(code))).collect(),
        };
        let mut results: Vec<ReplicaElectionResult> = Vec::new();
        for (tp, code) in answers {
            if every_partition && code == Some(ResponseError::ElectionNotNeeded) {
                continue;
            }
            let partition = PartitionResult::default()
                .with_partition_id(tp.partition)
                .with_error_code(code.map_or(0, |c| c.code()))
                .with_error_message(code.map(|c| StrBytes::from_string(format!("{c:?}"))));
            match results.iter_mut().find(|r| r.topic.0.as_str() == tp.topic) {
                Some(r) => r.partition_result.push(partition),
                None => results.push(
                    ReplicaElectionResult::default()
                        .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                        .with_partition_result(vec![partition]),
                ),
            }
        }
        let _ = version; // v1 added the top-level error code, 0 unless the type is unknown
        ElectLeadersResponse::default().with_replica_election_results(results)
    }
    // ANCHOR_END: elect_leaders
}

/// ElectLeaders refused as a whole: the error for the request and for each
/// partition it named, as Kafka's `ElectLeadersRequest.getErrorResponse`.
fn refuse_elect_leaders(request: &ElectLeadersRequest, code: ResponseError) -> ElectLeadersResponse {
    use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
    let results = (request.topic_partitions.iter().flatten())
        .map(|t| {
            let partitions = (t.partitions.iter())
                .map(|&p| {
                    PartitionResult::default()
                        .with_partition_id(p)
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_string(format!("{code:?}"))))
                })
                .collect();
            ReplicaElectionResult::default().with_topic(t.topic.clone()).with_partition_result(partitions)
        })
        .collect();
    ElectLeadersResponse::default().with_error_code(code.code()).with_replica_election_results(results)
}

/// The message of an answer whose records did not commit.
pub(super) fn not_committed(code: ResponseError) -> &'static str {
    match code {
        ResponseError::NotController => {
            "this controller is not the active one; retry on the active controller"
        }
        _ => "metadata commit failed",
    }
}
