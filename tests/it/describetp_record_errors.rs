//! KIP-467 against a broker in the test's process, with raw Produce
//! requests: a batch refused because of some of its records names each of
//! them (`record_errors`: batch index and message) and sums them up in the
//! partition's `error_message`, as Kafka's `LogValidator` does
//! (`RecordValidationException`, `ProduceResponse.RecordError`). Produce
//! before v8 carries neither field: the client gets the error code only.
//! Nothing of a refused batch is appended.
//!
//! ```text
//! cargo test --test it describetp_record_errors::
//! ```

use crate::wire::harness;
use crate::wire::requests;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use spool::format::{BatchBuilder, Compression};

use harness::{code, start};
use requests::{create_topic, list_offset, produce, produce_request};

/// ListOffsets' timestamp for the log end offset.
const LATEST: i64 = -1;

/// Five records keyed `k0`…`k4`, except those at `keyless`, which have no key.
fn five_records(compression: Compression, keyless: &[usize]) -> Bytes {
    let mut builder = BatchBuilder::new(compression);
    for i in 0..5 {
        let key = format!("k{i}");
        let key = (!keyless.contains(&i)).then_some(key.as_bytes());
        builder.append(1_000 + i as i64, key, Some(format!("v{i}").as_bytes()), &[]);
    }
    builder.build().as_bytes().clone()
}

/// KIP-467: records 1 and 3 of a five-record batch lack keys on a compacted
/// topic; the answer is INVALID_RECORD with record errors for exactly those
/// two indexes, each with Kafka's message, a summary in `error_message`, and
/// nothing appended — the log end stays 0 and a good batch then lands at 0.
#[tokio::test]
async fn each_keyless_record_of_a_compacted_batch_is_named() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "compacted", 1, &[("cleanup.policy", "compact")]).await;

    for compression in [Compression::None, Compression::Gzip] {
        let refused = produce(&mut client, "compacted", 0, five_records(compression, &[1, 3]), 1).await;
        assert_eq!(refused.error_code, code(ResponseError::InvalidRecord), "{compression:?}");
        let indexes: Vec<i32> = refused.record_errors.iter().map(|e| e.batch_index).collect();
        assert_eq!(indexes, vec![1, 3], "{compression:?}");
        for e in &refused.record_errors {
            let message = e.batch_index_error_message.as_ref().expect("a message per record").to_string();
            assert!(message.contains("without key") && message.contains("compacted-0"), "{message}");
        }
        let summary = refused.error_message.as_ref().expect("a summary").to_string();
        assert!(summary.contains("2 record errors"), "{summary}");
        assert_eq!(list_offset(&mut client, "compacted", 0, LATEST).await.offset, 0, "nothing appended");
    }
    let good = produce(&mut client, "compacted", 0, five_records(Compression::None, &[]), 1).await;
    assert_eq!((good.error_code, good.base_offset), (0, 0));
}

/// Produce v7 predates KIP-467: the same batch gets INVALID_RECORD and the
/// response, at that version, has no place for the record errors.
#[tokio::test]
async fn produce_before_v8_gets_the_error_code_only() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    create_topic(&mut client, "compacted", 1, &[("cleanup.policy", "compact")]).await;
    let request = produce_request("compacted", 0, five_records(Compression::None, &[1, 3]), 1);
    let response = client.request(7, &request).await;
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(partition.error_code, code(ResponseError::InvalidRecord));
    assert!(partition.record_errors.is_empty() && partition.error_message.is_none());
}
