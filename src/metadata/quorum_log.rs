//! The controllers' Raft log on disk: `__cluster_metadata-0` in Kafka's own
//! format (segments, indexes, `leader-epoch-checkpoint`), as the KRaft
//! core's [`RaftLog`].
//!
//! The core ([`crate::raft`]) reads and changes its log through a handful of
//! questions and two changes; [`QuorumLog`] answers them from a partition log
//! ([`crate::log::Log`]) whose batches are the entries ([`crate::raft::batches`]):
//!
//! ```text
//!  RaftNode ──append(entries)──▶ encode_entries ──▶ Log::append_as_follower ──▶ fsync
//!           ──truncate_to(o)───▶ Log::truncate_to (whole batches) + the cut batch's head again ──▶ fsync
//!           ──entry / entries──▶ Log::read_with (one batch, or a few) ──▶ decode_entries
//!           ──last_epoch, end_offset_for_epoch──▶ the log's leader epoch cache (in memory)
//!  driver   ──read_bytes──▶ raw committed batches for a broker's Fetch; data_records ──▶ apply
//! ```
//!
//! - **Offsets and epochs are the core's.** Appends go through
//!   `append_as_follower`, which keeps the batches' offsets and
//!   `partitionLeaderEpoch`, so the log's epoch cache learns each epoch where
//!   its first entry is, as Kafka's `KafkaMetadataLog` does.
//! - **Every change is durable before the call returns** ([`RaftLog`] says
//!   why): an append ends with an fsync, a truncation with the log's own.
//! - **An IO failure is not a panic.** The trait's methods cannot fail, so
//!   the first failure is kept ([`QuorumLog::failure`]) and every later
//!   change is refused. The driver checks [`QuorumLog::failure`] after each
//!   call into the core and stops this quorum member: Kafka's controller
//!   exits on a metadata log write failure, since a voter whose log may not
//!   hold what it acknowledged must not vote or lead again before a restart
//!   reads what really reached the disk.
//! - **A follower keeps the leader's batches.** The entries of a Fetch
//!   answer are appended as the leader's batches, byte for byte
//!   ([`QuorumLog::stage_fetched`]), so every replica's batches end where the
//!   leader's do; only the leader's own appends (and the head of a cut
//!   batch) are encoded here ([`crate::raft::batches`]).
//!
//! Chapter 7 (`book/src/07-kraft.md`).
//!
//! **Snapshots.** The log holds its snapshots too, as Kafka's
//! `KafkaMetadataLog` does: [`RaftLog::create_snapshot`] writes one,
//! [`RaftLog::delete_before`] then moves the log start offset to its end and
//! deletes the segments wholly below; a follower's received chunks go to a
//! `.part` file that [`RaftLog::install_snapshot`] checks whole, renames into
//! place, and then starts the log over at the snapshot's end. At open the
//! log starts at the latest snapshot's end (and finishes an install a crash
//! interrupted).
//!
//! Simplifications: every segment is rescanned at open (no recovery point file). A
//! truncation inside a batch cuts the whole batch and writes its head back:
//! a crash between the two leaves the log shorter than asked, which only
//! costs a refetch.

use std::cell::OnceCell;
use std::fs::{self, File, OpenOptions as FileOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};

use super::snapshot::{self, SnapshotError};
use super::METADATA_TOPIC;
use crate::format::{BatchError, RecordBatch};
use crate::log::{DiskStorage, Log, LogConfig, LogError, OpenOptions, ReadOptions};
use crate::metadata::MetadataImage;
use crate::raft::batches::{decode_entries, encode_entries, EntriesError};
use crate::raft::{Entry, Epoch, NodeId, Offset, RaftLog, Record, SnapshotId};

/// How many bytes [`QuorumLog::entries`] reads from the segments at a time.
const READ_BYTES_MAX: u32 = 1024 * 1024;

/// The metadata log's partition directory under a log directory.
pub fn partition_dir(log_dir: &Path) -> PathBuf {
    log_dir.join(format!("{METADATA_TOPIC}-0"))
}

