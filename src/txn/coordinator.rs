//! The coordinator of one `__transaction_state` partition: its inputs and
//! outputs, loading, the appends in flight, and the timers. The requests
//! themselves are in `init.rs`, `add.rs` and `end.rs`.
//!
//! ```text
//!   driver ── request(token, …, now_ms) ──▶ TransactionCoordinator ──▶ Output {
//!          ◀───────────────────────────────────────────────────────────    appends:  records to append (Append.id)
//!   append ── append_completed(id, Ok | Err) ──▶ state moves / reply       markers:  WriteTxnMarkers to send
//!   markers ── markers_written(request) ──▶ Complete* record               replies:  (token, answer)
//!   clock ── tick(now_ms) ──▶ timeouts abort, idle ids expire           }
//! ```

use std::collections::BTreeMap;

use super::error::TxnError;
use super::metadata::{TransactionMetadata, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};
use super::records::{DecodeError, TransactionLogRecord, TransactionLogValue};
use super::state::TransactionState::*;
pub use super::types::*;

/// What to do once an append is durable (or failed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum AfterAppend {
    /// InitProducerId: answer with the new producer id and epoch.
    Init(RequestToken),
    /// AddPartitionsToTxn or AddOffsetsToTxn: answer ok.
    Add { token: RequestToken, offsets: bool },
    /// A client's EndTxn decision: answer, then write the markers.
    Decided(RequestToken),
    /// An abort by fencing (a timeout, or a new producer's InitProducerId,
    /// which is answered CONCURRENT_TRANSACTIONS): write the ABORT markers.
    Fenced(Option<RequestToken>),
    /// The markers are written; nothing to answer.
    Completed,
    /// The id's tombstone: forget it.
    Expired,
}

/// Whether the partition is ours yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Status {
    NotCoordinator,
    Loading,
    Active,
}

/// The transaction coordinator of one `__transaction_state` partition.
/// `PartialEq` and `Hash` are for the model checker, whose states hold it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionCoordinator {
    pub(super) config: TransactionCoordinatorConfig,
    partition: i32,
    pub(super) coordinator_epoch: i32,
    status: Status,
    pub(super) transactions: BTreeMap<String, TransactionMetadata>,
    /// The driver's producer ids not yet handed out: `[next, end)`.
    producer_ids: (i64, i64),
    pub(super) appends: BTreeMap<AppendId, (String, AfterAppend)>,
    next_append_id: AppendId,
}

impl TransactionCoordinator {
    /// The coordinator of `partition`, not yet loaded (NOT_COORDINATOR to every request).
    pub fn new(config: TransactionCoordinatorConfig, partition: i32) -> Self {
        assert!((0..config.transaction_state_partitions).contains(&partition), "partition {partition}");
        TransactionCoordinator {
            config,
            partition,
            coordinator_epoch: -1,
            status: Status::NotCoordinator,
            transactions: BTreeMap::new(),
            producer_ids: (0, 0),
            appends: BTreeMap::new(),
            next_append_id: 0,
        }
    }

    /// The transactional ids this coordinator holds.
    pub fn transactions(&self) -> &BTreeMap<String, TransactionMetadata> {
        &self.transactions
    }

    /// Asserts the bookkeeping every input must leave behind (for tests and
    /// models): one append in flight per pending transit and none without,
    /// partitions only while a transaction is open, a start time with them.
    pub fn check_invariants(&self) {
        for (id, m) in &self.transactions {
            assert_eq!(id, &m.transactional_id);
            let appends = self.appends.values().filter(|(txn, _)| txn == id).count();
            assert_eq!(
                appends,
                usize::from(m.pending.is_some()),
                "{id}: {appends} appends, pending {:?}",
                m.pending
            );
            assert!(m.partitions.is_empty() || m.state.is_open(), "{id}: partitions in {}", m.state);
            assert!(m.state != Empty || m.txn_start_timestamp_ms == -1, "{id}: Empty with a start time");
            assert!(m.producer_epoch >= NO_PRODUCER_EPOCH && m.producer_id >= 0, "{id}: ids {m:?}");
        }
        assert!(
            self.appends.values().all(|(id, _)| self.transactions.contains_key(id)),
            "an append of an unknown id"
        );
    }

