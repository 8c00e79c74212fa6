//! Snapshot files as Kafka's `RecordsSnapshotWriter` lays them out (KIP-630):
//! header, data, footer, offsets from 0, the snapshot's epoch in every batch;
//! written atomically, and refused whole — never half-loaded, never a panic —
//! when torn, corrupt or unfinished.

use bytes::BytesMut;
use uuid::Uuid;

use super::batches::encode_cut_at;
use super::*;
use crate::format::batch::batch_size;
use crate::format::RecordBatch;
use crate::metadata::records::{BrokerEndpoint, PartitionRecord, RegisterBrokerRecord, RESOURCE_TOPIC};
use crate::metadata::MetadataRecord;

const T0: i64 = 1_700_000_000_000;
const ID: SnapshotId = SnapshotId { end_offset: 42, epoch: 3 };

/// Two brokers (one fenced), topic "orders" with two partitions and a config
/// override, and a producer id block.
fn image() -> MetadataImage {
    let topic_id = Uuid::from_u128(7);
    let broker = |id: i32, fenced| {
        MetadataRecord::RegisterBroker(RegisterBrokerRecord {
            broker_id: id,
            is_migrating_zk_broker: false,
            incarnation_id: Uuid::from_u128(100 + id as u128),
            broker_epoch: 10 + i64::from(id),
            endpoints: vec![BrokerEndpoint {
                name: "PLAINTEXT".into(),
                host: "127.0.0.1".into(),
                port: 9092,
                security_protocol: 0,
            }],
            features: vec![],
            rack: None,
            fenced,
            in_controlled_shutdown: false,
            log_dirs: vec![Uuid::from_u128(5)],
        })
    };
    let partition = |partition_id| {
        MetadataRecord::Partition(PartitionRecord {
            partition_id,
            topic_id,
            replicas: vec![1, 2],
            isr: vec![1],
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader: 1,
            leader_recovery_state: 0,
            leader_epoch: 4,
            partition_epoch: 9,
            directories: vec![],
        })
    };
    let mut image = MetadataImage::default();
    let history = [
        broker(1, false),
        broker(2, true),
        MetadataRecord::Topic { name: "orders".into(), topic_id },
        partition(0),
        partition(1),
        MetadataRecord::Config {
            resource_type: RESOURCE_TOPIC,
            resource_name: "orders".into(),
            name: "cleanup.policy".into(),
            value: Some("compact".into()),
        },
        MetadataRecord::ProducerIds { broker_id: 1, broker_epoch: 11, next_producer_id: 2000 },
    ];
    for record in &history {
        image.apply(record).unwrap();
    }
    image
}

/// The batches of `bytes`, in order.
fn batches(bytes: &[u8]) -> Vec<RecordBatch> {
    let mut rest = bytes::Bytes::copy_from_slice(bytes);
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).unwrap();
        out.push(batch);
        rest = tail;
    }
    out
}

fn encoded() -> BytesMut {
    encode_snapshot(ID, &image().records(), T0 - 5, T0)
}

/// A written snapshot is named `%020d-%010d.checkpoint`, reads back as the
/// same image, and leaves no `.part` file behind.
#[test]
fn a_written_snapshot_reads_back_as_the_same_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_snapshot(dir.path(), ID, &image(), T0 - 5, T0).unwrap();
    assert_eq!(path.file_name().unwrap(), "00000000000000000042-0000000003.checkpoint");
    let (id, read) = read_snapshot(&path).unwrap();
    assert_eq!((id, read), (ID, image()));
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![path.file_name().unwrap().to_owned()]);
    assert!(matches!(
        write_snapshot(dir.path(), ID, &image(), T0, T0),
        Err(SnapshotError::AlreadyExists(ID))
    ));
}

/// RecordsSnapshotWriter's layout: a control batch with the header (type 3)
/// at offset 0, the records from offset 1, a control batch with the footer
/// (type 4) last; every batch's partitionLeaderEpoch is the snapshot's epoch.
#[test]
fn the_layout_is_header_data_footer_from_offset_0() {
    let bytes = encoded();
    let batches = batches(&bytes);
    let summary: Vec<_> =
        batches.iter().map(|b| (b.base_offset(), b.last_offset(), b.is_control())).collect();
    assert_eq!(summary, vec![(0, 0, true), (1, 7, false), (8, 8, true)]);
    assert!(batches.iter().all(|b| b.partition_leader_epoch() == ID.epoch && b.validate().is_ok()));
    let key = |b: &RecordBatch| b.decode_records().unwrap()[0].key.clone().unwrap();
    assert_eq!(&key(&batches[0])[..], &[0, 0, 0, 3]);
    assert_eq!(&key(&batches[2])[..], &[0, 0, 0, 4]);
    let decoded = decode_snapshot(&bytes).unwrap();
    assert_eq!(decoded.last_contained_log_timestamp_ms, T0 - 5);
    let offsets: Vec<_> = decoded.records.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (1..=7).collect::<Vec<_>>());
}

