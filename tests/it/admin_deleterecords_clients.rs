//! Issue 17 §4 for DeleteRecords, judged by real admin clients: confluent-kafka's
//! `AdminClient.delete_records` (librdkafka), kafka-python's
//! `KafkaAdminClient.delete_records` and kafkajs's `admin.deleteTopicRecords`
//! each delete records and see earliest move, and get the right error for
//! an offset beyond the high watermark (and, the Python ones, for an internal
//! topic) with nothing changed. Each script says what it checks:
//! `tests/clients/admin_deleterecords*.{py,js}`.
//!
//! ```text
//! tests/clients/setup.sh                      # once: .venv-clients/, node_modules/
//! cargo test --test it admin_deleterecords_clients::
//! ```
//!
//! The broker runs in this process (the harness of `tests/it/wire/`). A client
//! that is not installed fails the test, naming the setup script. The test
//! takes its turn with the other real-client tests (run.sh's lock file).

use crate::common::clients::{clients_dir, node_with_kafkajs, python_with};
use crate::common::turn;
use crate::wire::harness;
use crate::wire::requests;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;
use spool::broker::now_ms;

/// Bounds a scenario that hangs.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// A fresh broker with `topic` holding 10 records (offsets 0..10) in small
/// segments and `__consumer_offsets` created; runs `program script --bootstrap
/// ADDR --topic TOPIC extra…`, prints its output, and fails with it unless it
/// exited 0 and said `PASS`.
async fn run_scenario(program: PathBuf, script: &str, extra: &[&str]) {
    let broker = harness::start(|_| {}).await;
    let mut client = broker.client().await;
    let topic = "trimmed";
    requests::create_topic(&mut client, topic, 1, &[("segment.bytes", "150")]).await;
    for i in 0..10 {
        let r =
            requests::produce(&mut client, topic, 0, requests::batch(now_ms(), &[&format!("v{i}")]), 1).await;
        assert_eq!(r.error_code, 0);
    }
    let coordinator = FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g"));
    assert_eq!(client.request(1, &coordinator).await.error_code, 0, "__consumer_offsets created");
    let script = clients_dir().join(script);
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(SCENARIO_TIMEOUT.as_secs().to_string()).arg(program).arg(&script);
    command.args(["--bootstrap", &broker.addr.to_string(), "--topic", topic]).args(extra);
    command.current_dir(clients_dir());
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run the scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(output.status.success(), "{} failed ({}):\n{stdout}\n{stderr}", script.display(), output.status);
    assert!(stdout.contains("PASS "), "{stdout}");
    broker.stop().await;
}

/// confluent-kafka's AdminClient.delete_records: low watermarks 4 then 10,
/// OFFSET_OUT_OF_RANGE beyond the high watermark, INVALID_TOPIC on
/// `__consumer_offsets`, and the consumer's low watermark follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_deletes_records_and_sees_earliest_move() {
    let _turn = turn::take_turn_async().await;
    run_scenario(python_with("confluent_kafka"), "admin_deleterecords.py", &["--client", "confluent-kafka"])
        .await;
}

/// kafka-python's KafkaAdminClient.delete_records: the same checks, errors as
/// OffsetOutOfRangeError and InvalidTopicError, earliest from beginning_offsets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_deletes_records_and_sees_earliest_move() {
    let _turn = turn::take_turn_async().await;
    run_scenario(python_with("kafka"), "admin_deleterecords.py", &["--client", "kafka-python"]).await;
}

/// kafkajs's admin.deleteTopicRecords: earliest (fetchTopicOffsets' low) 4
/// then 10, and OFFSET_OUT_OF_RANGE beyond the high watermark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkajs_deletes_records_and_sees_earliest_move() {
    let _turn = turn::take_turn_async().await;
    run_scenario(node_with_kafkajs(), "admin_deleterecords_kafkajs.js", &[]).await;
}
