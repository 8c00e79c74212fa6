//! Chapter 7's costs, measured on real `spool` processes: how long a cluster
//! goes without an active controller when the active one dies, and what the
//! Raft quorum costs each metadata change (issue 14 §5).
//!
//! ```text
//! cargo bench --bench kraft              # the numbers (benches/RESULTS-kraft.md)
//! cargo bench --bench kraft -- --test    # smoke run: one failover each way, a few round trips
//! ```
//!
//! | group | what one sample is | compared |
//! |---|---|---|
//! | `kraft/failover` | SIGKILL the active controller of 3 controllers + 1 broker; time until another controller answers DescribeQuorum as the leader of a newer epoch (`leader`), and until a CreateTopics through the broker succeeds (`commit`: a record committed by the new quorum) | pre-vote on (`spool.quorum.pre.vote=true`, Kafka 4.0's only way) against off (a timed-out voter bumps the epoch at once) |
//! | `kraft/commit` | one CreateTopics, then one DeleteTopics, of a one-partition topic through the broker: each answered once the controller's records are committed | 1 voter against 3 voters |
//!
//! **Why not criterion.** A failover sample takes seconds, kills a process
//! and restarts it, and must wait for the quorum to settle before the next;
//! criterion wants many cheap iterations of one closure, with warm-up and
//! outlier analysis that would mean minutes of killing per setting. So this
//! is a small harness (`harness = false`): each measurement is repeated a
//! fixed number of times, the settings being compared take turns (so load
//! from other processes on the machine falls on both alike), and it prints
//! min / median / max of each and the ratio of the medians. `--test` (what
//! `cargo bench -- --test` passes) runs one sample of each, its failovers
//! with a quarter of the default quorum timers to keep it short.
//!
//! The processes are `tests/it/common/cluster/`'s [`KafkaCluster`], from the
//! binary cargo built for this bench (`CARGO_BIN_EXE_spool`, release for
//! `cargo bench`), every timer at Kafka's default
//! (`controller.quorum.fetch.timeout.ms=2000`,
//! `controller.quorum.election.timeout.ms=1000` plus up to as much again at
//! random), each stopped by its own pid when the bench ends.
//!
//! What the failover numbers are made of: a follower notices the leader is
//! gone only when its fetch timer runs out (up to the fetch timeout after
//! its last answered fetch), then runs an election (with pre-vote: a round
//! of pre-votes first); two followers that time out together can split
//! their votes and wait an election timeout plus jitter to try again. The
//! broker's forwarded CreateTopics then has to find the new leader
//! (`ControllerLink` tries each voter in turn).

#[path = "../tests/it/common/cluster/mod.rs"]
mod cluster;

use std::time::{Duration, Instant};

use cluster::{eventually, KafkaCluster};
use kafka_protocol::messages::describe_quorum_response::PartitionData;
use kafka_protocol::ResponseError;
use spool::client::{Client, ClientError, Connection, NewTopic};
use spool::tools::metadata_quorum::describe_quorum_request;
use tokio::runtime::Runtime;

/// Failovers per pre-vote setting.
const FAILOVERS: usize = 10;
/// CreateTopics + DeleteTopics pairs per quorum size.
const ROUND_TRIPS: usize = 200;
/// Round trips on one cluster before the other takes its turn.
const ROUND_TRIPS_PER_TURN: usize = 20;
/// How often the failover probes ask: the resolution of its numbers.
const PROBE_INTERVAL: Duration = Duration::from_millis(10);
/// The smoke run's quorum timers, a quarter of Kafka's defaults, so that
/// one failover each way takes about a second: its numbers are not for quoting.
const SMOKE_TIMERS: &str =
    "controller.quorum.fetch.timeout.ms=500\ncontroller.quorum.election.timeout.ms=250\n";
/// Every client request gives up after this long: it bounds a hang on a
/// loaded machine, it is not a measurement.
const PATIENCE: Duration = Duration::from_secs(30);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

// ---------------------------------------------------------------------------
// Asking the quorum
// ---------------------------------------------------------------------------

/// DescribeQuorum's one partition, from the controller at `addr` if it
/// answers as the leader (only the leader answers without an error).
async fn leader_answer(addr: &str) -> Option<PartitionData> {
    let mut connection = Connection::connect(addr, PATIENCE).await.ok()?;
    let response = connection.send(&describe_quorum_request()).await.ok()?;
    let partition = response.topics.into_iter().next()?.partitions.into_iter().next()?;
    (response.error_code == 0 && partition.error_code == 0).then_some(partition)
}

