//! One partition on its leader: the ISR, each follower's fetch state, the
//! high watermark and the `acks=all` appends waiting for it. Kafka's
//! `Partition` (leader half), `Replica` and the produce purgatory's
//! `checkEnoughReplicasReachOffset`.
//!
//! ```text
//!  on_fetch(fetch) ──▶ epoch checks ──▶ diverging? ──▶ FetchAnswer::Diverging (no state change)
//!                                      └─ records ──▶ FetchAnswer::Records, then the follower's
//!                                                     log end moves: ISR expand? HW up? acks done?
//!  on_append(leo, ack) ──▶ HW up? acks done?
//!  tick(now_ms)        ──▶ AlterPartition shrinking the ISR of laggards
//!  on_alter_partition_committed(isr, partition_epoch) ──▶ HW up? acks done (or failed)?
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::epoch_cache::{EpochEndOffset, LeaderEpochCache};
use super::error::ReplicationError;

/// A broker id (`node.id`) in a partition's replica set.
pub type ReplicaId = i32;

/// The driver's handle on a waiting `acks=all` produce; the core hands it back.
pub type AckToken = u64;

/// Per-topic settings, with Kafka's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplicationConfig {
    /// `min.insync.replicas`: how many replicas (the leader included) must be
    /// in sync for an `acks=all` append to be accepted and acknowledged.
    pub min_insync_replicas: usize,
    /// `replica.lag.time.max.ms`: a follower that has not caught up to the
    /// leader's log end for this long leaves the ISR.
    pub replica_lag_time_max_ms: i64,
    /// Whether a follower must also reach the start of the leader's epoch to
    /// rejoin the ISR (KAFKA-7128, Kafka 2.1). Always `true` in the broker;
    /// `false` only in the model's `--bug expand-below-epoch-start`.
    pub expansion_needs_epoch_start: bool,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            min_insync_replicas: 1,
            replica_lag_time_max_ms: 30_000,
            expansion_needs_epoch_start: true,
        }
    }
}

/// The partition as the controller last committed it (a `PartitionRecord` or
/// `PartitionChangeRecord` applied to the metadata image).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionAssignment {
    /// The replica set, in assignment order (the preferred leader first).
    pub replicas: Vec<ReplicaId>,
    pub isr: BTreeSet<ReplicaId>,
    pub leader_epoch: i32,
    /// Bumped by every change to the partition (leader, ISR): AlterPartition's
    /// optimistic-concurrency version (Kafka's `partitionEpoch`, KIP-497).
    pub partition_epoch: i32,
}

/// What the leader knows of one follower (Kafka's `ReplicaState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FollowerReplica {
    /// The follower's log end: its last fetch offset; -1 until it fetches.
    pub log_end_offset: i64,
    /// The last time the follower was known to be at the leader's log end.
    pub last_caught_up_time_ms: i64,
    pub last_fetch_time_ms: i64,
    /// The leader's log end when that last fetch was read.
    pub last_fetch_leader_log_end_offset: i64,
}

/// A follower's Fetch for this partition (the fields the leader reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FollowerFetch {
    pub replica_id: ReplicaId,
    /// The follower's log end: the first offset it does not have.
    pub fetch_offset: i64,
    /// The epoch of the follower's last record (KIP-595 `LastFetchedEpoch`);
    /// `None` from a follower that does not send it (pre-2.7 fetchers).
    pub last_fetched_epoch: Option<i32>,
    /// The leader epoch the follower believes in (KIP-320); `None` skips the check.
    pub current_leader_epoch: Option<i32>,
}

/// The leader's answer to a follower's fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchAnswer {
    /// Send the records from the fetch offset up to `log_end_offset`.
    Records { high_watermark: i64, log_end_offset: i64 },
    /// The follower's log diverges from the leader's: its last epoch ends at
    /// `diverging_epoch` on the leader. No records; the follower truncates.
    Diverging { diverging_epoch: EpochEndOffset, high_watermark: i64 },
}

