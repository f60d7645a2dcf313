//! Holds under abuse (issue 18): the real `cairn serve` on loopback, attacked the way the issue's
//! probe did. Counts and durations are bounded (the whole file runs in well under a minute on a
//! loaded 2-core machine); the only timed assertion is the one the issue asks for, the 99th
//! percentile of `/health` and a place check under load.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::env::Env;
use common::server::{Server, header, http, request};
use serde_json::{Value, json};

/// The public's cost limit of a route check, km² of corridor (`check::MAX_PUBLIC_CORRIDOR_KM2`).
const CORRIDOR_KM2: f64 = 100.0;
/// The most positions a route may have.
const MAX_VERTICES: usize = 10_000;

/// The first position of a GeoJSON geometry's coordinates.
fn first_position(c: &Value) -> Option<[f64; 2]> {
    match c.as_array()?.as_slice() {
        [Value::Number(x), Value::Number(y), ..] => Some([x.as_f64()?, y.as_f64()?]),
        [first, ..] => first_position(first),
        [] => None,
    }
}

/// A store of `n` synthetic areas (and, with `history`, a year of fictional work for the
/// transparency report); returns it and the middle of its densest 0.05° cell.
fn dense_store(n: usize, history: bool) -> (Env, [f64; 2]) {
    let env = Env::with_store();
    let file = env.p("areas.geojson");
    env.ok(&["synth", "--areas", &n.to_string(), "-o", &file]);
    env.ok(&["import", &file]);
    if history {
        let to = chrono::Utc::now().date_naive();
        let from = to - chrono::Duration::days(364);
        env.ok(&[
            "synth",
            "history",
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
        ]);
    }
    let fc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let mut cells: HashMap<(i64, i64), usize> = HashMap::new();
    for f in fc["features"].as_array().unwrap() {
        if let Some([x, y]) = first_position(&f["geometry"]["coordinates"]) {
            *cells
                .entry(((x / 0.05).floor() as i64, (y / 0.05).floor() as i64))
                .or_default() += 1;
        }
    }
    let (&(cx, cy), &count) = cells.iter().max_by_key(|(_, c)| **c).unwrap();
    assert!(
        count >= 10,
        "the synthetic store has a dense cell ({count} areas)"
    );
    (env, [(cx as f64 + 0.5) * 0.05, (cy as f64 + 0.5) * 0.05])
}

/// A route of `vertices` positions zig-zagging across `span_m` metres east through `c`, as long
/// as the public's cost limit allows at `width_m`: a Feature with the width in its properties.
fn zigzag(c: [f64; 2], vertices: usize, span_m: f64, width_m: f64) -> String {
    let length_m = CORRIDOR_KM2 * 1e6 / width_m * 0.98;
    let segs = (vertices - 1) as f64;
    let (step, along) = (length_m / segs, span_m / segs);
    let across = (step * step - along * along).max(0.0).sqrt();
    let m_lon = 111_320.0 * c[1].to_radians().cos();
    let x0 = c[0] - span_m / 2.0 / m_lon;
    let coords: Vec<[f64; 2]> = (0..vertices)
        .map(|i| {
            let dy = if i % 2 == 1 { across / 110_574.0 } else { 0.0 };
            [x0 + i as f64 * along / m_lon, c[1] + dy]
        })
        .collect();
    json!({"type": "Feature", "properties": {"width": width_m},
           "geometry": {"type": "LineString", "coordinates": coords}})
    .to_string()
}

fn write_config(env: &Env, name: &str, text: &str) -> std::path::PathBuf {
    let p = env.path(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99).div_ceil(100) - 1]
}

