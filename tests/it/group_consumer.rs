//! Chapter 5 from the client side: spool's group consumer against spool's
//! broker, alone, in groups of two and three, across restarts, and in one
//! group with librdkafka (confluent-kafka) consumers.
//!
//! ```text
//! cargo test --release --test it group_consumer::
//! ```
//!
//! Every member runs in its own task and polls in a loop, reporting each
//! change of its assignment; a test waits (bounded) until the group settles
//! in the shape it expects. The brokers set `group.initial.rebalance.delay.ms=0`
//! and allow short sessions, so a rebalance takes a heartbeat or two.

use crate::wire::harness;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use spool::client::{
    Client, ClientError, ConsumerConfig, GroupConsumer, NewTopic, ProduceOptions, ProducerRecord,
    REQUEST_TIMEOUT_DEFAULT,
};
use spool::config::BrokerConfig;
use spool::TopicPartition;

use harness::{start, TestBroker};

/// How long a group may take to settle before a test fails: generous, it
/// only bounds a hang.
const SETTLE: Duration = Duration::from_secs(40);

const PARTITIONS: i32 = 6;

/// No initial rebalance delay; short sessions allowed.
fn fast(config: &mut BrokerConfig) {
    config.group.initial_rebalance_delay_ms = 0;
    config.group.session_timeout_ms_min = 500;
}

async fn broker_with_topic(topic: &str) -> TestBroker {
    let broker = start(fast).await;
    let mut client = Client::connect(&broker.addr.to_string(), REQUEST_TIMEOUT_DEFAULT).await.unwrap();
    let mut new_topic = NewTopic::new(topic);
    new_topic.partitions = PARTITIONS;
    for created in client.create_topics(&[new_topic], false).await.unwrap() {
        created.unwrap();
    }
    broker
}

/// Produces `per_partition` records to every partition; values name their
/// partition and a sequence number.
async fn produce(broker: &TestBroker, topic: &str, per_partition: usize, round: usize) {
    let mut client = Client::connect(&broker.addr.to_string(), REQUEST_TIMEOUT_DEFAULT).await.unwrap();
    let records: BTreeMap<i32, Vec<ProducerRecord>> = (0..PARTITIONS)
        .map(|p| {
            let batch = (0..per_partition)
                .map(|i| ProducerRecord {
                    value: Some(Bytes::from(format!("p{p}-r{round}-{i}"))),
                    ..ProducerRecord::default()
                })
                .collect();
            (p, batch)
        })
        .collect();
    client.produce(topic, records, ProduceOptions::default()).await.unwrap();
}

fn config(group: &str, props: &[(&str, &str)]) -> ConsumerConfig {
    let mut config = ConsumerConfig::default();
    let base = [
        ("group.id", group),
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "100"),
        ("max.poll.interval.ms", "10000"),
        ("auto.offset.reset", "earliest"),
        ("fetch.max.wait.ms", "100"),
    ];
    for (k, v) in base.iter().chain(props) {
        config.set(k, v).unwrap();
    }
    config
}

/// One spool group member polling in its own task.
struct Member {
    /// Every assignment it has had, in order (the last is the current one).
    history: Arc<Mutex<Vec<BTreeSet<TopicPartition>>>>,
    /// Every record it read: (partition, offset).
    records: Arc<Mutex<Vec<(i32, i64)>>>,
    /// The generation it is in (-1 outside one).
    generation: Arc<AtomicI32>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Result<(), ClientError>>,
}

