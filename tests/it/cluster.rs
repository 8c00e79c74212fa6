//! Chapter 6 end to end: a controller and three brokers as real `spool
//! serve` processes (the shape `spool cluster` starts), a topic replicated
//! three times, a leader killed, a broker back — and its leadership given
//! back by the automatic rebalance, or by an unclean election when no ISR
//! member survives.

use crate::common::cluster;

use std::process::Command;
use std::time::{Duration, Instant};

use cluster::{eventually, KafkaCluster};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{ElectLeadersRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::client::{
    Client, Connection, Consumer, ConsumerConfig, NewTopic, Producer, ProducerConfig, ProducerRecord,
};
use spool::TopicPartition;

const TOPIC: &str = "replicated";
const PATIENCE: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// (leader, ISR) of the partition, as a broker's Metadata says.
async fn leadership(bootstrap: &str) -> Option<(i32, Vec<i32>)> {
    let mut client = Client::connect(bootstrap, Duration::from_secs(5)).await.ok()?;
    let metadata = client.metadata(Some(&[TOPIC]), false).await.ok()?;
    let p = metadata.topics.first()?.partitions.first()?.clone();
    (p.leader >= 0).then(|| (p.leader, p.isr.to_vec()))
}

async fn produce(bootstrap: &str, values: std::ops::Range<u32>) {
    let producer = Producer::connect(ProducerConfig::new(bootstrap)).await.expect("producer");
    for v in values {
        let record = ProducerRecord { value: Some(v.to_string().into_bytes().into()), ..Default::default() };
        let delivery = producer.send_to_partition(TOPIC, 0, record).await.expect("send");
        delivery.await.unwrap_or_else(|e| panic!("record {v} not acknowledged: {e}"));
    }
    producer.close().await.expect("close");
}

async fn read_all(bootstrap: &str, count: usize) -> Vec<String> {
    let mut consumer = Consumer::connect(bootstrap, ConsumerConfig::default()).await.expect("consumer");
    consumer.assign([TopicPartition::new(TOPIC, 0)]);
    consumer.seek(TOPIC, 0, 0).unwrap();
    let mut read = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while read.len() < count && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap_or_default() {
            read.push(String::from_utf8(r.record.value.unwrap().to_vec()).unwrap());
        }
    }
    read
}

