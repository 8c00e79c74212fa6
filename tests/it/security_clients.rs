//! Chapter 11 (issue 19, "Judged by real clients"): TLS, SASL PLAIN, ACLs and
//! quotas, each driven by the clients Kafka users run — confluent-kafka
//! (librdkafka), kcat, kafka-python, aiokafka and kafkajs — against one
//! broker per test that serves four listeners at once:
//!
//! ```text
//!  PLAINTEXT       User:ANONYMOUS (a super user): the test's own setup
//!  SSL             server certificate signed by a test CA (PEM), no client auth
//!  MTLS            SSL with ssl.client.auth=required: the principal is User:<subject DN>
//!  SASL_PLAINTEXT  PLAIN; users admin (super user), alice (super user), bob (no ACLs)
//! ```
//!
//! `authorizer.class.name` is Kafka's StandardAuthorizer with
//! `allow.everyone.if.no.acl.found=false`, so a principal that is neither a
//! super user nor named by an ACL is refused on every resource (KIP-801's
//! rules, as in `tests/it/acl_enforcement.rs`). The scripts under
//! `tests/clients/security_*` say what they check; each takes the security
//! settings as arguments (`--protocol`, `--ca`, `--cert`/`--key`, `--user`/
//! `--password`), so a SASL_SSL or SCRAM listener is one more call.
//!
//! ```text
//! tests/clients/setup.sh     # once: .venv-clients/, node_modules/
//! cargo test --test it security_clients::
//! ```
//!
//! Each test takes its turn with the other real-client tests (run.sh's lock
//! file). A missing client fails its test, naming the setup script.

use crate::common::turn;
use crate::tls::certs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rcgen::DnType;
use spool::broker::Broker;
use spool::client::{Client, NewTopic};
use spool::config::BrokerConfig;
use spool::wire::server::{serve_listener, Endpoint};
use tokio::net::TcpListener;
use tokio::sync::watch;

use certs::Pki;

/// Bounds a scenario that hangs; each script also has its own deadlines.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";"#;

/// The listeners every broker here serves, by name, and their protocols.
const LISTENERS: [(&str, &str); 4] =
    [("PLAINTEXT", "PLAINTEXT"), ("SSL", "SSL"), ("MTLS", "SSL"), ("SASL_PLAINTEXT", "SASL_PLAINTEXT")];

/// The subject of the mTLS client certificate, and the principal Kafka's
/// DEFAULT mapping makes of it.
const CAROL_PRINCIPAL: &str = "User:CN=carol,OU=eng";

