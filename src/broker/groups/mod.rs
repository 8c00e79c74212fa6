//! Chapter 5's driver: the sans-IO [`GroupCoordinator`] behind the wire, with
//! a clock, a disk and parked requests.
//!
//! The coordinator decides; this module does what it cannot — the IO:
//!
//! ```text
//!  JoinGroup ─▶ park(token) ─▶ ┌ coordinator lock ─────────────────────┐
//!  SyncGroup                   │ coordinator.join_group(token, req, now)│
//!  OffsetCommit …              │ append Output.records to the group's   │
//!  timer: tick(now) ──────────▶│   __consumer_offsets partition        │
//!                              └───────────────────────────────────────┘
//!                               wait for the high watermark (acks=all), then
//!                               for the fsync (spool.log.flush.before.ack)
//!                               release Output.replies ─▶ oneshot ─▶ parked request
//! ```
//!
//! - **Parking.** A JoinGroup waits for the rebalance, a follower's SyncGroup
//!   for the leader. Each request gets a [`RequestToken`] and a tokio oneshot;
//!   [`Broker::handle`] awaits it, holding its connection (Kafka also serves a
//!   connection's requests one at a time; clients talk to the coordinator on a
//!   connection of its own).
//! - **Store, then answer.** The records of an [`Output`] are appended under
//!   the coordinator's lock, so the log holds them in the order the coordinator
//!   made them (two commits of one partition must not land reversed), and the
//!   replies go out only after the append is replicated — the coordinator
//!   appends like an `acks=all` produce, as Kafka's does (`acks=-1`): the
//!   partition's high watermark must cover it, within
//!   `offsets.commit.timeout.ms`, else the requests get COORDINATOR_NOT_AVAILABLE
//!   (NOT_COORDINATOR if the leadership moved) — and after the fsync when the
//!   log is durable, both waited for outside the lock so concurrent commits
//!   share them. A single replica's high watermark is its log end: a
//!   standalone broker waits for nothing more than before.
//! - **Pending until stored.** An OffsetCommit carries a token; its offsets
//!   stay pending in the coordinator, invisible to OffsetFetch, until the
//!   wait above ends and the driver reports it
//!   ([`GroupCoordinator::store_completed`]) — before the client hears the
//!   answer, so a client told "committed" finds its offset in its next fetch,
//!   and one told an error never does. The leader's SyncGroup waits the same
//!   way: the completion's output carries the SyncGroup answers.
//! - **Timers.** One task sleeps until [`GroupCoordinator::next_deadline_ms`]
//!   (re-read whenever an input may have moved it) and calls `tick`.
//! - **Restart.** [`Broker::open`] reads every partition of `__consumer_offsets`
//!   from its log start and hands the records to
//!   [`GroupCoordinator::load_partition`], one partition at a time.
//! - **Transactions (chapter 9).** A TxnOffsetCommit's records are appended
//!   as a transactional batch of the producer; its offsets stay pending
//!   until the WriteTxnMarkers path reports the marker with
//!   [`Broker::complete_txn`]. At load, control batches are read as the
//!   markers they are, so a restart ends where the live coordinator did.
//!   Before the commit reaches the coordinator, KIP-890 part 1 asks the
//!   transaction coordinator whether the group's offsets partition is in
//!   the transaction (`txn_verify.rs`): a commit without AddOffsetsToTxn
//!   would otherwise open a transaction there that no marker ends.
//!
//! With one broker, this broker coordinates every group: FindCoordinator
//! answers with itself, and creates `__consumer_offsets`
//! (`offsets.topic.num.partitions` partitions, `cleanup.policy=compact`) the
//! first time a client asks, as Kafka does. In a cluster (chapter 6) a broker
//! coordinates the groups of the offsets partitions it leads, loading and
//! unloading them as the leadership moves (`ownership.rs`); the topic is
//! created by the controller (FindCoordinator forwards CreateTopics), never by
//! a local metadata commit, since a broker's metadata log is a copy of the
//! controller's.
//!
//! Locks: the coordinator comes first in the broker's lock order (see
//! [`crate::broker`]), then the ownership map (in a cluster), the one that
//! serializes creating `__consumer_offsets`, then the metadata log's writer,
//! the log manager, the partition map, one partition's role and its log. The
//! parked map is a leaf, only ever taken alone; so is the map of markers
//! written while a partition loads.
//!
//! Simplifications:
//!
//! - A failed or unreplicated append (disk error, shutdown, timeout, lost
//!   leadership, too few replicas) answers the output's requests with an
//!   error. The coordinator hears the outcome of an OffsetCommit's and a
//!   SyncGroup's append first and acts on it (the offsets become visible, the
//!   generation Stable, only if stored); for other records it has already
//!   moved on (see [`crate::group`]'s Simplifications).
//! - The timer starts with the first group request after the broker opens: a
//!   group loaded from the log whose members never come back is expired then,
//!   not a session after the restart.