    /// The leader epoch of the partition this coordinator was loaded in (-1 before).
    pub fn coordinator_epoch(&self) -> i32 {
        self.coordinator_epoch
    }

    /// How many producer ids the driver gave that are not handed out yet.
    pub fn producer_ids_left(&self) -> i64 {
        self.producer_ids.1 - self.producer_ids.0
    }

    /// Producer ids `[first, first + count)` from the driver's block.
    pub fn add_producer_ids(&mut self, first: i64, count: i64) {
        assert!(
            first >= 0 && count > 0 && self.producer_ids.0 == self.producer_ids.1,
            "a block while one is left"
        );
        self.producer_ids = (first, first + count);
    }

    /// The next producer id, or COORDINATOR_LOAD_IN_PROGRESS (Kafka's answer
    /// while the next block is on its way) with `wants_producer_ids` set.
    pub(super) fn take_producer_id(&mut self, out: &mut Output) -> Result<i64, TxnError> {
        let (next, end) = self.producer_ids;
        if next == end {
            out.wants_producer_ids = true;
            return Err(TxnError::CoordinatorLoadInProgress);
        }
        self.producer_ids.0 += 1;
        Ok(next)
    }

    /// Whether this coordinator may answer for `transactional_id` now.
    pub(super) fn check_owner(&self, transactional_id: &str) -> Result<(), TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest);
        }
        self.check_loaded()?;
        let partition = super::partition_for(transactional_id, self.config.transaction_state_partitions);
        if partition == self.partition {
            Ok(())
        } else {
            Err(TxnError::NotCoordinator)
        }
    }

    /// Whether the partition is ours and loaded.
    pub(super) fn check_loaded(&self) -> Result<(), TxnError> {
        match self.status {
            Status::NotCoordinator => Err(TxnError::NotCoordinator),
            Status::Loading => Err(TxnError::CoordinatorLoadInProgress),
            Status::Active => Ok(()),
        }
    }

    /// Emits the record of `transactional_id`'s pending transit.
    pub(super) fn append_pending(&mut self, transactional_id: &str, then: AfterAppend, out: &mut Output) {
        let m = &self.transactions[transactional_id];
        let transit = m.pending.as_ref().expect("a pending transit to append");
        let record = m.record_of(transit);
        let id = self.next_append_id;
        self.next_append_id += 1;
        self.appends.insert(id, (transactional_id.to_owned(), then));
        out.appends.push(Append { id, record });
    }

    /// This broker became the partition's leader at `coordinator_epoch`: the
    /// driver reads the partition into [`load_record`](Self::load_record) and
    /// then calls [`finish_loading`](Self::finish_loading). Requests meanwhile
    /// get COORDINATOR_LOAD_IN_PROGRESS.
    pub fn start_loading(&mut self, coordinator_epoch: i32) {
        self.transactions.clear();
        self.appends.clear();
        self.coordinator_epoch = coordinator_epoch;
        self.status = Status::Loading;
    }

    /// One record of the partition, in log order: the last one of an id wins,
    /// a tombstone forgets it. A record no coordinator writes (a Dead or
    /// PrepareEpochFence state, a negative producer id or epoch, an Ongoing
    /// transaction at the fencing epoch `i16::MAX`) is refused and changes
    /// nothing; the driver logs it and goes on, as Kafka skips records it cannot read.
    pub fn load_record(&mut self, record: &TransactionLogRecord) -> Result<(), DecodeError> {
        assert_eq!(self.status, Status::Loading, "load_record outside loading");
        match &record.value {
            Some(v) => {
                check_loaded(v)?;
                let m = TransactionMetadata::from_record(&record.transactional_id, v);
                self.transactions.insert(record.transactional_id.clone(), m);
            }
            None => {
                self.transactions.remove(&record.transactional_id);
            }
        }
        Ok(())
    }

    // ANCHOR: finish_loading
    /// The partition is read: answer requests, and finish every transaction
    /// whose decision is durable by writing its markers again.
    pub fn finish_loading(&mut self) -> Output {
        assert_eq!(self.status, Status::Loading, "finish_loading outside loading");
        self.status = Status::Active;
        let mut out = Output::default();
        for m in self.transactions.values() {
            if matches!(m.state, PrepareCommit | PrepareAbort) {
                out.markers.push(self.markers_for(m));
            }
        }
        out
    }
    // ANCHOR_END: finish_loading

    /// This broker stopped leading the partition: forget it, answer whatever
    /// waits for an append NOT_COORDINATOR. Later completions are ignored.
    pub fn unload(&mut self) -> Output {
        let mut out = Output::default();
        for (_, (_, then)) in std::mem::take(&mut self.appends) {
            if let Some(reply) = failure_reply(&then, TxnError::NotCoordinator) {
                out.replies.push(reply);
            }
        }
        self.transactions.clear();
        self.status = Status::NotCoordinator;
        out
    }

    // ANCHOR: markers_for
    /// The WriteTxnMarkers request that finishes `m`'s prepared decision.
    pub(super) fn markers_for(&self, m: &TransactionMetadata) -> WriteTxnMarkers {
        assert!(matches!(m.state, PrepareCommit | PrepareAbort), "markers before the decision is durable");
        WriteTxnMarkers {
            transactional_id: m.transactional_id.clone(),
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
            commit: m.state == PrepareCommit,
            coordinator_epoch: self.coordinator_epoch,
            partitions: m.partitions.clone(),
        }
    }
    // ANCHOR_END: markers_for

    /// The driver's report on append `id`. On success the pending transit
    /// becomes the state and the request is answered (and markers sent for a
    /// decision); on failure the transit is dropped and the request gets the error.
    pub fn append_completed(
        &mut self,
        id: AppendId,
        result: Result<(), AppendFailure>,
        now_ms: i64,
    ) -> Output {
        let mut out = Output::default();
        let Some((transactional_id, then)) = self.appends.remove(&id) else {
            return out; // an append from before an unload
        };
        let m = self.transactions.get_mut(&transactional_id).expect("an append's transactional id is loaded");
        match result {
            Ok(()) if then == AfterAppend::Expired => {
                self.transactions.remove(&transactional_id);
            }
            Ok(()) => {
                m.complete_transition();
                self.after_durable(&transactional_id, then, &mut out);
            }
            Err(failure) => {
                let error = match failure {
                    AppendFailure::NotLeader => TxnError::NotCoordinator,
                    AppendFailure::NotReplicated => TxnError::CoordinatorNotAvailable,
                };
                m.abandon_transition(matches!(then, AfterAppend::Fenced(_)));
                out.replies.extend(failure_reply(&then, error));
                if then == AfterAppend::Completed && failure == AppendFailure::NotReplicated {
                    // The markers are written; the Complete record must follow.
                    self.complete_after_markers(&transactional_id, now_ms, &mut out);
                }
            }
        }
        out
    }

    fn after_durable(&mut self, transactional_id: &str, then: AfterAppend, out: &mut Output) {
        let m = &self.transactions[transactional_id];
        let ids = ProducerIdAndEpoch { producer_id: m.producer_id, producer_epoch: m.producer_epoch };
        match then {
            AfterAppend::Init(token) => {
                out.replies.push(Reply { token, body: ReplyBody::InitProducerId(Ok(ids)) })
            }
            AfterAppend::Add { token, offsets: false } => {
                out.replies.push(Reply { token, body: ReplyBody::AddPartitionsToTxn(Ok(())) })
            }
            AfterAppend::Add { token, offsets: true } => {
                out.replies.push(Reply { token, body: ReplyBody::AddOffsetsToTxn(Ok(())) })
            }
            AfterAppend::Decided(token) => {
                let next = self.next_ids(transactional_id);
                out.replies.push(Reply { token, body: ReplyBody::EndTxn(Ok(next)) });
                out.markers.push(self.markers_for(m));
            }
            AfterAppend::Fenced(token) => {
                let body = ReplyBody::InitProducerId(Err(TxnError::ConcurrentTransactions));
                out.replies.extend(token.map(|token| Reply { token, body }));
                out.markers.push(self.markers_for(m));
            }
            AfterAppend::Completed | AfterAppend::Expired => {}
        }
    }

    // ANCHOR: tick
    /// The timers: an Ongoing transaction older than its timeout is fenced
    /// and aborted; an id idle for `transactional.id.expiration.ms` with
    /// nothing open is forgotten (its tombstone appended).
    pub fn tick(&mut self, now_ms: i64) -> Output {
        let mut out = Output::default();
        if self.status != Status::Active {
            return out;
        }
        let expiration_ms = self.config.transactional_id_expiration_ms;
        let ids: Vec<String> = self.transactions.keys().cloned().collect();
        for id in ids {
            let m = self.transactions.get_mut(&id).expect("listed");
            if m.pending.is_some() {
                continue;
            }
            if m.state == Ongoing && m.txn_start_timestamp_ms + i64::from(m.txn_timeout_ms) < now_ms {
                m.prepare_fence_and_abort(now_ms);
                self.append_pending(&id, AfterAppend::Fenced(None), &mut out);
            } else if m.state.is_expiration_allowed()
                && m.txn_last_update_timestamp_ms <= now_ms - expiration_ms
            {
                m.prepare_dead();
                self.append_pending(&id, AfterAppend::Expired, &mut out);
            }
        }
        out
    }
    // ANCHOR_END: tick
}

