//! One writer, many readers: the metadata log behind a lock its writer holds
//! across an fsync, and the image it publishes as an immutable snapshot that
//! readers take without waiting for that writer.
//!
//! Kafka's brokers never read the metadata log to answer a request: a
//! `MetadataLoader` applies committed records and hands each new
//! `MetadataImage` to its publishers, and the `MetadataCache` that the
//! request handlers read is swapped to the new image in one step. spool does
//! the same in miniature:
//!
//! ```text
//!  CreateTopics, DeleteTopics,      ┌ metadata log lock (held across the fsync) ┐
//!  InitProducerId's block   ──────▶ │ MetadataLog::commit ─▶ new image           │
//!                                   │ publish: swap the Arc ──┐ (image lock,     │
//!                                   └──────────────────────── │  a pointer swap) ┘
//!                                                             ▼
//!  Metadata, DescribeConfigs,  ◀── image(): clone the Arc ── Arc<MetadataImage>
//!  FindCoordinator, the partition map            (never waits for an fsync)
//! ```
//!
//! A reader holds its `Arc` as long as it likes: a later commit publishes a
//! new image beside it, and the old one is freed when its last reader drops
//! it. Images are published in commit order (the writer swaps while it still
//! holds the log), so a reader never sees the cluster go back in time. This is
//! the seam chapter 6's replication needs: an applier compares the image it
//! last acted on with the newly published one and reacts to the difference.
//!
//! Poisoning follows the broker's rule ([`crate::broker`]): the metadata log
//! is a log writer, so a panic while it was held is fatal to every later
//! writer; the image cell only ever holds a whole `Arc`, so it is recovered.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use super::{Error, MetadataImage, MetadataLog, MetadataRecord};
use crate::log::LogError;

/// The metadata log and the last image it published.
#[derive(Debug)]
pub struct MetadataPublisher {
    /// The one writer. A std Mutex: held across the commit's append and fsync,
    /// never across an `.await`.
    log: Mutex<MetadataLog>,
    /// The image readers take: held only to clone or swap the `Arc`.
    published: RwLock<Arc<MetadataImage>>,
    /// The log's end offset after each commit or fetched append, for the
    /// tasks that wait for the metadata to change (a broker's metadata Fetch
    /// long-polling on the controller, the replica manager).
    end_offset: tokio::sync::watch::Sender<i64>,
}

impl MetadataPublisher {
    /// Publishes `log`'s image as the first one.
    pub fn new(log: MetadataLog) -> Self {
        let published = RwLock::new(log.image().clone());
        let (end_offset, _) = tokio::sync::watch::channel(log.end_offset());
        MetadataPublisher { log: Mutex::new(log), published, end_offset }
    }

    /// The last published image: a snapshot that later commits do not change.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.published.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The writer: the metadata log's lock, for as long as the returned guard
    /// lives. A panic while another writer held it is fatal (the log may
    /// disagree with its file), so this panics too.
    pub fn writer(&self) -> MetadataWriter<'_> {
        let log = self.log.lock().expect("a thread panicked while writing the metadata log");
        MetadataWriter { log, published: &self.published, end_offset: &self.end_offset }
    }

    /// Watches the log's end offset: it changes after each commit (or
    /// fetched append) has been published.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.end_offset.subscribe()
    }

    /// The metadata log's end offset: how far the published image has applied.
    pub fn end_offset(&self) -> i64 {
        *self.end_offset.borrow()
    }
}

/// The metadata log, locked for writing; each successful commit is published.
#[derive(Debug)]
pub struct MetadataWriter<'a> {
    log: MutexGuard<'a, MetadataLog>,
    published: &'a RwLock<Arc<MetadataImage>>,
    end_offset: &'a tokio::sync::watch::Sender<i64>,
}

impl MetadataWriter<'_> {
    /// The image as of the last commit: what a writer checks its records
    /// against (the same one readers see, since this writer holds the log).
    pub fn image(&self) -> &Arc<MetadataImage> {
        self.log.image()
    }

    // ANCHOR: publish
    /// Commits `records` as one batch ([`MetadataLog::commit`]) and, if it
    /// succeeded, publishes the new image. A failed commit publishes nothing.
    pub fn commit(&mut self, records: &[MetadataRecord], now_ms: i64) -> Result<(), Error> {
        self.log.commit(records, now_ms)?;
        self.publish();
        Ok(())
    }
    // ANCHOR_END: publish

    /// Appends batches fetched from the controller to this broker's copy of
    /// the metadata log ([`MetadataLog::append_fetched`]) and publishes the
    /// image they lead to.
    pub fn append_fetched(&mut self, batches: bytes::BytesMut) -> Result<(), Error> {
        self.log.append_fetched(batches)?;
        self.publish();
        Ok(())
    }

    /// Installs a snapshot fetched from the quorum's leader
    /// ([`MetadataLog::install_snapshot`]) and publishes its image.
    pub fn install_snapshot(&mut self, id: super::SnapshotId, bytes: &[u8]) -> Result<(), Error> {
        self.log.install_snapshot(id, bytes)?;
        self.publish();
        Ok(())
    }

    /// The log's end offset.
    pub fn end_offset(&self) -> i64 {
        self.log.end_offset()
    }

    fn publish(&mut self) {
        *self.published.write().unwrap_or_else(PoisonError::into_inner) = self.log.image().clone();
        self.end_offset.send_replace(self.log.end_offset());
    }

    /// Flushes the metadata log (for shutdown; every commit already did).
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.log.flush()
    }

    /// The metadata log's files, for tests that inject a failed fsync
    /// ([`crate::log::DiskStorage::fail_next_syncs`]).
    pub fn storage_mut(&mut self) -> &mut crate::log::DiskStorage {
        self.log.storage_mut()
    }
}
