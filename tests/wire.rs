//! Chapter 2's broker over real TCP, in-process: each test starts a broker on
//! 127.0.0.1:0 with its log directory in a tempdir, talks to it with a raw client
//! built from `kafka-protocol`'s codecs and Kafka's 4-byte framing, and checks the
//! answers against what Apache Kafka does.
//!
//! ```text
//! cargo test --release --test wire
//! ```
//!
//! The client here is deliberately tiny — encode a header and a body, write a
//! frame, read a frame, decode — so a test shows the bytes' meaning and nothing
//! else. Real clients (kcat, librdkafka, kafka-python, …) are `tests/wire_clients.rs`.
//!
//! Every read has a timeout, so a broker that hangs fails a test instead of
//! hanging it. Timing assertions are loose on purpose (a long poll is "answered
//! before 4 s", not "within 5 ms"): CI machines are slow and noisy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, BrokerId, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeConfigsRequest, FetchRequest, ListOffsetsRequest, MetadataRequest, ProduceRequest, RequestHeader,
    ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::ResponseError;
use spool::broker::{now_ms, Broker};
use spool::config::BrokerConfig;
use spool::log::{BatchBuilder, RecordBatch};
use spool::wire::codec::SUPPORTED;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The longest any single read waits. Generous: it only bounds a hang.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

// Versions the tests speak: the newest spool and the codec crate share, except
// DeleteTopics, whose v6 names topics by id as well.
const API_VERSIONS_V: i16 = 3;
const METADATA_V: i16 = 12;
const CREATE_TOPICS_V: i16 = 7;
const DELETE_TOPICS_V: i16 = 5;
const DESCRIBE_CONFIGS_V: i16 = 4;
const PRODUCE_V: i16 = 9;
const FETCH_V: i16 = 12;
const LIST_OFFSETS_V: i16 = 6;

// ---------------------------------------------------------------------------
// A broker in the test's process
// ---------------------------------------------------------------------------

/// One running broker: the `spool serve` wiring, minus the binary.
struct TestBroker {
    addr: SocketAddr,
    broker: Arc<Broker>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    dir: TempDir,
}

/// Starts a broker in a fresh tempdir; `tweak` adjusts its config.
async fn start(tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    start_in(tempfile::tempdir().expect("tempdir"), tweak).await
}

/// Starts a broker on `dir`, which may hold a previous broker's logs.
async fn start_in(dir: TempDir, tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let mut config = BrokerConfig {
        listener: addr,
        advertised_port: addr.port(),
        log_dir: dir.path().join("logs"),
        ..Default::default()
    };
    tweak(&mut config);
    let broker = Arc::new(Broker::open(config).expect("open broker"));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let server = tokio::spawn(spool::wire::server::serve(broker.clone(), listener, shutdown_rx));
    TestBroker { addr, broker, shutdown, server, dir }
}

impl TestBroker {
    async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Clean stop, as `spool serve` does on SIGTERM: stop serving, then flush the
    /// logs and write the clean-shutdown marker. Returns the log directory.
    async fn stop(self) -> TempDir {
        self.shutdown.send(true).expect("server is listening");
        tokio::time::timeout(Duration::from_secs(10), self.server)
            .await
            .expect("server stops within its 5 s drain")
            .expect("server task did not panic");
        self.broker.shutdown().expect("clean shutdown");
        drop(self.broker);
        self.dir
    }
}

// ---------------------------------------------------------------------------
// A raw Kafka client: frames, headers, bodies
// ---------------------------------------------------------------------------

struct Client {
    stream: TcpStream,
    next_correlation_id: i32,
}

/// Encodes one request frame, size prefix included.
fn request_frame<R: Request>(version: i16, correlation_id: i32, body: &R) -> Bytes {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("wire-test")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf, R::header_version(version)).expect("encode header");
    body.encode(&mut buf, version).expect("encode body");
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(READ_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Client { stream, next_correlation_id: 1 }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write to broker");
    }

    /// Sends a request without waiting; returns its correlation id.
    async fn send<R: Request>(&mut self, version: i16, body: &R) -> i32 {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        self.write(&request_frame(version, correlation_id, body)).await;
        correlation_id
    }

    /// Reads one whole response frame (without its size prefix).
    async fn read_frame(&mut self) -> Bytes {
        let read = async {
            let size = self.stream.read_i32().await.expect("response size");
            assert!(size >= 4, "response of {size} bytes");
            let mut body = vec![0; size as usize];
            self.stream.read_exact(&mut body).await.expect("response body");
            Bytes::from(body)
        };
        tokio::time::timeout(READ_TIMEOUT, read).await.expect("no response within the read timeout")
    }

    /// Reads the response to request `correlation_id`, sent at `version`, and
    /// checks that the body decodes exactly: no bytes left over.
    async fn receive<R: Request>(&mut self, version: i16, correlation_id: i32) -> R::Response {
        let mut frame = self.read_frame().await;
        decode_response::<R::Response>(
            &mut frame,
            version,
            R::Response::header_version(version),
            correlation_id,
        )
    }

    async fn request<R: Request>(&mut self, version: i16, body: &R) -> R::Response {
        let correlation_id = self.send(version, body).await;
        self.receive::<R>(version, correlation_id).await
    }

    /// Waits until the broker closes the connection (EOF or reset), without
    /// sending anything; panics if it answers instead or keeps it open.
    async fn expect_closed(&mut self) {
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(READ_TIMEOUT, self.stream.read(&mut buf))
            .await
            .expect("the broker kept the connection open");
        if let Ok(n @ 1..) = read {
            panic!("expected the broker to close the connection; it sent {n} bytes");
        }
    }
}

