//! Issue 19's TLS half on one broker, in process: a PLAINTEXT and an SSL
//! listener served at once (Kafka's `listeners=PLAINTEXT://…,SSL://…`),
//! spool's own client producing and consuming over SSL, Metadata answering
//! with the addresses of the listener a request came in on, mutual TLS
//! (`ssl.client.auth=required`), and a garbage or truncated handshake that
//! costs only its own connection. Certificates are made by the test (rcgen).
//!
//! ```text
//! cargo test --test it tls::
//! ```

pub mod certs;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rcgen::DnType;
use spool::broker::Broker;
use spool::client::{Client, Consumer, ConsumerConfig, NewTopic, ProduceOptions, ProducerRecord, Tls};
use spool::config::BrokerConfig;
use spool::security::tls::{client_config, SslConfig};
use spool::wire::server::{serve_listener, Endpoint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use certs::Pki;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A broker serving every listener of `listeners` (`NAME` → security
/// protocol), each on a port picked by the OS, with `extra` properties.
struct TlsBroker {
    ports: BTreeMap<String, u16>,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl TlsBroker {
    fn addr(&self, listener: &str) -> String {
        format!("127.0.0.1:{}", self.ports[listener])
    }
}

async fn start(names: &[&str], extra: &[(&str, String)]) -> TlsBroker {
    let dir = tempfile::tempdir().unwrap();
    let mut sockets = Vec::new();
    let mut listeners = Vec::new();
    let mut ports = BTreeMap::new();
    for name in names {
        let socket = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        listeners.push(format!("{name}://127.0.0.1:{port}"));
        ports.insert(name.to_string(), port);
        sockets.push((name.to_string(), socket));
    }
    let mut props: BTreeMap<String, String> = extra.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    props.insert("listeners".into(), listeners.join(","));
    props.insert("log.dirs".into(), dir.path().join("logs").display().to_string());
    let (config, _) = BrokerConfig::from_properties(&props).expect("config");
    let broker = Arc::new(Broker::open(config.clone()).expect("open"));
    let (stop, stopped) = watch::channel(false);
    for (name, socket) in sockets {
        let listener = config.listeners.iter().find(|l| l.name == name).unwrap();
        let tls = (listener.protocol == "SSL").then(|| config.tls_server_config(&name).unwrap());
        let endpoint = Endpoint { listener: name, tls, sessions: None };
        tokio::spawn(serve_listener(broker.clone(), socket, endpoint, stopped.clone()));
    }
    TlsBroker { ports, _stop: stop, _dir: dir }
}

/// A client's TLS settings, as `--command-config` would give them.
fn client_tls(pki: &Pki, keystore: Option<&Path>) -> Tls {
    let mut props = BTreeMap::from([("ssl.truststore.location".to_string(), pki.ca.display().to_string())]);
    if let Some(keystore) = keystore {
        props.insert("ssl.keystore.location".into(), keystore.display().to_string());
    }
    Some(client_config(&SslConfig::for_listener(&props, None).unwrap()).unwrap())
}

fn ssl_listener(pki: &Pki) -> Vec<(&'static str, String)> {
    vec![("ssl.keystore.location", pki.broker("broker").display().to_string())]
}

/// One broker serves PLAINTEXT and SSL at once: spool's client creates a
/// topic, produces and consumes over SSL (the fetch's records copied through
/// the TLS session), and a PLAINTEXT client reads the same records. Each is
/// told the broker's address on its own listener, Kafka's rule for
/// Metadata.
#[tokio::test]
async fn one_broker_serves_plaintext_and_ssl_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let broker = start(&["PLAINTEXT", "SSL"], &ssl_listener(&pki)).await;
    let tls = client_tls(&pki, None);

    let mut ssl = Client::connect_with(&broker.addr("SSL"), TIMEOUT, tls.clone()).await.expect("SSL client");
    let topic = NewTopic { partitions: 1, ..NewTopic::new("secret") };
    ssl.create_topics(&[topic], false).await.unwrap().remove(0).expect("created");
    let records = (0..50)
        .map(|i| ProducerRecord {
            key: None,
            value: Some(Bytes::from(format!("value-{i}"))),
            headers: vec![],
            timestamp_ms: None,
        })
        .collect();
    ssl.produce("secret", BTreeMap::from([(0, records)]), ProduceOptions::default()).await.expect("produce");

    let metadata = ssl.metadata(Some(&["secret"]), false).await.unwrap();
    assert_eq!(metadata.brokers[0].port, i32::from(broker.ports["SSL"]), "advertised on SSL");
    let mut plain = Client::connect(&broker.addr("PLAINTEXT"), TIMEOUT).await.unwrap();
    let metadata = plain.metadata(Some(&["secret"]), false).await.unwrap();
    assert_eq!(metadata.brokers[0].port, i32::from(broker.ports["PLAINTEXT"]), "advertised on PLAINTEXT");

    for (addr, tls) in [(broker.addr("SSL"), tls), (broker.addr("PLAINTEXT"), None)] {
        let mut consumer = Consumer::connect_with(&addr, ConsumerConfig::default(), tls).await.unwrap();
        consumer.assign([spool::TopicPartition::new("secret", 0)]);
        consumer.seek("secret", 0, 0).unwrap();
        let mut values = Vec::new();
        while values.len() < 50 {
            for r in consumer.poll(TIMEOUT).await.expect("poll") {
                values.push(String::from_utf8(r.record.value.unwrap().to_vec()).unwrap());
            }
        }
        assert_eq!(values[0], "value-0");
        assert_eq!(values[49], "value-49");
    }
}

/// The SSL port does not speak PLAINTEXT, and a client does not trust a
/// broker its truststore does not vouch for: both fail to connect, cleanly.
#[tokio::test]
async fn the_wrong_protocol_or_an_untrusted_broker_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let broker = start(&["SSL"], &ssl_listener(&pki)).await;
    assert!(Client::connect(&broker.addr("SSL"), Duration::from_secs(3)).await.is_err());
    let other = tempfile::tempdir().unwrap();
    let stranger = Pki::new(other.path());
    let err =
        Client::connect_with(&broker.addr("SSL"), TIMEOUT, client_tls(&stranger, None)).await.unwrap_err();
    assert!(err.to_string().contains("TLS handshake"), "{err}");
}

/// With `ssl.client.auth=required` a client without a certificate fails its
/// handshake; one whose certificate the truststore vouches for is served.
/// (Its principal, `User:CN=alice,OU=eng`, is checked on the request in
/// `src/wire/tls_tests.rs`.)
#[tokio::test]
async fn mtls_required_refuses_a_client_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let mut extra = ssl_listener(&pki);
    extra.push(("ssl.client.auth", "required".into()));
    extra.push(("ssl.truststore.location", pki.ca.display().to_string()));
    let broker = start(&["SSL"], &extra).await;
    let anonymous = Client::connect_with(&broker.addr("SSL"), TIMEOUT, client_tls(&pki, None)).await;
    assert!(anonymous.is_err(), "a client without a certificate was served");
    let alice =
        pki.keystore("alice", &[], &[(DnType::OrganizationalUnitName, "eng"), (DnType::CommonName, "alice")]);
    let mut client = Client::connect_with(&broker.addr("SSL"), TIMEOUT, client_tls(&pki, Some(&alice)))
        .await
        .expect("a client with a certificate");
    client.metadata(Some(&[]), false).await.expect("served");
}

