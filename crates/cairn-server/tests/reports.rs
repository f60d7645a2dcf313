//! Reports from the public and their triage, through `router` with `oneshot`: intake with photo,
//! every bad input refused naming its field with nothing stored, the per-client rate limit,
//! who may read and triage, and the triage workflow (open, dismiss, link; a decision is final).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use cairn_core::{AreaProperties, Catalogue, Classification, HazardArea, Shape, Status};
use cairn_server::ratelimit::RateLimit;
use cairn_server::reports::ReportsConfig;
use cairn_server::{AppState, router};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, SqliteStore, Writer};
use geo_types::polygon;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct T {
    _dir: tempfile::TempDir,
    state: AppState,
    officer: String,
    admin: String,
    auditor: String,
    field: String,
}

fn setup(config: ReportsConfig) -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    let mut tx = store
        .begin(ChangeMeta {
            author: "test".into(),
            reason: "fixture".into(),
            source: None,
        })
        .unwrap();
    tx.put_area(&HazardArea {
        id: "HA-000001".into(),
        shape: Shape::Polygon(
            polygon![(x: 36.0, y: 49.9), (x: 36.01, y: 49.9), (x: 36.01, y: 49.91), (x: 36.0, y: 49.9)],
        ),
        props: AreaProperties {
            name: Some("Field by the school".into()),
            status: Status::Confirmed,
            classification: Classification::Public,
            evidence: None,
            devices: vec![],
            reference_points: vec![],
            marking: None,
            organisation: None,
            reported_at: None,
            extra: Default::default(),
            emplacement: None,
        },
    })
    .unwrap();
    tx.commit().unwrap();
    let mut token = |name: &str, role: &str| store.create_token(name, role, None, None).unwrap().0;
    let officer = token("Olena", "officer");
    let admin = token("Admin Ivan", "admin");
    let auditor = token("Auditor Petro", "auditor");
    let field = token("Team 7", "field");
    let state = AppState::with_config(store, Catalogue::builtin(), config).unwrap();
    T {
        _dir: dir,
        state,
        officer,
        admin,
        auditor,
        field,
    }
}

fn unlimited() -> ReportsConfig {
    ReportsConfig {
        rate_limit: None,
        ..ReportsConfig::default()
    }
}

