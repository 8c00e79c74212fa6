//! Chapter 11's SASL on one broker, end to end over TCP: a SASL_PLAINTEXT
//! listener next to a PLAINTEXT one, both serving the same broker, checked
//! with raw requests against Kafka's `SaslServerAuthenticator` rules (KIP-43,
//! KIP-152): ApiVersions, then SaslHandshake v1, then SaslAuthenticate frames;
//! anything else first closes the connection.
//!
//! ```text
//! cargo test --test it sasl::
//! ```

use crate::wire::harness;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use spool::security::sasl;
use spool::wire::sasl::SaslSessions;
use tokio::net::TcpListener;
use tokio::sync::watch;

use harness::{start, Client, TestBroker, API_VERSIONS_V, METADATA_V};

const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#;

/// A broker on PLAINTEXT, plus a SASL_PLAINTEXT listener (PLAIN, as Kafka's
/// broker reads `sasl.enabled.mechanisms` and the listener's JAAS line)
/// serving the same broker. Returns the SASL listener's address.
async fn broker_with_sasl() -> (TestBroker, SocketAddr, watch::Sender<bool>) {
    broker_with_sasl_sessions(0).await
}

/// [`broker_with_sasl`] with `connections.max.reauth.ms` = `lifetime_ms`.
async fn broker_with_sasl_sessions(lifetime_ms: u64) -> (TestBroker, SocketAddr, watch::Sender<bool>) {
    let broker = start(|c| {
        c.sasl_enabled_mechanisms = vec!["PLAIN".into()];
        c.sasl_jaas_configs.insert(("SASL_PLAINTEXT".into(), "plain".into()), JAAS.into());
    })
    .await;
    let reauth = sasl::listener::ReauthSettings { max_reauth_ms: lifetime_ms, ..Default::default() };
    let listener = sasl::listener::from_settings(
        &broker.broker().config.sasl_enabled_mechanisms,
        &broker.broker().config.sasl_jaas_configs,
        "SASL_PLAINTEXT",
        None,
        &reauth,
    )
    .expect("listener");
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    let (stop, stopped) = watch::channel(false);
    let sessions: Arc<dyn spool::wire::handler::Sessions> = Arc::new(SaslSessions(Arc::new(listener)));
    let endpoint = spool::wire::server::Endpoint {
        listener: "SASL_PLAINTEXT".into(),
        tls: None,
        sessions: Some(sessions),
    };
    tokio::spawn(spool::wire::server::serve_listener(broker.broker().clone(), socket, endpoint, stopped));
    (broker, addr, stop)
}

fn handshake(mechanism: &'static str) -> SaslHandshakeRequest {
    SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism))
}

fn authenticate(token: Vec<u8>) -> SaslAuthenticateRequest {
    SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token))
}

/// ApiVersions, SaslHandshake v1 and PLAIN's SaslAuthenticate with the right
/// password authenticate the connection, which then serves Metadata.
#[tokio::test]
async fn plain_good_password_then_requests() {
    let (_broker, addr, _stop) = broker_with_sasl().await;
    let mut client = Client::connect(addr).await;
    let versions = client.request(API_VERSIONS_V, &ApiVersionsRequest::default()).await;
    for key in [ApiKey::SaslHandshake, ApiKey::SaslAuthenticate] {
        assert!(versions.api_keys.iter().any(|k| k.api_key == key as i16), "{key:?} advertised");
    }
    let answer = client.request(1, &handshake("PLAIN")).await;
    assert_eq!((answer.error_code, answer.mechanisms.len()), (0, 1));
    let answer = client.request(2, &authenticate(sasl::plain::client_token("alice", "alice-secret"))).await;
    assert_eq!(answer.error_code, 0, "{:?}", answer.error_message);
    assert_eq!(answer.session_lifetime_ms, 0);
    let metadata = client.request(METADATA_V, &MetadataRequest::default()).await;
    assert_eq!(metadata.brokers.len(), 1);
}

/// A wrong password is SASL_AUTHENTICATION_FAILED (58) with a message, then
/// the broker closes the connection.
#[tokio::test]
async fn plain_bad_password_is_refused_and_closed() {
    let (_broker, addr, _stop) = broker_with_sasl().await;
    let mut client = Client::connect(addr).await;
    client.request(1, &handshake("PLAIN")).await;
    let answer = client.request(2, &authenticate(sasl::plain::client_token("alice", "guess"))).await;
    assert_eq!(answer.error_code, 58);
    assert!(answer.error_message.is_some_and(|m| m.contains("Invalid username or password")));
    client.expect_closed().await;
}

