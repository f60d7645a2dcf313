//! The base map of `cairn serve --basemap FILE` in a real browser (issue 17). The test writes a
//! small PMTiles file of its own in the Protomaps schema (earth, a lake, a park, a road and a
//! named place around a demo hazard), serves one demo store twice — with and without the file —
//! and drives Debian's headless Chromium (playwright-core, `tests/browser/basemap.mjs`) at
//! 360×740 and 1280×800 with every host but loopback unreachable: with the file, the lake and
//! the park are drawn in the base map's colours where they lie (read from the screenshot's
//! pixels), the hazard stays visible over them, nothing in the base map is hazard-coloured, the
//! place is labelled from its Ukrainian name with Cairn's glyphs, the road's shield and the
//! village's dot are drawn by the page (no sprite, no missing-icon warning); without it, the
//! shipped oblast borders, rivers, lakes (the Kyiv reservoir, on its pixels) and Ukrainian
//! settlement names are drawn. No console error, no request elsewhere. Screenshots go to `<target dir>/test-artifacts/basemap-*.png` and `context-*.png`.
//!
//! Also: `cairn serve --basemap` and `cairn demo --basemap` refuse a missing or damaged file
//! with exit 2 and a sentence naming it, before touching any store.
//!
//! Chromium must be installed at /usr/bin/chromium (scripts/test installs it); without it the
//! test fails rather than skips.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::browser::{
    browser_dir, ensure_playwright, require_chromium, run_node, start_cairn, target_dir,
};
use common::server::{get, get_json};
use serde_json::{Value, json};

const START_TIMEOUT: Duration = Duration::from_secs(180);
const BROWSER_TIMEOUT: Duration = Duration::from_secs(420);
/// The zoom of the screenshots: a field and its surroundings.
const ZOOM: f64 = 14.5;
/// The test file's deepest zoom (the page overzooms beyond it).
const MAX_ZOOM: u8 = 14;

