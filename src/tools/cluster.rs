//! `spool cluster`: a local Kafka cluster in one command — N controllers
//! (a KRaft quorum; one by default) and M brokers, each a `spool serve`
//! process configured by a `server.properties` with Kafka's own keys, so the
//! same cluster can be started by hand, one file per terminal:
//!
//! ```text
//!  spool cluster --controllers 3 --brokers 3 --dir /tmp/spool-cluster
//!
//!  /tmp/spool-cluster/controller-1/server.properties   process.roles=controller
//!  /tmp/spool-cluster/controller-2/server.properties   listeners=CONTROLLER://127.0.0.1:9192 (9193, 9194)
//!  /tmp/spool-cluster/controller-3/server.properties
//!  /tmp/spool-cluster/broker-4/server.properties       process.roles=broker
//!  /tmp/spool-cluster/broker-5/server.properties       listeners=PLAINTEXT://127.0.0.1:9092 (9093, 9094)
//!  /tmp/spool-cluster/broker-6/server.properties
//!
//!  every node: controller.quorum.voters=1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194
//!  bootstrap.servers=127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094
//! ```
//!
//! `--combined 3` starts three combined nodes instead
//! (`process.roles=broker,controller`, Kafka's combined mode): `node-1`..`node-3`,
//! each a voter on `--port` + 100 + i and a broker on `--port` + i.
//!
//! Node ids follow Kafka's examples: controllers first (1..N), brokers after
//! (N+1..); controllers listen on `--port` + 100 and up, brokers on `--port`
//! and up. Each node's data (`log.dirs`) and its log (`server.log`) live in
//! its directory, so a restart of the command finds the same cluster. Ctrl-C
//! (or SIGTERM) stops every node with SIGTERM, by its own pid — the brokers
//! together, then the controllers (combined nodes one at a time) — and waits
//! for each to shut down cleanly. A node that exits by
//! itself is reported and the others keep running (stop one to watch the
//! cluster elect new leaders). `--add-scram` (repeatable) hands Kafka's
//! first-user credential to every node's `spool serve` (the controllers write
//! it into the new metadata log).

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Args;

use crate::config::ProcessRoles;

/// How far above `--port` the controllers' ports start: brokers take the
/// ports below, so at most this many brokers.
const CONTROLLER_PORT_OFFSET: u16 = 100;

/// `spool cluster`'s flags.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// How many controllers to start: the voters of the KRaft quorum
    /// (node ids 1..N). Use an odd number: 3 survives one failure.
    #[arg(long, default_value_t = 1)]
    pub controllers: u16,
    /// How many brokers to start (node ids after the controllers').
    #[arg(long, default_value_t = 3)]
    pub brokers: u16,
    /// Instead of separate controllers and brokers, start this many combined
    /// nodes (`process.roles=broker,controller`, node ids 1..N): each is a
    /// voter of the quorum and a broker.
    #[arg(long, value_name = "N", conflicts_with_all = ["controllers", "brokers"])]
    pub combined: Option<u16>,
    /// Where each node keeps its properties, data and log.
    #[arg(long, default_value = "/tmp/spool-cluster")]
    pub dir: PathBuf,
    /// The first broker's port; brokers take the ports after it, the
    /// controllers this port + 100 and the ports after that.
    #[arg(long, default_value_t = 9092)]
    pub port: u16,
    /// Override one setting on every node, controllers and brokers alike:
    /// --override key=value (repeatable). A controller reads the keys that
    /// are its own (num.partitions and default.replication.factor for
    /// CreateTopics, broker.session.timeout.ms, controller.quorum.*) and
    /// leaves the rest, as Kafka's does.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// A first SCRAM user, handed to every node's `spool serve --add-scram`
    /// (repeatable): `SCRAM-SHA-512=[name=alice,password=alice-secret]`.
    #[arg(long = "add-scram", value_name = "CREDENTIAL")]
    pub add_scram: Vec<String>,
}

