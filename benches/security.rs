//! Chapter 11's costs, measured in one run: what TLS costs a fetch (zero copy
//! is lost) and a produce, what a new connection's handshake costs, and where
//! a SASL login spends its time.
//!
//! ```text
//! cargo bench --bench security            # the numbers (benches/RESULTS-security.md)
//! cargo bench --bench security -- --test  # CI smoke-run: every bench once, small sizes
//! ```
//!
//! | bench | what one iteration is | paths |
//! |---|---|---|
//! | `security/fetch/<path>` | read a 4-partition, 32 MiB topic of 16 KiB batches from offset 0 to its end | `PLAINTEXT` (`sendfile`), `PLAINTEXT-copy` (`spool.fetch.zero.copy=false`), `SSL` |
//! | `security/produce/<path>` | 4 MiB in produce requests of one 16 KiB batch for each of 4 partitions, acks=1 | `PLAINTEXT`, `SSL` |
//! | `security/connect/<path>` | connect, handshake (TLS 1.3 under SSL), ApiVersions, close | `PLAINTEXT`, `SSL` |
//! | `security/scram-client/<mechanism>/<iterations>` | a client's whole SCRAM exchange: PBKDF2 of the password, proof, server's signature checked | SHA-256, SHA-512 × 4096, 8192 |
//! | `security/scram-server/<mechanism>/<iterations>` | the broker's whole SCRAM exchange: the proof checked against `StoredKey` | same |
//! | `security/scram-credential/<mechanism>/<iterations>` | creating a credential (`ScramCredential::new`): PBKDF2 once | same |
//! | `security/plain-server/PLAIN` | the broker's PLAIN check against a JAAS list of 100 users | — |
//!
//! The broker runs alone on its own thread and current-thread runtime
//! (`benches/common/broker_thread.rs`), serving a PLAINTEXT and an SSL
//! listener on the same log, so every path reads the same files; its CPU is
//! `getrusage(RUSAGE_THREAD)` before and after each sample. The client is
//! spool's `Connection` on the bench's thread, one request in flight. A second
//! broker on the same log directory, with `spool.fetch.zero.copy=false`,
//! serves the `PLAINTEXT-copy` path: PLAINTEXT-copy against PLAINTEXT is the
//! cost of the copy, SSL against PLAINTEXT-copy the cost of the encryption.
//! The certificates are made at start (rcgen, ECDSA P-256, as
//! `tests/it/tls/certs.rs` makes them). After the groups the bench prints MB/s
//! and broker CPU per GB, µs per connection, and µs per login, with ratios.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use spool::client::{Client, Connection, NewTopic, Tls};
use spool::security::tls::{client_config, SslConfig};
use tokio::runtime::Runtime;

#[path = "common/broker_thread.rs"]
mod broker_thread;
#[path = "../tests/it/tls/certs.rs"]
mod certs;
#[path = "security/login.rs"]
mod login;
#[path = "common/records.rs"]
mod records;
#[path = "security/report.rs"]
mod report;

use broker_thread::BrokerThread;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const PARTITIONS: i32 = 4;
/// A producer's default `batch.size`.
const BATCH_BYTES: usize = 16 << 10;
/// Record values of 1 KiB (chapter 3 found the record size does not matter to
/// the broker, which never looks inside a batch).
const VALUE_BYTES: usize = 1024;

/// The sizes of one run: full for the numbers, small for the smoke run.
struct Sizes {
    /// Record batch bytes in the fetched topic, over all partitions.
    topic_bytes: usize,
    /// Produce requests in one iteration of the produce bench.
    produce_requests: usize,
}

fn sizes() -> Sizes {
    match std::env::args().any(|a| a == "--test") {
        true => Sizes { topic_bytes: 2 << 20, produce_requests: 4 },
        false => Sizes { topic_bytes: 32 << 20, produce_requests: 64 },
    }
}

/// What one bench measured over all its samples: units done (bytes, or
/// connections, or logins), wall time, and the broker thread's CPU.
#[derive(Default, Clone, Copy, Debug)]
pub struct Totals {
    pub units: u64,
    pub wall: Duration,
    pub cpu: Duration,
}

/// Keyed by `bench/path` (`fetch/SSL`, `scram-client/SCRAM-SHA-256/4096`).
pub type Results = Arc<Mutex<BTreeMap<String, Totals>>>;

/// The two sides of the transport benches: a broker, and the client's TLS.
struct Setup {
    rt: Runtime,
    tls: Tls,
    results: Results,
}

/// Runs `once` (which returns the units it did) as criterion's bench
/// `name/path`, charging the wall time and the broker's CPU to `name/path`.
fn measured(
    group: &mut BenchmarkGroup<'_, WallTime>,
    setup: &Setup,
    broker: &BrokerThread,
    name: &str,
    path: &str,
    mut once: impl FnMut() -> u64,
) {
    group.bench_function(BenchmarkId::new(name, path), |b| {
        b.iter_custom(|iters| {
            let cpu_before = broker.cpu_time();
            let start = Instant::now();
            let mut units = 0;
            for _ in 0..iters {
                units += once();
            }
            let wall = start.elapsed();
            let cpu = broker.cpu_time() - cpu_before;
            let mut results = setup.results.lock().expect("results");
            let totals = results.entry(format!("{name}/{path}")).or_default();
            totals.units += units;
            totals.wall += wall;
            totals.cpu += cpu;
            wall
        })
    });
}

