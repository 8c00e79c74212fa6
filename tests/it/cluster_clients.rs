//! Chapter 6's client matrix (issue 13 §5): real Kafka clients, unmodified,
//! against a controller and three brokers as `spool cluster` starts them.
//!
//! ```text
//! tests/clients/setup.sh                      # once: kcat, .venv-clients/, node_modules/
//! cargo test --test it cluster_clients:: -- --nocapture
//! ```
//!
//! One cluster serves every client, each with its own topic of replication
//! factor 3 and six partitions, whose leaders the striped placer spreads over
//! the three brokers. Each client is bootstrapped from ONE broker (a
//! different one per client), so to produce to every partition it must
//! follow Metadata to the other leaders. What each client checks is in its
//! script under `tests/clients/cluster_*`:
//!
//! | client          | creates the topic          | produces                    | reads back with        | metadata checked                  |
//! |-----------------|----------------------------|-----------------------------|------------------------|-----------------------------------|
//! | confluent-kafka | AdminClient                | acks=all, idempotent        | assign()               | DescribeCluster, Metadata         |
//! | kafka-python    | KafkaAdminClient           | acks=all, idempotent        | assign() + seek        | DescribeCluster, Metadata         |
//! | aiokafka        | AIOKafkaAdminClient        | acks=all, idempotent        | assign() + seek        | DescribeCluster, Metadata         |
//! | kafkajs         | admin.createTopics         | acks=-1, idempotent         | confluent-kafka (*)    | describeCluster, fetchTopicMetadata |
//! | kcat            | spool's client (**)        | acks=all, idempotent        | -C -p -o beginning -e  | kcat -L                           |
//!
//! (*) kafkajs has no consumer outside a consumer group. (**) kcat has no
//! admin commands; it also produces to and reads an auto-created topic
//! (Metadata answers LEADER_NOT_AVAILABLE first, then the topic).
//!
//! Every value must come back exactly once, in order per partition, byte for
//! byte (`scenario_common.py`'s check). The cases run one after another and
//! all of them run even when one fails; the test then fails naming each
//! failed client with its output. A client that is not installed fails its
//! case, naming the setup script: a case that passes without having run would
//! hide a broken cluster.
//!
//! Consumer groups: chapter 5's group scripts run unchanged against the
//! cluster, their coordinator the leader of a `__consumer_offsets`
//! partition: `group_confluent_kafka.py split` (members join, leave and
//! one is SIGKILLed; every record read once), `group_kafka_python.py` (two
//! members, commits, a third resumes at the end), `group_kafkajs.js` (two
//! members, kafkajs's commits) and `group_kcat.sh` (kcat -G, then a resume at
//! the committed offsets). Their topics are the scripts' own (replication
//! factor 1, or auto-created), so a commit often names a partition the
//! coordinator does not host; the brokers allow 1 s sessions
//! (`group.min.session.timeout.ms`) for confluent-kafka's scenario.

use crate::common::cluster;
use crate::common::turn;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cluster::KafkaCluster;
use spool::client::{Client, NewTopic};

/// Partitions per topic: at least two per broker, so each leads several.
const PARTITIONS: i32 = 6;
/// Records each client produces and reads back.
const RECORDS: usize = 2_000;
/// The brokers' node ids (`KafkaCluster`: the controller is 1).
const BROKERS: &str = "2,3,4";
/// Bounds one client's case; each script also has its own deadline, 10 s
/// shorter, so that it fails with its own words first.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bounds the whole matrix (a normal run takes about 30 s): once spent, the
/// cases left fail unrun, each case gets at most what is left.
const MATRIX_BUDGET: Duration = Duration::from_secs(110);
/// The shortest case worth starting.
const CASE_TIMEOUT_MIN: Duration = Duration::from_secs(15);
/// How long the cluster may take to register its brokers.
const PATIENCE: Duration = Duration::from_secs(30);

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn python() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python").display().to_string()
}

