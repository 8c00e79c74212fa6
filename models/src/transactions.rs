//! Chapter 9's model: transactions across two partitions, around the real
//! transaction coordinator and the real producer tables.
//!
//! A transaction is a two-phase commit: the coordinator (`src/txn`) records
//! the decision in `__transaction_state`, then writes a COMMIT or ABORT
//! marker into each partition, whose producer table
//! (`src/idempotence/producer_state`) keeps the transaction open until its
//! marker arrives and holds the *last stable offset* (LSO) below it. This
//! model runs both — the very `TransactionCoordinator` and
//! `ProducerStateManager` the broker runs — with producers that time out
//! and die, a network that delays and reorders produce requests, and
//! coordinator crashes, and checks what a `read_committed` consumer would
//! see at every state.
//!
//! # The actors
//!
//! ```text
//!  producer 0 (later a zombie)      coordinator ("t")                 partitions
//!  Init ───────────────────────────▶ Empty e0        ──▶ state log (durable records)
//!  AddPartitions(out-0) ───────────▶ Ongoing{out-0}
//!  Produce ──────── network (delays, reorders) ────────────────────▶ out-0   ┐ each: a log and
//!  AddOffsets(g) ──────────────────▶ Ongoing{+offsets}                       │ the real producer
//!  TxnOffsetCommit ─ network ──────────────────────────────────────▶ offsets ┘ table; LSO, aborted
//!  EndTxn(commit | abort) ─────────▶ PrepareCommit ── markers ──────▶ out-0, offsets
//!                                    CompleteCommit
//!  producer 1 (its successor): Init ─▶ epoch e1: producer 0 is fenced
//! ```
//!
//! - **Producers** (the Java client's transactional producer): producer 0
//!   runs one transaction — it adds the output partition, sends one record
//!   to it, adds its group's offsets, sends its offset commit (a
//!   transactional batch in the group's `__consumer_offsets` partition), and
//!   ends the transaction once both requests are answered: commit, or abort
//!   if it gave up on one (a request timeout). Producer 1 has the same
//!   transactional id and starts later: its InitProducerId fences producer 0,
//!   aborting its transaction if one is open, and then (with
//!   [`TransactionsModel::successor_transaction`]) runs the same transaction
//!   of its own. Producer 0 may die at any point; the coordinator's
//!   `transaction.timeout.ms` (`tick`) then aborts what it left open.
//!   Coordinator requests are answered as soon as the coordinator answers
//!   (after its record is durable); retriable errors
//!   (CONCURRENT_TRANSACTIONS, NOT_COORDINATOR) are retried.
//! - **Coordinator**: [`TransactionCoordinator`] on one `__transaction_state`
//!   partition. Each record it asks to append stays in flight until a
//!   `Durable` step appends it to the state log; a `Crash` loses what is not
//!   durable (its parked requests get NOT_COORDINATOR), and the coordinator
//!   reloads from the state log at the next coordinator epoch
//!   (`unload`, `start_loading`, `load_record`, `finish_loading`).
//! - **Partition leaders**: before appending a transactional batch the
//!   leader asks the coordinator whether the partition is in the producer's
//!   transaction (KIP-890 part 1, the coordinator's verify-only
//!   AddPartitionsToTxn, [`TransactionCoordinator::verify_partitions`]), then
//!   runs the real `validate` / `update`; a marker goes through
//!   `validate_marker` / `apply_marker`. Markers are written one partition
//!   at a time, in any order, and reported with `markers_written`.
//!
//! # Properties
//!
//! - [`ALL_OR_NOTHING`]: a `read_committed` consumer never returns a record
//!   of a transaction while it skips another record of the same transaction
//!   as aborted — in either partition, so the output and the offset commit
//!   go together. (It may return one partition's records before the other's
//!   marker is written: Kafka promises atomicity, not a snapshot across
//!   partitions. "Skips as aborted" is final; "not yet returned" is not.)
//! - [`FENCED_NEVER_APPENDS`]: once producer 1 holds its epoch, no batch of
//!   producer 0 is appended anywhere.
//! - [`LSO_BELOW_OPEN`]: no partition's LSO passes the first offset of a
//!   transaction open in its log.
//! - [`EVERY_TRANSACTION_ENDS`]: when everything is quiet — no request in
//!   the network, no record or marker in flight, every producer finished,
//!   fenced, dead or not started, no Ongoing transaction whose timeout is
//!   still to come — no transaction is open, in the coordinator or in a
//!   partition's log. An open one would pin the LSO for ever: no
//!   `read_committed` consumer would read past it.
//!
//! and as `sometimes`: a transaction is read whole, one is aborted, a
//! producer is fenced, a late produce is refused by the verification, a
//! coordinator reloaded after a crash finishes a decision it finds durable,
//! and a dead producer's transaction is aborted on its timeout.
//!
//! # The bugs it catches
//!
//! - [`Bug::HangingTransaction`] (KAFKA-14402): the partition appends a
//!   transactional batch without the verification. Producer 0 gives up on
//!   its produce, aborts; the markers are written; then the late request
//!   arrives and opens a transaction that no coordinator knows of (16 steps;
//!   with producer 1, the zombie's late record also lands after the fence).
//! - [`Bug::MarkersBeforePrepare`]: the coordinator sends the COMMIT markers
//!   with the PrepareCommit record instead of after it is durable. One
//!   marker is written, the coordinator crashes before the record is, the
//!   reloaded coordinator sees the transaction Ongoing, and producer 1's
//!   InitProducerId aborts it: one partition committed, the other aborted
//!   (16 steps).
//! - [`Bug::NoEpochBump`]: InitProducerId hands producer 1 the epoch
//!   producer 0 holds, so producer 0 is not fenced and its record lands
//!   (8 steps).
//!
//! # Bounds and simplifications
//!
//! CI checks two bounds. [`TransactionsModel::small`]: producer 1 only
//! fences; one request timeout, one coordinator crash, and producer 0 may
//! die and have its transaction timed out by the coordinator — 15,101
//! states. [`TransactionsModel::successor`]: producer 1 runs a transaction
//! of its own; one request timeout, one coordinator crash, nobody dies —
//! 23,179 states. Each takes a fraction of a second in release. `--big`
//! ([`TransactionsModel::big`]) has all of it and two request timeouts:
//! 584,480 states, about 9 s and 0.9 GB. [`crate::check`] fails if a run
//! stops short. Simplifications:
//!
//! - One transactional id and one transaction per producer; transaction
//!   version 0 ends (no KIP-890 part 2 epoch bump), so a late write of an
//!   ended transaction is stopped by the verification alone.
//! - The verification is one step with the append (in Kafka it is a round
//!   trip, and the producer table keeps a verification guard for the race),
//!   and it is asked for every transactional batch (Kafka asks only when the
//!   producer has no transaction open on the partition yet).
//! - Only producer 0 may die, and time moves only when a transaction
//!   times out; a state where the coordinator still holds an Ongoing
//!   transaction is not quiet (its timeout would end it), even once the
//!   bound of timeouts is spent.
//! - No failed coordinator appends, one replica per partition (the high
//!   watermark is the log end), and a crash and the reload are one step. A
//!   crashed coordinator's marker requests die with it; the reload sends
//!   them again.
//! - The offset commit is a transactional batch in the offsets partition, as
//!   TxnOffsetCommit writes it; the group coordinator's pending offsets
//!   (what OffsetFetch returns) are chapter 5's, not modelled here.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use spool::group::{self, CONSUMER_OFFSETS_TOPIC};
use spool::idempotence::{ProducerStateConfig, ProducerStateManager};
use spool::txn::records::TransactionLogRecord;
use spool::txn::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AppendId, EndTxnRequest, InitProducerIdRequest,
    Output, ProducerIdAndEpoch, ReplyBody, TransactionCoordinator, TransactionCoordinatorConfig,
    TransactionState, TxnError, WriteTxnMarkers,
};
use spool::TopicPartition;
use stateright::{Model, Property};

