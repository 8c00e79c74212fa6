//! The per-partition producer table: for each producer id, its epoch and its
//! last five batches, and the check every idempotent batch passes before it is
//! appended. Kafka's `ProducerStateManager`, `ProducerStateEntry` and
//! `ProducerAppendInfo` (`storage/.../internals/log/`), for data batches from
//! clients; open transactions and the markers that end them are [`txn`]
//! (chapter 9).
//!
//! The broker's produce path uses it in two steps around the append:
//!
//! ```text
//!  batch ──▶ validate(&info) ──┬─ Ok(Append)        ──▶ log.append ──▶ update(&info, base_offset)
//!                              ├─ Ok(Duplicate(m))  ──▶ answer with m's offsets, write nothing
//!                              ├─ Ok(NoProducerId)  ──▶ log.append (not idempotent: no check)
//!                              └─ Err(e)            ──▶ answer e.kafka_error_code(), write nothing
//! ```

use std::collections::{BTreeMap, VecDeque};

use crate::format::batch::{RecordBatch, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE};

// ANCHOR: retain
/// How many batches per producer the broker remembers for duplicate
/// detection: Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`. It is the
/// producer's ceiling on `max.in.flight.requests.per.connection` with
/// idempotence on: any batch a producer may still retry is among its last five.
pub const NUM_BATCHES_TO_RETAIN: usize = 5;
// ANCHOR_END: retain

/// `producer.id.expiration.ms`'s default (KIP-854, Kafka 3.4): a producer
/// idle this long is forgotten.
pub const PRODUCER_ID_EXPIRATION_MS_DEFAULT: i64 = 86_400_000;

/// Sequence numbers live in `[0, i32::MAX]` and wrap from `i32::MAX` to 0.
const SEQUENCE_MODULUS: i64 = i32::MAX as i64 + 1;

/// `sequence + increment`, wrapping at `i32::MAX` like Kafka's
/// `DefaultRecordBatch.incrementSequence`. Total: any input gives a sequence.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    (i64::from(sequence) + i64::from(increment)).rem_euclid(SEQUENCE_MODULUS) as i32
}

/// `sequence - decrement`, wrapping below 0 to `i32::MAX` (Kafka's
/// `DefaultRecordBatch.decrementSequence`).
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    (i64::from(sequence) - i64::from(decrement)).rem_euclid(SEQUENCE_MODULUS) as i32
}

/// Whether `next` is the sequence right after `last` (Kafka's
/// `ProducerAppendInfo.inSequence`): `last + 1`, or 0 after `i32::MAX`.
pub fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// The producer fields of one incoming batch header: all the check needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchInfo {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    /// Records in the batch minus one; also the sequence span of the batch.
    pub last_offset_delta: i32,
    /// The batch's `maxTimestamp`, remembered as the producer's last activity.
    pub max_timestamp: i64,
    /// The batch's transactional attribute bit (chapter 9): it starts or
    /// continues its producer's transaction on this partition.
    pub is_transactional: bool,
}

impl BatchInfo {
    /// Reads the header fields of a v2 batch.
    pub fn of(batch: &RecordBatch) -> BatchInfo {
        BatchInfo {
            producer_id: batch.producer_id(),
            producer_epoch: batch.producer_epoch(),
            base_sequence: batch.base_sequence(),
            last_offset_delta: batch.last_offset_delta(),
            max_timestamp: batch.max_timestamp(),
            is_transactional: batch.is_transactional(),
        }
    }

    /// Sequence of the batch's last record, wrapping (Kafka's `lastSequence`).
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }

    /// Whether the batch comes from an idempotent (or transactional) producer:
    /// a producer id above -1, as Kafka's `AbstractRecordBatch.hasProducerId`
    /// (so any negative id is "none").
    pub fn has_producer_id(&self) -> bool {
        self.producer_id > NO_PRODUCER_ID
    }
}

