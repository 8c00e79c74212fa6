//! One `spool serve` child process, owned by the test.
//!
//! A [`Node`] lives in its own temporary directory:
//!
//! ```text
//! <tmp>/server.properties   written by the test's closure (+ log.dirs)
//! <tmp>/data/               log.dirs, kept across restarts
//! <tmp>/stderr.log          every run's stderr, appended
//! ```
//!
//! Every signal goes to the node's own child pid, and only while the child
//! has not been reaped, so a recycled pid is never hit. Dropping a `Node`
//! kills it.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a node may take to accept on its ports, or to exit after
/// SIGTERM. Generous: it only bounds a hang on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// How many sets of free ports [`Node::start`] tries before giving up.
const PORT_ATTEMPTS: usize = 5;

/// A running (or stopped) `spool serve` process.
pub struct Node {
    ports: Vec<u16>,
    properties: String,
    dir: TempDir,
    child: Option<Child>,
    paused: bool,
}

impl Node {
    /// Starts a node on `port_count` free 127.0.0.1 ports. `properties` gets
    /// the ports and returns the `server.properties` text (Kafka's keys);
    /// `log.dirs` is added, pointing into the node's directory, unless the
    /// text sets it. Returns once every port accepts connections. If the
    /// child exits before that because a port was taken meanwhile, it retries
    /// with fresh ports; any other early exit panics with the node's stderr.
    pub fn start(port_count: usize, properties: impl Fn(&[u16]) -> String) -> Node {
        for _ in 0..PORT_ATTEMPTS {
            let dir = tempfile::tempdir().expect("tempdir");
            let ports: Vec<u16> = (0..port_count).map(|_| super::free_port()).collect();
            let mut text = properties(&ports);
            if !text.lines().any(|l| l.trim_start().starts_with("log.dirs")) {
                text.push_str(&format!("\nlog.dirs={}\n", dir.path().join("data").display()));
            }
            let mut node = Node { ports, properties: text, dir, child: None, paused: false };
            match node.spawn_and_wait() {
                Ok(()) => return node,
                Err(stderr) if stderr.contains("Address already in use") => continue,
                Err(stderr) => panic!("spool serve exited before accepting:\n{stderr}"),
            }
        }
        panic!("no free ports after {PORT_ATTEMPTS} attempts");
    }

    /// Starts a node on `ports` chosen by the caller (other nodes' properties
    /// already name them: a quorum's voters list every controller's port
    /// before any starts). No retry with other ports: a port taken meanwhile
    /// panics, naming it.
    pub fn start_on(ports: Vec<u16>, properties: impl Fn(&[u16]) -> String) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = properties(&ports);
        if !text.lines().any(|l| l.trim_start().starts_with("log.dirs")) {
            text.push_str(&format!("\nlog.dirs={}\n", dir.path().join("data").display()));
        }
        let mut node = Node { ports, properties: text, dir, child: None, paused: false };
        if let Err(stderr) = node.spawn_and_wait() {
            panic!("spool serve on {:?} exited before accepting:\n{stderr}", node.ports);
        }
        node
    }

    /// The node's `i`-th port (as given to the properties closure).
    pub fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    /// `127.0.0.1:<port i>`.
    pub fn addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports[i]))
    }

    /// The node's directory (`server.properties`, `data/`, `stderr.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything the node wrote to stderr, across restarts: for failure messages.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    /// The child's pid while it is alive (for `/proc/<pid>` checks), else `None`.
    pub fn pid(&mut self) -> Option<u32> {
        if self.is_running() {
            self.child.as_ref().map(Child::id)
        } else {
            None
        }
    }

    /// Is the child alive (running or paused)?
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => child.try_wait().expect("try_wait").is_none(),
            None => false,
        }
    }

    /// SIGTERM, as a service manager stops Kafka (a paused node is resumed
    /// so it can act on it); SIGKILL if it has not exited within the
    /// patience. Returns the exit status; `None` if it was not running.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.signal(libc::SIGTERM);
        if self.paused {
            self.resume();
        }
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            match self.child.as_mut()?.try_wait().expect("try_wait") {
                Some(status) => {
                    self.child = None;
                    return Some(status);
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        eprintln!("node on {:?} ignored SIGTERM for {PATIENCE:?}; killing it", self.ports);
        self.kill()
    }

    /// SIGKILL: the process dies at once, as in a power cut (the page cache
    /// survives; unsynced data in the process does not). Returns the exit
    /// status; `None` if it was not running.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        self.signal(libc::SIGKILL);
        let status = self.child.take()?.wait().expect("wait");
        self.paused = false;
        Some(status)
    }

    /// SIGSTOP: the process freezes (a long GC pause, a hung VM). Its sockets
    /// stay open and the kernel still accepts connections on its ports, but
    /// nothing answers.
    pub fn pause(&mut self) {
        self.signal(libc::SIGSTOP);
        self.paused = true;
    }

    /// SIGCONT: a paused process carries on where it stopped.
    pub fn resume(&mut self) {
        self.signal(libc::SIGCONT);
        self.paused = false;
    }

    /// Starts the node again on the same ports, properties and data, after
    /// stopping it with [`Self::stop`] if it is still running; returns once
    /// its ports accept. Panics with its stderr if it exits instead.
    pub fn restart(&mut self) {
        if self.is_running() {
            self.stop();
        }
        if let Err(stderr) = self.spawn_and_wait() {
            panic!("spool serve did not come back on {:?}:\n{stderr}", self.ports);
        }
    }

    /// Sends `signal` to the child, if it is alive and not yet reaped.
    fn signal(&mut self, signal: libc::c_int) {
        if !self.is_running() {
            return;
        }
        let pid = self.child.as_ref().expect("a running child").id() as libc::pid_t;
        // SAFETY: kill(2) has no memory effects; `pid` is our own unreaped
        // child, so it cannot have been recycled for another process.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill({pid}, {signal}): {}", std::io::Error::last_os_error());
    }

    /// Writes the properties, spawns `spool serve`, and waits until every
    /// port accepts. `Err` carries the stderr of a child that exited first.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let path = self.dir.path().join("server.properties");
        std::fs::write(&path, &self.properties).expect("write server.properties");
        let mut log = self.open_stderr_log();
        writeln!(log, "--- spool serve {} (ports {:?})", path.display(), self.ports).expect("stderr.log");
        let child = Command::new(env!("CARGO_BIN_EXE_spool"))
            .arg("serve")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn spool serve");
        self.child = Some(child);
        self.paused = false;
        let deadline = Instant::now() + PATIENCE;
        for port in self.ports.clone() {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
                if !self.is_running() {
                    self.child = None;
                    return Err(self.stderr());
                }
                assert!(
                    Instant::now() < deadline,
                    "port {port} did not accept within {PATIENCE:?}:\n{}",
                    self.stderr()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    fn stderr_path(&self) -> PathBuf {
        self.dir.path().join("stderr.log")
    }

    fn open_stderr_log(&self) -> File {
        OpenOptions::new().create(true).append(true).open(self.stderr_path()).expect("open stderr.log")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Only matters when a test failed before stopping it: never leak a process.
        self.kill();
    }
}
