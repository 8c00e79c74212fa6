//! One segment: a `.log` file of batches, its two sparse indexes, and the
//! aborted-transaction index of chapter 9 ([`super::txn_index`]).
//!
//! ```text
//!  orders-0/
//!    00000000000000000000.log        batches with offsets 0 .. 41_999
//!    00000000000000000000.index
//!    00000000000000000000.timeindex
//!    00000000000000042000.log        the active segment: appends go here
//!    00000000000000042000.index
//!    00000000000000042000.timeindex
//!    00000000000000042000.txnindex   aborted transactions (chapter 9), once there is one
//! ```
//!
//! A segment is named by its base offset, zero-padded to 20 digits so that a
//! directory listing sorts in offset order. Only the last segment, the *active*
//! one, is ever appended to; older ones are immutable until retention deletes
//! them whole — which is why deleting old data costs one `unlink`, not a rewrite.
//!
//! A `LogSegment` holds no file handles: every method takes the partition's
//! [`Storage`], so the same code runs on disk and in the model checker's memory.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::config::LogConfig;
use super::error::Result;
use super::index::{OffsetIndex, OffsetPosition, TimeIndex};
use super::storage::Storage;
use super::txn_index::{txn_index_file_name, AbortedTxn, TransactionIndex};
use crate::format::batch::{self, field, RecordBatch, HEADER_SIZE};

/// File names of a segment with this base offset.
pub fn log_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.log")
}
/// A segment file whose name carries one of the cleaner's suffixes (chapter
/// 10, [`super::cleaner`]): `00000000000000000000.log.cleaned`, `.swap`,
/// `.deleted`. `ext` is `.log`, `.index`, `.timeindex` or `.txnindex`.
pub fn suffixed_file_name(base_offset: i64, ext: &str, suffix: &str) -> String {
    format!("{base_offset:020}{ext}{suffix}")
}
/// The extensions of a segment's files, in the order they are written.
pub const SEGMENT_EXTENSIONS: [&str; 4] = [".log", ".index", ".timeindex", ".txnindex"];
pub fn index_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.index")
}
pub fn time_index_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.timeindex")
}

/// Deletes the files of the segment at `base_offset`, those that exist.
pub fn delete_files<S: Storage>(storage: &mut S, base_offset: i64) -> Result<()> {
    for name in [
        log_file_name(base_offset),
        index_file_name(base_offset),
        time_index_file_name(base_offset),
        txn_index_file_name(base_offset),
    ] {
        if storage.exists(&name) {
            storage.remove(&name)?;
        }
    }
    Ok(())
}

/// The header fields the log needs to find its way, read without the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchInfo {
    pub position: u32,
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub size: u32,
    /// The leader epoch the batch was written in (chapter 6's epoch cache
    /// is rebuilt from these).
    pub partition_leader_epoch: i32,
}

impl BatchInfo {
    /// Whether `offset` is one of this batch's.
    pub fn holds(&self, offset: i64) -> bool {
        self.base_offset <= offset && offset <= self.last_offset
    }
}

/// The part of a segment a read returns: whole batches from `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSlice {
    pub position: u32,
    pub length: u32,
    /// Base offset of the first batch in the slice (at or before the offset asked for).
    pub first_batch_offset: i64,
}

/// What recovering a segment found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryOutcome {
    pub valid_batches: u64,
    /// Bytes cut off the end: a torn or corrupt tail.
    pub truncated_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogSegment {
    base_offset: i64,
    /// Bytes in the `.log` file that belong to complete, appended batches.
    size: u64,
    index: OffsetIndex,
    time_index: TimeIndex,
    /// The aborted transactions whose marker is in this segment (chapter 9,
    /// [`super::txn_index`]); its file exists only once it has an entry.
    txn_index: TransactionIndex,
    bytes_since_last_index_entry: u64,
    /// `log.index.interval.bytes`, from the config the segment was opened with.
    index_interval_bytes: u64,
    /// Largest batch timestamp so far and the last offset of its batch.
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    /// `maxTimestamp` of the first batch: `segment.ms` counts from here.
    rolling_timestamp: Option<i64>,
    /// Offset after the last batch (the base offset while empty).
    next_offset: i64,
    /// `""` for a live segment; `.cleaned` for one the cleaner is writing
    /// (chapter 10): its files are named with the suffix after the extension.
    suffix: &'static str,
    /// Raised by the first read that caught the offset index pointing at the
    /// wrong batch, so that the warning is logged once, not on every fetch.
    index_distrusted: Distrusted,
}

