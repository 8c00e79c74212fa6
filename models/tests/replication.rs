//! Chapter 6's model checks: the real replication core keeps every
//! acknowledged record, never takes back what consumers saw, and keeps ISR
//! members in agreement, through crashes and elections with one replica down
//! at a time; and each of Kafka's historical bugs is caught with a short
//! counterexample.

use spool_models::replication::{Action, Bug, ReplicationModel, ACKED_KEPT, CONSUMED_KEPT, ISR_AGREE};
use spool_models::{check, shortest_counterexample};
use stateright::Checker;

/// The actions of the shortest path that breaks `property`.
fn shortest(model: &ReplicationModel, property: &'static str) -> Vec<Action> {
    shortest_counterexample(model, property, 12).expect("a counterexample").into_actions()
}

// src/replication/ keeps all three safety properties over every interleaving
// of two acks=all produces, follower fetches (one of whose responses may be
// lost), ISR shrinks and expansions, two crashes with restarts and elections
// (one replica down at a time), and one follower falling behind the metadata
// log (it misses elections until it catches up); and a record is
// acknowledged, the leader changes and a follower truncates.
#[test]
fn the_real_core_keeps_acknowledged_records() {
    let model = ReplicationModel::small(None);
    let checker = check(model.clone(), model.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 2_593_375);
}

// Answering acks=all at the leader's append: the leader writes a0, answers,
// and crashes before any follower fetched it; the new leader never had a0.
#[test]
fn acking_before_the_high_watermark_is_caught() {
    let model = ReplicationModel::small(Some(Bug::AckBeforeHw));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(ACKED_KEPT);
    assert_eq!(shortest(&model, ACKED_KEPT), [Action::Produce(0), Action::Crash(0)]);
}

// KIP-101's first scenario: a follower has a0 and the leader's high watermark
// covers it (a0 is acknowledged), but the follower learns the high watermark a
// fetch late. It restarts, truncates to its own high watermark 0 and loses a0
// while still in the ISR; the leader crashes, the follower is elected, a0 is gone.
#[test]
fn truncating_to_the_high_watermark_is_caught() {
    let model = ReplicationModel::small(Some(Bug::TruncateToHw));
    let checker = check(model.clone(), model.bound());
    for property in [ACKED_KEPT, CONSUMED_KEPT, ISR_AGREE] {
        checker.assert_any_discovery(property);
    }
    let path = shortest(&model, ACKED_KEPT);
    assert_eq!(path.len(), 7);
    assert!(
        matches!(path[4..], [Action::Crash(f), Action::Restart(g), Action::Crash(0)] if f == g && f != 0)
    );
    assert_eq!(
        shortest(&model, ISR_AGREE).len(),
        6,
        "the follower is in the ISR without a0 as soon as it restarts"
    );
}

// Unclean election: the ISR shrinks to the leader alone, its high watermark
// moves over a0 (the produce fails NOT_ENOUGH_REPLICAS_AFTER_APPEND, but a
// consumer can read a0), the leader crashes and a replica that never had a0
// is elected. ISR members still agree: the new ISR is the new leader alone.
#[test]
fn unclean_election_is_caught() {
    let model = ReplicationModel::small(Some(Bug::UncleanElection));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(CONSUMED_KEPT);
    checker.assert_any_discovery(ACKED_KEPT);
    checker.assert_no_discovery(ISR_AGREE);
    assert_eq!(shortest(&model, CONSUMED_KEPT), [Action::Produce(0), Action::Shrink, Action::Crash(0)]);
}

// KIP-279's fast successive failovers: leadership moves from 0 (which wrote
// a0 in epoch 0) to 2, which writes a1 in epoch 1 and 1 copies it; 2 crashes
// and 0 leads epoch 2. Asked where epoch 1 ends, 0 — which never had epoch
// 1 — answers with the start of its epoch 2, offset 1, and without the epoch
// the answer is about, 1 keeps a1 where 0 has a0. Two fetches later the high
// watermark covers offset 0 and the ISR disagrees below it.
#[test]
fn an_epoch_lookup_without_the_epoch_is_caught() {
    let model = ReplicationModel::small(Some(Bug::EpochWithoutOffset));
    let path = shortest(&model, ISR_AGREE);
    assert_eq!(
        path,
        [
            Action::Produce(0),
            Action::MoveLeader(2),
            Action::Produce(1),
            Action::Fetch(1),
            Action::Crash(2),
            Action::Fetch(1),
            Action::Fetch(1),
        ]
    );
    assert_eq!(shortest(&model, CONSUMED_KEPT).len(), 9);
}

