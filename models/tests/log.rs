//! Chapter 1's model checks: the real log survives every crash the model can
//! reach, and each planted bug is caught with a short counterexample.

use spool::format::batch::HEADER_SIZE;
use spool::log::CrashMode;
use spool_models::log::{
    Action, Bug, LogModel, ShutdownStep, ACKED_SURVIVE, FLUSHED_SURVIVE, NO_CORRUPT_BATCH, PREFIX, REOPENS,
};
use spool_models::{check, shortest_counterexample};
use stateright::{Checker, Model};

fn model(bug: Option<Bug>) -> LogModel {
    LogModel::new(bug, LogModel::RECORDS_MAX)
}

/// The actions of the shortest path that breaks `property`.
fn shortest(model: &LogModel, property: &'static str) -> Vec<Action> {
    shortest_counterexample(model, property, 20).expect("a counterexample").into_actions()
}

// The log of src/log/ keeps every safety property through every crash, torn
// write and restart within three records, and every `sometimes` path is reached.
// (9,293 before the leader-epoch-checkpoint file: see the model's "Bounds".)
#[test]
fn the_real_log_survives_every_crash() {
    let model = model(None);
    let checker = check(model.clone(), model.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 9_339);
}

// Acking in durable mode before the fsync loses an acknowledged record: append,
// power cut, restart — and nothing else breaks.
#[test]
fn ack_before_fsync_is_caught() {
    let model = model(Some(Bug::AckBeforeFsync));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(ACKED_SURVIVE);
    for holds in [REOPENS, NO_CORRUPT_BATCH, PREFIX, FLUSHED_SURVIVE] {
        checker.assert_no_discovery(holds);
    }
    assert_eq!(
        shortest(&model, ACKED_SURVIVE),
        [Action::Append(0), Action::Crash(CrashMode::ZeroedTail), Action::Restart]
    );
}

// Writing the clean-shutdown marker before the flush lets the next start trust
// the files as they are: a page of the record lost in the power cut, behind an
// intact header, is served as it is — only the CRC scan of recovery would see it.
#[test]
fn marker_before_flush_is_caught() {
    let model = model(Some(Bug::MarkerBeforeFlush));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(NO_CORRUPT_BATCH);
    assert_eq!(
        shortest(&model, NO_CORRUPT_BATCH),
        [
            Action::Append(0),
            Action::Shutdown(ShutdownStep::WriteMarker),
            Action::Crash(CrashMode::LostPage { offset: HEADER_SIZE + 2, len: 4 }),
            Action::Restart,
        ]
    );
}

// The bugs are switches on one model: every variant fails at least one `always`
// property, and the real order of a clean shutdown is `LogManager::shutdown`'s.
#[test]
fn every_bug_variant_fails_and_the_real_shutdown_flushes_first() {
    for bug in Bug::ALL {
        let model = model(Some(bug));
        let checker = check(model.clone(), model.bound());
        let failed = model
            .properties()
            .iter()
            .filter(|p| p.expectation == stateright::Expectation::Always)
            .any(|p| checker.discovery(p.name).is_some());
        assert!(failed, "{} was not caught", bug.name());
    }
    let real = model(None).shutdown_steps();
    assert_eq!(real, [ShutdownStep::Flush, ShutdownStep::Checkpoint, ShutdownStep::WriteMarker]);
}
