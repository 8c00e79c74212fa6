//! Logging in on a SASL listener from spool's client (chapter 11, issue 19):
//! what Kafka's `SaslClientAuthenticator` does after ApiVersions.
//!
//! ```text
//!  SaslHandshake v1 (mechanism)      ──▶ ◀── ok, or UNSUPPORTED_SASL_MECHANISM + the enabled list
//!  PLAIN:  SaslAuthenticate(\0user\0password)                 ──▶ ◀── ok or SASL_AUTHENTICATION_FAILED
//!  SCRAM:  SaslAuthenticate(client-first) ──▶ ◀── server-first
//!          SaslAuthenticate(client-final) ──▶ ◀── server-final (the client checks the server's signature)
//! ```
//!
//! A refusal is the broker's error code and message; the broker closes the
//! connection after it, so the connection is not used again.
//!
//! Simplification: no re-authentication (KIP-368).

use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;

use super::Connection;
use crate::client::ClientError;
use crate::security::sasl::scram::ScramClient;
use crate::security::sasl::{plain, random_nonce, Mechanism};

/// Who to log in as, and how (Kafka's `sasl.mechanism` and the JAAS line's
/// `username` / `password`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslLogin {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
}

impl Connection {
    // ANCHOR: authenticate
    /// Logs in on a SASL listener; call it once, right after connecting.
    pub async fn authenticate(&mut self, login: &SaslLogin) -> Result<(), ClientError> {
        let name = login.mechanism.name();
        let handshake = self
            .send(&SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(name)))
            .await?;
        let enabled: Vec<String> = handshake.mechanisms.iter().map(ToString::to_string).collect();
        ClientError::check(handshake.error_code, Some(format!("enabled: {}", enabled.join(","))), || {
            format!("SaslHandshake {name} to {}", self.addr)
        })?;
        match login.mechanism {
            Mechanism::Plain => {
                self.sasl_token(plain::client_token(&login.username, &login.password)).await?;
            }
            Mechanism::Scram(m) => {
                let mut scram = ScramClient::new(m, &login.username, &login.password, random_nonce(24));
                let mut token = scram.client_first();
                loop {
                    let answer = self.sasl_token(token).await?;
                    match scram
                        .step(&answer)
                        .map_err(|e| ClientError::InvalidArgument(format!("{name}: {e}")))?
                    {
                        Some(next) => token = next,
                        None => break,
                    }
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: authenticate

    /// One SaslAuthenticate round: the broker's token, or its refusal.
    async fn sasl_token(&mut self, token: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        let response =
            self.send(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token))).await?;
        let message = response.error_message.map(|m| m.to_string());
        ClientError::check(response.error_code, message, || format!("SaslAuthenticate to {}", self.addr))?;
        Ok(response.auth_bytes.to_vec())
    }
}