mod apis;
mod offset_delete;
mod ownership;
#[cfg(test)]
mod ownership_tests;
#[cfg(test)]
mod replication_tests;
mod txn_verify;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use kafka_protocol::ResponseError;
use tokio::sync::{oneshot, Notify};

use super::{now_ms, Broker, Error, Partition};
use crate::format::BatchBuilder;
use crate::group::{
    partition_for, GroupCoordinator, GroupCoordinatorConfig, GroupError, GroupRecord, JoinGroupResponse,
    Output, RequestToken, Response, SyncGroupResponse, CONSUMER_OFFSETS_TOPIC,
};
use crate::idempotence::{ProducerError, VerificationGuard};
use crate::log::manager::lock;
use crate::log::producers::AppendOrigin;
use crate::log::LogError;
use crate::replication::ReplicationError;
use crate::wire::codec::Request;
use crate::TopicPartition;

/// The longest the timer sleeps without looking at the broker again (to notice
/// a shutdown or a dropped broker); deadlines are met to the millisecond anyway.
const TIMER_IDLE_MS: i64 = 1_000;

/// The group APIs this module answers.
pub const GROUP_APIS: &[ApiKey] = &[
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::ListGroups,
    ApiKey::DescribeGroups,
    ApiKey::DeleteGroups,
    ApiKey::TxnOffsetCommit,
    ApiKey::OffsetDelete,
];

/// The coordinator and what drives it: parked requests and the timer's wake-up.
#[derive(Debug)]
pub struct GroupDriver {
    /// A std Mutex, not a tokio one: it is never held across an `.await`, and
    /// holding it through the append is what orders the log (see the module doc).
    coordinator: Mutex<GroupCoordinator>,
    /// Requests waiting for their answer, by token.
    parked: Mutex<HashMap<RequestToken, oneshot::Sender<Response>>>,
    next_token: AtomicU64,
    /// Wakes the timer to re-read the next deadline.
    wake_timer: Arc<Notify>,
    timer_started: AtomicBool,
    /// Partitions of `__consumer_offsets` once it exists; 0 before.
    offsets_partitions: AtomicI32,
    /// Held while creating `__consumer_offsets`: a second caller must not see
    /// the topic in the metadata image before its partition logs are open.
    creating_offsets_topic: Mutex<()>,
    /// In a cluster, the `__consumer_offsets` partitions this broker leads
    /// and whether their groups are loaded ([`ownership`]).
    ownership: Mutex<ownership::OwnedPartitions>,
    /// Transaction markers (producer id, commit) written to a partition
    /// while its groups were loading, replayed once they are loaded (see
    /// [`Broker::complete_txn`]). A leaf lock.
    markers_while_loading: Mutex<BTreeMap<i32, Vec<(i64, bool)>>>,
    /// How many `__consumer_offsets` records [`Broker::load_groups`] read at
    /// start: with the log cleaner running (chapter 10) it follows the live
    /// groups and offsets, not the history of commits.
    loaded_records: AtomicUsize,
}

/// The `__consumer_offsets` appends of one output: each partition, the
/// leader epoch it was appended in, and its end offset after the append.
type Appended = Vec<(TopicPartition, Arc<Partition>, i32, i64)>;

