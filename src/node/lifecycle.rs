//! A broker in a cluster: how it joins, stays alive and learns the metadata
//! — Kafka's `BrokerLifecycleManager` and the broker's metadata loader.
//!
//! ```text
//!  start ──▶ BrokerRegistration ──▶ broker epoch (fenced)
//!            │
//!            ├─ heartbeat task: BrokerHeartbeat every broker.heartbeat.interval.ms
//!            │    (metadata offset, want_fence until caught up, want_shut_down at the end)
//!            │    STALE_BROKER_EPOCH / not registered ──▶ register again
//!            │
//!            ├─ metadata task: Fetch __cluster_metadata from the quorum's leader (an
//!            │    observer; a voter that does not lead names the one that does)
//!            │    ──▶ append to this broker's copy ──▶ publish the image
//!            │    (below the leader's log start: FetchSnapshot, install, go on from its end)
//!            │    ──▶ replica manager (roles) ──▶ follower fetchers
//!            │
//!            └─ AlterPartition task: ISR changes this broker's leaders asked for
//!  stop  ──▶ want_shut_down until the controller has moved every leadership away
//!            (controlled.shutdown.enable), then shut down
//! ```
//!
//! Every request to the controller goes through the broker's
//! [`ControllerLink`], which finds the active controller among the voters;
//! the metadata fetch, on its own connection, follows the same target.
//!
//! A broker that stops heartbeating (killed, paused, cut off) is fenced by
//! the controller after `broker.session.timeout.ms`; its partitions get new
//! leaders. When it comes back it registers again with a new epoch, starts
//! fenced, catches up on the metadata, and is unfenced.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::broker_registration_request::{Feature, Listener};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_snapshot_request::{self, PartitionSnapshot, TopicSnapshot};
use kafka_protocol::messages::{
    BrokerHeartbeatRequest, BrokerId, BrokerRegistrationRequest, FetchRequest, FetchSnapshotRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use crate::broker::controller_link::ControllerLink;
use crate::broker::Broker;
use crate::client::{ClientError, Connection};
use crate::metadata::{SnapshotId, METADATA_TOPIC};

/// What the broker last heard from the controller about itself.
#[derive(Debug, Clone, Copy, Default)]
struct Standing {
    fenced: bool,
    should_shut_down: bool,
}

// ANCHOR: register
/// Registers with the controller until it accepts, and returns the broker
/// epoch. A refused registration (a live session of an earlier
/// incarnation, or the controller not up yet) is retried after a pause; one
/// from another cluster is fatal.
pub async fn register(broker: &Broker, link: &ControllerLink, incarnation_id: Uuid) -> anyhow::Result<i64> {
    let advertised = &broker.config.advertised_listeners;
    let listeners = (advertised.iter())
        .map(|l| {
            Listener::default()
                .with_name(StrBytes::from_string(l.name.clone()))
                .with_host(StrBytes::from_string(l.host.clone()))
                .with_port(l.port)
                .with_security_protocol(0)
        })
        .collect();
    let request = BrokerRegistrationRequest::default()
        .with_broker_id(BrokerId(broker.config.node_id))
        .with_cluster_id(StrBytes::from_string(broker.cluster_id.clone()))
        .with_incarnation_id(incarnation_id)
        .with_listeners(listeners)
        .with_features(vec![Feature::default()
            .with_name(StrBytes::from_static_str("metadata.version"))
            .with_min_supported_version(1)
            .with_max_supported_version(21)])
        .with_previous_broker_epoch(-1);
    let backoff = Duration::from_millis(broker.config.replication.broker_heartbeat_interval_ms.min(1_000));
    loop {
        match link.send(&request).await {
            Ok(r) if r.error_code == 0 => {
                tracing::info!(broker_epoch = r.broker_epoch, "registered with the controller");
                return Ok(r.broker_epoch);
            }
            Ok(r) if r.error_code == ResponseError::InconsistentClusterId.code() => {
                anyhow::bail!(
                    "the controller at {} belongs to another cluster than this log directory ({}); \
                     format both with the same cluster id",
                    link.target().addr,
                    broker.cluster_id
                );
            }
            Ok(r) => tracing::info!(code = r.error_code, "registration refused; retrying"),
            Err(e) => {
                tracing::info!(error = %e, controller = %link.target().addr, "controller unreachable; retrying")
            }
        }
        tokio::time::sleep(backoff).await;
    }
}
// ANCHOR_END: register

// ANCHOR: heartbeat
/// Heartbeats every `broker.heartbeat.interval.ms` until the broker has
/// been told it may shut down. Registers again when the controller no
/// longer knows this epoch (it was fenced and replaced, or the controller's
/// log was lost).
pub async fn heartbeat_loop(broker: Arc<Broker>, link: Arc<ControllerLink>, incarnation_id: Uuid) {
    let interval = Duration::from_millis(broker.config.replication.broker_heartbeat_interval_ms);
    let mut standing = Standing { fenced: true, should_shut_down: false };
    loop {
        let request = BrokerHeartbeatRequest::default()
            .with_broker_id(BrokerId(broker.config.node_id))
            .with_broker_epoch(broker.broker_epoch())
            .with_current_metadata_offset(broker.metadata_end_offset() - 1)
            .with_want_fence(!broker.metadata_caught_up())
            .with_want_shut_down(broker.wants_shut_down());
        match link.send(&request).await {
            Ok(r) if r.error_code == 0 => {
                if r.is_fenced != standing.fenced {
                    tracing::info!(fenced = r.is_fenced, "the controller changed this broker's standing");
                }
                standing = Standing { fenced: r.is_fenced, should_shut_down: r.should_shut_down };
                broker.set_may_shut_down(standing.should_shut_down);
            }
            Ok(r)
                if r.error_code == ResponseError::StaleBrokerEpoch.code()
                    || r.error_code == ResponseError::BrokerIdNotRegistered.code() =>
            {
                tracing::warn!(
                    code = r.error_code,
                    "the controller no longer knows this broker; registering again"
                );
                match register(&broker, &link, incarnation_id).await {
                    Ok(epoch) => broker.set_broker_epoch(epoch),
                    Err(e) => tracing::error!(error = %e, "cannot register again"),
                }
                continue;
            }
            Ok(r) => tracing::debug!(code = r.error_code, "heartbeat refused"),
            Err(e) => tracing::debug!(error = %e, "heartbeat failed"),
        }
        tokio::time::sleep(interval).await;
    }
}
// ANCHOR_END: heartbeat

// ANCHOR: metadata_loop
/// Fetches `__cluster_metadata` from the quorum's leader as an observer,
/// appends what comes to this broker's copy, and applies each new image: the
/// replica manager gives partitions their roles and the fetchers start.
///
/// The fetch goes to the controller link's target. A voter that does not
/// lead refuses it naming the leader it knows (`current_leader`): the link
/// moves there ([`ControllerLink::set_leader_hint`]), or, with no leader
/// named or after a failure, to the next voter. With one voter that is the
/// same one, retried.
pub async fn metadata_loop(broker: Arc<Broker>, link: Arc<ControllerLink>) {
    // `controller.quorum.request.timeout.ms`, as a Kafka broker's fetch from
    // the quorum: a leader that went silent (paused, cut off) costs one
    // timeout, not `replica.socket.timeout.ms`, before the next voter is
    // asked — and names the new leader — well within the broker's session.
    let timeout = link.request_timeout();
    let backoff = Duration::from_millis(500);
    let mut connection: Option<Connection> = None;
    let mut refusals: u32 = 0;
    while !broker.is_shutting_down() {
        let index = link.target_index();
        let addr = &link.candidates()[index].addr;
        if connection.as_ref().is_none_or(|c| c.is_broken() || c.addr() != addr) {
            connection = None;
            match Connection::connect_with(addr, timeout, link.security()).await {
                Ok(c) => connection = Some(c),
                Err(e) => {
                    tracing::debug!(error = %e, controller = %addr, "metadata fetch cannot connect");
                    link.move_on_from(index);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
        }
        let c = connection.as_mut().expect("connected above");
        match fetch_metadata(&broker, c, timeout).await {
            Ok(Fetched::Records) => refusals = 0,
            Ok(Fetched::NotLeader { leader_id }) => {
                tracing::debug!(controller = %addr, leader_id, "metadata fetch refused: not the leader");
                if leader_id < 0 || !link.set_leader_hint(leader_id) {
                    link.move_on_from(index);
                }
                refusals += 1;
                tokio::time::sleep(Duration::from_millis(link.backoff_ms(refusals))).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, controller = %addr, "metadata fetch failed");
                connection = None;
                link.move_on_from(index);
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

/// The replica id a broker's metadata Fetch carries: its node id, so the
/// leader lists it among the observers (DescribeQuorum). Not in combined
/// mode: there the id is also a voter's, and the leader takes a Fetch
/// carrying it for that voter's own — stepped through the quorum's core at
/// the broker's offset without the quorum's epoch, noted as the voter's
/// log end — so the broker never caught up and stayed fenced (found by
/// `tests/it/kraft_combined.rs`). Kafka's combined node has no such Fetch: its
/// broker reads the log its controller's Raft client replicates. This one
/// fetches anonymously (-1), as a plain observer.
fn observer_id(config: &crate::config::BrokerConfig) -> i32 {
    match config.process_roles {
        crate::config::ProcessRoles::Combined => -1,
        _ => config.node_id,
    }
}

/// What one metadata Fetch came back with.
enum Fetched {
    /// Records (or none, having waited): applied.
    Records,
    /// The voter does not lead; `leader_id` does (-1: it knows no leader).
    NotLeader { leader_id: i32 },
}

/// One Fetch of the metadata log from this broker's end, and what it brings.
async fn fetch_metadata(
    broker: &Arc<Broker>,
    connection: &mut Connection,
    timeout: Duration,
) -> Result<Fetched, ClientError> {
    let offset = broker.metadata_end_offset();
    let max_wait_ms = 500;
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(observer_id(&broker.config)))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(8 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                // A broker is an observer: it does not track the quorum's
                // epoch, so it asks the leader not to check one.
                .with_current_leader_epoch(-1)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(8 << 20)])]);
    let response =
        connection.send_within(&request, timeout + Duration::from_millis(max_wait_ms as u64)).await?;
    let data = (response.responses.first())
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| ClientError::Protocol("metadata fetch: no partition in the answer".into()))?;
    let not_leader = [
        ResponseError::NotLeaderOrFollower,
        ResponseError::FencedLeaderEpoch,
        ResponseError::UnknownLeaderEpoch,
    ];
    if not_leader.iter().any(|e| e.code() == data.error_code) {
        return Ok(Fetched::NotLeader { leader_id: data.current_leader.leader_id.0 });
    }
    ClientError::check(data.error_code, None, || "metadata fetch".into())?;
    if data.snapshot_id.end_offset >= 0 && data.snapshot_id.epoch >= 0 {
        // Below the leader's log start (KIP-630): load its snapshot instead.
        let id = SnapshotId { end_offset: data.snapshot_id.end_offset, epoch: data.snapshot_id.epoch };
        let leader_epoch = data.current_leader.leader_epoch;
        let bytes = fetch_snapshot(broker, connection, (id, leader_epoch), timeout).await?;
        let installed = tokio::task::block_in_place(|| broker.install_metadata_snapshot(id, &bytes));
        if let Err(e) = installed {
            tracing::error!(error = %e, snapshot = %id, "cannot install the fetched metadata snapshot");
            return Err(ClientError::Protocol(e.to_string()));
        }
        tracing::info!(snapshot = %id, "installed the quorum leader's metadata snapshot");
        return Ok(Fetched::Records);
    }
    let records = data.records.clone().unwrap_or_default();
    if !records.is_empty() {
        let applied =
            tokio::task::block_in_place(|| broker.apply_fetched_metadata(BytesMut::from(&records[..])));
        if let Err(e) = applied {
            // A copy that cannot take the controller's log is not a broker
            // that can serve: fail loudly, and retry after the pause.
            tracing::error!(error = %e, "cannot apply the fetched metadata");
            return Err(ClientError::Protocol(e.to_string()));
        }
    }
    if broker.metadata_end_offset() >= data.high_watermark {
        broker.set_metadata_caught_up();
    }
    Ok(Fetched::Records)
}
// ANCHOR_END: metadata_loop

// ANCHOR: broker_fetch_snapshot
/// Pulls snapshot `id` from the quorum's leader of `leader_epoch` (the
/// Fetch answer named both) with FetchSnapshot (v1),
/// chunk after chunk from position 0, until it has the whole file. A
/// refusal (SNAPSHOT_NOT_FOUND: the leader took a newer one; not the
/// leader any more) is an error: the metadata loop fetches again, and the
/// answer names the leader's newest snapshot.
async fn fetch_snapshot(
    broker: &Broker,
    connection: &mut Connection,
    (id, leader_epoch): (SnapshotId, i32),
    timeout: Duration,
) -> Result<Vec<u8>, ClientError> {
    let mut bytes = Vec::new();
    loop {
        let partition = PartitionSnapshot::default()
            .with_partition(0)
            .with_current_leader_epoch(leader_epoch)
            .with_snapshot_id(
                fetch_snapshot_request::SnapshotId::default()
                    .with_end_offset(id.end_offset)
                    .with_epoch(id.epoch),
            )
            .with_position(bytes.len() as i64);
        let request = FetchSnapshotRequest::default()
            .with_replica_id(BrokerId(broker.config.node_id))
            .with_max_bytes(8 << 20)
            .with_topics(vec![TopicSnapshot::default()
                .with_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
                .with_partitions(vec![partition])]);
        let response = connection.send_at(&request, 1, timeout).await?;
        ClientError::check(response.error_code, None, || "fetch snapshot".into())?;
        let p = (response.topics.first())
            .and_then(|t| t.partitions.first())
            .ok_or_else(|| ClientError::Protocol("fetch snapshot: no partition in the answer".into()))?;
        ClientError::check(p.error_code, None, || format!("fetch snapshot {id}"))?;
        let in_order = p.position == bytes.len() as i64 && !p.unaligned_records.is_empty();
        if !in_order || p.size <= 0 {
            return Err(ClientError::Protocol(format!("fetch snapshot {id}: a chunk out of order")));
        }
        bytes.extend_from_slice(&p.unaligned_records);
        if bytes.len() as i64 >= p.size {
            return Ok(bytes);
        }
    }
}
// ANCHOR_END: broker_fetch_snapshot

// ANCHOR: alter_partition_loop
/// Sends the ISR changes this broker's leaders asked for to the controller;
/// a refused one is forgotten by its partition, and the next image (or the
/// next proposal) brings the truth.
pub async fn alter_partition_loop(broker: Arc<Broker>, link: Arc<ControllerLink>) {
    loop {
        broker.alter_partitions_pending().await;
        let Some((request, asked)) = broker.alter_partition_request() else { continue };
        match link.send(&request).await {
            Ok(response) => broker.on_alter_partition_response(&asked, &response),
            Err(e) => {
                tracing::debug!(error = %e, "AlterPartition failed");
                broker.on_alter_partition_failed(&asked);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
// ANCHOR_END: alter_partition_loop
