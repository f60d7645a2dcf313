//! OGC API – Features Part 4 editing and the roles, through `router` with `oneshot`: the
//! authorisation matrix (every endpoint × every kind of caller, exact status codes), 20 clients
//! editing the same records at once with If-Match, a bad-input corpus that must change nothing,
//! and the workflow (attribution, merge patch, closing, read model and public view kept current).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use cairn_core::{AreaProperties, Catalogue, Classification, HazardArea, Shape, Status, WireEnum};
use cairn_server::{AppState, router};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::sqlite::reports::NewReport;
use cairn_store::{ChangeMeta, SqliteStore, Writer};
use geo_types::polygon;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const ORG_A: &str = "Operator A";
const ORG_B: &str = "Operator B";
const ITEMS: &str = "/ogc/collections/hazardous-areas/items";

fn square(x: f64, y: f64, d: f64) -> Shape {
    Shape::Polygon(
        polygon![(x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y + d), (x: x, y: y)],
    )
}

fn area(id: &str, x: f64, org: &str, class: Classification) -> HazardArea {
    HazardArea {
        id: id.into(),
        shape: square(x, 49.9, 0.01),
        props: AreaProperties {
            name: Some(format!("Area {id}")),
            status: Status::Confirmed,
            classification: class,
            evidence: None,
            devices: vec![],
            reference_points: vec![],
            marking: None,
            organisation: Some(org.into()),
            reported_at: Some("2026-10-05T00:00:00Z".parse().unwrap()),
            extra: Default::default(),
            emplacement: None,
        },
    }
}

/// The callers of the matrix, in its column order.
const CALLERS: [&str; 9] = [
    "public", "field A", "field B", "officer", "auditor", "admin", "expired", "revoked", "disabled",
];

struct T {
    _dir: tempfile::TempDir,
    state: AppState,
    /// Tokens in the order of `CALLERS` (none for the public).
    tokens: Vec<Option<String>>,
    report: String,
}

impl T {
    fn token(&self, who: &str) -> Option<&str> {
        let i = CALLERS.iter().position(|c| *c == who).unwrap();
        self.tokens[i].as_deref()
    }

    fn digest(&self) -> String {
        self.state.with_store(|s| s.content_digest().unwrap())
    }
}

fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    let mut tx = store
        .begin(ChangeMeta {
            author: "fixture".into(),
            reason: "fixture".into(),
            source: None,
        })
        .unwrap();
    tx.put_area(&area("HA-A1", 36.0, ORG_A, Classification::Restricted))
        .unwrap();
    tx.put_area(&area("HA-A2", 36.1, ORG_A, Classification::Restricted))
        .unwrap();
    tx.put_area(&area("HA-B1", 36.2, ORG_B, Classification::Restricted))
        .unwrap();
    tx.put_area(&area("HA-PUB", 36.3, ORG_A, Classification::Public))
        .unwrap();
    tx.commit().unwrap();
    store.add_organisation(ORG_A).unwrap();
    store.add_organisation(ORG_B).unwrap();
    for (name, role, org) in [
        ("Field A", "field", Some(ORG_A)),
        ("Field B", "field", Some(ORG_B)),
        ("Olena", "officer", None),
        ("Petro", "auditor", None),
        ("Ivan", "admin", None),
        ("Late", "officer", None),
        ("Gone", "officer", None),
        ("Left", "officer", None),
    ] {
        store.add_user(name, role, org).unwrap();
    }
    let mut tok = |user: &str, expires| store.create_user_token(user, expires).unwrap();
    let field_a = tok("Field A", None).0;
    let field_b = tok("Field B", None).0;
    let officer = tok("Olena", None).0;
    let auditor = tok("Petro", None).0;
    let admin = tok("Ivan", None).0;
    let expired = tok(
        "Late",
        Some(chrono::Utc::now() - chrono::Duration::hours(1)),
    )
    .0;
    let (revoked, info) = tok("Gone", None);
    let disabled = tok("Left", None).0;
    store.revoke_token(info.id).unwrap();
    store.disable_user("Left").unwrap();
    let report = store
        .add_reports(&[NewReport {
            lon: 36.5,
            lat: 49.95,
            accuracy_m: Some(10.0),
            category: cairn_core::report::ReportCategory::Mine,
            description: "a green object by the path".into(),
            seen_at: None,
            photo: None,
        }])
        .unwrap()
        .remove(0)
        .reference;
    let state = AppState::new(store, Catalogue::builtin()).unwrap();
    T {
        _dir: dir,
        state,
        tokens: vec![
            None,
            Some(field_a),
            Some(field_b),
            Some(officer),
            Some(auditor),
            Some(admin),
            Some(expired),
            Some(revoked),
            Some(disabled),
        ],
        report,
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn send(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<(&str, Vec<u8>)>,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "cairn.test");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let req = match body {
        Some((ct, b)) => req
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(b))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let r = router(state.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn geojson(v: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/geo+json", v.to_string().into_bytes()))
}

/// The current ETag and feature of a record, as an officer reads it.
async fn read(t: &T, id: &str) -> (String, Value) {
    let r = send(
        &t.state,
        "GET",
        &format!("{ITEMS}/{id}"),
        t.token("officer"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "GET {id}: {}", r.body);
    (
        r.headers[header::ETAG].to_str().unwrap().to_string(),
        r.body,
    )
}

fn new_feature(org: &str, class: &str, x: f64) -> Value {
    json!({
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[x, 50.0], [x + 0.01, 50.0], [x + 0.01, 50.01], [x, 50.01], [x, 50.0]]]},
        "properties": {"name": "New area", "status": "confirmed", "classification": class, "organisation": org,
                       "evidence": {"kind": "direct", "description": "mine seen at the verge"}}
    })
}

// ---------------------------------------------------------------------------------------------
// The authorisation matrix.

/// One row: a request and the status each caller of `CALLERS` must get.
struct Row {
    name: &'static str,
    method: &'static str,
    uri: String,
    body: Option<Value>,
    /// Send If-Match with HA-A1's current ETag.
    if_match: bool,
    /// The request changes the store: run it on a fresh store for each caller.
    writes: bool,
    expect: [u16; 9],
}

