//! Which transactional ids this broker coordinates: those whose
//! `__transaction_state` partition it leads. The coordinator moves with the
//! partition's leadership, as in Kafka (`TransactionCoordinator.onElection` /
//! `onResignation`):
//!
//! ```text
//!  metadata image ──▶ apply_image ──▶ follow_transaction_state_leadership
//!     leads p in a new epoch ──▶ new coordinator of p, start_loading(epoch)
//!                                ──▶ read p's log (no coordinators' lock) ──▶ load_record …
//!                                ──▶ finish_loading: markers of prepared transactions ─▶ outbox
//!     no longer leads p (or a new epoch) ──▶ unload: parked requests NOT_COORDINATOR
//! ```
//!
//! A standalone broker leads every partition of every topic, so it takes the
//! same path: when `__transaction_state` is created, and at open.
//!
//! A follower's copy of the partition holds every record the old leader
//! acknowledged (each is appended like an `acks=all` produce), so what the
//! old coordinator answered, the new one loads. The leader epoch is the
//! coordinator epoch: markers of a deposed coordinator carry an older one,
//! and the partitions' leaders refuse them.

use std::collections::BTreeMap;

use super::super::{Broker, Error};
use crate::log::manager::lock;
use crate::txn::{Output, TransactionCoordinator, TransactionLogRecord, TRANSACTION_STATE_TOPIC};
use crate::TopicPartition;

impl Broker {
    // ANCHOR: follow_transaction_state_leadership
    /// After a metadata image is applied: unloads the coordinators of the
    /// `__transaction_state` partitions this broker stopped leading (or leads
    /// in a newer epoch), then loads those of the partitions it now leads.
    /// The caller holds no lock.
    pub(crate) fn follow_transaction_state_leadership(&self) {
        let image = self.metadata_image();
        let me = self.config.node_id;
        let (count, leading): (i32, BTreeMap<i32, i32>) = match image.topic(TRANSACTION_STATE_TOPIC) {
            Some(t) => (
                t.partitions.len() as i32,
                (t.partitions.iter())
                    .filter(|(_, p)| p.leader == me)
                    .map(|(&index, p)| (index, p.leader_epoch))
                    .collect(),
            ),
            None => (0, BTreeMap::new()),
        };
        let offsets_partitions = (image.topic(crate::group::CONSUMER_OFFSETS_TOPIC))
            .map_or(self.config.offsets_topic_num_partitions, |t| t.partitions.len() as i32);
        let mut config = self.config.transactions.coordinator.clone();
        config.transaction_state_partitions = count;
        config.offsets_topic_partitions = offsets_partitions;
        let (unloaded, gained) = {
            let mut coordinators = self.transactions.lock();
            let lost: Vec<i32> = (coordinators.iter())
                .filter(|(p, c)| leading.get(p) != Some(&c.coordinator_epoch()))
                .map(|(p, _)| *p)
                .collect();
            let mut unloaded = Output::default();
            for p in &lost {
                let mut c = coordinators.remove(p).expect("listed");
                unloaded.replies.extend(c.unload().replies);
            }
            if !lost.is_empty() {
                tracing::info!(partitions = ?lost, "no longer the transaction coordinator of these partitions");
            }
            let gained: Vec<(i32, i32)> =
                leading.into_iter().filter(|(p, _)| !coordinators.contains_key(p)).collect();
            for &(p, leader_epoch) in &gained {
                let mut c = TransactionCoordinator::new(config.clone(), p);
                c.start_loading(leader_epoch);
                coordinators.insert(p, c);
            }
            (unloaded, gained)
        };
        self.transactions.release(unloaded.replies);
        for (p, leader_epoch) in gained {
            self.load_transaction_partition(p, leader_epoch);
        }
    }
    // ANCHOR_END: follow_transaction_state_leadership

    /// Reads partition `p` of `__transaction_state` (no coordinators' lock
    /// held: its ids answer COORDINATOR_LOAD_IN_PROGRESS meanwhile), then
    /// hands its records to the coordinator, unless the leadership moved on.
    fn load_transaction_partition(&self, p: i32, leader_epoch: i32) {
        let records = match self.read_transaction_partition(p) {
            Ok(records) => records,
            Err(e) => {
                // Left loading: its ids are refused until the next leadership change.
                tracing::error!(partition = p, error = %e, "cannot load a transaction state partition");
                return;
            }
        };
        let mut coordinators = self.transactions.lock();
        let Some(c) = coordinators.get_mut(&p).filter(|c| c.coordinator_epoch() == leader_epoch) else {
            return; // lost (or led in a newer epoch) while reading
        };
        for record in &records {
            if let Err(e) = c.load_record(record) {
                tracing::warn!(partition = p, id = record.transactional_id, error = %e, "skipping record");
            }
        }
        let out = c.finish_loading();
        drop(coordinators);
        tracing::info!(
            partition = p,
            leader_epoch,
            records = records.len(),
            prepared = out.markers.len(),
            "loaded a transaction state partition"
        );
        self.transactions.post(p, out.markers);
    }

    /// Every record of partition `p` of `__transaction_state`, from its log
    /// start to its log end. Records that do not decode are skipped, as Kafka
    /// skips what it cannot read.
    fn read_transaction_partition(&self, p: i32) -> Result<Vec<TransactionLogRecord>, Error> {
        let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC, p);
        let partition = self.partition(&tp).ok_or_else(|| Error::UnknownPartition(tp.clone()))?;
        let log = lock(&partition.log);
        let mut records = Vec::new();
        for batch in log.read_batches(log.log_start_offset())? {
            for record in batch.records().map_err(|e| Error::Log(e.into()))? {
                let record = record.map_err(|e| Error::Log(e.into()))?;
                let Some(key) = record.key else { continue };
                match TransactionLogRecord::decode(&key, record.value.as_deref()) {
                    Ok(r) => records.push(r),
                    Err(e) => tracing::warn!(%tp, offset = record.offset, error = %e, "skipping record"),
                }
            }
        }
        Ok(records)
    }
}
