//! Chapter 8 — idempotence: how a retried produce request is written once.
//!
//! # At-least-once, and why retries duplicate
//!
//! A producer that sends a batch and hears nothing back cannot tell a lost
//! request from a lost *response*. If it gives up, the batch may be lost
//! (at-most-once); if it retries, the batch may be written twice
//! (at-least-once), and with several requests in flight a retry can also land
//! *after* a later batch, reordering the partition:
//!
//! ```text
//!  producer                 broker log
//!  send b0 ───────────────▶ [b0]           the response is lost
//!  send b1 ───────────────▶ [b0 b1]   ok ◀─
//!  (timeout) retry b0 ────▶ [b0 b1 b0]     duplicated, and out of order
//! ```
//!
//! # Idempotent delivery: producer ids and sequence numbers (KIP-98)
//!
//! An idempotent producer (`enable.idempotence=true`, the default since Kafka
//! 3.0) gets a **producer id** from the broker (`InitProducerId`) and numbers
//! its records per partition with a **sequence number** that starts at 0; a
//! batch carries its producer id, producer **epoch** and base sequence in its
//! header ([`crate::format::batch`]). The leader keeps, per producer, the epoch and
//! the sequence range of the last batches it appended, and checks each new
//! batch before appending it ([`ProducerStateManager::validate`]):
//!
//! - the next sequence (`last + 1`, wrapping from `i32::MAX` to 0): append it;
//! - exactly the range of a batch it remembers: a **duplicate** — write
//!   nothing, answer with the offsets of the original;
//! - anything else: `OUT_OF_ORDER_SEQUENCE_NUMBER`, so a batch never lands
//!   after a gap;
//! - an epoch older than the producer's latest: `INVALID_PRODUCER_EPOCH`, a
//!   zombie is fenced; a newer epoch must start again at sequence 0.
//!
//! # Why five batches
//!
//! A producer may have up to `max.in.flight.requests.per.connection` requests
//! outstanding, and any of them may be retried. The broker remembers the last
//! [`NUM_BATCHES_TO_RETAIN`] = 5 batches per producer, so the Java client
//! refuses idempotence with more than 5 in flight: with at most 5 outstanding,
//! every batch it may still retry is one of the last 5 the broker appended, or
//! was never appended. Remember only 4 and the retry of the oldest of 5 written
//! batches is refused as out of order although it was written — the model
//! (`models/src/idempotence.rs`, `--bug retain-four`) finds that path.
//!
//! The bound that matters is on *sequences*, not on requests: the producer
//! must never be 5 batches past its oldest unacknowledged one. The Java client
//! gets that from ordering — one connection answers in order, and a retried
//! batch is sent before any newer one — so 5 requests in flight suffice. Over
//! a network that reorders, counting unacknowledged batches is not enough
//! (`--bug count-in-flight`): a later batch acknowledged first lets a sixth go
//! out, and the oldest, still awaited, falls out of the broker's five.
//!
//! # Epochs and KIP-360
//!
//! When an idempotent producer can no longer tell which of its batches were
//! written (a batch expired, or the broker answered out-of-order for its oldest
//! batch), it fails those batches to the application and bumps its epoch,
//! restarting its sequences at 0 (KIP-360, Kafka 2.5). The broker takes a new
//! epoch starting at sequence 0 and forgets the old epoch's batches: a new
//! epoch's sequence 0 is a different batch from the old one's (`--bug
//! keep-batches-on-epoch-bump` shows the wrong acknowledgement otherwise).
//! A producer the partition does not know at all — its state expired, or this
//! is its first batch here — is accepted at any sequence (Kafka 2.5 to 4.4;
//! before 2.5 the broker answered `UNKNOWN_PRODUCER_ID`; see "Simplifications").
//!
//! # Snapshots and recovery
//!
//! The table lives in memory and is rebuilt from the log's batch headers after
//! a restart. To avoid replaying the whole log, the broker writes a
//! [`snapshot`] of the table — one entry per producer with its *last* batch —
//! as `<offset>.snapshot` beside the segments, at each roll and on clean
//! shutdown. Recovery loads the latest snapshot and replays every batch from its
//! offset on ([`snapshot::rebuild`]): the snapshot is the state at its offset,
//! the log holds what happened after, and replaying restores the five batches
//! of every producer that wrote since.
//!
//! ```text
//!  log:       [0 ........ 4199] [4200 ........ 8311] [8312 ...... 9000)
//!  snapshots:                    00..04200.snapshot   00..08312.snapshot
//!  recovery:  load 8312.snapshot, replay batches 8312..9000 through update()
//! ```
//!
//! # The code
//!
//! [`ProducerStateManager`] is sans-IO: batch headers in, decisions out.
//! Snapshots are bytes in and out ([`snapshot::encode_snapshot`],
//! [`snapshot::decode_snapshot`]). The model in `models/src/idempotence.rs` runs
//! the same manager against a lossy, duplicating, reordering network.
//!
//! The drivers around it:
//!
//! - [`crate::log::producers`]: each partition's [`crate::log::Log`] owns its
//!   manager and, under the partition's log lock, calls `validate` for every
//!   batch of an append, writes, then calls `update` for each batch written —
//!   so two requests of one producer can never both pass as "next". The log
//!   writes `<offset>.snapshot` at each roll and at clean shutdown, rebuilds the
//!   table on open (newest readable snapshot at or below the log end, then
//!   [`snapshot::replay`] of the batches after it) and after a truncation, and
//!   deletes snapshots below the log start when retention moves it.
//! - `crate::broker::produce` maps [`ProducerError::kafka_error_code`] into the
//!   produce response and answers a duplicate with the original base offset
//!   (`log_append_time` only on `LogAppendTime` topics).
//! - `crate::broker::producer_ids`: InitProducerId hands out ids from blocks of
//!   1000 recorded in the metadata log first (Kafka's `ProducerIdsRecord`), so
//!   no id is handed out twice across restarts.
//!
//! - `crate::client::producer` with `enable.idempotence=true`: InitProducerId
//!   at connect, each partition's batches stamped with the next sequence as
//!   they are sealed (a retry resends the same bytes), one batch per partition
//!   in flight, and an epoch bump after `OUT_OF_ORDER_SEQUENCE_NUMBER`.
//!
//! Tests: `tests/it/idempotence.rs` over the wire, and `tests/it/idempotence_clients.rs`,
//! where confluent-kafka, kafka-python and `spool produce` send through a proxy
//! that drops Produce responses after the write, once with a SIGKILL and
//! restart of the broker mid-produce. The cost of the check is
//! `benches/idempotence.rs`.
//!
//! # Simplifications
//!
//! - Transactions (chapter 9) are tracked here on the log side only
//!   ([`producer_state::txn`]): a transactional batch opens its producer's
//!   transaction, a COMMIT/ABORT marker ends it, and the snapshot keeps the
//!   open ones' first offsets (`currentTxnFirstOffset`) and the coordinator
//!   epoch. The coordinator that writes markers is `crate::txn`.
//! - A batch is validated against the state after the previous batch was
//!   *appended*. The log validates a request's several batches for one
//!   partition in order against a trial copy of the table before writing any
//!   (the first duplicate answers for all, the first error fails all, as
//!   Kafka's `analyzeAndValidateProducerState`); idempotent producers send one
//!   batch per partition per request, which is checked against the table itself.
//! - `UNKNOWN_PRODUCER_ID` (59) is never answered: a producer the partition
//!   does not know is accepted at any sequence (Kafka 2.5+, above).
//! - Kafka 4.5 (KAFKA-15591) refuses a non-zero first sequence on a partition
//!   that has never held a record, because the accept-any rule lets a lost
//!   first request be overtaken by the second on a new partition; spool follows
//!   Kafka 3.x and accepts it.
//! - Retention keeps producers (Kafka since 2.4, KAFKA-7190); only
//!   `producer.id.expiration.ms` forgets one
//!   ([`ProducerStateManager::remove_expired_producers`]).

pub mod producer_state;
pub mod snapshot;

pub use producer_state::txn::{CompletedTxn, EndTxnMarker};
pub use producer_state::verification::VerificationGuard;
pub use producer_state::{
    BatchInfo, BatchMetadata, ProducerError, ProducerStateConfig, ProducerStateEntry, ProducerStateManager,
    Validated, NUM_BATCHES_TO_RETAIN,
};
pub use snapshot::{
    decode_snapshot, encode_snapshot, parse_snapshot_file_name, rebuild, replay, snapshot_file_name,
    SnapshotError,
};
