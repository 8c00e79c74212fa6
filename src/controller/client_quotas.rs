//! Client quotas in the metadata log (issue 19): AlterClientQuotas (API 49,
//! KIP-546) decided as ClientQuotaRecords, DescribeClientQuotas (API 48)
//! read from the image. Both are pure functions of the image and the request,
//! so the active controller and a standalone broker run the same code.
//!
//! ```text
//!  entry: entity [(type, name | <default>)] + ops [(key, value | remove)]
//!     ─▶ entity checked: not empty, no type twice, types user/client-id/ip,
//!        ip alone, no empty name
//!     ─▶ each op checked: a key of the entity's kind, a value > 0, whole for
//!        byte rates (Kafka's ClientQuotaControlManager.validateQuotaKeyValue)
//!     ─▶ ClientQuotaRecord per op (a remove only of a key that is set)
//!  every refusal is INVALID_REQUEST, per entry; the other entries go on
//! ```
//!
//! Describe filters as Kafka's `ClientQuotasImage.describe`: each component
//! matches a type's exact name, its `<default>`, or any name (SPECIFIED);
//! `strict` also asks that the entity have no other types.
//!
//! Simplifications: an `ip` entity must be a literal address (Kafka also
//! resolves host names), and its `connection_creation_rate` is stored, not
//! enforced.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use kafka_protocol::messages::{
    alter_client_quotas_response, describe_client_quotas_response, AlterClientQuotasRequest,
    AlterClientQuotasResponse, DescribeClientQuotasRequest, DescribeClientQuotasResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::topics::TopicError;
use crate::metadata::{MetadataImage, MetadataRecord};
use crate::quotas::{EntityName, QuotaEntity, QuotaValue, CLIENT_ID, IP, QUOTA_KEYS, USER};

/// `connection_creation_rate`: the only key of an `ip` entity.
pub const CONNECTION_CREATION_RATE: &str = "connection_creation_rate";

/// DescribeClientQuotas' match types.
const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_SPECIFIED: i8 = 2;

fn invalid(message: impl Into<String>) -> TopicError {
    TopicError::new(ResponseError::InvalidRequest, message)
}

/// An entry's entity from the wire, checked as Kafka's `validateEntity`.
fn entity_of(parts: &[(String, Option<String>)]) -> Result<QuotaEntity, TopicError> {
    if parts.is_empty() {
        return Err(invalid("Invalid empty client quota entity"));
    }
    let mut entity = BTreeMap::new();
    for (entity_type, name) in parts {
        if entity.contains_key(entity_type) {
            return Err(invalid(format!(
                "Invalid client quota entity, duplicate entity entry {entity_type}"
            )));
        }
        if ![USER, CLIENT_ID, IP].contains(&entity_type.as_str()) {
            return Err(invalid(format!("Unhandled client quota entity type: {entity_type}")));
        }
        if name.as_deref() == Some("") {
            return Err(invalid(format!("Empty {entity_type} not supported")));
        }
        entity.insert(entity_type.clone(), EntityName::from_wire(name.as_deref()));
    }
    let entity = QuotaEntity(entity);
    if let Some(ip) = entity.get(IP) {
        if entity.0.len() > 1 {
            return Err(invalid("Invalid quota entity combination, IP entity should not be combined with User or ClientId entities."));
        }
        if let EntityName::Name(ip) = ip {
            if ip.parse::<IpAddr>().is_err() {
                return Err(invalid(format!("{ip} is not a valid IP or resolvable host.")));
            }
        }
    }
    Ok(entity)
}

/// One op's key and value, checked as Kafka's `validateQuotaKeyValue`.
fn check_op(entity: &QuotaEntity, key: &str, value: f64, remove: bool) -> Result<(), TopicError> {
    let whole = if entity.get(IP).is_some() {
        (key == CONNECTION_CREATION_RATE).then_some(true)
    } else {
        QUOTA_KEYS.iter().find(|(k, _)| *k == key).map(|&(_, whole)| whole)
    };
    let Some(whole) = whole else {
        return Err(invalid(format!("Invalid configuration key {key}")));
    };
    if remove {
        return Ok(());
    }
    if value.is_nan() || value <= 0.0 || value.is_infinite() {
        return Err(invalid(format!("Quota {key} must be greater than 0")));
    }
    if whole && value.fract() != 0.0 {
        return Err(invalid(format!("{key} cannot be a fractional value.")));
    }
    Ok(())
}

