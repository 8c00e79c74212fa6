//! [`MetadataImage::records`] is a snapshot's content: applied to an empty
//! image, it must rebuild the image exactly — brokers with their fencing and
//! shutdown state, topics, partitions with their leaders, ISRs and epochs,
//! configs, the producer id block, the ACLs and the SCRAM credentials (Kafka's `MetadataImage.write`, KIP-630).

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::metadata::records::{BrokerEndpoint, PartitionRecord, NO_LEADER, RESOURCE_BROKER};
use crate::metadata::snapshot::{decode_snapshot, encode_snapshot, SnapshotId};

/// One step of a random history: a kind and three numbers that pick what it
/// is about among what the image holds, so most steps are valid records.
type Step = (u8, u16, u16, u16);

fn pick<T: Clone>(items: Vec<T>, n: u16) -> Option<T> {
    (!items.is_empty()).then(|| items[n as usize % items.len()].clone())
}

fn ids(bits: u16) -> Vec<i32> {
    (0..4).filter(|i| bits & (1 << i) != 0).collect()
}

/// The record `step` stands for against `image`, or `None` when the image
/// holds nothing it could be about. `serial` makes fresh epochs and ids.
fn record(image: &MetadataImage, (kind, a, b, c): Step, serial: i64) -> Option<MetadataRecord> {
    let broker = pick(image.brokers.values().cloned().collect(), a);
    let topic = pick(image.topics.values().cloned().collect(), a);
    Some(match kind % 14 {
        0 => MetadataRecord::RegisterBroker(RegisterBrokerRecord {
            broker_id: i32::from(a % 4),
            is_migrating_zk_broker: false,
            incarnation_id: Uuid::from_u128(serial as u128),
            broker_epoch: serial,
            endpoints: vec![BrokerEndpoint {
                name: "PLAINTEXT".into(),
                host: "127.0.0.1".into(),
                port: 9000 + b % 100,
                security_protocol: 0,
            }],
            features: vec![],
            rack: (c % 3 == 0).then(|| format!("rack-{c}")),
            fenced: b % 2 == 0,
            in_controlled_shutdown: c % 5 == 0,
            log_dirs: vec![Uuid::from_u128(u128::from(c))],
        }),
        1 => {
            let b2 = broker?;
            let (id, epoch) = (b2.id, b2.epoch);
            match b % 4 {
                0 => MetadataRecord::FenceBroker { id, epoch },
                1 => MetadataRecord::UnfenceBroker { id, epoch },
                _ => MetadataRecord::BrokerRegistrationChange(BrokerRegistrationChangeRecord {
                    broker_id: id,
                    broker_epoch: epoch,
                    fenced: [FencingChange::Fence, FencingChange::Unfence, FencingChange::None]
                        [c as usize % 3],
                    in_controlled_shutdown: if c % 2 == 0 {
                        ControlledShutdownChange::InControlledShutdown
                    } else {
                        ControlledShutdownChange::None
                    },
                }),
            }
        }
        2 => {
            let b2 = broker?;
            MetadataRecord::UnregisterBroker { broker_id: b2.id, broker_epoch: b2.epoch }
        }
        3 => MetadataRecord::Topic { name: format!("t{}", a % 5), topic_id: Uuid::from_u128(serial as u128) },
        4 => MetadataRecord::Partition(PartitionRecord {
            partition_id: i32::from(b % 3),
            topic_id: topic?.topic_id,
            replicas: ids(c),
            isr: ids(c >> 4),
            removing_replicas: ids(c >> 8),
            adding_replicas: ids(c >> 12),
            leader: pick(ids(c), b).unwrap_or(NO_LEADER),
            leader_recovery_state: (b % 7 == 0).into(),
            leader_epoch: i32::from(a % 10),
            partition_epoch: i32::from(b % 10),
            directories: ids(c).iter().map(|&i| Uuid::from_u128(i as u128)).collect(),
        }),
        5 => {
            let t = topic?;
            let partition_id = pick(t.partitions.keys().copied().collect(), b)?;
            let mut change = PartitionChangeRecord::new(t.topic_id, partition_id);
            change.isr = (c & 1 != 0).then(|| ids(c >> 4));
            change.leader = [NO_LEADER_CHANGE, NO_LEADER, i32::from(c % 4)][b as usize % 3];
            change.replicas = (c & 2 != 0).then(|| ids(c >> 8));
            change.removing_replicas = (c & 4 != 0).then(Vec::new);
            change.adding_replicas = (c & 8 != 0).then(|| ids(c >> 12));
            change.leader_recovery_state = [NO_RECOVERY_STATE_CHANGE, 0, 1][a as usize % 3];
            change.directories = (b & 8 != 0).then(|| vec![Uuid::from_u128(u128::from(c))]);
            MetadataRecord::PartitionChange(change)
        }
        6 => MetadataRecord::Config {
            resource_type: if c % 7 == 0 { 4 } else { RESOURCE_TOPIC },
            resource_name: topic?.name,
            name: format!("k{}", b % 3),
            value: (c % 4 != 0).then(|| format!("v{c}")),
        },
        7 => MetadataRecord::RemoveTopic { topic_id: topic?.topic_id },
        8 => MetadataRecord::ProducerIds {
            broker_id: i32::from(b % 4),
            broker_epoch: 0,
            next_producer_id: image.next_producer_id + 1 + i64::from(a),
        },
        9 => {
            use crate::security::{Acl, Operation, PatternType, Permission, ResourcePattern, ResourceType};
            let pattern = ResourcePattern::new(
                ResourceType::ALL_VALUES[a as usize % 4],
                format!("r{}", b % 3),
                PatternType::ALL_VALUES[c as usize % 2],
            );
            let acl = Acl {
                pattern,
                principal: format!("User:u{}", c % 3),
                host: "*".into(),
                operation: Operation::ALL_VALUES[b as usize % 13],
                permission: Permission::ALL_VALUES[a as usize % 2],
            };
            MetadataRecord::AccessControlEntry { id: Uuid::from_u128(serial as u128), acl }
        }
        10 => {
            use crate::quotas::{EntityName, QuotaEntity, QuotaValue};
            let name = |n: u16| {
                (n % 3 != 0).then(|| EntityName::Name(format!("e{n}"))).or(Some(EntityName::Default))
            };
            let user = (a % 3 != 0).then(|| name(a)).flatten();
            let client = (user.is_none() || b % 2 == 0).then(|| name(b)).flatten();
            MetadataRecord::ClientQuota {
                entity: QuotaEntity::of(user, client),
                key: ["producer_byte_rate", "consumer_byte_rate"][usize::from(c % 2)].into(),
                value: QuotaValue(f64::from(c) + 1.0),
                remove: c % 5 == 0,
            }
        }
        12 => {
            use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
            let mechanism = [ScramMechanism::Sha256, ScramMechanism::Sha512][usize::from(b % 2)];
            let credential = ScramCredential::new(mechanism, format!("p{c}").as_bytes(), &[a as u8], 4096);
            MetadataRecord::UserScramCredential { name: format!("u{}", a % 4), mechanism, credential }
        }
        13 => {
            let (name, mechanism) = pick(image.scram.keys().cloned().collect(), a)?;
            MetadataRecord::RemoveUserScramCredential { name, mechanism }
        }
        _ => MetadataRecord::RemoveAccessControlEntry {
            id: pick(image.acls.acls.keys().copied().collect(), a)?,
        },
    })
}

