//! A broker's metadata fetch with several controllers, over real sockets:
//! a controller that is not the quorum's leader refuses the Fetch of
//! `__cluster_metadata` with NOT_LEADER_OR_FOLLOWER and names the leader it
//! knows (`current_leader`, KIP-595); the broker goes there, tells its
//! controller link, and catches up.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, LeaderIdAndEpoch, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, RequestKind, ResponseKind};
use kafka_protocol::ResponseError;

use crate::broker::fake_controller::FakeController;
use crate::broker::Broker;
use crate::config::{BrokerConfig, HostPort, ProcessRoles, QuorumVoter};

/// A Fetch answer for the one partition asked: `error` with `leader`
/// named, or (no error) an empty, caught-up log.
fn fetched(request: &FetchRequest, error: Option<ResponseError>, leader: i32) -> ResponseKind {
    let topic = &request.topics[0];
    let mut partition = PartitionData::default().with_partition_index(0).with_high_watermark(0);
    if let Some(error) = error {
        partition = partition.with_error_code(error.code()).with_high_watermark(-1).with_current_leader(
            LeaderIdAndEpoch::default().with_leader_id(BrokerId(leader)).with_leader_epoch(5),
        );
    } else {
        partition = partition.with_records(Some(Default::default()));
    }
    ResponseKind::Fetch(FetchResponse::default().with_responses(vec![
        FetchableTopicResponse::default().with_topic(topic.topic.clone()).with_partitions(vec![partition]),
    ]))
}

/// A controller whose every metadata Fetch gets `error`, naming `leader`.
async fn controller(error: Option<ResponseError>, leader: i32) -> FakeController {
    FakeController::start(move |request| match request {
        RequestKind::Fetch(r) => fetched(r, error, leader),
        other => panic!("not in these tests: {other:?}"),
    })
    .await
}

/// Broker 4 of a cluster whose voters are `controllers` (node ids 1, 2, …).
fn broker(dir: &std::path::Path, controllers: &[&FakeController]) -> Arc<Broker> {
    let voters = (controllers.iter().enumerate())
        .map(|(i, c)| QuorumVoter {
            node_id: i as i32 + 1,
            endpoint: HostPort { host: "127.0.0.1".into(), port: c.addr.port() },
        })
        .collect();
    let config = BrokerConfig {
        node_id: 4,
        log_dir: dir.to_path_buf(),
        process_roles: ProcessRoles::Broker,
        controller_quorum_voters: voters,
        ..BrokerConfig::default()
    };
    Arc::new(Broker::open(config).unwrap())
}

/// Runs the metadata loop until the broker has caught up (or 30 s pass: a
/// loop that never gets there, not a speed bound).
async fn catch_up(broker: &Arc<Broker>) -> bool {
    let link = broker.controller_link().unwrap();
    let task = tokio::spawn(super::lifecycle::metadata_loop(broker.clone(), link));
    let caught_up = tokio::time::timeout(Duration::from_secs(30), async {
        while !broker.metadata_caught_up() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .is_ok();
    task.abort();
    caught_up
}

/// Voter 1 is a follower that knows voter 3 leads: the broker fetches from
/// 3, as an observer with no leader epoch of its own (-1), and its link
/// sends to 3 from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_fetch_follows_the_named_leader() {
    let follower = controller(Some(ResponseError::NotLeaderOrFollower), 3).await;
    let other = controller(Some(ResponseError::NotLeaderOrFollower), 3).await;
    let leader = controller(None, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path(), &[&follower, &other, &leader]);
    assert!(catch_up(&broker).await, "the broker never fetched from the leader");
    assert_eq!(broker.controller_link().unwrap().target().node_id, Some(3));
    assert!(other.seen().is_empty(), "the named leader was skipped to");
    let RequestKind::Fetch(request) = &leader.seen()[0] else { panic!("a fetch") };
    assert_eq!(request.replica_id, BrokerId(4));
    assert_eq!(request.topics[0].partitions[0].current_leader_epoch, -1);
}

/// Voters that know no leader yet (an election under way: leader -1, or a
/// fenced epoch) are passed over for the next voter in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_named_leader_the_fetch_tries_the_next_voter() {
    let electing = controller(Some(ResponseError::NotLeaderOrFollower), -1).await;
    let fenced = controller(Some(ResponseError::FencedLeaderEpoch), -1).await;
    let leader = controller(None, -1).await;
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path(), &[&electing, &fenced, &leader]);
    assert!(catch_up(&broker).await, "the broker never reached the third voter");
    assert_eq!(broker.controller_link().unwrap().target().node_id, Some(3));
}
