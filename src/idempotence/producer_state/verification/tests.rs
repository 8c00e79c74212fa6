//! The verification guard of KIP-890 part 1 in the producer table alone:
//! what an append needs, and what clears a guard.

use super::super::{BatchInfo, ProducerError, ProducerStateConfig, ProducerStateManager};
use super::VerificationGuard;
use crate::idempotence::EndTxnMarker;

const PID: i64 = 7;

fn txn_batch(epoch: i16, base_sequence: i32) -> BatchInfo {
    BatchInfo {
        producer_id: PID,
        producer_epoch: epoch,
        base_sequence,
        last_offset_delta: 0,
        max_timestamp: 1,
        is_transactional: true,
    }
}

fn table() -> ProducerStateManager {
    ProducerStateManager::new(ProducerStateConfig::default())
}

const ABORT: EndTxnMarker = EndTxnMarker { is_abort: true, coordinator_epoch: 0 };

/// A transactional batch that would open a transaction needs the producer's
/// current guard (Kafka's `batchMissingRequiredVerification`): none, the
/// sentinel, or another guard is INVALID_TXN_STATE; the guard passes.
#[test]
fn opening_a_transaction_needs_the_current_guard() {
    let mut t = table();
    let batch = txn_batch(0, 0);
    let refused = Err(ProducerError::TxnNotVerified { producer_id: PID });
    assert_eq!(t.check_verified(&batch, VerificationGuard::SENTINEL), refused);
    let guard = t.maybe_start_verification(PID, 0, 0, 1);
    assert_ne!(guard, VerificationGuard::SENTINEL);
    assert_eq!(t.maybe_start_verification(PID, 0, 0, 2), guard, "one pending verification per producer");
    assert_eq!(t.check_verified(&batch, VerificationGuard::SENTINEL), refused);
    assert_eq!(t.check_verified(&batch, VerificationGuard::new()), refused);
    assert_eq!(t.check_verified(&batch, guard), Ok(()));
    assert_eq!(ProducerError::TxnNotVerified { producer_id: PID }.kafka_error_code(), 48);
}

/// Once the transaction is open here its batches need no guard, and the
/// append that opened it spent the guard; a plain batch is never checked.
#[test]
fn an_open_transaction_needs_no_guard() {
    let mut t = table();
    t.maybe_start_verification(PID, 0, 0, 1);
    t.update(&txn_batch(0, 0), 10);
    assert!(t.verification_state(PID).is_none(), "the transactional append cleared the guard");
    assert_eq!(t.maybe_start_verification(PID, 1, 0, 2), VerificationGuard::SENTINEL);
    assert_eq!(t.check_verified(&txn_batch(0, 1), VerificationGuard::SENTINEL), Ok(()));
    let plain = BatchInfo { is_transactional: false, ..txn_batch(0, 0) };
    assert_eq!(t.check_verified(&plain, VerificationGuard::SENTINEL), Ok(()));
}

/// The ABA race Kafka's guard exists for: a verification passes, the
/// transaction is aborted (its marker clears the guard), a new one verifies
/// with a new guard; the stale "yes" is refused, the new one appends.
#[test]
fn a_marker_spends_a_pending_guard() {
    let mut t = table();
    let stale = t.maybe_start_verification(PID, 0, 0, 1);
    t.apply_marker(PID, 1, &ABORT, 5, 2);
    assert!(t.verification_state(PID).is_none());
    let fresh = t.maybe_start_verification(PID, 0, 1, 3);
    assert_ne!(fresh, stale);
    let refused = Err(ProducerError::TxnNotVerified { producer_id: PID });
    assert_eq!(t.check_verified(&txn_batch(1, 0), stale), refused);
    assert_eq!(t.check_verified(&txn_batch(1, 0), fresh), Ok(()));
}

/// While a verification is pending, a later sequence of the producer is
/// OUT_OF_ORDER_SEQUENCE_NUMBER (Kafka's `checkSequence` against the lowest
/// sequence seen), and a lower one lowers the bar; a new epoch resets it.
#[test]
fn a_pending_verification_holds_back_later_sequences() {
    let mut t = table();
    t.maybe_start_verification(PID, 3, 0, 1);
    assert!(matches!(t.validate(&txn_batch(0, 4)), Err(ProducerError::OutOfOrderSequence { .. })));
    assert!(t.validate(&txn_batch(0, 3)).is_ok());
    t.maybe_start_verification(PID, 2, 0, 1);
    assert!(matches!(t.validate(&txn_batch(0, 3)), Err(ProducerError::OutOfOrderSequence { .. })));
    t.maybe_start_verification(PID, 5, 1, 1);
    assert_eq!(t.verification_state(PID).map(|e| (e.epoch, e.lowest_sequence)), Some((1, 5)));
}

/// A verification never answered is dropped after `producer.id.expiration.ms`.
#[test]
fn an_unanswered_verification_expires() {
    let mut t = table();
    t.maybe_start_verification(PID, 0, 0, 1_000);
    let expiration_ms = t.config().producer_id_expiration_ms;
    t.remove_expired_producers(1_000 + expiration_ms - 1);
    assert!(t.verification_state(PID).is_some());
    t.remove_expired_producers(1_000 + expiration_ms);
    assert!(t.verification_state(PID).is_none());
}
