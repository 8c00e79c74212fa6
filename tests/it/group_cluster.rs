//! Chapters 5 and 6 together: a consumer group on a three-broker cluster
//! whose coordinator dies. The coordinator of a group is the leader of its
//! `__consumer_offsets` partition (Kafka's `GroupCoordinator.onElection` /
//! `onResignation`); when that broker is SIGKILLed, the controller elects
//! another replica of the partition, which loads the group from its copy of
//! the log — so the offsets the group committed are still there.

use crate::common::cluster;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cluster::{eventually, KafkaCluster};
use kafka_protocol::ResponseError;
use spool::client::{
    Client, ConsumerConfig, GroupConsumer, NewTopic, Producer, ProducerConfig, ProducerRecord,
};
use spool::TopicPartition;

const TOPIC: &str = "orders";
const PARTITIONS: i32 = 3;
const GROUP: &str = "billing";
const PATIENCE: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// `per_partition` acks=all records into every partition, valued `round-partition-i`.
async fn produce(bootstrap: &str, round: u32, per_partition: u32) {
    let producer = Producer::connect(ProducerConfig::new(bootstrap)).await.expect("producer");
    for p in 0..PARTITIONS {
        for i in 0..per_partition {
            let value = format!("{round}-{p}-{i}");
            let record =
                ProducerRecord { value: Some(value.clone().into_bytes().into()), ..Default::default() };
            let delivery = producer.send_to_partition(TOPIC, p, record).await.expect("send");
            delivery.await.unwrap_or_else(|e| panic!("record {value} not acknowledged: {e}"));
        }
    }
    producer.close().await.expect("close");
}

fn group_config() -> ConsumerConfig {
    let mut config = ConsumerConfig::default();
    for (k, v) in [
        ("group.id", GROUP),
        ("enable.auto.commit", "false"),
        ("session.timeout.ms", "20000"),
        ("heartbeat.interval.ms", "200"),
        ("max.poll.interval.ms", "30000"),
        ("auto.offset.reset", "earliest"),
        ("fetch.max.wait.ms", "100"),
    ] {
        config.set(k, v).unwrap();
    }
    config
}

/// Polls until `count` records arrived (bounded by [`PATIENCE`]): (partition, offset).
async fn poll_records(consumer: &mut GroupConsumer, count: usize) -> Vec<(i32, i64)> {
    let deadline = Instant::now() + PATIENCE;
    let mut read = Vec::new();
    while read.len() < count && Instant::now() < deadline {
        // Errors while the cluster fails over are retried by polling again.
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap_or_default() {
            read.push((r.partition, r.record.offset));
        }
    }
    read
}

fn all_partitions() -> Vec<TopicPartition> {
    (0..PARTITIONS).map(|p| TopicPartition::new(TOPIC, p)).collect()
}

