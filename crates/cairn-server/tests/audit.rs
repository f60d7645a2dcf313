//! The auditors' endpoint through `router` with `oneshot`: a store with a permitted zone and
//! emplacement records (compliant ones, one wholly and one partly outside the zone, one of a
//! persistent AP type, one incomplete, and an ordinary hazard the rules do not concern) gives
//! exactly the expected violations; deadlines are judged at `?at=`; the role matrix; a posted
//! policy with a mistake answered 400 naming its line; no policy configured 404; the CSV.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn_core::zone::{Zone, ZoneFacts, ZoneKind};
use cairn_core::{Catalogue, HazardArea};
use cairn_server::{AppState, router};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, SqliteStore, Writer};
use geo_types::{MultiPolygon, polygon};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The policy the tests configure: zones, lifetimes, the APII record and marking in 72 hours.
const POLICY: &str = r#"[policy]
name = "Test supply conditions"

[rules.permitted-zones]
zone-kind = "permitted"

[rules.ap-lifetime]
max-self-destruct = "15 days"
max-self-deactivation = "120 days"

[rules.apii-record]
min-reference-points = 2

[rules.marking]
within = "72 hours"
"#;

struct T {
    _dir: tempfile::TempDir,
    state: AppState,
    tokens: Vec<(&'static str, String)>,
}

impl T {
    fn token(&self, role: &str) -> &str {
        &self
            .tokens
            .iter()
            .find(|(r, _)| *r == role)
            .expect("role")
            .1
    }
}

/// A square of `d` degrees with its south-west corner at (x, y).
fn square(x: f64, y: f64, d: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]})
}

/// A complete emplacement record of `device` at (x, y), unless `complete` is false.
fn record(id: &str, x: f64, y: f64, device: &str, complete: bool) -> Value {
    let mut props = json!({
        "status": "confirmed",
        "classification": "restricted",
        "evidence": {"kind": "direct", "description": "emplacement record of the laying unit"},
        "devices": [{
            "type": device, "quantity": 20,
            "emplaced_from": "2026-03-01T06:00:00Z", "emplaced_to": "2026-03-01T09:00:00Z"
        }],
        "reference_points": [[x - 0.001, y - 0.001], [x + 0.011, y - 0.001]],
        "marking": "marked",
        "emplacement": {
            "method": "hand-emplaced", "anti_handling": false, "fuze": "electronic SD/SDA",
            "fuze_lifetime_hours": 48, "laid_by": "Unit A"
        }
    });
    if !complete {
        props["devices"][0]["quantity"] = Value::Null;
        props["reference_points"] = json!([[x - 0.001, y - 0.001]]);
        props["emplacement"] = json!({"fuze": "electronic SD/SDA", "fuze_lifetime_hours": 48});
        props["marking"] = json!("unmarked");
    }
    json!({"type": "Feature", "id": id, "geometry": square(x, y, 0.01), "properties": props})
}

fn area(feature: &Value) -> HazardArea {
    let f = cairn_formats::geojson::read_feature(1, feature);
    let c = cairn_formats::record::build_record(
        f.id,
        f.geometry,
        f.props,
        f.problems,
        &Catalogue::builtin(),
        chrono::Utc::now(),
    )
    .unwrap_or_else(|p| panic!("{feature}: {p:?}"));
    HazardArea {
        id: c.id.expect("id"),
        shape: c.shape,
        props: c.props,
    }
}

