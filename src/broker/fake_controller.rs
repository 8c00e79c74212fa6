//! Controllers for tests: real servers on 127.0.0.1 that speak the
//! controller listener's wire protocol (ApiVersions with the controller's
//! APIs, then whatever the test answers), so a broker's link and metadata
//! fetch are tested over TCP against a quorum whose behaviour the test
//! decides — one controller refusing with `NOT_CONTROLLER`, another
//! accepting — before the real quorum's driver exists.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, RequestKind, ResponseKind};
use kafka_protocol::ResponseError;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::node::controller::CONTROLLER_APIS;
use crate::wire::codec::{encode_response, Request};
use crate::wire::handler::{Handler, Response};
use crate::wire::reader::RequestPool;

/// How a fake controller answers every request but ApiVersions.
type Answer = dyn Fn(&RequestKind) -> ResponseKind + Send + Sync;

/// A running fake controller; dropping it stops its server.
pub struct FakeController {
    pub addr: SocketAddr,
    handler: Arc<Fake>,
    _stop: watch::Sender<bool>,
}

struct Fake {
    answer: Box<Answer>,
    /// Every request but ApiVersions, in arrival order.
    seen: Mutex<Vec<RequestKind>>,
}

impl FakeController {
    /// Serves on a free port, answering with `answer`.
    pub async fn start(answer: impl Fn(&RequestKind) -> ResponseKind + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let handler = Arc::new(Fake { answer: Box::new(answer), seen: Mutex::new(Vec::new()) });
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(crate::wire::server::serve(handler.clone(), listener, stopped));
        FakeController { addr, handler, _stop: stop }
    }

    /// The requests it has been sent (ApiVersions left out).
    pub fn seen(&self) -> Vec<RequestKind> {
        self.handler.seen.lock().unwrap().clone()
    }
}

/// An address nothing listens on: a controller that is down.
pub async fn dead_controller() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr")
}

fn api_versions() -> ApiVersionsResponse {
    let keys = (CONTROLLER_APIS.iter())
        .map(|&(k, min, max)| {
            ApiVersion::default().with_api_key(k as i16).with_min_version(min).with_max_version(max)
        })
        .collect();
    ApiVersionsResponse::default().with_api_keys(keys)
}

impl Handler for Fake {
    type Write = Infallible;

    async fn handle(self: &Arc<Self>, request: Request) -> Result<Response<Infallible>, String> {
        let (api_key, version) = (request.api_key, request.header.request_api_version);
        let body = match &request.body {
            RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api_versions()),
            other => {
                self.seen.lock().unwrap().push(other.clone());
                (self.answer)(other)
            }
        };
        Ok(Response::Frame(encode_response(api_key, version, request.header.correlation_id, &body)?))
    }

    fn unsupported_api_versions(&self, correlation_id: i32) -> Result<Bytes, String> {
        let body = ResponseKind::ApiVersions(
            api_versions().with_error_code(ResponseError::UnsupportedVersion.code()),
        );
        encode_response(ApiKey::ApiVersions, 0, correlation_id, &body)
    }

    fn yields_to_shutdown(&self, _: ApiKey) -> bool {
        true
    }

    fn apis(&self) -> &'static [(ApiKey, i16, i16)] {
        CONTROLLER_APIS
    }

    fn request_bytes_max(&self) -> usize {
        1 << 20
    }

    fn request_pool(&self) -> Option<&Arc<RequestPool>> {
        None
    }
}
