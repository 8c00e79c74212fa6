//! KIP-890 part 1 in the producer table: the **verification guard** that
//! lets a partition leader append a producer's first transactional batch
//! only after the transaction coordinator said the partition is in the
//! producer's open transaction (Kafka's `VerificationStateEntry`,
//! `VerificationGuard` and `ProducerStateManager.maybeCreateVerificationStateEntry`).
//!
//! Without it a late batch of a transaction that has already ended — a
//! retry that arrived after the ABORT marker, a zombie — opens a new
//! transaction on the partition that no coordinator knows of: no marker
//! will ever end it, and it pins the last stable offset for good (the
//! hanging transaction of KAFKA-14402, `check transactions --bug
//! hanging-transaction`).
//!
//! ```text
//!  produce(txn batch, no transaction open here)
//!    ├─ maybe_start_verification(pid, seq, epoch) ─▶ guard G recorded for pid
//!    ├─ ask the coordinator: is the partition in (txn id, pid, epoch)?   (no lock held)
//!    │     no ─▶ refuse (INVALID_TXN_STATE …)
//!    └─ yes ─▶ append, under the log lock, only if pid's guard is still G
//!  any transactional batch or marker of pid appended ─▶ pid's guard cleared
//! ```
//!
//! Why a guard and not a flag: between the coordinator's "yes" and the
//! append, the transaction may end (its ABORT marker clears the guard) and
//! a new one start and verify again (a new guard). The stale "yes" then
//! carries a guard that is no longer there, and its batch is refused instead
//! of joining a transaction the coordinator never heard of (the ABA problem
//! Kafka's `UnifiedLog.analyzeAndValidateProducerState` describes).
//!
//! The guard also keeps the lowest sequence it saw: while verification is
//! pending, a later batch of the same producer (a higher sequence, sent
//! before the first one failed verification with a retriable error) is
//! OUT_OF_ORDER_SEQUENCE_NUMBER, so it cannot be appended before the batch
//! that should open the transaction (Kafka's `maybeUpdateLowestSequenceAndEpoch`).
//!
//! Guards are memory only, as in Kafka: a snapshot does not keep them, and a
//! lost guard only makes the pending append ask again.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{BatchInfo, ProducerError, ProducerStateManager};

/// A unique token for one verification (Kafka's `VerificationGuard`): equal
/// only to itself. [`SENTINEL`](Self::SENTINEL) stands for "no verification
/// was started" and verifies nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VerificationGuard(u64);

impl VerificationGuard {
    /// What an append carries when it started no verification (the
    /// producer's transaction was already open here).
    pub const SENTINEL: VerificationGuard = VerificationGuard(0);

