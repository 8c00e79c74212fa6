//! Chapter 9 from the admin's side: the requests behind
//! `kafka-transactions.sh` (KIP-664) — ListTransactions, DescribeTransactions,
//! DescribeProducers and, to abort a hanging transaction by hand,
//! WriteTxnMarkers.
//!
//! Each goes where Kafka's `Admin` sends it:
//!
//! ```text
//!  ListTransactions     ──▶ every broker (each lists the transactional ids it coordinates)
//!  DescribeTransactions ──▶ the id's coordinator (FindCoordinator, key type 1)
//!  DescribeProducers    ──▶ the partition's leader (its producer state)
//!  WriteTxnMarkers      ──▶ the partition's leader (an ABORT marker, as a coordinator would)
//! ```
//!
//! Simplifications: no retries on `COORDINATOR_LOAD_IN_PROGRESS` or a moved
//! coordinator (the call fails and says so), and DescribeProducers asks the
//! leader only (Kafka's `--broker-id` may ask any replica).

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeTransactionsRequest, ListTransactionsRequest, ProducerId,
    TransactionalId, WriteTxnMarkersRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::admin::topic_name;
use super::{Client, ClientError};
use crate::TopicPartition;

/// FindCoordinator's key type for a transactional id.
const KEY_TYPE_TRANSACTION: i8 = 1;

/// One transactional id, as ListTransactions lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionListing {
    pub transactional_id: String,
    pub producer_id: i64,
    /// Kafka's state name: `Ongoing`, `PrepareCommit`, `CompleteAbort`, `Empty`, …
    pub state: String,
}

/// One transactional id, as its coordinator describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDescription {
    /// The node id of the coordinator that answered.
    pub coordinator_id: i32,
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub state: String,
    pub transaction_timeout_ms: i32,
    /// When the current transaction began (its first partition), if one is open.
    pub transaction_start_time_ms: Option<i64>,
    /// The partitions in the current transaction.
    pub partitions: Vec<TopicPartition>,
}

/// One producer a partition's leader remembers (DescribeProducers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerState {
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub last_sequence: i32,
    pub last_timestamp_ms: i64,
    /// The coordinator epoch of the last marker it wrote here (-1: none yet).
    pub coordinator_epoch: i32,
    /// The first offset of its open transaction on this partition, if one is open.
    pub current_txn_start_offset: Option<i64>,
}

/// What `kafka-transactions.sh abort` aborts: one producer's open
/// transaction on one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortSpec {
    pub partition: TopicPartition,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The leader fences markers from a coordinator epoch older than the
    /// last one it saw for this producer.
    pub coordinator_epoch: i32,
}

/// A `-1` "none" from the wire as an `Option`.
fn known(value: i64) -> Option<i64> {
    (value >= 0).then_some(value)
}

impl Client {
    /// ListTransactions to every broker in the cluster's metadata, by node id.
    /// `duration_filter_ms` (ListTransactions v1) keeps only transactions
    /// running longer than that.
    pub async fn list_transactions(
        &mut self,
        duration_filter_ms: Option<i64>,
    ) -> Result<BTreeMap<i32, Vec<TransactionListing>>, ClientError> {
        let brokers = self.metadata(Some(&[]), false).await?.brokers;
        let request =
            ListTransactionsRequest::default().with_duration_filter(duration_filter_ms.unwrap_or(-1));
        let mut by_broker = BTreeMap::new();
        for broker in brokers {
            let response = self.node_connection(broker.node_id).await?.send(&request).await?;
            ClientError::check(response.error_code, None, || {
                format!("list transactions on broker {}", broker.node_id)
            })?;
            let listings = response
                .transaction_states
                .into_iter()
                .map(|t| TransactionListing {
                    transactional_id: t.transactional_id.0.to_string(),
                    producer_id: t.producer_id.0,
                    state: t.transaction_state.to_string(),
                })
                .collect();
            by_broker.insert(broker.node_id, listings);
        }
        Ok(by_broker)
    }

