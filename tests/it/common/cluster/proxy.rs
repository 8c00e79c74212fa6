//! A TCP proxy for one link, that the test can cut, heal and slow down.
//!
//! ```text
//!  client ──► 127.0.0.1:<proxy.addr()> ══ Proxy ══► target (a broker's port)
//!                                         │
//!             cut(Reset): open links closed, new ones reset
//!             cut(Drop):  open links closed, new ones accepted, never forwarded
//!             heal():     new links forward again (black-holed ones are closed)
//!             delay(ms):  every chunk waits ms before it is forwarded
//!             isolate(pid, cut): as a cut, for connections from process pid only
//!             delay_from(pid, ms): as a delay, for connections from process pid only
//! ```
//!
//! Point a node's peers (or a client) at the proxy instead of the node, and
//! a test can partition a node without root. A broker's peers all dial the
//! one address it advertises, so a proxy in front of it (the node listens on
//! one port and advertises the proxy's) carries every link *into* it; `cut`
//! severs them all. To sever only some — node A from node B while C still
//! reaches B — [`Proxy::isolate`] cuts the connections that come from A's
//! process: on loopback every peer is 127.0.0.1, so the proxy tells them apart
//! by which process owns the connecting socket (`/proc/net/tcp` and
//! `/proc/<pid>/fd`, Linux only). [`Proxy::delay_from`] slows only those
//! connections in the same way: one slow link between two brokers while
//! clients reach both at full speed.
//!
//! Each link runs on plain threads (a reader and a writer per direction), so a
//! proxy works in sync and async tests alike and never shares a runtime with
//! the code under test. Every thread ends when its sockets close.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a cut link refuses new connections. Either way, the connections open
/// at the cut are closed: clients see them end and reconnect into the cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// New connections are accepted and reset at once (RST): the peer learns
    /// immediately, as from a crashed host that rebooted.
    Reset,
    /// New connections are accepted and then nothing: no byte is forwarded or
    /// answered, as behind a firewall that drops packets. The peer learns only
    /// from its own timeouts (`request.timeout.ms`, `replica.socket.timeout.ms`).
    Drop,
}

/// A running proxy; dropping it closes its port and every link.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// One open link: a clone of each side (client, upstream), to close them on
/// a cut; how many of its two directions have ended (2: the link is gone);
/// the delay of this link alone, added to the proxy's.
struct Link {
    ended: Arc<AtomicU8>,
    sides: [TcpStream; 2],
    delay_ms: Arc<AtomicU64>,
}

/// What the acceptor, the links' threads and the test share.
struct Shared {
    /// Where links go; `None` until [`Proxy::set_target`] (links are reset).
    target: Mutex<Option<SocketAddr>>,
    /// Added to every chunk's forwarding time.
    delay_ms: AtomicU64,
    /// Set by `Drop for Proxy`: the acceptor stops.
    closing: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    cut: Option<Cut>,
    /// Processes whose connections are cut, and how.
    isolated: Vec<(u32, Cut)>,
    /// Processes whose connections are slowed, and by how many ms each way.
    delayed: Vec<(u32, u64)>,
    /// Open links, to close or slow them after they were made.
    links: Vec<Link>,
    /// Connections accepted under `Cut::Drop`, held unanswered until a heal.
    held: Vec<TcpStream>,
}

impl Proxy {
    /// Starts a proxy on a free 127.0.0.1 port, forwarding to `target`.
    pub fn start(target: SocketAddr) -> Proxy {
        let proxy = Proxy::bind();
        proxy.set_target(target);
        proxy
    }