fn setup(policy: Option<&str>) -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    store
        .put_zones(
            &[Zone {
                id: "Z-permitted".into(),
                facts: ZoneFacts {
                    name: "Permitted zone".into(),
                    kind: ZoneKind::Permitted,
                    source: Some("test".into()),
                    description: None,
                },
                geometry: MultiPolygon(vec![
                    polygon![(x: 36.0, y: 48.0), (x: 37.0, y: 48.0), (x: 37.0, y: 49.0), (x: 36.0, y: 49.0), (x: 36.0, y: 48.0)],
                ]),
            }],
            ChangeMeta {
                author: "test".into(),
                reason: "the permitted zone".into(),
                source: None,
            },
        )
        .unwrap();
    let mut ordinary = record("HA-ORDINARY", 38.5, 48.5, "ap-mine-persistent", true);
    ordinary["properties"]
        .as_object_mut()
        .unwrap()
        .remove("emplacement");
    let features = [
        record("EMP-OK", 36.1, 48.1, "ap-mine-nonpersistent-48h", true),
        record("EMP-OK2", 36.5, 48.5, "ap-mine-nonpersistent-15d", true),
        record("EMP-OUT", 38.0, 48.0, "ap-mine-nonpersistent-48h", true),
        record("EMP-EDGE", 36.995, 48.3, "ap-mine-nonpersistent-48h", true),
        record("EMP-PERSIST", 36.2, 48.2, "ap-mine-persistent", true),
        record(
            "EMP-INCOMPLETE",
            36.3,
            48.3,
            "ap-mine-nonpersistent-48h",
            false,
        ),
        ordinary,
    ];
    let mut w = store
        .begin(ChangeMeta {
            author: "test".into(),
            reason: "emplacement records".into(),
            source: None,
        })
        .unwrap();
    for f in &features {
        w.put_area(&area(f)).unwrap();
    }
    w.commit().unwrap();
    let mut tokens = Vec::new();
    for role in ["field", "officer", "auditor", "admin"] {
        let secret = store
            .create_token(&format!("A {role}"), role, Some("Org"), None)
            .unwrap()
            .0;
        tokens.push((role, secret));
    }
    let state = AppState::new(store, Catalogue::builtin()).unwrap();
    if let Some(p) = policy {
        state.set_policy(Some(
            cairn_audit::run::LoadedPolicy::from_text(p, "test-policy.toml", dir.path()).unwrap(),
        ));
    }
    T {
        _dir: dir,
        state,
        tokens,
    }
}

