//! Field work and land release through `router` with `oneshot`: the whole workflow from a public
//! report to a closed area with its handover certificate and a post-release find, with geometry
//! and statistics checked at each step against an independent area computation (a Lambert
//! azimuthal equal-area projection on the authalic sphere, not the geodesic polygon area Cairn
//! uses); transitions the evidence does not support refused; and a bad-input table for every new
//! endpoint, each answered with a problem naming the field and the store left unchanged.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use cairn_core::Catalogue;
use cairn_server::reports::ReportsConfig;
use cairn_server::{AppState, router};
use cairn_store::SqliteStore;
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use geo::Area;
use geo_types::{Coord, LineString, MultiPolygon, Polygon, polygon};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct T {
    _dir: tempfile::TempDir,
    state: AppState,
    officer: String,
    auditor: String,
    field: String,
    other_field: String,
}

fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    let mut token = |name: &str, role: &str, org: Option<&str>| {
        store.create_token(name, role, org, None).unwrap().0
    };
    let officer = token("Olena", "officer", None);
    let auditor = token("Auditor Petro", "auditor", None);
    let field = token("Team 7", "field", Some("Example Demining"));
    let other_field = token("Team 9", "field", Some("Other Demining"));
    let config = ReportsConfig {
        rate_limit: None,
        ..ReportsConfig::default()
    };
    let state = AppState::with_config(store, Catalogue::builtin(), config).unwrap();
    T {
        _dir: dir,
        state,
        officer,
        auditor,
        field,
        other_field,
    }
}

struct Reply {
    status: StatusCode,
    ct: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn call(t: &T, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "cairn.test");
    if let Some(tok) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {tok}"));
    }
    let mut req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let addr: SocketAddr = "192.0.2.10:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let r = router(t.state.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        ct,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn post(t: &T, uri: &str, token: Option<&str>, body: Value) -> Reply {
    call(t, "POST", uri, token, Some(body)).await
}

async fn get(t: &T, uri: &str, token: Option<&str>) -> Reply {
    call(t, "GET", uri, token, None).await
}

/// One bad request: method, path, token, body, the status expected and a word the detail names.
type Case<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    Option<Value>,
    StatusCode,
    &'a str,
);

fn digest(t: &T) -> String {
    t.state.with_store(|s| s.content_digest().unwrap())
}

// ---------------------------------------------------------------------------------------------
// The independent area: Lambert azimuthal equal-area on the authalic sphere of WGS 84.

fn authalic(phi: f64) -> f64 {
    let f = 1.0f64 / 298.257_223_563;
    let e2 = f * (2.0 - f);
    let e = e2.sqrt();
    let q = |p: f64| {
        let s = p.sin();
        (1.0 - e2)
            * (s / (1.0 - e2 * s * s) - (1.0 / (2.0 * e)) * ((1.0 - e * s) / (1.0 + e * s)).ln())
    };
    let qp = q(std::f64::consts::FRAC_PI_2);
    (q(phi) / qp).asin()
}

fn authalic_radius() -> f64 {
    let a = 6_378_137.0f64;
    let f = 1.0f64 / 298.257_223_563;
    let e2 = f * (2.0 - f);
    let e = e2.sqrt();
    let qp = 1.0 - (1.0 - e2) / (2.0 * e) * ((1.0 - e) / (1.0 + e)).ln();
    a * (qp / 2.0).sqrt()
}