/// A flag a `&self` read can raise: a diagnostic, not part of the segment's
/// value, so two segments with the same files and indexes compare and hash
/// equal whatever it says (a read must not change what a segment is).
#[derive(Debug, Default)]
struct Distrusted(AtomicBool);

impl Distrusted {
    /// Raises the flag; whether it was already up.
    fn raise(&self) -> bool {
        self.0.swap(true, Ordering::Relaxed)
    }
}

impl Clone for Distrusted {
    fn clone(&self) -> Self {
        Distrusted(AtomicBool::new(self.0.load(Ordering::Relaxed)))
    }
}

impl PartialEq for Distrusted {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Distrusted {}

impl Hash for Distrusted {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

impl LogSegment {
    /// Creates the three empty files of a new segment.
    pub fn create<S: Storage>(storage: &mut S, base_offset: i64, config: &LogConfig) -> Result<Self> {
        storage.create(&log_file_name(base_offset))?;
        storage.create(&index_file_name(base_offset))?;
        storage.create(&time_index_file_name(base_offset))?;
        Ok(Self::empty(base_offset, config))
    }

    /// Creates the three empty files of a segment named with `suffix` (the
    /// cleaner's `.cleaned` output, chapter 10). It takes appends and flushes;
    /// its `.txnindex` is the cleaner's to write.
    pub fn create_suffixed<S: Storage>(
        storage: &mut S,
        base_offset: i64,
        config: &LogConfig,
        suffix: &'static str,
    ) -> Result<Self> {
        let seg = LogSegment { suffix, ..Self::empty(base_offset, config) };
        for ext in &SEGMENT_EXTENSIONS[..3] {
            storage.create(&seg.file_name(ext))?;
        }
        Ok(seg)
    }

    /// The name of this segment's file with extension `ext`.
    fn file_name(&self, ext: &str) -> String {
        suffixed_file_name(self.base_offset, ext, self.suffix)
    }

    fn empty(base_offset: i64, config: &LogConfig) -> Self {
        LogSegment {
            base_offset,
            size: 0,
            index: OffsetIndex::new(base_offset, config.segment_index_bytes),
            time_index: TimeIndex::new(base_offset, config.segment_index_bytes),
            txn_index: TransactionIndex::new(base_offset),
            bytes_since_last_index_entry: 0,
            index_interval_bytes: config.index_interval_bytes,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            rolling_timestamp: None,
            next_offset: base_offset,
            suffix: "",
            index_distrusted: Distrusted::default(),
        }
    }

    /// Opens a segment that was cleanly closed or lies below the recovery point:
    /// the files are trusted as they are, except that a missing or insane index
    /// sends the segment to [`LogSegment::recover`]. Only the tail after the last
    /// index entry is scanned, to find the next offset. Returns what recovery
    /// found if the segment turned out to need it.
    pub fn open<S: Storage>(
        storage: &mut S,
        base_offset: i64,
        config: &LogConfig,
    ) -> Result<(Self, Option<RecoveryOutcome>)> {
        let idx = storage.read_file(&index_file_name(base_offset))?;
        let tidx = storage.read_file(&time_index_file_name(base_offset))?;
        let max = config.segment_index_bytes;
        let index = idx.and_then(|b| OffsetIndex::parse(base_offset, max, &b));
        let time_index = tidx.and_then(|b| TimeIndex::parse(base_offset, max, &b));
        let txn_index = TransactionIndex::read(storage, base_offset)?;
        let (Some(index), Some(time_index), Some(txn_index)) = (index, time_index, txn_index) else {
            let (segment, outcome) = Self::recover(storage, base_offset, config)?;
            return Ok((segment, Some(outcome)));
        };
        let size = storage.len(&log_file_name(base_offset))?;
        let mut seg = LogSegment { index, time_index, txn_index, size, ..Self::empty(base_offset, config) };
        if let Some(last) = seg.time_index.last() {
            (seg.max_timestamp, seg.offset_of_max_timestamp) = (last.timestamp, last.offset);
        }
        let from = seg.index.entries().last().map_or(0, |e| e.position);
        if seg.index.entries().last().is_some_and(|e| u64::from(e.position) >= size) {
            let (segment, outcome) = Self::recover(storage, base_offset, config)?;
            return Ok((segment, Some(outcome)));
        }
        let mut pos = from;
        while let Some(info) = seg.read_batch_info(storage, pos)? {
            seg.observe(&info);
            pos += info.size;
        }
        seg.bytes_since_last_index_entry = u64::from(pos - from);
        if u64::from(pos) != size {
            // The tail does not parse: this segment was not closed cleanly after all.
            let (segment, outcome) = Self::recover(storage, base_offset, config)?;
            return Ok((segment, Some(outcome)));
        }
        if let Some(first) = seg.read_batch_info(storage, 0)? {
            seg.rolling_timestamp = Some(first.max_timestamp);
        }
        Ok((seg, None))
    }

