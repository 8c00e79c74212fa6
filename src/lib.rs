//! spool: Apache Kafka's design rebuilt in Rust, chapter by chapter.
//!
//! Each module is one chapter of the book in `book/`:
//!
//! | chapter | module |
//! |---|---|
//! | 1 the log | [`log`], its format in [`format`](mod@format) |
//! | 2 the wire | [`wire`], [`broker`], [`metadata`], [`config`] |
//! | 3 zero copy | [`zero_copy`] |
//! | 4 batching and compression | [`client::producer`], [`client::consumer`], [`log::validator`] |
//! | 5 consumer groups | [`group`], [`broker::groups`], [`client::group_consumer`], [`client::assignor`] |
//! | 6 replication | [`replication`] |
//! | 8 idempotence | [`idempotence`], [`log::producers`], [`broker::producer_ids`] |
//! | tools (`spool dump-log`) | [`tools`] |
//!
//! Protocol cores are sans-IO state machines; the models in `models/` check the
//! same code with stateright. Shared-memory structures are checked with loom
//! through the [`sync`] shim.

pub mod broker;
pub mod client;
pub mod config;
pub mod format;
pub mod group;
pub mod idempotence;
pub mod log;
pub mod metadata;
pub mod replication;
pub mod sync;
pub mod tools;
pub mod topic_partition;
pub mod wire;
pub mod zero_copy;

pub use topic_partition::TopicPartition;
