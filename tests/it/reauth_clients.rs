//! Chapter 11 (issue 19, KIP-368): real clients keep their SASL connections
//! across several session lifetimes by re-authenticating on them, judged
//! from the broker's own log.
//!
//! ```text
//!  PLAINTEXT       the test's setup (spool topics)
//!  SASL_PLAINTEXT  PLAIN, connections.max.reauth.ms=5000
//!  client          produces and reads back for 16 s: more than three lifetimes
//!  broker log      "SASL re-authentication succeeded" for the client's principal,
//!                  no "session expired" close
//! ```
//!
//! Each client logs in as its own PLAIN user, so the lines of its run are
//! the lines naming its principal. librdkafka (confluent-kafka 2.16.1)
//! re-authenticates on a timer before the session ends; kafkajs 2.2.4
//! before a request, within `reauthenticationThreshold` of the end;
//! kafka-python 3.0.12, despite the issue's guess, implements KIP-368 too
//! (`SaslReauthenticator`, at 85–95 % of the lifetime) and is judged the
//! same way. A connection that does not re-authenticate and is then used is
//! closed, with a log line naming the expired session: the unit tests of
//! `security::sasl::reauth_tests` pin that, and here its absence is checked.
//!
//! ```text
//! tests/clients/setup.sh     # once: .venv-clients/, node_modules/
//! cargo build && cargo test --test it reauth_clients::
//! ```

use crate::common::clients::{clients_dir, node_with_kafkajs, python_with};
use crate::common::serve::{free_port, spawn_serve_logged};
use crate::common::turn;

use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

/// Long enough that a client's re-authentication timer (librdkafka's and
/// kafka-python's fire at 85–95 % of the lifetime) is not late on a loaded
/// machine: the margin is 250 ms or more.
const LIFETIME_MS: u64 = 5000;
/// How long each client keeps busy: more than three session lifetimes.
const BUSY_S: &str = "16";
const PLAIN_JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret" user_carol="carol-secret";"#;

/// A `spool serve` child with a PLAINTEXT and a SASL_PLAINTEXT listener and
/// its log; killed by its own pid when dropped.
struct Serve {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    plaintext: String,
    sasl: String,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start() -> Serve {
        let dir = tempfile::tempdir().expect("tempdir");
        let (plaintext, sasl) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
        let overrides = [
            format!("listeners=PLAINTEXT://{plaintext},SASL_PLAINTEXT://{sasl}"),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT".into(),
            format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
            "sasl.enabled.mechanisms=PLAIN".into(),
            format!("connections.max.reauth.ms={LIFETIME_MS}"),
            format!("log.dirs={}", dir.path().join("data").display()),
            "offsets.topic.replication.factor=1".into(),
            "group.initial.rebalance.delay.ms=0".into(),
        ];
        let (child, log) = spawn_serve_logged(&overrides, 2);
        Serve { child, log, plaintext, sasl, _dir: dir }
    }

    /// Creates `topic` with one partition over PLAINTEXT.
    fn create_topic(&self, topic: &str) {
        let output = Command::new(env!("CARGO_BIN_EXE_spool"))
            .args(["topics", "--create", "--topic", topic, "--partitions", "1"])
            .args(["--bootstrap-server", &self.plaintext])
            .output()
            .expect("spool topics");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }

    /// The broker's log lines that contain every one of `words`.
    fn lines(&self, words: &[&str]) -> Vec<String> {
        let log = self.log.lock().expect("the log");
        log.iter().filter(|line| words.iter().all(|w| line.contains(w))).cloned().collect()
    }

    /// Runs `program script…` (a client script, 60 s at most) in
    /// tests/clients as `user`, on its own topic; it must exit 0 and print OK.
    fn run_client(&self, program: &str, script: &[&str], user: &str) {
        let topic = format!("reauth-{user}");
        self.create_topic(&topic);
        let output = Command::new("timeout")
            .args(["--kill-after=5", "60"])
            .arg(program)
            .args(script)
            .args(["--bootstrap", &self.sasl, "--user", user, "--password", &format!("{user}-secret")])
            .args(["--topic", &topic, "--seconds", BUSY_S])
            .current_dir(clients_dir())
            .output()
            .expect("run the client");
        let (stdout, stderr) =
            (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        println!("$ {program} {} as {user}\n{stdout}{stderr}", script.join(" "));
        assert!(output.status.success() && stdout.lines().any(|l| l == "OK"), "{stdout}{stderr}");
    }

    /// The broker re-authenticated `user`'s connections at least `at_least`
    /// times and closed none of them for an expired session.
    fn assert_reauthenticated(&self, user: &str, at_least: usize) {
        let principal = format!("User:{user}");
        let reauthentications = self.lines(&["SASL re-authentication succeeded", &principal]);
        println!("{} re-authentications of {principal}", reauthentications.len());
        assert!(
            reauthentications.len() >= at_least,
            "{principal} re-authenticated {} times, expected at least {at_least}: {:#?}",
            reauthentications.len(),
            self.lines(&["SASL"])
        );
        let expired = self.lines(&["session expired", &principal]);
        assert!(expired.is_empty(), "{principal}'s connections were closed for expiry: {expired:#?}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// confluent-kafka (librdkafka 2.16) produces and reads back for more than
/// three 5 s sessions on the same connections: the broker logs its
/// re-authentications (two connections, each at least twice) and no
/// connection closed for an expired session.
#[test]
fn confluent_kafka_reauthenticates() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    let python = python_with("confluent_kafka").display().to_string();
    serve.run_client(&python, &["reauth_scenario.py", "confluent"], "alice");
    serve.assert_reauthenticated("alice", 4);
}

/// kafka-python 3.0.12 implements KIP-368: its connections re-authenticate
/// too, and none is closed for expiry.
#[test]
fn kafka_python_reauthenticates() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    let python = python_with("kafka").display().to_string();
    serve.run_client(&python, &["reauth_scenario.py", "kafka-python"], "carol");
    serve.assert_reauthenticated("carol", 4);
}

/// kafkajs 2.2.4, with `reauthenticationThreshold` below the lifetime,
/// re-authenticates before its requests and keeps its connections.
#[test]
fn kafkajs_reauthenticates() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    let node = node_with_kafkajs().display().to_string();
    serve.run_client(&node, &["reauth_kafkajs.js"], "bob");
    serve.assert_reauthenticated("bob", 4);
}
