//! Land release with the real binary: `cairn activity add`, `cairn release`, `cairn releases`,
//! `cairn find` and `cairn certificate` on an imported confirmed area of 200 vertices, with the
//! released and remaining geometry checked by shapely and pyproj (an independent implementation
//! of the boolean operations and of the geodesic area); bad arguments refused with exit 2 and
//! the store unchanged.

mod common;

use common::env::Env;

use std::process::Command;

use serde_json::{Value, json};

/// A 200-vertex star-ish ring around (lon, lat), about 400 m across.
fn ring200(lon: f64, lat: f64) -> Value {
    let mut pts = Vec::new();
    for i in 0..200 {
        let a = i as f64 / 200.0 * std::f64::consts::TAU;
        let r = if i % 2 == 0 { 1.0 } else { 0.85 };
        pts.push(json!([
            lon + 0.0028 * r * a.cos(),
            lat + 0.0018 * r * a.sin()
        ]));
    }
    pts.push(pts[0].clone());
    json!({"type": "Polygon", "coordinates": [pts]})
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

const ORACLE: &str = r#"
import json, sys
from shapely.geometry import shape
from pyproj import Geod
g = Geod(ellps="WGS84")
d = json.load(open(sys.argv[1]))
area = lambda x: abs(g.geometry_area_perimeter(shape(x))[0])
orig, req1, rel1, rem1 = (shape(d[k]) for k in ("original", "request1", "released1", "remaining1"))
want1 = orig.intersection(req1)
out = {
  "original_m2": area(d["original"]),
  "released1_m2": area(d["released1"]),
  "remaining1_m2": area(d["remaining1"]),
  "released1_sym_m2": area(want1.symmetric_difference(rel1)) if not want1.symmetric_difference(rel1).is_empty else 0.0,
  "remaining1_sym_m2": area(orig.difference(req1).symmetric_difference(rem1)) if not orig.difference(req1).symmetric_difference(rem1).is_empty else 0.0,
  "valid": rel1.is_valid and rem1.is_valid,
}
print(json.dumps(out))
"#;

fn current_geometry(e: &Env, id: &str) -> Value {
    let v = e.ok_json(&["show", id, "--json"]);
    v.get("geometry")
        .cloned()
        .or_else(|| {
            v["feature"]["geometry"]
                .as_object()
                .map(|o| Value::Object(o.clone()))
        })
        .unwrap_or_else(|| panic!("no geometry in show --json: {v}"))
}

#[test]
fn release_workflow_with_the_binary_agrees_with_shapely_and_pyproj() {
    let e = Env::new();
    let (lon, lat) = (36.3, 49.95);
    let original = ring200(lon, lat);
    e.write(
        "areas.geojson",
        &json!({"type": "FeatureCollection", "features": [{
            "type": "Feature", "id": "HA-000010", "geometry": original,
            "properties": {"status": "confirmed", "classification": "public", "name": "Field by the river",
                "evidence": {"kind": "direct", "description": "AP mine seen"}, "organisation": "Example Demining"}
        }]}),
    );
    e.ok(&["import", &e.p("areas.geojson")]);
    let worked = rect(lon - 0.004, lat - 0.003, lon + 0.004, lat + 0.003);
    e.write(
        "worked.geojson",
        &json!({"type": "Feature", "geometry": worked, "properties": {}}),
    );
    e.write(
        "devices.json",
        &json!([{"type": "ap-mine-persistent", "count": 4, "depth_cm": 8, "action": "destroyed"},
                {"type": "uxo-projectile", "count": 1, "action": "found"}]),
    );
    let request1 = rect(lon - 0.004, lat - 0.003, lon + 0.0005, lat + 0.003);
    e.write("west.geojson", &request1);

    let ts = e.ok_json(&[
        "activity",
        "add",
        "--area",
        "HA-000010",
        "--kind",
        "ts",
        "--org",
        "Example Demining",
        "--team",
        "TS 2",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-03",
        "--geometry",
        &e.p("worked.geojson"),
        "--devices",
        &e.p("devices.json"),
        "--json",
    ]);
    let ts_id = ts["id"].as_str().unwrap().to_string();
    assert_eq!(ts["kind"], "technical-survey");

    // Bad arguments: exit 2 and nothing written.
    let before = e.counts();
    let ts_id = ts_id.as_str();
    let (west, worked_file, devices_file, x_html) = (
        e.p("west.geojson"),
        e.p("worked.geojson"),
        e.p("devices.json"),
        e.p("x.html"),
    );
    let (west, worked_file, devices_file, x_html) = (
        west.as_str(),
        worked_file.as_str(),
        devices_file.as_str(),
        x_html.as_str(),
    );
    for (args, needle) in [
        (
            vec![
                "release",
                "--area",
                "HA-000010",
                "--method",
                "clear",
                "--activity",
                ts_id,
                "--geometry",
                west,
                "--by",
                "Olena",
            ],
            "activity_id",
        ),
        (
            vec![
                "release",
                "--area",
                "HA-000010",
                "--method",
                "raze",
                "--activity",
                ts_id,
                "--geometry",
                west,
                "--by",
                "Olena",
            ],
            "--method",
        ),
        (
            vec![
                "release",
                "--area",
                "HA-404",
                "--method",
                "reduce",
                "--activity",
                ts_id,
                "--geometry",
                west,
                "--by",
                "Olena",
            ],
            "area_id",
        ),
        (
            vec![
                "release",
                "--area",
                "HA-000010",
                "--method",
                "reduce",
                "--activity",
                ts_id,
                "--geometry",
                devices_file,
                "--by",
                "Olena",
            ],
            "geometry",
        ),
        (
            vec![
                "activity",
                "add",
                "--area",
                "HA-000010",
                "--kind",
                "ts",
                "--org",
                "X",
                "--from",
                "2026-11-05",
                "--to",
                "2026-11-01",
                "--geometry",
                worked_file,
            ],
            "started",
        ),
        (
            vec![
                "activity",
                "add",
                "--area",
                "HA-000010",
                "--kind",
                "ts",
                "--org",
                "X",
                "--from",
                "yesterday",
                "--to",
                "2026-11-01",
                "--geometry",
                worked_file,
            ],
            "--from",
        ),
        (
            vec![
                "find",
                "--release",
                "LR-000404",
                "--lon",
                "36.3",
                "--lat",
                "49.95",
                "--device-type",
                "ap-mine-persistent",
                "--by",
                "Olena",
            ],
            "LR-000404",
        ),
        (vec!["certificate", "LR-000404", "-o", x_html], "LR-000404"),
    ] {
        let out = e.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: {err:?} does not name {needle:?}"
        );
        assert_eq!(e.counts(), before, "{args:?} changed the store");
    }

    // Reduce the west part by TS.
    let rel1 = e.ok_json(&[
        "release",
        "--area",
        "HA-000010",
        "--method",
        "reduce",
        "--activity",
        ts_id,
        "--geometry",
        west,
        "--by",
        "Olena",
        "--json",
    ]);
    // What remains keeps its evidence status: a partial release never lowers the warning.
    assert_eq!(rel1["status_after"], "confirmed");
    let remaining1 = current_geometry(&e, "HA-000010");
    e.write(
        "oracle.json",
        &json!({"original": original, "request1": request1, "released1": rel1["geometry"], "remaining1": remaining1}),
    );
    let python = common::python();
    let out = Command::new(&python)
        .arg("-c")
        .arg(ORACLE)
        .arg(e.path("oracle.json"))
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = |k: &str| o[k].as_f64().unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs() + 0.01;
    assert!(
        close(rel1["before_m2"].as_f64().unwrap(), f("original_m2")),
        "{o}"
    );
    assert!(
        close(rel1["released_m2"].as_f64().unwrap(), f("released1_m2")),
        "{o}"
    );
    assert!(
        close(rel1["remaining_m2"].as_f64().unwrap(), f("remaining1_m2")),
        "{o}"
    );
    assert!(
        (f("released1_m2") + f("remaining1_m2") - f("original_m2")).abs() < 1.0,
        "{o}"
    );
    // Cairn's geometry is shapely's intersection and difference, to within a square metre.
    assert!(
        f("released1_sym_m2") < 1.0 && f("remaining1_sym_m2") < 1.0,
        "{o}"
    );
    assert_eq!(o["valid"], true);

    // Clear the rest by clearance: the area closes.
    let clr = e.ok_json(&[
        "activity",
        "add",
        "--area",
        "HA-000010",
        "--kind",
        "clearance",
        "--org",
        "Example Demining",
        "--from",
        "2026-11-04",
        "--to",
        "2026-11-09",
        "--geometry",
        &e.p("worked.geojson"),
        "--json",
    ]);
    let rel2 = e.ok_json(&[
        "release",
        "--area",
        "HA-000010",
        "--method",
        "clear",
        "--activity",
        clr["id"].as_str().unwrap(),
        "--geometry",
        &e.p("worked.geojson"),
        "--by",
        "Olena",
        "--json",
    ]);
    assert_eq!(rel2["status_after"], "closed");
    assert!(
        (rel1["released_m2"].as_f64().unwrap() + rel2["released_m2"].as_f64().unwrap()
            - f("original_m2"))
        .abs()
            < 1.0
    );
    let text = e.ok(&["releases", "HA-000010"]);
    assert!(
        text.contains("closed") && text.contains("reduce") && text.contains("clear"),
        "{text}"
    );

    // The certificate.
    let rel2_id = rel2["id"].as_str().unwrap();
    e.ok(&["certificate", rel2_id, "-o", &e.p("cert.html")]);
    let html = std::fs::read_to_string(e.path("cert.html")).unwrap();
    assert!(html.contains(rel2["certificate"].as_str().unwrap()));
    assert!(html.contains("<svg") && html.contains("m²"));

    // A find on the cleared land re-opens hazard.
    let find = e.ok_json(&[
        "find",
        "--release",
        rel2_id,
        "--lon",
        &(lon + 0.002).to_string(),
        "--lat",
        &lat.to_string(),
        "--device-type",
        "ap-mine-persistent",
        "--by",
        "Farmer's report via Olena",
        "--json",
    ]);
    assert_eq!(find["area"]["status"], "confirmed");
    let v = e.ok_json(&["releases", "HA-000010", "--json"]);
    let finds: usize = v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["post_release_finds"].as_array().unwrap().len())
        .sum();
    assert_eq!(finds, 1);
}
