//! Why the transaction coordinator refused a request, as the Kafka error code
//! the client acts on.

use std::fmt;

use kafka_protocol::ResponseError;

/// A refusal, with what the client does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxnError {
    /// An empty transactional id (or group id): fatal.
    InvalidRequest,
    /// `transaction.timeout.ms` is not positive or above the broker's
    /// `transaction.max.timeout.ms`: fatal.
    InvalidTransactionTimeout,
    /// Another change of this transactional id is under way (a record being
    /// appended, markers being written, a fenced transaction aborting): retry
    /// after a backoff.
    ConcurrentTransactions,
    /// A newer producer with the same transactional id has a higher epoch:
    /// fatal, this producer is a zombie. Clients older than KIP-588 get
    /// INVALID_PRODUCER_EPOCH instead ([`TxnError::response_error_for_old_client`]).
    ProducerFenced,
    /// The request does not fit the transaction's state (commit after abort,
    /// EndTxn with nothing open): fatal for the transaction.
    InvalidTxnState,
    /// The producer id is not the one this transactional id holds (or the id
    /// is unknown): fatal, initialize again.
    InvalidProducerIdMapping,
    /// KIP-890's verification: the partition is not in the open transaction;
    /// the producer must abort the transaction.
    TransactionAbortable,
    /// This broker is still reading its `__transaction_state` partition, or
    /// waits for a producer id block: retry shortly.
    CoordinatorLoadInProgress,
    /// This broker is not (or no longer) the coordinator of the id: find the
    /// coordinator again.
    NotCoordinator,
    /// The record could not be replicated: retry.
    CoordinatorNotAvailable,
    /// DescribeTransactions: this coordinator has no such transactional id.
    TransactionalIdNotFound,
}

impl TxnError {
    /// Kafka's error, for the response's `error_code`.
    pub fn response_error(self) -> ResponseError {
        match self {
            TxnError::InvalidRequest => ResponseError::InvalidRequest,
            TxnError::InvalidTransactionTimeout => ResponseError::InvalidTransactionTimeout,
            TxnError::ConcurrentTransactions => ResponseError::ConcurrentTransactions,
            TxnError::ProducerFenced => ResponseError::ProducerFenced,
            TxnError::InvalidTxnState => ResponseError::InvalidTxnState,
            TxnError::InvalidProducerIdMapping => ResponseError::InvalidProducerIdMapping,
            TxnError::TransactionAbortable => ResponseError::TransactionAbortable,
            TxnError::CoordinatorLoadInProgress => ResponseError::CoordinatorLoadInProgress,
            TxnError::NotCoordinator => ResponseError::NotCoordinator,
            TxnError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
            TxnError::TransactionalIdNotFound => ResponseError::TransactionalIdNotFound,
        }
    }

    /// The error for a request version from before PRODUCER_FENCED existed
    /// (KIP-588), which knows only INVALID_PRODUCER_EPOCH for a fenced producer.
    pub fn response_error_for_old_client(self) -> ResponseError {
        match self {
            TxnError::ProducerFenced => ResponseError::InvalidProducerEpoch,
            other => other.response_error(),
        }
    }

    /// The wire code.
    pub fn code(self) -> i16 {
        self.response_error().code()
    }
}

impl fmt::Display for TxnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.response_error())
    }
}

impl std::error::Error for TxnError {}
