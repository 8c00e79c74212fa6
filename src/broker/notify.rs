//! Waking long-polling fetches when data arrives.
//!
//! A consumer's fetch says "wait up to `max_wait_ms` for `min_bytes`". The fetch
//! checks the logs, finds too little, and must sleep until an append adds more —
//! without missing an append that lands between its check and its sleep. The
//! notifier's *generation* closes that gap: the fetch reads the generation
//! *before* it checks the logs, then waits for a generation past it. An append
//! that lands anywhere after the read bumps the generation, so the wait returns
//! at once instead of sleeping through the data.
//!
//! ```text
//!  fetch:  g = generation() ── check logs: too little ── wait_past(g) ─▶ woken
//!  append:                 append ── notify(): generation = g + 1, wake all
//! ```
//!
//! One notifier serves the whole broker: any append wakes every waiting fetch,
//! which re-checks its own partitions. Kafka keys its "delayed fetch purgatory"
//! by partition; with one broker and a handful of consumers, one list is simpler
//! and the extra wake-ups are cheap.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::sync::{lock, Mutex};

#[derive(Debug, Default)]
struct State {
    generation: u64,
    waiters: Vec<Waker>,
}

/// Appends call [`AppendNotifier::notify`]; fetches wait on it.
#[derive(Debug, Default)]
pub struct AppendNotifier {
    state: Mutex<State>,
}

impl AppendNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current generation: read it *before* checking for data.
    pub fn generation(&self) -> u64 {
        lock(&self.state).generation
    }

    // ANCHOR: notify
    /// Records that data arrived and wakes every waiter.
    pub fn notify(&self) {
        let waiters = {
            let mut state = lock(&self.state);
            state.generation += 1;
            std::mem::take(&mut state.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Resolves once the generation is past `seen`.
    pub fn wait_past(&self, seen: u64) -> WaitPast<'_> {
        WaitPast { notifier: self, seen }
    }
    // ANCHOR_END: notify
}

/// The future of [`AppendNotifier::wait_past`].
pub struct WaitPast<'a> {
    notifier: &'a AppendNotifier,
    seen: u64,
}

// ANCHOR: wait_past
impl Future for WaitPast<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = lock(&self.notifier.state);
        if state.generation > self.seen {
            return Poll::Ready(());
        }
        // Checked and registered under one lock: a notify cannot fall between.
        if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
// ANCHOR_END: wait_past
