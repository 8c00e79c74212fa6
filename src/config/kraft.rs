//! KRaft's node settings: what a node is (`process.roles`), where the
//! controller quorum is (`controller.quorum.voters`,
//! `controller.quorum.bootstrap.servers`), and which listeners belong to it
//! (`controller.listener.names`), and the quorum's timers
//! (`controller.quorum.*.ms`, Kafka's `QuorumConfig`) and pre-vote switch
//! (`spool.quorum.pre.vote`).
//!
//! A Kafka cluster without ZooKeeper is a set of nodes, each a **broker**
//! (serves clients, hosts partition replicas), a **controller** (a voter of
//! the metadata quorum that owns `__cluster_metadata`), or both (combined
//! mode). Brokers find the quorum through the voters' `id@host:port` list or a
//! bootstrap list (KIP-853), register with the active controller over its
//! CONTROLLER listener, and fetch the metadata log from it.
//!
//! With `process.roles` absent, spool is a single node: its own broker and,
//! in process, its own one-voter controller ([`ProcessRoles::Standalone`]).
//! Nothing in this file applies to it except the node id's range, so a
//! properties file without KRaft keys loads as a single node.
//!
//! [`validate`] keeps Kafka's rules (`KafkaConfig.validateValues`), each error
//! naming the key to change:
//!
//! | roles | must hold |
//! |---|---|
//! | any KRaft role | voters or bootstrap servers set |
//! | `controller` in roles | node id among the voters; a listener named in `controller.listener.names` |
//! | `broker` only | node id not a voter; `controller.listener.names` set; none of them in `listeners` |
//! | `controller` only | every listener a controller listener |
//! | `broker` in roles | a broker listener advertised; `inter.broker.listener.name` among them |
//!
//! Any number of voters is valid for every role: the controllers run them as
//! a Raft quorum ([`crate::node::quorum`]), only the elected leader acts as
//! the active controller, and a broker dials whichever of them leads
//! ([`QuorumConfig`] bounds how long it keeps trying).
//!
//! Simplifications: voters' directory ids (KIP-853's `id@host:port:dir`)
//! are not read.

use std::fmt;

use super::listeners::Listener;
use super::BrokerConfig;

/// `process.roles`: what this node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessRoles {
    /// `process.roles` absent: one node that is its own broker and its own
    /// one-voter controller, in process.
    #[default]
    Standalone,
    /// `process.roles=broker`.
    Broker,
    /// `process.roles=controller`.
    Controller,
    /// `process.roles=broker,controller` (Kafka's combined mode).
    Combined,
}

impl ProcessRoles {
    /// Parses `broker`, `controller` or both, in either order.
    pub fn parse(value: &str) -> Result<Self, String> {
        let (mut broker, mut controller) = (false, false);
        for role in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let seen = match role {
                "broker" => std::mem::replace(&mut broker, true),
                "controller" => std::mem::replace(&mut controller, true),
                _ => return Err(format!("process.roles: unknown role {role:?} (broker or controller)")),
            };
            if seen {
                return Err(format!("process.roles: duplicate role {role:?}"));
            }
        }
        Ok(match (broker, controller) {
            (true, true) => ProcessRoles::Combined,
            (true, false) => ProcessRoles::Broker,
            (false, true) => ProcessRoles::Controller,
            (false, false) => ProcessRoles::Standalone,
        })
    }

    /// Does this node serve clients and host replicas?
    pub fn is_broker(self) -> bool {
        self != ProcessRoles::Controller
    }

    /// Does this node run a controller (in process, for a standalone node)?
    pub fn is_controller(self) -> bool {
        self != ProcessRoles::Broker
    }

    /// Is this node part of a KRaft cluster (`process.roles` set)?
    pub fn is_kraft(self) -> bool {
        self != ProcessRoles::Standalone
    }
}

/// As `process.roles` spells it (empty for a standalone node), for DescribeConfigs.
impl fmt::Display for ProcessRoles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProcessRoles::Standalone => "",
            ProcessRoles::Broker => "broker",
            ProcessRoles::Controller => "controller",
            ProcessRoles::Combined => "broker,controller",
        })
    }
}

