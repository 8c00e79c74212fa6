//! Chapters 6 and 9 together: transactions on a three-broker cluster. A
//! transactional id's coordinator is the leader of its `__transaction_state`
//! partition (Kafka's `TransactionCoordinator.onElection` /
//! `onResignation`); its markers go to the leaders of the transaction's
//! partitions, over the network when those are other brokers; and when the
//! coordinator's broker dies, another replica of the partition takes over
//! with the state the first one acknowledged. A partition leader verifies a
//! transaction's first batch with the coordinator over the network too
//! (KIP-890 part 1), and adds a transaction version 2 producer's partition
//! to its transaction the same way (part 2).
//!
//! ```text
//! cargo build && cargo test --test it transactions_cluster::
//! ```

use crate::common::batches;
use crate::common::cluster;
use crate::wire::harness;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cluster::{eventually, KafkaCluster};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, BrokerId, DescribeTransactionsRequest, EndTxnRequest, FindCoordinatorRequest,
    InitProducerIdRequest, ListOffsetsRequest, ProduceRequest, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::client::{Client, NewTopic};

use harness::{code, name, LIST_OFFSETS_V, PRODUCE_V};

/// Five `__transaction_state` partitions (every broker leads some); a lagging
/// follower leaves the ISR within 3 s of its broker's death.
const PROPERTIES: &str = "replica.lag.time.max.ms=3000\ntransaction.state.log.num.partitions=5";
const TOPIC: &str = "payments";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn tid() -> TransactionalId {
    TransactionalId(StrBytes::from_static_str("tx"))
}

/// Waits for three unfenced brokers and creates [`TOPIC`] (3 partitions, 3
/// replicas): returns each partition's leader.
async fn three_brokers_and_a_topic(bootstrap: &str) -> Vec<i32> {
    let mut client = Client::connect(bootstrap, Duration::from_secs(5)).await.expect("client");
    eventually("three unfenced brokers", async || {
        (client.metadata(Some(&[]), false).await.ok()?.brokers.len() == 3).then_some(())
    })
    .await;
    let topic = NewTopic { partitions: 3, replication_factor: 3, ..NewTopic::new(TOPIC) };
    let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
    assert!(created[0].is_ok(), "{created:?}");
    eventually("leaders for every partition", async || {
        let metadata = client.metadata(Some(&[TOPIC]), false).await.ok()?;
        let t = metadata.topics.first()?;
        let leaders: Vec<i32> = t.partitions.iter().map(|p| p.leader).collect();
        (leaders.len() == 3 && leaders.iter().all(|&l| l >= 0)).then_some(leaders)
    })
    .await
}

/// The broker FindCoordinator (key type 1) names for "tx", asked at `addr`.
async fn coordinator_of(addr: std::net::SocketAddr) -> i32 {
    let mut client = harness::Client::connect(addr).await;
    let request =
        FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("tx")).with_key_type(1);
    eventually("a transaction coordinator", async || {
        let found = client.request(3, &request).await;
        (found.error_code == 0).then_some(found.node_id.0)
    })
    .await
}

/// InitProducerId for "tx" at its coordinator, retried while it loads: (id, epoch).
async fn init(client: &mut harness::Client) -> (i64, i16) {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(tid()))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    eventually("InitProducerId", async || {
        let r = client.request(4, &request).await;
        (r.error_code == 0).then_some((r.producer_id.0, r.producer_epoch))
    })
    .await
}

/// "tx"'s state and producer id as `client`'s broker describes it, or its error.
async fn describe(client: &mut harness::Client) -> Result<(String, i64, i16), i16> {
    let request = DescribeTransactionsRequest::default().with_transactional_ids(vec![tid()]);
    let d = client.request(0, &request).await.transaction_states.remove(0);
    match d.error_code {
        0 => Ok((d.transaction_state.to_string(), d.producer_id.0, d.producer_epoch)),
        e => Err(e),
    }
}

