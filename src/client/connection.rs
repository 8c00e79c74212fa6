//! One TCP connection to one broker: framing, correlation ids, version
//! negotiation, requests in flight and timeouts — Kafka's `NetworkClient`
//! with its `InFlightRequests` queue, for one broker.
//!
//! ```text
//!  connect ──▶ ApiVersions (highest version both know; on UNSUPPORTED_VERSION,
//!              retry at the broker's highest, KIP-511)
//!  send(req 7) ─▶ pick the version ─▶ in flight: [5, 6, 7] ─▶ write frame 7 ──▶ broker
//!  reader task ◀─ response frame ◀──────────────────────────────────────────── broker
//!       pops 5, checks the correlation id is 5, hands the body to 5's waiter
//! ```
//!
//! A Kafka broker answers the requests of one connection in the order they
//! came (it reads the next request only after answering the last, see
//! [`crate::wire::server`]), so a client may write request 2 before response 1
//! has come back and match responses to requests by *order*: the requests in
//! flight are a FIFO queue, and each response must carry the correlation id
//! at its head. One reader task per connection takes responses off the wire
//! and hands each to the request at the head of the queue.
//!
//! Two ways to ask, one implementation underneath:
//!
//! - [`Connection::send`] writes a request and waits for its response: the
//!   admin, metadata, fetch and group calls, which have nothing to overlap.
//! - [`Connection::send_pipelined`] writes a request and returns at once with
//!   a future for its response, so chapter 4's producer keeps up to
//!   `max.in.flight.requests.per.connection` (5) requests in flight. How
//!   many is the caller's limit: the producer's sender counts them.
//!
//! A request is entered in the queue *before* its frame is written, so the
//! reader never sees a response it does not expect; requests that get no
//! response (an `acks=0` produce, [`Connection::send_oneway`]) are never queued.
//!
//! **A request nobody waits for** (its future dropped mid-flight, as a
//! `select!` that took another branch does) keeps its place in the queue: the
//! reader takes its answer off the wire in turn and throws it away, so a late
//! answer is never read as the next request's.
//!
//! **A broken connection** is never used again: a frame abandoned half
//! written, a failed write or read, a response out of order, an undecodable
//! header or body, or a response later than its timeout (Kafka's clients also
//! disconnect on a request timeout) leaves the byte stream out of step. Every
//! request still in flight then fails, [`Connection::is_broken`] says so, and
//! the owner ([`super::Client`], the producer's sender) connects again.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::ResponseError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::ClientError;
use crate::wire::frame::parse_frame;

mod sasl;

/// The versions of each API this client can build and read, lowest to highest.
/// The version sent is the highest in both this range and the broker's
/// (ApiVersions). The upper bounds are where the request changes shape in a way
/// this code does not fill in: Fetch v13 and Produce v13 name topics by id,
/// DeleteTopics v6 by a struct, and so on.
pub const CLIENT_VERSIONS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DescribeConfigs, 1, 4),
    // Chapter 7's `spool metadata-quorum`: DescribeCluster v1 names the
    // endpoint type (KIP-919), which a controller needs.
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DescribeQuorum, 0, 2),
    // The idempotent producer (chapter 8) and a transactional one (chapter 9's bench).
    (ApiKey::InitProducerId, 0, 4),
    // Chapter 5's group APIs. FindCoordinator v4 batches keys (both shapes
    // are read); JoinGroup stops below v9's `skip_assignment` (KIP-814);
    // OffsetFetch below v8's batched groups; OffsetCommit below v9 (KIP-848).
    (ApiKey::FindCoordinator, 1, 4),
    (ApiKey::JoinGroup, 1, 8),
    (ApiKey::SyncGroup, 1, 5),
    (ApiKey::Heartbeat, 1, 4),
    (ApiKey::LeaveGroup, 1, 5),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 2, 7),
    (ApiKey::ListGroups, 1, 4),
    (ApiKey::DescribeGroups, 1, 5),
    (ApiKey::DeleteGroups, 1, 2),
    // Chapter 6: what a broker sends its controller, and a follower's ListOffsets.
    (ApiKey::BrokerRegistration, 0, 3),
    (ApiKey::BrokerHeartbeat, 0, 1),
    (ApiKey::AlterPartition, 2, 3),
    (ApiKey::AllocateProducerIds, 0, 0),
    (ApiKey::ElectLeaders, 0, 2),
    // Chapter 9: a transaction coordinator's markers to partition leaders
    // (and `spool transactions abort`'s); a transactional producer's requests
    // (AddPartitionsToTxn below v4, which is the brokers' batched form); the
    // admin requests of `spool transactions` (KIP-664).
    (ApiKey::WriteTxnMarkers, 1, 1),
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 3),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 1),
    (ApiKey::DescribeProducers, 0, 0),
    // Issue 17's `spool delete-records`.
    (ApiKey::DeleteRecords, 0, 2),
    // Issue 17: `spool groups --delete-offsets` and `spool log-dirs`.
    (ApiKey::OffsetDelete, 0, 0),
    // Issue 17: `spool configs --alter` (and a broker forwarding the config
    // APIs to its controller).
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeLogDirs, 1, 4),
    // Issue 17: `Client::describe_topic_partitions`, a page at a time.
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
    // Chapter 11: `spool acls` (v1 on: KIP-290's pattern types).
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    // Chapter 11 / issue 19: logging in on a SASL listener ([`sasl`]), and
    // `spool configs --entity-type users`' SCRAM credentials.
    (ApiKey::SaslHandshake, 1, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
];