    /// Starts a proxy with no target yet: its port is known at once (to
    /// write into a node's `advertised.listeners` before the node starts);
    /// connections are reset until [`Self::set_target`].
    pub fn bind() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            target: Mutex::new(None),
            delay_ms: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(listener, shared))
        };
        Proxy { addr, shared, acceptor: Some(acceptor) }
    }

    /// Sends new connections to `target` (open ones stay where they are).
    pub fn set_target(&self, target: SocketAddr) {
        *self.shared.target.lock().expect("proxy target") = Some(target);
    }

    /// Where clients connect: `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Cuts the link: closes every open connection, and refuses (`Reset`) or
    /// black-holes (`Drop`) new ones until [`Self::heal`].
    pub fn cut(&self, how: Cut) {
        let mut state = self.shared.state.lock().expect("proxy state");
        state.cut = Some(how);
        close_all(&mut state);
    }

    /// Cuts only the connections that come from process `pid` (a [`Node`]'s
    /// [`Node::pid`]): its open ones are closed, its new ones refused or
    /// black-holed as `how` says, until [`Self::heal`]. Other processes'
    /// connections pass.
    ///
    /// [`Node`]: super::Node
    /// [`Node::pid`]: super::Node::pid
    pub fn isolate(&self, pid: u32, how: Cut) {
        let mut state = self.shared.state.lock().expect("proxy state");
        state.isolated.push((pid, how));
        let port = self.addr.port();
        for Link { sides: [client, upstream], .. } in &state.links {
            if from_process(client, port, pid) {
                let _ = client.shutdown(Shutdown::Both);
                let _ = upstream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Ends every cut, isolation and delay: new connections are forwarded
    /// again, at full speed. Connections held by `Cut::Drop` are closed, so
    /// their clients reconnect. Chunks already waiting keep their delay.
    pub fn heal(&self) {
        let mut state = self.shared.state.lock().expect("proxy state");
        state.cut = None;
        state.isolated.clear();
        state.held.clear();
        state.delayed.clear();
        for link in &state.links {
            link.delay_ms.store(0, Ordering::SeqCst);
        }
        self.shared.delay_ms.store(0, Ordering::SeqCst);
    }

    /// Delays every chunk read from now on by `ms` before forwarding it, both
    /// ways; order is kept. `delay(0)` ends the delay.
    pub fn delay(&self, ms: u64) {
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// As [`Self::delay`], for the connections that come from process `pid`
    /// only (open ones and new ones), on top of the proxy's own delay:
    /// one slow link between two processes. `delay_from(pid, 0)` ends it.
    pub fn delay_from(&self, pid: u32, ms: u64) {
        let mut state = self.shared.state.lock().expect("proxy state");
        state.delayed.retain(|&(p, _)| p != pid);
        if ms > 0 {
            state.delayed.push((pid, ms));
        }
        let port = self.addr.port();
        for link in &state.links {
            if from_process(&link.sides[0], port, pid) {
                link.delay_ms.store(ms, Ordering::SeqCst);
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        // Wake the acceptor out of accept(); it sees `closing` and returns.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        close_all(&mut self.shared.state.lock().expect("proxy state"));
    }
}

/// Closes every open link and every held connection.
fn close_all(state: &mut State) {
    for Link { sides: [client, upstream], .. } in state.links.drain(..) {
        let _ = client.shutdown(Shutdown::Both);
        let _ = upstream.shutdown(Shutdown::Both);
    }
    state.held.clear();
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.closing.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let (cut, delay_ms) = {
            let state = shared.state.lock().expect("proxy state");
            let port = listener.local_addr().map_or(0, |a| a.port());
            let cut = state.cut.or_else(|| {
                state.isolated.iter().find(|(pid, _)| from_process(&client, port, *pid)).map(|(_, how)| *how)
            });
            let delayed = state.delayed.iter().find(|(pid, _)| from_process(&client, port, *pid));
            (cut, delayed.map_or(0, |&(_, ms)| ms))
        };
        match cut {
            Some(Cut::Reset) => reset(client),
            Some(Cut::Drop) => shared.state.lock().expect("proxy state").held.push(client),
            None => {
                let target = *shared.target.lock().expect("proxy target");
                match target.map(|t| TcpStream::connect_timeout(&t, Duration::from_secs(5))) {
                    Some(Ok(upstream)) => link(client, upstream, delay_ms, &shared),
                    // No target, or it is down: the client sees what it would have seen.
                    _ => reset(client),
                }
            }
        }
    }
}

/// Does the peer end of `client` (accepted on the proxy's `port`) belong to
/// process `pid`? Finds the peer socket's inode in `/proc/net/tcp` (local
/// address = the peer, remote = the proxy), then looks for it among the
/// process's open files. `false` when it cannot tell (the process is gone).
fn from_process(client: &TcpStream, port: u16, pid: u32) -> bool {
    let Ok(peer) = client.peer_addr() else { return false };
    // /proc/net/tcp writes 127.0.0.1:9092 as 0100007F:2384.
    let hex = |addr: SocketAddr| match addr.ip() {
        std::net::IpAddr::V4(ip) => format!("{:08X}:{:04X}", u32::from_le_bytes(ip.octets()), addr.port()),
        std::net::IpAddr::V6(_) => String::new(),
    };
    let (local, remote) = (hex(peer), hex(SocketAddr::new(peer.ip(), port)));
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let inode = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 9 && fields[1] == local && fields[2] == remote).then(|| fields[9].to_string())
    });
    let Some(inode) = inode else { return false };
    let socket = format!("socket:[{inode}]");
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(Result::ok)
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == socket.as_str()))
}

/// Closes `stream` with a reset (SO_LINGER 0) rather than an orderly FIN.
fn reset(stream: TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt reads `linger` (of the size given) during the call;
    // the fd is open, owned by `stream`.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// Starts forwarding between `client` and `upstream`, `delay_ms` slower
/// than the proxy's delay, unless a cut came in while the upstream
/// connection was being made.
fn link(client: TcpStream, upstream: TcpStream, delay_ms: u64, shared: &Arc<Shared>) {
    let mut state = shared.state.lock().expect("proxy state");
    if state.cut.is_some() {
        let _ = upstream.shutdown(Shutdown::Both);
        return reset(client);
    }
    state.links.retain(|link| link.ended.load(Ordering::SeqCst) < 2);
    let clone = |s: &TcpStream| s.try_clone().expect("clone a socket");
    let ended = Arc::new(AtomicU8::new(0));
    let delay_ms = Arc::new(AtomicU64::new(delay_ms));
    state.links.push(Link {
        ended: ended.clone(),
        sides: [clone(&client), clone(&upstream)],
        delay_ms: delay_ms.clone(),
    });
    pump(clone(&client), clone(&upstream), shared.clone(), delay_ms.clone(), ended.clone());
    pump(upstream, client, shared.clone(), delay_ms, ended);
}

/// Forwards `from` to `to` on two threads: the reader stamps each chunk
/// with when it may go (the proxy's delay plus the link's), the writer
/// waits for that and writes, in order.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    shared: Arc<Shared>,
    link_delay_ms: Arc<AtomicU64>,
    ended: Arc<AtomicU8>,
) {
    let (chunks, ready) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return, // dropping `chunks` tells the writer
                Ok(n) => {
                    let delay_ms =
                        shared.delay_ms.load(Ordering::SeqCst) + link_delay_ms.load(Ordering::SeqCst);
                    let delay = Duration::from_millis(delay_ms);
                    if chunks.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        let mut broken = false;
        for (due, chunk) in ready {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                broken = true;
                break;
            }
        }
        // The source ended: pass the end on, as a half-close; a broken
        // destination ends the whole link.
        let _ = to.shutdown(if broken { Shutdown::Both } else { Shutdown::Write });
        ended.fetch_add(1, Ordering::SeqCst);
    });
}