    /// DescribeTransactions for `transactional_id`, to its coordinator.
    pub async fn describe_transaction(
        &mut self,
        transactional_id: &str,
    ) -> Result<TransactionDescription, ClientError> {
        let (coordinator_id, addr) = self.coordinator(KEY_TYPE_TRANSACTION, transactional_id).await?;
        let id = TransactionalId(StrBytes::from_string(transactional_id.to_string()));
        let request = DescribeTransactionsRequest::default().with_transactional_ids(vec![id]);
        let response = self.send_to(&addr, &request, self.request_timeout).await?;
        let Some(t) = response.transaction_states.into_iter().next() else {
            return Err(ClientError::Protocol("DescribeTransactions answered no transaction".into()));
        };
        ClientError::check(t.error_code, None, || format!("describe transaction {transactional_id}"))?;
        let partitions = (t.topics.iter())
            .flat_map(|topic| {
                topic.partitions.iter().map(|&p| TopicPartition::new(topic.topic.0.as_str(), p))
            })
            .collect();
        Ok(TransactionDescription {
            coordinator_id,
            transactional_id: transactional_id.to_string(),
            producer_id: t.producer_id.0,
            producer_epoch: t.producer_epoch,
            state: t.transaction_state.to_string(),
            transaction_timeout_ms: t.transaction_timeout_ms,
            transaction_start_time_ms: known(t.transaction_start_time_ms),
            partitions,
        })
    }

    /// DescribeProducers for one partition, to its leader.
    pub async fn describe_producers(
        &mut self,
        partition: &TopicPartition,
    ) -> Result<Vec<ProducerState>, ClientError> {
        let leader = self.leader_of(partition).await?;
        let request = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
            .with_name(topic_name(&partition.topic))
            .with_partition_indexes(vec![partition.partition])]);
        let response = self.node_connection(leader).await?.send(&request).await?;
        let answer = (response.topics.into_iter())
            .flat_map(|t| t.partitions)
            .find(|p| p.partition_index == partition.partition);
        let Some(answer) = answer else {
            return Err(ClientError::Protocol(format!("DescribeProducers did not answer for {partition}")));
        };
        let message = answer.error_message.map(|m| m.to_string());
        ClientError::check(answer.error_code, message, || format!("describe producers of {partition}"))?;
        Ok(answer
            .active_producers
            .into_iter()
            .map(|p| ProducerState {
                producer_id: p.producer_id.0,
                producer_epoch: p.producer_epoch,
                last_sequence: p.last_sequence,
                last_timestamp_ms: p.last_timestamp,
                coordinator_epoch: p.coordinator_epoch,
                current_txn_start_offset: known(p.current_txn_start_offset),
            })
            .collect())
    }

    /// WriteTxnMarkers with one ABORT marker to the partition's leader: what
    /// the coordinator would have written, had it known of the transaction.
    pub async fn abort_transaction(&mut self, spec: &AbortSpec) -> Result<(), ClientError> {
        let leader = self.leader_of(&spec.partition).await?;
        let marker = WritableTxnMarker::default()
            .with_producer_id(ProducerId(spec.producer_id))
            .with_producer_epoch(spec.producer_epoch)
            .with_transaction_result(false)
            .with_coordinator_epoch(spec.coordinator_epoch)
            .with_topics(vec![WritableTxnMarkerTopic::default()
                .with_name(topic_name(&spec.partition.topic))
                .with_partition_indexes(vec![spec.partition.partition])]);
        let request = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
        let response = self.node_connection(leader).await?.send(&request).await?;
        let partition = &spec.partition;
        let answer = (response.markers.into_iter())
            .flat_map(|m| m.topics)
            .flat_map(|t| t.partitions)
            .find(|p| p.partition_index == partition.partition);
        let Some(answer) = answer else {
            return Err(ClientError::Protocol(format!("WriteTxnMarkers did not answer for {partition}")));
        };
        ClientError::check(answer.error_code, None, || format!("abort transaction on {partition}"))
    }

    /// The node id leading `partition`, from fresh metadata.
    async fn leader_of(&mut self, partition: &TopicPartition) -> Result<i32, ClientError> {
        self.invalidate(&partition.topic);
        let by_leader = self.by_leader(&partition.topic, [(partition.partition, ())], false).await?;
        Ok(*by_leader.keys().next().expect("one partition, one leader"))
    }
}
