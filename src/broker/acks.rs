//! A leader's waiting `acks=all` produces (Kafka's produce purgatory), around
//! the replication core's [`LeaderState`].
//!
//! An `acks=all` produce must be answered once the high watermark covers its
//! batch, and a follower's fetch is what moves the high watermark. The two
//! race: the fetch that moves it may land between the append and the moment
//! the produce starts waiting. [`Leader::appended`] closes that gap by
//! registering the waiter *and* reporting the log end in one call, which the
//! caller makes under the same lock as every [`Leader::follower_fetched`]
//! (the partition's role lock): whichever comes first, the core either
//! answers the waiter at once or holds it until the fetch that covers it.
//! `tests/loom.rs` checks this under every interleaving, and that a waiter
//! registered apart from its append can sleep forever.
//!
//! The waiter is generic so loom can drive this very code with its own
//! primitives; the broker's is a tokio `oneshot` sender.

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use crate::replication::{
    AckOutcome, AckToken, FetchOutcome, FollowerFetch, LeaderEpochCache, LeaderState, ReplicaId,
    ReplicationError,
};

/// Where a waiting produce is told its outcome.
pub trait Waiter {
    fn answer(self, result: Result<(), ReplicationError>);
}

impl Waiter for oneshot::Sender<Result<(), ReplicationError>> {
    fn answer(self, result: Result<(), ReplicationError>) {
        // A produce that timed out dropped its receiver: nothing to tell.
        let _ = self.send(result);
    }
}

/// The leader's state and the produces waiting for its high watermark.
#[derive(Debug)]
pub struct Leader<W> {
    pub state: LeaderState,
    waiting: BTreeMap<AckToken, W>,
    next_token: AckToken,
    /// Each follower's log start offset as its last fetch said (Kafka's
    /// `ReplicaState.logStartOffset`): what DeleteRecords waits on. Absent
    /// until the follower fetches in this leadership.
    pub follower_log_start_offsets: BTreeMap<ReplicaId, i64>,
}

impl<W: Waiter> Leader<W> {
    pub fn new(state: LeaderState) -> Self {
        Leader { state, waiting: BTreeMap::new(), next_token: 0, follower_log_start_offsets: BTreeMap::new() }
    }

    // ANCHOR: appended
    /// The leader's log now ends at `log_end_offset`; with `wait`, a produce
    /// waits on its waiter until the high watermark reaches the given offset
    /// (its batch's last offset + 1). Registering and reporting are one step:
    /// a high watermark already past the offset answers at once. Returns
    /// whether the high watermark moved.
    pub fn appended(&mut self, log_end_offset: i64, wait: Option<(W, i64)>) -> bool {
        let before = self.state.high_watermark();
        let ack = wait.map(|(waiter, required_offset)| {
            let token = self.next_token;
            self.next_token += 1;
            self.waiting.insert(token, waiter);
            (token, required_offset)
        });
        let acks = self.state.on_append(log_end_offset, ack);
        self.answer(acks);
        self.state.high_watermark() > before
    }
    // ANCHOR_END: appended

    /// A follower fetched. The log end is brought up to `log_end_offset`
    /// first (an append may not have reported yet), then the core decides;
    /// the produces the new high watermark covers are answered.
    pub fn follower_fetched(
        &mut self,
        log_end_offset: i64,
        fetch: &FollowerFetch,
        cache: &LeaderEpochCache,
        now_ms: i64,
    ) -> Result<FetchOutcome, ReplicationError> {
        self.appended(log_end_offset, None);
        let outcome = self.state.on_fetch(fetch, cache, now_ms)?;
        self.answer(outcome.acks.clone());
        Ok(outcome)
    }

    /// The controller committed an ISR at `partition_epoch` (ours or not).
    pub fn isr_committed(&mut self, isr: std::collections::BTreeSet<ReplicaId>, partition_epoch: i32) {
        let acks = self.state.on_alter_partition_committed(isr, partition_epoch);
        self.answer(acks);
    }

    /// This replica stops leading: every waiting produce is answered
    /// NOT_LEADER_OR_FOLLOWER (the client retries on the new leader).
    pub fn resign(self) {
        let Leader { state, mut waiting, .. } = self;
        for ack in state.resign() {
            if let Some(waiter) = waiting.remove(&ack.token) {
                waiter.answer(ack.result);
            }
        }
    }

    /// How many produces are waiting.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn answer(&mut self, acks: Vec<AckOutcome>) {
        for ack in acks {
            if let Some(waiter) = self.waiting.remove(&ack.token) {
                waiter.answer(ack.result);
            }
        }
    }
}
