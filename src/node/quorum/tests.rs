//! The driver builds its Raft core from the node's settings: a voter whose
//! peers never answer shows whether `spool.quorum.pre.vote` reached the core.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{MetadataQuorum, QuorumTimeouts};
use crate::metadata::QuorumLog;

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
    MetadataQuorum::start(1, "c2Nyb2xsLXRlc3QtY2x1cw".into(), voters, timeouts, log_dir, log).expect("start")
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
