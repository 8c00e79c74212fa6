//! ApiVersions: the list of supported versions, at every version and at one
//! the broker does not know (KIP-35, KIP-511).

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use spool::wire::codec::SUPPORTED;

use crate::wire::harness::{code, decode_response, start, API_VERSIONS_V};

/// ApiVersions at every version spool speaks lists exactly `SUPPORTED`, no more
/// (a client would send requests spool cannot decode) and no less (it would
/// avoid ones spool can) — the contract of KIP-35 and KIP-511.
#[tokio::test]
async fn api_versions_lists_exactly_the_supported_versions() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    let expected: Vec<(i16, i16, i16)> =
        SUPPORTED.iter().map(|&(k, min, max)| (k as i16, min, max)).collect();
    for version in 0..=4 {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("wire-test"))
            .with_client_software_version(StrBytes::from_static_str("1.0"));
        let response = client.request(version, &request).await;
        assert_eq!(response.error_code, 0, "v{version}");
        let listed: Vec<(i16, i16, i16)> =
            response.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
        assert_eq!(listed, expected, "v{version}");
    }
}

/// ApiVersions at a version the broker does not know (v99) is answered, not
/// closed: a v0 body with UNSUPPORTED_VERSION (35) and the supported list, so the
/// client can retry at a version both speak (KIP-511).
#[tokio::test]
async fn api_versions_at_an_unknown_version_gets_a_v0_error_with_the_list() {
    let broker = start(|_| {}).await;
    let mut client = broker.client().await;
    // A v99 request cannot be encoded by the codec crate: write its header by hand.
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    frame.put_i16(ApiKey::ApiVersions as i16);
    frame.put_i16(99);
    frame.put_i32(7); // correlation id
    frame.put_i16(9);
    frame.put_slice(b"wire-test");
    frame.put_u8(0); // empty tagged fields, as a flexible header would have
    let size = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    client.write(&frame).await;
    let mut response = client.read_frame().await;
    // ApiVersions responses always use header v0, whatever the version.
    let body: ApiVersionsResponse = decode_response(&mut response, 0, 0, 7);
    assert_eq!(body.error_code, code(ResponseError::UnsupportedVersion));
    let listed: Vec<(i16, i16, i16)> =
        body.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
    let expected: Vec<(i16, i16, i16)> =
        SUPPORTED.iter().map(|&(k, min, max)| (k as i16, min, max)).collect();
    assert_eq!(listed, expected);
    // The connection stays usable: the client retries at a version it shares.
    let retry = client.request(API_VERSIONS_V, &ApiVersionsRequest::default()).await;
    assert_eq!(retry.error_code, 0);
}
