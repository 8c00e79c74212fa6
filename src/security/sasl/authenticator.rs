//! One connection's authentication on a SASL listener (Kafka's
//! `SaslServerAuthenticator`), as a sans-IO state machine: requests and the
//! time in, answers out, no socket and no clock.
//!
//! ```text
//!   Handshake ── ApiVersions ──▶ Handshake (answered by the broker as usual)
//!       │
//!       └── SaslHandshake(m) ── m enabled ──▶ Authenticate(m) ── SaslAuthenticate(token)* ──▶ Complete(User:<name>)
//!              │                                   │                                            │
//!              └─ m not enabled: UNSUPPORTED_SASL_  └─ refused: SASL_AUTHENTICATION_FAILED       │
//!                 MECHANISM + the enabled list,         + message, then close                    │
//!                 then close                                                                     │
//!   any other request before Complete: close (Kafka's IllegalSaslStateException)                │
//!                                                                                                │
//!   Complete ── SaslHandshake(same m), a lifetime set ──▶ Authenticate(m), re-authenticating ◀───┘
//!       │         (other m: BadMechanism, refused at its SaslAuthenticate)
//!       └── any other request after the session expired: close
//! ```
//!
//! Session lifetime (KIP-368): with `connections.max.reauth.ms` above 0 for
//! the mechanism, a successful login starts a session that expires that many
//! ms later; SaslAuthenticate v1 and later tell the client the lifetime
//! (`session_lifetime_ms`), v0 has no field for it. Kafka expires the
//! session whatever the version (`KafkaChannel.serverAuthenticationSessionExpired`
//! asks only for an expiry time), so does this code: a client that cannot
//! re-authenticate is closed at the first request after its session ended
//! and logs in again on a new connection. Before or after expiry, a
//! SaslHandshake on an authenticated connection starts a re-authentication
//! (Kafka's `REAUTH_PROCESS_HANDSHAKE`), at most once a second as Kafka
//! allows; it must keep the mechanism and end with the same principal, or
//! fails and closes. Without a lifetime (the key 0, the default),
//! SaslHandshake and SaslAuthenticate after the login are answered with
//! ILLEGAL_SASL_STATE, as Kafka's `KafkaApis` answers them.
//!
//! Simplifications: SaslHandshake v0's raw, unframed tokens are not read
//! (every client we test sends v1 when SaslAuthenticate is offered); spool's
//! credentials carry no expiry of their own (Kafka caps the lifetime with an
//! OAUTHBEARER token's), so the lifetime is the key's value.

use std::sync::Arc;

use kafka_protocol::messages::ApiKey;

use super::scram::{ScramCredential, ScramError, ScramMechanism, ScramServer};
use super::{plain, Mechanism, SaslListener};

/// Kafka's error codes for this exchange.
pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
pub const ILLEGAL_SASL_STATE: i16 = 34;
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// The shortest time between two re-authentications of one connection
/// (Kafka's `KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS`): a client
/// that asks sooner is answered as if re-authentication were off.
pub const REAUTH_INTERVAL_MIN_MS: u64 = 1000;

/// A request, as far as authentication cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    Handshake {
        mechanism: &'a str,
    },
    /// SaslAuthenticate at `version`: v0 has no `session_lifetime_ms`.
    Authenticate {
        token: &'a [u8],
        version: i16,
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
    /// Answer SaslAuthenticate; `close` after writing it. `login` says that
    /// this answer completes a login, and which kind.
    Authenticate {
        error_code: i16,
        message: Option<String>,
        token: Vec<u8>,
        session_lifetime_ms: i64,
        close: bool,
        login: Option<Login>,
    },
    /// Close without an answer.
    Close(String),
}

/// A completed login, for the connection's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Authentication,
    Reauthentication,
}

#[derive(Debug)]
enum State {
    Handshake,
    Authenticate {
        exchange: Exchange,
        previous: Option<Session>,
    },
    /// A re-authentication asked for another mechanism than the session's
    /// (Kafka's `REAUTH_BAD_MECHANISM`): its next request fails.
    BadMechanism(String),
    Complete(Session),
    Failed,
}

/// An authenticated session.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    principal: String,
    mechanism: Mechanism,
    /// When the session ends; `None`: never (`connections.max.reauth.ms` 0).
    expires_at_ms: Option<u64>,
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
    /// When the last re-authentication began, for [`REAUTH_INTERVAL_MIN_MS`].
    reauth_started_ms: Option<u64>,
    /// How many exchanges began on this connection (for [`Self::nonce`]).
    logins: u32,
}

