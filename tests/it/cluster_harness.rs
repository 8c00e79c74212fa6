//! The multi-process fault harness (`tests/it/common/cluster/`) checked on its
//! own, before chapter 6's fault tests lean on it: the history checker reports
//! each kind of broken promise and nothing on a clean history; the proxy
//! forwards, cuts (both ways), heals and delays a link; a [`cluster::Node`]
//! survives SIGSTOP/SIGCONT and SIGKILL plus restart with its data; and a
//! [`cluster::KafkaCluster`] of several controllers lets a test kill, pause,
//! cut and restart each one by id.
//!
//! ```text
//! cargo test --test it cluster_harness::
//! ```

use crate::common::cluster;

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use cluster::{check, Ack, Cut, History, KafkaCluster, Node, Proxy, Read, Stored, Violation};

// The history checker

fn ack(producer: usize, value: &str, partition: i32, offset: i64) -> Ack {
    Ack { producer, value: value.into(), partition, offset }
}

fn read(reader: usize, value: &str, partition: i32, offset: i64) -> Read {
    Read { reader, value: value.into(), partition, offset }
}

fn stored(value: &str, partition: i32, offset: i64) -> Stored {
    Stored { value: value.into(), partition, offset }
}

/// A clean run: two producers over two partitions, interleaved; consumers
/// read some records, one of them twice (a re-read is not a violation); the
/// final read holds everything acknowledged, plus one write that was never
/// acknowledged (a timed-out send that landed: allowed, as in Kafka).
fn clean() -> History {
    History {
        acks: vec![ack(0, "p0-0", 0, 0), ack(1, "p1-0", 0, 1), ack(0, "p0-1", 1, 0), ack(0, "p0-2", 0, 2)],
        reads: vec![
            read(0, "p0-0", 0, 0),
            read(1, "p0-0", 0, 0),
            read(0, "p1-0", 0, 1),
            read(1, "p0-1", 1, 0),
        ],
        final_read: vec![
            stored("p0-0", 0, 0),
            stored("p1-0", 0, 1),
            stored("p0-2", 0, 2),
            stored("p1-1", 0, 3),
            stored("p0-1", 1, 0),
        ],
    }
}

/// A history that kept every promise has no violations.
#[test]
fn a_clean_history_has_no_violations() {
    assert_eq!(check(&clean()), vec![]);
    assert_eq!(check(&History::default()), vec![]);
}

/// An acknowledged write missing from the final read is `Lost` — the
/// violation acks=all exists to prevent.
#[test]
fn a_lost_acknowledged_write_is_reported() {
    let mut history = clean();
    history.final_read.retain(|s| s.value != "p0-2");
    assert_eq!(check(&history), vec![Violation::Lost { value: "p0-2".into(), partition: 0, offset: 2 }]);
}

/// An acknowledged write stored at another offset than its acknowledgement
/// named is `Moved` (a producer, or a consumer that committed the offset,
/// was told something false).
#[test]
fn a_write_stored_elsewhere_than_acknowledged_is_reported() {
    let mut history = clean();
    history.final_read = vec![
        stored("p0-0", 0, 0),
        stored("p1-0", 0, 1),
        stored("other", 0, 2),
        stored("p0-2", 0, 3),
        stored("p0-1", 1, 0),
    ];
    assert_eq!(
        check(&history),
        vec![Violation::Moved { value: "p0-2".into(), acked: (0, 2), stored: (0, 3) }]
    );
}

/// A value stored twice (a retried batch appended again: what idempotent
/// producers prevent, KIP-98) is `Duplicated`, with both places.
#[test]
fn a_value_stored_twice_is_reported() {
    let mut history = clean();
    history.final_read.push(stored("p0-1", 1, 1));
    assert_eq!(
        check(&history),
        vec![Violation::Duplicated { value: "p0-1".into(), at: vec![(1, 0), (1, 1)] }]
    );
}

/// One producer's writes to one partition stored out of send order are
/// `OutOfOrder`, even when each acknowledgement named the offset it is at
/// (here the broker acknowledged p0-1 below p0-0).
#[test]
fn writes_out_of_send_order_are_reported() {
    let history = History {
        acks: vec![ack(0, "p0-0", 0, 1), ack(0, "p0-1", 0, 0), ack(1, "p1-0", 0, 2)],
        reads: vec![],
        final_read: vec![stored("p0-1", 0, 0), stored("p0-0", 0, 1), stored("p1-0", 0, 2)],
    };
    assert_eq!(
        check(&history),
        vec![Violation::OutOfOrder {
            producer: 0,
            partition: 0,
            earlier: "p0-0".into(),
            later: "p0-1".into()
        }]
    );
}

