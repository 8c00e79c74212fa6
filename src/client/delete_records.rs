//! DeleteRecords from the client's side (issue 17): each partition's request
//! goes to its leader, which answers once every live replica has moved its
//! log start (the low watermark) — what Kafka's `Admin.deleteRecords` and
//! `kafka-delete-records.sh` send.

use std::time::Duration;

use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::DeleteRecordsRequest;

use super::admin::topic_name;
use super::{Client, ClientError};
use crate::TopicPartition;

impl Client {
    /// Deletes the records of `partition` before `offset` (-1: up to the high
    /// watermark), waiting up to `timeout_ms` for its replicas: the low
    /// watermark its leader answers.
    pub async fn delete_records(
        &mut self,
        partition: &TopicPartition,
        offset: i64,
        timeout_ms: i32,
    ) -> Result<i64, ClientError> {
        self.invalidate(&partition.topic);
        let by_leader = self.by_leader(&partition.topic, [(partition.partition, ())], false).await?;
        let leader = *by_leader.keys().next().expect("one partition, one leader");
        let request = DeleteRecordsRequest::default().with_timeout_ms(timeout_ms).with_topics(vec![
            DeleteRecordsTopic::default().with_name(topic_name(&partition.topic)).with_partitions(vec![
                DeleteRecordsPartition::default()
                    .with_partition_index(partition.partition)
                    .with_offset(offset),
            ]),
        ]);
        // The leader answers within `timeout_ms`; the socket may take a little longer.
        let wait = Duration::from_millis(timeout_ms.max(0) as u64) + super::REQUEST_TIMEOUT_DEFAULT;
        let response = self.node_connection(leader).await?.send_within(&request, wait).await?;
        let answer = (response.topics.into_iter())
            .flat_map(|t| t.partitions)
            .find(|p| p.partition_index == partition.partition)
            .ok_or_else(|| ClientError::Protocol(format!("DeleteRecords did not answer for {partition}")))?;
        ClientError::check(answer.error_code, None, || format!("delete records of {partition}"))?;
        Ok(answer.low_watermark)
    }
}