/// The Raft log of one quorum member, on disk. `Send` (the driver's task
/// owns it), not `Sync`.
#[derive(Debug)]
pub struct QuorumLog {
    log: Log<DiskStorage>,
    /// `controller.quorum.voters`' ids: the voters a LeaderChange names.
    voters: Vec<NodeId>,
    /// The first IO failure. A `OnceCell`, not a `Mutex`: the reads that may
    /// fail take `&self`, and one task owns the log (it is not `Sync`).
    failure: OnceCell<LogError>,
    /// The batches of the Fetch answer being stepped ([`QuorumLog::stage_fetched`]).
    staged: Option<(Offset, Bytes)>,
    /// The partition directory: the snapshots live next to the segments.
    dir: PathBuf,
    /// The newest `.checkpoint` in `dir` (older ones are deleted once it exists).
    latest: Option<SnapshotId>,
    /// A snapshot being received from the leader: its `.checkpoint.part` file.
    partial: Option<(SnapshotId, File)>,
}

/// The driver moves the log into the task that runs the core.
const _: () = {
    const fn send<T: Send>() {}
    send::<QuorumLog>()
};

impl QuorumLog {
    /// Opens (or creates) the log in `dir`, recovering every segment.
    pub fn open(dir: &Path, voters: Vec<NodeId>, now_ms: i64) -> Result<Self, LogError> {
        Self::open_with(dir, voters, LogConfig::default(), now_ms)
    }

    /// [`QuorumLog::open`] with a log configuration (small segments in tests).
    pub fn open_with(
        dir: &Path,
        voters: Vec<NodeId>,
        config: LogConfig,
        now_ms: i64,
    ) -> Result<Self, LogError> {
        let storage = DiskStorage::open(dir)?;
        let latest = snapshot::latest_snapshot(dir).map_err(snapshot_failure)?;
        let start = latest.map_or(0, |id| id.end_offset);
        let options = OpenOptions { log_start_offset: start, ..OpenOptions::default() };
        let (mut log, _) = Log::open(storage, config, options, now_ms)?;
        if log.log_end_offset() < start {
            // Installed from the leader, then a crash before the log was
            // reset: the snapshot is durable, so finish the reset now.
            log.truncate_fully_and_start_at(start)?;
        }
        let dir = dir.to_path_buf();
        Ok(QuorumLog { log, voters, failure: OnceCell::new(), staged: None, dir, latest, partial: None })
    }

    /// Reads the image of the latest snapshot (to load before replaying the
    /// log after it), if there is one.
    pub fn load_latest_snapshot(&self) -> Result<Option<(SnapshotId, MetadataImage)>, SnapshotError> {
        let Some(id) = self.latest else { return Ok(None) };
        snapshot::read_snapshot(&snapshot::snapshot_path(&self.dir, id)).map(Some)
    }

    /// Flushes and closes the log (a clean stop).
    pub fn close(self) -> Result<(), LogError> {
        self.log.close().map(drop)
    }

    /// The first IO failure, if one happened: the driver stops this quorum
    /// member when it sees one. Every change after it was refused.
    pub fn failure(&self) -> Option<&LogError> {
        self.failure.get()
    }

    /// The partition log underneath (for tools and tests).
    pub fn log(&self) -> &Log<DiskStorage> {
        &self.log
    }

    /// Keeps the first failure; later ones are consequences of it.
    fn fail(&self, error: LogError) {
        tracing::error!(%error, "metadata log failed; this quorum member must stop");
        let _ = self.failure.set(error);
    }

    // ANCHOR: read_bytes
    /// The raw batches from the one holding `from` on, none holding
    /// `max_offset` or beyond (whole batches only), up to `max_bytes` but at
    /// least one if one lies wholly below `max_offset`: a broker's Fetch of
    /// committed metadata, served without decoding. Empty when there is none;
    /// [`LogError::OffsetOutOfRange`] past the log end (the broker's Fetch
    /// answer is then `OFFSET_OUT_OF_RANGE`).
    pub fn read_bytes(&self, from: Offset, max_offset: Offset, max_bytes: u32) -> Result<Bytes, LogError> {
        let options = ReadOptions {
            max_bytes,
            max_offset: Some(max_offset),
            min_one_batch: true,
            skip_emptied_tail: false,
        };
        match self.log.read_with(from, options)? {
            Some(region) => Ok(region.read_bytes()?),
            None => Ok(Bytes::new()),
        }
    }
    // ANCHOR_END: read_bytes

