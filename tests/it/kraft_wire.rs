//! Chapter 7's quorum against bad input on the CONTROLLER listener (issue 14
//! §4): requests a misconfigured, stale or hostile peer could send a running
//! 3-controller quorum get the error Kafka's `KafkaRaftClient` gives them —
//! or, for what the listener does not speak, a clean close — and none of
//! them moves the quorum's epoch, unseats its leader, or panics a controller.
//!
//! | request | answer |
//! |---|---|
//! | Vote from a node outside `controller.quorum.voters` | INCONSISTENT_VOTER_SET, not granted, epoch unchanged |
//! | Vote whose `VoterId` names another voter | INVALID_VOTER_KEY |
//! | (pre-)Vote, BeginQuorumEpoch, EndQuorumEpoch of a stale epoch | FENCED_LEADER_EPOCH with the current epoch and leader |
//! | Fetch from a voter in a future epoch | UNKNOWN_LEADER_EPOCH |
//! | Fetch to a follower | NOT_LEADER_OR_FOLLOWER, naming the leader |
//! | Fetch (a voter's or an observer's) from another cluster | INCONSISTENT_CLUSTER_ID |
//! | DescribeQuorum of another topic | UNKNOWN_TOPIC_OR_PARTITION |
//! | FetchSnapshot (api 59) for a snapshot id the leader does not hold | SNAPSHOT_NOT_FOUND (Kafka's "unknown snapshot id", code 98) |
//! | FetchSnapshot to a follower | NOT_LEADER_OR_FOLLOWER, naming the leader |
//! | FetchSnapshot from a negative position | INVALID_REQUEST (partition level) |
//! | an unknown api key, garbage bytes, a truncated Vote | connection closed |
//!
//! One cluster (3 controllers, 1 broker) serves every check in turn, then
//! must still have the same leader in the same epoch and create a topic.
//!
//! ```text
//! cargo build && cargo test --test it kraft_wire:: -- --nocapture
//! ```

use crate::common::cluster;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use cluster::quorum::{self, Leader};
use cluster::KafkaCluster;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_snapshot_request::{PartitionSnapshot, SnapshotId, TopicSnapshot};
use kafka_protocol::messages::{
    begin_quorum_epoch_request, describe_quorum_request, end_quorum_epoch_request, fetch_request,
    vote_request, ApiKey, BeginQuorumEpochRequest, BrokerId, CreateTopicsRequest, DescribeQuorumRequest,
    EndQuorumEpochRequest, FetchRequest, FetchSnapshotRequest, RequestHeader, TopicName, VoteRequest,
};
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};
use kafka_protocol::ResponseError;
use spool::client::Connection;
use spool::raft::wire::{METADATA_TOPIC, METADATA_TOPIC_ID};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Short quorum timeouts, as the fault tests use.
const EXTRA: &str = "controller.quorum.fetch.timeout.ms=2000\ncontroller.quorum.election.timeout.ms=1000\n";

/// The cluster id `KafkaCluster` formats every node with.
const CLUSTER_ID: &str = "c2Nyb2xsLXRlc3QtY2x1cw";

