//! Chapter 2 — the broker: the log of chapter 1 behind Kafka's wire protocol.
//!
//! A request's path through spool:
//!
//! ```text
//!  client ──TCP──▶ wire::server (one task per connection: frames in order,
//!                     │          queued.max.request.bytes, accept back-off)
//!                     │ wire::codec::decode_request
//!                     ▼
//!  ════════════ wire::Handler, implemented in handler.rs ═══════════════
//!                     ▼
//!                  Broker::handle ──▶ admin.rs    ApiVersions, Metadata, CreateTopics,
//!                     │                           DeleteTopics, DescribeConfigs, …
//!                     │           ──▶ produce.rs  validate, append (sequences checked
//!                     │                           under the log lock), wake fetches
//!                     │           ──▶ fetch.rs    read regions, long-poll, ListOffsets
//!                     │           ──▶ offsets_for_leader_epoch.rs  where an epoch ends
//!                     │           ──▶ groups/     JoinGroup, SyncGroup, OffsetCommit, …
//!                     │                           (chapter 5's coordinator, parked replies)
//!                     │           ──▶ transactions/  InitProducerId (transactional),
//!                     │                           AddPartitionsToTxn, EndTxn, … (chapter 9)
//!                     ▼
//!                  Reply::Message ─ wire::codec::encode_response ─▶ Response::Frame
//!                  Reply::Fetch   ─ handler::FetchResponse       ─▶ Response::Write
//!                  Reply::Later   ─ produce::Waiting (acks=all)  ─▶ Response::Later
//!                     ▼                (zero_copy::send::send_fetch: sendfile)
//!                  wire::server writes it ──TCP──▶ client
//! ```
//!
//! `wire` knows nothing of the broker: the broker imports `wire` and
//! implements its [`crate::wire::Handler`] ([`handler`]), deciding there what
//! the server must not (which requests give way to shutdown, how a fetch is
//! sent).
//!
//! The broker owns five things, each with its own lock and one job:
//!
//! ```text
//!  field        owns                               written by              read by
//!  ───────────  ─────────────────────────────────  ──────────────────────  ───────────────────────
//!  groups       chapter 5's coordinator            group APIs, its timer   group APIs
//!  metadata     the metadata log, one writer,      CreateTopics,           (the writer only)
//!                 an fsync per commit              DeleteTopics,
//!                   │ publishes                    InitProducerId's block
//!                   ▼
//!               Arc<MetadataImage>                 each commit (a swap)    Metadata, DescribeConfigs,
//!                                                                          FindCoordinator, sync
//!  logs         the partition logs on disk         topic changes, tick     (the writers only)
//!  partitions   topic-partition ─▶ Partition       sync, DeleteTopics      Produce, Fetch,
//!                                                                          ListOffsets, groups,
//!                                                                          OffsetsForLeaderEpoch
//!  notifier     long-polling fetches to wake       appends                 Fetch
//! ```
//!
//! The metadata log is the one writer of cluster metadata: its lock is held
//! across each commit's fsync, and a successful commit publishes the new
//! image as an immutable snapshot ([`crate::metadata::publisher`]). Readers
//! clone that `Arc` under a lock held only for the clone, so a Metadata
//! request never waits for a topic's creation to reach the disk. The group
//! coordinator keeps its state in the internal topic `__consumer_offsets`.
//! Beside them, [`log_dir::LogDir`] says whether the log directory is still
//! usable: a failed write or fsync takes it offline, and every request that
//! touches a partition log is then answered `KAFKA_STORAGE_ERROR`, as in Kafka.
//!
//! **Lock order.** A thread that holds several locks took them in this order,
//! skipping any it does not need:
//!
//! 1. the group coordinator (its appends may create `__consumer_offsets`), or
//!    the transaction coordinators (chapter 9; never held with the group's),
//! 2. `creating_offsets_topic` (one creator of that topic at a time),
//! 3. the producer id block (a new block is committed to the metadata log),
//! 4. the metadata log's writer (topic changes, producer id blocks),
//! 5. the log manager (opening, deleting and maintaining logs),
//! 6. the partition map,
//! 7. one partition's group commit state (chapter 2's group commit takes it
//!    before the log it flushes), then that partition's log.
//!
//! The published image, the parked group requests and the storage-warning
//! limiter are leaves: held only to clone, swap or update one value, and no
//! other lock is taken while one is held. Produce, Fetch, ListOffsets and
//! OffsetsForLeaderEpoch take only 6 and 7; Metadata, DescribeConfigs and FindCoordinator (once
//! `__consumer_offsets` exists) only the published image.
//!
//! **Poisoning.** A lock is poisoned when a thread panicked holding it. One
//! rule decides what happens next: *a lock that guards a log writer is fatal;
//! every other lock is recovered.* The metadata log, the log manager, a
//! partition log and its group commit may have been mid-append or mid-fsync,
//! their memory no longer agreeing with their files, and acknowledging one
//! more write from them could lose data; so their next user panics too (its connection closes) and nothing is
//! acknowledged from them until a restart recovers them from disk. Every other
//! lock guards memory that a panic cannot leave half-written (the image cell
//! and the partition map are only ever swapped or have whole entries removed;
//! the producer id block is replaced whole or advanced by one) or memory that
//! the logs rebuild at restart (the group coordinator, parked requests): those
//! carry on, so one bug does not take every later request down with it.
//!
//! **Errors.** What crosses a module boundary is a typed [`Error`], one
//! variant per cause a caller treats differently (the disk failed, the log
//! directory is offline, the metadata image refused a record, the connection
//! must close, the broker cannot start), and [`Error::kafka_error`] is the one
//! place that turns it into a Kafka error code. At the [`crate::wire::Handler`]
//! seam it becomes a message: the server's only answer to any error there is
//! to log it and close the connection, so a type would carry no decision.
//!
//! A single node (`spool serve` with no quorum) leads every partition with
//! an ISR of itself and coordinates every group and transactional id; in a
//! cluster ([`cluster`], chapter 6) the metadata image says which partitions
//! this broker leads or follows, and coordinators are the leaders of the
//! internal topics' partitions (chapters 5 and 9, [`groups`],
//! [`transactions`]). Idempotent producers (chapter 8) are checked in full:
//! each partition log keeps its producer table ([`crate::log::producers`]),
//! and InitProducerId hands out ids in blocks recorded in the metadata log
//! ([`producer_ids`]).

