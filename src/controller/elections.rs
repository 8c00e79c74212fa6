//! Elections no failure forces: the ones an operator asks for (ElectLeaders,
//! `kafka-leader-election.sh`) and the automatic leader rebalance.
//!
//! # Why leaderships drift, and how Kafka brings them back
//!
//! The placer spreads leaderships by making a different broker the *first*
//! (preferred) replica of each partition. When a broker dies its partitions
//! elect other ISR members, and when it comes back it rejoins as a follower:
//! the surviving brokers now lead more than their share. A **preferred
//! election** moves a partition's leadership back to its first replica if
//! that replica is in the ISR and active.
//!
//! KRaft's controller keeps the set of *imbalanced* partitions, those led by
//! another than their first replica (`ReplicationControlManager`'s
//! `imbalancedPartitions`). After every write, if the set is not empty and
//! no rebalance is scheduled, it schedules one
//! `leader.imbalance.check.interval.seconds` later (unless
//! `auto.leader.rebalance.enable` is off). The rebalance tries a preferred
//! election for every imbalanced partition, at most
//! `MAX_ELECTIONS_PER_IMBALANCE` (1000) of them; if it hit that bound the
//! next runs at once, else the cycle starts again. A partition whose
//! preferred replica is not in the ISR stays imbalanced and is tried again
//! each interval. `leader.imbalance.per.broker.percentage`, the ZooKeeper
//! controller's per-broker threshold, is parsed and never read by KRaft.
//!
//! ```text
//!            imbalanced set non-empty            now ≥ due
//!   Idle ─────────────────────────────▶ Due(now + interval) ──────▶ elect up to the bound
//!    ▲                                   ▲                                │
//!    │ fewer than the bound              │ hit the bound: Due(now)        │
//!    └───────────────────────────────────┴────────────────────────────────┘
//! ```
//!
//! An **unclean election** (ElectLeaders type UNCLEAN) is for a partition
//! with no leader: if no ISR member is alive, the operator accepts losing
//! what only the ISR had, and the controller elects the first live replica
//! outside it, alone in the ISR, its leader recovering — whatever
//! `unclean.leader.election.enable` says, since asking is the consent.
//!
//! # This code
//!
//! The set is not kept: [`imbalanced`] derives it from the committed image
//! each time the driver's timer calls [`Controller::balance_leaders`] (the
//! image is the truth, and a scan of the partitions is cheap next to a
//! metadata commit). Time is the `now_ms` the timer passes in.
//!
//! # Simplifications
//!
//! - The imbalance is noticed at the driver's next timer call, not at the
//!   write that caused it (a tick later than Kafka), and "at once" is that
//!   next call, not Kafka's 10 ms.
//! - No periodic unclean election of leaderless partitions
//!   (`unclean.leader.election.interval.ms`): spool elects uncleanly only
//!   when the broker is fenced, if the topic allows it, or when asked.

use kafka_protocol::ResponseError;

use super::partition_change::{build_change, Election};
use super::{Batch, Controller, ControllerResult};
use crate::metadata::{MetadataImage, MetadataRecord, PartitionImage};
use crate::TopicPartition;

/// ElectLeaders' election types (Kafka's `ElectionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// 0: give each partition's leadership back to its first replica.
    Preferred,
    /// 1: elect a leader for a partition that has none, from outside the
    /// ISR if no ISR member is alive.
    Unclean,
}

impl ElectionType {
    /// The type for ElectLeaders' `election_type` byte; `None` for an
    /// unknown one (Kafka answers INVALID_REQUEST).
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            0 => Some(ElectionType::Preferred),
            1 => Some(ElectionType::Unclean),
            _ => None,
        }
    }
}

/// When the next automatic rebalance runs (Kafka's `ImbalanceSchedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum RebalanceSchedule {
    /// None scheduled: the next imbalance schedules one an interval later.
    #[default]
    Idle,
    /// The last one hit the elections bound: the next imbalance is due at once.
    Immediately,
    /// One runs at the first timer call at or after this time.
    Due { due_ms: i64 },
}

/// The partitions led by another than their first replica, leaderless ones
/// included (Kafka's `imbalancedPartitions`).
pub fn imbalanced(image: &MetadataImage) -> impl Iterator<Item = (TopicPartition, &PartitionImage)> {
    (image.partitions())
        .filter(|(_, _, p)| p.replicas.first() != Some(&p.leader))
        .map(|(t, i, p)| (TopicPartition::new(t.name.clone(), i), p))
}