impl GroupDriver {
    pub fn new(config: GroupCoordinatorConfig) -> Self {
        GroupDriver {
            coordinator: Mutex::new(GroupCoordinator::new(config)),
            parked: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
            wake_timer: Arc::new(Notify::new()),
            timer_started: AtomicBool::new(false),
            offsets_partitions: AtomicI32::new(0),
            creating_offsets_topic: Mutex::new(()),
            ownership: Mutex::new(Default::default()),
            markers_while_loading: Mutex::new(BTreeMap::new()),
            loaded_records: AtomicUsize::new(0),
        }
    }

    /// The records read from `__consumer_offsets` when the broker started.
    pub fn loaded_records(&self) -> usize {
        self.loaded_records.load(Ordering::Acquire)
    }

    /// The coordinator, for reading (tests, tools). Never hold it across an `.await`.
    ///
    /// A panic while an input held the lock (a bug) poisons it; the groups
    /// carry on with the state as the panic left it rather than every later
    /// group request — and the broker's shutdown — panicking too.
    pub fn lock(&self) -> MutexGuard<'_, GroupCoordinator> {
        self.coordinator.lock().unwrap_or_else(|poisoned| {
            tracing::error!("group coordinator lock poisoned by a panic; carrying on");
            poisoned.into_inner()
        })
    }

    fn lock_markers(&self) -> MutexGuard<'_, BTreeMap<i32, Vec<(i64, bool)>>> {
        self.markers_while_loading.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_parked(&self) -> MutexGuard<'_, HashMap<RequestToken, oneshot::Sender<Response>>> {
        self.parked.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A token no input has carried before: for a parked request, or for an
    /// OffsetCommit whose offsets stay pending until their store completes.
    fn token(&self) -> RequestToken {
        self.next_token.fetch_add(1, Ordering::Relaxed)
    }

    /// A token for a request that may be answered later, and where the answer arrives.
    fn park(&self) -> (RequestToken, oneshot::Receiver<Response>) {
        let token = self.token();
        let (tx, rx) = oneshot::channel();
        self.lock_parked().insert(token, tx);
        (token, rx)
    }

    /// Hands each reply to its parked request (gone if the client hung up).
    fn release(&self, out: Output) {
        let mut parked = self.lock_parked();
        for reply in out.replies {
            match parked.remove(&reply.token) {
                Some(tx) => {
                    let _ = tx.send(reply.response);
                }
                None => tracing::warn!(token = reply.token, "group reply for no parked request"),
            }
        }
    }

    /// Drops every parked request: their handlers return an error and the
    /// server closes their connections.
    fn shutdown(&self) {
        self.wake_timer.notify_one();
        // Waits for an input in progress to finish its append.
        drop(self.lock());
        self.lock_parked().clear();
    }
}

/// A group record that could not be stored, for a reason that is not the
/// leadership's: COORDINATOR_NOT_AVAILABLE, as Kafka answers a failed append.
fn store_error(e: Error) -> GroupError {
    tracing::warn!(error = %e, "could not store group records");
    GroupError::CoordinatorNotAvailable
}

impl Broker {
    // ANCHOR: handle_group
    /// Answers a group API request (one in [`GROUP_APIS`]).
    pub(super) async fn handle_group(self: &Arc<Self>, request: Request) -> Result<ResponseKind, Error> {
        self.start_group_timer();
        let version = request.header.request_api_version;
        let client_id = request.header.client_id.as_ref().map(|s| s.to_string()).unwrap_or_default();
        apis::handle(self, request.body, version, client_id, request.client_host).await
    }
    // ANCHOR_END: handle_group

    // ANCHOR: delete_topic_offsets
    /// After a topic's removal is committed: every group forgets its offsets
    /// in it, tombstoned in `__consumer_offsets` (see
    /// [`GroupCoordinator::delete_topic_offsets`]). Takes the coordinator's
    /// lock, so the caller must not hold the metadata log's (the coordinator's
    /// comes first, see the lock order in [`crate::broker`]).
    pub(super) async fn delete_topic_offsets(self: &Arc<Self>, topic: &str) {
        let topics = [topic.to_string()];
        let ((), store_error) = self.group_input(|c, now| ((), c.delete_topic_offsets(&topics, now))).await;
        if store_error.is_some() {
            // The coordinator's memory has forgotten them; a restart before a
            // later append could bring them back (see the module's Simplifications).
            tracing::warn!(topic, "could not store the tombstones of a deleted topic's offsets");
        }
    }
    // ANCHOR_END: delete_topic_offsets