/// A group commits its offsets through its coordinator; the coordinator's
/// broker is SIGKILLed; a consumer of the group finds the new coordinator
/// (FindCoordinator, NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS retried),
/// which has the committed offsets, and consumption resumes from them: every
/// record after the commit is read once, none before it again.
#[test]
fn committed_offsets_survive_the_coordinators_death() {
    let mut cluster = KafkaCluster::start(3, "replica.lag.time.max.ms=3000");
    let bootstrap = cluster.bootstrap();
    runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        eventually("three unfenced brokers", async || {
            let brokers = client.metadata(Some(&[]), false).await.ok()?.brokers;
            (brokers.len() == 3).then_some(())
        })
        .await;
        let topic = NewTopic { partitions: PARTITIONS, replication_factor: 3, ..NewTopic::new(TOPIC) };
        let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
        assert!(created[0].is_ok(), "{created:?}");
        eventually("leaders for every partition", async || {
            let metadata = client.metadata(Some(&[TOPIC]), false).await.ok()?;
            let t = metadata.topics.first()?;
            (t.partitions.len() == PARTITIONS as usize && t.partitions.iter().all(|p| p.leader >= 0))
                .then_some(())
        })
        .await;
        produce(&bootstrap, 0, 10).await;

        // The first consumer reads everything and commits 10 per partition.
        let mut first = GroupConsumer::connect(&bootstrap, group_config()).await.expect("consumer");
        first.subscribe([TOPIC]);
        assert_eq!(poll_records(&mut first, 30).await.len(), 30);
        first.commit_sync().await.expect("commit");
        let committed = first.committed(&all_partitions()).await.expect("committed");
        assert_eq!(committed.values().copied().collect::<Vec<_>>(), vec![10; 3]);
        first.close().await.expect("close");

        // SIGKILL the group's coordinator.
        let coordinator =
            eventually("the group's coordinator", async || client.find_coordinator(GROUP).await.ok()).await;
        let coordinator_id = (2..5)
            .find(|&id| cluster.broker(id).addr(0).to_string() == coordinator)
            .expect("the coordinator is one of the brokers");
        // Only the coordinator answers for the group: another broker says
        // NOT_COORDINATOR rather than an empty (wrong) answer of its own.
        for id in (2..5).filter(|&id| id != coordinator_id) {
            let other = cluster.broker(id).addr(0).to_string();
            let answer = client.committed_offsets(&other, GROUP, Some(&all_partitions())).await;
            let code = answer.as_ref().err().and_then(|e| e.code());
            assert_eq!(code, Some(ResponseError::NotCoordinator), "OffsetFetch at broker {id}: {answer:?}");
        }
        cluster.broker(coordinator_id).kill();
        let survivors = cluster.running_bootstrap();
        let mut client = Client::connect(&survivors, Duration::from_secs(5)).await.expect("client");
        eventually("a new coordinator", async || {
            client.find_coordinator(GROUP).await.ok().filter(|c| *c != coordinator)
        })
        .await;
        eventually("leaders on the survivors", async || {
            let metadata = client.metadata(Some(&[TOPIC]), false).await.ok()?;
            let t = metadata.topics.first()?;
            t.partitions.iter().all(|p| p.leader >= 0 && p.leader != coordinator_id).then_some(())
        })
        .await;
        produce(&survivors, 1, 5).await;

        // The next consumer of the group resumes at the commit: the five new
        // records of each partition, none of the first ten again.
        let mut second = GroupConsumer::connect(&survivors, group_config()).await.expect("consumer");
        second.subscribe([TOPIC]);
        let read = poll_records(&mut second, 15).await;
        let expected: BTreeSet<(i32, i64)> =
            (0..PARTITIONS).flat_map(|p| (10..15).map(move |o| (p, o))).collect();
        assert_eq!(read.iter().copied().collect::<BTreeSet<_>>(), expected, "read after failover: {read:?}");
        assert_eq!(read.len(), 15, "each record once: {read:?}");
        // And the new coordinator stores new commits (replicated to the survivor).
        second.commit_sync().await.expect("commit to the new coordinator");
        let committed: BTreeMap<TopicPartition, i64> =
            second.committed(&all_partitions()).await.expect("committed");
        assert_eq!(committed.values().copied().collect::<Vec<_>>(), vec![15; 3]);
        second.close().await.expect("close");

        // Deleting the topic deletes the group's offsets in it, at the
        // coordinator (Kafka's onPartitionsDeleted), though the deletion went
        // to the controller.
        let deleted = client.delete_topics(&[TOPIC]).await.expect("DeleteTopics");
        assert!(deleted.iter().all(|(_, r)| r.is_ok()), "{deleted:?}");
        let coordinator =
            eventually("the coordinator", async || client.find_coordinator(GROUP).await.ok()).await;
        eventually("the deleted topic's offsets gone", async || {
            let left = client.committed_offsets(&coordinator, GROUP, None).await.ok()?;
            left.is_empty().then_some(())
        })
        .await;
    });
}

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs `group_confluent_kafka.py scenario` (bounded by `timeout`) and fails
/// with its output unless it exited 0. A missing client fails the test,
/// naming the setup script: a test that passes without running would hide a bug.
fn confluent(scenario: &str, bootstrap: &str, state: &str) {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    let script = clients_dir().join("group_confluent_kafka.py");
    let output = Command::new("timeout")
        .args(["--kill-after=5", "60"])
        .arg(&python)
        .arg(&script)
        .args([scenario, "--bootstrap", bootstrap, "--topic", "t-failover", "--group", "g-failover"])
        .args(["--topic-exists", "--state", state])
        .current_dir(clients_dir())
        .output()
        .expect("run the scenario");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("$ {scenario}\n{stdout}{stderr}");
    assert!(output.status.success(), "{scenario} failed ({}):\n{stdout}\n{stderr}", output.status);
}

/// The same with librdkafka (confluent-kafka): a consumer reads 40 of 90
/// records of a replicated topic committing each (resume-1); the group's
/// coordinator is SIGKILLed; a new consumer of the group, bootstrapped from
/// the survivors, finds the new coordinator and resumes exactly at the
/// committed offsets, reading the other 50 once each (resume-2).
#[test]
fn confluent_kafka_resumes_at_its_commits_after_the_coordinators_death() {
    let mut cluster =
        KafkaCluster::start(3, "replica.lag.time.max.ms=3000\ngroup.initial.rebalance.delay.ms=0");
    let bootstrap = cluster.bootstrap();
    let state_dir = tempfile::tempdir().expect("tempdir");
    let state = state_dir.path().join("resume.json").display().to_string();
    runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        eventually("three unfenced brokers", async || {
            let brokers = client.metadata(Some(&[]), false).await.ok()?.brokers;
            (brokers.len() == 3).then_some(())
        })
        .await;
        // Created here, replicated: librdkafka's admin client sends CreateTopics
        // to Metadata's controller id, which is the KRaft controller (not a
        // broker a client can reach) — see the report.
        let topic = NewTopic { partitions: PARTITIONS, replication_factor: 3, ..NewTopic::new("t-failover") };
        let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
        assert!(created[0].is_ok(), "{created:?}");
        eventually("leaders for every partition", async || {
            let metadata = client.metadata(Some(&["t-failover"]), false).await.ok()?;
            let t = metadata.topics.first()?;
            (t.partitions.len() == PARTITIONS as usize && t.partitions.iter().all(|p| p.leader >= 0))
                .then_some(())
        })
        .await;
    });
    confluent("resume-1", &bootstrap, &state);
    let coordinator_id = runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        let coordinator = client.find_coordinator("g-failover").await.expect("the group's coordinator");
        (2..5).find(|&id| cluster.broker(id).addr(0).to_string() == coordinator).expect("one of the brokers")
    });
    cluster.broker(coordinator_id).kill();
    let survivors = cluster.running_bootstrap();
    confluent("resume-2", &survivors, &state);
}
