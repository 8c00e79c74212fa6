//! Issue 17's OffsetDelete (KIP-496) and DescribeLogDirs (KIP-113) against
//! a broker over real TCP, spoken by the raw client of `tests/it/wire/`:
//! Kafka's rules for which offsets a group may lose, the tombstones a
//! restart replays, and the sizes a log directory reports.
//!
//! ```text
//! cargo test --test it admin_offsetdelete::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ConsumerProtocolSubscription, DescribeLogDirsRequest, GroupId, JoinGroupRequest, OffsetCommitRequest,
    OffsetDeleteRequest, OffsetFetchRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::ResponseError;
use spool::config::BrokerConfig;

use harness::{code, name, start, Client};
use requests::{batch, create_topic, produce};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn fast(config: &mut BrokerConfig) {
    config.group.initial_rebalance_delay_ms = 0;
}

/// Commits `offsets` of `topic` as a consumer that assigns itself partitions
/// (generation -1), or as `member` of `generation`.
async fn commit(client: &mut Client, group: &str, member: (&str, i32), topic: &str, offsets: &[(i32, i64)]) {
    let partitions = offsets
        .iter()
        .map(|&(p, o)| {
            OffsetCommitRequestPartition::default().with_partition_index(p).with_committed_offset(o)
        })
        .collect();
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member.0))
        .with_generation_id_or_member_epoch(member.1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(name(topic))
            .with_partitions(partitions)]);
    let response = client.request(8, &request).await;
    let codes: Vec<i16> =
        response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect();
    assert!(codes.iter().all(|&c| c == 0), "commit refused: {codes:?}");
}

async fn fetch_offsets(client: &mut Client, group: &str, topic: &str, partitions: &[i32]) -> Vec<i64> {
    let request = OffsetFetchRequest::default().with_group_id(GroupId(s(group))).with_topics(Some(vec![
        OffsetFetchRequestTopic::default().with_name(name(topic)).with_partition_indexes(partitions.to_vec()),
    ]));
    let response = client.request(7, &request).await;
    response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.committed_offset)).collect()
}

/// OffsetDelete of `partitions`: the top-level code and each (topic, partition, code).
async fn delete_offsets(
    client: &mut Client,
    group: &str,
    partitions: &[(&str, i32)],
) -> (i16, Vec<(String, i32, i16)>) {
    let mut topics: Vec<OffsetDeleteRequestTopic> = Vec::new();
    for &(topic, p) in partitions {
        let partition = OffsetDeleteRequestPartition::default().with_partition_index(p);
        match topics.last_mut() {
            Some(t) if t.name.0.as_str() == topic => t.partitions.push(partition),
            _ => topics.push(
                OffsetDeleteRequestTopic::default().with_name(name(topic)).with_partitions(vec![partition]),
            ),
        }
    }
    let request = OffsetDeleteRequest::default().with_group_id(GroupId(s(group))).with_topics(topics);
    let response = client.request(0, &request).await;
    let codes = response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.0.to_string(), p.partition_index, p.error_code)))
        .collect();
    (response.error_code, codes)
}

/// A consumer subscription to `topics` (v1), as a Java client writes it.
fn subscription(topics: &[&str]) -> Bytes {
    let body = ConsumerProtocolSubscription::default().with_topics(topics.iter().map(|t| s(t)).collect());
    let mut bytes = BytesMut::new();
    bytes.put_i16(1);
    body.encode(&mut bytes, 1).expect("encodes");
    bytes.freeze()
}

/// One consumer subscribed to `topics` joins `group` and syncs as its
/// leader: the group is Stable. Returns its member id and generation.
async fn consumer_joins(client: &mut Client, group: &str, topics: &[&str]) -> (String, i32) {
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(30_000)
        .with_rebalance_timeout_ms(30_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(subscription(topics))]);
    // v3: no KIP-394 member id round trip.
    let joined = client.request(3, &join).await;
    assert_eq!(joined.error_code, 0);
    let member = joined.member_id.to_string();
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(joined.generation_id)
        .with_member_id(s(&member))
        .with_assignments(vec![SyncGroupRequestAssignment::default().with_member_id(s(&member))]);
    assert_eq!(client.request(3, &sync).await.error_code, 0);
    (member, joined.generation_id)
}

