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

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use super::accept::AcceptBackoff;
use super::codec::{decode_request_for, DecodeError};
use super::handler::{Handler, Response, WriteResponse};
use super::reader::FrameReader;

/// `connections.max.idle.ms`: an idle connection is closed after this long.
pub const CONNECTION_IDLE: Duration = Duration::from_secs(600);

// ANCHOR: serve
/// Accepts connections until `shutdown` flips to true, then waits (a bounded
/// time) for open connections to finish their current request. When `accept`
/// fails — out of file descriptors, above all — it backs off instead of
/// retrying at once ([`AcceptBackoff`]).
pub async fn serve<H: Handler>(handler: Arc<H>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
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
                    connections.spawn(async move {
                        if let Err(e) = connection(handler, stream, peer, shutdown).await {
                            tracing::debug!(%peer, error = %e, "connection closed");
                        }
                    });
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

// ANCHOR: connection
/// Serves one connection: read a frame, have it answered, write, repeat.
async fn connection<H: Handler>(
    handler: Arc<H>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let pool = handler.request_pool().cloned();
    let mut reader = FrameReader::new(handler.request_bytes_max(), pool, CONNECTION_IDLE);
    loop {
        let frame = tokio::select! {
            frame = reader.read_frame(&mut stream) => match frame? {
                Some(frame) => frame,
                None => return Ok(()),
            },
            _ = shutdown.changed() => return Ok(()),
        };
        let response = match decode_request_for(frame.bytes.clone(), handler.apis()) {
            Ok(mut request) => {
                request.client_host = format!("/{}", peer.ip());
                // A request the handler lets go (a long poll, a parked
                // JoinGroup) gives way to shutdown; everything else (a produce
                // above all) runs to its response.
                if handler.yields_to_shutdown(request.api_key) {
                    tokio::select! {
                        handled = handler.handle(request) => handled?,
                        _ = shutdown.changed() => return Ok(()),
                    }
                } else {
                    handler.handle(request).await?
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
            Response::Frame(bytes) => stream.write_all(&bytes).await.map_err(|e| e.to_string())?,
            Response::Write(response) => response.write_to(&mut stream).await?,
            Response::None => {} // acks=0: the client reads no response
        }
    }
}
// ANCHOR_END: connection