/// Responses larger than this are refused: a fetch asks for at most
/// `fetch.max.bytes` (50 MiB), and a bigger size prefix means garbage.
pub const RESPONSE_BYTES_MAX: usize = 128 * 1024 * 1024;

/// The client id sent in every request header (`client.id`).
pub const CLIENT_ID: &str = "spool-cli";

/// An open, version-negotiated connection to one broker.
pub struct Connection {
    addr: String,
    /// The socket's write side: TCP's own half, or a TLS session's.
    writer: Box<dyn AsyncWrite + Send + Unpin>,
    /// Requests written (or being written) and waiting for a response, oldest
    /// first; the reader task holds the other end.
    in_flight: mpsc::UnboundedSender<InFlight>,
    reader: JoinHandle<()>,
    next_correlation_id: i32,
    /// The broker's ApiVersions answer: api key → (min, max).
    broker_versions: BTreeMap<i16, (i16, i16)>,
    request_timeout: Duration,
    /// Set by whichever side sees the stream go out of step: a write, the
    /// reader, or a response future that timed out or could not decode.
    broken: Arc<AtomicBool>,
    /// True while a frame is being written. A caller that drops the future
    /// half way leaves it true, and half a frame on the wire: broken.
    writing: bool,
    /// `client.id` in every request header ([`CLIENT_ID`] unless set).
    client_id: StrBytes,
}

/// A request written and waiting for its response.
#[derive(Debug)]
struct InFlight {
    correlation_id: i32,
    api: ApiKey,
    header_version: i16,
    reply: oneshot::Sender<Result<Bytes, ClientError>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("addr", &self.addr).field("broken", &self.is_broken()).finish()
    }
}

/// A client's TLS configuration (`security.protocol=SSL`); `None` is PLAINTEXT.
pub type Tls = Option<Arc<rustls::ClientConfig>>;

