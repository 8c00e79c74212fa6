//! The TCP server: one task per connection, requests answered one at a time
//! and in order, by a [`Handler`] the server is given.
//!
//! Kafka's clients pipeline requests on a connection and match responses by
//! correlation id *and* order; handling each connection's requests one by one
//! keeps the order without bookkeeping. A fetch that long-polls therefore holds
//! its connection, exactly as it does in Kafka (whose network layer mutes a
//! connection until its in-flight request is answered).
//!
//! The server moves frames and nothing else: it reads them ([`super::reader`]),
//! decodes them, hands each request to the handler and writes what comes back.
//! Which requests may be abandoned at shutdown is the handler's call.
//!
//! Each listener is served by its own [`serve_listener`], told its name,
//! for an SSL or SASL_SSL listener its TLS configuration, and for a
//! SASL_PLAINTEXT or SASL_SSL listener where its connections' SASL sessions
//! come from ([`Endpoint`]). A TLS handshake runs before the first frame, in
//! the connection's own task, so a client that sends garbage or stalls half
//! way costs only its own connection; on a SASL listener nothing but
//! ApiVersions and the SASL exchange is answered before the login succeeds.
//! Every request carries the listener's name (Metadata answers with the
//! addresses on that listener) and the connection's principal (from the
//! SASL login, else the TLS client certificate, else `ANONYMOUS`).

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::accept::AcceptBackoff;
use super::codec::{decode_request_for, DecodeError};
use super::handler::{Admission, Handler, Response, Session, Sessions, WriteResponse};
use super::reader::{Frame, FrameReader};
use super::transport::Stream;

/// `connections.max.idle.ms`: an idle connection is closed after this long.
pub const CONNECTION_IDLE: Duration = Duration::from_secs(600);

/// How long a TLS client may take over its handshake before the connection
/// is closed: one that sends half a ClientHello and stalls holds nothing longer.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection whose authentication failed stays open after its
/// SaslAuthenticate error went out: Kafka's default
/// `connection.failed.authentication.delay.ms` (KIP-306, 100 ms). Kafka
/// waits before answering; spool answers first and waits before closing,
/// because a client that reads the answer and the close in one go may drop
/// the answer (kafka-python 3.0.12's transport does, and then reports a
/// lost connection instead of SaslAuthenticationFailedError). Either way a
/// password guesser pays the delay per attempt.
pub const FAILED_AUTHENTICATION_CLOSE_DELAY: Duration = Duration::from_millis(100);

/// What a listener is, to the connections it accepts.
#[derive(Clone)]
pub struct Endpoint {
    /// The listener's name (`PLAINTEXT`, `SSL`, `INTERNAL`, …), set on every request.
    pub listener: String,
    /// For an SSL or SASL_SSL listener, its TLS configuration; `None` is plain TCP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// For a SASL_PLAINTEXT or SASL_SSL listener, where each connection's
    /// SASL session comes from; `None`: no login.
    pub sessions: Option<Arc<dyn Sessions>>,
}

impl Endpoint {
    /// A PLAINTEXT listener of that name.
    pub fn plaintext(listener: &str) -> Self {
        Endpoint { listener: listener.to_string(), tls: None, sessions: None }
    }
}

/// [`serve_listener`] for a PLAINTEXT listener named `PLAINTEXT`.
pub async fn serve<H: Handler>(handler: Arc<H>, listener: TcpListener, shutdown: watch::Receiver<bool>) {
    serve_listener(handler, listener, Endpoint::plaintext("PLAINTEXT"), shutdown).await
}