struct Reply {
    status: StatusCode,
    ct: String,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A request from `ip` with a raw body and content type.
async fn raw(
    t: &T,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
    ip: &str,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "cairn.test");
    if let Some(tok) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {tok}"));
    }
    let mut req = match body {
        Some((ct, b)) => req
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(b))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let r = router(t.state.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        ct,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn post(t: &T, uri: &str, token: Option<&str>, body: Value) -> Reply {
    raw(
        t,
        "POST",
        uri,
        token,
        Some(("application/json", body.to_string().into_bytes())),
        "192.0.2.10",
    )
    .await
}

async fn get(t: &T, uri: &str, token: Option<&str>) -> Reply {
    raw(t, "GET", uri, token, None, "192.0.2.10").await
}

/// A tiny JPEG whose EXIF names the phone's owner and serial number.
/// A real JPEG (drawn with the image crate) with an EXIF segment naming its owner.
fn jpeg_with_exif() -> Vec<u8> {
    let img = image::RgbImage::from_fn(32, 16, |x, y| {
        image::Rgb([(x * 8) as u8, (y * 16) as u8, 7])
    });
    let mut plain = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new(&mut plain))
        .unwrap();
    let mut j = plain[..2].to_vec();
    let exif = b"Exif\0\0Owner Mykola Shevchenko serial 4411";
    j.extend_from_slice(&[0xFF, 0xE1, 0, (exif.len() + 2) as u8]);
    j.extend_from_slice(exif);
    j.extend_from_slice(&plain[2..]);
    j
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn report_body() -> Value {
    json!({
        "lon": 36.2305, "lat": 49.9935, "accuracy_m": 12.5,
        "category": "shell-or-bomb",
        "description": "A rusty shell in the ditch by the bus stop, half buried.",
        "seen_at": "2026-11-24T15:30:00+02:00",
    })
}

fn is_reference(s: &str) -> bool {
    cairn_core::report::parse_reference(s).as_deref() == Ok(s)
}

#[tokio::test]
async fn a_report_is_stored_and_answered_with_a_reference_and_advice() {
    let t = setup(ReportsConfig::default());
    let mut body = report_body();
    body["photo"] = Value::from(format!("data:image/jpeg;base64,{}", b64(&jpeg_with_exif())));
    let r = post(&t, "/api/reports", None, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    let reference = v["reference"].as_str().unwrap().to_string();
    assert!(is_reference(&reference), "{reference}");
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/api/reports/{reference}")
    );
    for lang in ["en", "uk"] {
        let a = v["advice"][lang].as_str().unwrap();
        assert!(
            a.contains("101") && a.contains("112") && a.contains(&reference),
            "{a}"
        );
    }
    assert!(
        v["advice"]["uk"]
            .as_str()
            .unwrap()
            .contains("не торкайтеся")
    );
    assert!(v["advice"]["en"].as_str().unwrap().contains("do not touch"));
    // Nothing of the report but its reference comes back to the public.
    assert!(!r.body.contains("rusty shell") && !r.body.contains("36.2305"));

    // The officer sees it in the queue, with its photo, stripped of the phone's metadata.
    let q = get(&t, "/api/reports", Some(&t.officer)).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    let q = q.json();
    assert_eq!(q["total"], 1);
    assert_eq!(q["reports"][0]["reference"], reference.as_str());
    assert_eq!(q["reports"][0]["state"], "new");
    assert!(
        q["reports"][0]["photo"].get("data").is_none(),
        "lists carry no photo bytes"
    );
    let one = get(
        &t,
        &format!("/api/reports/{}", reference.to_lowercase().replace('-', "")),
        Some(&t.officer),
    )
    .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    let one = one.json();
    assert_eq!(one["lon"], 36.2305);
    assert_eq!(one["accuracy_m"], 12.5);
    assert_eq!(one["category"], "shell-or-bomb");
    assert_eq!(one["seen_at"], "2026-11-24T13:30:00Z");
    assert_eq!(one["photo"]["type"], "image/jpeg");
    let photo = base64::engine::general_purpose::STANDARD
        .decode(one["photo"]["data"].as_str().unwrap())
        .unwrap();
    assert!(photo.starts_with(&[0xFF, 0xD8]) && photo.ends_with(&[0xFF, 0xD9]));
    assert!(!String::from_utf8_lossy(&photo).contains("Shevchenko"));
    let back = image::load_from_memory(&photo).unwrap();
    assert_eq!((back.width(), back.height()), (32, 16));
    assert_eq!(one["photo"]["bytes"], photo.len());
    let p = get(
        &t,
        &format!("/api/reports/{reference}/photo"),
        Some(&t.officer),
    )
    .await;
    assert_eq!((p.status, p.ct.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(p.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // A minimal report: place and category only.
    let r = post(
        &t,
        "/api/reports",
        None,
        json!({"lon": 30.5, "lat": 50.45, "category": "unknown-object"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let m = get(&t, "/metrics", Some(&t.officer)).await;
    assert!(
        m.body.contains("cairn_reports_received_total 2"),
        "{}",
        m.body
    );
}

#[tokio::test]
async fn bad_reports_are_refused_naming_the_field_and_nothing_is_stored() {
    let t = setup(unlimited());
    let with = |k: &str, v: Value| {
        let mut b = report_body();
        b[k] = v;
        b.to_string().into_bytes()
    };
    let without = |k: &str| {
        let mut b = report_body();
        b.as_object_mut().unwrap().remove(k);
        b.to_string().into_bytes()
    };
    let max = ReportsConfig::default().photo_max_bytes;
    let mut big = jpeg_with_exif();
    big.resize(max + 1, 0);
    let mut huge = b"{\"lon\": 36, \"lat\": 49, \"category\": \"mine\", \"photo\": \"".to_vec();
    huge.resize(ReportsConfig::default().body_limit() + 10, b'A');
    huge.extend_from_slice(b"\"}");
    let json = "application/json";
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "not JSON",
            json,
            b"{lon: 1".to_vec(),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "empty body",
            json,
            vec![],
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "an array",
            json,
            b"[1, 2]".to_vec(),
            StatusCode::BAD_REQUEST,
            "JSON object",
        ),
        (
            "no lon",
            json,
            without("lon"),
            StatusCode::BAD_REQUEST,
            "lon is required",
        ),
        (
            "no lat",
            json,
            without("lat"),
            StatusCode::BAD_REQUEST,
            "lat is required",
        ),
        (
            "lon 181",
            json,
            with("lon", json!(181.0)),
            StatusCode::BAD_REQUEST,
            "lon must be WGS 84 degrees from -180 to 180",
        ),
        (
            "lat -90.5",
            json,
            with("lat", json!(-90.5)),
            StatusCode::BAD_REQUEST,
            "lat must be WGS 84",
        ),
        (
            "lat as text",
            json,
            with("lat", json!("49.9")),
            StatusCode::BAD_REQUEST,
            "lat must be a number",
        ),
        (
            "negative accuracy",
            json,
            with("accuracy_m", json!(-1)),
            StatusCode::BAD_REQUEST,
            "accuracy_m must be from 0",
        ),
        (
            "huge accuracy",
            json,
            with("accuracy_m", json!(1e9)),
            StatusCode::BAD_REQUEST,
            "accuracy_m",
        ),
        (
            "no category",
            json,
            without("category"),
            StatusCode::BAD_REQUEST,
            "category is required",
        ),
        (
            "unknown category",
            json,
            with("category", json!("landmine!")),
            StatusCode::BAD_REQUEST,
            "category: \"landmine!\" is not one of mine, shell-or-bomb",
        ),
        (
            "description too long",
            json,
            with("description", json!("ж".repeat(2001))),
            StatusCode::BAD_REQUEST,
            "description must be at most 2000 characters, not 2001",
        ),
        (
            "description with NUL",
            json,
            with("description", json!("a\u{0}b")),
            StatusCode::BAD_REQUEST,
            "description must not contain control characters",
        ),
        (
            "description a number",
            json,
            with("description", json!(5)),
            StatusCode::BAD_REQUEST,
            "description must be a string",
        ),
        (
            "seen_at not a time",
            json,
            with("seen_at", json!("yesterday")),
            StatusCode::BAD_REQUEST,
            "seen_at must be an RFC 3339 time",
        ),
        (
            "seen_at in the future",
            json,
            with("seen_at", json!("2999-01-01T00:00:00Z")),
            StatusCode::BAD_REQUEST,
            "seen_at 2999-01-01T00:00:00Z is in the future",
        ),
        (
            "personal data field",
            json,
            with("name", json!("Mykola")),
            StatusCode::BAD_REQUEST,
            "\"name\" is not a field of a report",
        ),
        (
            "photo not base64",
            json,
            with("photo", json!("not base64 at all!")),
            StatusCode::BAD_REQUEST,
            "photo is not valid base64",
        ),
        (
            "photo a GIF",
            json,
            with("photo", json!(b64(b"GIF89a\x01\x00\x01\x00"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "photo is not a JPEG, PNG or WebP image",
        ),
        (
            "photo an SVG",
            json,
            with(
                "photo",
                json!(format!(
                    "data:image/jpeg;base64,{}",
                    b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
                )),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "photo is not a JPEG, PNG or WebP image",
        ),
        (
            "photo truncated",
            json,
            with("photo", json!(b64(&jpeg_with_exif()[..12]))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "photo: the image/jpeg file is damaged",
        ),
        (
            "photo too big",
            json,
            with("photo", json!(b64(&big))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "photo is 2.0 MiB but may be at most 2.0 MiB",
        ),
        (
            "body too big",
            json,
            huge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body is larger than",
        ),
        (
            "form body",
            "application/x-www-form-urlencoded",
            b"lon=1&lat=2".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ),
    ];
    for (what, ct, body, status, detail) in cases {
        let r = raw(
            &t,
            "POST",
            "/api/reports",
            None,
            Some((ct, body)),
            "192.0.2.20",
        )
        .await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert_eq!(r.ct, "application/problem+json", "{what}");
        let d = r.json()["detail"].as_str().unwrap_or_default().to_string();
        assert!(
            d.contains(detail),
            "{what}: {d:?} does not contain {detail:?}"
        );
    }
    let q = get(&t, "/api/reports?state=all", Some(&t.officer))
        .await
        .json();
    assert_eq!(q["total"], 0, "a refused report was stored: {q}");
}

#[tokio::test]
async fn reports_are_rate_limited_per_client_with_retry_after() {
    let t = setup(ReportsConfig {
        rate_limit: Some(RateLimit {
            burst: 3,
            per_hour: 60,
        }),
        ..ReportsConfig::default()
    });
    let body = || Some(("application/json", report_body().to_string().into_bytes()));
    for _ in 0..3 {
        let r = raw(&t, "POST", "/api/reports", None, body(), "198.51.100.7").await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = raw(&t, "POST", "/api/reports", None, body(), "198.51.100.7").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.ct, "application/problem+json");
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((59..=60).contains(&wait), "Retry-After {wait}");
    assert!(r.json()["detail"].as_str().unwrap().contains("101 or 112"));
    // Another client is not affected.
    let r = raw(&t, "POST", "/api/reports", None, body(), "198.51.100.8").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let q = get(&t, "/api/reports?state=all", Some(&t.officer))
        .await
        .json();
    assert_eq!(q["total"], 4);
    let m = get(&t, "/metrics", Some(&t.officer)).await;
    assert!(
        m.body.contains("cairn_reports_rate_limited_total 1"),
        "{}",
        m.body
    );
}

#[tokio::test]
async fn only_officers_and_admins_triage_and_only_they_and_auditors_read() {
    let t = setup(unlimited());
    let reference = post(&t, "/api/reports", None, report_body()).await.json()["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let reads = [
        "/api/reports".to_string(),
        format!("/api/reports/{reference}"),
    ];
    let triage = format!("/api/reports/{reference}/triage");
    let dismiss = json!({"action": "dismiss", "reason": "duplicate"});
    // The public: 401 everywhere, with a Bearer challenge.
    for u in &reads {
        let r = get(&t, u, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{u}");
        assert_eq!(
            r.headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"Cairn\""
        );
        assert!(!r.body.contains("rusty"));
    }
    let r = get(&t, &format!("/api/reports/{reference}/photo"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(&t, &triage, None, dismiss.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&t, &triage, Some("cairn_not_a_token"), dismiss.clone())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // A field team: 403 everywhere.
    for u in &reads {
        assert_eq!(
            get(&t, u, Some(&t.field)).await.status,
            StatusCode::FORBIDDEN,
            "{u}"
        );
    }
    let r = post(&t, &triage, Some(&t.field), dismiss.clone()).await;
    assert_eq!(
        (r.status, r.ct.as_str()),
        (StatusCode::FORBIDDEN, "application/problem+json")
    );
    // An auditor reads but does not decide.
    for u in &reads {
        assert_eq!(
            get(&t, u, Some(&t.auditor)).await.status,
            StatusCode::OK,
            "{u}"
        );
    }
    let r = post(&t, &triage, Some(&t.auditor), dismiss.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Nobody of those changed anything.
    let one = get(&t, &reads[1], Some(&t.officer)).await.json();
    assert_eq!(one["state"], "new");
    // An admin decides, attributed by name.
    let r = post(&t, &triage, Some(&t.admin), dismiss).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["triage"]["by"], "Admin Ivan");
}

#[tokio::test]
async fn triage_opens_links_and_dismisses_and_a_decision_is_final() {
    let t = setup(unlimited());
    let mut refs = Vec::new();
    for (lon, cat) in [
        (36.3, "mine"),
        (36.4, "grenade"),
        (36.005, "shell-or-bomb"),
        (36.6, "tripwire"),
    ] {
        let mut b = report_body();
        b["lon"] = json!(lon);
        b["category"] = json!(cat);
        let r = post(&t, "/api/reports", None, b).await;
        assert_eq!(r.status, StatusCode::CREATED);
        refs.push(r.json()["reference"].as_str().unwrap().to_string());
    }
    let tri = |i: usize| format!("/api/reports/{}/triage", refs[i]);

    // Open: a new reported area around the place, attributed to the officer.
    let r = post(&t, &tri(0), Some(&t.officer), json!({"action": "open"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "opened");
    assert_eq!(v["triage"]["by"], "Olena");
    let area = v["triage"]["area_id"].as_str().unwrap().to_string();
    assert_eq!(area, "HA-000002");
    let item = get(
        &t,
        &format!("/ogc/collections/hazardous-areas/items/{area}"),
        Some(&t.officer),
    )
    .await;
    assert_eq!(item.status, StatusCode::OK, "{}", item.body);
    let f = item.json();
    assert_eq!(f["properties"]["status"], "reported");
    assert_eq!(f["properties"]["classification"], "restricted");
    // A spot, published as its outline with its centre beside it.
    assert_eq!(f["geometry"]["type"], "MultiPolygon");
    assert_eq!(f["properties"]["centre_wkt"], "POINT(36.3 49.9935)");
    assert_eq!(f["properties"]["radius_m"], 50.0);
    assert!(
        f["properties"]["evidence"]["description"]
            .as_str()
            .unwrap()
            .contains(&refs[0])
    );
    // Not shown to the public: an unverified report is not a hazard yet.
    let public = get(
        &t,
        &format!("/ogc/collections/hazardous-areas/items/{area}"),
        None,
    )
    .await;
    assert_eq!(public.status, StatusCode::NOT_FOUND);
    let history = t.state.with_store(|s| s.history(&area)).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].revision.author, "Olena");
    assert!(
        history[0].revision.reason.contains(&refs[0]),
        "{}",
        history[0].revision.reason
    );
    assert_eq!(v["triage"]["changeset"], history[0].revision.changeset);

    // Dismiss, with a reason.
    let r = post(
        &t,
        &tri(1),
        Some(&t.officer),
        json!({"action": "dismiss", "reason": "a training dummy, confirmed by police"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["state"], "dismissed");
    assert_eq!(
        r.json()["triage"]["reason"],
        "a training dummy, confirmed by police"
    );

    // Link to an existing area.
    let r = post(
        &t,
        &tri(2),
        Some(&t.officer),
        json!({"action": "link", "area_id": "HA-000001"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["state"], "linked");
    assert_eq!(r.json()["triage"]["area_id"], "HA-000001");

    // A decision is final.
    for (i, body) in [
        (0, json!({"action": "dismiss", "reason": "oops"})),
        (1, json!({"action": "open"})),
        (2, json!({"action": "link", "area_id": "HA-000002"})),
    ] {
        let r = post(&t, &tri(i), Some(&t.officer), body).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(
            r.json()["detail"]
                .as_str()
                .unwrap()
                .contains("already triaged")
        );
    }

    // Bad decisions name the field and change nothing.
    let before = t.state.with_store(|s| s.content_digest()).unwrap();
    let bad = [
        (
            json!({"action": "link", "area_id": "HA-999999"}),
            StatusCode::BAD_REQUEST,
            "area_id: there is no hazardous area HA-999999",
        ),
        (
            json!({"action": "link"}),
            StatusCode::BAD_REQUEST,
            "area_id is required",
        ),
        (
            json!({"action": "dismiss"}),
            StatusCode::BAD_REQUEST,
            "reason is required",
        ),
        (
            json!({"action": "dismiss", "reason": "   "}),
            StatusCode::BAD_REQUEST,
            "reason must not be empty",
        ),
        (
            json!({"action": "dismiss", "reason": "x".repeat(1001)}),
            StatusCode::BAD_REQUEST,
            "reason must be at most 1000 characters",
        ),
        (
            json!({"action": "delete"}),
            StatusCode::BAD_REQUEST,
            "action: \"delete\" is not one of link, open, dismiss",
        ),
        (
            json!({"action": "open", "area_id": "HA-000001"}),
            StatusCode::BAD_REQUEST,
            "\"area_id\" is not a field of this action",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "action is required"),
        (json!([1]), StatusCode::BAD_REQUEST, "JSON object"),
    ];
    for (body, status, detail) in bad {
        let r = post(&t, &tri(3), Some(&t.officer), body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        let d = r.json()["detail"].as_str().unwrap_or_default().to_string();
        assert!(d.contains(detail), "{body}: {d:?}");
    }
    let r = raw(
        &t,
        "POST",
        &tri(3),
        Some(&t.officer),
        Some(("application/json", b"{oops".to_vec())),
        "192.0.2.1",
    )
    .await;
    assert_eq!(
        (r.status, r.ct.as_str()),
        (StatusCode::BAD_REQUEST, "application/problem+json")
    );
    // Unknown and malformed references.
    let unknown = cairn_core::report::make_reference([1, 2, 3, 4, 5, 6, 7])
        .or_else(|| cairn_core::report::make_reference([1, 2, 3, 4, 5, 6, 8]))
        .unwrap();
    assert!(!refs.contains(&unknown));
    let r = post(
        &t,
        &format!("/api/reports/{unknown}/triage"),
        Some(&t.officer),
        json!({"action": "open"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = get(&t, "/api/reports/R-0000-0000", Some(&t.officer)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("not a report reference")
    );
    assert_eq!(t.state.with_store(|s| s.content_digest()).unwrap(), before);

    // The queue by state.
    let state = |s: &'static str| {
        let t = &t;
        async move {
            get(t, &format!("/api/reports?state={s}"), Some(&t.officer))
                .await
                .json()
        }
    };
    assert_eq!(
        state("new").await["reports"][0]["reference"],
        refs[3].as_str()
    );
    assert_eq!(state("new").await["total"], 1);
    assert_eq!(
        state("opened").await["reports"][0]["reference"],
        refs[0].as_str()
    );
    assert_eq!(state("linked").await["total"], 1);
    assert_eq!(state("dismissed").await["total"], 1);
    assert_eq!(state("all").await["total"], 4);
    let r = get(&t, "/api/reports?state=closed", Some(&t.officer)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("parameter state")
    );
    let r = get(&t, "/api/reports?limit=5000", Some(&t.officer)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = get(
        &t,
        "/api/reports?state=all&limit=2&offset=1",
        Some(&t.officer),
    )
    .await
    .json();
    let page: Vec<&str> = page["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    assert_eq!(page, [refs[1].as_str(), refs[2].as_str()]);
}
