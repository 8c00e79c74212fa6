//! DescribeTopicPartitions (API 75, KIP-966) against a broker in the test's
//! process, through spool's own client: walking the cursor with a page
//! smaller than the topics yields every partition once, as Metadata lists
//! them; an unknown topic fails the call with UNKNOWN_TOPIC_OR_PARTITION.
//! (The walk over random layouts is `broker::describe_topic_partitions`'s
//! property test; this one proves the wire and the client.)
//!
//! ```text
//! cargo test --test it describetp::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use std::time::Duration;

use kafka_protocol::ResponseError;
use spool::client::{Client, ClientError};

use harness::start;
use requests::create_topic;

/// (topic, partition, leader, replicas) as Metadata lists them.
type Listed = Vec<(String, i32, i32, Vec<i32>)>;

/// Every limit from 1 to past the total, over every topic and over a
/// subset: the pages together hold exactly Metadata's partitions, in order,
/// each page within its limit.
#[tokio::test]
async fn the_cursor_walk_matches_metadata() {
    let broker = start(|_| {}).await;
    let mut raw = broker.client().await;
    for (topic, partitions) in [("a", 3), ("b", 1), ("c", 5)] {
        create_topic(&mut raw, topic, partitions, &[]).await;
    }
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(5)).await.expect("client");
    let metadata = client.metadata(None, false).await.expect("metadata");
    let listed = |wanted: &[&str]| -> Listed {
        let mut all: Listed = (metadata.topics.iter())
            .filter(|t| wanted.is_empty() || wanted.contains(&t.name.as_str()))
            .flat_map(|t| {
                t.partitions.iter().map(|p| (t.name.clone(), p.partition, p.leader, p.replicas.clone()))
            })
            .collect();
        all.sort();
        all
    };
    for topics in [&[][..], &["c", "a"][..]] {
        for limit in 1..=10 {
            let described = client.describe_topic_partitions(topics, limit).await.expect("described");
            let walked: Listed = (described.iter())
                .flat_map(|t| {
                    t.partitions.iter().map(|p| {
                        (t.name.clone(), p.metadata.partition, p.metadata.leader, p.metadata.replicas.clone())
                    })
                })
                .collect();
            assert_eq!(walked, listed(topics), "topics {topics:?}, limit {limit}");
            assert!(described.iter().all(|t| t.partitions.iter().all(|p| p.offline_replicas.is_empty())));
        }
    }
    let page = client.describe_topic_partitions_page(&[], 2, Some(("c", 1))).await.expect("a page");
    let on_page: Vec<i32> = page.topics[0].partitions.iter().map(|p| p.metadata.partition).collect();
    assert_eq!((page.topics[0].name.as_str(), on_page), ("c", vec![1, 2]));
    assert_eq!(page.next_cursor, Some(("c".to_string(), 3)));
}

/// An unknown topic is UNKNOWN_TOPIC_OR_PARTITION; a cursor on a topic the
/// request does not list is INVALID_REQUEST, as Kafka answers.
#[tokio::test]
async fn unknown_topics_and_bad_cursors_are_refused() {
    let broker = start(|_| {}).await;
    let mut raw = broker.client().await;
    create_topic(&mut raw, "a", 2, &[]).await;
    let mut client = Client::connect(&broker.addr.to_string(), Duration::from_secs(5)).await.expect("client");
    let code = |e: ClientError| e.code();
    let unknown = client.describe_topic_partitions(&["a", "nope"], 10).await.expect_err("unknown");
    assert_eq!(code(unknown), Some(ResponseError::UnknownTopicOrPartition));
    let bad =
        client.describe_topic_partitions_page(&["a"], 10, Some(("z", 0))).await.expect_err("bad cursor");
    assert_eq!(code(bad), Some(ResponseError::InvalidRequest));
}