fn decode_response<T: Decodable>(
    frame: &mut Bytes,
    version: i16,
    header_version: i16,
    correlation_id: i32,
) -> T {
    let header = ResponseHeader::decode(frame, header_version).expect("response header");
    assert_eq!(header.correlation_id, correlation_id, "responses come back in request order");
    let body = T::decode(frame, version).expect("response body");
    assert_eq!(frame.remaining(), 0, "the response body has {} trailing bytes", frame.remaining());
    body
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn code(e: ResponseError) -> i16 {
    e.code()
}

// ---------------------------------------------------------------------------
// Requests the tests send again and again
// ---------------------------------------------------------------------------

/// One batch of `values`, keyed `k0`, `k1`, …, timestamped `timestamp_ms`.
fn batch(timestamp_ms: i64, values: &[&str]) -> Bytes {
    let mut builder = BatchBuilder::default();
    for (i, v) in values.iter().enumerate() {
        builder.append(timestamp_ms, Some(format!("k{i}").as_bytes()), Some(v.as_bytes()), &[]);
    }
    builder.build().as_bytes().clone()
}

fn creatable(
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(&str, &str)],
) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(replication_factor)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k.to_string()))
                        .with_value(Some(StrBytes::from_string(v.to_string())))
                })
                .collect(),
        )
}

async fn create_topics(
    client: &mut Client,
    topics: Vec<CreatableTopic>,
    validate_only: bool,
) -> Vec<CreatableTopicResult> {
    let request = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(5_000)
        .with_validate_only(validate_only);
    client.request(CREATE_TOPICS_V, &request).await.topics
}

/// Creates a topic and checks that it worked.
async fn create_topic(client: &mut Client, topic: &str, partitions: i32, configs: &[(&str, &str)]) {
    let results = create_topics(client, vec![creatable(topic, partitions, -1, configs)], false).await;
    assert_eq!(results[0].error_code, 0, "create {topic}: {:?}", results[0].error_message);
}

async fn metadata(
    client: &mut Client,
    topics: Option<&[&str]>,
    allow_auto_create: bool,
) -> Vec<MetadataResponseTopic> {
    let request =
        MetadataRequest::default()
            .with_topics(topics.map(|t| {
                t.iter().map(|n| MetadataRequestTopic::default().with_name(Some(name(n)))).collect()
            }))
            .with_allow_auto_topic_creation(allow_auto_create);
    client.request(METADATA_V, &request).await.topics
}

fn produce_request(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    let data = PartitionProduceData::default().with_index(partition).with_records(Some(records));
    ProduceRequest::default().with_acks(acks).with_timeout_ms(5_000).with_topic_data(vec![
        TopicProduceData::default().with_name(name(topic)).with_partition_data(vec![data]),
    ])
}

async fn produce(
    client: &mut Client,
    topic: &str,
    partition: i32,
    records: Bytes,
    acks: i16,
) -> PartitionProduceResponse {
    let response = client.request(PRODUCE_V, &produce_request(topic, partition, records, acks)).await;
    assert_eq!(response.responses.len(), 1);
    let mut partitions = response.responses.into_iter().next().unwrap().partition_responses;
    assert_eq!(partitions.len(), 1);
    partitions.remove(0)
}

fn fetch_request(topic: &str, partition: i32, offset: i64, max_wait_ms: i32, min_bytes: i32) -> FetchRequest {
    let p = FetchPartition::default()
        .with_partition(partition)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(1 << 20);
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(50 << 20)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(vec![p])])
}

async fn fetch(client: &mut Client, topic: &str, partition: i32, offset: i64) -> PartitionData {
    fetch_one(client.request(FETCH_V, &fetch_request(topic, partition, offset, 0, 0)).await)
}

fn fetch_one(response: kafka_protocol::messages::FetchResponse) -> PartitionData {
    assert_eq!(response.error_code, 0);
    assert_eq!(response.responses.len(), 1);
    let mut partitions = response.responses.into_iter().next().unwrap().partitions;
    assert_eq!(partitions.len(), 1);
    partitions.remove(0)
}

/// The records in fetched bytes: (offset, value), every batch CRC-checked.
fn fetched_values(records: &Bytes) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut rest = records.clone();
    while !rest.is_empty() {
        let (batch, tail) = RecordBatch::parse(&rest).expect("whole batches");
        batch.validate().expect("CRC intact");
        for r in batch.decode_records().expect("records decode") {
            out.push((r.offset, String::from_utf8(r.value.expect("value").to_vec()).expect("utf-8")));
        }
        rest = tail;
    }
    out
}

async fn list_offset(
    client: &mut Client,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> ListOffsetsPartitionResponse {
    let request = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        ListOffsetsTopic::default().with_name(name(topic)).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(partition).with_timestamp(timestamp),
        ]),
    ]);
    let response = client.request(LIST_OFFSETS_V, &request).await;
    response.topics.into_iter().next().unwrap().partitions.remove(0)
}

/// Proves the broker still serves a fresh connection normally: ApiVersions,
/// then a produce and a fetch of what was produced.
async fn assert_still_serving(broker: &TestBroker) {
    let mut client = broker.client().await;
    let versions = client.request(API_VERSIONS_V, &ApiVersionsRequest::default()).await;
    assert_eq!(versions.error_code, 0);
    let topic = format!("alive-{}", client.stream.local_addr().unwrap().port());
    create_topic(&mut client, &topic, 1, &[]).await;
    let produced = produce(&mut client, &topic, 0, batch(now_ms(), &["still here"]), 1).await;
    assert_eq!((produced.error_code, produced.base_offset), (0, 0));
    let data = fetch(&mut client, &topic, 0, 0).await;
    assert_eq!(fetched_values(&data.records.unwrap()), vec![(0, "still here".to_string())]);
}

