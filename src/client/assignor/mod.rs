//! Chapter 5 — partition assignors: who in a consumer group reads what.
//!
//! The group coordinator ([`crate::group`]) never looks inside an assignment.
//! One member, the *leader* of each generation, receives every member's
//! **subscription** in its JoinGroup answer, runs an assignor over them and the
//! topics' partition counts, and hands the result back in its SyncGroup; the
//! coordinator forwards each member its part. The assignors are therefore
//! client code, and every client in a group must speak the same one: a
//! JoinGroup lists the assignors a member supports (Kafka's
//! `partition.assignment.strategy`), and the coordinator picks one that every
//! member listed.
//!
//! The subscription and assignment travel as Kafka's *ConsumerProtocol*
//! bytes ([`protocol`]), so a spool consumer and a Java, librdkafka or kafkajs
//! consumer can share a group and either can be its leader.
//!
//! ```text
//!  members (sorted)   topics {t0: 3, t1: 3}
//!  A: [t0, t1]        range:        A {t0-0 t0-1, t1-0 t1-1}  B {t0-2, t1-2}
//!  B: [t0, t1]        roundrobin:   A {t0-0 t0-2 t1-1}        B {t0-1 t1-0 t1-2}
//! ```
//!
//! Three assignors, each a pure function of the members and the partition
//! counts:
//!
//! - [`range`] — Kafka's `RangeAssignor`, topic by topic: the subscribers of a
//!   topic, sorted, each take a contiguous range; the first `n % c` one more.
//!   Co-partitioned topics land together, and with many topics the first
//!   members carry the extras of every one of them.
//! - [`roundrobin`] — `RoundRobinAssignor`: all partitions, sorted, dealt to
//!   the sorted members in turn (skipping members not subscribed to a topic).
//! - [`sticky`] — `CooperativeStickyAssignor`: balanced (with equal
//!   subscriptions, counts differ by at most one), *sticky* (a member keeps the
//!   partitions it owned as far as balance allows, so a rebalance moves few
//!   partitions) and *cooperative* (KIP-429): a partition that changes owner
//!   is assigned to nobody in this generation. Its old owner sees it missing,
//!   stops reading it, commits, and rejoins; the next generation hands it to
//!   the new owner. No partition has two readers at any moment, and members
//!   keep reading their other partitions through the rebalance.
//!
//! Members are sorted as Kafka's `MemberInfo` sorts them: static members
//! (with a `group.instance.id`, KIP-345) first by instance id, then dynamic
//! members by member id. A static member's id survives a restart, so with
//! `range` it gets the same partitions back.
//!
//! Simplifications: no rack-aware assignment (KIP-881: the rack is carried in
//! the subscription but not used); the sticky assignor is the general
//! algorithm of moving one partition at a time from the fullest member to the
//! emptiest one that can take it, rather than Kafka's two specialised
//! algorithms (equal and unequal subscriptions); with unequal subscriptions it
//! stops when no single move improves balance, which Kafka's does not promise
//! either; no eager `sticky` assignor (its user data format is different).

pub mod protocol;
pub mod range;
pub mod roundrobin;
pub mod sticky;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use bytes::Bytes;

use super::ClientError;
use crate::TopicPartition;

/// What one member asks for: the ConsumerProtocol subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The topics it reads.
    pub topics: Vec<String>,
    /// Assignor-specific bytes (the cooperative-sticky assignor's generation).
    pub user_data: Option<Bytes>,
    /// The partitions it owns now (v1+; KIP-429 needs them).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation its owned partitions are from; -1 when unknown (v2+).
    pub generation_id: i32,
    /// Its `client.rack` (v3+; unused here).
    pub rack_id: Option<String>,
}

impl Subscription {
    /// A subscription to `topics`, owning nothing.
    pub fn new(topics: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Subscription {
            topics: topics.into_iter().map(Into::into).collect(),
            user_data: None,
            owned_partitions: Vec::new(),
            generation_id: -1,
            rack_id: None,
        }
    }

