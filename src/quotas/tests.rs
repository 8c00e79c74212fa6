//! Quota resolution follows Kafka's eight levels (the `ClientQuotaManager`
//! doc): the most specific entity with the key wins, and the measured
//! entity keeps the request's names.

use super::*;

fn quotas(entries: &[(QuotaEntity, f64)]) -> ClientQuotas {
    let mut out = ClientQuotas::new();
    for (entity, value) in entries {
        out.entry(entity.clone()).or_default().insert(PRODUCER_BYTE_RATE.to_string(), QuotaValue(*value));
    }
    out
}

fn name(n: &str) -> Option<EntityName> {
    Some(EntityName::Name(n.to_string()))
}

const D: Option<EntityName> = Some(EntityName::Default);

/// Each level, from the most specific down, wins over every level below it.
#[test]
fn each_level_wins_over_the_ones_below() {
    let levels = [
        QuotaEntity::of(name("u"), name("c")),
        QuotaEntity::of(name("u"), D),
        QuotaEntity::of(name("u"), None),
        QuotaEntity::of(D, name("c")),
        QuotaEntity::of(D, D),
        QuotaEntity::of(D, None),
        QuotaEntity::of(None, name("c")),
        QuotaEntity::of(None, D),
    ];
    for top in 0..levels.len() {
        let entries: Vec<_> = (top..levels.len()).map(|i| (levels[i].clone(), (i + 1) as f64)).collect();
        let (_, bound) = resolve(&quotas(&entries), PRODUCER_BYTE_RATE, "u", "c").expect("a quota");
        assert_eq!(bound, (top + 1) as f64, "level {} should win", top + 1);
    }
}

/// A user's quota is shared by all its clients (measured on users/u); a
/// default client quota is measured per client id.
#[test]
fn the_measured_entity_keeps_the_names_of_the_level() {
    let q = quotas(&[(QuotaEntity::of(name("u"), None), 10.0), (QuotaEntity::of(None, D), 5.0)]);
    assert_eq!(resolve(&q, PRODUCER_BYTE_RATE, "u", "c"), Some((QuotaEntity::of(name("u"), None), 10.0)));
    assert_eq!(resolve(&q, PRODUCER_BYTE_RATE, "v", "c"), Some((QuotaEntity::of(None, name("c")), 5.0)));
    assert_eq!(resolve(&q, CONSUMER_BYTE_RATE, "u", "c"), None);
}
