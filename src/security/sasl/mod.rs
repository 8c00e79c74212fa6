//! SASL authentication (KIP-43, KIP-84, KIP-152): a SASL listener asks each
//! connection to prove who it is before it may do anything but ApiVersions.
//!
//! ```text
//!   client                                    broker (SASL_PLAINTEXT listener)
//!   ApiVersions                    ──▶  ◀──   versions (SaslHandshake, SaslAuthenticate among them)
//!   SaslHandshake v1 "SCRAM-SHA-512" ──▶ ◀──  ok, enabled: [PLAIN, SCRAM-SHA-512]
//!   SaslAuthenticate(client-first) ──▶  ◀──   server-first
//!   SaslAuthenticate(client-final) ──▶  ◀──   server-final        principal = User:alice
//!   Produce, Fetch, …              ──▶        every request carries User:alice
//! ```
//!
//! Kafka's broker reads its mechanisms from `sasl.enabled.mechanisms` and, per
//! listener, a JAAS line per mechanism
//! (`listener.name.<l>.plain.sasl.jaas.config`): PLAIN's lists its users and
//! passwords ([`plain`]); SCRAM's users live in the metadata log as
//! UserScramCredentialRecords, set by AlterUserScramCredentials ([`scram`]).
//!
//! The code is layered like the rest of spool: [`scram`] and [`plain`] are the
//! mechanisms, [`authenticator::Authenticator`] the connection's state machine
//! (sans-IO: requests in, answers out), and `wire::sasl` puts it behind the
//! wire server's per-connection seam (`wire::handler::Session`). The
//! transport under it is not its business, so SASL_SSL is the same code over TLS.
//!
//! A login is a session: with `connections.max.reauth.ms` set, it lasts that
//! long, and the client re-authenticates on the same connection before it
//! ends (KIP-368, [`authenticator`]), so a deleted credential or a changed
//! password stops a connection within one lifetime, not never.
//!
//! Simplifications: no GSSAPI (Kerberos) or OAUTHBEARER; SaslHandshake v0's
//! unframed tokens are not read.

pub mod authenticator;
pub mod jaas;
pub mod listener;
pub mod login;
pub mod plain;
#[cfg(test)]
mod reauth_tests;
pub mod scram;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use authenticator::ScramCredentials;
use scram::ScramMechanism;

/// A SASL mechanism spool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mechanism {
    Plain,
    Scram(ScramMechanism),
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(m) => m.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            other => ScramMechanism::from_name(other).map(Mechanism::Scram),
        }
    }
}

/// What one SASL listener accepts.
#[derive(Debug, Clone)]
pub struct SaslListener {
    /// `sasl.enabled.mechanisms`, in the order the handshake lists them.
    pub mechanisms: Vec<Mechanism>,
    /// PLAIN's users and passwords, from the listener's PlainLoginModule line.
    pub plain_users: BTreeMap<String, String>,
    /// SCRAM's credentials (the metadata image's, on a broker); `None` where
    /// there is no store, and then no SCRAM mechanism is enabled.
    pub scram: Option<Arc<dyn ScramCredentials>>,
    /// `connections.max.reauth.ms` by mechanism (Kafka's
    /// `listener.name.<l>.<mechanism>.connections.max.reauth.ms`, else the
    /// bare key): a session's lifetime; a mechanism not listed has none.
    pub max_reauth_ms: BTreeMap<Mechanism, u64>,
}

impl SaslListener {
    /// The lifetime of a session that logged in with `mechanism`; 0: no limit.
    pub fn connections_max_reauth_ms(&self, mechanism: Mechanism) -> u64 {
        self.max_reauth_ms.get(&mechanism).copied().unwrap_or(0)
    }
}

/// A fresh random nonce for SCRAM (or any other use): `bytes` random bytes,
/// base64 without `,` (SCRAM's printable characters).
pub fn random_nonce(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(buf)
}
