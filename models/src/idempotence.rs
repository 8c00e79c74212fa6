//! Chapter 8's model: an idempotent producer, a lossy network, and the
//! broker's real producer table.
//!
//! The partition leader of this model runs [`ProducerStateManager`] — the very
//! `validate` / `update` the broker runs — in front of a simple partition log,
//! and an idempotent producer sends one-record batches to it through a network
//! that loses, duplicates and reorders requests and responses. The checker
//! explores every interleaving within the bounds and checks that idempotence
//! holds:
//!
//! 1. **Acknowledged means written once, where the ack says.** Every record the
//!    producer saw acknowledged is in the log exactly once, at the offset the
//!    acknowledgement carried (a duplicate is answered with the original offset).
//! 2. **In order, no duplicates.** The log holds the producer's records in the
//!    order it sent them, each at most once — acknowledged or not.
//! 3. **A written batch is never refused.** The producer is never told
//!    `OUT_OF_ORDER_SEQUENCE_NUMBER` for a batch it still awaits that is in the
//!    log: that answer would make it give the batch up although it was written.
//!
//! and, as `sometimes` properties, that every record can end acknowledged, that
//! a retry is recognised as a duplicate, that an epoch bump happens and that
//! a stale epoch is fenced — so the bounds are big enough to show each path —
//! and one known weakness of the rule for unknown producers that spool keeps
//! from Kafka 3.x ([`REORDER_FAILS_A_RECORD`], KAFKA-15591).
//!
//! # The actors
//!
//! ```text
//!  producer                        network (a multiset)           leader
//!  Send        ─ Request(e,s,r) ─▶  lose / duplicate / reorder  ─▶ validate(batch)
//!  Retry  (its request timed out)                                   Append ─▶ log.push, update
//!  Expire (give up, bump epoch)                                     Duplicate ─▶ original offset
//!              ◀─ Response(e,s,·) ─                              ◀─ error code
//! ```
//!
//! - **Producer** (the Java client with `enable.idempotence=true`): one record
//!   per batch, sequence numbers from 0 per epoch, at most
//!   `max.in.flight.requests.per.connection` = 5 batches past its oldest
//!   unacknowledged one ([`IdempotenceModel::window_full`]). A batch
//!   whose request and response have both vanished has timed out and may be
//!   retried, unchanged. On `OUT_OF_ORDER_SEQUENCE_NUMBER` for its oldest
//!   batch, or when it gives up on a timed-out oldest batch (`delivery.timeout.ms`),
//!   it does what KIP-360 does: it fails every unacknowledged batch to the
//!   application (it cannot know which were written), bumps its epoch and starts
//!   again at sequence 0. Out-of-order for a later batch is retried: an earlier
//!   batch may still fill the gap. Responses of an old epoch are ignored.
//! - **Network**: delivers any message in any order; loses at most
//!   [`IdempotenceModel::losses_max`] messages and duplicates at most
//!   [`IdempotenceModel::duplicates_max`].
//! - **Leader**: [`ProducerStateManager::validate`], then for an append the
//!   record goes to the end of the log and [`ProducerStateManager::update`]
//!   records it.
//!
//! # The bugs it catches
//!
//! - [`Bug::RetainFour`]: the leader remembers 4 batches while the producer
//!   keeps 5 in flight. Five batches are written, and a second copy of the
//!   first (a retry after a lost response, or a network duplicate) is refused
//!   as out of order although it is in the log (12 steps).
//! - [`Bug::KeepBatchesOnEpochBump`]: the leader does not forget the old epoch's
//!   batches when a new epoch starts. A retry of the new epoch's sequence 0
//!   matches the *old* epoch's sequence 0 and is acknowledged with that batch's
//!   offset — the producer believes its record is where another one is (9 steps).
//! - [`Bug::CountInFlight`], on the producer's side: it keeps at most five
//!   batches *unacknowledged* rather than at most five sequences past its
//!   oldest unacknowledged batch. When a later batch is acknowledged first, a
//!   sixth batch pushes the oldest out of the leader's five, and the oldest's
//!   retry is refused although it was written (15 steps; this variant's check
//!   runs with six records and no loss).
//!
//! # Bounds and simplifications
//!
//! Records stop at [`IdempotenceModel::RECORDS_MAX`] (5: enough to have five in
//! flight), one loss, one duplication and one epoch bump; `--big` allows six
//! records and two losses (5,136,046 states, about half a minute). CI checks
//! 297,219 states in about two seconds. One producer, one partition, one record per batch;
//! the producer id is fixed (`InitProducerId` is outside this model), and so is
//! the leader (no failover, no restart: the snapshot path is tested in
//! `src/idempotence/snapshot/tests.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use spool::idempotence::{
    BatchInfo, ProducerError, ProducerStateConfig, ProducerStateManager, Validated, NUM_BATCHES_TO_RETAIN,
};
use stateright::{Model, Property};