use crate::Bound;

mod display;
pub mod partition;

pub use partition::{Answer, Entry, Partition, Seen};

/// A producer of the model: 0 is the first (later the zombie), 1 its successor.
pub type ProducerIdx = u8;
/// A data partition of the model: [`OUTPUT`] or [`OFFSETS`].
pub type PartitionIdx = u8;

/// The output topic's partition the transaction writes its record to.
pub const OUTPUT: PartitionIdx = 0;
/// The group's `__consumer_offsets` partition the offset commit goes to.
pub const OFFSETS: PartitionIdx = 1;

const TRANSACTIONAL_ID: &str = "t";
const GROUP: &str = "g";
const OUTPUT_TOPIC: &str = "out";
const TRANSACTION_TIMEOUT_MS: i32 = 60_000;
/// The producer id block the coordinator hands out from.
const FIRST_PRODUCER_ID: i64 = 1;

// ANCHOR: bugs
/// Mistakes the checker must catch. `None` in [`TransactionsModel::bug`] is the real code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// KAFKA-14402: partition leaders append a transactional batch without
    /// asking the coordinator whether its transaction is open (no KIP-890).
    HangingTransaction,
    /// The coordinator sends the markers before the PrepareCommit /
    /// PrepareAbort record is durable.
    MarkersBeforePrepare,
    /// A new producer's InitProducerId does not bump the epoch.
    NoEpochBump,
}

