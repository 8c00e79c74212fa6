//! KIP-890 part 1 on the produce path: before a partition leader appends a
//! producer's first transactional batch, it asks the transaction
//! coordinator whether the partition is in the producer's open transaction
//! (Kafka's `ReplicaManager.handleProduceAppend` with
//! `maybeStartTransactionVerificationForPartitions`, and
//! `AddPartitionsToTxnManager`).
//!
//! ```text
//!  Produce(transactional_id, txn batch of pid/epoch for tp)
//!    transaction open on tp? ── yes ─▶ append (SENTINEL guard: nothing to ask)
//!         no ─▶ guard G in tp's producer table
//!            ─▶ coordinator = leader of __transaction_state-partition_for(transactional_id)
//!                 this broker ─▶ its AddPartitionsToTxn handler, called directly
//!                 another     ─▶ AddPartitionsToTxn v4, verify_only=true, inter-broker listener
//!            ─▶ in the transaction: append, if tp's guard is still G
//!               not in it / fenced / coordinator busy: Kafka's produce error, nothing written
//! ```
//!
//! A producer of transaction version 2 (KIP-890 part 2: Produce v12 at a
//! broker whose `spool.transaction.version` is 2) sends no
//! AddPartitionsToTxn: the same question is then asked without
//! `verify_only` (AddPartitionsToTxn v5), and the coordinator adds the
//! partition to the transaction as it answers.
//!
//! The coordinator's answer is mapped as Kafka maps it for a producer:
//! PRODUCER_FENCED → INVALID_PRODUCER_EPOCH (what producers expect on
//! produce); TRANSACTION_ABORTABLE → INVALID_TXN_STATE for Produce v0–v10
//! (clients before KIP-890 do not know it); the coordinator's retriable
//! errors (CONCURRENT_TRANSACTIONS, COORDINATOR_LOAD_IN_PROGRESS,
//! COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, a network failure) →
//! NOT_ENOUGH_REPLICAS, which every client retries without refreshing its
//! metadata. A transactional batch in a request without a transactional id
//! is not asked about: it is refused unless its transaction is already open
//! here, as in Kafka.
//!
//! Simplifications: each partition of a request is verified on its own, one
//! after the other (Kafka sends one request per coordinator for all of them,
//! batched across produce requests); a connection is opened per
//! verification to another broker (Kafka keeps one per broker). Only the
//! first batch of a transaction on each partition is asked about, so this is
//! one round trip per partition per transaction.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ProducerId, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::super::{now_ms, Broker, Partition};
use crate::format::batch::{batch_size, LOG_OVERHEAD};
use crate::idempotence::{BatchInfo, VerificationGuard};
use crate::log::manager::lock;
use crate::log::producers::{batch_info, AppendOrigin};
use crate::txn::TRANSACTION_STATE_TOPIC;
use crate::TopicPartition;

/// The AddPartitionsToTxn version with `verify_only` (KIP-890 part 1).
const VERIFY_VERSION: i16 = 4;
/// The AddPartitionsToTxn version a leader adds a transaction version 2
/// producer's partition with (KIP-890 part 2).
const ADD_VERSION: i16 = 5;
/// How long a verification with another broker may take.
const VERIFY_TIMEOUT_MS: u64 = 30_000;

