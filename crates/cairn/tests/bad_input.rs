//! Bad input for `cairn import`: every file in tests/data/bad must be refused with exit 2 and a
//! message naming the file, the feature and the field, and must leave the store exactly as it was.
//! Also: every problem of a file is listed, `--skip-invalid` stores the valid features and writes
//! the rejects beside the input, and a --db that is not SQLite is left untouched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};

/// One bad file of tests/data/bad and the texts its error message must contain besides its name.
type Case = (&'static str, &'static [&'static str]);

/// The corpus: in most files the bad feature is feature 3 (or the row on line 4), among valid ones.
/// Kept out of rustfmt so that each case stays on one line.
#[rustfmt::skip]
const CASES: &[Case] = &[
    // The file as a whole is not a FeatureCollection, or not readable.
    ("truncated-json.geojson", &["not valid JSON", "feature 3"]),
    ("nan-coordinate.geojson", &["not valid JSON", "feature 3"]),
    ("infinite-coordinate.geojson", &["not valid JSON", "feature 3", "out of range"]),
    ("trailing-garbage.geojson", &["not valid JSON", "trailing"]),
    ("features-not-array.geojson", &["\"features\"", "array"]),
    ("top-level-feature.geojson", &["Feature", "not a FeatureCollection"]),
    ("type-feature-after-features.geojson", &["Feature", "not a FeatureCollection"]),
    ("top-level-array.geojson", &["FeatureCollection"]),
    ("no-features-member.geojson", &["no \"features\""]),
    ("no-type-member.geojson", &["no \"type\""]),
    ("empty-features-array.geojson", &["no features"]),
    ("empty-0-bytes.geojson", &["empty", "0 bytes"]),
    ("binary-png-header.geojson", &["binary"]),
    ("crs-epsg-3857.geojson", &["crs", "EPSG::3857"]),
    // Geometry types a hazardous area cannot have.
    ("multipoint-geometry.geojson", &["feature 3", "geometry.type", "MultiPoint"]),
    ("multilinestring-geometry.geojson", &["feature 3", "geometry.type", "MultiLineString"]),
    ("geometrycollection-geometry.geojson", &["feature 3", "geometry.type", "GeometryCollection"]),
    ("unknown-geometry-type.geojson", &["feature 3", "geometry.type", "Circle"]),
    ("missing-geometry-type.geojson", &["feature 3", "geometry.type", "missing"]),
    ("null-geometry.geojson", &["feature 3", "geometry", "null"]),
    // Coordinates.
    ("polygon-single-position.geojson", &["feature 3", "geometry.coordinates[0]", "ring"]),
    ("longitude-200.geojson", &["feature 3", "geometry.coordinates[0][1]", "longitude 200"]),
    ("latitude-minus-95.geojson", &["feature 3", "geometry.coordinates[0][2]", "latitude -95"]),
    ("swapped-lat-lon.geojson", &["feature 3", "geometry.coordinates", "latitude 120.5"]),
    ("position-as-text.geojson", &["feature 3", "geometry.coordinates[0][0]", "numbers"]),
    ("position-four-numbers.geojson", &["feature 3", "geometry.coordinates[0][0]"]),
    ("position-third-element-text.geojson", &["feature 3", "geometry.coordinates"]),
    ("empty-coordinates.geojson", &["feature 3", "geometry.coordinates", "no rings"]),
    ("empty-multipolygon.geojson", &["feature 3", "geometry.coordinates", "no parts"]),
    // Rings and polygons.
    ("unclosed-ring.geojson", &["feature 3", "geometry.coordinates[0]", "not closed"]),
    ("ring-3-positions.geojson", &["feature 3", "geometry.coordinates[0]", "3 positions"]),
    ("hole-unclosed.geojson", &["feature 3", "geometry.coordinates[1]", "not closed"]),
    ("self-intersecting-bowtie.geojson", &["feature 3", "geometry.coordinates[0]", "self-intersection"]),
    ("hole-outside-shell.geojson", &["feature 3", "geometry.coordinates[1]", "not contained"]),
    ("zero-area-polygon.geojson", &["feature 3", "geometry.coordinates[0]"]),
    // Lines and points, with their width and radius.
    ("linestring-one-position.geojson", &["feature 3", "geometry.coordinates", "at least 2"]),
    ("linestring-no-length.geojson", &["feature 3", "geometry.coordinates", "no length"]),
    ("point-without-radius.geojson", &["feature 3", "properties.radius_m"]),
    ("linestring-without-width.geojson", &["feature 3", "properties.width_m"]),
    ("radius-negative.geojson", &["feature 3", "properties.radius_m", "-5"]),
    ("radius-too-large.geojson", &["feature 3", "properties.radius_m", "100000"]),
    ("radius-as-text.geojson", &["feature 3", "properties.radius_m", "50 m"]),
    ("radius-on-polygon.geojson", &["feature 3", "properties.radius_m", "Point"]),
    ("width-zero.geojson", &["feature 3", "properties.width_m"]),
    // The feature object and its properties.
    ("feature-not-object.geojson", &["feature 3", "Feature object"]),
    ("feature-wrong-type.geojson", &["feature 3", "type", "Placemark"]),
    ("missing-properties.geojson", &["feature 3", "properties", "missing"]),
    ("properties-not-object.geojson", &["feature 3", "properties", "object"]),
    ("missing-status.geojson", &["feature 3", "properties.status", "missing"]),
    ("unknown-status.geojson", &["feature 3", "properties.status", "dangerous"]),
    ("status-wrong-case.geojson", &["feature 3", "properties.status", "Confirmed"]),
    ("unknown-classification.geojson", &["feature 3", "properties.classification", "secret"]),
    ("unknown-evidence-kind.geojson", &["feature 3", "properties.evidence.kind", "hearsay"]),
    ("unknown-marking.geojson", &["feature 3", "properties.marking", "painted"]),
    ("name-not-text.geojson", &["feature 3", "properties.name"]),
    ("reference-point-out-of-range.geojson", &["feature 3", "properties.reference_points[0]", "latitude 95"]),
    ("reported-at-not-a-date.geojson", &["feature 3", "properties.reported_at", "last Tuesday"]),
    ("reported-at-impossible-date.geojson", &["feature 3", "properties.reported_at", "2025-02-30"]),
    ("reported-at-future-2099.geojson", &["feature 3", "properties.reported_at", "future"]),
    // Device groups.
    ("unknown-device-type.geojson", &["feature 3", "properties.devices[0].type", "landmine"]),
    ("negative-quantity.geojson", &["feature 3", "properties.devices[0].quantity", "-3"]),
    ("fractional-quantity.geojson", &["feature 3", "properties.devices[0].quantity", "2.5"]),
    ("quantity-as-text.geojson", &["feature 3", "properties.devices[0].quantity", "many"]),
    ("device-unknown-field.geojson", &["feature 3", "properties.devices[0].quantitiy"]),
    ("devices-not-array.geojson", &["feature 3", "properties.devices", "array"]),
    ("emplacement-reversed.geojson", &["feature 3", "properties.devices[0].emplaced_from", "reversed"]),
    ("emplacement-future-2099.geojson", &["feature 3", "properties.devices[0].emplaced_from", "future"]),
    // Ids.
    ("duplicate-ids.geojson", &["feature 4", ": id: ", "OK-2", "earlier"]),
    ("id-with-spaces.geojson", &["feature 3", ": id: ", "' '"]),
    ("id-too-long.geojson", &["feature 3", ": id: ", "64"]),
    ("id-empty.geojson", &["feature 3", ": id: ", "empty"]),
    ("id-object.geojson", &["feature 3", ": id: ", "text or a number"]),
    ("id-dot-dot.geojson", &["feature 3", ": id: "]),
    // CSV: the bad row is on line 4, between valid rows.
    ("csv-bad-wkt.csv", &["row on line 4", "geometry", "not valid WKT"]),
    ("csv-no-geometry-column.csv", &["no geometry column"]),
    ("csv-unclosed-polygon-wkt.csv", &["row on line 4", "geometry[0]", "not closed"]),
    ("csv-non-numeric-radius.csv", &["row on line 4", "properties.radius_m", "fifty"]),
    ("csv-nan-radius.csv", &["row on line 4", "properties.radius_m"]),
    ("csv-nan-radius-on-polygon.csv", &["row on line 4", "properties.radius_m"]),
    ("csv-ragged-row.csv", &["line 4", "fields"]),
    ("csv-unknown-status.csv", &["row on line 4", "properties.status", "dangerous"]),
    ("csv-projected-coordinates.csv", &["row on line 4", "geometry[0][0]", "longitude 4074135"]),
    ("csv-multipoint-wkt.csv", &["row on line 4", "geometry.type", "MultiPoint"]),
    ("csv-empty-wkt.csv", &["row on line 4", "geometry", "empty"]),
    ("csv-point-empty.csv", &["row on line 4", "geometry", "EMPTY"]),
    ("csv-quantity-text.csv", &["row on line 4", "properties.devices[0].quantity", "lots"]),
    ("csv-negative-quantity.csv", &["row on line 4", "properties.devices[0].quantity", "-3"]),
    ("csv-duplicate-ids.csv", &["row on line 4", ": id: ", "OK-2", "earlier"]),
    ("csv-bad-devices-json.csv", &["row on line 4", "properties.devices", "JSON"]),
    ("csv-lon-lat-not-numbers.csv", &["row on line 4", "geometry", "36,6"]),
    ("csv-header-only.csv", &["no features"]),
    ("csv-latin1-text.csv", &["UTF-8"]),
];

/// Three valid features imported into every store before the bad file, so that it has content.
const BASELINE: &str = r#"{"type": "FeatureCollection", "features": [
{"type": "Feature", "id": "BASE-1", "geometry": {"type": "Polygon", "coordinates": [[[35.1, 48.9], [35.2, 48.9], [35.2, 49.0], [35.1, 48.9]]]}, "properties": {"status": "confirmed", "classification": "public", "devices": [{"type": "ap-mine-persistent", "quantity": 5}]}},
{"type": "Feature", "id": "BASE-2", "geometry": {"type": "Point", "coordinates": [35.3, 48.8]}, "properties": {"status": "suspected", "classification": "restricted", "radius_m": 25}},
{"type": "Feature", "id": "BASE-3", "geometry": {"type": "LineString", "coordinates": [[35.4, 48.7], [35.5, 48.75]]}, "properties": {"status": "reported", "width_m": 10}}
]}
"#;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