    // ANCHOR: recover
    /// Rebuilds a segment after an unclean stop: reads every batch from the start,
    /// checks its framing and CRC, stops at the first torn or corrupt one, cuts the
    /// file there, and rewrites both indexes from what remains. The
    /// `.txnindex` is deleted: it needs the producer table, so the log
    /// rebuilds it ([`super::Log::open`]).
    pub fn recover<S: Storage>(
        storage: &mut S,
        base_offset: i64,
        config: &LogConfig,
    ) -> Result<(Self, RecoveryOutcome)> {
        let name = log_file_name(base_offset);
        let file_len = storage.len(&name)?;
        let mut seg = Self::empty(base_offset, config);
        let mut outcome = RecoveryOutcome::default();
        storage.create(&index_file_name(base_offset))?;
        storage.create(&time_index_file_name(base_offset))?;
        seg.txn_index.reset(storage)?;
        // One batch in memory at a time; a garbage length can claim at most the
        // rest of the file, which `read_batch_info` has already checked.
        while let Some(info) = seg.read_batch_info(storage, seg.size as u32)? {
            if seg.size + u64::from(info.size) > file_len {
                break; // torn: the batch was never completely written
            }
            let Ok(batch) = seg.read_batch(storage, &info) else { break };
            let in_order = batch.base_offset() >= seg.next_offset
                && batch.last_offset_delta() >= 0
                && seg.index.can_hold(batch.last_offset());
            if !in_order {
                break;
            }
            seg.index_batch(storage, &batch)?;
            seg.size += batch.size_in_bytes() as u64;
            outcome.valid_batches += 1;
        }
        outcome.truncated_bytes = file_len - seg.size;
        if outcome.truncated_bytes > 0 {
            // Durably: a torn tail that came back after the next crash would sit
            // below a recovery point that no longer rescans it.
            storage.truncate(&name, seg.size)?;
            storage.sync(&name)?;
        }
        Ok((seg, outcome))
    }
    // ANCHOR_END: recover

    // ANCHOR: append
    /// Appends one batch whose offsets the log has already assigned. The bytes go
    /// to the end of the `.log` file (the page cache, not yet the disk); an index
    /// entry is added once `log.index.interval.bytes` have passed since the last.
    pub fn append<S: Storage>(&mut self, storage: &mut S, batch: &RecordBatch) -> Result<()> {
        assert!(batch.base_offset() >= self.next_offset, "offsets must grow");
        storage.append(&self.file_name(".log"), batch.as_bytes())?;
        self.index_batch(storage, batch)?;
        self.size += batch.size_in_bytes() as u64;
        Ok(())
    }

