//! The cleanable range of a log, against Kafka's `LogCleanerManager.cleanableOffsets`,
//! `calculateCleanableBytes` and `maxCompactionDelay`, on [`MemStorage`].

use bytes::BytesMut;

use crate::format::BatchBuilder;
use crate::log::storage::MemStorage;
use crate::log::{Log, LogConfig, OpenOptions};

const NOW_MS: i64 = 1_000_000;

/// A batch of `records` keyed records, all stamped `timestamp_ms`.
fn batch(records: usize, timestamp_ms: i64) -> BytesMut {
    let mut builder = BatchBuilder::default();
    for i in 0..records {
        builder.append(timestamp_ms, Some(format!("k{i}").as_bytes()), Some(b"v"), &[]);
    }
    BytesMut::from(&builder.build().as_bytes()[..])
}

/// A compacted log of one segment per entry of `segments` (each a batch of
/// `records` records stamped `timestamp_ms`), then an empty active segment,
/// its high watermark at its end.
fn log_of(segments: &[(usize, i64)], config: LogConfig) -> Log<MemStorage> {
    let (mut log, _) = Log::open(MemStorage::new(), config, OpenOptions::default(), 0).unwrap();
    for &(records, timestamp_ms) in segments {
        log.append(batch(records, timestamp_ms), 0, timestamp_ms).unwrap();
        log.roll(log.log_end_offset()).unwrap();
    }
    log.update_high_watermark(log.log_end_offset());
    log
}

fn compacted() -> LogConfig {
    LogConfig { cleanup_compact: true, cleanup_delete: false, ..LogConfig::default() }
}

/// A checkpoint inside the log is the first dirty offset; none is the log
/// start; one below the start (retention) or past the end (truncation) is
/// reset to the start and says so, so the caller rewrites it (Kafka's
/// `cleanableOffsets`, `forceUpdateCheckpoint`).
#[test]
fn the_first_dirty_offset_is_the_checkpoint_clamped_to_the_log() {
    let mut log = log_of(&[(5, NOW_MS), (5, NOW_MS), (5, NOW_MS)], compacted());
    log.delete_before(5).unwrap();
    let at = |offset, reset| super::FirstDirtyOffset { offset, reset };
    assert_eq!(log.first_dirty_offset(None), at(5, false));
    assert_eq!(log.first_dirty_offset(Some(7)), at(7, false));
    assert_eq!(log.first_dirty_offset(Some(15)), at(15, false), "the log end itself is valid");
    assert_eq!(log.first_dirty_offset(Some(2)), at(5, true));
    assert_eq!(log.first_dirty_offset(Some(16)), at(5, true));
}

/// With every record committed and old, only the active segment is
/// uncleanable: the first uncleanable offset is its base, and the cleanable
/// bytes are every closed segment's.
#[test]
fn the_active_segment_is_never_cleanable() {
    let log = log_of(&[(5, 10), (5, 20)], compacted());
    assert_eq!(log.first_uncleanable_offset(0, NOW_MS, 0), 10);
    let stats = log.cleanable_stats(None, NOW_MS).unwrap();
    let closed: u64 = log.segments().take(2).map(|s| s.size()).sum();
    assert_eq!((stats.first_uncleanable_offset, stats.clean_bytes, stats.cleanable_bytes), (10, 0, closed));
    assert_eq!(stats.dirty_ratio(), 1.0);
}

/// The cleaner rewrites only what every replica has: a high watermark inside
/// the second segment stops the range there, and the stats round it down to
/// that segment's base (the cleaner works in whole segments).
#[test]
fn the_high_watermark_bounds_the_cleanable_range() {
    let mut log = log_of(&[(5, 10), (5, 20), (5, 30)], compacted());
    log.update_high_watermark(7);
    assert_eq!(log.first_uncleanable_offset(0, NOW_MS, 0), 7);
    let stats = log.cleanable_stats(None, NOW_MS).unwrap();
    assert_eq!(stats.first_uncleanable_offset, 5);
    assert_eq!(stats.cleanable_bytes, log.segments().next().unwrap().size());
}

