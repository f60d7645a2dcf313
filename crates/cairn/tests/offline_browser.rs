//! The public map on the move, in a real browser: a store with two known hazards is served by
//! `cairn serve`, and Debian's headless Chromium (driven by playwright-core through
//! `tests/browser/offline.mjs`, every host but loopback unreachable) uses the page as a person
//! walking near them would: "warn me as I walk" with the GPS overridden along a track that
//! approaches a hazard and one that passes 200 m from it, the selected hazard in the address, the
//! language remembered, the title on a phone, axe-core on the map, the report form and the
//! officers' and auditors' pages, and "keep this area for offline use". Then the server process
//! is killed, and the page must open again from its service worker, draw the kept hazards,
//! answer a place check and warn on the same tracks from what was kept. Screenshots go to
//! `<target dir>/test-artifacts/offline-*.png`.
//!
//! Chromium must be installed at /usr/bin/chromium (scripts/test installs it); without it the
//! test fails rather than skips.

mod common;

use std::process::Command;
use std::time::Duration;

use common::browser::{
    browser_dir, ensure_playwright, require_chromium, run_node, start_cairn, target_dir,
};
use serde_json::json;

/// The square hazard: about 150 m by 110 m near Dnipro (fictional).
const SQUARE: (f64, f64, f64, f64) = (35.100, 48.500, 35.102, 48.501);
/// The spot hazard, about 1.1 km east of the square.
const SPOT: (f64, f64, f64) = (35.117, 48.5005, 40.0);

#[test]
fn the_map_warns_as_one_walks_and_works_offline_on_a_kept_area() {
    require_chromium();
    let dir = browser_dir();
    ensure_playwright(&dir);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let db = tmp.path().join("offline.db");
    let (w, s, e, n) = SQUARE;
    let data = json!({
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "HA-000001",
                "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
                "properties": {"name": "Field west of the farm", "status": "confirmed", "classification": "public",
                    "reported_at": "2026-11-20T09:00:00Z"}
            },
            {
                "type": "Feature",
                "id": "HA-000002",
                "geometry": {"type": "Point", "coordinates": [SPOT.0, SPOT.1]},
                "properties": {"name": "Crater by the road", "status": "suspected", "classification": "public",
                    "radius_m": SPOT.2, "reported_at": "2026-11-21T09:00:00Z"}
            }
        ]
    });
    let file = tmp.path().join("hazards.geojson");
    std::fs::write(&file, data.to_string()).expect("write the hazards");
    let import = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .env_remove("CAIRN_DB")
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg(&file)
        .output()
        .expect("run cairn import");
    assert!(
        import.status.success(),
        "import: {}",
        String::from_utf8_lossy(&import.stderr)
    );

    let server = start_cairn(
        tmp.path(),
        &db,
        &["serve", "--addr", "127.0.0.1:0"],
        Duration::from_secs(60),
    );
    let url = format!("http://{}/", server.addr);
    let out = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&out).expect("create the test-artifacts folder");
    let fixture = json!({
        "square": {"id": "HA-000001", "name": "Field west of the farm", "w": w, "s": s, "e": e, "n": n},
        "spot": {"id": "HA-000002", "lon": SPOT.0, "lat": SPOT.1, "radius_m": SPOT.2},
    });
    let (ok, text) = run_node(
        &dir,
        &[
            "offline.mjs",
            &url,
            &out.to_string_lossy(),
            &server.pid().to_string(),
            &fixture.to_string(),
        ],
        Duration::from_secs(600),
    );
    println!("{text}");
    drop(server);
    assert!(ok, "the map on the move failed in the browser:\n{text}");
    for name in [
        "offline-online-approach",
        "offline-kept",
        "offline-map",
        "offline-check",
        "offline-offline-approach",
    ] {
        let f = out.join(format!("{name}.png"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{} is missing or too small", f.display());
    }
}
