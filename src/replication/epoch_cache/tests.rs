//! The leader epoch cache against Kafka's `LeaderEpochFileCacheTest`
//! behaviours, and its checkpoint codec.

use proptest::prelude::*;

use super::*;
use crate::replication::checkpoint::{decode_checkpoint, encode_checkpoint, CheckpointError};

fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
    let mut cache = LeaderEpochCache::new();
    for &(epoch, start) in entries {
        cache.assign(epoch, start);
    }
    cache
}

fn pairs(cache: &LeaderEpochCache) -> Vec<(i32, i64)> {
    cache.entries().map(|e| (e.epoch, e.start_offset)).collect()
}

fn eo(leader_epoch: i32, end_offset: i64) -> EpochEndOffset {
    EpochEndOffset { leader_epoch, end_offset }
}

// The figure of the module docs: the latest epoch ends at the log end, an
// older one where the next starts, an unknown epoch between two known ones
// answers with the one below it (KIP-279).
#[test]
fn end_offset_for_answers_as_offsets_for_leader_epoch() {
    let c = cache(&[(0, 0), (2, 3), (5, 5)]);
    assert_eq!(c.end_offset_for(0, 7), eo(0, 3));
    assert_eq!(c.end_offset_for(1, 7), eo(0, 3));
    assert_eq!(c.end_offset_for(2, 7), eo(2, 5));
    assert_eq!(c.end_offset_for(4, 7), eo(2, 5));
    assert_eq!(c.end_offset_for(5, 7), eo(5, 7));
}

// Kafka answers UNDEFINED for epoch -1, for an epoch above every known one and
// on an empty cache; below the earliest known epoch it answers the requested
// epoch with the earliest start offset (the older epochs went with the log start).
#[test]
fn end_offset_for_unknown_epochs() {
    let c = cache(&[(3, 10), (4, 12)]);
    assert_eq!(c.end_offset_for(UNDEFINED_EPOCH, 20), EpochEndOffset::UNDEFINED);
    assert_eq!(c.end_offset_for(9, 20), EpochEndOffset::UNDEFINED);
    assert_eq!(LeaderEpochCache::new().end_offset_for(0, 0), EpochEndOffset::UNDEFINED);
    assert_eq!(c.end_offset_for(1, 20), eo(1, 10));
}

// Assigning the latest epoch again at a later offset changes nothing (every
// batch of the epoch assigns it); at an earlier offset it moves the start back.
#[test]
fn assign_keeps_the_first_start_of_an_epoch() {
    let mut c = cache(&[(1, 5)]);
    assert!(!c.assign(1, 9));
    assert_eq!(pairs(&c), [(1, 5)]);
    assert!(c.assign(1, 2));
    assert_eq!(pairs(&c), [(1, 2)]);
}

// An entry that contradicts the ones after it wins: epochs at or above it and
// entries starting at or after it are dropped, as Kafka's `assign` does for a
// replica that becomes leader of a new epoch at a lower log end.
#[test]
fn assign_drops_contradicted_entries() {
    let mut c = cache(&[(0, 0), (1, 4), (2, 8)]);
    c.assign(3, 4);
    assert_eq!(pairs(&c), [(0, 0), (3, 4)]);
    let mut c = cache(&[(0, 0), (4, 4)]);
    c.assign(2, 6);
    assert_eq!(pairs(&c), [(0, 0), (2, 6)]);
}

// Truncating the log's end forgets the epochs that started at or after the
// new end; moving the log start makes the epoch in force start there.
#[test]
fn truncation_from_either_end() {
    let mut c = cache(&[(0, 0), (2, 3), (5, 5)]);
    c.truncate_from_end(5);
    assert_eq!(pairs(&c), [(0, 0), (2, 3)]);
    c.truncate_from_end(4);
    assert_eq!(pairs(&c), [(0, 0), (2, 3)]);
    let mut c = cache(&[(0, 0), (2, 3), (5, 5)]);
    c.truncate_from_start(4);
    assert_eq!(pairs(&c), [(2, 4), (5, 5)]);
    c.truncate_from_start(1);
    assert_eq!(pairs(&c), [(2, 4), (5, 5)], "a start before the cache changes nothing");
}

// The checkpoint is Kafka's text: version 0, the count, one `epoch offset` line each.
#[test]
fn checkpoint_is_kafkas_text_format() {
    let c = cache(&[(0, 0), (2, 3)]);
    assert_eq!(encode_checkpoint(&c), "0\n2\n0 0\n2 3\n");
    assert_eq!(decode_checkpoint(b"0\n2\n0 0\n2 3\n"), Ok(c));
    assert_eq!(decode_checkpoint(b"0\n0\n"), Ok(LeaderEpochCache::new()));
}

