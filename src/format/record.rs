//! Records inside a v2 batch: the key, value, timestamp and headers of one event.
//!
//! ```text
//!  length          varint   bytes after this field
//!  attributes      int8     unused, 0
//!  timestampDelta  varlong  from the batch's baseTimestamp
//!  offsetDelta     varint   from the batch's baseOffset
//!  keyLength       varint   -1 for a null key
//!  key             bytes
//!  valueLength     varint   -1 for a null value (a tombstone, chapter 10)
//!  value           bytes
//!  headerCount     varint
//!  headers         [keyLength varint, key utf8, valueLength varint, value bytes]
//! ```
//!
//! Offsets and timestamps are stored as deltas from the batch header, which is why
//! the broker can assign offsets by rewriting one header field.

use bytes::Bytes;

use super::batch::{BatchError, RecordBatch, TimestampType};
use super::varint::{read_varint, read_varlong, VarintError};

/// One header of a record: a string key and an optional byte value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    pub key: String,
    pub value: Option<Bytes>,
}

// ANCHOR: record
/// One decoded record, with its absolute offset and timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    pub offset: i64,
    /// The record's timestamp: its own for `CreateTime`, the batch's
    /// `maxTimestamp` for `LogAppendTime`.
    pub timestamp: i64,
    /// `baseSequence + offsetDelta`, or -1 when the producer is not idempotent.
    pub sequence: i32,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
    /// Size of the encoded record, its length varint included.
    pub size_in_bytes: usize,
}
// ANCHOR_END: record

/// Iterates over the records of one batch, stopping at the first error.
pub struct RecordIter {
    batch: RecordBatch,
    body: Bytes,
    pos: usize,
    failed: bool,
}

impl RecordIter {
    pub(crate) fn new(batch: RecordBatch, body: Bytes) -> Self {
        RecordIter { batch, body, pos: 0, failed: false }
    }
}

impl Iterator for RecordIter {
    type Item = Result<Record, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.body.len() {
            return None;
        }
        let result = decode_record(&self.batch, &self.body, self.pos);
        match &result {
            Ok(record) => self.pos += record.size_in_bytes,
            Err(_) => self.failed = true,
        }
        Some(result)
    }
}

/// A cursor over a record's bytes that turns every overrun into an error.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl Cursor<'_> {
    fn varint(&mut self) -> Result<i32, BatchError> {
        let (v, n) = read_varint(&self.buf[self.pos..self.end]).map_err(varint_error)?;
        self.pos += n;
        Ok(v)
    }
    fn varlong(&mut self) -> Result<i64, BatchError> {
        let (v, n) = read_varlong(&self.buf[self.pos..self.end]).map_err(varint_error)?;
        self.pos += n;
        Ok(v)
    }
    fn take(&mut self, len: usize) -> Result<std::ops::Range<usize>, BatchError> {
        if self.end - self.pos < len {
            return Err(BatchError::InvalidRecords(format!(
                "field of {len} bytes overruns the record at byte {}",
                self.pos
            )));
        }
        self.pos += len;
        Ok(self.pos - len..self.pos)
    }
    /// A length-prefixed byte field; a negative length is null.
    fn nullable(&mut self, body: &Bytes) -> Result<Option<Bytes>, BatchError> {
        let len = self.varint()?;
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(body.slice(self.take(len as usize)?)))
    }
}

fn varint_error(e: VarintError) -> BatchError {
    BatchError::InvalidRecords(format!("bad varint: {e:?}"))
}

fn decode_record(batch: &RecordBatch, body: &Bytes, start: usize) -> Result<Record, BatchError> {
    let (length, n) = read_varint(&body[start..]).map_err(varint_error)?;
    if length < 0 || start + n + length as usize > body.len() {
        return Err(BatchError::InvalidRecords(format!(
            "record length {length} at byte {start} overruns the batch"
        )));
    }
    let end = start + n + length as usize;
    let mut c = Cursor { buf: body, pos: start + n, end };
    c.take(1)?; // attributes, unused
    let timestamp_delta = c.varlong()?;
    let offset_delta = c.varint()?;
    let key = c.nullable(body)?;
    let value = c.nullable(body)?;
    let header_count = c.varint()?;
    if header_count < 0 {
        return Err(BatchError::InvalidRecords(format!("negative header count {header_count}")));
    }
    let mut headers = Vec::with_capacity((header_count as usize).min(64));
    for _ in 0..header_count {
        let key_len = c.varint()?;
        if key_len < 0 {
            return Err(BatchError::InvalidRecords("null header key".into()));
        }
        let key = String::from_utf8(body[c.take(key_len as usize)?].to_vec())
            .map_err(|_| BatchError::InvalidRecords("header key is not UTF-8".into()))?;
        let value = c.nullable(body)?;
        headers.push(Header { key, value });
    }
    if c.pos != end {
        return Err(BatchError::InvalidRecords(format!(
            "record at byte {start} has {} trailing bytes",
            end - c.pos
        )));
    }
    let timestamp = match batch.timestamp_type() {
        TimestampType::CreateTime => batch.base_timestamp().wrapping_add(timestamp_delta),
        TimestampType::LogAppendTime => batch.max_timestamp(),
    };
    let base_sequence = batch.base_sequence();
    let sequence = if base_sequence < 0 {
        -1
    } else {
        ((i64::from(base_sequence) + i64::from(offset_delta)) % (i64::from(i32::MAX) + 1)) as i32
    };
    Ok(Record {
        offset: batch.base_offset().wrapping_add(i64::from(offset_delta)), // see `last_offset`
        timestamp,
        sequence,
        key,
        value,
        headers,
        size_in_bytes: end - start,
    })
}
