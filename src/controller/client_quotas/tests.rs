//! AlterClientQuotas and DescribeClientQuotas decided as Kafka's
//! `ClientQuotaControlManager` and `ClientQuotasImage.describe` do (KIP-546).

use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;

use super::*;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn entry(entity: &[(&str, Option<&str>)], ops: &[(&str, f64, bool)]) -> EntryData {
    EntryData::default()
        .with_entity(
            (entity.iter())
                .map(|(t, n)| EntityData::default().with_entity_type(s(t)).with_entity_name(n.map(s)))
                .collect(),
        )
        .with_ops(
            (ops.iter())
                .map(|(k, v, r)| OpData::default().with_key(s(k)).with_value(*v).with_remove(*r))
                .collect(),
        )
}

fn alter(image: &mut MetadataImage, entries: Vec<EntryData>) -> Vec<i16> {
    let request = AlterClientQuotasRequest::default().with_entries(entries);
    let (records, response) = alter_client_quotas(image, &request);
    records.iter().for_each(|r| image.apply(r).expect("a valid record"));
    response.entries.iter().map(|e| e.error_code).collect()
}

fn describe(image: &MetadataImage, components: &[(&str, i8, Option<&str>)], strict: bool) -> (i16, usize) {
    let components = (components.iter())
        .map(|(t, m, n)| {
            ComponentData::default().with_entity_type(s(t)).with_match_type(*m).with_match(n.map(s))
        })
        .collect();
    let request = DescribeClientQuotasRequest::default().with_components(components).with_strict(strict);
    let response = describe_client_quotas(image, &request);
    (response.error_code, response.entries.map_or(0, |e| e.len()))
}

const INVALID: i16 = 42;

/// Kafka refuses, each with INVALID_REQUEST and per entry: an unknown key,
/// a negative or zero rate, a fractional byte rate, an empty entity, a type
/// named twice, an unknown type, an ip combined with a user, an empty name;
/// the valid entry in the same request is still applied.
#[test]
fn bad_entries_are_refused_one_by_one() {
    let mut image = MetadataImage::default();
    let answers = alter(
        &mut image,
        vec![
            entry(&[("user", Some("u"))], &[("no_such_rate", 1.0, false)]),
            entry(&[("user", Some("u"))], &[("producer_byte_rate", -5.0, false)]),
            entry(&[("user", Some("u"))], &[("producer_byte_rate", 0.0, false)]),
            entry(&[("user", Some("u"))], &[("consumer_byte_rate", 1.5, false)]),
            entry(&[], &[("producer_byte_rate", 1.0, false)]),
            entry(&[("user", Some("u")), ("user", Some("v"))], &[("producer_byte_rate", 1.0, false)]),
            entry(&[("group", Some("g"))], &[("producer_byte_rate", 1.0, false)]),
            entry(
                &[("ip", Some("127.0.0.1")), ("user", Some("u"))],
                &[("connection_creation_rate", 1.0, false)],
            ),
            entry(&[("client-id", Some(""))], &[("producer_byte_rate", 1.0, false)]),
            entry(&[("client-id", Some("ok"))], &[("request_percentage", 12.5, false)]),
        ],
    );
    assert_eq!(answers, [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, 0]);
    assert_eq!(image.client_quotas().len(), 1);
}

/// A set then a remove leaves no entity behind; a remove of an unset key
/// writes nothing.
#[test]
fn set_and_remove() {
    let mut image = MetadataImage::default();
    let e = [("user", Some("u")), ("client-id", None)];
    assert_eq!(alter(&mut image, vec![entry(&e, &[("producer_byte_rate", 1024.0, false)])]), [0]);
    let entity = QuotaEntity::of(Some(EntityName::Name("u".into())), Some(EntityName::Default));
    assert_eq!(image.client_quotas()[&entity]["producer_byte_rate"], QuotaValue(1024.0));
    let request = AlterClientQuotasRequest::default()
        .with_entries(vec![entry(&e, &[("consumer_byte_rate", 0.0, true)])]);
    assert!(alter_client_quotas(&image, &request).0.is_empty());
    assert_eq!(alter(&mut image, vec![entry(&e, &[("producer_byte_rate", 0.0, true)])]), [0]);
    assert!(image.client_quotas().is_empty());
}

/// Exact, default and specified matches, strict or not, as
/// `ClientQuotasImage.describe`; a bad filter is the response's error.
#[test]
fn describe_filters() {
    let mut image = MetadataImage::default();
    let rate = [("producer_byte_rate", 100.0, false)];
    alter(
        &mut image,
        vec![
            entry(&[("user", Some("u"))], &rate),
            entry(&[("user", None)], &rate),
            entry(&[("user", Some("u")), ("client-id", Some("c"))], &rate),
            entry(&[("client-id", None)], &rate),
        ],
    );
    assert_eq!(describe(&image, &[], false), (0, 4));
    assert_eq!(describe(&image, &[("user", MATCH_EXACT, Some("u"))], false), (0, 2));
    assert_eq!(describe(&image, &[("user", MATCH_EXACT, Some("u"))], true), (0, 1));
    assert_eq!(describe(&image, &[("user", MATCH_DEFAULT, None)], true), (0, 1));
    assert_eq!(describe(&image, &[("user", MATCH_SPECIFIED, None)], false), (0, 3));
    assert_eq!(describe(&image, &[("client-id", MATCH_SPECIFIED, None)], true), (0, 1));
    assert_eq!(describe(&image, &[("user", MATCH_EXACT, None)], false).0, INVALID);
    let twice = [("user", MATCH_SPECIFIED, None), ("user", MATCH_DEFAULT, None)];
    assert_eq!(describe(&image, &twice, false).0, INVALID);
    assert_eq!(describe(&image, &[("group", MATCH_SPECIFIED, None)], false).0, 35);
}
