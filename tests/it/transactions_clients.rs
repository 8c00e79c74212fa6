//! Chapter 9's "done when", with a real transactional client: confluent-kafka
//! (librdkafka) commits and aborts transactions through spool's transaction
//! coordinator, read_committed consumers see exactly the committed records,
//! and a second producer with the same `transactional.id` fences the first
//! (KIP-98). The same with each other client family's own transaction
//! manager and read_committed consumer (issue 15 §4): kafka-python, aiokafka
//! and kafkajs, each adding a consume-transform-produce step whose group
//! offsets commit with the transaction (`send_offsets_to_transaction`,
//! kafkajs's `sendOffsets`). Each scenario script says what it checks:
//! `tests/clients/transactions_<client>.{py,js}`. confluent-kafka's
//! exactly-once loop (`transactions_eos.py`) runs twice: on one broker killed
//! under it, and on a three-broker `spool cluster` whose transaction
//! coordinator is killed.
//!
//! ```text
//! tests/clients/setup.sh                      # once: .venv-clients/, node_modules/
//! cargo test --test it transactions_clients::
//! ```
//!
//! The broker runs in this process (the harness of `tests/it/wire/`), except
//! for the exactly-once loop, whose script runs the `spool` binary cargo
//! built for the test (brokers must die for real). A client
//! that is not installed fails the test, naming the setup script. The test
//! takes its turn with the other real-client tests (run.sh's lock file).

use crate::common::clients::{clients_dir, node_with_kafkajs, python_with};
use crate::common::turn;
use crate::wire::harness;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Bounds a scenario that hangs; the script also has its own deadline.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(150);

/// Bounds the cluster's loop: a controller fences the dead broker after its
/// 9 s session timeout, and three debug brokers start more slowly than one.
const CLUSTER_SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

fn python() -> PathBuf {
    python_with("confluent_kafka")
}

/// Runs one client family's transactions scenario against a fresh in-process
/// broker (`program script --bootstrap ADDR`, bounded by `timeout`), prints
/// its output, and fails with it unless it exited 0 and said `PASS`.
async fn run_scenario(program: PathBuf, script: &str) {
    let broker = harness::start(|c| c.transactions.state_log_num_partitions = 5).await;
    let script = clients_dir().join(script);
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(SCENARIO_TIMEOUT.as_secs().to_string()).arg(program).arg(&script);
    command.args(["--bootstrap", &broker.addr.to_string()]).current_dir(clients_dir());
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run the scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(output.status.success(), "{} failed ({}):\n{stdout}\n{stderr}", script.display(), output.status);
    assert!(stdout.contains("PASS "), "{stdout}");
    broker.stop().await;
}

/// confluent-kafka: commit, abort, read_committed vs read_uncommitted, and
/// zombie fencing by a second producer with the same transactional id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_commits_aborts_and_is_fenced() {
    let _turn = turn::take_turn_async().await;
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

/// kafka-python's own transaction manager: commit over two partitions, abort,
/// its read_committed fetcher sees exactly the committed records (and
/// read_uncommitted all), send_offsets_to_transaction's offsets appear in the
/// group only with the commit (KIP-447 group metadata), and a second producer
/// with the same transactional_id fences the first (fatal ProducerFencedError).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_commits_aborts_sends_offsets_and_is_fenced() {
    let _turn = turn::take_turn_async().await;
    run_scenario(python_with("kafka"), "transactions_kafka_python.py").await;
}

/// aiokafka's own transaction manager through `async with producer.transaction()`
/// (an exception inside aborts): the same checks as kafka-python's, its
/// send_offsets_to_transaction carrying the group id only (no KIP-447
/// generation), and fencing surfacing as a fatal ProducerFenced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiokafka_commits_aborts_sends_offsets_and_is_fenced() {
    let _turn = turn::take_turn_async().await;
    run_scenario(python_with("aiokafka"), "transactions_aiokafka.py").await;
}

/// kafkajs's transactional producer (v0/v1 of the transaction APIs): the same
/// checks with its group-only consumers and `sendOffsets`; fenced by a second
/// producer's first `transaction()`, it gets INVALID_PRODUCER_EPOCH, the code
/// Kafka answers to a request version from before PRODUCER_FENCED (KIP-588).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkajs_commits_aborts_sends_offsets_and_is_fenced() {
    let _turn = turn::take_turn_async().await;
    run_scenario(node_with_kafkajs(), "transactions_kafkajs.js").await;
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
    let _turn = turn::take_turn_async().await;
    let stdout = run_eos_loop(&[], SCENARIO_TIMEOUT).await;
    assert!(stdout.contains(" worker_kills=1 ") && stdout.contains(" broker_kills=1 "), "{stdout}");
}

/// The same loop on chapter 6's cluster (`spool cluster`, three brokers;
/// `in` and `out` with three replicas, min.insync.replicas=2), where the
/// broker SIGKILLed is the transactional id's coordinator — the leader of its
/// `__transaction_state` partition — and markers travel over the network:
/// another replica takes the coordinator over with the state the dead one
/// acknowledged, the loop carries on, and every input still reaches `out`
/// exactly once (issue 15 §4). The script fails unless FindCoordinator names
/// another broker after the kill. A worker that librdkafka leaves stuck on the
/// dead group coordinator (its issue #5511) is replaced by the script's
/// watchdog: one more zombie to fence, so exactly-once must still hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_exactly_once_loop_on_a_cluster_survives_the_coordinator_kill() {
    let _turn = turn::take_turn_async().await;
    let stdout = run_eos_loop(&["--cluster", "--deadline-s", "80"], CLUSTER_SCENARIO_TIMEOUT).await;
    assert!(stdout.contains(" worker_kills=1 ") && stdout.contains(" broker_kills=1 "), "{stdout}");
    let moved = stdout.lines().find(|l| l.starts_with("inputs=")).and_then(|summary| {
        let of = |key: &str| summary.split(' ').find_map(|w| w.strip_prefix(key)).map(str::to_string);
        Some((of("coordinator_before=")?, of("coordinator_after=")?))
    });
    assert!(moved.as_ref().is_some_and(|(before, after)| before != after), "{moved:?}\n{stdout}");
}

/// Runs `transactions_eos.py` with `flags` (bounded by `timeout`), prints its
/// output, and fails unless it exited 0 with every input exactly once in
/// `out`; returns its stdout for the caller's own checks.
async fn run_eos_loop(flags: &[&str], timeout: Duration) -> String {
    let script = clients_dir().join("transactions_eos.py");
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(timeout.as_secs().to_string()).arg(python()).arg(&script);
    command.args(["--spool", env!("CARGO_BIN_EXE_spool")]).args(flags);
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run the scenario");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(output.status.success(), "{} failed ({}):\n{stdout}\n{stderr}", script.display(), output.status);
    let summary = stdout.lines().find(|l| l.starts_with("inputs=")).unwrap_or_default();
    assert!(summary.contains(" duplicates=0 ") && summary.contains(" missing=0 "), "{stdout}");
    stdout
}