impl Bug {
    pub const ALL: [Bug; 3] = [Bug::HangingTransaction, Bug::MarkersBeforePrepare, Bug::NoEpochBump];

    pub fn name(self) -> &'static str {
        match self {
            Bug::HangingTransaction => "hanging-transaction",
            Bug::MarkersBeforePrepare => "markers-before-prepare",
            Bug::NoEpochBump => "no-epoch-bump",
        }
    }

    /// The coordinator's configuration with this bug planted.
    pub fn config(bug: Option<Bug>) -> TransactionCoordinatorConfig {
        TransactionCoordinatorConfig {
            transaction_state_partitions: 1,
            bump_epoch_on_init: bug != Some(Bug::NoEpochBump),
            markers_after_decision_durable: bug != Some(Bug::MarkersBeforePrepare),
            ..TransactionCoordinatorConfig::default()
        }
    }
}
// ANCHOR_END: bugs

// ANCHOR: state
/// What a producer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// InitProducerId (producer 1: only once producer 0 has its epoch).
    Init,
    /// AddPartitionsToTxn(out-0).
    AddPartitions,
    /// Send the record to out-0.
    Produce,
    /// AddOffsetsToTxn(g).
    AddOffsets,
    /// Send the offset commit to the offsets partition.
    CommitOffsets,
    /// EndTxn, once no produce is unanswered: commit, or abort if abortable.
    EndTxn,
    Done,
    /// Told it is fenced: it stops.
    Fenced,
    /// A fatal error (INVALID_TXN_STATE, say): it stops, as the Java client
    /// does. Only a planted bug leads here.
    Failed,
    /// The process died: it sends nothing more, though its requests in the
    /// network may still arrive. Only the coordinator's timeout ends its transaction.
    Stopped,
}

impl Step {
    /// It will send nothing more.
    pub fn is_final(self) -> bool {
        matches!(self, Step::Done | Step::Fenced | Step::Failed | Step::Stopped)
    }
}

/// One transactional producer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Producer {
    /// It has sent its first request.
    pub started: bool,
    pub step: Step,
    /// Its request for `step` is parked at the coordinator.
    pub waiting: bool,
    pub ids: Option<ProducerIdAndEpoch>,
    /// Produce requests sent and neither answered nor given up on.
    pub unanswered: BTreeSet<PartitionIdx>,
    /// It gave up on a request, or one was refused: it must abort.
    pub abortable: bool,
}

/// A produce request (or TxnOffsetCommit) on its way to a partition leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Produce {
    pub producer: ProducerIdx,
    pub partition: PartitionIdx,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// A WriteTxnMarkers request being carried out, partition by partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MarkerWork {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub coordinator_epoch: i32,
    pub partitions: BTreeSet<TopicPartition>,
    /// The partitions still without their marker.
    pub remaining: BTreeSet<PartitionIdx>,
}

/// The whole system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionsState {
    /// The real coordinator.
    pub coordinator: TransactionCoordinator,
    pub coordinator_epoch: i32,
    /// Records the coordinator asked to append, not yet durable.
    pub appending: BTreeMap<AppendId, TransactionLogRecord>,
    /// `__transaction_state`: the durable records, in order.
    pub state_log: Vec<TransactionLogRecord>,
    pub markers: Vec<MarkerWork>,
    /// [`OUTPUT`] and [`OFFSETS`].
    pub partitions: [Partition; 2],
    pub producers: [Producer; 2],
    pub network: BTreeSet<Produce>,
    pub crashes: u8,
    pub give_ups: u8,
    pub producer_crashes: u8,
    /// The coordinator's clock: every request happens at it; only a
    /// transaction timeout moves it.
    pub now_ms: i64,
    pub timeouts: u8,
    /// History: producer 1 holds its epoch (producer 0 is fenced).
    pub successor_initialized: bool,
    /// History: a batch of producer 0 was appended after that.
    pub zombie_appended: bool,
    /// History: a produce the producer had given up on was refused.
    pub late_produce_refused: bool,
    /// History: a reloaded coordinator found a durable decision and sent its markers again.
    pub decision_reloaded: bool,
}
// ANCHOR_END: state

