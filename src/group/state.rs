//! One group's state: its members, its generation, its timers. The rebalance
//! protocol that drives it is in `join.rs`, offsets in `offsets.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::records::{GroupMetadataValue, GroupRecord, MemberMetadata, OffsetCommitValue};
use super::types::*;
use crate::TopicPartition;

/// A member of a group, as the coordinator knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    /// In the member's order of preference.
    pub protocols: Vec<Protocol>,
    /// Its part of the leader's assignment for the current generation.
    pub assignment: Vec<u8>,
    /// Its parked JoinGroup, during PreparingRebalance.
    pub(super) awaiting_join: Option<RequestToken>,
    /// Its parked SyncGroup, during CompletingRebalance.
    pub(super) awaiting_sync: Option<RequestToken>,
    /// Joined, but no JoinGroup answered yet: expires after
    /// `new_member_join_timeout_ms` even while parked.
    pub(super) is_new: bool,
    /// When the member is dropped unless it heartbeats (or commits, or syncs)
    /// first; `None` while a parked request stands in for its heartbeats.
    pub(super) heartbeat_deadline_ms: Option<i64>,
}

impl Member {
    /// Its metadata for `protocol` (empty if it does not support it).
    pub fn metadata(&self, protocol: &str) -> Vec<u8> {
        self.protocols.iter().find(|p| p.name == protocol).map(|p| p.metadata.clone()).unwrap_or_default()
    }

    pub fn is_awaiting_join(&self) -> bool {
        self.awaiting_join.is_some()
    }

    pub fn is_awaiting_sync(&self) -> bool {
        self.awaiting_sync.is_some()
    }

    fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|p| p.name == protocol)
    }
}

/// The timer of a PreparingRebalance group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum JoinTimer {
    /// Kafka's `InitialDelayedJoin`: the first rebalance of an empty group
    /// waits `delay_ms`, and waits again (up to `remaining_ms` in all) each
    /// time a new member arrived meanwhile. It never completes early.
    Initial { deadline_ms: i64, delay_ms: i32, remaining_ms: i32 },
    /// Kafka's `DelayedJoin`: completes as soon as every member has rejoined,
    /// or at the deadline (the group's largest rebalance timeout).
    Rebalance { deadline_ms: i64 },
}

impl JoinTimer {
    pub(super) fn deadline_ms(self) -> i64 {
        match self {
            JoinTimer::Initial { deadline_ms, .. } | JoinTimer::Rebalance { deadline_ms } => deadline_ms,
        }
    }
}

/// One group: Kafka's `GroupMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    pub(super) group_id: String,
    pub(super) state: GroupState,
    pub(super) state_timestamp_ms: i64,
    pub(super) generation_id: i32,
    pub(super) protocol_type: Option<String>,
    pub(super) protocol_name: Option<String>,
    pub(super) leader_id: Option<String>,
    pub(super) members: BTreeMap<String, Member>,
    /// KIP-345: `group.instance.id` → the member id that holds it now.
    pub(super) static_members: BTreeMap<String, String>,
    /// KIP-394: ids handed out with MEMBER_ID_REQUIRED → when they expire.
    pub(super) pending_members: BTreeMap<String, i64>,
    /// Members of the new generation that have not sent their SyncGroup yet.
    pub(super) pending_sync: BTreeSet<String>,
    /// When the pending syncs expire (the group's rebalance timeout after the join).
    pub(super) sync_deadline_ms: Option<i64>,
    /// A member joined during the initial delay: delay once more.
    pub(super) new_member_added: bool,
    pub(super) join_timer: Option<JoinTimer>,
    /// Committed offsets: those whose records are known stored.
    pub(super) offsets: BTreeMap<TopicPartition, OffsetCommitValue>,
    /// Commits appended but not yet known stored, and transactional ones
    /// waiting for their transaction's marker, in the order they were
    /// appended (Kafka's `pendingOffsetCommits` and
    /// `pendingTransactionalOffsetCommits`, in one list because their order
    /// in the log decides which offset wins, see `txn_offsets.rs`);
    /// OffsetFetch does not see them.
    pub(super) pending_commits: Vec<PendingCommit>,
    /// The leader's assignment, appended but not yet known stored: the
    /// group stays CompletingRebalance until it is.
    pub(super) pending_assignment: Option<PendingAssignment>,
}

/// A generation's assignment waiting for the driver to report its store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PendingAssignment {
    /// The leader's SyncGroup token, the store reported under it.
    pub(super) token: RequestToken,
    pub(super) generation_id: i32,
    /// Member id → its part.
    pub(super) assignment: BTreeMap<String, Vec<u8>>,
}

/// One OffsetCommit's offsets waiting for the driver to report their store,
/// or one TxnOffsetCommit's waiting for that and then for its transaction's
/// marker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PendingCommit {
    /// The token the commit was made with, and its store reported under;
    /// `None` once a transactional commit is stored (or was loaded from the
    /// log) and only its marker is awaited. A plain commit always has one.
    pub(super) token: Option<RequestToken>,
    /// The transaction's producer id, for a TxnOffsetCommit.
    pub(super) producer_id: Option<i64>,
    /// Only the partitions no later commit has superseded (never empty).
    pub(super) offsets: BTreeMap<TopicPartition, OffsetCommitValue>,
}

