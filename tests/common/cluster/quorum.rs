//! Who leads a KRaft quorum, asked over the wire as `spool metadata-quorum`
//! asks it (KIP-919, KIP-595): DescribeCluster with endpoint type 2 to any
//! controller names the leader it knows; DescribeQuorum, which only the
//! leader answers, gives that leader's epoch.
//!
//! ```text
//!  test ──DescribeCluster(type 2)──▶ controller c   → controller_id L
//!       ──DescribeQuorum───────────▶ controller L   → leader L, epoch E
//! ```
//!
//! The test reaches every controller at its own listener (not through the
//! proxies a cut controller sits behind), with a short timeout, so a paused
//! controller only costs its timeout. A controller that does not answer, or
//! names no leader, or names one that does not confirm it, is skipped: the
//! caller polls until some controller gives an answer its leader confirms.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kafka_protocol::messages::{DescribeClusterRequest, DescribeQuorumRequest};
use spool::client::Connection;

/// How long one question to one controller may take.
const ASK_TIMEOUT: Duration = Duration::from_millis(1_500);

/// A quorum leader and its epoch, confirmed by the leader itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leader {
    pub id: i32,
    pub epoch: i32,
}

/// The leader `addr` names (DescribeCluster, endpoint type 2), if it names one.
pub async fn named_by(addr: SocketAddr) -> Option<i32> {
    let ask = async {
        let mut connection = Connection::connect(&addr.to_string(), ASK_TIMEOUT).await.ok()?;
        let request = DescribeClusterRequest::default().with_endpoint_type(2);
        let cluster = connection.send(&request).await.ok()?;
        (cluster.error_code == 0 && cluster.controller_id.0 >= 0).then_some(cluster.controller_id.0)
    };
    tokio::time::timeout(ASK_TIMEOUT * 2, ask).await.ok().flatten()
}

/// The leader and epoch the controller at `addr` reports in DescribeQuorum,
/// if it answers as the leader.
pub async fn describe(addr: SocketAddr) -> Option<Leader> {
    let ask = async {
        let mut connection = Connection::connect(&addr.to_string(), ASK_TIMEOUT).await.ok()?;
        let request: DescribeQuorumRequest = spool::tools::metadata_quorum::describe_quorum_request();
        let response = connection.send(&request).await.ok()?;
        let partition = response.topics.first()?.partitions.first()?;
        (response.error_code == 0 && partition.error_code == 0 && partition.leader_id.0 >= 0)
            .then_some(Leader { id: partition.leader_id.0, epoch: partition.leader_epoch })
    };
    tokio::time::timeout(ASK_TIMEOUT * 2, ask).await.ok().flatten()
}

/// The leader, asked of `controllers` (`(node id, address)`) in turn: the
/// first one named by a controller and confirmed by DescribeQuorum.
pub async fn leader(controllers: &[(i32, SocketAddr)]) -> Option<Leader> {
    for &(_, addr) in controllers {
        let Some(named) = named_by(addr).await else { continue };
        let Some(&(_, leader_addr)) = controllers.iter().find(|(id, _)| *id == named) else { continue };
        if let Some(leader) = describe(leader_addr).await.filter(|l| l.id == named) {
            return Some(leader);
        }
    }
    None
}

/// Waits until `controllers` name a leader that `accept` takes, at most
/// `bound`; returns it and how long that took. Panics naming `what` after
/// the bound: a functional bound, not a speed target.
pub async fn wait_for_leader(
    controllers: &[(i32, SocketAddr)],
    what: &str,
    bound: Duration,
    accept: impl Fn(Leader) -> bool,
) -> (Leader, Duration) {
    let started = Instant::now();
    let mut last = None;
    loop {
        if let Some(found) = leader(controllers).await {
            if accept(found) {
                return (found, started.elapsed());
            }
            last = Some(found);
        }
        assert!(started.elapsed() < bound, "no leader {what} within {bound:?}; last seen {last:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