impl Member {
    fn spawn(broker: &TestBroker, topic: &str, config: ConsumerConfig) -> Member {
        let history = Arc::new(Mutex::new(vec![BTreeSet::new()]));
        let records = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let generation = Arc::new(AtomicI32::new(-1));
        let (addr, topic) = (broker.addr.to_string(), topic.to_string());
        let (h, r, s, g) = (history.clone(), records.clone(), stop.clone(), generation.clone());
        let task = tokio::spawn(async move {
            let mut consumer = GroupConsumer::connect(&addr, config).await?;
            consumer.subscribe([topic]);
            // Stop between polls, never inside one: a poll cut short would
            // leave a request half-read on its connection.
            while !s.load(Ordering::SeqCst) {
                for record in consumer.poll(Duration::from_millis(100)).await? {
                    r.lock().unwrap().push((record.partition, record.record.offset));
                }
                g.store(consumer.generation_id(), Ordering::SeqCst);
                let now: BTreeSet<TopicPartition> = consumer.assignment().into_iter().collect();
                let mut history = h.lock().unwrap();
                if history.last() != Some(&now) {
                    history.push(now);
                }
            }
            consumer.close().await
        });
        Member { history, records, generation, stop, task }
    }

    fn assignment(&self) -> BTreeSet<TopicPartition> {
        self.history.lock().unwrap().last().cloned().unwrap_or_default()
    }

    fn history(&self) -> Vec<BTreeSet<TopicPartition>> {
        self.history.lock().unwrap().clone()
    }

    /// Stops polling, commits and leaves; fails the test if the member failed.
    async fn close(self) {
        self.stop.store(true, Ordering::SeqCst);
        tokio::time::timeout(SETTLE, self.task)
            .await
            .expect("the member closes in time")
            .expect("the member task did not panic")
            .expect("the member ran and closed without an error");
    }
}