/// A temp dir holding a store that already has the baseline in it.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let init = env.run(&["init"]);
        assert_eq!(
            init.status.code(),
            Some(0),
            "init failed: {}",
            stderr(&init)
        );
        std::fs::write(env.path("baseline.geojson"), BASELINE).expect("write baseline");
        let import = env.run(&["import", "baseline.geojson"]);
        assert_eq!(
            import.status.code(),
            Some(0),
            "baseline import failed: {}",
            stderr(&import)
        );
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn db(&self) -> PathBuf {
        self.path("store.db")
    }

    /// Runs `cairn --db store.db ARGS` in the temp dir.
    fn run(&self, args: &[&str]) -> Output {
        self.run_with_db(&self.db(), args)
    }

    fn run_with_db(&self, db: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(self.dir.path())
            .env_remove("CAIRN_DB")
            .env_remove("CAIRN_CATALOGUE")
            .env("CAIRN_AUTHOR", "bad input test")
            .arg("--db")
            .arg(db)
            .args(args)
            .output()
            .expect("run cairn")
    }

    /// Every row of the store's history tables, in order.
    fn snapshot(&self) -> Snapshot {
        let conn = Connection::open_with_flags(self.db(), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open store");
        let rows = |sql: &str| -> Vec<Vec<Sql>> {
            let mut stmt = conn.prepare(sql).expect(sql);
            let n = stmt.column_count();
            stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect())
                .expect(sql)
                .collect::<Result<_, _>>()
                .expect(sql)
        };
        Snapshot {
            revisions: rows("SELECT * FROM revisions ORDER BY rev"),
            changesets: rows("SELECT * FROM changesets ORDER BY id"),
            heads: rows("SELECT * FROM heads ORDER BY kind, record_id"),
            counters: rows("SELECT * FROM counters ORDER BY name"),
        }
    }
}