/// A transaction committed through the coordinator is still committed, at
/// the same producer id, when that coordinator's broker is SIGKILLed: the
/// new leader of the `__transaction_state` partition loads it from its
/// replica (every record was appended like an `acks=all` produce), answers
/// for "tx" while the other broker says NOT_COORDINATOR, and the next
/// InitProducerId bumps the epoch rather than starting afresh.
#[test]
fn a_committed_transaction_survives_the_coordinators_death() {
    let mut cluster = KafkaCluster::start(3, PROPERTIES);
    let bootstrap = cluster.bootstrap();
    runtime().block_on(async {
        let leaders = three_brokers_and_a_topic(&bootstrap).await;
        let coordinator = coordinator_of(cluster.broker(2).addr(0)).await;
        assert!(leaders.iter().any(|&l| l != coordinator), "some marker must cross brokers: {leaders:?}");
        let mut client = harness::Client::connect(cluster.broker(coordinator).addr(0)).await;
        let (pid, epoch) = init(&mut client).await;
        assert_eq!(epoch, 0);
        let add = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(tid())
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(name(TOPIC))
                .with_partitions(vec![0, 1, 2])]);
        let added = client.request(3, &add).await;
        let codes: Vec<i16> = added.results_by_topic_v3_and_below[0]
            .results_by_partition
            .iter()
            .map(|p| p.partition_error_code)
            .collect();
        assert_eq!(codes, vec![0, 0, 0]);
        let end = EndTxnRequest::default()
            .with_transactional_id(tid())
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_committed(true);
        assert_eq!(client.request(3, &end).await.error_code, 0);
        // The markers reach every partition's leader, some of them other brokers.
        eventually("CompleteCommit", async || {
            (describe(&mut client).await.ok()? == ("CompleteCommit".to_string(), pid, epoch)).then_some(())
        })
        .await;
        for other in (2..5).filter(|&id| id != coordinator) {
            let mut elsewhere = harness::Client::connect(cluster.broker(other).addr(0)).await;
            assert_eq!(
                describe(&mut elsewhere).await,
                Err(code(ResponseError::NotCoordinator)),
                "broker {other}"
            );
        }
        drop(client);

        cluster.broker(coordinator).kill();
        let survivor = (2..5).find(|&id| id != coordinator).expect("a survivor");
        let successor = eventually("a new coordinator", async || {
            let id = coordinator_of(cluster.broker(survivor).addr(0)).await;
            (id != coordinator).then_some(id)
        })
        .await;
        let mut client = harness::Client::connect(cluster.broker(successor).addr(0)).await;
        let loaded = eventually("the transaction loaded", async || describe(&mut client).await.ok()).await;
        assert_eq!(loaded, ("CompleteCommit".to_string(), pid, epoch));
        assert_eq!(init(&mut client).await, (pid, epoch + 1), "the same producer id, fenced forward");
    });
}

/// confluent-kafka's transactional producer on the cluster: the scenario of
/// `tests/it/transactions_clients.rs` with a topic of three replicas, so the
/// coordinator's markers go to other brokers over WriteTxnMarkers.
#[test]
fn confluent_kafka_transactions_on_three_brokers() {
    let cluster = KafkaCluster::start(3, PROPERTIES);
    let bootstrap = cluster.bootstrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        eventually("three unfenced brokers", async || {
            (client.metadata(Some(&[]), false).await.ok()?.brokers.len() == 3).then_some(())
        })
        .await;
    });
    let output = Command::new("timeout")
        .args(["--kill-after=5", "150"])
        .arg(&python)
        .arg(root.join("tests/clients/transactions_confluent_kafka.py"))
        .args(["--bootstrap", &bootstrap, "--replication", "3"])
        .output()
        .expect("run the scenario");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{stdout}{stderr}");
    assert!(output.status.success(), "the scenario failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("PASS "), "{stdout}");
}

/// A transactional Produce of one batch (`pid`, `epoch`, `sequence`) to
/// [`TOPIC`]'s `partition`, carrying "tx" as a producer's request does: its
/// error code. NOT_ENOUGH_REPLICAS — the leader could not reach the
/// coordinator yet, which a producer retries — is retried here too.
async fn produce_txn(
    client: &mut harness::Client,
    partition: i32,
    pid: i64,
    epoch: i16,
    sequence: i32,
) -> i16 {
    produce_txn_at(PRODUCE_V, client, partition, pid, epoch, sequence).await
}

/// [`produce_txn`] at Produce `version` (v12: a transaction version 2 producer).
async fn produce_txn_at(
    version: i16,
    client: &mut harness::Client,
    partition: i32,
    pid: i64,
    epoch: i16,
    sequence: i32,
) -> i16 {
    let builder = spool::format::BatchBuilder::default().producer(pid, epoch, sequence).transactional(true);
    let records = batches::batch_of(builder, [(spool::broker::now_ms(), "k", "v")]);
    let data = PartitionProduceData::default().with_index(partition).with_records(Some(records));
    let request = ProduceRequest::default()
        .with_transactional_id(Some(tid()))
        .with_acks(-1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(TOPIC))
            .with_partition_data(vec![data])]);
    eventually("the coordinator reachable", async || {
        let response = client.request(version, &request).await;
        let error = response.responses[0].partition_responses[0].error_code;
        (error != code(ResponseError::NotEnoughReplicas)).then_some(error)
    })
    .await
}

/// LATEST of [`TOPIC`]'s `partition` at `isolation_level`: the high
/// watermark (0) or the last stable offset (1).
async fn latest(client: &mut harness::Client, partition: i32, isolation_level: i8) -> i64 {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation_level)
        .with_topics(vec![ListOffsetsTopic::default().with_name(name(TOPIC)).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(partition).with_timestamp(-1),
        ])]);
    let response = client.request(LIST_OFFSETS_V, &request).await;
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

