//! Muting a connection (KIP-219): the seam through which a handler tells the
//! server "read nothing more from this client until then".
//!
//! Kafka's network layer mutes a throttled channel once its response is
//! sent, and unmutes it when the throttle time is over; the client sees the
//! same time in the response's `throttle_time_ms` and waits too, so a client
//! that ignores the field gains nothing. Here each connection task runs in a
//! [`scope`] holding the instant until which it is muted; a handler running
//! on that task calls [`mute_for`], and the server's read of the next frame
//! waits ([`until_unmuted`]). The response itself is never held back.
//!
//! A task-local rather than a field on every request: the handler decides
//! the throttle after the request is consumed, and the connection loop,
//! which the **tls** and **sasl** work edit too, changes by one line.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static MUTED_UNTIL: Cell<Option<Instant>>;
}

/// Runs one connection with its mute.
pub fn scope<F: Future>(connection: F) -> impl Future<Output = F::Output> {
    MUTED_UNTIL.scope(Cell::new(None), connection)
}

// ANCHOR: mute
/// Mutes the current connection for `throttle` from now (the later of two
/// mutes wins). Outside a connection (a test calling the broker directly)
/// it does nothing.
pub fn mute_for(throttle: Duration) {
    let until = Instant::now() + throttle;
    let _ = MUTED_UNTIL.try_with(|muted| muted.set(Some(muted.get().map_or(until, |u| u.max(until)))));
}

/// Waits until the current connection is unmuted.
pub async fn until_unmuted() {
    if let Ok(Some(until)) = MUTED_UNTIL.try_with(Cell::get) {
        tokio::time::sleep_until(until).await;
    }
}
// ANCHOR_END: mute
