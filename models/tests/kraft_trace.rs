//! The checker on traces made in memory: a lone voter's run conforms, and
//! each kind of violation — a changed output, a dropped input, two leaders
//! in one epoch, committed entries that disagree — is reported at its line.

use std::collections::BTreeMap;

use spool::raft::trace::{apply, Input, Observed, TraceEvent, TraceLine};
use spool::raft::{ElectionState, MemoryLog, Output, RaftConfig, RaftNode, Timer};

use spool_models::kraft::trace::check;

/// A lone voter `id` that elects itself and appends `data`, written down
/// as the driver writes it: one JSON line per call into the core.
fn lone_voter_trace(id: i32, data: &[u8]) -> String {
    let config = RaftConfig::new([id]);
    let mut log = MemoryLog::default();
    let (mut node, outputs) = RaftNode::restart(id, config.clone(), ElectionState::default(), &log);
    let state = Observed::of(&node, &log);
    let start =
        TraceEvent::Start { config, election: ElectionState::default(), log: log.clone(), outputs, state };
    let mut lines = vec![TraceLine { node: id, seq: 0, event: start }];
    for input in [Input::Timeout(Timer::Election), Input::Append(vec![data.to_vec()]), Input::Resend] {
        let outputs = apply(&mut node, &mut log, &input);
        let state = Observed::of(&node, &log);
        let seq = lines.len() as u64;
        lines.push(TraceLine { node: id, seq, event: TraceEvent::Step { input, outputs, state } });
    }
    assert_eq!(node.high_watermark, 2, "the lone voter commits its LeaderChange and its record");
    lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect()
}

fn one(name: &str, contents: String) -> BTreeMap<String, String> {
    BTreeMap::from([(name.to_string(), contents)])
}

/// A run recorded from the core itself conforms, and the report sees its leader.
#[test]
fn a_recorded_run_conforms() {
    let report = check(&one("node-1.jsonl", lone_voter_trace(1, b"a")));
    assert!(report.passed(), "{report}");
    assert_eq!((report.starts, report.steps), (1, 3));
    assert_eq!(report.leaders.get(&1).map(|ids| ids.len()), Some(1), "{report}");
}

/// An output the core did not return (here a high watermark past the log)
/// is a conformance failure at its line.
#[test]
fn a_changed_output_is_reported() {
    let trace = lone_voter_trace(1, b"a");
    let changed = trace.replacen("{\"HighWatermark\":2}", "{\"HighWatermark\":3}", 1);
    assert_ne!(changed, trace, "the trace has the output to change");
    let report = check(&one("node-1.jsonl", changed));
    assert!(!report.passed());
    assert!(report.violations[0].what.contains("outputs differ"), "{report}");
    assert_eq!(report.violations[0].line, 3, "{report}");
}

/// An input the trace lacks (the append) leaves a gap in the steps.
#[test]
fn a_dropped_input_is_reported() {
    let trace = lone_voter_trace(1, b"a");
    let kept: String =
        trace.lines().enumerate().filter(|(i, _)| *i != 2).map(|(_, l)| format!("{l}\n")).collect();
    let report = check(&one("node-1.jsonl", kept));
    assert!(!report.passed());
    assert!(report.violations[0].what.contains("a step is missing"), "{report}");
}

/// Two replicas that each think they are the only voter both lead epoch 1
/// with different records: each conforms alone, together they break the
/// model's properties.
#[test]
fn two_leaders_and_diverging_commits_are_reported() {
    let traces = BTreeMap::from([
        ("node-1.jsonl".to_string(), lone_voter_trace(1, b"a")),
        ("node-2.jsonl".to_string(), lone_voter_trace(2, b"b")),
    ]);
    let report = check(&traces);
    let whats: Vec<&str> = report.violations.iter().map(|v| v.what.as_str()).collect();
    assert!(whats.iter().any(|w| w.contains("two leaders in epoch 1")), "{report}");
    assert!(whats.iter().any(|w| w.contains("committed entries disagree at offset 0")), "{report}");
    assert!(whats.iter().any(|w| w.contains("with another record")), "{report}");
}

/// An output survives the JSON round trip the trace puts it through.
#[test]
fn an_output_type_round_trips_through_json() {
    let output = Output::ResetTimer(Timer::Fetch);
    let text = serde_json::to_string(&output).unwrap();
    assert_eq!(serde_json::from_str::<Output>(&text).unwrap(), output);
}
