//! The controller process (`process.roles=controller`): the metadata log,
//! the controller core of [`crate::controller`], and the CONTROLLER listener
//! that brokers talk to — Kafka's `ControllerServer` and `ControllerApis`.
//!
//! ```text
//!  broker ──BrokerRegistration──▶ ┐
//!         ──BrokerHeartbeat─────▶ │ ControllerNode::handle ──▶ Controller (decides records)
//!         ──AlterPartition──────▶ │        │ append (the quorum's writer)
//!         ──CreateTopics, …─────▶ ┘        ▼
//!                                   __cluster_metadata-0 ──committed by a majority──▶ answer
//!  broker ──Fetch(__cluster_metadata)──▶ the committed batches from its offset
//!                                        (long-polls until a commit)
//!  voter  ──Vote, BeginQuorumEpoch, ────▶ the Raft core (node/quorum)
//!           EndQuorumEpoch, Fetch,
//!           DescribeQuorum
//!  timer (tick) ──▶ Controller::tick: fence brokers whose session expired
//!               ──▶ Controller::balance_leaders: the automatic leader rebalance
//! ```
//!
//! The controllers are the voters of the metadata quorum ([`crate::node::quorum`]);
//! only the elected, caught-up leader — the **active controller** — answers
//! these requests, the others say NOT_CONTROLLER and the broker tries the
//! next. Every request that changes the metadata takes the controller's
//! lock, then the quorum's writer: the core decides against the image the
//! writer holds (the committed log plus what this controller appended
//! since), the records are appended, and the answer goes out only once they
//! are committed by a majority of the voters.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    AlterPartitionRequest, AlterPartitionResponse, AlterUserScramCredentialsRequest, ApiKey,
    ApiVersionsResponse, BrokerHeartbeatRequest, BrokerHeartbeatResponse, BrokerRegistrationRequest,
    BrokerRegistrationResponse, RequestKind, ResponseKind,
};
use kafka_protocol::ResponseError;

use crate::broker::now_ms;
use crate::config::BrokerConfig;
use crate::controller::{self, Controller, ControllerConfig, ControllerResult};
use crate::metadata::records::{BrokerEndpoint, BrokerFeature};
use crate::metadata::MetadataImage;
use crate::node::quorum::{AppendError, MetadataQuorum, Pending, QuorumWriter};
use crate::raft::Epoch;
use crate::wire::codec::{encode_response, Request};
use crate::wire::handler::{Handler, Response};
use crate::wire::reader::RequestPool;

mod acls;
mod admin;

// ANCHOR: controller_apis
/// What the CONTROLLER listener answers, and at which versions.
pub const CONTROLLER_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::ApiVersions, 0, 3),
    // Brokers fetch by topic name (≤ 12); voters at 17 (topic ids, ReplicaState).
    (ApiKey::Fetch, 4, 17),
    (ApiKey::BrokerRegistration, 0, 3),
    (ApiKey::BrokerHeartbeat, 0, 1),
    (ApiKey::AlterPartition, 2, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    // Issue 19: client quotas, forwarded by the brokers.
    (ApiKey::AlterClientQuotas, 0, 1),
    // Issue 19: SCRAM credentials, forwarded by the brokers.
    (ApiKey::AlterUserScramCredentials, 0, 0),
    (ApiKey::AllocateProducerIds, 0, 0),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::Vote, 0, 2),
    (ApiKey::BeginQuorumEpoch, 0, 1),
    (ApiKey::EndQuorumEpoch, 0, 1),
    (ApiKey::DescribeQuorum, 0, 2),
    (ApiKey::FetchSnapshot, 0, 1),
    (ApiKey::DescribeCluster, 1, 1),
    // Chapter 11: ACL changes, forwarded by a broker.
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    // Chapter 11: the login on an SASL controller listener (answered by the
    // connection's session; on a PLAINTEXT one, ILLEGAL_SASL_STATE).
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];
// ANCHOR_END: controller_apis

/// The controller core, and the quorum epoch it was started for: a new
/// active epoch starts a fresh core (its soft state — heartbeats, the
/// rebalance schedule — is not in the log; every broker gets a new session).
#[derive(Debug)]
struct ActiveCore {
    epoch: Epoch,
    core: Controller,
}

