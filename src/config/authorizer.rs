//! The authorizer's keys (chapter 11): `authorizer.class.name`, `super.users`,
//! `allow.everyone.if.no.acl.found`, as a KRaft Kafka reads them.
//!
//! The one authorizer spool has is Kafka's KRaft one, named by its class
//! (`org.apache.kafka.metadata.authorizer.StandardAuthorizer`); any other
//! class refuses to start, because a broker told to enforce a policy it cannot
//! read must not serve unprotected. No authorizer (the key unset or empty)
//! means no checks at all, and the ACL APIs answer SECURITY_DISABLED.

use std::collections::BTreeMap;

use crate::security::AuthorizerConfig;

/// Kafka's KRaft authorizer: the only `authorizer.class.name` spool accepts.
pub const STANDARD_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// The keys this file reads.
pub const KEYS: &[&str] = &["authorizer.class.name", "super.users", "allow.everyone.if.no.acl.found"];

/// The authorizer the properties ask for, if any.
pub(super) fn parse(props: &BTreeMap<String, String>) -> Result<Option<AuthorizerConfig>, String> {
    let class = props.get("authorizer.class.name").map(|v| v.trim()).unwrap_or("");
    if class.is_empty() {
        return Ok(None);
    }
    if class != STANDARD_AUTHORIZER {
        return Err(format!(
            "authorizer.class.name={class}: spool's only authorizer is {STANDARD_AUTHORIZER} (chapter 11); \
             set that or remove the setting"
        ));
    }
    let super_users =
        AuthorizerConfig::parse_super_users(props.get("super.users").map_or("", String::as_str));
    let allow_if_no_acl = match props.get("allow.everyone.if.no.acl.found").map(|v| v.trim()) {
        None | Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => return Err(format!("allow.everyone.if.no.acl.found={v}: expected true or false")),
    };
    Ok(Some(AuthorizerConfig { super_users, allow_if_no_acl }))
}