impl Authenticator {
    pub fn new(listener: Arc<SaslListener>, server_nonce: String) -> Self {
        Authenticator { listener, server_nonce, state: State::Handshake, reauth_started_ms: None, logins: 0 }
    }

    /// `User:<name>` once authenticated (and while re-authenticating).
    pub fn principal(&self) -> Option<&str> {
        match &self.state {
            State::Complete(session) | State::Authenticate { previous: Some(session), .. } => {
                Some(&session.principal)
            }
            _ => None,
        }
    }

    // ANCHOR: step
    /// Takes one request, received at `now_ms`, and says what to do with it.
    pub fn step(&mut self, input: Input<'_>, now_ms: u64) -> Output {
        match (std::mem::replace(&mut self.state, State::Failed), input) {
            (State::Complete(session), Input::Handshake { mechanism }) if self.may_reauthenticate(&session, now_ms) => {
                self.reauth_started_ms = Some(now_ms);
                self.handshake(mechanism, Some(session))
            }
            (State::Complete(session), _) if session.expires_at_ms.is_some_and(|at| now_ms > at) => {
                Output::Close(format!(
                    "{}'s SASL session expired {} ms ago without re-authentication (connections.max.reauth.ms)",
                    session.principal,
                    now_ms - session.expires_at_ms.unwrap_or_default()
                ))
            }
            (State::Complete(session), input) => {
                self.state = State::Complete(session);
                after_login(input)
            }
            (State::Handshake, Input::Other(ApiKey::ApiVersions)) => {
                self.state = State::Handshake;
                Output::Pass
            }
            (State::Handshake, Input::Handshake { mechanism }) => self.handshake(mechanism, None),
            (State::Authenticate { exchange, previous }, Input::Authenticate { token, version }) => {
                self.authenticate(exchange, previous, token, version, now_ms)
            }
            (State::BadMechanism(message), Input::Authenticate { .. }) => refused(message),
            (state, input) => Output::Close(format!(
                "unexpected {} during SASL {}",
                match input {
                    Input::Handshake { .. } => "SaslHandshake".to_string(),
                    Input::Authenticate { .. } => "SaslAuthenticate".to_string(),
                    Input::Other(key) => format!("{key:?}"),
                },
                match state {
                    State::Handshake => "handshake",
                    State::Authenticate { previous: Some(_), .. } | State::BadMechanism(_) => "re-authentication",
                    _ => "authentication",
                }
            )),
        }
    }
    // ANCHOR_END: step

    /// Kafka's `KafkaChannel.maybeBeginServerReauthentication`: only a
    /// session with a lifetime re-authenticates, at most once a second.
    fn may_reauthenticate(&self, session: &Session, now_ms: u64) -> bool {
        let rested =
            self.reauth_started_ms.is_none_or(|at| now_ms.saturating_sub(at) >= REAUTH_INTERVAL_MIN_MS);
        session.expires_at_ms.is_some() && rested
    }

    fn handshake(&mut self, name: &str, previous: Option<Session>) -> Output {
        let mechanisms: Vec<String> = self.listener.mechanisms.iter().map(|m| m.name().to_string()).collect();
        let Some(&mechanism) = self.listener.mechanisms.iter().find(|m| m.name() == name) else {
            return Output::Handshake { error_code: UNSUPPORTED_SASL_MECHANISM, mechanisms, close: true };
        };
        if let Some(previous) = previous.as_ref().filter(|p| p.mechanism != mechanism) {
            self.state = State::BadMechanism(format!(
                "SASL mechanism '{name}' requested by client is not supported for re-authentication of mechanism '{}'",
                previous.mechanism.name()
            ));
            return Output::Handshake { error_code: 0, mechanisms, close: false };
        }
        let exchange = match mechanism {
            Mechanism::Plain => Exchange::Plain,
            Mechanism::Scram(m) => Exchange::Scram(Box::new(ScramServer::new(m, self.nonce()))),
        };
        self.state = State::Authenticate { exchange, previous };
        Output::Handshake { error_code: 0, mechanisms, close: false }
    }