/// A small public hazard (under 300 m across) and a point 10 m inside it all round: (lon, lat,
/// its bbox).
fn small_hazard(addr: &str) -> (f64, f64, [f64; 4]) {
    let items = get_json(addr, "/ogc/collections/hazardous-areas/items?limit=300");
    for f in items["features"].as_array().expect("features") {
        let Some(ring) = f["geometry"]["coordinates"][0][0].as_array() else {
            continue;
        };
        let pts: Vec<(f64, f64)> = ring
            .iter()
            .filter_map(|c| Some((c[0].as_f64()?, c[1].as_f64()?)))
            .collect();
        if pts.len() < 3 {
            continue;
        }
        let bbox = pts
            .iter()
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, &(x, y)| {
                [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
            });
        let (lon, lat) = ((bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0);
        let m_per_deg = 111_320.0 * lat.to_radians().cos();
        if (bbox[2] - bbox[0]) * m_per_deg > 300.0 || (bbox[3] - bbox[1]) * 111_320.0 > 300.0 {
            continue;
        }
        let d = 10.0 / 111_320.0;
        let inside = [(0.0, 0.0), (d, 0.0), (-d, 0.0), (0.0, d), (0.0, -d)]
            .iter()
            .all(|(dx, dy)| {
                let a = get_json(
                    addr,
                    &format!(
                        "/api/check/point?lon={:.7}&lat={:.7}&accuracy=0",
                        lon + dx / lat.to_radians().cos(),
                        lat + dy
                    ),
                );
                a["inside"].as_array().is_some_and(|v| !v.is_empty())
            });
        if inside {
            return (lon, lat, bbox);
        }
    }
    panic!("none of the first 300 public hazards is under 300 m across with its middle inside it");
}

// ------------------------------------------------------------------------------------------------
// A minimal Mapbox Vector Tile writer (the MVT 2.1 protobuf), for the test's base-map file.

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn field_bytes(tag: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(tag << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn field_varint(tag: u64, v: u64, out: &mut Vec<u8>) {
    varint(tag << 3, out);
    varint(v, out);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// A feature's geometry in tile units.
enum Geom {
    Point([i64; 2]),
    Line(Vec<[i64; 2]>),
    /// One exterior ring, clockwise on screen (y down), not closed.
    Polygon(Vec<[i64; 2]>),
}

/// One layer of features with string or integer properties.
fn layer(name: &str, features: &[(Geom, Vec<(&str, Value)>)]) -> Vec<u8> {
    let mut keys: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut body = Vec::new();
    field_varint(15, 2, &mut body);
    field_bytes(1, name.as_bytes(), &mut body);
    for (g, props) in features {
        let mut tags = Vec::new();
        for (k, v) in props {
            let ki = keys.iter().position(|x| x == k).unwrap_or_else(|| {
                keys.push(k.to_string());
                keys.len() - 1
            });
            let vi = values.iter().position(|x| x == v).unwrap_or_else(|| {
                values.push(v.clone());
                values.len() - 1
            });
            varint(ki as u64, &mut tags);
            varint(vi as u64, &mut tags);
        }
        let (kind, cmds) = match g {
            Geom::Point(p) => (1, vec![1 | 1 << 3, zigzag(p[0]), zigzag(p[1])]),
            Geom::Line(pts) | Geom::Polygon(pts) => {
                let mut c = vec![1 | 1 << 3, zigzag(pts[0][0]), zigzag(pts[0][1])];
                c.push(2 | ((pts.len() as u64 - 1) << 3));
                for w in pts.windows(2) {
                    c.push(zigzag(w[1][0] - w[0][0]));
                    c.push(zigzag(w[1][1] - w[0][1]));
                }
                if matches!(g, Geom::Polygon(_)) {
                    c.push(7 | 1 << 3);
                    (3, c)
                } else {
                    (2, c)
                }
            }
        };
        let mut geom = Vec::new();
        for c in cmds {
            varint(c, &mut geom);
        }
        let mut f = Vec::new();
        field_bytes(2, &tags, &mut f);
        field_varint(3, kind, &mut f);
        field_bytes(4, &geom, &mut f);
        field_bytes(2, &f, &mut body);
    }
    for k in &keys {
        field_bytes(3, k.as_bytes(), &mut body);
    }
    for v in &values {
        let mut vb = Vec::new();
        match v {
            Value::String(s) => field_bytes(1, s.as_bytes(), &mut vb),
            Value::Number(n) => field_varint(4, n.as_i64().expect("an integer") as u64, &mut vb),
            other => panic!("unsupported tile value {other}"),
        }
        field_bytes(4, &vb, &mut body);
    }
    field_varint(5, 4096, &mut body);
    let mut out = Vec::new();
    field_bytes(3, &body, &mut out);
    out
}

/// Web Mercator world coordinates (0..1) of a lon/lat.
fn world(lon: f64, lat: f64) -> (f64, f64) {
    let x = (lon + 180.0) / 360.0;
    let s = lat.to_radians();
    let y = (1.0 - (s.tan() + 1.0 / s.cos()).ln() / std::f64::consts::PI) / 2.0;
    (x, y)
}

/// What the test's base map holds, in lon/lat.
struct Scene {
    water: [f64; 4],
    park: [f64; 4],
    road: [(f64, f64); 2],
    place: (f64, f64),
    bounds: [f64; 4],
}

const PLACE: &str = "Testville";
const PLACE_UK: &str = "Тестове";

/// One tile of the scene in the Protomaps schema.
fn tile(scene: &Scene, z: u8, x: u32, y: u32) -> Vec<u8> {
    let n = f64::from(1u32 << z);
    let at = |lon: f64, lat: f64| {
        let (wx, wy) = world(lon, lat);
        [
            ((wx * n - f64::from(x)) * 4096.0).round() as i64,
            ((wy * n - f64::from(y)) * 4096.0).round() as i64,
        ]
    };
    let rect = |r: [f64; 4]| {
        // West-north, east-north, east-south, west-south: clockwise with y down.
        Geom::Polygon(vec![
            at(r[0], r[3]),
            at(r[2], r[3]),
            at(r[2], r[1]),
            at(r[0], r[1]),
        ])
    };
    let whole = Geom::Polygon(vec![[-128, -128], [4224, -128], [4224, 4224], [-128, 4224]]);
    let mut t = layer("earth", &[(whole, vec![("kind", json!("earth"))])]);
    t.extend(layer(
        "landuse",
        &[(
            rect(scene.park),
            vec![("kind", json!("park")), ("name", json!("Test park"))],
        )],
    ));
    t.extend(layer(
        "water",
        &[(
            rect(scene.water),
            vec![("kind", json!("lake")), ("name", json!("Test lake"))],
        )],
    ));
    t.extend(layer(
        "roads",
        &[(
            Geom::Line(scene.road.iter().map(|p| at(p.0, p.1)).collect()),
            vec![
                ("kind", json!("major_road")),
                ("name", json!("Test road")),
                ("min_zoom", json!(6)),
                // A road number: the style draws it on a shield (an icon the page draws).
                ("network", json!("UA:M")),
                ("shield_text", json!("M03")),
            ],
        )],
    ));
    t.extend(layer(
        "places",
        &[(
            Geom::Point(at(scene.place.0, scene.place.1)),
            vec![
                ("kind", json!("locality")),
                ("kind_detail", json!("village")),
                ("name", json!(PLACE)),
                ("name:uk", json!(PLACE_UK)),
                ("min_zoom", json!(8)),
                ("population_rank", json!(9)),
            ],
        )],
    ));
    t
}

/// Writes the scene's PMTiles file: every tile of zooms 0 to 14 touching its bounds.
fn write_pmtiles(path: &Path, scene: &Scene) {
    use pmtiles::{PmTilesWriter, TileCoord, TileType};
    let b = scene.bounds;
    let layers: Vec<Value> = ["earth", "landuse", "water", "roads", "places"]
        .iter()
        .map(|id| json!({"id": id, "fields": {}}))
        .collect();
    let meta = json!({
        "name": "Cairn test base map",
        "attribution": "© OpenStreetMap contributors (test data)",
        "vector_layers": layers,
    });
    let mut w = PmTilesWriter::new(TileType::Mvt)
        .min_zoom(0)
        .max_zoom(MAX_ZOOM)
        .bounds(b[0], b[1], b[2], b[3])
        .center((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
        .center_zoom(MAX_ZOOM)
        .metadata(meta.to_string())
        .create(std::fs::File::create(path).expect("create the base-map file"))
        .expect("a PMTiles writer");
    let mut tiles = Vec::new();
    for z in 0..=MAX_ZOOM {
        let n = f64::from(1u32 << z);
        let (x0, y0) = world(b[0], b[3]);
        let (x1, y1) = world(b[2], b[1]);
        for x in (x0 * n) as u32..=(x1 * n) as u32 {
            for y in (y0 * n) as u32..=(y1 * n) as u32 {
                tiles.push((z, x, y));
            }
        }
    }
    // The writer wants tiles in tile-id order.
    tiles.sort_by_key(|&(z, x, y)| {
        pmtiles::TileId::from(TileCoord::new(z, x, y).expect("coord")).value()
    });
    for (z, x, y) in tiles {
        w.add_tile(
            TileCoord::new(z, x, y).expect("coord"),
            &tile(scene, z, x, y),
        )
        .expect("add a tile");
    }
    w.finalize().expect("finish the base-map file");
}

#[test]
fn the_map_draws_the_base_map_under_hazards_and_the_shipped_context_without_one() {
    require_chromium();
    let browser_dir = browser_dir();
    ensure_playwright(&browser_dir);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let db = tmp.path().join("demo.db");
    let made = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .env_remove("CAIRN_DB")
        .arg("--db")
        .arg(&db)
        .args(["demo", "--areas", "1500", "--no-serve"])
        .output()
        .expect("run cairn demo");
    assert!(
        made.status.success(),
        "cairn demo failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let db = db.to_string_lossy().into_owned();
    let plain_dir = tmp.path().join("plain");
    std::fs::create_dir_all(&plain_dir).expect("dir");
    let plain = start_cairn(
        &plain_dir,
        &db,
        &["serve", "--addr", "127.0.0.1:0"],
        START_TIMEOUT,
    );
    let (status, _) = get(&plain.addr, "/basemap.json");
    assert_eq!(status, 204, "without --basemap there is no base map");

    let (lon, lat, hz) = small_hazard(&plain.addr);
    let k = 1.0 / 111_320.0;
    let kx = k / lat.to_radians().cos();
    // The lake east of the hazard, the park west, the road south, the place north.
    let scene = Scene {
        water: [
            hz[2] + 60.0 * kx,
            lat - 120.0 * k,
            hz[2] + 260.0 * kx,
            lat + 120.0 * k,
        ],
        park: [
            hz[0] - 260.0 * kx,
            lat - 120.0 * k,
            hz[0] - 60.0 * kx,
            lat + 120.0 * k,
        ],
        road: [
            (lon - 600.0 * kx, hz[1] - 80.0 * k),
            (lon + 600.0 * kx, hz[1] - 80.0 * k),
        ],
        place: (lon, hz[3] + 150.0 * k),
        bounds: [
            lon - 2000.0 * kx,
            lat - 2000.0 * k,
            lon + 2000.0 * kx,
            lat + 2000.0 * k,
        ],
    };
    let file = tmp.path().join("test.pmtiles");
    write_pmtiles(&file, &scene);

    let base_dir = tmp.path().join("base");
    std::fs::create_dir_all(&base_dir).expect("dir");
    let file_arg = file.to_string_lossy().into_owned();
    let with_base = start_cairn(
        &base_dir,
        &db,
        &["serve", "--addr", "127.0.0.1:0", "--basemap", &file_arg],
        START_TIMEOUT,
    );
    let tj = get_json(&with_base.addr, "/basemap.json");
    assert_eq!(tj["maxzoom"], MAX_ZOOM);
    assert!(
        tj["attribution"]
            .as_str()
            .is_some_and(|a| a.contains("OpenStreetMap")),
        "{tj}"
    );

    let out = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&out).expect("create the test-artifacts folder");
    let spec = json!({
        "lon": lon, "lat": lat, "zoom": ZOOM,
        "water": scene.water, "park": scene.park,
        "place": [scene.place.0, scene.place.1], "place_uk": PLACE_UK,
    });
    let (ok, text) = run_node(
        &browser_dir,
        &[
            "basemap.mjs",
            &format!("http://{}/", plain.addr),
            &format!("http://{}/", with_base.addr),
            &out.to_string_lossy(),
            &spec.to_string(),
        ],
        BROWSER_TIMEOUT,
    );
    println!("{text}");
    drop(with_base);
    drop(plain);
    assert!(
        ok,
        "the base map failed in the browser (hazard at {lon}, {lat}):\n{text}"
    );
    for name in [
        "basemap-phone",
        "basemap-desktop",
        "context-phone",
        "context-desktop",
    ] {
        let f = out.join(format!("{name}.png"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{} is missing or too small", f.display());
    }
}

#[test]
fn a_missing_or_damaged_base_map_stops_serve_and_demo_before_any_store_is_touched() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let missing = tmp.path().join("missing.pmtiles");
    let damaged = tmp.path().join("damaged.pmtiles");
    std::fs::write(&damaged, b"PMTiles\x03 but nothing after the magic").expect("write");
    for (cmd, file) in [
        (vec!["serve", "--addr", "127.0.0.1:0"], &missing),
        (vec!["serve", "--addr", "127.0.0.1:0"], &damaged),
        (
            vec!["demo", "--areas", "10", "--addr", "127.0.0.1:0"],
            &missing,
        ),
        (
            vec!["demo", "--areas", "10", "--addr", "127.0.0.1:0"],
            &damaged,
        ),
    ] {
        let db = tmp.path().join(format!(
            "{}-{}.db",
            cmd[0],
            file.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
        ));
        if cmd[0] == "serve" {
            let made = Command::new(env!("CARGO_BIN_EXE_cairn"))
                .env_remove("CAIRN_DB")
                .arg("--db")
                .arg(&db)
                .args(["demo", "--areas", "10", "--no-serve"])
                .output()
                .expect("run cairn demo");
            assert!(made.status.success());
        }
        let before = std::fs::read(&db).ok();
        let o = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .env_remove("CAIRN_DB")
            .arg("--db")
            .arg(&db)
            .args(&cmd)
            .arg("--basemap")
            .arg(file)
            .output()
            .expect("run cairn");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{cmd:?} {}: {err}",
            file.display()
        );
        assert!(
            err.contains(&format!("--basemap {}", file.display())),
            "the sentence names the file: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
        assert_eq!(
            std::fs::read(&db).ok(),
            before,
            "{cmd:?}: the store is untouched"
        );
    }
}
