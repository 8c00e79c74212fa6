//! Metadata records in Kafka's own encoding, as KRaft writes them to
//! `__cluster_metadata-0`.
//!
//! Each record's value is one framed message (Kafka's `MetadataRecordSerde`):
//!
//! ```text
//!  frameVersion  unsigned varint (1)
//!  apiKey        unsigned varint   2 TopicRecord, 3 PartitionRecord,
//!                                  4 ConfigRecord, 9 RemoveTopicRecord,
//!                                  15 ProducerIdsRecord
//!  version       unsigned varint
//!  body          the message in Kafka's "flexible" encoding: compact strings
//!                and arrays (length + 1 as an unsigned varint), raw 16-byte
//!                UUIDs, and a count of tagged fields (always 0 here)
//! ```
//!
//! Only the records a single broker needs so far are here; chapter 7 adds broker
//! registrations and leader changes.

use uuid::Uuid;

/// One change to the cluster's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataRecord {
    /// A topic exists (TopicRecord, api key 2).
    Topic { name: String, topic_id: Uuid },
    /// One partition of a topic, with its replicas (PartitionRecord, api key 3).
    Partition {
        partition_id: i32,
        topic_id: Uuid,
        replicas: Vec<i32>,
        isr: Vec<i32>,
        leader: i32,
        leader_epoch: i32,
        partition_epoch: i32,
    },
    /// A topic config override; `None` removes it (ConfigRecord, api key 4).
    Config { resource_type: i8, resource_name: String, name: String, value: Option<String> },
    /// A topic is deleted (RemoveTopicRecord, api key 9).
    RemoveTopic { topic_id: Uuid },
    /// A block of producer ids is handed to a broker: every id below
    /// `next_producer_id` may be in use (ProducerIdsRecord, api key 15;
    /// chapter 8's allocator, [`crate::broker::producer_ids`]).
    ProducerIds { broker_id: i32, broker_epoch: i64, next_producer_id: i64 },
}

/// `ConfigResource.Type.TOPIC`.
pub const RESOURCE_TOPIC: i8 = 2;
const FRAME_VERSION: u32 = 1;

impl MetadataRecord {
    fn api_key(&self) -> u32 {
        match self {
            MetadataRecord::Topic { .. } => 2,
            MetadataRecord::Partition { .. } => 3,
            MetadataRecord::Config { .. } => 4,
            MetadataRecord::RemoveTopic { .. } => 9,
            MetadataRecord::ProducerIds { .. } => 15,
        }
    }

    /// Encodes the record as a metadata log record value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_uvarint(&mut out, FRAME_VERSION);
        put_uvarint(&mut out, self.api_key());
        put_uvarint(&mut out, 0); // version
        match self {
            MetadataRecord::Topic { name, topic_id } => {
                put_compact_string(&mut out, Some(name));
                out.extend_from_slice(topic_id.as_bytes());
            }
            MetadataRecord::Partition {
                partition_id,
                topic_id,
                replicas,
                isr,
                leader,
                leader_epoch,
                partition_epoch,
            } => {
                out.extend_from_slice(&partition_id.to_be_bytes());
                out.extend_from_slice(topic_id.as_bytes());
                for list in [replicas, isr, &Vec::new(), &Vec::new()] {
                    put_uvarint(&mut out, list.len() as u32 + 1);
                    list.iter().for_each(|r| out.extend_from_slice(&r.to_be_bytes()));
                }
                for v in [leader, leader_epoch, partition_epoch] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            MetadataRecord::Config { resource_type, resource_name, name, value } => {
                out.push(*resource_type as u8);
                put_compact_string(&mut out, Some(resource_name));
                put_compact_string(&mut out, Some(name));
                put_compact_string(&mut out, value.as_deref());
            }
            MetadataRecord::RemoveTopic { topic_id } => out.extend_from_slice(topic_id.as_bytes()),
            MetadataRecord::ProducerIds { broker_id, broker_epoch, next_producer_id } => {
                out.extend_from_slice(&broker_id.to_be_bytes());
                out.extend_from_slice(&broker_epoch.to_be_bytes());
                out.extend_from_slice(&next_producer_id.to_be_bytes());
            }
        }
        put_uvarint(&mut out, 0); // no tagged fields
        out
    }