/// A consumer that read a record the final read does not hold at that
/// position — gone, or replaced after a truncation (a read above the high
/// watermark) — is `ReadThenLost`, for each such read.
#[test]
fn a_read_of_a_record_later_lost_or_replaced_is_reported() {
    let mut history = clean();
    // Reader 1 read an unacknowledged write at offset 3 that a new leader
    // replaced; reader 0 read one at offset 4 that is gone.
    history.reads.push(read(1, "lost-a", 0, 3));
    history.reads.push(read(0, "lost-b", 0, 4));
    assert_eq!(
        check(&history),
        vec![
            Violation::ReadThenLost {
                reader: 1,
                partition: 0,
                offset: 3,
                read: "lost-a".into(),
                stored: Some("p1-1".into())
            },
            Violation::ReadThenLost {
                reader: 0,
                partition: 0,
                offset: 4,
                read: "lost-b".into(),
                stored: None
            },
        ]
    );
}

/// Several broken promises in one history are all reported, by kind.
#[test]
fn every_violation_is_reported_not_only_the_first() {
    let mut history = clean();
    history.final_read.retain(|s| s.value != "p1-0");
    history.final_read.push(stored("p0-0", 1, 1));
    let found = check(&history);
    assert_eq!(
        found,
        vec![
            Violation::Lost { value: "p1-0".into(), partition: 0, offset: 1 },
            Violation::Duplicated { value: "p0-0".into(), at: vec![(0, 0), (1, 1)] },
            Violation::ReadThenLost { reader: 0, partition: 0, offset: 1, read: "p1-0".into(), stored: None },
        ]
    );
}

// The proxy, against a tiny echo server

/// An echo server on a free port: every connection gets its bytes back.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = stream;
                let _ = std::io::copy(&mut reader, &mut writer);
            });
        }
    });
    addr
}

/// Long enough that a forwarded echo would have arrived many times over on
/// loopback; it bounds a wait for something that must *not* come.
const SILENCE: Duration = Duration::from_millis(500);

fn connect(proxy: &Proxy) -> TcpStream {
    let stream = TcpStream::connect(proxy.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Sends `message` and reads back exactly as many bytes.
fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    stream.write_all(message).unwrap();
    let mut got = vec![0; message.len()];
    stream.read_exact(&mut got).unwrap();
    got
}

/// What a read on a cut connection returns: `Ok(0)` (closed) or an error
/// that is not a timeout; never data.
fn assert_closed(stream: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 16];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("{what}: got {:?} through a cut link", &buf[..n]),
        Err(e) => assert!(
            !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{what}: the connection was left open ({e})"
        ),
    }
}

/// Bytes pass through the proxy unchanged and in order, both ways, on
/// several connections at once.
#[test]
fn the_proxy_forwards_bytes_in_order() {
    let proxy = Proxy::start(echo_server());
    let mut a = connect(&proxy);
    let mut b = connect(&proxy);
    for i in 0..100 {
        let message = format!("message {i} {}", "x".repeat(i * 100));
        assert_eq!(round_trip(&mut a, message.as_bytes()), message.as_bytes());
        assert_eq!(round_trip(&mut b, b"b"), b"b");
    }
}

/// `cut(Reset)` closes open connections and resets new ones; `heal` lets new
/// connections through again.
#[test]
fn a_reset_cut_closes_links_and_refuses_new_ones_until_healed() {
    let proxy = Proxy::start(echo_server());
    let mut open = connect(&proxy);
    assert_eq!(round_trip(&mut open, b"before"), b"before");
    proxy.cut(Cut::Reset);
    assert_closed(&mut open, "the open connection");
    let mut new = connect(&proxy);
    let _ = new.write_all(b"during"); // may already fail: the reset can come first
    assert_closed(&mut new, "a new connection");
    proxy.heal();
    let mut healed = connect(&proxy);
    assert_eq!(round_trip(&mut healed, b"after"), b"after");
}

