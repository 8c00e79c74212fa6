//! Chapter 5 — spool's group consumer: `subscribe` instead of `assign`.
//!
//! A consumer in a group does not choose its partitions; the group does. This
//! consumer runs Kafka's client side of the classic group protocol around the
//! `assign`/`seek`/`poll` [`Consumer`] of chapter 4:
//!
//! ```text
//!  subscribe([orders])
//!  poll ─▶ FindCoordinator(group) ─▶ coordinator C
//!       ─▶ JoinGroup(C, member "", protocols [range: subscription, …])
//!            ◀─ MEMBER_ID_REQUIRED, member id m1      (KIP-394: join again with it)
//!       ─▶ JoinGroup(C, m1) ◀─ generation 3, leader m1, every member's subscription
//!            leader only: Metadata, run the assignor
//!       ─▶ SyncGroup(C, gen 3, the assignment) ◀─ my partitions
//!       ─▶ OffsetFetch(my partitions) ◀─ committed offsets (none: auto.offset.reset)
//!       ─▶ Fetch …                          heartbeat task: Heartbeat(gen 3) every
//!                                           heartbeat.interval.ms on its own connection
//!  poll ─▶ (auto commit every auto.commit.interval.ms) OffsetCommit(gen 3, positions)
//!  heartbeat ◀─ REBALANCE_IN_PROGRESS ─▶ next poll rejoins
//!  close ─▶ OffsetCommit, LeaveGroup
//! ```
//!
//! **Rebalances.** A heartbeat answered REBALANCE_IN_PROGRESS means another
//! member joined or left: the next `poll` rejoins. With an *eager* assignor
//! (`range`, `roundrobin`) the member first commits and gives up every
//! partition; with `cooperative-sticky` it keeps them, reports them as owned in
//! its subscription, and after SyncGroup gives up only those the new
//! assignment leaves out — committing them, then rejoining at once so the next
//! generation can hand them to their new owner (KIP-429). A consumer uses the
//! cooperative protocol only when every assignor it lists is cooperative, as
//! Kafka's does. ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID mean the group moved
//! on without this member: its partitions are *lost* (dropped without a
//! commit, which would be refused anyway) and it joins again.
//!
//! **Liveness.** Two timeouts, two mechanisms (KIP-62): the heartbeat task
//! proves the process is alive within `session.timeout.ms`; `poll` proves the
//! application is making progress within `max.poll.interval.ms`, which is also
//! the rebalance timeout sent in JoinGroup. A heartbeat task that sees no
//! `poll` for that long sends LeaveGroup itself, as Kafka's heartbeat thread
//! does, so the partitions go to a member that is working.
//!
//! **Static membership.** With `group.instance.id` (KIP-345) the member keeps
//! its identity across restarts: it does not send LeaveGroup on close, so a
//! restart within `session.timeout.ms` gets its partitions back without a
//! rebalance. If a second process takes the same instance id, the first is
//! *fenced* (FENCED_INSTANCE_ID): fatal, every later `poll` fails, so the two
//! never take turns stealing the identity.
//!
//! Files: this one (joining, assigning as leader, taking up an assignment,
//! commits), `config.rs` (the settings), `heartbeat.rs` (the heartbeat task
//! and its `max.poll.interval.ms` watchdog).
//!
//! Simplifications: `poll` blocks through a rebalance (Kafka's returns at its
//! timeout and finishes the rebalance on a later call) — JoinGroup can take up
//! to the rebalance timeout. So a cooperative member keeps its partitions and
//! positions through a rebalance (nothing is revoked, committed or looked up
//! again) but does not fetch from them while its JoinGroup is parked, where
//! Kafka's keeps fetching; the leader does not watch metadata for new
//! partitions or topics (Kafka rebalances when a subscribed topic changes);
//! no pattern subscriptions; no rebalance listener callbacks (the commit on
//! revoke is built in); commits are synchronous (no `commitAsync`); JoinGroup
//! is capped at v8, below KIP-814's `skip_assignment`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{ApiKey, JoinGroupRequest, JoinGroupResponse, SyncGroupRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::watch;

mod config;
mod heartbeat;

pub use config::GroupConfig;
use heartbeat::{heartbeat_loop, leave_request, Heartbeat, HeartbeatStop, HeartbeatTarget};

