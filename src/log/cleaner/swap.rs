//! Phase 3 of a cleaning, under the log's lock: the `.cleaned` segments
//! replace the old ones, crash-safely, as Kafka's `replaceSegments` does,
//! and [`recover_swap_files`] finishes or undoes an interrupted swap when
//! the log is opened (Kafka's `LogLoader`).
//!
//! ```text
//!  per group, in this order:                    a crash here leaves      recovery
//!  1. B.index/.timeindex/.txnindex.cleaned → .swap, then B.log.cleaned → .swap
//!                                               old live, some .swap     no B.log.swap: delete
//!  2. each old segment: files → .deleted, removed
//!                                               B.log.swap, old partly   delete live in [B, end),
//!                                               gone, .deleted           .swap → live, .deleted gone
//!  3. the indexes .swap → live, then B.log     B.log.swap, indexes      each .swap replaces
//!                                               partly live              its live namesake
//!  4. the new segment goes into the segment map
//! ```
//!
//! The `.cleaned` files were synced before step 1, and every rename is
//! durable, so a crash leaves each group's old content or its new content,
//! never a mix and never neither. `end` is the offset after the swap
//! segment's last batch (its base plus one when it is empty): phase 2 makes
//! every group cover exactly the old segments with a base in `[B, end)`.
//!
//! The log's other state — log start and end, high watermark, producer
//! table, leader epochs, recovery point — does not change: offsets are kept,
//! only records go, and a fetch at an offset that went reads the next batch.

use super::plan::SwapVariant;
use super::segments::{remove_cleaned_files, remove_suffixed_files, Cleaned, CleanedGroup, CLEANED_SUFFIX};
use crate::format::batch::{self, field};
use crate::log::segment::{self, suffixed_file_name, LogSegment};
use crate::log::{Log, Result, Storage};

/// The suffix of a group's files between the two renames of a swap.
pub const SWAP_SUFFIX: &str = ".swap";
/// The suffix of an old segment's files on their way out.
pub const DELETED_SUFFIX: &str = ".deleted";

/// The order the swap renames a group's files: the indexes first, the
/// `.log` last, so that `B.log.swap` existing means the whole group does.
const INDEXES_THEN_LOG: [&str; 4] = [".index", ".timeindex", ".txnindex", ".log"];

/// What [`Log::swap_cleaned`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapOutcome {
    /// Every group replaced its old segments.
    Swapped { groups: usize },
    /// The log changed since the plan (truncated, retention, deleted): the
    /// `.cleaned` files were deleted and nothing changed. Kafka aborts a
    /// cleaning the same way when the log is truncated.
    Aborted,
}

impl<S: Storage> Log<S> {
    // ANCHOR: swap_cleaned
    /// Phase 3, under the lock: replaces each group's old segments with its
    /// `.cleaned` segment, or, if the log's layout changed since the plan,
    /// deletes the `.cleaned` files and changes nothing.
    pub fn swap_cleaned(&mut self, cleaned: Cleaned) -> Result<SwapOutcome> {
        let active = self.active().base_offset();
        let stale = cleaned.layout_generation != self.layout_generation
            || (cleaned.groups.iter().flat_map(|g| &g.replaces))
                .any(|base| *base == active || !self.segments.contains_key(base));
        if stale {
            for group in &cleaned.groups {
                remove_cleaned_files(&mut self.storage, group.base_offset)?;
            }
            return Ok(SwapOutcome::Aborted);
        }
        for group in &cleaned.groups {
            match cleaned.variant {
                SwapVariant::Safe => self.swap_group(group)?,
                SwapVariant::RemoveOldBeforeSync => self.swap_group_removing_old_first(group)?,
            }
            self.open_swapped(group, cleaned.max_index_bytes)?;
        }
        Ok(SwapOutcome::Swapped { groups: cleaned.groups.len() })
    }
    // ANCHOR_END: swap_cleaned

    // ANCHOR: swap_group
    /// Steps 1–3 of the module docs for one group.
    fn swap_group(&mut self, group: &CleanedGroup) -> Result<()> {
        let base = group.base_offset;
        rename_group(&mut self.storage, base, CLEANED_SUFFIX, SWAP_SUFFIX, INDEXES_THEN_LOG)?;
        for old in &group.replaces {
            self.segments.remove(old).expect("checked by swap_cleaned");
            delete_segment_files(&mut self.storage, *old)?;
        }
        rename_group(&mut self.storage, base, SWAP_SUFFIX, "", INDEXES_THEN_LOG)
    }