    // ANCHOR: complete_txn
    /// Chapter 9: a transaction's COMMIT (`commit`) or ABORT marker of
    /// `producer_id` has been written to partition `offsets_partition` of
    /// `__consumer_offsets`. Call it after the append (the WriteTxnMarkers
    /// handler, once per offsets partition in the request): the groups of
    /// that partition apply or drop the transaction's offsets
    /// ([`GroupCoordinator::complete_txn`]; Kafka's
    /// `scheduleHandleTxnCompletion`). Nothing is written. In a cluster, a
    /// marker that lands while the partition's groups are being loaded is
    /// kept and replayed after the load, in case the load read the log
    /// before it.
    pub fn complete_txn(&self, offsets_partition: i32, producer_id: i64, commit: bool) {
        let Some(count) =
            self.metadata_image().topic(CONSUMER_OFFSETS_TOPIC).map(|t| t.partitions.len() as i32)
        else {
            return;
        };
        let mut coordinator = self.groups.lock();
        if self.groups.lock_ownership().get(&offsets_partition).is_some_and(|o| !o.loaded) {
            let mut markers = self.groups.lock_markers();
            markers.entry(offsets_partition).or_default().push((producer_id, commit));
        }
        let groups =
            coordinator.complete_txn(producer_id, commit, |g| partition_for(g, count) == offsets_partition);
        tracing::debug!(offsets_partition, producer_id, commit, ?groups, "transaction completed");
    }
    // ANCHOR_END: complete_txn

    /// Clean shutdown of the groups: see [`GroupDriver::shutdown`].
    pub(super) fn shutdown_groups(&self) {
        self.groups.shutdown();
    }

    // ANCHOR: group_input
    /// One input to the coordinator: `input` runs under its lock with the
    /// broker's clock, the output's records are appended in that same critical
    /// section, then (lock released) replicated — the high watermark covers
    /// them, as an `acks=all` produce — and made durable if the log says so,
    /// and the output's replies released. Returns `input`'s own result and
    /// why the records were not stored, if they were not.
    async fn group_input<T>(
        self: &Arc<Self>,
        input: impl FnOnce(&mut GroupCoordinator, i64) -> (T, Output),
    ) -> (T, Option<GroupError>) {
        self.verified_group_input(None, input).await
    }

    /// [`group_input`](Self::group_input) for a TxnOffsetCommit whose
    /// offsets partition was verified (KIP-890): its transactional records
    /// are appended only if `guard` is still their producer's there.
    async fn verified_group_input<T>(
        self: &Arc<Self>,
        guard: Option<VerificationGuard>,
        input: impl FnOnce(&mut GroupCoordinator, i64) -> (T, Output),
    ) -> (T, Option<GroupError>) {
        let (result, out, appended) = {
            let mut coordinator = self.groups.lock();
            let (result, out) = input(&mut coordinator, now_ms());
            let appended = self.append_group_records(&out.records, out.transactional, guard);
            (result, out, appended)
        };
        (result, self.finish_output(out, appended).await)
    }

