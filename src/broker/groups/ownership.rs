//! In a cluster, which groups this broker coordinates: those whose
//! `__consumer_offsets` partition it leads. The coordinator moves with the
//! partition's leadership, as in Kafka (`GroupCoordinator.onElection` /
//! `onResignation`):
//!
//! ```text
//!  metadata image ──▶ apply_image ──▶ follow_offsets_leadership
//!     leads partition p in a new epoch ──▶ p: Loading ──▶ read p's log (no coordinator lock)
//!                                          ──▶ coordinator.load_partition ──▶ p: Loaded
//!     no longer leads p (or a new epoch) ──▶ coordinator.unload(groups of p):
//!                                            parked joins/syncs answered NOT_COORDINATOR
//!
//!  group request for group g ──▶ p = partition_for(g)
//!     p not led here ─▶ NOT_COORDINATOR     p Loading ─▶ COORDINATOR_LOAD_IN_PROGRESS
//!     no __consumer_offsets yet ─▶ COORDINATOR_NOT_AVAILABLE
//! ```
//!
//! A follower's copy of the partition holds every record the old leader
//! replicated, and every group record is appended like an `acks=all`
//! produce (see [`super`]): what the old coordinator acknowledged, the new
//! one loads.
//!
//! Chapter 9: a transaction's marker written to a partition while its
//! groups load may land after the load read the log; `Broker::complete_txn`
//! keeps such markers and the load applies them once its groups are in.
//!
//! A standalone broker coordinates every group: none of this applies, and
//! [`Broker::load_groups`] reads every partition when it opens.
//!
//! Locks: the ownership map comes after the coordinator's lock and before
//! nothing; a group input checks ownership while holding the coordinator's
//! lock, so a group is never created for a partition that was just unloaded.
//!
//! Simplifications: a partition's groups are loaded on the thread that applies
//! the metadata image (Kafka has a scheduler thread for it), so a large log
//! delays the next image; and a partition led again in a newer epoch is
//! unloaded and loaded again even if nothing changed in between.

use std::collections::BTreeMap;
use std::sync::{MutexGuard, PoisonError};

use super::super::{now_ms, Broker, Error};
use crate::group::{partition_for, GroupError, GroupRecord, OffsetsLogEntry, Output, CONSUMER_OFFSETS_TOPIC};
use crate::idempotence::producer_state::txn::EndTxnMarker;
use crate::log::manager::lock;
use crate::TopicPartition;

/// Where this broker is with one `__consumer_offsets` partition it leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ownership {
    /// The leader epoch in which it leads the partition.
    pub(super) leader_epoch: i32,
    /// Whether the partition's groups are in the coordinator yet.
    pub(super) loaded: bool,
}

/// The `__consumer_offsets` partitions this broker leads, by index.
pub(super) type OwnedPartitions = BTreeMap<i32, Ownership>;

