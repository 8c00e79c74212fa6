//! The chapter 7 keys: a quorum of several voters loads for every role, and
//! the quorum's timers (`controller.quorum.*.ms`, Kafka's `QuorumConfig`) load
//! with Kafka's defaults and refuse a value that is no timer.

use super::*;

fn load(text: &str) -> Result<BrokerConfig, String> {
    let props = BrokerConfig::parse_properties(text).expect("properties syntax");
    BrokerConfig::from_properties(&props).map(|(config, _)| config)
}

const VOTERS: &str = "controller.quorum.voters=1@127.0.0.1:9191,2@127.0.0.1:9192,3@127.0.0.1:9193";

/// Controller `n` of a three-voter quorum.
fn controller(n: u16) -> String {
    format!(
        "process.roles=controller\nnode.id={n}\n{VOTERS}\nlisteners=CONTROLLER://127.0.0.1:{port}\n\
         controller.listener.names=CONTROLLER\n",
        port = 9190 + n
    )
}

/// A quorum of three voters (KIP-595's Raft quorum, Kafka's usual
/// production layout) is valid for every role: each controller is one of
/// the voters, a broker is none of them, a combined node is one; and every
/// voter is kept, in order.
#[test]
fn a_three_voter_quorum_loads_for_every_role() {
    for n in 1..=3 {
        let config = load(&controller(n)).unwrap_or_else(|e| panic!("controller {n}: {e}"));
        let ids: Vec<i32> = config.controller_quorum_voters.iter().map(|v| v.node_id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(config.controller_quorum_voters[2].endpoint.to_string(), "127.0.0.1:9193");
    }
    let broker = format!(
        "process.roles=broker\nnode.id=4\n{VOTERS}\nlisteners=PLAINTEXT://127.0.0.1:9092\n\
         controller.listener.names=CONTROLLER\n"
    );
    assert_eq!(load(&broker).unwrap().controller_quorum_voters.len(), 3);
    let combined = format!(
        "process.roles=broker,controller\nnode.id=2\n{VOTERS}\n\
         listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9192\ncontroller.listener.names=CONTROLLER\n"
    );
    assert_eq!(load(&combined).unwrap().process_roles, ProcessRoles::Combined);
    // Kafka's rules still hold with several voters.
    let error = load(&controller(1).replace("node.id=1", "node.id=4")).unwrap_err();
    assert!(error.contains("controller.quorum.voters"), "{error}");
    let error = load(&broker.replace("node.id=4", "node.id=3")).unwrap_err();
    assert!(error.contains("controller.quorum.voters"), "{error}");
}

/// The quorum's timers default to Kafka's (`QuorumConfig`: 1000, 2000, 1000,
/// 20, 2000), load under Kafka's names, and are remembered as set.
#[test]
fn the_quorum_timers_load_with_kafkas_defaults() {
    let defaults = load(&controller(1)).unwrap().quorum;
    assert_eq!(defaults, QuorumConfig::default());
    assert_eq!((defaults.election_timeout_ms, defaults.fetch_timeout_ms), (1_000, 2_000));
    assert_eq!((defaults.election_backoff_ms_max, defaults.retry_backoff_ms), (1_000, 20));
    assert_eq!(defaults.request_timeout_ms, 2_000);

    let text = format!(
        "{}controller.quorum.election.timeout.ms=300\ncontroller.quorum.fetch.timeout.ms=600\n\
         controller.quorum.election.backoff.max.ms=200\ncontroller.quorum.retry.backoff.ms=0\n\
         controller.quorum.request.timeout.ms=900\n",
        controller(1)
    );
    let config = load(&text).unwrap();
    let q = &config.quorum;
    assert_eq!((q.election_timeout_ms, q.fetch_timeout_ms, q.election_backoff_ms_max), (300, 600, 200));
    assert_eq!((q.retry_backoff_ms, q.request_timeout_ms), (0, 900));
    assert!(config.static_values.contains_key("controller.quorum.request.timeout.ms"));
}

/// A zero timeout or election backoff is no timer, and a value that is not
/// a number is no value: each is refused naming its key.
#[test]
fn each_quorum_timer_rule_is_refused_naming_its_key() {
    for (line, key) in [
        ("controller.quorum.election.timeout.ms=0", "controller.quorum.election.timeout.ms"),
        ("controller.quorum.fetch.timeout.ms=0", "controller.quorum.fetch.timeout.ms"),
        ("controller.quorum.election.backoff.max.ms=0", "controller.quorum.election.backoff.max.ms"),
        ("controller.quorum.request.timeout.ms=0", "controller.quorum.request.timeout.ms"),
        ("controller.quorum.retry.backoff.ms=-5", "controller.quorum.retry.backoff.ms"),
        ("controller.quorum.fetch.timeout.ms=soon", "controller.quorum.fetch.timeout.ms"),
    ] {
        let text = format!("{}{line}\n", controller(1));
        let error = load(&text).expect_err(line);
        assert!(error.contains(key), "error {error:?} does not name {key}");
    }
}

/// `spool.quorum.pre.vote` (spool's own key) is on unless set: KIP-996's
/// pre-vote is Kafka 4.0's only behaviour. `false` turns it off for the
/// bench; a value that is no boolean is refused naming the key.
#[test]
fn the_pre_vote_switch_defaults_on_and_loads() {
    assert!(load(&controller(1)).unwrap().quorum.pre_vote);
    let config = load(&format!("{}spool.quorum.pre.vote=false\n", controller(1))).unwrap();
    assert!(!config.quorum.pre_vote);
    assert!(config.static_values.contains_key("spool.quorum.pre.vote"));
    let error = load(&format!("{}spool.quorum.pre.vote=maybe\n", controller(1))).unwrap_err();
    assert!(error.contains("spool.quorum.pre.vote"), "{error}");
}

/// `metadata.log.max.record.bytes.between.snapshots` (Kafka's
/// `MetadataLogConfig`) defaults to 20 MiB, loads, and must be positive;
/// `metadata.log.max.snapshot.interval.ms` defaults to an hour and loads.
#[test]
fn the_snapshot_interval_defaults_to_kafkas_and_loads() {
    assert_eq!(load(&controller(1)).unwrap().quorum.snapshot_record_bytes_max, 20 * 1024 * 1024);
    let config = load(&format!("{}metadata.log.max.record.bytes.between.snapshots=2048\n", controller(1)));
    assert_eq!(config.unwrap().quorum.snapshot_record_bytes_max, 2048);
    let error = load(&format!("{}metadata.log.max.record.bytes.between.snapshots=0\n", controller(1)));
    assert!(error.unwrap_err().contains("metadata.log.max.record.bytes.between.snapshots"));
    assert_eq!(load(&controller(1)).unwrap().quorum.snapshot_interval_ms, 3_600_000);
    let config = load(&format!("{}metadata.log.max.snapshot.interval.ms=500\n", controller(1)));
    assert_eq!(config.unwrap().quorum.snapshot_interval_ms, 500);
}

/// `spool.quorum.trace.dir` (spool's own key, `crate::raft::trace`) is off
/// unless set, and loads as a directory.
#[test]
fn the_quorum_trace_is_off_unless_a_directory_is_set() {
    assert_eq!(load(&controller(1)).unwrap().quorum.trace_dir, None);
    let config = load(&format!("{}spool.quorum.trace.dir=/tmp/traces\n", controller(1))).unwrap();
    assert_eq!(config.quorum.trace_dir, Some(std::path::PathBuf::from("/tmp/traces")));
}
