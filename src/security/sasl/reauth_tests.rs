//! Session lifetime and re-authentication (KIP-368) through the
//! authenticator, with the time given in ms as the wire layer gives it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::ApiKey;
use proptest::prelude::*;

use super::authenticator::{
    Authenticator, Input, Login, Output, ILLEGAL_SASL_STATE, SASL_AUTHENTICATION_FAILED,
};
use super::scram::{ScramClient, ScramCredential, ScramMechanism};
use super::{plain, Mechanism, SaslListener, ScramCredentials};

const LIFETIME_MS: u64 = 3000;
const SHA512: ScramMechanism = ScramMechanism::Sha512;

/// bob's and carol's SCRAM-SHA-512 credentials.
#[derive(Debug)]
struct Users;

impl ScramCredentials for Users {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        let password = match user {
            "bob" => "bob-secret",
            "carol" => "carol-secret",
            _ => return None,
        };
        (mechanism == SHA512).then(|| ScramCredential::new(SHA512, password.as_bytes(), b"salt", 4096))
    }
}

/// PLAIN (alice, admin) and SCRAM-SHA-512 (bob, carol), every session
/// `lifetime_ms` long.
fn listener(lifetime_ms: u64) -> Arc<SaslListener> {
    let mechanisms = vec![Mechanism::Plain, Mechanism::Scram(SHA512)];
    Arc::new(SaslListener {
        max_reauth_ms: mechanisms.iter().map(|&m| (m, lifetime_ms)).collect(),
        mechanisms,
        plain_users: BTreeMap::from([
            ("alice".to_string(), "alice-secret".to_string()),
            ("admin".to_string(), "admin-secret".to_string()),
        ]),
        scram: Some(Arc::new(Users)),
    })
}

/// A PLAIN login (or re-login) at `now_ms` with SaslAuthenticate `version`:
/// the SaslAuthenticate answer.
fn plain_login(a: &mut Authenticator, user: &str, password: &str, version: i16, now_ms: u64) -> Output {
    let handshake = a.step(Input::Handshake { mechanism: "PLAIN" }, now_ms);
    assert!(matches!(handshake, Output::Handshake { error_code: 0, close: false, .. }), "{handshake:?}");
    let token = plain::client_token(user, password);
    a.step(Input::Authenticate { token: &token, version }, now_ms)
}

/// A whole SCRAM-SHA-512 login at `now_ms`, spool's client on the other
/// end: the last SaslAuthenticate answer.
fn scram_login(a: &mut Authenticator, user: &str, password: &str, now_ms: u64) -> Output {
    let handshake = a.step(Input::Handshake { mechanism: "SCRAM-SHA-512" }, now_ms);
    assert!(matches!(handshake, Output::Handshake { error_code: 0, close: false, .. }), "{handshake:?}");
    let mut client = ScramClient::new(SHA512, user, password, format!("cnonce{now_ms}"));
    let first = a.step(Input::Authenticate { token: &client.client_first(), version: 2 }, now_ms);
    let Output::Authenticate { error_code: 0, token, session_lifetime_ms: 0, login: None, .. } = first else {
        return first;
    };
    let client_final = client.step(&token).expect("server-first").expect("client-final");
    a.step(Input::Authenticate { token: &client_final, version: 2 }, now_ms)
}

fn lifetime(out: &Output) -> Option<(i64, Option<Login>)> {
    match out {
        Output::Authenticate { error_code: 0, session_lifetime_ms, login, .. } => {
            Some((*session_lifetime_ms, *login))
        }
        _ => None,
    }
}

fn refusal(out: &Output) -> Option<&str> {
    match out {
        Output::Authenticate { error_code: SASL_AUTHENTICATION_FAILED, message, close: true, .. } => {
            message.as_deref()
        }
        _ => None,
    }
}

/// KIP-368: SaslAuthenticate v1 and later carry `session_lifetime_ms`,
/// `connections.max.reauth.ms`; v0 has no such field and gets 0; with the
/// key at 0 (the default) no version gets a lifetime.
#[test]
fn lifetime_for_v1_and_later_not_v0() {
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    let out = plain_login(&mut a, "alice", "alice-secret", 1, 100);
    assert_eq!(lifetime(&out), Some((3000, Some(Login::Authentication))), "{out:?}");
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    assert_eq!(
        lifetime(&plain_login(&mut a, "alice", "alice-secret", 0, 100)),
        Some((0, Some(Login::Authentication)))
    );
    let mut a = Authenticator::new(listener(0), "n".into());
    assert_eq!(
        lifetime(&plain_login(&mut a, "alice", "alice-secret", 2, 100)),
        Some((0, Some(Login::Authentication)))
    );
    assert_eq!(a.step(Input::Other(ApiKey::Produce), u64::MAX), Output::Pass, "no lifetime: never expires");
}

