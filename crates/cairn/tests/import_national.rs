//! Bringing in national data (issue 16): MGRS references in a column (`--mgrs-column`) checked
//! against GeoTrans's MGRS and PROJ as the oracle, bad references refused naming the row and
//! column; a mapping file of another system's fields, codes and statuses (`--mapping`), bad
//! mapping files refused naming the line and key; and `--dry-run`, which lists what would be
//! created, changed or refused and changes nothing.

mod common;

use std::process::Command;

use common::env::Env;
use serde_json::{Value, json};

/// Points in each UTM zone over Ukraine (34 to 37) at 10 km, 1 km, 100 m and 10 m.
fn points() -> Value {
    json!({"points": [
        [22.30, 48.62, 2], [23.10, 48.20, 3],
        [24.03, 49.84, 2], [26.25, 50.62, 4], [29.90, 47.10, 1],
        [30.52, 50.45, 3], [32.06, 49.44, 2], [35.14, 47.84, 4],
        [36.23, 49.99, 2], [37.80, 48.02, 3], [39.30, 48.57, 1]
    ]})
}

fn oracle(env: &Env, args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/mgrs_check.py");
    let out = Command::new(common::python())
        .arg(script)
        .args(args)
        .current_dir(env.path(""))
        .output()
        .expect("run the oracle");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle JSON")
}

#[test]
fn mgrs_references_become_their_squares_as_the_oracle_draws_them() {
    let env = Env::with_store();
    env.write("points.json", &points());
    let refs = oracle(&env, &[&env.p("points.json")]);
    let mut csv = String::from("ref,grid,status,classification\n");
    for r in refs.as_array().unwrap() {
        let r = r.as_str().unwrap();
        // Written with spaces and in lower case, as people do.
        let spaced = format!("{} {} {}", &r[..3], &r[3..5], &r[5..]).to_lowercase();
        csv.push_str(&format!("{r},{spaced},reported,public\n"));
    }
    std::fs::write(env.path("grid.csv"), csv).unwrap();
    env.ok(&["import", &env.p("grid.csv"), "--mgrs-column", "grid"]);
    env.ok(&["export", "-o", &env.p("out.geojson")]);
    let checked = oracle(&env, &[&env.p("points.json"), &env.p("out.geojson")]);
    assert_eq!(checked["checked"], 11);
    assert_eq!(checked["problems"], json!([]), "{checked}");

    // A spot hazard given by a 1 km square: its radius grows to cover the square.
    std::fs::write(
        env.path("spot.csv"),
        "grid,radius_m,status,classification\n36UUA2391,50,reported,public\n",
    )
    .unwrap();
    env.ok(&["import", &env.p("spot.csv"), "--mgrs-column", "grid"]);
    env.ok(&["export", "--format", "csv", "-o", &env.p("all.csv")]);
    let all = std::fs::read_to_string(env.path("all.csv")).unwrap();
    assert!(
        all.contains(",757.11,"),
        "50 m + half the diagonal of 1 km: {all}"
    );
}

#[test]
fn bad_mgrs_references_are_refused_naming_the_row_and_column() {
    let env = Env::with_store();
    let digest = env.digest();
    std::fs::write(
        env.path("grid.csv"),
        "grid,status,classification\n36UUA2391,reported,public\n36UUA239,reported,public\nhello,reported,public\n,reported,public\n36U,reported,public\n31UDQ4825,reported,public\n",
    )
    .unwrap();
    let err = env.bad(&["import", &env.p("grid.csv"), "--mgrs-column", "grid"]);
    for says in [
        "row on line 3: properties.grid: \"36UUA239\" is not an MGRS reference",
        "row on line 4: properties.grid: \"hello\" is not an MGRS reference",
        "row on line 5: properties.grid: is empty",
        "row on line 6: properties.grid: \"36U\" names a grid zone only",
        // Paris: a valid reference, far outside the territory.
        "row on line 7: geometry: the position",
    ] {
        assert!(err.contains(says), "{says}: {err}");
    }
    assert!(!err.contains("line 2"), "{err}");
    let err = env.bad(&["import", &env.p("grid.csv"), "--mgrs-column", "mgrs"]);
    assert!(err.contains("no column \"mgrs\" (--mgrs-column)"), "{err}");
    assert_eq!(env.digest(), digest);
}

