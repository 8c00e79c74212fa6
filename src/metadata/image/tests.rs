//! The image applies brokers' registrations and partition changes as Kafka's
//! `ClusterControlManager.replay` and `PartitionRegistration.merge` do, and
//! refuses records about brokers or partitions it does not hold.

use super::*;
use crate::metadata::records::{PartitionRecord, NO_LEADER};

fn topic_id() -> Uuid {
    Uuid::from_u128(7)
}

fn register(id: i32, epoch: i64) -> MetadataRecord {
    MetadataRecord::RegisterBroker(RegisterBrokerRecord {
        broker_id: id,
        is_migrating_zk_broker: false,
        incarnation_id: Uuid::from_u128(100 + epoch as u128),
        broker_epoch: epoch,
        endpoints: vec![],
        features: vec![],
        rack: None,
        fenced: true,
        in_controlled_shutdown: false,
        log_dirs: vec![],
    })
}

fn change(id: i32, epoch: i64, fenced: FencingChange) -> MetadataRecord {
    MetadataRecord::BrokerRegistrationChange(BrokerRegistrationChangeRecord {
        broker_id: id,
        broker_epoch: epoch,
        fenced,
        in_controlled_shutdown: ControlledShutdownChange::None,
    })
}

/// An image with topic "t" whose partition 0 is on [1, 2, 3], led by 1 at epochs 0.
fn image() -> MetadataImage {
    let mut image = MetadataImage::default();
    image.apply(&MetadataRecord::Topic { name: "t".into(), topic_id: topic_id() }).unwrap();
    let partition = PartitionRecord {
        partition_id: 0,
        topic_id: topic_id(),
        replicas: vec![1, 2, 3],
        isr: vec![1, 2, 3],
        removing_replicas: vec![],
        adding_replicas: vec![],
        leader: 1,
        leader_recovery_state: 0,
        leader_epoch: 0,
        partition_epoch: 0,
        directories: vec![],
    };
    image.apply(&MetadataRecord::Partition(partition)).unwrap();
    image
}

/// PartitionRegistration.merge: an ISR-only change bumps the partition epoch
/// and not the leader epoch; naming a leader (even -1, even the same one)
/// bumps both; fields left out stay.
#[test]
fn partition_changes_merge_as_kafka_does() {
    let mut image = image();
    let mut shrink = PartitionChangeRecord::new(topic_id(), 0);
    shrink.isr = Some(vec![1, 2]);
    image.apply(&MetadataRecord::PartitionChange(shrink)).unwrap();
    let p = image.partition("t", 0).unwrap();
    assert_eq!((p.isr.clone(), p.leader, p.leader_epoch, p.partition_epoch), (vec![1, 2], 1, 0, 1));

    let mut elect = PartitionChangeRecord::new(topic_id(), 0);
    elect.leader = 2;
    image.apply(&MetadataRecord::PartitionChange(elect)).unwrap();
    let p = image.partition("t", 0).unwrap();
    assert_eq!((p.isr.clone(), p.leader, p.leader_epoch, p.partition_epoch), (vec![1, 2], 2, 1, 2));

    let same = PartitionChangeRecord { leader: 2, ..PartitionChangeRecord::new(topic_id(), 0) };
    image.apply(&MetadataRecord::PartitionChange(same)).unwrap();
    let none = PartitionChangeRecord { leader: NO_LEADER, ..PartitionChangeRecord::new(topic_id(), 0) };
    image.apply(&MetadataRecord::PartitionChange(none)).unwrap();
    let p = image.partition("t", 0).unwrap();
    assert_eq!((p.leader, p.leader_epoch, p.partition_epoch, p.replicas.clone()), (-1, 3, 4, vec![1, 2, 3]));
}

/// A change to a partition or a broker the image does not hold is refused,
/// and the image stays as it was.
#[test]
fn changes_to_unknown_partitions_and_brokers_are_refused() {
    let mut image = image();
    let before = image.clone();
    let unknown_partition = PartitionChangeRecord::new(topic_id(), 5);
    assert_eq!(
        image.apply(&MetadataRecord::PartitionChange(unknown_partition)),
        Err(ImageError::ChangeOfUnknownPartition { topic_id: topic_id(), partition_id: 5 })
    );
    let unknown_topic = PartitionChangeRecord::new(Uuid::from_u128(99), 0);
    assert!(matches!(
        image.apply(&MetadataRecord::PartitionChange(unknown_topic)),
        Err(ImageError::ChangeOfUnknownPartition { .. })
    ));
    assert_eq!(image.apply(&change(4, 0, FencingChange::Unfence)), Err(ImageError::UnknownBroker(4)));
    assert_eq!(
        image.apply(&MetadataRecord::FenceBroker { id: 4, epoch: 0 }),
        Err(ImageError::UnknownBroker(4))
    );
    assert_eq!(
        image.apply(&MetadataRecord::UnregisterBroker { broker_id: 4, broker_epoch: 0 }),
        Err(ImageError::UnknownBroker(4))
    );
    assert_eq!(image, before);
}

