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

/// How far each observer (a broker fetching `__cluster_metadata`) has
/// fetched, and the high watermark, as the leader at `addr` reports them.
pub async fn observers(addr: SocketAddr) -> Option<(i64, Vec<(i32, i64)>)> {
    let ask = async {
        let mut connection = Connection::connect(&addr.to_string(), ASK_TIMEOUT).await.ok()?;
        let request: DescribeQuorumRequest = spool::tools::metadata_quorum::describe_quorum_request();
        let response = connection.send(&request).await.ok()?;
        let p = response.topics.first()?.partitions.first()?;
        let seen = p.observers.iter().map(|o| (o.replica_id.0, o.log_end_offset)).collect();
        (response.error_code == 0 && p.error_code == 0).then_some((p.high_watermark, seen))
    };
    tokio::time::timeout(ASK_TIMEOUT * 2, ask).await.ok().flatten()
}

/// The high watermark and how far each voter's metadata log reaches
/// (`(replica id, log end offset)`), as the leader at `addr` reports them.
pub async fn voters(addr: SocketAddr) -> Option<(i64, Vec<(i32, i64)>)> {
    let ask = async {
        let mut connection = Connection::connect(&addr.to_string(), ASK_TIMEOUT).await.ok()?;
        let request: DescribeQuorumRequest = spool::tools::metadata_quorum::describe_quorum_request();
        let response = connection.send(&request).await.ok()?;
        let p = response.topics.first()?.partitions.first()?;
        let seen = p.current_voters.iter().map(|v| (v.replica_id.0, v.log_end_offset)).collect();
        (response.error_code == 0 && p.error_code == 0).then_some((p.high_watermark, seen))
    };
    tokio::time::timeout(ASK_TIMEOUT * 2, ask).await.ok().flatten()
}

/// Waits until every broker in `brokers` has fetched the metadata log up to
/// the high watermark the leader reported when this began — each broker's
/// image holds every change committed before now — at most `bound`.
/// Comparing brokers with each other is not enough: after a controller
/// fault every one of them can lag behind the new leader alike.
pub async fn wait_for_brokers_caught_up(controllers: &[(i32, SocketAddr)], brokers: &[i32], bound: Duration) {
    let started = Instant::now();
    let mut target = None;
    let mut last = None;
    loop {
        if let Some(leader) = leader(controllers).await {
            let addr = controllers.iter().find(|(id, _)| *id == leader.id).expect("a controller").1;
            if let Some((high_watermark, seen)) = observers(addr).await {
                let target = *target.get_or_insert(high_watermark);
                let behind: Vec<i32> = (brokers.iter().copied())
                    .filter(|b| !seen.iter().any(|&(id, end)| id == *b && end >= target))
                    .collect();
                if behind.is_empty() {
                    return;
                }
                last = Some((target, seen, behind));
            }
        }
        assert!(
            started.elapsed() < bound,
            "brokers not caught up with the metadata log within {bound:?}: (target, fetched, behind) {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
