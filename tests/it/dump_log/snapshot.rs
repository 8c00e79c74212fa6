//! `spool dump-log` on a metadata snapshot (`<end offset>-<epoch>.checkpoint`,
//! issue 14 §2), against what Kafka's `kafka-dump-log.sh` prints for one
//! (`DumpLogSegments.dumpLog`'s `Snapshots.SUFFIX` case): the
//! `Snapshot end offset: …, epoch: …` line, the batches as a segment's, the
//! header and footer control records as their JSON, and with
//! `--cluster-metadata-decoder` each record's payload.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use spool::format::RecordBatch;
use spool::metadata::records::{BrokerEndpoint, PartitionRecord, RegisterBrokerRecord};
use spool::metadata::snapshot::{encode_snapshot, write_snapshot, SnapshotId};
use spool::metadata::{MetadataImage, MetadataRecord};
use spool::tools::dump_log::metadata_json::record_json;
use uuid::Uuid;

use super::{assert_ok, lines, spool, text, T0};

const ID: SnapshotId = SnapshotId { end_offset: 42, epoch: 3 };
const LAST_CONTAINED_MS: i64 = T0 - 1_000;

/// Broker 4 (fenced), topic `orders` with one partition led by 4.
fn image() -> MetadataImage {
    let topic_id = Uuid::from_u128(1);
    let history = [
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
            log_dirs: vec![],
        }),
        MetadataRecord::Topic { name: "orders".into(), topic_id },
        MetadataRecord::Partition(PartitionRecord {
            partition_id: 0,
            topic_id,
            replicas: vec![4],
            isr: vec![4],
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader: 4,
            leader_recovery_state: 0,
            leader_epoch: 2,
            partition_epoch: 5,
            directories: vec![],
        }),
    ];
    let mut image = MetadataImage::default();
    for record in &history {
        image.apply(record).unwrap();
    }
    image
}

/// The sizes of the batches a snapshot of [`image`] is written as.
fn batch_sizes() -> Vec<usize> {
    let mut rest = Bytes::from(encode_snapshot(ID, &image().records(), LAST_CONTAINED_MS, T0).to_vec());
    let mut sizes = Vec::new();
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).unwrap();
        sizes.push(batch.size_in_bytes());
        rest = tail;
    }
    sizes
}

fn written(dir: &Path) -> PathBuf {
    write_snapshot(dir, ID, &image(), LAST_CONTAINED_MS, T0).unwrap()
}

/// The start of Kafka's line for the batch of `count` records at `base`.
fn batch_head(base: i64, count: i64, control: bool, position: usize) -> String {
    format!(
        "baseOffset: {base} lastOffset: {} count: {count} baseSequence: -1 lastSequence: -1 producerId: -1 \
         producerEpoch: -1 partitionLeaderEpoch: 3 isTransactional: false isControl: {control} \
         deleteHorizonMs: OptionalLong.empty position: {position} CreateTime: {T0} size: ",
        base + count - 1
    )
}

/// With `--cluster-metadata-decoder`: the id line, three batches (header,
/// data, footer) at the snapshot's epoch, the header and footer as Kafka's
/// JSON and each record's payload as Kafka's.
#[test]
fn a_snapshot_dumps_as_kafka_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = written(dir.path());
    let out = spool(&["dump-log", "--cluster-metadata-decoder", "--files", path.to_str().unwrap()]);
    assert_ok(&out);
    let got = lines(&out);
    let records = image().records();
    assert_eq!(got.len(), 2 + 3 + records.len() + 2, "{got:#?}");
    assert_eq!(got[0], format!("Dumping {}", path.display()));
    assert_eq!(got[1], "Snapshot end offset: 42, epoch: 3");
    assert!(got[2].starts_with(&batch_head(0, 1, true, 0)), "{}", got[2]);
    let head = |offset: usize| format!("| offset: {offset} CreateTime: {T0} keySize: ");
    assert_eq!(
        got[3],
        format!(
            "{}4 valueSize: 11 sequence: -1 headerKeys: [] SnapshotHeader \
             {{\"version\":0,\"lastContainedLogTimestamp\":{LAST_CONTAINED_MS}}}",
            head(0)
        )
    );
    assert!(got[4].starts_with(&batch_head(1, 3, false, batch_sizes()[0])), "{}", got[4]);
    for (i, record) in records.iter().enumerate() {
        let value = record.encode();
        let (_, version) = MetadataRecord::decode_versioned(&value).unwrap();
        let want = format!(
            "{}-1 valueSize: {} sequence: -1 headerKeys: [] payload: {}",
            head(i + 1),
            value.len(),
            record_json(record, version)
        );
        assert_eq!(got[5 + i], want);
    }
    assert!(got[8].starts_with("baseOffset: 4 lastOffset: 4 count: 1 "), "{}", got[8]);
    assert!(got[8].contains(" isControl: true "), "{}", got[8]);
    let footer =
        format!("{}4 valueSize: 3 sequence: -1 headerKeys: [] SnapshotFooter {{\"version\":0}}", head(4));
    assert_eq!(got[9], footer);
}

/// Without options a snapshot prints its id line and batch lines only, as
/// a segment does.
#[test]
fn without_options_only_batches_print() {
    let dir = tempfile::tempdir().unwrap();
    let path = written(dir.path());
    let out = spool(&["dump-log", "--files", path.to_str().unwrap()]);
    assert_ok(&out);
    let got = lines(&out);
    assert_eq!(got.len(), 2 + 3, "{got:#?}");
    assert!(got[2..].iter().all(|l| l.starts_with("baseOffset: ")), "{got:#?}");
}

/// A snapshot cut before its footer has only sound batches, which print,
/// but is not a whole snapshot: the tool says so and exits non-zero. A
/// `.checkpoint` not named by a snapshot id is refused by name.
#[test]
fn an_unfinished_snapshot_fails_the_dump() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = encode_snapshot(ID, &image().records(), LAST_CONTAINED_MS, T0);
    let footer_bytes = batch_sizes()[2];
    let path = dir.path().join(ID.file_name());
    std::fs::write(&path, &bytes[..bytes.len() - footer_bytes]).unwrap();
    let out = spool(&["dump-log", "--files", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert_eq!(lines(&out).len(), 2 + 2, "the two sound batches still print");
    assert!(text(&out.stderr).contains("without a SnapshotFooterRecord"), "{}", text(&out.stderr));

    let renamed = dir.path().join("copy.checkpoint");
    std::fs::write(&renamed, &bytes).unwrap();
    let out = spool(&["dump-log", "--files", renamed.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not a snapshot file name"), "{}", text(&out.stderr));
}
