//! Chapter 11's enforcement on one broker, at the wire: with
//! `authorizer.class.name` set and no `super.users`, a PLAINTEXT client
//! (User:ANONYMOUS, as in Kafka) without ACLs is refused with Kafka's codes —
//! produce and fetch TOPIC_AUTHORIZATION_FAILED (29), Metadata omits the
//! topic (or answers 29 when it is named), CreateTopics 29, JoinGroup
//! GROUP_AUTHORIZATION_FAILED (30), CreateAcls CLUSTER_AUTHORIZATION_FAILED
//! (31) — and once ACLs allow it, the same requests work.
//!
//! Every connection is ANONYMOUS, so the ACLs are added while ANONYMOUS is a
//! super user, and the broker restarted without one (the ACLs are metadata
//! records and survive).
//!
//! ```text
//! cargo test --test it acl_enforcement::
//! ```

use crate::common::acl;
use crate::wire::harness;
use crate::wire::requests;

use acl::{allow_anonymous, enforcing, s, with_super_user};
use bytes::Bytes;
use harness::{code, start, start_in, Client, PRODUCE_V};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::{CreateAclsRequest, GroupId, JoinGroupRequest};
use kafka_protocol::ResponseError;
use requests::{batch, creatable, create_topic, create_topics, fetch, metadata, produce_request};

async fn produce_code(client: &mut Client, topic: &str) -> i16 {
    let response = client.request(PRODUCE_V, &produce_request(topic, 0, batch(1, &["v"]), 1)).await;
    response.responses[0].partition_responses[0].error_code
}

async fn join_code(client: &mut Client, group: &str) -> i16 {
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::new())]);
    client.request(4, &join).await.error_code
}

/// ANONYMOUS is refused everything until ACLs allow it; then topic `allowed`
/// and group `g` work while topic `secret` stays refused.
#[tokio::test]
async fn anonymous_is_refused_until_acls_allow_it() {
    let denied_topic = code(ResponseError::TopicAuthorizationFailed);
    // Phase 1: no ACLs, no super user: nothing is allowed.
    let broker = start(enforcing).await;
    let mut client = broker.client().await;
    let created = create_topics(&mut client, vec![creatable("allowed", 1, -1, &[])], false).await;
    assert_eq!(created[0].error_code, denied_topic);
    let acl = CreateAclsRequest::default().with_creations(vec![allow_anonymous(2, "allowed", 3)]);
    assert_eq!(
        client.request(3, &acl).await.results[0].error_code,
        code(ResponseError::ClusterAuthorizationFailed)
    );
    assert_eq!(join_code(&mut client, "g").await, code(ResponseError::GroupAuthorizationFailed));
    let dir = broker.stop().await;

    // Phase 2: as a super user, two topics and ACLs for one of them and the group.
    let broker = start_in(dir, with_super_user).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "allowed", 1, &[]).await;
    create_topic(&mut client, "secret", 1, &[]).await;
    let acls = CreateAclsRequest::default().with_creations(vec![
        allow_anonymous(2, "allowed", 4), // Write
        allow_anonymous(2, "allowed", 3), // Read
        allow_anonymous(3, "g", 3),       // Read the group
    ]);
    assert!(client.request(3, &acls).await.results.iter().all(|r| r.error_code == 0));
    let dir = broker.stop().await;

    // Phase 3: enforcing again, with those ACLs.
    let broker = start_in(dir, enforcing).await;
    let mut client = broker.client().await;
    assert_eq!(produce_code(&mut client, "allowed").await, 0);
    assert_eq!(produce_code(&mut client, "secret").await, denied_topic);
    assert_eq!(fetch(&mut client, "allowed", 0, 0).await.error_code, 0);
    assert_eq!(fetch(&mut client, "secret", 0, 0).await.error_code, denied_topic);
    let all: Vec<String> = metadata(&mut client, None, false)
        .await
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    assert_eq!(all, vec!["allowed"], "secret is omitted from an all-topics Metadata");
    let named = metadata(&mut client, Some(&["secret"]), false).await;
    assert_eq!(named[0].error_code, denied_topic);
    assert_ne!(join_code(&mut client, "g").await, code(ResponseError::GroupAuthorizationFailed));
    assert_eq!(join_code(&mut client, "other").await, code(ResponseError::GroupAuthorizationFailed));
    let created = create_topics(&mut client, vec![creatable("new", 1, -1, &[])], false).await;
    assert_eq!(created[0].error_code, denied_topic);
    broker.stop().await;
}

/// CreateTopics is per topic: with Create on topic `mine` only, a request for
/// `mine` and `theirs` creates the first and answers 29 for the second.
#[tokio::test]
async fn create_topics_is_refused_per_topic() {
    let broker = start(with_super_user).await;
    let mut client = broker.client().await;
    let acls = CreateAclsRequest::default().with_creations(vec![allow_anonymous(2, "mine", 5)]); // Create
    assert!(client.request(3, &acls).await.results.iter().all(|r| r.error_code == 0));
    let dir = broker.stop().await;
    let broker = start_in(dir, enforcing).await;
    let mut client = broker.client().await;
    let topics = vec![creatable("mine", 1, -1, &[]), creatable("theirs", 1, -1, &[])];
    let mut created: Vec<(String, i16)> = create_topics(&mut client, topics, false)
        .await
        .iter()
        .map(|t| (t.name.to_string(), t.error_code))
        .collect();
    created.sort();
    let denied = code(ResponseError::TopicAuthorizationFailed);
    assert_eq!(created, vec![("mine".to_string(), 0), ("theirs".to_string(), denied)]);
    broker.stop().await;
}
