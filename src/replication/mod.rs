//! Chapter 6 — replication: how a partition's records survive the loss of a
//! broker.
//!
//! # The problem
//!
//! A partition lives on several brokers, its **replicas**. One is the
//! **leader**: producers write to it and it alone decides the order of the
//! records. The others are **followers**: they copy the leader's log. When the
//! leader's broker dies, a follower takes over — and a record the producer was
//! told is safe must be in the new leader's log, at the same offset, while a
//! record nobody was promised may be lost but must then be lost everywhere, so
//! that replicas never disagree about what offset 7 holds.
//!
//! # Kafka's solution
//!
//! - **Followers pull.** Each follower sends the leader a Fetch from its **log
//!   end offset** (LEO); the fetch offset tells the leader how far that follower
//!   has got.
//! - **The ISR.** The in-sync replicas are the leader and the followers that
//!   have reached the leader's log end within `replica.lag.time.max.ms`. The
//!   leader shrinks and expands it through the controller (AlterPartition,
//!   KIP-497), and the controller elects a new leader only from it.
//! - **The high watermark** (HW) is the smallest log end in the ISR: every
//!   record below it is on every ISR member, so on whichever one is elected
//!   next. Consumers read only below it; an `acks=all` produce is answered when
//!   the HW passes its batch, and is refused (NOT_ENOUGH_REPLICAS) while the
//!   ISR is smaller than `min.insync.replicas`.
//! - **Leader epochs** (KIP-101). Each election bumps the partition's leader
//!   epoch; every batch carries the epoch it was written in, and each replica
//!   keeps a [`LeaderEpochCache`] of where each epoch starts. A follower that
//!   may hold records the new leader never had (an old leader coming back, a
//!   follower that fetched ahead) asks "where does my last epoch end on your
//!   side?" and truncates there — exactly the records the leader lacks, no
//!   more. Kafka first used the high watermark for this and lost acknowledged
//!   records (the model's `--bug truncate-to-hw`); KIP-279 added the epoch to
//!   the answer for fast successive failovers, KIP-320 fences fetches that
//!   carry an old leader epoch, and KIP-595 folded the question into Fetch
//!   itself (the **diverging epoch** answer).
//!
//! ```text
//!  offset       0    1    2    3    4    5
//!  leader  A   [a0   a1   a2   a3   a4   a5]    LEO 6
//!  follower B  [a0   a1   a2   a3   a4]         LEO 5    ISR = {A, B, C}
//!  follower C  [a0   a1   a2]                   LEO 3
//!                             ▲
//!                             HW = min(6, 5, 3) = 3: a0..a2 are committed;
//!                             an acks=all produce of a3 waits for C.
//!  If C falls behind for replica.lag.time.max.ms, the ISR shrinks to {A, B}
//!  and the HW moves to 5.
//! ```
//!
//! # This code
//!
//! A sans-IO core for ONE partition. It never touches the log's bytes, the
//! network or a clock: the driver (the broker's replica manager, or the model
//! in `models/src/replication.rs`) owns the log and the [`LeaderEpochCache`],
//! passes in offsets, epochs and `now_ms`, and carries out what comes back.
//!
//! ```text
//!            driver (log, epoch cache, sockets, timers)
//!   Fetch ──▶ LeaderState::on_fetch ──▶ FetchAnswer ──▶ FollowerState::truncation_offset / on_records
//!   Produce ─▶ LeaderState::check_append, driver appends, LeaderState::on_append ──▶ AckOutcome
//!   timer ──▶ LeaderState::tick ──▶ AlterPartition ──▶ controller ──▶ on_alter_partition_committed
//! ```
//!
//! - [`epoch_cache`]: [`LeaderEpochCache`] and OffsetsForLeaderEpoch's answer
//!   ([`LeaderEpochCache::end_offset_for`]); [`checkpoint`]: the
//!   `leader-epoch-checkpoint` file as bytes.
//! - [`leader`]: [`LeaderState`] — the ISR, each follower's fetch state
//!   (Kafka's `Replica`), the high watermark, waiting `acks=all` produces.
//! - [`follower`]: [`FollowerState`] — the next fetch, and what to truncate
//!   or learn from an answer.
//!
//! The same functions run in the broker and in the model checker,
//! which explores crashes, elections and fetch orders over three replicas and
//! keeps Kafka's historical bugs as switchable variants.
//!
//! # Simplifications
//!
//! - The leader's `acks=all` wait has no timeout here: the driver answers
//!   REQUEST_TIMED_OUT itself and drops nothing from the core (a later
//!   completion of a timed-out token is ignored by the driver).
//! - The high watermark counts only the (maximal) ISR; Kafka also waits for a
//!   caught-up follower about to join it.
//! - One AlterPartition at a time; a refused one is forgotten and the next
//!   metadata image brings the truth. Broker epochs (KIP-903) and eligible
//!   leader replicas (KIP-966) are not modelled.
//! - No log start: fetches below a leader's log start (retention) and
//!   tiered storage are outside this core.

pub mod checkpoint;
pub mod epoch_cache;
pub mod error;
pub mod follower;
pub mod leader;

pub use checkpoint::{decode_checkpoint, encode_checkpoint, CheckpointError, LEADER_EPOCH_CHECKPOINT_FILE};
pub use epoch_cache::{
    EpochEndOffset, EpochEntry, LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET,
};
pub use error::ReplicationError;
pub use follower::FollowerState;
pub use leader::{
    AckOutcome, AckToken, AlterPartition, FetchAnswer, FetchOutcome, FollowerFetch, FollowerReplica,
    LeaderState, PartitionAssignment, ReplicaId, ReplicationConfig,
};

#[cfg(test)]
mod tests;
