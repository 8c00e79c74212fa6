//! The sparse indexes beside each segment: `.index` (offset → file position) and
//! `.timeindex` (timestamp → offset).
//!
//! A segment of 1 GiB holds millions of records; indexing each would cost as much
//! memory as the data. Kafka adds one entry every `log.index.interval.bytes`
//! (4 KiB) of log instead, and finds any offset with a binary search to the entry
//! at or before it, then a short forward scan of batch headers:
//!
//! ```text
//!  .index  (8 bytes an entry, big-endian)     .log
//!  ┌──────────────┬───────────┐              ┌────────────────────────┐
//!  │ relative off │ position  │──────┐       │ batch 0..9     @0      │
//!  │ 41           │ 4172      │─┐    │       │ ...                    │
//!  │ 83           │ 8390      │ │    └─────▶ │ batch 38..41   @4172   │ scan from here
//!  └──────────────┴───────────┘ │            │ batch 42..50   @4251   │ ◀ offset 45
//!                               └──────────▶ │ batch 80..83   @8390   │
//!                                            └────────────────────────┘
//! ```
//!
//! Offsets are stored relative to the segment's base offset (4 bytes instead of
//! 8), which is why a segment also rolls when an offset would not fit in 32 bits.
//! `.timeindex` entries are 12 bytes: an 8-byte timestamp and a 4-byte relative
//! offset, appended only when the segment's max timestamp grows.
//!
//! Kafka preallocates index files (`log.index.size.max.bytes`, 10 MiB) and memory
//! maps them. spool keeps the entries in a `Vec` and appends each to its file, so
//! the files always have the trimmed size Kafka leaves after a clean shutdown.
//! An index is only a hint: it is flushed with its segment and rebuilt from the
//! log whenever it is missing or fails a sanity check.

/// Size of one `.index` entry.
pub const OFFSET_ENTRY_SIZE: usize = 8;
/// Size of one `.timeindex` entry.
pub const TIME_ENTRY_SIZE: usize = 12;

/// An offset index entry: an absolute offset and the position of a batch at or
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OffsetPosition {
    pub offset: i64,
    pub position: u32,
}

/// A time index entry: a timestamp and the offset from which records reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: i64,
}

/// The in-memory copy of one segment's `.index`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetIndex {
    base_offset: i64,
    /// (relative offset, position), both strictly increasing.
    entries: Vec<(u32, u32)>,
    max_entries: usize,
}

impl OffsetIndex {
    pub fn new(base_offset: i64, max_index_bytes: usize) -> Self {
        OffsetIndex { base_offset, entries: Vec::new(), max_entries: max_index_bytes / OFFSET_ENTRY_SIZE }
    }

    /// Parses an `.index` file; `None` if it fails the sanity check (a length that is
    /// not a multiple of 8, or entries that do not increase), so the caller rebuilds it.
    pub fn parse(base_offset: i64, max_index_bytes: usize, bytes: &[u8]) -> Option<Self> {
        if bytes.len() % OFFSET_ENTRY_SIZE != 0 {
            return None;
        }
        let mut index = OffsetIndex::new(base_offset, max_index_bytes);
        for e in bytes.chunks_exact(OFFSET_ENTRY_SIZE) {
            let rel = u32::from_be_bytes(e[0..4].try_into().expect("4 bytes"));
            let pos = u32::from_be_bytes(e[4..8].try_into().expect("4 bytes"));
            if let Some(&(last_rel, last_pos)) = index.entries.last() {
                if rel <= last_rel || pos <= last_pos {
                    return None;
                }
            }
            index.entries.push((rel, pos));
        }
        Some(index)
    }

    /// Adds an entry and returns its 8 bytes for the file.
    pub fn append(&mut self, offset: i64, position: u32) -> [u8; OFFSET_ENTRY_SIZE] {
        let rel = self.relative(offset);
        if let Some(&(last_rel, last_pos)) = self.entries.last() {
            assert!(rel > last_rel && position > last_pos, "index entries must increase");
        }
        assert!(!self.is_full(), "append to a full offset index");
        self.entries.push((rel, position));
        let mut out = [0; OFFSET_ENTRY_SIZE];
        out[..4].copy_from_slice(&rel.to_be_bytes());
        out[4..].copy_from_slice(&position.to_be_bytes());
        out
    }

