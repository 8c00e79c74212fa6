//! Chapter 10 — compaction, end to end: the broker's cleaner threads
//! (`src/log/cleaner/threads.rs`) clean compacted topics while clients
//! produce, fetch and commit over the wire.
//!
//! ```text
//! cargo build && cargo test --test it compaction::
//! ```
//!
//! - a `cleanup.policy=compact` topic keeps each key's latest record, with
//!   gaps in its offsets; a tombstone survives its first cleaning with its
//!   batch's delete horizon set (KIP-534, shown by `spool dump-log`) and is
//!   gone from the first cleaning after `delete.retention.ms`;
//! - `__consumer_offsets` stops growing: a restart after thousands of commits
//!   loads about one record per live offset, and the offsets are right;
//! - a `kill -9` during cleaning loses no key's latest value.
//!
//! No timing assertions: each test polls, with a generous deadline, for
//! what the cleaner leaves behind (`cleaner-offset-checkpoint`).

use crate::wire::harness;
use crate::wire::requests;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use spool::broker::now_ms;
use spool::config::BrokerConfig;
use spool::format::{BatchBuilder, RecordBatch};

use harness::{start, Client};
use requests::{create_topic, fetch, produce};

/// How long a test waits for the cleaner before it fails: far more than a
/// cleaning takes, on a loaded machine.
const CLEANER_DEADLINE: Duration = Duration::from_secs(60);

/// A broker whose cleaner looks for dirty logs every 100 ms.
fn eager_cleaner(config: &mut BrokerConfig) {
    config.cleaner.backoff_ms = 100;
}

/// One batch of `(key, value)` records stamped now; `None` is a tombstone.
fn keyed(records: &[(&str, Option<&str>)]) -> Bytes {
    let mut builder = BatchBuilder::default();
    let now = now_ms();
    for (key, value) in records {
        builder.append(now, Some(key.as_bytes()), value.map(str::as_bytes), &[]);
    }
    builder.build().as_bytes().clone()
}

/// Produces one batch; returns its base offset.
async fn send(client: &mut Client, topic: &str, records: &[(&str, Option<&str>)]) -> i64 {
    let answer = produce(client, topic, 0, keyed(records), 1).await;
    assert_eq!(answer.error_code, 0, "produce to {topic}");
    answer.base_offset
}

/// Every record of partition 0 from offset 0 up to the high watermark, as
/// (offset, key, value), fetched over the wire.
async fn fetch_all(client: &mut Client, topic: &str) -> Vec<(i64, String, Option<String>)> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let data = fetch(client, topic, 0, offset).await;
        assert_eq!(data.error_code, 0, "fetch {topic} at {offset}");
        let mut rest = data.records.clone().unwrap_or_default();
        if rest.is_empty() {
            assert!(offset >= data.high_watermark, "no records below the high watermark at {offset}");
            return out;
        }
        while !rest.is_empty() {
            let (batch, tail) = RecordBatch::parse(&rest).expect("whole batches");
            batch.validate().expect("CRC intact");
            for r in batch.decode_records().expect("records decode") {
                let text = |b: Bytes| String::from_utf8(b.to_vec()).expect("utf-8");
                out.push((r.offset, text(r.key.expect("keyed")), r.value.map(text)));
            }
            offset = batch.last_offset() + 1;
            rest = tail;
        }
    }
}

/// The offset `cleaner-offset-checkpoint` holds for `topic`-0, if any.
fn cleaner_checkpoint(log_dir: &Path, topic: &str) -> Option<i64> {
    let text = std::fs::read_to_string(log_dir.join("cleaner-offset-checkpoint")).ok()?;
    text.lines().find_map(|line| match line.split_whitespace().collect::<Vec<_>>()[..] {
        [t, "0", offset] if t == topic => offset.parse().ok(),
        _ => None,
    })
}

