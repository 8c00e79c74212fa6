//! `--cluster-metadata-decoder`: each record of `__cluster_metadata-0` as the
//! JSON Kafka's `kafka-dump-log.sh` prints for it (its
//! `ClusterMetadataLogMessageParser`):
//!
//! ```text
//! {"type":"TOPIC_RECORD","version":0,"data":{"name":"orders","topicId":"AAAAAAAAAAAAAAAAAAAAAQ"}}
//! ```
//!
//! - `type` is the record type's name in Kafka's `MetadataRecordType`: the
//!   schema name in upper snake case (`PartitionChangeRecord` →
//!   `PARTITION_CHANGE_RECORD`).
//! - `version` is the schema version the record was written in, and `data`
//!   holds the fields that version has, in the schema's order, named in
//!   camelCase (`BrokerEpoch` → `brokerEpoch`), as Kafka's generated
//!   `*JsonConverter.write` does. A tagged field is left out when it holds
//!   its default (a PartitionChangeRecord's `leader` of -2, a null `isr`).
//! - Uuids print as Kafka's `Uuid.toString()` (22 URL-safe base64 characters),
//!   strings with Jackson's escapes, all on one line without spaces.
//!
//! A value that does not decode prints Kafka's
//! `Error at <offset>, skipping. <why>` in place of the JSON.
//!
//! Simplifications: only the record types spool reads
//! ([`MetadataRecord`]); v2 PartitionRecord / PartitionChangeRecord ELR
//! fields and BrokerRegistrationChangeRecord v2's `logDirs`, which spool
//! skips when it decodes, are not shown.

use std::fmt::Write as _;

use uuid::Uuid;

use crate::metadata::records::{
    BrokerRegistrationChangeRecord, PartitionChangeRecord, PartitionRecord, RegisterBrokerRecord,
    NO_LEADER_CHANGE, NO_RECOVERY_STATE_CHANGE,
};
use crate::metadata::MetadataRecord;
use crate::tools::topics::kafka_uuid;

/// The ` payload: …` text of one metadata record value at `offset`: its JSON,
/// or Kafka's error form (and the error, for the dump's list of problems).
pub(super) fn payload(offset: i64, value: Option<&[u8]>) -> Result<String, (String, String)> {
    let decoded = match value {
        Some(value) => MetadataRecord::decode_versioned(value).map_err(|e| e.to_string()),
        None => Err("metadata record has no value".to_string()),
    };
    decoded
        .map(|(record, version)| record_json(&record, version))
        .map_err(|why| (format!("Error at {offset}, skipping. {why}"), why))
}