/// Waits until `settled` holds, failing with `what` and `state` after [`SETTLE`].
async fn wait_until(what: &str, settled: impl Fn() -> bool, state: impl Fn() -> String) {
    let deadline = Instant::now() + SETTLE;
    while !settled() {
        assert!(Instant::now() < deadline, "not settled within {SETTLE:?}: {what}; now {}", state());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `parts` split the topic's partitions: disjoint, complete, and
/// each the size in `sizes` (sorted).
fn splits(parts: &[BTreeSet<TopicPartition>], sizes: &[usize]) -> bool {
    let total: usize = parts.iter().map(BTreeSet::len).sum();
    let union: BTreeSet<&TopicPartition> = parts.iter().flatten().collect();
    let mut actual: Vec<usize> = parts.iter().map(BTreeSet::len).collect();
    actual.sort_unstable();
    total == PARTITIONS as usize && union.len() == total && actual == sizes
}

fn show(members: &[&Member]) -> String {
    format!("{:?}", members.iter().map(|m| m.assignment()).collect::<Vec<_>>())
}

/// Two, then three spool consumers split a six-partition topic 3+3, then
/// 2+2+2; when one leaves (LeaveGroup on close) the other two take its
/// partitions back, 3+3. The classic protocol's promise: each partition read
/// by exactly one member of the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_split_partitions_and_rebalance_when_one_leaves() {
    let broker = broker_with_topic("orders").await;
    produce(&broker, "orders", 10, 0).await;
    let range = [("partition.assignment.strategy", "range")];
    let a = Member::spawn(&broker, "orders", config("split", &range));
    wait_until("a alone has all six", || splits(&[a.assignment()], &[6]), || show(&[&a])).await;
    let b = Member::spawn(&broker, "orders", config("split", &range));
    wait_until(
        "a and b split 3+3",
        || splits(&[a.assignment(), b.assignment()], &[3, 3]),
        || show(&[&a, &b]),
    )
    .await;
    let c = Member::spawn(&broker, "orders", config("split", &range));
    let three = || splits(&[a.assignment(), b.assignment(), c.assignment()], &[2, 2, 2]);
    wait_until("a, b and c split 2+2+2", three, || show(&[&a, &b, &c])).await;
    // Between them (at least once, across the rebalances) they read every record.
    let read = || -> BTreeSet<(i32, i64)> {
        [&a, &b, &c].iter().flat_map(|m| m.records.lock().unwrap().clone()).collect()
    };
    wait_until("all sixty records read", || read().len() == 60, || format!("{} read", read().len())).await;
    c.close().await;
    wait_until(
        "c left: a and b split 3+3",
        || splits(&[a.assignment(), b.assignment()], &[3, 3]),
        || show(&[&a, &b]),
    )
    .await;
    a.close().await;
    wait_until("a left: b has all six", || splits(&[b.assignment()], &[6]), || show(&[&b])).await;
    b.close().await;
}

/// A member gives partitions up only after committing its position in
/// them, so their next reader starts where it stopped: a reads all sixty
/// records; b joins and takes half the partitions, and reads none of them
/// again. Eagerly (range: a commits everything before rejoining) and
/// cooperatively (cooperative-sticky: a commits what it revokes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_change_hands_at_the_committed_offset() {
    for strategy in ["range", "cooperative-sticky"] {
        let topic = format!("handover-{strategy}");
        let broker = broker_with_topic(&topic).await;
        produce(&broker, &topic, 10, 0).await;
        // Auto commit on, but its timer far off: only the commit on revoke counts.
        let props = [("partition.assignment.strategy", strategy), ("auto.commit.interval.ms", "600000")];
        let a = Member::spawn(&broker, &topic, config("handover", &props));
        let read_by = |m: &Member| m.records.lock().unwrap().len();
        wait_until("a read all sixty", || read_by(&a) == 60, || format!("{} read", read_by(&a))).await;
        let b = Member::spawn(&broker, &topic, config("handover", &props));
        wait_until(
            "a and b split 3+3",
            || splits(&[a.assignment(), b.assignment()], &[3, 3]),
            || show(&[&a, &b]),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await; // b's first fetches
        assert_eq!(read_by(&b), 0, "{strategy}: b re-read {:?}", b.records.lock().unwrap());
        assert_eq!(read_by(&a), 60, "{strategy}: a read nothing twice");
        a.close().await;
        b.close().await;
    }
}

/// Static membership (KIP-345): a member with `group.instance.id` does not
/// leave on close, and when it comes back within `session.timeout.ms` under
/// the same instance id it gets its partitions back with no rebalance — the
/// other member stays in the same generation with the same partitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarts_without_a_rebalance() {
    let broker = broker_with_topic("static").await;
    let props = [("partition.assignment.strategy", "range"), ("group.instance.id", "host-a")];
    let a = Member::spawn(&broker, "static", config("statics", &props));
    wait_until("a alone has all six", || splits(&[a.assignment()], &[6]), || show(&[&a])).await;
    let b =
        Member::spawn(&broker, "static", config("statics", &[("partition.assignment.strategy", "range")]));
    wait_until(
        "a and b split 3+3",
        || splits(&[a.assignment(), b.assignment()], &[3, 3]),
        || show(&[&a, &b]),
    )
    .await;
    let (a_before, b_before) = (a.assignment(), b.assignment());
    let generation = b.generation.load(Ordering::SeqCst);
    wait_until(
        "a is in b's generation",
        || a.generation.load(Ordering::SeqCst) == generation,
        || show(&[&a]),
    )
    .await;
    a.close().await;
    let again = Member::spawn(&broker, "static", config("statics", &props));
    wait_until("a is back with its partitions", || again.assignment() == a_before, || show(&[&again, &b]))
        .await;
    assert_eq!(again.generation.load(Ordering::SeqCst), generation, "no new generation");
    tokio::time::sleep(Duration::from_millis(500)).await; // a few of b's heartbeats
    assert_eq!(b.generation.load(Ordering::SeqCst), generation, "b saw no rebalance");
    assert_eq!(b.history().last(), Some(&b_before));
    again.close().await;
    b.close().await;
}

