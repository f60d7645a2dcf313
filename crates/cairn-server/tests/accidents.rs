//! Accidents and zones through `router` with `oneshot`: who may post an accident and to whom it
//! is attributed, the split between full records (officers, auditors, admins) and public
//! summaries (everyone else), a leak test over every public answer, a bad-body table answered
//! with problems naming the field and the store unchanged, and the zones endpoints' roles.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use cairn_core::Catalogue;
use cairn_core::zone::{Zone, ZoneFacts, ZoneKind};
use cairn_server::reports::ReportsConfig;
use cairn_server::{AppState, router};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, SqliteStore};
use geo_types::{MultiPolygon, polygon};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct T {
    _dir: tempfile::TempDir,
    state: AppState,
    officer: String,
    auditor: String,
    admin: String,
    field: String,
    disabled: String,
}

fn zone(id: &str, x0: f64) -> Zone {
    Zone {
        id: id.into(),
        facts: ZoneFacts {
            name: format!("Permitted {id}"),
            kind: ZoneKind::Permitted,
            source: Some("order 12".into()),
            description: None,
        },
        geometry: MultiPolygon(vec![
            polygon![(x: x0, y: 48.0), (x: x0 + 1.0, y: 48.0), (x: x0 + 1.0, y: 49.0), (x: x0, y: 49.0), (x: x0, y: 48.0)],
        ]),
    }
}

fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    let mut token = |name: &str, role: &str, org: Option<&str>| {
        store.create_token(name, role, org, None).unwrap().0
    };
    let officer = token("Olena", "officer", None);
    let auditor = token("Auditor Petro", "auditor", None);
    let admin = token("Admin Ira", "admin", None);
    let field = token("Team 7", "field", Some("Example Demining"));
    let disabled = token("Gone", "field", Some("Example Demining"));
    store.disable_user("Gone").unwrap();
    let meta = |reason: &str| ChangeMeta {
        author: "Olena".into(),
        reason: reason.into(),
        source: None,
    };
    store
        .put_zones(&[zone("PZ-1", 36.0), zone("PZ-2", 38.0)], meta("order 12"))
        .unwrap();
    store
        .put_zones(&[zone("PZ-1", 36.5)], meta("order 13 moved it"))
        .unwrap();
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
        admin,
        field,
        disabled,
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

async fn call(t: &T, method: &str, uri: &str, token: Option<&str>, body: Option<String>) -> Reply {
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
            .body(Body::from(b))
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

async fn post(t: &T, token: Option<&str>, body: &Value) -> Reply {
    call(t, "POST", "/api/accidents", token, Some(body.to_string())).await
}

async fn get(t: &T, uri: &str, token: Option<&str>) -> Reply {
    call(t, "GET", uri, token, None).await
}

fn digest(t: &T) -> String {
    t.state.with_store(|s| s.content_digest().unwrap())
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
            "casualties": [
                {"outcome": "injured", "sex": "male", "age_group": "adult", "role": "civilian",
                 "name": "Ivan Secretname", "notes": "lost a foot"},
                {"outcome": "killed", "sex": "female", "age_group": "child", "role": "civilian",
                 "name": "Maria Hiddenova"}
            ]
        }
    })
}

/// What must never appear in an answer to the public or a field team.
const SECRETS: &[&str] = &[
    "Secretname",
    "Hiddenova",
    "lost a foot",
    "tree line",
    "36.123456",
    "49.987654",
    "casualties",
    "notes",
    "description",
];

fn assert_problem(r: &Reply, status: StatusCode, names: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.ct, "application/problem+json", "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], status.as_u16(), "{}", r.body);
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(names), "{names:?} not named in {detail:?}");
}

