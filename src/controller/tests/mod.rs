//! The controller driven as the CONTROLLER listener will drive it: each
//! operation's records are committed (applied to the image) before the next
//! operation, the broker epoch is the offset of the registration record.

mod elections;
mod properties;
mod scenarios;

use std::collections::BTreeMap;

use uuid::Uuid;

use super::*;
use crate::metadata::records::BrokerEndpoint;
use crate::metadata::PartitionImage;
use crate::TopicPartition;

/// Always 0: placement starts at the lowest broker id; topic ids count up.
struct Fixed(u128);

impl Random for Fixed {
    fn below(&mut self, _n: usize) -> usize {
        0
    }
    fn topic_id(&mut self) -> Uuid {
        self.0 += 1;
        Uuid::from_u128(1000 + self.0)
    }
}

/// A controller, the committed image, the log's next offset and a clock.
struct Cluster {
    controller: Controller,
    image: MetadataImage,
    next_offset: i64,
    now_ms: i64,
    epochs: BTreeMap<i32, i64>,
    incarnations: BTreeMap<i32, u128>,
    random: Fixed,
}

impl Cluster {
    fn new() -> Self {
        // A rebalance check every 5 s, so the random clock moves reach it.
        let config = ControllerConfig {
            cluster_id: "spool".into(),
            leader_imbalance_check_interval_ms: 5_000,
            ..ControllerConfig::default()
        };
        Cluster {
            controller: Controller::new(config),
            image: MetadataImage::default(),
            next_offset: 0,
            now_ms: 0,
            epochs: BTreeMap::new(),
            incarnations: BTreeMap::new(),
            random: Fixed(0),
        }
    }

    /// Commits records as the driver would: each must apply.
    fn commit(&mut self, records: Vec<MetadataRecord>) {
        for record in &records {
            if let Err(e) = self.image.apply(record) {
                panic!("a controller record does not apply ({e}): {record:?}");
            }
        }
        self.next_offset += records.len() as i64;
    }

    fn request(&self, id: i32, incarnation: u128) -> BrokerRegistrationRequest {
        BrokerRegistrationRequest {
            broker_id: id,
            cluster_id: "spool".into(),
            incarnation_id: Uuid::from_u128(incarnation),
            listeners: vec![BrokerEndpoint {
                name: "PLAINTEXT".into(),
                host: "127.0.0.1".into(),
                port: 9092 + (id.unsigned_abs() % 100) as u16,
                security_protocol: 0,
            }],
            features: vec![],
            rack: None,
            log_dirs: vec![Uuid::from_u128(500 + u128::from(id.unsigned_abs()))],
        }
    }

    /// Registers a new incarnation of broker `id`.
    fn register(&mut self, id: i32) -> Result<i64, Error> {
        let incarnation = self.incarnations.get(&id).map_or(1, |i| i + 1);
        let request = self.request(id, incarnation);
        let result = self.controller.register_broker(&self.image, &request, self.next_offset, self.now_ms)?;
        self.commit(result.records);
        self.incarnations.insert(id, incarnation);
        self.epochs.insert(id, result.answer);
        Ok(result.answer)
    }

    /// A heartbeat from a broker that has replayed everything.
    fn heartbeat(
        &mut self,
        id: i32,
        want_fence: bool,
        want_shut_down: bool,
    ) -> Result<HeartbeatAnswer, Error> {
        let request = BrokerHeartbeat {
            broker_id: id,
            broker_epoch: self.epochs[&id],
            current_metadata_offset: self.next_offset - 1,
            want_fence,
            want_shut_down,
        };
        let result = self.controller.heartbeat(&self.image, &request, self.now_ms)?;
        self.commit(result.records);
        Ok(result.answer)
    }

    fn tick(&mut self) -> Vec<i32> {
        let result = self.controller.tick(&self.image, self.now_ms);
        self.commit(result.records);
        result.answer
    }

    fn create(&mut self, topic: CreatableTopic) -> Result<CreatedTopic, TopicError> {
        let mut result = self.controller.create_topics(&self.image, &[topic], &mut self.random);
        self.commit(result.records);
        result.answer.remove(0)
    }

    fn create_placed(
        &mut self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<CreatedTopic, TopicError> {
        self.create(CreatableTopic {
            name: name.into(),
            num_partitions: partitions,
            replication_factor,
            ..CreatableTopic::default()
        })
    }

    /// An AlterPartition from the partition's leader, at its current epochs.
    fn alter_isr(
        &mut self,
        topic: &str,
        index: i32,
        new_isr: &[i32],
    ) -> Result<PartitionStateAnswer, ResponseError> {
        let p = self.image.partition(topic, index).unwrap().clone();
        let change = IsrChange {
            topic_id: self.image.topic(topic).unwrap().topic_id,
            partition_index: index,
            leader_epoch: p.leader_epoch,
            partition_epoch: p.partition_epoch,
            new_isr: new_isr.iter().map(|id| (*id, -1)).collect(),
            leader_recovery_state: 0,
        };
        let request = AlterPartitionRequest {
            broker_id: p.leader,
            broker_epoch: self.epochs[&p.leader],
            changes: vec![change],
        };
        let result =
            self.controller.alter_partition(&self.image, &request).expect("the leader's epoch is current");
        self.commit(result.records);
        result.answer[0].outcome.clone()
    }

    /// One partition as a line of the step tables.
    fn show(&self, topic: &str, index: i32) -> String {
        let p = self.image.partition(topic, index).unwrap();
        format!("leader {} isr {:?} epochs {}/{}", p.leader, p.isr, p.leader_epoch, p.partition_epoch)
    }

    fn fenced(&self) -> Vec<i32> {
        self.image.brokers().values().filter(|b| b.fenced).map(|b| b.id).collect()
    }
}

type PartitionStateAnswer = alter_partition::PartitionState;
