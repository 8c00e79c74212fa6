//! Producer-state snapshots: `<20-digit offset>.snapshot` files in Kafka's
//! format, and recovery from one (Kafka's `ProducerStateManager.writeSnapshot`,
//! `readSnapshot`, and `UnifiedLog.rebuildProducerState`).
//!
//! ```text
//!  offset  size  field                        (PID_SNAPSHOT_MAP_SCHEMA, version 1)
//!  0       2     version (int16) = 1
//!  2       4     crc (uint32): CRC-32C of every byte from offset 6 to the end
//!  6       4     producer_entries count (int32)
//!  10      46×n  producer_entries:
//!                  producer_id               int64
//!                  epoch                     int16
//!                  last_sequence             int32   -1 if no batch
//!                  last_offset               int64   -1 if no batch
//!                  offset_delta              int32   last batch's lastOffset - firstOffset
//!                  timestamp                 int64   the producer's last timestamp
//!                  coordinator_epoch         int32
//!                  current_txn_first_offset  int64   -1 if no open transaction
//! ```
//!
//! One entry per producer, holding its **last batch only**: a snapshot is
//! the state as of its offset, not a history. What happens after is in the log,
//! so recovery loads the latest snapshot and replays every batch from its
//! offset on ([`rebuild`]); the replay restores the last five batches of every
//! producer that wrote since. A producer that wrote nothing since the snapshot
//! comes back with one batch where it had five, and a retry of one of its older
//! four is then answered `OUT_OF_ORDER_SEQUENCE_NUMBER` instead of being
//! recognised as a duplicate. Kafka accepts that: it takes snapshots at segment
//! rolls and on clean shutdown, a retry across a broker restart meets a new
//! leader anyway (a follower rebuilt its five batches from replication), and
//! the Java client answers an out-of-order error on its oldest batch by failing
//! that batch and bumping its epoch (KIP-360) — never by writing it twice.

use bytes::{BufMut, Bytes, BytesMut};

use super::producer_state::txn::CompletedTxn;
use super::producer_state::{BatchMetadata, ProducerStateConfig, ProducerStateEntry, ProducerStateManager};
use crate::format::batch::RecordBatch;

/// The only snapshot version Kafka has written (`PRODUCER_SNAPSHOT_VERSION`).
pub const SNAPSHOT_VERSION: i16 = 1;
/// Bytes before the entries' count: version and crc. The crc covers the rest.
const CRC_COVERS_FROM: usize = 6;
const HEADER_SIZE: usize = CRC_COVERS_FROM + 4;
/// Size of one encoded producer entry.
pub const ENTRY_SIZE: usize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

/// The file name of the snapshot taken at `offset` (Kafka's
/// `LogFileUtils.producerSnapshotFile`), beside the segment files.
pub fn snapshot_file_name(offset: i64) -> String {
    format!("{offset:020}.snapshot")
}

/// The offset a snapshot file is named after, if `name` is one.
pub fn parse_snapshot_file_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".snapshot")?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Why bytes are not a snapshot. Kafka's `CorruptSnapshotException`: the
/// broker deletes the file and falls back to an older snapshot or to the log start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// Fewer bytes than the header or the entries promise.
    Truncated {
        needed: usize,
        available: usize,
    },
    UnsupportedVersion(i16),
    CrcMismatch {
        stored: u32,
        computed: u32,
    },
    /// A negative entry count.
    InvalidCount(i32),
    /// Bytes after the last entry. Kafka's reader would ignore them (the crc
    /// covers them); spool never writes them, so they mean damage.
    TrailingBytes(usize),
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Truncated { needed, available } => {
                write!(f, "truncated snapshot: needs {needed} bytes, {available} available")
            }
            SnapshotError::UnsupportedVersion(v) => write!(f, "unknown snapshot version {v}"),
            SnapshotError::CrcMismatch { stored, computed } => {
                write!(f, "snapshot crc mismatch: stored {stored}, computed {computed}")
            }
            SnapshotError::InvalidCount(n) => write!(f, "invalid snapshot entry count {n}"),
            SnapshotError::TrailingBytes(n) => write!(f, "{n} bytes after the last snapshot entry"),
        }
    }
}

impl std::error::Error for SnapshotError {}

// ANCHOR: encode
/// Encodes every producer of `state` (Kafka's `writeSnapshot`), by producer id.
pub fn encode_snapshot(state: &ProducerStateManager) -> Bytes {
    let count = state.producers().len();
    let mut buf = BytesMut::with_capacity(HEADER_SIZE + count * ENTRY_SIZE);
    buf.put_i16(SNAPSHOT_VERSION);
    buf.put_u32(0); // the crc, filled in below
    buf.put_i32(i32::try_from(count).expect("fewer than 2^31 producers on one partition"));
    for entry in state.producers() {
        buf.put_i64(entry.producer_id);
        buf.put_i16(entry.producer_epoch);
        buf.put_i32(entry.last_seq());
        buf.put_i64(entry.last_data_offset());
        buf.put_i32(entry.last_batch().map_or(0, |b| b.offset_delta));
        buf.put_i64(entry.last_timestamp);
        buf.put_i32(entry.coordinator_epoch);
        buf.put_i64(entry.current_txn_first_offset.unwrap_or(-1));
    }
    let crc = crc32c::crc32c(&buf[CRC_COVERS_FROM..]);
    buf[2..CRC_COVERS_FROM].copy_from_slice(&crc.to_be_bytes());
    buf.freeze()
}
// ANCHOR_END: encode

