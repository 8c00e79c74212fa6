//! Chapter 9's driver: the sans-IO [`TransactionCoordinator`]s behind the
//! wire, with a clock, a disk, parked requests and the markers' network.
//!
//! The core decides; this module does the IO it asks for, as chapter 5's
//! group driver does (`super::groups`), and adds the one thing groups never
//! need: messages to *other partitions' leaders* (WriteTxnMarkers).
//!
//! ```text
//!  InitProducerId ─▶ park(token) ─▶ ┌ coordinators lock ─────────────────────────┐
//!  AddPartitionsToTxn               │ coordinator of partition_for(id).input(..) │
//!  AddOffsetsToTxn, EndTxn          │ append Output.appends to                   │
//!  timer: tick(now) ──────────────▶ │   __transaction_state-p (one batch)        │
//!                                   └────────────────────────────────────────────┘
//!             wait for the high watermark (acks=all), then the fsync; under the lock
//!             again: append_completed(id, Ok | Err) ──▶ its output, same steps
//!             Output.replies ─▶ oneshot ─▶ parked request
//!             Output.markers ─▶ a task per WriteTxnMarkers (markers.rs): each
//!                 partition's leader writes its marker; then markers_written
//! ```
//!
//! - **One coordinator per partition.** Each `__transaction_state` partition
//!   this broker leads has its own [`TransactionCoordinator`], loaded from the
//!   partition's log when the leadership arrives (its leader epoch is the
//!   coordinator epoch that fences markers of an older coordinator) and
//!   unloaded when it leaves (`ownership.rs`). A standalone broker leads every
//!   partition, so the same path serves it. A request for an id whose
//!   partition is not led here gets NOT_COORDINATOR, one still loading
//!   COORDINATOR_LOAD_IN_PROGRESS (the core answers both).
//! - **Store, then answer.** As in the group driver: the records of an
//!   output are appended under the coordinators' lock (so the log holds them
//!   in the order the core made them), waited for outside it — the partition's
//!   high watermark must cover them, as for an `acks=all` produce, and the
//!   fsync in durable mode — and only then reported to the core, whose
//!   completion output releases the reply.
//! - **Producer ids.** The core asks for them (`wants_producer_ids`); the
//!   driver takes one from the broker's block (chapter 8's
//!   [`super::producer_ids`], or the controller's in a cluster) and runs the
//!   InitProducerId again.
//! - **Timer.** One task wakes every
//!   `transaction.abort.timed.out.transaction.cleanup.interval.ms` and calls
//!   every coordinator's `tick`: transactions past their timeout are aborted,
//!   idle ids expire. The same task sends the markers of transactions found
//!   prepared by a load (a load runs where there is no `Arc<Broker>` to spawn from).
//! - **The topic.** `__transaction_state` is created on the first
//!   FindCoordinator for a transactional id (or transactional
//!   InitProducerId): `transaction.state.log.num.partitions` partitions,
//!   compacted, `transaction.state.log.segment.bytes`; in a cluster by the
//!   controller, with `transaction.state.log.replication.factor` capped by
//!   the live brokers as for `__consumer_offsets` (`topic.rs`).
//!
//! Locks: the coordinators' lock comes where the group coordinator's does,
//! first in the broker's lock order (see [`crate::broker`]); the two are never
//! held together. The parked map and the markers' outbox are leaves.
//!
//! Simplifications:
//!
//! - A partition is loaded on the thread that applies the metadata image, as
//!   the groups' are.
//! - The timer does not sleep until the core's next deadline (the core has no
//!   such query); it polls at the cleanup interval, as Kafka's scheduler does.

mod apis;
#[cfg(test)]
mod durable_tests;
mod markers;
mod ownership;
#[cfg(test)]
mod ownership_tests;
mod topic;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use tokio::sync::{oneshot, Notify};

use super::{now_ms, Broker, Error, Partition};
use crate::format::BatchBuilder;
use crate::log::manager::lock;
use crate::replication::ReplicationError;
use crate::txn::{
    Append, AppendFailure, Output, ReplyBody, RequestToken, TransactionCoordinator, WriteTxnMarkers,
    TRANSACTION_STATE_TOPIC,
};
use crate::wire::codec::Request;
use crate::TopicPartition;

