//! One cleaning of one log, end to end: the record rules ([`offset_map`],
//! [`filter`]) plugged into the segment driver ([`plan`], [`segments`],
//! [`swap`]).
//!
//! The broker's cleaner threads run the phases apart, taking the log's lock
//! only for the first and the last ([`CleanPlan::clean_with`] runs between
//! them on a second storage of the same directory); [`Log::clean`] runs all
//! three on one thread for tests, the model and the benches.
//!
//! [`offset_map`]: super::offset_map
//! [`filter`]: super::filter
//! [`plan`]: super::plan
//! [`segments`]: super::segments
//! [`swap`]: super::swap

use super::filter::{BatchFilter, FilterContext};
use super::offset_map::{MapBuilder, OffsetMap};
use super::{CleanParams, CleanPlan, Cleaned, SwapOutcome};
use crate::log::{Log, ReadAt, Result, Storage};

/// What [`Log::clean`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanOutcome {
    /// No sealed segment below `first_uncleanable` holds a dirty offset.
    NothingToClean,
    /// The offset map could not hold even the first dirty segment's keys
    /// (`log.cleaner.dedupe.buffer.size` too small for it): nothing changed.
    MapTooSmall,
    /// The cleaned segments replaced the old ones. `cleaned_up_to` is the
    /// next cleaning's first dirty offset (the `cleaner-offset-checkpoint`).
    Swapped { cleaned_up_to: i64, groups: usize },
    /// The log's layout changed between the plan and the swap: nothing changed.
    Aborted,
}

impl<H: ReadAt> CleanPlan<H> {
    /// What the filter needs beyond each batch, from the plan's plain data.
    pub fn filter_context(&self) -> FilterContext {
        FilterContext {
            aborted_txns: self.aborted_txns.clone(),
            producers: self.producers.iter().map(|(id, last)| (*id, *last)).collect(),
            delete_retention_ms: self.delete_retention_ms,
            now_ms: self.now_ms,
            round_end_offset: self.map_end,
        }
    }

    // ANCHOR: clean_with
    /// Phase 2, without the log's lock: maps the dirty section's keys to
    /// their latest offsets in `map`, then writes every segment wholly below
    /// the map's end through the filter as `.cleaned` segments in `out`.
    /// `on_read` is told the size of each batch read (the cleaner's I/O
    /// throttle). `None` if the map could not hold the first dirty segment.
    pub fn clean_with<W: Storage>(
        &mut self,
        out: &mut W,
        map: &mut OffsetMap,
        on_read: &mut impl FnMut(usize),
    ) -> Result<Option<Cleaned>> {
        let context = self.filter_context();
        let mut builder = MapBuilder::new(map, &context, self.first_dirty);
        let map_end = self.build_map(&mut |batch| {
            on_read(batch.size_in_bytes());
            builder.add(batch)
        })?;
        if map_end <= self.first_dirty {
            return Ok(None);
        }
        let context = self.filter_context(); // the round now ends at the map's end
        let mut filter = BatchFilter::new(map, &context);
        let (segment_bytes, index_bytes) = (self.config.segment_bytes, self.config.segment_index_bytes);
        let cleaned = self.clean_into(
            out,
            &mut |batch| {
                on_read(batch.size_in_bytes());
                filter.filter(batch)
            },
            segment_bytes,
            index_bytes,
        )?;
        Ok(Some(cleaned))
    }
    // ANCHOR_END: clean_with
}

impl<S: Storage> Log<S> {
    /// All three phases on this thread, the log's own storage taking the
    /// `.cleaned` files: for tests, the model and the benches (the broker's
    /// cleaner threads run them apart, see the module docs).
    pub fn clean(
        &mut self,
        first_dirty: i64,
        first_uncleanable: i64,
        params: CleanParams,
        map: &mut OffsetMap,
    ) -> Result<CleanOutcome> {
        let Some(mut plan) = self.plan_clean(first_dirty, first_uncleanable, params)? else {
            return Ok(CleanOutcome::NothingToClean);
        };
        let Some(cleaned) = plan.clean_with(self.storage_mut(), map, &mut |_| {})? else {
            return Ok(CleanOutcome::MapTooSmall);
        };
        Ok(match self.swap_cleaned(cleaned)? {
            SwapOutcome::Swapped { groups } => CleanOutcome::Swapped { cleaned_up_to: plan.map_end, groups },
            SwapOutcome::Aborted => CleanOutcome::Aborted,
        })
    }
}
