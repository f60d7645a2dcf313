//! Property-based fuzzing of `cairn import` end to end: a file of valid features (GeoJSON or CSV)
//! with one fuzzed bad feature is refused whole (exit 2), with a message naming the feature (or
//! the row's line) and the field, and the store is left exactly as it was (every row of its
//! history and heads, by digest, and the counts).
//!
//! Each case runs the real binary, so the count is small; `CAIRN_FUZZ_SCALE=N` multiplies it
//! (bench/fuzz.sh runs it at 20×).

mod common;

use common::env::Env;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The runner: one file shared by every crate's fuzz tests.

#[path = "../../../tests-support/fuzz_runner.rs"]
mod fuzz_runner;
use fuzz_runner::fuzz_shrinking;

// ---------------------------------------------------------------------------------------------

/// A valid feature: a small square, spot or track somewhere in Ukraine.
#[derive(Clone, Debug)]
struct Feature {
    lon: f64,
    lat: f64,
    size: f64,
    kind: u8,
    status: &'static str,
    name: String,
}

fn feature() -> impl Strategy<Value = Feature> {
    (
        22.5..40.0f64,
        44.5..52.0f64,
        0.0005..0.05f64,
        0u8..3,
        prop::sample::select(&["reported", "suspected", "confirmed"][..]),
        "\\PC{0,30}",
    )
        .prop_map(|(lon, lat, size, kind, status, name)| Feature {
            lon,
            lat,
            size,
            kind,
            status,
            name,
        })
}

impl Feature {
    fn json(&self, id: &str) -> Value {
        let (x, y, s) = (self.lon, self.lat, self.size);
        let (geometry, extra) = match self.kind {
            0 => (
                json!({"type": "Polygon", "coordinates": [[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]]}),
                json!({}),
            ),
            1 => (
                json!({"type": "Point", "coordinates": [x, y]}),
                json!({"radius_m": 25}),
            ),
            _ => (
                json!({"type": "LineString", "coordinates": [[x, y], [x + s, y + s]]}),
                json!({"width_m": 10}),
            ),
        };
        let mut props =
            json!({"status": self.status, "classification": "public", "name": self.name});
        for (k, v) in extra.as_object().unwrap() {
            props[k] = v.clone();
        }
        json!({"type": "Feature", "id": id, "geometry": geometry, "properties": props})
    }

    fn wkt(&self) -> String {
        let (x, y, s) = (self.lon, self.lat, self.size);
        match self.kind {
            0 => format!(
                "POLYGON(({x} {y}, {} {y}, {} {}, {x} {}, {x} {y}))",
                x + s,
                x + s,
                y + s,
                y + s
            ),
            1 => format!("POINT({x} {y})"),
            _ => format!("LINESTRING({x} {y}, {} {})", x + s, y + s),
        }
    }
}

/// One mutation of a feature: its JSON (or CSV row) is changed so that it must be refused.
#[derive(Clone, Debug)]
enum Bad {
    UnclosedRing,
    BowTie,
    Longitude(f64),
    Status(Value),
    HugeName(usize),
    DuplicateId,
    UnicodeId(String),
    DeepNesting(usize),
    Overflow,
}

fn bad() -> impl Strategy<Value = Bad> {
    prop_oneof![
        Just(Bad::UnclosedRing),
        Just(Bad::BowTie),
        prop_oneof![180.000_001..1e300f64, -1e300..-180.000_001f64].prop_map(Bad::Longitude),
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            Just(json!(["confirmed"])),
            "[A-Za-z]{1,12}"
                .prop_filter("unknown", |s| !matches!(
                    s.as_str(),
                    "reported"
                        | "suspected"
                        | "confirmed"
                        | "reduced"
                        | "cancelled"
                        | "cleared"
                        | "closed"
                ))
                .prop_map(Value::from),
            "[\\u{0400}-\\u{04FF}]{1,8}".prop_map(Value::from),
        ]
        .prop_map(Bad::Status),
        (1001usize..100_000).prop_map(Bad::HugeName),
        Just(Bad::DuplicateId),
        "[a-z]{0,3}[\\u{0400}-\\u{04FF} /?#%😀][a-z0-9]{0,3}".prop_map(Bad::UnicodeId),
        (200usize..2000).prop_map(Bad::DeepNesting),
        Just(Bad::Overflow),
    ]
}

