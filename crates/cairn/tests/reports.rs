//! Reports from the public end to end with the real binary: a report answered 201 survives a
//! SIGKILL of `cairn serve` straight after the answer (many rounds, with clients in flight);
//! `cairn reports list | show | triage` as an information officer uses them; bad arguments and
//! bad `[reports]` settings refused with exit 2, changing nothing.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Output;

use std::sync::mpsc;
use std::time::Duration;

use common::server::{Server, cairn, http};

use serde_json::{Value, json};

/// Rounds of start, report, kill.
const ROUNDS: usize = 8;
/// Clients reporting at once in each round.
const CLIENTS: usize = 6;

fn run(db: &Path, args: &[&str]) -> Output {
    cairn(db).args(args).output().expect("run cairn")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "cairn {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn report(i: usize) -> String {
    json!({
        "lon": 36.0 + i as f64 * 0.001, "lat": 49.9, "accuracy_m": 8,
        "category": "mine",
        "description": format!("report number {i}: a green plastic object by the path"),
    })
    .to_string()
}

#[test]
fn a_report_answered_201_survives_sigkill_straight_after_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    ok(&db, &["init"]);
    let token = ok(
        &db,
        &["token", "create", "--name", "Olena", "--role", "officer"],
    );
    let token = token.trim().to_string();
    let mut answered: Vec<(String, usize)> = Vec::new();
    let mut in_flight_lost = 0;
    for round in 0..ROUNDS {
        let server = Server::start(&db, None);
        let (tx, rx) = mpsc::channel();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let addr = server.addr.clone();
                let tx = tx.clone();
                let i = round * CLIENTS + c;
                std::thread::spawn(move || {
                    let (status, body) = http(&addr, "POST", "/api/reports", None, &report(i));
                    let _ = tx.send(());
                    (i, status, body)
                })
            })
            .collect();
        // The first answer to arrive: kill at once, with the other clients possibly in flight.
        rx.recv_timeout(Duration::from_secs(60))
            .expect("a client is answered");
        server.kill();
        for c in clients {
            let (i, status, body) = c.join().expect("client thread");
            if status == 201 {
                let v: Value = serde_json::from_str(&body).expect("201 carries JSON");
                answered.push((v["reference"].as_str().unwrap().to_string(), i));
            } else {
                // Killed before its answer: the client was not told it is stored.
                assert!(
                    status == 0 || status == 503,
                    "unexpected answer {status}: {body}"
                );
                in_flight_lost += 1;
            }
        }
    }
    println!(
        "{} reports answered 201 across {ROUNDS} kills; {in_flight_lost} requests cut off before their answer",
        answered.len()
    );
    assert!(answered.len() >= ROUNDS);

    // Every report that was answered is in the store, found by its reference, as sent.
    let list: Value =
        serde_json::from_str(&ok(&db, &["reports", "list", "--state", "all", "--json"])).unwrap();
    let stored = list["total"].as_u64().unwrap() as usize;
    assert!(
        stored >= answered.len(),
        "{stored} stored < {} answered",
        answered.len()
    );
    let server = Server::start(&db, None);
    for (reference, i) in &answered {
        let (status, body) = http(
            &server.addr,
            "GET",
            &format!("/api/reports/{reference}"),
            Some(&token),
            "",
        );
        assert_eq!(
            status, 200,
            "{reference} was answered 201 but is lost: {body}"
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["description"],
            format!("report number {i}: a green plastic object by the path")
        );
        let shown: Value =
            serde_json::from_str(&ok(&db, &["reports", "show", reference, "--json"])).unwrap();
        assert_eq!(shown["reference"], reference.as_str());
    }
    drop(server);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

