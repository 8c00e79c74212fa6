//! The rules of one replicated partition, each against the Kafka behaviour
//! (and KIP) it reproduces. Logs are lists of record epochs: the core only
//! ever sees offsets and epochs.

use std::collections::BTreeSet;

use super::*;

const LAG_MS: i64 = 30_000;

fn config(min_insync_replicas: usize) -> ReplicationConfig {
    ReplicationConfig { min_insync_replicas, replica_lag_time_max_ms: LAG_MS, ..ReplicationConfig::default() }
}

fn isr(ids: &[ReplicaId]) -> BTreeSet<ReplicaId> {
    ids.iter().copied().collect()
}

/// Replica 1 leads replicas 1, 2, 3 (all in sync) in `epoch`, its log of
/// `log_end_offset` records all of epoch 0 before it.
fn leader(min_insync_replicas: usize, epoch: i32, log_end_offset: i64) -> (LeaderState, LeaderEpochCache) {
    let mut cache = LeaderEpochCache::new();
    if log_end_offset > 0 {
        cache.assign(0, 0);
    }
    let assignment = PartitionAssignment {
        replicas: vec![1, 2, 3],
        isr: isr(&[1, 2, 3]),
        leader_epoch: epoch,
        partition_epoch: 1,
    };
    let state = LeaderState::become_leader(
        1,
        &assignment,
        config(min_insync_replicas),
        &mut cache,
        log_end_offset,
        0,
        0,
    );
    (state, cache)
}

fn fetch(replica_id: ReplicaId, fetch_offset: i64, last_fetched_epoch: i32, epoch: i32) -> FollowerFetch {
    FollowerFetch {
        replica_id,
        fetch_offset,
        last_fetched_epoch: Some(last_fetched_epoch),
        current_leader_epoch: Some(epoch),
    }
}

fn records(outcome: &FetchOutcome) -> (i64, i64) {
    match outcome.answer {
        FetchAnswer::Records { high_watermark, log_end_offset } => (high_watermark, log_end_offset),
        FetchAnswer::Diverging { .. } => panic!("expected records, got {:?}", outcome.answer),
    }
}

// The module's figure: the high watermark is the smallest log end in the ISR
// (Kafka's maybeIncrementLeaderHW), and a fetch's answer carries the high
// watermark from before that fetch moved it, so followers learn it a round late.
#[test]
fn the_high_watermark_is_the_smallest_log_end_in_the_isr() {
    let (mut l, cache) = leader(1, 1, 6);
    assert_eq!(l.high_watermark(), 0, "no follower has fetched in this epoch yet");
    let b = l.on_fetch(&fetch(2, 5, 0, 1), &cache, 1).unwrap();
    assert_eq!(records(&b), (0, 6));
    assert_eq!(l.high_watermark(), 0, "C has not fetched");
    let c = l.on_fetch(&fetch(3, 3, 0, 1), &cache, 1).unwrap();
    assert_eq!(records(&c), (0, 6), "the answer carries the high watermark before this fetch");
    assert_eq!(l.high_watermark(), 3);
}

// The high watermark never goes back, even if an ISR member fetches from
// below it (it truncated, or restarted with a shorter flushed log).
#[test]
fn the_high_watermark_never_goes_back() {
    let (mut l, cache) = leader(1, 1, 4);
    l.on_fetch(&fetch(2, 4, 0, 1), &cache, 1).unwrap();
    l.on_fetch(&fetch(3, 4, 0, 1), &cache, 1).unwrap();
    assert_eq!(l.high_watermark(), 4);
    l.on_fetch(&fetch(3, 2, 0, 1), &cache, 2).unwrap();
    assert_eq!(l.high_watermark(), 4);
}

// acks=all with an ISR smaller than min.insync.replicas is refused before the
// write, NOT_ENOUGH_REPLICAS (Kafka's appendRecordsToLeader); acks=1 is not.
#[test]
fn acks_all_is_refused_below_min_insync_replicas() {
    let mut cache = LeaderEpochCache::new();
    let assignment = PartitionAssignment {
        replicas: vec![1, 2, 3],
        isr: isr(&[1, 2]),
        leader_epoch: 1,
        partition_epoch: 1,
    };
    let l = LeaderState::become_leader(1, &assignment, config(3), &mut cache, 0, 0, 0);
    assert_eq!(l.check_append(true), Err(ReplicationError::NotEnoughReplicas));
    assert_eq!(l.check_append(false), Ok(()));
}

