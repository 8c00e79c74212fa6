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
//! Retries are answered by state: a commit retried after it completed is
//! fine, one retried while the markers are being written gets
//! CONCURRENT_TRANSACTIONS, and an abort of a committed transaction (or the
//! other way round) is INVALID_TXN_STATE.

use super::add::check_producer;
use super::coordinator::{
    AfterAppend, Output, ProducerIdAndEpoch, ReplyBody, RequestToken, TransactionCoordinator, WriteTxnMarkers,
};
use super::error::TxnError;
use super::state::TransactionState::*;

impl TransactionCoordinator {
    // ANCHOR: end_txn
    /// EndTxn from the producer: commit (`commit`) or abort its transaction.
    pub fn end_txn(
        &mut self,
        token: RequestToken,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        now_ms: i64,
    ) -> Output {
        let decision = self.check_owner(transactional_id).and_then(|()| {
            let m = self.transactions.get(transactional_id).ok_or(TxnError::InvalidProducerIdMapping)?;
            check_producer(m, producer_id, producer_epoch)?;
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
        match decision {
            Err(error) => Output::reply(token, ReplyBody::EndTxn(Err(error))),
            Ok(None) => Output::reply(
                token,
                ReplyBody::EndTxn(Ok(ProducerIdAndEpoch { producer_id, producer_epoch })),
            ),
            Ok(Some(prepare)) => {
                let m = self.transactions.get_mut(transactional_id).expect("checked");
                m.prepare_end(prepare, now_ms);
                let mut out = Output::default();
                // The reply and the markers wait for this record: see `append_completed`.
                self.append_pending(transactional_id, AfterAppend::Decided(token), &mut out);
                out
            }
        }
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

    /// Prepares and emits the Complete* record of a transaction whose markers are written.
    pub(super) fn complete_after_markers(&mut self, transactional_id: &str, now_ms: i64, out: &mut Output) {
        let m = self.transactions.get_mut(transactional_id).expect("a transaction with markers");
        m.prepare_complete(now_ms);
        self.append_pending(transactional_id, AfterAppend::Completed, out);
    }
}
