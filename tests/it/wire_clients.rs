//! Real Kafka clients against spool's broker (chapter 2): the wire protocol is right when
//! clients that were written against Apache Kafka work against spool unchanged.
//!
//! ```text
//! tests/clients/setup.sh                      # once: kcat, .venv-clients/, node_modules/
//! cargo test --release --test it wire_clients::
//! tests/clients/run.sh target/release/spool   # the same matrix by hand, with --verbose
//! ```
//!
//! Each test runs `tests/clients/run.sh` for one client against the `spool` binary cargo
//! built: for every codec (none, gzip, snappy, lz4, zstd), a fresh broker, the client's
//! scenario (create a topic, produce 10,000 keyed records with headers, check with
//! `spool dump-log` that every batch on disk carries that codec, read every partition back
//! from the beginning, check each record once, in order, byte for byte), then SIGTERM and a
//! clean exit. The scenarios in `tests/clients/` say what each
//! covers. Every client runs the matrix twice: with fetches sent by `sendfile` (chapter
//! 3's zero-copy path, the default) and with `spool.fetch.zero.copy=false` (the copying
//! path), which must be indistinguishable to a client; then gzip and zstd into topics
//! stored as lz4 (chapter 4's re-encoding), checked on disk and read back. A client that is not installed fails its test, naming the setup script: a test
//! that passes without having run would hide a broken broker.

use std::process::Command;

/// Runs the client matrix for `client` with each fetch path, then with two codecs
/// into topics whose `compression.type` is another (chapter 4: the broker re-encodes).
fn run_matrix(client: &str) {
    run_matrix_with(client, &["--broker-override", "spool.fetch.zero.copy=true"]);
    run_matrix_with(client, &["--broker-override", "spool.fetch.zero.copy=false"]);
    run_matrix_with(client, &["--codecs", "gzip,zstd", "--topic-compression", "lz4"]);
}

/// Runs the client matrix for `client` with run.sh's `args`, and fails with the
/// script's whole output unless every case passed.
fn run_matrix_with(client: &str, args: &[&str]) {
    let setting = args.join(" ");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/run.sh");
    let output = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_spool"))
        .args(["--clients", client])
        .args(args)
        .output()
        .expect("run tests/clients/run.sh with bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("run tests/clients/setup.sh") {
        panic!("{client} is not installed: run tests/clients/setup.sh first\n{stderr}");
    }
    assert!(
        output.status.success(),
        "{client} against spool ({setting}) failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with(" passed, 0 failed") && !summary.starts_with("0 passed"),
        "{client} ({setting}): run.sh succeeded but its summary is {summary:?}:\n{stdout}\n{stderr}"
    );
}

/// confluent-kafka (librdkafka 2.16): AdminClient, Producer and an assign()-only Consumer,
/// plus acks=0, an idempotent producer, OFFSET_OUT_OF_RANGE, a long-poll wake-up, four
/// producers on one partition at once, DescribeCluster, DescribeConfigs, DeleteTopics, and
/// a restart on the same log dir after SIGTERM and after SIGKILL.
#[test]
fn confluent_kafka() {
    run_matrix("confluent-kafka");
}

/// kafka-python 3.x, pure Python: its own encoding of every request and record batch, an
/// idempotent producer, offsets_for_times, and fetch limits below one batch (KIP-74).
#[test]
fn kafka_python() {
    run_matrix("kafka-python");
}

/// aiokafka: probes the broker with ApiVersions v0 and compresses with cramjam.
#[test]
fn aiokafka() {
    run_matrix("aiokafka");
}

/// kafkajs 2.x (gzip built in; snappy, lz4 and zstd registered by the scenario through
/// `CompressionCodecs`): admin and producer; its consumer only exists as a group member,
/// so confluent-kafka reads back and checks what kafkajs wrote here (kafkajs's group
/// consumer is `tests/it/group_clients.rs`' job, chapter 5).
#[test]
fn kafkajs() {
    run_matrix("kafkajs");
}

/// kcat on Debian's librdkafka 2.0.2: metadata listing, topic auto-creation, produce and
/// consume to the end of each partition.
#[test]
fn kcat() {
    run_matrix("kcat");
}
