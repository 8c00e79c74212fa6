//! Trace validation: a real cluster's run, held against the same core the
//! model checks.
//!
//! The model explores every run of a small configuration; a controller in a
//! real cluster runs one long run of a large one, with real clocks, sockets
//! and disks around the core. With `spool.quorum.trace.dir` set, each
//! controller writes down every input of its [`RaftNode`], the outputs it
//! returned and its state after it (`spool::raft::trace`). This checker reads
//! one such file per controller and checks two things:
//!
//! 1. **Replay conformance.** From each `start` line (a process start: its
//!    configuration, persisted `quorum-state` and log), a fresh
//!    [`RaftNode::restart`] is fed the recorded inputs in order over a
//!    [`MemoryLog`]; every step's outputs and state must equal the recorded
//!    ones. It proves the run moved only by the core's transitions: the
//!    driver fed it nothing unrecorded, and what it recorded is what the core
//!    said (the driver carries the outputs out in order, `carry_out`).
//! 2. **The model's safety properties, across the controllers**, on the
//!    recorded states: at most one leader per epoch; a controller's high
//!    watermark never goes back while its process lives (a restart forgets
//!    it, as the core does); and committed prefixes agree — an entry below a
//!    controller's high watermark is the same (epoch and record) on every
//!    controller that ever counts it committed.
//!
//! What it does not prove: that every run is correct (the model's job, for
//! a small configuration), nor that the driver carried the outputs out —
//! only that it asked for exactly these. A step's log changes are checked
//! when it can change the log: its log ends or high watermark moved, or it
//! was a Fetch or FetchSnapshot answer (the only input that may replace
//! entries in place).
//!
//! The checker's own tests (it passes a recorded run and reports each kind
//! of violation) are `models/tests/kraft_trace.rs`; the run of a real
//! cluster with a fault is `tests/it/kraft_trace.rs`, which compiles this file
//! into the test (it needs only `spool` and `serde_json`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use spool::raft::trace::{apply, Input, Observed, TraceEvent, TraceLine};
use spool::raft::{Entry, Epoch, MemoryLog, Message, NodeId, Offset, Output, RaftLog, RaftNode};

/// A step where the run and the core (or the safety properties) disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The trace file and the line (from 1).
    pub file: String,
    pub line: usize,
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// What a check found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Trace files, process starts and steps replayed.
    pub files: usize,
    pub starts: usize,
    pub steps: usize,
    /// Each epoch that had a leader, and who led it (more than one is a violation).
    pub leaders: BTreeMap<Epoch, BTreeSet<NodeId>>,
    /// The highest high watermark seen on any controller.
    pub high_watermark_max: Offset,
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether the run conformed to the core and kept the safety properties.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let leaders: Vec<String> =
            self.leaders.iter().map(|(epoch, ids)| format!("{epoch}:{ids:?}")).collect();
        writeln!(
            f,
            "{} trace file(s), {} start(s), {} step(s) replayed; leaders by epoch {}; high watermark up to {}",
            self.files,
            self.starts,
            self.steps,
            leaders.join(" "),
            self.high_watermark_max
        )?;
        for violation in &self.violations {
            writeln!(f, "VIOLATION {violation}")?;
        }
        write!(f, "{}", if self.passed() { "trace conforms" } else { "trace does NOT conform" })
    }
}

/// Checks every `*.jsonl` file in `dir`; an error if there is none.
pub fn check_dir(dir: &Path) -> std::io::Result<Report> {
    let mut traces = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            traces.insert(name, std::fs::read_to_string(&path)?);
        }
    }
    if traces.is_empty() {
        // Nothing to replay would pass vacuously: a misspelt directory must not.
        let why = format!("no trace files (*.jsonl) in {}", dir.display());
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, why));
    }
    Ok(check(&traces))
}

/// Checks traces given as (file name → contents), one file per controller.
pub fn check(traces: &BTreeMap<String, String>) -> Report {
    let mut report = Report { files: traces.len(), ..Report::default() };
    let mut committed = Committed::default();
    for (file, contents) in traces {
        replay_file(file, contents, &mut committed, &mut report);
    }
    report
}

/// The entries some controller counted committed: the first witness of each offset.
#[derive(Default)]
struct Committed {
    entries: BTreeMap<Offset, (Entry, String, usize)>,
}

/// One process's replay: the fresh core and its log, and where the trace is.
struct Replay {
    node: RaftNode,
    log: MemoryLog,
    seq: u64,
    high_watermark: Offset,
}

