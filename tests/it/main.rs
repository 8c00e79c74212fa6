//! Every integration test of spool, in one test binary.
//!
//! Each file here was once a test binary of its own (`tests/it/log.rs`,
//! `tests/it/console.rs`, …): about seventy crates that each compiled the shared
//! helpers in `common/` and `wire/harness.rs` again, instantiated spool's and
//! tokio's generics again and linked a large static binary again, which was
//! most of CI's build time. As modules of one crate they compile and link
//! once; a file's tests keep their names behind the file's module
//! (`console::parse_headers_then_print_headers`).
//!
//! Run one file's tests by that prefix:
//!
//! ```text
//! cargo test --release --test it console::
//! cargo nextest run --release -E 'test(/^console::/)'
//! ```
//!
//! nextest (what `scripts/test.sh` runs) gives each test a process of its
//! own, as separate binaries did; plain `cargo test` runs the tests of all
//! files as threads of one process, so tests that spawn clients or clusters
//! take turns through `common::turn`, whichever way they are run.
//!
//! `tests/loom.rs` stays a binary of its own: it is built with
//! `RUSTFLAGS="--cfg spool_loom"` in a target directory of its own.

mod acl;
mod acl_enforcement;
mod aclmore_enforcement;
mod aclmore_tool;
mod admin17_clients;
mod admin17_limits;
mod admin_createpartitions;
mod admin_createpartitions_clients;
mod admin_deleterecords;
mod admin_deleterecords_clients;
mod admin_deleterecords_cluster;
mod admin_offsetdelete;
mod admin_offsetdelete_clients;
mod admin_offsetdelete_cluster;
mod alterconfigs;
mod batching;
mod cli;
mod cluster;
mod cluster_cli;
mod cluster_clients;
mod cluster_faults;
mod cluster_harness;
mod common;
mod compaction;
mod compaction_clients;
mod configdef_clients;
mod configglue;
mod configglue_cluster;
mod console;
mod describetp;
mod describetp_clients;
mod describetp_record_errors;
mod dump_log;
mod group;
mod group_clients;
mod group_cluster;
mod group_consumer;
mod idempotence;
mod idempotence_clients;
mod kraft_combined;
mod kraft_failover;
mod kraft_snapshot;
mod kraft_trace;
mod kraft_wire;
mod log;
mod producer;
mod quotas;
mod quotas_throttle;
mod reauth_clients;
mod sasl;
mod saslssl_cluster;
mod scram;
mod scram_bootstrap;
mod scram_clients;
mod security_clients;
mod security_tools;
mod tls;
mod transactions;
mod transactions_cli;
mod transactions_clients;
mod transactions_cluster;
mod transactions_offsets;
mod transactions_v2;
mod transactions_verify;
mod transactions_wire;
mod tsbounds;
mod wire;
mod wire_clients;
mod wire_fuzz;
mod zero_copy;
