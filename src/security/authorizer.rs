//! The authorizer: one pure function from a question (who, from where, doing
//! what, to which resource) and the cluster's ACLs to an answer. It follows
//! Kafka's `StandardAuthorizerData.authorize`:
//!
//! ```text
//!  principal in super.users ─────────────────────────────────▶ Allowed
//!  the ACLs whose pattern covers the resource:
//!     LITERAL of its name, LITERAL `*`, PREFIXED of a prefix of its name
//!   of those, the ones naming the principal (or User:*) and the host (or *):
//!     any DENY for the operation (or ALL) ────────────────────▶ Denied
//!     any ALLOW for the operation, ALL, or one implying it ───▶ Allowed
//!   none at all covered the resource ──▶ allow.everyone.if.no.acl.found
//!   some did, none allowed ───────────────────────────────────▶ Denied
//! ```
//!
//! Implication is for ALLOW only: READ, WRITE, DELETE and ALTER imply
//! DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS. A DENY of READ does not
//! deny DESCRIBE.

use super::acl::{Acl, AclSet, Operation, Permission, ResourcePattern};
use super::{Principal, WILDCARD, WILDCARD_PRINCIPAL};

/// The authorizer's settings, from the broker's config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// `super.users`: principals allowed everything, ACLs or not.
    pub super_users: Vec<String>,
    /// `allow.everyone.if.no.acl.found` (Kafka's default: false).
    pub allow_if_no_acl: bool,
}

impl AuthorizerConfig {
    /// Reads `super.users`: principals separated by semicolons (`User:a;User:b`).
    pub fn parse_super_users(value: &str) -> Vec<String> {
        value.split(';').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
    }
}

/// The authorizer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied,
}

/// Where the ACLs covering a resource left the question.
#[derive(Default)]
struct Found {
    deny: bool,
    allow: bool,
    resource_has_acls: bool,
}

// ANCHOR: authorize
/// May `principal`, connected from `host` (an IP address), do `operation` to
/// the one resource `resource` names (a LITERAL pattern)?
pub fn authorize(
    config: &AuthorizerConfig,
    principal: &Principal,
    host: &str,
    operation: Operation,
    resource: &ResourcePattern,
    acls: &AclSet,
) -> Decision {
    if config.super_users.contains(&principal.0) {
        return Decision::Allowed;
    }
    let mut found = Found::default();
    let covering = acls.iter().map(|(_, acl)| acl).filter(|acl| {
        acl.pattern.resource_type == resource.resource_type && acl.pattern.covers(&resource.name)
    });
    for acl in covering {
        found.resource_has_acls = true;
        match applies(acl, principal, host, operation) {
            Some(Permission::Deny) => found.deny = true,
            Some(Permission::Allow) => found.allow = true,
            None => {}
        }
    }
    match found {
        Found { deny: true, .. } => Decision::Denied,
        Found { allow: true, .. } => Decision::Allowed,
        Found { resource_has_acls: false, .. } if config.allow_if_no_acl => Decision::Allowed,
        _ => Decision::Denied,
    }
}
// ANCHOR_END: authorize

/// What one ACL covering the resource says about the question, if anything:
/// it must name the principal and the host, and an operation that is (or,
/// for an ALLOW, implies) the one asked.
fn applies(acl: &Acl, principal: &Principal, host: &str, operation: Operation) -> Option<Permission> {
    if acl.principal != principal.0 && acl.principal != WILDCARD_PRINCIPAL {
        return None;
    }
    if acl.host != WILDCARD && acl.host != host {
        return None;
    }
    let operation_matches = acl.operation == Operation::All
        || acl.operation == operation
        || (acl.permission == Permission::Allow && implies(acl.operation, operation));
    operation_matches.then_some(acl.permission)
}

/// Whether an ALLOW of `granted` also allows `asked`.
pub fn implies(granted: Operation, asked: Operation) -> bool {
    use Operation::*;
    match asked {
        Describe => matches!(granted, Read | Write | Delete | Alter),
        DescribeConfigs => granted == AlterConfigs,
        _ => false,
    }
}
