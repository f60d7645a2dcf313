//! Activities, land release, post-release finds, status changes and handover certificates:
//! `POST /api/activities`, `POST /api/releases`, `GET /api/releases/{id}`,
//! `POST /api/releases/{id}/finds`, `GET /api/releases/{id}/certificate`,
//! `GET /api/areas/{id}/releases` and `POST /api/areas/{id}/status`.
//!
//! Officers and admins write; field teams may add activities; auditors read. The public is
//! answered 401. Every write is attributed to the token's holder, is one transaction (a refused
//! request changes nothing) and is followed by a reload of the read model, so checks, items and
//! tiles show the new geometry and status at once.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::certificate::{CertificateInput, certificate_html};
use cairn_core::lang::Lang;
use cairn_core::release::{Activity, Find, Release, ReleaseMethod, shape_polygons};
use cairn_core::{Evidence, EvidenceKind, Problem, Status, WireEnum};
use cairn_formats::geojson::geometry_value;
use cairn_formats::release::{read_activity, read_polygons};
use cairn_store::sqlite::release::{FindRequest, NewActivity, ReleaseError, ReleaseRequest};
use geo_types::{Geometry, Point};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiError;

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Public => "public",
        Role::Field => "field",
        Role::Officer => "officer",
        Role::Auditor => "auditor",
        Role::Admin => "admin",
    }
}

/// Who may do what: the roles allowed, and the name the write is attributed to.
fn allow(caller: &Caller, roles: &[Role], what: &str) -> Result<String, ApiError> {
    if roles.contains(&caller.role) {
        return Ok(caller.name.clone().unwrap_or_else(|| "unknown".into()));
    }
    let names: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
    if caller.role == Role::Public {
        return Err(ApiError::unauthorized(format!(
            "{what} needs a token (Authorization: Bearer TOKEN) of role {}",
            names.join(", ")
        )));
    }
    Err(ApiError::forbidden(format!(
        "{what} is for roles {}; this token's role is {}",
        names.join(", "),
        role_name(caller.role)
    )))
}

const WRITERS: &[Role] = &[Role::Officer, Role::Admin];
const READERS: &[Role] = &[Role::Officer, Role::Admin, Role::Auditor];

fn problems_text(ps: &[Problem]) -> String {
    ps.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Maps a store refusal to a problem: a missing record named in the path is 404, one named in
/// the body 400; bad input 400; a transition the evidence does not support 409.
fn refusal(e: ReleaseError, path_field: Option<&str>) -> ApiError {
    match e {
        ReleaseError::NotFound(p) if Some(p.field.as_str()) == path_field => {
            ApiError::not_found(p.message)
        }
        ReleaseError::NotFound(p) => ApiError::bad_request(p.to_string()),
        ReleaseError::Invalid(ps) => ApiError::bad_request(problems_text(&ps)),
        ReleaseError::Refused(p) => ApiError::conflict(p.to_string()),
        ReleaseError::Store(e) => ApiError::from(e),
    }
}

fn body(b: Result<Json<Value>, JsonRejection>) -> Result<Map<String, Value>, ApiError> {
    let Json(v) = b?;
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(ApiError::bad_request("body must be a JSON object")),
    }
}

fn only(o: &Map<String, Value>, fields: &[&str], what: &str) -> Result<(), ApiError> {
    match o.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!(
            "{k}: is not a field of {what}; the fields are {}",
            fields.join(", ")
        ))),
        None => Ok(()),
    }
}

fn required_text(o: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match o.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiError::bad_request(format!("{name}: is required")))
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "{name}: must be text, not {other}"
        ))),
    }
}

fn optional_text(o: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > cairn_core::release::MAX_TEXT => {
            Err(ApiError::bad_request(format!(
                "{name}: is longer than {} bytes",
                cairn_core::release::MAX_TEXT
            )))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name}: must be text, not {other}"
        ))),
    }
}

fn number(o: &Map<String, Value>, name: &str) -> Result<Option<f64>, ApiError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name}: must be a number, not {other}"
        ))),
    }
}

/// The wire form of an activity.
pub fn activity_json(a: &Activity) -> Value {
    let mut v = serde_json::to_value(&a.facts).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), Value::from(a.id.clone()));
        o.insert(
            "geometry".into(),
            geometry_value(&Geometry::MultiPolygon(a.geometry.clone())),
        );
        o.insert(
            "worked_m2".into(),
            Value::from(round2(cairn_core::release::area_m2(&a.geometry))),
        );
    }
    v
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The wire form of a release, with its finds.
pub fn release_json(r: &Release, finds: &[Find]) -> Value {
    let f = &r.facts;
    json!({
        "id": r.id,
        "area_id": f.area_id,
        "method": f.method.as_str(),
        "activity_id": f.activity_id,
        "by": f.by,
        "released_at": f.released_at,
        "certificate": f.certificate,
        "certificate_href": format!("/api/releases/{}/certificate", r.id),
        "released_m2": round2(f.released_m2),
        "before_m2": round2(f.before_m2),
        "remaining_m2": round2(f.remaining_m2),
        "status_before": f.status_before.as_str(),
        "status_after": f.status_after.as_str(),
        "reason": f.reason,
        "geometry": geometry_value(&Geometry::MultiPolygon(r.geometry.clone())),
        "post_release_finds": finds.iter().map(find_json).collect::<Vec<_>>(),
    })
}

