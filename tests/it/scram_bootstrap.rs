//! Issue 19's first SCRAM user: `spool serve --add-scram
//! 'SCRAM-SHA-512=[name=alice,password=alice-secret]'` (Kafka's
//! `kafka-storage.sh format --add-scram`, KIP-554) on a broker whose only
//! client listener is SASL_PLAINTEXT with SCRAM. alice logs in at once, with
//! no admin step; the credential is a record in the new metadata log, so a
//! restart with another `--add-scram` password changes nothing. Both ways a
//! metadata log is created are covered: a standalone broker commits the
//! records itself; a combined node's controller appends them when it first
//! becomes active, and its broker learns them by fetching the log.
//!
//! ```text
//! cargo test --test it scram_bootstrap::
//! ```

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::MetadataRequest;
use kafka_protocol::ResponseError;
use spool::client::{ClientError, Connection};
use spool::security::sasl::login::SaslLogin;
use spool::security::sasl::scram::ScramMechanism;
use spool::security::sasl::Mechanism;

use crate::common::cluster::free_port;

/// A `spool serve` child process and the lines it logged.
struct Serve {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Starts `spool serve` with `overrides` and one `--add-scram`; returns
    /// once it listens for clients.
    fn start(overrides: &[String], add_scram: &str) -> Serve {
        let mut command = Command::new(env!("CARGO_BIN_EXE_spool"));
        command.arg("serve");
        for o in overrides {
            command.args(["--override", o]);
        }
        let mut child = (command.args(["--add-scram", add_scram]))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start spool serve");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let kept = lines.clone();
        // Keep draining stderr so the broker never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if line.contains("listening on") && line.contains("SASL_PLAINTEXT") {
                    let _ = tx.send(());
                }
                kept.lock().unwrap().push(line);
            }
        });
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("spool serve did not listen within 60 s: {:#?}", lines.lock().unwrap());
        }
        Serve { child, lines }
    }

    fn logged(&self, text: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// Waits until a line holding `text` was logged.
    fn wait_logged(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.logged(text) {
            assert!(Instant::now() < deadline, "no {text:?} within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, by the child's own pid; it must exit cleanly.
    fn stop(mut self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "spool serve did not exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "spool serve exited with {status}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // Only matters when a test failed before stop(): never leak a broker.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Logs in as alice over SCRAM-SHA-512; on success the connection serves Metadata.
async fn login(port: u16, password: &str) -> Result<(), ClientError> {
    let mut connection = Connection::connect(&format!("127.0.0.1:{port}"), Duration::from_secs(10)).await?;
    let login = SaslLogin {
        mechanism: Mechanism::Scram(ScramMechanism::Sha512),
        username: "alice".into(),
        password: password.into(),
    };
    connection.authenticate(&login).await?;
    connection.send(&MetadataRequest::default()).await.map(drop)
}

/// Logs in as alice, retrying for a while: a combined node's broker knows
/// the credential only once it has fetched the controller's record.
async fn login_within(port: u16, password: &str, bound: Duration) -> Result<(), ClientError> {
    let deadline = Instant::now() + bound;
    loop {
        let result = login(port, password).await;
        if result.is_ok() || Instant::now() > deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn refused(result: Result<(), ClientError>) -> bool {
    matches!(result, Err(ClientError::Kafka { code: ResponseError::SaslAuthenticationFailed, .. }))
}

/// A standalone broker's only listener: SASL_PLAINTEXT offering SCRAM-SHA-512.
fn standalone(port: u16, log_dir: &Path) -> Vec<String> {
    vec![
        format!("listeners=SASL_PLAINTEXT://127.0.0.1:{port}"),
        format!("log.dirs={}", log_dir.display()),
        "sasl.enabled.mechanisms=SCRAM-SHA-512".into(),
    ]
}

/// A standalone broker with only a SCRAM listener lets alice in at once;
/// restarted with another `--add-scram` password, it keeps the first
/// credential and says it ignored the flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_first_user_logs_in_at_once_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let overrides = standalone(port, &dir.path().join("data"));
    let serve = Serve::start(&overrides, "SCRAM-SHA-512=[name=alice,password=alice-secret]");
    login(port, "alice-secret").await.expect("alice logs in with no admin step");
    assert!(refused(login(port, "wrong").await), "a wrong password is refused");
    serve.stop();

    let serve = Serve::start(&overrides, "SCRAM-SHA-512=[name=alice,password=changed,iterations=8192]");
    assert!(serve.logged("--add-scram ignored"), "a later start says it ignored the flag");
    login(port, "alice-secret").await.expect("the first credential still logs in");
    assert!(refused(login(port, "changed").await), "the later --add-scram changed nothing");
    serve.stop();
}

/// A combined node (broker and its own KRaft controller) whose client
/// listener is SCRAM only: the controller appends alice's credential when
/// it first becomes active, the broker fetches it, and alice logs in; a
/// restart with another password keeps the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn combined_node_appends_the_first_user_at_activation() {
    let dir = tempfile::tempdir().unwrap();
    let (port, controller_port) = (free_port(), free_port());
    let overrides = vec![
        "process.roles=broker,controller".into(),
        "node.id=1".into(),
        format!("controller.quorum.voters=1@127.0.0.1:{controller_port}"),
        format!("listeners=SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"),
        "controller.listener.names=CONTROLLER".into(),
        "inter.broker.listener.name=SASL_PLAINTEXT".into(),
        format!("log.dirs={}", dir.path().join("data").display()),
        "sasl.enabled.mechanisms=SCRAM-SHA-512".into(),
        // The broker's own links log in to its SCRAM listener as alice too.
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512".into(),
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.\
         ScramLoginModule required username=\"alice\" password=\"alice-secret\";"
            .into(),
    ];
    let serve = Serve::start(&overrides, "SCRAM-SHA-512=[name=alice,password=alice-secret]");
    login_within(port, "alice-secret", Duration::from_secs(30)).await.expect("alice logs in");
    assert!(serve.logged("SCRAM credentials appended at activation"));
    // `spool serve` takes SIGTERM only once its broker has registered.
    serve.wait_logged("registered with the controller");
    serve.stop();

    let serve = Serve::start(&overrides, "SCRAM-SHA-512=[name=alice,password=changed]");
    assert!(serve.logged("--add-scram ignored"), "a later start says it ignored the flag");
    login_within(port, "alice-secret", Duration::from_secs(30)).await.expect("the first credential");
    assert!(refused(login(port, "changed").await), "the later --add-scram changed nothing");
    serve.wait_logged("registered with the controller");
    serve.stop();
}
