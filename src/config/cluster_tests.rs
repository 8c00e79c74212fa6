//! The chapter 6 keys: a Kafka-style cluster's properties files load, and each
//! of Kafka's KRaft and replication rules refuses a file that breaks it with
//! an error naming the key to change (`KafkaConfig.validateValues`).

use super::*;

fn load(text: &str) -> Result<BrokerConfig, String> {
    let props = BrokerConfig::parse_properties(text).expect("properties syntax");
    BrokerConfig::from_properties(&props).map(|(config, _)| config)
}

/// The controller node of the cluster below: one voter, one CONTROLLER listener.
const CONTROLLER: &str = "process.roles=controller\nnode.id=0\n\
    controller.quorum.voters=0@127.0.0.1:9093\nlisteners=CONTROLLER://127.0.0.1:9093\n\
    controller.listener.names=CONTROLLER\nlog.dirs=/tmp/c0\n";

/// Broker `n` of the cluster: a PLAINTEXT listener, the controller found by
/// its bootstrap address (KIP-853) or the voters list.
fn broker(n: u16, quorum: &str) -> String {
    format!(
        "process.roles=broker\nnode.id={n}\n{quorum}\nlisteners=PLAINTEXT://127.0.0.1:{port}\n\
         advertised.listeners=PLAINTEXT://localhost:{port}\ncontroller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\nlog.dirs=/tmp/b{n}\n",
        port = 9100 + n
    )
}

/// A cluster as Kafka's KRaft quickstart lays it out — one `controller` node,
/// three `broker` nodes — loads from four properties files, with every
/// listener, the quorum and the roles as written, and replication defaults.
#[test]
fn a_kafka_style_cluster_loads() {
    let controller = load(CONTROLLER).unwrap();
    assert_eq!(controller.process_roles, ProcessRoles::Controller);
    assert!(controller.process_roles.is_controller() && !controller.process_roles.is_broker());
    assert_eq!(controller.listeners.len(), 1);
    assert_eq!(controller.listeners[0].name, "CONTROLLER");
    assert_eq!(controller.listeners[0].protocol, "PLAINTEXT", "CONTROLLER maps to PLAINTEXT by default");
    assert_eq!(controller.listener.port(), 9093, "a controller-only node's listener is its controller's");
    assert!(controller.advertised_listeners.is_empty(), "controller listeners are not advertised to clients");
    let voter = QuorumVoter { node_id: 0, endpoint: HostPort { host: "127.0.0.1".into(), port: 9093 } };
    assert_eq!(controller.controller_quorum_voters, vec![voter.clone()]);

    for n in 1..=3 {
        let quorums = [
            "controller.quorum.voters=0@127.0.0.1:9093",
            "controller.quorum.bootstrap.servers=127.0.0.1:9093",
        ];
        for quorum in quorums {
            let config = load(&broker(n, quorum)).unwrap_or_else(|e| panic!("broker {n}: {e}"));
            assert_eq!(config.node_id, i32::from(n));
            assert_eq!(config.process_roles, ProcessRoles::Broker);
            assert_eq!(config.listener.port(), 9100 + n);
            assert_eq!((config.advertised_host.as_str(), config.advertised_port), ("localhost", 9100 + n));
            assert_eq!(config.controller_listener_names, vec!["CONTROLLER".to_string()]);
            assert_eq!(config.inter_broker_listener_name, "PLAINTEXT");
            if quorum.contains("voters") {
                assert_eq!(config.controller_quorum_voters, vec![voter.clone()]);
            } else {
                let bootstrap = HostPort { host: "127.0.0.1".into(), port: 9093 };
                assert_eq!(config.controller_quorum_bootstrap_servers, vec![bootstrap]);
            }
            assert_eq!(config.replication, ReplicationConfig::default());
        }
    }
}

/// A combined node listens on both; `listener` (what existing callers bind)
/// is the first broker listener wherever the controller's sits, and the
/// advertised listeners default to the broker's, 0.0.0.0 shown as 127.0.0.1.
#[test]
fn a_combined_node_separates_its_broker_and_controller_listeners() {
    let config = load(
        "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:9093\n\
         listeners=CONTROLLER://127.0.0.1:9093,PLAINTEXT://:9092,INTERNAL://127.0.0.1:9094\n\
         listener.security.protocol.map=INTERNAL:PLAINTEXT\n\
         controller.listener.names=CONTROLLER\ninter.broker.listener.name=INTERNAL\n",
    )
    .unwrap();
    assert_eq!(config.process_roles, ProcessRoles::Combined);
    assert_eq!(config.process_roles.to_string(), "broker,controller");
    assert_eq!(ProcessRoles::parse("controller,broker"), Ok(ProcessRoles::Combined));
    let names: Vec<&str> = config.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["CONTROLLER", "PLAINTEXT", "INTERNAL"]);
    assert_eq!(config.listener, "0.0.0.0:9092".parse().unwrap());
    let advertised: Vec<String> = config.advertised_listeners.iter().map(ToString::to_string).collect();
    assert_eq!(advertised, ["PLAINTEXT://127.0.0.1:9092", "INTERNAL://127.0.0.1:9094"]);
    assert_eq!((config.advertised_host.as_str(), config.advertised_port), ("127.0.0.1", 9092));
}

