//! The cleaner's key → latest offset map of the dirty part of a log.
//!
//! Compaction keeps, for each key, only its latest record. The cleaner learns
//! which record is the latest by reading the *dirty* part of the log (written
//! since the last cleaning) once, remembering the last offset at which each key
//! appears; a second pass then copies every record whose offset is that latest
//! one (or whose key the map does not hold) ([`super::filter`]).
//!
//! ```text
//!  dirty range  k1@40  k2@41  k1@42  k3@43  k2@44
//!  map          k1 → 42, k2 → 44, k3 → 43          latest offset 44
//! ```
//!
//! The map has a fixed memory budget, `log.cleaner.dedupe.buffer.size` bytes
//! per cleaner thread, filled to `log.cleaner.io.buffer.load.factor` (0.9). A
//! dirty range with more distinct keys than fit is cleaned in several rounds:
//! when [`OffsetMap::put`] answers [`MapProgress::Full`] the caller stops
//! mapping, and the map's [`OffsetMap::latest_offset`] tells the filter where
//! its knowledge ends: records after it are kept as they are, and the next
//! round starts there.
//!
//! **Keys, not hashes.** Kafka's `SkimpyOffsetMap` stores a 16-byte MD5 of
//! each key and an 8-byte offset in fixed slots, so two keys whose hashes
//! collide share an entry and the older key's *latest* record can be removed
//! as if it were a stale copy of the newer one. Kafka accepts that risk; MD5
//! collisions are cheap to construct, so a producer that can choose its keys
//! can make the cleaner delete another key's value. This map stores the key
//! bytes themselves in a hash table (Rust's SipHash with a random seed): a
//! collision costs a key comparison, never a record. The price is memory: an
//! entry costs its key's length plus [`ENTRY_OVERHEAD_BYTES`] instead of 24
//! bytes, so long keys fit fewer per round (a `__consumer_offsets` key is a
//! few dozen bytes). Exactness won over density because a lost latest value
//! is silent data loss, and a smaller round only costs another round. A
//! strong fixed-size digest (SHA-256) would keep Kafka's density with a
//! negligible risk, but would add a dependency and still not be exact.
//!
//! Simplifications: the budget counts key bytes and a fixed per-entry
//! overhead, not the hash table's spare capacity (the allocator's view of it
//! is larger, by up to the table's own load factor).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

use super::filter::txns::CleanedTxns;
use super::filter::{decode_checked, FilterContext};
use crate::format::RecordBatch;
use crate::log::error::Result;

/// What one entry costs beyond its key bytes: the offset (8 bytes) and the
/// key's handle in the table (a pointer and a length, 16 bytes).
pub const ENTRY_OVERHEAD_BYTES: usize = 24;
/// Kafka's default `log.cleaner.io.buffer.load.factor`.
pub const DEFAULT_LOAD_FACTOR: f64 = 0.9;

/// Whether the map took the last key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapProgress {
    /// Stored; feed the next record.
    Continue,
    /// The budget is spent and the key was not stored: stop mapping here.
    Full,
}

/// Key → the latest offset at which it appears in the mapped range.
///
/// Generic over the hasher only so a test can make every key collide
/// (`H` is SipHash with a random seed everywhere else).
#[derive(Debug, Clone)]
pub struct OffsetMap<H = RandomState> {
    offsets: HashMap<Box<[u8]>, i64, H>,
    bytes_used: usize,
    /// `dedupe buffer bytes × load factor`: a new key that would take the
    /// map past this is refused.
    bytes_max: usize,
    /// The last offset mapped (Kafka's `latestOffset`), -1 before any.
    latest_offset: i64,
}

impl OffsetMap {
    /// An empty map within `dedupe_buffer_bytes`, filled to `load_factor`.
    pub fn new(dedupe_buffer_bytes: usize, load_factor: f64) -> Self {
        OffsetMap::with_hasher(dedupe_buffer_bytes, load_factor, RandomState::new())
    }
}

impl<H: BuildHasher> OffsetMap<H> {
    /// [`OffsetMap::new`] with the given hasher.
    pub fn with_hasher(dedupe_buffer_bytes: usize, load_factor: f64, hasher: H) -> Self {
        assert!(load_factor > 0.0 && load_factor <= 1.0, "load factor {load_factor} outside (0, 1]");
        let bytes_max = (dedupe_buffer_bytes as f64 * load_factor) as usize;
        OffsetMap { offsets: HashMap::with_hasher(hasher), bytes_used: 0, bytes_max, latest_offset: -1 }
    }

