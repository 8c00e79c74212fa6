//! The controller process (`process.roles=controller`): the metadata log,
//! the controller core of [`crate::controller`], and the CONTROLLER listener
//! that brokers talk to — Kafka's `ControllerServer` and `ControllerApis`.
//!
//! ```text
//!  broker ──BrokerRegistration──▶ ┐
//!         ──BrokerHeartbeat─────▶ │ ControllerNode::handle ──▶ Controller (decides records)
//!         ──AlterPartition──────▶ │        │ commit (one writer, fsync)
//!         ──CreateTopics, …─────▶ ┘        ▼
//!                                   __cluster_metadata-0 ──publish──▶ image
//!  broker ──Fetch(__cluster_metadata)──▶ the committed batches from its offset
//!                                        (long-polls until a commit)
//!  timer (tick) ──▶ Controller::tick: fence brokers whose session expired
//!               ──▶ Controller::balance_leaders: the automatic leader rebalance
//! ```
//!
//! Every request that changes the metadata takes the controller's lock,
//! then the metadata log's writer: the core decides against the image the
//! writer holds, and the answer goes out only after the records are durable.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{
    AlterPartitionRequest, AlterPartitionResponse, ApiKey, ApiVersionsResponse, BrokerHeartbeatRequest,
    BrokerHeartbeatResponse, BrokerRegistrationRequest, BrokerRegistrationResponse, FetchRequest,
    FetchResponse, RequestKind, ResponseKind,
};
use kafka_protocol::ResponseError;

use crate::broker::now_ms;
use crate::config::BrokerConfig;
use crate::controller::{self, Controller, ControllerConfig, ControllerResult};
use crate::metadata::records::{BrokerEndpoint, BrokerFeature};
use crate::metadata::{MetadataImage, MetadataPublisher, METADATA_TOPIC};
use crate::wire::codec::{encode_response, Request};
use crate::wire::handler::{Handler, Response};
use crate::wire::reader::RequestPool;

mod admin;

// ANCHOR: controller_apis
/// What the CONTROLLER listener answers, and at which versions.
pub const CONTROLLER_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::BrokerRegistration, 0, 3),
    (ApiKey::BrokerHeartbeat, 0, 1),
    (ApiKey::AlterPartition, 2, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::AllocateProducerIds, 0, 0),
    (ApiKey::ElectLeaders, 0, 2),
];
// ANCHOR_END: controller_apis

/// A running controller.
#[derive(Debug)]
pub struct ControllerNode {
    pub config: BrokerConfig,
    pub cluster_id: String,
    /// The controller core and its soft state (last heartbeats). Taken before
    /// the metadata writer.
    controller: Mutex<Controller>,
    metadata: MetadataPublisher,
    /// Where new topics' placement starts, and their ids.
    random: Mutex<controller::SeededRandom>,
}

impl ControllerNode {
    pub fn new(config: BrokerConfig, cluster_id: String, metadata: MetadataPublisher) -> Self {
        let controller_config = ControllerConfig {
            cluster_id: cluster_id.clone(),
            broker_session_timeout_ms: i64::try_from(config.replication.broker_session_timeout_ms)
                .unwrap_or(i64::MAX),
            default_replication_factor: config.default_replication_factor,
            num_partitions: config.num_partitions,
            unclean_leader_election_enable: config.replication.unclean_leader_election,
            min_insync_replicas: config.replication.min_insync_replicas as i32,
            auto_leader_rebalance_enable: config.replication.auto_leader_rebalance,
            leader_imbalance_check_interval_ms: i64::try_from(
                config.replication.leader_imbalance_check_interval_seconds.saturating_mul(1_000),
            )
            .unwrap_or(i64::MAX),
            ..ControllerConfig::default()
        };
        let seed = now_ms() as u64 ^ u64::from(std::process::id());
        ControllerNode {
            config,
            cluster_id,
            controller: Mutex::new(Controller::new(controller_config)),
            metadata,
            random: Mutex::new(controller::SeededRandom::new(seed)),
        }
    }

