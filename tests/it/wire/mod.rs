//! Chapter 2's broker over real TCP, in-process: each test starts a broker on
//! 127.0.0.1:0 with its log directory in a tempdir, talks to it with a raw client
//! built from `kafka-protocol`'s codecs and Kafka's 4-byte framing, and checks the
//! answers against what Apache Kafka does.
//!
//! ```text
//! cargo test --release --test it wire::
//! ```
//!
//! The client here is deliberately tiny — encode a header and a body, write a
//! frame, read a frame, decode — so a test shows the bytes' meaning and nothing
//! else. Real clients (kcat, librdkafka, kafka-python, …) are `tests/it/wire_clients.rs`.
//!
//! Every read has a timeout, so a broker that hangs fails a test instead of
//! hanging it. Timing assertions are loose on purpose (a long poll is "answered
//! before 4 s", not "within 5 ms"): CI machines are slow and noisy.
//!
//! The tests are grouped by concern, one module each: `api_versions`, `topics`
//! (CreateTopics, DeleteTopics, Metadata, DescribeConfigs), `produce`, `fetch`
//! (long polling and ListOffsets included), `offsets_for_leader_epoch`, `bad_input`, `durability` and
//! `queued_requests` (`queued.max.request.bytes`).
//! `harness` starts and stops the in-process broker and holds the raw client;
//! `requests` builds the requests the tests send again and again, and
//! `batches` (`tests/it/common/`, shared with the other test files) their record batches.

pub mod harness;
pub mod requests;

mod api_versions;
mod bad_input;
mod durability;
mod fetch;
mod offsets_for_leader_epoch;
mod produce;
mod queued_requests;
mod topics;