/// What can happen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The producer sends its next request: to the coordinator, or a produce into the network.
    Send(ProducerIdx),
    /// The producer's request to the partition timed out: it gives up on it
    /// (the request stays in the network) and must abort.
    GiveUp(ProducerIdx, PartitionIdx),
    /// The network delivers a produce request to its partition's leader.
    Deliver(Produce),
    /// A coordinator record becomes durable.
    Durable(AppendId),
    /// A marker of `markers[work]` is written to `partition`.
    WriteMarker { work: usize, partition: PartitionIdx },
    /// The coordinator crashes, and reloads from its state log.
    Crash,
    /// The producer's process dies.
    Stop(ProducerIdx),
    /// `transaction.timeout.ms` passes: the coordinator's `tick` aborts the
    /// open transaction.
    TransactionTimeout,
}

/// The model and its bounds.
#[derive(Debug, Clone)]
pub struct TransactionsModel {
    pub bug: Option<Bug>,
    /// Whether producer 1 runs a transaction after fencing producer 0.
    pub successor_transaction: bool,
    pub give_ups_max: u8,
    pub crashes_max: u8,
    /// Producers that may die.
    pub producer_crashes_max: u8,
    /// Transaction timeouts the coordinator may reach.
    pub timeouts_max: u8,
}

impl TransactionsModel {
    /// CI's bounds: producer 1 only fences producer 0; one request timeout,
    /// one coordinator crash, and producer 0 may die and have its transaction
    /// timed out.
    pub fn small(bug: Option<Bug>) -> Self {
        TransactionsModel {
            bug,
            successor_transaction: false,
            give_ups_max: 1,
            crashes_max: 1,
            producer_crashes_max: 1,
            timeouts_max: 1,
        }
    }

    /// CI's second bounds: producer 1 runs a transaction of its own after
    /// fencing producer 0; one request timeout and one coordinator crash,
    /// no producer dies.
    pub fn successor(bug: Option<Bug>) -> Self {
        TransactionsModel {
            successor_transaction: true,
            producer_crashes_max: 0,
            timeouts_max: 0,
            ..Self::small(bug)
        }
    }

    /// `--big`: both, with two request timeouts.
    pub fn big(bug: Option<Bug>) -> Self {
        TransactionsModel { successor_transaction: true, give_ups_max: 2, ..Self::small(bug) }
    }

    /// The safety nets for [`crate::check`], well above the pinned counts.
    pub fn bound(&self) -> Bound {
        let big = self.successor_transaction && self.timeouts_max > 0;
        Bound {
            states_max: if big { 50_000_000 } else { 2_000_000 },
            timeout: Duration::from_secs(if big { 3_600 } else { 300 }),
        }
    }

    fn verifies(&self) -> bool {
        self.bug != Some(Bug::HangingTransaction)
    }
}

/// A model partition's name in Kafka's terms.
pub fn topic_partition(partition: PartitionIdx) -> TopicPartition {
    match partition {
        OUTPUT => TopicPartition::new(OUTPUT_TOPIC, 0),
        _ => {
            let partitions = TransactionCoordinatorConfig::default().offsets_topic_partitions;
            TopicPartition::new(CONSUMER_OFFSETS_TOPIC, group::partition_for(GROUP, partitions))
        }
    }
}

fn partition_index(tp: &TopicPartition) -> PartitionIdx {
    if *tp == topic_partition(OUTPUT) {
        OUTPUT
    } else {
        assert_eq!(*tp, topic_partition(OFFSETS), "a partition outside the model");
        OFFSETS
    }
}

impl TransactionsState {
    fn producer(&mut self, producer: ProducerIdx) -> &mut Producer {
        &mut self.producers[usize::from(producer)]
    }

