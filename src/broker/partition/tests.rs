//! A leader's high watermark in durable mode (`spool.log.flush.before.ack`):
//! it never passes what an fsync covers, whoever reports the log end — a
//! produce after its own fsync, a follower's fetch, a new leadership.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::BytesMut;
use uuid::Uuid;

use super::Partition;
use crate::format::BatchBuilder;
use crate::log::manager::{lock, SharedLog};
use crate::log::storage::DiskStorage;
use crate::log::validator::ValidationPolicy;
use crate::log::{GroupCommit, Log, LogConfig, OpenOptions};
use crate::replication::{FetchAnswer, FollowerFetch, PartitionAssignment, ReplicationConfig};
use crate::sync::Mutex;

const EPOCH: i32 = 0;

/// A partition of `replicas` whose log is in durable mode or not, led by
/// replica 1 with every replica in the ISR.
fn leader(durable: bool, replicas: &[i32]) -> (tempfile::TempDir, Partition) {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { flush_before_ack: durable, ..LogConfig::default() };
    let storage = DiskStorage::open(dir.path().join("durable-0")).unwrap();
    let options = OpenOptions { clean_shutdown: true, ..OpenOptions::default() };
    let (log, _) = Log::open(storage, config, options, 0).unwrap();
    let log: SharedLog = Arc::new(Mutex::new(log));
    let partition = Partition::new(
        log,
        Uuid::new_v4(),
        1 << 20,
        ValidationPolicy::default(),
        Arc::new(GroupCommit::new()),
        1,
    );
    let assignment = PartitionAssignment {
        replicas: replicas.to_vec(),
        isr: replicas.iter().copied().collect::<BTreeSet<_>>(),
        leader_epoch: EPOCH,
        partition_epoch: 0,
    };
    partition.become_leader(1, &assignment, ReplicationConfig::default(), 0).unwrap();
    (dir, partition)
}

/// Appends one record as the leader, without reporting it (the produce's
/// fsync has not finished); returns its offset.
fn append(partition: &Partition, value: &[u8]) -> i64 {
    let mut batch = BatchBuilder::default();
    batch.append(0, None, Some(value), &[]);
    let batch = BytesMut::from(&batch.build().as_bytes()[..]);
    lock(&partition.log).append(batch, EPOCH, 0).unwrap().last_offset
}

fn flush(partition: &Partition) {
    lock(&partition.log).flush().unwrap();
}

/// The promise of durable mode on one node: A's produce, after its fsync,
/// moves the high watermark to A's end only, not to B's, which another
/// produce appended while A's fsync ran; B's own report after its fsync
/// moves it on. A consumer never reads what a crash can take back.
#[test]
fn durable_high_watermark_stops_at_the_flushed_end() {
    let (_dir, partition) = leader(true, &[1]);
    let a = append(&partition, b"a");
    flush(&partition);
    let b = append(&partition, b"b");
    let (wait, _) = partition.after_append(EPOCH, a, true).unwrap();
    assert_eq!(partition.high_watermark(), a + 1, "the high watermark passed the flushed end");
    // A itself is covered: its acks=all wait is answered at once.
    assert_eq!(wait.unwrap().try_recv().unwrap(), Ok(()));
    flush(&partition);
    partition.after_append(EPOCH, b, false).unwrap();
    assert_eq!(partition.high_watermark(), b + 1);
}

/// Without durable mode Kafka's rule stands: a one-replica ISR's high
/// watermark is the log end, flushed or not.
#[test]
fn plain_high_watermark_is_the_log_end() {
    let (_dir, partition) = leader(false, &[1]);
    let a = append(&partition, b"a");
    flush(&partition);
    let b = append(&partition, b"b");
    partition.after_append(EPOCH, a, false).unwrap();
    assert_eq!(partition.high_watermark(), b + 1);
}

/// In a cluster in durable mode a follower's fetch learns only the flushed
/// end: it is sent records up to there (the answer's log end), and its
/// fetch at that end moves the high watermark no further.
#[test]
fn durable_follower_fetch_sees_only_the_flushed_end() {
    let (_dir, partition) = leader(true, &[1, 2]);
    let a = append(&partition, b"a");
    flush(&partition);
    append(&partition, b"b");
    let fetch = |fetch_offset| FollowerFetch {
        replica_id: 2,
        fetch_offset,
        last_fetched_epoch: None,
        current_leader_epoch: Some(EPOCH),
    };
    let answer = partition.on_follower_fetch(&fetch(0), 0).unwrap().answer;
    assert_eq!(answer, FetchAnswer::Records { high_watermark: 0, log_end_offset: a + 1 });
    partition.on_follower_fetch(&fetch(a + 1), 0).unwrap();
    assert_eq!(partition.high_watermark(), a + 1);
}

/// A replica that becomes leader in durable mode (after a restart, or a
/// follower whose fetched records were never flushed) flushes first: the
/// high watermark of its one-replica ISR starts at the log end, and that
/// end is durable.
#[test]
fn durable_leadership_starts_flushed() {
    let (_dir, partition) = leader(true, &[1]);
    let a = append(&partition, b"a");
    let next = PartitionAssignment {
        replicas: vec![1],
        isr: BTreeSet::from([1]),
        leader_epoch: EPOCH + 1,
        partition_epoch: 1,
    };
    partition.become_leader(1, &next, ReplicationConfig::default(), 0).unwrap();
    assert_eq!(lock(&partition.log).recovery_point(), a + 1);
    assert_eq!(partition.high_watermark(), a + 1);
}
