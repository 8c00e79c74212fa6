//! The leader epoch cache kept beside every partition's log (chapter 6):
//! Kafka's `LeaderEpochFileCache` and its `leader-epoch-checkpoint` file, as
//! `UnifiedLog` keeps them — assigned on append, cut by `truncate_to` and by
//! retention, loaded on a clean open, rebuilt from the batches' partition
//! leader epochs when recovery rescans segments or the file is missing.

use spool::replication::{decode_checkpoint, EpochEndOffset, LeaderEpochCache, LEADER_EPOCH_CHECKPOINT_FILE};

use super::*;

/// Appends one three-record batch at `epoch`; returns its base offset.
fn append_at<S: Storage>(log: &mut Log<S>, epoch: i32, tag: &str) -> i64 {
    let built = simple(3, T0, tag).build();
    log.append(bytes_of(&built), epoch, T0).expect("append").first_offset
}

fn entries<S: Storage>(log: &Log<S>) -> Vec<(i32, i64)> {
    log.leader_epoch_cache().entries().map(|e| (e.epoch, e.start_offset)).collect()
}

/// The checkpoint file as the log left it in its storage.
fn checkpoint_text<S: Storage>(log: &Log<S>) -> String {
    let bytes = log.storage().read_file(LEADER_EPOCH_CHECKPOINT_FILE).unwrap().expect("a checkpoint file");
    String::from_utf8(bytes).unwrap()
}

/// The cache Kafka's recovery builds from `log`'s batches (`LogSegment.recover`:
/// each batch whose partition leader epoch is above the latest known starts
/// that epoch), cut at the log start as `truncateFromStart` cuts it.
fn rebuilt_from_batches<S: Storage>(log: &Log<S>) -> LeaderEpochCache {
    let mut cache = LeaderEpochCache::new();
    for batch in log.read_batches(log.log_start_offset()).unwrap() {
        let epoch = batch.partition_leader_epoch();
        if epoch >= 0 && cache.latest_epoch().is_none_or(|latest| epoch > latest) {
            cache.assign(epoch, batch.base_offset());
        }
    }
    if !cache.is_empty() {
        cache.truncate_from_start(log.log_start_offset());
    }
    cache
}

/// A new partition's first batch, appended at leader epoch 0, leaves exactly
/// the bytes Kafka's `LeaderEpochCheckpointFile` writes: version 0, one entry,
/// epoch 0 starting at offset 0.
#[test]
fn first_append_at_epoch_0_writes_kafkas_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_disk(dir.path(), &LogConfig::default(), OpenOptions::default());
    append_at(&mut log, 0, "a");
    let on_disk = std::fs::read(dir.path().join("leader-epoch-checkpoint")).expect("the file exists");
    assert_eq!(String::from_utf8(on_disk).unwrap(), "0\n1\n0 0\n");
    assert_eq!(entries(&log), [(0, 0)]);
}

/// Appends at epochs 0, 0, 2, 5 start three epochs, each at the base offset of
/// its first batch (Kafka's `UnifiedLog.append` → `maybeAssignEpochStartOffset`),
/// the file follows, and OffsetsForLeaderEpoch answers from the cache (KIP-101,
/// KIP-279: the answer names the largest epoch at or below the one asked).
#[test]
fn appends_at_new_epochs_assign_their_start_offsets() {
    let (mut log, _) =
        Log::open(MemStorage::new(), LogConfig::default(), OpenOptions::default(), T0).unwrap();
    for (epoch, tag) in [(0, "a"), (0, "b"), (2, "c"), (5, "d")] {
        append_at(&mut log, epoch, tag);
    }
    assert_eq!(entries(&log), [(0, 0), (2, 6), (5, 9)]);
    assert_eq!(checkpoint_text(&log), "0\n3\n0 0\n2 6\n5 9\n");
    let answer = |epoch| log.end_offset_for_epoch(epoch);
    assert_eq!(answer(0), EpochEndOffset { leader_epoch: 0, end_offset: 6 });
    assert_eq!(answer(1), EpochEndOffset { leader_epoch: 0, end_offset: 6 });
    assert_eq!(answer(2), EpochEndOffset { leader_epoch: 2, end_offset: 9 });
    assert_eq!(answer(5), EpochEndOffset { leader_epoch: 5, end_offset: 12 });
    assert_eq!(answer(6), EpochEndOffset::UNDEFINED);
}