    /// This exchange's server nonce: the connection's, with the count of
    /// logins before it, so that no two exchanges on a connection share one
    /// (a client-final recorded from one login cannot answer the next).
    fn nonce(&mut self) -> String {
        self.logins += 1;
        format!("{}{}", self.server_nonce, self.logins)
    }

    fn authenticate(
        &mut self,
        exchange: Exchange,
        previous: Option<Session>,
        token: &[u8],
        version: i16,
        now_ms: u64,
    ) -> Output {
        let (mechanism, user, answer) = match exchange {
            Exchange::Plain => match plain::authenticate(token, &self.listener.plain_users) {
                Ok(user) => (Mechanism::Plain, user, Vec::new()),
                Err(message) => return refused(message),
            },
            Exchange::Scram(mut server) => {
                let mechanism = server.mechanism();
                let credentials = &self.listener.scram;
                match server.step(token, |user| credentials.as_ref()?.scram_credential(user, mechanism)) {
                    Ok(answer) if server.is_complete() => {
                        let user = server.username().unwrap_or_default().to_string();
                        (Mechanism::Scram(mechanism), user, answer)
                    }
                    Ok(answer) => {
                        self.state = State::Authenticate { exchange: Exchange::Scram(server), previous };
                        return Output::Authenticate {
                            error_code: 0,
                            message: None,
                            token: answer,
                            session_lifetime_ms: 0,
                            close: false,
                            login: None,
                        };
                    }
                    Err(
                        ScramError::Authentication(m) | ScramError::Malformed(m) | ScramError::Unsupported(m),
                    ) => return refused(m),
                }
            }
        };
        let principal = format!("User:{user}");
        if let Some(previous) = previous.as_ref().filter(|p| p.principal != principal) {
            return refused(format!(
                "Cannot change principals during re-authentication from {}: {}",
                previous.principal.replacen(':', ".", 1),
                principal.replacen(':', ".", 1)
            ));
        }
        self.complete(
            Session { principal, mechanism, expires_at_ms: None },
            previous.is_some(),
            answer,
            version,
            now_ms,
        )
    }

    // ANCHOR: complete
    /// A login succeeded at `now_ms`: the session's lifetime starts now
    /// (Kafka's `ReauthInfo.calcCompletionTimesAndReturnSessionLifetimeMs`).
    fn complete(
        &mut self,
        mut session: Session,
        reauth: bool,
        token: Vec<u8>,
        version: i16,
        now_ms: u64,
    ) -> Output {
        let lifetime_ms = self.listener.connections_max_reauth_ms(session.mechanism);
        session.expires_at_ms = (lifetime_ms > 0).then(|| now_ms.saturating_add(lifetime_ms));
        self.state = State::Complete(session);
        Output::Authenticate {
            error_code: 0,
            message: None,
            token,
            // v0 has no field for it; its session expires all the same.
            session_lifetime_ms: if version >= 1 {
                i64::try_from(lifetime_ms).unwrap_or(i64::MAX)
            } else {
                0
            },
            close: false,
            login: Some(if reauth { Login::Reauthentication } else { Login::Authentication }),
        }
    }
    // ANCHOR_END: complete
}

/// An authenticated connection's request, its session alive: the broker
/// answers it, except SASL's own two, which Kafka's `KafkaApis` refuses once
/// the login is done (and re-authentication is off or too soon).
fn after_login(input: Input<'_>) -> Output {
    match input {
        Input::Other(_) => Output::Pass,
        Input::Handshake { .. } => {
            Output::Handshake { error_code: ILLEGAL_SASL_STATE, mechanisms: Vec::new(), close: false }
        }
        Input::Authenticate { .. } => Output::Authenticate {
            error_code: ILLEGAL_SASL_STATE,
            message: Some("SaslAuthenticate request received after successful authentication".into()),
            token: Vec::new(),
            session_lifetime_ms: 0,
            close: false,
            login: None,
        },
    }
}

/// SASL_AUTHENTICATION_FAILED with `message`, then close.
fn refused(message: String) -> Output {
    Output::Authenticate {
        error_code: SASL_AUTHENTICATION_FAILED,
        message: Some(message),
        token: Vec::new(),
        session_lifetime_ms: 0,
        close: true,
        login: None,
    }
}

/// Where SCRAM credentials come from: the metadata image on a broker.
pub trait ScramCredentials: Send + Sync + std::fmt::Debug {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential>;
}
