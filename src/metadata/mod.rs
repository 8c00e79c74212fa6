//! Cluster metadata, the KRaft way: brokers' registrations, topics,
//! partitions and their leadership changes, and configs are records in a
//! log, `__cluster_metadata-0`, and every broker's view of the cluster is the
//! [`MetadataImage`] built by applying that log in order.
//!
//! ```text
//!  CreateTopics ──▶ controller ──append──▶ __cluster_metadata-0
//!                                           │ TopicRecord
//!                                           │ ConfigRecord ×M
//!                                           │ PartitionRecord ×N
//!                                           ▼
//!                                  apply ──▶ MetadataImage ──publish (Arc)──▶ Metadata responses
//! ```
//!
//! The commit holds the log's lock across its fsync; readers never take that
//! lock, they clone the last published image ([`publisher`]).
//!
//! The same records and image serve three places:
//!
//! - **The controllers of a cluster** keep the log as the KRaft quorum's Raft
//!   log ([`quorum_log`]: the core's log on disk, in Kafka's format); a
//!   record is committed once a majority of the voters hold it, and each
//!   voter applies what is committed to its own image
//!   ([`crate::node::quorum`]).
//! - **A broker of a cluster** keeps a copy, [`MetadataLog`], that it fills
//!   with the committed batches it fetches from the quorum's leader
//!   ([`MetadataLog::append_fetched`]).
//! - **The single-node broker** is its own quorum of one voter: its
//!   [`MetadataLog`] commits a record as soon as it is appended and flushed.
//!   A commit whose append or fsync fails is cut back out of the log before
//!   the error returns, so the log and the image never disagree, and the
//!   failed fsync leaves the log offline: every later commit fails too, until
//!   a restart replays whatever reached the disk. (Kafka's controller treats
//!   a metadata log write failure as fatal and exits; spool's broker stays up
//!   to answer `KAFKA_STORAGE_ERROR`, see [`crate::broker::log_dir`].)
//!
//! What to write is decided by the controller's sans-IO core,
//! [`crate::controller`].
//!
//! Simplifications: the metadata log is one more partition log in the log
//! directory; Kafka keeps it in the controller's own directory. Snapshots are
//! in Kafka's format ([`snapshot`]); the quorum's log takes them and loads the
//! latest at start ([`quorum_log`], chapter 7).

pub mod image;
pub mod publisher;
pub mod quorum_log;
pub mod records;
pub mod snapshot;

pub use image::{ImageError, MetadataImage, PartitionImage, TopicImage};
pub use publisher::{MetadataPublisher, MetadataWriter};
pub use quorum_log::QuorumLog;
pub use records::{DecodeError, MetadataRecord};
pub use snapshot::{SnapshotError, SnapshotId};

use std::sync::Arc;

use bytes::BytesMut;

use crate::format::BatchBuilder;
use crate::log::{DiskStorage, Log, LogError};

/// The metadata topic (its partition directory is `__cluster_metadata-0`).
pub use crate::raft::METADATA_TOPIC;