/// The quorum's timers and retries, with Kafka's defaults (`QuorumConfig`),
/// and spool's pre-vote switch. Controllers run their Raft elections and
/// fetches by them; a broker's
/// [`ControllerLink`](crate::broker::controller_link::ControllerLink) uses the
/// retry backoff and the request timeout to find the active controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumConfig {
    /// `controller.quorum.election.timeout.ms`: a voter that hears no leader
    /// for this long (plus a random part) stands for election.
    pub election_timeout_ms: u64,
    /// `controller.quorum.fetch.timeout.ms`: a follower that has not fetched
    /// from its leader for this long stands for election.
    pub fetch_timeout_ms: u64,
    /// `controller.quorum.election.backoff.max.ms`: the most a candidate
    /// whose election failed waits before the next one.
    pub election_backoff_ms_max: u64,
    /// `controller.quorum.retry.backoff.ms`: the pause before a failed request
    /// to a voter is tried again (elsewhere, if that voter does not lead).
    pub retry_backoff_ms: u64,
    /// `controller.quorum.request.timeout.ms`: how long a request to the
    /// quorum may take, retries included, before it fails.
    pub request_timeout_ms: u64,
    /// `spool.quorum.pre.vote` (spool's own; Kafka has no switch): a voter
    /// that times out asks the others whether they would vote for it
    /// (KIP-996's pre-vote, always on since Kafka 4.0) before it bumps the
    /// epoch; `false` stands for election at once, as Kafka did before, so
    /// that `benches/kraft.rs` can measure what pre-vote costs a failover.
    pub pre_vote: bool,
    /// `metadata.log.max.record.bytes.between.snapshots` (Kafka's default
    /// 20 MiB): a controller snapshots its committed image once this many
    /// bytes of metadata records were committed since its last snapshot,
    /// and deletes the log below it.
    pub snapshot_record_bytes_max: u64,
    /// `metadata.log.max.snapshot.interval.ms` (Kafka's default: one hour):
    /// a controller that applied any record since its last snapshot takes
    /// one after this long, however few bytes it applied.
    pub snapshot_interval_ms: u64,
    /// `spool.quorum.trace.dir` (spool's own): when set, a controller
    /// writes every input of its Raft core, the outputs and the state after
    /// it to `node-<id>.jsonl` there, for `spool-models check-trace`
    /// (`crate::raft::trace`). Off by default.
    pub trace_dir: Option<std::path::PathBuf>,
}

/// Kafka's `metadata.log.max.record.bytes.between.snapshots` default.
pub const SNAPSHOT_RECORD_BYTES_MAX_DEFAULT: u64 = 20 * 1024 * 1024;
/// Kafka's `metadata.log.max.snapshot.interval.ms` default (one hour).
pub const SNAPSHOT_INTERVAL_MS_DEFAULT: u64 = 60 * 60 * 1000;

impl Default for QuorumConfig {
    fn default() -> Self {
        QuorumConfig {
            election_timeout_ms: 1_000,
            fetch_timeout_ms: 2_000,
            election_backoff_ms_max: 1_000,
            retry_backoff_ms: 20,
            request_timeout_ms: 2_000,
            pre_vote: true,
            snapshot_record_bytes_max: SNAPSHOT_RECORD_BYTES_MAX_DEFAULT,
            snapshot_interval_ms: SNAPSHOT_INTERVAL_MS_DEFAULT,
            trace_dir: None,
        }
    }
}

