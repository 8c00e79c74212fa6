//! `spool transactions` (kafka-transactions.sh, KIP-664) against a broker in
//! the test's process: transactions are driven with raw requests (the client
//! of `tests/it/wire/`), then the tool's commands run through
//! [`spool::tools::transactions::run`] and their tables are compared, header
//! and rows, with what Kafka's tool prints.
//!
//! ```text
//! cargo test --test it transactions_cli::
//! ```

use crate::common::batches;
use crate::wire::harness;
use crate::wire::requests;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, DescribeTransactionsRequest, EndTxnRequest, InitProducerIdRequest, ProducerId,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use spool::broker::now_ms;
use spool::format::BatchBuilder;
use spool::tools::transactions::{run, TransactionsCommand};

use batches::batch_of;
use harness::{name, start, Client, TestBroker, FETCH_V};
use requests::{create_topic, fetch_one, fetch_request, produce, produce_request};

fn tid(v: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(v.to_string()))
}

/// InitProducerId: (producer id, epoch); `None` asks for an idempotent
/// producer's id, which belongs to no transactional id.
async fn init(client: &mut Client, id: Option<&str>) -> (i64, i16) {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(id.map(tid))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r = client.request(4, &request).await;
    assert_eq!(r.error_code, 0, "init {id:?}");
    (r.producer_id.0, r.producer_epoch)
}

async fn add(client: &mut Client, id: &str, pid: i64, epoch: i16, topic: &str, partition: i32) {
    let request = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid(id))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![partition])]);
    let r = client.request(3, &request).await;
    let codes: Vec<i16> = (r.results_by_topic_v3_and_below.iter())
        .flat_map(|t| t.results_by_partition.iter().map(|p| p.partition_error_code))
        .collect();
    assert_eq!(codes, vec![0], "add {topic}-{partition} to {id}");
}

fn txn_batch(pid: i64, epoch: i16, values: &[&str]) -> Bytes {
    let builder = BatchBuilder::default().producer(pid, epoch, 0).transactional(true);
    batch_of(builder, values.iter().map(|v| (now_ms(), "key", v)))
}

/// `id`'s Produce of `records` to `topic-partition`, carrying its
/// transactional id as a transactional producer's does (the leader verifies
/// the transaction's first batch with the coordinator, KIP-890): the error code.
async fn produce_in(client: &mut Client, id: &str, topic: &str, partition: i32, records: Bytes) -> i16 {
    let request = produce_request(topic, partition, records, -1).with_transactional_id(Some(tid(id)));
    let response = client.request(harness::PRODUCE_V, &request).await;
    response.responses[0].partition_responses[0].error_code
}

