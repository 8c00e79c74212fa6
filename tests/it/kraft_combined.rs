//! Kafka's combined mode as a cluster (issue 14 §2): three processes, each
//! `process.roles=broker,controller` — a voter of the KRaft quorum and a
//! broker in one — lose the one that is the active controller to SIGKILL.
//! Losing it costs both the quorum's leader and a broker at once, which a
//! cluster of dedicated controllers never sees together.
//!
//! ```text
//!  node 1 [voter|broker]   node 2 [voter|broker]   node 3 [voter|broker]
//!        ▲ active controller (say)
//!        └─ SIGKILL ─▶ 2 and 3 elect a new quorum leader (KIP-595), which
//!           fences the dead broker and moves its partition leaderships;
//!           produce, consume, CreateTopics go on; node 1 restarts, its
//!           metadata log catches up as a voter, its replicas rejoin the ISR.
//! ```
//!
//! The check is on the history, not on counts: every acks=all write the
//! cluster acknowledged, before, during and after the failover, is read
//! back at the offset its acknowledgement named, once, in send order
//! (`cluster::check`). Waits are functional bounds that only catch a hang.
//!
//! ```text
//! cargo build && cargo test --test it kraft_combined:: -- --nocapture
//! ```

use crate::common::cluster;

use std::time::{Duration, Instant};

use cluster::{eventually, quorum, Ack, CombinedCluster, History, Read, Stored};
use spool::client::{Client, Consumer, ConsumerConfig, NewTopic, Producer, ProducerConfig, ProducerRecord};
use spool::TopicPartition;

/// Short quorum timeouts and a short broker session, so the failover is
/// quick; the ISR shrinks after 3 s without a fetch.
const EXTRA: &str = "controller.quorum.fetch.timeout.ms=2000\ncontroller.quorum.election.timeout.ms=1000\n\
                     broker.session.timeout.ms=3000\nbroker.heartbeat.interval.ms=500\n\
                     replica.lag.time.max.ms=3000\n";

const TOPIC: &str = "combined";
const PARTITIONS: i32 = 3;

/// A functional bound on each wait: a hang, not a speed target.
const PATIENCE: Duration = Duration::from_secs(60);

/// Three combined nodes elect a quorum leader and serve an RF 3 topic; the
/// node that is the active controller is SIGKILLed: another node leads the
/// quorum at a higher epoch, the partitions it led get new leaders, records
/// are still produced (acks=all) and read, CreateTopics succeeds; the node
/// restarts, its metadata log catches up with the quorum's high watermark
/// and it is back in every ISR. Every acknowledged record is read back where
/// its acknowledgement put it.
#[test]
fn three_combined_nodes_survive_the_loss_of_the_active_controller() {
    let mut cluster = CombinedCluster::start(3, EXTRA);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let controllers = cluster.controllers();
    let bootstrap = cluster.bootstrap();
    let mut history = History::default();

    let (old, _) = runtime.block_on(quorum::wait_for_leader(&controllers, "at start", PATIENCE, |_| true));
    runtime.block_on(async {
        eventually("three unfenced brokers", async || {
            let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.ok()?;
            (client.metadata(Some(&[]), false).await.ok()?.brokers.len() == 3).then_some(())
        })
        .await;
        create(&bootstrap, TOPIC, PARTITIONS, 3).await;
        wait_for_partitions(&bootstrap, TOPIC, PARTITIONS, |_, isr| isr.len() == 3).await;
        history.acks.extend(produce(&bootstrap, "before", 0..30).await);
    });

    // The active controller is also a broker leading some partitions.
    cluster.node(old.id).kill();
    let survivors: Vec<_> = controllers.iter().copied().filter(|&(id, _)| id != old.id).collect();
    let (new, _) = runtime.block_on(quorum::wait_for_leader(&survivors, "after the kill", PATIENCE, |l| {
        l.id != old.id && l.epoch > old.epoch
    }));
    eprintln!("node {} leads the quorum at epoch {} after node {} was killed", new.id, new.epoch, old.id);
    let running = cluster.running_bootstrap();
    runtime.block_on(async {
        // The new controller fences the dead broker and moves its leaderships.
        wait_for_partitions(&running, TOPIC, PARTITIONS, |leader, isr| {
            leader != old.id && !isr.contains(&old.id)
        })
        .await;
        history.acks.extend(produce(&running, "during", 30..60).await);
        let acked = history.acks.len();
        history.reads.extend(read_all(&running, acked).await.into_iter().map(|s| Read {
            reader: 0,
            value: s.value,
            partition: s.partition,
            offset: s.offset,
        }));
        // The new controller takes CreateTopics (two brokers live: RF 2).
        create(&running, "after-failover", 1, 2).await;
        wait_for_partitions(&running, "after-failover", 1, |_, isr| isr.len() == 2).await;
    });

    // Back: as a voter its metadata log catches up, as a broker its replicas
    // fetch from the new leaders until they rejoin every ISR.
    cluster.node(old.id).restart();
    runtime.block_on(async {
        wait_for_voters_caught_up(&controllers).await;
        wait_for_partitions(&bootstrap, TOPIC, PARTITIONS, |_, isr| isr.len() == 3).await;
        history.acks.extend(produce(&bootstrap, "after", 60..90).await);
        history.final_read = read_all(&bootstrap, history.acks.len()).await;
    });

    assert_eq!(history.acks.len(), 90, "every send is acknowledged");
    let violations = cluster::check(&history);
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(history.final_read.len(), 90, "exactly the acknowledged records are stored");
    for id in cluster.ids() {
        let status = cluster.node(id).stop().expect("running");
        assert!(status.success(), "node {id}: {status:?}\n{}", cluster.node(id).stderr());
    }
}