pub mod acks;
pub mod acls;
pub mod admin;
pub mod alter_configs;
pub mod authz;
pub mod client_quotas;
pub mod cluster;
pub mod controller_link;
#[cfg(test)]
mod controller_link_tests;
pub mod create_partitions;
pub mod delete_records;
pub mod describe_configs;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_topic_partitions;
pub mod error;
#[cfg(test)]
pub(crate) mod fake_controller;
pub mod fetch;
pub mod fetcher;
pub mod forward;
pub mod groups;
pub mod handler;
pub mod log_dir;
pub mod meta_properties;
pub mod notify;
pub mod offsets_for_leader_epoch;
pub mod partition;
pub mod produce;
pub mod producer_ids;
pub mod rate_limit;
pub mod replica_manager;
#[cfg(test)]
mod replication_tests;
pub mod scram;
pub mod throttle;
pub mod topics;
pub mod transactions;
pub mod txn_markers;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::config::BrokerConfig;
use crate::log::cleaner::LogCleaner;
use crate::log::validator::{TopicCompression, ValidationPolicy};
use crate::log::{LogConfig, LogError, LogManager};
use crate::metadata::{MetadataImage, MetadataLog, MetadataPublisher, MetadataWriter, METADATA_TOPIC};
use crate::wire::codec::Request;
use crate::TopicPartition;

use crate::wire::reader::RequestPool;
use crate::zero_copy::{FetchReply, ZeroCopyStats};
pub use error::Error;
pub use partition::Partition;

