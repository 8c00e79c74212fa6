//! Issue 17's config APIs in a cluster: three controllers and three brokers
//! as real `spool serve` processes. A topic's config altered through a
//! broker (forwarded to the active controller, Kafka's KIP-590) reaches
//! every replica: each one's DescribeConfigs shows it and each one's log
//! applies it — `max.message.bytes` refuses a big batch on a new leader
//! after a leader change. A dynamic cluster default (`message.max.bytes` on
//! the resource "") reaches every broker the same way. A controller
//! failover and a broker restart keep both: they are records in the
//! metadata log, replayed from it.
//!
//! ```text
//! cargo build && cargo test --test it configglue_cluster::
//! ```

use crate::common::cluster;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use cluster::{eventually, quorum, KafkaCluster};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::client::configs::{AlterConfigOp, ConfigResource};
use spool::client::{Client, Connection, NewTopic};
use spool::format::BatchBuilder;

const GUARDED: &str = "guarded";
const PLAIN: &str = "plain";
const PATIENCE: Duration = Duration::from_secs(60);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn client(addr: SocketAddr) -> Client {
    Client::connect(&addr.to_string(), Duration::from_secs(5)).await.expect("client")
}

/// A Produce of one record of `value_bytes` bytes to partition 0, acks=1,
/// sent to `addr`: the partition's error code.
async fn produce(addr: SocketAddr, topic: &str, value_bytes: usize) -> i16 {
    let mut builder = BatchBuilder::default();
    builder.append(spool::broker::now_ms(), Some(b"k"), Some("x".repeat(value_bytes).as_bytes()), &[]);
    let records: Bytes = builder.build().as_bytes().clone();
    let data = PartitionProduceData::default().with_index(0).with_records(Some(records));
    let name = TopicName(StrBytes::from_string(topic.to_string()));
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default().with_name(name).with_partition_data(vec![data])]);
    let Ok(mut connection) = Connection::connect(&addr.to_string(), Duration::from_secs(5)).await else {
        return -1;
    };
    match connection.send(&request).await {
        Ok(response) => response.responses[0].partition_responses[0].error_code,
        Err(_) => -1,
    }
}

/// `topic`'s `key` as broker `addr` describes it: (value, source).
async fn described(addr: SocketAddr, topic: &str, key: &str) -> Option<(String, i8)> {
    let mut client = Client::connect(&addr.to_string(), Duration::from_secs(5)).await.ok()?;
    let configs = client.describe_configs(&ConfigResource::topic(topic)).await.ok()?;
    let c = configs.into_iter().find(|c| c.name == key)?;
    Some((c.value?, c.source))
}

/// Every running broker describes `topic`'s `key` as `(value, source)`.
async fn everywhere(brokers: &[SocketAddr], topic: &str, key: &str, expected: (&str, i8)) {
    for &addr in brokers {
        eventually(&format!("{addr} describes {topic} {key} as {expected:?}"), async || {
            let found = described(addr, topic, key).await?;
            (found.0 == expected.0 && found.1 == expected.1).then_some(())
        })
        .await;
    }
}

/// The partition's leader with its full ISR of three, as `addr` sees it.
async fn leader(addr: SocketAddr, topic: &str, not: i32) -> i32 {
    let mut client = client(addr).await;
    eventually(&format!("a leader of {topic} other than {not}"), async || {
        let metadata = client.metadata(Some(&[topic]), false).await.ok()?;
        let p = metadata.topics.first()?.partitions.first()?.clone();
        (p.leader >= 0 && p.leader != not).then_some(p.leader)
    })
    .await
}