/// KIP-496 on an Empty group: the offsets asked for go (a partition without
/// one is answered without error), the others stay; a topic or partition
/// the broker does not know is UNKNOWN_TOPIC_OR_PARTITION; and a restart,
/// which replays `__consumer_offsets`, does not bring a deleted offset back.
#[tokio::test]
async fn an_empty_groups_offsets_go_and_stay_gone_after_a_restart() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 2, &[]).await;
    commit(&mut client, "g", ("", -1), "t", &[(0, 10), (1, 20)]).await;

    let (error, codes) = delete_offsets(&mut client, "g", &[("t", 0), ("t", 7), ("nope", 0)]).await;
    let unknown = code(ResponseError::UnknownTopicOrPartition);
    assert_eq!(error, 0);
    assert_eq!(codes, [("t".into(), 0, 0), ("t".into(), 7, unknown), ("nope".into(), 0, unknown)]);
    assert_eq!(fetch_offsets(&mut client, "g", "t", &[0, 1]).await, [-1, 20]);

    let addr = broker.addr;
    let broker = harness::start_on(addr, broker.stop().await, fast).await;
    let mut client = broker.client().await;
    assert_eq!(fetch_offsets(&mut client, "g", "t", &[0, 1]).await, [-1, 20]);
}

/// A group with a consumer subscribed to `t` keeps `t`'s offsets
/// (GROUP_SUBSCRIBED_TO_TOPIC) and loses those of `u`, which nobody reads
/// (Kafka's `handleDeleteOffsets` for a non-empty consumer group).
#[tokio::test]
async fn a_live_consumer_groups_subscribed_offsets_stay() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    create_topic(&mut client, "u", 1, &[]).await;
    commit(&mut client, "g", ("", -1), "u", &[(0, 5)]).await;
    let (member, generation) = consumer_joins(&mut client, "g", &["t"]).await;
    commit(&mut client, "g", (&member, generation), "t", &[(0, 3)]).await;

    let (error, codes) = delete_offsets(&mut client, "g", &[("t", 0), ("u", 0)]).await;
    assert_eq!(error, 0);
    let subscribed = code(ResponseError::GroupSubscribedToTopic);
    assert_eq!(codes, [("t".into(), 0, subscribed), ("u".into(), 0, 0)]);
    assert_eq!(fetch_offsets(&mut client, "g", "t", &[0]).await, [3]);
    assert_eq!(fetch_offsets(&mut client, "g", "u", &[0]).await, [-1]);
}

/// No such group: GROUP_ID_NOT_FOUND at the top, no partitions.
#[tokio::test]
async fn an_unknown_group_is_group_id_not_found() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let (error, codes) = delete_offsets(&mut client, "ghost", &[("t", 0)]).await;
    assert_eq!((error, codes), (code(ResponseError::GroupIdNotFound), vec![]));
}

/// DescribeLogDirs (KIP-113, v4 KIP-827): the broker's one log directory,
/// every hosted partition with its size in bytes (what its segments hold),
/// no offset lag on a leader, never a future log; the volume's total and
/// usable bytes; a topic filter keeps only the partitions asked for.
#[tokio::test]
async fn describe_log_dirs_reports_each_partitions_size() {
    let broker = start(fast).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "t", 2, &[]).await;
    create_topic(&mut client, "u", 1, &[]).await;
    assert_eq!(produce(&mut client, "t", 0, batch(0, &["a", "b", "c"]), -1).await.error_code, 0);

    let all = client.request(4, &DescribeLogDirsRequest::default().with_topics(None)).await;
    assert_eq!(all.results.len(), 1);
    let dir = &all.results[0];
    assert_eq!(dir.error_code, 0);
    let expected_dir = std::fs::canonicalize(broker.broker().config.log_dir.clone()).expect("exists");
    assert_eq!(dir.log_dir.as_str(), expected_dir.display().to_string());
    assert!(dir.total_bytes > 0 && dir.usable_bytes >= 0 && dir.usable_bytes <= dir.total_bytes);
    let sizes: Vec<(String, i32, i64)> = dir
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| (t.name.0.to_string(), p.partition_index, p.partition_size))
        })
        .collect();
    let t0 = spool::TopicPartition::new("t", 0);
    let t0_bytes = broker.broker().partition(&t0).map(|p| spool::log::manager::lock(&p.log).size_in_bytes());
    assert_eq!(
        sizes,
        [("t".into(), 0, t0_bytes.expect("hosted") as i64), ("t".into(), 1, 0), ("u".into(), 0, 0)]
    );
    assert!(sizes[0].2 > 0);
    assert!(dir.topics.iter().flat_map(|t| &t.partitions).all(|p| p.offset_lag == 0 && !p.is_future_key));

    let one = DescribableLogDirTopic::default().with_topic(name("t")).with_partitions(vec![1]);
    let filtered = client.request(1, &DescribeLogDirsRequest::default().with_topics(Some(vec![one]))).await;
    let names: Vec<(String, Vec<i32>)> = filtered.results[0]
        .topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.partitions.iter().map(|p| p.partition_index).collect()))
        .collect();
    assert_eq!(names, [("t".to_string(), vec![1])]);
}