/// An AlterPartition request to the controller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlterPartition {
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub new_isr: BTreeSet<ReplicaId>,
}

/// A waiting `acks=all` produce is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckOutcome {
    pub token: AckToken,
    pub result: Result<(), ReplicationError>,
}

/// Everything a fetch changes: the answer, an ISR expansion to send to the
/// controller, and produces now answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FetchOutcome {
    pub answer: FetchAnswer,
    pub alter_partition: Option<AlterPartition>,
    pub acks: Vec<AckOutcome>,
}

/// One partition on its leader.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaderState {
    pub replica_id: ReplicaId,
    pub config: ReplicationConfig,
    replicas: Vec<ReplicaId>,
    /// The ISR the controller committed.
    isr: BTreeSet<ReplicaId>,
    /// The ISR of an AlterPartition in flight (one at a time).
    pending_isr: Option<BTreeSet<ReplicaId>>,
    leader_epoch: i32,
    partition_epoch: i32,
    /// The leader's log end when it became leader: the first offset of its epoch.
    leader_epoch_start_offset: i64,
    log_end_offset: i64,
    high_watermark: i64,
    followers: BTreeMap<ReplicaId, FollowerReplica>,
    /// `acks=all` produces waiting for the high watermark: token → the offset
    /// the high watermark must reach (the batch's last offset + 1).
    pending_acks: BTreeMap<AckToken, i64>,
}

