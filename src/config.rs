//! Broker configuration: a `server.properties` file with Kafka's own key names,
//! plus `--override key=value`, as `kafka-server-start.sh` takes them.
//!
//! Every key spool does not use is kept and ignored with a warning, so an
//! existing Kafka properties file loads unchanged — except a key that asks for
//! security spool does not provide (a security protocol it does not speak, an
//! authorizer other than StandardAuthorizer, a SASL mechanism other than
//! PLAIN and SCRAM): that refuses to start, because serving less than a
//! client asked for is a silent downgrade, not a setting to ignore.
//! All four of Kafka's listener protocols are served (chapter 11): PLAINTEXT,
//! SSL, SASL_PLAINTEXT and SASL_SSL. Their `ssl.*` keys are kept in
//! [`BrokerConfig::ssl_props`] and checked here, so a broker with a missing
//! keystore refuses to start rather than failing each handshake; their SASL
//! keys (`sasl.enabled.mechanisms`, `listener.name.<name>.<mechanism>.sasl.jaas.config`)
//! are read here too. The cluster's own links (replica fetchers, the
//! controller link, the Raft lanes) dial their listener's protocol with the
//! credentials `config/links.rs` derives (`security.inter.broker.protocol`,
//! `sasl.mechanism.inter.broker.protocol`, `sasl.mechanism.controller.protocol`).

//! Chapter 6 adds the keys of a KRaft cluster, each in its own file:
//! `config/listeners.rs` (named listeners, advertised addresses, security protocols),
//! `config/kraft.rs` (`process.roles`, the controller quorum and its rules) and
//! `config/replication.rs` (follower fetching, the ISR, heartbeats); chapter 9
//! adds `config/transactions.rs` (the transaction coordinator). A file without
//! `process.roles` is a standalone single node, as before.
//!
//! Issue 17 puts every key in one table, [`def`] (Kafka's `ConfigDef`): a key
//! is read only if the table lists it, and its value is checked against the
//! table's type and range before the field is set; the same table checks
//! topic overrides and answers DescribeConfigs.

pub mod authorizer;
#[cfg(test)]
mod cluster_tests;
pub mod def;
mod kraft;
mod links;
mod listeners;
#[cfg(test)]
mod quorum_tests;
mod replication;
mod transactions;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use kraft::{
    HostPort, ProcessRoles, QuorumConfig, QuorumVoter, SNAPSHOT_INTERVAL_MS_DEFAULT,
    SNAPSHOT_RECORD_BYTES_MAX_DEFAULT,
};
pub use listeners::{Listener, SPOKEN_PROTOCOLS};
pub use replication::ReplicationConfig;
pub use transactions::TransactionConfig;

use crate::group::{GroupCoordinatorConfig, CONSUMER_OFFSETS_PARTITIONS};
use crate::log::validator::TopicCompression;
use crate::log::{CleanerConfig, LogConfig};
use crate::security::tls::{self, config::is_ssl_key, SslConfig};