/// Kafka's replication keys load under their own names, defaults as Kafka's
/// (`ReplicationConfigs`, `KRaftConfigs`), and each is remembered as set for
/// DescribeConfigs.
#[test]
fn replication_keys_load_with_kafkas_defaults() {
    let defaults = ReplicationConfig::default();
    assert_eq!((defaults.broker_session_timeout_ms, defaults.broker_heartbeat_interval_ms), (9_000, 2_000));
    assert_eq!((defaults.replica_lag_time_ms_max, defaults.replica_fetch_wait_ms_max), (30_000, 500));
    assert_eq!((defaults.replica_fetch_bytes_min, defaults.replica_fetch_bytes_max), (1, 1_048_576));
    assert_eq!(defaults.replica_fetch_response_bytes_max, 10_485_760);
    assert_eq!((defaults.replica_fetch_backoff_ms, defaults.replica_socket_timeout_ms), (1_000, 30_000));
    assert_eq!(defaults.high_watermark_checkpoint_interval_ms, 5_000);
    assert_eq!(defaults.min_insync_replicas, 1);
    assert!(!defaults.unclean_leader_election && defaults.controlled_shutdown);

    let text = "broker.session.timeout.ms=6000\nbroker.heartbeat.interval.ms=500\n\
        replica.lag.time.max.ms=10000\nreplica.fetch.wait.max.ms=100\nreplica.fetch.min.bytes=10\n\
        replica.fetch.max.bytes=2048\nreplica.fetch.response.max.bytes=4096\nreplica.fetch.backoff.ms=50\n\
        replica.socket.timeout.ms=5000\nreplica.high.watermark.checkpoint.interval.ms=250\n\
        min.insync.replicas=2\nunclean.leader.election.enable=true\ncontrolled.shutdown.enable=false\n\
        default.replication.factor=3\n";
    let props = BrokerConfig::parse_properties(text).unwrap();
    let (config, ignored) = BrokerConfig::from_properties(&props).unwrap();
    assert!(ignored.is_empty(), "{ignored:?}");
    assert_eq!(config.static_values.len(), props.len());
    let r = &config.replication;
    assert_eq!((r.broker_session_timeout_ms, r.broker_heartbeat_interval_ms), (6_000, 500));
    assert_eq!((r.replica_lag_time_ms_max, r.replica_fetch_wait_ms_max), (10_000, 100));
    assert_eq!((r.replica_fetch_bytes_min, r.replica_fetch_bytes_max), (10, 2048));
    assert_eq!(r.replica_fetch_response_bytes_max, 4096);
    assert_eq!((r.replica_fetch_backoff_ms, r.replica_socket_timeout_ms), (50, 5_000));
    assert_eq!(r.high_watermark_checkpoint_interval_ms, 250);
    assert_eq!(r.min_insync_replicas, 2);
    assert!(r.unclean_leader_election && !r.controlled_shutdown);
    assert_eq!(config.default_replication_factor, 3);
}