/// KIP-62: a member that stops calling poll for max.poll.interval.ms is
/// taken out of the group by its own heartbeat task (LeaveGroup), well
/// before its session would time out; when it polls again it rejoins and
/// gets its partitions back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_polling_leaves_and_rejoins() {
    let broker = broker_with_topic("slow").await;
    let addr = broker.addr.to_string();
    let props = [("max.poll.interval.ms", "1000"), ("session.timeout.ms", "30000")];
    let mut slow = GroupConsumer::connect(&addr, config("slow", &props)).await.unwrap();
    slow.subscribe(["slow"]);
    let deadline = Instant::now() + SETTLE;
    while slow.assignment().len() < PARTITIONS as usize {
        assert!(Instant::now() < deadline, "never assigned: {:?}", slow.assignment());
        slow.poll(Duration::from_millis(100)).await.unwrap();
    }
    // Busy elsewhere: no poll. The heartbeats go on, but after a second the
    // task leaves the group; the 30 s session has nothing to do with it.
    let mut admin = Client::connect(&addr, REQUEST_TIMEOUT_DEFAULT).await.unwrap();
    let started = Instant::now();
    loop {
        let group = admin.describe_group("slow").await.unwrap();
        if group.members.is_empty() {
            assert_eq!(group.state, "Empty");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still a member: {group:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + SETTLE;
    while slow.assignment().len() < PARTITIONS as usize
        || admin.describe_group("slow").await.unwrap().members.len() != 1
    {
        assert!(Instant::now() < deadline, "did not rejoin: {:?}", slow.assignment());
        slow.poll(Duration::from_millis(100)).await.unwrap();
    }
    slow.close().await.unwrap();
    assert!(admin.describe_group("slow").await.unwrap().members.is_empty(), "close left the group");
}

/// Two processes with one `group.instance.id` cannot both be members
/// (KIP-345): the second takes the identity over, and the first learns from
/// its next heartbeat that it was fenced — its poll fails with
/// FENCED_INSTANCE_ID and it reads nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_with_the_same_instance_id_fences_the_first() {
    let broker = broker_with_topic("fenced").await;
    let addr = broker.addr.to_string();
    let props = [("group.instance.id", "host-a")];
    let mut first = GroupConsumer::connect(&addr, config("fence", &props)).await.unwrap();
    first.subscribe(["fenced"]);
    let deadline = Instant::now() + SETTLE;
    while first.assignment().len() < PARTITIONS as usize {
        assert!(Instant::now() < deadline, "never assigned");
        first.poll(Duration::from_millis(100)).await.unwrap();
    }
    let second = Member::spawn(&broker, "fenced", config("fence", &props));
    wait_until("the second has all six", || splits(&[second.assignment()], &[6]), || show(&[&second])).await;
    let deadline = Instant::now() + SETTLE;
    let error = loop {
        match first.poll(Duration::from_millis(100)).await {
            Err(e) => break e,
            Ok(_) => assert!(Instant::now() < deadline, "the first was never fenced"),
        }
    };
    assert_eq!(error.code(), Some(kafka_protocol::ResponseError::FencedInstanceId), "{error}");
    assert!(first.assignment().is_empty(), "a fenced member reads nothing");
    // Fatal, as in Kafka: it does not rejoin (which would fence the second).
    let again = first.poll(Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(again.code(), Some(kafka_protocol::ResponseError::FencedInstanceId));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(splits(&[second.assignment()], &[6]), "the second kept everything");
    second.close().await;
}

/// Committed offsets outlive the consumer: one consumer reads everything and
/// commits (commitSync); the next consumer of the group, after more records
/// arrive, starts where the commit left off and reads only the new ones.
/// Then the same with enable.auto.commit, whose commit on close counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_survive_a_consumer_restart() {
    let broker = broker_with_topic("events").await;
    produce(&broker, "events", 10, 0).await;
    let addr = broker.addr.to_string();
    let manual = [("enable.auto.commit", "false")];

    let mut first = GroupConsumer::connect(&addr, config("resume", &manual)).await.unwrap();
    first.subscribe(["events"]);
    let read = poll_records(&mut first, 60).await;
    assert_eq!(read.len(), 60, "the first consumer reads all sixty");
    first.commit_sync().await.unwrap();
    let all: Vec<TopicPartition> = (0..PARTITIONS).map(|p| TopicPartition::new("events", p)).collect();
    let committed = first.committed(&all).await.unwrap();
    assert_eq!(committed.values().copied().collect::<Vec<_>>(), vec![10; 6]);
    first.close().await.unwrap();

    produce(&broker, "events", 2, 1).await;
    let mut second = GroupConsumer::connect(&addr, config("resume", &manual)).await.unwrap();
    second.subscribe(["events"]);
    let read = poll_records(&mut second, 12).await;
    assert_eq!(read.len(), 12, "only the twelve new records: {read:?}");
    assert!(read.iter().all(|&(_, offset)| offset >= 10), "nothing before the commit: {read:?}");
    assert!(second.poll(Duration::from_millis(300)).await.unwrap().is_empty());
    // Closed without a commit: the group's position stays at 10.
    second.close().await.unwrap();

    let auto = [("enable.auto.commit", "true"), ("auto.commit.interval.ms", "100")];
    let mut third = GroupConsumer::connect(&addr, config("resume", &auto)).await.unwrap();
    third.subscribe(["events"]);
    assert_eq!(poll_records(&mut third, 12).await.len(), 12, "the same twelve again");
    third.close().await.unwrap(); // commits 12 per partition on the way out
    produce(&broker, "events", 1, 2).await;
    let mut fourth = GroupConsumer::connect(&addr, config("resume", &auto)).await.unwrap();
    fourth.subscribe(["events"]);
    let read = poll_records(&mut fourth, 6).await;
    assert_eq!(read.iter().map(|&(_, o)| o).collect::<BTreeSet<_>>(), BTreeSet::from([12]), "{read:?}");
    fourth.close().await.unwrap();
}

/// Polls until `count` records arrived (bounded by [`SETTLE`]).
async fn poll_records(consumer: &mut GroupConsumer, count: usize) -> Vec<(i32, i64)> {
    let deadline = Instant::now() + SETTLE;
    let mut read = Vec::new();
    while read.len() < count && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            read.push((r.partition, r.record.offset));
        }
    }
    read
}

