//! One transactional id's state, and the two steps of every change to it.
//!
//! A change is first *prepared*: the coordinator computes the state it wants
//! (a [`TxnTransit`]), stores it as the metadata's `pending` transit and emits
//! it as a `__transaction_state` record. Only when the driver reports the
//! record durable is the transit *completed* into the metadata (Kafka's
//! `prepareTransitionTo` / `completeTransitionTo`). While a transit is
//! pending, every other request for the id answers CONCURRENT_TRANSACTIONS, so
//! two changes never race. If the append fails, the transit is dropped and the
//! state stays as it was.

use std::collections::BTreeSet;

use super::records::{TransactionLogRecord, TransactionLogValue};
use super::state::TransactionState::{self, *};
use crate::TopicPartition;

/// `RecordBatch.NO_PRODUCER_ID`.
pub const NO_PRODUCER_ID: i64 = -1;
/// `RecordBatch.NO_PRODUCER_EPOCH`.
pub const NO_PRODUCER_EPOCH: i16 = -1;

/// The first transaction version (KIP-890 part 2, EndTxn v5+) whose
/// transactions bump the producer epoch when they end.
pub const TRANSACTION_VERSION_EPOCH_BUMP: i16 = 2;

/// The state a transactional id is moving to, waiting for its record to be
/// durable (Kafka's `TxnTransitMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxnTransit {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub txn_timeout_ms: i32,
    pub state: TransactionState,
    pub partitions: BTreeSet<TopicPartition>,
    pub txn_start_timestamp_ms: i64,
    pub txn_last_update_timestamp_ms: i64,
    /// The producer id the id moves to once this transaction completes, when
    /// ending it used up the epochs (transaction version 2); else -1.
    pub next_producer_id: i64,
    /// The transaction version of the client that ended the transaction; 0 for other changes.
    pub client_transaction_version: i16,
}

/// Everything the coordinator knows about one transactional id (Kafka's `TransactionMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The producer id before the last rotation (epoch exhaustion), or -1.
    pub previous_producer_id: i64,
    /// Fences every older epoch of `producer_id`.
    pub producer_epoch: i16,
    /// The epoch before the last bump for a KIP-360 recovery, so a retried
    /// InitProducerId gets the same answer; -1 when a new producer fenced the
    /// old one (which must not get one).
    pub last_producer_epoch: i16,
    pub txn_timeout_ms: i32,
    pub state: TransactionState,
    /// The open transaction's partitions (empty unless one is open).
    pub partitions: BTreeSet<TopicPartition>,
    /// When the open transaction's first partition was added; -1 before.
    pub txn_start_timestamp_ms: i64,
    /// When the metadata last changed: what `transactional.id.expiration.ms` counts from.
    pub txn_last_update_timestamp_ms: i64,
    /// The client's transaction version, as last recorded (KIP-890).
    pub client_transaction_version: i16,
    /// See [`TxnTransit::next_producer_id`].
    pub next_producer_id: i64,
    /// The transit whose record is being appended (Kafka's `pendingState`).
    pub pending: Option<TxnTransit>,
    /// An epoch fence's append failed: its bumped epoch is in memory but was
    /// never returned to anyone, so the next fence does not bump again.
    pub has_failed_epoch_fence: bool,
}

impl TransactionMetadata {
    /// A transactional id seen for the first time, with the producer id the
    /// driver allocated and no epoch yet (InitProducerId bumps it to 0).
    pub fn new(transactional_id: &str, producer_id: i64, txn_timeout_ms: i32, now_ms: i64) -> Self {
        TransactionMetadata {
            transactional_id: transactional_id.to_owned(),
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            txn_timeout_ms,
            state: Empty,
            partitions: BTreeSet::new(),
            txn_start_timestamp_ms: -1,
            txn_last_update_timestamp_ms: now_ms,
            client_transaction_version: 0,
            next_producer_id: NO_PRODUCER_ID,
            pending: None,
            has_failed_epoch_fence: false,
        }
    }

