//! Issue 17's OffsetDelete and DescribeLogDirs on a two-broker cluster
//! (`spool cluster`'s processes): the group's coordinator is the leader of
//! its `__consumer_offsets` partition, and a client bootstrapped from the
//! *other* broker must find it (FindCoordinator) before deleting — that
//! other broker answers NOT_COORDINATOR, as Kafka's does. DescribeLogDirs is
//! asked of each broker and reports its own replicas.
//!
//! Needs the debug binary: `cargo build && cargo test --test it admin_offsetdelete_cluster::`.

use crate::common::cluster;

use std::collections::BTreeMap;
use std::time::Duration;

use cluster::{eventually, KafkaCluster};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{GroupId, OffsetDeleteRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::client::group::GroupIdentity;
use spool::client::{Client, NewTopic};
use spool::TopicPartition;

const TOPIC: &str = "orders";
const GROUP: &str = "billing";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A group's offset is deleted through a client that knows only the broker
/// that is *not* the group's coordinator: it finds the coordinator, which
/// writes the tombstone; the non-coordinator itself answers NOT_COORDINATOR.
/// Both brokers then describe their log directories with the topic's replica.
#[test]
fn offsets_are_deleted_at_the_coordinator_found_from_another_broker() {
    let mut cluster = KafkaCluster::start(2, "");
    let bootstrap = cluster.bootstrap();
    let ids: Vec<i32> = cluster.broker_ids().collect();
    let addrs: BTreeMap<i32, String> =
        ids.iter().map(|&id| (id, cluster.broker(id).addr(0).to_string())).collect();
    runtime().block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(5)).await.expect("client");
        eventually("two unfenced brokers", async || {
            let brokers = client.metadata(Some(&[]), false).await.ok()?.brokers;
            (brokers.len() == 2).then_some(())
        })
        .await;
        let topic = NewTopic { partitions: 1, replication_factor: 2, ..NewTopic::new(TOPIC) };
        let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
        assert!(created[0].is_ok(), "{created:?}");
        let coordinator =
            eventually("the group's coordinator", async || client.find_coordinator(GROUP).await.ok()).await;
        let tp = TopicPartition::new(TOPIC, 0);
        let offsets = BTreeMap::from([(tp.clone(), 5)]);
        eventually("a commit at the coordinator", async || {
            client.commit_offsets(&coordinator, &GroupIdentity::outsider(GROUP), &offsets).await.ok()
        })
        .await;
        let (_, other) = addrs.iter().find(|(_, a)| **a != coordinator).expect("two brokers");

        // Straight to the other broker: not the coordinator.
        let request = OffsetDeleteRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_partitions(vec![OffsetDeleteRequestPartition::default().with_partition_index(0)])]);
        let answer = client.send_to(other, &request, Duration::from_secs(5)).await.expect("answered");
        assert_eq!(answer.error_code, ResponseError::NotCoordinator.code());

        // Bootstrapped from the other broker only: FindCoordinator, then the delete.
        let mut from_other = Client::connect(other, Duration::from_secs(5)).await.expect("client");
        let results =
            from_other.delete_offsets(GROUP, std::slice::from_ref(&tp)).await.expect("OffsetDelete");
        assert_eq!(results.len(), 1);
        assert!(results[0].1.is_ok(), "{results:?}");
        let left = client
            .committed_offsets(&coordinator, GROUP, Some(std::slice::from_ref(&tp)))
            .await
            .expect("fetch");
        assert!(left.is_empty(), "the offset is gone: {left:?}");

        // Each broker hosts a replica of orders-0 and says so.
        let described = eventually("log dirs with the replica", async || {
            let described = client.describe_log_dirs(Some(&[TOPIC])).await.ok()?;
            let hosting = described
                .iter()
                .filter(|(_, dirs)| dirs.iter().any(|d| d.partitions.iter().any(|p| p.topic == TOPIC)))
                .count();
            (hosting == 2).then_some(described)
        })
        .await;
        let mut brokers: Vec<i32> = described.iter().map(|(id, _)| *id).collect();
        brokers.sort();
        assert_eq!(brokers, ids);
    });
}