use crate::Bound;

mod display;

/// A record's id: the producer sends them in this order.
pub type RecordId = u8;

/// The producer id the model's producer was given by `InitProducerId`.
pub const PRODUCER_ID: i64 = 1;

// ANCHOR: state
/// A message on the network. Ordered, so the network is a sorted multiset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Message {
    /// A produce request: one batch of one record.
    Request { epoch: i16, seq: i32, record: RecordId },
    /// The leader's answer to the request with this epoch and sequence.
    Response { epoch: i16, seq: i32, answer: Answer },
}

/// What the leader answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Answer {
    /// Written at this offset.
    Appended(i64),
    /// Already written, at this offset: nothing written now.
    Duplicate(i64),
    /// A Kafka error code: 45 out of order, 47 invalid epoch.
    Error(i16),
}

/// One record in the partition log, with the header fields it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Written {
    pub record: RecordId,
    pub epoch: i16,
    pub seq: i32,
}

/// A batch the producer sent and has not heard back about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InFlight {
    pub record: RecordId,
    pub seq: i32,
}

/// The idempotent producer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Producer {
    pub epoch: i16,
    pub next_seq: i32,
    /// The next record to send.
    pub next_record: RecordId,
    /// Unacknowledged batches of the current epoch, oldest first.
    pub in_flight: Vec<InFlight>,
    /// Records acknowledged, with the offset the acknowledgement carried.
    pub acked: BTreeMap<RecordId, i64>,
    /// Records failed to the application on an epoch bump.
    pub failed: Vec<RecordId>,
}

/// The whole system.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotenceState {
    /// The leader's producer table: the real one.
    pub table: ProducerStateManager,
    /// The partition log; a record's offset is its index.
    pub log: Vec<Written>,
    pub producer: Producer,
    /// Messages in flight, sorted (a multiset: duplicates appear twice).
    pub network: Vec<Message>,
    pub losses: u8,
    pub duplications: u8,
    /// History, for the properties: the leader refused as out of order a
    /// batch that was in the log and that the producer still awaited.
    pub refused_written: bool,
    pub duplicate_seen: bool,
    pub fenced_seen: bool,
}
// ANCHOR_END: state

/// What can happen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The producer sends its next record as a new batch.
    Send(RecordId),
    /// The producer resends a batch whose request and response were lost.
    Retry {
        seq: i32,
        record: RecordId,
    },
    /// The producer gives up on its timed-out oldest batch and bumps its epoch.
    Expire,
    /// The network delivers a message (to the leader or to the producer).
    Deliver(Message),
    Lose(Message),
    Duplicate(Message),
}

// ANCHOR: bugs
/// Mistakes the checker must catch. `None` in [`IdempotenceModel::bug`] is the real code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// The leader remembers 4 batches per producer while 5 may be in flight.
    RetainFour,
    /// An epoch bump keeps the old epoch's batches for duplicate detection.
    KeepBatchesOnEpochBump,
    /// The producer bounds how many batches are unacknowledged instead of how
    /// far its next sequence is past the oldest unacknowledged one.
    CountInFlight,
}

impl Bug {
    pub const ALL: [Bug; 3] = [Bug::RetainFour, Bug::KeepBatchesOnEpochBump, Bug::CountInFlight];

    pub fn name(self) -> &'static str {
        match self {
            Bug::RetainFour => "retain-four",
            Bug::KeepBatchesOnEpochBump => "keep-batches-on-epoch-bump",
            Bug::CountInFlight => "count-in-flight",
        }
    }

    /// The producer table's configuration with this bug planted.
    pub fn config(bug: Option<Bug>) -> ProducerStateConfig {
        let real = ProducerStateConfig::default();
        match bug {
            None => real,
            Some(Bug::RetainFour) => ProducerStateConfig { batches_to_retain: 4, ..real },
            Some(Bug::KeepBatchesOnEpochBump) => ProducerStateConfig { reset_on_epoch_bump: false, ..real },
            Some(Bug::CountInFlight) => real,
        }
    }
}
// ANCHOR_END: bugs

