//! The on-disk log's snapshots (KIP-630): a snapshot is durable before the
//! segments below it go; the log start moves; a received snapshot is
//! checked, installed, and survives a restart, even one between its
//! install and the log's reset.

use super::tests::{data, leader_change, open};
use super::*;
use crate::metadata::snapshot::{encode_snapshot, latest_snapshot};
use crate::metadata::{MetadataImage, MetadataRecord};

/// A log of a leader change then `n` one-byte records, all in epoch 1.
fn filled(dir: &Path, n: u8) -> QuorumLog {
    let mut log = open(dir);
    log.append(vec![leader_change(1, 1)]);
    for i in 0..n {
        log.append(vec![data(1, &[i; 40])]);
    }
    log
}

/// A valid snapshot file's bytes for `id` (an empty image is enough).
fn snapshot_bytes(id: SnapshotId) -> Vec<u8> {
    encode_snapshot(id, &MetadataImage::default().records(), 0, 0).to_vec()
}

#[test]
fn a_snapshot_lets_the_segments_below_it_go_and_the_log_start_moves() {
    // deleteBeforeSnapshot: the snapshot file exists before anything is
    // deleted; afterwards the log starts at its end, answers nothing below,
    // and keeps answering the core from there on.
    let dir = tempfile::tempdir().unwrap();
    let mut log = filled(dir.path(), 30);
    let segments_before = log.log().segments().count();
    let id = SnapshotId { end_offset: 25, epoch: 1 };
    log.create_snapshot(id, snapshot_bytes(id));
    assert_eq!(latest_snapshot(dir.path()).unwrap(), Some(id));
    assert_eq!(log.start_offset(), 0, "creating a snapshot deletes nothing");
    log.delete_before(id.end_offset);
    assert_eq!(log.start_offset(), 25);
    assert!(log.log().segments().count() < segments_before, "whole segments below 25 went");
    assert_eq!(log.entry(24), None);
    assert_eq!(log.entry(25), Some(data(1, &[24; 40])));
    assert!(log.entries(3, 10).is_empty(), "nothing below the start");
    assert_eq!(log.end_offset(), 31);
    assert!(log.failure().is_none());

    let reopened = {
        drop(log);
        open(dir.path())
    };
    assert_eq!((reopened.start_offset(), reopened.latest_snapshot()), (25, Some(id)));
    assert_eq!(reopened.last_epoch(), 1);
}

#[test]
fn a_received_snapshot_is_installed_and_the_log_restarts_at_its_end() {
    // truncateToLatestSnapshot: chunks go to a .part file; the last one
    // makes it a .checkpoint and the log empty at the snapshot's end, its
    // last epoch the snapshot's, so the next Fetch matches the leader.
    let dir = tempfile::tempdir().unwrap();
    let mut log = filled(dir.path(), 3);
    let id = SnapshotId { end_offset: 500, epoch: 4 };
    let bytes = snapshot_bytes(id);
    let (head, tail) = bytes.split_at(bytes.len() / 2);
    log.append_snapshot_chunk(id, 0, head);
    log.append_snapshot_chunk(id, head.len() as u64, tail);
    log.install_snapshot(id);
    assert!(log.failure().is_none(), "{:?}", log.failure());
    assert_eq!((log.start_offset(), log.end_offset(), log.last_epoch()), (500, 500, 4));
    assert_eq!(log.end_offset_for_epoch(4), (4, 500));
    assert_eq!(log.end_offset_for_epoch(3), (0, 0));
    assert_eq!(log.load_latest_snapshot().unwrap().map(|(id, _)| id), Some(id));
    log.append(vec![data(5, b"after")]);
    assert_eq!(log.entry(500), Some(data(5, b"after")));

    drop(log);
    let log = open(dir.path());
    assert_eq!((log.start_offset(), log.end_offset(), log.latest_snapshot()), (500, 501, Some(id)));
}

