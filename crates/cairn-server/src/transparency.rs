//! `GET /api/transparency?from=YYYY-MM-DD&to=YYYY-MM-DD&format=html|csv|pdf[&edition=public|restricted][&lang=uk|en]`:
//! the Ottawa Convention Article 7 style report (`cairn_core::transparency`), the page and the PDF
//! in Ukrainian or English (`lang`, else `Accept-Language`, else English). Without a token,
//! and for field teams, the public edition; officers, auditors and administrators get the
//! restricted edition unless they ask for the public one. The report is computed on a blocking
//! thread over a read-only connection of its own, so it holds neither the runtime nor the
//! store's write lock.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cairn_core::WireEnum;
use cairn_core::transparency::{Edition, Period, render_csv, render_html_in};
use chrono::NaiveDate;

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiError;

const PARAMS: &[&str] = &["from", "to", "format", "edition", "lang"];

fn day(q: &HashMap<String, String>, name: &str) -> Result<NaiveDate, ApiError> {
    let v = q
        .get(name)
        .ok_or_else(|| ApiError::bad_request(format!("{name}: is required (YYYY-MM-DD)")))?;
    v.trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{name}: {v:?} is not a date (YYYY-MM-DD)")))
}

/// `GET /api/transparency`.
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    if let Some(k) = q.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "{k}: is not a parameter of this report; the parameters are {}",
            PARAMS.join(", ")
        )));
    }
    let from = day(&q, "from")?;
    let to = day(&q, "to")?;
    let period = Period::new(from, to).map_err(|p| ApiError::bad_request(p.to_string()))?;
    let format = crate::docs::format(&q, &["html", "csv", "pdf"])?;
    let csv = format == "csv";
    let lang = crate::docs::lang(&q, &headers)?;
    let privileged = matches!(caller.role, Role::Officer | Role::Auditor | Role::Admin);
    let edition = match q.get("edition") {
        None if privileged => Edition::Restricted,
        None => Edition::Public,
        Some(e) => Edition::parse(e).map_err(|m| ApiError::bad_request(format!("edition: {m}")))?,
    };
    if edition == Edition::Restricted && !privileged {
        let what = "the restricted edition of the transparency report";
        return Err(if caller.role == Role::Public {
            ApiError::unauthorized(format!(
                "{what} needs a token of role officer, auditor or admin"
            ))
        } else {
            ApiError::forbidden(format!(
                "{what} is for roles officer, auditor, admin; this token's role is {}",
                caller.role.as_str()
            ))
        });
    }
    let catalogue = state.catalogue().clone();
    // Assembled and rendered on the compute pool (bounded, with a budget); the public's are also
    // capped (`limits.rs`).
    let body = state
        .compute("the transparency report", move |state| {
            let store = state.with_store(|s| s.reopen(true))?;
            let report =
                store.transparency_report(&catalogue, period, edition, chrono::Utc::now())?;
            Ok::<_, cairn_store::StoreError>(match format {
                "csv" => render_csv(&report).into_bytes(),
                "pdf" => cairn_docs::transparency::report_pdf(&report, lang),
                _ => render_html_in(&report, lang).into_bytes(),
            })
        })
        .await?
        .map_err(ApiError::from)?;
    let cache = match edition {
        Edition::Public => "no-cache",
        Edition::Restricted => "private, no-store",
    };
    let name = format!(
        "attachment; filename=\"transparency-{from}-{to}-{}.csv\"",
        edition.as_str()
    );
    Ok(if csv {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CACHE_CONTROL, cache.to_string()),
                (header::CONTENT_DISPOSITION, name),
            ],
            body,
        )
            .into_response()
    } else {
        crate::docs::document(
            body,
            format == "pdf",
            lang,
            cache,
            &format!(
                "transparency-{from}-{to}-{}-{}",
                edition.as_str(),
                lang.as_str()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use cairn_core::{
        AreaProperties, Catalogue, Classification, DeviceGroup, HazardArea, Shape, Status,
    };
    use cairn_store::prelude::*;
    use cairn_store::sqlite::OpenMode;
    use cairn_store::{ChangeMeta, SqliteStore};
    use geo_types::polygon;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    fn area(id: &str, class: Classification, ty: &str, x: f64) -> HazardArea {
        HazardArea {
            id: id.into(),
            shape: Shape::Polygon(
                polygon![(x: x, y: 49.0), (x: x + 0.01, y: 49.0), (x: x + 0.01, y: 49.01), (x: x, y: 49.0)],
            ),
            props: AreaProperties {
                name: None,
                status: Status::Suspected,
                classification: class,
                evidence: None,
                devices: vec![DeviceGroup {
                    device_type: ty.into(),
                    quantity: Some(12),
                    emplaced_from: None,
                    emplaced_to: None,
                    how_known: None,
                }],
                reference_points: vec![],
                marking: None,
                organisation: None,
                reported_at: None,
                emplacement: None,
                extra: Default::default(),
            },
        }
    }

    #[tokio::test]
    async fn editions_by_role_and_bad_parameters_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
        let mut w = store
            .begin(ChangeMeta {
                author: "t".into(),
                reason: "t".into(),
                source: None,
            })
            .unwrap();
        let migrate = cairn_core::command::Command::Migrate;
        let admin = cairn_core::command::Actor::ADMIN;
        w.write_area(
            migrate,
            admin,
            &area(
                "HA-000001",
                Classification::Public,
                "ap-mine-persistent",
                36.0,
            ),
        )
        .unwrap();
        w.write_area(
            migrate,
            admin,
            &area(
                "HA-000002",
                Classification::Restricted,
                "ap-mine-nonpersistent-48h",
                36.1,
            ),
        )
        .unwrap();
        w.commit().unwrap();
        let officer = store
            .create_token("Olena", "officer", None, None)
            .unwrap()
            .0;
        let field = store
            .create_token("Team 7", "field", Some("Example Demining"), None)
            .unwrap()
            .0;
        let state = AppState::new(store, Catalogue::builtin()).unwrap();
        let get = |uri: &str, token: Option<&str>| {
            let mut req = Request::builder().uri(uri);
            if let Some(t) = token {
                req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
            }
            let r = crate::router(state.clone()).oneshot(req.body(Body::empty()).unwrap());
            async move {
                let r = r.await.unwrap();
                let status = r.status();
                let ct = r.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .to_string();
                let b = r.into_body().collect().await.unwrap().to_bytes();
                (status, ct, String::from_utf8_lossy(&b).into_owned())
            }
        };
        let q = "/api/transparency?from=2026-01-01&to=2026-06-30";
        for token in [None, Some(field.as_str())] {
            let (s, ct, body) = get(q, token).await;
            assert_eq!(s, StatusCode::OK, "{body}");
            assert!(ct.starts_with("text/html"), "{ct}");
            assert!(body.contains("data-edition=\"public\""), "{body}");
            assert!(
                body.contains("HA-000001") && !body.contains("HA-000002"),
                "{body}"
            );
            assert!(!body.contains("ap-mine-nonpersistent-48h"), "{body}");
        }
        let (s, ct, body) = get(&format!("{q}&format=csv"), Some(&officer)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(ct.starts_with("text/csv"), "{ct}");
        assert!(
            body.contains("report,2026-01-01/2026-06-30,edition,restricted"),
            "{body}"
        );
        assert!(
            body.contains("HA-000002/0/type,ap-mine-nonpersistent-48h"),
            "{body}"
        );
        let (_, _, body) = get(&format!("{q}&format=csv&edition=public"), Some(&officer)).await;
        assert!(!body.contains("HA-000002"), "{body}");
        for (uri, token, status, word) in [
            (
                "/api/transparency?to=2026-01-01",
                None,
                StatusCode::BAD_REQUEST,
                "from",
            ),
            (
                "/api/transparency?from=2026-01-01&to=2026-02-30",
                None,
                StatusCode::BAD_REQUEST,
                "to",
            ),
            (
                "/api/transparency?from=2026-02-01&to=2026-01-01",
                None,
                StatusCode::BAD_REQUEST,
                "from",
            ),
            (
                &format!("{q}&format=docx") as &str,
                None,
                StatusCode::BAD_REQUEST,
                "format",
            ),
            (
                &format!("{q}&year=2026"),
                None,
                StatusCode::BAD_REQUEST,
                "year",
            ),
            (
                &format!("{q}&edition=restricted"),
                None,
                StatusCode::UNAUTHORIZED,
                "token",
            ),
            (
                &format!("{q}&edition=restricted"),
                Some(field.as_str()),
                StatusCode::FORBIDDEN,
                "field",
            ),
        ] {
            let (s, ct, body) = get(uri, token).await;
            assert_eq!(s, status, "{uri}: {body}");
            assert_eq!(ct, "application/problem+json", "{uri}");
            let detail = serde_json::from_str::<serde_json::Value>(&body).unwrap()["detail"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(detail.contains(word), "{uri}: {detail}");
        }
    }
}