    fn ids(&self, producer: ProducerIdx) -> ProducerIdAndEpoch {
        self.producers[usize::from(producer)].ids.expect("a producer past Init has its ids")
    }

    /// Carries out what the coordinator asked for.
    fn apply(&mut self, model: &TransactionsModel, out: Output) {
        assert!(!out.wants_producer_ids, "the model's block of producer ids ran out");
        for append in out.appends {
            self.appending.insert(append.id, append.record);
        }
        for m in out.markers {
            let remaining = m.partitions.iter().map(partition_index).collect();
            self.markers.push(MarkerWork {
                producer_id: m.producer_id,
                producer_epoch: m.producer_epoch,
                commit: m.commit,
                coordinator_epoch: m.coordinator_epoch,
                partitions: m.partitions,
                remaining,
            });
        }
        for reply in out.replies {
            let producer = ProducerIdx::try_from(reply.token).expect("a producer's token");
            self.on_reply(model, producer, reply.body);
        }
    }

    // ANCHOR: producer
    /// The producer hears from the coordinator.
    fn on_reply(&mut self, model: &TransactionsModel, producer: ProducerIdx, body: ReplyBody) {
        let p = self.producer(producer);
        if p.step.is_final() {
            p.waiting = false;
            return; // it died, or a produce answer stopped it meanwhile
        }
        assert!(p.waiting, "producer {producer}: an answer to no request: {body:?}");
        p.waiting = false;
        let result = match body {
            ReplyBody::InitProducerId(Ok(ids)) => {
                p.ids = Some(ids);
                let goes_on = producer == 0 || model.successor_transaction;
                p.step = if goes_on { Step::AddPartitions } else { Step::Done };
                self.successor_initialized |= producer == 1;
                return;
            }
            ReplyBody::AddPartitionsToTxn(result) | ReplyBody::AddOffsetsToTxn(result) => result,
            ReplyBody::EndTxn(result) => result.map(|_| ()),
            ReplyBody::InitProducerId(Err(e)) => Err(e),
        };
        p.step = match result {
            Ok(()) => match p.step {
                Step::AddPartitions => Step::Produce,
                Step::AddOffsets => Step::CommitOffsets,
                Step::EndTxn => Step::Done,
                step => unreachable!("producer {producer}: an answer at {step:?}"),
            },
            Err(TxnError::ProducerFenced) => Step::Fenced,
            Err(
                TxnError::ConcurrentTransactions
                | TxnError::NotCoordinator
                | TxnError::CoordinatorLoadInProgress
                | TxnError::CoordinatorNotAvailable,
            ) => p.step, // retried
            Err(_) => Step::Failed,
        };
    }
    // ANCHOR_END: producer

    /// The producer sends the request of its step.
    fn send(&mut self, model: &TransactionsModel, producer: ProducerIdx) {
        let token = u64::from(producer);
        let transactional_id = TRANSACTIONAL_ID.to_string();
        let step = self.producers[usize::from(producer)].step;
        self.producer(producer).started = true;
        let produce = |state: &mut Self, partition, next| {
            let ids = state.ids(producer);
            let p = state.producer(producer);
            p.unanswered.insert(partition);
            p.step = next;
            let (producer_id, producer_epoch) = (ids.producer_id, ids.producer_epoch);
            state.network.insert(Produce { producer, partition, producer_id, producer_epoch });
        };
        let out = match step {
            Step::Produce => return produce(self, OUTPUT, Step::AddOffsets),
            Step::CommitOffsets => return produce(self, OFFSETS, Step::EndTxn),
            Step::Init => {
                let request = InitProducerIdRequest {
                    transactional_id,
                    transaction_timeout_ms: TRANSACTION_TIMEOUT_MS,
                    current: None,
                };
                self.producer(producer).waiting = true;
                self.coordinator.init_producer_id(token, &request, self.now_ms)
            }
            Step::AddPartitions => {
                let ProducerIdAndEpoch { producer_id, producer_epoch } = self.ids(producer);
                let partitions = BTreeSet::from([topic_partition(OUTPUT)]);
                let request =
                    AddPartitionsToTxnRequest { transactional_id, producer_id, producer_epoch, partitions };
                self.producer(producer).waiting = true;
                self.coordinator.add_partitions(token, &request, self.now_ms)
            }
            Step::AddOffsets => {
                let ProducerIdAndEpoch { producer_id, producer_epoch } = self.ids(producer);
                let group_id = GROUP.to_string();
                let request =
                    AddOffsetsToTxnRequest { transactional_id, producer_id, producer_epoch, group_id };
                self.producer(producer).waiting = true;
                self.coordinator.add_offsets(token, &request, self.now_ms)
            }
            Step::EndTxn => {
                let ProducerIdAndEpoch { producer_id, producer_epoch } = self.ids(producer);
                let commit = !self.producers[usize::from(producer)].abortable;
                let request = EndTxnRequest {
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    commit,
                    client_transaction_version: 0,
                };
                self.producer(producer).waiting = true;
                self.coordinator.end_txn(token, &request, self.now_ms)
            }
            Step::Done | Step::Fenced | Step::Failed | Step::Stopped => {
                unreachable!("producer {producer} has nothing to send")
            }
        };
        self.apply(model, out);
    }