/// The broker's settings.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `node.id` (or `broker.id`): at least 0.
    pub node_id: i32,
    /// `process.roles`: broker, controller, both, or (absent) a standalone node.
    pub process_roles: ProcessRoles,
    /// The address the broker accepts clients on: the first of `listeners`
    /// that is not a controller listener (for a controller-only node, the
    /// first listener). A single-listener broker binds only this.
    pub listener: SocketAddr,
    /// The host and port clients are told to use for [`Self::listener`]: its
    /// entry in `advertised.listeners`, else the listener itself (0.0.0.0
    /// advertised as 127.0.0.1).
    pub advertised_host: String,
    pub advertised_port: u16,
    /// `listeners`: every named listener, in the order given.
    pub listeners: Vec<Listener>,
    /// `advertised.listeners`: what others are told to dial, per listener
    /// name; by default `listeners` minus the controller listeners.
    pub advertised_listeners: Vec<Listener>,
    /// `listener.security.protocol.map`, with Kafka's defaults (each protocol
    /// names itself; `CONTROLLER` and every controller listener name are PLAINTEXT).
    pub listener_security_protocol_map: BTreeMap<String, String>,
    /// `controller.listener.names`: the listeners the controller serves on
    /// (BrokerRegistration, BrokerHeartbeat, AlterPartition, metadata Fetch).
    pub controller_listener_names: Vec<String>,
    /// `inter.broker.listener.name`: the listener followers fetch over
    /// (or the one `security.inter.broker.protocol` names).
    pub inter_broker_listener_name: String,
    /// `sasl.mechanism.inter.broker.protocol` and `sasl.mechanism.controller.protocol`:
    /// how the links log in to a SASL listener (GSSAPI, Kafka's default, is refused there).
    pub sasl_mechanism_inter_broker_protocol: String,
    pub sasl_mechanism_controller_protocol: String,
    /// How this node dials other brokers (on `inter.broker.listener.name`)
    /// and the controllers (on the first of `controller.listener.names`):
    /// TLS and SASL as those listeners speak them (`config/links.rs`).
    pub inter_broker_security: crate::security::ClientSecurity,
    pub controller_security: crate::security::ClientSecurity,
    /// `sasl.enabled.mechanisms`: what a SASL listener offers (chapter 11).
    pub sasl_enabled_mechanisms: Vec<String>,
    /// `listener.name.<listener>.<mechanism>.sasl.jaas.config`, keyed by the
    /// upper-cased listener name and the lower-cased mechanism (`plain`,
    /// `scram-sha-512`), as Kafka reads them; parsed by the broker.
    pub sasl_jaas_configs: BTreeMap<(String, String), String>,
    /// `connections.max.reauth.ms` and its per-listener, per-mechanism form
    /// `listener.name.<listener>.<mechanism>.connections.max.reauth.ms`: a
    /// SASL session's lifetime (KIP-368, chapter 11).
    pub sasl_reauth: crate::security::sasl::listener::ReauthSettings,
    /// `controller.quorum.voters`: the controllers, `id@host:port`.
    pub controller_quorum_voters: Vec<QuorumVoter>,
    /// `controller.quorum.bootstrap.servers`: controllers to ask for the
    /// quorum when the voters are not listed (KIP-853).
    pub controller_quorum_bootstrap_servers: Vec<HostPort>,
    /// `controller.quorum.election.timeout.ms`, `…fetch.timeout.ms`,
    /// `…election.backoff.max.ms`, `…retry.backoff.ms`, `…request.timeout.ms`:
    /// the quorum's timers (chapter 7).
    pub quorum: QuorumConfig,
    /// The replication keys: follower fetching, the ISR, heartbeats,
    /// `min.insync.replicas` (chapter 6).
    pub replication: ReplicationConfig,
    /// `log.dirs` (or `log.dir`): the one log directory.
    pub log_dir: PathBuf,
    /// `num.partitions`: partitions of a topic created without a count.
    pub num_partitions: i32,
    /// `default.replication.factor`.
    pub default_replication_factor: i16,
    /// `auto.create.topics.enable`: a Metadata request for an unknown topic creates it
    /// (a produce to one fails with `UNKNOWN_TOPIC_OR_PARTITION`, as in Kafka).
    pub auto_create_topics: bool,
    /// `socket.request.max.bytes`: larger request frames close the connection.
    pub socket_request_max_bytes: usize,
    /// `queued.max.request.bytes`: the bytes of requests being read or handled,
    /// across all connections; a connection waits, unread, for room. `None`
    /// (Kafka's default, -1) bounds only each request, by `socket.request.max.bytes`.
    pub queued_max_request_bytes: Option<usize>,
    /// `message.max.bytes`: the largest record batch a topic accepts.
    pub message_max_bytes: usize,
    /// `max.request.partition.size.limit`: the most partitions one
    /// DescribeTopicPartitions answer holds (KIP-966), whatever the request asks.
    pub max_request_partition_size_limit: i32,
    /// `log.retention.check.interval.ms`: how often retention runs (and idle
    /// producers expire). Flush-by-time and the checkpoints keep their own
    /// periods, as Kafka schedules them on their own timers.
    pub retention_check_interval_ms: u64,
    /// The `log.*` settings every topic starts from.
    pub log: LogConfig,
    /// `log.flush.offset.checkpoint.interval.ms`.
    pub checkpoint_interval_ms: i64,
    /// The log cleaner's broker-wide keys, `log.cleaner.*` (chapter 10); the
    /// per-log ones are in [`Self::log`].
    pub cleaner: CleanerConfig,
    /// `compression.type`: the codec topics store batches with unless they say
    /// otherwise; `producer` keeps the producer's (chapter 4).
    pub compression_type: TopicCompression,
    /// `spool.fetch.zero.copy`: send fetched records with `sendfile` (chapter 3);
    /// `false` reads them into memory first, the naive path kept for measuring.
    pub zero_copy: bool,
    /// `spool.produce.pipelining`: while an `acks=all` produce waits for its
    /// replicas, read and append the connection's next produces (chapter 6);
    /// `false` answers each request before reading the next, as Kafka does.
    pub produce_pipelining: bool,
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets` when
    /// the broker creates it (chapter 5). Changing it later does not re-partition
    /// the topic: the existing topic's count is what places groups.
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor`: replicas of each `__consumer_offsets`
    /// partition in a cluster (Kafka's default 3), capped by the live brokers
    /// when the topic is created (Kafka waits for enough brokers instead).
    pub offsets_topic_replication_factor: i16,
    /// `offsets.topic.segment.bytes`: `segment.bytes` of `__consumer_offsets`,
    /// smaller than other topics' so compaction has closed segments to clean.
    pub offsets_topic_segment_bytes: u64,
    /// The group coordinator's limits: `group.initial.rebalance.delay.ms`,
    /// `group.min.session.timeout.ms`, `group.max.session.timeout.ms`,
    /// `group.max.size`, `offset.metadata.max.bytes` (chapter 5).
    pub group: GroupCoordinatorConfig,
    /// The transaction coordinator's keys: `transaction.state.log.*`,
    /// `transaction.max.timeout.ms`, … (chapter 9).
    pub transactions: TransactionConfig,
    /// The keys set in `server.properties` or by `--override`, with their
    /// values as written: DescribeConfigs reports them as `STATIC_BROKER_CONFIG`
    /// and the rest as `DEFAULT_CONFIG`.
    pub static_values: BTreeMap<String, String>,
    /// `authorizer.class.name` and its keys (chapter 11): `None` checks nothing.
    pub authorizer: Option<crate::security::AuthorizerConfig>,
    /// The `ssl.*` and `listener.name.<name>.ssl.*` keys as given, read per
    /// listener by [`Self::tls_server_config`].
    pub ssl_props: BTreeMap<String, String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            node_id: 1,
            process_roles: ProcessRoles::Standalone,
            listener: "127.0.0.1:9092".parse().expect("a valid address"),
            advertised_host: "127.0.0.1".into(),
            advertised_port: 9092,
            listeners: vec![default_listener()],
            advertised_listeners: vec![default_listener()],
            listener_security_protocol_map: listeners::security_protocol_map(None, &[])
                .expect("the default map"),
            controller_listener_names: Vec::new(),
            inter_broker_listener_name: "PLAINTEXT".into(),
            sasl_mechanism_inter_broker_protocol: links::GSSAPI.into(),
            sasl_mechanism_controller_protocol: links::GSSAPI.into(),
            inter_broker_security: Default::default(),
            controller_security: Default::default(),
            sasl_enabled_mechanisms: vec!["GSSAPI".into()],
            sasl_jaas_configs: BTreeMap::new(),
            sasl_reauth: Default::default(),
            controller_quorum_voters: Vec::new(),
            controller_quorum_bootstrap_servers: Vec::new(),
            quorum: QuorumConfig::default(),
            replication: ReplicationConfig::default(),
            log_dir: PathBuf::from("data"),
            num_partitions: 1,
            default_replication_factor: 1,
            auto_create_topics: true,
            socket_request_max_bytes: 100 * 1024 * 1024,
            queued_max_request_bytes: None,
            message_max_bytes: 1024 * 1024 + 12,
            // Kafka's default page cap for DescribeTopicPartitions.
            max_request_partition_size_limit: 2000,
            retention_check_interval_ms: 300_000,
            log: LogConfig::default(),
            checkpoint_interval_ms: 60_000,
            cleaner: CleanerConfig::default(),
            compression_type: TopicCompression::Producer,
            zero_copy: true,
            produce_pipelining: true,
            offsets_topic_num_partitions: CONSUMER_OFFSETS_PARTITIONS,
            offsets_topic_replication_factor: 3,
            offsets_topic_segment_bytes: 100 * 1024 * 1024,
            group: GroupCoordinatorConfig::default(),
            transactions: TransactionConfig::default(),
            static_values: BTreeMap::new(),
            authorizer: None,
            ssl_props: BTreeMap::new(),
        }
    }
}

