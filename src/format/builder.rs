//! Encoding record batches: what a producer does before it sends.
//!
//! The broker never builds batches from records — it stores what producers send.
//! Tests, tools and benches do, and so will spool's own producer (chapter 4).

use bytes::{BufMut, Bytes, BytesMut};

use super::batch::{
    field, RecordBatch, HEADER_SIZE, LOG_OVERHEAD, MAGIC_V2, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID, NO_SEQUENCE,
};
use super::compression::Compression;
use super::varint::{varint_len, varlong_len, write_varint, write_varlong};

/// Builds one v2 batch, record by record.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    compression: Compression,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    base_timestamp: Option<i64>,
    max_timestamp: i64,
    count: i32,
    records: Vec<u8>,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        BatchBuilder::new(Compression::None)
    }
}

impl BatchBuilder {
    pub fn new(compression: Compression) -> Self {
        BatchBuilder {
            compression,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            transactional: false,
            control: false,
            base_timestamp: None,
            max_timestamp: -1,
            count: 0,
            records: Vec::new(),
        }
    }

    /// Stamps the batch with an idempotent producer's id, epoch and first sequence.
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch transactional (chapter 9).
    pub fn transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as a control batch (transaction markers, chapter 9).
    pub fn control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Number of records so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Uncompressed size of the batch if built now.
    pub fn estimated_size(&self) -> usize {
        HEADER_SIZE + self.records.len()
    }

    /// Appends a record; its offset is the next one in the batch.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> &mut Self {
        let base_timestamp = *self.base_timestamp.get_or_insert(timestamp);
        write_record(&mut self.records, self.count, timestamp - base_timestamp, key, value, headers);
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.count += 1;
        self
    }

    /// Encodes the batch with base offset 0, CRC computed; the log assigns the
    /// real base offset on append.
    pub fn build(&self) -> RecordBatch {
        let body = self.compression.compress(&self.records);
        let mut buf = BytesMut::with_capacity(HEADER_SIZE + body.len());
        let attributes = self.compression.code()
            | if self.transactional { 0x10 } else { 0 }
            | if self.control { 0x20 } else { 0 };
        buf.put_i64(0);
        buf.put_i32((HEADER_SIZE - LOG_OVERHEAD + body.len()) as i32);
        buf.put_i32(NO_PARTITION_LEADER_EPOCH);
        buf.put_u8(MAGIC_V2);
        buf.put_u32(0); // crc, below
        buf.put_u16(attributes);
        buf.put_i32((self.count - 1).max(0));
        buf.put_i64(self.base_timestamp.unwrap_or(-1));
        buf.put_i64(self.max_timestamp);
        buf.put_i64(self.producer_id);
        buf.put_i16(self.producer_epoch);
        buf.put_i32(self.base_sequence);
        buf.put_i32(self.count);
        buf.put_slice(&body);
        let crc = crc32c::crc32c(&buf[field::ATTRIBUTES..]);
        buf[field::CRC..field::CRC + 4].copy_from_slice(&crc.to_be_bytes());
        RecordBatch::from_bytes(Bytes::from(buf)).expect("the builder writes valid batches")
    }
}

/// Encodes one record (its length varint first) onto `out`: the record layout
/// of [`super::record`], with the offset and timestamp as deltas from the
/// batch header. Shared by [`BatchBuilder::append`] and the cleaner's
/// rewritten batches ([`super::retain`]), which keep each record's original
/// offset delta.
pub(crate) fn write_record(
    out: &mut Vec<u8>,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&str, Option<&[u8]>)],
) {
    let nullable_len = |b: Option<&[u8]>| b.map_or(-1, |b| b.len() as i32);
    let mut body_len = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta);
    for field in [key, value] {
        body_len += varint_len(nullable_len(field)) + field.map_or(0, <[u8]>::len);
    }
    body_len += varint_len(headers.len() as i32);
    for (k, v) in headers {
        body_len += varint_len(k.len() as i32) + k.len();
        body_len += varint_len(nullable_len(*v)) + v.map_or(0, <[u8]>::len);
    }
    write_varint(out, body_len as i32);
    out.push(0); // attributes
    write_varlong(out, timestamp_delta);
    write_varint(out, offset_delta);
    for field in [key, value] {
        write_varint(out, nullable_len(field));
        out.extend_from_slice(field.unwrap_or_default());
    }
    write_varint(out, headers.len() as i32);
    for (k, v) in headers {
        write_varint(out, k.len() as i32);
        out.extend_from_slice(k.as_bytes());
        write_varint(out, nullable_len(*v));
        out.extend_from_slice(v.unwrap_or_default());
    }
}
