//! The files beside a partition's segments: the offset and time indexes, the
//! producer-state snapshots (chapter 8) and the `leader-epoch-checkpoint`
//! (chapter 6), each printed one entry per line as Kafka's `DumpLogSegments`
//! prints them (the checkpoint, which Kafka's tool ignores, in the same spirit).

use std::fmt::Write as _;
use std::path::Path;

use super::Dump;
use crate::log::index::{OffsetIndex, TimeIndex};
use crate::replication::decode_checkpoint;

pub(super) fn dump_offset_index(dump: &mut Dump, path: &Path, base: i64, data: &[u8]) {
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

pub(super) fn dump_time_index(dump: &mut Dump, path: &Path, base: i64, data: &[u8]) {
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
pub(super) fn dump_producer_snapshot(dump: &mut Dump, path: &Path, data: &[u8]) {
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
pub(super) fn dump_leader_epochs(dump: &mut Dump, path: &Path, data: &[u8]) {
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
