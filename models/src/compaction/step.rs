//! The model's transitions: each action calls the log's or the cleaner's
//! own code on the state's [`Log`], and records what it means outside it.

use std::collections::BTreeMap;

use spool::log::cleaner::{CleanParams, SwapOutcome};
use spool::log::{CrashMode, Log, OpenOptions};

use super::{
    batch, served_from, Action, Appended, Cleaning, CompactionModel, CompactionState, CutStorage,
    OpenSummary, PendingPlan, PendingSwap, Phase, Reader, DEDUPE_BUFFER_BYTES, DELETE_RETENTION_MS,
    SWAP_OPS_MAX,
};
use spool::log::cleaner::offset_map::{OffsetMap, DEFAULT_LOAD_FACTOR};

impl CompactionModel {
    /// The state after `action`, or `None` if it does nothing here (no
    /// dirty segment to plan, or a cut after the swap already finished).
    pub(super) fn step(&self, state: &CompactionState, action: Action) -> Option<CompactionState> {
        let mut next = state.clone();
        match action {
            Action::Append(id) => next.append(id),
            Action::Flush => {
                let log = next.log_mut();
                log.flush().expect("flushing memory storage cannot fail");
                (next.flushed_end, next.recovery_checkpoint) = (log.log_end_offset(), log.recovery_point());
            }
            Action::Tick => next.now_ms += DELETE_RETENTION_MS,
            Action::Plan => {
                let plan = self.plan(&next)?;
                next.set_cleaning(Cleaning::Planned(Box::new(plan)));
            }
            Action::Clean => next.clean(),
            Action::Swap => next.swap(),
            Action::SwapCut { ops, mode } => return self.swap_cut(state, ops, mode),
            Action::Fetch => next.fetch(),
            Action::Crash(mode) => {
                let files = super::cut::crash(next.log_mut().storage(), mode);
                next.phase = Phase::Crashed { files, mid_swap: false };
            }
            Action::Restart => self.restart(&mut next),
        }
        Some(next)
    }

    // ANCHOR: plan
    /// Phase 1 as the cleaner manager drives it: the dirty section from the
    /// `cleaner-offset-checkpoint`, the first uncleanable offset from the log.
    fn plan(&self, state: &CompactionState) -> Option<PendingPlan> {
        let log = state.log().expect("running");
        let first_dirty = log.first_dirty_offset(state.cleaner_checkpoint).offset;
        let config = self.config();
        let first_uncleanable =
            log.first_uncleanable_offset(first_dirty, state.now_ms, config.min_compaction_lag_ms);
        let params = CleanParams { delete_retention_ms: config.delete_retention_ms, now_ms: state.now_ms };
        let mut plan = log.plan_clean(first_dirty, first_uncleanable, params).expect("memory storage")?;
        plan.variant = self.swap_variant();
        Some(PendingPlan(plan))
    }
    // ANCHOR_END: plan

    /// Phase 3 with the power cut after `ops` write operations, then the
    /// crash. `None` when the swap needs fewer: that is `Swap` then `Crash`.
    fn swap_cut(&self, state: &CompactionState, ops: u32, mode: CrashMode) -> Option<CompactionState> {
        let mut next = state.clone();
        let Phase::Running { log, cleaning: Cleaning::Cleaned(pending) } = &mut next.phase else {
            unreachable!("a swap follows phase 2")
        };
        log.storage_mut().gate.ops_left = Some(ops);
        match log.swap_cleaned(pending.cleaned.clone()) {
            Ok(_) => return None,
            Err(e) => assert!(super::cut::cut(log.storage()), "the swap failed without a power cut: {e}"),
        }
        // The largest cut must find the swap finished, or some cuts go unexplored.
        assert!(ops < SWAP_OPS_MAX - 1, "a swap takes more than {ops} writes: raise SWAP_OPS_MAX");
        let files = super::cut::crash(log.storage(), mode);
        next.phase = Phase::Crashed { files, mid_swap: true };
        Some(next)
    }

    // ANCHOR: restart
    /// A restart: [`Log::open`] with the checkpointed recovery point; it
    /// finishes or undoes an interrupted swap before loading segments.
    fn restart(&self, state: &mut CompactionState) {
        let Phase::Crashed { files, mid_swap } = &state.phase else { unreachable!("only after a crash") };
        let names = files.inner.files.keys();
        let summary =
            OpenSummary { mid_swap: *mid_swap, swap_files: names.into_iter().any(|n| n.ends_with(".swap")) };
        let options = OpenOptions {
            recovery_point: state.recovery_checkpoint,
            log_start_offset: 0,
            clean_shutdown: false,
        };
        match Log::open(files.clone(), self.config(), options, state.now_ms) {
            Ok((mut log, _)) => {
                let end = log.log_end_offset();
                log.update_high_watermark(end);
                state.appended.retain(|&offset, _| offset < end);
                state.phase = Phase::Running { log: Box::new(log), cleaning: Cleaning::Idle };
            }
            Err(e) => state.phase = Phase::OpenFailed(e.to_string()),
        }
        state.last_open = Some(summary);
        // The reader's session is gone; it starts over from the log start.
        state.reader = Reader::default();
    }
    // ANCHOR_END: restart
}

