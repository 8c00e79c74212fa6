//! The heartbeat task: proof that the process is alive, sent on a
//! connection of its own every `heartbeat.interval.ms`, and the
//! `max.poll.interval.ms` watchdog that takes a stalled member out of the
//! group (KIP-62).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::{ApiKey, HeartbeatRequest, LeaveGroupRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::watch;

use crate::client::connection::Connection;
use crate::client::group::group_id;

/// Why the heartbeat task stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HeartbeatStop {
    /// The coordinator answered an error (REBALANCE_IN_PROGRESS, …).
    Error(ResponseError),
    /// No `poll` within `max.poll.interval.ms`: the task sent LeaveGroup.
    PollTimeout,
    /// No answer from the coordinator for a whole session timeout.
    CoordinatorLost,
}

/// The running heartbeat task; dropping it stops the task.
#[derive(Debug)]
pub(super) struct Heartbeat {
    pub(super) task: tokio::task::JoinHandle<()>,
    pub(super) stopped: watch::Receiver<Option<HeartbeatStop>>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a heartbeat says and to whom: one member of one generation.
#[derive(Debug, Clone)]
pub(super) struct HeartbeatTarget {
    pub(super) coordinator: String,
    /// The consumer's own `security.protocol`: TLS and SASL as its other connections.
    pub(super) security: crate::client::Security,
    pub(super) group_id: String,
    pub(super) member_id: String,
    pub(super) generation_id: i32,
    pub(super) group_instance_id: Option<String>,
    pub(super) request_timeout: Duration,
    pub(super) heartbeat_interval: Duration,
    pub(super) session_timeout: Duration,
    pub(super) max_poll_interval: Duration,
}

/// A LeaveGroup at `version`: v3+ name members in a list (KIP-345).
pub(super) fn leave_request(
    version: i16,
    group: &str,
    member_id: &str,
    group_instance_id: Option<&str>,
    reason: &'static str,
) -> LeaveGroupRequest {
    let request = LeaveGroupRequest::default().with_group_id(group_id(group));
    if version < 3 {
        return request.with_member_id(StrBytes::from_string(member_id.to_string()));
    }
    let mut member = MemberIdentity::default()
        .with_member_id(StrBytes::from_string(member_id.to_string()))
        .with_group_instance_id(group_instance_id.map(|i| StrBytes::from_string(i.to_string())));
    if version >= 5 {
        member = member.with_reason(Some(StrBytes::from_static_str(reason)));
    }
    request.with_members(vec![member])
}

// ANCHOR: heartbeat_loop
/// Heartbeats every `heartbeat.interval.ms` on a connection of its own (a
/// fetch or a JoinGroup on the main one can take seconds), until the
/// coordinator answers an error, `poll` goes quiet for `max.poll.interval.ms`
/// (then it leaves the group), or nothing answers for `session.timeout.ms`.
pub(super) async fn heartbeat_loop(
    target: HeartbeatTarget,
    last_poll: Arc<Mutex<Instant>>,
    stopped: watch::Sender<Option<HeartbeatStop>>,
) {
    let mut connection: Option<Connection> = None;
    let mut last_answer = Instant::now();
    loop {
        tokio::time::sleep(target.heartbeat_interval).await;
        let since_poll = last_poll.lock().expect("never poisoned").elapsed();
        if connection.as_ref().is_none_or(Connection::is_broken) {
            connection =
                Connection::connect_with(&target.coordinator, target.request_timeout, &target.security)
                    .await
                    .ok();
        }
        if since_poll > target.max_poll_interval {
            tracing::warn!(group = %target.group_id, "no poll within max.poll.interval.ms: leaving the group");
            if let Some(c) = connection.as_mut() {
                let version = c.version_for(ApiKey::LeaveGroup).unwrap_or(0);
                let reason = "consumer poll timeout has expired";
                let request = leave_request(
                    version,
                    &target.group_id,
                    &target.member_id,
                    target.group_instance_id.as_deref(),
                    reason,
                );
                let _ = c.send(&request).await;
            }
            let _ = stopped.send(Some(HeartbeatStop::PollTimeout));
            return;
        }
        let answer = match connection.as_mut() {
            Some(c) => {
                let request = HeartbeatRequest::default()
                    .with_group_id(group_id(&target.group_id))
                    .with_generation_id(target.generation_id)
                    .with_member_id(StrBytes::from_string(target.member_id.clone()))
                    .with_group_instance_id(target.group_instance_id.clone().map(StrBytes::from_string));
                c.send(&request).await.ok()
            }
            None => None,
        };
        match answer {
            Some(response) if response.error_code == 0 => last_answer = Instant::now(),
            Some(response) => {
                let code = ResponseError::try_from_code(response.error_code)
                    .unwrap_or(ResponseError::Unknown(response.error_code));
                let _ = stopped.send(Some(HeartbeatStop::Error(code)));
                return;
            }
            None if last_answer.elapsed() > target.session_timeout => {
                let _ = stopped.send(Some(HeartbeatStop::CoordinatorLost));
                return;
            }
            None => {}
        }
    }
}
// ANCHOR_END: heartbeat_loop

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::Encodable;

    /// LeaveGroup changed shape at v3 (a member list, KIP-345) and gained a
    /// reason at v5; the request built for each version encodes at it
    /// (kafka-protocol refuses fields a version does not have).
    #[test]
    fn leave_requests_fit_every_version() {
        for version in 1..=5 {
            let request =
                leave_request(version, "g", "m1", Some("host-a").filter(|_| version >= 3), "closing");
            let mut buf = bytes::BytesMut::new();
            request.encode(&mut buf, version).unwrap_or_else(|e| panic!("v{version}: {e}"));
            assert_eq!(request.members.len(), usize::from(version >= 3));
            assert_eq!(request.members.first().is_some_and(|m| m.reason.is_some()), version >= 5);
        }
    }
}