/// Kafka's SocketServer closes a connection whose session expired at its
/// next request (`serverAuthenticationSessionExpired`: strictly after the
/// expiry). A v0 client, told no lifetime, is expired all the same.
#[test]
fn expired_session_closes() {
    for version in [0, 1] {
        let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
        plain_login(&mut a, "alice", "alice-secret", version, 1000);
        assert_eq!(a.step(Input::Other(ApiKey::Fetch), 4000), Output::Pass, "the last ms of the session");
        let out = a.step(Input::Other(ApiKey::Fetch), 4001);
        assert!(matches!(out, Output::Close(ref why) if why.contains("expired")), "{out:?}");
        let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
        plain_login(&mut a, "alice", "alice-secret", version, 1000);
        assert!(matches!(a.step(Input::Other(ApiKey::ApiVersions), 5000), Output::Close(_)));
    }
}

/// A PLAIN re-authentication before expiry renews the session from its
/// own completion; one after expiry, starting with SaslHandshake, is
/// allowed too (Kafka checks for a re-authentication before the expiry).
#[test]
fn plain_reauthentication_renews_the_session() {
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    plain_login(&mut a, "alice", "alice-secret", 2, 0);
    let out = plain_login(&mut a, "alice", "alice-secret", 2, 2700);
    assert_eq!(lifetime(&out), Some((3000, Some(Login::Reauthentication))), "{out:?}");
    assert_eq!(a.principal(), Some("User:alice"));
    assert_eq!(a.step(Input::Other(ApiKey::Produce), 5700), Output::Pass, "renewed until 5700");
    let out = plain_login(&mut a, "alice", "alice-secret", 2, 9000);
    assert_eq!(lifetime(&out), Some((3000, Some(Login::Reauthentication))), "after expiry: {out:?}");
    assert_eq!(a.step(Input::Other(ApiKey::Produce), 12_000), Output::Pass);
    assert!(matches!(a.step(Input::Other(ApiKey::Produce), 12_001), Output::Close(_)));
}

/// A SCRAM-SHA-512 re-authentication runs the whole exchange again (a
/// fresh server nonce) and renews the session.
#[test]
fn scram_reauthentication_renews_the_session() {
    let mut a = Authenticator::new(listener(LIFETIME_MS), "snonce".into());
    assert_eq!(
        lifetime(&scram_login(&mut a, "bob", "bob-secret", 0)),
        Some((3000, Some(Login::Authentication)))
    );
    let out = scram_login(&mut a, "bob", "bob-secret", 2900);
    assert_eq!(lifetime(&out), Some((3000, Some(Login::Reauthentication))), "{out:?}");
    assert_eq!(a.step(Input::Other(ApiKey::Metadata), 5900), Output::Pass);
    assert_eq!(a.principal(), Some("User:bob"));
}

/// Kafka's `ReauthInfo.ensurePrincipalUnchanged`: a re-authentication as
/// someone else fails with Kafka's message and closes, PLAIN and SCRAM.
#[test]
fn principal_change_refused() {
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    plain_login(&mut a, "alice", "alice-secret", 2, 0);
    let out = plain_login(&mut a, "admin", "admin-secret", 2, 1500);
    assert_eq!(
        refusal(&out),
        Some("Cannot change principals during re-authentication from User.alice: User.admin"),
        "{out:?}"
    );
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    scram_login(&mut a, "bob", "bob-secret", 0);
    let out = scram_login(&mut a, "carol", "carol-secret", 1500);
    assert_eq!(
        refusal(&out),
        Some("Cannot change principals during re-authentication from User.bob: User.carol")
    );
}

/// Kafka's `REAUTH_BAD_MECHANISM`: the handshake for another enabled
/// mechanism is answered, its SaslAuthenticate refused with Kafka's
/// message, then the connection closes.
#[test]
fn mechanism_change_refused() {
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    plain_login(&mut a, "alice", "alice-secret", 2, 0);
    let out = scram_login(&mut a, "bob", "bob-secret", 1500);
    assert_eq!(
        refusal(&out),
        Some("SASL mechanism 'SCRAM-SHA-512' requested by client is not supported for re-authentication of mechanism 'PLAIN'"),
        "{out:?}"
    );
}