    /// The metadata a loaded record describes (its last epoch is unknown: -1, as in Kafka).
    pub fn from_record(transactional_id: &str, v: &TransactionLogValue) -> Self {
        TransactionMetadata {
            previous_producer_id: v.previous_producer_id,
            producer_epoch: v.producer_epoch,
            state: v.state,
            partitions: v.partitions.clone(),
            txn_start_timestamp_ms: v.start_timestamp_ms,
            txn_last_update_timestamp_ms: v.last_update_timestamp_ms,
            client_transaction_version: v.client_transaction_version,
            next_producer_id: v.next_producer_id,
            ..TransactionMetadata::new(transactional_id, v.producer_id, v.transaction_timeout_ms, 0)
        }
    }

    /// Epochs stop one short of `i16::MAX`, so the coordinator can always
    /// bump once more to fence the producer.
    pub fn is_producer_epoch_exhausted(&self) -> bool {
        self.producer_epoch >= i16::MAX - 1
    }

    /// The transit that keeps everything as it is, to be edited.
    fn transit(&self, state: TransactionState, now_ms: i64) -> TxnTransit {
        TxnTransit {
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            last_producer_epoch: self.last_producer_epoch,
            txn_timeout_ms: self.txn_timeout_ms,
            state,
            partitions: self.partitions.clone(),
            txn_start_timestamp_ms: self.txn_start_timestamp_ms,
            txn_last_update_timestamp_ms: now_ms,
            next_producer_id: NO_PRODUCER_ID,
            client_transaction_version: 0,
        }
    }

    /// Whether the transaction's end bumped the epoch (transaction version 2).
    pub fn bumps_epoch_at_end(&self) -> bool {
        self.client_transaction_version >= TRANSACTION_VERSION_EPOCH_BUMP
    }

    /// InitProducerId on the same producer id: a new epoch and an Empty
    /// transaction. `last_producer_epoch` is what a retry will be compared with.
    pub fn prepare_epoch_bump(
        &mut self,
        epoch: i16,
        last_epoch: i16,
        timeout_ms: i32,
        now_ms: i64,
    ) -> TxnTransit {
        assert!(!self.is_producer_epoch_exhausted() || epoch == self.producer_epoch, "epoch exhausted");
        let mut t = self.transit(Empty, now_ms);
        (t.producer_epoch, t.last_producer_epoch, t.txn_timeout_ms) = (epoch, last_epoch, timeout_ms);
        (t.partitions, t.txn_start_timestamp_ms) = (BTreeSet::new(), -1);
        self.prepare(t)
    }