/// How a client secures each connection (TLS, SASL login, both or neither).
pub use crate::security::ClientSecurity as Security;

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Connection {
    /// Connects to `addr` over PLAINTEXT and asks which versions it speaks.
    pub async fn connect(addr: &str, request_timeout: Duration) -> Result<Self, ClientError> {
        Self::open(addr, request_timeout, CLIENT_ID, &Security::default()).await
    }

    /// As [`connect`](Self::connect), naming itself `client_id` in every
    /// request header (Kafka's `client.id`: what brokers log and groups show).
    pub async fn connect_as(
        addr: &str,
        request_timeout: Duration,
        client_id: &str,
    ) -> Result<Self, ClientError> {
        Self::open(addr, request_timeout, client_id, &Security::default()).await
    }

    /// As [`connect`](Self::connect), secured as `security` says.
    pub async fn connect_with(
        addr: &str,
        request_timeout: Duration,
        security: &Security,
    ) -> Result<Self, ClientError> {
        Self::open(addr, request_timeout, CLIENT_ID, security).await
    }

    // ANCHOR: connect_with
    /// Connects to `addr` as `client_id` — over TLS when `security.tls` is
    /// given: the handshake runs before the first frame, and a broker the
    /// truststore does not vouch for is refused — asks which versions it
    /// speaks and, when `security.sasl` is given, logs in (`connection/sasl.rs`).
    pub async fn open(
        addr: &str,
        request_timeout: Duration,
        client_id: &str,
        security: &Security,
    ) -> Result<Self, ClientError> {
        let timed_out =
            || ClientError::Timeout { api: ApiKey::ApiVersions, timeout_ms: millis(request_timeout) };
        let stream = tokio::time::timeout(request_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| ClientError::Io(std::io::Error::new(e.kind(), format!("{addr}: {e}"))))?;
        stream.set_nodelay(true)?;
        let (read, writer): (Box<dyn AsyncRead + Send + Unpin>, Box<dyn AsyncWrite + Send + Unpin>) =
            match &security.tls {
                None => {
                    let (read, write) = stream.into_split();
                    (Box::new(read), Box::new(write))
                }
                Some(config) => {
                    let name = crate::security::tls::server_name(addr)
                        .map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
                    let connector = tokio_rustls::TlsConnector::from(config.clone());
                    let session = tokio::time::timeout(request_timeout, connector.connect(name, stream))
                        .await
                        .map_err(|_| timed_out())?
                        .map_err(|e| {
                            ClientError::Io(std::io::Error::new(
                                e.kind(),
                                format!("{addr}: TLS handshake: {e}"),
                            ))
                        })?;
                    let (read, write) = tokio::io::split(session);
                    (Box::new(read), Box::new(write))
                }
            };
        let (in_flight, queue) = mpsc::unbounded_channel();
        let broken = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(read_responses(addr.to_string(), read, queue, broken.clone()));
        let mut connection = Connection {
            addr: addr.to_string(),
            writer,
            in_flight,
            reader,
            next_correlation_id: 0,
            broker_versions: BTreeMap::new(),
            request_timeout,
            broken,
            writing: false,
            client_id: StrBytes::from_string(client_id.to_string()),
        };
        connection.negotiate().await?;
        if let Some(login) = &security.sasl {
            sasl::authenticate(&mut connection, login).await?;
        }
        Ok(connection)
    }
    // ANCHOR_END: connect_with

    /// The address this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether a failure (see the module docs) made this connection unusable:
    /// drop it and connect again.
    pub fn is_broken(&self) -> bool {
        self.writing || self.broken.load(Ordering::Acquire) || self.reader.is_finished()
    }

    // ANCHOR: negotiate
    /// ApiVersions, first at this client's highest version. A broker that does
    /// not know that version answers with a v0 body holding
    /// `UNSUPPORTED_VERSION` and its own range for ApiVersions (KIP-511): retry
    /// once at the highest version both know.
    async fn negotiate(&mut self) -> Result<(), ClientError> {
        let (_, mut version) = client_range(ApiKey::ApiVersions);
        for _ in 0..2 {
            let request = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("spool"))
                .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
            let response = self.write_request(ApiKey::ApiVersions, version, &request, self.request_timeout);
            let mut body = response.await?.await?;
            // The error code is the first field of every version: peek at it to
            // know which version the body was written at.
            let unsupported = body.len() >= 2
                && i16::from_be_bytes([body[0], body[1]]) == ResponseError::UnsupportedVersion.code();
            let body_version = if unsupported { 0 } else { version };
            let response =
                self.decode_body::<ApiVersionsResponse>(&mut body, ApiKey::ApiVersions, body_version)?;
            self.broker_versions =
                response.api_keys.iter().map(|k| (k.api_key, (k.min_version, k.max_version))).collect();
            if !unsupported {
                return ClientError::check(response.error_code, None, || {
                    format!("ApiVersions to {}", self.addr)
                });
            }
            version = self.version_for(ApiKey::ApiVersions)?;
        }
        Err(ClientError::UnsupportedVersion {
            api: ApiKey::ApiVersions,
            broker: self.broker_versions.get(&(ApiKey::ApiVersions as i16)).copied(),
        })
    }
    // ANCHOR_END: negotiate

    /// The version to send `api` at: the highest both sides speak.
    pub fn version_for(&self, api: ApiKey) -> Result<i16, ClientError> {
        negotiated_version(&self.broker_versions, api)
    }

    /// Sends `request` and waits for its response, within the request timeout.
    pub async fn send<R: Request>(&mut self, request: &R) -> Result<R::Response, ClientError> {
        self.send_within(request, self.request_timeout).await
    }

    /// Sends `request` and waits up to `timeout` for its response (a fetch
    /// passes its `max_wait_ms` on top of the request timeout).
    pub async fn send_within<R: Request>(
        &mut self,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Response, ClientError> {
        self.start(request, timeout).await?.await
    }

    /// Sends `request` at `version` exactly — for a peer protocol whose
    /// fields the caller set for that version (KRaft's RPCs between
    /// controllers) — if the other side speaks it, and waits up to `timeout`.
    pub async fn send_at<R: Request>(
        &mut self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, ClientError> {
        let api = api_key::<R>()?;
        let speaks = self.broker_versions.get(&(api as i16)).copied();
        if speaks.is_none_or(|(min, max)| version < min || version > max) {
            return Err(ClientError::UnsupportedVersion { api, broker: speaks });
        }
        let body = self.write_request(api, version, request, timeout).await?;
        let mut body = body.await?;
        R::Response::decode(&mut body, version).map_err(|e| {
            self.broken.store(true, Ordering::Release);
            ClientError::Protocol(format!("from {}: {api:?} v{version} response: {e}", self.addr))
        })
    }

    // ANCHOR: pipelined_send
    /// Writes `request` and returns at once with a future for its response,
    /// which resolves within the request timeout (counted from now). Dropping
    /// the future leaves the request in flight; its answer is thrown away.
    pub async fn send_pipelined<R: Request>(
        &mut self,
        request: &R,
    ) -> Result<impl Future<Output = Result<R::Response, ClientError>> + Send + 'static, ClientError> {
        self.start(request, self.request_timeout).await
    }
    // ANCHOR_END: pipelined_send

    /// Writes `request`, which the broker will not answer (`acks=0` produce).
    pub async fn send_oneway<R: Request>(&mut self, request: &R) -> Result<(), ClientError> {
        let api = api_key::<R>()?;
        let version = self.version_for(api)?;
        let frame = encode_request(api, version, self.next_correlation_id(), &self.client_id, request)?;
        if self.is_broken() {
            return Err(self.broken_error());
        }
        self.write(api, &frame).await
    }

    /// Writes `request` at the negotiated version; the future decodes its response.
    async fn start<R: Request>(
        &mut self,
        request: &R,
        timeout: Duration,
    ) -> Result<impl Future<Output = Result<R::Response, ClientError>> + Send + 'static, ClientError> {
        let api = api_key::<R>()?;
        let version = self.version_for(api)?;
        let body = self.write_request(api, version, request, timeout).await?;
        let (addr, broken) = (self.addr.clone(), self.broken.clone());
        Ok(async move {
            let mut body = body.await?;
            R::Response::decode(&mut body, version).map_err(|e| {
                broken.store(true, Ordering::Release);
                ClientError::Protocol(format!("from {addr}: {api:?} v{version} response: {e}"))
            })
        })
    }

    /// Queues `request` as in flight, then writes it; the future resolves to
    /// its response's body (after the header), or a timeout that breaks the
    /// connection.
    async fn write_request<R: Encodable + HeaderVersion>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &R,
        timeout: Duration,
    ) -> Result<impl Future<Output = Result<Bytes, ClientError>> + Send + 'static, ClientError> {
        let correlation_id = self.next_correlation_id();
        let frame = encode_request(api, version, correlation_id, &self.client_id, request)?;
        let (reply, response) = oneshot::channel();
        let entry =
            InFlight { correlation_id, api, header_version: api.response_header_version(version), reply };
        if self.is_broken() || self.in_flight.send(entry).is_err() {
            return Err(self.broken_error());
        }
        self.write(api, &frame).await?;
        let (addr, broken) = (self.addr.clone(), self.broken.clone());
        Ok(async move {
            match tokio::time::timeout(timeout, response).await {
                Ok(Ok(body)) => body,
                Ok(Err(_)) => Err(closed(&addr)), // the reader ended
                Err(_) => {
                    broken.store(true, Ordering::Release);
                    Err(ClientError::Timeout { api, timeout_ms: millis(timeout) })
                }
            }
        })
    }

    fn next_correlation_id(&mut self) -> i32 {
        let id = self.next_correlation_id;
        self.next_correlation_id = id.wrapping_add(1);
        id
    }

    /// Writes one whole frame within the request timeout.
    async fn write(&mut self, api: ApiKey, frame: &[u8]) -> Result<(), ClientError> {
        self.writing = true;
        // Flushed: a TLS session may hold the frame's last record back.
        let write = async {
            self.writer.write_all(frame).await?;
            self.writer.flush().await
        };
        let result = match tokio::time::timeout(self.request_timeout, write).await {
            Ok(result) => result.map_err(ClientError::Io),
            Err(_) => Err(ClientError::Timeout { api, timeout_ms: millis(self.request_timeout) }),
        };
        if result.is_err() {
            self.broken.store(true, Ordering::Release);
        }
        self.writing = false;
        result
    }

    fn decode_body<T: Decodable>(
        &self,
        body: &mut Bytes,
        api: ApiKey,
        version: i16,
    ) -> Result<T, ClientError> {
        T::decode(body, version).map_err(|e| {
            self.broken.store(true, Ordering::Release);
            ClientError::Protocol(format!("from {}: {api:?} v{version} response: {e}", self.addr))
        })
    }

    fn broken_error(&self) -> ClientError {
        ClientError::Io(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            format!("connection to {} is broken", self.addr),
        ))
    }
}

