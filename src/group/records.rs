//! The records a group coordinator writes to `__consumer_offsets`, in Kafka's
//! own binary layout, so that a log written by spool reads back in Kafka's
//! tools (`kafka-console-consumer --formatter ...GroupMetadataManager$OffsetsMessageFormatter`)
//! and the other way round.
//!
//! Every record is a key and a value, each starting with an `int16` version:
//!
//! ```text
//!  key   version 0|1  OffsetCommitKey    group: string, topic: string, partition: int32
//!        version 2    GroupMetadataKey   group: string
//!  value OffsetCommitValue v3    offset: int64, leader_epoch: int32, metadata: string,
//!                                commit_timestamp: int64
//!        GroupMetadataValue v3   protocol_type: string, generation: int32,
//!                                protocol: nullable string, leader: nullable string,
//!                                current_state_timestamp: int64, members: [MemberMetadata]
//!        MemberMetadata v3       member_id: string, group_instance_id: nullable string,
//!                                client_id: string, client_host: string,
//!                                rebalance_timeout: int32, session_timeout: int32,
//!                                subscription: bytes, assignment: bytes
//! ```
//!
//! (Kafka's `OffsetCommitKey.json`, `OffsetCommitValue.json`,
//! `GroupMetadataKey.json`, `GroupMetadataValue.json`; the key's version is the
//! record type, which newer Kafka calls the key's `apiKey`.) Strings are an
//! `int16` length then UTF-8 (`-1` for a null), bytes an `int32` length, arrays an
//! `int32` count. A null value is a tombstone: the log cleaner (compaction) keeps
//! only the last value of each key, and a tombstone deletes the key.
//!
//! spool writes the versions above (what Kafka 2.3 to 3.x write, before the flexible v4
//! of KIP-915) and reads every non-flexible version (v0 to v3) back.

use std::fmt;

use crate::TopicPartition;

/// Key version of an offset commit (Kafka writes 1; 0 has the same layout).
pub const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
/// Key version of a group's metadata.
pub const GROUP_METADATA_KEY_VERSION: i16 = 2;
/// Value version spool writes for an offset commit.
pub const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;
/// Value version spool writes for a group's metadata.
pub const GROUP_METADATA_VALUE_VERSION: i16 = 3;

/// One committed offset: the consumer's position in one partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OffsetCommitValue {
    /// The next offset the group will read (one past the last one processed).
    pub offset: i64,
    /// Leader epoch of the last record consumed, or -1 (KIP-320).
    pub leader_epoch: i32,
    /// Free text the client attached to the commit.
    pub metadata: String,
    /// When the coordinator accepted the commit (the broker's clock).
    pub commit_timestamp_ms: i64,
}

/// One member as it is written down when a generation's assignment is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's metadata for the group's chosen protocol (its subscription).
    pub subscription: Vec<u8>,
    /// What the leader assigned to it in this generation (opaque to the coordinator).
    pub assignment: Vec<u8>,
}

/// A group's generation, written when the leader's assignment is stored (and
/// when a group becomes empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupMetadataValue {
    /// `consumer` for consumers, `connect` for Connect workers; empty if unknown.
    pub protocol_type: String,
    pub generation: i32,
    /// The protocol (assignor) chosen for this generation; `None` for an empty group.
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp_ms: i64,
    pub members: Vec<MemberMetadata>,
}

/// One record of `__consumer_offsets`. `None` values are tombstones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupRecord {
    /// A committed offset (key: group, topic, partition).
    Offset { group_id: String, partition: TopicPartition, value: Option<OffsetCommitValue> },
    /// A group's membership and assignment (key: group).
    Group { group_id: String, value: Option<GroupMetadataValue> },
}

/// Why a record could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The bytes end before the field they promise.
    Truncated,
    /// A length is negative where a null is not allowed, or a string is not UTF-8.
    Malformed(&'static str),
    /// A key or value version this code does not read (flexible v4+, or a
    /// record type of another coordinator such as transactions' or KIP-848's).
    UnsupportedVersion(i16),
    /// Bytes left over after the last field.
    TrailingBytes(usize),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated => write!(f, "record ends early"),
            RecordError::Malformed(what) => write!(f, "malformed record: {what}"),
            RecordError::UnsupportedVersion(v) => write!(f, "unsupported record version {v}"),
            RecordError::TrailingBytes(n) => write!(f, "{n} bytes after the last field"),
        }
    }
}

