//! Chapter 6 — replication (in progress): the sans-IO core of one replicated partition.

pub mod checkpoint;
pub mod epoch_cache;

pub use checkpoint::{decode_checkpoint, encode_checkpoint, CheckpointError, LEADER_EPOCH_CHECKPOINT_FILE};
pub use epoch_cache::{
    EpochEndOffset, EpochEntry, LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET,
};
