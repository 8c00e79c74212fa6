//! EndTxn: the two phases of the commit.
//!
//! Phase one writes the decision, PrepareCommit or PrepareAbort, to
//! `__transaction_state`. Once that record is durable the producer is
//! answered and the decision is final: phase two writes a COMMIT or ABORT
//! marker into every partition of the transaction (WriteTxnMarkers), and when
//! all are written the coordinator records CompleteCommit or CompleteAbort.
//! A coordinator that crashes between the two phases finds the Prepare record
//! when it loads the partition and writes the markers again (`finish_loading`);
//! markers are idempotent for the partitions, so writing one twice is harmless.
//!
//! A client of transaction version 2 (KIP-890 part 2, EndTxn v5+) has the
//! epoch bumped by every EndTxn: the answer carries the new epoch for the
//! next transaction, the markers carry it too, and a retry of the EndTxn
//! (with the epoch before the bump) is recognised as one.
//!
//! Retries are answered by state: a commit retried after it completed is
//! fine, one retried while the markers are being written gets
//! CONCURRENT_TRANSACTIONS, and an abort of a committed transaction (or the
//! other way round) is INVALID_TXN_STATE.

use super::coordinator::{
    AfterAppend, EndTxnRequest, Output, ProducerIdAndEpoch, Reply, ReplyBody, RequestToken,
    TransactionCoordinator, WriteTxnMarkers,
};
use super::error::TxnError;
use super::metadata::{
    TransactionMetadata, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, TRANSACTION_VERSION_EPOCH_BUMP,
};
use super::state::TransactionState::*;

impl TransactionCoordinator {
    // ANCHOR: end_txn
    /// EndTxn from the producer: commit or abort its transaction.
    pub fn end_txn(&mut self, token: RequestToken, request: &EndTxnRequest, now_ms: i64) -> Output {
        let EndTxnRequest {
            transactional_id,
            producer_id,
            producer_epoch,
            commit,
            client_transaction_version,
        } = request;
        let (producer_id, producer_epoch, commit, version) =
            (*producer_id, *producer_epoch, *commit, *client_transaction_version);
        let decision = self.check_owner(transactional_id).and_then(|()| {
            let m = self.transactions.get(transactional_id).ok_or(TxnError::InvalidProducerIdMapping)?;
            check_end_producer(m, producer_id, producer_epoch)?;
            if m.pending.is_some() {
                return Err(TxnError::ConcurrentTransactions);
            }
            match (m.state, commit) {
                (Ongoing, true) => Ok(Some(PrepareCommit)),
                (Ongoing, false) => Ok(Some(PrepareAbort)),
                // A retry of an end that completed: the same answer.
                (CompleteCommit, true) | (CompleteAbort, false) => Ok(None),
                // A retry while the markers are being written.
                (PrepareCommit, true) | (PrepareAbort, false) => Err(TxnError::ConcurrentTransactions),
                // The other decision, or nothing open to end.
                (PrepareCommit | PrepareAbort | CompleteCommit | CompleteAbort | Empty, _) => {
                    Err(TxnError::InvalidTxnState)
                }
                (Dead | PrepareEpochFence, _) => unreachable!("{} is never a completed state", m.state),
            }
        });
        let prepare = match decision {
            Err(error) => return Output::reply(token, ReplyBody::EndTxn(Err(error))),
            Ok(None) => return Output::reply(token, ReplyBody::EndTxn(Ok(self.next_ids(transactional_id)))),
            Ok(Some(prepare)) => prepare,
        };
        let mut out = Output::default();
        let exhausted = self.transactions[transactional_id].is_producer_epoch_exhausted();
        let next_producer_id = if version >= TRANSACTION_VERSION_EPOCH_BUMP && exhausted {
            match self.take_producer_id(&mut out) {
                Ok(id) => id,
                Err(error) => {
                    out.replies.push(Reply { token, body: ReplyBody::EndTxn(Err(error)) });
                    return out;
                }
            }
        } else {
            NO_PRODUCER_ID
        };
        let m = self.transactions.get_mut(transactional_id).expect("checked");
        m.prepare_end(prepare, version, next_producer_id, now_ms);
        // The reply and the markers wait for this record: see `append_completed`.
        self.append_pending(transactional_id, AfterAppend::Decided(token), &mut out);
        if !self.config.markers_after_decision_durable {
            // The model checker's planted bug: a decision nobody may remember.
            out.markers.push(self.markers_for_pending(transactional_id));
        }
        out
    }
    // ANCHOR_END: end_txn

