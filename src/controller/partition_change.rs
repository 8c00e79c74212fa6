//! Electing a leader and changing an ISR: the one place that builds a
//! PartitionChangeRecord (Kafka's `PartitionChangeBuilder`).
//!
//! ```text
//!  target ISR (old ISR − the broker leaving) ──▶ elect ──▶ PartitionChangeRecord
//!                                                  │         leader: only if it changes (-2 otherwise)
//!    the current leader, if still valid ◀──────────┤         isr:    only if it changes, never to []
//!    else the first valid replica, replica order ◀─┤
//!    else (unclean only) any acceptable replica,   │
//!         ISR := [it], leader recovering ◀─────────┤
//!    else -1 (no leader): the ISR keeps its last   │
//!         member, the one replica known to hold    │
//!         every committed record ◀─────────────────┘
//! ```
//!
//! A replica is *valid* when it is in the target ISR and *acceptable*:
//! registered, unfenced and not shutting down (Kafka's `isActive`), never the
//! broker being removed, always the broker being unfenced. Since Kafka 3.6
//! (KAFKA-15021) an ISR shrink alone does not bump the leader epoch, only the
//! partition epoch; spool writes what 3.7–3.9 write.

use uuid::Uuid;

use super::{Batch, Controller};
use crate::metadata::records::{
    PartitionChangeRecord, NO_LEADER, NO_LEADER_CHANGE, NO_RECOVERY_STATE_CHANGE,
};
use crate::metadata::{MetadataRecord, PartitionImage};

/// `LeaderRecoveryState.RECOVERING`: the leader came from an unclean
/// election and has not yet told the controller its log is settled.
pub const RECOVERING: i8 = 1;

/// How to pick a leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Election {
    /// The first replica if it is valid; else as `Online`.
    Preferred,
    /// Keep the partition online from the ISR.
    Online,
    /// From the ISR if possible, else from any acceptable replica: may lose
    /// committed records (`unclean.leader.election.enable`).
    Unclean,
}

// ANCHOR: build_partition_change
/// The change that moves `partition` to `target_isr` with a leader elected
/// by `election` among replicas `acceptable` allows, or `None` if nothing
/// changes. `target_recovery_state` is AlterPartition's leader recovery state.
pub fn build_change(
    partition: &PartitionImage,
    (topic_id, partition_id): (Uuid, i32),
    target_isr: Vec<i32>,
    election: Election,
    acceptable: &dyn Fn(i32) -> bool,
    target_recovery_state: Option<i8>,
) -> Option<PartitionChangeRecord> {
    let valid = |r: i32| target_isr.contains(&r) && acceptable(r);
    let (leader, unclean) = match election {
        Election::Preferred if partition.replicas.first().is_some_and(|r| valid(*r)) => {
            (partition.replicas[0], false)
        }
        _ if valid(partition.leader) => (partition.leader, false),
        _ => match partition.replicas.iter().copied().find(|r| valid(*r)) {
            Some(r) => (r, false),
            None if election == Election::Unclean => {
                match partition.replicas.iter().copied().find(|r| acceptable(*r)) {
                    Some(r) => (r, true),
                    None => (NO_LEADER, false),
                }
            }
            None => (NO_LEADER, false),
        },
    };
    let mut change = PartitionChangeRecord::new(topic_id, partition_id);
    if leader != partition.leader {
        change.leader = leader;
        if unclean {
            // The new leader may lack committed records: it alone is in sync.
            change.isr = Some(vec![leader]);
            if partition.leader_recovery_state != RECOVERING {
                change.leader_recovery_state = RECOVERING;
            }
        }
    }
    if change.isr.is_none() && !target_isr.is_empty() && target_isr != partition.isr {
        change.isr = Some(target_isr);
    }
    if let Some(state) = target_recovery_state {
        if state != partition.leader_recovery_state {
            change.leader_recovery_state = state;
        }
    }
    let no_op = change.isr.is_none()
        && change.leader == NO_LEADER_CHANGE
        && change.leader_recovery_state == NO_RECOVERY_STATE_CHANGE;
    (!no_op).then_some(change)
}
// ANCHOR_END: build_partition_change

impl Controller {
    /// Re-elects and shrinks every partition `select` picks, taking `remove`
    /// out of its ISR and never electing it, and counting `add` as acceptable
    /// (Kafka's `generateLeaderAndIsrUpdates`).
    pub(super) fn update_partitions(
        &self,
        batch: &mut Batch,
        remove: Option<i32>,
        add: Option<i32>,
        select: impl Fn(&PartitionImage) -> bool,
    ) {
        let chosen: Vec<(String, Uuid, i32)> = batch
            .image
            .partitions()
            .filter(|(_, _, p)| select(p))
            .map(|(t, i, _)| (t.name.clone(), t.topic_id, i))
            .collect();
        for (name, topic_id, index) in chosen {
            let image = &batch.image;
            let partition = image.partition(&name, index).expect("chosen from the image");
            let election = if self.unclean_election_enabled(image, &name) {
                Election::Unclean
            } else {
                Election::Online
            };
            let target_isr = partition.isr.iter().copied().filter(|r| Some(*r) != remove).collect();
            let acceptable = |r: i32| Some(r) != remove && (Some(r) == add || image.is_active(r));
            if let Some(change) =
                build_change(partition, (topic_id, index), target_isr, election, &acceptable, None)
            {
                batch.push(MetadataRecord::PartitionChange(change));
            }
        }
    }
}