    /// The rest of an input: waits for the output's records to be stored,
    /// tells the coordinator how that went if it holds something pending on
    /// it (an OffsetCommit's offsets become visible only then, and only if
    /// stored; a generation's assignment is handed out, or cleared), and
    /// releases the replies — as errors if the store failed — then those of
    /// the completion, whose own records go through the same steps. The
    /// coordinator hears the outcome before any client does, so a client told
    /// "committed" finds its offset in the next OffsetFetch.
    async fn finish_output(
        self: &Arc<Self>,
        mut out: Output,
        mut appended: Result<Appended, GroupError>,
    ) -> Option<GroupError> {
        let mut first_error = None;
        loop {
            self.groups.wake_timer.notify_one();
            let stored = match appended {
                Ok(appended) => self.wait_stored(appended).await,
                Err(e) => Err(e),
            };
            let reported = out.store.map(|token| {
                let mut coordinator = self.groups.lock();
                let next = coordinator.store_completed(token, stored, now_ms());
                let appended = self.append_group_records(&next.records, next.transactional, None);
                (next, appended)
            });
            if let Err(error) = stored {
                for reply in &mut out.replies {
                    reply.response = match &reply.response {
                        Response::Join(r) => Response::Join(JoinGroupResponse::error(&r.member_id, error)),
                        Response::Sync(_) => Response::Sync(SyncGroupResponse::error(error)),
                    };
                }
            }
            self.groups.release(out);
            first_error = first_error.or(stored.err());
            match reported {
                Some((next, next_appended)) if next != Output::default() => {
                    (out, appended) = (next, next_appended);
                }
                _ => return first_error,
            }
        }
    }
    // ANCHOR_END: group_input

    /// A JoinGroup or SyncGroup: parks it, runs it, waits for its answer.
    async fn parked_input(
        self: &Arc<Self>,
        input: impl FnOnce(&mut GroupCoordinator, RequestToken, i64) -> Output,
    ) -> Result<Response, Error> {
        let (token, answer) = self.groups.park();
        self.group_input(|c, now| ((), input(c, token, now))).await;
        answer.await.map_err(|_| Error::CloseConnection("parked group request dropped at shutdown".into()))
    }

