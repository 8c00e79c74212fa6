//! Client quotas enforced (issue 19, KIP-219): each produce's bytes, each
//! consumer fetch's bytes and each request's handler time are recorded
//! against the quota that governs the client ([`crate::quotas`]); over it,
//! the response carries `throttle_time_ms` and the connection is muted for
//! that long ([`crate::wire::mute`]).
//!
//! A consumer fetch over its quota is answered as Kafka's
//! `KafkaApis.handleFetchRequest` answers it: the bytes read are recorded,
//! then dropped, and the response is empty but for the throttle time and the
//! session id (`FetchContext.getThrottledResponse`); the consumer fetches the
//! same offsets again once it may. Followers' fetches are not client traffic
//! and are never throttled here (replication quotas are another matter).
//!
//! The quota's user is the connection's principal (`ANONYMOUS` unless TLS
//! or SASL named it). Simplifications: a fetch's handler time is not counted against `request_percentage` (it
//! includes the long poll, which Kafka spends off the handler thread), and
//! APIs other than Produce and Fetch are muted for their request time but do
//! not report it in their responses.

use std::time::{Duration, Instant};

use kafka_protocol::messages::RequestKind;

use super::{now_ms, Broker};
use crate::quotas::manager::NANOS_TO_PERCENTAGE;
use crate::quotas::{ANONYMOUS, CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE};
use crate::wire::codec::Request;
use crate::wire::mute::mute_for;
use crate::zero_copy::FetchReply;

/// What a request is measured by, taken before it is handled.
#[derive(Debug)]
pub struct Metered {
    user: String,
    client_id: String,
    /// A produce's record bytes (Kafka counts the whole request).
    produce_bytes: Option<usize>,
    /// A consumer's fetch (not a follower's).
    consumer_fetch: bool,
    started: Instant,
}

impl Broker {
    /// Notes who sent `request` and what it weighs.
    pub fn meter(&self, request: &Request) -> Metered {
        let produce_bytes = match &request.body {
            RequestKind::Produce(r) => Some(
                (r.topic_data.iter())
                    .flat_map(|t| &t.partition_data)
                    .map(|p| p.records.as_ref().map_or(0, |b| b.len()))
                    .sum(),
            ),
            _ => None,
        };
        let consumer_fetch = match &request.body {
            RequestKind::Fetch(r) => r.replica_id.0 < 0 && r.replica_state.replica_id.0 < 0,
            _ => false,
        };
        Metered {
            // The quota entity `user` is the principal's name (`alice` for
            // `User:alice`; `ANONYMOUS` on PLAINTEXT).
            user: request.principal.0.strip_prefix("User:").unwrap_or(ANONYMOUS).to_string(),
            client_id: request.header.client_id.as_deref().unwrap_or("").to_string(),
            produce_bytes,
            consumer_fetch,
            started: Instant::now(),
        }
    }

    fn record(&self, metered: &Metered, key: &str, amount: f64) -> i64 {
        let image = self.metadata_image();
        let quotas = image.client_quotas();
        if quotas.is_empty() {
            return 0; // the common case: no quotas, nothing to measure
        }
        self.quotas.record(quotas, key, &metered.user, &metered.client_id, amount, now_ms())
    }

    // ANCHOR: throttle
    /// After a request other than a fetch was handled: its bytes and its
    /// handler time recorded, the connection muted if either is over quota.
    /// The throttle time for the response.
    pub fn throttle(&self, metered: &Metered) -> i32 {
        let busy_ns = metered.started.elapsed().as_nanos() as f64;
        let mut throttle_ms = self.record(metered, REQUEST_PERCENTAGE, busy_ns * NANOS_TO_PERCENTAGE);
        if let Some(bytes) = metered.produce_bytes {
            throttle_ms = throttle_ms.max(self.record(metered, PRODUCER_BYTE_RATE, bytes as f64));
        }
        self.mute(throttle_ms)
    }

    /// After a consumer fetch was handled: its bytes recorded; over quota,
    /// the records are dropped and the reply is the throttled empty one.
    pub fn throttle_fetch(&self, metered: &Metered, reply: &mut FetchReply) {
        if !metered.consumer_fetch {
            return;
        }
        let bytes: usize = reply.topics.iter().flat_map(|t| &t.partitions).map(|p| p.records_len()).sum();
        let throttle_ms = self.mute(self.record(metered, CONSUMER_BYTE_RATE, bytes as f64));
        if throttle_ms > 0 {
            *reply = FetchReply {
                throttle_time_ms: throttle_ms,
                session_id: reply.session_id,
                ..FetchReply::default()
            };
        }
    }
    // ANCHOR_END: throttle

    fn mute(&self, throttle_ms: i64) -> i32 {
        let throttle_ms = throttle_ms.clamp(0, i64::from(i32::MAX)) as i32;
        if throttle_ms > 0 {
            mute_for(Duration::from_millis(throttle_ms as u64));
        }
        throttle_ms
    }
}
