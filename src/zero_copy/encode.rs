//! The fetch response, encoded by hand around its file regions.
//!
//! The codec crate writes a response into one buffer, records and all; to leave
//! the records on disk, spool writes the fields itself and stops at each
//! partition's records, whose length it knows from the region. The result is a
//! list of [`Part`]s: encoded bytes, then a region, then bytes, … Concatenated
//! — bytes as they are, regions as the file holds them — they are exactly what
//! the codec would have written; the property test below checks that for every
//! version spool speaks.
//!
//! ```text
//!  size int32 | correlation_id int32 | [tagged fields: v12]
//!  throttle_time_ms int32 | error_code int16 (v7+) | session_id int32 (v7+)
//!  topics: [ name string
//!            partitions: [ partition_index int32 | error_code int16
//!                          high_watermark int64 | last_stable_offset int64
//!                          log_start_offset int64 (v5+)
//!                          aborted_transactions nullable [producer_id int64 | first_offset int64]
//!                          preferred_read_replica int32 (v11+)
//!                          records nullable bytes  ◀── the region: length here, bytes by sendfile
//!                          [tagged fields: v12] ]
//!            [tagged fields: v12] ]
//!  [tagged fields: v12]
//! ```
//!
//! Version 12 is the first flexible version: arrays, strings and byte strings
//! carry their length as an unsigned varint of length + 1 (0 meaning null), and
//! every structure ends with its tagged fields — a single 0 (none) everywhere
//! but after a partition's records, where a follower may be told its
//! diverging epoch (chapter 6; `partition_tags`). Only fields that differ from
//! their defaults are written (librdkafka before 2.2 misreads tagged fields it
//! does not expect; see `wire::codec`).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::PartitionData;

use super::FetchReply;
use crate::log::FileRegion;

/// One piece of an encoded response: bytes from memory, or a file region.
#[derive(Debug, Clone)]
pub enum Part<H> {
    Bytes(Bytes),
    Region(FileRegion<H>),
}

/// The Fetch versions the hand encoder writes (those spool speaks).
pub const VERSIONS: std::ops::RangeInclusive<i16> = 4..=12;

// ANCHOR: encode
/// Encodes `reply` as Fetch response `version` for `correlation_id`, size prefix
/// included, with each partition's records left as a region. An error means the
/// reply holds something this version cannot carry (a bug in spool: the caller
/// closes the connection rather than send what the client would misread).
pub fn encode_fetch<H: Clone>(
    reply: &FetchReply<H>,
    version: i16,
    correlation_id: i32,
) -> Result<Vec<Part<H>>, String> {
    if !VERSIONS.contains(&version) {
        return Err(format!("Fetch v{version} is not encoded by hand"));
    }
    let flexible = version >= 12;
    let mut out = Encoder { parts: Vec::new(), buf: BytesMut::with_capacity(256), flexible };
    out.buf.put_i32(0); // the size, patched below
    out.buf.put_i32(correlation_id);
    out.tagged_fields(); // response header v1 (flexible versions only)
    out.buf.put_i32(reply.throttle_time_ms);
    if version >= 7 {
        out.buf.put_i16(reply.error_code);
        out.buf.put_i32(reply.session_id);
    } else if reply.error_code != 0 || reply.session_id != 0 {
        return Err(format!("Fetch v{version} has no top-level error code or session"));
    }
    out.array_len(reply.topics.len());
    for topic in &reply.topics {
        out.string(&topic.name);
        out.array_len(topic.partitions.len());
        for p in &topic.partitions {
            out.partition(&p.data, version)?;
            match &p.region {
                Some(region) => {
                    out.bytes_len(Some(region.length as usize));
                    out.region(region.clone());
                }
                None => {
                    let records = p.data.records.as_ref();
                    out.bytes_len(records.map(Bytes::len));
                    if let Some(records) = records {
                        out.buf.put_slice(records);
                    }
                }
            }
            out.partition_tags(&p.data)?;
        }
        out.tagged_fields();
    }
    out.tagged_fields();
    Ok(out.finish())
}
// ANCHOR_END: encode

/// The bytes being written and the parts finished so far.
struct Encoder<H> {
    parts: Vec<Part<H>>,
    buf: BytesMut,
    flexible: bool,
}

