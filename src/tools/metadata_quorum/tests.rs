//! The tool's text against Kafka's layout (`MetadataQuorumCommand`,
//! `ToolsUtils.prettyPrintTable`), from DescribeQuorum answers built here.

use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{BrokerId, DescribeQuorumResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::*;

fn replica(id: i32, log_end_offset: i64, last_fetch: i64, last_caught_up: i64) -> ReplicaState {
    ReplicaState::default()
        .with_replica_id(BrokerId(id))
        .with_log_end_offset(log_end_offset)
        .with_last_fetch_timestamp(last_fetch)
        .with_last_caught_up_timestamp(last_caught_up)
}

/// Three voters led by 1, voter 2 two records and 100 ms behind, broker 4 observing.
fn three_voters() -> DescribeQuorumResponse {
    let partition = PartitionData::default()
        .with_leader_id(BrokerId(1))
        .with_leader_epoch(3)
        .with_high_watermark(42)
        .with_current_voters(vec![
            replica(1, 42, 1000, 1000),
            replica(2, 40, 990, 900),
            replica(3, 42, 995, 995),
        ])
        .with_observers(vec![replica(4, 30, 980, -1)]);
    let listener = Listener::default()
        .with_name(StrBytes::from_static_str("CONTROLLER"))
        .with_host(StrBytes::from_static_str("127.0.0.1"))
        .with_port(9093);
    DescribeQuorumResponse::default()
        .with_topics(vec![TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
            .with_partitions(vec![partition])])
        .with_nodes(vec![Node::default().with_node_id(BrokerId(1)).with_listeners(vec![listener])])
}

/// `describe --status` prints Kafka's eight labels, padded to column 24; the
/// lag is the least caught-up voter's, and a voter with endpoints (v2's
/// Nodes) lists them.
#[test]
fn status_prints_kafkas_labels() {
    let text = format_status("q1VNBKrKQzaiVZkJ5vYrTg", &three_voters()).unwrap();
    assert_eq!(
        text,
        "ClusterId:              q1VNBKrKQzaiVZkJ5vYrTg\n\
         LeaderId:               1\n\
         LeaderEpoch:            3\n\
         HighWatermark:          42\n\
         MaxFollowerLag:         2\n\
         MaxFollowerLagTimeMs:   100\n\
         CurrentVoters:          [{\"id\": 1, \"directoryId\": null, \"endpoints\": [\"CONTROLLER://127.0.0.1:9093\"]}, \
         {\"id\": 2, \"directoryId\": null}, {\"id\": 3, \"directoryId\": null}]\n\
         CurrentObservers:       [{\"id\": 4, \"directoryId\": null}]\n"
    );
}

/// A quorum of one: the leader is its own most lagging voter, so both lags are 0.
#[test]
fn a_single_voter_lags_nothing() {
    let mut response = three_voters();
    let p = &mut response.topics[0].partitions[0];
    p.current_voters.truncate(1);
    p.observers.clear();
    let text = format_status("c", &response).unwrap();
    assert!(text.contains("MaxFollowerLag:         0\nMaxFollowerLagTimeMs:   0\n"), "{text}");
    assert!(text.ends_with("CurrentObservers:       []\n"), "{text}");
}

/// `describe --replication`: leader, followers, observers, each cell padded
/// to its column and followed by a tab, as prettyPrintTable writes it.
#[test]
fn replication_prints_kafkas_table() {
    let text = format_replication(&three_voters(), None).unwrap();
    let expected = [
        "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t",
        "1     \tAAAAAAAAAAAAAAAAAAAAAA\t42          \t0  \t1000              \t1000                 \tLeader  \t",
        "2     \tAAAAAAAAAAAAAAAAAAAAAA\t40          \t2  \t990               \t900                  \tFollower\t",
        "3     \tAAAAAAAAAAAAAAAAAAAAAA\t42          \t0  \t995               \t995                  \tFollower\t",
        "4     \tAAAAAAAAAAAAAAAAAAAAAA\t30          \t12 \t980               \t-1                   \tObserver\t",
    ];
    assert_eq!(text, expected.map(|l| format!("{l}\n")).concat());
}

/// `--human-readable` prints "N ms ago" from now, -1 stays -1, and a
/// timestamp from the future is Kafka's clock-drift error.
#[test]
fn human_readable_timestamps_are_ages() {
    let text = format_replication(&three_voters(), Some(1500)).unwrap();
    let observer = text.lines().last().unwrap();
    assert!(observer.starts_with("4     \tAAAAAAAAAAAAAAAAAAAAAA\t30  "), "{observer}");
    assert!(observer.contains("\t520 ms ago") && observer.contains("\t-1 "), "{observer}");
    let error = format_replication(&three_voters(), Some(999)).unwrap_err();
    assert!(error.to_string().contains("possible drift in system clock"), "{error}");
}

/// Errors in the answer are errors, not an empty table: a partition-level
/// NOT_LEADER_OR_FOLLOWER, a leader missing from the voters, another partition.
#[test]
fn refusals_and_odd_answers_are_errors() {
    let mut not_leader = three_voters();
    not_leader.topics[0].partitions[0].error_code = ResponseError::NotLeaderOrFollower.code();
    let error = format_status("c", &not_leader).unwrap_err();
    assert_eq!(error.code(), Some(ResponseError::NotLeaderOrFollower));

    let mut no_leader = three_voters();
    no_leader.topics[0].partitions[0].leader_id = BrokerId(-1);
    assert!(format_replication(&no_leader, None).is_err());

    let mut other = three_voters();
    other.topics[0].partitions[0].partition_index = 1;
    assert!(format_status("c", &other).is_err());
    assert!(format_status("c", &DescribeQuorumResponse::default()).is_err());
}

/// The flags: exactly one of --status and --replication, and
/// --human-readable only with --replication, in Kafka's words.
#[test]
fn describe_takes_one_view() {
    let args = |status, replication, human_readable| MetadataQuorumArgs {
        bootstrap_server: None,
        bootstrap_controller: Some("127.0.0.1:9093".into()),
        command: QuorumCommand::Describe { status, replication, human_readable },
    };
    assert_eq!(args(true, false, false).describe().unwrap(), Describe::Status);
    assert_eq!(args(false, true, true).describe().unwrap(), Describe::Replication { human_readable: true });
    for (s, r, h, says) in [
        (true, true, false, "Only one of --status or --replication"),
        (false, false, false, "One of --status or --replication must be specified"),
        (true, false, true, "--human-readable is only supported along with --replication"),
    ] {
        let error = args(s, r, h).describe().unwrap_err();
        assert!(error.to_string().contains(says), "{error}");
    }
}