/// `cut(Drop)` closes open connections and black-holes new ones — accepted,
/// never answered; `heal` closes the black-holed ones (their clients
/// reconnect) and forwards new ones.
#[test]
fn a_drop_cut_black_holes_new_links_until_healed() {
    let proxy = Proxy::start(echo_server());
    let mut open = connect(&proxy);
    assert_eq!(round_trip(&mut open, b"before"), b"before");
    proxy.cut(Cut::Drop);
    assert_closed(&mut open, "the open connection");
    let mut held = connect(&proxy);
    held.write_all(b"into the void").unwrap();
    held.set_read_timeout(Some(SILENCE)).unwrap();
    let mut buf = [0u8; 16];
    let silent = held.read(&mut buf).expect_err("a black-holed connection answered");
    assert!(matches!(silent.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{silent}");
    proxy.heal();
    held.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_closed(&mut held, "the black-holed connection after heal");
    let mut healed = connect(&proxy);
    assert_eq!(round_trip(&mut healed, b"after"), b"after");
}

/// `delay(ms)` holds every chunk at least `ms` each way and keeps order;
/// `delay(0)` ends it. (A lower bound only: a sleep cannot be early.)
#[test]
fn a_delay_delays_in_order() {
    let proxy = Proxy::start(echo_server());
    let mut stream = connect(&proxy);
    proxy.delay(100);
    let start = Instant::now();
    for i in 0..5 {
        stream.write_all(format!("<{i}>").as_bytes()).unwrap();
    }
    let mut got = vec![0; 15];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(got, b"<0><1><2><3><4>");
    assert!(start.elapsed() >= Duration::from_millis(200), "two delayed hops took {:?}", start.elapsed());
    proxy.delay(0);
    assert_eq!(round_trip(&mut stream, b"fast again"), b"fast again");
}

/// `isolate(pid)` cuts only the connections that come from that process:
/// this test's own are closed and refused, while those of a child process
/// (a `spool` client would be one; here a `python3` one-shot echo client)
/// still pass; `heal` lets this process back in.
#[test]
fn isolating_a_process_cuts_only_its_connections() {
    let proxy = Proxy::start(echo_server());
    let mut mine = connect(&proxy);
    assert_eq!(round_trip(&mut mine, b"before"), b"before");
    // Another process's connection, opened before the isolation and used after it.
    let other = OtherProcess::connect(&proxy);

    proxy.isolate(std::process::id(), Cut::Reset);
    assert_closed(&mut mine, "this process's open connection");
    let mut new = connect(&proxy);
    let _ = new.write_all(b"during");
    assert_closed(&mut new, "this process's new connection");
    assert_eq!(other.round_trip(), "other", "another process's connection was cut");

    proxy.heal();
    let mut healed = connect(&proxy);
    assert_eq!(round_trip(&mut healed, b"after"), b"after");
}

/// `delay_from(pid)` slows only the connections that come from that
/// process, open ones and new ones: this test's echo, sent first, comes back
/// after another process's (sent later, not delayed), and no sooner than two
/// delayed hops (a lower bound only); `heal` ends the delay.
#[test]
fn a_delay_from_a_process_slows_only_its_connections() {
    const DELAY_MS: u64 = 1_500;
    let proxy = Proxy::start(echo_server());
    let mut open = connect(&proxy);
    let other = OtherProcess::connect(&proxy);

    proxy.delay_from(std::process::id(), DELAY_MS);
    let mut new = connect(&proxy);
    let start = Instant::now();
    for stream in [&mut open, &mut new] {
        stream.write_all(b"slow").unwrap();
    }
    assert_eq!(other.round_trip(), "other", "another process's connection");
    for (stream, what) in [(&mut open, "the open connection"), (&mut new, "the new connection")] {
        stream.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 4];
        let early = stream.read(&mut buf);
        assert!(
            matches!(&early, Err(e) if e.kind() == ErrorKind::WouldBlock),
            "{what}: its echo came before the undelayed one: {early:?}"
        );
        stream.set_nonblocking(false).unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"slow");
    }
    let hops = Duration::from_millis(2 * DELAY_MS);
    assert!(start.elapsed() >= hops, "two delayed hops took {:?}", start.elapsed());
    proxy.heal();
    assert_eq!(round_trip(&mut open, b"healed"), b"healed");
}

/// A one-shot echo client in another process (`python3`): its connection
/// to the proxy is open once [`OtherProcess::connect`] returns, and it
/// sends `other` and reads the echo when told to.
struct OtherProcess {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl OtherProcess {
    fn connect(proxy: &Proxy) -> OtherProcess {
        let script = "import socket,sys\ns=socket.create_connection(('127.0.0.1',int(sys.argv[1])))\n\
                      sys.stdout.write('up\\n');sys.stdout.flush();sys.stdin.readline()\n\
                      s.sendall(b'other');print(s.recv(5).decode())";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script, &proxy.port().to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert_eq!(line, "up\n");
        OtherProcess { child, out }
    }

