//! Chapter 5 — consumer groups: Kafka's classic group coordinator, as a
//! sans-IO state machine.
//!
//! # The problem
//!
//! A topic has partitions; a *consumer group* is a set of processes that share
//! the work of reading them, each partition read by one member at a time. Two
//! questions follow: who reads which partition, and where does each partition's
//! reading resume when its reader changes? Kafka answers both with a
//! *group coordinator*, one broker per group (the leader of partition
//! [`partition_for`]`(group_id)` of the internal topic `__consumer_offsets`).
//!
//! # Who decides who reads what: not the coordinator
//!
//! The coordinator does not know what a partition is. It runs a membership
//! protocol and hands out *generations*; the assignment itself is computed by
//! one of the consumers, the group *leader*, with an assignor the clients
//! agree on (`range`, `cooperative-sticky`, …). Members' subscriptions and the
//! leader's assignment are opaque bytes to the coordinator (KIP-62's "embedded
//! protocol"; Connect and Schema Registry run other protocols over the same
//! coordinator).
//!
//! ```text
//!  member A (leader)           coordinator                   member B
//!   JoinGroup(protocols) ───▶  PreparingRebalance  ◀─── JoinGroup(protocols)
//!                              … waits for every known member, or the
//!                              rebalance timeout; the first rebalance of an
//!                              empty group waits group.initial.rebalance.delay.ms
//!   ◀── gen 5, leader A,       CompletingRebalance   ──▶ gen 5, leader A
//!       all members' metadata
//!   assignor runs in A
//!   SyncGroup(gen 5, {A: …,  ▶ stores the generation ◀─── SyncGroup(gen 5)
//!             B: …})           (GroupMetadata record)      (parked until it is stored)
//!   ◀── A's part               Stable                ──▶ B's part
//!   Heartbeat(gen 5) ───────▶  ◀─────────────────────── Heartbeat(gen 5)
//! ```
//!
//! A change of membership (a member joins, leaves, or misses heartbeats for
//! `session.timeout.ms`; the leader asks) starts the next rebalance:
//! heartbeats answer REBALANCE_IN_PROGRESS and every member rejoins. The
//! generation number fences the past: a SyncGroup, Heartbeat or OffsetCommit
//! from an older generation gets ILLEGAL_GENERATION, from a member the group
//! dropped UNKNOWN_MEMBER_ID.
//!
//! # A consumer's position is one integer per partition
//!
//! Where the group is in a partition is the offset of the next record to read.
//! An OffsetCommit writes it as a record keyed by (group, topic, partition) to
//! `__consumer_offsets`, a compacted topic, so the latest commit of each key is
//! what survives; the coordinator keeps the same map in memory for
//! OffsetFetch and rebuilds it with [`GroupCoordinator::load`] after a restart.
//! Deleting a topic deletes its offsets from every group
//! ([`GroupCoordinator::delete_topic_offsets`]), so a topic recreated with the
//! same name starts from `auto.offset.reset`, not from the old topic's positions.
//! The group's generation and assignment are records of the same topic
//! (see [`records`]). Only members of the current generation may commit, which
//! is what stops a consumer that was kicked out — and does not know it yet —
//! from moving the group's position after its partitions were given away.
//!
//! # Eager and cooperative rebalancing
//!
//! In an *eager* rebalance (Kafka's original protocol) every member revokes all
//! its partitions before it rejoins: nobody reads anything until the new
//! generation is synced. *Cooperative* rebalancing (KIP-429,
//! `cooperative-sticky`) keeps reading through the rebalance: each member
//! reports the partitions it owns in its subscription, and the leader assigns a
//! partition that changes hands to *nobody* in this generation; its old owner
//! sees it missing from its assignment, revokes it, and rejoins, and the next
//! generation gives it to the new owner. Two rebalances instead of one, and no
//! partition has two owners at any moment. The coordinator needs nothing for
//! this beyond what it already does — correct generations, and a rebalance
//! whenever a member rejoins with changed metadata; the protocol lives in the
//! assignor. `models/src/group.rs` checks exactly that with this code.
//!
//! # Static membership
//!
//! A consumer with `group.instance.id` (KIP-345) is a *static* member: when it
//! restarts it rejoins with the same instance id and a new member id, and takes
//! over its old member — and its assignment — without a rebalance if the group
//! is Stable and the chosen protocol would not change. The old member id is
//! fenced (FENCED_INSTANCE_ID), so two processes with one identity cannot both
//! act. A static member that does not rejoin in a rebalance is kept until its
//! session times out, so session timeouts for static members are set long
//! enough to cover a restart.
//!
//! # How this code does it
//!
//! [`GroupCoordinator`] holds a [`Group`] per group id; each request is a
//! method call with the broker's clock as `now_ms`, and [`GroupCoordinator::tick`]
//! fires timers. A JoinGroup or SyncGroup may be answered later: the caller tags
//! it with a [`RequestToken`] and gets the answer in the [`Output`] of whatever
//! input completes it. An output also carries the records to append to
//! `__consumer_offsets`, which the driver must persist before sending the
//! replies; an OffsetCommit's offsets and a generation's assignment are held
//! as pending under the request's token until the driver reports whether
//! they were stored ([`GroupCoordinator::store_completed`]), so OffsetFetch
//! and SyncGroup answer only what is in the log. The code follows Kafka's `GroupCoordinator.scala` and
//! `GroupMetadata.scala` (3.x classic protocol) function by function; the
//! method names say which. Files:
//!
//! - `state.rs` — one group's state, membership and protocol selection.
//! - `join.rs` — JoinGroup, static members taking over, completing a rebalance.
//! - `session.rs` — SyncGroup, Heartbeat, LeaveGroup and the timers.
//! - `offsets.rs` — OffsetCommit and OffsetFetch.
//! - `offset_delete.rs` — OffsetDelete (KIP-496): Kafka's rules for subscribed topics.
//! - `txn_offsets.rs` — chapter 9: TxnOffsetCommit, a transaction's offsets
//!   pending until its marker, and their replay at load.
//! - `coordinator.rs` — routing, ListGroups, DescribeGroups, DeleteGroups, load.
//! - `records.rs` — the `__consumer_offsets` records in Kafka's binary layout.
//!
//! In a cluster the coordinator holds only the groups of the
//! `__consumer_offsets` partitions its broker leads: the driver calls
//! [`GroupCoordinator::load_partition`] when the broker becomes a partition's
//! leader and [`GroupCoordinator::unload`] when it stops (Kafka's
//! `onElection` / `onResignation`); unloading answers the groups' parked
//! requests NOT_COORDINATOR.
//!
//! The broker's driver, [`crate::broker::groups`], turns the wire's messages into
//! these calls, parks deferred answers, appends the records and runs the timer.
//!
//! # Simplifications
//!
//! - Only OffsetCommits and the leader's SyncGroup wait for their store: a
//!   commit's offsets stay pending, invisible to OffsetFetch, and a
//!   generation's assignment is handed out, until the driver reports the
//!   store with [`GroupCoordinator::store_completed`]; a failed commit is
//!   dropped (Kafka's `pendingOffsetCommits`), a failed generation cleared and
//!   rebalanced (Kafka's SyncGroup callback). Other records are assumed
//!   stored: a failed store of an empty generation, a static member's
//!   replacement or a tombstone (DeleteGroups, a deleted topic) answers its
//!   requests with an error, but memory has moved on, where Kafka's newer
//!   coordinator reverts every in-memory change of a failed write (its
//!   "timeline" snapshots).
//! - No offset expiry (`offsets.retention.minutes`) and no cleanup of empty
//!   groups without offsets; a group leaves memory only through DeleteGroups,
//!   or when deleting a topic or OffsetDelete takes the last offsets of an
//!   Empty group.
//! - No KIP-848 consumer protocol. Transactional offset
//!   commits (chapter 9) have their own simplifications in `txn_offsets.rs`.
//! - A superseded JoinGroup or SyncGroup (a member sent a second one while the
//!   first was parked), and a removed member's parked SyncGroup, get an answer
//!   (REBALANCE_IN_PROGRESS / UNKNOWN_MEMBER_ID) where Kafka leaves them
//!   hanging until the client times out, so the driver never leaks a token.
//! - A Heartbeat during CompletingRebalance is answered with no error and
//!   keeps the session alive, as Kafka 3.x does; older brokers said REBALANCE_IN_PROGRESS.