#[tokio::test]
async fn who_may_post_an_accident_and_to_whom_it_is_attributed() {
    let t = setup();
    let before = digest(&t);
    assert_problem(
        &post(&t, None, &accident()).await,
        StatusCode::UNAUTHORIZED,
        "token",
    );
    assert_problem(
        &post(&t, Some(&t.auditor), &accident()).await,
        StatusCode::FORBIDDEN,
        "auditor",
    );
    assert_problem(
        &post(&t, Some("not-a-token"), &accident()).await,
        StatusCode::UNAUTHORIZED,
        "",
    );
    assert_problem(
        &post(&t, Some(&t.disabled), &accident()).await,
        StatusCode::UNAUTHORIZED,
        "",
    );
    assert_eq!(digest(&t), before, "refused posts wrote nothing");

    // An officer gets the full record back.
    let r = post(&t, Some(&t.officer), &accident()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.ct, "application/geo+json");
    let v = r.json();
    assert_eq!(v["id"], "AC-000001");
    assert_eq!(v["properties"]["casualties"][0]["name"], "Ivan Secretname");
    assert_eq!(v["properties"]["source"], Value::Null);

    // A field team's accident names its organisation as the source, is attributed to the team,
    // and the team is answered with the public summary only.
    let r = post(&t, Some(&t.field), &accident()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for s in SECRETS {
        assert!(
            !r.body.contains(s),
            "{s:?} in the field team's answer: {}",
            r.body
        );
    }
    assert_eq!(r.json()["id"], "AC-000002");
    assert_eq!(r.json()["killed"], 1);
    let mut own_source = accident();
    own_source["properties"]["source"] = json!("village council");
    let r = post(&t, Some(&t.field), &own_source).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = post(&t, Some(&t.admin), &accident()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let full = get(&t, "/api/accidents", Some(&t.officer)).await.json();
    let source = |i: usize| full["features"][i]["properties"]["source"].clone();
    assert_eq!(source(1), "Example Demining");
    assert_eq!(source(2), "village council", "a given source is kept");
    assert_eq!(source(3), Value::Null);
    let authors: Vec<String> = (1..=4)
        .map(|i| {
            t.state.with_store(|s| {
                s.record_history("accident", &format!("AC-{i:06}")).unwrap()[0]
                    .author
                    .clone()
            })
        })
        .collect();
    assert_eq!(authors, ["Olena", "Team 7", "Team 7", "Admin Ira"]);
}

#[tokio::test]
async fn public_and_field_callers_see_summaries_only() {
    let t = setup();
    let r = post(&t, Some(&t.officer), &accident()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    for (who, token) in [("public", None), ("field", Some(t.field.as_str()))] {
        let list = get(&t, "/api/accidents", token).await;
        assert_eq!(list.status, StatusCode::OK, "{who}: {}", list.body);
        assert_eq!(list.ct, "application/json", "{who}");
        let one = get(&t, "/api/accidents/AC-000001", token).await;
        assert_eq!(one.status, StatusCode::OK, "{who}: {}", one.body);
        for r in [&list, &one] {
            for s in SECRETS {
                assert!(!r.body.contains(s), "{who}: {s:?} leaked in {}", r.body);
            }
        }
        let a = &list.json()["accidents"][0];
        assert_eq!(a["id"], "AC-000001", "{who}");
        assert_eq!(a["date"], "2026-06-01");
        assert_eq!(a["place"], json!([36.12, 49.99]));
        assert_eq!(
            (a["killed"].as_u64(), a["injured"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(a["children"], 1);
        assert_eq!(one.json(), *a, "{who}: one accident is the same summary");
    }

    for (who, token) in [
        ("officer", &t.officer),
        ("auditor", &t.auditor),
        ("admin", &t.admin),
    ] {
        let list = get(&t, "/api/accidents", Some(token)).await;
        assert_eq!(list.status, StatusCode::OK, "{who}");
        assert_eq!(list.ct, "application/geo+json", "{who}");
        let v = list.json();
        assert_eq!(v["type"], "FeatureCollection");
        let f = &v["features"][0];
        assert_eq!(f["geometry"]["coordinates"], json!([36.123456, 49.987654]));
        assert_eq!(f["properties"]["casualties"][1]["name"], "Maria Hiddenova");
        let one = get(&t, "/api/accidents/AC-000001", Some(token)).await;
        assert_eq!(one.ct, "application/geo+json", "{who}");
        assert_eq!(one.json(), *f, "{who}");
    }

    assert_problem(
        &get(&t, "/api/accidents/AC-000404", None).await,
        StatusCode::NOT_FOUND,
        "AC-000404",
    );
    assert_problem(
        &get(&t, "/api/accidents", Some("not-a-token")).await,
        StatusCode::UNAUTHORIZED,
        "",
    );
    assert_problem(
        &get(&t, "/api/accidents/AC-000001", Some(&t.disabled)).await,
        StatusCode::UNAUTHORIZED,
        "",
    );
}

#[tokio::test]
async fn bad_bodies_are_problems_naming_the_field() {
    let t = setup();
    let before = digest(&t);
    type Edit = fn(&mut Value);
    let cases: &[(Edit, &str)] = &[
        (
            |v| v["properties"]["casualties"][1]["sex"] = json!("x"),
            "properties.casualties[1].sex",
        ),
        (
            |v| v["properties"]["casualties"][0]["age_group"] = json!(7),
            "properties.casualties[0].age_group",
        ),
        (
            |v| v["properties"]["casualties"][0]["role"] = Value::Null,
            "properties.casualties[0].role",
        ),
        (
            |v| v["properties"]["casualties"] = json!([]),
            "properties.casualties",
        ),
        (
            |v| v["properties"]["device_category"] = json!("uxo"),
            "properties.device_category",
        ),
        (
            |v| v["properties"]["device_type"] = json!("pmn-9000"),
            "properties.device_type",
        ),
        (
            |v| v["properties"]["activity"] = json!("dancing"),
            "properties.activity",
        ),
        (
            |v| v["properties"]["occurred_at"] = json!("2999-01-01"),
            "properties.occurred_at",
        ),
        (
            |v| v["properties"]["occurred_at"] = json!(20260601),
            "properties.occurred_at",
        ),
        (
            |v| v["properties"]["area_id"] = json!("HA-404404"),
            "properties.area_id",
        ),
        (
            |v| v["properties"]["description"] = json!("x".repeat(5000)),
            "properties.description",
        ),
        (
            |v| v["properties"]["colour"] = json!("red"),
            "properties.colour",
        ),
        (|v| v["properties"] = json!([1, 2]), "properties"),
        (
            |v| v["geometry"]["type"] = json!("LineString"),
            "geometry.type",
        ),
        (
            |v| v["geometry"]["coordinates"] = json!([236.1, 49.9]),
            "geometry.coordinates",
        ),
        (|v| v["geometry"] = Value::Null, "geometry"),
        (|v| v["type"] = json!("Point"), "type"),
        (|v| *v = json!([1, 2, 3]), "body"),
    ];
    for (edit, field) in cases {
        let mut v = accident();
        edit(&mut v);
        for token in [&t.officer, &t.field] {
            let r = post(&t, Some(token), &v).await;
            assert_problem(&r, StatusCode::BAD_REQUEST, &format!("{field}:"));
        }
    }
    // A body that is not JSON at all.
    let r = call(
        &t,
        "POST",
        "/api/accidents",
        Some(&t.officer),
        Some("{\"type\": \"Feature\",".into()),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.ct, "application/problem+json");
    assert_eq!(digest(&t), before, "no refused body wrote anything");
}

#[tokio::test]
async fn zones_are_for_officers_auditors_and_admins() {
    let t = setup();
    for uri in ["/api/zones", "/api/zones/PZ-1"] {
        assert_problem(&get(&t, uri, None).await, StatusCode::UNAUTHORIZED, "token");
        assert_problem(
            &get(&t, uri, Some(&t.field)).await,
            StatusCode::FORBIDDEN,
            "field",
        );
        assert_problem(
            &get(&t, uri, Some("not-a-token")).await,
            StatusCode::UNAUTHORIZED,
            "",
        );
        for token in [&t.officer, &t.auditor, &t.admin] {
            let r = get(&t, uri, Some(token)).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
            assert_eq!(r.ct, "application/geo+json", "{uri}");
        }
    }
    let all = get(&t, "/api/zones", Some(&t.auditor)).await.json();
    assert_eq!(all["type"], "FeatureCollection");
    let ids: Vec<&str> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["PZ-1", "PZ-2"]);
    assert_eq!(all["features"][1]["properties"]["kind"], "permitted");
    assert_eq!(all["features"][1]["properties"]["source"], "order 12");
    let km2 = all["features"][1]["properties"]["area_km2"]
        .as_f64()
        .unwrap();
    // A 1° × 1° cell at 48–49° N on the authalic sphere: an independent figure.
    let r = 6_371_007.2f64;
    let want =
        r * r * 1f64.to_radians() * (49f64.to_radians().sin() - 48f64.to_radians().sin()) / 1e6;
    assert!((km2 - want).abs() / want < 0.005, "{km2} vs {want}");

    let one = get(&t, "/api/zones/PZ-1", Some(&t.officer)).await.json();
    assert_eq!(one["geometry"]["type"], "MultiPolygon");
    assert_eq!(one["geometry"]["coordinates"][0][0][0], json!([36.5, 48.0]));
    let revs = one["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2, "{one}");
    assert_eq!(revs[1]["reason"], "order 13 moved it");
    assert_problem(
        &get(&t, "/api/zones/PZ-404", Some(&t.officer)).await,
        StatusCode::NOT_FOUND,
        "PZ-404",
    );
}
