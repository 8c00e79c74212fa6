//! Kafka's checkpoint files, as text: one codec for every file of the form
//!
//! ```text
//! 0                 version
//! 2                 number of entries
//! orders 0 42000    one entry per line, fields separated by a space
//! orders 1 17
//! ```
//!
//! Kafka writes four such files with one class (`CheckpointFile`, each with its
//! own `EntryFormatter`): `recovery-point-offset-checkpoint`,
//! `log-start-offset-checkpoint` and `replication-offset-checkpoint` in each log
//! directory (`topic partition offset` lines), and `leader-epoch-checkpoint` in
//! each partition directory (`epoch start_offset` lines). Here the entry type
//! says how one line reads ([`CheckpointEntry`]); this file owns the rest: the
//! version line, the count line, and refusing anything that is not exactly
//! that. It sits in `format` because both the log and the replication core
//! need it, and `format` is the one layer below both.
//!
//! Reading is strict, because a checkpoint read wrongly is worse than one not
//! read: a recovery point too high skips the scan of a torn segment, an epoch
//! entry lost lets a follower keep records the leader does not have. Every
//! malformed file is a [`CheckpointError`], never a panic and never a shorter
//! list. The one lenient case is Kafka's own: a file of zero bytes is an empty
//! checkpoint, since Kafka creates its checkpoint files empty before it first
//! writes them.
//!
//! Simplifications: Kafka also reads a file cut after its version line as
//! empty, and takes a last line without its newline as whole; spool refuses
//! both as [`CheckpointError::Truncated`] (every writer, Kafka's and spool's,
//! ends each line with a newline and replaces the file whole, so such a file is
//! damage, and `t 0 5` may be what is left of `t 0 50`). Writing the file
//! (temporary file, fsync, rename, fsync of the directory) is the caller's: a
//! codec touches no disk.

use std::fmt;

/// One line of a checkpoint file: how an entry is written and read back.
pub trait CheckpointEntry: Sized {
    /// The entry's fields, space-separated, without the newline.
    fn to_line(&self) -> String;
    /// The entry a line holds, or `None` if the line is not one.
    fn from_line(line: &str) -> Option<Self>;
}

/// Why a checkpoint file could not be read. Whoever reads it decides what a
/// corrupt file costs (a storage error, or rebuilding what it held).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    /// The bytes are not UTF-8 text.
    NotText,
    /// The first line is not the version the reader knows.
    UnsupportedVersion(String),
    /// The second line is not a non-negative count.
    BadCount(String),
    /// An entry line does not read as an entry; `line_number` counts from 1.
    MalformedLine { line_number: usize, line: String },
    /// The count line promised a different number of entry lines.
    WrongCount { expected: usize, found: usize },
    /// The file stops early: no count line, or a last line without its newline.
    Truncated,
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::NotText => write!(f, "checkpoint is not text"),
            CheckpointError::UnsupportedVersion(v) => write!(f, "unsupported checkpoint version {v:?}"),
            CheckpointError::BadCount(c) => write!(f, "bad entry count {c:?}"),
            CheckpointError::MalformedLine { line_number, line } => {
                write!(f, "malformed entry on line {line_number}: {line:?}")
            }
            CheckpointError::WrongCount { expected, found } => {
                write!(f, "expected {expected} entries, found {found}")
            }
            CheckpointError::Truncated => write!(f, "checkpoint is truncated"),
        }
    }
}

impl std::error::Error for CheckpointError {}

// ANCHOR: encode
/// The file's text: `version`, the count, then one line per entry.
pub fn encode<'a, E: CheckpointEntry + 'a>(
    version: i32,
    entries: impl ExactSizeIterator<Item = &'a E>,
) -> String {
    let mut text = format!("{version}\n{}\n", entries.len());
    for entry in entries {
        text.push_str(&entry.to_line());
        text.push('\n');
    }
    text
}
// ANCHOR_END: encode

// ANCHOR: decode
/// The entries of a file written at `version`, in file order. Zero bytes is
/// an empty checkpoint (Kafka creates the files empty); anything else must be
/// the version line, the count line and exactly that many entry lines.
pub fn decode<E: CheckpointEntry>(version: i32, bytes: &[u8]) -> Result<Vec<E>, CheckpointError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| CheckpointError::NotText)?;
    let Some(text) = text.strip_suffix('\n') else { return Err(CheckpointError::Truncated) };
    let mut lines = text.split('\n');
    let version_line = lines.next().unwrap_or_default();
    if version_line.trim().parse::<i32>().ok() != Some(version) {
        return Err(CheckpointError::UnsupportedVersion(version_line.to_string()));
    }
    let count_line = lines.next().ok_or(CheckpointError::Truncated)?;
    let expected: usize =
        count_line.trim().parse().map_err(|_| CheckpointError::BadCount(count_line.to_string()))?;
    // Not `with_capacity(expected)`: the count is untrusted input.
    let mut entries = Vec::new();
    for (i, line) in lines.enumerate() {
        let malformed = || CheckpointError::MalformedLine { line_number: i + 3, line: line.to_string() };
        entries.push(E::from_line(line).ok_or_else(malformed)?);
    }
    if entries.len() != expected {
        return Err(CheckpointError::WrongCount { expected, found: entries.len() });
    }
    Ok(entries)
}
// ANCHOR_END: decode

/// The whitespace-separated fields of a line, exactly `N` of them (Kafka
/// splits on `\s+`): what an entry's [`CheckpointEntry::from_line`] starts with.
pub fn fields<const N: usize>(line: &str) -> Option<[&str; N]> {
    let mut parts = line.split_whitespace();
    let fields = std::array::from_fn(|_| parts.next());
    if parts.next().is_some() || fields.iter().any(Option::is_none) {
        return None;
    }
    Some(fields.map(|f| f.expect("checked above")))
}

#[cfg(test)]
mod tests;
