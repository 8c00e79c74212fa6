//! `max.request.partition.size.limit` (Kafka's `ServerConfigs`, KIP-966) set
//! in a `spool serve`'s properties caps every DescribeTopicPartitions answer,
//! whatever `response_partition_limit` the request asks: a broker told 2 answers
//! two partitions and a cursor for the rest, and the walk still yields them all.
//!
//! ```text
//! cargo build && cargo test --test it admin17_limits::
//! ```
//!
//! The broker is the `spool` binary, so the key goes through the config table
//! and `--override` exactly as an operator's would.

use crate::common::serve;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use spool::client::{Client, NewTopic};

/// A `spool serve` child on a free port; killed by its own pid when dropped.
struct Serve {
    child: Child,
    bootstrap: String,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start(overrides: &[&str]) -> Serve {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = serve::free_port();
        let mut all = vec![
            format!("listeners=PLAINTEXT://127.0.0.1:{port}"),
            format!("log.dirs={}", dir.path().join("data").display()),
        ];
        all.extend(overrides.iter().map(|o| o.to_string()));
        let child = serve::spawn_serve(&all, 1);
        Serve { child, bootstrap: format!("127.0.0.1:{port}"), _dir: dir }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asked for 100 partitions of a 5-partition topic, a broker whose
/// `max.request.partition.size.limit` is 2 answers 2 and a cursor at
/// partition 2; walking the cursor still yields all five, in order.
#[tokio::test]
async fn the_configured_limit_caps_describe_topic_partitions() {
    let serve = Serve::start(&["max.request.partition.size.limit=2"]);
    let mut client = Client::connect(&serve.bootstrap, Duration::from_secs(5)).await.expect("client");
    let topic = NewTopic { partitions: 5, ..NewTopic::new("capped") };
    let created = client.create_topics(&[topic], false).await.expect("create");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    let page = client.describe_topic_partitions_page(&["capped"], 100, None).await.expect("a page");
    let on_page: Vec<i32> = page.topics[0].partitions.iter().map(|p| p.metadata.partition).collect();
    assert_eq!(on_page, vec![0, 1]);
    assert_eq!(page.next_cursor, Some(("capped".to_string(), 2)));
    let all = client.describe_topic_partitions(&["capped"], 100).await.expect("the walk");
    let walked: Vec<i32> = all[0].partitions.iter().map(|p| p.metadata.partition).collect();
    assert_eq!(walked, vec![0, 1, 2, 3, 4]);
}

/// A limit below Kafka's minimum of 1 stops the broker at startup, naming the
/// key (bounded by `timeout`: a broker that took the value would serve on).
#[test]
fn a_limit_below_one_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new("timeout")
        .args(["--kill-after=5", "30", env!("CARGO_BIN_EXE_spool")])
        .args(["serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0"])
        .args(["--override", &format!("log.dirs={}", dir.path().join("data").display())])
        .args(["--override", "max.request.partition.size.limit=0"])
        .stdin(Stdio::null())
        .output()
        .expect("run spool serve");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // `timeout` exits 124 when it had to stop a broker that started.
    assert!(
        ![Some(0), Some(124), Some(137)].contains(&output.status.code()),
        "started with a limit of 0: {stderr}"
    );
    assert!(stderr.contains("max.request.partition.size.limit") && stderr.contains("at least 1"), "{stderr}");
}

/// The keys chapter 11 reads (`authorizer.class.name`, `super.users`,
/// `allow.everyone.if.no.acl.found`) and `max.request.partition.size.limit`
/// are rows of the config table — so DescribeConfigs and the reference page
/// list them — and a properties file setting them ignores none of them.
#[test]
fn the_table_lists_the_authorizer_keys_and_the_partition_limit() {
    use spool::config::def::broker_key;
    use spool::config::BrokerConfig;
    let keys = [
        ("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
        ("super.users", "User:admin;User:ops"),
        ("allow.everyone.if.no.acl.found", "true"),
        ("max.request.partition.size.limit", "7"),
    ];
    for (key, _) in keys {
        assert!(broker_key(key).is_some(), "{key} is not in the config table");
    }
    let props = keys.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let (config, ignored) = BrokerConfig::from_properties(&props).expect("loads");
    assert!(ignored.is_empty(), "ignored {ignored:?}");
    for (key, value) in keys {
        let read = broker_key(key).and_then(|k| k.broker_value).map(|read| read(&config));
        assert_eq!(read.as_deref(), Some(value), "{key} as DescribeConfigs reads it");
    }
}
