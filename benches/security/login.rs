//! What a SASL login costs, side by side: SCRAM's client, SCRAM's server,
//! creating a SCRAM credential, and PLAIN's check — the state machines of
//! `src/security/sasl/` driven in memory, no socket.
//!
//! SCRAM (RFC 5802, KIP-84) puts its cost in `Hi` = PBKDF2: `iterations` HMACs
//! to turn the password into `SaltedPassword`. The *client* runs it on every
//! login (it holds the password); whoever creates a credential runs it once
//! (`ScramCredential::new`, or a client sending AlterUserScramCredentials its
//! `SaltedPassword`). The *server* never does: it keeps `StoredKey` and
//! `ServerKey` and checks a proof with two HMACs and a hash. So the benches
//! are separate, and the exchange each one replays is recorded once, with
//! fixed nonces, and checked to complete on every iteration (a failing proof
//! would be cheap, and would measure the wrong thing).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use spool::security::sasl::plain;
use spool::security::sasl::scram::{ScramClient, ScramCredential, ScramMechanism, ScramServer};

use super::{Results, Totals};

/// The iteration counts measured: Kafka's minimum (and its tools' default)
/// and twice that.
pub const ITERATIONS: [i32; 2] = [4096, 8192];
pub const MECHANISMS: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];
const USER: &str = "alice";
const PASSWORD: &str = "alice-secret";
/// Fixed halves of the nonce, so that every replay of the exchange is the same.
const CLIENT_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
const SERVER_NONCE: &str = "3rfcNHYJY1ZVvWVs7j";
const SALT: &[u8] = b"spool-bench-salt";

/// One whole SCRAM exchange's four messages, recorded.
struct Exchange {
    credential: ScramCredential,
    client_first: Vec<u8>,
    server_first: Vec<u8>,
    client_final: Vec<u8>,
    server_final: Vec<u8>,
}

impl Exchange {
    fn record(mechanism: ScramMechanism, iterations: i32) -> Exchange {
        let credential = ScramCredential::new(mechanism, PASSWORD.as_bytes(), SALT, iterations);
        let mut client = ScramClient::new(mechanism, USER, PASSWORD, CLIENT_NONCE.into());
        let mut server = ScramServer::new(mechanism, SERVER_NONCE.into());
        let client_first = client.client_first();
        let server_first = server.step(&client_first, |_| Some(credential.clone())).expect("server-first");
        let client_final = client.step(&server_first).expect("client-final").expect("a message");
        let server_final = server.step(&client_final, |_| None).expect("the proof is right");
        assert_eq!(client.step(&server_final).expect("server proved itself"), None);
        assert!(client.is_complete() && server.is_complete());
        Exchange { credential, client_first, server_first, client_final, server_final }
    }

    /// The server's whole side: client-first in, client-final checked.
    fn serve(&self, mechanism: ScramMechanism) {
        let mut server = ScramServer::new(mechanism, SERVER_NONCE.into());
        let first = server.step(&self.client_first, |_| Some(self.credential.clone())).expect("server-first");
        let last = server.step(&self.client_final, |_| None).expect("the proof is right");
        assert!(server.is_complete());
        black_box((first, last));
    }

    /// The client's whole side: client-first out, server-final checked.
    fn log_in(&self, mechanism: ScramMechanism) {
        let mut client = ScramClient::new(mechanism, USER, PASSWORD, CLIENT_NONCE.into());
        black_box(client.client_first());
        let client_final = client.step(&self.server_first).expect("client-final");
        assert_eq!(client.step(&self.server_final).expect("server proved itself"), None);
        assert!(client.is_complete());
        black_box(client_final);
    }
}

/// The SCRAM and PLAIN benches; each one's mean time per login goes to `results`.
pub fn login(c: &mut Criterion, results: &Results) {
    let mut group = c.benchmark_group("security");
    group.sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for mechanism in MECHANISMS {
        for iterations in ITERATIONS {
            let exchange = Exchange::record(mechanism, iterations);
            let param = format!("{}/{iterations}", mechanism.name());
            let key = |side: &str| format!("{side}/{param}");
            timed(&mut group, results, "scram-client", &param, key("scram-client"), || {
                exchange.log_in(mechanism)
            });
            timed(&mut group, results, "scram-server", &param, key("scram-server"), || {
                exchange.serve(mechanism)
            });
            timed(&mut group, results, "scram-credential", &param, key("scram-credential"), || {
                black_box(ScramCredential::new(mechanism, PASSWORD.as_bytes(), SALT, iterations));
            });
        }
    }
    // PLAIN: the broker compares the password with its JAAS list's.
    let users: BTreeMap<String, String> =
        (0..100).map(|i| (format!("user-{i:03}"), format!("password-{i:03}"))).collect();
    let token = plain::client_token("user-042", "password-042");
    timed(&mut group, results, "plain-server", "PLAIN", "plain-server/PLAIN".into(), || {
        assert_eq!(plain::authenticate(&token, &users).as_deref(), Ok("user-042"));
    });
    group.finish();
}

/// Runs `once` as criterion's bench `name/param`, and adds the wall time and
/// the logins to `results` under `key`.
fn timed(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    results: &Results,
    name: &str,
    param: &str,
    key: String,
    mut once: impl FnMut(),
) {
    group.bench_function(BenchmarkId::new(name, param), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                once();
            }
            let wall = start.elapsed();
            let mut results = results.lock().expect("results");
            let totals: &mut Totals = results.entry(key.clone()).or_default();
            totals.units += iters;
            totals.wall += wall;
            wall
        })
    });
}