/// A running controller.
#[derive(Debug)]
pub struct ControllerNode {
    pub config: BrokerConfig,
    pub cluster_id: String,
    controller_config: ControllerConfig,
    /// The controller core. Taken before the quorum's writer.
    controller: Mutex<ActiveCore>,
    pub quorum: Arc<MetadataQuorum>,
    /// Where new topics' placement starts, and their ids.
    random: Mutex<controller::SeededRandom>,
    /// `--add-scram`'s credentials, held from the creation of the metadata
    /// log until this controller is first active (Kafka's bootstrap records).
    bootstrap_scram: Mutex<Option<Secret<AlterUserScramCredentialsRequest>>>,
}

/// A value whose `Debug` says nothing of it: a salted password is enough to
/// log in with (SCRAM's ClientKey follows from it), so it never reaches a log.
struct Secret<T>(T);

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl ControllerNode {
    pub fn new(config: BrokerConfig, cluster_id: String, quorum: Arc<MetadataQuorum>) -> Self {
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
            controller: Mutex::new(ActiveCore {
                epoch: -1,
                core: Controller::new(controller_config.clone()),
            }),
            controller_config,
            quorum,
            random: Mutex::new(controller::SeededRandom::new(seed)),
            bootstrap_scram: Mutex::new(None),
        }
    }

    /// Holds `--add-scram`'s credentials for this controller's first activation.
    pub fn bootstrap_scram(&self, request: AlterUserScramCredentialsRequest) {
        *self.bootstrap_scram.lock().unwrap_or_else(PoisonError::into_inner) = Some(Secret(request));
    }

    /// Appends the held `--add-scram` credentials the image lacks, once,
    /// as the first active controller appends Kafka's bootstrap records.
    fn write_bootstrap_scram(&self, writer: &mut QuorumWriter<'_>) {
        let Some(Secret(request)) =
            self.bootstrap_scram.lock().unwrap_or_else(PoisonError::into_inner).take()
        else {
            return;
        };
        let users: Vec<&str> = request.upsertions.iter().map(|u| u.name.as_str()).collect();
        match controller::scram::bootstrap::records(writer.image(), &request) {
            Ok(records) if records.is_empty() => {
                tracing::info!(?users, "--add-scram: the image has these credentials already")
            }
            Ok(records) => match writer.append(&records) {
                Ok(_) => tracing::info!(?users, "--add-scram: SCRAM credentials appended at activation"),
                Err(e) => tracing::error!(error = ?e, "--add-scram: the credentials could not be appended"),
            },
            Err(e) => tracing::error!(error = %e, "--add-scram refused"),
        }
    }

    /// The committed image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.quorum.image()
    }

    /// The controller core and the quorum's writer, if this controller is
    /// the active one; NOT_CONTROLLER otherwise. The core is recovered if
    /// poisoned: it holds only heartbeat times, and the log stays the truth.
    fn begin(&self) -> Result<(MutexGuard<'_, ActiveCore>, QuorumWriter<'_>), ResponseError> {
        let mut active = self.controller.lock().unwrap_or_else(PoisonError::into_inner);
        let writer = self.quorum.writer().ok_or(ResponseError::NotController)?;
        if active.epoch != writer.epoch() {
            *active =
                ActiveCore { epoch: writer.epoch(), core: Controller::new(self.controller_config.clone()) };
        }
        Ok((active, writer))
    }

    /// Appends what the core decided. The answer holds once
    /// [`Self::settle`] says the records — or, if there are none, everything
    /// appended before them — are committed (as Kafka's controller completes
    /// a write event only at the committed offset).
    fn commit<T>(
        &self,
        writer: &mut QuorumWriter<'_>,
        result: ControllerResult<T>,
    ) -> Result<(T, Pending), ResponseError> {
        let pending = writer.append(&result.records).map_err(|e| match e {
            AppendError::Image(e) => {
                tracing::error!(error = %e, "the controller decided records its image refuses");
                ResponseError::UnknownServerError
            }
            AppendError::NotController => ResponseError::NotController,
            AppendError::Storage => ResponseError::KafkaStorageError,
        })?;
        Ok((result.answer, pending))
    }

    /// Waits for `pending` to commit.
    async fn settle<T>(&self, decided: Result<(T, Pending), ResponseError>) -> Result<T, ResponseError> {
        let (answer, pending) = decided?;
        self.quorum.wait_committed(pending).await?;
        Ok(answer)
    }

    // ANCHOR: controller_tick
    /// Fences the brokers whose heartbeats stopped, electing new leaders for
    /// what they led; then, when one is due, the automatic leader rebalance
    /// gives leaderships back to preferred replicas. Run every few hundred
    /// milliseconds; only the active controller does anything.
    pub fn tick(&self) {
        let Ok((mut active, mut writer)) = self.begin() else { return };
        self.write_bootstrap_scram(&mut writer);
        let image = writer.image().clone();
        let result = active.core.tick(&image, now_ms());
        let fenced = result.answer.clone();
        if self.commit(&mut writer, result).is_ok() && !fenced.is_empty() {
            tracing::info!(?fenced, "fenced brokers whose session expired");
        }
        let image = writer.image().clone();
        let result = active.core.balance_leaders(&image, now_ms());
        if let Ok((moved, _)) = self.commit(&mut writer, result) {
            if !moved.is_empty() {
                let moved: Vec<String> = moved.iter().map(ToString::to_string).collect();
                tracing::info!(?moved, "leader rebalance: preferred replicas lead again");
            }
        }
    }
    // ANCHOR_END: controller_tick

    /// DescribeCluster on the CONTROLLER listener (KIP-919, endpoint type 2):
    /// the voters and the active controller, for `spool metadata-quorum
    /// --bootstrap-controller` and admin clients that bootstrap from controllers.
    fn describe_cluster(
        &self,
        request: kafka_protocol::messages::DescribeClusterRequest,
    ) -> kafka_protocol::messages::DescribeClusterResponse {
        use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
        use kafka_protocol::messages::{BrokerId, DescribeClusterResponse};
        use kafka_protocol::protocol::StrBytes;
        let response = DescribeClusterResponse::default().with_endpoint_type(2);
        if request.endpoint_type != 2 {
            // Brokers are described by the brokers (endpoint type 1).
            return response.with_error_code(ResponseError::UnsupportedEndpointType.code());
        }
        let voters = (self.config.controller_quorum_voters.iter())
            .map(|v| {
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(v.node_id))
                    .with_host(StrBytes::from_string(v.endpoint.host.clone()))
                    .with_port(i32::from(v.endpoint.port))
            })
            .collect();
        let view = self.quorum.view();
        let controller_id = view.leader_id.unwrap_or(-1);
        response
            .with_cluster_id(StrBytes::from_string(self.cluster_id.clone()))
            .with_controller_id(BrokerId(controller_id))
            .with_brokers(voters)
    }

    fn api_versions(&self) -> ApiVersionsResponse {
        let keys = CONTROLLER_APIS
            .iter()
            .map(|&(k, min, max)| {
                ApiVersion::default().with_api_key(k as i16).with_min_version(min).with_max_version(max)
            })
            .collect();
        ApiVersionsResponse::default().with_api_keys(keys)
    }

    async fn broker_registration(&self, request: BrokerRegistrationRequest) -> BrokerRegistrationResponse {
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
        let decided = self.begin().and_then(|(mut active, mut writer)| {
            let image = writer.image().clone();
            let next_offset = writer.end_offset();
            match active.core.register_broker(&image, &registration, next_offset, now_ms()) {
                Ok(result) => self.commit(&mut writer, result),
                Err(e) => {
                    tracing::info!(broker = registration.broker_id, error = %e, "registration refused");
                    Err(e.code())
                }
            }
        });
        match self.settle(decided).await {
            Ok(broker_epoch) => {
                tracing::info!(broker = registration.broker_id, broker_epoch, "broker registered");
                BrokerRegistrationResponse::default().with_broker_epoch(broker_epoch)
            }
            Err(code) => {
                BrokerRegistrationResponse::default().with_error_code(code.code()).with_broker_epoch(-1)
            }
        }
    }

    async fn broker_heartbeat(&self, request: BrokerHeartbeatRequest) -> BrokerHeartbeatResponse {
        let heartbeat = controller::BrokerHeartbeat {
            broker_id: request.broker_id.0,
            broker_epoch: request.broker_epoch,
            current_metadata_offset: request.current_metadata_offset,
            want_fence: request.want_fence,
            want_shut_down: request.want_shut_down,
        };
        let decided = self.begin().and_then(|(mut active, mut writer)| {
            let image = writer.image().clone();
            match active.core.heartbeat(&image, &heartbeat, now_ms()) {
                Ok(result) => self.commit(&mut writer, result),
                Err(e) => Err(e.code()),
            }
        });
        match self.settle(decided).await {
            Ok(a) => BrokerHeartbeatResponse::default()
                .with_is_caught_up(a.is_caught_up)
                .with_is_fenced(a.is_fenced)
                .with_should_shut_down(a.should_shut_down),
            Err(code) => BrokerHeartbeatResponse::default().with_error_code(code.code()).with_is_fenced(true),
        }
    }

    async fn alter_partition(&self, request: AlterPartitionRequest) -> AlterPartitionResponse {
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
        let decided = self.begin().and_then(|(active, mut writer)| {
            let image = writer.image().clone();
            match active.core.alter_partition(&image, &alter) {
                Ok(result) => self.commit(&mut writer, result),
                Err(e) => Err(e.code()),
            }
        });
        let results = match self.settle(decided).await {
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

    async fn answer(self: &Arc<Self>, body: RequestKind, version: i16) -> Result<ResponseKind, String> {
        Ok(match body {
            RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(self.api_versions()),
            RequestKind::BrokerRegistration(r) => {
                ResponseKind::BrokerRegistration(self.broker_registration(r).await)
            }
            RequestKind::BrokerHeartbeat(r) => ResponseKind::BrokerHeartbeat(self.broker_heartbeat(r).await),
            RequestKind::AlterPartition(r) => ResponseKind::AlterPartition(self.alter_partition(r).await),
            RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(self.create_topics(r, version).await),
            RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(self.delete_topics(r).await),
            RequestKind::CreatePartitions(r) => {
                ResponseKind::CreatePartitions(self.create_partitions(r).await)
            }
            RequestKind::IncrementalAlterConfigs(r) => {
                let resources = crate::broker::alter_configs::incremental_changes(&r);
                let answers = self.alter_configs(&resources, r.validate_only).await;
                ResponseKind::IncrementalAlterConfigs(crate::broker::alter_configs::incremental_response(
                    &resources, &answers,
                ))
            }
            RequestKind::AlterConfigs(r) => {
                let resources = crate::broker::alter_configs::replacing_changes(&r);
                let answers = self.alter_configs(&resources, r.validate_only).await;
                ResponseKind::AlterConfigs(crate::broker::alter_configs::replacing_response(
                    &resources, &answers,
                ))
            }
            RequestKind::AlterClientQuotas(r) => {
                ResponseKind::AlterClientQuotas(self.alter_client_quotas(r).await)
            }
            RequestKind::AlterUserScramCredentials(r) => {
                ResponseKind::AlterUserScramCredentials(self.alter_user_scram_credentials(r).await)
            }
            RequestKind::AllocateProducerIds(r) => {
                ResponseKind::AllocateProducerIds(self.allocate_producer_ids(r).await)
            }
            RequestKind::ElectLeaders(r) => ResponseKind::ElectLeaders(self.elect_leaders(r, version).await),
            RequestKind::Fetch(r) => ResponseKind::Fetch(self.quorum.handle_fetch(r, version).await),
            RequestKind::Vote(r) => ResponseKind::Vote(self.quorum.handle_vote(r, version)),
            RequestKind::BeginQuorumEpoch(r) => {
                ResponseKind::BeginQuorumEpoch(self.quorum.handle_begin_quorum_epoch(r, version))
            }
            RequestKind::EndQuorumEpoch(r) => {
                ResponseKind::EndQuorumEpoch(self.quorum.handle_end_quorum_epoch(r, version))
            }
            RequestKind::FetchSnapshot(r) => {
                ResponseKind::FetchSnapshot(self.quorum.handle_fetch_snapshot(r, version))
            }
            RequestKind::DescribeCluster(r) => ResponseKind::DescribeCluster(self.describe_cluster(r)),
            RequestKind::CreateAcls(r) => ResponseKind::CreateAcls(self.create_acls(r).await),
            RequestKind::DeleteAcls(r) => ResponseKind::DeleteAcls(self.delete_acls(r).await),
            RequestKind::DescribeQuorum(r) => {
                ResponseKind::DescribeQuorum(self.quorum.handle_describe_quorum(r, version))
            }
            RequestKind::SaslHandshake(_) => {
                ResponseKind::SaslHandshake(crate::wire::sasl::handshake_on_plaintext())
            }
            RequestKind::SaslAuthenticate(_) => {
                ResponseKind::SaslAuthenticate(crate::wire::sasl::authenticate_on_plaintext())
            }
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
