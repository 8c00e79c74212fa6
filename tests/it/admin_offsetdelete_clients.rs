//! Issue 17's OffsetDelete and DescribeLogDirs judged by a real admin client:
//! kafka-python's `KafkaAdminClient.delete_group_offsets` and
//! `describe_log_dirs` (the script in `tests/clients/` says what it checks).
//! confluent-kafka 2.16's Python AdminClient offers neither call, and
//! kafkajs's admin has no offset delete nor log-dir describe, so they are
//! not exercised here.
//!
//! ```text
//! tests/clients/setup.sh        # once: .venv-clients/
//! cargo test --test it admin_offsetdelete_clients::
//! ```
//!
//! The test takes its turn with the other client tests (run.sh's lock file).

use crate::common::turn;
use crate::wire::harness;

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    python
}

/// kafka-python: a live subscriber's offset is refused (GROUP_SUBSCRIBED_TO_TOPIC),
/// an empty group's is deleted, the group's next consumer starts from
/// `auto.offset.reset`, and `describe_log_dirs` reports the partition's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_deletes_offsets_and_describes_log_dirs() {
    let _turn = turn::take_turn_async().await;
    let broker = harness::start(|c| c.group.initial_rebalance_delay_ms = 0).await;
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/admin_offsetdelete_kafka_python.py");
    let bootstrap = broker.addr.to_string();
    let mut command = Command::new("timeout");
    command.args(["--kill-after=5", "120"]).arg(python()).arg(&script);
    command.args(["--bootstrap", &bootstrap, "--topic", "t-od", "--group", "g-od"]);
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{stdout}{stderr}");
    assert!(output.status.success(), "the scenario failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("OK"));
    broker.stop().await;
}
