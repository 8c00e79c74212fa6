//! The leader side of replication in one broker: the metadata image names
//! followers (brokers 2 and 3) that these tests play by sending Fetch
//! requests with their replica ids, as their fetchers would.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{BrokerId, FetchRequest, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{Broker, Reply};
use crate::config::BrokerConfig;
use crate::format::BatchBuilder;
use crate::log::manager::lock;
use crate::metadata::records::PartitionRecord;
use crate::metadata::MetadataRecord;
use crate::TopicPartition;

const TOPIC: &str = "replicated";

/// Broker 1, with one partition of `TOPIC` whose replicas, ISR and leader are given.
fn broker(
    replicas: &[i32],
    isr: &[i32],
    leader: i32,
    min_insync: Option<&str>,
) -> (tempfile::TempDir, Arc<Broker>) {
    broker_with(BrokerConfig::default(), replicas, isr, leader, min_insync)
}

/// The same, from `config` (its log directory replaced by a fresh one).
fn broker_with(
    config: BrokerConfig,
    replicas: &[i32],
    isr: &[i32],
    leader: i32,
    min_insync: Option<&str>,
) -> (tempfile::TempDir, Arc<Broker>) {
    let dir = tempfile::tempdir().unwrap();
    let config = BrokerConfig { log_dir: dir.path().to_path_buf(), ..config };
    let broker = Broker::open(config).unwrap();
    let topic_id = Uuid::new_v4();
    let mut records = vec![
        MetadataRecord::Topic { name: TOPIC.into(), topic_id },
        MetadataRecord::Partition(PartitionRecord {
            partition_id: 0,
            topic_id,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader,
            leader_recovery_state: 0,
            leader_epoch: 3,
            partition_epoch: 0,
            directories: vec![],
        }),
    ];
    if let Some(min) = min_insync {
        records.push(MetadataRecord::Config {
            resource_type: crate::metadata::records::RESOURCE_TOPIC,
            resource_name: TOPIC.into(),
            name: "min.insync.replicas".into(),
            value: Some(min.into()),
        });
    }
    broker.metadata_writer().commit(&records, 0).unwrap();
    broker.apply_image(0).unwrap();
    (dir, Arc::new(broker))
}

fn produce_request(acks: i16, timeout_ms: i32, value: &[u8]) -> ProduceRequest {
    let mut batch = BatchBuilder::default();
    batch.append(0, None, Some(value), &[]);
    let records = Bytes::copy_from_slice(batch.build().as_bytes());
    let data = PartitionProduceData::default().with_index(0).with_records(Some(records));
    let topic = TopicProduceData::default().with_name(TopicName(StrBytes::from_static_str(TOPIC)));
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(timeout_ms)
        .with_topic_data(vec![topic.with_partition_data(vec![data])])
}

/// (error code, base offset) of the one partition.
fn produced(response: &ProduceResponse) -> (i16, i64) {
    let p = &response.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// A Fetch of partition 0 from `offset`, by `replica_id` (-1: a consumer).
fn fetch_request(
    replica_id: i32,
    offset: i64,
    last_fetched_epoch: i32,
    current_leader_epoch: i32,
) -> FetchRequest {
    let partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(offset)
        .with_last_fetched_epoch(last_fetched_epoch)
        .with_current_leader_epoch(current_leader_epoch)
        .with_partition_max_bytes(1 << 20);
    FetchRequest::default()
        .with_replica_id(BrokerId(replica_id))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partitions(vec![partition])])
}

/// (error code, high watermark, record bytes, diverging epoch) of the one partition.
async fn fetch(broker: &Arc<Broker>, request: FetchRequest) -> (i16, i64, usize, (i32, i64)) {
    let Reply::Fetch(reply) = broker.handle_fetch_for_test(request).await else { unreachable!() };
    let response = Reply::Fetch(reply).into_message().await.unwrap();
    let kafka_protocol::messages::ResponseKind::Fetch(response) = response else { unreachable!() };
    let p = &response.responses[0].partitions[0];
    let len = p.records.as_ref().map_or(0, Bytes::len);
    (p.error_code, p.high_watermark, len, (p.diverging_epoch.epoch, p.diverging_epoch.end_offset))
}

