//! Nothing withheld can be inferred by the public (issue 18): a leak table over every public
//! aggregate and metadata field, through the real `cairn serve` on loopback.
//!
//! The store is built so that each public answer, if it leaked, would reveal one restricted
//! fact: exactly one restricted area (with a distinctive m² and the only `fenced` marking) in
//! oblast North, a known number of restricted records, a restricted record edited at a
//! distinctive moment that changes nothing the public sees, and a public record whose hidden
//! device quantity is edited. Each row states one rule: either the fact does not appear in what
//! the public is answered (`Absent`), or what the public is answered does not move when only
//! restricted detail changes (`Unmoved`). Where an officer's token sees the fact (or sees the
//! answer move), the row says so and checks it, so that each row can fail.
#![cfg(unix)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::env::Env;
use common::server::{Server, header, http, request};
use serde_json::{Value, json};

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

fn area(id: &str, geometry: Value, class: &str, device: &str, marking: Option<&str>) -> Value {
    let mut props = json!({
        "status": "confirmed", "classification": class, "organisation": "Operator A",
        "evidence": {"kind": "direct", "description": "seen"},
        "devices": [{"type": device, "quantity": 10}],
    });
    if let Some(m) = marking {
        props["marking"] = json!(m);
    }
    json!({"type": "Feature", "id": id, "geometry": geometry, "properties": props})
}

/// The secret area: the only area of North with AP mines, restricted, the only `fenced` one.
const SECRET: &str = "HA-000003";
/// The public record whose hidden device quantity is edited.
const PUBLIC_EDITED: &str = "HA-000002";
/// Restricted records in the store.
const RESTRICTED: usize = 10;

fn records() -> Value {
    let mut f = vec![
        // South: a public AP area, listed in the report in detail.
        area(
            "HA-000001",
            rect(36.40, 48.60, 36.41, 48.61),
            "public",
            "ap-mine-persistent",
            Some("marked"),
        ),
        // North: a public AT area (its quantity is hidden detail).
        area(
            PUBLIC_EDITED,
            rect(36.60, 50.60, 36.61, 50.61),
            "public",
            "at-mine-persistent",
            Some("marked"),
        ),
        // North: the secret, an odd size.
        area(
            SECRET,
            rect(36.2113, 50.3117, 36.2291, 50.3203),
            "restricted",
            "ap-mine-nonpersistent-15d",
            Some("fenced"),
        ),
    ];
    // North: three restricted records without AP mines inside one zone cell: one zone for three.
    for (i, x) in [36.5031, 36.5051, 36.5071].iter().enumerate() {
        f.push(area(
            &format!("HA-00001{i}"),
            rect(*x, 50.5031, x + 0.001, 50.5041),
            "restricted",
            "at-mine-persistent",
            Some("unmarked"),
        ));
    }
    // South: six restricted AP areas of like size: a group the public edition may show.
    for i in 0..6 {
        let x = 36.1 + 0.05 * i as f64;
        f.push(area(
            &format!("HA-00002{i}"),
            rect(x, 48.2, x + 0.01, 48.21),
            "restricted",
            "ap-mine-nonpersistent-15d",
            Some("unmarked"),
        ));
    }
    json!({"type": "FeatureCollection", "features": f})
}

fn oblasts() -> Value {
    let z = |name: &str, g: Value| json!({"type": "Feature", "geometry": g, "properties": {"name": name}});
    json!({"type": "FeatureCollection", "features": [
        z("North Oblast", rect(36.0, 50.0, 37.0, 51.0)),
        z("South Oblast", rect(36.0, 48.0, 37.0, 50.0)),
    ]})
}

struct World {
    env: Env,
    server: Server,
    officer: String,
}