// ---------------------------------------------------------------------------
// ApiVersions
// ---------------------------------------------------------------------------

/// ApiVersions at every version spool speaks lists exactly `SUPPORTED`, no more
/// (a client would send requests spool cannot decode) and no less (it would
/// avoid ones spool can) — the contract of KIP-35 and KIP-511.
#[tokio::test]
async fn api_versions_lists_exactly_the_supported_versions() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let expected: Vec<(i16, i16, i16)> =
        SUPPORTED.iter().map(|&(k, min, max)| (k as i16, min, max)).collect();
    for version in 0..=4 {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("wire-test"))
            .with_client_software_version(StrBytes::from_static_str("1.0"));
        let response = client.request(version, &request).await;
        assert_eq!(response.error_code, 0, "v{version}");
        let listed: Vec<(i16, i16, i16)> =
            response.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
        assert_eq!(listed, expected, "v{version}");
    }
}

/// ApiVersions at a version the broker does not know (v99) is answered, not
/// closed: a v0 body with UNSUPPORTED_VERSION (35) and the supported list, so the
/// client can retry at a version both speak (KIP-511).
#[tokio::test]
async fn api_versions_at_an_unknown_version_gets_a_v0_error_with_the_list() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    // A v99 request cannot be encoded by the codec crate: write its header by hand.
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    frame.put_i16(ApiKey::ApiVersions as i16);
    frame.put_i16(99);
    frame.put_i32(7); // correlation id
    frame.put_i16(9);
    frame.put_slice(b"wire-test");
    frame.put_u8(0); // empty tagged fields, as a flexible header would have
    let size = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    client.write(&frame).await;
    let mut response = client.read_frame().await;
    // ApiVersions responses always use header v0, whatever the version.
    let body: ApiVersionsResponse = decode_response(&mut response, 0, 0, 7);
    assert_eq!(body.error_code, code(ResponseError::UnsupportedVersion));
    let listed: Vec<(i16, i16, i16)> =
        body.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
    let expected: Vec<(i16, i16, i16)> =
        SUPPORTED.iter().map(|&(k, min, max)| (k as i16, min, max)).collect();
    assert_eq!(listed, expected);
    // The connection stays usable: the client retries at a version it shares.
    let retry = client.request(API_VERSIONS_V, &ApiVersionsRequest::default()).await;
    assert_eq!(retry.error_code, 0);
}

// ---------------------------------------------------------------------------
// CreateTopics, DeleteTopics, Metadata, DescribeConfigs
// ---------------------------------------------------------------------------

/// CreateTopics creates the partitions asked for; `-1` partitions and `-1`
/// replication factor take the broker's `num.partitions` and
/// `default.replication.factor` (KIP-464), and v5+ echoes what was chosen.
#[tokio::test]
async fn create_topics_with_counts_and_broker_defaults() {
    let broker = start(|c| c.num_partitions = 3).await;
    let mut client = broker.client().await;
    let results = create_topics(
        &mut client,
        vec![creatable("explicit", 2, 1, &[("retention.ms", "60000")]), creatable("defaults", -1, -1, &[])],
        false,
    )
    .await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.error_code, 0, "{:?}: {:?}", r.name, r.error_message);
        assert!(!r.topic_id.is_nil(), "v7 returns the topic id");
        assert_eq!(r.replication_factor, 1, "the only possible factor, and the default");
    }
    assert_eq!((results[0].name.0.as_str(), results[0].num_partitions), ("explicit", 2));
    assert_eq!((results[1].name.0.as_str(), results[1].num_partitions), ("defaults", 3));
    let topics = metadata(&mut client, Some(&["explicit", "defaults"]), false).await;
    assert_eq!(topics.iter().map(|t| t.partitions.len()).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(topics[0].topic_id, results[0].topic_id, "Metadata and CreateTopics agree on the id");
}

/// `validate_only` (CreateTopics' dry run) checks the request and answers as if
/// it had created the topic, but creates nothing.
#[tokio::test]
async fn create_topics_validate_only_creates_nothing() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let results = create_topics(&mut client, vec![creatable("dry-run", 4, -1, &[])], true).await;
    assert_eq!((results[0].error_code, results[0].num_partitions), (0, 4));
    let topics = metadata(&mut client, Some(&["dry-run"]), false).await;
    assert_eq!(topics[0].error_code, code(ResponseError::UnknownTopicOrPartition));
    // A dry run of an invalid topic fails as the real thing would.
    let results = create_topics(&mut client, vec![creatable("dry-run", 0, -1, &[])], true).await;
    assert_eq!(results[0].error_code, code(ResponseError::InvalidPartitions));
    // And the name is still free.
    create_topic(&mut client, "dry-run", 1, &[]).await;
}