impl Broker {
    async fn handle_fetch_for_test(self: &Arc<Self>, request: FetchRequest) -> Reply {
        Reply::Fetch(self.fetch(request).await)
    }
}

/// An `acks=all` produce is answered only once every ISR member's fetch
/// offset has passed the batch; until then consumers do not see it, and a
/// produce whose followers never fetch times out (REQUEST_TIMED_OUT).
#[tokio::test]
async fn acks_all_waits_for_every_in_sync_follower() {
    let (_dir, broker) = broker(&[1, 2, 3], &[1, 2, 3], 1, None);
    let (code, _) = produced(&broker.produce(produce_request(-1, 50, b"lonely"), 9).await.unwrap().unwrap());
    assert_eq!(code, ResponseError::RequestTimedOut.code(), "no follower fetched, yet acks=all was answered");
    // The record is in the leader's log (offset 0) but not committed.
    assert_eq!(
        fetch(&broker, fetch_request(-1, 0, -1, 3)).await.2,
        0,
        "a consumer read above the high watermark"
    );

    let waiting = tokio::spawn({
        let broker = broker.clone();
        async move { broker.produce(produce_request(-1, 30_000, b"second"), 9).await.unwrap().unwrap() }
    });
    let partition = broker.partition(&TopicPartition::new(TOPIC, 0)).unwrap();
    while lock(&partition.log).log_end_offset() < 2 {
        tokio::task::yield_now().await; // the spawned produce appends
    }
    // Follower 2 has both records; 3 has none: the high watermark stays at 0.
    let (code, high_watermark, _, _) = fetch(&broker, fetch_request(2, 2, 3, 3)).await;
    assert_eq!((code, high_watermark), (0, 0));
    assert!(!waiting.is_finished(), "acks=all answered before follower 3 had the record");
    // Follower 3 catches up: the high watermark covers both records (the
    // answer carries the one read before this fetch moved it, as Kafka's does).
    let (code, high_watermark, _, _) = fetch(&broker, fetch_request(3, 2, 3, 3)).await;
    assert_eq!((code, high_watermark), (0, 0));
    assert_eq!(produced(&waiting.await.unwrap()), (0, 1));
    let (code, high_watermark, len, _) = fetch(&broker, fetch_request(-1, 0, -1, 3)).await;
    assert_eq!((code, high_watermark), (0, 2));
    assert!(len > 0, "the committed records are not readable");
}

/// `acks=1` is answered at once; `acks=all` with an ISR smaller than
/// `min.insync.replicas` is refused before anything is written.
#[tokio::test]
async fn min_insync_replicas_refuses_acks_all_but_not_acks_1() {
    let (_dir, broker) = broker(&[1, 2, 3], &[1], 1, Some("2"));
    let (code, _) = produced(&broker.produce(produce_request(-1, 5_000, b"x"), 9).await.unwrap().unwrap());
    assert_eq!(code, ResponseError::NotEnoughReplicas.code());
    let partition = broker.partition(&TopicPartition::new(TOPIC, 0)).unwrap();
    assert_eq!(lock(&partition.log).log_end_offset(), 0, "a refused acks=all produce was written");
    assert_eq!(produced(&broker.produce(produce_request(1, 5_000, b"y"), 9).await.unwrap().unwrap()), (0, 0));
    // With the ISR just the leader, the high watermark follows its log end.
    assert_eq!(partition.high_watermark(), 1);
}