proptest! {
    /// For a random history of records applied to an empty image, the
    /// image's records applied to another empty image rebuild an equal image,
    /// and survive a snapshot's encoding unchanged.
    #[test]
    fn records_rebuild_the_image(steps in prop::collection::vec(any::<Step>(), 0..80)) {
        let mut image = MetadataImage::default();
        for (serial, step) in steps.into_iter().enumerate() {
            if let Some(record) = record(&image, step, serial as i64 + 1) {
                // A record the image refuses leaves it as it was: the history
                // is the records it accepted.
                let _ = image.apply(&record);
            }
        }
        let mut rebuilt = MetadataImage::default();
        for record in image.records() {
            prop_assert_eq!(rebuilt.apply(&record), Ok(()), "{:?}", record);
        }
        prop_assert_eq!(&rebuilt, &image);
        // And through a snapshot file's bytes: the same records come back.
        let id = SnapshotId { end_offset: 100, epoch: 2 };
        let bytes = encode_snapshot(id, &image.records(), 0, 0);
        let decoded: Vec<_> = decode_snapshot(&bytes).unwrap().records.into_iter().map(|(_, r)| r).collect();
        prop_assert_eq!(decoded, image.records());
    }
}

/// An image that went through fencing, a leader change and a config removal
/// is written as one record per broker, topic, partition and live config, in
/// an order an empty image accepts (brokers, topic before its partitions,
/// configs after topics, the producer id block last).
#[test]
fn records_are_one_per_thing_in_kafkas_order() {
    let topic_id = Uuid::from_u128(9);
    let mut image = MetadataImage::default();
    let history = [
        MetadataRecord::Topic { name: "t".into(), topic_id },
        MetadataRecord::Partition(PartitionRecord {
            partition_id: 0,
            topic_id,
            replicas: vec![1, 2],
            isr: vec![1, 2],
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader: 1,
            leader_recovery_state: 0,
            leader_epoch: 0,
            partition_epoch: 0,
            directories: vec![],
        }),
        MetadataRecord::PartitionChange(PartitionChangeRecord {
            leader: 2,
            ..PartitionChangeRecord::new(topic_id, 0)
        }),
        MetadataRecord::Config {
            resource_type: RESOURCE_TOPIC,
            resource_name: "t".into(),
            name: "a".into(),
            value: Some("1".into()),
        },
        MetadataRecord::Config {
            resource_type: RESOURCE_TOPIC,
            resource_name: "t".into(),
            name: "a".into(),
            value: None,
        },
        MetadataRecord::ProducerIds { broker_id: 1, broker_epoch: 3, next_producer_id: 1000 },
    ];
    for r in &history {
        image.apply(r).unwrap();
    }
    let records = image.records();
    let kinds: Vec<_> = records.iter().map(|r| r.encode()[1]).collect();
    assert_eq!(kinds, vec![2, 3, 15], "TopicRecord, PartitionRecord, ProducerIdsRecord");
    let MetadataRecord::Partition(p) = &records[1] else { panic!("{records:?}") };
    assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (2, 1, 1));
    assert_eq!(
        records[2],
        MetadataRecord::ProducerIds { broker_id: -1, broker_epoch: -1, next_producer_id: 1000 }
    );
    assert!(MetadataImage::default().records().is_empty(), "an empty image writes nothing");
}

