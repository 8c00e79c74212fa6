//! Where the real Kafka clients live and how a test finds them: the
//! scripts in `tests/clients/`, the Python venv and kafkajs that
//! `tests/clients/setup.sh` installs. A missing one fails the test with the
//! command that installs it, never skips it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/clients/`: the client scripts, and kafkajs's node_modules.
pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// The clients' Python, which must have `module` installed.
pub fn python_with(module: &str) -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python");
    assert!(python.exists(), "{} is missing: run tests/clients/setup.sh first", python.display());
    let ok =
        Command::new(&python).args(["-c", &format!("import {module}")]).status().is_ok_and(|s| s.success());
    assert!(ok, "{module} is not installed in .venv-clients: run tests/clients/setup.sh first");
    python
}

/// `node`, with kafkajs installed in tests/clients/node_modules.
pub fn node_with_kafkajs() -> PathBuf {
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "node is not on PATH: run tests/clients/setup.sh first");
    let kafkajs = clients_dir().join("node_modules/kafkajs/package.json");
    assert!(kafkajs.exists(), "{} is missing: run tests/clients/setup.sh first", kafkajs.display());
    PathBuf::from("node")
}
