//! The transaction APIs on the wire: each request turned into the core's
//! input, its reply into the response of the request's version.
//!
//! Versions served (Kafka's notes in its message JSON): InitProducerId
//! v0–v5, AddPartitionsToTxn v0–v5 (v4: batched, and KIP-890's verify-only
//! form for partition leaders; v5 knows TRANSACTION_ABORTABLE),
//! AddOffsetsToTxn v0–v3, EndTxn v0–v5, DescribeTransactions v0,
//! ListTransactions v0–v1. Versions before 2 (before 4 for InitProducerId)
//! predate PRODUCER_FENCED and get INVALID_PRODUCER_EPOCH instead (KIP-588);
//! versions before 5 predate TRANSACTION_ABORTABLE and get INVALID_TXN_STATE.
//! EndTxn v5 is KIP-890 part 2: at `transaction.version` 2
//! (`spool.transaction.version`) the end bumps the producer epoch and the
//! answer carries it for the next transaction; at 0 it is answered as v4,
//! with the producer's unchanged id and epoch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::describe_transactions_response::{self, TopicData};
use kafka_protocol::messages::list_transactions_response;
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse,
    ApiKey, DescribeTransactionsRequest, DescribeTransactionsResponse, EndTxnRequest, EndTxnResponse,
    InitProducerIdRequest, InitProducerIdResponse, ListTransactionsRequest, ListTransactionsResponse,
    ProducerId, RequestKind, ResponseKind, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::super::{Broker, Error};
use crate::txn::{self, ListTransactionsFilter, ProducerIdAndEpoch, ReplyBody, TransactionState, TxnError};
use crate::wire::codec::TRANSACTION_VERSION_2_APIS;
use crate::TopicPartition;

/// Answers one transaction API request.
pub(super) async fn handle(
    broker: &Arc<Broker>,
    body: RequestKind,
    version: i16,
) -> Result<ResponseKind, Error> {
    Ok(match body {
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(broker.add_partitions_to_txn(r, version).await?)
        }
        RequestKind::AddOffsetsToTxn(r) => {
            ResponseKind::AddOffsetsToTxn(broker.add_offsets_to_txn(r, version).await?)
        }
        RequestKind::EndTxn(r) => ResponseKind::EndTxn(broker.end_txn(r, version).await?),
        RequestKind::DescribeTransactions(r) => {
            ResponseKind::DescribeTransactions(broker.describe_transactions(r))
        }
        RequestKind::ListTransactions(r) => ResponseKind::ListTransactions(broker.list_transactions(r)),
        other => unreachable!("not a transaction API: {other:?}"),
    })
}

/// The error code of `e` for a request of `version`, where `fenced_since` is
/// the first version that knows PRODUCER_FENCED.
fn code(e: TxnError, version: i16, fenced_since: i16) -> i16 {
    let error = if version < fenced_since { e.response_error_for_old_client() } else { e.response_error() };
    // TRANSACTION_ABORTABLE arrived with KIP-890 (v5 of these APIs).
    if error == ResponseError::TransactionAbortable && version < 5 {
        return ResponseError::InvalidTxnState.code();
    }
    error.code()
}

