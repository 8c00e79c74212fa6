//! Elections: Vote requests and responses, with KIP-996's pre-vote.
//!
//! A voter whose leader went quiet first becomes *prospective* and asks
//! "would you vote for me?" without bumping its epoch. Only with a majority
//! of yeses does it become a candidate in `epoch + 1` and ask for real; so a
//! replica cut off from the others, timing out again and again, never
//! pushes the quorum's epoch up and never deposes a healthy leader.

use super::message::{Message, Output};
use super::node::Role;
use super::{ElectionState, Epoch, NodeId, Offset, RaftError, RaftLog, RaftNode};

impl RaftNode {
    pub(super) fn on_vote_request(
        &mut self,
        log: &impl RaftLog,
        from: NodeId,
        epoch: Epoch,
        candidate_log: (Epoch, Offset),
        pre_vote: bool,
        out: &mut Vec<Output>,
    ) {
        let reply = |node: &RaftNode, granted: bool, error: Option<RaftError>| Message::VoteResponse {
            epoch: node.epoch(),
            vote_epoch: epoch,
            pre_vote,
            granted,
            leader_id: node.leader_id(),
            error,
        };
        if !self.is_voter() || !self.config.voters.contains(&from) {
            return Self::send(from, reply(self, false, Some(RaftError::InconsistentVoterSet)), out);
        }
        // A pre-vote asks about the next epoch: one we are already in is stale too.
        if epoch < self.epoch() || (pre_vote && epoch == self.epoch()) {
            return Self::send(from, reply(self, false, Some(RaftError::FencedLeaderEpoch)), out);
        }
        if !pre_vote && epoch > self.epoch() {
            self.become_unattached(epoch, out);
        }
        if !self.grants_vote(log, from, candidate_log, pre_vote) {
            return Self::send(from, reply(self, false, None), out);
        }
        if pre_vote {
            return Self::send(from, reply(self, true, None), out);
        }
        // The vote is on disk before the candidate can count it: a voter that
        // restarts must not vote again in this epoch.
        let voted = ElectionState { epoch, leader_id: None, voted_id: Some(from) };
        if self.config.persist_before_send {
            self.persist(voted, out);
            Self::send(from, reply(self, true, None), out);
        } else {
            Self::send(from, reply(self, true, None), out);
            self.persist(voted, out);
        }
    }

    // ANCHOR: vote_decision
    /// Whether this voter grants `from` its (pre-)vote: the candidate's log
    /// must be at least as up to date as ours — a larger last epoch, or the
    /// same one and at least as long (Raft §5.4.1) — so that every committed
    /// entry survives the election. A real vote also needs the voter to be
    /// free in this epoch (no leader known, no vote for someone else); a
    /// pre-vote needs it not to have heard from a leader within the fetch
    /// timeout (KIP-996).
    fn grants_vote(
        &self,
        log: &impl RaftLog,
        from: NodeId,
        candidate_log: (Epoch, Offset),
        pre_vote: bool,
    ) -> bool {
        let ours = (log.last_epoch(), log.end_offset());
        let log_ok = candidate_log >= ours || !self.config.vote_checks_log;
        if pre_vote {
            let leader_alive = matches!(self.role, Role::Leader(_) | Role::Follower { .. });
            return log_ok && !leader_alive;
        }
        let free = self.election.leader_id.is_none() && self.election.voted_id.is_none_or(|v| v == from);
        log_ok && free
    }
    // ANCHOR_END: vote_decision

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_vote_response(
        &mut self,
        log: &mut impl RaftLog,
        from: NodeId,
        (epoch, vote_epoch): (Epoch, Epoch),
        pre_vote: bool,
        granted: bool,
        leader_id: Option<NodeId>,
        out: &mut Vec<Output>,
    ) {
        if epoch > self.epoch() {
            return self.learn_epoch(log, epoch, leader_id, out);
        }
        let own_epoch = self.epoch();
        let majority = |node: &RaftNode, count: usize| node.is_majority(count);
        match &mut self.role {
            // ANCHOR: prospective_refused
            Role::Prospective { granted: yes, timed_out_on } if pre_vote && vote_epoch == own_epoch + 1 => {
                let timed_out_on = *timed_out_on;
                if granted {
                    yes.insert(from);
                    let count = yes.len();
                    if majority(self, count) {
                        self.become_candidate(log, out);
                    }
                } else if let Some(leader) = leader_id.filter(|&l| {
                    let skip = Some(l) == timed_out_on && self.config.prospective_skips_timed_out_leader;
                    l != self.id && epoch == own_epoch && !skip
                }) {
                    // KIP-996: a voter still hears from a leader; follow it too —
                    // unless it is the one this replica just timed out on: the
                    // voter will time out on it too, and then grant.
                    self.become_follower(log, epoch, leader, out);
                }
            }
            // ANCHOR_END: prospective_refused
            Role::Candidate { granted: yes } if !pre_vote && granted && vote_epoch == own_epoch => {
                yes.insert(from);
                let count = yes.len();
                if majority(self, count) {
                    self.become_leader(log, out);
                }
            }
            _ => {}
        }
    }
}
