//! Record batches, magic v2: the unit Kafka writes, stores, replicates and serves.
//!
//! Kafka never stores a lone message. A producer sends *batches*, the broker
//! appends those same bytes to a segment file, and a consumer receives them again
//! untouched — one binary format end to end, which is what makes batching,
//! compression and zero-copy possible (chapters 3 and 4). The broker touches only
//! three header fields in place: the base offset it assigns, the partition leader
//! epoch (chapter 6), and, for `LogAppendTime` topics, the max timestamp.
//!
//! ```text
//!  offset  size  field                  covered by crc?
//!  0       8     baseOffset             no   (assigned by the broker)
//!  8       4     batchLength            no   (bytes after this field)
//!  12      4     partitionLeaderEpoch   no   (set by the leader)
//!  16      1     magic (= 2)            no
//!  17      4     crc (CRC-32C)          -
//!  21      2     attributes             yes  codec | timestampType | txn | control
//!  23      4     lastOffsetDelta        yes
//!  27      8     baseTimestamp          yes
//!  35      8     maxTimestamp           yes
//!  43      8     producerId             yes  (chapter 8)
//!  51      2     producerEpoch          yes
//!  53      4     baseSequence           yes
//!  57      4     records count          yes
//!  61      ...   records (maybe compressed)
//! ```
//!
//! [`RecordBatch`] is a zero-copy view over [`Bytes`]: reading a field reads the
//! bytes where they lie. [`RecordBatchMut`] rewrites the broker-owned fields in a
//! mutable buffer without re-encoding a single record.
//!
//! Simplifications: magic v0 and v1 (message sets from before Kafka 0.11) are
//! rejected, not converted; Kafka itself stopped writing them in 3.0.

use bytes::Bytes;

use super::compression::Compression;
use super::record::{Record, RecordIter};

/// Byte offsets of the v2 batch header fields.
pub mod field {
    pub const BASE_OFFSET: usize = 0;
    pub const BATCH_LENGTH: usize = 8;
    pub const PARTITION_LEADER_EPOCH: usize = 12;
    pub const MAGIC: usize = 16;
    pub const CRC: usize = 17;
    pub const ATTRIBUTES: usize = 21;
    pub const LAST_OFFSET_DELTA: usize = 23;
    pub const BASE_TIMESTAMP: usize = 27;
    pub const MAX_TIMESTAMP: usize = 35;
    pub const PRODUCER_ID: usize = 43;
    pub const PRODUCER_EPOCH: usize = 51;
    pub const BASE_SEQUENCE: usize = 53;
    pub const RECORDS_COUNT: usize = 57;
}

/// Size of the v2 batch header; records start here.
pub const HEADER_SIZE: usize = 61;
/// Bytes before `batchLength` counts: baseOffset and batchLength themselves.
pub const LOG_OVERHEAD: usize = 12;
/// The only record format spool reads and writes.
pub const MAGIC_V2: u8 = 2;
/// `producerId`, `producerEpoch` and `baseSequence` of a batch from a producer
/// that is not idempotent.
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;
pub const NO_SEQUENCE: i32 = -1;
/// `partitionLeaderEpoch` of a batch no leader has stamped yet.
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;

/// The attributes bit of a `LogAppendTime` batch.
pub const TIMESTAMP_TYPE_BIT: u16 = 0x08;
/// The attributes bit of a transactional batch (chapter 9).
pub const TRANSACTIONAL_BIT: u16 = 0x10;
/// The attributes bit of a control batch (transaction markers, chapter 9).
pub const CONTROL_BIT: u16 = 0x20;
/// The attributes bit of a batch whose `baseTimestamp` is its delete horizon
/// (KIP-534, chapter 10): the time after which the log cleaner may remove
/// its tombstones, or the batch itself if it is a transaction marker.
pub const DELETE_HORIZON_BIT: u16 = 0x40;

/// Which clock a batch's timestamps come from (topic config `message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Set by the producer when it created each record.
    CreateTime,
    /// Set by the broker when it appended the batch; stored as the batch's
    /// `maxTimestamp`, and every record reads it from there.
    LogAppendTime,
}

impl TimestampType {
    /// The name `kafka-dump-log.sh` prints.
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// Why bytes are not a valid v2 batch. Every variant maps to Kafka's
/// `CORRUPT_MESSAGE` (error code 2) on the wire, except where noted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than a header, or than `batchLength` promises: a torn write.
    Truncated { needed: usize, available: usize },
    /// `batchLength` is smaller than a v2 header can be.
    InvalidLength(i32),
    /// Magic byte other than 2 (`UNSUPPORTED_VERSION` would also be fair; Kafka
    /// answers `CORRUPT_MESSAGE` for garbage and rejects v0/v1 on new topics).
    UnsupportedMagic(u8),
    /// The stored CRC-32C does not match the bytes it covers.
    CrcMismatch { stored: u32, computed: u32 },
    /// The records inside do not parse, or their count disagrees with the header.
    InvalidRecords(String),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Truncated { needed, available } => {
                write!(f, "truncated batch: needs {needed} bytes, {available} available")
            }
            BatchError::InvalidLength(len) => write!(f, "invalid batchLength {len}"),
            BatchError::UnsupportedMagic(m) => write!(f, "unsupported magic {m} (only v2)"),
            BatchError::CrcMismatch { stored, computed } => {
                write!(f, "crc mismatch: stored {stored}, computed {computed}")
            }
            BatchError::InvalidRecords(why) => write!(f, "invalid records: {why}"),
        }
    }
}

