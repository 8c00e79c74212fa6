//! Brokers joining, staying alive and leaving (Kafka's `ClusterControlManager`
//! and `BrokerHeartbeatManager`).
//!
//! ```text
//!                 register                 caught up with its own
//!   (unknown) ──────────────▶ FENCED ────── RegisterBrokerRecord ──────▶ UNFENCED
//!                               ▲  ▲         (and not want_fence)           │  │
//!                               │  └────── session expired (tick) ─────────┘  │
//!                               │          or want_fence                       │ want_shut_down
//!                               │                                              ▼ while leading
//!   SHUTDOWN_NOW (fenced) ◀─────┴─────────── leads nothing ◀──── CONTROLLED_SHUTDOWN
//!                                                                 (leaderships moved away,
//!                                                                  out of every ISR)
//! ```
//!
//! Fencing takes the broker out of every ISR and re-elects the partitions it
//! led; unfencing elects it for the partitions left without a leader. The
//! state lives in the image (its registration's `fenced` and
//! `in_controlled_shutdown`); only the time of the last heartbeat is soft
//! state, which a new controller starts afresh for every unfenced broker.

use uuid::Uuid;

use super::{check_broker_epoch, Batch, Controller, ControllerResult, Error};
use crate::metadata::records::{
    BrokerEndpoint, BrokerFeature, BrokerRegistrationChangeRecord, ControlledShutdownChange, FencingChange,
    RegisterBrokerRecord, NO_LEADER,
};
use crate::metadata::{MetadataImage, MetadataRecord};

/// What the controller remembers of a broker outside the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Session {
    last_heartbeat_ms: i64,
}

/// A BrokerRegistration request's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistrationRequest {
    pub broker_id: i32,
    pub cluster_id: String,
    /// Fresh for each start of the broker process.
    pub incarnation_id: Uuid,
    pub listeners: Vec<BrokerEndpoint>,
    pub features: Vec<BrokerFeature>,
    pub rack: Option<String>,
    pub log_dirs: Vec<Uuid>,
}

/// A BrokerHeartbeat request's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerHeartbeat {
    pub broker_id: i32,
    pub broker_epoch: i64,
    /// How far the broker has replayed the metadata log.
    pub current_metadata_offset: i64,
    pub want_fence: bool,
    pub want_shut_down: bool,
}

/// A BrokerHeartbeat answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    /// The broker has replayed the log up to its registration.
    pub is_caught_up: bool,
    pub is_fenced: bool,
    pub in_controlled_shutdown: bool,
    /// The broker may stop now: it leads nothing.
    pub should_shut_down: bool,
}

/// Kafka's `BrokerControlState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fenced,
    Unfenced,
    ControlledShutdown,
    ShutdownNow,
}

impl Controller {
    // ANCHOR: register_broker
    /// BrokerRegistration. `next_offset` is the metadata log's next offset:
    /// the broker epoch is the offset its RegisterBrokerRecord will take. A
    /// new incarnation replaces the old registration (fencing it first if it
    /// was not), unless the old one is unfenced with its session alive
    /// (DUPLICATE_BROKER_REGISTRATION); the same incarnation registering again
    /// keeps its epoch and state. A new registration starts fenced.
    pub fn register_broker(
        &mut self,
        image: &MetadataImage,
        request: &BrokerRegistrationRequest,
        next_offset: i64,
        now_ms: i64,
    ) -> Result<ControllerResult<i64>, Error> {
        if request.cluster_id != self.config.cluster_id {
            return Err(Error::InconsistentClusterId {
                expected: self.config.cluster_id.clone(),
                got: request.cluster_id.clone(),
            });
        }
        let id = request.broker_id;
        if id < 0 {
            return Err(Error::InvalidBrokerId(id));
        }
        let existing = image.broker(id);
        let same_incarnation = existing.is_some_and(|b| b.incarnation_id == request.incarnation_id);
        if existing.is_some() && !same_incarnation && self.has_live_session(image, id, now_ms) {
            return Err(Error::DuplicateBrokerRegistration(id));
        }
        let mut batch = Batch::new(image);
        let mut record = RegisterBrokerRecord {
            broker_id: id,
            is_migrating_zk_broker: false,
            incarnation_id: request.incarnation_id,
            broker_epoch: 0,
            endpoints: request.listeners.clone(),
            features: request.features.clone(),
            rack: request.rack.clone(),
            fenced: true,
            in_controlled_shutdown: false,
            log_dirs: request.log_dirs.clone(),
        };
        match existing {
            Some(old) if same_incarnation => {
                record.broker_epoch = old.epoch;
                record.fenced = old.fenced;
                record.in_controlled_shutdown = old.in_controlled_shutdown;
            }
            _ => {
                if existing.is_some_and(|old| !old.fenced) {
                    self.fence(&mut batch, id);
                }
                record.broker_epoch = next_offset + batch.records.len() as i64;
            }
        }
        let epoch = record.broker_epoch;
        batch.push(MetadataRecord::RegisterBroker(record));
        self.sessions.insert(id, Session { last_heartbeat_ms: now_ms });
        Ok(batch.finish(epoch))
    }
    // ANCHOR_END: register_broker

