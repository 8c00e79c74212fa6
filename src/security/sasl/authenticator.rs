//! One connection's authentication on a SASL listener (Kafka's
//! `SaslServerAuthenticator`), as a sans-IO state machine: requests in,
//! answers out, no socket.
//!
//! ```text
//!   Handshake ── ApiVersions ──▶ Handshake (answered by the broker as usual)
//!       │
//!       └── SaslHandshake(m) ── m enabled ──▶ Authenticate(m) ── SaslAuthenticate(token)* ──▶ Complete(User:<name>)
//!              │                                   │
//!              └─ m not enabled: UNSUPPORTED_SASL_  └─ refused: SASL_AUTHENTICATION_FAILED + message,
//!                 MECHANISM + the enabled list,         then close
//!                 then close
//!   any other request before Complete: close (Kafka's IllegalSaslStateException)
//! ```
//!
//! Simplifications: SaslHandshake v0's raw, unframed tokens are not read
//! (every client we test sends v1 when SaslAuthenticate is offered); no
//! re-authentication (KIP-368: `session_lifetime_ms` is 0).

use std::sync::Arc;

use kafka_protocol::messages::ApiKey;

use super::scram::{ScramCredential, ScramError, ScramMechanism, ScramServer};
use super::{plain, Mechanism, SaslListener};

/// Kafka's error codes for this exchange.
pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
pub const ILLEGAL_SASL_STATE: i16 = 34;
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// A request, as far as authentication cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    Handshake {
        mechanism: &'a str,
    },
    Authenticate {
        token: &'a [u8],
    },
    /// Anything else (ApiVersions included).
    Other(ApiKey),
}

/// What the connection does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Hand the request to the broker.
    Pass,
    /// Answer SaslHandshake; `close` after writing it.
    Handshake { error_code: i16, mechanisms: Vec<String>, close: bool },
    /// Answer SaslAuthenticate; `close` after writing it.
    Authenticate { error_code: i16, message: Option<String>, token: Vec<u8>, close: bool },
    /// Close without an answer.
    Close(String),
}

#[derive(Debug)]
enum State {
    Handshake,
    Authenticate(Exchange),
    Complete { principal: String },
    Failed,
}

#[derive(Debug)]
enum Exchange {
    Plain,
    Scram(Box<ScramServer>),
}

/// One connection's authenticator.
#[derive(Debug)]
pub struct Authenticator {
    listener: Arc<SaslListener>,
    /// The server's half of a SCRAM nonce, drawn by whoever opens the connection.
    server_nonce: String,
    state: State,
}

impl Authenticator {
    pub fn new(listener: Arc<SaslListener>, server_nonce: String) -> Self {
        Authenticator { listener, server_nonce, state: State::Handshake }
    }

    /// `User:<name>` once authenticated.
    pub fn principal(&self) -> Option<&str> {
        match &self.state {
            State::Complete { principal } => Some(principal),
            _ => None,
        }
    }

    // ANCHOR: step
    /// Takes one request and says what to do with it.
    pub fn step(&mut self, input: Input<'_>) -> Output {
        match (std::mem::replace(&mut self.state, State::Failed), input) {
            (State::Complete { principal }, Input::Other(_)) => {
                self.state = State::Complete { principal };
                Output::Pass
            }
            (State::Complete { .. }, _) => {
                Output::Close("re-authentication is not supported (session_lifetime_ms is 0)".into())
            }
            (State::Handshake, Input::Other(ApiKey::ApiVersions)) => {
                self.state = State::Handshake;
                Output::Pass
            }
            (State::Handshake, Input::Handshake { mechanism }) => self.handshake(mechanism),
            (State::Authenticate(exchange), Input::Authenticate { token }) => {
                self.authenticate(exchange, token)
            }
            (state, input) => Output::Close(format!(
                "unexpected {} during SASL {}",
                match input {
                    Input::Handshake { .. } => "SaslHandshake".to_string(),
                    Input::Authenticate { .. } => "SaslAuthenticate".to_string(),
                    Input::Other(key) => format!("{key:?}"),
                },
                if matches!(state, State::Handshake) { "handshake" } else { "authentication" }
            )),
        }
    }
    // ANCHOR_END: step

    fn handshake(&mut self, name: &str) -> Output {
        let mechanisms: Vec<String> = self.listener.mechanisms.iter().map(|m| m.name().to_string()).collect();
        let Some(mechanism) = self.listener.mechanisms.iter().find(|m| m.name() == name) else {
            return Output::Handshake { error_code: UNSUPPORTED_SASL_MECHANISM, mechanisms, close: true };
        };
        let exchange = match mechanism {
            Mechanism::Plain => Exchange::Plain,
            Mechanism::Scram(m) => Exchange::Scram(Box::new(ScramServer::new(*m, self.server_nonce.clone()))),
        };
        self.state = State::Authenticate(exchange);
        Output::Handshake { error_code: 0, mechanisms, close: false }
    }

    fn authenticate(&mut self, exchange: Exchange, token: &[u8]) -> Output {
        let refused = |message: String| Output::Authenticate {
            error_code: SASL_AUTHENTICATION_FAILED,
            message: Some(message),
            token: Vec::new(),
            close: true,
        };
        match exchange {
            Exchange::Plain => match plain::authenticate(token, &self.listener.plain_users) {
                Ok(user) => self.complete(user, Vec::new()),
                Err(message) => refused(message),
            },
            Exchange::Scram(mut server) => {
                let mechanism = server.mechanism();
                let credentials = &self.listener.scram;
                match server.step(token, |user| credentials.as_ref()?.scram_credential(user, mechanism)) {
                    Ok(answer) if server.is_complete() => {
                        let user = server.username().unwrap_or_default().to_string();
                        self.complete(user, answer)
                    }
                    Ok(answer) => {
                        self.state = State::Authenticate(Exchange::Scram(server));
                        Output::Authenticate { error_code: 0, message: None, token: answer, close: false }
                    }
                    Err(
                        ScramError::Authentication(m) | ScramError::Malformed(m) | ScramError::Unsupported(m),
                    ) => refused(m),
                }
            }
        }
    }

    fn complete(&mut self, user: String, token: Vec<u8>) -> Output {
        self.state = State::Complete { principal: format!("User:{user}") };
        Output::Authenticate { error_code: 0, message: None, token, close: false }
    }
}

/// Where SCRAM credentials come from: the metadata image on a broker.
pub trait ScramCredentials: Send + Sync + std::fmt::Debug {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential>;
}
