//! One real-client scenario at a time on this machine: every test that runs
//! real clients or a cluster of processes takes the same lock (`flock` on
//! `$TMPDIR/spool-clients.lock`, as `tests/clients/run.sh` does) and holds it
//! until the returned file is dropped — so the tests take turns with
//! `tests/it/wire_clients.rs`' matrix and with each other, whether cargo runs
//! them as threads of one process or nextest as processes. Two cores cannot
//! run two such scenarios side by side without their timeouts turning into
//! flakes.
//!
//! The tests use it as `crate::common::turn`.

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a test waits for its turn (run.sh's `LOCK_WAIT_S`).
const TURN_WAIT: Duration = Duration::from_secs(1_200);

/// How often a waiting test tries the lock again.
const RETRY: Duration = Duration::from_millis(100);

/// Takes the turn, blocking the thread while another test holds it.
pub fn take_turn() -> File {
    let (path, file) = open();
    let waiting_since = Instant::now();
    while !try_lock(&file) {
        assert!(waiting_since.elapsed() < TURN_WAIT, "{} held for {TURN_WAIT:?}", path.display());
        std::thread::sleep(RETRY);
    }
    file
}

/// Takes the turn from a tokio test, without blocking its runtime.
pub async fn take_turn_async() -> File {
    let (path, file) = open();
    let waiting_since = Instant::now();
    while !try_lock(&file) {
        assert!(waiting_since.elapsed() < TURN_WAIT, "{} held for {TURN_WAIT:?}", path.display());
        tokio::time::sleep(RETRY).await;
    }
    file
}

fn open() -> (PathBuf, File) {
    let path = std::env::temp_dir().join("spool-clients.lock");
    let file =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).expect("lock file");
    (path, file)
}

fn try_lock(file: &File) -> bool {
    // SAFETY: flock on a descriptor the caller owns; LOCK_NB never blocks.
    unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(file), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}
