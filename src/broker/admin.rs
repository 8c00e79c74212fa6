//! The administrative APIs: ApiVersions, Metadata, CreateTopics, DeleteTopics,
//! DescribeCluster and InitProducerId (DescribeConfigs is `describe_configs.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::api_versions_response::{ApiVersion, FinalizedFeatureKey, SupportedFeatureKey};
use kafka_protocol::messages::create_topics_request::CreatableReplicaAssignment;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiVersionsResponse, BrokerId, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeClusterRequest, DescribeClusterResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, InitProducerIdRequest, InitProducerIdResponse, MetadataRequest,
    MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::Broker;
use crate::group::CONSUMER_OFFSETS_TOPIC;
use crate::metadata::TopicImage;
use crate::txn::{TRANSACTION_VERSION_FEATURE, TRANSACTION_VERSION_MAX};
use crate::wire::codec::{advertised_versions, SUPPORTED};

fn str(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

// ANCHOR: api_versions
/// ApiVersions: every API spool implements, with exactly the versions it speaks
/// at its `transaction.version`, and that feature (KIP-584: v3+ carry
/// features; older versions leave the fields out). `error` is set when
/// answering a version spool does not know (with a v0 body).
pub fn api_versions(error: Option<ResponseError>, transaction_version: i16) -> ApiVersionsResponse {
    let api_keys = SUPPORTED
        .iter()
        .map(|&(key, _, _)| {
            let (min, max) = advertised_versions(key, transaction_version).expect("a supported api");
            ApiVersion::default().with_api_key(key as i16).with_min_version(min).with_max_version(max)
        })
        .collect();
    let name = || str(TRANSACTION_VERSION_FEATURE);
    let supported = SupportedFeatureKey::default()
        .with_name(name())
        .with_min_version(0)
        .with_max_version(TRANSACTION_VERSION_MAX);
    // Kafka lists no finalized feature at level 0: it is the same as absent.
    let finalized = (transaction_version > 0).then(|| {
        FinalizedFeatureKey::default()
            .with_name(name())
            .with_min_version_level(transaction_version)
            .with_max_version_level(transaction_version)
    });
    ApiVersionsResponse::default()
        .with_error_code(error.map_or(0, |e| e.code()))
        .with_api_keys(api_keys)
        .with_supported_features(vec![supported])
        // The features never change while a broker runs (a static setting):
        // one epoch, the same on every broker of a cluster.
        .with_finalized_features_epoch(FINALIZED_FEATURES_EPOCH)
        .with_finalized_features(finalized.into_iter().collect())
}
// ANCHOR_END: api_versions

/// ApiVersions' `FinalizedFeaturesEpoch`: spool's features are fixed at start.
const FINALIZED_FEATURES_EPOCH: i64 = 0;

impl Broker {
    // ANCHOR: metadata
    /// Metadata: this broker, and the requested topics (all when the list is
    /// null). Unknown topics are created when both the broker
    /// (`auto.create.topics.enable`) and the client allow it.
    pub fn metadata(&self, request: MetadataRequest, version: i16, listener: &str) -> MetadataResponse {
        let auto_create =
            self.config.auto_create_topics && (version < 4 || request.allow_auto_topic_creation);
        let names: Option<Vec<String>> = request
            .topics
            .map(|topics| topics.into_iter().filter_map(|t| t.name.map(|n| n.0.to_string())).collect());
        let mut topics = Vec::new();
        match names {
            None => {
                topics.extend(self.metadata_image().topics().map(|t| self.topic_metadata(t)));
            }
            Some(names) => {
                for name in names {
                    topics.push(self.metadata_for(&name, auto_create));
                }
            }
        }
        let (host, port) = self.advertised_on(listener);
        let broker = MetadataResponseBroker::default()
            .with_node_id(BrokerId(self.config.node_id))
            .with_host(str(host))
            .with_port(port);
        MetadataResponse::default()
            .with_brokers(vec![broker])
            .with_cluster_id(Some(str(self.cluster_id.clone())))
            .with_controller_id(BrokerId(self.config.node_id))
            .with_topics(topics)
    }
    // ANCHOR_END: metadata

    fn metadata_for(&self, name: &str, auto_create: bool) -> MetadataResponseTopic {
        let existing = self.metadata_image().topic(name).cloned();
        if let Some(topic) = existing {
            return self.topic_metadata(&topic);
        }
        let error = if name == CONSUMER_OFFSETS_TOPIC && auto_create {
            // Created as the coordinator needs it, not with num.partitions.
            match self.ensure_offsets_topic() {
                Ok(_) => return self.metadata_for(name, false),
                Err(e) => e,
            }
        } else if !auto_create {
            ResponseError::UnknownTopicOrPartition
        } else {
            match self.create_topic(name, -1, -1, &BTreeMap::new(), false) {
                // Kafka answers LEADER_NOT_AVAILABLE for a topic it just created;
                // spool's partitions are ready at once.
                Ok(_) => match self.metadata_image().topic(name) {
                    Some(topic) => return self.topic_metadata(topic),
                    None => ResponseError::UnknownTopicOrPartition,
                },
                Err(e) if e.code == ResponseError::TopicAlreadyExists => {
                    return self.metadata_for(name, false);
                }
                Err(e) => e.code,
            }
        };
        MetadataResponseTopic::default().with_name(Some(TopicName(str(name)))).with_error_code(error.code())
    }

    pub(crate) fn topic_metadata(&self, topic: &TopicImage) -> MetadataResponseTopic {
        let partitions = topic
            .partitions
            .iter()
            .map(|(&p, image)| {
                // A partition with no leader (all its ISR fenced) is not
                // writable or readable until one is elected.
                let error = if image.leader < 0 { ResponseError::LeaderNotAvailable.code() } else { 0 };
                MetadataResponsePartition::default()
                    .with_error_code(error)
                    .with_partition_index(p)
                    .with_leader_id(BrokerId(image.leader))
                    .with_leader_epoch(image.leader_epoch)
                    .with_replica_nodes(image.replicas.iter().map(|&r| BrokerId(r)).collect())
                    .with_isr_nodes(image.isr.iter().map(|&r| BrokerId(r)).collect())
            })
            .collect();
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(str(topic.name.clone()))))
            .with_topic_id(topic.topic_id)
            .with_is_internal(
                topic.name == CONSUMER_OFFSETS_TOPIC || topic.name == crate::txn::TRANSACTION_STATE_TOPIC,
            )
            .with_partitions(partitions)
    }

    /// CreateTopics, one result per topic.
    pub fn create_topics(&self, request: CreateTopicsRequest, version: i16) -> CreateTopicsResponse {
        // Kafka refuses every entry of a name the request lists twice.
        let mut seen = BTreeMap::new();
        for topic in &request.topics {
            *seen.entry(topic.name.0.to_string()).or_insert(0) += 1;
        }
        let topics = request
            .topics
            .into_iter()
            .map(|topic| {
                let name = topic.name.0.to_string();
                let configs: BTreeMap<String, String> = topic
                    .configs
                    .iter()
                    .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                    .collect();
                let invalid = |message: String| {
                    Err(super::topics::TopicError { code: ResponseError::InvalidRequest, message })
                };
                let result = if seen[&name] > 1 {
                    invalid(format!("topic {name} is listed more than once"))
                } else if topic.assignments.is_empty() {
                    self.create_topic(
                        &name,
                        topic.num_partitions,
                        topic.replication_factor,
                        &configs,
                        request.validate_only,
                    )
                } else if topic.num_partitions != -1 || topic.replication_factor != -1 {
                    invalid("both a partition count or replication factor and an assignment".into())
                } else {
                    self.create_assigned_topic(&name, &topic.assignments, &configs, request.validate_only)
                };
                let mut out = CreatableTopicResult::default().with_name(topic.name);
                match result {
                    Ok((id, partitions, rf)) => {
                        if version >= 5 {
                            out = out.with_num_partitions(partitions).with_replication_factor(rf);
                        }
                        if version >= 7 {
                            out = out.with_topic_id(id);
                        }
                    }
                    Err(e) => {
                        out = out.with_error_code(e.code.code()).with_error_message(Some(str(e.message)));
                    }
                }
                out
            })
            .collect();
        CreateTopicsResponse::default().with_topics(topics)
    }

    /// A topic created from an explicit replica assignment, checked as the
    /// controller checks one (every replica a registered broker — here, this
    /// one — partitions numbered 0..n).
    fn create_assigned_topic(
        &self,
        name: &str,
        assignments: &[CreatableReplicaAssignment],
        configs: &BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(uuid::Uuid, i32, i16), super::topics::TopicError> {
        let topic = crate::controller::CreatableTopic {
            name: name.to_string(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: assignments
                .iter()
                .map(|a| (a.partition_index, a.broker_ids.iter().map(|b| b.0).collect()))
                .collect(),
            configs: configs.clone(),
        };
        self.create_topic_from(&topic, validate_only)
    }

    /// DeleteTopics, by name (spool does not accept topic ids here). Once a
    /// topic's removal is committed, the group coordinator deletes its
    /// committed offsets (chapter 5), so a topic recreated with the same name
    /// is not read from the old one's positions.
    pub async fn delete_topics(self: &Arc<Self>, request: DeleteTopicsRequest) -> DeleteTopicsResponse {
        let names: Vec<TopicName> = request
            .topic_names
            .into_iter()
            .chain(request.topics.into_iter().filter_map(|t| t.name))
            .collect();
        let mut responses = Vec::with_capacity(names.len());
        for name in names {
            let result = DeletableTopicResult::default().with_name(Some(name.clone()));
            // delete_topic has released the metadata log's lock: the coordinator's comes first.
            responses.push(match self.delete_topic(&name.0) {
                Ok(_) => {
                    self.delete_topic_offsets(&name.0).await;
                    result
                }
                Err(e) => result.with_error_code(e.code.code()).with_error_message(Some(str(e.message))),
            });
        }
        DeleteTopicsResponse::default().with_responses(responses)
    }

    /// The address this broker advertises on `listener` (Kafka's rule: a
    /// client is told the addresses on the listener it came in on); the
    /// first client listener's — `advertised.host`/`port`, which the config
    /// resolved for it — for that listener itself and for a request from no
    /// listener (a test's).
    pub fn advertised_on(&self, listener: &str) -> (String, i32) {
        let c = &self.config;
        let controller = |name: &str| c.controller_listener_names.iter().any(|n| n == name);
        let primary = c.listeners.iter().find(|l| !controller(&l.name)).map(|l| l.name.as_str());
        match c.advertised_listeners.iter().find(|l| l.name == listener) {
            Some(l) if Some(l.name.as_str()) != primary => (l.host.clone(), i32::from(l.port)),
            _ => (c.advertised_host.clone(), i32::from(c.advertised_port)),
        }
    }

    /// DescribeCluster: one broker, which is also the controller.
    pub fn describe_cluster(
        &self,
        _request: DescribeClusterRequest,
        listener: &str,
    ) -> DescribeClusterResponse {
        let (host, port) = self.advertised_on(listener);
        let broker = DescribeClusterBroker::default()
            .with_broker_id(BrokerId(self.config.node_id))
            .with_host(str(host))
            .with_port(port);
        DescribeClusterResponse::default()
            .with_cluster_id(str(self.cluster_id.clone()))
            .with_controller_id(BrokerId(self.config.node_id))
            .with_brokers(vec![broker])
    }

    // ANCHOR: find_coordinator
    /// FindCoordinator on a single node: it coordinates every group and
    /// transactional id. A group's coordinator needs `__consumer_offsets`, so
    /// the first group lookup creates it, as Kafka does (chapter 5); a
    /// transactional id's needs `__transaction_state`, created the same way
    /// (chapter 9). (librdkafka also reads this API's presence as "the broker
    /// speaks LZ4 the way the JVM does": without it, no lz4.)
    pub fn find_coordinator(
        &self,
        request: FindCoordinatorRequest,
        version: i16,
        listener: &str,
    ) -> FindCoordinatorResponse {
        let node = BrokerId(self.config.node_id);
        let (host, port) = self.advertised_on(listener);
        let host = str(host);
        // key_type 0 is a group (and the only type before v1), 1 a transactional id.
        let error = match request.key_type {
            0 => self.ensure_offsets_topic().err(),
            1 => self.ensure_transaction_state_topic().err(),
            _ => Some(ResponseError::InvalidRequest),
        };
        let located = |coordinator: Coordinator| match error {
            None => coordinator.with_node_id(node).with_host(host.clone()).with_port(port),
            Some(e) => coordinator.with_node_id(BrokerId(-1)).with_port(-1).with_error_code(e.code()),
        };
        if version < 4 {
            let c = located(Coordinator::default());
            return FindCoordinatorResponse::default()
                .with_error_code(c.error_code)
                .with_node_id(c.node_id)
                .with_host(c.host)
                .with_port(c.port);
        }
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| located(Coordinator::default().with_key(key)))
            .collect();
        FindCoordinatorResponse::default().with_coordinators(coordinators)
    }
    // ANCHOR_END: find_coordinator

    /// ElectLeaders on a standalone broker: every partition has one replica,
    /// which leads it, so each named one is ELECTION_NOT_NEEDED (or unknown).
    /// Asked for every partition, the answer lists none: Kafka leaves the
    /// ELECTION_NOT_NEEDED ones out of an all-partitions answer.
    pub fn elect_leaders_standalone(
        &self,
        request: kafka_protocol::messages::ElectLeadersRequest,
    ) -> kafka_protocol::messages::ElectLeadersResponse {
        use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
        let image = self.metadata_image();
        let asked: Vec<(String, i32)> = match &request.topic_partitions {
            Some(topics) => {
                topics.iter().flat_map(|t| t.partitions.iter().map(|&p| (t.topic.0.to_string(), p))).collect()
            }
            None => Vec::new(),
        };
        let mut results: Vec<ReplicaElectionResult> = Vec::new();
        for (topic, p) in asked {
            let code = match image.partition(&topic, p) {
                Some(_) => ResponseError::ElectionNotNeeded,
                None => ResponseError::UnknownTopicOrPartition,
            };
            let partition = PartitionResult::default().with_partition_id(p).with_error_code(code.code());
            match results.iter_mut().find(|r| r.topic.0.as_str() == topic) {
                Some(r) => r.partition_result.push(partition),
                None => results.push(
                    ReplicaElectionResult::default()
                        .with_topic(TopicName(str(topic)))
                        .with_partition_result(vec![partition]),
                ),
            }
        }
        kafka_protocol::messages::ElectLeadersResponse::default().with_replica_election_results(results)
    }

    // ANCHOR: init_producer_id
    /// InitProducerId for idempotent producers: a producer id never handed out
    /// before ([`producer_ids`](super::producer_ids)), epoch 0.
    ///
    /// A request may name the producer's current id and epoch (v3+, KIP-360).
    /// Without a transactional id Kafka's `TransactionCoordinator` ignores them
    /// and answers a new id at epoch 0 — an idempotent producer bumps its epoch
    /// itself and asks for a new id only when the epoch would overflow — so
    /// spool does the same; only a half-given pair (one of the two -1) is
    /// `INVALID_REQUEST`, as Kafka's `KafkaApis` checks. A transactional id
    /// goes to its transaction coordinator (chapter 9,
    /// [`transactions`](super::transactions)).
    pub async fn init_producer_id(
        self: &Arc<Self>,
        request: InitProducerIdRequest,
        version: i16,
    ) -> InitProducerIdResponse {
        let refuse = |code: ResponseError| {
            InitProducerIdResponse::default()
                .with_error_code(code.code())
                .with_producer_id(kafka_protocol::messages::ProducerId(-1))
                .with_producer_epoch(-1)
        };
        if request.transactional_id.is_some() {
            return self.init_transactional_producer_id(request, version).await;
        }
        let (id, epoch) = (request.producer_id.0, request.producer_epoch);
        if (id == -1) != (epoch == -1) {
            return refuse(ResponseError::InvalidRequest);
        }
        let allocated = match self.cluster {
            None => self.allocate_producer_id(),
            Some(_) => self.allocate_producer_id_in_cluster().await,
        };
        match allocated {
            Ok(id) => InitProducerIdResponse::default()
                .with_producer_id(kafka_protocol::messages::ProducerId(id))
                .with_producer_epoch(0),
            Err(e) => {
                // Whatever the cause, InitProducerId answers a retriable
                // COORDINATOR_NOT_AVAILABLE rather than `e.kafka_error()`: the
                // producer retries it, and no client expects a storage code here.
                tracing::error!(error = %e, "cannot allocate a producer id block");
                refuse(ResponseError::CoordinatorNotAvailable)
            }
        }
    }
    // ANCHOR_END: init_producer_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::def::java_double;
    use crate::config::BrokerConfig;
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};

    fn broker() -> (tempfile::TempDir, Broker) {
        let dir = tempfile::tempdir().unwrap();
        let config = BrokerConfig { log_dir: dir.path().to_path_buf(), ..BrokerConfig::default() };
        (dir, Broker::open(config).unwrap())
    }

    fn topic(name: &'static str) -> CreatableTopic {
        CreatableTopic::default()
            .with_name(TopicName(str(name)))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
    }

    fn codes(response: &CreateTopicsResponse) -> Vec<i16> {
        response.topics.iter().map(|t| t.error_code).collect()
    }

    /// Kafka refuses every entry of a topic a CreateTopics request names twice
    /// with INVALID_REQUEST, and creates the others.
    #[test]
    fn duplicate_names_in_one_request_are_refused() {
        let (_dir, broker) = broker();
        let request = CreateTopicsRequest::default().with_topics(vec![topic("a"), topic("b"), topic("a")]);
        let invalid = ResponseError::InvalidRequest.code();
        assert_eq!(codes(&broker.create_topics(request, 7)), vec![invalid, 0, invalid]);
        assert!(broker.metadata_image().topic("a").is_none());
    }

    /// An explicit assignment works when it places each partition 0..n on this
    /// broker alone; one naming another broker, or a gap, is
    /// INVALID_REPLICA_ASSIGNMENT; a count and an assignment together, INVALID_REQUEST.
    #[test]
    fn explicit_assignments_on_one_broker() {
        let (_dir, broker) = broker();
        let assign = |p, ids: Vec<i32>| {
            CreatableReplicaAssignment::default()
                .with_partition_index(p)
                .with_broker_ids(ids.into_iter().map(BrokerId).collect())
        };
        let good = topic("good").with_assignments(vec![assign(1, vec![1]), assign(0, vec![1])]);
        let elsewhere = topic("elsewhere").with_assignments(vec![assign(0, vec![2])]);
        let gap = topic("gap").with_assignments(vec![assign(0, vec![1]), assign(2, vec![1])]);
        let both = topic("both").with_num_partitions(2).with_assignments(vec![assign(0, vec![1])]);
        let request = CreateTopicsRequest::default().with_topics(vec![good, elsewhere, gap, both]);
        let bad_assignment = ResponseError::InvalidReplicaAssignment.code();
        assert_eq!(
            codes(&broker.create_topics(request, 7)),
            vec![0, bad_assignment, bad_assignment, ResponseError::InvalidRequest.code()]
        );
        assert_eq!(broker.metadata_image().topic("good").unwrap().partitions.len(), 2);
    }

    /// Metadata and DescribeConfigs read the published metadata image, so
    /// they answer while a writer holds the metadata log's lock — as
    /// CreateTopics, DeleteTopics and InitProducerId do across an fsync
    /// (issue 12: readers must not share one mutex with writers that fsync).
    /// The wait is a deadlock guard, not a speed target.
    #[test]
    fn readers_do_not_wait_for_the_metadata_writer() {
        let (_dir, broker) = broker();
        let broker = Arc::new(broker);
        assert_eq!(
            codes(&broker.create_topics(CreateTopicsRequest::default().with_topics(vec![topic("t")]), 7)),
            vec![0]
        );
        let writer = broker.metadata_writer();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = broker.clone();
        std::thread::spawn(move || {
            let listed = reader.metadata(MetadataRequest::default().with_topics(None), 12, "").topics.len();
            let resource =
                kafka_protocol::messages::describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(str("t"));
            let described = reader.describe_configs(
                kafka_protocol::messages::DescribeConfigsRequest::default().with_resources(vec![resource]),
            );
            let _ = tx.send((listed, described.results[0].error_code));
        });
        let answered = rx.recv_timeout(std::time::Duration::from_secs(20));
        drop(writer);
        assert_eq!(answered, Ok((1, 0)), "a reader waited for the metadata writer's lock");
    }

    /// A topic default the broker's properties set is `STATIC_BROKER_CONFIG` (4);
    /// one they leave alone is `DEFAULT_CONFIG` (5); a topic override is 1.
    #[test]
    fn config_sources_say_where_a_value_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let props = BrokerConfig::parse_properties(&format!(
            "log.dirs={}\nlog.retention.hours=2\nnum.partitions=3\n",
            dir.path().display()
        ))
        .unwrap();
        let (config, ignored) = BrokerConfig::from_properties(&props).unwrap();
        assert!(ignored.is_empty());
        let broker = Broker::open(config).unwrap();
        let request = CreateTopicsRequest::default().with_topics(vec![topic("t").with_configs(vec![
            CreatableTopicConfig::default().with_name(str("segment.bytes")).with_value(Some(str("1048576"))),
        ])]);
        assert_eq!(codes(&broker.create_topics(request, 7)), vec![0]);
        let image_topic = broker.metadata_image().topic("t").cloned().unwrap();
        let entries = broker.topic_config_entries(&image_topic);
        let find = |key: &str| entries.iter().find(|(k, _, _)| k == key).cloned().unwrap();
        assert_eq!(find("retention.ms"), ("retention.ms".into(), "7200000".into(), 4));
        assert_eq!(find("segment.bytes"), ("segment.bytes".into(), "1048576".into(), 1));
        assert_eq!(find("retention.bytes").2, 5);
        let broker_entries = broker.broker_config_entries();
        let source = |key: &str| broker_entries.iter().find(|(k, _, _)| k == key).unwrap().2;
        assert_eq!((source("num.partitions"), source("log.dirs"), source("node.id")), (4, 4, 5));
        assert_eq!(source("log.retention.ms"), 4);
    }

    /// Chapter 10's keys show in DescribeConfigs: a topic's compaction
    /// settings with the broker keys that set their defaults (the broker's
    /// `log.cleanup.policy`, `log.cleaner.*`), a topic override as source 1,
    /// and the broker's cleaner settings on the broker resource.
    #[test]
    fn compaction_configs_are_described() {
        let dir = tempfile::tempdir().unwrap();
        let props = BrokerConfig::parse_properties(&format!(
            "log.dirs={}\nlog.cleaner.min.cleanable.ratio=0.3\nlog.cleaner.threads=2\n",
            dir.path().display()
        ))
        .unwrap();
        let (config, ignored) = BrokerConfig::from_properties(&props).unwrap();
        assert!(ignored.is_empty(), "{ignored:?}");
        let broker = Broker::open(config).unwrap();
        let request = CreateTopicsRequest::default().with_topics(vec![topic("t").with_configs(vec![
            CreatableTopicConfig::default().with_name(str("cleanup.policy")).with_value(Some(str("compact"))),
        ])]);
        assert_eq!(codes(&broker.create_topics(request, 7)), vec![0]);
        let image_topic = broker.metadata_image().topic("t").cloned().unwrap();
        let entries = broker.topic_config_entries(&image_topic);
        let find = |key: &str| entries.iter().find(|(k, _, _)| k == key).cloned().expect(key);
        assert_eq!(find("cleanup.policy"), ("cleanup.policy".into(), "compact".into(), 1));
        assert_eq!(find("min.cleanable.dirty.ratio"), ("min.cleanable.dirty.ratio".into(), "0.3".into(), 4));
        assert_eq!(find("delete.retention.ms"), ("delete.retention.ms".into(), "86400000".into(), 5));
        assert_eq!(find("min.compaction.lag.ms").1, "0");
        assert_eq!(find("max.compaction.lag.ms").1, i64::MAX.to_string());
        let broker_entries = broker.broker_config_entries();
        let value = |key: &str| broker_entries.iter().find(|(k, _, _)| k == key).cloned().expect(key);
        assert_eq!(value("log.cleaner.threads"), ("log.cleaner.threads".into(), "2".into(), 4));
        assert_eq!(value("log.cleaner.enable").1, "true");
        assert_eq!(value("log.cleaner.dedupe.buffer.size").1, "134217728");
        assert_eq!(value("log.cleanup.policy").1, "delete");
        assert_eq!(value("log.cleaner.io.max.bytes.per.second").1, "1.7976931348623157E308");
        assert_eq!(value("log.cleaner.min.cleanable.ratio").1, "0.3");
        assert_eq!(
            (java_double(1.0), java_double(0.9), java_double(1e-5)),
            ("1.0".into(), "0.9".into(), "1.0E-5".into())
        );
    }

    /// On a standalone broker every partition's one replica leads it: a
    /// preferred election is never needed, and an unknown partition says so.
    #[test]
    fn elect_leaders_on_one_broker_is_never_needed() {
        use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
        let (_dir, broker) = broker();
        let request = CreateTopicsRequest::default().with_topics(vec![topic("t")]);
        assert_eq!(codes(&broker.create_topics(request, 7)), vec![0]);
        let request =
            kafka_protocol::messages::ElectLeadersRequest::default().with_topic_partitions(Some(vec![
                TopicPartitions::default().with_topic(TopicName(str("t"))).with_partitions(vec![0, 7]),
            ]));
        let response = broker.elect_leaders_standalone(request);
        let codes: Vec<i16> =
            response.replica_election_results[0].partition_result.iter().map(|p| p.error_code).collect();
        assert_eq!(
            codes,
            vec![ResponseError::ElectionNotNeeded.code(), ResponseError::UnknownTopicOrPartition.code()]
        );
        let all = kafka_protocol::messages::ElectLeadersRequest::default().with_topic_partitions(None);
        let every = broker.elect_leaders_standalone(all);
        assert!(every.replica_election_results.is_empty(), "{every:?}");
    }

    /// The replication settings (chapter 6) and the quorum's timers (chapter
    /// 7) are described too, and a topic's
    /// `min.insync.replicas` defaults to the broker's, not to a fixed 1.
    #[test]
    fn replication_settings_are_described() {
        let dir = tempfile::tempdir().unwrap();
        let props = BrokerConfig::parse_properties(&format!(
            "log.dirs={}\nmin.insync.replicas=2\nreplica.lag.time.max.ms=5000\nauto.leader.rebalance.enable=false\n\
             controller.quorum.retry.backoff.ms=50\n",
            dir.path().display()
        ))
        .unwrap();
        let (config, _) = BrokerConfig::from_properties(&props).unwrap();
        let broker = Broker::open(config).unwrap();
        let entries = broker.broker_config_entries();
        let find = |key: &str| entries.iter().find(|(k, _, _)| k == key).cloned().unwrap();
        assert_eq!(find("min.insync.replicas"), ("min.insync.replicas".into(), "2".into(), 4));
        assert_eq!(find("replica.lag.time.max.ms").1, "5000");
        assert_eq!(find("broker.session.timeout.ms"), ("broker.session.timeout.ms".into(), "9000".into(), 5));
        let rebalance = "auto.leader.rebalance.enable";
        assert_eq!(find(rebalance), (rebalance.into(), "false".into(), 4));
        let interval = "leader.imbalance.check.interval.seconds";
        assert_eq!(find(interval), (interval.into(), "300".into(), 5));
        let percentage = "leader.imbalance.per.broker.percentage";
        assert_eq!(find(percentage), (percentage.into(), "10".into(), 5));
        let retry = "controller.quorum.retry.backoff.ms";
        assert_eq!(find(retry), (retry.into(), "50".into(), 4), "a quorum timer set in the file");
        let election = "controller.quorum.election.timeout.ms";
        assert_eq!(find(election), (election.into(), "1000".into(), 5), "a quorum timer's default");
        let pre_vote = "spool.quorum.pre.vote";
        assert_eq!(find(pre_vote), (pre_vote.into(), "true".into(), 5), "the pre-vote switch's default");
        let request = CreateTopicsRequest::default().with_topics(vec![topic("t")]);
        assert_eq!(codes(&broker.create_topics(request, 7)), vec![0]);
        let topic = broker.metadata_image().topic("t").cloned().unwrap();
        let topic_entries = broker.topic_config_entries(&topic);
        let min = topic_entries.iter().find(|(k, _, _)| k == "min.insync.replicas").unwrap();
        assert_eq!((min.1.as_str(), min.2), ("2", 4), "the topic's default is the broker's static setting");
    }
}
