//! Chapter 6's costs, measured in one run: what the leader's bookkeeping
//! costs per follower fetch, and what replication costs a producer end to end
//! when the brokers are real `spool serve` processes talking over loopback.
//!
//! ```text
//! cargo bench --bench replication              # the numbers (benches/RESULTS-replication.md)
//! cargo bench --bench replication -- --test    # CI smoke-run: every bench once
//! ```
//!
//! | group | with | without |
//! |---|---|---|
//! | `replication/core` | `LeaderState::on_append` of an `acks=all` batch, then one `on_fetch` per follower of an ISR of 3 until the high watermark answers it | one `on_fetch` of a caught-up follower: no move at all |
//! | `replication/throughput` | a 3-broker cluster, replication factor 3, `acks=all` and `acks=1`; `acks=all` with produce pipelining (`spool.produce.pipelining`, the default) | one standalone broker, `acks=1`; the cluster with replication factor 1 (the cluster's path without copies); `acks=all` on a second cluster with pipelining off (`-unpipelined`: each produce answered before the next is read, Kafka's way) |
//! | `replication/latency` | one record at a time, `acks=all`, replication factor 3: the followers' fetch and the extra round trip that carries the high watermark | the same on the standalone broker and on the cluster with `acks=1` |
//!
//! The core bench runs in this process on the sans-IO `src/replication/`
//! types: no network, no disk, no clock. The end-to-end benches start the
//! processes the way the fault tests do (`tests/it/common/cluster/`: a
//! controller, node 1, and brokers 2..4, each a `spool serve` child of this
//! bench, stopped by its own pid when the bench ends) from the binary cargo
//! built for this bench (`CARGO_BIN_EXE_spool`, release for `cargo bench`),
//! with every setting at Kafka's default (`replica.fetch.wait.max.ms=500`,
//! `replica.fetch.min.bytes=1`). Every run produces with spool's own
//! [`Producer`], in this process, with the same settings: Kafka's defaults
//! (`batch.size` 16 KiB, `linger.ms` 5) with `acks` as named and
//! `enable.idempotence=false`, so that `acks=1` and `acks=all` differ in
//! nothing but the acknowledgement (chapter 8's idempotence would allow one
//! batch per partition in flight under `acks=all` only).
//!
//! All of it shares the machine's two vCPUs: the producer, up to four broker
//! processes, and, on a replicated partition, two followers fetching from the
//! leader. The numbers are the whole loop's, over loopback.

#[path = "../tests/it/common/cluster/mod.rs"]
mod cluster;

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cluster::{eventually, KafkaCluster, Node};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use spool::client::{Client, NewTopic, Producer, ProducerConfig, ProducerRecord};
use spool::replication::{
    FetchAnswer, FollowerFetch, LeaderEpochCache, LeaderState, PartitionAssignment, ReplicationConfig,
};
use tokio::runtime::Runtime;

/// Bytes of each record's value: within the 100–1000 bytes the chapter
/// measures, a mid-sized event.
const RECORD_BYTES: usize = 512;
/// Records per timed iteration of a throughput bench: 10 MB of values, a few
/// hundred 16 KiB batches.
const RECORDS_PER_ITERATION: usize = 20_000;
/// Brokers in the cluster, and the replication factor of its replicated topic.
const BROKERS: usize = 3;
/// Every client request gives up after this long, and a cluster must be ready
/// within it: it only bounds a hang on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);
/// Topics keep at most this much log per replica: retention runs in the
/// brokers every few seconds, so a long run does not fill the disk.
const SEGMENT_BYTES: &str = "16777216";
const RETENTION_BYTES: &str = "67108864";
/// The core bench's clock: it never moves, so no follower ever lags.
const NOW_MS: i64 = 1_700_000_000_000;

// ---------------------------------------------------------------------------
// 1. The core: a leader's bookkeeping per follower fetch
// ---------------------------------------------------------------------------

/// A leader of epoch 1 with an ISR of three (itself, 2 and 3), its followers
/// caught up at offset 0, `min.insync.replicas=2`.
fn leader_of_three() -> (LeaderState, LeaderEpochCache) {
    let assignment = PartitionAssignment {
        replicas: vec![1, 2, 3],
        isr: BTreeSet::from([1, 2, 3]),
        leader_epoch: 1,
        partition_epoch: 1,
    };
    let config = ReplicationConfig { min_insync_replicas: 2, ..ReplicationConfig::default() };
    let mut cache = LeaderEpochCache::new();
    let mut leader = LeaderState::become_leader(1, &assignment, config, &mut cache, 0, 0, NOW_MS);
    for follower in [2, 3] {
        leader.on_fetch(&fetch_at(follower, 0), &cache, NOW_MS).expect("a follower fetches");
    }
    (leader, cache)
}

