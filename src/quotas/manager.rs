//! The broker's meters: one [`Rate`] per (quota key, measured entity), fed
//! by the request paths and asked for a throttle time.
//!
//! Like Kafka's `ClientQuotaManager`, a meter is made the first time a
//! client falls under a quota, and the quota's value is looked up afresh at
//! each request, so an AlterClientQuotas takes effect at the next one. A
//! client under no quota is not measured at all.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{resolve, ClientQuotas, QuotaEntity, QuotaWindow, Rate};

/// Request handler time in ns as Kafka's request quota counts it: % of one
/// thread's second (`ClientRequestQuotaManager.NanosToPercentagePerSecond`).
pub const NANOS_TO_PERCENTAGE: f64 = 100.0 / 1_000_000_000.0;

/// Meters for every quota a client has met.
#[derive(Debug, Default)]
pub struct ClientQuotaManager {
    window: QuotaWindow,
    /// A std mutex: each use is a few arithmetic operations, never an await.
    rates: Mutex<HashMap<(String, QuotaEntity), Rate>>,
}

impl ClientQuotaManager {
    pub fn new(window: QuotaWindow) -> Self {
        ClientQuotaManager { window, rates: Mutex::default() }
    }

    // ANCHOR: record
    /// Records `amount` (bytes, or handler time as a percentage) against the
    /// quota `key` governing (`user`, `client_id`), and answers the throttle
    /// time in ms: 0 when the client is within its quota or has none.
    pub fn record(
        &self,
        quotas: &ClientQuotas,
        key: &str,
        user: &str,
        client_id: &str,
        amount: f64,
        now_ms: i64,
    ) -> i64 {
        let Some((entity, bound)) = resolve(quotas, key, user, client_id) else {
            return 0;
        };
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        let rate = rates.entry((key.to_string(), entity)).or_default();
        rate.record_and_throttle_ms(&self.window, amount, bound, now_ms)
    }
    // ANCHOR_END: record
}