/// The model and its bounds.
#[derive(Debug, Clone)]
pub struct IdempotenceModel {
    pub bug: Option<Bug>,
    pub records_max: RecordId,
    /// `max.in.flight.requests.per.connection`.
    pub in_flight_max: usize,
    pub losses_max: u8,
    pub duplicates_max: u8,
    /// Epoch bumps the producer may make.
    pub bumps_max: i16,
}

impl IdempotenceModel {
    /// The bound CI checks: five records, so five can be in flight.
    pub const RECORDS_MAX: RecordId = 5;

    /// The model with the CI bounds, or `--big`'s. [`Bug::CountInFlight`]
    /// needs a sixth record to show; its CI check trades the loss for it.
    pub fn new(bug: Option<Bug>, big: bool) -> Self {
        let sixth = big || bug == Some(Bug::CountInFlight);
        IdempotenceModel {
            bug,
            records_max: if sixth { 6 } else { Self::RECORDS_MAX },
            in_flight_max: NUM_BATCHES_TO_RETAIN,
            losses_max: if big {
                2
            } else if sixth {
                0
            } else {
                1
            },
            duplicates_max: 1,
            bumps_max: 1,
        }
    }

    /// The safety nets for [`crate::check`], well above the pinned counts.
    pub fn bound(&self) -> Bound {
        let big = self.losses_max > 1;
        Bound {
            states_max: if big { 100_000_000 } else { 5_000_000 },
            timeout: Duration::from_secs(if big { 3_600 } else { 300 }),
        }
    }
}

impl IdempotenceModel {
    // ANCHOR: window
    /// Whether the producer must wait before sending a new batch: its next
    /// sequence would be `in_flight_max` or more past its oldest
    /// unacknowledged batch. Counting unacknowledged batches is not enough
    /// once responses can be reordered: with the oldest still unacknowledged
    /// and a later one acknowledged, a sixth batch would push the oldest out
    /// of the leader's five while the producer may still retry it. The Java
    /// client gets the same bound from ordering: one connection delivers in
    /// order, and a retried batch is drained before any newer one
    /// (`RecordAccumulator.shouldStopDrainBatchesForPartition`).
    pub fn window_full(&self, producer: &Producer) -> bool {
        if self.bug == Some(Bug::CountInFlight) {
            return producer.in_flight.len() >= self.in_flight_max;
        }
        producer.in_flight.first().is_some_and(|oldest| {
            i64::from(producer.next_seq) - i64::from(oldest.seq) >= self.in_flight_max as i64
        })
    }
    // ANCHOR_END: window
}

impl IdempotenceState {
    /// Whether the network still holds a request or response for this batch.
    fn in_network(&self, epoch: i16, seq: i32) -> bool {
        self.network.iter().any(|m| match *m {
            Message::Request { epoch: e, seq: s, .. } | Message::Response { epoch: e, seq: s, .. } => {
                (e, s) == (epoch, seq)
            }
        })
    }

    fn send(&mut self, message: Message) {
        let at = self.network.partition_point(|m| *m < message);
        self.network.insert(at, message);
    }

    fn take(&mut self, message: &Message) {
        let at = self.network.iter().position(|m| m == message).expect("the message is in the network");
        self.network.remove(at);
    }

    /// KIP-360: fail every unacknowledged batch, bump the epoch, restart at 0.
    fn bump_epoch(&mut self) {
        let producer = &mut self.producer;
        producer.failed.extend(producer.in_flight.drain(..).map(|b| b.record));
        producer.epoch += 1;
        producer.next_seq = 0;
    }

