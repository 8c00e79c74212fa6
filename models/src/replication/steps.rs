//! The model's steps: what the controller, the producer and each replica do,
//! each decision made by the replication core.

use std::collections::BTreeSet;

use spool::replication::{
    EpochEndOffset, FetchAnswer, FollowerState, LeaderEpochCache, LeaderState, PartitionAssignment,
    ReplicaId, ReplicationError, UNDEFINED_EPOCH,
};

use super::{Bug, Controller, Entry, ReplicationModel, ReplicationState, Role, Value, FETCH_TIME_MS};

/// A token that carries the offset and value of an `acks=all` append.
fn token(offset: i64, value: Value) -> u64 {
    ((offset as u64) << 8) | u64::from(value)
}

impl ReplicationModel {
    /// Followers as before KIP-595 (2.7): they ask where their log diverges
    /// once per leader epoch they learn of (OffsetsForLeaderEpoch), then
    /// fetch by offset alone.
    fn checks_epoch_once(&self) -> bool {
        self.epoch_checked_once || self.has(Bug::EpochWithoutOffset) || self.has(Bug::FetchWithoutEpoch)
    }

    fn assignment(&self, c: &Controller) -> PartitionAssignment {
        PartitionAssignment {
            replicas: (0..self.replication_factor).collect(),
            isr: c.isr.clone(),
            leader_epoch: c.leader_epoch,
            partition_epoch: c.partition_epoch,
        }
    }

    // ANCHOR: become_follower
    /// Live replica `r` learns the current leader and follows it. Since
    /// KIP-101 nothing is truncated here; before it, the log was cut to the
    /// replica's high watermark.
    pub(super) fn become_follower(&self, s: &mut ReplicationState, r: ReplicaId) {
        let leader = s.controller.leader.expect("a leader to follow");
        let mut hw = s.high_watermark_of(r);
        let replica = &mut s.replicas[r as usize];
        if self.has(Bug::TruncateToHw) && (hw as usize) < replica.log.len() {
            replica.log.truncate(hw as usize);
            replica.cache.truncate_from_end(hw);
            s.truncated = true;
        }
        hw = hw.min(replica.log.len() as i64);
        replica.epoch_unchecked = self.checks_epoch_once();
        replica.role =
            Role::Follower(FollowerState::become_follower(r, leader, s.controller.leader_epoch, hw));
    }
    // ANCHOR_END: become_follower

    // ANCHOR: elect
    /// The controller makes `new_leader` leader in a new epoch with `isr`,
    /// and every other live replica follows it. `None`: no leader until the
    /// last ISR member comes back.
    pub(super) fn elect(
        &self,
        s: &mut ReplicationState,
        new_leader: Option<ReplicaId>,
        isr: BTreeSet<ReplicaId>,
    ) {
        let c = &mut s.controller;
        c.leader = new_leader;
        c.leader_epoch += 1;
        c.partition_epoch += 1;
        c.isr = isr;
        s.leader_changed = true;
        let Some(id) = new_leader else { return };
        let hw = s.high_watermark_of(id);
        let assignment = self.assignment(&s.controller);
        let replica = &mut s.replicas[id as usize];
        let leo = replica.log.len() as i64;
        let state =
            LeaderState::become_leader(id, &assignment, self.config(), &mut replica.cache, leo, hw, 0);
        replica.role = Role::Leader(Box::new(state));
        s.replicas[id as usize].metadata_lagging = false;
        for r in 0..self.replication_factor {
            let lagging = s.replicas[r as usize].metadata_lagging;
            if r != id && !s.is_offline(r) && !lagging {
                self.become_follower(s, r);
            }
        }
    }
    // ANCHOR_END: elect

    // ANCHOR: fail_over
    /// The leader `r` is fenced: a new leader from the rest of the ISR, in
    /// assignment order; with none left, no leader (or, unclean, any live replica).
    pub(super) fn fail_over(&self, s: &mut ReplicationState, r: ReplicaId) {
        let rest: BTreeSet<ReplicaId> = s.controller.isr.iter().filter(|&&i| i != r).copied().collect();
        let live = |i: &ReplicaId| !s.is_offline(*i);
        if let Some(&next) = rest.iter().find(|i| live(i)) {
            return self.elect(s, Some(next), rest);
        }
        if self.has(Bug::UncleanElection) {
            if let Some(next) = (0..self.replication_factor).find(|i| live(i)) {
                return self.elect(s, Some(next), [next].into());
            }
        }
        let isr = s.controller.isr.clone();
        self.elect(s, None, isr);
    }
    // ANCHOR_END: fail_over

    pub(super) fn produce(&self, s: &mut ReplicationState, value: Value) {
        s.next_value += 1;
        let (id, leader) = s.leader().expect("produce goes to a leader");
        if leader.check_append(true).is_err() {
            return; // NOT_ENOUGH_REPLICAS: nothing written, the value is given up
        }
        let epoch = leader.leader_epoch();
        let replica = &mut s.replicas[id as usize];
        let offset = replica.log.len() as i64;
        replica.log.push(Entry { epoch, value });
        let ack = (!self.has(Bug::AckBeforeHw)).then_some((token(offset, value), offset + 1));
        let acks = s.leader_mut().expect("the leader").on_append(offset + 1, ack);
        s.record_acks(acks);
        if self.has(Bug::AckBeforeHw) {
            s.acked.insert((offset, value));
        }
    }

