//! Why a partition's produce was refused, as the answer carries it: Kafka's
//! error code, a message, and — for a batch refused because of some of its
//! records — each of those records (KIP-467, Produce v8+'s `record_errors`).
//!
//! ```text
//!  batch [r0 r1 r2 r3 r4] on a compacted topic, r1 and r3 keyless
//!    ──▶ INVALID_RECORD, record_errors [(1, "…without key…"), (3, "…")],
//!        error_message "One or more records have been rejected due to 2 …"
//! ```
//!
//! A record stamped outside its topic's `message.timestamp.*.max.ms` makes
//! the batch `INVALID_TIMESTAMP` instead, the other records at fault still
//! named (Kafka's `processRecordErrors`).
//!
//! The generated encoders leave both fields out below v8, so an older client
//! gets the code alone, as from Kafka. librdkafka fails the whole batch
//! either way (Kafka too refuses it whole) but reports each record's own
//! message on its delivery report.

use kafka_protocol::messages::produce_response::{BatchIndexAndErrorMessage, PartitionProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::log::validator::{RecordError, ValidationError};

/// A partition's produce refused: nothing of its records was appended.
#[derive(Debug)]
pub struct Refused {
    pub code: ResponseError,
    /// The partition's `error_message`.
    pub message: String,
    /// The records at fault, when the batch was refused because of them.
    pub record_errors: Vec<RecordError>,
}

impl From<(ResponseError, String)> for Refused {
    fn from((code, message): (ResponseError, String)) -> Self {
        Refused { code, message, record_errors: Vec::new() }
    }
}

impl From<ValidationError> for Refused {
    /// Chapter 4's reasons, as Kafka's codes.
    fn from(e: ValidationError) -> Self {
        let code = match &e {
            ValidationError::Corrupt(_) => ResponseError::CorruptMessage,
            ValidationError::InvalidRecord(_) | ValidationError::RecordErrors(_) => {
                ResponseError::InvalidRecord
            }
            ValidationError::UnsupportedCompression(_) => ResponseError::UnsupportedCompressionType,
            ValidationError::InvalidTimestamp(_) => ResponseError::InvalidTimestamp,
        };
        let message = e.to_string();
        let record_errors = match e {
            ValidationError::RecordErrors(errors) | ValidationError::InvalidTimestamp(errors) => errors,
            _ => Vec::new(),
        };
        Refused { code, message, record_errors }
    }
}

impl Refused {
    // ANCHOR: refused_response
    /// The partition's answer: the code, the message and each record at fault.
    pub fn response(self, partition: i32) -> PartitionProduceResponse {
        let record_errors = self
            .record_errors
            .into_iter()
            .map(|e| {
                BatchIndexAndErrorMessage::default()
                    .with_batch_index(e.batch_index)
                    .with_batch_index_error_message(Some(StrBytes::from_string(e.message)))
            })
            .collect();
        PartitionProduceResponse::default()
            .with_index(partition)
            .with_error_code(self.code.code())
            .with_base_offset(-1)
            .with_error_message(Some(StrBytes::from_string(self.message)))
            .with_record_errors(record_errors)
    }
    // ANCHOR_END: refused_response
}