/// Records past a batch's byte limit go on in the next batch, at the next
/// offset, and the whole reads back the same.
#[test]
fn large_images_span_several_data_batches() {
    let records = image().records();
    let values: Vec<_> = records.iter().map(MetadataRecord::encode).collect();
    let bytes = encode_cut_at(ID, &values, T0, T0, 1);
    let bases: Vec<_> = batches(&bytes).iter().map(|b| b.base_offset()).collect();
    assert_eq!(bases, (0..=8).collect::<Vec<_>>(), "one record per batch");
    let decoded: Vec<_> = decode_snapshot(&bytes).unwrap().records.into_iter().map(|(_, r)| r).collect();
    assert_eq!(decoded, records);
}

/// A file cut at any byte — a torn write copied by hand, a full disk — is an
/// error, never a panic or a smaller image.
#[test]
fn a_truncated_snapshot_is_refused_at_every_length() {
    let bytes = encoded();
    for len in 0..bytes.len() {
        let result = decode_snapshot(&bytes[..len]);
        assert!(result.is_err(), "{len} bytes of {} accepted", bytes.len());
    }
    let footer_start = bytes.len() - batches(&bytes).last().unwrap().size_in_bytes();
    assert!(matches!(decode_snapshot(&bytes[..footer_start + 20]), Err(SnapshotError::Truncated { .. })));
}

/// A flipped bit in a record fails the batch's CRC, and nothing of the
/// snapshot is used.
#[test]
fn a_bad_crc_is_refused() {
    let mut bytes = encoded();
    let data_start = batches(&bytes)[0].size_in_bytes();
    let last = data_start + batches(&bytes)[1].size_in_bytes() - 1;
    bytes[last] ^= 0x01;
    let err = decode_snapshot(&bytes).unwrap_err();
    assert!(
        matches!(err, SnapshotError::CorruptBatch { position, error: BatchError::CrcMismatch { .. } } if position == data_start),
        "{err}"
    );
}

/// Without its footer the snapshot may be missing records its writer never
/// wrote: refused. Without its header it is not a snapshot at all.
#[test]
fn missing_footer_or_header_is_refused() {
    let bytes = encoded();
    let all = batches(&bytes);
    let footer_start = bytes.len() - all[2].size_in_bytes();
    assert!(matches!(decode_snapshot(&bytes[..footer_start]), Err(SnapshotError::MissingFooter)));
    assert!(matches!(decode_snapshot(&[]), Err(SnapshotError::MissingHeader)));
    // The data batch alone, moved to offset 0.
    let mut data = BytesMut::from(&all[1].as_bytes()[..]);
    crate::format::RecordBatchMut::new(&mut data).unwrap().set_base_offset(0);
    assert!(matches!(decode_snapshot(&data), Err(SnapshotError::MissingHeader)));
    // Two snapshots spliced: whatever follows a footer is refused.
    let twice = [&bytes[..], &bytes[..]].concat();
    assert!(matches!(decode_snapshot(&twice), Err(SnapshotError::AfterFooter { .. })));
}

/// A batch dropped from the middle leaves a gap in the offsets: refused,
/// even though every remaining batch is whole and its CRC right.
#[test]
fn a_missing_batch_is_an_offset_gap() {
    let values: Vec<_> = image().records().iter().map(MetadataRecord::encode).collect();
    let bytes = encode_cut_at(ID, &values, T0, T0, 1);
    let all = batches(&bytes);
    let spliced: Vec<u8> =
        all.iter().enumerate().filter(|(i, _)| *i != 3).flat_map(|(_, b)| b.as_bytes().to_vec()).collect();
    assert!(matches!(decode_snapshot(&spliced), Err(SnapshotError::OffsetGap { expected: 3, found: 4 })));
    assert!(batch_size(&spliced).is_some());
}

/// A crash mid-write leaves `<id>.checkpoint.part` (and a crash mid-delete
/// `<id>.checkpoint.deleted`): opening the directory deletes them and lists
/// only finished snapshots, oldest first, as Kafka's log does at start.
#[test]
fn leftovers_of_a_crash_are_deleted_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let older = SnapshotId { end_offset: 10, epoch: 1 };
    write_snapshot(dir.path(), older, &image(), T0, T0).unwrap();
    write_snapshot(dir.path(), ID, &image(), T0, T0).unwrap();
    let part = dir.path().join("00000000000000000099-0000000004.checkpoint.part");
    fs::write(&part, &encoded()[..30]).unwrap();
    let deleted = dir.path().join("00000000000000000005-0000000001.checkpoint.deleted");
    fs::write(&deleted, encoded()).unwrap();
    fs::write(dir.path().join("00000000000000000000.log"), b"").unwrap();
    assert_eq!(open_snapshots(dir.path()).unwrap(), vec![older, ID]);
    assert!(!part.exists() && !deleted.exists());
    assert_eq!(latest_snapshot(dir.path()).unwrap(), Some(ID));
    assert_eq!(latest_snapshot(tempfile::tempdir().unwrap().path()).unwrap(), None);
}