// ANCHOR: batch_metadata
/// What the broker remembers of one appended batch (Kafka's `BatchMetadata`).
/// `offset_delta` is `last_offset - first_offset`, which for a producer's batch
/// is also `last_seq - first_seq`: one sequence per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchMetadata {
    pub last_seq: i32,
    pub last_offset: i64,
    pub offset_delta: i32,
    pub timestamp: i64,
}
// ANCHOR_END: batch_metadata

impl BatchMetadata {
    pub fn first_seq(&self) -> i32 {
        decrement_sequence(self.last_seq, self.offset_delta)
    }
    /// Wrapping, as Java's arithmetic: a snapshot read back may hold anything.
    pub fn first_offset(&self) -> i64 {
        self.last_offset.wrapping_sub(i64::from(self.offset_delta))
    }
}

/// One producer's state on one partition (Kafka's `ProducerStateEntry`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProducerStateEntry {
    pub producer_id: i64,
    /// The latest epoch appended; `NO_PRODUCER_EPOCH` (-1) before any.
    pub producer_epoch: i16,
    /// The last batches of `producer_epoch`, oldest first, at most
    /// [`ProducerStateConfig::batches_to_retain`].
    batches: VecDeque<BatchMetadata>,
    /// Epoch of the last transaction coordinator that wrote a marker (chapter 9;
    /// -1 here, kept for the snapshot format).
    pub coordinator_epoch: i32,
    /// Timestamp of the producer's last batch: what expiration measures.
    pub last_timestamp: i64,
    /// First offset of the producer's open transaction (chapter 9; `None` here).
    pub current_txn_first_offset: Option<i64>,
}

impl ProducerStateEntry {
    /// A producer the partition has never seen (Kafka's `ProducerStateEntry.empty`).
    pub fn empty(producer_id: i64) -> Self {
        ProducerStateEntry {
            producer_id,
            producer_epoch: NO_PRODUCER_EPOCH,
            batches: VecDeque::new(),
            coordinator_epoch: -1,
            last_timestamp: -1,
            current_txn_first_offset: None,
        }
    }

    /// The retained batches, oldest first.
    pub fn batches(&self) -> impl ExactSizeIterator<Item = &BatchMetadata> {
        self.batches.iter()
    }
    pub fn last_batch(&self) -> Option<&BatchMetadata> {
        self.batches.back()
    }
    /// Sequence of the last record appended, or `NO_SEQUENCE` (-1).
    pub fn last_seq(&self) -> i32 {
        self.last_batch().map_or(NO_SEQUENCE, |b| b.last_seq)
    }
    /// Offset of the last record appended, or -1.
    pub fn last_data_offset(&self) -> i64 {
        self.last_batch().map_or(-1, |b| b.last_offset)
    }

    // ANCHOR: find_duplicate
    /// The retained batch with exactly this epoch and sequence range, if any
    /// (Kafka's `findDuplicateBatch`). Oldest first, as Kafka searches.
    pub fn find_duplicate(&self, batch: &BatchInfo) -> Option<BatchMetadata> {
        if batch.producer_epoch != self.producer_epoch {
            return None;
        }
        let (first, last) = (batch.base_sequence, batch.last_sequence());
        self.batches.iter().find(|m| m.first_seq() == first && m.last_seq == last).copied()
    }
    // ANCHOR_END: find_duplicate