/// The transaction APIs this module answers.
pub const TRANSACTION_APIS: &[ApiKey] = &[
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    ApiKey::EndTxn,
    ApiKey::DescribeTransactions,
    ApiKey::ListTransactions,
];

/// How long an expired transactional id's tombstone waits to be replicated:
/// Kafka's `TransactionStateManager` gives it `request.timeout.ms` (30 s by
/// default; spool has no such broker key). Every other record waits for its
/// own transaction's timeout ([`append_timeout`]).
const TOMBSTONE_APPEND_TIMEOUT_MS: u64 = 30_000;

/// The coordinators this broker runs, by `__transaction_state` partition.
type Coordinators = BTreeMap<i32, TransactionCoordinator>;

/// The coordinators and what drives them.
#[derive(Debug)]
pub struct TransactionDriver {
    /// A std Mutex, not a tokio one: never held across an `.await`, and held
    /// through each append, which is what orders the partition's log.
    coordinators: Mutex<Coordinators>,
    /// Requests waiting for their answer, by token.
    parked: Mutex<HashMap<RequestToken, oneshot::Sender<ReplyBody>>>,
    next_token: AtomicU64,
    /// Markers found prepared when a partition loaded, for the timer task to send.
    outbox: Mutex<Vec<(i32, WriteTxnMarkers)>>,
    /// Wakes the timer task (a shutdown, markers in the outbox).
    wake: Arc<Notify>,
    task_started: AtomicBool,
}

/// The appends of one output: the partition, the leader epoch it was
/// appended in, its end offset after the append, and how long they may
/// wait for the ISR.
type Appended = Option<(TopicPartition, Arc<Partition>, i32, i64, Duration)>;

impl Default for TransactionDriver {
    fn default() -> Self {
        TransactionDriver {
            coordinators: Mutex::new(BTreeMap::new()),
            parked: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
            outbox: Mutex::new(Vec::new()),
            wake: Arc::new(Notify::new()),
            task_started: AtomicBool::new(false),
        }
    }
}

impl TransactionDriver {
    /// The coordinators. Never hold them across an `.await`. Recovered if
    /// poisoned: the logs rebuild them at the next load, and one bug must not
    /// take every later transaction down with it.
    pub fn lock(&self) -> MutexGuard<'_, Coordinators> {
        self.coordinators.lock().unwrap_or_else(|poisoned| {
            tracing::error!("transaction coordinators' lock poisoned by a panic; carrying on");
            poisoned.into_inner()
        })
    }

    fn lock_parked(&self) -> MutexGuard<'_, HashMap<RequestToken, oneshot::Sender<ReplyBody>>> {
        self.parked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A token for a request and where its answer arrives.
    fn park(&self) -> (RequestToken, oneshot::Receiver<ReplyBody>) {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock_parked().insert(token, tx);
        (token, rx)
    }

    /// Hands each reply to its parked request (gone if the client hung up).
    fn release(&self, replies: Vec<crate::txn::Reply>) {
        if replies.is_empty() {
            return;
        }
        let mut parked = self.lock_parked();
        for reply in replies {
            match parked.remove(&reply.token) {
                Some(tx) => {
                    let _ = tx.send(reply.body);
                }
                None => tracing::warn!(token = reply.token, "transaction reply for no parked request"),
            }
        }
    }

    /// Markers for the timer task to send.
    fn post(&self, partition: i32, markers: Vec<WriteTxnMarkers>) {
        if !markers.is_empty() {
            let mut outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
            outbox.extend(markers.into_iter().map(|m| (partition, m)));
            self.wake.notify_one();
        }
    }

    /// Drops every parked request (their handlers close their connections)
    /// and stops the timer task.
    fn shutdown(&self) {
        self.wake.notify_one();
        drop(self.lock());
        self.lock_parked().clear();
    }
}

/// Moves `from`'s outputs into `into`.
fn merge(into: &mut Output, from: Output) {
    into.appends.extend(from.appends);
    into.markers.extend(from.markers);
    into.replies.extend(from.replies);
    into.wants_producer_ids |= from.wants_producer_ids;
}