    /// InitProducerId once the epochs of the producer id are used up: a new
    /// producer id at epoch 0.
    pub fn prepare_producer_id_rotation(
        &mut self,
        producer_id: i64,
        timeout_ms: i32,
        keep_last_epoch: bool,
        now_ms: i64,
    ) -> TxnTransit {
        let mut t = self.transit(Empty, now_ms);
        t.producer_id = producer_id;
        t.producer_epoch = 0;
        t.last_producer_epoch = if keep_last_epoch { self.producer_epoch } else { NO_PRODUCER_EPOCH };
        (t.txn_timeout_ms, t.partitions, t.txn_start_timestamp_ms) = (timeout_ms, BTreeSet::new(), -1);
        self.prepare(t)
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: the transaction (re)starts or grows.
    pub fn prepare_add_partitions(&mut self, added: &BTreeSet<TopicPartition>, now_ms: i64) -> TxnTransit {
        let mut t = self.transit(Ongoing, now_ms);
        if matches!(self.state, Empty | CompleteCommit | CompleteAbort) {
            t.txn_start_timestamp_ms = now_ms;
        }
        t.partitions.extend(added.iter().cloned());
        self.prepare(t)
    }

    // ANCHOR: fence_and_abort
    /// Fences the producer of an open transaction and prepares its abort:
    /// Ongoing → PrepareEpochFence → PrepareAbort with the epoch bumped. The
    /// bumped epoch takes effect in memory at once, so the old producer is
    /// fenced even before the abort is durable (Kafka's `prepareFenceProducerEpoch`
    /// followed by `endTransaction` from the coordinator itself).
    pub fn prepare_fence_and_abort(&mut self, now_ms: i64) -> TxnTransit {
        assert!(self.state.can_transition_to(PrepareEpochFence), "fence from {}", self.state);
        assert!(PrepareEpochFence.can_transition_to(PrepareAbort));
        assert!(self.producer_epoch < i16::MAX, "fencing would overflow the epoch");
        if !self.has_failed_epoch_fence {
            self.producer_epoch += 1;
        }
        self.last_producer_epoch = NO_PRODUCER_EPOCH;
        // The coordinator's own abort is a transaction version 0 end: the fence was the bump.
        self.prepare_end(PrepareAbort, 0, NO_PRODUCER_ID, now_ms)
    }
    // ANCHOR_END: fence_and_abort

    // ANCHOR: prepare_end
    /// EndTxn: the decision, Ongoing → PrepareCommit or PrepareAbort. A
    /// client of transaction version 2 (KIP-890 part 2) gets the epoch bumped
    /// by the decision itself, so every transaction has its own epoch and a
    /// late write of the ended one is fenced; if that uses up the epochs,
    /// `next_producer_id` (from the driver) takes over once it completes.
    pub fn prepare_end(
        &mut self,
        state: TransactionState,
        version: i16,
        next_producer_id: i64,
        now_ms: i64,
    ) -> TxnTransit {
        assert!(matches!(state, PrepareCommit | PrepareAbort), "end to {state}");
        let mut t = self.transit(state, now_ms);
        t.client_transaction_version = version;
        if version >= TRANSACTION_VERSION_EPOCH_BUMP {
            assert!(self.producer_epoch < i16::MAX, "the epoch bump would overflow");
            (t.producer_epoch, t.last_producer_epoch) = (self.producer_epoch + 1, self.producer_epoch);
            t.next_producer_id = next_producer_id;
        }
        self.prepare(t)
    }
    // ANCHOR_END: prepare_end

    /// Every marker is written: PrepareX → CompleteX, the partitions cleared.
    pub fn prepare_complete(&mut self, now_ms: i64) -> TxnTransit {
        let state = if self.state == PrepareCommit { CompleteCommit } else { CompleteAbort };
        let mut t = self.transit(state, now_ms);
        t.partitions.clear();
        t.client_transaction_version = self.client_transaction_version;
        if self.bumps_epoch_at_end() && self.next_producer_id != NO_PRODUCER_ID {
            // The epochs ran out with this transaction: its successor uses a new producer id.
            (t.producer_id, t.producer_epoch, t.last_producer_epoch) =
                (self.next_producer_id, 0, self.producer_epoch);
        }
        self.prepare(t)
    }

    /// Expiry: the id's tombstone is being written.
    pub fn prepare_dead(&mut self) -> TxnTransit {
        let mut t = self.transit(Dead, self.txn_last_update_timestamp_ms);
        t.partitions.clear();
        self.prepare(t)
    }

    // ANCHOR: prepare
    fn prepare(&mut self, transit: TxnTransit) -> TxnTransit {
        assert!(self.pending.is_none(), "{}: a transition is already pending", self.transactional_id);
        assert!(transit.producer_id >= 0, "illegal producer id {}", transit.producer_id);
        assert!(
            transit.state == Dead || transit.producer_epoch >= 0,
            "illegal epoch {}",
            transit.producer_epoch
        );
        assert!(
            self.state.can_transition_to(transit.state),
            "{}: {} may not follow {}",
            self.transactional_id,
            transit.state,
            self.state
        );
        self.pending = Some(transit.clone());
        transit
    }
    // ANCHOR_END: prepare

    /// The pending transit's record is durable: it becomes the state. The
    /// checks are Kafka's `completeTransitionTo`; failing one is a bug.
    pub fn complete_transition(&mut self) {
        let t = self.pending.take().expect("completing with no pending transition");
        let same_producer = t.producer_id == self.producer_id && t.producer_epoch == self.producer_epoch;
        let version_2 = t.client_transaction_version >= TRANSACTION_VERSION_EPOCH_BUMP;
        // Transaction version 2: the decision bumped the epoch by one ...
        let bumped_by_end = version_2
            && t.producer_id == self.producer_id
            && t.last_producer_epoch == self.producer_epoch
            && i32::from(t.producer_epoch) == i32::from(self.producer_epoch) + 1;
        // ... and its completion may move to the next producer id at epoch 0.
        let rotated_by_end = version_2 && t.producer_id == self.next_producer_id && t.producer_epoch == 0;
        match t.state {
            Empty => {
                let bumped = t.producer_epoch == self.producer_epoch.wrapping_add(1)
                    || (t.producer_epoch == 0 && t.producer_id != self.producer_id);
                assert!(
                    same_producer || bumped,
                    "{}: epoch {} does not follow {}",
                    self.transactional_id,
                    t.producer_epoch,
                    self.producer_epoch
                );
                assert!(t.partitions.is_empty() && t.txn_start_timestamp_ms == -1);
                self.previous_producer_id = if t.producer_id != self.producer_id {
                    self.producer_id
                } else {
                    self.previous_producer_id
                };
            }
            Ongoing => assert!(
                same_producer
                    && self.partitions.is_subset(&t.partitions)
                    && self.txn_timeout_ms == t.txn_timeout_ms
            ),
            PrepareCommit | PrepareAbort => {
                assert!((same_producer || bumped_by_end) && self.partitions == t.partitions)
            }
            CompleteCommit | CompleteAbort => {
                assert!((same_producer || rotated_by_end) && t.txn_start_timestamp_ms != -1);
                if rotated_by_end {
                    self.previous_producer_id = self.producer_id;
                }
                self.has_failed_epoch_fence = false;
            }
            Dead | PrepareEpochFence => {
                panic!("{}: {} is never completed into the metadata", self.transactional_id, t.state)
            }
        }
        self.producer_id = t.producer_id;
        self.producer_epoch = t.producer_epoch;
        self.last_producer_epoch = t.last_producer_epoch;
        self.txn_timeout_ms = t.txn_timeout_ms;
        self.state = t.state;
        self.partitions = t.partitions;
        self.txn_start_timestamp_ms = t.txn_start_timestamp_ms;
        self.txn_last_update_timestamp_ms = t.txn_last_update_timestamp_ms;
        self.next_producer_id = t.next_producer_id;
        self.client_transaction_version = t.client_transaction_version;
    }

    /// The pending transit's append failed: the state stays as it was. A
    /// failed epoch fence leaves its bumped epoch in memory, never told to
    /// anyone, and the next fence reuses it rather than bump again.
    pub fn abandon_transition(&mut self, was_epoch_fence: bool) -> Option<TxnTransit> {
        let t = self.pending.take()?;
        self.has_failed_epoch_fence |= was_epoch_fence;
        Some(t)
    }

    /// The record of a transit (a tombstone for Dead). The previous producer
    /// id stays at its default, as Kafka writes it; the next one is written
    /// (v1 only), so a reload after an epoch overflow knows where to go.
    pub fn record_of(&self, t: &TxnTransit) -> TransactionLogRecord {
        let value = (t.state != Dead).then(|| TransactionLogValue {
            producer_id: t.producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: t.next_producer_id,
            producer_epoch: t.producer_epoch,
            transaction_timeout_ms: t.txn_timeout_ms,
            state: t.state,
            partitions: if t.state == Empty { BTreeSet::new() } else { t.partitions.clone() },
            last_update_timestamp_ms: t.txn_last_update_timestamp_ms,
            start_timestamp_ms: t.txn_start_timestamp_ms,
            client_transaction_version: t.client_transaction_version,
        });
        TransactionLogRecord { transactional_id: self.transactional_id.clone(), value }
    }
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
