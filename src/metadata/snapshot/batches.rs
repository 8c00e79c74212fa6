//! A snapshot's bytes: a header control batch, data batches of metadata
//! records, a footer control batch — Kafka's `RecordsSnapshotWriter` layout.
//! Pure functions over bytes; the file handling is in `snapshot.rs`.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{SnapshotFooterRecord, SnapshotHeaderRecord};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::{SnapshotError, SnapshotId};
use crate::format::batch::batch_size;
use crate::format::record::Record;
use crate::format::{BatchBuilder, RecordBatch, RecordBatchMut};
use crate::metadata::{DecodeError, MetadataRecord};
use crate::raft::batches::BATCH_BYTES_MAX;
use crate::raft::Offset;

/// `ControlRecordType.SNAPSHOT_HEADER`.
pub const SNAPSHOT_HEADER_CONTROL_TYPE: i16 = 3;
/// `ControlRecordType.SNAPSHOT_FOOTER`.
pub const SNAPSHOT_FOOTER_CONTROL_TYPE: i16 = 4;
/// KIP-853's `KRAFT_VERSION` and `KRAFT_VOTERS`: a Kafka 3.9 writer may put
/// them after the header; spool skips them.
const KRAFT_VERSION_CONTROL_TYPE: i16 = 5;
const KRAFT_VOTERS_CONTROL_TYPE: i16 = 6;
/// The control record key's version, and the header's and footer's.
const CONTROL_VERSION: i16 = 0;

/// What a snapshot file holds, decoded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedSnapshot {
    /// The header's `lastContainedLogTimestamp`.
    pub last_contained_log_timestamp_ms: i64,
    /// The data records, with their offsets within the snapshot.
    pub records: Vec<(Offset, MetadataRecord)>,
}

// ANCHOR: encode_snapshot
/// Snapshot `id` of `records` as Kafka lays it out: a SnapshotHeaderRecord
/// control batch at offset 0, the records in data batches from offset 1 (a
/// batch is cut past [`BATCH_BYTES_MAX`]), a SnapshotFooterRecord control
/// batch last. Every batch carries the snapshot's epoch; timestamps are `now_ms`.
pub fn encode_snapshot(
    id: SnapshotId,
    records: &[MetadataRecord],
    last_contained_log_timestamp_ms: i64,
    now_ms: i64,
) -> BytesMut {
    let values: Vec<Vec<u8>> = records.iter().map(MetadataRecord::encode).collect();
    encode_cut_at(id, &values, last_contained_log_timestamp_ms, now_ms, BATCH_BYTES_MAX)
}
// ANCHOR_END: encode_snapshot

/// [`encode_snapshot`] of encoded record `values`, with data batches cut
/// past `batch_bytes_max`.
pub(super) fn encode_cut_at(
    id: SnapshotId,
    values: &[Vec<u8>],
    last_contained_log_timestamp_ms: i64,
    now_ms: i64,
    batch_bytes_max: usize,
) -> BytesMut {
    let mut out = Out { bytes: BytesMut::new(), next_offset: 0, epoch: id.epoch };
    let header = SnapshotHeaderRecord::default()
        .with_version(CONTROL_VERSION)
        .with_last_contained_log_timestamp(last_contained_log_timestamp_ms);
    out.push(&control_batch(SNAPSHOT_HEADER_CONTROL_TYPE, &header, now_ms));
    let mut builder = BatchBuilder::default();
    for value in values {
        if !builder.is_empty() && builder.estimated_size() >= batch_bytes_max {
            out.push(&builder.build());
            builder = BatchBuilder::default();
        }
        builder.append(now_ms, None, Some(value), &[]);
    }
    if !builder.is_empty() {
        out.push(&builder.build());
    }
    let footer = SnapshotFooterRecord::default().with_version(CONTROL_VERSION);
    out.push(&control_batch(SNAPSHOT_FOOTER_CONTROL_TYPE, &footer, now_ms));
    out.bytes
}

/// The batches written so far, and where the next one goes.
struct Out {
    bytes: BytesMut,
    next_offset: Offset,
    epoch: i32,
}

impl Out {
    /// Appends `batch` at the next offset, stamped with the snapshot's epoch.
    fn push(&mut self, batch: &RecordBatch) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(batch.as_bytes());
        let mut header =
            RecordBatchMut::new(&mut self.bytes[start..]).expect("the builder frames one whole batch");
        header.set_base_offset(self.next_offset);
        header.set_partition_leader_epoch(self.epoch);
        self.next_offset += Offset::from(batch.records_count());
    }
}

/// A control batch of one record: key (version, type), value the message.
fn control_batch<M: Encodable>(control_type: i16, message: &M, now_ms: i64) -> RecordBatch {
    let mut value = BytesMut::new();
    message.encode(&mut value, CONTROL_VERSION).expect("version 0 encodes");
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&CONTROL_VERSION.to_be_bytes());
    key.extend_from_slice(&control_type.to_be_bytes());
    let mut builder = BatchBuilder::default().control(true);
    builder.append(now_ms, Some(&key), Some(&value), &[]);
    builder.build()
}

/// Where the reader is: before the header, in the body (with the header's
/// timestamp, and whether a data record came yet), past the footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    BeforeHeader,
    Body { last_contained_log_timestamp_ms: i64, data_seen: bool },
    AfterFooter { last_contained_log_timestamp_ms: i64 },
}