/// A connection to listener `path` (`PLAINTEXT` or `SSL`) of `broker`.
fn connect(setup: &Setup, broker: &BrokerThread, path: &str) -> Connection {
    let tls = if path == "SSL" { setup.tls.clone() } else { None };
    let security = spool::client::Security::from(tls);
    setup
        .rt
        .block_on(Connection::connect_with(broker.addr(path), REQUEST_TIMEOUT, &security))
        .expect("connect")
}

/// Creates `topic` with `PARTITIONS` partitions.
fn create_topic(setup: &Setup, broker: &BrokerThread, topic: &str) {
    setup.rt.block_on(async {
        let mut client = Client::connect(broker.addr("PLAINTEXT"), REQUEST_TIMEOUT).await.expect("connect");
        let new = NewTopic { partitions: PARTITIONS, ..NewTopic::new(topic) };
        for created in client.create_topics(&[new], false).await.expect("CreateTopics") {
            created.expect("topic created");
        }
    });
}

/// Fills `topic` with `bytes` of batches; returns each partition's end offset.
fn fill(setup: &Setup, broker: &BrokerThread, topic: &str, bytes: usize) -> Vec<i64> {
    create_topic(setup, broker, topic);
    let batch = records::batch(BATCH_BYTES, VALUE_BYTES);
    let mut connection = connect(setup, broker, "PLAINTEXT");
    let mut ends = Vec::new();
    for _ in 0..bytes / (batch.len() * PARTITIONS as usize) {
        ends = setup.rt.block_on(records::produce(&mut connection, topic, PARTITIONS, &batch));
    }
    ends
}

/// `security/fetch/<path>`: the whole topic read through one connection.
fn fetch(
    group: &mut BenchmarkGroup<'_, WallTime>,
    setup: &Setup,
    broker: &BrokerThread,
    path: &str,
    ends: &[i64],
) {
    let mut connection = connect(setup, broker, path.trim_end_matches("-copy"));
    let bytes = setup.rt.block_on(records::consume_all(&mut connection, "fetch", ends));
    group.throughput(Throughput::Bytes(bytes));
    measured(group, setup, broker, "fetch", path, || {
        setup.rt.block_on(records::consume_all(&mut connection, "fetch", ends))
    });
}

/// `security/produce/<path>`: produce requests, one in flight, acks=1.
fn produce(group: &mut BenchmarkGroup<'_, WallTime>, setup: &Setup, broker: &BrokerThread, path: &str) {
    let batch = records::batch(BATCH_BYTES, VALUE_BYTES);
    let requests = sizes().produce_requests;
    let per_iteration = (batch.len() * PARTITIONS as usize * requests) as u64;
    let mut connection = connect(setup, broker, path);
    group.throughput(Throughput::Bytes(per_iteration));
    measured(group, setup, broker, "produce", path, || {
        setup.rt.block_on(async {
            for _ in 0..requests {
                records::produce(&mut connection, "produce", PARTITIONS, &batch).await;
            }
        });
        per_iteration
    });
}

/// `security/connect/<path>`: a new connection, its ApiVersions, and its close.
fn connection(group: &mut BenchmarkGroup<'_, WallTime>, setup: &Setup, broker: &BrokerThread, path: &str) {
    group.throughput(Throughput::Elements(1));
    measured(group, setup, broker, "connect", path, || {
        drop(connect(setup, broker, path));
        1
    });
}

fn transport(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = certs::Pki::new(dir.path());
    let log_dir = dir.path().join("logs");
    let truststore = BTreeMap::from([("ssl.truststore.location".to_string(), pki.ca.display().to_string())]);
    let tls = Some(client_config(&SslConfig::for_listener(&truststore, None).expect("ssl")).expect("TLS"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let setup = Setup { rt, tls, results: Arc::default() };
    let keystore = ("ssl.keystore.location", pki.broker("broker").display().to_string());
    let mut group = c.benchmark_group("security");
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));

    let broker = BrokerThread::start(&log_dir, &["PLAINTEXT", "SSL"], std::slice::from_ref(&keystore));
    let ends = fill(&setup, &broker, "fetch", sizes().topic_bytes);
    for path in ["PLAINTEXT", "SSL"] {
        fetch(&mut group, &setup, &broker, path, &ends);
    }
    create_topic(&setup, &broker, "produce");
    for path in ["PLAINTEXT", "SSL"] {
        produce(&mut group, &setup, &broker, path);
    }
    group.measurement_time(Duration::from_secs(3));
    for path in ["PLAINTEXT", "SSL"] {
        connection(&mut group, &setup, &broker, path);
    }
    broker.stop();

    // The same log, served by a broker that copies on every listener.
    let copying = ("spool.fetch.zero.copy", "false".to_string());
    let broker = BrokerThread::start(&log_dir, &["PLAINTEXT", "SSL"], &[keystore, copying]);
    group.measurement_time(Duration::from_secs(5));
    fetch(&mut group, &setup, &broker, "PLAINTEXT-copy", &ends);
    broker.stop();
    group.finish();
    report::transport(&setup.results.lock().expect("results"));
}

fn login(c: &mut Criterion) {
    let results = Results::default();
    login::login(c, &results);
    report::login(&results.lock().expect("results"));
}

criterion_group!(benches, transport, login);
criterion_main!(benches);
