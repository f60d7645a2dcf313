//! End-to-end tests of the `cairn` binary: round trips through every format, history and
//! past states, the public export, and the store's set-up. Each runs the real binary in a temp dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `cairn --db store.db ARGS` in the temp dir.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(self.dir.path())
            .env_remove("CAIRN_DB")
            .env("CAIRN_AUTHOR", "test author")
            .arg("--db")
            .arg(self.path("store.db"))
            .args(args)
            .output()
            .expect("run cairn")
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "cairn {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.path(name)).expect("read")).expect("json")
    }

    fn write(&self, name: &str, v: &Value) {
        std::fs::write(self.path(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }
}

/// Compares two coordinate trees: same shape, every number within `tol`.
fn coords_close(a: &Value, b: &Value, tol: f64) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| coords_close(p, q, tol))
        }
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() <= tol
        }
        _ => false,
    }
}

/// Asserts that two feature lists hold the same features: ids, geometry within 1e-9 degrees, properties equal.
fn assert_same_features(a: &[Value], b: &[Value]) {
    assert_eq!(a.len(), b.len(), "feature counts differ");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["id"], y["id"]);
        assert_eq!(x["geometry"]["type"], y["geometry"]["type"], "{}", x["id"]);
        assert!(
            coords_close(
                &x["geometry"]["coordinates"],
                &y["geometry"]["coordinates"],
                1e-9
            ),
            "geometry of {} differs",
            x["id"]
        );
        assert_eq!(
            x["properties"], y["properties"],
            "properties of {} differ",
            x["id"]
        );
    }
}

fn features(v: &Value) -> Vec<Value> {
    v["features"].as_array().expect("features").clone()
}

#[test]
fn synth_import_export_geojson_round_trip() {
    let e = Env::new();
    e.ok(&[
        "synth",
        "--areas",
        "1500",
        "--seed",
        "42",
        "-o",
        "synth.geojson",
    ]);
    let out = e.ok(&["import", "synth.geojson"]);
    assert!(out.contains("1500 created"), "{out}");
    e.ok(&["export", "-o", "back.geojson"]);
    assert_same_features(
        &features(&e.json("synth.geojson")),
        &features(&e.json("back.geojson")),
    );
    // The data set is realistic: every status and geometry kind occurs.
    let f = features(&e.json("synth.geojson"));
    for s in [
        "reported",
        "suspected",
        "confirmed",
        "reduced",
        "cancelled",
        "cleared",
        "closed",
    ] {
        assert!(f.iter().any(|x| x["properties"]["status"] == s), "no {s}");
    }
    for t in ["Polygon", "MultiPolygon", "Point", "LineString"] {
        assert!(f.iter().any(|x| x["geometry"]["type"] == t), "no {t}");
    }
    // Importing the same file again changes nothing and records no changeset.
    let out = e.ok(&["import", "synth.geojson"]);
    assert!(
        out.contains("0 created, 0 updated, 1500 unchanged"),
        "{out}"
    );
}

#[test]
fn csv_round_trip_matches_geojson() {
    let e = Env::new();
    e.ok(&["synth", "--areas", "400", "--seed", "9", "-o", "synth.csv"]);
    e.ok(&[
        "synth",
        "--areas",
        "400",
        "--seed",
        "9",
        "-o",
        "synth.geojson",
    ]);
    e.ok(&["import", "synth.csv"]);
    e.ok(&["export", "-o", "back.geojson"]);
    assert_same_features(
        &features(&e.json("synth.geojson")),
        &features(&e.json("back.geojson")),
    );
    e.ok(&["export", "-o", "back.csv"]);
    let a = std::fs::read_to_string(e.path("synth.csv")).unwrap();
    let b = std::fs::read_to_string(e.path("back.csv")).unwrap();
    assert_eq!(a.lines().count(), b.lines().count());
    assert_eq!(
        a, b,
        "CSV export differs from the synth CSV it was imported from"
    );
}