    // ANCHOR: leader
    /// A partition leader handles a produce: KIP-890's verification with the
    /// coordinator, then the producer table's checks and the append.
    fn deliver(&mut self, model: &TransactionsModel, request: Produce) {
        self.network.remove(&request);
        let Produce { producer, partition, producer_id, producer_epoch } = request;
        let tp = topic_partition(partition);
        let verified = if model.verifies() {
            let request = AddPartitionsToTxnRequest {
                transactional_id: TRANSACTIONAL_ID.to_string(),
                producer_id,
                producer_epoch,
                partitions: BTreeSet::from([tp.clone()]),
            };
            self.coordinator.verify_partitions(&request).and_then(|answers| answers[&tp])
        } else {
            Ok(()) // KAFKA-14402: appended whatever the coordinator knows
        };
        let answer = match verified {
            Ok(()) => {
                self.partitions[usize::from(partition)].append_data(producer, producer_id, producer_epoch)
            }
            Err(TxnError::ProducerFenced) => Answer::Fenced,
            Err(_) => Answer::Refused,
        };
        if answer == Answer::Written && producer == 0 && self.successor_initialized {
            self.zombie_appended = true;
        }
        let p = self.producer(producer);
        if !p.unanswered.remove(&partition) {
            // Given up on: nobody hears the answer.
            self.late_produce_refused |= answer != Answer::Written;
            return;
        }
        match answer {
            Answer::Written => {}
            Answer::Fenced if !p.step.is_final() => p.step = Step::Fenced,
            Answer::Fenced => {}
            Answer::Refused => p.abortable = true,
        }
    }
    // ANCHOR_END: leader

    /// The coordinator's marker request reaches one partition.
    fn write_marker(&mut self, model: &TransactionsModel, work: usize, partition: PartitionIdx) {
        let w = &mut self.markers[work];
        let (producer_id, producer_epoch, commit) = (w.producer_id, w.producer_epoch, w.commit);
        w.remaining.remove(&partition);
        let written = self.partitions[usize::from(partition)].write_marker(
            producer_id,
            producer_epoch,
            commit,
            w.coordinator_epoch,
        );
        // A refused marker (a newer epoch or coordinator wrote here) ends the
        // request unfinished, as Kafka's coordinator stops sending it.
        if written && !self.markers[work].remaining.is_empty() {
            return;
        }
        let w = self.markers.remove(work);
        if written {
            let request = WriteTxnMarkers {
                transactional_id: TRANSACTIONAL_ID.to_string(),
                producer_id,
                producer_epoch,
                commit,
                coordinator_epoch: w.coordinator_epoch,
                partitions: w.partitions,
            };
            let out = self.coordinator.markers_written(&request, self.now_ms);
            self.apply(model, out);
        }
    }

    // ANCHOR: crash
    /// The coordinator crashes: what is not durable is lost, and the next
    /// coordinator epoch loads the state log and finishes what it decided.
    fn crash(&mut self, model: &TransactionsModel) {
        self.crashes += 1;
        let out = self.coordinator.unload();
        self.apply(model, out);
        self.appending.clear();
        self.markers.clear();
        self.coordinator_epoch += 1;
        self.coordinator.start_loading(self.coordinator_epoch);
        for record in &self.state_log {
            self.coordinator.load_record(record).expect("the coordinator's own records load");
        }
        let out = self.coordinator.finish_loading();
        self.decision_reloaded |= !out.markers.is_empty();
        self.apply(model, out);
    }
    // ANCHOR_END: crash

