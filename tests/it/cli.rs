//! `spool topics`, `spool produce`, `spool consume` and `spool groups` against a running
//! `spool serve`, all as separate processes talking over TCP — the way a user
//! runs `kafka-topics.sh`, `kafka-console-producer.sh` and
//! `kafka-console-consumer.sh` against a Kafka broker.
//!
//! ```text
//! cargo test --release --test it cli::
//! ```
//!
//! Each test starts its own broker on a free port with a fresh `log.dirs`,
//! waits for its `listening on` line, runs the tools, and at the end stops the
//! broker with SIGTERM and checks that it shut down cleanly (exit status 0).

use crate::common::serve;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use spool::client::partitioner::partition_for_key;

/// A `spool serve` child process with its own port and log directory.
struct Broker {
    child: Child,
    bootstrap: String,
    log_dir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = dir.path().join("data");
        let port = serve::free_port();
        let overrides = [
            format!("listeners=PLAINTEXT://127.0.0.1:{port}"),
            format!("log.dirs={}", log_dir.display()),
            "num.partitions=1".to_string(),
        ];
        let child = serve::spawn_serve(&overrides, 1);
        Broker { child, bootstrap: format!("127.0.0.1:{port}"), log_dir, _dir: dir }
    }

    /// Runs `spool <args> --bootstrap-server <this broker>` with `stdin`.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let args = [args, &["--bootstrap-server", &self.bootstrap]].concat();
        let (output, written) = spool_with_stdin(&args, stdin);
        written.unwrap();
        output
    }

    /// Runs a tool that must succeed; returns its stdout.
    fn ok(&self, args: &[&str], stdin: &[u8]) -> String {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "spool {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// SIGTERM, as a service manager stops Kafka; the broker must exit 0.
    fn stop(mut self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(std::time::Instant::now() < deadline, "broker did not exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "broker exited with {status} after SIGTERM");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Only matters when a test failed before stop(): never leak a broker.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut lines: Vec<String> = s.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// The topic admin cycle, printed as kafka-topics.sh prints it: create with
/// partitions and a config override, list, describe, refuse a duplicate
/// (TOPIC_ALREADY_EXISTS), delete, and describe a missing topic
/// (UNKNOWN_TOPIC_OR_PARTITION).
#[test]
fn topics_create_list_describe_delete() {
    let broker = Broker::start();
    let created = broker.ok(
        &["topics", "--create", "--topic", "orders", "--partitions", "3", "--config", "retention.ms=60000"],
        b"",
    );
    assert_eq!(created, "Created topic orders.\n");
    broker.ok(&["topics", "--create", "--topic", "audit"], b"");
    assert_eq!(broker.ok(&["topics", "--list"], b""), "audit\norders\n");

    let described = broker.ok(&["topics", "--describe", "--topic", "orders"], b"");
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(lines.len(), 4, "{described}");
    let header: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(header[0], "Topic: orders");
    let topic_id = header[1].strip_prefix("TopicId: ").expect("a TopicId field");
    assert_eq!(topic_id.len(), 22, "Kafka prints topic ids as 22 characters of base64: {topic_id}");
    assert_eq!(&header[2..], ["PartitionCount: 3", "ReplicationFactor: 1", "Configs: retention.ms=60000"]);
    for (p, line) in lines[1..].iter().enumerate() {
        assert_eq!(*line, format!("\tTopic: orders\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1"));
    }
    // Without --topic, every topic: audit's 1 partition (num.partitions=1) and orders' 3.
    let all = broker.ok(&["topics", "--describe"], b"");
    assert_eq!(all.lines().filter(|l| l.starts_with("Topic: ")).count(), 2, "{all}");
    assert!(all.contains("Topic: audit\tTopicId: "), "{all}");
    assert!(all.contains("PartitionCount: 1\tReplicationFactor: 1\tConfigs: \n"), "{all}");

    let duplicate = broker.run(&["topics", "--create", "--topic", "orders"], b"");
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("TopicAlreadyExists"));

    assert_eq!(broker.ok(&["topics", "--delete", "--topic", "orders"], b""), "");
    assert_eq!(broker.ok(&["topics", "--list"], b""), "audit\n");
    let missing = broker.run(&["topics", "--describe", "--topic", "orders"], b"");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("UnknownTopicOrPartition"));
    broker.stop();
}

/// 1000 keyed lines with headers round-trip through produce and consume with
/// every codec; each record lands in the partition the Java client's murmur2
/// partitioner picks, in the order produced; and the stored batches carry the
/// codec asked for (as `spool dump-log` reads it back from the segment).
#[test]
fn produce_and_consume_with_each_codec() {
    let broker = Broker::start();
    const RECORDS: usize = 1000;
    const PARTITIONS: i32 = 3;
    let input: String = (0..RECORDS)
        .map(|i| format!("key-{i}:order={i};customer=c-{};pad={}\n", i % 97, "ab".repeat(i % 29)))
        .collect();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("lines-{codec}");
        let partitions = PARTITIONS.to_string();
        broker.ok(&["topics", "--create", "--topic", &topic, "--partitions", &partitions], b"");
        broker.ok(
            &[
                "produce",
                "--topic",
                &topic,
                "--key-separator",
                ":",
                "--header",
                "source=cli",
                "--header",
                &format!("codec={codec}"),
                "--compression",
                codec,
            ],
            input.as_bytes(),
        );
        let expected: Vec<String> = input
            .lines()
            .map(|l| {
                let (key, value) = l.split_once(':').unwrap();
                format!("source:cli,codec:{codec}\t{key}\t{value}")
            })
            .collect();
        let consumed = broker.ok(
            &[
                "consume",
                "--topic",
                &topic,
                "--from-beginning",
                "--max-messages",
                "1000",
                "--timeout-ms",
                "10000",
                "--print-key",
                "--print-headers",
            ],
            b"",
        );
        assert_eq!(consumed.lines().count(), RECORDS, "{codec}");
        let mut want = expected.clone();
        want.sort();
        assert_eq!(sorted_lines(&consumed), want, "{codec}");

        // Partition by partition: exactly the keys murmur2 sends there, in order.
        for p in 0..PARTITIONS {
            let want: Vec<String> = input
                .lines()
                .filter(|l| partition_for_key(l.split_once(':').unwrap().0.as_bytes(), PARTITIONS) == p)
                .map(|l| l.split_once(':').unwrap().1.to_string())
                .collect();
            let got = broker.ok(
                &[
                    "consume",
                    "--topic",
                    &topic,
                    "--partition",
                    &p.to_string(),
                    "--offset",
                    "earliest",
                    "--max-messages",
                    &want.len().to_string(),
                    "--timeout-ms",
                    "10000",
                ],
                b"",
            );
            assert_eq!(got.lines().collect::<Vec<_>>(), want, "{codec} partition {p}");
        }
        assert_codec_on_disk(&broker.log_dir.join(format!("{topic}-0")), codec);
    }
    broker.stop();
}