fn gdal(cmd: &str, args: &[&str], dir: &Path) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{cmd} is needed (Debian package gdal-bin; scripts/test installs it): {e}")
        });
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn geopackage_export_is_read_by_gdal_feature_for_feature() {
    let e = Env::new();
    e.ok(&[
        "synth",
        "--areas",
        "800",
        "--seed",
        "5",
        "-o",
        "synth.geojson",
    ]);
    e.ok(&["import", "synth.geojson"]);
    e.ok(&["export", "-o", "areas.gpkg"]);
    let info = gdal(
        "ogrinfo",
        &["-ro", "-al", "-so", "areas.gpkg"],
        e.dir.path(),
    );
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("Feature Count: 800"), "{text}");
    // A layer for each kind of record, empty when there is none.
    for layer in [
        "Layer name: activities",
        "Layer name: releases",
        "Layer name: post_release_finds",
        "Layer name: accidents",
        "Layer name: zones",
    ] {
        assert!(text.contains(layer), "{layer}: {text}");
    }
    // One geometry type for the layer, and real dates.
    assert!(text.contains("Geometry: Multi Polygon"), "{text}");
    assert!(text.contains("reported_at: DateTime"), "{text}");
    assert!(!String::from_utf8_lossy(&info.stderr).contains("ERROR"));
    gdal(
        "ogr2ogr",
        &[
            "-f",
            "GeoJSON",
            "gdal.geojson",
            "areas.gpkg",
            "hazardous_areas",
        ],
        e.dir.path(),
    );
    let ours = features(&e.json("synth.geojson"));
    let theirs = features(&e.json("gdal.geojson"));
    assert_eq!(ours.len(), theirs.len());
    let mut by_id: std::collections::HashMap<String, &Value> = std::collections::HashMap::new();
    for t in &theirs {
        by_id.insert(t["properties"]["id"].as_str().unwrap().to_string(), t);
    }
    for o in &ours {
        let t = by_id[o["id"].as_str().unwrap()];
        // Every hazard is its footprint: a polygon as a multipolygon of one part, a spot or a
        // corridor as its outline with its centre as WKT beside it.
        assert_eq!(t["geometry"]["type"], "MultiPolygon", "{}", o["id"]);
        let ours = &o["geometry"]["coordinates"];
        let same = match o["geometry"]["type"].as_str().unwrap() {
            "Polygon" => coords_close(&json!([ours]), &t["geometry"]["coordinates"], 1e-9),
            "MultiPolygon" => coords_close(ours, &t["geometry"]["coordinates"], 1e-9),
            _ => {
                let centre = t["properties"]["centre_wkt"].as_str().unwrap_or_default();
                let numbers: Vec<f64> = centre
                    .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                    .filter_map(|x| x.parse().ok())
                    .collect();
                fn flatten(v: &Value, out: &mut Vec<f64>) {
                    match v {
                        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
                        Value::Number(n) => out.push(n.as_f64().unwrap()),
                        _ => {}
                    }
                }
                let mut flat = Vec::new();
                flatten(ours, &mut flat);
                numbers.len() == flat.len()
                    && numbers
                        .iter()
                        .zip(&flat)
                        .all(|(a, b)| (a - b).abs() <= 1e-9)
            }
        };
        assert!(same, "{}: {} vs {}", o["id"], o["geometry"], t["geometry"]);
        // GDAL reads the DATETIME column as the moment exported.
        if let Some(r) = o["properties"]["reported_at"].as_str() {
            let ours = chrono::DateTime::parse_from_rfc3339(r).unwrap();
            let theirs = t["properties"]["reported_at"].as_str().unwrap_or_default();
            let theirs = chrono::DateTime::parse_from_rfc3339(theirs)
                .unwrap_or_else(|e| panic!("{}: reported_at {theirs:?}: {e}", o["id"]));
            assert_eq!(ours, theirs, "{}", o["id"]);
        }
        for k in [
            "status",
            "classification",
            "name",
            "marking",
            "organisation",
        ] {
            assert_eq!(o["properties"][k], t["properties"][k], "{} {k}", o["id"]);
        }
        // GDAL gives JSON text columns back either as text or, when it recognises JSON, as JSON.
        let devices: Value = match &t["properties"]["devices"] {
            Value::String(s) => serde_json::from_str(s).unwrap(),
            other => other.clone(),
        };
        assert_eq!(
            o["properties"]
                .get("devices")
                .cloned()
                .unwrap_or(Value::Null),
            devices
        );
        assert_eq!(
            o["properties"]
                .get("radius_m")
                .cloned()
                .unwrap_or(Value::Null),
            t["properties"]["radius_m"]
        );
    }
}