/// Each bad topic in a CreateTopics request fails on its own, with Kafka's code
/// for the reason, while the good ones in the same request are created.
#[tokio::test]
async fn create_topics_errors_are_per_topic() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "taken", 1, &[]).await;
    let results = create_topics(
        &mut client,
        vec![
            creatable("taken", 1, -1, &[]),
            creatable("bad name!", 1, -1, &[]),
            creatable("three-replicas", 1, 3, &[]),
            creatable("unknown-config", 1, -1, &[("no.such.config", "1")]),
            creatable("bad-config-value", 1, -1, &[("retention.ms", "soon")]),
            creatable("zero-partitions", 0, -1, &[]),
            creatable("fine", 1, -1, &[]),
        ],
        false,
    )
    .await;
    let codes: Vec<(&str, i16)> = results.iter().map(|r| (r.name.0.as_str(), r.error_code)).collect();
    assert_eq!(
        codes,
        vec![
            ("taken", code(ResponseError::TopicAlreadyExists)), // 36
            ("bad name!", code(ResponseError::InvalidTopicException)), // 17
            ("three-replicas", code(ResponseError::InvalidReplicationFactor)), // 38
            ("unknown-config", code(ResponseError::InvalidConfig)), // 40
            ("bad-config-value", code(ResponseError::InvalidConfig)),
            ("zero-partitions", code(ResponseError::InvalidPartitions)), // 37
            ("fine", 0),
        ]
    );
    assert!(results[..6].iter().all(|r| r.error_message.is_some()), "errors say why");
    let topics = metadata(&mut client, None, false).await;
    let mut names: Vec<String> = topics.iter().map(|t| t.name.as_ref().unwrap().0.to_string()).collect();
    names.sort();
    assert_eq!(names, vec!["fine", "taken"], "only the good topics exist");
}

/// DeleteTopics removes a topic (Metadata no longer knows it, its partitions
/// refuse produce) and answers UNKNOWN_TOPIC_OR_PARTITION for a topic that is not
/// there; the name can be reused for a new, empty topic.
#[tokio::test]
async fn delete_topics_removes_the_topic_and_its_data() {
    let broker = start(|c| c.auto_create_topics = false).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "doomed", 2, &[]).await;
    assert_eq!(produce(&mut client, "doomed", 1, batch(now_ms(), &["a", "b"]), 1).await.error_code, 0);
    let request = DeleteTopicsRequest::default()
        .with_topic_names(vec![name("doomed"), name("never-was")])
        .with_timeout_ms(5_000);
    let response = client.request(DELETE_TOPICS_V, &request).await;
    let codes: Vec<i16> = response.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, code(ResponseError::UnknownTopicOrPartition)]);
    let topics = metadata(&mut client, Some(&["doomed"]), false).await;
    assert_eq!(topics[0].error_code, code(ResponseError::UnknownTopicOrPartition));
    let refused = produce(&mut client, "doomed", 1, batch(now_ms(), &["late"]), 1).await;
    assert_eq!(refused.error_code, code(ResponseError::UnknownTopicOrPartition));
    // A new topic of the same name starts empty: the old log went with the old topic.
    create_topic(&mut client, "doomed", 2, &[]).await;
    assert_eq!(list_offset(&mut client, "doomed", 1, -1).await.offset, 0);
}

/// Metadata names this broker as the only broker and the controller, and with
/// `auto.create.topics.enable=true` creates an unknown topic the client asks for
/// with `num.partitions` partitions led by this broker — unless the client sets
/// `allow_auto_topic_creation=false` (KIP-204's flag, Metadata v4+).
#[tokio::test]
async fn metadata_auto_creates_when_the_broker_and_client_allow_it() {
    let broker = start(|c| {
        c.node_id = 7;
        c.num_partitions = 2;
    })
    .await;
    let mut client = broker.client().await;
    let request = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(name("auto")))]))
        .with_allow_auto_topic_creation(true);
    let response = client.request(METADATA_V, &request).await;
    assert_eq!(response.controller_id, BrokerId(7));
    assert_eq!(response.brokers.len(), 1);
    let me = &response.brokers[0];
    assert_eq!(
        (me.node_id, me.host.as_str(), me.port),
        (BrokerId(7), "127.0.0.1", i32::from(broker.addr.port()))
    );
    assert!(response.cluster_id.is_some());
    let topic = &response.topics[0];
    assert_eq!(topic.error_code, 0);
    assert_eq!(topic.partitions.len(), 2);
    for p in &topic.partitions {
        assert_eq!(p.leader_id, BrokerId(7));
        assert_eq!(p.replica_nodes, vec![BrokerId(7)]);
        assert_eq!(p.isr_nodes, vec![BrokerId(7)]);
    }
    // The client may refuse creation even though the broker allows it.
    let refused = metadata(&mut client, Some(&["not-wanted"]), false).await;
    assert_eq!(refused[0].error_code, code(ResponseError::UnknownTopicOrPartition));
    // A null topic list means "all topics": the auto-created one, not the refused
    // one, and never the metadata log.
    let all = metadata(&mut client, None, false).await;
    let names: Vec<&str> = all.iter().map(|t| t.name.as_ref().unwrap().0.as_str()).collect();
    assert_eq!(names, vec!["auto"]);
}

/// With `auto.create.topics.enable=false`, Metadata for an unknown topic answers
/// UNKNOWN_TOPIC_OR_PARTITION (3) and creates nothing, whatever the client asks.
#[tokio::test]
async fn metadata_does_not_create_when_the_broker_forbids_it() {
    let broker = start(|c| c.auto_create_topics = false).await;
    let mut client = broker.client().await;
    let topics = metadata(&mut client, Some(&["ghost"]), true).await;
    assert_eq!(topics[0].error_code, code(ResponseError::UnknownTopicOrPartition));
    assert!(metadata(&mut client, None, false).await.is_empty());
}

