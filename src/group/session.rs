//! After the join: SyncGroup hands out the leader's assignment, Heartbeat
//! keeps sessions alive, LeaveGroup and the timers remove members. Each
//! function follows the Kafka method of the same name in
//! `GroupCoordinator.scala` (3.x, before KIP-848).

use std::collections::BTreeMap;

use super::state::{Group, PendingAssignment};
use super::types::*;

impl Group {
    // ANCHOR: sync
    /// A SyncGroup. The leader's carries the assignment: it is written and
    /// held pending (the output's `store`); every SyncGroup stays parked until
    /// the driver reports the store (`assignment_completed`). A SyncGroup in
    /// a Stable group gets the member's part at once.
    pub(super) fn sync(
        &mut self,
        token: RequestToken,
        req: &SyncGroupRequest,
        now_ms: i64,
        out: &mut Output,
    ) {
        let error = if self.state == GroupState::Dead {
            Some(GroupError::CoordinatorNotAvailable)
        } else if let Some(error) = self.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
            Some(error)
        } else if req.generation_id != self.generation_id {
            Some(GroupError::IllegalGeneration)
        } else if req.protocol_type.as_ref().is_some_and(|t| self.protocol_type.as_ref() != Some(t))
            || req.protocol_name.as_ref().is_some_and(|n| self.protocol_name.as_ref() != Some(n))
        {
            Some(GroupError::InconsistentGroupProtocol)
        } else {
            match self.state {
                GroupState::Empty | GroupState::Dead => Some(GroupError::UnknownMemberId),
                GroupState::PreparingRebalance => Some(GroupError::RebalanceInProgress),
                GroupState::CompletingRebalance | GroupState::Stable => None,
            }
        };
        if let Some(error) = error {
            return out.sync(token, SyncGroupResponse::error(error));
        }
        self.pending_sync.remove(&req.member_id);
        if self.pending_sync.is_empty() {
            self.sync_deadline_ms = None;
        }
        if self.state == GroupState::Stable {
            self.heartbeat_received(&req.member_id, now_ms);
            let assignment = self.members[&req.member_id].assignment.clone();
            return out.sync(token, self.sync_result(assignment));
        }
        let member = self.members.get_mut(&req.member_id).expect("validated");
        if let Some(old) = member.awaiting_sync.replace(token) {
            out.sync(old, SyncGroupResponse::error(GroupError::RebalanceInProgress));
        }
        if self.leader_id.as_deref() == Some(req.member_id.as_str()) {
            // Members the leader left out get an empty assignment; ids it
            // made up are ignored.
            let assignment: BTreeMap<String, Vec<u8>> = self
                .members
                .keys()
                .map(|id| {
                    let part = req.assignments.iter().rev().find(|(m, _)| m == id);
                    (id.clone(), part.map(|(_, a)| a.clone()).unwrap_or_default())
                })
                .collect();
            out.records.push(self.metadata_record_assigning(|m| assignment[&m.member_id].clone()));
            // Handed out only once stored: see `assignment_completed`.
            let generation_id = self.generation_id;
            self.pending_assignment = Some(PendingAssignment { token, generation_id, assignment });
            out.store = Some(token);
        }
    }
    // ANCHOR_END: sync

    // ANCHOR: assignment_completed
    /// The driver's report on the store of the generation the leader's
    /// SyncGroup (`token`) carried; `false` if this group holds no such
    /// store. As Kafka's SyncGroup: if the group is still completing that
    /// generation, a stored assignment is handed to every parked SyncGroup
    /// and the group is Stable; a failed one answers them all with the
    /// error, is cleared, and a new rebalance starts — no member reads by an
    /// assignment the log does not have. If the group moved on meanwhile (a
    /// member joined, one was removed), there is nothing left to do.
    pub(super) fn assignment_completed(
        &mut self,
        token: RequestToken,
        outcome: Result<(), GroupError>,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) -> bool {
        let Some(pending) = self.pending_assignment.take_if(|p| p.token == token) else {
            return false;
        };
        if self.state != GroupState::CompletingRebalance || self.generation_id != pending.generation_id {
            return true;
        }
        match outcome {
            Ok(()) => {
                // Every change of membership since the sync started a new
                // rebalance (checked above), so these are the generation's members.
                for (member_id, assignment) in pending.assignment {
                    if let Some(member) = self.members.get_mut(&member_id) {
                        member.assignment = assignment;
                    }
                }
                self.propagate_assignment(None, now_ms, out);
                self.transition(GroupState::Stable, now_ms);
            }
            Err(error) => {
                self.reset_and_propagate_assignment_error(error, now_ms, out);
                self.maybe_prepare_rebalance(config, now_ms, out);
            }
        }
        true
    }
    // ANCHOR_END: assignment_completed

    fn sync_result(&self, assignment: Vec<u8>) -> SyncGroupResponse {
        SyncGroupResponse {
            error: None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment,
        }
    }

    pub(super) fn reset_and_propagate_assignment_error(
        &mut self,
        error: GroupError,
        now_ms: i64,
        out: &mut Output,
    ) {
        assert_eq!(self.state, GroupState::CompletingRebalance);
        for member in self.members.values_mut() {
            member.assignment.clear();
        }
        self.propagate_assignment(Some(error), now_ms, out);
    }

    /// Answers every parked SyncGroup, and restarts those members' sessions.
    fn propagate_assignment(&mut self, error: Option<GroupError>, now_ms: i64, out: &mut Output) {
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for member_id in ids {
            let member = self.members.get_mut(&member_id).expect("listed above");
            let Some(token) = member.awaiting_sync.take() else { continue };
            let assignment = member.assignment.clone();
            let response = match error {
                Some(error) => SyncGroupResponse::error(error),
                None => self.sync_result(assignment),
            };
            out.sync(token, response);
            self.heartbeat_received(&member_id, now_ms);
        }
    }

    // ANCHOR: heartbeat
    /// A Heartbeat: keeps the session alive, and tells the member whether it
    /// must rejoin.
    pub(super) fn heartbeat(&mut self, req: &HeartbeatRequest, now_ms: i64) -> Option<GroupError> {
        if self.state == GroupState::Dead {
            return Some(GroupError::CoordinatorNotAvailable);
        }
        if let Some(error) = self.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
            return Some(error);
        }
        if req.generation_id != self.generation_id {
            return Some(GroupError::IllegalGeneration);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => Some(GroupError::UnknownMemberId),
            GroupState::PreparingRebalance => {
                self.heartbeat_received(&req.member_id, now_ms);
                Some(GroupError::RebalanceInProgress)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.heartbeat_received(&req.member_id, now_ms);
                None
            }
        }
    }
    // ANCHOR_END: heartbeat

    /// Kafka's `removeMemberAndUpdateGroup`: a member left or expired.
    pub(super) fn remove_member_and_update(
        &mut self,
        member_id: &str,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) {
        let Some(member) = self.remove(member_id) else { return };
        if let Some(token) = member.awaiting_join {
            out.join(token, JoinGroupResponse::error("", GroupError::UnknownMemberId));
        }
        if let Some(token) = member.awaiting_sync {
            // Kafka leaves this one unanswered; the driver holds its token.
            out.sync(token, SyncGroupResponse::error(GroupError::UnknownMemberId));
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(config, now_ms, out)
            }
            GroupState::PreparingRebalance => self.try_complete_join(now_ms, out),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// One member of a LeaveGroup (Kafka's `handleLeaveGroup`, per member).
    pub(super) fn leave(
        &mut self,
        leaving: &LeavingMember,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) -> Option<GroupError> {
        let instance_id = leaving.group_instance_id.as_deref();
        if !leaving.member_id.is_empty() && self.is_static_member_fenced(&leaving.member_id, instance_id) {
            return Some(GroupError::FencedInstanceId);
        }
        if self.pending_members.remove(&leaving.member_id).is_some() {
            if self.state == GroupState::PreparingRebalance {
                self.try_complete_join(now_ms, out);
            }
            return None;
        }
        let member_id = match instance_id.and_then(|i| self.static_members.get(i)) {
            Some(member_id) => member_id.clone(),
            None if self.members.contains_key(&leaving.member_id) => leaving.member_id.clone(),
            None => return Some(GroupError::UnknownMemberId),
        };
        self.remove_member_and_update(&member_id, config, now_ms, out);
        None
    }

    // ANCHOR: tick
    /// Fires every timer of this group that is due at `now_ms`, earliest
    /// first: the join timer, expired sessions, expired KIP-394 ids, and
    /// members of a new generation that never sent SyncGroup.
    pub(super) fn tick(&mut self, config: &GroupCoordinatorConfig, now_ms: i64, out: &mut Output) {
        // Each step removes or pushes back the timer it fires, and a removal
        // re-arms at most the join and sync timers, so this ends; the bound
        // turns a mistake in that into a failure, not a hang.
        let steps_max = 16 * (1 + self.members.len() + self.pending_members.len());
        for _ in 0..steps_max {
            let Some(deadline_ms) = self.next_deadline_ms() else { return };
            if deadline_ms > now_ms {
                return;
            }
            if self.join_timer.is_some_and(|t| t.deadline_ms() == deadline_ms) {
                self.on_join_timer(config, now_ms, out);
            } else if let Some(member) =
                self.members.values().find(|m| m.heartbeat_deadline_ms == Some(deadline_ms))
            {
                let member_id = member.member_id.clone();
                if !member.is_new && (member.is_awaiting_join() || member.is_awaiting_sync()) {
                    // A parked request stands in for heartbeats; the session
                    // restarts when it is answered.
                    self.members.get_mut(&member_id).expect("found").heartbeat_deadline_ms = None;
                } else {
                    self.remove_member_and_update(&member_id, config, now_ms, out);
                }
            } else if let Some((member_id, _)) = self.pending_members.iter().find(|(_, &d)| d == deadline_ms)
            {
                let member_id = member_id.clone();
                self.pending_members.remove(&member_id);
                if self.state == GroupState::PreparingRebalance {
                    self.try_complete_join(now_ms, out);
                }
            } else {
                // Kafka's onExpirePendingSync: drop whoever did not sync, rebalance.
                for member_id in std::mem::take(&mut self.pending_sync) {
                    self.remove(&member_id);
                }
                self.sync_deadline_ms = None;
                self.prepare_rebalance(config, now_ms, out);
            }
        }
        panic!("group {}: timers keep firing at {now_ms}", self.group_id);
    }
    // ANCHOR_END: tick
}