/// Commits `id`'s transaction and waits until its markers are written
/// (the state reads CompleteCommit), or panics after a bound that only catches a hang.
async fn commit(client: &mut Client, id: &str, pid: i64, epoch: i16) {
    let request = EndTxnRequest::default()
        .with_transactional_id(tid(id))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(true);
    assert_eq!(client.request(3, &request).await.error_code, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let describe = DescribeTransactionsRequest::default().with_transactional_ids(vec![tid(id)]);
    while client.request(0, &describe).await.transaction_states[0].transaction_state.as_str()
        != "CompleteCommit"
    {
        assert!(Instant::now() < deadline, "{id} never completed its commit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs one `spool transactions` command against `broker`: its output's lines.
async fn tool(broker: &TestBroker, command: TransactionsCommand) -> Vec<String> {
    let mut client = spool::client::Client::connect(&broker.addr.to_string(), Duration::from_secs(10))
        .await
        .expect("connect");
    let mut out = Vec::new();
    run(&mut client, command, &mut out).await.expect("the command succeeds");
    String::from_utf8(out).expect("utf-8").lines().map(str::to_string).collect()
}

/// A line's cells: kafka-transactions.sh ends each padded cell with a tab.
fn cells(line: &str) -> Vec<&str> {
    line.strip_suffix('\t').expect("a tab after the last cell").split('\t').map(str::trim_end).collect()
}

/// Topic `t` (two partitions) with one transaction still open on `t-0`
/// (`open`) and one committed on `t-1` (`done`): their producer ids.
async fn one_open_one_committed(client: &mut Client) -> (i64, i64) {
    create_topic(client, "t", 2, &[]).await;
    let (open, e1) = init(client, Some("open")).await;
    add(client, "open", open, e1, "t", 0).await;
    assert_eq!(produce_in(client, "open", "t", 0, txn_batch(open, e1, &["a", "b"])).await, 0);
    let (done, e2) = init(client, Some("done")).await;
    add(client, "done", done, e2, "t", 1).await;
    assert_eq!(produce_in(client, "done", "t", 1, txn_batch(done, e2, &["c"])).await, 0);
    commit(client, "done", done, e2).await;
    (open, done)
}

/// `list` asks every broker (one here) and prints kafka-transactions.sh's
/// four columns, one row per transactional id with its state; `describe`
/// prints the open one's nine columns from its coordinator, its partitions
/// as `topic-partition`; `describe-producers` prints the leader's producer
/// state, the open transaction's first offset or `None` once committed
/// (KIP-664's tool).
#[tokio::test]
async fn list_describe_and_describe_producers_print_kafkas_tables() {
    let broker = start(|c| c.transactions.state_log_num_partitions = 3).await;
    let mut client = broker.client().await;
    let (open, done) = one_open_one_committed(&mut client).await;

    let list = tool(&broker, TransactionsCommand::List { duration_filter: None }).await;
    assert_eq!(cells(&list[0]), ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]);
    let mut rows: Vec<Vec<&str>> = list[1..].iter().map(|l| cells(l)).collect();
    rows.sort();
    let (open_s, done_s) = (open.to_string(), done.to_string());
    assert_eq!(rows, [["done", "1", &done_s, "CompleteCommit"], ["open", "1", &open_s, "Ongoing"]]);
    assert!(list.iter().all(|l| l.split('\t').next().unwrap().len() == "TransactionalId".len()), "{list:?}");

    let describe = tool(&broker, TransactionsCommand::Describe { transactional_id: "open".into() }).await;
    assert_eq!(
        cells(&describe[0]),
        [
            "CoordinatorId",
            "TransactionalId",
            "ProducerId",
            "ProducerEpoch",
            "TransactionState",
            "TransactionTimeoutMs",
            "CurrentTransactionStartTimeMs",
            "TransactionDurationMs",
            "TopicPartitions"
        ]
    );
    let row = cells(&describe[1]);
    assert_eq!(describe.len(), 2);
    assert_eq!(row[..6], ["1", "open", &open_s, "0", "Ongoing", "60000"]);
    let started: i64 = row[6].parse().expect("a start time");
    let duration: i64 = row[7].parse().expect("a duration");
    assert!(started <= now_ms() && duration >= 0, "{row:?}");
    assert_eq!(row[8], "t-0");

    let open_on_0 =
        tool(&broker, TransactionsCommand::DescribeProducers { topic: "t".into(), partition: 0 }).await;
    assert_eq!(
        cells(&open_on_0[0]),
        [
            "ProducerId",
            "ProducerEpoch",
            "LatestCoordinatorEpoch",
            "LastSequence",
            "LastTimestamp",
            "CurrentTransactionStartOffset"
        ]
    );
    let row = cells(&open_on_0[1]);
    assert_eq!(open_on_0.len(), 2);
    assert_eq!([row[0], row[1], row[2], row[3], row[5]], [open_s.as_str(), "0", "-1", "1", "0"]);
    let committed_on_1 =
        tool(&broker, TransactionsCommand::DescribeProducers { topic: "t".into(), partition: 1 }).await;
    let row = cells(&committed_on_1[1]);
    assert_eq!([row[0], row[3], row[5]], [done_s.as_str(), "0", "None"]);
    broker.stop().await;
}

/// KIP-664's hanging transaction: a producer id that no transactional id
/// owns leaves a transaction open on `t-1` that no coordinator will finish.
/// `find-hanging` lists it, and not `open`'s on `t-0`, whose coordinator
/// still names that partition; `abort --start-offset` writes the ABORT
/// marker, after which the leader holds nothing open for it, a
/// read_committed fetch is told it was aborted, and `find-hanging` finds nothing.
#[tokio::test]
async fn find_hanging_lists_what_no_coordinator_will_finish_and_abort_ends_it() {
    // A hanging transaction needs a leader that does not verify (KIP-890 off:
    // a broker before Kafka 3.6, or `transaction.partition.verification.enable=false`),
    // which is what the tool is for.
    let broker = start(|c| {
        c.transactions.state_log_num_partitions = 3;
        c.transactions.partition_verification_enable = false;
    })
    .await;
    let mut client = broker.client().await;
    let (open, _) = one_open_one_committed(&mut client).await;
    let (stray, epoch) = init(&mut client, None).await;
    let first = produce(&mut client, "t", 1, txn_batch(stray, epoch, &["stray"]), -1).await;
    assert_eq!(first.error_code, 0);

    let find = || TransactionsCommand::FindHanging { broker_id: 1, max_transaction_timeout: 0 };
    let hanging = tool(&broker, find()).await;
    assert_eq!(
        cells(&hanging[0]),
        [
            "Topic",
            "Partition",
            "ProducerId",
            "ProducerEpoch",
            "CoordinatorEpoch",
            "StartOffset",
            "LastTimestamp",
            "Duration(min)"
        ]
    );
    assert_eq!(hanging.len(), 2, "only the stray producer hangs, not {open}: {hanging:?}");
    let row = cells(&hanging[1]);
    let (stray_s, start_s) = (stray.to_string(), first.base_offset.to_string());
    assert_eq!(row[..6], ["t", "1", &stray_s, &epoch.to_string(), "-1", &start_s]);

    let abort = TransactionsCommand::Abort {
        topic: "t".into(),
        partition: 1,
        start_offset: Some(first.base_offset),
        producer_id: None,
        producer_epoch: None,
        coordinator_epoch: None,
    };
    assert!(tool(&broker, abort).await.is_empty(), "abort prints nothing when it succeeds");
    let producers =
        tool(&broker, TransactionsCommand::DescribeProducers { topic: "t".into(), partition: 1 }).await;
    let stray_row = producers[1..].iter().map(|l| cells(l)).find(|r| r[0] == stray_s);
    assert_eq!(stray_row.expect("stray listed")[5], "None", "the marker closed it: {producers:?}");
    let read_committed = fetch_request("t", 1, 0, 0, 0).with_isolation_level(1);
    let data = fetch_one(client.request(FETCH_V, &read_committed).await);
    let aborted: Vec<(i64, i64)> =
        (data.aborted_transactions.iter().flatten()).map(|t| (t.producer_id.0, t.first_offset)).collect();
    assert_eq!(aborted, [(stray, first.base_offset)], "an ABORT marker, not a COMMIT");
    assert_eq!(tool(&broker, find()).await.len(), 1, "nothing hangs any more");
    broker.stop().await;
}
