//! The broker behind the wire server: [`Broker`] implements
//! [`wire::Handler`](crate::wire::Handler), so `wire` moves frames and the
//! broker decides what they mean.
//!
//! Three decisions live here rather than in the server, because they are the
//! broker's: how a reply becomes bytes (the codec for a message; chapter 3's
//! [`send_fetch`] for a fetch, whose records go out by `sendfile`), the answer
//! to an ApiVersions the codec cannot read (KIP-511), and which requests may
//! be abandoned at shutdown — the ones that park: Fetch (long poll), JoinGroup,
//! SyncGroup (waiting for a rebalance) and DeleteRecords (waiting for the
//! followers' log starts). A produce always runs to its
//! response, so an acknowledged write is never left half-done.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use kafka_protocol::ResponseError;

use super::{admin, Broker, Reply};
use crate::wire::codec::{encode_response, Request};
use crate::wire::reader::RequestPool;
use crate::wire::{Handler, Response, Stream, WriteResponse};
use crate::zero_copy::send::{send_fetch, send_fetch_copied};
use crate::zero_copy::FetchReply;

/// A fetch response whose records are still in segment files: it writes
/// itself when the server hands it the socket.
#[derive(Debug)]
pub struct FetchResponse {
    broker: Arc<Broker>,
    reply: FetchReply,
    version: i16,
    correlation_id: i32,
}

impl WriteResponse for FetchResponse {
    // ANCHOR: fetch_write_to
    /// PLAINTEXT: chapter 3's `sendfile` path (when `spool.fetch.zero.copy` is
    /// on). TLS: the records must pass through the session to be encrypted,
    /// so they are read into memory and written like any other response.
    async fn write_to(self, stream: &mut Stream) -> Result<(), String> {
        let stats = &self.broker.zero_copy_stats;
        match stream.tcp() {
            Some(tcp) => {
                let zero_copy = self.broker.config.zero_copy;
                send_fetch(tcp, self.reply, self.version, self.correlation_id, zero_copy, stats).await
            }
            None => send_fetch_copied(stream, self.reply, self.version, self.correlation_id, stats).await,
        }
    }
    // ANCHOR_END: fetch_write_to
}

// ANCHOR: handler_impl
impl Handler for Broker {
    type Write = FetchResponse;

    async fn handle(self: &Arc<Self>, request: Request) -> Result<Response<FetchResponse>, String> {
        let (api_key, version) = (request.api_key, request.header.request_api_version);
        let correlation_id = request.header.correlation_id;
        // Issue 19: who sent it and what it weighs, for the client quotas.
        let metered = self.meter(&request);
        // The broker's own `handle` (inherent methods come first). Its typed
        // error becomes a message here: all the server does with one is log
        // it and close the connection.
        let reply = Broker::handle(self, request).await.map_err(|e| e.to_string())?;
        let throttle_ms = match &reply {
            Some(Reply::Fetch(_)) => 0,
            _ => self.throttle(&metered),
        };
        Ok(match reply {
            Some(Reply::Message(body)) => {
                Response::Frame(encode_response(api_key, version, correlation_id, &body)?)
            }
            Some(Reply::Fetch(mut reply)) => {
                self.throttle_fetch(&metered, &mut reply);
                Response::Write(FetchResponse { broker: self.clone(), reply, version, correlation_id })
            }
            Some(Reply::Later(waiting)) if !waiting.waits() => {
                let body = ResponseKind::Produce(waiting.answer().await.with_throttle_time_ms(throttle_ms));
                Response::Frame(encode_response(api_key, version, correlation_id, &body)?)
            }
            Some(Reply::Later(waiting)) => Response::Later(Box::pin(async move {
                let body = ResponseKind::Produce(waiting.answer().await.with_throttle_time_ms(throttle_ms));
                encode_response(api_key, version, correlation_id, &body)
            })),
            None => Response::None,
        })
    }

    fn unsupported_api_versions(&self, correlation_id: i32) -> Result<Bytes, String> {
        let body = ResponseKind::ApiVersions(admin::api_versions(
            Some(ResponseError::UnsupportedVersion),
            self.config.transactions.transaction_version,
        ));
        encode_response(ApiKey::ApiVersions, 0, correlation_id, &body)
    }

    fn yields_to_shutdown(&self, api_key: ApiKey) -> bool {
        matches!(api_key, ApiKey::Fetch | ApiKey::JoinGroup | ApiKey::SyncGroup | ApiKey::DeleteRecords)
    }

    // ANCHOR: pipelines
    /// An `acks=all` produce waiting for its replicas lets the connection's
    /// next produce in (`spool.produce.pipelining`): its records are appended
    /// after this one's, exactly where they would go once this one were
    /// answered, and the responses leave in order. Anything else waits for
    /// every earlier answer.
    fn pipelines(&self, api_key: ApiKey) -> bool {
        api_key == ApiKey::Produce && self.config.produce_pipelining
    }
    // ANCHOR_END: pipelines

    fn request_bytes_max(&self) -> usize {
        self.config.socket_request_max_bytes
    }

    fn request_pool(&self) -> Option<&Arc<RequestPool>> {
        self.request_pool.as_ref()
    }
}
// ANCHOR_END: handler_impl