/// The wire form of a post-release find.
pub fn find_json(f: &Find) -> Value {
    let mut v = serde_json::to_value(&f.facts).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), Value::from(f.id.clone()));
        o.insert("lon".into(), Value::from(f.at.x()));
        o.insert("lat".into(), Value::from(f.at.y()));
    }
    v
}

fn created(v: Value, location: String) -> Response {
    let mut r = (StatusCode::CREATED, Json(v)).into_response();
    if let Ok(h) = header::HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, h);
    }
    r
}

/// `POST /api/activities`: records an activity (officers, admins and field teams).
pub async fn add_activity(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let by = allow(
        &caller,
        &[Role::Officer, Role::Admin, Role::Field],
        "recording an activity",
    )?;
    let o = body(b)?;
    let (facts, geometry) =
        read_activity(&Value::Object(o)).map_err(|ps| ApiError::bad_request(problems_text(&ps)))?;
    if caller.role == Role::Field {
        // A field team records work of its own organisation, on its organisation's areas or on
        // areas no organisation holds (such as one opened from a public report).
        let mine = caller.organisation.as_deref();
        let area_org = state
            .store({
                let area_id = facts.area_id.clone();
                move |_, s| s.get_area(&area_id, None)
            })
            .await?
            .map_err(ApiError::from)?
            .and_then(|a| a.area.props.organisation);
        let foreign_area = area_org.is_some() && area_org.as_deref() != mine;
        if mine.is_none() || mine != Some(facts.organisation.as_str()) || foreign_area {
            return Err(ApiError::forbidden(format!(
                "organisation: a field team records activities of its own organisation ({}) on its \
                 organisation's areas or unassigned ones; this is {:?} on an area of {:?}",
                mine.unwrap_or("none"),
                facts.organisation,
                area_org.as_deref().unwrap_or("no organisation")
            )));
        }
    }
    let new = NewActivity { facts, geometry };
    let a = state
        .store(move |state, s| s.add_activity(&new, &state.catalogue(), &by))
        .await?
        .map_err(|e| refusal(e, None))?;
    Ok(created(
        activity_json(&a),
        format!("/api/activities/{}", a.id),
    ))
}

/// `GET /api/activities/{id}`.
pub async fn get_activity(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    allow(&caller, READERS, "reading activities")?;
    let a = state
        .store({
            let id = id.clone();
            move |_, s| s.get_activity(&id)
        })
        .await?
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found(format!("no activity {id}")))?;
    Ok(Json(activity_json(&a)))
}

const RELEASE_FIELDS: &[&str] = &["area_id", "method", "activity_id", "geometry", "reason"];

/// `POST /api/releases`: releases part of an area (officers and admins).
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let by = allow(&caller, WRITERS, "releasing land")?;
    let o = body(b)?;
    only(&o, RELEASE_FIELDS, "a land release")?;
    let area_id = required_text(&o, "area_id")?;
    let activity_id = required_text(&o, "activity_id")?;
    let method = ReleaseMethod::parse(&required_text(&o, "method")?)
        .map_err(|m| ApiError::bad_request(format!("method: {m}")))?;
    let reason = optional_text(&o, "reason")?;
    let mut problems = Vec::new();
    let geometry = match o.get("geometry") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "geometry: is required: the Polygon or MultiPolygon of the land to release",
            ));
        }
        Some(g) => read_polygons(g, "geometry", &mut problems),
    };
    let geometry = match geometry {
        Some(g) if problems.is_empty() => g,
        _ => return Err(ApiError::bad_request(problems_text(&problems))),
    };
    let req = ReleaseRequest {
        area_id,
        method,
        activity_id,
        geometry,
        reason,
    };
    let out = state
        .store(move |state, s| {
            let out = s.release_land(&req, &by)?;
            state.catch_up_after_write();
            Ok(out)
        })
        .await?
        .map_err(|e| refusal(e, None))?;
    let mut v = release_json(&out.release, &[]);
    v["area"] = json!({
        "id": out.area.id,
        "status": out.area.props.status.as_str(),
        "remaining_m2": round2(out.release.facts.remaining_m2),
    });
    Ok(created(v, format!("/api/releases/{}", out.release.id)))
}

