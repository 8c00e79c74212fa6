//! The producer table inside the log: what it must be after a crash, a
//! truncation, a corrupt snapshot or retention — checked on [`MemStorage`],
//! so a crash is exact (only synced bytes survive).

use std::collections::BTreeMap;

use bytes::BytesMut;
use proptest::prelude::*;

use crate::format::BatchBuilder;
use crate::idempotence::snapshot_file_name;
use crate::log::storage::{CrashMode, MemStorage, Storage};
use crate::log::{Log, LogConfig, LogError, OpenOptions};

const NOW_MS: i64 = 1_000;

fn config() -> LogConfig {
    LogConfig { segment_bytes: 400, ..LogConfig::default() }
}

/// One batch of `records` records of producer `pid` (epoch 0) from `seq`.
fn batch(pid: i64, seq: i32, records: usize) -> BytesMut {
    let mut builder = BatchBuilder::default().producer(pid, 0, seq);
    for i in 0..records {
        builder.append(NOW_MS, None, Some(format!("{pid}-{seq}-{i}").as_bytes()), &[]);
    }
    BytesMut::from(&builder.build().as_bytes()[..])
}

fn open(storage: MemStorage, options: OpenOptions) -> Log<MemStorage> {
    Log::open(storage, config(), options, NOW_MS).expect("open").0
}

/// Each producer's (last sequence, last offset), as the log's table holds them.
fn lasts(log: &Log<MemStorage>) -> BTreeMap<i64, (i32, i64)> {
    log.producer_state().producers().map(|e| (e.producer_id, (e.last_seq(), e.last_data_offset()))).collect()
}

/// A snapshot that fails its CRC is deleted and the next older one used, the
/// batches after it replayed: the table comes out the same (Kafka's
/// `CorruptSnapshotException` handling).
#[test]
fn a_corrupt_snapshot_falls_back_to_an_older_one() {
    let mut log = open(MemStorage::new(), OpenOptions::default());
    for seq in 0..12 {
        log.append(batch(7, seq, 1), 0, NOW_MS).unwrap();
    }
    let before = lasts(&log);
    let offsets = log.producer_snapshot_offsets().unwrap();
    assert!(offsets.len() >= 2, "rolls wrote snapshots: {offsets:?}");
    let mut storage = log.close().unwrap();
    let newest = snapshot_file_name(*storage_snapshots(&storage).last().unwrap());
    let mut bytes = storage.read_file(&newest).unwrap().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    storage.write_atomic(&newest, &bytes).unwrap();
    let options = OpenOptions { clean_shutdown: true, ..OpenOptions::default() };
    let log = open(storage, options);
    assert_eq!(lasts(&log), before);
    assert!(!log.storage().exists(&newest), "the corrupt snapshot is deleted");
}

fn storage_snapshots(storage: &MemStorage) -> Vec<i64> {
    storage.files.keys().filter_map(|n| crate::idempotence::parse_snapshot_file_name(n)).collect()
}

/// A truncation (a follower cutting its log, chapter 6) rebuilds the table
/// below the cut: the sequence continues from the last batch kept, and the
/// snapshots above the new end are deleted.
#[test]
fn truncation_rebuilds_the_table() {
    let mut log = open(MemStorage::new(), OpenOptions::default());
    for seq in 0..12 {
        log.append(batch(7, seq, 1), 0, NOW_MS).unwrap();
    }
    log.truncate_to(4).unwrap();
    assert_eq!(lasts(&log), BTreeMap::from([(7, (3, 3))]));
    assert!(log.producer_snapshot_offsets().unwrap().iter().all(|&o| o <= 4));
    assert!(matches!(log.append(batch(7, 5, 1), 0, NOW_MS), Err(LogError::Producer(_))));
    assert_eq!(log.append(batch(7, 4, 1), 0, NOW_MS).unwrap().first_offset, 4);
}

/// The replay reads the log a megabyte at a time, and a read may end inside a
/// batch: the partial batch is read again, whole, by the next read — never
/// parsed short, never skipped.
#[test]
fn replay_reads_batches_larger_than_its_reads() {
    let config = LogConfig { segment_bytes: 64 << 20, ..LogConfig::default() };
    let (mut log, _) = Log::open(MemStorage::new(), config.clone(), OpenOptions::default(), NOW_MS).unwrap();
    let value = vec![b'v'; 300_000];
    for seq in 0..7 {
        let mut builder = BatchBuilder::default().producer(9, 0, seq);
        builder.append(NOW_MS, None, Some(&value), &[]);
        log.append(BytesMut::from(&builder.build().as_bytes()[..]), 0, NOW_MS).unwrap();
    }
    log.flush().unwrap();
    let before = lasts(&log);
    let storage = log.storage().crash(CrashMode::LoseUnsynced);
    let (log, _) = Log::open(storage, config, OpenOptions::default(), NOW_MS).unwrap();
    assert_eq!(log.producer_snapshot_offsets().unwrap(), Vec::<i64>::new(), "no snapshot: a full replay");
    assert_eq!(lasts(&log), before);
    assert_eq!(before, BTreeMap::from([(9, (6, 6))]));
}