    /// The bug variant: the old segments go first and the new files are
    /// synced last; a crash in between loses what the cleaner kept.
    fn swap_group_removing_old_first(&mut self, group: &CleanedGroup) -> Result<()> {
        let base = group.base_offset;
        for old in &group.replaces {
            self.segments.remove(old).expect("checked by swap_cleaned");
            segment::delete_files(&mut self.storage, *old)?;
        }
        rename_group(&mut self.storage, base, CLEANED_SUFFIX, "", INDEXES_THEN_LOG)?;
        for ext in INDEXES_THEN_LOG {
            let name = suffixed_file_name(base, ext, "");
            if self.storage.exists(&name) {
                self.storage.sync(&name)?;
            }
        }
        Ok(())
    }
    // ANCHOR_END: swap_group

    /// Step 4: the new segment, opened from its live files, joins the map.
    fn open_swapped(&mut self, group: &CleanedGroup, max_index_bytes: usize) -> Result<()> {
        let mut config = self.config.clone();
        config.segment_index_bytes = config.segment_index_bytes.max(max_index_bytes);
        let (segment, recovered) = LogSegment::open(&mut self.storage, group.base_offset, &config)?;
        self.segments.insert(group.base_offset, segment);
        if recovered.is_some() {
            // Its indexes did not pass the sanity check: rebuilt, and the
            // `.txnindex` with them (as `Log::open` does).
            self.rebuild_txn_indexes(group.base_offset)?;
        }
        Ok(())
    }
}

/// Renames a group's files from `from` to `to` suffix, in `order`, those that exist.
fn rename_group<S: Storage>(
    storage: &mut S,
    base: i64,
    from: &str,
    to: &str,
    order: [&str; 4],
) -> Result<()> {
    for ext in order {
        let name = suffixed_file_name(base, ext, from);
        if storage.exists(&name) {
            storage.rename(&name, &suffixed_file_name(base, ext, to))?;
        }
    }
    Ok(())
}

/// An old segment's files: renamed `.deleted`, then removed. Read handles
/// given out before keep the bytes readable (unix) until they drop.
fn delete_segment_files<S: Storage>(storage: &mut S, base: i64) -> Result<()> {
    rename_group(storage, base, "", DELETED_SUFFIX, [".log", ".index", ".timeindex", ".txnindex"])?;
    remove_suffixed_files(storage, base, DELETED_SUFFIX)
}

// ANCHOR: recover_swap_files
/// Before [`Log::open`] loads any segment: deletes `.cleaned` and `.deleted`
/// files, and every `.swap` file of a group whose `.log.swap` is missing
/// (an incomplete step 1: the old segments are all still live); a complete
/// `.swap` group replaces the live segments in its range.
pub fn recover_swap_files<S: Storage>(storage: &mut S) -> Result<()> {
    let names = storage.list()?;
    let swap_logs: Vec<i64> = names.iter().filter_map(|n| base_of(n, ".log.swap")).collect();
    for name in &names {
        let doomed = name.ends_with(CLEANED_SUFFIX)
            || name.ends_with(DELETED_SUFFIX)
            || (name.ends_with(SWAP_SUFFIX)
                && !swap_logs.iter().any(|b| name.starts_with(&format!("{b:020}."))));
        if doomed {
            storage.remove(name)?;
        }
    }
    for base in swap_logs {
        let end = swap_end_offset(storage, base)?;
        let live = storage.list()?;
        for old in live.iter().filter_map(|n| base_of(n, ".log")).filter(|b| (base + 1..end).contains(b)) {
            segment::delete_files(storage, old)?;
        }
        // At `base` itself each `.swap` file replaces its live namesake; a
        // live file without one is already the new one (step 3 renames the
        // `.log` last, and a group has all four files).
        rename_group(storage, base, SWAP_SUFFIX, "", INDEXES_THEN_LOG)?;
    }
    Ok(())
}
// ANCHOR_END: recover_swap_files

/// The base offset of a file named `<20 digits><ext>`.
fn base_of(name: &str, ext: &str) -> Option<i64> {
    let stem = name.strip_suffix(ext)?;
    (stem.len() == 20).then(|| stem.parse().ok()).flatten()
}

/// The offset after the last whole batch of `B.log.swap`, at least `B + 1`.
fn swap_end_offset<S: Storage>(storage: &S, base: i64) -> Result<i64> {
    let bytes = storage.read_file(&suffixed_file_name(base, ".log", SWAP_SUFFIX))?.unwrap_or_default();
    let mut end = base + 1;
    let mut rest = &bytes[..];
    while let Some(Ok(size)) = batch::batch_size(rest) {
        if size > rest.len() || size < batch::HEADER_SIZE {
            break;
        }
        let last = batch::be_i64(rest, field::BASE_OFFSET)
            + i64::from(batch::be_i32(rest, field::LAST_OFFSET_DELTA));
        end = end.max(last + 1);
        rest = &rest[size..];
    }
    Ok(end)
}