fn replay_file(file: &str, contents: &str, committed: &mut Committed, report: &mut Report) {
    let mut replay: Option<Replay> = None;
    let mut stopped = false; // a conformance failure: skip to the next start
    for (i, text) in contents.lines().enumerate() {
        let line = i + 1;
        let at = |what: String| Violation { file: file.to_string(), line, what };
        let parsed: TraceLine = match serde_json::from_str(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                report.violations.push(at(format!("unreadable line: {e}")));
                return;
            }
        };
        match parsed.event {
            TraceEvent::Start { config, election, log, outputs, state } => {
                report.starts += 1;
                stopped = false;
                let (node, replayed) = RaftNode::restart(parsed.node, config, election, &log);
                let fresh = Replay { node, log, seq: parsed.seq, high_watermark: state.high_watermark };
                if let Some(why) = differs(&replayed, Some(&outputs), &fresh, &state) {
                    report.violations.push(at(format!("node {} start: {why}", parsed.node)));
                    stopped = true;
                }
                replay = Some(fresh);
            }
            TraceEvent::Step { .. } if stopped => {}
            // ANCHOR: replay_step
            TraceEvent::Step { input, outputs, state } => {
                let Some(r) = replay.as_mut() else {
                    report.violations.push(at("a step before any start".into()));
                    return;
                };
                report.steps += 1;
                if parsed.seq != r.seq + 1 {
                    report
                        .violations
                        .push(at(format!("step {} follows step {}: a step is missing", parsed.seq, r.seq)));
                    stopped = true;
                    continue;
                }
                r.seq = parsed.seq;
                let before = Observed::of(&r.node, &r.log);
                let replayed = apply(&mut r.node, &mut r.log, &input);
                if let Some(why) = differs(&replayed.unwrap_or_default(), outputs.as_ref(), r, &state) {
                    let what =
                        format!("node {} step {} ({}): {why}", parsed.node, parsed.seq, input_name(&input));
                    report.violations.push(at(what));
                    stopped = true;
                    continue;
                }
                for what in safety(r, &before, &input, &state, (file, line), committed, report) {
                    report.violations.push(at(what));
                }
            } // ANCHOR_END: replay_step
        }
    }
}

/// Where the replay and the record disagree, if they do.
fn differs(
    replayed: &[Output],
    recorded: Option<&Vec<Output>>,
    r: &Replay,
    state: &Observed,
) -> Option<String> {
    let recorded = recorded.map_or(&[][..], Vec::as_slice);
    if replayed != recorded {
        let at = replayed
            .iter()
            .zip(recorded)
            .position(|(a, b)| a != b)
            .unwrap_or(replayed.len().min(recorded.len()));
        return Some(format!(
            "outputs differ at #{at}: the core says {} but the run recorded {}",
            short(replayed.get(at)),
            short(recorded.get(at))
        ));
    }
    let now = Observed::of(&r.node, &r.log);
    (now != *state).then(|| {
        format!("the core reaches {} but the run recorded {}", short(Some(&now)), short(Some(state)))
    })
}

/// The safety properties on the state after one step.
fn safety(
    r: &mut Replay,
    before: &Observed,
    input: &Input,
    state: &Observed,
    (file, line): (&str, usize),
    committed: &mut Committed,
    report: &mut Report,
) -> Vec<String> {
    let mut violations = Vec::new();
    let id = r.node.id;
    if state.is_leader() {
        let leaders = report.leaders.entry(state.election.epoch).or_default();
        leaders.insert(id);
        if leaders.len() > 1 {
            violations.push(format!("two leaders in epoch {}: {leaders:?}", state.election.epoch));
        }
    }
    if state.high_watermark < r.high_watermark {
        violations.push(format!(
            "node {id}'s high watermark went back from {} to {}",
            r.high_watermark, state.high_watermark
        ));
    }
    r.high_watermark = state.high_watermark;
    report.high_watermark_max = report.high_watermark_max.max(state.high_watermark);
    let fetched = matches!(
        input,
        Input::Receive { message: Message::FetchResponse { .. } | Message::FetchSnapshotResponse { .. }, .. }
    );
    let moved = (before.log_start_offset, before.log_end_offset, before.last_epoch, before.high_watermark)
        != (state.log_start_offset, state.log_end_offset, state.last_epoch, state.high_watermark);
    if fetched || moved {
        let end = state.high_watermark.min(state.log_end_offset);
        for offset in state.log_start_offset..end {
            let Some(entry) = r.log.entry(offset) else { continue };
            match committed.entries.get(&offset) {
                None => {
                    committed.entries.insert(offset, (entry, file.to_string(), line));
                }
                Some((first, _, _)) if *first == entry => {}
                Some((first, first_file, first_line)) => violations.push(format!(
                    "committed entries disagree at offset {offset}: node {id} holds epoch {} below its high \
                     watermark {}, {first_file}:{first_line} committed epoch {} there{}",
                    entry.epoch,
                    state.high_watermark,
                    first.epoch,
                    if first.epoch == entry.epoch { " with another record" } else { "" }
                )),
            }
        }
    }
    violations
}

fn input_name(input: &Input) -> String {
    match input {
        Input::Receive { from, message } => {
            let debug = format!("{message:?}");
            let name = debug.split([' ', '{', '(']).next().unwrap_or_default().to_string();
            format!("{name} from {from}")
        }
        Input::Timeout(timer) => format!("{timer:?} timeout"),
        Input::Resend => "resend".into(),
        Input::Append(records) => format!("append of {} record(s)", records.len()),
        Input::Resign => "resign".into(),
        Input::Snapshot { id, .. } => format!("snapshot {id}"),
    }
}

/// A value's debug form, cut short for a report line.
fn short(value: Option<&impl fmt::Debug>) -> String {
    let Some(value) = value else { return "nothing".into() };
    let debug = format!("{value:?}");
    match debug.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &debug[..cut]),
        None => debug,
    }
}