/// `spool groups --delete-offsets` (kafka-consumer-groups.sh): `T` means every
/// partition of `T`, the report is Kafka's line and table, and a group with
/// a live subscriber of the topic is refused partition by partition.
#[tokio::test]
async fn the_delete_offsets_tool_reports_as_kafka_consumer_groups() {
    let broker = start(fast).await;
    let mut raw = broker.client().await;
    create_topic(&mut raw, "t", 2, &[]).await;
    commit(&mut raw, "g", ("", -1), "t", &[(0, 10), (1, 20)]).await;
    let bootstrap = broker.addr.to_string();
    let mut client =
        spool::client::Client::connect(&bootstrap, std::time::Duration::from_secs(5)).await.unwrap();

    let (mut out, mut err) = (Vec::new(), Vec::new());
    let topics = vec!["t".to_string()];
    spool::tools::groups::delete_offsets::run(&mut client, "g", &topics, &mut out, &mut err).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    assert_eq!(lines[0], "Request succeed for deleting offsets with topic t group g");
    assert_eq!(lines[2], format!("{:<30} {:<15} STATUS", "TOPIC", "PARTITION"));
    assert_eq!(
        lines[3..],
        [format!("{:<30} {:<15} Successful", "t", "0"), format!("{:<30} {:<15} Successful", "t", "1")]
    );
    assert_eq!(fetch_offsets(&mut raw, "g", "t", &[0, 1]).await, [-1, -1]);

    let (member, generation) = consumer_joins(&mut raw, "live", &["t"]).await;
    commit(&mut raw, "live", (&member, generation), "t", &[(1, 4)]).await;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let topics = vec!["t:1".to_string()];
    let refused =
        spool::tools::groups::delete_offsets::run(&mut client, "live", &topics, &mut out, &mut err).await;
    assert!(refused.is_err());
    let err = String::from_utf8(err).unwrap();
    assert_eq!(err.trim(), "Error: Encounter some partition level error, see the follow-up details:");
    let status = format!("Error: :{}", ResponseError::GroupSubscribedToTopic);
    assert!(String::from_utf8(out).unwrap().contains(&status));
    assert_eq!(fetch_offsets(&mut raw, "live", "t", &[1]).await, [4]);
}

/// `spool log-dirs --describe` (kafka-log-dirs.sh): the two header lines,
/// then Kafka's JSON with `--topic-list`'s partitions only.
#[tokio::test]
async fn the_log_dirs_tool_prints_kafkas_json() {
    let broker = start(fast).await;
    let mut raw = broker.client().await;
    create_topic(&mut raw, "t", 1, &[]).await;
    create_topic(&mut raw, "u", 1, &[]).await;
    assert_eq!(produce(&mut raw, "t", 0, batch(0, &["x"]), -1).await.error_code, 0);
    let bootstrap = broker.addr.to_string();
    let mut client =
        spool::client::Client::connect(&bootstrap, std::time::Duration::from_secs(5)).await.unwrap();
    let out = spool::tools::log_dirs::run(&mut client, "t", "").await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let node = broker.broker().config.node_id;
    assert_eq!(lines[0], "Querying brokers for log directories information");
    assert_eq!(lines[1], format!("Received log directory information from brokers {node}"));
    let json: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    let partitions = &json["brokers"][0]["logDirs"][0]["partitions"];
    assert_eq!(partitions.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(partitions[0]["partition"], "t-0");
    assert!(partitions[0]["size"].as_i64().unwrap() > 0);
    assert_eq!(json["version"], 1);
    let missing = spool::tools::log_dirs::run(&mut client, "", "99").await;
    assert!(missing.unwrap_err().to_string().contains("--broker-list: 99"));
}