fn area(id: &str, status: &str, name: &str, x: f64) -> Value {
    serde_json::json!({
        "type": "Feature", "id": id,
        "geometry": {"type": "Polygon", "coordinates": [[[x, 49.9], [x + 0.1, 49.9], [x + 0.1, 50.0], [x, 49.9]]]},
        "properties": {"name": name, "status": status, "classification": "public",
            "evidence": {"kind": if status == "confirmed" { "direct" } else { "indirect" }},
            "devices": [{"type": "ap-mine-nonpersistent-15d", "quantity": 40,
                         "emplaced_from": "2026-10-01T00:00:00Z", "emplaced_to": "2026-10-03T00:00:00Z"}]}
    })
}

fn collection(fs: Vec<Value>) -> Value {
    serde_json::json!({"type": "FeatureCollection", "features": fs})
}

#[test]
fn history_shows_every_revision_and_as_of_reproduces_past_states() {
    let e = Env::new();
    e.write(
        "v1.geojson",
        &collection(vec![
            area("HA-1", "suspected", "Field", 36.1),
            area("HA-2", "suspected", "Verge", 37.1),
        ]),
    );
    e.ok(&[
        "import",
        "v1.geojson",
        "--author",
        "officer a",
        "--reason",
        "initial NTS records",
    ]);
    e.ok(&["export", "-o", "after-v1.geojson"]);
    e.ok(&["export", "-o", "after-v1.csv"]);
    let mut v2 = area("HA-1", "confirmed", "Field north of the school", 36.1);
    v2["properties"]["evidence"]["description"] = "two AP mines seen at the field edge".into();
    e.write(
        "v2.geojson",
        &collection(vec![v2.clone(), area("HA-2", "suspected", "Verge", 37.1)]),
    );
    let out = e.ok(&[
        "import",
        "v2.geojson",
        "--author",
        "officer b",
        "--reason",
        "technical survey confirmed",
    ]);
    assert!(out.contains("0 created, 1 updated, 1 unchanged"), "{out}");
    e.ok(&["export", "-o", "after-v2.geojson"]);
    let mut v3 = v2.clone();
    v3["geometry"]["coordinates"] = serde_json::json!([[
        [36.05, 49.85],
        [36.25, 49.85],
        [36.25, 50.05],
        [36.05, 50.05],
        [36.05, 49.85]
    ]]);
    v3["properties"]["marking"] = "marked".into();
    e.write("v3.geojson", &collection(vec![v3]));
    e.ok(&[
        "import",
        "v3.geojson",
        "--author",
        "officer c",
        "--reason",
        "perimeter widened and marked",
    ]);

    let h: Value = serde_json::from_str(&e.ok(&["history", "HA-1", "--json"])).unwrap();
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(
        h.iter()
            .map(|r| r["author"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["officer a", "officer b", "officer c"]
    );
    assert_eq!(h[1]["reason"], "technical survey confirmed");
    let changed = |i: usize| -> Vec<String> {
        h[i]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(changed(1), ["evidence", "name", "status"]);
    assert_eq!(changed(2), ["geometry", "marking"]);
    let text = e.ok(&["history", "HA-1"]);
    assert!(
        text.contains("3 revisions")
            && text.contains("officer b")
            && text.contains("status: \"suspected\" → \"confirmed\""),
        "{text}"
    );

    // Exports as of each recorded time reproduce the exports made then, byte for byte.
    let t1 = h[0]["recorded_at"].as_str().unwrap().to_string();
    let t2 = h[1]["recorded_at"].as_str().unwrap().to_string();
    e.ok(&["export", "--as-of", &t1, "-o", "asof-1.geojson"]);
    e.ok(&["export", "--as-of", &t1, "-o", "asof-1.csv"]);
    e.ok(&["export", "--as-of", &t2, "-o", "asof-2.geojson"]);
    let read = |n: &str| std::fs::read(e.path(n)).unwrap();
    assert_eq!(read("asof-1.geojson"), read("after-v1.geojson"));
    assert_eq!(read("asof-1.csv"), read("after-v1.csv"));
    assert_eq!(read("asof-2.geojson"), read("after-v2.geojson"));
    // Before anything was recorded there was nothing.
    e.ok(&[
        "export",
        "--as-of",
        "2000-01-01T00:00:00Z",
        "-o",
        "empty.geojson",
    ]);
    assert!(features(&e.json("empty.geojson")).is_empty());
    // `show --as-of` gives the old revision.
    let old: Value =
        serde_json::from_str(&e.ok(&["show", "HA-1", "--as-of", &t1, "--json"])).unwrap();
    assert_eq!(old["feature"]["properties"]["status"], "suspected");
    assert_eq!(old["revision"]["seq"], 1);
}

#[test]
fn show_gives_the_residual_hazard_estimate() {
    let e = Env::new();
    e.write(
        "a.geojson",
        &collection(vec![area("HA-000123", "confirmed", "Field", 36.1)]),
    );
    e.ok(&["import", "a.geojson"]);
    let v: Value = serde_json::from_str(&e.ok(&[
        "show",
        "HA-000123",
        "--json",
        "--at",
        "2026-11-25T00:00:00Z",
    ]))
    .unwrap();
    let est = &v["estimate"];
    assert!(
        (est["expected"].as_f64().unwrap() - 4.0).abs() < 1e-9,
        "{est}"
    );
    assert!((est["p_any"].as_f64().unwrap() - (1.0 - 0.9f64.powi(40))).abs() < 1e-9);
    assert_eq!(est["designed_inert"], "2027-01-31T00:00:00Z");
    let text = e.ok(&["show", "HA-000123", "--at", "2026-11-25T00:00:00Z"]);
    assert!(text.contains("never makes land safe"), "{text}");
    assert!(!text.to_lowercase().contains(" is safe"), "{text}");
}

#[test]
fn public_export_never_leaks_restricted_detail() {
    let e = Env::new();
    let mut secret = area(
        "HA-SECRET-7",
        "confirmed",
        "Emplacement record 7 near the bridge",
        36.1234,
    );
    secret["properties"]["classification"] = "restricted".into();
    secret["properties"]["evidence"]["description"] = "record from unit commander Petrenko".into();
    secret["properties"]["reference_points"] = serde_json::json!([[36.12, 49.89], [36.22, 49.89]]);
    let mut public = area("HA-PUB-1", "suspected", "Field by the road", 37.0);
    public["properties"]["evidence"]["description"] = "informant Ivanenko says".into();
    // A triaged public report: reported and restricted, so the public is warned by a zone.
    let mut reported = area("HA-REP-1", "reported", "Unverified report", 38.0);
    reported["properties"]["classification"] = "restricted".into();
    e.write(
        "a.geojson",
        &collection(vec![secret.clone(), public, reported]),
    );
    e.ok(&["import", "a.geojson"]);
    for f in ["p.geojson", "p.csv", "p.gpkg"] {
        e.ok(&["export", "--public", "-o", f]);
    }
    let text = std::fs::read_to_string(e.path("p.geojson")).unwrap()
        + &std::fs::read_to_string(e.path("p.csv")).unwrap();
    gdal(
        "ogr2ogr",
        &["-f", "GeoJSON", "gpkg.geojson", "p.gpkg"],
        e.dir.path(),
    );
    let text = text + &std::fs::read_to_string(e.path("gpkg.geojson")).unwrap();
    for leak in [
        "HA-SECRET-7",
        "Emplacement record",
        "Petrenko",
        "Ivanenko",
        "ap-mine-nonpersistent",
        "\"quantity\"",
        "2026-10-0",
        "36.1234",
        "36.22",
        "HA-REP-1",
    ] {
        assert!(!text.contains(leak), "public export leaks {leak:?}");
    }
    let f = features(&e.json("p.geojson"));
    assert_eq!(
        f.len(),
        3,
        "the public sees the public area and a zone for each restricted record, the reported one included"
    );
    let zone = f
        .iter()
        .find(|x| {
            x["properties"]["kind"] == "danger-zone"
                && x["geometry"]["coordinates"][0][0][0].as_f64() < Some(37.0)
        })
        .expect("a zone for the restricted area");
    assert_eq!(zone["properties"]["danger"], true);
    // The zone covers the true geometry (outward, never inward).
    let ring = zone["geometry"]["coordinates"][0].as_array().unwrap();
    let xs: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
    let ys: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap()).collect();
    let (minx, maxx) = (
        xs.iter().cloned().fold(f64::MAX, f64::min),
        xs.iter().cloned().fold(f64::MIN, f64::max),
    );
    let (miny, maxy) = (
        ys.iter().cloned().fold(f64::MAX, f64::min),
        ys.iter().cloned().fold(f64::MIN, f64::max),
    );
    assert!(minx < 36.1234 && maxx > 36.2234 && miny < 49.9 && maxy > 50.0);
    let public = f
        .iter()
        .find(|x| x["id"] == "HA-PUB-1")
        .expect("public area shown");
    assert_eq!(
        public["properties"]["device_categories"],
        serde_json::json!(["ap-mine"])
    );
    assert!(
        public["properties"]["danger_uk"]
            .as_str()
            .unwrap()
            .contains("Небезпечно")
    );
}

#[test]
fn init_is_idempotent_and_reading_a_missing_store_is_a_clear_error() {
    let e = Env::new();
    let out = e.run(&["show", "HA-1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store.db") && err.contains("cairn init"),
        "{err}"
    );
    assert!(
        !e.path("store.db").exists(),
        "a reading command must not create a store"
    );
    assert!(e.ok(&["init"]).contains("created"));
    assert!(e.ok(&["init"]).contains("already exists"));
    let out = e.run(&["show", "HA-404"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HA-404"));
    let out = e.run(&["export", "--as-of", "yesterday", "-o", "x.geojson"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as-of"));
    assert!(!e.path("x.geojson").exists());
}

#[test]
fn ids_are_assigned_when_omitted_and_never_reused() {
    let e = Env::new();
    let mut a = area("x", "suspected", "No id", 36.0);
    a.as_object_mut().unwrap().remove("id");
    e.write(
        "a.geojson",
        &collection(vec![
            a.clone(),
            a.clone(),
            area("HA-000010", "suspected", "Given", 36.5),
        ]),
    );
    e.ok(&["import", "a.geojson"]);
    e.write("b.geojson", &collection(vec![a]));
    e.ok(&["import", "b.geojson"]);
    e.ok(&["export", "-o", "all.geojson"]);
    let ids: Vec<String> = features(&e.json("all.geojson"))
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4);
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 4, "{ids:?}");
    assert!(
        ids.contains(&"HA-000010".to_string()) && ids.contains(&"HA-000011".to_string()),
        "{ids:?}"
    );
}

#[test]
fn check_point_and_route_answer_as_interfaces_md_says() {
    let e = Env::new();
    e.write(
        "a.geojson",
        &collection(vec![area("HA-000123", "confirmed", "Field", 36.1)]),
    );
    e.ok(&["import", "a.geojson"]);
    let v: Value = serde_json::from_str(&e.ok(&[
        "check",
        "point",
        "36.15",
        "49.92",
        "--accuracy",
        "25",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["point"], serde_json::json!([36.15, 49.92]));
    assert_eq!(v["accuracy_m"], 25.0);
    assert!(v["at"].is_string());
    assert_eq!(
        v["inside"],
        serde_json::json!([{"id": "HA-000123", "status": "confirmed"}])
    );
    assert_eq!(v["within_accuracy"], serde_json::json!([]));
    assert_eq!(v["nearest"]["id"], "HA-000123");
    assert_eq!(v["nearest"]["distance_m"], 0.0);
    // South of the triangle's base by 0.01 degrees of latitude: about 1,112 m, bearing north.
    let v: Value =
        serde_json::from_str(&e.ok(&["check", "point", "36.15", "49.89", "--json"])).unwrap();
    assert!(v["inside"].as_array().unwrap().is_empty());
    let d = v["nearest"]["distance_m"].as_f64().unwrap();
    assert!((d - 1112.0).abs() < 2.0, "{d}");
    let b = v["nearest"]["bearing_deg"].as_f64().unwrap();
    assert!(!(0.5..=359.5).contains(&b), "{b}");
    let text = e.ok(&["check", "point", "36.15", "49.89"]);
    assert!(
        text.contains("HA-000123") && text.contains("not a statement that the place is safe"),
        "{text}"
    );
    let text = e.ok(&["check", "point", "36.15", "49.92"]);
    assert!(text.starts_with("DANGER"), "{text}");

    e.write(
        "route.geojson",
        &serde_json::json!({"type": "LineString", "coordinates": [[36.0, 49.92], [36.3, 49.92]]}),
    );
    let v: Value = serde_json::from_str(&e.ok(&[
        "check",
        "route",
        "route.geojson",
        "--width",
        "500",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["width_m"], 500.0);
    let h = &v["hazards"][0];
    assert_eq!(
        (h["id"].as_str(), h["status"].as_str()),
        (Some("HA-000123"), Some("confirmed"))
    );
    let (enter, leave) = (
        h["enter_m"].as_f64().unwrap(),
        h["leave_m"].as_f64().unwrap(),
    );
    assert!(
        enter > 7000.0 && enter < leave && leave < v["length_m"].as_f64().unwrap(),
        "{v}"
    );
    assert!((v["at_risk_m"].as_f64().unwrap() - (leave - enter)).abs() < 0.2);

    // Bad input names the parameter and exits 2.
    for (args, needle) in [
        (vec!["check", "point", "36.1", "95"], "latitude"),
        (
            vec!["check", "point", "36.1", "49.9", "--accuracy", "-3"],
            "--accuracy",
        ),
        (vec!["check", "route", "missing.geojson"], "missing.geojson"),
        (
            vec!["check", "point", "36.1", "49.9", "--status", "dangerous"],
            "--status",
        ),
        (
            vec!["check", "point", "36.1", "49.9", "--at", "soon"],
            "--at",
        ),
    ] {
        let out = e.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    e.write(
        "bad-route.geojson",
        &serde_json::json!({"type": "LineString", "coordinates": [[36.0, 49.92]]}),
    );
    let out = e.run(&["check", "route", "bad-route.geojson"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("geometry.coordinates"));

    // A check at an earlier time sees the hazards recorded then.
    let h: Value = serde_json::from_str(&e.ok(&["history", "HA-000123", "--json"])).unwrap();
    let t1 = h[0]["recorded_at"].as_str().unwrap().to_string();
    e.write(
        "b.geojson",
        &collection(vec![area("HA-000124", "suspected", "Later", 36.5)]),
    );
    e.ok(&["import", "b.geojson"]);
    let now: Value =
        serde_json::from_str(&e.ok(&["check", "point", "36.55", "49.92", "--json"])).unwrap();
    assert_eq!(now["inside"][0]["id"], "HA-000124");
    let then: Value =
        serde_json::from_str(&e.ok(&["check", "point", "36.55", "49.92", "--at", &t1, "--json"]))
            .unwrap();
    assert!(then["inside"].as_array().unwrap().is_empty());
}

#[test]
fn tokens_are_created_listed_and_revoked_and_bad_serve_settings_are_refused() {
    let e = Env::new();
    e.ok(&["init"]);
    let secret = e.ok(&[
        "token",
        "create",
        "--name",
        "Olena",
        "--role",
        "officer",
        "--organisation",
        "IMO Kharkiv",
    ]);
    let secret = secret.trim();
    assert!(
        secret.starts_with("cairn_") && secret.len() == 6 + 64,
        "{secret}"
    );
    let list: Value = serde_json::from_str(&e.ok(&["token", "list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "Olena");
    assert_eq!(list[0]["role"], "officer");
    assert!(
        !serde_json::to_string(&list).unwrap().contains(secret),
        "the secret must not be listed"
    );
    // The store keeps a hash, never the secret.
    let db = std::fs::read(e.path("store.db")).unwrap();
    let wal = std::fs::read(e.path("store.db-wal")).unwrap_or_default();
    let needle = secret.as_bytes();
    assert!(
        !db.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle)
    );
    e.ok(&["token", "revoke", "1"]);
    assert_eq!(e.run(&["token", "revoke", "1"]).status.code(), Some(2));
    let out = e.run(&["token", "create", "--name", "X", "--role", "emperor"]);
    assert_eq!(out.status.code(), Some(2));
    let out = e.run(&["serve", "--addr", "not-an-address"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--addr"));
    std::fs::write(e.path("cairn.toml"), "adress = \"127.0.0.1:1\"\n").unwrap();
    let out = e.run(&["serve", "--config", "cairn.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cairn.toml") && err.contains("adress"),
        "{err}"
    );
}

#[test]
fn users_and_organisations_own_tokens_and_a_disabled_user_is_refused() {
    let e = Env::new();
    e.ok(&["init"]);
    e.ok(&["org", "add", "Operator A"]);
    assert_eq!(e.run(&["org", "add", "Operator A"]).status.code(), Some(2));
    assert_eq!(e.ok(&["org", "list"]).trim(), "Operator A");
    // A field user writes for an organisation, which must exist.
    let out = e.run(&["user", "add", "Team 7", "--role", "field"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--org"));
    let out = e.run(&[
        "user", "add", "Team 7", "--role", "field", "--org", "Nobody",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cairn org add"));
    assert_eq!(
        e.run(&["user", "add", "Team 7", "--role", "emperor"])
            .status
            .code(),
        Some(2)
    );
    e.ok(&[
        "user",
        "add",
        "Team 7",
        "--role",
        "field",
        "--org",
        "Operator A",
    ]);
    e.ok(&["user", "add", "Olena", "--role", "officer"]);
    let users: Value = serde_json::from_str(&e.ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(users[1]["name"], "Team 7");
    assert_eq!(users[1]["organisation"], "Operator A");
    let secret = e.ok(&["token", "create", "--user", "Team 7"]);
    assert!(secret.trim().starts_with("cairn_"));
    assert_eq!(
        e.run(&["token", "create", "--user", "Nobody"])
            .status
            .code(),
        Some(2)
    );
    // --user and the older --name/--role form do not mix; --name needs --role.
    assert_eq!(
        e.run(&["token", "create", "--user", "Olena", "--role", "admin"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        e.run(&["token", "create", "--name", "Olena"]).status.code(),
        Some(2)
    );
    // The older form reuses a matching user and refuses a different role for the same name.
    e.ok(&["token", "create", "--name", "Olena", "--role", "officer"]);
    let out = e.run(&["token", "create", "--name", "Olena", "--role", "admin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--user"));
    e.ok(&["user", "disable", "Team 7"]);
    assert_eq!(e.run(&["user", "disable", "Team 7"]).status.code(), Some(2));
    let list = e.ok(&["token", "list"]);
    let first = list.lines().next().unwrap();
    assert!(
        first.contains("Team 7") && first.ends_with("user disabled"),
        "{list}"
    );
    assert_eq!(
        e.run(&["token", "create", "--user", "Team 7"])
            .status
            .code(),
        Some(2)
    );
    let users = e.ok(&["user", "list"]);
    assert!(
        users.contains("Team 7\tfield\tOperator A\tdisabled"),
        "{users}"
    );
}

/// A reader that stops early (`cairn check points … | head -1`) ends the command quietly with
/// status 141, as SIGPIPE would, never with a panic nor with 0; a failure to write anything else
/// (a full disk) is reported naming standard output.
#[test]
fn a_reader_stopping_early_ends_output_quietly_and_a_full_disk_is_reported() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let e = Env::new();
    e.ok(&["synth", "--areas", "300", "-o", "synth.geojson"]);
    e.ok(&["import", "synth.geojson"]);
    // Far more answers than a pipe holds (64 KiB), so the writer meets the closed pipe.
    let mut csv = String::from("lon,lat\n");
    for i in 0..20_000 {
        csv.push_str(&format!(
            "{:.4},{:.4}\n",
            37.0 + f64::from(i % 100) * 0.01,
            48.0 + f64::from(i / 100) * 0.005
        ));
    }
    std::fs::write(e.path("points.csv"), csv).unwrap();
    let commands: [&[&str]; 2] = [&["check", "points", "points.csv"], &["show", "HA-000001"]];
    for args in commands {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(e.dir.path())
            .env_remove("CAIRN_DB")
            .arg("--db")
            .arg(e.path("store.db"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cairn");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is dropped here: the pipe is closed after one line.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty(), "{args:?}: no first line");
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        if args[0] == "check" {
            assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
            assert!(stderr.is_empty(), "{args:?}: {stderr}");
        } else {
            // `show` may finish before the pipe closes; it must not fail otherwise.
            assert!(
                matches!(out.status.code(), Some(0 | 141)),
                "{args:?}: {:?} {stderr}",
                out.status
            );
        }
        // Into a full disk: status 1 or 3 with the cause named, never silence.
        let full = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(e.dir.path())
            .env_remove("CAIRN_DB")
            .arg("--db")
            .arg(e.path("store.db"))
            .args(args)
            .stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&full.stderr);
        assert!(!full.status.success(), "{args:?} into /dev/full succeeded");
        assert!(
            stderr.contains("writing to standard output") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

/// The geometry of each feature by id, from a GeoJSON file of the temp dir.
fn geometries(e: &Env, name: &str) -> std::collections::BTreeMap<String, Value> {
    features(&e.json(name))
        .into_iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f["geometry"].clone()))
        .collect()
}

/// National data in other formats and coordinate systems, read through GDAL: a GeoPackage in
/// SK-42 / Gauss–Krüger zone 7 (its own CRS), a Shapefile in UTM zone 36N, and a CSV of WKT in
/// UTM with `--crs`. Each was written by PROJ (through ogr2ogr) from WGS 84 coordinates; imported,
/// every vertex lands within a millionth of a degree of where it was.
#[test]
fn imports_through_gdal_land_in_the_right_places() {
    let e = Env::new();
    e.ok(&[
        "synth",
        "--areas",
        "120",
        "--seed",
        "11",
        "-o",
        "synth.geojson",
    ]);
    let original = geometries(&e, "synth.geojson");
    let check = |name: &str, from: &str, expect: &dyn Fn(&Value) -> bool| {
        let store = format!("{name}.db");
        let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(e.dir.path())
            .env("CAIRN_AUTHOR", "test author")
            .args(["--db", &store, "import"])
            .args(from.split(' '))
            .output()
            .expect("run cairn");
        assert!(
            out.status.success(),
            "import {from}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(e.dir.path())
            .args(["--db", &store, "export", "-o", &format!("{name}.geojson")])
            .output()
            .expect("export");
        let back = geometries(&e, &format!("{name}.geojson"));
        let want: Vec<(&String, &Value)> = original.iter().filter(|(_, g)| expect(g)).collect();
        assert_eq!(back.len(), want.len(), "{name}: every feature imported");
        for (id, g) in want {
            assert!(
                coords_close(&g["coordinates"], &back[id]["coordinates"], 1e-6),
                "{name}: {id} moved: {g} vs {}",
                back[id]
            );
        }
    };
    // Every record, spots and corridors included, in SK-42 (the file names its CRS).
    gdal(
        "ogr2ogr",
        &[
            "-f",
            "GPKG",
            "sk42.gpkg",
            "synth.geojson",
            "-t_srs",
            "EPSG:28407",
            "-nln",
            "areas",
        ],
        e.dir.path(),
    );
    check("sk42", "sk42.gpkg", &|_| true);
    // A Shapefile holds one geometry type: the polygons, in UTM 36N (`classification` comes back
    // as `classifica`, ten characters: unknown, kept beside the fields, and the record restricted).
    gdal(
        "ogr2ogr",
        &[
            "-f",
            "ESRI Shapefile",
            "utm.shp",
            "synth.geojson",
            "-t_srs",
            "EPSG:32636",
            "-where",
            "OGR_GEOMETRY='POLYGON'",
            // Its text fields stop at 254 characters, too short for a list of devices as JSON.
            "-select",
            "id,name,status,classification",
        ],
        e.dir.path(),
    );
    check("utm", "utm.shp", &|g| g["type"] == "Polygon");
    // WKT in UTM metres in a CSV, whose CRS only the user knows.
    gdal(
        "ogr2ogr",
        &[
            "-f",
            "CSV",
            "utm.csv",
            "synth.geojson",
            "-t_srs",
            "EPSG:32636",
            "-lco",
            "GEOMETRY=AS_WKT",
        ],
        e.dir.path(),
    );
    check("utm-csv", "utm.csv --crs EPSG:32636", &|_| true);
}

/// A file with several layers and no `--layer`, or one GDAL cannot read, imports nothing and says
/// why, naming the file (and the layers to choose from).
#[test]
fn a_gdal_file_that_cannot_be_imported_is_refused_by_name() {
    let e = Env::new();
    e.ok(&[
        "synth",
        "--areas",
        "20",
        "--seed",
        "2",
        "-o",
        "synth.geojson",
    ]);
    gdal(
        "ogr2ogr",
        &["-f", "GPKG", "two.gpkg", "synth.geojson", "-nln", "north"],
        e.dir.path(),
    );
    gdal(
        "ogr2ogr",
        &[
            "-f",
            "GPKG",
            "-update",
            "two.gpkg",
            "synth.geojson",
            "-nln",
            "south",
        ],
        e.dir.path(),
    );
    let out = e.run(&["import", "two.gpkg"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("two.gpkg")
            && err.contains("north")
            && err.contains("south")
            && err.contains("--layer"),
        "{err}"
    );
    assert!(
        !e.path("store.db").exists(),
        "a refused import leaves no store behind"
    );
    e.ok(&["import", "two.gpkg", "--layer", "south"]);
    std::fs::write(e.path("broken.shp"), b"this is not a shapefile").unwrap();
    let out = e.run(&["import", "broken.shp"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("broken.shp") && err.contains("GDAL"), "{err}");
}