fn write_png(path: &Path) {
    // A 1×1 PNG (drawn by the image crate, as the service decodes it) with a text chunk naming
    // its author.
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut h = crc32fast::Hasher::new();
        h.update(kind);
        h.update(data);
        c.extend_from_slice(&h.finalize().to_be_bytes());
        c
    };
    let mut plain = Vec::new();
    image::RgbImage::from_pixel(1, 1, image::Rgb([90, 60, 30]))
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut plain))
        .unwrap();
    let after_ihdr = 8 + 12 + 13;
    let mut png = plain[..after_ihdr].to_vec();
    png.extend(chunk(b"tEXt", b"Author\0Halyna Kovalenko"));
    png.extend_from_slice(&plain[after_ihdr..]);
    std::fs::write(path, png).unwrap();
}

#[test]
fn an_officer_lists_shows_and_triages_reports_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    ok(&db, &["init"]);
    let png = dir.path().join("in.png");
    write_png(&png);
    let photo = {
        use std::fmt::Write as _;
        let bytes = std::fs::read(&png).unwrap();
        // Base64 by hand keeps this test free of another dependency.
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in bytes.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for k in 0..4 {
                if k <= c.len() {
                    let _ = write!(s, "{}", A[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    };
    let server = Server::start(&db, None);
    let mut refs = Vec::new();
    for (i, cat) in ["mine", "grenade", "tripwire"].iter().enumerate() {
        let mut body = json!({"lon": 36.1 + i as f64 * 0.01, "lat": 49.95, "category": cat, "description": format!("seen {cat}")});
        if i == 0 {
            body["photo"] = Value::from(photo.clone());
        }
        let (status, text) = http(
            &server.addr,
            "POST",
            "/api/reports",
            None,
            &body.to_string(),
        );
        assert_eq!(status, 201, "{text}");
        refs.push(
            serde_json::from_str::<Value>(&text).unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    drop(server);

    // The queue, human-readable and as JSON.
    let text = ok(&db, &["reports", "list"]);
    for r in &refs {
        assert!(text.contains(r.as_str()), "{text}");
    }
    assert!(
        text.contains("[photo]") && text.contains("tripwire"),
        "{text}"
    );
    let list: Value = serde_json::from_str(&ok(&db, &["reports", "list", "--json"])).unwrap();
    assert_eq!(list["total"], 3);
    assert_eq!(list["reports"][0]["state"], "new");

    // One report, with its photo written out, stripped of its author.
    let out = dir.path().join("out.png");
    let shown = ok(
        &db,
        &[
            "reports",
            "show",
            &refs[0].to_lowercase(),
            "--photo",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        shown.contains(&refs[0]) && shown.contains("mine") && shown.contains("image/png"),
        "{shown}"
    );
    let written = std::fs::read(&out).unwrap();
    assert!(written.starts_with(b"\x89PNG"));
    assert!(!String::from_utf8_lossy(&written).contains("Kovalenko"));

    // Triage: open, link, dismiss, attributed to --by.
    let opened: Value = serde_json::from_str(&ok(
        &db,
        &[
            "reports", "triage", &refs[0], "--open", "--by", "Olena", "--json",
        ],
    ))
    .unwrap();
    assert_eq!(opened["state"], "opened");
    assert_eq!(opened["triage"]["by"], "Olena");
    let area = opened["triage"]["area_id"].as_str().unwrap().to_string();
    let feature: Value = serde_json::from_str(&ok(&db, &["show", &area, "--json"])).unwrap();
    assert_eq!(feature["feature"]["properties"]["status"], "reported");
    assert_eq!(feature["revision"]["author"], "Olena");
    let history = ok(&db, &["history", &area]);
    assert!(
        history.contains("Olena") && history.contains(&refs[0]),
        "{history}"
    );
    let text = ok(
        &db,
        &[
            "reports", "triage", &refs[1], "--link", &area, "--by", "Olena",
        ],
    );
    assert!(text.contains("linked to") && text.contains(&area), "{text}");
    let text = ok(
        &db,
        &[
            "reports",
            "triage",
            &refs[2],
            "--dismiss",
            "a fence post, seen by police",
        ],
    );
    assert!(text.contains("dismissed"), "{text}");
    let shown = ok(&db, &["reports", "show", &refs[2]]);
    assert!(
        shown.contains("dismissed: a fence post, seen by police") && shown.contains("test author"),
        "{shown}"
    );
    assert!(ok(&db, &["reports", "list"]).contains("no reports (new)"));
    let dismissed: Value = serde_json::from_str(&ok(
        &db,
        &["reports", "list", "--state", "dismissed", "--json"],
    ))
    .unwrap();
    assert_eq!(dismissed["reports"][0]["reference"], refs[2].as_str());

    // Bad arguments: exit 2, a sentence naming what is wrong, nothing changed.
    let before_list = ok(&db, &["reports", "list", "--state", "all", "--json"]);
    let unknown = "R-2222-2222";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["reports", "triage", &refs[0], "--dismiss", "again"],
            "already triaged",
        ),
        (
            vec!["reports", "triage", &refs[1], "--open"],
            "already triaged",
        ),
        (
            vec!["reports", "triage", unknown, "--open"],
            "no report R-2222-2222",
        ),
        (
            vec!["reports", "triage", "R-7K3Q", "--open"],
            "not a report reference",
        ),
        (vec!["reports", "triage", &refs[0]], "--link"),
        (
            vec!["reports", "triage", &refs[0], "--open", "--dismiss", "x"],
            "cannot be used with",
        ),
        (
            vec!["reports", "triage", &refs[0], "--dismiss", " "],
            "--dismiss needs a reason",
        ),
        (
            vec!["reports", "list", "--state", "closed"],
            "--state: \"closed\" is not one of new, linked, opened, dismissed, all",
        ),
        (
            vec![
                "reports",
                "show",
                &refs[0],
                "--photo",
                "/nonexistent/dir/p.png",
            ],
            "cannot write",
        ),
    ];
    for (args, wanted) in cases {
        let out = run(&db, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(wanted), "{args:?}: {err:?} lacks {wanted:?}");
    }
    assert_eq!(
        ok(&db, &["reports", "list", "--state", "all", "--json"]),
        before_list
    );
}

#[test]
fn a_link_to_a_missing_area_and_bad_report_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    ok(&db, &["init"]);
    let config = dir.path().join("cairn.toml");
    std::fs::write(
        &config,
        "[reports]\nrate_burst = 1\nrate_per_hour = 1\nphoto_max_bytes = 4096\n",
    )
    .unwrap();
    let server = Server::start(&db, Some(&config));
    let (status, text) = http(&server.addr, "POST", "/api/reports", None, &report(1));
    assert_eq!(status, 201, "{text}");
    let reference = serde_json::from_str::<Value>(&text).unwrap()["reference"]
        .as_str()
        .unwrap()
        .to_string();
    // The settings are in force: a second report from this address waits an hour.
    let (status, text) = http(&server.addr, "POST", "/api/reports", None, &report(2));
    assert_eq!(status, 429, "{text}");
    drop(server);
    let out = run(
        &db,
        &["reports", "triage", &reference, "--link", "HA-404404"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no hazardous area HA-404404"));
    let shown: Value =
        serde_json::from_str(&ok(&db, &["reports", "show", &reference, "--json"])).unwrap();
    assert_eq!(shown["state"], "new");
    for (toml, wanted) in [
        (
            "[reports]\nrate_burst = 0\n",
            "reports.rate_burst must be at least 1",
        ),
        (
            "[reports]\nphoto_max_bytes = 10\n",
            "reports.photo_max_bytes must be from 1024",
        ),
        ("[reports]\nrate_limt = false\n", "rate_limt"),
    ] {
        std::fs::write(&config, toml).unwrap();
        let out = run(&db, &["serve", "--config", config.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{toml}: {err}");
        assert!(
            err.contains(wanted) && err.contains("cairn.toml"),
            "{toml}: {err}"
        );
    }
}