/// The feature's JSON text with the mutation, and the texts the refusal must contain besides the
/// feature's number.
fn mutate(f: &Feature, id: &str, earlier_id: &str, m: &Bad) -> (String, Vec<&'static str>) {
    let mut v = f.json(id);
    let (x, y, s) = (f.lon, f.lat, f.size);
    let expect: Vec<&'static str> = match m {
        Bad::UnclosedRing | Bad::BowTie => {
            let ring = if matches!(m, Bad::UnclosedRing) {
                json!([[x, y], [x + s, y], [x + s, y + s], [x, y + s]])
            } else {
                json!([[x, y], [x + s, y + s], [x + s, y], [x, y + s], [x, y]])
            };
            v["geometry"] = json!({"type": "Polygon", "coordinates": [ring]});
            let p = v["properties"].as_object_mut().unwrap();
            p.remove("radius_m");
            p.remove("width_m");
            vec![": geometry.coordinates[0]: "]
        }
        Bad::Longitude(lon) => {
            v["geometry"] = json!({"type": "Point", "coordinates": [lon, y]});
            v["properties"]["radius_m"] = json!(25);
            v["properties"].as_object_mut().unwrap().remove("width_m");
            vec![": geometry.coordinates: ", "longitude"]
        }
        Bad::Status(value) => {
            v["properties"]["status"] = value.clone();
            vec![": properties.status: "]
        }
        Bad::HugeName(n) => {
            v["properties"]["name"] = Value::from("щ".repeat(n / 2 + 1));
            vec![": properties.name: "]
        }
        Bad::DuplicateId => {
            v["id"] = Value::from(earlier_id);
            vec![": id: ", "earlier"]
        }
        Bad::UnicodeId(u) => {
            v["id"] = Value::from(u.as_str());
            vec![": id: "]
        }
        Bad::DeepNesting(depth) => {
            v["properties"]["name"] = Value::from("DEEP");
            let deep = format!("{}1{}", "[".repeat(*depth), "]".repeat(*depth));
            return (
                v.to_string().replacen("\"DEEP\"", &deep, 1),
                vec!["not valid JSON"],
            );
        }
        Bad::Overflow => {
            v["properties"]["radius_m"] = Value::from("OVERFLOW");
            return (
                v.to_string().replacen("\"OVERFLOW\"", "1e400", 1),
                vec!["not valid JSON"],
            );
        }
    };
    (v.to_string(), expect)
}