fn rows(t: &T) -> Vec<Row> {
    let r = &t.report;
    let (tx, ty) = {
        let n = f64::from(1u32 << 12);
        let x = ((36.005 + 180.0) / 360.0 * n) as u32;
        let y =
            ((1.0 - 49.905f64.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
        (x, y)
    };
    let row = |name, method, uri: String, expect| Row {
        name,
        method,
        uri,
        body: None,
        if_match: false,
        writes: false,
        expect,
    };
    // Documents that are the same for everyone ignore credentials; everything that depends on
    // the caller refuses a bad token (401) rather than answering as for the public.
    const OPEN: [u16; 9] = [200; 9];
    const READ: [u16; 9] = [200, 200, 200, 200, 200, 200, 401, 401, 401];
    const OPTIONS: [u16; 9] = [200, 200, 200, 200, 200, 200, 401, 401, 401];
    const OFFICERS_READ: [u16; 9] = [401, 403, 403, 200, 200, 200, 401, 401, 401];
    let mut v = vec![
        row("map page", "GET", "/".into(), OPEN),
        row("landing", "GET", "/ogc".into(), OPEN),
        row("conformance", "GET", "/ogc/conformance".into(), OPEN),
        row("openapi", "GET", "/ogc/api".into(), OPEN),
        // Health and metrics read the caller (the detail is for tokens): a bad token is refused.
        row("health", "GET", "/health".into(), READ),
        row("metrics", "GET", "/metrics".into(), READ),
        row("collections", "GET", "/ogc/collections".into(), READ),
        row(
            "collection",
            "GET",
            "/ogc/collections/hazardous-areas".into(),
            READ,
        ),
        row(
            "queryables",
            "GET",
            "/ogc/collections/hazardous-areas/queryables".into(),
            READ,
        ),
        row("items", "GET", ITEMS.into(), READ),
        // A restricted record is not among the public's features (it is a danger zone there).
        row(
            "restricted item",
            "GET",
            format!("{ITEMS}/HA-A1"),
            [404, 200, 200, 200, 200, 200, 401, 401, 401],
        ),
        row("items options", "OPTIONS", ITEMS.into(), OPTIONS),
        row("officers' desk page", "GET", "/officer".into(), OPEN),
        // Restricted history: any role with a token; the land-release reads: officers,
        // admins and auditors (release writes are checked role by role in tests/releases.rs).
        row(
            "area history",
            "GET",
            "/api/areas/HA-A1/history".into(),
            [401, 200, 200, 200, 200, 200, 401, 401, 401],
        ),
        row(
            "area releases",
            "GET",
            "/api/areas/HA-A1/releases".into(),
            OFFICERS_READ,
        ),
        row("item options", "OPTIONS", format!("{ITEMS}/HA-A1"), OPTIONS),
        row(
            "point check",
            "GET",
            "/api/check/point?lon=36.005&lat=49.905".into(),
            READ,
        ),
        row("tilejson", "GET", "/tiles.json".into(), READ),
        row("tile", "GET", format!("/tiles/12/{tx}/{ty}.mvt"), READ),
        row("report queue", "GET", "/api/reports".into(), OFFICERS_READ),
        row("report", "GET", format!("/api/reports/{r}"), OFFICERS_READ),
        // The report has no photo: those who may read it learn that (404).
        row(
            "report photo",
            "GET",
            format!("/api/reports/{r}/photo"),
            [401, 403, 403, 404, 404, 404, 401, 401, 401],
        ),
    ];
    v.push(Row {
        body: Some(
            json!({"type": "LineString", "coordinates": [[35.99, 49.905], [36.02, 49.905]]}),
        ),
        ..row("route check", "POST", "/api/check/route".into(), READ)
    });
    // Reports are anonymous by design: the endpoint reads no credentials at all.
    v.push(Row {
        body: Some(json!({"lon": 36.5, "lat": 49.95, "category": "mine"})),
        writes: true,
        ..row("submit report", "POST", "/api/reports".into(), [201; 9])
    });
    v.push(Row {
        body: Some(json!({"action": "dismiss", "reason": "a duplicate"})),
        writes: true,
        ..row(
            "triage",
            "POST",
            format!("/api/reports/{r}/triage"),
            [401, 403, 403, 200, 403, 200, 401, 401, 401],
        )
    });
    // Land-release writes with an empty body: whoever may write gets past the role check to a
    // 400 naming the missing field; the rest are refused first (fresh store each, to be sure).
    const ACTIVITY: [u16; 9] = [401, 400, 400, 400, 403, 400, 401, 401, 401];
    const RELEASE: [u16; 9] = [401, 403, 403, 400, 403, 400, 401, 401, 401];
    for (name, uri, expect) in [
        ("record activity", "/api/activities", ACTIVITY),
        ("release land", "/api/releases", RELEASE),
        (
            "post-release find",
            "/api/releases/RL-000001/finds",
            RELEASE,
        ),
        ("change status", "/api/areas/HA-A1/status", RELEASE),
    ] {
        v.push(Row {
            body: Some(json!({})),
            writes: true,
            ..row(name, "POST", uri.into(), expect)
        });
    }
    // Field B may not create a record of organisation A.
    v.push(Row {
        body: Some(new_feature(ORG_A, "restricted", 36.6)),
        writes: true,
        ..row(
            "create",
            "POST",
            ITEMS.into(),
            [401, 201, 403, 201, 403, 201, 401, 401, 401],
        )
    });
    let replaced = {
        let mut f = new_feature(ORG_A, "restricted", 36.0);
        f["properties"]["name"] = json!("Renamed");
        // The same outline as HA-A1's: a replacement that shrank or moved it would be refused.
        f["geometry"] = json!({"type": "Polygon", "coordinates": [[[36.0, 49.9], [36.01, 49.9], [36.01, 49.91], [36.0, 49.91], [36.0, 49.9]]]});
        f
    };
    v.push(Row {
        body: Some(replaced),
        if_match: true,
        writes: true,
        ..row(
            "replace",
            "PUT",
            format!("{ITEMS}/HA-A1"),
            [401, 200, 403, 200, 403, 200, 401, 401, 401],
        )
    });
    v.push(Row {
        body: Some(json!({"properties": {"marking": "marked"}})),
        if_match: true,
        writes: true,
        ..row(
            "update",
            "PATCH",
            format!("{ITEMS}/HA-A1"),
            [401, 200, 403, 200, 403, 200, 401, 401, 401],
        )
    });
    // Closing is land release's: DELETE is refused to everyone who may write at all (409).
    v.push(Row {
        if_match: true,
        writes: false,
        ..row(
            "delete (close)",
            "DELETE",
            format!("{ITEMS}/HA-A1"),
            [401, 403, 403, 409, 403, 409, 401, 401, 401],
        )
    });
    v
}

#[tokio::test]
async fn authorisation_matrix_every_endpoint_every_caller() {
    let shared = setup();
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in rows(&shared) {
        for (i, who) in CALLERS.iter().enumerate() {
            let fresh;
            let t = if row.writes {
                fresh = setup();
                &fresh
            } else {
                &shared
            };
            // Rows are built against `shared`; a fresh store has its own report reference.
            let uri = row.uri.replace(&shared.report, &t.report);
            let etag;
            let mut extra: Vec<(&str, &str)> = Vec::new();
            if row.if_match {
                etag = read(t, "HA-A1").await.0;
                extra.push(("if-match", &etag));
            }
            let body = row.body.as_ref().map(|b| {
                let ct = if row.method == "PATCH" {
                    "application/merge-patch+json"
                } else {
                    "application/json"
                };
                (ct, b.to_string().into_bytes())
            });
            let r = send(
                &t.state,
                row.method,
                &uri,
                t.tokens[i].as_deref(),
                &extra,
                body,
            )
            .await;
            cells += 1;
            if r.status.as_u16() != row.expect[i] {
                failures.push(format!(
                    "{} {} as {who}: {} (expected {}) {}",
                    row.method, row.name, r.status, row.expect[i], r.body
                ));
            }
            if r.status.is_client_error() {
                assert_eq!(
                    r.headers[header::CONTENT_TYPE],
                    "application/problem+json",
                    "{} {} as {who}",
                    row.method,
                    row.name
                );
            }
            if row.method == "OPTIONS" && r.status == StatusCode::OK {
                let allow = r.headers[header::ALLOW].to_str().unwrap();
                let writer = matches!(*who, "field A" | "field B" | "officer" | "admin");
                let (wants, accept) = if row.uri.ends_with("/items") {
                    ("POST", "accept-post")
                } else {
                    ("PUT", "accept-patch")
                };
                assert_eq!(
                    allow.split(',').any(|m| m.trim() == wants),
                    writer,
                    "{} as {who}: Allow {allow}",
                    row.name
                );
                // Part 4: what a writer may send is named (RFC 5789's Accept-Patch, Accept-Post).
                assert_eq!(
                    r.headers
                        .get(accept)
                        .is_some_and(|v| v.to_str().unwrap().contains(
                            if accept == "accept-post" {
                                "application/geo+json"
                            } else {
                                "application/merge-patch+json"
                            }
                        )),
                    writer,
                    "{} as {who}: {accept} {:?}",
                    row.name,
                    r.headers.get(accept)
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("authorisation matrix: {cells} cells");
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

/// Writes each client makes (retrying after every 412), and the clients.
const CLIENTS: usize = 20;
const WRITES_PER_CLIENT: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_clients_editing_the_same_records_lose_no_update() {
    let t = Arc::new(setup());
    let records = ["HA-A1", "HA-A2"];
    let start = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let t = t.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            let id = records[c % 2];
            // Officers, the admin and field users of organisation A all edit A's records.
            let who = ["officer", "admin", "field A"][c % 3];
            let token = t.token(who).unwrap().to_string();
            let mut accepted = Vec::new();
            let mut conflicts = 0usize;
            let mut others = Vec::new();
            start.wait().await;
            let mut n = 0;
            while accepted.len() < WRITES_PER_CLIENT {
                n += 1;
                assert!(n < 2000, "client {c} made no progress");
                let (etag, f) = read(&t, id).await;
                // Let the other clients read the same revision before anyone writes.
                tokio::task::yield_now().await;
                let mark = format!("c{c}-w{}", accepted.len());
                let mut log = f["properties"]["edit_log"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                log.push(json!(mark));
                let r = if (c / 2) % 2 == 0 {
                    let patch = json!({"properties": {"edit_log": log, "name": format!("edited by {mark}")}});
                    send(
                        &t.state,
                        "PATCH",
                        &format!("{ITEMS}/{id}"),
                        Some(&token),
                        &[("if-match", &etag), ("cairn-reason", &mark)],
                        Some(("application/merge-patch+json", patch.to_string().into_bytes())),
                    )
                    .await
                } else {
                    let mut put = f.clone();
                    put.as_object_mut().unwrap().remove("links");
                    put["properties"]["edit_log"] = json!(log);
                    put["properties"]["name"] = json!(format!("edited by {mark}"));
                    send(
                        &t.state,
                        "PUT",
                        &format!("{ITEMS}/{id}"),
                        Some(&token),
                        &[("if-match", &etag), ("cairn-reason", &mark)],
                        geojson(&put),
                    )
                    .await
                };
                match r.status {
                    StatusCode::OK => {
                        let new = r.headers[header::ETAG].to_str().unwrap().to_string();
                        assert_ne!(new, etag);
                        accepted.push((id, mark, new));
                    }
                    StatusCode::PRECONDITION_FAILED => conflicts += 1,
                    s => others.push(format!("{s} {}", r.body)),
                }
            }
            (accepted, conflicts, others)
        }));
    }
    let mut accepted = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let (a, c, o) = task.await.unwrap();
        assert!(o.is_empty(), "answers other than 200 and 412: {o:?}");
        accepted.extend(a);
        conflicts += c;
    }
    assert_eq!(accepted.len(), CLIENTS * WRITES_PER_CLIENT);
    assert!(
        conflicts > 0,
        "no write conflicted: the clients did not race"
    );
    for id in records {
        let mine: Vec<&(&str, String, String)> = accepted.iter().filter(|a| a.0 == id).collect();
        let history = t.state.with_store(|s| s.history(id).unwrap());
        // History is complete: the fixture's revision and one per accepted write.
        assert_eq!(history.len(), mine.len() + 1, "{id}");
        // Every accepted write's ETag names one revision of the record, and no two the same.
        let revs: BTreeSet<String> = history
            .iter()
            .skip(1)
            .map(|h| format!("\"r{}\"", h.revision.rev))
            .collect();
        let etags: BTreeSet<String> = mine.iter().map(|a| a.2.clone()).collect();
        assert_eq!(revs, etags, "{id}: accepted writes and revisions differ");
        // No lost update: revision k's log is revision k-1's with one more entry, the reason
        // of revision k; the final state holds every accepted write in the order accepted.
        let mut expected: Vec<Value> = Vec::new();
        for h in history.iter().skip(1) {
            expected.push(json!(h.revision.reason));
            let log = h
                .area
                .props
                .extra
                .get("edit_log")
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                log,
                Value::Array(expected.clone()),
                "{id} revision {}",
                h.revision.seq
            );
            assert!(
                ["Olena", "Ivan", "Field A"].contains(&h.revision.author.as_str()),
                "{}",
                h.revision.author
            );
        }
        let (_, last) = read(&t, id).await;
        assert_eq!(
            last["properties"]["edit_log"],
            Value::Array(expected.clone())
        );
        let marks: BTreeSet<String> = mine.iter().map(|a| a.1.clone()).collect();
        let logged: BTreeSet<String> = expected
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(marks, logged, "{id}");
    }
    common::assert_model_is_current(&t.state);
    println!(
        "concurrency: {} accepted writes, {conflicts} conflicts answered 412",
        accepted.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input.

struct Bad {
    name: &'static str,
    method: &'static str,
    id: Option<&'static str>,
    content_type: &'static str,
    body: Vec<u8>,
    /// "fresh", "stale", "star" or "none".
    if_match: &'static str,
    status: u16,
    /// Text the problem's detail must contain (the field at fault).
    names: &'static str,
}

fn corpus() -> Vec<Bad> {
    let j = |v: Value| v.to_string().into_bytes();
    let ok = new_feature(ORG_A, "restricted", 36.6);
    let with = |path: &[&str], v: Value| {
        let mut f = ok.clone();
        let mut at = &mut f;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        j(f)
    };
    let bowtie = json!({"type": "Polygon", "coordinates": [[[36.0, 50.0], [36.01, 50.01], [36.01, 50.0], [36.0, 50.01], [36.0, 50.0]]]});
    let post = |name, body, status, names| Bad {
        name,
        method: "POST",
        id: None,
        content_type: "application/geo+json",
        body,
        if_match: "none",
        status,
        names,
    };
    let put = |name, body, status, names| Bad {
        method: "PUT",
        id: Some("HA-A1"),
        if_match: "fresh",
        ..post(name, body, status, names)
    };
    let patch = |name, body, status, names| Bad {
        method: "PATCH",
        id: Some("HA-A1"),
        if_match: "fresh",
        content_type: "application/merge-patch+json",
        ..post(name, body, status, names)
    };
    let big = {
        let ring: Vec<Value> = (0..100_000)
            .map(|i| json!([36.0 + i as f64 * 1e-7, 50.0]))
            .collect();
        with(&["geometry", "coordinates"], json!([ring]))
    };
    vec![
        post("not JSON", b"{\"type\": \"Feature\",".to_vec(), 400, "JSON"),
        post("an array", j(json!([ok.clone()])), 422, "feature"),
        post(
            "not a Feature",
            with(&["type"], json!("FeatureCollection")),
            422,
            "type",
        ),
        post(
            "no geometry",
            with(&["geometry"], Value::Null),
            422,
            "geometry",
        ),
        post(
            "self-intersecting polygon",
            with(&["geometry"], bowtie.clone()),
            422,
            "geometry",
        ),
        post(
            "longitude out of range",
            with(
                &["geometry", "coordinates"],
                json!([[
                    [200.0, 50.0],
                    [200.01, 50.0],
                    [200.01, 50.01],
                    [200.0, 50.0]
                ]]),
            ),
            422,
            "geometry",
        ),
        post(
            "a point without radius",
            with(
                &["geometry"],
                json!({"type": "Point", "coordinates": [36.0, 50.0]}),
            ),
            422,
            "radius_m",
        ),
        post(
            "a geometry collection",
            with(
                &["geometry"],
                json!({"type": "GeometryCollection", "geometries": []}),
            ),
            422,
            "geometry.type",
        ),
        post(
            "unknown status",
            with(&["properties", "status"], json!("safe")),
            422,
            "properties.status",
        ),
        post(
            "no status",
            with(&["properties", "status"], Value::Null),
            422,
            "properties.status",
        ),
        post(
            "status not text",
            with(&["properties", "status"], json!(3)),
            422,
            "properties.status",
        ),
        post(
            "unknown classification",
            with(&["properties", "classification"], json!("secret")),
            422,
            "properties.classification",
        ),
        post(
            "name not text",
            with(&["properties", "name"], json!(["x"])),
            422,
            "properties.name",
        ),
        post(
            "devices not a list",
            with(&["properties", "devices"], json!("many")),
            422,
            "properties.devices",
        ),
        post(
            "properties not an object",
            with(&["properties"], json!("x")),
            422,
            "properties",
        ),
        post(
            "an existing id",
            with(&["id"], json!("HA-B1")),
            409,
            "HA-B1",
        ),
        post("too large", big, 413, "larger"),
        Bad {
            content_type: "text/plain",
            ..post("wrong media type", j(ok.clone()), 415, "Content-Type")
        },
        Bad {
            if_match: "none",
            ..put("no If-Match", j(ok.clone()), 428, "If-Match")
        },
        Bad {
            if_match: "stale",
            ..put("stale If-Match", j(ok.clone()), 412, "changed")
        },
        Bad {
            if_match: "star",
            ..put("If-Match *", j(ok.clone()), 428, "If-Match")
        },
        put(
            "another id in the body",
            with(&["id"], json!("HA-B1")),
            422,
            "id",
        ),
        put(
            "unknown status",
            with(&["properties", "status"], json!("gone")),
            422,
            "properties.status",
        ),
        put(
            "invalid geometry",
            with(&["geometry"], bowtie.clone()),
            422,
            "geometry",
        ),
        Bad {
            id: Some("HA-NOPE"),
            ..put("no such feature", j(ok.clone()), 404, "HA-NOPE")
        },
        patch("not an object", j(json!([1])), 400, "object"),
        patch("an unknown member", j(json!({"foo": 1})), 400, "foo"),
        patch(
            "properties not an object",
            j(json!({"properties": 5})),
            422,
            "properties",
        ),
        patch(
            "status wrong type",
            j(json!({"properties": {"status": 5}})),
            422,
            "properties.status",
        ),
        patch(
            "status removed",
            j(json!({"properties": {"status": null}})),
            422,
            "properties.status",
        ),
        patch(
            "unknown marking",
            j(json!({"properties": {"marking": "painted"}})),
            422,
            "properties.marking",
        ),
        patch(
            "invalid geometry",
            j(json!({"geometry": bowtie})),
            422,
            "geometry",
        ),
        patch(
            "geometry removed",
            j(json!({"geometry": null})),
            422,
            "geometry",
        ),
        patch("id changed", j(json!({"id": "HA-B1"})), 422, "id"),
        Bad {
            if_match: "none",
            ..patch(
                "no If-Match",
                j(json!({"properties": {"name": "x"}})),
                428,
                "If-Match",
            )
        },
        Bad {
            content_type: "text/plain",
            ..patch(
                "wrong media type",
                j(json!({"properties": {"name": "x"}})),
                415,
                "Content-Type",
            )
        },
    ]
}

#[tokio::test]
async fn bad_input_is_refused_with_a_problem_and_changes_nothing() {
    let t = setup();
    let before = t.digest();
    let (etag_before, feature_before) = read(&t, "HA-A1").await;
    let cases = corpus();
    for who in ["officer", "field A"] {
        for b in &cases {
            let uri = match b.id {
                Some(id) => format!("{ITEMS}/{id}"),
                None => ITEMS.to_string(),
            };
            let tag = match b.if_match {
                "fresh" => Some(etag_before.clone()),
                "stale" => Some("\"r999999\"".to_string()),
                "star" => Some("*".to_string()),
                _ => None,
            };
            let mut extra = Vec::new();
            if let Some(tag) = &tag {
                extra.push(("if-match", tag.as_str()));
            }
            let r = send(
                &t.state,
                b.method,
                &uri,
                t.token(who),
                &extra,
                Some((b.content_type, b.body.clone())),
            )
            .await;
            assert_eq!(
                r.status.as_u16(),
                b.status,
                "{} as {who}: {}",
                b.name,
                r.body
            );
            assert_eq!(
                r.headers[header::CONTENT_TYPE],
                "application/problem+json",
                "{}",
                b.name
            );
            let detail = r.body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains(b.names),
                "{} as {who}: the detail should name {:?}: {detail}",
                b.name,
                b.names
            );
            assert_eq!(r.body["status"], b.status, "{}", b.name);
            if b.status == 422 {
                assert!(r.body["problems"].as_array().is_some_and(|p| !p.is_empty()));
            }
        }
    }
    assert_eq!(t.digest(), before, "a refused write changed the store");
    let (etag_after, feature_after) = read(&t, "HA-A1").await;
    assert_eq!((etag_after, feature_after), (etag_before, feature_before));
    println!(
        "bad input: {} cases × 2 callers refused, store unchanged",
        cases.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The workflow.

#[tokio::test]
async fn writes_are_attributed_kept_in_history_and_visible_at_once() {
    let t = setup();
    let officer = t.token("officer");
    // Conformance names Part 4 in both spellings.
    let conf = send(&t.state, "GET", "/ogc/conformance", None, &[], None).await;
    let classes: Vec<&str> = conf.body["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for c in [
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/req/create-replace-delete",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/req/update",
    ] {
        assert!(classes.contains(&c), "{c}");
    }

    // An officer creates a public hazard: 201, Location, ETag; it is in the items, in the
    // public view and in place checks straight away.
    let created = send(
        &t.state,
        "POST",
        ITEMS,
        officer,
        &[("cairn-reason", "NTS in the village, 24 November")],
        geojson(&new_feature(ORG_A, "public", 37.0)),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let location = created.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("http://cairn.test{ITEMS}/{id}"));
    let etag = created.headers[header::ETAG].to_str().unwrap().to_string();
    let (read_etag, _) = read(&t, &id).await;
    assert_eq!(read_etag, etag);
    let public = send(&t.state, "GET", &format!("{ITEMS}/{id}"), None, &[], None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.body["properties"]["status"], "confirmed");
    let check = send(
        &t.state,
        "GET",
        "/api/check/point?lon=37.005&lat=50.005",
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(check.body["inside"][0]["id"], json!(id), "{}", check.body);

    // A field user of organisation A creates a record: it is restricted and theirs.
    let field = send(
        &t.state,
        "POST",
        ITEMS,
        t.token("field A"),
        &[],
        geojson(&json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [36.7, 50.0]},
            "properties": {"status": "suspected", "radius_m": 30}
        })),
    )
    .await;
    assert_eq!(field.status, StatusCode::CREATED, "{}", field.body);
    assert_eq!(field.body["properties"]["organisation"], ORG_A);
    assert_eq!(field.body["properties"]["classification"], "restricted");
    // ...but may not publish it, nor release land.
    let fid = field.body["id"].as_str().unwrap().to_string();
    let fetag = field.headers[header::ETAG].to_str().unwrap().to_string();
    for (patch, names) in [
        (
            json!({"properties": {"classification": "public"}}),
            "classification",
        ),
        (
            json!({"properties": {"organisation": ORG_B}}),
            "organisation",
        ),
    ] {
        let r = send(
            &t.state,
            "PATCH",
            &format!("{ITEMS}/{fid}"),
            t.token("field A"),
            &[("if-match", &fetag)],
            Some((
                "application/merge-patch+json",
                patch.to_string().into_bytes(),
            )),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{patch}: {}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains(names));
    }

    // A merge patch: null removes a property, the rest stays; If-Match moves on.
    let r = send(
        &t.state,
        "PATCH",
        &format!("{ITEMS}/{id}"),
        officer,
        &[("if-match", &etag)],
        Some((
            "application/merge-patch+json",
            json!({"properties": {"name": null, "marking": "marked"}})
                .to_string()
                .into_bytes(),
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["properties"].get("name").is_none());
    assert_eq!(r.body["properties"]["marking"], "marked");
    assert_eq!(r.body["properties"]["evidence"]["kind"], "direct");
    let etag2 = r.headers[header::ETAG].to_str().unwrap().to_string();
    assert_ne!(etag2, etag);
    // The old ETag is stale now.
    let stale = send(
        &t.state,
        "DELETE",
        &format!("{ITEMS}/{id}"),
        officer,
        &[("if-match", &etag)],
        None,
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);

    // DELETE never closes an area: closing is land release's, on an activity's evidence.
    let refused = send(
        &t.state,
        "DELETE",
        &format!("{ITEMS}/{id}"),
        t.token("admin"),
        &[
            ("if-match", &etag2),
            ("cairn-reason", "cleared and handed over"),
        ],
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.body["rule"], "release-by-activity");
    let (now, f) = read(&t, &id).await;
    assert_eq!(now, etag2, "nothing was written");
    assert_eq!(f["properties"]["status"], "confirmed");

    // History keeps every revision, each attributed to the token's user with its reason and
    // the token as source.
    let history = t.state.with_store(|s| s.history(&id).unwrap());
    let who: Vec<(&str, &str)> = history
        .iter()
        .map(|h| (h.revision.author.as_str(), h.revision.reason.as_str()))
        .collect();
    assert_eq!(
        who,
        [
            ("Olena", "NTS in the village, 24 November"),
            ("Olena", "updated through the OGC API"),
        ]
    );
    assert!(history.iter().all(|h| {
        h.revision
            .source
            .as_deref()
            .is_some_and(|s| s.contains("token"))
    }));
    assert_eq!(history[0].area.props.status.as_str(), "confirmed");
    assert_eq!(
        history[1].revision.command.as_deref(),
        Some("edit"),
        "each revision names its command"
    );

    // A PUT of exactly what is stored writes nothing and keeps the ETag.
    let (etag_a1, mut f) = read(&t, "HA-A1").await;
    f.as_object_mut().unwrap().remove("links");
    let before = t.digest();
    let same = send(
        &t.state,
        "PUT",
        &format!("{ITEMS}/HA-A1"),
        officer,
        &[("if-match", &etag_a1)],
        geojson(&f),
    )
    .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(same.headers[header::ETAG].to_str().unwrap(), etag_a1);
    assert_eq!(t.digest(), before);
}

#[tokio::test]
async fn the_public_is_never_shown_a_restricted_record_through_editing() {
    let t = setup();
    // Every write the public attempts is refused before anything is read.
    for (method, uri) in [
        ("POST", ITEMS.to_string()),
        ("PUT", format!("{ITEMS}/HA-A1")),
        ("PATCH", format!("{ITEMS}/HA-A1")),
        ("DELETE", format!("{ITEMS}/HA-A1")),
    ] {
        let r = send(
            &t.state,
            method,
            &uri,
            None,
            &[("if-match", "\"r1\"")],
            geojson(&new_feature(ORG_A, "restricted", 36.0)),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method}");
        let text = r.body.to_string();
        assert!(
            !text.contains("Area HA-A1") && !text.contains(ORG_A),
            "{text}"
        );
    }
    // A restricted record written by an officer reaches the public only as a danger zone.
    let r = send(
        &t.state,
        "POST",
        ITEMS,
        t.token("officer"),
        &[],
        geojson(&new_feature(ORG_B, "restricted", 38.0)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["id"].as_str().unwrap().to_string();
    let items = send(
        &t.state,
        "GET",
        &format!("{ITEMS}?limit=1000"),
        None,
        &[],
        None,
    )
    .await;
    let text = items.body.to_string();
    assert!(!text.contains(&id) && !text.contains(ORG_B), "{text}");
    let check = send(
        &t.state,
        "GET",
        "/api/check/point?lon=38.005&lat=50.005",
        None,
        &[],
        None,
    )
    .await;
    let text = check.body.to_string();
    assert_eq!(
        check.body["inside"].as_array().map(Vec::len),
        Some(1),
        "the new restricted record must warn the public: {text}"
    );
    assert!(!text.contains(&id) && !text.contains(ORG_B), "{text}");
}

// ---------------------------------------------------------------------------------------------
// The read model kept current in place.

#[tokio::test]
async fn the_read_model_follows_every_write_in_place_zones_included() {
    let t = setup();
    let officer = t.token("officer");
    common::assert_model_is_current(&t.state);
    // Two restricted records close together share one danger zone for the public.
    let mut ids = Vec::new();
    for x in [38.002, 38.003] {
        let r = send(
            &t.state,
            "POST",
            ITEMS,
            officer,
            &[],
            geojson(&new_feature(ORG_B, "restricted", x)),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        ids.push(r.body["id"].as_str().unwrap().to_string());
        common::assert_model_is_current(&t.state);
    }
    let inside = |t: &T| {
        let t = t.state.clone();
        async move {
            let r = send(
                &t,
                "GET",
                "/api/check/point?lon=38.005&lat=50.005",
                None,
                &[],
                None,
            )
            .await;
            r.body["inside"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(inside(&t).await, 1);
    // Moving one away (an officer's correction) leaves the zone for the other; moving both
    // removes it.
    for (n, id) in ids.iter().enumerate() {
        let (etag, _) = read(&t, id).await;
        let x = 39.5 + n as f64 * 0.1;
        let r = send(
            &t.state,
            "POST",
            &format!("/api/areas/{id}/corrections"),
            officer,
            &[("if-match", &etag)],
            Some((
                "application/json",
                json!({"reason": "recorded at the wrong place",
                       "geometry": {"type": "Polygon", "coordinates": [[[x, 50.0], [x + 0.01, 50.0], [x + 0.01, 50.01], [x, 50.01], [x, 50.0]]]}})
                .to_string()
                .into_bytes(),
            )),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        common::assert_model_is_current(&t.state);
        assert_eq!(
            inside(&t).await,
            if n == 0 { 1 } else { 0 },
            "after moving {id}"
        );
    }
    // A public record moved (an officer's correction) leaves no trace at its old place; a PUT
    // that moves it is refused as a weakening.
    let (etag, mut f) = read(&t, "HA-PUB").await;
    f.as_object_mut().unwrap().remove("links");
    f["geometry"] = json!({"type": "Polygon", "coordinates": [[[39.0, 50.0], [39.01, 50.0], [39.01, 50.01], [39.0, 50.01], [39.0, 50.0]]]});
    let r = send(
        &t.state,
        "PUT",
        &format!("{ITEMS}/HA-PUB"),
        officer,
        &[("if-match", &etag)],
        geojson(&f),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["rule"], "weakening-needs-correction");
    let r = send(
        &t.state,
        "POST",
        "/api/areas/HA-PUB/corrections",
        officer,
        &[("if-match", &etag)],
        Some((
            "application/json",
            json!({"reason": "recorded at the wrong place", "geometry": f["geometry"]})
                .to_string()
                .into_bytes(),
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    common::assert_model_is_current(&t.state);
    let old = send(
        &t.state,
        "GET",
        "/api/check/point?lon=36.305&lat=49.905",
        None,
        &[],
        None,
    )
    .await;
    assert!(
        old.body["inside"].as_array().unwrap().is_empty(),
        "{}",
        old.body
    );
    let new = send(
        &t.state,
        "GET",
        "/api/check/point?lon=39.005&lat=50.005",
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(new.body["inside"][0]["id"], "HA-PUB");
}

/// A feature sent in EPSG:4326 (latitude first) is stored where it is on the ground; one in a
/// system the service does not read (EPSG:25832, metres) is refused naming `Content-Crs`, and
/// nothing is stored, rather than stored as if its metres were degrees.
#[tokio::test]
async fn content_crs_is_read_or_refused_never_ignored() {
    let t = setup();
    let officer = t.token("officer");
    let lonlat = new_feature(ORG_A, "public", 36.7);
    let mut latlon = lonlat.clone();
    for p in latlon["geometry"]["coordinates"][0].as_array_mut().unwrap() {
        p.as_array_mut().unwrap().swap(0, 1);
    }
    let r = send(
        &t.state,
        "POST",
        ITEMS,
        officer,
        &[(
            "content-crs",
            "<http://www.opengis.net/def/crs/EPSG/0/4326>",
        )],
        geojson(&latlon),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (_, stored) = read(&t, &id).await;
    assert_eq!(
        stored["geometry"]["coordinates"][0], lonlat["geometry"]["coordinates"],
        "stored in longitude, latitude (published as a multipolygon of one part)"
    );
    let before = t.digest();
    let mut metres = lonlat.clone();
    metres["geometry"]["coordinates"] = json!([[
        [500000.0, 5540000.0],
        [501000.0, 5540000.0],
        [501000.0, 5541000.0],
        [500000.0, 5541000.0],
        [500000.0, 5540000.0]
    ]]);
    for crs in [
        "<http://www.opengis.net/def/crs/EPSG/0/25832>",
        "http://www.opengis.net/def/crs/EPSG/0/3857",
        "EPSG:25832",
    ] {
        let r = send(
            &t.state,
            "POST",
            ITEMS,
            officer,
            &[("content-crs", crs)],
            geojson(&metres),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{crs}: {}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap().contains("Content-Crs"),
            "{crs}: {}",
            r.body
        );
    }
    assert_eq!(t.digest(), before, "a refused Content-Crs stored nothing");
    // CRS84 named explicitly is the default.
    let r = send(
        &t.state,
        "POST",
        ITEMS,
        officer,
        &[(
            "content-crs",
            "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>",
        )],
        geojson(&new_feature(ORG_A, "public", 36.8)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// A spot comes to GIS clients as its outline with `centre_wkt` and `radius_m` beside it. Sent back
/// as it came, it changes nothing; a different outline under the same centre is refused (it is
/// drawn from them); a patched centre or radius moves or resizes it, and its outline follows.
#[tokio::test]
async fn a_spot_published_as_its_outline_comes_back_unchanged_and_moves_by_its_centre() {
    let t = setup();
    let officer = t.token("officer");
    let spot = json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [36.5, 49.95]},
        "properties": {"name": "Shell crater", "status": "confirmed", "classification": "public",
                       "organisation": ORG_A, "radius_m": 62.8,
                       "evidence": {"kind": "direct", "description": "UXO seen"}}
    });
    let r = send(&t.state, "POST", ITEMS, officer, &[], geojson(&spot)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let (etag, mut f) = read(&t, &id).await;
    assert_eq!(f["geometry"]["type"], "MultiPolygon");
    assert_eq!(f["properties"]["centre_wkt"], "POINT(36.5 49.95)");
    assert_eq!(f["properties"]["radius_m"], 62.8);
    f.as_object_mut().unwrap().remove("links");

    // Sent back as it came: nothing is written.
    let before = t.digest();
    let same = send(
        &t.state,
        "PUT",
        &format!("{ITEMS}/{id}"),
        officer,
        &[("if-match", &etag)],
        geojson(&f),
    )
    .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(same.headers[header::ETAG].to_str().unwrap(), etag);
    assert_eq!(t.digest(), before);

    // Another outline under the same centre: refused, naming the geometry; nothing changes.
    let mut redrawn = f.clone();
    redrawn["geometry"]["coordinates"][0][0]
        .as_array_mut()
        .unwrap()
        .remove(1);
    let bad = send(
        &t.state,
        "PUT",
        &format!("{ITEMS}/{id}"),
        officer,
        &[("if-match", &etag)],
        geojson(&redrawn),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.body["problems"][0]["field"], "geometry", "{}", bad.body);
    assert_eq!(t.digest(), before);

    // A new radius resizes it and its outline follows.
    let grown = send(
        &t.state,
        "PATCH",
        &format!("{ITEMS}/{id}"),
        officer,
        &[("if-match", &etag)],
        Some((
            "application/merge-patch+json",
            json!({"properties": {"radius_m": 125.6}})
                .to_string()
                .into_bytes(),
        )),
    )
    .await;
    assert_eq!(grown.status, StatusCode::OK, "{}", grown.body);
    let (etag2, f2) = read(&t, &id).await;
    assert_eq!(f2["properties"]["centre_wkt"], "POINT(36.5 49.95)");
    let ring = |f: &Value| {
        f["geometry"]["coordinates"][0][0]
            .as_array()
            .unwrap()
            .clone()
    };
    let east = |f: &Value| {
        ring(f)
            .iter()
            .map(|c| c[0].as_f64().unwrap())
            .fold(f64::MIN, f64::max)
            - 36.5
    };
    assert!(
        (east(&f2) / east(&f) - 2.0).abs() < 0.01,
        "{} {}",
        east(&f2),
        east(&f)
    );

    // A new centre moves it, which leaves ground it covered: the one door's rule refuses that as
    // an edit (an officer's correction with a reason may), exactly as for a redrawn polygon.
    let before = t.digest();
    let moved = send(
        &t.state,
        "PATCH",
        &format!("{ITEMS}/{id}"),
        officer,
        &[("if-match", &etag2)],
        Some((
            "application/merge-patch+json",
            json!({"properties": {"centre_wkt": "POINT(36.6 49.96)"}})
                .to_string()
                .into_bytes(),
        )),
    )
    .await;
    assert_eq!(moved.status, StatusCode::CONFLICT, "{}", moved.body);
    assert_eq!(
        moved.body["rule"], "weakening-needs-correction",
        "{}",
        moved.body
    );
    assert_eq!(t.digest(), before);
}

/// The tile of zoom `z` holding a place (Web Mercator).
fn tile_at(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let phi = lat.to_radians();
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

/// The ids a public place check of the model finds the place inside.
fn inside_ids(m: &cairn_server::ReadModel, lon: f64, lat: f64) -> Vec<String> {
    m.public_index
        .check_point(
            geo_types::Coord { x: lon, y: lat },
            0.0,
            &cairn_index::Filter::default(),
        )
        .inside
        .iter()
        .map(|h| h.id.to_string())
        .collect()
}

/// A service answers once its records and trees are in; its covering cells (low-zoom tiles) and
/// public grid (place checks) are built afterwards, from a plan, while writes go on. Every write
/// made meanwhile must be in them when they arrive, and every answer meanwhile exact: a hazard
/// written during the build is found by a place check and drawn in a low-zoom tile before, and
/// after, and the completed model holds what a model loaded afresh holds.
#[tokio::test]
async fn writes_made_while_the_grid_and_cells_are_built_reach_them() {
    let t = setup();
    let cat = Catalogue::builtin();
    // The start as the service makes it, with the building held here between plan and install.
    let mut m = t
        .state
        .with_store(|s| cairn_server::ReadModel::load_core(s, &cat).unwrap());
    assert_eq!(m.building(), ["covering cells", "point-location grid"]);
    let plan = m.plan().expect("a model to complete");
    // Meanwhile: a new public area, a new restricted one (shown as a danger zone) and the public
    // HA-PUB moved away, committed and applied as the change feed applies them.
    let (new_pub, new_zone) = ("HA-NEW", "HA-HIDDEN");
    t.state.with_store(|s| {
        let mut w = s
            .begin(ChangeMeta {
                author: "test".into(),
                reason: "written during the build".into(),
                source: None,
            })
            .unwrap();
        w.put_area(&area(new_pub, 37.0, ORG_A, Classification::Public))
            .unwrap();
        w.put_area(&area(new_zone, 37.5, ORG_B, Classification::Restricted))
            .unwrap();
        let mut moved = area("HA-PUB", 36.3, ORG_A, Classification::Public);
        moved.shape = square(38.5, 49.9, 0.01);
        w.put_area(&moved).unwrap();
        w.commit().unwrap();
        for id in [new_pub, new_zone, "HA-PUB"] {
            m.apply(s.get_area(id, None).unwrap().unwrap(), &cat);
        }
    });
    let fresh = t
        .state
        .with_store(|s| cairn_server::ReadModel::load(s, &cat).unwrap());
    assert!(fresh.building().is_empty());
    let places = [
        (37.005, 49.905),
        (37.505, 49.905),
        (38.505, 49.905),
        (36.305, 49.905),
        (36.005, 49.905),
    ];
    let tiles: Vec<(u8, u32, u32)> = [3u8, 6, 9]
        .iter()
        .flat_map(|&z| places.iter().map(move |&(x, y)| (z, x, y)))
        .map(|(z, x, y)| {
            let (tx, ty) = tile_at(z, x, y);
            (z, tx, ty)
        })
        .collect();
    let same_answers = |m: &cairn_server::ReadModel, when: &str| {
        for (x, y) in places {
            assert_eq!(
                inside_ids(m, x, y),
                inside_ids(&fresh, x, y),
                "{when}: place check at {x} {y}"
            );
        }
        for &(z, x, y) in &tiles {
            for public in [true, false] {
                assert_eq!(
                    cairn_server::vt::draw_model(m, public, z, x, y),
                    cairn_server::vt::draw_model(&fresh, public, z, x, y),
                    "{when}: tile {z}/{x}/{y} (public {public})"
                );
            }
        }
    };
    assert_eq!(inside_ids(&m, 37.005, 49.905), [new_pub]);
    assert_eq!(inside_ids(&m, 36.305, 49.905), Vec::<String>::new());
    assert_eq!(inside_ids(&m, 38.505, 49.905), ["HA-PUB"]);
    assert_eq!(inside_ids(&m, 37.505, 49.905).len(), 1, "the danger zone");
    same_answers(&m, "before the grid and cells");
    // Built apart, then installed with the writes made since the plan.
    let cells = std::thread::spawn(move || plan.cells.build())
        .join()
        .unwrap();
    assert!(m.install_cells(cells));
    assert_eq!(m.building(), ["point-location grid"]);
    same_answers(&m, "with the cells, before the grid");
    let grid = plan.grid.expect("a grid to build").build(2);
    assert!(m.install_grid(grid));
    assert!(m.building().is_empty() && m.public_index.has_grid());
    assert_eq!(m.cells, fresh.cells);
    assert_eq!(m.public_cells, fresh.public_cells);
    same_answers(&m, "complete");
    // A second plan of a complete model: none.
    assert!(m.plan().is_none());
}

/// The service itself: a write accepted at once after the start is in its low-zoom tiles and
/// public checks, whether it came before, during or after the model's completion, and the
/// completed model is the one a fresh load gives.
#[tokio::test]
async fn a_write_at_once_after_the_start_is_in_the_completed_model() {
    let t = setup();
    let officer = t.token("officer");
    let r = send(
        &t.state,
        "POST",
        ITEMS,
        officer,
        &[],
        geojson(&new_feature(ORG_A, "public", 37.2)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    t.state.wait_until_complete();
    common::assert_model_is_current(&t.state);
    let check = send(
        &t.state,
        "GET",
        "/api/check/point?lon=37.205&lat=50.005",
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(check.body["inside"][0]["id"], id.as_str(), "{}", check.body);
    let (z, (x, y)) = (5, tile_at(5, 37.205, 50.005));
    let m = t.state.model();
    let drawn = cairn_server::vt::draw_model(&m, true, z, x, y);
    assert!(!drawn.is_empty());
    assert!(!m.public_cells.cells(z, x, y).is_empty());
}
