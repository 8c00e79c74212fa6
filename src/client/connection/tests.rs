//! The connection's tests: scripted brokers that answer (or do not) as a
//! test needs, one request and several in flight alike.

use super::*;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use tokio::net::TcpListener;

/// How the scripted broker answers one request.
enum Answer {
    /// An ApiVersions body at this version, with this error and these ranges.
    ApiVersions { version: i16, error: i16, apis: Vec<(ApiKey, i16, i16)> },
    /// Read the request, never answer.
    Silence,
    /// Answer with the wrong correlation id.
    WrongCorrelationId,
}

/// A one-connection broker that follows `script` and returns the
/// (api key, version) of every request it was sent.
async fn scripted_broker(script: Vec<Answer>) -> (String, tokio::task::JoinHandle<Vec<(i16, i16)>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let mut seen = Vec::new();
        for answer in script {
            let frame = loop {
                if let Some(frame) = parse_frame(&mut buf, 1 << 20).unwrap() {
                    break frame;
                }
                if stream.read_buf(&mut buf).await.unwrap() == 0 {
                    return seen;
                }
            };
            let key = i16::from_be_bytes([frame[0], frame[1]]);
            let version = i16::from_be_bytes([frame[2], frame[3]]);
            let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
            seen.push((key, version));
            let mut out = BytesMut::new();
            out.put_i32(0);
            match answer {
                Answer::ApiVersions { version, error, apis } => {
                    out.put_i32(correlation_id); // ApiVersions responses always use header v0
                    let keys = apis
                        .into_iter()
                        .map(|(k, min, max)| {
                            ApiVersion::default()
                                .with_api_key(k as i16)
                                .with_min_version(min)
                                .with_max_version(max)
                        })
                        .collect();
                    let body = ApiVersionsResponse::default().with_error_code(error).with_api_keys(keys);
                    body.encode(&mut out, version).unwrap();
                }
                Answer::Silence => {
                    std::future::pending::<()>().await;
                }
                Answer::WrongCorrelationId => {
                    out.put_i32(correlation_id + 100);
                    out.put_u8(0); // no tagged fields (Metadata v12's header is v1)
                }
            }
            let size = (out.len() - 4) as i32;
            out[..4].copy_from_slice(&size.to_be_bytes());
            stream.write_all(&out).await.unwrap();
        }
        seen
    });
    (addr, task)
}

const API_VERSIONS: i16 = ApiKey::ApiVersions as i16;

/// KIP-511: a broker that does not know the client's ApiVersions version
/// answers a v0 body with UNSUPPORTED_VERSION; the client retries at the
/// broker's highest, then picks for each API the highest version both
/// speak, and refuses APIs the broker lacks or whose ranges do not meet.
#[tokio::test]
async fn api_versions_falls_back_and_versions_are_negotiated() {
    let broker_apis = vec![(ApiKey::ApiVersions, 0, 2), (ApiKey::Metadata, 0, 5), (ApiKey::Fetch, 0, 3)];
    let (addr, broker) = scripted_broker(vec![
        Answer::ApiVersions {
            version: 0,
            error: ResponseError::UnsupportedVersion.code(),
            apis: vec![(ApiKey::ApiVersions, 0, 2)],
        },
        Answer::ApiVersions { version: 2, error: 0, apis: broker_apis },
    ])
    .await;
    let connection = Connection::connect(&addr, Duration::from_secs(5)).await.unwrap();
    let (_, client_max) = client_range(ApiKey::ApiVersions);
    assert_eq!(connection.version_for(ApiKey::Metadata).unwrap(), 5);
    assert!(matches!(
        connection.version_for(ApiKey::Produce),
        Err(ClientError::UnsupportedVersion { broker: None, .. })
    ));
    // The broker's Fetch v0-v3 is entirely below this client's v4-v12.
    assert!(matches!(
        connection.version_for(ApiKey::Fetch),
        Err(ClientError::UnsupportedVersion { broker: Some((0, 3)), .. })
    ));
    drop(connection);
    assert_eq!(broker.await.unwrap(), vec![(API_VERSIONS, client_max), (API_VERSIONS, 2)]);
}

