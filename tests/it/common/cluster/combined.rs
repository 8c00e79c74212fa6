//! A cluster of combined nodes (`process.roles=broker,controller`, Kafka's
//! combined mode): every node is a voter of the KRaft quorum and a broker,
//! in one process, with two listeners each.
//!
//! ```text
//!  node 1: PLAINTEXT://127.0.0.1:<port 0>   CONTROLLER://127.0.0.1:<port 1>
//!  node 2: …                                 …
//!  every node: controller.quorum.voters=1@…:<1's port 1>,2@…,3@…
//!  <log.dirs>/meta.properties              one cluster id, formatted first
//!  <log.dirs>/controller/__cluster_metadata-0   the voter's metadata log
//! ```
//!
//! Node ids are 1..N; `Node::port(0)` is the broker's listener and
//! `Node::port(1)` the controller's. Every controller port is chosen before
//! any node starts, since each node's voters name all of them.

use super::{Formatter, Node};

/// Index of the PLAINTEXT port in each node's ports.
pub const BROKER_PORT: usize = 0;
/// Index of the CONTROLLER port in each node's ports.
pub const CONTROLLER_PORT: usize = 1;

/// A running cluster of combined nodes.
pub struct CombinedCluster {
    /// Nodes 1..N, in id order.
    pub nodes: Vec<Node>,
    /// Keeps the formatted log directories alive as long as the cluster.
    _formatter: Formatter,
}

impl CombinedCluster {
    /// Starts `count` combined nodes; `extra` is appended to each one's
    /// properties. Returns once every node's two listeners accept (the
    /// quorum may not have elected a leader yet).
    pub fn start(count: usize, extra: &str) -> CombinedCluster {
        assert!(count >= 1, "a cluster needs a node");
        let formatter = Formatter::new();
        let ports: Vec<[u16; 2]> = (0..count).map(|_| [super::free_port(), super::free_port()]).collect();
        let voters = (ports.iter().enumerate())
            .map(|(i, p)| format!("{}@127.0.0.1:{}", i + 1, p[CONTROLLER_PORT]))
            .collect::<Vec<_>>()
            .join(",");
        let rf = count.min(3);
        let nodes = (0..count)
            .map(|i| {
                let node_id = 1 + i as i32;
                let dir = formatter.format(node_id);
                Node::start_on(ports[i].to_vec(), |p| {
                    format!(
                        "node.id={node_id}\nprocess.roles=broker,controller\n\
                         listeners=PLAINTEXT://127.0.0.1:{b},CONTROLLER://127.0.0.1:{c}\n\
                         advertised.listeners=PLAINTEXT://127.0.0.1:{b}\n\
                         inter.broker.listener.name=PLAINTEXT\ncontroller.listener.names=CONTROLLER\n\
                         controller.quorum.voters={voters}\nlog.dirs={}\n\
                         default.replication.factor={rf}\noffsets.topic.replication.factor={rf}\n{extra}\n",
                        dir.display(),
                        b = p[BROKER_PORT],
                        c = p[CONTROLLER_PORT],
                    )
                })
            })
            .collect();
        CombinedCluster { nodes, _formatter: formatter }
    }

    /// The node with id `id` (1..N): kill, stop or restart it as any [`Node`].
    pub fn node(&mut self, id: i32) -> &mut Node {
        &mut self.nodes[(id - 1) as usize]
    }

    /// Every node's id.
    pub fn ids(&self) -> impl Iterator<Item = i32> {
        1..=self.nodes.len() as i32
    }

    /// `(node id, controller address)` of every voter, as the helpers of
    /// [`super::quorum`] take them.
    pub fn controllers(&self) -> Vec<(i32, std::net::SocketAddr)> {
        self.ids().zip(self.nodes.iter().map(|n| n.addr(CONTROLLER_PORT))).collect()
    }

    /// Every node's broker address, as `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.nodes.iter().map(|n| n.addr(BROKER_PORT).to_string()).collect::<Vec<_>>().join(",")
    }

    /// The running nodes' broker addresses, as `bootstrap.servers`.
    pub fn running_bootstrap(&mut self) -> String {
        (self.nodes.iter_mut())
            .filter_map(|n| n.is_running().then(|| n.addr(BROKER_PORT).to_string()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `id`'s `log.dirs`.
    pub fn log_dir(&self, id: i32) -> std::path::PathBuf {
        self._formatter.dir(id)
    }
}
