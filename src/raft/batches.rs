//! Entries as Kafka record batches: how the Raft log's entries look in
//! `__cluster_metadata-0`, so that the controllers' log is Kafka's on-disk
//! format and `kafka-dump-log.sh` (or `spool dump-log`) reads it.
//!
//! The core thinks in [`Entry`]s, one per offset, each stamped with its
//! epoch. Kafka's KRaft log holds v2 record batches, and the epoch lives in
//! each batch's `partitionLeaderEpoch`, so one batch holds entries of one
//! epoch only:
//!
//! ```text
//!  entries  (1, LeaderChange{1}) (1, Data a) (1, Data b) (2, LeaderChange{3}) (2, Data c)
//!  batches  ┌ control, epoch 1 ┐ ┌ data, epoch 1 ──────┐ ┌ control, epoch 2 ┐ ┌ data, epoch 2 ┐
//!  offsets    10                   11          12         13                   14
//! ```
//!
//! - A run of consecutive [`Record::Data`] entries of one epoch is one data
//!   batch (cut at [`BATCH_BYTES_MAX`], Kafka's `MAX_BATCH_SIZE_BYTES`): each
//!   record has a null key and the entry's bytes as its value.
//! - A [`Record::LeaderChange`] is a control batch of its own, as Kafka's
//!   leader writes it at the start of its epoch: one record whose key is the
//!   control record key (version 0, type 2 = `LEADER_CHANGE`) and whose value
//!   is a `LeaderChangeMessage` (version 0).
//!
//! [`decode_entries`] reads batches back, checking each CRC; a trailing
//! partial batch is ignored, as Kafka's follower ignores the partial batch a
//! byte-limited Fetch ends with. Any other control record (a transaction
//! marker, a snapshot header, KIP-853's voter records) is an error: this log
//! never holds one.
//!
//! Pure: no file, socket or clock (the caller passes `now_ms` for the
//! batches' timestamps). Chapter 7 (`book/src/07-kraft.md`).
//!
//! Simplifications: the `LeaderChangeMessage`'s granting voters are all the
//! voters. Kafka writes the voters that granted the new leader its vote; the
//! core's [`Record::LeaderChange`] does not carry them (adding them would
//! grow the model's state space for a field nobody reads back).

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::leader_change_message::Voter;
use kafka_protocol::messages::{BrokerId, LeaderChangeMessage};
use kafka_protocol::protocol::{Decodable, Encodable};
use kafka_protocol::ResponseError;

use super::{Entry, NodeId, Offset, Record};
use crate::format::batch::batch_size;
use crate::format::{BatchBuilder, BatchError, RecordBatch, RecordBatchMut};

/// The largest data batch [`encode_entries`] builds before it starts another
/// (Kafka's `KafkaRaftClient.MAX_BATCH_SIZE_BYTES`, 8 MiB).
pub const BATCH_BYTES_MAX: usize = 8 * 1024 * 1024;
/// The control record type of a leader change (Kafka's `ControlRecordType.LEADER_CHANGE`).
pub const LEADER_CHANGE_CONTROL_TYPE: i16 = 2;
/// The control record key's version (Kafka's `CURRENT_CONTROL_RECORD_KEY_VERSION`).
const CONTROL_KEY_VERSION: i16 = 0;
/// The `LeaderChangeMessage` version Kafka writes (`LEADER_CHANGE_CURRENT_VERSION`).
const LEADER_CHANGE_VERSION: i16 = 0;

/// Why bytes are not a run of this log's batches. All are Kafka's
/// `CORRUPT_MESSAGE`: the log (or the Fetch answer) holds what spool never
/// writes, and the reader must not take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntriesError {
    /// A batch's framing, magic, CRC or records are wrong.
    Corrupt(BatchError),
    /// A control record whose key is not 4 bytes of version 0.
    BadControlKey { offset: Offset },
    /// A control record of a type this log never holds (Kafka's
    /// transaction markers, snapshot headers and footers, voter records).
    UnexpectedControlType { offset: Offset, control_type: i16 },
    /// A `LEADER_CHANGE` control record whose value does not decode.
    BadLeaderChange { offset: Offset, why: String },
    /// A data record with a null value: entries always have bytes.
    NullValue { offset: Offset },
}

impl EntriesError {
    /// Kafka's error for it: `CORRUPT_MESSAGE` (code 2).
    pub fn response_error(&self) -> ResponseError {
        ResponseError::CorruptMessage
    }
}

impl std::fmt::Display for EntriesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntriesError::Corrupt(e) => write!(f, "corrupt raft log batch: {e}"),
            EntriesError::BadControlKey { offset } => write!(f, "bad control record key at offset {offset}"),
            EntriesError::UnexpectedControlType { offset, control_type } => {
                write!(f, "control record of type {control_type} at offset {offset}: never written here")
            }
            EntriesError::BadLeaderChange { offset, why } => {
                write!(f, "LeaderChangeMessage at offset {offset} does not decode: {why}")
            }
            EntriesError::NullValue { offset } => write!(f, "data record at offset {offset} has no value"),
        }
    }
}

impl std::error::Error for EntriesError {}

impl From<BatchError> for EntriesError {
    fn from(e: BatchError) -> Self {
        EntriesError::Corrupt(e)
    }
}

