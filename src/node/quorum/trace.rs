//! The trace file (`spool.quorum.trace.dir`): every call this driver makes
//! into the Raft core, one JSON line each ([`crate::raft::trace`]), for the
//! checker `spool-models check-trace DIR` to replay.
//!
//! Off unless configured; when on, each line is one `write` to a file opened
//! for appending, `DIR/node-<id>.jsonl`, so a process killed with SIGKILL
//! leaves whole lines, and a restarted one goes on in the same file with a
//! new `start` line. The trace records a step after the core returns and
//! before its outputs are carried out: a step the trace lacks had no effect.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::raft::trace::{TraceEvent, TraceLine};
use crate::raft::NodeId;

/// The trace file of one replica.
#[derive(Debug)]
pub(super) struct TraceFile {
    node: NodeId,
    seq: u64,
    path: PathBuf,
    file: File,
}

impl TraceFile {
    /// Opens (or goes on with) `dir/node-<node>.jsonl`.
    pub(super) fn open(dir: &Path, node: NodeId) -> std::io::Result<TraceFile> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("node-{node}.jsonl"));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(TraceFile { node, seq: 0, path, file })
    }

    /// Writes one line. A trace that cannot be written is given up, loudly:
    /// it is a diagnostic and must not stop the controller.
    pub(super) fn record(this: &mut Option<TraceFile>, event: TraceEvent) {
        let Some(trace) = this else { return };
        let line = TraceLine { node: trace.node, seq: trace.seq, event };
        trace.seq += 1;
        let mut bytes = serde_json::to_vec(&line).expect("a trace line is plain data");
        bytes.push(b'\n');
        if let Err(e) = trace.file.write_all(&bytes) {
            tracing::error!(path = %trace.path.display(), error = %e, "cannot write the quorum trace; tracing stops");
            *this = None;
        }
    }
}
