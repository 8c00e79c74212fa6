//! Chapter 8's model checks: the real producer table keeps an idempotent
//! producer's records exactly once and in order through every loss,
//! duplication and reordering the model can reach, and each planted bug is
//! caught with a short counterexample.

use spool_models::idempotence::{
    Action, Answer, Bug, IdempotenceModel, Message, ACKED_ONCE_WHERE_SAID, IN_SEND_ORDER,
    REORDER_FAILS_A_RECORD, WRITTEN_NEVER_REFUSED,
};
use spool_models::{check, shortest_counterexample};
use stateright::Checker;

fn model(bug: Option<Bug>) -> IdempotenceModel {
    IdempotenceModel::new(bug, false)
}

/// The actions of the shortest path that breaks `property`.
fn shortest(model: &IdempotenceModel, property: &'static str) -> Vec<Action> {
    shortest_counterexample(model, property, 16).expect("a counterexample").into_actions()
}

// The producer table of src/idempotence/ keeps every safety property with five
// records in flight, a lost and a duplicated message in any order, and one
// epoch bump; and every `sometimes` path (all acked, a duplicate detected, an
// epoch bump accepted, a stale epoch fenced) is reached.
#[test]
fn the_real_producer_table_is_idempotent() {
    let model = model(None);
    let checker = check(model.clone(), model.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 297_219);
}

// Remembering 4 batches while 5 are in flight: five batches are written, a
// second copy of the first arrives, and the leader refuses it as out of order
// although it is in the log — the producer would give up a written record.
#[test]
fn retaining_four_batches_is_caught() {
    let model = model(Some(Bug::RetainFour));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(WRITTEN_NEVER_REFUSED);
    for holds in [ACKED_ONCE_WHERE_SAID, IN_SEND_ORDER] {
        checker.assert_no_discovery(holds);
    }
    let path = shortest(&model, WRITTEN_NEVER_REFUSED);
    assert_eq!(path.len(), 12);
    let first = Message::Request { epoch: 0, seq: 0, record: 0 };
    assert_eq!(path.last(), Some(&Action::Deliver(first)), "the last step delivers the first batch again");
}

// Keeping the old epoch's batches on an epoch bump: record 0 is written and
// its response lost, the producer gives up and bumps its epoch, record 1 goes
// out at the new epoch's sequence 0, twice; the second copy matches the old
// epoch's sequence 0 and is acknowledged at record 0's offset.
#[test]
fn keeping_batches_on_an_epoch_bump_is_caught() {
    let model = model(Some(Bug::KeepBatchesOnEpochBump));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(ACKED_ONCE_WHERE_SAID);
    let path = shortest(&model, ACKED_ONCE_WHERE_SAID);
    assert_eq!(path.len(), 9);
    assert!(path.contains(&Action::Expire), "the path goes through an epoch bump");
}

// Bounding unacknowledged batches instead of the sequence window: five
// batches go out, the first twice; all five are written, the fifth is
// acknowledged first, a sixth goes out and is written, and the second copy of
// the first — a batch the producer still awaits — is refused as out of order.
// The same bounds with the real window hold.
#[test]
fn counting_in_flight_batches_is_caught() {
    let buggy = model(Some(Bug::CountInFlight));
    let checker = check(buggy.clone(), buggy.bound());
    checker.assert_any_discovery(WRITTEN_NEVER_REFUSED);
    assert_eq!(shortest(&buggy, WRITTEN_NEVER_REFUSED).len(), 15);

    let real = IdempotenceModel { bug: None, ..buggy };
    let checker = check(real.clone(), real.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 243_309);
}

// KAFKA-15591 as spool (like Kafka 3.x) has it: two batches to a partition
// that has never seen the producer arrive swapped, nothing lost. The second is
// accepted because an unknown producer may start at any sequence; the first is
// then out of order, and the producer fails it and bumps its epoch.
#[test]
fn a_reordering_alone_fails_a_record_on_a_new_partition() {
    let model = model(None);
    let path = shortest(&model, REORDER_FAILS_A_RECORD);
    let request = |seq, record| Message::Request { epoch: 0, seq, record };
    let refusal = Message::Response { epoch: 0, seq: 0, answer: Answer::Error(45) };
    assert_eq!(
        path,
        [
            Action::Send(0),
            Action::Send(1),
            Action::Deliver(request(1, 1)),
            Action::Deliver(request(0, 0)),
            Action::Deliver(refusal),
        ]
    );
}
