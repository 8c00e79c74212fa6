//! The driver builds its Raft core from the node's settings: a voter whose
//! peers never answer shows whether `spool.quorum.pre.vote` reached the core.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{MetadataQuorum, QuorumTimeouts};
use crate::metadata::{MetadataRecord, QuorumLog};

/// Voter 1 of a three-voter quorum whose other voters are not running
/// (their ports refuse connections), with short timers.
fn lonely_voter(dir: &std::path::Path, pre_vote: bool) -> Arc<MetadataQuorum> {
    let refused = || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.local_addr().expect("local addr").to_string()
    };
    let voters = BTreeMap::from([(1, refused()), (2, refused()), (3, refused())]);
    let timeouts = QuorumTimeouts {
        election_ms: 20,
        fetch_ms: 40,
        retry_backoff_ms: 5,
        request_ms: 100,
        pre_vote,
        ..QuorumTimeouts::default()
    };
    let log_dir = dir.join("__cluster_metadata-0");
    let log = QuorumLog::open(&log_dir, vec![1, 2, 3], crate::broker::now_ms()).expect("open the log");
    MetadataQuorum::start(
        1,
        "c2Nyb2xsLXRlc3QtY2x1cw".into(),
        voters,
        timeouts,
        log_dir,
        log,
        None,
        Default::default(),
    )
    .expect("start")
}

/// KIP-996: with pre-vote off (`spool.quorum.pre.vote=false`) a voter that
/// hears from nobody stands for election at once and bumps the epoch; with
/// it on (the default) it only asks whether it would win, and the epoch
/// stays where it was however many elections time out.
#[tokio::test]
async fn the_pre_vote_switch_decides_whether_a_lonely_voter_bumps_the_epoch() {
    let off_dir = tempfile::tempdir().unwrap();
    let off = lonely_voter(off_dir.path(), false);
    let mut view = off.subscribe();
    tokio::time::timeout(Duration::from_secs(30), view.wait_for(|v| v.epoch >= 2))
        .await
        .expect("without pre-vote, each timed-out election bumps the epoch")
        .expect("the quorum is running");

    let on_dir = tempfile::tempdir().unwrap();
    let on = lonely_voter(on_dir.path(), true);
    // Fifty election timeouts at least; the epoch cannot move, so a slow
    // machine only makes this check weaker, never wrong.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(on.view().epoch, 0, "a prospective never bumps the epoch");
    assert!(on.view().leader_id.is_none());
}

/// The only voter of a one-voter quorum in `dir`, snapshotting every
/// `snapshot_bytes` bytes of applied records or every `interval_ms`.
fn single_voter(dir: &std::path::Path, snapshot_bytes: u64, interval_ms: u64) -> Arc<MetadataQuorum> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let voters = BTreeMap::from([(1, listener.local_addr().expect("local addr").to_string())]);
    let timeouts = QuorumTimeouts {
        election_ms: 20,
        fetch_ms: 40,
        retry_backoff_ms: 5,
        request_ms: 100,
        snapshot_record_bytes_max: snapshot_bytes,
        snapshot_interval_ms: interval_ms,
        ..QuorumTimeouts::default()
    };
    let log_dir = dir.join("__cluster_metadata-0");
    let log = QuorumLog::open(&log_dir, vec![1], crate::broker::now_ms()).expect("open the log");
    MetadataQuorum::start(
        1,
        "c2Nyb2xsLXRlc3QtY2x1cw".into(),
        voters,
        timeouts,
        log_dir,
        log,
        None,
        Default::default(),
    )
    .expect("start")
}

async fn active(quorum: &MetadataQuorum) {
    let mut view = quorum.subscribe();
    tokio::time::timeout(Duration::from_secs(30), view.wait_for(|v| v.active))
        .await
        .expect("a single voter becomes the active controller")
        .expect("the quorum is running");
}

/// KIP-630 in the driver: past `metadata.log.max.record.bytes.between.snapshots`
/// the committed image is written as a `.checkpoint` and the log start
/// moves up to it; a restart loads that snapshot, replays the log after it,
/// and has the same image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_taken_past_the_threshold_and_loaded_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let quorum = single_voter(dir.path(), 200, 3_600_000);
    active(&quorum).await;
    for i in 0..20 {
        let record = MetadataRecord::Topic { name: format!("topic-{i}"), topic_id: uuid::Uuid::new_v4() };
        let pending = quorum.writer().expect("active").append(&[record]).expect("append");
        quorum.wait_committed(pending).await.expect("committed");
    }
    let image = quorum.image();
    let view = quorum.view();
    assert!(view.log_start > 0, "the log start moved: {view:?}");
    let partition = dir.path().join("__cluster_metadata-0");
    let latest = crate::metadata::snapshot::latest_snapshot(&partition).unwrap().expect("a .checkpoint");
    assert_eq!(latest.end_offset, view.log_start);
    drop(quorum);
    tokio::time::sleep(Duration::from_millis(100)).await; // its clock task lets go of it

    let restarted = single_voter(dir.path(), 200, 3_600_000);
    active(&restarted).await;
    assert_eq!(restarted.view().log_start, view.log_start);
    for i in 0..20 {
        let name = format!("topic-{i}");
        assert_eq!(restarted.image().topic(&name), image.topic(&name), "{name}");
    }
}

/// `metadata.log.max.snapshot.interval.ms`: a controller that applied a
/// record takes a snapshot once the interval has passed, however far it is
/// from the byte threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_taken_after_the_interval_however_few_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let quorum = single_voter(dir.path(), u64::MAX, 100);
    active(&quorum).await;
    let record = MetadataRecord::Topic { name: "one".into(), topic_id: uuid::Uuid::new_v4() };
    let pending = quorum.writer().expect("active").append(&[record]).expect("append");
    quorum.wait_committed(pending).await.expect("committed");
    let mut view = quorum.subscribe();
    tokio::time::timeout(Duration::from_secs(30), view.wait_for(|v| v.log_start > 0))
        .await
        .expect("a snapshot within the interval (and the clock's next tick)")
        .expect("the quorum is running");
}
