//! The records' bytes: every record round-trips, and each record type's
//! layout is checked against bytes derived by hand from Kafka's JSON schema
//! (`metadata/src/main/resources/common/metadata/*.json`).

use proptest::prelude::*;

use super::*;

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// The frame, then the body, then the tagged field section.
fn frame(api_key: u8, version: u8, body: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![1, api_key, version];
    body.iter().for_each(|part| out.extend_from_slice(part));
    out
}

/// The TopicRecord bytes Kafka's generated serializer writes for the same fields.
#[test]
fn topic_record_layout() {
    let topic_id = uuid(1);
    let bytes = MetadataRecord::Topic { name: "t".into(), topic_id }.encode();
    assert_eq!(bytes, frame(2, 0, &[&[2, b't'], topic_id.as_bytes(), &[0]]));
}

/// AccessControlEntryRecord v0, field by field from Kafka's schema: Id uuid,
/// ResourceType int8 (TOPIC 2), ResourceName compact string, PatternType int8
/// (PREFIXED 4), Principal and Host compact strings, Operation int8 (READ 3),
/// PermissionType int8 (ALLOW 3), an empty tagged section; and
/// RemoveAccessControlEntryRecord v0: Id uuid.
#[test]
fn access_control_entry_record_layout() {
    use crate::security::{Acl, Operation, PatternType, Permission, ResourcePattern, ResourceType};
    let id = uuid(7);
    let acl = Acl {
        pattern: ResourcePattern::new(ResourceType::Topic, "t", PatternType::Prefixed),
        principal: "User:a".into(),
        host: "*".into(),
        operation: Operation::Read,
        permission: Permission::Allow,
    };
    let bytes = MetadataRecord::AccessControlEntry { id, acl }.encode();
    let body: &[&[u8]] = &[id.as_bytes(), &[2, 2, b't', 4, 7], b"User:a", &[2, b'*', 3, 3, 0]];
    assert_eq!(bytes, frame(18, 0, body));
    let removal = MetadataRecord::RemoveAccessControlEntry { id }.encode();
    assert_eq!(removal, frame(19, 0, &[id.as_bytes(), &[0]]));
}

/// A stored ACL never holds a filter's ANY: such a byte means a corrupt log.
#[test]
fn access_control_entry_with_any_operation_is_refused() {
    let mut bytes = frame(18, 0, &[uuid(1).as_bytes(), &[2, 2, b't', 3, 2, b'u', 2, b'*', 1, 3, 0]]);
    assert_eq!(
        MetadataRecord::decode(&bytes),
        Err(DecodeError::InvalidValue { field: "operation", value: 1 })
    );
    let at = bytes.len() - 3;
    bytes[at] = 3;
    assert!(MetadataRecord::decode(&bytes).is_ok());
}

/// ClientQuotaRecord v0 from its schema: Entity compact array of
/// {EntityType compact string, EntityName nullable compact string, tagged
/// section}; Key compact string; Value float64 (big-endian IEEE 754);
/// Remove bool; tagged section. A `<default>` name is null (0x00).
#[test]
fn client_quota_record_layout() {
    use crate::quotas::{EntityName, QuotaEntity};
    let entity = QuotaEntity::of(Some(EntityName::Name("u".into())), Some(EntityName::Default));
    let record = MetadataRecord::ClientQuota {
        entity,
        key: "k".into(),
        value: crate::quotas::QuotaValue(1024.0),
        remove: false,
    };
    let expected = frame(
        14,
        0,
        &[
            &[3],
            &[10],
            b"client-id",
            &[0, 0],
            &[5],
            b"user",
            &[2, b'u', 0],
            &[2, b'k'],
            &1024f64.to_be_bytes(),
            &[0, 0],
        ],
    );
    assert_eq!(record.encode(), expected);
}