/// A running single-node broker.
#[derive(Debug)]
pub struct Broker {
    pub config: BrokerConfig,
    pub cluster_id: String,
    /// The metadata log (its one writer holds the lock across each fsync) and
    /// the image it publishes, which readers take without that lock.
    metadata: MetadataPublisher,
    /// The partition logs on disk: opened, created, deleted and maintained
    /// (flush, retention, checkpoints) under this lock, apart from the
    /// metadata log's, so a retention pass never holds up a topic's creation.
    logs: Arc<Mutex<LogManager>>,
    /// Chapter 10's cleaner threads, once [`Broker::start_cleaner`] started
    /// them; they share the log manager and are stopped before it closes.
    cleaner: Mutex<Option<LogCleaner>>,
    /// What produce and fetch look partitions up in: rebuilt from the
    /// published image by the replica manager (`apply_image`), read without any other lock.
    partitions: RwLock<BTreeMap<TopicPartition, Arc<Partition>>>,
    pub notifier: notify::AppendNotifier,
    /// The block of producer ids InitProducerId hands out from (chapter 8).
    producer_ids: Mutex<producer_ids::ProducerIdBlock>,
    shutting_down: AtomicBool,
    /// Whether the log directory is still usable ([`log_dir`]).
    pub log_dir: log_dir::LogDir,
    /// What the fetch paths did: `sendfile` calls and bytes, bytes copied.
    pub zero_copy_stats: ZeroCopyStats,
    /// Chapter 5's group coordinator and its driver.
    groups: groups::GroupDriver,
    /// Chapter 9's transaction coordinators (one per `__transaction_state`
    /// partition this broker leads) and their driver.
    transactions: transactions::TransactionDriver,
    /// ISR changes the partitions this broker leads asked for, waiting to be
    /// sent to the controller (AlterPartition, one per partition at a time).
    alter_partitions: Mutex<BTreeMap<TopicPartition, crate::replication::AlterPartition>>,
    /// In a cluster: the link to the controller, the broker epoch, the
    /// shutdown handshake ([`cluster`]). `None` for a standalone broker.
    cluster: Option<cluster::ClusterMember>,
    /// The follower fetcher tasks, one per leader ([`fetcher`]).
    fetchers: fetcher::Fetchers,
    /// `queued.max.request.bytes`, if set: the memory every connection's
    /// requests are read into, shared ([`crate::wire::reader`]).
    pub request_pool: Option<Arc<RequestPool>>,
    /// The client quotas' meters (issue 19, [`throttle`]).
    pub quotas: crate::quotas::ClientQuotaManager,
}

/// A handler's answer: a message for the codec, or a fetch whose records are
/// still in segment files (sent with `sendfile` or copied, as
/// `spool.fetch.zero.copy` says, by [`handler::FetchResponse`]).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per request, moved once: boxing buys nothing
pub enum Reply {
    Message(ResponseKind),
    Fetch(FetchReply),
    /// An `acks=all` produce that appended and now waits for its replicas.
    Later(produce::Waiting),
}

impl Reply {
    /// The reply as a message for the codec, a fetch's records read into memory.
    /// A produce's answer is waited for.
    pub async fn into_message(self) -> std::io::Result<ResponseKind> {
        match self {
            Reply::Message(message) => Ok(message),
            Reply::Fetch(fetch) => Ok(ResponseKind::Fetch(fetch.read_into_response()?.0)),
            Reply::Later(waiting) => Ok(ResponseKind::Produce(waiting.answer().await)),
        }
    }
}

/// A broker of a cluster (`process.roles` names `broker`) links to the
/// active controller: through every voter, or every bootstrap server.
fn cluster_member(config: &BrokerConfig) -> Option<cluster::ClusterMember> {
    use crate::config::ProcessRoles;
    if !matches!(config.process_roles, ProcessRoles::Broker | ProcessRoles::Combined) {
        return None;
    }
    // None only for a config its validation refuses.
    controller_link::ControllerLink::from_config(config).map(cluster::ClusterMember::new)
}

