//! Phase 2b of a cleaning, without the log's lock: the segments to clean are
//! grouped so that each group's output fits one segment and one index
//! (Kafka's `groupSegmentsBySize`), and each group is written, batch by
//! batch through the filter, as one segment named by the group's first base
//! offset with the suffix `.cleaned`, its indexes rebuilt, then synced.
//!
//! ```text
//!   old:   [0 .. 100) [100 .. 180) [180 .. 300)      three sealed segments
//!            \           |           /
//!   group:    ---- 0 ----+-----------               fits segment.bytes and the index
//!   out:   00000000000000000000.log.cleaned  (.index .timeindex .txnindex)
//! ```
//!
//! The last batch of every old segment is kept, emptied (a header, no
//! records) if the filter drops it, so a cleaned segment ends exactly where
//! its old segments did. `Log::open` relies on that: a rescanned segment that
//! ends before the next one begins is a lost tail, and everything after it
//! is cut. (Kafka keeps an emptied batch only for a producer's last batch and
//! the round's end; spool adds one header of 61 bytes per old segment, and
//! the next cleaning, which merges segments, drops the ones left inside.)
//!
//! A group's trailing segments that held no batch at all become groups of
//! their own, each an empty `.cleaned` segment at its base: a swap group then
//! always covers the offsets from its base to its output's end, which is how
//! recovery knows which live segments a `.swap` group replaces.

use bytes::Bytes;

use super::plan::{batches, CleanPlan, PlannedSegment, SwapVariant};
use crate::format::retain::empty_batch;
use crate::format::RecordBatch;
use crate::log::segment::{suffixed_file_name, LogSegment};
use crate::log::txn_index::AbortedTxn;
use crate::log::{ReadAt, Result, Storage};

/// The suffix of a segment the cleaner is writing.
pub const CLEANED_SUFFIX: &str = ".cleaned";

/// One group's output: a `.cleaned` segment that replaces `replaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanedGroup {
    /// The base offset of the group's first segment, and of the output.
    pub base_offset: i64,
    /// The base offsets of the old segments it replaces, in order.
    pub replaces: Vec<i64>,
    /// The offset after the output's last batch (`base_offset` when empty).
    pub next_offset: i64,
    pub size_bytes: u64,
    /// Entries of its `.txnindex.cleaned` (written even when empty).
    pub aborted_txns: usize,
}

/// What phase 2 wrote, for [`crate::log::Log::swap_cleaned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    pub groups: Vec<CleanedGroup>,
    pub layout_generation: u64,
    /// `segment.index.bytes` the output was written with.
    pub max_index_bytes: usize,
    pub variant: SwapVariant,
}

// ANCHOR: group_segments_by_size
/// Consecutive segments, grouped so that each group's bytes fit
/// `max_segment_bytes`, each of its two indexes fits `max_index_bytes`, and
/// its offsets fit an index's 32-bit relative offsets.
pub fn group_segments_by_size<H>(
    segments: &[&PlannedSegment<H>],
    max_segment_bytes: u64,
    max_index_bytes: u64,
) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let (mut log_bytes, mut index_bytes, mut time_bytes) = (0, 0, 0);
    for (i, s) in segments.iter().enumerate() {
        let fits = groups.last().is_some_and(|g| {
            let first = segments[g[0]];
            log_bytes + s.size_bytes <= max_segment_bytes
                && index_bytes + s.offset_index_bytes <= max_index_bytes
                && time_bytes + s.time_index_bytes <= max_index_bytes
                && (s.size_bytes == 0 || s.end_offset - 1 - first.base_offset <= i64::from(i32::MAX))
        });
        if !fits {
            groups.push(Vec::new());
            (log_bytes, index_bytes, time_bytes) = (0, 0, 0);
        }
        groups.last_mut().expect("pushed above").push(i);
        log_bytes += s.size_bytes;
        index_bytes += s.offset_index_bytes;
        time_bytes += s.time_index_bytes;
    }
    groups
}
// ANCHOR_END: group_segments_by_size

impl<H: ReadAt> CleanPlan<H> {
    // ANCHOR: clean_into
    /// Phase 2b: writes every group of [`CleanPlan::segments_to_clean`] as a
    /// `.cleaned` segment in `out` (a second storage on the log's directory,
    /// or the log's own in a single-threaded test), each batch through
    /// `clean` (`None` drops it), and syncs it. The log is not touched.
    pub fn clean_into<S: Storage>(
        &self,
        out: &mut S,
        clean: &mut impl FnMut(&RecordBatch) -> Result<Option<Bytes>>,
        max_segment_bytes: u64,
        max_index_bytes: usize,
    ) -> Result<Cleaned> {
        let todo: Vec<&PlannedSegment<H>> = self.segments_to_clean().collect();
        let mut config = self.config.clone();
        config.segment_index_bytes = max_index_bytes;
        let mut groups = Vec::new();
        for group in group_segments_by_size(&todo, max_segment_bytes, max_index_bytes as u64) {
            let group: Vec<&PlannedSegment<H>> = group.into_iter().map(|i| todo[i]).collect();
            let written = self.clean_group(out, &group, clean, &config)?;
            groups.extend(written);
        }
        Ok(Cleaned {
            groups,
            layout_generation: self.layout_generation,
            max_index_bytes,
            variant: self.variant,
        })
    }
    // ANCHOR_END: clean_into