/// The ProducerIdsRecord bytes of Kafka's generated serializer (version 0):
/// brokerId int32, brokerEpoch int64, nextProducerId int64, no tagged fields.
#[test]
fn producer_ids_record_layout() {
    let bytes =
        MetadataRecord::ProducerIds { broker_id: 1, broker_epoch: 2, next_producer_id: 1_000 }.encode();
    let expected = frame(15, 0, &[&[0, 0, 0, 1], &2i64.to_be_bytes(), &1_000i64.to_be_bytes(), &[0]]);
    assert_eq!(bytes, expected);
}

/// RegisterBrokerRecord v3, field by field from the schema: BrokerId int32;
/// IsMigratingZkBroker bool (v2+); IncarnationId uuid; BrokerEpoch int64;
/// EndPoints compact array of {Name, Host compact strings, Port uint16,
/// SecurityProtocol int16, tagged section}; Features compact array (empty:
/// 0x01); Rack nullable compact string (null: 0x00); Fenced bool;
/// InControlledShutdown bool (v1+); then tagged fields: LogDirs is tag 0, its
/// size 17 = one byte of compact length (0x02) + one 16-byte uuid.
#[test]
fn register_broker_record_layout() {
    let record = MetadataRecord::RegisterBroker(RegisterBrokerRecord {
        broker_id: 1,
        is_migrating_zk_broker: false,
        incarnation_id: uuid(2),
        broker_epoch: 5,
        endpoints: vec![BrokerEndpoint {
            name: "PLAINTEXT".into(),
            host: "h".into(),
            port: 9092,
            security_protocol: 0,
        }],
        features: vec![],
        rack: None,
        fenced: true,
        in_controlled_shutdown: false,
        log_dirs: vec![uuid(3)],
    });
    let expected = frame(
        0,
        3,
        &[
            &[0, 0, 0, 1],       // BrokerId
            &[0],                // IsMigratingZkBroker
            uuid(2).as_bytes(),  // IncarnationId
            &5i64.to_be_bytes(), // BrokerEpoch
            &[2],                // EndPoints: one
            &[10],               //   Name: 9 bytes + 1
            b"PLAINTEXT",        //
            &[2, b'h'],          //   Host
            &[0x23, 0x84],       //   Port 9092
            &[0, 0],             //   SecurityProtocol PLAINTEXT
            &[0],                //   no tagged fields
            &[1],                // Features: none
            &[0],                // Rack: null
            &[1],                // Fenced
            &[0],                // InControlledShutdown
            &[1, 0, 17, 2],      // one tagged field: tag 0, 17 bytes, one uuid
            uuid(3).as_bytes(),  //
        ],
    );
    assert_eq!(record.encode(), expected);
}

/// UnregisterBrokerRecord, FenceBrokerRecord and UnfenceBrokerRecord v0 are
/// each an int32 id and an int64 epoch, then an empty tagged section.
#[test]
fn broker_id_and_epoch_records_layout() {
    let body: &[&[u8]] = &[&[0, 0, 0, 4], &9i64.to_be_bytes(), &[0]];
    let unregister = MetadataRecord::UnregisterBroker { broker_id: 4, broker_epoch: 9 };
    assert_eq!(unregister.encode(), frame(1, 0, body));
    assert_eq!(MetadataRecord::FenceBroker { id: 4, epoch: 9 }.encode(), frame(7, 0, body));
    assert_eq!(MetadataRecord::UnfenceBroker { id: 4, epoch: 9 }.encode(), frame(8, 0, body));
}

