//! The coordinator: every group this broker coordinates, by id. It routes
//! each request to its group, creates and deletes groups, and rebuilds them
//! from `__consumer_offsets` after a restart.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use super::offsets::CommitResult;
use super::records::GroupRecord;
use super::state::{Group, Member};
use super::txn_offsets::OffsetsLogEntry;
use super::types::*;
use crate::TopicPartition;

/// Kafka's classic `GroupCoordinator`, without IO: inputs are method calls
/// carrying `now_ms`, outputs are answers and an [`Output`] of delayed
/// answers and records to persist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupCoordinator {
    config: GroupCoordinatorConfig,
    pub(super) groups: BTreeMap<String, Group>,
}

impl GroupCoordinator {
    pub fn new(config: GroupCoordinatorConfig) -> Self {
        GroupCoordinator { config, groups: BTreeMap::new() }
    }

    pub fn config(&self) -> &GroupCoordinatorConfig {
        &self.config
    }

    /// A group, if it exists.
    pub fn group(&self, group_id: &str) -> Option<&Group> {
        self.groups.get(group_id)
    }

    // ANCHOR: join_group
    /// JoinGroup. The answer comes in this output or, once the rebalance
    /// completes, in a later one — tagged with `token` either way.
    pub fn join_group(&mut self, token: RequestToken, req: &JoinGroupRequest, now_ms: i64) -> Output {
        let mut out = Output::default();
        let config = &self.config;
        let error = if req.group_id.is_empty() {
            Some(GroupError::InvalidGroupId)
        } else if req.session_timeout_ms < config.session_timeout_ms_min
            || req.session_timeout_ms > config.session_timeout_ms_max
        {
            Some(GroupError::InvalidSessionTimeout)
        } else if !req.member_id.is_empty() && !self.groups.contains_key(&req.group_id) {
            // A member of a group that is gone (deleted, or lost with the coordinator).
            Some(GroupError::UnknownMemberId)
        } else {
            None
        };
        if let Some(error) = error {
            out.join(token, JoinGroupResponse::error(&req.member_id, error));
            return out;
        }
        let group = match self.groups.entry(req.group_id.clone()) {
            Entry::Occupied(group) => group.into_mut(),
            Entry::Vacant(entry) => {
                // A new group exists only once a join is valid: a refused one
                // (no protocol type or no protocols) must not leave an empty
                // group behind in ListGroups.
                let group = Group::new(&req.group_id, now_ms);
                if !group.supports_protocols(&req.protocol_type, &req.protocols) {
                    let error = GroupError::InconsistentGroupProtocol;
                    out.join(token, JoinGroupResponse::error(&req.member_id, error));
                    return out;
                }
                entry.insert(group)
            }
        };
        group.join(token, req, config, now_ms, &mut out);
        out
    }
    // ANCHOR_END: join_group

    /// SyncGroup. A follower's answer waits for the leader's assignment.
    pub fn sync_group(&mut self, token: RequestToken, req: &SyncGroupRequest, now_ms: i64) -> Output {
        let mut out = Output::default();
        match self.groups.get_mut(&req.group_id) {
            _ if req.group_id.is_empty() => {
                out.sync(token, SyncGroupResponse::error(GroupError::InvalidGroupId))
            }
            None => out.sync(token, SyncGroupResponse::error(GroupError::UnknownMemberId)),
            Some(group) => group.sync(token, req, now_ms, &mut out),
        }
        out
    }

    /// Heartbeat: `None` means keep going; REBALANCE_IN_PROGRESS means rejoin.
    pub fn heartbeat(&mut self, req: &HeartbeatRequest, now_ms: i64) -> Option<GroupError> {
        if req.group_id.is_empty() {
            return Some(GroupError::InvalidGroupId);
        }
        match self.groups.get_mut(&req.group_id) {
            None => Some(GroupError::UnknownMemberId),
            Some(group) => group.heartbeat(req, now_ms),
        }
    }

