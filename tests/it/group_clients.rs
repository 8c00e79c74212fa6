//! Real Kafka clients' consumer groups against spool's group coordinator
//! (chapter 5): the coordinator is right when consumers written against Apache
//! Kafka share a topic through it unchanged.
//!
//! ```text
//! tests/clients/setup.sh                      # once: .venv-clients/, node_modules/
//! cargo test --release --test it group_clients:: -- --nocapture   # shows the measured times
//! ```
//!
//! Each test starts a broker in this process (the harness of `tests/it/wire/`) and
//! runs one scenario script from `tests/clients/` against it; the scripts say
//! what they check. A client that is not installed fails its test, naming the
//! setup script: a test that passes without having run would hide a broken
//! coordinator. The tests take turns, with each other and with
//! `tests/it/wire_clients.rs` (run.sh's lock file): each runs several consumer
//! processes, and 2 cores shared by all of them is already tight.
//!
//! Brokers here allow sessions down to 1 s (`group.min.session.timeout.ms`),
//! so a SIGKILLed consumer's partitions move within seconds; most also set
//! `group.initial.rebalance.delay.ms=0`. The kafka-python, kafkajs and
//! first-record tests keep Kafka's 3 s delay: the first measures it, the
//! others start two consumers at once, which the delay gathers into one
//! generation.

use crate::common::turn;
use crate::wire::harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use spool::config::BrokerConfig;

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

fn require_python_module(module: &str) {
    let ok =
        Command::new(python()).args(["-c", &format!("import {module}")]).status().is_ok_and(|s| s.success());
    assert!(ok, "python module {module} is not installed in .venv-clients: run tests/clients/setup.sh first");
}

fn require_kafkajs() {
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "node is not on PATH: run tests/clients/setup.sh first");
    let kafkajs = clients_dir().join("node_modules/kafkajs/package.json");
    assert!(kafkajs.exists(), "{} is missing: run tests/clients/setup.sh first", kafkajs.display());
}

/// Short sessions allowed, no initial rebalance delay.
fn fast(config: &mut BrokerConfig) {
    config.group.session_timeout_ms_min = 1_000;
    config.group.initial_rebalance_delay_ms = 0;
}

/// Kafka's default initial rebalance delay (3 s), short sessions allowed.
fn default_delay(config: &mut BrokerConfig) {
    config.group.session_timeout_ms_min = 1_000;
}

/// Runs `program args` (bounded by `timeout --kill-after`), prints its output,
/// and fails with it unless it exited 0. Returns its stdout.
async fn run_script(program: &Path, args: Vec<String>) -> String {
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(SCENARIO_TIMEOUT.as_secs().to_string()).arg(program).args(&args);
    command.current_dir(clients_dir());
    let what = format!("{} {}", program.display(), args.join(" "));
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run scenario");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("$ {what}\n{stdout}{stderr}");
    assert!(output.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", output.status);
    stdout
}

async fn confluent(scenario: &str, bootstrap: &str, extra: &[&str]) -> String {
    require_python_module("confluent_kafka");
    let script = clients_dir().join("group_confluent_kafka.py");
    let mut args =
        vec![script.display().to_string(), scenario.to_string(), "--bootstrap".into(), bootstrap.into()];
    args.extend(["--topic".into(), format!("t-{scenario}"), "--group".into(), format!("g-{scenario}")]);
    args.extend(extra.iter().map(|s| s.to_string()));
    run_script(&python(), args).await
}

/// The values of `MEASURED key=value` lines, for the report.
fn measured(stdout: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| l.strip_prefix("MEASURED ")).map(str::to_string).collect()
}

/// confluent-kafka, eager (range) assignor: two and then three consumers split
/// a 6-partition topic, disjoint and complete; one closes (LeaveGroup) and the
/// others take its partitions; one is SIGKILLed and the survivor takes over
/// after session.timeout.ms; with synchronous commits and records produced
/// while the group is stable, every record is consumed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_consumers_split_and_take_over() {
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(fast).await;
    let out = confluent("split", &broker.addr.to_string(), &[]).await;
    let takeover = measured(&out);
    assert_eq!(takeover.len(), 1, "the scenario reports its takeover time: {out}");
    println!("measured: {}", takeover[0]);
    broker.stop().await;
}

