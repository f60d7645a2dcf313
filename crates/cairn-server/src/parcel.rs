//! `POST /api/parcel/extract[?lang=uk|en][&format=json|html|pdf]`: "Is my land affected?". The
//! body is the parcel — GeoJSON (a Polygon or MultiPolygon, a Feature or a FeatureCollection) or
//! KML — at most [`MAX_PARCEL_BYTES`], at most `cairn_core::parcel::MAX_PARCEL_KM2`. The answer
//! lists every hazard touching it with the land it shares (`cairn_core::parcel`), the released
//! land touching it with its handover certificate, the data's date and the caveat.
//!
//! The public is answered from the public view, as the point check is: the candidates come from
//! the public index, so a restricted record is met only as its generalised danger zone (its
//! polygon is what is intersected: nothing of the true outline is measured), and released land
//! only of records the public may see in detail. Callers with a token see every record.
//! Nothing is written.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cairn_core::lang::Lang;
use cairn_core::parcel::{Extract, Touch, check_parcel, extract_html, extract_svg};
use cairn_core::release::shape_polygons;
use cairn_core::{Classification, Status, WireEnum};
use cairn_index::Filter;
use geo::BoundingRect;
use geo_types::MultiPolygon;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The largest body accepted: 1 MiB (a parcel of 20,000 vertices in GeoJSON is about 800 kB).
pub const MAX_PARCEL_BYTES: usize = 1 << 20;

const PARAMS: &[&str] = &["lang", "format"];

fn problems(ps: Vec<cairn_core::Problem>) -> ApiError {
    let text = ps
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    if ps
        .iter()
        .any(|p| p.message.contains("km²") || p.message.contains("vertices"))
    {
        crate::limits::over_cost(text)
    } else {
        ApiError::bad_request(text)
    }
}

/// `POST /api/parcel/extract`.
pub async fn extract(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    crate::docs::only_params(&q, PARAMS)?;
    let lang = crate::docs::lang(&q, &headers)?;
    let format = crate::docs::format(&q, &["json", "html", "pdf"])?;
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "body: a parcel may be at most {} KiB of GeoJSON or KML",
                MAX_PARCEL_BYTES / 1024
            ))
        } else {
            ApiError::bad_request(format!("body: {e}"))
        }
    })?;
    if body.len() > MAX_PARCEL_BYTES {
        return Err(ApiError::too_large(format!(
            "body: a parcel may be at most {} KiB of GeoJSON or KML, not {} KiB",
            MAX_PARCEL_BYTES / 1024,
            body.len() / 1024
        )));
    }
    let public = !caller.role.sees_restricted();
    state
        .compute("a parcel extract", move |state| {
            answer(state, &body, public, lang, format)
        })
        .await?
}

