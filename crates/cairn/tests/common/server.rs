//! A running `cairn serve` on a free loopback port, and a plain HTTP/1.1 client for it: the one
//! server fixture of the CLI's integration tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The real binary on store `db`, with the test environment.
pub fn cairn(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.env_remove("CAIRN_DB")
        .env_remove("CAIRN_CATALOGUE")
        .env("CAIRN_AUTHOR", "test author")
        .env("CAIRN_LOG", "warn")
        .arg("--db")
        .arg(db);
    c
}

/// Runs `cairn --db DB ARGS`, asserts success, and gives its standard output.
pub fn cairn_ok(db: &Path, args: &[&str]) -> String {
    let out = cairn(db).args(args).output().expect("run cairn");
    assert!(
        out.status.success(),
        "cairn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running `cairn serve` on a free loopback port.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(db: &Path, config: Option<&Path>) -> Server {
        Server::start_with(db, config, &[])
    }

    /// `cairn serve` with `extra` flags (such as `--idle-timeout 1`).
    pub fn start_with(db: &Path, config: Option<&Path>, extra: &[&str]) -> Server {
        Server::spawn(cairn(db), config, extra)
    }

    /// `cairn serve` under `prlimit --nofile=N:N`: a process that may open only `nofile` files,
    /// as a small or misconfigured machine would allow.
    pub fn start_with_nofile(db: &Path, nofile: u32, extra: &[&str]) -> Server {
        let mut c = Command::new("prlimit");
        c.arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_cairn"))
            .env_remove("CAIRN_DB")
            .env_remove("CAIRN_CATALOGUE")
            .env("CAIRN_AUTHOR", "test author")
            .env("CAIRN_LOG", "warn")
            .arg("--db")
            .arg(db);
        Server::spawn(c, None, extra)
    }

    fn spawn(mut c: Command, config: Option<&Path>, extra: &[&str]) -> Server {
        c.args(["serve", "--addr", "127.0.0.1:0"]);
        if let Some(p) = config {
            c.arg("--config").arg(p);
        }
        c.args(extra);
        let mut child = c
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cairn serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("Cairn is serving on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("cairn serve says where it serves");
        Server { child, addr }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM (with `kill`, the real signal a service manager sends) and returns at once.
    pub fn signal_term(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait(mut self) -> Option<i32> {
        self.child.wait().expect("reap the server").code()
    }

    /// SIGTERM, then waits for the exit; its exit code.
    pub fn terminate(self) -> Option<i32> {
        self.signal_term();
        self.wait()
    }

    /// SIGKILL: no shutdown, no flush, nothing the process could still do.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection with extra `headers`; returns the status, the
/// response's head and its body. Status 0 when the server could not be reached or reset.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new(), String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let ctype = if headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}{ctype}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut raw = Vec::new();
    // A killed server resets the connection: whatever arrived is what the client has.
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return (0, String::new(), text);
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked =
        header(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}

/// A chunked HTTP body's content.
pub fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A GET asking for JSON; returns the status and the body.
pub fn get(addr: &str, path: &str) -> (u16, String) {
    let (status, _, body) = request(addr, "GET", path, &[("Accept", "application/json")], "");
    (status, body)
}

/// A GET that must answer 200 with JSON.
pub fn get_json(addr: &str, path: &str) -> serde_json::Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "GET {path} answered {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// One request with an optional bearer token; returns the status and body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    let (status, _, body) = request(addr, method, path, &headers, body);
    (status, body)
}

/// The value of header `name` in a response head.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// One HTTP/1.1 request with a body of any bytes; returns the status, the response's head and
/// its body as sent (for pictures and other binary answers).
pub fn request_bytes(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect to cairn serve");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("send");
    s.write_all(body).expect("send the body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..at]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    assert!(
        header(&head, "transfer-encoding").is_none(),
        "a chunked answer: {head}"
    );
    (status, head, raw[at + 4..].to_vec())
}
