//! The rebalance protocol of one group, up to the new generation: JoinGroup,
//! static members taking over, and the join timer that ends a rebalance
//! (`session.rs` has what follows). Each function follows the Kafka method of
//! the same name in `GroupCoordinator.scala` (3.x, before KIP-848).

use super::state::{Group, JoinTimer, Member};
use super::types::*;

impl Group {
    // ANCHOR: join
    /// A JoinGroup for this group (the coordinator has checked the group id
    /// and session timeout, and created the group for a new member).
    pub(super) fn join(
        &mut self,
        token: RequestToken,
        req: &JoinGroupRequest,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        if !self.accept_joining_member(&req.member_id, config) {
            self.remove(&req.member_id);
            out.join(token, JoinGroupResponse::error("", GroupError::GroupMaxSizeReached));
        } else if self.state == GroupState::Dead {
            out.join(token, JoinGroupResponse::error(&req.member_id, GroupError::CoordinatorNotAvailable));
        } else if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            out.join(token, JoinGroupResponse::error(&req.member_id, GroupError::InconsistentGroupProtocol));
        } else if req.member_id.is_empty() {
            self.join_new_member(token, req, config, now_ms, out);
        } else {
            self.join_known_member(token, req, config, now_ms, out);
        }
        if self.state == GroupState::PreparingRebalance {
            self.try_complete_join(now_ms, out);
        }
    }
    // ANCHOR_END: join

    /// Kafka's `acceptJoiningMember`: `group.max.size` counts members waiting
    /// in a rebalance, or all members of a formed generation.
    fn accept_joining_member(&self, member_id: &str, config: &GroupCoordinatorConfig) -> bool {
        let known = self.members.get(member_id);
        match self.state {
            GroupState::Empty | GroupState::Dead => true,
            GroupState::PreparingRebalance => {
                known.is_some_and(Member::is_awaiting_join)
                    || self.members.values().filter(|m| m.is_awaiting_join()).count() < config.group_size_max
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                known.is_some() || self.members.len() < config.group_size_max
            }
        }
    }

    /// A member without an id: a static one takes over its instance id, a
    /// dynamic one on JoinGroup v4+ gets its id first (KIP-394).
    fn join_new_member(
        &mut self,
        token: RequestToken,
        req: &JoinGroupRequest,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client_id);
        let member_id = format!("{prefix}-{}", req.new_member_uuid);
        if self.members.contains_key(&member_id) || self.pending_members.contains_key(&member_id) {
            // The caller reused a uuid: refuse rather than merge two clients.
            out.join(token, JoinGroupResponse::error("", GroupError::UnknownMemberId));
            return;
        }
        match &req.group_instance_id {
            Some(instance_id) => match self.static_members.get(instance_id).cloned() {
                Some(old_member_id) => {
                    self.replace_static_member(token, req, &old_member_id, &member_id, config, now_ms, out)
                }
                None => self.add_member_and_rebalance(token, req, member_id, config, now_ms, out),
            },
            None if req.require_known_member_id => {
                let deadline_ms = now_ms + i64::from(req.session_timeout_ms);
                self.pending_members.insert(member_id.clone(), deadline_ms);
                out.join(token, JoinGroupResponse::error(&member_id, GroupError::MemberIdRequired));
            }
            None => self.add_member_and_rebalance(token, req, member_id, config, now_ms, out),
        }
    }

    /// A member that sent its id: a pending one joins for real; a known one
    /// rejoins, which starts a rebalance if its metadata changed or it leads.
    fn join_known_member(
        &mut self,
        token: RequestToken,
        req: &JoinGroupRequest,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        let member_id = &req.member_id;
        if self.pending_members.contains_key(member_id) {
            if req.group_instance_id.is_some() {
                // Kafka throws here (a pending id is never static): refuse instead.
                out.join(token, JoinGroupResponse::error(member_id, GroupError::UnknownMemberId));
                return;
            }
            return self.add_member_and_rebalance(token, req, member_id.clone(), config, now_ms, out);
        }
        if let Some(error) = self.validate_member(member_id, req.group_instance_id.as_deref()) {
            return out.join(token, JoinGroupResponse::error(member_id, error));
        }
        let member = &self.members[member_id];
        let unchanged = member.protocols == req.protocols;
        let is_leader = self.leader_id.as_deref() == Some(member_id.as_str());
        match self.state {
            GroupState::PreparingRebalance => {
                self.update_member_and_rebalance(token, req, config, now_ms, out)
            }
            // Same metadata: it lost the answer; send the current generation again.
            GroupState::CompletingRebalance if unchanged => {
                out.join(token, self.join_result(member_id, is_leader));
            }
            GroupState::Stable if unchanged && !is_leader => {
                out.join(token, self.join_result(member_id, false))
            }
            // Changed metadata, or the leader asks for a new assignment (say, new partitions).
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member_and_rebalance(token, req, config, now_ms, out)
            }
            GroupState::Empty | GroupState::Dead => {
                out.join(token, JoinGroupResponse::error(member_id, GroupError::UnknownMemberId))
            }
        }
    }

    /// The JoinGroup answer of the current generation; the leader also gets every member.
    fn join_result(&self, member_id: &str, with_members: bool) -> JoinGroupResponse {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        let members = if with_members {
            self.members
                .values()
                .map(|m| JoinGroupMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    metadata: m.metadata(protocol),
                })
                .collect()
        } else {
            vec![]
        };
        JoinGroupResponse {
            error: None,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_id.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members,
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        token: RequestToken,
        req: &JoinGroupRequest,
        member_id: String,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        let member = Member {
            member_id,
            group_instance_id: req.group_instance_id.clone(),
            client_id: req.client_id.clone(),
            client_host: req.client_host.clone(),
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            session_timeout_ms: req.session_timeout_ms,
            protocol_type: req.protocol_type.clone(),
            protocols: req.protocols.clone(),
            assignment: vec![],
            awaiting_join: Some(token),
            awaiting_sync: None,
            is_new: true,
            // A new member has no id to heartbeat with: its join may wait this long.
            heartbeat_deadline_ms: Some(now_ms + i64::from(config.new_member_join_timeout_ms)),
        };
        if self.state == GroupState::PreparingRebalance && self.generation_id == 0 {
            self.new_member_added = true;
        }
        self.add(member);
        self.maybe_prepare_rebalance(config, now_ms, out);
    }

    /// A known member rejoins: new metadata, and its JoinGroup parks.
    fn update_member_and_rebalance(
        &mut self,
        token: RequestToken,
        req: &JoinGroupRequest,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        self.update_member(token, req, out);
        self.maybe_prepare_rebalance(config, now_ms, out);
    }

    fn update_member(&mut self, token: RequestToken, req: &JoinGroupRequest, out: &mut Output) {
        let Some(member) = self.members.get_mut(&req.member_id) else { return };
        member.protocols = req.protocols.clone();
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.session_timeout_ms = req.session_timeout_ms;
        if let Some(old) = member.awaiting_join.replace(token) {
            // Kafka drops the earlier callback (its client gave up on it); the
            // driver still holds its token, so it gets an answer that only says "rejoin".
            out.join(old, JoinGroupResponse::error(&req.member_id, GroupError::RebalanceInProgress));
        }
    }

    // ANCHOR: static_rejoin
    /// KIP-345: a static member restarted and joined without its old member
    /// id. It takes over the old member (and its assignment); the old id is
    /// fenced. In a Stable group whose protocol would not change, there is no
    /// rebalance at all: the new instance syncs and gets the old assignment.
    #[allow(clippy::too_many_arguments)]
    fn replace_static_member(
        &mut self,
        token: RequestToken,
        req: &JoinGroupRequest,
        old_member_id: &str,
        new_member_id: &str,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        let current_leader = self.leader_id.clone().unwrap_or_default();
        let Some(mut member) = self.remove(old_member_id) else { return };
        // Whoever still waits with the old id is fenced at once.
        if let Some(old) = member.awaiting_join.take() {
            out.join(old, JoinGroupResponse::error(old_member_id, GroupError::FencedInstanceId));
        }
        if let Some(old) = member.awaiting_sync.take() {
            out.sync(old, SyncGroupResponse::error(GroupError::FencedInstanceId));
        }
        member.member_id = new_member_id.to_string();
        member.protocols = req.protocols.clone();
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.session_timeout_ms = req.session_timeout_ms;
        member.awaiting_join = Some(token);
        member.heartbeat_deadline_ms = Some(now_ms + i64::from(req.session_timeout_ms));
        let leads = self.leader_id.is_none() || current_leader == old_member_id;
        self.add(member);
        if leads {
            self.leader_id = Some(new_member_id.to_string());
        }
        match self.state {
            GroupState::Stable if self.select_protocol() == self.protocol_name => {
                out.records.push(self.metadata_record());
                let mut result = self.join_result(new_member_id, false);
                // The old leader id, so that a restarted leader does not
                // compute an assignment a Stable group would never hand out.
                result.leader = current_leader;
                if let Some(member) = self.members.get_mut(new_member_id) {
                    member.awaiting_join = None;
                }
                out.join(token, result);
            }
            GroupState::Stable => self.maybe_prepare_rebalance(config, now_ms, out),
            // The leader may already have the old id's assignment in hand.
            GroupState::CompletingRebalance => self.prepare_rebalance(config, now_ms, out),
            GroupState::PreparingRebalance => {}
            GroupState::Empty | GroupState::Dead => unreachable!("a static member in an empty group"),
        }
    }
    // ANCHOR_END: static_rejoin

    /// Kafka's `maybePrepareRebalance`: only from a state a rebalance may start in.
    pub(super) fn maybe_prepare_rebalance(
        &mut self,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        if matches!(self.state, GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty) {
            self.prepare_rebalance(config, now_ms, out);
        }
    }

    // ANCHOR: prepare_rebalance
    /// A rebalance starts: SyncGroups waiting for an assignment are told to
    /// rejoin, and the join timer starts — the initial delay for an empty group.
    pub(super) fn prepare_rebalance(
        &mut self,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        if self.state == GroupState::CompletingRebalance {
            self.reset_and_propagate_assignment_error(GroupError::RebalanceInProgress, now_ms, out);
        }
        self.pending_sync.clear();
        self.sync_deadline_ms = None;
        let rebalance_timeout_ms = self.rebalance_timeout_ms();
        let timer = if self.state == GroupState::Empty {
            let delay_ms = config.initial_rebalance_delay_ms;
            JoinTimer::Initial {
                deadline_ms: now_ms + i64::from(delay_ms),
                delay_ms,
                // Saturating: the rebalance timeout is the client's, any i32.
                remaining_ms: rebalance_timeout_ms.saturating_sub(delay_ms).max(0),
            }
        } else {
            JoinTimer::Rebalance { deadline_ms: now_ms + i64::from(rebalance_timeout_ms) }
        };
        self.transition(GroupState::PreparingRebalance, now_ms);
        self.join_timer = Some(timer);
        self.try_complete_join(now_ms, out);
    }
    // ANCHOR_END: prepare_rebalance

    /// Completes the rebalance early if every member has rejoined and no
    /// KIP-394 id is outstanding (never during the initial delay).
    pub(super) fn try_complete_join(&mut self, now_ms: i64, out: &mut Output) {
        let all_joined =
            self.members.values().all(Member::is_awaiting_join) && self.pending_members.is_empty();
        if matches!(self.join_timer, Some(JoinTimer::Rebalance { .. })) && all_joined {
            self.complete_join(now_ms, out);
        }
    }

    /// The join timer fired.
    pub(super) fn on_join_timer(&mut self, config: &GroupCoordinatorConfig, now_ms: i64, out: &mut Output) {
        match self.join_timer {
            Some(JoinTimer::Initial { delay_ms, remaining_ms, .. })
                if self.new_member_added && remaining_ms != 0 =>
            {
                // Kafka's InitialDelayedJoin.onComplete: members keep arriving, wait once more.
                self.new_member_added = false;
                let delay = config.initial_rebalance_delay_ms.min(remaining_ms);
                let remaining = remaining_ms.saturating_sub(delay_ms).max(0);
                self.join_timer = Some(JoinTimer::Initial {
                    deadline_ms: now_ms + i64::from(delay),
                    delay_ms: delay,
                    remaining_ms: remaining,
                });
            }
            Some(_) => self.complete_join(now_ms, out),
            None => {}
        }
    }

    // ANCHOR: complete_join
    /// Kafka's `onCompleteJoin`: dynamic members that did not rejoin are
    /// dropped, the generation advances, the protocol is chosen, and every
    /// parked JoinGroup is answered — the leader's with all members' metadata.
    fn complete_join(&mut self, now_ms: i64, out: &mut Output) {
        self.join_timer = None;
        let missing: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.is_awaiting_join() && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in missing {
            self.remove(&member_id);
        }
        if !self.elect_joined_leader() && !self.members.is_empty() {
            // Only static members that did not rejoin are left: wait another round.
            let timeout_ms = self.rebalance_timeout_ms().max(1);
            self.join_timer = Some(JoinTimer::Rebalance { deadline_ms: now_ms + i64::from(timeout_ms) });
            return;
        }
        self.new_member_added = false;
        self.generation_id += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.transition(GroupState::Empty, now_ms);
            out.records.push(self.metadata_record());
            return;
        }
        self.protocol_name = self.select_protocol();
        self.transition(GroupState::CompletingRebalance, now_ms);
        let leader = self.leader_id.clone();
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for member_id in &ids {
            let result = self.join_result(member_id, leader.as_ref() == Some(member_id));
            let member = self.members.get_mut(member_id).expect("listed above");
            if let Some(token) = member.awaiting_join.take() {
                out.join(token, result);
            }
            member.is_new = false;
            self.heartbeat_received(member_id, now_ms);
            self.pending_sync.insert(member_id.clone());
        }
        self.sync_deadline_ms = Some(now_ms + i64::from(self.rebalance_timeout_ms()));
    }
    // ANCHOR_END: complete_join

    /// Kafka's `maybeElectNewJoinedLeader`: a leader that did not rejoin hands
    /// over to one that did. False if nobody rejoined.
    fn elect_joined_leader(&mut self) -> bool {
        let Some(leader) = &self.leader_id else { return false };
        if self.members[leader].is_awaiting_join() {
            return true;
        }
        match self.members.values().find(|m| m.is_awaiting_join()) {
            Some(joined) => {
                self.leader_id = Some(joined.member_id.clone());
                true
            }
            None => false,
        }
    }
}
