//! Client quotas (issue 19, chapter 11): many tenants on one broker, none
//! allowed to starve the others.
//!
//! Kafka bounds what each client may take from a broker (KIP-13, KIP-55,
//! KIP-124): `producer_byte_rate` (bytes per second of produce requests),
//! `consumer_byte_rate` (bytes per second of fetch responses) and
//! `request_percentage` (the share of one handler thread's time, in %). A
//! quota belongs to an *entity*: a user, a client id, or a user's client id,
//! each with a `<default>` that stands for every name without its own.
//!
//! The quotas live in the metadata log as ClientQuotaRecords, set with
//! AlterClientQuotas and read with DescribeClientQuotas through the active
//! controller ([`crate::controller::client_quotas`]); every broker applies
//! them to its image. When a request comes in, the broker finds the quota
//! that governs the client ([`resolve`], Kafka's eight levels) and records
//! the request's bytes in that quota's [`Rate`]; over the quota, KIP-219's
//! throttling applies: the response still goes out at once, carrying
//! `throttle_time_ms`, and the broker mutes the connection (reads nothing
//! more from it) for that long, so a client that ignored the field would
//! gain nothing.
//!
//! ```text
//!  produce from (user, client.id) ─▶ resolve: users/u/clients/c … clients/<default>
//!        │                                   │ the first level with a producer_byte_rate
//!        ▼                                   ▼
//!   Rate[(level's user, level's client)].record(bytes, now) ─▶ over? throttle_ms
//!        ▼
//!   response (throttle_time_ms) now, then the connection muted for throttle_ms
//! ```
//!
//! The quota's user is the connection's principal name (`ANONYMOUS` unless
//! TLS or SASL named it). Simplifications: `ip` entities and `controller_mutation_rate` are
//! stored but never enforced (Kafka's connection-rate and mutation quotas
//! are another chapter); a produce's size is its records' bytes, not the
//! whole request's; a fetch over quota is answered empty, as Kafka does, but
//! `fetch.max.bytes` is not capped to a window's worth of the quota.

pub mod manager;
pub mod rate;

use std::collections::BTreeMap;
use std::fmt;

pub use manager::ClientQuotaManager;
pub use rate::{QuotaWindow, Rate};

/// `producer_byte_rate`: bytes per second a producer may send.
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
/// `consumer_byte_rate`: bytes per second a consumer may fetch.
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
/// `request_percentage`: % of one request handler thread's time.
pub const REQUEST_PERCENTAGE: &str = "request_percentage";
/// `controller_mutation_rate` (KIP-599): stored, not enforced here.
pub const CONTROLLER_MUTATION_RATE: &str = "controller_mutation_rate";

/// The quota keys of user and client-id entities, and whether each is a
/// whole number (Kafka's LONG) or may be fractional (DOUBLE).
pub const QUOTA_KEYS: &[(&str, bool)] = &[
    (PRODUCER_BYTE_RATE, true),
    (CONSUMER_BYTE_RATE, true),
    (REQUEST_PERCENTAGE, false),
    (CONTROLLER_MUTATION_RATE, false),
];

/// Entity types as Kafka names them on the wire and in records.
pub const USER: &str = "user";
pub const CLIENT_ID: &str = "client-id";
pub const IP: &str = "ip";

/// What a user or client id is authenticated as on PLAINTEXT.
pub const ANONYMOUS: &str = "ANONYMOUS";

/// One part of an entity's name: a name, or `<default>` (null on the wire).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityName {
    Default,
    Name(String),
}

impl EntityName {
    pub fn from_wire(name: Option<&str>) -> Self {
        name.map_or(EntityName::Default, |n| EntityName::Name(n.to_string()))
    }

    pub fn to_wire(&self) -> Option<&str> {
        match self {
            EntityName::Default => None,
            EntityName::Name(n) => Some(n),
        }
    }
}

impl fmt::Display for EntityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_wire().unwrap_or("<default>"))
    }
}

/// A quota entity: at most one name per type, kept sorted by type so that
/// the same entity is the same key however a request ordered it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct QuotaEntity(pub BTreeMap<String, EntityName>);

impl QuotaEntity {
    /// `users/<user>/clients/<client>`, either part `None` to leave it out.
    pub fn of(user: Option<EntityName>, client_id: Option<EntityName>) -> Self {
        let mut parts = BTreeMap::new();
        if let Some(user) = user {
            parts.insert(USER.to_string(), user);
        }
        if let Some(client_id) = client_id {
            parts.insert(CLIENT_ID.to_string(), client_id);
        }
        QuotaEntity(parts)
    }

    pub fn get(&self, entity_type: &str) -> Option<&EntityName> {
        self.0.get(entity_type)
    }
}

impl fmt::Display for QuotaEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(t, n)| format!("{t}={n}")).collect();
        write!(f, "{}", parts.join(","))
    }
}

/// A quota's value (a float64 in records and on the wire), compared by its
/// bits so that records and images stay `Eq`.
#[derive(Debug, Clone, Copy)]
pub struct QuotaValue(pub f64);

impl PartialEq for QuotaValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for QuotaValue {}

/// Every entity's quotas: what the metadata image holds.
pub type ClientQuotas = BTreeMap<QuotaEntity, BTreeMap<String, QuotaValue>>;

// ANCHOR: resolve
/// The quota `key` that governs `user`'s client `client_id`, and the entity
/// whose rate it is measured on: Kafka's eight levels, most specific first
/// (`ClientQuotaManager`'s docs).
///
/// ```text
///  1 users/<user>/clients/<client-id>     5 users/<default>/clients/<default>
///  2 users/<user>/clients/<default>       6 users/<default>
///  3 users/<user>                         7 clients/<client-id>
///  4 users/<default>/clients/<client-id>  8 clients/<default>
/// ```
///
/// Clients that fall under a level's defaults are each measured on their
/// own (`users/u/clients/<default>` is a quota *per* client id of u), while
/// a level without a client part is shared by all the user's clients: the
/// metric entity keeps the request's names where the level named a part.
pub fn resolve(quotas: &ClientQuotas, key: &str, user: &str, client_id: &str) -> Option<(QuotaEntity, f64)> {
    use EntityName::{Default, Name};
    let (u, c) = (Name(user.to_string()), Name(client_id.to_string()));
    let levels = [
        (Some(u.clone()), Some(c.clone())),
        (Some(u.clone()), Some(Default)),
        (Some(u.clone()), None),
        (Some(Default), Some(c.clone())),
        (Some(Default), Some(Default)),
        (Some(Default), None),
        (None, Some(c.clone())),
        (None, Some(Default)),
    ];
    levels.into_iter().find_map(|(level_user, level_client)| {
        let entity = QuotaEntity::of(level_user.clone(), level_client.clone());
        let bound = quotas.get(&entity)?.get(key)?.0;
        let measured = QuotaEntity::of(level_user.map(|_| u.clone()), level_client.map(|_| c.clone()));
        Some((measured, bound))
    })
}
// ANCHOR_END: resolve

#[cfg(test)]
mod tests;