impl Group {
    pub(super) fn new(group_id: &str, now_ms: i64) -> Self {
        Group {
            group_id: group_id.to_string(),
            state: GroupState::Empty,
            state_timestamp_ms: now_ms,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            sync_deadline_ms: None,
            new_member_added: false,
            join_timer: None,
            offsets: BTreeMap::new(),
            pending_commits: Vec::new(),
            pending_assignment: None,
        }
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }
    pub fn state(&self) -> GroupState {
        self.state
    }
    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }
    pub fn protocol_type(&self) -> Option<&str> {
        self.protocol_type.as_deref()
    }
    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol_name.as_deref()
    }
    pub fn leader_id(&self) -> Option<&str> {
        self.leader_id.as_deref()
    }
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }
    pub fn member(&self, member_id: &str) -> Option<&Member> {
        self.members.get(member_id)
    }
    pub fn is_pending_member(&self, member_id: &str) -> bool {
        self.pending_members.contains_key(member_id)
    }
    /// The committed offsets (stored ones; pending commits are not among them).
    pub fn offsets(&self) -> &BTreeMap<TopicPartition, OffsetCommitValue> {
        &self.offsets
    }

    /// Whether a commit made with `token` waits for its store's outcome.
    pub fn is_commit_pending(&self, token: RequestToken) -> bool {
        self.pending_commits.iter().any(|p| p.token == Some(token))
    }

    // ANCHOR: transition
    /// Kafka's `GroupMetadata.transitionTo`: each state has the states it may
    /// be entered from, and anything else is a bug in this code.
    pub(super) fn transition(&mut self, to: GroupState, now_ms: i64) {
        use GroupState::*;
        let allowed: &[GroupState] = match to {
            Empty => &[PreparingRebalance],
            PreparingRebalance => &[Stable, CompletingRebalance, Empty],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Dead => &[Stable, PreparingRebalance, CompletingRebalance, Empty, Dead],
        };
        assert!(allowed.contains(&self.state), "group {}: {:?} -> {to:?}", self.group_id, self.state);
        self.state = to;
        self.state_timestamp_ms = now_ms;
    }
    // ANCHOR_END: transition

    /// The longest rebalance timeout of any member: how long a rebalance waits.
    pub(super) fn rebalance_timeout_ms(&self) -> i32 {
        self.members.values().map(|m| m.rebalance_timeout_ms).max().unwrap_or(0)
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty
    /// protocol type and list; otherwise the type must match and one of the
    /// protocols must be supported by every member.
    pub(super) fn supports_protocols(&self, protocol_type: &str, protocols: &[Protocol]) -> bool {
        if self.state == GroupState::Empty {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|p| self.members.values().all(|m| m.supports(&p.name)))
    }

    // ANCHOR: select_protocol
    /// The protocol of the next generation: among those every member supports,
    /// each member votes for the first in its own order of preference, and the
    /// most votes win (Kafka breaks a tie arbitrarily; here, the smallest name).
    pub(super) fn select_protocol(&self) -> Option<String> {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            let choice =
                member.protocols.iter().find(|p| self.members.values().all(|other| other.supports(&p.name)));
            if let Some(choice) = choice {
                *votes.entry(&choice.name).or_default() += 1;
            }
        }
        let most = votes.values().copied().max()?;
        votes.into_iter().find(|&(_, n)| n == most).map(|(name, _)| name.to_string())
    }
    // ANCHOR_END: select_protocol

    /// Kafka's `GroupMetadata.add`: the first member fixes the protocol type,
    /// and becomes leader if there is none.
    pub(super) fn add(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        if let Some(instance_id) = &member.group_instance_id {
            self.static_members.insert(instance_id.clone(), member.member_id.clone());
        }
        self.pending_members.remove(&member.member_id);
        self.members.insert(member.member_id.clone(), member);
    }

    /// Kafka's `GroupMetadata.remove`: a departing leader hands over to the
    /// first remaining member.
    pub(super) fn remove(&mut self, member_id: &str) -> Option<Member> {
        let member = self.members.remove(member_id)?;
        if let Some(instance_id) = &member.group_instance_id {
            if self.static_members.get(instance_id).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance_id);
            }
        }
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_deadline_ms = None;
        }
        if self.leader_id.as_deref() == Some(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        Some(member)
    }

    /// Kafka's `validateCurrentMember`: a static member must still hold its
    /// instance id (else it was fenced by a newer instance), and the member id
    /// must be in the group.
    pub(super) fn validate_member(&self, member_id: &str, instance_id: Option<&str>) -> Option<GroupError> {
        if let Some(instance_id) = instance_id {
            return match self.static_members.get(instance_id) {
                Some(current) if current != member_id => Some(GroupError::FencedInstanceId),
                Some(_) => None,
                None => Some(GroupError::UnknownMemberId),
            };
        }
        (!self.members.contains_key(member_id)).then_some(GroupError::UnknownMemberId)
    }

    /// A fenced static member: its instance id is now held by another member id.
    pub(super) fn is_static_member_fenced(&self, member_id: &str, instance_id: Option<&str>) -> bool {
        instance_id.and_then(|i| self.static_members.get(i)).is_some_and(|current| current != member_id)
    }

    /// Restarts the member's session clock (a heartbeat, a commit, a sync, a join answer).
    pub(super) fn heartbeat_received(&mut self, member_id: &str, now_ms: i64) {
        if let Some(member) = self.members.get_mut(member_id) {
            member.heartbeat_deadline_ms = Some(now_ms + i64::from(member.session_timeout_ms));
        }
    }

    /// The group as Kafka writes it to `__consumer_offsets` (`storeGroup`).
    pub(super) fn metadata_record(&self) -> GroupRecord {
        self.metadata_record_assigning(|m| m.assignment.clone())
    }

    /// The group's record with each member's assignment given by `assignment`.
    pub(super) fn metadata_record_assigning(&self, assignment: impl Fn(&Member) -> Vec<u8>) -> GroupRecord {
        let protocol = self.protocol_name.clone();
        let members = self
            .members
            .values()
            .map(|m| MemberMetadata {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                subscription: protocol.as_deref().map(|p| m.metadata(p)).unwrap_or_default(),
                assignment: assignment(m),
            })
            .collect();
        GroupRecord::Group {
            group_id: self.group_id.clone(),
            value: Some(GroupMetadataValue {
                protocol_type: self.protocol_type.clone().unwrap_or_default(),
                generation: self.generation_id,
                protocol,
                leader: self.leader_id.clone(),
                current_state_timestamp_ms: self.state_timestamp_ms,
                members,
            }),
        }
    }

    /// The earliest timer of this group, for [`super::GroupCoordinator::next_deadline_ms`].
    pub(super) fn next_deadline_ms(&self) -> Option<i64> {
        let join = self.join_timer.map(JoinTimer::deadline_ms);
        let heartbeats = self.members.values().filter_map(|m| m.heartbeat_deadline_ms);
        let pending = self.pending_members.values().copied();
        join.into_iter().chain(heartbeats).chain(pending).chain(self.sync_deadline_ms).min()
    }

    // ANCHOR: invariants
    /// What must hold between any two inputs; the property tests and the
    /// model call it after every step.
    pub fn check_invariants(&self) {
        use GroupState::*;
        let id = &self.group_id;
        assert!(self.generation_id >= 0, "group {id}: negative generation");
        assert_eq!(self.leader_id.is_some(), !self.members.is_empty(), "group {id}: a leader iff members");
        if let Some(leader) = &self.leader_id {
            assert!(self.members.contains_key(leader), "group {id}: the leader is a member");
        }
        if matches!(self.state, Empty | Dead) {
            assert!(self.members.is_empty(), "group {id}: {:?} with members", self.state);
        }
        if matches!(self.state, CompletingRebalance | Stable) {
            assert!(!self.members.is_empty(), "group {id}: {:?} without members", self.state);
            assert!(self.protocol_name.is_some(), "group {id}: {:?} without a protocol", self.state);
        }
        assert_eq!(self.join_timer.is_some(), self.state == PreparingRebalance, "group {id}: join timer");
        for (instance_id, member_id) in &self.static_members {
            let member = self.members.get(member_id).expect("a static member is a member");
            assert_eq!(member.group_instance_id.as_ref(), Some(instance_id), "group {id}: static mapping");
        }
        for member in self.members.values() {
            assert!(
                !self.pending_members.contains_key(&member.member_id),
                "group {id}: member still pending"
            );
            assert!(
                member.awaiting_join.is_none() || self.state == PreparingRebalance,
                "group {id}: parked join"
            );
            assert!(
                member.awaiting_sync.is_none() || self.state == CompletingRebalance,
                "group {id}: parked sync"
            );
            if let Some(instance_id) = &member.group_instance_id {
                assert_eq!(
                    self.static_members.get(instance_id),
                    Some(&member.member_id),
                    "group {id}: static"
                );
            }
        }
        assert!(self.pending_sync.iter().all(|m| self.members.contains_key(m)), "group {id}: pending sync");
        assert_eq!(self.sync_deadline_ms.is_some(), !self.pending_sync.is_empty(), "group {id}: sync timer");
        let tokens: Vec<RequestToken> = self.pending_commits.iter().filter_map(|p| p.token).collect();
        let distinct: BTreeSet<RequestToken> = tokens.iter().copied().collect();
        assert_eq!(tokens.len(), distinct.len(), "group {id}: a pending commit's token twice");
        assert!(
            self.pending_commits.iter().all(|p| p.token.is_some() || p.producer_id.is_some()),
            "group {id}: a plain commit pending without its token"
        );
        assert!(
            self.pending_commits.iter().all(|p| !p.offsets.is_empty()),
            "group {id}: empty pending commit"
        );
    }
    // ANCHOR_END: invariants
}