impl QuorumConfig {
    /// Applies one setting; `Ok(false)` for a key that is not a quorum setting.
    pub(super) fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        if key == "spool.quorum.pre.vote" {
            self.pre_vote = super::flag(key, value)?;
            return Ok(true);
        }
        if key == "metadata.log.max.record.bytes.between.snapshots" {
            self.snapshot_record_bytes_max = super::num(key, value)?;
            return Ok(true);
        }
        if key == "spool.quorum.trace.dir" {
            self.trace_dir = Some(value.into());
            return Ok(true);
        }
        if key == "metadata.log.max.snapshot.interval.ms" {
            self.snapshot_interval_ms = super::num(key, value)?;
            return Ok(true);
        }
        let field = match key {
            "controller.quorum.election.timeout.ms" => &mut self.election_timeout_ms,
            "controller.quorum.fetch.timeout.ms" => &mut self.fetch_timeout_ms,
            "controller.quorum.election.backoff.max.ms" => &mut self.election_backoff_ms_max,
            "controller.quorum.retry.backoff.ms" => &mut self.retry_backoff_ms,
            "controller.quorum.request.timeout.ms" => &mut self.request_timeout_ms,
            _ => return Ok(false),
        };
        *field = super::num(key, value)?;
        Ok(true)
    }

    /// Each key with its value, for DescribeConfigs: the timers, then the
    /// pre-vote switch and the snapshot interval.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let timers = self.timers().into_iter().map(|(key, ms)| (key, ms.to_string()));
        timers
            .chain([
                ("spool.quorum.pre.vote", self.pre_vote.to_string()),
                (
                    "metadata.log.max.record.bytes.between.snapshots",
                    self.snapshot_record_bytes_max.to_string(),
                ),
                ("metadata.log.max.snapshot.interval.ms", self.snapshot_interval_ms.to_string()),
            ])
            .collect()
    }

    /// Each timer's key with its value in milliseconds.
    pub fn timers(&self) -> [(&'static str, u64); 5] {
        [
            ("controller.quorum.election.timeout.ms", self.election_timeout_ms),
            ("controller.quorum.fetch.timeout.ms", self.fetch_timeout_ms),
            ("controller.quorum.election.backoff.max.ms", self.election_backoff_ms_max),
            ("controller.quorum.retry.backoff.ms", self.retry_backoff_ms),
            ("controller.quorum.request.timeout.ms", self.request_timeout_ms),
        ]
    }

    /// Kafka declares these keys without bounds; a zero timeout or election
    /// backoff is no timer at all (a voter that stands for election at once,
    /// forever; a request that fails before it is sent), so each must be at
    /// least 1 ms. A zero retry backoff is allowed: it only retries sooner.
    pub(super) fn validate(&self) -> Result<(), String> {
        for (key, ms) in self.timers() {
            if ms == 0 && key != "controller.quorum.retry.backoff.ms" {
                return Err(format!("{key} must be at least 1"));
            }
        }
        if self.snapshot_record_bytes_max == 0 {
            return Err("metadata.log.max.record.bytes.between.snapshots must be at least 1".into());
        }
        Ok(())
    }
}

/// A `host:port` to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    /// Parses `host:port` for `key`'s error text.
    pub fn parse(key: &str, value: &str) -> Result<Self, String> {
        let bad = || format!("{key}: {value:?} is not host:port");
        let (host, port) = value.trim().rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(HostPort { host: host.to_string(), port })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// One entry of `controller.quorum.voters`: `node_id@host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumVoter {
    pub node_id: i32,
    pub endpoint: HostPort,
}

/// Parses `controller.quorum.voters` (`1@127.0.0.1:9093,…`); ids must differ.
pub(super) fn parse_voters(value: &str) -> Result<Vec<QuorumVoter>, String> {
    const KEY: &str = "controller.quorum.voters";
    let mut voters: Vec<QuorumVoter> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = || format!("{KEY}: {entry:?} is not id@host:port");
        let (id, endpoint) = entry.split_once('@').ok_or_else(bad)?;
        let node_id: i32 = id.trim().parse().map_err(|_| bad())?;
        if node_id < 0 {
            return Err(bad());
        }
        if voters.iter().any(|v| v.node_id == node_id) {
            return Err(format!("{KEY}: voter {node_id} appears twice"));
        }
        voters.push(QuorumVoter { node_id, endpoint: HostPort::parse(KEY, endpoint)? });
    }
    Ok(voters)
}

