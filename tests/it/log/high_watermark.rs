//! The high watermark in the log (chapter 6), as Kafka's `UnifiedLog` keeps
//! it: clamped to `[log start, log end]`, cut by truncation, bounding what a
//! consumer's read returns as `LocalLog.read`'s `maxOffsetMetadata` does, and
//! checkpointed by the log manager to `replication-offset-checkpoint`.

use spool::log::manager::REPLICATION_OFFSET_CHECKPOINT;
use spool::log::ReadOptions;

use super::*;

/// Five batches of 2 records at offsets 0, 2, 4, 6, 8.
fn five_batches() -> Log<MemStorage> {
    let (mut log, _) =
        Log::open(MemStorage::new(), LogConfig::default(), OpenOptions::default(), T0).unwrap();
    for i in 0..5 {
        log.append(bytes_of(&simple(2, T0, &format!("b{i}")).build()), 0, T0).unwrap();
    }
    log
}

/// `UnifiedLog.updateHighWatermark`: any offset is taken clamped to the log,
/// below its start to the start and past its end to the end; the answer says
/// whether it moved (down, too: a follower takes the leader's, whatever it is).
#[test]
fn update_clamps_to_the_log_and_says_if_it_moved() {
    let mut log = five_batches();
    assert_eq!(log.high_watermark(), 0, "a new log's is its start");
    assert!(log.update_high_watermark(4));
    assert_eq!(log.high_watermark(), 4);
    assert!(!log.update_high_watermark(4));
    assert!(log.update_high_watermark(99));
    assert_eq!(log.high_watermark(), 10);
    assert!(log.update_high_watermark(3));
    assert_eq!(log.high_watermark(), 3);
    assert!(log.update_high_watermark(-5));
    assert_eq!(log.high_watermark(), 0);
}

/// `UnifiedLog.truncateTo`: a high watermark above the new end comes down to it.
#[test]
fn truncation_clamps_it() {
    let mut log = five_batches();
    log.update_high_watermark(8);
    log.truncate_to(6).unwrap();
    assert_eq!(log.high_watermark(), 6);
    log.update_high_watermark(2);
    log.truncate_to(4).unwrap();
    assert_eq!(log.high_watermark(), 2, "below the new end it stays");
}

/// Retention deletes only segments wholly below the high watermark (Kafka's
/// `UnifiedLog.deletableSegments`): a leader never deletes records its
/// followers may not have yet, and a follower never deletes what its leader
/// has not committed. Raising the high watermark lets the deletion go on.
#[test]
fn retention_stops_at_the_high_watermark() {
    let config = LogConfig { segment_bytes: 200, retention_bytes: 0, ..LogConfig::default() };
    let (mut log, _) = Log::open(MemStorage::new(), config, OpenOptions::default(), T0).unwrap();
    for i in 0..5 {
        log.append(bytes_of(&simple(2, T0, &format!("b{i}")).build()), 0, T0).unwrap();
    }
    let segments = log.segments().count();
    assert!(segments > 2, "the test needs several segments, has {segments}");
    assert_eq!(log.high_watermark(), 0);
    assert_eq!(log.delete_old_segments(T0).unwrap(), 0, "deleted above the high watermark");
    assert_eq!(log.log_start_offset(), 0);
    let second = log.segments().nth(1).unwrap().base_offset();
    log.update_high_watermark(second);
    assert_eq!(log.delete_old_segments(T0).unwrap(), 1, "only the first segment is below the high watermark");
    assert_eq!(log.log_start_offset(), second);
    log.update_high_watermark(log.log_end_offset());
    assert!(log.delete_old_segments(T0).unwrap() > 0);
    assert_eq!(log.high_watermark(), log.log_start_offset().max(log.high_watermark()));
}

/// Every batch a read bounded at `max_offset` returns, as base offsets.
fn read_bases(log: &Log<MemStorage>, offset: i64, max_offset: i64) -> Vec<i64> {
    let options = ReadOptions {
        max_bytes: u32::MAX,
        max_offset: Some(max_offset),
        min_one_batch: true,
        skip_emptied_tail: false,
    };
    let Some(region) = log.read_with(offset, options).unwrap() else { return vec![] };
    let mut rest = region.read_bytes().unwrap();
    let mut bases = vec![];
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).unwrap();
        bases.push(batch.base_offset());
        rest = tail;
    }
    bases
}

