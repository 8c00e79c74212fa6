//! The console tools take Kafka's own forms, so a line copied from Kafka's
//! documentation works unchanged: `spool produce --property parse.key=true
//! --property key.separator=:` (LineMessageReader), `spool consume --property
//! print.timestamp=true` (DefaultMessageFormatter), `--producer.config`,
//! `--consumer.config` and the admin tools' `--command-config` properties
//! files. Each test starts its own `spool serve` (debug binary: `cargo build`
//! first) on a free port and runs the tools as separate processes.
//!
//! ```text
//! cargo test --test it console::
//! ```

use crate::common::serve;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A `spool serve` child process with its own port and log directory.
struct Broker {
    child: Child,
    bootstrap: String,
    log_dir: PathBuf,
    dir: tempfile::TempDir,
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
        Broker { child, bootstrap: format!("127.0.0.1:{port}"), log_dir, dir }
    }

    /// Runs `spool <args> --bootstrap-server <this broker>` with `stdin`.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let args = [args, &["--bootstrap-server", &self.bootstrap]].concat();
        let mut child = Command::new(env!("CARGO_BIN_EXE_spool"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run spool");
        let mut input = child.stdin.take().unwrap();
        let stdin = stdin.to_vec();
        // A tool that fails early never reads its stdin: ignore the broken pipe.
        let writer = std::thread::spawn(move || input.write_all(&stdin));
        let output = child.wait_with_output().unwrap();
        let _ = writer.join().unwrap();
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

    /// Runs a tool that must fail; returns its stderr.
    fn refused(&self, args: &[&str], stdin: &[u8]) -> String {
        let output = self.run(args, stdin);
        assert!(!output.status.success(), "spool {args:?} should have failed");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Everything in the topic's only partition, from the start.
    fn consume_all(&self, topic: &str, count: usize, extra: &[&str]) -> String {
        let count = count.to_string();
        let base = [
            "consume",
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            &count,
            "--timeout-ms",
            "10000",
        ];
        self.ok(&[&base[..], extra].concat(), b"")
    }

    /// A properties file in the test's directory.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// `spool dump-log --print-data-log` of partition 0's first segment.
    fn dump(&self, topic: &str) -> String {
        let segment = self.log_dir.join(format!("{topic}-0")).join("00000000000000000000.log");
        dump_log(&segment)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dump_log(segment: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["dump-log", "--print-data-log", "--files", segment.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Kafka's quickstart forms for keys: `--property parse.key=true --property
/// key.separator=:` splits each line at the first `:`, and the consumer's
/// `--property print.key=true --property key.separator=:` prints it back.
#[test]
fn parse_key_with_key_separator() {
    let broker = Broker::start();
    let produce =
        ["produce", "--topic", "keys", "--property", "parse.key=true", "--property", "key.separator=:"];
    broker.ok(&produce, b"user1:clicked\nuser2:a:b\n");
    let printed =
        broker.consume_all("keys", 2, &["--property", "print.key=true", "--property", "key.separator=:"]);
    assert_eq!(printed, "user1:clicked\nuser2:a:b\n");
    let refused = broker.refused(&produce, b"no separator\n");
    assert!(refused.contains("no key separator") && refused.contains("line number 1"), "{refused}");
    broker.stop();
}

/// `parse.headers=true` reads `h1:v1,h2:v2<TAB>` before the key; the
/// consumer's `print.headers=true` prints them in the same form.
#[test]
fn parse_headers_then_print_headers() {
    let broker = Broker::start();
    let produce =
        ["produce", "--topic", "hdrs", "--property", "parse.headers=true", "--property", "parse.key=true"];
    broker.ok(&produce, b"trace:abc,tenant:7\tk1\tv1\n");
    let printed = broker.consume_all(
        "hdrs",
        1,
        &[
            "--property",
            "print.headers=true",
            "--property",
            "print.key=true",
            "--property",
            "key.separator=|",
        ],
    );
    assert_eq!(printed, "trace:abc,tenant:7|k1|v1\n");
    broker.stop();
}

/// `null.marker`: a value equal to it is sent as null — a tombstone, which
/// our consumer prints as `null` and `dump-log` shows with `valueSize: -1` —
/// and a key equal to it is a null key.
#[test]
fn null_marker_sends_a_tombstone() {
    let broker = Broker::start();
    let produce = [
        "produce",
        "--topic",
        "tomb",
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=,",
        "--property",
        "null.marker=NULL",
    ];
    broker.ok(&produce, b"user1,NULL\nNULL,orphan\n");
    let printed = broker.consume_all("tomb", 2, &["--property", "print.key=true"]);
    assert_eq!(printed, "user1\tnull\nnull\torphan\n");
    let dump = broker.dump("tomb");
    let records: Vec<&str> = dump.lines().filter(|l| l.contains("keySize")).collect();
    assert_eq!(records.len(), 2, "{dump}");
    assert!(records[0].contains("keySize: 5 valueSize: -1"), "{}", records[0]);
    assert!(records[1].contains("keySize: -1 valueSize: 6"), "{}", records[1]);
    broker.stop();
}

/// The `print.*` properties together print DefaultMessageFormatter's fields
/// in Kafka's order: CreateTime, Partition, Offset, headers, key, value.
#[test]
fn print_properties_in_kafkas_field_order() {
    let broker = Broker::start();
    broker.ok(&["produce", "--topic", "fields", "--key-separator", "="], b"k=v\n");
    let printed = broker.consume_all(
        "fields",
        1,
        &[
            "--property",
            "print.timestamp=true",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
            "--property",
            "print.headers=true",
            "--property",
            "print.key=true",
            "--property",
            "print.value=false",
            "--property",
            "line.separator=;",
        ],
    );
    let fields: Vec<&str> =
        printed.strip_suffix(';').expect("line.separator ends the line").split('\t').collect();
    assert_eq!(fields.len(), 5, "{printed}");
    let timestamp: i64 = fields[0].strip_prefix("CreateTime:").expect("CreateTime:<ms>").parse().unwrap();
    assert!(timestamp > 1_600_000_000_000, "{printed}");
    assert_eq!(&fields[1..], ["Partition:0", "Offset:0", "NO_HEADERS", "k"]);
    broker.stop();
}

/// `--producer.config FILE` takes effect: its compression.type is the codec
/// stored (dump-log shows it) and its acks=0 gets no answer yet delivers; a
/// key spool's producer does not use is warned about and ignored; `--acks`
/// and `--compression` on the command line beat the file.
#[test]
fn producer_config_file_takes_effect() {
    let broker = Broker::start();
    let file = broker.file("producer.properties", "compression.type=lz4\nacks=0\nmax.request.size=1048576\n");
    let output = broker.run(&["produce", "--topic", "cfg", "--producer.config", &file], b"a\nb\n");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("max.request.size"),
        "no warning for an unused key"
    );
    assert_eq!(broker.consume_all("cfg", 2, &[]), "a\nb\n");
    broker.ok(&["produce", "--topic", "cfg", "--producer.config", &file, "--compression", "gzip"], b"c\n");
    assert_eq!(broker.consume_all("cfg", 3, &[]), "a\nb\nc\n");
    let codecs: Vec<String> = broker
        .dump("cfg")
        .lines()
        .filter_map(|l| l.split("compresscodec: ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(codecs, ["lz4", "gzip"]);
    broker.stop();
}

/// Security settings the tools cannot honour are refused by name in every
/// tool, before anything is sent: a JKS truststore, GSSAPI (named or, as in
/// Kafka, the default when `sasl.mechanism` is unset). The records stay
/// unwritten. (Working SSL and SASL settings: tests/it/security_tools.rs.)
#[test]
fn security_settings_spool_cannot_honour_are_refused() {
    let broker = Broker::start();
    broker.ok(&["topics", "--create", "--topic", "sec"], b"");
    let jks = broker.file(
        "ssl.properties",
        "security.protocol=SSL\nssl.truststore.type=JKS\nssl.truststore.location=/etc/ts.jks\n",
    );
    let gssapi =
        broker.file("gssapi.properties", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=GSSAPI\n");
    let unset = broker.file("unset.properties", "security.protocol=SASL_PLAINTEXT\n");
    let offsets = broker.file("offsets.json", r#"{"partitions":[{"topic":"sec","partition":0,"offset":0}]}"#);
    let cases: [(&[&str], &str); 6] = [
        (&["produce", "--topic", "sec", "--producer.config", &jks], "ssl.truststore.type=JKS"),
        (&["consume", "--topic", "sec", "--consumer.config", &gssapi, "--timeout-ms", "100"], "GSSAPI"),
        (&["topics", "--list", "--command-config", &jks], "ssl.truststore.type=JKS"),
        (&["groups", "--list", "--command-config", &unset], "GSSAPI"),
        (&["log-dirs", "--describe", "--command-config", &gssapi], "GSSAPI"),
        (
            &["delete-records", "--offset-json-file", &offsets, "--command-config", &jks],
            "ssl.truststore.type=JKS",
        ),
    ];
    for (args, says) in cases {
        let refused = broker.refused(args, b"x\n");
        assert!(refused.contains(says), "{args:?}: {refused}");
    }
    broker.ok(&["produce", "--topic", "sec"], b"still empty of secrets\n");
    assert_eq!(broker.consume_all("sec", 1, &[]), "still empty of secrets\n");
    broker.stop();
}

/// `--command-config` is taken by the admin tools: a file with client.id,
/// request.timeout.ms and a key an admin client does not use works for each.
#[test]
fn admin_tools_take_command_config() {
    let broker = Broker::start();
    let admin = broker.file("admin.properties", "client.id=ops\nrequest.timeout.ms=20000\nretries=3\n");
    broker.ok(&["topics", "--create", "--topic", "adm", "--command-config", &admin], b"");
    assert_eq!(broker.ok(&["topics", "--list", "--command-config", &admin], b""), "adm\n");
    broker.ok(&["produce", "--topic", "adm"], b"1\n2\n3\n");
    let offsets = broker.file("offsets.json", r#"{"partitions":[{"topic":"adm","partition":0,"offset":2}]}"#);
    broker.ok(&["delete-records", "--offset-json-file", &offsets, "--command-config", &admin], b"");
    broker.ok(&["log-dirs", "--describe", "--command-config", &admin], b"");
    broker.ok(&["groups", "--list", "--command-config", &admin], b"");
    assert_eq!(broker.consume_all("adm", 1, &[]), "3\n");
    broker.stop();
}

/// A `group.id` in `--consumer.config` makes the console consumer a group
/// member, as in Kafka, named by the file's client.id: while it runs, the
/// group's member list shows that CLIENT-ID; after it, the group has
/// committed what it printed. A `--group` that disagrees with the file is refused.
#[test]
fn consumer_config_group_and_client_id() {
    let broker = Broker::start();
    broker.ok(&["produce", "--topic", "grp"], b"1\n2\n");
    let file = broker
        .file("consumer.properties", "group.id=readers\nclient.id=report-job\nauto.offset.reset=earliest\n");
    // A member that stops after two records commits them and leaves.
    let printed =
        broker.ok(&["consume", "--topic", "grp", "--consumer.config", &file, "--max-messages", "2"], b"");
    assert_eq!(printed, "1\n2\n");
    let offsets = broker.ok(&["groups", "--describe", "--group", "readers"], b"");
    assert!(offsets.lines().any(|l| l.split_whitespace().nth(3) == Some("2")), "{offsets}");
    // A member that keeps running shows its client.id in the member list.
    broker.ok(&["produce", "--topic", "grp"], b"3\n");
    let mut consumer = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["consume", "--topic", "grp", "--consumer.config", &file, "--timeout-ms", "60000"])
        .args(["--bootstrap-server", &broker.bootstrap])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(consumer.stdout.take().unwrap()).lines();
    let first = lines.next().map(|l| l.unwrap());
    let members = broker.ok(&["groups", "--describe", "--group", "readers", "--members"], b"");
    let _ = consumer.kill();
    let _ = consumer.wait();
    assert_eq!(first.as_deref(), Some("3"));
    assert!(members.contains("report-job"), "{members}");
    let refused =
        broker.refused(&["consume", "--topic", "grp", "--consumer.config", &file, "--group", "other"], b"");
    assert!(refused.contains("do not match"), "{refused}");
    broker.stop();
}

impl Broker {
    /// SIGTERM; the broker must exit 0.
    fn stop(mut self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "broker did not exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