// acks=all is answered when the high watermark passes the batch's last
// offset, not when the leader has written it (the produce purgatory).
#[test]
fn acks_all_waits_for_the_high_watermark() {
    let (mut l, cache) = leader(2, 1, 0);
    assert_eq!(l.check_append(true), Ok(()));
    assert!(l.on_append(2, Some((7, 2))).is_empty(), "written on the leader only");
    assert!(l.on_fetch(&fetch(2, 2, 1, 1), &cache, 1).unwrap().acks.is_empty(), "3 is in the ISR too");
    let done = l.on_fetch(&fetch(3, 2, 1, 1), &cache, 1).unwrap().acks;
    assert_eq!(done, [AckOutcome { token: 7, result: Ok(()) }]);
}

// If the ISR shrinks below min.insync.replicas while a produce waits, the high
// watermark can pass it, but the answer is NOT_ENOUGH_REPLICAS_AFTER_APPEND
// (Kafka's checkEnoughReplicasReachOffset), and the next acks=all append is
// refused outright.
#[test]
fn a_shrink_below_min_insync_fails_waiting_produces() {
    let (mut l, cache) = leader(2, 1, 0);
    l.on_fetch(&fetch(2, 0, 1, 1), &cache, 0).unwrap();
    l.on_fetch(&fetch(3, 0, 1, 1), &cache, 0).unwrap();
    l.on_append(1, Some((9, 1)));
    let shrink = l.tick(LAG_MS + 1).expect("2 and 3 are behind the log end and have not caught up since 0");
    assert_eq!(shrink.new_isr, isr(&[1]));
    assert!(l.on_fetch(&fetch(2, 0, 1, 1), &cache, LAG_MS + 1).unwrap().acks.is_empty());
    let done = l.on_alter_partition_committed(isr(&[1]), 2);
    assert_eq!(done, [AckOutcome { token: 9, result: Err(ReplicationError::NotEnoughReplicasAfterAppend) }]);
    assert_eq!(l.high_watermark(), 1, "the high watermark counts the leader alone");
    assert_eq!(l.check_append(true), Err(ReplicationError::NotEnoughReplicas));
    assert_eq!(l.check_append(false), Ok(()), "acks=1 does not look at the ISR");
}

// replica.lag.time.max.ms: a follower behind the log end that has not caught
// up for longer than the lag leaves the ISR; one at the log end never does,
// and one that caught up recently stays (Kafka's getOutOfSyncReplicas).
#[test]
fn tick_shrinks_only_followers_lagging_too_long() {
    let (mut l, cache) = leader(1, 1, 0);
    l.on_append(3, None);
    l.on_fetch(&fetch(2, 3, 1, 1), &cache, 100).unwrap();
    l.on_fetch(&fetch(3, 1, 1, 1), &cache, 100).unwrap();
    assert_eq!(l.tick(LAG_MS), None, "3 was last caught up when 1 became leader, at 0: not yet too long");
    let shrink = l.tick(LAG_MS + 1).expect("3 is lagging");
    assert_eq!(shrink, AlterPartition { leader_epoch: 1, partition_epoch: 1, new_isr: isr(&[1, 2]) });
    assert_eq!(l.tick(LAG_MS + 2), None, "one AlterPartition at a time");
}

// A follower out of the ISR rejoins once it reaches the high watermark and
// the start of the leader's epoch (Kafka's isFollowerInSync); the high
// watermark then waits for it as soon as the change is proposed (KIP-497's
// maximal ISR).
#[test]
fn a_follower_rejoins_the_isr_when_caught_up() {
    let mut cache = LeaderEpochCache::new();
    let assignment = PartitionAssignment {
        replicas: vec![1, 2, 3],
        isr: isr(&[1, 2]),
        leader_epoch: 1,
        partition_epoch: 4,
    };
    let mut l = LeaderState::become_leader(1, &assignment, config(1), &mut cache, 2, 0, 0);
    l.on_fetch(&fetch(2, 2, 1, 1), &cache, 1).unwrap();
    assert_eq!(l.high_watermark(), 2);
    let behind = l.on_fetch(&fetch(3, 1, 0, 1), &cache, 1).unwrap();
    assert_eq!(behind.alter_partition, None, "3 is below the high watermark");
    let caught_up = l.on_fetch(&fetch(3, 2, 0, 1), &cache, 2).unwrap();
    let expand = caught_up.alter_partition.expect("3 reached the high watermark");
    assert_eq!(expand.new_isr, isr(&[1, 2, 3]));
    assert_eq!(l.maximal_isr(), isr(&[1, 2, 3]));
    l.on_append(3, None);
    l.on_fetch(&fetch(2, 3, 1, 1), &cache, 3).unwrap();
    assert_eq!(l.high_watermark(), 2, "the joining replica holds the high watermark");
    l.on_alter_partition_committed(isr(&[1, 2, 3]), 5);
    assert_eq!(l.isr(), &isr(&[1, 2, 3]));
}

