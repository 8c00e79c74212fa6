//! Chapter 10 — compaction: Kafka's log cleaner.
//!
//! (The segment-level driver and the crash-safe swap write the story of this
//! module; this file only declares the record-level rules.)
//!
//! - [`offset_map`]: the key → latest offset map of the dirty range, bounded
//!   by `log.cleaner.dedupe.buffer.size`;
//! - [`filter`]: one batch in, the batch to write out (or nothing) out.

pub mod filter;
pub mod offset_map;