    // ANCHOR: fetch
    /// Follower `r` fetches from the leader and acts on the answer, all
    /// through the cores. A lost response changes only the leader: it has
    /// recorded the follower's fetch offset, the follower never sees the records.
    pub(super) fn fetch(&self, s: &mut ReplicationState, r: ReplicaId, response_lost: bool) {
        let Role::Follower(follower) = &s.replicas[r as usize].role else {
            unreachable!("only followers fetch")
        };
        let follower = *follower;
        let leader_id = follower.leader_id;
        assert_eq!(Some(leader_id), s.controller.leader, "a follower fetches only from the leader");
        let replica = &s.replicas[r as usize];
        let leo = replica.log.len() as i64;
        let mut request = follower.fetch_request(&replica.cache, leo);
        if self.has(Bug::TruncateToHw) {
            request.last_fetched_epoch = None; // before KIP-101 the fetch carried no epoch
        }
        if self.checks_epoch_once() && !replica.epoch_unchecked {
            request.last_fetched_epoch = None; // asked once per epoch, then plain fetches
        }
        if self.has(Bug::FetchWithoutEpoch) {
            request.current_leader_epoch = None; // before KIP-320 no fetch said which epoch it was for
        }
        s.replicas[r as usize].epoch_unchecked &= response_lost;
        let leader_cache = s.replicas[leader_id as usize].cache.clone();
        let leader = s.leader_mut().expect("the leader");
        let leader_leo = leader.log_end_offset();
        let outcome = match leader.on_fetch(&request, &leader_cache, FETCH_TIME_MS) {
            Ok(outcome) => outcome,
            Err(_) if response_lost => return,
            Err(ReplicationError::OffsetOutOfRange) => {
                if let Some(offset) = follower.out_of_range_truncation(leader_leo, leo) {
                    s.truncate(r, offset);
                }
                return;
            }
            // KIP-320: a follower that missed an election is fenced and waits
            // for the metadata; a leader never knows less than a follower.
            Err(ReplicationError::FencedLeaderEpoch) => return,
            Err(e) => unreachable!("follower {r} fetching from leader {leader_id}: {e:?}"),
        };
        match outcome.answer {
            _ if response_lost => {}
            FetchAnswer::Diverging { mut diverging_epoch, .. } => {
                if self.has(Bug::EpochWithoutOffset) {
                    diverging_epoch = EpochEndOffset { leader_epoch: UNDEFINED_EPOCH, ..diverging_epoch };
                }
                let replica = &s.replicas[r as usize];
                let offset = follower.truncation_offset(diverging_epoch, &replica.cache, leo);
                s.truncate(r, offset);
            }
            FetchAnswer::Records { high_watermark, log_end_offset } => {
                let new = s.replicas[leader_id as usize].log[leo as usize..log_end_offset as usize].to_vec();
                let replica = &mut s.replicas[r as usize];
                replica.log.extend_from_slice(&new);
                let batches = new.iter().zip(leo..).map(|(e, offset)| (e.epoch, offset));
                let Role::Follower(f) = &mut replica.role else { unreachable!() };
                f.on_records(&mut replica.cache, batches, log_end_offset, high_watermark);
            }
        }
        s.record_acks(outcome.acks);
        if let Some(alter) = outcome.alter_partition {
            self.commit_isr(s, alter.new_isr);
        }
    }
    // ANCHOR_END: fetch

    /// The controller commits the leader's AlterPartition.
    pub(super) fn commit_isr(&self, s: &mut ReplicationState, isr: BTreeSet<ReplicaId>) {
        s.controller.partition_epoch += 1;
        s.controller.isr = isr.clone();
        let epoch = s.controller.partition_epoch;
        let acks = s.leader_mut().expect("the leader").on_alter_partition_committed(isr, epoch);
        s.record_acks(acks);
    }

    pub(super) fn crash(&self, s: &mut ReplicationState, r: ReplicaId) {
        s.crashes += 1;
        s.replicas[r as usize].hw_checkpoint = s.high_watermark_of(r);
        let was_leader = s.controller.leader == Some(r);
        s.replicas[r as usize].role = Role::Offline;
        if was_leader {
            self.fail_over(s, r);
        }
    }

    pub(super) fn restart(&self, s: &mut ReplicationState, r: ReplicaId) {
        s.replicas[r as usize].metadata_lagging = false; // a broker catches up before it serves
        if self.has(Bug::LostDisk) {
            let replica = &mut s.replicas[r as usize];
            replica.log.clear();
            replica.cache = LeaderEpochCache::new();
            replica.hw_checkpoint = 0;
        }
        if s.controller.leader.is_some() {
            return self.become_follower(s, r);
        }
        assert!(s.controller.isr.contains(&r), "with one replica down at a time, the leaderless ISR is {r}");
        let isr = s.controller.isr.clone();
        self.elect(s, Some(r), isr);
    }
}