impl<H> Encoder<H> {
    /// A partition's fields before its records.
    fn partition(&mut self, p: &PartitionData, version: i16) -> Result<(), String> {
        if !p.unknown_tagged_fields.is_empty() {
            return Err("a partition with unknown tagged fields".into());
        }
        self.buf.put_i32(p.partition_index);
        self.buf.put_i16(p.error_code);
        self.buf.put_i64(p.high_watermark);
        self.buf.put_i64(p.last_stable_offset);
        if version >= 5 {
            self.buf.put_i64(p.log_start_offset);
        }
        match &p.aborted_transactions {
            None => self.array_len_nullable(None),
            Some(aborted) => {
                self.array_len(aborted.len());
                for txn in aborted {
                    if !txn.unknown_tagged_fields.is_empty() {
                        return Err("aborted transaction with tagged fields".into());
                    }
                    self.buf.put_i64(txn.producer_id.0);
                    self.buf.put_i64(txn.first_offset);
                    self.tagged_fields();
                }
            }
        }
        if version >= 11 {
            self.buf.put_i32(p.preferred_read_replica.0);
        } else if p.preferred_read_replica.0 != -1 {
            return Err(format!("Fetch v{version} has no preferred read replica"));
        }
        Ok(())
    }

    // ANCHOR: partition_tags
    /// A partition's tagged fields, after its records (flexible versions,
    /// Fetch v12): the diverging epoch a follower must truncate to (tag 0,
    /// chapter 6), the current leader (tag 1) and the snapshot id (tag 2),
    /// each written only when it is not its default, as Kafka's generated
    /// encoders do. Each is a struct of its own, ending in (no) tagged fields.
    fn partition_tags(&mut self, p: &PartitionData) -> Result<(), String> {
        let mut tags: Vec<(u32, BytesMut)> = Vec::new();
        if p.diverging_epoch != Default::default() {
            let epoch = &p.diverging_epoch;
            let mut field = BytesMut::with_capacity(13);
            field.put_i32(epoch.epoch);
            field.put_i64(epoch.end_offset);
            tags.push((0, field));
        }
        if p.current_leader != Default::default() {
            let leader = &p.current_leader;
            let mut field = BytesMut::with_capacity(9);
            field.put_i32(leader.leader_id.0);
            field.put_i32(leader.leader_epoch);
            tags.push((1, field));
        }
        if p.snapshot_id != Default::default() {
            let snapshot = &p.snapshot_id;
            let mut field = BytesMut::with_capacity(13);
            field.put_i64(snapshot.end_offset);
            field.put_i32(snapshot.epoch);
            tags.push((2, field));
        }
        let unknown = !p.diverging_epoch.unknown_tagged_fields.is_empty()
            || !p.current_leader.unknown_tagged_fields.is_empty()
            || !p.snapshot_id.unknown_tagged_fields.is_empty();
        if unknown {
            return Err("a partition field with unknown tagged fields".into());
        }
        if !self.flexible {
            return match tags.is_empty() {
                true => Ok(()),
                false => Err("a Fetch version before 12 has no partition tagged fields".into()),
            };
        }
        self.varint(tags.len() as u32);
        for (tag, mut field) in tags {
            field.put_u8(0); // the struct's own tagged fields: none
            self.varint(tag);
            self.varint(field.len() as u32);
            self.buf.put_slice(&field);
        }
        Ok(())
    }
    // ANCHOR_END: partition_tags

    fn array_len(&mut self, len: usize) {
        self.array_len_nullable(Some(len));
    }

    /// An array's length: int32 (-1 for null), or in flexible versions an
    /// unsigned varint of length + 1 (0 for null). Byte strings use the same rule.
    fn array_len_nullable(&mut self, len: Option<usize>) {
        match (self.flexible, len) {
            (true, Some(n)) => self.varint(n as u32 + 1),
            (true, None) => self.varint(0),
            (false, Some(n)) => self.buf.put_i32(n as i32),
            (false, None) => self.buf.put_i32(-1),
        }
    }

    fn bytes_len(&mut self, len: Option<usize>) {
        self.array_len_nullable(len);
    }

    fn string(&mut self, s: &str) {
        if self.flexible {
            self.varint(s.len() as u32 + 1);
        } else {
            self.buf.put_i16(s.len() as i16);
        }
        self.buf.put_slice(s.as_bytes());
    }

    /// No tagged fields: a count of zero, in flexible versions only.
    fn tagged_fields(&mut self) {
        if self.flexible {
            self.varint(0);
        }
    }