    /// LeaveGroup, for one member (v0–v2) or a batch (v3+).
    pub fn leave_group(
        &mut self,
        group_id: &str,
        members: &[LeavingMember],
        now_ms: i64,
    ) -> (LeaveGroupResponse, Output) {
        let mut out = Output::default();
        let config = &self.config;
        let response = match self.groups.get_mut(group_id) {
            _ if group_id.is_empty() => {
                LeaveGroupResponse { error: Some(GroupError::InvalidGroupId), members: vec![] }
            }
            None => LeaveGroupResponse {
                error: None,
                members: members.iter().map(|m| (m.clone(), Some(GroupError::UnknownMemberId))).collect(),
            },
            Some(group) => LeaveGroupResponse {
                error: None,
                members: members
                    .iter()
                    .map(|m| (m.clone(), group.leave(m, config, now_ms, &mut out)))
                    .collect(),
            },
        };
        (response, out)
    }

    /// OffsetCommit. A group that does not exist is created by a commit with
    /// generation -1 (a consumer that only stores its offsets here). As with
    /// every [`Output`], the records must be appended before the results are
    /// sent: an acknowledged commit is a stored one.
    pub fn offset_commit(
        &mut self,
        token: RequestToken,
        req: &OffsetCommitRequest,
        now_ms: i64,
    ) -> (Vec<CommitResult>, Output) {
        let mut out = Output::default();
        if !self.groups.contains_key(&req.group_id) {
            if req.generation_id >= 0 {
                // A member of a generation this coordinator does not know.
                let results =
                    req.partitions.iter().map(|p| (p.partition.clone(), Some(GroupError::IllegalGeneration)));
                return (results.collect(), out);
            }
            self.groups.insert(req.group_id.clone(), Group::new(&req.group_id, now_ms));
        }
        let group = self.groups.get_mut(&req.group_id).expect("inserted above");
        let results = group.commit(token, req, &self.config, now_ms, &mut out);
        (results, out)
    }

    // ANCHOR: store_completed
    /// The driver's report on an [`Output`] whose `store` was `token`: its
    /// records were stored (appended, replicated to the ISR and, if the log
    /// is durable, flushed), or why not. An OffsetCommit's offsets become
    /// visible to OffsetFetch only now, and only if stored (see
    /// `Group::commit_completed` for the order completions are applied in);
    /// a generation's assignment is handed out only now, or a failed one
    /// starts a new rebalance (`Group::assignment_completed`). A
    /// token this coordinator no longer holds (its group was deleted,
    /// unloaded or reloaded meanwhile) is ignored.
    pub fn store_completed(
        &mut self,
        token: RequestToken,
        outcome: Result<(), GroupError>,
        now_ms: i64,
    ) -> Output {
        let mut out = Output::default();
        for group in self.groups.values_mut() {
            if group.commit_completed(token, outcome.is_ok())
                || group.assignment_completed(token, outcome, &self.config, now_ms, &mut out)
            {
                break;
            }
        }
        out
    }
    // ANCHOR_END: store_completed

    // ANCHOR: txn_offset_commit
    /// TxnOffsetCommit (chapter 9): as [`offset_commit`](Self::offset_commit),
    /// but the output's records must be appended as one transactional batch
    /// of the request's producer (`Output::transactional`), and the offsets
    /// stay pending after their store until the transaction's marker
    /// ([`complete_txn`](Self::complete_txn)). A group that does not exist is
    /// created by an accepted commit, whatever its generation, as Kafka does.
    pub fn txn_offset_commit(
        &mut self,
        token: RequestToken,
        req: &TxnOffsetCommitRequest,
        now_ms: i64,
    ) -> (Vec<CommitResult>, Output) {
        let mut out = Output::default();
        let existed = self.groups.contains_key(&req.group_id);
        let group =
            self.groups.entry(req.group_id.clone()).or_insert_with(|| Group::new(&req.group_id, now_ms));
        let results = group.txn_commit(token, req, &self.config, now_ms, &mut out);
        if !existed && out.store.is_none() {
            // Refused: no empty group left behind in ListGroups.
            self.groups.remove(&req.group_id);
        }
        (results, out)
    }
    // ANCHOR_END: txn_offset_commit

    // ANCHOR: complete_txn
    /// The marker of `producer_id`'s transaction (COMMIT if `commit`) was
    /// written to a `__consumer_offsets` partition (Kafka's
    /// `handleTxnCompletion`): every group `in_partition` says is on it
    /// applies or drops the transaction's offsets. Writes nothing: the
    /// marker is the record. Returns the groups that held some.
    pub fn complete_txn(
        &mut self,
        producer_id: i64,
        commit: bool,
        in_partition: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        self.groups
            .iter_mut()
            .filter(|(id, _)| in_partition(id))
            .filter_map(|(id, group)| group.complete_txn(producer_id, commit).then(|| id.clone()))
            .collect()
    }
    // ANCHOR_END: complete_txn

