//! Access control entries and the filters that find them, with Kafka's byte
//! codes (`AclOperation`, `ResourceType`, `PatternType`, `AclPermissionType`),
//! which the wire (CreateAcls, DescribeAcls, DeleteAcls) and the metadata log
//! (AccessControlEntryRecord) both carry.
//!
//! An ACL says: *principal* from *host* is *permission*ed to do *operation*
//! on the resources *pattern* matches. A LITERAL pattern names one resource,
//! or every one of its type when the name is `*`; a PREFIXED pattern every
//! resource whose name starts with it.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::WILDCARD;

/// Declares a Kafka enum: its variants, their byte codes, and the filter-only
/// values (`ANY`, `MATCH`) that a stored ACL never holds.
macro_rules! kafka_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:expr, $kafka:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant = $code,)+ }

        impl $name {
            /// Every value, in code order.
            pub const ALL_VALUES: &'static [$name] = &[$($name::$variant,)+];

            /// The value of a Kafka byte code, if it is one a stored ACL may hold.
            pub fn from_code(code: i8) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            pub fn code(self) -> i8 { self as i8 }

            /// Kafka's name for it, as `kafka-acls.sh` prints it (`TOPIC`, `READ`).
            pub fn kafka_name(self) -> &'static str {
                match self { $($name::$variant => $kafka,)+ }
            }

            /// The value named (case-insensitive, `_` optional: `Read`, `DESCRIBE_CONFIGS`, `DescribeConfigs`).
            pub fn parse(name: &str) -> Option<Self> {
                let wanted = name.replace('_', "").to_ascii_lowercase();
                Self::ALL_VALUES.iter().copied().find(|v| v.kafka_name().replace('_', "").to_ascii_lowercase() == wanted)
            }
        }
    };
}

/// Kafka's `ANY` code in every one of these enums: a filter's "whatever it is".
pub const CODE_ANY: i8 = 1;
/// `PatternType.MATCH`: a filter's "every pattern that matches this name".
pub const CODE_MATCH: i8 = 2;

kafka_enum! {
    /// What an ACL protects (Kafka's `ResourceType`; DelegationToken and User are not kept).
    ResourceType {
        Topic = 2, "TOPIC";
        Group = 3, "GROUP";
        Cluster = 4, "CLUSTER";
        TransactionalId = 5, "TRANSACTIONAL_ID";
    }
}

kafka_enum! {
    /// How an ACL's resource name matches (Kafka's `PatternType`).
    PatternType {
        Literal = 3, "LITERAL";
        Prefixed = 4, "PREFIXED";
    }
}

kafka_enum! {
    /// What a principal does to a resource (Kafka's `AclOperation`).
    Operation {
        /// Every operation, in an ACL; never asked for.
        All = 2, "ALL";
        Read = 3, "READ";
        Write = 4, "WRITE";
        Create = 5, "CREATE";
        Delete = 6, "DELETE";
        Alter = 7, "ALTER";
        Describe = 8, "DESCRIBE";
        ClusterAction = 9, "CLUSTER_ACTION";
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        AlterConfigs = 11, "ALTER_CONFIGS";
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        CreateTokens = 13, "CREATE_TOKENS";
        DescribeTokens = 14, "DESCRIBE_TOKENS";
    }
}

kafka_enum! {
    /// Whether an ACL lets in or keeps out (Kafka's `AclPermissionType`).
    Permission {
        Deny = 2, "DENY";
        Allow = 3, "ALLOW";
    }
}

/// A resource, or a pattern of them: what an ACL is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourcePattern {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern_type: PatternType,
}

impl ResourcePattern {
    pub fn new(resource_type: ResourceType, name: impl Into<String>, pattern_type: PatternType) -> Self {
        ResourcePattern { resource_type, name: name.into(), pattern_type }
    }

    /// One named resource (what a request asks about).
    pub fn literal(resource_type: ResourceType, name: impl Into<String>) -> Self {
        Self::new(resource_type, name, PatternType::Literal)
    }

    /// The cluster: the one resource of its type, always named `kafka-cluster`.
    pub fn cluster() -> Self {
        Self::literal(ResourceType::Cluster, "kafka-cluster")
    }

    /// Whether this pattern covers the resource `name` of its type.
    pub fn covers(&self, name: &str) -> bool {
        match self.pattern_type {
            PatternType::Literal => self.name == name || self.name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&self.name),
        }
    }
}

/// One access control entry (Kafka's `StandardAcl`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Acl {
    pub pattern: ResourcePattern,
    /// `User:alice`, or `User:*` for everyone.
    pub principal: String,
    /// An IP address, or `*` for any.
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

/// Every ACL of the cluster, by the id its AccessControlEntryRecord gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclSet {
    pub acls: BTreeMap<Uuid, Acl>,
}

impl AclSet {
    /// A set of these ACLs, each under a fresh id (for tests and examples).
    pub fn of(acls: impl IntoIterator<Item = Acl>) -> Self {
        let acls = acls.into_iter().enumerate().map(|(i, acl)| (Uuid::from_u128(i as u128 + 1), acl));
        AclSet { acls: acls.collect() }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Uuid, &Acl)> {
        self.acls.iter()
    }

    /// The id an identical ACL is kept under, if one is.
    pub fn find(&self, acl: &Acl) -> Option<Uuid> {
        self.acls.iter().find(|(_, a)| *a == acl).map(|(id, _)| *id)
    }

    pub fn len(&self) -> usize {
        self.acls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.acls.is_empty()
    }
}

/// A DescribeAcls or DeleteAcls filter: each field `None` for Kafka's ANY
/// (or a null string), and a pattern type that may be MATCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: Option<ResourceType>,
    pub name: Option<String>,
    pub pattern_type: PatternFilter,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Option<Operation>,
    pub permission: Option<Permission>,
}

/// A filter's pattern type (Kafka's `PatternType` with ANY and MATCH).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternFilter {
    /// Any pattern type, the name compared exactly.
    Any,
    /// Every pattern that covers the filter's name: the LITERAL of that name,
    /// the LITERAL `*`, and every PREFIXED pattern the name starts with.
    Match,
    Exactly(PatternType),
}

impl AclFilter {
    /// Whether the filter finds this ACL (Kafka's `AclBindingFilter.matches`).
    pub fn matches(&self, acl: &Acl) -> bool {
        let p = &acl.pattern;
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        if self.resource_type.is_some_and(|t| t != p.resource_type) {
            return false;
        }
        let pattern_ok = match self.pattern_type {
            PatternFilter::Any => same(&self.name, &p.name),
            PatternFilter::Exactly(t) => t == p.pattern_type && same(&self.name, &p.name),
            PatternFilter::Match => match &self.name {
                None => true,
                Some(name) => match p.pattern_type {
                    PatternType::Literal => p.name == *name || p.name == WILDCARD,
                    PatternType::Prefixed => name.starts_with(&p.name),
                },
            },
        };
        pattern_ok
            && same(&self.principal, &acl.principal)
            && same(&self.host, &acl.host)
            && self.operation.is_none_or(|o| o == acl.operation)
            && self.permission.is_none_or(|o| o == acl.permission)
    }
}
