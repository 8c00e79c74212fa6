//! Chapter 9's "done when", with a real transactional client: confluent-kafka
//! (librdkafka) commits and aborts transactions through spool's transaction
//! coordinator, read_committed consumers see exactly the committed records,
//! and a second producer with the same `transactional.id` fences the first
//! (KIP-98). The scenario script says what it checks:
//! `tests/clients/transactions_confluent_kafka.py`.
//!
//! ```text
//! tests/clients/setup.sh                      # once: .venv-clients/
//! cargo test --test transactions_clients
//! ```
//!
//! The broker runs in this process (the harness of `tests/wire/`). A client
//! that is not installed fails the test, naming the setup script. The test
//! takes its turn with the other real-client tests (run.sh's lock file).

#[allow(dead_code)]
#[path = "wire/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Bounds a scenario that hangs; the script also has its own deadline.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(150);

/// How long a test waits for its turn (run.sh's `LOCK_WAIT_S`).
const TURN_WAIT: Duration = Duration::from_secs(1_200);

/// One real-client scenario at a time on this machine (`flock` on
/// `$TMPDIR/spool-clients.lock`, as `tests/group_clients.rs` takes it).
async fn take_turn() -> std::fs::File {
    let path = std::env::temp_dir().join("spool-clients.lock");
    let file =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).expect("lock file");
    let waiting_since = std::time::Instant::now();
    // SAFETY: flock on a descriptor this function owns; LOCK_NB never blocks.
    while unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        assert!(waiting_since.elapsed() < TURN_WAIT, "{} held for {TURN_WAIT:?}", path.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    file
}

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    let ok = Command::new(&python).args(["-c", "import confluent_kafka"]).status().is_ok_and(|s| s.success());
    assert!(ok, "confluent_kafka is not installed in .venv-clients: run tests/clients/setup.sh first");
    python
}

/// confluent-kafka: commit, abort, read_committed vs read_uncommitted, and
/// zombie fencing by a second producer with the same transactional id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_commits_aborts_and_is_fenced() {
    let _turn = take_turn().await;
    let broker = harness::start(|c| c.transactions.state_log_num_partitions = 5).await;
    let script = clients_dir().join("transactions_confluent_kafka.py");
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(SCENARIO_TIMEOUT.as_secs().to_string()).arg(python()).arg(&script);
    command.args(["--bootstrap", &broker.addr.to_string()]);
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run the scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(output.status.success(), "{} failed ({}):\n{stdout}\n{stderr}", script.display(), output.status);
    assert!(stdout.contains("PASS "), "{stdout}");
    broker.stop().await;
}

/// The issue's "done when": confluent-kafka's consume-transform-produce loop
/// (`send_offsets_to_transaction`, read_committed) delivers every input
/// record to the output exactly once, across a SIGKILL of the loop inside a
/// transaction (its successor's InitProducerId aborts what it left open) and
/// a SIGKILL of the broker. The script runs `spool serve` itself (the broker
/// must die for real) and checks that the aborted transaction's records are
/// in the log, so the faults are proven to have hit an open transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_exactly_once_loop_survives_kills() {
    let _turn = take_turn().await;
    let script = clients_dir().join("transactions_eos.py");
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(SCENARIO_TIMEOUT.as_secs().to_string()).arg(python()).arg(&script);
    command.args(["--spool", env!("CARGO_BIN_EXE_spool")]);
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run the scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(output.status.success(), "{} failed ({}):\n{stdout}\n{stderr}", script.display(), output.status);
    let summary = stdout.lines().find(|l| l.starts_with("inputs=")).unwrap_or_default();
    assert!(summary.contains(" duplicates=0 ") && summary.contains(" missing=0 "), "{stdout}");
    assert!(summary.contains(" worker_kills=1 ") && summary.contains(" broker_kills=1 "), "{stdout}");
}
