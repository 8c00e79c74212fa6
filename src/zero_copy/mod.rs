//! Chapter 3 — zero copy: record bytes go from the page cache to the socket
//! without passing through the broker's memory.
//!
//! A producer, the log and a consumer all hold records in one format, the v2
//! record batch (chapter 1). The broker never needs to look inside a batch it
//! serves, so a fetch response is a few dozen bytes of headers around byte
//! ranges of segment files. Kafka sends those ranges with `sendfile(2)`
//! (`FileChannel.transferTo`): the kernel moves them from the page cache to the
//! socket, and the broker's CPU and memory never touch a record byte.
//!
//! ```text
//!  copying path (spool.fetch.zero.copy=false)     zero-copy path (the default)
//!
//!  disk ─▶ page cache ─read()─▶ broker buffer      disk ─▶ page cache ──────┐
//!                                   │ encode                                │ sendfile()
//!                      response buffer                   headers ─write()─▶ │
//!                                   │ write()                               ▼
//!                              socket buffer ─▶ NIC              socket buffer ─▶ NIC
//! ```
//!
//! How spool does it:
//!
//! 1. The fetch handler ([`crate::broker::fetch`]) finds, under each log's lock,
//!    the [`Region`] to send — an open segment file, a position and a length —
//!    and builds a [`FetchReply`]: every field of Kafka's `FetchResponse` except
//!    the record bytes, which stay on disk.
//! 2. The broker answers the wire server with a response that writes itself
//!    ([`crate::wire::Response::Write`]), and when the server hands it the socket,
//!    [`send::send_fetch`] asks the switch `spool.fetch.zero.copy`:
//!    - on: [`encode`] writes the response's headers by hand, with each
//!      partition's records left as a region, and [`send`] writes the header
//!      bytes and `sendfile`s the regions, in order, on the non-blocking socket;
//!    - off: [`FetchReply::read_into_response`] reads the regions into memory and
//!      the response goes through the codec like any other — the naive path,
//!      kept so the two can be measured against each other.
//!
//!    Both produce the same bytes on the wire (`tests/it/zero_copy.rs` proves it,
//!    and a property test in [`encode`] compares the hand encoder with the
//!    codec crate's for every version).
//! 3. [`ZeroCopyStats`] counts `sendfile` calls and the bytes they moved, and the
//!    bytes the copying path read: the seam a test uses to prove that the
//!    zero-copy path really calls `sendfile`, and that it copies nothing.
//!
//! A region keeps its segment file open (`Arc<File>`), so retention deleting the
//! segment mid-send changes nothing: the inode lives until the send is done.
//! A segment *truncated* mid-send (a follower truncating to its leader, chapter
//! 6) is different: `sendfile` comes up short, the response's size prefix can no
//! longer be honoured, and the connection is closed — as Kafka does
//! (`FileRecords.writeTo` throws "Size of FileRecords … has been truncated").
//!
//! Where Kafka loses zero copy: TLS (the kernel cannot encrypt for the JVM's
//! SSLEngine, so records are read into memory and encrypted there; kernel TLS
//! could bring it back), and message-format down-conversion for consumers older
//! than the log's format (KIP-283), which rebuilds the batches in memory.
//!
//! Simplifications: Fetch versions 4–12 (what spool speaks); fields that only
//! replication fills (`diverging_epoch`, `current_leader`, `snapshot_id`) are
//! refused by the hand encoder until chapter 6 needs them; `sendfile` is Linux
//! only — elsewhere the zero-copy switch falls back to copying.

pub mod encode;
pub mod send;

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchResponse, TopicName};

use crate::log::storage::ReadAt;
use crate::log::FileRegion;

/// A byte range of an open segment file: what `sendfile` sends.
pub type Region = FileRegion<Arc<File>>;

// ANCHOR: reply
/// A fetch response whose record bytes are still in segment files.
#[derive(Debug, Clone)]
pub struct FetchReply<H = Arc<File>> {
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub session_id: i32,
    pub topics: Vec<FetchTopic<H>>,
}

/// One topic of a [`FetchReply`].
#[derive(Debug, Clone)]
pub struct FetchTopic<H = Arc<File>> {
    pub name: TopicName,
    pub partitions: Vec<FetchPartition<H>>,
}

/// One partition: every field of Kafka's `PartitionData`; its records are
/// `region` when there is one (`data.records` is then ignored), else
/// `data.records` (empty, or null for a partition in error).
#[derive(Debug, Clone)]
pub struct FetchPartition<H = Arc<File>> {
    pub data: PartitionData,
    pub region: Option<FileRegion<H>>,
}
// ANCHOR_END: reply

impl<H> Default for FetchReply<H> {
    fn default() -> Self {
        FetchReply { throttle_time_ms: 0, error_code: 0, session_id: 0, topics: Vec::new() }
    }
}

impl<H> FetchPartition<H> {
    /// Bytes of records this partition carries.
    pub fn records_len(&self) -> usize {
        match &self.region {
            Some(region) => region.length as usize,
            None => self.data.records.as_ref().map_or(0, Bytes::len),
        }
    }
}

impl<H: ReadAt> FetchReply<H> {
    // ANCHOR: copying_path
    /// The copying path: reads every region into memory and returns the response
    /// for the codec, with the number of record bytes copied.
    pub fn read_into_response(self) -> io::Result<(FetchResponse, u64)> {
        let mut copied = 0;
        let mut responses = Vec::with_capacity(self.topics.len());
        for topic in self.topics {
            let mut partitions = Vec::with_capacity(topic.partitions.len());
            for p in topic.partitions {
                let data = match p.region {
                    Some(region) => {
                        let bytes = region.read_bytes()?;
                        copied += bytes.len() as u64;
                        p.data.with_records(Some(bytes))
                    }
                    None => p.data,
                };
                partitions.push(data);
            }
            responses
                .push(FetchableTopicResponse::default().with_topic(topic.name).with_partitions(partitions));
        }
        let response = FetchResponse::default()
            .with_throttle_time_ms(self.throttle_time_ms)
            .with_error_code(self.error_code)
            .with_session_id(self.session_id)
            .with_responses(responses);
        Ok((response, copied))
    }
    // ANCHOR_END: copying_path
}

// ANCHOR: stats
/// What the two fetch paths did, counted where it happens: the seam that shows
/// the zero-copy path calls `sendfile` and copies no record byte.
#[derive(Debug, Default)]
pub struct ZeroCopyStats {
    /// `sendfile` calls that moved at least one byte.
    pub sendfile_calls: AtomicU64,
    /// Bytes `sendfile` moved from segment files to sockets.
    pub sendfile_bytes: AtomicU64,
    /// Record bytes the copying path read into memory.
    pub copied_bytes: AtomicU64,
}
// ANCHOR_END: stats

impl ZeroCopyStats {
    pub fn sendfile_calls(&self) -> u64 {
        self.sendfile_calls.load(Ordering::Relaxed)
    }
    pub fn sendfile_bytes(&self) -> u64 {
        self.sendfile_bytes.load(Ordering::Relaxed)
    }
    pub fn copied_bytes(&self) -> u64 {
        self.copied_bytes.load(Ordering::Relaxed)
    }
}
