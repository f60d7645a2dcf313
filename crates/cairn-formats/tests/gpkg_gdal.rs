//! Checks the GeoPackage writer against the real GDAL command-line tools (Debian `gdal-bin`).
//!
//! The tests fail, and never skip, when `ogrinfo` or `ogr2ogr` is missing.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cairn_formats::gpkg::{Column, ColumnType, GpkgError, GpkgWriter, Value};
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use serde_json::Value as Json;

/// The feature table name; the space checks identifier quoting.
const TABLE: &str = "hazard areas";

/// An owned attribute value, so that expected features can be kept next to their geometry.
#[derive(Debug, Clone, PartialEq)]
enum Attr {
    Null,
    Text(String),
    Integer(i64),
    Real(f64),
}

impl Attr {
    fn as_value(&self) -> Value<'_> {
        match self {
            Attr::Null => Value::Null,
            Attr::Text(text) => Value::Text(text),
            Attr::Integer(int) => Value::Integer(*int),
            Attr::Real(real) => Value::Real(*real),
        }
    }
}

/// The attribute columns of the sample table; the Ukrainian name checks non-ASCII identifiers.
fn sample_columns() -> Vec<Column> {
    vec![
        Column::new("name", ColumnType::Text),
        Column::new("code", ColumnType::Integer),
        Column::new("area_m2", ColumnType::Real),
        Column::new("примітка", ColumnType::Text),
    ]
}

fn ring(coords: &[(f64, f64)]) -> LineString<f64> {
    LineString::from(coords.to_vec())
}

/// The four sample features: a polygon with a hole, a two-part multipolygon, a point and a line.
fn sample_features() -> Vec<(Geometry<f64>, Vec<Attr>)> {
    let text = |s: &str| Attr::Text(s.to_owned());
    let with_hole = Polygon::new(
        ring(&[
            (30.123456789012, 50.100000000001),
            (30.223456789012, 50.100000000001),
            (30.223456789012, 50.200000000002),
            (30.123456789012, 50.200000000002),
            (30.123456789012, 50.100000000001),
        ]),
        vec![ring(&[
            (30.15, 50.13),
            (30.15, 50.17),
            (30.19, 50.17),
            (30.19, 50.13),
            (30.15, 50.13),
        ])],
    );
    let two_parts = MultiPolygon::new(vec![
        Polygon::new(
            ring(&[
                (32.0, 48.0),
                (32.01, 48.0),
                (32.01, 48.01),
                (32.0, 48.01),
                (32.0, 48.0),
            ]),
            vec![],
        ),
        Polygon::new(
            ring(&[
                (32.05, 48.05),
                (32.07, 48.05),
                (32.06, 48.0712345678901),
                (32.05, 48.05),
            ]),
            vec![],
        ),
    ]);
    let point = Point::new(31.000_000_123_456_78, 49.123_456_789_012_34);
    let line = LineString::from(vec![
        (33.1, 47.1),
        (33.2, 47.15),
        (33.3000000001, 47.0999999999),
    ]);
    vec![
        (
            Geometry::Polygon(with_hole),
            vec![
                text("Поле біля школи"),
                Attr::Integer(101),
                Attr::Real(12_345.678_9),
                Attr::Null,
            ],
        ),
        (
            Geometry::MultiPolygon(two_parts),
            vec![
                text("Ділянка «Північ» — 'лапки' та \"подвійні\""),
                Attr::Null,
                Attr::Real(0.5),
                text("дві частини"),
            ],
        ),
        (
            Geometry::Point(point),
            vec![
                text("Point of interest"),
                Attr::Integer(-7),
                Attr::Null,
                text("line one\nline two"),
            ],
        ),
        (
            Geometry::LineString(line),
            vec![
                Attr::Null,
                // Above 2^53, so a lossy trip through a double would show.
                Attr::Integer(9_007_199_254_740_993),
                Attr::Real(-0.000_001_25),
                text(""),
            ],
        ),
    ]
}