impl std::error::Error for RecordError {}

impl GroupRecord {
    /// The group this record belongs to.
    pub fn group_id(&self) -> &str {
        match self {
            GroupRecord::Offset { group_id, .. } | GroupRecord::Group { group_id, .. } => group_id,
        }
    }

    // ANCHOR: encode
    /// The record's key, as Kafka writes it.
    pub fn key_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            GroupRecord::Offset { group_id, partition, .. } => {
                w.i16(OFFSET_COMMIT_KEY_VERSION);
                w.string(group_id);
                w.string(&partition.topic);
                w.i32(partition.partition);
            }
            GroupRecord::Group { group_id, .. } => {
                w.i16(GROUP_METADATA_KEY_VERSION);
                w.string(group_id);
            }
        }
        w.0
    }

    /// The record's value, or `None` for a tombstone.
    pub fn value_bytes(&self) -> Option<Vec<u8>> {
        let mut w = Writer::default();
        match self {
            GroupRecord::Offset { value, .. } => {
                let v = value.as_ref()?;
                w.i16(OFFSET_COMMIT_VALUE_VERSION);
                w.i64(v.offset);
                w.i32(v.leader_epoch);
                w.string(&v.metadata);
                w.i64(v.commit_timestamp_ms);
            }
            GroupRecord::Group { value, .. } => {
                let v = value.as_ref()?;
                w.i16(GROUP_METADATA_VALUE_VERSION);
                w.string(&v.protocol_type);
                w.i32(v.generation);
                w.nullable_string(v.protocol.as_deref());
                w.nullable_string(v.leader.as_deref());
                w.i64(v.current_state_timestamp_ms);
                w.i32(v.members.len() as i32);
                for m in &v.members {
                    w.string(&m.member_id);
                    w.nullable_string(m.group_instance_id.as_deref());
                    w.string(&m.client_id);
                    w.string(&m.client_host);
                    w.i32(m.rebalance_timeout_ms);
                    w.i32(m.session_timeout_ms);
                    w.bytes(&m.subscription);
                    w.bytes(&m.assignment);
                }
            }
        }
        Some(w.0)
    }
    // ANCHOR_END: encode

    /// Reads a record back from its key and value (`None`: a tombstone).
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<GroupRecord, RecordError> {
        let mut k = Reader(key);
        let record = match k.i16()? {
            0 | 1 => {
                let group_id = k.string()?;
                let topic = k.string()?;
                let partition = TopicPartition::new(topic, k.i32()?);
                let value = value.map(decode_offset_value).transpose()?;
                GroupRecord::Offset { group_id, partition, value }
            }
            2 => {
                let group_id = k.string()?;
                let value = value.map(decode_group_value).transpose()?;
                GroupRecord::Group { group_id, value }
            }
            version => return Err(RecordError::UnsupportedVersion(version)),
        };
        k.finish()?;
        Ok(record)
    }
}

/// OffsetCommitValue v0–v3.
fn decode_offset_value(bytes: &[u8]) -> Result<OffsetCommitValue, RecordError> {
    let mut r = Reader(bytes);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(RecordError::UnsupportedVersion(version));
    }
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp_ms = r.i64()?;
    if version == 1 {
        // The expire timestamp of v1 (offset retention per commit) is gone
        // since KIP-211; it is read and ignored, as Kafka does.
        r.i64()?;
    }
    r.finish()?;
    Ok(OffsetCommitValue { offset, leader_epoch, metadata, commit_timestamp_ms })
}