/// The broker's clock, in Kafka's unit.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Broker {
    /// Opens the log directory (recovering it if the last stop was unclean),
    /// replays the metadata log, and opens a log for every partition it names.
    pub fn open(config: BrokerConfig) -> Result<Self, Error> {
        std::fs::create_dir_all(&config.log_dir).map_err(|e| Error::LogDirUnusable {
            path: config.log_dir.clone(),
            cause: format!("cannot create log.dirs: {e}"),
        })?;
        let meta = meta_properties::load_or_create(&config.log_dir, config.node_id)?;
        let now = now_ms();
        let (mut logs, reports) = LogManager::open(&config.log_dir, config.log.clone(), now)?;
        logs.checkpoint_interval_ms = config.checkpoint_interval_ms;
        logs.retention_check_interval_ms =
            i64::try_from(config.retention_check_interval_ms).unwrap_or(i64::MAX);
        for (tp, report) in &reports {
            if report.segments_recovered > 0 {
                tracing::info!(%tp, ?report, "recovered log");
            }
        }
        let metadata_tp = TopicPartition::new(METADATA_TOPIC, 0);
        logs.get_or_create(&metadata_tp, None, now)?;
        // The metadata log belongs to the quorum, not to the partition map: take
        // it out of the manager and give it to its publisher.
        let metadata_log = logs.take(&metadata_tp).expect("created above");
        let metadata = MetadataLog::load(metadata_log)?;
        let broker = Broker {
            cluster_id: meta.cluster_id,
            metadata: MetadataPublisher::new(metadata),
            logs: Arc::new(Mutex::new(logs)),
            cleaner: Mutex::new(None),
            partitions: RwLock::new(BTreeMap::new()),
            notifier: notify::AppendNotifier::new(),
            producer_ids: Mutex::new(producer_ids::ProducerIdBlock::default()),
            shutting_down: AtomicBool::new(false),
            log_dir: log_dir::LogDir::default(),
            zero_copy_stats: ZeroCopyStats::default(),
            groups: groups::GroupDriver::new(config.group.clone()),
            transactions: transactions::TransactionDriver::default(),
            alter_partitions: Mutex::new(BTreeMap::new()),
            fetchers: fetcher::Fetchers::default(),
            cluster: cluster_member(&config),
            request_pool: config.queued_max_request_bytes.map(|bytes| Arc::new(RequestPool::new(bytes))),
            quotas: crate::quotas::ClientQuotaManager::default(),
            config,
        };
        broker.apply_image(now)?;
        broker.load_groups()?;
        Ok(broker)
    }

    /// A topic's `compression.type` (the broker's if it sets none), whether
    /// it is compacted and its timestamp bounds. Zstd is allowed here; the
    /// produce path narrows it by the request's version.
    pub fn topic_validation(&self, configs: &BTreeMap<String, String>) -> ValidationPolicy {
        let compression = self
            .topic_or_dynamic(configs, "compression.type", "compression.type")
            .and_then(|v| TopicCompression::parse(&v))
            .unwrap_or(self.config.compression_type);
        // The topic's own settings, else the broker's `log.*` ones (dynamic,
        // then static), as the log itself reads them.
        let log = self.topic_log_config(configs);
        ValidationPolicy {
            compression,
            compacted: log.cleanup_compact,
            zstd_allowed: true,
            timestamps: log.timestamp_bounds(),
        }
    }

    /// The log config of a topic: the broker's `log.*` settings with the topic's overrides.
    /// The dynamic broker configs (issue 17) come between: the cluster-wide
    /// default, then this broker's own, from the published image.
    pub fn topic_log_config(&self, overrides: &BTreeMap<String, String>) -> LogConfig {
        let mut config = self.config.log.clone();
        for (k, v) in self.dynamic_broker_configs().iter().chain(overrides) {
            // Validated when the topic was created; a stale key is ignored.
            let _ = config.set(k, v);
        }
        config
    }

    // ANCHOR: dynamic_broker_configs
    /// This broker's dynamic configs (KIP-226), from the published image: the
    /// cluster-wide default (resource "") with this broker's own (resource
    /// `"<id>"`) over it. Every key in it is one the config table marks
    /// dynamic, and each is read where the broker uses it: the logs
    /// ([`Broker::topic_log_config`]), the produce checks and
    /// `min.insync.replicas` (`replica_manager`), so an image that changes
    /// one reaches every live partition when it is applied.
    pub fn dynamic_broker_configs(&self) -> BTreeMap<String, String> {
        let image = self.metadata_image();
        let names = [String::new(), self.config.node_id.to_string()];
        let layers = names.iter().filter_map(|name| image.broker_configs(name));
        layers.flatten().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
    // ANCHOR_END: dynamic_broker_configs

    /// A topic's override of `topic_key`, else the dynamic value of its broker
    /// synonym `broker_key`; `None` leaves the static broker config in force.
    pub fn topic_or_dynamic(
        &self,
        configs: &BTreeMap<String, String>,
        topic_key: &str,
        broker_key: &str,
    ) -> Option<String> {
        configs.get(topic_key).cloned().or_else(|| self.dynamic_broker_configs().remove(broker_key))
    }

    /// The last published metadata image: which topics exist, their
    /// partitions and configs. Never waits for a metadata commit's fsync.
    pub fn metadata_image(&self) -> Arc<MetadataImage> {
        self.metadata.image()
    }

    /// The metadata log's writer (CreateTopics, DeleteTopics, producer id
    /// blocks): its lock is held across each commit's fsync.
    pub fn metadata_writer(&self) -> MetadataWriter<'_> {
        self.metadata.writer()
    }

    /// The log manager. A log writer's lock: poisoning is fatal (module doc).
    fn lock_logs(&self) -> MutexGuard<'_, LogManager> {
        self.logs.lock().expect("a thread panicked while holding the log manager")
    }

    /// The partition map, for reading. Recovered if poisoned: it is only
    /// ever replaced whole or has whole entries removed.
    fn read_partitions(&self) -> RwLockReadGuard<'_, BTreeMap<TopicPartition, Arc<Partition>>> {
        self.partitions.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.read_partitions().get(tp).cloned()
    }

    /// The group coordinator (chapter 5).
    pub fn groups(&self) -> &groups::GroupDriver {
        &self.groups
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    // ANCHOR: handle
    /// Answers one request. `Ok(None)` means no response is sent (a produce with
    /// `acks=0`, whose client does not read one); `Err` means close the connection.
    pub async fn handle(self: &Arc<Self>, request: Request) -> Result<Option<Reply>, Error> {
        // Chapter 11: the authorizer first (authz.rs), one place for every API.
        let (principal, host) =
            (request.principal.clone(), request.client_host.trim_start_matches('/').to_string());
        let acks_zero = matches!(&request.body, RequestKind::Produce(r) if r.acks == 0);
        let (request, refused) = match self.authorize_request(request) {
            authz::Verdict::Handle(request, refused) => (request, refused),
            // A client that asked for no answer would not read this one: close, as Kafka does.
            authz::Verdict::Answer(_) if acks_zero => {
                return Err(Error::CloseConnection("produce (acks=0) not authorized".into()))
            }
            authz::Verdict::Answer(refused) => return Ok(Some(Reply::Message(refused))),
        };
        if acks_zero && refused.took_any() {
            return Err(Error::CloseConnection("produce (acks=0) not authorized".into()));
        }
        let reply = self.handle_authorized(request).await?;
        Ok(self.merge_refused(&principal, &host, refused, reply))
    }

    /// A request the authorizer let through (or narrowed).
    async fn handle_authorized(self: &Arc<Self>, request: Request) -> Result<Option<Reply>, Error> {
        let (api_key, version) = (request.api_key, request.header.request_api_version);
        // Chapter 11: addresses are answered on the listener the request came in on.
        let listener = request.listener.clone();
        let listener = listener.as_str();
        if groups::GROUP_APIS.contains(&api_key) {
            return Ok(Some(Reply::Message(self.handle_group(request).await?)));
        }
        if transactions::TRANSACTION_APIS.contains(&api_key) {
            return Ok(Some(Reply::Message(self.handle_transactions(request).await?)));
        }
        if self.cluster.is_some() {
            // Chapter 6: in a cluster, the controller decides and the image describes.
            match request.body {
                RequestKind::Metadata(r) => {
                    return Ok(Some(Reply::Message(ResponseKind::Metadata(
                        self.cluster_metadata(r, version, listener).await,
                    ))))
                }
                RequestKind::CreateTopics(r) => {
                    let response = self.forward_create_topics(r, version).await;
                    return Ok(Some(Reply::Message(ResponseKind::CreateTopics(response))));
                }
                RequestKind::DeleteTopics(r) => {
                    let response = self.forward_delete_topics(r, version).await;
                    return Ok(Some(Reply::Message(ResponseKind::DeleteTopics(response))));
                }
                RequestKind::CreatePartitions(r) => {
                    let response = self.forward_create_partitions(r).await;
                    return Ok(Some(Reply::Message(ResponseKind::CreatePartitions(response))));
                }
                RequestKind::IncrementalAlterConfigs(r) => {
                    let response = self.forward_incremental_alter_configs(r).await;
                    return Ok(Some(Reply::Message(ResponseKind::IncrementalAlterConfigs(response))));
                }
                RequestKind::AlterConfigs(r) => {
                    let response = self.forward_alter_configs(r).await;
                    return Ok(Some(Reply::Message(ResponseKind::AlterConfigs(response))));
                }
                RequestKind::AlterClientQuotas(r) => {
                    let response = self.forward_alter_client_quotas(r).await;
                    return Ok(Some(Reply::Message(ResponseKind::AlterClientQuotas(response))));
                }
                RequestKind::AlterUserScramCredentials(r) => {
                    let response = self.forward_alter_user_scram_credentials(r).await;
                    return Ok(Some(Reply::Message(ResponseKind::AlterUserScramCredentials(response))));
                }
                RequestKind::DescribeCluster(_) => {
                    return Ok(Some(Reply::Message(ResponseKind::DescribeCluster(
                        self.cluster_describe(listener),
                    ))))
                }
                RequestKind::ElectLeaders(r) => {
                    let response = self.forward_elect_leaders(r, version).await;
                    return Ok(Some(Reply::Message(ResponseKind::ElectLeaders(response))));
                }
                RequestKind::FindCoordinator(r) => {
                    let response = self.cluster_find_coordinator(r, version, listener).await;
                    return Ok(Some(Reply::Message(ResponseKind::FindCoordinator(response))));
                }
                body => return self.handle_common(body, api_key, version, listener).await,
            }
        }
        self.handle_common(request.body, api_key, version, listener).await
    }

    /// The APIs a standalone broker and a broker in a cluster answer alike.
    async fn handle_common(
        self: &Arc<Self>,
        body: RequestKind,
        api_key: kafka_protocol::messages::ApiKey,
        version: i16,
        listener: &str,
    ) -> Result<Option<Reply>, Error> {
        Ok(Some(Reply::Message(match body {
            RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(admin::api_versions(
                None,
                self.config.transactions.transaction_version,
            )),
            RequestKind::Metadata(r) => ResponseKind::Metadata(self.metadata(r, version, listener)),
            RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(self.create_topics(r, version)),
            RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(self.delete_topics(r).await),
            RequestKind::CreatePartitions(r) => ResponseKind::CreatePartitions(self.create_partitions(r)),
            RequestKind::DescribeConfigs(r) => ResponseKind::DescribeConfigs(self.describe_configs(r)),
            RequestKind::IncrementalAlterConfigs(r) => {
                let resources = alter_configs::incremental_changes(&r);
                let answers = self.alter_configs(&resources, r.validate_only);
                ResponseKind::IncrementalAlterConfigs(alter_configs::incremental_response(
                    &resources, &answers,
                ))
            }
            RequestKind::AlterConfigs(r) => {
                let resources = alter_configs::replacing_changes(&r);
                let answers = self.alter_configs(&resources, r.validate_only);
                ResponseKind::AlterConfigs(alter_configs::replacing_response(&resources, &answers))
            }
            RequestKind::DescribeCluster(r) => {
                ResponseKind::DescribeCluster(self.describe_cluster(r, listener))
            }
            RequestKind::AlterClientQuotas(r) => {
                ResponseKind::AlterClientQuotas(self.alter_client_quotas(&r))
            }
            RequestKind::DescribeClientQuotas(r) => {
                ResponseKind::DescribeClientQuotas(self.describe_client_quotas(&r))
            }
            RequestKind::AlterUserScramCredentials(r) => {
                ResponseKind::AlterUserScramCredentials(self.alter_user_scram_credentials(&r))
            }
            RequestKind::DescribeUserScramCredentials(r) => {
                ResponseKind::DescribeUserScramCredentials(self.describe_user_scram_credentials(&r))
            }
            RequestKind::FindCoordinator(r) => {
                ResponseKind::FindCoordinator(self.find_coordinator(r, version, listener))
            }
            RequestKind::InitProducerId(r) => {
                ResponseKind::InitProducerId(self.init_producer_id(r, version).await)
            }
            RequestKind::ListOffsets(r) => ResponseKind::ListOffsets(self.list_offsets(r)),
            RequestKind::OffsetForLeaderEpoch(r) => {
                ResponseKind::OffsetForLeaderEpoch(self.offsets_for_leader_epoch(r))
            }
            RequestKind::ElectLeaders(r) => ResponseKind::ElectLeaders(self.elect_leaders_standalone(r)),
            RequestKind::Produce(r) => return Ok(self.append_produce(r, version).await?.map(Reply::Later)),
            RequestKind::Fetch(r) => return Ok(Some(Reply::Fetch(self.fetch(r).await))),
            RequestKind::WriteTxnMarkers(r) => ResponseKind::WriteTxnMarkers(self.write_txn_markers(r).await),
            RequestKind::DescribeProducers(r) => ResponseKind::DescribeProducers(self.describe_producers(r)),
            RequestKind::DeleteRecords(r) => ResponseKind::DeleteRecords(self.delete_records(r).await),
            RequestKind::DescribeLogDirs(r) => ResponseKind::DescribeLogDirs(self.describe_log_dirs(r)),
            RequestKind::DescribeTopicPartitions(r) => {
                ResponseKind::DescribeTopicPartitions(self.describe_topic_partitions(r))
            }
            // Chapter 11: the ACLs (acls.rs forwards the changes in a cluster).
            RequestKind::CreateAcls(r) => ResponseKind::CreateAcls(self.create_acls(r).await),
            RequestKind::DescribeAcls(r) => ResponseKind::DescribeAcls(self.describe_acls(r)),
            RequestKind::DeleteAcls(r) => ResponseKind::DeleteAcls(self.delete_acls(r).await),
            // Chapter 11: a SASL listener's session answers these before
            // the broker sees them; here, the connection is not SASL's.
            RequestKind::SaslHandshake(_) => {
                ResponseKind::SaslHandshake(crate::wire::sasl::handshake_on_plaintext())
            }
            RequestKind::SaslAuthenticate(_) => {
                ResponseKind::SaslAuthenticate(crate::wire::sasl::authenticate_on_plaintext())
            }
            // decode_request lets through only the APIs in SUPPORTED.
            _ => unreachable!("{api_key:?} passed the version check but has no handler"),
        })))
    }
    // ANCHOR_END: handle

    /// Clean shutdown: refuse new appends, flush every log, write the checkpoints
    /// and, last, the clean-shutdown marker.
    pub fn shutdown(&self) -> Result<(), LogError> {
        self.shutting_down.store(true, Ordering::Release);
        // Chapter 10: the cleaner threads stop (abandoning a cleaning) before the logs close.
        if let Some(mut cleaner) = self.cleaner.lock().unwrap_or_else(PoisonError::into_inner).take() {
            cleaner.shutdown();
        }
        self.shutdown_groups();
        self.shutdown_transactions();
        self.metadata_writer().flush()?;
        self.lock_logs().shutdown()
    }

    // ANCHOR: start_cleaner
    /// Starts the log cleaner's threads (chapter 10), once, unless
    /// `log.cleaner.enable` is off: compacted topics, `__consumer_offsets`
    /// and `__transaction_state` among them, keep each key's latest record.
    pub fn start_cleaner(&self) -> std::io::Result<()> {
        let mut cleaner = self.cleaner.lock().unwrap_or_else(PoisonError::into_inner);
        if cleaner.is_none() && self.config.cleaner.enable {
            *cleaner = Some(LogCleaner::start(&self.config.cleaner, self.logs.clone())?);
        }
        Ok(())
    }
    // ANCHOR_END: start_cleaner

    /// Flush-by-time, retention and checkpoints, each on its own period
    /// ([`LogManager::tick`]): run by the server every
    /// [`BrokerConfig::tick_interval`].
    pub fn tick(&self) -> Result<(), LogError> {
        if self.log_dir.is_offline() {
            return Ok(()); // nothing to maintain: every log waits for a restart
        }
        // Chapter 6: leaders drop followers that lag too long from their ISR.
        let now = now_ms();
        for (tp, partition) in self.read_partitions().clone() {
            if let Some(alter) = partition.tick(now) {
                self.submit_alter_partition(&tp, &partition, alter);
            }
        }
        let result = self.lock_logs().tick(now);
        if let Err(e) = &result {
            self.log_dir.fail(&"log maintenance", e);
        }
        result
    }
}