fn closed(addr: &str) -> ClientError {
    ClientError::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        format!("connection to {addr} closed with the request in flight"),
    ))
}

// ANCHOR: read_responses
/// The reader task: each response frame answers the oldest request in flight
/// (whose waiter may have gone: the answer is then dropped). Returns on the
/// first failure, after marking the connection broken and failing that
/// request; dropping the queue fails every other one.
async fn read_responses(
    addr: String,
    mut read: Box<dyn AsyncRead + Send + Unpin>,
    mut queue: mpsc::UnboundedReceiver<InFlight>,
    broken: Arc<AtomicBool>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let frame = read_frame(&addr, &mut *read, &mut buf).await;
        // Requests are queued before they are written, so a response's
        // request is already in the queue (or it answers nothing we sent).
        let Ok(request) = queue.try_recv() else { break };
        match frame.and_then(|frame| response_body(&addr, frame, &request)) {
            Ok(body) => {
                let _ = request.reply.send(Ok(body));
            }
            Err(e) => {
                broken.store(true, Ordering::Release);
                let _ = request.reply.send(Err(e));
                return;
            }
        }
    }
    broken.store(true, Ordering::Release);
}
// ANCHOR_END: read_responses

/// The next whole frame from the broker.
async fn read_frame(
    addr: &str,
    read: &mut (dyn AsyncRead + Send + Unpin),
    buf: &mut BytesMut,
) -> Result<Bytes, ClientError> {
    loop {
        match parse_frame(buf, RESPONSE_BYTES_MAX) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(e) => return Err(ClientError::Protocol(format!("from {addr}: {e}"))),
        }
        if read.read_buf(buf).await? == 0 {
            return Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{addr} closed the connection"),
            )));
        }
    }
}

