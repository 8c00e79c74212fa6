use super::*;

fn partitions(names: &[(&str, i32)]) -> BTreeSet<TopicPartition> {
    names.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect()
}

/// A producer at epoch 0 with nothing open.
fn initialized() -> TransactionMetadata {
    let mut m = TransactionMetadata::new("tx", 7, 60_000, 0);
    m.prepare_epoch_bump(0, NO_PRODUCER_EPOCH, 60_000, 1);
    m.complete_transition();
    m
}

// The happy path of one transaction, each step prepared then completed
// (TransactionMetadata.scala): the state moves only on completion, and a
// committed transaction forgets its partitions.
#[test]
fn one_transaction_step_by_step() {
    let mut m = initialized();
    assert_eq!((m.state, m.producer_epoch), (Empty, 0));
    m.prepare_add_partitions(&partitions(&[("a", 0)]), 10);
    assert_eq!(m.state, Empty, "not durable yet");
    m.complete_transition();
    assert_eq!((m.state, m.txn_start_timestamp_ms), (Ongoing, 10));
    m.prepare_add_partitions(&partitions(&[("b", 1)]), 20);
    m.complete_transition();
    assert_eq!(m.partitions, partitions(&[("a", 0), ("b", 1)]));
    assert_eq!(m.txn_start_timestamp_ms, 10, "the start is the first partition's");
    m.prepare_end(PrepareCommit, 0, NO_PRODUCER_ID, 30);
    m.complete_transition();
    m.prepare_complete(40);
    m.complete_transition();
    assert_eq!((m.state, m.partitions.len(), m.producer_epoch), (CompleteCommit, 0, 0));
}

// Kafka's pendingState: a second change cannot be prepared while one waits
// for its record (the coordinator answers CONCURRENT_TRANSACTIONS before it gets here).
#[test]
#[should_panic(expected = "already pending")]
fn one_pending_transition_at_a_time() {
    let mut m = initialized();
    m.prepare_add_partitions(&partitions(&[("a", 0)]), 10);
    m.prepare_add_partitions(&partitions(&[("b", 0)]), 11);
}

// The transition table is enforced: an Empty transaction cannot be committed.
#[test]
#[should_panic(expected = "may not follow")]
fn invalid_transition_is_a_bug() {
    let mut m = initialized();
    m.prepare_end(PrepareCommit, 0, NO_PRODUCER_ID, 10);
}

// A fence bumps the epoch in memory at once and prepares the abort with it;
// if that abort's append fails, the next fence reuses the bumped epoch
// rather than bump again (Kafka's hasFailedEpochFence).
#[test]
fn a_failed_fence_does_not_bump_twice() {
    let mut m = initialized();
    m.prepare_add_partitions(&partitions(&[("a", 0)]), 10);
    m.complete_transition();
    let t = m.prepare_fence_and_abort(20);
    assert_eq!((t.state, t.producer_epoch, m.producer_epoch), (PrepareAbort, 1, 1));
    m.abandon_transition(true);
    assert_eq!((m.state, m.producer_epoch), (Ongoing, 1));
    let t = m.prepare_fence_and_abort(30);
    assert_eq!(t.producer_epoch, 1);
    m.complete_transition();
    m.prepare_complete(40);
    m.complete_transition();
    assert!(!m.has_failed_epoch_fence, "a durable abort clears the flag");
}

// An Empty transaction's record has no partitions; an expiring id's record is a tombstone.
#[test]
fn records_of_transits() {
    let mut m = initialized();
    let t = m.prepare_add_partitions(&partitions(&[("a", 0)]), 10);
    let value = m.record_of(&t).value.expect("a value");
    assert_eq!(
        (value.state, value.partitions.len(), value.producer_id, value.producer_epoch),
        (Ongoing, 1, 7, 0)
    );
    m.abandon_transition(false);
    let t = m.prepare_dead();
    assert_eq!(m.record_of(&t).value, None);
}