/// One client's case: the command lines it runs, in order, against `bootstrap`.
fn case_commands(client: &str, bootstrap: &str, timeout: Duration) -> Vec<Vec<String>> {
    let topic = format!("cluster-{client}");
    let common = |script: &str, runner: &str| -> Vec<String> {
        let mut args = vec![runner.to_string(), clients_dir().join(script).display().to_string()];
        for (flag, value) in [
            ("--bootstrap", bootstrap.to_string()),
            ("--topic", topic.clone()),
            ("--partitions", PARTITIONS.to_string()),
            ("--records", RECORDS.to_string()),
            ("--brokers", BROKERS.to_string()),
            ("--deadline-s", (timeout.as_secs() - 10).to_string()),
        ] {
            args.extend([flag.to_string(), value]);
        }
        args
    };
    match client {
        "confluent-kafka" => vec![common("cluster_confluent_kafka.py", &python())],
        "kafka-python" => vec![common("cluster_kafka_python.py", &python())],
        "aiokafka" => vec![common("cluster_aiokafka.py", &python())],
        "kafkajs" => {
            let mut read_back = common("cluster_confluent_kafka.py", &python());
            read_back.push("--consume-only".into());
            vec![common("cluster_kafkajs.js", "node"), read_back]
        }
        "kcat" => vec![common("cluster_kcat.sh", "bash")],
        // chapter 5's group scripts, unchanged: they take no layout arguments.
        "confluent-kafka-group" | "kafka-python-group" | "kafkajs-group" | "kcat-group" => {
            let (runner, script, scenario) = match client {
                "confluent-kafka-group" => (python(), "group_confluent_kafka.py", Some("split")),
                "kafka-python-group" => (python(), "group_kafka_python.py", None),
                "kafkajs-group" => ("node".into(), "group_kafkajs.js", None),
                _ => ("bash".into(), "group_kcat.sh", None),
            };
            let mut args = vec![runner, clients_dir().join(script).display().to_string()];
            args.extend(scenario.map(String::from));
            args.extend(["--bootstrap", bootstrap, "--topic", &topic, "--group", &topic].map(String::from));
            vec![args]
        }
        _ => unreachable!("unknown client {client}"),
    }
}

/// What is missing for `client` to run, naming the setup script.
fn not_installed(client: &str) -> Option<String> {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program).args(args).current_dir(clients_dir()).output().is_ok_and(|o| o.status.success())
    };
    let ok = match client {
        "confluent-kafka" | "confluent-kafka-group" => runs(&python(), &["-c", "import confluent_kafka"]),
        "kafka-python" | "kafka-python-group" => runs(&python(), &["-c", "import kafka"]),
        "aiokafka" => runs(&python(), &["-c", "import aiokafka"]),
        "kafkajs" => {
            runs("node", &["-e", "require('kafkajs')"]) && runs(&python(), &["-c", "import confluent_kafka"])
        }
        "kafkajs-group" => runs("node", &["-e", "require('kafkajs')"]),
        "kcat" | "kcat-group" => runs("kcat", &["-V"]),
        _ => false,
    };
    (!ok).then(|| format!("{client} is not installed: run tests/clients/setup.sh first"))
}

/// Runs each command of a case, bounded by `timeout`; `Err` carries the
/// output of the first one that failed.
fn run_case(commands: &[Vec<String>], timeout: Duration) -> Result<String, String> {
    let mut transcript = String::new();
    for command in commands {
        let output = Command::new("timeout")
            .arg("--kill-after=5")
            .arg(timeout.as_secs().to_string())
            .args(command)
            .current_dir(clients_dir())
            .output()
            .expect("run timeout(1)");
        transcript.push_str(&format!(
            "$ {}\n{}{}",
            command.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
        if !output.status.success() {
            transcript.push_str(&format!("exited with {}\n", output.status));
            return Err(transcript);
        }
    }
    Ok(transcript)
}

/// Waits until `client`'s broker lists all three brokers in Metadata.
async fn wait_for_brokers(client: &mut Client) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let brokers = client.metadata(Some(&[]), false).await.map(|m| m.brokers.len()).unwrap_or(0);
        if brokers == 3 {
            return;
        }
        assert!(Instant::now() < deadline, "{brokers} brokers registered after {PATIENCE:?}, expected 3");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until a broker's Metadata lists all three brokers, then creates
/// kcat's topic with spool's own client (kcat has no CreateTopics).
fn prepare(bootstrap: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut client = Client::connect(bootstrap, Duration::from_secs(5)).await.expect("connect");
        wait_for_brokers(&mut client).await;
        let topic =
            NewTopic { partitions: PARTITIONS, replication_factor: 3, ..NewTopic::new("cluster-kcat") };
        let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
        assert!(created[0].is_ok(), "CreateTopics cluster-kcat: {created:?}");
    });
}