/// One node of the cluster: its id, role and properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub node_id: i32,
    /// `process.roles`: controller, broker, or both (combined).
    pub roles: ProcessRoles,
    /// Its client port (a controller's: its controller port).
    pub port: u16,
    pub dir: PathBuf,
    pub properties: String,
}

impl NodeSpec {
    /// `controller-1`, `broker-2`, … (`node-1` for a combined node)
    pub fn name(&self) -> String {
        let role = match self.roles {
            ProcessRoles::Controller => "controller",
            ProcessRoles::Combined => "node",
            _ => "broker",
        };
        format!("{role}-{}", self.node_id)
    }
}

// ANCHOR: plan
/// The nodes of a cluster of `args.controllers` controllers and
/// `args.brokers` brokers, controllers first.
pub fn plan(args: &ClusterArgs) -> Result<Vec<NodeSpec>, String> {
    if let Some(count) = args.combined {
        return plan_combined(args, count);
    }
    if args.controllers == 0 || args.brokers == 0 {
        return Err("--controllers and --brokers must each be at least 1".into());
    }
    if args.brokers > CONTROLLER_PORT_OFFSET {
        return Err(format!(
            "--brokers must be at most {CONTROLLER_PORT_OFFSET}: their ports would reach the controllers'"
        ));
    }
    let controller_port = args.port.checked_add(CONTROLLER_PORT_OFFSET).ok_or("--port is too high")?;
    controller_port
        .checked_add(args.controllers - 1)
        .ok_or("--port is too high for that many controllers")?;
    let controllers: Vec<(i32, u16)> =
        (0..args.controllers).map(|i| (1 + i32::from(i), controller_port + i)).collect();
    let voters =
        (controllers.iter()).map(|(id, port)| format!("{id}@127.0.0.1:{port}")).collect::<Vec<_>>().join(",");
    let shared = Shared { voters, replication_factor: args.brokers.min(3) };
    let mut nodes = Vec::new();
    for (node_id, port) in controllers {
        let dir = args.dir.join(format!("controller-{node_id}"));
        let mut properties = controller_properties(node_id, port, &dir, &shared);
        apply_overrides(&mut properties, &args.overrides)?;
        nodes.push(NodeSpec { node_id, roles: ProcessRoles::Controller, port, dir, properties });
    }
    for i in 0..args.brokers {
        let node_id = i32::from(args.controllers) + 1 + i32::from(i);
        let port = args.port + i;
        let dir = args.dir.join(format!("broker-{node_id}"));
        let mut properties = broker_properties(node_id, port, &dir, &shared);
        apply_overrides(&mut properties, &args.overrides)?;
        nodes.push(NodeSpec { node_id, roles: ProcessRoles::Broker, port, dir, properties });
    }
    Ok(nodes)
}
// ANCHOR_END: plan

/// `--combined N`: N nodes that are each a voter and a broker, ids 1..N,
/// brokers on `--port` and up, their controller listeners 100 above.
fn plan_combined(args: &ClusterArgs, count: u16) -> Result<Vec<NodeSpec>, String> {
    if count == 0 || count > CONTROLLER_PORT_OFFSET {
        return Err(format!("--combined must be between 1 and {CONTROLLER_PORT_OFFSET}"));
    }
    let controller_port = args.port.checked_add(CONTROLLER_PORT_OFFSET).ok_or("--port is too high")?;
    controller_port.checked_add(count - 1).ok_or("--port is too high for that many nodes")?;
    let voters = (0..count)
        .map(|i| format!("{}@127.0.0.1:{}", 1 + i32::from(i), controller_port + i))
        .collect::<Vec<_>>()
        .join(",");
    let shared = Shared { voters, replication_factor: count.min(3) };
    let mut nodes = Vec::new();
    for i in 0..count {
        let node_id = 1 + i32::from(i);
        let (port, dir) = (args.port + i, args.dir.join(format!("node-{node_id}")));
        let mut p = String::new();
        writeln!(p, "# A combined node: a voter of the KRaft quorum and a broker, in one process.").unwrap();
        writeln!(p, "node.id={node_id}").unwrap();
        writeln!(p, "process.roles=broker,controller").unwrap();
        writeln!(p, "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{}", controller_port + i)
            .unwrap();
        writeln!(p, "advertised.listeners=PLAINTEXT://127.0.0.1:{port}").unwrap();
        writeln!(p, "inter.broker.listener.name=PLAINTEXT").unwrap();
        writeln!(p, "controller.listener.names=CONTROLLER").unwrap();
        common_properties(&mut p, &dir, &shared);
        apply_overrides(&mut p, &args.overrides)?;
        nodes.push(NodeSpec { node_id, roles: ProcessRoles::Combined, port, dir, properties: p });
    }
    Ok(nodes)
}