// The same bound — a leader move without a crash on top of the CI bound —
// with the real core: every property holds.
#[test]
fn the_real_core_survives_fast_leader_moves() {
    let model = ReplicationModel { bug: None, ..ReplicationModel::small(Some(Bug::EpochWithoutOffset)) };
    let checker = check(model.clone(), model.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 2_605_710);
}

// KIP-966's case: the leader alone in the ISR, its high watermark over a0
// (consumers may read it), crashes and comes back with an empty disk; as the
// last ISR member it is elected, and a0 is gone. Through a follower that
// restarts empty while still in the ISR, an acknowledged record is lost too.
#[test]
fn electing_a_replica_that_lost_its_disk_is_caught() {
    let model = ReplicationModel::small(Some(Bug::LostDisk));
    assert_eq!(
        shortest(&model, CONSUMED_KEPT),
        [Action::Produce(0), Action::Shrink, Action::Crash(0), Action::Restart(0)]
    );
    let path = shortest(&model, ACKED_KEPT);
    assert_eq!(path.len(), 7);
    assert!(
        matches!(path[4..], [Action::Crash(f), Action::Restart(g), Action::Crash(0)] if f == g && f != 0)
    );
}

// KAFKA-7128: a0 is acknowledged with the ISR {0, 1}; 0 crashes and 1 leads,
// its own high watermark still 0 (it learns the leader's a fetch late). 2,
// empty, fetches from offset 0 — at 1's high watermark — and rejoins the ISR,
// but the response with a0 is lost. 1 crashes, 2 is elected: a0 is gone.
// Requiring the start of the leader's epoch (offset 1) keeps 2 out.
#[test]
fn rejoining_below_the_epoch_start_is_caught() {
    let model = ReplicationModel::small(Some(Bug::ExpandBelowEpochStart));
    assert_eq!(
        shortest(&model, ACKED_KEPT),
        [
            Action::Produce(0),
            Action::Fetch(1),
            Action::Fetch(1),
            Action::Shrink,
            Action::Crash(0),
            Action::Restart(0),
            Action::FetchLost(2),
            Action::Crash(1),
        ]
    );
}

// KIP-320, "Allow fetchers to detect and handle log truncation": before it, a
// follower checked its log against the leader once per leader epoch it heard
// of and then fetched by offset alone. A follower that missed two elections
// still believes replica 0 leads epoch 0 — and 0 leads again, in epoch 2, with
// another record at offset 0. Its plain fetch is served, counted towards the
// high watermark, and the ISR disagrees below it.
#[test]
fn fetching_without_the_leader_epoch_is_caught() {
    let model = ReplicationModel::small(Some(Bug::FetchWithoutEpoch));
    let checker = check(model.clone(), model.bound());
    checker.assert_any_discovery(ISR_AGREE);
    assert_eq!(
        shortest(&model, ISR_AGREE),
        [
            Action::Produce(0),
            Action::Fetch(2),
            Action::MetadataLag(2),
            Action::Crash(0),
            Action::Restart(0),
            Action::Fetch(0),
            Action::Fetch(0),
            Action::Crash(1),
            Action::Produce(1),
            Action::Fetch(2),
        ]
    );
}

// KIP-320 is the whole fix: the same followers (one epoch check per leader
// epoch, then fetches by offset alone) with the leader epoch in every fetch
// keep every property, because the leader fences the lagging follower with
// FENCED_LEADER_EPOCH until it has caught up with the metadata log.
#[test]
fn fetches_by_offset_are_safe_with_the_leader_epoch() {
    let model = ReplicationModel {
        bug: None,
        epoch_checked_once: true,
        ..ReplicationModel::small(Some(Bug::FetchWithoutEpoch))
    };
    let checker = check(model.clone(), model.bound());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 1_859_978);
}

// Bug::ALL is what the book and `--bug` list: every one of them breaks an
// `always` property within the bound of the test that pins its counterexample.
#[test]
fn every_bug_is_caught() {
    for bug in Bug::ALL {
        let model = ReplicationModel::small(Some(bug));
        let caught = [ACKED_KEPT, CONSUMED_KEPT, ISR_AGREE]
            .into_iter()
            .any(|property| shortest_counterexample(&model, property, 12).is_some());
        assert!(caught, "{} was not caught", bug.name());
    }
}
