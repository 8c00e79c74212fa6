//! `spool dump-log --cluster-metadata-decoder` on a controller's
//! `__cluster_metadata-0` (chapter 7, issue 14 §2), against what Kafka's
//! `kafka-dump-log.sh --cluster-metadata-decoder` prints for the same log
//! (`DumpLogSegments.ClusterMetadataLogMessageParser`):
//!
//! ```text
//! | offset: 0 CreateTime: … keySize: 4 valueSize: 39 sequence: -1 headerKeys: [] controlType: LEADER_CHANGE(2)
//! | offset: 2 CreateTime: … keySize: -1 valueSize: 31 sequence: -1 headerKeys: [] payload: {"type":"TOPIC_RECORD",…}
//! ```
//!
//! The log is written by the quorum's own on-disk log ([`QuorumLog`]), as a
//! controller writes it: a LEADER_CHANGE control batch at the start of each
//! epoch, then the epoch's metadata records in one data batch.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use spool::format::RecordBatch;
use spool::metadata::records::{
    BrokerEndpoint, BrokerRegistrationChangeRecord, ControlledShutdownChange, FencingChange,
    PartitionChangeRecord, PartitionRecord, RegisterBrokerRecord, DIRECTORY_UNASSIGNED,
};
use spool::metadata::{MetadataRecord, QuorumLog};
use spool::raft::{Entry, RaftLog, Record};
use uuid::Uuid;

use super::{assert_ok, lines, spool, text};

fn broker_4() -> MetadataRecord {
    MetadataRecord::RegisterBroker(RegisterBrokerRecord {
        broker_id: 4,
        is_migrating_zk_broker: false,
        incarnation_id: Uuid::from_u128(2),
        broker_epoch: 1,
        endpoints: vec![BrokerEndpoint {
            name: "PLAINTEXT".into(),
            host: "127.0.0.1".into(),
            port: 9092,
            security_protocol: 0,
        }],
        features: vec![],
        rack: None,
        fenced: true,
        in_controlled_shutdown: false,
        log_dirs: vec![DIRECTORY_UNASSIGNED],
    })
}

fn orders_partition() -> MetadataRecord {
    MetadataRecord::Partition(PartitionRecord {
        partition_id: 0,
        topic_id: Uuid::from_u128(1),
        replicas: vec![4],
        isr: vec![4],
        removing_replicas: vec![],
        adding_replicas: vec![],
        leader: 4,
        leader_recovery_state: 0,
        leader_epoch: 0,
        partition_epoch: 0,
        directories: vec![DIRECTORY_UNASSIGNED],
    })
}

/// Epoch 1: controller 1 leads; broker 4 registers and is unfenced, topic
/// `orders` is created. Epoch 2: controller 2 leads; the partition's ISR
/// changes, a config is set, producer ids are handed out, the topic is deleted.
fn records() -> [(i32, MetadataRecord); 8] {
    let mut isr_change = PartitionChangeRecord::new(Uuid::from_u128(1), 0);
    isr_change.isr = Some(vec![4]);
    isr_change.leader = 4;
    let unfence = BrokerRegistrationChangeRecord {
        broker_id: 4,
        broker_epoch: 1,
        fenced: FencingChange::Unfence,
        in_controlled_shutdown: ControlledShutdownChange::None,
    };
    [
        (1, broker_4()),
        (1, MetadataRecord::Topic { name: "orders".into(), topic_id: Uuid::from_u128(1) }),
        (1, orders_partition()),
        (1, MetadataRecord::BrokerRegistrationChange(unfence)),
        (2, MetadataRecord::PartitionChange(isr_change)),
        (
            2,
            MetadataRecord::Config {
                resource_type: 2,
                resource_name: "orders".into(),
                name: "retention.ms".into(),
                value: Some("1000".into()),
            },
        ),
        (2, MetadataRecord::ProducerIds { broker_id: 4, broker_epoch: 1, next_producer_id: 1000 }),
        (2, MetadataRecord::RemoveTopic { topic_id: Uuid::from_u128(1) }),
    ]
}