    /// The controller core. Recovered if poisoned: it holds only heartbeat
    /// times, and the metadata log stays the truth.
    fn controller(&self) -> MutexGuard<'_, Controller> {
        self.controller.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn image(&self) -> Arc<MetadataImage> {
        self.metadata.image()
    }

    /// Commits what the core decided; the answer holds only if this succeeds.
    fn commit<T>(
        &self,
        writer: &mut crate::metadata::MetadataWriter<'_>,
        result: ControllerResult<T>,
    ) -> Result<T, ResponseError> {
        if !result.records.is_empty() {
            if let Err(e) = writer.commit(&result.records, now_ms()) {
                // Kafka's controller exits on a metadata log write failure; this
                // one answers every later request with the same error instead.
                tracing::error!(error = %e, "metadata commit failed");
                return Err(ResponseError::KafkaStorageError);
            }
        }
        Ok(result.answer)
    }

    // ANCHOR: controller_tick
    /// Fences the brokers whose heartbeats stopped, electing new leaders for
    /// what they led; then, when one is due, the automatic leader rebalance
    /// gives leaderships back to preferred replicas. Run every few hundred
    /// milliseconds.
    pub fn tick(&self) {
        let mut controller = self.controller();
        let mut writer = self.metadata.writer();
        let image = writer.image().clone();
        let result = controller.tick(&image, now_ms());
        let fenced = result.answer.clone();
        if self.commit(&mut writer, result).is_ok() && !fenced.is_empty() {
            tracing::info!(?fenced, "fenced brokers whose session expired");
        }
        let image = writer.image().clone();
        let result = controller.balance_leaders(&image, now_ms());
        if let Ok(moved) = self.commit(&mut writer, result) {
            if !moved.is_empty() {
                let moved: Vec<String> = moved.iter().map(ToString::to_string).collect();
                tracing::info!(?moved, "leader rebalance: preferred replicas lead again");
            }
        }
    }
    // ANCHOR_END: controller_tick

    fn api_versions(&self) -> ApiVersionsResponse {
        let keys = CONTROLLER_APIS
            .iter()
            .map(|&(k, min, max)| {
                ApiVersion::default().with_api_key(k as i16).with_min_version(min).with_max_version(max)
            })
            .collect();
        ApiVersionsResponse::default().with_api_keys(keys)
    }

    fn broker_registration(&self, request: BrokerRegistrationRequest) -> BrokerRegistrationResponse {
        let registration = controller::BrokerRegistrationRequest {
            broker_id: request.broker_id.0,
            cluster_id: request.cluster_id.to_string(),
            incarnation_id: request.incarnation_id,
            listeners: (request.listeners.iter())
                .map(|l| BrokerEndpoint {
                    name: l.name.to_string(),
                    host: l.host.to_string(),
                    port: l.port,
                    security_protocol: l.security_protocol,
                })
                .collect(),
            features: (request.features.iter())
                .map(|f| BrokerFeature {
                    name: f.name.to_string(),
                    min_supported_version: f.min_supported_version,
                    max_supported_version: f.max_supported_version,
                })
                .collect(),
            rack: request.rack.as_ref().map(ToString::to_string),
            log_dirs: request.log_dirs.clone(),
        };
        let mut controller = self.controller();
        let mut writer = self.metadata.writer();
        let image = writer.image().clone();
        let next_offset = writer.end_offset();
        let answer = match controller.register_broker(&image, &registration, next_offset, now_ms()) {
            Ok(result) => self.commit(&mut writer, result),
            Err(e) => {
                tracing::info!(broker = registration.broker_id, error = %e, "registration refused");
                Err(e.code())
            }
        };
        match answer {
            Ok(broker_epoch) => {
                tracing::info!(broker = registration.broker_id, broker_epoch, "broker registered");
                BrokerRegistrationResponse::default().with_broker_epoch(broker_epoch)
            }
            Err(code) => {
                BrokerRegistrationResponse::default().with_error_code(code.code()).with_broker_epoch(-1)
            }
        }
    }