    /// Nothing is moving: no request in the network, no record or marker in
    /// flight, every producer finished, fenced, dead or not started, and no
    /// transaction Ongoing at the coordinator (its timeout would still end it).
    pub fn quiescent(&self) -> bool {
        let idle = |p: &Producer| !p.waiting && (p.step.is_final() || !p.started);
        self.network.is_empty()
            && self.appending.is_empty()
            && self.markers.is_empty()
            && self.producers.iter().all(idle)
            && !self.coordinator_ongoing()
    }

    /// Whether the coordinator holds an Ongoing transaction, with no change pending.
    fn coordinator_ongoing(&self) -> bool {
        self.coordinator
            .transactions()
            .values()
            .any(|m| m.state == TransactionState::Ongoing && m.pending.is_none())
    }

    /// Whether the coordinator holds an open transaction.
    pub fn coordinator_open(&self) -> bool {
        self.coordinator.transactions().values().any(|m| m.state.is_open())
    }

    /// How a `read_committed` consumer sees producer `producer`'s records, in both partitions.
    fn seen_of(&self, producer: ProducerIdx) -> impl Iterator<Item = Seen> + '_ {
        self.partitions.iter().flat_map(move |p| p.seen_of(producer))
    }
}

impl Model for TransactionsModel {
    type State = TransactionsState;
    type Action = Action;

    fn init_states(&self) -> Vec<TransactionsState> {
        let mut coordinator = TransactionCoordinator::new(Bug::config(self.bug), 0);
        coordinator.add_producer_ids(FIRST_PRODUCER_ID, 10);
        coordinator.start_loading(0);
        let out = coordinator.finish_loading();
        assert_eq!(out, Output::default(), "nothing to finish in an empty state log");
        let producer = Producer {
            started: false,
            step: Step::Init,
            waiting: false,
            ids: None,
            unanswered: BTreeSet::new(),
            abortable: false,
        };
        let partition = Partition::new(ProducerStateManager::new(ProducerStateConfig::default()));
        vec![TransactionsState {
            coordinator,
            coordinator_epoch: 0,
            appending: BTreeMap::new(),
            state_log: Vec::new(),
            markers: Vec::new(),
            partitions: [partition.clone(), partition],
            producers: [producer.clone(), producer],
            network: BTreeSet::new(),
            crashes: 0,
            give_ups: 0,
            producer_crashes: 0,
            now_ms: 0,
            timeouts: 0,
            successor_initialized: false,
            zombie_appended: false,
            late_produce_refused: false,
            decision_reloaded: false,
        }]
    }

    fn actions(&self, state: &TransactionsState, actions: &mut Vec<Action>) {
        for (i, p) in state.producers.iter().enumerate() {
            let producer = i as ProducerIdx;
            let can_send = match p.step {
                _ if p.waiting => false,
                _ if p.step.is_final() => false,
                // The successor starts once the first producer holds an epoch.
                Step::Init => producer == 0 || state.producers[0].ids.is_some(),
                Step::EndTxn => p.unanswered.is_empty(),
                _ => true,
            };
            if can_send {
                actions.push(Action::Send(producer));
            }
            if state.give_ups < self.give_ups_max {
                actions.extend(p.unanswered.iter().map(|&partition| Action::GiveUp(producer, partition)));
            }
            if producer == 0
                && state.producer_crashes < self.producer_crashes_max
                && p.started
                && !p.step.is_final()
            {
                actions.push(Action::Stop(producer));
            }
        }
        actions.extend(state.network.iter().map(|&request| Action::Deliver(request)));
        actions.extend(state.appending.keys().map(|&id| Action::Durable(id)));
        for (work, w) in state.markers.iter().enumerate() {
            actions.extend(w.remaining.iter().map(|&partition| Action::WriteMarker { work, partition }));
        }
        if state.crashes < self.crashes_max {
            actions.push(Action::Crash);
        }
        if state.timeouts < self.timeouts_max && state.coordinator_ongoing() {
            actions.push(Action::TransactionTimeout);
        }
    }

