//! Kafka's offset checkpoint files in each log directory:
//! `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint` and
//! (chapter 6) `replication-offset-checkpoint`, the high watermarks.
//!
//! ```text
//! 0                 version
//! 2                 number of entries
//! orders 0 42000    topic partition offset
//! orders 1 17
//! ```
//!
//! The text is the shared checkpoint codec's ([`crate::format::checkpoint`]);
//! this file gives it the `topic partition offset` line and reads and writes
//! the files through a [`Storage`]. They are written whole and atomically
//! (temporary file, fsync, rename, fsync of the directory), so a crash leaves
//! the old checkpoint or the new, never half of one. A checkpoint that fails to
//! parse is an error ([`LogError::Checkpoint`]), not an empty map: silently
//! starting every partition's recovery point at 0 would be safe, but a corrupt
//! checkpoint is something the operator should hear about.

use std::collections::BTreeMap;

use super::error::{LogError, Result};
use super::storage::Storage;
use crate::format::checkpoint::{self as codec, CheckpointEntry};
use crate::TopicPartition;

/// The only version Kafka writes (`OffsetCheckpointFile.CURRENT_VERSION`).
pub const VERSION: i32 = 0;

/// One `topic partition offset` line (Kafka's `OffsetCheckpointFile.Formatter`).
impl CheckpointEntry for (TopicPartition, i64) {
    fn to_line(&self) -> String {
        format!("{} {} {}", self.0.topic, self.0.partition, self.1)
    }
    fn from_line(line: &str) -> Option<Self> {
        let [topic, partition, offset] = codec::fields(line)?;
        Some((TopicPartition::new(topic, partition.parse().ok()?), offset.parse().ok()?))
    }
}

/// Encodes a checkpoint file.
pub fn encode(entries: &BTreeMap<TopicPartition, i64>) -> String {
    let lines: Vec<(TopicPartition, i64)> = entries.iter().map(|(tp, &o)| (tp.clone(), o)).collect();
    codec::encode(VERSION, lines.iter())
}

/// Decodes a checkpoint file, refusing anything malformed. A partition named
/// twice keeps its last offset, as Kafka's map does.
pub fn decode(bytes: &[u8]) -> Result<BTreeMap<TopicPartition, i64>, codec::CheckpointError> {
    Ok(codec::decode::<(TopicPartition, i64)>(VERSION, bytes)?.into_iter().collect())
}

/// Reads a checkpoint file; a missing file is an empty checkpoint.
pub fn read<S: Storage>(storage: &S, name: &str) -> Result<BTreeMap<TopicPartition, i64>> {
    let Some(bytes) = storage.read_file(name)? else { return Ok(BTreeMap::new()) };
    decode(&bytes).map_err(|error| LogError::Checkpoint { file: name.to_string(), error })
}

/// Writes a checkpoint file atomically.
pub fn write<S: Storage>(storage: &mut S, name: &str, entries: &BTreeMap<TopicPartition, i64>) -> Result<()> {
    storage.write_atomic(name, encode(entries).as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::CheckpointError;

    /// A `replication-offset-checkpoint` as a Kafka 3.x broker leaves it
    /// (`OffsetCheckpointFile` through `CheckpointFile.write`: version, count,
    /// `topic partition offset` lines in the order of its map, each line ended
    /// by a newline), read back and written again byte for byte once sorted.
    #[test]
    fn golden_kafka_file() {
        let kafka = "0\n3\n__consumer_offsets 7 1203\nmy-topic 1 17\nmy-topic 0 42000\n";
        let entries = decode(kafka.as_bytes()).unwrap();
        let want: BTreeMap<_, _> = [
            (TopicPartition::new("__consumer_offsets", 7), 1203),
            (TopicPartition::new("my-topic", 0), 42000),
            (TopicPartition::new("my-topic", 1), 17),
        ]
        .into_iter()
        .collect();
        assert_eq!(entries, want);
        assert_eq!(encode(&entries), "0\n3\n__consumer_offsets 7 1203\nmy-topic 0 42000\nmy-topic 1 17\n");
    }

    /// Damage is a typed error naming what is wrong, for each kind.
    #[test]
    fn malformed_checkpoints_are_errors() {
        assert_eq!(decode(b"1\n0\n"), Err(CheckpointError::UnsupportedVersion("1".into())));
        assert_eq!(decode(b"0\n2\nt 0 1\n"), Err(CheckpointError::WrongCount { expected: 2, found: 1 }));
        assert!(matches!(
            decode(b"0\n1\nt x 1\n"),
            Err(CheckpointError::MalformedLine { line_number: 3, .. })
        ));
        assert_eq!(decode(b"0\n1\nt 0 1"), Err(CheckpointError::Truncated));
    }
}
