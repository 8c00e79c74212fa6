//! Chapter 7's snapshots on a running quorum (issue 14 §2, KIP-630): with a
//! tiny `metadata.log.max.record.bytes.between.snapshots`, the controllers
//! snapshot their committed image and delete the metadata log below it; a
//! voter and a broker that were down meanwhile find their fetch offsets below
//! the leader's log start, are sent the snapshot id, pull the snapshot with
//! FetchSnapshot, install it, and fetch on from its end.
//!
//! ```text
//!  controllers 1 2 3, brokers 4 5   create t00..t04 ── stop voter L (a follower) and broker 5
//!  create t05..t39 ── the others snapshot and move their log start past L's log end
//!  restart L and 5 ── Fetch(offset below start) → snapshot id → FetchSnapshot… → install → Fetch on
//!  broker 5 knows every topic; stop L ── its files: a .checkpoint, log start moved,
//!  image = snapshot + log after it ∋ every topic
//! ```
//!
//! ```text
//! cargo build && cargo test --test it kraft_snapshot:: -- --nocapture
//! ```

use crate::common::cluster;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use cluster::quorum;
use cluster::KafkaCluster;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{CreateTopicsRequest, DescribeQuorumRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::client::{Client, Connection};
use spool::metadata::quorum_log::partition_dir;
use spool::metadata::{MetadataImage, MetadataRecord, QuorumLog};
use spool::raft::{RaftLog, SnapshotId};

/// Short quorum timeouts, and a snapshot every ~2 KiB of committed records.
const EXTRA: &str = "controller.quorum.fetch.timeout.ms=2000\ncontroller.quorum.election.timeout.ms=1000\n\
                     metadata.log.max.record.bytes.between.snapshots=2048\n";

const PATIENCE: Duration = Duration::from_secs(60);

const TOPICS: usize = 40;
const BEFORE_STOP: usize = 5;

/// The broker stopped with the voter (broker 4 stays, so topics can be placed).
const LAGGING_BROKER: i32 = 5;

/// A voter and a broker down while the others snapshot and delete their log
/// catch up by FetchSnapshot, and their images hold every topic.
#[test]
fn a_voter_behind_the_log_start_catches_up_by_fetch_snapshot() {
    let mut cluster = KafkaCluster::start_quorum(3, 2, EXTRA);
    let controllers: Vec<(i32, SocketAddr)> =
        cluster.controller_ids().map(|id| (id, cluster.controller(id).addr(0))).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (leader, _) = runtime.block_on(quorum::wait_for_leader(&controllers, "at start", PATIENCE, |_| true));
    let leader_addr = cluster.controller(leader.id).addr(0);
    let lagging = controllers.iter().map(|(id, _)| *id).find(|&id| id != leader.id).expect("a follower");
    for i in 0..BEFORE_STOP {
        runtime.block_on(create_topic(leader_addr, &topic(i)));
    }
    cluster.controller(lagging).stop();
    cluster.broker(LAGGING_BROKER).stop();
    let lagging_end = open_log(&cluster.log_dir(lagging)).end_offset();
    for i in BEFORE_STOP..TOPICS {
        runtime.block_on(create_topic(leader_addr, &topic(i)));
    }
    let leader_dir = partition_dir(&cluster.log_dir(leader.id));
    let latest = *checkpoints(&leader_dir).last().expect("the leader took a snapshot");
    eprintln!("leader {} has snapshot {latest}; voter {lagging} stopped at offset {lagging_end}", leader.id);
    assert!(latest.end_offset > lagging_end, "the leader's log start is past the stopped voter's log end");

    cluster.controller(lagging).restart();
    cluster.broker(LAGGING_BROKER).restart();
    let lagging_dir = partition_dir(&cluster.log_dir(lagging));
    runtime.block_on(cluster::eventually("the restarted voter installs a snapshot", async || {
        (!checkpoints(&lagging_dir).is_empty()).then_some(())
    }));
    // One more topic, which the voter fetches after the snapshot; the
    // leader sees its log end reach the high watermark.
    runtime.block_on(create_topic(leader_addr, "after-the-snapshot"));
    runtime.block_on(cluster::eventually("the restarted voter caught up", async || {
        let (high_watermark, end) = voter_progress(leader_addr, lagging).await?;
        (end >= high_watermark).then_some(())
    }));
    let stderr = cluster.controller(lagging).stderr();
    assert!(stderr.contains("installed the leader's snapshot"), "voter {lagging} did not install:\n{stderr}");
    let broker_addr = cluster.broker(LAGGING_BROKER).addr(0).to_string();
    runtime.block_on(cluster::eventually("the restarted broker knows every topic", async || {
        let mut client = Client::connect(&broker_addr, Duration::from_secs(3)).await.ok()?;
        let names: Vec<String> = (0..TOPICS).map(topic).chain(["after-the-snapshot".to_string()]).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let metadata = client.metadata(Some(&names), false).await.ok()?;
        metadata.topics.iter().all(|t| t.error_code == 0).then_some(())
    }));
    let stderr = cluster.broker(LAGGING_BROKER).stderr();
    let installed = "installed the quorum leader's metadata snapshot";
    assert!(stderr.contains(installed), "broker {LAGGING_BROKER} did not install a snapshot:\n{stderr}");
    cluster.controller(lagging).stop();

    let log = open_log(&cluster.log_dir(lagging));
    assert!(log.start_offset() > lagging_end, "the log start moved past where the voter stopped");
    let image = image_of(&log);
    for name in (0..TOPICS).map(topic).chain(["after-the-snapshot".to_string()]) {
        assert!(image.topic(&name).is_some(), "voter {lagging}'s image lacks {name}");
    }
    for id in cluster.controller_ids().collect::<Vec<_>>() {
        let stderr = cluster.controller(id).stderr();
        assert!(!stderr.contains("panicked"), "controller {id} panicked:\n{stderr}");
    }
    let stderr = cluster.broker(LAGGING_BROKER).stderr();
    assert!(!stderr.contains("panicked"), "broker {LAGGING_BROKER} panicked:\n{stderr}");
}

/// The finished snapshots in a partition directory (read only: a running
/// controller's `.part` files are left alone).
fn checkpoints(dir: &Path) -> Vec<SnapshotId> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut ids: Vec<SnapshotId> = entries
        .flatten()
        .filter_map(|e| SnapshotId::from_file_name(&e.file_name().to_string_lossy()))
        .collect();
    ids.sort();
    ids
}