    /// OffsetFetch: committed offsets (-1 for none), of `partitions` or of all.
    pub fn offset_fetch(&self, group_id: &str, partitions: Option<&[TopicPartition]>) -> Vec<FetchedOffset> {
        self.offset_fetch_stable(group_id, partitions, false)
    }

    /// OffsetFetch v7+: with `require_stable`, a partition whose offset a
    /// pending commit (a transaction's, usually) is about to change is
    /// answered UNSTABLE_OFFSET_COMMIT (KIP-447).
    pub fn offset_fetch_stable(
        &self,
        group_id: &str,
        partitions: Option<&[TopicPartition]>,
        require_stable: bool,
    ) -> Vec<FetchedOffset> {
        match self.groups.get(group_id) {
            Some(group) => group.fetch(partitions, require_stable),
            None => Group::new(group_id, 0).fetch(partitions, require_stable),
        }
    }

    /// ListGroups, optionally only groups in `states` (ListGroups v4+).
    pub fn list_groups(&self, states: &[GroupState]) -> Vec<ListedGroup> {
        self.groups
            .values()
            .filter(|g| states.is_empty() || states.contains(&g.state()))
            .map(|g| ListedGroup {
                group_id: g.group_id().to_string(),
                protocol_type: g.protocol_type().unwrap_or_default().to_string(),
                state: g.state(),
            })
            .collect()
    }

    /// DescribeGroups. Metadata, assignments and the protocol only for a
    /// Stable group, as Kafka (mid-rebalance they are in flux).
    pub fn describe_groups(&self, group_ids: &[String]) -> Vec<DescribedGroup> {
        group_ids
            .iter()
            .map(|id| match self.groups.get(id) {
                None => DescribedGroup {
                    group_id: id.clone(),
                    state: GroupState::Dead,
                    protocol_type: String::new(),
                    protocol: String::new(),
                    members: vec![],
                },
                Some(g) => {
                    let stable = g.state() == GroupState::Stable;
                    let protocol = if stable { g.protocol_name().unwrap_or_default() } else { "" };
                    let describe = |m: &Member| DescribedMember {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        metadata: if stable { m.metadata(protocol) } else { vec![] },
                        assignment: if stable { m.assignment.clone() } else { vec![] },
                    };
                    DescribedGroup {
                        group_id: id.clone(),
                        state: g.state(),
                        protocol_type: g.protocol_type().unwrap_or_default().to_string(),
                        protocol: protocol.to_string(),
                        members: g.members().map(describe).collect(),
                    }
                }
            })
            .collect()
    }

    // ANCHOR: delete_groups
    /// DeleteGroups: only an Empty group goes, with its offsets — as
    /// tombstones, so compaction forgets them too.
    pub fn delete_groups(&mut self, group_ids: &[String]) -> (Vec<(String, Option<GroupError>)>, Output) {
        let mut out = Output::default();
        let mut results = Vec::with_capacity(group_ids.len());
        for id in group_ids {
            let error = match self.groups.get(id) {
                None => Some(GroupError::GroupIdNotFound),
                Some(g) if g.state() != GroupState::Empty => Some(GroupError::NonEmptyGroup),
                Some(_) => {
                    let mut group = self.groups.remove(id).expect("found above");
                    group.transition(GroupState::Dead, group.state_timestamp_ms);
                    for partition in std::mem::take(&mut group.offsets).into_keys() {
                        out.records.push(GroupRecord::Offset {
                            group_id: id.clone(),
                            partition,
                            value: None,
                        });
                    }
                    out.records.push(GroupRecord::Group { group_id: id.clone(), value: None });
                    None
                }
            };
            results.push((id.clone(), error));
        }
        (results, out)
    }
    // ANCHOR_END: delete_groups