/// A wrong password on re-authentication fails and closes, PLAIN and SCRAM.
#[test]
fn wrong_password_on_reauthentication_closes() {
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    plain_login(&mut a, "alice", "alice-secret", 2, 0);
    assert!(refusal(&plain_login(&mut a, "alice", "guess", 2, 1500)).is_some());
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    scram_login(&mut a, "bob", "bob-secret", 0);
    assert!(refusal(&scram_login(&mut a, "bob", "guess", 1500)).is_some());
}

/// During a re-authentication only its SaslAuthenticate exchange may come
/// (Kafka's IllegalSaslStateException): a Produce between closes.
#[test]
fn other_request_during_reauthentication_closes() {
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    plain_login(&mut a, "alice", "alice-secret", 2, 0);
    a.step(Input::Handshake { mechanism: "PLAIN" }, 1500);
    let out = a.step(Input::Other(ApiKey::Produce), 1500);
    assert!(matches!(out, Output::Close(ref why) if why.contains("re-authentication")), "{out:?}");
}

/// Without a lifetime, or within a second of the last re-authentication
/// (Kafka's `maybeBeginServerReauthentication`), SaslHandshake and
/// SaslAuthenticate after the login are answered ILLEGAL_SASL_STATE, as
/// Kafka's `KafkaApis` answers them; the connection stays.
#[test]
fn sasl_requests_after_login_without_reauthentication() {
    let mut a = Authenticator::new(listener(0), "n".into());
    plain_login(&mut a, "alice", "alice-secret", 2, 0);
    let out = a.step(Input::Handshake { mechanism: "PLAIN" }, 10);
    assert_eq!(out, Output::Handshake { error_code: ILLEGAL_SASL_STATE, mechanisms: vec![], close: false });
    let out = a.step(Input::Authenticate { token: b"\0alice\0alice-secret", version: 2 }, 20);
    assert!(
        matches!(out, Output::Authenticate { error_code: ILLEGAL_SASL_STATE, close: false, .. }),
        "{out:?}"
    );
    assert_eq!(a.step(Input::Other(ApiKey::Produce), 30), Output::Pass);
    let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
    plain_login(&mut a, "alice", "alice-secret", 2, 0);
    plain_login(&mut a, "alice", "alice-secret", 2, 100);
    let out = a.step(Input::Handshake { mechanism: "PLAIN" }, 1099);
    assert!(matches!(out, Output::Handshake { error_code: ILLEGAL_SASL_STATE, close: false, .. }), "{out:?}");
    assert!(lifetime(&plain_login(&mut a, "alice", "alice-secret", 2, 1100)).is_some(), "a second later");
}

/// One step of a client's life on a connection.
#[derive(Debug, Clone)]
enum Step {
    /// Wait this long, then send a request the broker answers.
    Request(u64),
    /// Wait this long, then re-authenticate (a whole PLAIN exchange).
    Reauthenticate(u64),
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![(0u64..2500).prop_map(Step::Request), (0u64..2500).prop_map(Step::Reauthenticate)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any interleaving of time, requests and re-authentications: a request
    /// is handed to the broker exactly when the last completed login (first
    /// or re-) is at most a lifetime old, and otherwise the connection closes.
    #[test]
    fn no_request_passes_after_expiry(steps in proptest::collection::vec(step_strategy(), 1..24)) {
        let mut a = Authenticator::new(listener(LIFETIME_MS), "n".into());
        let (mut now_ms, mut login_ms, mut reauth_ms) = (0u64, 0u64, None::<u64>);
        plain_login(&mut a, "alice", "alice-secret", 2, now_ms);
        for step in steps {
            match step {
                Step::Request(wait_ms) => {
                    now_ms += wait_ms;
                    let out = a.step(Input::Other(ApiKey::Produce), now_ms);
                    let alive = now_ms <= login_ms + LIFETIME_MS;
                    prop_assert_eq!(out == Output::Pass, alive, "at {} ms, login at {} ms: {:?}", now_ms, login_ms, out);
                    if !alive {
                        break;
                    }
                }
                Step::Reauthenticate(wait_ms) => {
                    now_ms += wait_ms;
                    let rested = reauth_ms.is_none_or(|at| now_ms - at >= 1000);
                    if !rested {
                        continue; // the broker would answer ILLEGAL_SASL_STATE; see above
                    }
                    let out = plain_login(&mut a, "alice", "alice-secret", 2, now_ms);
                    prop_assert_eq!(lifetime(&out), Some((3000, Some(Login::Reauthentication))));
                    (login_ms, reauth_ms) = (now_ms, Some(now_ms));
                }
            }
        }
    }
}
