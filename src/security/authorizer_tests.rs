//! The authorizer against Kafka's documented rules: named examples, and a
//! property test comparing [`authorize`] with a reference that reads the rules
//! of Kafka's authorization docs (and `StandardAuthorizerData`'s comments)
//! literally, one sentence at a time, over small universes of principals,
//! hosts, names and ACLs.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::acl::{Acl, AclSet, Operation, PatternType, Permission, ResourcePattern, ResourceType};
use super::authorizer::{authorize, AuthorizerConfig, Decision};
use super::Principal;

const HOST: &str = "10.0.0.1";

fn acl(
    t: ResourceType,
    name: &str,
    p: PatternType,
    who: &str,
    host: &str,
    op: Operation,
    perm: Permission,
) -> Acl {
    Acl {
        pattern: ResourcePattern::new(t, name, p),
        principal: who.to_string(),
        host: host.to_string(),
        operation: op,
        permission: perm,
    }
}

fn allow(t: ResourceType, name: &str, p: PatternType, who: &str, op: Operation) -> Acl {
    acl(t, name, p, who, "*", op, Permission::Allow)
}

fn ask(
    config: &AuthorizerConfig,
    acls: &[Acl],
    who: &str,
    op: Operation,
    t: ResourceType,
    name: &str,
) -> Decision {
    let principal = Principal(who.to_string());
    authorize(config, &principal, HOST, op, &ResourcePattern::literal(t, name), &AclSet::of(acls.to_vec()))
}

use Decision::*;
use Operation::*;
use PatternType::*;
use ResourceType::*;

/// Kafka's default (`allow.everyone.if.no.acl.found=false`): with no ACL at
/// all, nobody but a super user may do anything.
#[test]
fn no_acls_denies_everyone_but_super_users() {
    let config = AuthorizerConfig { super_users: vec!["User:admin".into()], allow_if_no_acl: false };
    assert_eq!(ask(&config, &[], "User:ANONYMOUS", Read, Topic, "t"), Denied);
    assert_eq!(ask(&config, &[], "User:admin", Read, Topic, "t"), Allowed);
    let open = AuthorizerConfig { allow_if_no_acl: true, ..config };
    assert_eq!(ask(&open, &[], "User:ANONYMOUS", Read, Topic, "t"), Allowed);
}

/// `allow.everyone.if.no.acl.found` applies only to a resource no ACL covers:
/// an ACL for someone else on it is enough to keep everyone else out.
#[test]
fn allow_if_no_acl_found_is_per_resource() {
    let config = AuthorizerConfig { super_users: vec![], allow_if_no_acl: true };
    let acls = [allow(Topic, "t", Literal, "User:alice", Read)];
    assert_eq!(ask(&config, &acls, "User:bob", Read, Topic, "t"), Denied);
    assert_eq!(ask(&config, &acls, "User:bob", Read, Topic, "other"), Allowed);
}

/// Deny wins: an ALLOW for everyone and a DENY for one principal leave that
/// principal out, even when the DENY comes from a wildcard or prefix pattern.
#[test]
fn deny_wins_over_allow() {
    let config = AuthorizerConfig::default();
    let acls = [
        allow(Topic, "*", Literal, "User:*", All),
        acl(Topic, "pay", Prefixed, "User:bob", "*", Write, Permission::Deny),
    ];
    assert_eq!(ask(&config, &acls, "User:bob", Write, Topic, "payments"), Denied);
    assert_eq!(ask(&config, &acls, "User:bob", Read, Topic, "payments"), Allowed);
    assert_eq!(ask(&config, &acls, "User:alice", Write, Topic, "payments"), Allowed);
}

/// READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies
/// DESCRIBE_CONFIGS — for ALLOW only: a DENY of READ does not deny DESCRIBE.
#[test]
fn implications_are_for_allow_only() {
    let config = AuthorizerConfig::default();
    for granted in [Read, Write, Delete, Alter] {
        let acls = [allow(Topic, "t", Literal, "User:a", granted)];
        assert_eq!(ask(&config, &acls, "User:a", Describe, Topic, "t"), Allowed, "{granted:?}");
        assert_eq!(ask(&config, &acls, "User:a", DescribeConfigs, Topic, "t"), Denied, "{granted:?}");
    }
    let acls = [allow(Topic, "t", Literal, "User:a", AlterConfigs)];
    assert_eq!(ask(&config, &acls, "User:a", DescribeConfigs, Topic, "t"), Allowed);
    let acls = [
        allow(Topic, "t", Literal, "User:a", Describe),
        acl(Topic, "t", Literal, "User:a", "*", Read, Permission::Deny),
    ];
    assert_eq!(ask(&config, &acls, "User:a", Describe, Topic, "t"), Allowed);
    assert_eq!(ask(&config, &acls, "User:a", Read, Topic, "t"), Denied);
}

/// A PREFIXED pattern covers names that start with it, a LITERAL only its own
/// name (or all, when it is `*`); and the resource type must agree.
#[test]
fn patterns_and_resource_types() {
    let config = AuthorizerConfig::default();
    let acls = [allow(Topic, "orders", Prefixed, "User:a", Read), allow(Group, "g", Literal, "User:a", Read)];
    assert_eq!(ask(&config, &acls, "User:a", Read, Topic, "orders-eu"), Allowed);
    assert_eq!(ask(&config, &acls, "User:a", Read, Topic, "order"), Denied);
    assert_eq!(ask(&config, &acls, "User:a", Read, Group, "g"), Allowed);
    assert_eq!(ask(&config, &acls, "User:a", Read, Group, "g2"), Denied);
    assert_eq!(ask(&config, &acls, "User:a", Read, TransactionalId, "g"), Denied);
}

