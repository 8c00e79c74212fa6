//! `cleaner-offset-checkpoint` (chapter 10) in the log manager: Kafka's file,
//! read at open, written after a clean, and cut when a partition goes.

use super::*;

const T0: i64 = 1_000;

fn open(dir: &Path) -> LogManager {
    LogManager::open(dir, LogConfig::default(), T0).unwrap().0
}

fn file(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(CLEANER_OFFSET_CHECKPOINT)).unwrap()
}

/// A clean's checkpoint is written in Kafka's format (version 0, count,
/// `topic partition offset`) and read back by the next open.
#[test]
fn the_cleaner_checkpoint_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
    let mut manager = open(dir.path());
    manager.get_or_create(&a, None, T0).unwrap();
    manager.get_or_create(&b, None, T0).unwrap();
    assert_eq!(manager.cleaner_checkpoint(&a), None);
    manager.checkpoint_cleaned(&a, 40).unwrap();
    manager.checkpoint_cleaned(&b, 7).unwrap();
    manager.checkpoint_cleaned(&a, 55).unwrap();
    assert_eq!(file(dir.path()), "0\n2\nt 0 55\nt 1 7\n");
    manager.shutdown().unwrap();
    let manager = open(dir.path());
    assert_eq!((manager.cleaner_checkpoint(&a), manager.cleaner_checkpoint(&b)), (Some(55), Some(7)));
}

/// A file a Kafka broker left is read as is; an entry for a partition this
/// log directory does not hold is dropped at the next write, as Kafka's
/// `updateCheckpoints` keeps only the logs it has.
#[test]
fn a_kafka_cleaner_checkpoint_is_read_and_stale_entries_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let a = TopicPartition::new("__consumer_offsets", 3);
    open(dir.path()).get_or_create(&a, None, T0).unwrap();
    std::fs::write(dir.path().join(CLEANER_OFFSET_CHECKPOINT), "0\n2\n__consumer_offsets 3 1203\ngone 0 9\n")
        .unwrap();
    let mut manager = open(dir.path());
    assert_eq!(manager.cleaner_checkpoint(&a), Some(1203));
    manager.checkpoint_cleaned(&a, 1300).unwrap();
    assert_eq!(file(dir.path()), "0\n1\n__consumer_offsets 3 1300\n");
}

/// Deleting a partition drops its entry from the file: a topic created again
/// under the same name must not start cleaning at the old topic's offset.
#[test]
fn deleting_a_partition_drops_its_cleaner_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("u", 0));
    let mut manager = open(dir.path());
    manager.get_or_create(&a, None, T0).unwrap();
    manager.get_or_create(&b, None, T0).unwrap();
    manager.checkpoint_cleaned(&a, 40).unwrap();
    manager.checkpoint_cleaned(&b, 9).unwrap();
    manager.delete(&a).unwrap();
    assert_eq!(manager.cleaner_checkpoint(&a), None);
    assert_eq!(file(dir.path()), "0\n1\nu 0 9\n");
    manager.get_or_create(&a, None, T0).unwrap();
    assert_eq!(manager.cleaner_checkpoint(&a), None);
}

/// A truncation below the checkpoint lowers it (Kafka's
/// `maybeTruncateCheckpoint`); one above it changes nothing.
#[test]
fn truncation_lowers_the_cleaner_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let a = TopicPartition::new("t", 0);
    let mut manager = open(dir.path());
    manager.get_or_create(&a, None, T0).unwrap();
    manager.checkpoint_cleaned(&a, 40).unwrap();
    manager.truncate_cleaner_checkpoint(&a, 50).unwrap();
    assert_eq!(manager.cleaner_checkpoint(&a), Some(40));
    manager.truncate_cleaner_checkpoint(&a, 30).unwrap();
    assert_eq!(file(dir.path()), "0\n1\nt 0 30\n");
}

/// A follower that truncates below its cleaner checkpoint lowers it (Kafka's
/// `maybeTruncateCheckpoint`): the records it appends again there are dirty,
/// not taken for already clean. The truncation is noted on the log and
/// applied by the next `apply_truncations` (the cleaner's gather step).
#[test]
fn a_truncation_below_the_cleaner_checkpoint_lowers_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = TopicPartition::new("t", 0);
    let mut manager = open(dir.path());
    let log = manager.get_or_create(&a, None, T0).unwrap();
    for i in 0..10 {
        let mut batch = crate::format::builder::BatchBuilder::new(crate::format::Compression::None);
        batch.append(T0, Some(b"k"), Some(&[i]), &[]);
        let bytes = bytes::BytesMut::from(&batch.build().as_bytes()[..]);
        crate::log::manager::lock(&log).append(bytes, 0, T0).unwrap();
    }
    manager.checkpoint_cleaned(&a, 8).unwrap();
    crate::log::manager::lock(&log).truncate_to(6).unwrap();
    crate::log::manager::lock(&log).truncate_to(7).unwrap(); // past the end: no cut
    manager.apply_truncations().unwrap();
    assert_eq!(manager.cleaner_checkpoint(&a), Some(6));
    assert_eq!(file(dir.path()), "0\n1\nt 0 6\n");
    manager.apply_truncations().unwrap();
    assert_eq!(manager.cleaner_checkpoint(&a), Some(6), "applied once");
}
