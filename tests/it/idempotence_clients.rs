//! Chapter 8's "done when", with real clients: confluent-kafka (librdkafka),
//! kafka-python and spool's own producer (`spool produce`) produce through a proxy that drops every fourth Produce
//! response by closing the connection — after the broker wrote the batch — and
//! a consumer then finds every record exactly once, each partition in send
//! order. The same run with idempotence off must find duplicates: that proves
//! the faults really make clients retry batches the broker already wrote, so
//! the "on" runs prove something. A third run also SIGKILLs the broker
//! mid-produce and restarts it on the same log directory: the retries that
//! cross the restart are recognised only if recovery rebuilt every producer's
//! state from the snapshots and the recovered log.
//!
//! ```text
//! tests/clients/setup.sh                          # once: .venv-clients/
//! cargo test --release --test it idempotence_clients::
//! .venv-clients/bin/python tests/clients/idempotence_faults.py \
//!     --spool target/release/spool --client kafka-python --idempotence on   # by hand
//! ```
//!
//! The proxy and the check are `tests/clients/idempotence_faults.py`: the broker
//! (`spool serve`) advertises the proxy's address, so every connection a client
//! opens after bootstrap goes through the proxy too. A client that is not
//! installed fails its test, naming the setup script.

use crate::common::turn;

use std::path::Path;
use std::process::Command;

/// Runs the fault scenario for `client` with idempotence `on`/`off`; returns
/// its summary line, failing with the whole output unless the check passed.
fn run(client: &str, idempotence: &str, extra: &[&str]) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let python = Path::new(root).join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    // The check's consumer is confluent-kafka's, whichever client produces.
    let import = if client == "kafka-python" { "kafka" } else { "confluent_kafka" };
    let probe = Command::new(&python).args(["-c", &format!("import {import}")]).output().expect("run python");
    assert!(
        probe.status.success(),
        "{client} is not installed in .venv-clients: run tests/clients/setup.sh first"
    );
    let output = Command::new("timeout")
        .args(["150", python.to_str().expect("utf-8 path")])
        .arg(Path::new(root).join("tests/clients/idempotence_faults.py"))
        .args(["--spool", env!("CARGO_BIN_EXE_spool"), "--client", client, "--idempotence", idempotence])
        .args(extra)
        .output()
        .expect("run tests/clients/idempotence_faults.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{client} with idempotence {idempotence} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let summary = stdout.lines().find(|l| l.starts_with("client=")).unwrap_or_default().to_string();
    assert!(
        summary.contains(" faults=") && !summary.contains(" faults=0 "),
        "no faults injected: {summary:?}"
    );
    summary
}

/// The number after `name=` in a summary line.
fn field(summary: &str, name: &str) -> u64 {
    let prefix = format!("{name}=");
    summary
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {summary:?}"))
}

/// Idempotence on: exactly once and in order despite retries of written
/// batches, also across a SIGKILL and restart of the broker. Off: the same
/// faults duplicate records (at-least-once).
fn exactly_once_only_with_idempotence(client: &str) {
    // One client at a time: each run is a broker, a proxy and a client on a
    // shared machine, and a starved one would blur what is measured.
    let _turn = turn::take_turn();
    let off = run(client, "off", &[]);
    assert!(field(&off, "duplicates") > 0, "idempotence off but no duplicates: {off}");
    assert_eq!(field(&off, "missing"), 0, "{off}");
    let on = run(client, "on", &[]);
    assert_eq!(
        (field(&on, "duplicates"), field(&on, "out_of_order"), field(&on, "missing")),
        (0, 0, 0),
        "{on}"
    );
    let killed = run(client, "on", &["--kill-broker-at", "3"]);
    assert_eq!(field(&killed, "restarts"), 1, "{killed}");
    let counts = (field(&killed, "duplicates"), field(&killed, "out_of_order"), field(&killed, "missing"));
    assert_eq!(counts, (0, 0, 0), "across a SIGKILL and restart: {killed}");
}

/// librdkafka 2.x: `enable.idempotence=true`, five requests in flight.
#[test]
fn confluent_kafka_writes_each_record_once_through_dropped_responses() {
    exactly_once_only_with_idempotence("confluent-kafka");
}

/// kafka-python 3.x: `enable_idempotence=True`, its own sequence bookkeeping.
#[test]
fn kafka_python_writes_each_record_once_through_dropped_responses() {
    exactly_once_only_with_idempotence("kafka-python");
}

/// spool's own producer (`spool produce --producer-property
/// enable.idempotence=true`): InitProducerId, per-partition sequences, and
/// the same bytes on every retry.
#[test]
fn spool_producer_writes_each_record_once_through_dropped_responses() {
    exactly_once_only_with_idempotence("spool");
}
