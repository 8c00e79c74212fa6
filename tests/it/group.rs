//! Chapter 5's group coordinator over real TCP: the classic group protocol
//! (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed offsets in
//! `__consumer_offsets`, and the admin APIs, spoken by the raw client of
//! `tests/it/wire/`. Each member is its own connection, as in a real client,
//! because a parked JoinGroup holds its connection until the rebalance ends.
//!
//! ```text
//! cargo test --release --test it group::
//! ```
//!
//! The brokers here set `group.initial.rebalance.delay.ms=0` unless a test is
//! about that delay, so a lone member's first join completes at once.

use crate::wire::harness;
use crate::wire::requests;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteTopicsRequest, DescribeGroupsRequest, GroupId, HeartbeatRequest,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, ListGroupsRequest, OffsetCommitRequest,
    OffsetFetchRequest, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;
use spool::config::BrokerConfig;
use spool::group::{partition_for, GroupRecord, CONSUMER_OFFSETS_TOPIC};
use spool::log::manager::lock;
use spool::TopicPartition;

use harness::{code, name, start, Client, TestBroker};
use requests::{batch, create_topic, metadata, produce};

const JOIN_V: i16 = 9;
const SYNC_V: i16 = 5;
const HEARTBEAT_V: i16 = 4;
const LEAVE_V: i16 = 5;
const COMMIT_V: i16 = 8;
const FETCH_OFFSETS_V: i16 = 7;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn gid(v: &str) -> GroupId {
    GroupId(s(v))
}

/// No initial rebalance delay; short sessions allowed.
fn fast(config: &mut BrokerConfig) {
    config.group.initial_rebalance_delay_ms = 0;
    config.group.session_timeout_ms_min = 500;
}

fn join_request(group: &str, member_id: &str, instance: Option<&str>, metadata: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member_id))
        .with_group_instance_id(instance.map(s))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from(metadata.to_string()))])
}

/// JoinGroup v4+ as a new member: MEMBER_ID_REQUIRED with an id, then the
/// real join with it (KIP-394). Returns the id; the second join is in flight.
async fn join_new(client: &mut Client, group: &str, metadata: &str) -> (String, i32) {
    let first = client.request(JOIN_V, &join_request(group, "", None, metadata)).await;
    assert_eq!(first.error_code, code(ResponseError::MemberIdRequired));
    let member_id = first.member_id.to_string();
    assert!(member_id.starts_with("wire-test-"), "member ids are <client_id>-<uuid>: {member_id}");
    let correlation = client.send(JOIN_V, &join_request(group, &member_id, None, metadata)).await;
    (member_id, correlation)
}

async fn join_answer(client: &mut Client, correlation: i32) -> JoinGroupResponse {
    let response = client.receive::<JoinGroupRequest>(JOIN_V, correlation).await;
    assert_eq!(response.error_code, 0, "join: {response:?}");
    response
}

fn sync_request(
    group: &str,
    generation: i32,
    member_id: &str,
    assignments: &[(&str, &str)],
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member_id))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::from(a.to_string()))
                })
                .collect(),
        )
}

async fn heartbeat(client: &mut Client, group: &str, generation: i32, member_id: &str) -> i16 {
    let request = HeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member_id));
    client.request(HEARTBEAT_V, &request).await.error_code
}

fn commit_request(
    group: &str,
    generation: i32,
    member_id: &str,
    topic: &str,
    offsets: &[(i32, i64)],
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member_id))
        .with_topics(vec![OffsetCommitRequestTopic::default().with_name(name(topic)).with_partitions(
            offsets
                .iter()
                .map(|&(p, o)| {
                    OffsetCommitRequestPartition::default()
                        .with_partition_index(p)
                        .with_committed_offset(o)
                        .with_committed_leader_epoch(0)
                        .with_committed_metadata(Some(s("m")))
                })
                .collect(),
        )])
}

/// Commits; returns each partition's error code.
async fn commit(
    client: &mut Client,
    group: &str,
    generation: i32,
    member_id: &str,
    topic: &str,
    offsets: &[(i32, i64)],
) -> Vec<i16> {
    let response =
        client.request(COMMIT_V, &commit_request(group, generation, member_id, topic, offsets)).await;
    response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect()
}

/// Committed offsets of `partitions` of `topic` (v7, the one-group form).
async fn fetch_offsets(client: &mut Client, group: &str, topic: &str, partitions: &[i32]) -> Vec<i64> {
    let request = OffsetFetchRequest::default().with_group_id(gid(group)).with_topics(Some(vec![
        OffsetFetchRequestTopic::default().with_name(name(topic)).with_partition_indexes(partitions.to_vec()),
    ]));
    let response = client.request(FETCH_OFFSETS_V, &request).await;
    assert_eq!(response.error_code, 0);
    response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.committed_offset)).collect()
}

