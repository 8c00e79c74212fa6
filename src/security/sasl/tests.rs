//! The SASL mechanisms and the connection's state machine, without a socket.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use kafka_protocol::messages::ApiKey;
use proptest::prelude::*;

use super::authenticator::{
    Authenticator, Input, Output, SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM,
};
use super::jaas::JaasConfig;
use super::scram::{ScramClient, ScramCredential, ScramError, ScramMechanism, ScramServer};
use super::{plain, Mechanism, SaslListener, ScramCredentials};

/// One user's SCRAM credentials, as a broker's metadata image would hold them.
#[derive(Debug)]
struct OneUser(String, ScramMechanism, ScramCredential);

impl ScramCredentials for OneUser {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        (user == self.0 && mechanism == self.1).then(|| self.2.clone())
    }
}

/// Runs a whole SCRAM exchange; the client's proof check included.
fn exchange(mechanism: ScramMechanism, user: &str, stored: &str, typed: &str) -> Result<(), ScramError> {
    let credential = ScramCredential::new(mechanism, stored.as_bytes(), b"pepper-salt", 4096);
    let mut server = ScramServer::new(mechanism, "server-nonce".into());
    let mut client = ScramClient::new(mechanism, user, typed, "client-nonce".into());
    let lookup = |u: &str| (u == user).then(|| credential.clone());
    let server_first = server.step(&client.client_first(), lookup)?;
    let client_final = client.step(&server_first)?.expect("client-final");
    let server_final = server.step(&client_final, |_| None)?;
    assert!(server.is_complete());
    assert_eq!(client.step(&server_final)?, None);
    assert!(client.is_complete());
    Ok(())
}