/// Three brokers register and are listed (kcat -L sees them); a topic with
/// replication factor 3 gets all three in its ISR; acks=all records survive
/// the SIGKILL of the partition's leader (a new leader is elected from the
/// ISR, which shrinks); the killed broker restarts, catches up and rejoins
/// the ISR (AlterPartition) — and every record is read back once, in order.
#[test]
fn a_replicated_partition_survives_its_leader() {
    let mut cluster = KafkaCluster::start(3, "replica.lag.time.max.ms=3000");
    let bootstrap = cluster.bootstrap();
    runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        let metadata = eventually("three unfenced brokers", async || {
            let metadata = client.metadata(Some(&[]), false).await.ok()?;
            (metadata.brokers.len() == 3).then_some(metadata)
        })
        .await;
        // Admin clients send CreateTopics to the "controller": it must be a broker they can reach.
        assert!(
            metadata.brokers.iter().any(|b| b.node_id == metadata.controller_id),
            "controller id {} is not a broker",
            metadata.controller_id
        );
        let topic = NewTopic { partitions: 1, replication_factor: 3, ..NewTopic::new(TOPIC) };
        let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
        assert!(created[0].is_ok(), "{created:?}");
        let (leader, isr) = eventually("a leader with a full ISR", async || {
            leadership(&bootstrap).await.filter(|(_, isr)| isr.len() == 3)
        })
        .await;
        assert!(isr.contains(&leader));
        produce(&bootstrap, 0..10).await;

        // SIGKILL the leader: the controller fences it after its session
        // times out and elects another ISR member.
        cluster.broker(leader).kill();
        let survivors = cluster.running_bootstrap();
        let (new_leader, isr) = eventually("a new leader", async || {
            leadership(&survivors).await.filter(|(l, isr)| *l != leader && !isr.contains(&leader))
        })
        .await;
        assert_eq!(isr.len(), 2, "ISR after the kill: {isr:?}");
        produce(&survivors, 10..20).await;
        assert_eq!(read_all(&survivors, 20).await, (0..20).map(|v| v.to_string()).collect::<Vec<_>>());

        // The killed broker comes back, catches up from the new leader and rejoins the ISR.
        cluster.broker(leader).restart();
        let (_, isr) = eventually("the restarted broker back in the ISR", async || {
            leadership(&bootstrap).await.filter(|(_, isr)| isr.len() == 3)
        })
        .await;
        assert!(isr.contains(&leader) && isr.contains(&new_leader));

        // Preferred leader election (kafka-leader-election.sh): the partition's
        // first replica leads again, now that it is back in the ISR.
        let preferred = client.metadata(Some(&[TOPIC]), false).await.expect("metadata").topics[0].partitions
            [0]
        .replicas[0];
        let mut connection =
            Connection::connect(bootstrap.split(',').next().unwrap(), Duration::from_secs(5))
                .await
                .expect("connection");
        let request = ElectLeadersRequest::default()
            .with_election_type(0)
            .with_topic_partitions(Some(vec![TopicPartitions::default()
                .with_topic(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_partitions(vec![0])]))
            .with_timeout_ms(10_000);
        let response = connection.send(&request).await.expect("ElectLeaders");
        let code = response.replica_election_results[0].partition_result[0].error_code;
        let expected = if new_leader == preferred { ResponseError::ElectionNotNeeded.code() } else { 0 };
        assert_eq!(code, expected, "ElectLeaders answered {response:?}");
        eventually("the preferred replica leading", async || {
            leadership(&bootstrap).await.filter(|(l, isr)| *l == preferred && isr.len() == 3)
        })
        .await;
        let again = connection.send(&request).await.expect("ElectLeaders");
        assert_eq!(
            again.replica_election_results[0].partition_result[0].error_code,
            ResponseError::ElectionNotNeeded.code()
        );
    });

    // A Kafka client lists the three brokers.
    let kcat =
        Command::new("kcat").args(["-L", "-b", &bootstrap, "-t", TOPIC]).output().expect("kcat on PATH");
    let listing = String::from_utf8_lossy(&kcat.stdout);
    assert!(listing.contains(" 3 brokers:"), "{listing}");
    assert!(listing.contains("replicas: ") && listing.contains("isrs: "), "{listing}");
}

/// Kafka's combined mode (`process.roles=broker,controller`): one process is
/// the controller (on its CONTROLLER listener) and a broker that registers
/// with it, fetches its metadata, and serves clients; SIGTERM stops it cleanly.
#[test]
fn a_combined_node_is_its_own_controller() {
    let mut node = cluster::Node::start(2, |ports| {
        format!(
            "node.id=1\nprocess.roles=broker,controller\n\
             listeners=PLAINTEXT://127.0.0.1:{0},CONTROLLER://127.0.0.1:{1}\n\
             controller.listener.names=CONTROLLER\ncontroller.quorum.voters=1@127.0.0.1:{1}\n",
            ports[0], ports[1]
        )
    });
    let bootstrap = node.addr(0).to_string();
    runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        eventually("the broker unfenced", async || {
            let brokers = client.metadata(Some(&[]), false).await.ok()?.brokers;
            (brokers.len() == 1).then_some(())
        })
        .await;
        let created =
            client.create_topics(&[NewTopic { partitions: 1, ..NewTopic::new(TOPIC) }], false).await;
        assert!(created.expect("CreateTopics")[0].is_ok());
        eventually("a leader", async || leadership(&bootstrap).await).await;
        produce(&bootstrap, 0..3).await;
        assert_eq!(read_all(&bootstrap, 3).await, ["0", "1", "2"]);
    });
    let status = node.stop().expect("exited");
    assert!(status.success(), "{status:?}: {}", node.stderr());
}

