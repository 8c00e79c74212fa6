//! The JSON of each record type against what Kafka's generated
//! `*JsonConverter.write` gives for the same fields, derived by hand from the
//! schemas in `metadata/src/main/resources/common/metadata/*.json`.

use super::*;
use crate::metadata::records::{
    BrokerEndpoint, BrokerFeature, ControlledShutdownChange, FencingChange, DIRECTORY_UNASSIGNED,
};

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn broker(log_dirs: Vec<Uuid>) -> RegisterBrokerRecord {
    RegisterBrokerRecord {
        broker_id: 4,
        is_migrating_zk_broker: false,
        incarnation_id: uuid(2),
        broker_epoch: 11,
        endpoints: vec![BrokerEndpoint {
            name: "PLAINTEXT".into(),
            host: "127.0.0.1".into(),
            port: 9092,
            security_protocol: 0,
        }],
        features: vec![BrokerFeature {
            name: "metadata.version".into(),
            min_supported_version: 1,
            max_supported_version: 21,
        }],
        rack: None,
        fenced: true,
        in_controlled_shutdown: false,
        log_dirs,
    }
}

/// RegisterBrokerRecord shows the fields of the version it was read at:
/// `isMigratingZkBroker` from v2, `inControlledShutdown` from v1, the tagged
/// `logDirs` from v3 and only when not empty (its default is empty).
#[test]
fn register_broker_fields_follow_the_version() {
    let head = r#""brokerId":4"#;
    let rest = r#""incarnationId":"AAAAAAAAAAAAAAAAAAAAAg","brokerEpoch":11,"endPoints":[{"name":"PLAINTEXT","host":"127.0.0.1","port":9092,"securityProtocol":0}],"features":[{"name":"metadata.version","minSupportedVersion":1,"maxSupportedVersion":21}],"rack":null,"fenced":true"#;
    let record = MetadataRecord::RegisterBroker(broker(vec![uuid(3)]));
    assert_eq!(
        record_json(&record, 3),
        format!(
            r#"{{"type":"REGISTER_BROKER_RECORD","version":3,"data":{{{head},"isMigratingZkBroker":false,{rest},"inControlledShutdown":false,"logDirs":["AAAAAAAAAAAAAAAAAAAAAw"]}}}}"#
        )
    );
    assert_eq!(
        record_json(&record, 0),
        format!(r#"{{"type":"REGISTER_BROKER_RECORD","version":0,"data":{{{head},{rest}}}}}"#)
    );
    let no_dirs = MetadataRecord::RegisterBroker(broker(vec![]));
    assert!(!record_json(&no_dirs, 3).contains("logDirs"));
}

/// PartitionRecord v1 has `directories`, v0 does not; `leaderRecoveryState`
/// (tagged, default 0) shows only when the partition is recovering.
#[test]
fn partition_record_fields_follow_the_version() {
    let mut p = PartitionRecord {
        partition_id: 0,
        topic_id: uuid(1),
        replicas: vec![1, 2],
        isr: vec![1],
        removing_replicas: vec![],
        adding_replicas: vec![],
        leader: 1,
        leader_recovery_state: 0,
        leader_epoch: 3,
        partition_epoch: 5,
        directories: vec![DIRECTORY_UNASSIGNED, DIRECTORY_UNASSIGNED],
    };
    let ids = r#""partitionId":0,"topicId":"AAAAAAAAAAAAAAAAAAAAAQ","replicas":[1,2],"isr":[1],"removingReplicas":[],"addingReplicas":[],"leader":1"#;
    let epochs = r#""leaderEpoch":3,"partitionEpoch":5"#;
    let dirs = r#""directories":["AAAAAAAAAAAAAAAAAAAAAQ","AAAAAAAAAAAAAAAAAAAAAQ"]"#;
    assert_eq!(
        record_json(&MetadataRecord::Partition(p.clone()), 1),
        format!(r#"{{"type":"PARTITION_RECORD","version":1,"data":{{{ids},{epochs},{dirs}}}}}"#)
    );
    p.leader_recovery_state = 1;
    assert_eq!(
        record_json(&MetadataRecord::Partition(p), 0),
        format!(
            r#"{{"type":"PARTITION_RECORD","version":0,"data":{{{ids},"leaderRecoveryState":1,{epochs}}}}}"#
        )
    );
}

/// A PartitionChangeRecord shows only what it changes: a null list, a leader
/// of -2 and a recovery state of -1 are the tagged fields' defaults.
#[test]
fn partition_change_shows_only_what_changes() {
    let mut change = PartitionChangeRecord::new(uuid(1), 2);
    let unchanged = MetadataRecord::PartitionChange(change.clone());
    assert_eq!(
        record_json(&unchanged, 1),
        r#"{"type":"PARTITION_CHANGE_RECORD","version":1,"data":{"partitionId":2,"topicId":"AAAAAAAAAAAAAAAAAAAAAQ"}}"#
    );
    change.isr = Some(vec![2, 3]);
    change.leader = -1;
    change.directories = Some(vec![]);
    assert_eq!(
        record_json(&MetadataRecord::PartitionChange(change), 1),
        r#"{"type":"PARTITION_CHANGE_RECORD","version":1,"data":{"partitionId":2,"topicId":"AAAAAAAAAAAAAAAAAAAAAQ","isr":[2,3],"leader":-1,"directories":[]}}"#
    );
}

/// The small records: field names in camelCase, a null config value as JSON
/// null, BrokerRegistrationChangeRecord's tagged bytes only when not 0.
#[test]
fn small_records_match_kafka() {
    let cases = [
        (
            MetadataRecord::Config {
                resource_type: 2,
                resource_name: "orders".into(),
                name: "retention.ms".into(),
                value: None,
            },
            r#"{"type":"CONFIG_RECORD","version":0,"data":{"resourceType":2,"resourceName":"orders","name":"retention.ms","value":null}}"#,
        ),
        (
            MetadataRecord::ProducerIds { broker_id: 4, broker_epoch: 11, next_producer_id: 2000 },
            r#"{"type":"PRODUCER_IDS_RECORD","version":0,"data":{"brokerId":4,"brokerEpoch":11,"nextProducerId":2000}}"#,
        ),
        (
            MetadataRecord::FenceBroker { id: 4, epoch: 11 },
            r#"{"type":"FENCE_BROKER_RECORD","version":0,"data":{"id":4,"epoch":11}}"#,
        ),
        (
            MetadataRecord::RemoveTopic { topic_id: uuid(u128::MAX) },
            r#"{"type":"REMOVE_TOPIC_RECORD","version":0,"data":{"topicId":"_____________________w"}}"#,
        ),
        (
            MetadataRecord::BrokerRegistrationChange(BrokerRegistrationChangeRecord {
                broker_id: 4,
                broker_epoch: 11,
                fenced: FencingChange::Unfence,
                in_controlled_shutdown: ControlledShutdownChange::None,
            }),
            r#"{"type":"BROKER_REGISTRATION_CHANGE_RECORD","version":0,"data":{"brokerId":4,"brokerEpoch":11,"fenced":-1}}"#,
        ),
    ];
    for (record, json) in cases {
        let (decoded, version) = MetadataRecord::decode_versioned(&record.encode()).unwrap();
        assert_eq!(record_json(&decoded, version), json);
    }
}

/// Strings are escaped as Jackson escapes them: quotes and backslashes, the
/// five short forms, other control characters as upper-case `\u00XX`; UTF-8
/// passes through.
#[test]
fn strings_are_escaped_as_jackson_does() {
    assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(quote("\u{8}\t\n\u{c}\r"), r#""\b\t\n\f\r""#);
    assert_eq!(quote("\u{1}\u{1f}"), r#""\u0001\u001F""#);
    assert_eq!(quote("zürich/日本"), "\"zürich/日本\"");
}

/// A value that does not decode gives Kafka's `Error at <offset>, skipping.`
/// form with the reason, never a panic.
#[test]
fn undecodable_values_give_kafkas_error_form() {
    let (shown, why) = payload(7, Some(&[1, 77, 0])).unwrap_err();
    assert_eq!(shown, "Error at 7, skipping. unsupported metadata record api key 77");
    assert_eq!(why, "unsupported metadata record api key 77");
    let (shown, _) = payload(8, None).unwrap_err();
    assert_eq!(shown, "Error at 8, skipping. metadata record has no value");
    let topic = MetadataRecord::Topic { name: "t".into(), topic_id: uuid(1) }.encode();
    for cut in 0..topic.len() {
        assert!(payload(9, Some(&topic[..cut])).unwrap_err().0.starts_with("Error at 9, skipping. "));
    }
}