/// A node id outside the voter set.
const STRANGER: i32 = 99;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Every check of the module's table against one running quorum, then the
/// quorum is still led by the same controller in the same epoch, serves
/// CreateTopics, and no controller panicked.
#[test]
fn bad_input_is_refused_and_the_quorum_carries_on() {
    let mut cluster = KafkaCluster::start_quorum(3, 1, EXTRA);
    let controllers: Vec<(i32, SocketAddr)> =
        cluster.controller_ids().map(|id| (id, cluster.controller(id).addr(0))).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (leader, _) =
            quorum::wait_for_leader(&controllers, "at start", Duration::from_secs(30), |_| true).await;
        let addr_of = |id: i32| controllers.iter().find(|(c, _)| *c == id).expect("a controller").1;
        let follower = controllers.iter().map(|(id, _)| *id).find(|&id| id != leader.id).expect("a follower");
        let at =
            Peers { leader, leader_addr: addr_of(leader.id), follower, follower_addr: addr_of(follower) };
        eprintln!("leader {} in epoch {}, follower {follower}", leader.id, leader.epoch);

        a_vote_from_a_non_voter_is_refused(&at).await;
        a_vote_meant_for_another_voter_is_refused(&at).await;
        a_stale_vote_is_fenced(&at).await;
        stale_leader_announcements_are_fenced(&at).await;
        a_fetch_from_the_future_is_refused(&at).await;
        a_fetch_to_a_follower_names_the_leader(&at).await;
        a_fetch_from_another_cluster_is_refused(&at).await;
        describe_quorum_of_another_topic_is_unknown(&at).await;
        fetch_snapshot_of_an_unknown_snapshot_is_refused(&at).await;
        garbage_closes_the_connection(&at).await;

        let now = quorum::leader(&controllers).await;
        assert_eq!(now, Some(leader), "bad input moved the quorum's leader or epoch");
        the_active_controller_still_creates_topics(at.leader_addr).await;
    });
    for id in cluster.controller_ids().collect::<Vec<_>>() {
        let stderr = cluster.controller(id).stderr();
        assert!(!stderr.contains("panicked"), "controller {id} panicked:\n{stderr}");
        assert!(cluster.controller(id).is_running(), "controller {id} exited:\n{stderr}");
    }
}

/// The quorum as the checks see it.
struct Peers {
    leader: Leader,
    leader_addr: SocketAddr,
    follower: i32,
    follower_addr: SocketAddr,
}

async fn connect(addr: SocketAddr) -> Connection {
    Connection::connect(&addr.to_string(), TIMEOUT).await.expect("connect to a controller")
}

fn metadata_topic() -> TopicName {
    TopicName(StrBytes::from_static_str(METADATA_TOPIC))
}

fn cluster_id() -> Option<StrBytes> {
    Some(StrBytes::from_static_str(CLUSTER_ID))
}

/// A Vote v2 from `candidate` to `voter` for `epoch` (the candidate's epoch,
/// or its current one for a pre-vote), its log ending at `last_epoch`.
fn vote(voter: i32, candidate: i32, epoch: i32, last_epoch: i32, pre_vote: bool) -> VoteRequest {
    let partition = vote_request::PartitionData::default()
        .with_partition_index(0)
        .with_replica_epoch(epoch)
        .with_replica_id(BrokerId(candidate))
        .with_last_offset_epoch(last_epoch)
        .with_last_offset(1_000_000)
        .with_pre_vote(pre_vote);
    VoteRequest::default().with_cluster_id(cluster_id()).with_voter_id(BrokerId(voter)).with_topics(vec![
        vote_request::TopicData::default().with_topic_name(metadata_topic()).with_partitions(vec![partition]),
    ])
}

/// A voter's Fetch v17 of `__cluster_metadata-0` from offset 0.
fn fetch(replica: i32, epoch: i32, cluster: Option<StrBytes>) -> FetchRequest {
    let partition = fetch_request::FetchPartition::default()
        .with_partition(0)
        .with_current_leader_epoch(epoch)
        .with_fetch_offset(0)
        .with_last_fetched_epoch(0)
        .with_partition_max_bytes(1 << 20);
    FetchRequest::default()
        .with_cluster_id(cluster)
        .with_replica_state(fetch_request::ReplicaState::default().with_replica_id(BrokerId(replica)))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic_id(METADATA_TOPIC_ID)
            .with_partitions(vec![partition])])
}

/// A node outside `controller.quorum.voters` asks for votes in a much later
/// epoch: refused as INCONSISTENT_VOTER_SET by the leader and a follower
/// alike, and neither moves to that epoch (Kafka would go unattached in it;
/// spool checks the sender first, so a stranger cannot disrupt the quorum).
async fn a_vote_from_a_non_voter_is_refused(at: &Peers) {
    for (id, addr) in [(at.leader.id, at.leader_addr), (at.follower, at.follower_addr)] {
        let request = vote(id, STRANGER, at.leader.epoch + 5, at.leader.epoch, false);
        let answer = connect(addr).await.send_at(&request, 2, TIMEOUT).await.expect("Vote");
        assert_eq!(answer.error_code, 0, "{answer:?}");
        let p = &answer.topics[0].partitions[0];
        assert_eq!(p.error_code, ResponseError::InconsistentVoterSet.code(), "to {id}: {answer:?}");
        assert!(!p.vote_granted, "a non-voter got a vote: {answer:?}");
        assert_eq!((p.leader_id.0, p.leader_epoch), (at.leader.id, at.leader.epoch), "{answer:?}");
    }
}

