//! A broker's channel to the active controller (Kafka's
//! `NodeToControllerChannelManager`): the requests only the controller can
//! answer — BrokerRegistration and BrokerHeartbeat, AlterPartition from
//! leaders, CreateTopics, DeleteTopics and ElectLeaders forwarded from
//! clients (KIP-590), AllocateProducerIds — go over it, one at a time, on
//! one connection.
//!
//! A quorum has several controllers and only one of them, the elected
//! leader, is *active*; the others answer every broker-facing request with
//! `NOT_CONTROLLER` (error 41). The broker does not know which one leads, so
//! the link keeps a *target* among the candidates (the voters of
//! `controller.quorum.voters`, or the `controller.quorum.bootstrap.servers`)
//! and moves it when the target refuses:
//!
//! ```text
//!            send(request) ──▶ target ─── accepted ──────────────▶ answer
//!                 ▲               │
//!                 │               ├── NOT_CONTROLLER (top level, or for a
//!                 │               │   topic / partition) ─┐
//!                 │               └── connection failed ──┤
//!                 │                                       ▼
//!                 └── wait retry.backoff.ms ◀── target := leader hint, else next
//!                     (doubling per round)     candidate; until the deadline
//! ```
//!
//! The deadline is the caller's, or `controller.quorum.request.timeout.ms`;
//! only when it passes does the caller see the last refusal (a response
//! saying `NOT_CONTROLLER`) or the last error. A leader hint comes from the
//! metadata fetch ([`crate::node::lifecycle`]), whose refusals name the
//! quorum's leader: [`ControllerLink::set_leader_hint`].
//!
//! Simplifications: Kafka's broker learns the leader from the metadata log
//! it replicates (KRaft's `LeaderChangeMessage`); spool's link learns it only
//! from the fetch's refusals and by trying. With one candidate (a quorum of
//! one voter) the link retries that one controller.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kafka_protocol::messages::{
    AllocateProducerIdsResponse, AlterPartitionResponse, BrokerHeartbeatResponse, BrokerRegistrationResponse,
    CreatePartitionsResponse, CreateTopicsResponse, DeleteTopicsResponse, ElectLeadersResponse,
};
use kafka_protocol::protocol::Request;
use kafka_protocol::ResponseError;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::client::{ClientError, Connection};
use crate::config::BrokerConfig;

/// The longest pause between two tries, however many rounds of refusals.
const RETRY_BACKOFF_MS_MAX: u64 = 1_000;

/// A controller the link may send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The voter's node id; `None` for a bootstrap server (its id is unknown).
    pub node_id: Option<i32>,
    /// `host:port` of its controller listener.
    pub addr: String,
}

/// A response a controller sends a broker: does it say "I am not the
/// active controller, ask another"?
pub trait ControllerResponse {
    fn not_controller(&self) -> bool;
}

fn is_not_controller(code: i16) -> bool {
    code == ResponseError::NotController.code()
}

impl ControllerResponse for BrokerRegistrationResponse {
    fn not_controller(&self) -> bool {
        is_not_controller(self.error_code)
    }
}

impl ControllerResponse for BrokerHeartbeatResponse {
    fn not_controller(&self) -> bool {
        is_not_controller(self.error_code)
    }
}

impl ControllerResponse for AllocateProducerIdsResponse {
    fn not_controller(&self) -> bool {
        is_not_controller(self.error_code)
    }
}

impl ControllerResponse for AlterPartitionResponse {
    fn not_controller(&self) -> bool {
        is_not_controller(self.error_code)
            || self.topics.iter().flat_map(|t| &t.partitions).any(|p| is_not_controller(p.error_code))
    }
}

/// Kafka answers CreateTopics, DeleteTopics and ElectLeaders per topic or
/// partition; a controller that is not active refuses every one of them.
impl ControllerResponse for CreateTopicsResponse {
    fn not_controller(&self) -> bool {
        self.topics.iter().any(|t| is_not_controller(t.error_code))
    }
}

impl ControllerResponse for CreatePartitionsResponse {
    fn not_controller(&self) -> bool {
        self.results.iter().any(|t| is_not_controller(t.error_code))
    }
}

