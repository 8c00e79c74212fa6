//! Ports for child processes, reserved across every test process on the
//! machine.
//!
//! The obvious way to find a free port — bind port 0, read the port, close
//! the socket, hand the number to a child — picks from the kernel's
//! ephemeral range, the same range every outgoing connection and every other
//! `bind(0)` draws from. Between the close and the child's bind, another
//! test's client connection or another test's "free" port can take it, and
//! the child dies with "Address already in use" (CI saw exactly that for a
//! cluster whose voters already named the port).
//!
//! So the ports come from the band just below the ephemeral range (read
//! from `/proc/sys/net/ipv4/ip_local_port_range`), where the kernel never
//! allocates on its own, and each is claimed by `flock` on
//! `$TMPDIR/spool-test-ports/<port>.lock`, held until the test process ends:
//! tests running as threads of one process or as nextest's processes never
//! share one, and a port stays theirs across restarts of their nodes. A port
//! something else already listens on is skipped.

use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

/// How many ports the band holds.
const BAND: u16 = 10_000;

/// The claims this process holds (their locks last as long as the files).
static HELD: Mutex<Vec<File>> = Mutex::new(Vec::new());

/// A port on 127.0.0.1 that no other test on this machine will be given and
/// nothing listens on now.
pub fn free_port() -> u16 {
    free_ports_at(&[0])
}

/// A base port such that `base + o` is free and claimed for each offset `o`
/// (for commands such as `spool cluster --port` that take ports at fixed
/// distances from one base).
pub fn free_ports_at(offsets: &[u16]) -> u16 {
    let span = offsets.iter().copied().max().unwrap_or(0);
    let (low, high) = band(span);
    let width = u32::from(high - low) + 1;
    let start = (RandomState::new().hash_one(std::process::id()) % u64::from(width)) as u32;
    for step in 0..width {
        let base = low + ((start + step) % width) as u16;
        let mut claims = Vec::new();
        for &offset in offsets {
            match claim(base + offset) {
                Some(file) => claims.push(file),
                None => break,
            }
        }
        if claims.len() == offsets.len() {
            HELD.lock().unwrap_or_else(|e| e.into_inner()).extend(claims);
            return base;
        }
    }
    panic!("no free ports between {low} and {high} (+{span})");
}

/// The band's first and last base port: below the ephemeral range when
/// there is room, else above it.
fn band(span: u16) -> (u16, u16) {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut bounds = range.split_whitespace().filter_map(|n| n.parse::<u32>().ok());
    let (first, last) = (bounds.next().unwrap_or(32_768), bounds.next().unwrap_or(60_999));
    let room = u32::from(BAND) + u32::from(span);
    if first >= 1_024 + room {
        ((first - room) as u16, (first - 1 - u32::from(span)) as u16)
    } else if last + room <= 65_535 {
        ((last + 1) as u16, (last + u32::from(BAND)) as u16)
    } else {
        panic!("the ephemeral range {first}-{last} leaves no band of {BAND} ports for the tests");
    }
}

/// Claims `port` if no other test holds it and nothing listens on it.
fn claim(port: u16) -> Option<File> {
    let dir = std::env::temp_dir().join("spool-test-ports");
    std::fs::create_dir_all(&dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{port}.lock")))
        .ok()?;
    // SAFETY: flock on a descriptor this function owns; LOCK_NB never blocks.
    let locked =
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX | libc::LOCK_NB) == 0 };
    (locked && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two claims in one process never get the same port, and a claimed
    /// port's lock is held.
    #[test]
    fn claims_are_exclusive() {
        let ports: Vec<u16> = (0..20).map(|_| free_port()).collect();
        let distinct: std::collections::BTreeSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        for &port in &ports {
            assert!(claim(port).is_none(), "port {port} claimed twice");
        }
        let (low, high) = band(0);
        assert!(ports.iter().all(|p| (low..=high).contains(p)), "{ports:?} outside {low}-{high}");
    }

    /// A base for offsets has every offset claimed.
    #[test]
    fn a_base_claims_every_offset() {
        let base = free_ports_at(&[0, 1, 2, 100, 101, 102]);
        for offset in [0, 1, 2, 100, 101, 102] {
            assert!(claim(base + offset).is_none(), "base {base} + {offset} not claimed");
        }
    }
}
