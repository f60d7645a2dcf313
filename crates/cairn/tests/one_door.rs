//! One door for every write (issue 13), end to end with the real binary and a running service:
//! every forbidden change is refused the same way through every door — `cairn import`, OGC API
//! Part 4 `POST`/`PUT`/`PATCH`/`DELETE`, `cairn status`, `POST /api/areas/{id}/status`, the
//! corrections of `cairn correct` and `POST /api/areas/{id}/corrections` — naming the rule and
//! changing nothing; the same table's allowed changes succeed at every door. A running service
//! follows writes made by another process (the command line) within a second, and a triaged
//! public report warns at its place.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::env::Env;
use common::server::{Server, http, request};
use serde_json::{Value, json};

fn square(lon: f64, lat: f64, d: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]})
}

/// The records every case starts from (one store per case keeps cases apart).
fn records() -> Value {
    let f = |id: &str, lon: f64, status: &str, kind: &str| {
        json!({"type": "Feature", "id": id, "geometry": square(lon, 49.9, 0.01), "properties": {
            "status": status, "classification": "public", "organisation": "Operator A",
            "evidence": {"kind": kind, "description": "as recorded"},
            "devices": [{"type": "ap-mine-persistent", "quantity": 10}]}})
    };
    json!({"type": "FeatureCollection", "features": [
        f("HA-000001", 36.0, "confirmed", "direct"),
        f("HA-000002", 36.1, "suspected", "indirect"),
        f("HA-000003", 36.2, "closed", "direct"),
    ]})
}

/// A store with the records, an officer and a field user of Operator A, and their tokens.
struct World {
    env: Env,
    officer: String,
    field: String,
}

fn world() -> World {
    let env = Env::with_store();
    env.write("records.geojson", &records());
    env.ok(&["import", &env.p("records.geojson"), "--reason", "migration"]);
    env.ok(&["org", "add", "Operator A"]);
    env.ok(&["user", "add", "Olena", "--role", "officer"]);
    env.ok(&[
        "user",
        "add",
        "Team 7",
        "--role",
        "field",
        "--org",
        "Operator A",
    ]);
    let officer = env
        .ok(&["token", "create", "--user", "Olena"])
        .trim()
        .to_string();
    let field = env
        .ok(&["token", "create", "--user", "Team 7"])
        .trim()
        .to_string();
    World {
        env,
        officer,
        field,
    }
}

/// The feature of `id` as the store has it now (from `cairn export`).
fn feature(env: &Env, id: &str) -> Value {
    env.ok(&["export", "-o", &env.p("now.geojson")]);
    let all: Value =
        serde_json::from_slice(&std::fs::read(env.path("now.geojson")).unwrap()).unwrap();
    all["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no {id} in the export"))
}