    // ANCHOR: delete_topic_offsets
    /// A topic was deleted: every group forgets its offsets in it, with
    /// tombstones so a restart (and compaction) forgets them too — else a
    /// topic recreated with the same name would be read from the old
    /// topic's positions, skipping its first records. A group this leaves
    /// Empty without offsets goes as well, as in Kafka's
    /// `handleDeletedPartitions` (through `cleanupGroupMetadata`, which also
    /// sweeps every other such group; spool has no such sweep).
    pub fn delete_topic_offsets(&mut self, topics: &[String], now_ms: i64) -> Output {
        let mut out = Output::default();
        let mut gone = Vec::new();
        for (group_id, group) in &mut self.groups {
            // Committed and pending: a pending commit's record is in the log
            // before the tombstone, so the tombstone wins there too.
            let pending = group.pending_commits.iter().flat_map(|p| p.offsets.keys());
            let deleted: BTreeSet<TopicPartition> =
                group.offsets.keys().chain(pending).filter(|p| topics.contains(&p.topic)).cloned().collect();
            if deleted.is_empty() {
                continue;
            }
            for pending in &mut group.pending_commits {
                // As Kafka's removeOffsets: stored later, a pending commit
                // must not bring a deleted topic's offset back.
                pending.offsets.retain(|p, _| !topics.contains(&p.topic));
            }
            group.pending_commits.retain(|p| !p.offsets.is_empty());
            for partition in deleted {
                group.offsets.remove(&partition);
                out.records.push(GroupRecord::Offset { group_id: group_id.clone(), partition, value: None });
            }
            if group.state() == GroupState::Empty
                && group.offsets.is_empty()
                && group.pending_commits.is_empty()
                && group.pending_members.is_empty()
            {
                gone.push(group_id.clone());
            }
        }
        for group_id in gone {
            let mut group = self.groups.remove(&group_id).expect("found above");
            group.transition(GroupState::Dead, now_ms);
            out.records.push(GroupRecord::Group { group_id, value: None });
        }
        out
    }
    // ANCHOR_END: delete_topic_offsets

    /// Fires every timer due at `now_ms`: rebalances that waited long enough,
    /// sessions that expired.
    pub fn tick(&mut self, now_ms: i64) -> Output {
        let mut out = Output::default();
        for group in self.groups.values_mut() {
            group.tick(&self.config, now_ms, &mut out);
        }
        out
    }

    /// When [`tick`](Self::tick) next has something to do: the driver sleeps until then.
    pub fn next_deadline_ms(&self) -> Option<i64> {
        self.groups.values().filter_map(Group::next_deadline_ms).min()
    }

    /// Every group's invariants (see [`Group::check_invariants`]).
    pub fn check_invariants(&self) {
        for (id, group) in &self.groups {
            assert_eq!(id, group.group_id());
            group.check_invariants();
        }
    }

    // ANCHOR: load
    /// Rebuilds the coordinator from `__consumer_offsets` after a restart:
    /// see [`load_partition`](Self::load_partition), for every partition at once.
    pub fn load<E: Into<OffsetsLogEntry>>(
        config: GroupCoordinatorConfig,
        records: impl IntoIterator<Item = E>,
        now_ms: i64,
    ) -> Self {
        let mut coordinator = GroupCoordinator::new(config);
        coordinator.load_partition(records, now_ms);
        coordinator
    }

