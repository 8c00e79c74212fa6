//! AddPartitionsToTxn and AddOffsetsToTxn: a transaction names the
//! partitions it will write before it writes them, so the coordinator knows
//! where its markers must go. The first partition starts the transaction
//! (and its `transaction.timeout.ms` clock).
//!
//! KIP-890 part 1 adds a verify-only form, sent by a partition leader rather
//! than the producer: before appending a transactional batch, the leader asks
//! whether the partition is already in the producer's open transaction. A
//! batch from a producer whose transaction has ended (a late retry, a zombie)
//! is refused with TRANSACTION_ABORTABLE, instead of starting a transaction
//! that nobody will end — the hanging transaction of KAFKA-14402.

use std::collections::{BTreeMap, BTreeSet};

use super::coordinator::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AfterAppend, Output, ReplyBody, RequestToken,
    TransactionCoordinator,
};
use super::error::TxnError;
use super::metadata::{TransactionMetadata, NO_PRODUCER_EPOCH};
use super::state::TransactionState::*;
use crate::group::{self, CONSUMER_OFFSETS_TOPIC};
use crate::TopicPartition;

impl TransactionCoordinator {
    /// AddPartitionsToTxn from the producer: the partitions join the transaction
    /// once their record is durable.
    pub fn add_partitions(
        &mut self,
        token: RequestToken,
        request: &AddPartitionsToTxnRequest,
        now_ms: i64,
    ) -> Output {
        let AddPartitionsToTxnRequest { transactional_id, producer_id, producer_epoch, partitions } = request;
        let then = AfterAppend::Add { token, offsets: false };
        let error = |e| ReplyBody::AddPartitionsToTxn(Err(e));
        self.add(token, transactional_id, *producer_id, *producer_epoch, partitions, now_ms, then, error)
    }

    /// AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the
    /// transaction, so the offsets the producer commits with TxnOffsetCommit
    /// get the transaction's marker too.
    pub fn add_offsets(
        &mut self,
        token: RequestToken,
        request: &AddOffsetsToTxnRequest,
        now_ms: i64,
    ) -> Output {
        let AddOffsetsToTxnRequest { transactional_id, producer_id, producer_epoch, group_id } = request;
        let (producer_id, producer_epoch) = (*producer_id, *producer_epoch);
        if group_id.is_empty() {
            return Output::reply(token, ReplyBody::AddOffsetsToTxn(Err(TxnError::InvalidRequest)));
        }
        let partition = group::partition_for(group_id, self.config.offsets_topic_partitions);
        let partitions = BTreeSet::from([TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition)]);
        let then = AfterAppend::Add { token, offsets: true };
        let error = |e| ReplyBody::AddOffsetsToTxn(Err(e));
        self.add(token, transactional_id, producer_id, producer_epoch, &partitions, now_ms, then, error)
    }

    #[allow(clippy::too_many_arguments)] // the two requests' fields, passed through
    fn add(
        &mut self,
        token: RequestToken,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &BTreeSet<TopicPartition>,
        now_ms: i64,
        then: AfterAppend,
        error: impl Fn(TxnError) -> ReplyBody,
    ) -> Output {
        let checked = self.check_owner(transactional_id).and_then(|()| {
            let m = self.transactions.get(transactional_id).ok_or(TxnError::InvalidProducerIdMapping)?;
            check_producer(m, producer_id, producer_epoch)?;
            if m.pending.is_some() || matches!(m.state, PrepareCommit | PrepareAbort) {
                return Err(TxnError::ConcurrentTransactions);
            }
            Ok(m.state == Ongoing && partitions.is_subset(&m.partitions))
        });
        match checked {
            Err(e) => Output::reply(token, error(e)),
            // Already in the transaction: nothing to write (Kafka's shortcut).
            Ok(true) => Output::reply(token, reply_ok(&then)),
            Ok(false) => {
                let m = self.transactions.get_mut(transactional_id).expect("checked");
                m.prepare_add_partitions(partitions, now_ms);
                let mut out = Output::default();
                self.append_pending(transactional_id, then, &mut out);
                out
            }
        }
    }

    // ANCHOR: verify
    /// KIP-890's verification, from a partition leader about to append a
    /// transactional batch: for each partition, whether it is in the
    /// producer's open transaction (TRANSACTION_ABORTABLE if not). An error
    /// for the whole request applies to every partition. Nothing is written.
    pub fn verify_partitions(
        &self,
        request: &AddPartitionsToTxnRequest,
    ) -> Result<BTreeMap<TopicPartition, Result<(), TxnError>>, TxnError> {
        let AddPartitionsToTxnRequest { transactional_id, producer_id, producer_epoch, partitions } = request;
        self.check_owner(transactional_id)?;
        let m = self.transactions.get(transactional_id).ok_or(TxnError::InvalidProducerIdMapping)?;
        check_producer(m, *producer_id, *producer_epoch)?;
        if matches!(m.state, PrepareCommit | PrepareAbort) {
            return Err(TxnError::ConcurrentTransactions);
        }
        let in_txn =
            |p: &TopicPartition| m.partitions.contains(p).then_some(()).ok_or(TxnError::TransactionAbortable);
        Ok(partitions.iter().map(|p| (p.clone(), in_txn(p))).collect())
    }
    // ANCHOR_END: verify
}

// ANCHOR: check_producer
/// The producer id must be the transactional id's, and the epoch its current
/// one. `i16::MAX` is never a producer's: only a fence reaches it (exhausted
/// epochs move to a new producer id first), and a transaction opened with it
/// could not be fenced again. A producer id whose first InitProducerId never
/// became durable has no epoch (-1), so no producer holds it yet.
pub(super) fn check_producer(
    m: &TransactionMetadata,
    producer_id: i64,
    producer_epoch: i16,
) -> Result<(), TxnError> {
    if m.producer_id != producer_id || m.producer_epoch == NO_PRODUCER_EPOCH {
        Err(TxnError::InvalidProducerIdMapping)
    } else if producer_epoch == i16::MAX || m.producer_epoch != producer_epoch {
        Err(TxnError::ProducerFenced)
    } else {
        Ok(())
    }
}
// ANCHOR_END: check_producer

fn reply_ok(then: &AfterAppend) -> ReplyBody {
    match then {
        AfterAppend::Add { offsets: true, .. } => ReplyBody::AddOffsetsToTxn(Ok(())),
        _ => ReplyBody::AddPartitionsToTxn(Ok(())),
    }
}
