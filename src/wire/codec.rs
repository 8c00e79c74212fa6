//! Requests in, responses out: the header, the API key and version, and the
//! message codecs (from the `kafka-protocol` crate — the codecs are generated
//! from Kafka's JSON schemas, and writing them by hand is not this book's lesson).
//!
//! ```text
//!  request frame:  apiKey int16 | apiVersion int16 | correlationId int32 |
//!                  clientId nullable string | [tagged fields, header v2] | body
//!  response frame: correlationId int32 | [tagged fields, header v1] | body
//! ```
//!
//! The broker answers only the versions in [`SUPPORTED`], and says so in
//! ApiVersions. The generated encoders write a tagged field only when it holds a
//! non-default value, which matters: librdkafka before 2.2 (Debian's kcat)
//! misreads tagged fields it does not expect.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ProduceResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable};

// ANCHOR: supported
/// The APIs spool implements, and the versions of each it speaks.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    // v12: a transaction version 2 producer (see TRANSACTION_VERSION_2_APIS).
    (ApiKey::Produce, 0, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 6),
    // Kafka 3.x serves v0–v4; the codec crate decodes v2 on (v0–v1 predate
    // `current_leader_epoch` and the answer's `leader_epoch`; no client we test sends them).
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    // Issue 17: more partitions for a topic (KIP-195).
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 8),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::DeleteGroups, 0, 2),
    // Chapter 9: a transaction's consumer offsets (the group coordinator's
    // part). v5 is KIP-890's transactions v2 (the broker adds the partition
    // to the transaction itself).
    (ApiKey::TxnOffsetCommit, 0, 5),
    // Chapter 6: preferred leader election, forwarded to the controller.
    (ApiKey::ElectLeaders, 0, 2),
    // Chapter 9: the transaction coordinator (see `broker::transactions::apis`).
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    // v5: the end bumps the epoch and answers it (KIP-890 part 2).
    (ApiKey::EndTxn, 0, 5),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 1),
    // Chapter 9: the transaction coordinator's markers, broker to broker.
    // Kafka serves v0 too (v1 is v0 made flexible); the codec crate decodes
    // only v1, and spool's coordinators send v1.
    (ApiKey::WriteTxnMarkers, 1, 1),
    // KIP-664: a partition's producer table, for finding hanging transactions.
    (ApiKey::DescribeProducers, 0, 0),
    // Issue 17: the leader moves its log start; v2 is v1 made flexible.
    (ApiKey::DeleteRecords, 0, 2),
    // KIP-496: delete a group's offsets (the group coordinator's part).
    (ApiKey::OffsetDelete, 0, 0),
    // Chapter 11: ACLs in the metadata log. v1 on (KIP-290 prefixed patterns); the
    // codec crate, like Kafka 4.0, drops v0.
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    // KIP-113: each log directory's partitions and sizes; v4 adds the
    // volume's bytes (KIP-827). The codec crate decodes v1 on.
    (ApiKey::DescribeLogDirs, 1, 4),
    // Issue 17: topic and dynamic broker configs changed through the
    // controller; v2 of AlterConfigs and v1 of IncrementalAlterConfigs are
    // the flexible versions.
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    // KIP-966: the paginated describe newer admin clients use (issue 17).
    (ApiKey::DescribeTopicPartitions, 0, 0),
    // Chapter 11: SASL (KIP-43; v1 handshake + SaslAuthenticate frames, KIP-152).
    // A SASL listener's session answers them; on PLAINTEXT they are ILLEGAL_SASL_STATE.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    // Issue 19: client quotas (KIP-546); v1 is v0 made flexible.
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
    // Issue 19: SCRAM credentials in the metadata log (KIP-554).
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
];
// ANCHOR_END: supported

// ANCHOR: transaction_version_2_apis
/// The first version of each API that only a client of `transaction.version`
/// 2 sends (KIP-890 part 2): Produce v12 and TxnOffsetCommit v5 ask the
/// leader to add their partition to the transaction, EndTxn v5 asks for the
/// epoch bump. A broker whose feature is below 2 advertises the versions
/// below these (and answers these, should a client send them anyway, as the
/// versions before).
pub const TRANSACTION_VERSION_2_APIS: &[(ApiKey, i16)] =
    &[(ApiKey::Produce, 12), (ApiKey::TxnOffsetCommit, 5), (ApiKey::EndTxn, 5)];
// ANCHOR_END: transaction_version_2_apis

/// The versions of `api_key` a broker at `transaction_version` advertises.
pub fn advertised_versions(api_key: ApiKey, transaction_version: i16) -> Option<(i16, i16)> {
    let (min, max) = supported_versions(api_key)?;
    let first_v2 = TRANSACTION_VERSION_2_APIS.iter().find(|(k, _)| *k == api_key).map(|&(_, v)| v);
    match first_v2 {
        Some(v2) if transaction_version < crate::txn::TRANSACTION_VERSION_MAX => Some((min, max.min(v2 - 1))),
        _ => Some((min, max)),
    }
}

/// The versions of `api_key` spool's client listeners speak, if any.
pub fn supported_versions(api_key: ApiKey) -> Option<(i16, i16)> {
    versions_in(SUPPORTED, api_key)
}