/// cooperative-sticky (KIP-429) moves only what must move: when b joins a
/// owns six, a gives up three and keeps the rest throughout (its assignment
/// only ever shrinks); when c joins, a and b each give up one and c gets
/// exactly those two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_sticky_moves_only_what_must_move() {
    let broker = broker_with_topic("moves").await;
    let sticky = [("partition.assignment.strategy", "cooperative-sticky")];
    let a = Member::spawn(&broker, "moves", config("coop", &sticky));
    wait_until("a alone has all six", || splits(&[a.assignment()], &[6]), || show(&[&a])).await;
    let b = Member::spawn(&broker, "moves", config("coop", &sticky));
    wait_until(
        "a and b split 3+3",
        || splits(&[a.assignment(), b.assignment()], &[3, 3]),
        || show(&[&a, &b]),
    )
    .await;
    let (a_before, b_before) = (a.assignment(), b.assignment());
    let c = Member::spawn(&broker, "moves", config("coop", &sticky));
    let three = || splits(&[a.assignment(), b.assignment(), c.assignment()], &[2, 2, 2]);
    wait_until("a, b and c split 2+2+2", three, || show(&[&a, &b, &c])).await;
    assert!(a.assignment().is_subset(&a_before), "a kept two of its three");
    assert!(b.assignment().is_subset(&b_before), "b kept two of its three");
    // a's assignment only ever shrank: it never gave everything up, as an
    // eager member would, and never took anything back.
    let history = a.history();
    let full = history.iter().position(|s| s.len() == 6).expect("a had all six");
    for pair in history[full..].windows(2) {
        assert!(pair[1].is_subset(&pair[0]) && !pair[1].is_empty(), "a's history {history:?}");
    }
    for m in [a, b, c] {
        m.close().await;
    }
}

/// Another client's consumer (`tests/clients/spool_group_member.py`:
/// confluent-kafka, i.e. librdkafka, or kafka-python) in a group with spool
/// consumers, reporting its assignment on stdout.
struct ForeignMember {
    child: std::process::Child,
    assignment: Arc<Mutex<Option<BTreeSet<TopicPartition>>>>,
    output: Arc<Mutex<Vec<String>>>,
}

