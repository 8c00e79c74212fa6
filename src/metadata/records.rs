//! Metadata records in Kafka's own encoding, as KRaft writes them to
//! `__cluster_metadata-0`.
//!
//! Each record's value is one framed message (Kafka's `MetadataRecordSerde`):
//!
//! ```text
//!  frameVersion  unsigned varint (1)
//!  apiKey        unsigned varint   the record type (table below)
//!  version       unsigned varint   the record's schema version
//!  body          the message in Kafka's "flexible" encoding: compact strings
//!                and arrays (length + 1 as an unsigned varint, 0 for null),
//!                raw 16-byte UUIDs, and after each struct its tagged fields:
//!                a count, then (tag, size, bytes) per field in tag order
//! ```
//!
//! The versions written are the ones Kafka 3.7–3.9 write at their default
//! `metadata.version` (3.7-IV4, 3.8-IV0, 3.9-IV0: directory assignment on,
//! ELR off), so a Kafka tool can read spool's metadata log:
//!
//! ```text
//!  key record                          written  read
//!   0  RegisterBrokerRecord             v3      v0–v3
//!   1  UnregisterBrokerRecord           v0      v0
//!   2  TopicRecord                      v0      v0
//!   3  PartitionRecord                  v1      v0–v2 (v2's ELR tags skipped)
//!   4  ConfigRecord                     v0      v0
//!   5  PartitionChangeRecord            v1      v0–v2 (v2's ELR tags skipped)
//!   7  FenceBrokerRecord                v0      v0
//!   8  UnfenceBrokerRecord              v0      v0
//!   9  RemoveTopicRecord                v0      v0
//!  11  UserScramCredentialRecord        v0      v0 (issue 19, [`scram`])
//!  14  ClientQuotaRecord                v0      v0
//!  15  ProducerIdsRecord                v0      v0
//!  17  BrokerRegistrationChangeRecord   v0, or v1 when it says "in controlled
//!                                       shutdown" (as Kafka's controller writes)
//!  18  AccessControlEntryRecord         v0      v0 (chapter 11, [`acls`])
//!  19  RemoveAccessControlEntryRecord   v0      v0
//!  22  RemoveUserScramCredentialRecord  v0      v0
//! ```
//!
//! Tagged fields a schema version does not name (and BrokerRegistrationChange
//! v2's log directories) are skipped on read: spool keeps one log directory.

use std::fmt;

use uuid::Uuid;

use brokers::{decode_register_broker, decode_registration_change, encode_register_broker};
use codec::{Reader, Tagged, Writer};

use crate::quotas::{EntityName, QuotaEntity, QuotaValue};
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};

