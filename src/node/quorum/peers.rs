//! The member's requests to the other voters: two **lanes** per peer, one
//! for Fetch and FetchSnapshot (the leader may park a Fetch for up to its `max_wait_ms`) and
//! one for the rest (Vote, BeginQuorumEpoch, EndQuorumEpoch), each with its
//! own connection, so an election is never stuck behind a parked fetch.
//!
//! ```text
//!  carry_out ── Send{to, msg} ──▶ lane slot (newest wins) ──▶ task: connect, send at
//!                                                             the RPC's version, wait
//!  MetadataQuorum::on_response ◀── the answer as a core message ◀──┘ (Fetch: batches decoded)
//! ```
//!
//! A lane holds only the newest message not yet sent (as the model's
//! network holds the newest request per link): a resent Vote replaces the
//! one waiting. A follower's periodic Fetch resend is dropped while a Fetch
//! is in flight; the answer to that one makes the core send the next. A
//! failed request breaks its connection and waits the retry backoff; the
//! core's own resend timer sends again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;

use super::MetadataQuorum;
use crate::client::{ClientError, Connection};
use crate::raft::batches::decode_entries;
use crate::raft::wire::{self, RaftRequest, RaftResponse, Reply, WireContext};
use crate::raft::{FetchResult, Message, NodeId, Offset};

/// One lane: the message waiting to go, and whether a request is in flight.
#[derive(Debug)]
struct Lane {
    slot: watch::Sender<Option<Message>>,
    busy: Arc<AtomicBool>,
}

/// The lanes to every other voter.
#[derive(Debug)]
pub struct Peers {
    lanes: BTreeMap<NodeId, [Lane; 2]>,
}

const FETCH: usize = 0;
const CONTROL: usize = 1;

impl Peers {
    /// Starts two lanes per other voter.
    pub(super) fn start(quorum: &Arc<MetadataQuorum>) -> Self {
        let mut lanes = BTreeMap::new();
        for (&id, addr) in quorum.voters.iter().filter(|(&id, _)| id != quorum.id) {
            let lane = || {
                let (slot, receiver) = watch::channel(None);
                let busy = Arc::new(AtomicBool::new(false));
                let task = LaneTask {
                    quorum: Arc::downgrade(quorum),
                    to: id,
                    addr: addr.clone(),
                    security: quorum.peer_security.clone(),
                    context: quorum.wire_context(),
                    busy: busy.clone(),
                    timeout: Duration::from_millis(quorum.timeouts.request_ms),
                    backoff: Duration::from_millis(quorum.timeouts.retry_backoff_ms.max(50)),
                };
                tokio::spawn(task.run(receiver));
                Lane { slot, busy }
            };
            lanes.insert(id, [lane(), lane()]);
        }
        Peers { lanes }
    }

    /// Queues `message` for `to` (a voter; anything else is dropped).
    /// `resending`: a periodic resend, dropped for a Fetch already in flight.
    pub(super) fn send(&self, to: NodeId, message: Message, resending: bool) {
        let Some(lanes) = self.lanes.get(&to) else { return };
        let fetching = matches!(message, Message::FetchRequest { .. } | Message::FetchSnapshotRequest { .. });
        let lane = &lanes[if fetching { FETCH } else { CONTROL }];
        if resending && fetching && lane.busy.load(Ordering::Acquire) {
            return;
        }
        lane.slot.send_replace(Some(message));
    }
}

/// What one lane's task needs.
struct LaneTask {
    quorum: Weak<MetadataQuorum>,
    to: NodeId,
    addr: String,
    /// The controller listener's protocol: TLS and SASL as it speaks them.
    security: crate::security::ClientSecurity,
    context: WireContext,
    busy: Arc<AtomicBool>,
    timeout: Duration,
    backoff: Duration,
}

