//! InitProducerId with a transactional id: a producer (re)starts, gets the
//! id's producer id with a bumped epoch, and every older producer of the id
//! is fenced.
//!
//! - A new producer (no current producer id and epoch in the request) bumps
//!   the epoch and clears the last epoch, so the old producer cannot recover.
//! - KIP-360: a producer that hit an error sends its current producer id and
//!   epoch; if they are still current the epoch is bumped and the old one
//!   remembered as the *last* epoch, so a retry of the same call (which sends
//!   that last epoch) gets the same answer instead of PRODUCER_FENCED.
//! - When the epochs of a producer id are used up (`i16::MAX - 1`) the id
//!   moves to a fresh producer id at epoch 0.
//! - If the old producer left a transaction open, it is fenced and aborted
//!   first and the caller is told CONCURRENT_TRANSACTIONS, to retry once the
//!   abort is done: the retry then bumps the epoch a second time.

use super::coordinator::{
    AfterAppend, InitProducerIdRequest, Output, ProducerIdAndEpoch, ReplyBody, RequestToken,
    TransactionCoordinator,
};
use super::error::TxnError;
use super::metadata::{TransactionMetadata, NO_PRODUCER_EPOCH};
use super::state::TransactionState::*;

impl TransactionCoordinator {
    /// InitProducerId for a transactional id with its `transaction.timeout.ms`,
    /// and the caller's current producer id and epoch if it has them (KIP-360).
    pub fn init_producer_id(
        &mut self,
        token: RequestToken,
        request: &InitProducerIdRequest,
        now_ms: i64,
    ) -> Output {
        let (transactional_id, txn_timeout_ms, current) =
            (request.transactional_id.as_str(), request.transaction_timeout_ms, request.current);
        let mut out = Output::default();
        match self.prepare_init(transactional_id, txn_timeout_ms, current, now_ms, &mut out) {
            Ok(Init::Bumped) => self.append_pending(transactional_id, AfterAppend::Init(token), &mut out),
            Ok(Init::FencedFirst) => {
                self.append_pending(transactional_id, AfterAppend::Fenced(Some(token)), &mut out)
            }
            Err(error) => {
                out.replies.extend(Output::reply(token, ReplyBody::InitProducerId(Err(error))).replies)
            }
        }
        out
    }

    fn prepare_init(
        &mut self,
        transactional_id: &str,
        txn_timeout_ms: i32,
        current: Option<ProducerIdAndEpoch>,
        now_ms: i64,
        out: &mut Output,
    ) -> Result<Init, TxnError> {
        self.check_owner(transactional_id)?;
        if txn_timeout_ms <= 0 || txn_timeout_ms > self.config.transaction_timeout_ms_max {
            return Err(TxnError::InvalidTransactionTimeout);
        }
        if !self.transactions.contains_key(transactional_id) {
            let producer_id = self.take_producer_id(out)?;
            let m = TransactionMetadata::new(transactional_id, producer_id, txn_timeout_ms, now_ms);
            self.transactions.insert(transactional_id.to_owned(), m);
        }
        let m = self.transactions.get_mut(transactional_id).expect("inserted");
        if m.pending.is_some() {
            return Err(TxnError::ConcurrentTransactions);
        }
        if let Some(current) = current {
            // The caller's producer id must be this id's, unless the id is
            // brand new (a producer recovering from UNKNOWN_PRODUCER_ID) or
            // it is the id before a rotation and the caller's epoch was the last.
            let known = m.producer_epoch == NO_PRODUCER_EPOCH
                || current.producer_id == m.producer_id
                || (current.producer_id == m.previous_producer_id && current.producer_epoch >= i16::MAX - 1);
            if !known {
                return Err(TxnError::ProducerFenced);
            }
        }
        match m.state {
            PrepareCommit | PrepareAbort => Err(TxnError::ConcurrentTransactions),
            Ongoing => {
                m.prepare_fence_and_abort(now_ms);
                Ok(Init::FencedFirst)
            }
            Empty | CompleteCommit | CompleteAbort => {
                let rotate = m.is_producer_epoch_exhausted()
                    && current.is_none_or(|c| c.producer_epoch == m.producer_epoch);
                if rotate {
                    let producer_id = self.take_producer_id(out)?;
                    let m = self.transactions.get_mut(transactional_id).expect("present");
                    m.prepare_producer_id_rotation(producer_id, txn_timeout_ms, current.is_some(), now_ms);
                } else {
                    let bump = self.config.bump_epoch_on_init;
                    let (epoch, last_epoch) = next_epochs(m, current.map(|c| c.producer_epoch), bump)?;
                    m.prepare_epoch_bump(epoch, last_epoch, txn_timeout_ms, now_ms);
                }
                Ok(Init::Bumped)
            }
            Dead | PrepareEpochFence => unreachable!("{} is never a completed state", m.state),
        }
    }
}

/// What InitProducerId prepared.
enum Init {
    /// A new epoch (or producer id) in an Empty transaction.
    Bumped,
    /// The abort of the old producer's open transaction.
    FencedFirst,
}

// ANCHOR: next_epochs
/// The epoch InitProducerId answers with and the last epoch it remembers,
/// given the caller's current epoch if it sent one (Kafka's
/// `prepareIncrementProducerEpoch`).
/// Only called with epochs to spare: an exhausted one rotates the producer id.
/// `bump` is false only for the model checker's planted bug (a new producer
/// gets the old one's epoch, and the old one is not fenced).
fn next_epochs(m: &TransactionMetadata, expected: Option<i16>, bump: bool) -> Result<(i16, i16), TxnError> {
    let bumped = || m.producer_epoch + 1;
    match expected {
        None if !bump && m.producer_epoch != NO_PRODUCER_EPOCH => Ok((m.producer_epoch, NO_PRODUCER_EPOCH)),
        // A new producer: fence everyone before it, remember nothing.
        None => Ok((bumped(), NO_PRODUCER_EPOCH)),
        // The caller holds the current epoch (or the id is new): bump, and
        // remember the caller's epoch for a retry.
        Some(e) if m.producer_epoch == NO_PRODUCER_EPOCH || e == m.producer_epoch => {
            Ok((bumped(), m.producer_epoch))
        }
        // A retry of a bump that succeeded: the same answer again.
        Some(e) if e == m.last_producer_epoch => Ok((m.producer_epoch, m.last_producer_epoch)),
        Some(_) => Err(TxnError::ProducerFenced),
    }
}
// ANCHOR_END: next_epochs
