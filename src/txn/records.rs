//! The records of `__transaction_state`, in Kafka's own binary layout, so a
//! log written by spool reads back in Kafka's tools (`kafka-dump-log.sh
//! --transaction-log-decoder`) and the other way round.
//!
//! One record per change of a transactional id, keyed by the id; the topic is
//! compacted, so the last record of each id is its state, and a tombstone (a
//! null value) forgets an expired id. Key and value each start with an
//! `int16` version (Kafka's `TransactionLogKey.json`, `TransactionLogValue.json`):
//!
//! ```text
//!  key   v0  transactional_id: string
//!  value v0  producer_id: int64, producer_epoch: int16, transaction_timeout_ms: int32,
//!            transaction_status: int8, partitions: nullable [topic: string, partition_ids: [int32]],
//!            last_update_timestamp_ms: int64, start_timestamp_ms: int64
//!  value v1  the same fields, flexible (KIP-482): compact strings and arrays
//!            (unsigned varint length + 1, 0 for null), an empty tagged-field
//!            section after each partition entry, and after the last field
//!            tagged fields  0: previous_producer_id int64 (default -1)
//!                           1: next_producer_id int64 (default -1)
//!                           2: client_transaction_version int16 (default 0)
//! ```
//!
//! Kafka writes v0 until the cluster's `transaction.version` is at least 1,
//! v1 after; it writes a null partition list for Empty, and the partitions
//! grouped by topic otherwise. spool writes topics and partitions sorted.
//! Tagged fields v0 cannot carry are dropped when writing v0, as Kafka does.

use std::collections::BTreeSet;
use std::fmt;

use super::state::TransactionState;
use crate::TopicPartition;

/// The only key version there is.
pub const TRANSACTION_LOG_KEY_VERSION: i16 = 0;
/// The first flexible value version, which carries the tagged fields.
pub const TRANSACTION_LOG_VALUE_FLEXIBLE_VERSION: i16 = 1;

/// One transactional id's state as `__transaction_state` stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionLogValue {
    pub producer_id: i64,
    /// The producer id before the last rotation (v1 tag 0; -1 if none).
    pub previous_producer_id: i64,
    /// The producer id the next transaction will use after an epoch overflow
    /// (v1 tag 1; -1 if none).
    pub next_producer_id: i64,
    pub producer_epoch: i16,
    pub transaction_timeout_ms: i32,
    pub state: TransactionState,
    /// The transaction's partitions; always empty for Empty.
    pub partitions: BTreeSet<TopicPartition>,
    pub last_update_timestamp_ms: i64,
    /// When the transaction's first partition was added; -1 with none open.
    pub start_timestamp_ms: i64,
    /// The client's transaction version (KIP-890; v1 tag 2; 0 if unknown).
    pub client_transaction_version: i16,
}

/// One record of `__transaction_state`; `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionLogRecord {
    pub transactional_id: String,
    pub value: Option<TransactionLogValue>,
}

/// Why a record could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the field they promise.
    Truncated,
    /// A length is negative (or null) where that is not allowed, a varint is
    /// too long, a string is not UTF-8, or a known tagged field has the wrong size.
    Malformed(&'static str),
    /// A key version other than 0: not a transaction record (Kafka skips these when loading).
    UnknownKeyVersion(i16),
    /// A value version newer than this code reads.
    UnknownValueVersion(i16),
    /// A `TransactionStatus` byte that names no state.
    UnknownState(i8),
    /// Bytes left over after the last field.
    TrailingBytes(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "transaction record ends early"),
            DecodeError::Malformed(what) => write!(f, "malformed transaction record: {what}"),
            DecodeError::UnknownKeyVersion(v) => write!(f, "unknown transaction log key version {v}"),
            DecodeError::UnknownValueVersion(v) => write!(f, "unknown transaction log value version {v}"),
            DecodeError::UnknownState(id) => write!(f, "unknown transaction state id {id}"),
            DecodeError::TrailingBytes(n) => write!(f, "{n} bytes after the last field"),
        }
    }
}

impl std::error::Error for DecodeError {}

