//! `spool cluster`, the command that runs a local cluster of `spool serve`
//! processes (chapters 6 and 7): it starts them, prints the bootstrap
//! servers, and on SIGTERM stops them — the brokers together, then the
//! controllers; combined nodes one at a time — each by its own pid and
//! cleanly. What it wrote survives: started again on the same directory,
//! the cluster serves the records it acknowledged before.
//!
//! ```text
//! cargo build && cargo test --test it cluster_cli::
//! ```

use crate::common::{cluster, turn};

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use cluster::eventually;
use spool::client::{
    Client, Consumer, ConsumerConfig, NewTopic, OffsetReset, Producer, ProducerConfig, ProducerRecord,
};
use spool::TopicPartition;

/// A `spool cluster` child, sent SIGTERM (by its own pid) when dropped, so
/// it stops its nodes even when the test fails.
struct Terminated(Child);

impl Terminated {
    /// Runs `spool cluster <args> --port <port> --dir <dir>`; returns it and
    /// the bootstrap servers it printed.
    fn start(args: &[&str], port: u16, dir: &Path) -> (Terminated, String) {
        let child = Command::new(env!("CARGO_BIN_EXE_spool"))
            .arg("cluster")
            .args(args)
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("cluster.stderr")).expect("cluster.stderr"))
            .spawn()
            .expect("spawn spool cluster");
        let mut command = Terminated(child);
        // The pipe stays open in the child handle: the command's later
        // lines have somewhere to go.
        let mut stdout = std::io::BufReader::new(command.0.stdout.as_mut().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read stdout");
        let bootstrap = line.trim().strip_prefix("bootstrap.servers=").expect("bootstrap line").to_string();
        (command, bootstrap)
    }

    fn stop(&mut self) -> ExitStatus {
        if self.0.try_wait().expect("try_wait").is_none() {
            // SAFETY: kill(2) on our own unreaped child: its pid is still its.
            unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        }
        self.0.wait().expect("wait")
    }
}

