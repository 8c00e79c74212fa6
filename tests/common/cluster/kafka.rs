//! A whole cluster for a test: one controller (`process.roles=controller`)
//! and N brokers, each a [`Node`], configured with Kafka's keys as
//! `spool cluster` configures them, their log directories formatted with one
//! cluster id first (what `kafka-storage.sh format` does).

use std::path::PathBuf;

use super::Node;

/// The controller's node id; brokers are 2, 3, … as in `spool cluster`.
pub const CONTROLLER_ID: i32 = 1;

/// A running cluster.
pub struct KafkaCluster {
    pub controller: Node,
    pub brokers: Vec<Node>,
    /// Keeps the formatted log directories alive as long as the cluster.
    _root: tempfile::TempDir,
}

impl KafkaCluster {
    /// Starts a controller and `brokers` brokers; `extra` is appended to
    /// every broker's properties (`replica.lag.time.max.ms=…`, …).
    pub fn start(brokers: usize, extra: &str) -> KafkaCluster {
        let root = tempfile::tempdir().expect("tempdir");
        let cluster_id = "c2Nyb2xsLXRlc3QtY2x1cw"; // any 22-char id both sides agree on
        let format = |node_id: i32| -> PathBuf {
            let data = root.path().join(format!("node-{node_id}"));
            std::fs::create_dir_all(&data).expect("log dir");
            let meta = format!("cluster.id={cluster_id}\nnode.id={node_id}\nversion=1\n");
            std::fs::write(data.join("meta.properties"), meta).expect("meta.properties");
            data
        };
        let controller_dir = format(CONTROLLER_ID);
        let controller = Node::start(1, |ports| {
            format!(
                "node.id={CONTROLLER_ID}\nprocess.roles=controller\nlisteners=CONTROLLER://127.0.0.1:{p}\n\
                 controller.listener.names=CONTROLLER\ncontroller.quorum.voters={CONTROLLER_ID}@127.0.0.1:{p}\n\
                 log.dirs={}\ndefault.replication.factor={rf}\n",
                controller_dir.display(),
                p = ports[0],
                rf = brokers.min(3),
            )
        });
        let voters = format!("{CONTROLLER_ID}@127.0.0.1:{}", controller.port(0));
        let brokers = (0..brokers)
            .map(|i| {
                let node_id = 2 + i as i32;
                let dir = format(node_id);
                Node::start(1, |ports| {
                    format!(
                        "node.id={node_id}\nprocess.roles=broker\nlisteners=PLAINTEXT://127.0.0.1:{p}\n\
                         controller.listener.names=CONTROLLER\ncontroller.quorum.voters={voters}\n\
                         log.dirs={}\ndefault.replication.factor={rf}\n{extra}\n",
                        dir.display(),
                        p = ports[0],
                        rf = brokers.min(3),
                    )
                })
            })
            .collect();
        KafkaCluster { controller, brokers, _root: root }
    }

    /// The brokers' addresses, as `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.brokers.iter().map(|b| b.addr(0).to_string()).collect::<Vec<_>>().join(",")
    }

    /// The broker with node id `id`.
    pub fn broker(&mut self, id: i32) -> &mut Node {
        &mut self.brokers[(id - 2) as usize]
    }
}
