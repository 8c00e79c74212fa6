//! Chapter 11 (issue 19, "Judged by real clients"): SCRAM over SASL_SSL and
//! SASL_PLAINTEXT, driven by confluent-kafka, kcat, kafka-python, aiokafka
//! and kafkajs against one `spool serve` per test:
//!
//! ```text
//!  PLAINTEXT       the test's setup (spool configs, spool topics)
//!  SASL_SSL        SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN over TLS (a test CA)
//!  SASL_PLAINTEXT  the same three mechanisms
//! ```
//!
//! alice's SCRAM-SHA-512 and SCRAM-SHA-256 credentials are made by `spool
//! configs --entity-type users` (AlterUserScramCredentials, KIP-554); each
//! client produces and consumes as alice, and a wrong password is refused
//! with the client's authentication error. confluent-kafka's AdminClient
//! then makes bob's credential itself, describes it, and bob logs in. kcat
//! links librdkafka 2.0.2, whose SCRAM nonce bug (fixed in 2.6.1) Kafka 4 and
//! spool refuse: it is judged with PLAIN over SASL_SSL instead.
//!
//! ```text
//! tests/clients/setup.sh     # once: .venv-clients/, node_modules/
//! cargo build && cargo test --test it scram_clients::
//! ```

use crate::common::serve;
use crate::common::turn;
use crate::tls::certs;
use serve::{free_port, spawn_serve};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use certs::Pki;

const PLAIN_JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret";"#;