    // ANCHOR: add_batch
    /// Records an appended batch (Kafka's `addBatch`). A new epoch starts a new
    /// sequence space, so the old epoch's batches are forgotten first: a batch
    /// of the new epoch must never be mistaken for a retry of an old one.
    fn add_batch(&mut self, config: &ProducerStateConfig, epoch: i16, batch: BatchMetadata) {
        if epoch != self.producer_epoch {
            if config.reset_on_epoch_bump {
                self.batches.clear();
            }
            self.producer_epoch = epoch;
        }
        if self.batches.len() >= config.batches_to_retain {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
        self.last_timestamp = batch.timestamp;
    }
    // ANCHOR_END: add_batch

    /// Rebuilds an entry from one snapshot record: the last batch only.
    pub(crate) fn from_parts(
        producer_id: i64,
        producer_epoch: i16,
        last_batch: Option<BatchMetadata>,
        coordinator_epoch: i32,
        last_timestamp: i64,
        current_txn_first_offset: Option<i64>,
    ) -> Self {
        ProducerStateEntry {
            producer_id,
            producer_epoch,
            batches: last_batch.into_iter().collect(),
            coordinator_epoch,
            last_timestamp,
            current_txn_first_offset,
        }
    }
}

/// Knobs of the producer table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerStateConfig {
    /// Batches remembered per producer; [`NUM_BATCHES_TO_RETAIN`] in Kafka and
    /// in the broker. Other values exist for the model checker, which shows
    /// what goes wrong with fewer (`check idempotence --bug retain-four`).
    pub batches_to_retain: usize,
    /// `producer.id.expiration.ms`: idle producers are forgotten after this.
    pub producer_id_expiration_ms: i64,
    /// Whether a new epoch forgets the old epoch's batches. Always true in
    /// Kafka and in the broker; false only to plant the bug the model checker
    /// must catch (`check idempotence --bug keep-batches-on-epoch-bump`).
    pub reset_on_epoch_bump: bool,
}

impl Default for ProducerStateConfig {
    fn default() -> Self {
        ProducerStateConfig {
            batches_to_retain: NUM_BATCHES_TO_RETAIN,
            producer_id_expiration_ms: PRODUCER_ID_EXPIRATION_MS_DEFAULT,
            reset_on_epoch_bump: true,
        }
    }
}

/// What [`ProducerStateManager::validate`] decided about a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validated {
    /// Append it, then call [`ProducerStateManager::update`] with its offset.
    Append,
    /// A retry of a batch already in the log: write nothing and acknowledge
    /// with the original offsets. Kafka answers `baseOffset =
    /// first_offset()` and `logAppendTime = timestamp` (`UnifiedLog.append`).
    Duplicate(BatchMetadata),
    /// `producerId` is -1 (or any negative id): not an idempotent producer,
    /// nothing to check.
    NoProducerId,
}

/// Why a batch is refused. Each maps to the error code a produce response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProducerError {
    /// The batch's epoch is older than the producer's latest: a zombie
    /// (`INVALID_PRODUCER_EPOCH`, 47, never `PRODUCER_FENCED` on produce:
    /// KAFKA-10687). Not retriable; the producer must stop or re-init.
    InvalidProducerEpoch { producer_id: i64, epoch: i16, current_epoch: i16 },
    /// The batch does not follow the last one appended: a gap, a retry too old
    /// to be remembered, or a new epoch not starting at 0
    /// (`OUT_OF_ORDER_SEQUENCE_NUMBER`, 45). The Java client retries it while
    /// earlier batches are still in flight, and otherwise bumps its epoch (KIP-360).
    OutOfOrderSequence { producer_id: i64, epoch: i16, first_seq: i32, last_seq: i32 },
    /// A producer id with a negative base sequence (`INVALID_RECORD`, 87, as
    /// Kafka's `LogValidator.validateBatch`).
    InvalidSequence { producer_id: i64, base_sequence: i32 },
    /// A non-transactional batch from a producer with a transaction open on
    /// the partition (`INVALID_TXN_STATE`, 48, Kafka's `appendDataBatch`).
    /// Not retriable: the producer mixed transactional and plain writes.
    InvalidTxnState { producer_id: i64 },
    /// A transactional batch that would open its producer's transaction here
    /// without the coordinator having verified it (KIP-890 part 1,
    /// [`verification`]): `INVALID_TXN_STATE`, 48, as Kafka's
    /// `InvalidTxnStateException("Record was not part of an ongoing transaction")`.
    TxnNotVerified { producer_id: i64 },
    /// A transaction marker from a coordinator older than the last one that
    /// wrote here (`TRANSACTION_COORDINATOR_FENCED`, 52): a zombie coordinator.
    CoordinatorFenced { producer_id: i64, coordinator_epoch: i32, current_coordinator_epoch: i32 },
}