    /// Sends `other`, returns what came back; the process then exits.
    fn round_trip(mut self) -> String {
        self.child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut self.out, &mut line).unwrap();
        assert!(self.child.wait().unwrap().success());
        line.trim_end().to_string()
    }
}

/// A proxy whose target is down, or not set yet, resets its clients rather
/// than leaving them hanging; once given a live target it forwards.
#[test]
fn a_proxy_without_a_live_target_resets_its_clients() {
    let proxy = Proxy::bind();
    let mut stream = connect(&proxy);
    assert_closed(&mut stream, "a connection before any target");
    proxy.set_target(SocketAddr::from(([127, 0, 0, 1], cluster::free_port())));
    let mut stream = connect(&proxy);
    assert_closed(&mut stream, "a connection to a closed target");
    proxy.set_target(echo_server());
    let mut stream = connect(&proxy);
    assert_eq!(round_trip(&mut stream, b"live"), b"live");
}

// A real `spool serve`, through Node

mod node {
    use super::*;
    use spool::client::{Client, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord};
    use spool::TopicPartition;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    async fn produce(bootstrap: &str, value: &str) -> i64 {
        let producer = Producer::connect(ProducerConfig::new(bootstrap)).await.expect("producer");
        let record = ProducerRecord { value: Some(value.as_bytes().to_vec().into()), ..Default::default() };
        let delivery = producer.send_to_partition("harness", 0, record).await.expect("send");
        let offset = delivery.await.expect("acknowledged").offset;
        producer.close().await.expect("close");
        offset
    }

    /// Every value in partition 0 of `harness`, from offset 0, until `count` are read.
    async fn read_all(bootstrap: &str, count: usize) -> Vec<(i64, String)> {
        let mut consumer = Consumer::connect(bootstrap, ConsumerConfig::default()).await.expect("consumer");
        consumer.assign([TopicPartition::new("harness", 0)]);
        consumer.seek("harness", 0, 0).unwrap();
        let mut read = Vec::new();
        for _ in 0..300 {
            for r in consumer.poll(Duration::from_millis(100)).await.expect("poll") {
                let value = String::from_utf8(r.record.value.unwrap().to_vec()).unwrap();
                read.push((r.record.offset, value));
            }
            if read.len() >= count {
                return read;
            }
        }
        panic!("read {read:?}, expected {count} records");
    }

    /// A node that advertises a proxy in front of it (as the fault tests set
    /// up each broker) is reached only through the proxy: Metadata names the
    /// proxy's port, records go through it, and a cut proxy refuses clients
    /// until healed.
    #[test]
    fn a_node_behind_a_proxy_is_reached_through_it() {
        let front = Proxy::bind();
        let node = Node::start(1, |ports| {
            format!(
                "listeners=PLAINTEXT://127.0.0.1:{}\nadvertised.listeners=PLAINTEXT://127.0.0.1:{}\n",
                ports[0],
                front.port()
            )
        });
        front.set_target(node.addr(0));
        let bootstrap = front.addr().to_string();
        let rt = runtime();
        rt.block_on(async {
            let mut client = Client::connect(&bootstrap, Duration::from_secs(10)).await.expect("connect");
            let metadata = client.metadata(Some(&[]), false).await.expect("metadata");
            let ports: Vec<i32> = metadata.brokers.iter().map(|b| b.port).collect();
            assert_eq!(ports, vec![i32::from(front.port())], "{}", node.stderr());
        });
        assert_eq!(rt.block_on(produce(&bootstrap, "via proxy")), 0, "{}", node.stderr());

        front.cut(Cut::Reset);
        let refused = rt.block_on(Client::connect(&bootstrap, Duration::from_secs(10)));
        assert!(refused.is_err(), "a client got through a cut proxy");
        front.heal();
        assert_eq!(rt.block_on(read_all(&bootstrap, 1)), vec![(0, "via proxy".to_string())]);
    }