fn str(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

impl Broker {
    /// Parks a request, runs its input on the coordinator of
    /// `transactional_id` and waits for the answer.
    async fn parked_txn_input(
        self: &Arc<Self>,
        transactional_id: &str,
        input: impl FnOnce(&mut txn::TransactionCoordinator, txn::RequestToken, i64) -> txn::Output,
    ) -> Result<(ReplyBody, bool), TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest);
        }
        let partition = self.transaction_state_partition(transactional_id)?;
        let (token, answer) = self.transactions.park();
        let wants_producer_ids = match self.txn_input(partition, |c, now| input(c, token, now)).await {
            Ok(wants) => wants,
            Err(e) => {
                self.transactions.lock_parked().remove(&token);
                return Err(e);
            }
        };
        // Answered by the core, by an unload, or dropped at shutdown.
        let body = answer.await.map_err(|_| TxnError::CoordinatorNotAvailable)?;
        Ok((body, wants_producer_ids))
    }

    // ANCHOR: init_transactional_producer_id
    /// InitProducerId with a transactional id: the coordinator of the id
    /// bumps its epoch (fencing older producers), or gives it a producer id.
    /// When the core has no producer id left, one is taken from the broker's
    /// block and the request run again.
    pub(crate) async fn init_transactional_producer_id(
        self: &Arc<Self>,
        request: InitProducerIdRequest,
        version: i16,
    ) -> InitProducerIdResponse {
        let answer = |result: Result<ProducerIdAndEpoch, TxnError>| match result {
            Ok(ids) => InitProducerIdResponse::default()
                .with_producer_id(ProducerId(ids.producer_id))
                .with_producer_epoch(ids.producer_epoch),
            Err(e) => InitProducerIdResponse::default()
                .with_error_code(code(e, version, 4))
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        };
        let transactional_id =
            request.transactional_id.as_ref().map(|id| id.0.to_string()).unwrap_or_default();
        let current = match (request.producer_id.0, request.producer_epoch) {
            (-1, -1) => None,
            (producer_id, producer_epoch) if producer_id >= 0 && producer_epoch >= 0 => {
                Some(ProducerIdAndEpoch { producer_id, producer_epoch })
            }
            _ => return answer(Err(TxnError::InvalidRequest)),
        };
        if !transactional_id.is_empty() {
            if let Err(e) = self.ensure_transaction_state_topic() {
                return InitProducerIdResponse::default()
                    .with_error_code(e.code())
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1);
            }
        }
        self.start_transaction_timer();
        let input = txn::InitProducerIdRequest {
            transactional_id: transactional_id.clone(),
            transaction_timeout_ms: request.transaction_timeout_ms,
            current,
        };
        for attempt in 0..2 {
            let run =
                |c: &mut txn::TransactionCoordinator, token, now| c.init_producer_id(token, &input, now);
            let (body, wants_producer_ids) = match self.parked_txn_input(&transactional_id, run).await {
                Ok(answered) => answered,
                Err(e) => return answer(Err(e)),
            };
            if wants_producer_ids && attempt == 0 {
                if let Err(e) = self.give_producer_id(&transactional_id).await {
                    return answer(Err(e));
                }
                continue;
            }
            let ReplyBody::InitProducerId(result) = body else { unreachable!("an InitProducerId reply") };
            return answer(result);
        }
        answer(Err(TxnError::CoordinatorLoadInProgress))
    }
    // ANCHOR_END: init_transactional_producer_id

    /// One producer id from the broker's block for the coordinator of
    /// `transactional_id` (unless another request gave it one meanwhile).
    async fn give_producer_id(&self, transactional_id: &str) -> Result<(), TxnError> {
        let allocated = match self.cluster {
            None => self.allocate_producer_id(),
            Some(_) => self.allocate_producer_id_in_cluster().await,
        };
        let id = allocated.map_err(|e| {
            tracing::error!(error = %e, "cannot allocate a producer id for a transactional id");
            TxnError::CoordinatorNotAvailable
        })?;
        let partition = self.transaction_state_partition(transactional_id)?;
        let mut coordinators = self.transactions.lock();
        let c = coordinators.get_mut(&partition).ok_or(TxnError::NotCoordinator)?;
        if c.producer_ids_left() == 0 {
            c.add_producer_ids(id, 1);
        }
        Ok(())
    }

    // ANCHOR: add_partitions_to_txn
    /// AddPartitionsToTxn: v0–v3 one transaction from its producer; v4 a batch,
    /// each either added or (verify-only, from a partition leader) checked.
    pub(in crate::broker) async fn add_partitions_to_txn(
        self: &Arc<Self>,
        request: AddPartitionsToTxnRequest,
        version: i16,
    ) -> Result<AddPartitionsToTxnResponse, Error> {
        if version < 4 {
            let results = self
                .add_one_transaction(
                    &request.v3_and_below_transactional_id.0,
                    request.v3_and_below_producer_id.0,
                    request.v3_and_below_producer_epoch,
                    &request.v3_and_below_topics,
                    false,
                    version,
                )
                .await;
            return Ok(AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results));
        }
        let mut results = Vec::with_capacity(request.transactions.len());
        for t in &request.transactions {
            let topic_results = self
                .add_one_transaction(
                    &t.transactional_id.0,
                    t.producer_id.0,
                    t.producer_epoch,
                    &t.topics,
                    t.verify_only,
                    version,
                )
                .await;
            results.push(
                AddPartitionsToTxnResult::default()
                    .with_transactional_id(t.transactional_id.clone())
                    .with_topic_results(topic_results),
            );
        }
        Ok(AddPartitionsToTxnResponse::default().with_results_by_transaction(results))
    }

    /// One transaction's AddPartitionsToTxn, answered per partition. Partitions
    /// of unknown topics get UNKNOWN_TOPIC_OR_PARTITION and the rest
    /// OPERATION_NOT_ATTEMPTED, as in Kafka: nothing is added.
    async fn add_one_transaction(
        self: &Arc<Self>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        topics: &[AddPartitionsToTxnTopic],
        verify_only: bool,
        version: i16,
    ) -> Vec<AddPartitionsToTxnTopicResult> {
        let partitions: BTreeSet<TopicPartition> = (topics.iter())
            .flat_map(|t| t.partitions.iter().map(|&p| TopicPartition::new(t.name.0.to_string(), p)))
            .collect();
        let image = self.metadata_image();
        let unknown: BTreeSet<&TopicPartition> =
            partitions.iter().filter(|tp| image.partition(&tp.topic, tp.partition).is_none()).collect();
        let per_partition: BTreeMap<TopicPartition, i16> = if !unknown.is_empty() {
            let unknown_code = |tp| match unknown.contains(tp) {
                true => ResponseError::UnknownTopicOrPartition.code(),
                false => ResponseError::OperationNotAttempted.code(),
            };
            partitions.iter().map(|tp| (tp.clone(), unknown_code(tp))).collect()
        } else {
            let input = txn::AddPartitionsToTxnRequest {
                transactional_id: transactional_id.to_owned(),
                producer_id,
                producer_epoch,
                partitions: partitions.clone(),
            };
            let all = |result: Result<(), TxnError>| {
                let error_code = result.err().map_or(0, |e| code(e, version, 2));
                partitions.iter().map(|tp| (tp.clone(), error_code)).collect()
            };
            if verify_only {
                match self.verify_partitions(&input) {
                    Ok(each) => (each.into_iter())
                        .map(|(tp, r)| (tp, r.err().map_or(0, |e| code(e, version, 2))))
                        .collect(),
                    Err(e) => all(Err(e)),
                }
            } else {
                let run =
                    |c: &mut txn::TransactionCoordinator, token, now| c.add_partitions(token, &input, now);
                match self.parked_txn_input(transactional_id, run).await {
                    Ok((ReplyBody::AddPartitionsToTxn(result), _)) => all(result),
                    Ok(_) => unreachable!("an AddPartitionsToTxn reply"),
                    Err(e) => all(Err(e)),
                }
            }
        };
        topic_results(per_partition)
    }
    // ANCHOR_END: add_partitions_to_txn

    /// KIP-890's verification: read-only, answered at once.
    fn verify_partitions(
        &self,
        request: &txn::AddPartitionsToTxnRequest,
    ) -> Result<BTreeMap<TopicPartition, Result<(), TxnError>>, TxnError> {
        if request.transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest);
        }
        let partition = self.transaction_state_partition(&request.transactional_id)?;
        let coordinators = self.transactions.lock();
        coordinators.get(&partition).ok_or(TxnError::NotCoordinator)?.verify_partitions(request)
    }

    /// AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction.
    async fn add_offsets_to_txn(
        self: &Arc<Self>,
        request: AddOffsetsToTxnRequest,
        version: i16,
    ) -> Result<AddOffsetsToTxnResponse, Error> {
        let input = txn::AddOffsetsToTxnRequest {
            transactional_id: request.transactional_id.0.to_string(),
            producer_id: request.producer_id.0,
            producer_epoch: request.producer_epoch,
            group_id: request.group_id.0.to_string(),
        };
        let run = |c: &mut txn::TransactionCoordinator, token, now| c.add_offsets(token, &input, now);
        let result = match self.parked_txn_input(&input.transactional_id, run).await {
            Ok((ReplyBody::AddOffsetsToTxn(result), _)) => result,
            Ok(_) => unreachable!("an AddOffsetsToTxn reply"),
            Err(e) => Err(e),
        };
        Ok(AddOffsetsToTxnResponse::default()
            .with_error_code(result.err().map_or(0, |e| code(e, version, 2))))
    }

    /// EndTxn: the decision is recorded, answered, then the markers written.
    async fn end_txn(
        self: &Arc<Self>,
        request: EndTxnRequest,
        version: i16,
    ) -> Result<EndTxnResponse, Error> {
        let input = txn::EndTxnRequest {
            transactional_id: request.transactional_id.0.to_string(),
            producer_id: request.producer_id.0,
            producer_epoch: request.producer_epoch,
            commit: request.committed,
            client_transaction_version: self.client_transaction_version(ApiKey::EndTxn, version),
        };
        let run = |c: &mut txn::TransactionCoordinator, token, now| c.end_txn(token, &input, now);
        let result = match self.parked_txn_input(&input.transactional_id, run).await {
            Ok((ReplyBody::EndTxn(result), _)) => result,
            Ok(_) => unreachable!("an EndTxn reply"),
            Err(e) => Err(e),
        };
        // v0–v4 carry no producer id and epoch (the client keeps its own);
        // v5 carries the ones its next transaction uses (bumped, KIP-890 part 2).
        Ok(match result {
            Ok(ids) => EndTxnResponse::default()
                .with_producer_id(ProducerId(ids.producer_id))
                .with_producer_epoch(ids.producer_epoch),
            Err(e) => EndTxnResponse::default()
                .with_error_code(code(e, version, 2))
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        })
    }

    // ANCHOR: client_transaction_version
    /// The transaction version a request of `api_key` at `version` runs at:
    /// 2 (KIP-890 part 2) if the client sent a version only a transaction
    /// version 2 client sends and this broker finalized the feature at 2;
    /// else 0, the protocol before (Kafka's `clientTransactionVersion`).
    pub(in crate::broker) fn client_transaction_version(&self, api_key: ApiKey, version: i16) -> i16 {
        let first_v2 = TRANSACTION_VERSION_2_APIS.iter().find(|(k, _)| *k == api_key).map(|&(_, v)| v);
        let finalized = self.config.transactions.transaction_version;
        match first_v2 {
            Some(v2) if version >= v2 && finalized >= txn::TRANSACTION_VERSION_MAX => finalized,
            _ => 0,
        }
    }
    // ANCHOR_END: client_transaction_version

    /// DescribeTransactions: each id's state from its coordinator, if it is this broker.
    fn describe_transactions(&self, request: DescribeTransactionsRequest) -> DescribeTransactionsResponse {
        let states = request.transactional_ids.into_iter().map(|id| {
            let described = self.transaction_state_partition(&id.0).and_then(|p| {
                let coordinators = self.transactions.lock();
                coordinators.get(&p).ok_or(TxnError::NotCoordinator)?.describe_transaction(&id.0)
            });
            let state = describe_transactions_response::TransactionState::default().with_transactional_id(id);
            match described {
                Ok(d) => state
                    .with_transaction_state(str(d.state.name()))
                    .with_transaction_timeout_ms(d.transaction_timeout_ms)
                    .with_transaction_start_time_ms(d.transaction_start_time_ms)
                    .with_producer_id(ProducerId(d.producer_id))
                    .with_producer_epoch(d.producer_epoch)
                    .with_topics(topic_data(&d.partitions)),
                Err(e) => {
                    state.with_error_code(e.code()).with_producer_id(ProducerId(-1)).with_producer_epoch(-1)
                }
            }
        });
        DescribeTransactionsResponse::default().with_transaction_states(states.collect())
    }

    /// ListTransactions over every partition this broker coordinates.
    fn list_transactions(&self, request: ListTransactionsRequest) -> ListTransactionsResponse {
        let mut filter = ListTransactionsFilter {
            producer_ids: request.producer_id_filters.iter().map(|p| p.0).collect(),
            states: BTreeSet::new(),
            duration_ms_min: request.duration_filter,
        };
        let mut unknown_states = Vec::new();
        for name in &request.state_filters {
            match TransactionState::from_name(name) {
                Some(state) => {
                    filter.states.insert(state);
                }
                None => unknown_states.push(name.clone()),
            }
        }
        let response = ListTransactionsResponse::default().with_unknown_state_filters(unknown_states.clone());
        if !unknown_states.is_empty() && filter.states.is_empty() {
            // Only unknown states asked for: none can match (Kafka's answer).
            return response;
        }
        let now = super::super::now_ms();
        let mut listed = Vec::new();
        for c in self.transactions.lock().values() {
            match c.list_transactions(&filter, now) {
                Ok(some) => listed.extend(some),
                Err(e) => return response.with_error_code(e.code()),
            }
        }
        listed.sort();
        let states = listed.into_iter().map(|t| {
            list_transactions_response::TransactionState::default()
                .with_transactional_id(TransactionalId(str(t.transactional_id)))
                .with_producer_id(ProducerId(t.producer_id))
                .with_transaction_state(str(t.state.name()))
        });
        response.with_transaction_states(states.collect())
    }
}

/// Per-partition codes, grouped by topic as AddPartitionsToTxn answers them.
fn topic_results(codes: BTreeMap<TopicPartition, i16>) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut by_topic: BTreeMap<String, Vec<AddPartitionsToTxnPartitionResult>> = BTreeMap::new();
    for (tp, code) in codes {
        by_topic.entry(tp.topic).or_default().push(
            AddPartitionsToTxnPartitionResult::default()
                .with_partition_index(tp.partition)
                .with_partition_error_code(code),
        );
    }
    (by_topic.into_iter())
        .map(|(topic, results)| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(TopicName(str(topic)))
                .with_results_by_partition(results)
        })
        .collect()
}

/// A transaction's partitions grouped by topic, as DescribeTransactions answers them.
fn topic_data(partitions: &BTreeSet<TopicPartition>) -> Vec<TopicData> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    (by_topic.into_iter())
        .map(|(topic, partitions)| {
            TopicData::default().with_topic(TopicName(str(topic))).with_partitions(partitions)
        })
        .collect()
}