    // ANCHOR: lookup
    /// The last entry at or before `offset`, or the segment start if none is.
    /// A binary search over entries that stay in memory: at the defaults, a full
    /// 1 GiB segment has about 260,000 of them (2 MiB).
    pub fn lookup(&self, offset: i64) -> OffsetPosition {
        let rel = offset - self.base_offset;
        let found = self.entries.partition_point(|&(r, _)| i64::from(r) <= rel);
        match found {
            0 => OffsetPosition { offset: self.base_offset, position: 0 },
            n => {
                let (r, position) = self.entries[n - 1];
                OffsetPosition { offset: self.base_offset + i64::from(r), position }
            }
        }
    }
    // ANCHOR_END: lookup

    /// Drops every entry for `offset` or later; returns the new file length.
    pub fn truncate_to(&mut self, offset: i64) -> u64 {
        let rel = offset - self.base_offset;
        let keep = self.entries.partition_point(|&(r, _)| i64::from(r) < rel);
        self.entries.truncate(keep);
        self.file_len()
    }

    /// Drops every entry that points at or past `position`; returns the new file length.
    pub fn truncate_to_position(&mut self, position: u32) -> u64 {
        let keep = self.entries.partition_point(|&(_, p)| p < position);
        self.entries.truncate(keep);
        self.file_len()
    }

    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.max_entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn file_len(&self) -> u64 {
        (self.entries.len() * OFFSET_ENTRY_SIZE) as u64
    }

    /// Whether `offset` can be stored relative to this segment's base.
    pub fn can_hold(&self, offset: i64) -> bool {
        let rel = offset - self.base_offset;
        (0..=i64::from(i32::MAX)).contains(&rel)
    }

    fn relative(&self, offset: i64) -> u32 {
        assert!(self.can_hold(offset), "offset {offset} outside segment {}", self.base_offset);
        (offset - self.base_offset) as u32
    }

    /// All entries as absolute offsets, for tools and tests.
    pub fn entries(&self) -> impl Iterator<Item = OffsetPosition> + '_ {
        self.entries
            .iter()
            .map(|&(r, position)| OffsetPosition { offset: self.base_offset + i64::from(r), position })
    }
}

/// The in-memory copy of one segment's `.timeindex`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeIndex {
    base_offset: i64,
    /// (timestamp, relative offset); timestamps strictly increase.
    entries: Vec<(i64, u32)>,
    max_entries: usize,
}

impl TimeIndex {
    pub fn new(base_offset: i64, max_index_bytes: usize) -> Self {
        TimeIndex { base_offset, entries: Vec::new(), max_entries: max_index_bytes / TIME_ENTRY_SIZE }
    }

    /// Parses a `.timeindex` file; `None` if it fails the sanity check.
    pub fn parse(base_offset: i64, max_index_bytes: usize, bytes: &[u8]) -> Option<Self> {
        if bytes.len() % TIME_ENTRY_SIZE != 0 {
            return None;
        }
        let mut index = TimeIndex::new(base_offset, max_index_bytes);
        for e in bytes.chunks_exact(TIME_ENTRY_SIZE) {
            let ts = i64::from_be_bytes(e[0..8].try_into().expect("8 bytes"));
            let rel = u32::from_be_bytes(e[8..12].try_into().expect("4 bytes"));
            if let Some(&(last_ts, last_rel)) = index.entries.last() {
                if ts <= last_ts || rel < last_rel {
                    return None;
                }
            }
            index.entries.push((ts, rel));
        }
        Some(index)
    }