impl Broker {
    /// Answers a transaction API request (one in [`TRANSACTION_APIS`]).
    pub(super) async fn handle_transactions(
        self: &Arc<Self>,
        request: Request,
    ) -> Result<ResponseKind, Error> {
        self.start_transaction_timer();
        let version = request.header.request_api_version;
        apis::handle(self, request.body, version).await
    }

    /// The transaction coordinators (chapter 9).
    pub fn transactions(&self) -> &TransactionDriver {
        &self.transactions
    }

    /// Clean shutdown of the coordinators: see [`TransactionDriver::shutdown`].
    pub(super) fn shutdown_transactions(&self) {
        self.transactions.shutdown();
    }

    // ANCHOR: txn_input
    /// One input to the coordinator of `__transaction_state` partition
    /// `partition`: `input` runs under the coordinators' lock with the
    /// broker's clock, and its records are appended in that critical section;
    /// then (lock released) they are waited for, reported to the core with
    /// `append_completed`, and the completion's output goes through the same
    /// steps until nothing is left to append. Replies are released and
    /// markers sent as they appear. Returns whether any output asked for
    /// producer ids, or NOT_COORDINATOR if the partition is not led here.
    async fn txn_input(
        self: &Arc<Self>,
        partition: i32,
        input: impl FnOnce(&mut TransactionCoordinator, i64) -> Output,
    ) -> Result<bool, crate::txn::TxnError> {
        let (mut out, mut appended, epoch) = {
            let mut coordinators = self.transactions.lock();
            let c = coordinators.get_mut(&partition).ok_or(crate::txn::TxnError::NotCoordinator)?;
            let out = input(c, now_ms());
            let appended = self.append_txn_records(partition, c, &out.appends);
            (out, appended, c.coordinator_epoch())
        };
        let mut wants_producer_ids = false;
        loop {
            wants_producer_ids |= out.wants_producer_ids;
            self.transactions.release(std::mem::take(&mut out.replies));
            for markers in std::mem::take(&mut out.markers) {
                self.spawn_markers(partition, markers);
            }
            if out.appends.is_empty() {
                return Ok(wants_producer_ids);
            }
            let stored = match appended {
                Ok(appended) => self.wait_txn_stored(appended).await,
                Err(failure) => Err(failure),
            };
            let mut coordinators = self.transactions.lock();
            // Unloaded (its parked requests were answered), or loaded again
            // in a newer epoch, whose append ids are not these.
            let Some(c) = coordinators.get_mut(&partition).filter(|c| c.coordinator_epoch() == epoch) else {
                return Ok(wants_producer_ids);
            };
            let mut next = Output::default();
            for append in &out.appends {
                merge(&mut next, c.append_completed(append.id, stored, now_ms()));
            }
            appended = self.append_txn_records(partition, c, &next.appends);
            out = next;
        }
    }
    // ANCHOR_END: txn_input