/// Why a metadata commit or load failed. The caller treats the two causes
/// differently: a storage failure takes the log directory offline
/// (`KAFKA_STORAGE_ERROR`); a refused or unreadable record does not, since the
/// disk did nothing wrong.
#[derive(Debug)]
pub enum Error {
    /// The metadata log's append, fsync or read failed. After a failed
    /// commit the log is cut back and offline ([`MetadataLog::commit`]).
    Log(LogError),
    /// The image refused a record: nothing was written (a commit) or the
    /// replayed log is corrupt (a load).
    Image(ImageError),
    /// A record in the metadata log does not decode: a corrupt log, found
    /// while loading it.
    UndecodableRecord { offset: i64, cause: records::DecodeError },
    /// A snapshot (the latest at load, or one fetched from the quorum's
    /// leader) cannot be written or read: the copy keeps what it had.
    Snapshot(SnapshotError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Log(e) => write!(f, "metadata log: {e}"),
            Error::Image(e) => write!(f, "metadata image refused a record: {e}"),
            Error::UndecodableRecord { offset, cause } => {
                write!(f, "metadata log record at offset {offset} does not decode: {cause}")
            }
            Error::Snapshot(e) => write!(f, "metadata snapshot: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<LogError> for Error {
    fn from(e: LogError) -> Self {
        Error::Log(e)
    }
}

impl From<ImageError> for Error {
    fn from(e: ImageError) -> Self {
        Error::Image(e)
    }
}

/// A metadata log and the image applied from it: the single-node broker's
/// quorum of one voter, or a cluster broker's copy of the quorum's log.
#[derive(Debug)]
pub struct MetadataLog {
    log: Log<DiskStorage>,
    /// Replaced whole by each commit, never changed in place, so a reader
    /// holding an earlier one keeps a consistent snapshot ([`publisher`]).
    image: Arc<MetadataImage>,
}

impl MetadataLog {
    /// Loads the latest snapshot in the log's directory, if any (a cluster
    /// broker's copy installs them, [`MetadataLog::install_snapshot`]), then
    /// replays the log after it into the image.
    pub fn load(mut log: Log<DiskStorage>) -> Result<Self, Error> {
        let dir = log.storage().path().to_path_buf();
        let (mut image, from) = match snapshot::latest_snapshot(&dir).map_err(Error::Snapshot)? {
            Some(id) => {
                let (_, image) =
                    snapshot::read_snapshot(&snapshot::snapshot_path(&dir, id)).map_err(Error::Snapshot)?;
                if log.log_end_offset() < id.end_offset {
                    // Installed, then a crash before the log was reset: finish it.
                    log.truncate_fully_and_start_at(id.end_offset)?;
                }
                (image, id.end_offset.max(log.log_start_offset()))
            }
            None => (MetadataImage::default(), log.log_start_offset()),
        };
        // Control batches (the quorum's LeaderChange entries) hold no metadata record.
        for batch in log.read_batches(from)?.into_iter().filter(|b| !b.is_control()) {
            for record in batch.decode_records().map_err(LogError::from)? {
                let value = record.value.unwrap_or_default();
                let offset = record.offset;
                if offset < from {
                    continue; // in the snapshot already
                }
                let record = MetadataRecord::decode(&value)
                    .map_err(|cause| Error::UndecodableRecord { offset, cause })?;
                image.apply(&record)?;
            }
        }
        Ok(MetadataLog { log, image: Arc::new(image) })
    }

    // ANCHOR: metadata_install_snapshot
    /// A broker's copy installs the snapshot `bytes` (of id `id`) fetched
    /// from the quorum's leader because its fetch offset fell below the
    /// leader's log start: the file is checked whole and its image built
    /// before anything changes, written durably next to the log, and only
    /// then is the log emptied to start at the snapshot's end.
    pub fn install_snapshot(&mut self, id: SnapshotId, bytes: &[u8]) -> Result<(), Error> {
        let decoded = snapshot::decode_snapshot(bytes).map_err(Error::Snapshot)?;
        let mut image = MetadataImage::default();
        for (offset, record) in &decoded.records {
            image
                .apply(record)
                .map_err(|error| Error::Snapshot(SnapshotError::Image { offset: *offset, error }))?;
        }
        let dir = self.log.storage().path().to_path_buf();
        match snapshot::write_snapshot_bytes(&dir, id, bytes) {
            Ok(_) | Err(SnapshotError::AlreadyExists(_)) => {}
            Err(e) => return Err(Error::Snapshot(e)),
        }
        self.log.truncate_fully_and_start_at(id.end_offset)?;
        snapshot::delete_snapshots_before(&dir, id).map_err(Error::Snapshot)?;
        self.image = Arc::new(image);
        Ok(())
    }
    // ANCHOR_END: metadata_install_snapshot

    // ANCHOR: metadata_commit
    /// Commits `records` as one batch — all of them or none — then applies them.
    pub fn commit(&mut self, records: &[MetadataRecord], now_ms: i64) -> Result<(), Error> {
        let mut trial = MetadataImage::clone(&self.image);
        for record in records {
            trial.apply(record)?;
        }
        let mut batch = BatchBuilder::default();
        for record in records {
            batch.append(now_ms, None, Some(&record.encode()), &[]);
        }
        let first_offset = self.log.log_end_offset();
        let durable = self
            .log
            .append(BytesMut::from(&batch.build().as_bytes()[..]), 0, now_ms)
            .and_then(|_| self.log.flush());
        if let Err(e) = durable {
            // Not committed: cut the batch back out, so the log ends where the
            // image does. The failed fsync took the log offline, so nothing
            // after this commits either (Kafka's controller exits here).
            self.log.truncate_to(first_offset)?;
            return Err(Error::Log(e));
        }
        self.image = Arc::new(trial);
        Ok(())
    }
    // ANCHOR_END: metadata_commit

    // ANCHOR: metadata_replica
    /// A broker's copy of the metadata log takes the batches its Fetch
    /// brought, as they are (offsets kept), and applies their records. The
    /// quorum's leader serves only batches below its high watermark, so every
    /// fetched record is committed and the copy never has to truncate. A
    /// record the image refuses, or one that does not decode,
    /// cuts the appended batches back out: the copy keeps matching its image.
    pub fn append_fetched(&mut self, batches: BytesMut) -> Result<(), Error> {
        let first_offset = self.log.log_end_offset();
        self.log.append_as_follower(batches)?;
        let mut trial = MetadataImage::clone(&self.image);
        let applied = (|| {
            for batch in self.log.read_batches(first_offset)?.into_iter().filter(|b| !b.is_control()) {
                for record in batch.decode_records().map_err(LogError::from)? {
                    let value = record.value.unwrap_or_default();
                    let offset = record.offset;
                    let record = MetadataRecord::decode(&value)
                        .map_err(|cause| Error::UndecodableRecord { offset, cause })?;
                    trial.apply(&record)?;
                }
            }
            Ok::<(), Error>(())
        })();
        if let Err(e) = applied {
            self.log.truncate_to(first_offset)?;
            return Err(e);
        }
        self.log.flush()?;
        self.image = Arc::new(trial);
        Ok(())
    }
    // ANCHOR_END: metadata_replica

    /// Flushes the metadata log (every commit already did; this is for shutdown).
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.log.flush()
    }

    /// The metadata log's files (fault injection in tests).
    pub fn storage_mut(&mut self) -> &mut DiskStorage {
        self.log.storage_mut()
    }

    pub fn image(&self) -> &Arc<MetadataImage> {
        &self.image
    }

    /// The committed offset: how far the image has applied.
    pub fn end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{LogConfig, OpenOptions};

    fn open(dir: &std::path::Path) -> MetadataLog {
        let storage = DiskStorage::open(dir).unwrap();
        let (log, _) = Log::open(storage, LogConfig::default(), OpenOptions::default(), 0).unwrap();
        MetadataLog::load(log).unwrap()
    }

    fn topic(name: &str) -> MetadataRecord {
        MetadataRecord::Topic { name: name.into(), topic_id: uuid::Uuid::new_v4() }
    }

    /// A broker's copy installs a snapshot from the leader (KIP-630): its
    /// image becomes the snapshot's, its log starts at the snapshot's end,
    /// and a restart loads the snapshot then the log after it. A damaged
    /// snapshot changes nothing.
    #[test]
    fn an_installed_snapshot_is_the_image_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path());
        log.commit(&[topic("old")], 0).unwrap();
        let mut leader = MetadataImage::default();
        leader.apply(&topic("a")).unwrap();
        leader.apply(&topic("b")).unwrap();
        let id = SnapshotId { end_offset: 40, epoch: 2 };
        let bytes = snapshot::encode_snapshot(id, &leader.records(), 0, 0);
        assert!(log.install_snapshot(id, &bytes[..bytes.len() - 1]).is_err(), "a cut snapshot");
        assert!(log.image().topic("old").is_some() && log.end_offset() == 1, "nothing changed");

