//! Phase 1 of a cleaning, under the log's lock: [`Log::plan_clean`] copies
//! what the cleaner needs as plain data — read handles to the sealed
//! segments, their sizes, the aborted transactions, each producer's last
//! batch, the layout generation — so that phase 2 reads and rewrites segment
//! bytes without the lock. Phase 2 starts here with [`CleanPlan::build_map`]:
//! the dirty section's batches, in offset order, go to the filter's offset
//! map until it says it is full.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::filter::ProducerLastRecord;
use crate::format::batch::{self, RecordBatch, HEADER_SIZE};
use crate::log::segment::log_file_name;
use crate::log::txn_index::AbortedTxn;
use crate::log::{Log, LogConfig, ReadAt, Result, Storage};

pub use super::offset_map::MapProgress;

/// The log's settings a cleaning needs that [`LogConfig`] does not carry yet
/// (the cleaner manager adds the config keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanParams {
    /// `delete.retention.ms`: how long a tombstone outlives its cleaning.
    pub delete_retention_ms: i64,
    /// The cleaner's clock, for the delete horizon (KIP-534).
    pub now_ms: i64,
}

/// How the swap orders its steps. `Safe` is what the broker runs;
/// `RemoveOldBeforeSync` is a known way to lose data, kept so the crash
/// test (and later the model) can show it does: the cleaned files are not
/// synced before the old segments are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SwapVariant {
    #[default]
    Safe,
    RemoveOldBeforeSync,
}

/// One sealed segment as the plan saw it.
#[derive(Debug, Clone)]
pub struct PlannedSegment<H> {
    pub base_offset: i64,
    /// The next segment's base offset: this segment's offsets lie below it.
    pub end_offset: i64,
    /// Bytes of batches in the `.log` file when planned (sealed: it cannot grow).
    pub size_bytes: u64,
    pub offset_index_bytes: u64,
    pub time_index_bytes: u64,
    /// A read handle to the `.log` file, valid after the log's lock is dropped.
    pub handle: H,
    /// The segment's aborted transactions (its `.txnindex` entries).
    pub aborted_txns: Vec<AbortedTxn>,
    /// Whether the segment holds offsets at or past `first_dirty`.
    pub dirty: bool,
}

/// Everything a cleaning reads, taken under the log's lock.
#[derive(Debug, Clone)]
pub struct CleanPlan<H> {
    /// The sealed segments from the log start up to `first_uncleanable`.
    pub segments: Vec<PlannedSegment<H>>,
    pub first_dirty: i64,
    pub first_uncleanable: i64,
    /// Set by [`CleanPlan::build_map`]: the map covers every dirty offset
    /// below this; only segments wholly below it are cleaned.
    pub map_end: i64,
    /// Aborted transactions overlapping the planned range, in marker order:
    /// the filter drops their records.
    pub aborted_txns: Vec<AbortedTxn>,
    /// Every producer in the producer table and its last batch: that batch
    /// is kept, even emptied, so the producer's state survives.
    pub producers: BTreeMap<i64, ProducerLastRecord>,
    pub delete_retention_ms: i64,
    pub now_ms: i64,
    /// The log's layout generation: the swap refuses a plan whose log moved.
    pub layout_generation: u64,
    pub config: LogConfig,
    pub variant: SwapVariant,
}

