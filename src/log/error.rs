//! The log's one error type: what went wrong, and what the caller should do.

use std::io;

use crate::format::batch::BatchError;
use crate::format::CheckpointError;
use crate::idempotence::ProducerError;

/// Errors from the log layer. Each says which Kafka error code a broker answers.
#[derive(Debug)]
pub enum LogError {
    /// The disk failed. Kafka marks the log directory offline (`KAFKA_STORAGE_ERROR`,
    /// code 56); the caller must stop using this log.
    Io(io::Error),
    /// A read asked for an offset outside `[log_start_offset, log_end_offset]`
    /// (`OFFSET_OUT_OF_RANGE`, code 1): the consumer resets its position.
    OffsetOutOfRange { offset: i64, log_start_offset: i64, log_end_offset: i64 },
    /// An append was given bytes that are not a valid batch (`CORRUPT_MESSAGE`, code 2).
    CorruptBatch(BatchError),
    /// A batch larger than a segment may hold (`RECORD_TOO_LARGE`, code 18).
    BatchTooLarge { size: usize, max: usize },
    /// An idempotent producer's batch failed the sequence or epoch check
    /// (chapter 8): `OUT_OF_ORDER_SEQUENCE_NUMBER` (45), `INVALID_PRODUCER_EPOCH`
    /// (47) or `INVALID_RECORD` (87), as [`ProducerError::kafka_error_code`]
    /// says; chapter 9 adds `INVALID_TXN_STATE` (48) and, for markers,
    /// `TRANSACTION_COORDINATOR_FENCED` (52). Nothing was written; what the
    /// producer does next depends on the code.
    Producer(ProducerError),
    /// An earlier fsync of this log failed, so it is offline (`KAFKA_STORAGE_ERROR`,
    /// code 56): it takes no appends and acknowledges nothing until the broker
    /// restarts and recovers it from what is on disk. Holds the first failure.
    LogDirOffline(String),
    /// A checkpoint file of the log directory (`recovery-point-offset-checkpoint`,
    /// `log-start-offset-checkpoint`, `replication-offset-checkpoint`) does not
    /// parse (`KAFKA_STORAGE_ERROR`, code 56): the directory is damaged, and
    /// guessing the offsets it held could skip recovery or expose records
    /// that are not committed. The operator repairs or removes the file.
    Checkpoint { file: String, error: CheckpointError },
    /// A follower's append starts below the log end (Kafka's
    /// `UnexpectedAppendOffsetException`): the fetch answered from an offset
    /// this log already has. Nothing was written. Never sent to a client
    /// (code -1 if it were); the follower's fetcher truncates or refetches.
    UnexpectedAppendOffset { first_offset: i64, log_end_offset: i64 },
    /// A follower's append holds batches whose offsets do not increase
    /// (Kafka's `OffsetsOutOfOrderException`): a batch starts at or below the
    /// last offset of the one before it. Nothing was written. Never sent to a
    /// client (code -1 if it were): the leader's log is not a log.
    OffsetsOutOfOrder { last_offset: i64, next_base_offset: i64 },
}

impl LogError {
    /// Kafka's error code for this error.
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            LogError::Io(_) => 56,
            LogError::OffsetOutOfRange { .. } => 1,
            LogError::CorruptBatch(_) => 2,
            LogError::BatchTooLarge { .. } => 18,
            LogError::Producer(e) => e.kafka_error_code(),
            LogError::LogDirOffline(_) => 56,
            LogError::Checkpoint { .. } => 56,
            LogError::UnexpectedAppendOffset { .. } | LogError::OffsetsOutOfOrder { .. } => -1,
        }
    }
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogError::Io(e) => write!(f, "log i/o error: {e}"),
            LogError::OffsetOutOfRange { offset, log_start_offset, log_end_offset } => {
                write!(f, "offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")
            }
            LogError::CorruptBatch(e) => write!(f, "corrupt batch: {e}"),
            LogError::BatchTooLarge { size, max } => {
                write!(f, "batch of {size} bytes exceeds the maximum {max}")
            }
            LogError::Producer(e) => write!(f, "{e}"),
            LogError::LogDirOffline(cause) => write!(f, "log directory offline after: {cause}"),
            LogError::Checkpoint { file, error } => write!(f, "{file}: {error}"),
            LogError::UnexpectedAppendOffset { first_offset, log_end_offset } => {
                write!(f, "follower append starts at {first_offset}, below the log end {log_end_offset}")
            }
            LogError::OffsetsOutOfOrder { last_offset, next_base_offset } => write!(
                f,
                "out of order offsets: a batch at {next_base_offset} follows one ending at {last_offset}"
            ),
        }
    }
}

impl std::error::Error for LogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogError::Io(e) => Some(e),
            LogError::CorruptBatch(e) => Some(e),
            LogError::Producer(e) => Some(e),
            LogError::Checkpoint { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for LogError {
    fn from(e: io::Error) -> Self {
        LogError::Io(e)
    }
}

impl From<ProducerError> for LogError {
    fn from(e: ProducerError) -> Self {
        LogError::Producer(e)
    }
}

impl From<BatchError> for LogError {
    fn from(e: BatchError) -> Self {
        LogError::CorruptBatch(e)
    }
}

pub type Result<T, E = LogError> = std::result::Result<T, E>;