const MAPPING: &str = r#"# The national database's export.
[fields]
HAZ_ID = "id"
Statut = "status"
Pristrii = "device_type"
Kilkist = "quantity"
Opys = "evidence_description"

[values.status]
CHA = "confirmed"
SHA = "suspected"

[values.device_type]
PMN = "ap-mine-persistent"
TM62 = "at-mine-persistent"

[defaults]
classification = "restricted"
organisation = "National Mine Action Centre"
evidence_kind = "indirect"
"#;

fn national(rows: &[&str]) -> String {
    let mut s = String::from("HAZ_ID,Statut,Pristrii,Kilkist,Opys,lon,lat,radius_m\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

#[test]
fn a_mapping_brings_another_systems_records_in_and_a_dry_run_changes_nothing() {
    let env = Env::with_store();
    std::fs::write(env.path("map.toml"), MAPPING).unwrap();
    std::fs::write(
        env.path("first.csv"),
        national(&[
            "UA-1,SHA,PMN,12,villagers saw mines,36.10,49.90,50",
            "UA-2,SHA,TM62,unknown,tracks of a minelayer,36.20,49.90,80",
        ]),
    )
    .unwrap();
    env.ok(&[
        "import",
        &env.p("first.csv"),
        "--mapping",
        &env.p("map.toml"),
    ]);
    let f = env.ok_json(&["show", "UA-1", "--json"]);
    let text = f.to_string();
    for says in [
        "\"status\":\"suspected\"",
        "\"classification\":\"restricted\"",
        "National Mine Action Centre",
        "ap-mine-persistent",
        "villagers saw mines",
    ] {
        assert!(text.contains(says), "{says}: {text}");
    }

    // A second delivery: UA-1 confirmed, UA-2 as before, UA-3 new, UA-4 swapped, UA-5 a code
    // the mapping does not know.
    std::fs::write(
        env.path("second.csv"),
        national(&[
            "UA-1,CHA,PMN,12,villagers saw mines,36.10,49.90,50",
            "UA-2,SHA,TM62,unknown,tracks of a minelayer,36.20,49.90,80",
            "UA-3,SHA,PMN,3,a shepherd's report,36.30,49.90,40",
            "UA-4,SHA,PMN,3,a farmer's report,49.90,36.40,40",
            "UA-5,XYZ,PMN,3,an old map,36.50,49.90,40",
        ]),
    )
    .unwrap();
    let counts = env.counts();
    let digest = env.digest();
    let history = env.ok(&["history", "UA-1", "--json"]);
    let out = env.run(&[
        "import",
        &env.p("second.csv"),
        "--mapping",
        &env.p("map.toml"),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(1), "some would be refused");
    let listing = String::from_utf8_lossy(&out.stdout);
    for says in [
        // Confirming needs direct evidence: the one door's rule, as at every door.
        "row on line 2 (id UA-1): would be refused: properties.evidence: confirmed needs direct evidence",
        "row on line 3 (id UA-2): unchanged",
        "row on line 4 (id UA-3): would be created",
        "row on line 5 (id UA-4): would be refused: geometry:",
        "latitude and longitude look swapped",
        "row on line 6 (id UA-5): would be refused: properties.status:",
        "nothing was changed",
    ] {
        assert!(listing.contains(says), "{says}: {listing}");
    }
    assert_eq!(env.counts(), counts, "no changeset, no revision");
    assert_eq!(env.digest(), digest, "the store is as it was");
    assert_eq!(env.ok(&["history", "UA-1", "--json"]), history);
    assert!(
        env.bad(&["show", "UA-3", "--json"]).contains("UA-3"),
        "UA-3 was not created"
    );

    // Without the bad rows the same delivery is changed as the dry run said.
    std::fs::write(
        env.path("third.csv"),
        national(&[
            "UA-2,SHA,TM62,unknown,tracks of a minelayer,36.20,49.90,80",
            "UA-3,SHA,PMN,3,a shepherd's report,36.30,49.90,40",
        ]),
    )
    .unwrap();
    let out = env.run(&[
        "import",
        &env.p("third.csv"),
        "--mapping",
        &env.p("map.toml"),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(env.digest(), digest);
    env.ok(&[
        "import",
        &env.p("third.csv"),
        "--mapping",
        &env.p("map.toml"),
    ]);
    assert_eq!(
        env.ok_json(&["show", "UA-3", "--json"])["feature"]["id"],
        "UA-3"
    );
}

#[test]
fn a_bad_mapping_file_is_refused_naming_the_file_line_and_key() {
    let env = Env::with_store();
    std::fs::write(
        env.path("first.csv"),
        national(&["UA-1,SHA,PMN,12,seen,36.1,49.9,50"]),
    )
    .unwrap();
    let digest = env.digest();
    for (text, says) in [
        (
            MAPPING.replace("Statut = \"status\"", "Statut = \"stauts\""),
            "map.toml: line 4: fields.Statut: \"stauts\" is not a Cairn field",
        ),
        (
            MAPPING.replace("CHA = \"confirmed\"", "CHA = \"confirmd\""),
            "map.toml: line 10: values.status.CHA:",
        ),
        (
            MAPPING.replace("TM62 = \"at-mine-persistent\"", "TM62 = \"tm-62\""),
            "map.toml: line 15: values.device_type.TM62: \"tm-62\" is not a device type",
        ),
        (
            MAPPING.replace("[defaults]", "[defaults"),
            "map.toml: line 17",
        ),
    ] {
        std::fs::write(env.path("map.toml"), text).unwrap();
        let err = env.bad(&[
            "import",
            &env.p("first.csv"),
            "--mapping",
            &env.p("map.toml"),
        ]);
        assert!(err.contains(says), "{says}: {err}");
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(env.digest(), digest);
    }
}

/// An Excel sheet (made here with GDAL's ogr2ogr, which reads it back for the import) with
/// another system's columns and MGRS references: the mapping and the column apply as to a CSV.
#[test]
fn an_excel_sheet_with_a_mapping_and_mgrs_references_is_imported() {
    let env = Env::with_store();
    std::fs::write(
        env.path("sheet.csv"),
        "HAZ_ID,Statut,grid,Opys\nUA-9,SHA,36UUA2391,seen from the road\nUA-10,SHA,37UCQ1234,farmer's report\n",
    )
    .unwrap();
    let out = Command::new("ogr2ogr")
        .args(["-f", "XLSX"])
        .arg(env.path("sheet.xlsx"))
        .arg(env.path("sheet.csv"))
        .output()
        .expect("GDAL's ogr2ogr (gdal-bin) is needed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(env.path("map.toml"), MAPPING).unwrap();
    let args = [
        "import",
        &env.p("sheet.xlsx"),
        "--mgrs-column",
        "grid",
        "--mapping",
        &env.p("map.toml"),
    ];
    let digest = env.digest();
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let listing = env.ok(&dry);
    assert!(
        listing.contains("feature 1 (id UA-9): would be created"),
        "{listing}"
    );
    assert!(
        listing.contains("feature 2 (id UA-10): would be created"),
        "{listing}"
    );
    assert_eq!(env.digest(), digest);
    env.ok(&args);
    let f = env.ok_json(&["show", "UA-9", "--json"])["feature"].clone();
    assert_eq!(f["geometry"]["type"], "Polygon");
    assert_eq!(f["properties"]["status"], "suspected");
    assert_eq!(f["properties"]["classification"], "restricted");
}
