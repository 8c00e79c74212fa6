//! DeleteRecords (API key 21, issue 17) against a broker in the test's
//! process, with raw requests: the log start offset moves to the requested
//! offset (-1: the high watermark), the segments wholly below it are deleted,
//! `log-start-offset-checkpoint` keeps it across a crash, and ListOffsets
//! earliest and Fetch honour it. Bad input gets Kafka's errors
//! (`ReplicaManager.deleteRecordsOnLocalLog`, `Partition.deleteRecordsOnLeader`)
//! and changes nothing.
//!
//! ```text
//! cargo test --test it admin_deleterecords::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use std::path::Path;

use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::delete_records_response::DeleteRecordsPartitionResult;
use kafka_protocol::messages::{DeleteRecordsRequest, FindCoordinatorRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;

use harness::{code, name, start, start_in, Client};
use requests::{batch, create_topic, fetch, fetched_values, list_offset, produce};

const DELETE_RECORDS_V: i16 = 2;
const EARLIEST: i64 = -2;

/// One DeleteRecords for one partition: its result.
async fn delete_records(
    client: &mut Client,
    topic: &str,
    partition: i32,
    offset: i64,
) -> DeleteRecordsPartitionResult {
    let request = DeleteRecordsRequest::default().with_timeout_ms(5_000).with_topics(vec![
        DeleteRecordsTopic::default().with_name(name(topic)).with_partitions(vec![
            DeleteRecordsPartition::default().with_partition_index(partition).with_offset(offset),
        ]),
    ]);
    let response = client.request(DELETE_RECORDS_V, &request).await;
    let topic_result = response.topics.into_iter().next().expect("one topic");
    assert_eq!(topic_result.name, name(topic));
    topic_result.partitions.into_iter().next().expect("one partition")
}

/// A topic `t` of 10 one-record batches (offsets 0..10), in segments of about
/// two batches each (`segment.bytes` small).
async fn ten_records(client: &mut Client, topic: &str, configs: &[(&str, &str)]) {
    let mut all = vec![("segment.bytes", "150")];
    all.extend_from_slice(configs);
    create_topic(client, topic, 1, &all).await;
    for i in 0..10 {
        let r = produce(client, topic, 0, batch(now_ms(), &[&format!("v{i}")]), 1).await;
        assert_eq!((r.error_code, r.base_offset), (0, i));
    }
}

/// The segment files (`.log`) of `t-0` under a broker's log directory.
fn segment_bases(logs: &Path, topic: &str) -> Vec<i64> {
    let mut bases: Vec<i64> = std::fs::read_dir(logs.join(format!("{topic}-0")))
        .expect("partition dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    bases.sort();
    bases
}

/// Deleting records below 5 moves earliest to 5, answers low watermark 5,
/// deletes every segment wholly below 5 (and only those), and a fetch below it
/// is OFFSET_OUT_OF_RANGE while a fetch at it reads on.
#[tokio::test]
async fn delete_records_moves_the_log_start_and_deletes_segments_below_it() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    ten_records(&mut client, "t", &[]).await;
    let result = delete_records(&mut client, "t", 0, 5).await;
    assert_eq!((result.error_code, result.low_watermark), (0, 5));
    assert_eq!(list_offset(&mut client, "t", 0, EARLIEST).await.offset, 5);
    let below = fetch(&mut client, "t", 0, 3).await;
    assert_eq!(below.error_code, code(ResponseError::OffsetOutOfRange));
    assert_eq!(below.log_start_offset, 5);
    let at = fetch(&mut client, "t", 0, 5).await;
    assert_eq!(at.log_start_offset, 5);
    assert_eq!(fetched_values(&at.records.unwrap())[0], (5, "v5".to_string()));
    let dir = broker.crash().await;
    let bases = segment_bases(&dir.path().join("logs"), "t");
    assert!(bases.len() >= 2, "the small segments rolled: {bases:?}");
    assert!(
        bases[0] <= 5 && bases.iter().all(|&b| b > 5 || b == bases[0]),
        "only segments below 5 went: {bases:?}"
    );
    assert!(bases[0] > 0, "the first segments went: {bases:?}");
}

/// The new log start survives a crash: it is in `log-start-offset-checkpoint`
/// at once, not only at the next periodic checkpoint or a clean shutdown.
#[tokio::test]
async fn the_log_start_survives_a_crash() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    ten_records(&mut client, "t", &[]).await;
    let result = delete_records(&mut client, "t", 0, 7).await;
    assert_eq!((result.error_code, result.low_watermark), (0, 7));
    let dir = broker.crash().await;
    let checkpoint = std::fs::read_to_string(dir.path().join("logs/log-start-offset-checkpoint")).unwrap();
    assert!(checkpoint.lines().any(|l| l == "t 0 7"), "checkpoint:\n{checkpoint}");
    let broker = start_in(dir, |_| {}).await;
    let mut client = broker.client().await;
    assert_eq!(list_offset(&mut client, "t", 0, EARLIEST).await.offset, 7);
    broker.stop().await;
}

