//! How the log model's states print: one line each, for counterexamples and
//! the explorer.
//!
//! ```text
//! durable    running log=[0 1 | 2] disk=[0.log 138/138, 2.log 69/0] | written={0,1,2} …
//! ```
//!
//! `log=` is what a reader is served, segment by segment; `disk=` is each
//! `.log` file as bytes in the page cache / bytes synced, so a reader can see
//! what a crash will keep.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use spool::log::{Log, MemStorage};

use super::{served, LogState, Mode, OpenSummary, Phase, RecordId};

/// `{0,1,2}`.
fn set(ids: &BTreeSet<RecordId>) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    format!("{{{}}}", ids.join(","))
}

/// Each `.log` file as bytes in the page cache / bytes synced: `0.log 99/69`.
fn disk(storage: &MemStorage) -> String {
    let logs: Vec<String> = storage
        .files
        .iter()
        .filter_map(|(name, f)| {
            let base: i64 = name.strip_suffix(".log")?.parse().ok()?;
            Some(format!("{base}.log {}/{}", f.data.len(), f.durable.len()))
        })
        .collect();
    format!("disk=[{}]", logs.join(", "))
}

/// The records by segment, as a reader sees them: `log=[0 1 | 2]`.
fn records(log: &Log<MemStorage>) -> String {
    let records = match served(log) {
        Ok(records) => records,
        Err(e) => return format!("log=<{e}>"),
    };
    let mut by_segment: BTreeMap<i64, Vec<String>> =
        log.segments().map(|s| (s.base_offset(), Vec::new())).collect();
    for (offset, id) in records {
        if let Some((_, ids)) = by_segment.range_mut(..=offset).next_back() {
            ids.push(id.to_string());
        }
    }
    let segments: Vec<String> = by_segment.into_values().map(|ids| ids.join(" ")).collect();
    format!("log=[{}]", segments.join(" | "))
}

/// `opened after crash: kept 2 (1 unflushed), cut 30B, deleted 1 segment(s)`.
impl fmt::Display for OpenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let after = if self.after_crash { "crash" } else { "clean exit" };
        write!(f, "opened after {after}")?;
        if self.trusted_marker {
            write!(f, " trusting the marker")?;
        }
        write!(f, ": kept {} ({} unflushed)", self.records_kept, self.unflushed_kept)?;
        if self.bytes_truncated > 0 {
            write!(f, ", cut {}B", self.bytes_truncated)?;
        }
        if self.segments_deleted > 0 {
            write!(f, ", deleted {} segment(s)", self.segments_deleted)?;
        }
        Ok(())
    }
}

/// One line per state: the broker, the records the log serves by segment,
/// each `.log` file as page-cache/synced bytes, then what the model tracks.
impl fmt::Debug for LogState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            Mode::PageCache => "page-cache",
            Mode::Durable => "durable",
        };
        write!(f, "{mode:<10} ")?;
        match &self.phase {
            Phase::Running(log) => write!(f, "running {} {}", records(log), disk(log.storage()))?,
            Phase::ShuttingDown { log, steps_done } => {
                write!(f, "stopping({steps_done}/3) {} {}", records(log), disk(log.storage()))?
            }
            Phase::Stopped(storage) => write!(f, "stopped {}", disk(storage))?,
            Phase::Crashed(storage) => write!(f, "crashed {}", disk(storage))?,
            Phase::OpenFailed(e) => write!(f, "open failed: {e}")?,
        }
        write!(
            f,
            " | written={} flushed={} acked={} checkpoint={} marker={}",
            set(&self.written),
            set(&self.flushed),
            set(&self.acked),
            self.checkpoint,
            if self.clean_shutdown_marker { "yes" } else { "no" },
        )?;
        if let Some(open) = &self.last_open {
            write!(f, " | {open}")?;
        }
        Ok(())
    }
}

/// The phase's name only; [`LogState`]'s `Debug` prints the contents.
impl fmt::Debug for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Running(_) => f.write_str("Running"),
            Phase::ShuttingDown { steps_done, .. } => write!(f, "ShuttingDown({steps_done})"),
            Phase::Stopped(_) => f.write_str("Stopped"),
            Phase::Crashed(_) => f.write_str("Crashed"),
            Phase::OpenFailed(e) => write!(f, "OpenFailed({e})"),
        }
    }
}
