//! A broker's channel to the active controller (Kafka's
//! `NodeToControllerChannelManager`): the requests only the controller can
//! answer — CreateTopics and DeleteTopics forwarded from clients,
//! AlterPartition from leaders, AllocateProducerIds — go over it, one at a
//! time, on a connection to the controller's listener, reopened after a
//! failure.
//!
//! Chapter 6 has one controller voter, so the active controller is that
//! voter (or the first of `controller.quorum.bootstrap.servers`); chapter 7
//! finds the elected leader of a quorum.

use std::time::Duration;

use kafka_protocol::protocol::Request;
use tokio::sync::Mutex;

use crate::client::{ClientError, Connection};

/// The connection to the controller, made on first use.
#[derive(Debug)]
pub struct ControllerLink {
    /// `host:port` of the controller's listener.
    pub addr: String,
    timeout: Duration,
    connection: Mutex<Option<Connection>>,
}

impl ControllerLink {
    pub fn new(addr: String, timeout: Duration) -> Self {
        ControllerLink { addr, timeout, connection: Mutex::new(None) }
    }

    /// Sends `request` to the controller and waits for its answer. A failed
    /// connection is dropped, so the next request connects again.
    pub async fn send<R: Request>(&self, request: &R) -> Result<R::Response, ClientError> {
        let mut connection = self.connection.lock().await;
        if connection.as_ref().is_none_or(Connection::is_broken) {
            *connection = Some(Connection::connect(&self.addr, self.timeout).await?);
        }
        let result = connection.as_mut().expect("connected above").send(request).await;
        if result.is_err() {
            *connection = None;
        }
        result
    }
}
