//! Chapter 11 — security: who is on the other end of a connection.
//!
//! Kafka authenticates a connection by the security protocol of the listener
//! it came in on (`listener.security.protocol.map`): PLAINTEXT trusts the
//! network and calls everyone `User:ANONYMOUS`; SSL encrypts, and with
//! `ssl.client.auth=required` names the client by its certificate's subject
//! (`User:CN=alice,OU=eng`); SASL_* add a login on top. The principal rides
//! on every request, for the authorizer to judge.
//!
//! [`tls`] is the TLS half: Kafka's `ssl.*` keys read into rustls
//! configurations for a listener and for spool's own client, and the
//! principal of a client certificate. It imports nothing of spool's: the wire
//! server, the configuration and the client all use it.

pub mod tls;

/// The principal of a connection that did not authenticate (PLAINTEXT, or
/// SSL without a client certificate), as Kafka names it.
pub const ANONYMOUS: &str = "User:ANONYMOUS";
