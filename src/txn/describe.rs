//! DescribeTransactions and ListTransactions (KIP-664): what
//! `kafka-transactions.sh --describe` and `--list` print, read from the
//! coordinator's metadata. A broker answers ListTransactions for every
//! `__transaction_state` partition it coordinates; the driver merges the
//! partitions' lists.

use std::collections::BTreeSet;

use super::coordinator::TransactionCoordinator;
use super::error::TxnError;
use super::metadata::TransactionMetadata;
use super::state::TransactionState;
use crate::TopicPartition;

/// One transactional id as DescribeTransactions answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDescription {
    pub transactional_id: String,
    pub state: TransactionState,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub transaction_timeout_ms: i32,
    /// When the open transaction started; -1 with none open.
    pub transaction_start_time_ms: i64,
    pub partitions: BTreeSet<TopicPartition>,
}

/// One transactional id as ListTransactions answers it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListedTransaction {
    pub transactional_id: String,
    pub producer_id: i64,
    pub state: TransactionState,
}

/// ListTransactions' filters; an empty set filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTransactionsFilter {
    pub producer_ids: BTreeSet<i64>,
    pub states: BTreeSet<TransactionState>,
    /// KIP-994: only transactions running longer than this; -1 for all.
    pub duration_ms_min: i64,
}

impl TransactionState {
    /// The state with this [`name`](Self::name), as ListTransactions' state filter gives it.
    pub fn from_name(name: &str) -> Option<TransactionState> {
        TransactionState::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl TransactionCoordinator {
    /// DescribeTransactions for one id: TRANSACTIONAL_ID_NOT_FOUND if this
    /// coordinator has no such id.
    pub fn describe_transaction(&self, transactional_id: &str) -> Result<TransactionDescription, TxnError> {
        self.check_owner(transactional_id)?;
        let m = self.transactions.get(transactional_id).ok_or(TxnError::TransactionalIdNotFound)?;
        Ok(TransactionDescription {
            transactional_id: m.transactional_id.clone(),
            state: m.state,
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
            transaction_timeout_ms: m.txn_timeout_ms,
            transaction_start_time_ms: m.txn_start_timestamp_ms,
            partitions: m.partitions.clone(),
        })
    }

    /// ListTransactions over this partition's ids, sorted by id (Kafka's
    /// `listTransactionStates`: a partition still loading answers
    /// COORDINATOR_LOAD_IN_PROGRESS; one not ours contributes nothing).
    pub fn list_transactions(
        &self,
        filter: &ListTransactionsFilter,
        now_ms: i64,
    ) -> Result<Vec<ListedTransaction>, TxnError> {
        match self.check_loaded() {
            Err(TxnError::NotCoordinator) => return Ok(vec![]),
            other => other?,
        }
        let included = |m: &&TransactionMetadata| {
            (filter.producer_ids.is_empty() || filter.producer_ids.contains(&m.producer_id))
                && (filter.states.is_empty() || filter.states.contains(&m.state))
                // Kafka's test, start time -1 included: Empty ids pass any duration.
                && (filter.duration_ms_min < 0 || now_ms - m.txn_start_timestamp_ms > filter.duration_ms_min)
        };
        let listed = self.transactions.values().filter(included);
        Ok(listed
            .map(|m| ListedTransaction {
                transactional_id: m.transactional_id.clone(),
                producer_id: m.producer_id,
                state: m.state,
            })
            .collect())
    }
}
