//! Chapter 10's real clients (issue 16 §3): every client family reads a
//! compacted topic from the start, and consumer groups resume at their
//! committed offsets after the broker's cleaner compacted `__consumer_offsets`
//! under them and the broker restarted.
//!
//! ```text
//! tests/clients/setup.sh                      # once: .venv-clients/, node_modules/
//! cargo build && cargo test --test it compaction_clients::
//! ```
//!
//! A cleaned log is not the log that was written: offsets have gaps (each key
//! keeps only its latest record), and every old segment's last batch stays,
//! emptied if none of its records did, as Kafka keeps a producer's last batch
//! for its state. A client that steps from one record to the next, or treats a
//! batch with no records as the end of the partition, stalls on it. The
//! scripts (`tests/clients/compaction_*`) say what they do; this file says
//! what a reader must see and checks it.
//!
//! The broker is the `spool` binary cargo built for the test (`spool serve`),
//! so the cleaner runs as it does in production and the group test can stop
//! and restart it on the same log dir. The test waits for the cleaner by
//! reading `cleaner-offset-checkpoint` in the log dir (with a deadline), so a
//! broker whose cleaner never runs fails here, naming that, rather than
//! passing on an uncleaned log; and it proves with `spool dump-log` that the
//! log the clients read has gaps and emptied batches. A client that is not
//! installed fails its test, naming the setup script. The tests take their
//! turn with the other real-client tests (run.sh's lock file).

use crate::common::clients::{clients_dir, python_with};
use crate::common::turn;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bounds one client script; each script also has its own 40 s deadline.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

/// How long the cleaner may take to reach an offset: it runs every
/// `log.cleaner.backoff.ms` (100 ms here), so this only bounds a cleaner that
/// never runs.
const CLEANED_WAIT: Duration = Duration::from_secs(60);

/// How often a `spool dump-log` that raced a swap is tried.
const DUMP_ATTEMPTS: usize = 10;

/// From `spool serve`'s spawn to its `listening on` line.
const BROKER_START_WAIT: Duration = Duration::from_secs(30);

/// The compacted topic (`compaction_produce.py` creates it, one partition).
const TOPIC: &str = "table";

// The clients

/// One client family, as the test runs it.
#[derive(Clone, Copy, Debug)]
enum Client {
    ConfluentKafka,
    KafkaPython,
    Aiokafka,
    Kafkajs,
    Kcat,
}

impl Client {
    const ALL: [Client; 5] =
        [Client::ConfluentKafka, Client::KafkaPython, Client::Aiokafka, Client::Kafkajs, Client::Kcat];

    fn name(self) -> &'static str {
        match self {
            Client::ConfluentKafka => "confluent-kafka",
            Client::KafkaPython => "kafka-python",
            Client::Aiokafka => "aiokafka",
            Client::Kafkajs => "kafkajs",
            Client::Kcat => "kcat",
        }
    }

    /// The command that runs this client's reader, before its mode's flags.
    fn reader(self, bootstrap: &str) -> Command {
        let mut command = Command::new("timeout");
        command.arg("--kill-after=5").arg(SCRIPT_TIMEOUT.as_secs().to_string());
        match self {
            Client::ConfluentKafka | Client::KafkaPython | Client::Aiokafka => {
                let module = ["confluent_kafka", "kafka", "aiokafka"][self as usize];
                command.arg(python_with(module)).arg(clients_dir().join("compaction_read.py"));
                command.args(["--client", self.name()]);
            }
            Client::Kafkajs => {
                let kafkajs = clients_dir().join("node_modules/kafkajs/package.json");
                assert!(
                    kafkajs.exists(),
                    "{} is missing: run tests/clients/setup.sh first",
                    kafkajs.display()
                );
                command.arg("node").arg(clients_dir().join("compaction_read_kafkajs.js"));
            }
            Client::Kcat => panic!("kcat reads with its own flags (read_from_start)"),
        }
        command.args(["--bootstrap", bootstrap, "--topic", TOPIC]).current_dir(clients_dir());
        command
    }
}