impl std::error::Error for BatchError {}

/// Reads the size of the batch at the front of `buf` from its header, without
/// checking anything else. `None` if even the length field is not there yet.
pub fn batch_size(buf: &[u8]) -> Option<Result<usize, BatchError>> {
    if buf.len() < LOG_OVERHEAD {
        return None;
    }
    let length = be_i32(buf, field::BATCH_LENGTH);
    if length < (HEADER_SIZE - LOG_OVERHEAD) as i32 {
        return Some(Err(BatchError::InvalidLength(length)));
    }
    Some(Ok(LOG_OVERHEAD + length as usize))
}

// ANCHOR: validate_slice
/// Checks the magic byte and CRC of the one whole batch in `buf` (whose length
/// the caller has already checked against `batchLength`).
pub fn validate_slice(buf: &[u8]) -> Result<(), BatchError> {
    let magic = buf[field::MAGIC];
    if magic != MAGIC_V2 {
        return Err(BatchError::UnsupportedMagic(magic));
    }
    let stored = be_u32(buf, field::CRC);
    let computed = crc32c::crc32c(&buf[field::ATTRIBUTES..]);
    if stored != computed {
        return Err(BatchError::CrcMismatch { stored, computed });
    }
    Ok(())
}
// ANCHOR_END: validate_slice

/// A zero-copy view of one v2 record batch.
///
/// Construction checks only that the header is there and the length is sane
/// ([`RecordBatch::parse`]); [`RecordBatch::validate`] checks the magic and CRC.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RecordBatch {
    buf: Bytes,
}

impl RecordBatch {
    /// Splits the first batch off `buf`: the batch view and the rest.
    pub fn parse(buf: &Bytes) -> Result<(RecordBatch, Bytes), BatchError> {
        let available = buf.len();
        let size = match batch_size(buf) {
            None => return Err(BatchError::Truncated { needed: LOG_OVERHEAD, available }),
            Some(size) => size?,
        };
        if available < size {
            return Err(BatchError::Truncated { needed: size, available });
        }
        let batch = RecordBatch { buf: buf.slice(..size) };
        Ok((batch, buf.slice(size..)))
    }

    /// Parses and fully validates (magic and CRC) a buffer holding exactly one batch.
    pub fn from_bytes(buf: Bytes) -> Result<RecordBatch, BatchError> {
        let (batch, rest) = RecordBatch::parse(&buf)?;
        if !rest.is_empty() {
            return Err(BatchError::InvalidLength(be_i32(&buf, field::BATCH_LENGTH)));
        }
        batch.validate()?;
        Ok(batch)
    }

    /// Checks the magic byte and the CRC-32C over exactly the bytes Kafka covers:
    /// from `attributes` to the end of the batch.
    // ANCHOR: validate
    pub fn validate(&self) -> Result<(), BatchError> {
        validate_slice(&self.buf)
    }

    /// CRC-32C (Castagnoli) of the bytes from `attributes` to the end.
    pub fn compute_crc(&self) -> u32 {
        crc32c::crc32c(&self.buf[field::ATTRIBUTES..])
    }
    // ANCHOR_END: validate