use super::assignor::protocol::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription,
};
use super::assignor::{Assignment, Assignor, GroupMember, RebalanceProtocol, Subscription};
use super::group::{group_id, is_coordinator_error, GroupIdentity};
use super::{ClientError, Consumer, ConsumerConfig, ConsumerRecord};
use crate::TopicPartition;

/// The protocol type of consumer groups (Connect uses `connect`).
pub const PROTOCOL_TYPE: &str = "consumer";

/// Kafka's `JOIN_GROUP_TIMEOUT_LAPSE`: a JoinGroup may be held for the whole
/// rebalance timeout, so the client waits that long plus this.
const JOIN_GROUP_LAPSE: Duration = Duration::from_secs(5);

/// How long one fetch inside `poll` may wait, so that a heartbeat's news is
/// acted on promptly.
const POLL_STEP: Duration = Duration::from_millis(500);

/// A consumer that is a member of a consumer group.
#[derive(Debug)]
pub struct GroupConsumer {
    consumer: Consumer,
    group_id: String,
    config: GroupConfig,
    protocol: RebalanceProtocol,
    topics: Vec<String>,
    /// The coordinator's `host:port`, once found.
    coordinator: Option<String>,
    /// "" until the coordinator gives one.
    member_id: String,
    /// -1 outside a generation.
    generation_id: i32,
    /// Why the next `poll` must (re)join; `None` while a member in good standing.
    rejoin: Option<&'static str>,
    /// Another process took this `group.instance.id` over: fatal, as in Kafka.
    fenced: bool,
    heartbeat: Option<Heartbeat>,
    /// When `poll` was last called, for the heartbeat task's `max.poll.interval.ms` check.
    last_poll: Arc<Mutex<Instant>>,
    next_auto_commit: Instant,
}

impl GroupConsumer {
    /// Connects to `bootstrap`; `config.group` must name a `group.id`.
    pub async fn connect(bootstrap: &str, config: ConsumerConfig) -> Result<Self, ClientError> {
        Self::connect_with(bootstrap, config, crate::client::Security::default()).await
    }

    /// [`GroupConsumer::connect`], every connection secured as `security`
    /// says (`security.protocol`; the coordinator's and the heartbeat's too).
    pub async fn connect_with(
        bootstrap: &str,
        config: ConsumerConfig,
        security: impl Into<crate::client::Security>,
    ) -> Result<Self, ClientError> {
        let group = config.group.clone();
        let group_id = group.validate()?.to_string();
        let consumer = Consumer::connect_with(bootstrap, config, security).await?;
        Ok(GroupConsumer {
            consumer,
            group_id,
            protocol: group.rebalance_protocol(),
            config: group,
            topics: Vec::new(),
            coordinator: None,
            member_id: String::new(),
            generation_id: -1,
            rejoin: None,
            fenced: false,
            heartbeat: None,
            last_poll: Arc::new(Mutex::new(Instant::now())),
            next_auto_commit: Instant::now(),
        })
    }

    /// Subscribes to `topics`; the next `poll` joins (or rejoins) the group.
    pub fn subscribe(&mut self, topics: impl IntoIterator<Item = impl Into<String>>) {
        let mut topics: Vec<String> = topics.into_iter().map(Into::into).collect();
        topics.sort();
        topics.dedup();
        self.topics = topics;
        self.rejoin = Some("the subscription changed");
    }