impl ControllerResponse for DeleteTopicsResponse {
    fn not_controller(&self) -> bool {
        self.responses.iter().any(|t| is_not_controller(t.error_code))
    }
}

impl ControllerResponse for kafka_protocol::messages::IncrementalAlterConfigsResponse {
    fn not_controller(&self) -> bool {
        self.responses.iter().any(|r| is_not_controller(r.error_code))
    }
}

impl ControllerResponse for kafka_protocol::messages::AlterConfigsResponse {
    fn not_controller(&self) -> bool {
        self.responses.iter().any(|r| is_not_controller(r.error_code))
    }
}

impl ControllerResponse for kafka_protocol::messages::AlterClientQuotasResponse {
    fn not_controller(&self) -> bool {
        self.entries.iter().any(|e| is_not_controller(e.error_code))
    }
}

impl ControllerResponse for kafka_protocol::messages::AlterUserScramCredentialsResponse {
    fn not_controller(&self) -> bool {
        self.results.iter().any(|r| is_not_controller(r.error_code))
    }
}

impl ControllerResponse for ElectLeadersResponse {
    fn not_controller(&self) -> bool {
        is_not_controller(self.error_code)
            || (self.replica_election_results.iter())
                .flat_map(|t| &t.partition_result)
                .any(|p| is_not_controller(p.error_code))
    }
}

/// The link to the active controller: its candidates, the current target,
/// and one connection (to the target), made on first use.
#[derive(Debug)]
pub struct ControllerLink {
    candidates: Vec<Candidate>,
    /// Index into `candidates`. An atomic, not inside the connection's
    /// mutex, so the metadata fetch and a leader hint can read and move it
    /// while a request holds the connection.
    target: AtomicUsize,
    /// `controller.quorum.request.timeout.ms`: a request's deadline unless
    /// the caller gives one.
    request_timeout: Duration,
    /// `controller.quorum.retry.backoff.ms`: the first pause after a refusal.
    retry_backoff_ms: u64,
    /// How the link is secured: the controller listener's protocol
    /// (`BrokerConfig::controller_security`).
    security: crate::security::ClientSecurity,
    connection: Mutex<Option<Connection>>,
}

impl ControllerLink {
    /// A link over `candidates` (at least one), starting at the first.
    pub fn new(candidates: Vec<Candidate>, request_timeout: Duration, retry_backoff_ms: u64) -> Self {
        assert!(!candidates.is_empty(), "a controller link needs a controller to dial");
        ControllerLink {
            candidates,
            target: AtomicUsize::new(0),
            request_timeout,
            retry_backoff_ms,
            security: Default::default(),
            connection: Mutex::new(None),
        }
    }

    /// The link of a broker in a cluster: every voter, else every bootstrap
    /// server; `None` when the config names neither (its validation refuses that).
    pub fn from_config(config: &BrokerConfig) -> Option<Self> {
        let voters = (config.controller_quorum_voters.iter())
            .map(|v| Candidate { node_id: Some(v.node_id), addr: v.endpoint.to_string() });
        let bootstrap = (config.controller_quorum_bootstrap_servers.iter())
            .map(|s| Candidate { node_id: None, addr: s.to_string() });
        let candidates: Vec<Candidate> =
            if config.controller_quorum_voters.is_empty() { bootstrap.collect() } else { voters.collect() };
        let quorum = &config.quorum;
        (!candidates.is_empty()).then(|| ControllerLink {
            security: config.controller_security.clone(),
            ..Self::new(candidates, Duration::from_millis(quorum.request_timeout_ms), quorum.retry_backoff_ms)
        })
    }

    /// How every connection to a controller is secured (the metadata fetch's too).
    pub fn security(&self) -> &crate::security::ClientSecurity {
        &self.security
    }

    /// `controller.quorum.request.timeout.ms`, the deadline of [`Self::send`].
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The candidate requests go to now.
    pub fn target(&self) -> &Candidate {
        &self.candidates[self.target_index()]
    }

    /// The target's index in [`Self::candidates`], for [`Self::move_on_from`].
    pub fn target_index(&self) -> usize {
        self.target.load(Ordering::Acquire)
    }