/// Garbage where a ClientHello belongs, or half a ClientHello and then
/// silence, closes that connection (the broker logs it) and nothing else: a
/// TLS client connected before is still served, and a new one connects.
#[tokio::test]
async fn a_garbage_or_truncated_handshake_closes_only_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let broker = start(&["SSL"], &ssl_listener(&pki)).await;
    let tls = client_tls(&pki, None);
    let mut before = Client::connect_with(&broker.addr("SSL"), TIMEOUT, tls.clone()).await.unwrap();

    // A Kafka ApiVersions frame sent in the clear to the SSL port.
    let mut garbage = TcpStream::connect(broker.addr("SSL")).await.unwrap();
    garbage.write_all(&[0, 0, 0, 10, 0, 18, 0, 3, 0, 0, 0, 1, 0, 0]).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(TIMEOUT, garbage.read(&mut buf)).await.expect("closed, not left hanging");
    // rustls may answer with an alert before closing; then the stream ends.
    if let Ok(n) = read {
        if n > 0 {
            assert_eq!(buf[0], 0x15, "a TLS alert record");
            let rest = tokio::time::timeout(TIMEOUT, garbage.read(&mut buf)).await.expect("closed");
            assert!(matches!(rest, Ok(0) | Err(_)));
        }
    }

    // The first bytes of a TLS record announcing a handshake, then nothing.
    let mut truncated = TcpStream::connect(broker.addr("SSL")).await.unwrap();
    truncated.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]).await.unwrap();

    before.metadata(Some(&[]), false).await.expect("the earlier client is still served");
    let mut after =
        Client::connect_with(&broker.addr("SSL"), TIMEOUT, tls).await.expect("a new client connects");
    after.metadata(Some(&[]), false).await.expect("and is served");
    drop(truncated);
}