/// A request with no answer times out, and the connection is never used
/// again: a late answer would otherwise be read as the next request's.
#[tokio::test]
async fn a_timeout_breaks_the_connection() {
    let apis = vec![(ApiKey::ApiVersions, 0, 3), (ApiKey::Metadata, 0, 12)];
    let (addr, _broker) =
        scripted_broker(vec![Answer::ApiVersions { version: 3, error: 0, apis }, Answer::Silence]).await;
    let mut connection = Connection::connect(&addr, Duration::from_millis(200)).await.unwrap();
    let result = connection.send(&MetadataRequest::default()).await;
    assert!(matches!(result, Err(ClientError::Timeout { api: ApiKey::Metadata, .. })), "{result:?}");
    assert!(connection.is_broken());
    let again = connection.send(&MetadataRequest::default()).await;
    assert!(matches!(again, Err(ClientError::Io(_))), "{again:?}");
}

/// A request abandoned while it waits for its answer (its future dropped,
/// as a `select!` that took another branch does; commit ab297cc) never has
/// that answer read as the next request's: the request keeps its place in
/// the queue and its answer is thrown away when it comes. This broker
/// answers only once it holds both requests, echoing each correlation id.
#[tokio::test]
async fn an_abandoned_request_never_answers_the_next() {
    let addr = batching_broker(2).await;
    let mut connection = Connection::connect(&addr, Duration::from_secs(10)).await.unwrap();
    let request = MetadataRequest::default();
    let abandoned = tokio::time::timeout(Duration::from_millis(100), connection.send(&request));
    assert!(abandoned.await.is_err(), "no answer before the second request");
    let next = connection.send(&request).await.unwrap();
    assert_eq!(next.throttle_time_ms, 2, "the answer to request 2, not to the abandoned 1");
    assert!(!connection.is_broken());
}

/// A response whose correlation id is not the request's is a protocol
/// error (not a panic), and breaks the connection.
#[tokio::test]
async fn a_wrong_correlation_id_is_a_protocol_error() {
    let apis = vec![(ApiKey::ApiVersions, 0, 3), (ApiKey::Metadata, 0, 12)];
    let (addr, _broker) =
        scripted_broker(vec![Answer::ApiVersions { version: 3, error: 0, apis }, Answer::WrongCorrelationId])
            .await;
    let mut connection = Connection::connect(&addr, Duration::from_secs(5)).await.unwrap();
    let result = connection.send(&MetadataRequest::default()).await;
    assert!(
        matches!(&result, Err(ClientError::Protocol(why)) if why.contains("correlation id")),
        "{result:?}"
    );
    assert!(connection.is_broken());
}

/// A broker that answers ApiVersions, then reads `requests` Metadata
/// requests *before* answering any, and answers them in order — which only
/// a pipelining client can get through. Each answer echoes the request's
/// correlation id in `throttle_time_ms`.
async fn batching_broker(requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        answer_api_versions(&mut stream, &mut buf).await;
        let mut frames = Vec::new();
        for _ in 0..requests {
            frames.push(next_frame(&mut stream, &mut buf).await);
        }
        for frame in frames {
            let cid = correlation_id(&frame);
            let body = MetadataResponse::default().with_throttle_time_ms(cid);
            answer(&mut stream, &frame, true, |out| body.encode(out, 12).unwrap()).await;
        }
        // Keep the connection open until the client is done.
        let _ = stream.read_buf(&mut buf).await;
    });
    addr
}