    // ANCHOR: leader
    /// The leader handles a produce request: the real `validate`, then an
    /// append and the real `update`, or an answer without writing.
    fn on_request(&mut self, epoch: i16, seq: i32, record: RecordId) {
        let batch = BatchInfo {
            producer_id: PRODUCER_ID,
            producer_epoch: epoch,
            base_sequence: seq,
            last_offset_delta: 0,
            max_timestamp: 0,
            is_transactional: false,
        };
        let answer = match self.table.validate(&batch) {
            Ok(Validated::Append) => {
                let offset = self.log.len() as i64;
                self.log.push(Written { record, epoch, seq });
                self.table.update(&batch, offset);
                Answer::Appended(offset)
            }
            Ok(Validated::Duplicate(original)) => Answer::Duplicate(original.first_offset()),
            Ok(Validated::NoProducerId) => unreachable!("the model's batches have a producer id"),
            Err(e @ ProducerError::OutOfOrderSequence { .. }) => {
                // A refusal of a batch that is in the log and that the producer
                // still awaits: it will give up on a record that was written.
                let written = self.log.iter().any(|w| (w.epoch, w.seq, w.record) == (epoch, seq, record));
                let awaited = self.producer.epoch == epoch
                    && self.producer.in_flight.iter().any(|b| (b.seq, b.record) == (seq, record));
                self.refused_written |= written && awaited;
                Answer::Error(e.kafka_error_code())
            }
            Err(e @ ProducerError::InvalidProducerEpoch { .. }) => Answer::Error(e.kafka_error_code()),
            Err(e @ ProducerError::InvalidSequence { .. }) => unreachable!("sequences are not negative: {e}"),
            Err(
                e @ (ProducerError::InvalidTxnState { .. }
                | ProducerError::TxnNotVerified { .. }
                | ProducerError::CoordinatorFenced { .. }),
            ) => {
                unreachable!("the model's producer is not transactional: {e}")
            }
        };
        self.send(Message::Response { epoch, seq, answer });
    }
    // ANCHOR_END: leader

    // ANCHOR: producer
    /// The producer handles a response.
    fn on_response(&mut self, model: &IdempotenceModel, epoch: i16, seq: i32, answer: Answer) {
        if epoch != self.producer.epoch {
            if answer == Answer::Error(47) {
                self.fenced_seen = true;
            }
            return; // a response of an epoch given up on
        }
        let Some(at) = self.producer.in_flight.iter().position(|b| b.seq == seq) else {
            return; // already acknowledged (a duplicated request's second answer)
        };
        match answer {
            Answer::Appended(offset) | Answer::Duplicate(offset) => {
                self.duplicate_seen |= matches!(answer, Answer::Duplicate(_));
                self.producer.acked.insert(self.producer.in_flight[at].record, offset);
                self.producer.in_flight.remove(at);
            }
            Answer::Error(45) => {
                // Only the oldest batch cannot be saved by an earlier one filling the gap.
                if at == 0 && self.producer.epoch < model.bumps_max {
                    self.bump_epoch();
                }
            }
            Answer::Error(_) => {}
        }
    }
    // ANCHOR_END: producer
}

impl Model for IdempotenceModel {
    type State = IdempotenceState;
    type Action = Action;

    fn init_states(&self) -> Vec<IdempotenceState> {
        vec![IdempotenceState {
            table: ProducerStateManager::new(Bug::config(self.bug)),
            log: Vec::new(),
            producer: Producer {
                epoch: 0,
                next_seq: 0,
                next_record: 0,
                in_flight: Vec::new(),
                acked: BTreeMap::new(),
                failed: Vec::new(),
            },
            network: Vec::new(),
            losses: 0,
            duplications: 0,
            refused_written: false,
            duplicate_seen: false,
            fenced_seen: false,
        }]
    }

    fn actions(&self, state: &IdempotenceState, actions: &mut Vec<Action>) {
        let producer = &state.producer;
        if producer.next_record < self.records_max && !self.window_full(producer) {
            actions.push(Action::Send(producer.next_record));
        }
        for batch in &producer.in_flight {
            if !state.in_network(producer.epoch, batch.seq) {
                actions.push(Action::Retry { seq: batch.seq, record: batch.record });
            }
        }
        if let Some(oldest) = producer.in_flight.first() {
            if producer.epoch < self.bumps_max && !state.in_network(producer.epoch, oldest.seq) {
                actions.push(Action::Expire);
            }
        }
        let mut previous = None;
        for &message in &state.network {
            if previous == Some(message) {
                continue; // two copies of one message: the same choices
            }
            previous = Some(message);
            actions.push(Action::Deliver(message));
            if state.losses < self.losses_max {
                actions.push(Action::Lose(message));
            }
            if state.duplications < self.duplicates_max {
                actions.push(Action::Duplicate(message));
            }
        }
    }