// Anything else is refused with a reason, never read as a shorter cache;
// a zero-byte file is an empty cache, as Kafka creates the file empty.
#[test]
fn a_bad_checkpoint_is_an_error() {
    use crate::format::CheckpointError as Text;
    let format = |e: Text| Err(CheckpointError::Format(e));
    assert_eq!(decode_checkpoint(b""), Ok(LeaderEpochCache::new()));
    assert_eq!(decode_checkpoint(b"1\n0\n"), format(Text::UnsupportedVersion("1".into())));
    assert_eq!(decode_checkpoint(b"0\nx\n"), format(Text::BadCount("x".into())));
    assert_eq!(decode_checkpoint(b"0\n2\n0 0\n"), format(Text::WrongCount { expected: 2, found: 1 }));
    assert!(matches!(
        decode_checkpoint(b"0\n1\n0,0\n"),
        Err(CheckpointError::Format(Text::MalformedLine { line_number: 3, .. }))
    ));
    assert_eq!(
        decode_checkpoint(b"0\n2\n3 5\n2 9\n"),
        Err(CheckpointError::OutOfOrder(EpochEntry { epoch: 2, start_offset: 9 }))
    );
    assert_eq!(decode_checkpoint(&[0xff]), format(Text::NotText));
}

/// A `leader-epoch-checkpoint` as a Kafka broker leaves it
/// (`LeaderEpochCheckpointFile`: version 0, the count, `epoch start_offset`
/// lines, each ended by a newline) reads as its cache and is written back
/// byte for byte.
#[test]
fn golden_kafka_leader_epoch_checkpoint() {
    let kafka = "0\n3\n0 0\n4 1210\n7 5031\n";
    let cache = decode_checkpoint(kafka.as_bytes()).unwrap();
    assert_eq!(pairs(&cache), [(0, 0), (4, 1210), (7, 5031)]);
    assert_eq!(encode_checkpoint(&cache), kafka);
}

/// The epoch of each record of a log, never going down, and the cache a
/// follower builds by appending them: it assigns each record's epoch at its offset.
fn log_and_cache() -> impl Strategy<Value = (Vec<i32>, LeaderEpochCache)> {
    prop::collection::vec(0..3i32, 0..12).prop_map(|steps| {
        let mut epoch = 0;
        let log: Vec<i32> = steps
            .into_iter()
            .map(|step| {
                epoch += step;
                epoch
            })
            .collect();
        let mut cache = LeaderEpochCache::new();
        for (offset, &e) in log.iter().enumerate() {
            cache.assign(e, offset as i64);
        }
        (log, cache)
    })
}

/// OffsetsForLeaderEpoch read straight off the records: where the first record
/// of a later epoch sits, and the largest epoch at or below the requested one.
fn reference_end_offset(log: &[i32], requested: i32) -> EpochEndOffset {
    if requested == UNDEFINED_EPOCH {
        return EpochEndOffset::UNDEFINED;
    }
    if log.last() == Some(&requested) {
        return eo(requested, log.len() as i64);
    }
    let Some(end) = log.iter().position(|&e| e > requested) else { return EpochEndOffset::UNDEFINED };
    let floor = log.iter().copied().filter(|&e| e <= requested).max().unwrap_or(requested);
    eo(floor, end as i64)
}

proptest! {
    // For any log a follower built record by record, the cache's answer
    // equals the one read off the records themselves.
    #[test]
    fn end_offset_for_matches_the_records((log, cache) in log_and_cache(), requested in -1..8i32) {
        prop_assert_eq!(cache.end_offset_for(requested, log.len() as i64), reference_end_offset(&log, requested));
    }

    // After truncating the log to any length, the cache answers for the shorter log.
    #[test]
    fn truncated_cache_matches_the_truncated_records((log, mut cache) in log_and_cache(), keep in 0..12usize, requested in -1..8i32) {
        let keep = keep.min(log.len());
        cache.truncate_from_end(keep as i64);
        prop_assert_eq!(cache.end_offset_for(requested, keep as i64), reference_end_offset(&log[..keep], requested));
    }

    // Every cache survives its checkpoint unchanged.
    #[test]
    fn checkpoint_round_trips((_, cache) in log_and_cache()) {
        prop_assert_eq!(decode_checkpoint(encode_checkpoint(&cache).as_bytes()), Ok(cache));
    }

    // Arbitrary bytes give a cache or an error, never a panic.
    #[test]
    fn decoding_anything_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let _ = decode_checkpoint(&bytes);
    }
}