impl ProducerError {
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            ProducerError::InvalidProducerEpoch { .. } => 47,
            ProducerError::OutOfOrderSequence { .. } => 45,
            ProducerError::InvalidSequence { .. } => 87,
            ProducerError::InvalidTxnState { .. } | ProducerError::TxnNotVerified { .. } => 48,
            ProducerError::CoordinatorFenced { .. } => 52,
        }
    }
}

impl std::fmt::Display for ProducerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProducerError::InvalidProducerEpoch { producer_id, epoch, current_epoch } => {
                write!(f, "producer {producer_id}: epoch {epoch} is older than the current {current_epoch}")
            }
            ProducerError::OutOfOrderSequence { producer_id, epoch, first_seq, last_seq } => write!(
                f,
                "producer {producer_id} epoch {epoch}: sequence {first_seq} does not follow the last \
                 appended ({last_seq})"
            ),
            ProducerError::InvalidSequence { producer_id, base_sequence } => {
                write!(f, "producer {producer_id}: invalid base sequence {base_sequence}")
            }
            ProducerError::InvalidTxnState { producer_id } => {
                write!(f, "producer {producer_id}: a non-transactional batch inside an open transaction")
            }
            ProducerError::TxnNotVerified { producer_id } => write!(
                f,
                "producer {producer_id}: the record was not part of an ongoing transaction (not verified \
                 with the transaction coordinator)"
            ),
            ProducerError::CoordinatorFenced {
                producer_id,
                coordinator_epoch,
                current_coordinator_epoch,
            } => write!(
                f,
                "producer {producer_id}: a marker from coordinator epoch {coordinator_epoch}, older than \
                 {current_coordinator_epoch}"
            ),
        }
    }
}

impl std::error::Error for ProducerError {}

/// The producer table of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProducerStateManager {
    config: ProducerStateConfig,
    /// A `BTreeMap` so that snapshots and model states are deterministic.
    producers: BTreeMap<i64, ProducerStateEntry>,
    /// The offset after the last batch applied (Kafka's `lastMapOffset`): where
    /// a snapshot taken now would be named.
    map_end_offset: i64,
    /// Open transactions by first offset, with their producer (Kafka's
    /// `ongoingTxns`, chapter 9, [`txn`]): the first one pins the last stable offset.
    ongoing_txns: BTreeMap<i64, i64>,
    /// Transactions whose marker is in the log but not yet below the high
    /// watermark, by first offset (Kafka's `unreplicatedTxns`): they pin the
    /// last stable offset until the marker is committed.
    unreplicated_txns: BTreeMap<i64, txn::CompletedTxn>,
    /// Producers whose first transactional batch here waits for the
    /// coordinator's word (KIP-890 part 1, [`verification`]); memory only.
    verification_states: BTreeMap<i64, verification::VerificationStateEntry>,
}

