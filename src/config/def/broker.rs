//! The broker keys: what `server.properties` and `--override` accept, grouped
//! as the chapters introduced them. A key spool stores has a `broker(field,
//! value)` reader; `field(..)` marks an alias that sets another key's field.
//! The defaults are spool's: Kafka's, except where spool must differ to run
//! on a laptop (`listeners` on 127.0.0.1, `node.id` 1, `log.dirs` ./data).

use super::ConfigKey as K;
use super::ConfigType::{Boolean, Double, Int, List, Long, String};
use super::Dynamic::ClusterWide;
use super::Valid::{AtLeast, Between, DoubleAbove, DoubleBetween, ListOf, OneOf};
use crate::config::authorizer::STANDARD_AUTHORIZER;
use crate::config::def::java_double;
use crate::config::BrokerConfig;

const LONG_MAX: Option<&str> = Some("9223372036854775807");
const RETENTION_MS: &[&str] = &["log.retention.ms", "log.retention.minutes", "log.retention.hours"];
const ROLL_MS: &[&str] = &["log.roll.ms", "log.roll.hours"];

fn listeners(list: &[crate::config::Listener]) -> std::string::String {
    list.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// `super.users` as set: the authorizer's list when one is on, else the value as written.
fn super_users(c: &BrokerConfig) -> std::string::String {
    match &c.authorizer {
        Some(authorizer) => authorizer.super_users.join(";"),
        None => c.static_values.get("super.users").cloned().unwrap_or_default(),
    }
}

fn protocol_map(c: &BrokerConfig) -> std::string::String {
    c.listener_security_protocol_map.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(",")
}

/// Every broker key, in the order of the chapters that use them.
pub static BROKER_KEYS: &[K] = &[
    // The node and its listeners (chapters 2, 6, 7).
    K::new("node.id", Int, Some("1"), "This node's id in the cluster; every broker and controller has its own.")
        .valid(AtLeast(0))
        .synonyms(&["node.id", "broker.id"])
        .broker("BrokerConfig::node_id", |c| c.node_id.to_string()),
    K::new("broker.id", Int, None, "The older name of node.id.").valid(AtLeast(0)).field("BrokerConfig::node_id"),
    K::new("process.roles", List, Some(""), "broker, controller or both; unset runs a standalone single node that is its own controller.")
        .valid(ListOf(&["broker", "controller"]))
        .broker("BrokerConfig::process_roles", |c| c.process_roles.to_string()),
    K::new("listeners", String, Some("PLAINTEXT://127.0.0.1:9092"), "The NAME://host:port addresses to accept connections on.")
        .broker("BrokerConfig::listeners", |c| listeners(&c.listeners)),
    K::new("advertised.listeners", String, Some("PLAINTEXT://127.0.0.1:9092"), "The addresses clients and other brokers are told to dial; by default the listeners, less the controller's.")
        .broker("BrokerConfig::advertised_listeners", |c| listeners(&c.advertised_listeners)),
    K::new("listener.security.protocol.map", String, Some("CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL"), "Each listener name's security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.")
        .broker("BrokerConfig::listener_security_protocol_map", protocol_map),
    K::new("controller.listener.names", String, Some(""), "The listeners the controller serves its quorum and the brokers on.")
        .broker("BrokerConfig::controller_listener_names", |c| c.controller_listener_names.join(",")),
    // Chapter 11: the SASL mechanisms a SASL_PLAINTEXT listener offers (GSSAPI,
    // Kafka's default, is refused on a SASL listener: spool has no Kerberos).
    K::new("sasl.enabled.mechanisms", List, Some("GSSAPI"), "The SASL mechanisms a SASL listener offers: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.")
        .valid(ListOf(&["GSSAPI", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]))
        .broker("BrokerConfig::sasl_enabled_mechanisms", |c| c.sasl_enabled_mechanisms.join(",")),
    // Chapter 11: a SASL session's lifetime (KIP-368); also read per listener
    // and mechanism, listener.name.<l>.<mechanism>.connections.max.reauth.ms.
    K::new("connections.max.reauth.ms", Long, Some("0"), "A SASL login's session lifetime: SaslAuthenticate v1+ tells the client, which re-authenticates on the same connection before it ends; a connection used after its session expired is closed. 0: sessions last as long as their connections. Also per listener and mechanism: `listener.name.<listener>.<mechanism>.connections.max.reauth.ms`.")
        .valid(AtLeast(0))
        .broker("BrokerConfig::sasl_reauth", |c| c.sasl_reauth.max_reauth_ms.to_string()),
    K::new("inter.broker.listener.name", String, Some("PLAINTEXT"), "The listener brokers dial each other on (followers fetch over it); its protocol secures the link.")
        .broker("BrokerConfig::inter_broker_listener_name", |c| c.inter_broker_listener_name.clone()),
    // Chapter 11: the cluster's own links speak their listener's protocol (config/links.rs).
    K::new("security.inter.broker.protocol", String, None, "The older way to name the inter-broker listener: the one named after this protocol. Not with inter.broker.listener.name.")
        .valid(OneOf(&["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]))
        .field("BrokerConfig::inter_broker_listener_name"),
    K::new("sasl.mechanism.inter.broker.protocol", String, Some("GSSAPI"), "The SASL mechanism brokers log in to each other with on a SASL inter-broker listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; GSSAPI is refused).")
        .broker("BrokerConfig::sasl_mechanism_inter_broker_protocol", |c| c.sasl_mechanism_inter_broker_protocol.clone()),
    K::new("sasl.mechanism.controller.protocol", String, Some("GSSAPI"), "The SASL mechanism nodes log in to the controllers with on a SASL controller listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; GSSAPI is refused).")
        .broker("BrokerConfig::sasl_mechanism_controller_protocol", |c| c.sasl_mechanism_controller_protocol.clone()),
    K::new("controller.quorum.voters", List, Some(""), "The controllers as id@host:port, when the quorum is static.")
        .broker("BrokerConfig::controller_quorum_voters", |c| {
            c.controller_quorum_voters.iter().map(|v| format!("{}@{}", v.node_id, v.endpoint)).collect::<Vec<_>>().join(",")
        }),
    K::new("controller.quorum.bootstrap.servers", List, Some(""), "Controllers to ask for the quorum when the voters are not listed (KIP-853).")
        .broker("BrokerConfig::controller_quorum_bootstrap_servers", |c| {
            c.controller_quorum_bootstrap_servers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
        }),
    // The log (chapters 1, 2, 4).
    K::new("log.dirs", String, Some("data"), "The log directory (spool uses the first of a list).")
        .synonyms(&["log.dirs", "log.dir"])
        .broker("BrokerConfig::log_dir", |c| c.log_dir.display().to_string()),
    K::new("log.dir", String, None, "The older name of log.dirs, used when log.dirs is not set.").field("BrokerConfig::log_dir"),
    K::new("num.partitions", Int, Some("1"), "Partitions of a topic created without a count (auto-created topics too).")
        .valid(AtLeast(1))
        .broker("BrokerConfig::num_partitions", |c| c.num_partitions.to_string()),
    K::new("default.replication.factor", Int, Some("1"), "Replicas of a topic created without a replication factor.")
        .valid(Between(1, i16::MAX as i64))
        .broker("BrokerConfig::default_replication_factor", |c| c.default_replication_factor.to_string()),
    K::new("auto.create.topics.enable", Boolean, Some("true"), "A Metadata request naming an unknown topic creates it.")
        .broker("BrokerConfig::auto_create_topics", |c| c.auto_create_topics.to_string()),
    K::new("socket.request.max.bytes", Int, Some("104857600"), "The largest request frame; a larger one closes the connection.")
        .valid(AtLeast(1))
        .broker("BrokerConfig::socket_request_max_bytes", |c| c.socket_request_max_bytes.to_string()),
    K::new("max.request.partition.size.limit", Int, Some("2000"), "The most partitions one DescribeTopicPartitions answer holds, whatever the request asks; the rest come by its cursor.")
        .valid(AtLeast(1))
        .broker("BrokerConfig::max_request_partition_size_limit", |c| c.max_request_partition_size_limit.to_string()),
    K::new("queued.max.request.bytes", Long, Some("-1"), "Bytes of requests being read or handled across all connections before reading waits; -1 for no bound.")
        .broker("BrokerConfig::queued_max_request_bytes", |c| c.queued_max_request_bytes.map_or(-1, |b| b as i64).to_string()),
    K::new("message.max.bytes", Int, Some("1048588"), "The largest record batch a topic accepts unless it sets max.message.bytes.")
        .valid(AtLeast(0))
        .dynamic(ClusterWide)
        .broker("BrokerConfig::message_max_bytes", |c| c.message_max_bytes.to_string()),
    K::new("compression.type", String, Some("producer"), "The codec topics store batches with unless they set their own; producer keeps the producer's.")
        .valid(OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]))
        .dynamic(ClusterWide)
        .broker("BrokerConfig::compression_type", |c| c.compression_type.name().to_string()),
    K::new("log.segment.bytes", Int, Some("1073741824"), "Default segment.bytes: roll to a new segment past this size.")
        .valid(AtLeast(14))
        .dynamic(ClusterWide)
        .broker("LogConfig::segment_bytes", |c| c.log.segment_bytes.to_string()),
    K::new("log.roll.ms", Long, None, "Default segment.ms; unset, log.roll.hours is used.")
        .valid(AtLeast(1))
        .dynamic(ClusterWide)
        .synonyms(ROLL_MS)
        .broker("LogConfig::segment_ms", |c| c.log.segment_ms.to_string()),
    K::new("log.roll.hours", Int, Some("168"), "Default segment.ms, in hours.")
        .valid(AtLeast(1))
        .dynamic(ClusterWide)
        .field("LogConfig::segment_ms"),
    K::new("log.index.interval.bytes", Int, Some("4096"), "Default index.interval.bytes: bytes of log between two offset index entries.")
        .valid(AtLeast(0))
        .dynamic(ClusterWide)
        .broker("LogConfig::index_interval_bytes", |c| c.log.index_interval_bytes.to_string()),
    K::new("log.index.size.max.bytes", Int, Some("10485760"), "Default segment.index.bytes: a full index rolls the segment.")
        .valid(AtLeast(12))
        .dynamic(ClusterWide)
        .broker("LogConfig::segment_index_bytes", |c| c.log.segment_index_bytes.to_string()),
    K::new("log.retention.ms", Long, None, "Default retention.ms; unset, log.retention.minutes and then log.retention.hours are used.")
        .valid(AtLeast(-1))
        .dynamic(ClusterWide)
        .synonyms(RETENTION_MS)
        .broker("LogConfig::retention_ms", |c| c.log.retention_ms.to_string()),
    K::new("log.retention.minutes", Int, None, "Default retention.ms, in minutes.").dynamic(ClusterWide).field("LogConfig::retention_ms"),
    K::new("log.retention.hours", Int, Some("168"), "Default retention.ms, in hours.").dynamic(ClusterWide).field("LogConfig::retention_ms"),
    K::new("log.retention.bytes", Long, Some("-1"), "Default retention.bytes: the largest a partition's log may grow; -1 for no limit.")
        .dynamic(ClusterWide)
        .broker("LogConfig::retention_bytes", |c| c.log.retention_bytes.to_string()),
    K::new("log.retention.check.interval.ms", Long, Some("300000"), "How often retention looks for segments to delete.")
        .valid(AtLeast(1))
        .broker("BrokerConfig::retention_check_interval_ms", |c| c.retention_check_interval_ms.to_string()),
    K::new("log.cleanup.policy", List, Some("delete"), "Default cleanup.policy: delete, compact or both.")
        .valid(ListOf(&["compact", "delete"]))
        .dynamic(ClusterWide)
        .broker("LogConfig::cleanup_delete, cleanup_compact", |c| c.log.cleanup_policy().to_string()),
    K::new("log.flush.interval.messages", Long, LONG_MAX, "Default flush.messages: fsync after this many records.")
        .valid(AtLeast(1))
        .dynamic(ClusterWide)
        .broker("LogConfig::flush_interval_messages", |c| c.log.flush_interval_messages.min(i64::MAX as u64).to_string()),
    K::new("log.flush.interval.ms", Long, LONG_MAX, "Default flush.ms: fsync data this old.")
        .valid(AtLeast(0))
        .dynamic(ClusterWide)
        .broker("LogConfig::flush_interval_ms", |c| c.log.flush_interval_ms.to_string()),
    K::new("log.flush.offset.checkpoint.interval.ms", Int, Some("60000"), "How often each log directory's recovery-point checkpoint is written.")
        .valid(AtLeast(0))
        .broker("BrokerConfig::checkpoint_interval_ms", |c| c.checkpoint_interval_ms.to_string()),
    K::new("log.message.timestamp.after.max.ms", Long, LONG_MAX, "Default message.timestamp.after.max.ms: how far in the future a CreateTime timestamp may be.")
        .valid(AtLeast(0))
        .dynamic(ClusterWide)
        .broker("LogConfig::timestamp_after_max_ms", |c| c.log.timestamp_after_max_ms.to_string()),
    K::new("log.message.timestamp.before.max.ms", Long, LONG_MAX, "Default message.timestamp.before.max.ms: how far in the past a CreateTime timestamp may be.")
        .valid(AtLeast(0))
        .dynamic(ClusterWide)
        .broker("LogConfig::timestamp_before_max_ms", |c| c.log.timestamp_before_max_ms.to_string()),
    K::new("log.message.timestamp.difference.max.ms", Long, LONG_MAX, "Default message.timestamp.difference.max.ms (deprecated, KIP-937).")
        .valid(AtLeast(0))
        .dynamic(ClusterWide)
        .broker("LogConfig::timestamp_difference_max_ms", |c| c.log.timestamp_difference_max_ms.to_string()),
    K::new("log.message.timestamp.type", String, Some("CreateTime"), "Default message.timestamp.type: CreateTime or LogAppendTime.")
        .valid(OneOf(&["CreateTime", "LogAppendTime"]))
        .dynamic(ClusterWide)
        .broker("LogConfig::timestamp_type", |c| c.log.timestamp_type.name().to_string()),
    K::new("spool.log.flush.before.ack", Boolean, Some("false"), "spool's own: acknowledge an append only once an fsync covers it (group commit, chapter 4).")
        .broker("LogConfig::flush_before_ack", |c| c.log.flush_before_ack.to_string()),
    K::new("spool.fetch.zero.copy", Boolean, Some("true"), "spool's own: send fetched records with sendfile; false reads them into memory first (chapter 3).")
        .broker("BrokerConfig::zero_copy", |c| c.zero_copy.to_string()),
    K::new("spool.produce.pipelining", Boolean, Some("true"), "spool's own: keep reading a connection's produces while an acks=all one waits for replicas (chapter 6).")
        .broker("BrokerConfig::produce_pipelining", |c| c.produce_pipelining.to_string()),
    // Consumer groups (chapter 5).
    K::new("offsets.topic.num.partitions", Int, Some("50"), "Partitions of __consumer_offsets when it is created.")
        .valid(AtLeast(1))
        .broker("BrokerConfig::offsets_topic_num_partitions", |c| c.offsets_topic_num_partitions.to_string()),
    K::new("offsets.topic.replication.factor", Int, Some("3"), "Replicas of __consumer_offsets, capped by the live brokers when it is created.")
        .valid(Between(1, i16::MAX as i64))
        .broker("BrokerConfig::offsets_topic_replication_factor", |c| c.offsets_topic_replication_factor.to_string()),
    K::new("offsets.topic.segment.bytes", Int, Some("104857600"), "segment.bytes of __consumer_offsets, small so compaction has closed segments to clean.")
        .valid(AtLeast(1))
        .broker("BrokerConfig::offsets_topic_segment_bytes", |c| c.offsets_topic_segment_bytes.to_string()),
    K::new("group.initial.rebalance.delay.ms", Int, Some("3000"), "How long a new group's first rebalance waits for more members to join.")
        .valid(AtLeast(0))
        .broker("GroupCoordinatorConfig::initial_rebalance_delay_ms", |c| c.group.initial_rebalance_delay_ms.to_string()),
    K::new("group.min.session.timeout.ms", Int, Some("6000"), "The shortest session timeout a member may ask for.")
        .broker("GroupCoordinatorConfig::session_timeout_ms_min", |c| c.group.session_timeout_ms_min.to_string()),
    K::new("group.max.session.timeout.ms", Int, Some("1800000"), "The longest session timeout a member may ask for.")
        .broker("GroupCoordinatorConfig::session_timeout_ms_max", |c| c.group.session_timeout_ms_max.to_string()),
    K::new("group.max.size", Int, Some("2147483647"), "Members beyond this get GROUP_MAX_SIZE_REACHED.")
        .valid(AtLeast(1))
        .broker("GroupCoordinatorConfig::group_size_max", |c| c.group.group_size_max.to_string()),
    K::new("offset.metadata.max.bytes", Int, Some("4096"), "The longest metadata string an offset commit may carry.")
        .valid(Between(0, i16::MAX as i64))
        .broker("GroupCoordinatorConfig::offset_metadata_bytes_max", |c| c.group.offset_metadata_bytes_max.to_string()),
    K::new("offsets.commit.timeout.ms", Int, Some("5000"), "How long an offset commit or a group's stored state waits for the __consumer_offsets replicas in the ISR before the request gets COORDINATOR_NOT_AVAILABLE.")
        .valid(AtLeast(1))
        .broker("GroupCoordinatorConfig::offsets_commit_timeout_ms", |c| c.group.offsets_commit_timeout_ms.to_string()),
    // Replication (chapter 6).
    K::new("broker.session.timeout.ms", Int, Some("9000"), "A broker whose heartbeats stop this long is fenced by the controller.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::broker_session_timeout_ms", |c| c.replication.broker_session_timeout_ms.to_string()),
    K::new("broker.heartbeat.interval.ms", Int, Some("2000"), "How often a broker sends BrokerHeartbeat.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::broker_heartbeat_interval_ms", |c| c.replication.broker_heartbeat_interval_ms.to_string()),
    K::new("replica.lag.time.max.ms", Long, Some("30000"), "A follower not caught up for this long leaves the ISR.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::replica_lag_time_ms_max", |c| c.replication.replica_lag_time_ms_max.to_string()),
    K::new("replica.fetch.wait.max.ms", Int, Some("500"), "The longest a follower's Fetch waits at the leader for new records.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::replica_fetch_wait_ms_max", |c| c.replication.replica_fetch_wait_ms_max.to_string()),
    K::new("replica.fetch.min.bytes", Int, Some("1"), "The bytes a follower's Fetch waits for.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::replica_fetch_bytes_min", |c| c.replication.replica_fetch_bytes_min.to_string()),
    K::new("replica.fetch.max.bytes", Int, Some("1048576"), "The bytes a follower asks for per partition.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::replica_fetch_bytes_max", |c| c.replication.replica_fetch_bytes_max.to_string()),
    K::new("replica.fetch.response.max.bytes", Int, Some("10485760"), "The bytes a follower asks for per Fetch.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::replica_fetch_response_bytes_max", |c| c.replication.replica_fetch_response_bytes_max.to_string()),
    K::new("replica.fetch.backoff.ms", Int, Some("1000"), "How long a follower waits after a failed fetch.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::replica_fetch_backoff_ms", |c| c.replication.replica_fetch_backoff_ms.to_string()),
    K::new("replica.socket.timeout.ms", Int, Some("30000"), "How long a follower waits for a Fetch answer; at least replica.fetch.wait.max.ms.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::replica_socket_timeout_ms", |c| c.replication.replica_socket_timeout_ms.to_string()),
    K::new("replica.high.watermark.checkpoint.interval.ms", Long, Some("5000"), "How often the high watermarks are checkpointed to disk.")
        .valid(AtLeast(0))
        .broker("ReplicationConfig::high_watermark_checkpoint_interval_ms", |c| c.replication.high_watermark_checkpoint_interval_ms.to_string()),
    K::new("min.insync.replicas", Int, Some("1"), "Default min.insync.replicas: the fewest in-sync replicas an acks=all write needs.")
        .valid(AtLeast(1))
        .dynamic(ClusterWide)
        .broker("ReplicationConfig::min_insync_replicas", |c| c.replication.min_insync_replicas.to_string()),
    K::new("unclean.leader.election.enable", Boolean, Some("false"), "Default unclean.leader.election.enable: may an out-of-sync replica become leader.")
        .broker("ReplicationConfig::unclean_leader_election", |c| c.replication.unclean_leader_election.to_string()),
    K::new("controlled.shutdown.enable", Boolean, Some("true"), "A stopping broker first asks the controller to move its leaderships away.")
        .broker("ReplicationConfig::controlled_shutdown", |c| c.replication.controlled_shutdown.to_string()),
    K::new("auto.leader.rebalance.enable", Boolean, Some("true"), "The controller moves leadership back to each partition's preferred replica.")
        .broker("ReplicationConfig::auto_leader_rebalance", |c| c.replication.auto_leader_rebalance.to_string()),
    K::new("leader.imbalance.check.interval.seconds", Long, Some("300"), "How often the controller looks for partitions led by a non-preferred replica.")
        .valid(AtLeast(1))
        .broker("ReplicationConfig::leader_imbalance_check_interval_seconds", |c| c.replication.leader_imbalance_check_interval_seconds.to_string()),
    K::new("leader.imbalance.per.broker.percentage", Int, Some("10"), "Accepted for Kafka's files; KRaft's controller (and spool's) rebalances any imbalance.")
        .broker("ReplicationConfig::leader_imbalance_per_broker_percentage", |c| c.replication.leader_imbalance_per_broker_percentage.to_string()),
    // KRaft (chapter 7).
    K::new("controller.quorum.election.timeout.ms", Int, Some("1000"), "A voter that hears no leader this long stands for election.")
        .valid(AtLeast(1))
        .broker("QuorumConfig::election_timeout_ms", |c| c.quorum.election_timeout_ms.to_string()),
    K::new("controller.quorum.fetch.timeout.ms", Int, Some("2000"), "A follower whose fetches go unanswered this long becomes a candidate.")
        .valid(AtLeast(1))
        .broker("QuorumConfig::fetch_timeout_ms", |c| c.quorum.fetch_timeout_ms.to_string()),
    K::new("controller.quorum.election.backoff.max.ms", Int, Some("1000"), "The longest a failed candidate waits before trying again.")
        .valid(AtLeast(1))
        .broker("QuorumConfig::election_backoff_ms_max", |c| c.quorum.election_backoff_ms_max.to_string()),
    K::new("controller.quorum.retry.backoff.ms", Int, Some("20"), "How long a quorum request waits before it is retried.")
        .valid(AtLeast(0))
        .broker("QuorumConfig::retry_backoff_ms", |c| c.quorum.retry_backoff_ms.to_string()),
    K::new("controller.quorum.request.timeout.ms", Int, Some("2000"), "How long a quorum request waits for its answer.")
        .valid(AtLeast(1))
        .broker("QuorumConfig::request_timeout_ms", |c| c.quorum.request_timeout_ms.to_string()),
    K::new("spool.quorum.pre.vote", Boolean, Some("true"), "spool's own: a candidate first asks whether it could win (KIP-996), so a partitioned voter does not disrupt the leader.")
        .broker("QuorumConfig::pre_vote", |c| c.quorum.pre_vote.to_string()),
    K::new("spool.quorum.trace.dir", String, None, "spool's own: write the quorum's messages to files here, for the book's figures.")
        .field("QuorumConfig::trace_dir"),
    K::new("metadata.log.max.record.bytes.between.snapshots", Long, Some("20971520"), "Take a metadata snapshot after this many bytes of new records.")
        .valid(AtLeast(1))
        .broker("QuorumConfig::snapshot_record_bytes_max", |c| c.quorum.snapshot_record_bytes_max.to_string()),
    K::new("metadata.log.max.snapshot.interval.ms", Long, Some("3600000"), "Take a metadata snapshot at least this often when there are new records.")
        .valid(AtLeast(0))
        .broker("QuorumConfig::snapshot_interval_ms", |c| c.quorum.snapshot_interval_ms.to_string()),
    // Transactions (chapter 9).
    K::new("transaction.state.log.num.partitions", Int, Some("50"), "Partitions of __transaction_state when it is created.")
        .valid(AtLeast(1))
        .broker("TransactionConfig::state_log_num_partitions", |c| c.transactions.state_log_num_partitions.to_string()),
    K::new("transaction.state.log.replication.factor", Int, Some("3"), "Replicas of __transaction_state, capped by the live brokers.")
        .valid(Between(1, i16::MAX as i64))
        .broker("TransactionConfig::state_log_replication_factor", |c| c.transactions.state_log_replication_factor.to_string()),
    K::new("transaction.state.log.min.isr", Int, Some("2"), "min.insync.replicas of __transaction_state.")
        .valid(AtLeast(1))
        .broker("TransactionConfig::state_log_min_isr", |c| c.transactions.state_log_min_isr.to_string()),
    K::new("transaction.state.log.segment.bytes", Int, Some("104857600"), "segment.bytes of __transaction_state.")
        .valid(AtLeast(1))
        .broker("TransactionConfig::state_log_segment_bytes", |c| c.transactions.state_log_segment_bytes.to_string()),
    K::new("transaction.abort.timed.out.transaction.cleanup.interval.ms", Int, Some("10000"), "How often the coordinator aborts transactions past their timeout.")
        .valid(AtLeast(1))
        .broker("TransactionConfig::abort_timed_out_cleanup_interval_ms", |c| c.transactions.abort_timed_out_cleanup_interval_ms.to_string()),
    K::new("transaction.max.timeout.ms", Int, Some("900000"), "The longest transaction timeout a producer may ask for.")
        .valid(AtLeast(1))
        .broker("TransactionCoordinatorConfig::transaction_timeout_ms_max", |c| c.transactions.coordinator.transaction_timeout_ms_max.to_string()),
    K::new("transactional.id.expiration.ms", Int, Some("604800000"), "A transactional id unused this long is forgotten.")
        .valid(AtLeast(1))
        .broker("TransactionCoordinatorConfig::transactional_id_expiration_ms", |c| c.transactions.coordinator.transactional_id_expiration_ms.to_string()),
    K::new("transaction.partition.verification.enable", Boolean, Some("true"), "A leader asks the coordinator before a transactional write to a new partition (KIP-890).")
        .broker("TransactionConfig::partition_verification_enable", |c| c.transactions.partition_verification_enable.to_string()),
    K::new("spool.transaction.version", Int, Some("2"), "spool's own: the transaction protocol level the broker offers (0, 1 or 2, KIP-890).")
        .valid(Between(0, 2))
        .broker("TransactionConfig::transaction_version", |c| c.transactions.transaction_version.to_string()),
    // Compaction (chapter 10).
    K::new("log.cleaner.enable", Boolean, Some("true"), "Run the log cleaner; off, compacted topics grow without bound.")
        .broker("CleanerConfig::enable", |c| c.cleaner.enable.to_string()),
    K::new("log.cleaner.threads", Int, Some("1"), "Logs cleaned at the same time.")
        .valid(AtLeast(0))
        .broker("CleanerConfig::threads", |c| c.cleaner.threads.to_string()),
    K::new("log.cleaner.dedupe.buffer.size", Long, Some("134217728"), "Memory of the cleaners' key-to-offset maps, shared by all threads.")
        .valid(AtLeast(0))
        .broker("CleanerConfig::dedupe_buffer_bytes", |c| c.cleaner.dedupe_buffer_bytes.to_string()),
    K::new("log.cleaner.io.buffer.size", Int, Some("524288"), "Memory of the cleaners' read and write buffers, shared by all threads.")
        .valid(AtLeast(0))
        .broker("CleanerConfig::io_buffer_bytes", |c| c.cleaner.io_buffer_bytes.to_string()),
    K::new("log.cleaner.io.buffer.load.factor", Double, Some("0.9"), "How full a key-to-offset map may get before it counts as full.")
        .valid(DoubleAbove(0.0, 1.0))
        .broker("CleanerConfig::io_buffer_load_factor", |c| java_double(c.cleaner.io_buffer_load_factor.get())),
    K::new("log.cleaner.io.max.bytes.per.second", Double, Some("1.7976931348623157E308"), "The cleaners' combined read and write rate; unlimited by default.")
        .valid(DoubleAbove(0.0, f64::MAX))
        .broker("CleanerConfig::io_max_bytes_per_second", |c| java_double(c.cleaner.io_max_bytes_per_second)),
    K::new("log.cleaner.backoff.ms", Long, Some("15000"), "How long a cleaner thread sleeps when no log is cleanable.")
        .valid(AtLeast(0))
        .broker("CleanerConfig::backoff_ms", |c| c.cleaner.backoff_ms.to_string()),
    K::new("log.cleaner.min.cleanable.ratio", Double, Some("0.5"), "Default min.cleanable.dirty.ratio.")
        .valid(DoubleBetween(0.0, 1.0))
        .dynamic(ClusterWide)
        .broker("LogConfig::min_cleanable_dirty_ratio", |c| java_double(c.log.min_cleanable_dirty_ratio.get())),
    K::new("log.cleaner.delete.retention.ms", Long, Some("86400000"), "Default delete.retention.ms.")
        .valid(AtLeast(0))
        .dynamic(ClusterWide)
        .broker("LogConfig::delete_retention_ms", |c| c.log.delete_retention_ms.to_string()),
    K::new("log.cleaner.min.compaction.lag.ms", Long, Some("0"), "Default min.compaction.lag.ms.")
        .valid(AtLeast(0))
        .dynamic(ClusterWide)
        .broker("LogConfig::min_compaction_lag_ms", |c| c.log.min_compaction_lag_ms.to_string()),
    K::new("log.cleaner.max.compaction.lag.ms", Long, LONG_MAX, "Default max.compaction.lag.ms.")
        .valid(AtLeast(1))
        .dynamic(ClusterWide)
        .broker("LogConfig::max_compaction_lag_ms", |c| c.log.max_compaction_lag_ms.to_string()),
    // The authorizer (chapter 11), read together by config/authorizer.rs.
    K::new("authorizer.class.name", String, Some(""), "The authorizer that checks each request against the ACLs; spool has Kafka's KRaft one, org.apache.kafka.metadata.authorizer.StandardAuthorizer. Empty: no checks.")
        .broker("BrokerConfig::authorizer", |c| c.authorizer.as_ref().map_or("", |_| STANDARD_AUTHORIZER).to_string()),
    K::new("super.users", String, None, "Principals allowed everything, ACLs or not, separated by semicolons: User:admin;User:ops.")
        .broker("AuthorizerConfig::super_users", super_users),
    K::new("allow.everyone.if.no.acl.found", Boolean, Some("false"), "Whether a resource no ACL names is open to everyone; false denies it to all but the super users.")
        .broker("AuthorizerConfig::allow_if_no_acl", |c| c.authorizer.as_ref().is_some_and(|a| a.allow_if_no_acl).to_string()),
];