    fn next_state(&self, state: &IdempotenceState, action: Action) -> Option<IdempotenceState> {
        let mut next = state.clone();
        match action {
            Action::Send(record) => {
                let producer = &mut next.producer;
                let (epoch, seq) = (producer.epoch, producer.next_seq);
                producer.in_flight.push(InFlight { record, seq });
                producer.next_seq += 1;
                producer.next_record += 1;
                next.send(Message::Request { epoch, seq, record });
            }
            Action::Retry { seq, record } => {
                next.send(Message::Request { epoch: next.producer.epoch, seq, record });
            }
            Action::Expire => next.bump_epoch(),
            Action::Deliver(message) => {
                next.take(&message);
                match message {
                    Message::Request { epoch, seq, record } => next.on_request(epoch, seq, record),
                    Message::Response { epoch, seq, answer } => next.on_response(self, epoch, seq, answer),
                }
            }
            Action::Lose(message) => {
                next.take(&message);
                next.losses += 1;
            }
            Action::Duplicate(message) => {
                next.send(message);
                next.duplications += 1;
            }
        }
        Some(next)
    }

    // ANCHOR: properties
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(ACKED_ONCE_WHERE_SAID, |_, s: &IdempotenceState| {
                s.producer.acked.iter().all(|(&record, &offset)| {
                    s.log.iter().filter(|w| w.record == record).count() == 1
                        && usize::try_from(offset).ok().and_then(|o| s.log.get(o)).map(|w| w.record)
                            == Some(record)
                })
            }),
            Property::always(IN_SEND_ORDER, |_, s: &IdempotenceState| {
                s.log.windows(2).all(|pair| pair[0].record < pair[1].record)
            }),
            Property::always(WRITTEN_NEVER_REFUSED, |_, s: &IdempotenceState| !s.refused_written),
            Property::sometimes(ALL_ACKED, |m: &IdempotenceModel, s: &IdempotenceState| {
                s.producer.acked.len() == usize::from(m.records_max)
            }),
            Property::sometimes(DUPLICATE_DETECTED, |_, s: &IdempotenceState| s.duplicate_seen),
            Property::sometimes(EPOCH_BUMPED, |_, s: &IdempotenceState| {
                s.producer.epoch > 0 && s.table.producer_epoch(PRODUCER_ID) == Some(s.producer.epoch)
            }),
            Property::sometimes(STALE_EPOCH_FENCED, |_, s: &IdempotenceState| s.fenced_seen),
            Property::sometimes(REORDER_FAILS_A_RECORD, |_, s: &IdempotenceState| {
                s.losses == 0 && !s.producer.failed.is_empty()
            }),
        ]
    }
    // ANCHOR_END: properties
}

// ANCHOR: property_names
/// Every acknowledged record is in the log exactly once, at the acknowledged offset.
pub const ACKED_ONCE_WHERE_SAID: &str = "every acknowledged record is in the log once, where the ack says";
/// The log holds the producer's records in send order, each at most once.
pub const IN_SEND_ORDER: &str = "the log holds the records in send order, each at most once";
/// The producer is never told out-of-order for an awaited batch that was written.
pub const WRITTEN_NEVER_REFUSED: &str = "a written batch is never refused as out of order";
// ANCHOR_END: property_names

pub const ALL_ACKED: &str = "every record is acknowledged";
pub const DUPLICATE_DETECTED: &str = "a retry is answered as a duplicate";
pub const EPOCH_BUMPED: &str = "the leader accepts a bumped epoch";
pub const STALE_EPOCH_FENCED: &str = "a request of an old epoch is fenced";
/// KAFKA-15591, reached on purpose: with nothing lost, the first two batches
/// to a partition that does not know the producer arrive swapped; the second
/// is accepted (any sequence from an unknown producer), the first is then out
/// of order, and the producer fails it. Safe, but a record is given up for a
/// mere reordering; Kafka 4.5 refuses the second batch instead.
pub const REORDER_FAILS_A_RECORD: &str = "a reordering alone fails a record (KAFKA-15591)";