impl BrokerConfig {
    /// Reads a properties file's `key=value` lines (`#` and `!` comments).
    pub fn parse_properties(text: &str) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((k, v)) = line.split_once(['=', ':']) else {
                return Err(format!("line {}: expected key=value, got {line:?}", n + 1));
            };
            out.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(out)
    }

    /// Builds a config from properties; returns it with the keys it ignored.
    /// Errors name the key to change.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<(Self, Vec<String>), String> {
        let get = |key: &str| props.get(key).map(String::as_str);
        let controller_names = listeners::parse_names(get("controller.listener.names").unwrap_or(""));
        let map = listeners::security_protocol_map(get("listener.security.protocol.map"), &controller_names)?;
        // First: a broker asked for security it lacks says so, whatever else is wrong.
        listeners::refuse_security(props, &map)?;
        let mut config = BrokerConfig {
            listener_security_protocol_map: map,
            controller_listener_names: controller_names,
            ..BrokerConfig::default()
        };
        let mut ignored = Vec::new();
        for (key, value) in props {
            // Chapter 11: the `ssl.*` keys (bare and per listener) are read as
            // a group, per listener, by `tls_server_config` below.
            if is_ssl_key(key) {
                config.ssl_props.insert(key.clone(), value.clone());
                continue;
            }
            // Per-listener SASL logins, Kafka's prefixed form (chapter 11).
            if let Some(listener_mechanism) =
                key.strip_prefix("listener.name.").and_then(|k| k.strip_suffix(".sasl.jaas.config"))
            {
                let (listener, mechanism) = listener_mechanism.split_once('.').ok_or_else(|| {
                    format!("{key}: expected listener.name.<listener>.<mechanism>.sasl.jaas.config")
                })?;
                let at = (listener.to_ascii_uppercase(), mechanism.to_ascii_lowercase());
                config.sasl_jaas_configs.insert(at, value.clone());
                continue;
            }
            // Per-listener, per-mechanism session lifetimes (KIP-368, chapter 11).
            if let Some(listener_mechanism) =
                key.strip_prefix("listener.name.").and_then(|k| k.strip_suffix(".connections.max.reauth.ms"))
            {
                let (listener, mechanism) = listener_mechanism.split_once('.').ok_or_else(|| {
                    format!("{key}: expected listener.name.<listener>.<mechanism>.connections.max.reauth.ms")
                })?;
                let definition = def::broker_key("connections.max.reauth.ms").expect("in the table");
                definition.validate(value).map_err(|e| format!("{key}: {e}"))?;
                let at = (listener.to_ascii_uppercase(), mechanism.to_ascii_lowercase());
                config.sasl_reauth.by_listener_mechanism.insert(at, num(key, value.trim())?);
                continue;
            }
            // The table decides which keys are read and what values they take.
            let Some(definition) = def::broker_key(key) else {
                ignored.push(key.clone());
                continue;
            };
            definition.validate(value)?;
            let known = config.set(key, value)?;
            assert!(known, "{key} is in the config table but no setter takes it");
            config.static_values.insert(key.clone(), value.clone());
        }
        // Chapter 11: the authorizer's keys are read together (config/authorizer.rs).
        config.authorizer = authorizer::parse(props)?;
        config.resolve_listeners(get("listeners"), get("advertised.listeners"))?;
        for listener in config.listeners.iter().filter(|l| l.protocol.ends_with("SSL")) {
            config.tls_server_config(&listener.name)?;
        }
        let listener_name_set = props.contains_key("inter.broker.listener.name");
        links::resolve_inter_broker_listener(
            &mut config,
            get("security.inter.broker.protocol"),
            listener_name_set,
        )?;
        kraft::validate(&config)?;
        if config.process_roles != ProcessRoles::Standalone {
            links::resolve(&mut config)?;
        }
        config.replication.validate()?;
        config.quorum.validate()?;
        Ok((config, ignored))
    }

    /// Fills the listener fields from `listeners` and `advertised.listeners`
    /// (absent: today's single `PLAINTEXT://127.0.0.1:9092`).
    fn resolve_listeners(&mut self, listeners: Option<&str>, advertised: Option<&str>) -> Result<(), String> {
        let map = &self.listener_security_protocol_map;
        if let Some(value) = listeners {
            self.listeners = listeners::parse_listeners("listeners", value, map)?;
            if self.listeners.is_empty() {
                return Err("listeners must name at least one listener".into());
            }
        }
        let controller = |l: &Listener| self.controller_listener_names.contains(&l.name);
        self.advertised_listeners = match advertised {
            Some(value) => {
                let advertised = listeners::parse_listeners("advertised.listeners", value, map)?;
                if let Some(l) = advertised.iter().find(|l| l.host == "0.0.0.0") {
                    return Err(format!(
                        "advertised.listeners: {l} uses the non-routable address 0.0.0.0; use a routable one"
                    ));
                }
                if let Some(l) = advertised.iter().find(|a| !self.listeners.iter().any(|l| l.name == a.name))
                {
                    return Err(format!(
                        "advertised.listeners: {l} names no listener in listeners; the names there are {}",
                        self.listeners.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(",")
                    ));
                }
                advertised
            }
            None => self.listeners.iter().filter(|l| !controller(l)).map(routable).collect(),
        };
        for listener in &self.listeners {
            listener.bind_addr()?;
        }
        let first = self.listeners.iter().find(|l| !controller(l)).unwrap_or(&self.listeners[0]);
        self.listener = first.bind_addr()?;
        let shown = self.advertised_listeners.iter().find(|a| a.name == first.name).cloned();
        let shown = shown.unwrap_or_else(|| routable(first));
        (self.advertised_host, self.advertised_port) = (shown.host, shown.port);
        Ok(())
    }

    /// The TLS configuration of the SSL (or SASL_SSL) listener `name`, from its
    /// `listener.name.<name>.ssl.*` keys over the bare `ssl.*` ones.
    pub fn tls_server_config(&self, name: &str) -> Result<std::sync::Arc<rustls::ServerConfig>, String> {
        let ssl = SslConfig::for_listener(&self.ssl_props, Some(name)).map_err(|e| e.to_string())?;
        tls::server_config(&ssl).map_err(|e| format!("listener {name}: {e}"))
    }

    /// The TLS configuration this broker dials listener `name` of another
    /// node with (its truststore, and its keystore as the client
    /// certificate), whatever its protocol: `config/links.rs` asks only for SSL and SASL_SSL ones.
    pub fn tls_client_config(&self, name: &str) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
        let ssl = SslConfig::for_listener(&self.ssl_props, Some(name)).map_err(|e| e.to_string())?;
        tls::client_config(&ssl).map_err(|e| format!("listener {name}: {e}"))
    }

    /// How often the broker's maintenance tick runs ([`crate::broker::Broker::tick`]):
    /// once a second (the flush-by-time policy's resolution), or more often
    /// when `log.retention.check.interval.ms` or
    /// `log.flush.offset.checkpoint.interval.ms` is shorter; each duty keeps its
    /// own period ([`crate::log::LogManager::tick`]). At least 1 ms: a zero
    /// period is no timer.
    pub fn tick_interval(&self) -> std::time::Duration {
        let retention_ms = i64::try_from(self.retention_check_interval_ms).unwrap_or(i64::MAX);
        let ms = 1_000.min(retention_ms).min(self.checkpoint_interval_ms).max(1);
        std::time::Duration::from_millis(ms as u64)
    }

    /// The DescribeConfigs source of a broker setting known by any of `keys`:
    /// 4 (`STATIC_BROKER_CONFIG`) when the properties set it, else 5 (`DEFAULT_CONFIG`).
    pub fn source(&self, keys: &[&str]) -> i8 {
        if keys.iter().any(|k| self.static_values.contains_key(*k)) {
            4
        } else {
            5
        }
    }

    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        match key {
            "node.id" | "broker.id" => self.node_id = num(key, value)?,
            // Read together once every key is in: each depends on the others.
            "listeners"
            | "advertised.listeners"
            | "listener.security.protocol.map"
            | "controller.listener.names" => {}
            // Chapter 11: read together by `authorizer::parse`, below in `from_properties`.
            "authorizer.class.name" | "super.users" | "allow.everyone.if.no.acl.found" => {}
            "max.request.partition.size.limit" => self.max_request_partition_size_limit = num(key, value)?,
            "inter.broker.listener.name" => {
                self.inter_broker_listener_name = value.trim().to_ascii_uppercase()
            }
            // Chapter 11: read together with inter.broker.listener.name (`config/links.rs`).
            "security.inter.broker.protocol" => {}
            "sasl.mechanism.inter.broker.protocol" => {
                self.sasl_mechanism_inter_broker_protocol = value.trim().to_string()
            }
            "sasl.mechanism.controller.protocol" => {
                self.sasl_mechanism_controller_protocol = value.trim().to_string()
            }
            "connections.max.reauth.ms" => self.sasl_reauth.max_reauth_ms = num(key, value.trim())?,
            "sasl.enabled.mechanisms" => {
                self.sasl_enabled_mechanisms =
                    value.split(',').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect()
            }
            "process.roles" => self.process_roles = ProcessRoles::parse(value)?,
            "controller.quorum.voters" => self.controller_quorum_voters = kraft::parse_voters(value)?,
            "controller.quorum.bootstrap.servers" => {
                self.controller_quorum_bootstrap_servers = kraft::parse_bootstrap_servers(value)?
            }
            "log.dirs" | "log.dir" => {
                let first = value.split(',').next().unwrap_or_default().trim();
                self.log_dir = PathBuf::from(first);
            }
            "num.partitions" => self.num_partitions = num(key, value)?,
            "default.replication.factor" => self.default_replication_factor = num(key, value)?,
            "auto.create.topics.enable" => self.auto_create_topics = flag(key, value)?,
            "socket.request.max.bytes" => self.socket_request_max_bytes = num(key, value)?,
            "queued.max.request.bytes" => {
                let bytes: i64 = num(key, value)?;
                self.queued_max_request_bytes = (bytes > 0).then_some(bytes as usize);
            }
            "message.max.bytes" => self.message_max_bytes = num(key, value)?,
            "log.retention.check.interval.ms" => self.retention_check_interval_ms = num(key, value)?,
            "log.flush.offset.checkpoint.interval.ms" => self.checkpoint_interval_ms = num(key, value)?,
            "spool.fetch.zero.copy" => self.zero_copy = flag(key, value)?,
            "spool.produce.pipelining" => self.produce_pipelining = flag(key, value)?,
            "offsets.topic.num.partitions" => {
                self.offsets_topic_num_partitions = num(key, value)?;
                if self.offsets_topic_num_partitions < 1 {
                    return Err(format!("{key} must be at least 1"));
                }
            }
            "offsets.topic.segment.bytes" => self.offsets_topic_segment_bytes = num(key, value)?,
            "offsets.topic.replication.factor" => {
                self.offsets_topic_replication_factor = num(key, value)?;
                if self.offsets_topic_replication_factor < 1 {
                    return Err(format!("{key} must be at least 1"));
                }
            }
            "group.initial.rebalance.delay.ms" => self.group.initial_rebalance_delay_ms = num(key, value)?,
            "group.min.session.timeout.ms" => self.group.session_timeout_ms_min = num(key, value)?,
            "group.max.session.timeout.ms" => self.group.session_timeout_ms_max = num(key, value)?,
            "group.max.size" => self.group.group_size_max = num(key, value)?,
            "offsets.commit.timeout.ms" => self.group.offsets_commit_timeout_ms = num(key, value)?,
            "offset.metadata.max.bytes" => {
                self.group.offset_metadata_bytes_max = num(key, value)?;
                // A commit's metadata is a string in its __consumer_offsets record.
                if self.group.offset_metadata_bytes_max > i16::MAX as usize {
                    return Err(format!("{key} must be between 0 and {}", i16::MAX));
                }
            }
            "compression.type" => {
                self.compression_type = TopicCompression::parse(value)
                    .ok_or_else(|| format!("invalid value {value:?} for compression.type"))?
            }
            _ if self.replication.set(key, value)? => {}
            _ if self.transactions.set(key, value)? => {}
            _ if self.quorum.set(key, value)? => {}
            _ if self.cleaner.set(key, value)? => {}
            _ => return self.log.set(key, value),
        }
        Ok(true)
    }
}