/// `GET /api/releases/{id}`.
pub async fn get_release(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    allow(&caller, READERS, "reading land releases")?;
    let (r, finds) = state
        .store({
            let id = id.clone();
            move |_, s| {
                Ok::<_, cairn_store::StoreError>((s.get_release(&id)?, s.finds_for_release(&id)?))
            }
        })
        .await?
        .map_err(ApiError::from)?;
    let r = r.ok_or_else(|| ApiError::not_found(format!("no land release {id}")))?;
    Ok(Json(release_json(&r, &finds)))
}

const FIND_FIELDS: &[&str] = &["lon", "lat", "type", "count", "depth_cm", "description"];

/// `POST /api/releases/{id}/finds`: an item found on released land (officers and admins).
pub async fn add_find(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let by = allow(&caller, WRITERS, "recording a post-release find")?;
    let o = body(b)?;
    only(&o, FIND_FIELDS, "a post-release find")?;
    let lon = number(&o, "lon")?.ok_or_else(|| ApiError::bad_request("lon: is required"))?;
    let lat = number(&o, "lat")?.ok_or_else(|| ApiError::bad_request("lat: is required"))?;
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ApiError::bad_request(format!(
            "lon: must be WGS 84 degrees from -180 to 180, not {lon}"
        )));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad_request(format!(
            "lat: must be WGS 84 degrees from -90 to 90, not {lat}"
        )));
    }
    let count = match o.get("count") {
        None | Some(Value::Null) => 1,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|c| c >= 1) => n.as_u64().unwrap_or(1),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "count: must be a whole number of at least 1, not {other}"
            )));
        }
    };
    let req = FindRequest {
        release_id: id,
        at: Point::new(lon, lat),
        device_type: required_text(&o, "type")?,
        count,
        depth_cm: number(&o, "depth_cm")?,
        description: optional_text(&o, "description")?,
    };
    let out = state
        .store(move |state, s| {
            let out = s.record_find(&req, &state.catalogue(), &by)?;
            state.catch_up_after_write();
            Ok(out)
        })
        .await?
        .map_err(|e| refusal(e, Some("release_id")))?;
    let mut v = find_json(&out.find);
    v["area"] = json!({
        "id": out.area.id,
        "status": out.area.props.status.as_str(),
        "radius_m": out.find.facts.radius_m,
    });
    Ok(created(
        v,
        format!("/api/releases/{}", out.find.facts.release_id),
    ))
}

/// `GET /api/areas/{id}/releases`: an area's releases, finds and land-release statistics.
pub async fn area_releases(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    allow(&caller, READERS, "reading land releases")?;
    let area = state.model().areas.get(id.as_str()).cloned();
    let area = area.ok_or_else(|| ApiError::not_found(format!("no hazardous area {id}")))?;
    let (releases, finds, activities) = state
        .store({
            let id = id.clone();
            move |_, s| {
                let rs = s.releases_for_area(&id)?;
                let mut finds = Vec::new();
                for r in &rs {
                    finds.push(s.finds_for_release(&r.id)?);
                }
                Ok::<_, cairn_store::StoreError>((rs, finds, s.activities_for_area(&id)?))
            }
        })
        .await?
        .map_err(ApiError::from)?;
    let mut by_method = Map::new();
    for (m, name) in ReleaseMethod::ALL {
        let sum: f64 = releases
            .iter()
            .filter(|r| r.facts.method == *m)
            .map(|r| r.facts.released_m2)
            .sum();
        by_method.insert((*name).into(), Value::from(round2(sum)));
    }
    let released: f64 = releases.iter().map(|r| r.facts.released_m2).sum();
    let remaining = if area.area.props.status == Status::Closed {
        0.0
    } else {
        cairn_core::release::area_m2(&shape_polygons(&area.area.shape))
    };
    let (found, destroyed) = activities.iter().fold((0, 0), |t, a| {
        let (f, d) = a.device_totals();
        (t.0 + f, t.1 + d)
    });
    let n_finds: usize = finds.iter().map(Vec::len).sum();
    Ok(Json(json!({
        "area_id": id,
        "status": area.area.props.status.as_str(),
        "statistics": {
            "original_m2": round2(released + remaining),
            "released_m2": round2(released),
            "released_m2_by_method": by_method,
            "remaining_m2": round2(remaining),
            "releases": releases.len(),
            "devices_found": found,
            "devices_destroyed": destroyed,
            "post_release_finds": n_finds,
        },
        "activities": activities.iter().map(|a| json!({
            "id": a.id, "kind": a.facts.kind.as_str(), "organisation": a.facts.organisation,
            "started": a.facts.started, "ended": a.facts.ended,
        })).collect::<Vec<_>>(),
        "releases": releases.iter().zip(&finds).map(|(r, f)| release_json(r, f)).collect::<Vec<_>>(),
    })))
}