/// Every batch in a partition directory's first segment says `compresscodec: <codec>`.
fn assert_codec_on_disk(partition_dir: &Path, codec: &str) {
    let segment = partition_dir.join("00000000000000000000.log");
    let output = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["dump-log", "--files", segment.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let dump = String::from_utf8(output.stdout).unwrap();
    let batches: Vec<&str> = dump.lines().filter(|l| l.contains("compresscodec:")).collect();
    assert!(!batches.is_empty(), "{dump}");
    for line in batches {
        assert!(line.contains(&format!("compresscodec: {codec} ")), "{line}");
    }
}

/// Records without keys are spread round-robin (the pre-KIP-480 default), so
/// 30 lines over 3 partitions put exactly 10 in each; and `--partition` pins
/// every record to one partition whatever its key.
#[test]
fn null_keys_round_robin_and_explicit_partitions() {
    let broker = Broker::start();
    broker.ok(&["topics", "--create", "--topic", "spread", "--partitions", "3"], b"");
    let input: String = (0..30).map(|i| format!("v{i}\n")).collect();
    broker.ok(&["produce", "--topic", "spread"], input.as_bytes());
    broker.ok(
        &["produce", "--topic", "spread", "--partition", "2", "--key-separator", "="],
        b"a=1\nb=2\nc=3\n",
    );
    let mut counts = BTreeMap::new();
    for p in 0..3 {
        let got = broker.ok(
            &[
                "consume",
                "--topic",
                "spread",
                "--partition",
                &p.to_string(),
                "--offset",
                "0",
                "--timeout-ms",
                "300",
            ],
            b"",
        );
        counts.insert(p, got.lines().count());
        if p == 2 {
            assert!(got.ends_with("1\n2\n3\n"), "{got}");
        }
    }
    assert_eq!(counts, BTreeMap::from([(0, 10), (1, 10), (2, 13)]));
    broker.stop();
}

/// Where consumption starts and when it stops: `--offset N` skips the records
/// before N (even inside one batch), the default starts at the end (so an idle
/// topic prints nothing before `--timeout-ms`), and a line without the key
/// separator is refused as kafka-console-producer refuses it.
#[test]
fn offsets_timeouts_and_bad_input() {
    let broker = Broker::start();
    broker.ok(&["topics", "--create", "--topic", "ten"], b"");
    let input: String = (0..10).map(|i| format!("line-{i}\n")).collect();
    broker.ok(&["produce", "--topic", "ten", "--compression", "gzip"], input.as_bytes());

    let from_5 = broker
        .run(&["consume", "--topic", "ten", "--partition", "0", "--offset", "5", "--timeout-ms", "300"], b"");
    assert!(from_5.status.success());
    assert_eq!(String::from_utf8_lossy(&from_5.stdout), "line-5\nline-6\nline-7\nline-8\nline-9\n");
    assert!(String::from_utf8_lossy(&from_5.stderr).contains("Processed a total of 5 messages"));

    let started = std::time::Instant::now();
    let latest = broker.ok(&["consume", "--topic", "ten", "--timeout-ms", "300"], b"");
    assert_eq!(latest, "");
    assert!(started.elapsed() < Duration::from_secs(10), "the consumer kept waiting after --timeout-ms");

    let bad = broker.run(&["produce", "--topic", "ten", "--key-separator", ":"], b"k:v\nno separator here\n");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no key separator"));
    broker.stop();
}

/// `--acks 0` gets no response from the broker, yet the records arrive; `--acks 1` works too.
#[test]
fn acks_zero_and_one() {
    let broker = Broker::start();
    broker.ok(&["topics", "--create", "--topic", "acks"], b"");
    broker.ok(&["produce", "--topic", "acks", "--acks", "0"], b"fire\nand\nforget\n");
    // No response means no offsets: wait for the records to show up.
    let got = broker.ok(
        &["consume", "--topic", "acks", "--from-beginning", "--max-messages", "3", "--timeout-ms", "10000"],
        b"",
    );
    assert_eq!(got, "fire\nand\nforget\n");
    broker.ok(&["produce", "--topic", "acks", "--acks", "1"], b"leader\n");
    let got = broker
        .ok(&["consume", "--topic", "acks", "--partition", "0", "--offset", "3", "--max-messages", "1"], b"");
    assert_eq!(got, "leader\n");
    broker.stop();
}

/// A consumer at the end of a partition long-polls: records produced after it
/// started reach it without a busy loop; and Ctrl-C (SIGINT) ends a consumer
/// that has no --timeout-ms cleanly, with kafka-console-consumer's summary line.
#[test]
fn consumer_waits_for_new_records_and_stops_on_ctrl_c() {
    let broker = Broker::start();
    broker.ok(&["topics", "--create", "--topic", "live"], b"");
    let consumer = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_spool"))
            .args(["consume", "--topic", "live", "--bootstrap-server", &broker.bootstrap])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Offset 0 of an empty partition: the consumer waits there for the first record.
    let waiting = consumer(&["--partition", "0", "--offset", "0", "--max-messages", "2"]);
    std::thread::sleep(Duration::from_millis(300));
    broker.ok(&["produce", "--topic", "live"], b"late\nlater\n");
    let output = waiting.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "late\nlater\n");

    let idle = consumer(&[]);
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill").args(["-INT", &idle.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let output = idle.wait_with_output().unwrap();
    assert!(output.status.success(), "consumer exited with {} on SIGINT", output.status);
    assert!(String::from_utf8_lossy(&output.stderr).contains("Processed a total of 0 messages"));
    broker.stop();
}