/// A read bounded by the high watermark returns whole batches that end below
/// it and nothing from the batch that holds it (`LocalLog.read` stops at the
/// position of the batch holding `maxOffsetMetadata`); from an offset at or
/// past the bound it returns nothing, not an error, up to the log end.
#[test]
fn reads_stop_before_the_batch_holding_the_bound() {
    let log = five_batches();
    assert_eq!(read_bases(&log, 0, 6), [0, 2, 4], "bound on a batch boundary");
    assert_eq!(read_bases(&log, 0, 7), [0, 2, 4], "bound inside batch 6..7");
    assert_eq!(read_bases(&log, 3, 7), [2, 4], "from inside a batch, that batch whole");
    assert_eq!(read_bases(&log, 6, 7), Vec::<i64>::new(), "only the batch holding the bound");
    assert_eq!(read_bases(&log, 8, 7), Vec::<i64>::new(), "past the bound, below the end");
    assert_eq!(read_bases(&log, 0, 10), [0, 2, 4, 6, 8]);
    assert!(matches!(
        log.read_with(
            11,
            ReadOptions {
                max_bytes: 100,
                max_offset: Some(7),
                min_one_batch: true,
                skip_emptied_tail: false
            }
        ),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

/// The log manager writes each partition's high watermark to
/// `replication-offset-checkpoint` in Kafka's format on its tick, every
/// `replica.high.watermark.checkpoint.interval.ms`, and at shutdown; a reopen
/// takes it back clamped to the log (a partition missing from the file: 0,
/// clamped to its start).
#[test]
fn the_log_manager_checkpoints_high_watermarks() {
    let dir = tempfile::tempdir().unwrap();
    let (mut manager, _) = LogManager::open(dir.path(), LogConfig::default(), T0).unwrap();
    assert_eq!(manager.high_watermark_checkpoint_interval_ms, 5_000, "Kafka's default");
    let (orders, audit) = (TopicPartition::new("orders", 0), TopicPartition::new("audit", 3));
    for tp in [&orders, &audit] {
        let log = manager.get_or_create(tp, None, T0).unwrap();
        let mut log = log.lock().unwrap();
        for i in 0..3 {
            log.append(bytes_of(&simple(2, T0, &format!("b{i}")).build()), 0, T0).unwrap();
        }
    }
    manager.get(&orders).unwrap().lock().unwrap().update_high_watermark(4);
    manager.get(&audit).unwrap().lock().unwrap().update_high_watermark(6);
    let file = dir.path().join(REPLICATION_OFFSET_CHECKPOINT);
    manager.tick(T0 + 4_999).unwrap();
    assert!(!file.exists(), "not before the interval");
    manager.tick(T0 + 5_000).unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\n2\naudit 3 6\norders 0 4\n");
    manager.get(&orders).unwrap().lock().unwrap().update_high_watermark(5);
    manager.shutdown().unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\n2\naudit 3 6\norders 0 5\n");
    drop(manager);

    // Reopen with a file that names orders past its end and forgets audit.
    std::fs::write(&file, "0\n1\norders 0 999\n").unwrap();
    let (manager, _) = LogManager::open(dir.path(), LogConfig::default(), T0).unwrap();
    assert_eq!(manager.get(&orders).unwrap().lock().unwrap().high_watermark(), 6, "clamped to the end");
    assert_eq!(manager.get(&audit).unwrap().lock().unwrap().high_watermark(), 0, "missing: 0");
    drop(manager);

    // A damaged file is a typed error at open, never a guess.
    std::fs::write(&file, "0\n2\norders 0 4\n").unwrap();
    let err = LogManager::open(dir.path(), LogConfig::default(), T0).unwrap_err();
    assert!(
        matches!(err, LogError::Checkpoint { ref file, .. } if file == REPLICATION_OFFSET_CHECKPOINT),
        "{err:?}"
    );
}