/// Two members form generation 2 (A alone is generation 1), leader A, and
/// each gets its own part of A's assignment. Returns (A, B, generation).
async fn two_members(
    broker: &TestBroker,
    group: &str,
    a: &mut Client,
    b: &mut Client,
) -> (String, String, i32) {
    let (a_id, a_join) = join_new(a, group, "sub-a").await;
    let a_joined = join_answer(a, a_join).await;
    assert_eq!((a_joined.generation_id, a_joined.leader.as_str()), (1, a_id.as_str()));
    let synced = a.request(SYNC_V, &sync_request(group, 1, &a_id, &[(&a_id, "all")])).await;
    assert_eq!((synced.error_code, &synced.assignment[..]), (0, &b"all"[..]));
    assert_eq!(heartbeat(a, group, 1, &a_id).await, 0);

    // B joins: the group rebalances, A learns it from its heartbeat.
    let (b_id, b_join) = join_new(b, group, "sub-b").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while heartbeat(a, group, 1, &a_id).await != code(ResponseError::RebalanceInProgress) {
        assert!(Instant::now() < deadline, "A never heard of the rebalance");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a_join = a.send(JOIN_V, &join_request(group, &a_id, None, "sub-a")).await;
    let (a_joined, b_joined) = (join_answer(a, a_join).await, join_answer(b, b_join).await);
    assert_eq!(a_joined.generation_id, 2);
    assert_eq!(b_joined.generation_id, 2);
    assert_eq!(a_joined.leader, b_joined.leader);
    assert_eq!(a_joined.leader.as_str(), a_id, "the leader stays the one that was");
    let mut seen: Vec<(String, String)> = a_joined
        .members
        .iter()
        .map(|m| (m.member_id.to_string(), String::from_utf8(m.metadata.to_vec()).unwrap()))
        .collect();
    seen.sort();
    let mut expected = vec![(a_id.clone(), "sub-a".to_string()), (b_id.clone(), "sub-b".to_string())];
    expected.sort();
    assert_eq!(seen, expected, "the leader sees every member's metadata");
    assert!(b_joined.members.is_empty(), "followers get no member list");

    // B's SyncGroup waits for the leader's.
    let b_sync = b.send(SYNC_V, &sync_request(group, 2, &b_id, &[])).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let assignments = [(a_id.as_str(), "p0,p1"), (b_id.as_str(), "p2,p3")];
    let a_synced: SyncGroupResponse = a.request(SYNC_V, &sync_request(group, 2, &a_id, &assignments)).await;
    let b_synced = b.receive::<SyncGroupRequest>(SYNC_V, b_sync).await;
    assert_eq!((a_synced.error_code, &a_synced.assignment[..]), (0, &b"p0,p1"[..]));
    assert_eq!((b_synced.error_code, &b_synced.assignment[..]), (0, &b"p2,p3"[..]));
    assert_eq!(b_synced.protocol_name.as_deref(), Some("range"));
    let _ = broker;
    (a_id, b_id, 2)
}

/// The classic protocol end to end: KIP-394 member ids, a rebalance when a
/// second member joins (the first hears REBALANCE_IN_PROGRESS on its
/// heartbeat and rejoins), a follower's SyncGroup parked until the leader's
/// assignment, and heartbeats of the new generation accepted.
#[tokio::test]
async fn two_members_join_sync_and_heartbeat() {
    let broker = start(fast).await;
    let (mut a, mut b) = (broker.client().await, broker.client().await);
    let (a_id, b_id, generation) = two_members(&broker, "g-two", &mut a, &mut b).await;
    assert_eq!(heartbeat(&mut a, "g-two", generation, &a_id).await, 0);
    assert_eq!(heartbeat(&mut b, "g-two", generation, &b_id).await, 0);
    assert_eq!(heartbeat(&mut b, "g-two", generation, "nobody").await, code(ResponseError::UnknownMemberId));
}

/// Only the current generation's members may commit (Kafka's
/// `validateOffsetCommit`): a commit from generation 1 after generation 2
/// formed is ILLEGAL_GENERATION, from an unknown member UNKNOWN_MEMBER_ID,
/// and the current generation's commit is stored.
#[tokio::test]
async fn a_stale_generation_cannot_commit() {
    let broker = start(fast).await;
    let mut admin = broker.client().await;
    create_topic(&mut admin, "orders", 4, &[]).await;
    let (mut a, mut b) = (broker.client().await, broker.client().await);
    let (a_id, b_id, generation) = two_members(&broker, "g-stale", &mut a, &mut b).await;
    let stale = commit(&mut a, "g-stale", generation - 1, &a_id, "orders", &[(0, 5)]).await;
    assert_eq!(stale, vec![code(ResponseError::IllegalGeneration)]);
    let unknown = commit(&mut a, "g-stale", generation, "nobody", "orders", &[(0, 5)]).await;
    assert_eq!(unknown, vec![code(ResponseError::UnknownMemberId)]);
    assert_eq!(commit(&mut b, "g-stale", generation, &b_id, "orders", &[(2, 7), (3, 9)]).await, vec![0, 0]);
    assert_eq!(fetch_offsets(&mut admin, "g-stale", "orders", &[0, 2, 3]).await, vec![-1, 7, 9]);
    // A partition that does not exist is refused before the group is asked.
    let missing = commit(&mut b, "g-stale", generation, &b_id, "orders", &[(99, 1)]).await;
    assert_eq!(missing, vec![code(ResponseError::UnknownTopicOrPartition)]);
}

/// Committed offsets are records of `__consumer_offsets`, read back by
/// `GroupCoordinator::load` when the broker restarts on the same directory:
/// OffsetFetch answers the same before and after, in the one-group (v1–v7)
/// and the multi-group (v8) forms, and the group comes back Empty.
#[tokio::test]
async fn offsets_survive_a_restart() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "events", 3, &[]).await;
    // Generation -1, no member id: a consumer that assigns itself partitions.
    assert_eq!(commit(&mut client, "g-keep", -1, "", "events", &[(0, 10), (1, 20)]).await, vec![0, 0]);
    assert_eq!(commit(&mut client, "g-keep", -1, "", "events", &[(1, 21)]).await, vec![0]);
    assert_eq!(commit(&mut client, "g-other", -1, "", "events", &[(2, 3)]).await, vec![0]);
    let addr = broker.addr;
    let dir = broker.stop().await;

    let broker = harness::start_on(addr, dir, fast).await;
    let mut client = broker.client().await;
    assert_eq!(fetch_offsets(&mut client, "g-keep", "events", &[0, 1, 2]).await, vec![10, 21, -1]);
    // v8: two groups in one request, one with every committed partition (null topics).
    let request = OffsetFetchRequest::default().with_groups(vec![
        OffsetFetchRequestGroup::default().with_group_id(gid("g-keep")).with_topics(None),
        OffsetFetchRequestGroup::default().with_group_id(gid("g-other")).with_topics(Some(vec![
            OffsetFetchRequestTopics::default().with_name(name("events")).with_partition_indexes(vec![2, 0]),
        ])),
    ]);
    let response = client.request(8, &request).await;
    type Fetched = Vec<(String, Vec<(i32, i64, i32)>)>;
    let got: Fetched = response
        .groups
        .iter()
        .map(|g| {
            assert_eq!(g.error_code, 0);
            let partitions = g
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| (p.partition_index, p.committed_offset, p.committed_leader_epoch))
                })
                .collect();
            (g.group_id.0.to_string(), partitions)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("g-keep".to_string(), vec![(0, 10, 0), (1, 21, 0)]),
            ("g-other".to_string(), vec![(2, 3, 0), (0, -1, -1)]),
        ]
    );
    let listed = client.request(4, &ListGroupsRequest::default()).await;
    let mut states: Vec<(String, String)> =
        listed.groups.iter().map(|g| (g.group_id.0.to_string(), g.group_state.to_string())).collect();
    states.sort();
    assert_eq!(states, vec![("g-keep".into(), "Empty".into()), ("g-other".into(), "Empty".into())]);
}