/// DescribeConfigs for a topic reports an override as DYNAMIC_TOPIC_CONFIG (1)
/// and the rest as DEFAULT_CONFIG (5), honours a key filter, and answers an
/// unknown topic with UNKNOWN_TOPIC_OR_PARTITION.
#[tokio::test]
async fn describe_configs_shows_a_topic_override() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "tuned", 1, &[("retention.ms", "12345"), ("cleanup.policy", "delete")]).await;
    let resource = |topic: &str, keys: Option<&[&str]>| {
        DescribeConfigsResource::default()
            .with_resource_type(2) // TOPIC
            .with_resource_name(StrBytes::from_string(topic.to_string()))
            .with_configuration_keys(
                keys.map(|k| k.iter().map(|k| StrBytes::from_string(k.to_string())).collect()),
            )
    };
    let request = DescribeConfigsRequest::default().with_resources(vec![
        resource("tuned", None),
        resource("tuned", Some(&["retention.ms", "segment.bytes"])),
        resource("missing", None),
    ]);
    let response = client.request(DESCRIBE_CONFIGS_V, &request).await;
    let [all, filtered, missing] = &response.results[..] else { panic!("three results") };
    assert_eq!(all.error_code, 0);
    let find =
        |name: &str| all.configs.iter().find(|c| c.name.as_str() == name).unwrap_or_else(|| panic!("{name}"));
    let retention = find("retention.ms");
    assert_eq!((retention.value.as_deref(), retention.config_source), (Some("12345"), 1));
    assert_eq!(find("segment.bytes").config_source, 5);
    assert!(!retention.read_only);
    let mut names: Vec<&str> = filtered.configs.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["retention.ms", "segment.bytes"]);
    assert_eq!(missing.error_code, code(ResponseError::UnknownTopicOrPartition));
}

// ---------------------------------------------------------------------------
// Produce
// ---------------------------------------------------------------------------

/// Produce with acks=1 and acks=-1 answers each partition with the base offset
/// its batch was given; offsets continue across requests (one broker: both acks
/// mean "the leader has it", chapter 6 makes them differ).
#[tokio::test]
async fn produce_acks_one_and_all_return_offsets() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "orders", 1, &[]).await;
    let first = produce(&mut client, "orders", 0, batch(now_ms(), &["a", "b", "c"]), 1).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    assert_eq!(first.log_append_time_ms, -1, "CreateTime topic");
    let second = produce(&mut client, "orders", 0, batch(now_ms(), &["d", "e"]), -1).await;
    assert_eq!((second.error_code, second.base_offset), (0, 3));
    assert_eq!(list_offset(&mut client, "orders", 0, -1).await.offset, 5);
}

/// Produce with acks=0 gets no response at all: the client does not read one,
/// so the next frame on the connection answers the next request.
#[tokio::test]
async fn produce_acks_zero_gets_no_response() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "fire-and-forget", 1, &[]).await;
    client.send(PRODUCE_V, &produce_request("fire-and-forget", 0, batch(now_ms(), &["x"]), 0)).await;
    let next = client.send(API_VERSIONS_V, &ApiVersionsRequest::default()).await;
    let response = client.receive::<ApiVersionsRequest>(API_VERSIONS_V, next).await;
    assert_eq!(response.error_code, 0);
    // The record was appended all the same (requests are handled in order).
    let data = fetch(&mut client, "fire-and-forget", 0, 0).await;
    assert_eq!(fetched_values(&data.records.unwrap()), vec![(0, "x".to_string())]);
}

/// A failed produce with acks=0 closes the connection: the client reads no
/// response, so a close is the only error it can notice (Kafka's KafkaApis does
/// the same, and the producer then refreshes its metadata).
#[tokio::test]
async fn a_failed_acks_zero_produce_closes_the_connection() {
    let broker = start(|c| c.auto_create_topics = false).await;
    let mut client = broker.client().await;
    client.send(PRODUCE_V, &produce_request("missing", 0, batch(now_ms(), &["x"]), 0)).await;
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// `acks` other than -1, 0 or 1 is INVALID_REQUIRED_ACKS (21) for every
/// partition, and nothing is appended.
#[tokio::test]
async fn acks_outside_minus_one_to_one_is_invalid_required_acks() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "strict", 1, &[]).await;
    let response = produce(&mut client, "strict", 0, batch(now_ms(), &["x"]), 2).await;
    assert_eq!(response.error_code, code(ResponseError::InvalidRequiredAcks));
    assert_eq!(list_offset(&mut client, "strict", 0, -1).await.offset, 0);
}

/// In durable mode (every acknowledged append fsynced first, through group
/// commit) concurrent producers on several connections all get their offsets:
/// the blocking fsync wait runs off the async threads and every ack arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_mode_acknowledges_concurrent_producers() {
    let broker = start(|c| c.log.flush_before_ack = true).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "fsynced", 1, &[]).await;
    let mut producers = Vec::new();
    for p in 0..4 {
        let mut client = broker.client().await;
        producers.push(tokio::spawn(async move {
            let mut offsets = Vec::new();
            for i in 0..10 {
                let r = produce(&mut client, "fsynced", 0, batch(now_ms(), &[&format!("{p}.{i}")]), -1).await;
                assert_eq!(r.error_code, 0);
                offsets.push(r.base_offset);
            }
            offsets
        }));
    }
    let mut offsets = Vec::new();
    for p in producers {
        offsets.extend(p.await.expect("producer task"));
    }
    offsets.sort();
    assert_eq!(offsets, (0..40).collect::<Vec<i64>>(), "each append got its own offset");
}