/// The high watermark and voter `id`'s log end offset, as the leader at
/// `addr` reports them in DescribeQuorum.
async fn voter_progress(addr: SocketAddr, id: i32) -> Option<(i64, i64)> {
    let mut connection = Connection::connect(&addr.to_string(), Duration::from_secs(2)).await.ok()?;
    let request: DescribeQuorumRequest = spool::tools::metadata_quorum::describe_quorum_request();
    let response = connection.send(&request).await.ok()?;
    let p = response.topics.first()?.partitions.first()?;
    let voter = p.current_voters.iter().find(|v| v.replica_id.0 == id)?;
    Some((p.high_watermark, voter.log_end_offset))
}

fn topic(i: usize) -> String {
    format!("t{i:02}")
}

/// The metadata log of a stopped controller, as it would open at start.
fn open_log(node_dir: &Path) -> QuorumLog {
    QuorumLog::open(&partition_dir(node_dir), vec![1, 2, 3], 0).expect("open the metadata log")
}

/// What the controller loads at start: the latest snapshot, then the log after it.
fn image_of(log: &QuorumLog) -> MetadataImage {
    let (id, mut image) = log.load_latest_snapshot().expect("a readable snapshot").expect("a snapshot");
    for (offset, bytes) in log.data_records(id.end_offset, log.end_offset()).expect("the log after it") {
        let record = MetadataRecord::decode(&bytes).expect("a metadata record");
        image.apply(&record).unwrap_or_else(|e| panic!("record at {offset} does not apply: {e}"));
    }
    image
}

/// CreateTopics straight to the active controller, until it answers (the
/// broker must have registered first: until then INVALID_REPLICATION_FACTOR;
/// and the elected leader acts as the controller only once its LeaderChange
/// record is committed: until then NOT_CONTROLLER).
async fn create_topic(addr: SocketAddr, name: &str) {
    let request =
        CreateTopicsRequest::default().with_timeout_ms(10_000).with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(name.to_string())))
            .with_num_partitions(1)
            .with_replication_factor(1)]);
    let no_broker_yet = ResponseError::InvalidReplicationFactor.code();
    let not_active_yet = ResponseError::NotController.code();
    cluster::eventually(&format!("CreateTopics {name}"), async || {
        let mut connection = Connection::connect(&addr.to_string(), Duration::from_secs(5)).await.ok()?;
        let answer = connection.send(&request).await.ok()?;
        let code = answer.topics[0].error_code;
        assert!(code == 0 || code == no_broker_yet || code == not_active_yet, "{answer:?}");
        if code != 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (code == 0).then_some(())
    })
    .await;
}