/// Metadata names a live broker as the controller, never the KRaft
/// controller node: clients send CreateTopics and DeleteTopics to the
/// "controller" of Metadata, and only brokers serve clients; a broker
/// forwards those requests to the real controller (KIP-590). Kafka answers
/// with a random alive broker (`KafkaApis`' Metadata and DescribeCluster).
/// Found by this file's matrix: librdkafka timed out "waiting for
/// controller", kafka-python failed with UnknownBrokerIdError: 1.
#[test]
fn metadata_names_a_live_broker_as_the_controller() {
    let cluster = KafkaCluster::start(3, "");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        for broker in &cluster.brokers {
            let bootstrap = broker.addr(0).to_string();
            let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("connect");
            wait_for_brokers(&mut client).await;
            let metadata = client.metadata(Some(&[]), false).await.expect("Metadata");
            let ids: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id).collect();
            assert!(
                ids.contains(&metadata.controller_id),
                "Metadata from {bootstrap} names controller {}, not one of its brokers {ids:?}",
                metadata.controller_id
            );
        }
    });
}

/// Every client family, bootstrapped from one broker of a 3-broker cluster,
/// writes every partition of a replication-factor-3 topic with acks=all and
/// idempotence, reads each value back once and in order per partition, and
/// sees all three brokers and each partition's replicas and full ISR in its
/// metadata (Kafka's protocol guide: Metadata, DescribeCluster; KIP-98's
/// idempotent producer; chapter 6's acks=all waits for the high watermark).
#[test]
fn every_client_against_a_three_broker_cluster() {
    let _turn = turn::take_turn();
    let matrix_started = Instant::now();
    let cluster = KafkaCluster::start(3, "group.min.session.timeout.ms=1000");
    prepare(&cluster.bootstrap());
    let clients = [
        "confluent-kafka",
        "kafka-python",
        "aiokafka",
        "kafkajs",
        "kcat",
        "confluent-kafka-group",
        "kafka-python-group",
        "kafkajs-group",
        "kcat-group",
    ];
    let mut failed = Vec::new();
    for (k, client) in clients.iter().enumerate() {
        let bootstrap = cluster.brokers[k % cluster.brokers.len()].addr(0).to_string();
        let started = Instant::now();
        let timeout = CASE_TIMEOUT.min(MATRIX_BUDGET.saturating_sub(matrix_started.elapsed()));
        let result = match not_installed(client) {
            Some(missing) => Err(missing),
            None if timeout < CASE_TIMEOUT_MIN => {
                Err(format!("not run: the matrix's {MATRIX_BUDGET:?} are spent"))
            }
            None => run_case(&case_commands(client, &bootstrap, timeout), timeout),
        };
        let verdict = if result.is_ok() { "PASS" } else { "FAIL" };
        println!("{verdict} {client:<16} via {bootstrap} in {:.1}s", started.elapsed().as_secs_f64());
        match result {
            Ok(transcript) => println!("{transcript}"),
            Err(transcript) => failed.push(format!("--- {client} (bootstrap {bootstrap})\n{transcript}")),
        }
    }
    if !failed.is_empty() {
        for node in cluster.brokers.iter().chain(&cluster.controllers) {
            let stderr = node.stderr();
            let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
            failed.push(format!("--- last lines of {}/stderr.log", node.dir().display()));
            failed.extend(tail.into_iter().rev().map(String::from));
        }
    }
    assert!(failed.is_empty(), "clients failed against the cluster:\n{}", failed.join("\n"));
}