    fn index_batch<S: Storage>(&mut self, storage: &mut S, batch: &RecordBatch) -> Result<()> {
        let position = self.size as u32;
        let info = BatchInfo {
            position,
            base_offset: batch.base_offset(),
            last_offset: batch.last_offset(),
            max_timestamp: batch.max_timestamp(),
            size: batch.size_in_bytes() as u32,
            partition_leader_epoch: batch.partition_leader_epoch(),
        };
        if self.rolling_timestamp.is_none() {
            self.rolling_timestamp = Some(info.max_timestamp);
        }
        self.observe_timestamp(&info);
        // A full index takes no more entries: it is only a hint, and a rebuild can
        // want more entries than the live segment made (truncation restarts the
        // interval count; `segment.index.bytes` may have shrunk since). The
        // active segment rolls on a full index before its next append.
        if self.bytes_since_last_index_entry > self.index_interval_bytes && !self.index.is_full() {
            let entry = self.index.append(info.last_offset, position);
            storage.append(&self.file_name(".index"), &entry)?;
            if let Some(e) = self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp) {
                storage.append(&self.file_name(".timeindex"), &e)?;
            }
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += u64::from(info.size);
        self.next_offset = info.last_offset + 1;
        Ok(())
    }
    // ANCHOR_END: append

    fn observe_timestamp(&mut self, info: &BatchInfo) {
        if info.max_timestamp > self.max_timestamp {
            self.max_timestamp = info.max_timestamp;
            self.offset_of_max_timestamp = info.last_offset;
        }
    }

    fn observe(&mut self, info: &BatchInfo) {
        self.observe_timestamp(info);
        self.next_offset = info.last_offset + 1;
    }

    /// Reads the header of the batch at `position`, if a whole one starts there.
    /// Whether any batch from `position` up to `max_position` holds a
    /// record (a cleaning can leave batches with none: chapter 10). Reads
    /// only batch headers.
    pub fn holds_records_from<S: Storage>(
        &self,
        storage: &S,
        position: u64,
        max_position: u64,
    ) -> Result<bool> {
        let mut position = position;
        while position < max_position.min(self.size) {
            let Some(info) = self.read_batch_info(storage, position as u32)? else { return Ok(false) };
            let mut count = [0u8; 4];
            storage.read_at(
                &self.file_name(".log"),
                position + batch::field::RECORDS_COUNT as u64,
                &mut count,
            )?;
            if i32::from_be_bytes(count) > 0 {
                return Ok(true);
            }
            position += u64::from(info.size);
        }
        Ok(false)
    }

    pub fn read_batch_info<S: Storage>(&self, storage: &S, position: u32) -> Result<Option<BatchInfo>> {
        if u64::from(position) + HEADER_SIZE as u64 > storage.len(&self.file_name(".log"))? {
            return Ok(None);
        }
        let mut header = [0u8; HEADER_SIZE];
        let n = storage.read_at(&self.file_name(".log"), u64::from(position), &mut header)?;
        if n < HEADER_SIZE {
            return Ok(None);
        }
        let Some(Ok(size)) = batch::batch_size(&header) else { return Ok(None) };
        if u64::from(position) + size as u64 > storage.len(&self.file_name(".log"))? {
            return Ok(None); // a torn batch, or a garbage length
        }
        let base_offset = batch::be_i64(&header, field::BASE_OFFSET);
        let last_delta = batch::be_i32(&header, field::LAST_OFFSET_DELTA);
        Ok(Some(BatchInfo {
            position,
            base_offset,
            last_offset: base_offset + i64::from(last_delta),
            max_timestamp: batch::be_i64(&header, field::MAX_TIMESTAMP),
            size: size as u32,
            partition_leader_epoch: batch::be_i32(&header, field::PARTITION_LEADER_EPOCH),
        }))
    }

    // ANCHOR: translate
    /// The first batch, at or after the index's hint, whose last offset is at or
    /// past `offset` — the batch that holds it. `None` past the segment's end.
    /// The hint is checked before the scan leaves it: the batch at an entry's
    /// position must hold the entry's offset. One that does not (a wrong
    /// index that still looks sane) would start the scan past the records
    /// asked for, so the lookup scans from the segment's start instead.
    pub fn translate_offset<S: Storage>(&self, storage: &S, offset: i64) -> Result<Option<BatchInfo>> {
        let hint = self.index.lookup(offset);
        let mut pos = hint.position;
        while u64::from(pos) < self.size {
            let found = self.read_batch_info(storage, pos)?;
            if pos == hint.position && pos > 0 && !found.is_some_and(|b| b.holds(hint.offset)) {
                self.index_is_wrong(hint, found);
                return self.translate_offset_by_scan(storage, offset);
            }
            let Some(info) = found else { return Ok(None) };
            if info.last_offset >= offset {
                return Ok(Some(info));
            }
            pos += info.size;
        }
        Ok(None)
    }
    // ANCHOR_END: translate

