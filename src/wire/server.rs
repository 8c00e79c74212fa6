//! The TCP server: one task per connection, requests answered one at a time
//! and in order.
//!
//! Kafka's clients pipeline requests on a connection and match responses by
//! correlation id *and* order; handling each connection's requests one by one
//! keeps the order without bookkeeping. A fetch that long-polls therefore holds
//! its connection, exactly as it does in Kafka (whose network layer mutes a
//! connection until its in-flight request is answered).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use kafka_protocol::ResponseError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::codec::{decode_request, encode_response, DecodeError};
use super::frame::parse_frame;
use crate::broker::{admin, Broker, Reply};
use crate::zero_copy::encode::encode_fetch;
use crate::zero_copy::send::send_parts;
use crate::zero_copy::FetchReply;

/// `connections.max.idle.ms`: an idle connection is closed after this long.
pub const CONNECTION_IDLE: Duration = Duration::from_secs(600);

/// Accepts connections until `shutdown` flips to true, then waits (a bounded
/// time) for open connections to finish their current request.
pub async fn serve(broker: Arc<Broker>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let (broker, shutdown) = (broker.clone(), shutdown.clone());
                    connections.spawn(async move {
                        if let Err(e) = connection(broker, stream, peer, shutdown).await {
                            tracing::debug!(%peer, error = %e, "connection closed");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "accept failed"),
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

// ANCHOR: connection
/// Serves one connection: read a frame, answer it, repeat.
async fn connection(
    broker: Arc<Broker>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let max = broker.config.socket_request_max_bytes;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let frame = loop {
            if let Some(frame) = parse_frame(&mut buf, max).map_err(|e| e.to_string())? {
                break frame;
            }
            let read = tokio::select! {
                read = tokio::time::timeout(CONNECTION_IDLE, stream.read_buf(&mut buf)) => read,
                _ = shutdown.changed() => return Ok(()),
            };
            match read {
                Err(_) => return Err("idle for connections.max.idle.ms".into()),
                Ok(Ok(0)) if buf.is_empty() => return Ok(()),
                Ok(Ok(0)) => return Err(format!("peer closed mid-request ({} bytes pending)", buf.len())),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.to_string()),
            }
        };
        let response = match decode_request(frame) {
            Ok(mut request) => {
                request.client_host = format!("/{}", peer.ip());
                let (api_key, version) = (request.api_key, request.header.request_api_version);
                let correlation_id = request.header.correlation_id;
                // A long-polling fetch, and a JoinGroup or SyncGroup parked
                // until a rebalance completes, give way to shutdown; everything
                // else (a produce above all) runs to its response.
                let handled = if matches!(api_key, ApiKey::Fetch | ApiKey::JoinGroup | ApiKey::SyncGroup) {
                    tokio::select! {
                        handled = broker.handle(request) => handled,
                        _ = shutdown.changed() => return Ok(()),
                    }
                } else {
                    broker.handle(request).await
                };
                match handled? {
                    Some(Reply::Message(body)) => encode_response(api_key, version, correlation_id, &body)?,
                    Some(Reply::Fetch(reply)) => {
                        send_fetch(&broker, &mut stream, reply, version, correlation_id).await?;
                        continue;
                    }
                    None => continue, // acks=0: the client reads no response
                }
            }
            Err(DecodeError::ApiVersionsUnsupported { correlation_id }) => {
                let body =
                    ResponseKind::ApiVersions(admin::api_versions(Some(ResponseError::UnsupportedVersion)));
                encode_response(ApiKey::ApiVersions, 0, correlation_id, &body)?
            }
            Err(DecodeError::Close(why)) => {
                tracing::info!(reason = why, "closing connection on a bad request");
                return Err(why);
            }
        };
        stream.write_all(&response).await.map_err(|e| e.to_string())?;
    }
}
// ANCHOR_END: connection

// ANCHOR: send_fetch
/// Sends a fetch response down one of chapter 3's two paths: headers encoded by
/// hand with the records sent by `sendfile`, or the records read into memory and
/// the whole response encoded by the codec.
async fn send_fetch(
    broker: &Broker,
    stream: &mut TcpStream,
    reply: FetchReply,
    version: i16,
    correlation_id: i32,
) -> Result<(), String> {
    let stats = &broker.zero_copy_stats;
    if broker.config.zero_copy {
        let parts = encode_fetch(&reply, version, correlation_id)?;
        send_parts(stream, &parts, stats).await.map_err(|e| e.to_string())
    } else {
        let (response, copied) = reply.read_into_response().map_err(|e| format!("fetch read: {e}"))?;
        stats.copied_bytes.fetch_add(copied, Ordering::Relaxed);
        let body = ResponseKind::Fetch(response);
        let bytes = encode_response(ApiKey::Fetch, version, correlation_id, &body)?;
        stream.write_all(&bytes).await.map_err(|e| e.to_string())
    }
}
// ANCHOR_END: send_fetch
