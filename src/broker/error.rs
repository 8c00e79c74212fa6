//! The broker's errors: what went wrong on the way to an answer, typed by what
//! the caller must do about it, and mapped to Kafka's error codes in one place,
//! [`Error::kafka_error`].
//!
//! Errors cross module boundaries here as values, not strings: `Broker::open`,
//! `Broker::handle`, the group driver's appends and `allocate_producer_id`
//! return an [`Error`], and the handler that answers a client asks it for its
//! code. A handler still maps its own protocol's validation (an `acks` of 7,
//! a batch over `max.message.bytes`) to a code directly, where the request is
//! read; and a few APIs answer every failure with a code of their own, as
//! Kafka does (the group coordinator's `COORDINATOR_NOT_AVAILABLE`,
//! InitProducerId's), saying so where they do.
//!
//! The distinction that matters most: a *storage* error (the disk failed; the
//! log directory goes offline) is `KAFKA_STORAGE_ERROR`, and a *metadata*
//! error (the metadata image refused a record) is not — the disk did nothing
//! wrong, and answering `KAFKA_STORAGE_ERROR` would send an operator to check
//! a healthy disk.

use std::fmt;
use std::path::PathBuf;

use kafka_protocol::ResponseError;

use crate::log::LogError;
use crate::metadata;
use crate::TopicPartition;

/// Why the broker could not do what a request (or its own start) asked.
#[derive(Debug)]
pub enum Error {
    /// A partition log's or the metadata log's read, append or fsync failed.
    /// An I/O error or an offline log is `KAFKA_STORAGE_ERROR` (and the caller
    /// reports it to [`super::log_dir::LogDir::fail`]); the log's other errors
    /// keep their own codes ([`LogError`]).
    Log(LogError),
    /// The log directory is offline since an earlier write failed: the request
    /// touched no log (`KAFKA_STORAGE_ERROR`). Holds the first failure.
    LogDirOffline(String),
    /// The metadata image refused a record, or the metadata log holds one that
    /// does not decode (never [`metadata::Error::Log`], which is [`Error::Log`]):
    /// nothing was committed, the directory stays online, and the client gets
    /// `UNKNOWN_SERVER_ERROR`, not `KAFKA_STORAGE_ERROR`.
    Metadata(metadata::Error),
    /// The broker is stopping and appends nothing more: the client goes to
    /// another broker (`NOT_LEADER_OR_FOLLOWER`, as Kafka answers during a
    /// controlled shutdown).
    ShuttingDown,
    /// A partition the broker itself expected (one of `__consumer_offsets`) is
    /// not in the partition map (`UNKNOWN_TOPIC_OR_PARTITION`).
    UnknownPartition(TopicPartition),
    /// `__consumer_offsets` does not exist and could not be created: the group
    /// coordinator cannot store anything (`COORDINATOR_NOT_AVAILABLE`).
    OffsetsTopicUnavailable(ResponseError),
    /// Every producer id has been handed out (ids are 63 bits, so a corrupt
    /// metadata log rather than a busy cluster): `UNKNOWN_SERVER_ERROR`.
    ProducerIdsExhausted,
    /// The controller did not hand out a producer id block (unreachable, or
    /// it refused): InitProducerId answers COORDINATOR_NOT_AVAILABLE.
    ProducerIdBlockRefused(ResponseError),
    /// A blocking task the broker waited on (a group commit's fsync) panicked
    /// or was cancelled: `UNKNOWN_SERVER_ERROR`.
    TaskFailed(String),
    /// The request has no answer to send and its connection must close: a
    /// failed produce with `acks=0` (the client reads no response; a closed
    /// connection is the only signal it notices), or a parked group request
    /// dropped at shutdown. Never sent as a code.
    CloseConnection(String),
    /// The broker cannot start: `log.dirs` cannot be created or read, or its
    /// `meta.properties` is unreadable. Startup only, never sent as a code.
    LogDirUnusable { path: PathBuf, cause: String },
    /// `meta.properties` belongs to another node (Kafka's
    /// `InconsistentNodeIdException`): mixing two brokers' data would be silent
    /// corruption, so the broker does not start. Startup only.
    InconsistentNodeId { path: PathBuf, found: i32, configured: i32 },
}