/// A broker registers fenced; a registration change or the older
/// Fence/UnfenceBrokerRecord moves it; one naming an earlier incarnation's
/// epoch is refused; a new registration replaces the old one whole.
#[test]
fn brokers_register_fence_and_unfence() {
    let mut image = image();
    image.apply(&register(1, 10)).unwrap();
    assert!(image.broker(1).unwrap().fenced);
    assert_eq!(image.live_brokers().count(), 0);
    image.apply(&change(1, 10, FencingChange::Unfence)).unwrap();
    assert!(image.is_active(1));
    assert_eq!(image.live_brokers().map(|b| b.id).collect::<Vec<_>>(), vec![1]);
    image.apply(&MetadataRecord::FenceBroker { id: 1, epoch: 10 }).unwrap();
    assert!(!image.is_active(1));
    image.apply(&MetadataRecord::UnfenceBroker { id: 1, epoch: 10 }).unwrap();
    assert!(image.is_active(1));

    image.apply(&register(1, 20)).unwrap();
    assert_eq!((image.broker(1).unwrap().epoch, image.broker(1).unwrap().fenced), (20, true));
    assert_eq!(
        image.apply(&change(1, 10, FencingChange::Unfence)),
        Err(ImageError::StaleBrokerEpoch { broker_id: 1, epoch: 10, registered: 20 })
    );
    let shutdown = MetadataRecord::BrokerRegistrationChange(BrokerRegistrationChangeRecord {
        broker_id: 1,
        broker_epoch: 20,
        fenced: FencingChange::Unfence,
        in_controlled_shutdown: ControlledShutdownChange::InControlledShutdown,
    });
    image.apply(&shutdown).unwrap();
    let broker = image.broker(1).unwrap();
    assert!(!broker.fenced && broker.in_controlled_shutdown && !broker.is_active());
    image.apply(&MetadataRecord::UnregisterBroker { broker_id: 1, broker_epoch: 20 }).unwrap();
    assert!(image.broker(1).is_none());
}

/// A broker hosts the partitions it is a replica of, and no others.
#[test]
fn partitions_on_lists_a_brokers_replicas() {
    let image = image();
    assert_eq!(image.partitions_on(2).len(), 1);
    assert_eq!(image.partitions_on(2)[0].0, TopicPartition::new("t", 0));
    assert!(image.partitions_on(4).is_empty());
}

/// A UserScramCredentialRecord sets a user's credential for one mechanism
/// (a second replaces the first), its removal takes it away, and removing one
/// that is not there is refused as Kafka's ScramControlManager.replay refuses it.
#[test]
fn scram_credentials_are_set_replaced_and_removed() {
    use crate::security::sasl::scram::{ScramCredential, ScramMechanism::*};
    let mut image = MetadataImage::default();
    let first = ScramCredential::new(Sha512, b"one", b"salt", 4096);
    let second = ScramCredential::new(Sha512, b"two", b"salt", 8192);
    let set = |credential: &ScramCredential| MetadataRecord::UserScramCredential {
        name: "alice".into(),
        mechanism: Sha512,
        credential: credential.clone(),
    };
    image.apply(&set(&first)).unwrap();
    image.apply(&set(&second)).unwrap();
    assert_eq!(image.scram_credential("alice", Sha512), Some(&second));
    assert_eq!(image.scram_credential("alice", Sha256), None);
    let remove = MetadataRecord::RemoveUserScramCredential { name: "alice".into(), mechanism: Sha512 };
    image.apply(&remove).unwrap();
    assert_eq!(image.scram_credential("alice", Sha512), None);
    assert_eq!(
        image.apply(&remove),
        Err(ImageError::RemovalOfUnknownScramCredential { user: "alice".into(), mechanism: "SCRAM-SHA-512" })
    );
}
