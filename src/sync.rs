//! The synchronisation primitives spool shares between threads, swapped for
//! loom's under `--cfg spool_loom` so loom can explore every interleaving.
//!
//! loom's own `cfg(loom)` would also switch tokio's internals and break its build,
//! hence a project cfg:
//!
//! ```text
//! RUSTFLAGS="--cfg spool_loom" cargo test --release --test loom
//! ```

#[cfg(spool_loom)]
pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(spool_loom)]
pub use loom::thread;

#[cfg(not(spool_loom))]
pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(spool_loom))]
pub use std::thread;

/// Locks a mutex, treating poisoning as the bug it is: a thread panicked while
/// holding the lock, and the state it guarded may be half-updated.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().expect("a thread panicked while holding this lock")
}
