//! Kafka's offset checkpoint files: `recovery-point-offset-checkpoint` and
//! `log-start-offset-checkpoint` in each log directory.
//!
//! ```text
//! 0                 version
//! 2                 number of entries
//! orders 0 42000    topic partition offset
//! orders 1 17
//! ```
//!
//! They are written whole and atomically (temporary file, fsync, rename), so a
//! crash leaves the old checkpoint or the new, never half of one. A checkpoint
//! that fails to parse is an error, not an empty map: silently starting every
//! partition's recovery point at 0 would be safe, but a corrupt checkpoint is
//! something the operator should hear about.

use std::collections::BTreeMap;

use super::storage::Storage;
use crate::TopicPartition;

const VERSION: i32 = 0;

/// Encodes a checkpoint file.
pub fn encode(entries: &BTreeMap<TopicPartition, i64>) -> String {
    let mut out = format!("{VERSION}\n{}\n", entries.len());
    for (tp, offset) in entries {
        out.push_str(&format!("{} {} {}\n", tp.topic, tp.partition, offset));
    }
    out
}

/// Decodes a checkpoint file, refusing anything malformed.
pub fn decode(text: &str) -> Result<BTreeMap<TopicPartition, i64>, String> {
    let mut lines = text.lines();
    let version = lines.next().ok_or("empty checkpoint")?;
    if version.trim() != VERSION.to_string() {
        return Err(format!("unsupported checkpoint version {version:?}"));
    }
    let count: usize = lines.next().and_then(|l| l.trim().parse().ok()).ok_or("missing entry count")?;
    let mut entries = BTreeMap::new();
    for line in lines.by_ref().take(count) {
        let fields: Vec<&str> = line.split(' ').collect();
        let [topic, partition, offset] = fields[..] else {
            return Err(format!("malformed checkpoint line {line:?}"));
        };
        let partition = partition.parse().map_err(|_| format!("bad partition in {line:?}"))?;
        let offset = offset.parse().map_err(|_| format!("bad offset in {line:?}"))?;
        entries.insert(TopicPartition::new(topic, partition), offset);
    }
    if entries.len() != count || lines.any(|l| !l.trim().is_empty()) {
        return Err(format!("checkpoint promises {count} entries, has {}", entries.len()));
    }
    Ok(entries)
}

/// Reads a checkpoint file; a missing file is an empty checkpoint.
pub fn read<S: Storage>(storage: &S, name: &str) -> std::io::Result<BTreeMap<TopicPartition, i64>> {
    let Some(bytes) = storage.read_file(name)? else { return Ok(BTreeMap::new()) };
    let text = String::from_utf8(bytes).map_err(|_| invalid(name, "not UTF-8".into()))?;
    decode(&text).map_err(|why| invalid(name, why))
}

/// Writes a checkpoint file atomically.
pub fn write<S: Storage>(
    storage: &mut S,
    name: &str,
    entries: &BTreeMap<TopicPartition, i64>,
) -> std::io::Result<()> {
    storage.write_atomic(name, encode(entries).as_bytes())
}

fn invalid(name: &str, why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{name}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format Kafka's `OffsetCheckpointFile` writes, byte for byte.
    #[test]
    fn kafka_format() {
        let mut entries = BTreeMap::new();
        entries.insert(TopicPartition::new("my-topic", 1), 17);
        entries.insert(TopicPartition::new("my-topic", 0), 42000);
        let text = encode(&entries);
        assert_eq!(text, "0\n2\nmy-topic 0 42000\nmy-topic 1 17\n");
        assert_eq!(decode(&text), Ok(entries));
    }

    #[test]
    fn malformed_checkpoints_are_errors() {
        assert!(decode("").is_err());
        assert!(decode("1\n0\n").is_err());
        assert!(decode("0\n2\nt 0 1\n").is_err());
        assert!(decode("0\n1\nt x 1\n").is_err());
    }
}
