//! The on-disk Raft log answers the core exactly as the in-memory one does,
//! keeps its epochs across a restart, and stops changing after an IO failure.

use proptest::prelude::*;

use super::*;
use crate::raft::MemoryLog;

pub(super) fn data(epoch: Epoch, bytes: &[u8]) -> Entry {
    Entry { epoch, record: Record::Data(bytes.to_vec()) }
}

pub(super) fn leader_change(epoch: Epoch, leader_id: NodeId) -> Entry {
    Entry { epoch, record: Record::LeaderChange { leader_id } }
}

/// Small segments and a dense index, so a few entries span several segments.
fn small_segments() -> LogConfig {
    LogConfig { segment_bytes: 512, index_interval_bytes: 64, ..LogConfig::default() }
}

pub(super) fn open(dir: &Path) -> QuorumLog {
    QuorumLog::open_with(dir, vec![1, 2, 3], small_segments(), 0).unwrap()
}

/// Every question the core asks, asked of both logs.
fn assert_same_answers(disk: &QuorumLog, memory: &MemoryLog) {
    let end = memory.end_offset();
    assert_eq!(disk.end_offset(), end);
    assert_eq!(disk.last_epoch(), memory.last_epoch());
    for offset in -1..=end {
        assert_eq!(disk.entry(offset), memory.entry(offset), "entry({offset})");
    }
    for epoch in 0..=memory.last_epoch() + 1 {
        assert_eq!(disk.end_offset_for_epoch(epoch), memory.end_offset_for_epoch(epoch), "epoch {epoch}");
    }
    for from in 0..=end {
        for max in [1, 2, 5] {
            let got = disk.entries(from, max);
            let want = &memory.entries[from as usize..];
            assert_eq!(got.is_empty(), want.is_empty(), "entries({from}, {max})");
            assert_eq!(got, want[..got.len()], "entries({from}, {max}) is the log from {from}");
        }
    }
    assert!(disk.failure().is_none(), "{:?}", disk.failure());
}

#[derive(Debug, Clone)]
enum Op {
    /// Entries whose epochs start at the log's last epoch plus the first bump.
    Append(Vec<(Epoch, Record)>),
    /// Truncate at this share (in 1/16ths) of the log end.
    Truncate(i64),
    Reopen,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let record = prop_oneof![
        (1..4).prop_map(|leader_id| Record::LeaderChange { leader_id }),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Record::Data),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Record::Data),
    ];
    prop_oneof![
        3 => proptest::collection::vec((0..3, record), 1..8).prop_map(Op::Append),
        1 => (0..17i64).prop_map(Op::Truncate),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// For any sequence of appends (epochs never going back), truncations
    /// (at batch boundaries or inside batches) and restarts, the on-disk log
    /// answers end offset, last epoch, entry, entries and
    /// end_offset_for_epoch exactly as a MemoryLog given the same sequence.
    #[test]
    fn answers_as_a_memory_log(ops in proptest::collection::vec(op_strategy(), 1..14)) {
        let dir = tempfile::tempdir().unwrap();
        let mut disk = open(dir.path());
        let mut memory = MemoryLog::default();
        for op in ops {
            match op {
                Op::Append(steps) => {
                    let mut epoch = memory.last_epoch();
                    let entries: Vec<Entry> = steps
                        .into_iter()
                        .map(|(bump, record)| {
                            epoch += bump;
                            Entry { epoch, record }
                        })
                        .collect();
                    disk.append(entries.clone());
                    memory.append(entries);
                }
                Op::Truncate(sixteenths) => {
                    let offset = memory.end_offset() * sixteenths / 16;
                    disk.truncate_to(offset);
                    memory.truncate_to(offset);
                }
                Op::Reopen => {
                    drop(disk);
                    disk = open(dir.path());
                }
            }
            assert_same_answers(&disk, &memory);
        }
    }
}

/// A Fetch answer is whole batches: from inside the first (where the
/// fetch offset is), then whole ones while they fit in `max` entries — but
/// always the first, however big.
#[test]
fn entries_are_whole_batches_up_to_max() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    log.append(vec![leader_change(1, 1), data(1, b"a"), data(1, b"b"), data(1, b"c")]); // batches [0] [1..4)
    log.append(vec![data(1, b"d"), data(1, b"e")]); // [4..6)
    let records = |entries: Vec<Entry>| entries.len();
    assert_eq!(records(log.entries(0, 1)), 1, "the control batch alone");
    assert_eq!(records(log.entries(0, 3)), 1, "the next batch would pass 3");
    assert_eq!(records(log.entries(0, 4)), 4);
    assert_eq!(records(log.entries(1, 1)), 3, "the first batch whole, even past max");
    assert_eq!(log.entries(2, 4), [data(1, b"b"), data(1, b"c"), data(1, b"d"), data(1, b"e")]);
    assert_eq!(records(log.entries(6, 4)), 0, "nothing at the log end");
}