    /// The data records at offsets `from..to`, to apply once the high
    /// watermark passes them (leader changes are left out).
    pub fn data_records(&self, from: Offset, to: Offset) -> Result<Vec<(Offset, Vec<u8>)>, LogError> {
        let mut out = Vec::new();
        let mut next = from.max(self.start_offset());
        while next < to.min(self.end_offset()) {
            let entries = decode(&self.read_batches(next, READ_BYTES_MAX)?)?;
            let Some((last, _)) = entries.last() else { break };
            next = last + 1;
            for (offset, entry) in entries {
                if let (true, Record::Data(bytes)) = ((from..to).contains(&offset), entry.record) {
                    out.push((offset, bytes));
                }
            }
        }
        Ok(out)
    }

    /// Whole batches from the one holding `from`, up to `max_bytes` (at least one).
    fn read_batches(&self, from: Offset, max_bytes: u32) -> Result<Bytes, LogError> {
        let options =
            ReadOptions { max_bytes, max_offset: None, min_one_batch: true, skip_emptied_tail: false };
        match self.log.read_with(from, options)? {
            Some(region) => Ok(region.read_bytes()?),
            None => Ok(Bytes::new()),
        }
    }

    // ANCHOR: quorum_entries
    /// [`RaftLog::entries`] with its errors: whole batches from the one
    /// holding `from`, each read once, until one would pass `max` entries.
    fn try_entries(&self, from: Offset, max: usize) -> Result<Vec<Entry>, LogError> {
        let mut out = Vec::new();
        let mut next = from;
        while next < self.end_offset() && out.len() < max {
            let mut rest = self.read_batches(next, READ_BYTES_MAX)?;
            if rest.is_empty() {
                break;
            }
            while !rest.is_empty() {
                let (batch, tail) = RecordBatch::parse(&rest)?;
                let count = (batch.next_offset() - batch.base_offset().max(from)) as usize;
                if !out.is_empty() && out.len() + count > max {
                    return Ok(out);
                }
                let entries = decode(batch.as_bytes())?;
                out.extend(entries.into_iter().filter(|(o, _)| *o >= from).map(|(_, e)| e));
                next = batch.next_offset();
                rest = tail;
            }
        }
        Ok(out)
    }
    // ANCHOR_END: quorum_entries

    /// Whether a change may go ahead: not after a failure.
    fn may_change(&self) -> bool {
        if let Some(error) = self.failure() {
            tracing::warn!(%error, "metadata log change refused after an earlier failure");
            return false;
        }
        true
    }

    /// Writes `entries` at the log end and makes them durable.
    fn try_append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        let bytes = match self.take_staged(entries) {
            Some(bytes) => BytesMut::from(&bytes[..]),
            None => encode_entries(self.end_offset(), entries, &self.voters, wall_clock_ms()),
        };
        self.log.append_as_follower(bytes)?;
        self.log.flush()
    }

    // ANCHOR: stage_fetched
    /// The record batches of a Fetch answer, from `base_offset`, about to be
    /// stepped through the core: if the core then appends exactly their
    /// entries at the log end, the batches are appended as the leader wrote
    /// them, byte for byte. So every replica's batches end where the
    /// leader's do — an epoch always ends at a batch boundary, and a
    /// diverging-epoch truncation never has to cut a batch in two.
    pub fn stage_fetched(&mut self, base_offset: Offset, batches: Bytes) {
        self.staged = Some((base_offset, batches));
    }
    // ANCHOR_END: stage_fetched

    /// The staged batches, if they hold exactly `entries` at the log end.
    fn take_staged(&mut self, entries: &[Entry]) -> Option<Bytes> {
        let (base_offset, bytes) = self.staged.take()?;
        if base_offset != self.end_offset() {
            return None;
        }
        let decoded = decode_entries(&bytes).ok()?;
        let same = decoded.len() == entries.len()
            && decoded
                .iter()
                .zip(entries)
                .enumerate()
                .all(|(i, ((o, d), e))| *o == base_offset + i as Offset && d == e);
        same.then_some(bytes)
    }

    /// Cuts the log at `offset`: the log cuts whole batches, so the entries
    /// of the cut batch below `offset` are written back.
    fn try_truncate(&mut self, offset: Offset) -> Result<(), LogError> {
        let head: Vec<Entry> = decode(&self.read_batches(offset, 1)?)?
            .into_iter()
            .filter(|(o, _)| *o < offset)
            .map(|(_, e)| e)
            .collect();
        self.log.truncate_to(offset)?;
        if !head.is_empty() {
            self.try_append(&head)?;
        }
        debug_assert_eq!(self.end_offset(), offset);
        Ok(())
    }
}

