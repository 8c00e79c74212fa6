//! CreateTopics, DeleteTopics, Metadata, DescribeConfigs: the topic's life,
//! from creation (or auto-creation) to its configs and its deletion.

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{BrokerId, DeleteTopicsRequest, DescribeConfigsRequest, MetadataRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::broker::now_ms;

use crate::wire::harness::{code, name, start, start_in, DELETE_TOPICS_V, DESCRIBE_CONFIGS_V, METADATA_V};
use crate::wire::requests::{batch, creatable, create_topic, create_topics, list_offset, metadata, produce};

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

/// A topic whose partition directory cannot be created (here a plain file
/// sits where `blocked-1/` must go; in the field, `EMFILE` mid-way through a
/// burst of CreateTopics) is not created at all: CreateTopics answers
/// KAFKA_STORAGE_ERROR for it, Metadata does not list it, before or after a
/// restart, and the other topics of the same request are created and usable.
/// (Once, such a topic was committed to the metadata log without its logs:
/// listed by Metadata, every produce to any new topic failing, and a restart
/// refused.)
#[tokio::test]
async fn a_topic_whose_logs_cannot_be_created_is_not_created() {
    let broker = start(|c| c.auto_create_topics = false).await;
    let log_dir = broker.broker().config.log_dir.clone();
    std::fs::write(log_dir.join("blocked-1"), b"in the way").unwrap();
    let mut client = broker.client().await;
    let topics = vec![
        creatable("before", 1, -1, &[]),
        creatable("blocked", 2, -1, &[]),
        creatable("after", 1, -1, &[]),
    ];
    let results = create_topics(&mut client, topics, false).await;
    let codes: Vec<i16> = results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, code(ResponseError::KafkaStorageError), 0], "{results:?}");
    assert!(!log_dir.join("blocked-0").exists(), "the partition created before the failure is removed");

    async fn check(client: &mut crate::wire::harness::Client) {
        let listed = metadata(client, None, false).await;
        let names: Vec<String> = listed.iter().filter_map(|t| Some(t.name.as_ref()?.0.to_string())).collect();
        assert!(!names.contains(&"blocked".to_string()), "Metadata lists a topic without logs: {names:?}");
        for topic in ["before", "after"] {
            assert!(names.contains(&topic.to_string()), "{topic} missing: {names:?}");
            let produced = produce(client, topic, 0, batch(now_ms(), &["usable"]), 1).await;
            assert_eq!(produced.error_code, 0, "produce to {topic}");
        }
    }
    check(&mut client).await;
    drop(client);
    let dir = broker.stop().await;
    let broker = start_in(dir, |c| c.auto_create_topics = false).await;
    check(&mut broker.client().await).await;
    broker.stop().await;
}

/// A produced partition's directory holds Kafka's `leader-epoch-checkpoint`,
/// written when the first batch started leader epoch 0 at offset 0 — before
/// any shutdown, so a crash cannot lose it — in the text Kafka writes.
#[tokio::test]
async fn a_produced_partition_keeps_a_leader_epoch_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partition_dir = dir.path().join("logs").join("epochs-0");
    let broker = start_in(dir, |_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "epochs", 1, &[]).await;
    let response = produce(&mut client, "epochs", 0, batch(now_ms(), &["a", "b"]), 1).await;
    assert_eq!(response.error_code, 0);
    let checkpoint = std::fs::read_to_string(partition_dir.join("leader-epoch-checkpoint"));
    assert_eq!(checkpoint.expect("the checkpoint file"), "0\n1\n0 0\n");
    broker.stop().await;
}
