//! A whole cluster for a test: C controllers (`process.roles=controller`,
//! the voters of the KRaft quorum; one unless asked) and N brokers, each a
//! [`Node`], configured with Kafka's keys as `spool cluster` configures them,
//! their log directories formatted with one cluster id first (what
//! `kafka-storage.sh format` does). Node ids are `spool cluster`'s:
//! controllers 1..C, brokers C+1...
//!
//! Behind proxies ([`KafkaCluster::start_behind_proxies`],
//! [`KafkaCluster::start_quorum_behind_proxies`]) every link can be cut:
//!
//! ```text
//!  client ─▶ front(b) ─▶ broker b ─▶ controllers(b)[c] ─▶ controller c
//!  broker a ─▶ front(b)                                  ▲
//!  controller d ───────────────────────▶ front(c) ───────┘ (the voters list the fronts)
//! ```
//!
//! A fault schedule kills (`controller(id).kill()`), pauses (`.pause()`),
//! restarts (`.restart()`) a controller as any [`Node`], and cuts every link
//! of one with [`KafkaCluster::cut_controller`].

use std::path::PathBuf;

use super::{Cut, Formatter, Node, Proxy};

/// A running cluster.
pub struct KafkaCluster {
    /// Controllers 1..C, in id order.
    pub controllers: Vec<Node>,
    /// Brokers C+1.., in id order.
    pub brokers: Vec<Node>,
    /// Behind proxies, one per broker (in `brokers`' order): the links the
    /// broker takes part in, which a test can cut.
    pub links: Vec<BrokerLinks>,
    /// Behind proxies, one per controller (in `controllers`' order): the
    /// proxy in front of its controller listener, which the voters list, so
    /// every controller-to-controller connection into it passes there.
    pub controller_fronts: Vec<Proxy>,
    /// Keeps the formatted log directories alive as long as the cluster.
    formatter: Formatter,
}

/// The proxies on one broker's links.
pub struct BrokerLinks {
    /// In front of the broker's listener: what it advertises, so every client
    /// and follower connection into it passes here.
    pub front: Proxy,
    /// Between the broker and each controller (its `controller.quorum.voters`),
    /// in controller id order.
    pub controllers: Vec<Proxy>,
}

/// `controller.quorum.voters` over `ports` (controller 1's first).
fn voters(ports: &[u16]) -> String {
    (ports.iter().enumerate()).map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1)).collect::<Vec<_>>().join(",")
}

impl KafkaCluster {
    /// Starts one controller and `brokers` brokers; `extra` is appended to
    /// every node's properties (`replica.lag.time.max.ms=…`, …) — the
    /// controller's too, since some are its to act on: it fences a broker
    /// after `broker.session.timeout.ms` without a heartbeat.
    pub fn start(brokers: usize, extra: &str) -> KafkaCluster {
        Self::start_inner(1, brokers, extra, false)
    }

    /// As [`Self::start`], but every broker advertises a [`Proxy`] in front
    /// of its listener (so clients and followers reach it through
    /// [`BrokerLinks::front`]) and reaches the controller through a proxy of
    /// its own ([`BrokerLinks::controllers`]): a test can partition one broker
    /// from the controller and the other brokers, see [`Self::partition`].
    pub fn start_behind_proxies(brokers: usize, extra: &str) -> KafkaCluster {
        Self::start_inner(1, brokers, extra, true)
    }

    /// Starts a quorum of `controllers` voters and `brokers` brokers; every
    /// node's `controller.quorum.voters` lists every controller.
    pub fn start_quorum(controllers: usize, brokers: usize, extra: &str) -> KafkaCluster {
        Self::start_inner(controllers, brokers, extra, false)
    }

    /// As [`Self::start_quorum`], with every link behind a proxy (see the
    /// module's figure): brokers' as in [`Self::start_behind_proxies`], and
    /// the controllers' links to each other through
    /// [`Self::controller_fronts`].
    pub fn start_quorum_behind_proxies(controllers: usize, brokers: usize, extra: &str) -> KafkaCluster {
        Self::start_inner(controllers, brokers, extra, true)
    }

    fn start_inner(controllers: usize, brokers: usize, extra: &str, proxied: bool) -> KafkaCluster {
        assert!(controllers >= 1, "a cluster needs a controller");
        let formatter = Formatter::new();
        let rf = brokers.min(3);
        let fronts: Vec<Proxy> = (0..controllers).filter(|_| proxied).map(|_| Proxy::bind()).collect();
        // Unproxied, the voters are the controllers' own ports, chosen now:
        // each controller's properties name all of them before any starts.
        let ports: Vec<u16> = match proxied {
            true => fronts.iter().map(Proxy::port).collect(),
            false => (0..controllers).map(|_| super::free_port()).collect(),
        };
        let quorum = voters(&ports);
        let controllers: Vec<Node> = (0..controllers)
            .map(|i| {
                let node_id = 1 + i as i32;
                let dir = formatter.format(node_id);
                let properties = |listen: &[u16]| {
                    format!(
                        "node.id={node_id}\nprocess.roles=controller\nlisteners=CONTROLLER://127.0.0.1:{p}\n\
                         controller.listener.names=CONTROLLER\ncontroller.quorum.voters={quorum}\n\
                         log.dirs={}\ndefault.replication.factor={rf}\n{extra}\n",
                        dir.display(),
                        p = listen[0],
                    )
                };
                let node = match proxied {
                    true => Node::start(1, properties),
                    false => Node::start_on(vec![ports[i]], properties),
                };
                if let Some(front) = fronts.get(i) {
                    front.set_target(node.addr(0));
                }
                node
            })
            .collect();
        let links: Vec<BrokerLinks> = (0..brokers)
            .filter(|_| proxied)
            .map(|_| BrokerLinks {
                front: Proxy::bind(),
                controllers: controllers.iter().map(|c| Proxy::start(c.addr(0))).collect(),
            })
            .collect();
        let first_broker = 1 + controllers.len() as i32;
        let brokers = (0..brokers)
            .map(|i| {
                let node_id = first_broker + i as i32;
                let dir = formatter.format(node_id);
                let voters = match links.get(i) {
                    Some(l) => voters(&l.controllers.iter().map(Proxy::port).collect::<Vec<_>>()),
                    None => quorum.clone(),
                };
                let node = Node::start(1, |ports| {
                    let advertised = links.get(i).map_or(ports[0], |l| l.front.port());
                    format!(
                        "node.id={node_id}\nprocess.roles=broker\nlisteners=PLAINTEXT://127.0.0.1:{p}\n\
                         advertised.listeners=PLAINTEXT://127.0.0.1:{advertised}\n\
                         controller.listener.names=CONTROLLER\ncontroller.quorum.voters={voters}\n\
                         log.dirs={}\ndefault.replication.factor={rf}\n{extra}\n",
                        dir.display(),
                        p = ports[0],
                    )
                });
                if let Some(l) = links.get(i) {
                    l.front.set_target(node.addr(0));
                }
                node
            })
            .collect();
        KafkaCluster { controllers, brokers, links, controller_fronts: fronts, formatter }
    }

