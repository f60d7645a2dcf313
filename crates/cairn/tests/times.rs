//! Times given as a date alone, read the cautious way through the binary: an emplacement range
//! of dates is stored as the widest one (the first moment of `emplaced_from`, the last of
//! `emplaced_to`), the estimate ages devices from that last moment, `--as-of` a date means its
//! first moment; and an area released as a whole shows no figures.

mod common;

use common::env::Env;
use serde_json::{Value, json};

fn area(id: &str, status: &str, x0: f64) -> Value {
    json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Polygon", "coordinates": [[[x0, 48.2], [x0 + 0.1, 48.2], [x0 + 0.1, 48.3], [x0, 48.3], [x0, 48.2]]]},
        "properties": {
            "status": status,
            "classification": "public",
            "evidence": {"kind": "direct", "description": "mines seen"},
            "devices": [{
                "type": "ap-mine-nonpersistent-15d",
                "quantity": 10,
                "emplaced_from": "2026-10-01",
                "emplaced_to": "2026-10-03"
            }]
        }
    })
}

#[test]
fn a_date_only_emplacement_is_read_as_the_widest_range_and_ages_from_its_last_moment() {
    let env = Env::with_store();
    env.write(
        "a.geojson",
        &json!({"type": "FeatureCollection", "features": [area("HA-dates", "confirmed", 36.2)]}),
    );
    env.ok(&["import", &env.p("a.geojson")]);
    let v = env.ok_json(&["show", "HA-dates", "--json", "--at", "2026-10-18T23:59:59Z"]);
    let g = &v["feature"]["properties"]["devices"][0];
    assert_eq!(g["emplaced_from"], "2026-10-01T00:00:00Z");
    assert_eq!(g["emplaced_to"], "2026-10-03T23:59:59.999999Z");
    // 15 days from the last moment of 3 October end just before 19 October: at 23:59:59 on the
    // 18th every device still counts as functioning (a reading of the date as midnight would
    // have had them past self-destruct for a whole day).
    let e = &v["estimate"];
    assert_eq!(e["groups"][0]["emplaced"], "2026-10-03T23:59:59.999999Z");
    assert_eq!(e["groups"][0]["p_functioning"], 1.0);
    assert_eq!(e["expected"], 10.0);
    assert_eq!(e["next_step"], "2026-10-18T23:59:59.999999Z");
    // A day later the step down has come.
    let v = env.ok_json(&["show", "HA-dates", "--json", "--at", "2026-10-20"]);
    assert_eq!(v["estimate"]["groups"][0]["p_functioning"], 0.1);

    // --as-of a date means its first moment: today's date shows the store before today's import.
    let today = chrono::Utc::now().date_naive().to_string();
    let err = env.bad(&["show", "HA-dates", "--as-of", &today]);
    assert!(err.contains("no record HA-dates as of"), "{err}");
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .to_string();
    env.ok(&["show", "HA-dates", "--as-of", &tomorrow]);
    let err = env.bad(&["show", "HA-dates", "--as-of", "2026-02-30"]);
    assert!(
        err.contains("--as-of") && err.contains("2026-02-30"),
        "{err}"
    );
}

#[test]
fn an_area_released_whole_says_nothing_recorded_remains() {
    let env = Env::with_store();
    env.write(
        "a.geojson",
        &json!({"type": "FeatureCollection", "features": [
            area("HA-closed", "closed", 36.2),
            area("HA-open", "confirmed", 36.4),
        ]}),
    );
    env.ok(&["import", &env.p("a.geojson")]);
    let v = env.ok_json(&["show", "HA-closed", "--json", "--at", "2026-10-05"]);
    let e = &v["estimate"];
    assert_eq!(
        e["remaining"],
        "nothing recorded remains: the area is closed (released land); a find there is recorded as a post-release find"
    );
    assert!(
        e.get("expected").is_none() && e.get("p_any").is_none(),
        "{e}"
    );
    assert_eq!(v["catalogue_version"], 1);
    let text = env.ok(&["show", "HA-closed"]);
    assert!(text.contains("nothing recorded remains"), "{text}");
    assert!(!text.contains("expected functioning devices"), "{text}");
    // An open area keeps its figures.
    let v = env.ok_json(&["show", "HA-open", "--json", "--at", "2026-10-05"]);
    assert_eq!(v["estimate"]["expected"], 10.0);
}