        log.install_snapshot(id, &bytes).unwrap();
        assert_eq!(**log.image(), leader);
        assert_eq!(log.end_offset(), 40);
        log.commit(&[topic("c")], 0).unwrap();
        drop(log);
        let log = open(dir.path());
        assert!(log.image().topic("a").is_some() && log.image().topic("c").is_some());
        assert!(log.image().topic("old").is_none());
        assert_eq!(log.end_offset(), 41);
    }

    /// A record the image refuses is a metadata error, not a storage one, and
    /// nothing of its commit is written: the log, the image and the next
    /// commit carry on as if it had not been tried.
    #[test]
    fn a_refused_record_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut metadata = open(dir.path());
        let end = metadata.end_offset();
        let unknown = uuid::Uuid::new_v4();
        let refused =
            metadata.commit(&[topic("partly"), MetadataRecord::RemoveTopic { topic_id: unknown }], 0);
        assert!(matches!(refused, Err(Error::Image(ImageError::RemovalOfUnknownTopic(id))) if id == unknown));
        assert_eq!(metadata.end_offset(), end);
        assert!(metadata.image().topic("partly").is_none());
        metadata.commit(&[topic("next")], 0).unwrap();
        assert!(metadata.image().topic("next").is_some());
    }

    /// A second TopicRecord for a name (or an id) the image holds is refused,
    /// not applied over the first: replacing it would leave the old id
    /// pointing at a name that no longer means it, and its partitions gone.
    #[test]
    fn a_topic_record_for_an_existing_name_or_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut metadata = open(dir.path());
        let first = uuid::Uuid::new_v4();
        metadata.commit(&[MetadataRecord::Topic { name: "t".into(), topic_id: first }], 0).unwrap();
        let again = metadata.commit(&[topic("t")], 0);
        assert!(matches!(again, Err(Error::Image(ImageError::DuplicateTopic { .. }))), "{again:?}");
        let same_id = metadata.commit(&[MetadataRecord::Topic { name: "u".into(), topic_id: first }], 0);
        assert!(matches!(same_id, Err(Error::Image(ImageError::DuplicateTopic { .. }))), "{same_id:?}");
        assert_eq!(metadata.image().topic("t").unwrap().topic_id, first);
        assert!(metadata.image().topic("u").is_none());
    }

    /// A commit whose fsync fails is not half done: the log is cut back to
    /// where the image is, in memory and on a reopen, and the failed fsync
    /// leaves the log refusing later commits (Kafka's controller treats a
    /// metadata log write failure as fatal).
    #[test]
    fn a_failed_commit_leaves_log_and_image_agreeing() {
        let dir = tempfile::tempdir().unwrap();
        let mut metadata = open(dir.path());
        metadata.commit(&[topic("kept")], 0).unwrap();
        let end = metadata.end_offset();
        metadata.log.storage_mut().fail_next_syncs(1);
        assert!(matches!(metadata.commit(&[topic("lost")], 0), Err(Error::Log(LogError::Io(_)))));
        assert!(metadata.image().topic("lost").is_none());
        assert_eq!(metadata.end_offset(), end, "the log holds a record the image never applied");
        assert!(matches!(metadata.commit(&[topic("later")], 0), Err(Error::Log(LogError::LogDirOffline(_)))));
        let image = metadata.image().clone();
        drop(metadata);
        assert_eq!(open(dir.path()).image(), &image, "a restart replays what the image held");
    }
}
