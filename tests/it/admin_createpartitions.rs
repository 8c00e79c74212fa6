//! Issue 17's CreatePartitions (API key 37, KIP-195), end to end: through
//! spool's own admin client and `spool topics --alter --partitions`
//! (kafka-topics.sh's flags) against a broker in this process, then on a
//! three-broker cluster of real `spool serve` processes, where the
//! controller commits the new PartitionRecords and each broker opens the
//! logs it now hosts.
//!
//! ```text
//! cargo build && cargo test --test it admin_createpartitions::
//! ```

use crate::common::cluster;
use crate::wire::harness;

use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use spool::client::{
    Client, ClientError, Consumer, ConsumerConfig, NewTopic, Producer, ProducerConfig, ProducerRecord,
};
use spool::tools::topics::{run, TopicsCommand};
use spool::TopicPartition;

const PATIENCE: Duration = Duration::from_secs(30);

fn kafka_code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> ResponseError {
    match result {
        Err(ClientError::Kafka { code, .. }) => code,
        other => panic!("expected a Kafka error, got {other:?}"),
    }
}

async fn topics(client: &mut Client, command: TopicsCommand) -> Result<String, ClientError> {
    let mut out = Vec::new();
    run(client, command, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

/// Produces `value` to `topic-partition` and reads it back from the start.
async fn round_trip(bootstrap: &str, topic: &str, partition: i32, value: &str) -> Vec<String> {
    let producer = Producer::connect(ProducerConfig::new(bootstrap)).await.expect("producer");
    let record = ProducerRecord { value: Some(value.as_bytes().to_vec().into()), ..Default::default() };
    let delivery = producer.send_to_partition(topic, partition, record).await.expect("send");
    delivery.await.unwrap_or_else(|e| panic!("{value} not acknowledged: {e}"));
    producer.close().await.expect("close");
    let mut consumer = Consumer::connect(bootstrap, ConsumerConfig::default()).await.expect("consumer");
    consumer.assign([TopicPartition::new(topic, partition)]);
    consumer.seek(topic, partition, 0).unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut read = Vec::new();
    while read.is_empty() && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap_or_default() {
            read.push(String::from_utf8(r.record.value.unwrap().to_vec()).unwrap());
        }
    }
    read
}

/// `spool topics --alter --partitions 3` grows a one-partition topic: it
/// prints nothing (as kafka-topics.sh), `--describe` then shows
/// PartitionCount 3, and the new partition takes and serves records.
/// Shrinking (INVALID_PARTITIONS), an unknown topic
/// (UNKNOWN_TOPIC_OR_PARTITION) and `__consumer_offsets` (refused, see
/// `controller::partitions`) change nothing; a dry run (validate_only)
/// answers success and changes nothing either.
#[tokio::test]
async fn the_tool_grows_a_topic_and_refuses_what_kafka_refuses() {
    let broker = harness::start(|_| {}).await;
    let bootstrap = broker.addr.to_string();
    let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
    let created = client.create_topics(&[NewTopic { partitions: 1, ..NewTopic::new("orders") }], false).await;
    assert!(created.expect("CreateTopics")[0].is_ok());

    let alter = |topic: &str, partitions| TopicsCommand::Alter { topic: topic.into(), partitions };
    assert_eq!(topics(&mut client, alter("orders", 3)).await.expect("--alter"), "");
    let described = topics(&mut client, TopicsCommand::Describe(Some("orders".into()))).await.unwrap();
    assert!(described.contains("PartitionCount: 3\t"), "{described}");
    assert!(described.contains("\tPartition: 2\tLeader: 1\t"), "{described}");
    assert_eq!(round_trip(&bootstrap, "orders", 2, "on the new partition").await, ["on the new partition"]);

    assert_eq!(kafka_code(topics(&mut client, alter("orders", 2)).await), ResponseError::InvalidPartitions);
    assert_eq!(kafka_code(topics(&mut client, alter("orders", 3)).await), ResponseError::InvalidPartitions);
    assert_eq!(
        kafka_code(topics(&mut client, alter("nope", 3)).await),
        ResponseError::UnknownTopicOrPartition
    );
    client.create_partitions("orders", 8, true).await.expect("a dry run");
    assert_eq!(client.topic("orders", false).await.unwrap().partitions.len(), 3);

    // The group coordinator's topic: created on demand (Metadata may auto-create it), then refused.
    client.metadata(Some(&["__consumer_offsets"]), true).await.expect("metadata");
    let before =
        client.topic("__consumer_offsets", false).await.expect("__consumer_offsets").partitions.len();
    let refused = client.create_partitions("__consumer_offsets", before as i32 + 1, false).await;
    assert_eq!(kafka_code(refused), ResponseError::InvalidRequest);
    client.invalidate("__consumer_offsets");
    assert_eq!(client.topic("__consumer_offsets", false).await.unwrap().partitions.len(), before);
    broker.stop().await;
}

/// On three `spool serve` brokers, a topic of one partition replicated
/// three times grows to four through any broker (forwarded to the active
/// controller): every broker's Metadata shows four partitions, each led
/// and with all three replicas in its ISR, and the newest one takes an
/// acks=all record and serves it back.
#[test]
fn a_cluster_grows_a_replicated_topic() {
    let cluster = cluster::KafkaCluster::start(3, "");
    let bootstrap = cluster.bootstrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        cluster::eventually("three unfenced brokers", async || {
            let metadata = client.metadata(Some(&[]), false).await.ok()?;
            (metadata.brokers.len() == 3).then_some(())
        })
        .await;
        let topic = NewTopic { partitions: 1, replication_factor: 3, ..NewTopic::new("grown") };
        assert!(client.create_topics(&[topic], false).await.expect("CreateTopics")[0].is_ok());
        client.create_partitions("grown", 4, false).await.expect("CreatePartitions");
        let shrink = client.create_partitions("grown", 2, false).await;
        assert_eq!(kafka_code(shrink), ResponseError::InvalidPartitions);
        for address in bootstrap.split(',') {
            let mut one = Client::connect(address, Duration::from_secs(5)).await.expect("client");
            cluster::eventually("four led, fully replicated partitions", async || {
                one.invalidate("grown");
                let topic = one.metadata(Some(&["grown"]), false).await.ok()?.topics.pop()?;
                let ready = topic.partitions.len() == 4
                    && topic
                        .partitions
                        .iter()
                        .all(|p| p.leader >= 0 && p.isr.len() == 3 && p.replicas.len() == 3);
                ready.then_some(())
            })
            .await;
        }
        assert_eq!(round_trip(&bootstrap, "grown", 3, "replicated").await, ["replicated"]);
    });
}