mod coordinator;
mod join;
mod offset_delete;
mod offsets;
pub mod records;
mod session;
mod state;
mod txn_offsets;
mod types;

pub use coordinator::GroupCoordinator;
pub use offsets::CommitResult;
pub use records::{GroupMetadataValue, GroupRecord, MemberMetadata, OffsetCommitValue, RecordError};
pub use state::{Group, Member};
pub use txn_offsets::OffsetsLogEntry;
pub use types::*;

/// The internal topic the coordinator writes to.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";

/// `offsets.topic.num.partitions`' default.
pub const CONSUMER_OFFSETS_PARTITIONS: i32 = 50;

// ANCHOR: partition_for
/// The `__consumer_offsets` partition of a group, whose leader is the group's
/// coordinator: Kafka's `Utils.abs(groupId.hashCode()) % partitions`, with
/// Java's `String.hashCode` (over UTF-16 code units) and Kafka's `Utils.abs`
/// (which maps `i32::MIN` to 0). Clients find it with FindCoordinator; every
/// broker must compute the same number.
pub fn partition_for(group_id: &str, num_partitions: i32) -> i32 {
    assert!(num_partitions > 0, "offsets.topic.num.partitions must be positive");
    let hash = group_id.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)));
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % num_partitions
}
// ANCHOR_END: partition_for

#[cfg(test)]
mod tests;
#[cfg(test)]
mod txn_tests;