impl Error {
    // ANCHOR: kafka_error
    /// The Kafka error code a client is answered with. The variants that are
    /// never sent (a closed connection, a broker that does not start) map to
    /// `UNKNOWN_SERVER_ERROR`, Kafka's code for a failure with no code of its own.
    pub fn kafka_error(&self) -> ResponseError {
        match self {
            Error::Log(e) => log_error(e),
            Error::LogDirOffline(_) => ResponseError::KafkaStorageError,
            Error::Metadata(metadata::Error::Log(e)) => log_error(e),
            Error::Metadata(_) => ResponseError::UnknownServerError,
            Error::ShuttingDown => ResponseError::NotLeaderOrFollower,
            Error::UnknownPartition(_) => ResponseError::UnknownTopicOrPartition,
            Error::OffsetsTopicUnavailable(_) => ResponseError::CoordinatorNotAvailable,
            Error::ProducerIdsExhausted | Error::TaskFailed(_) => ResponseError::UnknownServerError,
            Error::ProducerIdBlockRefused(_) => ResponseError::CoordinatorNotAvailable,
            Error::CloseConnection(_) | Error::LogDirUnusable { .. } | Error::InconsistentNodeId { .. } => {
                ResponseError::UnknownServerError
            }
        }
    }
    // ANCHOR_END: kafka_error

    /// Whether the disk failed: the caller reports it to
    /// [`super::log_dir::LogDir::fail`], which takes the directory offline.
    pub fn log_error(&self) -> Option<&LogError> {
        match self {
            Error::Log(e) | Error::Metadata(metadata::Error::Log(e)) => Some(e),
            _ => None,
        }
    }
}