/// A broker serving [`LISTENERS`] in this process, and the files a client
/// needs to reach it.
struct SecureBroker {
    ports: BTreeMap<String, u16>,
    /// `ssl.ca.location`: the test CA.
    ca: PathBuf,
    /// carol's client certificate and key (PEM), signed by the CA.
    carol_cert: PathBuf,
    carol_key: PathBuf,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl SecureBroker {
    fn addr(&self, listener: &str) -> String {
        format!("127.0.0.1:{}", self.ports[listener])
    }

    /// Creates `topics` (3 partitions each) over PLAINTEXT, as a super user.
    async fn create_topics(&self, topics: &[&str]) {
        let mut admin = Client::connect(&self.addr("PLAINTEXT"), Duration::from_secs(10)).await.unwrap();
        let topics: Vec<NewTopic> =
            topics.iter().map(|t| NewTopic { partitions: 3, ..NewTopic::new(*t) }).collect();
        for created in admin.create_topics(&topics, false).await.unwrap() {
            created.expect("topic created");
        }
    }
}

/// The broker's properties: listeners as named, TLS from `pki`, PLAIN on the
/// SASL listener, the authorizer with its super users.
fn properties(ports: &BTreeMap<String, u16>, pki: &Pki, dir: &Path) -> BTreeMap<String, String> {
    let listeners: Vec<String> =
        LISTENERS.iter().map(|(n, _)| format!("{n}://127.0.0.1:{}", ports[*n])).collect();
    let map: Vec<String> = LISTENERS.iter().map(|(n, p)| format!("{n}:{p}")).collect();
    let mut props = BTreeMap::new();
    let mut set = |k: &str, v: String| props.insert(k.to_string(), v);
    set("listeners", listeners.join(","));
    set("listener.security.protocol.map", map.join(","));
    set("log.dirs", dir.join("logs").display().to_string());
    set("offsets.topic.replication.factor", "1".into());
    set("transaction.state.log.replication.factor", "1".into());
    set("transaction.state.log.min.isr", "1".into());
    set("group.initial.rebalance.delay.ms", "0".into());
    set("ssl.keystore.location", pki.broker("broker").display().to_string());
    set("ssl.truststore.location", pki.ca.display().to_string());
    set("listener.name.mtls.ssl.client.auth", "required".into());
    set("sasl.enabled.mechanisms", "PLAIN".into());
    set("listener.name.sasl_plaintext.plain.sasl.jaas.config", JAAS.into());
    set("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer".into());
    set("super.users", "User:ANONYMOUS;User:admin;User:alice".into());
    props
}

/// Starts the broker, each listener on a port the OS picks, with `extra`
/// properties on top of [`properties`].
async fn start(extra: &[(&str, &str)]) -> SecureBroker {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let carol =
        pki.keystore("carol", &[], &[(DnType::OrganizationalUnitName, "eng"), (DnType::CommonName, "carol")]);
    let (carol_cert, carol_key) = split_keystore(&carol);
    let mut sockets = Vec::new();
    let mut ports = BTreeMap::new();
    for (name, _) in LISTENERS {
        let socket = TcpListener::bind("127.0.0.1:0").await.unwrap();
        ports.insert(name.to_string(), socket.local_addr().unwrap().port());
        sockets.push((name, socket));
    }
    let mut props = properties(&ports, &pki, dir.path());
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (config, _) = BrokerConfig::from_properties(&props).expect("config");
    let broker = Arc::new(Broker::open(config.clone()).expect("open"));
    broker.start_group_timer();
    let (stop, stopped) = watch::channel(false);
    for (name, socket) in sockets {
        let endpoint = endpoint(&config, name);
        tokio::spawn(serve_listener(broker.clone(), socket, endpoint, stopped.clone()));
    }
    SecureBroker { ports, ca: pki.ca.clone(), carol_cert, carol_key, _stop: stop, _dir: dir }
}

/// What `spool serve` builds for listener `name` (`src/node/mod.rs`): its
/// TLS configuration if SSL, its SASL sessions if SASL_PLAINTEXT.
fn endpoint(config: &BrokerConfig, name: &str) -> Endpoint {
    let protocol = config.listener_security_protocol_map[name].as_str();
    let tls = (protocol == "SSL").then(|| config.tls_server_config(name).expect("TLS config"));
    let sessions: Option<Arc<dyn spool::wire::handler::Sessions>> =
        (protocol == "SASL_PLAINTEXT").then(|| {
            let listener = spool::security::sasl::listener::from_settings(
                &config.sasl_enabled_mechanisms,
                &config.sasl_jaas_configs,
                name,
                None,
                &config.sasl_reauth,
            )
            .expect("SASL listener");
            Arc::new(spool::wire::sasl::SaslSessions(Arc::new(listener)))
                as Arc<dyn spool::wire::handler::Sessions>
        });
    Endpoint { listener: name.to_string(), tls, sessions }
}

/// Splits a keystore PEM (key, then certificate) into the two files
/// librdkafka's `ssl.certificate.location` and `ssl.key.location` name.
fn split_keystore(keystore: &Path) -> (PathBuf, PathBuf) {
    let pem = std::fs::read_to_string(keystore).unwrap();
    let at = pem.find("-----BEGIN CERTIFICATE-----").expect("a certificate");
    let (cert, key) = (keystore.with_extension("crt"), keystore.with_extension("key"));
    std::fs::write(&key, &pem[..at]).unwrap();
    std::fs::write(&cert, &pem[at..]).unwrap();
    (cert, key)
}

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn python() -> String {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    python.display().to_string()
}

fn node() -> String {
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "node is not on PATH: run tests/clients/setup.sh first");
    "node".into()
}