/// One change to the cluster's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataRecord {
    /// A broker joined, or a new incarnation of it (RegisterBrokerRecord, api key 0).
    RegisterBroker(RegisterBrokerRecord),
    /// A broker's registration is removed (UnregisterBrokerRecord, api key 1).
    UnregisterBroker { broker_id: i32, broker_epoch: i64 },
    /// A topic exists (TopicRecord, api key 2).
    Topic { name: String, topic_id: Uuid },
    /// One partition of a topic, whole (PartitionRecord, api key 3).
    Partition(PartitionRecord),
    /// A topic config override or a dynamic broker config; `None` removes it
    /// (ConfigRecord, api key 4).
    Config { resource_type: i8, resource_name: String, name: String, value: Option<String> },
    /// A change to one partition's leader, ISR or replicas (PartitionChangeRecord, api key 5).
    PartitionChange(PartitionChangeRecord),
    /// A broker is fenced (FenceBrokerRecord, api key 7; before 3.3, now
    /// BrokerRegistrationChangeRecord).
    FenceBroker { id: i32, epoch: i64 },
    /// A broker is unfenced (UnfenceBrokerRecord, api key 8; likewise).
    UnfenceBroker { id: i32, epoch: i64 },
    /// A topic is deleted (RemoveTopicRecord, api key 9).
    RemoveTopic { topic_id: Uuid },
    /// A client quota is set or removed (ClientQuotaRecord, api key 14;
    /// issue 19's quotas, [`crate::quotas`]). The entity's `<default>`
    /// parts are null names on the wire.
    ClientQuota { entity: QuotaEntity, key: String, value: QuotaValue, remove: bool },
    /// A block of producer ids is handed to a broker: every id below
    /// `next_producer_id` may be in use (ProducerIdsRecord, api key 15;
    /// chapter 8's allocator, [`crate::broker::producer_ids`]).
    ProducerIds { broker_id: i32, broker_epoch: i64, next_producer_id: i64 },
    /// A broker's fencing or controlled shutdown changes (BrokerRegistrationChangeRecord, api key 17).
    BrokerRegistrationChange(BrokerRegistrationChangeRecord),
    /// An ACL is added under a fresh id (AccessControlEntryRecord, api key 18; chapter 11).
    AccessControlEntry { id: Uuid, acl: crate::security::Acl },
    /// The ACL of that id is removed (RemoveAccessControlEntryRecord, api key 19).
    RemoveAccessControlEntry { id: Uuid },
    /// A user's SCRAM credential for one mechanism is set, replacing any
    /// before it (UserScramCredentialRecord, api key 11; issue 19).
    UserScramCredential { name: String, mechanism: ScramMechanism, credential: ScramCredential },
    /// That credential is removed (RemoveUserScramCredentialRecord, api key 22).
    RemoveUserScramCredential { name: String, mechanism: ScramMechanism },
}

/// `ConfigResource.Type.TOPIC`.
pub const RESOURCE_TOPIC: i8 = 2;
/// `ConfigResource.Type.BROKER`: a dynamic broker config, named by the
/// broker's id, or "" for the cluster-wide default.
pub const RESOURCE_BROKER: i8 = 4;
/// A PartitionChangeRecord's `leader` when the leader does not change.
pub const NO_LEADER_CHANGE: i32 = -2;
/// A partition's `leader` when it has none.
pub const NO_LEADER: i32 = -1;
/// A PartitionChangeRecord's `leader_recovery_state` when it does not change.
pub const NO_RECOVERY_STATE_CHANGE: i8 = -1;
/// DirectoryId.UNASSIGNED: the replica's directory is not known yet.
pub const DIRECTORY_UNASSIGNED: Uuid = Uuid::from_u128(1);
/// DirectoryId.MIGRATING: the broker registered no directories.
pub const DIRECTORY_MIGRATING: Uuid = Uuid::from_u128(0);
const FRAME_VERSION: u32 = 1;

/// A broker's registration (RegisterBrokerRecord v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterBrokerRecord {
    pub broker_id: i32,
    pub is_migrating_zk_broker: bool,
    /// Names this process: a restarted broker comes back with a new one.
    pub incarnation_id: Uuid,
    /// The offset of the first RegisterBrokerRecord of this incarnation.
    pub broker_epoch: i64,
    pub endpoints: Vec<BrokerEndpoint>,
    pub features: Vec<BrokerFeature>,
    pub rack: Option<String>,
    /// Kafka's default is true: a broker starts fenced.
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
    /// The broker's online log directories (tag 0).
    pub log_dirs: Vec<Uuid>,
}

/// One listener a broker can be reached on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerEndpoint {
    /// The listener name, `PLAINTEXT` or `CONTROLLER`.
    pub name: String,
    pub host: String,
    pub port: u16,
    /// Kafka's `SecurityProtocol` id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL.
    pub security_protocol: i16,
}

/// A feature level range a broker supports (`metadata.version`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerFeature {
    pub name: String,
    pub min_supported_version: i16,
    pub max_supported_version: i16,
}