// ANCHOR: alter_client_quotas
/// Decides an AlterClientQuotas against `image`: the records of the valid
/// entries and the answer to each, in order.
pub fn alter_client_quotas(
    image: &MetadataImage,
    request: &AlterClientQuotasRequest,
) -> (Vec<MetadataRecord>, AlterClientQuotasResponse) {
    let mut records = Vec::new();
    let mut answers = Vec::new();
    for entry in &request.entries {
        let parts: Vec<(String, Option<String>)> = (entry.entity.iter())
            .map(|e| (e.entity_type.to_string(), e.entity_name.as_ref().map(ToString::to_string)))
            .collect();
        let decided = entity_of(&parts).and_then(|entity| {
            let current = image.client_quotas().get(&entity);
            let mut mine = Vec::new();
            for op in &entry.ops {
                check_op(&entity, &op.key, op.value, op.remove)?;
                if op.remove && current.is_none_or(|c| !c.contains_key(op.key.as_str())) {
                    continue; // nothing to remove
                }
                let value = QuotaValue(if op.remove { 0.0 } else { op.value });
                let (key, remove) = (op.key.to_string(), op.remove);
                mine.push(MetadataRecord::ClientQuota { entity: entity.clone(), key, value, remove });
            }
            Ok(mine)
        });
        let (code, message) = match decided {
            Ok(mine) => {
                records.extend(mine);
                (0, None)
            }
            Err(e) => (e.code.code(), Some(StrBytes::from_string(e.message))),
        };
        let entity = (entry.entity.iter())
            .map(|e| {
                alter_client_quotas_response::EntityData::default()
                    .with_entity_type(e.entity_type.clone())
                    .with_entity_name(e.entity_name.clone())
            })
            .collect();
        answers.push(
            alter_client_quotas_response::EntryData::default()
                .with_error_code(code)
                .with_error_message(message)
                .with_entity(entity),
        );
    }
    (records, AlterClientQuotasResponse::default().with_entries(answers))
}
// ANCHOR_END: alter_client_quotas

/// A describe filter: exact names (`<default>` included) and types that
/// must merely be present.
struct Filter {
    exact: BTreeMap<String, EntityName>,
    present: BTreeSet<String>,
    strict: bool,
}

fn filter_of(request: &DescribeClientQuotasRequest) -> Result<Filter, TopicError> {
    let mut filter = Filter { exact: BTreeMap::new(), present: BTreeSet::new(), strict: request.strict };
    for c in &request.components {
        let entity_type = c.entity_type.to_string();
        if entity_type.is_empty() {
            return Err(invalid("Invalid empty entity type."));
        }
        if filter.exact.contains_key(&entity_type) || filter.present.contains(&entity_type) {
            return Err(invalid(format!(
                "Entity type {entity_type} cannot appear more than once in the filter."
            )));
        }
        if ![USER, CLIENT_ID, IP].contains(&entity_type.as_str()) {
            let message = format!("Unsupported entity type {entity_type}");
            return Err(TopicError::new(ResponseError::UnsupportedVersion, message));
        }
        match (c.match_type, c._match.as_ref()) {
            (MATCH_EXACT, Some(name)) => {
                drop(filter.exact.insert(entity_type, EntityName::Name(name.to_string())))
            }
            (MATCH_EXACT, None) => {
                return Err(invalid("Request specified MATCH_TYPE_EXACT, but set match string to null."))
            }
            (MATCH_DEFAULT, None) => drop(filter.exact.insert(entity_type, EntityName::Default)),
            (MATCH_SPECIFIED, None) => drop(filter.present.insert(entity_type)),
            (MATCH_DEFAULT | MATCH_SPECIFIED, Some(_)) => {
                return Err(invalid("Request specified a match string with a match type that takes none."))
            }
            (other, _) => return Err(invalid(format!("Unknown match type {other}"))),
        }
    }
    let has = |t: &str| filter.exact.contains_key(t) || filter.present.contains(t);
    if has(IP) && (has(USER) || has(CLIENT_ID)) {
        return Err(invalid("Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."));
    }
    Ok(filter)
}

impl Filter {
    fn matches(&self, entity: &QuotaEntity) -> bool {
        if self.strict && entity.0.len() != self.exact.len() + self.present.len() {
            return false;
        }
        self.exact.iter().all(|(t, name)| entity.get(t) == Some(name))
            && self.present.iter().all(|t| entity.get(t).is_some())
    }
}

// ANCHOR: describe_client_quotas
/// Answers a DescribeClientQuotas from `image`.
pub fn describe_client_quotas(
    image: &MetadataImage,
    request: &DescribeClientQuotasRequest,
) -> DescribeClientQuotasResponse {
    let filter = match filter_of(request) {
        Ok(filter) => filter,
        Err(e) => {
            return DescribeClientQuotasResponse::default()
                .with_error_code(e.code.code())
                .with_error_message(Some(StrBytes::from_string(e.message)))
        }
    };
    let entries = (image.client_quotas().iter())
        .filter(|(entity, _)| filter.matches(entity))
        .map(|(entity, quotas)| {
            let entity = (entity.0.iter())
                .map(|(t, n)| {
                    describe_client_quotas_response::EntityData::default()
                        .with_entity_type(StrBytes::from_string(t.clone()))
                        .with_entity_name(n.to_wire().map(|n| StrBytes::from_string(n.to_string())))
                })
                .collect();
            let values = (quotas.iter())
                .map(|(k, v)| {
                    describe_client_quotas_response::ValueData::default()
                        .with_key(StrBytes::from_string(k.clone()))
                        .with_value(v.0)
                })
                .collect();
            describe_client_quotas_response::EntryData::default().with_entity(entity).with_values(values)
        })
        .collect();
    DescribeClientQuotasResponse::default().with_entries(Some(entries))
}
// ANCHOR_END: describe_client_quotas

#[cfg(test)]
mod tests;
