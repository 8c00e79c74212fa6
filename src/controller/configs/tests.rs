use uuid::Uuid;

use super::*;

fn image() -> MetadataImage {
    let mut image = MetadataImage::default();
    image.apply(&MetadataRecord::Topic { name: "t".into(), topic_id: Uuid::from_u128(7) }).unwrap();
    image
}

fn change(name: &str, op: ConfigOp, value: Option<&str>) -> ConfigChange {
    ConfigChange { name: name.into(), op: Some(op), value: value.map(Into::into) }
}

fn topic(changes: Vec<ConfigChange>) -> ConfigResourceChange {
    ConfigResourceChange { resource_type: RESOURCE_TOPIC, resource_name: "t".into(), changes, replace: false }
}

fn commit(image: &mut MetadataImage, resources: &[ConfigResourceChange]) -> Vec<Result<(), TopicError>> {
    let result = alter_configs(image, resources);
    for r in &result.records {
        image.apply(r).unwrap();
    }
    result.answer
}

fn code(answer: &Result<(), TopicError>) -> Option<ResponseError> {
    answer.as_ref().err().map(|e| e.code)
}

/// KIP-339's operations on a topic: SET writes a record per changed key,
/// APPEND and SUBTRACT edit a list key starting from Kafka's default, and
/// DELETE writes a null value so the key falls back to the broker's default.
#[test]
fn incremental_operations_become_config_records() {
    let mut image = image();
    let set = topic(vec![change("retention.ms", ConfigOp::Set, Some("100"))]);
    assert_eq!(commit(&mut image, &[set]), vec![Ok(())]);
    let append = topic(vec![change("cleanup.policy", ConfigOp::Append, Some("compact"))]);
    assert_eq!(commit(&mut image, &[append]), vec![Ok(())]);
    assert_eq!(image.topic("t").unwrap().configs["cleanup.policy"], "delete,compact");
    let subtract = topic(vec![change("cleanup.policy", ConfigOp::Subtract, Some("delete"))]);
    assert_eq!(commit(&mut image, &[subtract]), vec![Ok(())]);
    assert_eq!(image.topic("t").unwrap().configs["cleanup.policy"], "compact");
    let delete = topic(vec![change("retention.ms", ConfigOp::Delete, None)]);
    let result = alter_configs(&image, &[delete]);
    assert_eq!(
        result.records,
        vec![MetadataRecord::Config {
            resource_type: RESOURCE_TOPIC,
            resource_name: "t".into(),
            name: "retention.ms".into(),
            value: None
        }]
    );
}

/// AlterConfigs replaces the whole set: a key the request leaves out is
/// removed, one it repeats unchanged writes nothing.
#[test]
fn alter_configs_replaces_the_set() {
    let mut image = image();
    let two = vec![
        change("retention.ms", ConfigOp::Set, Some("1")),
        change("segment.ms", ConfigOp::Set, Some("2")),
    ];
    assert_eq!(commit(&mut image, &[topic(two)]), vec![Ok(())]);
    let replace =
        ConfigResourceChange { replace: true, ..topic(vec![change("segment.ms", ConfigOp::Set, Some("2"))]) };
    let result = alter_configs(&image, &[replace]);
    assert_eq!(result.records.len(), 1, "{:?}", result.records);
    commit(&mut image, &[ConfigResourceChange { replace: true, ..topic(vec![]) }]);
    assert!(image.topic("t").unwrap().configs.is_empty());
}

/// Bad input is refused per resource with Kafka's codes, and nothing of a
/// refused resource is written: unknown topic, unknown key, bad value,
/// APPEND on a non-list key, a resource twice, a static broker key.
#[test]
fn bad_changes_are_refused_with_kafkas_codes() {
    let image = image();
    let unknown = ConfigResourceChange { resource_name: "nope".into(), ..topic(vec![]) };
    let bad_key = topic(vec![change("retention.parsecs", ConfigOp::Set, Some("1"))]);
    let bad_value = topic(vec![change("retention.ms", ConfigOp::Set, Some("soon"))]);
    let append = topic(vec![change("retention.ms", ConfigOp::Append, Some("1"))]);
    let null = topic(vec![change("retention.ms", ConfigOp::Set, None)]);
    for (r, expected) in [
        (unknown, ResponseError::UnknownTopicOrPartition),
        (bad_key, ResponseError::InvalidConfig),
        (bad_value, ResponseError::InvalidConfig),
        (append, ResponseError::InvalidConfig),
        (null, ResponseError::InvalidRequest),
    ] {
        let result = alter_configs(&image, std::slice::from_ref(&r));
        assert_eq!(code(&result.answer[0]), Some(expected), "{r:?}");
        assert!(result.records.is_empty());
    }
    let twice = topic(vec![change("retention.ms", ConfigOp::Set, Some("1"))]);
    let result = alter_configs(&image, &[twice.clone(), twice]);
    assert!(result.answer.iter().all(|a| code(a) == Some(ResponseError::InvalidRequest)));
    let message =
        alter_configs(&image, &[topic(vec![change("retention.parsecs", ConfigOp::Set, Some("1"))])]);
    assert!(message.answer[0].as_ref().unwrap_err().message.contains("retention.parsecs"));
    let broker = |name: &str, key: &str| ConfigResourceChange {
        resource_type: RESOURCE_BROKER,
        resource_name: name.into(),
        changes: vec![change(key, ConfigOp::Set, Some("1000"))],
        replace: false,
    };
    let result = alter_configs(&image, &[broker("", "node.id"), broker("x", "log.retention.ms")]);
    assert!(result.answer.iter().all(|a| code(a) == Some(ResponseError::InvalidRequest)), "{result:?}");
    let result = alter_configs(&image, &[broker("", "log.retention.ms"), broker("1", "log.segment.bytes")]);
    assert_eq!(result.answer, vec![Ok(()), Ok(())]);
    assert_eq!(result.records.len(), 2);
}
