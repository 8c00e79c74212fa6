//! The controller link over real sockets: with several controllers it finds
//! the active one — past a controller that is down, past one that answers
//! `NOT_CONTROLLER` (KIP-631: only the active controller handles broker
//! requests), to a leader it is told of — and gives up only at its deadline.

use std::time::Duration;

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{
    BrokerHeartbeatRequest, BrokerHeartbeatResponse, BrokerId, CreateTopicsRequest, CreateTopicsResponse,
    RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::controller_link::{Candidate, ControllerLink};
use super::fake_controller::{dead_controller, FakeController};

const NOT_CONTROLLER: i16 = 41;

/// A controller that is not the active one: every request refused.
async fn standby() -> FakeController {
    FakeController::start(|request| match request {
        RequestKind::BrokerHeartbeat(_) => {
            ResponseKind::BrokerHeartbeat(BrokerHeartbeatResponse::default().with_error_code(NOT_CONTROLLER))
        }
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(created(r, NOT_CONTROLLER)),
        other => panic!("not in these tests: {other:?}"),
    })
    .await
}

/// The active controller: every request accepted.
async fn active() -> FakeController {
    FakeController::start(|request| match request {
        RequestKind::BrokerHeartbeat(_) => {
            ResponseKind::BrokerHeartbeat(BrokerHeartbeatResponse::default().with_is_fenced(false))
        }
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(created(r, 0)),
        other => panic!("not in these tests: {other:?}"),
    })
    .await
}

/// CreateTopics answered per topic, as Kafka's controller does.
fn created(request: &CreateTopicsRequest, code: i16) -> CreateTopicsResponse {
    let topics = (request.topics.iter())
        .map(|t| CreatableTopicResult::default().with_name(t.name.clone()).with_error_code(code))
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

fn link(addrs: &[std::net::SocketAddr]) -> ControllerLink {
    let candidates = (addrs.iter().enumerate())
        .map(|(i, a)| Candidate { node_id: Some(i as i32 + 1), addr: a.to_string() })
        .collect();
    ControllerLink::new(candidates, Duration::from_secs(30), 20)
}

fn heartbeat() -> BrokerHeartbeatRequest {
    BrokerHeartbeatRequest::default().with_broker_id(BrokerId(4)).with_broker_epoch(7)
}

fn create_topic() -> CreateTopicsRequest {
    let topic = kafka_protocol::messages::create_topics_request::CreatableTopic::default()
        .with_name(TopicName(StrBytes::from_static_str("t")))
        .with_num_partitions(1)
        .with_replication_factor(1);
    CreateTopicsRequest::default().with_topics(vec![topic])
}

/// Voter 1 is down and voter 2 answers NOT_CONTROLLER at the top level: a
/// heartbeat reaches voter 3, the active controller, and the link stays there.
#[tokio::test]
async fn a_heartbeat_passes_a_dead_and_a_standby_controller() {
    let (refusing, accepting) = (standby().await, active().await);
    let link = link(&[dead_controller().await, refusing.addr, accepting.addr]);
    let response = link.send(&heartbeat()).await.expect("the active controller answers");
    assert_eq!(response.error_code, 0);
    assert!(!response.is_fenced);
    assert_eq!(link.target().node_id, Some(3));
    assert_eq!((refusing.seen().len(), accepting.seen().len()), (1, 1));
    // The next request goes straight to the active controller.
    link.send(&heartbeat()).await.unwrap();
    assert_eq!((refusing.seen().len(), accepting.seen().len()), (1, 2));
}

/// CreateTopics refused per topic (how Kafka's controller says NOT_CONTROLLER
/// for it) is sent again to the next controller, which creates the topic.
#[tokio::test]
async fn create_topics_refused_per_topic_moves_to_the_next_controller() {
    let (refusing, accepting) = (standby().await, active().await);
    let link = link(&[refusing.addr, accepting.addr]);
    let response = link.send(&create_topic()).await.unwrap();
    assert_eq!(response.topics[0].error_code, 0);
    assert_eq!(accepting.seen().len(), 1);
}

/// A leader hint (the quorum named its leader) moves the target at once; a
/// hint naming no candidate is ignored.
#[tokio::test]
async fn a_leader_hint_moves_the_target() {
    let (refusing, accepting) = (standby().await, active().await);
    let link = link(&[refusing.addr, accepting.addr]);
    assert!(!link.set_leader_hint(9));
    assert_eq!(link.target().node_id, Some(1));
    assert!(link.set_leader_hint(2));
    link.send(&heartbeat()).await.unwrap();
    assert_eq!((refusing.seen().len(), accepting.seen().len()), (0, 1));
}

/// When no controller accepts before the deadline, the caller sees the
/// refusal (NOT_CONTROLLER), after the link tried each controller again.
#[tokio::test]
async fn with_no_active_controller_the_caller_sees_not_controller() {
    let (a, b) = (standby().await, standby().await);
    let link = link(&[a.addr, b.addr]);
    let response = link.send_within(&heartbeat(), Duration::from_millis(300)).await.unwrap();
    assert_eq!(response.error_code, ResponseError::NotController.code());
    assert!(a.seen().len() >= 2 && b.seen().len() >= 2, "{} {}", a.seen().len(), b.seen().len());
    // With every controller down, the error is the connection's.
    let down = link_to_dead().await;
    let error = down.send_within(&heartbeat(), Duration::from_millis(100)).await.unwrap_err();
    assert!(error.is_retriable(), "{error}");
}

async fn link_to_dead() -> ControllerLink {
    link(&[dead_controller().await, dead_controller().await])
}