/// Creates `name` through the brokers (forwarded to the active controller),
/// retrying while no controller answers.
async fn create(bootstrap: &str, name: &str, partitions: i32, replication_factor: i16) {
    let deadline = Instant::now() + PATIENCE;
    let mut last = None;
    loop {
        if let Ok(mut client) = Client::connect(bootstrap, Duration::from_secs(5)).await {
            let topic = NewTopic { partitions, replication_factor, ..NewTopic::new(name) };
            match client.create_topics(&[topic], false).await {
                Ok(answers) if answers[0].is_ok() => return,
                other => last = Some(format!("{other:?}")),
            }
        }
        assert!(
            Instant::now() < deadline,
            "CreateTopics {name} not acknowledged within {PATIENCE:?}: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until every partition of `topic` has a leader and `accept(leader,
/// ISR)` holds for each, as one broker's Metadata says.
async fn wait_for_partitions(bootstrap: &str, topic: &str, count: i32, accept: impl Fn(i32, &[i32]) -> bool) {
    let mut seen = None;
    let waited = async {
        loop {
            if let Some(state) = partitions(bootstrap, topic).await {
                if state.len() == count as usize && state.iter().all(|(l, isr)| *l >= 0 && accept(*l, isr)) {
                    return;
                }
                seen = Some(state);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    if tokio::time::timeout(PATIENCE, waited).await.is_err() {
        panic!("{topic}'s partitions not as expected within {PATIENCE:?}; last (leader, ISR): {seen:?}");
    }
}

/// (leader, ISR) of every partition of `topic`, in partition order.
async fn partitions(bootstrap: &str, topic: &str) -> Option<Vec<(i32, Vec<i32>)>> {
    let mut client = Client::connect(bootstrap, Duration::from_secs(5)).await.ok()?;
    let metadata = client.metadata(Some(&[topic]), false).await.ok()?;
    let mut found = metadata.topics.into_iter().find(|t| t.name == topic && t.error_code == 0)?.partitions;
    found.sort_by_key(|p| p.partition);
    Some(found.into_iter().map(|p| (p.leader, p.isr.to_vec())).collect())
}

/// Sends `<phase>-<n>` for each `n` to partition `n % PARTITIONS`, acks=all,
/// one at a time; returns each acknowledgement. Every send must be
/// acknowledged (the producer retries through leader changes).
async fn produce(bootstrap: &str, phase: &str, values: std::ops::Range<u32>) -> Vec<Ack> {
    // InitProducerId is retriable (COORDINATOR_NOT_AVAILABLE while a broker
    // has no producer id block from the new controller yet); this client's
    // connect does not retry it, so the test does, as Kafka's producer would.
    let deadline = Instant::now() + PATIENCE;
    let producer = loop {
        match Producer::connect(ProducerConfig::new(bootstrap)).await {
            Ok(producer) => break producer,
            Err(e) if Instant::now() < deadline => eprintln!("{phase}: producer not ready: {e}"),
            Err(e) => panic!("{phase}: no producer within {PATIENCE:?}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut acks = Vec::new();
    for n in values {
        let value = format!("{phase}-{n:03}");
        let record = ProducerRecord { value: Some(value.clone().into_bytes().into()), ..Default::default() };
        let partition = n as i32 % PARTITIONS;
        let delivery = producer.send_to_partition(TOPIC, partition, record).await.expect("send");
        let metadata = delivery.await.unwrap_or_else(|e| panic!("{value} not acknowledged: {e}"));
        acks.push(Ack { producer: 0, value, partition: metadata.partition, offset: metadata.offset });
    }
    producer.close().await.expect("close");
    acks
}

/// Every record of every partition of [`TOPIC`] from offset 0, until
/// `count` are read (or [`PATIENCE`] passes: the checker then names what
/// is missing).
async fn read_all(bootstrap: &str, count: usize) -> Vec<Stored> {
    let mut consumer = Consumer::connect(bootstrap, ConsumerConfig::default()).await.expect("consumer");
    consumer.assign((0..PARTITIONS).map(|p| TopicPartition::new(TOPIC, p)));
    for p in 0..PARTITIONS {
        consumer.seek(TOPIC, p, 0).expect("seek");
    }
    let mut read = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while read.len() < count && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap_or_default() {
            let value = String::from_utf8(r.record.value.expect("a value").to_vec()).expect("utf-8");
            read.push(Stored { value, partition: r.partition, offset: r.record.offset });
        }
    }
    // A little longer: a record beyond `count` (stored twice) must show too.
    for r in consumer.poll(Duration::from_millis(500)).await.unwrap_or_default() {
        let value = String::from_utf8(r.record.value.expect("a value").to_vec()).expect("utf-8");
        read.push(Stored { value, partition: r.partition, offset: r.record.offset });
    }
    read
}

/// Waits until every voter's metadata log reaches the high watermark the
/// quorum leader reported when this began (DescribeQuorum's current voters):
/// the restarted node has caught up with every change made while it was down.
async fn wait_for_voters_caught_up(controllers: &[(i32, std::net::SocketAddr)]) {
    let mut target = None;
    let mut last = None;
    let waited = async {
        loop {
            if let Some(leader) = quorum::leader(controllers).await {
                let addr = controllers.iter().find(|(id, _)| *id == leader.id).expect("a voter").1;
                if let Some((high_watermark, voters)) = quorum::voters(addr).await {
                    let target = *target.get_or_insert(high_watermark);
                    let all = controllers
                        .iter()
                        .all(|(id, _)| voters.iter().any(|&(v, end)| v == *id && end >= target));
                    if all {
                        return;
                    }
                    last = Some((target, voters));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    if tokio::time::timeout(PATIENCE, waited).await.is_err() {
        panic!("voters not caught up within {PATIENCE:?}: (target, (voter, log end offset)) {last:?}");
    }
}