    // ANCHOR: offset_map_put
    /// Records that `key` appears at `offset` (offsets are fed in increasing
    /// order, so the last put wins). A key already in the map is updated in
    /// place at no cost; a new key that does not fit is refused with
    /// [`MapProgress::Full`] and nothing changes.
    pub fn put(&mut self, key: &[u8], offset: i64) -> MapProgress {
        if let Some(latest) = self.offsets.get_mut(key) {
            *latest = offset;
        } else {
            let cost = key.len() + ENTRY_OVERHEAD_BYTES;
            if self.bytes_used + cost > self.bytes_max {
                return MapProgress::Full;
            }
            self.bytes_used += cost;
            self.offsets.insert(key.into(), offset);
        }
        self.latest_offset = self.latest_offset.max(offset);
        MapProgress::Continue
    }
    // ANCHOR_END: offset_map_put

    /// The latest offset of `key` in the mapped range, `None` if it is not
    /// there (it may still be in the already-clean part of the log).
    pub fn get(&self, key: &[u8]) -> Option<i64> {
        self.offsets.get(key).copied()
    }

    /// The last offset the map covers: every record up to it was mapped,
    /// none after it was (Kafka's `latestOffset`). -1 when nothing was.
    pub fn latest_offset(&self) -> i64 {
        self.latest_offset
    }

    /// Moves [`OffsetMap::latest_offset`] forward over offsets that hold no
    /// key: keyless records, aborted batches, markers, the gaps a previous
    /// cleaning left at a segment's end (Kafka's `updateLatestOffset`).
    pub fn update_latest_offset(&mut self, offset: i64) {
        self.latest_offset = self.latest_offset.max(offset);
    }

    /// Empties the map for the next cleaning, keeping its budget.
    pub fn clear(&mut self) {
        self.offsets.clear();
        self.bytes_used = 0;
        self.latest_offset = -1;
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// The share of the budget in use, for the cleaner's stats (Kafka's
    /// `utilization`, here over bytes).
    pub fn utilization(&self) -> f64 {
        if self.bytes_max == 0 {
            return 1.0;
        }
        self.bytes_used as f64 / self.bytes_max as f64
    }
}

// ANCHOR: map_builder
/// Fills an [`OffsetMap`] from the batches of the dirty range, fed in offset
/// order from the start of its first segment (Kafka's `buildOffsetMap`):
/// records below `first_dirty_offset` and records of aborted transactions are
/// not mapped, keyless records and markers only advance the latest offset.
pub struct MapBuilder<'a> {
    map: &'a mut OffsetMap,
    txns: CleanedTxns,
    first_dirty_offset: i64,
}

impl<'a> MapBuilder<'a> {
    /// Clears `map` and starts mapping from `first_dirty_offset`; only the
    /// context's aborted transactions are used.
    pub fn new(map: &'a mut OffsetMap, context: &FilterContext, first_dirty_offset: i64) -> Self {
        map.clear();
        let txns = CleanedTxns::new(context.aborted_txns.clone());
        MapBuilder { map, txns, first_dirty_offset }
    }

    /// Maps one batch. [`MapProgress::Full`] means a key of this batch did not
    /// fit: the map covers up to the record before it, and the caller stops.
    /// A corrupt batch is [`crate::log::LogError::CorruptBatch`].
    pub fn add(&mut self, batch: &RecordBatch) -> Result<MapProgress> {
        let records = decode_checked(batch)?;
        let aborted = if batch.is_control() {
            self.txns.on_control_batch(batch, &records);
            false
        } else {
            self.txns.on_data_batch(batch)
        };
        if !aborted && !batch.is_control() {
            for record in records.iter().filter(|r| r.offset >= self.first_dirty_offset) {
                let Some(key) = &record.key else { continue };
                if self.map.put(key, record.offset) == MapProgress::Full {
                    return Ok(MapProgress::Full);
                }
            }
        }
        if batch.last_offset() >= self.first_dirty_offset {
            self.map.update_latest_offset(batch.last_offset());
        }
        Ok(MapProgress::Continue)
    }
}
// ANCHOR_END: map_builder

#[cfg(test)]
mod tests;
