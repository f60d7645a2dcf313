//! Real clients against a running `cairn serve` on loopback: GDAL's OAPIF driver (`ogrinfo`,
//! `ogr2ogr`), OWSLib, schemathesis over the OpenAPI document, a raw socket for the body
//! limit and refused methods, and a plain Python HTTP client editing through OGC API – Features
//! Part 4 (with GDAL reading the result back).
//!
//! Each test builds its own demo store in a temp dir, starts the real binary on port 0, waits
//! for its "serving on" line and kills it when done (the `Server` guard). The counts the clients
//! see are compared with what `cairn export` writes from the same store, which reads the store
//! without the service. Python helpers live in tests/clients/; the interpreter is
//! `$CAIRN_PYTHON` (set by scripts/test), else the one scripts/python-env prepares, and the
//! tests fail, never skip, when it lacks owslib, schemathesis, shapely or pyproj.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::postgres::Database;
use serde_json::Value;

/// Areas in the demo store of the GDAL and OWSLib tests: about 2,400 public features, many
/// times the service's default page of 100 and GDAL's own page of 10, so every client pages.
const AREAS: &str = "3000";
/// The collection every test reads.
const COLLECTION: &str = "hazardous-areas";

/// The folder of the cairn crate.
fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cairn ARGS` in `dir` and returns its output, whatever the exit code.
fn cairn_output(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(dir)
        .env_remove("CAIRN_DB")
        .env_remove("CAIRN_ADDR")
        .env("CAIRN_AUTHOR", "clients test")
        .args(args)
        .output()
        .expect("run cairn")
}

/// Runs `cairn ARGS` in `dir`, asserts success and returns stdout.
fn cairn(dir: &Path, args: &[&str]) -> String {
    let out = cairn_output(dir, args);
    assert!(
        out.status.success(),
        "cairn {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A store with the demo data set, its public and full GeoJSON exports, and an officer's token.
struct Store {
    /// The store's file path or database URL, for `--db`.
    db: String,
    public: Vec<Value>,
    full: Vec<Value>,
    token: String,
    _pg: Option<Database>,
}

/// Which backend a test's store is on: the GDAL, OWSLib and editing tests run on each.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// A new store's `--db` in `dir` (a file named `name`, or a fresh PostgreSQL database), and
    /// the database's guard.
    fn new_store(self, dir: &Path, name: &str) -> (String, Option<Database>) {
        match self {
            Backend::Sqlite => (dir.join(name).to_string_lossy().into_owned(), None),
            Backend::Postgres => {
                let d = Database::fresh();
                (d.url.clone(), Some(d))
            }
        }
    }
}

impl Store {
    fn demo(dir: &Path, areas: &str, on: Backend) -> Store {
        let (d, pg) = on.new_store(dir, "demo.db");
        cairn(dir, &["--db", &d, "demo", "--areas", areas, "--no-serve"]);
        cairn(
            dir,
            &["--db", &d, "export", "--public", "-o", "public.geojson"],
        );
        cairn(dir, &["--db", &d, "export", "-o", "full.geojson"]);
        let token = cairn(
            dir,
            &[
                "--db", &d, "token", "create", "--name", "clients", "--role", "officer",
            ],
        )
        .trim()
        .to_string();
        assert!(!token.is_empty(), "token create printed no secret");
        Store {
            public: features_of(&dir.join("public.geojson")),
            full: features_of(&dir.join("full.geojson")),
            db: d,
            token,
            _pg: pg,
        }
    }
}

/// The features of a GeoJSON FeatureCollection file.
fn features_of(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    v["features"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no features array", path.display()))
        .clone()
}

/// The running service; dropping it kills the process.
struct Server {
    child: Child,
    /// Kept open so that the service never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    addr: String,
    log: PathBuf,
}

impl Server {
    /// Starts `cairn ARGS` (a `serve` or `demo` command on 127.0.0.1:0) and waits for the line
    /// that says where it serves.
    fn start(dir: &Path, args: &[&str]) -> Server {
        let log = dir.join("server.log");
        let err = std::fs::File::create(&log).expect("server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(dir)
            .env_remove("CAIRN_DB")
            .env_remove("CAIRN_ADDR")
            .env("CAIRN_AUTHOR", "clients test")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("start cairn");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut seen = String::new();
        let addr = loop {
            let mut line = String::new();
            let n = stdout
                .read_line(&mut line)
                .expect("read the server's stdout");
            if n == 0 {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "cairn {args:?} ended ({status:?}) before saying where it serves\nstdout: {seen}\nstderr: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("serving on http://").nth(1) {
                break rest.split('/').next().unwrap_or_default().to_string();
            }
        };
        println!("cairn {} is serving on {addr}", args.join(" "));
        Server {
            child,
            _stdout: stdout,
            addr,
            log,
        }
    }

    /// The landing page of the OGC API.
    fn ogc(&self) -> String {
        format!("http://{}/ogc", self.addr)
    }

    /// The last lines of the service's log, for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How a request body is framed.
enum Body<'a> {
    None,
    /// With a Content-Length.
    Sized(&'a [u8]),
    /// With Transfer-Encoding: chunked, in pieces of 64 KiB.
    Chunked(&'a [u8]),
}

/// One HTTP/1.1 request on a fresh connection, by hand, so that nothing between the test and the
/// service changes the bytes. The body is written on its own thread, so the service may answer
/// (and close) before reading it all, as it should for an oversized body.
fn http(addr: &str, method: &str, target: &str, headers: &[(&str, &str)], body: Body) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match body {
        Body::None => {}
        Body::Sized(b) => head.push_str(&format!("Content-Length: {}\r\n", b.len())),
        Body::Chunked(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("send the request head");
    let mut w = s.try_clone().expect("clone the socket");
    let payload: Vec<u8> = match body {
        Body::None => Vec::new(),
        Body::Sized(b) => b.to_vec(),
        Body::Chunked(b) => {
            let mut out = Vec::new();
            for c in b.chunks(64 * 1024) {
                out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                out.extend_from_slice(c);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
            out
        }
    };
    // The service may stop reading and close early: a failed write is expected then.
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&payload);
        let _ = w.flush();
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after the answer arrived (the service closed with body bytes unread).
            Err(_) if !raw.is_empty() => break,
            Err(e) => panic!("{method} {target}: no answer: {e}"),
        }
    }
    let _ = s.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    parse_reply(&raw).unwrap_or_else(|| {
        panic!(
            "{method} {target}: not an HTTP answer: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(500)])
        )
    })
}

/// Parses a raw HTTP/1.1 answer, skipping interim 1xx answers and undoing chunked framing.
fn parse_reply(mut raw: &[u8]) -> Option<Reply> {
    loop {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let rest = &raw[end + 4..];
        if (100..200).contains(&status) {
            raw = rest;
            continue;
        }
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        let body = if chunked {
            let mut out = Vec::new();
            let mut r = rest;
            loop {
                let line_end = r.windows(2).position(|w| w == b"\r\n")?;
                let size = usize::from_str_radix(
                    std::str::from_utf8(&r[..line_end])
                        .ok()?
                        .split(';')
                        .next()?,
                    16,
                )
                .ok()?;
                r = &r[line_end + 2..];
                if size == 0 {
                    break;
                }
                out.extend_from_slice(r.get(..size)?);
                r = r.get(size + 2..)?;
            }
            out
        } else {
            rest.to_vec()
        };
        return Some(Reply {
            status,
            headers,
            body,
        });
    }
}

/// `GET` with an optional bearer token.
fn get(addr: &str, target: &str, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    http(addr, "GET", target, &headers, Body::None)
}

/// numberMatched of the collection for the public or a token holder.
fn number_matched(addr: &str, token: Option<&str>) -> u64 {
    let r = get(
        addr,
        &format!("/ogc/collections/{COLLECTION}/items?limit=1"),
        token,
    );
    assert_eq!(r.status, 200, "items?limit=1: {}", r.text());
    r.json()["numberMatched"]
        .as_u64()
        .unwrap_or_else(|| panic!("items?limit=1 has no numberMatched: {}", r.text()))
}

/// Identifies a feature across the service and the exports: its id for a record; for a
/// generalised danger zone (which carries no record id, and none in the export) its grid cell
/// corners, read from the geometry.
fn feature_key(f: &Value) -> String {
    let kind = f["properties"]["kind"].as_str();
    if kind == Some("danger-zone") {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        fn walk(v: &Value, f: &mut dyn FnMut(f64, f64)) {
            match v.as_array() {
                Some(a) if a.len() >= 2 && a[0].is_number() => {
                    f(a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0))
                }
                Some(a) => a.iter().for_each(|x| walk(x, f)),
                None => {}
            }
        }
        walk(&f["geometry"]["coordinates"], &mut |x, y| {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        });
        let c = |v: f64| (v * 100.0).round() as i64;
        return format!("zone {} {} {} {}", c(x0), c(y0), c(x1), c(y1));
    }
    // ogr2ogr writes the feature id as a property; the exports keep it as the GeoJSON id.
    f["id"]
        .as_str()
        .or_else(|| f["properties"]["id"].as_str())
        .unwrap_or("(no id)")
        .to_string()
}

/// The features as a multiset of keys.
fn keys(features: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in features {
        *m.entry(feature_key(f)).or_insert(0) += 1;
    }
    m
}

/// The keys on which two multisets differ, with both counts; at most ten.
fn key_diff(a: &BTreeMap<String, usize>, b: &BTreeMap<String, usize>) -> Vec<String> {
    let all: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    all.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).unwrap_or(&0), b.get(k).unwrap_or(&0));
            (x != y).then(|| format!("{k}: {x} vs {y}"))
        })
        .take(10)
        .collect()
}

/// Collects failed expectations so that one run reports all of them.
#[derive(Default)]
struct Checks {
    failed: Vec<String>,
}

impl Checks {
    fn expect(&mut self, ok: bool, what: String) {
        println!("{} {what}", if ok { "ok:  " } else { "FAIL:" });
        if !ok {
            self.failed.push(what);
        }
    }

    fn finish(self, context: &str) {
        assert!(
            self.failed.is_empty(),
            "{} failed checks:\n  {}\n{context}",
            self.failed.len(),
            self.failed.join("\n  ")
        );
    }
}

/// Runs a GDAL command line; GDAL must be installed (scripts/test installs gdal-bin).
fn gdal(dir: &Path, tool: &str, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = Command::new(tool)
        .current_dir(dir)
        .env("GDAL_HTTP_TIMEOUT", "60")
        // As README advises GIS users: a client paging through every feature may meet the
        // public's item rate limit (429 with Retry-After); GDAL then waits and asks again.
        .env("GDAL_HTTP_MAX_RETRY", "5")
        .env("GDAL_HTTP_RETRY_DELAY", "2")
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {tool} ({e}); GDAL's command line tools (Debian: gdal-bin) are needed"
            )
        });
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.starts_with("Authorization") {
                "Authorization: Bearer ***".to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    println!(
        "{tool} {} ({:.1} s, exit {:?})",
        shown.join(" "),
        started.elapsed().as_secs_f64(),
        out.status.code()
    );
    out
}

/// Runs a GDAL tool, asserts that it succeeded and returns its stdout.
fn gdal_ok(dir: &Path, tool: &str, args: &[&str], server: &Server) -> String {
    let out = gdal(dir, tool, args);
    assert!(
        out.status.success(),
        "{tool} failed with {:?}\nstdout: {}\nstderr: {}\nservice log:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log_tail()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The "Feature Count: N" that `ogrinfo -so` prints.
fn ogr_feature_count(info: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix("Feature Count:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The Python interpreter: `$CAIRN_PYTHON`, else what scripts/python-env prints. It must have
/// every module the helpers import; a missing one fails the test with the packages to install.
fn python() -> PathBuf {
    let py = common::python();
    let out = Command::new(&py)
        .args([
            "-c",
            "import owslib, schemathesis, shapely, pyproj; print(owslib.__version__, schemathesis.__version__)",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run the Python interpreter {}: {e}", py.display()));
    assert!(
        out.status.success(),
        "{} lacks a module the client tests need (owslib, schemathesis, shapely, pyproj); \
         scripts/python-env installs them into target/py:\n{}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    py
}

/// Runs a helper script from tests/clients/ and returns its output.
fn helper(py: &Path, dir: &Path, script: &str, args: &[&str]) -> Output {
    let path = manifest_dir().join("tests/clients").join(script);
    Command::new(py)
        .current_dir(dir)
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .env("PYTHONUNBUFFERED", "1")
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", py.display(), path.display()))
}

/// Prints a helper's output; returns its failed lines (and the end of its stderr) if it failed.
fn helper_outcome(name: &str, out: &Output) -> Result<(), String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("== {name} (exit {:?})\n{stdout}", out.status.code());
    if !stderr.trim().is_empty() {
        println!("stderr:\n{stderr}");
    }
    if out.status.success() {
        return Ok(());
    }
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL") || l.starts_with("      "))
        .collect();
    let err: Vec<&str> = stderr.lines().collect();
    Err(format!(
        "{name} failed (exit {:?}):\n{}\n{}",
        out.status.code(),
        failed.join("\n"),
        err[err.len().saturating_sub(15)..].join("\n")
    ))
}

/// Asserts that every helper passed, with their failures and the service's log if not.
fn helpers_passed(outcomes: &[Result<(), String>], server: &Server) {
    let failed: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{}\nservice log:\n{}",
        failed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n\n"),
        server.log_tail()
    );
}

/// GDAL lists and summarises the layer with the right count and copies every feature, paging
/// with `next` links; with a token it copies every record; an unknown token is refused.
fn gdal_reads_and_copies_every_feature(on: Backend) {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let store = Store::demo(dir, AREAS, on);
    let db = store.db.clone();
    let server = Server::start(dir, &["--db", &db, "serve", "--addr", "127.0.0.1:0"]);
    let ogc = format!("OAPIF:{}", server.ogc());
    let auth = format!("Authorization: Bearer {}", store.token);
    let mut c = Checks::default();

    let matched = number_matched(&server.addr, None);
    let matched_full = number_matched(&server.addr, Some(&store.token));
    let public = store.public.len() as u64;
    let full = store.full.len() as u64;
    println!(
        "numberMatched: {matched} public, {matched_full} with a token; exports: {public} public, {full} in full"
    );
    c.expect(
        matched > 100,
        format!("the public sees more than one default page of 100 features ({matched})"),
    );
    c.expect(
        matched == public,
        format!(
            "numberMatched ({matched}) equals the features of `cairn export --public` ({public})"
        ),
    );
    c.expect(
        matched_full == full,
        format!("numberMatched with a token ({matched_full}) equals the records of `cairn export` ({full})"),
    );

    // The collections, then the layer's summary.
    let list = gdal_ok(dir, "ogrinfo", &["-ro", &ogc], &server);
    c.expect(
        list.lines()
            .any(|l| l.trim_start().starts_with("1: hazardous-areas")),
        format!("`ogrinfo -ro OAPIF:…` lists the layer hazardous-areas:\n{list}"),
    );
    let info = gdal_ok(dir, "ogrinfo", &["-ro", "-so", &ogc, COLLECTION], &server);
    let count = ogr_feature_count(&info);
    c.expect(
        count == Some(matched),
        format!("ogrinfo's Feature Count ({count:?}) equals numberMatched ({matched})"),
    );
    c.expect(
        count == Some(public),
        format!("ogrinfo's Feature Count ({count:?}) equals the public export's {public}"),
    );
    let info_full = gdal_ok(
        dir,
        "ogrinfo",
        &[
            "--config",
            "GDAL_HTTP_HEADERS",
            &auth,
            "-ro",
            "-so",
            &ogc,
            COLLECTION,
        ],
        &server,
    );
    let count_full = ogr_feature_count(&info_full);
    c.expect(
        count_full == Some(full),
        format!(
            "ogrinfo's Feature Count with a token ({count_full:?}) equals the full export's {full}"
        ),
    );

    // One geometry type for the layer, and fields typed from the collection's schema (not guessed
    // from a first page that may lack them).
    for (what, summary) in [("public", &info), ("with a token", &info_full)] {
        c.expect(
            summary.contains("Geometry: Multi Polygon"),
            format!("ogrinfo types the layer ({what}) as Multi Polygon:\n{summary}"),
        );
        for field in [
            "radius_m: Real",
            "width_m: Real",
            "centre_wkt: String",
            "reported_at: DateTime",
        ] {
            c.expect(
                summary.contains(field),
                format!("ogrinfo's layer ({what}) has the field {field}:\n{summary}"),
            );
        }
    }

    // A box well inside a spot's radius but away from its centre: GDAL tests the box against the
    // geometry it got, so the spot must come as its outline to be kept.
    let spot = store
        .public
        .iter()
        .find(|f| {
            f["geometry"]["type"] == "Point" && f["properties"]["radius_m"].as_f64() > Some(30.0)
        })
        .expect("a public spot hazard in the demo");
    let (lon, lat, r) = (
        spot["geometry"]["coordinates"][0].as_f64().unwrap(),
        spot["geometry"]["coordinates"][1].as_f64().unwrap(),
        spot["properties"]["radius_m"].as_f64().unwrap(),
    );
    let m_lat = 1.0 / 111_320.0;
    let m_lon = m_lat / lat.to_radians().cos();
    let bbox = [
        lon + 0.6 * r * m_lon,
        lat - 0.1 * r * m_lat,
        lon + 0.7 * r * m_lon,
        lat + 0.1 * r * m_lat,
    ]
    .map(|x| format!("{x:.9}"));
    let near = gdal_ok(
        dir,
        "ogrinfo",
        &[
            "-ro", "-q", "-spat", &bbox[0], &bbox[1], &bbox[2], &bbox[3], &ogc, COLLECTION,
        ],
        &server,
    );
    let spot_id = spot["id"].as_str().unwrap_or_default();
    c.expect(
        near.contains(&format!("id (String) = {spot_id}")) && near.contains("MULTIPOLYGON"),
        format!(
            "`ogrinfo -spat` with a box {:.0}–{:.0} m east of spot {spot_id} (radius {r} m) keeps it:\n{near}",
            0.6 * r,
            0.7 * r
        ),
    );

    // A date filter in GDAL's SQL goes to the server as `datetime` (a date as `2025-06-01T`):
    // each record's reported_at, and no danger zone (which has no time of its own).
    let since = "2025-06-01";
    let expected = store
        .public
        .iter()
        .filter(|f| {
            f["properties"]["reported_at"]
                .as_str()
                .is_some_and(|t| t > "2025-06-01T00:00:00Z")
        })
        .count() as u64;
    let dated = gdal_ok(
        dir,
        "ogrinfo",
        &[
            "-ro",
            "-so",
            "-where",
            &format!("reported_at > '{since}'"),
            &ogc,
            COLLECTION,
        ],
        &server,
    );
    c.expect(
        expected > 0 && ogr_feature_count(&dated) == Some(expected),
        format!(
            "`ogrinfo -where \"reported_at > '{since}'\"` counts {:?}; the public export holds {expected} reported since",
            ogr_feature_count(&dated)
        ),
    );

    // A copy with GDAL's own page size (10): GDAL follows the next links to the end.
    gdal_ok(
        dir,
        "ogr2ogr",
        &["-f", "GeoJSON", "public-copy.geojson", &ogc, COLLECTION],
        &server,
    );
    let copy = features_of(&dir.join("public-copy.geojson"));
    c.expect(
        copy.len() as u64 == matched,
        format!(
            "ogr2ogr copied {} features; numberMatched is {matched}",
            copy.len()
        ),
    );
    let (got, want) = (keys(&copy), keys(&store.public));
    c.expect(
        got == want,
        format!(
            "ogr2ogr's copy holds the features of `cairn export --public` (ids; zones by grid cell): {} vs {} features, first differences (copy vs export): {:?}",
            copy.len(),
            store.public.len(),
            key_diff(&got, &want)
        ),
    );

    // With a token (GDAL 3.6 sends GDAL_HTTP_HEADERS; GDAL_HTTP_AUTH=BEARER came later) and
    // pages of 1,000: every current record, restricted ones included.
    gdal_ok(
        dir,
        "ogr2ogr",
        &[
            "--config",
            "GDAL_HTTP_HEADERS",
            &auth,
            "-oo",
            "PAGE_SIZE=1000",
            "-f",
            "GeoJSON",
            "full-copy.geojson",
            &ogc,
            COLLECTION,
        ],
        &server,
    );
    let copy_full = features_of(&dir.join("full-copy.geojson"));
    c.expect(
        copy_full.len() as u64 == full,
        format!(
            "ogr2ogr with a token copied {} records; `cairn export` wrote {full}",
            copy_full.len()
        ),
    );
    let (got, want) = (keys(&copy_full), keys(&store.full));
    c.expect(
        got == want,
        format!(
            "ogr2ogr's copy with a token holds the ids of `cairn export`: first differences {:?}",
            key_diff(&got, &want)
        ),
    );
    let restricted = copy_full
        .iter()
        .filter(|f| f["properties"]["classification"] == "restricted")
        .count();
    c.expect(
        restricted > 0,
        format!("the copy with a token includes restricted records ({restricted})"),
    );

    // A token the store does not know is refused, never downgraded to the public view.
    let bad = gdal(
        dir,
        "ogrinfo",
        &[
            "--config",
            "GDAL_HTTP_HEADERS",
            "Authorization: Bearer not-a-token",
            "-ro",
            "-so",
            &ogc,
            COLLECTION,
        ],
    );
    let err: String = String::from_utf8_lossy(&bad.stderr)
        .lines()
        .filter(|l| l.contains("ERROR"))
        .collect::<Vec<_>>()
        .join(" / ");
    c.expect(
        !bad.status.success() && err.contains("401"),
        format!("ogrinfo with an unknown token fails with HTTP 401: {err}"),
    );

    println!("gdal test: {:.1} s", started.elapsed().as_secs_f64());
    c.finish(&server.log_tail());
}

