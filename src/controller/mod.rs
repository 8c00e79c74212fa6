//! Chapter 6 — the controller: who is in the cluster, and who leads each
//! partition.
//!
//! # The problem
//!
//! Replication (`crate::replication`) needs one authority that decides, for
//! every partition, which broker leads and which replicas are in sync — and
//! that notices when a broker dies, so its partitions get a new leader from
//! replicas that hold every committed record.
//!
//! # Kafka's solution (KRaft, KIP-500, KIP-631)
//!
//! The active controller owns the metadata log. Brokers **register**
//! (BrokerRegistration) and are given a **broker epoch** — the offset of
//! their RegisterBrokerRecord — that every later request carries, so a
//! zombie from an earlier incarnation is told STALE_BROKER_EPOCH. They
//! **heartbeat** (BrokerHeartbeat) every `broker.heartbeat.interval.ms`; a
//! registered broker starts **fenced** (it leads nothing, is in no ISR) and is
//! unfenced once it has replayed the metadata log up to its own registration.
//! A broker that stops heartbeating for `broker.session.timeout.ms` is fenced:
//! it leaves every ISR, and each partition it led elects the first replica in
//! replica order that is in the ISR and active. If none is, the partition has
//! no leader (-1) and its ISR keeps its last member, the one replica known to
//! hold every committed record — unless `unclean.leader.election.enable`
//! says availability beats durability. Leaders shrink and grow their ISR with
//! AlterPartition (KIP-497), a compare-and-set on the partition epoch.
//!
//! Every decision is a record (PartitionChangeRecord, BrokerRegistrationChangeRecord, …)
//! committed to the metadata log; brokers learn it by replaying the log.
//!
//! # This code
//!
//! A sans-IO core: each operation takes the committed [`MetadataImage`] and
//! the request (and `now_ms` where time matters), and returns the records to
//! commit and the answer. It never touches sockets, files or clocks. In a
//! cluster its driver is the active controller ([`crate::node::controller`]):
//! it appends the records to the KRaft quorum's log and sends the answer once
//! a majority of the voters hold them; anywhere else it answers
//! NOT_CONTROLLER. The single-node broker commits them through its
//! [`crate::metadata::MetadataPublisher`]. The only state the core keeps is
//! what Kafka keeps outside the log: the time of each broker's last
//! heartbeat, and when the next leader rebalance is due.
//!
//! ```text
//!   BrokerRegistration ─▶ register_broker ─┐
//!   BrokerHeartbeat ────▶ heartbeat ───────┤          ┌──────────────────┐
//!   timer ──────────────▶ tick(now_ms) ────┤ records  │  metadata log    │
//!         └─────────────▶ balance_leaders ─┤          │                  │
//!   CreateTopics ───────▶ create_topics ───┼─────────▶│ (driver appends) │──▶ MetadataImage
//!   AlterPartition ─────▶ alter_partition ─┤          └──────────────────┘       │
//!   ElectLeaders ───────▶ elect_leaders ───┤                                      │
//!   AllocateProducerIds ▶ allocate_producer_ids                                   │
//!                            ▲ &MetadataImage (committed) ◀────────────────────────┘
//! ```
//!
//! - [`brokers`]: registration, heartbeats, fencing and controlled shutdown
//!   (Kafka's `ClusterControlManager` and `BrokerHeartbeatManager`).
//! - [`partition_change`]: the one place that elects a leader and changes an
//!   ISR (Kafka's `PartitionChangeBuilder`).
//! - [`elections`]: ElectLeaders (preferred and unclean) and the automatic
//!   leader rebalance (`auto.leader.rebalance.enable`).
//! - [`alter_partition`], [`topics`] (names, configs and [`placement`]),
//!   [`partitions`] (CreatePartitions: more partitions for a topic),
//!   [`configs`] (IncrementalAlterConfigs and AlterConfigs),
//!   [`producer_ids`].
//!
//! The single-node broker runs the same topic checks and record building,
//! as a cluster of itself ([`topics::ClusterView::single`]).
//!
//! # Simplifications
//!
//! - The soft state (heartbeat times, the rebalance schedule) is not handed
//!   over: a new active controller starts a fresh core, and every broker's
//!   session starts again with its next heartbeat.
//! - No partition reassignment, no ELR (KIP-966), no racks (the placer is
//!   Kafka's striped placer with every broker in one rack), no feature
//!   negotiation (registrations' features are recorded, not checked), one log
//!   directory per broker (directory failures are not handled).
//! - A broker in controlled shutdown is told to shut down as soon as it leads
//!   nothing; Kafka also waits until every active broker has replayed the
//!   records that moved its leaderships.
//! - Every expired broker is fenced in one `tick`; Kafka fences one per
//!   scheduled event to bound the batch.