/// A Vote whose `VoterId` names another voter (KIP-853) was meant for someone
/// else: INVALID_VOTER_KEY, and no vote.
async fn a_vote_meant_for_another_voter_is_refused(at: &Peers) {
    let request = vote(at.leader.id, at.leader.id, at.leader.epoch, at.leader.epoch - 1, false);
    let answer = connect(at.follower_addr).await.send_at(&request, 2, TIMEOUT).await.expect("Vote");
    let p = &answer.topics[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::InvalidVoterKey.code(), "{answer:?}");
    assert!(!p.vote_granted, "{answer:?}");
}

/// A pre-vote from a voter that is an epoch behind (it would stand in the
/// epoch the quorum is already in): FENCED_LEADER_EPOCH, with the current
/// epoch and leader so that it catches up (Kafka's `validateVoterOnlyRequest`).
async fn a_stale_vote_is_fenced(at: &Peers) {
    let stale = at.leader.epoch - 1;
    let request = vote(at.follower, at.leader.id, stale, 0, true);
    let answer = connect(at.follower_addr).await.send_at(&request, 2, TIMEOUT).await.expect("Vote");
    let p = &answer.topics[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::FencedLeaderEpoch.code(), "{answer:?}");
    assert!(!p.vote_granted, "{answer:?}");
    assert_eq!((p.leader_id.0, p.leader_epoch), (at.leader.id, at.leader.epoch), "{answer:?}");
}

/// BeginQuorumEpoch and EndQuorumEpoch from a leader of an older epoch (one
/// woken from a long pause): FENCED_LEADER_EPOCH with the current epoch and
/// leader, as Kafka answers them — not a plain acknowledgement, which would
/// tell the stale leader nothing — and the follower keeps its leader.
async fn stale_leader_announcements_are_fenced(at: &Peers) {
    let stale = at.leader.epoch - 1;
    let begin = BeginQuorumEpochRequest::default()
        .with_cluster_id(cluster_id())
        .with_voter_id(BrokerId(at.follower))
        .with_topics(vec![begin_quorum_epoch_request::TopicData::default()
            .with_topic_name(metadata_topic())
            .with_partitions(vec![begin_quorum_epoch_request::PartitionData::default()
                .with_partition_index(0)
                .with_leader_id(BrokerId(at.leader.id))
                .with_leader_epoch(stale)])]);
    let answer = connect(at.follower_addr).await.send_at(&begin, 1, TIMEOUT).await.expect("BeginQuorumEpoch");
    let p = &answer.topics[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::FencedLeaderEpoch.code(), "BeginQuorumEpoch: {answer:?}");
    assert_eq!((p.leader_id.0, p.leader_epoch), (at.leader.id, at.leader.epoch), "{answer:?}");

    let end = EndQuorumEpochRequest::default().with_cluster_id(cluster_id()).with_topics(vec![
        end_quorum_epoch_request::TopicData::default().with_topic_name(metadata_topic()).with_partitions(
            vec![end_quorum_epoch_request::PartitionData::default()
                .with_partition_index(0)
                .with_leader_id(BrokerId(at.leader.id))
                .with_leader_epoch(stale)
                .with_preferred_candidates(vec![
                    end_quorum_epoch_request::ReplicaInfo::default().with_candidate_id(BrokerId(at.follower))
                ])],
        ),
    ]);
    let answer = connect(at.follower_addr).await.send_at(&end, 1, TIMEOUT).await.expect("EndQuorumEpoch");
    let p = &answer.topics[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::FencedLeaderEpoch.code(), "EndQuorumEpoch: {answer:?}");
    assert_eq!((p.leader_id.0, p.leader_epoch), (at.leader.id, at.leader.epoch), "{answer:?}");
}