/// The broker's side of the connection handshake: reads the client's
/// ApiVersions and answers with ApiVersions v0–3 and Metadata v1–12.
async fn answer_api_versions(stream: &mut TcpStream, buf: &mut BytesMut) {
    let handshake = next_frame(stream, buf).await;
    let apis = vec![
        ApiVersion::default().with_api_key(18).with_max_version(3),
        ApiVersion::default().with_api_key(3).with_min_version(1).with_max_version(12),
    ];
    let body = ApiVersionsResponse::default().with_api_keys(apis);
    answer(stream, &handshake, false, |out| body.encode(out, 3).unwrap()).await;
}

async fn next_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Bytes {
    loop {
        if let Some(frame) = parse_frame(buf, 1 << 20).unwrap() {
            return frame;
        }
        assert!(stream.read_buf(buf).await.unwrap() > 0, "the client hung up");
    }
}

fn correlation_id(frame: &[u8]) -> i32 {
    i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]])
}

/// Writes a response to `request`: size, correlation id, (for header v1)
/// no tagged fields, then the body.
async fn answer(stream: &mut TcpStream, request: &[u8], header_v1: bool, body: impl FnOnce(&mut BytesMut)) {
    use bytes::BufMut;
    let mut out = BytesMut::new();
    out.put_i32(0);
    out.put_i32(correlation_id(request));
    if header_v1 {
        out.put_u8(0);
    }
    body(&mut out);
    let size = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&size.to_be_bytes());
    stream.write_all(&out).await.unwrap();
}

/// Three requests are written before any response arrives, and each
/// response reaches its own request (the broker echoes the correlation id
/// in `throttle_time_ms`, so a mix-up would show).
#[tokio::test]
async fn responses_are_matched_in_order() {
    let addr = batching_broker(3).await;
    let mut connection = Connection::connect(&addr, Duration::from_secs(10)).await.unwrap();
    let mut pending = Vec::new();
    for _ in 0..3 {
        pending.push(connection.send_pipelined(&MetadataRequest::default()).await.unwrap());
    }
    let mut echoed = Vec::new();
    for response in pending {
        echoed.push(response.await.unwrap().throttle_time_ms);
    }
    // The handshake used correlation id 0.
    assert_eq!(echoed, vec![1, 2, 3]);
    assert!(!connection.is_broken());
}

/// A response future dropped before its answer came (the producer closing,
/// a `select!` that took another branch) does not shift the answers: the
/// next request still gets its own (the broker echoes correlation ids).
#[tokio::test]
async fn an_abandoned_response_never_answers_the_next_request() {
    let addr = batching_broker(2).await;
    let mut connection = Connection::connect(&addr, Duration::from_secs(10)).await.unwrap();
    drop(connection.send_pipelined(&MetadataRequest::default()).await.unwrap());
    let second = connection.send_pipelined(&MetadataRequest::default()).await.unwrap();
    assert_eq!(second.await.unwrap().throttle_time_ms, 2);
    assert!(!connection.is_broken());
}

/// A request abandoned while its frame is being written (the broker reads
/// nothing, so the write blocks) leaves half a frame on the wire: the
/// connection is broken, or the next request's bytes would follow the
/// half frame and the broker would read garbage.
#[tokio::test]
async fn a_request_abandoned_mid_write_breaks_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        answer_api_versions(&mut stream, &mut buf).await;
        // Read nothing more, and keep the connection open.
        std::future::pending::<()>().await;
    });
    let mut connection = Connection::connect(&addr, Duration::from_secs(30)).await.unwrap();
    // ~64 MB of topic names: more than the socket buffers hold.
    let name = "t".repeat(30_000);
    let topics = (0..2_200)
        .map(|_| {
            MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
        })
        .collect();
    let request = MetadataRequest::default().with_topics(Some(topics));
    let abandoned =
        tokio::time::timeout(Duration::from_millis(300), connection.send_pipelined(&request)).await;
    assert!(abandoned.is_err(), "the write cannot finish while the broker reads nothing");
    assert!(connection.is_broken());
}