/// A response frame's body, once its header names `request`'s correlation id.
fn response_body(addr: &str, mut frame: Bytes, request: &InFlight) -> Result<Bytes, ClientError> {
    let header = ResponseHeader::decode(&mut frame, request.header_version)
        .map_err(|e| ClientError::Protocol(format!("from {addr}: {:?} response header: {e}", request.api)))?;
    if header.correlation_id != request.correlation_id {
        return Err(ClientError::Protocol(format!(
            "from {addr}: {:?} response has correlation id {}, expected {}",
            request.api, header.correlation_id, request.correlation_id
        )));
    }
    Ok(frame)
}

/// The highest version of `api` in both this client's range and the broker's.
fn negotiated_version(broker_versions: &BTreeMap<i16, (i16, i16)>, api: ApiKey) -> Result<i16, ClientError> {
    let (client_min, client_max) = client_range(api);
    let Some(&(broker_min, broker_max)) = broker_versions.get(&(api as i16)) else {
        return Err(ClientError::UnsupportedVersion { api, broker: None });
    };
    let (min, max) = (client_min.max(broker_min), client_max.min(broker_max));
    if min > max {
        return Err(ClientError::UnsupportedVersion { api, broker: Some((broker_min, broker_max)) });
    }
    Ok(max)
}

/// One request frame: size, header (with `correlation_id`), body.
fn encode_request<R: Encodable + HeaderVersion>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: &StrBytes,
    request: &R,
) -> Result<Bytes, ClientError> {
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(client_id.clone()));
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0); // size, below
    header
        .encode(&mut buf, api.request_header_version(version))
        .and_then(|()| request.encode(&mut buf, version))
        .map_err(|e| ClientError::InvalidArgument(format!("cannot encode {api:?} v{version}: {e}")))?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

fn api_key<R: Request>() -> Result<ApiKey, ClientError> {
    ApiKey::try_from(R::KEY).map_err(|_| ClientError::InvalidArgument(format!("unknown api key {}", R::KEY)))
}

fn client_range(api: ApiKey) -> (i16, i16) {
    CLIENT_VERSIONS.iter().find(|(k, _, _)| *k == api).map_or((0, -1), |&(_, min, max)| (min, max))
}

fn millis(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests;