/// Deleting a topic deletes its committed offsets from every group (Kafka's
/// GroupCoordinator.handleDeletedPartitions), as tombstones: OffsetFetch on
/// the recreated topic answers -1, so the group starts from
/// auto.offset.reset instead of skipping the new topic's first records, and
/// a restart does not bring the old offsets back. Another topic's offsets
/// stay (review finding B2).
#[tokio::test]
async fn deleting_a_topic_deletes_its_offsets() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "td", 1, &[]).await;
    create_topic(&mut client, "kept", 1, &[]).await;
    assert_eq!(commit(&mut client, "g-td", -1, "", "td", &[(0, 3)]).await, vec![0]);
    assert_eq!(commit(&mut client, "g-two", -1, "", "td", &[(0, 5)]).await, vec![0]);
    assert_eq!(commit(&mut client, "g-two", -1, "", "kept", &[(0, 8)]).await, vec![0]);

    let delete = DeleteTopicsRequest::default().with_topic_names(vec![name("td")]).with_timeout_ms(5_000);
    assert_eq!(client.request(4, &delete).await.responses[0].error_code, 0);
    create_topic(&mut client, "td", 1, &[]).await;
    assert_eq!(fetch_offsets(&mut client, "g-td", "td", &[0]).await, vec![-1]);
    assert_eq!(fetch_offsets(&mut client, "g-two", "td", &[0]).await, vec![-1]);
    assert_eq!(fetch_offsets(&mut client, "g-two", "kept", &[0]).await, vec![8]);

    let addr = broker.addr;
    let broker = harness::start_on(addr, broker.stop().await, fast).await;
    let mut client = broker.client().await;
    assert_eq!(fetch_offsets(&mut client, "g-td", "td", &[0]).await, vec![-1]);
    assert_eq!(fetch_offsets(&mut client, "g-two", "td", &[0]).await, vec![-1]);
    assert_eq!(fetch_offsets(&mut client, "g-two", "kept", &[0]).await, vec![8]);
    // g-td had nothing else: it went with its last offset.
    let listed = client.request(4, &ListGroupsRequest::default()).await;
    let groups: Vec<String> = listed.groups.iter().map(|g| g.group_id.0.to_string()).collect();
    assert_eq!(groups, ["g-two"]);
}