    /// Warns, once per segment, that its offset index points at the wrong
    /// batch. Kafka trusts an index that passes its sanity check at open;
    /// spool does too, and catches the rest here. Reads stay right (they scan
    /// where the index is wrong); deleting the `.index` file has the next
    /// start rebuild it from the log.
    fn index_is_wrong(&self, entry: OffsetPosition, found: Option<BatchInfo>) {
        if self.index_distrusted.raise() {
            return;
        }
        tracing::warn!(
            segment = self.base_offset,
            entry.offset,
            entry.position,
            found = ?found.map(|b| (b.base_offset, b.last_offset)),
            "offset index entry does not point at the batch it names: reads of this segment \
             scan from its start where the index is wrong; delete {} to have it rebuilt at the next start",
            index_file_name(self.base_offset),
        );
    }

    // ANCHOR: scan
    /// The same answer as [`LogSegment::translate_offset`] without the index: a
    /// scan of every batch header from the start of the file. The naive version,
    /// kept for the `log` bench to measure what the sparse index buys.
    pub fn translate_offset_by_scan<S: Storage>(
        &self,
        storage: &S,
        offset: i64,
    ) -> Result<Option<BatchInfo>> {
        let mut pos = 0u32;
        while u64::from(pos) < self.size {
            let Some(info) = self.read_batch_info(storage, pos)? else { return Ok(None) };
            if info.last_offset >= offset {
                return Ok(Some(info));
            }
            pos += info.size;
        }
        Ok(None)
    }
    // ANCHOR_END: scan

    // ANCHOR: read
    /// The slice of whole batches to send for a fetch at `offset`: from the batch
    /// holding it, up to `max_bytes` and never past `max_position` (the published
    /// end of the log, so a reader never sees a batch still being written).
    /// With `min_one_batch`, the first batch is returned even if it alone exceeds
    /// `max_bytes` (KIP-74), so a consumer can always make progress; without it,
    /// a first batch that does not fit gives an empty slice (length 0), never
    /// part of a batch with no whole one before it.
    pub fn read<S: Storage>(
        &self,
        storage: &S,
        offset: i64,
        max_bytes: u32,
        max_position: u64,
        min_one_batch: bool,
    ) -> Result<Option<SegmentSlice>> {
        let Some(first) = self.translate_offset(storage, offset)? else { return Ok(None) };
        let max_position = max_position.min(self.size);
        if u64::from(first.position) >= max_position {
            return Ok(None);
        }
        let available = (max_position - u64::from(first.position)) as u32;
        let mut length = available.min(max_bytes);
        if length < first.size {
            length = if min_one_batch { first.size.min(available) } else { 0 };
        }
        Ok(Some(SegmentSlice { position: first.position, length, first_batch_offset: first.base_offset }))
    }
    // ANCHOR_END: read

    /// Removes every batch at or after the one holding `offset`; returns the bytes removed.
    pub fn truncate_to<S: Storage>(&mut self, storage: &mut S, offset: i64) -> Result<u64> {
        let Some(info) = self.translate_offset(storage, offset)? else { return Ok(0) };
        let removed = self.size - u64::from(info.position);
        storage.truncate(&self.file_name(".log"), u64::from(info.position))?;
        let len = self.index.truncate_to_position(info.position);
        storage.truncate(&self.file_name(".index"), len)?;
        let len = self.time_index.truncate_to(info.base_offset);
        storage.truncate(&self.file_name(".timeindex"), len)?;
        self.txn_index.truncate_to(storage, info.base_offset)?;
        self.size = u64::from(info.position);
        self.next_offset = info.base_offset;
        self.bytes_since_last_index_entry = 0;
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = self.base_offset;
        if let Some(last) = self.time_index.last() {
            (self.max_timestamp, self.offset_of_max_timestamp) = (last.timestamp, last.offset);
        }
        let from = self.index.entries().last().map_or(0, |e| e.position);
        let mut pos = from;
        while u64::from(pos) < self.size {
            let Some(info) = self.read_batch_info(storage, pos)? else { break };
            self.observe_timestamp(&info);
            pos += info.size;
        }
        if self.size == 0 {
            self.rolling_timestamp = None;
        }
        Ok(removed)
    }