fn etag(addr: &str, id: &str, token: &str) -> String {
    let auth = format!("Bearer {token}");
    let (status, head, _) = request(
        addr,
        "GET",
        &format!("/ogc/collections/hazardous-areas/items/{id}"),
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(status, 200, "GET {id}");
    common::server::header(&head, "etag").expect("an ETag")
}

/// A change to try: which record, the merge patch of its feature, and the rule expected
/// (`None`: allowed).
struct Case {
    name: &'static str,
    id: &'static str,
    patch: Value,
    rule: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let c = |name, id, patch, rule| Case {
        name,
        id,
        patch,
        rule,
    };
    vec![
        c(
            "clear by edit",
            "HA-000001",
            json!({"properties": {"status": "cleared"}}),
            Some("release-by-activity"),
        ),
        c(
            "close by edit",
            "HA-000001",
            json!({"properties": {"status": "closed"}}),
            Some("release-by-activity"),
        ),
        c(
            "reduce by edit",
            "HA-000001",
            json!({"properties": {"status": "reduced"}}),
            Some("release-by-activity"),
        ),
        c(
            "lower status",
            "HA-000001",
            json!({"properties": {"status": "suspected"}}),
            Some("weakening-needs-correction"),
        ),
        c(
            "to reported",
            "HA-000001",
            json!({"properties": {"status": "reported"}}),
            Some("weakening-needs-correction"),
        ),
        c(
            "hide from the public",
            "HA-000001",
            json!({"properties": {"classification": "restricted"}}),
            Some("weakening-needs-correction"),
        ),
        c(
            "smaller outline",
            "HA-000001",
            json!({"geometry": square(36.0, 49.9, 0.005)}),
            Some("weakening-needs-correction"),
        ),
        c(
            "moved outline",
            "HA-000001",
            json!({"geometry": square(36.5, 49.9, 0.01)}),
            Some("weakening-needs-correction"),
        ),
        c(
            "fewer devices",
            "HA-000001",
            json!({"properties": {"devices": [{"type": "ap-mine-persistent", "quantity": 3}]}}),
            Some("weakening-needs-correction"),
        ),
        c(
            "confirm on indirect evidence",
            "HA-000002",
            json!({"properties": {"status": "confirmed"}}),
            Some("confirmed-needs-direct-evidence"),
        ),
        c(
            "reopen closed land",
            "HA-000003",
            json!({"properties": {"status": "confirmed"}}),
            Some("released-stays-released"),
        ),
        c(
            "latitude and longitude swapped",
            "HA-000001",
            json!({"geometry": square(49.89, 35.99, 0.03)}),
            Some("latitude and longitude look swapped"),
        ),
        c(
            "far outside the country",
            "HA-000001",
            json!({"geometry": square(13.4, 52.5, 0.01)}),
            Some("outside the territory of operations (Ukraine and 50 km around it)"),
        ),
        c(
            "a reference point swapped",
            "HA-000001",
            json!({"properties": {"reference_points": [[36.0, 49.9], [49.91, 36.01]]}}),
            Some("latitude and longitude look swapped"),
        ),
        c(
            "add a name",
            "HA-000001",
            json!({"properties": {"name": "Field by the school"}}),
            None,
        ),
        c(
            "larger outline",
            "HA-000001",
            json!({"geometry": square(35.99, 49.89, 0.03)}),
            None,
        ),
        c(
            "more devices",
            "HA-000001",
            json!({"properties": {"devices": [{"type": "ap-mine-persistent", "quantity": 12}]}}),
            None,
        ),
        c(
            "confirm on direct evidence",
            "HA-000002",
            json!({"properties": {"status": "confirmed", "evidence": {"kind": "direct", "description": "mine seen at the edge"}}}),
            None,
        ),
    ]
}

fn merged(mut f: Value, patch: &Value) -> Value {
    if let Some(p) = patch.get("properties").and_then(Value::as_object) {
        for (k, v) in p {
            f["properties"][k] = v.clone();
        }
    }
    if let Some(g) = patch.get("geometry") {
        f["geometry"] = g.clone();
    }
    f
}

/// Tries `case` at `door`; returns whether it was written, and the refusal's text.
fn attempt(w: &World, addr: &str, door: &str, case: &Case) -> (bool, String) {
    let before = feature(&w.env, case.id);
    let after = merged(before.clone(), &case.patch);
    let item = format!("/ogc/collections/hazardous-areas/items/{}", case.id);
    let auth = format!("Bearer {}", w.officer);
    let http_write = |method: &str, path: &str, body: &Value, with_etag: bool| {
        let tag = etag(addr, case.id, &w.officer);
        let mut headers = vec![("Authorization", auth.as_str())];
        if with_etag {
            headers.push(("If-Match", tag.as_str()));
        }
        let ctype = if method == "PATCH" {
            "application/merge-patch+json"
        } else {
            "application/geo+json"
        };
        headers.push(("Content-Type", ctype));
        let (status, _, body) = request(addr, method, path, &headers, &body.to_string());
        (status / 100 == 2, format!("{status} {body}"))
    };
    match door {
        "import" => {
            w.env.write(
                "change.geojson",
                &json!({"type": "FeatureCollection", "features": [after]}),
            );
            let out = w.env.run(&["import", &w.env.p("change.geojson")]);
            let ok = out.status.success();
            if !ok {
                assert_eq!(out.status.code(), Some(2), "{}: import exit", case.name);
            }
            (ok, String::from_utf8_lossy(&out.stderr).into_owned())
        }
        "PUT" => http_write("PUT", &item, &after, true),
        "PATCH" => http_write("PATCH", &item, &case.patch, true),
        _ => unreachable!(),
    }
}

#[test]
fn every_door_refuses_the_same_changes_and_allows_the_same_changes() {
    for door in ["import", "PUT", "PATCH"] {
        for case in cases() {
            let w = world();
            let server = Server::start(&w.env.path("store.db"), None);
            let counts = w.env.counts();
            let history = w.env.ok(&["history", case.id, "--json"]);
            let (written, text) = attempt(&w, &server.addr, door, &case);
            match case.rule {
                Some(rule) => {
                    assert!(!written, "{door} {}: should be refused: {text}", case.name);
                    assert!(
                        text.contains(rule),
                        "{door} {}: the refusal should name rule {rule}: {text}",
                        case.name
                    );
                    assert_eq!(
                        w.env.counts(),
                        counts,
                        "{door} {}: nothing written",
                        case.name
                    );
                    assert_eq!(
                        w.env.ok(&["history", case.id, "--json"]),
                        history,
                        "{door} {}: history unchanged",
                        case.name
                    );
                }
                None => {
                    assert!(written, "{door} {}: should be allowed: {text}", case.name);
                    assert_ne!(w.env.counts(), counts, "{door} {}: written", case.name);
                }
            }
        }
    }
}

#[test]
fn status_doors_delete_post_and_field_users_refuse_alike() {
    let w = world();
    let server = Server::start(&w.env.path("store.db"), None);
    let addr = server.addr.as_str();
    let counts = w.env.counts();
    // The status command at the command line and over HTTP.
    for (id, to, rule) in [
        ("HA-000001", "cleared", "release-by-activity"),
        ("HA-000001", "suspected", "weakening-needs-correction"),
        ("HA-000002", "confirmed", "confirmed-needs-direct-evidence"),
        ("HA-000003", "confirmed", "released-stays-released"),
    ] {
        let err = w
            .env
            .bad(&["status", id, "--to", to, "--reason", "try", "--by", "Olena"]);
        assert!(err.contains(rule), "cairn status {id} --to {to}: {err}");
        let (status, body) = http(
            addr,
            "POST",
            &format!("/api/areas/{id}/status"),
            Some(&w.officer),
            &json!({"status": to, "reason": "try"}).to_string(),
        );
        assert!(
            status == 409 || status == 422,
            "POST status {id} {to}: {status} {body}"
        );
        assert!(body.contains(rule), "POST status {id} {to}: {body}");
    }
    // DELETE never closes an area.
    let tag = etag(addr, "HA-000001", &w.officer);
    let auth = format!("Bearer {}", w.officer);
    let (status, _, body) = request(
        addr,
        "DELETE",
        "/ogc/collections/hazardous-areas/items/HA-000001",
        &[("Authorization", &auth), ("If-Match", &tag)],
        "",
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("release-by-activity"), "{body}");
    // POST: no area born closed, no id in the danger zones' namespace.
    for (f, rule) in [
        (
            json!({"type": "Feature", "geometry": square(36.3, 49.9, 0.01), "properties": {"status": "closed", "classification": "public"}}),
            "release-by-activity",
        ),
        (
            json!({"type": "Feature", "id": "zone-3630-4990-3632-4992", "geometry": square(36.3, 49.9, 0.01), "properties": {"status": "suspected", "classification": "public", "evidence": {"kind": "indirect", "description": "x"}}}),
            "reserved",
        ),
    ] {
        let (status, _, body) = request(
            addr,
            "POST",
            "/ogc/collections/hazardous-areas/items",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/geo+json"),
            ],
            &f.to_string(),
        );
        assert!(status == 409 || status == 422, "{status} {body}");
        assert!(body.contains(rule), "{body}");
        // An import may migrate a closed record (existing national data), never a zone's id.
        if rule == "reserved" {
            w.env.write(
                "new.geojson",
                &json!({"type": "FeatureCollection", "features": [f]}),
            );
            let err = w.env.bad(&["import", &w.env.p("new.geojson")]);
            assert!(err.contains(rule), "{err}");
        }
    }
    // A field user cannot take a published hazard off the map, nor correct one.
    let ftag = etag(addr, "HA-000001", &w.field);
    let fauth = format!("Bearer {}", w.field);
    let (status, _, body) = request(
        addr,
        "PATCH",
        "/ogc/collections/hazardous-areas/items/HA-000001",
        &[
            ("Authorization", &fauth),
            ("If-Match", &ftag),
            ("Content-Type", "application/merge-patch+json"),
        ],
        &json!({"properties": {"status": "reported"}}).to_string(),
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("weakening-needs-correction"), "{body}");
    let (status, _, body) = request(
        addr,
        "POST",
        "/api/areas/HA-000001/corrections",
        &[("Authorization", &fauth), ("If-Match", &ftag)],
        &json!({"reason": "mistake", "properties": {"status": "reported"}}).to_string(),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("correction-by-officer"), "{body}");
    assert_eq!(
        w.env.counts(),
        counts,
        "nothing was written by any refused door"
    );
}

