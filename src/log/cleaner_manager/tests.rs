//! The cleaner manager's choices and state changes, against Kafka's
//! `LogCleanerManager` (`grabFilthiestCompactedLog`, `abortAndPauseCleaning`,
//! `resumeCleaning`, `doneCleaning`).

use proptest::prelude::*;

use super::*;
use crate::log::cleanable::{CleanableStats, FirstDirtyOffset};

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

/// A log with `clean` and `cleanable` bytes, dirty from offset 100.
fn stats(clean: u64, cleanable: u64) -> CleanableStats {
    CleanableStats {
        first_dirty_offset: FirstDirtyOffset { offset: 100, reset: false },
        first_uncleanable_offset: 200,
        clean_bytes: clean,
        cleanable_bytes: cleanable,
        compaction_delay_ms: 0,
    }
}

fn candidate(tp: &TopicPartition, stats: CleanableStats) -> Candidate<'_> {
    Candidate { topic_partition: tp, compact: true, min_cleanable_dirty_ratio: 0.5, stats }
}

fn picked(grab: &Grab) -> Option<TopicPartition> {
    grab.filthiest.as_ref().map(|l| l.topic_partition.clone())
}

/// Of the logs above their ratio the filthiest is chosen and marked in
/// progress, so the next thread to ask gets the next filthiest; a log at or
/// below its ratio, or not compacted, or empty, is never chosen.
#[test]
fn the_filthiest_log_above_its_ratio_is_chosen_once() {
    let (a, b, c, d, e) = (tp(0), tp(1), tp(2), tp(3), tp(4));
    let mut manager = CleanerManager::new();
    let candidates = || {
        [
            candidate(&a, stats(40, 60)),
            candidate(&b, stats(10, 90)),
            candidate(&c, stats(50, 50)),
            Candidate { compact: false, ..candidate(&d, stats(0, 100)) },
            candidate(&e, stats(0, 0)),
        ]
    };
    let first = manager.grab_filthiest(candidates());
    assert_eq!(picked(&first), Some(b.clone()));
    let chosen = first.filthiest.unwrap();
    assert_eq!(
        (chosen.first_dirty_offset, chosen.first_uncleanable_offset, chosen.dirty_ratio),
        (100, 200, 0.9)
    );
    assert_eq!(manager.state(&b), Some(CleaningState::InProgress));
    assert_eq!(picked(&manager.grab_filthiest(candidates())), Some(a.clone()));
    assert_eq!(
        picked(&manager.grab_filthiest(candidates())),
        None,
        "c is exactly at 0.5, d not compacted, e empty"
    );
    assert_eq!(manager.done(&b, 200), Ok(Done::Checkpoint(200)));
    assert_eq!(manager.state(&b), None);
}

/// `max.compaction.lag.ms` (KIP-354) makes a log cleanable below its ratio,
/// but only if it has cleanable bytes.
#[test]
fn the_maximum_lag_overrides_the_ratio() {
    let (a, b) = (tp(0), tp(1));
    let mut manager = CleanerManager::new();
    let late = CleanableStats { compaction_delay_ms: 5, ..stats(90, 10) };
    let late_but_nothing = CleanableStats { compaction_delay_ms: 5, ..stats(90, 0) };
    let grab = manager.grab_filthiest([candidate(&b, late_but_nothing), candidate(&a, late)]);
    assert_eq!(picked(&grab), Some(a));
    assert!(grab.filthiest.unwrap().needs_compaction_now);
}

/// A checkpoint reset to the log start is handed back to be written, for
/// every log looked at (Kafka's `forceUpdateCheckpoint`), chosen or not.
#[test]
fn reset_checkpoints_are_handed_back() {
    let a = tp(0);
    let mut manager = CleanerManager::new();
    let reset =
        CleanableStats { first_dirty_offset: FirstDirtyOffset { offset: 7, reset: true }, ..stats(90, 10) };
    let grab = manager.grab_filthiest([candidate(&a, reset)]);
    assert_eq!(grab, Grab { filthiest: None, reset_checkpoints: vec![(a, 7)] });
}

/// Pausing a log nobody cleans holds at once and nests; aborting one being
/// cleaned waits for its cleaner, whose `done` then pauses it without a
/// checkpoint; a paused log is never chosen until its last resume.
#[test]
fn abort_and_pause_stops_a_clean_and_keeps_the_log_paused() {
    let (a, b) = (tp(0), tp(1));
    let mut manager = CleanerManager::new();
    assert_eq!(manager.abort_and_pause(&b), Ok(PauseOutcome::Paused));
    assert_eq!(manager.abort_and_pause(&b), Ok(PauseOutcome::Paused));
    assert_eq!(manager.state(&b), Some(CleaningState::Paused(2)));
    assert_eq!(picked(&manager.grab_filthiest([candidate(&a, stats(0, 10))])), Some(a.clone()));
    assert_eq!(manager.abort_and_pause(&a), Ok(PauseOutcome::AwaitingCleaner));
    assert!(manager.is_aborted(&a) && !manager.is_paused(&a));
    assert_eq!(manager.done(&a, 200), Ok(Done::Paused));
    assert!(manager.is_paused(&a));
    let both = || [candidate(&a, stats(0, 10)), candidate(&b, stats(0, 10))];
    assert_eq!(picked(&manager.grab_filthiest(both())), None);
    manager.resume(&a).unwrap();
    manager.resume(&b).unwrap();
    assert_eq!(picked(&manager.grab_filthiest(both())), Some(a.clone()));
    manager.resume(&b).unwrap();
    assert_eq!(picked(&manager.grab_filthiest(both())), Some(b));
}