/// A voter's Fetch in an epoch the leader has not reached: UNKNOWN_LEADER_EPOCH
/// (Kafka's `validateLeaderOnlyRequest`), and the leader stays in its epoch.
async fn a_fetch_from_the_future_is_refused(at: &Peers) {
    let request = fetch(at.follower, at.leader.epoch + 1, cluster_id());
    let answer = connect(at.leader_addr).await.send_at(&request, 17, TIMEOUT).await.expect("Fetch");
    assert_eq!(answer.error_code, 0, "{answer:?}");
    let p = &answer.responses[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::UnknownLeaderEpoch.code(), "{answer:?}");
}

/// A voter's Fetch sent to a follower: NOT_LEADER_OR_FOLLOWER, with the
/// leader and epoch the follower knows, so the fetcher can go there.
async fn a_fetch_to_a_follower_names_the_leader(at: &Peers) {
    let request = fetch(at.leader.id, at.leader.epoch, cluster_id());
    let answer = connect(at.follower_addr).await.send_at(&request, 17, TIMEOUT).await.expect("Fetch");
    let p = &answer.responses[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::NotLeaderOrFollower.code(), "{answer:?}");
    assert_eq!(
        (p.current_leader.leader_id.0, p.current_leader.leader_epoch),
        (at.leader.id, at.leader.epoch)
    );
}

/// A Fetch naming another cluster, from a voter id or an observer's (a
/// broker of another cluster pointed at these controllers):
/// INCONSISTENT_CLUSTER_ID at top level and no records — Kafka checks the
/// cluster id of every Fetch before anything else.
async fn a_fetch_from_another_cluster_is_refused(at: &Peers) {
    let other = Some(StrBytes::from_static_str("b3RoZXItY2x1c3Rlci1pZA"));
    for replica in [at.follower, STRANGER, -1] {
        let request = fetch(replica, at.leader.epoch, other.clone());
        let answer = connect(at.leader_addr).await.send_at(&request, 17, TIMEOUT).await.expect("Fetch");
        assert_eq!(
            answer.error_code,
            ResponseError::InconsistentClusterId.code(),
            "a Fetch from replica {replica} of another cluster: {answer:?}"
        );
        let records = answer.responses.iter().flat_map(|t| &t.partitions).filter_map(|p| p.records.as_ref());
        assert!(records.clone().all(|r| r.is_empty()), "records went to another cluster: {answer:?}");
    }
}

/// DescribeQuorum of a topic other than `__cluster_metadata`:
/// UNKNOWN_TOPIC_OR_PARTITION at partition level, as Kafka answers it.
async fn describe_quorum_of_another_topic_is_unknown(at: &Peers) {
    let request =
        DescribeQuorumRequest::default().with_topics(vec![describe_quorum_request::TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("not-the-metadata")))
            .with_partitions(vec![
                describe_quorum_request::PartitionData::default().with_partition_index(0)
            ])]);
    let answer = connect(at.leader_addr).await.send(&request).await.expect("DescribeQuorum");
    let p = &answer.topics[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::UnknownTopicOrPartition.code(), "{answer:?}");
}

/// FetchSnapshot for a snapshot that does not exist: the leader answers
/// SNAPSHOT_NOT_FOUND (`handleFetchSnapshotRequest`), a follower
/// NOT_LEADER_OR_FOLLOWER with the leader and epoch; the connection stays open.
async fn fetch_snapshot_of_an_unknown_snapshot_is_refused(at: &Peers) {
    let request = FetchSnapshotRequest::default()
        .with_cluster_id(cluster_id())
        .with_replica_id(BrokerId(at.follower))
        .with_max_bytes(1 << 20)
        .with_topics(vec![TopicSnapshot::default().with_name(metadata_topic()).with_partitions(vec![
            PartitionSnapshot::default()
                .with_partition(0)
                .with_current_leader_epoch(at.leader.epoch)
                .with_snapshot_id(SnapshotId::default().with_end_offset(12_345).with_epoch(at.leader.epoch)),
        ])]);
    let mut connection = connect(at.leader_addr).await;
    for version in [0, 1] {
        let answer =
            connection.send_at(&request, version, TIMEOUT).await.expect("an answer, not a closed connection");
        let p = &answer.topics[0].partitions[0];
        let codes = (answer.error_code, p.error_code);
        assert_eq!(codes, (0, ResponseError::SnapshotNotFound.code()), "v{version}: {answer:?}");
        assert_eq!(p.current_leader.leader_id.0, at.leader.id);
        assert!(p.unaligned_records.is_empty());
    }

    let mut negative = request.clone();
    negative.topics[0].partitions[0].position = -1;
    let answer = connection.send_at(&negative, 1, TIMEOUT).await.expect("an answer to a negative position");
    let p = &answer.topics[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::InvalidRequest.code(), "{answer:?}");

    let answer =
        connect(at.follower_addr).await.send_at(&request, 1, TIMEOUT).await.expect("a follower's answer");
    let p = &answer.topics[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::NotLeaderOrFollower.code(), "{answer:?}");
    assert_eq!(
        (p.current_leader.leader_id.0, p.current_leader.leader_epoch),
        (at.leader.id, at.leader.epoch)
    );
}

