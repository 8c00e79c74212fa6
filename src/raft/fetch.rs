//! Replication by pull: Fetch, the leader's high watermark, and the
//! diverging-epoch answer that makes a follower truncate.
//!
//! A follower fetches from its log end with the epoch of its last entry. The
//! leader checks that pair against its own log: if it agrees, the fetch
//! offset is that follower's progress and the answer carries the entries
//! after it; if not, the answer says where the follower's last epoch ends on
//! the leader, and the follower cuts its log there and fetches again.

use super::message::{FetchResult, Message, Output};
use super::node::Role;
use super::{Epoch, NodeId, Offset, RaftError, RaftLog, RaftNode};

impl RaftNode {
    pub(super) fn on_fetch_request(
        &mut self,
        log: &impl RaftLog,
        from: NodeId,
        epoch: Epoch,
        fetch_offset: Offset,
        last_fetched_epoch: Epoch,
        out: &mut Vec<Output>,
    ) {
        let invalid =
            fetch_offset < 0 || last_fetched_epoch < 0 || last_fetched_epoch > epoch || from == self.id;
        let refusal =
            if invalid { Some(RaftError::InvalidRequest) } else { self.refuse_follower_request(epoch) };
        let result = match refusal {
            Some(error) => FetchResult::Error(error),
            None => match (diverging(log, fetch_offset, last_fetched_epoch), log.latest_snapshot()) {
                // Below the log start, or diverging below it: only the
                // snapshot can bring this follower back (KIP-630).
                (divergence, Some(snapshot_id))
                    if divergence.map_or(fetch_offset, |(_, end)| end.min(fetch_offset))
                        < log.start_offset() =>
                {
                    FetchResult::Snapshot { fetch_offset, snapshot_id }
                }
                (Some((epoch, end_offset)), _) => FetchResult::Diverging { fetch_offset, epoch, end_offset },
                (None, _) => {
                    self.record_progress(from, fetch_offset, out);
                    let entries = log.entries(fetch_offset, self.config.fetch_entries_max);
                    FetchResult::Records { fetch_offset, entries, high_watermark: self.high_watermark }
                }
            },
        };
        let message = Message::FetchResponse { epoch: self.epoch(), leader_id: self.leader_id(), result };
        Self::send(from, message, out);
    }

    /// A voter's valid fetch: its log matches ours up to `fetch_offset`.
    /// Observers are served but never counted.
    fn record_progress(&mut self, from: NodeId, fetch_offset: Offset, out: &mut Vec<Output>) {
        if !self.config.voters.contains(&from) || from == self.id {
            return;
        }
        let Role::Leader(progress) = &mut self.role else { return };
        progress.end_offsets.insert(from, fetch_offset);
        progress.fetched.insert(from);
        self.advance_high_watermark(out);
    }

    // ANCHOR: high_watermark
    /// The leader's high watermark: the largest offset a majority of voters
    /// have reached — but only once that majority holds this epoch's
    /// LeaderChange entry. Counting replicas of an earlier epoch's entry is
    /// not enough: a voter that never saw it can still win the next election
    /// and truncate it away (Raft §5.4.2, figure 8). Committing the leader's
    /// own entry commits everything before it.
    pub(super) fn advance_high_watermark(&mut self, out: &mut Vec<Output>) {
        let Role::Leader(progress) = &self.role else { return };
        let mut ends: Vec<Offset> =
            self.config.voters.iter().map(|v| progress.end_offsets.get(v).copied().unwrap_or(0)).collect();
        ends.sort_unstable_by(|a, b| b.cmp(a));
        let majority_end = ends[self.config.voters.len() / 2];
        let own_epoch_committed = majority_end > progress.epoch_start_offset;
        if (own_epoch_committed || !self.config.commit_needs_current_epoch)
            && majority_end > self.high_watermark
        {
            self.high_watermark = majority_end;
            out.push(Output::HighWatermark(majority_end));
        }
    }
    // ANCHOR_END: high_watermark

    pub(super) fn on_fetch_response(
        &mut self,
        log: &mut impl RaftLog,
        from: NodeId,
        epoch: Epoch,
        leader_id: Option<NodeId>,
        result: FetchResult,
        out: &mut Vec<Output>,
    ) {
        if epoch > self.epoch() {
            return self.learn_epoch(log, epoch, leader_id, out);
        }
        let following = epoch == self.epoch()
            && matches!(self.role, Role::Follower { leader_id, .. } if leader_id == from);
        if !following {
            // An observer (or a voter between leaders) learns who leads this epoch.
            let unattached = epoch == self.epoch() && matches!(self.role, Role::Unattached);
            if let Some(leader) = leader_id.filter(|&l| unattached && l != self.id) {
                self.become_follower(log, epoch, leader, out);
            }
            return;
        }
        match result {
            FetchResult::Records { fetch_offset, entries, high_watermark }
                if fetch_offset == log.end_offset() =>
            {
                let caught_up = entries.is_empty();
                log.append(entries);
                let high_watermark = high_watermark.min(log.end_offset());
                if high_watermark > self.high_watermark {
                    self.high_watermark = high_watermark;
                    out.push(Output::HighWatermark(high_watermark));
                }
                if caught_up {
                    // Nothing new: the next Fetch waits for the fetch backoff
                    // (`resend`), as if Kafka's leader parked it until data came.
                    return self.reset_timer(out);
                }
            }
            FetchResult::Diverging { fetch_offset, epoch, end_offset }
                if fetch_offset == log.end_offset() =>
            {
                let (_, local_end) = log.end_offset_for_epoch(epoch);
                log.truncate_to(end_offset.min(local_end));
            }
            FetchResult::Snapshot { fetch_offset, snapshot_id } if fetch_offset == log.end_offset() => {
                return self.start_fetching_snapshot(snapshot_id, out);
            }
            // An answer to an older fetch (the network reordered them), or an
            // error from our own leader: wait for the next answer or timeout.
            _ => return,
        }
        self.reset_timer(out);
        self.send_fetch(log, from, out);
    }
}

// ANCHOR: diverging
/// Where a follower's log departs from the leader's `log`, if it does: the
/// follower's last fetched epoch must end, on the leader, at or after its
/// fetch offset. If not, the answer is the largest epoch the leader has at or
/// below it, and where that epoch ends (KIP-595's DivergingEpoch).
pub fn diverging(
    log: &impl RaftLog,
    fetch_offset: Offset,
    last_fetched_epoch: Epoch,
) -> Option<(Epoch, Offset)> {
    if fetch_offset == 0 {
        return None;
    }
    let (epoch, end_offset) = log.end_offset_for_epoch(last_fetched_epoch);
    (epoch != last_fetched_epoch || end_offset < fetch_offset).then_some((epoch, end_offset))
}
// ANCHOR_END: diverging