impl Broker {
    // ANCHOR: verify_txn_produce
    /// How `records` (validated, for `tp`) must be appended: plainly when
    /// `transaction.partition.verification.enable` is off or they hold no
    /// transactional batch; otherwise with the guard of a verification the
    /// coordinator has passed — or refused here with Kafka's produce error.
    pub(super) async fn verify_txn_produce(
        self: &Arc<Self>,
        tp: &TopicPartition,
        partition: &Partition,
        records: &[u8],
        transactional_id: Option<&str>,
        produce_version: i16,
    ) -> Result<AppendOrigin, (ResponseError, String)> {
        if !self.config.transactions.partition_verification_enable {
            return Ok(AppendOrigin::Client);
        }
        let Some(batch) = first_transactional(records) else { return Ok(AppendOrigin::Client) };
        let Some(transactional_id) = transactional_id.filter(|id| !id.is_empty()) else {
            // Nobody to ask: the log refuses it unless its transaction is open here.
            return Ok(AppendOrigin::VerifiedClient(VerificationGuard::SENTINEL));
        };
        let (pid, epoch) = (batch.producer_id, batch.producer_epoch);
        let guard =
            lock(&partition.log).maybe_start_txn_verification(pid, batch.base_sequence, epoch, now_ms());
        if guard == VerificationGuard::SENTINEL {
            return Ok(AppendOrigin::VerifiedClient(guard)); // open here already
        }
        // Transaction version 2 (Produce v12): the producer sent no
        // AddPartitionsToTxn; the leader adds the partition as it verifies.
        let add = self.client_transaction_version(ApiKey::Produce, produce_version) >= 2;
        let coordinator_code = self.verify_with_coordinator(transactional_id, pid, epoch, tp, add).await;
        match produce_error(coordinator_code, produce_version) {
            None => Ok(AppendOrigin::VerifiedClient(guard)),
            Some(error) => Err((
                error,
                format!(
                    "{tp}: the transaction coordinator did not verify {transactional_id} (producer {pid}, \
                     epoch {epoch}): error {coordinator_code}"
                ),
            )),
        }
    }
    // ANCHOR_END: verify_txn_produce

    // ANCHOR: verify_with_coordinator
    /// The coordinator's error code for `tp` in (transactional id, producer
    /// id, epoch): 0 if the partition is in the open transaction — or, with
    /// `add` (a transaction version 2 client, KIP-890 part 2), 0 once the
    /// coordinator has added it (AddPartitionsToTxn v5, not verify-only:
    /// the transaction starts or grows as if the producer had asked).
    pub(in crate::broker) async fn verify_with_coordinator(
        self: &Arc<Self>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        tp: &TopicPartition,
        add: bool,
    ) -> i16 {
        let not_available = ResponseError::CoordinatorNotAvailable.code();
        let Ok(state_partition) = self.transaction_state_partition(transactional_id) else {
            return not_available;
        };
        let image = self.metadata_image();
        let leader = image.partition(TRANSACTION_STATE_TOPIC, state_partition).map_or(-1, |p| p.leader);
        let request = verify_request(transactional_id, producer_id, producer_epoch, tp, !add);
        let version = if add { ADD_VERSION } else { VERIFY_VERSION };
        let response = if leader < 0 {
            return not_available;
        } else if leader == self.config.node_id {
            match self.add_partitions_to_txn(request, version).await {
                Ok(response) => response,
                Err(_) => return not_available,
            }
        } else {
            match self.send_verification(leader, &request, version).await {
                Ok(response) => response,
                Err(e) => {
                    tracing::debug!(%tp, leader, error = %e, "verification not sent");
                    return ResponseError::NetworkException.code();
                }
            }
        };
        partition_code(&response, transactional_id, tp)
    }
    // ANCHOR_END: verify_with_coordinator

    /// AddPartitionsToTxn (verify-only) to the coordinator on broker `leader`.
    async fn send_verification(
        &self,
        leader: i32,
        request: &AddPartitionsToTxnRequest,
        version: i16,
    ) -> Result<AddPartitionsToTxnResponse, String> {
        let addr = self.broker_address(leader).ok_or_else(|| format!("no address for broker {leader}"))?;
        let timeout = Duration::from_millis(VERIFY_TIMEOUT_MS);
        let mut connection = self.dial_broker(&addr, timeout).await.map_err(|e| e.to_string())?;
        connection.send_at(request, version, timeout).await.map_err(|e| e.to_string())
    }
}

/// The producer fields of the first transactional batch of `records`, if any.
fn first_transactional(records: &[u8]) -> Option<BatchInfo> {
    let mut rest = records;
    while rest.len() >= LOG_OVERHEAD {
        let Some(Ok(size)) = batch_size(rest) else { return None };
        let one = rest.get(..size)?;
        let info = batch_info(one);
        if info.is_transactional && info.has_producer_id() {
            return Some(info);
        }
        rest = &rest[size..];
    }
    None
}

