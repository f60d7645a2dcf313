//! The public hazard map in a real browser: `cairn demo` serves it, Debian's headless Chromium
//! (driven by playwright-core through `tests/browser/map.mjs`) opens it on a phone-sized and a
//! desktop-sized screen with every host but loopback unreachable, and checks that hazards are
//! drawn, that checking a place on a hazard shows the danger advice, that the language switch
//! works, that a route check lists what it crosses, that a report sent through the form is
//! answered with a reference and stored, and that the page made no outside request and logged
//! no error. Screenshots go to `<target dir>/test-artifacts/map-*.png`.
//!
//! Chromium must be installed at /usr/bin/chromium (scripts/test installs it); without it the
//! test fails rather than skips. Node and npm must be on the PATH; the test runs `npm ci` in
//! `tests/browser` when playwright-core is not installed there yet.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::browser::{
    Server, browser_dir, ensure_playwright, require_chromium, run_node, start_cairn, target_dir,
};
use common::postgres::Database;
use common::server::{get, get_json};
use serde_json::Value;

/// How many areas the demo store holds.
const AREAS: &str = "1500";
/// The longest the demo may take to build its store and start serving.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// The longest the browser run may take.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(420);

/// Starts `cairn demo` on a free loopback port and waits until it serves.
fn start_demo(dir: &Path, db: &str) -> Server {
    start_cairn(
        dir,
        db,
        &["demo", "--areas", AREAS, "--addr", "127.0.0.1:0"],
        START_TIMEOUT,
    )
}

/// True when the service says the place lies inside a hazard.
fn inside(addr: &str, lon: f64, lat: f64) -> bool {
    let a = get_json(
        addr,
        &format!("/api/check/point?lon={lon:.7}&lat={lat:.7}&accuracy=0"),
    );
    a["inside"].as_array().is_some_and(|v| !v.is_empty())
}

/// A place well inside a public hazard: the middle of a spot or of an area's vertices, such that
/// the places 15 m around it are inside too (a tap on a screen is not exact).
fn place_inside_a_hazard(addr: &str) -> (f64, f64) {
    let items = get_json(addr, "/ogc/collections/hazardous-areas/items?limit=100");
    let features = items["features"].as_array().expect("features");
    assert!(!features.is_empty(), "the demo store has no public hazard");
    for f in features {
        let g = &f["geometry"];
        let points: Vec<(f64, f64)> = match g["type"].as_str() {
            // Every hazard comes as its footprint: its outline's first ring.
            Some("MultiPolygon") => g["coordinates"][0][0]
                .as_array()
                .map(|ring| {
                    ring.iter()
                        .filter_map(|c| Some((c[0].as_f64()?, c[1].as_f64()?)))
                        .collect()
                })
                .unwrap_or_default(),
            _ => continue,
        };
        if points.is_empty() {
            continue;
        }
        let n = points.len() as f64;
        let lon = points.iter().map(|p| p.0).sum::<f64>() / n;
        let lat = points.iter().map(|p| p.1).sum::<f64>() / n;
        let d_lat = 15.0 / 111_320.0;
        let d_lon = d_lat / lat.to_radians().cos();
        let around = [
            (lon, lat),
            (lon + d_lon, lat),
            (lon - d_lon, lat),
            (lon, lat + d_lat),
            (lon, lat - d_lat),
        ];
        if around.iter().all(|&(x, y)| inside(addr, x, y)) {
            return (lon, lat);
        }
    }
    panic!("none of the first 100 public hazards has a place 15 m inside it all round");
}

#[test]
fn the_public_map_works_offline_in_a_phone_and_a_desktop_browser() {
    the_public_map_works_offline_on(None);
}

/// The same with the demo on PostgreSQL/PostGIS (the test cluster of `CAIRN_TEST_PG`); its
/// screenshots go to `test-artifacts/postgres/`.
#[test]
fn the_public_map_works_offline_in_a_phone_and_a_desktop_browser_on_postgresql() {
    the_public_map_works_offline_on(Some(Database::fresh()));
}

