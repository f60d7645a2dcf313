//! Zones and accidents with the real binary: `cairn zone import | list | show` (atomic import,
//! history on re-import, every problem of a bad file named by feature index and field, the store
//! unchanged) and `cairn accident add | list | show` (the public listing without persons or the
//! exact place, and a bad-input table, each case exit 2 naming the field).

mod common;

use common::env::Env;
use serde_json::{Value, json};

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

fn feature(id: Option<&str>, geometry: Value, props: Value) -> Value {
    let mut f = json!({"type": "Feature", "geometry": geometry, "properties": props});
    if let Some(id) = id {
        f["id"] = json!(id);
    }
    f
}

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

/// The area of a lon/lat rectangle on the authalic sphere of WGS 84 (R = 6371007.2 m), in km²:
/// an independent formula, not the geodesic polygon area Cairn computes. The two agree within
/// the sphere's error, well under 0.5 % at these latitudes.
fn sphere_rect_km2(x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
    let r = 6_371_007.2f64;
    r * r * (x1 - x0).to_radians() * (y1.to_radians().sin() - y0.to_radians().sin()) / 1e6
}

fn zones_file(east_x1: f64) -> Value {
    collection(vec![
        feature(
            Some("PZ-1"),
            rect(36.0, 48.0, 37.0, 49.0),
            json!({"name": "Permitted zone 1", "source": "order 12/2026"}),
        ),
        feature(
            None,
            rect(37.5, 48.0, east_x1, 48.5),
            json!({"name": "East strip"}),
        ),
        feature(
            None,
            json!({"type": "MultiPolygon", "coordinates": [
                rect(30.0, 50.0, 30.2, 50.1)["coordinates"].clone(),
                rect(30.5, 50.0, 30.7, 50.1)["coordinates"].clone(),
            ]}),
            json!({"title": "ignored", "name": "Two parts", "description": "north"}),
        ),
    ])
}