    /// The first record at or after `timestamp`: its timestamp and offset.
    pub fn find_offset_by_timestamp<S: Storage>(
        &self,
        storage: &S,
        timestamp: i64,
        start_offset: i64,
    ) -> Result<Option<(i64, i64)>> {
        let hint = self.time_index.lookup(timestamp);
        let from = self.translate_offset(storage, hint.offset.max(start_offset))?;
        let Some(mut info) = from else { return Ok(None) };
        loop {
            if info.max_timestamp >= timestamp {
                let batch = self.read_batch(storage, &info)?;
                for record in batch.records()? {
                    let record = record?;
                    if record.timestamp >= timestamp && record.offset >= start_offset {
                        return Ok(Some((record.timestamp, record.offset)));
                    }
                }
            }
            let next = info.position + info.size;
            match self.read_batch_info(storage, next)? {
                Some(i) if u64::from(next) < self.size => info = i,
                _ => return Ok(None),
            }
        }
    }

    /// Reads one whole batch into memory (tools, timestamp search, tests).
    pub fn read_batch<S: Storage>(&self, storage: &S, info: &BatchInfo) -> Result<RecordBatch> {
        let mut buf = vec![0; info.size as usize];
        let n = storage.read_at(&self.file_name(".log"), u64::from(info.position), &mut buf)?;
        buf.truncate(n);
        Ok(RecordBatch::from_bytes(Bytes::from(buf))?)
    }

    /// Makes the segment's files durable.
    pub fn flush<S: Storage>(&self, storage: &mut S) -> Result<()> {
        storage.sync(&self.file_name(".log"))?;
        storage.sync(&self.file_name(".index"))?;
        storage.sync(&self.file_name(".timeindex"))?;
        if self.suffix.is_empty() {
            self.txn_index.flush(storage)?;
        }
        Ok(())
    }

    /// The segment's aborted transactions (chapter 9).
    pub fn txn_index(&self) -> &TransactionIndex {
        &self.txn_index
    }

    /// Indexes a transaction whose ABORT marker this segment holds.
    pub fn append_aborted_txn<S: Storage>(&mut self, storage: &mut S, txn: AbortedTxn) -> Result<()> {
        assert!(
            txn.last_offset >= self.base_offset && txn.last_offset < self.next_offset,
            "the marker is here"
        );
        self.txn_index.append(storage, txn)
    }

    /// Forgets the segment's aborted transactions: recovery indexes them again.
    pub fn reset_txn_index<S: Storage>(&mut self, storage: &mut S) -> Result<()> {
        self.txn_index.reset(storage)
    }

    /// Deletes the segment's files.
    pub fn delete<S: Storage>(&self, storage: &mut S) -> Result<()> {
        delete_files(storage, self.base_offset)
    }

    /// Whether appending a batch of `batch_size` bytes whose largest timestamp is
    /// `max_timestamp` should go to a new segment instead (Kafka's
    /// `LogSegment.shouldRoll`). Age is measured on the records' own clock: from
    /// the first batch's timestamp to the new batch's, as Kafka's
    /// `timeWaitedForRoll` does, so replaying old data does not roll a segment
    /// per append. Kafka falls back to the wall clock since the segment was
    /// created when the first batch has no timestamp; spool keeps no creation
    /// time, so such a segment rolls by size only.
    pub fn should_roll(
        &self,
        config: &LogConfig,
        batch_size: usize,
        last_offset: i64,
        max_timestamp: i64,
    ) -> bool {
        if self.size == 0 {
            return false;
        }
        let too_big = self.size + batch_size as u64 > config.segment_bytes;
        let too_old = self
            .rolling_timestamp
            .is_some_and(|first| first >= 0 && max_timestamp - first > config.segment_ms);
        too_big
            || too_old
            || self.index.is_full()
            || self.time_index.is_full()
            || !self.index.can_hold(last_offset)
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub fn offset_index(&self) -> &OffsetIndex {
        &self.index
    }
    pub fn time_index(&self) -> &TimeIndex {
        &self.time_index
    }
}
