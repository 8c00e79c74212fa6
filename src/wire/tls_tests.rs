//! The server under an SSL listener, with a handler that records who sent
//! each request: the principal is `User:` and the client certificate's
//! subject (Kafka's `ssl.principal.mapping.rules=DEFAULT`), `User:ANONYMOUS`
//! without one, and every request names its listener.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, MetadataRequest, RequestHeader};
use kafka_protocol::protocol::{Encodable, Request as KafkaRequest};
use rcgen::DnType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::codec::Request;
use super::server::{serve_listener, Endpoint};
use super::{Handler, Response};
use crate::security::tls::{client_config, server_config, ClientAuth, SslConfig};

#[path = "../../tests/it/tls/certs.rs"]
mod certs;

/// Answers every request with an empty 4-byte frame and keeps (listener, principal).
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String)>>);

impl Handler for Recorder {
    type Write = Infallible;

    async fn handle(self: &Arc<Self>, request: Request) -> Result<Response<Infallible>, String> {
        self.0.lock().unwrap().push((request.listener, request.principal.0));
        Ok(Response::Frame(Bytes::from_static(&[0, 0, 0, 4, 0, 0, 0, 0])))
    }

    fn unsupported_api_versions(&self, _: i32) -> Result<Bytes, String> {
        Err("not in these tests".into())
    }

    fn yields_to_shutdown(&self, _: ApiKey) -> bool {
        false
    }

    fn request_bytes_max(&self) -> usize {
        1 << 20
    }

    fn request_pool(&self) -> Option<&Arc<super::reader::RequestPool>> {
        None
    }
}

fn metadata_frame() -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(MetadataRequest::KEY)
        .with_request_api_version(12)
        .with_correlation_id(1);
    let mut body = bytes::BytesMut::new();
    header.encode(&mut body, ApiKey::Metadata.request_header_version(12)).unwrap();
    MetadataRequest::default().encode(&mut body, 12).unwrap();
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

/// `ssl.client.auth=requested`: a client with a certificate whose subject
/// is stored `O=spool, OU=eng, CN=alice` is `User:CN=alice,OU=eng,O=spool`;
/// one without is `User:ANONYMOUS`; both requests name the listener `SSL`.
#[tokio::test]
async fn the_principal_is_the_client_certificates_subject() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certs::Pki::new(dir.path());
    let server = SslConfig {
        keystore_location: Some(pki.broker("broker")),
        truststore_location: Some(pki.ca.clone()),
        client_auth: ClientAuth::Requested,
        ..SslConfig::for_listener(&BTreeMap::new(), Some("SSL")).unwrap()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let recorder = Arc::new(Recorder::default());
    let (_stop, stopped) = watch::channel(false);
    let endpoint =
        Endpoint { listener: "SSL".into(), tls: Some(server_config(&server).unwrap()), sessions: None };
    tokio::spawn(serve_listener(recorder.clone(), listener, endpoint, stopped));

    let alice = pki.keystore(
        "alice",
        &[],
        &[
            (DnType::OrganizationName, "spool"),
            (DnType::OrganizationalUnitName, "eng"),
            (DnType::CommonName, "alice"),
        ],
    );
    for keystore in [Some(alice), None] {
        let client = SslConfig {
            keystore_location: keystore,
            truststore_location: Some(pki.ca.clone()),
            ..SslConfig::for_listener(&BTreeMap::new(), None).unwrap()
        };
        let connector = tokio_rustls::TlsConnector::from(client_config(&client).unwrap());
        let tcp = TcpStream::connect(&addr).await.unwrap();
        let name = crate::security::tls::server_name(&addr).unwrap();
        let mut tls = connector.connect(name, tcp).await.expect("handshake");
        tls.write_all(&metadata_frame()).await.unwrap();
        tls.flush().await.unwrap();
        let mut answer = [0u8; 8];
        tls.read_exact(&mut answer).await.unwrap();
    }
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("SSL".to_string(), "User:CN=alice,OU=eng,O=spool".to_string()),
            ("SSL".to_string(), "User:ANONYMOUS".to_string()),
        ]
    );
}