/// `{"type":…,"version":…,"data":{…}}` for a record read at schema `version`.
pub fn record_json(record: &MetadataRecord, version: u32) -> String {
    let (type_name, data) = match record {
        MetadataRecord::RegisterBroker(r) => ("REGISTER_BROKER_RECORD", register_broker(r, version)),
        MetadataRecord::UnregisterBroker { broker_id, broker_epoch } => (
            "UNREGISTER_BROKER_RECORD",
            Object::new().int("brokerId", broker_id).int("brokerEpoch", broker_epoch).end(),
        ),
        MetadataRecord::Topic { name, topic_id } => {
            ("TOPIC_RECORD", Object::new().string("name", name).uuid("topicId", topic_id).end())
        }
        MetadataRecord::Partition(p) => ("PARTITION_RECORD", partition(p, version)),
        MetadataRecord::Config { resource_type, resource_name, name, value } => (
            "CONFIG_RECORD",
            Object::new()
                .int("resourceType", resource_type)
                .string("resourceName", resource_name)
                .string("name", name)
                .nullable_string("value", value.as_deref())
                .end(),
        ),
        MetadataRecord::PartitionChange(c) => ("PARTITION_CHANGE_RECORD", partition_change(c, version)),
        MetadataRecord::FenceBroker { id, epoch } => {
            ("FENCE_BROKER_RECORD", Object::new().int("id", id).int("epoch", epoch).end())
        }
        MetadataRecord::UnfenceBroker { id, epoch } => {
            ("UNFENCE_BROKER_RECORD", Object::new().int("id", id).int("epoch", epoch).end())
        }
        MetadataRecord::RemoveTopic { topic_id } => {
            ("REMOVE_TOPIC_RECORD", Object::new().uuid("topicId", topic_id).end())
        }
        MetadataRecord::ClientQuota { entity, key, value, remove } => {
            let parts: Vec<String> = (entity.0.iter())
                .map(|(t, n)| {
                    Object::new().string("entityType", t).nullable_string("entityName", n.to_wire()).end()
                })
                .collect();
            let data = Object::new()
                .raw("entity", &array(parts))
                .string("key", key)
                // Rust's `{:?}` of a float64 is Java's `Double.toString` for
                // every rate a quota holds (1024.0); they part past 1e7.
                .raw("value", &format!("{:?}", value.0))
                .int("remove", remove)
                .end();
            ("CLIENT_QUOTA_RECORD", data)
        }
        MetadataRecord::ProducerIds { broker_id, broker_epoch, next_producer_id } => (
            "PRODUCER_IDS_RECORD",
            Object::new()
                .int("brokerId", broker_id)
                .int("brokerEpoch", broker_epoch)
                .int("nextProducerId", next_producer_id)
                .end(),
        ),
        MetadataRecord::BrokerRegistrationChange(c) => {
            ("BROKER_REGISTRATION_CHANGE_RECORD", registration_change(c, version))
        }
        MetadataRecord::AccessControlEntry { id, acl } => (
            "ACCESS_CONTROL_ENTRY_RECORD",
            Object::new()
                .uuid("id", id)
                .int("resourceType", acl.pattern.resource_type.code())
                .string("resourceName", &acl.pattern.name)
                .int("patternType", acl.pattern.pattern_type.code())
                .string("principal", &acl.principal)
                .string("host", &acl.host)
                .int("operation", acl.operation.code())
                .int("permissionType", acl.permission.code())
                .end(),
        ),
        MetadataRecord::RemoveAccessControlEntry { id } => {
            ("REMOVE_ACCESS_CONTROL_ENTRY_RECORD", Object::new().uuid("id", id).end())
        }
        // Bytes print as Kafka's JSON converter prints them: standard base64.
        MetadataRecord::UserScramCredential { name, mechanism, credential } => {
            use base64::Engine;
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            (
                "USER_SCRAM_CREDENTIAL_RECORD",
                Object::new()
                    .string("name", name)
                    .int("mechanism", mechanism.as_type())
                    .string("salt", &b64(&credential.salt))
                    .string("storedKey", &b64(&credential.stored_key))
                    .string("serverKey", &b64(&credential.server_key))
                    .int("iterations", credential.iterations)
                    .end(),
            )
        }
        MetadataRecord::RemoveUserScramCredential { name, mechanism } => (
            "REMOVE_USER_SCRAM_CREDENTIAL_RECORD",
            Object::new().string("name", name).int("mechanism", mechanism.as_type()).end(),
        ),
    };
    format!("{{\"type\":\"{type_name}\",\"version\":{version},\"data\":{data}}}")
}

/// RegisterBrokerRecord: `isMigratingZkBroker` from v2, `inControlledShutdown`
/// from v1, the tagged `logDirs` from v3 when not empty.
fn register_broker(r: &RegisterBrokerRecord, version: u32) -> String {
    let endpoints: Vec<String> = (r.endpoints.iter())
        .map(|e| {
            Object::new()
                .string("name", &e.name)
                .string("host", &e.host)
                .int("port", e.port)
                .int("securityProtocol", e.security_protocol)
                .end()
        })
        .collect();
    let features: Vec<String> = (r.features.iter())
        .map(|f| {
            Object::new()
                .string("name", &f.name)
                .int("minSupportedVersion", f.min_supported_version)
                .int("maxSupportedVersion", f.max_supported_version)
                .end()
        })
        .collect();
    Object::new()
        .int("brokerId", r.broker_id)
        .when(version >= 2, |o| o.int("isMigratingZkBroker", r.is_migrating_zk_broker))
        .uuid("incarnationId", &r.incarnation_id)
        .int("brokerEpoch", r.broker_epoch)
        .raw("endPoints", &array(endpoints))
        .raw("features", &array(features))
        .nullable_string("rack", r.rack.as_deref())
        .int("fenced", r.fenced)
        .when(version >= 1, |o| o.int("inControlledShutdown", r.in_controlled_shutdown))
        .when(version >= 3 && !r.log_dirs.is_empty(), |o| o.uuids("logDirs", &r.log_dirs))
        .end()
}