// ANCHOR: encode
impl TransactionLogRecord {
    /// The record's key: version 0, then the transactional id.
    pub fn key_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.i16(TRANSACTION_LOG_KEY_VERSION);
        w.string(&self.transactional_id);
        w.0
    }

    /// The record's value in `version` (0 or 1), or `None` for a tombstone.
    pub fn value_bytes(&self, version: i16) -> Option<Vec<u8>> {
        assert!((0..=TRANSACTION_LOG_VALUE_FLEXIBLE_VERSION).contains(&version), "value version {version}");
        let v = self.value.as_ref()?;
        let flexible = version >= TRANSACTION_LOG_VALUE_FLEXIBLE_VERSION;
        let mut w = Writer::default();
        w.i16(version);
        w.i64(v.producer_id);
        w.i16(v.producer_epoch);
        w.i32(v.transaction_timeout_ms);
        w.0.push(v.state.id() as u8);
        if v.state == TransactionState::Empty {
            assert!(v.partitions.is_empty(), "an Empty transaction has no partitions");
            w.array_len(None, flexible);
        } else {
            let topics: BTreeSet<&str> = v.partitions.iter().map(|p| p.topic.as_str()).collect();
            w.array_len(Some(topics.len()), flexible);
            for topic in topics {
                let ids: Vec<i32> =
                    v.partitions.iter().filter(|p| p.topic == topic).map(|p| p.partition).collect();
                w.string_of(topic, flexible);
                w.array_len(Some(ids.len()), flexible);
                ids.into_iter().for_each(|id| w.i32(id));
                if flexible {
                    w.uvarint(0); // the partition entry's (empty) tagged fields
                }
            }
        }
        w.i64(v.last_update_timestamp_ms);
        w.i64(v.start_timestamp_ms);
        if flexible {
            w.tagged_fields(v);
        }
        Some(w.0)
    }
}
// ANCHOR_END: encode

impl TransactionLogRecord {
    /// Reads a record back from its key and value (`None`: a tombstone).
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<TransactionLogRecord, DecodeError> {
        let mut k = Reader(key);
        let version = k.i16()?;
        if version != TRANSACTION_LOG_KEY_VERSION {
            return Err(DecodeError::UnknownKeyVersion(version));
        }
        let transactional_id = k.string(false)?;
        k.finish()?;
        let value = value.map(decode_value).transpose()?;
        Ok(TransactionLogRecord { transactional_id, value })
    }
}

fn decode_value(bytes: &[u8]) -> Result<TransactionLogValue, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.i16()?;
    if !(0..=TRANSACTION_LOG_VALUE_FLEXIBLE_VERSION).contains(&version) {
        return Err(DecodeError::UnknownValueVersion(version));
    }
    let flexible = version >= TRANSACTION_LOG_VALUE_FLEXIBLE_VERSION;
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let transaction_timeout_ms = r.i32()?;
    let status = r.take(1)?[0] as i8;
    let state = TransactionState::from_id(status).ok_or(DecodeError::UnknownState(status))?;
    let mut partitions = BTreeSet::new();
    let topics = r.array_len(flexible)?;
    if topics.is_none() && state != TransactionState::Empty {
        return Err(DecodeError::Malformed("null partitions outside Empty"));
    }
    for _ in 0..topics.unwrap_or(0) {
        let topic = r.string(flexible)?;
        let count = r.array_len(flexible)?.ok_or(DecodeError::Malformed("null partition ids"))?;
        for _ in 0..count {
            partitions.insert(TopicPartition::new(topic.clone(), r.i32()?));
        }
        if flexible {
            r.skip_tagged_fields()?;
        }
    }
    if state == TransactionState::Empty {
        // Kafka ignores an Empty record's partitions when loading.
        partitions.clear();
    }
    let mut value = TransactionLogValue {
        producer_id,
        previous_producer_id: -1,
        next_producer_id: -1,
        producer_epoch,
        transaction_timeout_ms,
        state,
        partitions,
        last_update_timestamp_ms: r.i64()?,
        start_timestamp_ms: r.i64()?,
        client_transaction_version: 0,
    };
    if flexible {
        r.tagged_fields(&mut value)?;
    }
    r.finish()?;
    Ok(value)
}

