//! The seam between moving frames and answering requests.
//!
//! The server ([`super::server`]) knows frames, the codec and sockets; what a
//! request *means* — which topic, which log, whether a request may be abandoned
//! when the broker stops — belongs to whoever implements [`Handler`] (the
//! broker does). So `wire` imports nothing of the broker's, and the broker
//! imports `wire`: one direction, like Kafka's `SocketServer`, which hands
//! requests to the `KafkaApis` it is given through a request channel and never
//! names a handler itself.
//!
//! ```text
//!   wire::server                         a Handler (the broker)
//!   ────────────                         ─────────────────────────
//!   read frame, decode  ── Request ──▶   handle
//!   write frame         ◀── Response ──  Frame(bytes) | Write(w) | Later(f) | None
//!   w.write_to(socket)                   (w: a fetch that sendfiles its records;
//!   f.await, then write                   f: an acks=all produce waiting for replicas)
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;

use super::codec::{Request, SUPPORTED};
use super::reader::RequestPool;
use super::transport::Stream;

// ANCHOR: handler
/// Answers the requests a [`super::server`] reads.
pub trait Handler: Send + Sync + 'static {
    /// A response that writes itself to the socket (for the broker, a fetch
    /// whose records go out by `sendfile`).
    type Write: WriteResponse + 'static;

    /// Answers one request. `Err` closes the connection.
    fn handle(
        self: &Arc<Self>,
        request: Request,
    ) -> impl Future<Output = Result<Response<Self::Write>, String>> + Send;

    /// The answer to ApiVersions at a version the codec does not know: a whole
    /// v0 response frame carrying `UNSUPPORTED_VERSION` and the versions this
    /// handler speaks, so the client can retry with one both know (KIP-511).
    fn unsupported_api_versions(&self, correlation_id: i32) -> Result<Bytes, String>;

    /// Whether a request of `api_key`, while parked in [`Handler::handle`],
    /// may be abandoned when the server shuts down (a long-polling fetch may;
    /// a produce must run to its response).
    fn yields_to_shutdown(&self, api_key: ApiKey) -> bool;

    /// Whether the server may read and handle the connection's next request
    /// while a request of `api_key` waits for its [`Response::Later`] (an
    /// `acks=all` produce waiting for its replicas). The responses still go
    /// out in request order. `false` — Kafka's way, which mutes a connection
    /// until its request is answered — unless the handler says otherwise.
    fn pipelines(&self, api_key: ApiKey) -> bool {
        let _ = api_key;
        false
    }

    /// The APIs and versions this handler answers: the codec closes the
    /// connection on any other (a client listener's are [`SUPPORTED`]).
    fn apis(&self) -> &'static [(ApiKey, i16, i16)] {
        SUPPORTED
    }

    /// `socket.request.max.bytes`: a larger frame closes the connection.
    fn request_bytes_max(&self) -> usize;

    /// `queued.max.request.bytes`, if set: the pool every connection's
    /// requests are reserved from while they are read and handled.
    fn request_pool(&self) -> Option<&Arc<RequestPool>>;
}

/// What a handler answers a request with.
pub enum Response<W> {
    /// A whole encoded response frame, size prefix included, written as is.
    Frame(Bytes),
    /// A response that writes itself.
    Write(W),
    /// A response frame still being decided: the request did its work (a
    /// produce appended) and waits for something else (its replicas).
    Later(Later),
    /// No response: the client reads none (a produce with `acks=0`).
    None,
}

impl<W: std::fmt::Debug> std::fmt::Debug for Response<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Response::Frame(bytes) => f.debug_tuple("Frame").field(bytes).finish(),
            Response::Write(w) => f.debug_tuple("Write").field(w).finish(),
            Response::Later(_) => f.write_str("Later(..)"),
            Response::None => f.write_str("None"),
        }
    }
}

/// The whole response frame a [`Response::Later`] resolves to; `Err` closes
/// the connection.
pub type Later = Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send>>;

/// A response that writes itself to the connection's stream.
pub trait WriteResponse: Send {
    /// Writes the whole response frame. `Err` closes the connection. Only a
    /// PLAINTEXT stream hands over its socket for `sendfile` ([`Stream::tcp`]).
    fn write_to(self, stream: &mut Stream) -> impl Future<Output = Result<(), String>> + Send;
}
// ANCHOR_END: handler

// ANCHOR: session
/// One connection's gatekeeper on a listener that authenticates (SASL): it
/// sees every request before the handler does, answers the ones that are its
/// own (SaslHandshake, SaslAuthenticate) and closes the connection on any
/// request that comes before the client proved who it is. The transport is
/// not its business: the same session runs over TCP or TLS.
pub trait Session: Send {
    /// What to do with `request`.
    fn admit(&mut self, request: &Request) -> Admission;
    /// The connection's principal, which every request handed on carries.
    fn principal(&self) -> &str;
}

/// A [`Session`]'s verdict on one request.
#[derive(Debug)]
pub enum Admission {
    /// Hand the request to the handler.
    Pass,
    /// The session answered it: write `frame`, then close if `close`.
    Answer { frame: Bytes, close: bool },
    /// Close without answering.
    Close(String),
}

/// Opens a [`Session`] for each connection a listener accepts.
pub trait Sessions: Send + Sync + 'static {
    fn open(&self) -> Box<dyn Session>;
}
// ANCHOR_END: session

/// For a handler whose responses are all [`Response::Frame`]s.
impl WriteResponse for std::convert::Infallible {
    async fn write_to(self, _: &mut Stream) -> Result<(), String> {
        match self {}
    }
}
