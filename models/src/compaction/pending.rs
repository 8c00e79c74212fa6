//! A cleaning between its phases, as model state: the plan phase 1 took
//! and the `.cleaned` groups phase 2 wrote. The cleaner's types are plain
//! data but do not implement `Hash` (the broker never hashes them), so
//! these wrappers compare and hash every field.

use std::hash::{Hash, Hasher};

use bytes::Bytes;
use spool::log::cleaner::{CleanPlan, Cleaned, SwapVariant};

/// Where the cleaner is between its phases.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cleaning {
    /// No cleaning in progress.
    Idle,
    /// Phase 1 done: the plan, with read handles to the sealed segments.
    Planned(Box<PendingPlan>),
    /// Phase 2 done: the `.cleaned` segments are written.
    Cleaned(PendingSwap),
}

/// The plan of phase 1.
#[derive(Debug, Clone)]
pub struct PendingPlan(pub CleanPlan<Bytes>);

/// What phase 2 wrote, and where the next cleaning's dirty section starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSwap {
    pub cleaned: Cleaned,
    /// The plan's map end: the `cleaner-offset-checkpoint` after the swap.
    pub map_end: i64,
}

/// Every field of the plan, in one comparable value.
type PlanKey<'a> = (
    Vec<(i64, i64, u64, u64, u64, &'a Bytes, &'a [spool::log::txn_index::AbortedTxn], bool)>,
    (i64, i64, i64),
    &'a [spool::log::txn_index::AbortedTxn],
    Vec<(&'a i64, &'a spool::log::cleaner::filter::ProducerLastRecord)>,
    (i64, i64, u64),
    &'a spool::log::LogConfig,
    bool,
);

impl PendingPlan {
    fn key(&self) -> PlanKey<'_> {
        let p = &self.0;
        let segments = (p.segments.iter())
            .map(|s| {
                let sizes = (s.size_bytes, s.offset_index_bytes, s.time_index_bytes);
                (
                    s.base_offset,
                    s.end_offset,
                    sizes.0,
                    sizes.1,
                    sizes.2,
                    &s.handle,
                    &s.aborted_txns[..],
                    s.dirty,
                )
            })
            .collect();
        (
            segments,
            (p.first_dirty, p.first_uncleanable, p.map_end),
            &p.aborted_txns,
            p.producers.iter().collect(),
            (p.delete_retention_ms, p.now_ms, p.layout_generation),
            &p.config,
            p.variant == SwapVariant::Safe,
        )
    }
}

impl PartialEq for PendingPlan {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for PendingPlan {}

impl Hash for PendingPlan {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl Hash for PendingSwap {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let c = &self.cleaned;
        for g in &c.groups {
            (g.base_offset, &g.replaces, g.next_offset, g.size_bytes, g.aborted_txns).hash(state);
        }
        (c.layout_generation, c.max_index_bytes, c.variant == SwapVariant::Safe, self.map_end).hash(state);
    }
}
