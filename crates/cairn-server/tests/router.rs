//! In-process tests of every endpoint and error path through `router` with `oneshot` (no
//! socket): OGC API documents (snapshots), paging, filters, ETags, checks, tokens, and the
//! rule that the public never sees restricted values yet is warned of restricted areas.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn_core::{
    AreaProperties, Catalogue, Classification, DeviceGroup, Evidence, EvidenceKind, HazardArea,
    Shape, Status,
};
use cairn_server::{AppState, router};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, SqliteStore, Writer};
use geo_types::{Point, polygon};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const SECRETS: &[&str] = &[
    "HA-SECRET",
    "Secret emplacement",
    "Commander Bondar",
    "ap-mine-nonpersistent-48h",
    "36.5123",
    "\"quantity\"",
    "emplaced",
];

fn area(id: &str, status: Status, class: Classification, x: f64, name: &str) -> HazardArea {
    HazardArea {
        id: id.into(),
        shape: Shape::Polygon(
            polygon![(x: x, y: 49.9), (x: x + 0.01, y: 49.9), (x: x + 0.01, y: 49.91), (x: x, y: 49.91), (x: x, y: 49.9)],
        ),
        props: AreaProperties {
            name: Some(name.into()),
            status,
            classification: class,
            evidence: Some(Evidence {
                kind: EvidenceKind::Direct,
                description: Some("seen by Commander Bondar".replace(
                    "Commander Bondar",
                    if class == Classification::Restricted {
                        "Commander Bondar"
                    } else {
                        "a survey team"
                    },
                )),
                source: None,
            }),
            devices: vec![DeviceGroup {
                device_type: if class == Classification::Restricted {
                    "ap-mine-nonpersistent-48h".into()
                } else {
                    "uxo-projectile".into()
                },
                quantity: Some(12),
                emplaced_from: None,
                emplaced_to: Some("2026-10-02T00:00:00Z".parse().unwrap()),
                how_known: None,
            }],
            reference_points: vec![],
            marking: None,
            organisation: Some("Fictional Operator".into()),
            reported_at: Some("2026-10-05T00:00:00Z".parse().unwrap()),
            emplacement: None,
            extra: Default::default(),
        },
    }
}

struct T {
    _dir: tempfile::TempDir,
    state: AppState,
    officer: String,
    revoked: String,
}

fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    let mut tx = store
        .begin(ChangeMeta {
            author: "test".into(),
            reason: "fixture".into(),
            source: None,
        })
        .unwrap();
    for i in 0..25 {
        tx.put_area(&area(
            &format!("HA-{:06}", i + 1),
            if i % 2 == 0 {
                Status::Confirmed
            } else {
                Status::Suspected
            },
            Classification::Public,
            36.0 + i as f64 * 0.02,
            &format!("Field {i}"),
        ))
        .unwrap();
    }
    tx.put_area(&area(
        "HA-SECRET",
        Status::Confirmed,
        Classification::Restricted,
        36.5123,
        "Secret emplacement record",
    ))
    .unwrap();
    tx.put_area(&area(
        "HA-REPORTED",
        Status::Reported,
        Classification::Public,
        37.0,
        "Unverified report",
    ))
    .unwrap();
    tx.put_area(&area(
        "HA-CLEARED",
        Status::Cleared,
        Classification::Public,
        37.2,
        "Cleared field",
    ))
    .unwrap();
    let mut spot = area(
        "HA-SPOT",
        Status::Confirmed,
        Classification::Public,
        37.4,
        "Spot",
    );
    spot.shape = Shape::Spot {
        at: Point::new(37.4, 49.9),
        radius_m: 50.0,
    };
    tx.put_area(&spot).unwrap();
    tx.commit().unwrap();
    let (officer, _) = store
        .create_token("Olena", "officer", Some("IMO"), None)
        .unwrap();
    let (revoked, info) = store.create_token("Old", "officer", None, None).unwrap();
    store.revoke_token(info.id).unwrap();
    let state = AppState::new(store, Catalogue::builtin()).unwrap();
    T {
        _dir: dir,
        state,
        officer,
        revoked,
    }
}

async fn call(
    t: &T,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, String, axum::http::HeaderMap) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "cairn.test");
    if let Some(tok) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {tok}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let r = router(t.state.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        ct,
        String::from_utf8_lossy(&bytes).into_owned(),
        headers,
    )
}

async fn get_json(t: &T, uri: &str, token: Option<&str>) -> (StatusCode, String, Value) {
    let (s, ct, body, _) = call(t, "GET", uri, token, None).await;
    (s, ct, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn ogc_documents_match_their_snapshots_and_media_types() {
    let t = setup();
    let (s, ct, landing) = get_json(&t, "/ogc", None).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/json"));
    let desc = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "service-desc")
        .unwrap();
    assert_eq!(desc["type"], "application/vnd.oai.openapi+json;version=3.0");
    insta::assert_json_snapshot!("landing", landing);
    let (_, ct, conf) = get_json(&t, "/ogc/conformance", None).await;
    assert_eq!(ct, "application/json");
    insta::assert_json_snapshot!("conformance", conf);
    let (_, ct, cols) = get_json(&t, "/ogc/collections", None).await;
    assert_eq!(ct, "application/json");
    insta::assert_json_snapshot!("collections-public", cols, { ".collections[0].extent.temporal.interval" => "[interval]" });
    let (_, ct, api) = get_json(&t, "/ogc/api", None).await;
    assert_eq!(ct, "application/vnd.oai.openapi+json;version=3.0");
    insta::assert_json_snapshot!("openapi", api, { ".info.version" => "[version]" });
    let (s, ct, q) = get_json(&t, "/ogc/collections/hazardous-areas/queryables", None).await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::OK, "application/schema+json")
    );
    assert!(
        q["properties"]["status"].is_object() && q["properties"].get("classification").is_none()
    );
}