// ANCHOR: encode_entries
/// `entries` as v2 record batches at consecutive offsets from `base_offset`:
/// a data batch per run of data entries of one epoch, a control batch per
/// leader change (whose message names `voters`). Timestamps are `now_ms`.
pub fn encode_entries(base_offset: Offset, entries: &[Entry], voters: &[NodeId], now_ms: i64) -> BytesMut {
    let mut out = BytesMut::new();
    let mut offset = base_offset;
    let mut rest = entries;
    while let Some(first) = rest.first() {
        let (batch, taken) = match &first.record {
            Record::LeaderChange { leader_id } => (leader_change_batch(*leader_id, voters, now_ms), 1),
            Record::Data(_) => data_batch(rest, now_ms),
        };
        let mut bytes = BytesMut::from(&batch.as_bytes()[..]);
        let mut header = RecordBatchMut::new(&mut bytes).expect("the builder frames one whole batch");
        header.set_base_offset(offset);
        header.set_partition_leader_epoch(first.epoch);
        out.extend_from_slice(&bytes);
        offset += taken as Offset;
        rest = &rest[taken..];
    }
    out
}
// ANCHOR_END: encode_entries

/// The data batch for the run of data entries of one epoch at the front of
/// `entries` (at most [`BATCH_BYTES_MAX`], at least one record), and how many it took.
fn data_batch(entries: &[Entry], now_ms: i64) -> (RecordBatch, usize) {
    let epoch = entries[0].epoch;
    let mut builder = BatchBuilder::default();
    for entry in entries {
        let Record::Data(value) = &entry.record else { break };
        if entry.epoch != epoch || (!builder.is_empty() && builder.estimated_size() >= BATCH_BYTES_MAX) {
            break;
        }
        builder.append(now_ms, None, Some(value), &[]);
    }
    (builder.build(), builder.len())
}

/// Kafka's LEADER_CHANGE control batch: one record, key (version, type), value the message.
fn leader_change_batch(leader_id: NodeId, voters: &[NodeId], now_ms: i64) -> RecordBatch {
    let as_voters = || voters.iter().map(|&id| Voter::default().with_voter_id(id)).collect::<Vec<_>>();
    let message = LeaderChangeMessage::default()
        .with_version(LEADER_CHANGE_VERSION)
        .with_leader_id(BrokerId(leader_id))
        .with_voters(as_voters())
        .with_granting_voters(as_voters());
    let mut value = BytesMut::new();
    message.encode(&mut value, LEADER_CHANGE_VERSION).expect("version 0 encodes");
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&CONTROL_KEY_VERSION.to_be_bytes());
    key.extend_from_slice(&LEADER_CHANGE_CONTROL_TYPE.to_be_bytes());
    let mut builder = BatchBuilder::default().control(true);
    builder.append(now_ms, Some(&key), Some(&value), &[]);
    builder.build()
}

// ANCHOR: decode_entries
/// The entries in `bytes`, with their offsets: every whole batch, its CRC
/// checked; a partial batch at the end is left out (a Fetch cut at its byte
/// limit ends with one).
pub fn decode_entries(bytes: &[u8]) -> Result<Vec<(Offset, Entry)>, EntriesError> {
    let mut rest = Bytes::copy_from_slice(bytes);
    let mut entries = Vec::new();
    while let Some(size) = batch_size(&rest) {
        if size? > rest.len() {
            break; // the partial tail
        }
        let (batch, tail) = RecordBatch::parse(&rest)?;
        batch.validate()?;
        decode_batch(&batch, &mut entries)?;
        rest = tail;
    }
    Ok(entries)
}
// ANCHOR_END: decode_entries

/// Appends the entries of one validated batch to `out`.
fn decode_batch(batch: &RecordBatch, out: &mut Vec<(Offset, Entry)>) -> Result<(), EntriesError> {
    let epoch = batch.partition_leader_epoch();
    for record in batch.decode_records()? {
        let offset = record.offset;
        let entry = if batch.is_control() {
            let leader_id = decode_leader_change(offset, record.key.as_deref(), record.value.as_ref())?;
            Record::LeaderChange { leader_id }
        } else {
            Record::Data(record.value.ok_or(EntriesError::NullValue { offset })?.to_vec())
        };
        out.push((offset, Entry { epoch, record: entry }));
    }
    Ok(())
}

/// The new leader named by the control record at `offset`.
fn decode_leader_change(
    offset: Offset,
    key: Option<&[u8]>,
    value: Option<&Bytes>,
) -> Result<NodeId, EntriesError> {
    let Some(&[v0, v1, t0, t1]) = key else { return Err(EntriesError::BadControlKey { offset }) };
    if i16::from_be_bytes([v0, v1]) != CONTROL_KEY_VERSION {
        return Err(EntriesError::BadControlKey { offset });
    }
    let control_type = i16::from_be_bytes([t0, t1]);
    if control_type != LEADER_CHANGE_CONTROL_TYPE {
        return Err(EntriesError::UnexpectedControlType { offset, control_type });
    }
    let bad = |why: String| EntriesError::BadLeaderChange { offset, why };
    let mut value = value.cloned().ok_or_else(|| bad("no value".into()))?;
    let message =
        LeaderChangeMessage::decode(&mut value, LEADER_CHANGE_VERSION).map_err(|e| bad(e.to_string()))?;
    Ok(message.leader_id.0)
}

#[cfg(test)]
mod tests;
