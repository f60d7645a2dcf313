//! Helpers shared by the integration tests: the Python interpreter for the oracle and the real
//! clients, and (`env`) a temporary store with the real binary run in it.

#![allow(dead_code)]

pub mod browser;
pub mod env;
pub mod postgres;
pub mod server;

use std::path::PathBuf;
use std::process::Command;

/// The test Python interpreter: `$CAIRN_PYTHON`, else what scripts/python-env prints (it creates target/py when missing).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CAIRN_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/python-env");
    let out = Command::new(script)
        .output()
        .unwrap_or_else(|e| panic!("CAIRN_PYTHON is not set and {script} could not be run: {e}"));
    assert!(
        out.status.success(),
        "CAIRN_PYTHON is not set and {script} failed with {:?}:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!path.is_empty(), "{script} printed no interpreter path");
    PathBuf::from(path)
}