/// `spool perf produce` and `spool perf consume` print Kafka's result lines:
/// the producer's total line with its percentiles, the consumer's header and
/// ten-column line; the consumer reads exactly what the producer sent, and a
/// bad producer property is a clear error.
#[test]
fn perf_produce_and_consume_print_kafkas_lines() {
    let broker = Broker::start();
    broker.ok(&["topics", "--create", "--topic", "perf", "--partitions", "3"], b"");
    let produced = broker.ok(
        &[
            "perf",
            "produce",
            "--topic",
            "perf",
            "--num-records",
            "5000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--producer-props",
            "acks=1",
            "linger.ms=5",
            "compression.type=gzip",
        ],
        b"",
    );
    let total = produced.lines().last().unwrap_or_default();
    assert!(total.starts_with("5000 records sent, "), "{produced}");
    for part in [
        "records/sec (",
        "MB/sec)",
        "ms avg latency",
        "ms max latency",
        "ms 50th",
        "ms 95th",
        "ms 99th",
        "ms 99.9th.",
    ] {
        assert!(total.contains(part), "{part:?} missing from {total:?}");
    }
    let consumed =
        broker.ok(&["perf", "consume", "--topic", "perf", "--messages", "5000", "--timeout", "10000"], b"");
    let lines: Vec<&str> = consumed.lines().collect();
    assert_eq!(lines[0], spool::tools::perf::consume::HEADER);
    let columns: Vec<&str> = lines[1].split(", ").collect();
    assert_eq!(columns.len(), 10, "{consumed}");
    assert_eq!(columns[2], format!("{:.4}", 5000.0 * 100.0 / 1024.0 / 1024.0), "MB consumed");
    assert_eq!(columns[4], "5000", "records consumed");
    // As with Kafka's perf tools, the broker may come from bootstrap.servers
    // in the client properties instead of --bootstrap-server.
    let props_only = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["perf", "produce", "--topic", "perf", "--num-records", "100", "--record-size", "10"])
        .args(["--throughput", "-1", "--producer-props", "acks=1"])
        .arg(format!("bootstrap.servers={}", broker.bootstrap))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&props_only.stdout);
    assert!(props_only.status.success(), "{stdout}{}", String::from_utf8_lossy(&props_only.stderr));
    assert!(stdout.lines().last().unwrap_or_default().starts_with("100 records sent, "), "{stdout}");
    let bad = broker.run(
        &[
            "perf",
            "produce",
            "--topic",
            "perf",
            "--num-records",
            "1",
            "--record-size",
            "1",
            "--throughput",
            "-1",
            "--producer-props",
            "linger.ms=soon",
        ],
        b"",
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("linger.ms"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    broker.stop();
}

/// Chapter 5's tools: `spool consume --group` commits exactly what it printed
/// (a --max-messages stop leaves the rest to the next member, so two runs
/// print every record once), and `spool groups` lists, describes (offsets and
/// lag, members and their partitions) and deletes groups as
/// kafka-consumer-groups.sh does; a group with a live member cannot be
/// deleted (NON_EMPTY_GROUP).
#[test]
fn consume_with_a_group_and_describe_it() {
    let broker = Broker::start();
    broker.ok(&["topics", "--create", "--topic", "g", "--partitions", "3"], b"");
    let lines: Vec<String> = (0..6).map(|i| format!("line-{i}")).collect();
    for (i, line) in lines.iter().enumerate() {
        let partition = (i % 3).to_string();
        broker.ok(&["produce", "--topic", "g", "--partition", &partition], format!("{line}\n").as_bytes());
    }
    let group = ["consume", "--topic", "g", "--group", "cg", "--from-beginning"];
    let first = broker.ok(&[&group[..], &["--max-messages", "4"]].concat(), b"");
    assert_eq!(first.lines().count(), 4, "{first}");
    assert_eq!(broker.ok(&["groups", "--list"], b"").trim(), "cg");
    let describe = broker.ok(&["groups", "--describe", "--group", "cg"], b"");
    assert!(describe.contains("Consumer group 'cg' has no active members."), "{describe}");
    let column = |text: &str, name: &str| -> i64 {
        let mut rows = text.lines().skip_while(|l| !l.starts_with("GROUP"));
        let header: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
        let at = header.iter().position(|h| *h == name).unwrap();
        rows.map(|r| r.split_whitespace().nth(at).unwrap().parse::<i64>().unwrap_or(0)).sum()
    };
    assert_eq!(column(&describe, "CURRENT-OFFSET"), 4, "committed = printed: {describe}");
    // Partitions without a commit or a reader are not listed, as in Kafka.
    let lag = column(&describe, "LOG-END-OFFSET") - column(&describe, "CURRENT-OFFSET");
    assert_eq!(column(&describe, "LAG"), lag, "{describe}");
    let second = broker.ok(&[&group[..], &["--timeout-ms", "1500"]].concat(), b"");
    let mut all: Vec<&str> = first.lines().chain(second.lines()).collect();
    all.sort_unstable();
    assert_eq!(all, lines.iter().map(String::as_str).collect::<Vec<_>>(), "every record once");
    let describe = broker.ok(&["groups", "--describe", "--group", "cg"], b"");
    assert_eq!(column(&describe, "CURRENT-OFFSET"), 6, "{describe}");
    assert_eq!(column(&describe, "LAG"), 0, "{describe}");

    // A live member: described with its partitions; its group cannot be deleted.
    let mut live = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["consume", "--topic", "g", "--group", "live", "--bootstrap-server", &broker.bootstrap])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let members = loop {
        let out = broker.run(&["groups", "--describe", "--members", "--verbose", "--group", "live"], b"");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if text.contains("g(0,1,2)") {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "the member never showed up: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let header = members.lines().find(|l| l.starts_with("GROUP")).unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"]
    );
    let offsets = broker.ok(&["groups", "--describe", "--group", "live"], b"");
    assert!(!offsets.contains("no active members") && offsets.contains("console-consumer"), "{offsets}");
    let refused = broker.run(&["groups", "--delete", "--group", "live"], b"");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("NonEmptyGroup"), "{refused:?}");
    assert!(Command::new("kill").args(["-INT", &live.id().to_string()]).status().unwrap().success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while live.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the member did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(live.wait().unwrap().success());
    let deleted = broker.ok(&["groups", "--delete", "--group", "live"], b"");
    assert_eq!(deleted.trim(), "Deletion of requested consumer groups ('live') was successful.");
    assert_eq!(broker.ok(&["groups", "--list"], b"").trim(), "cg");
    let missing = broker.run(&["groups", "--describe", "--group", "live"], b"");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("Consumer group 'live' does not exist."));
    broker.stop();
}

