//! A broker alone on its own thread, for benches that charge the broker's CPU
//! time to what it served: a current-thread tokio runtime does all of the
//! broker's work on that one thread, and `getrusage(RUSAGE_THREAD)` read on it
//! (user + system, so `sendfile`'s and the TCP stack's work in the kernel
//! count) says how much it used. Every listener of `listeners` is served
//! (`PLAINTEXT`, `SSL`), each on a port the OS picks on 127.0.0.1, the way
//! `spool serve` serves them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use spool::broker::Broker;
use spool::config::BrokerConfig;
use spool::wire::server::{serve_listener, Endpoint};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

/// A running broker: its listeners' addresses by name, and its thread.
pub struct BrokerThread {
    /// `listener name → 127.0.0.1:port`.
    pub addrs: BTreeMap<String, String>,
    runtime: tokio::runtime::Handle,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BrokerThread {
    /// Starts a broker on `log_dir` serving each of `listeners` (names that
    /// are also security protocols: `PLAINTEXT`, `SSL`), with the broker
    /// properties `props` (for example the `ssl.*` keystore).
    pub fn start(log_dir: &Path, listeners: &[&str], props: &[(&str, String)]) -> BrokerThread {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let log_dir = log_dir.display().to_string();
        let names: Vec<String> = listeners.iter().map(|l| l.to_string()).collect();
        let mut props: BTreeMap<String, String> =
            props.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let mut sockets = Vec::new();
                let mut addrs = BTreeMap::new();
                for name in names {
                    let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
                    addrs.insert(name.clone(), socket.local_addr().expect("local addr").to_string());
                    sockets.push((name, socket));
                }
                let listeners: Vec<String> =
                    addrs.iter().map(|(name, addr)| format!("{name}://{addr}")).collect();
                props.insert("listeners".into(), listeners.join(","));
                props.insert("log.dirs".into(), log_dir);
                let (config, _) = BrokerConfig::from_properties(&props).expect("broker config");
                let broker = Arc::new(Broker::open(config.clone()).expect("open broker"));
                let mut servers = tokio::task::JoinSet::new();
                for (name, socket) in sockets {
                    let listener = config.listeners.iter().find(|l| l.name == name).expect("configured");
                    let tls =
                        (listener.protocol == "SSL").then(|| config.tls_server_config(&name).expect("TLS"));
                    let endpoint = Endpoint { listener: name, tls, sessions: None };
                    servers.spawn(serve_listener(broker.clone(), socket, endpoint, shutdown_rx.clone()));
                }
                ready_tx.send((addrs, tokio::runtime::Handle::current())).expect("bench waits");
                while let Some(served) = servers.join_next().await {
                    served.expect("server task did not panic");
                }
                broker.shutdown().expect("clean shutdown");
            });
        });
        let (addrs, runtime) = ready_rx.recv().expect("broker started");
        BrokerThread { addrs, runtime, shutdown, thread: Some(thread) }
    }

    /// The address of listener `name`.
    pub fn addr(&self, name: &str) -> &str {
        &self.addrs[name]
    }

    /// CPU time the broker's thread has used (user + system), read on that
    /// thread: a task on a current-thread runtime runs on the thread driving it.
    pub fn cpu_time(&self) -> Duration {
        let (tx, rx) = oneshot::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(thread_cpu_time());
        });
        rx.blocking_recv().expect("the broker thread answers")
    }

    /// Stops every listener (each drains its connections) and shuts the logs down.
    pub fn stop(mut self) {
        self.shutdown.send(true).expect("servers are listening");
        self.thread.take().expect("running").join().expect("broker thread did not panic");
    }
}

/// `getrusage(RUSAGE_THREAD)`: the calling thread's user + system CPU time.
pub fn thread_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_THREAD is supported
    // on Linux since 2.6.26. On failure the zeroed value is read, and the
    // assertion stops the bench.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD)");
    // SAFETY: initialised above (zeroed, then filled by getrusage).
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