impl RaftLog for QuorumLog {
    fn end_offset(&self) -> Offset {
        self.log.log_end_offset()
    }

    fn last_epoch(&self) -> Epoch {
        // A log just reset to a snapshot's end has no entries: the
        // snapshot's epoch is the last one.
        let snapshot_epoch = self.latest.filter(|id| id.end_offset >= self.start_offset()).map(|id| id.epoch);
        self.log.leader_epoch_cache().latest_epoch().or(snapshot_epoch).unwrap_or(0)
    }

    fn entry(&self, offset: Offset) -> Option<Entry> {
        if !(self.start_offset()..self.end_offset()).contains(&offset) {
            return None;
        }
        let batch = self.read_batches(offset, 1).and_then(|bytes| decode(&bytes));
        match batch {
            Ok(entries) => entries.into_iter().find(|(o, _)| *o == offset).map(|(_, e)| e),
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    fn entries(&self, from: Offset, max: usize) -> Vec<Entry> {
        if from < self.start_offset() || max == 0 {
            return Vec::new();
        }
        self.try_entries(from, max).unwrap_or_else(|e| {
            self.fail(e);
            Vec::new()
        })
    }

    // ANCHOR: quorum_end_offset_for_epoch
    /// From the epoch cache: the largest epoch ≤ `epoch` starts an entry in
    /// it, and ends where the next one starts (or at the log end). Not
    /// [`crate::replication::LeaderEpochCache::end_offset_for`], which answers
    /// OffsetsForLeaderEpoch's way: undefined above its latest epoch, and the
    /// asked epoch itself below its first.
    fn end_offset_for_epoch(&self, epoch: Epoch) -> (Epoch, Offset) {
        let cache = self.log.leader_epoch_cache();
        // Below the start only the snapshot's epoch is known; it ends where
        // a later epoch starts.
        let start = self.start_offset();
        let mut floor =
            self.latest.filter(|id| id.end_offset == start && id.epoch <= epoch).map(|id| id.epoch);
        for known in cache.entries() {
            if known.epoch > epoch {
                return floor.map_or((0, 0), |f| (f, known.start_offset));
            }
            floor = Some(known.epoch);
        }
        floor.map_or((0, 0), |f| (f, self.end_offset()))
    }
    // ANCHOR_END: quorum_end_offset_for_epoch

    fn append(&mut self, entries: Vec<Entry>) {
        let mut last = self.last_epoch();
        for entry in &entries {
            assert!(entry.epoch >= last.max(0), "epochs never go back along the log");
            last = entry.epoch;
        }
        if entries.is_empty() || !self.may_change() {
            return;
        }
        if let Err(e) = self.try_append(&entries) {
            self.fail(e);
        }
    }

    fn truncate_to(&mut self, offset: Offset) {
        let offset = offset.max(self.start_offset());
        if offset >= self.end_offset() || !self.may_change() {
            return;
        }
        if let Err(e) = self.try_truncate(offset) {
            self.fail(e);
        }
    }

    fn start_offset(&self) -> Offset {
        self.log.log_start_offset()
    }

    fn latest_snapshot(&self) -> Option<SnapshotId> {
        self.latest
    }

    fn snapshot_size(&self, id: SnapshotId) -> Option<u64> {
        let path = snapshot::snapshot_path(&self.dir, id);
        (self.latest == Some(id))
            .then(|| fs::metadata(&path).map(|m| m.len()))
            .and_then(|r| r.map_err(|e| self.fail(LogError::Io(e))).ok())
    }

    fn read_snapshot(&self, id: SnapshotId, position: u64, max_bytes: usize) -> Vec<u8> {
        if self.latest != Some(id) {
            return Vec::new();
        }
        let path = snapshot::snapshot_path(&self.dir, id);
        let read = || -> io::Result<Vec<u8>> {
            let mut file = File::open(&path)?;
            file.seek(SeekFrom::Start(position))?;
            let mut chunk = Vec::new();
            file.take(max_bytes as u64).read_to_end(&mut chunk)?;
            Ok(chunk)
        };
        read().unwrap_or_else(|e| {
            self.fail(LogError::Io(e));
            Vec::new()
        })
    }

    // ANCHOR: quorum_create_snapshot
    fn create_snapshot(&mut self, id: SnapshotId, bytes: Vec<u8>) {
        if !self.may_change() || self.latest.is_some_and(|latest| latest >= id) {
            return;
        }
        match snapshot::write_snapshot_bytes(&self.dir, id, &bytes) {
            Ok(_) | Err(SnapshotError::AlreadyExists(_)) => self.latest = Some(id),
            Err(e) => self.fail(snapshot_failure(e)),
        }
    }

    fn delete_before(&mut self, offset: Offset) {
        let Some(latest) = self.latest.filter(|_| self.may_change()) else { return };
        let result = self
            .log
            .delete_before(offset.min(latest.end_offset))
            .and_then(|_| snapshot::delete_snapshots_before(&self.dir, latest).map_err(snapshot_failure));
        if let Err(e) = result {
            self.fail(e);
        }
    }
    // ANCHOR_END: quorum_create_snapshot

    fn append_snapshot_chunk(&mut self, id: SnapshotId, position: u64, bytes: &[u8]) {
        if !self.may_change() {
            return;
        }
        if position == 0 || self.partial.as_ref().is_none_or(|(held, _)| *held != id) {
            if let Some((old, _)) = self.partial.take().filter(|(old, _)| *old != id) {
                // The leader moved on to a newer snapshot: the old one's part goes.
                let _ = fs::remove_file(snapshot::partial_path(&self.dir, old));
            }
            let path = snapshot::partial_path(&self.dir, id);
            match FileOptions::new().create(true).write(true).truncate(true).open(&path) {
                Ok(file) => self.partial = Some((id, file)),
                Err(e) => return self.fail(LogError::Io(e)),
            }
        }
        let (_, file) = self.partial.as_mut().expect("opened above");
        let written = file
            .set_len(position)
            .and_then(|()| file.seek(SeekFrom::Start(position)))
            .and_then(|_| file.write_all(bytes));
        if let Err(e) = written {
            self.fail(LogError::Io(e));
        }
    }

    // ANCHOR: quorum_install_snapshot
    /// The received file is checked whole (CRCs, header, footer, records)
    /// before it is renamed into place; then the log starts over at its end.
    fn install_snapshot(&mut self, id: SnapshotId) {
        let Some((held, file)) = self.partial.take().filter(|(held, _)| *held == id) else { return };
        if !self.may_change() {
            return;
        }
        let result = fs::read(snapshot::partial_path(&self.dir, held))
            .map_err(LogError::Io)
            .and_then(|bytes| snapshot::decode_snapshot(&bytes).map_err(snapshot_failure))
            .and_then(|_| snapshot::finish_partial(&self.dir, id, file).map_err(snapshot_failure))
            .and_then(|_| {
                self.latest = Some(id);
                self.log.truncate_fully_and_start_at(id.end_offset)
            })
            .and_then(|()| snapshot::delete_snapshots_before(&self.dir, id).map_err(snapshot_failure));
        if let Err(e) = result {
            self.fail(e);
        }
    }
    // ANCHOR_END: quorum_install_snapshot
}

/// A snapshot file that cannot be written or read fails the log as a disk
/// failure would (`KAFKA_STORAGE_ERROR`): the member stops.
fn snapshot_failure(error: SnapshotError) -> LogError {
    match error {
        SnapshotError::Io { source, .. } => LogError::Io(source),
        other => LogError::Io(io::Error::new(io::ErrorKind::InvalidData, other.to_string())),
    }
}

/// Batches read from our own segments: anything that does not decode is a corrupt log.
fn decode(bytes: &[u8]) -> Result<Vec<(Offset, Entry)>, LogError> {
    decode_entries(bytes).map_err(|e| match e {
        EntriesError::Corrupt(e) => LogError::CorruptBatch(e),
        other => LogError::CorruptBatch(BatchError::InvalidRecords(other.to_string())),
    })
}

/// The batches' timestamps. Only tools read them; the core owns no clock,
/// and neither the order nor the epochs depend on it.
fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod quorum_tests;
#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod tests;
