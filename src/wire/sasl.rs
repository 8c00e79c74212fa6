//! The SASL [`Authenticator`] (chapter 11, `security::sasl`) behind the wire
//! server's per-connection seam ([`Session`]): decodes what it needs from the
//! requests, encodes its SaslHandshake and SaslAuthenticate responses. It
//! lives in `wire`, which knows frames and the codec, so that the security
//! layer stays free of them. It is also the authenticator's clock: each
//! request goes in with the milliseconds since the connection opened, so a
//! session's lifetime (KIP-368) is measured on a monotonic clock.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, RequestKind, ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::codec::{encode_response, Request};
use super::handler::{Admission, Session, Sessions};
use crate::security::sasl::authenticator::{Authenticator, Input, Login, Output, ILLEGAL_SASL_STATE};
use crate::security::sasl::{random_nonce, SaslListener};

/// A SASL listener's sessions: one [`Authenticator`] per connection.
#[derive(Debug, Clone)]
pub struct SaslSessions(pub Arc<SaslListener>);

impl Sessions for SaslSessions {
    fn open(&self) -> Box<dyn Session> {
        let authenticator = Authenticator::new(self.0.clone(), random_nonce(24));
        Box::new(SaslSession { authenticator, opened: tokio::time::Instant::now() })
    }
}

struct SaslSession {
    authenticator: Authenticator,
    /// When the connection opened: the authenticator's time is measured from it.
    opened: tokio::time::Instant,
}

impl Session for SaslSession {
    fn admit(&mut self, request: &Request) -> Admission {
        let version = request.header.request_api_version;
        let input = match &request.body {
            RequestKind::SaslHandshake(h) => Input::Handshake { mechanism: h.mechanism.as_str() },
            RequestKind::SaslAuthenticate(a) => Input::Authenticate { token: &a.auth_bytes, version },
            _ => Input::Other(request.api_key),
        };
        let correlation_id = request.header.correlation_id;
        let now_ms = self.opened.elapsed().as_millis() as u64;
        let (api_key, body, close) = match self.authenticator.step(input, now_ms) {
            Output::Pass => return Admission::Pass,
            Output::Close(why) => {
                tracing::info!(reason = %why, "closing SASL connection");
                return Admission::Close(why);
            }
            Output::Handshake { error_code, mechanisms, close } => {
                let response = SaslHandshakeResponse::default()
                    .with_error_code(error_code)
                    .with_mechanisms(mechanisms.into_iter().map(StrBytes::from_string).collect());
                (ApiKey::SaslHandshake, ResponseKind::SaslHandshake(response), close)
            }
            Output::Authenticate { error_code, message, token, session_lifetime_ms, close, login } => {
                self.log(login, session_lifetime_ms, message.as_deref());
                let response = SaslAuthenticateResponse::default()
                    .with_error_code(error_code)
                    .with_error_message(message.map(StrBytes::from_string))
                    .with_auth_bytes(Bytes::from(token))
                    .with_session_lifetime_ms(session_lifetime_ms);
                (ApiKey::SaslAuthenticate, ResponseKind::SaslAuthenticate(response), close)
            }
        };
        match encode_response(api_key, version, correlation_id, &body) {
            Ok(frame) => Admission::Answer { frame, close },
            Err(why) => Admission::Close(why),
        }
    }

    fn principal(&self) -> &str {
        self.authenticator.principal().unwrap_or(crate::security::ANONYMOUS)
    }
}

impl SaslSession {
    /// One line per completed login, re-authentications included (a test
    /// counts them), and one per refused one.
    fn log(&self, login: Option<Login>, session_lifetime_ms: i64, refused: Option<&str>) {
        let principal = self.authenticator.principal().unwrap_or_default();
        match login {
            Some(Login::Authentication) => {
                tracing::debug!(principal, session_lifetime_ms, "SASL authentication succeeded")
            }
            Some(Login::Reauthentication) => {
                tracing::info!(principal, session_lifetime_ms, "SASL re-authentication succeeded")
            }
            None => {
                if let Some(message) = refused {
                    tracing::info!(message, "SASL authentication refused")
                }
            }
        }
    }
}

/// SaslHandshake on a listener that is not SASL's: Kafka's ILLEGAL_SASL_STATE.
pub fn handshake_on_plaintext() -> SaslHandshakeResponse {
    SaslHandshakeResponse::default().with_error_code(ILLEGAL_SASL_STATE)
}

/// SaslAuthenticate on a listener that is not SASL's: ILLEGAL_SASL_STATE, saying why.
pub fn authenticate_on_plaintext() -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(ILLEGAL_SASL_STATE)
        .with_error_message(Some(StrBytes::from_static_str("SaslAuthenticate on a listener without SASL")))
}
