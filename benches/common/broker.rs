//! A broker in a bench's process: the `spool serve` wiring minus the binary (as
//! in `tests/it/wire/`), shared by `benches/wire.rs` and `benches/batching.rs`.
//! Each bench adds its own helpers (topics, clients) in an `impl` of its own.

use std::sync::Arc;
use std::time::Duration;

use spool::broker::Broker;
use spool::config::BrokerConfig;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One running broker on 127.0.0.1, its logs in a temporary directory.
pub struct BenchBroker {
    pub addr: String,
    pub broker: Arc<Broker>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    _dir: TempDir,
}

/// A runtime shaped like a small broker's: two worker threads. The clients run
/// on the bench's own thread, inside `block_on`.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

impl BenchBroker {
    /// Starts a broker with the given broker-level `log.*` settings.
    pub fn start(rt: &Runtime, log_settings: &[(&str, &str)]) -> BenchBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("local addr");
            let mut config = BrokerConfig {
                listener: addr,
                advertised_port: addr.port(),
                log_dir: dir.path().join("logs"),
                ..Default::default()
            };
            for (key, value) in log_settings {
                let known = config.log.set(key, value).expect("a valid value");
                assert!(known, "{key} is not a log setting");
            }
            let broker = Arc::new(Broker::open(config).expect("open broker"));
            let (shutdown, shutdown_rx) = watch::channel(false);
            let server = tokio::spawn(spool::wire::server::serve(broker.clone(), listener, shutdown_rx));
            BenchBroker { addr: addr.to_string(), broker, shutdown, server, _dir: dir }
        })
    }

    /// Stops serving (a parked fetch gives way), then shuts the logs down cleanly.
    pub fn stop(self, rt: &Runtime) {
        self.shutdown.send(true).expect("server is listening");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), self.server)
                .await
                .expect("server stops within its 5 s drain")
                .expect("server task did not panic");
        });
        self.broker.shutdown().expect("clean shutdown");
    }
}