/// A position far outside the territory of operations, or with its axes swapped, is refused at
/// the doors that make new records too (import of a file, OGC `POST`, a correction), naming the
/// feature or row; a store may set another territory, which every door then uses.
#[test]
fn positions_outside_the_territory_are_refused_at_every_door_naming_the_feature() {
    let w = world();
    let server = Server::start(&w.env.path("store.db"), None);
    let addr = &server.addr;
    let auth = format!("Bearer {}", w.officer);
    let digest = w.env.digest();
    let new = |geometry: Value| {
        json!({"type": "Feature", "geometry": geometry, "properties": {
            "status": "suspected", "classification": "public",
            "evidence": {"kind": "indirect", "description": "reported by the village head"}}})
    };
    // An import whose second feature has its axes swapped: nothing imported, feature 2 named.
    w.env.write(
        "swapped.geojson",
        &json!({"type": "FeatureCollection", "features": [
            new(square(36.4, 49.9, 0.01)),
            new(square(49.9, 36.45, 0.01)),
            new(square(36.5, 49.9, 0.01)),
        ]}),
    );
    let err = w.env.bad(&["import", &w.env.p("swapped.geojson")]);
    assert!(err.contains("feature 2: geometry"), "{err}");
    assert!(err.contains("latitude and longitude look swapped"), "{err}");
    assert!(
        !err.contains("feature 1") && !err.contains("feature 3"),
        "{err}"
    );
    // A CSV row with lon and lat the wrong way round is named by its line.
    std::fs::write(
        w.env.path("swapped.csv"),
        "lon,lat,radius_m,status,classification\n36.4,49.9,25,reported,public\n49.9,36.4,25,reported,public\n",
    )
    .unwrap();
    let err = w.env.bad(&["import", &w.env.p("swapped.csv")]);
    assert!(err.contains("row on line 3: geometry"), "{err}");
    assert!(err.contains("latitude and longitude look swapped"), "{err}");
    // OGC POST of a new record far away (Berlin): refused with the same rule.
    let (status, _, body) = request(
        addr,
        "POST",
        "/ogc/collections/hazardous-areas/items",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/geo+json"),
        ],
        &new(square(13.4, 52.5, 0.01)).to_string(),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains(r#""rule":"territory""#), "{body}");
    assert!(!body.contains("swapped"), "{body}");
    // A correction, the officer's door that may weaken, may not move a record out of the country.
    w.env.write(
        "moved.json",
        &json!({"geometry": square(49.89, 35.99, 0.03)}),
    );
    let err = w.env.bad(&[
        "correct",
        "HA-000001",
        "--patch",
        &w.env.p("moved.json"),
        "--reason",
        "surveyed again",
        "--by",
        "Olena",
    ]);
    assert!(err.contains("latitude and longitude look swapped"), "{err}");
    assert_eq!(w.env.digest(), digest, "nothing was written");
    drop(server);

    // Another territory (a test square in western Europe): now Ukraine is outside it.
    let env = Env::with_store();
    env.write(
        "square.geojson",
        &json!({"type": "Feature", "properties": {"name": "Test square"}, "geometry": square(0.0, 51.0, 1.0)}),
    );
    env.ok(&[
        "territory",
        "set",
        &env.p("square.geojson"),
        "--reason",
        "a test",
    ]);
    assert_eq!(
        env.ok_json(&["territory", "show", "--json"])["properties"]["name"],
        "Test square"
    );
    env.write(
        "there.geojson",
        &json!({"type": "FeatureCollection", "features": [new(square(0.5, 51.5, 0.01))]}),
    );
    env.ok(&["import", &env.p("there.geojson")]);
    env.write(
        "ukraine.geojson",
        &json!({"type": "FeatureCollection", "features": [new(square(36.0, 49.9, 0.01))]}),
    );
    let err = env.bad(&["import", &env.p("ukraine.geojson")]);
    assert!(
        err.contains("outside the territory of operations (Test square)"),
        "{err}"
    );
    // Setting the same territory again changes nothing.
    let counts = env.counts();
    let out = env.ok(&[
        "territory",
        "set",
        &env.p("square.geojson"),
        "--reason",
        "again",
    ]);
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(env.counts(), counts);
}

#[test]
fn an_officer_corrects_a_wrong_record_at_either_door_and_history_says_so() {
    let w = world();
    let server = Server::start(&w.env.path("store.db"), None);
    // Over HTTP: a lower status, with a reason.
    let tag = etag(&server.addr, "HA-000001", &w.officer);
    let auth = format!("Bearer {}", w.officer);
    let (status, _, body) = request(
        &server.addr,
        "POST",
        "/api/areas/HA-000001/corrections",
        &[("Authorization", &auth), ("If-Match", &tag)],
        &json!({"properties": {"status": "suspected"}}).to_string(),
    );
    assert_eq!(status, 422, "a correction needs a reason: {body}");
    let (status, _, body) = request(
        &server.addr,
        "POST",
        "/api/areas/HA-000001/corrections",
        &[("Authorization", &auth), ("If-Match", &tag)],
        &json!({"reason": "the device seen was a tin can", "properties": {"status": "suspected"}})
            .to_string(),
    );
    assert_eq!(status, 200, "{body}");
    // At the command line: a smaller outline.
    w.env.write(
        "patch.json",
        &json!({"geometry": square(36.0, 49.9, 0.005)}),
    );
    let err = w.env.bad(&[
        "correct",
        "HA-000001",
        "--patch",
        &w.env.p("patch.json"),
        "--reason",
        " ",
    ]);
    assert!(err.contains("--reason"), "{err}");
    let out = w.env.ok(&[
        "correct",
        "HA-000001",
        "--patch",
        &w.env.p("patch.json"),
        "--reason",
        "resurveyed: the east half was never mined",
        "--by",
        "Olena",
    ]);
    assert!(out.contains("weakens"), "{out}");
    let h: Value = serde_json::from_str(&w.env.ok(&["history", "HA-000001", "--json"])).unwrap();
    let text = h.to_string();
    assert_eq!(text.matches("\"command\":\"correct\"").count(), 2, "{text}");
    assert!(text.contains("the device seen was a tin can"), "{text}");
    assert!(text.contains("resurveyed"), "{text}");
}

/// Polls `f` until it is true or a second has passed since `from`; true when it came in time.
fn within_a_second(from: Instant, mut f: impl FnMut() -> bool) -> bool {
    loop {
        if f() {
            return true;
        }
        if from.elapsed() > Duration::from_secs(1) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn inside(addr: &str, lon: f64, lat: f64, token: Option<&str>) -> Value {
    let (status, body) = http(
        addr,
        "GET",
        &format!("/api/check/point?lon={lon}&lat={lat}"),
        token,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v
}

#[test]
fn a_running_service_follows_what_the_command_line_writes() {
    let w = world();
    let server = Server::start(&w.env.path("store.db"), None);
    let addr = server.addr.as_str();
    let (lon, lat) = (36.455, 49.905);
    assert_eq!(inside(addr, lon, lat, None)["inside"], json!([]));
    // Another process imports a confirmed hazard.
    w.env.write(
        "new.geojson",
        &json!({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "HA-000100",
            "geometry": square(36.45, 49.9, 0.01), "properties": {"status": "confirmed", "classification": "public",
            "organisation": "Operator A", "evidence": {"kind": "direct", "description": "mine seen"}}}]}),
    );
    w.env.ok(&["import", &w.env.p("new.geojson")]);
    let t = Instant::now();
    assert!(
        within_a_second(t, || inside(addr, lon, lat, None)["inside"][0]["id"]
            == "HA-000100"),
        "the public check answers the imported hazard within a second"
    );
    // The change number is an operator's detail (it moves with restricted writes too).
    let (_, health) = http(addr, "GET", "/health", Some(&w.officer), "");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert!(health["change"].as_i64().unwrap() >= 2, "{health}");
    // Another process clears all of it: the service stops answering it.
    w.env.write(
        "worked.geojson",
        &json!({"type": "Feature", "geometry": square(36.449, 49.899, 0.012), "properties": {}}),
    );
    let act = w.env.ok_json(&[
        "activity",
        "add",
        "--area",
        "HA-000100",
        "--kind",
        "clearance",
        "--org",
        "Operator A",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-03",
        "--geometry",
        &w.env.p("worked.geojson"),
        "--json",
    ]);
    w.env.write("all.geojson", &square(36.449, 49.899, 0.012));
    w.env.ok(&[
        "release",
        "--area",
        "HA-000100",
        "--method",
        "clear",
        "--activity",
        act["id"].as_str().unwrap(),
        "--geometry",
        &w.env.p("all.geojson"),
        "--by",
        "Olena",
    ]);
    let t = Instant::now();
    assert!(
        within_a_second(t, || inside(addr, lon, lat, None)["inside"] == json!([])),
        "the released hazard is no longer answered within a second"
    );
}

#[test]
fn a_triaged_public_report_warns_at_its_place() {
    let w = world();
    let server = Server::start(&w.env.path("store.db"), None);
    let addr = server.addr.as_str();
    let (lon, lat) = (36.612, 49.712);
    let (status, body) = http(
        addr,
        "POST",
        "/api/reports",
        None,
        &json!({"lon": lon, "lat": lat, "category": "mine", "description": "a mine at the school gate"}).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let reference = serde_json::from_str::<Value>(&body).unwrap()["reference"]
        .as_str()
        .unwrap()
        .to_string();
    // Untriaged, the report is not yet shown to the public.
    assert_eq!(inside(addr, lon, lat, None)["inside"], json!([]));
    w.env
        .ok(&["reports", "triage", &reference, "--open", "--by", "Olena"]);
    let t = Instant::now();
    assert!(
        within_a_second(t, || inside(addr, lon, lat, None)["advice"]["danger"]
            == true),
        "the public is warned at the reported place"
    );
    let public = inside(addr, lon, lat, None);
    assert_eq!(public["inside"][0]["status"], "danger-zone", "{public}");
    assert!(
        !public.to_string().contains("HA-"),
        "the public sees a zone, not the record: {public}"
    );
    let officer = inside(addr, lon, lat, Some(&w.officer));
    assert_eq!(officer["inside"][0]["status"], "reported", "{officer}");
    assert!(
        officer["inside"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("HA-"),
        "{officer}"
    );
    assert!(
        officer["advice"]["en"]
            .as_str()
            .unwrap()
            .contains("not yet surveyed"),
        "{officer}"
    );
}

#[test]
fn a_running_service_takes_a_new_catalogue_version() {
    let w = world();
    let server = Server::start(&w.env.path("store.db"), None);
    let addr = server.addr.as_str();
    let categories = || {
        let (status, body) = http(
            addr,
            "GET",
            "/ogc/collections/hazardous-areas/items/HA-000001",
            None,
            "",
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["properties"]["device_categories"].clone()
    };
    assert_eq!(categories(), json!(["ap-mine"]));
    // A new catalogue version files the type under "other" (a correction of the catalogue).
    let shipped = include_str!("../../cairn-core/data/device-types.toml");
    let changed = shipped.replacen(
        "id = \"ap-mine-persistent\"\nname = \"Anti-personnel mine, persistent (no self-destruct or self-deactivation)\"\ncategory = \"ap-mine\"",
        "id = \"ap-mine-persistent\"\nname = \"Anti-personnel mine, persistent (no self-destruct or self-deactivation)\"\ncategory = \"other\"",
        1,
    );
    assert_ne!(
        changed, shipped,
        "the test's edit applies to the shipped catalogue"
    );
    std::fs::write(w.env.path("catalogue.toml"), changed).unwrap();
    w.env.ok(&[
        "catalogue",
        "import",
        &w.env.p("catalogue.toml"),
        "--reason",
        "recategorised",
    ]);
    let t = Instant::now();
    assert!(
        within_a_second(t, || categories() == json!(["other"])),
        "the service answers with the new catalogue version within a second"
    );
}