    // ANCHOR: append_txn_records
    /// Appends records to `__transaction_state-partition` as one batch, as
    /// the leader in the coordinator's epoch. Called under the coordinators' lock.
    fn append_txn_records(
        &self,
        partition: i32,
        coordinator: &TransactionCoordinator,
        appends: &[Append],
    ) -> Result<Appended, AppendFailure> {
        if appends.is_empty() {
            return Ok(None);
        }
        if self.is_shutting_down() || self.log_dir.check().is_err() {
            return Err(AppendFailure::NotReplicated);
        }
        let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC, partition);
        let p = self.partition(&tp).ok_or(AppendFailure::NotLeader)?;
        let now = now_ms();
        let mut builder = BatchBuilder::default();
        for append in appends {
            let value = append.record.value.as_ref();
            // v0 unless a field only v1 carries is set (a version 2 client's
            // end, a rotated producer id), as a cluster at transaction.version 0.
            let version = i16::from(value.is_some_and(|v| {
                v.client_transaction_version >= 2 || v.previous_producer_id >= 0 || v.next_producer_id >= 0
            }));
            let value = append.record.value_bytes(version);
            builder.append(now, Some(&append.record.key_bytes()), value.as_deref(), &[]);
        }
        let leader_epoch = p.check_append(true).map_err(append_failure)?;
        if leader_epoch != coordinator.coordinator_epoch() {
            return Err(AppendFailure::NotLeader); // a newer leadership loads afresh
        }
        let batch = BytesMut::from(&builder.build().as_bytes()[..]);
        let info = lock(&p.log).append(batch, leader_epoch, now).map_err(|e| {
            self.log_dir.fail(&tp, &e);
            AppendFailure::NotReplicated
        })?;
        Ok(Some((tp, p, leader_epoch, info.last_offset + 1, append_timeout(appends))))
    }
    // ANCHOR_END: append_txn_records

    /// Waits (durable mode) for the fsync, then reports the append to the
    /// replication core and waits until the high watermark covers it (at
    /// most the appends' [`append_timeout`]), as the group coordinator's
    /// `wait_stored` does: Kafka's mapping of an append's failure for a
    /// coordinator — the leadership lost → NOT_COORDINATOR, anything else →
    /// COORDINATOR_NOT_AVAILABLE.
    async fn wait_txn_stored(&self, appended: Appended) -> Result<(), AppendFailure> {
        let Some((tp, partition, leader_epoch, end_offset, timeout)) = appended else { return Ok(()) };
        self.wait_durable(&tp, &partition, end_offset).await.map_err(|e| {
            tracing::warn!(%tp, error = %e, "transaction record not made durable");
            AppendFailure::NotReplicated
        })?;
        let (wait, _) = partition.after_append(leader_epoch, end_offset - 1, true).map_err(append_failure)?;
        self.notifier.notify();
        let wait = wait.expect("an acks=all append gets a wait");
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(append_failure(e)),
            Ok(Err(_)) => return Err(AppendFailure::NotLeader),
            Err(_) => {
                tracing::warn!(%tp, "transaction record not replicated in time");
                return Err(AppendFailure::NotReplicated);
            }
        }
        Ok(())
    }

    // ANCHOR: transaction_timer
    /// Starts the task that ticks the coordinators and sends the outbox's
    /// markers (once). It holds the broker weakly: a dropped broker ends it,
    /// as does shutdown.
    pub fn start_transaction_timer(self: &Arc<Self>) {
        if self.transactions.task_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let broker: Weak<Broker> = Arc::downgrade(self);
        let wake = self.transactions.wake.clone();
        let interval = Duration::from_millis(self.config.transactions.abort_timed_out_cleanup_interval_ms);
        tokio::spawn(async move {
            let mut next_tick = tokio::time::Instant::now() + interval;
            loop {
                let _ = tokio::time::timeout_at(next_tick, wake.notified()).await;
                let Some(b) = broker.upgrade() else { return };
                if b.is_shutting_down() {
                    return;
                }
                let outbox = std::mem::take(
                    &mut *b.transactions.outbox.lock().unwrap_or_else(PoisonError::into_inner),
                );
                for (partition, markers) in outbox {
                    b.spawn_markers(partition, markers);
                }
                if tokio::time::Instant::now() >= next_tick {
                    next_tick = tokio::time::Instant::now() + interval;
                    let partitions: Vec<i32> = b.transactions.lock().keys().copied().collect();
                    for p in partitions {
                        let _ = b.txn_input(p, |c, now| c.tick(now)).await;
                    }
                }
            }
        });
    }
    // ANCHOR_END: transaction_timer
}

/// How long `appends` may wait for the ISR: as Kafka's
/// `TransactionStateManager.appendTransactionToLog`, a transaction's record
/// waits for that transaction's own timeout (`transaction.timeout.ms` as its
/// producer set it), a tombstone for [`TOMBSTONE_APPEND_TIMEOUT_MS`]; the
/// longest of them when one output appends several.
fn append_timeout(appends: &[Append]) -> Duration {
    let ms = appends.iter().map(|append| match &append.record.value {
        Some(value) => u64::try_from(value.transaction_timeout_ms).unwrap_or(0).max(1),
        None => TOMBSTONE_APPEND_TIMEOUT_MS,
    });
    Duration::from_millis(ms.max().unwrap_or(TOMBSTONE_APPEND_TIMEOUT_MS))
}

/// A replication error as the core hears it.
fn append_failure(e: ReplicationError) -> AppendFailure {
    match e {
        ReplicationError::NotLeaderOrFollower | ReplicationError::FencedLeaderEpoch => {
            AppendFailure::NotLeader
        }
        _ => AppendFailure::NotReplicated,
    }
}