    fn broker_heartbeat(&self, request: BrokerHeartbeatRequest) -> BrokerHeartbeatResponse {
        let heartbeat = controller::BrokerHeartbeat {
            broker_id: request.broker_id.0,
            broker_epoch: request.broker_epoch,
            current_metadata_offset: request.current_metadata_offset,
            want_fence: request.want_fence,
            want_shut_down: request.want_shut_down,
        };
        let mut controller = self.controller();
        let mut writer = self.metadata.writer();
        let image = writer.image().clone();
        let answer = match controller.heartbeat(&image, &heartbeat, now_ms()) {
            Ok(result) => self.commit(&mut writer, result),
            Err(e) => Err(e.code()),
        };
        match answer {
            Ok(a) => BrokerHeartbeatResponse::default()
                .with_is_caught_up(a.is_caught_up)
                .with_is_fenced(a.is_fenced)
                .with_should_shut_down(a.should_shut_down),
            Err(code) => BrokerHeartbeatResponse::default().with_error_code(code.code()).with_is_fenced(true),
        }
    }

    fn alter_partition(&self, request: AlterPartitionRequest) -> AlterPartitionResponse {
        use kafka_protocol::messages::alter_partition_response::{PartitionData as Answer, TopicData};
        let changes = request
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| controller::IsrChange {
                    topic_id: t.topic_id,
                    partition_index: p.partition_index,
                    leader_epoch: p.leader_epoch,
                    partition_epoch: p.partition_epoch,
                    new_isr: if p.new_isr_with_epochs.is_empty() {
                        p.new_isr.iter().map(|b| (b.0, -1)).collect()
                    } else {
                        p.new_isr_with_epochs.iter().map(|b| (b.broker_id.0, b.broker_epoch)).collect()
                    },
                    leader_recovery_state: p.leader_recovery_state,
                })
            })
            .collect();
        let alter = controller::AlterPartitionRequest {
            broker_id: request.broker_id.0,
            broker_epoch: request.broker_epoch,
            changes,
        };
        let controller = self.controller();
        let mut writer = self.metadata.writer();
        let image = writer.image().clone();
        let results = match controller.alter_partition(&image, &alter) {
            Ok(result) => self.commit(&mut writer, result),
            Err(e) => Err(e.code()),
        };
        let results = match results {
            Ok(results) => results,
            Err(code) => return AlterPartitionResponse::default().with_error_code(code.code()),
        };
        let mut topics: Vec<TopicData> = Vec::new();
        for result in results {
            let answer = Answer::default().with_partition_index(result.partition_index);
            let answer = match result.outcome {
                Ok(state) => answer
                    .with_leader_id(kafka_protocol::messages::BrokerId(state.leader))
                    .with_leader_epoch(state.leader_epoch)
                    .with_partition_epoch(state.partition_epoch)
                    .with_leader_recovery_state(state.leader_recovery_state)
                    .with_isr(state.isr.into_iter().map(kafka_protocol::messages::BrokerId).collect()),
                Err(code) => answer.with_error_code(code.code()),
            };
            match topics.iter_mut().find(|t| t.topic_id == result.topic_id) {
                Some(topic) => topic.partitions.push(answer),
                None => topics
                    .push(TopicData::default().with_topic_id(result.topic_id).with_partitions(vec![answer])),
            }
        }
        AlterPartitionResponse::default().with_topics(topics)
    }

    // ANCHOR: metadata_fetch
    /// A broker fetches `__cluster_metadata`: the committed batches from its
    /// fetch offset, or — if it has them all — a wait of up to `max_wait_ms`
    /// for the next commit. The high watermark is the log end: with one
    /// voter, whatever is in the log is committed.
    async fn fetch_metadata(&self, request: FetchRequest) -> FetchResponse {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
        let mut changes = self.metadata.subscribe();
        let mut topics = Vec::new();
        for topic in &request.topics {
            let mut partitions = Vec::new();
            for p in &topic.partitions {
                let data = PartitionData::default().with_partition_index(p.partition);
                if topic.topic.0.as_str() != METADATA_TOPIC || p.partition != 0 {
                    partitions.push(data.with_error_code(ResponseError::UnknownTopicOrPartition.code()));
                    continue;
                }
                let max_bytes = p.partition_max_bytes.max(0) as u32;
                let records = loop {
                    changes.borrow_and_update();
                    let read = {
                        let writer = self.metadata.writer();
                        let end = writer.end_offset();
                        if p.fetch_offset > end || p.fetch_offset < 0 {
                            Err(ResponseError::OffsetOutOfRange)
                        } else {
                            writer.read_committed(p.fetch_offset, max_bytes).map_err(|e| {
                                tracing::error!(error = %e, "reading the metadata log failed");
                                ResponseError::KafkaStorageError
                            })
                        }
                    };
                    match read {
                        Ok(bytes) if bytes.is_empty() => {
                            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                                break Ok(bytes);
                            }
                        }
                        other => break other,
                    }
                };
                let end = self.metadata.end_offset();
                partitions.push(match records {
                    Ok(bytes) => {
                        data.with_high_watermark(end).with_last_stable_offset(end).with_records(Some(bytes))
                    }
                    Err(code) => data.with_error_code(code.code()).with_high_watermark(end),
                });
            }
            topics.push(
                FetchableTopicResponse::default().with_topic(topic.topic.clone()).with_partitions(partitions),
            );
        }
        FetchResponse::default().with_responses(topics)
    }
    // ANCHOR_END: metadata_fetch

    async fn answer(self: &Arc<Self>, body: RequestKind, version: i16) -> Result<ResponseKind, String> {
        Ok(match body {
            RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(self.api_versions()),
            RequestKind::BrokerRegistration(r) => {
                ResponseKind::BrokerRegistration(self.broker_registration(r))
            }
            RequestKind::BrokerHeartbeat(r) => ResponseKind::BrokerHeartbeat(self.broker_heartbeat(r)),
            RequestKind::AlterPartition(r) => ResponseKind::AlterPartition(self.alter_partition(r)),
            RequestKind::Fetch(r) => ResponseKind::Fetch(self.fetch_metadata(r).await),
            RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(self.create_topics(r, version)),
            RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(self.delete_topics(r)),
            RequestKind::AllocateProducerIds(r) => {
                ResponseKind::AllocateProducerIds(self.allocate_producer_ids(r))
            }
            RequestKind::ElectLeaders(r) => ResponseKind::ElectLeaders(self.elect_leaders(r, version)),
            other => return Err(format!("the controller listener does not answer {other:?}")),
        })
    }
}

impl Handler for ControllerNode {
    type Write = std::convert::Infallible;

    async fn handle(self: &Arc<Self>, request: Request) -> Result<Response<Self::Write>, String> {
        let (api_key, version) = (request.api_key, request.header.request_api_version);
        let correlation_id = request.header.correlation_id;
        let body = self.answer(request.body, version).await?;
        Ok(Response::Frame(encode_response(api_key, version, correlation_id, &body)?))
    }

    fn unsupported_api_versions(&self, correlation_id: i32) -> Result<Bytes, String> {
        let body = ResponseKind::ApiVersions(
            self.api_versions().with_error_code(ResponseError::UnsupportedVersion.code()),
        );
        encode_response(ApiKey::ApiVersions, 0, correlation_id, &body)
    }

    fn yields_to_shutdown(&self, api_key: ApiKey) -> bool {
        api_key == ApiKey::Fetch
    }

    fn apis(&self) -> &'static [(ApiKey, i16, i16)] {
        CONTROLLER_APIS
    }

    fn request_bytes_max(&self) -> usize {
        self.config.socket_request_max_bytes
    }

    fn request_pool(&self) -> Option<&Arc<RequestPool>> {
        None
    }
}
