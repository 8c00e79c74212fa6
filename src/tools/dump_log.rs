//! `spool dump-log`: prints segment and index files as Kafka's
//! `kafka-dump-log.sh` (`DumpLogSegments`) prints them.
//!
//! ```text
//! $ spool dump-log --files data/orders-0/00000000000000000000.log --print-data-log
//! Dumping data/orders-0/00000000000000000000.log
//! Log starting offset: 0
//! baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 …
//! | offset: 0 CreateTime: 1700000000000 keySize: 1 valueSize: 5 sequence: -1 headerKeys: [] key: k payload: hello
//! ```
//!
//! A producer-state snapshot (`<offset>.snapshot`, chapter 8) prints one line
//! per producer, as Kafka 3.x prints it:
//!
//! ```text
//! producerId: 1004 producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 1706471404037 firstSequence: 370 lastSequence: 371 lastOffset: 371 offsetDelta: 1 timestamp: 1706471404037
//! ```
//!
//! The partition's `leader-epoch-checkpoint` (chapter 6), which Kafka's tool
//! ignores, prints one `leaderEpoch: 4 startOffset: 0` line per epoch.
//!
//! Unlike Kafka's tool, which prints what it can and exits 0, spool's exits
//! non-zero when a file is corrupt, after saying where and why: a script can
//! then tell a healthy segment from a damaged one.

use std::fmt::Write as _;
use std::path::Path;

use bytes::Bytes;

use crate::format::batch::{batch_size, RecordBatch};
use crate::log::index::{OffsetIndex, TimeIndex};
use crate::replication::{decode_checkpoint, LEADER_EPOCH_CHECKPOINT_FILE};

/// What to print.
#[derive(Debug, Clone, Copy, Default)]
pub struct DumpOptions {
    /// Print every record, not only batch headers (`--deep-iteration`).
    pub deep_iteration: bool,
    /// Also print keys and values as UTF-8 (`--print-data-log`; implies deep iteration).
    pub print_data_log: bool,
}

/// The result of dumping one file: the text, and the problems found.
#[derive(Debug, Default)]
pub struct Dump {
    pub output: String,
    pub errors: Vec<String>,
}

