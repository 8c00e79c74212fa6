//! `spool serve` as a child process for tests that judge the real binary:
//! started with `--override`s, waited for until each listener logs
//! "listening on", and stopped by its own pid by the caller.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub use super::cluster::free_port;

/// Starts `spool serve --override o …` and returns once `listeners`
/// listeners said "listening on" (at most 60 s each: a loaded machine is
/// slow), or kills it and panics.
pub fn spawn_serve(overrides: &[String], listeners: usize) -> Child {
    spawn_serve_logged(overrides, listeners).0
}

/// [`spawn_serve`], keeping every line the broker logs (its stderr) for a
/// test that judges the log.
pub fn spawn_serve_logged(overrides: &[String], listeners: usize) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spool"));
    command.arg("serve");
    for o in overrides {
        command.args(["--override", o]);
    }
    let mut child =
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let (tx, rx) = mpsc::channel();
    let log = Arc::new(Mutex::new(Vec::new()));
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = tx.send(());
            }
            lines.lock().expect("the log").push(line);
        }
    });
    for _ in 0..listeners {
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("spool serve did not print `listening on` within 60 s");
        }
    }
    (child, log)
}