/// A fetch from a broker that is not a replica, or with a stale or future
/// leader epoch, is refused with Kafka's codes (KIP-320), and a follower
/// whose last epoch the leader does not have is told where it diverges.
#[tokio::test]
async fn bad_follower_fetches_get_kafka_errors() {
    let (_dir, broker) = broker(&[1, 2], &[1, 2], 1, None);
    broker.produce(produce_request(1, 5_000, b"a"), 9).await.unwrap().unwrap();
    let code = |r: (i16, i64, usize, (i32, i64))| r.0;
    assert_eq!(
        code(fetch(&broker, fetch_request(7, 0, -1, 3)).await),
        ResponseError::NotLeaderOrFollower.code()
    );
    assert_eq!(
        code(fetch(&broker, fetch_request(2, 0, -1, 2)).await),
        ResponseError::FencedLeaderEpoch.code()
    );
    assert_eq!(
        code(fetch(&broker, fetch_request(2, 0, -1, 4)).await),
        ResponseError::UnknownLeaderEpoch.code()
    );
    assert_eq!(
        code(fetch(&broker, fetch_request(2, 5, -1, 3)).await),
        ResponseError::OffsetOutOfRange.code()
    );
    // The follower's last record is of epoch 2, which this leader never had:
    // epoch 3 (the leader's first) starts at 0, so epoch 2's records end there.
    let (code, _, len, diverging) = fetch(&broker, fetch_request(2, 1, 2, 3)).await;
    assert_eq!((code, len, diverging), (0, 0, (2, 0)), "diverging answer");
}

/// A follower outside the ISR that reaches the leader's log end is proposed
/// for the ISR (an AlterPartition queued for the controller).
#[tokio::test]
async fn a_caught_up_follower_is_proposed_for_the_isr() {
    let (_dir, broker) = broker(&[1, 2, 3], &[1, 2], 1, None);
    broker.produce(produce_request(1, 5_000, b"a"), 9).await.unwrap().unwrap();
    assert_eq!(fetch(&broker, fetch_request(3, 1, 3, 3)).await.0, 0);
    let queued = broker.alter_partitions.lock().unwrap().clone();
    let alter = &queued[&TopicPartition::new(TOPIC, 0)];
    assert_eq!(alter.new_isr.iter().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(alter.leader_epoch, 3);
}

/// A replica that follows answers produce and consumer fetches with
/// NOT_LEADER_OR_FOLLOWER: clients go to the leader.
#[tokio::test]
async fn a_follower_refuses_clients() {
    let (_dir, broker) = broker(&[2, 1], &[2, 1], 2, None);
    let (code, _) = produced(&broker.produce(produce_request(1, 5_000, b"a"), 9).await.unwrap().unwrap());
    assert_eq!(code, ResponseError::NotLeaderOrFollower.code());
    assert_eq!(
        fetch(&broker, fetch_request(-1, 0, -1, 3)).await.0,
        ResponseError::NotLeaderOrFollower.code()
    );
}

/// A deposed leader told by its new leader where their logs diverge
/// truncates and carries on (KIP-101): the truncation must not take the
/// partition's log lock a second time while it holds it — a std mutex is
/// not reentrant, so that hung the fetcher, then the broker (found by
/// tests/it/cluster_faults.rs: SIGSTOP, SIGTERM and partition schedules).
/// Run on a thread so a hang fails the test instead of hanging it.
#[tokio::test]
async fn a_follower_truncates_where_its_log_diverges() {
    let (_dir, broker) = broker(&[1, 2], &[1], 1, None);
    for value in [b"a", b"b", b"c"] {
        let (code, _) =
            produced(&broker.produce(produce_request(1, 5_000, value), 9).await.unwrap().unwrap());
        assert_eq!(code, 0);
    }
    let partition = broker.partition(&TopicPartition::new(TOPIC, 0)).unwrap();
    assert!(partition.become_follower(1, 2, 4), "broker 2 leads epoch 4 now");
    let (done, finished) = std::sync::mpsc::channel();
    let truncating = partition.clone();
    std::thread::spawn(move || {
        let diverging = crate::replication::EpochEndOffset { leader_epoch: 3, end_offset: 1 };
        let _ = done.send(truncating.on_diverging(4, diverging).map_err(|e| e.to_string()));
    });
    let truncated =
        finished.recv_timeout(std::time::Duration::from_secs(30)).expect("on_diverging deadlocked");
    assert_eq!(truncated, Ok(Some(1)));
    assert_eq!(lock(&partition.log).log_end_offset(), 1);
}

/// Broker 1 in a cluster (a controller link that is never used here), with
/// brokers 1, 2 and 3 registered — 3 `fenced` or not — and a partition
/// whose replicas are 1, 2, 3 and ISR 1, 2.
fn cluster_broker(third_fenced: bool) -> (tempfile::TempDir, Arc<Broker>) {
    use crate::config::{HostPort, ProcessRoles, QuorumVoter};
    use crate::metadata::records::RegisterBrokerRecord;
    let dir = tempfile::tempdir().unwrap();
    let voter = QuorumVoter { node_id: 9, endpoint: HostPort { host: "127.0.0.1".into(), port: 1 } };
    let config = BrokerConfig {
        log_dir: dir.path().to_path_buf(),
        process_roles: ProcessRoles::Broker,
        controller_quorum_voters: vec![voter],
        ..BrokerConfig::default()
    };
    let broker = Broker::open(config).unwrap();
    let register = |id: i32, fenced: bool| {
        MetadataRecord::RegisterBroker(RegisterBrokerRecord {
            broker_id: id,
            is_migrating_zk_broker: false,
            incarnation_id: Uuid::new_v4(),
            broker_epoch: i64::from(id),
            endpoints: vec![],
            features: vec![],
            rack: None,
            fenced,
            in_controlled_shutdown: false,
            log_dirs: vec![],
        })
    };
    let topic_id = Uuid::new_v4();
    let records = [
        register(1, false),
        register(2, false),
        register(3, third_fenced),
        MetadataRecord::Topic { name: TOPIC.into(), topic_id },
        MetadataRecord::Partition(PartitionRecord {
            partition_id: 0,
            topic_id,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2],
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader: 1,
            leader_recovery_state: 0,
            leader_epoch: 3,
            partition_epoch: 0,
            directories: vec![],
        }),
    ];
    broker.metadata_writer().commit(&records, 0).unwrap();
    broker.apply_image(0).unwrap();
    (dir, Arc::new(broker))
}

