//! Chapter 9 — transactions: Kafka's transaction coordinator, as a sans-IO
//! state machine, and the `__transaction_state` records it keeps its state in.
//!
//! # The problem
//!
//! Chapter 8's idempotent producer writes each record once to *one*
//! partition. A consume-transform-produce loop needs more: its output records
//! in several partitions and its consumer offsets must become visible
//! together or not at all. That is an atomic commit across partitions —
//! two-phase commit — and Kafka runs one per transaction, with a
//! *transaction coordinator* as the coordinator of the protocol.
//!
//! # How Kafka does it (KIP-98)
//!
//! A producer names itself with a `transactional.id`. The coordinator for it
//! is the leader of partition [`partition_for`]`(id)` of the internal,
//! compacted topic `__transaction_state`; its decisions are records in that
//! partition, so they survive a crash and move with leadership.
//!
//! ```text
//!  producer                       coordinator                        partitions
//!  InitProducerId(id) ──────────▶ Empty, epoch+1 (fences older producers)
//!  AddPartitionsToTxn(p0, p1) ──▶ Ongoing {p0, p1}        (record durable, then reply)
//!  Produce(pid, epoch) ─────────────────────────────────────────────▶ p0, p1 (uncommitted)
//!  AddOffsetsToTxn(group) ──────▶ Ongoing {p0, p1, __consumer_offsets-k}
//!  EndTxn(commit) ──────────────▶ PrepareCommit           (record durable: the decision)
//!                  ◀── ok         WriteTxnMarkers(COMMIT) ─────────▶ p0, p1, offsets-k
//!                                 CompleteCommit          (all markers written)
//! ```
//!
//! The PrepareCommit record is the point of no return: once it is durable the
//! transaction commits, whatever crashes; a coordinator that takes over reads
//! it back and writes the markers again. Markers before that record would be a
//! decision nobody remembers.
//!
//! The *producer epoch* fences zombies: each InitProducerId for an id bumps
//! the epoch, and a request with an older epoch gets PRODUCER_FENCED. If the
//! old producer left a transaction open, the new one's InitProducerId first
//! aborts it (PrepareEpochFence, then PrepareAbort with the bumped epoch) and
//! answers CONCURRENT_TRANSACTIONS until that is done. A transaction open
//! longer than its `transaction.timeout.ms` is aborted the same way. KIP-360
//! lets a producer that hit an error keep its id: InitProducerId with its
//! current producer id and epoch bumps the epoch instead of fencing it, and a
//! retry of that call (the previous epoch) gets the same answer again.
//! KIP-890 part 1 lets a partition leader ask the coordinator whether a
//! partition is already in the transaction before appending a transactional
//! batch (AddPartitionsToTxn's verify-only form), so a late produce cannot
//! start a transaction that nobody will end; part 2 bumps the epoch at every
//! EndTxn, so each transaction has its own epoch and a late write of an
//! ended one is fenced.
//!
//! # How this code does it
//!
//! [`TransactionCoordinator`] owns one `__transaction_state` partition's
//! transactional ids, each a [`TransactionMetadata`]. Each request is a method
//! call with the broker's clock as `now_ms`, and returns an [`Output`]:
//! records to append, WriteTxnMarkers requests to send, and replies tagged
//! with the caller's [`RequestToken`]. A change of state is two steps, as in
//! Kafka: the coordinator *prepares* it (the metadata's `pending` transit,
//! which makes other requests answer CONCURRENT_TRANSACTIONS) and emits the
//! record; the driver appends it and reports [`TransactionCoordinator::append_completed`];
//! only then does the state move and the reply go out. Producer ids come from
//! the driver ([`TransactionCoordinator::add_producer_ids`]), the clock from
//! `now_ms`; nothing inside does IO, reads a clock or draws a random number.
//! Files:
//!
//! - `state.rs` — the states and the table of valid transitions.
//! - `metadata.rs` — one transactional id: prepare and complete a transition.
//! - `coordinator.rs` — the partition: routing, loading, appends, timers.
//! - `init.rs` — InitProducerId, epoch bumps and fencing (KIP-360).
//! - `add.rs` — AddPartitionsToTxn (and KIP-890's verify-only form), AddOffsetsToTxn.
//! - `end.rs` — EndTxn, the markers and the completion.
//! - `describe.rs` — DescribeTransactions and ListTransactions (KIP-664).
//! - `types.rs` — the inputs and outputs.
//! - `records.rs` — the records in Kafka's binary layout.
//!
//! # Simplifications
//!
//! - KIP-890 part 2 (the epoch bump at every EndTxn of a transaction version
//!   2 client) is done for the client's EndTxn — the driver passes version 2
//!   for EndTxn v5 when the broker's `spool.transaction.version` (the
//!   feature [`TRANSACTION_VERSION_FEATURE`], advertised in ApiVersions) is
//!   2; the coordinator's own aborts (timeouts, fencing) end as version 0,
//!   as Kafka's did before part 2: the fence was the bump.
//! - On an epoch overflow at a version 2 end, EndTxn answers the next producer
//!   id at epoch 0 (what the next transaction must use), and the
//!   `NextProducerId` tag is written to the record so a reload can finish the
//!   move; the Kafka source read for this answered the exhausted epoch and
//!   wrote neither previous nor next producer id.
//! - One WriteTxnMarkers request per transaction end, covering all its
//!   partitions; the driver fans it out per broker, retries until every
//!   partition has its marker (or its topic is gone) and then reports
//!   [`TransactionCoordinator::markers_written`] once.
//! - A failed append of a Complete* record (after the markers) is emitted again
//!   rather than retried after a backoff; a driver that lost leadership calls
//!   [`TransactionCoordinator::unload`] instead.
//! - TxnOffsetCommit is the group coordinator's (its pending offsets, written
//!   when the markers reach `__consumer_offsets`) and is not here; nor is
//!   DescribeProducers, which reads a partition's producer state.