/// Writes `features` to a new GeoPackage at `path` and returns the fids.
fn write_gpkg(path: &Path, features: &[(Geometry<f64>, Vec<Attr>)]) -> Vec<i64> {
    let mut writer = GpkgWriter::create(path, TABLE, "Test hazard areas", &sample_columns())
        .expect("create the GeoPackage");
    let fids = features
        .iter()
        .map(|(geometry, attrs)| {
            let values: Vec<Value<'_>> = attrs.iter().map(Attr::as_value).collect();
            writer.add(geometry, &values).expect("add a feature")
        })
        .collect();
    let written = writer.finish().expect("finish the GeoPackage");
    assert_eq!(written, features.len() as u64);
    fids
}

/// Runs a GDAL tool, fails clearly when it is not installed, and returns (stdout, stderr).
fn gdal(tool: &str, args: &[&str]) -> (String, String) {
    let output = match Command::new(tool).args(args).output() {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` was not found: these tests need the GDAL command-line tools; \
             install them with `apt-get install gdal-bin` (Debian/Ubuntu)"
        ),
        Err(err) => panic!("could not run `{tool}`: {err}"),
    };
    let stdout = String::from_utf8(output.stdout).expect("GDAL stdout is UTF-8");
    let stderr = String::from_utf8(output.stderr).expect("GDAL stderr is UTF-8");
    assert!(
        output.status.success(),
        "`{tool} {}` failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        args.join(" "),
        output.status,
    );
    (stdout, stderr)
}

/// Runs a GDAL tool and asserts that it printed no warning or error.
fn gdal_clean(tool: &str, args: &[&str]) -> String {
    let (stdout, stderr) = gdal(tool, args);
    assert!(
        !stderr.contains("Warning") && !stderr.contains("ERROR"),
        "`{tool} {}` reported problems:\n{stderr}",
        args.join(" "),
    );
    stdout
}

/// Asserts that SQLite finds the database, including the R-tree of `table`, intact.
fn assert_intact(path: &Path, table: &str) {
    let conn = rusqlite::Connection::open(path).expect("open with SQLite");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    let rtree: String = conn
        .query_row(
            "SELECT rtreecheck(?1)",
            [format!("rtree_{table}_geom")],
            |row| row.get(0),
        )
        .expect("R-tree check");
    assert_eq!(rtree, "ok");
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// The GeoJSON coordinates GDAL should write for `geometry`.
fn geojson_coordinates(geometry: &Geometry<f64>) -> (&'static str, Json) {
    let coord = |c: &Coord<f64>| Json::from(vec![c.x, c.y]);
    let line = |l: &LineString<f64>| Json::Array(l.0.iter().map(coord).collect());
    let polygon = |p: &Polygon<f64>| {
        Json::Array(
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(line)
                .collect(),
        )
    };
    match geometry {
        Geometry::Point(p) => ("Point", coord(&p.0)),
        Geometry::LineString(l) => ("LineString", line(l)),
        Geometry::Polygon(p) => ("Polygon", polygon(p)),
        Geometry::MultiPolygon(mp) => (
            "MultiPolygon",
            Json::Array(mp.0.iter().map(polygon).collect()),
        ),
        other => panic!("no GeoJSON expectation for {other:?}"),
    }
}

/// Asserts that two JSON coordinate trees have the same shape and numbers within 1e-9.
fn assert_coords_close(actual: &Json, expected: &Json, context: &str) {
    match (actual, expected) {
        (Json::Array(a), Json::Array(e)) => {
            assert_eq!(
                a.len(),
                e.len(),
                "{context}: coordinate array lengths differ"
            );
            for (a, e) in a.iter().zip(e) {
                assert_coords_close(a, e, context);
            }
        }
        (Json::Number(a), Json::Number(e)) => {
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            assert!((a - e).abs() <= 1e-9, "{context}: coordinate {a} != {e}");
        }
        _ => panic!("{context}: coordinates {actual} do not match {expected}"),
    }
}

/// The exact envelope of a sample geometry as `[minx, miny, maxx, maxy]`.
fn envelope(geometry: &Geometry<f64>) -> [f64; 4] {
    let json = geojson_coordinates(geometry).1;
    let mut env = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut stack = vec![&json];
    while let Some(node) = stack.pop() {
        let items = node.as_array().expect("coordinates are arrays");
        if items.iter().all(Json::is_number) {
            let x = items[0].as_f64().expect("x");
            let y = items[1].as_f64().expect("y");
            env = [env[0].min(x), env[1].min(y), env[2].max(x), env[3].max(y)];
        } else {
            stack.extend(items);
        }
    }
    env
}

/// The GDAL extent line for the union of the sample geometries, in `ogrinfo`'s `%f` format.
fn extent_line(features: &[(Geometry<f64>, Vec<Attr>)]) -> String {
    let [minx, miny, maxx, maxy] = features.iter().map(|(g, _)| envelope(g)).fold(
        [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
        |a, e| {
            [
                a[0].min(e[0]),
                a[1].min(e[1]),
                a[2].max(e[2]),
                a[3].max(e[3]),
            ]
        },
    );
    format!("Extent: ({minx:.6}, {miny:.6}) - ({maxx:.6}, {maxy:.6})")
}

/// The fids of the features `ogrinfo -al` lists.
fn listed_fids(stdout: &str) -> Vec<i64> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(&format!("OGRFeature({TABLE}):")))
        .map(|fid| fid.trim().parse().expect("fid"))
        .collect()
}

#[test]
fn gdal_reads_features_attributes_extent_and_index() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let gpkg = dir.path().join("sample.gpkg");
    let features = sample_features();
    let fids = write_gpkg(&gpkg, &features);
    assert_eq!(fids, vec![1, 2, 3, 4]);
    assert_intact(&gpkg, TABLE);

    // The summary has the feature count, the extent, the SRS and the field types.
    let summary = gdal_clean("ogrinfo", &["-ro", "-al", "-so", path_str(&gpkg)]);
    assert!(summary.contains("Feature Count: 4"), "summary:\n{summary}");
    assert!(
        summary.contains(&extent_line(&features)),
        "summary:\n{summary}"
    );
    assert!(
        summary.contains("Geometry: Unknown (any)"),
        "summary:\n{summary}"
    );
    assert!(summary.contains("FID Column = fid"), "summary:\n{summary}");
    assert!(
        summary.contains("Geometry Column = geom"),
        "summary:\n{summary}"
    );
    assert!(summary.contains("ID[\"EPSG\",4326]"), "summary:\n{summary}");
    for field in [
        "name: String",
        "code: Integer64",
        "area_m2: Real",
        "примітка: String",
    ] {
        assert!(
            summary.contains(field),
            "missing {field:?} in summary:\n{summary}"
        );
    }

    // Listing every feature must not produce warnings about malformed geometry blobs.
    let listing = gdal_clean("ogrinfo", &["-ro", "-al", path_str(&gpkg)]);
    assert_eq!(listed_fids(&listing), vec![1, 2, 3, 4]);
    assert!(listing.contains("Поле біля школи"), "listing:\n{listing}");

    // Converting to GeoJSON returns the same coordinates and attributes.
    let geojson = dir.path().join("out.geojson");
    gdal_clean(
        "ogr2ogr",
        &["-f", "GeoJSON", path_str(&geojson), path_str(&gpkg)],
    );
    let text = std::fs::read_to_string(&geojson).expect("read the GeoJSON");
    let collection: Json = serde_json::from_str(&text).expect("parse the GeoJSON");
    let out = collection["features"].as_array().expect("features array");
    assert_eq!(out.len(), features.len());
    let columns = sample_columns();
    for (index, ((geometry, attrs), feature)) in features.iter().zip(out).enumerate() {
        let context = format!("feature {}", index + 1);
        let (kind, coordinates) = geojson_coordinates(geometry);
        assert_eq!(feature["geometry"]["type"], kind, "{context}");
        assert_coords_close(&feature["geometry"]["coordinates"], &coordinates, &context);
        let properties = feature["properties"].as_object().expect("properties");
        assert_eq!(properties.len(), columns.len(), "{context}: {properties:?}");
        for (column, attr) in columns.iter().zip(attrs) {
            let actual = &properties[&column.name];
            match attr {
                Attr::Null => assert!(actual.is_null(), "{context}: {} = {actual}", column.name),
                Attr::Text(text) => assert_eq!(actual, text, "{context}: {}", column.name),
                Attr::Integer(int) => {
                    assert_eq!(actual.as_i64(), Some(*int), "{context}: {}", column.name)
                }
                Attr::Real(real) => {
                    assert_eq!(actual.as_f64(), Some(*real), "{context}: {}", column.name)
                }
            }
        }
    }

    // A spatial filter around the point returns only the point, through the R-tree.
    let filtered = gdal_clean(
        "ogrinfo",
        &[
            "-ro",
            "-al",
            "-spat",
            "30.99",
            "49.1",
            "31.01",
            "49.2",
            path_str(&gpkg),
        ],
    );
    assert_eq!(listed_fids(&filtered), vec![3], "filtered:\n{filtered}");
    assert!(
        filtered.contains("Point of interest"),
        "filtered:\n{filtered}"
    );

    // A filter that only touches the multipolygon's second part returns only that feature.
    let filtered = gdal_clean(
        "ogrinfo",
        &[
            "-ro",
            "-al",
            "-spat",
            "32.055",
            "48.055",
            "32.065",
            "48.065",
            path_str(&gpkg),
        ],
    );
    assert_eq!(listed_fids(&filtered), vec![2], "filtered:\n{filtered}");

    // The R-tree holds one row per feature with the envelope rounded outward to f32.
    let rtree = gdal_clean(
        "ogrinfo",
        &[
            "-ro",
            path_str(&gpkg),
            "-sql",
            "SELECT id, minx, maxx, miny, maxy FROM \"rtree_hazard areas_geom\" ORDER BY id",
        ],
    );
    for fid in 1..=4 {
        assert!(
            rtree.contains(&format!("id (Integer64) = {fid}")),
            "rtree:\n{rtree}"
        );
    }
    assert_eq!(
        rtree.matches("OGRFeature(SELECT):").count(),
        4,
        "rtree:\n{rtree}"
    );
}

#[test]
fn header_metadata_and_blobs_follow_the_specification() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let gpkg = dir.path().join("meta.gpkg");
    let features = sample_features();
    write_gpkg(&gpkg, &features);

    let conn = rusqlite::Connection::open(&gpkg).expect("open with SQLite");
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            .expect(name)
    };
    assert_eq!(pragma("application_id"), 0x4750_4B47);
    assert_eq!(pragma("user_version"), 10300);
    assert_eq!(
        conn.query_row("PRAGMA integrity_check", [], |row| row.get::<_, String>(0))
            .expect("integrity check"),
        "ok"
    );

    let srs: Vec<(i64, String, String)> = conn
        .prepare(
            "SELECT srs_id, organization, definition FROM gpkg_spatial_ref_sys ORDER BY srs_id",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect()
        })
        .expect("read gpkg_spatial_ref_sys");
    assert_eq!(
        srs.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![-1, 0, 4326]
    );
    assert_eq!(srs[2].1, "EPSG");
    assert!(srs[2].2.starts_with("GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\""));
    assert!(srs[2].2.ends_with("AUTHORITY[\"EPSG\",\"4326\"]]"));

    let (data_type, identifier, description, last_change, min_x, max_y, srs_id): (
        String,
        String,
        String,
        String,
        f64,
        f64,
        i64,
    ) = conn
        .query_row(
            "SELECT data_type, identifier, description, last_change, min_x, max_y, srs_id
             FROM gpkg_contents WHERE table_name = ?1",
            [TABLE],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                ))
            },
        )
        .expect("read gpkg_contents");
    assert_eq!(data_type, "features");
    assert_eq!(identifier, TABLE);
    assert_eq!(description, "Test hazard areas");
    assert_eq!(
        last_change.len(),
        "2024-01-01T00:00:00.000Z".len(),
        "{last_change}"
    );
    assert!(last_change.ends_with('Z'), "{last_change}");
    assert_eq!(min_x, 30.123456789012);
    assert_eq!(max_y, 50.200000000002);
    assert_eq!(srs_id, 4326);

    let geometry_column: (String, String, i64, i64, i64) = conn
        .query_row(
            "SELECT column_name, geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns
             WHERE table_name = ?1",
            [TABLE],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .expect("read gpkg_geometry_columns");
    assert_eq!(
        geometry_column,
        ("geom".to_owned(), "GEOMETRY".to_owned(), 4326, 0, 0)
    );

    let extension: (String, String) = conn
        .query_row(
            "SELECT column_name, scope FROM gpkg_extensions
             WHERE table_name = ?1 AND extension_name = 'gpkg_rtree_index'",
            [TABLE],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("read gpkg_extensions");
    assert_eq!(extension, ("geom".to_owned(), "write-only".to_owned()));

    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .expect("list triggers");
    let expected: Vec<String> = [
        "delete", "insert", "update1", "update2", "update3", "update4",
    ]
    .iter()
    .map(|suffix| format!("rtree_{TABLE}_geom_{suffix}"))
    .collect();
    assert_eq!(triggers, expected);

    // Each R-tree row holds the feature's envelope, rounded outward to 32-bit floats.
    let rows: Vec<(i64, f64, f64, f64, f64)> = conn
        .prepare(&format!(
            "SELECT id, minx, maxx, miny, maxy FROM \"rtree_{TABLE}_geom\" ORDER BY id"
        ))
        .and_then(|mut stmt| {
            stmt.query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })?
            .collect()
        })
        .expect("read the R-tree");
    assert_eq!(rows.len(), features.len());
    for ((fid, minx, maxx, miny, maxy), (geometry, _)) in rows.into_iter().zip(&features) {
        let [ex0, ey0, ex1, ey1] = envelope(geometry);
        for (stored, exact, outward) in [
            (minx, ex0, minx <= ex0),
            (maxx, ex1, maxx >= ex1),
            (miny, ey0, miny <= ey0),
            (maxy, ey1, maxy >= ey1),
        ] {
            assert!(
                outward && (stored - exact).abs() < 1e-5,
                "fid {fid}: R-tree bound {stored} for {exact}"
            );
        }
    }

    // The polygon's blob: "GP", version 0, flags 0x03 (little-endian, [minx, maxx, miny, maxy]
    // envelope), srs_id 4326, the envelope, then little-endian WKB of type 3 (Polygon).
    let blob: Vec<u8> = conn
        .query_row(
            &format!("SELECT geom FROM \"{TABLE}\" WHERE fid = 1"),
            [],
            |row| row.get(0),
        )
        .expect("read a geometry blob");
    assert_eq!(&blob[..4], b"GP\x00\x03");
    assert_eq!(
        i32::from_le_bytes(blob[4..8].try_into().expect("srs")),
        4326
    );
    let envelope: Vec<f64> = blob[8..40]
        .chunks(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("f64")))
        .collect();
    assert_eq!(
        envelope,
        vec![
            30.123456789012,
            30.223456789012,
            50.100000000001,
            50.200000000002
        ]
    );
    assert_eq!(blob[40], 1, "WKB byte order");
    assert_eq!(
        u32::from_le_bytes(blob[41..45].try_into().expect("type")),
        3
    );
    assert_eq!(
        u32::from_le_bytes(blob[45..49].try_into().expect("rings")),
        2
    );
}

#[test]
fn empty_geometries_are_flagged_and_left_out_of_the_index() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let gpkg = dir.path().join("empty.gpkg");
    let columns = [Column::new("name", ColumnType::Text)];
    let mut writer =
        GpkgWriter::create(&gpkg, "mixed", "", &columns).expect("create the GeoPackage");
    writer
        .add(
            &Geometry::LineString(LineString::new(vec![])),
            &[Value::Text("empty")],
        )
        .expect("add an empty line");
    writer
        .add(&Geometry::Point(Point::new(25.5, 45.25)), &[Value::Null])
        .expect("add a point");
    assert_eq!(writer.finish().expect("finish"), 2);

    let conn = rusqlite::Connection::open(&gpkg).expect("open with SQLite");
    let blob: Vec<u8> = conn
        .query_row("SELECT geom FROM mixed WHERE fid = 1", [], |row| row.get(0))
        .expect("read the empty blob");
    // Flags 0x11: little-endian, no envelope, empty; then WKB LineString with zero points.
    assert_eq!(&blob[..4], b"GP\x00\x11");
    assert_eq!(blob.len(), 8 + 9);
    let indexed: i64 = conn
        .query_row("SELECT count(*) FROM rtree_mixed_geom", [], |row| {
            row.get(0)
        })
        .expect("count R-tree rows");
    assert_eq!(indexed, 1);
    drop(conn);

    let summary = gdal_clean("ogrinfo", &["-ro", "-al", "-so", path_str(&gpkg)]);
    assert!(summary.contains("Feature Count: 2"), "summary:\n{summary}");
    assert!(
        summary.contains("Extent: (25.500000, 45.250000) - (25.500000, 45.250000)"),
        "summary:\n{summary}"
    );
    let listing = gdal_clean("ogrinfo", &["-ro", "-al", path_str(&gpkg)]);
    assert!(listing.contains("LINESTRING EMPTY"), "listing:\n{listing}");
    assert!(
        listing.contains("POINT (25.5 45.25)"),
        "listing:\n{listing}"
    );
}

#[test]
fn gdal_edits_keep_the_spatial_index_right() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let gpkg = dir.path().join("edit.gpkg");
    write_gpkg(&gpkg, &sample_features());
    let point_box = ["-spat", "30.99", "49.1", "31.01", "49.2"];
    let filtered = |extra: &[&str]| {
        let mut args = vec!["-ro", "-al"];
        args.extend(extra);
        args.push(path_str(&gpkg));
        listed_fids(&gdal_clean("ogrinfo", &args))
    };

    // Moving the line onto the point fires the update trigger with GDAL's ST_* functions.
    gdal_clean(
        "ogrinfo",
        &[
            path_str(&gpkg),
            "-sql",
            "UPDATE \"hazard areas\" SET geom = (SELECT geom FROM \"hazard areas\" WHERE fid = 3) \
             WHERE fid = 4",
        ],
    );
    assert_eq!(filtered(&point_box), vec![3, 4]);

    // Deleting the point fires the delete trigger.
    gdal_clean(
        "ogrinfo",
        &[
            path_str(&gpkg),
            "-sql",
            "DELETE FROM \"hazard areas\" WHERE fid = 3",
        ],
    );
    assert_eq!(filtered(&point_box), vec![4]);

    // Adding a feature with ogr2ogr fires the insert trigger.
    let extra = dir.path().join("extra.geojson");
    std::fs::write(
        &extra,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"name":"new"},"geometry":{"type":"Point","coordinates":[31.0,49.15]}}]}"#,
    )
    .expect("write GeoJSON");
    gdal_clean(
        "ogr2ogr",
        &["-append", "-nln", TABLE, path_str(&gpkg), path_str(&extra)],
    );
    assert_eq!(filtered(&point_box), vec![4, 5]);
    assert_intact(&gpkg, TABLE);
}

#[test]
fn existing_path_is_refused_and_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let gpkg = dir.path().join("taken.gpkg");
    std::fs::write(&gpkg, b"not a geopackage").expect("write a file");
    let err = GpkgWriter::create(&gpkg, "t", "", &sample_columns())
        .expect_err("an existing file must be refused");
    assert!(matches!(err, GpkgError::AlreadyExists { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(path_str(&gpkg)), "{message}");
    assert_eq!(
        std::fs::read(&gpkg).expect("read the file"),
        b"not a geopackage",
        "the existing file must be left alone"
    );
}

#[test]
fn bad_names_and_values_are_rejected() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let columns = [Column::new("GEOM", ColumnType::Text)];
    let err = GpkgWriter::create(&dir.path().join("a.gpkg"), "t", "", &columns)
        .expect_err("a column may not shadow the geometry column");
    assert!(matches!(err, GpkgError::InvalidName { .. }), "{err:?}");
    let err = GpkgWriter::create(&dir.path().join("b.gpkg"), "gpkg_things", "", &[])
        .expect_err("gpkg_ table names are reserved");
    assert!(matches!(err, GpkgError::InvalidName { .. }), "{err:?}");

    let gpkg = dir.path().join("c.gpkg");
    let mut writer =
        GpkgWriter::create(&gpkg, "t", "", &sample_columns()).expect("create the GeoPackage");
    let point = Geometry::Point(Point::new(1.0, 2.0));
    let err = writer
        .add(&point, &[Value::Null])
        .expect_err("too few values");
    assert!(
        matches!(
            err,
            GpkgError::ValueCount {
                expected: 4,
                got: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let err = writer
        .add(
            &point,
            &[Value::Integer(1), Value::Null, Value::Null, Value::Null],
        )
        .expect_err("an integer in a text column");
    assert!(matches!(err, GpkgError::TypeMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("\"name\""), "{err}");
    let err = writer
        .add(
            &Geometry::Point(Point::new(f64::NAN, 2.0)),
            &[Value::Null, Value::Null, Value::Null, Value::Null],
        )
        .expect_err("a NaN coordinate");
    assert!(matches!(err, GpkgError::InvalidGeometry { .. }), "{err:?}");
    // An integer is accepted for a real column, and the failed calls left no rows behind.
    let fid = writer
        .add(
            &point,
            &[Value::Null, Value::Null, Value::Integer(3), Value::Null],
        )
        .expect("an integer in a real column");
    assert_eq!(fid, 1);
    assert_eq!(writer.finish().expect("finish"), 1);
}

#[test]
fn hundred_thousand_polygons_are_written_and_indexed() {
    const COLUMNS: usize = 400;
    const ROWS: usize = 250;
    const CELL: f64 = 0.001;
    let dir = tempfile::tempdir().expect("temporary directory");
    let gpkg = dir.path().join("many.gpkg");
    let columns = [
        Column::new("name", ColumnType::Text),
        Column::new("n", ColumnType::Integer),
    ];

    // A grid of 30-vertex circles of radius 0.4 cells, one per cell, west of Kyiv.
    let started = Instant::now();
    let mut writer =
        GpkgWriter::create(&gpkg, "grid", "grid of circles", &columns).expect("create");
    let mut vertices: Vec<(f64, f64)> = Vec::with_capacity(31);
    for row in 0..ROWS {
        for column in 0..COLUMNS {
            let cx = 30.0 + (column as f64 + 0.5) * CELL;
            let cy = 50.0 + (row as f64 + 0.5) * CELL;
            vertices.clear();
            vertices.extend((0..30).map(|k| {
                let angle = k as f64 * std::f64::consts::TAU / 30.0;
                (cx + 0.4 * CELL * angle.cos(), cy + 0.4 * CELL * angle.sin())
            }));
            let polygon = Polygon::new(LineString::from(vertices.clone()), vec![]);
            let n = (row * COLUMNS + column) as i64;
            let name = format!("cell {row}/{column}");
            writer
                .add(
                    &Geometry::Polygon(polygon),
                    &[Value::Text(&name), Value::Integer(n)],
                )
                .expect("add a polygon");
        }
    }
    let written = writer.finish().expect("finish");
    let elapsed = started.elapsed();
    assert_eq!(written, (ROWS * COLUMNS) as u64);
    let size = std::fs::metadata(&gpkg).expect("file size").len();
    println!(
        "wrote {written} polygons of 30 vertices in {:.3} s ({} bytes)",
        elapsed.as_secs_f64(),
        size
    );

    let summary = gdal_clean("ogrinfo", &["-ro", "-al", "-so", path_str(&gpkg)]);
    assert!(
        summary.contains("Feature Count: 100000"),
        "summary:\n{summary}"
    );
    // The box edges lie in the gaps between circles, so it holds exactly 10 x 20 of them.
    let filtered = gdal_clean(
        "ogrinfo",
        &[
            "-ro",
            "-al",
            "-so",
            "-spat",
            "30.1",
            "50.2",
            "30.11",
            "50.22",
            path_str(&gpkg),
        ],
    );
    assert!(
        filtered.contains("Feature Count: 200"),
        "filtered:\n{filtered}"
    );
    assert_intact(&gpkg, "grid");

    // Deleting every third feature and moving another through GDAL changes the bulk-loaded
    // R-tree through its triggers (node underflow, cell reinsertion); it must stay correct.
    gdal_clean(
        "ogrinfo",
        &[path_str(&gpkg), "-sql", "DELETE FROM grid WHERE n % 3 = 0"],
    );
    gdal_clean(
        "ogrinfo",
        &[
            path_str(&gpkg),
            "-sql",
            "UPDATE grid SET geom = (SELECT geom FROM grid WHERE n = 82105) WHERE n = 1",
        ],
    );
    let expected = (200..220)
        .flat_map(|row| (100..110).map(move |column| row * COLUMNS + column))
        .filter(|n| n % 3 != 0)
        .count()
        + 1;
    let filtered = gdal_clean(
        "ogrinfo",
        &[
            "-ro",
            "-al",
            "-so",
            "-spat",
            "30.1",
            "50.2",
            "30.11",
            "50.22",
            path_str(&gpkg),
        ],
    );
    assert!(
        filtered.contains(&format!("Feature Count: {expected}")),
        "expected {expected} features:\n{filtered}"
    );
    assert_intact(&gpkg, "grid");
}