/// The store's content: revisions (geometry blobs included), changesets, heads and id counters.
#[derive(Debug, PartialEq)]
struct Snapshot {
    revisions: Vec<Vec<Sql>>,
    changesets: Vec<Vec<Sql>>,
    heads: Vec<Vec<Sql>>,
    counters: Vec<Vec<Sql>>,
}

/// True when one line of `text` contains every one of `wanted`, so that a message ties the file,
/// the feature and the field together.
fn has_line(text: &str, wanted: &[&str]) -> bool {
    text.lines()
        .any(|line| wanted.iter().all(|w| line.contains(w)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Imports one corpus file into a fresh store with content; returns what went wrong, if anything.
fn check(&(name, expected): &Case) -> Result<(), String> {
    let env = Env::new();
    // The file is copied so that nothing the import might write beside it lands in the repository.
    std::fs::copy(corpus_dir().join(name), env.path(name))
        .map_err(|e| format!("{name}: cannot copy: {e}"))?;
    let before = env.snapshot();
    let out = env.run(&["import", name]);
    let err = stderr(&out);
    let mut faults = Vec::new();
    if out.status.code() != Some(2) {
        faults.push(format!("exit code {:?}, not 2", out.status.code()));
    }
    let wanted: Vec<&str> = std::iter::once(name)
        .chain(expected.iter().copied())
        .collect();
    if !has_line(&err, &wanted) {
        faults.push(format!("no line of stderr holds all of {wanted:?}"));
    }
    if env.snapshot() != before {
        faults.push("the store changed".into());
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name}: {}\n    stdout: {}\n    stderr: {}",
            faults.join("; "),
            String::from_utf8_lossy(&out.stdout).trim(),
            err.trim()
        ))
    }
}