// KIP-320: a fetch with an older leader epoch is FENCED_LEADER_EPOCH, a newer
// one UNKNOWN_LEADER_EPOCH; a fetch from outside the replica set is
// NOT_LEADER_OR_FOLLOWER; past the log end is OFFSET_OUT_OF_RANGE. None
// changes the leader's state.
#[test]
fn bad_fetches_get_kafkas_errors() {
    let (mut l, cache) = leader(1, 3, 2);
    let before = l.clone();
    assert_eq!(l.on_fetch(&fetch(2, 0, 0, 2), &cache, 1), Err(ReplicationError::FencedLeaderEpoch));
    assert_eq!(l.on_fetch(&fetch(2, 0, 0, 4), &cache, 1), Err(ReplicationError::UnknownLeaderEpoch));
    assert_eq!(l.on_fetch(&fetch(9, 0, 0, 3), &cache, 1), Err(ReplicationError::NotLeaderOrFollower));
    assert_eq!(l.on_fetch(&fetch(1, 0, 0, 3), &cache, 1), Err(ReplicationError::NotLeaderOrFollower));
    let no_epoch = FollowerFetch {
        replica_id: 2,
        fetch_offset: 5,
        last_fetched_epoch: None,
        current_leader_epoch: None,
    };
    assert_eq!(l.on_fetch(&no_epoch, &cache, 1), Err(ReplicationError::OffsetOutOfRange));
    assert_eq!(l, before);
    assert_eq!(ReplicationError::FencedLeaderEpoch.code(), 74);
    assert_eq!(ReplicationError::NotEnoughReplicasAfterAppend.code(), 20);
}

// KIP-101/595: a follower whose last epoch ends earlier on the leader is told
// where (the diverging epoch), gets no records, and its fetch offset is not
// taken as its log end.
#[test]
fn a_diverging_follower_is_told_where_its_epoch_ends() {
    // Leader: epoch 0 at 0..3, epoch 2 from 3. Follower: epoch 0 at 0..2, epoch 1 at 2..5.
    let mut cache = LeaderEpochCache::new();
    cache.assign(0, 0);
    cache.assign(2, 3);
    let assignment = PartitionAssignment {
        replicas: vec![1, 2, 3],
        isr: isr(&[1, 3]),
        leader_epoch: 2,
        partition_epoch: 1,
    };
    let mut l = LeaderState::become_leader(1, &assignment, config(1), &mut cache, 4, 0, 0);
    let outcome = l.on_fetch(&fetch(2, 5, 1, 2), &cache, 1).unwrap();
    let expected = EpochEndOffset { leader_epoch: 0, end_offset: 3 };
    assert_eq!(outcome.answer, FetchAnswer::Diverging { diverging_epoch: expected, high_watermark: 0 });
    assert_eq!(l.follower(2).unwrap().log_end_offset, -1);
    // Same epoch, but the follower has more of it than the leader kept.
    let outcome = l.on_fetch(&fetch(2, 4, 0, 2), &cache, 1).unwrap();
    let expected = EpochEndOffset { leader_epoch: 0, end_offset: 3 };
    assert_eq!(outcome.answer, FetchAnswer::Diverging { diverging_epoch: expected, high_watermark: 0 });
    // In agreement: records.
    assert_eq!(records(&l.on_fetch(&fetch(2, 3, 0, 2), &cache, 1).unwrap()), (0, 4));
}

/// A follower log as record epochs, with the cache it built.
fn follower_log(epochs: &[i32]) -> LeaderEpochCache {
    let mut cache = LeaderEpochCache::new();
    for (offset, &e) in epochs.iter().enumerate() {
        cache.assign(e, offset as i64);
    }
    cache
}

// Kafka's getOffsetTruncationState: when both have the answered epoch, keep
// the shorter of the two; when the follower lacks the answered epoch, cut at its own end of the epoch below (KIP-279)
// and ask again; never past the follower's log end.
#[test]
fn truncation_offset_follows_kip_101_and_kip_279() {
    let f = FollowerState::become_follower(2, 1, 3, 1);
    // Follower [0 0 1 1 1]; leader answers (0, 3): keep min(2, 3) = 2.
    let cache = follower_log(&[0, 0, 1, 1, 1]);
    assert_eq!(f.truncation_offset(EpochEndOffset { leader_epoch: 0, end_offset: 3 }, &cache, 5), 2);
    // Follower [0 0 2 2]; leader answers (1, 3): the follower has no epoch 1,
    // its end for epoch 0 (the largest below 1) is 2.
    let cache = follower_log(&[0, 0, 2, 2]);
    assert_eq!(f.truncation_offset(EpochEndOffset { leader_epoch: 1, end_offset: 3 }, &cache, 4), 2);
    // Same epoch, the leader's end is shorter: keep the leader's.
    let cache = follower_log(&[0, 0, 0, 0]);
    assert_eq!(f.truncation_offset(EpochEndOffset { leader_epoch: 0, end_offset: 1 }, &cache, 4), 1);
    // An answer without an epoch (OffsetsForLeaderEpoch v0): the end offset, capped by the log end.
    assert_eq!(
        f.truncation_offset(EpochEndOffset { leader_epoch: UNDEFINED_EPOCH, end_offset: 9 }, &cache, 4),
        4
    );
    // The leader knows nothing: the high watermark.
    assert_eq!(f.truncation_offset(EpochEndOffset::UNDEFINED, &cache, 4), 1);
}