    fn next_state(&self, state: &TransactionsState, action: Action) -> Option<TransactionsState> {
        let mut next = state.clone();
        match action {
            Action::Send(producer) => next.send(self, producer),
            Action::GiveUp(producer, partition) => {
                let p = next.producer(producer);
                p.unanswered.remove(&partition);
                p.abortable = true;
                next.give_ups += 1;
            }
            Action::Deliver(request) => next.deliver(self, request),
            Action::Durable(id) => {
                let record = next.appending.remove(&id).expect("an append in flight");
                next.state_log.push(record);
                let out = next.coordinator.append_completed(id, Ok(()), 0);
                next.apply(self, out);
            }
            Action::WriteMarker { work, partition } => next.write_marker(self, work, partition),
            Action::Crash => next.crash(self),
            Action::Stop(producer) => {
                let p = next.producer(producer);
                p.step = Step::Stopped;
                p.unanswered.clear(); // nobody waits; the requests may still arrive
                next.producer_crashes += 1;
            }
            Action::TransactionTimeout => {
                next.timeouts += 1;
                next.now_ms += i64::from(TRANSACTION_TIMEOUT_MS) + 1;
                let out = next.coordinator.tick(next.now_ms);
                assert!(!out.appends.is_empty(), "the timeout aborts the Ongoing transaction");
                next.apply(self, out);
            }
        }
        next.coordinator.check_invariants();
        Some(next)
    }

    // ANCHOR: properties
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(ALL_OR_NOTHING, |_, s: &TransactionsState| {
                (0..2).all(|producer| {
                    let seen: Vec<Seen> = s.seen_of(producer).collect();
                    !(seen.contains(&Seen::Visible) && seen.contains(&Seen::Aborted))
                })
            }),
            Property::always(FENCED_NEVER_APPENDS, |_, s: &TransactionsState| !s.zombie_appended),
            Property::always(LSO_BELOW_OPEN, |_, s: &TransactionsState| {
                s.partitions
                    .iter()
                    .all(|p| p.open_transactions().iter().all(|&first| p.last_stable_offset() <= first))
            }),
            Property::always(EVERY_TRANSACTION_ENDS, |_, s: &TransactionsState| {
                !s.quiescent()
                    || (!s.coordinator_open()
                        && s.partitions.iter().all(|p| p.open_transactions().is_empty()))
            }),
            Property::sometimes(READ_WHOLE, |_, s: &TransactionsState| {
                s.partitions.iter().all(|p| p.seen_of(0).next().is_some())
                    && s.seen_of(0).all(|seen| seen == Seen::Visible)
            }),
            Property::sometimes(ABORTED, |_, s: &TransactionsState| {
                s.seen_of(0).any(|seen| seen == Seen::Aborted)
            }),
            Property::sometimes(FENCED, |_, s: &TransactionsState| s.producers[0].step == Step::Fenced),
            Property::sometimes(LATE_PRODUCE_REFUSED, |_, s: &TransactionsState| s.late_produce_refused),
            Property::sometimes(DECISION_RELOADED, |_, s: &TransactionsState| s.decision_reloaded),
            Property::sometimes(TIMED_OUT, |_, s: &TransactionsState| {
                s.timeouts > 0
                    && s.producers.iter().any(|p| p.step == Step::Stopped)
                    && s.coordinator
                        .transactions()
                        .values()
                        .any(|m| m.state == TransactionState::CompleteAbort)
            }),
        ]
    }
    // ANCHOR_END: properties
}

// ANCHOR: property_names
/// A `read_committed` consumer never returns one record of a transaction
/// while it skips another as aborted.
pub const ALL_OR_NOTHING: &str = "a transaction's records and offset commit are read all or nothing";
/// No batch of a fenced producer is appended.
pub const FENCED_NEVER_APPENDS: &str = "a fenced producer's batch never lands";
/// The LSO never passes the first offset of an open transaction.
pub const LSO_BELOW_OPEN: &str = "the LSO never passes an open transaction";
/// When nothing moves, no transaction is open (none hangs).
pub const EVERY_TRANSACTION_ENDS: &str = "every transaction ends: none is open when all is quiet";
// ANCHOR_END: property_names

pub const READ_WHOLE: &str = "a committed transaction is read whole";
pub const ABORTED: &str = "a transaction is aborted";
pub const FENCED: &str = "the first producer is fenced";
pub const LATE_PRODUCE_REFUSED: &str = "a late produce is refused (KIP-890)";
pub const DECISION_RELOADED: &str = "a reloaded coordinator finishes a durable decision";
pub const TIMED_OUT: &str = "a dead producer's transaction is aborted on its timeout";