#[test]
fn every_bad_file_is_refused_and_leaves_the_store_unchanged() {
    let failures: Vec<String> = CASES.iter().filter_map(|c| check(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad files were not handled as they should be:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_covers_the_corpus_exactly() {
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("read corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        listed, on_disk,
        "every corpus file needs one line in CASES, and every line a file"
    );
    assert!(CASES.len() >= 30, "the corpus must hold at least 30 faults");
}

/// A valid polygon feature with the id `id`, its south-west corner at longitude `x`.
fn good(id: &str, x: f64) -> Value {
    json!({"type": "Feature", "id": id,
        "geometry": {"type": "Polygon", "coordinates": [[[x, 49.0], [x + 0.05, 49.0], [x + 0.05, 49.05], [x, 49.0]]]},
        "properties": {"status": "suspected", "classification": "public", "devices": [{"type": "at-mine-persistent", "quantity": 2}]}})
}

fn collection(features: Vec<Value>) -> String {
    let lines: Vec<String> = features.iter().map(|f| f.to_string()).collect();
    format!(
        "{{\"type\": \"FeatureCollection\", \"features\": [\n{}\n]}}\n",
        lines.join(",\n")
    )
}

#[test]
fn every_problem_of_a_file_is_listed() {
    let env = Env::new();
    let mut unknown_status = good("M-2", 36.2);
    unknown_status["properties"]["status"] = json!("dangerous");
    let mut far_east = good("M-4", 36.4);
    far_east["geometry"]["coordinates"][0][1] = json!([200.0, 49.0]);
    let mut negative = good("M-5", 36.5);
    negative["properties"]["devices"][0]["quantity"] = json!(-1);
    let features = vec![
        good("M-1", 36.1),
        unknown_status,
        good("M-3", 36.3),
        far_east,
        negative,
        good("M-6", 36.6),
    ];
    std::fs::write(env.path("three-faults.geojson"), collection(features)).unwrap();
    let before = env.snapshot();
    let out = env.run(&["import", "three-faults.geojson"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for (feature, field) in [
        ("feature 2", "properties.status"),
        ("feature 4", "geometry.coordinates[0][1]"),
        ("feature 5", "properties.devices[0].quantity"),
    ] {
        let wanted = ["three-faults.geojson", feature, field];
        assert!(
            has_line(&err, &wanted),
            "no line holds all of {wanted:?}: {err}"
        );
    }
    for valid in ["feature 1", "feature 3", "feature 6"] {
        assert!(
            !err.contains(valid),
            "a valid feature is named as a problem, {valid:?}: {err}"
        );
    }
    assert_eq!(env.snapshot(), before, "the store changed");
}

/// Counts the revisions and changesets in the store.
fn counts(env: &Env) -> (usize, usize) {
    let s = env.snapshot();
    (s.revisions.len(), s.changesets.len())
}

/// The record ids of the store's current records.
fn record_ids(env: &Env) -> Vec<String> {
    env.snapshot()
        .heads
        .iter()
        .map(|row| match &row[1] {
            Sql::Text(t) => t.clone(),
            other => panic!("record_id is not text: {other:?}"),
        })
        .collect()
}

#[test]
fn skip_invalid_stores_the_valid_features_and_writes_the_rejects_beside_the_geojson() {
    let env = Env::new();
    let mut bad_status = good("S-BAD-1", 36.2);
    bad_status["properties"]["status"] = json!("dangerous");
    let mut unclosed = good("S-BAD-2", 36.5);
    unclosed["geometry"]["coordinates"][0][3] = json!([36.5, 49.05]);
    let features = vec![
        good("S-1", 36.1),
        bad_status.clone(),
        good("S-3", 36.3),
        good("S-4", 36.4),
        unclosed.clone(),
        good("S-6", 36.6),
    ];
    std::fs::write(env.path("mixed.geojson"), collection(features)).unwrap();
    let (revisions, changesets) = counts(&env);
    let out = env.run(&["import", "--skip-invalid", "mixed.geojson"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("mixed.rejects.geojson"),
        "stderr does not name the rejects file: {err}"
    );
    assert_eq!(
        counts(&env),
        (revisions + 4, changesets + 1),
        "4 revisions in 1 changeset"
    );
    let ids = record_ids(&env);
    for id in ["BASE-1", "BASE-2", "BASE-3", "S-1", "S-3", "S-4", "S-6"] {
        assert!(ids.contains(&id.to_string()), "{id} missing from {ids:?}");
    }
    assert_eq!(ids.len(), 7, "{ids:?}");

    let rejects: Value = serde_json::from_slice(
        &std::fs::read(env.path("mixed.rejects.geojson")).expect("rejects file"),
    )
    .expect("rejects are JSON");
    assert_eq!(rejects["type"], "FeatureCollection");
    let got = rejects["features"].as_array().expect("features array");
    assert_eq!(got.len(), 2, "{rejects}");
    for (reject, (input, field)) in got.iter().zip([
        (&bad_status, "properties.status"),
        (&unclosed, "geometry.coordinates[0]"),
    ]) {
        assert_eq!(reject["id"], input["id"]);
        assert_eq!(
            reject["geometry"], input["geometry"],
            "the reject keeps its geometry as read"
        );
        let problems = reject["properties"]["cairn_problems"]
            .as_array()
            .expect("cairn_problems array");
        assert!(
            problems
                .iter()
                .any(|p| p.as_str().is_some_and(|p| p.contains(field))),
            "{} problems {problems:?} do not name {field}",
            input["id"]
        );
        let mut props = reject["properties"].clone();
        props.as_object_mut().unwrap().remove("cairn_problems");
        assert_eq!(
            props, input["properties"],
            "the reject keeps its properties as read"
        );
    }
}

#[test]
fn skip_invalid_stores_the_valid_rows_and_writes_the_rejects_beside_the_csv() {
    let env = Env::new();
    let header = "id,wkt,status,classification,radius_m,width_m";
    let rows = [
        "C-1,\"POLYGON((36.1 49.0, 36.15 49.0, 36.15 49.05, 36.1 49.0))\",suspected,public,,",
        "C-BAD-1,POINT(36.2 49.0),suspected,public,fifty,",
        "C-3,POINT(36.3 49.0),confirmed,public,30,",
        "C-BAD-2,\"POLYGON((36.4 49.0, 36.45 49.0, 36.45 49.05, 36.4 49.05))\",suspected,public,,",
        "C-5,POINT(36.5 49.0),reported,restricted,15,",
        "C-6,\"LINESTRING(36.6 49.0, 36.65 49.02)\",suspected,public,,12",
    ];
    std::fs::write(
        env.path("mixed.csv"),
        format!("{header}\n{}\n", rows.join("\n")),
    )
    .unwrap();
    let (revisions, changesets) = counts(&env);
    let out = env.run(&["import", "--skip-invalid", "mixed.csv"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("mixed.rejects.csv"),
        "stderr does not name the rejects file: {err}"
    );
    assert_eq!(
        counts(&env),
        (revisions + 4, changesets + 1),
        "4 revisions in 1 changeset"
    );
    let ids = record_ids(&env);
    for id in ["C-1", "C-3", "C-5", "C-6"] {
        assert!(ids.contains(&id.to_string()), "{id} missing from {ids:?}");
    }
    assert_eq!(ids.len(), 7, "{ids:?}");

    let mut rdr = csv::Reader::from_path(env.path("mixed.rejects.csv")).expect("rejects file");
    let got_header: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let mut want_header: Vec<String> = header.split(',').map(str::to_string).collect();
    want_header.push("cairn_problems".into());
    assert_eq!(got_header, want_header);
    let got: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(got.len(), 2, "{got:?}");
    let mut input = csv::Reader::from_path(env.path("mixed.csv")).unwrap();
    let inputs: Vec<csv::StringRecord> = input.records().collect::<Result<_, _>>().unwrap();
    for (reject, (line, field)) in got
        .iter()
        .zip([(1, "properties.radius_m"), (3, "geometry[0]")])
    {
        let cells: Vec<&str> = reject.iter().collect();
        let want: Vec<&str> = inputs[line].iter().collect();
        assert_eq!(
            &cells[..want.len()],
            &want[..],
            "the reject keeps its cells as read"
        );
        let problems = cells.last().unwrap();
        assert!(
            problems.contains(field),
            "{} problems {problems:?} do not name {field}",
            want[0]
        );
    }
}

#[test]
fn a_db_that_is_not_sqlite_is_refused_and_left_unchanged() {
    let env = Env::new();
    let text = b"Notes from the survey team, not a Cairn store.\nSecond line.\n";
    let notes = env.path("notes.txt");
    std::fs::write(&notes, text).unwrap();
    std::fs::write(env.path("good.geojson"), BASELINE).unwrap();
    let out = env.run_with_db(&notes, &["import", "good.geojson"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("notes.txt"),
        "stderr does not name the store: {err}"
    );
    assert_eq!(std::fs::read(&notes).unwrap(), text, "the file was changed");
    for suffix in ["-wal", "-shm", "-journal"] {
        assert!(
            !env.path(&format!("notes.txt{suffix}")).exists(),
            "notes.txt{suffix} was left behind"
        );
    }
}