/// BrokerRegistrationChangeRecord: BrokerId int32, BrokerEpoch int64, then
/// tagged Fenced (tag 0, int8: 1 fence, -1 unfence) and InControlledShutdown
/// (tag 1, v1+). Kafka's controller writes v0 to fence or unfence and v1 for a
/// controlled shutdown; a field left at its default (0) is not written.
#[test]
fn broker_registration_change_record_layout() {
    let change = |fenced, in_controlled_shutdown| {
        MetadataRecord::BrokerRegistrationChange(BrokerRegistrationChangeRecord {
            broker_id: 2,
            broker_epoch: 7,
            fenced,
            in_controlled_shutdown,
        })
        .encode()
    };
    let head: &[u8] = &[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7];
    let fence = change(FencingChange::Fence, ControlledShutdownChange::None);
    assert_eq!(fence, frame(17, 0, &[head, &[1, 0, 1, 1]]));
    let unfence = change(FencingChange::Unfence, ControlledShutdownChange::None);
    assert_eq!(unfence, frame(17, 0, &[head, &[1, 0, 1, 0xff]]));
    let shutdown = change(FencingChange::None, ControlledShutdownChange::InControlledShutdown);
    assert_eq!(shutdown, frame(17, 1, &[head, &[1, 1, 1, 1]]));
}

/// PartitionChangeRecord v1: PartitionId int32, TopicId uuid, and every other
/// field tagged: Isr tag 0 (compact array: 3 = two entries, 9 bytes), Leader
/// tag 1 (int32, 4 bytes); a null list or a leader of -2 is not written.
#[test]
fn partition_change_record_layout() {
    let mut change = PartitionChangeRecord::new(uuid(6), 0);
    change.isr = Some(vec![2, 3]);
    change.leader = 2;
    let expected = frame(
        5,
        1,
        &[
            &[0, 0, 0, 0],
            uuid(6).as_bytes(),
            &[2],                               // two tagged fields
            &[0, 9, 3, 0, 0, 0, 2, 0, 0, 0, 3], // Isr [2, 3]
            &[1, 4, 0, 0, 0, 2],                // Leader 2
        ],
    );
    assert_eq!(MetadataRecord::PartitionChange(change).encode(), expected);
    let no_leader = PartitionChangeRecord { leader: NO_LEADER, ..PartitionChangeRecord::new(uuid(6), 0) };
    let expected = frame(5, 1, &[&[0, 0, 0, 0], uuid(6).as_bytes(), &[1, 1, 4, 0xff, 0xff, 0xff, 0xff]]);
    assert_eq!(MetadataRecord::PartitionChange(no_leader).encode(), expected);
}

fn partition(directories: Vec<Uuid>) -> PartitionRecord {
    PartitionRecord {
        partition_id: 3,
        topic_id: uuid(1),
        replicas: vec![1],
        isr: vec![1],
        removing_replicas: vec![],
        adding_replicas: vec![],
        leader: 1,
        leader_recovery_state: 0,
        leader_epoch: 0,
        partition_epoch: 0,
        directories,
    }
}

/// PartitionRecord v1: PartitionId, TopicId, Replicas, Isr, RemovingReplicas,
/// AddingReplicas (compact arrays), Leader, LeaderEpoch, PartitionEpoch
/// (int32), Directories (compact uuid array, v1+, not tagged); the
/// LeaderRecoveryState tag 0 is left out at its default 0.
#[test]
fn partition_record_layout() {
    let bytes = MetadataRecord::Partition(partition(vec![DIRECTORY_UNASSIGNED])).encode();
    let expected = frame(
        3,
        1,
        &[
            &[0, 0, 0, 3],
            uuid(1).as_bytes(),
            &[2, 0, 0, 0, 1], // Replicas [1]
            &[2, 0, 0, 0, 1], // Isr [1]
            &[1, 1],          // RemovingReplicas, AddingReplicas: empty
            &[0, 0, 0, 1],    // Leader
            &[0, 0, 0, 0],    // LeaderEpoch
            &[0, 0, 0, 0],    // PartitionEpoch
            &[2],             // Directories: one
            DIRECTORY_UNASSIGNED.as_bytes(),
            &[0],
        ],
    );
    assert_eq!(bytes, expected);
}

