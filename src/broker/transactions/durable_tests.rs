//! The transaction coordinator in durable mode (`spool.log.flush.before.ack`):
//! its `__transaction_state` record is answered only once an fsync covers it,
//! and the record is reported to the replication core only then, so the
//! partition's high watermark never passes the flushed end (see
//! `Partition`'s module docs).

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, ProducerId, TransactionalId};
use kafka_protocol::protocol::StrBytes;

use super::super::Broker;
use crate::config::BrokerConfig;
use crate::log::manager::lock;
use crate::txn::TRANSACTION_STATE_TOPIC;
use crate::TopicPartition;

/// InitProducerId for a transactional id on a one-node broker in durable
/// mode succeeds (its record is reported after its fsync, not before, which
/// the replication core would refuse), and leaves the state partition
/// flushed up to its high watermark, which covers the record.
#[tokio::test]
async fn init_producer_id_is_durable_before_it_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig { log_dir: dir.path().to_path_buf(), ..BrokerConfig::default() };
    config.log.flush_before_ack = true;
    config.transactions.state_log_num_partitions = 1;
    let broker = Arc::new(Broker::open(config).unwrap());
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx"))))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let response = broker.init_transactional_producer_id(request, 4).await;
    assert_eq!((response.error_code, response.producer_epoch), (0, 0));
    let partition = broker.partition(&TopicPartition::new(TRANSACTION_STATE_TOPIC, 0)).unwrap();
    let (log_end_offset, recovery_point) = {
        let log = lock(&partition.log);
        (log.log_end_offset(), log.recovery_point())
    };
    assert!(log_end_offset > 0, "no transaction record was written");
    assert_eq!((recovery_point, partition.high_watermark()), (log_end_offset, log_end_offset));
}
