//! One TCP connection to one broker: framing, correlation ids, version
//! negotiation and timeouts.
//!
//! ```text
//!  connect ──▶ ApiVersions (highest version both know; on UNSUPPORTED_VERSION,
//!              retry at the broker's highest, KIP-511)
//!          ──▶ send(request): pick the version ─▶ header + body ─▶ 4-byte size
//!                             ◀─ frame ◀─ correlation id must match ◀─ decode
//! ```
//!
//! Requests go one at a time: `send` takes `&mut self` and waits for its
//! response before the next request can be written. Kafka's clients pipeline
//! up to `max.in.flight.requests.per.connection` (5) requests and match
//! responses by order; chapter 4's producer does that on a connection handed
//! over with [`Connection::into_pipelined`] (see [`super::pipeline`]), after
//! the same ApiVersions handshake. The admin, fetch and metadata calls keep
//! this simpler one-at-a-time path: they have nothing to overlap.
//!
//! A connection that timed out or read garbage is *broken*: a late response
//! could still arrive and be taken for the next request's, so it is never used
//! again and [`super::Client`] opens a new one.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::ResponseError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ClientError;
use crate::wire::frame::parse_frame;

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
    (ApiKey::DescribeConfigs, 1, 4),
    // The idempotent producer (chapter 8): no transactional id, so any version.
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
];

/// Responses larger than this are refused: a fetch asks for at most
/// `fetch.max.bytes` (50 MiB), and a bigger size prefix means garbage.
pub const RESPONSE_BYTES_MAX: usize = 128 * 1024 * 1024;

/// The client id sent in every request header (`client.id`).
pub const CLIENT_ID: &str = "spool-cli";

/// An open, version-negotiated connection to one broker.
#[derive(Debug)]
pub struct Connection {
    addr: String,
    stream: TcpStream,
    buf: BytesMut,
    next_correlation_id: i32,
    /// The broker's ApiVersions answer: api key → (min, max).
    broker_versions: BTreeMap<i16, (i16, i16)>,
    request_timeout: Duration,
    broken: bool,
}

impl Connection {
    /// Connects to `addr` and asks which versions it speaks.
    pub async fn connect(addr: &str, request_timeout: Duration) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(request_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout {
                api: ApiKey::ApiVersions,
                timeout_ms: millis(request_timeout),
            })?
            .map_err(|e| ClientError::Io(std::io::Error::new(e.kind(), format!("{addr}: {e}"))))?;
        stream.set_nodelay(true)?;
        let mut connection = Connection {
            addr: addr.to_string(),
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            next_correlation_id: 0,
            broker_versions: BTreeMap::new(),
            request_timeout,
            broken: false,
        };
        connection.negotiate().await?;
        Ok(connection)
    }

    /// The address this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether a timeout or a bad response made this connection unusable.
    pub fn is_broken(&self) -> bool {
        self.broken
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
            let mut body =
                self.round_trip(ApiKey::ApiVersions, version, &request, self.request_timeout).await?;
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

    /// Hands this negotiated connection to a pipelined driver that keeps
    /// several requests in flight (chapter 4's producer).
    pub fn into_pipelined(self) -> super::pipeline::PipelinedConnection {
        super::pipeline::PipelinedConnection::new(
            self.addr,
            self.stream,
            self.buf,
            self.next_correlation_id,
            self.broker_versions,
            self.request_timeout,
        )
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
        let api = api_key::<R>()?;
        let version = self.version_for(api)?;
        let mut body = self.round_trip(api, version, request, timeout).await?;
        self.decode_body::<R::Response>(&mut body, api, version)
    }

    /// Sends `request` without reading a response: a produce with `acks=0`,
    /// which the broker does not answer.
    pub async fn send_oneway<R: Request>(&mut self, request: &R) -> Result<(), ClientError> {
        let api = api_key::<R>()?;
        let version = self.version_for(api)?;
        let frame = self.encode(api, version, request)?.1;
        self.exchange(api, frame, false, self.request_timeout).await.map(drop)
    }

    /// Writes one request and reads its response frame; returns the body,
    /// after the response header.
    async fn round_trip<R: Encodable + HeaderVersion>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &R,
        timeout: Duration,
    ) -> Result<Bytes, ClientError> {
        let (correlation_id, frame) = self.encode(api, version, request)?;
        let Some(mut response) = self.exchange(api, frame, true, timeout).await? else {
            unreachable!("exchange reads a response when asked to");
        };
        let header_version = api.response_header_version(version);
        let header = ResponseHeader::decode(&mut response, header_version)
            .map_err(|e| self.protocol(format!("{api:?} response header: {e}")))?;
        if header.correlation_id != correlation_id {
            return Err(self.protocol(format!(
                "{api:?} response has correlation id {}, expected {correlation_id}",
                header.correlation_id
            )));
        }
        Ok(response)
    }

    /// Writes a frame and (if asked) reads one back, all under `timeout`. Any
    /// failure breaks the connection: its byte stream is no longer in step.
    async fn exchange(
        &mut self,
        api: ApiKey,
        frame: Bytes,
        read_response: bool,
        timeout: Duration,
    ) -> Result<Option<Bytes>, ClientError> {
        if self.broken {
            return Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                format!("connection to {} is broken", self.addr),
            )));
        }
        // Broken until the exchange completes: a caller that drops this
        // future mid-request (a `select!` that took another branch) leaves a
        // response in flight, which the next request would read as its own.
        self.broken = true;
        let io = async {
            self.stream.write_all(&frame).await?;
            if !read_response {
                return Ok(None);
            }
            self.read_frame().await.map(Some)
        };
        let result = match tokio::time::timeout(timeout, io).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout { api, timeout_ms: millis(timeout) }),
        };
        self.broken = result.is_err();
        result
    }

    fn encode<R: Encodable + HeaderVersion>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &R,
    ) -> Result<(i32, Bytes), ClientError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        Ok((correlation_id, encode_request(api, version, correlation_id, request)?))
    }

    async fn read_frame(&mut self) -> Result<Bytes, ClientError> {
        loop {
            match parse_frame(&mut self.buf, RESPONSE_BYTES_MAX) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(ClientError::Protocol(format!("from {}: {e}", self.addr))),
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(ClientError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{} closed the connection", self.addr),
                )));
            }
        }
    }

    fn decode_body<T: Decodable>(
        &mut self,
        body: &mut Bytes,
        api: ApiKey,
        version: i16,
    ) -> Result<T, ClientError> {
        T::decode(body, version).map_err(|e| self.protocol(format!("{api:?} v{version} response: {e}")))
    }

    fn protocol(&mut self, why: String) -> ClientError {
        self.broken = true;
        ClientError::Protocol(format!("from {}: {why}", self.addr))
    }
}

