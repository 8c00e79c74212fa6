//! The coordinator's inputs and outputs: plain structs the broker fills from
//! (and turns into) kafka-protocol messages, so a model can build them by hand.

use std::collections::BTreeSet;

use super::error::TxnError;
use super::records::TransactionLogRecord;
use crate::TopicPartition;

/// The caller's handle on a request; handed back with its [`Reply`].
pub type RequestToken = u64;

/// The coordinator's handle on one record it asked the driver to append.
pub type AppendId = u64;

/// The broker's settings for the coordinator, with Kafka's names and defaults.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionCoordinatorConfig {
    /// `transaction.max.timeout.ms`: a longer `transaction.timeout.ms` is refused.
    pub transaction_timeout_ms_max: i32,
    /// `transactional.id.expiration.ms`: an id idle this long is forgotten.
    pub transactional_id_expiration_ms: i64,
    /// `transaction.state.log.num.partitions`.
    pub transaction_state_partitions: i32,
    /// `offsets.topic.num.partitions`, to find a group's offsets partition (AddOffsetsToTxn).
    pub offsets_topic_partitions: i32,
    /// Whether a new producer's InitProducerId bumps the epoch (fencing every
    /// older producer of the id). Always true in Kafka and in the broker;
    /// false only to plant the bug the model checker must catch
    /// (`check transactions --bug no-epoch-bump`).
    pub bump_epoch_on_init: bool,
    /// Whether EndTxn's markers wait until its PrepareCommit / PrepareAbort
    /// record is durable. Always true in Kafka and in the broker; false only
    /// to plant the bug the model checker must catch (`check transactions
    /// --bug markers-before-prepare`): the markers go out with the record.
    pub markers_after_decision_durable: bool,
}

impl Default for TransactionCoordinatorConfig {
    fn default() -> Self {
        TransactionCoordinatorConfig {
            transaction_timeout_ms_max: 900_000,
            transactional_id_expiration_ms: 604_800_000,
            transaction_state_partitions: super::TRANSACTION_STATE_PARTITIONS,
            offsets_topic_partitions: crate::group::CONSUMER_OFFSETS_PARTITIONS,
            bump_epoch_on_init: true,
            markers_after_decision_durable: true,
        }
    }
}

/// A producer id and epoch, as InitProducerId and EndTxn answer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProducerIdAndEpoch {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// InitProducerId with a transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    pub transactional_id: String,
    /// The producer's `transaction.timeout.ms`.
    pub transaction_timeout_ms: i32,
    /// KIP-360: the producer id and epoch the producer holds, when it
    /// re-initializes after an error rather than starting afresh.
    pub current: Option<ProducerIdAndEpoch>,
}

/// AddPartitionsToTxn from a producer, or (KIP-890 part 1) the verify-only
/// form from a partition leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPartitionsToTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub partitions: BTreeSet<TopicPartition>,
}

/// AddOffsetsToTxn: the group whose offsets the transaction will commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddOffsetsToTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub group_id: String,
}

/// EndTxn: commit (`commit`) or abort the producer's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    /// The client's transaction version: 2 (EndTxn v5+) asks for KIP-890
    /// part 2's epoch bump, below that none.
    pub client_transaction_version: i16,
}

/// A record for the driver to append to the coordinator's partition, then
/// report with [`append_completed`](super::TransactionCoordinator::append_completed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    pub id: AppendId,
    pub record: TransactionLogRecord,
}

/// Markers to write: a COMMIT or ABORT control batch for `producer_id` at
/// `producer_epoch` in each partition. When every partition has its marker the
/// driver hands the request back to [`markers_written`](super::TransactionCoordinator::markers_written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTxnMarkers {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    /// The leader epoch of the coordinator's partition; a partition leader
    /// rejects markers from an older coordinator.
    pub coordinator_epoch: i32,
    pub partitions: BTreeSet<TopicPartition>,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    InitProducerId(Result<ProducerIdAndEpoch, TxnError>),
    AddPartitionsToTxn(Result<(), TxnError>),
    AddOffsetsToTxn(Result<(), TxnError>),
    EndTxn(Result<ProducerIdAndEpoch, TxnError>),
}

/// An answer and the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub token: RequestToken,
    pub body: ReplyBody,
}

/// Why the driver could not make a record durable (Kafka's append error mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendFailure {
    /// This broker no longer leads the partition: NOT_COORDINATOR.
    NotLeader,
    /// Not enough in-sync replicas, or a timeout: COORDINATOR_NOT_AVAILABLE.
    NotReplicated,
}

/// What an input asks the driver to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub appends: Vec<Append>,
    pub markers: Vec<WriteTxnMarkers>,
    pub replies: Vec<Reply>,
    /// A producer id was needed and none was left: allocate a block and call
    /// [`add_producer_ids`](super::TransactionCoordinator::add_producer_ids).
    pub wants_producer_ids: bool,
}

impl Output {
    pub(super) fn reply(token: RequestToken, body: ReplyBody) -> Output {
        Output { replies: vec![Reply { token, body }], ..Output::default() }
    }
}