    /// The partitions this member reads now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer.assignment().cloned().collect()
    }

    /// This member's id ("" before it first joins).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The generation this member is in (-1 outside one).
    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    /// The rebalance protocol this member follows.
    pub fn rebalance_protocol(&self) -> RebalanceProtocol {
        self.protocol
    }

    /// The next offset `poll` hands out from a partition, once known.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.consumer.position(topic, partition)
    }

    // ANCHOR: poll
    /// Joins the group if needed, then returns records from the assigned
    /// partitions as soon as some arrive, or none once `timeout` has passed
    /// (a rebalance may hold it longer: see the module's simplifications).
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>, ClientError> {
        if self.topics.is_empty() {
            return Err(ClientError::InvalidArgument("subscribe to a topic before poll".into()));
        }
        let deadline = Instant::now() + timeout;
        loop {
            if self.fenced {
                return Err(self.fenced_error());
            }
            *self.last_poll.lock().expect("never poisoned: no code panics holding it") = Instant::now();
            self.check_heartbeat()?;
            if let Some(reason) = self.rejoin {
                self.join_group(reason).await?;
            }
            self.maybe_auto_commit().await;
            let step = deadline.saturating_duration_since(Instant::now()).min(POLL_STEP);
            let records = if self.consumer.assignment().next().is_none() {
                self.wait_for_heartbeat(step).await;
                Vec::new()
            } else {
                self.consumer.poll(step).await?
            };
            if !records.is_empty() || Instant::now() >= deadline {
                return Ok(records);
            }
        }
    }
    // ANCHOR_END: poll

    /// Commits the position of every assigned partition (the offset after the
    /// last record `poll` returned): Kafka's `commitSync()`.
    pub async fn commit_sync(&mut self) -> Result<(), ClientError> {
        let offsets: BTreeMap<TopicPartition, i64> = self
            .consumer
            .assignment()
            .filter_map(|tp| self.consumer.position(&tp.topic, tp.partition).map(|o| (tp.clone(), o)))
            .collect();
        self.commit(&offsets).await
    }

    /// Commits `offsets` (the next offset to read in each partition) as a
    /// member of the current generation. A commit the group refuses because
    /// it moved on (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION,
    /// UNKNOWN_MEMBER_ID — Kafka's `CommitFailedException`) makes the next
    /// `poll` rejoin.
    pub async fn commit(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<(), ClientError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let coordinator = self.coordinator().await?;
        let identity = GroupIdentity {
            group_id: &self.group_id,
            generation_id: self.generation_id,
            member_id: &self.member_id,
            group_instance_id: self.config.group_instance_id.as_deref(),
        };
        let result = self.consumer.client().commit_offsets(&coordinator, &identity, offsets).await;
        if let Err(e) = &result {
            self.note_error(e);
        }
        result
    }

    /// The group's committed offsets for `partitions`.
    pub async fn committed(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>, ClientError> {
        let coordinator = self.coordinator().await?;
        let result =
            self.consumer.client().committed_offsets(&coordinator, &self.group_id, Some(partitions)).await;
        if let Err(e) = &result {
            self.note_error(e);
        }
        result
    }

    /// Commits (with `enable.auto.commit`) and leaves the group (unless a
    /// static member, which keeps its place for a restart).
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.heartbeat = None;
        let mut result = Ok(());
        if self.config.enable_auto_commit && self.generation_id >= 0 && self.rejoin.is_none() {
            result = self.commit_sync().await;
        }
        if self.config.group_instance_id.is_none() && !self.member_id.is_empty() {
            let left = self.leave("the consumer is being closed").await;
            result = result.and(left);
        }
        result
    }

    /// A group error seen on any request: decide what the member must do.
    fn note_error(&mut self, error: &ClientError) {
        match error.code() {
            Some(ResponseError::RebalanceInProgress) => self.rejoin = Some("the group is rebalancing"),
            Some(ResponseError::IllegalGeneration) => self.lose_partitions("this generation is over"),
            Some(ResponseError::UnknownMemberId) => {
                self.member_id.clear();
                self.lose_partitions("the group no longer knows this member");
            }
            Some(ResponseError::FencedInstanceId) => {
                self.lose_partitions("fenced");
                self.fenced = true;
            }
            _ if is_coordinator_error(error) => self.coordinator = None,
            _ => {}
        }
    }

    fn fenced_error(&self) -> ClientError {
        ClientError::kafka(
            ResponseError::FencedInstanceId.code(),
            None,
            format!("another consumer joined group {} with this group.instance.id", self.group_id),
        )
    }

    /// Drops every partition without committing: the group has given them
    /// to others already (Kafka's `onPartitionsLost`).
    fn lose_partitions(&mut self, reason: &'static str) {
        tracing::info!(group = %self.group_id, reason, "partitions lost");
        self.consumer.assign(Vec::new());
        self.generation_id = -1;
        self.heartbeat = None;
        self.rejoin = Some(reason);
    }

    /// What the heartbeat task reported, if it stopped.
    fn check_heartbeat(&mut self) -> Result<(), ClientError> {
        let Some(stop) = self.heartbeat.as_ref().and_then(|h| h.stopped.borrow().clone()) else {
            return Ok(());
        };
        self.heartbeat = None;
        match stop {
            HeartbeatStop::Error(ResponseError::FencedInstanceId) => {
                self.note_error(&self.fenced_error());
                Err(self.fenced_error())
            }
            HeartbeatStop::Error(code) => {
                self.note_error(&ClientError::kafka(code.code(), None, "heartbeat"));
                self.rejoin.get_or_insert("the heartbeat failed");
                Ok(())
            }
            HeartbeatStop::PollTimeout => {
                self.member_id.clear();
                self.lose_partitions("poll was not called within max.poll.interval.ms");
                Ok(())
            }
            HeartbeatStop::CoordinatorLost => {
                self.coordinator = None;
                self.rejoin = Some("the coordinator stopped answering");
                Ok(())
            }
        }
    }

    /// Sleeps `step`, or less if the heartbeat task reports.
    async fn wait_for_heartbeat(&mut self, step: Duration) {
        match self.heartbeat.as_mut() {
            Some(h) => {
                let _ = tokio::time::timeout(step, h.stopped.changed()).await;
            }
            None => tokio::time::sleep(step).await,
        }
    }

    async fn maybe_auto_commit(&mut self) {
        if !self.config.enable_auto_commit || self.generation_id < 0 || Instant::now() < self.next_auto_commit
        {
            return;
        }
        self.next_auto_commit = Instant::now() + self.config.auto_commit_interval;
        if let Err(e) = self.commit_sync().await {
            tracing::warn!(group = %self.group_id, error = %e, "auto commit failed");
        }
    }

    /// The coordinator's address, looked up if not known.
    async fn coordinator(&mut self) -> Result<String, ClientError> {
        if let Some(addr) = &self.coordinator {
            return Ok(addr.clone());
        }
        let addr = self.consumer.client().find_coordinator(&self.group_id).await?;
        self.coordinator = Some(addr.clone());
        Ok(addr)
    }

    // ANCHOR: join_group
    /// (Re)joins: revoke (eager), JoinGroup, assign (leader), SyncGroup,
    /// install the assignment, start heartbeats. Retries what Kafka retries
    /// for up to the rebalance timeout.
    async fn join_group(&mut self, reason: &'static str) -> Result<(), ClientError> {
        tracing::info!(group = %self.group_id, member = %self.member_id, reason, "joining");
        self.heartbeat = None;
        if self.protocol == RebalanceProtocol::Eager && self.consumer.assignment().next().is_some() {
            if self.config.enable_auto_commit && self.generation_id >= 0 {
                if let Err(e) = self.commit_sync().await {
                    tracing::warn!(group = %self.group_id, error = %e, "commit before revoking failed");
                }
            }
            self.consumer.assign(Vec::new()); // eager: give everything up first
        }
        self.rejoin = None;
        let deadline = Instant::now() + self.config.max_poll_interval + self.config.session_timeout;
        loop {
            let error = match self.join_and_sync().await {
                Ok(assignment) => match self.install(assignment).await {
                    Ok(()) => return Ok(()),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            self.note_error(&error);
            self.rejoin = None;
            // KIP-394: the first JoinGroup only fetches a member id; join
            // again with it at once.
            let member_id_required = error.code() == Some(ResponseError::MemberIdRequired);
            let retry = match error.code() {
                Some(ResponseError::MemberIdRequired) => true,
                Some(
                    ResponseError::RebalanceInProgress
                    | ResponseError::IllegalGeneration
                    | ResponseError::UnknownMemberId,
                ) => true,
                _ => is_coordinator_error(&error) || error.is_retriable(),
            };
            if !retry || Instant::now() >= deadline {
                self.rejoin = Some("the last join failed");
                return Err(error);
            }
            tracing::debug!(group = %self.group_id, error = %error, "join failed; retrying");
            if !member_id_required {
                tokio::time::sleep(self.config.retry_backoff).await;
            }
        }
    }
    // ANCHOR_END: join_group

    /// One JoinGroup and SyncGroup; the leader assigns in between.
    async fn join_and_sync(&mut self) -> Result<Assignment, ClientError> {
        let coordinator = self.coordinator().await?;
        let joined = self.join_once(&coordinator).await?;
        self.generation_id = joined.generation_id;
        self.member_id = joined.member_id.to_string();
        let protocol_name = joined.protocol_name.as_ref().map(|p| p.to_string()).unwrap_or_default();
        let Some(assignor) = Assignor::from_name(&protocol_name) else {
            return Err(ClientError::Protocol(format!(
                "the group chose assignor {protocol_name:?}, not one offered"
            )));
        };
        let assignments =
            if joined.leader == joined.member_id { self.lead(assignor, &joined).await? } else { Vec::new() };
        self.sync_once(&coordinator, &protocol_name, assignments).await
    }

    /// JoinGroup with a subscription per configured assignor.
    async fn join_once(&mut self, coordinator: &str) -> Result<JoinGroupResponse, ClientError> {
        let owned = self.assignment();
        let protocols = self
            .config
            .assignors
            .iter()
            .map(|assignor| {
                let subscription = Subscription {
                    topics: self.topics.clone(),
                    user_data: assignor.user_data(self.generation_id),
                    owned_partitions: owned.clone(),
                    generation_id: self.generation_id,
                    rack_id: None,
                };
                JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(assignor.name()))
                    .with_metadata(encode_subscription(&subscription))
            })
            .collect();
        let client = self.consumer.client();
        let version = client.connection_to(coordinator).await?.version_for(ApiKey::JoinGroup)?;
        let mut request = JoinGroupRequest::default()
            .with_group_id(group_id(&self.group_id))
            .with_session_timeout_ms(millis_i32(self.config.session_timeout))
            .with_rebalance_timeout_ms(millis_i32(self.config.max_poll_interval))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_group_instance_id(self.config.group_instance_id.clone().map(StrBytes::from_string))
            .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
            .with_protocols(protocols);
        if version >= 8 {
            request = request.with_reason(Some(StrBytes::from_static_str("spool consumer joining")));
        }
        let timeout = self.config.max_poll_interval.max(client.request_timeout()) + JOIN_GROUP_LAPSE;
        let response = client.send_to(coordinator, &request, timeout).await?;
        if response.error_code == ResponseError::MemberIdRequired.code() {
            self.member_id = response.member_id.to_string();
        }
        ClientError::check(response.error_code, None, || format!("join group {}", self.group_id))?;
        Ok(response)
    }

    // ANCHOR: lead
    /// The leader's work: decode every member's subscription, look up the
    /// partition counts of every subscribed topic, run the chosen assignor.
    async fn lead(
        &mut self,
        assignor: Assignor,
        joined: &JoinGroupResponse,
    ) -> Result<Vec<SyncGroupRequestAssignment>, ClientError> {
        let members: Vec<GroupMember> = joined
            .members
            .iter()
            .map(|m| GroupMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                // A subscription that does not decode subscribes to nothing:
                // that member gets nothing rather than the group no assignment.
                subscription: decode_subscription(m.metadata.clone()).unwrap_or_else(|e| {
                    tracing::warn!(member = %m.member_id, error = %e, "undecodable subscription");
                    Subscription::new(Vec::<String>::new())
                }),
            })
            .collect();
        let topics: BTreeSet<&str> =
            members.iter().flat_map(|m| m.subscription.topics.iter().map(String::as_str)).collect();
        let topics: Vec<&str> = topics.into_iter().collect();
        let metadata = self.consumer.client().metadata(Some(&topics), false).await?;
        let partitions_per_topic: BTreeMap<String, i32> = metadata
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .map(|t| (t.name.clone(), t.partitions.len() as i32))
            .collect();
        let assignment = assignor.assign(&partitions_per_topic, &members);
        tracing::info!(group = %self.group_id, generation = joined.generation_id, ?assignment, "assigned as leader");
        Ok(assignment
            .into_iter()
            .map(|(member_id, partitions)| {
                SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member_id))
                    .with_assignment(encode_assignment(&Assignment { partitions, user_data: None }))
            })
            .collect())
    }
    // ANCHOR_END: lead

    /// SyncGroup: the leader's assignment in, this member's part out.
    async fn sync_once(
        &mut self,
        coordinator: &str,
        protocol_name: &str,
        assignments: Vec<SyncGroupRequestAssignment>,
    ) -> Result<Assignment, ClientError> {
        let client = self.consumer.client();
        let version = client.connection_to(coordinator).await?.version_for(ApiKey::SyncGroup)?;
        let mut request = SyncGroupRequest::default()
            .with_group_id(group_id(&self.group_id))
            .with_generation_id(self.generation_id)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_group_instance_id(self.config.group_instance_id.clone().map(StrBytes::from_string))
            .with_assignments(assignments);
        if version >= 5 {
            request = request
                .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
                .with_protocol_name(Some(StrBytes::from_string(protocol_name.to_string())));
        }
        let timeout = self.config.max_poll_interval.max(client.request_timeout()) + JOIN_GROUP_LAPSE;
        let response = client.send_to(coordinator, &request, timeout).await?;
        ClientError::check(response.error_code, None, || format!("sync group {}", self.group_id))?;
        decode_assignment(response.assignment)
    }

    // ANCHOR: install
    /// Takes up a new assignment: give up what it leaves out (committing
    /// first), seek what it adds to the committed offsets, start heartbeats.
    /// Cooperative: having given something up, rejoin at once so the next
    /// generation can hand it on.
    async fn install(&mut self, assignment: Assignment) -> Result<(), ClientError> {
        let new: BTreeSet<TopicPartition> = assignment.partitions.into_iter().collect();
        let old: BTreeSet<TopicPartition> = self.consumer.assignment().cloned().collect();
        let revoked: Vec<TopicPartition> = old.difference(&new).cloned().collect();
        let added: Vec<TopicPartition> = new.difference(&old).cloned().collect();
        tracing::info!(group = %self.group_id, generation = self.generation_id, ?added, ?revoked, "assignment");
        if !revoked.is_empty() {
            if self.config.enable_auto_commit {
                let offsets: BTreeMap<TopicPartition, i64> = revoked
                    .iter()
                    .filter_map(|tp| self.consumer.position(&tp.topic, tp.partition).map(|o| (tp.clone(), o)))
                    .collect();
                if let Err(e) = self.commit(&offsets).await {
                    tracing::warn!(group = %self.group_id, error = %e, "commit of revoked partitions failed");
                }
            }
            self.rejoin = Some("partitions were revoked");
        }
        self.consumer.assign(new);
        if !added.is_empty() {
            let committed = match self.committed(&added).await {
                Ok(committed) => committed,
                Err(e) => {
                    // Without committed offsets the new partitions would start
                    // at auto.offset.reset: do not read them at all.
                    let kept: Vec<TopicPartition> =
                        self.assignment().into_iter().filter(|tp| !added.contains(tp)).collect();
                    self.consumer.assign(kept);
                    return Err(e);
                }
            };
            for (tp, offset) in committed {
                self.consumer.seek(&tp.topic, tp.partition, offset)?;
            }
        }
        self.next_auto_commit = Instant::now() + self.config.auto_commit_interval;
        self.start_heartbeat().await?;
        Ok(())
    }
    // ANCHOR_END: install

    async fn start_heartbeat(&mut self) -> Result<(), ClientError> {
        let target = HeartbeatTarget {
            coordinator: self.coordinator().await?,
            security: self.consumer.security().clone(),
            group_id: self.group_id.clone(),
            member_id: self.member_id.clone(),
            generation_id: self.generation_id,
            group_instance_id: self.config.group_instance_id.clone(),
            request_timeout: self.consumer.config().request_timeout,
            heartbeat_interval: self.config.heartbeat_interval,
            session_timeout: self.config.session_timeout,
            max_poll_interval: self.config.max_poll_interval,
        };
        let (tx, stopped) = watch::channel(None);
        let task = tokio::spawn(heartbeat_loop(target, self.last_poll.clone(), tx));
        self.heartbeat = Some(Heartbeat { task, stopped });
        Ok(())
    }

    /// LeaveGroup for this member.
    async fn leave(&mut self, reason: &'static str) -> Result<(), ClientError> {
        let coordinator = self.coordinator().await?;
        let client = self.consumer.client();
        let version = client.connection_to(&coordinator).await?.version_for(ApiKey::LeaveGroup)?;
        let request = leave_request(version, &self.group_id, &self.member_id, None, reason);
        let timeout = client.request_timeout();
        let response = client.send_to(&coordinator, &request, timeout).await?;
        self.member_id.clear();
        self.generation_id = -1;
        ClientError::check(response.error_code, None, || format!("leave group {}", self.group_id))?;
        for m in response.members {
            ClientError::check(m.error_code, None, || format!("leave group {}", self.group_id))?;
        }
        Ok(())
    }
}

fn millis_i32(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}
