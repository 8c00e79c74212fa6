//! Chapter 11's ACL APIs on one broker, at the wire: CreateAcls (30),
//! DescribeAcls (29) and DeleteAcls (31) with Kafka's validation and filter
//! semantics, ACLs surviving a restart (they are metadata records), and
//! SECURITY_DISABLED (54) without an authorizer, as Kafka answers.
//!
//! ```text
//! cargo test --test it acl::
//! ```

use crate::wire::harness;

use harness::{code, start, start_in};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::config::BrokerConfig;
use spool::security::AuthorizerConfig;

const V: i16 = 3;
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const TOPIC: i8 = 2;
const CLUSTER: i8 = 4;
const READ: i8 = 3;
const WRITE: i8 = 4;
const ALLOW: i8 = 3;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The authorizer on, with the test's own connections as super user (they
/// are User:ANONYMOUS, as every PLAINTEXT client) so they may manage ACLs.
fn authorizer_on(config: &mut BrokerConfig) {
    config.authorizer =
        Some(AuthorizerConfig { super_users: vec!["User:ANONYMOUS".into()], allow_if_no_acl: false });
}

fn creation(resource_type: i8, name: &str, pattern: i8, principal: &str, operation: i8) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(s(name))
        .with_resource_pattern_type(pattern)
        .with_principal(s(principal))
        .with_host(s("*"))
        .with_operation(operation)
        .with_permission_type(ALLOW)
}

fn describe_all() -> DescribeAclsRequest {
    // The crate's defaults are empty strings; a filter that names nothing is null.
    DescribeAclsRequest::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(ANY)
        .with_pattern_type_filter(ANY)
        .with_operation(ANY)
        .with_permission_type(ANY)
}

fn any_filter() -> DeleteAclsFilter {
    DeleteAclsFilter::default()
        .with_resource_type_filter(ANY)
        .with_resource_name_filter(None)
        .with_pattern_type_filter(ANY)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(ANY)
        .with_permission_type(ANY)
}

/// Without `authorizer.class.name`, every ACL API answers SECURITY_DISABLED.
#[tokio::test]
async fn without_an_authorizer_acls_are_security_disabled() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let create =
        CreateAclsRequest::default().with_creations(vec![creation(TOPIC, "t", LITERAL, "User:a", READ)]);
    let created = client.request(V, &create).await;
    assert_eq!(created.results[0].error_code, code(ResponseError::SecurityDisabled));
    let described = client.request(V, &describe_all()).await;
    assert_eq!(described.error_code, code(ResponseError::SecurityDisabled));
    let filter = any_filter();
    let deleted = client.request(V, &DeleteAclsRequest::default().with_filters(vec![filter])).await;
    assert_eq!(deleted.filter_results[0].error_code, code(ResponseError::SecurityDisabled));
    broker.stop().await;
}

/// Each bad creation is refused INVALID_REQUEST on its own, the good ones
/// beside it created (Kafka's AclControlManager.validateNewAcl and AclApis).
#[tokio::test]
async fn bad_creations_are_invalid_requests() {
    let broker = start(authorizer_on).await;
    let mut client = broker.client().await;
    let creations = vec![
        creation(TOPIC, "t", LITERAL, "User:a", READ),
        creation(0, "t", LITERAL, "User:a", READ), // UNKNOWN resource type
        creation(TOPIC, "t", MATCH, "User:a", READ), // a filter's pattern type
        creation(TOPIC, "t", LITERAL, "User:a", ANY), // a filter's operation
        creation(TOPIC, "", LITERAL, "User:a", READ), // empty name
        creation(CLUSTER, "other", LITERAL, "User:a", READ), // the cluster is kafka-cluster
        creation(TOPIC, "t", LITERAL, "alice", READ), // not Type:name
    ];
    let created = client.request(V, &CreateAclsRequest::default().with_creations(creations)).await;
    let codes: Vec<i16> = created.results.iter().map(|r| r.error_code).collect();
    let invalid = code(ResponseError::InvalidRequest);
    assert_eq!(codes, vec![0, invalid, invalid, invalid, invalid, invalid, invalid]);
    let described = client.request(V, &describe_all()).await;
    assert_eq!(described.resources.len(), 1);
    broker.stop().await;
}

/// Create, describe with MATCH, delete with a filter that answers what it
/// removed; what is left survives a restart, replayed from the metadata log.
#[tokio::test]
async fn create_describe_delete_and_restart() {
    let broker = start(authorizer_on).await;
    let mut client = broker.client().await;
    let creations = vec![
        creation(TOPIC, "orders", LITERAL, "User:a", READ),
        creation(TOPIC, "ord", PREFIXED, "User:b", WRITE),
        creation(TOPIC, "other", LITERAL, "User:a", READ),
    ];
    let created = client.request(V, &CreateAclsRequest::default().with_creations(creations)).await;
    assert!(created.results.iter().all(|r| r.error_code == 0), "{created:?}");

    // MATCH for topic `orders`: its LITERAL and the PREFIXED `ord`, not `other`.
    let matching = describe_all()
        .with_resource_type_filter(TOPIC)
        .with_resource_name_filter(Some(s("orders")))
        .with_pattern_type_filter(MATCH);
    let described = client.request(V, &matching).await;
    let mut names: Vec<(String, i8)> =
        described.resources.iter().map(|r| (r.resource_name.to_string(), r.pattern_type)).collect();
    names.sort();
    assert_eq!(names, vec![("ord".to_string(), PREFIXED), ("orders".to_string(), LITERAL)]);

    let filter = any_filter().with_resource_type_filter(TOPIC).with_principal_filter(Some(s("User:a")));
    let deleted = client.request(V, &DeleteAclsRequest::default().with_filters(vec![filter])).await;
    let mut removed: Vec<String> =
        deleted.filter_results[0].matching_acls.iter().map(|m| m.resource_name.to_string()).collect();
    removed.sort();
    assert_eq!(removed, vec!["orders", "other"]);

    let dir = broker.stop().await;
    let broker = start_in(dir, authorizer_on).await;
    let mut client = broker.client().await;
    let described = client.request(V, &describe_all()).await;
    assert_eq!(described.error_code, 0);
    let left: Vec<(String, String)> = described
        .resources
        .iter()
        .flat_map(|r| r.acls.iter().map(move |a| (r.resource_name.to_string(), a.principal.to_string())))
        .collect();
    assert_eq!(left, vec![("ord".to_string(), "User:b".to_string())]);
    broker.stop().await;
}