struct Reply {
    status: StatusCode,
    ct: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn call(
    t: &T,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<(&str, &str)>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(tok) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {tok}"));
    }
    let req = match body {
        Some((ct, b)) => req
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
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

/// The (rule, record) pairs of an audit's violations.
fn pairs(audit: &Value) -> Vec<(String, String)> {
    audit["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap().to_string(),
                v["record"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expected(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const NOW_VIOLATIONS: &[(&str, &str)] = &[
    ("permitted-zones", "EMP-EDGE"),
    ("permitted-zones", "EMP-OUT"),
    ("ap-lifetime", "EMP-PERSIST"),
    ("apii-record", "EMP-INCOMPLETE"),
];

#[tokio::test]
async fn the_configured_policy_finds_exactly_the_expected_violations() {
    let t = setup(Some(POLICY));
    let r = call(&t, "GET", "/api/audit", Some(t.token("auditor")), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.ct, "application/json");
    let a = r.json();
    assert_eq!(pairs(&a), expected(NOW_VIOLATIONS), "{a:#}");
    assert_eq!(a["policy"], "Test supply conditions");
    assert_eq!(a["emplacement_records"], 6);
    assert_eq!(
        a["counts"],
        json!({"permitted-zones": 2, "ap-lifetime": 1, "apii-record": 1, "marking": 0})
    );
    assert_eq!(
        a["rules"],
        json!(["permitted-zones", "ap-lifetime", "apii-record", "marking"])
    );
    let edge = &a["violations"][0];
    assert!(
        edge["summary"].as_str().unwrap().contains("partly"),
        "{edge}"
    );
    assert!(
        a["violations"][1]["summary"]
            .as_str()
            .unwrap()
            .contains("wholly")
    );
    let missing = a["violations"][3]["evidence"]["missing"].to_string();
    for what in [
        "reference points",
        "number of devices",
        "emplacing method",
        "anti-handling",
    ] {
        assert!(missing.contains(what), "{what} not in {missing}");
    }
    assert!(
        a["violations"][2]["summary"]
            .as_str()
            .unwrap()
            .contains("persistent")
    );

    // Ten days on, the unmarked record has missed its marking deadline; the others were marked
    // when first recorded.
    let later = (chrono::Utc::now() + chrono::Duration::days(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = call(
        &t,
        "GET",
        &format!("/api/audit?at={}", later.replace('+', "%2B")),
        Some(t.token("officer")),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut want = expected(NOW_VIOLATIONS);
    want.push(("marking".into(), "EMP-INCOMPLETE".into()));
    assert_eq!(pairs(&r.json()), want);

    let r = call(
        &t,
        "GET",
        "/api/audit?at=yesterday",
        Some(t.token("auditor")),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["detail"].as_str().unwrap().contains("at"));
    let r = call(
        &t,
        "GET",
        "/api/audit?format=xml",
        Some(t.token("auditor")),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["detail"].as_str().unwrap().contains("format"));
}

#[tokio::test]
async fn only_auditors_officers_and_admins_may_audit() {
    let t = setup(Some(POLICY));
    let r = call(&t, "GET", "/api/audit", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.ct, "application/problem+json");
    let r = call(&t, "GET", "/api/audit", Some("not-a-token"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&t, "GET", "/api/audit", Some(t.token("field")), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["detail"].as_str().unwrap().contains("field"));
    for role in ["officer", "auditor", "admin"] {
        let r = call(&t, "GET", "/api/audit", Some(t.token(role)), None).await;
        assert_eq!(r.status, StatusCode::OK, "{role}: {}", r.body);
    }
    // The same for a posted policy: refused before the body is looked at.
    let body = Some(("application/toml", POLICY));
    let r = call(&t, "POST", "/api/audit", None, body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&t, "POST", "/api/audit", Some(t.token("field")), body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&t, "POST", "/api/audit", Some(t.token("admin")), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn a_posted_policy_is_run_and_a_bad_one_is_refused_naming_its_line() {
    let t = setup(None);
    let auditor = Some(t.token("auditor"));
    // No policy configured: 404, saying how to configure one.
    let r = call(&t, "GET", "/api/audit", auditor, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.ct, "application/problem+json");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("no policy configured (cairn serve --policy FILE)")
    );

    let only_lifetime = "[rules.ap-lifetime]\nmax-self-destruct = \"15 days\"\nmax-self-deactivation = \"120 days\"\n";
    let r = call(
        &t,
        "POST",
        "/api/audit",
        auditor,
        Some(("text/plain; charset=utf-8", only_lifetime)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        pairs(&r.json()),
        expected(&[("ap-lifetime", "EMP-PERSIST")])
    );

    // A number without a unit on line 8.
    let bad = POLICY.replace("\"15 days\"", "15");
    let r = call(
        &t,
        "POST",
        "/api/audit",
        auditor,
        Some(("application/toml", &bad)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.ct, "application/problem+json");
    let p = r.json();
    assert_eq!(p["line"], 8, "{p}");
    assert!(
        p["detail"].as_str().unwrap().starts_with("policy line 8: "),
        "{p}"
    );

    // Broken TOML, a zone the store lacks, and a settlements file the server will not read.
    for (text, line) in [
        ("[policy]\nname = \"x\"\n[rules.marking\n", 3),
        ("[rules.permitted-zones]\nzones = [\"Z-elsewhere\"]\n", 2),
        (
            "[policy]\nname = \"x\"\n[rules.settlement-distance]\nminimum = \"1 km\"\nsettlements = \"/etc/towns.geojson\"\n",
            5,
        ),
    ] {
        let r = call(
            &t,
            "POST",
            "/api/audit",
            auditor,
            Some(("application/toml", text)),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{text}: {}", r.body);
        let p = r.json();
        assert_eq!(p["line"], line, "{text}: {p}");
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("line {line}")),
            "{p}"
        );
    }

    let r = call(
        &t,
        "POST",
        "/api/audit",
        auditor,
        Some(("application/json", "{}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.ct, "application/problem+json");
    let huge = format!("# {}\n", "x".repeat(70 << 10));
    let r = call(
        &t,
        "POST",
        "/api/audit",
        auditor,
        Some(("application/toml", &huge)),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.ct, "application/problem+json");
}

#[tokio::test]
async fn a_configured_policy_that_does_not_fit_the_store_is_a_conflict_naming_its_line() {
    let t = setup(Some(
        "[policy]\nname = \"x\"\n[rules.permitted-zones]\nzone-kind = \"oblast\"\n",
    ));
    let r = call(&t, "GET", "/api/audit", Some(t.token("auditor")), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let p = r.json();
    assert_eq!(p["line"], 4);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .starts_with("test-policy.toml line 4: "),
        "{p}"
    );
}

#[tokio::test]
async fn the_violations_come_as_csv() {
    let t = setup(Some(POLICY));
    let r = call(
        &t,
        "GET",
        "/api/audit?format=csv",
        Some(t.token("auditor")),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.ct, "text/csv; charset=utf-8");
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(lines[0], "rule,record,began,summary,catalogue_version");
    // Every row names the catalogue version the audit used: the store's first.
    assert!(lines[1..].iter().all(|l| l.ends_with(",1")), "{}", r.body);
    let got: Vec<(String, String)> = lines[1..]
        .iter()
        .map(|l| {
            let mut c = l.splitn(4, ',');
            (c.next().unwrap().to_string(), c.next().unwrap().to_string())
        })
        .collect();
    assert_eq!(got, expected(NOW_VIOLATIONS));
    // The first AP groups were laid at 06:00 on 1 March; the summary is quoted (it has commas).
    assert!(
        lines[1].starts_with("permitted-zones,EMP-EDGE,2026-03-01T06:00:00Z,"),
        "{}",
        lines[1]
    );

    let posted = call(
        &t,
        "POST",
        "/api/audit?format=csv",
        Some(t.token("auditor")),
        Some(("application/toml", POLICY)),
    )
    .await;
    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(posted.body, r.body);
}

#[tokio::test]
async fn the_audit_uses_the_catalogue_version_in_force_at_its_time() {
    let t = setup(Some(POLICY));
    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let q = |at: &str| format!("/api/audit?at={}", at.replace('+', "%2B"));
    let earlier = call(&t, "GET", &q(&before), Some(t.token("auditor")), None).await;
    assert_eq!(earlier.status, StatusCode::OK, "{}", earlier.body);
    assert_eq!(earlier.json()["catalogue_version"], 1);
    assert_eq!(pairs(&earlier.json()), expected(NOW_VIOLATIONS));

    // Version 2 records the 15-day type as persistent: EMP-OK2 breaks the lifetime rule.
    let shipped = cairn_core::catalogue::BUILTIN_TOML;
    let entry = "category = \"ap-mine\"\npersistence = \"non-persistent\"\nsd_max_hours = 360\nsd_fail = 0.10\nsda_max_days = 120\nresidual = 0.001\nclaimed_sd_fail = 0.0001\n";
    let changed = shipped.replace(
        entry,
        "category = \"ap-mine\"\npersistence = \"persistent\"\n",
    );
    assert_ne!(changed, shipped);
    t.state
        .with_store(|s| {
            s.import_catalogue(
                &changed,
                ChangeMeta {
                    author: "officer".into(),
                    reason: "field reports".into(),
                    source: None,
                },
            )
        })
        .unwrap();

    let now = call(&t, "GET", "/api/audit", Some(t.token("auditor")), None).await;
    let a = now.json();
    assert_eq!(a["catalogue_version"], 2);
    let mut want = expected(NOW_VIOLATIONS);
    want.insert(2, ("ap-lifetime".into(), "EMP-OK2".into()));
    assert_eq!(pairs(&a), want, "{a:#}");
    let csv = call(
        &t,
        "GET",
        "/api/audit?format=csv",
        Some(t.token("auditor")),
        None,
    )
    .await;
    assert!(
        csv.body.lines().skip(1).all(|l| l.ends_with(",2")),
        "{}",
        csv.body
    );

    // At the time before the change: the earlier answer, byte for byte.
    let again = call(&t, "GET", &q(&before), Some(t.token("auditor")), None).await;
    assert_eq!(again.body, earlier.body);
}
