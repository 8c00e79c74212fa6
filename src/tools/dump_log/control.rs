//! Control records in a deep-iteration dump. A control batch carries no user
//! data: each record's key says what it marks (a 4-byte key: version int16,
//! type int16) and its value holds the marker. Kafka's `DumpLogSegments`
//! ends such a record's line with what it is, whatever decoder is chosen,
//! and never prints its key or value as data:
//!
//! ```text
//! | offset: 0 CreateTime: 1700000000000 keySize: 4 valueSize: 20 sequence: -1 headerKeys: [] controlType: LEADER_CHANGE(2)
//! | offset: 9 CreateTime: 1700000000000 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 0
//! ```
//!
//! A KRaft leader's `LEADER_CHANGE` record (chapter 7) is shown by its type
//! only: Kafka's tool does not decode the `LeaderChangeMessage`, and neither
//! does this one.
//!
//! A metadata snapshot's header and footer (issue 14 §2) print as Kafka's
//! JSON for them:
//!
//! ```text
//! | offset: 0 CreateTime: 1700000000000 keySize: 4 valueSize: 11 sequence: -1 headerKeys: [] SnapshotHeader {"version":0,"lastContainedLogTimestamp":1699999999000}
//! | offset: 8 CreateTime: 1700000000000 keySize: 4 valueSize: 3 sequence: -1 headerKeys: [] SnapshotFooter {"version":0}
//! ```
//!
//! Simplifications: Kafka prints KIP-853's `KRAFT_VERSION` and `KRAFT_VOTERS`
//! records as JSON; spool never writes them, and shows them by type only
//! (`controlType: KRAFT_VOTERS(6)`).

use bytes::Bytes;
use kafka_protocol::messages::{SnapshotFooterRecord, SnapshotHeaderRecord};
use kafka_protocol::protocol::Decodable;

/// Kafka's `ControlRecordType` names, by type id.
fn control_type_name(type_id: i16) -> &'static str {
    match type_id {
        0 => "ABORT",
        1 => "COMMIT",
        2 => "LEADER_CHANGE",
        3 => "SNAPSHOT_HEADER",
        4 => "SNAPSHOT_FOOTER",
        5 => "KRAFT_VERSION",
        6 => "KRAFT_VOTERS",
        _ => "UNKNOWN",
    }
}

/// What a control record's line ends with (` controlType: …` or
/// ` endTxnMarker: …`), or why its key or value is not one Kafka reads.
pub(super) fn describe(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<String, String> {
    let key = key.unwrap_or_default();
    let [v0, v1, t0, t1, ..] = *key else {
        return Err(format!("control record key of {} bytes: a control key is at least 4", key.len()));
    };
    let key_version = i16::from_be_bytes([v0, v1]);
    if key_version < 0 {
        return Err(format!("invalid control record key version {key_version}"));
    }
    let type_id = i16::from_be_bytes([t0, t1]);
    let name = control_type_name(type_id);
    let mut message = Bytes::copy_from_slice(value.unwrap_or_default());
    match type_id {
        0 | 1 => {}
        3 => {
            let header =
                SnapshotHeaderRecord::decode(&mut message, 0).map_err(|e| format!("SnapshotHeader: {e}"))?;
            return Ok(format!(
                " SnapshotHeader {{\"version\":{},\"lastContainedLogTimestamp\":{}}}",
                header.version, header.last_contained_log_timestamp
            ));
        }
        4 => {
            let footer =
                SnapshotFooterRecord::decode(&mut message, 0).map_err(|e| format!("SnapshotFooter: {e}"))?;
            return Ok(format!(" SnapshotFooter {{\"version\":{}}}", footer.version));
        }
        _ => return Ok(format!(" controlType: {name}({type_id})")),
    }
    // An end transaction marker's value: version int16, coordinatorEpoch int32.
    let value = value.unwrap_or_default();
    let [m0, m1, e0, e1, e2, e3, ..] = *value else {
        return Err(format!("end transaction marker of {} bytes: a marker is at least 6", value.len()));
    };
    let marker_version = i16::from_be_bytes([m0, m1]);
    if marker_version < 0 {
        return Err(format!("invalid end transaction marker version {marker_version}"));
    }
    let coordinator_epoch = i32::from_be_bytes([e0, e1, e2, e3]);
    Ok(format!(" endTxnMarker: {name} coordinatorEpoch: {coordinator_epoch}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each control type prints as Kafka's `DumpLogSegments` prints it: end
    /// transaction markers with their coordinator epoch, the rest by name and id.
    #[test]
    fn control_records_print_as_kafka_does() {
        let leader_change = describe(Some(&[0, 0, 0, 2]), Some(&[0, 0, 0, 0, 0, 1]));
        assert_eq!(leader_change.unwrap(), " controlType: LEADER_CHANGE(2)");
        let commit = describe(Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 7]));
        assert_eq!(commit.unwrap(), " endTxnMarker: COMMIT coordinatorEpoch: 7");
        assert_eq!(describe(Some(&[0, 0, 0, 42]), None).unwrap(), " controlType: UNKNOWN(42)");
    }

    /// A snapshot's header and footer print as Kafka's
    /// `SnapshotHeaderRecordJsonConverter` / `SnapshotFooterRecordJsonConverter`
    /// write them; one that does not decode is an error, not a panic.
    #[test]
    fn snapshot_header_and_footer_print_as_json() {
        // version 0, lastContainedLogTimestamp 1700000000000, no tagged fields.
        let mut header = vec![0, 0];
        header.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        header.push(0);
        let printed = describe(Some(&[0, 0, 0, 3]), Some(&header)).unwrap();
        assert_eq!(printed, r#" SnapshotHeader {"version":0,"lastContainedLogTimestamp":1700000000000}"#);
        let printed = describe(Some(&[0, 0, 0, 4]), Some(&[0, 0, 0])).unwrap();
        assert_eq!(printed, r#" SnapshotFooter {"version":0}"#);
        assert!(describe(Some(&[0, 0, 0, 3]), Some(&[0, 0, 1])).unwrap_err().contains("SnapshotHeader"));
        assert!(describe(Some(&[0, 0, 0, 4]), None).unwrap_err().contains("SnapshotFooter"));
    }

    /// A key or marker too short to hold its fields is an error naming the
    /// sizes (Kafka's tool would stop with an exception), never a panic.
    #[test]
    fn short_keys_and_markers_are_errors() {
        assert!(describe(None, None).unwrap_err().contains("0 bytes"));
        assert!(describe(Some(&[0, 0, 2]), None).unwrap_err().contains("3 bytes"));
        assert!(describe(Some(&[0xff, 0xff, 0, 2]), None).unwrap_err().contains("version -1"));
        assert!(describe(Some(&[0, 0, 0, 0]), Some(&[0, 0, 0])).unwrap_err().contains("3 bytes"));
    }
}
