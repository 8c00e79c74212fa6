//! Helpers the test files share: one module each, compiled once in this
//! binary, used as `crate::common::…`. (The benches include `batches.rs` and
//! `cluster/` by `#[path]`, and `src/wire/tls_tests.rs` includes
//! `tls/certs.rs` the same way.)
//!
//! - `acl`: the ACL tests' authorizer settings and ACL entries.
//! - `batches`: the record batches tests produce, built by one loop.
//! - `clients`: where the real clients' scripts, Python and kafkajs are.
//! - `cluster`: clusters of `spool` processes behind fault-injecting proxies.
//! - `serve`: `spool serve` as a child process.
//! - `turn`: the lock that makes real-client and cluster tests take turns.

pub mod acl;
pub mod batches;
pub mod clients;
pub mod cluster;
pub mod serve;
pub mod turn;