/// DeleteGroups (KIP-229): a group with members is NON_EMPTY_GROUP; once its
/// last member leaves it goes with its offsets, written as tombstones so a
/// restart does not bring it back; a second delete is GROUP_ID_NOT_FOUND.
#[tokio::test]
async fn delete_groups_removes_an_empty_group_for_good() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let (member, join) = join_new(&mut client, "g-del", "sub").await;
    let joined = join_answer(&mut client, join).await;
    let synced = client
        .request(SYNC_V, &sync_request("g-del", joined.generation_id, &member, &[(&member, "x")]))
        .await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(commit(&mut client, "g-del", joined.generation_id, &member, "t", &[(0, 4)]).await, vec![0]);

    let delete = DeleteGroupsRequest::default().with_groups_names(vec![gid("g-del")]);
    let refused = client.request(2, &delete).await;
    assert_eq!(refused.results[0].error_code, code(ResponseError::NonEmptyGroup));

    let leave = LeaveGroupRequest::default()
        .with_group_id(gid("g-del"))
        .with_members(vec![MemberIdentity::default().with_member_id(s(&member))]);
    let left = client.request(LEAVE_V, &leave).await;
    assert_eq!((left.error_code, left.members.len(), left.members[0].error_code), (0, 1, 0));

    let deleted = client.request(2, &delete).await;
    assert_eq!(deleted.results[0].error_code, 0);
    let again = client.request(2, &delete).await;
    assert_eq!(again.results[0].error_code, code(ResponseError::GroupIdNotFound));
    assert_eq!(fetch_offsets(&mut client, "g-del", "t", &[0]).await, vec![-1]);

    let addr = broker.addr;
    let broker = harness::start_on(addr, broker.stop().await, fast).await;
    let mut client = broker.client().await;
    assert_eq!(fetch_offsets(&mut client, "g-del", "t", &[0]).await, vec![-1]);
    let listed = client.request(4, &ListGroupsRequest::default()).await;
    assert!(listed.groups.is_empty(), "{:?}", listed.groups);
}

/// ListGroups (with v4's state filter) and DescribeGroups: a Stable group
/// shows its protocol, and each member's client id, host, metadata and
/// assignment; an unknown group is Dead with no error, as Kafka 3.x answers.
#[tokio::test]
async fn list_and_describe_groups() {
    let broker = start(fast).await;
    let (mut a, mut b) = (broker.client().await, broker.client().await);
    let (a_id, b_id, _) = two_members(&broker, "g-desc", &mut a, &mut b).await;
    let mut admin = broker.client().await;
    assert_eq!(
        commit(&mut admin, "g-offsets-only", -1, "", "absent", &[(0, 1)]).await,
        vec![code(ResponseError::UnknownTopicOrPartition)]
    );
    create_topic(&mut admin, "present", 1, &[]).await;
    assert_eq!(commit(&mut admin, "g-offsets-only", -1, "", "present", &[(0, 1)]).await, vec![0]);

    let all = admin.request(4, &ListGroupsRequest::default()).await;
    let mut listed: Vec<(String, String, String)> = all
        .groups
        .iter()
        .map(|g| (g.group_id.0.to_string(), g.protocol_type.to_string(), g.group_state.to_string()))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("g-desc".into(), "consumer".into(), "Stable".into()),
            ("g-offsets-only".into(), "".into(), "Empty".into()),
        ]
    );
    let stable = admin.request(4, &ListGroupsRequest::default().with_states_filter(vec![s("stable")])).await;
    assert_eq!(stable.groups.len(), 1);
    assert_eq!(stable.groups[0].group_id.0.as_str(), "g-desc");
    let v0 = admin.request(0, &ListGroupsRequest::default()).await;
    assert_eq!(v0.groups.len(), 2);

    let described = admin
        .request(5, &DescribeGroupsRequest::default().with_groups(vec![gid("g-desc"), gid("nope")]))
        .await;
    let g = &described.groups[0];
    assert_eq!(
        (g.error_code, g.group_state.as_str(), g.protocol_type.as_str(), g.protocol_data.as_str()),
        (0, "Stable", "consumer", "range")
    );
    type Member = (String, String, String, Vec<u8>, Vec<u8>);
    let mut members: Vec<Member> = g
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                m.client_id.to_string(),
                m.client_host.to_string(),
                m.member_metadata.to_vec(),
                m.member_assignment.to_vec(),
            )
        })
        .collect();
    members.sort();
    let mut expected = vec![
        (a_id, "wire-test".to_string(), "/127.0.0.1".to_string(), b"sub-a".to_vec(), b"p0,p1".to_vec()),
        (b_id, "wire-test".to_string(), "/127.0.0.1".to_string(), b"sub-b".to_vec(), b"p2,p3".to_vec()),
    ];
    expected.sort();
    assert_eq!(members, expected);
    let unknown = &described.groups[1];
    assert_eq!((unknown.error_code, unknown.group_state.as_str(), unknown.members.len()), (0, "Dead", 0));
}

