//! Entries ↔ record batches: the round trip, the batch layout Kafka's KRaft
//! log has, and what a reader refuses.

use bytes::{BufMut, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::format::batch::field;

fn data(epoch: i32, bytes: &[u8]) -> Entry {
    Entry { epoch, record: Record::Data(bytes.to_vec()) }
}

fn leader_change(epoch: i32, leader_id: NodeId) -> Entry {
    Entry { epoch, record: Record::LeaderChange { leader_id } }
}

fn batches(bytes: &[u8]) -> Vec<RecordBatch> {
    let mut rest = Bytes::copy_from_slice(bytes);
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).unwrap();
        out.push(batch);
        rest = tail;
    }
    out
}

/// Entries with non-decreasing epochs, as a log holds them.
fn entries_strategy() -> impl Strategy<Value = Vec<Entry>> {
    let record = prop_oneof![
        (1..4i32).prop_map(|leader_id| Record::LeaderChange { leader_id }),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Record::Data),
    ];
    proptest::collection::vec((0..2i32, record), 0..20).prop_map(|steps| {
        let mut epoch = 0;
        steps
            .into_iter()
            .map(|(bump, record)| {
                epoch += bump;
                Entry { epoch, record }
            })
            .collect()
    })
}

/// The layout of KRaft's log: a run of data entries of one epoch is one
/// batch stamped with that epoch, a leader change is a control batch of its
/// own whose key is Kafka's LEADER_CHANGE control key, offsets run on.
#[test]
fn a_leader_change_is_its_own_control_batch_and_a_run_of_data_one_batch() {
    let entries = [leader_change(1, 2), data(1, b"a"), data(1, b"b"), data(2, b"c"), leader_change(3, 1)];
    let bytes = encode_entries(10, &entries, &[1, 2, 3], 7);
    let found = batches(&bytes);
    let shape: Vec<_> = found
        .iter()
        .map(|b| (b.base_offset(), b.records_count(), b.partition_leader_epoch(), b.is_control()))
        .collect();
    assert_eq!(shape, [(10, 1, 1, true), (11, 2, 1, false), (13, 1, 2, false), (14, 1, 3, true)]);
    let key = found[0].decode_records().unwrap()[0].key.clone().unwrap();
    assert_eq!(&key[..], &[0, 0, 0, 2], "control key: version 0, type LEADER_CHANGE");
    let value = found[0].decode_records().unwrap()[0].value.clone().unwrap();
    let message = LeaderChangeMessage::decode(&mut value.clone(), 0).unwrap();
    assert_eq!(message.leader_id.0, 2);
    assert_eq!(message.voters.iter().map(|v| v.voter_id).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(found[1].decode_records().unwrap()[0].key, None);
}

/// A Fetch cut at its byte limit ends with part of a batch: the reader takes
/// the whole batches before it and leaves the rest, as Kafka's follower does.
#[test]
fn a_trailing_partial_batch_is_ignored() {
    let entries = [data(1, b"a"), data(2, b"b")];
    let bytes = encode_entries(0, &entries, &[1], 0);
    let first = batches(&bytes)[0].size_in_bytes();
    for cut in [first, first + 5, bytes.len() - 1] {
        assert_eq!(decode_entries(&bytes[..cut]).unwrap(), [(0, entries[0].clone())], "cut at {cut}");
    }
    assert_eq!(decode_entries(&bytes[..3]).unwrap(), []);
}

/// A flipped bit inside a batch is caught by its CRC, not decoded as entries.
#[test]
fn a_corrupt_batch_is_refused() {
    let mut bytes = encode_entries(0, &[data(1, b"value")], &[1], 0);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(decode_entries(&bytes), Err(EntriesError::Corrupt(BatchError::CrcMismatch { .. }))));
}

/// A transaction marker (control type 1, COMMIT) is a control record this
/// log never holds: decoding it is an error, not a leader change.
#[test]
fn another_control_type_is_refused() {
    let mut key = BytesMut::new();
    key.put_i16(0);
    key.put_i16(1);
    let mut builder = BatchBuilder::default().control(true);
    builder.append(0, Some(&key), Some(&[0, 0, 0, 0, 0, 0]), &[]);
    let bytes = builder.build().as_bytes().clone();
    assert_eq!(
        decode_entries(&bytes),
        Err(EntriesError::UnexpectedControlType { offset: 0, control_type: 1 })
    );
}

/// Big data runs are cut at Kafka's batch size limit, never into an empty batch.
#[test]
fn a_long_run_is_cut_at_the_batch_size_limit() {
    let big = vec![7u8; BATCH_BYTES_MAX / 2 + 1];
    let entries = [data(1, &big), data(1, &big), data(1, &big)];
    let bytes = encode_entries(0, &entries, &[1], 0);
    let counts: Vec<_> = batches(&bytes).iter().map(RecordBatch::records_count).collect();
    assert_eq!(counts, [2, 1]);
    let decoded: Vec<_> = decode_entries(&bytes).unwrap().into_iter().map(|(_, e)| e).collect();
    assert_eq!(decoded, entries);
}

proptest! {
    /// decode(encode(entries)) gives back the entries, at consecutive offsets
    /// from the base, for any entries with non-decreasing epochs.
    #[test]
    fn decode_inverts_encode(entries in entries_strategy(), base_offset in 0..1_000i64) {
        let bytes = encode_entries(base_offset, &entries, &[1, 2, 3], 1_700_000_000_000);
        let expected: Vec<_> = (base_offset..).zip(entries.iter().cloned()).collect();
        prop_assert_eq!(decode_entries(&bytes).unwrap(), expected);
        for batch in batches(&bytes) {
            prop_assert!(batch.validate().is_ok());
            prop_assert_eq!(&batch.as_bytes()[field::MAGIC..field::MAGIC + 1], &[2u8][..]);
        }
    }
}
