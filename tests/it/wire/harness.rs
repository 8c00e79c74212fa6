//! A broker in the test's process — the `spool serve` wiring, minus the binary
//! — and a raw Kafka client: frames, headers, bodies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::ResponseError;
use spool::broker::Broker;
use spool::config::BrokerConfig;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The longest any single read waits. Generous: it only bounds a hang.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

// Versions the tests speak: the newest spool and the codec crate share, except
// DeleteTopics, whose v6 names topics by id as well.
pub const API_VERSIONS_V: i16 = 3;
pub const METADATA_V: i16 = 12;
pub const CREATE_TOPICS_V: i16 = 7;
pub const DELETE_TOPICS_V: i16 = 5;
pub const DESCRIBE_CONFIGS_V: i16 = 4;
pub const PRODUCE_V: i16 = 9;
pub const FETCH_V: i16 = 12;
pub const LIST_OFFSETS_V: i16 = 6;

// A broker in the test's process

/// One running broker: the `spool serve` wiring, minus the binary.
pub struct TestBroker {
    pub addr: SocketAddr,
    broker: Arc<Broker>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    dir: TempDir,
}

/// Starts a broker in a fresh tempdir; `tweak` adjusts its config.
pub async fn start(tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    start_in(tempfile::tempdir().expect("tempdir"), tweak).await
}

/// Starts a broker on `dir`, which may hold a previous broker's logs.
pub async fn start_in(dir: TempDir, tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    start_on("127.0.0.1:0".parse().expect("an address"), dir, tweak).await
}

/// Starts a broker listening on `addr` (a previous broker's, to restart it
/// where its clients expect it) with its logs in `dir`.
pub async fn start_on(addr: SocketAddr, dir: TempDir, tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    let listener = TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let mut config = BrokerConfig {
        listener: addr,
        advertised_port: addr.port(),
        log_dir: dir.path().join("logs"),
        ..Default::default()
    };
    tweak(&mut config);
    let broker = Arc::new(Broker::open(config).expect("open broker"));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let server = tokio::spawn(spool::wire::server::serve(broker.clone(), listener, shutdown_rx));
    TestBroker { addr, broker, shutdown, server, dir }
}

impl TestBroker {
    /// The broker itself, for what a client cannot see (counters, logs).
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Clean stop, as `spool serve` does on SIGTERM: stop serving, then flush the
    /// logs and write the clean-shutdown marker. Returns the log directory.
    pub async fn stop(self) -> TempDir {
        self.shutdown.send(true).expect("server is listening");
        tokio::time::timeout(Duration::from_secs(10), self.server)
            .await
            .expect("server stops within its 5 s drain")
            .expect("server task did not panic");
        self.broker.shutdown().expect("clean shutdown");
        drop(self.broker);
        self.dir
    }

    /// Unclean stop, what `kill -9` leaves behind: the server stops mid-flight
    /// and the broker's clean shutdown never runs — no final flush, no producer
    /// snapshot, no clean-shutdown marker — so the next start recovers. (The
    /// page cache survives, as it does when only the process dies.)
    pub async fn crash(self) -> TempDir {
        self.server.abort();
        let _ = self.server.await;
        drop(self.broker);
        self.dir
    }
}

// A raw Kafka client: frames, headers, bodies

pub struct Client {
    pub stream: TcpStream,
    next_correlation_id: i32,
}

/// Encodes one request frame, size prefix included.
pub fn request_frame<R: Request>(version: i16, correlation_id: i32, body: &R) -> Bytes {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("wire-test")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf, R::header_version(version)).expect("encode header");
    body.encode(&mut buf, version).expect("encode body");
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(READ_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Client { stream, next_correlation_id: 1 }
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write to broker");
    }

    /// Sends a request without waiting; returns its correlation id.
    pub async fn send<R: Request>(&mut self, version: i16, body: &R) -> i32 {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        self.write(&request_frame(version, correlation_id, body)).await;
        correlation_id
    }

    /// Reads one whole response frame (without its size prefix).
    pub async fn read_frame(&mut self) -> Bytes {
        let read = async {
            let size = self.stream.read_i32().await.expect("response size");
            assert!(size >= 4, "response of {size} bytes");
            let mut body = vec![0; size as usize];
            self.stream.read_exact(&mut body).await.expect("response body");
            Bytes::from(body)
        };
        tokio::time::timeout(READ_TIMEOUT, read).await.expect("no response within the read timeout")
    }

    /// Reads the response to request `correlation_id`, sent at `version`, and
    /// checks that the body decodes exactly: no bytes left over.
    pub async fn receive<R: Request>(&mut self, version: i16, correlation_id: i32) -> R::Response {
        let mut frame = self.read_frame().await;
        decode_response::<R::Response>(
            &mut frame,
            version,
            R::Response::header_version(version),
            correlation_id,
        )
    }

    pub async fn request<R: Request>(&mut self, version: i16, body: &R) -> R::Response {
        let correlation_id = self.send(version, body).await;
        self.receive::<R>(version, correlation_id).await
    }

    /// Waits until the broker closes the connection (EOF or reset), without
    /// sending anything; panics if it answers instead or keeps it open.
    pub async fn expect_closed(&mut self) {
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(READ_TIMEOUT, self.stream.read(&mut buf))
            .await
            .expect("the broker kept the connection open");
        if let Ok(n @ 1..) = read {
            panic!("expected the broker to close the connection; it sent {n} bytes");
        }
    }
}

pub fn decode_response<T: Decodable>(
    frame: &mut Bytes,
    version: i16,
    header_version: i16,
    correlation_id: i32,
) -> T {
    let header = ResponseHeader::decode(frame, header_version).expect("response header");
    assert_eq!(header.correlation_id, correlation_id, "responses come back in request order");
    let body = T::decode(frame, version).expect("response body");
    assert_eq!(frame.remaining(), 0, "the response body has {} trailing bytes", frame.remaining());
    body
}

pub fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub fn code(e: ResponseError) -> i16 {
    e.code()
}