/// The host filter: `*` or the client's exact IP address.
#[test]
fn host_must_match() {
    let config = AuthorizerConfig::default();
    let acls = [acl(Cluster, "kafka-cluster", Literal, "User:a", "10.9.9.9", Alter, Permission::Allow)];
    assert_eq!(ask(&config, &acls, "User:a", Alter, Cluster, "kafka-cluster"), Denied);
    let acls = [acl(Cluster, "kafka-cluster", Literal, "User:a", HOST, Alter, Permission::Allow)];
    assert_eq!(ask(&config, &acls, "User:a", Alter, Cluster, "kafka-cluster"), Allowed);
}

/// `super.users` is a semicolon-separated list of principals.
#[test]
fn super_users_parse() {
    assert_eq!(AuthorizerConfig::parse_super_users("User:a; User:b;"), vec!["User:a", "User:b"]);
}

// ---- the reference: Kafka's documented rules, read literally ----

/// The operations an ACL speaks about: ALL is every one; an ALLOW of an
/// operation also speaks for the ones it implies.
fn operations_of(acl: &Acl) -> BTreeSet<Operation> {
    if acl.operation == All {
        return Operation::ALL_VALUES.iter().copied().collect();
    }
    let mut ops = BTreeSet::from([acl.operation]);
    if acl.permission == Permission::Allow {
        if [Read, Write, Delete, Alter].contains(&acl.operation) {
            ops.insert(Describe);
        }
        if acl.operation == AlterConfigs {
            ops.insert(DescribeConfigs);
        }
    }
    ops
}

fn reference(
    config: &AuthorizerConfig,
    who: &str,
    host: &str,
    op: Operation,
    t: ResourceType,
    name: &str,
    acls: &[Acl],
) -> Decision {
    if config.super_users.contains(&who.to_string()) {
        return Allowed;
    }
    let on_resource: Vec<&Acl> = acls
        .iter()
        .filter(|a| a.pattern.resource_type == t)
        .filter(|a| match a.pattern.pattern_type {
            Literal => a.pattern.name == name || a.pattern.name == "*",
            Prefixed => name.len() >= a.pattern.name.len() && name[..a.pattern.name.len()] == a.pattern.name,
        })
        .collect();
    if on_resource.is_empty() {
        return if config.allow_if_no_acl { Allowed } else { Denied };
    }
    let mine: Vec<&&Acl> = on_resource
        .iter()
        .filter(|a| a.principal == who || a.principal == "User:*")
        .filter(|a| a.host == host || a.host == "*")
        .filter(|a| operations_of(a).contains(&op))
        .collect();
    if mine.iter().any(|a| a.permission == Permission::Deny) {
        Denied
    } else if mine.iter().any(|a| a.permission == Permission::Allow) {
        Allowed
    } else {
        Denied
    }
}

fn pick<T: Clone + std::fmt::Debug + 'static>(values: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(values)
}

// Small universes, so that a few ACLs often meet on one question: every rule
// is exercised in a few thousand cases (each rule's mutation was seen to fail).
const WHO: &[&str] = &["User:a", "User:b", "User:*"];
const HOSTS: &[&str] = &["*", "10.0.0.1", "10.0.0.2"];
const NAMES: &[&str] = &["*", "a", "ab", ""];
const TYPES: &[ResourceType] = &[Topic, Group];
const OPERATIONS: &[Operation] = &[All, Read, Write, Describe, Delete, Alter, AlterConfigs, DescribeConfigs];

fn any_acl() -> impl Strategy<Value = Acl> {
    (
        pick(TYPES),
        pick(NAMES),
        pick(PatternType::ALL_VALUES),
        pick(WHO),
        pick(HOSTS),
        pick(OPERATIONS),
        pick(Permission::ALL_VALUES),
    )
        .prop_map(|(t, name, p, who, host, op, perm)| acl(t, name, p, who, host, op, perm))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]
    /// For every question over the small universe, the authorizer and the
    /// literal reading of Kafka's rules agree.
    #[test]
    fn authorize_agrees_with_the_documented_rules(
        acls in proptest::collection::vec(any_acl(), 0..8),
        who in pick(&["User:a", "User:b"]),
        host in pick(&["10.0.0.1", "10.0.0.2"]),
        op in pick(&OPERATIONS[1..]),
        t in pick(TYPES),
        name in pick(&["a", "ab"]),
        super_a in any::<bool>(),
        allow_if_no_acl in any::<bool>(),
    ) {
        let super_users = if super_a { vec!["User:a".to_string()] } else { vec![] };
        let config = AuthorizerConfig { super_users, allow_if_no_acl };
        let principal = Principal(who.to_string());
        let set = AclSet::of(acls.clone());
        let got = authorize(&config, &principal, host, op, &ResourcePattern::literal(t, name), &set);
        prop_assert_eq!(got, reference(&config, who, host, op, t, name, &acls));
    }
}