/// spool's listener when `listeners` is not set: `PLAINTEXT://127.0.0.1:9092`.
fn default_listener() -> Listener {
    Listener { name: "PLAINTEXT".into(), host: "127.0.0.1".into(), port: 9092, protocol: "PLAINTEXT".into() }
}

/// A listener as others can dial it: 0.0.0.0 (every interface) becomes 127.0.0.1.
fn routable(listener: &Listener) -> Listener {
    let host = if listener.host == "0.0.0.0" { "127.0.0.1".into() } else { listener.host.clone() };
    Listener { host, ..listener.clone() }
}

/// Parses one number for `key`, naming both in the error.
fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("invalid value {v:?} for {key}"))
}

/// Booleans parse as Kafka's do: `true`/`false` in any case.
use crate::log::config::flag;

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own key names load, unknown keys are reported, not fatal.
    #[test]
    fn loads_kafka_keys() {
        let text = "# comment\nnode.id=3\nlisteners=PLAINTEXT://127.0.0.1:19092\nlog.dirs=/tmp/x,/tmp/y\n\
                    num.partitions=4\nlog.segment.bytes=1024\nnum.network.threads=3\n";
        let props = BrokerConfig::parse_properties(text).unwrap();
        let (config, ignored) = BrokerConfig::from_properties(&props).unwrap();
        assert_eq!(config.node_id, 3);
        assert_eq!(config.listener.port(), 19092);
        assert_eq!(config.advertised_port, 19092);
        assert_eq!(config.log_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.num_partitions, 4);
        assert_eq!(config.log.segment_bytes, 1024);
        assert_eq!(ignored, vec!["num.network.threads".to_string()]);
    }

    /// Booleans are read as Kafka's ConfigDef reads them: any case, so a
    /// `server.properties` written `FALSE` means false (not an error, and
    /// not true); anything else is refused naming the key.
    #[test]
    fn booleans_in_any_case() {
        let load = |text: &str| {
            BrokerConfig::from_properties(&BrokerConfig::parse_properties(text).unwrap()).map(|(c, _)| c)
        };
        let config =
            load("auto.create.topics.enable=FALSE\nlog.cleaner.enable=False\nspool.fetch.zero.copy=TRUE\n")
                .unwrap();
        assert!(!config.auto_create_topics);
        assert!(!config.cleaner.enable);
        assert!(config.zero_copy);
        let error = load("auto.create.topics.enable=yes\n").unwrap_err();
        assert!(error.contains("auto.create.topics.enable"), "{error}");
    }

    /// Chapter 5's group coordinator settings load under Kafka's keys.
    #[test]
    fn loads_group_keys() {
        let text = "offsets.topic.num.partitions=3\ngroup.initial.rebalance.delay.ms=0\n\
                    group.min.session.timeout.ms=1000\ngroup.max.session.timeout.ms=60000\n";
        let props = BrokerConfig::parse_properties(text).unwrap();
        let (config, ignored) = BrokerConfig::from_properties(&props).unwrap();
        assert!(ignored.is_empty(), "{ignored:?}");
        assert_eq!(config.offsets_topic_num_partitions, 3);
        assert_eq!(config.group.initial_rebalance_delay_ms, 0);
        assert_eq!(config.group.session_timeout_ms_min, 1000);
        assert_eq!(config.group.session_timeout_ms_max, 60000);
        let zero = BrokerConfig::parse_properties("offsets.topic.num.partitions=0").unwrap();
        assert!(BrokerConfig::from_properties(&zero).is_err());
    }

    fn load(pairs: &[(&str, &str)]) -> Result<BrokerConfig, String> {
        let props = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        BrokerConfig::from_properties(&props).map(|(config, _)| config)
    }

    /// Every listener of Kafka's four protocols loads, named directly or
    /// through `listener.security.protocol.map`; but an SSL or SASL_SSL
    /// listener without a keystore refuses to start, naming the key to set,
    /// rather than failing every handshake, and a name the map leaves out is refused.
    #[test]
    fn listeners_spool_cannot_secure_are_refused() {
        for listeners in ["SSL://:9093", "PLAINTEXT://:9092,SSL://:9093", "SASL_SSL://127.0.0.1:9093"] {
            let error = load(&[("listeners", listeners)]).expect_err(listeners);
            assert!(error.contains("listener SSL") || error.contains("listener SASL_SSL"), "{error}");
            assert!(error.contains("ssl.keystore.location"), "{error}");
        }
        let mapped =
            [("listeners", "EXTERNAL://:9092"), ("listener.security.protocol.map", "EXTERNAL:SASL_SSL")];
        let error = load(&mapped).unwrap_err();
        assert!(error.contains("listener EXTERNAL") && error.contains("ssl.keystore"), "{error}");
        let unmapped = load(&[("listeners", "EXTERNAL://:9092")]).unwrap_err();
        assert!(
            unmapped.contains("EXTERNAL") && unmapped.contains("listener.security.protocol.map"),
            "{unmapped}"
        );
        let advertised = [("advertised.listeners", "SSL://broker:9093")];
        assert!(load(&advertised).unwrap_err().contains("SSL"));
        // What spool does speak still loads.
        let plain =
            [("listeners", "INTERNAL://:9092"), ("listener.security.protocol.map", "INTERNAL:PLAINTEXT")];
        assert_eq!(load(&plain).unwrap().listener.port(), 9092);
        assert_eq!(
            load(&[("listeners", "PLAINTEXT://:9092,CONTROLLER://:9093")]).unwrap().listener.port(),
            9092
        );
        assert_eq!(load(&[("listeners", "127.0.0.1:9094")]).unwrap().listener.port(), 9094);
        // Chapter 11: SASL over plain TCP, with its per-listener JAAS line.
        let sasl = load(&[
            ("listeners", "PLAINTEXT://:9092,SASL_PLAINTEXT://:9094"),
            ("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512"),
            ("listener.name.sasl_plaintext.plain.sasl.jaas.config", "x required;"),
        ])
        .unwrap();
        assert_eq!(sasl.sasl_enabled_mechanisms, ["PLAIN", "SCRAM-SHA-512"]);
        assert_eq!(sasl.sasl_jaas_configs[&("SASL_PLAINTEXT".into(), "plain".into())], "x required;");
    }

    /// `connections.max.reauth.ms` (KIP-368), bare and as Kafka reads it per
    /// listener and mechanism: the prefixed key wins for its pair only; a
    /// negative value is refused, naming the key.
    #[test]
    fn connections_max_reauth_ms_bare_and_per_listener_mechanism() {
        use crate::security::sasl::{scram::ScramMechanism, Mechanism};
        let config = load(&[
            ("connections.max.reauth.ms", "3000"),
            ("listener.name.sasl_plaintext.scram-sha-512.connections.max.reauth.ms", "60000"),
        ])
        .unwrap();
        let reauth = &config.sasl_reauth;
        assert_eq!(reauth.for_mechanism("SASL_PLAINTEXT", Mechanism::Scram(ScramMechanism::Sha512)), 60000);
        assert_eq!(reauth.for_mechanism("SASL_PLAINTEXT", Mechanism::Plain), 3000);
        assert_eq!(reauth.for_mechanism("SASL_SSL", Mechanism::Scram(ScramMechanism::Sha512)), 3000);
        assert_eq!(load(&[]).unwrap().sasl_reauth.max_reauth_ms, 0, "off by default");
        for key in ["connections.max.reauth.ms", "listener.name.sasl_ssl.plain.connections.max.reauth.ms"] {
            let error = load(&[(key, "-1")]).expect_err(key);
            assert!(error.contains(key), "{error}");
        }
    }

    /// An authorizer or SASL mechanisms are promises spool cannot keep
    /// (chapter 11): refused, not ignored with a
    /// warning. Their "off" values still load, so a stock properties file does.
    #[test]
    fn security_settings_spool_cannot_honour_are_refused() {
        for (key, value) in [
            ("authorizer.class.name", "kafka.security.authorizer.AclAuthorizer"),
            ("sasl.enabled.mechanisms", "OAUTHBEARER"),
            ("security.inter.broker.protocol", "KERBEROS"),
        ] {
            let error = load(&[(key, value)]).expect_err(key);
            assert!(error.contains(key), "{error}");
        }
        for (key, value) in [
            ("authorizer.class.name", ""),
            ("ssl.client.auth", "none"),
            ("ssl.client.auth", "required"),
            ("security.inter.broker.protocol", "PLAINTEXT"),
        ] {
            assert!(load(&[(key, value)]).is_ok(), "{key}={value}");
        }
    }

    /// Chapter 11: Kafka's KRaft authorizer is switched on by its class name,
    /// with `super.users` (semicolons) and `allow.everyone.if.no.acl.found`.
    #[test]
    fn the_standard_authorizer_is_accepted() {
        let (config, ignored) = BrokerConfig::from_properties(&BTreeMap::from([
            ("authorizer.class.name".to_string(), authorizer::STANDARD_AUTHORIZER.to_string()),
            ("super.users".to_string(), "User:admin;User:ANONYMOUS".to_string()),
        ]))
        .unwrap();
        let authorizer = config.authorizer.expect("on");
        assert_eq!(authorizer.super_users, vec!["User:admin", "User:ANONYMOUS"]);
        assert!(!authorizer.allow_if_no_acl);
        assert!(ignored.is_empty(), "{ignored:?}");
        assert_eq!(load(&[]).unwrap().authorizer, None);
    }

    #[test]
    fn bad_values_are_errors() {
        let props = BrokerConfig::parse_properties("num.partitions=many").unwrap();
        assert!(BrokerConfig::from_properties(&props).is_err());
        assert!(BrokerConfig::parse_properties("novalue").is_err());
        // A commit's metadata must fit the string of its __consumer_offsets record.
        let props = BrokerConfig::parse_properties("offset.metadata.max.bytes=40000").unwrap();
        assert!(BrokerConfig::from_properties(&props).is_err());
        let props = BrokerConfig::parse_properties("offset.metadata.max.bytes=32767").unwrap();
        assert!(BrokerConfig::from_properties(&props).is_ok());
    }

    /// The maintenance tick runs at least once a second (flush-by-time's
    /// resolution) and as often as the shortest of its duties' periods, so a
    /// short `log.retention.check.interval.ms` is honoured; each duty's own
    /// period is kept by `LogManager::tick` (tests/it/log.rs).
    #[test]
    fn the_tick_runs_as_often_as_its_shortest_duty() {
        assert_eq!(BrokerConfig::default().tick_interval(), std::time::Duration::from_millis(1_000));
        let props = BTreeMap::from([("log.retention.check.interval.ms".to_string(), "250".to_string())]);
        let (config, _) = BrokerConfig::from_properties(&props).unwrap();
        assert_eq!(config.tick_interval(), std::time::Duration::from_millis(250));
    }
}