impl LeaderState {
    // ANCHOR: become_leader
    /// This replica becomes leader of `assignment.leader_epoch` with its log
    /// ending at `log_end_offset` and its own high watermark: the new epoch
    /// starts at its log end in the epoch cache (Kafka's `makeLeader`). The
    /// high watermark waits for every ISR member's next fetch before it moves.
    pub fn become_leader(
        replica_id: ReplicaId,
        assignment: &PartitionAssignment,
        config: ReplicationConfig,
        cache: &mut LeaderEpochCache,
        log_end_offset: i64,
        high_watermark: i64,
        now_ms: i64,
    ) -> LeaderState {
        assert!(assignment.replicas.contains(&replica_id), "leader {replica_id} is not a replica");
        assert!(
            high_watermark <= log_end_offset,
            "high watermark {high_watermark} past log end {log_end_offset}"
        );
        cache.assign(assignment.leader_epoch, log_end_offset);
        let followers = assignment.replicas.iter().filter(|&&r| r != replica_id).map(|&r| {
            let in_sync = assignment.isr.contains(&r);
            let state = FollowerReplica {
                log_end_offset: -1,
                last_caught_up_time_ms: if in_sync { now_ms } else { 0 },
                last_fetch_time_ms: 0,
                last_fetch_leader_log_end_offset: -1,
            };
            (r, state)
        });
        LeaderState {
            replica_id,
            config,
            replicas: assignment.replicas.clone(),
            isr: assignment.isr.clone(),
            pending_isr: None,
            leader_epoch: assignment.leader_epoch,
            partition_epoch: assignment.partition_epoch,
            leader_epoch_start_offset: log_end_offset,
            log_end_offset,
            high_watermark,
            followers: followers.collect(),
            pending_acks: BTreeMap::new(),
        }
    }
    // ANCHOR_END: become_leader

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }
    pub fn partition_epoch(&self) -> i32 {
        self.partition_epoch
    }
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }
    pub fn replicas(&self) -> &[ReplicaId] {
        &self.replicas
    }
    /// The committed ISR.
    pub fn isr(&self) -> &BTreeSet<ReplicaId> {
        &self.isr
    }
    pub fn pending_isr(&self) -> Option<&BTreeSet<ReplicaId>> {
        self.pending_isr.as_ref()
    }
    pub fn follower(&self, replica_id: ReplicaId) -> Option<&FollowerReplica> {
        self.followers.get(&replica_id)
    }
    pub fn pending_acks(&self) -> impl Iterator<Item = (AckToken, i64)> + '_ {
        self.pending_acks.iter().map(|(&t, &o)| (t, o))
    }

    // ANCHOR: maximal_isr
    /// The committed ISR plus any replica a pending AlterPartition adds: the
    /// set the high watermark waits for, so it never counts on a shrink the
    /// controller has not committed nor skips a replica about to join (KIP-497).
    pub fn maximal_isr(&self) -> BTreeSet<ReplicaId> {
        let mut isr = self.isr.clone();
        isr.extend(self.pending_isr.iter().flatten());
        isr
    }
    // ANCHOR_END: maximal_isr

    // ANCHOR: append
    /// Whether an append may go to the log: `acks=all` is refused while the
    /// committed ISR is smaller than `min.insync.replicas`, before anything is
    /// written (Kafka's `appendRecordsToLeader`).
    pub fn check_append(&self, acks_all: bool) -> Result<(), ReplicationError> {
        if acks_all && self.isr.len() < self.config.min_insync_replicas {
            return Err(ReplicationError::NotEnoughReplicas);
        }
        Ok(())
    }

    /// The leader appended; its log now ends at `log_end_offset`. An `acks=all`
    /// produce waits with `ack` = (its token, its last offset + 1) until the
    /// high watermark reaches that offset. Returns the produces now answered.
    pub fn on_append(&mut self, log_end_offset: i64, ack: Option<(AckToken, i64)>) -> Vec<AckOutcome> {
        assert!(log_end_offset >= self.log_end_offset, "the leader's log end went back to {log_end_offset}");
        self.log_end_offset = log_end_offset;
        if let Some((token, required_offset)) = ack {
            assert!(
                required_offset <= log_end_offset,
                "waiting for offset {required_offset} not yet written"
            );
            self.pending_acks.insert(token, required_offset);
        }
        self.maybe_increment_high_watermark();
        self.complete_acks()
    }
    // ANCHOR_END: append

    // ANCHOR: on_fetch
    /// A follower fetches. Checks its epochs, answers with records or with the
    /// point where its log diverges, then records its new log end: it may
    /// rejoin the ISR, and the high watermark may move.
    pub fn on_fetch(
        &mut self,
        fetch: &FollowerFetch,
        cache: &LeaderEpochCache,
        now_ms: i64,
    ) -> Result<FetchOutcome, ReplicationError> {
        if !self.followers.contains_key(&fetch.replica_id) {
            return Err(ReplicationError::NotLeaderOrFollower);
        }
        self.check_leader_epoch(fetch.current_leader_epoch)?;
        let high_watermark = self.high_watermark;
        if let Some(diverging_epoch) = self.diverging_epoch(fetch, cache) {
            let answer = FetchAnswer::Diverging { diverging_epoch, high_watermark };
            return Ok(FetchOutcome { answer, alter_partition: None, acks: Vec::new() });
        }
        if fetch.fetch_offset < 0 || fetch.fetch_offset > self.log_end_offset {
            return Err(ReplicationError::OffsetOutOfRange);
        }
        let answer = FetchAnswer::Records { high_watermark, log_end_offset: self.log_end_offset };
        self.update_follower(fetch.replica_id, fetch.fetch_offset, now_ms);
        let alter_partition = self.maybe_expand_isr(fetch.replica_id);
        self.maybe_increment_high_watermark();
        Ok(FetchOutcome { answer, alter_partition, acks: self.complete_acks() })
    }
    // ANCHOR_END: on_fetch

    // ANCHOR: check_leader_epoch
    /// KIP-320: a request's leader epoch must be this leader's. Older means
    /// the sender missed a leader change; newer means this replica did.
    pub fn check_leader_epoch(&self, current_leader_epoch: Option<i32>) -> Result<(), ReplicationError> {
        Self::check_current_leader_epoch(current_leader_epoch, self.leader_epoch)
    }

    /// The same rule for a leader whose epoch is known without its state
    /// (the one-node broker's OffsetsForLeaderEpoch). `None`: the sender did
    /// not say (a request older than KIP-320, or sent with -1).
    pub fn check_current_leader_epoch(
        current_leader_epoch: Option<i32>,
        leader_epoch: i32,
    ) -> Result<(), ReplicationError> {
        match current_leader_epoch {
            Some(epoch) if epoch < leader_epoch => Err(ReplicationError::FencedLeaderEpoch),
            Some(epoch) if epoch > leader_epoch => Err(ReplicationError::UnknownLeaderEpoch),
            _ => Ok(()),
        }
    }
    // ANCHOR_END: check_leader_epoch

    // ANCHOR: diverging
    /// Where the follower's log leaves the leader's, if it does (Kafka's
    /// diverging-epoch check, KIP-595): the leader's end of the follower's
    /// last epoch is below the fetch offset, or the leader never had that
    /// epoch (it answers with an older one).
    fn diverging_epoch(&self, fetch: &FollowerFetch, cache: &LeaderEpochCache) -> Option<EpochEndOffset> {
        let last_fetched_epoch = fetch.last_fetched_epoch?;
        let end = cache.end_offset_for(last_fetched_epoch, self.log_end_offset);
        (end.leader_epoch < last_fetched_epoch || end.end_offset < fetch.fetch_offset).then_some(end)
    }
    // ANCHOR_END: diverging

    /// Kafka's `updateFetchStateOrThrow`: the follower is caught up as of this
    /// fetch if it asked for the leader's log end, and as of its previous
    /// fetch if it now asks for at least what the log end was then.
    fn update_follower(&mut self, replica_id: ReplicaId, fetch_offset: i64, now_ms: i64) {
        let leader_log_end_offset = self.log_end_offset;
        let f = self.followers.get_mut(&replica_id).expect("checked by on_fetch");
        if fetch_offset >= leader_log_end_offset {
            f.last_caught_up_time_ms = f.last_caught_up_time_ms.max(now_ms);
        } else if fetch_offset >= f.last_fetch_leader_log_end_offset {
            f.last_caught_up_time_ms = f.last_caught_up_time_ms.max(f.last_fetch_time_ms);
        }
        f.log_end_offset = fetch_offset;
        f.last_fetch_leader_log_end_offset = leader_log_end_offset;
        f.last_fetch_time_ms = now_ms;
    }

    // ANCHOR: expand
    /// A follower out of the ISR rejoins once it has everything below the high
    /// watermark and everything before the start of this leader's epoch
    /// (Kafka's `isFollowerInSync`). The second condition matters after an
    /// election: the new leader learned the old high watermark a fetch late,
    /// so records consumers have read may sit above its own; a follower that
    /// joined without them could be elected next and lose them (KAFKA-7128).
    fn maybe_expand_isr(&mut self, replica_id: ReplicaId) -> Option<AlterPartition> {
        if self.pending_isr.is_some() || self.maximal_isr().contains(&replica_id) {
            return None;
        }
        let leo = self.followers[&replica_id].log_end_offset;
        let below_epoch_start =
            self.config.expansion_needs_epoch_start && leo < self.leader_epoch_start_offset;
        if leo < self.high_watermark || below_epoch_start {
            return None;
        }
        let mut new_isr = self.isr.clone();
        new_isr.insert(replica_id);
        Some(self.propose(new_isr))
    }
    // ANCHOR_END: expand

    // ANCHOR: tick
    /// ISR members that have not been at the leader's log end for more than
    /// `replica.lag.time.max.ms` leave the ISR (Kafka's `maybeShrinkIsr`):
    /// the AlterPartition to send, if any.
    pub fn tick(&mut self, now_ms: i64) -> Option<AlterPartition> {
        if self.pending_isr.is_some() {
            return None;
        }
        let lag_max_ms = self.config.replica_lag_time_max_ms;
        let out_of_sync: Vec<ReplicaId> = (self.isr.iter())
            .filter(|&&r| r != self.replica_id)
            .filter(|r| {
                let f = &self.followers[r];
                f.log_end_offset != self.log_end_offset && now_ms - f.last_caught_up_time_ms > lag_max_ms
            })
            .copied()
            .collect();
        if out_of_sync.is_empty() {
            return None;
        }
        let new_isr = self.isr.iter().filter(|r| !out_of_sync.contains(r)).copied().collect();
        Some(self.propose(new_isr))
    }
    // ANCHOR_END: tick

    fn propose(&mut self, new_isr: BTreeSet<ReplicaId>) -> AlterPartition {
        assert!(new_isr.contains(&self.replica_id), "the leader is always in its ISR");
        self.pending_isr = Some(new_isr.clone());
        AlterPartition { leader_epoch: self.leader_epoch, partition_epoch: self.partition_epoch, new_isr }
    }

    /// The controller committed an ISR (ours or not) at `partition_epoch`.
    /// A shrink may let the high watermark move, and may leave waiting
    /// produces short of `min.insync.replicas`.
    pub fn on_alter_partition_committed(
        &mut self,
        isr: BTreeSet<ReplicaId>,
        partition_epoch: i32,
    ) -> Vec<AckOutcome> {
        assert!(partition_epoch > self.partition_epoch, "partition epoch {partition_epoch} is not newer");
        assert!(isr.contains(&self.replica_id), "the leader is always in its ISR");
        self.isr = isr;
        self.partition_epoch = partition_epoch;
        self.pending_isr = None;
        self.maybe_increment_high_watermark();
        self.complete_acks()
    }

    /// The controller refused the AlterPartition (a stale partition epoch,
    /// or the leader was fenced): forget it; the metadata brings the truth.
    pub fn on_alter_partition_failed(&mut self) {
        self.pending_isr = None;
    }

    // ANCHOR: high_watermark
    /// The high watermark is the smallest log end in the (maximal) ISR, and
    /// never goes back (Kafka's `maybeIncrementLeaderHW`). A follower that has
    /// not fetched since this replica became leader (-1) holds it still.
    fn maybe_increment_high_watermark(&mut self) -> bool {
        let followers = self.maximal_isr().into_iter().filter(|&r| r != self.replica_id);
        let lowest = followers.map(|r| self.followers[&r].log_end_offset).min();
        let candidate = lowest.map_or(self.log_end_offset, |l| l.min(self.log_end_offset));
        if candidate > self.high_watermark {
            self.high_watermark = candidate;
            return true;
        }
        false
    }
    // ANCHOR_END: high_watermark

    // ANCHOR: acks
    /// Produces the high watermark now covers: acknowledged if the committed
    /// ISR still has `min.insync.replicas` members, otherwise
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND (Kafka's `checkEnoughReplicasReachOffset`).
    fn complete_acks(&mut self) -> Vec<AckOutcome> {
        let enough = self.isr.len() >= self.config.min_insync_replicas;
        let hw = self.high_watermark;
        let done: Vec<AckToken> =
            self.pending_acks.iter().filter(|&(_, &o)| o <= hw).map(|(&t, _)| t).collect();
        done.into_iter()
            .map(|token| {
                self.pending_acks.remove(&token);
                let result =
                    if enough { Ok(()) } else { Err(ReplicationError::NotEnoughReplicasAfterAppend) };
                AckOutcome { token, result }
            })
            .collect()
    }
    // ANCHOR_END: acks

    /// This replica stops being leader (a new epoch, or it is shutting down):
    /// every waiting produce is answered NOT_LEADER_OR_FOLLOWER; the client
    /// retries on the new leader.
    pub fn resign(self) -> Vec<AckOutcome> {
        let result = Err(ReplicationError::NotLeaderOrFollower);
        self.pending_acks.into_keys().map(|token| AckOutcome { token, result }).collect()
    }
}