#[test]
fn health_and_place_checks_answer_fast_while_twenty_clients_send_the_most_expensive_requests() {
    let (env, c) = dense_store(5000, true);
    // Rate limits off: every expensive request reaches the caps and the compute pool, as it
    // would from twenty different addresses.
    let config = write_config(&env, "load.toml", "[rate_limits]\nenabled = false\n");
    let server = Server::start(&env.path("store.db"), Some(&config));
    let addr = server.addr.clone();
    // The costliest shapes the public may send: the widest corridor (1 km) as long as allowed,
    // and a 100 m one zig-zagging 1,000 km over the densest few kilometres, both with 10,000
    // positions.
    let wide = zigzag(c, MAX_VERTICES, 4_000.0, 1_000.0);
    let long = zigzag(c, MAX_VERTICES, 3_000.0, 100.0);
    for body in [&wide, &long] {
        let (status, text) = http(&addr, "POST", "/api/check/route", None, body);
        assert_eq!(status, 200, "a route at the cost limit is accepted: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(
            !v["hazards"].as_array().unwrap().is_empty(),
            "the route crosses the dense region"
        );
    }
    let to = chrono::Utc::now().date_naive();
    let report = format!(
        "/api/transparency?from={}&to={to}",
        to - chrono::Duration::days(364)
    );
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..20)
        .map(|i| {
            let (addr, stop, answered, refused) = (
                addr.clone(),
                stop.clone(),
                answered.clone(),
                refused.clone(),
            );
            let (path, body) = match i % 4 {
                0 => (report.clone(), None),
                1 => ("/api/check/route".to_string(), Some(wide.clone())),
                _ => ("/api/check/route".to_string(), Some(long.clone())),
            };
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (status, _) = match &body {
                        Some(b) => http(&addr, "POST", &path, None, b),
                        None => http(&addr, "GET", &path, None, ""),
                    };
                    match status {
                        200 => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        503 => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            // The attackers share this machine's two cores with the server: a
                            // client elsewhere would retry at once, but here a spinning client
                            // would only take the server's CPU.
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        other => panic!("{path}: unexpected status {other}"),
                    }
                }
            })
        })
        .collect();
    // Let the load build up, then probe.
    let started = Instant::now();
    while answered.load(Ordering::Relaxed) < 4 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let point = format!("/api/check/point?lon={}&lat={}&accuracy=25", c[0], c[1]);
    let (mut health, mut checks) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        for (path, times) in [("/health", &mut health), (point.as_str(), &mut checks)] {
            let t = Instant::now();
            let (status, body) = http(&addr, "GET", path, None, "");
            times.push(t.elapsed());
            assert_eq!(status, 200, "{path} under load: {body}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.join().expect("an attacker thread panicked");
    }
    let (answered, refused) = (
        answered.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    eprintln!(
        "expensive requests answered {answered}, refused 503 {refused}; p99 /health {:?}, place check {:?}",
        p99(health.clone()),
        p99(checks.clone())
    );
    assert!(
        answered >= 4,
        "the expensive requests were served ({answered})"
    );
    assert!(refused > 0, "the caps refused some of twenty at once");
    assert!(
        p99(health.clone()) <= Duration::from_millis(200),
        "/health p99 {:?}",
        p99(health)
    );
    assert!(
        p99(checks.clone()) <= Duration::from_millis(200),
        "place check p99 {:?}",
        p99(checks)
    );
}

/// Reads until the peer closes (EOF or reset) or `within` passes; returns what arrived and
/// whether it closed.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> (String, bool) {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

#[test]
fn three_hundred_idle_and_slow_connections_are_closed_and_do_not_stop_new_clients() {
    let env = Env::with_store();
    // 200 open files at most (as a small machine might allow): the service keeps its
    // connections under that, so the three hundred wait to be accepted rather than exhaust it.
    let mut server = Server::start_with_nofile(
        &env.path("store.db"),
        200,
        &[
            "--idle-timeout",
            "1",
            "--header-read-timeout",
            "2",
            "--body-read-timeout",
            "2",
        ],
    );
    let addr = server.addr.clone();
    let mut idle = Vec::new();
    let mut half_head = Vec::new();
    let mut slow_body = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(&addr).expect("connect");
        match i % 3 {
            0 => idle.push(s),
            1 => {
                write!(s, "GET /health HTTP/1.1\r\nHost: {addr}\r\n").unwrap();
                half_head.push(s);
            }
            _ => {
                write!(
                    s,
                    "POST /api/check/route HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"type\""
                )
                .unwrap();
                slow_body.push(s);
            }
        }
    }
    // The slow ones keep sending a byte now and then, as a slow-loris client does.
    let trickling = Arc::new(AtomicBool::new(true));
    let trickle = {
        let mut streams: Vec<TcpStream> = half_head
            .iter()
            .chain(&slow_body)
            .map(|s| s.try_clone().unwrap())
            .collect();
        let on = trickling.clone();
        std::thread::spawn(move || {
            for _ in 0..100 {
                if !on.load(Ordering::Relaxed) {
                    break;
                }
                for s in &mut streams {
                    let _ = s.write_all(b" ");
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    // A fresh client is served while they are open.
    let (status, body) = http(&addr, "GET", "/health", None, "");
    assert_eq!(status, 200, "a new client among 300 slow ones: {body}");
    assert!(server.running(), "the service is still up");
    // Every one of them is closed by a timeout.
    let limit = Duration::from_secs(30);
    let started = Instant::now();
    for (kind, list) in [
        ("idle", &mut idle),
        ("half-sent head", &mut half_head),
        ("slow body", &mut slow_body),
    ] {
        for (j, s) in list.iter_mut().enumerate() {
            let left = limit.saturating_sub(started.elapsed());
            let (got, closed) = read_until_closed(s, left);
            assert!(
                closed,
                "{kind} connection {j} is still open after {limit:?}: {got:?}"
            );
            match kind {
                "idle" => assert!(got.is_empty(), "idle connection {j} got {got:?}"),
                "slow body" => {
                    assert!(
                        got.starts_with("HTTP/1.1 408") && got.contains("body_read_timeout"),
                        "slow body {j}: {got:?}"
                    );
                }
                _ => assert!(
                    got.is_empty() || got.starts_with("HTTP/1.1 4"),
                    "half head {j}: {got:?}"
                ),
            }
        }
    }
    trickling.store(false, Ordering::Relaxed);
    trickle.join().unwrap();
    let (status, _) = http(&addr, "GET", "/health", None, "");
    assert_eq!(status, 200, "the service answers after they are gone");
    // Shutdown on SIGTERM is orderly.
    assert_eq!(
        server.terminate(),
        Some(0),
        "cairn serve exits 0 on SIGTERM"
    );
}

fn problem(head: &str, body: &str) -> Value {
    assert_eq!(
        header(head, "content-type").as_deref(),
        Some("application/problem+json"),
        "{head}"
    );
    serde_json::from_str(body).unwrap()
}

fn officer_token(env: &Env) -> String {
    env.ok(&["token", "create", "--name", "Olena", "--role", "officer"])
        .trim()
        .to_string()
}

#[test]
fn cost_limits_and_caps_answer_413_422_and_503_naming_the_limit() {
    let (env, c) = dense_store(1500, false);
    let token = officer_token(&env);
    let config = write_config(
        &env,
        "caps.toml",
        "[caps]\nroute_checks = 1\n[rate_limits]\nenabled = false\n",
    );
    let server = Server::start_with(
        &env.path("store.db"),
        Some(&config),
        &["--compute-threads", "1"],
    );
    let addr = server.addr.clone();
    let post = |body: &str, token: Option<&str>| {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut h = vec![];
        if let Some(a) = auth.as_deref() {
            h.push(("Authorization", a));
        }
        request(&addr, "POST", "/api/check/route", &h, body)
    };
    // Too many positions: 422 naming them.
    let (status, head, body) = post(&zigzag(c, MAX_VERTICES + 1, 1000.0, 50.0), None);
    assert_eq!(status, 422, "{body}");
    let p = problem(&head, &body);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("geometry.coordinates")
            && p["detail"].as_str().unwrap().contains("10000"),
        "{p}"
    );
    // A corridor wider than the public's limit, or larger in area: 422 naming width and the
    // limit; an officer's is checked.
    let line = |width: f64, half_deg: f64| {
        json!({"type": "Feature", "properties": {"width": width},
            "geometry": {"type": "LineString",
                "coordinates": [[c[0] - half_deg, c[1]], [c[0] + half_deg, c[1]]]}})
        .to_string()
    };
    for (body, wanted) in [
        (line(5000.0, 0.01), "1000 m wide"),
        (line(1000.0, 0.8), "km²"),
    ] {
        let (status, head, text) = post(&body, None);
        assert_eq!(status, 422, "{text}");
        let p = problem(&head, &text);
        let d = p["detail"].as_str().unwrap();
        assert!(
            d.contains("width") && d.contains(wanted) && d.contains("cost limit"),
            "{p}"
        );
        let (status, _, text) = post(&body, Some(&token));
        assert_eq!(status, 200, "an officer's wide check: {text}");
    }
    // Longer than 1,000 km: 422 for anyone.
    let far =
        json!({"type": "LineString", "coordinates": [[24.0, 48.0], [40.0, 48.0]]}).to_string();
    let (status, head, body) = post(&far, Some(&token));
    assert_eq!(status, 422, "{body}");
    assert!(
        problem(&head, &body)["detail"]
            .as_str()
            .unwrap()
            .contains("1000 km")
    );
    // A page larger than the most served is served at the most (OGC API – Features Part 1 caps
    // `limit`), its self link saying so.
    let (status, _, body) = request(
        &addr,
        "GET",
        "/ogc/collections/hazardous-areas/items?limit=1000000",
        &[],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        page["numberReturned"].as_u64().unwrap() <= 10_000,
        "{}",
        page["numberReturned"]
    );
    assert!(
        page["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "self" && l["href"].as_str().unwrap().contains("limit=10000")),
        "the self link carries the capped limit: {}",
        page["links"]
    );
    // A body over the 1 MiB limit: 413.
    let huge = format!(
        "{{\"type\": \"LineString\", \"pad\": \"{}\"}}",
        "x".repeat(1 << 20)
    );
    let (status, _, body) = post(&huge, None);
    assert_eq!(status, 413, "{body}");
    // The cap: with room for one public route check at a time, several at once are refused 503
    // with Retry-After and a problem naming caps.route_checks, while one at a time all pass.
    let heavy = zigzag(c, MAX_VERTICES, 4_000.0, 1_000.0);
    let results: Vec<(u16, String, String)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8).map(|_| s.spawn(|| post(&heavy, None))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let busy: Vec<_> = results.iter().filter(|r| r.0 == 503).collect();
    assert!(
        results.iter().all(|r| r.0 == 200 || r.0 == 503),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert!(!busy.is_empty(), "eight at once against a cap of one");
    assert!(
        results.iter().any(|r| r.0 == 200),
        "the cap lets one through"
    );
    for (_, head, body) in busy {
        let p = problem(head, body);
        assert_eq!(p["limit"], "caps.route_checks", "{p}");
        assert!(header(head, "retry-after").is_some_and(|v| v.parse::<u64>().is_ok()));
    }
    // Token holders are not held to the public's caps.
    let results: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| post(&heavy, Some(&token)).0))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|s| *s == 200), "{results:?}");
}

#[test]
fn rate_limits_answer_429_and_forwarded_addresses_count_only_from_trusted_proxies() {
    let env = Env::with_store();
    let token = officer_token(&env);
    let db = env.path("store.db");
    let small = "[rate_limits.checks]\nburst = 3\nper_minute = 1\n[rate_limits.tiles]\nburst = 2\nper_minute = 1\n[rate_limits.items]\nburst = 2\nper_minute = 1\n";
    let untrusted = write_config(
        &env,
        "untrusted.toml",
        &format!("{small}[network]\ntrusted_proxies = [\"192.0.2.0/24\"]\n"),
    );
    let trusted = write_config(
        &env,
        "trusted.toml",
        &format!("{small}[network]\ntrusted_proxies = [\"127.0.0.1\"]\n"),
    );
    let check = "/api/check/point?lon=30.5&lat=50.4";
    let get = |addr: &str, path: &str, h: &[(&str, &str)]| request(addr, "GET", path, h, "");
    {
        let server = Server::start(&db, Some(&untrusted));
        let addr = &server.addr;
        // Each client writes a different X-Forwarded-For: from an untrusted peer it is ignored,
        // so all are one client.
        let mut statuses = Vec::new();
        for i in 0..5 {
            let xff = format!("203.0.113.{i}");
            let (status, head, body) = get(addr, check, &[("X-Forwarded-For", &xff)]);
            if status == 429 {
                let p = problem(&head, &body);
                assert_eq!(p["limit"], "rate_limits.checks", "{p}");
                let wait: u64 = header(&head, "retry-after").unwrap().parse().unwrap();
                assert!((1..=60).contains(&wait), "Retry-After {wait}");
            }
            statuses.push(status);
        }
        assert_eq!(statuses, [200, 200, 200, 429, 429]);
        // Tiles and items have their own buckets.
        let tile = "/tiles/10/600/345.mvt";
        let tiles: Vec<u16> = (0..3).map(|_| get(addr, tile, &[]).0).collect();
        assert_eq!(tiles, [200, 200, 429]);
        let items = "/ogc/collections/hazardous-areas/items";
        let (_, _, _) = get(addr, items, &[]);
        let (_, _, _) = get(addr, items, &[]);
        let (status, head, body) = get(addr, items, &[]);
        assert_eq!(status, 429, "{body}");
        assert_eq!(problem(&head, &body)["limit"], "rate_limits.items");
        // An officer's token is not held to the public's limit (its own is 20 times larger).
        let auth = format!("Bearer {token}");
        for _ in 0..10 {
            let (status, _, body) = get(addr, check, &[("Authorization", &auth)]);
            assert_eq!(status, 200, "officer: {body}");
        }
    }
    {
        // Behind a trusted proxy (the loopback peer), each forwarded client has its own bucket,
        // read from the right past trusted hops; a forged entry on the left does not help.
        let server = Server::start(&db, Some(&trusted));
        let addr = &server.addr;
        for i in 0..5 {
            let xff = format!("198.51.100.1, 203.0.113.{i}");
            for _ in 0..3 {
                let (status, _, body) = get(addr, check, &[("X-Forwarded-For", &xff)]);
                assert_eq!(status, 200, "client {i}: {body}");
            }
            let (status, _, _) = get(addr, check, &[("X-Forwarded-For", &xff)]);
            assert_eq!(status, 429, "client {i}'s fourth check");
        }
        // RFC 7239 Forwarded names the client too.
        let fwd = "for=\"[2001:db8:cafe::17]:4711\"";
        let statuses: Vec<u16> = (0..4)
            .map(|_| get(addr, check, &[("Forwarded", fwd)]).0)
            .collect();
        assert_eq!(statuses, [200, 200, 200, 429]);
    }
}

#[test]
fn sigterm_finishes_a_report_in_progress_before_the_service_exits() {
    let env = Env::with_store();
    let server = Server::start(&env.path("store.db"), None);
    let addr = server.addr.clone();
    let body = json!({"lon": 30.5, "lat": 50.4, "category": "mine",
        "description": "sent over a slow link while the service stops"})
    .to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /api/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    s.flush().unwrap();
    // The request is in progress (its head read, half its body) when the service is told to stop.
    std::thread::sleep(Duration::from_millis(500));
    server.signal_term();
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(rest.as_bytes()).unwrap();
    let (got, closed) = read_until_closed(&mut s, Duration::from_secs(30));
    assert!(closed, "the connection closes after its answer: {got:?}");
    assert!(
        got.starts_with("HTTP/1.1 201"),
        "the report is answered: {got:?}"
    );
    let reference = got
        .split("\"reference\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a reference")
        .to_string();
    assert_eq!(server.wait(), Some(0), "cairn serve exits 0 after SIGTERM");
    // What was acknowledged is in the store.
    let list = env.ok_json(&["reports", "list", "--state", "all", "--json"]);
    assert!(
        list.to_string().contains(&reference),
        "{reference} is stored: {list}"
    );
}