/// confluent-kafka with `cooperative-sticky` (KIP-429): a third member takes
/// partitions without the others revoking everything (incremental callbacks),
/// and replaying every callback in time order, no partition has two owners.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_cooperative_rebalancing_is_incremental() {
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(fast).await;
    confluent("cooperative", &broker.addr.to_string(), &[]).await;
    broker.stop().await;
}

/// Static membership (KIP-345): a member with `group.instance.id` closes and
/// comes back within its session; it gets its old partitions and the other
/// member sees no rebalance (no callback at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_member_restart_causes_no_rebalance() {
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(fast).await;
    confluent("static", &broker.addr.to_string(), &[]).await;
    broker.stop().await;
}

/// Committed offsets survive a broker restart: a consumer reads 40 of 90
/// records committing each, the broker stops cleanly and restarts on the same
/// log directory (reloading `__consumer_offsets`), and a new consumer of the
/// group resumes exactly at the committed offsets and reads the other 50.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_resumes_from_committed_offsets_after_a_restart() {
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(fast).await;
    let addr = broker.addr;
    let state_dir = tempfile::tempdir().expect("tempdir");
    let state = state_dir.path().join("resume.json").display().to_string();
    confluent("resume-1", &addr.to_string(), &["--state", &state]).await;
    let dir = broker.stop().await;
    let broker = harness::start_on(addr, dir, fast).await;
    // The same topic and group as resume-1.
    let mut args = vec![clients_dir().join("group_confluent_kafka.py").display().to_string()];
    args.extend(
        ["resume-2", "--bootstrap", &addr.to_string(), "--topic", "t-resume-1", "--group", "g-resume-1"]
            .map(String::from),
    );
    args.extend(["--state".to_string(), state]);
    run_script(&python(), args).await;
    broker.stop().await;
}

/// A new group's first record arrives a few seconds after subscribe() with
/// Kafka's default `group.initial.rebalance.delay.ms` (3 s): generous bound,
/// measured time printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_record_of_a_new_group_after_the_initial_delay() {
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(default_delay).await;
    let out = confluent("first-record", &broker.addr.to_string(), &[]).await;
    let first = measured(&out);
    assert_eq!(first.len(), 1, "the scenario reports its time: {out}");
    println!("measured: {} (group.initial.rebalance.delay.ms=3000)", first[0]);
    broker.stop().await;
}

/// kafka-python's KafkaConsumer: two members of one group read every record
/// once with commits; a later member resumes at the committed end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_consumer_group() {
    let _turn = turn::take_turn_async().await;
    require_python_module("kafka");
    let broker = harness::start(default_delay).await;
    let script = clients_dir().join("group_kafka_python.py").display().to_string();
    let bootstrap = broker.addr.to_string();
    let args = [script.as_str(), "--bootstrap", &bootstrap, "--topic", "t-kp", "--group", "g-kp"];
    run_script(&python(), args.map(String::from).to_vec()).await;
    broker.stop().await;
}

/// kafkajs's consumer, which only exists as a group member: two members read
/// every record once, and the committed offsets are the partitions' ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkajs_consumer_group() {
    let _turn = turn::take_turn_async().await;
    require_kafkajs();
    let broker = harness::start(default_delay).await;
    let script = clients_dir().join("group_kafkajs.js").display().to_string();
    let bootstrap = broker.addr.to_string();
    let args = [script.as_str(), "--bootstrap", &bootstrap, "--topic", "t-kj", "--group", "g-kj"];
    run_script(Path::new("node"), args.map(String::from).to_vec()).await;
    broker.stop().await;
}

/// kcat's balanced consumer (`-G`) on Debian's librdkafka 2.0.2: reads a topic
/// to its end in a group, each record once; a second run of the group reads
/// nothing, resuming at what the first committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_balanced_consumer() {
    let _turn = turn::take_turn_async().await;
    let kcat = Command::new("kcat").arg("-V").output();
    assert!(kcat.is_ok_and(|o| o.status.success()), "kcat is not on PATH: run tests/clients/setup.sh first");
    let broker = harness::start(|c| {
        fast(c);
        c.num_partitions = 3;
    })
    .await;
    let script = clients_dir().join("group_kcat.sh").display().to_string();
    let bootstrap = broker.addr.to_string();
    let args = [script.as_str(), "--bootstrap", &bootstrap, "--topic", "t-kcat", "--group", "g-kcat"];
    run_script(Path::new("bash"), args.map(String::from).to_vec()).await;
    broker.stop().await;
}