    /// A guard no other verification of this process has: a process-wide
    /// counter, so a producer table rebuilt after a truncation cannot hand
    /// out a guard a request still holds.
    fn new() -> VerificationGuard {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        VerificationGuard(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// One producer's pending verification (Kafka's `VerificationStateEntry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerificationStateEntry {
    pub guard: VerificationGuard,
    /// When verification started: an entry older than
    /// `producer.id.expiration.ms` is dropped with the idle producers.
    pub timestamp_ms: i64,
    /// The lowest base sequence seen in `epoch` while verifying.
    pub lowest_sequence: i32,
    pub epoch: i16,
}

impl ProducerStateManager {
    /// Whether `producer_id` has a transaction open on this partition (Kafka's
    /// `UnifiedLog.hasOngoingTransaction`): its next transactional batch needs
    /// no verification.
    pub fn has_ongoing_txn(&self, producer_id: i64) -> bool {
        self.entry(producer_id).is_some_and(|e| e.current_txn_first_offset.is_some())
    }

    /// Whether `producer_id`'s transaction is open here *at* `epoch`: only
    /// then does a batch of that epoch belong to it. Under transaction
    /// version 2 (KIP-890 part 2) every end bumps the epoch, and the next
    /// transaction's first batch can reach a partition before the previous
    /// transaction's marker; it must be verified (the coordinator answers
    /// CONCURRENT_TRANSACTIONS until the markers are written), not slipped
    /// into the old transaction, whose marker would then decide it too.
    pub fn has_ongoing_txn_at(&self, producer_id: i64, epoch: i16) -> bool {
        self.entry(producer_id)
            .is_some_and(|e| e.current_txn_first_offset.is_some() && e.producer_epoch == epoch)
    }

    // ANCHOR: maybe_start_verification
    /// Before asking the coordinator about a transactional batch: the guard
    /// the append must carry. [`VerificationGuard::SENTINEL`] if the
    /// producer's transaction is open here already (nothing to ask);
    /// otherwise the producer's pending guard, created if there is none
    /// (Kafka's `maybeStartTransactionVerification`).
    pub fn maybe_start_verification(
        &mut self,
        producer_id: i64,
        sequence: i32,
        epoch: i16,
        now_ms: i64,
    ) -> VerificationGuard {
        if self.has_ongoing_txn_at(producer_id, epoch) {
            return VerificationGuard::SENTINEL;
        }
        let entry = self.verification_states.entry(producer_id).or_insert_with(|| VerificationStateEntry {
            guard: VerificationGuard::new(),
            timestamp_ms: now_ms,
            lowest_sequence: sequence,
            epoch,
        });
        // A new epoch starts its sequences again; an older batch lowers the bar.
        if epoch > entry.epoch || (epoch == entry.epoch && sequence < entry.lowest_sequence) {
            entry.epoch = epoch;
            entry.lowest_sequence = sequence;
        }
        entry.guard
    }
    // ANCHOR_END: maybe_start_verification

    /// `producer_id`'s pending verification, if any.
    pub fn verification_state(&self, producer_id: i64) -> Option<&VerificationStateEntry> {
        self.verification_states.get(&producer_id)
    }

    // ANCHOR: check_verified
    /// At the append, under the log lock: a transactional batch that would
    /// open its producer's transaction here must carry the producer's
    /// current guard (Kafka's `batchMissingRequiredVerification`); anything
    /// else is INVALID_TXN_STATE and is not written. A batch of an open
    /// transaction needs none: the coordinator verified its first one, and
    /// the marker that ends it closes it here too.
    pub fn check_verified(&self, batch: &BatchInfo, guard: VerificationGuard) -> Result<(), ProducerError> {
        let producer_id = batch.producer_id;
        if !batch.is_transactional
            || !batch.has_producer_id()
            || self.has_ongoing_txn_at(producer_id, batch.producer_epoch)
        {
            return Ok(());
        }
        match self.verification_states.get(&producer_id) {
            Some(entry) if guard != VerificationGuard::SENTINEL && entry.guard == guard => Ok(()),
            _ => Err(ProducerError::TxnNotVerified { producer_id }),
        }
    }
    // ANCHOR_END: check_verified

    /// While a verification is pending, a batch after the lowest sequence it
    /// saw waits its turn (Kafka's `ProducerAppendInfo.checkSequence`).
    pub(super) fn check_verification_sequence(&self, batch: &BatchInfo) -> Result<(), ProducerError> {
        match self.verification_states.get(&batch.producer_id) {
            Some(entry) if batch.base_sequence > entry.lowest_sequence => {
                Err(ProducerError::OutOfOrderSequence {
                    producer_id: batch.producer_id,
                    epoch: batch.producer_epoch,
                    first_seq: batch.base_sequence,
                    last_seq: entry.lowest_sequence,
                })
            }
            _ => Ok(()),
        }
    }

    /// A transactional batch or a marker of `producer_id` was appended: the
    /// transaction is open here now, or over; either way the guard is spent.
    pub(super) fn clear_verification(&mut self, producer_id: i64) {
        self.verification_states.remove(&producer_id);
    }

    /// Drops verifications started `expiration_ms` ago or more, never answered.
    pub(super) fn remove_expired_verifications(&mut self, now_ms: i64, expiration_ms: i64) {
        self.verification_states.retain(|_, e| now_ms.saturating_sub(e.timestamp_ms) < expiration_ms);
    }
}

#[cfg(test)]
mod tests;
