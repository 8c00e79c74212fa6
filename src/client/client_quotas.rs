//! AlterClientQuotas and DescribeClientQuotas from the client side (issue
//! 19): what `kafka-configs.sh --alter --entity-type users|clients` and an
//! admin client's `alterClientQuotas` / `describeClientQuotas` send.

use kafka_protocol::messages::{
    alter_client_quotas_request, describe_client_quotas_request, AlterClientQuotasRequest,
    DescribeClientQuotasRequest,
};
use kafka_protocol::protocol::StrBytes;

pub use crate::quotas::{EntityName, QuotaEntity};

use super::{Client, ClientError};

/// One key's change: a new value, or `None` to remove it.
pub type QuotaOp = (String, Option<f64>);

/// DescribeClientQuotas' match of one entity type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaMatch {
    /// Exactly this name (`EntityName::Default` for `<default>`).
    Exact(EntityName),
    /// Any name, the default included, as long as the type is there.
    Specified,
}

fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl Client {
    // ANCHOR: alter_client_quotas
    /// AlterClientQuotas for one entity; `validate_only` checks and changes
    /// nothing. A refusal is the entity's error (INVALID_REQUEST).
    pub async fn alter_client_quotas(
        &mut self,
        entity: &QuotaEntity,
        ops: &[QuotaOp],
        validate_only: bool,
    ) -> Result<(), ClientError> {
        let parts = (entity.0.iter())
            .map(|(t, n)| {
                alter_client_quotas_request::EntityData::default()
                    .with_entity_type(str(t))
                    .with_entity_name(n.to_wire().map(str))
            })
            .collect();
        let ops = (ops.iter())
            .map(|(key, value)| {
                alter_client_quotas_request::OpData::default()
                    .with_key(str(key))
                    .with_value(value.unwrap_or(0.0))
                    .with_remove(value.is_none())
            })
            .collect();
        let entry = alter_client_quotas_request::EntryData::default().with_entity(parts).with_ops(ops);
        let request =
            AlterClientQuotasRequest::default().with_entries(vec![entry]).with_validate_only(validate_only);
        let response = self.any_connection().await?.send(&request).await?;
        for e in response.entries {
            let message = e.error_message.map(|m| m.to_string());
            ClientError::check(e.error_code, message, || format!("alter client quotas of {entity}"))?;
        }
        Ok(())
    }
    // ANCHOR_END: alter_client_quotas

    /// DescribeClientQuotas: every entity matching each (type, match) and, if
    /// `strict`, no other type, with its quotas.
    pub async fn describe_client_quotas(
        &mut self,
        filter: &[(String, QuotaMatch)],
        strict: bool,
    ) -> Result<Vec<(QuotaEntity, Vec<(String, f64)>)>, ClientError> {
        let components = (filter.iter())
            .map(|(t, m)| {
                let c = describe_client_quotas_request::ComponentData::default().with_entity_type(str(t));
                match m {
                    QuotaMatch::Exact(EntityName::Name(n)) => c.with_match_type(0).with_match(Some(str(n))),
                    QuotaMatch::Exact(EntityName::Default) => c.with_match_type(1).with_match(None),
                    QuotaMatch::Specified => c.with_match_type(2).with_match(None),
                }
            })
            .collect();
        let request = DescribeClientQuotasRequest::default().with_components(components).with_strict(strict);
        let response = self.any_connection().await?.send(&request).await?;
        let message = response.error_message.map(|m| m.to_string());
        ClientError::check(response.error_code, message, || "describe client quotas".to_string())?;
        Ok((response.entries.unwrap_or_default().into_iter())
            .map(|e| {
                let entity = (e.entity.iter())
                    .map(|p| (p.entity_type.to_string(), EntityName::from_wire(p.entity_name.as_deref())))
                    .collect();
                let values = e.values.into_iter().map(|v| (v.key.to_string(), v.value)).collect();
                (QuotaEntity(entity), values)
            })
            .collect())
    }
}