/// Fast failure detection, and a leader rebalance check every second.
const FAST: &str = "broker.session.timeout.ms=3000\nbroker.heartbeat.interval.ms=500\n\
    replica.lag.time.max.ms=3000\nleader.imbalance.check.interval.seconds=1";

/// (leader, ISR, replicas) of the partition as a broker's Metadata says,
/// a leader of -1 included.
async fn partition_state(bootstrap: &str) -> Option<(i32, Vec<i32>, Vec<i32>)> {
    let mut client = Client::connect(bootstrap, Duration::from_secs(5)).await.ok()?;
    let metadata = client.metadata(Some(&[TOPIC]), false).await.ok()?;
    let p = metadata.topics.first()?.partitions.first()?.clone();
    Some((p.leader, p.isr.to_vec(), p.replicas.to_vec()))
}

/// Starts three brokers with `extra`, creates an RF3 topic, SIGKILLs its
/// leader (the preferred replica), waits for another to lead, restarts it and
/// waits until it is back in the ISR. Returns the cluster and the preferred
/// replica, which now follows.
fn kill_and_bring_back_the_preferred_leader(extra: &str) -> (KafkaCluster, i32) {
    let mut cluster = KafkaCluster::start(3, extra);
    let bootstrap = cluster.bootstrap();
    let preferred = runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        eventually("three unfenced brokers", async || {
            (client.metadata(Some(&[]), false).await.ok()?.brokers.len() == 3).then_some(())
        })
        .await;
        let topic = NewTopic { partitions: 1, replication_factor: 3, ..NewTopic::new(TOPIC) };
        assert!(client.create_topics(&[topic], false).await.expect("CreateTopics")[0].is_ok());
        let (leader, _, replicas) = eventually("a leader with a full ISR", async || {
            partition_state(&bootstrap).await.filter(|(l, isr, _)| *l >= 0 && isr.len() == 3)
        })
        .await;
        assert_eq!(leader, replicas[0], "a new partition is led by its first replica");
        leader
    });
    cluster.broker(preferred).kill();
    let survivors = cluster.running_bootstrap();
    runtime().block_on(eventually("another leader", async || {
        partition_state(&survivors).await.filter(|(l, _, _)| *l >= 0 && *l != preferred)
    }));
    cluster.broker(preferred).restart();
    runtime().block_on(eventually("the preferred replica back in the ISR", async || {
        partition_state(&bootstrap).await.filter(|(_, isr, _)| isr.len() == 3)
    }));
    (cluster, preferred)
}

/// `auto.leader.rebalance.enable` (on by default): once the preferred replica
/// is back in the ISR, the controller's rebalance check (every
/// `leader.imbalance.check.interval.seconds`) gives it its leadership back
/// by itself, with no ElectLeaders sent.
#[test]
fn leadership_returns_to_the_preferred_replica_by_itself() {
    let (cluster, preferred) = kill_and_bring_back_the_preferred_leader(FAST);
    let bootstrap = cluster.bootstrap();
    runtime().block_on(eventually("the preferred replica leading again", async || {
        partition_state(&bootstrap).await.filter(|(l, isr, _)| *l == preferred && isr.len() == 3)
    }));
}

/// With `auto.leader.rebalance.enable=false` the leadership stays where the
/// failure put it: after several check intervals the preferred replica still
/// follows.
#[test]
fn no_automatic_rebalance_when_disabled() {
    let (cluster, preferred) =
        kill_and_bring_back_the_preferred_leader(&format!("{FAST}\nauto.leader.rebalance.enable=false"));
    let bootstrap = cluster.bootstrap();
    std::thread::sleep(Duration::from_secs(4)); // four check intervals, sixteen controller ticks
    let (leader, isr, _) = runtime().block_on(partition_state(&bootstrap)).expect("metadata");
    assert_ne!(leader, preferred, "the leadership moved back though the rebalance is off (ISR {isr:?})");
}

