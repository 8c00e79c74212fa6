//! Chapter 11 — security: who is on the other end of a connection.
//!
//! Kafka authenticates a connection by the security protocol of the listener
//! it came in on (`listener.security.protocol.map`): PLAINTEXT trusts the
//! network and calls everyone `User:ANONYMOUS`; SSL encrypts, and with
//! `ssl.client.auth=required` names the client by its certificate's subject
//! (`User:CN=alice,OU=eng`); SASL_* add a login on top. The principal rides
//! on every request, for the authorizer to judge.
//!
//! [`sasl`] is the login: SaslHandshake/SaslAuthenticate on a SASL_PLAINTEXT or
//! SASL_SSL listener, PLAIN and SCRAM, naming the principal `User:<name>`.
//! [`tls`] is the TLS half: Kafka's `ssl.*` keys read into rustls
//! configurations for a listener and for spool's own client, and the
//! principal of a client certificate. It imports nothing of spool's: the wire
//! server, the configuration and the client all use it.
//!
//! ## Authorization (issue 19 item 2)
//!
//! Who may do what to which resource, decided by ACLs kept in the metadata log.
//!
//! Kafka's KRaft authorizer (`StandardAuthorizer`, KIP-801) keeps every access
//! control entry in the metadata log as an `AccessControlEntryRecord`, so every
//! broker holds the same ACLs and decides alone, without asking anyone:
//!
//! ```text
//!  CreateAcls / DeleteAcls ─▶ active controller ─▶ AccessControlEntryRecord (23)
//!                                                  RemoveAccessControlEntryRecord (24)
//!                                     │ replicated like every metadata record
//!                                     ▼
//!  every broker's MetadataImage.acls (an AclSet) ─▶ authorize(principal, host,
//!                                                     operation, resource, &acls)
//!                                                   ─▶ Allowed | Denied
//! ```
//!
//! [`authorizer::authorize`] is a pure function: no clock, no socket, no lock.
//! The request path (`broker::authz`) asks it about each resource a
//! request touches and answers TOPIC_AUTHORIZATION_FAILED (29),
//! GROUP_AUTHORIZATION_FAILED (30), CLUSTER_AUTHORIZATION_FAILED (31) or
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53).
//!
//! Who is asking: a connection's [`Principal`], set by the listener's
//! authentication above (`User:ANONYMOUS` on PLAINTEXT, as in Kafka).
//!
//! Simplifications: no DelegationToken or User resources; no
//! `authorizeByResourceType` (Kafka lets an idempotent producer without
//! IdempotentWrite on the cluster in if it may Write some topic — spool asks
//! for IdempotentWrite on the cluster, or Write on it); principals are
//! compared as `Type:name` strings, with no custom principal builder.

pub mod acl;
pub mod authorizer;
#[cfg(test)]
mod authorizer_tests;
pub mod sasl;
pub mod tls;

pub use acl::{Acl, AclSet, Operation, PatternType, Permission, ResourcePattern, ResourceType};
pub use authorizer::{authorize, AuthorizerConfig, Decision};

/// How a client secures each connection it opens, Kafka's
/// `security.protocol` in parts: TLS when `tls` is set (SSL, SASL_SSL), a
/// SASL login after ApiVersions when `sasl` is (SASL_PLAINTEXT, SASL_SSL);
/// the default is PLAINTEXT. spool's client, its tools and a node dialling
/// another node (over `inter.broker.listener.name` or the controller
/// listener) all take one.
#[derive(Debug, Clone, Default)]
pub struct ClientSecurity {
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub sasl: Option<std::sync::Arc<sasl::login::SaslLogin>>,
}

impl ClientSecurity {
    /// Kafka's name for this combination: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub fn protocol(&self) -> &'static str {
        match (self.tls.is_some(), self.sasl.is_some()) {
            (false, false) => "PLAINTEXT",
            (true, false) => "SSL",
            (false, true) => "SASL_PLAINTEXT",
            (true, true) => "SASL_SSL",
        }
    }
}

impl From<Option<std::sync::Arc<rustls::ClientConfig>>> for ClientSecurity {
    /// TLS alone: SSL (or PLAINTEXT, given `None`).
    fn from(tls: Option<std::sync::Arc<rustls::ClientConfig>>) -> Self {
        ClientSecurity { tls, sasl: None }
    }
}

/// Who a connection is, as Kafka writes a `KafkaPrincipal`: `User:alice`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal(pub String);

impl Principal {
    /// Every client of a PLAINTEXT listener (Kafka's `KafkaPrincipal.ANONYMOUS`).
    pub fn anonymous() -> Self {
        Principal(ANONYMOUS.to_string())
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The principal an ACL names to match everyone (`User:*`).
pub const WILDCARD_PRINCIPAL: &str = "User:*";
/// An ACL's host or resource name that matches any (`*`).
pub const WILDCARD: &str = "*";

/// The principal of a connection that did not authenticate (PLAINTEXT, or
/// SSL without a client certificate), as Kafka names it.
pub const ANONYMOUS: &str = "User:ANONYMOUS";