/// A batch whose bytes no longer match its CRC-32C is refused with
/// CORRUPT_MESSAGE (2) and nothing is appended — Kafka's LogValidator checks the
/// CRC of every batch a producer sends.
#[tokio::test]
async fn a_corrupt_batch_is_refused_and_not_appended() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "fragile", 1, &[]).await;
    let good = batch(now_ms(), &["one", "two"]);
    let mut bad = BytesMut::from(&good[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0x40; // inside the records, under the CRC
    let response = produce(&mut client, "fragile", 0, bad.freeze(), 1).await;
    assert_eq!(response.error_code, code(ResponseError::CorruptMessage));
    assert_eq!(response.base_offset, -1);
    assert_eq!(list_offset(&mut client, "fragile", 0, -1).await.offset, 0, "nothing appended");
    // The good batch after it lands at offset 0.
    assert_eq!(produce(&mut client, "fragile", 0, good, 1).await.base_offset, 0);
}

/// A batch larger than the topic's `max.message.bytes` is refused with
/// MESSAGE_TOO_LARGE (10), and nothing is appended.
#[tokio::test]
async fn a_batch_above_max_message_bytes_is_refused() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "small", 1, &[("max.message.bytes", "256")]).await;
    let big = "x".repeat(300);
    let response = produce(&mut client, "small", 0, batch(now_ms(), &[&big]), 1).await;
    assert_eq!(response.error_code, code(ResponseError::MessageTooLarge));
    assert_eq!(list_offset(&mut client, "small", 0, -1).await.offset, 0);
    assert_eq!(produce(&mut client, "small", 0, batch(now_ms(), &["fits"]), 1).await.error_code, 0);
}

/// Produce never creates topics (in Kafka, only Metadata auto-creates): to a
/// missing topic it answers UNKNOWN_TOPIC_OR_PARTITION (3).
#[tokio::test]
async fn produce_to_a_missing_topic_is_unknown_topic_or_partition() {
    let broker = start(|c| c.auto_create_topics = false).await;
    let mut client = broker.client().await;
    let response = produce(&mut client, "nowhere", 0, batch(now_ms(), &["lost"]), 1).await;
    assert_eq!(response.error_code, code(ResponseError::UnknownTopicOrPartition));
    create_topic(&mut client, "somewhere", 1, &[]).await;
    let response = produce(&mut client, "somewhere", 5, batch(now_ms(), &["lost"]), 1).await;
    assert_eq!(response.error_code, code(ResponseError::UnknownTopicOrPartition), "no partition 5");
}

// ---------------------------------------------------------------------------
// Fetch and ListOffsets
// ---------------------------------------------------------------------------

/// Fetch returns the producer's bytes unchanged, except the two header fields
/// the broker owns — `baseOffset` and `partitionLeaderEpoch`, both outside the
/// CRC — so the CRC a producer computed is the one a consumer checks.
#[tokio::test]
async fn fetch_returns_exactly_the_produced_bytes() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "exact", 1, &[]).await;
    let batches = [batch(now_ms(), &["a", "b", "c"]), batch(now_ms(), &["d"])];
    for b in &batches {
        assert_eq!(produce(&mut client, "exact", 0, b.clone(), 1).await.error_code, 0);
    }
    let data = fetch(&mut client, "exact", 0, 0).await;
    assert_eq!((data.error_code, data.high_watermark, data.log_start_offset), (0, 4, 0));
    let records = data.records.expect("records");
    assert_eq!(records.len(), batches[0].len() + batches[1].len());
    let mut at = 0;
    for (b, base_offset) in batches.iter().zip([0i64, 3]) {
        let got = &records[at..at + b.len()];
        assert_eq!(&got[..8], &base_offset.to_be_bytes(), "baseOffset assigned by the broker");
        assert_eq!(&got[12..16], &0i32.to_be_bytes(), "partitionLeaderEpoch: the leader's epoch, 0");
        assert_eq!(&got[8..12], &b[8..12], "batchLength unchanged");
        assert_eq!(&got[16..], &b[16..], "magic, CRC and everything under it unchanged");
        at += b.len();
    }
    let values = fetched_values(&records);
    assert_eq!(
        values.iter().map(|(o, v)| format!("{o}:{v}")).collect::<Vec<_>>(),
        ["0:a", "1:b", "2:c", "3:d"]
    );
    // From the middle of a batch, the whole batch comes back (the consumer skips).
    let mid = fetch(&mut client, "exact", 0, 1).await;
    assert_eq!(mid.records.unwrap().len(), records.len());
}

/// A fetch at an offset past the log end offset answers OFFSET_OUT_OF_RANGE
/// (1), so the consumer applies its `auto.offset.reset`; at exactly the end it
/// is an empty, successful read.
#[tokio::test]
async fn fetch_past_the_end_is_offset_out_of_range() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "short", 1, &[]).await;
    produce(&mut client, "short", 0, batch(now_ms(), &["only"]), 1).await;
    let past = fetch(&mut client, "short", 0, 5).await;
    assert_eq!(past.error_code, code(ResponseError::OffsetOutOfRange));
    let at_end = fetch(&mut client, "short", 0, 1).await;
    assert_eq!(at_end.error_code, 0);
    assert!(at_end.records.unwrap_or_default().is_empty());
    assert_eq!(at_end.high_watermark, 1);
}