/// Waits until the cleaner has cleaned `topic`-0 up to `offset`.
async fn wait_cleaned_to(log_dir: &Path, topic: &str, offset: i64) {
    let deadline = Instant::now() + CLEANER_DEADLINE;
    while cleaner_checkpoint(log_dir, topic).is_none_or(|c| c < offset) {
        assert!(
            Instant::now() < deadline,
            "{topic} not cleaned to {offset} in time: checkpoint {:?}",
            cleaner_checkpoint(log_dir, topic)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What `spool dump-log --deep-iteration` prints for every segment of a partition.
fn dump_segments(partition_dir: &Path) -> String {
    let mut segments: Vec<_> = std::fs::read_dir(partition_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    let mut text = String::new();
    for segment in segments {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_spool"))
            .args(["dump-log", "--files", segment.to_str().unwrap(), "--deep-iteration"])
            .output()
            .expect("run spool dump-log");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        text.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    text
}

/// Asserts that `fetched` holds exactly one record per key of `latest`,
/// that record being the key's latest (a tombstone, `None`, included).
fn assert_latest_per_key(
    fetched: &[(i64, String, Option<String>)],
    latest: &BTreeMap<String, Option<String>>,
) {
    let got: BTreeMap<String, Option<String>> =
        fetched.iter().map(|(_, k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(got.len(), fetched.len(), "a key appears twice: {fetched:?}");
    assert_eq!(&got, latest, "fetched {fetched:?}");
}

// ANCHOR: latest_value_per_key
/// A compacted topic, produced to over the wire, is cleaned by the broker's
/// own threads: a Fetch from 0 returns exactly each key's latest record, at
/// its original offset (so the offsets have gaps). A tombstone is kept by
/// the first cleaning, its batch stamped with a delete horizon (KIP-534:
/// `spool dump-log` shows `deleteHorizonMs`), and removed by the first
/// cleaning after `delete.retention.ms` (Kafka's documented compaction
/// guarantees, "Log Compaction" in the Kafka docs).
#[tokio::test]
async fn a_compacted_topic_keeps_the_latest_value_per_key() {
    let broker = start(eager_cleaner).await;
    broker.broker().start_cleaner().unwrap();
    let log_dir = broker.broker().config.log_dir.clone();
    let mut client = broker.client().await;
    let configs = [
        ("cleanup.policy", "compact"),
        ("segment.bytes", "1024"),
        ("segment.ms", "100"),
        ("min.cleanable.dirty.ratio", "0.01"),
        ("delete.retention.ms", "1000"),
    ];
    create_topic(&mut client, "table", 1, &configs).await;

    let mut latest = BTreeMap::new();
    let mut produced = 0;
    for round in 0..6 {
        let records: Vec<(String, Option<String>)> = (0..10)
            .map(|k| {
                let tombstone = round == 5 && k < 2;
                (format!("k{k}"), (!tombstone).then(|| format!("v{round}")))
            })
            .collect();
        let borrowed: Vec<(&str, Option<&str>)> =
            records.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
        send(&mut client, "table", &borrowed).await;
        produced += records.len();
        latest.extend(records);
    }
    // `segment.ms` rolls the active segment on the next append once its
    // first record is older than that (by the records' clock, as Kafka's
    // `timeWaitedForRoll`), so every record above is in a sealed segment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // (Its own key: the active segment is never cleaned, so a key written
    // there keeps its older records below until the segment rolls.)
    let roll = send(&mut client, "table", &[("roll-1", Some("1"))]).await;
    latest.insert("roll-1".to_string(), Some("1".to_string()));
    wait_cleaned_to(&log_dir, "table", roll).await;

    let fetched = fetch_all(&mut client, "table").await;
    assert_latest_per_key(&fetched, &latest);
    assert!(fetched.len() < produced, "nothing was cleaned: {fetched:?}");
    assert_eq!(fetched.last().unwrap().0, roll, "offsets are kept, only records go");
    let dump = dump_segments(&log_dir.join("table-0"));
    assert!(dump.contains("deleteHorizonMs: OptionalLong["), "no delete horizon in:\n{dump}");

    // After `delete.retention.ms`, the next cleaning drops the tombstones.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    send(&mut client, "table", &[("k5", Some("v6"))]).await;
    latest.insert("k5".to_string(), Some("v6".to_string()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let roll = send(&mut client, "table", &[("roll-2", Some("2"))]).await;
    latest.insert("roll-2".to_string(), Some("2".to_string()));
    wait_cleaned_to(&log_dir, "table", roll).await;

    latest.retain(|_, v| v.is_some());
    assert_latest_per_key(&fetch_all(&mut client, "table").await, &latest);
    broker.stop().await;
}
// ANCHOR_END: latest_value_per_key

/// Commits `offset` for `group` on partitions 0 and 1 of `topic` (generation
/// -1, no member: a consumer that assigns itself its partitions).
async fn commit(client: &mut Client, group: &str, topic: &str, offset: i64) {
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::{GroupId, OffsetCommitRequest};
    use kafka_protocol::protocol::StrBytes;
    let partition =
        |p| OffsetCommitRequestPartition::default().with_partition_index(p).with_committed_offset(offset);
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(harness::name(topic))
            .with_partitions(vec![partition(0), partition(1)])]);
    let response = client.request(8, &request).await;
    let codes: Vec<i16> =
        response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect();
    assert_eq!(codes, vec![0, 0], "commit {group} at {offset}");
}

/// The committed offsets of `group` on partitions 0 and 1 of `topic`.
async fn committed(client: &mut Client, group: &str, topic: &str) -> Vec<i64> {
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
    use kafka_protocol::messages::{GroupId, OffsetFetchRequest};
    use kafka_protocol::protocol::StrBytes;
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(harness::name(topic))
            .with_partition_indexes(vec![0, 1])]));
    let response = client.request(7, &request).await;
    response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.committed_offset)).collect()
}

/// The base offset of the last segment of a partition directory: its active segment.
fn active_segment_base(partition_dir: &Path) -> i64 {
    (std::fs::read_dir(partition_dir).unwrap())
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".log")?.parse().ok())
        .max()
        .expect("a segment")
}

