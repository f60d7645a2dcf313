//! Several `cairn serve` processes on one store are interchangeable behind a load balancer
//! (issue 14): a write accepted by one is answered by the other within a second, optimistic
//! locking (`If-Match`) holds across them, and killing one in the middle of writes leaves the
//! other consistent with every acknowledged write. Each server holds its own read model and
//! follows the store's change feed; the store's write lock decides between them.
//!
//! Every case runs twice: on a store file shared by two servers on one machine (SQLite, WAL), and
//! on a PostgreSQL/PostGIS database (the test cluster of `CAIRN_TEST_PG`).
#![cfg(unix)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::postgres::Database;
use common::server::{Server, cairn, header, http, request};
use serde_json::{Value, json};

const ITEM: &str = "/ogc/collections/hazardous-areas/items";

fn square(lon: f64, lat: f64, d: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]})
}

/// Which backend a case runs on.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A store with one confirmed public area (10 persistent AP mines) and an officer's token.
struct World {
    db: String,
    officer: String,
    _dir: tempfile::TempDir,
    _pg: Option<Database>,
}

impl World {
    fn new(backend: Backend) -> World {
        let dir = tempfile::tempdir().unwrap();
        let pg = matches!(backend, Backend::Postgres).then(Database::fresh);
        let db = match &pg {
            Some(d) => d.url.clone(),
            None => dir.path().join("store.db").to_string_lossy().into_owned(),
        };
        World::on(db, dir, pg)
    }

    /// The world on the store at `db` (a file or a database's URL).
    fn on(db: String, dir: tempfile::TempDir, pg: Option<Database>) -> World {
        let records = dir.path().join("records.geojson");
        std::fs::write(
            &records,
            json!({"type": "FeatureCollection", "features": [{
                "type": "Feature", "id": "HA-000001", "geometry": square(36.0, 49.9, 0.01),
                "properties": {"status": "confirmed", "classification": "public",
                    "organisation": "Operator A",
                    "evidence": {"kind": "direct", "description": "as recorded"},
                    "devices": [{"type": "ap-mine-persistent", "quantity": 10}]}}]})
            .to_string(),
        )
        .unwrap();
        let mut w = World {
            db,
            officer: String::new(),
            _dir: dir,
            _pg: pg,
        };
        w.ok(&["init"]);
        w.ok(&[
            "import",
            &records.to_string_lossy(),
            "--reason",
            "migration",
        ]);
        w.ok(&["user", "add", "Olena", "--role", "officer"]);
        w.officer = w
            .ok(&["token", "create", "--user", "Olena"])
            .trim()
            .to_string();
        w
    }

    /// `cairn` on the world's store; its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = cairn(std::path::Path::new(&self.db))
            .args(args)
            .output()
            .expect("run cairn");
        assert!(out.status.success(), "cairn {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn server(&self) -> Server {
        Server::start(std::path::Path::new(&self.db), None)
    }

    /// Revisions of HA-000001 in the store.
    fn revisions(&self) -> usize {
        serde_json::from_str::<Value>(&self.ok(&["history", "HA-000001", "--json"]))
            .expect("json")
            .as_array()
            .map(Vec::len)
            .expect("a history")
    }
}