impl ForeignMember {
    fn spawn(client: &str, broker: &TestBroker, group: &str, topic: &str, strategy: &str) -> Self {
        let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv-clients/bin/python");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/spool_group_member.py");
        assert!(
            std::path::Path::new(python).exists(),
            "{client} is not installed: run tests/clients/setup.sh first"
        );
        let mut child = Command::new(python)
            .args([script, client, &broker.addr.to_string(), group, topic, strategy])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start spool_group_member.py");
        let assignment = Arc::new(Mutex::new(None));
        let output = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let (a, o) = (assignment.clone(), output.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(list) = line.strip_prefix("ASSIGNED") {
                    let parsed = list
                        .trim()
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|tp| {
                            let (t, p) = tp.rsplit_once(':').unwrap();
                            TopicPartition::new(t, p.parse().unwrap())
                        })
                        .collect();
                    *a.lock().unwrap() = Some(parsed);
                }
                o.lock().unwrap().push(line);
            }
        });
        ForeignMember { child, assignment, output }
    }

    fn assignment(&self) -> BTreeSet<TopicPartition> {
        self.assignment.lock().unwrap().clone().unwrap_or_default()
    }

    /// Closes its stdin: it closes its consumer (LeaveGroup) and exits.
    fn close(mut self) -> Vec<String> {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + SETTLE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let output = self.output.lock().unwrap().clone();
                assert!(status.success(), "spool_group_member.py failed: {output:?}");
                return output;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("spool_group_member.py did not exit: {:?}", self.output.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ForeignMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A spool consumer and another client's in one group split the partitions
/// 3+3 with no overlap, first with spool leading (the other client reads
/// spool's assignment bytes), then with the other client leading (it reads
/// spool's subscription; spool reads its assignment). Each side's leaving
/// hands everything back to the one that stays.
async fn mixed_group(client: &str, strategy: &str) {
    let broker = broker_with_topic("mixed").await;
    let props = [("partition.assignment.strategy", strategy)];
    // spool first: spool is the leader.
    let group = format!("mixed-spool-leads-{strategy}");
    let spool = Member::spawn(&broker, "mixed", config(&group, &props));
    wait_until("spool alone has all six", || splits(&[spool.assignment()], &[6]), || show(&[&spool])).await;
    let other = ForeignMember::spawn(client, &broker, &group, "mixed", strategy);
    let state = || format!("spool {:?}, {client} {:?}", spool.assignment(), other.output.lock().unwrap());
    wait_until("spool leads, 3+3", || splits(&[spool.assignment(), other.assignment()], &[3, 3]), state)
        .await;
    other.close();
    wait_until("the other client left", || splits(&[spool.assignment()], &[6]), || show(&[&spool])).await;
    spool.close().await;

    // The other client first: it is the leader.
    let group = format!("mixed-other-leads-{strategy}");
    let other = ForeignMember::spawn(client, &broker, &group, "mixed", strategy);
    let output = || format!("{:?}", other.output.lock().unwrap());
    wait_until("the other client alone has all six", || splits(&[other.assignment()], &[6]), output).await;
    let spool = Member::spawn(&broker, "mixed", config(&group, &props));
    let state = || format!("spool {:?}, {client} {:?}", spool.assignment(), other.output.lock().unwrap());
    let both = || splits(&[spool.assignment(), other.assignment()], &[3, 3]);
    wait_until("the other client leads, 3+3", both, state).await;
    spool.close().await;
    wait_until("spool left", || splits(&[other.assignment()], &[6]), output).await;
    other.close();
}

/// `range` between spool and librdkafka, each leading once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_group_with_librdkafka_range() {
    mixed_group("confluent-kafka", "range").await;
}

/// `cooperative-sticky` between spool and librdkafka, each leading once:
/// owned partitions and generations cross in the subscription bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_group_with_librdkafka_cooperative_sticky() {
    mixed_group("confluent-kafka", "cooperative-sticky").await;
}

/// `roundrobin` between spool and kafka-python, whose ConsumerProtocol
/// encoder is its own pure-Python one, each leading once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_group_with_kafka_python_roundrobin() {
    mixed_group("kafka-python", "roundrobin").await;
}