/// Runs `command`, prints its output, and fails with it unless it exited 0;
/// returns its stdout.
fn run(what: &str, mut command: Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- {what} ---\n{stdout}{stderr}");
    assert!(output.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", output.status);
    stdout
}

// The broker

/// A `spool serve` process on a log dir that outlives it.
struct Broker {
    child: Child,
    bootstrap: String,
    log_dir: PathBuf,
}

/// The settings both tests give the broker: a cleaner that looks for work
/// every 100 ms, and `__consumer_offsets` in one partition of 1 KiB segments,
/// so a few hundred commits make a history the cleaner can compact.
const BROKER_SETTINGS: [&str; 4] = [
    "log.cleaner.backoff.ms=100",
    "offsets.topic.num.partitions=1",
    "offsets.topic.segment.bytes=1024",
    "group.initial.rebalance.delay.ms=0",
];

impl Broker {
    /// Starts `spool serve` on `dir/logs` (which may hold a previous broker's
    /// logs) on a free port, its output appended to `dir/broker.log`.
    fn start(dir: &Path) -> Broker {
        let log_dir = dir.join("logs");
        let port = crate::common::cluster::free_port();
        let output_path = dir.join("broker.log");
        let output =
            std::fs::OpenOptions::new().create(true).append(true).open(&output_path).expect("broker.log");
        let from = output.metadata().expect("metadata").len() as usize;
        let mut command = Command::new(env!("CARGO_BIN_EXE_spool"));
        command.arg("serve").env("NO_COLOR", "1").env("RUST_LOG", "info").stdin(Stdio::null());
        command.arg("--override").arg(format!("listeners=PLAINTEXT://127.0.0.1:{port}"));
        command.arg("--override").arg(format!("log.dirs={}", log_dir.display()));
        for setting in BROKER_SETTINGS {
            command.args(["--override", setting]);
        }
        command.stdout(output.try_clone().expect("clone")).stderr(output);
        let mut child = command.spawn().expect("spawn spool serve");
        let started = Instant::now();
        let listening = format!("listening on 127.0.0.1:{port}");
        loop {
            let log = std::fs::read_to_string(&output_path).unwrap_or_default();
            if log.get(from..).is_some_and(|new| new.contains(&listening)) {
                break;
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!("spool serve exited ({status}) before listening:\n{}", &log[from.min(log.len())..]);
            }
            if started.elapsed() > BROKER_START_WAIT {
                let _ = child.kill();
                panic!("spool serve printed no '{listening}' within {BROKER_START_WAIT:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Broker { child, bootstrap: format!("127.0.0.1:{port}"), log_dir }
    }

    /// SIGTERM, then the broker must exit 0.
    fn stop(mut self) {
        // SAFETY: signals the child this struct spawned, by its own pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "spool serve exited with {status} after SIGTERM");
    }

    /// `topic`-0's first dirty offset in `cleaner-offset-checkpoint`: the
    /// cleaner has compacted everything below it.
    fn cleaned_up_to(&self, topic: &str) -> Option<i64> {
        let text = std::fs::read_to_string(self.log_dir.join("cleaner-offset-checkpoint")).ok()?;
        text.lines().skip(2).find_map(|line| match line.split(' ').collect::<Vec<_>>()[..] {
            [t, "0", offset] if t == topic => offset.parse().ok(),
            _ => None,
        })
    }

    /// Waits until the cleaner has compacted `topic`-0 below `offset`.
    fn wait_cleaned(&self, topic: &str, offset: i64) {
        let started = Instant::now();
        while self.cleaned_up_to(topic).is_none_or(|cleaned| cleaned < offset) {
            assert!(
                started.elapsed() < CLEANED_WAIT,
                "the cleaner did not compact {topic}-0 below offset {offset} within {CLEANED_WAIT:?} \
                 (cleaner-offset-checkpoint says {:?}): is the broker's cleaner running (issue 16)?",
                self.cleaned_up_to(topic)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The base offset of `topic`-0's active segment: its newest `.log` file.
    fn active_segment_base(&self, topic: &str) -> i64 {
        self.segments(topic)
            .iter()
            .filter_map(|p| p.file_stem()?.to_str()?.parse().ok())
            .max()
            .expect("a segment")
    }

    fn segments(&self, topic: &str) -> Vec<PathBuf> {
        let dir = self.log_dir.join(format!("{topic}-0"));
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut logs: Vec<_> = entries
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        logs
    }

    /// `(batches, emptied batches, records)` in `topic`-0's segments, as
    /// `spool dump-log` prints them. The cleaner may swap segments between the
    /// listing and the dump (it cleans again as tombstones' delete horizon
    /// passes), so a dump that lost a file is tried again, a few times.
    fn batches(&self, topic: &str) -> (usize, usize, usize) {
        let dump = (0..DUMP_ATTEMPTS)
            .find_map(|_| {
                let output = Command::new(env!("CARGO_BIN_EXE_spool"))
                    .args(["dump-log", "--files"])
                    .args(self.segments(topic))
                    .output()
                    .expect("run spool dump-log");
                if output.status.success() {
                    return Some(String::from_utf8_lossy(&output.stdout).into_owned());
                }
                println!("spool dump-log {topic}-0: {}", String::from_utf8_lossy(&output.stderr));
                std::thread::sleep(Duration::from_millis(200));
                None
            })
            .unwrap_or_else(|| panic!("spool dump-log {topic}-0 failed {DUMP_ATTEMPTS} times"));
        println!("--- spool dump-log {topic}-0 ---\n{dump}");
        let counts: Vec<usize> = dump
            .lines()
            .filter_map(|line| line.split(" count: ").nth(1)?.split(' ').next()?.parse().ok())
            .collect();
        (counts.len(), counts.iter().filter(|&&c| c == 0).count(), counts.iter().sum())
    }
}

/// A test that fails part-way must not leave its broker running.
impl Drop for Broker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// What a reader must see

/// One record as the scripts print it: offset, key, value (`NULL`: a tombstone).
type Record = (i64, String, String);

fn records(output: &str, tag: &str) -> Vec<Record> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix(tag))
        .map(|line| match line.split(' ').collect::<Vec<_>>()[..] {
            [offset, key, value] => (offset.parse().expect("an offset"), key.to_string(), value.to_string()),
            _ => panic!("not `offset key value`: {line}"),
        })
        .collect()
}

/// What `compaction_produce.py` wrote, and so what a reader of the cleaned log may see.
struct Produced {
    written: Vec<Record>,
    /// The log end offset after the last record.
    end: i64,
}

impl Produced {
    /// Each key's latest record, by key.
    fn latest(&self) -> BTreeMap<&str, &Record> {
        self.written.iter().map(|r| (r.1.as_str(), r)).collect()
    }

    /// The first offset of the filler records, past every round.
    fn first_filler(&self) -> i64 {
        self.written.iter().find(|r| r.1.starts_with("filler-")).expect("filler records").0
    }

    /// Fails unless `read` is exactly each key's latest record in offset
    /// order, where a key whose latest record is a tombstone may be missing
    /// (removed after `delete.retention.ms`) or be that tombstone.
    fn check(&self, client: &str, read: &[Record]) {
        let latest = self.latest();
        let offsets: Vec<i64> = read.iter().map(|r| r.0).collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{client} read offsets out of order: {offsets:?}");
        for record in read {
            assert!(
                latest.get(record.1.as_str()) == Some(&record),
                "{client} read {record:?}, not its key's latest record {:?}",
                latest.get(record.1.as_str())
            );
        }
        let seen: BTreeSet<&str> = read.iter().map(|r| r.1.as_str()).collect();
        let missing: Vec<_> =
            latest.values().filter(|r| r.2 != "NULL" && !seen.contains(r.1.as_str())).collect();
        assert!(missing.is_empty(), "{client} never read these latest records: {missing:?}");
    }
}

/// Starts a broker in `dir`, fills the compacted topic and waits until the
/// cleaner has compacted every round (the filler records stay dirty), then
/// proves the cleaned log has offset gaps and emptied batches.
fn fill_and_clean(dir: &Path) -> (Broker, Produced) {
    let broker = Broker::start(dir);
    let mut produce = Command::new(python_with("confluent_kafka"));
    produce.arg(clients_dir().join("compaction_produce.py"));
    produce.args(["--bootstrap", &broker.bootstrap, "--topic", TOPIC]);
    let output = run("compaction_produce.py", produce);
    let end =
        output.lines().find_map(|l| l.split("end=").nth(1)).expect("PRODUCED … end=").parse().expect("end");
    let produced = Produced { written: records(&output, "P "), end };
    // Everything below the active segment, so the rounds and most filler
    // records: the cleaner then has nothing dirty left but the active segment.
    assert!(
        broker.active_segment_base(TOPIC) > produced.first_filler(),
        "the rounds are in the active segment"
    );
    broker.wait_cleaned(TOPIC, broker.active_segment_base(TOPIC));
    let (batches, emptied, kept) = broker.batches(TOPIC);
    println!("{TOPIC}-0 after cleaning: {batches} batches ({emptied} emptied), {kept} records");
    assert!(kept < produced.written.len(), "no record was cleaned away: no offset gap to read over");
    assert!(emptied > 0, "the cleaner left no emptied batch: the readers would not meet one");
    (broker, produced)
}

/// kcat (librdkafka as Debian ships it) reads the partition to its end (`-e`).
fn kcat_reads(bootstrap: &str) -> String {
    assert!(Command::new("kcat").arg("-V").output().is_ok_and(|o| o.status.success()), "no kcat on PATH");
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(SCRIPT_TIMEOUT.as_secs().to_string());
    command.args([
        "kcat",
        "-C",
        "-b",
        bootstrap,
        "-t",
        TOPIC,
        "-p",
        "0",
        "-o",
        "beginning",
        "-e",
        "-q",
        "-Z",
    ]);
    command.args(["-f", "R %o %k %s\n"]);
    run("kcat", command)
}

// The tests

/// Issue 16 §3: each client family reads a compacted topic from the start and
/// sees exactly each key's latest record, in offset order, over the offset
/// gaps and the emptied batches the cleaner left at segment ends (Kafka's
/// documentation, "Log Compaction Guarantees": a consumer reading from the
/// start sees at least the final state of every record, in the order written,
/// offsets never changing).
#[test]
fn every_client_reads_a_compacted_topic_from_the_start() {
    let _turn = turn::take_turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let (broker, produced) = fill_and_clean(dir.path());
    for client in Client::ALL.into_iter().filter(|c| !matches!(c, Client::Kafkajs)) {
        let output = match client {
            Client::Kcat => kcat_reads(&broker.bootstrap),
            _ => {
                let mut command = client.reader(&broker.bootstrap);
                command.args(["--from-start", "--end", &produced.end.to_string()]);
                run(client.name(), command)
            }
        };
        produced.check(client.name(), &records(&output, "R "));
    }
    broker.stop();
}

/// kafkajs reads a compacted topic from the start too. It advances only
/// past records it is given (`decodeMessages.js` flattens a fetch's batches
/// into records; `runner.js` resolves no offset for a fetch without one), so
/// a fetch answered with only the emptied batch that ends a cleaned segment
/// (kept so the segment ends where it did, `segments.rs`) stalled it for
/// ever: 74k fetches of one offset in 20 s. A consumer's fetch now reads on
/// into the next segment when the rest of a segment holds no record
/// (`ReadOptions::skip_emptied_tail`), as Kafka's does when a segment has
/// nothing left to give. Its own test, so a stall names kafkajs.
#[test]
fn kafkajs_reads_a_compacted_topic_from_the_start() {
    let _turn = turn::take_turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let (broker, produced) = fill_and_clean(dir.path());
    let mut command = Client::Kafkajs.reader(&broker.bootstrap);
    command.args(["--from-start", "--end", &produced.end.to_string()]);
    produced.check("kafkajs", &records(&run("kafkajs", command), "R "));
    broker.stop();
}

/// Issue 16 §3: groups that committed many times resume at their last
/// committed offset after the cleaner compacted their `__consumer_offsets`
/// partition and the broker restarted and loaded the groups from the cleaned
/// log (Kafka's group coordinator loads the latest commit per group, topic
/// and partition). Each group's last commit points into an offset gap, so it
/// must be handed the first record after it; a broker that lost the commit
/// would send it to the beginning (`auto.offset.reset=earliest`).
#[test]
fn groups_resume_after_their_offsets_partition_was_cleaned() {
    let _turn = turn::take_turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let (broker, produced) = fill_and_clean(dir.path());
    // An offset the cleaner surely removed (no key's latest record) followed by
    // one it surely kept (a key's latest value, not a tombstone).
    let latest = produced.latest();
    let latest_offsets: BTreeSet<i64> = latest.values().map(|r| r.0).collect();
    let kept: BTreeSet<i64> = latest.values().filter(|r| r.2 != "NULL").map(|r| r.0).collect();
    let gap = (0..produced.first_filler())
        .find(|o| !latest_offsets.contains(o) && kept.contains(&(o + 1)))
        .expect("an offset gap before a kept record");
    // kafkajs is left out: the gap is an emptied batch ending a segment, on
    // which it stalls (kafkajs_reads_a_compacted_topic_from_the_start).
    let groups: Vec<_> =
        Client::ALL[..3].iter().map(|c| (c.name(), format!("resume-{}", c.name()))).collect();

    let mut commit = Command::new(python_with("confluent_kafka"));
    commit.arg(clients_dir().join("compaction_commit.py"));
    commit.args(["--bootstrap", &broker.bootstrap, "--topic", TOPIC]);
    for (_, group) in &groups {
        commit.arg("--commit").arg(format!("{group}={gap}"));
    }
    let committed = run("compaction_commit.py", commit);
    let commits: usize = committed
        .lines()
        .find_map(|l| l.strip_prefix("COMMITTED "))
        .expect("COMMITTED n")
        .parse()
        .expect("n");
    let offsets_topic = "__consumer_offsets";
    broker.wait_cleaned(offsets_topic, broker.active_segment_base(offsets_topic));
    let (_, _, records_left) = broker.batches(offsets_topic);
    assert!(records_left < commits, "{offsets_topic}-0 holds {records_left} records for {commits} commits");
    broker.stop();

    let broker = Broker::start(dir.path());
    for (client, (name, group)) in Client::ALL.iter().zip(&groups) {
        let mut command = client.reader(&broker.bootstrap);
        command.args(["--group", group]);
        let output = run(name, command);
        let first: i64 =
            output.lines().find_map(|l| l.strip_prefix("FIRST ")).expect("FIRST").parse().expect("n");
        assert_eq!(first, gap + 1, "{name}: group {group} committed {gap} (a gap) before the cleaning");
    }
    broker.stop();
}