mod add;
mod coordinator;
mod describe;
mod end;
mod error;
mod init;
mod metadata;
pub mod records;
mod state;
mod types;

pub use coordinator::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, Append, AppendFailure, AppendId, EndTxnRequest,
    InitProducerIdRequest, Output, ProducerIdAndEpoch, Reply, ReplyBody, RequestToken,
    TransactionCoordinator, TransactionCoordinatorConfig, WriteTxnMarkers,
};
pub use describe::{ListTransactionsFilter, ListedTransaction, TransactionDescription};
pub use error::TxnError;
pub use metadata::{TransactionMetadata, TxnTransit};
pub use records::{DecodeError, TransactionLogRecord, TransactionLogValue};
pub use state::TransactionState;

/// The name of the feature that says which transaction protocol a cluster
/// runs (KIP-890; Kafka's `TransactionVersion.FEATURE_NAME`).
pub const TRANSACTION_VERSION_FEATURE: &str = "transaction.version";

/// The highest `transaction.version` spool knows: 2, KIP-890 part 2 (1 only
/// makes the `__transaction_state` records flexible).
pub const TRANSACTION_VERSION_MAX: i16 = metadata::TRANSACTION_VERSION_EPOCH_BUMP;

/// The internal topic the coordinator writes to.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// `transaction.state.log.num.partitions`' default.
pub const TRANSACTION_STATE_PARTITIONS: i32 = 50;

/// The `__transaction_state` partition of a transactional id, whose leader is
/// its coordinator: Kafka's `Utils.abs(transactionalId.hashCode()) % partitions`,
/// the same rule (and code) as a group's `__consumer_offsets` partition, so
/// every broker, client and Kafka tool agrees on it.
pub fn partition_for(transactional_id: &str, num_partitions: i32) -> i32 {
    crate::group::partition_for(transactional_id, num_partitions)
}

#[cfg(test)]
mod tests;