/// `GET /api/export`: the public gets the public GeoPackage (one MultiPolygon layer), an officer
/// (HTTP Basic, as QGIS sends it) a layer per kind of record; GDAL opens both, and a `-where` with
/// IN and a date comparison selects the same features from the API (through GDAL's OAPIF driver)
/// as from the downloaded GeoPackage.
fn exports_over_http_open_in_gdal_and_filter_as_the_api_does(on: Backend) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let store = Store::demo(dir, AREAS, on);
    let server = Server::start(dir, &["--db", &store.db, "serve", "--addr", "127.0.0.1:0"]);
    let ogc = format!("OAPIF:{}", server.ogc());
    let mut c = Checks::default();

    let public = http(&server.addr, "GET", "/api/export", &[], Body::None);
    c.expect(
        public.status == 200
            && public.header("content-type") == Some("application/geopackage+sqlite3"),
        format!(
            "the public download is a GeoPackage: {} {:?}",
            public.status,
            public.header("content-type")
        ),
    );
    std::fs::write(dir.join("public.gpkg"), &public.body).expect("write");
    let layers = gdal_ok(dir, "ogrinfo", &["-ro", "-q", "public.gpkg"], &server);
    c.expect(
        layers.trim() == "1: hazardous_areas (Multi Polygon)",
        format!("the public GeoPackage has the one layer of hazards:\n{layers}"),
    );
    let info = gdal_ok(
        dir,
        "ogrinfo",
        &["-ro", "-so", "public.gpkg", "hazardous_areas"],
        &server,
    );
    c.expect(
        ogr_feature_count(&info) == Some(store.public.len() as u64),
        format!(
            "the public GeoPackage holds the public export's {} features: {:?}",
            store.public.len(),
            ogr_feature_count(&info)
        ),
    );

    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("olena:{}", store.token))
    );
    let full = http(
        &server.addr,
        "GET",
        "/api/export",
        &[("Authorization", &basic)],
        Body::None,
    );
    c.expect(
        full.status == 200 && full.header("cache-control") == Some("no-store"),
        format!(
            "an officer's download is never stored by a cache: {} {:?}",
            full.status,
            full.header("cache-control")
        ),
    );
    std::fs::write(dir.join("full.gpkg"), &full.body).expect("write");
    let layers = gdal_ok(dir, "ogrinfo", &["-ro", "-q", "full.gpkg"], &server);
    for layer in [
        "hazardous_areas (Multi Polygon)",
        "activities (Multi Polygon)",
        "releases (Multi Polygon)",
        "post_release_finds (Point)",
        "accidents (Point)",
        "zones (Multi Polygon)",
    ] {
        c.expect(
            layers.contains(layer),
            format!("the officer's GeoPackage has the layer {layer}:\n{layers}"),
        );
    }
    for (layer, field) in [
        ("releases", "released_at: DateTime"),
        ("accidents", "killed: Integer64"),
        ("hazardous_areas", "reported_at: DateTime"),
    ] {
        let info = gdal_ok(dir, "ogrinfo", &["-ro", "-so", "full.gpkg", layer], &server);
        c.expect(
            info.contains(field) && ogr_feature_count(&info).is_some_and(|n| n > 0),
            format!("the layer {layer} has features and the field {field}:\n{info}"),
        );
    }
    let info = gdal_ok(
        dir,
        "ogrinfo",
        &["-ro", "-so", "full.gpkg", "hazardous_areas"],
        &server,
    );
    c.expect(
        ogr_feature_count(&info) == Some(store.full.len() as u64),
        format!(
            "the officer's GeoPackage holds every record ({})",
            store.full.len()
        ),
    );

    // The same filter through the API and on the download selects the same hazards.
    let filter = "status IN ('suspected','confirmed') AND reported_at > '2025-06-01'";
    let ids = |args: &[&str]| -> BTreeSet<String> {
        gdal_ok(dir, "ogrinfo", args, &server)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("id (String) = "))
            .map(str::to_string)
            .collect()
    };
    let from_api = ids(&["-ro", "-q", "-where", filter, &ogc, COLLECTION]);
    let from_file = ids(&[
        "-ro",
        "-q",
        "-where",
        filter,
        "public.gpkg",
        "hazardous_areas",
    ]);
    c.expect(
        !from_api.is_empty() && from_api == from_file,
        format!(
            "`-where \"{filter}\"` selects {} features from the API and {} from the GeoPackage; differences: {:?}",
            from_api.len(),
            from_file.len(),
            from_api.symmetric_difference(&from_file).take(5).collect::<Vec<_>>()
        ),
    );

    // Asking for what the caller may not have is refused, naming the parameter.
    let r = http(
        &server.addr,
        "GET",
        "/api/export?view=full",
        &[],
        Body::None,
    );
    c.expect(
        r.status == 403 && r.text().contains("view"),
        format!(
            "the public asking for the full export: {} {}",
            r.status,
            r.text()
        ),
    );
    c.finish(&server.log_tail());
}

