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
//! An aborted-transaction index (`<offset>.txnindex`, chapter 9) prints one
//! `version: 0 producerId: … firstOffset: … lastOffset: … lastStableOffset: …`
//! line per aborted transaction (`txn_index.rs`).
//!
//! The partition's `leader-epoch-checkpoint` (chapter 6), which Kafka's tool
//! ignores, prints one `leaderEpoch: 4 startOffset: 0` line per epoch.
//!
//! With `--deep-iteration`, a control record's line ends with what it marks
//! (`controlType: LEADER_CHANGE(2)`, `endTxnMarker: COMMIT coordinatorEpoch: 0`;
//! `control.rs`). With `--cluster-metadata-decoder` (chapter 7), each record of
//! the controllers' `__cluster_metadata-0` prints its payload as Kafka's JSON
//! ([`metadata_json`]):
//!
//! ```text
//! $ spool dump-log --cluster-metadata-decoder --files data/__cluster_metadata-0/00000000000000000000.log
//! …
//! | offset: 1 CreateTime: 1700000000000 keySize: -1 valueSize: 31 sequence: -1 headerKeys: [] payload: {"type":"TOPIC_RECORD","version":0,"data":{"name":"orders","topicId":"AAAAAAAAAAAAAAAAAAAAAQ"}}
//! ```
//!
//! Unlike Kafka's tool, which prints what it can and exits 0, spool's exits
//! non-zero when a file is corrupt, after saying where and why: a script can
//! then tell a healthy segment from a damaged one. A metadata record spool
//! cannot decode counts as damage: it prints Kafka's `Error at <offset>,
//! skipping. <why>` in place of the payload, and fails the tool.
//!
//! A metadata snapshot (`<end offset>-<epoch>.checkpoint`, issue 14 §2,
//! [`crate::metadata::snapshot`]) prints like a segment, after Kafka's
//! `Snapshot end offset: 42, epoch: 3` line; with `--deep-iteration` its
//! header and footer control records print as Kafka's JSON
//! (`SnapshotHeader {"version":0,"lastContainedLogTimestamp":…}`), and with
//! `--cluster-metadata-decoder` its records as above. Beyond Kafka's tool,
//! a snapshot whose batches are all sound but which is not a whole snapshot
//! (no header, no footer, a gap in its offsets) is reported as damaged.

use std::fmt::Write as _;
use std::path::Path;

use bytes::Bytes;

use crate::format::batch::{batch_size, RecordBatch};
use crate::metadata::snapshot::{check_snapshot_layout, SnapshotId};
use crate::replication::LEADER_EPOCH_CHECKPOINT_FILE;
use state_files::{dump_leader_epochs, dump_offset_index, dump_producer_snapshot, dump_time_index};

mod control;
pub mod metadata_json;
mod state_files;
mod txn_index;

/// What to print.
#[derive(Debug, Clone, Copy, Default)]
pub struct DumpOptions {
    /// Print every record, not only batch headers (`--deep-iteration`).
    pub deep_iteration: bool,
    /// Also print keys and values as UTF-8 (`--print-data-log`; implies deep iteration).
    pub print_data_log: bool,
    /// Print values as metadata records in Kafka's JSON
    /// (`--cluster-metadata-decoder`; implies `--print-data-log`).
    pub cluster_metadata_decoder: bool,
}

/// The result of dumping one file: the text, and the problems found.
#[derive(Debug, Default)]
pub struct Dump {
    pub output: String,
    pub errors: Vec<String>,
}

/// Dumps one `.log`, `.index`, `.timeindex`, `.txnindex`, `.snapshot`, `.checkpoint` or
/// `leader-epoch-checkpoint` file.
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
        (Some("log"), Some(base)) => {
            let _ = writeln!(dump.output, "Log starting offset: {base}");
            dump_log(&mut dump, path, data, options);
        }
        (Some("checkpoint"), _) => dump_metadata_snapshot(&mut dump, path, &name, data, options),
        (Some("index"), Some(base)) => dump_offset_index(&mut dump, path, base, &data),
        (Some("timeindex"), Some(base)) => dump_time_index(&mut dump, path, base, &data),
        (Some("snapshot"), Some(_)) => dump_producer_snapshot(&mut dump, path, &data),
        (Some("txnindex"), Some(base)) => txn_index::dump_txn_index(&mut dump, path, base, &data),
        _ => dump.errors.push(format!(
            "{}: not a segment file (expected <20-digit offset>.log, .index, .timeindex, .txnindex or \
             .snapshot, <offset>-<epoch>.checkpoint, or leader-epoch-checkpoint)",
            path.display()
        )),
    }
    dump
}

/// A metadata snapshot: Kafka's id line, its batches as a segment's, and
/// whether it is a whole snapshot.
fn dump_metadata_snapshot(dump: &mut Dump, path: &Path, name: &str, data: Bytes, options: DumpOptions) {
    if name == "bootstrap.checkpoint" {
        let _ = writeln!(dump.output, "KRaft bootstrap snapshot");
    } else if let Some(id) = SnapshotId::from_file_name(name) {
        let _ = writeln!(dump.output, "Snapshot end offset: {}, epoch: {}", id.end_offset, id.epoch);
    } else {
        let why = "not a snapshot file name (expected <20-digit offset>-<10-digit epoch>.checkpoint)";
        dump.errors.push(format!("{}: {why}", path.display()));
        return;
    }
    dump_log(dump, path, data.clone(), options);
    if dump.errors.is_empty() {
        if let Err(e) = check_snapshot_layout(&data) {
            dump.errors.push(format!("{}: {e}", path.display()));
        }
    }
}

fn dump_log(dump: &mut Dump, path: &Path, data: Bytes, options: DumpOptions) {
    let print_data = options.print_data_log || options.cluster_metadata_decoder;
    let deep = options.deep_iteration || print_data;
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
            let payloads = match (print_data, options.cluster_metadata_decoder) {
                (false, _) => Payloads::None,
                (true, false) => Payloads::Utf8,
                (true, true) => Payloads::Metadata,
            };
            write_records(dump, path, &batch, position, payloads);
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

/// How record keys and values are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payloads {
    /// Not at all (`--deep-iteration`).
    None,
    /// ` key: … payload: …` as UTF-8 (`--print-data-log`).
    Utf8,
    /// ` payload: {"type":…}` (`--cluster-metadata-decoder`).
    Metadata,
}

fn write_records(dump: &mut Dump, path: &Path, batch: &RecordBatch, position: usize, payloads: Payloads) {
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
        let (key, value) = (r.key.as_deref(), r.value.as_deref());
        let at = |why: String| format!("{}: record at offset {}: {why}", path.display(), r.offset);
        if batch.is_control() {
            match control::describe(key, value) {
                Ok(marker) => dump.output.push_str(&marker),
                Err(why) => dump.errors.push(at(why)),
            }
        } else if payloads == Payloads::Metadata {
            // Kafka's metadata parser prints no key.
            match metadata_json::payload(r.offset, value) {
                Ok(json) => push_field(&mut dump.output, "payload", &json),
                Err((shown, why)) => {
                    push_field(&mut dump.output, "payload", &shown);
                    dump.errors.push(at(why));
                }
            }
        } else if payloads == Payloads::Utf8 {
            if let Some(key) = key {
                push_field(&mut dump.output, "key", &String::from_utf8_lossy(key));
            }
            if let Some(value) = value {
                push_field(&mut dump.output, "payload", &String::from_utf8_lossy(value));
            }
        }
        dump.output.push('\n');
    }
}

fn push_field(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}: {value}");
}
