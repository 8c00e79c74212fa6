//! Trace validation (issue 14 §3): a real 3-controller cluster records every
//! input of each controller's Raft core, the outputs and the state after it
//! (`spool.quorum.trace.dir`); the active controller is killed with SIGKILL
//! and restarted while topics are created; then the checker of
//! `models/src/kraft/trace.rs` replays each controller's trace against the
//! core and checks the model's safety properties across them.
//!
//! ```text
//!   controllers 1 2 3 (trace on) + broker 4        the test
//!   CreateTopics ──▶ active controller A           kill -9 A, wait for B (newer epoch)
//!   CreateTopics ──▶ B                             restart A, wait until it follows
//!   CreateTopics ──▶ B                             stop all; check_dir(traces)
//! ```
//!
//! It also shows the checker is not vacuous: the trace holds the election
//! after the fault, and a copy with one recorded output changed, or one
//! input dropped, is reported at that line.

use crate::common::cluster;
#[path = "../../models/src/kraft/trace.rs"]
mod trace;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cluster::quorum::{self, Leader};
use cluster::KafkaCluster;
use spool::client::{Client, NewTopic};

/// Short timers, so the election after the kill takes a few seconds.
const EXTRA: &str = "controller.quorum.fetch.timeout.ms=2000\ncontroller.quorum.election.timeout.ms=1000\n\
                     broker.session.timeout.ms=3000\nbroker.heartbeat.interval.ms=500\n";
/// A functional bound on an election or a topic creation, not a speed target.
const PATIENCE: Duration = Duration::from_secs(60);

/// The run of a real cluster through the kill of its active controller
/// follows the core's transitions step by step on every controller, and
/// keeps one leader per epoch, high watermarks that never go back and
/// committed prefixes that agree (Raft §5.2–5.4, KIP-595).
#[test]
fn a_real_run_through_a_controller_kill_conforms_to_the_core() {
    let traces = tempfile::tempdir().expect("tempdir");
    let extra = format!("{EXTRA}spool.quorum.trace.dir={}\n", traces.path().display());
    let mut cluster = KafkaCluster::start_quorum(3, 1, &extra);
    let controllers: Vec<_> =
        cluster.controller_ids().zip(cluster.controllers.iter().map(|c| c.addr(0))).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");

    let (old, _) = runtime.block_on(quorum::wait_for_leader(&controllers, "at start", PATIENCE, |_| true));
    runtime.block_on(create_topic(&cluster.bootstrap(), "before-the-kill"));
    cluster.controller(old.id).kill();
    let others: Vec<_> = controllers.iter().copied().filter(|&(id, _)| id != old.id).collect();
    let (new, _) = runtime.block_on(quorum::wait_for_leader(&others, "after the kill", PATIENCE, |l| {
        l.id != old.id && l.epoch > old.epoch
    }));
    runtime.block_on(create_topic(&cluster.bootstrap(), "after-the-kill"));
    cluster.controller(old.id).restart();
    runtime.block_on(quorum::wait_for_leader(&controllers, "once the old one is back", PATIENCE, |l| {
        l.epoch >= new.epoch
    }));
    runtime.block_on(create_topic(&cluster.bootstrap(), "after-the-restart"));
    for id in cluster.controller_ids().collect::<Vec<_>>() {
        cluster.controller(id).stop();
    }

    let report = trace::check_dir(traces.path()).expect("read the traces");
    eprintln!("{report}");
    assert!(report.passed(), "{report}");
    assert_eq!(report.files, 3, "one trace per controller: {report}");
    assert_eq!(report.starts, 4, "three starts and the restart: {report}");
    assert!(elected_after(&report, old), "the trace holds the election after the kill: {report}");
    assert!(report.high_watermark_max > 0, "records were committed: {report}");

    let files = read_traces(traces.path());
    let (changed, line) = change_one_output(&files);
    let report = trace::check(&changed);
    assert!(!report.passed(), "a changed output must be reported");
    assert_eq!(report.violations[0].line, line, "{report}");
    assert!(report.violations[0].what.contains("outputs differ"), "{report}");

    let (dropped, line) = drop_one_input(&files);
    let report = trace::check(&dropped);
    assert!(!report.passed(), "a dropped input must be reported");
    assert_eq!(report.violations[0].line, line, "{report}");
    assert!(report.violations[0].what.contains("a step is missing"), "{report}");
}

/// Whether another controller led an epoch after `old`'s.
fn elected_after(report: &trace::Report, old: Leader) -> bool {
    report.leaders.iter().any(|(&epoch, ids)| epoch > old.epoch && !ids.contains(&old.id))
}

/// Creates a one-partition topic through the broker, retrying while the
/// quorum elects (NOT_CONTROLLER) until it is acknowledged.
async fn create_topic(bootstrap: &str, name: &str) {
    let started = Instant::now();
    loop {
        let created = async {
            let mut client = Client::connect(bootstrap, Duration::from_secs(3)).await.ok()?;
            let topic = NewTopic { partitions: 1, replication_factor: 1, ..NewTopic::new(name) };
            let answers = client.create_topics(&[topic], false).await.ok()?;
            answers.into_iter().next()?.ok()
        };
        if created.await.is_some() {
            return;
        }
        assert!(started.elapsed() < PATIENCE, "topic {name} not created within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn read_traces(dir: &std::path::Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .expect("the trace directory")
        .map(|entry| {
            let path = entry.expect("an entry").path();
            let name = path.file_name().expect("a name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("a trace"))
        })
        .collect()
}

/// A copy with the first recorded high watermark output of a step moved one
/// past what the core said; and the line (from 1) it is on.
fn change_one_output(files: &BTreeMap<String, String>) -> (BTreeMap<String, String>, usize) {
    let mut changed = files.clone();
    let (name, contents) = files.iter().next().expect("a trace");
    let (index, text) = (contents.lines().enumerate())
        .find(|(_, l)| l.contains("\"step\"") && l.contains("{\"HighWatermark\":"))
        .expect("a step that moved the high watermark");
    let at = text.find("{\"HighWatermark\":").expect("found above") + "{\"HighWatermark\":".len();
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    let moved = digits.parse::<i64>().expect("an offset") + 1;
    let line = format!("{}{moved}{}", &text[..at], &text[at + digits.len()..]);
    changed.insert(name.clone(), replace_line(contents, index, Some(&line)));
    (changed, index + 1)
}

/// A copy with one step's line removed from the middle of the first trace
/// (one followed by another step, so the gap is within one process's run);
/// and the line (from 1) the checker finds the gap at: the next step's,
/// which moves up into the dropped one's place.
fn drop_one_input(files: &BTreeMap<String, String>) -> (BTreeMap<String, String>, usize) {
    let mut dropped = files.clone();
    let (name, contents) = files.iter().next().expect("a trace");
    let lines: Vec<&str> = contents.lines().collect();
    let index = (lines.len() / 2..lines.len() - 1)
        .find(|&i| lines[i].contains("\"step\"") && lines[i + 1].contains("\"step\""))
        .expect("two steps in a row in the second half");
    dropped.insert(name.clone(), replace_line(contents, index, None));
    (dropped, index + 1)
}

fn replace_line(contents: &str, index: usize, with: Option<&str>) -> String {
    (contents.lines().enumerate())
        .filter_map(|(i, l)| if i == index { with } else { Some(l) })
        .map(|l| format!("{l}\n"))
        .collect()
}
