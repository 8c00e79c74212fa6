//! Chapter 9's model checks: the real transaction coordinator and producer
//! tables keep a transaction's output and offset commit atomic for
//! `read_committed` readers, fence the zombie, hold the LSO below every open
//! transaction and leave none hanging; each planted bug is caught with a
//! short counterexample.

use spool_models::transactions::{
    Action, Bug, Produce, TransactionsModel, ALL_OR_NOTHING, EVERY_TRANSACTION_ENDS, FENCED,
    FENCED_NEVER_APPENDS, LATE_PRODUCE_REFUSED, LSO_BELOW_OPEN, OFFSETS, OUTPUT, READ_WHOLE,
};
use spool_models::{check, shortest_counterexample};
use stateright::Checker;

/// The actions of the shortest path that breaks `property`.
fn shortest(model: &TransactionsModel, property: &'static str) -> Vec<Action> {
    shortest_counterexample(model, property, 20).expect("a counterexample").into_actions()
}

// KIP-98's guarantees hold for src/txn and src/idempotence/producer_state
// together: with a zombie and its successor, one request timeout, one
// coordinator crash, and the zombie's death and transaction timeout anywhere,
// a read_committed reader sees each transaction's record and offset commit
// all or nothing, the zombie never appends once fenced, the LSO stays below
// every open transaction and no transaction is left open; and a commit, an
// abort, a fencing, a late produce refused by KIP-890's verification, a
// decision finished by a reloaded coordinator and a dead producer's
// transaction aborted on its timeout are all reached.
#[test]
fn the_real_coordinator_and_producer_tables_keep_transactions_atomic() {
    let model = TransactionsModel::small(None);
    let checker = check(model.clone(), model.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 15_101);
}

// The same safety properties when the successor, once it has fenced the
// zombie, runs a transaction of its own with the same transactional id and
// producer id: the zombie's late requests meet the successor's transaction.
#[test]
fn the_successors_transaction_is_safe_from_the_zombie() {
    let model = TransactionsModel::successor(None);
    let checker = check(model.clone(), model.bound());
    for property in [ALL_OR_NOTHING, FENCED_NEVER_APPENDS, LSO_BELOW_OPEN, EVERY_TRANSACTION_ENDS] {
        checker.assert_no_discovery(property);
    }
    for reached in [READ_WHOLE, FENCED, LATE_PRODUCE_REFUSED] {
        checker.assert_any_discovery(reached);
    }
    assert_eq!(checker.unique_state_count(), 23_179);
}

// KAFKA-14402, the hanging transaction: without KIP-890's verification, the
// produce producer 0 gave up on arrives after the abort's markers and opens
// a transaction on the partition that the coordinator (CompleteAbort) will
// never end. The LSO is right to stop there — and stays there for ever.
#[test]
fn a_late_produce_without_verification_hangs_a_transaction() {
    let model = TransactionsModel::small(Some(Bug::HangingTransaction));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(EVERY_TRANSACTION_ENDS);
    checker.assert_no_discovery(LSO_BELOW_OPEN);
    let path = shortest(&model, EVERY_TRANSACTION_ENDS);
    assert_eq!(path.len(), 16);
    let late = Produce { producer: 0, partition: OUTPUT, producer_id: 1, producer_epoch: 0 };
    let late_offsets = Produce { partition: OFFSETS, ..late };
    let delivered =
        path.iter().rposition(|a| matches!(a, Action::Deliver(p) if *p == late || *p == late_offsets));
    let last_marker = path.iter().rposition(|a| matches!(a, Action::WriteMarker { .. }));
    assert!(delivered > last_marker, "the produce given up on arrives after the markers: {path:?}");
    assert!(path.iter().any(|a| matches!(a, Action::GiveUp(0, _))), "the producer gave up on it first");
}

// The PrepareCommit record is the point of no return: markers sent before it
// is durable write COMMIT into one partition, the coordinator crashes with
// the record lost, reloads the transaction as Ongoing, and the successor's
// InitProducerId aborts it — the offset commit committed, the output aborted.
#[test]
fn markers_before_the_prepare_record_is_durable_break_atomicity() {
    let model = TransactionsModel::small(Some(Bug::MarkersBeforePrepare));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(ALL_OR_NOTHING);
    let path = shortest(&model, ALL_OR_NOTHING);
    assert_eq!(path.len(), 16);
    assert!(path.contains(&Action::Crash), "the decision is lost in a crash");
    assert!(path.contains(&Action::Send(1)), "the successor's InitProducerId aborts the transaction");
}

// InitProducerId that hands the successor the zombie's epoch fences nobody:
// the zombie adds its partition and its record lands.
#[test]
fn an_init_without_epoch_bump_lets_the_zombie_append() {
    let model = TransactionsModel::small(Some(Bug::NoEpochBump));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(FENCED_NEVER_APPENDS);
    let path = shortest(&model, FENCED_NEVER_APPENDS);
    assert_eq!(path.len(), 8);
    let zombie = Produce { producer: 0, partition: OUTPUT, producer_id: 1, producer_epoch: 0 };
    assert_eq!(path.last(), Some(&Action::Deliver(zombie)));
}
