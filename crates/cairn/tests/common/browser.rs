//! What the browser tests share: Debian's Chromium, the workspace's target directory (for
//! screenshots), playwright-core installed once from tests/browser's lock file, and a Node
//! script run with a deadline.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser the tests drive.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Fails the test, saying how to install it, when Chromium is missing.
pub fn require_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: this test drives Debian's Chromium; install it with `apt-get install -y chromium` (scripts/test does)"
    );
}

/// tests/browser: the Node scripts and their package lock.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The workspace's target directory, found from the path of the cairn binary under test.
pub fn target_dir() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_cairn"));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the cairn binary lies in <target>/<profile>/")
}

/// Runs `npm ci` in `dir` unless every package its package.json names is installed there; several test processes
/// take turns through a lock on the lock file.
pub fn ensure_playwright(dir: &Path) {
    // Every package the lock file's package.json names must be there (playwright-core, axe-core…).
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("package.json")).expect("tests/browser/package.json"),
    )
    .expect("tests/browser/package.json is JSON");
    let names: Vec<String> = manifest["dependencies"]
        .as_object()
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    let installed = || {
        names.iter().all(|n| {
            dir.join("node_modules")
                .join(n)
                .join("package.json")
                .is_file()
        })
    };
    if installed() {
        return;
    }
    let lock = File::open(dir.join("package-lock.json")).expect("tests/browser/package-lock.json");
    lock.lock().expect("lock tests/browser/package-lock.json");
    if !installed() {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run npm ({e}); this test needs node and npm on the PATH")
            });
        assert!(
            out.status.success(),
            "`npm ci` in {} failed ({}):\n{}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs `node ARGS…` in `dir`, stopped after `timeout`; returns whether it passed and
/// everything it printed.
pub fn run_node(dir: &Path, args: &[&str], timeout: Duration) -> (bool, String) {
    let mut child = Command::new("node")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); this test needs node on the PATH"));
    let mut stdout = child.stdout.take().expect("node's stdout");
    let mut stderr = child.stderr.take().expect("node's stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for node") {
            break Some(s);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = format!(
        "{}{}",
        out_reader.join().unwrap_or_default(),
        err_reader.join().unwrap_or_default()
    );
    match status {
        Some(s) => (s.success(), text),
        None => (
            false,
            format!("{text}\nthe browser run took longer than {timeout:?} and was stopped"),
        ),
    }
}

/// A running `cairn serve` or `cairn demo`, stopped when dropped.
pub struct Server {
    child: std::process::Child,
    pub addr: String,
}

impl Server {
    /// The server's process id (a test may stop it to cut the connection for real).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cairn --db DB ARGS…` (a command that serves, on `--addr 127.0.0.1:0`) with its log in
/// `dir/cairn.log`, and waits up to `timeout` for its "Cairn is serving on http://ADDR/" line.
pub fn start_cairn(
    dir: &Path,
    db: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    timeout: Duration,
) -> Server {
    use std::io::{BufRead, BufReader};
    let log = File::create(dir.join("cairn.log")).expect("create the server log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .env_remove("CAIRN_DB")
        .env_remove("CAIRN_CATALOGUE")
        .env_remove("CAIRN_POLICY")
        .env("CAIRN_LOG", "warn")
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap_or_else(|e| panic!("start cairn {args:?}: {e}"));
    let stdout = child.stdout.take().expect("the server's stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads every line, so the server never blocks on a full pipe, and hands over the address.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Cairn is serving on http://").nth(1) {
                let addr = rest.split('/').next().unwrap_or_default().to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let mut server = Server {
        child,
        addr: String::new(),
    };
    match rx.recv_timeout(timeout) {
        Ok(addr) => server.addr = addr,
        Err(_) => {
            let status = server.child.try_wait().ok().flatten();
            let log = std::fs::read_to_string(dir.join("cairn.log")).unwrap_or_default();
            panic!(
                "cairn {args:?} did not print \"Cairn is serving on http://ADDR/\" within {timeout:?} (exit: {status:?}); its log:\n{log}"
            );
        }
    }
    server
}