/// An open transaction's first offset is the last stable offset, and the
/// cleaner stops there: its records may yet be aborted (chapter 9).
#[test]
fn an_open_transaction_bounds_the_cleanable_range() {
    let mut log = log_of(&[(5, 10)], compacted());
    let mut txn = BatchBuilder::default().producer(9, 0, 0).transactional(true);
    txn.append(10, Some(b"k"), Some(b"v"), &[]);
    log.append(BytesMut::from(&txn.build().as_bytes()[..]), 0, 10).unwrap();
    log.roll(log.log_end_offset()).unwrap();
    log.append(batch(3, 20), 0, 20).unwrap();
    log.roll(log.log_end_offset()).unwrap();
    log.update_high_watermark(log.log_end_offset());
    assert_eq!(log.last_stable_offset(), 5);
    assert_eq!(log.first_uncleanable_offset(0, NOW_MS, 0), 5);
    assert_eq!(log.cleanable_stats(None, NOW_MS).unwrap().first_uncleanable_offset, 5);
}

/// `min.compaction.lag.ms` (KIP-58): the first dirty segment holding a record
/// newer than now − lag, by its largest timestamp, is uncleanable; a clean
/// segment before the first dirty offset does not count, however new.
#[test]
fn the_minimum_compaction_lag_keeps_young_segments() {
    let lag_ms = 1_000;
    let log = log_of(
        &[(5, NOW_MS - 100), (5, NOW_MS - 5_000), (5, NOW_MS - 500), (5, NOW_MS - 9_000)],
        compacted(),
    );
    // Everything dirty: the first segment is already too young.
    assert_eq!(log.first_uncleanable_offset(0, NOW_MS, lag_ms), 0);
    // Dirty from 5: segment 5 is old enough, segment 10 is not.
    assert_eq!(log.first_uncleanable_offset(5, NOW_MS, lag_ms), 10);
    // No lag: only the active segment stops it.
    assert_eq!(log.first_uncleanable_offset(5, NOW_MS, 0), 20);
    // Never below the first dirty offset.
    assert_eq!(log.first_uncleanable_offset(12, NOW_MS, lag_ms), 12);
    let config = LogConfig { min_compaction_lag_ms: lag_ms, ..compacted() };
    let log = log_of(&[(5, NOW_MS - 100), (5, NOW_MS - 5_000), (5, NOW_MS - 500)], config);
    let stats = log.cleanable_stats(Some(5), NOW_MS).unwrap();
    let sizes: Vec<u64> = log.segments().map(|s| s.size()).collect();
    assert_eq!(stats.first_uncleanable_offset, 10);
    assert_eq!((stats.clean_bytes, stats.cleanable_bytes), (sizes[0], sizes[1]));
    assert_eq!(stats.dirty_ratio(), sizes[1] as f64 / (sizes[0] + sizes[1]) as f64);
}

/// `max.compaction.lag.ms` (KIP-354): once the earliest dirty segment's
/// first batch is older than the lag, the log must be cleaned, by how much
/// it is late; a clean segment, however old, does not count.
#[test]
fn the_maximum_compaction_lag_forces_a_clean() {
    let config = LogConfig { max_compaction_lag_ms: 10_000, ..compacted() };
    let log = log_of(&[(5, NOW_MS - 50_000), (5, NOW_MS - 15_000), (5, NOW_MS - 1_000)], config);
    assert_eq!(log.max_compaction_delay_ms(0, NOW_MS, 10_000).unwrap(), 40_000);
    assert_eq!(log.max_compaction_delay_ms(5, NOW_MS, 10_000).unwrap(), 5_000);
    assert_eq!(log.max_compaction_delay_ms(10, NOW_MS, 10_000).unwrap(), 0);
    assert_eq!(log.max_compaction_delay_ms(0, NOW_MS, i64::MAX).unwrap(), 0, "Kafka's default never forces");
    let stats = log.cleanable_stats(Some(5), NOW_MS).unwrap();
    assert_eq!(stats.compaction_delay_ms, 5_000);
    assert!(stats.needs_compaction_now());
    let stats = log.cleanable_stats(Some(10), NOW_MS).unwrap();
    assert!(!stats.needs_compaction_now());
}

/// An empty log has nothing clean, nothing cleanable and a ratio of 0, not NaN.
#[test]
fn an_empty_log_has_nothing_to_clean() {
    let log = log_of(&[], compacted());
    let stats = log.cleanable_stats(None, NOW_MS).unwrap();
    assert_eq!((stats.clean_bytes, stats.cleanable_bytes, stats.first_uncleanable_offset), (0, 0, 0));
    assert_eq!(stats.dirty_ratio(), 0.0);
    assert!(!stats.needs_compaction_now());
}