#[test]
fn a_damaged_received_snapshot_fails_the_log_instead_of_installing() {
    // A snapshot that does not decode (here: cut short) is never renamed
    // into place; the log stops, as on a disk failure, and still holds its entries.
    let dir = tempfile::tempdir().unwrap();
    let mut log = filled(dir.path(), 3);
    let id = SnapshotId { end_offset: 500, epoch: 4 };
    let bytes = snapshot_bytes(id);
    log.append_snapshot_chunk(id, 0, &bytes[..bytes.len() - 3]);
    log.install_snapshot(id);
    assert!(log.failure().is_some());
    assert_eq!(log.latest_snapshot(), None);
    assert_eq!(log.end_offset(), 4);
    assert_eq!(latest_snapshot(dir.path()).unwrap(), None, "the .part file is cleaned up at open");
}

#[test]
fn a_crash_between_install_and_reset_is_finished_at_open() {
    // The snapshot is durable first; a log still ending below it at open
    // is reset to start at its end (it holds nothing the snapshot lacks).
    let dir = tempfile::tempdir().unwrap();
    let log = filled(dir.path(), 3);
    drop(log);
    let id = SnapshotId { end_offset: 500, epoch: 4 };
    crate::metadata::snapshot::write_snapshot_bytes(dir.path(), id, &snapshot_bytes(id)).unwrap();
    let log = open(dir.path());
    assert_eq!((log.start_offset(), log.end_offset(), log.last_epoch()), (500, 500, 4));
}

#[test]
fn a_snapshot_of_a_real_image_reads_back() {
    // The image a snapshot was written from is the image it loads.
    let dir = tempfile::tempdir().unwrap();
    let mut log = filled(dir.path(), 1);
    let mut image = MetadataImage::default();
    image
        .apply(&MetadataRecord::ProducerIds { broker_id: 1, broker_epoch: 2, next_producer_id: 3000 })
        .unwrap();
    let id = SnapshotId { end_offset: 2, epoch: 1 };
    log.create_snapshot(id, encode_snapshot(id, &image.records(), 0, 0).to_vec());
    let (loaded_id, loaded) = log.load_latest_snapshot().unwrap().unwrap();
    assert_eq!((loaded_id, loaded), (id, image));
}

#[test]
fn a_snapshot_at_the_log_end_empties_the_log_and_appends_go_on() {
    // The usual case: an idle controller snapshots at its high watermark,
    // which is its log end; every segment is below it, yet the log keeps
    // an (empty) active segment at its end and takes the next append.
    let dir = tempfile::tempdir().unwrap();
    let mut log = filled(dir.path(), 30);
    let id = SnapshotId { end_offset: 31, epoch: 1 };
    log.create_snapshot(id, snapshot_bytes(id));
    log.delete_before(id.end_offset);
    assert!(log.failure().is_none(), "{:?}", log.failure());
    assert_eq!((log.start_offset(), log.end_offset(), log.last_epoch()), (31, 31, 1));
    assert_eq!(log.log().segments().count(), 1);
    log.append(vec![data(2, b"next")]);
    assert_eq!(log.entry(31), Some(data(2, b"next")));
}

#[test]
fn a_newer_snapshot_replaces_the_part_of_an_older_one() {
    // The leader deleted snapshot A mid-transfer and names B: A's .part
    // file goes when B's first chunk arrives, and B installs.
    let dir = tempfile::tempdir().unwrap();
    let mut log = filled(dir.path(), 1);
    let (a, b) = (SnapshotId { end_offset: 50, epoch: 1 }, SnapshotId { end_offset: 60, epoch: 1 });
    log.append_snapshot_chunk(a, 0, &snapshot_bytes(a)[..10]);
    assert!(crate::metadata::snapshot::partial_path(dir.path(), a).exists());
    log.append_snapshot_chunk(b, 0, &snapshot_bytes(b));
    assert!(!crate::metadata::snapshot::partial_path(dir.path(), a).exists());
    log.install_snapshot(b);
    assert!(log.failure().is_none(), "{:?}", log.failure());
    assert_eq!((log.start_offset(), log.latest_snapshot()), (60, Some(b)));
}