/// Offset -1 means the high watermark (`DeleteRecordsRequest.HIGH_WATERMARK`):
/// everything goes, and a new record lands at 10.
#[tokio::test]
async fn minus_one_deletes_up_to_the_high_watermark() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    ten_records(&mut client, "t", &[]).await;
    let result = delete_records(&mut client, "t", 0, -1).await;
    assert_eq!((result.error_code, result.low_watermark), (0, 10));
    assert_eq!(list_offset(&mut client, "t", 0, EARLIEST).await.offset, 10);
    let r = produce(&mut client, "t", 0, batch(now_ms(), &["after"]), 1).await;
    assert_eq!((r.error_code, r.base_offset), (0, 10));
    let data = fetch(&mut client, "t", 0, 10).await;
    assert_eq!(fetched_values(&data.records.unwrap()), vec![(10, "after".to_string())]);
    broker.stop().await;
}

/// An offset below the log start moves nothing back: the answer is the log
/// start as it is (Kafka's `maybeIncrementLogStartOffset` only increments).
#[tokio::test]
async fn an_offset_below_the_log_start_changes_nothing() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    ten_records(&mut client, "t", &[]).await;
    assert_eq!(delete_records(&mut client, "t", 0, 6).await.low_watermark, 6);
    let result = delete_records(&mut client, "t", 0, 2).await;
    assert_eq!((result.error_code, result.low_watermark), (0, 6));
    assert_eq!(list_offset(&mut client, "t", 0, EARLIEST).await.offset, 6);
    broker.stop().await;
}

/// Bad input, each with Kafka's error and nothing changed: beyond the high
/// watermark (OFFSET_OUT_OF_RANGE), below -1 (OFFSET_OUT_OF_RANGE), an unknown
/// topic or partition (UNKNOWN_TOPIC_OR_PARTITION), an internal topic
/// (INVALID_TOPIC_EXCEPTION), a `cleanup.policy=compact` topic (POLICY_VIOLATION).
#[tokio::test]
async fn bad_input_gets_kafkas_errors_and_changes_nothing() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    ten_records(&mut client, "t", &[]).await;
    ten_records(&mut client, "compacted", &[("cleanup.policy", "compact")]).await;
    let coordinator = FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g"));
    assert_eq!(client.request(1, &coordinator).await.error_code, 0, "__consumer_offsets created");
    let cases = [
        ("t", 0, 11, ResponseError::OffsetOutOfRange),
        ("t", 0, -2, ResponseError::OffsetOutOfRange),
        ("t", 1, 3, ResponseError::UnknownTopicOrPartition),
        ("nope", 0, 3, ResponseError::UnknownTopicOrPartition),
        ("__consumer_offsets", 0, 0, ResponseError::InvalidTopicException),
        ("compacted", 0, 3, ResponseError::PolicyViolation),
    ];
    for (topic, partition, offset, error) in cases {
        let result = delete_records(&mut client, topic, partition, offset).await;
        let got = (result.error_code, result.low_watermark);
        assert_eq!(got, (code(error), -1), "{topic}-{partition} at {offset}");
    }
    assert_eq!(list_offset(&mut client, "t", 0, EARLIEST).await.offset, 0);
    assert_eq!(list_offset(&mut client, "compacted", 0, EARLIEST).await.offset, 0);
    broker.stop().await;
}

/// Every version the broker advertises (v0–v2; v2 is flexible) answers alike.
#[tokio::test]
async fn every_version_answers() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    ten_records(&mut client, "t", &[]).await;
    for (version, offset) in [(0i16, 1i64), (1, 2), (2, 3)] {
        let request = DeleteRecordsRequest::default().with_timeout_ms(5_000).with_topics(vec![
            DeleteRecordsTopic::default().with_name(name("t")).with_partitions(vec![
                DeleteRecordsPartition::default().with_partition_index(0).with_offset(offset),
            ]),
        ]);
        let response = client.request(version, &request).await;
        let p = &response.topics[0].partitions[0];
        assert_eq!((p.error_code, p.low_watermark), (0, offset), "v{version}");
    }
    broker.stop().await;
}

/// `spool delete-records` prints kafka-delete-records.sh's lines: a low
/// watermark per partition deleted, an error for one refused (beyond the
/// high watermark), and earliest moves for the first only.
#[tokio::test]
async fn the_tool_prints_kafkas_lines() {
    let broker = start(|_| {}).await;
    let mut raw = broker.client().await;
    ten_records(&mut raw, "t", &[]).await;
    ten_records(&mut raw, "u", &[]).await;
    let bootstrap = broker.addr.to_string();
    let mut client =
        spool::client::Client::connect(&bootstrap, std::time::Duration::from_secs(5)).await.unwrap();
    let offsets = spool::tools::delete_records::parse_offset_json(
        r#"{"partitions": [{"topic": "t", "partition": 0, "offset": 3},
                           {"topic": "u", "partition": 0, "offset": 99}], "version": 1}"#,
    )
    .unwrap();
    let mut out = Vec::new();
    spool::tools::delete_records::run(&mut client, &offsets, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "Executing records delete operation",
            "Records delete operation completed:",
            "partition: t-0\tlow_watermark: 3"
        ]
    );
    assert!(
        lines[3].starts_with("partition: u-0\terror: ") && lines[3].contains("OffsetOutOfRange"),
        "{out}"
    );
    assert_eq!(list_offset(&mut raw, "t", 0, EARLIEST).await.offset, 3);
    assert_eq!(list_offset(&mut raw, "u", 0, EARLIEST).await.offset, 0);
    broker.stop().await;
}