/// Waits for `child` to exit, for at most `limit`; `None` if it is still
/// running (then it is killed: a test never leaks a broker).
fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A broker asked for SASL_SSL without the keys to secure it must not quietly
/// serve PLAINTEXT in its place (a client would send its credentials in the
/// clear, or hang in a TLS handshake): `spool serve` refuses to start, names
/// the listener and the setting it lacks, and exits non-zero (chapter 11).
#[test]
fn a_listener_spool_cannot_secure_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["serve", "--override", "listeners=SASL_SSL://127.0.0.1:0"])
        .args(["--override", &format!("log.dirs={}", dir.path().join("data").display())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start spool serve");
    let status = exit_within(&mut child, Duration::from_secs(30)).expect("spool serve started on SASL_SSL");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "exit status {status}; stderr: {stderr}");
    assert!(stderr.contains("listener SASL_SSL") && stderr.contains("ssl.keystore.location"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

/// Out of file descriptors, `accept` fails at once, every time, for as long
/// as the connection waits in the backlog: a loop that only logs and retries
/// spins a core and once wrote 3.5 million WARN lines in five seconds. The
/// broker backs off instead (as Kafka's acceptor does on EMFILE) and logs once
/// per interval with a count of what it suppressed, then serves again when
/// descriptors free up. EMFILE is made certain by starting the broker with
/// RLIMIT_NOFILE at 64 and opening more connections than that.
#[test]
fn out_of_file_descriptors_the_acceptor_backs_off() {
    use std::os::unix::process::CommandExt;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let port = crate::common::cluster::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_spool"));
    command
        .args(["serve", "--override", &format!("listeners=PLAINTEXT://127.0.0.1:{port}")])
        .args(["--override", &format!("log.dirs={}", dir.path().join("data").display())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 64, rlim_max: 64 };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("start spool serve");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let collected = lines.clone();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = tx.send(());
            }
            collected.lock().unwrap().push(line);
        }
    });
    if rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("spool serve did not start: {:?}", lines.lock().unwrap());
    }
    let addr = format!("127.0.0.1:{port}");
    let connections: Vec<_> = (0..100).map(|_| std::net::TcpStream::connect(&addr).unwrap()).collect();
    // However long the broker has, backing off keeps the count to about one
    // line per second; spinning writes thousands in this time.
    std::thread::sleep(Duration::from_secs(2));
    let warnings = lines.lock().unwrap().iter().filter(|l| l.contains("accept failed")).count();
    drop(connections);
    let bootstrap = ["--bootstrap-server", addr.as_str()];
    let listed =
        Command::new(env!("CARGO_BIN_EXE_spool")).args(["topics", "--list"]).args(bootstrap).output();
    let _ = child.kill();
    let _ = child.wait();
    assert!(warnings >= 1, "EMFILE never happened: {:?}", lines.lock().unwrap());
    assert!(warnings <= 10, "{warnings} accept-failure lines in 2 s");
    let listed = listed.unwrap();
    assert!(listed.status.success(), "no service after the descriptors came back: {listed:?}");
}