#[test]
fn zone_import_keeps_history_and_reimport_writes_only_changed_zones() {
    let e = Env::with_store();
    e.write("zones.geojson", &zones_file(38.0));
    let out = e.ok(&[
        "zone",
        "import",
        &e.p("zones.geojson"),
        "--kind",
        "permitted",
        "--author",
        "Olena",
        "--reason",
        "permitted zones of order 12",
    ]);
    assert!(out.contains("3 created, 0 updated, 0 unchanged"), "{out}");

    let list = e.ok_json(&["zone", "list", "--json"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["PZ-1", "Z-east-strip", "Z-two-parts"]);
    for z in list.as_array().unwrap() {
        assert_eq!(z["kind"], "permitted");
    }
    let km2 = list[0]["area_km2"].as_f64().unwrap();
    let want = sphere_rect_km2(36.0, 48.0, 37.0, 49.0);
    assert!((km2 - want).abs() / want < 0.005, "{km2} vs {want}");
    let km2 = list[2]["area_km2"].as_f64().unwrap();
    let want = 2.0 * sphere_rect_km2(30.0, 50.0, 30.2, 50.1);
    assert!((km2 - want).abs() / want < 0.005, "{km2} vs {want}");
    let text = e.ok(&["zone", "list"]);
    assert!(
        text.contains("Z-east-strip") && text.contains("East strip"),
        "{text}"
    );

    // The same file again changes nothing, not even a changeset's worth of revisions.
    let before = e.counts();
    let out = e.ok(&[
        "zone",
        "import",
        &e.p("zones.geojson"),
        "--kind",
        "permitted",
    ]);
    assert!(out.contains("0 created, 0 updated, 3 unchanged"), "{out}");
    assert_eq!(e.counts().0, before.0, "no new revision");

    // One zone moved: only it gets a new revision.
    e.write("zones2.geojson", &zones_file(38.4));
    let out = e.ok(&[
        "zone",
        "import",
        &e.p("zones2.geojson"),
        "--kind",
        "permitted",
        "--author",
        "Petro",
        "--reason",
        "east strip widened",
    ]);
    assert!(out.contains("0 created, 1 updated, 2 unchanged"), "{out}");
    assert_eq!(e.counts().0, before.0 + 1);

    // `cairn history` shows any record, not only areas: the zone's two revisions, what changed.
    let h = e.ok(&["history", "Z-east-strip"]);
    assert!(h.starts_with("Z-east-strip (zone): 2 revisions"), "{h}");
    assert!(
        h.contains("by Petro: east strip widened (changed: geometry)"),
        "{h}"
    );
    let h = e.ok_json(&["history", "Z-east-strip", "--json"]);
    assert_eq!(h[1]["kind"], "zone");
    assert_eq!(h[1]["changed"], json!(["geometry"]));
    assert!(
        e.bad(&["history", "Z-nowhere"])
            .contains("no record Z-nowhere")
    );

    let z = e.ok_json(&["zone", "show", "Z-east-strip", "--json"]);
    assert_eq!(z["type"], "Feature");
    assert_eq!(z["properties"]["name"], "East strip");
    let revs = z["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2, "{z}");
    assert_eq!(revs[0]["author"], "Olena");
    assert_eq!(revs[0]["reason"], "permitted zones of order 12");
    assert_eq!(revs[1]["author"], "Petro");
    assert_eq!(revs[1]["reason"], "east strip widened");
    assert_eq!(
        z["geometry"]["coordinates"][0][0][1],
        json!([38.4, 48.0]),
        "{z}"
    );
    let unchanged = e.ok_json(&["zone", "show", "PZ-1", "--json"]);
    assert_eq!(unchanged["revisions"].as_array().unwrap().len(), 1);
    assert_eq!(unchanged["properties"]["source"], "order 12/2026");
    let text = e.ok(&["zone", "show", "Z-east-strip"]);
    assert!(
        text.contains("by Olena: permitted zones of order 12")
            && text.contains("by Petro: east strip widened"),
        "{text}"
    );

    // Names and ids from other properties.
    e.write(
        "oblasts.geojson",
        &collection(vec![feature(
            None,
            rect(35.0, 49.0, 35.5, 49.5),
            json!({"NAME_UK": "Харківська область", "ISO": "UA-63"}),
        )]),
    );
    e.ok(&[
        "zone",
        "import",
        &e.p("oblasts.geojson"),
        "--kind",
        "oblast",
        "--name-field",
        "NAME_UK",
        "--id-field",
        "ISO",
    ]);
    let o = e.ok_json(&["zone", "show", "UA-63", "--json"]);
    assert_eq!(o["properties"]["name"], "Харківська область");
    assert_eq!(o["properties"]["kind"], "oblast");

    let err = e.bad(&["zone", "show", "Z-nowhere"]);
    assert!(err.contains("Z-nowhere"), "{err}");
}

#[test]
fn a_zone_file_with_bad_features_is_refused_whole_and_names_each() {
    let e = Env::with_store();
    e.write("zones.geojson", &zones_file(38.0));
    e.ok(&[
        "zone",
        "import",
        &e.p("zones.geojson"),
        "--kind",
        "permitted",
    ]);
    let before = e.counts();
    let bad = collection(vec![
        // A new good zone: it must not be written either.
        feature(None, rect(20.0, 45.0, 21.0, 46.0), json!({"name": "Fine"})),
        // A self-crossing ring (a bow tie).
        feature(
            None,
            json!({"type": "Polygon", "coordinates": [[[30, 48], [31, 49], [31, 48], [30, 49], [30, 48]]]}),
            json!({"name": "Bow tie"}),
        ),
        // No name.
        feature(None, rect(22.0, 45.0, 23.0, 46.0), json!({"label": "x"})),
        // A point is not a zone.
        feature(
            None,
            json!({"type": "Point", "coordinates": [24.0, 45.0]}),
            json!({"name": "Dot"}),
        ),
        // A Cyrillic name without an id gives no id.
        feature(None, rect(25.0, 45.0, 26.0, 46.0), json!({"name": "Київ"})),
    ]);
    e.write("bad.geojson", &bad);
    let err = e.bad(&["zone", "import", &e.p("bad.geojson"), "--kind", "permitted"]);
    for want in [
        "bad.geojson",
        "features[1].geometry.coordinates[0]",
        "self-intersection",
        "features[2].properties.name",
        "features[3].geometry.type",
        "Point",
        "features[4].id",
        "nothing imported",
    ] {
        assert!(err.contains(want), "{want:?} missing from: {err}");
    }
    assert!(!err.contains("features[0]"), "{err}");
    assert_eq!(e.counts(), before, "the refused file wrote nothing");
    assert_eq!(
        e.ok_json(&["zone", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Other bad input: a kind that does not exist, a file that is not a collection, no file.
    let err = e.bad(&[
        "zone",
        "import",
        &e.p("zones.geojson"),
        "--kind",
        "minefield",
    ]);
    assert!(
        err.contains("--kind") && err.contains("permitted, oblast"),
        "{err}"
    );
    e.write(
        "one.geojson",
        &feature(None, rect(1.0, 1.0, 2.0, 2.0), json!({"name": "x"})),
    );
    let err = e.bad(&["zone", "import", &e.p("one.geojson"), "--kind", "other"]);
    assert!(err.contains("FeatureCollection"), "{err}");
    let err = e.bad(&["zone", "import", &e.p("missing.geojson"), "--kind", "other"]);
    assert!(err.contains("missing.geojson"), "{err}");
    std::fs::write(
        e.path("broken.geojson"),
        "{\"type\": \"FeatureCollection\", ",
    )
    .unwrap();
    let err = e.bad(&["zone", "import", &e.p("broken.geojson"), "--kind", "other"]);
    assert!(err.contains("not valid JSON"), "{err}");
    assert_eq!(e.counts(), before);
}

fn accident() -> Value {
    json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [36.123456, 49.987654]},
        "properties": {
            "occurred_at": "2026-06-01T08:30:00Z",
            "device_category": "ap-mine",
            "device_type": "ap-mine-persistent",
            "activity": "farming",
            "description": "tractor driver stepped off near the tree line",
            "source": "police",
            "casualties": [
                {"outcome": "injured", "sex": "male", "age_group": "adult", "role": "civilian",
                 "name": "Ivan Secretname", "notes": "lost a foot"},
                {"outcome": "killed", "sex": "female", "age_group": "child", "role": "civilian"}
            ]
        }
    })
}

#[test]
fn accidents_are_added_listed_publicly_without_persons_and_shown() {
    let e = Env::with_store();
    e.write("a.geojson", &accident());
    let out = e.ok(&["accident", "add", &e.p("a.geojson"), "--author", "Olena"]);
    assert!(out.starts_with("AC-000001:"), "{out}");
    assert!(out.contains("1 killed, 1 injured"), "{out}");

    let mut second = accident();
    second["geometry"]["coordinates"] = json!([37.5, 48.25]);
    second["properties"]["casualties"] = json!([
        {"outcome": "killed", "sex": "male", "age_group": "adult", "role": "deminer"}
    ]);
    second["properties"]["activity"] = json!("demining");
    e.write("b.geojson", &second);
    let b = e.ok_json(&["accident", "add", &e.p("b.geojson"), "--json"]);
    assert_eq!(b["id"], "AC-000002");
    assert_eq!(b["properties"]["killed"], 1);

    // The full list carries every fact.
    let all = e.ok_json(&["accident", "list", "--json"]);
    assert_eq!(all["type"], "FeatureCollection");
    let f = &all["features"][0];
    assert_eq!(f["id"], "AC-000001");
    assert_eq!(f["geometry"]["coordinates"], json!([36.123456, 49.987654]));
    assert_eq!(f["properties"]["casualties"][0]["name"], "Ivan Secretname");
    assert_eq!(f["properties"]["injured"], 1);
    let text = e.ok(&["accident", "list"]);
    assert!(
        text.contains("AC-000002") && text.contains("demining"),
        "{text}"
    );

    // The public list: counts and a rounded place, nobody's name, notes or story.
    let public = e.ok(&["accident", "list", "--public", "--json"]);
    let text = e.ok(&["accident", "list", "--public"]);
    for out in [&public, &text] {
        for secret in [
            "Secretname",
            "foot",
            "tree line",
            "36.123456",
            "49.987654",
            "police",
        ] {
            assert!(!out.contains(secret), "{secret:?} leaked: {out}");
        }
    }
    let pv: Value = serde_json::from_str(&public).unwrap();
    let a = &pv["accidents"][0];
    assert_eq!(a["id"], "AC-000001");
    assert_eq!(a["date"], "2026-06-01");
    assert_eq!(a["place"], json!([36.12, 49.99]));
    assert_eq!(
        (&a["killed"], &a["injured"], &a["children"], &a["female"]),
        (&json!(1), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(pv["accidents"][1]["deminers"], 1);

    // Show: everything, with who recorded it.
    let s = e.ok_json(&["accident", "show", "AC-000001", "--json"]);
    assert_eq!(s["properties"]["casualties"][0]["notes"], "lost a foot");
    assert_eq!(s["revisions"][0]["author"], "Olena");
    let text = e.ok(&["accident", "show", "AC-000001"]);
    assert!(
        text.contains("Ivan Secretname") && text.contains("by Olena"),
        "{text}"
    );
    let s2 = e.ok_json(&["accident", "show", "AC-000002", "--json"]);
    assert_eq!(
        s2["revisions"][0]["author"], "test author",
        "--author defaults to $CAIRN_AUTHOR"
    );
    let err = e.bad(&["accident", "show", "AC-000099"]);
    assert!(err.contains("AC-000099"), "{err}");
}

#[test]
fn bad_accidents_are_refused_naming_the_field() {
    let e = Env::with_store();
    let before = e.counts();
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit, &str)] = &[
        (
            "a casualty's sex",
            |v| v["properties"]["casualties"][1]["sex"] = json!("x"),
            "properties.casualties[1].sex",
        ),
        (
            "a casualty without an outcome",
            |v| {
                v["properties"]["casualties"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("outcome");
            },
            "properties.casualties[0].outcome",
        ),
        (
            "an unknown casualty field",
            |v| v["properties"]["casualties"][1]["height_cm"] = json!(120),
            "properties.casualties[1].height_cm",
        ),
        (
            "no casualties",
            |v| v["properties"]["casualties"] = json!([]),
            "properties.casualties",
        ),
        (
            "casualties not a list",
            |v| v["properties"]["casualties"] = json!("two"),
            "properties.casualties",
        ),
        (
            "an unknown category",
            |v| v["properties"]["device_category"] = json!("landmine"),
            "properties.device_category",
        ),
        (
            "a device type of another category",
            |v| v["properties"]["device_category"] = json!("uxo"),
            "properties.device_category",
        ),
        (
            "an unknown device type",
            |v| v["properties"]["device_type"] = json!("pmn-9000"),
            "properties.device_type",
        ),
        (
            "an unknown activity",
            |v| v["properties"]["activity"] = json!("dancing"),
            "properties.activity",
        ),
        (
            "a time in the future",
            |v| v["properties"]["occurred_at"] = json!("2999-01-01T00:00:00Z"),
            "properties.occurred_at",
        ),
        (
            "a time that is no time",
            |v| v["properties"]["occurred_at"] = json!("yesterday"),
            "properties.occurred_at",
        ),
        (
            "an unknown property",
            |v| v["properties"]["victims"] = json!(3),
            "properties.victims",
        ),
        (
            "a polygon instead of a point",
            |v| v["geometry"] = rect(36.0, 49.0, 36.1, 49.1),
            "geometry.type",
        ),
        (
            "a latitude out of range",
            |v| v["geometry"]["coordinates"] = json!([36.1, 95.0]),
            "geometry.coordinates",
        ),
        ("no geometry", |v| v["geometry"] = Value::Null, "geometry"),
        (
            "an area that does not exist",
            |v| v["properties"]["area_id"] = json!("HA-404404"),
            "properties.area_id",
        ),
        (
            "not a feature",
            |v| v["type"] = json!("FeatureCollection"),
            "type",
        ),
    ];
    for (what, edit, field) in cases {
        let mut v = accident();
        edit(&mut v);
        e.write("bad.geojson", &v);
        let err = e.bad(&["accident", "add", &e.p("bad.geojson")]);
        assert!(
            err.contains(&format!("{field}:")),
            "{what}: {field:?} not named in: {err}"
        );
        assert!(err.contains("bad.geojson"), "{what}: file not named: {err}");
    }
    assert_eq!(e.counts(), before, "no refused accident was written");
    // And the good one is accepted, numbered as the first.
    e.write("good.geojson", &accident());
    let out = e.ok(&["accident", "add", &e.p("good.geojson")]);
    assert!(out.starts_with("AC-000001:"), "{out}");
}