    /// Adds an entry if `timestamp` is newer than the last one; returns its bytes.
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64) -> Option<[u8; TIME_ENTRY_SIZE]> {
        if self.entries.last().is_some_and(|&(last, _)| timestamp <= last) || self.is_full() {
            return None;
        }
        let rel = u32::try_from(offset - self.base_offset).expect("offset within the segment");
        self.entries.push((timestamp, rel));
        let mut out = [0; TIME_ENTRY_SIZE];
        out[..8].copy_from_slice(&timestamp.to_be_bytes());
        out[8..].copy_from_slice(&rel.to_be_bytes());
        Some(out)
    }

    /// The last entry whose timestamp is at or before `timestamp`: the offset from
    /// which to scan for the first record at or after it. The segment start if none.
    pub fn lookup(&self, timestamp: i64) -> TimestampOffset {
        let found = self.entries.partition_point(|&(ts, _)| ts <= timestamp);
        match found {
            0 => TimestampOffset { timestamp: -1, offset: self.base_offset },
            n => {
                let (ts, rel) = self.entries[n - 1];
                TimestampOffset { timestamp: ts, offset: self.base_offset + i64::from(rel) }
            }
        }
    }

    /// Drops entries for `offset` or later; returns the new file length.
    pub fn truncate_to(&mut self, offset: i64) -> u64 {
        let rel = offset - self.base_offset;
        self.entries.retain(|&(_, r)| i64::from(r) < rel);
        self.file_len()
    }

    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.max_entries
    }

    pub fn file_len(&self) -> u64 {
        (self.entries.len() * TIME_ENTRY_SIZE) as u64
    }

    pub fn last(&self) -> Option<TimestampOffset> {
        self.entries
            .last()
            .map(|&(timestamp, r)| TimestampOffset { timestamp, offset: self.base_offset + i64::from(r) })
    }

    pub fn entries(&self) -> impl Iterator<Item = TimestampOffset> + '_ {
        self.entries
            .iter()
            .map(|&(timestamp, r)| TimestampOffset { timestamp, offset: self.base_offset + i64::from(r) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A lookup returns the greatest entry at or below the target, exactly as a
        /// linear scan over the entries would (Kafka's `OffsetIndex.lookup`).
        #[test]
        fn lookup_agrees_with_linear_scan(
            gaps in proptest::collection::vec((1u32..50, 1u32..500), 0..100),
            target in 0i64..6000,
        ) {
            let base = 1000;
            let mut index = OffsetIndex::new(base, 10 * 1024 * 1024);
            let (mut rel, mut pos) = (0u32, 0u32);
            for (dr, dp) in &gaps {
                rel += dr;
                pos += dp;
                index.append(base + i64::from(rel), pos);
            }
            let expected = index
                .entries()
                .filter(|e| e.offset <= base + target)
                .last()
                .unwrap_or(OffsetPosition { offset: base, position: 0 });
            prop_assert_eq!(index.lookup(base + target), expected);
            let bytes: Vec<u8> = {
                let mut copy = OffsetIndex::new(base, 1 << 20);
                index.entries().flat_map(|e| copy.append(e.offset, e.position)).collect()
            };
            prop_assert_eq!(OffsetIndex::parse(base, 10 * 1024 * 1024, &bytes), Some(index));
        }
    }

    /// A torn or garbled index file is refused so the log rebuilds it.
    #[test]
    fn sanity_check_rejects_bad_files() {
        assert!(OffsetIndex::parse(0, 1024, &[0; 7]).is_none());
        let mut bad = Vec::new();
        bad.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 9]);
        bad.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 10]);
        assert!(OffsetIndex::parse(0, 1024, &bad).is_none());
        assert!(TimeIndex::parse(0, 1024, &[0; 13]).is_none());
    }

    #[test]
    fn time_index_appends_only_newer_timestamps() {
        let mut t = TimeIndex::new(100, 1024);
        assert!(t.maybe_append(50, 101).is_some());
        assert!(t.maybe_append(50, 102).is_none());
        assert!(t.maybe_append(40, 103).is_none());
        assert!(t.maybe_append(70, 104).is_some());
        assert_eq!(t.lookup(10), TimestampOffset { timestamp: -1, offset: 100 });
        assert_eq!(t.lookup(60), TimestampOffset { timestamp: 50, offset: 101 });
        assert_eq!(t.lookup(70), TimestampOffset { timestamp: 70, offset: 104 });
    }
}