    /// Whether `topic` is subscribed.
    pub fn subscribes(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == topic)
    }
}

/// One member, as the leader sees it in the JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    pub subscription: Subscription,
}

/// What one member is given: the ConsumerProtocol assignment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// Sorted by topic, then partition.
    pub partitions: Vec<TopicPartition>,
    pub user_data: Option<Bytes>,
}

/// How a member gives partitions up in a rebalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceProtocol {
    /// Revoke everything before rejoining (Kafka's original protocol).
    Eager,
    /// Keep everything; give up only what the new assignment leaves out (KIP-429).
    Cooperative,
}

/// The assignors `partition.assignment.strategy` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    Range,
    RoundRobin,
    CooperativeSticky,
}

/// The member ids to partitions an assignor decided; every member is a key.
pub type GroupAssignment = BTreeMap<String, Vec<TopicPartition>>;

impl Assignor {
    /// The protocol name sent in JoinGroup, the same as Kafka's, so that a
    /// spool consumer and a Java or librdkafka one agree on it.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Parses a `partition.assignment.strategy` entry: the protocol name or
    /// Kafka's class name.
    pub fn parse(s: &str) -> Result<Self, ClientError> {
        let short = s.trim().rsplit('.').next().unwrap_or_default();
        match short {
            "range" | "RangeAssignor" => Ok(Assignor::Range),
            "roundrobin" | "RoundRobinAssignor" => Ok(Assignor::RoundRobin),
            "cooperative-sticky" | "CooperativeStickyAssignor" => Ok(Assignor::CooperativeSticky),
            _ => Err(ClientError::InvalidArgument(format!(
                "unknown partition.assignment.strategy {s:?} (range, roundrobin, cooperative-sticky)"
            ))),
        }
    }

    /// The protocol found by its JoinGroup name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Assignor::Range, Assignor::RoundRobin, Assignor::CooperativeSticky]
            .into_iter()
            .find(|a| a.name() == name)
    }

    /// Eager for `range` and `roundrobin`, cooperative for `cooperative-sticky`.
    pub fn protocol(self) -> RebalanceProtocol {
        match self {
            Assignor::CooperativeSticky => RebalanceProtocol::Cooperative,
            Assignor::Range | Assignor::RoundRobin => RebalanceProtocol::Eager,
        }
    }

    /// The user data this member adds to its subscription for this assignor:
    /// Kafka's `CooperativeStickyAssignor` writes its generation as 4 bytes,
    /// for leaders that read subscriptions older than v2.
    pub fn user_data(self, generation_id: i32) -> Option<Bytes> {
        match self {
            Assignor::CooperativeSticky => Some(Bytes::copy_from_slice(&generation_id.to_be_bytes())),
            Assignor::Range | Assignor::RoundRobin => None,
        }
    }

    // ANCHOR: assign
    /// Assigns the partitions of `partitions_per_topic` (topic → partition
    /// count, for the topics that exist) to `members`.
    pub fn assign(
        self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[GroupMember],
    ) -> GroupAssignment {
        match self {
            Assignor::Range => range::assign(partitions_per_topic, members),
            Assignor::RoundRobin => roundrobin::assign(partitions_per_topic, members),
            Assignor::CooperativeSticky => sticky::assign_cooperative(partitions_per_topic, members),
        }
    }
    // ANCHOR_END: assign
}

/// Members in Kafka's `MemberInfo` order: static members by instance id
/// first, then dynamic ones by member id.
pub fn sorted_members(members: &[GroupMember]) -> Vec<&GroupMember> {
    let mut sorted: Vec<&GroupMember> = members.iter().collect();
    sorted.sort_by(|a, b| match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y).then_with(|| a.member_id.cmp(&b.member_id)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    });
    sorted
}

/// An assignment with every member and no partitions.
fn empty(members: &[GroupMember]) -> GroupAssignment {
    members.iter().map(|m| (m.member_id.clone(), Vec::new())).collect()
}