#[derive(Debug, Clone)]
enum Op {
    /// The next batch of producer `pid`, of `records` records.
    Append {
        pid: i64,
        records: usize,
    },
    /// A retry of producer `pid`'s newest batch.
    Retry {
        pid: i64,
    },
    Flush,
    /// Retention with `retention.bytes`: deletes old segments.
    Retain,
    Crash(CrashMode),
    CleanRestart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3i64, 1..4usize).prop_map(|(pid, records)| Op::Append { pid, records }),
        2 => (0..3i64).prop_map(|pid| Op::Retry { pid }),
        1 => Just(Op::Flush),
        1 => Just(Op::Retain),
        1 => prop_oneof![
            Just(CrashMode::LoseUnsynced),
            (0..200usize).prop_map(CrashMode::TornPrefix),
            Just(CrashMode::ZeroedTail),
        ]
        .prop_map(Op::Crash),
        1 => Just(Op::CleanRestart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever happens — appends, retries, flushes, retention, crashes that
    /// keep any prefix, clean restarts — the table always says, for every
    /// producer, the last batch of it that the log holds or held before
    /// retention deleted it: the snapshots plus the replay lose nothing and
    /// bring back nothing a crash removed. And a retry never grows the log.
    #[test]
    fn the_table_always_matches_the_surviving_history(ops in proptest::collection::vec(op(), 1..40)) {
        let mut log = open(MemStorage::new(), OpenOptions::default());
        // Every batch appended: (pid, base seq, records, base offset).
        let mut history: Vec<(i64, i32, usize, i64)> = Vec::new();
        for op in ops {
            match op {
                Op::Append { pid, records } => {
                    let seq = history.iter().rev().find(|h| h.0 == pid).map_or(0, |h| h.1 + h.2 as i32);
                    let info = log.append(batch(pid, seq, records), 0, NOW_MS).unwrap();
                    prop_assert!(!info.duplicate);
                    history.push((pid, seq, records, info.first_offset));
                }
                Op::Retry { pid } => {
                    let Some(&(_, seq, records, offset)) = history.iter().rev().find(|h| h.0 == pid) else {
                        continue;
                    };
                    let end = log.log_end_offset();
                    let info = log.append(batch(pid, seq, records), 0, NOW_MS).unwrap();
                    prop_assert!(info.duplicate);
                    prop_assert_eq!(info.first_offset, offset);
                    prop_assert_eq!(log.log_end_offset(), end);
                }
                Op::Flush => log.flush().unwrap(),
                Op::Retain => {
                    let mut retained = std::mem::replace(&mut log, open(MemStorage::new(), OpenOptions::default()));
                    retained.config.retention_bytes = 400;
                    retained.delete_old_segments(NOW_MS).unwrap();
                    retained.config.retention_bytes = -1;
                    let start = retained.log_start_offset();
                    prop_assert!(retained.producer_snapshot_offsets().unwrap().iter().all(|&o| o >= start));
                    log = retained;
                }
                Op::Crash(mode) => {
                    let options = OpenOptions {
                        recovery_point: log.recovery_point(),
                        log_start_offset: log.log_start_offset(),
                        clean_shutdown: false,
                    };
                    let storage = log.storage().crash(mode);
                    log = open(storage, options);
                }
                Op::CleanRestart => {
                    let start = log.log_start_offset();
                    let end = log.log_end_offset();
                    let storage = log.close().unwrap();
                    let options = OpenOptions { recovery_point: end, log_start_offset: start, clean_shutdown: true };
                    log = open(storage, options);
                }
            }
            let end = log.log_end_offset();
            history.retain(|h| h.3 < end);
            let mut expected = BTreeMap::new();
            for &(pid, seq, records, offset) in &history {
                expected.insert(pid, (seq + records as i32 - 1, offset + records as i64 - 1));
            }
            prop_assert_eq!(lasts(&log), expected);
        }
    }
}
