//! Chapter 5's model checks: cooperative consumers around the real group
//! coordinator never read a partition twice at once, stale commits are
//! fenced, and each planted bug is caught with a short counterexample.

use spool_models::group::{
    Action, Bug, GroupModel, NO_REFUSED_COMMIT_VISIBLE, NO_STALE_COMMIT, ONE_CONSUMER_AT_A_TIME,
    ONE_OWNER_PER_GENERATION,
};
use spool_models::{check, shortest_counterexample};
use stateright::Checker;

/// The actions of the shortest path that breaks `property`.
fn shortest(model: &GroupModel, property: &'static str) -> Vec<Action> {
    shortest_counterexample(model, property, 16).expect("a counterexample").into_actions()
}

// The coordinator of src/group/ with cooperative-sticky consumers keeps every
// safety property within two consumers, two partitions and three ticks, and
// every `sometimes` path (a full assignment, a second generation, a handover,
// a fenced commit, a live member dropped by a timeout) is reached.
#[test]
fn cooperative_group_is_safe() {
    let model = GroupModel::small(None);
    let checker = check(model.clone(), model.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 139_811);
}

// KIP-429's point: a leader that hands a partition straight to its new owner,
// while the old owner still reads it, has two consumers on one partition — the
// moment the new owner applies its assignment before the old one revokes.
#[test]
fn skipping_the_revoke_phase_is_caught() {
    let model = GroupModel::small(Some(Bug::SkipRevoke));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(ONE_CONSUMER_AT_A_TIME);
    // The coordinator's view stays consistent: each generation assigns each partition once.
    checker.assert_no_discovery(ONE_OWNER_PER_GENERATION);
    let path = shortest(&model, ONE_CONSUMER_AT_A_TIME);
    assert_eq!(path.len(), 12);
    assert!(matches!(path.last(), Some(Action::Apply(_))), "{path:?}");
}

// Generations fence commits: without the check, a commit sent in generation 1
// and delivered once generation 2 is formed is accepted.
#[test]
fn commits_ignoring_the_generation_are_caught() {
    let model = GroupModel::small(Some(Bug::CommitIgnoresGeneration));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(NO_STALE_COMMIT);
    checker.assert_no_discovery(ONE_CONSUMER_AT_A_TIME);
    let path = shortest(&model, NO_STALE_COMMIT);
    assert_eq!(path.len(), 12);
    assert!(matches!(path.last(), Some(Action::DeliverCommit(_))), "{path:?}");
}

// A consumer that keeps reading after its lease ran out is a zombie: the
// coordinator drops it at the rebalance timeout and gives its partitions away
// while it still applies an old assignment. No coordinator can prevent that;
// Kafka fences the zombie's commits, and the consumer must stop itself.
#[test]
fn a_consumer_without_a_lease_is_caught() {
    let model = GroupModel::small(Some(Bug::NoLease));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(ONE_CONSUMER_AT_A_TIME);
    checker.assert_no_discovery(NO_STALE_COMMIT);
    let path = shortest(&model, ONE_CONSUMER_AT_A_TIME);
    assert_eq!(path.len(), 11);
    assert!(path.contains(&Action::Tick), "a timeout is part of the story: {path:?}");
}

// A commit is visible only once stored: a coordinator that takes every
// append as stored shows a commit its client was told had failed. The
// shortest story: one consumer joins (twice: KIP-394 hands it a member id
// first), the initial delay passes, it syncs, applies its assignment, sends
// a commit, and the commit's store fails.
#[test]
fn a_coordinator_assuming_its_stores_succeed_is_caught() {
    let model = GroupModel::small(Some(Bug::StoreAssumed));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(NO_REFUSED_COMMIT_VISIBLE);
    checker.assert_no_discovery(NO_STALE_COMMIT);
    let path = shortest(&model, NO_REFUSED_COMMIT_VISIBLE);
    assert_eq!(path.len(), 7);
    assert!(matches!(path.last(), Some(Action::DeliverCommitUnstored(_))), "{path:?}");
}