    /// Node `node_id`'s `log.dirs` (a controller's holds `__cluster_metadata-0`).
    pub fn log_dir(&self, node_id: i32) -> std::path::PathBuf {
        self.formatter.dir(node_id)
    }

    /// The brokers' addresses, as `bootstrap.servers` (their proxies' when
    /// behind proxies).
    pub fn bootstrap(&self) -> String {
        if !self.links.is_empty() {
            return self.links.iter().map(|l| l.front.addr().to_string()).collect::<Vec<_>>().join(",");
        }
        self.brokers.iter().map(|b| b.addr(0).to_string()).collect::<Vec<_>>().join(",")
    }

    /// Partitions broker `id` from the controllers and the other brokers
    /// (started behind proxies): its controller links are cut, its
    /// connections to the other brokers and theirs to it are cut (`how`).
    /// Clients still reach it, as clients on its side of a split network
    /// would. [`Self::heal`] ends it.
    pub fn partition(&mut self, id: i32, how: Cut) {
        self.cut_from_controller(id, how);
        for other in self.broker_ids().filter(|&o| o != id) {
            self.cut_link(id, other, how);
        }
    }

    /// Cuts broker `id`'s links to every controller only: its heartbeats,
    /// metadata fetches and AlterPartition requests go nowhere, while
    /// clients and the other brokers still reach it and it reaches them.
    pub fn cut_from_controller(&mut self, id: i32, how: Cut) {
        for proxy in &self.links_of(id).controllers {
            proxy.cut(how);
        }
    }

    /// Cuts every link of controller `id` (started behind proxies): the
    /// other controllers' connections into it (its front), its connections
    /// into them (isolated by its pid: after a restart, cut again), and every
    /// broker's link to it. It keeps running, alone: a voter on the wrong
    /// side of a partition. [`Self::heal`] ends it.
    pub fn cut_controller(&mut self, id: i32, how: Cut) {
        assert!(!self.controller_fronts.is_empty(), "cutting a controller needs start_quorum_behind_proxies");
        let index = self.controller_index(id);
        self.controller_fronts[index].cut(how);
        if let Some(pid) = self.controllers[index].pid() {
            for (_, front) in self.controller_fronts.iter().enumerate().filter(|(i, _)| *i != index) {
                front.isolate(pid, how);
            }
        }
        for links in &self.links {
            links.controllers[index].cut(how);
        }
    }

    /// Cuts the link between brokers `a` and `b`, both ways (each one's
    /// connections into the other: a follower's fetches from its leader),
    /// and nothing else: both still reach the controllers, the third broker
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
            l.controllers.iter().for_each(Proxy::heal);
        }
        self.controller_fronts.iter().for_each(Proxy::heal);
    }

    /// The running brokers' addresses, as `bootstrap.servers` (after a kill).
    pub fn running_bootstrap(&mut self) -> String {
        (self.brokers.iter_mut())
            .filter_map(|b| b.is_running().then(|| b.addr(0).to_string()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The controller with node id `id` (1..C): kill, pause, resume or
    /// restart it as any [`Node`].
    pub fn controller(&mut self, id: i32) -> &mut Node {
        let index = self.controller_index(id);
        &mut self.controllers[index]
    }

    /// Every controller's node id.
    pub fn controller_ids(&self) -> impl Iterator<Item = i32> {
        1..=self.controllers.len() as i32
    }

    /// The broker with node id `id`.
    pub fn broker(&mut self, id: i32) -> &mut Node {
        let first = 1 + self.controllers.len() as i32;
        &mut self.brokers[(id - first) as usize]
    }

    /// Every broker's node id.
    pub fn broker_ids(&self) -> impl Iterator<Item = i32> {
        let first = 1 + self.controllers.len() as i32;
        first..first + self.brokers.len() as i32
    }

    fn controller_index(&self, id: i32) -> usize {
        assert!(self.controller_ids().any(|c| c == id), "no controller {id}");
        (id - 1) as usize
    }

    /// The proxies on broker `id`'s links.
    fn links_of(&self, id: i32) -> &BrokerLinks {
        assert!(!self.links.is_empty(), "cutting or slowing a link needs start_behind_proxies");
        &self.links[(id - 1 - self.controllers.len() as i32) as usize]
    }
}