pub mod acls;
pub mod alter_partition;
pub mod brokers;
pub mod client_quotas;
pub mod configs;
pub mod elections;
pub mod partition_change;
pub mod partitions;
pub mod placement;
pub mod producer_ids;
pub mod scram;
pub mod topics;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use crate::metadata::{MetadataImage, MetadataRecord};

pub use alter_partition::{AlterPartitionRequest, AlterPartitionResult, IsrChange};
pub use brokers::{BrokerHeartbeat, BrokerRegistrationRequest, HeartbeatAnswer};
pub use elections::ElectionType;
pub use partitions::NewPartitions;
pub use topics::{ClusterView, CreatableTopic, CreatedTopic, TopicError};

/// The controller's configuration, by Kafka's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    /// The cluster a registering broker must belong to.
    pub cluster_id: String,
    /// `broker.session.timeout.ms`: a broker that has not heartbeated for
    /// this long is fenced.
    pub broker_session_timeout_ms: i64,
    /// `default.replication.factor`: a CreateTopics replication factor of -1.
    pub default_replication_factor: i16,
    /// `num.partitions`: a CreateTopics partition count of -1.
    pub num_partitions: i32,
    /// `unclean.leader.election.enable`: elect a replica outside the ISR when
    /// no ISR member can lead. A topic config of the same name overrides it.
    pub unclean_leader_election_enable: bool,
    /// `min.insync.replicas`: the brokers' `acks=all` bound. Kafka's
    /// controller reads it only for ELR (KIP-966), which spool leaves out;
    /// it is here so the cluster's one config has one home.
    pub min_insync_replicas: i32,
    /// `auto.leader.rebalance.enable`: move leaderships back to preferred
    /// replicas by itself (see [`elections`]).
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds`, in ms: how long after a
    /// partition is seen led by another than its preferred replica the
    /// rebalance runs.
    pub leader_imbalance_check_interval_ms: i64,
    /// Kafka's `MAX_ELECTIONS_PER_IMBALANCE` (not a config key): the most
    /// elections one rebalance makes. A test lowers it.
    pub leader_elections_per_rebalance_max: usize,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            cluster_id: String::new(),
            broker_session_timeout_ms: 9_000,
            default_replication_factor: 1,
            num_partitions: 1,
            unclean_leader_election_enable: false,
            min_insync_replicas: 1,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_ms: 300_000,
            leader_elections_per_rebalance_max: 1_000,
        }
    }
}

/// What an operation decided: records to commit, then the answer to send.
/// The answer holds only once the records are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerResult<T> {
    pub records: Vec<MetadataRecord>,
    pub answer: T,
}

/// Why the controller refused a whole request. Per-partition and per-topic
/// refusals are in the answers, as Kafka puts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The broker id has no registration: it must register first.
    BrokerIdNotRegistered(i32),
    /// The request carries another incarnation's broker epoch: the sender is
    /// a zombie, or must re-register.
    StaleBrokerEpoch { broker_id: i32, epoch: i64, registered: i64 },
    /// Another incarnation of this broker id still has a live session.
    DuplicateBrokerRegistration(i32),
    /// The registering broker belongs to another cluster.
    InconsistentClusterId { expected: String, got: String },
    /// Every producer id has been handed out.
    ProducerIdsExhausted,
    /// A negative broker id: -1 means "no leader", so no broker may have one.
    InvalidBrokerId(i32),
}

impl Error {
    /// Kafka's error code for it.
    pub fn code(&self) -> ResponseError {
        match self {
            Error::BrokerIdNotRegistered(_) => ResponseError::BrokerIdNotRegistered,
            Error::StaleBrokerEpoch { .. } => ResponseError::StaleBrokerEpoch,
            Error::DuplicateBrokerRegistration(_) => ResponseError::DuplicateBrokerRegistration,
            Error::InconsistentClusterId { .. } => ResponseError::InconsistentClusterId,
            Error::ProducerIdsExhausted => ResponseError::UnknownServerError,
            Error::InvalidBrokerId(_) => ResponseError::InvalidRequest,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BrokerIdNotRegistered(id) => write!(f, "no broker registration found for broker id {id}"),
            Error::StaleBrokerEpoch { broker_id, epoch, registered } => {
                write!(f, "broker {broker_id}: expected broker epoch {registered}, but got {epoch}")
            }
            Error::DuplicateBrokerRegistration(id) => {
                write!(f, "another broker is registered with broker id {id}")
            }
            Error::InconsistentClusterId { expected, got } => {
                write!(f, "expected cluster ID {expected}, but got cluster ID {got}")
            }
            Error::ProducerIdsExhausted => write!(f, "exhausted all producer ids"),
            Error::InvalidBrokerId(id) => write!(f, "invalid broker id {id}: broker ids are not negative"),
        }
    }
}

impl std::error::Error for Error {}

/// The randomness the controller needs, taken as an input so a test (and a
/// model) can fix it: where the placer starts, and new topic ids.
pub trait Random {
    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize;
    /// A fresh topic id.
    fn topic_id(&mut self) -> Uuid;
}

/// A small seeded generator (xorshift64*): the same seed, the same choices.
#[derive(Debug, Clone)]
pub struct SeededRandom(u64);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        SeededRandom(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl Random for SeededRandom {
    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "a choice among nothing");
        (self.next() % n as u64) as usize
    }

    fn topic_id(&mut self) -> Uuid {
        // Never the nil uuid, nor Kafka's reserved ids below 100.
        let high = self.next() | 1 << 63;
        Uuid::from_u64_pair(high, self.next())
    }
}

/// The records one operation emits, each applied to a working copy of the
/// image as it is added, so the next decision sees the ones before it (two
/// brokers fenced in one tick must not each undo the other's ISR change).
struct Batch {
    image: MetadataImage,
    records: Vec<MetadataRecord>,
}

impl Batch {
    fn new(image: &MetadataImage) -> Self {
        Batch { image: image.clone(), records: Vec::new() }
    }

    /// Adds a record. One the image refuses is a controller bug, not bad input.
    fn push(&mut self, record: MetadataRecord) {
        if let Err(e) = self.image.apply(&record) {
            panic!("the controller built a record its own image refuses ({e}): {record:?}");
        }
        self.records.push(record);
    }

    fn finish<T>(self, answer: T) -> ControllerResult<T> {
        ControllerResult { records: self.records, answer }
    }
}

/// The controller: its configuration and the soft state Kafka keeps outside
/// the metadata log (each broker's last heartbeat, when the next leader
/// rebalance is due).
#[derive(Debug, Clone, Default)]
pub struct Controller {
    pub config: ControllerConfig,
    sessions: BTreeMap<i32, brokers::Session>,
    rebalance: elections::RebalanceSchedule,
}

impl Controller {
    pub fn new(config: ControllerConfig) -> Self {
        Controller { config, ..Controller::default() }
    }

    /// Whether unclean leader election is on for `topic`: its topic config,
    /// else the controller's.
    fn unclean_election_enabled(&self, image: &MetadataImage, topic: &str) -> bool {
        image
            .topic(topic)
            .and_then(|t| t.configs.get("unclean.leader.election.enable"))
            .map_or(self.config.unclean_leader_election_enable, |v| v.eq_ignore_ascii_case("true"))
    }
}

/// Checks that `broker_id` is registered at `epoch` (Kafka's `checkBrokerEpoch`).
fn check_broker_epoch(image: &MetadataImage, broker_id: i32, epoch: i64) -> Result<(), Error> {
    let broker = image.broker(broker_id).ok_or(Error::BrokerIdNotRegistered(broker_id))?;
    if broker.epoch != epoch {
        return Err(Error::StaleBrokerEpoch { broker_id, epoch, registered: broker.epoch });
    }
    Ok(())
}
