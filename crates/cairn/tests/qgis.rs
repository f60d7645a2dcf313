//! QGIS 3.22 (Debian `python3-qgis`, installed by scripts/test) as a GIS officer's client of a
//! running `cairn serve` on the demo data: the OAPIF layer is one MultiPolygon layer with every
//! public hazard, spots and corridors drawn as their outlines; a subset string's date goes to the
//! server and the subset equals the export's; with HTTP Basic credentials (a QGIS authentication
//! configuration) the officer's view appears; the GeoPackage export opens as one layer per kind of
//! record; the vector tiles open. The checks are in `clients/qgis_client.py`.
//!
//! Not here: an edit made in QGIS. QGIS 3.22's OAPIF provider offers no editing (no OGC API –
//! Features Part 4; it came with later QGIS releases), so Part 4 is tested through
//! `clients/edit_client.py` and the router tests instead.

mod common;

use std::process::Command;

use common::server::{Server, cairn_ok as ok};

#[test]
fn qgis_reads_the_layer_logs_in_and_opens_the_exports_and_tiles() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let db = dir.join("demo.db");
    ok(&db, &["demo", "--areas", "1500", "--no-serve"]);
    let public = dir.join("public.geojson");
    let full = dir.join("full.geojson");
    let gpkg = dir.join("all.gpkg");
    ok(&db, &["export", "--public", "-o", public.to_str().unwrap()]);
    ok(&db, &["export", "-o", full.to_str().unwrap()]);
    ok(&db, &["export", "-o", gpkg.to_str().unwrap()]);
    let token = ok(
        &db,
        &["token", "create", "--name", "qgis", "--role", "officer"],
    )
    .trim()
    .to_string();
    let server = Server::start(&db, None);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/qgis_client.py");
    // Debian's interpreter, which has QGIS's bindings; a profile of its own in the temp dir.
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .args([&server.addr, &token])
        .args([&public, &full, &gpkg])
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("HOME", dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("/usr/bin/python3 is needed with python3-qgis (scripts/test installs it): {e}")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("ok   the vector tiles open"),
        "QGIS's checks failed ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
}