/// Polls `f` until it holds or a second has passed since `from`.
fn within_a_second(from: Instant, mut f: impl FnMut() -> bool) -> bool {
    while from.elapsed() < Duration::from_secs(1) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// The public place check at a point.
fn check(addr: &str, lon: f64, lat: f64) -> Value {
    let (status, body) = http(
        addr,
        "GET",
        &format!("/api/check/point?lon={lon}&lat={lat}"),
        None,
        "",
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The devices' quantity of HA-000001 and its ETag, as the server at `addr` answers.
fn quantity(addr: &str, token: &str) -> (i64, String) {
    let auth = format!("Bearer {token}");
    let (status, head, body) = request(
        addr,
        "GET",
        &format!("{ITEM}/HA-000001"),
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let q = v["properties"]["devices"][0]["quantity"]
        .as_i64()
        .unwrap_or_else(|| panic!("a quantity in {v}"));
    (q, header(&head, "etag").expect("an ETag"))
}

/// One try at an editor's increment of HA-000001's device count through `addr` (an addition to
/// the hazard, allowed to an officer's edit): read the item, then PATCH with `If-Match`.
enum Attempt {
    /// The read was answered with this status and head, not 200: nothing was sent.
    Unread(u16, String),
    /// The PATCH was sent and answered with this status, head and body.
    Sent(u16, String, String),
}

fn attempt(addr: &str, token: &str) -> Attempt {
    let auth = format!("Bearer {token}");
    let item = format!("{ITEM}/HA-000001");
    let (status, head, body) = request(addr, "GET", &item, &[("Authorization", &auth)], "");
    if status != 200 {
        return Attempt::Unread(status, head);
    }
    let v: Value = serde_json::from_str(&body).unwrap();
    let q = v["properties"]["devices"][0]["quantity"]
        .as_i64()
        .unwrap_or_else(|| panic!("a quantity in {v}"));
    let tag = header(&head, "etag").expect("an ETag");
    let patch =
        json!({"properties": {"devices": [{"type": "ap-mine-persistent", "quantity": q + 1}]}});
    let (status, head, body) = request(
        addr,
        "PATCH",
        &item,
        &[
            ("Authorization", &auth),
            ("If-Match", &tag),
            ("Content-Type", "application/merge-patch+json"),
        ],
        &patch.to_string(),
    );
    Attempt::Sent(status, head, body)
}

/// An editor's increment through `addr`, tried again on 412 until it is in. Returns the status
/// of the last attempt (200 when the increment was acknowledged).
fn increment(addr: &str, token: &str) -> u16 {
    for _ in 0..200 {
        match attempt(addr, token) {
            Attempt::Sent(412, ..) => continue,
            Attempt::Sent(200, ..) => return 200,
            Attempt::Sent(other, _, body) => panic!("PATCH through {addr}: {other} {body}"),
            Attempt::Unread(status, head) => panic!("GET through {addr}: {status} {head}"),
        }
    }
    panic!("an editor through {addr} never got its increment in after 200 attempts")
}

fn a_write_through_either_server_is_answered_by_both_within_a_second(backend: Backend) {
    let w = World::new(backend);
    let officer = &w.officer;
    let servers = [w.server(), w.server()];
    for (i, (lon, lat)) in [(36.31, 49.61), (36.41, 49.71)].into_iter().enumerate() {
        let (writer, other) = (&servers[i], &servers[1 - i]);
        let feature = json!({"type": "Feature", "geometry": square(lon, lat, 0.01), "properties": {
            "status": "confirmed", "classification": "public", "organisation": "Operator A",
            "evidence": {"kind": "direct", "description": "mines seen by a clearance team"},
            "devices": [{"type": "ap-mine-persistent", "quantity": 3}]}});
        let t = Instant::now();
        let (status, body) = http(
            &writer.addr,
            "POST",
            ITEM,
            Some(officer),
            &feature.to_string(),
        );
        assert_eq!(status, 201, "POST through server {i}: {body}");
        // The writer answers only once its own model shows the write.
        assert_eq!(
            check(&writer.addr, lon + 0.005, lat + 0.005)["advice"]["danger"],
            true,
            "server {i} warns at the hazard it accepted"
        );
        assert!(
            within_a_second(t, || check(&other.addr, lon + 0.005, lat + 0.005)["advice"]
                ["danger"]
                == true),
            "the other server warns at the hazard written through server {i} within a second"
        );
    }
    // Both report the same change number (to a caller with a token), and that they follow.
    let health = |addr: &str| -> Value {
        let (status, body) = http(addr, "GET", "/health", Some(officer), "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let t = Instant::now();
    assert!(
        within_a_second(t, || {
            let (a, b) = (health(&servers[0].addr), health(&servers[1].addr));
            a["change"].as_i64().is_some() && a["change"] == b["change"]
        }),
        "both servers reach the same change number: {} and {}",
        health(&servers[0].addr),
        health(&servers[1].addr)
    );
    for s in &servers {
        assert_eq!(health(&s.addr)["following"], true, "{}", health(&s.addr));
    }
}

fn concurrent_if_match_editors_spread_over_two_servers_lose_no_update(backend: Backend) {
    let w = World::new(backend);
    let officer = w.officer.clone();
    let servers = Arc::new([w.server(), w.server()]);
    const EDITORS: usize = 20;
    let threads: Vec<_> = (0..EDITORS)
        .map(|i| {
            let servers = Arc::clone(&servers);
            let officer = officer.clone();
            std::thread::spawn(move || increment(&servers[i % 2].addr, &officer))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("an editor's thread"), 200);
    }
    // Every acknowledged increment is there, through either server, and in the store.
    for s in servers.iter() {
        let t = Instant::now();
        assert!(
            within_a_second(t, || quantity(&s.addr, &officer).0 == 10 + EDITORS as i64),
            "20 increments over two servers give 30 devices, answered by {}: {}",
            s.addr,
            quantity(&s.addr, &officer).0
        );
    }
    assert_eq!(
        w.revisions(),
        1 + EDITORS,
        "one revision per acknowledged edit"
    );
}

fn killing_one_server_mid_write_leaves_the_other_consistent(backend: Backend) {
    let w = World::new(backend);
    let officer = w.officer.clone();
    let victim = w.server();
    let survivor = w.server();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let attempted = Arc::new(AtomicUsize::new(0));
    // Writers hammer the victim until it dies; their failures after the kill are expected.
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (addr, officer) = (victim.addr.clone(), officer.clone());
            let (acknowledged, attempted) = (Arc::clone(&acknowledged), Arc::clone(&attempted));
            std::thread::spawn(move || {
                loop {
                    attempted.fetch_add(1, Ordering::SeqCst);
                    match attempt(&addr, &officer) {
                        Attempt::Sent(200, ..) => {
                            acknowledged.fetch_add(1, Ordering::SeqCst);
                        }
                        Attempt::Sent(412, ..) => {}
                        // Nothing was sent: not an attempt.
                        Attempt::Unread(..) => {
                            attempted.fetch_sub(1, Ordering::SeqCst);
                            return;
                        }
                        // The server died under this request.
                        Attempt::Sent(..) => return,
                    }
                }
            })
        })
        .collect();
    let t = Instant::now();
    while acknowledged.load(Ordering::SeqCst) < 10 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        acknowledged.load(Ordering::SeqCst) >= 10,
        "writes through the victim were acknowledged before the kill"
    );
    victim.kill();
    for w in writers {
        w.join().expect("a writer's thread");
    }
    let (acknowledged, attempted) = (
        acknowledged.load(Ordering::SeqCst) as i64,
        attempted.load(Ordering::SeqCst) as i64,
    );
    // The store holds every acknowledged write (and at most the ones attempted: a write
    // committed as the victim died may not have been acknowledged), and the survivor answers
    // exactly what the store holds.
    let committed = w.revisions() as i64 - 1;
    assert!(
        (acknowledged..=attempted).contains(&committed),
        "{committed} edits committed, {acknowledged} acknowledged, {attempted} attempted"
    );
    let t = Instant::now();
    assert!(
        within_a_second(t, || quantity(&survivor.addr, &officer).0 == 10 + committed),
        "the survivor answers the store's {} devices within a second: {}",
        10 + committed,
        quantity(&survivor.addr, &officer).0
    );
    // It takes writes on, and the store is whole.
    assert_eq!(increment(&survivor.addr, &officer), 200);
    assert_eq!(quantity(&survivor.addr, &officer).0, 10 + committed + 1);
    assert_eq!(
        w.revisions() as i64,
        committed + 2,
        "one revision per committed edit"
    );
}

/// The health a caller with a token is shown by the server at `addr`.
fn health(addr: &str, token: &str) -> Value {
    let (status, body) = http(addr, "GET", "/health", Some(token), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The database restarts (fast shutdown, three seconds down, started again) while two servers
/// take a mixed load of public place checks, If-Match edits and public reports. Throughout, both
/// answer checks from their models; writes and reports while it is down are refused with 503 and
/// `Retry-After`, never acknowledged; afterwards both follow the feed again by themselves, hold
/// every acknowledged edit and report, and take writes. Runs on a cluster of its own.
#[test]
fn the_database_restarting_under_mixed_load_loses_no_acknowledged_write() {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;
    let cluster = common::postgres::Cluster::start();
    let w = World::on(cluster.url.clone(), tempfile::tempdir().unwrap(), None);
    let officer = w.officer.clone();
    let servers = Arc::new([w.server(), w.server()]);
    let stop = Arc::new(AtomicBool::new(false));
    let down = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let attempted = Arc::new(AtomicUsize::new(0));
    let refused_while_down = Arc::new(AtomicUsize::new(0));
    let checks = Arc::new(AtomicUsize::new(0));
    let reports: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut load = Vec::new();
    // Checkers: public place checks inside the area, alternating servers; every one answered.
    for c in 0..2 {
        let (servers, stop, checks) =
            (Arc::clone(&servers), Arc::clone(&stop), Arc::clone(&checks));
        load.push(std::thread::spawn(move || {
            let mut i = c;
            while !stop.load(Ordering::SeqCst) {
                let (status, body) = http(
                    &servers[i % 2].addr,
                    "GET",
                    "/api/check/point?lon=36.005&lat=49.905",
                    None,
                    "",
                );
                i += 1;
                // One address's checks are rate-limited: wait, as a client is told to.
                if status == 429 {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                assert_eq!(status, 200, "{body}");
                let v: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(
                    v["advice"]["danger"], true,
                    "a check at the hazard warns: {v}"
                );
                checks.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
    }
    // Editors: If-Match increments, each through one server; 503 while the database is down.
    for e in 0..2 {
        let (servers, stop, officer) = (Arc::clone(&servers), Arc::clone(&stop), officer.clone());
        let (acknowledged, attempted, refused, down) = (
            Arc::clone(&acknowledged),
            Arc::clone(&attempted),
            Arc::clone(&refused_while_down),
            Arc::clone(&down),
        );
        load.push(std::thread::spawn(move || {
            let addr = &servers[e].addr;
            while !stop.load(Ordering::SeqCst) {
                attempted.fetch_add(1, Ordering::SeqCst);
                let head = match attempt(addr, &officer) {
                    Attempt::Sent(200, ..) => {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    Attempt::Sent(412, ..) => continue,
                    Attempt::Sent(503, head, _) => head,
                    Attempt::Unread(503, head) => {
                        // Nothing was sent: not an attempt.
                        attempted.fetch_sub(1, Ordering::SeqCst);
                        head
                    }
                    Attempt::Sent(other, _, body) => panic!("PATCH through {addr}: {other} {body}"),
                    Attempt::Unread(other, head) => panic!("GET through {addr}: {other} {head}"),
                };
                assert!(
                    header(&head, "retry-after").is_some(),
                    "a 503 says when to retry: {head}"
                );
                if down.load(Ordering::SeqCst) {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }));
    }
    // A reporter: public reports, alternating servers; the references of those answered 201.
    {
        let (servers, stop, reports) = (
            Arc::clone(&servers),
            Arc::clone(&stop),
            Arc::clone(&reports),
        );
        load.push(std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let body = json!({"lon": 36.2 + i as f64 * 1e-4, "lat": 49.8, "accuracy_m": 8,
                    "category": "mine", "description": format!("restart report {i}: an object by the path")});
                let (status, head, answer) = request(&servers[i % 2].addr, "POST", "/api/reports",
                    &[("Content-Type", "application/json")], &body.to_string());
                match status {
                    201 => {
                        let v: Value = serde_json::from_str(&answer).unwrap();
                        reports.lock().unwrap().push(v["reference"].as_str().unwrap().to_string());
                    }
                    503 => assert!(header(&head, "retry-after").is_some(), "a 503 says when to retry: {head}"),
                    // The public report limit of one address: wait as told.
                    429 => {}
                    other => panic!("POST /api/reports: {other} {answer}"),
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(2));
    let before = acknowledged.load(Ordering::SeqCst);
    assert!(before > 0, "edits were acknowledged before the restart");
    down.store(true, Ordering::SeqCst);
    cluster.stop();
    std::thread::sleep(Duration::from_secs(3));
    // While the database is down both servers answer, and say they are not following.
    let checks_down = checks.load(Ordering::SeqCst);
    for s in servers.iter() {
        let (status, body) = http(&s.addr, "GET", "/health", None, "");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["following"], false,
            "{} while the database is down: {v}",
            s.addr
        );
        assert!(v["data_checked_at"].is_string(), "{v}");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        checks.load(Ordering::SeqCst) > checks_down,
        "checks are answered while the database is down"
    );
    down.store(false, Ordering::SeqCst);
    cluster.resume();
    // Both follow again by themselves, and writes are acknowledged again.
    let t = Instant::now();
    let resumed = acknowledged.load(Ordering::SeqCst);
    while t.elapsed() < Duration::from_secs(60)
        && !(servers
            .iter()
            .all(|s| health(&s.addr, &officer)["following"] == true)
            && acknowledged.load(Ordering::SeqCst) >= resumed + 4)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    for l in load {
        l.join().expect("a load thread");
    }
    assert!(
        refused_while_down.load(Ordering::SeqCst) > 0,
        "the editors' requests were refused with 503 while the database was down"
    );
    for s in servers.iter() {
        let h = health(&s.addr, &officer);
        assert_eq!(h["following"], true, "{} follows again: {h}", s.addr);
    }
    assert!(
        acknowledged.load(Ordering::SeqCst) >= resumed + 4,
        "writes are acknowledged again after the restart ({} before, {} at the end)",
        resumed,
        acknowledged.load(Ordering::SeqCst)
    );
    let mut servers =
        Arc::try_unwrap(servers).unwrap_or_else(|_| panic!("the servers are still shared"));
    for s in servers.iter_mut() {
        assert!(s.running(), "no server exits when its database restarts");
    }
    // Every acknowledged edit is in the store, and each server answers exactly it.
    let (acknowledged, attempted) = (
        acknowledged.load(Ordering::SeqCst) as i64,
        attempted.load(Ordering::SeqCst) as i64,
    );
    let committed = w.revisions() as i64 - 1;
    assert!(
        (acknowledged..=attempted).contains(&committed),
        "{committed} edits committed, {acknowledged} acknowledged, {attempted} attempted"
    );
    for s in servers.iter() {
        let t = Instant::now();
        assert!(
            within_a_second(t, || quantity(&s.addr, &officer).0 == 10 + committed),
            "{} answers the store's {} devices: {}",
            s.addr,
            10 + committed,
            quantity(&s.addr, &officer).0
        );
    }
    // Every report answered 201 is stored.
    let reports = reports.lock().unwrap().clone();
    assert!(!reports.is_empty(), "reports were answered");
    for r in &reports {
        let shown = w.ok(&["reports", "show", r, "--json"]);
        assert!(shown.contains(r.as_str()), "report {r} is stored: {shown}");
    }
    println!(
        "{committed} edits committed ({acknowledged} acknowledged of {attempted}), {} reports stored, {} checks answered",
        reports.len(),
        checks.load(Ordering::SeqCst)
    );
}

/// The newest changeset number of the database at `url`.
fn last_changeset(url: &str) -> i64 {
    let mut c = ::postgres::Client::connect(url, ::postgres::NoTls).expect("connect");
    c.query_one("SELECT coalesce(max(id), 0) FROM changesets", &[])
        .expect("read changesets")
        .get(0)
}

/// A public place check's verdict at a point: whether it warns.
fn warns(addr: &str, lon: f64, lat: f64) -> bool {
    check(addr, lon, lat)["advice"]["danger"] == true
}

/// A server with `--read-db` on a streaming replica: its model comes from the replica (a change
/// the replica has not replayed is not shown), a write through the server is read back from the
/// primary before it is answered (read-your-writes, with the replica's replay paused), and once
/// the replica replays again the server follows it within a second.
#[test]
fn a_server_on_a_read_replica_follows_it_and_reads_its_own_writes_from_the_primary() {
    let primary = common::postgres::Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let w = World::on(primary.url.clone(), dir, None);
    let replica = primary.replica();
    let t = Instant::now();
    while last_changeset(&replica.url) < last_changeset(&primary.url) {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the replica never caught up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = Server::start_with(
        std::path::Path::new(&w.db),
        None,
        &["--read-db", &replica.url],
    );
    let h = health(&server.addr, &w.officer);
    assert_eq!(h["read_replica"], true, "{h}");
    assert_eq!(h["following"], true, "{h}");
    assert!(
        warns(&server.addr, 36.005, 49.905),
        "the imported area warns"
    );

    // The replica stops replaying: a write on the primary (by the command line) is not shown.
    let mut r = ::postgres::Client::connect(&replica.url, ::postgres::NoTls).unwrap();
    r.batch_execute("SELECT pg_wal_replay_pause()").unwrap();
    let import = |lon: f64, lat: f64| {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            json!({"type": "FeatureCollection", "features": [{"type": "Feature",
                "geometry": square(lon, lat, 0.01),
                "properties": {"status": "confirmed", "classification": "public",
                    "organisation": "Operator A",
                    "evidence": {"kind": "direct", "description": "mines seen"},
                    "devices": [{"type": "ap-mine-persistent", "quantity": 2}]}}]})
            .to_string(),
        )
        .unwrap();
        w.ok(&[
            "import",
            &file.path().to_string_lossy(),
            "--reason",
            "survey",
        ]);
    };
    import(36.5, 49.5);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !warns(&server.addr, 36.505, 49.505),
        "the model reads the replica, which has not replayed the write"
    );

    // A write through the server is answered only once the server shows it, read from the
    // primary (the replica is still paused); the earlier write comes with it.
    let feature = json!({"type": "Feature", "geometry": square(36.7, 49.7, 0.01), "properties": {
        "status": "confirmed", "classification": "public", "organisation": "Operator A",
        "evidence": {"kind": "direct", "description": "mines seen by a clearance team"},
        "devices": [{"type": "ap-mine-persistent", "quantity": 3}]}});
    let (status, body) = http(
        &server.addr,
        "POST",
        ITEM,
        Some(&w.officer),
        &feature.to_string(),
    );
    assert_eq!(status, 201, "{body}");
    assert!(
        warns(&server.addr, 36.705, 49.705),
        "the writer reads its own write"
    );
    assert!(
        warns(&server.addr, 36.505, 49.505),
        "and every change before it"
    );

    // The replica replays again: a new write on the primary reaches the server within a second.
    r.batch_execute("SELECT pg_wal_replay_resume()").unwrap();
    import(36.9, 49.3);
    let t = Instant::now();
    assert!(
        within_a_second(t, || warns(&server.addr, 36.905, 49.305)),
        "the server follows the replica again"
    );
    let t = Instant::now();
    assert!(
        within_a_second(t, || health(&server.addr, &w.officer)["change"]
            == json!(last_changeset(&primary.url))),
        "the server reaches the primary's change number: {}",
        health(&server.addr, &w.officer)
    );
}

/// Each case on each backend.
macro_rules! on_both {
    ($($case:ident),*) => {
        mod sqlite { $( #[test] fn $case() { super::$case(super::Backend::Sqlite) } )* }
        mod postgres { $( #[test] fn $case() { super::$case(super::Backend::Postgres) } )* }
    };
}

on_both!(
    a_write_through_either_server_is_answered_by_both_within_a_second,
    concurrent_if_match_editors_spread_over_two_servers_lose_no_update,
    killing_one_server_mid_write_leaves_the_other_consistent
);