/// Runs `spool <args>` with `stdin` and nothing added: the caller decides
/// whether `--bootstrap-server` is given.
fn spool(args: &[&str], stdin: &[u8]) -> Output {
    // A tool that failed early never read its stdin: its output says why.
    spool_with_stdin(args, stdin).0
}

/// Runs `spool <args>`, writing `stdin` from a thread (a tool may stop
/// reading early); the output, and whether all of `stdin` was written.
fn spool_with_stdin(args: &[&str], stdin: &[u8]) -> (Output, std::io::Result<()>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run spool");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let output = child.wait_with_output().unwrap();
    (output, writer.join().unwrap())
}

/// The broker is found as Kafka's tools find it: `--bootstrap-server` wins
/// over `bootstrap.servers` in the client properties, which wins over the
/// default 127.0.0.1:9092 — for each tool that takes both (the console
/// producer and consumer, the two perf tools). A property naming a port
/// where nothing listens must lose to the flag; a property naming the broker
/// must be used when there is no flag. (The default's own turn is the unit
/// test of `tools::bootstrap_servers`: this machine may run a broker on 9092.)
#[test]
fn bootstrap_server_flag_beats_properties_beats_default() {
    let broker = Broker::start();
    broker.ok(&["topics", "--create", "--topic", "boot"], b"");
    let dead = "bootstrap.servers=127.0.0.1:1".to_string();
    let live = format!("bootstrap.servers={}", broker.bootstrap);
    let tools: [(&[&str], &str, &[u8]); 4] = [
        (&["produce", "--topic", "boot"], "--producer-property", b"a\nb\n"),
        (
            &["consume", "--topic", "boot", "--from-beginning", "--max-messages", "1"],
            "--consumer-property",
            b"",
        ),
        (
            &[
                "perf",
                "produce",
                "--topic",
                "boot",
                "--num-records",
                "10",
                "--record-size",
                "10",
                "--throughput",
                "-1",
            ],
            "--producer-props",
            b"",
        ),
        (&["perf", "consume", "--topic", "boot", "--messages", "1"], "--consumer-props", b""),
    ];
    for (tool, property_flag, stdin) in tools {
        let flag_wins: Vec<&str> =
            [tool, &["--bootstrap-server", &broker.bootstrap, property_flag, &dead]].concat();
        let output = spool(&flag_wins, stdin);
        assert!(output.status.success(), "{flag_wins:?}: {}", String::from_utf8_lossy(&output.stderr));
        let property_used: Vec<&str> = [tool, &[property_flag, &live]].concat();
        let output = spool(&property_used, stdin);
        assert!(output.status.success(), "{property_used:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    broker.stop();
}