/// RFC 7677 section 3's SCRAM-SHA-256 exchange, byte for byte: user "user",
/// password "pencil", 4096 iterations.
#[test]
fn rfc7677_sha256_vector() {
    let m = ScramMechanism::Sha256;
    let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
    let credential = ScramCredential::new(m, b"pencil", &salt, 4096);
    let mut server = ScramServer::new(m, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into());
    let first = server.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", |_| Some(credential.clone())).unwrap();
    assert_eq!(
        String::from_utf8(first).unwrap(),
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let final_ = server
        .step(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            |_| None,
        )
        .unwrap();
    assert_eq!(String::from_utf8(final_).unwrap(), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    // The client side, given the same nonce, sends the RFC's proof.
    let mut client = ScramClient::new(m, "user", "pencil", "rOprNGfwEbeRWgbNEkqO".into());
    assert_eq!(client.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let client_final = client
        .step(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8(client_final)
        .unwrap()
        .ends_with(",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any user name and password round-trip: the client's proof passes the
    /// server's check and the server's signature passes the client's.
    #[test]
    fn any_password_round_trips(user in "[a-zA-Z0-9=,_.@-]{1,12}", password in "\\PC{1,20}", sha512 in any::<bool>()) {
        let m = if sha512 { ScramMechanism::Sha512 } else { ScramMechanism::Sha256 };
        prop_assert_eq!(exchange(m, &user, &password, &password), Ok(()));
    }

    /// A proof computed from any other password is refused.
    #[test]
    fn wrong_password_refused(password in "[a-z]{1,12}", other in "[a-z]{1,12}") {
        prop_assume!(password != other);
        let refused = exchange(ScramMechanism::Sha512, "alice", &password, &other);
        prop_assert!(matches!(refused, Err(ScramError::Authentication(_))), "{:?}", refused);
    }

    /// A forged client-final — any proof bytes for the right nonce — is refused.
    #[test]
    fn forged_proof_refused(proof in proptest::collection::vec(any::<u8>(), 32)) {
        let m = ScramMechanism::Sha256;
        let credential = ScramCredential::new(m, b"secret", b"salt", 4096);
        let mut server = ScramServer::new(m, "snonce".into());
        server.step(b"n,,n=alice,r=cnonce", |_| Some(credential.clone())).unwrap();
        let forged = format!("c=biws,r=cnoncesnonce,p={}", BASE64.encode(proof));
        let refused = server.step(forged.as_bytes(), |_| None);
        prop_assert!(matches!(refused, Err(ScramError::Authentication(_))), "{:?}", refused);
    }
}

/// A client-final recorded from one exchange and replayed into another (whose
/// server nonce differs) is refused: the nonce is the server's, not the client's.
#[test]
fn replayed_client_final_refused() {
    let m = ScramMechanism::Sha256;
    let credential = ScramCredential::new(m, b"secret", b"salt", 4096);
    let mut first = ScramServer::new(m, "first-nonce".into());
    let mut client = ScramClient::new(m, "alice", "secret", "cnonce".into());
    let server_first = first.step(&client.client_first(), |_| Some(credential.clone())).unwrap();
    let recorded = client.step(&server_first).unwrap().unwrap();
    let mut second = ScramServer::new(m, "second-nonce".into());
    second.step(b"n,,n=alice,r=cnonce", |_| Some(credential.clone())).unwrap();
    let replayed = second.step(&recorded, |_| None);
    assert!(
        matches!(replayed, Err(ScramError::Authentication(ref m)) if m.contains("nonce")),
        "{replayed:?}"
    );
}

/// Kafka refuses delegation tokens' `tokenauth` extension and channel binding.
#[test]
fn tokenauth_and_channel_binding_refused() {
    let m = ScramMechanism::Sha256;
    let credential = ScramCredential::new(m, b"secret", b"salt", 4096);
    let mut server = ScramServer::new(m, "s".into());
    let refused = server.step(b"n,,n=alice,r=c,tokenauth=true", |_| Some(credential.clone()));
    assert!(matches!(refused, Err(ScramError::Unsupported(_))), "{refused:?}");
    let mut server = ScramServer::new(m, "s".into());
    let refused = server.step(b"p=tls-unique,,n=alice,r=c", |_| Some(credential.clone()));
    assert!(matches!(refused, Err(ScramError::Unsupported(_))), "{refused:?}");
}

/// PLAIN (RFC 4616) accepts the configured password only.
#[test]
fn plain_checks_the_password() {
    let users = BTreeMap::from([("alice".to_string(), "alice-secret".to_string())]);
    assert_eq!(
        plain::authenticate(&plain::client_token("alice", "alice-secret"), &users),
        Ok("alice".into())
    );
    assert!(plain::authenticate(&plain::client_token("alice", "wrong"), &users).is_err());
    assert!(plain::authenticate(&plain::client_token("bob", "alice-secret"), &users).is_err());
    assert!(plain::authenticate(b"alice\0alice-secret", &users).is_err());
}

/// Kafka's broker JAAS line for PLAIN: the login and the `user_` table.
#[test]
fn jaas_line_parses() {
    let jaas = JaasConfig::parse(
        r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice \"quoted\" secret";"#,
    )
    .unwrap();
    assert_eq!(jaas.module, "org.apache.kafka.common.security.plain.PlainLoginModule");
    assert_eq!(jaas.login(), Some(("admin".into(), "admin-secret".into())));
    assert_eq!(jaas.plain_users().get("alice").map(String::as_str), Some("alice \"quoted\" secret"));
    assert!(JaasConfig::parse("org.Foo required a=\"b\"").is_err(), "no ';'");
    assert!(JaasConfig::parse("org.Foo a=\"b\";").is_err(), "no control flag");
}

fn listener() -> Arc<SaslListener> {
    let m = ScramMechanism::Sha512;
    Arc::new(SaslListener {
        mechanisms: vec![Mechanism::Plain, Mechanism::Scram(m)],
        plain_users: BTreeMap::from([("alice".to_string(), "alice-secret".to_string())]),
        scram: Some(Arc::new(OneUser(
            "bob".into(),
            m,
            ScramCredential::new(m, b"bob-secret", b"salt", 4096),
        ))),
        max_reauth_ms: BTreeMap::new(),
    })
}

/// Kafka's SaslServerAuthenticator rules: ApiVersions may come first; any
/// other request before the handshake, or before authentication ends, closes.
#[test]
fn requests_before_authentication_close() {
    let mut a = Authenticator::new(listener(), "n".into());
    assert_eq!(a.step(Input::Other(ApiKey::ApiVersions), 0), Output::Pass);
    assert!(matches!(a.step(Input::Other(ApiKey::Metadata), 0), Output::Close(_)));
    let mut a = Authenticator::new(listener(), "n".into());
    assert!(matches!(
        a.step(Input::Authenticate { token: b"\0alice\0alice-secret", version: 1 }, 0),
        Output::Close(_)
    ));
    let mut a = Authenticator::new(listener(), "n".into());
    assert!(matches!(
        a.step(Input::Handshake { mechanism: "PLAIN" }, 0),
        Output::Handshake { error_code: 0, .. }
    ));
    assert!(matches!(a.step(Input::Other(ApiKey::Produce), 0), Output::Close(_)));
}

/// A mechanism not enabled is answered with the enabled list, then closed.
#[test]
fn unsupported_mechanism_lists_the_enabled() {
    let mut a = Authenticator::new(listener(), "n".into());
    let out = a.step(Input::Handshake { mechanism: "GSSAPI" }, 0);
    assert_eq!(
        out,
        Output::Handshake {
            error_code: UNSUPPORTED_SASL_MECHANISM,
            mechanisms: vec!["PLAIN".into(), "SCRAM-SHA-512".into()],
            close: true
        }
    );
}

/// PLAIN through the state machine: the principal is `User:alice`; a wrong
/// password is SASL_AUTHENTICATION_FAILED with a message, then close.
#[test]
fn plain_through_the_authenticator() {
    let mut a = Authenticator::new(listener(), "n".into());
    a.step(Input::Handshake { mechanism: "PLAIN" }, 0);
    let out =
        a.step(Input::Authenticate { token: &plain::client_token("alice", "alice-secret"), version: 1 }, 0);
    assert!(matches!(out, Output::Authenticate { error_code: 0, close: false, .. }), "{out:?}");
    assert_eq!(a.principal(), Some("User:alice"));
    assert_eq!(a.step(Input::Other(ApiKey::Produce), 0), Output::Pass);
    let mut a = Authenticator::new(listener(), "n".into());
    a.step(Input::Handshake { mechanism: "PLAIN" }, 0);
    let out = a.step(Input::Authenticate { token: &plain::client_token("alice", "nope"), version: 1 }, 0);
    assert!(
        matches!(out, Output::Authenticate { error_code: SASL_AUTHENTICATION_FAILED, close: true, ref message, .. } if message.is_some()),
        "{out:?}"
    );
    assert_eq!(a.principal(), None);
}

/// SCRAM-SHA-512 through the state machine with spool's client.
#[test]
fn scram_through_the_authenticator() {
    let mut a = Authenticator::new(listener(), "snonce".into());
    a.step(Input::Handshake { mechanism: "SCRAM-SHA-512" }, 0);
    let mut client = ScramClient::new(ScramMechanism::Sha512, "bob", "bob-secret", "cnonce".into());
    let Output::Authenticate { error_code: 0, token, .. } =
        a.step(Input::Authenticate { token: &client.client_first(), version: 1 }, 0)
    else {
        panic!("server-first expected")
    };
    let client_final = client.step(&token).unwrap().unwrap();
    let Output::Authenticate { error_code: 0, token, .. } =
        a.step(Input::Authenticate { token: &client_final, version: 1 }, 0)
    else {
        panic!("server-final expected")
    };
    assert_eq!(client.step(&token).unwrap(), None);
    assert_eq!(a.principal(), Some("User:bob"));
}
