//! Rewriting a batch with fewer records: what the log cleaner writes (chapter 10).
//!
//! Compaction removes records from batches already in the log, but a batch's
//! offsets, producer and transaction fields are facts other layers depend on: a
//! consumer's position, an idempotent producer's last sequence, a transaction's
//! markers. So a cleaned batch is the *same* batch with records missing, as
//! Kafka's `MemoryRecords.filterTo` builds it (`buildRetainedRecordsInto`):
//!
//! ```text
//!  kept from the original     baseOffset, lastOffsetDelta (so the last offset
//!                             and last sequence survive even if the last record
//!                             went), partitionLeaderEpoch, magic, codec,
//!                             timestamp type, transactional and control bits,
//!                             producerId, producerEpoch, baseSequence
//!  recomputed                 batchLength, crc, records count, maxTimestamp
//!                             (CreateTime: the largest kept; LogAppendTime:
//!                             the original), baseTimestamp
//!  each kept record           its original offset delta, key, value, headers
//!                             and absolute timestamp (the delta is re-based)
//! ```
//!
//! The delete horizon (KIP-534): when the cleaner first keeps a tombstone or a
//! marker it may later remove, it sets attribute bit 6 and stores the horizon
//! in `baseTimestamp`; every record's timestamp delta is then counted from the
//! horizon, so `baseTimestamp + delta` still reads each record's own time.
//!
//! A batch whose records all went can still be kept as an *empty* batch
//! (`DefaultRecordBatch.writeEmptyHeader`): a bare header, uncompressed, with
//! no records, holding the producer's last sequence and epoch.
//!
//! Both functions re-encode and re-compress with the batch's own codec; the
//! cleaner calls them only when something changed, and otherwise writes the
//! original bytes.

use bytes::{BufMut, Bytes, BytesMut};

use super::batch::{
    field, RecordBatch, TimestampType, CONTROL_BIT, DELETE_HORIZON_BIT, HEADER_SIZE, LOG_OVERHEAD, MAGIC_V2,
    TIMESTAMP_TYPE_BIT, TRANSACTIONAL_BIT,
};
use super::builder::write_record;
use super::compression::Compression;
use super::record::Record;

/// `baseTimestamp` / `maxTimestamp` of a batch with no timestamp (Kafka's `NO_TIMESTAMP`).
pub const NO_TIMESTAMP: i64 = -1;

/// The header fields a rewritten batch writes, gathered in one place so the
/// two builders below cannot disagree on what is kept.
struct Header {
    compression: Compression,
    delete_horizon: bool,
    base_timestamp: i64,
    max_timestamp: i64,
    count: i32,
}

// ANCHOR: retained_batch
/// `original` with only `retained` (records decoded from it, in offset order)
/// left in it, re-compressed with its codec, and the delete horizon set to
/// `delete_horizon_ms` if given (Kafka's `buildRetainedRecordsInto`).
pub fn retained_batch(
    original: &RecordBatch,
    retained: &[Record],
    delete_horizon_ms: Option<i64>,
) -> RecordBatch {
    assert!(!retained.is_empty(), "a batch without records is written by empty_batch");
    let compression = original.compression().expect("the caller decoded this batch's records");
    let base_timestamp = delete_horizon_ms.unwrap_or(retained[0].timestamp);
    let mut body = Vec::new();
    for record in retained {
        let offset_delta = record.offset - original.base_offset();
        assert!((0..=i64::from(original.last_offset_delta())).contains(&offset_delta));
        let headers: Vec<(&str, Option<&[u8]>)> =
            record.headers.iter().map(|h| (h.key.as_str(), h.value.as_deref())).collect();
        let timestamp_delta = record.timestamp.wrapping_sub(base_timestamp);
        write_record(
            &mut body,
            offset_delta as i32,
            timestamp_delta,
            record.key.as_deref(),
            record.value.as_deref(),
            &headers,
        );
    }
    let max_timestamp = match original.timestamp_type() {
        TimestampType::LogAppendTime => original.max_timestamp(),
        TimestampType::CreateTime => retained.iter().map(|r| r.timestamp).max().unwrap_or(NO_TIMESTAMP),
    };
    let header = Header {
        compression,
        delete_horizon: delete_horizon_ms.is_some(),
        base_timestamp,
        max_timestamp,
        count: retained.len() as i32,
    };
    encode(original, &header, &compression.compress(&body))
}
// ANCHOR_END: retained_batch

/// `original` as a header with no records (Kafka's `writeEmptyHeader`): the
/// offsets, producer id, epoch, base sequence and transactional/control bits
/// stay, so the producer table rebuilt from the log still knows the
/// producer's last sequence and epoch; no codec, no base timestamp.
pub fn empty_batch(original: &RecordBatch) -> RecordBatch {
    let header = Header {
        compression: Compression::None,
        delete_horizon: false,
        base_timestamp: NO_TIMESTAMP,
        max_timestamp: original.max_timestamp(),
        count: 0,
    };
    encode(original, &header, &[])
}

fn encode(original: &RecordBatch, header: &Header, body: &[u8]) -> RecordBatch {
    let kept_bits = original.attributes() & (TIMESTAMP_TYPE_BIT | TRANSACTIONAL_BIT | CONTROL_BIT);
    let attributes =
        kept_bits | header.compression.code() | if header.delete_horizon { DELETE_HORIZON_BIT } else { 0 };
    let mut buf = BytesMut::with_capacity(HEADER_SIZE + body.len());
    buf.put_i64(original.base_offset());
    buf.put_i32((HEADER_SIZE - LOG_OVERHEAD + body.len()) as i32);
    buf.put_i32(original.partition_leader_epoch());
    buf.put_u8(MAGIC_V2);
    buf.put_u32(0); // crc, below
    buf.put_u16(attributes);
    buf.put_i32(original.last_offset_delta());
    buf.put_i64(header.base_timestamp);
    buf.put_i64(header.max_timestamp);
    buf.put_i64(original.producer_id());
    buf.put_i16(original.producer_epoch());
    buf.put_i32(original.base_sequence());
    buf.put_i32(header.count);
    buf.put_slice(body);
    let crc = crc32c::crc32c(&buf[field::ATTRIBUTES..]);
    buf[field::CRC..field::CRC + 4].copy_from_slice(&crc.to_be_bytes());
    RecordBatch::from_bytes(Bytes::from(buf)).expect("a rewritten batch is framed and its CRC computed here")
}

#[cfg(test)]
mod tests;