/// PartitionRecord: the tagged `leaderRecoveryState` when not 0, `directories` from v1.
fn partition(p: &PartitionRecord, version: u32) -> String {
    Object::new()
        .int("partitionId", p.partition_id)
        .uuid("topicId", &p.topic_id)
        .ints("replicas", &p.replicas)
        .ints("isr", &p.isr)
        .ints("removingReplicas", &p.removing_replicas)
        .ints("addingReplicas", &p.adding_replicas)
        .int("leader", p.leader)
        .when(p.leader_recovery_state != 0, |o| o.int("leaderRecoveryState", p.leader_recovery_state))
        .int("leaderEpoch", p.leader_epoch)
        .int("partitionEpoch", p.partition_epoch)
        .when(version >= 1, |o| o.uuids("directories", &p.directories))
        .end()
}

/// PartitionChangeRecord: every field after the ids is tagged, shown only
/// when it changes something.
fn partition_change(c: &PartitionChangeRecord, version: u32) -> String {
    let list = |o: Object, name: &str, list: &Option<Vec<i32>>| match list {
        Some(list) => o.ints(name, list),
        None => o,
    };
    let o = Object::new().int("partitionId", c.partition_id).uuid("topicId", &c.topic_id);
    let o = list(o, "isr", &c.isr).when(c.leader != NO_LEADER_CHANGE, |o| o.int("leader", c.leader));
    let o = list(o, "replicas", &c.replicas);
    let o = list(o, "removingReplicas", &c.removing_replicas);
    list(o, "addingReplicas", &c.adding_replicas)
        .when(c.leader_recovery_state != NO_RECOVERY_STATE_CHANGE, |o| {
            o.int("leaderRecoveryState", c.leader_recovery_state)
        })
        .when(version >= 1 && c.directories.is_some(), |o| {
            o.uuids("directories", c.directories.as_deref().unwrap_or_default())
        })
        .end()
}

/// BrokerRegistrationChangeRecord: `fenced` and (v1+) `inControlledShutdown`
/// are tagged, shown when not 0.
fn registration_change(c: &BrokerRegistrationChangeRecord, version: u32) -> String {
    let (fenced, shutdown) = (c.fenced as i8, c.in_controlled_shutdown as i8);
    Object::new()
        .int("brokerId", c.broker_id)
        .int("brokerEpoch", c.broker_epoch)
        .when(fenced != 0, |o| o.int("fenced", fenced))
        .when(version >= 1 && shutdown != 0, |o| o.int("inControlledShutdown", shutdown))
        .end()
}

/// One JSON object, written field by field in the order they are added.
struct Object {
    out: String,
}

impl Object {
    fn new() -> Self {
        Object { out: "{".to_string() }
    }

    /// A field whose value is already JSON text.
    fn raw(mut self, name: &str, json: &str) -> Self {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        let _ = write!(self.out, "{}:{json}", quote(name));
        self
    }

    /// Numbers and booleans print as themselves.
    fn int(self, name: &str, value: impl std::fmt::Display) -> Self {
        self.raw(name, &value.to_string())
    }

    fn string(self, name: &str, value: &str) -> Self {
        self.raw(name, &quote(value))
    }

    fn nullable_string(self, name: &str, value: Option<&str>) -> Self {
        self.raw(name, &value.map_or("null".to_string(), quote))
    }

    fn uuid(self, name: &str, id: &Uuid) -> Self {
        self.raw(name, &quote(&kafka_uuid(*id)))
    }

    fn ints(self, name: &str, values: &[i32]) -> Self {
        self.raw(name, &array(values.iter().map(i32::to_string)))
    }

    fn uuids(self, name: &str, ids: &[Uuid]) -> Self {
        self.raw(name, &array(ids.iter().map(|id| quote(&kafka_uuid(*id)))))
    }

    /// Adds what `add` adds only if `cond` holds (a field of a later version,
    /// a tagged field away from its default).
    fn when(self, cond: bool, add: impl FnOnce(Self) -> Self) -> Self {
        if cond {
            add(self)
        } else {
            self
        }
    }

    fn end(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

fn array(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(","))
}

/// A JSON string as Jackson writes it: `"` and `\` escaped, the short forms
/// `\b \t \n \f \r`, other control characters as `\u00XX` (upper-case hex),
/// everything else (non-ASCII included) as itself.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