/// Follower `replica_id`'s Fetch from `fetch_offset`, in epoch 1 (KIP-320 and
/// KIP-595 fields set, as spool's fetcher sends them).
fn fetch_at(replica_id: i32, fetch_offset: i64) -> FollowerFetch {
    FollowerFetch { replica_id, fetch_offset, last_fetched_epoch: Some(1), current_leader_epoch: Some(1) }
}

// ANCHOR: bench_core
/// `acks_all_batch`: the leader appends a batch of 10 records an `acks=all`
/// produce waits on, then both followers fetch it; the second fetch moves the
/// high watermark and answers the produce (asserted). Two follower fetches per
/// iteration. `caught_up_fetch`: a follower fetches at the log end again,
/// which moves nothing: the floor of `on_fetch`.
fn core(c: &mut Criterion) {
    let mut group = c.benchmark_group("replication/core");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    let (mut leader, cache) = leader_of_three();
    let mut log_end_offset = 0;
    group.throughput(Throughput::Elements(2));
    group.bench_function("acks_all_batch", |b| {
        b.iter(|| {
            log_end_offset += 10;
            let token = log_end_offset as u64;
            assert!(leader.on_append(log_end_offset, Some((token, log_end_offset))).is_empty());
            let first = leader.on_fetch(&fetch_at(2, log_end_offset), &cache, NOW_MS).expect("fetch");
            assert!(first.acks.is_empty(), "answered before the whole ISR had the batch");
            let second = leader.on_fetch(&fetch_at(3, log_end_offset), &cache, NOW_MS).expect("fetch");
            assert_eq!(second.acks.len(), 1, "the produce is answered once the ISR has the batch");
            black_box(second)
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("caught_up_fetch", |b| {
        b.iter(|| {
            let outcome = leader.on_fetch(&fetch_at(2, log_end_offset), &cache, NOW_MS).expect("fetch");
            assert!(matches!(outcome.answer, FetchAnswer::Records { .. }));
            black_box(outcome)
        })
    });
    group.finish();
}
// ANCHOR_END: bench_core

// ---------------------------------------------------------------------------
// 2. End to end: processes over loopback
// ---------------------------------------------------------------------------

/// The brokers the runs produce to, kept alive (and killed on drop, by their
/// own pids) for as long as the bench runs.
struct Brokers {
    _standalone: Node,
    _cluster: KafkaCluster,
    _one_at_a_time: KafkaCluster,
}

/// One way of producing: to which brokers, with which replication factor
/// and `acks`.
struct Target {
    /// The bench's parameter, e.g. `cluster-rf3-acks-all`.
    name: &'static str,
    bootstrap: String,
    topic: String,
    acks: &'static str,
}

/// A client runtime shaped like `spool perf produce`'s: two workers, so the
/// producer's sender and its acknowledgements run beside the sending loop.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

/// Creates a one-partition topic with `replication_factor` replicas once
/// `brokers` brokers are registered, and waits until its leader has the whole
/// replica set in sync: the state every produce below starts from.
async fn create_topic(bootstrap: &str, topic: &str, brokers: usize, replication_factor: i16) {
    let mut client = Client::connect(bootstrap, PATIENCE).await.expect("connect");
    eventually("every broker registered", async || {
        let metadata = client.metadata(Some(&[]), false).await.ok()?;
        (metadata.brokers.len() == brokers).then_some(())
    })
    .await;
    let configs = BTreeMap::from([
        ("segment.bytes".to_string(), SEGMENT_BYTES.to_string()),
        ("retention.bytes".to_string(), RETENTION_BYTES.to_string()),
    ]);
    let new_topic = NewTopic { partitions: 1, replication_factor, configs, ..NewTopic::new(topic) };
    for created in client.create_topics(&[new_topic], false).await.expect("CreateTopics") {
        created.expect("topic created");
    }
    eventually("a leader with every replica in sync", async || {
        let metadata = client.metadata(Some(&[topic]), false).await.ok()?;
        let partition = metadata.topics.first()?.partitions.first()?.clone();
        (partition.leader >= 0 && partition.isr.len() == replication_factor as usize).then_some(())
    })
    .await;
}

/// The producer every run uses: Kafka's defaults, `acks` as given,
/// idempotence off (see the module docs).
fn producer(rt: &Runtime, target: &Target) -> Producer {
    let mut config = ProducerConfig::new(&target.bootstrap);
    config.enable_idempotence = Some(false);
    config.set("acks", target.acks).expect("a valid acks");
    rt.block_on(Producer::connect(config)).expect("producer connects")
}

fn record() -> ProducerRecord {
    ProducerRecord { value: Some(Bytes::from(vec![b'r'; RECORD_BYTES])), ..Default::default() }
}

// ANCHOR: send_all
/// Sends `count` records to partition 0 as fast as the producer takes them,
/// flushes, and waits for every acknowledgement.
async fn send_all(producer: &Producer, topic: &str, count: usize) {
    let mut deliveries = Vec::with_capacity(count);
    for _ in 0..count {
        deliveries.push(producer.send_to_partition(topic, 0, record()).await.expect("send"));
    }
    producer.flush().await;
    for delivery in deliveries {
        delivery.await.expect("acknowledged");
    }
}
// ANCHOR_END: send_all

/// Starts the standalone broker and the cluster and creates one topic per
/// run: the standalone broker's (replication factor 1), and on the cluster an
/// RF1 topic and an RF3 topic, the latter used with both `acks`.
fn targets(rt: &Runtime) -> (Brokers, Vec<Target>) {
    let standalone = Node::start(1, |ports| format!("listeners=PLAINTEXT://127.0.0.1:{}\n", ports[0]));
    let cluster = KafkaCluster::start(BROKERS, "");
    // The same cluster with the optimisation off: each connection's produce
    // is answered before the next is read, as Kafka does.
    let one_at_a_time = KafkaCluster::start(BROKERS, "spool.produce.pipelining=false\n");
    let (single, many) = (standalone.addr(0).to_string(), cluster.bootstrap());
    let unpipelined = one_at_a_time.bootstrap();
    rt.block_on(async {
        create_topic(&single, "standalone", 1, 1).await;
        create_topic(&many, "rf1", BROKERS, 1).await;
        create_topic(&many, "rf3", BROKERS, BROKERS as i16).await;
        create_topic(&unpipelined, "rf3", BROKERS, BROKERS as i16).await;
    });
    let target = |name, bootstrap: &String, topic: &str, acks| Target {
        name,
        bootstrap: bootstrap.clone(),
        topic: topic.to_string(),
        acks,
    };
    let targets = vec![
        target("standalone-acks-1", &single, "standalone", "1"),
        target("cluster-rf1-acks-1", &many, "rf1", "1"),
        target("cluster-rf3-acks-1", &many, "rf3", "1"),
        target("cluster-rf3-acks-all", &many, "rf3", "all"),
        target("cluster-rf3-acks-all-unpipelined", &unpipelined, "rf3", "all"),
    ];
    (Brokers { _standalone: standalone, _cluster: cluster, _one_at_a_time: one_at_a_time }, targets)
}

/// Records sent and wall time, over every timed iteration, per target.
type Totals = Arc<Mutex<BTreeMap<&'static str, (u64, Duration)>>>;

// ANCHOR: bench_end_to_end
/// `throughput/<target>`: each iteration sends [`RECORDS_PER_ITERATION`]
/// records and waits for every acknowledgement. `latency/<target>`: one
/// record, sent and acknowledged before the next (one in flight).
fn end_to_end(c: &mut Criterion, rt: &Runtime, targets: &[Target], totals: &Totals) {
    let mut group = c.benchmark_group("replication/throughput");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(RECORDS_PER_ITERATION as u64));
    for target in targets {
        let producer = producer(rt, target);
        rt.block_on(send_all(&producer, &target.topic, 1)); // metadata fetched, connection open
        group.bench_function(BenchmarkId::from_parameter(target.name), |b| {
            b.iter_custom(|iterations| {
                let start = Instant::now();
                for _ in 0..iterations {
                    rt.block_on(send_all(&producer, &target.topic, RECORDS_PER_ITERATION));
                }
                let wall = start.elapsed();
                let mut totals = totals.lock().expect("totals");
                let entry = totals.entry(target.name).or_default();
                entry.0 += iterations * RECORDS_PER_ITERATION as u64;
                entry.1 += wall;
                wall
            })
        });
        rt.block_on(producer.close()).expect("close");
    }
    group.finish();

    let mut group = c.benchmark_group("replication/latency");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    for target in targets {
        let producer = producer(rt, target);
        group.bench_function(BenchmarkId::from_parameter(target.name), |b| {
            b.iter(|| rt.block_on(send_all(&producer, &target.topic, 1)))
        });
        rt.block_on(producer.close()).expect("close");
    }
    group.finish();
}
// ANCHOR_END: bench_end_to_end

/// Every target's records/s over all its timed iterations (warm-up included),
/// and its ratio to the standalone broker with `acks=1`: the issue's goal is
/// `cluster-rf3-acks-all` at 0.5 or more.
fn report(totals: &Totals) {
    let totals = totals.lock().expect("totals");
    let rate = |(records, wall): &(u64, Duration)| *records as f64 / wall.as_secs_f64();
    let Some(baseline) = totals.get("standalone-acks-1").map(rate) else { return };
    eprintln!("\nreplication/throughput, {RECORD_BYTES}-byte records, every timed iteration:");
    for (name, measured) in totals.iter() {
        eprintln!(
            "  {name:<32} {:>10.0} records/s  {:.2}x standalone-acks-1",
            rate(measured),
            rate(measured) / baseline
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    core(&mut c);
    let rt = runtime();
    let (_brokers, targets) = targets(&rt);
    let totals = Totals::default();
    end_to_end(&mut c, &rt, &targets, &totals);
    report(&totals);
    c.final_summary();
}
