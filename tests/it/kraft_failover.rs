//! A controller failover as the brokers live it (chapter 7): the active
//! controller of a 3-voter quorum is cut off from everyone, packets dropped
//! (it learns nothing, it refuses nothing). The other two elect a leader;
//! the brokers must find it — their metadata fetch and their heartbeats —
//! well within their session: a topic created after the failover reaches
//! every broker's metadata within a bound far below the 30 s a broker would
//! wait on the silent old leader with `replica.socket.timeout.ms`, and the
//! new controller fences no broker.
//!
//! ```text
//! cargo build && cargo test --test it kraft_failover:: -- --nocapture
//! ```

use crate::common::cluster;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cluster::{quorum, Cut, KafkaCluster};
use spool::client::{Client, NewTopic};

/// Short quorum timeouts; Kafka's broker session (9 s) with heartbeats every 0.5 s.
const EXTRA: &str = "controller.quorum.fetch.timeout.ms=2000\ncontroller.quorum.election.timeout.ms=1000\n\
                     broker.session.timeout.ms=9000\nbroker.heartbeat.interval.ms=500\n";

/// A functional bound: a broker that waited out a 30 s fetch on the old
/// leader misses it; one that moves on after a quorum request timeout (2 s)
/// makes it.
const REACHES_EVERY_BROKER: Duration = Duration::from_secs(15);

const PATIENCE: Duration = Duration::from_secs(60);

/// The active controller silently cut off: the brokers follow the new
/// leader within their session (no broker fenced), and a topic created
/// afterwards reaches every broker's metadata within [`REACHES_EVERY_BROKER`].
#[test]
fn brokers_follow_a_new_leader_within_their_session() {
    let mut cluster = KafkaCluster::start_quorum_behind_proxies(3, 3, EXTRA);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let controllers: Vec<(i32, SocketAddr)> =
        cluster.controller_ids().zip(cluster.controllers.iter().map(|c| c.addr(0))).collect();
    let brokers: Vec<i32> = cluster.broker_ids().collect();
    let (old, _) = runtime.block_on(quorum::wait_for_leader(&controllers, "at start", PATIENCE, |_| true));
    runtime.block_on(quorum::wait_for_brokers_caught_up(&controllers, &brokers, PATIENCE));
    let bootstrap = cluster.bootstrap();
    runtime.block_on(create(&bootstrap, "before"));

    cluster.cut_controller(old.id, Cut::Drop);
    let others: Vec<(i32, SocketAddr)> =
        controllers.iter().copied().filter(|&(id, _)| id != old.id).collect();
    let (new, took) = runtime.block_on(quorum::wait_for_leader(&others, "after the cut", PATIENCE, |l| {
        l.id != old.id && l.epoch > old.epoch
    }));
    eprintln!("controller {} leads epoch {} {took:?} after {} was cut off", new.id, new.epoch, old.id);

    let created = Instant::now();
    runtime.block_on(create(&bootstrap, "after"));
    for id in brokers.iter().copied() {
        let addr = cluster.broker(id).addr(0).to_string();
        runtime.block_on(async {
            loop {
                if has_topic(&addr, "after").await {
                    break;
                }
                assert!(
                    created.elapsed() < REACHES_EVERY_BROKER,
                    "broker {id} does not know topic `after` {REACHES_EVERY_BROKER:?} after it was created"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    eprintln!("topic `after` on every broker {:?} after CreateTopics", created.elapsed());
    // Past a whole session since the cut: a broker whose heartbeats were
    // stuck on the old leader would be fenced by now.
    std::thread::sleep(Duration::from_secs(9).saturating_sub(took));
    let log = cluster.controller(new.id).stderr();
    assert!(
        !log.contains("fenced brokers whose session expired"),
        "the new controller fenced a broker during the failover:\n{log}"
    );
    cluster.heal();
}

/// Creates `name` through the brokers (forwarded to the active controller).
async fn create(bootstrap: &str, name: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(mut client) = Client::connect(bootstrap, Duration::from_secs(5)).await {
            let topic = NewTopic { partitions: 1, replication_factor: 3, ..NewTopic::new(name) };
            if let Ok(answers) = client.create_topics(&[topic], false).await {
                if answers[0].is_ok() {
                    return;
                }
            }
        }
        assert!(Instant::now() < deadline, "CreateTopics {name} not acknowledged within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether the broker at `addr` itself (not the cluster) knows `topic`.
async fn has_topic(addr: &str, topic: &str) -> bool {
    let Ok(mut client) = Client::connect(addr, Duration::from_secs(3)).await else { return false };
    let Ok(metadata) = client.metadata(Some(&[topic]), false).await else { return false };
    metadata.topics.iter().any(|t| t.name == topic && t.error_code == 0)
}