impl Controller {
    // ANCHOR: balance_leaders
    /// The automatic leader rebalance, run by the driver's timer: when one is
    /// due, a preferred election for each imbalanced partition (at most
    /// `leader_elections_per_rebalance_max`); then, if some partition is
    /// still imbalanced and none is scheduled, schedules the next. Answers
    /// the partitions whose leadership moved.
    pub fn balance_leaders(
        &mut self,
        image: &MetadataImage,
        now_ms: i64,
    ) -> ControllerResult<Vec<TopicPartition>> {
        if !self.config.auto_leader_rebalance_enable {
            self.rebalance = RebalanceSchedule::Idle;
            return ControllerResult { records: Vec::new(), answer: Vec::new() };
        }
        // The image is copied only for a rebalance that is due, not every tick.
        let due = matches!(self.rebalance, RebalanceSchedule::Due { due_ms } if now_ms >= due_ms);
        let mut batch = due.then(|| Batch::new(image));
        let mut moved = Vec::new();
        if let Some(batch) = &mut batch {
            moved = self.elect_preferred_replicas(batch);
            self.rebalance = if moved.len() >= self.config.leader_elections_per_rebalance_max {
                RebalanceSchedule::Immediately
            } else {
                RebalanceSchedule::Idle
            };
        }
        let after = batch.as_ref().map_or(image, |b| &b.image);
        let scheduled = matches!(self.rebalance, RebalanceSchedule::Due { .. });
        if !scheduled && imbalanced(after).next().is_some() {
            let delay_ms = match self.rebalance {
                RebalanceSchedule::Immediately => 0,
                _ => self.config.leader_imbalance_check_interval_ms,
            };
            self.rebalance = RebalanceSchedule::Due { due_ms: now_ms.saturating_add(delay_ms) };
        }
        let records = batch.map_or_else(Vec::new, |b| b.records);
        ControllerResult { records, answer: moved }
    }
    // ANCHOR_END: balance_leaders

    /// A preferred election for each imbalanced partition whose preferred
    /// replica can lead, up to the bound (Kafka's
    /// `maybeTriggerLeaderChangeForPartitionsWithoutPreferredLeader`).
    fn elect_preferred_replicas(&self, batch: &mut Batch) -> Vec<TopicPartition> {
        let bound = self.config.leader_elections_per_rebalance_max;
        let candidates: Vec<TopicPartition> = imbalanced(&batch.image).map(|(tp, _)| tp).collect();
        let mut moved = Vec::new();
        for tp in candidates {
            if moved.len() >= bound {
                break;
            }
            let image = &batch.image;
            let partition = image.partition(&tp.topic, tp.partition).expect("found imbalanced");
            let topic_id = image.topic(&tp.topic).expect("a partition's topic").topic_id;
            let acceptable = |r: i32| image.is_active(r);
            let isr = partition.isr.clone();
            let id = (topic_id, tp.partition);
            if let Some(change) = build_change(partition, id, isr, Election::Preferred, &acceptable, None) {
                batch.push(MetadataRecord::PartitionChange(change));
                moved.push(tp);
            }
        }
        moved
    }

    /// ElectLeaders: a preferred or an unclean election for each partition.
    /// Answers each: `None` (elected), ELECTION_NOT_NEEDED (preferred: its
    /// first replica leads; unclean: it has a leader),
    /// PREFERRED_LEADER_NOT_AVAILABLE or ELIGIBLE_LEADERS_NOT_AVAILABLE (no
    /// replica can lead), UNKNOWN_TOPIC_OR_PARTITION.
    pub fn elect_leaders(
        &self,
        image: &MetadataImage,
        election_type: ElectionType,
        partitions: &[TopicPartition],
    ) -> ControllerResult<Vec<(TopicPartition, Option<ResponseError>)>> {
        let mut batch = Batch::new(image);
        let mut answers = Vec::new();
        for tp in partitions {
            let code = self.elect_leader(&mut batch, election_type, tp);
            answers.push((tp.clone(), code));
        }
        batch.finish(answers)
    }

    /// One partition's election (Kafka's `electLeader`).
    fn elect_leader(
        &self,
        batch: &mut Batch,
        election_type: ElectionType,
        tp: &TopicPartition,
    ) -> Option<ResponseError> {
        let image = &batch.image;
        let (Some(topic), Some(partition)) =
            (image.topic(&tp.topic), image.partition(&tp.topic, tp.partition))
        else {
            return Some(ResponseError::UnknownTopicOrPartition);
        };
        let (election, not_needed, unavailable) = match election_type {
            ElectionType::Preferred => (
                Election::Preferred,
                partition.replicas.first() == Some(&partition.leader),
                ResponseError::PreferredLeaderNotAvailable,
            ),
            ElectionType::Unclean => (
                Election::Unclean,
                partition.leader != crate::metadata::records::NO_LEADER,
                ResponseError::EligibleLeadersNotAvailable,
            ),
        };
        if not_needed {
            return Some(ResponseError::ElectionNotNeeded);
        }
        let acceptable = |r: i32| image.is_active(r);
        let isr = partition.isr.clone();
        match build_change(partition, (topic.topic_id, tp.partition), isr, election, &acceptable, None) {
            // Kafka answers success for any change the election makes, even
            // one that moves a leaderless partition to a replica after the first.
            Some(change) => {
                batch.push(MetadataRecord::PartitionChange(change));
                None
            }
            None => Some(unavailable),
        }
    }
}
