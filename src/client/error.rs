//! The client's one error type: what went wrong, and whether trying again can help.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;

use crate::format::BatchError;

/// Why a client call failed. Each variant says what the caller can do about it.
#[derive(Debug)]
pub enum ClientError {
    /// The TCP connection could not be opened, or broke mid-request (or, in
    /// the tools, stdin or stdout failed). The
    /// connection is dropped; the next call opens a new one, so retrying is fine
    /// for reads (and for writes that may be duplicated — chapter 8 makes
    /// producer retries safe).
    Io(std::io::Error),
    /// No response within the request timeout (`request.timeout.ms`). The
    /// request may still have taken effect on the broker.
    Timeout { api: ApiKey, timeout_ms: u64 },
    /// The broker does not speak this API, or no version of it that this client
    /// also speaks. Not retriable: use another broker or another client.
    UnsupportedVersion { api: ApiKey, broker: Option<(i16, i16)> },
    /// The bytes from the broker are not a response this client can read
    /// (wrong correlation id, a body that does not decode). The connection is
    /// dropped; retrying may work, but this is a bug on one side or the other.
    Protocol(String),
    /// The broker answered with a Kafka error code. `retriable` follows Kafka's
    /// own classification (`NOT_LEADER_OR_FOLLOWER` is, `TOPIC_ALREADY_EXISTS`
    /// is not).
    Kafka { code: ResponseError, message: Option<String>, context: String },
    /// A record batch in a fetch response failed its checks (CRC, length,
    /// records). Kafka's consumer raises `CorruptRecordException` here.
    CorruptBatch(BatchError),
    /// The caller asked for something impossible before anything was sent: a
    /// partition the topic does not have, an empty bootstrap address.
    InvalidArgument(String),
    /// A producer deadline passed: `max.block.ms` while `send` waited for
    /// metadata or buffer memory, or `delivery.timeout.ms` before a record was
    /// acknowledged (Kafka's `TimeoutException`). Retriable: the record may be
    /// sent again, though after a delivery timeout it may also have been written.
    TimedOut { what: String, timeout_ms: u64 },
    /// The producer was closed: it takes no more records.
    Closed,
}

impl ClientError {
    /// A Kafka error code (non-zero) as an error about `context`.
    pub fn kafka(code: i16, message: Option<String>, context: impl Into<String>) -> Self {
        let code = ResponseError::try_from_code(code).unwrap_or(ResponseError::Unknown(code));
        ClientError::Kafka { code, message, context: context.into() }
    }

    /// Checks a response's error code: `Ok` for 0, the error otherwise.
    pub fn check(code: i16, message: Option<String>, context: impl FnOnce() -> String) -> Result<(), Self> {
        if code == 0 {
            return Ok(());
        }
        Err(ClientError::kafka(code, message, context()))
    }

    /// Whether the same call may succeed if tried again.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Io(_) | ClientError::Timeout { .. } | ClientError::TimedOut { .. } => true,
            ClientError::Kafka { code, .. } => code.is_retriable(),
            _ => false,
        }
    }

    /// A copy, for the records of a batch that all fail with one error (an
    /// `io::Error` is not `Clone`: its kind and message are kept).
    pub fn duplicate(&self) -> ClientError {
        match self {
            ClientError::Io(e) => ClientError::Io(std::io::Error::new(e.kind(), e.to_string())),
            ClientError::Timeout { api, timeout_ms } => {
                ClientError::Timeout { api: *api, timeout_ms: *timeout_ms }
            }
            ClientError::UnsupportedVersion { api, broker } => {
                ClientError::UnsupportedVersion { api: *api, broker: *broker }
            }
            ClientError::Protocol(why) => ClientError::Protocol(why.clone()),
            ClientError::Kafka { code, message, context } => {
                ClientError::Kafka { code: *code, message: message.clone(), context: context.clone() }
            }
            ClientError::CorruptBatch(e) => ClientError::CorruptBatch(e.clone()),
            ClientError::InvalidArgument(why) => ClientError::InvalidArgument(why.clone()),
            ClientError::TimedOut { what, timeout_ms } => {
                ClientError::TimedOut { what: what.clone(), timeout_ms: *timeout_ms }
            }
            ClientError::Closed => ClientError::Closed,
        }
    }

    /// The Kafka error code, if the broker sent one.
    pub fn code(&self) -> Option<ResponseError> {
        match self {
            ClientError::Kafka { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "I/O error: {e}"),
            ClientError::Timeout { api, timeout_ms } => {
                write!(f, "{api:?} request timed out after {timeout_ms} ms")
            }
            ClientError::UnsupportedVersion { api, broker: Some((min, max)) } => {
                write!(f, "the broker speaks {api:?} v{min}-v{max}, none of which this client speaks")
            }
            ClientError::UnsupportedVersion { api, broker: None } => {
                write!(f, "the broker does not support {api:?}")
            }
            ClientError::Protocol(why) => write!(f, "protocol error: {why}"),
            ClientError::Kafka { code, message, context } => {
                write!(f, "{context}: {code} (error code {})", code.code())?;
                match message {
                    Some(m) if !m.is_empty() => write!(f, ": {m}"),
                    _ => Ok(()),
                }
            }
            ClientError::CorruptBatch(e) => write!(f, "corrupt record batch: {e}"),
            ClientError::InvalidArgument(why) => f.write_str(why),
            ClientError::TimedOut { what, timeout_ms } => write!(f, "{what} within {timeout_ms} ms"),
            ClientError::Closed => f.write_str("the producer is closed"),
        }
    }
}

/// No `source()`: each variant's message already includes its cause, and a
/// chain printer (anyhow's `{:#}`) would print it twice.
impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<BatchError> for ClientError {
    fn from(e: BatchError) -> Self {
        ClientError::CorruptBatch(e)
    }
}
