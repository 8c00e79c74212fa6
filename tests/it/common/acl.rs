//! The ACL tests' broker settings and ACL: an enforcing authorizer (no super
//! user), the same with `User:ANONYMOUS` as super user (to add ACLs from a
//! PLAINTEXT connection), and an ALLOW entry for ANONYMOUS on one literal
//! resource. Used as `crate::common::acl`.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::protocol::StrBytes;
use spool::config::BrokerConfig;
use spool::security::AuthorizerConfig;

/// A `StrBytes` from text.
pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// StandardAuthorizer on, `super.users=User:ANONYMOUS`.
pub fn with_super_user(config: &mut BrokerConfig) {
    config.authorizer =
        Some(AuthorizerConfig { super_users: vec!["User:ANONYMOUS".into()], allow_if_no_acl: false });
}

/// StandardAuthorizer on, no super user: deny unless an ACL allows.
pub fn enforcing(config: &mut BrokerConfig) {
    config.authorizer = Some(AuthorizerConfig::default());
}

/// ALLOW `User:ANONYMOUS` from any host `operation` on the LITERAL (3)
/// resource `name` of `resource_type` (Kafka's byte codes).
pub fn allow_anonymous(resource_type: i8, name: &str, operation: i8) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(s(name))
        .with_resource_pattern_type(3)
        .with_principal(s("User:ANONYMOUS"))
        .with_host(s("*"))
        .with_operation(operation)
        .with_permission_type(3)
}
