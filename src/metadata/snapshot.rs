//! Metadata snapshots in Kafka's format: the image at one offset of
//! `__cluster_metadata-0`, as one file (KIP-630, issue 14 §2).
//!
//! The metadata log only grows: every topic created, every ISR change, every
//! heartbeat that fences a broker is one more record, and a controller or
//! broker that starts from nothing must replay all of them. A snapshot cuts
//! that short. It is the image at the end offset `N` of epoch `E`, written as
//! the few records that rebuild it ([`MetadataImage::records`]), so whoever
//! loads it needs only the log from `N` on, and the log before `N` may go.
//!
//! One snapshot is one file, next to the log's segments, named by its id
//! (Kafka's `Snapshots.filenameFromSnapshotId`):
//!
//! ```text
//!  __cluster_metadata-0/00000000000000000042-0000000003.checkpoint
//!                       └ end offset (20 digits) ┘ └ epoch ┘
//!
//!  offset 0          control batch   SnapshotHeaderRecord (type 3): version 0, lastContainedLogTimestamp
//!  offset 1 .. n     data batches    the image's records (RegisterBroker, Topic, Partition, Config, ProducerIds)
//!  offset n+1        control batch   SnapshotFooterRecord (type 4): version 0
//! ```
//!
//! - **Offsets count from 0 within the file**, not from the log's offsets:
//!   Kafka's `RecordsSnapshotWriter` starts its batch accumulator at 0, and
//!   every batch's `partitionLeaderEpoch` is the snapshot's epoch.
//! - **A snapshot appears whole or not at all.** It is written to
//!   `<id>.checkpoint.part`, fsynced, renamed to `<id>.checkpoint`, and the
//!   directory fsynced; a crash leaves at most a `.part` file, which
//!   [`open_snapshots`] deletes, as Kafka's log does when it opens.
//! - **A damaged file is an error, never a panic or a partial image.** Every
//!   batch's CRC is checked; a file that ends inside a batch, lacks its
//!   header or footer, skips offsets, or holds a record the image refuses is
//!   refused whole ([`SnapshotError`]).
//!
//! Chapter 7 (`book/src/07-kraft.md`).
//!
//! Who uses the file: a controller writes one every
//! `metadata.log.max.record.bytes.between.snapshots` bytes of applied records
//! (`crate::node::quorum`), then lets its log delete the segments below it and
//! move its start offset ([`crate::metadata::QuorumLog`]); at start it loads the
//! latest snapshot and replays the log after it. A follower or broker behind
//! the leader's log start receives the file by FetchSnapshot, in chunks
//! ([`crate::raft::snapshot`]), and installs it ([`finish_partial`],
//! [`write_snapshot_bytes`]). `spool dump-log` prints a `.checkpoint`.
//!
//! Simplifications: no compression; no KIP-853 `KRaftVersionRecord` /
//! `VotersRecord` after the header (spool's voters are static, kraft.version
//! 0; a reader skips them if a Kafka 3.9 wrote them); no FeatureLevelRecord
//! (the image holds no `metadata.version`, see [`crate::metadata::image`]);
//! the `.part` file has a fixed name, where Kafka's has a random middle; only
//! the latest snapshot is kept ([`delete_snapshots_before`]).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::format::BatchError;
use crate::metadata::{DecodeError, ImageError, MetadataImage};
use crate::raft::Offset;

pub use batches::{check_snapshot_layout, decode_snapshot, encode_snapshot, DecodedSnapshot};

mod batches;
#[cfg(test)]
mod tests;

pub use crate::raft::snapshot::{SnapshotId, SUFFIX};

/// A snapshot being written.
const PARTIAL_SUFFIX: &str = ".checkpoint.part";
/// A snapshot marked for deletion (Kafka renames before it deletes).
const DELETE_SUFFIX: &str = ".checkpoint.deleted";

