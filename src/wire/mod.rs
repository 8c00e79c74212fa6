//! Chapter 2 — the wire: Kafka's binary protocol over TCP.
//!
//! Every Kafka client speaks the same protocol: length-prefixed frames
//! ([`frame`]), each a request header and a body whose schema depends on the
//! API key and version ([`codec`]). Clients ask first which versions the broker
//! speaks (ApiVersions), then use the highest both know. Responses go back on
//! the same connection, in request order ([`server`]).
//!
//! This module only moves bytes. What a request means is decided behind the
//! [`handler::Handler`] trait, which the broker implements; `wire` imports
//! nothing of the broker's (nor of chapter 3's zero copy, whose fetch
//! responses write themselves through [`handler::WriteResponse`]):
//!
//! ```text
//!  client ─TCP─▶ server::serve ── accept; on EMFILE, back off (accept.rs)
//!                  └─ connection task, one per client
//!                       reader::FrameReader   frames; buffer grows with the bytes;
//!                       │                     queued.max.request.bytes pool
//!                       codec::decode_request
//!                       ▼
//!                  ═══ Handler::handle ═══▶  the broker (src/broker/handler.rs)
//!                       ▼
//!                  Response::Frame(bytes) ─▶ write_all
//!                  Response::Write(w)     ─▶ w.write_to(socket)  (a fetch: sendfile)
//!                  Response::None         ─▶ nothing (acks=0)
//! ```
//!
//! Under an SSL listener the socket is wrapped in a TLS session first
//! ([`transport::Stream`]), and a fetch's records are copied through it:
//! `sendfile` cannot encrypt.

pub mod accept;
pub mod codec;
pub mod frame;
pub mod handler;
pub mod mute;
pub mod reader;
pub mod sasl;
pub mod server;
#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod tls_tests;
pub mod transport;

pub use handler::{Handler, Response, WriteResponse};
pub use transport::Stream;