/// Dynamic broker configs (ConfigRecords of resource type BROKER, issue 17)
/// are kept by the image — the cluster default under "" and one broker's
/// under its id — removed by a null value, and written into a snapshot
/// after the topics' configs, so a broker restarting from a snapshot keeps
/// them (Kafka's `ConfigurationsImage`).
#[test]
fn broker_configs_are_kept_and_written() {
    let config = |name: &str, key: &str, value: Option<&str>| MetadataRecord::Config {
        resource_type: RESOURCE_BROKER,
        resource_name: name.into(),
        name: key.into(),
        value: value.map(Into::into),
    };
    let mut image = MetadataImage::default();
    for r in [
        config("", "log.retention.ms", Some("1000")),
        config("1", "log.segment.bytes", Some("2048")),
        config("1", "log.cleanup.policy", Some("compact")),
        config("1", "log.cleanup.policy", None),
    ] {
        image.apply(&r).unwrap();
    }
    assert_eq!(
        image.broker_configs("").and_then(|c| c.get("log.retention.ms")).map(String::as_str),
        Some("1000")
    );
    assert_eq!(image.broker_configs("1").map(|c| c.len()), Some(1));
    assert_eq!(
        image.records(),
        vec![config("", "log.retention.ms", Some("1000")), config("1", "log.segment.bytes", Some("2048"))]
    );
}
