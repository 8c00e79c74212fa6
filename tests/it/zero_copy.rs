//! Chapter 3's two fetch paths over real TCP: the zero-copy path (`sendfile`)
//! and the copying path (`spool.fetch.zero.copy=false`) send the same bytes, the
//! zero-copy path really calls `sendfile` and copies no record byte, and it
//! survives what can happen while a large response is on its way: a slow
//! reader (partial sends on a non-blocking socket), the segment deleted, the
//! segment truncated.
//!
//! ```text
//! cargo test --release --test it zero_copy::
//! ```

use crate::common::batches;
use crate::wire::harness;
use crate::wire::requests;

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, DeleteTopicsRequest, FetchRequest, FetchResponse};
use kafka_protocol::protocol::HeaderVersion;
use spool::format::BatchBuilder;
use spool::log::manager::lock;
use spool::TopicPartition;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use batches::keyed_batch;
use harness::{decode_response, name, request_frame, start, start_in, TestBroker, DELETE_TOPICS_V};
use requests::{create_topic, fetched_values, produce};

/// The version librdkafka and the Java client use against spool.
const FETCH_V: i16 = 12;

/// One batch of `count` records, values `"{tag}-{i}"` padded to `value_len` bytes.
fn padded_batch(tag: &str, count: usize, value_len: usize) -> Bytes {
    let values = (0..count).map(|i| {
        let mut value = format!("{tag}-{i}-").into_bytes();
        value.resize(value_len, b'.');
        value
    });
    keyed_batch(BatchBuilder::default(), |_| 1_700_000_000_000, values)
}

/// Produces `batches` batches of `count` records of `value_len` bytes to each
/// of `partitions` partitions of `topic`, which it creates.
async fn fill(
    broker: &TestBroker,
    topic: &str,
    partitions: i32,
    batches: usize,
    count: usize,
    value_len: usize,
) {
    let mut client = broker.client().await;
    create_topic(&mut client, topic, partitions, &[]).await;
    for p in 0..partitions {
        for b in 0..batches {
            let records = padded_batch(&format!("p{p}-b{b}"), count, value_len);
            let produced = produce(&mut client, topic, p, records, 1).await;
            assert_eq!(produced.error_code, 0, "produce to {topic}-{p}");
        }
    }
}

/// A fetch of `(partition, offset, partition_max_bytes)` from `topic`.
fn fetch_request(topic: &str, partitions: &[(i32, i64, i32)], max_bytes: i32) -> FetchRequest {
    let partitions = partitions
        .iter()
        .map(|&(p, offset, max)| {
            FetchPartition::default()
                .with_partition(p)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(max)
        })
        .collect();
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(max_bytes)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(partitions)])
}

/// The requests both paths must answer identically: every version spool
/// speaks, offsets in several segments of several partitions at once, limits
/// below one batch (KIP-74), an unknown partition, an offset out of range, and
/// the end of the log.
fn comparison_requests() -> Vec<(i16, FetchRequest)> {
    let all = |offsets: [i64; 3], max| {
        fetch_request("t", &[(0, offsets[0], max), (1, offsets[1], max), (2, offsets[2], max)], 50 << 20)
    };
    let mut requests = Vec::new();
    for version in 4..=12 {
        requests.push((version, all([0, 0, 0], 1 << 20)));
    }
    requests.push((FETCH_V, all([100, 337, 599], 1 << 20)));
    requests.push((FETCH_V, all([0, 200, 400], 1_000)));
    requests.push((FETCH_V, fetch_request("t", &[(0, 0, 1 << 20), (1, 0, 1 << 20)], 9_000)));
    requests.push((
        FETCH_V,
        fetch_request("t", &[(9, 0, 1 << 20), (0, 10_000, 1 << 20), (1, 300, 1 << 20)], 50 << 20),
    ));
    requests.push((FETCH_V, all([200, 300, 400], 1 << 20)));
    requests.push((7, all([123, 45, 6], 64 << 10)));
    requests
}

/// Sends each request and returns each raw response frame.
async fn raw_responses(broker: &TestBroker, requests: &[(i16, FetchRequest)]) -> Vec<Bytes> {
    let mut client = broker.client().await;
    let mut frames = Vec::new();
    for (version, request) in requests {
        client.send(*version, request).await;
        frames.push(client.read_frame().await);
    }
    frames
}