/// A partition, whole (PartitionRecord v1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRecord {
    pub partition_id: i32,
    pub topic_id: Uuid,
    /// In preferred order: the first is the preferred leader.
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub removing_replicas: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    /// A broker id, or [`NO_LEADER`].
    pub leader: i32,
    /// 0 recovered, 1 recovering from an unclean election (tag 0).
    pub leader_recovery_state: i8,
    pub leader_epoch: i32,
    /// Bumped by every change to the partition.
    pub partition_epoch: i32,
    /// The log directory of each replica, in `replicas`' order (v1+).
    pub directories: Vec<Uuid>,
}

/// A change to a partition (PartitionChangeRecord v1): every field but the
/// ids is optional, `None` (or [`NO_LEADER_CHANGE`], [`NO_RECOVERY_STATE_CHANGE`])
/// meaning "unchanged", and all of them are tagged fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionChangeRecord {
    pub partition_id: i32,
    pub topic_id: Uuid,
    pub isr: Option<Vec<i32>>,
    /// [`NO_LEADER_CHANGE`], [`NO_LEADER`] or the new leader; any value but
    /// [`NO_LEADER_CHANGE`] bumps the leader epoch, even the same leader.
    pub leader: i32,
    pub replicas: Option<Vec<i32>>,
    pub removing_replicas: Option<Vec<i32>>,
    pub adding_replicas: Option<Vec<i32>>,
    pub leader_recovery_state: i8,
    pub directories: Option<Vec<Uuid>>,
}

impl PartitionChangeRecord {
    /// A change of nothing yet, to one partition.
    pub fn new(topic_id: Uuid, partition_id: i32) -> Self {
        PartitionChangeRecord {
            partition_id,
            topic_id,
            isr: None,
            leader: NO_LEADER_CHANGE,
            replicas: None,
            removing_replicas: None,
            adding_replicas: None,
            leader_recovery_state: NO_RECOVERY_STATE_CHANGE,
            directories: None,
        }
    }
}

/// A change to a broker's registration (BrokerRegistrationChangeRecord v0/v1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistrationChangeRecord {
    pub broker_id: i32,
    pub broker_epoch: i64,
    pub fenced: FencingChange,
    pub in_controlled_shutdown: ControlledShutdownChange,
}

/// BrokerRegistrationChangeRecord's `Fenced` byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FencingChange {
    Unfence = -1,
    None = 0,
    Fence = 1,
}

/// BrokerRegistrationChangeRecord's `InControlledShutdown` byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlledShutdownChange {
    None = 0,
    InControlledShutdown = 1,
}