/// `truncate_to` forgets the epochs that started at or after the new log end
/// (Kafka's `truncateFromEnd`) and rewrites the file, also when the cut falls
/// inside a batch (the whole batch goes, and with it its epoch's start).
#[test]
fn truncate_to_forgets_later_epochs_and_rewrites_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_disk(dir.path(), &two_batches_a_segment(), OpenOptions::default());
    for (epoch, tag) in [(0, "a"), (0, "b"), (2, "c"), (5, "d")] {
        append_at(&mut log, epoch, tag);
    }
    log.truncate_to(9).unwrap();
    assert_eq!(entries(&log), [(0, 0), (2, 6)]);
    assert_eq!(checkpoint_text(&log), "0\n2\n0 0\n2 6\n");
    log.truncate_to(7).unwrap(); // inside epoch 2's only batch
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(entries(&log), [(0, 0)]);
    assert_eq!(checkpoint_text(&log), "0\n1\n0 0\n");
    log.truncate_to(0).unwrap();
    assert_eq!(checkpoint_text(&log), "0\n0\n");
    // The next epoch starts where the log now ends.
    append_at(&mut log, 7, "e");
    assert_eq!(entries(&log), [(7, 0)]);
}

/// Retention that moves the log start offset moves the start of the epoch in
/// force there up to it and forgets the epochs wholly below it (Kafka's
/// `truncateFromStart`), on disk too.
#[test]
fn retention_moves_the_first_epochs_start() {
    let config = LogConfig { retention_ms: 1000, ..two_batches_a_segment() };
    let (mut log, _) = Log::open(MemStorage::new(), config, OpenOptions::default(), T0).unwrap();
    // Batch i (three records, two to a segment) at epoch i / 3, timestamp T0 + 100 i.
    for i in 0..10 {
        let built = simple(3, T0 + 100 * i, &format!("b{i}")).build();
        log.append(bytes_of(&built), (i / 3) as i32, T0).unwrap();
    }
    assert_eq!(entries(&log), [(0, 0), (1, 9), (2, 18), (3, 27)]);
    log.update_high_watermark(log.log_end_offset()); // one replica: all committed
                                                     // Segments [0, 6) and [6, 12) expire; the log starts at 12, inside epoch 1.
    assert_eq!(log.delete_old_segments(T0 + 1450).unwrap(), 2);
    assert_eq!(log.log_start_offset(), 12);
    assert_eq!(entries(&log), [(1, 12), (2, 18), (3, 27)]);
    assert_eq!(checkpoint_text(&log), "0\n3\n1 12\n2 18\n3 27\n");
}

/// After a clean shutdown the file is trusted as it is (Kafka reads it when it
/// opens the log and scans no segment): an entry the batches do not show —
/// here epoch 1 starting at offset 3, where the batches say epoch 0 goes on —
/// is loaded, not rebuilt away. (Only an entry at or past the log end goes:
/// Kafka cuts the loaded cache at the log end too.)
#[test]
fn a_clean_reopen_loads_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig::default();
    let (mut log, _) = open_disk(dir.path(), &config, OpenOptions::default());
    append_at(&mut log, 0, "a");
    append_at(&mut log, 0, "b");
    log.close().unwrap();
    std::fs::write(dir.path().join("leader-epoch-checkpoint"), "0\n3\n0 0\n1 3\n2 6\n").unwrap();
    let (log, _) = open_disk(dir.path(), &config, clean());
    assert_eq!(entries(&log), [(0, 0), (1, 3)]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("leader-epoch-checkpoint")).unwrap(),
        "0\n2\n0 0\n1 3\n"
    );
    assert_eq!(log.end_offset_for_epoch(0), EpochEndOffset { leader_epoch: 0, end_offset: 3 });
}