impl ProducerStateManager {
    pub fn new(config: ProducerStateConfig) -> Self {
        assert!(config.batches_to_retain >= 1, "a producer must remember at least its last batch");
        ProducerStateManager {
            config,
            producers: BTreeMap::new(),
            map_end_offset: 0,
            ongoing_txns: BTreeMap::new(),
            unreplicated_txns: BTreeMap::new(),
            verification_states: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &ProducerStateConfig {
        &self.config
    }
    pub fn entry(&self, producer_id: i64) -> Option<&ProducerStateEntry> {
        self.producers.get(&producer_id)
    }
    /// Every producer the partition remembers, by id.
    pub fn producers(&self) -> impl ExactSizeIterator<Item = &ProducerStateEntry> {
        self.producers.values()
    }
    pub fn map_end_offset(&self) -> i64 {
        self.map_end_offset
    }

    /// The latest epoch the partition has appended for `producer_id`, if it
    /// remembers the producer at all. What KIP-360's epoch bump needs to ask.
    pub fn producer_epoch(&self, producer_id: i64) -> Option<i16> {
        self.entry(producer_id).map(|e| e.producer_epoch)
    }
    /// Whether this partition knows `producer_id` at exactly `epoch`.
    pub fn is_known(&self, producer_id: i64, epoch: i16) -> bool {
        self.producer_epoch(producer_id) == Some(epoch)
    }

    // ANCHOR: validate
    /// Checks a batch from a client before it is appended, against the state
    /// after the last append (Kafka's `UnifiedLog.analyzeAndValidateProducerState`
    /// with `checkProducerEpoch` and `checkSequence`). Changes nothing.
    pub fn validate(&self, batch: &BatchInfo) -> Result<Validated, ProducerError> {
        let producer_id = batch.producer_id;
        if !batch.has_producer_id() {
            return Ok(Validated::NoProducerId);
        }
        if batch.base_sequence < 0 {
            return Err(ProducerError::InvalidSequence { producer_id, base_sequence: batch.base_sequence });
        }
        let empty;
        let entry = match self.producers.get(&producer_id) {
            Some(entry) => entry,
            None => {
                empty = ProducerStateEntry::empty(producer_id);
                &empty
            }
        };
        if let Some(original) = entry.find_duplicate(batch) {
            return Ok(Validated::Duplicate(original));
        }
        self.check_verification_sequence(batch)?;
        let (epoch, current_epoch) = (batch.producer_epoch, entry.producer_epoch);
        if epoch < current_epoch {
            return Err(ProducerError::InvalidProducerEpoch { producer_id, epoch, current_epoch });
        }
        let out_of_order = ProducerError::OutOfOrderSequence {
            producer_id,
            epoch,
            first_seq: batch.base_sequence,
            last_seq: entry.last_seq(),
        };
        if current_epoch == NO_PRODUCER_EPOCH {
            // Nothing known of this producer: its state may have expired or its
            // batches been deleted, so any sequence is accepted (KIP-360, Kafka 2.5+).
            return Ok(Validated::Append);
        }
        if epoch != current_epoch {
            // An epoch bump: the new epoch's sequences start again at 0.
            if batch.base_sequence != 0 {
                return Err(out_of_order);
            }
        } else if !in_sequence(entry.last_seq(), batch.base_sequence) {
            return Err(out_of_order);
        }
        // Chapter 9: inside an open transaction every data batch of the
        // producer must be transactional (Kafka's `appendDataBatch`).
        if entry.current_txn_first_offset.is_some() && !batch.is_transactional {
            return Err(ProducerError::InvalidTxnState { producer_id });
        }
        Ok(Validated::Append)
    }
    // ANCHOR_END: validate

    /// Checks a batch a coordinator writes for a producer (Kafka's
    /// `AppendOrigin.COORDINATOR`): a group coordinator's TxnOffsetCommit
    /// records, in the producer's transaction (chapter 9). Only the epoch is
    /// checked — a zombie producer's transaction is fenced here too — not the
    /// sequence: the coordinator writes every such batch with sequence 0 (as
    /// Kafka does) and never retries one, so there is no order to keep and no
    /// duplicate to find. Changes nothing.
    pub fn validate_coordinator(&self, batch: &BatchInfo) -> Result<(), ProducerError> {
        let producer_id = batch.producer_id;
        match self.producers.get(&producer_id) {
            Some(entry) if batch.producer_epoch < entry.producer_epoch => {
                Err(ProducerError::InvalidProducerEpoch {
                    producer_id,
                    epoch: batch.producer_epoch,
                    current_epoch: entry.producer_epoch,
                })
            }
            _ => Ok(()),
        }
    }

    // ANCHOR: update
    /// Records a batch that was appended at `base_offset`. Total: it applies
    /// whatever it is given without checking sequences, because recovery replays
    /// the log through it, and what the log holds was checked when it was written.
    /// Call it for every appended batch, idempotent or not, so that
    /// [`map_end_offset`](Self::map_end_offset) follows the log end offset
    /// (a snapshot taken now is named after it).
    pub fn update(&mut self, batch: &BatchInfo, base_offset: i64) {
        let last_offset = base_offset.wrapping_add(i64::from(batch.last_offset_delta));
        self.map_end_offset = self.map_end_offset.max(last_offset.wrapping_add(1));
        if !batch.has_producer_id() {
            return;
        }
        let metadata = BatchMetadata {
            last_seq: batch.last_sequence(),
            last_offset,
            offset_delta: batch.last_offset_delta,
            timestamp: batch.max_timestamp,
        };
        let config = self.config;
        let entry = self
            .producers
            .entry(batch.producer_id)
            .or_insert_with(|| ProducerStateEntry::empty(batch.producer_id));
        entry.add_batch(&config, batch.producer_epoch, metadata);
        // Chapter 9: the producer's first transactional batch here opens its
        // transaction on this partition, at the batch's first offset.
        if batch.is_transactional && entry.current_txn_first_offset.is_none() {
            entry.current_txn_first_offset = Some(base_offset);
            self.ongoing_txns.insert(base_offset, batch.producer_id);
        }
        if batch.is_transactional {
            self.clear_verification(batch.producer_id);
        }
    }
    // ANCHOR_END: update

    /// Forgets producers idle for `producer.id.expiration.ms` (Kafka's
    /// `removeExpiredProducers`); an open transaction keeps its producer.
    /// Verifications pending as long are dropped too.
    pub fn remove_expired_producers(&mut self, now_ms: i64) {
        let expiration_ms = self.config.producer_id_expiration_ms;
        self.producers.retain(|_, e| !is_expired(e, now_ms, expiration_ms));
        self.remove_expired_verifications(now_ms, expiration_ms);
    }

    /// The log start offset moved forward (retention, `DeleteRecords`). Like
    /// Kafka since 2.4 (KAFKA-7190, KIP-360) every producer is *kept*, even one
    /// whose batches are all gone: only expiration forgets a producer, so an
    /// idle producer on a short-retention topic keeps its deduplication.
    pub fn on_log_start_offset_incremented(&mut self, log_start_offset: i64) {
        self.map_end_offset = self.map_end_offset.max(log_start_offset);
    }

    /// Installs the entries read from a snapshot named `snapshot_offset`,
    /// dropping those already expired at `now_ms` (Kafka's `loadFromSnapshot`).
    pub fn load_snapshot(&mut self, snapshot_offset: i64, entries: Vec<ProducerStateEntry>, now_ms: i64) {
        let expiration_ms = self.config.producer_id_expiration_ms;
        self.producers = entries
            .into_iter()
            .filter(|e| !is_expired(e, now_ms, expiration_ms))
            .map(|e| (e.producer_id, e))
            .collect();
        self.map_end_offset = snapshot_offset;
        // A snapshot keeps each open transaction's first offset (Kafka's
        // `loadFromSnapshot`); what completed before it needs no tracking.
        self.ongoing_txns = self
            .producers
            .values()
            .filter_map(|e| e.current_txn_first_offset.map(|first| (first, e.producer_id)))
            .collect();
        self.unreplicated_txns.clear();
    }
}

fn is_expired(entry: &ProducerStateEntry, now_ms: i64, expiration_ms: i64) -> bool {
    entry.current_txn_first_offset.is_none() && now_ms.saturating_sub(entry.last_timestamp) >= expiration_ms
}

pub mod txn;
pub mod verification;

#[cfg(test)]
mod tests;