/// FindCoordinator for a group creates `__consumer_offsets` the first time:
/// `offsets.topic.num.partitions` partitions, compacted, internal in
/// Metadata; clients cannot produce to it; key type 1 (transactions) and
/// FindCoordinator v4's batch keep answering with this broker.
#[tokio::test]
async fn find_coordinator_creates_the_internal_offsets_topic() {
    let broker = start(|c| {
        fast(c);
        c.offsets_topic_num_partitions = 5;
    })
    .await;
    let mut client = broker.client().await;
    let before = metadata(&mut client, None, false).await;
    assert!(before.iter().all(|t| t.name.as_ref().unwrap().as_str() != CONSUMER_OFFSETS_TOPIC));

    let found = client.request(3, &FindCoordinatorRequest::default().with_key(s("g")).with_key_type(0)).await;
    assert_eq!((found.error_code, found.node_id.0, found.port), (0, 1, i32::from(broker.addr.port())));
    let v4 = client
        .request(
            4,
            &FindCoordinatorRequest::default().with_key_type(0).with_coordinator_keys(vec![s("a"), s("b")]),
        )
        .await;
    assert_eq!(v4.coordinators.len(), 2);
    assert!(v4.coordinators.iter().all(|c| c.error_code == 0 && c.node_id.0 == 1));
    let txn = client.request(3, &FindCoordinatorRequest::default().with_key(s("tx")).with_key_type(1)).await;
    assert_eq!(txn.error_code, 0);

    let topics = metadata(&mut client, Some(&[CONSUMER_OFFSETS_TOPIC]), false).await;
    assert_eq!(topics[0].error_code, 0);
    assert!(topics[0].is_internal);
    assert_eq!(topics[0].partitions.len(), 5);
    let image = broker.broker().metadata_image().topic(CONSUMER_OFFSETS_TOPIC).cloned().unwrap();
    assert_eq!(image.configs.get("cleanup.policy").map(String::as_str), Some("compact"));
    // Compact only: retention by age or size never deletes the groups' log
    // (only `delete` in cleanup.policy does, chapter 1's retention).
    let partition = broker.broker().partition(&TopicPartition::new(CONSUMER_OFFSETS_TOPIC, 0)).unwrap();
    assert!(!lock(&partition.log).config().cleanup_delete);

    let produced = produce(&mut client, CONSUMER_OFFSETS_TOPIC, 0, batch(now_ms(), &["forged"]), 1).await;
    assert_eq!(produced.error_code, code(ResponseError::InvalidTopicException));
}

