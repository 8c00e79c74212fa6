//! AlterPartition (KIP-497): a partition leader asks the controller to change
//! its ISR.
//!
//! The request is a compare-and-set: it names the leader epoch and the
//! partition epoch the leader last saw, and the controller refuses it if the
//! partition has moved on since. Only then does it check the new ISR: members
//! of the replicas, the leader among them, and every new member registered,
//! unfenced and not shutting down (KIP-903's broker epochs, when given, must be
//! the registered ones). The checks, in Kafka's order:
//!
//! ```text
//!  sender's broker epoch ≠ registered ────────────── STALE_BROKER_EPOCH (whole request)
//!  topic id unknown / partition unknown ──────────── UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION
//!  leader or partition epoch AHEAD of ours ───────── NOT_CONTROLLER (this controller is behind)
//!  leader epoch behind ───────────────────────────── FENCED_LEADER_EPOCH
//!  sender is not the leader ──────────────────────── INVALID_REQUEST
//!  partition epoch behind ────────────────────────── INVALID_UPDATE_VERSION
//!  ISR ⊄ replicas, duplicate, or without the leader ─ INVALID_REQUEST
//!  a member fenced, shutting down or unregistered ── INELIGIBLE_REPLICA
//! ```
//!
//! An unchanged ISR is answered with the current state and no record.

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::partition_change::{build_change, Election, RECOVERING};
use super::{check_broker_epoch, Batch, Controller, ControllerResult, Error};
use crate::metadata::{MetadataImage, MetadataRecord, PartitionImage};

/// An AlterPartition request's fields (version 3: topic ids, ISR members
/// with their broker epochs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionRequest {
    pub broker_id: i32,
    pub broker_epoch: i64,
    pub changes: Vec<IsrChange>,
}

/// One partition's proposed ISR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrChange {
    pub topic_id: Uuid,
    pub partition_index: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    /// Each member and its broker epoch (-1: not given).
    pub new_isr: Vec<(i32, i64)>,
    /// 0 recovered, 1 still recovering from an unclean election.
    pub leader_recovery_state: i8,
}

/// One partition's answer: an error, or its state after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionResult {
    pub topic_id: Uuid,
    pub partition_index: i32,
    pub outcome: Result<PartitionState, ResponseError>,
}

/// What a leader needs to carry on after an AlterPartition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub isr: Vec<i32>,
    pub leader_recovery_state: i8,
}

impl Controller {
    // ANCHOR: alter_partition
    /// AlterPartition: checks each proposed ISR, and commits the ones that pass.
    pub fn alter_partition(
        &self,
        image: &MetadataImage,
        request: &AlterPartitionRequest,
    ) -> Result<ControllerResult<Vec<AlterPartitionResult>>, Error> {
        check_broker_epoch(image, request.broker_id, request.broker_epoch)?;
        let mut batch = Batch::new(image);
        let mut answers = Vec::new();
        for change in &request.changes {
            let outcome = self.alter_one(&mut batch, request.broker_id, change);
            answers.push(AlterPartitionResult {
                topic_id: change.topic_id,
                partition_index: change.partition_index,
                outcome,
            });
        }
        Ok(batch.finish(answers))
    }
    // ANCHOR_END: alter_partition

    fn alter_one(
        &self,
        batch: &mut Batch,
        broker_id: i32,
        change: &IsrChange,
    ) -> Result<PartitionState, ResponseError> {
        let image = &batch.image;
        let topic = image.topic_by_id(&change.topic_id).ok_or(ResponseError::UnknownTopicId)?;
        let name = topic.name.clone();
        let partition =
            topic.partitions.get(&change.partition_index).ok_or(ResponseError::UnknownTopicOrPartition)?;
        validate(image, broker_id, partition, change)?;
        let election =
            if self.unclean_election_enabled(image, &name) { Election::Unclean } else { Election::Online };
        let target_isr = change.new_isr.iter().map(|(id, _)| *id).collect();
        let acceptable = |r: i32| image.is_active(r);
        let record = build_change(
            partition,
            (change.topic_id, change.partition_index),
            target_isr,
            election,
            &acceptable,
            Some(change.leader_recovery_state),
        );
        if let Some(record) = record {
            batch.push(MetadataRecord::PartitionChange(record));
        }
        let after = batch.image.partition(&name, change.partition_index).expect("still there");
        if after.leader != broker_id {
            return Err(ResponseError::NewLeaderElected);
        }
        Ok(PartitionState {
            leader: after.leader,
            leader_epoch: after.leader_epoch,
            partition_epoch: after.partition_epoch,
            isr: after.isr.clone(),
            leader_recovery_state: after.leader_recovery_state,
        })
    }
}

/// Kafka's `validateAlterPartitionData`, in its order.
fn validate(
    image: &MetadataImage,
    broker_id: i32,
    partition: &PartitionImage,
    change: &IsrChange,
) -> Result<(), ResponseError> {
    if change.leader_epoch > partition.leader_epoch || change.partition_epoch > partition.partition_epoch {
        return Err(ResponseError::NotController);
    }
    if change.leader_epoch < partition.leader_epoch {
        return Err(ResponseError::FencedLeaderEpoch);
    }
    if broker_id != partition.leader {
        return Err(ResponseError::InvalidRequest);
    }
    if change.partition_epoch < partition.partition_epoch {
        return Err(ResponseError::InvalidUpdateVersion);
    }
    let isr: Vec<i32> = change.new_isr.iter().map(|(id, _)| *id).collect();
    let mut distinct = isr.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != isr.len() || !isr.iter().all(|r| partition.replicas.contains(r)) {
        return Err(ResponseError::InvalidRequest);
    }
    if !isr.contains(&partition.leader) {
        return Err(ResponseError::InvalidRequest);
    }
    if change.leader_recovery_state == RECOVERING && isr.len() > 1 {
        return Err(ResponseError::InvalidRequest);
    }
    if partition.leader_recovery_state != RECOVERING && change.leader_recovery_state == RECOVERING {
        return Err(ResponseError::InvalidRequest);
    }
    let eligible = |(id, epoch): &(i32, i64)| {
        image.broker(*id).is_some_and(|b| b.is_active() && (*epoch == -1 || *epoch == b.epoch))
    };
    if !change.new_isr.iter().all(eligible) {
        return Err(ResponseError::IneligibleReplica);
    }
    Ok(())
}