/// Area in m² of a GeoJSON Polygon or MultiPolygon, by projecting it with LAEA centred on its
/// first vertex and taking the planar area.
fn laea_m2(g: &Value) -> f64 {
    let polys: Vec<Value> = match g["type"].as_str().unwrap() {
        "Polygon" => vec![g["coordinates"].clone()],
        "MultiPolygon" => g["coordinates"].as_array().unwrap().clone(),
        other => panic!("not a polygon: {other}"),
    };
    let first = &polys[0][0][0];
    let (lon0, lat0) = (
        first[0].as_f64().unwrap().to_radians(),
        authalic(first[1].as_f64().unwrap().to_radians()),
    );
    let r = authalic_radius();
    let project = |p: &Value| {
        let lon = p[0].as_f64().unwrap().to_radians();
        let b = authalic(p[1].as_f64().unwrap().to_radians());
        let k =
            (2.0 / (1.0 + lat0.sin() * b.sin() + lat0.cos() * b.cos() * (lon - lon0).cos())).sqrt();
        Coord {
            x: r * k * b.cos() * (lon - lon0).sin(),
            y: r * k * (lat0.cos() * b.sin() - lat0.sin() * b.cos() * (lon - lon0).cos()),
        }
    };
    let mp = MultiPolygon(
        polys
            .iter()
            .map(|rings| {
                let rings: Vec<LineString<f64>> = rings
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|ring| LineString(ring.as_array().unwrap().iter().map(project).collect()))
                    .collect();
                let mut it = rings.into_iter();
                Polygon::new(it.next().unwrap(), it.collect())
            })
            .collect(),
    );
    mp.unsigned_area()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

const LON: f64 = 36.2;
const LAT: f64 = 49.9;

/// The box around the reported place that every activity works.
fn worked() -> Value {
    rect(LON - 0.004, LAT - 0.003, LON + 0.004, LAT + 0.003)
}

fn activity(area: &str, kind: &str, devices: Value) -> Value {
    json!({
        "area_id": area, "kind": kind, "organisation": "Example Demining", "team": "Team 7",
        "started": "2026-11-10", "ended": "2026-11-12", "geometry": worked(),
        "devices": devices, "outcome": "work done to IMAS standard",
    })
}