    /// The whole batch, header included, as stored on disk and sent on the wire.
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }

    /// Size in bytes of the whole batch (`batchLength + 12`).
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }

    pub fn base_offset(&self) -> i64 {
        be_i64(&self.buf, field::BASE_OFFSET)
    }
    pub fn batch_length(&self) -> i32 {
        be_i32(&self.buf, field::BATCH_LENGTH)
    }
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(&self.buf, field::PARTITION_LEADER_EPOCH)
    }
    pub fn magic(&self) -> u8 {
        self.buf[field::MAGIC]
    }
    pub fn crc(&self) -> u32 {
        be_u32(&self.buf, field::CRC)
    }
    pub fn attributes(&self) -> u16 {
        be_u16(&self.buf, field::ATTRIBUTES)
    }
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(&self.buf, field::LAST_OFFSET_DELTA)
    }
    pub fn base_timestamp(&self) -> i64 {
        be_i64(&self.buf, field::BASE_TIMESTAMP)
    }
    pub fn max_timestamp(&self) -> i64 {
        be_i64(&self.buf, field::MAX_TIMESTAMP)
    }
    pub fn producer_id(&self) -> i64 {
        be_i64(&self.buf, field::PRODUCER_ID)
    }
    pub fn producer_epoch(&self) -> i16 {
        be_i16(&self.buf, field::PRODUCER_EPOCH)
    }
    pub fn base_sequence(&self) -> i32 {
        be_i32(&self.buf, field::BASE_SEQUENCE)
    }
    pub fn records_count(&self) -> i32 {
        be_i32(&self.buf, field::RECORDS_COUNT)
    }

    /// The offset of the last record: `baseOffset + lastOffsetDelta`. Wrapping,
    /// as Kafka's Java arithmetic does: `baseOffset` is outside the CRC, so a
    /// batch read from a damaged file may hold any value there, and reading it
    /// must not panic.
    pub fn last_offset(&self) -> i64 {
        self.base_offset().wrapping_add(i64::from(self.last_offset_delta()))
    }
    /// The offset after this batch (wrapping, see [`RecordBatch::last_offset`]).
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }
    /// The sequence of the last record, wrapping at `i32::MAX` as Kafka's does.
    pub fn last_sequence(&self) -> i32 {
        let base = self.base_sequence();
        if base == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        let last = i64::from(base) + i64::from(self.last_offset_delta());
        (last % (i64::from(i32::MAX) + 1)) as i32
    }
    pub fn compression(&self) -> Result<Compression, BatchError> {
        Compression::from_attributes(self.attributes())
    }
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes() & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_BIT != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_BIT != 0
    }
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes() & DELETE_HORIZON_BIT != 0
    }
    /// The delete horizon (KIP-534): `baseTimestamp` when the attributes say it
    /// holds one, as Kafka's `deleteHorizonMs()` reads it.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        self.has_delete_horizon().then(|| self.base_timestamp())
    }

    /// The records, decompressed if the batch is compressed. Reading records is
    /// for tools, tests and validation; the broker's hot path never does it.
    pub fn records(&self) -> Result<RecordIter, BatchError> {
        let body = self.buf.slice(HEADER_SIZE..);
        let body = self.compression()?.decompress(body).map_err(BatchError::InvalidRecords)?;
        Ok(RecordIter::new(self.clone(), body))
    }

    /// Collects and checks every record: parse errors and a count that
    /// disagrees with the header are [`BatchError::InvalidRecords`].
    pub fn decode_records(&self) -> Result<Vec<Record>, BatchError> {
        let records = self.records()?.collect::<Result<Vec<_>, _>>()?;
        if records.len() != self.records_count().max(0) as usize {
            return Err(BatchError::InvalidRecords(format!(
                "header says {} records, found {}",
                self.records_count(),
                records.len()
            )));
        }
        Ok(records)
    }
}

impl std::fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatch")
            .field("base_offset", &self.base_offset())
            .field("last_offset", &self.last_offset())
            .field("size", &self.size_in_bytes())
            .field("crc", &self.crc())
            .finish()
    }
}

/// In-place rewriting of the fields the broker owns, over a mutable buffer
/// that holds one batch. Only these three writes exist: everything else the
/// producer wrote is stored as sent.
pub struct RecordBatchMut<'a> {
    buf: &'a mut [u8],
}

impl<'a> RecordBatchMut<'a> {
    /// Wraps `buf`, which must hold exactly one batch (checked by length only).
    pub fn new(buf: &'a mut [u8]) -> Result<Self, BatchError> {
        let available = buf.len();
        match batch_size(buf) {
            None => Err(BatchError::Truncated { needed: LOG_OVERHEAD, available }),
            Some(Err(e)) => Err(e),
            Some(Ok(size)) if size != available => Err(BatchError::Truncated { needed: size, available }),
            Some(Ok(_)) => Ok(RecordBatchMut { buf }),
        }
    }

    // ANCHOR: assign_offsets
    /// Sets `baseOffset`. Not covered by the CRC, so the producer's CRC stays valid:
    /// offsets are assigned without touching a single record.
    pub fn set_base_offset(&mut self, base_offset: i64) {
        self.buf[field::BASE_OFFSET..field::BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    }

    /// Sets `partitionLeaderEpoch` (chapter 6). Also outside the CRC.
    pub fn set_partition_leader_epoch(&mut self, epoch: i32) {
        self.buf[field::PARTITION_LEADER_EPOCH..field::PARTITION_LEADER_EPOCH + 4]
            .copy_from_slice(&epoch.to_be_bytes());
    }

    /// Marks the batch `LogAppendTime` with the broker's clock as `maxTimestamp`.
    /// Both fields are covered by the CRC, so the CRC is recomputed — over the
    /// bytes as they are, never re-encoding the records.
    pub fn set_log_append_time(&mut self, now_ms: i64) {
        let attributes = be_u16(self.buf, field::ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
        self.buf[field::ATTRIBUTES..field::ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
        self.buf[field::MAX_TIMESTAMP..field::MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
        let crc = crc32c::crc32c(&self.buf[field::ATTRIBUTES..]);
        self.buf[field::CRC..field::CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }
    // ANCHOR_END: assign_offsets
}

pub(crate) fn be_i64(buf: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}
pub(crate) fn be_i32(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn be_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn be_i16(buf: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(buf[at..at + 2].try_into().expect("2 bytes"))
}
pub(crate) fn be_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(buf[at..at + 2].try_into().expect("2 bytes"))
}