// ANCHOR: decode_snapshot
/// Decodes and checks a snapshot's bytes: every batch whole and its CRC
/// right, offsets consecutive from 0, a header first and a footer last, and
/// every data record a metadata record spool reads.
pub fn decode_snapshot(bytes: &[u8]) -> Result<DecodedSnapshot, SnapshotError> {
    let mut records = Vec::new();
    let last_contained_log_timestamp_ms = walk(bytes, |offset, value| {
        let record =
            MetadataRecord::decode(&value).map_err(|error| SnapshotError::Record { offset, error })?;
        records.push((offset, record));
        Ok(())
    })?;
    Ok(DecodedSnapshot { last_contained_log_timestamp_ms, records })
}
// ANCHOR_END: decode_snapshot

/// Checks a snapshot's framing only — batches, CRCs, offsets, header,
/// footer — and not what its data records say: a dump of a snapshot written
/// by Kafka, with record types spool does not read, is still whole.
pub fn check_snapshot_layout(bytes: &[u8]) -> Result<(), SnapshotError> {
    walk(bytes, |_, _| Ok(())).map(|_| ())
}

/// Walks a snapshot's batches, checking its framing, and hands each data
/// record's value to `data`. Returns the header's `lastContainedLogTimestamp`.
fn walk(
    bytes: &[u8],
    mut data: impl FnMut(Offset, Bytes) -> Result<(), SnapshotError>,
) -> Result<i64, SnapshotError> {
    let mut rest = Bytes::copy_from_slice(bytes);
    let (mut position, mut expected) = (0usize, 0 as Offset);
    let mut stage = Stage::BeforeHeader;
    while !rest.is_empty() {
        let corrupt = |error| SnapshotError::CorruptBatch { position, error };
        let size = match batch_size(&rest) {
            Some(Ok(size)) if size <= rest.len() => size,
            Some(Err(error)) => return Err(corrupt(error)),
            _ => return Err(SnapshotError::Truncated { position }),
        };
        let (batch, tail) = RecordBatch::parse(&rest).map_err(corrupt)?;
        batch.validate().map_err(corrupt)?;
        if let Stage::AfterFooter { .. } = stage {
            return Err(SnapshotError::AfterFooter { offset: batch.base_offset() });
        }
        if batch.base_offset() != expected {
            return Err(SnapshotError::OffsetGap { expected, found: batch.base_offset() });
        }
        for record in batch.decode_records().map_err(corrupt)? {
            stage = step(&batch, record, stage, &mut data)?;
        }
        expected = batch.next_offset();
        position += size;
        rest = tail;
    }
    match stage {
        Stage::BeforeHeader => Err(SnapshotError::MissingHeader),
        Stage::Body { .. } => Err(SnapshotError::MissingFooter),
        Stage::AfterFooter { last_contained_log_timestamp_ms } => Ok(last_contained_log_timestamp_ms),
    }
}

/// Takes one record of a checked batch; returns the stage after it.
fn step(
    batch: &RecordBatch,
    record: Record,
    stage: Stage,
    data: &mut impl FnMut(Offset, Bytes) -> Result<(), SnapshotError>,
) -> Result<Stage, SnapshotError> {
    let offset = record.offset;
    let (ts, data_seen) = match stage {
        Stage::AfterFooter { .. } => return Err(SnapshotError::AfterFooter { offset }),
        Stage::BeforeHeader => (None, false),
        Stage::Body { last_contained_log_timestamp_ms, data_seen } => {
            (Some(last_contained_log_timestamp_ms), data_seen)
        }
    };
    if !batch.is_control() {
        let ts = ts.ok_or(SnapshotError::MissingHeader)?;
        let null = DecodeError::UnexpectedNull("record value");
        data(offset, record.value.ok_or(SnapshotError::Record { offset, error: null })?)?;
        return Ok(Stage::Body { last_contained_log_timestamp_ms: ts, data_seen: true });
    }
    let bad = |why: String| SnapshotError::BadControlRecord { offset, why };
    let control_type = control_type(record.key.as_deref()).map_err(bad)?;
    let mut value = record.value.clone().unwrap_or_default();
    match (ts, control_type) {
        (None, SNAPSHOT_HEADER_CONTROL_TYPE) => {
            let header = SnapshotHeaderRecord::decode(&mut value, CONTROL_VERSION)
                .map_err(|e| bad(format!("SnapshotHeaderRecord: {e}")))?;
            let ts = header.last_contained_log_timestamp;
            Ok(Stage::Body { last_contained_log_timestamp_ms: ts, data_seen: false })
        }
        (None, _) => Err(SnapshotError::MissingHeader),
        (Some(ts), SNAPSHOT_FOOTER_CONTROL_TYPE) => {
            SnapshotFooterRecord::decode(&mut value, CONTROL_VERSION)
                .map_err(|e| bad(format!("SnapshotFooterRecord: {e}")))?;
            Ok(Stage::AfterFooter { last_contained_log_timestamp_ms: ts })
        }
        // KIP-853's records sit between the header and the data.
        (Some(_), KRAFT_VERSION_CONTROL_TYPE | KRAFT_VOTERS_CONTROL_TYPE) if !data_seen => Ok(stage),
        (_, other) => Err(bad(format!("unexpected control type {other}"))),
    }
}

/// The type in a control record's key (version int16, type int16).
fn control_type(key: Option<&[u8]>) -> Result<i16, String> {
    match key {
        Some(&[v0, v1, t0, t1]) if i16::from_be_bytes([v0, v1]) == CONTROL_VERSION => {
            Ok(i16::from_be_bytes([t0, t1]))
        }
        other => Err(format!("control key {other:?} is not (version 0, type)")),
    }
}
