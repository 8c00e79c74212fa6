//! A trace of the core's inputs and outputs, for trace validation.
//!
//! The core is sans IO, so everything that changes it goes through a handful
//! of calls ([`RaftNode::restart`], `step`, `timeout`, `resend`,
//! `append_all`, `resign`) plus the state machine's snapshot, which changes
//! its log. A driver that writes down each call's input, the outputs it
//! returned and the replica's state after it (one [`TraceLine`] each) leaves
//! a record that a checker can hold against the same core: restart a fresh
//! [`RaftNode`] from the first line, feed it the recorded inputs in order, and
//! it must return the recorded outputs and reach the recorded states. If it
//! does, the run followed the core's transitions and nothing else changed it.
//! `crate::node::quorum` writes the trace (`spool.quorum.trace.dir`);
//! `models/src/kraft/trace.rs` checks it.
//!
//! Simplifications: the log is recorded whole at start (a [`MemoryLog`] copy;
//! the metadata log is small) and the replay runs on a [`MemoryLog`], which
//! answers a Fetch with at most `fetch_entries_max` entries where the disk
//! log answers whole batches: a run with a batch that big would be reported
//! as a mismatch, never passed in silence.

use super::message::{Message, Output, Timer};
use super::{
    ElectionState, Epoch, MemoryLog, NodeId, Offset, RaftConfig, RaftLog, RaftNode, Role, SnapshotId,
};

/// One line of a trace file: which replica, its step number, and the event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TraceLine {
    pub node: NodeId,
    /// Counts from 0 at each start of the replica's process.
    pub seq: u64,
    pub event: TraceEvent,
}

/// What happened at one step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceEvent {
    /// The replica's process started: what [`RaftNode::restart`] was given
    /// (its configuration, the persisted `quorum-state`, a copy of its log)
    /// and what it returned.
    Start {
        config: RaftConfig,
        election: ElectionState,
        log: MemoryLog,
        outputs: Vec<Output>,
        state: Observed,
    },
    /// One input, its outputs (`None`: the core refused it, an append on a
    /// replica that no longer leads) and the state after it.
    Step { input: Input, outputs: Option<Vec<Output>>, state: Observed },
}

// ANCHOR: trace_input
/// An input to the core.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// [`RaftNode::step`]: a message from `from` arrived.
    Receive { from: NodeId, message: Message },
    /// [`RaftNode::timeout`].
    Timeout(Timer),
    /// [`RaftNode::resend`].
    Resend,
    /// [`RaftNode::append_all`]: the active controller's records.
    Append(Vec<Vec<u8>>),
    /// [`RaftNode::resign`] (at shutdown).
    Resign,
    /// The state machine snapshotted its image at `id` ([`RaftLog::create_snapshot`],
    /// then [`RaftLog::delete_before`] its end offset).
    Snapshot { id: SnapshotId, bytes: Vec<u8> },
}
// ANCHOR_END: trace_input

/// What the replica looks like after a step: its whole protocol state (the
/// role includes a leader's view of the voters) and its log's ends.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Observed {
    pub role: Role,
    pub election: ElectionState,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    pub last_epoch: Epoch,
}

impl Observed {
    /// The state of `node` over `log` now.
    pub fn of(node: &RaftNode, log: &impl RaftLog) -> Observed {
        Observed {
            role: node.role.clone(),
            election: node.election.clone(),
            high_watermark: node.high_watermark,
            log_start_offset: log.start_offset(),
            log_end_offset: log.end_offset(),
            last_epoch: log.last_epoch(),
        }
    }

    /// Whether the replica leads its epoch.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }
}

/// A copy of `log` in memory: its latest snapshot and its entries.
pub fn copy_log(log: &impl RaftLog) -> MemoryLog {
    let snapshot = log.latest_snapshot().map(|id| {
        let size = log.snapshot_size(id).unwrap_or(0);
        (id, log.read_snapshot(id, 0, size as usize))
    });
    let start = log.start_offset();
    let entries = (start..log.end_offset()).filter_map(|offset| log.entry(offset)).collect();
    MemoryLog { entries, start, snapshot, partial: None }
}

/// Carries out a recorded `input` on `node` over `log`: the call the
/// driver made for it (the checker's replay).
pub fn apply(node: &mut RaftNode, log: &mut impl RaftLog, input: &Input) -> Option<Vec<Output>> {
    match input.clone() {
        Input::Receive { from, message } => Some(node.step(log, from, message)),
        Input::Timeout(timer) => Some(node.timeout(log, timer)),
        Input::Resend => Some(node.resend(log)),
        Input::Append(records) => node.append_all(log, records).ok().map(|(_, out)| out),
        Input::Resign => {
            let mut out = Vec::new();
            node.resign(&mut out);
            Some(out)
        }
        Input::Snapshot { id, bytes } => {
            log.create_snapshot(id, bytes);
            if log.latest_snapshot() == Some(id) {
                log.delete_before(id.end_offset);
            }
            Some(Vec::new())
        }
    }
}