/// Runs `program args` in `tests/clients` (bounded by `timeout`), prints its
/// output, and fails unless it exited 0 and printed OK.
async fn run(program: &str, args: &[String]) {
    let mut command = Command::new("timeout");
    command.arg("--kill-after=5").arg(SCENARIO_TIMEOUT.as_secs().to_string()).arg(program).args(args);
    command.current_dir(clients_dir());
    let what = format!("{program} {}", args.join(" "));
    let output =
        tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("$ {what}\n{stdout}{stderr}");
    assert!(
        output.status.success() && stdout.lines().any(|l| l == "OK"),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// `args` as owned strings.
fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// The flags that reach listener `name` as `user` (SASL) or over TLS.
fn security_args(broker: &SecureBroker, listener: &str, user: Option<(&str, &str)>) -> Vec<String> {
    let protocol = LISTENERS.iter().find(|(n, _)| *n == listener).unwrap().1;
    let mut args = argv(&["--bootstrap", &broker.addr(listener), "--protocol", protocol]);
    if protocol == "SSL" {
        args.extend(argv(&["--ca", &broker.ca.display().to_string()]));
    }
    if listener == "MTLS" {
        args.extend(argv(&["--cert", &broker.carol_cert.display().to_string()]));
        args.extend(argv(&["--key", &broker.carol_key.display().to_string()]));
    }
    if let Some((user, password)) = user {
        args.extend(argv(&["--user", user, "--password", password]));
    }
    args
}

/// `security_scenario.py client mode` against `listener` of `broker`.
async fn python_scenario(
    broker: &SecureBroker,
    client: &str,
    mode: &str,
    listener: &str,
    user: Option<(&str, &str)>,
) {
    let mut args = argv(&["security_scenario.py", client, mode]);
    args.extend(security_args(broker, listener, user));
    run(&python(), &args).await;
}

/// Each Python client produces and consumes records with keys and headers
/// over SSL (a CA-signed server certificate) and over SASL_PLAINTEXT as alice
/// (PLAIN), then logs in as alice with a wrong password and is refused with
/// an authentication failure — after which the other listeners still serve
/// (the next client's round trip, and the wrapper's own PLAINTEXT setup).
async fn python_client_on_every_listener(client: &str) {
    let _turn = turn::take_turn_async().await;
    let broker = start(&[]).await;
    broker.create_topics(&["secured"]).await;
    python_scenario(&broker, client, "roundtrip", "SSL", None).await;
    python_scenario(&broker, client, "roundtrip", "SASL_PLAINTEXT", Some(("alice", "alice-secret"))).await;
    python_scenario(&broker, client, "bad-login", "SASL_PLAINTEXT", Some(("alice", "guess"))).await;
    python_scenario(&broker, client, "roundtrip", "SSL", None).await;
}

/// confluent-kafka (librdkafka 2.16): `security.protocol=SSL` with
/// `ssl.ca.location`, and `SASL_PLAINTEXT` with `sasl.mechanism=PLAIN`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_over_ssl_and_sasl_plain() {
    python_client_on_every_listener("confluent").await;
}

/// kafka-python: `security_protocol='SSL'` with `ssl_cafile`, and SASL PLAIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_over_ssl_and_sasl_plain() {
    python_client_on_every_listener("kafka-python").await;
}

/// aiokafka: an `ssl_context` from the CA, and SASL PLAIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiokafka_over_ssl_and_sasl_plain() {
    python_client_on_every_listener("aiokafka").await;
}

/// kafkajs: `ssl: { ca: [...] }` and `sasl: { mechanism: 'plain' }` round
/// trips; a wrong password is KafkaJSSASLAuthenticationError.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkajs_over_ssl_and_sasl_plain() {
    let node = node();
    let _turn = turn::take_turn_async().await;
    let broker = start(&[]).await;
    broker.create_topics(&["secured"]).await;
    for (mode, listener, user) in [
        ("roundtrip", "SSL", None),
        ("roundtrip", "SASL_PLAINTEXT", Some(("alice", "alice-secret"))),
        ("bad-login", "SASL_PLAINTEXT", Some(("alice", "guess"))),
        ("roundtrip", "SSL", None),
    ] {
        let mut args = argv(&["security_kafkajs.js", mode]);
        args.extend(security_args(&broker, listener, user));
        run(&node, &args).await;
    }
}

/// kcat (`-X security.protocol=ssl -X ssl.ca.location=…`, and SASL PLAIN):
/// produces keyed records with a header over one listener and reads them back
/// over the other, then a wrong password fails within kcat's own timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_over_ssl_and_sasl_plain() {
    let _turn = turn::take_turn_async().await;
    let broker = start(&[]).await;
    broker.create_topics(&["secured"]).await;
    let ssl =
        argv(&["-X", "security.protocol=ssl", "-X", &format!("ssl.ca.location={}", broker.ca.display())]);
    let sasl = |password: &str| {
        argv(&["-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanisms=PLAIN"])
            .into_iter()
            .chain(argv(&["-X", "sasl.username=alice", "-X", &format!("sasl.password={password}")]))
            .collect::<Vec<_>>()
    };
    let produce = |addr: String, security: Vec<String>| {
        let mut args = argv(&["-b", &addr, "-t", "secured", "-p", "0", "-P", "-K", ":", "-H", "trace=kcat"]);
        args.extend(security);
        kcat(args, "k-1:v-1\nk-2:v-2\n")
    };
    produce(broker.addr("SSL"), ssl.clone()).await.expect("produce over SSL");
    produce(broker.addr("SASL_PLAINTEXT"), sasl("alice-secret")).await.expect("produce over SASL");
    for (listener, security) in [("SSL", ssl), ("SASL_PLAINTEXT", sasl("alice-secret"))] {
        let mut args =
            argv(&["-b", &broker.addr(listener), "-t", "secured", "-p", "0", "-C", "-o", "beginning"]);
        args.extend(argv(&["-e", "-f", "%k=%s %h\n"]));
        args.extend(security);
        let read = kcat(args, "").await.expect("consume");
        assert_eq!(read, "k-1=v-1 trace=kcat\nk-2=v-2 trace=kcat\n".repeat(2), "over {listener}");
    }
    let mut args = argv(&["-b", &broker.addr("SASL_PLAINTEXT"), "-L", "-m", "5"]);
    args.extend(sasl("guess"));
    let refused = kcat(args, "").await.expect_err("a wrong password lists nothing");
    assert!(refused.contains("Authentication failed"), "{refused}");
}

