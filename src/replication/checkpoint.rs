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
//! The text is the checkpoint codec every checkpoint file shares
//! ([`crate::format::checkpoint`]); this file gives it the `epoch start_offset`
//! line (Kafka's `LeaderEpochCheckpointFile.Formatter`) and checks what only an
//! epoch cache can: that the entries go up. Encoding and decoding are pure
//! functions; the driver writes the file (whole, through a temporary file and
//! a rename, like the log's offset checkpoints) whenever
//! [`LeaderEpochCache::assign`] or a truncation changes the cache.

use std::fmt;

use super::epoch_cache::{EpochEntry, LeaderEpochCache};
use crate::format::checkpoint::{self as codec, CheckpointEntry};

/// The only version Kafka writes.
pub const CHECKPOINT_VERSION: i32 = 0;

/// The file name, in each partition's directory.
pub const LEADER_EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

/// Why a checkpoint could not be read. The broker logs it and treats the
/// partition's directory as corrupt (a KAFKA_STORAGE_ERROR): guessing the
/// epochs would let a follower keep records the leader does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    /// The text is not a checkpoint file: bad version, count or line, or cut short.
    Format(codec::CheckpointError),
    /// An entry goes back: its epoch or start offset is not above the previous one's, or is negative.
    OutOfOrder(EpochEntry),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Format(e) => write!(f, "leader-epoch-checkpoint: {e}"),
            CheckpointError::OutOfOrder(e) => {
                write!(f, "epoch {} at offset {} is out of order", e.epoch, e.start_offset)
            }
        }
    }
}

impl std::error::Error for CheckpointError {}

impl From<codec::CheckpointError> for CheckpointError {
    fn from(e: codec::CheckpointError) -> Self {
        CheckpointError::Format(e)
    }
}

/// One `epoch start_offset` line.
impl CheckpointEntry for EpochEntry {
    fn to_line(&self) -> String {
        format!("{} {}", self.epoch, self.start_offset)
    }
    fn from_line(line: &str) -> Option<Self> {
        let [epoch, start_offset] = codec::fields(line)?;
        Some(EpochEntry { epoch: epoch.parse().ok()?, start_offset: start_offset.parse().ok()? })
    }
}

/// The file's contents for `cache`.
pub fn encode_checkpoint(cache: &LeaderEpochCache) -> String {
    let entries: Vec<EpochEntry> = cache.entries().collect();
    codec::encode(CHECKPOINT_VERSION, entries.iter())
}

/// The cache a checkpoint file holds. Every line is checked; anything but
/// Kafka's format is an error, never a silently shorter cache. A file of zero
/// bytes is an empty cache: Kafka creates the file empty with the log.
pub fn decode_checkpoint(bytes: &[u8]) -> Result<LeaderEpochCache, CheckpointError> {
    let entries = codec::decode::<EpochEntry>(CHECKPOINT_VERSION, bytes)?;
    LeaderEpochCache::from_entries(entries).map_err(CheckpointError::OutOfOrder)
}