/// GroupMetadataValue v0–v3.
fn decode_group_value(bytes: &[u8]) -> Result<GroupMetadataValue, RecordError> {
    let mut r = Reader(bytes);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(RecordError::UnsupportedVersion(version));
    }
    let protocol_type = r.string()?;
    let generation = r.i32()?;
    let protocol = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let current_state_timestamp_ms = if version >= 2 { r.i64()? } else { -1 };
    let count = r.i32()?;
    if count < 0 {
        return Err(RecordError::Malformed("negative member count"));
    }
    // No `with_capacity(count)`: the count comes off the disk (see vendor/kafka-protocol/SPOOL-PATCH.md).
    let mut members = Vec::new();
    for _ in 0..count {
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 { r.nullable_string()? } else { None };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let rebalance_timeout_ms = if version >= 1 { r.i32()? } else { -1 };
        let session_timeout_ms = r.i32()?;
        let rebalance_timeout_ms = if version >= 1 { rebalance_timeout_ms } else { session_timeout_ms };
        let subscription = r.bytes()?;
        let assignment = r.bytes()?;
        members.push(MemberMetadata {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    r.finish()?;
    Ok(GroupMetadataValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp_ms,
        members,
    })
}

/// Big-endian writer for Kafka's non-flexible encodings.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    /// A string longer than `i16::MAX` bytes cannot be encoded; the
    /// coordinator never stores one (group ids, member ids and client ids
    /// arrive in Kafka requests with the same `int16` length, and commit
    /// metadata is capped by `offset.metadata.max.bytes`).
    fn string(&mut self, s: &str) {
        assert!(s.len() <= i16::MAX as usize, "string of {} bytes in a group record", s.len());
        self.i16(s.len() as i16);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn nullable_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.i16(-1),
        }
    }
    fn bytes(&mut self, b: &[u8]) {
        self.i32(b.len() as i32);
        self.0.extend_from_slice(b);
    }
}

