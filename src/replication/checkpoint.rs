//! The `leader-epoch-checkpoint` file, as bytes: Kafka's text format, so a
//! partition directory written by spool reads like Kafka's.
//!
//! ```text
//! 0          version
//! 3          number of entries
//! 0 0        epoch start_offset
//! 2 3
//! 5 5
//! ```
//!
//! Encoding and decoding are pure functions; the driver writes the file (whole,
//! through a temporary file and a rename, like the log's offset checkpoints)
//! whenever [`LeaderEpochCache::assign`] or a
//! truncation changes the cache.

use std::fmt;

use super::epoch_cache::{EpochEntry, LeaderEpochCache};

/// The only version Kafka writes.
pub const CHECKPOINT_VERSION: i32 = 0;

/// The file name, in each partition's directory.
pub const LEADER_EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

/// Why a checkpoint could not be read. The broker logs it and treats the
/// partition's directory as corrupt (a KAFKA_STORAGE_ERROR): guessing the
/// epochs would let a follower keep records the leader does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    /// Not UTF-8.
    NotText,
    /// The first line is not `0`.
    UnsupportedVersion(String),
    /// The count line is not a non-negative number.
    BadCount(String),
    /// An entry line is not two numbers separated by one space.
    MalformedLine { line_number: usize, line: String },
    /// An entry goes back: its epoch or start offset is not above the previous one's, or is negative.
    OutOfOrder(EpochEntry),
    /// The count line promised a different number of entries.
    WrongCount { expected: usize, found: usize },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::NotText => write!(f, "leader-epoch-checkpoint is not text"),
            CheckpointError::UnsupportedVersion(v) => write!(f, "unsupported checkpoint version {v:?}"),
            CheckpointError::BadCount(c) => write!(f, "bad entry count {c:?}"),
            CheckpointError::MalformedLine { line_number, line } => {
                write!(f, "malformed entry on line {line_number}: {line:?}")
            }
            CheckpointError::OutOfOrder(e) => {
                write!(f, "epoch {} at offset {} is out of order", e.epoch, e.start_offset)
            }
            CheckpointError::WrongCount { expected, found } => {
                write!(f, "expected {expected} entries, found {found}")
            }
        }
    }
}

impl std::error::Error for CheckpointError {}

/// The file's contents for `cache`.
pub fn encode_checkpoint(cache: &LeaderEpochCache) -> String {
    let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", cache.entries().len());
    for entry in cache.entries() {
        text.push_str(&format!("{} {}\n", entry.epoch, entry.start_offset));
    }
    text
}

/// The cache a checkpoint file holds. Every line is checked; anything but
/// Kafka's format is an error, never a silently shorter cache.
pub fn decode_checkpoint(bytes: &[u8]) -> Result<LeaderEpochCache, CheckpointError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CheckpointError::NotText)?;
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("");
    if version.trim() != CHECKPOINT_VERSION.to_string() {
        return Err(CheckpointError::UnsupportedVersion(version.to_string()));
    }
    let count = lines.next().unwrap_or("");
    let expected: usize = count.trim().parse().map_err(|_| CheckpointError::BadCount(count.to_string()))?;
    let mut entries = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let malformed = || CheckpointError::MalformedLine { line_number: i + 3, line: line.to_string() };
        let (epoch, offset) = line.split_once(' ').ok_or_else(malformed)?;
        let epoch = epoch.parse().map_err(|_| malformed())?;
        let start_offset = offset.parse().map_err(|_| malformed())?;
        entries.push(EpochEntry { epoch, start_offset });
    }
    if entries.len() != expected {
        return Err(CheckpointError::WrongCount { expected, found: entries.len() });
    }
    LeaderEpochCache::from_entries(entries).map_err(CheckpointError::OutOfOrder)
}
