//! CreatePartitions (issue 17) judged by real admin clients: confluent-kafka's
//! AdminClient, kafka-python's KafkaAdminClient and kafkajs's admin grow a
//! topic, dry-run, and are refused a shrink with INVALID_PARTITIONS; and a
//! confluent-kafka consumer group rebalances onto a new partition and reads
//! what is produced there (Kafka's consumers notice new partitions on a
//! metadata refresh, and the group leader's rejoin starts the rebalance).
//!
//! ```text
//! tests/clients/setup.sh     # once: .venv-clients/, node_modules/
//! cargo test --test it admin_createpartitions_clients::
//! ```
//!
//! Each test starts a broker in this process and runs one script from
//! `tests/clients/` against it, taking turns with the other client tests
//! (run.sh's lock file). A missing client fails its test, naming the setup script.

use crate::common::turn;
use crate::wire::harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Bounds a scenario that hangs; each script also has its own deadlines.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    python
}

/// Runs `program args` (bounded by `timeout --kill-after`), prints its output,
/// and fails with it unless it exited 0 and printed OK.
async fn run_script(program: &Path, args: Vec<String>) {
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(SCENARIO_TIMEOUT.as_secs().to_string()).arg(program).args(&args);
    command.current_dir(clients_dir());
    let what = format!("{} {}", program.display(), args.join(" "));
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run scenario");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("$ {what}\n{stdout}{stderr}");
    assert!(
        output.status.success() && stdout.contains("OK"),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// Runs one scenario of `admin_createpartitions.py` against a fresh broker.
async fn python_scenario(scenario: &str) {
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(|config| {
        config.group.session_timeout_ms_min = 1_000;
        config.group.initial_rebalance_delay_ms = 0;
    })
    .await;
    let script = clients_dir().join("admin_createpartitions.py");
    let args = vec![
        script.display().to_string(),
        scenario.into(),
        "--bootstrap".into(),
        broker.addr.to_string(),
        "--topic".into(),
        format!("t-{scenario}"),
    ];
    run_script(&python(), args).await;
    broker.stop().await;
}

/// confluent-kafka's `AdminClient.create_partitions`: grow, dry run, shrink refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_creates_partitions() {
    python_scenario("confluent").await;
}

/// kafka-python's `KafkaAdminClient.create_partitions`: grow, dry run, shrink refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_creates_partitions() {
    python_scenario("kafka-python").await;
}

/// A subscribed confluent-kafka consumer group rebalances onto a partition
/// added while it consumes, and reads the record produced there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_rebalances_onto_new_partitions() {
    python_scenario("group").await;
}

/// kafkajs's `admin.createPartitions`: grow, dry run, shrink refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkajs_creates_partitions() {
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "node is not on PATH: run tests/clients/setup.sh first");
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(|_| {}).await;
    let script = clients_dir().join("admin_createpartitions_kafkajs.js");
    let args = vec![
        script.display().to_string(),
        "--bootstrap".into(),
        broker.addr.to_string(),
        "--topic".into(),
        "t-kafkajs".into(),
    ];
    run_script(Path::new("node"), args).await;
    broker.stop().await;
}