fn check_refused(
    env: &Env,
    file: &str,
    place: &str,
    expect: &[&str],
    before: ((i64, i64), u64),
) -> Result<(), TestCaseError> {
    let out = env.run(&["import", file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    prop_assert_eq!(out.status.code(), Some(2), "{}", stderr);
    prop_assert!(stderr.contains(place), "does not name {place}: {stderr}");
    for e in expect {
        prop_assert!(stderr.contains(e), "does not contain {e:?}: {stderr}");
    }
    prop_assert!(stderr.contains(file), "does not name the file: {stderr}");
    prop_assert_eq!((env.counts(), env.digest()), before, "the store changed");
    Ok(())
}

/// A store with content, shared by the cases: every refused import must leave it as it is.
fn store() -> (Env, ((i64, i64), u64)) {
    let env = Env::with_store();
    let base: Vec<Value> = (0..3)
        .map(|i| {
            Feature {
                lon: 30.0 + f64::from(i),
                lat: 49.0,
                size: 0.01,
                kind: i as u8,
                status: "confirmed",
                name: format!("Base {i}"),
            }
            .json(&format!("BASE-{i}"))
        })
        .collect();
    env.write(
        "base.geojson",
        &json!({"type": "FeatureCollection", "features": base}),
    );
    env.ok(&["import", "base.geojson"]);
    let before = (env.counts(), env.digest());
    (env, before)
}

#[test]
fn geojson_import_with_one_bad_feature_is_refused_whole_naming_it() {
    let (env, before) = store();
    let strategy = proptest::collection::vec(feature(), 2..6).prop_flat_map(|fs| {
        let n = fs.len();
        (Just(fs), 1..n, bad())
    });
    fuzz_shrinking(
        "import-geojson",
        96,
        64,
        strategy,
        |(features, bad_at, m)| {
            let mut texts = Vec::new();
            let mut expect = Vec::new();
            for (i, f) in features.iter().enumerate() {
                let id = format!("FZ-{i}");
                if i == bad_at {
                    let (t, e) = mutate(f, &id, "FZ-0", &m);
                    texts.push(t);
                    expect = e;
                } else {
                    texts.push(f.json(&id).to_string());
                }
            }
            let doc = format!(
                "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}",
                texts.join(",\n")
            );
            std::fs::write(env.path("fuzz.geojson"), doc).unwrap();
            let place = format!("feature {}", bad_at + 1);
            check_refused(&env, "fuzz.geojson", &place, &expect, before)
        },
    );
}

#[derive(Clone, Debug)]
enum BadRow {
    Wkt(String),
    Status(String),
    Radius(String),
    DuplicateId,
}

#[test]
fn csv_import_with_one_bad_row_is_refused_whole_naming_it() {
    let (env, before) = store();
    let bad_row = prop_oneof![
        prop_oneof![
            Just("POLYGON((30 49, 31 49, 31 50, 30 49.5))".to_string()),
            Just("POLYGON((30 49, 31 50, 31 49, 30 50, 30 49))".to_string()),
            Just("POINT(NaN 49)".to_string()),
            Just("POINT(200 49)".to_string()),
            Just("POLYGON((30 49, 31".to_string()),
            "[A-Z]{1,10}\\([0-9 ,.]{0,12}\\)?",
        ]
        .prop_map(BadRow::Wkt),
        "[a-z]{1,12}|[\\u{0400}-\\u{04FF}]{1,6}"
            .prop_filter("unknown", |s| !matches!(
                s.as_str(),
                "reported"
                    | "suspected"
                    | "confirmed"
                    | "reduced"
                    | "cancelled"
                    | "cleared"
                    | "closed"
            ))
            .prop_map(BadRow::Status),
        prop_oneof![
            Just("NaN"),
            Just("-5"),
            Just("fifty"),
            Just("inf"),
            Just("1e400")
        ]
        .prop_map(|s| BadRow::Radius(s.to_string())),
        Just(BadRow::DuplicateId),
    ];
    let strategy = proptest::collection::vec(feature(), 2..6).prop_flat_map(move |fs| {
        let n = fs.len();
        (Just(fs), 1..n, bad_row.clone())
    });
    fuzz_shrinking("import-csv", 96, 64, strategy, |(features, bad_at, m)| {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut text = String::from("id,wkt,status,classification,radius_m,width_m,name\n");
        let mut expect = vec![];
        for (i, f) in features.iter().enumerate() {
            let mut id = format!("FZ-{i}");
            let mut wkt = f.wkt();
            let mut status = f.status.to_string();
            let (mut radius, width) = match f.kind {
                1 => ("25".to_string(), String::new()),
                2 => (String::new(), "10".to_string()),
                _ => (String::new(), String::new()),
            };
            if i == bad_at {
                match &m {
                    BadRow::Wkt(w) => {
                        wkt = w.clone();
                        expect = vec![": geometry"];
                    }
                    BadRow::Status(s) => {
                        status = s.clone();
                        expect = vec![": properties.status: "];
                    }
                    BadRow::Radius(r) => {
                        radius = r.clone();
                        expect = vec![": properties.radius_m: "];
                    }
                    BadRow::DuplicateId => {
                        id = "FZ-0".into();
                        expect = vec![": id: ", "earlier"];
                    }
                }
            }
            let name = f.name.replace(['\n', '\r'], " ");
            text.push_str(
                &[id, wkt, status, "public".into(), radius, width, name]
                    .iter()
                    .map(|c| q(c))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            text.push('\n');
        }
        std::fs::write(env.path("fuzz.csv"), text).unwrap();
        let place = format!("row on line {}", bad_at + 2);
        check_refused(&env, "fuzz.csv", &place, &expect, before)
    });
}
