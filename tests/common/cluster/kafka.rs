//! A whole cluster for a test: one controller (`process.roles=controller`)
//! and N brokers, each a [`Node`], configured with Kafka's keys as
//! `spool cluster` configures them, their log directories formatted with one
//! cluster id first (what `kafka-storage.sh format` does).

use std::path::PathBuf;

use super::{Cut, Node, Proxy};

/// The controller's node id; brokers are 2, 3, … as in `spool cluster`.
pub const CONTROLLER_ID: i32 = 1;

/// A running cluster.
pub struct KafkaCluster {
    pub controller: Node,
    pub brokers: Vec<Node>,
    /// With [`Self::start_behind_proxies`], one per broker (in `brokers`'
    /// order): the links the broker takes part in, which a test can cut.
    pub links: Vec<BrokerLinks>,
    /// Keeps the formatted log directories alive as long as the cluster.
    _root: tempfile::TempDir,
}

impl KafkaCluster {
    /// Starts a controller and `brokers` brokers; `extra` is appended to
    /// every node's properties (`replica.lag.time.max.ms=…`, …) — the
    /// controller's too, since some are its to act on: it fences a broker
    /// after `broker.session.timeout.ms` without a heartbeat.
    pub fn start(brokers: usize, extra: &str) -> KafkaCluster {
        Self::start_inner(brokers, extra, false)
    }

    /// As [`Self::start`], but every broker advertises a [`Proxy`] in front
    /// of its listener (so clients and followers reach it through
    /// [`BrokerLinks::front`]) and reaches the controller through a proxy of
    /// its own ([`BrokerLinks::controller`]): a test can partition one broker
    /// from the controller and the other brokers, see [`Self::partition`].
    pub fn start_behind_proxies(brokers: usize, extra: &str) -> KafkaCluster {
        Self::start_inner(brokers, extra, true)
    }

    fn start_inner(brokers: usize, extra: &str, proxied: bool) -> KafkaCluster {
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
                 log.dirs={}\ndefault.replication.factor={rf}\n{extra}\n",
                controller_dir.display(),
                p = ports[0],
                rf = brokers.min(3),
            )
        });
        let links: Vec<BrokerLinks> = (0..brokers)
            .filter(|_| proxied)
            .map(|_| BrokerLinks { front: Proxy::bind(), controller: Proxy::start(controller.addr(0)) })
            .collect();
        let brokers = (0..brokers)
            .map(|i| {
                let node_id = 2 + i as i32;
                let dir = format(node_id);
                let controller_port = links.get(i).map_or(controller.port(0), |l| l.controller.port());
                let voters = format!("{CONTROLLER_ID}@127.0.0.1:{controller_port}");
                let node = Node::start(1, |ports| {
                    let advertised = links.get(i).map_or(ports[0], |l| l.front.port());
                    format!(
                        "node.id={node_id}\nprocess.roles=broker\nlisteners=PLAINTEXT://127.0.0.1:{p}\n\
                         advertised.listeners=PLAINTEXT://127.0.0.1:{advertised}\n\
                         controller.listener.names=CONTROLLER\ncontroller.quorum.voters={voters}\n\
                         log.dirs={}\ndefault.replication.factor={rf}\n{extra}\n",
                        dir.display(),
                        p = ports[0],
                        rf = brokers.min(3),
                    )
                });
                if let Some(l) = links.get(i) {
                    l.front.set_target(node.addr(0));
                }
                node
            })
            .collect();
        KafkaCluster { controller, brokers, links, _root: root }
    }

    /// The brokers' addresses, as `bootstrap.servers` (their proxies' when
    /// behind proxies).
    pub fn bootstrap(&self) -> String {
        if !self.links.is_empty() {
            return self.links.iter().map(|l| l.front.addr().to_string()).collect::<Vec<_>>().join(",");
        }
        self.brokers.iter().map(|b| b.addr(0).to_string()).collect::<Vec<_>>().join(",")
    }

    /// Partitions broker `id` from the controller and the other brokers
    /// (started with [`Self::start_behind_proxies`]): its controller link is
    /// cut, its connections to the other brokers and theirs to it are cut
    /// (`how`). Clients still reach it, as clients on its side of a split
    /// network would. [`Self::heal`] ends it.
    pub fn partition(&mut self, id: i32, how: Cut) {
        self.cut_from_controller(id, how);
        for other in self.broker_ids().filter(|&o| o != id) {
            self.cut_link(id, other, how);
        }
    }

    /// Cuts broker `id`'s link to the controller only: its heartbeats,
    /// metadata fetches and AlterPartition requests go nowhere, while
    /// clients and the other brokers still reach it and it reaches them.
    pub fn cut_from_controller(&mut self, id: i32, how: Cut) {
        self.links_of(id).controller.cut(how);
    }

    /// Cuts the link between brokers `a` and `b`, both ways (each one's
    /// connections into the other: a follower's fetches from its leader),
    /// and nothing else: both still reach the controller, the third broker
    /// and clients.
    pub fn cut_link(&mut self, a: i32, b: i32, how: Cut) {
        let (pid_a, pid_b) = (self.broker(a).pid(), self.broker(b).pid());
        if let Some(pid) = pid_b {
            self.links_of(a).front.isolate(pid, how);
        }
        if let Some(pid) = pid_a {
            self.links_of(b).front.isolate(pid, how);
        }
    }

    /// Slows the link between brokers `a` and `b` by `ms` each way, both
    /// ways, and nothing else: a slow network path between two hosts.
    pub fn slow_link(&mut self, a: i32, b: i32, ms: u64) {
        let (pid_a, pid_b) = (self.broker(a).pid(), self.broker(b).pid());
        self.links_of(a).front.delay_from(pid_b.expect("a slow link needs both brokers running"), ms);
        self.links_of(b).front.delay_from(pid_a.expect("a slow link needs both brokers running"), ms);
    }

    /// Ends every cut, isolation and delay on every proxy.
    pub fn heal(&self) {
        for l in &self.links {
            l.front.heal();
            l.controller.heal();
        }
    }

    /// The running brokers' addresses, as `bootstrap.servers` (after a kill).
    pub fn running_bootstrap(&mut self) -> String {
        (self.brokers.iter_mut())
            .filter_map(|b| b.is_running().then(|| b.addr(0).to_string()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The broker with node id `id`.
    pub fn broker(&mut self, id: i32) -> &mut Node {
        &mut self.brokers[(id - 2) as usize]
    }

    /// Every broker's node id.
    pub fn broker_ids(&self) -> impl Iterator<Item = i32> {
        (0..self.brokers.len()).map(|i| 2 + i as i32)
    }

    /// The proxies on broker `id`'s links.
    fn links_of(&self, id: i32) -> &BrokerLinks {
        assert!(!self.links.is_empty(), "cutting or slowing a link needs start_behind_proxies");
        &self.links[(id - 2) as usize]
    }
}

/// The proxies on one broker's links.
pub struct BrokerLinks {
    /// In front of the broker's listener: what it advertises, so every client
    /// and follower connection into it passes here.
    pub front: Proxy,
    /// Between the broker and the controller (its `controller.quorum.voters`).
    pub controller: Proxy,
}