impl World {
    fn get(&self, path: &str, token: Option<&str>) -> (u16, String, String) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        request(&self.server.addr, "GET", path, &headers, "")
    }

    fn body(&self, path: &str, token: Option<&str>) -> String {
        let (status, _, body) = self.get(path, token);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn json(&self, path: &str, token: Option<&str>) -> Value {
        serde_json::from_str(&self.body(path, token)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// An officer's merge patch of one record, answered once the model shows it.
    fn patch(&self, id: &str, patch: Value) {
        let path = format!("/ogc/collections/hazardous-areas/items/{id}");
        let (_, head, _) = self.get(&path, Some(&self.officer));
        let tag = header(&head, "etag").expect("an ETag for the officer");
        let auth = format!("Bearer {}", self.officer);
        let (status, _, body) = request(
            &self.server.addr,
            "PATCH",
            &path,
            &[
                ("Authorization", &auth),
                ("If-Match", &tag),
                ("Content-Type", "application/merge-patch+json"),
            ],
            &patch.to_string(),
        );
        assert_eq!(status, 200, "PATCH {id}: {body}");
    }
}

fn world() -> World {
    let env = Env::with_store();
    env.write("oblasts.geojson", &oblasts());
    env.ok(&[
        "zone",
        "import",
        &env.p("oblasts.geojson"),
        "--kind",
        "oblast",
        "--reason",
        "oblasts",
    ]);
    env.write("records.geojson", &records());
    env.ok(&["import", &env.p("records.geojson"), "--reason", "migration"]);
    env.ok(&["org", "add", "Operator A"]);
    env.ok(&["user", "add", "Olena", "--role", "officer"]);
    let officer = env
        .ok(&["token", "create", "--user", "Olena"])
        .trim()
        .to_string();
    let server = Server::start(&env.path("store.db"), None);
    World {
        env,
        server,
        officer,
    }
}

/// Who asks.
#[derive(Clone, Copy, PartialEq)]
enum Who {
    Public,
    Officer,
}

/// What a row asserts.
enum Rule {
    /// The named fact does not appear in the public's answer (and appears in the officer's,
    /// when `officer_sees`).
    Absent {
        fact: &'static str,
        officer_sees: bool,
    },
    /// The public's answer is the same before and after the restricted edits (and the
    /// officer's is not, when `officer_moves`).
    Unmoved { officer_moves: bool },
}

struct Row {
    rule: &'static str,
    look: fn(&World, Who) -> String,
    kind: Rule,
}

const PERIOD: &str = "from=2020-01-01&to=2030-12-31";

fn report(w: &World, who: Who, format: &str) -> String {
    match who {
        Who::Public => w.body(&format!("/api/transparency?{PERIOD}&format={format}"), None),
        Who::Officer => w.body(
            &format!("/api/transparency?{PERIOD}&format={format}&edition=restricted"),
            Some(&w.officer),
        ),
    }
}

fn token(w: &World, who: Who) -> Option<&str> {
    (who == Who::Officer).then_some(w.officer.as_str())
}

/// Every number of a report's CSV, and every difference of two, rounded to whole m²: what a
/// reader subtracting one figure from another (a total less its rows) can work out.
fn differences(csv: &str) -> String {
    let values: Vec<f64> = csv
        .lines()
        .filter_map(|l| l.rsplit(',').next())
        .filter_map(|v| v.parse::<f64>().ok())
        .collect();
    let mut out = BTreeSet::new();
    for a in &values {
        out.insert(a.round() as i64);
        for b in &values {
            if a > b {
                out.insert((a - b).round() as i64);
            }
        }
    }
    out.iter().map(|v| format!(",{v},")).collect()
}

/// A JSON answer without the members that are the moment of answering.
fn without_now(body: &str) -> String {
    let mut v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    if let Some(o) = v.as_object_mut() {
        o.remove("at");
        o.remove("timeStamp");
        // When the server last found its data current: the clock's minute, which moves with time
        // alone (a look before and one after the edit may straddle a minute).
        o.remove("data_checked_at");
    }
    v.to_string()
}

/// The danger zone the secret area is shown as (the public's id of it).
fn secret_zone(w: &World) -> String {
    let items = w.json(
        "/ogc/collections/hazardous-areas/items?bbox=36.215,50.315,36.225,50.318",
        None,
    );
    items["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["kind"] == "danger-zone")
        .and_then(|f| f["id"].as_str())
        .expect("the secret area is shown as a danger zone")
        .to_string()
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            rule: "report CSV: no restricted area's m² on its own (an oblast row of one area)",
            look: |w, who| report(w, who, "csv"),
            kind: Rule::Absent {
                fact: "secret m² (CSV)",
                officer_sees: true,
            },
        },
        Row {
            rule: "report CSV: no figure less another gives a restricted area's m² (totals less rows)",
            look: |w, who| differences(&report(w, who, "csv")),
            kind: Rule::Absent {
                fact: "secret m² (whole)",
                officer_sees: true,
            },
        },
        Row {
            rule: "report HTML: no restricted area's km² on its own",
            look: |w, who| report(w, who, "html"),
            kind: Rule::Absent {
                fact: "secret km² (HTML)",
                officer_sees: true,
            },
        },
        Row {
            rule: "report: no restricted area's marking (open hazards by marking)",
            look: |w, who| report(w, who, "csv"),
            kind: Rule::Absent {
                fact: "open_fenced",
                officer_sees: true,
            },
        },
        Row {
            rule: "report: danger zones counted as the map shows them, not the records behind",
            look: |w, _| report(w, Who::Public, "csv"),
            kind: Rule::Absent {
                fact: "zones = restricted records",
                officer_sees: false,
            },
        },
        Row {
            rule: "/health: no count of records",
            look: |w, who| w.body("/health", token(w, who)),
            kind: Rule::Absent {
                fact: "\"areas\":",
                officer_sees: true,
            },
        },
        Row {
            rule: "/health: no change number (it moves with restricted writes)",
            look: |w, who| w.body("/health", token(w, who)),
            kind: Rule::Absent {
                fact: "\"change\":",
                officer_sees: true,
            },
        },
        Row {
            rule: "/metrics: no count of records",
            look: |w, who| w.body("/metrics", token(w, who)),
            kind: Rule::Absent {
                fact: "cairn_areas ",
                officer_sees: true,
            },
        },
        Row {
            rule: "no answer gives the moment of the restricted edit (health, collection, TileJSON, checks)",
            look: |w, who| {
                let t = token(w, who);
                [
                    w.body("/health", t),
                    w.body("/ogc/collections/hazardous-areas", t),
                    w.body("/tiles.json", t),
                    without_now(&w.body("/api/check/point?lon=36.22&lat=50.316", t)),
                ]
                .join("\n")
            },
            kind: Rule::Absent {
                fact: "edit time",
                officer_sees: true,
            },
        },
        Row {
            rule: "danger zone: its item and ETag move only when the zone does",
            look: |w, who| match who {
                Who::Public => {
                    let (_, head, body) = w.get(
                        &format!("/ogc/collections/hazardous-areas/items/{}", secret_zone(w)),
                        None,
                    );
                    format!("{:?}\n{body}", header(&head, "etag"))
                }
                Who::Officer => {
                    let (_, head, body) = w.get(
                        &format!("/ogc/collections/hazardous-areas/items/{SECRET}"),
                        Some(&w.officer),
                    );
                    format!("{:?}\n{body}", header(&head, "etag"))
                }
            },
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "public record: item and ETag do not move with a hidden field (device quantity)",
            look: |w, who| {
                let (_, head, body) = w.get(
                    &format!("/ogc/collections/hazardous-areas/items/{PUBLIC_EDITED}"),
                    token(w, who),
                );
                format!("{:?}\n{body}", header(&head, "etag"))
            },
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "items: every public feature and the page unmoved by restricted edits",
            look: |w, who| {
                without_now(&w.body(
                    "/ogc/collections/hazardous-areas/items?limit=1000",
                    token(w, who),
                ))
            },
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "items datetime filter: no zone matches by the restricted edit's time",
            look: |w, who| {
                let since = w.env.path("before-edit").to_string_lossy().into_owned();
                let since = std::fs::read_to_string(since).unwrap_or_default();
                without_now(&w.body(
                    &format!(
                        "/ogc/collections/hazardous-areas/items?datetime={}/..",
                        since.trim()
                    ),
                    token(w, who),
                ))
            },
            kind: Rule::Unmoved {
                officer_moves: false,
            },
        },
        Row {
            rule: "collection metadata (extent, temporal interval) unmoved by restricted edits",
            look: |w, who| w.body("/ogc/collections/hazardous-areas", token(w, who)),
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "TileJSON unmoved by restricted edits",
            look: |w, who| w.body("/tiles.json", token(w, who)),
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "/health unmoved by restricted edits",
            look: |w, who| without_now(&w.body("/health", token(w, who))),
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "place check at the zone: same answer, same date",
            look: |w, who| {
                without_now(&w.body("/api/check/point?lon=36.22&lat=50.316", token(w, who)))
            },
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "route check across the zone: same answer, same date",
            look: |w, who| {
                let route = json!({"type": "LineString", "coordinates": [[36.20, 50.316], [36.24, 50.316]]});
                let (s, body) = http(
                    &w.server.addr,
                    "POST",
                    "/api/check/route?width=20",
                    token(w, who),
                    &route.to_string(),
                );
                assert_eq!(s, 200, "{body}");
                without_now(&body)
            },
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "place check's `at`: not refused by the restricted edit's time (no bisection of it)",
            look: |w, who| {
                let since = std::fs::read_to_string(w.env.path("before-edit")).unwrap_or_default();
                let (status, _, _) = w.get(
                    &format!("/api/check/point?lon=36.22&lat=50.316&at={}", since.trim()),
                    token(w, who),
                );
                status.to_string()
            },
            kind: Rule::Unmoved {
                officer_moves: true,
            },
        },
        Row {
            rule: "public export (`cairn export --public`): not dated by the restricted edit",
            look: |w, who| {
                if who == Who::Officer {
                    return String::new();
                }
                w.env
                    .ok(&["export", "--public", "-o", &w.env.p("public.geojson")]);
                std::fs::read_to_string(w.env.path("public.geojson")).unwrap()
            },
            kind: Rule::Absent {
                fact: "edit time",
                officer_sees: false,
            },
        },
    ]
}

#[test]
fn the_public_cannot_infer_what_is_withheld() {
    let w = world();
    let rows = rows();
    // A moment after the service was started and before the restricted edits.
    std::thread::sleep(Duration::from_millis(1100));
    let before_edit = chrono::Utc::now();
    std::fs::write(
        w.env.path("before-edit"),
        before_edit.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    )
    .unwrap();
    let looks = |w: &World| -> Vec<(String, String)> {
        rows.iter()
            .map(|r| match r.kind {
                Rule::Unmoved { .. } => ((r.look)(w, Who::Public), (r.look)(w, Who::Officer)),
                Rule::Absent { .. } => (String::new(), String::new()),
            })
            .collect()
    };
    let before = looks(&w);
    std::thread::sleep(Duration::from_millis(1100));
    // Restricted edits: a public record's hidden device quantity raised, then the secret record
    // renamed (its zone unchanged), the newest write of all.
    w.patch(
        PUBLIC_EDITED,
        json!({"properties": {"devices": [{"type": "at-mine-persistent", "quantity": 25}]}}),
    );
    w.patch(SECRET, json!({"properties": {"name": "renamed in secret"}}));
    // Answers made from here on are in a later second than the edit, so a moment of answering
    // (a report's `generated_at`, an export's date) is never mistaken for the edit's.
    std::thread::sleep(Duration::from_millis(1100));
    let after = looks(&w);

    // The facts, as the officer sees them.
    let restricted_csv = report(&w, Who::Officer, "csv");
    let secret_m2: f64 = restricted_csv
        .lines()
        .find_map(|l| {
            l.strip_prefix("mined_area,")
                .filter(|l| l.contains(&format!("{SECRET}/m2,")))
                .and_then(|l| l.rsplit(',').next())
                .and_then(|v| v.parse().ok())
        })
        .expect("the restricted edition lists the secret area's m²");
    assert!(secret_m2 > 100_000.0, "{secret_m2}");
    let history = w.json(&format!("/api/areas/{SECRET}/history"), Some(&w.officer));
    let edited = history["revisions"].as_array().unwrap().last().unwrap()["recorded_at"]
        .as_str()
        .unwrap()
        .to_string();
    let edited_at: chrono::DateTime<chrono::Utc> = edited.parse().unwrap();
    // The edit's moment as any answer might print it (to the second, in UTC).
    let edit_second = edited_at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let public_zones =
        w.json("/ogc/collections/hazardous-areas/items?limit=1000", None)["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["properties"]["kind"] == "danger-zone")
            .count();
    assert!(public_zones < RESTRICTED, "three records share one zone");
    let fact = |name: &str| -> String {
        match name {
            "secret m² (CSV)" => {
                let r = (secret_m2 * 100.0).round() / 100.0;
                format!(",{r}\n")
            }
            "secret m² (whole)" => format!(",{},", secret_m2.round() as i64),
            "secret km² (HTML)" => format!("{:.4}", secret_m2 / 1e6),
            "edit time" => edit_second.clone(),
            "zones = restricted records" => format!("on_public_map_as_zones,{RESTRICTED}\n"),
            other => other.to_string(),
        }
    };

    let mut failures = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match r.kind {
            Rule::Absent {
                fact: name,
                officer_sees,
            } => {
                let f = fact(name);
                let public = (r.look)(&w, Who::Public);
                if public.contains(&f) {
                    failures.push(format!("{}: the public sees {name} ({f:?})", r.rule));
                }
                if officer_sees && !(r.look)(&w, Who::Officer).contains(&f) {
                    failures.push(format!(
                        "{}: the officer should see {name} ({f:?}) — the row cannot fail",
                        r.rule
                    ));
                }
            }
            Rule::Unmoved { officer_moves } => {
                if before[i].0 != after[i].0 {
                    failures.push(format!(
                        "{}: the public's answer moved with a restricted edit:\n before {}\n after  {}",
                        r.rule, before[i].0, after[i].0
                    ));
                }
                if officer_moves && before[i].1 == after[i].1 {
                    failures.push(format!(
                        "{}: the officer's answer should move with the edit — the row cannot fail",
                        r.rule
                    ));
                }
            }
        }
    }
    // The protected groups still say something: South's six restricted AP areas are counted
    // (merged with North's, too few to stand alone), and every zone still warns.
    let public_csv = report(&w, Who::Public, "csv");
    assert!(
        public_csv.contains("mined_withheld,") && public_csv.contains("merged"),
        "{public_csv}"
    );
    let check = w.json("/api/check/point?lon=36.22&lat=50.316", None);
    assert_eq!(check["inside"][0]["status"], "danger-zone", "{check}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