/// Only Kafka's exact name is a snapshot; a renamed copy is refused by name.
#[test]
fn file_names_are_kafkas() {
    assert_eq!(SnapshotId::from_file_name(&ID.file_name()), Some(ID));
    for name in ["42-3.checkpoint", "00000000000000000042-0000000003.checkpoint.part", "x-y.checkpoint"] {
        assert_eq!(SnapshotId::from_file_name(name), None, "{name}");
    }
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("copy.checkpoint");
    fs::write(&renamed, encoded()).unwrap();
    assert!(matches!(read_snapshot(&renamed), Err(SnapshotError::BadFileName(_))));
}

/// A snapshot whose records do not build an image — here a partition of a
/// topic it never introduced — is refused by the image, with the offset.
#[test]
fn records_the_image_refuses_are_an_error() {
    let records = image().records();
    let orphan: Vec<_> = records.into_iter().filter(|r| !matches!(r, MetadataRecord::Topic { .. })).collect();
    let dir = tempfile::tempdir().unwrap();
    fs::write(snapshot_path(dir.path(), ID), encode_snapshot(ID, &orphan, T0, T0)).unwrap();
    let err = read_snapshot(&snapshot_path(dir.path(), ID)).unwrap_err();
    assert!(matches!(err, SnapshotError::Image { offset: 3, .. }), "{err}");
}

/// A snapshot Kafka wrote holds records spool does not read (a
/// FeatureLevelRecord for `metadata.version`, api key 12): loading it is
/// refused with the offset and why, while its layout alone checks out (what
/// `spool dump-log` reports on).
#[test]
fn records_spool_does_not_read_fail_the_load_not_the_layout() {
    let mut feature_level = vec![1, 12, 0, 17];
    feature_level.extend_from_slice(b"metadata.version");
    feature_level.extend_from_slice(&[0, 21, 0]);
    let bytes = encode_cut_at(ID, &[feature_level], T0, T0, usize::MAX);
    assert!(check_snapshot_layout(&bytes).is_ok());
    let err = decode_snapshot(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            SnapshotError::Record { offset: 1, error: crate::metadata::DecodeError::UnknownApiKey(12) }
        ),
        "{err}"
    );
}

/// A Kafka 3.9 writer may follow the header with KIP-853's KRaftVersionRecord
/// (type 5) in the same control batch: skipped, the rest reads as usual. The
/// same record among the data is not where Kafka puts it: refused.
#[test]
fn kip_853_records_after_the_header_are_skipped() {
    let plain = encoded();
    let all = batches(&plain);
    let header_value = all[0].decode_records().unwrap()[0].value.clone().unwrap();
    let kraft_version: &[u8] = &[0, 0, 0, 1, 0];
    let mut head = crate::format::BatchBuilder::default().control(true);
    head.append(T0, Some(&[0, 0, 0, 3]), Some(&header_value), &[]);
    head.append(T0, Some(&[0, 0, 0, 5]), Some(kraft_version), &[]);
    let mut bytes = BytesMut::from(&head.build().as_bytes()[..]);
    for batch in &all[1..] {
        let start = bytes.len();
        bytes.extend_from_slice(batch.as_bytes());
        let mut b = crate::format::RecordBatchMut::new(&mut bytes[start..]).unwrap();
        b.set_base_offset(batch.base_offset() + 1);
    }
    assert_eq!(decode_snapshot(&bytes).unwrap().records.len(), image().records().len());

    let mut late = crate::format::BatchBuilder::default().control(true);
    late.append(T0, Some(&[0, 0, 0, 5]), Some(kraft_version), &[]);
    let footer_start = plain.len() - all[2].size_in_bytes();
    let mut bytes = BytesMut::from(&plain[..footer_start]);
    let start = bytes.len();
    bytes.extend_from_slice(late.build().as_bytes());
    crate::format::RecordBatchMut::new(&mut bytes[start..]).unwrap().set_base_offset(all[2].base_offset());
    let err = decode_snapshot(&bytes).unwrap_err();
    assert!(matches!(err, SnapshotError::BadControlRecord { .. }), "{err}");
}