    fn varint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.buf.put_u8((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
    }

    // ANCHOR: finish
    /// Ends the current run of bytes and appends a region after it.
    fn region(&mut self, region: FileRegion<H>) {
        self.parts.push(Part::Bytes(self.buf.split().freeze()));
        self.parts.push(Part::Region(region));
    }

    /// The parts, with the size prefix (everything after it) patched in.
    fn finish(mut self) -> Vec<Part<H>> {
        self.parts.push(Part::Bytes(self.buf.split().freeze()));
        let total: usize = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Bytes(b) => b.len(),
                Part::Region(r) => r.length as usize,
            })
            .sum();
        let Part::Bytes(first) = &mut self.parts[0] else { unreachable!("the header comes first") };
        let mut patched = BytesMut::from(&first[..]);
        patched[..4].copy_from_slice(&((total - 4) as i32).to_be_bytes());
        *first = patched.freeze();
        self.parts.retain(|part| !matches!(part, Part::Bytes(b) if b.is_empty()));
        self.parts
    }
    // ANCHOR_END: finish
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, EpochEndOffset, LeaderIdAndEpoch, PartitionData, SnapshotId,
    };
    use kafka_protocol::messages::{ApiKey, BrokerId, ProducerId, ResponseKind, TopicName};
    use kafka_protocol::protocol::StrBytes;
    use proptest::prelude::*;

    use super::*;
    use crate::log::storage::ReadAt;
    use crate::wire::codec::encode_response;
    use crate::zero_copy::{FetchPartition, FetchTopic};

    /// Concatenates the parts as the socket would see them.
    fn flatten<H: ReadAt>(parts: &[Part<H>]) -> Vec<u8> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                Part::Bytes(b) => out.extend_from_slice(b),
                Part::Region(r) => out.extend_from_slice(&r.read_bytes().unwrap()),
            }
        }
        out
    }

    /// A region over `file` (a whole in-memory "segment") covering `records`,
    /// which sit at `position`.
    fn region(file: &Bytes, position: usize, length: usize) -> FileRegion<Bytes> {
        FileRegion {
            handle: file.clone(),
            segment_base_offset: 0,
            position: position as u64,
            length: length as u32,
            first_batch_offset: 0,
        }
    }

    fn partition_strategy(version: i16) -> impl Strategy<Value = (PartitionData, Option<Vec<u8>>, usize)> {
        (
            any::<(i32, i16, i64, i64, i64)>(),
            proptest::option::of(proptest::collection::vec(any::<(i64, i64)>(), 0..3)),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
            0usize..50,
            any::<i32>(),
            proptest::option::of(any::<(i32, i64)>()),
            proptest::option::of(any::<(i32, i32)>()),
            proptest::option::of(any::<(i64, i32)>()),
        )
            .prop_map(
                move |(
                    (index, error, hw, lso, start),
                    aborted,
                    records,
                    pad,
                    replica,
                    diverging,
                    leader,
                    snapshot,
                )| {
                    let aborted = aborted.map(|list| {
                        list.into_iter()
                            .map(|(pid, first)| {
                                AbortedTransaction::default()
                                    .with_producer_id(ProducerId(pid))
                                    .with_first_offset(first)
                            })
                            .collect()
                    });
                    let data = PartitionData::default()
                        .with_partition_index(index)
                        .with_error_code(error)
                        .with_high_watermark(hw)
                        .with_last_stable_offset(lso)
                        .with_log_start_offset(if version >= 5 { start } else { -1 })
                        .with_aborted_transactions(aborted)
                        .with_preferred_read_replica(BrokerId(if version >= 11 { replica } else { -1 }));
                    // The tagged fields exist from v12 (flexible) on.
                    let mut data = data;
                    if version >= 12 {
                        if let Some((epoch, end_offset)) = diverging {
                            data.diverging_epoch =
                                EpochEndOffset::default().with_epoch(epoch).with_end_offset(end_offset);
                        }
                        if let Some((leader, epoch)) = leader {
                            data.current_leader = LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(leader))
                                .with_leader_epoch(epoch);
                        }
                        if let Some((end_offset, epoch)) = snapshot {
                            data.snapshot_id =
                                SnapshotId::default().with_end_offset(end_offset).with_epoch(epoch);
                        }
                    }
                    (data, records, pad)
                },
            )
    }

    fn reply_strategy() -> impl Strategy<Value = (i16, FetchReply<Bytes>)> {
        (4i16..=12).prop_flat_map(|version| {
            let topic = ("[a-z._-]{1,20}", proptest::collection::vec(partition_strategy(version), 0..4));
            (Just(version), any::<(i32, i16, i32)>(), proptest::collection::vec(topic, 0..3)).prop_map(
                |(version, (throttle, error, session), topics)| {
                    let topics = topics
                        .into_iter()
                        .map(|(name, partitions)| FetchTopic {
                            name: TopicName(StrBytes::from_string(name)),
                            partitions: partitions
                                .into_iter()
                                .map(|(data, records, pad)| match records {
                                    // Records with some bytes live in a "file", after `pad` other bytes.
                                    Some(records) if !records.is_empty() => {
                                        let mut file = vec![0xAB; pad];
                                        file.extend_from_slice(&records);
                                        let file = Bytes::from(file);
                                        FetchPartition {
                                            data,
                                            region: Some(region(&file, pad, records.len())),
                                        }
                                    }
                                    records => FetchPartition {
                                        data: data.with_records(records.map(Bytes::from)),
                                        region: None,
                                    },
                                })
                                .collect(),
                        })
                        .collect();
                    let (error, session) = if version >= 7 { (error, session) } else { (0, 0) };
                    (
                        version,
                        FetchReply {
                            throttle_time_ms: throttle,
                            error_code: error,
                            session_id: session,
                            topics,
                        },
                    )
                },
            )
        })
    }

    // ANCHOR: property_test
    proptest! {
        /// The hand encoder's parts, regions read back in, are byte for byte what
        /// the codec crate writes for the same response with its records in
        /// memory — for every Fetch version spool speaks.
        #[test]
        fn hand_encoding_matches_the_codec((version, reply) in reply_strategy(), correlation_id in any::<i32>()) {
            let parts = encode_fetch(&reply, version, correlation_id).unwrap();
            let (response, _) = reply.read_into_response().unwrap();
            let expected = encode_response(ApiKey::Fetch, version, correlation_id, &ResponseKind::Fetch(response)).unwrap();
            prop_assert_eq!(flatten(&parts), expected.to_vec());
        }
    }
    // ANCHOR_END: property_test

    /// Regions come out as regions — the records are not in any byte part — and
    /// a response with none is a single run of bytes.
    #[test]
    fn records_stay_in_their_regions() {
        let file = Bytes::from(vec![7u8; 1000]);
        let partition = |i, region| FetchPartition {
            data: PartitionData::default().with_partition_index(i).with_aborted_transactions(Some(vec![])),
            region,
        };
        let reply = FetchReply {
            topics: vec![FetchTopic {
                name: TopicName(StrBytes::from_static_str("t")),
                partitions: vec![
                    partition(0, Some(region(&file, 0, 600))),
                    partition(1, Some(region(&file, 600, 400))),
                ],
            }],
            ..FetchReply::default()
        };
        let parts = encode_fetch(&reply, 12, 1).unwrap();
        let shape: Vec<_> = parts
            .iter()
            .map(|p| match p {
                Part::Bytes(b) => format!("bytes {}", b.len()),
                Part::Region(r) => format!("region {}+{}", r.position, r.length),
            })
            .collect();
        // 60 = size 4 + correlation id 4 + header tags 1 + throttle 4 + error 2 +
        //      session 4 + topic count 1 + name 2 + partition count 1 + partition
        //      0's fields 30 + aborted 1 + replica 4 + records length 2 (varint 601);
        // 38 = partition 0's tags 1 + partition 1's fields up to its records 37;
        //  3 = the tags of partition 1, of the topic and of the response.
        assert_eq!(shape, ["bytes 60", "region 0+600", "bytes 38", "region 600+400", "bytes 3"]);
        let empty = FetchReply::<Bytes>::default();
        assert!(matches!(&encode_fetch(&empty, 12, 1).unwrap()[..], [Part::Bytes(_)]));
    }

    /// Fields a version cannot carry are an error, not silently dropped.
    #[test]
    fn fields_the_version_cannot_carry_are_refused() {
        let with = |data: PartitionData| FetchReply::<Bytes> {
            topics: vec![FetchTopic {
                name: TopicName(StrBytes::from_static_str("t")),
                partitions: vec![FetchPartition { data, region: None }],
            }],
            ..FetchReply::default()
        };
        let replica = with(PartitionData::default().with_preferred_read_replica(BrokerId(3)));
        assert!(encode_fetch(&replica, 10, 1).is_err());
        assert!(encode_fetch(&replica, 11, 1).is_ok());
        let mut diverging = PartitionData::default();
        diverging.diverging_epoch.epoch = 4;
        assert!(encode_fetch(&with(diverging.clone()), 11, 1).is_err());
        assert!(encode_fetch(&with(diverging), 12, 1).is_ok());
        let session = FetchReply::<Bytes> { session_id: 9, ..FetchReply::default() };
        assert!(encode_fetch(&session, 6, 1).is_err());
        assert!(encode_fetch(&session, 3, 1).is_err());
    }
}