/// Calls that do not fit the state are errors naming the state, not panics
/// and not silent: resuming what is not paused, finishing what nobody
/// cleans, aborting twice.
#[test]
fn misuse_is_an_error() {
    let a = tp(0);
    let mut manager = CleanerManager::new();
    assert_eq!(manager.resume(&a).unwrap_err().state, None);
    assert_eq!(manager.done(&a, 1).unwrap_err().state, None);
    manager.grab_filthiest([candidate(&a, stats(0, 10))]);
    manager.abort_and_pause(&a).unwrap();
    let error = manager.abort_and_pause(&a).unwrap_err();
    assert_eq!(error.state, Some(CleaningState::Aborted));
    assert!(error.to_string().contains("t-0"), "{error}");
    assert_eq!(manager.resume(&a).unwrap_err().state, Some(CleaningState::Aborted));
}

/// An uncleanable log is skipped until its partition is removed.
#[test]
fn an_uncleanable_log_is_skipped() {
    let a = tp(0);
    let mut manager = CleanerManager::new();
    manager.mark_uncleanable(&a);
    assert_eq!(picked(&manager.grab_filthiest([candidate(&a, stats(0, 10))])), None);
    manager.remove(&a);
    assert_eq!(picked(&manager.grab_filthiest([candidate(&a, stats(0, 10))])), Some(a));
}

#[derive(Debug, Clone)]
enum Op {
    /// A cleaner thread asks for a log, every partition offered with this much dirt.
    Grab(Vec<u64>),
    /// The cleaner holding the n-th grabbed log (if any) finishes.
    Done(usize),
    AbortAndPause(i32),
    Resume(i32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        proptest::collection::vec(0u64..100, 4).prop_map(Op::Grab),
        (0usize..4).prop_map(Op::Done),
        (0i32..4).prop_map(Op::AbortAndPause),
        (0i32..4).prop_map(Op::Resume),
    ]
}

proptest! {
    /// For any interleaving of cleaner threads grabbing and finishing and of
    /// pauses and resumes: no log is handed to a second cleaner while one
    /// holds it, and no log is handed out while any pause of it is in force.
    #[test]
    fn a_log_is_never_cleaned_twice_nor_while_paused(ops in proptest::collection::vec(op(), 1..60)) {
        let partitions: Vec<TopicPartition> = (0..4).map(tp).collect();
        let mut manager = CleanerManager::new();
        let mut held: Vec<TopicPartition> = Vec::new();
        let mut pauses = [0u32; 4];
        for op in ops {
            match op {
                Op::Grab(dirt) => {
                    let candidates = partitions.iter().zip(&dirt).map(|(tp, &d)| candidate(tp, stats(10, d)));
                    if let Some(chosen) = manager.grab_filthiest(candidates).filthiest {
                        let tp = chosen.topic_partition;
                        prop_assert!(!held.contains(&tp), "{tp:?} handed to a second cleaner");
                        prop_assert_eq!(pauses[tp.partition as usize], 0, "{:?} handed out while paused", tp);
                        held.push(tp);
                    }
                }
                Op::Done(i) if i < held.len() => {
                    let tp = held.remove(i);
                    let done = manager.done(&tp, 1).unwrap();
                    prop_assert_eq!(done == Done::Paused, pauses[tp.partition as usize] > 0);
                }
                Op::Done(_) => {}
                Op::AbortAndPause(p) => {
                    let tp = &partitions[p as usize];
                    if !manager.is_aborted(tp) {
                        let outcome = manager.abort_and_pause(tp).unwrap();
                        prop_assert_eq!(outcome == PauseOutcome::AwaitingCleaner, held.contains(tp));
                        pauses[p as usize] += 1;
                    }
                }
                Op::Resume(p) => {
                    let tp = &partitions[p as usize];
                    let resumed = manager.resume(tp);
                    // A pause of a log still being cleaned holds only once its cleaner is done.
                    prop_assert_eq!(resumed.is_ok(), pauses[p as usize] > 0 && !held.contains(tp));
                    if resumed.is_ok() {
                        pauses[p as usize] -= 1;
                    }
                }
            }
        }
    }
}