/// Reader over a record's bytes; every read checks the length first.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16, RecordError> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().expect("two bytes")))
    }
    fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("four bytes")))
    }
    fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("eight bytes")))
    }
    fn nullable_string(&mut self) -> Result<Option<String>, RecordError> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let bytes = self.take(len as usize)?;
        String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| RecordError::Malformed("string is not UTF-8"))
    }
    fn string(&mut self) -> Result<String, RecordError> {
        self.nullable_string()?.ok_or(RecordError::Malformed("null where a string is required"))
    }
    fn bytes(&mut self) -> Result<Vec<u8>, RecordError> {
        let len = self.i32()?;
        if len < 0 {
            return Err(RecordError::Malformed("null where bytes are required"));
        }
        Ok(self.take(len as usize)?.to_vec())
    }
    fn finish(&self) -> Result<(), RecordError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(RecordError::TrailingBytes(self.0.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    // A hand-assembled OffsetCommitKey v1 and OffsetCommitValue v3, byte by
    // byte from OffsetCommitKey.json / OffsetCommitValue.json: the encoder
    // writes exactly Kafka's layout.
    #[test]
    fn offset_commit_matches_kafkas_layout() {
        let record = GroupRecord::Offset {
            group_id: "g".into(),
            partition: TopicPartition::new("t", 2),
            value: Some(OffsetCommitValue {
                offset: 5,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp_ms: 7,
            }),
        };
        assert_eq!(record.key_bytes(), [0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 2]);
        let mut value = vec![0, 3];
        value.extend(5i64.to_be_bytes());
        value.extend((-1i32).to_be_bytes());
        value.extend([0, 0]);
        value.extend(7i64.to_be_bytes());
        assert_eq!(record.value_bytes(), Some(value));
    }

    // GroupMetadataKey v2 is the version then the group id; an empty group's
    // value has null protocol and leader (length -1) and no members.
    #[test]
    fn empty_group_matches_kafkas_layout() {
        let record = GroupRecord::Group {
            group_id: "g".into(),
            value: Some(GroupMetadataValue {
                protocol_type: "consumer".into(),
                generation: 3,
                protocol: None,
                leader: None,
                current_state_timestamp_ms: 9,
                members: vec![],
            }),
        };
        assert_eq!(record.key_bytes(), [0, 2, 0, 1, b'g']);
        let mut value = vec![0, 3, 0, 8];
        value.extend(b"consumer");
        value.extend(3i32.to_be_bytes());
        value.extend([0xff, 0xff, 0xff, 0xff]);
        value.extend(9i64.to_be_bytes());
        value.extend(0i32.to_be_bytes());
        assert_eq!(record.value_bytes(), Some(value));
    }

    // Older versions still read: an OffsetCommitValue v1 carries an expire
    // timestamp and no leader epoch.
    #[test]
    fn reads_offset_commit_value_v1() {
        let mut value = vec![0, 1];
        value.extend(42i64.to_be_bytes());
        value.extend([0, 2, b'h', b'i']);
        value.extend(100i64.to_be_bytes());
        value.extend(200i64.to_be_bytes());
        let key = [0, 0, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 0];
        let record = GroupRecord::decode(&key, Some(&value)).expect("v1 reads");
        let GroupRecord::Offset { value: Some(v), .. } = record else { panic!("an offset commit") };
        assert_eq!(
            (v.offset, v.leader_epoch, v.metadata.as_str(), v.commit_timestamp_ms),
            (42, -1, "hi", 100)
        );
    }

    // Bad bytes are errors, never panics: a truncated key, an unknown record
    // type, a negative member count, trailing garbage.
    #[test]
    fn rejects_bad_bytes() {
        assert_eq!(GroupRecord::decode(&[0], None), Err(RecordError::Truncated));
        assert_eq!(GroupRecord::decode(&[0, 3, 0, 0], None), Err(RecordError::UnsupportedVersion(3)));
        assert_eq!(GroupRecord::decode(&[0, 2, 0, 0, 9], None), Err(RecordError::TrailingBytes(1)));
        let mut value = vec![0, 3, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
        value.extend(0i64.to_be_bytes());
        value.extend((-1i32).to_be_bytes());
        let error = GroupRecord::decode(&[0, 2, 0, 0], Some(&value));
        assert_eq!(error, Err(RecordError::Malformed("negative member count")));
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9é-]{0,12}"
    }

    fn member() -> impl Strategy<Value = MemberMetadata> {
        (
            text(),
            proptest::option::of(text()),
            text(),
            text(),
            any::<i32>(),
            any::<i32>(),
            proptest::collection::vec(any::<u8>(), 0..16),
            proptest::collection::vec(any::<u8>(), 0..16),
        )
            .prop_map(
                |(member_id, group_instance_id, client_id, client_host, r, s, subscription, assignment)| {
                    MemberMetadata {
                        member_id,
                        group_instance_id,
                        client_id,
                        client_host,
                        rebalance_timeout_ms: r,
                        session_timeout_ms: s,
                        subscription,
                        assignment,
                    }
                },
            )
    }

    fn record() -> impl Strategy<Value = GroupRecord> {
        let offset =
            (
                text(),
                text(),
                any::<i32>(),
                proptest::option::of((any::<i64>(), any::<i32>(), text(), any::<i64>())),
            )
                .prop_map(|(group_id, topic, p, value)| GroupRecord::Offset {
                    group_id,
                    partition: TopicPartition::new(topic, p),
                    value: value.map(|(offset, leader_epoch, metadata, commit_timestamp_ms)| {
                        OffsetCommitValue { offset, leader_epoch, metadata, commit_timestamp_ms }
                    }),
                });
        let group = (
            text(),
            proptest::option::of((
                text(),
                any::<i32>(),
                proptest::option::of(text()),
                proptest::option::of(text()),
                any::<i64>(),
                proptest::collection::vec(member(), 0..4),
            )),
        )
            .prop_map(|(group_id, value)| GroupRecord::Group {
                group_id,
                value: value.map(|(protocol_type, generation, protocol, leader, ts, members)| {
                    GroupMetadataValue {
                        protocol_type,
                        generation,
                        protocol,
                        leader,
                        current_state_timestamp_ms: ts,
                        members,
                    }
                }),
            });
        prop_oneof![offset, group]
    }

    proptest! {
        // Every record reads back as itself, tombstones included.
        #[test]
        fn records_round_trip(record in record()) {
            let key = record.key_bytes();
            let value = record.value_bytes();
            prop_assert_eq!(GroupRecord::decode(&key, value.as_deref()), Ok(record));
        }

        // Any bytes at all decode to a record or an error, never a panic.
        #[test]
        fn garbage_never_panics(
            key in proptest::collection::vec(any::<u8>(), 0..24),
            value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        ) {
            let _ = GroupRecord::decode(&key, value.as_deref());
        }
    }
}