fn the_public_map_works_offline_on(pg: Option<Database>) {
    require_chromium();
    let started = Instant::now();
    let browser_dir = browser_dir();
    ensure_playwright(&browser_dir);
    let npm_done = started.elapsed();

    let tmp = tempfile::tempdir().expect("a temporary directory");
    let db = match &pg {
        Some(d) => d.url.clone(),
        None => tmp.path().join("demo.db").to_string_lossy().into_owned(),
    };
    let demo = start_demo(tmp.path(), &db);
    let serving = started.elapsed();
    let url = format!("http://{}/", demo.addr);

    // The page and its files are there before a browser is involved.
    let (status, page) = get(&demo.addr, "/");
    assert_eq!(status, 200, "GET / answered {status}");
    assert!(
        page.contains("/app.js"),
        "GET / is not the map page: {page}"
    );

    let (lon, lat) = place_inside_a_hazard(&demo.addr);
    let out = match &pg {
        Some(_) => target_dir().join("test-artifacts").join("postgres"),
        None => target_dir().join("test-artifacts"),
    };
    std::fs::create_dir_all(&out).expect("create the test-artifacts folder");

    let (ok, text) = run_node(
        &browser_dir,
        &[
            "map.mjs",
            &url,
            &out.to_string_lossy(),
            &format!("{lon:.7}"),
            &format!("{lat:.7}"),
        ],
        BROWSER_TIMEOUT,
    );
    println!("{text}");
    println!(
        "timing: npm {:.1} s, demo serving after {:.1} s, browser run {:.1} s, total {:.1} s; screenshots in {}",
        npm_done.as_secs_f64(),
        (serving - npm_done).as_secs_f64(),
        (started.elapsed() - serving).as_secs_f64(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    assert!(
        ok,
        "the map failed in the browser (hazard place {lon}, {lat}):\n{text}"
    );
    // The report sent through the form is in the store, as the form sent it.
    let reference = text
        .lines()
        .find_map(|l| l.strip_prefix("report reference: "))
        .map(str::trim)
        .expect("the browser run printed the report's reference");
    let shown = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .env_remove("CAIRN_DB")
        .arg("--db")
        .arg(&db)
        .args(["reports", "show", reference, "--json"])
        .output()
        .expect("run cairn reports show");
    assert!(
        shown.status.success(),
        "the report {reference} the page showed is not in the store: {}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let report: Value = serde_json::from_slice(&shown.stdout).expect("reports show --json");
    assert_eq!(report["category"], "shell-or-bomb");
    assert_eq!(
        report["description"],
        "Browser test: a rusty shell by the path"
    );
    assert_eq!(
        report["photo"]["type"], "image/jpeg",
        "the page sends the photo redrawn as JPEG"
    );
    assert_eq!(report["state"], "new");
    for name in [
        "phone-report",
        "phone",
        "phone-check",
        "phone-uk",
        "desktop",
        "desktop-route",
    ] {
        let f = out.join(format!("map-{name}.png"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{} is missing or too small", f.display());
    }

    // The information officer's desk: sign in with a token, open an area from the report the
    // page sent, and read that area's history.
    let made = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .env_remove("CAIRN_DB")
        .arg("--db")
        .arg(&db)
        .args([
            "token",
            "create",
            "--name",
            "Browser officer",
            "--role",
            "officer",
        ])
        .output()
        .expect("run cairn token create");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = String::from_utf8_lossy(&made.stdout).trim().to_string();
    let officer = Command::new("node")
        .arg("officer.mjs")
        .arg(&url)
        .arg(&out)
        .arg(&token)
        .arg(reference)
        .current_dir(&browser_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); this test needs node on the PATH"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&officer.stdout),
        String::from_utf8_lossy(&officer.stderr)
    );
    println!("{said}");
    drop(demo);
    assert!(
        officer.status.success(),
        "the officer's desk failed:\n{said}"
    );
    let area = said
        .lines()
        .find_map(|l| l.strip_prefix("opened area: "))
        .map(str::trim)
        .expect("the officer run printed the opened area");
    let history = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .env_remove("CAIRN_DB")
        .arg("--db")
        .arg(&db)
        .args(["history", area, "--json"])
        .output()
        .expect("run cairn history");
    let history = String::from_utf8_lossy(&history.stdout);
    assert!(
        history.contains("Browser officer"),
        "the area opened on the desk is attributed to the officer: {history}"
    );
    for name in ["officer-queue", "officer-history", "officer-certificate"] {
        let f = out.join(format!("{name}.png"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{} is missing or too small", f.display());
    }
}