fn answer(
    state: &AppState,
    body: &[u8],
    public: bool,
    lang: Lang,
    format: &str,
) -> Result<Response, ApiError> {
    let parcel = cairn_formats::parcel::read_parcel(body, "body").map_err(problems)?;
    let parcel_m2 = check_parcel(&parcel, "body").map_err(problems)?;
    let Some(bb) = parcel.bounding_rect() else {
        return Err(ApiError::bad_request("body: the parcel is empty"));
    };
    let filter = Filter {
        statuses: Some(
            <Status as WireEnum>::ALL
                .iter()
                .map(|(s, _)| *s)
                .filter(|s| s.is_open_hazard())
                .collect(),
        ),
        categories: None,
    };
    // Released land is read from the store (releases are not in the read model); those whose
    // box meets the parcel's are kept.
    let meets = |r: &geo_types::Rect<f64>| {
        r.min().x <= bb.max().x
            && r.max().x >= bb.min().x
            && r.min().y <= bb.max().y
            && r.max().y >= bb.min().y
    };
    let releases: Vec<_> = state
        .with_store(|s| s.all_releases())
        .map_err(ApiError::from)?
        .into_iter()
        .filter(|r| r.geometry.bounding_rect().is_some_and(|rb| meets(&rb)))
        .collect();
    // Candidates from the model, as the point check finds them.
    let (candidates, data_date) = {
        let m = state.model();
        let mut out: Vec<(Touch, MultiPolygon<f64>)> = Vec::new();
        if public {
            for h in m.public_index.in_bbox(bb.min(), bb.max(), &filter) {
                let Some(f) = m.public.get(&h.id) else {
                    continue;
                };
                let touch = if f.status_label == "danger-zone" {
                    Touch::DangerZone
                } else {
                    Touch::Hazard {
                        id: f.id.to_string(),
                        name: f.name().map(str::to_string),
                        status: Status::parse(f.status_label).unwrap_or(Status::Confirmed),
                    }
                };
                out.push((touch, shape_polygons(&f.shape)));
            }
        } else {
            for h in m.index.in_bbox(bb.min(), bb.max(), &filter) {
                let Some(r) = m.areas.get(&h.id) else {
                    continue;
                };
                out.push((
                    Touch::Hazard {
                        id: r.area.id.clone(),
                        name: r.area.props.name.clone(),
                        status: r.area.props.status,
                    },
                    shape_polygons(&r.area.shape),
                ));
            }
        }
        // Released land of records the caller may see: every record's, or the public records'.
        for r in releases {
            let visible = m
                .areas
                .get(r.facts.area_id.as_str())
                .is_some_and(|a| !public || a.area.props.classification == Classification::Public);
            if !visible {
                continue;
            }
            out.push((
                Touch::Released {
                    release_id: r.id.clone(),
                    certificate: r.facts.certificate.clone(),
                    method: r.facts.method,
                    released_at: r.facts.released_at,
                    area_id: r.facts.area_id.clone(),
                },
                r.geometry,
            ));
        }
        (out, m.date_for(!public))
    };
    let e = Extract::new(parcel, parcel_m2, candidates, data_date, chrono::Utc::now());
    let cache = if public {
        "no-cache"
    } else {
        "private, no-store"
    };
    Ok(match format {
        "html" => crate::docs::document(
            extract_html(&e, lang, &extract_svg(&e, lang)).into_bytes(),
            false,
            lang,
            cache,
            "",
        ),
        "pdf" => crate::docs::document(
            cairn_docs::extract::extract_pdf(&e, lang),
            true,
            lang,
            cache,
            &format!("parcel-extract-{}", lang.as_str()),
        ),
        _ => {
            let mut r = Json(extract_json(&e, lang)).into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(cache) {
                r.headers_mut().insert(axum::http::header::CACHE_CONTROL, v);
            }
            r
        }
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0 + 0.0
}

fn extract_json(e: &Extract, lang: Lang) -> Value {
    let t = cairn_core::parcel::ExtractText::of(lang);
    let hazards: Vec<Value> = e
        .hazards()
        .map(|l| match &l.touch {
            Touch::Hazard { id, name, status } => {
                let mut v = json!({
                    "kind": "hazardous-area",
                    "id": id,
                    "status": status.as_str(),
                    "overlap_m2": round1(l.m2),
                    "overlap_pct": (e.share(l.m2) * 100.0).round() / 100.0,
                });
                if let Some(n) = name {
                    v["name"] = json!(n);
                }
                v
            }
            _ => json!({
                "kind": "danger-zone",
                "status": "danger-zone",
                "overlap_m2": round1(l.m2),
                "overlap_pct": (e.share(l.m2) * 100.0).round() / 100.0,
                "upper_bound": true,
            }),
        })
        .collect();
    let released: Vec<Value> = e
        .released()
        .filter_map(|l| match &l.touch {
            Touch::Released {
                release_id,
                certificate,
                method,
                released_at,
                area_id,
            } => Some(json!({
                "release_id": release_id,
                "area_id": area_id,
                "certificate": certificate,
                "certificate_href": format!("/api/releases/{release_id}/certificate"),
                "method": method.as_str(),
                "released_at": released_at,
                "overlap_m2": round1(l.m2),
                "overlap_pct": (e.share(l.m2) * 100.0).round() / 100.0,
            })),
            _ => None,
        })
        .collect();
    let danger = !hazards.is_empty();
    json!({
        "lang": lang.as_str(),
        "parcel_m2": round1(e.parcel_m2),
        "data_date": e.data_date,
        "made_at": e.made_at,
        "hazards": hazards,
        "released": released,
        "danger": danger,
        "advice": if danger { t.danger_advice } else { t.no_hazards },
        "caveat": t.caveat,
        "certificate_note": t.certificate_note,
    })
}