/// A `spool serve` child with the listeners of the module docs; killed by
/// its own pid when dropped.
struct Serve {
    child: Child,
    plaintext: String,
    sasl_ssl: String,
    sasl_plaintext: String,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Serve {
    /// Starts the broker, gives alice both SCRAM credentials and creates `secured`.
    fn start() -> Serve {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = Pki::new(dir.path());
        let addr = || format!("127.0.0.1:{}", free_port());
        let (plaintext, sasl_ssl, sasl_plaintext) = (addr(), addr(), addr());
        let overrides = [
            format!("listeners=PLAINTEXT://{plaintext},SASL_SSL://{sasl_ssl},SASL_PLAINTEXT://{sasl_plaintext}"),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"
                .into(),
            format!("ssl.keystore.location={}", pki.broker("broker").display()),
            format!("listener.name.sasl_ssl.plain.sasl.jaas.config={PLAIN_JAAS}"),
            format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
            "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN".into(),
            format!("log.dirs={}", dir.path().join("data").display()),
            "offsets.topic.replication.factor=1".into(),
            "transaction.state.log.replication.factor=1".into(),
            "transaction.state.log.min.isr=1".into(),
            "group.initial.rebalance.delay.ms=0".into(),
        ];
        let child = spawn_serve(&overrides, 3);
        let serve = Serve { child, plaintext, sasl_ssl, sasl_plaintext, ca: pki.ca.clone(), _dir: dir };
        for mechanism in ["SCRAM-SHA-512", "SCRAM-SHA-256"] {
            let credential = format!("{mechanism}=[iterations=8192,password=alice-secret]");
            serve.spool(
                &["configs", "--alter", "--entity-type", "users", "--entity-name", "alice"],
                &credential,
            );
        }
        serve.spool(&["topics", "--create", "--topic", "secured", "--partitions", "3"], "");
        serve
    }

    /// `spool args --bootstrap-server PLAINTEXT [--add-config add]`, which must succeed.
    fn spool(&self, args: &[&str], add: &str) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_spool"));
        command.args(args).args(["--bootstrap-server", &self.plaintext]);
        if !add.is_empty() {
            command.args(["--add-config", add]);
        }
        let output = command.output().expect("spool");
        assert!(output.status.success(), "spool {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// The scripts' security flags: SASL_SSL (with the CA) or SASL_PLAINTEXT as alice.
    fn security_args(&self, protocol: &str, mechanism: &str, password: &str) -> Vec<String> {
        let addr = if protocol == "SASL_SSL" { &self.sasl_ssl } else { &self.sasl_plaintext };
        let mut args = argv(&["--bootstrap", addr, "--protocol", protocol, "--mechanism", mechanism]);
        args.extend(argv(&["--user", "alice", "--password", password]));
        if protocol == "SASL_SSL" {
            args.extend(argv(&["--ca", &self.ca.display().to_string()]));
        }
        args
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn python() -> String {
    let python = clients_dir().join("../../.venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    python.display().to_string()
}

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Runs `program args` in `tests/clients` (90 s at most), prints its output,
/// and returns it; `Err` unless it exited 0 (and printed OK, when `ok`).
fn run(program: &str, args: &[String], stdin: &str, ok: bool) -> Result<String, String> {
    let mut child = Command::new("timeout")
        .args(["--kill-after=5", "90", program])
        .args(args)
        .current_dir(clients_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the client");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("$ {program} {}\n{stdout}{stderr}", args.join(" "));
    match output.status.success() && (!ok || stdout.lines().any(|l| l == "OK")) {
        true => Ok(stdout.into_owned()),
        false => Err(format!("{stdout}{stderr}")),
    }
}

/// `security_scenario.py client mode` as alice, which must print OK.
fn python_scenario(serve: &Serve, client: &str, mode: &str, protocol: &str, mechanism: &str, password: &str) {
    let mut args = argv(&["security_scenario.py", client, mode]);
    args.extend(serve.security_args(protocol, mechanism, password));
    run(&python(), &args, "", true).expect("the scenario passes");
}

/// confluent-kafka (librdkafka) produces and consumes over SASL_SSL with
/// SCRAM-SHA-512 and over SASL_PLAINTEXT with SCRAM-SHA-256; a wrong password
/// is an authentication failure.
#[test]
fn confluent_kafka_scram_over_sasl_ssl_and_sasl_plaintext() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    python_scenario(&serve, "confluent", "roundtrip", "SASL_SSL", "SCRAM-SHA-512", "alice-secret");
    python_scenario(&serve, "confluent", "bad-login", "SASL_SSL", "SCRAM-SHA-512", "guess");
    python_scenario(&serve, "confluent", "roundtrip", "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice-secret");
}

/// kafka-python logs in with SCRAM-SHA-256 over SASL_SSL and SASL_PLAINTEXT;
/// a wrong password is SaslAuthenticationFailedError.
#[test]
fn kafka_python_scram_sha_256() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    python_scenario(&serve, "kafka-python", "roundtrip", "SASL_SSL", "SCRAM-SHA-256", "alice-secret");
    python_scenario(&serve, "kafka-python", "bad-login", "SASL_SSL", "SCRAM-SHA-256", "guess");
    python_scenario(&serve, "kafka-python", "roundtrip", "SASL_PLAINTEXT", "SCRAM-SHA-512", "alice-secret");
}

/// aiokafka logs in with SCRAM-SHA-256 over SASL_SSL; a wrong password is
/// its authentication error.
#[test]
fn aiokafka_scram_sha_256() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    python_scenario(&serve, "aiokafka", "roundtrip", "SASL_SSL", "SCRAM-SHA-256", "alice-secret");
    python_scenario(&serve, "aiokafka", "bad-login", "SASL_SSL", "SCRAM-SHA-256", "guess");
}

/// kafkajs logs in with `scram-sha-512` over SASL_SSL; a wrong password is
/// refused.
#[test]
fn kafkajs_scram_sha_512() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    for (mode, password) in [("roundtrip", "alice-secret"), ("bad-login", "guess")] {
        let mut args = argv(&["security_kafkajs.js", mode]);
        args.extend(serve.security_args("SASL_SSL", "SCRAM-SHA-512", password));
        run("node", &args, "", true).expect("the kafkajs scenario passes");
    }
}

/// kcat links librdkafka 2.0.2, whose SCRAM client-final repeats the client
/// nonce (librdkafka#4895, fixed in 2.6.1): spool checks the nonce exactly as
/// RFC 5802 and Kafka 4 do (CVE-2024-56128), so kcat's SCRAM-SHA-512 login is
/// refused with "Invalid nonce" while confluent-kafka's librdkafka 2.16 logs
/// in (above). Over the same SASL_SSL listener kcat produces and consumes
/// with PLAIN, and a wrong PLAIN password is "Authentication failed".
#[test]
fn kcat_over_sasl_ssl_plain_and_its_old_scram_refused() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    let security = |mechanism: &str, user: &str, password: &str| {
        let ca = format!("ssl.ca.location={}", serve.ca.display());
        let (mechanism, user) = (format!("sasl.mechanisms={mechanism}"), format!("sasl.username={user}"));
        let password = format!("sasl.password={password}");
        let mut args = argv(&["-b", &serve.sasl_ssl, "-X", "security.protocol=sasl_ssl", "-X", &ca]);
        args.extend(argv(&["-X", &mechanism, "-X", &user, "-X", &password]));
        args
    };
    let mut produce = argv(&["-t", "secured", "-p", "0", "-P", "-K", ":"]);
    produce.extend(security("PLAIN", "admin", "admin-secret"));
    run("kcat", &produce, "k-1:v-1\nk-2:v-2\n", false).expect("produce");
    let mut consume = argv(&["-t", "secured", "-p", "0", "-C", "-o", "beginning", "-e", "-f", "%k=%s\n"]);
    consume.extend(security("PLAIN", "admin", "admin-secret"));
    assert_eq!(run("kcat", &consume, "", false).expect("consume"), "k-1=v-1\nk-2=v-2\n");
    let mut list = argv(&["-L", "-m", "5"]);
    list.extend(security("PLAIN", "admin", "guess"));
    let refused = run("kcat", &list, "", false).expect_err("a wrong password lists nothing");
    assert!(refused.contains("Authentication failed"), "{refused}");
    let mut scram = argv(&["-L", "-m", "5"]);
    scram.extend(security("SCRAM-SHA-512", "alice", "alice-secret"));
    let refused = run("kcat", &scram, "", false).expect_err("librdkafka 2.0.2's SCRAM nonce is refused");
    assert!(refused.contains("Invalid nonce"), "{refused}");
}

/// confluent-kafka's AdminClient, logged in as alice over SASL_SSL, creates
/// bob's SCRAM-SHA-512 credential and describes it; bob then logs in, and a
/// wrong password for bob does not.
#[test]
fn confluent_kafka_admin_makes_a_scram_user_who_logs_in() {
    let _turn = turn::take_turn();
    let serve = Serve::start();
    let mut args =
        argv(&["scram_admin.py", "--bootstrap", &serve.sasl_ssl, "--ca", &serve.ca.display().to_string()]);
    args.extend(argv(&["--user", "alice", "--password", "alice-secret"]));
    run(&python(), &args, "", true).expect("the admin scenario passes");
}