    /// Adds the groups of one `__consumer_offsets` partition, read from its
    /// log start, when this broker becomes their coordinator (Kafka's
    /// `onElection` → `loadGroupsForPartition`): the last value of each key
    /// wins, a tombstone deletes. A group comes back Stable with its members
    /// and assignment, or Empty; its members must heartbeat within a session
    /// from `now_ms`. Parked requests, pending KIP-394 ids and rebalances in
    /// progress are not in the log and are lost: their clients see errors
    /// and rejoin. A group already in memory under a loaded id is replaced.
    ///
    /// Chapter 9: a transaction's offset records count only once its COMMIT
    /// marker follows them, and then only where no later record of the same
    /// key came first; those of a transaction without a marker yet stay
    /// pending (see `txn_offsets.rs`). A plain [`GroupRecord`] is an entry.
    pub fn load_partition<E: Into<OffsetsLogEntry>>(
        &mut self,
        entries: impl IntoIterator<Item = E>,
        now_ms: i64,
    ) {
        let mut metadata = BTreeMap::new();
        // Each group's offsets, committed and pending, replayed in log order.
        let mut offsets: BTreeMap<String, Group> = BTreeMap::new();
        fn loading(offsets: &mut BTreeMap<String, Group>, group_id: String, now_ms: i64) -> &mut Group {
            offsets.entry(group_id.clone()).or_insert_with(|| Group::new(&group_id, now_ms))
        }
        for entry in entries {
            match entry.into() {
                OffsetsLogEntry::Record(GroupRecord::Group { group_id, value })
                | OffsetsLogEntry::Transactional { record: GroupRecord::Group { group_id, value }, .. } => {
                    metadata.insert(group_id, value);
                }
                OffsetsLogEntry::Record(GroupRecord::Offset { group_id, partition, value }) => {
                    loading(&mut offsets, group_id, now_ms).load_offset(partition, value);
                }
                OffsetsLogEntry::Transactional {
                    producer_id,
                    record: GroupRecord::Offset { group_id, partition, value },
                } => loading(&mut offsets, group_id, now_ms).load_txn_offset(producer_id, partition, value),
                OffsetsLogEntry::Marker { producer_id, commit } => {
                    for group in offsets.values_mut() {
                        group.complete_txn(producer_id, commit);
                    }
                }
            }
        }
        for group_id in metadata.keys().chain(offsets.keys()) {
            self.groups.remove(group_id);
        }
        for (group_id, value) in metadata {
            let Some(value) = value else { continue };
            self.groups.insert(group_id.clone(), Group::from_metadata(&group_id, value, now_ms));
        }
        for (group_id, loaded) in offsets {
            if loaded.offsets.is_empty() && loaded.pending_commits.is_empty() {
                continue;
            }
            let group = self.groups.entry(group_id.clone()).or_insert_with(|| Group::new(&group_id, now_ms));
            group.offsets = loaded.offsets;
            group.pending_commits = loaded.pending_commits;
        }
    }
    // ANCHOR_END: load

    // ANCHOR: unload
    /// Forgets every group `owned` says belongs to a `__consumer_offsets`
    /// partition this broker no longer leads (Kafka's `onResignation` →
    /// `removeGroupsForPartition`). Their parked JoinGroups and SyncGroups are
    /// answered NOT_COORDINATOR, so their clients find the new coordinator,
    /// which loads the groups from its copy of the partition. Nothing is
    /// written: the log already holds everything the groups stored.
    pub fn unload(&mut self, owned: impl Fn(&str) -> bool) -> Output {
        let mut out = Output::default();
        let gone: Vec<String> = self.groups.keys().filter(|id| owned(id)).cloned().collect();
        for group_id in gone {
            let group = self.groups.remove(&group_id).expect("listed above");
            for member in group.members() {
                if let Some(token) = member.awaiting_join {
                    out.join(token, JoinGroupResponse::error(&member.member_id, GroupError::NotCoordinator));
                }
                if let Some(token) = member.awaiting_sync {
                    out.sync(token, SyncGroupResponse::error(GroupError::NotCoordinator));
                }
            }
        }
        out
    }
    // ANCHOR_END: unload
}

impl Group {
    /// A group as its last GroupMetadataValue left it.
    fn from_metadata(group_id: &str, value: super::records::GroupMetadataValue, now_ms: i64) -> Group {
        let mut group = Group::new(group_id, now_ms);
        group.generation_id = value.generation.max(0);
        group.protocol_type = Some(value.protocol_type.clone()).filter(|t| !t.is_empty());
        let protocol = value.protocol.clone().unwrap_or_default();
        for m in value.members {
            let member = Member {
                member_id: m.member_id,
                group_instance_id: m.group_instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                protocol_type: value.protocol_type.clone(),
                protocols: vec![Protocol { name: protocol.clone(), metadata: m.subscription }],
                assignment: m.assignment,
                awaiting_join: None,
                awaiting_sync: None,
                is_new: false,
                heartbeat_deadline_ms: Some(now_ms + i64::from(m.session_timeout_ms)),
            };
            group.add(member);
        }
        if group.members.is_empty() {
            group.leader_id = None;
        } else {
            group.protocol_name = Some(protocol);
            // The stored leader if it is a member (Kafka trusts the record).
            if let Some(leader) = value.leader.filter(|l| group.members.contains_key(l)) {
                group.leader_id = Some(leader);
            }
            group.state = GroupState::Stable;
        }
        group.state_timestamp_ms = value.current_state_timestamp_ms;
        group
    }
}