/// The payload Kafka's parser prints for each of [`records`], by hand from the schemas.
const PAYLOADS: [&str; 8] = [
    r#"{"type":"REGISTER_BROKER_RECORD","version":3,"data":{"brokerId":4,"isMigratingZkBroker":false,"incarnationId":"AAAAAAAAAAAAAAAAAAAAAg","brokerEpoch":1,"endPoints":[{"name":"PLAINTEXT","host":"127.0.0.1","port":9092,"securityProtocol":0}],"features":[],"rack":null,"fenced":true,"inControlledShutdown":false,"logDirs":["AAAAAAAAAAAAAAAAAAAAAQ"]}}"#,
    r#"{"type":"TOPIC_RECORD","version":0,"data":{"name":"orders","topicId":"AAAAAAAAAAAAAAAAAAAAAQ"}}"#,
    r#"{"type":"PARTITION_RECORD","version":1,"data":{"partitionId":0,"topicId":"AAAAAAAAAAAAAAAAAAAAAQ","replicas":[4],"isr":[4],"removingReplicas":[],"addingReplicas":[],"leader":4,"leaderEpoch":0,"partitionEpoch":0,"directories":["AAAAAAAAAAAAAAAAAAAAAQ"]}}"#,
    r#"{"type":"BROKER_REGISTRATION_CHANGE_RECORD","version":0,"data":{"brokerId":4,"brokerEpoch":1,"fenced":-1}}"#,
    r#"{"type":"PARTITION_CHANGE_RECORD","version":1,"data":{"partitionId":0,"topicId":"AAAAAAAAAAAAAAAAAAAAAQ","isr":[4],"leader":4}}"#,
    r#"{"type":"CONFIG_RECORD","version":0,"data":{"resourceType":2,"resourceName":"orders","name":"retention.ms","value":"1000"}}"#,
    r#"{"type":"PRODUCER_IDS_RECORD","version":0,"data":{"brokerId":4,"brokerEpoch":1,"nextProducerId":1000}}"#,
    r#"{"type":"REMOVE_TOPIC_RECORD","version":0,"data":{"topicId":"AAAAAAAAAAAAAAAAAAAAAQ"}}"#,
];

/// A metadata log written through [`QuorumLog`], one append per epoch (its
/// leader change, then its records): `values` are the data entries' bytes.
fn write_log(dir: &Path, values: &[(i32, Vec<u8>)]) -> PathBuf {
    let mut log = QuorumLog::open(dir, vec![1, 2, 3], 0).unwrap();
    let mut epochs: Vec<i32> = values.iter().map(|(epoch, _)| *epoch).collect();
    epochs.dedup();
    for epoch in epochs {
        let mut entries = vec![Entry { epoch, record: Record::LeaderChange { leader_id: epoch } }];
        let data = values.iter().filter(|(e, _)| *e == epoch);
        entries.extend(data.map(|(_, value)| Entry { epoch, record: Record::Data(value.clone()) }));
        log.append(entries);
    }
    assert!(log.failure().is_none());
    log.close().unwrap();
    dir.join(format!("{:020}.log", 0))
}

fn batches(segment: &Path) -> Vec<(usize, RecordBatch)> {
    let mut rest = Bytes::from(std::fs::read(segment).unwrap());
    let (mut out, mut position) = (Vec::new(), 0);
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).unwrap();
        let size = batch.size_in_bytes();
        out.push((position, batch));
        position += size;
        rest = tail;
    }
    out
}

/// Kafka's batch line for one batch of a metadata log: no producer, the
/// epoch in `partitionLeaderEpoch`, `isControl` for a leader change.
fn batch_line(position: usize, b: &RecordBatch) -> String {
    format!(
        "baseOffset: {} lastOffset: {} count: {} baseSequence: -1 lastSequence: -1 producerId: -1 \
         producerEpoch: -1 partitionLeaderEpoch: {} isTransactional: false isControl: {} \
         deleteHorizonMs: OptionalLong.empty position: {position} CreateTime: {} size: {} magic: 2 \
         compresscodec: none crc: {} isvalid: true",
        b.base_offset(),
        b.last_offset(),
        b.records_count(),
        b.partition_leader_epoch(),
        b.is_control(),
        b.max_timestamp(),
        b.size_in_bytes(),
        b.crc(),
    )
}

/// The lines of a dump of `segment`: each batch line, then (if `record_line`
/// says so) one line per record, from its offset and whether it is a leader change.
fn expected(segment: &Path, record_line: impl Fn(i64, i64, bool) -> Option<String>) -> Vec<String> {
    let mut want = vec![format!("Dumping {}", segment.display()), "Log starting offset: 0".to_string()];
    for (position, batch) in batches(segment) {
        want.push(batch_line(position, &batch));
        for offset in batch.base_offset()..=batch.last_offset() {
            want.extend(record_line(offset, batch.max_timestamp(), batch.is_control()));
        }
    }
    want
}