async fn area_geometry(t: &T, id: &str) -> (String, Value) {
    let r = get(
        t,
        &format!("/ogc/collections/hazardous-areas/items/{id}"),
        Some(&t.officer),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    (
        v["properties"]["status"].as_str().unwrap_or("").to_string(),
        v["geometry"].clone(),
    )
}

async fn inside(t: &T, lon: f64, lat: f64, id: &str) -> bool {
    let r = get(
        t,
        &format!("/api/check/point?lon={lon}&lat={lat}"),
        Some(&t.officer),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["inside"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["id"] == id)
}

fn problem(r: &Reply, status: StatusCode, field: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.ct, "application/problem+json", "{}", r.body);
    let d = r.json()["detail"].as_str().unwrap_or("").to_string();
    assert!(d.contains(field), "detail {d:?} does not name {field:?}");
}

#[tokio::test]
async fn report_to_closed_area_with_certificate_and_post_release_find() {
    let t = setup();
    let off = Some(t.officer.as_str());

    // A public report, opened by the officer as a reported area (a spot of 150 m).
    let r = post(
        &t,
        "/api/reports",
        None,
        json!({"lon": LON, "lat": LAT, "accuracy_m": 150.0, "category": "mine", "description": "two mines by the path"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let reference = r.json()["reference"].as_str().unwrap().to_string();
    let r = post(
        &t,
        &format!("/api/reports/{reference}/triage"),
        off,
        json!({"action": "open"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.json()["triage"]["area_id"].as_str().unwrap().to_string();

    // A reported area is not released: it must be surveyed first.
    let r = post(&t, "/api/activities", off, activity(&id, "nts", json!([]))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let nts = r.json()["id"].as_str().unwrap().to_string();
    let r = post(
        &t,
        "/api/releases",
        off,
        json!({"area_id": id, "method": "cancel", "activity_id": nts, "geometry": worked()}),
    )
    .await;
    problem(&r, StatusCode::CONFLICT, "area_id");

    // reported → suspected (the report's indirect evidence is enough).
    let r = post(
        &t,
        &format!("/api/areas/{id}/status"),
        off,
        json!({"status": "suspected", "reason": "NTS: locals confirm the report"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "suspected");

    // Confirming without direct evidence is refused; with it, accepted.
    let r = post(
        &t,
        &format!("/api/areas/{id}/status"),
        off,
        json!({"status": "confirmed", "reason": "sure"}),
    )
    .await;
    problem(&r, StatusCode::CONFLICT, "evidence");
    let r = post(
        &t,
        &format!("/api/areas/{id}/status"),
        off,
        json!({"status": "confirmed", "reason": "mine seen", "evidence": {"kind": "indirect", "description": "hearsay"}}),
    )
    .await;
    problem(&r, StatusCode::CONFLICT, "evidence.kind");
    let r = post(
        &t,
        &format!("/api/areas/{id}/status"),
        off,
        json!({"status": "confirmed", "reason": "mine seen", "evidence": {"kind": "direct", "description": "PMN-2 seen at the path edge by the NTS team"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "confirmed");

    // Setting a release status directly is refused.
    let r = post(
        &t,
        &format!("/api/areas/{id}/status"),
        off,
        json!({"status": "cleared", "reason": "done"}),
    )
    .await;
    problem(&r, StatusCode::CONFLICT, "status");

    let (_, g0) = area_geometry(&t, &id).await;
    let original_m2 = {
        // The spot as polygons: Cairn's first release turns it into a 64-gon; measured below.
        let r = get(&t, &format!("/api/areas/{id}/releases"), off).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let s = &r.json()["statistics"];
        assert_eq!(s["released_m2"], 0.0);
        s["remaining_m2"].as_f64().unwrap()
    };
    // GIS clients get the spot as its outline, the very polygon the release arithmetic measures.
    assert_eq!(g0["type"], "MultiPolygon");
    assert!(close(laea_m2(&g0), original_m2, 1e-4), "{}", laea_m2(&g0));
    let circle = std::f64::consts::PI * 150.0 * 150.0;
    assert!(
        original_m2 > circle && original_m2 < circle * 1.01,
        "{original_m2}"
    );

    // NTS cannot cancel land confirmed by direct evidence.
    let west = rect(LON - 0.004, LAT - 0.003, LON, LAT + 0.003);
    let r = post(
        &t,
        "/api/releases",
        off,
        json!({"area_id": id, "method": "cancel", "activity_id": nts, "geometry": west}),
    )
    .await;
    problem(&r, StatusCode::CONFLICT, "method");

    // A field team records the technical survey; it may not release land.
    let r = post(
        &t,
        "/api/activities",
        Some(&t.field),
        activity(&id, "technical-survey", json!([{"type": "ap-mine-persistent", "count": 2, "depth_cm": 5, "action": "destroyed"}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let ts = r.json()["id"].as_str().unwrap().to_string();
    // Another organisation's field team may not record work in this team's name.
    let r = post(
        &t,
        "/api/activities",
        Some(&t.other_field),
        activity(&id, "technical-survey", json!([])),
    )
    .await;
    problem(&r, StatusCode::FORBIDDEN, "organisation");
    let r = post(
        &t,
        "/api/releases",
        Some(&t.field),
        json!({"area_id": id, "method": "reduce", "activity_id": ts, "geometry": west}),
    )
    .await;
    problem(&r, StatusCode::FORBIDDEN, "officer");

    // Clearing on the evidence of a technical survey is refused.
    let r = post(
        &t,
        "/api/releases",
        off,
        json!({"area_id": id, "method": "clear", "activity_id": ts, "geometry": west}),
    )
    .await;
    problem(&r, StatusCode::CONFLICT, "activity_id");

    // Reduce the west half by TS.
    let before = t.state.with_store(|s| s.stats().unwrap().revisions);
    let r = post(&t, "/api/releases", off, json!({"area_id": id, "method": "reduce", "activity_id": ts, "geometry": west, "reason": "TS found nothing west of the path"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rel1 = r.json();
    assert_eq!(
        t.state.with_store(|s| s.stats().unwrap().revisions),
        before + 2
    );
    // What remains keeps its evidence status: a partial release never lowers the warning.
    assert_eq!(rel1["status_after"], rel1["status_before"]);
    assert_eq!(rel1["area"]["status"], rel1["status_before"]);
    let released1 = rel1["released_m2"].as_f64().unwrap();
    let remaining1 = rel1["remaining_m2"].as_f64().unwrap();
    assert!(
        close(laea_m2(&rel1["geometry"]), released1, 1e-4),
        "{released1}"
    );
    assert!(
        close(released1, original_m2 / 2.0, 1e-3),
        "{released1} vs {original_m2}"
    );
    assert!(close(released1 + remaining1, original_m2, 1e-6));
    // The read model shows the remaining half at once: status, geometry, checks.
    let (status, g1) = area_geometry(&t, &id).await;
    assert_eq!(
        status,
        rel1["status_before"].as_str().unwrap(),
        "the evidence status stays"
    );
    assert_eq!(g1["type"], "MultiPolygon");
    assert!(
        close(laea_m2(&g1), remaining1, 1e-4),
        "{} vs {remaining1}",
        laea_m2(&g1)
    );
    assert!(inside(&t, LON + 0.001, LAT, &id).await);
    assert!(!inside(&t, LON - 0.001, LAT, &id).await);
    let r = get(&t, &format!("/api/areas/{id}/releases"), Some(&t.auditor)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = r.json()["statistics"].clone();
    assert!(close(
        s["released_m2_by_method"]["reduce"].as_f64().unwrap(),
        released1,
        1e-6
    ));
    assert!(close(s["remaining_m2"].as_f64().unwrap(), remaining1, 1e-4));
    assert!(close(s["original_m2"].as_f64().unwrap(), original_m2, 1e-4));
    assert_eq!(s["devices_destroyed"], 2);

    // Clear the rest with a clearance activity: nothing remains, the area closes.
    let r = post(
        &t,
        "/api/activities",
        off,
        activity(&id, "clearance", json!([{"type": "ap-mine-persistent", "count": 3, "depth_cm": 10, "action": "destroyed"}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let clr = r.json()["id"].as_str().unwrap().to_string();
    let r = post(
        &t,
        "/api/releases",
        off,
        json!({"area_id": id, "method": "clear", "activity_id": clr, "geometry": worked()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rel2 = r.json();
    assert_eq!(rel2["status_after"], "closed");
    assert_eq!(rel2["remaining_m2"], 0.0);
    let released2 = rel2["released_m2"].as_f64().unwrap();
    assert!(close(released2, remaining1, 1e-6));
    assert!(close(laea_m2(&rel2["geometry"]), released2, 1e-4));
    assert!(close(released1 + released2, original_m2, 1e-6));
    let (status, g2) = area_geometry(&t, &id).await;
    assert_eq!(status, "closed");
    // A closed area's geometry is the land released over its life: the original outline.
    assert!(close(laea_m2(&g2), original_m2, 1e-4));
    // Closed land is no hazard: the place is no longer inside it.
    assert!(!inside(&t, LON + 0.001, LAT, &id).await);
    let r = get(&t, &format!("/api/areas/{id}/releases"), off).await;
    let s = r.json()["statistics"].clone();
    assert_eq!(s["remaining_m2"], 0.0);
    assert!(close(s["released_m2"].as_f64().unwrap(), original_m2, 1e-6));
    assert!(close(
        s["released_m2_by_method"]["clear"].as_f64().unwrap(),
        released2,
        1e-6
    ));
    assert_eq!(s["devices_destroyed"], 5);

    // A closed area is not released again, nor its status changed.
    let r = post(
        &t,
        "/api/releases",
        off,
        json!({"area_id": id, "method": "clear", "activity_id": clr, "geometry": worked()}),
    )
    .await;
    problem(&r, StatusCode::CONFLICT, "area_id");
    let r = post(&t, &format!("/api/areas/{id}/status"), off, json!({"status": "confirmed", "reason": "x", "evidence": {"kind": "direct", "description": "y"}})).await;
    problem(&r, StatusCode::CONFLICT, "status");

    // The handover certificate.
    let rel2_id = rel2["id"].as_str().unwrap().to_string();
    let number = rel2["certificate"].as_str().unwrap().to_string();
    assert!(number.starts_with("HC-") && number != rel1["certificate"].as_str().unwrap());
    let r = get(
        &t,
        &format!("/api/releases/{rel2_id}/certificate"),
        Some(&t.auditor),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.ct.starts_with("text/html"), "{}", r.ct);
    let html = &r.body;
    assert!(html.contains(&number));
    assert!(html.contains(r#"<span class="method">clear</span>"#));
    assert!(html.contains("<svg") && html.contains(r#"class="released""#));
    let m2 = cairn_core::certificate::format_m2(released2);
    assert!(html.contains(&m2), "{m2} not in certificate");
    assert!(html.contains("Handed over by") && html.contains("Received by"));
    assert!(html.contains("Example Demining"));
    assert!(html.contains("3 destroyed"));
    problem(
        &get(&t, &format!("/api/releases/{rel2_id}/certificate"), None).await,
        StatusCode::UNAUTHORIZED,
        "token",
    );
    problem(
        &get(
            &t,
            &format!("/api/releases/{rel2_id}/certificate"),
            Some(&t.field),
        )
        .await,
        StatusCode::FORBIDDEN,
        "field",
    );

    // A mine found later on the cleared land re-opens hazard there and is counted.
    let r = post(
        &t,
        &format!("/api/releases/{rel2_id}/finds"),
        off,
        json!({"lon": LON + 0.001, "lat": LAT, "type": "ap-mine-persistent", "depth_cm": 15, "description": "found by a farmer ploughing"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let f = r.json();
    let new_area = f["area"]["id"].as_str().unwrap().to_string();
    assert_ne!(new_area, id);
    assert_eq!(f["area"]["status"], "confirmed");
    assert!(inside(&t, LON + 0.001, LAT, &new_area).await);
    let r = get(&t, &format!("/api/areas/{id}/releases"), off).await;
    assert_eq!(r.json()["statistics"]["post_release_finds"], 1);
    let r = get(&t, &format!("/api/releases/{rel2_id}"), off).await;
    assert_eq!(r.json()["post_release_finds"].as_array().unwrap().len(), 1);
    let r = get(&t, &format!("/api/releases/{rel2_id}/certificate"), off).await;
    assert!(
        r.body
            .contains("<tr><th>Post-release finds</th><td>1</td></tr>")
    );

    // The officers' desk reads the same history over HTTP; the public may not.
    let r = get(&t, &format!("/api/areas/{id}/history"), off).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let revs = r.json()["revisions"].as_array().unwrap().clone();
    assert_eq!(revs.len(), 5);
    assert_eq!(revs[0]["status"], "reported");
    assert_eq!(revs[4]["status"], "closed");
    assert!(revs.iter().all(|v| v["author"] == "Olena"));
    assert!(
        revs[4]["reason"]
            .as_str()
            .unwrap()
            .contains("land release: clear")
    );
    let r = get(&t, &format!("/api/areas/{id}/history"), None).await;
    problem(&r, StatusCode::UNAUTHORIZED, "Bearer");
    let r = get(&t, "/api/areas/HA-999999/history", off).await;
    problem(&r, StatusCode::NOT_FOUND, "HA-999999");

    // Every write is attributed in history.
    let h = t.state.with_store(|s| s.history(&id).unwrap());
    let authors: Vec<&str> = h.iter().map(|x| x.revision.author.as_str()).collect();
    assert_eq!(authors, ["Olena"; 5], "{authors:?}");
    assert!(
        h[3].revision.reason.contains("land release: reduce"),
        "{}",
        h[3].revision.reason
    );
    assert!(h[4].revision.reason.contains("land release: clear"));
    let statuses: Vec<&str> = h
        .iter()
        .map(|x| cairn_core::WireEnum::as_str(x.area.props.status))
        .collect();
    // The partial release keeps what remains confirmed; the final one closes it.
    assert_eq!(
        statuses,
        ["reported", "suspected", "confirmed", "confirmed", "closed"]
    );
    // Every write above updated the read model in place; it holds what a fresh load holds.
    common::assert_model_is_current(&t.state);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let t = setup();
    let off = Some(t.officer.as_str());
    // An area to work on: a confirmed square of about 700 m × 670 m, with a TS activity.
    t.state.with_store(|s| {
        let mut w = s
            .begin(cairn_store::ChangeMeta {
                author: "test".into(),
                reason: "fixture".into(),
                source: None,
            })
            .unwrap();
        let g = polygon![(x: 36.0, y: 49.9), (x: 36.01, y: 49.9), (x: 36.01, y: 49.906), (x: 36.0, y: 49.906), (x: 36.0, y: 49.9)];
        w.put_area(&cairn_core::HazardArea {
            id: "HA-000001".into(),
            shape: cairn_core::Shape::Polygon(g),
            props: cairn_core::AreaProperties {
                name: None,
                status: cairn_core::Status::Confirmed,
                classification: cairn_core::Classification::Public,
                evidence: Some(cairn_core::Evidence {
                    kind: cairn_core::EvidenceKind::Direct,
                    description: Some("seen".into()),
                    source: None,
                }),
                devices: vec![],
                reference_points: vec![],
                marking: None,
                organisation: None,
                reported_at: None,
                emplacement: None,
                extra: Default::default(),
            },
        })
        .unwrap();
        w.commit().unwrap();
    });
    t.state.reload().unwrap();
    let whole = rect(36.0, 49.9, 36.01, 49.906);
    let good_activity = json!({"area_id": "HA-000001", "kind": "ts", "organisation": "Org", "started": "2026-11-01", "ended": "2026-11-02", "geometry": whole});
    let r = post(&t, "/api/activities", off, good_activity.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let ts = r.json()["id"].as_str().unwrap().to_string();
    let r = post(&t, "/api/releases", off, json!({"area_id": "HA-000001", "method": "reduce", "activity_id": ts, "geometry": rect(36.0, 49.9, 36.005, 49.906)})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rel = r.json()["id"].as_str().unwrap().to_string();

    let with = |k: &str, v: Value| {
        let mut b = good_activity.clone();
        b[k] = v;
        b
    };
    let bowtie = json!({"type": "Polygon", "coordinates": [[[36.0, 49.9], [36.01, 49.906], [36.01, 49.9], [36.0, 49.906], [36.0, 49.9]]]});
    let release = |k: &str, v: Value| {
        let mut b = json!({"area_id": "HA-000001", "method": "reduce", "activity_id": ts, "geometry": whole});
        b[k] = v;
        b
    };
    let finds = format!("/api/releases/{rel}/finds");
    let find = |k: &str, v: Value| {
        let mut b = json!({"lon": 36.002, "lat": 49.903, "type": "ap-mine-persistent"});
        b[k] = v;
        b
    };
    let status_uri = "/api/areas/HA-000001/status";
    #[rustfmt::skip]
    let table: Vec<Case> = vec![
        // POST /api/activities
        ("POST", "/api/activities".into(), None, Some(good_activity.clone()), StatusCode::UNAUTHORIZED, "token"),
        ("POST", "/api/activities".into(), Some(&t.auditor), Some(good_activity.clone()), StatusCode::FORBIDDEN, "auditor"),
        ("POST", "/api/activities".into(), off, Some(json!([1])), StatusCode::BAD_REQUEST, "body"),
        ("POST", "/api/activities".into(), off, Some(with("kind", json!("mine-laying"))), StatusCode::BAD_REQUEST, "kind"),
        ("POST", "/api/activities".into(), off, Some(with("area_id", json!("HA-999999"))), StatusCode::BAD_REQUEST, "area_id"),
        ("POST", "/api/activities".into(), off, Some(with("organisation", json!(""))), StatusCode::BAD_REQUEST, "organisation"),
        ("POST", "/api/activities".into(), off, Some(with("started", json!("2026-13-01"))), StatusCode::BAD_REQUEST, "started"),
        ("POST", "/api/activities".into(), off, Some(with("started", json!("2026-11-05"))), StatusCode::BAD_REQUEST, "started"),
        ("POST", "/api/activities".into(), off, Some(with("ended", json!("2099-01-01"))), StatusCode::BAD_REQUEST, "ended"),
        ("POST", "/api/activities".into(), off, Some(with("geometry", json!({"type": "Point", "coordinates": [36.0, 49.9]}))), StatusCode::BAD_REQUEST, "geometry.type"),
        ("POST", "/api/activities".into(), off, Some(with("geometry", bowtie.clone())), StatusCode::BAD_REQUEST, "geometry.coordinates"),
        ("POST", "/api/activities".into(), off, Some(with("geometry", rect(36.0, 49.9, 200.0, 49.906))), StatusCode::BAD_REQUEST, "geometry.coordinates[0][1]"),
        ("POST", "/api/activities".into(), off, Some(with("devices", json!([{"type": "no-such", "count": 1, "action": "found"}]))), StatusCode::BAD_REQUEST, "devices[0].type"),
        ("POST", "/api/activities".into(), off, Some(with("devices", json!([{"type": "ap-mine-persistent", "count": 0, "action": "found"}]))), StatusCode::BAD_REQUEST, "devices[0].count"),
        ("POST", "/api/activities".into(), off, Some(with("devices", json!([{"type": "ap-mine-persistent", "count": 1, "action": "armed"}]))), StatusCode::BAD_REQUEST, "devices[0].action"),
        ("POST", "/api/activities".into(), off, Some(with("devices", json!([{"type": "ap-mine-persistent", "count": 1, "depth_cm": -3, "action": "found"}]))), StatusCode::BAD_REQUEST, "devices[0].depth_cm"),
        ("POST", "/api/activities".into(), off, Some(with("owner", json!("x"))), StatusCode::BAD_REQUEST, "owner"),
        // POST /api/releases
        ("POST", "/api/releases".into(), None, Some(release("method", json!("reduce"))), StatusCode::UNAUTHORIZED, "token"),
        ("POST", "/api/releases".into(), Some(&t.auditor), Some(release("method", json!("reduce"))), StatusCode::FORBIDDEN, "auditor"),
        ("POST", "/api/releases".into(), off, Some(release("method", json!("bulldoze"))), StatusCode::BAD_REQUEST, "method"),
        ("POST", "/api/releases".into(), off, Some(release("area_id", json!("HA-999999"))), StatusCode::BAD_REQUEST, "area_id"),
        ("POST", "/api/releases".into(), off, Some(release("activity_id", json!("ACT-999999"))), StatusCode::BAD_REQUEST, "activity_id"),
        ("POST", "/api/releases".into(), off, Some(release("activity_id", Value::Null)), StatusCode::BAD_REQUEST, "activity_id"),
        ("POST", "/api/releases".into(), off, Some(release("geometry", Value::Null)), StatusCode::BAD_REQUEST, "geometry"),
        ("POST", "/api/releases".into(), off, Some(release("geometry", bowtie.clone())), StatusCode::BAD_REQUEST, "geometry.coordinates"),
        ("POST", "/api/releases".into(), off, Some(release("geometry", rect(36.0, 49.9, 36.02, 49.906))), StatusCode::CONFLICT, "geometry"),
        ("POST", "/api/releases".into(), off, Some(release("geometry", rect(36.0, 49.9, 36.005, 49.906))), StatusCode::CONFLICT, "geometry"),
        ("POST", "/api/releases".into(), off, Some(release("method", json!("cancel"))), StatusCode::CONFLICT, "activity_id"),
        ("POST", "/api/releases".into(), off, Some(release("extra", json!(1))), StatusCode::BAD_REQUEST, "extra"),
        // POST /api/releases/{id}/finds
        ("POST", finds.clone(), None, Some(find("count", json!(1))), StatusCode::UNAUTHORIZED, "token"),
        ("POST", finds.clone(), Some(&t.field), Some(find("count", json!(1))), StatusCode::FORBIDDEN, "field"),
        ("POST", "/api/releases/LR-999999/finds".into(), off, Some(find("count", json!(1))), StatusCode::NOT_FOUND, "LR-999999"),
        ("POST", finds.clone(), off, Some(find("lon", json!(250.0))), StatusCode::BAD_REQUEST, "lon"),
        ("POST", finds.clone(), off, Some(find("lat", json!("north"))), StatusCode::BAD_REQUEST, "lat"),
        ("POST", finds.clone(), off, Some(find("lon", json!(36.009))), StatusCode::BAD_REQUEST, "lon"),
        ("POST", finds.clone(), off, Some(find("type", json!("no-such"))), StatusCode::BAD_REQUEST, "type"),
        ("POST", finds.clone(), off, Some(find("count", json!(0))), StatusCode::BAD_REQUEST, "count"),
        ("POST", finds.clone(), off, Some(find("depth_cm", json!(5000))), StatusCode::BAD_REQUEST, "depth_cm"),
        ("POST", finds.clone(), off, Some(find("name", json!("Mykola"))), StatusCode::BAD_REQUEST, "name"),
        // GET /api/areas/{id}/releases and the certificate
        ("GET", "/api/areas/HA-000001/releases".into(), None, None, StatusCode::UNAUTHORIZED, "token"),
        ("GET", "/api/areas/HA-000001/releases".into(), Some(&t.field), None, StatusCode::FORBIDDEN, "field"),
        ("GET", "/api/areas/HA-999999/releases".into(), off, None, StatusCode::NOT_FOUND, "HA-999999"),
        ("GET", "/api/releases/LR-999999/certificate".into(), off, None, StatusCode::NOT_FOUND, "LR-999999"),
        // POST /api/areas/{id}/status
        ("POST", status_uri.into(), None, Some(json!({"status": "suspected", "reason": "x"})), StatusCode::UNAUTHORIZED, "token"),
        ("POST", status_uri.into(), off, Some(json!({"status": "safe", "reason": "x"})), StatusCode::BAD_REQUEST, "status"),
        ("POST", status_uri.into(), off, Some(json!({"status": "suspected"})), StatusCode::BAD_REQUEST, "reason"),
        ("POST", status_uri.into(), off, Some(json!({"status": "suspected", "reason": "x"})), StatusCode::CONFLICT, "status"),
        ("POST", status_uri.into(), off, Some(json!({"status": "confirmed", "reason": "x", "evidence": {"kind": "sure"}})), StatusCode::BAD_REQUEST, "evidence.kind"),
        ("POST", "/api/areas/HA-999999/status".into(), off, Some(json!({"status": "suspected", "reason": "x"})), StatusCode::NOT_FOUND, "HA-999999"),
    ];
    let before = digest(&t);
    for (method, uri, token, body, status, field) in table {
        let r = call(&t, method, &uri, token, body.clone()).await;
        assert_eq!(r.status, status, "{method} {uri} {body:?}: {}", r.body);
        assert_eq!(
            r.ct, "application/problem+json",
            "{method} {uri}: {}",
            r.body
        );
        let detail = r.json()["detail"].as_str().unwrap_or("").to_string();
        assert!(
            detail.contains(field),
            "{method} {uri} {body:?}: detail {detail:?} does not name {field:?}"
        );
        assert_eq!(
            digest(&t),
            before,
            "{method} {uri} {body:?} changed the store"
        );
    }
    // Malformed JSON too.
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/releases")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.officer))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"area_id\": "))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(
        "192.0.2.10:40000".parse::<SocketAddr>().unwrap(),
    ));
    let r = router(t.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(digest(&t), before);
}
