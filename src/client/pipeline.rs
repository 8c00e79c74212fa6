//! A connection with several requests in flight: Kafka's `NetworkClient`
//! with its `InFlightRequests` queue, for chapter 4's producer.
//!
//! A Kafka broker answers the requests of one connection in the order they
//! came (it reads the next request only after answering the last, see
//! [`crate::wire::server`]), so a client may write request 2 before response 1
//! has come back and match responses to requests by *order*: the queue of
//! requests in flight is a FIFO, and each response must carry the correlation
//! id at its head.
//!
//! ```text
//!  send(req 7) ─▶ pending: [5, 6, 7] ─▶ write frame 7 ──▶ broker
//!  reader task ◀─ response frame ◀──────────────────────── broker
//!       pops 5, checks the correlation id is 5, hands the body to 5's waiter
//! ```
//!
//! Why a second type rather than making [`Connection`](super::Connection)
//! pipelined: the one-at-a-time connection is what the admin and fetch calls
//! (and chapter 2's book) need, and it reads as one straight line of code;
//! pipelining needs a reader task and a queue shared with it. Both share the
//! handshake (a pipelined connection starts as a `Connection`), the encoding
//! and the version choice.
//!
//! A request is entered in the queue *before* its frame is written, so the
//! reader can never see a response it does not expect. How many requests may
//! be in flight is the caller's limit (the producer's sender counts them);
//! requests that get no response (`acks=0` produce) are never queued.
//!
//! Any failure — a read error, a response out of order, an undecodable header,
//! a response that takes longer than the request timeout — ends the reader
//! task; every request still queued then fails with an I/O error and the
//! connection [is broken](PipelinedConnection::is_broken): its owner drops it
//! and connects again.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::connection::{api_key, encode_request, millis, negotiated_version, RESPONSE_BYTES_MAX};
use super::ClientError;
use crate::wire::frame::parse_frame;

/// A request written and waiting for its response.
#[derive(Debug)]
struct InFlight {
    correlation_id: i32,
    api: ApiKey,
    header_version: i16,
    reply: oneshot::Sender<Result<Bytes, ClientError>>,
}

/// A negotiated connection that writes requests without waiting for the
/// previous response.
#[derive(Debug)]
pub struct PipelinedConnection {
    addr: String,
    writer: OwnedWriteHalf,
    in_flight: mpsc::UnboundedSender<InFlight>,
    reader: JoinHandle<()>,
    next_correlation_id: i32,
    broker_versions: BTreeMap<i16, (i16, i16)>,
    request_timeout: Duration,
    broken: bool,
}

impl Drop for PipelinedConnection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl PipelinedConnection {
    pub(super) fn new(
        addr: String,
        stream: TcpStream,
        buf: BytesMut,
        next_correlation_id: i32,
        broker_versions: BTreeMap<i16, (i16, i16)>,
        request_timeout: Duration,
    ) -> Self {
        let (read, writer) = stream.into_split();
        let (in_flight, queue) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_responses(addr.clone(), read, buf, queue));
        PipelinedConnection {
            addr,
            writer,
            in_flight,
            reader,
            next_correlation_id,
            broker_versions,
            request_timeout,
            broken: false,
        }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// A failed write or a finished reader: drop it and connect again.
    pub fn is_broken(&self) -> bool {
        self.broken || self.reader.is_finished()
    }