impl Drop for Terminated {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until Metadata through `bootstrap` lists exactly the brokers `ids`.
async fn brokers_registered(bootstrap: &str, ids: &[i32]) {
    eventually("every broker registered and unfenced", async || {
        let mut client = Client::connect(bootstrap, Duration::from_secs(5)).await.ok()?;
        let mut found: Vec<i32> =
            client.metadata(Some(&[]), false).await.ok()?.brokers.iter().map(|b| b.node_id).collect();
        found.sort();
        (found == ids).then_some(())
    })
    .await;
}

/// Every node's `server.log` under `dir` says it shut down cleanly.
fn all_shut_down_cleanly(dir: &Path, nodes: &[&str]) {
    for node in nodes {
        let log = std::fs::read_to_string(dir.join(node).join("server.log")).expect("server.log");
        assert!(log.contains("shut down cleanly"), "{node}:\n{log}");
    }
}

/// The timestamp (RFC 3339, so ordered as text) of the first line of
/// `node`'s `server.log` that contains `text`.
fn first_line_time(dir: &Path, node: &str, text: &str) -> String {
    let log = std::fs::read_to_string(dir.join(node).join("server.log")).expect("server.log");
    let line =
        log.lines().find(|l| l.contains(text)).unwrap_or_else(|| panic!("{node}: no {text:?}:\n{log}"));
    line.split_whitespace().next().unwrap_or_default().to_string()
}

/// `spool cluster --combined 3` starts three combined nodes that form a
/// quorum and all serve as brokers: a client sees three unfenced brokers,
/// `spool metadata-quorum` given a dead controller address first finds the
/// quorum through the next one, and SIGTERM stops the command and its nodes
/// cleanly.
#[test]
fn spool_cluster_starts_combined_nodes() {
    let _turn = turn::take_turn();
    let dir = tempfile::tempdir().expect("tempdir");
    // `spool cluster` takes consecutive ports: three for brokers, three 100 above.
    let port = cluster::free_ports_at(&[0, 1, 2, 100, 101, 102]);
    let (mut command, bootstrap) = Terminated::start(&["--combined", "3"], port, dir.path());
    assert_eq!(bootstrap, format!("127.0.0.1:{port},127.0.0.1:{},127.0.0.1:{}", port + 1, port + 2));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(brokers_registered(&bootstrap, &[1, 2, 3]));
    let dead = cluster::free_port();
    let controllers = format!("127.0.0.1:{dead},127.0.0.1:{}", port + 100);
    let quorum = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["metadata-quorum", "--bootstrap-controller", &controllers, "describe", "--status"])
        .output()
        .expect("run spool metadata-quorum");
    let printed = String::from_utf8_lossy(&quorum.stdout);
    assert!(quorum.status.success(), "{printed}{}", String::from_utf8_lossy(&quorum.stderr));
    assert!(printed.contains("LeaderId:") && printed.contains(r#"{"id": 3, "#), "{printed}");
    let status = command.stop();
    assert!(status.success(), "spool cluster: {status:?}");
    all_shut_down_cleanly(dir.path(), &["node-1", "node-2", "node-3"]);
}

/// `spool cluster --brokers 3` (one controller, brokers 2–4): 60 records
/// written with acks=all to a topic of six partitions replicated three
/// times; SIGTERM stops the brokers together (each began before any ended)
/// and then the controller, every node cleanly; started again on the same directory, the cluster serves
/// all 60.
#[test]
fn spool_cluster_stops_its_brokers_together_and_keeps_their_records() {
    let _turn = turn::take_turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = cluster::free_ports_at(&[0, 1, 2, 100]);
    let nodes = ["controller-1", "broker-2", "broker-3", "broker-4"];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let sent: Vec<String> = (0..60).map(|i| format!("record-{i}")).collect();
    let (mut command, bootstrap) = Terminated::start(&["--brokers", "3"], port, dir.path());
    runtime.block_on(async {
        brokers_registered(&bootstrap, &[2, 3, 4]).await;
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("connect");
        let topic = NewTopic { partitions: 6, replication_factor: 3, ..NewTopic::new("kept") };
        let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
        assert!(created[0].is_ok(), "{created:?}");
        let mut config = ProducerConfig::new(bootstrap.clone());
        config.set("acks", "all").unwrap();
        let producer = Producer::connect(config).await.expect("producer");
        for value in &sent {
            let record = ProducerRecord { value: Some(value.clone().into()), ..ProducerRecord::default() };
            producer.send("kept", record).await.expect("send").await.expect("acknowledged");
        }
        producer.close().await.expect("close");
    });
    let status = command.stop();
    assert!(status.success(), "spool cluster: {status:?}");
    all_shut_down_cleanly(dir.path(), &nodes);
    // Together: every broker began its shutdown before any finished (one
    // at a time, broker-4 would be done before broker-3 began). A broker's
    // controlled shutdown takes a heartbeat round to the controller at
    // least, so signals sent together always overlap.
    let began = |node: &str| first_line_time(dir.path(), node, "shutting down");
    let ended = |node: &str| first_line_time(dir.path(), node, "shut down cleanly");
    let last_began = nodes[1..].iter().map(|n| began(n)).max().unwrap();
    let first_ended = nodes[1..].iter().map(|n| ended(n)).min().unwrap();
    assert!(
        last_began < first_ended,
        "a broker finished ({first_ended}) before another began ({last_began})"
    );

    let (mut command, bootstrap) = Terminated::start(&["--brokers", "3"], port, dir.path());
    let mut read = runtime.block_on(async {
        brokers_registered(&bootstrap, &[2, 3, 4]).await;
        eventually("every record read back", async || {
            let config =
                ConsumerConfig { auto_offset_reset: OffsetReset::Earliest, ..ConsumerConfig::default() };
            let mut consumer = Consumer::connect(&bootstrap, config).await.ok()?;
            consumer.assign((0..6).map(|p| TopicPartition::new("kept", p)));
            let mut read = Vec::new();
            for _ in 0..20 {
                let records = consumer.poll(Duration::from_millis(500)).await.ok()?;
                read.extend(
                    records
                        .into_iter()
                        .filter_map(|r| r.record.value)
                        .map(|v| String::from_utf8_lossy(&v).into_owned()),
                );
                if read.len() >= sent.len() {
                    break;
                }
            }
            (read.len() == sent.len()).then_some(read)
        })
        .await
    });
    read.sort();
    let mut want = sent.clone();
    want.sort();
    assert_eq!(read, want);
    let status = command.stop();
    let stderr = std::fs::read_to_string(dir.path().join("cluster.stderr")).unwrap_or_default();
    assert!(status.success(), "spool cluster: {status:?}\n{stderr}");
    all_shut_down_cleanly(dir.path(), &nodes);
}

/// `spool cluster` killed with SIGKILL (it cannot stop anything then) takes
/// its nodes with it: each `spool serve` was started with the parent-death
/// signal SIGTERM, so none runs on unowned.
#[test]
fn a_killed_spool_cluster_takes_its_nodes_with_it() {
    let _turn = turn::take_turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = cluster::free_ports_at(&[0, 100]);
    let (mut command, bootstrap) = Terminated::start(&["--brokers", "1"], port, dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(brokers_registered(&bootstrap, &[2]));
    let stderr = std::fs::read_to_string(dir.path().join("cluster.stderr")).expect("cluster.stderr");
    let pids: Vec<u32> =
        stderr.lines().filter_map(|l| l.split("(pid ").nth(1)?.split(')').next()?.parse().ok()).collect();
    assert_eq!(pids.len(), 2, "{stderr}");
    let nodes = Orphans { pids, dir: dir.path().display().to_string() };
    command.0.kill().expect("SIGKILL spool cluster");
    command.0.wait().expect("wait");
    runtime.block_on(eventually("every node gone", async || {
        tokio::time::sleep(Duration::from_millis(100)).await;
        nodes.serving().is_empty().then_some(())
    }));
}

/// The nodes of a killed `spool cluster`: no longer anyone's children, so a
/// failed test kills the ones still serving from its directory when dropped.
struct Orphans {
    pids: Vec<u32>,
    dir: String,
}

impl Orphans {
    /// The pids still running `spool serve` from this test's directory (a
    /// zombie waiting for init has an empty command line; a reused pid runs
    /// something else).
    fn serving(&self) -> Vec<u32> {
        let serving = |pid: &&u32| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&self.dir))
        };
        self.pids.iter().filter(serving).copied().collect()
    }
}

impl Drop for Orphans {
    fn drop(&mut self) {
        for pid in self.serving() {
            // SAFETY: kill(2) on a pid whose command line names our directory.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}