/// Why a metadata record value does not decode: the log holding it is corrupt
/// (or written by a newer Kafka than spool reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The value ends inside a field.
    Truncated,
    /// An unsigned varint longer than five bytes.
    VarintTooLong,
    /// Not `MetadataRecordSerde`'s frame version 1.
    UnknownFrameVersion(u32),
    /// A record type spool does not know.
    UnknownApiKey(u32),
    /// A version of a known record type that spool does not read.
    UnsupportedVersion { api_key: u32, version: u32 },
    /// A string that is not UTF-8.
    NotUtf8,
    /// Null where the schema does not allow it.
    UnexpectedNull(&'static str),
    /// A byte outside the values a field may take.
    InvalidValue { field: &'static str, value: i8 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "truncated metadata record"),
            DecodeError::VarintTooLong => write!(f, "varint too long in metadata record"),
            DecodeError::UnknownFrameVersion(v) => write!(f, "unknown metadata frame version {v}"),
            DecodeError::UnknownApiKey(k) => write!(f, "unsupported metadata record api key {k}"),
            DecodeError::UnsupportedVersion { api_key, version } => {
                write!(f, "unsupported version {version} of metadata record api key {api_key}")
            }
            DecodeError::NotUtf8 => write!(f, "metadata string is not UTF-8"),
            DecodeError::UnexpectedNull(field) => write!(f, "null {field} in metadata record"),
            DecodeError::InvalidValue { field, value } => {
                write!(f, "invalid {field} {value} in metadata record")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl MetadataRecord {
    fn api_key_and_version(&self) -> (u32, u32) {
        match self {
            MetadataRecord::RegisterBroker(_) => (0, 3),
            MetadataRecord::UnregisterBroker { .. } => (1, 0),
            MetadataRecord::Topic { .. } => (2, 0),
            MetadataRecord::Partition(_) => (3, 1),
            MetadataRecord::Config { .. } => (4, 0),
            MetadataRecord::PartitionChange(_) => (5, 1),
            MetadataRecord::FenceBroker { .. } => (7, 0),
            MetadataRecord::UnfenceBroker { .. } => (8, 0),
            MetadataRecord::RemoveTopic { .. } => (9, 0),
            MetadataRecord::ClientQuota { .. } => (14, 0),
            MetadataRecord::ProducerIds { .. } => (15, 0),
            MetadataRecord::BrokerRegistrationChange(r) => {
                (17, u32::from(r.in_controlled_shutdown != ControlledShutdownChange::None))
            }
            MetadataRecord::AccessControlEntry { .. } => (acls::ACCESS_CONTROL_ENTRY, 0),
            MetadataRecord::RemoveAccessControlEntry { .. } => (acls::REMOVE_ACCESS_CONTROL_ENTRY, 0),
            MetadataRecord::UserScramCredential { .. } => (scram::USER_SCRAM_CREDENTIAL, 0),
            MetadataRecord::RemoveUserScramCredential { .. } => (scram::REMOVE_USER_SCRAM_CREDENTIAL, 0),
        }
    }

    // ANCHOR: metadata_record_encode
    /// Encodes the record as a metadata log record value.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        let (api_key, version) = self.api_key_and_version();
        w.uvarint(FRAME_VERSION);
        w.uvarint(api_key);
        w.uvarint(version);
        let mut tagged = Tagged::default();
        match self {
            MetadataRecord::RegisterBroker(r) => encode_register_broker(&mut w, &mut tagged, r),
            MetadataRecord::UnregisterBroker { broker_id, broker_epoch } => {
                w.i32(*broker_id);
                w.i64(*broker_epoch);
            }
            MetadataRecord::Topic { name, topic_id } => {
                w.string(Some(name));
                w.uuid(topic_id);
            }
            MetadataRecord::Partition(p) => encode_partition(&mut w, &mut tagged, p),
            MetadataRecord::Config { resource_type, resource_name, name, value } => {
                w.i8(*resource_type);
                w.string(Some(resource_name));
                w.string(Some(name));
                w.string(value.as_deref());
            }
            MetadataRecord::PartitionChange(c) => encode_partition_change(&mut w, &mut tagged, c),
            MetadataRecord::FenceBroker { id, epoch } | MetadataRecord::UnfenceBroker { id, epoch } => {
                w.i32(*id);
                w.i64(*epoch);
            }
            MetadataRecord::RemoveTopic { topic_id } => w.uuid(topic_id),
            MetadataRecord::ClientQuota { entity, key, value, remove } => {
                w.uvarint(entity.0.len() as u32 + 1);
                for (entity_type, name) in &entity.0 {
                    w.string(Some(entity_type));
                    w.string(name.to_wire());
                    w.uvarint(0); // EntityData's tagged fields
                }
                w.string(Some(key));
                w.out.extend_from_slice(&value.0.to_bits().to_be_bytes());
                w.bool(*remove);
            }
            MetadataRecord::ProducerIds { broker_id, broker_epoch, next_producer_id } => {
                w.i32(*broker_id);
                w.i64(*broker_epoch);
                w.i64(*next_producer_id);
            }
            MetadataRecord::BrokerRegistrationChange(c) => {
                w.i32(c.broker_id);
                w.i64(c.broker_epoch);
                if c.fenced != FencingChange::None {
                    tagged.field(0, |w| w.i8(c.fenced as i8));
                }
                if c.in_controlled_shutdown != ControlledShutdownChange::None {
                    tagged.field(1, |w| w.i8(c.in_controlled_shutdown as i8));
                }
            }
            MetadataRecord::AccessControlEntry { id, acl } => acls::encode_acl(&mut w, id, acl),
            MetadataRecord::RemoveAccessControlEntry { id } => w.uuid(id),
            MetadataRecord::UserScramCredential { name, mechanism, credential } => {
                scram::encode_credential(&mut w, name, *mechanism, credential)
            }
            MetadataRecord::RemoveUserScramCredential { name, mechanism } => {
                scram::encode_removal(&mut w, name, *mechanism)
            }
        }
        tagged.write(&mut w);
        w.out
    }
    // ANCHOR_END: metadata_record_encode

    /// Decodes a metadata log record value.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_versioned(buf).map(|(record, _)| record)
    }

    /// Decodes a metadata log record value, and says which version of its
    /// schema it was written in (which fields a dump of it must show).
    pub fn decode_versioned(buf: &[u8]) -> Result<(Self, u32), DecodeError> {
        let mut r = Reader { buf, pos: 0 };
        let frame = r.uvarint()?;
        if frame != FRAME_VERSION {
            return Err(DecodeError::UnknownFrameVersion(frame));
        }
        let api_key = r.uvarint()?;
        let version = r.uvarint()?;
        let highest = match api_key {
            0 => 3,
            3 | 5 => 2,
            17 => 2,
            1 | 2 | 4 | 7 | 8 | 9 | 11 | 14 | 15 | 18 | 19 | 22 => 0,
            other => return Err(DecodeError::UnknownApiKey(other)),
        };
        if version > highest {
            return Err(DecodeError::UnsupportedVersion { api_key, version });
        }
        let record = match api_key {
            0 => {
                return Ok((
                    MetadataRecord::RegisterBroker(decode_register_broker(&mut r, version)?),
                    version,
                ))
            }
            3 => return Ok((MetadataRecord::Partition(decode_partition(&mut r, version)?), version)),
            5 => {
                let change = decode_partition_change(&mut r, version)?;
                return Ok((MetadataRecord::PartitionChange(change), version));
            }
            17 => {
                let change = decode_registration_change(&mut r, version)?;
                return Ok((MetadataRecord::BrokerRegistrationChange(change), version));
            }
            1 => MetadataRecord::UnregisterBroker { broker_id: r.i32()?, broker_epoch: r.i64()? },
            2 => MetadataRecord::Topic { name: r.string("topic name")?, topic_id: r.uuid()? },
            4 => MetadataRecord::Config {
                resource_type: r.i8()?,
                resource_name: r.string("resource name")?,
                name: r.string("config name")?,
                value: r.nullable_string()?,
            },
            7 => MetadataRecord::FenceBroker { id: r.i32()?, epoch: r.i64()? },
            8 => MetadataRecord::UnfenceBroker { id: r.i32()?, epoch: r.i64()? },
            9 => MetadataRecord::RemoveTopic { topic_id: r.uuid()? },
            18 => {
                let (id, acl) = acls::decode_acl(&mut r)?;
                MetadataRecord::AccessControlEntry { id, acl }
            }
            19 => MetadataRecord::RemoveAccessControlEntry { id: r.uuid()? },
            11 => scram::decode_credential(&mut r)?,
            22 => scram::decode_removal(&mut r)?,
            14 => decode_client_quota(&mut r)?,
            _ => MetadataRecord::ProducerIds {
                broker_id: r.i32()?,
                broker_epoch: r.i64()?,
                next_producer_id: r.i64()?,
            },
        };
        // These schemas have no tagged fields of their own: skip any.
        r.skip_tagged()?;
        Ok((record, version))
    }
}

fn decode_client_quota(r: &mut Reader) -> Result<MetadataRecord, DecodeError> {
    let parts = r.structs("entity", |r| {
        let part = (r.string("entity type")?, EntityName::from_wire(r.nullable_string()?.as_deref()));
        r.skip_tagged()?;
        Ok(part)
    })?;
    let entity = QuotaEntity(parts.into_iter().collect());
    let key = r.string("quota key")?;
    let value = QuotaValue(f64::from_bits(r.i64()? as u64));
    let remove = r.bool("remove")?;
    Ok(MetadataRecord::ClientQuota { entity, key, value, remove })
}

fn encode_partition(w: &mut Writer, tagged: &mut Tagged, p: &PartitionRecord) {
    w.i32(p.partition_id);
    w.uuid(&p.topic_id);
    for list in [&p.replicas, &p.isr, &p.removing_replicas, &p.adding_replicas] {
        w.i32s(Some(list));
    }
    w.i32(p.leader);
    w.i32(p.leader_epoch);
    w.i32(p.partition_epoch);
    w.uuids(Some(&p.directories));
    if p.leader_recovery_state != 0 {
        tagged.field(0, |w| w.i8(p.leader_recovery_state));
    }
}

fn decode_partition(r: &mut Reader, version: u32) -> Result<PartitionRecord, DecodeError> {
    let list = |r: &mut Reader, field| r.i32s()?.ok_or(DecodeError::UnexpectedNull(field));
    let mut p = PartitionRecord {
        partition_id: r.i32()?,
        topic_id: r.uuid()?,
        replicas: list(r, "replicas")?,
        isr: list(r, "isr")?,
        removing_replicas: list(r, "removingReplicas")?,
        adding_replicas: list(r, "addingReplicas")?,
        leader: r.i32()?,
        leader_recovery_state: 0,
        leader_epoch: r.i32()?,
        partition_epoch: r.i32()?,
        directories: Vec::new(),
    };
    if version >= 1 {
        p.directories = r.uuids()?.ok_or(DecodeError::UnexpectedNull("directories"))?;
    }
    r.tagged(|tag, r| match tag {
        0 => {
            p.leader_recovery_state = r.i8()?;
            Ok(true)
        }
        _ => Ok(false), // v2's ELR (1, 2): not used by spool
    })?;
    Ok(p)
}

fn encode_partition_change(w: &mut Writer, tagged: &mut Tagged, c: &PartitionChangeRecord) {
    w.i32(c.partition_id);
    w.uuid(&c.topic_id);
    if let Some(isr) = &c.isr {
        tagged.field(0, |w| w.i32s(Some(isr)));
    }
    if c.leader != NO_LEADER_CHANGE {
        tagged.field(1, |w| w.i32(c.leader));
    }
    for (tag, list) in [(2, &c.replicas), (3, &c.removing_replicas), (4, &c.adding_replicas)] {
        if let Some(list) = list {
            tagged.field(tag, |w| w.i32s(Some(list)));
        }
    }
    if c.leader_recovery_state != NO_RECOVERY_STATE_CHANGE {
        tagged.field(5, |w| w.i8(c.leader_recovery_state));
    }
    if let Some(dirs) = &c.directories {
        tagged.field(8, |w| w.uuids(Some(dirs)));
    }
}

fn decode_partition_change(r: &mut Reader, version: u32) -> Result<PartitionChangeRecord, DecodeError> {
    let partition_id = r.i32()?;
    let topic_id = r.uuid()?;
    let mut c = PartitionChangeRecord::new(topic_id, partition_id);
    r.tagged(|tag, r| {
        match tag {
            0 => c.isr = r.i32s()?,
            1 => c.leader = r.i32()?,
            2 => c.replicas = r.i32s()?,
            3 => c.removing_replicas = r.i32s()?,
            4 => c.adding_replicas = r.i32s()?,
            5 => c.leader_recovery_state = r.i8()?,
            8 if version >= 1 => c.directories = r.uuids()?,
            _ => return Ok(false), // v2's ELR (6, 7): not used by spool
        }
        Ok(true)
    })?;
    Ok(c)
}

pub mod acls;
mod brokers;
mod codec;
pub mod scram;
#[cfg(test)]
mod tests;