fn dump(segment: &Path, flags: &[&str]) -> std::process::Output {
    let mut args = vec!["dump-log", "--files", segment.to_str().unwrap()];
    args.extend(flags);
    spool(&args)
}

/// The golden dump: a LEADER_CHANGE control record ends with Kafka's
/// `controlType: LEADER_CHANGE(2)` (its 39-byte LeaderChangeMessage v0 naming
/// three voters, never printed as data), and every metadata record's line
/// ends with ` payload: ` and Kafka's JSON for it, in offset order across
/// both epochs' batches.
#[test]
fn cluster_metadata_decoder_prints_kafkas_json() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<(i32, Vec<u8>)> = records().iter().map(|(e, r)| (*e, r.encode())).collect();
    let segment = write_log(dir.path(), &values);
    let out = dump(&segment, &["--cluster-metadata-decoder"]);
    assert_ok(&out);
    // Offsets: 0 leader change, 1-4 epoch 1's records, 5 leader change, 6-9 epoch 2's.
    let data_index = |offset: i64| (offset - 1 - offset / 5) as usize;
    let want = expected(&segment, |offset, t, control| {
        let head = format!("| offset: {offset} CreateTime: {t}");
        Some(if control {
            format!(
                "{head} keySize: 4 valueSize: 39 sequence: -1 headerKeys: [] controlType: LEADER_CHANGE(2)"
            )
        } else {
            let i = data_index(offset);
            let size = values[i].1.len();
            format!(
                "{head} keySize: -1 valueSize: {size} sequence: -1 headerKeys: [] payload: {}",
                PAYLOADS[i]
            )
        })
    });
    assert_eq!(want.len(), 2 + 4 + 10, "two batches per epoch, ten records");
    assert_eq!(lines(&out), want);
}

/// Without the decoder the metadata log dumps as any log does: batch lines
/// only by default; with `--deep-iteration`, record lines without payloads
/// (a control record still says what it is, as in Kafka's tool).
#[test]
fn without_the_decoder_the_metadata_log_dumps_as_any_log() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<(i32, Vec<u8>)> = records().iter().map(|(e, r)| (*e, r.encode())).collect();
    let segment = write_log(dir.path(), &values);
    let out = dump(&segment, &[]);
    assert_ok(&out);
    assert_eq!(lines(&out), expected(&segment, |_, _, _| None));
    let out = dump(&segment, &["--deep-iteration"]);
    assert_ok(&out);
    let got = lines(&out);
    assert_eq!(got.len(), 2 + 4 + 10);
    assert!(got.iter().all(|l| !l.contains("payload:")), "{got:#?}");
    let control: Vec<_> = got.iter().filter(|l| l.ends_with(" controlType: LEADER_CHANGE(2)")).collect();
    assert_eq!(control.len(), 2);
}

/// A record spool cannot decode (an unknown api key, a value cut short)
/// prints Kafka's `Error at <offset>, skipping. <why>` in place of its
/// payload; the records around it still print; the tool exits non-zero and
/// stderr names the offset — no panic.
#[test]
fn an_undecodable_record_prints_kafkas_error_form() {
    let dir = tempfile::tempdir().unwrap();
    let topic = MetadataRecord::Topic { name: "orders".into(), topic_id: Uuid::from_u128(1) }.encode();
    let values = vec![(1, vec![1, 77, 0]), (1, topic[..topic.len() - 3].to_vec()), (1, topic.clone())];
    let segment = write_log(dir.path(), &values);
    let out = dump(&segment, &["--cluster-metadata-decoder"]);
    assert!(!out.status.success());
    let got = lines(&out);
    let payload = |offset: i64| {
        let prefix = format!("| offset: {offset} ");
        let line = got.iter().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{got:#?}"));
        line.split_once(" payload: ").map(|(_, p)| p.to_string()).unwrap()
    };
    assert_eq!(payload(1), "Error at 1, skipping. unsupported metadata record api key 77");
    assert_eq!(payload(2), "Error at 2, skipping. truncated metadata record");
    assert_eq!(payload(3), PAYLOADS[1]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("record at offset 1: unsupported metadata record api key 77"), "{stderr}");
    assert!(stderr.contains("record at offset 2: truncated"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