/// Appends each `--override key=value` to a node's properties (a later line
/// of a properties file wins, so an override replaces the plan's value).
fn apply_overrides(properties: &mut String, overrides: &[String]) -> Result<(), String> {
    for o in overrides {
        let (k, v) = o.split_once('=').ok_or_else(|| format!("--override {o:?}: expected key=value"))?;
        writeln!(properties, "{}={}", k.trim(), v.trim()).unwrap();
    }
    Ok(())
}

/// What every node's properties say alike.
struct Shared {
    /// `controller.quorum.voters`: every controller.
    voters: String,
    /// Up to 3, as many as there are brokers.
    replication_factor: u16,
}

fn controller_properties(node_id: i32, port: u16, dir: &Path, shared: &Shared) -> String {
    let mut p = String::new();
    writeln!(p, "# A KRaft controller: a voter of the quorum that keeps __cluster_metadata;").unwrap();
    writeln!(p, "# the active one (the quorum's leader) decides leaders and ISRs.").unwrap();
    writeln!(p, "node.id={node_id}").unwrap();
    writeln!(p, "process.roles=controller").unwrap();
    writeln!(p, "listeners=CONTROLLER://127.0.0.1:{port}").unwrap();
    writeln!(p, "controller.listener.names=CONTROLLER").unwrap();
    common_properties(&mut p, dir, shared);
    p
}

fn broker_properties(node_id: i32, port: u16, dir: &Path, shared: &Shared) -> String {
    let mut p = String::new();
    writeln!(p, "# A broker: it hosts partition replicas and answers clients.").unwrap();
    writeln!(p, "node.id={node_id}").unwrap();
    writeln!(p, "process.roles=broker").unwrap();
    writeln!(p, "listeners=PLAINTEXT://127.0.0.1:{port}").unwrap();
    writeln!(p, "advertised.listeners=PLAINTEXT://127.0.0.1:{port}").unwrap();
    writeln!(p, "inter.broker.listener.name=PLAINTEXT").unwrap();
    writeln!(p, "controller.listener.names=CONTROLLER").unwrap();
    common_properties(&mut p, dir, shared);
    p
}

fn common_properties(p: &mut String, dir: &Path, shared: &Shared) {
    writeln!(p, "controller.quorum.voters={}", shared.voters).unwrap();
    writeln!(p, "log.dirs={}", dir.join("data").display()).unwrap();
    writeln!(p, "default.replication.factor={}", shared.replication_factor).unwrap();
    writeln!(p, "offsets.topic.replication.factor={}", shared.replication_factor).unwrap();
}

/// The brokers' addresses, as clients' `bootstrap.servers`.
pub fn bootstrap_servers(nodes: &[NodeSpec]) -> String {
    nodes
        .iter()
        .filter(|n| n.roles.is_broker())
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect::<Vec<_>>()
        .join(",")
}

/// A started node.
struct Running {
    spec: NodeSpec,
    child: Child,
    exited: bool,
}