/// A log's error as Kafka answers it: I/O and an offline log are storage
/// errors, the rest keep the code the log chose.
fn log_error(e: &LogError) -> ResponseError {
    match e {
        LogError::Io(_) | LogError::LogDirOffline(_) | LogError::Checkpoint { .. } => {
            ResponseError::KafkaStorageError
        }
        // A follower's append only; not a client's error.
        LogError::UnexpectedAppendOffset { .. } | LogError::OffsetsOutOfOrder { .. } => {
            ResponseError::UnknownServerError
        }
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::CorruptBatch(_) => ResponseError::CorruptMessage,
        LogError::BatchTooLarge { .. } => ResponseError::RecordListTooLarge,
        // 45, 47 or 87: the codes the producer-state check chose (chapter 8).
        LogError::Producer(p) => {
            ResponseError::try_from_code(p.kafka_error_code()).unwrap_or(ResponseError::UnknownServerError)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Log(e) => write!(f, "{e}"),
            Error::LogDirOffline(cause) => write!(f, "log directory offline: {cause}"),
            Error::Metadata(e) => write!(f, "{e}"),
            Error::ShuttingDown => write!(f, "broker is shutting down"),
            Error::UnknownPartition(tp) => write!(f, "no partition {tp}"),
            Error::OffsetsTopicUnavailable(code) => {
                write!(f, "{} is not available: {code:?}", crate::group::CONSUMER_OFFSETS_TOPIC)
            }
            Error::ProducerIdsExhausted => write!(f, "producer ids exhausted"),
            Error::ProducerIdBlockRefused(code) => {
                write!(f, "the controller gave no producer id block: {code:?}")
            }
            Error::TaskFailed(cause) => write!(f, "blocking task failed: {cause}"),
            Error::CloseConnection(why) => write!(f, "closing the connection: {why}"),
            Error::LogDirUnusable { path, cause } => write!(f, "log directory {}: {cause}", path.display()),
            Error::InconsistentNodeId { path, found, configured } => write!(
                f,
                "{} belongs to node {found}, but this broker is node.id={configured}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<LogError> for Error {
    fn from(e: LogError) -> Self {
        Error::Log(e)
    }
}

/// A metadata log's storage failure is a storage error like any log's; only
/// a refused or unreadable record is a metadata error.
impl From<metadata::Error> for Error {
    fn from(e: metadata::Error) -> Self {
        match e {
            metadata::Error::Log(e) => Error::Log(e),
            other => Error::Metadata(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::BatchError;
    use crate::idempotence::ProducerError;
    use crate::metadata::ImageError;

    /// Every variant maps to the code Kafka answers for that cause, and a
    /// metadata image refusal is not a storage error (issue 12): only the
    /// disk's failures are KAFKA_STORAGE_ERROR.
    #[test]
    fn each_error_maps_to_its_kafka_code() {
        use ResponseError::*;
        let io = || LogError::Io(std::io::Error::other("EIO"));
        let refused = metadata::Error::Image(ImageError::RemovalOfUnknownTopic(uuid::Uuid::nil()));
        let undecodable =
            metadata::Error::UndecodableRecord { offset: 3, cause: metadata::DecodeError::Truncated };
        let path = PathBuf::from("/tmp/spool");
        let cases: Vec<(Error, ResponseError)> = vec![
            (Error::Log(io()), KafkaStorageError),
            (Error::Log(LogError::LogDirOffline("EIO".into())), KafkaStorageError),
            (
                Error::Log(LogError::OffsetOutOfRange { offset: 9, log_start_offset: 0, log_end_offset: 3 }),
                OffsetOutOfRange,
            ),
            (Error::Log(LogError::CorruptBatch(BatchError::InvalidRecords("x".into()))), CorruptMessage),
            (Error::Log(LogError::BatchTooLarge { size: 2, max: 1 }), RecordListTooLarge),
            (
                Error::Log(LogError::Producer(ProducerError::InvalidProducerEpoch {
                    producer_id: 7,
                    epoch: 1,
                    current_epoch: 2,
                })),
                InvalidProducerEpoch,
            ),
            (Error::LogDirOffline("EIO".into()), KafkaStorageError),
            (Error::from(metadata::Error::Log(io())), KafkaStorageError),
            (Error::from(refused), UnknownServerError),
            (Error::from(undecodable), UnknownServerError),
            (Error::ShuttingDown, NotLeaderOrFollower),
            (Error::UnknownPartition(TopicPartition::new("t", 0)), UnknownTopicOrPartition),
            (Error::OffsetsTopicUnavailable(KafkaStorageError), CoordinatorNotAvailable),
            (Error::ProducerIdsExhausted, UnknownServerError),
            (Error::TaskFailed("panicked".into()), UnknownServerError),
            (Error::CloseConnection("acks=0".into()), UnknownServerError),
            (Error::LogDirUnusable { path: path.clone(), cause: "EACCES".into() }, UnknownServerError),
            (Error::InconsistentNodeId { path, found: 2, configured: 1 }, UnknownServerError),
        ];
        for (error, code) in cases {
            assert_eq!(error.kafka_error(), code, "{error}");
        }
    }

    /// A metadata log holding a record the image refuses (here a removal of a
    /// topic that never existed) stops `Broker::open` with a metadata error,
    /// not a storage one: the directory's disk is fine, its log is not.
    #[test]
    fn a_refused_metadata_record_stops_open_as_a_metadata_error() {
        use crate::format::BatchBuilder;
        use crate::log::{DiskStorage, Log, LogConfig, OpenOptions};
        use crate::metadata::{MetadataRecord, METADATA_TOPIC};
        let dir = tempfile::tempdir().unwrap();
        let storage = DiskStorage::open(dir.path().join(format!("{METADATA_TOPIC}-0"))).unwrap();
        let (mut log, _) = Log::open(storage, LogConfig::default(), OpenOptions::default(), 0).unwrap();
        let mut batch = BatchBuilder::default();
        let bogus = MetadataRecord::RemoveTopic { topic_id: uuid::Uuid::new_v4() };
        batch.append(0, None, Some(&bogus.encode()), &[]);
        log.append(bytes::BytesMut::from(&batch.build().as_bytes()[..]), 0, 0).unwrap();
        log.flush().unwrap();
        drop(log);
        let config = crate::config::BrokerConfig { log_dir: dir.path().to_path_buf(), ..Default::default() };
        let error = crate::broker::Broker::open(config).unwrap_err();
        assert!(
            matches!(error, Error::Metadata(metadata::Error::Image(ImageError::RemovalOfUnknownTopic(_)))),
            "{error:?}"
        );
        assert_ne!(error.kafka_error(), ResponseError::KafkaStorageError);
    }

    /// Only the disk's failures are reported to the log directory: a refused
    /// metadata record must not take it offline.
    #[test]
    fn only_storage_errors_are_log_errors() {
        let refused = metadata::Error::Image(ImageError::ConfigOfUnknownTopic("t".into()));
        assert!(Error::from(refused).log_error().is_none());
        let io = metadata::Error::Log(LogError::Io(std::io::Error::other("EIO")));
        assert!(matches!(Error::from(io).log_error(), Some(LogError::Io(_))));
    }
}
