//! DescribeTopicPartitions, DescribeProducers and KIP-467's per-record
//! Produce errors judged by real clients (the scripts in `tests/clients/`
//! say what each checks):
//!
//! - kafka-python 3's `KafkaAdminClient.describe_topic_partitions` sends API
//!   75 and walks the cursor; its `describe_producers` reads the producer
//!   table. (librdkafka 2.16's `describe_topics` still asks Metadata, and
//!   confluent-kafka offers no `describe_producers`; kafkajs neither.)
//! - confluent-kafka (librdkafka 2.16 sends Produce v10) reads an answer
//!   with record_errors, fails a keyless record on a compacted topic once
//!   with INVALID_RECORD and goes on producing. Its delivery report shows
//!   librdkafka's generic text for the code, not the broker's per-record
//!   message (checked by hand with `debug=protocol,msg`: a 366-byte v10
//!   response was read; the message is not surfaced to Python).
//!
//! ```text
//! tests/clients/setup.sh        # once: .venv-clients/
//! cargo test --test it describetp_clients::
//! ```
//!
//! The broker runs in the test's process (no release binary needed); each
//! test takes its turn with the other client tests (run.sh's lock file).

use crate::common::turn;
use crate::wire::harness;

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    python
}

/// Runs `script` against a fresh broker; it prints OK when every check held.
async fn scenario(script: &str) {
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(|_| {}).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(script);
    let mut command = Command::new("timeout");
    command.args(["--kill-after=5", "120"]).arg(python()).arg(&script);
    command.args(["--bootstrap", &broker.addr.to_string()]);
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{stdout}{stderr}");
    assert!(output.status.success(), "the scenario failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("OK"));
    broker.stop().await;
}

/// kafka-python walks DescribeTopicPartitions' cursor with a page of 2 over 7
/// partitions and sees each once; an unknown topic is code 3; DescribeProducers
/// reports an idempotent producer's last sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_pages_through_topic_partitions_and_describes_producers() {
    scenario("describetp_kafka_python.py").await;
}

/// confluent-kafka reads a KIP-467 answer: a keyless record on a compacted
/// topic is reported INVALID_RECORD, not retried, and the producer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_reads_a_refusal_with_record_errors() {
    scenario("describetp_confluent_kafka.py").await;
}