impl<S: Storage> Log<S> {
    // ANCHOR: plan_clean
    /// Phase 1, under the lock: the plan to clean the sealed segments below
    /// `first_uncleanable` whose dirty part starts at `first_dirty`. Never the
    /// active segment. `None` when no sealed segment holds a dirty offset.
    pub fn plan_clean(
        &self,
        first_dirty: i64,
        first_uncleanable: i64,
        params: CleanParams,
    ) -> Result<Option<CleanPlan<S::Handle>>> {
        let first_uncleanable = first_uncleanable.min(self.active().base_offset());
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        let mut segments = Vec::new();
        for pair in bases.windows(2) {
            let (base, end) = (pair[0], pair[1]);
            if end > first_uncleanable {
                break;
            }
            let segment = &self.segments[&base];
            segments.push(PlannedSegment {
                base_offset: base,
                end_offset: end,
                size_bytes: segment.size(),
                offset_index_bytes: segment.offset_index().file_len(),
                time_index_bytes: segment.time_index().file_len(),
                handle: self.storage.handle(&log_file_name(base))?,
                aborted_txns: segment.txn_index().entries().to_vec(),
                dirty: end > first_dirty,
            });
        }
        if !segments.iter().any(|s| s.dirty) {
            return Ok(None);
        }
        let end = segments.last().map_or(first_uncleanable, |s| s.end_offset);
        let producers = (self.producers.producers())
            .map(|p| {
                let last = ProducerLastRecord {
                    last_data_offset: p.last_batch().map(|b| b.last_offset),
                    producer_epoch: p.producer_epoch,
                };
                (p.producer_id, last)
            })
            .collect();
        Ok(Some(CleanPlan {
            segments,
            first_dirty,
            first_uncleanable: end,
            map_end: first_dirty,
            aborted_txns: self.collect_aborted_transactions(self.log_start_offset, end),
            producers,
            delete_retention_ms: params.delete_retention_ms,
            now_ms: params.now_ms,
            layout_generation: self.layout_generation,
            config: self.config.clone(),
            variant: SwapVariant::Safe,
        }))
    }
    // ANCHOR_END: plan_clean

    /// The log's layout generation (see [`CleanPlan::layout_generation`]).
    pub fn layout_generation(&self) -> u64 {
        self.layout_generation
    }
}

impl<H: ReadAt> CleanPlan<H> {
    // ANCHOR: build_map
    /// Phase 2a, without the lock: feeds `map` each batch of the dirty
    /// section, in offset order, until it is full or the section ends. Sets
    /// and returns [`CleanPlan::map_end`]; equal to `first_dirty` when the
    /// map could not hold even the first dirty segment
    /// (`log.cleaner.dedupe.buffer.size` too small): nothing will be cleaned.
    pub fn build_map(&mut self, map: &mut impl FnMut(&RecordBatch) -> Result<MapProgress>) -> Result<i64> {
        self.map_end = self.first_uncleanable;
        'segments: for segment in self.segments.iter().filter(|s| s.dirty) {
            for batch in batches(segment) {
                let batch = batch?;
                if batch.last_offset() < self.first_dirty {
                    continue;
                }
                if map(&batch)? == MapProgress::Full {
                    self.map_end = segment.base_offset.max(self.first_dirty);
                    break 'segments;
                }
            }
        }
        Ok(self.map_end)
    }
    // ANCHOR_END: build_map

    /// The segments a cleaning rewrites: from the log start, those wholly
    /// below [`CleanPlan::map_end`].
    pub fn segments_to_clean(&self) -> impl Iterator<Item = &PlannedSegment<H>> {
        self.segments.iter().filter(|s| s.end_offset <= self.map_end)
    }
}

/// The batches of a planned segment, read through its handle one at a time.
pub fn batches<H: ReadAt>(segment: &PlannedSegment<H>) -> impl Iterator<Item = Result<RecordBatch>> + '_ {
    let mut position = 0u64;
    std::iter::from_fn(move || {
        if position >= segment.size_bytes {
            return None;
        }
        let read = read_batch(&segment.handle, position, segment.size_bytes);
        if let Ok(batch) = &read {
            position += batch.size_in_bytes() as u64;
        } else {
            position = segment.size_bytes; // stop after an error
        }
        Some(read)
    })
}

fn read_batch<H: ReadAt>(handle: &H, position: u64, limit: u64) -> Result<RecordBatch> {
    let mut header = [0u8; HEADER_SIZE];
    let n = handle.read_at(position, &mut header)?;
    let size = match batch::batch_size(&header[..n]) {
        Some(size) => size?,
        None => return Err(batch::BatchError::Truncated { needed: HEADER_SIZE, available: n }.into()),
    };
    // A sealed segment was valid when planned; a short read means the file changed.
    let available = (limit - position) as usize;
    if size > available {
        return Err(batch::BatchError::Truncated { needed: size, available }.into());
    }
    let mut buf = vec![0u8; size];
    let n = handle.read_at(position, &mut buf)?;
    buf.truncate(n);
    Ok(RecordBatch::from_bytes(Bytes::from(buf))?)
}
