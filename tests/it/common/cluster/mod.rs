//! A harness for tests that run real `spool` processes and break them: the
//! multi-node fault tests of chapter 6 (issue 13 §5), in the spirit of Jepsen.
//!
//! Three pieces, each usable alone:
//!
//! - [`Node`]: one `spool serve` child process with its own directory,
//!   `server.properties`, ports and stderr log, that the test can stop
//!   (SIGTERM), kill (SIGKILL), pause (SIGSTOP), resume and restart, always
//!   by its own pid.
//! - [`Proxy`]: a TCP proxy on 127.0.0.1 for one link (a client to a broker, a
//!   follower to a leader, a broker to the controller), which the test can
//!   [`cut`](Proxy::cut), [`heal`](Proxy::heal) and [`delay`](Proxy::delay),
//!   or cut or slow for one peer process only ([`isolate`](Proxy::isolate),
//!   [`delay_from`](Proxy::delay_from)): a network partition or a slow path
//!   without root or network namespaces. [`KafkaCluster`] (one controller,
//!   or a quorum of several) puts one on every link of a cluster and names
//!   the faults: a broker partitioned from all others, cut from the
//!   controllers only, one broker–broker link cut or slow, a controller cut
//!   from every other node.
//! - [`check`]: a pure history checker. Give it the writes the cluster
//!   acknowledged, every read a consumer made, and one full read after
//!   healing; it returns every [`Violation`]: an acknowledged write lost, a
//!   value stored twice, a partition out of produce order, a record read and
//!   later lost or replaced.
//! - [`metadata_client`]: creates and deletes topics throughout a schedule
//!   and checks, once healed, that every broker's metadata converged on
//!   every acknowledged change.
//! - [`quorum`]: who leads a KRaft quorum of controllers, asked over the
//!   wire as `spool metadata-quorum` asks it.
//! - [`CombinedCluster`]: N nodes that are each a voter and a broker
//!   (`process.roles=broker,controller`, Kafka's combined mode).
//!
//! ```text
//! use crate::common::cluster;
//! use cluster::{Node, Proxy, Cut, History};
//!
//! // A node that listens on its own port and advertises a proxy in front of
//! // it, so every client and peer reaches it through the proxy.
//! let front = Proxy::bind();
//! let node = Node::start(1, |ports| format!(
//!     "listeners=PLAINTEXT://127.0.0.1:{}\nadvertised.listeners=PLAINTEXT://127.0.0.1:{}\n",
//!     ports[0], front.port()));
//! front.set_target(node.addr(0));
//! front.cut(Cut::Drop);                       // … the partition: nobody reaches it …
//! front.heal();
//! front.isolate(other.pid().unwrap(), Cut::Reset); // … only `other` cannot
//! front.heal();
//! assert_eq!(cluster::check(&history), vec![]);
//! ```
//!
//! The tests use it as `crate::common::cluster`; the benches `replication`
//! and `kraft` include it with `#[path]` and use only part of it, so dead
//! code is allowed below.
//!
//! Simplifications: the proxy forwards TCP, it does not reorder or drop single
//! packets; a cut closes the link's connections rather than leaving them
//! half-open (see [`Cut`]); only loopback, no network namespaces.

#![allow(dead_code, unused_imports)]

mod combined;
mod history;
mod kafka;
pub mod metadata_client;
mod node;
mod ports;
mod proxy;
pub mod quorum;

pub use combined::{CombinedCluster, BROKER_PORT, CONTROLLER_PORT};
pub use history::{check, Ack, History, Read, Stored, Violation};
pub use kafka::KafkaCluster;
pub use node::Node;
pub use ports::{free_port, free_ports_at};
pub use proxy::{Cut, Proxy};

/// Formats node log directories under one root with one cluster id, as
/// `kafka-storage.sh format` does: `<root>/node-<id>/meta.properties`.
pub struct Formatter {
    root: tempfile::TempDir,
}

impl Formatter {
    /// A formatter over a fresh temporary root.
    pub fn new() -> Formatter {
        Formatter { root: tempfile::tempdir().expect("tempdir") }
    }

    /// Formats node `node_id`'s log directory; returns it.
    pub fn format(&self, node_id: i32) -> std::path::PathBuf {
        let cluster_id = "c2Nyb2xsLXRlc3QtY2x1cw"; // any 22-char id every node agrees on
        let data = self.dir(node_id);
        std::fs::create_dir_all(&data).expect("log dir");
        let meta = format!("cluster.id={cluster_id}\nnode.id={node_id}\nversion=1\n");
        std::fs::write(data.join("meta.properties"), meta).expect("meta.properties");
        data
    }

    /// Node `node_id`'s log directory.
    pub fn dir(&self, node_id: i32) -> std::path::PathBuf {
        self.root.path().join(format!("node-{node_id}"))
    }
}

/// How long [`eventually`] waits for a cluster to reach a state.
pub const EVENTUALLY: std::time::Duration = std::time::Duration::from_secs(30);

/// Polls `what` every 100 ms until it returns `Some`, and panics naming
/// `description` if that takes longer than [`EVENTUALLY`]: a functional
/// bound (a cluster that never gets there), not a speed assertion.
pub async fn eventually<T>(description: &str, mut what: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + EVENTUALLY;
    loop {
        if let Some(found) = what().await {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "not within {EVENTUALLY:?}: {description}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
