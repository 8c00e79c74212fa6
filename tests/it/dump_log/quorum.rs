//! The metadata log a real quorum writes (`spool serve` ×3 controllers + one
//! broker, the multi-process harness of `tests/it/common/cluster/`) dumps whole
//! with `--cluster-metadata-decoder`: every record the controllers committed
//! is one spool decodes, printed as Kafka's JSON.
//!
//! Needs the debug binary (`cargo build` first).

use std::path::PathBuf;
use std::time::Duration;

use spool::client::{Client, NewTopic};
use spool::tools::topics::kafka_uuid;

use super::cluster::{eventually, KafkaCluster, Node};
use super::{assert_ok, lines, spool};

/// The `log.dirs` a node was started with (the harness writes it into the
/// node's `server.properties`).
fn log_dir(node: &Node) -> PathBuf {
    let properties = std::fs::read_to_string(node.dir().join("server.properties")).unwrap();
    let line = properties.lines().find_map(|l| l.strip_prefix("log.dirs=")).expect("log.dirs");
    PathBuf::from(line.trim())
}

/// A three-voter quorum elects a leader (a LEADER_CHANGE control record),
/// registers broker 4 and creates a two-partition topic. Once every node has
/// stopped, each controller's `__cluster_metadata-0` dumps with no
/// `Error at …` and a clean exit; the topic's TopicRecord and both its
/// PartitionRecords, committed on a majority, appear in at least two of the
/// three voters' logs, under the topic id the CreateTopics answer named.
#[test]
fn a_real_quorums_metadata_log_decodes_whole() {
    let mut cluster = KafkaCluster::start_quorum(3, 1, "");
    let bootstrap = cluster.bootstrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let topic_id = rt.block_on(async {
        let mut client = Client::connect(&bootstrap, Duration::from_secs(10)).await.expect("connect");
        eventually("broker 4 registered and unfenced", async || {
            let metadata = client.metadata(Some(&[]), false).await.ok()?;
            (metadata.brokers.iter().map(|b| b.node_id).collect::<Vec<_>>() == [4]).then_some(())
        })
        .await;
        let topic = NewTopic { partitions: 2, replication_factor: 1, ..NewTopic::new("dumped") };
        let created = client.create_topics(&[topic], false).await.expect("CreateTopics");
        created.into_iter().next().unwrap().expect("topic created").topic_id
    });
    // Stopped nodes write nothing more: the dump never meets a half-written batch.
    cluster.broker(4).stop();
    for id in 1..=3 {
        cluster.controller(id).stop();
    }
    let topic_record = format!(
        r#"payload: {{"type":"TOPIC_RECORD","version":0,"data":{{"name":"dumped","topicId":"{}"}}}}"#,
        kafka_uuid(topic_id)
    );
    let partition_record = r#"{"type":"PARTITION_RECORD","version":1,"data":{"partitionId":"#;
    let mut holding_the_topic = 0;
    for id in 1..=3 {
        let segment =
            log_dir(cluster.controller(id)).join("__cluster_metadata-0").join(format!("{:020}.log", 0));
        let out = spool(&["dump-log", "--cluster-metadata-decoder", "--files", segment.to_str().unwrap()]);
        assert_ok(&out);
        let got = lines(&out);
        assert!(!got.iter().any(|l| l.contains("Error at")), "controller {id}: {got:#?}");
        assert!(
            got.iter().any(|l| l.ends_with(" controlType: LEADER_CHANGE(2)")),
            "controller {id}: {got:#?}"
        );
        let records = got.iter().filter(|l| l.starts_with("| offset: ") && !l.contains("controlType"));
        assert!(records.clone().all(|l| l.contains(r#" payload: {"type":""#)), "controller {id}: {got:#?}");
        let registered = r#""type":"REGISTER_BROKER_RECORD","version":3,"data":{"brokerId":4,"#;
        assert!(records.clone().any(|l| l.contains(registered)), "controller {id}: {got:#?}");
        let topic = records.clone().filter(|l| l.ends_with(&topic_record)).count();
        let partitions =
            records.filter(|l| l.contains(partition_record) && l.contains(&kafka_uuid(topic_id)));
        if topic == 1 {
            assert_eq!(partitions.count(), 2, "controller {id}: {got:#?}");
            holding_the_topic += 1;
        }
    }
    assert!(
        holding_the_topic >= 2,
        "the topic is committed on a majority, yet {holding_the_topic} logs hold it"
    );
}
