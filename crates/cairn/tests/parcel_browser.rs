//! "Is my land affected?" (`/parcel`) in a real browser: `cairn serve` on a store with two
//! public hazards and a restricted one, Debian's headless Chromium driven by playwright-core
//! through `tests/browser/parcel.mjs` on a phone-sized screen with every host but loopback
//! unreachable. A screenshot goes to `<target dir>/test-artifacts/parcel.png`. Chromium must be at
//! /usr/bin/chromium (scripts/test installs it); without it the test fails rather than skips.

mod common;

use common::browser::{browser_dir, ensure_playwright, require_chromium, run_node, target_dir};
use common::env::Env;
use common::server::Server;
use serde_json::{Value, json};

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

/// "Is my land affected?" in a real browser (`tests/browser/parcel.mjs`): a pasted parcel gives
/// the extract with its hazards and a danger zone, in Ukrainian and then English, and a PDF.
#[test]
fn the_parcel_page_in_a_browser() {
    require_chromium();
    let browser = browser_dir();
    ensure_playwright(&browser);
    let e = Env::new();
    let (lon, lat) = (30.52, 50.45);
    e.write(
        "areas.geojson",
        &json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "HA-000001", "geometry": rect(lon - 0.004, lat - 0.002, lon + 0.001, lat + 0.002),
             "properties": {"status": "confirmed", "classification": "public"}},
            {"type": "Feature", "id": "HA-000002", "geometry": {"type": "Point", "coordinates": [lon + 0.004, lat]},
             "properties": {"status": "suspected", "classification": "public", "radius_m": 150.0}},
            {"type": "Feature", "id": "HA-000003", "geometry": rect(lon - 0.001, lat - 0.0035, lon + 0.0005, lat - 0.0025),
             "properties": {"status": "confirmed", "classification": "restricted", "name": "secret orchard"}}
        ]}),
    );
    e.ok(&["import", &e.p("areas.geojson")]);
    let server = Server::start(&e.path("store.db"), None);
    let parcel = rect(lon - 0.002, lat - 0.003, lon + 0.0075, lat + 0.001).to_string();
    let out = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&out).unwrap();
    let png = out.join("parcel.png");
    let (ok, said) = run_node(
        &browser,
        &[
            "parcel.mjs",
            &format!("http://{}/parcel", server.addr),
            &parcel,
            "HA-000001,HA-000002",
            &png.to_string_lossy(),
        ],
        std::time::Duration::from_secs(240),
    );
    server.kill();
    println!("{said}");
    assert!(ok, "the parcel page failed in the browser:\n{said}");
    assert!(!said.contains("HA-000003"), "{said}");
}