/// A missing, empty (Kafka creates the file empty) or corrupt checkpoint is
/// rebuilt from the batches' partition leader epochs, and written back.
#[test]
fn a_missing_or_corrupt_checkpoint_is_rebuilt_from_the_batches() {
    let config = two_batches_a_segment();
    for damage in [None, Some(""), Some("0\n2\n0 0\n"), Some("0\n2\n5 0\n2 6\n"), Some("\u{fffd}garbage")] {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open_disk(dir.path(), &config, OpenOptions::default());
        for (epoch, tag) in [(0, "a"), (0, "b"), (2, "c"), (5, "d")] {
            append_at(&mut log, epoch, tag);
        }
        log.close().unwrap();
        let path = dir.path().join("leader-epoch-checkpoint");
        match damage {
            None => std::fs::remove_file(&path).unwrap(),
            Some(text) => std::fs::write(&path, text).unwrap(),
        }
        let (log, _) = open_disk(dir.path(), &config, clean());
        assert_eq!(entries(&log), [(0, 0), (2, 6), (5, 9)], "after {damage:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "0\n3\n0 0\n2 6\n5 9\n", "after {damage:?}");
    }
}

/// A power cut that tears the batch which started an epoch: recovery cuts the
/// batch, and the epoch goes with it — the file said epoch 5 starts at 9, but
/// no record of it is left, so the reopened cache (and file) must not claim it,
/// or an OffsetsForLeaderEpoch answer would point past the log end.
#[test]
fn a_torn_tail_cut_by_recovery_takes_its_epoch_with_it() {
    let config = two_batches_a_segment();
    for mode in [CrashMode::LoseUnsynced, CrashMode::TornPrefix(HEADER_SIZE + 3), CrashMode::ZeroedTail] {
        let (mut log, _) = Log::open(MemStorage::new(), config.clone(), OpenOptions::default(), T0).unwrap();
        for (epoch, tag) in [(0, "a"), (0, "b"), (2, "c")] {
            append_at(&mut log, epoch, tag);
        }
        log.flush().unwrap();
        let recovery_point = log.recovery_point();
        append_at(&mut log, 5, "d");
        assert_eq!(checkpoint_text(&log), "0\n3\n0 0\n2 6\n5 9\n");
        let crashed = log.storage().crash(mode);
        let (log, report) = Log::open(crashed, config.clone(), unclean(recovery_point), T0).unwrap();
        assert!(report.segments_recovered > 0, "{mode:?}");
        assert_eq!(log.log_end_offset(), 9, "{mode:?}");
        assert_eq!(entries(&log), [(0, 0), (2, 6)], "{mode:?}");
        assert_eq!(checkpoint_text(&log), "0\n2\n0 0\n2 6\n", "{mode:?}");
        assert_eq!(log.end_offset_for_epoch(2), EpochEndOffset { leader_epoch: 2, end_offset: 9 });
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Append a batch of 1..=3 records at the current epoch plus this bump.
    Append {
        bump: u8,
        records: usize,
    },
    /// Truncate to this share (in 1/8) of the log end.
    Truncate(u8),
    Flush,
    /// A power cut, then an unclean open from the last recovery point.
    Crash(CrashMode),
    /// A clean close and open.
    Reopen,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 1usize..=3).prop_map(|(bump, records)| Op::Append { bump, records }),
        1 => (0u8..8).prop_map(Op::Truncate),
        1 => Just(Op::Flush),
        1 => prop_oneof![
            Just(CrashMode::LoseUnsynced),
            (0usize..120).prop_map(CrashMode::TornPrefix),
            Just(CrashMode::ZeroedTail),
        ]
        .prop_map(Op::Crash),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever appends (at non-decreasing epochs), truncations, flushes,
    /// power cuts and restarts happen, the log's cache is the one Kafka's
    /// recovery would rebuild from the batches that are left, and the file
    /// in the partition directory says the same.
    #[test]
    fn the_cache_always_matches_the_batches_left(ops in proptest::collection::vec(op_strategy(), 1..40)) {
        let config = two_batches_a_segment();
        let (mut log, _) = Log::open(MemStorage::new(), config.clone(), OpenOptions::default(), T0).unwrap();
        let mut epoch = 0;
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Append { bump, records } => {
                    epoch += i32::from(bump);
                    let built = simple(records, T0, &format!("b{i}")).build();
                    log.append(bytes_of(&built), epoch, T0).unwrap();
                }
                Op::Truncate(eighths) => log.truncate_to(log.log_end_offset() * i64::from(eighths) / 8).unwrap(),
                Op::Flush => log.flush().unwrap(),
                Op::Crash(mode) => {
                    let (crashed, recovery_point) = (log.storage().crash(mode), log.recovery_point());
                    log = Log::open(crashed, config.clone(), unclean(recovery_point), T0).unwrap().0;
                }
                Op::Reopen => {
                    let storage = log.close().unwrap();
                    log = Log::open(storage, config.clone(), clean(), T0).unwrap().0;
                }
            }
            prop_assert_eq!(log.leader_epoch_cache(), &rebuilt_from_batches(&log), "after op {}", i);
            let on_disk = decode_checkpoint(checkpoint_text(&log).as_bytes()).unwrap();
            prop_assert_eq!(&on_disk, log.leader_epoch_cache());
        }
    }
}