/// The highest version of `api` in both this client's range and the broker's.
pub(super) fn negotiated_version(
    broker_versions: &BTreeMap<i16, (i16, i16)>,
    api: ApiKey,
) -> Result<i16, ClientError> {
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
pub(super) fn encode_request<R: Encodable + HeaderVersion>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    request: &R,
) -> Result<Bytes, ClientError> {
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
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

pub(super) fn api_key<R: Request>() -> Result<ApiKey, ClientError> {
    ApiKey::try_from(R::KEY).map_err(|_| ClientError::InvalidArgument(format!("unknown api key {}", R::KEY)))
}

fn client_range(api: ApiKey) -> (i16, i16) {
    CLIENT_VERSIONS.iter().find(|(k, _, _)| *k == api).map_or((0, -1), |&(_, min, max)| (min, max))
}

pub(super) fn millis(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::MetadataRequest;
    use tokio::net::TcpListener;

    /// How the scripted broker answers one request.
    enum Answer {
        /// An ApiVersions body at this version, with this error and these ranges.
        ApiVersions { version: i16, error: i16, apis: Vec<(ApiKey, i16, i16)> },
        /// Read the request, never answer.
        Silence,
        /// Answer with the wrong correlation id.
        WrongCorrelationId,
    }

    /// A one-connection broker that follows `script` and returns the
    /// (api key, version) of every request it was sent.
    async fn scripted_broker(script: Vec<Answer>) -> (String, tokio::task::JoinHandle<Vec<(i16, i16)>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = BytesMut::new();
            let mut seen = Vec::new();
            for answer in script {
                let frame = loop {
                    if let Some(frame) = parse_frame(&mut buf, 1 << 20).unwrap() {
                        break frame;
                    }
                    if stream.read_buf(&mut buf).await.unwrap() == 0 {
                        return seen;
                    }
                };
                let key = i16::from_be_bytes([frame[0], frame[1]]);
                let version = i16::from_be_bytes([frame[2], frame[3]]);
                let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                seen.push((key, version));
                let mut out = BytesMut::new();
                out.put_i32(0);
                match answer {
                    Answer::ApiVersions { version, error, apis } => {
                        out.put_i32(correlation_id); // ApiVersions responses always use header v0
                        let keys = apis
                            .into_iter()
                            .map(|(k, min, max)| {
                                ApiVersion::default()
                                    .with_api_key(k as i16)
                                    .with_min_version(min)
                                    .with_max_version(max)
                            })
                            .collect();
                        let body = ApiVersionsResponse::default().with_error_code(error).with_api_keys(keys);
                        body.encode(&mut out, version).unwrap();
                    }
                    Answer::Silence => {
                        std::future::pending::<()>().await;
                    }
                    Answer::WrongCorrelationId => {
                        out.put_i32(correlation_id + 100);
                        out.put_u8(0); // no tagged fields (Metadata v12's header is v1)
                    }
                }
                let size = (out.len() - 4) as i32;
                out[..4].copy_from_slice(&size.to_be_bytes());
                stream.write_all(&out).await.unwrap();
            }
            seen
        });
        (addr, task)
    }

    const API_VERSIONS: i16 = ApiKey::ApiVersions as i16;

    /// KIP-511: a broker that does not know the client's ApiVersions version
    /// answers a v0 body with UNSUPPORTED_VERSION; the client retries at the
    /// broker's highest, then picks for each API the highest version both
    /// speak, and refuses APIs the broker lacks or whose ranges do not meet.
    #[tokio::test]
    async fn api_versions_falls_back_and_versions_are_negotiated() {
        let broker_apis = vec![(ApiKey::ApiVersions, 0, 2), (ApiKey::Metadata, 0, 5), (ApiKey::Fetch, 0, 3)];
        let (addr, broker) = scripted_broker(vec![
            Answer::ApiVersions {
                version: 0,
                error: ResponseError::UnsupportedVersion.code(),
                apis: vec![(ApiKey::ApiVersions, 0, 2)],
            },
            Answer::ApiVersions { version: 2, error: 0, apis: broker_apis },
        ])
        .await;
        let connection = Connection::connect(&addr, Duration::from_secs(5)).await.unwrap();
        let (_, client_max) = client_range(ApiKey::ApiVersions);
        assert_eq!(connection.version_for(ApiKey::Metadata).unwrap(), 5);
        assert!(matches!(
            connection.version_for(ApiKey::Produce),
            Err(ClientError::UnsupportedVersion { broker: None, .. })
        ));
        // The broker's Fetch v0-v3 is entirely below this client's v4-v12.
        assert!(matches!(
            connection.version_for(ApiKey::Fetch),
            Err(ClientError::UnsupportedVersion { broker: Some((0, 3)), .. })
        ));
        drop(connection);
        assert_eq!(broker.await.unwrap(), vec![(API_VERSIONS, client_max), (API_VERSIONS, 2)]);
    }

    /// A request with no answer times out, and the connection is never used
    /// again: a late answer would otherwise be read as the next request's.
    #[tokio::test]
    async fn a_timeout_breaks_the_connection() {
        let apis = vec![(ApiKey::ApiVersions, 0, 3), (ApiKey::Metadata, 0, 12)];
        let (addr, _broker) =
            scripted_broker(vec![Answer::ApiVersions { version: 3, error: 0, apis }, Answer::Silence]).await;
        let mut connection = Connection::connect(&addr, Duration::from_millis(200)).await.unwrap();
        let result = connection.send(&MetadataRequest::default()).await;
        assert!(matches!(result, Err(ClientError::Timeout { api: ApiKey::Metadata, .. })), "{result:?}");
        assert!(connection.is_broken());
        let again = connection.send(&MetadataRequest::default()).await;
        assert!(matches!(again, Err(ClientError::Io(_))), "{again:?}");
    }

    /// A request abandoned mid-flight (its future dropped, as a `select!`
    /// does) breaks the connection: its answer would otherwise arrive as the
    /// answer to the next request.
    #[tokio::test]
    async fn an_abandoned_request_breaks_the_connection() {
        let apis = vec![(ApiKey::ApiVersions, 0, 3), (ApiKey::Metadata, 0, 12)];
        let (addr, _broker) =
            scripted_broker(vec![Answer::ApiVersions { version: 3, error: 0, apis }, Answer::Silence]).await;
        let mut connection = Connection::connect(&addr, Duration::from_secs(5)).await.unwrap();
        assert!(!connection.is_broken());
        let request = MetadataRequest::default();
        let abandoned = tokio::time::timeout(Duration::from_millis(100), connection.send(&request));
        assert!(abandoned.await.is_err(), "the broker never answers");
        assert!(connection.is_broken());
    }

    /// A response whose correlation id is not the request's is a protocol
    /// error (not a panic), and breaks the connection.
    #[tokio::test]
    async fn a_wrong_correlation_id_is_a_protocol_error() {
        let apis = vec![(ApiKey::ApiVersions, 0, 3), (ApiKey::Metadata, 0, 12)];
        let (addr, _broker) = scripted_broker(vec![
            Answer::ApiVersions { version: 3, error: 0, apis },
            Answer::WrongCorrelationId,
        ])
        .await;
        let mut connection = Connection::connect(&addr, Duration::from_secs(5)).await.unwrap();
        let result = connection.send(&MetadataRequest::default()).await;
        assert!(
            matches!(&result, Err(ClientError::Protocol(why)) if why.contains("correlation id")),
            "{result:?}"
        );
        assert!(connection.is_broken());
    }
}