/// What a coordinator can have written: never Dead (a tombstone instead) or
/// PrepareEpochFence (the abort instead), a producer id and an epoch (Kafka
/// writes none below 0), and no Ongoing transaction at `i16::MAX`, the epoch
/// kept for fencing it.
fn check_loaded(v: &TransactionLogValue) -> Result<(), DecodeError> {
    if matches!(v.state, Dead | PrepareEpochFence) {
        Err(DecodeError::Malformed("a transaction state that is never written"))
    } else if v.producer_id < 0 || v.next_producer_id < NO_PRODUCER_ID {
        Err(DecodeError::Malformed("a negative producer id"))
    } else if v.producer_epoch < 0 {
        Err(DecodeError::Malformed("a negative producer epoch"))
    } else if v.state == Ongoing && v.producer_epoch == i16::MAX {
        Err(DecodeError::Malformed("an open transaction at the fencing epoch"))
    } else {
        Ok(())
    }
}

/// The error reply owed to a request whose append failed (none for the
/// coordinator's own appends).
fn failure_reply(then: &AfterAppend, error: TxnError) -> Option<Reply> {
    let (token, body) = match *then {
        AfterAppend::Init(token) | AfterAppend::Fenced(Some(token)) => {
            (token, ReplyBody::InitProducerId(Err(error)))
        }
        AfterAppend::Add { token, offsets: false } => (token, ReplyBody::AddPartitionsToTxn(Err(error))),
        AfterAppend::Add { token, offsets: true } => (token, ReplyBody::AddOffsetsToTxn(Err(error))),
        AfterAppend::Decided(token) => (token, ReplyBody::EndTxn(Err(error))),
        AfterAppend::Fenced(None) | AfterAppend::Completed | AfterAppend::Expired => return None,
    };
    Some(Reply { token, body })
}