/// Long polling: a fetch that waits up to 5 s for 1 byte on an empty partition
/// is answered as soon as another connection produces — well before the 5 s —
/// and carries the new record (Kafka's delayed fetch, completed by the append).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_is_answered_when_another_connection_produces() {
    let broker = start(|_| {}).await;
    let mut consumer = broker.client().await;
    let mut producer = broker.client().await;
    create_topic(&mut producer, "waiting", 1, &[]).await;
    let started = Instant::now();
    let correlation_id = consumer.send(FETCH_V, &fetch_request("waiting", 0, 0, 5_000, 1)).await;
    // Let the fetch find nothing and park, then produce.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(produce(&mut producer, "waiting", 0, batch(now_ms(), &["wake up"]), 1).await.error_code, 0);
    let response = consumer.receive::<FetchRequest>(FETCH_V, correlation_id).await;
    let elapsed = started.elapsed();
    let data = fetch_one(response);
    assert_eq!(fetched_values(&data.records.unwrap()), vec![(0, "wake up".to_string())]);
    assert!(elapsed < Duration::from_secs(4), "woken by the append, not the 5 s deadline ({elapsed:?})");
}

/// A long poll with no data returns an empty response once `max_wait_ms` has
/// passed — not before (it waited), and not never.
#[tokio::test]
async fn a_long_poll_with_no_data_returns_empty_after_the_wait() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "quiet", 1, &[]).await;
    let started = Instant::now();
    let response = client.request(FETCH_V, &fetch_request("quiet", 0, 0, 200, 1)).await;
    let elapsed = started.elapsed();
    let data = fetch_one(response);
    assert_eq!(data.error_code, 0);
    assert!(data.records.unwrap_or_default().is_empty());
    assert!(elapsed >= Duration::from_millis(150), "answered after {elapsed:?}: it did not wait");
    assert!(elapsed < Duration::from_secs(4), "answered after {elapsed:?}");
}

/// ListOffsets: EARLIEST (-2) is the log start offset, LATEST (-1) the log end
/// offset, and a timestamp finds the first record at or after it (KIP-79); a
/// timestamp after every record gives offset -1.
#[tokio::test]
async fn list_offsets_earliest_latest_and_by_timestamp() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "timeline", 1, &[]).await;
    let t0 = now_ms() - 60_000;
    for (i, values) in [&["a", "b"][..], &["c"], &["d", "e", "f"]].iter().enumerate() {
        produce(&mut client, "timeline", 0, batch(t0 + 1_000 * i as i64, values), 1).await;
    }
    // Offsets: a b @ t0 (0, 1); c @ t0+1000 (2); d e f @ t0+2000 (3, 4, 5).
    assert_eq!(list_offset(&mut client, "timeline", 0, -2).await.offset, 0);
    assert_eq!(list_offset(&mut client, "timeline", 0, -1).await.offset, 6);
    let at = list_offset(&mut client, "timeline", 0, t0 + 500).await;
    assert_eq!((at.error_code, at.offset, at.timestamp), (0, 2, t0 + 1_000));
    let exact = list_offset(&mut client, "timeline", 0, t0 + 2_000).await;
    assert_eq!((exact.offset, exact.timestamp), (3, t0 + 2_000));
    assert_eq!(list_offset(&mut client, "timeline", 0, t0).await.offset, 0);
    let after = list_offset(&mut client, "timeline", 0, t0 + 10_000).await;
    assert_eq!((after.error_code, after.offset, after.timestamp), (0, -1, -1));
    let unknown = list_offset(&mut client, "no-such-topic", 0, -1).await;
    assert_eq!(unknown.error_code, code(ResponseError::UnknownTopicOrPartition));
}

// ---------------------------------------------------------------------------
// Bad input: one connection misbehaves, the broker serves the others
// ---------------------------------------------------------------------------

/// A client that sends part of a frame and then closes its side is dropped;
/// nothing of its half-request is acted on, and others are served.
#[tokio::test]
async fn a_truncated_frame_then_close_is_dropped() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let frame = request_frame(PRODUCE_V, 1, &produce_request("half", 0, batch(now_ms(), &["half"]), 1));
    client.write(&frame[..frame.len() / 2]).await;
    client.stream.shutdown().await.expect("half-close");
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// Bytes that are not Kafka frames — an HTTP request, whose first four bytes
/// read as a size of ~1.2 GB — close the connection without an allocation of
/// that size (a size above `socket.request.max.bytes` is not a request).
#[tokio::test]
async fn an_http_request_closes_the_connection() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    client.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    client.expect_closed().await;
    // A negative size is garbage too.
    let mut client = broker.client().await;
    client.write(&(-5i32).to_be_bytes()).await;
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// A frame whose size prefix exceeds `socket.request.max.bytes` closes the
/// connection as soon as the prefix arrives: the broker does not wait for (or
/// buffer) the body — here it is never sent, and the close comes anyway.
#[tokio::test]
async fn a_frame_above_socket_request_max_bytes_is_refused_unread() {
    let broker = start(|c| c.socket_request_max_bytes = 4_096).await;
    let mut client = broker.client().await;
    client.write(&100_000i32.to_be_bytes()).await;
    client.write(&[0u8; 100]).await; // a little of the body, far from all of it
    client.expect_closed().await;
    // Under the limit is a request; over it, even a well-formed one, is not.
    assert_still_serving(&broker).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "near-limit", 1, &[]).await;
    let request = produce_request("near-limit", 0, batch(now_ms(), &[&"y".repeat(3_000)]), 1);
    assert!(request_frame(PRODUCE_V, 1, &request).len() - 4 <= 4_096);
    assert_eq!(client.request(PRODUCE_V, &request).await.responses[0].partition_responses[0].error_code, 0);
    let too_big = produce_request("near-limit", 0, batch(now_ms(), &[&"y".repeat(5_000)]), 1);
    client.send(PRODUCE_V, &too_big).await;
    client.expect_closed().await;
}

