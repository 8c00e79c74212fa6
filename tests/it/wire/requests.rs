//! Requests the tests send again and again, and the answers' decoding.

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiVersionsRequest, BrokerId, CreateTopicsRequest, FetchRequest, ListOffsetsRequest, MetadataRequest,
    ProduceRequest,
};
use kafka_protocol::protocol::StrBytes;
use spool::broker::now_ms;
use spool::format::{BatchBuilder, RecordBatch};

use crate::common::batches::keyed_batch;
use crate::wire::harness::{
    name, Client, TestBroker, API_VERSIONS_V, CREATE_TOPICS_V, FETCH_V, LIST_OFFSETS_V, METADATA_V, PRODUCE_V,
};

/// One batch of `values`, keyed `k0`, `k1`, …, timestamped `timestamp_ms`.
pub fn batch(timestamp_ms: i64, values: &[&str]) -> Bytes {
    keyed_batch(BatchBuilder::default(), |_| timestamp_ms, values)
}

pub fn creatable(
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

pub async fn create_topics(
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
pub async fn create_topic(client: &mut Client, topic: &str, partitions: i32, configs: &[(&str, &str)]) {
    let results = create_topics(client, vec![creatable(topic, partitions, -1, configs)], false).await;
    assert_eq!(results[0].error_code, 0, "create {topic}: {:?}", results[0].error_message);
}

pub async fn metadata(
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

pub fn produce_request(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    let data = PartitionProduceData::default().with_index(partition).with_records(Some(records));
    ProduceRequest::default().with_acks(acks).with_timeout_ms(5_000).with_topic_data(vec![
        TopicProduceData::default().with_name(name(topic)).with_partition_data(vec![data]),
    ])
}

pub async fn produce(
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

pub fn fetch_request(
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
) -> FetchRequest {
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

pub async fn fetch(client: &mut Client, topic: &str, partition: i32, offset: i64) -> PartitionData {
    fetch_one(client.request(FETCH_V, &fetch_request(topic, partition, offset, 0, 0)).await)
}

pub fn fetch_one(response: kafka_protocol::messages::FetchResponse) -> PartitionData {
    assert_eq!(response.error_code, 0);
    assert_eq!(response.responses.len(), 1);
    let mut partitions = response.responses.into_iter().next().unwrap().partitions;
    assert_eq!(partitions.len(), 1);
    partitions.remove(0)
}

/// The records in fetched bytes: (offset, value), every batch CRC-checked.
pub fn fetched_values(records: &Bytes) -> Vec<(i64, String)> {
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

pub async fn list_offset(
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
pub async fn assert_still_serving(broker: &TestBroker) {
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