/// `GET /api/releases/{id}/certificate[?lang=uk|en][&format=html|pdf]`: the handover certificate
/// as a printable HTML page (the default) or a PDF, in Ukrainian or English (`lang`, else the
/// `Accept-Language` header, else English).
pub async fn certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    q: Result<
        axum::extract::Query<std::collections::HashMap<String, String>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Response, ApiError> {
    let axum::extract::Query(q) = q?;
    crate::docs::only_params(&q, &["lang", "format"])?;
    let lang = crate::docs::lang(&q, &headers)?;
    let pdf = crate::docs::pdf_format(&q, &["html", "pdf"])?;
    allow(&caller, READERS, "a handover certificate")?;
    let body = state
        .store({
            let id = id.clone();
            move |_, s| certificate_doc(s, &id, lang, pdf)
        })
        .await?
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found(format!("no land release {id}")))?;
    Ok(crate::docs::document(
        body,
        pdf,
        lang,
        "private, no-store",
        &format!("certificate-{id}-{}", lang.as_str()),
    ))
}

/// The certificate page of a release in English, or `None` when there is no such release.
pub fn certificate_page(
    s: &dyn cairn_store::Backend,
    id: &str,
) -> Result<Option<String>, cairn_store::StoreError> {
    Ok(certificate_doc(s, id, Lang::En, false)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The certificate of a release as HTML or PDF in `lang`, or `None` when there is no such
/// release.
pub fn certificate_doc(
    s: &dyn cairn_store::Backend,
    id: &str,
    lang: Lang,
    pdf: bool,
) -> Result<Option<Vec<u8>>, cairn_store::StoreError> {
    let Some(release) = s.get_release(id)? else {
        return Ok(None);
    };
    let corrupt = |m: &str| cairn_store::StoreError::Corrupt {
        id: id.to_string(),
        message: m.to_string(),
    };
    let activity = s
        .get_activity(&release.facts.activity_id)?
        .ok_or_else(|| corrupt("its activity is missing"))?;
    let area = s
        .get_area(&release.facts.area_id, None)?
        .ok_or_else(|| corrupt("its area is missing"))?
        .area;
    let remaining = (area.props.status != Status::Closed).then(|| shape_polygons(&area.shape));
    let finds = s.finds_for_release(id)?.len() as u64;
    let input = CertificateInput {
        release: &release,
        activity: &activity,
        area: &area,
        remaining: remaining.as_ref(),
        post_release_finds: finds,
        printed_at: chrono::Utc::now(),
        lang,
    };
    Ok(Some(if pdf {
        cairn_docs::certificate::certificate_pdf(&input)
    } else {
        certificate_html(&input).into_bytes()
    }))
}

const STATUS_FIELDS: &[&str] = &["status", "reason", "evidence"];

/// `POST /api/areas/{id}/status` with `{"status", "reason", "evidence"?}`: reported → suspected
/// → confirmed, when the evidence supports it (officers and admins).
pub async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let by = allow(&caller, WRITERS, "changing an area's status")?;
    let o = body(b)?;
    only(&o, STATUS_FIELDS, "a status change")?;
    let to = Status::parse(&required_text(&o, "status")?)
        .map_err(|m| ApiError::bad_request(format!("status: {m}")))?;
    let reason = required_text(&o, "reason")?;
    let evidence = match o.get("evidence") {
        None | Some(Value::Null) => None,
        Some(Value::Object(e)) => {
            only(e, &["kind", "description", "source"], "evidence")
                .map_err(|e| ApiError::bad_request(format!("evidence.{}", e.detail)))?;
            let kind =
                EvidenceKind::parse(e.get("kind").and_then(Value::as_str).ok_or_else(|| {
                    ApiError::bad_request("evidence.kind: is required: direct or indirect")
                })?)
                .map_err(|m| ApiError::bad_request(format!("evidence.kind: {m}")))?;
            Some(Evidence {
                kind,
                description: optional_text(e, "description")
                    .map_err(|e| ApiError::bad_request(format!("evidence.{}", e.detail)))?,
                source: optional_text(e, "source")
                    .map_err(|e| ApiError::bad_request(format!("evidence.{}", e.detail)))?,
            })
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "evidence: must be an object with kind and description, not {other}"
            )));
        }
    };
    let area = state
        .store(move |state, s| {
            let area = s.change_status(&id, to, evidence.as_ref(), &reason, &by)?;
            state.catch_up_after_write();
            Ok(area)
        })
        .await?
        .map_err(|e| refusal(e, Some("area_id")))?;
    Ok(Json(json!({
        "id": area.id,
        "status": area.props.status.as_str(),
        "evidence": area.props.evidence,
    })))
}
