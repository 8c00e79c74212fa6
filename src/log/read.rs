//! Reading: an offset becomes a [`FileRegion`] — a file handle, a position
//! and a length — through the ordered map of segments and the segment's
//! sparse index. The bytes are not copied here; chapter 3 sends the region
//! with `sendfile`. A read is bounded by the published log end (never a
//! half-written batch) and, for consumers, by the high watermark
//! ([`ReadOptions::max_offset`]). ListOffsets by time reads the time indexes
//! ([`Log::offset_for_timestamp`]).

use super::{segment, FileRegion, Log, LogError, ReadOptions, Result, Storage};
use crate::format::RecordBatch;

impl<S: Storage> Log<S> {
    /// Reads from `offset` with up to `max_bytes`, at least one batch (KIP-74).
    pub fn read(&self, offset: i64, max_bytes: u32) -> Result<Option<FileRegion<S::Handle>>> {
        self.read_with(
            offset,
            ReadOptions { max_bytes, max_offset: None, min_one_batch: true, skip_emptied_tail: false },
        )
    }

    // ANCHOR: log_read
    /// Finds the region holding `offset`: the segment through the ordered map of
    /// base offsets, the position through that segment's sparse index. `None`
    /// when there is nothing to read yet (`offset` is the log end, or the bound).
    pub fn read_with(&self, offset: i64, options: ReadOptions) -> Result<Option<FileRegion<S::Handle>>> {
        let end = self.end.get();
        if offset < self.log_start_offset || offset > end.message_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: end.message_offset,
            });
        }
        let max_offset = options.max_offset.unwrap_or(end.message_offset).min(end.message_offset);
        if offset >= max_offset {
            return Ok(None);
        }
        let Some((&base, segment)) = self.segments.range(..=offset).next_back() else {
            return Ok(None);
        };
        // Never past the published end, nor past the batch holding `max_offset`.
        let mut max_position =
            if base == end.segment_base_offset { end.relative_position } else { segment.size() };
        if max_offset < end.message_offset && max_offset < segment.next_offset() {
            if let Some(bound) = segment.translate_offset(&self.storage, max_offset)? {
                max_position = max_position.min(u64::from(bound.position));
            }
        }
        let slice =
            segment.read(&self.storage, offset, options.max_bytes, max_position, options.min_one_batch)?;
        let Some(slice) = slice else {
            // `offset` is past this segment's data: it starts the next segment.
            return match self.segments.range(offset + 1..).next() {
                Some((&next, _)) if next > offset => self.read_with(next, options),
                _ => Ok(None),
            };
        };
        if slice.length == 0 {
            return Ok(None); // the first batch does not fit in `max_bytes`
        }
        // Chapter 10: the rest of a sealed segment may hold only batches a
        // cleaning emptied (records gone, header kept). Read on in the next
        // segment rather than answer with no record: a client that moves
        // past only the records it is given (kafkajs) would ask again for ever.
        let next_segment = self.segments.range(base + 1..).next().filter(|_| options.skip_emptied_tail);
        if let Some((&next, _)) = next_segment {
            let position = u64::from(slice.position);
            if next < max_offset && !segment.holds_records_from(&self.storage, position, max_position)? {
                return self.read_with(next, options);
            }
        }
        Ok(Some(FileRegion {
            handle: self.storage.handle(&segment::log_file_name(base))?,
            segment_base_offset: base,
            position: u64::from(slice.position),
            length: slice.length,
            first_batch_offset: slice.first_batch_offset,
        }))
    }
    // ANCHOR_END: log_read

    /// Reads and decodes whole batches from `offset` to the end: for tools and tests.
    pub fn read_batches(&self, mut offset: i64) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        while let Some(region) = self.read(offset, u32::MAX)? {
            let mut rest = region.read_bytes()?;
            while !rest.is_empty() {
                let (batch, tail) = RecordBatch::parse(&rest)?;
                offset = batch.next_offset();
                out.push(batch);
                rest = tail;
            }
        }
        Ok(out)
    }

    /// The first record with a timestamp at or after `timestamp`, as
    /// (timestamp, offset): ListOffsets by time (chapter 2).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        for segment in self.segments.values() {
            if segment.size() == 0 || segment.max_timestamp() < timestamp {
                continue;
            }
            if let Some(found) =
                segment.find_offset_by_timestamp(&self.storage, timestamp, self.log_start_offset)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}