/// KIP-890 part 1 across brokers: the leader of a partition that is not the
/// coordinator's broker verifies a transaction's first batch with
/// AddPartitionsToTxn v4 (verify_only) over the inter-broker listener. The
/// batch of the open transaction is appended; the producer's next batch,
/// arriving after the abort, is INVALID_TXN_STATE, so the partition's last
/// stable offset is not pinned (KAFKA-14402's hanging transaction).
#[test]
fn a_leader_verifies_with_the_coordinator_on_another_broker() {
    let mut cluster = KafkaCluster::start(3, PROPERTIES);
    let bootstrap = cluster.bootstrap();
    runtime().block_on(async {
        let leaders = three_brokers_and_a_topic(&bootstrap).await;
        let coordinator = coordinator_of(cluster.broker(2).addr(0)).await;
        let (partition, leader) = (0..3)
            .map(|p| (p, leaders[p as usize]))
            .find(|&(_, leader)| leader != coordinator)
            .expect("a partition led by another broker than the coordinator");
        let mut at_coordinator = harness::Client::connect(cluster.broker(coordinator).addr(0)).await;
        let (pid, epoch) = init(&mut at_coordinator).await;
        let add = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(tid())
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(name(TOPIC))
                .with_partitions(vec![partition])]);
        let added = at_coordinator.request(3, &add).await;
        assert_eq!(added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code, 0);

        let mut at_leader = harness::Client::connect(cluster.broker(leader).addr(0)).await;
        assert_eq!(produce_txn(&mut at_leader, partition, pid, epoch, 0).await, 0, "verified remotely");
        let end = EndTxnRequest::default()
            .with_transactional_id(tid())
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_committed(false);
        assert_eq!(at_coordinator.request(3, &end).await.error_code, 0);
        eventually("CompleteAbort", async || {
            (describe(&mut at_coordinator).await.ok()?.0 == "CompleteAbort").then_some(())
        })
        .await;
        let late = produce_txn(&mut at_leader, partition, pid, epoch, 1).await;
        assert_eq!(late, code(ResponseError::InvalidTxnState), "refused by the remote coordinator");
        eventually("the abort decided on the leader", async || {
            let (stable, end) =
                (latest(&mut at_leader, partition, 1).await, latest(&mut at_leader, partition, 0).await);
            (stable == end).then_some(())
        })
        .await;
        assert_eq!(latest(&mut at_leader, partition, 0).await, 2, "the batch and its ABORT marker only");
    });
}

/// KIP-890 part 2 across brokers: a transaction version 2 producer sends no
/// AddPartitionsToTxn; the leader of its partition, on another broker than
/// the coordinator, adds the partition with AddPartitionsToTxn v5 (not
/// verify-only) over the inter-broker listener. EndTxn v5 answers the bumped
/// epoch, the COMMIT marker carries it over the network, and the late batch
/// of the committed transaction is INVALID_PRODUCER_EPOCH on the leader.
#[test]
fn a_leader_adds_a_version_2_partition_on_another_broker() {
    let mut cluster = KafkaCluster::start(3, PROPERTIES);
    let bootstrap = cluster.bootstrap();
    runtime().block_on(async {
        let leaders = three_brokers_and_a_topic(&bootstrap).await;
        let coordinator = coordinator_of(cluster.broker(2).addr(0)).await;
        let (partition, leader) = (0..3)
            .map(|p| (p, leaders[p as usize]))
            .find(|&(_, leader)| leader != coordinator)
            .expect("a partition led by another broker than the coordinator");
        let mut at_coordinator = harness::Client::connect(cluster.broker(coordinator).addr(0)).await;
        let (pid, epoch) = init(&mut at_coordinator).await;
        let mut at_leader = harness::Client::connect(cluster.broker(leader).addr(0)).await;
        assert_eq!(produce_txn_at(12, &mut at_leader, partition, pid, epoch, 0).await, 0, "added remotely");
        assert_eq!(describe(&mut at_coordinator).await.map(|d| d.0), Ok("Ongoing".to_string()));
        let end = EndTxnRequest::default()
            .with_transactional_id(tid())
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_committed(true);
        let ended = at_coordinator.request(5, &end).await;
        assert_eq!((ended.error_code, ended.producer_id.0, ended.producer_epoch), (0, pid, epoch + 1));
        eventually("CompleteCommit", async || {
            (describe(&mut at_coordinator).await.ok()?.0 == "CompleteCommit").then_some(())
        })
        .await;
        eventually("the commit decided on the leader", async || {
            let (stable, end) =
                (latest(&mut at_leader, partition, 1).await, latest(&mut at_leader, partition, 0).await);
            (stable == end && end == 2).then_some(())
        })
        .await;
        let late = produce_txn_at(12, &mut at_leader, partition, pid, epoch, 1).await;
        assert_eq!(late, code(ResponseError::InvalidProducerEpoch), "the marker's epoch fences it");
        assert_eq!(latest(&mut at_leader, partition, 0).await, 2, "the batch and its COMMIT marker only");
    });
}
