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
            return self.store_offsets(token, req, config, now_ms, out);
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
    /// ([`Group::commit_completed`]): Kafka's `prepareOffsetCommit`.
    fn store_offsets(
        &mut self,
        token: RequestToken,
        req: &OffsetCommitRequest,
        config: &GroupCoordinatorConfig,
        now_ms: i64,
        out: &mut Output,
    ) -> Vec<CommitResult> {
        let mut results = Vec::with_capacity(req.partitions.len());
        let mut offsets = BTreeMap::new();
        for p in &req.partitions {
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
            assert!(self.pending_commits.iter().all(|p| p.token != token), "token {token} reused");
            self.pending_commits.push(PendingCommit { token, offsets });
            out.store = Some(token);
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
    pub(super) fn commit_completed(&mut self, token: RequestToken, stored: bool) -> bool {
        let Some(i) = self.pending_commits.iter().position(|p| p.token == token) else {
            return false;
        };
        let done = self.pending_commits.remove(i);
        if stored {
            for (partition, value) in done.offsets {
                for earlier in &mut self.pending_commits[..i] {
                    earlier.offsets.remove(&partition);
                }
                self.offsets.insert(partition, value);
            }
            self.pending_commits.retain(|p| !p.offsets.is_empty());
        }
        true
    }
    // ANCHOR_END: commit_completed

    /// OffsetFetch: the requested partitions (-1 where nothing is committed),
    /// or every committed one. Committed means stored: a commit whose store
    /// is pending is invisible, as on Kafka's non-transactional path.
    pub(super) fn fetch(&self, partitions: Option<&[TopicPartition]>) -> Vec<FetchedOffset> {
        let fetched = |partition: &TopicPartition| match self.offsets.get(partition) {
            Some(v) => FetchedOffset {
                partition: partition.clone(),
                offset: v.offset,
                leader_epoch: v.leader_epoch,
                metadata: v.metadata.clone(),
            },
            None => FetchedOffset {
                partition: partition.clone(),
                offset: -1,
                leader_epoch: -1,
                metadata: String::new(),
            },
        };
        match partitions {
            Some(partitions) => partitions.iter().map(fetched).collect(),
            None => self.offsets.keys().map(fetched).collect(),
        }
    }
}