/// After a truncation inside an epoch and a restart, the epochs are those
/// of the entries left: `leader-epoch-checkpoint` no longer names the
/// epoch that was cut, and the cut epoch ends at the new log end.
#[test]
fn a_reopened_log_after_truncate_keeps_its_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    log.append(vec![leader_change(1, 1), data(1, b"a")]);
    log.append(vec![leader_change(2, 2), data(2, b"b"), data(2, b"c")]);
    log.append(vec![leader_change(3, 3), data(3, b"d")]);
    log.truncate_to(4); // inside epoch 2's data batch
    drop(log);
    let log = open(dir.path());
    assert_eq!((log.end_offset(), log.last_epoch()), (4, 2));
    assert_eq!(log.end_offset_for_epoch(1), (1, 2));
    assert_eq!(log.end_offset_for_epoch(3), (2, 4));
    assert_eq!(log.entry(3), Some(data(2, b"b")));
    let checkpoint = std::fs::read_to_string(dir.path().join("leader-epoch-checkpoint")).unwrap();
    assert_eq!(checkpoint, "0\n2\n1 0\n2 2\n");
}

/// A failed fsync is kept, not panicked on, and every later change is
/// refused: the driver sees `failure()` and stops this quorum member (Kafka's
/// controller exits on a metadata log write failure).
#[test]
fn a_failed_fsync_is_kept_and_later_changes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    log.append(vec![leader_change(1, 1)]);
    log.log.storage_mut().fail_next_syncs(1);
    log.append(vec![data(1, b"lost")]);
    assert!(matches!(log.failure(), Some(LogError::Io(_))), "{:?}", log.failure());
    let end = log.end_offset();
    log.append(vec![data(1, b"later")]);
    log.truncate_to(0);
    assert_eq!(log.end_offset(), end, "no change after the failure");
    assert!(matches!(log.failure(), Some(LogError::Io(_))), "the first failure is the one kept");
}

/// Committed batches go to brokers as they are on disk: never a batch that
/// holds the bound (the high watermark) or passes it, at least one that
/// lies below it; the data records below the bound are what gets applied.
#[test]
fn read_bytes_and_data_records_stop_at_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    log.append(vec![leader_change(1, 1), data(1, b"a"), data(1, b"b")]); // [0] [1..3)
    log.append(vec![data(1, b"c")]); // [3]
    let offsets = |bytes: Bytes| decode(&bytes).unwrap().into_iter().map(|(o, _)| o).collect::<Vec<_>>();
    assert_eq!(offsets(log.read_bytes(0, 2, u32::MAX).unwrap()), [0], "batch [1..3) holds the bound");
    assert_eq!(offsets(log.read_bytes(0, 3, u32::MAX).unwrap()), [0, 1, 2]);
    assert_eq!(offsets(log.read_bytes(0, 4, 1).unwrap()), [0], "at least one batch");
    assert_eq!(offsets(log.read_bytes(4, 4, u32::MAX).unwrap()), Vec::<Offset>::new());
    assert!(matches!(log.read_bytes(5, 5, u32::MAX), Err(LogError::OffsetOutOfRange { .. })));
    let records = log.data_records(0, 3).unwrap();
    assert_eq!(records, [(1, b"a".to_vec()), (2, b"b".to_vec())]);
    assert_eq!(log.data_records(2, 4).unwrap(), [(2, b"b".to_vec()), (3, b"c".to_vec())]);
}

/// The segments are Kafka's format: `spool dump-log` (as `kafka-dump-log.sh`)
/// reads them without a complaint and shows the control batch.
#[test]
fn dump_log_reads_the_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    log.append(vec![leader_change(1, 1), data(1, b"a")]);
    drop(log);
    let segment = dir.path().join("00000000000000000000.log");
    let dump = crate::tools::dump_log::dump_file(&segment, crate::tools::dump_log::DumpOptions::default());
    assert!(dump.errors.is_empty(), "{:?}", dump.errors);
    assert!(dump.output.contains("isControl: true"), "{}", dump.output);
    assert!(dump.output.contains("partitionLeaderEpoch: 1"), "{}", dump.output);
}