/// Dumps one `.log`, `.index`, `.timeindex`, `.snapshot` or `leader-epoch-checkpoint` file.
pub fn dump_file(path: &Path, options: DumpOptions) -> Dump {
    let mut dump = Dump::default();
    let _ = writeln!(dump.output, "Dumping {}", path.display());
    let data = match std::fs::read(path) {
        Ok(data) => Bytes::from(data),
        Err(e) => {
            dump.errors.push(format!("{}: cannot read: {e}", path.display()));
            return dump;
        }
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let base_offset = name.split('.').next().and_then(|s| s.parse::<i64>().ok());
    match (name.rsplit('.').next(), base_offset) {
        _ if name == LEADER_EPOCH_CHECKPOINT_FILE => dump_leader_epochs(&mut dump, path, &data),
        (Some("log"), Some(base)) => dump_log(&mut dump, path, base, data, options),
        (Some("index"), Some(base)) => dump_offset_index(&mut dump, path, base, &data),
        (Some("timeindex"), Some(base)) => dump_time_index(&mut dump, path, base, &data),
        (Some("snapshot"), Some(_)) => dump_producer_snapshot(&mut dump, path, &data),
        _ => dump.errors.push(format!(
            "{}: not a segment file (expected <20-digit offset>.log, .index, .timeindex or .snapshot, \
             or leader-epoch-checkpoint)",
            path.display()
        )),
    }
    dump
}

fn dump_log(dump: &mut Dump, path: &Path, base: i64, data: Bytes, options: DumpOptions) {
    let deep = options.deep_iteration || options.print_data_log;
    let _ = writeln!(dump.output, "Log starting offset: {base}");
    let mut position = 0usize;
    while position < data.len() {
        let rest = data.slice(position..);
        let size = match batch_size(&rest) {
            Some(Ok(size)) if size <= rest.len() => size,
            Some(Err(e)) => {
                dump.errors.push(format!("{}: at position {position}: {e}", path.display()));
                break;
            }
            _ => {
                let msg = format!("Found {} invalid bytes at the end of {}", rest.len(), file_name(path));
                let _ = writeln!(dump.output, "{msg}");
                dump.errors.push(format!("{}: truncated batch at position {position}", path.display()));
                break;
            }
        };
        let (batch, _) = RecordBatch::parse(&rest).expect("size checked above");
        let valid = batch.validate();
        write_batch_line(&mut dump.output, &batch, position, valid.is_ok());
        if let Err(e) = valid {
            dump.errors.push(format!("{}: batch at position {position}: {e}", path.display()));
        } else if deep {
            write_records(dump, path, &batch, position, options.print_data_log);
        }
        position += size;
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn write_batch_line(out: &mut String, batch: &RecordBatch, position: usize, valid: bool) {
    let horizon = if batch.has_delete_horizon() {
        format!("OptionalLong[{}]", batch.base_timestamp())
    } else {
        "OptionalLong.empty".to_string()
    };
    let codec = batch.compression().map_or("unknown", |c| c.name());
    let _ = writeln!(
        out,
        "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} \
         producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} deleteHorizonMs: {} \
         position: {} {}: {} size: {} magic: {} compresscodec: {} crc: {} isvalid: {}",
        batch.base_offset(),
        batch.last_offset(),
        batch.records_count(),
        batch.base_sequence(),
        batch.last_sequence(),
        batch.producer_id(),
        batch.producer_epoch(),
        batch.partition_leader_epoch(),
        batch.is_transactional(),
        batch.is_control(),
        horizon,
        position,
        batch.timestamp_type().name(),
        batch.max_timestamp(),
        batch.size_in_bytes(),
        batch.magic(),
        codec,
        batch.crc(),
        valid,
    );
}

fn write_records(dump: &mut Dump, path: &Path, batch: &RecordBatch, position: usize, print_data: bool) {
    let records = match batch.decode_records() {
        Ok(records) => records,
        Err(e) => {
            dump.errors.push(format!("{}: records of the batch at position {position}: {e}", path.display()));
            return;
        }
    };
    let ts_type = batch.timestamp_type().name();
    for r in records {
        let size = |b: &Option<Bytes>| b.as_ref().map_or(-1, |b| b.len() as i64);
        let keys: Vec<&str> = r.headers.iter().map(|h| h.key.as_str()).collect();
        let _ = write!(
            dump.output,
            "| offset: {} {ts_type}: {} keySize: {} valueSize: {} sequence: {} headerKeys: [{}]",
            r.offset,
            r.timestamp,
            size(&r.key),
            size(&r.value),
            r.sequence,
            keys.join(","),
        );
        if print_data && !batch.is_control() {
            if let Some(key) = &r.key {
                let _ = write!(dump.output, " key: {}", String::from_utf8_lossy(key));
            }
            if let Some(value) = &r.value {
                let _ = write!(dump.output, " payload: {}", String::from_utf8_lossy(value));
            }
        }
        dump.output.push('\n');
    }
}

fn dump_offset_index(dump: &mut Dump, path: &Path, base: i64, data: &[u8]) {
    match OffsetIndex::parse(base, usize::MAX, data) {
        Some(index) => {
            for e in index.entries() {
                let _ = writeln!(dump.output, "offset: {} position: {}", e.offset, e.position);
            }
        }
        None => dump.errors.push(format!(
            "{}: corrupt offset index: {} bytes is not a whole number of 8-byte entries, \
             or the entries do not increase",
            path.display(),
            data.len()
        )),
    }
}

fn dump_time_index(dump: &mut Dump, path: &Path, base: i64, data: &[u8]) {
    match TimeIndex::parse(base, usize::MAX, data) {
        Some(index) => {
            for e in index.entries() {
                let _ = writeln!(dump.output, "timestamp: {} offset: {}", e.timestamp, e.offset);
            }
        }
        None => dump.errors.push(format!(
            "{}: corrupt time index: {} bytes is not a whole number of 12-byte entries, \
             or the timestamps do not increase",
            path.display(),
            data.len()
        )),
    }
}

/// A producer-state snapshot, one producer per line (Kafka's `dumpProducerIdSnapshot`).
fn dump_producer_snapshot(dump: &mut Dump, path: &Path, data: &[u8]) {
    let entries = match crate::idempotence::decode_snapshot(data) {
        Ok(entries) => entries,
        Err(e) => return dump.errors.push(format!("{}: corrupt producer snapshot: {e}", path.display())),
    };
    for e in entries {
        let txn = e
            .current_txn_first_offset
            .map_or("OptionalLong.empty".to_string(), |o| format!("OptionalLong[{o}]"));
        let _ = write!(
            dump.output,
            "producerId: {} producerEpoch: {} coordinatorEpoch: {} currentTxnFirstOffset: {txn} lastTimestamp: {} ",
            e.producer_id, e.producer_epoch, e.coordinator_epoch, e.last_timestamp
        );
        if let Some(b) = e.batches().next() {
            let _ = write!(
                dump.output,
                "firstSequence: {} lastSequence: {} lastOffset: {} offsetDelta: {} timestamp: {}",
                b.first_seq(),
                b.last_seq,
                b.last_offset,
                b.offset_delta,
                b.timestamp
            );
        }
        dump.output.push('\n');
    }
}

/// The leader epoch cache, one epoch and its start offset per line.
fn dump_leader_epochs(dump: &mut Dump, path: &Path, data: &[u8]) {
    let cache = match decode_checkpoint(data) {
        Ok(cache) => cache,
        Err(e) => {
            return dump.errors.push(format!("{}: corrupt leader-epoch-checkpoint: {e}", path.display()))
        }
    };
    for entry in cache.entries() {
        let _ = writeln!(dump.output, "leaderEpoch: {} startOffset: {}", entry.epoch, entry.start_offset);
    }
}