    /// The quorum says `node_id` leads: send there from now on. `false` (and
    /// no move) if no candidate has that id, as with bootstrap servers.
    pub fn set_leader_hint(&self, node_id: i32) -> bool {
        match self.candidates.iter().position(|c| c.node_id == Some(node_id)) {
            Some(index) => {
                self.target.store(index, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Candidate `index` refused: the next one becomes the target, unless
    /// the target moved meanwhile (a leader hint is newer than this refusal).
    pub fn move_on_from(&self, index: usize) {
        let next = (index + 1) % self.candidates.len();
        let _ = self.target.compare_exchange(index, next, Ordering::AcqRel, Ordering::Acquire);
    }

    // ANCHOR: send
    /// Sends `request` to the active controller, trying the candidates in
    /// turn until one accepts or `controller.quorum.request.timeout.ms` passes.
    pub async fn send<R>(&self, request: &R) -> Result<R::Response, ClientError>
    where
        R: Request,
        R::Response: ControllerResponse,
    {
        self.send_within(request, self.request_timeout).await
    }

    /// As [`Self::send`], with the caller's deadline (`timeout` from now). A
    /// response that is not a refusal is returned at once, whatever its
    /// error; when the deadline passes, the last refusal or error is.
    pub async fn send_within<R>(&self, request: &R, timeout: Duration) -> Result<R::Response, ClientError>
    where
        R: Request,
        R::Response: ControllerResponse,
    {
        let deadline = Instant::now() + timeout;
        let mut refusals: u32 = 0;
        loop {
            let index = self.target.load(Ordering::Acquire);
            let outcome = self.attempt(index, request, deadline).await;
            match &outcome {
                Ok(response) if !response.not_controller() => return outcome,
                Ok(_) => {
                    tracing::debug!(controller = %self.candidates[index].addr, "not the active controller")
                }
                Err(e) => {
                    tracing::debug!(controller = %self.candidates[index].addr, error = %e, "controller unreachable")
                }
            }
            self.move_on_from(index);
            refusals += 1;
            let pause = Duration::from_millis(self.backoff_ms(refusals));
            if Instant::now() + pause >= deadline {
                return outcome;
            }
            tokio::time::sleep(pause).await;
        }
    }
    // ANCHOR_END: send

    /// The pause after the `refusals`-th refusal: `retry.backoff.ms`, doubled
    /// after each full round of the candidates, at most a second (and at
    /// least a millisecond, so a zero backoff does not spin).
    pub fn backoff_ms(&self, refusals: u32) -> u64 {
        let rounds = refusals.saturating_sub(1) / self.candidates.len() as u32;
        let ms = self.retry_backoff_ms.saturating_mul(1 << rounds.min(10));
        ms.clamp(1, RETRY_BACKOFF_MS_MAX)
    }

    /// One try at candidate `index`, on the link's connection (reopened if
    /// it is broken or goes elsewhere), for at most
    /// `controller.quorum.request.timeout.ms` even when the caller's deadline
    /// is later: a controller that went silent (paused, cut off) must cost
    /// one request timeout before the next candidate is tried, not the
    /// client's 30 s — the link's other users (heartbeats) wait behind it.
    /// A failed connection is dropped.
    async fn attempt<R: Request>(
        &self,
        index: usize,
        request: &R,
        deadline: Instant,
    ) -> Result<R::Response, ClientError> {
        let deadline = deadline.min(Instant::now() + self.request_timeout);
        let remaining = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let addr = &self.candidates[index].addr;
        let mut connection = self.connection.lock().await;
        if connection.as_ref().is_none_or(|c| c.is_broken() || c.addr() != addr) {
            *connection = None;
            *connection = Some(Connection::connect_with(addr, remaining(), &self.security).await?);
        }
        let result = connection.as_mut().expect("connected above").send_within(request, remaining()).await;
        if result.is_err() {
            *connection = None;
        }
        result
    }
}

impl ControllerResponse for kafka_protocol::messages::CreateAclsResponse {
    fn not_controller(&self) -> bool {
        self.results.iter().any(|r| is_not_controller(r.error_code))
    }
}

impl ControllerResponse for kafka_protocol::messages::DeleteAclsResponse {
    fn not_controller(&self) -> bool {
        self.filter_results.iter().any(|r| is_not_controller(r.error_code))
    }
}