// ANCHOR: serve
/// Accepts connections until `shutdown` flips to true, then waits (a bounded
/// time) for open connections to finish their current request. When `accept`
/// fails — out of file descriptors, above all — it backs off instead of
/// retrying at once ([`AcceptBackoff`]).
pub async fn serve_listener<H: Handler>(
    handler: Arc<H>,
    listener: TcpListener,
    endpoint: Endpoint,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = endpoint.tls.clone().map(TlsAcceptor::from);
    let mut connections = tokio::task::JoinSet::new();
    let mut backoff = AcceptBackoff::default();
    let mut paused_until = None;
    loop {
        let listener = &listener;
        let accept = async move {
            if let Some(until) = paused_until {
                tokio::time::sleep_until(until).await;
            }
            listener.accept().await
        };
        tokio::select! {
            accepted = accept => match accepted {
                Ok((stream, peer)) => {
                    paused_until = None;
                    backoff.succeeded();
                    let _ = stream.set_nodelay(true);
                    let (handler, shutdown) = (handler.clone(), shutdown.clone());
                    let (acceptor, listener) = (acceptor.clone(), endpoint.listener.clone());
                    let session = endpoint.sessions.as_ref().map(|s| s.open());
                    connections.spawn(super::mute::scope(async move {
                        let stream = match handshake(stream, acceptor).await {
                            Ok(stream) => stream,
                            Err(e) => {
                                tracing::info!(%peer, listener, error = %e, "TLS handshake failed; closing");
                                return;
                            }
                        };
                        if let Err(e) = connection(handler, stream, peer, &listener, shutdown, session).await {
                            tracing::debug!(%peer, error = %e, "connection closed");
                        }
                    }));
                }
                Err(e) => {
                    let now = Instant::now();
                    let failure = backoff.failed(now.into_std());
                    if let Some(suppressed) = failure.log {
                        let pause_ms = failure.pause.as_millis() as u64;
                        tracing::warn!(error = %e, suppressed, pause_ms, "accept failed; backing off");
                    }
                    paused_until = Some(now + failure.pause);
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next() => {}
        }
    }
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain).await.is_err() {
        tracing::warn!("connections still open after 5 s; closing them");
    }
}
// ANCHOR_END: serve

// ANCHOR: handshake
/// The stream a connection's frames travel on: the socket itself on a
/// PLAINTEXT listener, a TLS session once the handshake succeeded on an SSL
/// one. A failed or stalled handshake is an error for this connection only.
async fn handshake(stream: TcpStream, acceptor: Option<TlsAcceptor>) -> Result<Stream, String> {
    let Some(acceptor) = acceptor else { return Ok(Stream::Plain(stream)) };
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Ok(Stream::Tls(Box::new(tls))),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no handshake within {} s", TLS_HANDSHAKE_TIMEOUT.as_secs())),
    }
}
// ANCHOR_END: handshake