/// A PartitionRecord v0, as spool wrote before directories, still reads:
/// its replicas have no directories.
#[test]
fn partition_record_v0_reads() {
    let v0 = frame(
        3,
        0,
        &[
            &[0, 0, 0, 3],
            uuid(1).as_bytes(),
            &[2, 0, 0, 0, 1, 2, 0, 0, 0, 1, 1, 1],
            &[0, 0, 0, 1],
            &[0; 8],
            &[0],
        ],
    );
    assert_eq!(MetadataRecord::decode(&v0), Ok(MetadataRecord::Partition(partition(vec![]))));
}

/// Bad bytes are a typed error naming what is wrong, never a panic.
#[test]
fn garbage_is_an_error() {
    assert_eq!(MetadataRecord::decode(&[]), Err(DecodeError::Truncated));
    assert_eq!(MetadataRecord::decode(&[1, 2, 0, 50]), Err(DecodeError::Truncated));
    assert_eq!(MetadataRecord::decode(&[1, 77, 0]), Err(DecodeError::UnknownApiKey(77)));
    assert_eq!(MetadataRecord::decode(&[2, 2, 0]), Err(DecodeError::UnknownFrameVersion(2)));
    assert_eq!(
        MetadataRecord::decode(&[1, 7, 1]),
        Err(DecodeError::UnsupportedVersion { api_key: 7, version: 1 })
    );
    let bad_fence = frame(17, 0, &[&[0; 12], &[1, 0, 1, 5]]);
    assert_eq!(
        MetadataRecord::decode(&bad_fence),
        Err(DecodeError::InvalidValue { field: "fenced", value: 5 })
    );
    // An array claiming more elements than there are bytes left.
    let huge = frame(5, 1, &[&[0; 20], &[1, 0, 5, 0xff, 0xff, 0xff, 0x0f, 0]]);
    assert_eq!(MetadataRecord::decode(&huge), Err(DecodeError::Truncated));
}

fn ids() -> impl Strategy<Value = Vec<i32>> {
    proptest::collection::vec(-1..10i32, 0..4)
}

fn uuids() -> impl Strategy<Value = Vec<Uuid>> {
    proptest::collection::vec(any::<u128>().prop_map(Uuid::from_u128), 0..3)
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._-]{0,12}"
}

fn register_broker() -> impl Strategy<Value = MetadataRecord> {
    let endpoint =
        (name(), name(), any::<u16>(), 0..4i16).prop_map(|(name, host, port, security_protocol)| {
            BrokerEndpoint { name, host, port, security_protocol }
        });
    let feature = (name(), any::<i16>(), any::<i16>()).prop_map(|(name, min, max)| BrokerFeature {
        name,
        min_supported_version: min,
        max_supported_version: max,
    });
    (
        (any::<i32>(), any::<bool>(), any::<u128>(), any::<i64>()),
        proptest::collection::vec(endpoint, 0..3),
        proptest::collection::vec(feature, 0..2),
        (proptest::option::of(name()), any::<bool>(), any::<bool>(), uuids()),
    )
        .prop_map(
            |((broker_id, zk, incarnation, epoch), endpoints, features, (rack, fenced, ics, log_dirs))| {
                MetadataRecord::RegisterBroker(RegisterBrokerRecord {
                    broker_id,
                    is_migrating_zk_broker: zk,
                    incarnation_id: Uuid::from_u128(incarnation),
                    broker_epoch: epoch,
                    endpoints,
                    features,
                    rack,
                    fenced,
                    in_controlled_shutdown: ics,
                    log_dirs,
                })
            },
        )
}

fn partition_record() -> impl Strategy<Value = MetadataRecord> {
    (
        (any::<i32>(), any::<u128>(), ids(), ids(), ids(), ids()),
        (any::<i32>(), 0..2i8, any::<i32>(), any::<i32>(), uuids()),
    )
        .prop_map(
            |((partition_id, topic, replicas, isr, removing, adding), (leader, lrs, le, pe, directories))| {
                MetadataRecord::Partition(PartitionRecord {
                    partition_id,
                    topic_id: Uuid::from_u128(topic),
                    replicas,
                    isr,
                    removing_replicas: removing,
                    adding_replicas: adding,
                    leader,
                    leader_recovery_state: lrs,
                    leader_epoch: le,
                    partition_epoch: pe,
                    directories,
                })
            },
        )
}