    /// Decodes a metadata log record value.
    pub fn decode(buf: &[u8]) -> Result<Self, String> {
        let mut r = Reader { buf, pos: 0 };
        let frame = r.uvarint()?;
        if frame != FRAME_VERSION {
            return Err(format!("unknown metadata frame version {frame}"));
        }
        let api_key = r.uvarint()?;
        let _version = r.uvarint()?;
        let record = match api_key {
            2 => MetadataRecord::Topic { name: r.string()?, topic_id: r.uuid()? },
            3 => {
                let partition_id = r.i32()?;
                let topic_id = r.uuid()?;
                let replicas = r.i32_array()?;
                let isr = r.i32_array()?;
                r.i32_array()?; // removing replicas
                r.i32_array()?; // adding replicas
                MetadataRecord::Partition {
                    partition_id,
                    topic_id,
                    replicas,
                    isr,
                    leader: r.i32()?,
                    leader_epoch: r.i32()?,
                    partition_epoch: r.i32()?,
                }
            }
            4 => MetadataRecord::Config {
                resource_type: r.take(1)?[0] as i8,
                resource_name: r.string()?,
                name: r.string()?,
                value: r.nullable_string()?,
            },
            9 => MetadataRecord::RemoveTopic { topic_id: r.uuid()? },
            15 => MetadataRecord::ProducerIds {
                broker_id: r.i32()?,
                broker_epoch: r.i64()?,
                next_producer_id: r.i64()?,
            },
            other => return Err(format!("unsupported metadata record api key {other}")),
        };
        let tagged = r.uvarint()?;
        for _ in 0..tagged {
            r.uvarint()?;
            let len = r.uvarint()? as usize;
            r.take(len)?;
        }
        Ok(record)
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_compact_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => put_uvarint(out, 0),
        Some(s) => {
            put_uvarint(out, s.len() as u32 + 1);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() - self.pos < n {
            return Err("truncated metadata record".into());
        }
        self.pos += n;
        Ok(&self.buf[self.pos - n..self.pos])
    }
    fn uvarint(&mut self) -> Result<u32, String> {
        let mut v: u32 = 0;
        for i in 0..5 {
            let b = self.take(1)?[0];
            v |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long in metadata record".into())
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn uuid(&mut self) -> Result<Uuid, String> {
        Ok(Uuid::from_bytes(self.take(16)?.try_into().expect("16 bytes")))
    }
    fn nullable_string(&mut self) -> Result<Option<String>, String> {
        let len = self.uvarint()?;
        if len == 0 {
            return Ok(None);
        }
        let bytes = self.take(len as usize - 1)?;
        String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| "metadata string is not UTF-8".into())
    }
    fn string(&mut self) -> Result<String, String> {
        self.nullable_string()?.ok_or_else(|| "null string in metadata record".into())
    }
    fn i32_array(&mut self) -> Result<Vec<i32>, String> {
        let len = self.uvarint()?;
        (1..len).map(|_| self.i32()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record decodes to itself.
    #[test]
    fn round_trip() {
        let topic_id = Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        let records = [
            MetadataRecord::Topic { name: "orders".into(), topic_id },
            MetadataRecord::Partition {
                partition_id: 3,
                topic_id,
                replicas: vec![1],
                isr: vec![1],
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
            },
            MetadataRecord::Config {
                resource_type: RESOURCE_TOPIC,
                resource_name: "orders".into(),
                name: "retention.ms".into(),
                value: Some("1000".into()),
            },
            MetadataRecord::RemoveTopic { topic_id },
            MetadataRecord::ProducerIds { broker_id: 1, broker_epoch: 7, next_producer_id: 3_000 },
        ];
        for record in records {
            assert_eq!(MetadataRecord::decode(&record.encode()), Ok(record));
        }
    }

    /// The TopicRecord bytes Kafka's generated serializer writes for the same fields.
    #[test]
    fn topic_record_layout() {
        let topic_id = Uuid::from_u128(1);
        let bytes = MetadataRecord::Topic { name: "t".into(), topic_id }.encode();
        let mut expected = vec![1, 2, 0, 2, b't'];
        expected.extend_from_slice(topic_id.as_bytes());
        expected.push(0);
        assert_eq!(bytes, expected);
    }

    /// The ProducerIdsRecord bytes of Kafka's generated serializer (version 0):
    /// brokerId int32, brokerEpoch int64, nextProducerId int64, no tagged fields.
    #[test]
    fn producer_ids_record_layout() {
        let bytes =
            MetadataRecord::ProducerIds { broker_id: 1, broker_epoch: 2, next_producer_id: 1_000 }.encode();
        let mut expected = vec![1, 15, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
        expected.extend_from_slice(&1_000i64.to_be_bytes());
        expected.push(0);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(MetadataRecord::decode(&[]).is_err());
        assert!(MetadataRecord::decode(&[1, 2, 0, 50]).is_err());
        assert!(MetadataRecord::decode(&[1, 77, 0]).is_err());
    }
}