/// An API key Kafka does not define closes the connection (Kafka cannot parse
/// the header, so it cannot answer).
#[tokio::test]
async fn an_unknown_api_key_closes_the_connection() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let mut frame = BytesMut::new();
    frame.put_i32(10);
    frame.put_i16(9_999);
    frame.put_i16(0);
    frame.put_i32(1);
    frame.put_i16(-1); // null client id
    client.write(&frame).await;
    client.expect_closed().await;
    // A key Kafka defines but spool does not implement (JoinGroup, chapter 5) too.
    let mut client = broker.client().await;
    let join = kafka_protocol::messages::JoinGroupRequest::default();
    client.send(0, &join).await;
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// A version of a known API outside the range spool advertised closes the
/// connection (only ApiVersions gets an answer at an unknown version, KIP-511).
#[tokio::test]
async fn an_unsupported_version_of_a_known_api_closes_the_connection() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    // Metadata v13 is valid Kafka, but beyond the v12 spool lists.
    client.send(13, &MetadataRequest::default()).await;
    client.expect_closed().await;
    let mut client = broker.client().await;
    // Fetch v1 is older than spool's oldest (v2).
    let mut frame = BytesMut::new();
    frame.put_i32(10);
    frame.put_i16(ApiKey::Fetch as i16);
    frame.put_i16(1);
    frame.put_i32(1);
    frame.put_i16(-1);
    client.write(&frame).await;
    client.expect_closed().await;
    assert_still_serving(&broker).await;
}

/// A client that vanishes — mid-frame, or while its long-polling fetch is
/// parked — costs the broker nothing: the fetch's late response goes nowhere
/// and other connections are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_mid_request_is_forgotten() {
    let broker = start(|_| {}).await;
    let mut setup = broker.client().await;
    create_topic(&mut setup, "abandoned", 1, &[]).await;
    {
        let mut client = broker.client().await;
        let frame = request_frame(METADATA_V, 1, &MetadataRequest::default());
        client.write(&frame[..6]).await;
    } // dropped: the socket closes with the frame unfinished
    {
        let mut client = broker.client().await;
        client.send(FETCH_V, &fetch_request("abandoned", 0, 0, 1_000, 1)).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    } // dropped while the fetch waits
    assert_still_serving(&broker).await;
    // The parked fetch wakes on this append and writes to a closed socket.
    produce(&mut setup, "abandoned", 0, batch(now_ms(), &["for nobody"]), 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_still_serving(&broker).await;
}

/// 200 idle connections, all open at once, do not stop another client from
/// producing and fetching (one task per connection; an idle one just waits).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_idle_connections_do_not_block_a_busy_one() {
    let broker = start(|_| {}).await;
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(broker.client().await);
    }
    let mut client = broker.client().await;
    create_topic(&mut client, "busy", 1, &[]).await;
    for i in 0..20 {
        let produced = produce(&mut client, "busy", 0, batch(now_ms(), &[&format!("v{i}")]), 1).await;
        assert_eq!((produced.error_code, produced.base_offset), (0, i));
    }
    let data = fetch(&mut client, "busy", 0, 0).await;
    assert_eq!(fetched_values(&data.records.unwrap()).len(), 20);
    // The idle ones are still open and still served.
    for c in idle.iter_mut().step_by(40) {
        assert_eq!(c.request(API_VERSIONS_V, &ApiVersionsRequest::default()).await.error_code, 0);
    }
}

// ---------------------------------------------------------------------------
// Durability across a clean restart
// ---------------------------------------------------------------------------

/// Nothing acknowledged is lost: every batch produced with acks=1 before a clean
/// shutdown is fetched back, in order and byte for byte, from a broker reopened
/// on the same log directory — topics, partitions and offsets included.
#[tokio::test]
async fn acknowledged_records_survive_a_clean_restart() {
    const BATCHES: i64 = 50;
    let broker = start(|c| c.log.segment_bytes = 2_048).await; // several segments
    let mut client = broker.client().await;
    create_topic(&mut client, "durable", 2, &[]).await;
    let mut expected: [Vec<(i64, String)>; 2] = Default::default();
    for i in 0..BATCHES {
        let partition = (i % 2) as usize;
        let values = [format!("batch {i} record 0"), format!("batch {i} record 1")];
        let records = batch(now_ms(), &[&values[0], &values[1]]);
        let acked = produce(&mut client, "durable", partition as i32, records, 1).await;
        assert_eq!(acked.error_code, 0);
        let next = expected[partition].len() as i64;
        assert_eq!(acked.base_offset, next);
        expected[partition].extend(values.into_iter().enumerate().map(|(j, v)| (next + j as i64, v)));
    }
    drop(client);
    let dir = broker.stop().await;

    let broker = start_in(dir, |c| c.log.segment_bytes = 2_048).await;
    let mut client = broker.client().await;
    for (partition, expected) in expected.iter().enumerate() {
        let mut got = Vec::new();
        let mut offset = 0;
        while offset < expected.len() as i64 {
            let data = fetch(&mut client, "durable", partition as i32, offset).await;
            assert_eq!(data.error_code, 0);
            assert_eq!(data.high_watermark, expected.len() as i64);
            let values = fetched_values(&data.records.expect("records"));
            assert!(!values.is_empty(), "no progress at offset {offset}");
            got.extend(values.into_iter().filter(|(o, _)| *o >= offset));
            offset = got.last().unwrap().0 + 1;
        }
        assert_eq!(&got, expected, "partition {partition}");
    }
    // And the log continues where it stopped.
    let next = produce(&mut client, "durable", 0, batch(now_ms(), &["after restart"]), 1).await;
    assert_eq!(next.base_offset, expected[0].len() as i64);
    broker.stop().await;
}