impl super::GroupDriver {
    pub(super) fn lock_ownership(&self) -> MutexGuard<'_, OwnedPartitions> {
        self.ownership.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Broker {
    // ANCHOR: coordinator_error
    /// Why this broker may not coordinate `group_id` now, if it may not.
    /// Call it holding the coordinator's lock (see the module doc). An empty
    /// group id is the coordinator's to refuse (INVALID_GROUP_ID).
    pub(super) fn coordinator_error(&self, group_id: &str) -> Option<GroupError> {
        self.cluster.as_ref()?;
        if group_id.is_empty() {
            return None;
        }
        let image = self.metadata_image();
        let Some(topic) = image.topic(CONSUMER_OFFSETS_TOPIC).filter(|t| !t.partitions.is_empty()) else {
            return Some(GroupError::CoordinatorNotAvailable);
        };
        let partition = partition_for(group_id, topic.partitions.len() as i32);
        match self.groups.lock_ownership().get(&partition) {
            None => Some(GroupError::NotCoordinator),
            Some(o) if !o.loaded => Some(GroupError::CoordinatorLoadInProgress),
            Some(_) => None,
        }
    }
    // ANCHOR_END: coordinator_error

    // ANCHOR: follow_offsets_leadership
    /// After a metadata image is applied, in a cluster: unloads the groups of
    /// the `__consumer_offsets` partitions this broker stopped leading, then
    /// loads those of the partitions it now leads. The caller holds no lock.
    pub(crate) fn follow_offsets_leadership(&self) {
        if self.cluster.is_none() {
            return;
        }
        let image = self.metadata_image();
        let me = self.config.node_id;
        let (count, leading): (i32, BTreeMap<i32, i32>) = match image.topic(CONSUMER_OFFSETS_TOPIC) {
            Some(t) => (
                t.partitions.len() as i32,
                (t.partitions.iter())
                    .filter(|(_, p)| p.leader == me)
                    .map(|(&index, p)| (index, p.leader_epoch))
                    .collect(),
            ),
            None => (0, BTreeMap::new()),
        };
        let (unloaded, gained) = {
            let mut coordinator = self.groups.lock();
            let mut owned = self.groups.lock_ownership();
            let lost: Vec<i32> = (owned.iter())
                .filter(|(p, o)| leading.get(p) != Some(&o.leader_epoch))
                .map(|(p, _)| *p)
                .collect();
            for p in &lost {
                owned.remove(p);
            }
            let unloaded = if lost.is_empty() {
                Output::default()
            } else {
                tracing::info!(partitions = ?lost, "no longer the coordinator of these offsets partitions");
                coordinator.unload(|group_id| count == 0 || lost.contains(&partition_for(group_id, count)))
            };
            let gained: Vec<(i32, i32)> =
                leading.into_iter().filter(|(p, _)| !owned.contains_key(p)).collect();
            for &(p, leader_epoch) in &gained {
                owned.insert(p, Ownership { leader_epoch, loaded: false });
            }
            (unloaded, gained)
        };
        self.groups.release(unloaded);
        for (p, leader_epoch) in gained {
            self.load_offsets_partition(p, leader_epoch);
        }
        self.groups.wake_timer.notify_one();
    }
    // ANCHOR_END: follow_offsets_leadership

    /// Reads partition `p` of `__consumer_offsets` (no coordinator lock held:
    /// its groups answer COORDINATOR_LOAD_IN_PROGRESS meanwhile), then hands
    /// its groups to the coordinator, unless leadership moved on in between.
    fn load_offsets_partition(&self, p: i32, leader_epoch: i32) {
        // Markers from before this load are in what it reads (see `Broker::complete_txn`).
        self.groups.lock_markers().remove(&p);
        match self.read_offsets_partition(p) {
            Ok(records) => self.install_offsets_partition(p, leader_epoch, records),
            // Left Loading: its groups are refused until the next leadership change.
            Err(e) => {
                tracing::error!(partition = p, error = %e, "cannot load the groups of an offsets partition")
            }
        }
    }

    /// The second half of [`load_offsets_partition`](Self::load_offsets_partition):
    /// the groups read from partition `p` join the coordinator, then the
    /// transaction markers written since the read began are applied to them.
    pub(super) fn install_offsets_partition(&self, p: i32, leader_epoch: i32, records: Vec<OffsetsLogEntry>) {
        let count = records.len();
        let mut coordinator = self.groups.lock();
        let mut owned = self.groups.lock_ownership();
        let loading = Ownership { leader_epoch, loaded: false };
        if owned.get(&p) != Some(&loading) {
            return; // lost (or led in a newer epoch) while reading
        }
        coordinator.load_partition(records, now_ms());
        // Markers written while reading: applying one the read already saw
        // finds nothing left of its transaction (no new one can start here
        // before the load ends: TxnOffsetCommit answers LOAD_IN_PROGRESS).
        let partitions =
            self.metadata_image().topic(CONSUMER_OFFSETS_TOPIC).map_or(0, |t| t.partitions.len() as i32);
        for (producer_id, commit) in self.groups.lock_markers().remove(&p).unwrap_or_default() {
            coordinator
                .complete_txn(producer_id, commit, |g| partitions > 0 && partition_for(g, partitions) == p);
        }
        owned.insert(p, Ownership { leader_epoch, loaded: true });
        tracing::info!(
            partition = p,
            leader_epoch,
            records = count,
            "loaded the groups of an offsets partition"
        );
    }

    /// Every group record of partition `p` of `__consumer_offsets`, from its
    /// log start to its log end, in log order: a transactional batch's
    /// records as its producer's, a control batch as its producer's COMMIT or
    /// ABORT marker (chapter 9), so the loader can replay transactions.
    pub(super) fn read_offsets_partition(&self, p: i32) -> Result<Vec<OffsetsLogEntry>, Error> {
        let tp = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, p);
        let partition = self.partition(&tp).ok_or_else(|| Error::UnknownPartition(tp.clone()))?;
        let log = lock(&partition.log);
        let unreadable = |e: crate::log::LogError| {
            tracing::error!(%tp, error = %e, "cannot read the group coordinator's log");
            Error::Log(e)
        };
        let mut entries = Vec::new();
        for batch in log.read_batches(log.log_start_offset()).map_err(unreadable)? {
            if batch.is_control() {
                if let Some(marker) = EndTxnMarker::of(&batch) {
                    let (producer_id, commit) = (batch.producer_id(), !marker.is_abort);
                    entries.push(OffsetsLogEntry::Marker { producer_id, commit });
                }
                continue;
            }
            let producer_id = batch.is_transactional().then(|| batch.producer_id());
            for record in batch.records().map_err(|e| unreadable(e.into()))? {
                let record = record.map_err(|e| unreadable(e.into()))?;
                let Some(key) = record.key else { continue };
                match GroupRecord::decode(&key, record.value.as_deref()) {
                    Ok(record) => entries.push(match producer_id {
                        Some(producer_id) => OffsetsLogEntry::Transactional { producer_id, record },
                        None => OffsetsLogEntry::Record(record),
                    }),
                    // Kafka skips what it does not know (another coordinator's record types).
                    Err(e) => tracing::warn!(%tp, offset = record.offset, error = %e, "skipping record"),
                }
            }
        }
        Ok(entries)
    }
}