/// A leader does not ask to add a fenced (or shutting-down) replica to the
/// ISR (KIP-841): the controller would refuse it (INELIGIBLE_REPLICA), and
/// the follower's next fetch would ask again, hundreds of times a second.
/// An active one is proposed as before.
#[tokio::test]
async fn a_fenced_follower_is_not_proposed_for_the_isr() {
    for (fenced, proposed) in [(true, false), (false, true)] {
        let (_dir, broker) = cluster_broker(fenced);
        broker.produce(produce_request(1, 5_000, b"a"), 9).await.unwrap().unwrap();
        assert_eq!(fetch(&broker, fetch_request(3, 1, 3, 3)).await.0, 0);
        let queued = broker.alter_partitions.lock().unwrap().clone();
        assert_eq!(queued.contains_key(&TopicPartition::new(TOPIC, 0)), proposed, "fenced: {fenced}");
    }
}

/// Durable mode (`spool.log.flush.before.ack`) in a cluster: a follower is
/// sent records only up to the leader's flushed end, never a batch whose
/// fsync has not finished, so the high watermark its fetches move never
/// passes what the leader has on disk either.
#[tokio::test]
async fn durable_leader_sends_followers_only_flushed_records() {
    let mut config = BrokerConfig::default();
    config.log.flush_before_ack = true;
    let (_dir, broker) = broker_with(config, &[1, 2], &[1, 2], 1, None);
    assert_eq!(
        produced(&broker.produce(produce_request(1, 5_000, b"flushed"), 9).await.unwrap().unwrap()),
        (0, 0)
    );
    // A second batch lands, its fsync not yet done (a produce still waiting on it).
    let partition = broker.partition(&TopicPartition::new(TOPIC, 0)).unwrap();
    let mut batch = BatchBuilder::default();
    batch.append(0, None, Some(b"unflushed"), &[]);
    let batch = bytes::BytesMut::from(&batch.build().as_bytes()[..]);
    lock(&partition.log).append(batch, 3, 0).unwrap();
    // The follower has offset 0 (epoch 3) and asks for what follows.
    let (code, _, len, _) = fetch(&broker, fetch_request(2, 1, 3, 3)).await;
    assert_eq!((code, len), (0, 0), "the follower was sent an unflushed batch");
    assert_eq!(partition.high_watermark(), 1, "the high watermark passed the flushed end");
    lock(&partition.log).flush().unwrap();
    let (code, _, len, _) = fetch(&broker, fetch_request(2, 1, 3, 3)).await;
    assert!(code == 0 && len > 0, "the flushed batch is not sent");
}
