//! Chapter 9: a transaction's consumer offsets (KIP-98's TxnOffsetCommit,
//! KIP-447's fencing and `require_stable`).
//!
//! A read-process-write application consumes from one topic, produces to
//! another and must move its consumer position in the same transaction, or
//! a crash between the two re-processes (or skips) records. So the producer
//! sends its group's offsets to the group coordinator inside the transaction
//! (`sendOffsetsToTransaction`), and they must become the group's committed
//! offsets exactly when the transaction commits, never if it aborts.
//!
//! ```text
//!  producer ── AddOffsetsToTxn ──▶ txn coordinator: the group's __consumer_offsets
//!                                  partition joins the transaction
//!           ── TxnOffsetCommit ──▶ group coordinator: records appended as a
//!                                  *transactional* batch of the producer; the
//!                                  offsets wait, invisible to OffsetFetch
//!           ── EndTxn ───────────▶ txn coordinator ── WriteTxnMarkers ──▶ the marker
//!                                  (COMMIT/ABORT control batch) lands on the
//!                                  partition, then complete_txn: COMMIT makes
//!                                  them the group's offsets, ABORT drops them
//! ```
//!
//! **Which offset wins.** A group's plain and transactional commits all go to
//! one `__consumer_offsets` partition, and there, as for compaction, the
//! later *record* of a partition's key wins — not the later marker. A plain
//! OffsetCommit appended after a transaction's record beats it even if the
//! transaction commits afterwards; one appended before it loses to it even if
//! its store is reported afterwards. Kafka keeps each offset's append offset
//! in the log to decide (`CommitRecordMetadataAndOffset.olderThan`); here the
//! group's pending commits, plain and transactional, are one list in append
//! order, and applying one drops its partitions from every earlier one
//! (`Group::apply_commit`), which decides the same without log offsets.
//!
//! **Restart.** The loader replays the partition in log order
//! ([`OffsetsLogEntry`]): records of transactional batches wait per producer,
//! the producer's COMMIT marker applies them, ABORT drops them, and a
//! transaction with no marker yet stays pending after the load, until the
//! transaction coordinator (re)sends its marker.
//!
//! **Fencing.** v3+ of TxnOffsetCommit carries the consumer's member id and
//! generation, checked as on OffsetCommit (KIP-447): a producer whose
//! consumer was kicked out of the group cannot commit for it. Older clients
//! send generation -1 and no member, and are trusted, as in Kafka. The
//! producer's epoch is checked by the partition's log (its producer state),
//! not here.
//!
//! Simplifications: no `hasReceivedConsistentOffsetCommits` warning for
//! groups mixing both kinds of commits; a marker that arrives while a
//! transaction's commit is still waiting for its store drops that commit
//! (Kafka throws: the client only ends its transaction after the
//! TxnOffsetCommit answer, so this does not happen with a correct client).

use super::records::{GroupRecord, OffsetCommitValue};
use super::state::{Group, PendingCommit};
use super::types::*;
use super::CommitResult;
use crate::TopicPartition;

/// One entry of a `__consumer_offsets` partition as the loader reads it, in
/// log order ([`super::GroupCoordinator::load_partition`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OffsetsLogEntry {
    /// A record of a plain batch.
    Record(GroupRecord),
    /// A record of a transactional batch of `producer_id`: it counts only
    /// once the producer's COMMIT marker follows.
    Transactional { producer_id: i64, record: GroupRecord },
    /// A COMMIT (`commit`) or ABORT marker of `producer_id`.
    Marker { producer_id: i64, commit: bool },
}

impl From<GroupRecord> for OffsetsLogEntry {
    fn from(record: GroupRecord) -> Self {
        OffsetsLogEntry::Record(record)
    }
}

impl Group {
    // ANCHOR: txn_commit
    /// A TxnOffsetCommit: the offsets are written as records of the
    /// producer's transaction and wait, first for their store, then for the
    /// transaction's marker ([`Group::complete_txn`]).
    pub(super) fn txn_commit(
        &mut self,
        token: RequestToken,
        req: &TxnOffsetCommitRequest,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) -> Vec<CommitResult> {
        if let Some(error) = self.validate_txn_commit(req) {
            return req.partitions.iter().map(|p| (p.partition.clone(), Some(error))).collect();
        }
        let producer = Some((req.producer_id, req.producer_epoch));
        self.store_offsets(token, &req.partitions, producer, config, now_ms, out)
    }
    // ANCHOR_END: txn_commit