/// Runs kcat with `stdin`; its stdout if it exits 0, its stderr if not.
async fn kcat(args: Vec<String>, stdin: &'static str) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new("timeout")
            .arg("30")
            .arg("kcat")
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kcat is on PATH (tests/clients/setup.sh)");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        let (stdout, stderr) =
            (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        println!("$ kcat {}\n{stdout}{stderr}", args.join(" "));
        if output.status.success() {
            Ok(stdout.into_owned())
        } else {
            Err(stderr.into_owned())
        }
    })
    .await
    .expect("join")
}

/// ACLs through confluent-kafka's AdminClient as the super user `admin`, and
/// a principal no ACL names (`bob`) refused on produce, group consume, topic
/// creation, a transactional id and topic metadata, with Kafka's error codes,
/// until a PREFIXED grant on `bob-` lets him use `bob-topic` and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_acls_refuse_then_allow_bob() {
    let _turn = turn::take_turn_async().await;
    let broker = start(&[]).await;
    broker.create_topics(&["other", "bob-topic"]).await;
    run(&python(), &argv(&["security_acls.py", "bob", "--sasl", &broker.addr("SASL_PLAINTEXT")])).await;
}

/// Mutual TLS (`ssl.client.auth=required`): confluent-kafka with carol's
/// certificate is served and its principal is the one ACLs see (refused with
/// none, allowed by an ACL for `User:CN=carol,OU=eng`); without a
/// certificate the handshake fails, and the other listeners keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_mtls_principal_is_what_acls_see() {
    let _turn = turn::take_turn_async().await;
    let broker = start(&[]).await;
    broker.create_topics(&["other"]).await;
    let mut args = argv(&["security_acls.py", "mtls", "--sasl", &broker.addr("SASL_PLAINTEXT")]);
    args.extend(argv(&["--mtls", &broker.addr("MTLS"), "--principal", CAROL_PRINCIPAL]));
    args.extend(security_args(&broker, "MTLS", None).into_iter().skip(4));
    run(&python(), &args).await;
    let mut args =
        argv(&["security_scenario.py", "confluent", "no-cert", "--bootstrap", &broker.addr("MTLS")]);
    args.extend(argv(&["--protocol", "SSL", "--ca", &broker.ca.display().to_string()]));
    run(&python(), &args).await;
    python_scenario(&broker, "confluent", "roundtrip", "SASL_PLAINTEXT", Some(("alice", "alice-secret")))
        .await;
}

/// Quotas through real clients (KIP-219): a `producer_byte_rate` for client id
/// `slow`, set and described back with kafka-python's AlterClientQuotas and
/// DescribeClientQuotas requests, shows in a confluent-kafka producer's
/// statistics as `brokers.*.throttle` > 0, while client id `fast` on the same
/// broker is never throttled. (The rate itself is `tests/it/quotas_throttle.rs`'.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_set_by_kafka_python_throttles_a_confluent_kafka_producer() {
    let _turn = turn::take_turn_async().await;
    let broker = start(&[]).await;
    broker.create_topics(&["metered"]).await;
    let args = argv(&["security_quotas.py", "--bootstrap", &broker.addr("PLAINTEXT"), "--topic", "metered"]);
    run(&python(), &args).await;
}

/// ACLs through kafkajs's admin (`createAcls`, `describeAcls`, `deleteAcls`)
/// as `admin`; `bob` refused on produce with TOPIC_AUTHORIZATION_FAILED until
/// a PREFIXED grant on `bob-`, and still refused on `other` after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkajs_acls_refuse_then_allow_bob() {
    let node = node();
    let _turn = turn::take_turn_async().await;
    let broker = start(&[]).await;
    broker.create_topics(&["other", "bob-topic"]).await;
    run(&node, &argv(&["security_acls_kafkajs.js", "--sasl", &broker.addr("SASL_PLAINTEXT")])).await;
}
