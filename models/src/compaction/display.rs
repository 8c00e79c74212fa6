//! How the compaction model's states print: one line each, for
//! counterexamples and the explorer.
//!
//! ```text
//! running log=[1:k0=∅ | 2:k1=2 3:k1=3 | 4:k0=4] disk=[0.log 70/70, 2.log 144/144, 4.log 72/0]
//!   t=1 acked<4 cleaner@2 phase2-done | reader@5 {k0:1 k1:3}
//! ```
//!
//! `log=` is what a read from the log start returns, segment by segment
//! (`∅` a tombstone); `disk=` each segment's `.log` file, `.cleaned`,
//! `.swap` and `.deleted` ones included, as bytes in the page cache / bytes
//! synced, so a reader can see what a crash will keep.

use std::collections::BTreeMap;
use std::fmt;

use spool::log::Log;

use super::{served_from, Cleaning, CompactionState, CutStorage, Phase};

/// Each `.log` file, whatever its suffix: `0.log 70/70, 0.log.cleaned 70/0`.
fn disk(files: &CutStorage) -> String {
    let logs: Vec<String> = (files.inner.files.iter())
        .filter(|(name, _)| name.contains(".log"))
        .map(|(name, f)| {
            let (digits, ext) = name.split_at(name.find('.').unwrap_or(0));
            let base = digits.trim_start_matches('0');
            let base = if base.is_empty() { "0" } else { base };
            format!("{base}{ext} {}/{}", f.data.len(), f.durable.len())
        })
        .collect();
    format!("disk=[{}]", logs.join(", "))
}

/// The records by segment: `log=[1:k0=∅ | 2:k1=2]`.
fn records(log: &Log<CutStorage>) -> String {
    let served = match served_from(log, log.log_start_offset()) {
        Ok(served) => served,
        Err(e) => return format!("log=<{e}>"),
    };
    let mut by_segment: BTreeMap<i64, Vec<String>> =
        log.segments().map(|s| (s.base_offset(), Vec::new())).collect();
    for s in served {
        if let Some((_, shown)) = by_segment.range_mut(..=s.offset).next_back() {
            let value = s.value.map_or("∅".to_string(), |v| v.to_string());
            shown.push(format!("{}:k{}={value}", s.offset, s.key));
        }
    }
    let segments: Vec<String> = by_segment.into_values().map(|r| r.join(" ")).collect();
    format!("log=[{}]", segments.join(" | "))
}

impl fmt::Debug for CompactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.phase {
            Phase::Running { log, cleaning } => {
                let cleaning = match cleaning {
                    Cleaning::Idle => "idle",
                    Cleaning::Planned(_) => "planned",
                    Cleaning::Cleaned(_) => "phase2-done",
                };
                write!(f, "running {} {} cleaner:{cleaning}", records(log), disk(log.storage()))?
            }
            Phase::Crashed { files, mid_swap } => {
                let when = if *mid_swap { "crashed mid-swap" } else { "crashed" };
                write!(f, "{when} {}", disk(files))?
            }
            Phase::OpenFailed(e) => write!(f, "open failed: {e}")?,
        }
        write!(f, " | t={} acked<{}", self.now_ms, self.flushed_end)?;
        if let Some(at) = self.cleaner_checkpoint {
            write!(f, " cleaned<{at}")?;
        }
        let view: Vec<String> =
            (self.reader.view.iter()).map(|(k, (offset, _))| format!("k{k}@{offset}")).collect();
        write!(f, " | reader@{} {{{}}}", self.reader.position, view.join(" "))
    }
}

/// The phase's name only; the state's `Debug` prints the contents.
impl fmt::Debug for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Running { .. } => f.write_str("Running"),
            Phase::Crashed { mid_swap, .. } => write!(f, "Crashed(mid_swap: {mid_swap})"),
            Phase::OpenFailed(e) => write!(f, "OpenFailed({e})"),
        }
    }
}