impl CompactionState {
    fn log_mut(&mut self) -> &mut Log<CutStorage> {
        match &mut self.phase {
            Phase::Running { log, .. } => log,
            _ => unreachable!("only a running log takes this action"),
        }
    }

    fn set_cleaning(&mut self, to: Cleaning) {
        match &mut self.phase {
            Phase::Running { cleaning, .. } => *cleaning = to,
            _ => unreachable!("only a running log cleans"),
        }
    }

    /// The producer's append; one replica, so the high watermark follows.
    fn append(&mut self, id: u8) {
        let now_ms = self.now_ms;
        let log = self.log_mut();
        let offset = log.log_end_offset();
        log.append(batch(id, now_ms), 0, now_ms).expect("appending to memory storage cannot fail");
        let end = log.log_end_offset();
        log.update_high_watermark(end);
        self.appended.insert(offset, Appended { id, at_ms: now_ms });
        self.next = id + 1;
    }

    // ANCHOR: clean
    /// Phase 2: the offset map and the filter, writing `.cleaned` segments
    /// into the log's own storage (the broker's thread uses a second storage
    /// of the same directory); the log itself is not touched.
    fn clean(&mut self) {
        let Phase::Running { log, cleaning } = &mut self.phase else { unreachable!("running") };
        let Cleaning::Planned(pending) = cleaning else { unreachable!("phase 2 follows phase 1") };
        let mut plan = pending.0.clone();
        let mut map = OffsetMap::new(DEDUPE_BUFFER_BYTES, DEFAULT_LOAD_FACTOR);
        let cleaned = plan.clean_with(log.storage_mut(), &mut map, &mut |_| {}).expect("memory storage");
        *cleaning = match cleaned {
            Some(cleaned) => Cleaning::Cleaned(PendingSwap { cleaned, map_end: plan.map_end }),
            None => Cleaning::Idle, // the map could not hold a segment: nothing to swap
        };
    }
    // ANCHOR_END: clean

    /// Phase 3; a swap that went in moves the `cleaner-offset-checkpoint`.
    fn swap(&mut self) {
        let Phase::Running { log, cleaning } = &mut self.phase else { unreachable!("running") };
        let Cleaning::Cleaned(pending) = std::mem::replace(cleaning, Cleaning::Idle) else {
            unreachable!("phase 3 follows phase 2")
        };
        match log.swap_cleaned(pending.cleaned).expect("memory storage") {
            SwapOutcome::Swapped { .. } => self.cleaner_checkpoint = Some(pending.map_end),
            SwapOutcome::Aborted => {}
        }
    }

    // ANCHOR: fetch
    /// The reader fetches from its position to the log end and checks what
    /// it got: in offset order, as appended, and — caught up — each key's
    /// latest record.
    fn fetch(&mut self) {
        let end = self.log().expect("running").log_end_offset();
        if self.reader.position > end {
            // OFFSET_OUT_OF_RANGE: auto.offset.reset=earliest.
            self.reader = Reader { fetched_at_ms: self.reader.fetched_at_ms, ..Reader::default() };
        }
        let log = self.log().expect("running");
        let position = self.reader.position;
        let served = match served_from(log, position) {
            Ok(served)
                if served.first().is_none_or(|s| s.offset >= position) && self.as_appended(&served) =>
            {
                served
            }
            _ => {
                self.reader.misread = true;
                return;
            }
        };
        for s in &served {
            self.reader.view.insert(s.key, (s.offset, s.value));
        }
        self.reader.position = end;
        let view: BTreeMap<u8, Option<i64>> =
            self.latest().keys().map(|k| (*k, self.reader.view.get(k).map(|v| v.0))).collect();
        let up_to_date = self.latest().iter().all(|(k, &latest)| super::is_latest(view[k], latest));
        // A reader that fell `delete.retention.ms` behind may have missed a
        // delete for good (Kafka's documented exception): it stays exempt
        // until it starts over.
        if !up_to_date && !self.reader.missed_slow {
            let slow = self.reader.fetched_at_ms.is_some_and(|at| self.now_ms - at >= DELETE_RETENTION_MS);
            if slow {
                self.reader.missed_slow = true;
            } else {
                self.reader.missed_fresh = true;
            }
        }
        self.reader.fetched_at_ms = Some(self.now_ms);
    }
    // ANCHOR_END: fetch
}