/// Record bytes in a fetch response frame.
fn record_bytes(frame: &Bytes, version: i16) -> u64 {
    let correlation_id = correlation_id(frame);
    let mut frame = frame.clone();
    let header_version = FetchResponse::header_version(version);
    let response: FetchResponse = decode_response(&mut frame, version, header_version, correlation_id);
    response
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| p.records.as_ref().map_or(0, |r| r.len() as u64))
        .sum()
}

fn correlation_id(frame: &Bytes) -> i32 {
    i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]])
}

/// The zero-copy path and the copying path answer the same requests on the same
/// log with the same bytes, frame for frame; the first moved every record byte
/// with `sendfile` and copied none, the second the reverse.
#[tokio::test]
async fn both_paths_send_the_same_bytes() {
    // Small segments, so the fetches below read from several of them at once.
    let zero_copy = start(|c| c.log.segment_bytes = 64 << 10).await;
    fill(&zero_copy, "t", 3, 30, 20, 300).await;
    let requests = comparison_requests();
    let sent = raw_responses(&zero_copy, &requests).await;
    let record_total: u64 = sent.iter().zip(&requests).map(|(f, (v, _))| record_bytes(f, *v)).sum();
    assert!(record_total > 1 << 20, "the requests fetch a few MB ({record_total} bytes)");
    let stats = &zero_copy.broker().zero_copy_stats;
    assert_eq!(stats.sendfile_bytes(), record_total, "every record byte went through sendfile");
    assert!(stats.sendfile_calls() >= requests.len() as u64);
    assert_eq!(stats.copied_bytes(), 0, "the zero-copy path copied record bytes");

    let dir = zero_copy.stop().await;
    let copying = start_in(dir, |c| {
        c.log.segment_bytes = 64 << 10;
        c.zero_copy = false;
    })
    .await;
    let copied = raw_responses(&copying, &requests).await;
    for (i, (a, b)) in sent.iter().zip(&copied).enumerate() {
        assert!(
            a == b,
            "request {i} (v{}): the paths differ ({} vs {} bytes)",
            requests[i].0,
            a.len(),
            b.len()
        );
    }
    let stats = &copying.broker().zero_copy_stats;
    assert_eq!((stats.sendfile_calls(), stats.copied_bytes()), (0, record_total));
}

/// A client with a tiny receive buffer that reads slowly, so the broker's
/// socket fills and `sendfile` sends each region in many pieces.
async fn slow_client(broker: &TestBroker) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(8 << 10).expect("SO_RCVBUF");
    socket.connect(broker.addr).await.expect("connect")
}