/// Bytes that are not a request the listener speaks: an unknown api key,
/// random bytes, a Vote cut short, a size prefix of ~2 GB. Each closes its
/// connection.
async fn garbage_closes_the_connection(at: &Peers) {
    let mut unknown = BytesMut::new();
    unknown.put_i32(10);
    unknown.put_i16(31_000);
    unknown.put_i16(0);
    unknown.put_i32(1);
    unknown.put_i16(-1);
    let vote = frame(ApiKey::Vote, 2, &vote(at.leader.id, at.follower, at.leader.epoch, 0, true));
    let mut cut = BytesMut::from(&vote[..]);
    cut.truncate(vote.len() - 6);
    let cut_len = (cut.len() - 4) as i32;
    cut[..4].copy_from_slice(&cut_len.to_be_bytes());
    let random: Vec<u8> = (0u32..64).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut sized_random = BytesMut::new();
    sized_random.put_i32(random.len() as i32);
    sized_random.put_slice(&random);
    for (what, bytes) in [
        ("an unknown api key", unknown.freeze()),
        ("a Vote cut short", cut.freeze()),
        ("random bytes in a frame", sized_random.freeze()),
        ("a ~2 GB size prefix", Bytes::from_static(&[0x7f, 0xff, 0xff, 0xf0, 1, 2, 3])),
        ("an HTTP request", Bytes::from_static(b"GET / HTTP/1.1\r\nHost: controller\r\n\r\n")),
    ] {
        for addr in [at.leader_addr, at.follower_addr] {
            eprintln!("sending {what} to {addr}");
            expect_closed(addr, &bytes).await;
        }
    }
}

/// CreateTopics straight to the active controller: the quorum commits and
/// answers (once the broker has registered and been unfenced: until then
/// the answer is INVALID_REPLICATION_FACTOR, and the test asks again).
async fn the_active_controller_still_creates_topics(addr: SocketAddr) {
    let request =
        CreateTopicsRequest::default().with_timeout_ms(10_000).with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("after-bad-input")))
            .with_num_partitions(1)
            .with_replication_factor(1)]);
    let no_broker_yet = ResponseError::InvalidReplicationFactor.code();
    cluster::eventually("CreateTopics on the active controller", async || {
        let answer = connect(addr).await.send(&request).await.expect("CreateTopics");
        let code = answer.topics[0].error_code;
        assert!(code == 0 || code == no_broker_yet, "{answer:?}");
        (code == 0).then_some(())
    })
    .await;
}

/// One request frame, size prefix included.
fn frame<R: Encodable + HeaderVersion>(api: ApiKey, version: i16, body: &R) -> Bytes {
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("kraft-wire-test")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf, R::header_version(version)).expect("encode header");
    body.encode(&mut buf, version).expect("encode body");
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

/// Writes `bytes` on a fresh connection to `addr` and waits for the
/// controller to close it without answering.
async fn expect_closed(addr: SocketAddr, bytes: &[u8]) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(TIMEOUT, stream.read(&mut buf)).await;
    match read {
        Err(_) => panic!("{addr} kept the connection open after {bytes:?}"),
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("{addr} answered {n} bytes instead of closing: {:?}", &buf[..n]),
    }
}
