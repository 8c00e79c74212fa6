//! Chapter 11 (issue 19): the tools take Kafka's client security keys. A
//! `spool serve` with a PLAINTEXT listener and a SASL_SSL listener offering
//! SCRAM-SHA-512 gets alice's credential through `spool configs` (over
//! PLAINTEXT), then `spool topics`, `spool produce`, `spool consume` and
//! `spool perf` reach the SASL_SSL listener with one properties file — exactly the file a Kafka
//! user hands `kafka-topics.sh --command-config`:
//!
//! ```text
//! security.protocol=SASL_SSL
//! ssl.truststore.type=PEM
//! ssl.truststore.location=<the test CA>
//! sasl.mechanism=SCRAM-SHA-512
//! sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
//!     username="alice" password="alice-secret";
//! ```
//!
//! ```text
//! cargo build && cargo test --test it security_tools::
//! ```

use crate::common::serve;
use crate::tls::certs;
use serve::{free_port, spawn_serve};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use certs::Pki;

/// A `spool serve` child with a PLAINTEXT and a SASL_SSL listener; killed
/// by its own pid when dropped.
struct Serve {
    child: Child,
    plaintext: String,
    sasl_ssl: String,
    ca: PathBuf,
    dir: tempfile::TempDir,
}

impl Serve {
    fn start() -> Serve {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = Pki::new(dir.path());
        let (plaintext, sasl_ssl) =
            (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
        let overrides = [
            format!("listeners=PLAINTEXT://{plaintext},SASL_SSL://{sasl_ssl}"),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL".into(),
            format!("ssl.keystore.location={}", pki.broker("broker").display()),
            "sasl.enabled.mechanisms=SCRAM-SHA-512".into(),
            format!("log.dirs={}", dir.path().join("data").display()),
            "offsets.topic.replication.factor=1".into(),
            "group.initial.rebalance.delay.ms=0".into(),
        ];
        let child = spawn_serve(&overrides, 2);
        Serve { child, plaintext, sasl_ssl, ca: pki.ca.clone(), dir }
    }

    /// The client properties file for `user` with `password` over SASL_SSL.
    fn client_properties(&self, user: &str, password: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{user}-{password}.properties"));
        let jaas = format!(
            "org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"{user}\" password=\"{password}\";"
        );
        let text = format!(
            "security.protocol=SASL_SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\n\
             sasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config={jaas}\n",
            self.ca.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `spool args` with `stdin` fed in, bounded by a minute.
fn spool(args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new("timeout");
    command.args(["--kill-after=5", "60", env!("CARGO_BIN_EXE_spool")]).args(args);
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spool");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    println!(
        "$ spool {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// With a SASL_SSL + SCRAM-SHA-512 command config, `spool topics` creates
/// and lists a topic, `spool produce` writes two lines and `spool consume`
/// (alone and in a group) reads them back, `spool perf produce` and `perf
/// consume` run over the same login; a wrong password fails the tool
/// with SASL_AUTHENTICATION_FAILED instead of connecting as anyone.
#[test]
fn the_tools_log_in_over_sasl_ssl_with_scram() {
    let serve = Serve::start();
    ok(&spool(
        &[
            "configs",
            "--bootstrap-server",
            &serve.plaintext,
            "--alter",
            "--entity-type",
            "users",
            "--entity-name",
            "alice",
            "--add-config",
            "SCRAM-SHA-512=[iterations=8192,password=alice-secret]",
        ],
        "",
    ));
    let alice = serve.client_properties("alice", "alice-secret");
    let admin = ["--bootstrap-server", &serve.sasl_ssl, "--command-config", path(&alice)];
    ok(&spool(
        &[&["topics", "--create", "--topic", "secured", "--partitions", "1"], &admin[..]].concat(),
        "",
    ));
    assert!(ok(&spool(&[&["topics", "--list"], &admin[..]].concat(), "")).lines().any(|l| l == "secured"));

    let produce = ["produce", "--bootstrap-server", &serve.sasl_ssl, "--topic", "secured"];
    ok(&spool(&[&produce[..], &["--producer.config", path(&alice)]].concat(), "first\nsecond\n"));
    let consume = [
        "consume",
        "--bootstrap-server",
        &serve.sasl_ssl,
        "--topic",
        "secured",
        "--from-beginning",
        "--max-messages",
        "2",
        "--timeout-ms",
        "20000",
    ];
    let alone = ok(&spool(&[&consume[..], &["--consumer.config", path(&alice)]].concat(), ""));
    assert_eq!(alone.lines().collect::<Vec<_>>(), ["first", "second"]);
    let in_group = [&consume[..], &["--group", "readers", "--consumer.config", path(&alice)]].concat();
    assert_eq!(ok(&spool(&in_group, "")).lines().collect::<Vec<_>>(), ["first", "second"]);

    // The perf tools take the same file: 200 records out, the 202 read back.
    let perf = ["perf", "produce", "--bootstrap-server", &serve.sasl_ssl, "--topic", "secured"];
    let sizes = ["--num-records", "200", "--record-size", "10", "--throughput", "-1"];
    let produced = ok(&spool(&[&perf[..], &sizes[..], &["--producer.config", path(&alice)]].concat(), ""));
    assert!(produced.lines().last().unwrap_or_default().starts_with("200 records sent, "), "{produced}");
    let perf = ["perf", "consume", "--bootstrap-server", &serve.sasl_ssl, "--topic", "secured"];
    let read = ["--messages", "202", "--timeout", "20000", "--consumer.config", path(&alice)];
    let consumed = ok(&spool(&[&perf[..], &read[..]].concat(), ""));
    let columns: Vec<&str> = consumed.lines().nth(1).unwrap_or_default().split(", ").collect();
    assert_eq!(columns.get(4), Some(&"202"), "{consumed}");

    let wrong = serve.client_properties("alice", "guess");
    let refused = spool(
        &["topics", "--list", "--bootstrap-server", &serve.sasl_ssl, "--command-config", path(&wrong)],
        "",
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("SaslAuthenticationFailed (error code 58)"),
        "{stderr}"
    );
}
