//! Kafka's record format: the bytes every other layer agrees on (`crate::format`).
//!
//! A record batch (magic v2) is what a producer builds, what the broker validates
//! and appends to a segment, what a follower copies and a consumer decodes — one
//! binary format end to end. Because every layer needs it and it needs none of
//! them, it sits at the bottom of the crate's imports:
//!
//! ```text
//!   tools ─▶ client ─▶ wire          broker ─▶ group, idempotence, log ─▶ format
//!                 └──────────────────────────────────────────────────────▶ format
//! ```
//!
//! - [`batch`]: the batch header, CRC-32C validation, and the few fields the
//!   broker rewrites in place ([`RecordBatch`], [`RecordBatchMut`]);
//! - [`record`]: one record inside a batch (key, value, timestamp, headers);
//! - [`varint`]: the zig-zag varints records are written with;
//! - [`compression`]: Kafka's framing of each codec around a batch's records;
//! - [`builder`]: encoding a batch, for producers, tools and tests
//!   ([`BatchBuilder`]);
//! - [`checkpoint`]: the text of Kafka's checkpoint files (recovery points,
//!   log starts, high watermarks, leader epochs), one codec for all four;
//! - [`retain`]: a batch rewritten with fewer records, or none, as the log
//!   cleaner writes it (chapter 10).
//!
//! This is chapter 1's format (`book/src/01-log.md`); chapter 4 adds the codecs
//! and chapter 8 the producer id, epoch and sequence of the header. Nothing here
//! touches a file, a socket or a clock.

pub mod batch;
pub mod builder;
pub mod checkpoint;
pub mod compression;
pub mod record;
pub mod retain;
pub mod varint;

pub use batch::{BatchError, RecordBatch, RecordBatchMut, TimestampType};
pub use builder::BatchBuilder;
pub use checkpoint::{CheckpointEntry, CheckpointError};
pub use compression::Compression;
