//! The server's request pipeline, with a handler of the tests' own: produces
//! answer [`Response::Later`], when the test opens their gate.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, MetadataRequest, ProduceRequest, RequestHeader};
use kafka_protocol::protocol::{Encodable, Request as KafkaRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use super::codec::Request;
use super::{Handler, Response};

/// Answers each request with a 4-byte frame holding its correlation id; a
/// produce's answer waits until the test opens its gate.
struct Gated {
    pipelines: bool,
    /// Correlation ids in the order the handler saw them.
    handled: Mutex<Vec<i32>>,
    gates: Mutex<BTreeMap<i32, oneshot::Receiver<()>>>,
}

impl Handler for Gated {
    type Write = Infallible;

    async fn handle(self: &Arc<Self>, request: Request) -> Result<Response<Infallible>, String> {
        let id = request.header.correlation_id;
        self.handled.lock().unwrap().push(id);
        let answer = Bytes::from([&4i32.to_be_bytes()[..], &id.to_be_bytes()].concat());
        if request.api_key != ApiKey::Produce {
            return Ok(Response::Frame(answer));
        }
        let gate = self.gates.lock().unwrap().remove(&id).expect("a gate per produce");
        Ok(Response::Later(Box::pin(async move {
            gate.await.map_err(|e| e.to_string())?;
            Ok(answer)
        })))
    }

    fn unsupported_api_versions(&self, _: i32) -> Result<Bytes, String> {
        Err("not in these tests".into())
    }

    fn yields_to_shutdown(&self, _: ApiKey) -> bool {
        false
    }

    fn pipelines(&self, api_key: ApiKey) -> bool {
        self.pipelines && api_key == ApiKey::Produce
    }

    fn request_bytes_max(&self) -> usize {
        1 << 20
    }

    fn request_pool(&self) -> Option<&Arc<super::reader::RequestPool>> {
        None
    }
}

/// A server over a [`Gated`] handler, and a client connected to it.
struct Setup {
    handler: Arc<Gated>,
    client: TcpStream,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl Setup {
    async fn start(pipelines: bool) -> Setup {
        let handler = Arc::new(Gated {
            pipelines,
            handled: Mutex::new(Vec::new()),
            gates: Mutex::new(BTreeMap::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(super::server::serve(handler.clone(), listener, stopped));
        let client = TcpStream::connect(addr).await.unwrap();
        Setup { handler, client, stop, server }
    }

    /// Sends a produce whose answer waits for the returned gate.
    async fn produce(&mut self, correlation_id: i32) -> oneshot::Sender<()> {
        let (open, gate) = oneshot::channel();
        self.handler.gates.lock().unwrap().insert(correlation_id, gate);
        self.send(&ProduceRequest::default().with_acks(-1), 9, correlation_id).await;
        open
    }

    async fn metadata(&mut self, correlation_id: i32) {
        self.send(&MetadataRequest::default(), 12, correlation_id).await;
    }

    async fn send<R: KafkaRequest>(&mut self, body: &R, version: i16, correlation_id: i32) {
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id);
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header.encode(&mut buf, R::header_version(version)).unwrap();
        body.encode(&mut buf, version).unwrap();
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        self.client.write_all(&buf).await.unwrap();
    }

    /// The correlation id of the next response on the connection.
    async fn answer(&mut self) -> i32 {
        let read = async {
            assert_eq!(self.client.read_i32().await.unwrap(), 4);
            self.client.read_i32().await.unwrap()
        };
        tokio::time::timeout(Duration::from_secs(10), read).await.expect("an answer within 10 s")
    }

    fn handled(&self) -> Vec<i32> {
        self.handler.handled.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until the handler has seen `ids`.
    async fn until_handled(&self, ids: &[i32]) {
        for _ in 0..1_000 {
            if self.handled() == ids {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("handled {:?}, expected {ids:?}", self.handled());
    }

    /// Gives the server time to (wrongly) handle more than it should.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// While a produce waits for its answer, the connection's next produce is
/// handled (its records would be appended); the answers still leave in
/// request order, even when the later one is decided first.
#[tokio::test]
async fn a_waiting_produce_lets_the_next_produce_in_and_answers_leave_in_order() {
    let mut setup = Setup::start(true).await;
    let first = setup.produce(1).await;
    let second = setup.produce(2).await;
    setup.until_handled(&[1, 2]).await;
    second.send(()).unwrap();
    Setup::settle().await;
    first.send(()).unwrap();
    assert_eq!((setup.answer().await, setup.answer().await), (1, 2));
}

/// Kafka's way, the switch off: the next request is not read until the
/// waiting produce is answered.
#[tokio::test]
async fn without_pipelining_the_next_produce_waits_for_the_answer() {
    let mut setup = Setup::start(false).await;
    let first = setup.produce(1).await;
    let second = setup.produce(2).await;
    Setup::settle().await;
    assert_eq!(setup.handled(), [1]);
    first.send(()).unwrap();
    assert_eq!(setup.answer().await, 1);
    setup.until_handled(&[1, 2]).await;
    second.send(()).unwrap();
    assert_eq!(setup.answer().await, 2);
}

/// A request the handler does not pipeline (a Metadata here; a Fetch that
/// reads back what was produced) is handled only once every earlier answer
/// has been written, as if each had been answered before it was read.
#[tokio::test]
async fn a_request_that_is_not_pipelined_waits_for_the_earlier_answers() {
    let mut setup = Setup::start(true).await;
    let first = setup.produce(1).await;
    setup.metadata(2).await;
    Setup::settle().await;
    assert_eq!(setup.handled(), [1]);
    first.send(()).unwrap();
    assert_eq!((setup.answer().await, setup.answer().await), (1, 2));
    assert_eq!(setup.handled(), [1, 2]);
}

/// Shutdown lets a waiting produce run to its answer before the connection
/// closes: an append is never left unanswered by the broker's choice.
#[tokio::test]
async fn shutdown_answers_the_waiting_produces_first() {
    let mut setup = Setup::start(true).await;
    let first = setup.produce(1).await;
    let second = setup.produce(2).await;
    setup.until_handled(&[1, 2]).await;
    setup.stop.send(true).unwrap();
    Setup::settle().await;
    first.send(()).unwrap();
    second.send(()).unwrap();
    assert_eq!((setup.answer().await, setup.answer().await), (1, 2));
    let mut rest = Vec::new();
    setup.client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "closed after the answers");
    setup.server.await.unwrap();
}