    /// Kafka's `validateOffsetCommit` with `isTransactional`: as for an
    /// OffsetCommit, a member (or generation) that is given must be current;
    /// but an old client's anonymous commit (generation -1, no member) is
    /// taken even by a group with members, and a group completing a
    /// rebalance is no reason to refuse (Kafka checks neither for
    /// transactions: the transaction itself is fenced by the producer epoch).
    fn validate_txn_commit(&self, req: &TxnOffsetCommitRequest) -> Option<GroupError> {
        if self.state == GroupState::Dead {
            return Some(GroupError::CoordinatorNotAvailable);
        }
        if req.generation_id < 0 && self.state == GroupState::Empty {
            return None;
        }
        if req.generation_id >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some() {
            if let Some(error) = self.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
                return Some(error);
            }
            return (req.generation_id != self.generation_id).then_some(GroupError::IllegalGeneration);
        }
        None
    }

    // ANCHOR: complete_txn
    /// The marker of `producer_id`'s transaction is in the log (Kafka's
    /// `completePendingTxnOffsetCommit`): on COMMIT its stored offsets become
    /// the committed ones, in the order they were appended, except where a
    /// later commit of the same partition already superseded them; on ABORT
    /// they are dropped. `false` if the group held nothing of the producer.
    pub(super) fn complete_txn(&mut self, producer_id: i64, commit: bool) -> bool {
        let mut found = false;
        let mut i = 0;
        while i < self.pending_commits.len() {
            if self.pending_commits[i].producer_id != Some(producer_id) {
                i += 1;
                continue;
            }
            found = true;
            let done = self.pending_commits.remove(i);
            // A commit whose store is still unreported was never
            // acknowledged: nothing was promised (see the module doc).
            if commit && done.token.is_none() {
                self.apply_commit(i, done.offsets);
            }
        }
        self.pending_commits.retain(|p| !p.offsets.is_empty());
        found
    }
    // ANCHOR_END: complete_txn

    /// Whether a transaction of `producer_id` holds offsets of this group.
    pub fn has_pending_txn_offsets(&self, producer_id: i64) -> bool {
        self.pending_commits.iter().any(|p| p.producer_id == Some(producer_id))
    }

    /// Loading: a plain offset record (or tombstone). It is later than every
    /// transactional record read so far, so it supersedes them.
    pub(super) fn load_offset(&mut self, partition: TopicPartition, value: Option<OffsetCommitValue>) {
        for pending in &mut self.pending_commits {
            pending.offsets.remove(&partition);
        }
        self.pending_commits.retain(|p| !p.offsets.is_empty());
        match value {
            Some(value) => self.offsets.insert(partition, value),
            None => self.offsets.remove(&partition),
        };
    }

    /// Loading: an offset record of `producer_id`'s transaction, stored and
    /// waiting for its marker. A tombstone in a transaction (Kafka writes
    /// none) takes back the transaction's earlier offset of the partition.
    pub(super) fn load_txn_offset(
        &mut self,
        producer_id: i64,
        partition: TopicPartition,
        value: Option<OffsetCommitValue>,
    ) {
        let Some(value) = value else {
            for pending in self.pending_commits.iter_mut().filter(|p| p.producer_id == Some(producer_id)) {
                pending.offsets.remove(&partition);
            }
            self.pending_commits.retain(|p| !p.offsets.is_empty());
            return;
        };
        match self.pending_commits.last_mut() {
            // The same transaction's records in a row: one batch, one commit.
            Some(last) if last.producer_id == Some(producer_id) => {
                last.offsets.insert(partition, value);
            }
            _ => self.pending_commits.push(PendingCommit {
                token: None,
                producer_id: Some(producer_id),
                offsets: [(partition, value)].into(),
            }),
        }
    }
}