// ANCHOR: connection
/// Serves one connection: read a frame, have it answered, write, repeat —
/// except that while requests the handler [pipelines](Handler::pipelines)
/// wait for their [`Response::Later`], the next requests are read and
/// handled too. Their responses queue behind the waiting ones, so every
/// response still leaves in request order.
async fn connection<H: Handler>(
    handler: Arc<H>,
    mut stream: Stream,
    peer: SocketAddr,
    listener: &str,
    mut shutdown: watch::Receiver<bool>,
    mut session: Option<Box<dyn Session>>,
) -> Result<(), String> {
    let principal = stream.principal();
    let pool = handler.request_pool().cloned();
    let mut reader = FrameReader::new(handler.request_bytes_max(), pool, CONNECTION_IDLE);
    let mut waiting: VecDeque<Pending<H::Write>> = VecDeque::new();
    loop {
        let next = tokio::select! {
            biased;
            answered = async { waiting.front_mut().expect("not empty").await }, if !waiting.is_empty() => {
                Next::Answered(answered)
            }
            // A throttled client (KIP-219, `super::mute`) is not read from until its time is up.
            frame = async { super::mute::until_unmuted().await; reader.read_frame(&mut stream).await },
                if waiting.len() < MAX_WAITING_RESPONSES => Next::Frame(frame),
            _ = shutdown.changed() => Next::Shutdown,
        };
        let frame = match next {
            Next::Answered(answered) => {
                waiting.pop_front();
                write_response(&mut stream, answered?).await?;
                continue;
            }
            // A produce runs to its response: the waiting ones are answered first.
            Next::Shutdown => return drain(&mut stream, &mut waiting).await,
            Next::Frame(frame) => match frame? {
                Some(frame) => frame,
                None => return Ok(()),
            },
        };
        let decoded = decode_request_for(frame.bytes.clone(), handler.apis());
        let pipelined = matches!(&decoded, Ok(request) if handler.pipelines(request.api_key));
        if !pipelined {
            // Anything else sees the effects of every earlier request, as if
            // each had been answered before it was read.
            drain(&mut stream, &mut waiting).await?;
        }
        let response = match decoded {
            Ok(mut request) => {
                // ANCHOR: admit
                request.client_host = format!("/{}", peer.ip());
                request.listener = listener.to_string();
                request.principal = crate::security::Principal(principal.clone());
                // On a SASL listener, nothing but ApiVersions reaches the
                // handler before the client authenticated; then the request
                // carries the SASL login's principal.
                if let Some(session) = session.as_mut() {
                    match session.admit(&request) {
                        Admission::Pass => {
                            request.principal = crate::security::Principal(session.principal().to_string())
                        }
                        Admission::Answer { frame, close } => {
                            stream.write_all(&frame).await.map_err(|e| e.to_string())?;
                            stream.flush().await.map_err(|e| e.to_string())?;
                            if close {
                                tokio::time::sleep(FAILED_AUTHENTICATION_CLOSE_DELAY).await;
                                return Err("authentication failed".into());
                            }
                            continue;
                        }
                        Admission::Close(why) => return Err(why),
                    }
                }
                // ANCHOR_END: admit
                // A request the handler lets go (a long poll, a parked
                // JoinGroup) gives way to shutdown; everything else (a produce
                // above all) runs to its response.
                let handled = if handler.yields_to_shutdown(request.api_key) {
                    tokio::select! {
                        handled = handler.handle(request) => handled,
                        _ = shutdown.changed() => return Ok(()),
                    }
                } else {
                    handler.handle(request).await
                };
                match handled {
                    Ok(response) => response,
                    Err(why) => {
                        drain(&mut stream, &mut waiting).await?;
                        return Err(why);
                    }
                }
            }
            Err(DecodeError::ApiVersionsUnsupported { correlation_id }) => {
                Response::Frame(handler.unsupported_api_versions(correlation_id)?)
            }
            Err(DecodeError::Close(why)) => {
                tracing::info!(reason = why, "closing connection on a bad request");
                return Err(why);
            }
        };
        drop(frame); // handled: its bytes go back to queued.max.request.bytes
        match response {
            Response::Later(later) if pipelined => {
                waiting.push_back(Box::pin(async move { later.await.map(Response::Frame) }))
            }
            Response::None => {} // acks=0: the client reads no response
            response if waiting.is_empty() => write_response(&mut stream, response).await?,
            response => waiting.push_back(Box::pin(std::future::ready(Ok(response)))),
        }
    }
}
// ANCHOR_END: connection

/// How many responses a connection may have waiting before the server stops
/// reading its requests. Kafka's clients keep at most
/// `max.in.flight.requests.per.connection` (5 by default) in flight; this
/// bounds the work a client that sends more can queue.
pub const MAX_WAITING_RESPONSES: usize = 16;

/// A response still to be written, in its turn.
type Pending<W> = Pin<Box<dyn Future<Output = Result<Response<W>, String>> + Send>>;

/// What woke the connection up.
enum Next<W> {
    Answered(Result<Response<W>, String>),
    Frame(Result<Option<Frame>, String>),
    Shutdown,
}

/// Writes every waiting response, oldest first.
async fn drain<W: WriteResponse>(
    stream: &mut Stream,
    waiting: &mut VecDeque<Pending<W>>,
) -> Result<(), String> {
    while let Some(pending) = waiting.pop_front() {
        write_response(stream, pending.await?).await?;
    }
    Ok(())
}

/// Writes one response to the socket (a later one once it is decided).
async fn write_response<W: WriteResponse>(stream: &mut Stream, response: Response<W>) -> Result<(), String> {
    match response {
        Response::Frame(bytes) => stream.write_all(&bytes).await.map_err(|e| e.to_string())?,
        Response::Write(response) => response.write_to(stream).await?,
        Response::Later(later) => stream.write_all(&later.await?).await.map_err(|e| e.to_string())?,
        Response::None => {}
    }
    // A TLS session may hold the last record back until flushed; TCP's flush is free.
    stream.flush().await.map_err(|e| e.to_string())
}
