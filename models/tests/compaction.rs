//! Chapter 10's model checks: the real log cleaner — plan, clean and swap
//! as separate steps, with appends, fetches, the clock and power cuts
//! between them and inside the swap — keeps every key's latest record
//! readable and durable, and tombstones for `delete.retention.ms`; the swap
//! that removes old segments before the cleaned ones are durable is caught
//! with a short counterexample.

use spool::log::CrashMode;
use spool_models::compaction::{Action, Bug, CompactionModel, ACKED_SURVIVE, SWAP_OPS_MAX};
use spool_models::{check, check_with, shortest_counterexample};
use stateright::{Checker, Expectation, Model};

// Kafka's compaction guarantees hold for src/log/cleaner within five records,
// one tick of delete.retention.ms and a power cut between any two steps or
// after any write of a swap: a read sees each key's latest record in order,
// acknowledged records survive, tombstones live delete.retention.ms, and a
// reader that keeps up sees every delete — while a swap, a recovery that
// finishes an interrupted swap, a removed tombstone and a slow reader
// missing a delete (Kafka's documented exception) are all reached.
#[test]
fn the_real_cleaner_keeps_every_keys_latest_record() {
    let model = CompactionModel::small(None);
    let checker = check(model.clone(), model.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), STATES_SMALL);
}

/// The small bound's state count, pinned: a change means the model or the
/// code it runs changed what it can reach.
const STATES_SMALL: usize = 359_609;

// SwapVariant::RemoveOldBeforeSync: phase 2 leaves the .cleaned segment
// unsynced and the swap removes the old one first; a power cut after the
// rename loses the acknowledged k0=0 — eight steps.
#[test]
fn delete_before_durable_is_caught() {
    let model = CompactionModel::small(Some(Bug::DeleteBeforeDurable));
    let checker = check_with(model.clone(), model.bound(), true);
    checker.assert_any_discovery(ACKED_SURVIVE);
    let path = shortest_counterexample(&model, ACKED_SURVIVE, 12).expect("a counterexample");
    assert_eq!(
        path.into_actions(),
        [
            Action::Append(0),
            Action::Flush,
            Action::Append(1),
            Action::Append(2),
            Action::Plan,
            Action::Clean,
            Action::SwapCut { ops: 7, mode: CrashMode::LoseUnsynced },
            Action::Restart,
        ]
    );
}

// The bug's path with the real swap order: a power cut after any write of
// the swap, then recovery, breaks no `always` property — it is the order of
// the swap's steps, not the path, that loses the record.
#[test]
fn the_bugs_path_is_safe_with_the_real_swap() {
    let model = CompactionModel::small(None);
    let mut state = model.init_states().remove(0);
    let path =
        [Action::Append(0), Action::Flush, Action::Append(1), Action::Append(2), Action::Plan, Action::Clean];
    for action in path {
        state = model.next_state(&state, action).expect("a step");
    }
    let mut cuts = 0;
    for ops in 1..SWAP_OPS_MAX {
        let cut = Action::SwapCut { ops, mode: CrashMode::LoseUnsynced };
        let Some(crashed) = model.next_state(&state, cut) else { continue };
        let reopened = model.next_state(&crashed, Action::Restart).expect("a restart");
        for property in model.properties().iter().filter(|p| p.expectation == Expectation::Always) {
            assert!((property.condition)(&model, &reopened), "{} fails after {ops} writes", property.name);
        }
        cuts += 1;
    }
    assert!(cuts > 5, "the swap was cut at only {cuts} points");
}