/// A topic override and a dynamic default, altered through a broker, reach
/// all three replicas (described and applied), and are kept across a leader
/// change, a broker restart and a failover of the active controller.
#[test]
fn configs_reach_every_replica_and_survive_failovers() {
    let mut cluster = KafkaCluster::start_quorum(3, 3, "replica.lag.time.max.ms=30000");
    let ids: Vec<i32> = cluster.broker_ids().collect();
    let addrs: Vec<SocketAddr> = ids.iter().map(|&id| cluster.broker(id).addr(0)).collect();
    let addr_of = |id: i32| addrs[ids.iter().position(|&i| i == id).expect("a broker")];
    let controllers: Vec<(i32, SocketAddr)> = {
        let cids: Vec<i32> = cluster.controller_ids().collect();
        cids.into_iter().map(|id| (id, cluster.controller(id).addr(0))).collect()
    };
    let rt = runtime();
    let mut admin = rt.block_on(client(addrs[0]));
    rt.block_on(async {
        eventually("three unfenced brokers", async || {
            (admin.metadata(Some(&[]), false).await.ok()?.brokers.len() == 3).then_some(())
        })
        .await;
        for name in [GUARDED, PLAIN] {
            let topic = NewTopic { partitions: 1, replication_factor: 3, ..NewTopic::new(name) };
            assert!(admin.create_topics(&[topic], false).await.expect("CreateTopics")[0].is_ok());
        }
        // Through broker addrs[0]: the controllers are other processes.
        let set = [AlterConfigOp::set("max.message.bytes", "1000")];
        admin.incremental_alter_configs(&ConfigResource::topic(GUARDED), &set, false).await.expect("alter");
        let set = [AlterConfigOp::set("message.max.bytes", "2000")];
        admin.incremental_alter_configs(&ConfigResource::broker(""), &set, false).await.expect("default");
        everywhere(&addrs, GUARDED, "max.message.bytes", ("1000", 1)).await;
        everywhere(&addrs, PLAIN, "max.message.bytes", ("2000", 3)).await;
    });

    // Applied by the leader, and by the next one after a leader change.
    let first = rt.block_on(leader(addrs[0], GUARDED, -1));
    let too_large = ResponseError::MessageTooLarge.code();
    assert_eq!(rt.block_on(produce(addr_of(first), GUARDED, 3_000)), too_large);
    let plain_leader = rt.block_on(leader(addrs[0], PLAIN, -1));
    assert_eq!(rt.block_on(produce(addr_of(plain_leader), PLAIN, 3_000)), too_large, "the dynamic default");
    cluster.broker(first).stop();
    let survivor = *addrs.iter().find(|&&a| a != addr_of(first)).expect("another broker");
    let next = rt.block_on(leader(survivor, GUARDED, first));
    assert_eq!(rt.block_on(produce(addr_of(next), GUARDED, 3_000)), too_large, "the new leader applies it");
    assert_eq!(rt.block_on(produce(addr_of(next), GUARDED, 100)), 0);

    // A restarted broker replays both from the metadata log.
    cluster.broker(first).restart();
    rt.block_on(everywhere(&[addr_of(first)], GUARDED, "max.message.bytes", ("1000", 1)));
    rt.block_on(everywhere(&[addr_of(first)], PLAIN, "max.message.bytes", ("2000", 3)));

    // The active controller killed: another one leads, with the same configs.
    let (active, _) =
        rt.block_on(quorum::wait_for_leader(&controllers, "before the kill", PATIENCE, |_| true));
    cluster.controller(active.id).kill();
    rt.block_on(quorum::wait_for_leader(&controllers, "after the kill", PATIENCE, |l| l.id != active.id));
    rt.block_on(async {
        let mut admin = client(survivor).await;
        let set = [AlterConfigOp::set("retention.ms", "90000")];
        eventually("an alter through the new active controller", async || {
            admin.incremental_alter_configs(&ConfigResource::topic(GUARDED), &set, false).await.ok()
        })
        .await;
        everywhere(&addrs, GUARDED, "retention.ms", ("90000", 1)).await;
        everywhere(&addrs, GUARDED, "max.message.bytes", ("1000", 1)).await;
        everywhere(&addrs, PLAIN, "max.message.bytes", ("2000", 3)).await;
    });
    cluster.controller(active.id).restart();
}