/// How a node's log directory is formatted with the cluster's id
/// (`kafka-storage.sh format`): given by the `spool` binary, which owns the
/// broker's `meta.properties`.
pub type Format = dyn Fn(&Path, i32, &str) -> std::io::Result<()>;

/// Formats every node's log directory with one cluster id (kept if the
/// cluster was started before), writes their properties, starts them,
/// prints the bootstrap servers, and stops them all on Ctrl-C or SIGTERM.
pub fn main(args: ClusterArgs, format: &Format, new_id: &dyn Fn() -> String) -> anyhow::Result<()> {
    let nodes = plan(&args).map_err(anyhow::Error::msg)?;
    for credential in &args.add_scram {
        crate::controller::scram::bootstrap::parse(credential).map_err(anyhow::Error::msg)?;
    }
    let cluster_id = cluster_id(&args.dir, new_id)?;
    for node in &nodes {
        format(&node.dir.join("data"), node.node_id, &cluster_id)?;
    }
    let exe = std::env::current_exe()?;
    let mut running = Vec::new();
    for spec in nodes {
        match start(&exe, &spec, &args.add_scram) {
            Ok(child) => {
                eprintln!("started {} (pid {}) on 127.0.0.1:{}", spec.name(), child.id(), spec.port);
                running.push(Running { spec, child, exited: false });
            }
            Err(e) => {
                stop_all(&mut running);
                return Err(e.context(format!("starting {}", spec.name())));
            }
        }
    }
    let specs: Vec<NodeSpec> = running.iter().map(|r| r.spec.clone()).collect();
    // A reader that closed stdout must not stop this command before it stops its nodes.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "bootstrap.servers={}", bootstrap_servers(&specs));
    let _ = writeln!(
        stdout,
        "(each node logs to {}/<node>/server.log; Ctrl-C stops the cluster)",
        args.dir.display()
    );
    let _ = stdout.flush();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let watched = runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut every = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                r = tokio::signal::ctrl_c() => return r,
                _ = term.recv() => return Ok(()),
                _ = every.tick() => report_exits(&mut running)?,
            }
        }
    });
    eprintln!("stopping the cluster");
    stop_all(&mut running);
    Ok(watched?)
}

/// The cluster's id: kept in `<dir>/cluster.id` from the first start, so
/// a restart finds the same cluster.
fn cluster_id(dir: &Path, new_id: &dyn Fn() -> String) -> anyhow::Result<String> {
    let path = dir.join("cluster.id");
    match std::fs::read_to_string(&path) {
        Ok(id) => Ok(id.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            let id = new_id();
            std::fs::write(&path, format!("{id}\n"))?;
            Ok(id)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reports each node that exited by itself since the last look.
fn report_exits(running: &mut [Running]) -> std::io::Result<()> {
    for node in running.iter_mut().filter(|n| !n.exited) {
        if let Some(status) = node.child.try_wait()? {
            node.exited = true;
            let log = node.spec.dir.join("server.log");
            eprintln!("{} exited ({status}); see {}", node.spec.name(), log.display());
        }
    }
    Ok(())
}

/// Writes the node's properties file and starts `spool serve` on it (a
/// broker-only node ignores `--add-scram`: the controllers write the users).
fn start(exe: &Path, spec: &NodeSpec, add_scram: &[String]) -> anyhow::Result<Child> {
    std::fs::create_dir_all(&spec.dir)?;
    let properties = spec.dir.join("server.properties");
    std::fs::write(&properties, &spec.properties)?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(spec.dir.join("server.log"))?;
    let mut command = Command::new(exe);
    command
        .arg("serve")
        .arg(&properties)
        .args(add_scram.iter().flat_map(|credential| ["--add-scram", credential.as_str()]))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let parent = rustix::process::getpid();
    // SAFETY: prctl and getppid are async-signal-safe, and nothing else runs
    // between fork and exec. If this command dies without stopping its nodes
    // (SIGKILL, a panic), each node gets SIGTERM rather than running on
    // unowned; a parent already gone before the prctl fails the spawn.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))?;
            match rustix::process::getppid() == Some(parent) {
                true => Ok(()),
                false => Err(std::io::Error::other("spool cluster exited before its node started")),
            }
        });
    }
    Ok(command.spawn()?)
}