/// Sends `request` and reads its response `chunk` bytes at a time, pausing
/// between reads; `before_rest` runs after the first `head` bytes arrived.
/// Returns the frame (without its size), or what arrived before the broker
/// closed the connection, as `Err`.
async fn slow_fetch(
    stream: &mut TcpStream,
    request: &FetchRequest,
    head: usize,
    before_rest: impl std::future::Future<Output = ()>,
) -> Result<Bytes, (usize, usize)> {
    stream.write_all(&request_frame(FETCH_V, 7, request)).await.expect("send");
    let size = stream.read_i32().await.expect("size") as usize;
    let mut frame = vec![0; size];
    let mut got = 0;
    let read = async {
        let mut pause = Some(before_rest);
        while got < size {
            if got >= head {
                if let Some(step) = pause.take() {
                    step.await;
                }
            }
            let end = (got + (64 << 10)).min(size);
            match stream.read(&mut frame[got..end]).await.expect("read") {
                0 => return Err((got, size)),
                n => got += n,
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(60), read).await.expect("the response arrives")?;
    Ok(Bytes::from(frame))
}

/// Checks that a fetch of `partitions` partitions from offset 0 returned every
/// record `fill` wrote (`batches` × `count` each), in order, byte for byte.
fn assert_whole(frame: Bytes, partitions: i32, batches: usize, count: usize, value_len: usize) {
    let mut frame = frame;
    let response: FetchResponse =
        decode_response(&mut frame, FETCH_V, FetchResponse::header_version(FETCH_V), 7);
    let topic = &response.responses[0];
    assert_eq!(topic.partitions.len(), partitions as usize);
    for (p, data) in topic.partitions.iter().enumerate() {
        assert_eq!(data.error_code, 0);
        let got = fetched_values(data.records.as_ref().expect("records"));
        assert_eq!(got.len(), batches * count, "partition {p}: every record");
        for (i, (offset, value)) in got.iter().enumerate() {
            let (b, r) = (i / count, i % count);
            let mut expected = format!("p{p}-b{b}-{r}-");
            expected.extend(std::iter::repeat_n('.', value_len - expected.len()));
            assert_eq!((*offset, value), (i as i64, &expected), "partition {p}, record {i}");
        }
    }
}

/// 16 MB in one response (4 partitions × 4 MB), to a reader that takes it 64 KiB at a time through
/// an 8 KiB receive buffer: the broker's socket is full most of the time, so
/// `sendfile` returns short or `EAGAIN` and must resume where it stopped — the
/// response still arrives whole, in more `sendfile` calls than regions.
#[tokio::test]
async fn a_slow_reader_gets_every_byte_through_partial_sends() {
    let broker = start(|c| c.log.segment_bytes = 32 << 20).await;
    fill(&broker, "big", 4, 8, 500, 1000).await;
    let request =
        fetch_request("big", &[(0, 0, 8 << 20), (1, 0, 8 << 20), (2, 0, 8 << 20), (3, 0, 8 << 20)], 64 << 20);
    let mut stream = slow_client(&broker).await;
    let frame = slow_fetch(&mut stream, &request, 0, async {}).await.expect("the whole response");
    assert!(frame.len() > 16_000_000, "{} bytes", frame.len());
    assert_whole(frame, 4, 8, 500, 1000);
    let calls = broker.broker().zero_copy_stats.sendfile_calls();
    assert!(calls > 4, "4 regions took {calls} sendfile calls: the socket never filled?");
}

/// DeleteTopics removes the segment files while a response reading them is on
/// its way: the response still arrives whole, because the fetch holds the
/// files open and an unlinked file lives until its last handle closes.
#[tokio::test]
async fn a_segment_deleted_mid_send_is_sent_whole() {
    let broker = start(|c| c.log.segment_bytes = 32 << 20).await;
    fill(&broker, "doomed", 2, 8, 500, 1000).await;
    let request = fetch_request("doomed", &[(0, 0, 8 << 20), (1, 0, 8 << 20)], 64 << 20);
    let mut stream = slow_client(&broker).await;
    let mut admin = broker.client().await;
    let partition_dir = broker.broker().config.log_dir.join("doomed-0");
    let delete = async {
        let request =
            DeleteTopicsRequest::default().with_topic_names(vec![name("doomed")]).with_timeout_ms(5_000);
        let response = admin.request(DELETE_TOPICS_V, &request).await;
        assert_eq!(response.responses[0].error_code, 0);
        assert!(!partition_dir.exists(), "DeleteTopics removed {}", partition_dir.display());
    };
    let frame = slow_fetch(&mut stream, &request, 64 << 10, delete).await.expect("the whole response");
    assert_whole(frame, 2, 8, 500, 1000);
}

/// A segment truncated mid-send (a follower truncating to its leader, chapter
/// 6) leaves `sendfile` short of the length the response's size prefix
/// promised: the broker closes the connection, as Kafka does, rather than pad
/// the response with bytes that are not records. Other connections carry on.
#[tokio::test]
async fn a_segment_truncated_mid_send_closes_the_connection() {
    let broker = start(|c| c.log.segment_bytes = 64 << 20).await;
    fill(&broker, "cut", 1, 32, 500, 1000).await;
    let request = fetch_request("cut", &[(0, 0, 32 << 20)], 64 << 20);
    let mut stream = slow_client(&broker).await;
    let log = broker.broker().partition(&TopicPartition::new("cut", 0)).expect("partition").log.clone();
    // Keep the first half (16 batches of 500 records): the cut lies far beyond
    // what the socket buffers can hold after the first 64 KiB was read.
    let truncate = async { lock(&log).truncate_to(16 * 500).expect("truncate") };
    let (got, size) =
        slow_fetch(&mut stream, &request, 64 << 10, truncate).await.expect_err("a short response");
    assert!(got < size && got > 64 << 10, "{got} of {size} bytes before the close");
    requests::assert_still_serving(&broker).await;
}
