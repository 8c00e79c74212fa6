//! KIP-890 part 1 for the group coordinator (chapter 9): a TxnOffsetCommit
//! is written to its group's `__consumer_offsets` partition as a
//! transactional batch of the producer, so it needs the same question a
//! produce's first transactional batch asks ([`super::super::produce`]'s
//! `verify.rs`): is that partition in the producer's open transaction?
//! Kafka's `GroupCoordinator.handleTxnCommitOffsets` asks it with
//! `ReplicaManager.maybeStartTransactionVerificationForPartition` before
//! it touches the group.
//!
//! ```text
//!  TxnOffsetCommit(transactional_id, pid, epoch, group)
//!    tp = __consumer_offsets-partition_for(group)
//!    transaction open on tp? ── yes ─▶ commit (SENTINEL guard)
//!         no ─▶ guard G in tp's producer table, ask the transaction coordinator
//!            ─▶ in the transaction: commit; the append checks, under the
//!               log lock, that tp's guard is still G (INVALID_TXN_STATE if not)
//!               not in it (no AddOffsetsToTxn), fenced, coordinator busy:
//!               every partition of the request gets Kafka's error; the group
//!               coordinator never sees the commit, so nothing waits for a marker
//! ```
//!
//! Without it, a commit whose offsets partition was never added to the
//! transaction opens a transaction there that no marker will ever end: the
//! partition's last stable offset is pinned and OffsetFetch with
//! `require_stable` answers UNSTABLE_OFFSET_COMMIT for those offsets for good.
//!
//! The coordinator's answer reaches the client as Kafka maps it: first as
//! `AddPartitionsToTxnManager` does for any verification (PRODUCER_FENCED →
//! INVALID_PRODUCER_EPOCH; TRANSACTION_ABORTABLE → INVALID_TXN_STATE before
//! TxnOffsetCommit v4), then as `GroupMetadataManager.maybeConvertOffsetCommitError`
//! does for an offset commit (a network failure → COORDINATOR_LOAD_IN_PROGRESS,
//! so the client retries without looking the coordinator up again).

use std::sync::Arc;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;

use super::super::{now_ms, Broker};
use crate::group::{partition_for, CONSUMER_OFFSETS_TOPIC};
use crate::idempotence::VerificationGuard;
use crate::log::manager::lock;
use crate::TopicPartition;

/// Kafka's `RecordBatch.NO_SEQUENCE`: a coordinator's verification has no
/// batch of the client's to order.
const NO_SEQUENCE: i32 = -1;

impl Broker {
    // ANCHOR: verify_txn_offset_commit
    /// Before a TxnOffsetCommit of `group_id` for (`transactional_id`,
    /// `producer_id`, `producer_epoch`) reaches the group coordinator: the
    /// guard its append must carry (`None` when
    /// `transaction.partition.verification.enable` is off), or the error
    /// every partition of the request gets, nothing written.
    pub(super) async fn verify_txn_offset_commit(
        self: &Arc<Self>,
        group_id: &str,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        version: i16,
    ) -> Result<Option<VerificationGuard>, ResponseError> {
        if !self.config.transactions.partition_verification_enable {
            return Ok(None);
        }
        // A commit this broker cannot start a verification for is appended
        // only if its transaction is already open there (or fails to append).
        let refuse_unless_open = Ok(Some(VerificationGuard::SENTINEL));
        let Ok(partitions) = self.ensure_offsets_topic() else { return refuse_unless_open };
        let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition_for(group_id, partitions));
        let Some(partition) = self.partition(&tp) else { return refuse_unless_open };
        if transactional_id.is_empty() {
            return refuse_unless_open; // nobody to ask
        }
        let guard = lock(&partition.log).maybe_start_txn_verification(
            producer_id,
            NO_SEQUENCE,
            producer_epoch,
            now_ms(),
        );
        if guard == VerificationGuard::SENTINEL {
            return Ok(Some(guard)); // open there already
        }
        // Transaction version 2 (TxnOffsetCommit v5): the producer sent no
        // AddOffsetsToTxn; the offsets partition is added as it is verified.
        let add = self.client_transaction_version(ApiKey::TxnOffsetCommit, version) >= 2;
        let coordinator_code =
            self.verify_with_coordinator(transactional_id, producer_id, producer_epoch, &tp, add).await;
        match txn_offset_commit_error(coordinator_code, version) {
            None => Ok(Some(guard)),
            Some(error) => {
                tracing::debug!(
                    %tp, transactional_id, producer_id, producer_epoch, coordinator_code,
                    "TxnOffsetCommit not verified"
                );
                Err(error)
            }
        }
    }
    // ANCHOR_END: verify_txn_offset_commit
}

// ANCHOR: txn_offset_commit_error
/// What a TxnOffsetCommit's client hears when the transaction coordinator
/// answered `code` about the group's offsets partition (Kafka's
/// `AddPartitionsToTxnManager`, then `maybeConvertOffsetCommitError`):
/// `None` to commit.
fn txn_offset_commit_error(code: i16, version: i16) -> Option<ResponseError> {
    use ResponseError::*;
    let error = ResponseError::try_from_code(code)?;
    Some(match error {
        // Producers handle INVALID_PRODUCER_EPOCH here (KAFKA-10687).
        ProducerFenced => InvalidProducerEpoch,
        // TxnOffsetCommit v4 is the first whose clients know TRANSACTION_ABORTABLE.
        TransactionAbortable if version < 4 => InvalidTxnState,
        // Retriable, without a coordinator lookup, for every client.
        NetworkException => CoordinatorLoadInProgress,
        UnknownTopicOrPartition | NotEnoughReplicas | NotEnoughReplicasAfterAppend => CoordinatorNotAvailable,
        NotLeaderOrFollower | KafkaStorageError => NotCoordinator,
        other => other,
    })
}
// ANCHOR_END: txn_offset_commit_error

#[cfg(test)]
mod tests {
    use super::*;

    /// The coordinator's answers reach a TxnOffsetCommit's client as Kafka
    /// maps them (`AddPartitionsToTxnManager`, then
    /// `GroupMetadataManager.maybeConvertOffsetCommitError`).
    #[test]
    fn coordinator_errors_map_as_kafkas_for_offset_commits() {
        use ResponseError::*;
        let map = |e: ResponseError, version| txn_offset_commit_error(e.code(), version);
        assert_eq!(txn_offset_commit_error(0, 3), None);
        assert_eq!(map(ProducerFenced, 3), Some(InvalidProducerEpoch));
        assert_eq!(map(TransactionAbortable, 3), Some(InvalidTxnState));
        assert_eq!(map(TransactionAbortable, 4), Some(TransactionAbortable));
        assert_eq!(map(NetworkException, 3), Some(CoordinatorLoadInProgress));
        assert_eq!(map(NotEnoughReplicas, 3), Some(CoordinatorNotAvailable));
        assert_eq!(map(KafkaStorageError, 3), Some(NotCoordinator));
        for as_is in
            [InvalidTxnState, InvalidProducerIdMapping, ConcurrentTransactions, CoordinatorNotAvailable]
        {
            assert_eq!(map(as_is, 4), Some(as_is), "{as_is:?}");
        }
    }
}
