//! A group's committed offsets: one integer per partition, the group's
//! position in it, kept as a record in `__consumer_offsets`.

use std::collections::BTreeMap;

use super::records::{GroupRecord, OffsetCommitValue};
use super::state::{Group, PendingCommit};
use super::types::*;
use crate::TopicPartition;

/// One partition's outcome of an OffsetCommit (`None`: stored).
pub type CommitResult = (TopicPartition, Option<GroupError>);

impl Group {
    // ANCHOR: commit
    /// An OffsetCommit. Only the current generation's members may commit (a
    /// consumer that was kicked out and does not know it yet is fenced by its
    /// old generation); a group without members also takes commits from a
    /// consumer that assigns itself partitions (generation -1).
    pub(super) fn commit(
        &mut self,
        token: RequestToken,
        req: &OffsetCommitRequest,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) -> Vec<CommitResult> {
        let error = self.validate_commit(req);
        let Some(error) = error else {
            if matches!(self.state, GroupState::Stable | GroupState::PreparingRebalance) {
                // A commit proves the member alive, as a heartbeat does.
                self.heartbeat_received(&req.member_id, now_ms);
            }
            return self.store_offsets(token, &req.partitions, None, config, now_ms, out);
        };
        req.partitions.iter().map(|p| (p.partition.clone(), Some(error))).collect()
    }
    // ANCHOR_END: commit

