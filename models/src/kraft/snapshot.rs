//! Snapshots in the KRaft model (KIP-630): a replica's state machine
//! snapshots its committed prefix, and a follower behind the leader's log
//! start installs it with FetchSnapshot, through the same core and
//! [`MemoryLog`] as everything else.
//!
//! The model's state machine is the log itself, so a snapshot's bytes are
//! the entries it stands for, three bytes each (epoch, kind, value): the
//! properties read a replica's whole log as its snapshot's entries followed
//! by its own ([`full_log`]), so a snapshot that lost or changed a committed
//! record breaks them like a log that did.

use spool::raft::{Entry, MemoryLog, Offset, RaftLog, RaftNode, Record};

/// The bytes of a snapshot of `entries`.
pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * 3);
    for entry in entries {
        let (kind, value) = match &entry.record {
            Record::LeaderChange { leader_id } => (0, *leader_id as u8),
            Record::Data(data) => (1, data.first().copied().unwrap_or_default()),
        };
        bytes.extend_from_slice(&[entry.epoch as u8, kind, value]);
    }
    bytes
}

/// The entries a snapshot's bytes stand for.
pub fn decode(bytes: &[u8]) -> Vec<Entry> {
    (bytes.chunks_exact(3))
        .map(|c| {
            let record = match c[1] {
                0 => Record::LeaderChange { leader_id: i32::from(c[2]) },
                _ => Record::Data(vec![c[2]]),
            };
            Entry { epoch: i32::from(c[0]), record }
        })
        .collect()
}

/// The log as the properties read it: the snapshot's entries below the log
/// start, then the log's own.
pub fn full_log(log: &MemoryLog) -> Vec<Entry> {
    let mut entries = match &log.snapshot {
        Some((_, bytes)) => decode(bytes),
        None => Vec::new(),
    };
    entries.truncate(log.start as usize);
    entries.extend(log.entries.iter().cloned());
    entries
}

/// Replica `node`'s state machine snapshots its committed prefix (at its
/// high watermark) and the log deletes what lies below it. `None` if no
/// snapshot may be taken there ([`RaftNode::snapshot_id`]).
pub fn take(node: &RaftNode, log: &mut MemoryLog) -> Option<Offset> {
    let id = node.snapshot_id(log, node.high_watermark)?;
    let prefix = full_log(log);
    log.create_snapshot(id, encode(&prefix[..id.end_offset as usize]));
    log.delete_before(id.end_offset);
    Some(id.end_offset)
}