fn partition_change() -> impl Strategy<Value = MetadataRecord> {
    let list = || proptest::option::of(ids());
    (
        (any::<i32>(), any::<u128>(), list(), -2..5i32),
        (list(), list(), list(), -1..2i8, proptest::option::of(uuids())),
    )
        .prop_map(
            |((partition_id, topic, isr, leader), (replicas, removing, adding, lrs, directories))| {
                MetadataRecord::PartitionChange(PartitionChangeRecord {
                    partition_id,
                    topic_id: Uuid::from_u128(topic),
                    isr,
                    leader,
                    replicas,
                    removing_replicas: removing,
                    adding_replicas: adding,
                    leader_recovery_state: lrs,
                    directories,
                })
            },
        )
}

fn client_quota() -> impl Strategy<Value = MetadataRecord> {
    let part = (name(), proptest::option::of(name()))
        .prop_map(|(entity_type, n)| (entity_type, crate::quotas::EntityName::from_wire(n.as_deref())));
    (
        proptest::collection::btree_map(part.prop_map(|p| p), Just(()), 0..3),
        name(),
        any::<f64>(),
        any::<bool>(),
    )
        .prop_map(|(parts, key, value, remove)| MetadataRecord::ClientQuota {
            entity: crate::quotas::QuotaEntity(parts.into_keys().collect()),
            key,
            value: crate::quotas::QuotaValue(value),
            remove,
        })
}

fn record() -> impl Strategy<Value = MetadataRecord> {
    let fencing =
        prop_oneof![Just(FencingChange::Unfence), Just(FencingChange::None), Just(FencingChange::Fence)];
    let shutdown = prop_oneof![
        Just(ControlledShutdownChange::None),
        Just(ControlledShutdownChange::InControlledShutdown)
    ];
    prop_oneof![
        register_broker(),
        (any::<i32>(), any::<i64>()).prop_map(|(broker_id, broker_epoch)| MetadataRecord::UnregisterBroker {
            broker_id,
            broker_epoch
        }),
        (name(), any::<u128>())
            .prop_map(|(name, id)| MetadataRecord::Topic { name, topic_id: Uuid::from_u128(id) }),
        partition_record(),
        (any::<i8>(), name(), name(), proptest::option::of(name())).prop_map(
            |(resource_type, resource_name, name, value)| MetadataRecord::Config {
                resource_type,
                resource_name,
                name,
                value
            }
        ),
        partition_change(),
        (any::<i32>(), any::<i64>()).prop_map(|(id, epoch)| MetadataRecord::FenceBroker { id, epoch }),
        (any::<i32>(), any::<i64>()).prop_map(|(id, epoch)| MetadataRecord::UnfenceBroker { id, epoch }),
        any::<u128>().prop_map(|id| MetadataRecord::RemoveTopic { topic_id: Uuid::from_u128(id) }),
        client_quota(),
        (any::<i32>(), any::<i64>(), any::<i64>()).prop_map(|(broker_id, broker_epoch, next_producer_id)| {
            MetadataRecord::ProducerIds { broker_id, broker_epoch, next_producer_id }
        }),
        (any::<i32>(), any::<i64>(), fencing, shutdown).prop_map(|(broker_id, broker_epoch, fenced, ics)| {
            MetadataRecord::BrokerRegistrationChange(BrokerRegistrationChangeRecord {
                broker_id,
                broker_epoch,
                fenced,
                in_controlled_shutdown: ics,
            })
        }),
        any_acl().prop_map(|(id, acl)| MetadataRecord::AccessControlEntry { id, acl }),
        any::<u128>().prop_map(|id| MetadataRecord::RemoveAccessControlEntry { id: Uuid::from_u128(id) }),
        any_scram_record(),
    ]
}