    /// Kafka's `validateOffsetCommit`, then `handleCommitOffsets`' state check
    /// (3.x order: the member and its generation before the group's state).
    fn validate_commit(&self, req: &OffsetCommitRequest) -> Option<GroupError> {
        if self.state == GroupState::Dead {
            return Some(GroupError::CoordinatorNotAvailable);
        }
        if req.generation_id < 0 && self.state == GroupState::Empty {
            return None;
        }
        if req.generation_id >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some() {
            // Who is asking comes first: a member the group dropped, or one of
            // an older generation, hears that, whatever the state (a
            // REBALANCE_IN_PROGRESS would send it to rejoin as if it were current).
            if let Some(error) = self.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
                return Some(error);
            }
            if req.generation_id != self.generation_id {
                return Some(GroupError::IllegalGeneration);
            }
            // A current member that has its new generation but not its assignment yet.
            return (self.state == GroupState::CompletingRebalance)
                .then_some(GroupError::RebalanceInProgress);
        }
        // Generation -1 and no member id, but the group has members.
        Some(GroupError::UnknownMemberId)
    }

    /// Writes the accepted offsets as records and holds them as pending
    /// under `token` until the driver reports their store
    /// ([`Group::commit_completed`]): Kafka's `prepareOffsetCommit`, or for
    /// a transaction's `producer` (id, epoch) `prepareTxnOffsetCommit`.
    pub(super) fn store_offsets(
        &mut self,
        token: RequestToken,
        partitions: &[OffsetCommitPartition],
        producer: Option<(i64, i16)>,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) -> Vec<CommitResult> {
        let mut results = Vec::with_capacity(partitions.len());
        let mut offsets = BTreeMap::new();
        for p in partitions {
            let metadata = p.metadata.clone().unwrap_or_default();
            if metadata.len() > config.offset_metadata_bytes_max {
                results.push((p.partition.clone(), Some(GroupError::OffsetMetadataTooLarge)));
                continue;
            }
            let value = OffsetCommitValue {
                offset: p.offset,
                leader_epoch: p.leader_epoch,
                metadata,
                commit_timestamp_ms: now_ms,
            };
            out.records.push(GroupRecord::Offset {
                group_id: self.group_id.clone(),
                partition: p.partition.clone(),
                value: Some(value.clone()),
            });
            offsets.insert(p.partition.clone(), value);
            results.push((p.partition.clone(), None));
        }
        if !offsets.is_empty() {
            assert!(!self.is_commit_pending(token), "token {token} reused");
            let producer_id = producer.map(|(id, _)| id);
            self.pending_commits.push(PendingCommit { token: Some(token), producer_id, offsets });
            out.store = Some(token);
            out.transactional = producer;
        }
        results
    }

    // ANCHOR: commit_completed
    /// The driver's report on the store of the commit tagged `token`
    /// (Kafka's `onOffsetCommitAppend` / `failPendingOffsetWrite`); `false`
    /// if this group holds no such commit (it was superseded, or the group
    /// was reloaded meanwhile). Stored, its offsets become the committed
    /// ones; not stored, they are dropped and the previous ones stay.
    ///
    /// Completions may be reported in any order (each request waits on its
    /// own task), but they are not *applied* in any order. A group's records
    /// all go to one `__consumer_offsets` partition, appended under the
    /// coordinator's lock in the order its commits were made, so
    /// `pending_commits` is in log order and the log's last record of a key
    /// is what compaction and a reload keep. A stored commit therefore
    /// supersedes every earlier pending one of the same partition, which is
    /// dropped whatever its own outcome (on one partition, records appended
    /// in order are also replicated in order: an earlier one reported failed
    /// after a later one was stored can only be a timeout's "unknown"). This is
    /// Kafka's rule of keeping the commit with the later append offset.
    ///
    /// A transactional commit (TxnOffsetCommit) is not applied when stored:
    /// it keeps waiting, now for its transaction's marker
    /// ([`Group::complete_txn`]); not stored, it is dropped.
    pub(super) fn commit_completed(&mut self, token: RequestToken, stored: bool) -> bool {
        let Some(i) = self.pending_commits.iter().position(|p| p.token == Some(token)) else {
            return false;
        };
        if self.pending_commits[i].producer_id.is_some() && stored {
            self.pending_commits[i].token = None;
            return true;
        }
        let done = self.pending_commits.remove(i);
        if stored {
            self.apply_commit(i, done.offsets);
            self.pending_commits.retain(|p| !p.offsets.is_empty());
        }
        true
    }
    // ANCHOR_END: commit_completed

    /// Makes `offsets`, appended after the first `appended_before` pending
    /// commits, the committed ones: the log's later record of a key is the
    /// one that counts (and the one compaction keeps), so each partition is
    /// dropped from those earlier commits, plain or transactional, whatever
    /// becomes of them. Every commit still pending with a partition is thus
    /// later than its committed offset. The caller drops emptied commits.
    pub(super) fn apply_commit(
        &mut self,
        appended_before: usize,
        offsets: BTreeMap<TopicPartition, OffsetCommitValue>,
    ) {
        for (partition, value) in offsets {
            for earlier in &mut self.pending_commits[..appended_before] {
                earlier.offsets.remove(&partition);
            }
            self.offsets.insert(partition, value);
        }
    }

    /// OffsetFetch: the requested partitions (-1 where nothing is committed),
    /// or every committed one. Committed means stored, and for a
    /// transaction's offsets committed by its marker: a pending commit is
    /// invisible. With `require_stable` (KIP-447) a partition with a commit
    /// pending is answered UNSTABLE_OFFSET_COMMIT instead, so a consumer
    /// taking over from a transactional producer does not start from an
    /// offset the transaction is about to move.
    pub(super) fn fetch(
        &self,
        partitions: Option<&[TopicPartition]>,
        require_stable: bool,
    ) -> Vec<FetchedOffset> {
        let unstable = |partition: &TopicPartition| {
            require_stable && self.pending_commits.iter().any(|p| p.offsets.contains_key(partition))
        };
        let fetched = |partition: &TopicPartition| match self.offsets.get(partition) {
            _ if unstable(partition) => FetchedOffset {
                error: Some(GroupError::UnstableOffsetCommit),
                ..FetchedOffset::none(partition.clone())
            },
            Some(v) => FetchedOffset {
                partition: partition.clone(),
                offset: v.offset,
                leader_epoch: v.leader_epoch,
                metadata: v.metadata.clone(),
                error: None,
            },
            None => FetchedOffset::none(partition.clone()),
        };
        match partitions {
            Some(partitions) => partitions.iter().map(fetched).collect(),
            None => self.offsets.keys().map(fetched).collect(),
        }
    }
}
