//! [`RaftNode::step`]: a received message, dispatched; and the two
//! announcements of a leader, BeginQuorumEpoch and EndQuorumEpoch.

use super::message::{Message, Output};
use super::node::Role;
use super::{Epoch, NodeId, RaftLog, RaftNode};

impl RaftNode {
    /// A message from `from` arrived. Returns what to do, in order.
    pub fn step(&mut self, log: &mut impl RaftLog, from: NodeId, message: Message) -> Vec<Output> {
        let mut out = Vec::new();
        match message {
            Message::VoteRequest { epoch, last_epoch, end_offset, pre_vote } => {
                self.on_vote_request(log, from, epoch, (last_epoch, end_offset), pre_vote, &mut out)
            }
            Message::VoteResponse { epoch, vote_epoch, pre_vote, granted, leader_id, error: _ } => {
                self.on_vote_response(log, from, (epoch, vote_epoch), pre_vote, granted, leader_id, &mut out)
            }
            Message::BeginQuorumEpoch { epoch } => self.on_begin_quorum_epoch(log, from, epoch, &mut out),
            Message::EndQuorumEpoch { epoch, preferred_successors } => {
                self.on_end_quorum_epoch(log, from, epoch, &preferred_successors, &mut out)
            }
            Message::FetchRequest { epoch, fetch_offset, last_fetched_epoch } => {
                self.on_fetch_request(log, from, epoch, fetch_offset, last_fetched_epoch, &mut out)
            }
            Message::FetchResponse { epoch, leader_id, result } => {
                self.on_fetch_response(log, from, epoch, leader_id, result, &mut out)
            }
            Message::FetchSnapshotRequest { epoch, snapshot_id, position, max_bytes } => {
                self.on_fetch_snapshot_request(log, from, epoch, (snapshot_id, position, max_bytes), &mut out)
            }
            Message::FetchSnapshotResponse { epoch, leader_id, result } => {
                self.on_fetch_snapshot_response(log, from, epoch, leader_id, result, &mut out)
            }
        }
        out
    }

    /// A new leader announces its epoch. A stale announcement is ignored
    /// (its sender learns the newer epoch from the quorum soon enough).
    fn on_begin_quorum_epoch(
        &mut self,
        log: &impl RaftLog,
        from: NodeId,
        epoch: Epoch,
        out: &mut Vec<Output>,
    ) {
        if epoch < self.epoch() || from == self.id || !self.config.voters.contains(&from) {
            return;
        }
        let settled = matches!(self.role, Role::Leader(_) | Role::Follower { .. } | Role::Resigned);
        if epoch > self.epoch() || !settled {
            self.become_follower(log, epoch, from, out);
        }
    }

    /// The leader of `epoch` resigns. Its followers stop waiting for the
    /// fetch timeout and ask for (pre-)votes at once; Kafka staggers them
    /// by their place in `preferred_successors`, a delay the driver may add.
    fn on_end_quorum_epoch(
        &mut self,
        log: &mut impl RaftLog,
        from: NodeId,
        epoch: Epoch,
        preferred_successors: &[NodeId],
        out: &mut Vec<Output>,
    ) {
        if epoch < self.epoch() || !self.is_voter() || !preferred_successors.contains(&self.id) {
            return;
        }
        let following_it = matches!(self.role, Role::Follower { leader_id, .. } if leader_id == from);
        if epoch > self.epoch() {
            self.become_unattached(epoch, out);
        } else if !following_it && !matches!(self.role, Role::Unattached) {
            return;
        }
        self.start_election(log, out);
    }
}