/// Big-endian writer for Kafka's encodings, flexible and not.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    /// A transactional id or topic longer than `i16::MAX` bytes never reaches
    /// the coordinator: the requests that carry them use the same length field.
    fn string(&mut self, s: &str) {
        self.string_of(s, false);
    }
    fn string_of(&mut self, s: &str, flexible: bool) {
        assert!(s.len() <= i16::MAX as usize, "string of {} bytes in a transaction record", s.len());
        if flexible {
            self.uvarint(s.len() as u32 + 1);
        } else {
            self.i16(s.len() as i16);
        }
        self.0.extend_from_slice(s.as_bytes());
    }
    fn array_len(&mut self, len: Option<usize>, flexible: bool) {
        match (len, flexible) {
            (None, false) => self.i32(-1),
            (None, true) => self.uvarint(0),
            (Some(n), false) => self.i32(n as i32),
            (Some(n), true) => self.uvarint(n as u32 + 1),
        }
    }
    /// The value's tagged fields, in tag order, each only when not its default.
    fn tagged_fields(&mut self, v: &TransactionLogValue) {
        let mut fields: Vec<(u32, Vec<u8>)> = Vec::new();
        if v.previous_producer_id != -1 {
            fields.push((0, v.previous_producer_id.to_be_bytes().to_vec()));
        }
        if v.next_producer_id != -1 {
            fields.push((1, v.next_producer_id.to_be_bytes().to_vec()));
        }
        if v.client_transaction_version != 0 {
            fields.push((2, v.client_transaction_version.to_be_bytes().to_vec()));
        }
        self.uvarint(fields.len() as u32);
        for (tag, data) in fields {
            self.uvarint(tag);
            self.uvarint(data.len() as u32);
            self.0.extend_from_slice(&data);
        }
    }
}

/// Reader over a record's bytes; every read checks the length first.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().expect("two bytes")))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("four bytes")))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("eight bytes")))
    }
    /// An unsigned varint of at most five bytes (a `u32`), as Kafka's `readUnsignedVarint`.
    fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let mut value = 0u32;
        for i in 0..5 {
            let byte = self.take(1)?[0];
            value |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed("varint longer than five bytes"))
    }
    fn string(&mut self, flexible: bool) -> Result<String, DecodeError> {
        let len = if flexible {
            (self.uvarint()? as usize).checked_sub(1).ok_or(DecodeError::Malformed("null string"))?
        } else {
            usize::try_from(self.i16()?).map_err(|_| DecodeError::Malformed("null string"))?
        };
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| DecodeError::Malformed("string is not UTF-8"))
    }
    /// An array's element count, `None` for null. No allocation is sized by it:
    /// the count comes off the disk, and every element read checks its bytes.
    fn array_len(&mut self, flexible: bool) -> Result<Option<usize>, DecodeError> {
        if flexible {
            Ok((self.uvarint()? as usize).checked_sub(1))
        } else {
            match self.i32()? {
                -1 => Ok(None),
                n if n < 0 => Err(DecodeError::Malformed("negative array length")),
                n => Ok(Some(n as usize)),
            }
        }
    }
    fn skip_tagged_fields(&mut self) -> Result<(), DecodeError> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size)?;
        }
        Ok(())
    }
    /// The value's tagged fields; unknown tags are skipped, as Kafka keeps
    /// them aside without reading them.
    fn tagged_fields(&mut self, v: &mut TransactionLogValue) -> Result<(), DecodeError> {
        for _ in 0..self.uvarint()? {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let data = self.take(size)?;
            let wrong_size = || DecodeError::Malformed("tagged field of the wrong size");
            match tag {
                0 => v.previous_producer_id = i64::from_be_bytes(data.try_into().map_err(|_| wrong_size())?),
                1 => v.next_producer_id = i64::from_be_bytes(data.try_into().map_err(|_| wrong_size())?),
                2 => {
                    v.client_transaction_version =
                        i16::from_be_bytes(data.try_into().map_err(|_| wrong_size())?)
                }
                _ => {}
            }
        }
        Ok(())
    }
    fn finish(&self) -> Result<(), DecodeError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.0.len()))
        }
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
