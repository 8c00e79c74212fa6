//! The client APIs a broker in a cluster answers differently from a
//! standalone one: it is not the controller, so what changes the metadata
//! goes to the controller (Kafka's forwarding), and what describes the
//! cluster is read from the metadata image.
//!
//! ```text
//!  CreateTopics, DeleteTopics ──▶ the controller ──▶ its answer, as the client's version reads it
//!  Metadata       brokers: the registered, unfenced ones; leaders, replicas, ISRs from the image;
//!                 an unknown topic may be created (forwarded) → LEADER_NOT_AVAILABLE until it is seen
//!  DescribeCluster the same brokers, and the controller's id
//!  FindCoordinator the leader of the group's __consumer_offsets partition
//!  InitProducerId  ids from blocks the controller hands out (AllocateProducerIds)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::create_topics_request::CreatableTopic as RequestTopic;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponseTopic};
use kafka_protocol::messages::{
    AllocateProducerIdsRequest, BrokerId, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeClusterResponse, ElectLeadersRequest, ElectLeadersResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::controller_link::ControllerLink;
use super::Broker;
use crate::group::{partition_for, CONSUMER_OFFSETS_TOPIC};
use crate::metadata::MetadataImage;
use crate::txn::TRANSACTION_STATE_TOPIC;

/// How long a forwarded request may look for the active controller: the
/// client's `timeout_ms`, but never less than `controller.quorum.request.timeout.ms`
/// (a client's 0 asks not to wait for the result, not to skip the controller).
pub(super) fn forward_deadline(link: &ControllerLink, timeout_ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0)).max(link.request_timeout())
}

