//! A [`Storage`] whose writes pass a gate first: the cleaner's way to stop
//! between two writes, and its tests' way to cut the power after the n-th.
//!
//! - [`StopWhen`]: a cleaning that can be stopped. The `.cleaned` segments
//!   are written through it, and it asks before every change to the
//!   directory whether the cleaning must stop (a deletion's abort, or the
//!   cleaner shutting down) and, if so, fails it (`Interrupted`). Kafka's
//!   cleaner checks the same way between batches (`checkDone`, which throws
//!   `LogCleaningAbortedException`). Building the offset map writes nothing,
//!   so a stop is noticed once writing starts.
//! - [`WriteBudget`]: the crash tests' power cut, after a given number of
//!   writes (every change counts, removals too).

use std::io;

use crate::log::Storage;

/// Which change a write makes: the gate may treat them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Create,
    Append,
    Truncate,
    Sync,
    Remove,
    Rename,
    WriteAtomic,
}

/// Decides, before each write, whether it happens.
pub trait Gate {
    fn admit(&mut self, write: Write) -> io::Result<()>;
}

/// `inner`, with every write passed through `gate` first; reads pass freely.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Gated<S, G> {
    pub inner: S,
    pub gate: G,
}

impl<S, G> Gated<S, G> {
    pub fn new(inner: S, gate: G) -> Self {
        Gated { inner, gate }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The error a stopped cleaning fails with.
pub fn aborted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "log cleaning aborted")
}

/// Fails every write once `must_stop` says so — except removals: removing
/// is how an abandoned cleaning cleans up.
#[derive(Debug)]
pub struct StopWhen<F>(pub F);

impl<F: Fn() -> bool> Gate for StopWhen<F> {
    fn admit(&mut self, write: Write) -> io::Result<()> {
        if write != Write::Remove && (self.0)() {
            return Err(aborted());
        }
        Ok(())
    }
}

/// A cleaning's output storage that a deletion or a shutdown can stop.
pub type Abortable<S, F> = Gated<S, StopWhen<F>>;

/// Counts writes and, once `budget` is spent, fails every further one: a
/// power cut after the n-th write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct WriteBudget {
    pub budget: Option<usize>,
    pub writes: usize,
}

impl Gate for WriteBudget {
    fn admit(&mut self, _: Write) -> io::Result<()> {
        self.writes += 1;
        match &mut self.budget {
            Some(0) => Err(io::Error::other("power cut")),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl<S: Storage, G: Gate> Storage for Gated<S, G> {
    type Handle = S::Handle;

    fn list(&self) -> io::Result<Vec<String>> {
        self.inner.list()
    }
    fn create(&mut self, name: &str) -> io::Result<()> {
        self.gate.admit(Write::Create)?;
        self.inner.create(name)
    }
    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }
    fn len(&self, name: &str) -> io::Result<u64> {
        self.inner.len(name)
    }
    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.gate.admit(Write::Append)?;
        self.inner.append(name, data)
    }
    fn read_at(&self, name: &str, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(name, pos, buf)
    }
    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()> {
        self.gate.admit(Write::Truncate)?;
        self.inner.truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> io::Result<()> {
        self.gate.admit(Write::Sync)?;
        self.inner.sync(name)
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.gate.admit(Write::Remove)?;
        self.inner.remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        self.gate.admit(Write::Rename)?;
        self.inner.rename(from, to)
    }
    fn write_atomic(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.gate.admit(Write::WriteAtomic)?;
        self.inner.write_atomic(name, data)
    }
    fn handle(&self, name: &str) -> io::Result<Self::Handle> {
        self.inner.handle(name)
    }
}
