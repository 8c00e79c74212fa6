//! Chapter 7 — KRaft: how a quorum of controllers agrees on one metadata log.
//!
//! # The problem
//!
//! The cluster's metadata (brokers, topics, partition leaders, ISRs) is a log
//! of records, `__cluster_metadata`. One controller writes it; the others
//! and every broker replay it. That one writer must be replaceable when it
//! dies, and a record it reported committed must survive the replacement —
//! with no ZooKeeper to decide who writes.
//!
//! # Kafka's solution: KRaft (KIP-500, KIP-595, KIP-996)
//!
//! A Raft quorum of **voters** (`controller.quorum.voters`) elects a
//! **leader** per **epoch**; brokers are **observers** that replicate the log
//! but never vote. It is Raft, reshaped after Kafka's own replication:
//!
//! - **Followers pull.** There is no AppendEntries: followers and observers
//!   send Fetch(fetch offset, last fetched epoch), as partition followers do.
//!   The leader learns each voter's log end from its fetch offset and moves
//!   the **high watermark** to the largest offset a majority holds — only
//!   once that majority holds an entry of its own epoch, which is why a new
//!   leader first writes a LeaderChange control record.
//! - **Truncation by diverging epoch.** A Fetch whose (offset, epoch) does not
//!   match the leader's log is answered with where that epoch ends on the
//!   leader; the follower truncates there and fetches again.
//! - **Elections.** A voter whose leader goes quiet for
//!   `controller.quorum.fetch.timeout.ms` asks the voters for a **pre-vote**
//!   (KIP-996) without bumping its epoch; with a majority it becomes a
//!   **candidate** in the next epoch and asks for real Votes, granted to a
//!   log at least as up to date as the voter's, once per epoch. The vote is
//!   persisted in the `quorum-state` file before it is sent.
//! - **BeginQuorumEpoch** announces a new leader; **EndQuorumEpoch** resigns
//!   gracefully, naming the voters most caught up as successors.
//! - **Check-quorum**: a leader that has not been fetched from by a majority
//!   within the fetch timeout resigns, so a partitioned leader stops serving
//!   stale metadata (KAFKA-15489).
//!
//! ```text
//!                 fetch timeout              majority of pre-votes
//!   Follower ───────────────────▶ Prospective ───────────────────▶ Candidate (epoch+1)
//!      ▲  ▲                           │   ▲                            │
//!      │  └── BeginQuorumEpoch / ─────┘   └──── election timeout ──────┤
//!      │      a Fetch answer naming                                   │ majority of votes
//!      │      the leader                                              ▼
//!   Unattached ◀── a newer epoch ── any role            Resigned ◀── Leader
//!                                               check-quorum, shutdown
//! ```
//!
//! # This code
//!
//! [`RaftNode`] is one replica's protocol state, sans IO. Inputs:
//! [`RaftNode::step`] (a message arrived), [`RaftNode::timeout`] (the role's
//! [`Timer`] fired), [`RaftNode::append`] (the leader's state machine writes
//! a record), [`RaftNode::resend`] (the request backoff elapsed) and
//! [`RaftNode::restart`] (from the persisted [`ElectionState`]). Each returns
//! [`Output`]s in the order a driver must carry them out: persist the
//! quorum state, send messages, reset the timer, load an installed
//! snapshot, publish the high watermark. [`RaftNode::snapshot_id`] tells
//! the state machine where it may snapshot. The log is reached through [`RaftLog`]; the core owns no
//! socket, file, clock or random number. The election timeout's jitter is the
//! driver's, so the model checker can treat "a timer fires" as just another
//! action.
//!
//! - [`node`]: roles and the moves between them; [`vote`]: elections;
//!   [`fetch`]: replication and the high watermark; [`step`]: dispatch,
//!   BeginQuorumEpoch, EndQuorumEpoch; [`snapshot`]: the log start offset,
//!   a Fetch below it answered with the latest snapshot's id, and
//!   FetchSnapshot (KIP-630).
//! - [`log`]: [`RaftLog`] and [`MemoryLog`]; [`quorum_state`]: the
//!   `quorum-state` file as Kafka writes it; [`batches`]: entries as the
//!   record batches of `__cluster_metadata-0` (the on-disk log,
//!   `crate::metadata::quorum_log`, implements [`RaftLog`] over them).
//! - [`trace`]: a run's inputs, outputs and states, written by the driver
//!   when asked and replayed against this core by `models/src/kraft/trace.rs`.
//! - [`wire`]: the messages as Kafka's Vote, BeginQuorumEpoch,
//!   EndQuorumEpoch, Fetch, FetchSnapshot and DescribeQuorum schemas (pure mapping).
//!
//! The same code runs in the controllers (`crate::node::quorum` is its
//! driver) and in `models/src/kraft.rs`: three voters (an observer with
//! `--big`) over a lossy network with crashes, with Raft's classic mistakes
//! as switches in [`RaftConfig`].
//!
//! # Simplifications
//!
//! - A static voter set (kraft.version 0); no AddVoter/RemoveVoter (KIP-853).
//! - A Fetch answer is bounded in entries, not bytes (the driver bounds the
//!   bytes it sends). The core answers a caught-up fetch at once; parking it
//!   until there is data (Kafka's fetch purgatory) is the driver's
//!   (`crate::node::quorum`).
//! - Followers in the EndQuorumEpoch's successor list all ask for pre-votes
//!   at once; Kafka staggers them by their place in the list.
//! - No BeginQuorumEpoch or EndQuorumEpoch responses: the leader resends
//!   BeginQuorumEpoch to voters that have not fetched yet.