// ANCHOR: offsets_topic_stops_growing
/// `__consumer_offsets` is `cleanup.policy=compact` (Kafka's
/// `GroupCoordinator.offsetsTopicConfigs`): with the cleaner running, a
/// restart after a long commit loop reads about one record per live offset
/// — at most one segment's worth of recent commits more, which the cleaner
/// may not touch yet — not every commit ever made, and the groups come back
/// with their latest offsets.
#[tokio::test]
async fn a_restart_after_many_commits_loads_only_the_live_offsets() {
    const GROUPS: [&str; 3] = ["g-a", "g-b", "g-c"];
    const ROUNDS: i64 = 400;
    const SEGMENT_BYTES: usize = 4096;
    let tweak = |config: &mut BrokerConfig| {
        eager_cleaner(config);
        config.offsets_topic_num_partitions = 1;
        config.offsets_topic_segment_bytes = SEGMENT_BYTES as u64;
    };
    let broker = start(tweak).await;
    broker.broker().start_cleaner().unwrap();
    let log_dir = broker.broker().config.log_dir.clone();
    let mut client = broker.client().await;
    create_topic(&mut client, "events", 2, &[]).await;
    for round in 1..=ROUNDS {
        for group in GROUPS {
            commit(&mut client, group, "events", round).await;
        }
    }
    let offsets_dir = log_dir.join("__consumer_offsets-0");
    wait_cleaned_to(&log_dir, "__consumer_offsets", active_segment_base(&offsets_dir)).await;
    let addr = broker.addr;
    let dir = broker.stop().await;

    let broker = harness::start_on(addr, dir, tweak).await;
    let live = GROUPS.len() * 2;
    // A commit's batch is more than 70 bytes, so a segment holds fewer records than this.
    let one_segment = SEGMENT_BYTES / 70;
    let loaded = broker.broker().groups().loaded_records();
    let history = GROUPS.len() * 2 * ROUNDS as usize;
    assert!(
        loaded <= live + one_segment,
        "loaded {loaded} records for {live} live offsets ({history} commits)"
    );
    let mut client = broker.client().await;
    for group in GROUPS {
        assert_eq!(committed(&mut client, group, "events").await, vec![ROUNDS, ROUNDS], "{group}");
    }
    broker.stop().await;
}
// ANCHOR_END: offsets_topic_stops_growing

/// A `spool serve` child process (the debug binary) on `port` with its logs
/// in `log_dir`, cleaning eagerly; returns once it listens.
fn spawn_broker(port: u16, log_dir: &Path) -> std::process::Child {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["serve", "--override", &format!("listeners=PLAINTEXT://127.0.0.1:{port}")])
        .args(["--override", &format!("log.dirs={}", log_dir.display())])
        .args(["--override", "log.cleaner.backoff.ms=10"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start spool serve");
    // Read stderr until the listening line, then keep draining it so the
    // broker never blocks on a full pipe.
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("spool serve did not print `listening on` within 60 s");
    }
    child
}