/// The versions of `api_key` in a table of APIs, if any.
pub fn versions_in(apis: &[(ApiKey, i16, i16)], api_key: ApiKey) -> Option<(i16, i16)> {
    apis.iter().find(|(k, _, _)| *k == api_key).map(|&(_, min, max)| (min, max))
}

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    pub header: RequestHeader,
    pub api_key: ApiKey,
    pub body: RequestKind,
    /// The client's address as Kafka prints it (`/127.0.0.1`), set by the
    /// server; the group coordinator reports it in DescribeGroups.
    pub client_host: String,
    /// The name of the listener the request came in on (`PLAINTEXT`, `SSL`,
    /// …), set by the server: Metadata answers with the brokers' addresses
    /// on that listener.
    pub listener: String,
    /// Who the connection is (chapter 11), set by the server: `User:ANONYMOUS`
    /// on PLAINTEXT (as in Kafka), `User:CN=…` from a TLS client certificate,
    /// `User:<name>` once a SASL listener authenticated the connection.
    pub principal: crate::security::Principal,
}

/// Why a frame is not a request the broker can answer normally.
#[derive(Debug)]
pub enum DecodeError {
    /// ApiVersions at a version spool does not know: answered with a v0 response
    /// carrying `UNSUPPORTED_VERSION` and the supported versions, so the client
    /// can retry with one it shares (KIP-511).
    ApiVersionsUnsupported { correlation_id: i32 },
    /// Anything else — an unknown API key, an unsupported version, a malformed
    /// body. Kafka closes the connection: there is no response the client could
    /// be sure to parse.
    Close(String),
}

// ANCHOR: decode_request
/// Decodes one request frame for a client listener ([`SUPPORTED`]).
pub fn decode_request(frame: Bytes) -> Result<Request, DecodeError> {
    decode_request_for(frame, SUPPORTED)
}

/// Decodes one request frame of an API in `apis` (a listener's table: the
/// controller listener speaks other APIs than the client listeners).
pub fn decode_request_for(mut frame: Bytes, apis: &[(ApiKey, i16, i16)]) -> Result<Request, DecodeError> {
    if frame.len() < 8 {
        return Err(DecodeError::Close(format!("request of {} bytes has no header", frame.len())));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api_key = ApiKey::try_from(key).map_err(|_| DecodeError::Close(format!("unknown api key {key}")))?;
    let Some((min, max)) = versions_in(apis, api_key) else {
        return Err(DecodeError::Close(format!("unsupported api {api_key:?}")));
    };
    if !(min..=max).contains(&version) {
        if api_key == ApiKey::ApiVersions {
            return Err(DecodeError::ApiVersionsUnsupported { correlation_id });
        }
        return Err(DecodeError::Close(format!("{api_key:?} v{version} unsupported (v{min}-v{max})")));
    }
    let header_version = api_key.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| DecodeError::Close(format!("bad {api_key:?} header: {e}")))?;
    let (mut body, body_version) = upgrade_old_request(api_key, version, frame);
    let body = RequestKind::decode(api_key, &mut body, body_version)
        .map_err(|e| DecodeError::Close(format!("bad {api_key:?} v{version} body: {e}")))?;
    Ok(Request {
        header,
        api_key,
        body,
        client_host: String::new(),
        listener: String::new(),
        principal: crate::security::Principal::anonymous(),
    })
}
// ANCHOR_END: decode_request

// ANCHOR: old_versions
/// Produce v0–v2 predate the codec crate's oldest version, but librdkafka 2.0.2
/// (Debian's kcat) compresses with gzip, snappy or lz4 only if the broker lists
/// Produce v0 — it checks that the versions it could ever send include the one
/// each codec first appeared in. The old body is a strict prefix of v3's, so it
/// is rewritten into v3 by inserting the one missing field. (The records inside
/// must still be magic v2: older message formats are rejected, see the README's
/// non-goals.)
///
/// - Produce v0–v2 share one body; v3 added `transactional_id` first: insert a
///   null string.
fn upgrade_old_request(api_key: ApiKey, version: i16, body: Bytes) -> (Bytes, i16) {
    let splice = |at: usize, insert: &[u8]| {
        let at = at.min(body.len());
        let mut out = BytesMut::with_capacity(body.len() + insert.len());
        out.extend_from_slice(&body[..at]);
        out.extend_from_slice(insert);
        out.extend_from_slice(&body[at..]);
        out.freeze()
    };
    match (api_key, version) {
        (ApiKey::Produce, 0..=2) => (splice(0, &(-1i16).to_be_bytes()), 3),
        _ => (body, version),
    }
}

/// Produce responses v0–v1: v0 has no throttle time and no append time, v1
/// adds the throttle time; v2's response is v3's, byte for byte.
fn encode_old_produce_response(buf: &mut BytesMut, response: &ProduceResponse, version: i16) {
    buf.put_i32(response.responses.len() as i32);
    for topic in &response.responses {
        buf.put_i16(topic.name.len() as i16);
        buf.put_slice(topic.name.as_bytes());
        buf.put_i32(topic.partition_responses.len() as i32);
        for p in &topic.partition_responses {
            buf.put_i32(p.index);
            buf.put_i16(p.error_code);
            buf.put_i64(p.base_offset);
        }
    }
    if version == 1 {
        buf.put_i32(response.throttle_time_ms);
    }
}

// ANCHOR_END: old_versions

/// Encodes a response frame, size prefix included. An error means a handler
/// set a field the client's version cannot carry: a bug in spool, answered by
/// closing the connection rather than sending something the client misreads.
pub fn encode_response(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Bytes, String> {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0); // size, below
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header.encode(&mut buf, api_key.response_header_version(version)).map_err(|e| e.to_string())?;
    match (body, version) {
        (ResponseKind::Produce(produce), 0 | 1) => {
            encode_old_produce_response(&mut buf, produce, version);
            Ok(())
        }
        (ResponseKind::Produce(_), 2) => body.encode(&mut buf, 3),
        _ => body.encode(&mut buf, version),
    }
    .map_err(|e| format!("{api_key:?} v{version} response: {e}"))?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}