/// The verify-only (or, transaction version 2, adding) request for one partition.
fn verify_request(
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    tp: &TopicPartition,
    verify_only: bool,
) -> AddPartitionsToTxnRequest {
    let topic = AddPartitionsToTxnTopic::default()
        .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
        .with_partitions(vec![tp.partition]);
    let transaction = AddPartitionsToTxnTransaction::default()
        .with_transactional_id(TransactionalId(StrBytes::from_string(transactional_id.to_owned())))
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(producer_epoch)
        .with_verify_only(verify_only)
        .with_topics(vec![topic]);
    AddPartitionsToTxnRequest::default().with_transactions(vec![transaction])
}

/// `tp`'s code in a verify-only answer: the top-level error if there is one,
/// else the partition's; a partition the answer leaves out was not refused
/// (Kafka's `AddPartitionsToTxnManager` reports only the unverified ones).
fn partition_code(response: &AddPartitionsToTxnResponse, transactional_id: &str, tp: &TopicPartition) -> i16 {
    if response.error_code != 0 {
        return response.error_code;
    }
    (response.results_by_transaction.iter())
        .filter(|t| t.transactional_id.0.as_str() == transactional_id)
        .flat_map(|t| &t.topic_results)
        .filter(|t| t.name.0.as_str() == tp.topic)
        .flat_map(|t| &t.results_by_partition)
        .find(|p| p.partition_index == tp.partition)
        .map_or(0, |p| p.partition_error_code)
}

// ANCHOR: produce_error
/// What the producer hears when the coordinator answered `code` (Kafka's
/// `AddPartitionsToTxnManager` then `ReplicaManager.handleProduceAppend`):
/// `None` to append.
fn produce_error(code: i16, produce_version: i16) -> Option<ResponseError> {
    use ResponseError::*;
    let error = ResponseError::try_from_code(code)?;
    Some(match error {
        // Producers handle INVALID_PRODUCER_EPOCH on produce (KAFKA-10687).
        ProducerFenced => InvalidProducerEpoch,
        // Produce v11 is the first whose clients know TRANSACTION_ABORTABLE.
        TransactionAbortable if produce_version <= 10 => InvalidTxnState,
        // Retriable for the coordinator, but older clients may not retry
        // them on produce; NOT_ENOUGH_REPLICAS is retried by all, and does
        // not send them to refresh their metadata.
        ConcurrentTransactions
        | NetworkException
        | CoordinatorLoadInProgress
        | CoordinatorNotAvailable
        | NotCoordinator => NotEnoughReplicas,
        other => other,
    })
}
// ANCHOR_END: produce_error

#[cfg(test)]
mod tests {
    use super::*;

    /// The coordinator's answers reach the producer as Kafka maps them
    /// (`AddPartitionsToTxnManager`, `ReplicaManager.handleProduceAppend`).
    #[test]
    fn coordinator_errors_map_as_kafkas() {
        let code = |e: ResponseError| e.code();
        assert_eq!(produce_error(0, 9), None);
        assert_eq!(
            produce_error(code(ResponseError::ProducerFenced), 9),
            Some(ResponseError::InvalidProducerEpoch)
        );
        assert_eq!(
            produce_error(code(ResponseError::TransactionAbortable), 10),
            Some(ResponseError::InvalidTxnState)
        );
        assert_eq!(
            produce_error(code(ResponseError::TransactionAbortable), 11),
            Some(ResponseError::TransactionAbortable)
        );
        for retriable in [
            ResponseError::ConcurrentTransactions,
            ResponseError::CoordinatorLoadInProgress,
            ResponseError::CoordinatorNotAvailable,
            ResponseError::NotCoordinator,
            ResponseError::NetworkException,
        ] {
            assert_eq!(
                produce_error(code(retriable), 9),
                Some(ResponseError::NotEnoughReplicas),
                "{retriable:?}"
            );
        }
        assert_eq!(
            produce_error(code(ResponseError::InvalidTxnState), 9),
            Some(ResponseError::InvalidTxnState)
        );
        assert_eq!(
            produce_error(code(ResponseError::InvalidProducerIdMapping), 9),
            Some(ResponseError::InvalidProducerIdMapping)
        );
    }
}