    // ANCHOR: append_group_records
    /// Appends records to their groups' `__consumer_offsets` partitions, one
    /// batch per partition, in order. Called under the coordinator lock.
    ///
    /// A TxnOffsetCommit's records (`transactional`: the producer's id and
    /// epoch) go as a transactional batch of that producer, as Kafka writes
    /// them (sequence 0, `AppendOrigin::Coordinator`: checked for the epoch
    /// only), so the producer's transaction on the partition is open until
    /// its marker, and a fenced producer's commit is refused
    /// (INVALID_PRODUCER_EPOCH). With KIP-890's verification on, they carry
    /// the `guard` of the verification ([`Broker::verify_txn_offset_commit`])
    /// and are refused (INVALID_TXN_STATE) if it is no longer current.
    fn append_group_records(
        &self,
        records: &[GroupRecord],
        transactional: Option<(i64, i16)>,
        guard: Option<VerificationGuard>,
    ) -> Result<Appended, GroupError> {
        if records.is_empty() {
            return Ok(vec![]);
        }
        if self.is_shutting_down() {
            return Err(store_error(Error::ShuttingDown));
        }
        self.log_dir.check().map_err(store_error)?;
        let partitions =
            self.ensure_offsets_topic().map_err(|e| store_error(Error::OffsetsTopicUnavailable(e)))?;
        let now = now_ms();
        let mut batches: BTreeMap<i32, BatchBuilder> = BTreeMap::new();
        let builder = || match transactional {
            Some((producer_id, epoch)) => {
                BatchBuilder::default().producer(producer_id, epoch, 0).transactional(true)
            }
            None => BatchBuilder::default(),
        };
        let origin = match (transactional, guard) {
            (None, _) => AppendOrigin::Client,
            (Some(_), None) => AppendOrigin::Coordinator,
            (Some(_), Some(guard)) => AppendOrigin::VerifiedCoordinator(guard),
        };
        for record in records {
            let key = record.key_bytes();
            let value = record.value_bytes();
            batches.entry(partition_for(record.group_id(), partitions)).or_insert_with(builder).append(
                now,
                Some(&key),
                value.as_deref(),
                &[],
            );
        }
        let mut appended = Vec::with_capacity(batches.len());
        for (p, builder) in batches {
            let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, p);
            let Some(partition) = self.partition(&tp) else {
                // In a cluster: not a replica of the group's partition.
                return Err(GroupError::NotCoordinator);
            };
            let batch = BytesMut::from(&builder.build().as_bytes()[..]);
            // Only the partition's leader writes its groups' records (chapter 6).
            let leader_epoch = partition.check_append(false).map_err(|_| GroupError::NotCoordinator)?;
            let info =
                lock(&partition.log).append_from(batch, leader_epoch, now, origin).map_err(|e| match e {
                    LogError::Producer(ProducerError::InvalidProducerEpoch { .. }) => {
                        GroupError::InvalidProducerEpoch
                    }
                    LogError::Producer(ProducerError::TxnNotVerified { .. }) => GroupError::InvalidTxnState,
                    e => {
                        self.log_dir.fail(&tp, &e);
                        store_error(Error::Log(e))
                    }
                })?;
            appended.push((tp, partition, leader_epoch, info.last_offset + 1));
        }
        Ok(appended)
    }
    // ANCHOR_END: append_group_records

    // ANCHOR: wait_stored
    /// Waits, in durable mode (`spool.log.flush.before.ack`), until an fsync
    /// covers the appends — chapter 2's group commit, shared with produce —
    /// then reports them to the replication core, as a produce does after
    /// its fsync (`Partition`'s docs say why in that order), and waits until
    /// the high watermark covers them (at once for a replica alone in its
    /// ISR): Kafka's coordinator appends with acks=-1. The errors are Kafka's mapping
    /// of an append's failure for a group request: the leadership lost →
    /// NOT_COORDINATOR, anything else (a timeout, too few replicas) →
    /// COORDINATOR_NOT_AVAILABLE; both send the client back to FindCoordinator.
    async fn wait_stored(&self, appended: Appended) -> Result<(), GroupError> {
        let timeout_ms = self.config.group.offsets_commit_timeout_ms.max(1) as u64;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
        for (tp, partition, leader_epoch, end_offset) in appended {
            self.wait_durable(&tp, &partition, end_offset).await.map_err(store_error)?;
            let (wait, _) = partition
                .after_append(leader_epoch, end_offset - 1, true)
                .map_err(|_| GroupError::NotCoordinator)?;
            self.notifier.notify();
            let wait = wait.expect("an acks=all append gets a wait");
            match tokio::time::timeout_at(deadline, wait).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(ReplicationError::NotLeaderOrFollower))) | Ok(Err(_)) => {
                    tracing::warn!(%tp, "lost the leadership before group records were replicated");
                    return Err(GroupError::NotCoordinator);
                }
                Ok(Ok(Err(e))) => {
                    tracing::warn!(%tp, error = ?e, "group records not replicated");
                    return Err(GroupError::CoordinatorNotAvailable);
                }
                Err(_) => {
                    tracing::warn!(%tp, "group records not replicated within offsets.commit.timeout.ms");
                    return Err(GroupError::CoordinatorNotAvailable);
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: wait_stored

    /// In durable mode (`spool.log.flush.before.ack`), waits until an fsync
    /// covers an append: chapter 2's group commit, shared with produce.
    pub(super) async fn wait_durable(
        &self,
        tp: &TopicPartition,
        partition: &Partition,
        end_offset: i64,
    ) -> Result<(), Error> {
        if !lock(&partition.log).config().flush_before_ack {
            return Ok(());
        }
        let commit = partition.group_commit.clone();
        let log = partition.log.clone();
        tokio::task::spawn_blocking(move || commit.wait_durable(&log, end_offset))
            .await
            .map_err(|e| Error::TaskFailed(e.to_string()))?
            .map_err(|e| {
                self.log_dir.fail(tp, &e);
                Error::Log(e)
            })
    }

    // ANCHOR: ensure_offsets_topic
    /// `__consumer_offsets`' partition count, creating the topic first if it
    /// does not exist: `offsets.topic.num.partitions` partitions, compacted
    /// (only each key's latest commit matters), never deleted by age.
    pub fn ensure_offsets_topic(&self) -> Result<i32, ResponseError> {
        let known = self.groups.offsets_partitions.load(Ordering::Acquire);
        if known > 0 {
            return Ok(known);
        }
        // Recovered if poisoned: it guards no state, only the order of creators.
        let _creating =
            self.groups.creating_offsets_topic.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let existing = |broker: &Broker| {
            broker.metadata_image().topic(CONSUMER_OFFSETS_TOPIC).map(|t| t.partitions.len() as i32)
        };
        let partitions = match existing(self) {
            Some(n) => n,
            // In a cluster the metadata log is the controller's: the topic is
            // created there (FindCoordinator forwards it), never here.
            None if self.cluster.is_some() => return Err(ResponseError::CoordinatorNotAvailable),
            None => {
                let configs = BTreeMap::from([
                    ("cleanup.policy".to_string(), "compact".to_string()),
                    ("segment.bytes".to_string(), self.config.offsets_topic_segment_bytes.to_string()),
                ]);
                let n = self.config.offsets_topic_num_partitions;
                match self.create_topic(CONSUMER_OFFSETS_TOPIC, n, 1, &configs, false) {
                    Ok(_) => n,
                    // A client created it first (CreateTopics).
                    Err(e) if e.code == ResponseError::TopicAlreadyExists => {
                        existing(self).ok_or(ResponseError::CoordinatorNotAvailable)?
                    }
                    Err(e) => {
                        tracing::error!(error = ?e, "cannot create {CONSUMER_OFFSETS_TOPIC}");
                        return Err(ResponseError::CoordinatorNotAvailable);
                    }
                }
            }
        };
        self.groups.offsets_partitions.store(partitions, Ordering::Release);
        Ok(partitions)
    }
    // ANCHOR_END: ensure_offsets_topic

    // ANCHOR: load_groups
    /// Rebuilds the coordinator from `__consumer_offsets`, read from each
    /// partition's log start: called by [`Broker::open`], before any request.
    pub(super) fn load_groups(&self) -> Result<(), Error> {
        if self.cluster.is_some() {
            // A cluster's coordinators load partition by partition as they
            // become leaders (see `ownership`).
            return Ok(());
        }
        let Some(partitions) =
            self.metadata_image().topic(CONSUMER_OFFSETS_TOPIC).map(|t| t.partitions.len() as i32)
        else {
            return Ok(());
        };
        // Partition by partition: a producer's marker on one partition ends
        // only that partition's transactional offsets.
        let mut coordinator = GroupCoordinator::new(self.config.group.clone());
        let mut count = 0;
        for p in 0..partitions {
            let entries = self.read_offsets_partition(p)?;
            count += entries.len();
            coordinator.load_partition(entries, now_ms());
        }
        tracing::info!(records = count, groups = coordinator.list_groups(&[]).len(), "loaded groups");
        self.groups.loaded_records.store(count, Ordering::Release);
        *self.groups.lock() = coordinator;
        self.groups.offsets_partitions.store(partitions, Ordering::Release);
        Ok(())
    }
    // ANCHOR_END: load_groups

    // ANCHOR: group_timer
    /// Starts the task that fires the coordinator's timers (once). It holds the
    /// broker weakly, so a dropped broker ends it, as does shutdown.
    pub fn start_group_timer(self: &Arc<Self>) {
        if self.groups.timer_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let broker: Weak<Broker> = Arc::downgrade(self);
        let wake = self.groups.wake_timer.clone();
        tokio::spawn(async move {
            loop {
                let deadline_ms = match broker.upgrade() {
                    Some(b) if !b.is_shutting_down() => b.groups.lock().next_deadline_ms(),
                    _ => return,
                };
                let wait_ms = deadline_ms.map_or(TIMER_IDLE_MS, |d| (d - now_ms()).clamp(0, TIMER_IDLE_MS));
                // A notify_one before we wait leaves a permit: no wake-up is lost.
                let _ = tokio::time::timeout(Duration::from_millis(wait_ms as u64), wake.notified()).await;
                let Some(b) = broker.upgrade() else { return };
                if b.is_shutting_down() {
                    return;
                }
                if deadline_ms.is_some_and(|d| now_ms() >= d) {
                    b.group_input(|c, now| ((), c.tick(now))).await;
                }
            }
        });
    }
    // ANCHOR_END: group_timer
}