/// Why a snapshot could not be written or read. Every variant but `Io` and
/// `AlreadyExists` means the file is damaged (Kafka's `CORRUPT_MESSAGE`): the
/// caller must not use it, and falls back to an older snapshot or the log.
#[derive(Debug)]
pub enum SnapshotError {
    /// Creating, writing, syncing, renaming, listing or reading failed.
    Io { path: PathBuf, source: io::Error },
    /// A snapshot of this id is already there: one id names one image, so
    /// the caller has nothing to write.
    AlreadyExists(SnapshotId),
    /// The file name is not `<20 digits>-<10 digits>.checkpoint`.
    BadFileName(PathBuf),
    /// The file ends inside the batch at `position`: torn or cut short.
    Truncated { position: usize },
    /// The batch at `position` fails its CRC or is not a v2 batch.
    CorruptBatch { position: usize, error: BatchError },
    /// A batch's base offset does not follow the previous batch.
    OffsetGap { expected: Offset, found: Offset },
    /// The file does not open with a SnapshotHeaderRecord.
    MissingHeader,
    /// The file ends without a SnapshotFooterRecord: its writer never finished.
    MissingFooter,
    /// Something follows the footer.
    AfterFooter { offset: Offset },
    /// A control record that is not a header, a footer or a KIP-853 record
    /// in its place, or does not decode.
    BadControlRecord { offset: Offset, why: String },
    /// A data record that is not a metadata record spool reads.
    Record { offset: Offset, error: DecodeError },
    /// A record the image refuses: the snapshot does not describe a cluster.
    Image { offset: Offset, error: ImageError },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            SnapshotError::AlreadyExists(id) => write!(f, "snapshot {id} already exists"),
            SnapshotError::BadFileName(path) => {
                write!(f, "{}: not a <offset>-<epoch>.checkpoint file name", path.display())
            }
            SnapshotError::Truncated { position } => {
                write!(f, "snapshot ends inside the batch at {position}")
            }
            SnapshotError::CorruptBatch { position, error } => {
                write!(f, "corrupt snapshot batch at position {position}: {error}")
            }
            SnapshotError::OffsetGap { expected, found } => {
                write!(f, "snapshot batch at offset {found}, expected {expected}")
            }
            SnapshotError::MissingHeader => write!(f, "snapshot does not start with a SnapshotHeaderRecord"),
            SnapshotError::MissingFooter => write!(f, "snapshot ends without a SnapshotFooterRecord"),
            SnapshotError::AfterFooter { offset } => {
                write!(f, "snapshot has a record at {offset} after its footer")
            }
            SnapshotError::BadControlRecord { offset, why } => {
                write!(f, "bad snapshot control record at offset {offset}: {why}")
            }
            SnapshotError::Record { offset, error } => {
                write!(f, "snapshot record at offset {offset}: {error}")
            }
            SnapshotError::Image { offset, error } => {
                write!(f, "snapshot record at offset {offset} refused by the image: {error}")
            }
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SnapshotError::Io { source, .. } => Some(source),
            SnapshotError::Record { error, .. } => Some(error),
            SnapshotError::Image { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io { path: path.to_path_buf(), source }
}

/// Where snapshot `id` lives in the metadata log's partition directory `dir`.
pub fn snapshot_path(dir: &Path, id: SnapshotId) -> PathBuf {
    dir.join(id.file_name())
}

// ANCHOR: write_snapshot
/// Writes `image` as snapshot `id` in `dir`, durably and atomically: the
/// batches go to `<id>.checkpoint.part`, which is fsynced, renamed to
/// `<id>.checkpoint`, and the directory fsynced. `last_contained_log_timestamp_ms`
/// is the timestamp of the last batch the snapshot covers (its header says
/// it); `now_ms` stamps the batches. Returns the snapshot's path.
pub fn write_snapshot(
    dir: &Path,
    id: SnapshotId,
    image: &MetadataImage,
    last_contained_log_timestamp_ms: i64,
    now_ms: i64,
) -> Result<PathBuf, SnapshotError> {
    let bytes = encode_snapshot(id, &image.records(), last_contained_log_timestamp_ms, now_ms);
    write_snapshot_bytes(dir, id, &bytes)
}

/// Writes an encoded snapshot (ours, or one received whole) as `id` in
/// `dir`, durably and atomically, as [`write_snapshot`] does.
pub fn write_snapshot_bytes(dir: &Path, id: SnapshotId, bytes: &[u8]) -> Result<PathBuf, SnapshotError> {
    let path = snapshot_path(dir, id);
    if path.exists() {
        return Err(SnapshotError::AlreadyExists(id));
    }
    let part = partial_path(dir, id);
    let mut file = File::create(&part).map_err(io_at(&part))?;
    file.write_all(bytes).map_err(io_at(&part))?;
    finish_partial(dir, id, file)
}

/// Where snapshot `id` is written before its rename.
pub fn partial_path(dir: &Path, id: SnapshotId) -> PathBuf {
    dir.join(format!("{:020}-{:010}{PARTIAL_SUFFIX}", id.end_offset, id.epoch))
}

/// Makes the `.part` file of `id` (all of it written to `file`) the
/// snapshot: fsync, rename to `<id>.checkpoint`, fsync the directory.
pub fn finish_partial(dir: &Path, id: SnapshotId, file: File) -> Result<PathBuf, SnapshotError> {
    let (part, path) = (partial_path(dir, id), snapshot_path(dir, id));
    file.sync_all().map_err(io_at(&part))?;
    drop(file);
    fs::rename(&part, &path).map_err(io_at(&path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_at(dir))?;
    Ok(path)
}

/// Deletes every snapshot in `dir` older than `keep` (Kafka renames each to
/// `.checkpoint.deleted` first; a crash leaves that for [`open_snapshots`]).
pub fn delete_snapshots_before(dir: &Path, keep: SnapshotId) -> Result<(), SnapshotError> {
    for entry in fs::read_dir(dir).map_err(io_at(dir))? {
        let entry = entry.map_err(io_at(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(id) = SnapshotId::from_file_name(&name).filter(|id| *id < keep) {
            let doomed = dir.join(format!("{:020}-{:010}{DELETE_SUFFIX}", id.end_offset, id.epoch));
            fs::rename(entry.path(), &doomed).map_err(io_at(&doomed))?;
            fs::remove_file(&doomed).map_err(io_at(&doomed))?;
        }
    }
    Ok(())
}
// ANCHOR_END: write_snapshot

/// Reads the snapshot at `path`: its id (from the file name) and the image
/// its records build. Any damage is an error ([`SnapshotError`]).
pub fn read_snapshot(path: &Path) -> Result<(SnapshotId, MetadataImage), SnapshotError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let id =
        SnapshotId::from_file_name(name).ok_or_else(|| SnapshotError::BadFileName(path.to_path_buf()))?;
    let bytes = fs::read(path).map_err(io_at(path))?;
    let decoded = decode_snapshot(&bytes)?;
    let mut image = MetadataImage::default();
    for (offset, record) in &decoded.records {
        image.apply(record).map_err(|error| SnapshotError::Image { offset: *offset, error })?;
    }
    Ok((id, image))
}

/// The snapshots in `dir`, oldest first, after deleting what a crash left
/// behind: `.checkpoint.part` files (a write that never reached its rename)
/// and `.checkpoint.deleted` ones (a deletion that never finished), as
/// Kafka's `KafkaMetadataLog` does when it opens. Call it at start only: a
/// writer at work has a `.part` file too.
pub fn open_snapshots(dir: &Path) -> Result<Vec<SnapshotId>, SnapshotError> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_at(dir))? {
        let entry = entry.map_err(io_at(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(PARTIAL_SUFFIX) || name.ends_with(DELETE_SUFFIX) {
            let path = entry.path();
            fs::remove_file(&path).map_err(io_at(&path))?;
        } else if let Some(id) = SnapshotId::from_file_name(&name) {
            ids.push(id);
        }
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_at(dir))?;
    ids.sort();
    Ok(ids)
}

/// The newest snapshot in `dir` (highest end offset, then epoch), after
/// [`open_snapshots`]' clean-up.
pub fn latest_snapshot(dir: &Path) -> Result<Option<SnapshotId>, SnapshotError> {
    Ok(open_snapshots(dir)?.pop())
}