    // ANCHOR: heartbeat
    /// BrokerHeartbeat: renews the broker's session and moves it through
    /// fenced → unfenced → controlled shutdown → shut down, as the diagram
    /// in this module's docs.
    pub fn heartbeat(
        &mut self,
        image: &MetadataImage,
        request: &BrokerHeartbeat,
        now_ms: i64,
    ) -> Result<ControllerResult<HeartbeatAnswer>, Error> {
        let id = request.broker_id;
        check_broker_epoch(image, id, request.broker_epoch)?;
        let registration = image.broker(id).expect("checked");
        let caught_up = request.current_metadata_offset >= registration.epoch;
        let leads = || image.partitions().any(|(_, _, p)| p.leader == id);
        let current = if registration.fenced {
            State::Fenced
        } else if registration.in_controlled_shutdown {
            State::ControlledShutdown
        } else {
            State::Unfenced
        };
        let next = match current {
            State::Fenced if request.want_shut_down => State::ShutdownNow,
            State::Fenced if !request.want_fence && caught_up => State::Unfenced,
            State::Unfenced if request.want_fence && request.want_shut_down => State::ShutdownNow,
            State::Unfenced if request.want_fence => State::Fenced,
            State::Unfenced if request.want_shut_down && leads() => State::ControlledShutdown,
            State::Unfenced if request.want_shut_down => State::ShutdownNow,
            State::ControlledShutdown if !leads() => State::ShutdownNow,
            state => state,
        };
        let mut batch = Batch::new(image);
        if next != current {
            match next {
                State::Fenced | State::ShutdownNow => self.fence(&mut batch, id),
                State::Unfenced => self.unfence(&mut batch, id),
                State::ControlledShutdown => self.begin_controlled_shutdown(&mut batch, id),
            }
        }
        self.sessions.insert(id, Session { last_heartbeat_ms: now_ms });
        Ok(batch.finish(HeartbeatAnswer {
            is_caught_up: caught_up,
            is_fenced: matches!(next, State::Fenced | State::ShutdownNow),
            in_controlled_shutdown: next == State::ControlledShutdown,
            should_shut_down: next == State::ShutdownNow,
        }))
    }
    // ANCHOR_END: heartbeat

    // ANCHOR: tick
    /// Fences every unfenced broker whose last heartbeat is more than
    /// `broker.session.timeout.ms` old, and answers their ids. A broker this
    /// controller has not heard from yet (it just took over) gets a full
    /// session from now.
    pub fn tick(&mut self, image: &MetadataImage, now_ms: i64) -> ControllerResult<Vec<i32>> {
        let mut batch = Batch::new(image);
        let mut fenced = Vec::new();
        for broker in image.brokers().values().filter(|b| !b.fenced) {
            let session = *self.sessions.entry(broker.id).or_insert(Session { last_heartbeat_ms: now_ms });
            if now_ms - session.last_heartbeat_ms > self.config.broker_session_timeout_ms {
                self.fence(&mut batch, broker.id);
                fenced.push(broker.id);
            }
        }
        batch.finish(fenced)
    }
    // ANCHOR_END: tick

    /// Whether `id` holds its broker id (Kafka's `hasValidSession`): it is
    /// registered, unfenced, and has heartbeated within the session timeout.
    /// A broker this controller has not heard from yet gets a session from
    /// now, as Kafka's controller starts one for every registered broker
    /// when it takes over.
    fn has_live_session(&mut self, image: &MetadataImage, id: i32, now_ms: i64) -> bool {
        if image.broker(id).is_none_or(|b| b.fenced) {
            return false;
        }
        let session = self.sessions.entry(id).or_insert(Session { last_heartbeat_ms: now_ms });
        now_ms - session.last_heartbeat_ms <= self.config.broker_session_timeout_ms
    }

    /// Takes `id` out of every ISR, re-elects what it led, then fences it.
    fn fence(&self, batch: &mut Batch, id: i32) {
        self.update_partitions(batch, Some(id), None, |p| p.isr.contains(&id));
        let epoch = batch.image.broker(id).expect("fencing a registered broker").epoch;
        batch.push(registration_change(id, epoch, FencingChange::Fence, ControlledShutdownChange::None));
    }

    /// Unfences `id`, then elects it where a partition has no leader.
    fn unfence(&self, batch: &mut Batch, id: i32) {
        let epoch = batch.image.broker(id).expect("unfencing a registered broker").epoch;
        batch.push(registration_change(id, epoch, FencingChange::Unfence, ControlledShutdownChange::None));
        self.update_partitions(batch, None, Some(id), |p| p.leader == NO_LEADER);
    }

    /// Marks `id` shutting down, then moves its leaderships and takes it out
    /// of every ISR.
    fn begin_controlled_shutdown(&self, batch: &mut Batch, id: i32) {
        let epoch = batch.image.broker(id).expect("a registered broker").epoch;
        let change = ControlledShutdownChange::InControlledShutdown;
        batch.push(registration_change(id, epoch, FencingChange::None, change));
        self.update_partitions(batch, Some(id), None, |p| p.isr.contains(&id));
    }
}

fn registration_change(
    broker_id: i32,
    broker_epoch: i64,
    fenced: FencingChange,
    in_controlled_shutdown: ControlledShutdownChange,
) -> MetadataRecord {
    MetadataRecord::BrokerRegistrationChange(BrokerRegistrationChangeRecord {
        broker_id,
        broker_epoch,
        fenced,
        in_controlled_shutdown,
    })
}