    // ANCHOR: pipelined_send
    /// Writes `request` and returns at once with a future for its response,
    /// which resolves within the request timeout (counted from now).
    pub async fn send<R: Request>(
        &mut self,
        request: &R,
    ) -> Result<impl Future<Output = Result<R::Response, ClientError>> + Send + 'static, ClientError> {
        let api = api_key::<R>()?;
        let version = negotiated_version(&self.broker_versions, api)?;
        let correlation_id = self.next_correlation_id();
        let frame = encode_request(api, version, correlation_id, request)?;
        let (reply, response) = oneshot::channel();
        let entry =
            InFlight { correlation_id, api, header_version: api.response_header_version(version), reply };
        if self.is_broken() || self.in_flight.send(entry).is_err() {
            return Err(self.broken_error());
        }
        self.write(api, &frame).await?;
        let (addr, timeout) = (self.addr.clone(), self.request_timeout);
        Ok(async move {
            let mut body = match tokio::time::timeout(timeout, response).await {
                Err(_) => return Err(ClientError::Timeout { api, timeout_ms: millis(timeout) }),
                Ok(Err(_)) => return Err(closed(&addr)), // the reader ended
                Ok(Ok(body)) => body?,
            };
            R::Response::decode(&mut body, version)
                .map_err(|e| ClientError::Protocol(format!("from {addr}: {api:?} v{version} response: {e}")))
        })
    }
    // ANCHOR_END: pipelined_send

    /// Writes `request`, which the broker will not answer (`acks=0` produce).
    pub async fn send_oneway<R: Request>(&mut self, request: &R) -> Result<(), ClientError> {
        let api = api_key::<R>()?;
        let version = negotiated_version(&self.broker_versions, api)?;
        let correlation_id = self.next_correlation_id();
        let frame = encode_request(api, version, correlation_id, request)?;
        if self.is_broken() {
            return Err(self.broken_error());
        }
        self.write(api, &frame).await
    }

    fn next_correlation_id(&mut self) -> i32 {
        let id = self.next_correlation_id;
        self.next_correlation_id = id.wrapping_add(1);
        id
    }

    async fn write(&mut self, api: ApiKey, frame: &[u8]) -> Result<(), ClientError> {
        let result = match tokio::time::timeout(self.request_timeout, self.writer.write_all(frame)).await {
            Ok(result) => result.map_err(ClientError::Io),
            Err(_) => Err(ClientError::Timeout { api, timeout_ms: millis(self.request_timeout) }),
        };
        self.broken |= result.is_err();
        result
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

/// The reader task: each response frame answers the oldest request in flight.
/// Returns on the first failure, which fails that request; dropping the
/// queue fails every other one.
async fn read_responses(
    addr: String,
    mut read: OwnedReadHalf,
    mut buf: BytesMut,
    mut queue: mpsc::UnboundedReceiver<InFlight>,
) {
    loop {
        let frame = loop {
            match parse_frame(&mut buf, RESPONSE_BYTES_MAX) {
                Ok(Some(frame)) => break Ok(frame),
                Ok(None) => {}
                Err(e) => break Err(ClientError::Protocol(format!("from {addr}: {e}"))),
            }
            match read.read_buf(&mut buf).await {
                Ok(0) => break Err(closed(&addr)),
                Ok(_) => {}
                Err(e) => break Err(ClientError::Io(e)),
            }
        };
        // Requests are queued before they are written, so a response's
        // request is already in the queue (or it answers nothing we sent).
        let Ok(request) = queue.try_recv() else { return };
        let mut frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                let _ = request.reply.send(Err(e));
                return;
            }
        };
        let header = match ResponseHeader::decode(&mut frame, request.header_version) {
            Ok(header) if header.correlation_id == request.correlation_id => header,
            Ok(header) => {
                let why = format!(
                    "{:?} response has correlation id {}, expected {}",
                    request.api, header.correlation_id, request.correlation_id
                );
                let _ = request.reply.send(Err(ClientError::Protocol(format!("from {addr}: {why}"))));
                return;
            }
            Err(e) => {
                let why = format!("{:?} response header: {e}", request.api);
                let _ = request.reply.send(Err(ClientError::Protocol(format!("from {addr}: {why}"))));
                return;
            }
        };
        drop(header);
        let _ = request.reply.send(Ok(frame));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Connection;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::{ApiVersionsResponse, MetadataRequest, MetadataResponse};
    use kafka_protocol::protocol::Encodable;
    use tokio::net::TcpListener;

    /// A broker that answers ApiVersions, then reads `requests` Metadata
    /// requests *before* answering any, and answers them in order — which only
    /// a pipelining client can get through. Each answer echoes the request's
    /// correlation id in `throttle_time_ms`.
    async fn batching_broker(requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = BytesMut::new();
            let handshake = next_frame(&mut stream, &mut buf).await;
            let apis = vec![
                ApiVersion::default().with_api_key(18).with_max_version(3),
                ApiVersion::default().with_api_key(3).with_min_version(1).with_max_version(12),
            ];
            let body = ApiVersionsResponse::default().with_api_keys(apis);
            answer(&mut stream, &handshake, false, |out| body.encode(out, 3).unwrap()).await;
            let mut frames = Vec::new();
            for _ in 0..requests {
                frames.push(next_frame(&mut stream, &mut buf).await);
            }
            for frame in frames {
                let cid = correlation_id(&frame);
                let body = MetadataResponse::default().with_throttle_time_ms(cid);
                answer(&mut stream, &frame, true, |out| body.encode(out, 12).unwrap()).await;
            }
            // Keep the connection open until the client is done.
            let _ = stream.read_buf(&mut buf).await;
        });
        addr
    }

    async fn next_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Bytes {
        loop {
            if let Some(frame) = parse_frame(buf, 1 << 20).unwrap() {
                return frame;
            }
            assert!(stream.read_buf(buf).await.unwrap() > 0, "the client hung up");
        }
    }

    fn correlation_id(frame: &[u8]) -> i32 {
        i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]])
    }

    /// Writes a response to `request`: size, correlation id, (for header v1)
    /// no tagged fields, then the body.
    async fn answer(
        stream: &mut TcpStream,
        request: &[u8],
        header_v1: bool,
        body: impl FnOnce(&mut BytesMut),
    ) {
        use bytes::BufMut;
        let mut out = BytesMut::new();
        out.put_i32(0);
        out.put_i32(correlation_id(request));
        if header_v1 {
            out.put_u8(0);
        }
        body(&mut out);
        let size = (out.len() - 4) as i32;
        out[..4].copy_from_slice(&size.to_be_bytes());
        stream.write_all(&out).await.unwrap();
    }

    /// Three requests are written before any response arrives, and each
    /// response reaches its own request (the broker echoes the correlation id
    /// in `throttle_time_ms`, so a mix-up would show).
    #[tokio::test]
    async fn responses_are_matched_in_order() {
        let addr = batching_broker(3).await;
        let connection = Connection::connect(&addr, Duration::from_secs(10)).await.unwrap();
        let mut pipelined = connection.into_pipelined();
        let mut pending = Vec::new();
        for _ in 0..3 {
            pending.push(pipelined.send(&MetadataRequest::default()).await.unwrap());
        }
        let mut echoed = Vec::new();
        for response in pending {
            echoed.push(response.await.unwrap().throttle_time_ms);
        }
        // The handshake used correlation id 0.
        assert_eq!(echoed, vec![1, 2, 3]);
        assert!(!pipelined.is_broken());
    }
}