/// The log holds Kafka's records: the group's `__consumer_offsets` partition
/// (`partition_for`) decodes with `GroupRecord::decode` into the commit and
/// the generation (GroupMetadata) the coordinator wrote, and
/// `spool dump-log` reads its segment without an error.
#[tokio::test]
async fn consumer_offsets_records_decode() {
    let broker = start(|c| {
        fast(c);
        c.offsets_topic_num_partitions = 4;
    })
    .await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 2, &[]).await;
    let (member, join) = join_new(&mut client, "g-log", "sub").await;
    let joined = join_answer(&mut client, join).await;
    let synced = client
        .request(SYNC_V, &sync_request("g-log", joined.generation_id, &member, &[(&member, "both")]))
        .await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(commit(&mut client, "g-log", joined.generation_id, &member, "t", &[(1, 42)]).await, vec![0]);

    let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition_for("g-log", 4));
    let partition = broker.broker().partition(&tp).expect("the group's partition");
    let batches = lock(&partition.log).read_batches(0).unwrap();
    let mut records = Vec::new();
    for b in &batches {
        for r in b.records().unwrap() {
            let r = r.unwrap();
            records.push(GroupRecord::decode(&r.key.unwrap(), r.value.as_deref()).unwrap());
        }
    }
    let generation = records.iter().find_map(|r| match r {
        GroupRecord::Group { value: Some(v), .. } if v.generation == 1 => Some(v.clone()),
        _ => None,
    });
    let generation = generation.expect("generation 1 stored");
    assert_eq!(
        (generation.protocol.as_deref(), generation.leader.as_deref()),
        (Some("range"), Some(member.as_str()))
    );
    assert_eq!(generation.members.len(), 1);
    assert_eq!(generation.members[0].assignment, b"both");
    let offset = records.iter().find_map(|r| match r {
        GroupRecord::Offset { partition, value: Some(v), .. } if partition.topic == "t" => {
            Some((partition.partition, v.offset, v.metadata.clone()))
        }
        _ => None,
    });
    assert_eq!(offset, Some((1, 42, "m".to_string())));

    let dir = broker.broker().config.log_dir.join(format!("{CONSUMER_OFFSETS_TOPIC}-{}", tp.partition));
    let segment = dir.join("00000000000000000000.log");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["dump-log", "--files", segment.to_str().unwrap(), "--deep-iteration"])
        .output()
        .expect("run spool dump-log");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("| offset:").count(), records.len(), "{text}");
}