/// Stops every running node with SIGTERM, by its own pid, and waits for
/// each: the brokers together first (each hands its leaderships over in its
/// controlled shutdown while the controllers still run), then the
/// controllers together. Combined nodes stop one at a time, last first:
/// each one's broker half shuts down through a quorum of the others.
fn stop_all(running: &mut [Running]) {
    let phases = [ProcessRoles::Broker, ProcessRoles::Controller];
    for phase in phases {
        let nodes: Vec<&mut Running> =
            running.iter_mut().rev().filter(|n| !n.exited && n.spec.roles == phase).collect();
        stop_together(nodes);
    }
    for node in running.iter_mut().rev().filter(|n| !n.exited) {
        stop_together(vec![node]);
    }
}

/// SIGTERM to each of `nodes`, then waits for all of them.
fn stop_together(mut nodes: Vec<&mut Running>) {
    for node in &nodes {
        if let Some(pid) = rustix::process::Pid::from_raw(node.child.id() as i32) {
            // Our own child, not yet reaped: the pid is still its.
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
    for node in &mut nodes {
        let _ = node.child.wait();
        node.exited = true;
        eprintln!("stopped {}", node.spec.name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(controllers: u16, brokers: u16) -> ClusterArgs {
        ClusterArgs {
            controllers,
            brokers,
            combined: None,
            dir: PathBuf::from("/c"),
            port: 9092,
            overrides: vec!["num.partitions=3".into()],
            add_scram: Vec::new(),
        }
    }

    /// The default: three brokers and one controller, Kafka's keys, ids
    /// controllers-first, consecutive broker ports, and every node pointing
    /// at the one voter — chapter 6's cluster, unchanged.
    #[test]
    fn a_three_broker_plan_uses_kafkas_keys() {
        let nodes = plan(&args(1, 3)).unwrap();
        let names: Vec<String> = nodes.iter().map(NodeSpec::name).collect();
        assert_eq!(names, ["controller-1", "broker-2", "broker-3", "broker-4"]);
        assert_eq!(bootstrap_servers(&nodes), "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094");
        let controller = &nodes[0].properties;
        assert!(controller.contains("process.roles=controller\n"), "{controller}");
        // An override reaches the controller too: it applies num.partitions
        // to a CreateTopics that leaves the count to the cluster.
        assert!(controller.contains("num.partitions=3\n"), "{controller}");
        assert!(controller.contains("listeners=CONTROLLER://127.0.0.1:9192\n"), "{controller}");
        for broker in &nodes[1..] {
            let p = &broker.properties;
            assert!(
                p.contains("process.roles=broker\n")
                    && p.contains("controller.quorum.voters=1@127.0.0.1:9192\n")
            );
            assert!(p.contains(&format!("log.dirs=/c/{}/data\n", broker.name())), "{p}");
            assert!(p.contains("default.replication.factor=3\n") && p.contains("num.partitions=3\n"), "{p}");
        }
    }

    /// `--controllers 3`: controllers 1..3 on ports 9192..9194, brokers 4..6,
    /// and every node — controller or broker — lists all three voters (a
    /// quorum as Kafka's KRaft quickstart lays it out); every file loads
    /// under Kafka's rules.
    #[test]
    fn three_controllers_are_a_quorum_every_node_knows() {
        let nodes = plan(&args(3, 3)).unwrap();
        let names: Vec<String> = nodes.iter().map(NodeSpec::name).collect();
        assert_eq!(
            names,
            ["controller-1", "controller-2", "controller-3", "broker-4", "broker-5", "broker-6"]
        );
        let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
        assert_eq!(ports, [9192, 9193, 9194, 9092, 9093, 9094]);
        assert_eq!(bootstrap_servers(&nodes), "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094");
        let voters = "controller.quorum.voters=1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194\n";
        for node in &nodes {
            assert!(node.properties.contains(voters), "{}", node.properties);
            assert!(node.properties.contains(&format!("node.id={}\n", node.node_id)));
            let props = crate::config::BrokerConfig::parse_properties(&node.properties).unwrap();
            let (config, _) = crate::config::BrokerConfig::from_properties(&props)
                .unwrap_or_else(|e| panic!("{}: {e}", node.name()));
            assert_eq!(config.controller_quorum_voters.len(), 3);
            assert_eq!(config.process_roles, node.roles);
        }
        assert!(nodes[1].properties.contains("listeners=CONTROLLER://127.0.0.1:9193\n"));
    }

    /// `--combined 3`: nodes 1..3, each `process.roles=broker,controller`
    /// with a PLAINTEXT listener on 9092.. and a CONTROLLER one on 9192..,
    /// every node listing the three voters; each file loads as a combined
    /// node under Kafka's rules, and the brokers are the bootstrap servers.
    #[test]
    fn combined_nodes_are_voters_and_brokers() {
        let nodes = plan(&ClusterArgs { combined: Some(3), ..args(1, 3) }).unwrap();
        let names: Vec<String> = nodes.iter().map(NodeSpec::name).collect();
        assert_eq!(names, ["node-1", "node-2", "node-3"]);
        assert_eq!(bootstrap_servers(&nodes), "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094");
        let voters = "controller.quorum.voters=1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194\n";
        for node in &nodes {
            let p = &node.properties;
            assert!(p.contains(voters) && p.contains("num.partitions=3\n"), "{p}");
            let props = crate::config::BrokerConfig::parse_properties(p).unwrap();
            let (config, _) = crate::config::BrokerConfig::from_properties(&props)
                .unwrap_or_else(|e| panic!("{}: {e}", node.name()));
            assert_eq!(config.process_roles, ProcessRoles::Combined);
            let listeners: Vec<String> = config.listeners.iter().map(|l| l.to_string()).collect();
            let (b, c) = (node.port, node.port + 100);
            assert_eq!(
                listeners,
                [format!("PLAINTEXT://127.0.0.1:{b}"), format!("CONTROLLER://127.0.0.1:{c}")]
            );
        }
        assert!(plan(&ClusterArgs { combined: Some(0), ..args(1, 3) }).unwrap_err().contains("--combined"));
    }

    /// `--combined` replaces `--controllers` and `--brokers`: naming both is
    /// refused by the parser rather than one silently ignored.
    #[test]
    fn combined_conflicts_with_controllers_and_brokers() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: ClusterArgs,
        }
        let parsed = Cli::try_parse_from(["cluster", "--combined", "3"]).unwrap();
        assert_eq!(parsed.args.combined, Some(3));
        assert!(Cli::try_parse_from(["cluster", "--combined", "3", "--brokers", "2"]).is_err());
        assert!(Cli::try_parse_from(["cluster", "--combined", "3", "--controllers", "3"]).is_err());
    }

    /// One broker cannot hold three replicas: the defaults follow the size.
    /// Impossible shapes are refused, naming the flag.
    #[test]
    fn replication_factor_follows_the_broker_count() {
        let nodes = plan(&args(1, 1)).unwrap();
        assert!(nodes[1].properties.contains("default.replication.factor=1\n"));
        assert!(plan(&args(1, 0)).unwrap_err().contains("--brokers"));
        assert!(plan(&args(0, 3)).unwrap_err().contains("--controllers"));
        assert!(plan(&args(1, 101)).unwrap_err().contains("--brokers"));
        assert!(plan(&ClusterArgs { port: 65535, ..args(1, 3) }).is_err());
        assert!(plan(&ClusterArgs { port: 65435, ..args(3, 1) }).is_err());
    }
}