fn any_acl() -> impl Strategy<Value = (Uuid, crate::security::Acl)> {
    use crate::security::{Acl, Operation, PatternType, Permission, ResourcePattern, ResourceType};
    use proptest::sample::select as pick;
    (
        any::<u128>(),
        (pick(ResourceType::ALL_VALUES), name(), pick(PatternType::ALL_VALUES)),
        (name(), name(), pick(Operation::ALL_VALUES), pick(Permission::ALL_VALUES)),
    )
        .prop_map(
            |(id, (resource_type, resource_name, pattern_type), (principal, host, operation, permission))| {
                let pattern = ResourcePattern { resource_type, name: resource_name, pattern_type };
                (Uuid::from_u128(id), Acl { pattern, principal, host, operation, permission })
            },
        )
}

proptest! {
    /// Every record decodes to itself, and no prefix of its bytes decodes to
    /// anything but an error (a torn value is never mistaken for a record).
    #[test]
    fn every_record_round_trips(record in record()) {
        let bytes = record.encode();
        prop_assert_eq!(MetadataRecord::decode(&bytes), Ok(record));
        for cut in 0..bytes.len() {
            prop_assert!(MetadataRecord::decode(&bytes[..cut]).is_err());
        }
    }
}

/// UserScramCredentialRecord v0 and RemoveUserScramCredentialRecord v0 (api
/// key 22), field by field from Kafka's schemas: Name compact string,
/// Mechanism int8 (SCRAM-SHA-512 is 2), Salt, StoredKey and ServerKey compact
/// bytes, Iterations int32, an empty tagged section.
#[test]
fn user_scram_credential_record_layout() {
    use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
    let credential =
        ScramCredential { salt: vec![9], stored_key: vec![1, 2], server_key: vec![3], iterations: 4096 };
    let record = MetadataRecord::UserScramCredential {
        name: "al".into(),
        mechanism: ScramMechanism::Sha512,
        credential,
    };
    let body: &[&[u8]] = &[&[3, b'a', b'l', 2], &[2, 9], &[3, 1, 2], &[2, 3], &4096i32.to_be_bytes(), &[0]];
    assert_eq!(record.encode(), frame(11, 0, body));
    let removal =
        MetadataRecord::RemoveUserScramCredential { name: "al".into(), mechanism: ScramMechanism::Sha256 };
    assert_eq!(removal.encode(), frame(22, 0, &[&[3, b'a', b'l', 1, 0]]));
}

/// A mechanism byte that names no SCRAM mechanism (0 is Kafka's UNKNOWN) is
/// never written by a controller: it means a corrupt log.
#[test]
fn user_scram_credential_with_unknown_mechanism_is_refused() {
    let bytes = frame(22, 0, &[&[3, b'a', b'l', 0, 0]]);
    assert_eq!(
        MetadataRecord::decode(&bytes),
        Err(DecodeError::InvalidValue { field: "mechanism", value: 0 })
    );
}

fn any_scram_record() -> impl Strategy<Value = MetadataRecord> {
    use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
    let mechanism = proptest::sample::select(vec![ScramMechanism::Sha256, ScramMechanism::Sha512]);
    let bytes = || proptest::collection::vec(any::<u8>(), 0..70);
    prop_oneof![
        (name(), mechanism.clone(), bytes(), bytes(), bytes(), any::<i32>()).prop_map(
            |(name, mechanism, salt, stored_key, server_key, iterations)| {
                let credential = ScramCredential { salt, stored_key, server_key, iterations };
                MetadataRecord::UserScramCredential { name, mechanism, credential }
            }
        ),
        (name(), mechanism)
            .prop_map(|(name, mechanism)| MetadataRecord::RemoveUserScramCredential { name, mechanism }),
    ]
}