/// The leader and its epoch, once the quorum is settled: one leader, every
/// voter's log as long as the leader's and all of it committed, so a
/// failover starts from the same state each time.
async fn settled(controllers: &[String]) -> (i32, i32) {
    eventually("a leader with every voter caught up", async || {
        for addr in controllers {
            let Some(p) = leader_answer(addr).await else { continue };
            let leader_end = p.current_voters.iter().find(|v| v.replica_id == p.leader_id)?.log_end_offset;
            let caught_up = p.current_voters.iter().all(|v| v.log_end_offset == leader_end);
            return (caught_up && p.high_watermark == leader_end).then_some((p.leader_id.0, p.leader_epoch));
        }
        None
    })
    .await
}

/// Creates a one-partition topic through the broker; `Ok` once the
/// controller committed it (or an earlier attempt did: TOPIC_ALREADY_EXISTS).
async fn create(client: &mut Client, name: &str) -> Result<(), ClientError> {
    let topic = NewTopic { partitions: 1, replication_factor: 1, ..NewTopic::new(name) };
    match client.create_topics(&[topic], false).await?.remove(0) {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(ResponseError::TopicAlreadyExists) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn delete(client: &mut Client, name: &str) -> Result<(), ClientError> {
    client.delete_topics(&[name]).await?.remove(0).1
}

// ---------------------------------------------------------------------------
// kraft/failover
// ---------------------------------------------------------------------------

/// One cluster of the failover bench: 3 controllers and a broker, pre-vote
/// on or off.
struct FailoverCluster {
    name: &'static str,
    cluster: KafkaCluster,
    topics_created: usize,
}

/// One failover: how long until a new leader, and until a committed record;
/// and how many epochs the election took (more than one: a split vote, or
/// a candidate that lost, and another election after the election timeout).
struct Failover {
    leader: Duration,
    commit: Duration,
    epochs: i32,
}

impl FailoverCluster {
    fn start(name: &'static str, pre_vote: bool, timers: &str) -> Self {
        let cluster =
            KafkaCluster::start_quorum(3, 1, &format!("spool.quorum.pre.vote={pre_vote}\n{timers}"));
        FailoverCluster { name, cluster, topics_created: 0 }
    }

    fn controller_addrs(&self) -> Vec<String> {
        self.cluster.controllers.iter().map(|c| c.addr(0).to_string()).collect()
    }

    // ANCHOR: failover
    /// Waits for a settled quorum and a working broker, kills the leader,
    /// probes until a new leader answers and until CreateTopics commits,
    /// then restarts the killed controller.
    fn failover(&mut self, rt: &Runtime) -> Failover {
        let controllers = self.controller_addrs();
        let bootstrap = self.cluster.bootstrap();
        let (leader_id, epoch) = rt.block_on(async {
            let settled = settled(&controllers).await;
            // The broker reaches the active controller before the kill.
            let mut client = Client::connect(&bootstrap, PATIENCE).await.expect("connect");
            let name = format!("before-{}", self.topics_created);
            eventually("CreateTopics through the broker", async || create(&mut client, &name).await.ok())
                .await;
            settled
        });
        let survivors: Vec<String> = (self.cluster.controller_ids().zip(&controllers))
            .filter(|(id, _)| *id != leader_id)
            .map(|(_, addr)| addr.clone())
            .collect();
        let topic = format!("after-{}", self.topics_created);
        self.topics_created += 1;

        let killed_at = Instant::now();
        self.cluster.controller(leader_id).kill();
        let failover = rt.block_on(async {
            let leader = async {
                loop {
                    for addr in &survivors {
                        if let Some(p) = leader_answer(addr).await.filter(|p| p.leader_epoch > epoch) {
                            return (killed_at.elapsed(), p.leader_epoch - epoch);
                        }
                    }
                    tokio::time::sleep(PROBE_INTERVAL).await;
                }
            };
            let commit = async {
                loop {
                    if let Ok(mut client) = Client::connect(&bootstrap, PATIENCE).await {
                        if create(&mut client, &topic).await.is_ok() {
                            return killed_at.elapsed();
                        }
                    }
                    tokio::time::sleep(PROBE_INTERVAL).await;
                }
            };
            let ((leader, epochs), commit) = tokio::join!(leader, commit);
            Failover { leader, commit, epochs }
        });
        self.cluster.controller(leader_id).restart();
        failover
    }
    // ANCHOR_END: failover
}

fn failovers(rt: &Runtime, samples: usize, timers: &str) {
    let mut on = FailoverCluster::start("pre-vote-on", true, timers);
    let mut off = FailoverCluster::start("pre-vote-off", false, timers);
    let (mut seen_on, mut seen_off) = (Vec::new(), Vec::new());
    for i in 0..samples {
        seen_on.push(on.failover(rt));
        seen_off.push(off.failover(rt));
        eprintln!("kraft/failover: {} of {samples} each way", i + 1);
    }
    println!("\nkraft/failover, 3 controllers + 1 broker, SIGKILL of the active controller, {samples} each:");
    let leader = |seen: &[Failover]| seen.iter().map(|f| f.leader).collect::<Vec<_>>();
    let commit = |seen: &[Failover]| seen.iter().map(|f| f.commit).collect::<Vec<_>>();
    let rows = [
        (format!("{}/leader", on.name), leader(&seen_on)),
        (format!("{}/commit", on.name), commit(&seen_on)),
        (format!("{}/leader", off.name), leader(&seen_off)),
        (format!("{}/commit", off.name), commit(&seen_off)),
    ];
    for (name, seen) in &rows {
        print_row(&format!("kraft/failover/{name}"), seen);
    }
    for (name, seen) in [(on.name, &seen_on), (off.name, &seen_off)] {
        let each: Vec<String> =
            seen.iter().map(|f| format!("{:.0}ms/{}", f.leader.as_secs_f64() * 1e3, f.epochs)).collect();
        println!("  {name} each, leader after / epochs it took: {}", each.join(" "));
    }
    println!(
        "  median pre-vote off / on: leader {:.2}x, commit {:.2}x",
        ratio(&rows[2].1, &rows[0].1),
        ratio(&rows[3].1, &rows[1].1)
    );
}

// ---------------------------------------------------------------------------
// kraft/commit
// ---------------------------------------------------------------------------

// ANCHOR: commit
/// `count` CreateTopics + DeleteTopics pairs on the broker at `bootstrap`,
/// each topic new: the time of each create and each delete.
async fn round_trips(bootstrap: &str, first: usize, count: usize) -> (Vec<Duration>, Vec<Duration>) {
    let mut client = Client::connect(bootstrap, PATIENCE).await.expect("connect");
    let (mut creates, mut deletes) = (Vec::new(), Vec::new());
    for i in first..first + count {
        let name = format!("commit-{i}");
        let start = Instant::now();
        create(&mut client, &name).await.expect("CreateTopics");
        creates.push(start.elapsed());
        let start = Instant::now();
        delete(&mut client, &name).await.expect("DeleteTopics");
        deletes.push(start.elapsed());
    }
    (creates, deletes)
}
// ANCHOR_END: commit

fn commit_latency(rt: &Runtime, samples: usize, per_turn: usize) {
    let one = KafkaCluster::start_quorum(1, 1, "");
    let three = KafkaCluster::start_quorum(3, 1, "");
    let clusters = [("1-voter", &one), ("3-voters", &three)];
    let mut seen = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
    rt.block_on(async {
        for (_, cluster) in &clusters {
            let controllers: Vec<String> =
                cluster.controllers.iter().map(|c| c.addr(0).to_string()).collect();
            settled(&controllers).await;
            // The broker registered and unfenced, and every connection open.
            let mut client = Client::connect(&cluster.bootstrap(), PATIENCE).await.expect("connect");
            eventually("CreateTopics through the broker", async || create(&mut client, "warm-up").await.ok())
                .await;
            delete(&mut client, "warm-up").await.expect("DeleteTopics");
        }
        let mut done = 0;
        while done < samples {
            let turn = per_turn.min(samples - done);
            for ((_, cluster), (creates, deletes)) in clusters.iter().zip(seen.iter_mut()) {
                let (c, d) = round_trips(&cluster.bootstrap(), done, turn).await;
                creates.extend(c);
                deletes.extend(d);
            }
            done += turn;
        }
    });
    println!("\nkraft/commit, CreateTopics then DeleteTopics through the broker, {samples} each:");
    for ((name, _), (creates, deletes)) in clusters.iter().zip(&seen) {
        print_row(&format!("kraft/commit/{name}/create"), creates);
        print_row(&format!("kraft/commit/{name}/delete"), deletes);
    }
    println!(
        "  median 3 voters / 1 voter: create {:.2}x, delete {:.2}x",
        ratio(&seen[1].0, &seen[0].0),
        ratio(&seen[1].1, &seen[0].1)
    );
}

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

fn median(seen: &[Duration]) -> Duration {
    let mut sorted = seen.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ratio(a: &[Duration], b: &[Duration]) -> f64 {
    median(a).as_secs_f64() / median(b).as_secs_f64()
}

fn print_row(name: &str, seen: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (min, max) =
        (seen.iter().min().copied().unwrap_or_default(), seen.iter().max().copied().unwrap_or_default());
    println!(
        "  {name:<40} min {:>9.2} ms  median {:>9.2} ms  max {:>9.2} ms",
        ms(min),
        ms(median(seen)),
        ms(max)
    );
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test");
    let rt = runtime();
    let started = Instant::now();
    match smoke {
        true => commit_latency(&rt, 2, 1),
        false => commit_latency(&rt, ROUND_TRIPS, ROUND_TRIPS_PER_TURN),
    }
    match smoke {
        true => failovers(&rt, 1, SMOKE_TIMERS),
        false => failovers(&rt, FAILOVERS, ""),
    }
    eprintln!("kraft bench done in {:.1} s", started.elapsed().as_secs_f64());
}