#[tokio::test]
async fn items_page_with_next_links_and_counts() {
    let t = setup();
    let (s, ct, page) = get_json(&t, "/ogc/collections/hazardous-areas/items?limit=10", None).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/geo+json"));
    // 25 public open areas, the spot, the reported area (a known danger warns) and one zone for
    // the restricted area; not the cleared field.
    assert_eq!(page["numberMatched"], 28);
    assert_eq!(page["numberReturned"], 10);
    let next = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        next.starts_with("http://cairn.test/ogc/collections/hazardous-areas/items?")
            && next.contains("offset=10"),
        "{next}"
    );
    let mut seen = Vec::new();
    let mut uri = "/ogc/collections/hazardous-areas/items?limit=10".to_string();
    loop {
        let (_, _, p) = get_json(&t, &uri, None).await;
        for f in p["features"].as_array().unwrap() {
            seen.push(f["id"].as_str().unwrap().to_string());
        }
        match p["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(l) => {
                uri = l["href"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("http://cairn.test")
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 28);
    assert!(seen.iter().any(|id| id.starts_with("zone-")));
    assert!(seen.contains(&"HA-REPORTED".to_string()) && !seen.contains(&"HA-CLEARED".to_string()));
    // An officer sees every record, restricted included.
    let (_, _, all) = get_json(
        &t,
        "/ogc/collections/hazardous-areas/items?limit=100",
        Some(&t.officer),
    )
    .await;
    assert_eq!(all["numberMatched"], 29);
    // bbox and datetime narrow the set.
    let (_, _, b) = get_json(
        &t,
        "/ogc/collections/hazardous-areas/items?bbox=36.0,49.89,36.05,49.92",
        None,
    )
    .await;
    let ids: Vec<&str> = b["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["HA-000001", "HA-000002", "HA-000003"]);
    let (_, _, d) = get_json(
        &t,
        "/ogc/collections/hazardous-areas/items?datetime=2026-10-06T00:00:00Z/..",
        None,
    )
    .await;
    assert_eq!(
        d["numberMatched"], 0,
        "every record was reported on 2026-10-05; a zone has no time of its own"
    );
    // `datetime` is each record's reported_at: the records reported then, and no danger zone
    // (whose only date, the moment it was shown, would match any recent interval).
    let (_, _, d) = get_json(
        &t,
        "/ogc/collections/hazardous-areas/items?datetime=2026-10-05T00:00:00Z&limit=100",
        None,
    )
    .await;
    let kinds: Vec<&str> = d["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["kind"].as_str().unwrap())
        .collect();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| *k == "hazardous-area"),
        "{kinds:?}"
    );
    assert_eq!(
        d["numberMatched"].as_u64(),
        Some(kinds.len() as u64),
        "every public record reported on that day"
    );
    // A date alone is the whole day (its first moment as a start, its last as an end), also in
    // the form GDAL 3.6 sends (`2026-10-05T`).
    for q in [
        "2026-10-05",
        "2026-10-05T/..",
        "../2026-10-05",
        "2026-10-05/2026-10-05T",
    ] {
        let (s, _, e) = get_json(
            &t,
            &format!("/ogc/collections/hazardous-areas/items?datetime={q}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{q}: {e}");
        assert_eq!(e["numberMatched"], d["numberMatched"], "{q}");
    }
}

#[tokio::test]
async fn single_item_has_an_etag_and_honours_if_none_match() {
    let t = setup();
    let (s, ct, body, h) = call(
        &t,
        "GET",
        "/ogc/collections/hazardous-areas/items/HA-000003",
        None,
        None,
    )
    .await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/geo+json"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["id"], "HA-000003");
    let etag = h.get(header::ETAG).unwrap().to_str().unwrap().to_string();
    let req = Request::builder()
        .uri("/ogc/collections/hazardous-areas/items/HA-000003")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let r = router(t.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    // The restricted record is not an item for the public, though its zone is.
    let (s, ct, _, _) = call(
        &t,
        "GET",
        "/ogc/collections/hazardous-areas/items/HA-SECRET",
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    let (s, _, _, _) = call(
        &t,
        "GET",
        "/ogc/collections/hazardous-areas/items/HA-SECRET",
        Some(&t.officer),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn every_error_is_a_problem_naming_the_parameter() {
    let t = setup();
    let cases: &[(&str, &str, Option<Value>, StatusCode, &str)] = &[
        (
            "GET",
            "/ogc/collections/nope",
            None,
            StatusCode::NOT_FOUND,
            "nope",
        ),
        (
            "GET",
            "/ogc/collections/nope/items",
            None,
            StatusCode::NOT_FOUND,
            "nope",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?limit=0",
            None,
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?limit=ten",
            None,
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?offset=-1",
            None,
            StatusCode::BAD_REQUEST,
            "offset",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?bbox=1,2,3",
            None,
            StatusCode::BAD_REQUEST,
            "bbox",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?bbox=10,50,5,40",
            None,
            StatusCode::BAD_REQUEST,
            "bbox",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?datetime=yesterday",
            None,
            StatusCode::BAD_REQUEST,
            "datetime",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?colour=red",
            None,
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?filter-lang=ecql",
            None,
            StatusCode::BAD_REQUEST,
            "filter-lang",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?filter-lang=cql2-json&filter=%7B%22op%22%3A%22%3D%22%7D",
            None,
            StatusCode::BAD_REQUEST,
            "parameter filter: the operation \"=\" needs \"args\", an array (at JSON Pointer /args)",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?filter=S_INTERSECTS(geometry,%20POINT(36))",
            None,
            StatusCode::BAD_REQUEST,
            "parameter filter: unexpected ')' at character offset 31, where a latitude after the longitude was expected",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?filter=S_INTERSECTS(geometry,%20POINT(36%2049))&filter-crs=http://www.opengis.net/def/crs/EPSG/0/4326",
            None,
            StatusCode::BAD_REQUEST,
            "filter-crs",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?sortby=colour",
            None,
            StatusCode::BAD_REQUEST,
            "parameter sortby: \"colour\" is not a sortable property",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?sortby=name,,status",
            None,
            StatusCode::BAD_REQUEST,
            "parameter sortby: key 2",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?sortby=classification",
            None,
            StatusCode::BAD_REQUEST,
            "parameter sortby: \"classification\" is not a sortable property",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items?geometry=POINT(36%2049)",
            None,
            StatusCode::BAD_REQUEST,
            "parameter geometry",
        ),
        (
            "GET",
            "/ogc/collections/nope/sortables",
            None,
            StatusCode::NOT_FOUND,
            "nope",
        ),
        (
            "GET",
            "/ogc/collections/hazardous-areas/items/HA-404",
            None,
            StatusCode::NOT_FOUND,
            "HA-404",
        ),
        (
            "GET",
            "/api/check/point?lat=49.9",
            None,
            StatusCode::BAD_REQUEST,
            "lon",
        ),
        (
            "GET",
            "/api/check/point?lon=abc&lat=49.9",
            None,
            StatusCode::BAD_REQUEST,
            "lon",
        ),
        (
            "GET",
            "/api/check/point?lon=36&lat=95",
            None,
            StatusCode::BAD_REQUEST,
            "lat",
        ),
        (
            "GET",
            "/api/check/point?lon=36&lat=49&accuracy=-5",
            None,
            StatusCode::BAD_REQUEST,
            "accuracy",
        ),
        (
            "GET",
            "/api/check/point?lon=36&lat=49&at=2000-01-01T00:00:00Z",
            None,
            StatusCode::BAD_REQUEST,
            "at",
        ),
        (
            "POST",
            "/api/check/route",
            Some(serde_json::json!({"type": "Point", "coordinates": [36, 49]})),
            StatusCode::BAD_REQUEST,
            "LineString",
        ),
        (
            "POST",
            "/api/check/route",
            Some(serde_json::json!({"type": "LineString", "coordinates": [[36, 49]]})),
            StatusCode::BAD_REQUEST,
            "geometry.coordinates",
        ),
        (
            "POST",
            "/api/check/route?width=0",
            Some(serde_json::json!({"type": "LineString", "coordinates": [[36, 49], [36.1, 49]]})),
            StatusCode::BAD_REQUEST,
            "width",
        ),
        (
            "POST",
            "/api/check/route",
            Some(serde_json::json!({"type": "LineString", "coordinates": [[36, 49], [37, "x"]]})),
            StatusCode::BAD_REQUEST,
            "coordinates[1]",
        ),
        (
            "GET",
            "/no/such/page",
            None,
            StatusCode::NOT_FOUND,
            "/no/such/page",
        ),
    ];
    for (method, uri, body, status, needle) in cases {
        let (s, ct, text, _) = call(&t, method, uri, None, body.clone()).await;
        assert_eq!(s, *status, "{method} {uri}: {text}");
        assert_eq!(ct, "application/problem+json", "{method} {uri}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["status"], status.as_u16());
        assert!(
            v["detail"].as_str().unwrap().contains(needle),
            "{method} {uri}: {text}"
        );
    }
    // A body that is not JSON, and one too large.
    let req = Request::builder()
        .method("POST")
        .uri("/api/check/route")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let r = router(t.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let big = format!(
        "{{\"type\":\"LineString\",\"coordinates\":[{}[36,49]]}}",
        "[36,49],".repeat(200_000)
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/check/route")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .unwrap();
    let r = router(t.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn tokens_give_roles_and_bad_tokens_are_refused() {
    let t = setup();
    for tok in ["cairn_not_a_token", t.revoked.as_str()] {
        let (s, ct, _, h) = call(
            &t,
            "GET",
            "/ogc/collections/hazardous-areas/items",
            Some(tok),
            None,
        )
        .await;
        assert_eq!(
            (s, ct.as_str()),
            (StatusCode::UNAUTHORIZED, "application/problem+json")
        );
        assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer realm=\"Cairn\"");
    }
    let (s, _, q) = get_json(
        &t,
        "/ogc/collections/hazardous-areas/queryables",
        Some(&t.officer),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(q["properties"]["classification"].is_object());
}

/// An items request with this `Authorization` header: its status and how many features it shows.
async fn items_with(t: &T, authorization: &str) -> (StatusCode, u64) {
    let req = Request::builder()
        .uri("/ogc/collections/hazardous-areas/items")
        .header(header::HOST, "cairn.test")
        .header(header::AUTHORIZATION, authorization)
        .body(Body::empty())
        .unwrap();
    let r = router(t.state.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    (status, v["numberMatched"].as_u64().unwrap_or(0))
}

/// QGIS and GDAL log in with HTTP Basic, the token as the password (any user name); the scheme
/// is case-insensitive; a wrong password is the same 401 as a wrong bearer token.
#[tokio::test]
async fn basic_credentials_with_the_token_as_password_log_in() {
    use base64::Engine as _;
    let t = setup();
    let basic = |user: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    let (s, public) = items_with(&t, "bearer ").await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "an empty bearer token is refused"
    );
    let (s, officer) = items_with(&t, &format!("Bearer {}", t.officer)).await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, anonymous) = get_json(&t, "/ogc/collections/hazardous-areas/items", None).await;
    assert!(
        officer > anonymous["numberMatched"].as_u64().unwrap(),
        "the officer sees restricted records the public does not ({officer})"
    );
    assert_eq!(public, 0);
    for header in [
        basic("olena", &t.officer),
        basic("", &t.officer),
        basic("olena", &t.officer).replace("Basic", "BASIC"),
        format!("bEaReR {}", t.officer),
    ] {
        assert_eq!(
            items_with(&t, &header).await,
            (StatusCode::OK, officer),
            "{header} gives the officer's view"
        );
    }
    for header in [
        basic("olena", "cairn_not_a_token"),
        basic("olena", &t.revoked),
        "Basic not-base64!".to_string(),
        format!("Token {}", t.officer),
    ] {
        assert_eq!(
            items_with(&t, &header).await.0,
            StatusCode::UNAUTHORIZED,
            "{header} is refused"
        );
    }
}

#[tokio::test]
async fn checks_warn_the_public_of_restricted_areas_without_revealing_them() {
    let t = setup();
    // Inside the restricted area: the public is told "danger" by a zone.
    let (s, _, v) = get_json(&t, "/api/check/point?lon=36.515&lat=49.905", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["inside"][0]["status"], "danger-zone");
    assert!(v["inside"][0]["id"].as_str().unwrap().starts_with("zone-"));
    assert_eq!(v["advice"]["danger"], true);
    assert!(v["advice"]["uk"].as_str().unwrap().contains("НЕБЕЗПЕКА"));
    // An officer gets the record itself.
    let (_, _, v) = get_json(
        &t,
        "/api/check/point?lon=36.515&lat=49.905",
        Some(&t.officer),
    )
    .await;
    assert_eq!(v["inside"][0]["id"], "HA-SECRET");
    // A public area, the spot hazard, and a place near nothing.
    let (_, _, v) = get_json(&t, "/api/check/point?lon=36.005&lat=49.905", None).await;
    assert_eq!(
        v["inside"][0],
        serde_json::json!({"id": "HA-000001", "status": "confirmed"})
    );
    let (_, _, v) = get_json(
        &t,
        "/api/check/point?lon=37.4003&lat=49.9&accuracy=10",
        None,
    )
    .await;
    assert_eq!(v["inside"][0]["id"], "HA-SPOT");
    let (_, _, v) = get_json(&t, "/api/check/point?lon=30.0&lat=46.0", None).await;
    assert!(v["nearest"].is_null() && v["advice"]["danger"] == false);
    assert!(
        v["advice"]["en"]
            .as_str()
            .unwrap()
            .contains("does not mean the place is safe")
    );
    // A route through the first fields.
    let (s, _, text, _) = call(&t, "POST", "/api/check/route?width=20", None, Some(serde_json::json!({"type": "LineString", "coordinates": [[35.99, 49.905], [36.07, 49.905]]}))).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = v["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["HA-000001", "HA-000002", "HA-000003", "HA-000004"]);
    assert!(v["at_risk_m"].as_f64().unwrap() > 4.0 * 700.0);
}

#[tokio::test]
async fn no_public_response_contains_a_restricted_value() {
    let t = setup();
    // A report from the public is restricted: its words, place and photo never come back to
    // the public, and neither does the reported area an officer opens from it.
    let mut bodies = Vec::new();
    let (s, _, body, _) = call(
        &t,
        "POST",
        "/api/reports",
        None,
        Some(serde_json::json!({"lon": 36.5123, "lat": 49.905, "category": "mine", "description": "Commander Bondar's men laid something here; Secret emplacement"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let reference = serde_json::from_str::<Value>(&body).unwrap()["reference"]
        .as_str()
        .unwrap()
        .to_string();
    bodies.push(("POST /api/reports".to_string(), body));
    let (s, _, body, _) = call(
        &t,
        "POST",
        &format!("/api/reports/{reference}/triage"),
        Some(&t.officer),
        Some(serde_json::json!({"action": "open"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for u in [
        "/api/reports".to_string(),
        "/api/reports?state=all".to_string(),
        format!("/api/reports/{reference}"),
    ] {
        let (s, _, body, _) = call(&t, "GET", &u, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{u}");
        bodies.push((u, body));
    }
    let uris = [
        "/ogc",
        "/ogc/conformance",
        "/ogc/api",
        "/ogc/collections",
        "/ogc/collections/hazardous-areas",
        "/ogc/collections/hazardous-areas/queryables",
        "/ogc/collections/hazardous-areas/items?limit=10000",
        "/ogc/collections/hazardous-areas/items?bbox=36.4,49.8,36.6,50.0",
        "/api/check/point?lon=36.515&lat=49.905&accuracy=100",
        "/api/check/point?lon=36.49&lat=49.905",
        "/health",
        "/metrics",
    ];
    for u in uris {
        let (s, _, body, _) = call(&t, "GET", u, None, None).await;
        assert_eq!(s, StatusCode::OK, "{u}");
        bodies.push((u.to_string(), body));
    }
    let (_, _, zones) = get_json(
        &t,
        "/ogc/collections/hazardous-areas/items?limit=10000",
        None,
    )
    .await;
    for f in zones["features"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        let (s, _, body, _) = call(
            &t,
            "GET",
            &format!("/ogc/collections/hazardous-areas/items/{id}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        bodies.push((id.to_string(), body));
    }
    let (_, _, body, _) = call(&t, "POST", "/api/check/route?width=500", None, Some(serde_json::json!({"type": "LineString", "coordinates": [[36.4, 49.905], [36.6, 49.905]]}))).await;
    bodies.push(("route".into(), body));
    for (u, body) in &bodies {
        for s in SECRETS {
            assert!(!body.contains(s), "{u} leaks {s:?}");
        }
    }
    // And the officer's answers do contain them, so the test can see a leak.
    let (_, _, body, _) = call(
        &t,
        "GET",
        "/ogc/collections/hazardous-areas/items?limit=10000",
        Some(&t.officer),
        None,
    )
    .await;
    assert!(SECRETS.iter().all(|s| body.contains(s)), "{body}");
}

#[tokio::test]
async fn health_and_metrics() {
    let t = setup();
    let (s, _, h) = get_json(&t, "/health", None).await;
    assert_eq!((s, h["status"].as_str()), (StatusCode::OK, Some("ok")));
    // Counts of records and the change number are for callers with a token.
    assert!(h.get("areas").is_none() && h.get("change").is_none(), "{h}");
    let (_, _, h) = get_json(&t, "/health", Some(&t.officer)).await;
    assert_eq!(h["areas"], 29);
    call(&t, "GET", "/api/check/point?lon=36&lat=49", None, None).await;
    let (_, ct, text, _) = call(&t, "GET", "/metrics", None, None).await;
    assert!(ct.starts_with("text/plain"));
    assert!(text.contains("# TYPE cairn_http_requests_total counter"));
    assert!(text.contains("cairn_point_checks_total 1"), "{text}");
    assert!(!text.contains("cairn_areas"), "{text}");
    let (_, _, text, _) = call(&t, "GET", "/metrics", Some(&t.officer), None).await;
    assert!(text.contains("cairn_areas 29"), "{text}");
}

#[tokio::test]
async fn items_filter_with_basic_cql2_text() {
    let t = setup();
    let enc = |s: &str| {
        s.replace(' ', "%20")
            .replace('\'', "%27")
            .replace('=', "%3D")
            .replace('<', "%3C")
            .replace('>', "%3E")
    };
    let (s, _, v) = get_json(
        &t,
        &format!(
            "/ogc/collections/hazardous-areas/items?limit=100&filter-lang=cql2-text&filter={}",
            enc("status = 'suspected'")
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["numberMatched"], 12);
    let (_, _, v) = get_json(
        &t,
        &format!(
            "/ogc/collections/hazardous-areas/items?filter={}",
            enc("kind = 'danger-zone' OR name = 'Field 3'")
        ),
        None,
    )
    .await;
    assert_eq!(v["numberMatched"], 2);
    let (_, _, v) = get_json(
        &t,
        &format!(
            "/ogc/collections/hazardous-areas/items?filter={}",
            enc("reported_at < TIMESTAMP('2026-10-04T00:00:00Z')")
        ),
        None,
    )
    .await;
    assert_eq!(v["numberMatched"], 0);
    // A property the public may not query is an error naming it.
    let (s, ct, v) = get_json(
        &t,
        &format!(
            "/ogc/collections/hazardous-areas/items?filter={}",
            enc("classification = 'restricted'")
        ),
        None,
    )
    .await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::BAD_REQUEST, "application/problem+json")
    );
    assert!(
        v["detail"].as_str().unwrap().contains("classification"),
        "{v}"
    );
    let (_, _, v) = get_json(
        &t,
        &format!(
            "/ogc/collections/hazardous-areas/items?limit=100&filter={}",
            enc("classification = 'restricted'")
        ),
        Some(&t.officer),
    )
    .await;
    assert_eq!(v["features"][0]["id"], "HA-SECRET");
    assert_eq!(v["numberMatched"], 1);
}

fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
    (x, y)
}

#[tokio::test]
async fn tiles_and_tilejson() {
    let t = setup();
    let (s, ct, tj) = get_json(&t, "/tiles.json", None).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["tiles"][0], "http://cairn.test/tiles/{z}/{x}/{y}.mvt");
    assert_eq!(tj["vector_layers"][0]["id"], "hazards");
    for z in [6u8, 10, 14] {
        let (x, y) = tile_of(36.005, 49.905, z);
        let (s, ct, body, _) =
            call(&t, "GET", &format!("/tiles/{z}/{x}/{y}.mvt"), None, None).await;
        assert_eq!(
            (s, ct.as_str()),
            (StatusCode::OK, "application/vnd.mapbox-vector-tile"),
            "z{z}"
        );
        assert!(
            body.contains("hazards") && body.contains("confirmed"),
            "z{z} tile holds the layer and a status"
        );
        // The restricted area's tile shows a zone, never its record.
        let (x, y) = tile_of(36.515, 49.905, z);
        let (_, _, public, _) =
            call(&t, "GET", &format!("/tiles/{z}/{x}/{y}.mvt"), None, None).await;
        assert!(public.contains("hazards"), "z{z}: the zone is drawn");
        for s in SECRETS {
            assert!(!public.contains(s), "z{z} public tile leaks {s:?}");
        }
        if z == 14 {
            assert!(public.contains("danger-zone"));
            let (_, _, officer, _) = call(
                &t,
                "GET",
                &format!("/tiles/{z}/{x}/{y}.mvt"),
                Some(&t.officer),
                None,
            )
            .await;
            assert!(
                officer.contains("HA-SECRET"),
                "the officer's tile shows the record"
            );
        }
    }
    for (uri, needle) in [
        ("/tiles/17/0/0.mvt", "zoom"),
        ("/tiles/3/8/0.mvt", "x"),
        ("/tiles/3/0/9.mvt", "y"),
        ("/tiles/a/0/0.mvt", "z"),
        ("/tiles/3/0/0.png", "mvt"),
    ] {
        let (s, ct, body, _) = call(&t, "GET", uri, None, None).await;
        assert!(s.is_client_error(), "{uri}");
        assert_eq!(ct, "application/problem+json");
        assert!(body.contains(needle), "{uri}: {body}");
    }
}

/// A request with these headers: status and headers, and the body's bytes as sent.
async fn raw(
    t: &T,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "cairn.test");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = router(t.state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let h = r.headers().clone();
    (
        status,
        h,
        r.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

fn vary_has(h: &axum::http::HeaderMap, name: &str) -> bool {
    h.get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(name))
}

/// A shared cache can never give the public an officer's tile: every answer varies on
/// `Authorization`, and an answer to a request with credentials is never `public`.
#[tokio::test]
async fn answers_that_depend_on_the_caller_are_never_public_in_a_shared_cache() {
    let t = setup();
    let (x, y) = tile_of(36.515, 49.905, 14);
    let tile = format!("/tiles/14/{x}/{y}.mvt");
    let bearer = format!("Bearer {}", t.officer);
    for uri in [
        tile.as_str(),
        "/tiles.json",
        "/ogc/collections/hazardous-areas/items",
        "/api/check/point?lon=36.515&lat=49.905",
    ] {
        let (s, public, _) = raw(&t, "GET", uri, &[]).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert!(
            vary_has(&public, "authorization"),
            "{uri}: the public's answer varies on Authorization: {public:?}"
        );
        let (s, officer, _) = raw(&t, "GET", uri, &[("authorization", &bearer)]).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert!(vary_has(&officer, "authorization"), "{uri}: {officer:?}");
        if let Some(cc) = officer.get(header::CACHE_CONTROL) {
            let cc = cc.to_str().unwrap().to_ascii_lowercase();
            assert!(
                !cc.contains("public") && !cc.contains("s-maxage"),
                "{uri}: an officer's answer is cacheable by a shared cache: {cc}"
            );
        }
    }
    // The tile keeps its own freshness for the public, and becomes private for the officer.
    let (_, public, _) = raw(&t, "GET", &tile, &[]).await;
    assert_eq!(public[header::CACHE_CONTROL], "public, max-age=60");
    let (_, officer, _) = raw(&t, "GET", &tile, &[("authorization", &bearer)]).await;
    assert_eq!(officer[header::CACHE_CONTROL], "private, max-age=60");
}

/// A web map on another origin may read the API (CORS, every origin by default, never with
/// credentials mode), and a preflight for an edit is answered.
#[tokio::test]
async fn another_origin_may_use_the_api_without_credentials_mode() {
    let t = setup();
    let origin = ("origin", "https://map.example.org");
    let (s, h, _) = raw(
        &t,
        "GET",
        "/ogc/collections/hazardous-areas/items",
        &[origin],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));
    let (s, h, _) = raw(
        &t,
        "OPTIONS",
        "/ogc/collections/hazardous-areas/items/HA-000001",
        &[
            origin,
            ("access-control-request-method", "PATCH"),
            (
                "access-control-request-headers",
                "authorization, if-match, content-type",
            ),
        ],
    )
    .await;
    assert!(s.is_success(), "{s}");
    let methods = h[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap();
    assert!(methods.contains("PATCH"), "{methods}");
    let allowed = h[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["authorization", "if-match", "content-type"] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));
}

/// Pages of items are sent gzip- or br-compressed when the client accepts it, and decompress
/// to exactly the uncompressed answer; a small place check is sent as it is.
#[tokio::test]
async fn large_answers_are_compressed_when_the_client_accepts_it() {
    use std::io::Read as _;
    let t = setup();
    let uri = "/ogc/collections/hazardous-areas/items?limit=100";
    let (_, plain_h, plain) = raw(
        &t,
        "GET",
        uri,
        &[("authorization", &format!("Bearer {}", t.officer))],
    )
    .await;
    assert!(!plain_h.contains_key(header::CONTENT_ENCODING));
    assert!(
        plain.len() > conventions_threshold(),
        "the page is large enough to compress: {} bytes",
        plain.len()
    );
    let (_, h, gz) = raw(
        &t,
        "GET",
        uri,
        &[
            ("authorization", &format!("Bearer {}", t.officer)),
            ("accept-encoding", "gzip"),
        ],
    )
    .await;
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert!(vary_has(&h, "accept-encoding"));
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    // The same page (but for its `timeStamp`, the moment it was answered).
    let page = |b: &[u8]| {
        let mut v: Value = serde_json::from_slice(b).expect("a JSON page");
        v.as_object_mut().unwrap().remove("timeStamp");
        v
    };
    assert!(
        page(&unzipped) == page(&plain),
        "gzip gives back the same page"
    );
    assert!(gz.len() < plain.len());
    let (_, h, _) = raw(&t, "GET", uri, &[("accept-encoding", "br")]).await;
    assert_eq!(h[header::CONTENT_ENCODING], "br");
    let (_, h, small) = raw(
        &t,
        "GET",
        "/api/check/point?lon=30&lat=50",
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert!(small.len() < conventions_threshold());
    assert!(
        !h.contains_key(header::CONTENT_ENCODING),
        "a small answer is sent as it is"
    );
}

fn conventions_threshold() -> usize {
    cairn_server::conventions::COMPRESS_ABOVE as usize
}

/// A `limit` above the most served is served at the most, not refused (OGC API – Features
/// Part 1, /req/core/fc-limit-response-1), and the page's links carry the limit used.
#[tokio::test]
async fn a_limit_above_the_most_served_is_capped() {
    let t = setup();
    let (s, _, page) = get_json(
        &t,
        "/ogc/collections/hazardous-areas/items?limit=100001",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let (_, _, all) = get_json(
        &t,
        "/ogc/collections/hazardous-areas/items?limit=10000",
        None,
    )
    .await;
    assert_eq!(page["numberReturned"], all["numberReturned"]);
    let own = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .unwrap();
    assert!(
        own["href"].as_str().unwrap().contains("limit=10000"),
        "{own}"
    );
}

/// Tiles and TileJSON carry an ETag and Last-Modified; a client that holds the tile gets 304,
/// and the officer's tile of a restricted area has another tag than the public's.
#[tokio::test]
async fn tiles_and_tilejson_are_revalidated_with_etags() {
    let t = setup();
    let (x, y) = tile_of(36.515, 49.905, 14);
    let tile = format!("/tiles/14/{x}/{y}.mvt");
    let bearer = format!("Bearer {}", t.officer);
    for uri in [tile.as_str(), "/tiles.json"] {
        let (s, h, body) = raw(&t, "GET", uri, &[]).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert!(!body.is_empty());
        let etag = h[header::ETAG].to_str().unwrap().to_string();
        assert!(h.contains_key(header::LAST_MODIFIED), "{uri}: {h:?}");
        let (s, h2, body) = raw(&t, "GET", uri, &[("if-none-match", &etag)]).await;
        assert_eq!(s, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(body.is_empty(), "{uri}: a 304 has no body");
        assert_eq!(h2[header::ETAG], etag.as_str());
        let (s, _, _) = raw(&t, "GET", uri, &[("if-none-match", "\"t0-0\"")]).await;
        assert_eq!(s, StatusCode::OK, "{uri}: another tag gets the tile");
        let (s, officer, _) = raw(
            &t,
            "GET",
            uri,
            &[("authorization", &bearer), ("if-none-match", &etag)],
        )
        .await;
        assert_eq!(
            s,
            StatusCode::OK,
            "{uri}: the officer's view is another representation"
        );
        assert_ne!(officer[header::ETAG], etag.as_str(), "{uri}");
    }
}

/// Queryables as query parameters (declared in conformance, so implemented): `status=confirmed`
/// selects what the filter `status = 'confirmed'` selects, ANDs with a filter, is carried in the
/// paging links, and an unknown parameter or a value of the wrong type is refused naming it.
#[tokio::test]
async fn queryables_are_query_parameters() {
    let t = setup();
    let items = "/ogc/collections/hazardous-areas/items";
    let ids = |v: &Value| -> Vec<String> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, _, by_param) = get_json(&t, &format!("{items}?status=confirmed&limit=2"), None).await;
    assert_eq!(s, StatusCode::OK, "{by_param}");
    let (_, _, by_filter) = get_json(
        &t,
        &format!("{items}?filter=status%20%3D%20%27confirmed%27&limit=2"),
        None,
    )
    .await;
    assert_eq!(ids(&by_param), ids(&by_filter));
    assert_eq!(by_param["numberMatched"], by_filter["numberMatched"]);
    assert!(by_param["numberMatched"].as_u64().unwrap() >= 1);
    let next = by_param["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next");
    if let Some(next) = next {
        assert!(
            next["href"].as_str().unwrap().contains("status=confirmed"),
            "{next}"
        );
    }
    let (_, _, both) = get_json(
        &t,
        &format!("{items}?status=confirmed&filter=status%20%3D%20%27suspected%27"),
        None,
    )
    .await;
    assert_eq!(
        both["numberMatched"], 0,
        "the parameter is ANDed with the filter"
    );
    let (s, _, e) = get_json(&t, &format!("{items}?colour=red"), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["detail"].as_str().unwrap().contains("colour"), "{e}");
    let (s, _, e) = get_json(&t, &format!("{items}?reported_at=yesterday"), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["detail"].as_str().unwrap().contains("reported_at"), "{e}");
    // The public may not filter on what it is not shown.
    let (s, _, _) = get_json(&t, &format!("{items}?classification=restricted"), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// Percent-encodes a query value (everything but unreserved characters).
fn q(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The ids of a page.
fn ids_of(v: &Value) -> Vec<String> {
    v["features"]
        .as_array()
        .unwrap_or_else(|| panic!("no features in {v}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids a CQL2 text filter selects, for the public or an officer.
async fn selected(t: &T, filter: &str, token: Option<&str>) -> Vec<String> {
    let (s, _, v) = get_json(
        t,
        &format!(
            "/ogc/collections/hazardous-areas/items?limit=1000&filter={}",
            q(filter)
        ),
        token,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{filter}: {v}");
    assert_eq!(v["numberMatched"], v["numberReturned"], "{filter}");
    ids_of(&v)
}

/// Each spatial function against known features: HA-000001 is the square 36.0–36.01 ×
/// 49.9–49.91, HA-000002 the same 0.02° east, HA-SPOT a spot of 50 m at (37.4, 49.9).
#[tokio::test]
async fn spatial_functions_select_by_each_hazards_footprint() {
    let t = setup();
    let one = vec!["HA-000001".to_string()];
    for (filter, expected) in [
        ("S_INTERSECTS(geometry, POINT(36.005 49.905))", one.clone()),
        ("S_CONTAINS(geometry, POINT(36.005 49.905))", one.clone()),
        ("S_WITHIN(POINT(36.005 49.905), geometry)", one.clone()),
        (
            "S_WITHIN(geometry, BBOX(35.99, 49.89, 36.025, 49.92))",
            one.clone(),
        ),
        (
            "S_EQUALS(geometry, POLYGON((36 49.9, 36.01 49.9, 36.01 49.91, 36 49.91, 36 49.9)))",
            one.clone(),
        ),
        (
            "S_TOUCHES(geometry, LINESTRING(36.01 49.8, 36.01 49.95))",
            one.clone(),
        ),
        (
            "S_OVERLAPS(geometry, BBOX(36.005, 49.905, 36.015, 49.95))",
            one.clone(),
        ),
        (
            "S_CROSSES(geometry, LINESTRING(35.99 49.905, 36.005 49.905))",
            one.clone(),
        ),
        (
            "S_INTERSECTS(geometry, MULTIPOINT((36.005 49.905), (36.025 49.905)))",
            vec!["HA-000001".to_string(), "HA-000002".to_string()],
        ),
        (
            "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(36.005 49.905), LINESTRING(36.02 49.8, 36.02 49.95)))",
            vec!["HA-000001".to_string(), "HA-000002".to_string()],
        ),
        (
            "S_INTERSECTS(geometry, MULTIPOLYGON(((36.001 49.901, 36.002 49.901, 36.002 49.902, 36.001 49.901))))",
            one.clone(),
        ),
        ("S_INTERSECTS(geometry, POINT(30 45))", vec![]),
        (
            "status = 'suspected' AND S_INTERSECTS(geometry, BBOX(35.99, 49.89, 36.035, 49.92))",
            vec!["HA-000002".to_string()],
        ),
    ] {
        assert_eq!(selected(&t, filter, None).await, expected, "{filter}");
    }
    // S_DISJOINT is the rest.
    let all = selected(&t, "TRUE", None).await;
    let disjoint = selected(&t, "S_DISJOINT(geometry, BBOX(35, 49, 36.015, 50))", None).await;
    assert_eq!(disjoint.len(), all.len() - 1);
    assert!(!disjoint.contains(&one[0]));
    // A spot whose centre is outside the query polygon but whose outline reaches into it: the
    // polygon starts 28 m east of the centre of a spot of 50 m.
    let near = "S_INTERSECTS(geometry, POLYGON((37.4004 49.899, 37.41 49.899, 37.41 49.901, 37.4004 49.901, 37.4004 49.899)))";
    assert_eq!(selected(&t, near, None).await, ["HA-SPOT"]);
    assert!(
        selected(&t, "S_CONTAINS(geometry, POINT(37.4004 49.9))", None)
            .await
            .contains(&"HA-SPOT".to_string())
    );
    // 57 m east of the centre, it is missed.
    let far = "S_INTERSECTS(geometry, POLYGON((37.4008 49.899, 37.41 49.899, 37.41 49.901, 37.4008 49.901, 37.4008 49.899)))";
    assert!(selected(&t, far, None).await.is_empty());
    // The officer's view tests the same footprints.
    assert_eq!(selected(&t, near, Some(&t.officer)).await, ["HA-SPOT"]);
}

/// A spatial filter on the public view reads the public features alone: a box on the restricted
/// record inside a danger zone answers what a box elsewhere in the zone answers (the zone), and
/// never the record; an officer gets the record.
#[tokio::test]
async fn a_spatial_filter_cannot_probe_for_a_restricted_record_inside_a_danger_zone() {
    use geo::{Contains, Intersects};
    let t = setup();
    let (_, _, zones) = get_json(
        &t,
        &format!(
            "/ogc/collections/hazardous-areas/items?filter={}",
            q("kind = 'danger-zone'")
        ),
        None,
    )
    .await;
    let zone = &zones["features"][0];
    let zone_id = zone["id"].as_str().unwrap().to_string();
    let rings: Vec<Vec<Vec<f64>>> =
        serde_json::from_value(zone["geometry"]["coordinates"][0].clone()).unwrap();
    let ring = |r: &Vec<Vec<f64>>| -> geo_types::LineString<f64> {
        r.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>().into()
    };
    let zone_polygon =
        geo_types::Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect());
    // The restricted record is 36.5123–36.5223 × 49.9–49.91; find a place of the zone at least
    // 0.002° (150 m) away from it.
    let away = geo_types::Rect::new(
        geo_types::Coord {
            x: 36.5103,
            y: 49.898,
        },
        geo_types::Coord {
            x: 36.5243,
            y: 49.912,
        },
    );
    let bounds = geo::BoundingRect::bounding_rect(&zone_polygon).unwrap();
    let elsewhere = (0..2500)
        .map(|i| {
            geo_types::Point::new(
                bounds.min().x + bounds.width() * (i % 50) as f64 / 50.0,
                bounds.min().y + bounds.height() * (i / 50) as f64 / 50.0,
            )
        })
        .find(|p| zone_polygon.contains(p) && !away.intersects(p))
        .expect("a place in the zone away from the record");
    let tiny = |x: f64, y: f64| {
        format!(
            "S_INTERSECTS(geometry, BBOX({}, {}, {}, {}))",
            x - 1e-5,
            y - 1e-5,
            x + 1e-5,
            y + 1e-5
        )
    };
    let on_record = tiny(36.517, 49.905);
    let off_record = tiny(elsewhere.x(), elsewhere.y());
    for filter in [&on_record, &off_record] {
        let (_, _, body, _) = call(
            &t,
            "GET",
            &format!(
                "/ogc/collections/hazardous-areas/items?filter={}",
                q(filter)
            ),
            None,
            None,
        )
        .await;
        for secret in SECRETS {
            assert!(!body.contains(secret), "{filter} shows {secret}: {body}");
        }
    }
    let only_the_zone = vec![zone_id];
    assert_eq!(selected(&t, &on_record, None).await, only_the_zone);
    assert_eq!(selected(&t, &off_record, None).await, only_the_zone);
    // The same for every spatial function: the public cannot tell the two places apart.
    for op in [
        "S_INTERSECTS",
        "S_DISJOINT",
        "S_WITHIN",
        "S_CONTAINS",
        "S_TOUCHES",
        "S_OVERLAPS",
    ] {
        let a = on_record.replace("S_INTERSECTS", op);
        let b = off_record.replace("S_INTERSECTS", op);
        assert_eq!(
            selected(&t, &a, None).await,
            selected(&t, &b, None).await,
            "{op}"
        );
    }
    assert_eq!(
        selected(&t, &on_record, Some(&t.officer)).await,
        ["HA-SECRET"]
    );
    assert!(selected(&t, &off_record, Some(&t.officer)).await.is_empty());
}

/// CQL2 JSON selects what the same filter in text selects, alone and ANDed with a queryable
/// given as a parameter.
#[tokio::test]
async fn cql2_json_selects_what_cql2_text_selects() {
    let t = setup();
    let items = "/ogc/collections/hazardous-areas/items";
    for (json, text, extra) in [
        (
            r#"{"op": "=", "args": [{"property": "status"}, "suspected"]}"#,
            "status = 'suspected'",
            "",
        ),
        (
            r#"{"op": "or", "args": [{"op": "like", "args": [{"property": "name"}, "Field 1%"]}, {"op": "in", "args": [{"property": "status"}, ["reported", "x"]]}]}"#,
            "name LIKE 'Field 1%' OR status IN ('reported', 'x')",
            "",
        ),
        (
            r#"{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[[37.4004, 49.899], [37.41, 49.899], [37.41, 49.901], [37.4004, 49.901], [37.4004, 49.899]]]}]}"#,
            "S_INTERSECTS(geometry, POLYGON((37.4004 49.899, 37.41 49.899, 37.41 49.901, 37.4004 49.901, 37.4004 49.899)))",
            "",
        ),
        (
            r#"{"op": "s_within", "args": [{"property": "geometry"}, {"bbox": [35.99, 49.89, 36.1, 49.92]}]}"#,
            "S_WITHIN(geometry, BBOX(35.99, 49.89, 36.1, 49.92))",
            "&status=confirmed",
        ),
        (
            r#"{"op": "not", "args": [{"op": "isNull", "args": [{"property": "reported_at"}]}]}"#,
            "reported_at IS NOT NULL",
            "&status=suspected",
        ),
    ] {
        for token in [None, Some(t.officer.as_str())] {
            let (s, _, a) = get_json(
                &t,
                &format!(
                    "{items}?limit=7&filter-lang=cql2-json&filter={}{extra}",
                    q(json)
                ),
                token,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{json}: {a}");
            let (_, _, b) = get_json(
                &t,
                &format!(
                    "{items}?limit=7&filter-lang=cql2-text&filter={}{extra}",
                    q(text)
                ),
                token,
            )
            .await;
            assert_eq!(ids_of(&a), ids_of(&b), "{json}");
            assert_eq!(a["numberMatched"], b["numberMatched"], "{json}");
            assert!(
                a["numberMatched"].as_u64().unwrap() > 0,
                "{json} selects nothing"
            );
            // The next link keeps the language, so the next page is read as JSON too.
            if let Some(next) = a["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["rel"] == "next")
            {
                let href = next["href"].as_str().unwrap();
                assert!(href.contains("filter-lang=cql2-json"), "{href}");
                let path = href.strip_prefix("http://cairn.test").unwrap();
                let (s, _, n) = get_json(&t, path, token).await;
                assert_eq!(s, StatusCode::OK, "{n}");
                assert!(n["numberReturned"].as_u64().unwrap() > 0);
            }
        }
    }
}

/// Follows next links from `first`, collecting ids, and checks each page's size and counts.
async fn every_page(t: &T, first: &str, token: Option<&str>) -> Vec<String> {
    let mut seen = Vec::new();
    let mut uri = first.to_string();
    for _ in 0..100 {
        let (s, _, p) = get_json(t, &uri, token).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {p}");
        seen.extend(ids_of(&p));
        match p["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(l) => {
                let href = l["href"].as_str().unwrap();
                assert!(href.contains("sortby="), "{href} drops sortby");
                uri = href.strip_prefix("http://cairn.test").unwrap().to_string();
            }
            None => return seen,
        }
    }
    panic!("no end of pages from {first}");
}

/// `sortby` orders the whole matching set before paging: following next links with a small
/// page gives the same order as one sort of every feature (stable on id order, nulls last in
/// either direction), and the public sorts only what it sees.
#[tokio::test]
async fn sortby_orders_the_whole_set_before_paging() {
    let t = setup();
    let items = "/ogc/collections/hazardous-areas/items";
    for token in [None, Some(t.officer.as_str())] {
        let (_, _, all) = get_json(&t, &format!("{items}?limit=1000"), token).await;
        let features = all["features"].as_array().unwrap().clone();
        let key = |f: &Value, k: &str| f["properties"][k].as_str().map(str::to_string);
        for (sortby, keys) in [
            ("name", vec![("name", false)]),
            ("-name", vec![("name", true)]),
            ("%2Bstatus,-name", vec![("status", false), ("name", true)]),
            // An unencoded + arrives as a space.
            ("+status,name", vec![("status", false), ("name", false)]),
            (
                "-reported_at,name",
                vec![("reported_at", true), ("name", false)],
            ),
        ] {
            let mut expected = features.clone();
            // A stable sort of the id order the server starts from.
            expected.sort_by(|a, b| {
                for (k, descending) in &keys {
                    let o = match (key(a, k), key(b, k)) {
                        (None, None) => std::cmp::Ordering::Equal,
                        (None, _) => return std::cmp::Ordering::Greater,
                        (_, None) => return std::cmp::Ordering::Less,
                        (Some(x), Some(y)) => {
                            if *descending {
                                y.cmp(&x)
                            } else {
                                x.cmp(&y)
                            }
                        }
                    };
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
            let expected: Vec<String> = expected
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_string())
                .collect();
            let got = every_page(&t, &format!("{items}?limit=4&sortby={sortby}"), token).await;
            assert_eq!(got, expected, "sortby={sortby}");
        }
        // Nulls last: a danger zone has no name and ends both orders of the public's view.
        if token.is_none() {
            for sortby in ["name", "-name"] {
                let got = every_page(&t, &format!("{items}?limit=5&sortby={sortby}"), None).await;
                assert!(
                    got.last().unwrap().starts_with("zone-"),
                    "{sortby}: {got:?}"
                );
            }
        }
    }
    // Sorting with a filter: the filtered set, sorted, and counted.
    let (_, _, v) = get_json(
        &t,
        &format!(
            "{items}?limit=3&sortby=-name&filter={}",
            q("name LIKE 'Field 1%'")
        ),
        None,
    )
    .await;
    assert_eq!(v["numberMatched"], 11);
    assert_eq!(ids_of(&v), ["HA-000020", "HA-000019", "HA-000018"]);
    // The officer may sort on classification; restricted after public.
    let got = every_page(
        &t,
        &format!("{items}?limit=10&sortby=-classification"),
        Some(&t.officer),
    )
    .await;
    assert_eq!(got[0], "HA-SECRET");
}

/// The sortables (Part 8) and the geometry queryable, as each caller sees them, linked from the
/// collection.
#[tokio::test]
async fn sortables_and_the_geometry_queryable() {
    let t = setup();
    for (token, restricted) in [(None, false), (Some(t.officer.as_str()), true)] {
        let (s, ct, v) = get_json(&t, "/ogc/collections/hazardous-areas/sortables", token).await;
        assert_eq!(
            (s, ct.as_str()),
            (StatusCode::OK, "application/schema+json")
        );
        assert_eq!(
            v["$id"],
            "http://cairn.test/ogc/collections/hazardous-areas/sortables"
        );
        let props = v["properties"].as_object().unwrap();
        assert!(props.contains_key("name") && props.contains_key("reported_at"));
        assert!(!props.contains_key("geometry"));
        assert_eq!(props.contains_key("classification"), restricted);
        assert_eq!(props.contains_key("kind"), !restricted);
        assert!(props.values().all(|p| p["type"].is_string()), "{v}");
        let (_, _, qs) = get_json(&t, "/ogc/collections/hazardous-areas/queryables", token).await;
        let g = &qs["properties"]["geometry"];
        assert_eq!(g["format"], "geometry-multipolygon", "{qs}");
        assert!(g.get("type").is_none(), "{qs}");
        let (_, _, c) = get_json(&t, "/ogc/collections/hazardous-areas", token).await;
        assert!(
            c["links"].as_array().unwrap().iter().any(|l| {
                l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/sortables"
                    && l["href"] == "http://cairn.test/ogc/collections/hazardous-areas/sortables"
            }),
            "{c}"
        );
    }
    // What is declared is served: every CQL2 class this module implements, and sorting.
    let (_, _, conf) = get_json(&t, "/ogc/conformance", None).await;
    let declared: Vec<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for class in cairn_server::cql2::CONFORMANCE_CLASSES {
        assert!(declared.contains(&class), "{class}");
    }
    let cql2: Vec<&&str> = declared
        .iter()
        .filter(|c| c.contains("/spec/cql2/"))
        .collect();
    assert_eq!(cql2.len(), cairn_server::cql2::CONFORMANCE_CLASSES.len());
    for part8 in ["sortables", "sorting", "features-sorting"] {
        assert!(declared.contains(
            &format!("http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/{part8}").as_str()
        ));
    }
}