/// The timer: a member that stops heartbeating is removed after its
/// `session.timeout.ms` with nobody else sending anything, and its next
/// heartbeat is UNKNOWN_MEMBER_ID (rejoin).
#[tokio::test]
async fn a_silent_member_expires_after_its_session() {
    const SESSION_MS: i32 = 2_000;
    let broker = start(fast).await;
    let mut client = broker.client().await;
    // Create __consumer_offsets first: its 50 partitions take a moment on a busy disk.
    let found = client.request(3, &FindCoordinatorRequest::default().with_key(s("g-exp"))).await;
    assert_eq!(found.error_code, 0);
    let join = |member: &str| join_request("g-exp", member, None, "x").with_session_timeout_ms(SESSION_MS);
    let member = client.request(JOIN_V, &join("")).await.member_id.to_string();
    let joined = client.request(JOIN_V, &join(&member)).await;
    assert_eq!(joined.error_code, 0);
    let synced = client.request(SYNC_V, &sync_request("g-exp", 1, &member, &[(&member, "x")])).await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(heartbeat(&mut client, "g-exp", 1, &member).await, 0);
    let silent_since = Instant::now();
    let describe = DescribeGroupsRequest::default().with_groups(vec![gid("g-exp")]);
    while client.request(5, &describe).await.groups[0].group_state.as_str() != "Empty" {
        assert!(silent_since.elapsed() < Duration::from_secs(15), "the member never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expired_after = silent_since.elapsed();
    assert!(expired_after >= Duration::from_millis(SESSION_MS as u64 / 2), "expired after {expired_after:?}");
    assert_eq!(heartbeat(&mut client, "g-exp", 1, &member).await, code(ResponseError::UnknownMemberId));
}

/// A JoinGroup parked in a rebalance does not hold up shutdown: the broker
/// stops well inside the server's 5 s drain and closes the parked connection.
#[tokio::test]
async fn shutdown_does_not_wait_for_parked_joins() {
    let broker = start(fast).await;
    let (mut a, mut b) = (broker.client().await, broker.client().await);
    let (a_id, a_join) = join_new(&mut a, "g-stop", "x").await;
    let joined = join_answer(&mut a, a_join).await;
    let synced =
        a.request(SYNC_V, &sync_request("g-stop", joined.generation_id, &a_id, &[(&a_id, "x")])).await;
    assert_eq!(synced.error_code, 0);
    // B's join waits for A to rejoin, which A never does (rebalance timeout 10 s).
    let (_, _parked) = join_new(&mut b, "g-stop", "x").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let _dir = broker.stop().await;
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
    b.expect_closed().await;
}

/// Every version spool lists for the group APIs round-trips a whole life
/// cycle: join (KIP-394 from v4), sync, heartbeat, commit, fetch, list,
/// describe, leave, delete; each response decodes at its version with no
/// bytes left over (the harness checks).
#[tokio::test]
async fn every_listed_version_works() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "v", 1, &[]).await;
    for v in 0..=9i16 {
        let group = format!("g-v{v}");
        let mut join = join_request(&group, "", None, "m");
        if v >= 5 {
            join = join.with_group_instance_id(None);
        }
        let mut joined = client.request(v, &join).await;
        if v >= 4 {
            assert_eq!(joined.error_code, code(ResponseError::MemberIdRequired), "v{v}");
            let member = joined.member_id.to_string();
            joined = client.request(v, &join_request(&group, &member, None, "m")).await;
        }
        assert_eq!((joined.error_code, joined.generation_id), (0, 1), "join v{v}");
        assert_eq!(joined.protocol_name.as_deref(), Some("range"), "join v{v}");
        let member = joined.member_id.to_string();
        let sync_v = v.min(5);
        let mut sync = sync_request(&group, 1, &member, &[(&member, "a")]);
        if sync_v < 5 {
            sync = sync.with_protocol_type(None).with_protocol_name(None);
        }
        let synced = client.request(sync_v, &sync).await;
        assert_eq!((synced.error_code, &synced.assignment[..]), (0, &b"a"[..]), "sync v{sync_v}");
        let hb = HeartbeatRequest::default()
            .with_group_id(gid(&group))
            .with_generation_id(1)
            .with_member_id(s(&member));
        assert_eq!(client.request(v.min(4), &hb).await.error_code, 0, "heartbeat v{}", v.min(4));
        let commit_v = v.clamp(2, 8);
        let committed =
            client.request(commit_v, &commit_request(&group, 1, &member, "v", &[(0, i64::from(v))])).await;
        assert_eq!(committed.topics[0].partitions[0].error_code, 0, "commit v{commit_v}");
        let fetch_v = v.clamp(1, 7);
        let fetch = OffsetFetchRequest::default().with_group_id(gid(&group)).with_topics(Some(vec![
            OffsetFetchRequestTopic::default().with_name(name("v")).with_partition_indexes(vec![0]),
        ]));
        let fetched = client.request(fetch_v, &fetch).await;
        assert_eq!(fetched.topics[0].partitions[0].committed_offset, i64::from(v), "fetch v{fetch_v}");
        let listed = client.request(v.min(4), &ListGroupsRequest::default()).await;
        assert!(listed.groups.iter().any(|g| g.group_id.0.as_str() == group), "list v{}", v.min(4));
        let described =
            client.request(v.min(5), &DescribeGroupsRequest::default().with_groups(vec![gid(&group)])).await;
        assert_eq!(described.groups[0].members.len(), 1, "describe v{}", v.min(5));
        let leave_v = v.min(5);
        let leave = if leave_v < 3 {
            LeaveGroupRequest::default().with_group_id(gid(&group)).with_member_id(s(&member))
        } else {
            LeaveGroupRequest::default()
                .with_group_id(gid(&group))
                .with_members(vec![MemberIdentity::default().with_member_id(s(&member))])
        };
        assert_eq!(client.request(leave_v, &leave).await.error_code, 0, "leave v{leave_v}");
        let deleted = client
            .request(v.min(2), &DeleteGroupsRequest::default().with_groups_names(vec![gid(&group)]))
            .await;
        assert_eq!(deleted.results[0].error_code, 0, "delete v{}", v.min(2));
    }
}

/// A broker restarted with `__consumer_offsets` already there keeps its
/// partition count even if `offsets.topic.num.partitions` changed: the count
/// is what places every group (`partition_for`), so it must not move.
#[tokio::test]
async fn the_offsets_topic_keeps_its_partition_count() {
    let broker = start(|c| {
        fast(c);
        c.offsets_topic_num_partitions = 3;
    })
    .await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    assert_eq!(commit(&mut client, "g-count", -1, "", "t", &[(0, 8)]).await, vec![0]);
    let addr = broker.addr;
    let dir = broker.stop().await;
    let broker = harness::start_on(addr, dir, |c| {
        fast(c);
        c.offsets_topic_num_partitions = 7;
    })
    .await;
    let mut client = broker.client().await;
    assert_eq!(fetch_offsets(&mut client, "g-count", "t", &[0]).await, vec![8]);
    let topics = metadata(&mut client, Some(&[CONSUMER_OFFSETS_TOPIC]), false).await;
    assert_eq!(topics[0].partitions.len(), 3);
}