/// OWSLib reads the landing page, collections, conformance and API document, pages through every
/// feature, and gets what it asks for from a bbox, a CQL2 filter, the spatial functions in CQL2
/// text and JSON (checked against shapely) and sortby across pages (see owslib_client.py).
fn owslib_pages_filters_and_reads_the_api(on: Backend) {
    let started = Instant::now();
    let py = python();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let store = Store::demo(dir, AREAS, on);
    let db = store.db.clone();
    let server = Server::start(dir, &["--db", &db, "serve", "--addr", "127.0.0.1:0"]);
    let out = helper(
        &py,
        dir,
        "owslib_client.py",
        &[
            "--url",
            &server.ogc(),
            "--public",
            &store.public.len().to_string(),
            "--full",
            &store.full.len().to_string(),
            "--token",
            &store.token,
        ],
    );
    println!("owslib test: {:.1} s", started.elapsed().as_secs_f64());
    helpers_passed(&[helper_outcome("owslib_client.py", &out)], &server);
}

/// schemathesis, for the public and for an officer, finds no server error, undocumented status,
/// wrong content type or body off the schema (see schemathesis_run.py).
#[test]
fn schemathesis_finds_no_contract_violation() {
    let started = Instant::now();
    let py = python();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    // `cairn demo` builds the store and serves it in one go; a token made meanwhile works at once.
    let server = Server::start(
        dir,
        &[
            "--db",
            "demo.db",
            "demo",
            "--areas",
            "400",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    let token = cairn(
        dir,
        &[
            "--db", "demo.db", "token", "create", "--name", "fuzz", "--role", "officer",
        ],
    )
    .trim()
    .to_string();
    let api = format!("{}/api", server.ogc());
    let auth = format!("Authorization: Bearer {token}");
    // The public and an officer see different views through different code, so both are fuzzed,
    // side by side.
    let (public, officer) = std::thread::scope(|s| {
        let p = s.spawn(|| {
            helper(
                &py,
                dir,
                "schemathesis_run.py",
                &[
                    "--api",
                    &api,
                    "--report-dir",
                    "st-public",
                    "--examples",
                    "80",
                    "--timeout",
                    "150",
                ],
            )
        });
        let o = s.spawn(|| {
            helper(
                &py,
                dir,
                "schemathesis_run.py",
                &[
                    "--api",
                    &api,
                    "--report-dir",
                    "st-officer",
                    "--examples",
                    "30",
                    "--timeout",
                    "150",
                    "--header",
                    &auth,
                ],
            )
        });
        (
            p.join().expect("public run"),
            o.join().expect("officer run"),
        )
    });
    println!(
        "schemathesis test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    helpers_passed(
        &[
            helper_outcome("schemathesis as the public", &public),
            helper_outcome("schemathesis as an officer", &officer),
        ],
        &server,
    );
}

/// A body over the 1 MiB limit gets 413 as an RFC 9457 problem, however it is framed.
#[test]
fn oversized_bodies_are_refused_with_a_problem() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let server = Server::start(
        dir,
        &[
            "--db",
            "demo.db",
            "demo",
            "--areas",
            "50",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    // 2 MiB of a syntactically plausible route: twice the service's limit of 1 MiB.
    let mut big = b"{\"type\":\"LineString\",\"coordinates\":[".to_vec();
    while big.len() < 2 * 1024 * 1024 {
        big.extend_from_slice(b"[30.123456,50.123456],");
    }
    big.extend_from_slice(b"[30.1,50.1]]}");
    let mut c = Checks::default();
    for (framing, body) in [
        ("with Content-Length", Body::Sized(&big)),
        ("chunked", Body::Chunked(&big)),
    ] {
        let r = http(
            &server.addr,
            "POST",
            "/api/check/route",
            &[("Content-Type", "application/json")],
            body,
        );
        let ct = r.header("content-type").unwrap_or("(none)").to_string();
        let problem: Option<Value> = serde_json::from_slice(&r.body).ok();
        c.expect(
            r.status == 413,
            format!("a 2 MiB body {framing} gets 413 (got {})", r.status),
        );
        c.expect(
            ct.starts_with("application/problem+json"),
            format!(
                "the 413 to a body {framing} is application/problem+json (got {ct}: {:?})",
                r.text()
            ),
        );
        c.expect(
            problem
                .as_ref()
                .is_some_and(|p| p["status"] == 413 && p["title"].is_string()),
            format!(
                "the 413 to a body {framing} is a problem with status 413 and a title: {:?}",
                r.text()
            ),
        );
    }
    // The service is still there and answers a route of normal size.
    let small = br#"{"type":"LineString","coordinates":[[30.0,50.0],[30.01,50.01]]}"#;
    let r = http(
        &server.addr,
        "POST",
        "/api/check/route",
        &[("Content-Type", "application/json")],
        Body::Sized(small),
    );
    c.expect(
        r.status == 200,
        format!(
            "a small route is still answered 200 (got {}: {})",
            r.status,
            r.text()
        ),
    );
    c.finish(&server.log_tail());
}

/// A method a path does not offer gets 405 with Allow, as an RFC 9457 problem like every error.
#[test]
fn methods_not_allowed_are_answered_with_a_problem() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let server = Server::start(
        dir,
        &[
            "--db",
            "demo.db",
            "demo",
            "--areas",
            "20",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    let mut c = Checks::default();
    for (method, target) in [
        ("DELETE", "/ogc"),
        // POST creates features (Part 4); PUT is for one feature, not the collection.
        ("PUT", "/ogc/collections/hazardous-areas/items"),
        ("POST", "/ogc/collections/hazardous-areas"),
        ("GET", "/api/check/route"),
    ] {
        let r = http(&server.addr, method, target, &[], Body::None);
        let ct = r.header("content-type").unwrap_or("(none)").to_string();
        c.expect(
            r.status == 405 && r.header("allow").is_some(),
            format!(
                "{method} {target} gets 405 with Allow (got {} {:?})",
                r.status,
                r.header("allow")
            ),
        );
        c.expect(
            ct.starts_with("application/problem+json"),
            format!(
                "{method} {target}: the 405 is application/problem+json (got {ct}: {:?})",
                r.text()
            ),
        );
    }
    c.finish(&server.log_tail());
}

/// Editing over HTTP with a plain Python client making the requests QGIS makes (OPTIONS, POST,
/// GET with ETag, PATCH and PUT with If-Match, DELETE; refusals 401, 403, 412, 428), then GDAL
/// reading back what was written: the kept feature for a token holder and for the public, the
/// closed one only for the token holder; `cairn history` names the users who wrote.
fn editing_over_http_and_gdal_reads_back_the_writes(on: Backend) {
    let started = Instant::now();
    let py = python();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let (edit_db, _pg) = on.new_store(dir, "edit.db");
    let db = |args: &[&str]| {
        let mut a = vec!["--db", edit_db.as_str()];
        a.extend_from_slice(args);
        cairn(dir, &a)
    };
    db(&["init"]);
    db(&["org", "add", "Operator A"]);
    db(&["org", "add", "Operator B"]);
    db(&["user", "add", "Olena", "--role", "officer"]);
    db(&[
        "user",
        "add",
        "Team A",
        "--role",
        "field",
        "--org",
        "Operator A",
    ]);
    db(&[
        "user",
        "add",
        "Team B",
        "--role",
        "field",
        "--org",
        "Operator B",
    ]);
    db(&["user", "add", "Petro", "--role", "auditor"]);
    let token = |user: &str| db(&["token", "create", "--user", user]).trim().to_string();
    let (officer, field_a, field_b, auditor) = (
        token("Olena"),
        token("Team A"),
        token("Team B"),
        token("Petro"),
    );
    let server = Server::start(dir, &["--db", &edit_db, "serve", "--addr", "127.0.0.1:0"]);
    let base = format!("http://{}", server.addr);
    let out = helper(
        &py,
        dir,
        "edit_client.py",
        &[
            "--base",
            &base,
            "--officer",
            &officer,
            "--field-a",
            &field_a,
            "--field-b",
            &field_b,
            "--auditor",
            &auditor,
        ],
    );
    helpers_passed(&[helper_outcome("edit_client.py", &out)], &server);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let id_of = |tag: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(tag))
            .unwrap_or_else(|| panic!("edit_client.py printed no {tag:?} line"))
            .trim()
            .to_string()
    };
    let (kept, refused) = (id_of("kept "), id_of("refused "));

    let ogc = format!("OAPIF:{}", server.ogc());
    let auth = format!("Authorization: Bearer {officer}");
    gdal_ok(
        dir,
        "ogr2ogr",
        &[
            "--config",
            "GDAL_HTTP_HEADERS",
            &auth,
            "-f",
            "GeoJSON",
            "full.geojson",
            &ogc,
            COLLECTION,
        ],
        &server,
    );
    gdal_ok(
        dir,
        "ogr2ogr",
        &["-f", "GeoJSON", "public.geojson", &ogc, COLLECTION],
        &server,
    );
    let status_of = |features: &[Value], id: &str| {
        features
            .iter()
            .find(|f| f["properties"]["id"] == id || f["id"] == id)
            .map(|f| f["properties"]["status"].as_str().unwrap_or("").to_string())
    };
    let full = features_of(&dir.join("full.geojson"));
    let public = features_of(&dir.join("public.geojson"));
    assert_eq!(
        full.len(),
        2,
        "GDAL with a token reads both written features"
    );
    assert_eq!(status_of(&full, &kept).as_deref(), Some("confirmed"));
    assert_eq!(status_of(&full, &refused).as_deref(), Some("suspected"));
    assert_eq!(public.len(), 2, "the public is warned of both open hazards");
    assert_eq!(status_of(&public, &kept).as_deref(), Some("confirmed"));
    drop(server);

    let history: Value = serde_json::from_str(&db(&["history", &kept, "--json"])).unwrap();
    let text = history.to_string();
    assert!(
        text.contains("Olena") && text.contains("Team A") && text.contains("survey of 25 November"),
        "history names who wrote and why: {text}"
    );
    println!("editing test: {:.1} s", started.elapsed().as_secs_f64());
}

/// The real clients' cases on each backend: SQLite, and PostgreSQL/PostGIS (the test cluster of
/// `CAIRN_TEST_PG`).
macro_rules! on_both {
    ($($case:ident),*) => {
        mod sqlite { $( #[test] fn $case() { super::$case(super::Backend::Sqlite) } )* }
        mod postgres { $( #[test] fn $case() { super::$case(super::Backend::Postgres) } )* }
    };
}

on_both!(
    gdal_reads_and_copies_every_feature,
    owslib_pages_filters_and_reads_the_api,
    editing_over_http_and_gdal_reads_back_the_writes,
    exports_over_http_open_in_gdal_and_filter_as_the_api_does
);
