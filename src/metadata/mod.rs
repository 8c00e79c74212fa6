//! Cluster metadata, the KRaft way: topics, partitions and configs are records
//! in a log, `__cluster_metadata-0`, and every broker's view of the cluster is
//! the [`MetadataImage`] built by applying that log in order.
//!
//! ```text
//!  CreateTopics ──▶ controller ──append──▶ __cluster_metadata-0
//!                                           │ TopicRecord
//!                                           │ PartitionRecord ×N
//!                                           │ ConfigRecord ×M
//!                                           ▼
//!                                  apply ──▶ MetadataImage ──▶ Metadata responses
//! ```
//!
//! On a single node the quorum is one voter, so a record is committed as soon
//! as it is appended (and flushed: the metadata log is always durable).
//! Chapter 7 replaces that one voter with an elected Raft quorum; the records
//! and the image stay as they are.
//!
//! Simplifications: the metadata log is one more partition log in the log
//! directory; Kafka keeps it in the controller's own directory with snapshots.

pub mod image;
pub mod records;

pub use image::{MetadataImage, PartitionImage, TopicImage};
pub use records::MetadataRecord;

use bytes::BytesMut;

use crate::format::BatchBuilder;
use crate::log::{DiskStorage, Log, LogError};

/// The metadata topic's partition directory name.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// The single-voter metadata quorum: a log and the image applied from it.
#[derive(Debug)]
pub struct MetadataLog {
    log: Log<DiskStorage>,
    image: MetadataImage,
}

impl MetadataLog {
    /// Replays `log` from its start into a fresh image.
    pub fn load(log: Log<DiskStorage>) -> Result<Self, LogError> {
        let mut image = MetadataImage::default();
        for batch in log.read_batches(log.log_start_offset())? {
            for record in batch.decode_records()? {
                let value = record.value.unwrap_or_default();
                let record = MetadataRecord::decode(&value)
                    .map_err(|e| LogError::CorruptBatch(crate::format::BatchError::InvalidRecords(e)))?;
                image
                    .apply(&record)
                    .map_err(|e| LogError::CorruptBatch(crate::format::BatchError::InvalidRecords(e)))?;
            }
        }
        Ok(MetadataLog { log, image })
    }

    // ANCHOR: metadata_commit
    /// Commits `records` as one batch — all of them or none — then applies them.
    pub fn commit(&mut self, records: &[MetadataRecord], now_ms: i64) -> Result<(), LogError> {
        let mut trial = self.image.clone();
        for record in records {
            trial
                .apply(record)
                .map_err(|e| LogError::CorruptBatch(crate::format::BatchError::InvalidRecords(e)))?;
        }
        let mut batch = BatchBuilder::default();
        for record in records {
            batch.append(now_ms, None, Some(&record.encode()), &[]);
        }
        self.log.append_durable(BytesMut::from(&batch.build().as_bytes()[..]), 0, now_ms)?;
        self.image = trial;
        Ok(())
    }
    // ANCHOR_END: metadata_commit

    /// Flushes the metadata log (every commit already did; this is for shutdown).
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.log.flush()
    }

    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// The committed offset: how far the image has applied.
    pub fn end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }
}