// ANCHOR: kill_during_cleaning
/// A broker killed with SIGKILL while its cleaner runs — mid-map, mid-write
/// or mid-swap, wherever the kill lands — restarts and loses no key's
/// latest value: the swap's rename order and `Log::open`'s recovery of
/// `.cleaned`/`.swap`/`.deleted` files (Kafka's `LogLoader`) leave each
/// group of segments old or new, never neither. A bounded loop of kills at
/// varying moments; the last start checks every key.
#[tokio::test]
async fn a_kill_during_cleaning_loses_no_latest_value() {
    const KILLS: usize = 10;
    const KEYS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("data");
    let port = crate::common::cluster::free_port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut latest: BTreeMap<String, Option<String>> = BTreeMap::new();
    for kill in 0..=KILLS {
        let mut child = spawn_broker(port, &log_dir);
        let mut client = Client::connect(addr).await;
        if kill == 0 {
            let configs = [
                ("cleanup.policy", "compact"),
                ("segment.bytes", "2048"),
                ("min.cleanable.dirty.ratio", "0.01"),
            ];
            create_topic(&mut client, "churn", 1, &configs).await;
        }
        if kill == KILLS {
            let fetched = fetch_all(&mut client, "churn").await;
            // The newest record of each key (the active segment may still
            // hold older ones above the cleaned part) is its latest value.
            let newest: BTreeMap<String, Option<String>> =
                fetched.into_iter().map(|(_, k, v)| (k, v)).collect();
            assert_eq!(newest, latest);
            assert!(cleaner_checkpoint(&log_dir, "churn").is_some(), "the cleaner never finished a cleaning");
            let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            child.wait().unwrap();
            break;
        }
        for round in 0..30 {
            let records: Vec<(String, Option<String>)> = (0..KEYS)
                .filter(|k| (k + round) % 3 != 0)
                .map(|k| (format!("k{k}"), (k % 7 != round % 7).then(|| format!("{kill}-{round}"))))
                .collect();
            let borrowed: Vec<(&str, Option<&str>)> =
                records.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
            send(&mut client, "churn", &borrowed).await;
            latest.extend(records);
        }
        // The cleaner looks every 10 ms and the log is now dirty: kill it at
        // a different moment of its cleaning each time.
        tokio::time::sleep(Duration::from_millis(3 * kill as u64)).await;
        let status = std::process::Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
        assert!(status.unwrap().success(), "kill -KILL failed");
        child.wait().unwrap();
        // Whether this kill caught a cleaning mid-way (for the test's log).
        let leftovers: Vec<String> = (std::fs::read_dir(log_dir.join("churn-0")).unwrap())
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted"))
            .collect();
        eprintln!("kill {kill}: cleaner files left behind: {leftovers:?}");
    }
}
// ANCHOR_END: kill_during_cleaning

/// A topic's `cleanup.policy=compact` (and its other overrides) hold for its
/// log after a restart too, as Kafka's `LogManager` loads each log with its
/// topic's config: the restarted broker goes on cleaning it.
#[tokio::test]
async fn a_compacted_topic_is_still_cleaned_after_a_restart() {
    let broker = start(eager_cleaner).await;
    let mut client = broker.client().await;
    let configs =
        [("cleanup.policy", "compact"), ("segment.ms", "100"), ("min.cleanable.dirty.ratio", "0.01")];
    create_topic(&mut client, "kept", 1, &configs).await;
    send(&mut client, "kept", &[("a", Some("1")), ("b", Some("1"))]).await;
    let addr = broker.addr;
    let dir = broker.stop().await;

    let broker = harness::start_on(addr, dir, eager_cleaner).await;
    broker.broker().start_cleaner().unwrap();
    let mut client = broker.client().await;
    send(&mut client, "kept", &[("a", Some("2"))]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let roll = send(&mut client, "kept", &[("roll", Some("1"))]).await;
    wait_cleaned_to(&broker.broker().config.log_dir, "kept", roll).await;
    let fetched = fetch_all(&mut client, "kept").await;
    let expected = [("a", "2"), ("b", "1"), ("roll", "1")].map(|(k, v)| (k.to_string(), Some(v.to_string())));
    assert_latest_per_key(&fetched, &BTreeMap::from(expected));
    broker.stop().await;
}
