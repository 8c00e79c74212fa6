//! DeleteRecords in a cluster (issue 17): a controller and three brokers as
//! real `spool serve` processes, a topic replicated three times. The leader
//! moves its log start; each follower learns it from its fetch answers
//! (`log_start_offset`) and moves its own; the answer waits until every live
//! replica has (Kafka's `DelayedDeleteRecords`), so its low watermark is the
//! minimum of their log starts — or it times out (REQUEST_TIMED_OUT) while a
//! follower is stopped.
//!
//! ```text
//! cargo build && cargo test --test it admin_deleterecords_cluster::
//! ```

use crate::common::cluster;

use std::time::Duration;

use cluster::{eventually, KafkaCluster};
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, DeleteRecordsRequest, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::client::{Client, Connection, NewTopic, Producer, ProducerConfig, ProducerRecord};

const TOPIC: &str = "trimmed";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str(TOPIC))
}

/// DeleteRecords for partition 0 sent to `addr`: (error code, low watermark).
async fn delete_records(addr: &str, offset: i64, timeout_ms: i32) -> (i16, i64) {
    let mut connection = Connection::connect(addr, Duration::from_secs(5)).await.expect("connect");
    let request = DeleteRecordsRequest::default().with_timeout_ms(timeout_ms).with_topics(vec![
        DeleteRecordsTopic::default().with_name(topic_name()).with_partitions(vec![
            DeleteRecordsPartition::default().with_partition_index(0).with_offset(offset),
        ]),
    ]);
    let wait = Duration::from_millis(timeout_ms as u64) + Duration::from_secs(5);
    let response = connection.send_within(&request, wait).await.expect("DeleteRecords");
    let p = &response.topics[0].partitions[0];
    (p.error_code, p.low_watermark)
}

/// ListOffsets earliest on the leader at `addr`.
async fn earliest(addr: &str) -> i64 {
    let mut connection = Connection::connect(addr, Duration::from_secs(5)).await.expect("connect");
    let request = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        ListOffsetsTopic::default().with_name(topic_name()).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-2),
        ]),
    ]);
    connection.send(&request).await.expect("ListOffsets").topics[0].partitions[0].offset
}

/// The log start `log-start-offset-checkpoint` records for the partition
/// under broker `id`'s log directory.
fn checkpointed_log_start(cluster: &KafkaCluster, id: i32) -> Option<i64> {
    let text = std::fs::read_to_string(cluster.log_dir(id).join("log-start-offset-checkpoint")).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{TOPIC} 0 ")))?;
    line.rsplit(' ').next()?.parse().ok()
}

/// A follower's log start follows its leader's and is checkpointed; a
/// follower refuses DeleteRecords (NOT_LEADER_OR_FOLLOWER); while a follower
/// is stopped the leader moves its own start but the answer times out, and
/// once it runs again the answer's low watermark is reached by all three.
#[test]
fn followers_follow_the_log_start_and_the_answer_waits_for_the_slowest() {
    let mut cluster = KafkaCluster::start(3, "replica.lag.time.max.ms=30000");
    let bootstrap = cluster.bootstrap();
    runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        eventually("three unfenced brokers", async || {
            (client.metadata(Some(&[]), false).await.ok()?.brokers.len() == 3).then_some(())
        })
        .await;
        let mut topic = NewTopic { partitions: 1, replication_factor: 3, ..NewTopic::new(TOPIC) };
        topic.configs.insert("segment.bytes".into(), "150".into());
        assert!(client.create_topics(&[topic], false).await.expect("CreateTopics")[0].is_ok());
        let (leader, followers) = eventually("a leader with a full ISR", async || {
            let metadata = client.metadata(Some(&[TOPIC]), false).await.ok()?;
            let p = metadata.topics.first()?.partitions.first()?.clone();
            let followers: Vec<i32> = p.replicas.iter().copied().filter(|&r| r != p.leader).collect();
            (p.leader >= 0 && p.isr.len() == 3).then_some((p.leader, followers))
        })
        .await;
        let producer = Producer::connect(ProducerConfig::new(&bootstrap)).await.expect("producer");
        for v in 0..10 {
            let record =
                ProducerRecord { value: Some(format!("v{v}").into_bytes().into()), ..Default::default() };
            producer.send_to_partition(TOPIC, 0, record).await.expect("send").await.expect("acked");
        }
        producer.close().await.expect("close");
        let leader_addr = cluster.broker(leader).addr(0).to_string();
        let follower_addr = cluster.broker(followers[0]).addr(0).to_string();

        let refused = delete_records(&follower_addr, 5, 5_000).await;
        assert_eq!(refused, (ResponseError::NotLeaderOrFollower.code(), -1));
        assert_eq!(delete_records(&leader_addr, 5, 20_000).await, (0, 5));
        for &id in &followers {
            eventually("the follower's log start checkpointed at 5", async || {
                (checkpointed_log_start(&cluster, id) == Some(5)).then_some(())
            })
            .await;
        }

        // A stopped follower holds the low watermark back: the leader moves
        // its own start, the answer times out.
        cluster.broker(followers[1]).pause();
        let timed_out = delete_records(&leader_addr, 8, 1_000).await;
        assert_eq!(timed_out, (ResponseError::RequestTimedOut.code(), -1));
        assert_eq!(earliest(&leader_addr).await, 8);
        cluster.broker(followers[1]).resume();
        assert_eq!(delete_records(&leader_addr, 8, 20_000).await, (0, 8));
    });
}