pub mod batches;
pub mod error;
pub mod fetch;
pub mod log;
pub mod message;
pub mod node;
pub mod quorum_state;
pub mod snapshot;
pub mod step;
pub mod trace;
pub mod vote;
pub mod wire;

use std::collections::BTreeSet;

pub use error::RaftError;
pub use fetch::diverging;
pub use log::{Entry, MemoryLog, RaftLog, Record};
pub use message::{FetchResult, Message, Output, SnapshotResult, Timer};
pub use node::{LeaderProgress, RaftNode, Role};
pub use snapshot::SnapshotId;

/// The metadata log's topic (its one partition is `__cluster_metadata-0`).
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// A replica's id (`node.id`).
pub type NodeId = i32;
/// A leader epoch of the quorum.
pub type Epoch = i32;
/// A position in the metadata log.
pub type Offset = i64;

/// What the `quorum-state` file holds: the epoch, its leader if known, and
/// this replica's vote in it. Persisted before anything that depends on it
/// is sent.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ElectionState {
    pub epoch: Epoch,
    pub leader_id: Option<NodeId>,
    pub voted_id: Option<NodeId>,
}

/// The quorum's configuration, and Raft's classic mistakes as switches: in
/// the controller every switch is on (see [`RaftConfig::new`]); the model
/// turns one off to show the checker catch it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct RaftConfig {
    /// `controller.quorum.voters`' ids.
    pub voters: BTreeSet<NodeId>,
    /// KIP-996 pre-vote (on by default since Kafka 4.0).
    pub pre_vote: bool,
    /// Off: a leader never resigns for want of fetches (before KAFKA-15489's fix).
    pub check_quorum: bool,
    /// Off: votes are granted without comparing logs.
    pub vote_checks_log: bool,
    /// Off: the leader counts replicas of an earlier epoch's entry as committed (figure 8).
    pub commit_needs_current_epoch: bool,
    /// Off: a vote is sent before it is persisted.
    pub persist_before_send: bool,
    /// Off: a prospective refused by a voter that still follows the leader
    /// the prospective timed out on follows that leader again, so two
    /// followers of a dead leader undo each other's elections forever (a
    /// livelock, not a safety bug). Traces written before the switch
    /// existed read it as on.
    #[serde(default = "switch_on")]
    pub prospective_skips_timed_out_leader: bool,
    /// The most entries one Fetch answer carries (Kafka bounds it in bytes,
    /// `fetch.max.bytes`); the model uses 1 so a follower can stop halfway.
    /// Answers are whole batches, so a first batch larger than this goes
    /// whole ([`RaftLog::entries`]).
    pub fetch_entries_max: usize,
    /// The most bytes one FetchSnapshot chunk carries (the request's
    /// `max_bytes`; Kafka sends 8 MiB). The model uses a few so a snapshot
    /// takes more than one chunk.
    pub snapshot_chunk_bytes_max: u32,
}

impl RaftConfig {
    /// The correct protocol for these voters.
    pub fn new(voters: impl IntoIterator<Item = NodeId>) -> Self {
        RaftConfig {
            voters: voters.into_iter().collect(),
            pre_vote: true,
            check_quorum: true,
            vote_checks_log: true,
            commit_needs_current_epoch: true,
            persist_before_send: true,
            prospective_skips_timed_out_leader: true,
            fetch_entries_max: 1024,
            snapshot_chunk_bytes_max: 8 << 20,
        }
    }
}

fn switch_on() -> bool {
    true
}

#[cfg(test)]
mod tests;
