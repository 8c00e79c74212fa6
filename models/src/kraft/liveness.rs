//! Liveness in the KRaft model: with a stable majority connected, a leader
//! is elected (Raft §5.2; KIP-996 for pre-vote).
//!
//! # The problem
//!
//! A safety property fails at one state; "a leader is elected" fails only
//! on an infinite run, and only under assumptions: with no clock, the
//! network may lose every request and the timers may fire in any order, so
//! no protocol elects a leader on *every* run. Raft assumes that the faults
//! stop for a while, that requests arrive well within an election timeout,
//! and that timeouts are random, so that sooner or later the voters' timers
//! fall in an order that elects.
//!
//! stateright's `Property::eventually` does not fit: it is judged only at
//! the end of paths that end (a state with no successor), and a state
//! reached again — a cycle, or two paths that join — ends no path and
//! carries no memory of what held before it, so a run that cycles without
//! a leader is missed (stateright's docs call it a false negative). And
//! "every schedule elects" is false of KIP-996 itself: a prospective whose
//! election timeout passes goes back to following its old leader, so an
//! adversary that always lets one follower time out while the other still
//! follows can delay an election forever (the first version of this check
//! found exactly that schedule in the correct core).
//!
//! # The formulation: a stable phase, and "a leader can still be elected"
//!
//! [`Action::Settle`] may happen at any state of the faulty model. After
//! it, the *stable phase*: nothing crashes, restarts or is lost, nothing is
//! appended, a timer fires only when no request is in flight (requests
//! arrive well within a timeout), and one more epoch than
//! [`KraftModel::epochs_max`] may be started.
//!
//! [`LEADER_ELECTED_WHEN_STABLE`](super::LEADER_ELECTED_WHEN_STABLE) is an
//! `always` property: at every stable state, a leader that a majority of
//! voters follow has been elected, or some schedule of the stable phase
//! from that state elects one ([`KraftModel::elects_when_stable`] searches
//! for it). The stable phase is finite, so this is the classic argument for
//! randomised timers: when every schedule has a chance and a leader stays
//! reachable from wherever the system is, it is elected with probability 1.
//!
//! What it proves: from *every* reachable state of the bound — after any
//! crash (one of three voters, so a majority stays up), lost request or
//! split vote — the quorum can never be stuck without a leader once the
//! faults stop. What it does not: how many rounds of timers that takes (no
//! bound; that is the bench's question, on a clock), runs whose faults
//! never stop, a network slower than the timers, or bounds larger than the
//! model's (more epochs, appends, observers).

use std::collections::{HashSet, VecDeque};

use spool::raft::{Role, Timer};
use stateright::Model;

use super::{Action, Bug, Envelope, KraftModel, KraftState};

/// The stable phase's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Stable {
    /// A leader that a majority of voters follow in its epoch has been seen.
    pub elected: bool,
}

impl KraftModel {
    /// The liveness bound: the CI's first bound without the append, so a
    /// leader may be elected, crash, be half-known or split the vote before
    /// the faults stop.
    pub fn liveness(bug: Option<Bug>) -> Self {
        KraftModel { appends_max: 0, stable: true, ..Self::small(None) }.with_bug(bug)
    }

    /// The last epoch a step may reach: one more in the stable phase, so
    /// that the bound on epochs is not what stops an election.
    pub(super) fn epochs_limit(&self, s: &KraftState) -> i32 {
        self.epochs_max + i32::from(s.stable.is_some())
    }

    /// What can happen in the stable phase: deliveries, and a timer when no
    /// request is in flight. Nothing once a leader is elected.
    pub(super) fn stable_actions(&self, s: &KraftState, stable: &Stable, actions: &mut Vec<Action>) {
        if stable.elected {
            return;
        }
        for (&(from, to), message) in &s.network {
            actions.push(Action::Deliver(Envelope { from, to, message: message.clone() }));
        }
        if !s.network.is_empty() {
            return;
        }
        for node in s.replicas.iter().filter_map(|r| r.node.as_ref()) {
            let Some(timer) = node.armed_timer() else { continue };
            let elects = node.is_voter() && timer != Timer::CheckQuorum;
            if !elects || node.epoch() < self.epochs_limit(s) {
                actions.push(Action::Timeout(node.id, timer));
            }
        }
    }

    // ANCHOR: elects_when_stable
    /// [`LEADER_ELECTED_WHEN_STABLE`](super::LEADER_ELECTED_WHEN_STABLE):
    /// outside the stable phase, nothing to check; in it, a leader that a
    /// majority follows has been elected, or some schedule of the stable
    /// phase still elects one (a search from `s`).
    pub fn elects_when_stable(&self, s: &KraftState) -> bool {
        if s.stable.as_ref().is_none_or(|stable| stable.elected) {
            return true;
        }
        let mut seen = HashSet::from([s.clone()]);
        let mut queue = VecDeque::from([s.clone()]);
        let mut actions = Vec::new();
        while let Some(state) = queue.pop_front() {
            self.actions(&state, &mut actions);
            for next in actions.drain(..).filter_map(|a| self.next_state(&state, a)) {
                if next.stable.as_ref().is_some_and(|stable| stable.elected) {
                    return true;
                }
                if seen.insert(next.clone()) {
                    queue.push_back(next);
                }
            }
        }
        false
    }
    // ANCHOR_END: elects_when_stable
}

impl KraftState {
    /// After a step in the stable phase: is some leader followed, in its
    /// epoch, by a majority of the voters (itself included)?
    pub(super) fn observe_stable(&mut self, model: &KraftModel) {
        let running: Vec<_> = self.replicas.iter().filter_map(|r| r.node.as_ref()).collect();
        let elected = running.iter().filter(|n| matches!(n.role, Role::Leader(_))).any(|leader| {
            let voters = running.iter().filter(|n| n.id <= model.voters && n.epoch() == leader.epoch());
            let following = voters.filter(|n| n.leader_id() == Some(leader.id)).count();
            following * 2 > model.voters as usize
        });
        if let Some(stable) = &mut self.stable {
            stable.elected |= elected;
        }
    }
}
