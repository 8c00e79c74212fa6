//! spool: Apache Kafka's design rebuilt in Rust, chapter by chapter.
//!
//! Each module is one chapter of the book in `book/`:
//!
//! | chapter | module |
//! |---|---|
//! | 1 the log | [`log`], its format in [`format`](mod@format) |
//! | 2 the wire | [`wire`], [`broker`], [`metadata`], [`config`], [`TopicPartition`] |
//! | 3 zero copy | [`zero_copy`] |
//! | 4 batching and compression | [`client::producer`], [`client::consumer`], [`log::validator`] |
//! | 5 consumer groups | [`group`], [`broker::groups`], [`client::group_consumer`], [`client::assignor`] |
//! | 6 replication (the core and its model; not yet run by the broker) | [`replication`], [`controller`] |
//! | 7 KRaft (the Raft core and its model; not yet run by the controllers) | [`raft`] |
//! | 8 idempotence | [`idempotence`], [`log::producers`], [`broker::producer_ids`] |
//! | 9 transactions (the coordinator core; not yet run by the broker) | [`txn`] |
//! | 11 security (SASL authentication) | [`security`] |
//! | tools (`spool dump-log`) | [`tools`] |
//!
//! Protocol cores are sans-IO state machines; the models in `models/` check the
//! same code with stateright. Shared-memory structures are checked with loom
//! through the [`sync`] shim.
//!
//! Imports between these modules run one way, checked by
//! `scripts/check-imports.py` in the test command: the tools use the client,
//! the client and the broker use [`wire`]; the broker drives the cores
//! ([`group`], [`idempotence`], [`log`], [`metadata`]), and everything rests on
//! the record [`format`](mod@format), [`TopicPartition`] and [`sync`], which
//! import nothing of spool's.

pub mod broker;
pub mod client;
pub mod config;
pub mod controller;
pub mod format;
pub mod group;
pub mod idempotence;
pub mod log;
pub mod metadata;
pub mod node;
pub mod quotas;
pub mod raft;
pub mod replication;
pub mod security;
pub mod sync;
pub mod tools;
pub mod topic_partition;
pub mod txn;
pub mod wire;
pub mod zero_copy;

pub use topic_partition::TopicPartition;