/// SaslAuthenticate before SaslHandshake, or Metadata before authenticating,
/// closes the connection unanswered (Kafka's IllegalSaslStateException).
#[tokio::test]
async fn requests_out_of_order_close_the_connection() {
    let (_broker, addr, _stop) = broker_with_sasl().await;
    let mut client = Client::connect(addr).await;
    client.send(2, &authenticate(sasl::plain::client_token("alice", "alice-secret"))).await;
    client.expect_closed().await;
    let mut client = Client::connect(addr).await;
    client.send(METADATA_V, &MetadataRequest::default()).await;
    client.expect_closed().await;
    let mut client = Client::connect(addr).await;
    client.request(1, &handshake("PLAIN")).await;
    client.send(METADATA_V, &MetadataRequest::default()).await;
    client.expect_closed().await;
}

/// A mechanism the listener does not enable is UNSUPPORTED_SASL_MECHANISM (33)
/// with the enabled ones listed, then close.
#[tokio::test]
async fn unsupported_mechanism_lists_enabled_ones() {
    let (_broker, addr, _stop) = broker_with_sasl().await;
    let mut client = Client::connect(addr).await;
    let answer = client.request(1, &handshake("SCRAM-SHA-512")).await;
    assert_eq!(answer.error_code, 33);
    assert_eq!(answer.mechanisms.iter().map(|m| m.as_str()).collect::<Vec<_>>(), ["PLAIN"]);
    client.expect_closed().await;
}

/// The PLAINTEXT listener of the same broker is unaffected: no handshake
/// needed, and a SaslHandshake there is ILLEGAL_SASL_STATE (34).
#[tokio::test]
async fn plaintext_clients_are_unaffected() {
    let (broker, _addr, _stop) = broker_with_sasl().await;
    let mut client = broker.client().await;
    let metadata = client.request(METADATA_V, &MetadataRequest::default()).await;
    assert_eq!(metadata.brokers.len(), 1);
    assert_eq!(client.request(1, &handshake("PLAIN")).await.error_code, 34);
    assert_eq!(client.request(METADATA_V, &MetadataRequest::default()).await.brokers.len(), 1);
}

/// SaslHandshake v1 and SaslAuthenticate v1 with alice's PLAIN password.
async fn login_as_alice(client: &mut Client) -> kafka_protocol::messages::SaslAuthenticateResponse {
    assert_eq!(client.request(1, &handshake("PLAIN")).await.error_code, 0);
    client.request(1, &authenticate(sasl::plain::client_token("alice", "alice-secret"))).await
}

/// KIP-368 over TCP, the wire layer's clock included: with
/// `connections.max.reauth.ms` = 2000, SaslAuthenticate v1 carries the
/// lifetime; a re-authentication on the same connection renews it; a
/// request after the renewed session ended closes the connection.
#[tokio::test]
async fn session_lifetime_reauthentication_and_expiry() {
    let (_broker, addr, _stop) = broker_with_sasl_sessions(2000).await;
    let mut client = Client::connect(addr).await;
    let answer = login_as_alice(&mut client).await;
    assert_eq!((answer.error_code, answer.session_lifetime_ms), (0, 2000));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let answer = login_as_alice(&mut client).await;
    assert_eq!((answer.error_code, answer.session_lifetime_ms), (0, 2000), "re-authenticated");
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    // 2.5 s after the first login, 1 s into the renewed session.
    assert_eq!(client.request(METADATA_V, &MetadataRequest::default()).await.brokers.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    client.send(METADATA_V, &MetadataRequest::default()).await;
    client.expect_closed().await;
}

/// Without a lifetime (the default), SaslHandshake after the login is
/// ILLEGAL_SASL_STATE (34), as Kafka's KafkaApis answers it; the connection
/// stays and serves requests.
#[tokio::test]
async fn handshake_after_login_without_lifetime_is_illegal_state() {
    let (_broker, addr, _stop) = broker_with_sasl().await;
    let mut client = Client::connect(addr).await;
    client.request(1, &handshake("PLAIN")).await;
    let answer = client.request(1, &authenticate(sasl::plain::client_token("alice", "alice-secret"))).await;
    assert_eq!((answer.error_code, answer.session_lifetime_ms), (0, 0));
    assert_eq!(client.request(1, &handshake("PLAIN")).await.error_code, 34);
    assert_eq!(client.request(METADATA_V, &MetadataRequest::default()).await.brokers.len(), 1);
}