// ANCHOR: decode
/// Decodes a snapshot file (Kafka's `readSnapshot`). Anything malformed is an
/// error, whatever the bytes: this reads files a crash may have torn.
pub fn decode_snapshot(buf: &[u8]) -> Result<Vec<ProducerStateEntry>, SnapshotError> {
    let mut reader = Reader { buf, at: 0 };
    let version = reader.i16()?;
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::UnsupportedVersion(version));
    }
    let stored = reader.i32()? as u32;
    let computed = crc32c::crc32c(&buf[CRC_COVERS_FROM..]);
    if stored != computed {
        return Err(SnapshotError::CrcMismatch { stored, computed });
    }
    let count = reader.i32()?;
    let count = usize::try_from(count).map_err(|_| SnapshotError::InvalidCount(count))?;
    // Checked before allocating: a count read off a damaged file can be huge.
    let needed = count.checked_mul(ENTRY_SIZE).and_then(|n| n.checked_add(HEADER_SIZE)).unwrap_or(usize::MAX);
    if buf.len() < needed {
        return Err(SnapshotError::Truncated { needed, available: buf.len() });
    }
    if buf.len() > needed {
        return Err(SnapshotError::TrailingBytes(buf.len() - needed));
    }
    (0..count).map(|_| reader.entry()).collect()
}
// ANCHOR_END: decode

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let available = self.buf.len();
        let bytes = self
            .buf
            .get(self.at..self.at + N)
            .ok_or(SnapshotError::Truncated { needed: self.at + N, available })?;
        self.at += N;
        Ok(bytes.try_into().expect("N bytes"))
    }
    fn i16(&mut self) -> Result<i16, SnapshotError> {
        self.take().map(i16::from_be_bytes)
    }
    fn i32(&mut self) -> Result<i32, SnapshotError> {
        self.take().map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Result<i64, SnapshotError> {
        self.take().map(i64::from_be_bytes)
    }

    fn entry(&mut self) -> Result<ProducerStateEntry, SnapshotError> {
        let producer_id = self.i64()?;
        let producer_epoch = self.i16()?;
        let last_seq = self.i32()?;
        let last_offset = self.i64()?;
        let offset_delta = self.i32()?;
        let timestamp = self.i64()?;
        let coordinator_epoch = self.i32()?;
        let txn_first_offset = self.i64()?;
        // As Kafka: a negative last offset means the producer had no batch
        // (only a transaction marker), and a negative transaction offset none open.
        let last_batch =
            (last_offset >= 0).then_some(BatchMetadata { last_seq, last_offset, offset_delta, timestamp });
        Ok(ProducerStateEntry::from_parts(
            producer_id,
            producer_epoch,
            last_batch,
            coordinator_epoch,
            timestamp,
            (txn_first_offset >= 0).then_some(txn_first_offset),
        ))
    }
}

// ANCHOR: rebuild
/// Recovery's producer table: the snapshot taken at `snapshot` = (offset,
/// bytes), if there is one, then every batch of the log that ends at or after
/// that offset, in log order (Kafka's `rebuildProducerState`). Without a
/// snapshot the whole log is replayed. A corrupt snapshot is an error: the
/// caller deletes it and calls again with an older one, or none.
pub fn rebuild<'a>(
    config: ProducerStateConfig,
    snapshot: Option<(i64, &[u8])>,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
    now_ms: i64,
) -> Result<ProducerStateManager, SnapshotError> {
    let mut state = ProducerStateManager::new(config);
    let mut from_offset = i64::MIN;
    if let Some((offset, bytes)) = snapshot {
        state.load_snapshot(offset, decode_snapshot(bytes)?, now_ms);
        from_offset = offset;
    }
    replay(&mut state, from_offset, batches);
    Ok(state)
}
// ANCHOR_END: rebuild

/// The replay half of [`rebuild`], for a caller that reads the log a piece at
/// a time (the log reads it a megabyte at a time, not all at once): applies
/// every batch that ends at or after `from_offset`, in log order, data
/// batches and transaction markers alike. Returns the transactions the
/// markers ended (chapter 9): recovery rebuilds the `.txnindex` from them.
pub fn replay<'a>(
    state: &mut ProducerStateManager,
    from_offset: i64,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
) -> Vec<CompletedTxn> {
    let mut completed = Vec::new();
    for batch in batches {
        if batch.last_offset() >= from_offset {
            completed.extend(state.apply(batch));
        }
    }
    completed
}

#[cfg(test)]
mod tests;