/// Each broken rule is refused, and the error names the key to change.
/// Every case starts from a valid node and breaks one thing.
#[test]
fn each_kraft_rule_is_refused_naming_its_key() {
    let broker1 = broker(1, "controller.quorum.voters=0@127.0.0.1:9093");
    let combined = "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:9093\n\
        listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\n";
    assert!(load(&broker1).is_ok() && load(combined).is_ok() && load(CONTROLLER).is_ok());
    let with = |base: &str, line: &str| format!("{base}{line}\n");
    let cases: Vec<(String, &str)> = vec![
        (with(&broker1, "node.id=-1"), "node.id"),
        (broker1.replace("controller.quorum.voters=0@127.0.0.1:9093", ""), "controller.quorum.voters"),
        (with(&broker1, "process.roles=broker,observer"), "process.roles"),
        (with(&broker1, "process.roles=broker,broker"), "process.roles"),
        // A controller must be a voter, and listen on a controller listener.
        (with(CONTROLLER, "node.id=7"), "controller.quorum.voters"),
        (with(CONTROLLER, "controller.listener.names=OTHER"), "controller.listener.names"),
        (with(combined, "controller.listener.names=CONTROLLER,CONTROLLER2"), "controller.listener.names"),
        // A controller-only node serves nothing but the controller.
        (with(CONTROLLER, "listeners=CONTROLLER://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092"), "listeners"),
        // A broker-only node dials the controller; it never is one.
        (with(&broker1, "controller.listener.names="), "controller.listener.names"),
        (with(&broker1, "node.id=0"), "controller.quorum.voters"),
        (
            with(&broker1, "listeners=PLAINTEXT://127.0.0.1:9101,CONTROLLER://127.0.0.1:9093"),
            "controller.listener.names",
        ),
        // Followers must be able to reach a broker on its inter-broker listener.
        (with(&broker1, "inter.broker.listener.name=INTERNAL"), "inter.broker.listener.name"),
        (
            with(
                &broker1,
                "advertised.listeners=OTHER://host:9101\nlistener.security.protocol.map=OTHER:PLAINTEXT",
            ),
            "advertised.listeners: OTHER://host:9101 names no listener",
        ),
        (with(&broker1, "advertised.listeners=PLAINTEXT://0.0.0.0:9101"), "0.0.0.0"),
        (with(&broker1, "listeners=PLAINTEXT://127.0.0.1:9101,PLAINTEXT://127.0.0.1:9102"), "listeners"),
        (with(&broker1, "listeners="), "listeners"),
        (with(&broker1, "listeners=PLAINTEXT://broker-1.example:9101"), "listeners"),
        // The quorum's own syntax.
        (with(&broker1, "controller.quorum.voters=0@127.0.0.1"), "controller.quorum.voters"),
        (with(&broker1, "controller.quorum.voters=zero@127.0.0.1:9093"), "controller.quorum.voters"),
        (with(&broker1, "controller.quorum.voters=0@a:1,0@b:2"), "controller.quorum.voters"),
        (
            with(&broker1, "controller.quorum.bootstrap.servers=127.0.0.1"),
            "controller.quorum.bootstrap.servers",
        ),
        // A quorum without roles is a half-configured cluster node, not a standalone one.
        ("controller.quorum.voters=0@127.0.0.1:9093\n".into(), "process.roles"),
    ];
    for (text, key) in cases {
        let error = load(&text).expect_err(&text);
        assert!(error.contains(key), "error {error:?} does not name {key} for:\n{text}");
    }
}

/// Kafka's replication rules: a follower's fetch wait fits inside its socket
/// timeout and the ISR lag bound; `min.insync.replicas` is at least 1.
#[test]
fn each_replication_rule_is_refused_naming_its_key() {
    for (text, key) in [
        ("replica.fetch.wait.max.ms=40000\nreplica.lag.time.max.ms=60000", "replica.socket.timeout.ms"),
        ("replica.fetch.wait.max.ms=1000\nreplica.lag.time.max.ms=500", "replica.lag.time.max.ms"),
        ("min.insync.replicas=0", "min.insync.replicas"),
        ("broker.heartbeat.interval.ms=0", "broker.heartbeat.interval.ms"),
        ("replica.fetch.max.bytes=lots", "replica.fetch.max.bytes"),
        ("unclean.leader.election.enable=maybe", "unclean.leader.election.enable"),
        ("leader.imbalance.check.interval.seconds=0", "leader.imbalance.check.interval.seconds"),
        ("auto.leader.rebalance.enable=sometimes", "auto.leader.rebalance.enable"),
        ("leader.imbalance.per.broker.percentage=ten", "leader.imbalance.per.broker.percentage"),
    ] {
        let error = load(text).expect_err(text);
        assert!(error.contains(key), "error {error:?} does not name {key}");
    }
}

/// The automatic leader rebalance keys load with Kafka's defaults (on, every
/// 300 s, 10 %), and Kafka's percentage takes any int, as its `ConfigDef`
/// has no validator for it (KRaft's controller never reads it).
#[test]
fn the_leader_rebalance_keys_load() {
    let defaults = load("").unwrap().replication;
    assert!(defaults.auto_leader_rebalance);
    assert_eq!(defaults.leader_imbalance_check_interval_seconds, 300);
    assert_eq!(defaults.leader_imbalance_per_broker_percentage, 10);
    let set = load(
        "auto.leader.rebalance.enable=false
leader.imbalance.check.interval.seconds=1
\
         leader.imbalance.per.broker.percentage=-5
",
    )
    .unwrap()
    .replication;
    assert!(!set.auto_leader_rebalance);
    assert_eq!(set.leader_imbalance_check_interval_seconds, 1);
    assert_eq!(set.leader_imbalance_per_broker_percentage, -5);
}

/// Without `process.roles` a file loads as the standalone node it always was:
/// no quorum needed, `listener` the first listener.
#[test]
fn no_process_roles_is_a_standalone_node() {
    let config = load("listeners=PLAINTEXT://127.0.0.1:19092\n").unwrap();
    assert_eq!(config.process_roles, ProcessRoles::Standalone);
    assert!(config.process_roles.is_broker() && config.process_roles.is_controller());
    assert!(!config.process_roles.is_kraft());
    assert_eq!(config.listener.port(), 19092);
    assert_eq!(BrokerConfig::default().listeners[0].to_string(), "PLAINTEXT://127.0.0.1:9092");
}
