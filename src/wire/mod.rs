//! Chapter 2 — the wire: Kafka's binary protocol over TCP.
//!
//! Every Kafka client speaks the same protocol: length-prefixed frames
//! ([`frame`]), each a request header and a body whose schema depends on the
//! API key and version ([`codec`]). Clients ask first which versions the broker
//! speaks (ApiVersions), then use the highest both know. Responses go back on
//! the same connection, in request order ([`server`]).
//!
//! The broker's handlers live in [`crate::broker`]; this module only moves bytes.

pub mod codec;
pub mod frame;
pub mod server;