// After a truncation the epoch cache forgets the cut epochs and the high
// watermark is capped; appended records teach the cache their epochs, and
// the high watermark is the leader's, capped by the follower's log end.
#[test]
fn a_follower_learns_epochs_and_the_high_watermark_from_records() {
    let mut f = FollowerState::become_follower(2, 1, 3, 4);
    let mut cache = follower_log(&[0, 0, 1, 1, 1]);
    f.on_truncated(&mut cache, 2);
    assert_eq!(cache.latest_epoch(), Some(0));
    assert_eq!(f.high_watermark, 2);
    f.on_records(&mut cache, [(2, 2), (3, 4)], 6, 9);
    assert_eq!(
        cache.entries().map(|e| (e.epoch, e.start_offset)).collect::<Vec<_>>(),
        [(0, 0), (2, 2), (3, 4)]
    );
    assert_eq!(f.high_watermark, 6);
    f.on_records(&mut cache, [], 6, 5);
    assert_eq!(f.high_watermark, 6, "the follower's high watermark does not go back on an older answer");
    let next = f.fetch_request(&cache, 6);
    assert_eq!(next, fetch(2, 6, 3, 3));
}

// A leader that resigns answers every waiting produce NOT_LEADER_OR_FOLLOWER,
// so the producer retries on the new leader.
#[test]
fn resigning_fails_waiting_produces() {
    let (mut l, _) = leader(2, 1, 0);
    l.on_append(1, Some((1, 1)));
    l.on_append(2, Some((2, 2)));
    let done = l.resign();
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|a| a.result == Err(ReplicationError::NotLeaderOrFollower)));
}

// A new leader's high watermark may lag its log end; a follower that reached
// that high watermark but not the start of the leader's epoch may still hold
// records the leader will cut from it, so it does not rejoin yet (Kafka's
// isFollowerInSync checks the leader epoch start offset too).
#[test]
fn rejoining_needs_the_start_of_the_leaders_epoch() {
    let mut cache = LeaderEpochCache::new();
    cache.assign(0, 0);
    let assignment = PartitionAssignment {
        replicas: vec![1, 2, 3],
        isr: isr(&[1, 2]),
        leader_epoch: 1,
        partition_epoch: 1,
    };
    let mut l = LeaderState::become_leader(1, &assignment, config(1), &mut cache, 4, 1, 0);
    let at_hw = l.on_fetch(&fetch(3, 2, 0, 1), &cache, 1).unwrap();
    assert_eq!(at_hw.alter_partition, None, "3 is past the high watermark 1 but short of the epoch start 4");
    let at_start = l.on_fetch(&fetch(3, 4, 0, 1), &cache, 2).unwrap();
    assert_eq!(at_start.alter_partition.map(|a| a.new_isr), Some(isr(&[1, 2, 3])));
}

// A refused AlterPartition (stale partition epoch, fenced leader) is
// forgotten: the ISR stays the committed one and the next tick may propose
// again; a committed one carries the controller's partition epoch.
#[test]
fn alter_partition_refused_or_committed() {
    let (mut l, cache) = leader(1, 1, 0);
    l.on_append(2, None);
    l.on_fetch(&fetch(2, 2, 1, 1), &cache, 0).unwrap();
    let shrink = l.tick(LAG_MS + 1).expect("3 never fetched");
    assert_eq!((shrink.partition_epoch, shrink.new_isr), (1, isr(&[1, 2])));
    assert_eq!(l.tick(LAG_MS + 1), None, "one in flight");
    l.on_alter_partition_failed();
    assert_eq!(l.isr(), &isr(&[1, 2, 3]));
    assert_eq!(l.pending_isr(), None);
    let again = l.tick(LAG_MS + 2).expect("proposed again");
    l.on_alter_partition_committed(again.new_isr, 2);
    assert_eq!((l.isr(), l.partition_epoch()), (&isr(&[1, 2]), 2));
}

// OFFSET_OUT_OF_RANGE to a follower whose log is longer than the leader's
// (possible only without epochs, before KIP-101): it cuts its log to the
// leader's end; a follower behind the leader's end keeps its log.
#[test]
fn out_of_range_truncates_to_the_leaders_end() {
    let f = FollowerState::become_follower(2, 1, 3, 0);
    assert_eq!(f.out_of_range_truncation(3, 5), Some(3));
    assert_eq!(f.out_of_range_truncation(5, 3), None);
}