    /// Writes one group; returns it, plus one empty group per trailing old
    /// segment that contributed nothing (see the module docs).
    fn clean_group<S: Storage>(
        &self,
        out: &mut S,
        group: &[&PlannedSegment<H>],
        clean: &mut impl FnMut(&RecordBatch) -> Result<Option<Bytes>>,
        config: &crate::log::LogConfig,
    ) -> Result<Vec<CleanedGroup>> {
        let base = group[0].base_offset;
        remove_cleaned_files(out, base)?;
        let mut segment = LogSegment::create_suffixed(out, base, config, CLEANED_SUFFIX)?;
        let mut kept_markers = Vec::new();
        let mut last_contributor = 0;
        // ANCHOR: last_batch_stays
        for (i, old) in group.iter().enumerate() {
            let mut batches = batches(old).peekable();
            while let Some(batch) = batches.next() {
                let batch = batch?;
                let last_of_segment = batches.peek().is_none();
                let batch = match clean(&batch)? {
                    Some(bytes) => RecordBatch::from_bytes(bytes)?,
                    // The segment's last batch stays, emptied, so the cleaned
                    // segment still ends where the old one did (see below).
                    None if last_of_segment => empty_batch(&batch),
                    None => continue,
                };
                if batch.is_control() {
                    kept_markers.push(batch.base_offset());
                }
                segment.append(out, &batch)?;
                last_contributor = i;
            }
        }
        // ANCHOR_END: last_batch_stays
        // The aborted transactions whose ABORT marker the output still holds.
        let txns: Vec<AbortedTxn> = (group.iter().flat_map(|s| &s.aborted_txns))
            .filter(|t| kept_markers.contains(&t.last_offset))
            .copied()
            .collect();
        // Always written, empty or not: a swap group then has all four
        // files, and recovery can tell an old `.txnindex` from a new one.
        let name = suffixed_file_name(base, ".txnindex", CLEANED_SUFFIX);
        out.create(&name)?;
        if !txns.is_empty() {
            out.append(&name, &txns.iter().flat_map(|t| t.encode()).collect::<Vec<u8>>())?;
        }
        let mut written = vec![CleanedGroup {
            base_offset: base,
            replaces: group[..=last_contributor].iter().map(|s| s.base_offset).collect(),
            next_offset: segment.next_offset(),
            size_bytes: segment.size(),
            aborted_txns: txns.len(),
        }];
        for old in &group[last_contributor + 1..] {
            remove_cleaned_files(out, old.base_offset)?;
            let empty = LogSegment::create_suffixed(out, old.base_offset, config, CLEANED_SUFFIX)?;
            out.create(&suffixed_file_name(old.base_offset, ".txnindex", CLEANED_SUFFIX))?;
            self.sync_cleaned(out, &empty)?;
            written.push(CleanedGroup {
                base_offset: old.base_offset,
                replaces: vec![old.base_offset],
                next_offset: old.base_offset,
                size_bytes: 0,
                aborted_txns: 0,
            });
        }
        self.sync_cleaned(out, &segment)?;
        Ok(written)
    }

    /// Makes a `.cleaned` segment durable before any swap may use it (the
    /// bug variant skips this: the swap syncs after removing the old files).
    fn sync_cleaned<S: Storage>(&self, out: &mut S, segment: &LogSegment) -> Result<()> {
        if self.variant == SwapVariant::RemoveOldBeforeSync {
            return Ok(());
        }
        segment.flush(out)?;
        out.sync(&suffixed_file_name(segment.base_offset(), ".txnindex", CLEANED_SUFFIX))?;
        Ok(())
    }
}

/// Removes the `.cleaned` files of the segment at `base_offset`, those that exist.
pub fn remove_cleaned_files<S: Storage>(storage: &mut S, base_offset: i64) -> Result<()> {
    remove_suffixed_files(storage, base_offset, CLEANED_SUFFIX)
}

/// Removes the files of the segment at `base_offset` named with `suffix`.
pub fn remove_suffixed_files<S: Storage>(storage: &mut S, base_offset: i64, suffix: &str) -> Result<()> {
    for ext in crate::log::segment::SEGMENT_EXTENSIONS {
        let name = suffixed_file_name(base_offset, ext, suffix);
        if storage.exists(&name) {
            storage.remove(&name)?;
        }
    }
    Ok(())
}