/// Strings a flexible request may carry but `__consumer_offsets` cannot store
/// (its records use `int16` lengths): a 40,000-byte group id is
/// INVALID_GROUP_ID for JoinGroup and OffsetCommit, a 40,000-byte instance id
/// INVALID_REQUEST; nothing panics, and the coordinator keeps serving.
#[tokio::test]
async fn strings_too_long_to_store_are_refused() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let long = "g".repeat(40_000);
    let joined = client.request(JOIN_V, &join_request(&long, "", None, "x")).await;
    assert_eq!(joined.error_code, code(ResponseError::InvalidGroupId));
    let joined = client.request(JOIN_V, &join_request("g-ok", "", Some(&long), "x")).await;
    assert_eq!(joined.error_code, code(ResponseError::InvalidRequest));
    // A static member's id is `<instance id>-<uuid>`: an instance id that fits
    // in a string but leaves no room for the 37 bytes is refused too (it used
    // to reach the record encoder's assert under the coordinator's lock).
    let just_fits = "i".repeat(i16::MAX as usize);
    let joined = client.request(JOIN_V, &join_request("g-static", "", Some(&just_fits), "x")).await;
    assert_eq!(joined.error_code, code(ResponseError::InvalidRequest));
    assert_eq!(
        commit(&mut client, &long, -1, "", "t", &[(0, 1)]).await,
        vec![code(ResponseError::InvalidGroupId)]
    );
    let (member, join) = join_new(&mut client, "g-ok", "x").await;
    let joined = join_answer(&mut client, join).await;
    let synced =
        client.request(SYNC_V, &sync_request("g-ok", joined.generation_id, &member, &[(&member, "a")])).await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(commit(&mut client, "g-ok", joined.generation_id, &member, "t", &[(0, 1)]).await, vec![0]);
}

/// Durable mode (`spool.log.flush.before.ack=true`): an OffsetCommit is
/// acknowledged only once an fsync covers its record, as a produce is
/// (chapter 2's group commit): the recovery point has passed it by then.
#[tokio::test]
async fn durable_commits_are_flushed_before_the_answer() {
    let broker = start(|c| {
        fast(c);
        c.log.flush_before_ack = true;
        c.offsets_topic_num_partitions = 1;
    })
    .await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    for offset in 1..=3 {
        assert_eq!(commit(&mut client, "g-durable", -1, "", "t", &[(0, offset)]).await, vec![0]);
        let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, 0);
        let partition = broker.broker().partition(&tp).unwrap();
        let log = lock(&partition.log);
        assert_eq!(log.log_end_offset(), offset);
        assert_eq!(log.recovery_point(), offset, "commit {offset} answered before its fsync");
    }
}

/// The log holds the coordinator's records in the order it made them: after
/// each burst of commits to one partition from many connections at once, the
/// last commit record in `__consumer_offsets` (what a restart's replay keeps)
/// is what OffsetFetch answers from memory, and a restart answers the same.
/// The driver appends under the coordinator's lock for this; appending after
/// releasing it lets two racing commits land in the reverse order, which these
/// bursts catch (not on every run: it is a race).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_replay_to_the_same_offsets() {
    const CLIENTS: i64 = 8;
    const BURSTS: i64 = 40;
    let broker = start(|c| {
        fast(c);
        c.offsets_topic_num_partitions = 1;
    })
    .await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let mut committers = Vec::new();
    for _ in 0..CLIENTS {
        committers.push(broker.client().await);
    }
    let log_tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, 0);
    for burst in 0..BURSTS {
        let tasks: Vec<_> = committers
            .drain(..)
            .enumerate()
            .map(|(c, mut client)| {
                tokio::spawn(async move {
                    let offset = burst * CLIENTS + c as i64;
                    assert_eq!(commit(&mut client, "g-race", -1, "", "t", &[(0, offset)]).await, vec![0]);
                    client
                })
            })
            .collect();
        for task in tasks {
            committers.push(task.await.expect("committer"));
        }
        let in_memory = fetch_offsets(&mut client, "g-race", "t", &[0]).await[0];
        let partition = broker.broker().partition(&log_tp).unwrap();
        let batches = lock(&partition.log).read_batches(0).unwrap();
        let last_stored = batches
            .iter()
            .flat_map(|b| b.records().unwrap().map(Result::unwrap))
            .filter_map(|r| match GroupRecord::decode(&r.key.unwrap(), r.value.as_deref()).unwrap() {
                GroupRecord::Offset { value: Some(v), .. } => Some(v.offset),
                _ => None,
            })
            .last();
        assert_eq!(
            last_stored,
            Some(in_memory),
            "burst {burst}: the log's last commit is not the coordinator's"
        );
    }
    let before = fetch_offsets(&mut client, "g-race", "t", &[0]).await;
    let addr = broker.addr;
    let broker = harness::start_on(addr, broker.stop().await, fast).await;
    let mut client = broker.client().await;
    assert_eq!(fetch_offsets(&mut client, "g-race", "t", &[0]).await, before);
}
