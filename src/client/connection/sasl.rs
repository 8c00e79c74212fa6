//! A client's SASL login on a fresh connection (KIP-43, KIP-152): after
//! ApiVersions, SaslHandshake v1 names the mechanism, then SaslAuthenticate
//! carries its tokens — one for PLAIN, two round trips for SCRAM (RFC 5802,
//! the client proving its password and the broker proving it knows it too).
//!
//! ```text
//!   ApiVersions                        ──▶ ◀── versions
//!   SaslHandshake v1 "SCRAM-SHA-512"   ──▶ ◀── ok, enabled: [PLAIN, SCRAM-SHA-512]
//!   SaslAuthenticate(client-first)     ──▶ ◀── server-first
//!   SaslAuthenticate(client-final)     ──▶ ◀── server-final   (the client checks it)
//! ```
//!
//! The tokens come from `security::sasl` ([`plain::client_token`],
//! [`ScramClient`]); this module only moves them. A refused login is the
//! broker's error (SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM)
//! with its message, and the broker closes the connection after it, so the
//! caller must not reuse it.
//!
//! Simplifications: no re-authentication (KIP-368): the broker's
//! `session_lifetime_ms` is ignored, so on a listener with
//! `connections.max.reauth.ms` set the broker closes the connection at its
//! first request after the session ends.

use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;

use super::Connection;
use crate::client::ClientError;
use crate::security::sasl::login::SaslLogin;
use crate::security::sasl::scram::ScramClient;
use crate::security::sasl::{plain, random_nonce, Mechanism};

/// SaslHandshake v1: the tokens then travel framed in SaslAuthenticate.
const HANDSHAKE_VERSION: i16 = 1;
/// SaslAuthenticate v1 (v1 adds the session lifetime, which spool ignores).
const AUTHENTICATE_VERSION: i16 = 1;

impl Connection {
    /// Logs this connection in as `login` (a connection opened with a
    /// [`crate::client::Security`] that names a login already is): for a
    /// caller that opened it plain and authenticates by hand, as a test does.
    pub async fn authenticate(&mut self, login: &SaslLogin) -> Result<(), ClientError> {
        authenticate(self, login).await
    }
}

// ANCHOR: authenticate
/// Logs `connection` in as `login`; an error leaves it unusable.
pub(super) async fn authenticate(connection: &mut Connection, login: &SaslLogin) -> Result<(), ClientError> {
    let timeout = connection.request_timeout;
    let mechanism = login.mechanism.name();
    let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
    let response = connection.send_at(&handshake, HANDSHAKE_VERSION, timeout).await?;
    let addr = connection.addr.clone();
    ClientError::check(response.error_code, None, || {
        let offered: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
        format!("SaslHandshake {mechanism} to {addr} (the broker offers {offered:?})")
    })?;
    match login.mechanism {
        Mechanism::Plain => {
            exchange(connection, plain::client_token(&login.username, &login.password)).await?;
        }
        Mechanism::Scram(scram) => {
            let mut client = ScramClient::new(scram, &login.username, &login.password, random_nonce(24));
            let mut token = client.client_first();
            loop {
                let answer = exchange(connection, token).await?;
                let next = client.step(&answer).map_err(|e| {
                    ClientError::Protocol(format!("{mechanism} with {}: {e}", connection.addr))
                })?;
                match next {
                    Some(next) => token = next,
                    None => break,
                }
            }
        }
    }
    Ok(())
}
// ANCHOR_END: authenticate

/// One SaslAuthenticate round trip: our token out, the broker's back.
async fn exchange(connection: &mut Connection, token: Vec<u8>) -> Result<Bytes, ClientError> {
    let timeout = connection.request_timeout;
    let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
    let response = connection.send_at(&request, AUTHENTICATE_VERSION, timeout).await?;
    let message = response.error_message.as_ref().map(|m| m.to_string());
    let addr = connection.addr.clone();
    ClientError::check(response.error_code, message, || format!("SaslAuthenticate to {addr}"))?;
    Ok(response.auth_bytes)
}