/// ElectLeaders, forwarded by a broker to the controller: with every
/// partition asked (none named) those already led by their preferred
/// replica are left out of the answer; an unknown election type is
/// INVALID_REQUEST (Kafka's `getErrorResponse`); UNCLEAN (type 1) on a partition whose
/// only ISR member is dead answers ELIGIBLE_LEADERS_NOT_AVAILABLE while no
/// replica lives, then elects the replica that came back from outside the
/// ISR (alone in the new ISR), and then is not needed.
#[test]
fn an_unclean_election_through_a_broker() {
    let mut cluster = KafkaCluster::start(3, FAST);
    let bootstrap = cluster.bootstrap();
    let rt = runtime();
    let (first, second) = rt.block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        eventually("three unfenced brokers", async || {
            (client.metadata(Some(&[]), false).await.ok()?.brokers.len() == 3).then_some(())
        })
        .await;
        let topic = NewTopic { partitions: 1, replication_factor: 2, ..NewTopic::new(TOPIC) };
        assert!(client.create_topics(&[topic], false).await.expect("CreateTopics")[0].is_ok());
        let (_, _, replicas) = eventually("a leader with a full ISR", async || {
            partition_state(&bootstrap).await.filter(|(l, isr, _)| *l >= 0 && isr.len() == 2)
        })
        .await;
        (replicas[0], replicas[1])
    });
    let other = (2..=4).find(|id| *id != first && *id != second).expect("a broker outside the replicas");
    let other_addr = cluster.broker(other).addr(0).to_string();
    let elect = |election_type: i8, partitions: Option<Vec<TopicPartitions>>| {
        let addr = other_addr.clone();
        async move {
            let mut connection =
                Connection::connect(&addr, Duration::from_secs(5)).await.expect("connection");
            let request = ElectLeadersRequest::default()
                .with_election_type(election_type)
                .with_topic_partitions(partitions)
                .with_timeout_ms(10_000);
            connection.send(&request).await.expect("ElectLeaders")
        }
    };
    let ours = || {
        Some(vec![TopicPartitions::default()
            .with_topic(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partitions(vec![0])])
    };
    let code = |response: &kafka_protocol::messages::ElectLeadersResponse| {
        response.replica_election_results[0].partition_result[0].error_code
    };
    rt.block_on(async {
        let all = elect(0, None).await;
        assert!(all.replica_election_results.iter().all(|r| r.partition_result.is_empty()), "{all:?}");
        // An election type Kafka does not know: INVALID_REQUEST, for the request and each partition.
        let unknown = elect(2, ours()).await;
        let codes = (unknown.error_code, code(&unknown));
        assert_eq!(
            codes,
            (ResponseError::InvalidRequest.code(), ResponseError::InvalidRequest.code()),
            "{unknown:?}"
        );

        // The follower dies, then the leader: the ISR keeps the leader, the one
        // replica known to hold every committed record, and nobody leads.
        cluster.broker(second).kill();
        let survivors = cluster.running_bootstrap();
        eventually("the follower out of the ISR", async || {
            partition_state(&survivors).await.filter(|(_, isr, _)| *isr == [first])
        })
        .await;
        cluster.broker(first).kill();
        let survivors = cluster.running_bootstrap();
        eventually("no leader", async || partition_state(&survivors).await.filter(|(l, _, _)| *l < 0)).await;
        let response = elect(1, ours()).await;
        assert_eq!(code(&response), ResponseError::EligibleLeadersNotAvailable.code(), "{response:?}");

        // The follower comes back: outside the ISR, no clean election picks it.
        cluster.broker(second).restart();
        let mut client = Client::connect(&other_addr, Duration::from_secs(5)).await.expect("client");
        eventually("the follower unfenced", async || {
            let brokers = client.metadata(Some(&[]), false).await.ok()?.brokers;
            brokers.iter().any(|b| b.node_id == second).then_some(())
        })
        .await;
        let response = elect(1, ours()).await;
        assert_eq!(code(&response), 0, "{response:?}");
        eventually("the follower leading, alone in the ISR", async || {
            partition_state(&other_addr).await.filter(|(l, isr, _)| *l == second && *isr == [second])
        })
        .await;
        let response = elect(1, ours()).await;
        assert_eq!(code(&response), ResponseError::ElectionNotNeeded.code(), "{response:?}");
    });
}