/// Parses `controller.quorum.bootstrap.servers` (`host:port,…`).
pub(super) fn parse_bootstrap_servers(value: &str) -> Result<Vec<HostPort>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| HostPort::parse("controller.quorum.bootstrap.servers", e))
        .collect()
}

/// Kafka's KRaft rules over a parsed config (see the module's table).
pub(super) fn validate(config: &BrokerConfig) -> Result<(), String> {
    if config.node_id < 0 {
        return Err(format!("node.id must be at least 0, not {}", config.node_id));
    }
    let roles = config.process_roles;
    let quorum_set =
        !config.controller_quorum_voters.is_empty() || !config.controller_quorum_bootstrap_servers.is_empty();
    if !roles.is_kraft() {
        if quorum_set {
            return Err("controller.quorum.voters / controller.quorum.bootstrap.servers are set but \
                        process.roles is not: set process.roles to broker, controller or broker,controller"
                .into());
        }
        return Ok(());
    }
    if !quorum_set {
        return Err("process.roles is set, so controller.quorum.voters (id@host:port,…) or \
                    controller.quorum.bootstrap.servers (host:port,…) must name the controllers"
            .into());
    }
    let node = config.node_id;
    let voters: Vec<i32> = config.controller_quorum_voters.iter().map(|v| v.node_id).collect();
    let is_controller_listener = |l: &&Listener| config.controller_listener_names.contains(&l.name);
    let controller_listeners = config.listeners.iter().filter(is_controller_listener).count();
    if roles.is_controller() {
        if !voters.is_empty() && !voters.contains(&node) {
            return Err(format!(
                "process.roles includes controller, so node.id {node} must be one of \
                 controller.quorum.voters {voters:?}"
            ));
        }
        if controller_listeners == 0 {
            return Err("controller.listener.names must name at least one listener in listeners \
                        when process.roles includes controller"
                .into());
        }
        if let Some(missing) =
            config.controller_listener_names.iter().find(|n| !config.listeners.iter().any(|l| &l.name == *n))
        {
            return Err(format!(
                "controller.listener.names: {missing} is not in listeners; a controller must listen \
                 on every controller listener name"
            ));
        }
    }
    match roles {
        ProcessRoles::Broker => {
            if voters.contains(&node) {
                return Err(format!(
                    "process.roles=broker, so node.id {node} must not be one of controller.quorum.voters {voters:?}"
                ));
            }
            if config.controller_listener_names.is_empty() {
                return Err("controller.listener.names must be set when process.roles=broker: \
                            it names the listener the broker dials the controller on"
                    .into());
            }
            if let Some(l) = config.listeners.iter().find(is_controller_listener) {
                return Err(format!(
                    "listeners: {l} is a controller listener (controller.listener.names), which a \
                     node with process.roles=broker must not listen on"
                ));
            }
        }
        ProcessRoles::Controller => {
            if let Some(l) = config.listeners.iter().find(|l| !is_controller_listener(l)) {
                return Err(format!(
                    "listeners: {l} is not named in controller.listener.names; with \
                     process.roles=controller every listener is a controller listener"
                ));
            }
        }
        ProcessRoles::Combined | ProcessRoles::Standalone => {}
    }
    if roles.is_broker() {
        validate_broker_listeners(config)?;
    }
    Ok(())
}

/// A KRaft broker advertises at least one broker listener, and followers can
/// reach it on `inter.broker.listener.name`.
fn validate_broker_listeners(config: &BrokerConfig) -> Result<(), String> {
    let advertised: Vec<&str> = config
        .advertised_listeners
        .iter()
        .filter(|l| !config.controller_listener_names.contains(&l.name))
        .map(|l| l.name.as_str())
        .collect();
    if advertised.is_empty() {
        return Err("there must be at least one broker listener in advertised.listeners \
                    (perhaps every listener is in controller.listener.names?)"
            .into());
    }
    if !advertised.contains(&config.inter_broker_listener_name.as_str()) {
        return Err(format!(
            "inter.broker.listener.name {} must be an advertised broker listener; the options are {}",
            config.inter_broker_listener_name,
            advertised.join(",")
        ));
    }
    Ok(())
}