fn str(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

impl Broker {
    /// The brokers clients may use: registered, unfenced, with an endpoint on
    /// `listener`, the one the request came in on (else this broker's first
    /// client listener) — (id, host, port, rack).
    fn live_brokers(&self, image: &MetadataImage, listener: &str) -> Vec<(i32, String, i32, Option<String>)> {
        let advertised = &self.config.advertised_listeners;
        let listener = match advertised.iter().find(|l| l.name == listener) {
            Some(l) => l.name.as_str(),
            None => advertised.first().map_or("PLAINTEXT", |l| l.name.as_str()),
        };
        image
            .live_brokers()
            .filter_map(|b| {
                let e = b.endpoints.iter().find(|e| e.name == listener)?;
                Some((b.id, e.host.clone(), i32::from(e.port), b.rack.clone()))
            })
            .collect()
    }

    /// The "controller" Metadata and DescribeCluster report to clients: a
    /// live broker, never the KRaft controller, which has no client listener.
    /// Clients send CreateTopics and DeleteTopics there, and the broker
    /// forwards them (KIP-590). Kafka picks a random live broker; this one
    /// names itself, or the first live broker while it is fenced.
    fn controller_id(&self, brokers: &[(i32, String, i32, Option<String>)]) -> i32 {
        let ids = || brokers.iter().map(|(id, ..)| *id);
        ids().find(|&id| id == self.config.node_id).or_else(|| ids().min()).unwrap_or(-1)
    }

    // ANCHOR: cluster_metadata
    /// Metadata in a cluster, from this broker's image.
    pub async fn cluster_metadata(
        self: &Arc<Self>,
        request: MetadataRequest,
        version: i16,
        listener: &str,
    ) -> MetadataResponse {
        let auto_create =
            self.config.auto_create_topics && (version < 4 || request.allow_auto_topic_creation);
        let image = self.metadata_image();
        let names: Option<Vec<String>> =
            request.topics.map(|ts| ts.into_iter().filter_map(|t| t.name.map(|n| n.0.to_string())).collect());
        let mut topics = Vec::new();
        let mut missing = Vec::new();
        match names {
            None => topics.extend(image.topics().map(|t| self.topic_metadata(t))),
            Some(names) => {
                for name in names {
                    match image.topic(&name) {
                        Some(topic) => topics.push(self.topic_metadata(topic)),
                        None => missing.push(name),
                    }
                }
            }
        }
        for name in missing {
            let code = if auto_create && crate::controller::topics::validate_topic_name(&name).is_ok() {
                // Kafka answers LEADER_NOT_AVAILABLE while the topic it asked
                // the controller for reaches this broker's metadata.
                let (partitions, replication) = self.new_topic_shape(&name, &image);
                self.forward_create(&name, partitions, replication).await;
                ResponseError::LeaderNotAvailable
            } else {
                ResponseError::UnknownTopicOrPartition
            };
            topics.push(
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(str(name))))
                    .with_error_code(code.code()),
            );
        }
        let live = self.live_brokers(&image, listener);
        let controller_id = self.controller_id(&live);
        let brokers = (live.into_iter())
            .map(|(id, host, port, rack)| {
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(id))
                    .with_host(str(host))
                    .with_port(port)
                    .with_rack(rack.map(str))
            })
            .collect();
        MetadataResponse::default()
            .with_brokers(brokers)
            .with_cluster_id(Some(str(self.cluster_id.clone())))
            .with_controller_id(BrokerId(controller_id))
            .with_topics(topics)
    }
    // ANCHOR_END: cluster_metadata

    /// The partitions and replication factor of a topic this broker creates
    /// on a client's behalf: `__consumer_offsets` as the group coordinator
    /// needs it (`offsets.topic.num.partitions`, `offsets.topic.replication.factor`
    /// capped by the live brokers, so a small cluster can still create it),
    /// `__transaction_state` likewise (`transaction.state.log.*`, chapter 9),
    /// any other with this broker's `num.partitions` and
    /// `default.replication.factor`.
    fn new_topic_shape(&self, name: &str, image: &MetadataImage) -> (i32, i16) {
        let live = image.live_brokers().count().max(1) as i16;
        if name == CONSUMER_OFFSETS_TOPIC {
            let replication = self.config.offsets_topic_replication_factor.min(live);
            (self.config.offsets_topic_num_partitions, replication)
        } else if name == TRANSACTION_STATE_TOPIC {
            let t = &self.config.transactions;
            (t.state_log_num_partitions, t.state_log_replication_factor.min(live))
        } else {
            // Kafka's AutoTopicCreationManager: this broker's defaults, not the controller's.
            (self.config.num_partitions, self.config.default_replication_factor)
        }
    }

    /// Asks the controller to create a topic; the answer is not waited on by
    /// the client (a concurrent creation of the same topic is fine).
    async fn forward_create(&self, name: &str, partitions: i32, replication: i16) {
        let mut topic = RequestTopic::default()
            .with_name(TopicName(str(name)))
            .with_num_partitions(partitions)
            .with_replication_factor(replication);
        let config = |(name, value): (String, String)| {
            kafka_protocol::messages::create_topics_request::CreatableTopicConfig::default()
                .with_name(str(name))
                .with_value(Some(str(value)))
        };
        if name == CONSUMER_OFFSETS_TOPIC {
            topic.configs = vec![config(("cleanup.policy".into(), "compact".into()))];
        } else if name == TRANSACTION_STATE_TOPIC {
            topic.configs = self.transaction_state_configs(replication).into_iter().map(config).collect();
        }
        let request = CreateTopicsRequest::default().with_topics(vec![topic]).with_timeout_ms(30_000);
        if let Some(link) = self.controller_link() {
            match link.send(&request).await {
                Ok(r) => {
                    if let Some(code) = r.topics.first().map(|t| t.error_code).filter(|&c| c != 0) {
                        tracing::debug!(topic = name, code, "controller refused the topic");
                    }
                }
                Err(e) => tracing::warn!(topic = name, error = %e, "cannot reach the controller"),
            }
        }
    }

    /// CreateTopics forwarded to the controller; its answer trimmed to the
    /// fields the client's version carries.
    pub async fn forward_create_topics(
        &self,
        request: CreateTopicsRequest,
        version: i16,
    ) -> CreateTopicsResponse {
        let names: Vec<TopicName> = request.topics.iter().map(|t| t.name.clone()).collect();
        let link = self.controller_link().expect("a broker in a cluster");
        match link.send_within(&request, forward_deadline(&link, request.timeout_ms)).await {
            Ok(mut response) => {
                for topic in &mut response.topics {
                    if version < 7 {
                        topic.topic_id = uuid::Uuid::nil();
                    }
                    if version < 5 {
                        topic.num_partitions = -1;
                        topic.replication_factor = -1;
                        topic.configs = None;
                        topic.topic_config_error_code = 0;
                    }
                }
                response
            }
            Err(e) => {
                tracing::warn!(error = %e, "CreateTopics: cannot reach the controller");
                let topics = (names.into_iter())
                    .map(|name| {
                        kafka_protocol::messages::create_topics_response::CreatableTopicResult::default()
                            .with_name(name)
                            .with_error_code(ResponseError::RequestTimedOut.code())
                    })
                    .collect();
                CreateTopicsResponse::default().with_topics(topics)
            }
        }
    }

    /// DeleteTopics forwarded to the controller.
    pub async fn forward_delete_topics(
        &self,
        request: DeleteTopicsRequest,
        version: i16,
    ) -> DeleteTopicsResponse {
        let names: Vec<TopicName> = request
            .topic_names
            .iter()
            .cloned()
            .chain(request.topics.iter().filter_map(|t| t.name.clone()))
            .collect();
        let link = self.controller_link().expect("a broker in a cluster");
        match link.send_within(&request, forward_deadline(&link, request.timeout_ms)).await {
            Ok(mut response) => {
                for topic in &mut response.responses {
                    if version < 6 {
                        topic.topic_id = uuid::Uuid::nil();
                    }
                    if version < 5 {
                        topic.error_message = None;
                    }
                }
                response
            }
            Err(e) => {
                tracing::warn!(error = %e, "DeleteTopics: cannot reach the controller");
                let responses = (names.into_iter())
                    .map(|name| {
                        kafka_protocol::messages::delete_topics_response::DeletableTopicResult::default()
                            .with_name(Some(name))
                            .with_error_code(ResponseError::RequestTimedOut.code())
                    })
                    .collect();
                DeleteTopicsResponse::default().with_responses(responses)
            }
        }
    }

    /// ElectLeaders forwarded to the controller.
    pub async fn forward_elect_leaders(
        &self,
        request: ElectLeadersRequest,
        version: i16,
    ) -> ElectLeadersResponse {
        let link = self.controller_link().expect("a broker in a cluster");
        match link.send_within(&request, forward_deadline(&link, request.timeout_ms)).await {
            Ok(mut response) => {
                if version < 1 {
                    response.error_code = 0;
                }
                response
            }
            Err(e) => {
                tracing::warn!(error = %e, "ElectLeaders: cannot reach the controller");
                ElectLeadersResponse::default().with_error_code(if version >= 1 {
                    ResponseError::RequestTimedOut.code()
                } else {
                    0
                })
            }
        }
    }

    /// DescribeCluster in a cluster.
    pub fn cluster_describe(&self, listener: &str) -> DescribeClusterResponse {
        let image = self.metadata_image();
        let live = self.live_brokers(&image, listener);
        let controller_id = self.controller_id(&live);
        let brokers = (live.into_iter())
            .map(|(id, host, port, rack)| {
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(id))
                    .with_host(str(host))
                    .with_port(port)
                    .with_rack(rack.map(str))
            })
            .collect();
        DescribeClusterResponse::default()
            .with_cluster_id(str(self.cluster_id.clone()))
            .with_controller_id(BrokerId(controller_id))
            .with_brokers(brokers)
    }

    // ANCHOR: cluster_find_coordinator
    /// FindCoordinator in a cluster: a group's coordinator is the leader of
    /// its `__consumer_offsets` partition, a transactional id's the leader of
    /// its `__transaction_state` partition. The first lookup has the topic
    /// created (COORDINATOR_NOT_AVAILABLE until it has a leader).
    pub async fn cluster_find_coordinator(
        self: &Arc<Self>,
        request: FindCoordinatorRequest,
        version: i16,
        listener: &str,
    ) -> FindCoordinatorResponse {
        let keys: Vec<StrBytes> =
            if version < 4 { vec![request.key.clone()] } else { request.coordinator_keys.clone() };
        let mut image = self.metadata_image();
        let internal_topic = match request.key_type {
            0 => Some(CONSUMER_OFFSETS_TOPIC),
            1 => Some(TRANSACTION_STATE_TOPIC),
            _ => None,
        };
        if let Some(name) = internal_topic.filter(|name| image.topic(name).is_none()) {
            let (partitions, replication) = self.new_topic_shape(name, &image);
            self.forward_create(name, partitions, replication).await;
            image = self.metadata_image();
        }
        let brokers: BTreeMap<i32, (String, i32)> = self
            .live_brokers(&image, listener)
            .into_iter()
            .map(|(id, host, port, _)| (id, (host, port)))
            .collect();
        let locate = |key: &StrBytes| -> Result<(i32, String, i32), ResponseError> {
            let name = internal_topic.ok_or(ResponseError::InvalidRequest)?;
            let topic = image.topic(name).ok_or(ResponseError::CoordinatorNotAvailable)?;
            let count = topic.partitions.len() as i32;
            let partition = topic
                .partitions
                .get(&partition_for(key, count))
                .ok_or(ResponseError::CoordinatorNotAvailable)?;
            let (host, port) =
                brokers.get(&partition.leader).ok_or(ResponseError::CoordinatorNotAvailable)?;
            Ok((partition.leader, host.clone(), *port))
        };
        let answer = |coordinator: Coordinator, key: &StrBytes| match locate(key) {
            Ok((id, host, port)) => {
                coordinator.with_node_id(BrokerId(id)).with_host(str(host)).with_port(port)
            }
            Err(e) => coordinator.with_node_id(BrokerId(-1)).with_port(-1).with_error_code(e.code()),
        };
        if version < 4 {
            let c = answer(Coordinator::default(), &keys[0]);
            return FindCoordinatorResponse::default()
                .with_error_code(c.error_code)
                .with_node_id(c.node_id)
                .with_host(c.host)
                .with_port(c.port);
        }
        let coordinators =
            keys.iter().map(|k| answer(Coordinator::default().with_key(k.clone()), k)).collect();
        FindCoordinatorResponse::default().with_coordinators(coordinators)
    }
    // ANCHOR_END: cluster_find_coordinator

    /// A producer id block from the controller (AllocateProducerIds), for
    /// InitProducerId in a cluster: `(first, end)`.
    pub async fn allocate_producer_id_block(&self) -> Result<(i64, i64), ResponseError> {
        let link = self.controller_link().ok_or(ResponseError::CoordinatorNotAvailable)?;
        let request = AllocateProducerIdsRequest::default()
            .with_broker_id(BrokerId(self.config.node_id))
            .with_broker_epoch(self.broker_epoch());
        match link.send(&request).await {
            Ok(r) if r.error_code == 0 => {
                Ok((r.producer_id_start.0, r.producer_id_start.0 + i64::from(r.producer_id_len)))
            }
            Ok(r) => {
                Err(ResponseError::try_from_code(r.error_code)
                    .unwrap_or(ResponseError::CoordinatorNotAvailable))
            }
            Err(_) => Err(ResponseError::CoordinatorNotAvailable),
        }
    }
}