    /// The driver wrote every marker of `request`: record the transaction
    /// complete. A request from before a reload, or for a transaction that has
    /// moved on, is ignored.
    pub fn markers_written(&mut self, request: &WriteTxnMarkers, now_ms: i64) -> Output {
        let mut out = Output::default();
        if request.coordinator_epoch != self.coordinator_epoch {
            return out;
        }
        let current = self.transactions.get(&request.transactional_id).is_some_and(|m| {
            m.pending.is_none()
                && m.state == if request.commit { PrepareCommit } else { PrepareAbort }
                && (m.producer_id, m.producer_epoch) == (request.producer_id, request.producer_epoch)
        });
        if current {
            self.complete_after_markers(&request.transactional_id, now_ms, &mut out);
        }
        out
    }

    /// The markers of a decision whose record is not yet durable: only for
    /// [`markers_after_decision_durable`](super::TransactionCoordinatorConfig::markers_after_decision_durable)
    /// set to false.
    fn markers_for_pending(&self, transactional_id: &str) -> WriteTxnMarkers {
        let m = &self.transactions[transactional_id];
        let t = m.pending.as_ref().expect("a decision being appended");
        WriteTxnMarkers {
            transactional_id: transactional_id.to_owned(),
            producer_id: t.producer_id,
            producer_epoch: t.producer_epoch,
            commit: t.state == PrepareCommit,
            coordinator_epoch: self.coordinator_epoch,
            partitions: t.partitions.clone(),
        }
    }

    /// The producer id and epoch the producer's next transaction uses: the
    /// current ones, or after an epoch overflow (transaction version 2) the
    /// next producer id at epoch 0.
    pub(super) fn next_ids(&self, transactional_id: &str) -> ProducerIdAndEpoch {
        let m = &self.transactions[transactional_id];
        if m.bumps_epoch_at_end() && m.next_producer_id != NO_PRODUCER_ID {
            ProducerIdAndEpoch { producer_id: m.next_producer_id, producer_epoch: 0 }
        } else {
            ProducerIdAndEpoch { producer_id: m.producer_id, producer_epoch: m.producer_epoch }
        }
    }

    /// Prepares and emits the Complete* record of a transaction whose markers are written.
    pub(super) fn complete_after_markers(&mut self, transactional_id: &str, now_ms: i64, out: &mut Output) {
        let m = self.transactions.get_mut(transactional_id).expect("a transaction with markers");
        m.prepare_complete(now_ms);
        self.append_pending(transactional_id, AfterAppend::Completed, out);
    }
}

/// EndTxn's producer check (Kafka's `endTransaction`). Before transaction
/// version 2 the epoch must be the current one. Once an end has bumped it, a
/// retry of that end carries the epoch before the bump (or, after an
/// overflow, the old producer id at the last epoch) and is let through, to be
/// answered by state; a request with the current epoch while the decision is
/// pending or complete is not a retry and is fenced, as in Kafka.
fn check_end_producer(
    m: &TransactionMetadata,
    producer_id: i64,
    producer_epoch: i16,
) -> Result<(), TxnError> {
    let bumped = m.bumps_epoch_at_end();
    let retry_on_overflow = bumped
        && m.previous_producer_id == producer_id
        && producer_epoch == i16::MAX - 1
        && m.producer_epoch == 0;
    let retry_on_bump = bumped && i32::from(m.producer_epoch) == i32::from(producer_epoch) + 1;
    let valid_epoch = match m.state {
        PrepareCommit | PrepareAbort if bumped => retry_on_bump,
        CompleteCommit | CompleteAbort if bumped => retry_on_bump || retry_on_overflow,
        _ => producer_epoch == m.producer_epoch,
    };
    if (m.producer_id != producer_id && !retry_on_overflow) || m.producer_epoch == NO_PRODUCER_EPOCH {
        Err(TxnError::InvalidProducerIdMapping) // no producer holds it: see `check_producer`
    } else if producer_epoch == i16::MAX || !valid_epoch {
        // i16::MAX is never a producer's: see `check_producer`.
        Err(TxnError::ProducerFenced)
    } else {
        Ok(())
    }
}