impl LaneTask {
    async fn run(self, mut receiver: watch::Receiver<Option<Message>>) {
        let mut connection: Option<Connection> = None;
        while receiver.changed().await.is_ok() {
            let Some(message) = receiver.borrow_and_update().clone() else { continue };
            let Some(request) = wire::request(&self.context, self.to, &message) else { continue };
            self.busy.store(true, Ordering::Release);
            let answer = self.exchange(&mut connection, request).await;
            self.busy.store(false, Ordering::Release);
            let Some(quorum) = self.quorum.upgrade() else { return };
            match answer {
                Ok(response) => match wire::parse_response(&message, &response) {
                    Ok(Reply::Message { message, records }) => match with_entries(message, &records) {
                        Ok((message, base_offset)) => {
                            quorum.on_response(self.to, message, base_offset, records)
                        }
                        Err(e) => tracing::warn!(peer = self.to, error = %e, "undecodable fetch answer"),
                    },
                    // The core takes no BeginQuorumEpoch/EndQuorumEpoch answers;
                    // a newer epoch reaches it through Vote and Fetch.
                    Ok(Reply::Ack { .. }) => {}
                    Err(e) => {
                        tracing::debug!(peer = self.to, error = %e, "refused");
                        tokio::time::sleep(self.backoff).await;
                    }
                },
                Err(e) => {
                    tracing::debug!(peer = self.to, addr = %self.addr, error = %e, "request to a voter failed");
                    connection = None;
                    tokio::time::sleep(self.backoff).await;
                }
            }
        }
    }

    /// Sends `request` on the lane's connection (opened if needed) and waits
    /// for the answer; a parked Fetch may take its `max_wait_ms` on top.
    async fn exchange(
        &self,
        connection: &mut Option<Connection>,
        request: RaftRequest,
    ) -> Result<RaftResponse, ClientError> {
        if connection.as_ref().is_none_or(Connection::is_broken) {
            *connection = Some(Connection::connect_with(&self.addr, self.timeout, &self.security).await?);
        }
        let c = connection.as_mut().expect("connected above");
        let version = request.version();
        let wait = Duration::from_millis(self.context.fetch_max_wait_ms.max(0) as u64);
        let answer = match request {
            RaftRequest::Vote(r) => c.send_at(&r, version, self.timeout).await.map(RaftResponse::Vote),
            RaftRequest::BeginQuorumEpoch(r) => {
                c.send_at(&r, version, self.timeout).await.map(RaftResponse::BeginQuorumEpoch)
            }
            RaftRequest::EndQuorumEpoch(r) => {
                c.send_at(&r, version, self.timeout).await.map(RaftResponse::EndQuorumEpoch)
            }
            RaftRequest::Fetch(r) => {
                c.send_at(&r, version, self.timeout + wait).await.map(RaftResponse::Fetch)
            }
            RaftRequest::FetchSnapshot(r) => {
                c.send_at(&r, version, self.timeout).await.map(RaftResponse::FetchSnapshot)
            }
        };
        if answer.is_err() {
            *connection = None;
        }
        answer
    }
}

/// A Fetch answer's batches, decoded into the entries the core appends, and
/// the first batch's base offset.
fn with_entries(message: Message, records: &[u8]) -> Result<(Message, Offset), String> {
    match message {
        Message::FetchResponse {
            epoch,
            leader_id,
            result: FetchResult::Records { fetch_offset, high_watermark, .. },
        } => {
            let mut entries = Vec::new();
            let mut expected = fetch_offset;
            let decoded = decode_entries(records).map_err(|e| e.to_string())?;
            let base_offset = decoded.first().map_or(fetch_offset, |(o, _)| *o);
            for (offset, entry) in decoded {
                if offset < fetch_offset {
                    continue; // a batch that started before the fetch offset
                }
                if offset != expected {
                    return Err(format!("offset {offset} where {expected} was expected"));
                }
                expected += 1;
                entries.push(entry);
            }
            let result = FetchResult::Records { fetch_offset, entries, high_watermark };
            Ok((Message::FetchResponse { epoch, leader_id, result }, base_offset))
        }
        other => Ok((other, -1)),
    }
}
