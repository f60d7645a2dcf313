//! `cairn audit` with the real binary on a real store: emplacement records imported as GeoJSON,
//! permitted zones imported with `cairn zone import`, timelines from the store's history, exit 1
//! when violations exist and 0 when none, and bad policies refused with exit 2 naming the line.

mod common;

use common::env::Env;
use serde_json::{Value, json};

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

/// A complete AP emplacement record; `edit` changes it.
fn record(id: &str, geometry: Value, edit: impl Fn(&mut Value)) -> Value {
    let mut f = json!({
        "type": "Feature",
        "id": id,
        "geometry": geometry,
        "properties": {
            "status": "confirmed",
            "classification": "restricted",
            "marking": "marked",
            "reference_points": [[36.1, 48.1], [36.11, 48.1]],
            "devices": [{
                "type": "ap-mine-nonpersistent-15d",
                "quantity": 12,
                "emplaced_from": "2026-10-01T06:00:00Z",
                "emplaced_to": "2026-10-01T08:00:00Z",
                "how_known": "record"
            }],
            "emplacement": {
                "method": "hand-emplaced",
                "anti_handling": false,
                "fuze": "electronic, battery timer",
                "fuze_lifetime_hours": 360,
                "laid_by": "fictional unit 1"
            }
        }
    });
    edit(&mut f);
    f
}

fn prepare() -> Env {
    let env = Env::new();
    env.ok(&["init"]);
    env.write(
        "zones.geojson",
        &json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "Z-east", "geometry": rect(36.0, 48.0, 37.0, 49.0),
             "properties": {"name": "Permitted zone east (fictional)"}}
        ]}),
    );
    env.ok(&[
        "zone",
        "import",
        &env.p("zones.geojson"),
        "--kind",
        "permitted",
    ]);
    env.write(
        "records.geojson",
        &json!({"type": "FeatureCollection", "features": [
            record("HA-ok", rect(36.2, 48.2, 36.3, 48.3), |_| {}),
            record("HA-out", rect(37.2, 48.2, 37.3, 48.3), |_| {}),
            record("HA-persistent", rect(36.4, 48.4, 36.5, 48.5), |f| {
                f["properties"]["devices"][0]["type"] = json!("ap-mine-persistent");
            }),
            record("HA-incomplete", rect(36.6, 48.6, 36.7, 48.7), |f| {
                f["properties"]["emplacement"]
                    .as_object_mut()
                    .unwrap()
                    .remove("anti_handling");
            }),
            record("HA-unmarked", rect(36.2, 48.6, 36.3, 48.7), |f| {
                f["properties"]["marking"] = json!("unmarked");
            }),
            // Not an emplacement record: outside the zone, persistent, unmarked: not audited.
            record("HA-survey", rect(38.0, 48.0, 38.1, 48.1), |f| {
                let p = f["properties"].as_object_mut().unwrap();
                p.remove("emplacement");
                p.insert("marking".into(), json!("unmarked"));
                p.insert("devices".into(), json!([{"type": "ap-mine-persistent", "quantity": null}]));
            }),
        ]}),
    );
    env.ok(&["import", &env.p("records.geojson")]);
    env.write(
        "settlements.geojson",
        &json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.25, 48.305]},
             "properties": {"name": "Fictional village"}}
        ]}),
    );
    env
}

const POLICY: &str = r#"[policy]
name = "test policy"

[rules.permitted-zones]
zones = ["Z-east"]

[rules.ap-lifetime]
max-self-destruct = "15 days"
max-self-deactivation = "120 days"

[rules.apii-record]

[rules.marking]
within = "72 hours"

[rules.settlement-distance]
minimum = "1 km"
settlements = "settlements.geojson"
"#;

fn violations(v: &Value) -> Vec<(String, String)> {
    v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_string(),
                x["record"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn audit_finds_exactly_the_violations_and_exits_1() {
    let env = prepare();
    std::fs::write(env.path("policy.toml"), POLICY).unwrap();
    // Four days on, the unmarked record is past its 72-hour deadline.
    let later = (chrono::Utc::now() + chrono::Duration::days(4)).to_rfc3339();
    let out = env.run(&[
        "audit",
        "--policy",
        &env.p("policy.toml"),
        "--json",
        "--at",
        &later,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = violations(&v);
    let want: Vec<(String, String)> = [
        ("permitted-zones", "HA-out"),
        ("ap-lifetime", "HA-persistent"),
        ("apii-record", "HA-incomplete"),
        ("marking", "HA-unmarked"),
        ("settlement-distance", "HA-ok"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(v["policy"], "test policy");
    assert_eq!(v["records"], 5);
    assert_eq!(v["emplacement_records"], 5);
    let near = &v["violations"][4]["evidence"];
    assert_eq!(near["settlement"], "Fictional village");
    // 0.005° of latitude north of the record's edge: about 556 m.
    let d = near["distance_m"].as_f64().unwrap();
    assert!((540.0..570.0).contains(&d), "{d}");

    // Now (not four days on) the marking is not yet due; the table names each violation.
    let out = env.run(&["audit", "--policy", &env.p("policy.toml")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RULE"), "{text}");
    assert!(text.contains("HA-incomplete"), "{text}");
    assert!(!text.contains("HA-unmarked"), "{text}");
    assert!(text.contains("marking              0 violations"), "{text}");

    // A policy every record meets exits 0.
    std::fs::write(
        env.path("lenient.toml"),
        "[rules.public-warning]\nwithin = \"24 hours\"\n",
    )
    .unwrap();
    let out = env.run(&["audit", "--policy", &env.p("lenient.toml"), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["violations"], json!([]));
}

#[test]
fn bad_policies_exit_2_naming_the_line() {
    let env = prepare();
    let before = env.counts();
    let cases: &[(&str, &str)] = &[
        (
            "[policy]\nname = \"x\"\n[rules.optimise-coverage]\nwithin = \"1 day\"\n",
            "line 3: unknown rule \"optimise-coverage\"",
        ),
        (
            "[rules.marking]\nwithin = \"72 kg\"\n",
            "line 2: rules.marking.within: \"kg\" is not a unit of time",
        ),
        (
            "[rules.settlement-distance]\nminimum = 500\n",
            "line 2: rules.settlement-distance.minimum = 500 has no unit",
        ),
        (
            "[rules.permitted-zones]\nzones = [\n  \"Z-east\",\n  \"Z-west\",\n]\n",
            "line 4: zone \"Z-west\" is not in the store",
        ),
        (
            "[rules.permitted-zones]\nzone-kind = \"oblast\"\n",
            "line 2: the store has no zone of kind oblast",
        ),
        (
            "[rules.marking\nwithin = \"1 day\"\n",
            "line 1: not valid TOML",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(env.path("bad.toml"), text).unwrap();
        let out = env.run(&["audit", "--policy", &env.p("bad.toml")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains("bad.toml"), "{err}");
        assert!(
            err.contains(expected),
            "{text}\nexpected {expected:?} in {err}"
        );
    }
    let out = env.run(&["audit", "--policy", &env.p("missing.toml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    assert_eq!(env.counts(), before, "an audit never writes");
}