    /// Waits (boundedly) until the process is in `state` (`/proc/<pid>/stat`'s
    /// third field: `T` stopped, `S` sleeping, `R` running — `S` or `R` both
    /// count as not stopped).
    fn wait_for_state(pid: u32, state: char) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            // The command name, in parentheses, may hold spaces: read after it.
            let now = stat.rsplit_once(')').unwrap().1.trim_start().chars().next().unwrap();
            if now == state || (state == 'S' && now == 'R') {
                return;
            }
            assert!(Instant::now() < deadline, "process {pid} stayed in state {now}, not {state}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A standalone node started by the harness serves a real client; after
    /// SIGSTOP and SIGCONT it serves again; after SIGKILL and a restart on the
    /// same port and data, what it acknowledged before is still there.
    #[test]
    fn a_node_survives_pause_kill_and_restart() {
        let mut node = Node::start(1, |ports| {
            format!("listeners=PLAINTEXT://127.0.0.1:{}\nnum.partitions=1\n", ports[0])
        });
        let bootstrap = node.addr(0).to_string();
        let rt = runtime();
        assert_eq!(rt.block_on(produce(&bootstrap, "before")), 0, "{}", node.stderr());
        assert_eq!(rt.block_on(read_all(&bootstrap, 1)), vec![(0, "before".to_string())]);

        node.pause();
        assert!(node.is_running(), "a paused node is alive");
        let pid = node.pid().expect("alive");
        wait_for_state(pid, 'T');
        node.resume();
        wait_for_state(pid, 'S');
        assert_eq!(rt.block_on(produce(&bootstrap, "after pause")), 1, "{}", node.stderr());

        let status = node.kill().expect("it was running");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
        assert!(!node.is_running());
        node.restart();
        let read = rt.block_on(read_all(&bootstrap, 2));
        assert_eq!(
            read,
            vec![(0, "before".to_string()), (1, "after pause".to_string())],
            "{}",
            node.stderr()
        );

        let status = node.stop().expect("it was running");
        assert!(status.success(), "SIGTERM should be a clean exit: {status}\n{}", node.stderr());
    }

    /// Does a Kafka client handshake (ApiVersions) through `addr` succeed?
    fn answers(rt: &tokio::runtime::Runtime, addr: SocketAddr) -> bool {
        let addr = addr.to_string();
        rt.block_on(spool::client::Connection::connect(&addr, Duration::from_secs(10))).is_ok()
    }

    /// A cluster of three controllers (ids 1..3, `spool cluster
    /// --controllers 3`'s layout) and one broker (id 4) behind proxies: the
    /// broker registers through its list of three voters, and each
    /// controller, by its id, can be cut from every other node and healed,
    /// paused (SIGSTOP) and resumed, killed (SIGKILL) and restarted on the
    /// same port — the faults a KRaft schedule needs.
    #[test]
    fn a_quorum_clusters_controllers_are_cut_paused_killed_and_restarted_by_id() {
        let mut cluster = KafkaCluster::start_quorum_behind_proxies(3, 1, "");
        assert_eq!(cluster.controller_ids().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(cluster.broker_ids().collect::<Vec<_>>(), [4]);
        let rt = runtime();
        let bootstrap = cluster.bootstrap();
        let registered = rt.block_on(async {
            let mut client = Client::connect(&bootstrap, Duration::from_secs(10)).await.expect("connect");
            cluster::eventually("broker 4 registered and unfenced", async || {
                let metadata = client.metadata(Some(&[]), false).await.ok()?;
                let ids: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id).collect();
                (ids == [4]).then_some(ids)
            })
            .await
        });
        assert_eq!(registered, [4]);
        let front = |c: &KafkaCluster, id: i32| c.controller_fronts[(id - 1) as usize].addr();
        let broker_side = |c: &KafkaCluster, id: i32| c.links[0].controllers[(id - 1) as usize].addr();

        cluster.cut_controller(2, Cut::Reset);
        assert!(!answers(&rt, front(&cluster, 2)), "controller 2's front let a peer in");
        assert!(!answers(&rt, broker_side(&cluster, 2)), "the broker's link to 2 was not cut");
        assert!(answers(&rt, front(&cluster, 1)) && answers(&rt, broker_side(&cluster, 3)));
        cluster.heal();
        assert!(answers(&rt, front(&cluster, 2)) && answers(&rt, broker_side(&cluster, 2)));

        let pid = cluster.controller(3).pid().expect("controller 3 runs");
        cluster.controller(3).pause();
        wait_for_state(pid, 'T');
        cluster.controller(3).resume();
        wait_for_state(pid, 'S');
        assert!(answers(&rt, front(&cluster, 3)));

        let status = cluster.controller(3).kill().expect("it was running");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
        assert!(!answers(&rt, front(&cluster, 3)), "a killed controller answered");
        cluster.controller(3).restart();
        assert!(answers(&rt, front(&cluster, 3)), "{}", cluster.controller(3).stderr());
    }
}
