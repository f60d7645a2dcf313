//! Accidents and zones over HTTP: `POST /api/accidents`, `GET /api/accidents`,
//! `GET /api/accidents/{id}`, `GET /api/zones` and `GET /api/zones/{id}`.
//!
//! Officers, admins and field teams record accidents; each is attributed to the token's user, and
//! a field team's accident names its organisation as the source unless the body gives one.
//! Reading splits by role: officers, auditors and admins get full records (casualties with names
//! and notes, the exact place) as GeoJSON; everyone else — no token, or a field team — gets only
//! `cairn_core::accident::public_summary`, counts and a place rounded to 0.01°, so victims'
//! details never leave the office. Zones (permitted zones above all) are for officers, auditors
//! and admins only: where emplacement is allowed is sensitive, so the public is answered 401 and
//! field teams 403.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::Problem;
use cairn_core::accident::{Accident, public_summary};
use cairn_core::zone::Zone;
use cairn_formats::accident::{input_field, read_accident_feature};
use cairn_formats::geojson::geometry_value;
use cairn_store::sqlite::release::ReleaseError;
use cairn_store::sqlite::zones::RecordRevision;
use geo_types::Geometry;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiError;

/// Roles that may record an accident.
pub const ACCIDENT_WRITERS: &[Role] = &[Role::Officer, Role::Admin, Role::Field];
/// Roles that see accidents in full (victims' details, the exact place) and may read zones.
pub const RESTRICTED_READERS: &[Role] = &[Role::Officer, Role::Auditor, Role::Admin];

const GEOJSON: &str = "application/geo+json";

/// Who may do what: the roles allowed, and the name a write is attributed to; 401 for the
/// public, 403 for a role not allowed.
fn allow(caller: &Caller, roles: &[Role], what: &str) -> Result<String, ApiError> {
    if roles.contains(&caller.role) {
        return Ok(caller.name.clone().unwrap_or_else(|| "unknown".into()));
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    if caller.role == Role::Public {
        return Err(ApiError::unauthorized(format!(
            "{what} needs a token (Authorization: Bearer TOKEN) of role {}",
            names.join(", ")
        )));
    }
    Err(ApiError::forbidden(format!(
        "{what} is for roles {}; this token's role is {}",
        names.join(", "),
        caller.role.as_str()
    )))
}

/// True when the caller may see accidents in full.
pub fn sees_victims(caller: &Caller) -> bool {
    RESTRICTED_READERS.contains(&caller.role)
}

fn problems_text(ps: &[Problem]) -> String {
    ps.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn geojson(status: StatusCode, v: Value) -> Response {
    let mut r = (status, Json(v)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON));
    r
}

/// An accident in full, as a GeoJSON Feature: the exact place, every fact, the casualties with
/// their names and notes, and the counts. Only for roles in `RESTRICTED_READERS`.
pub fn accident_feature(a: &Accident) -> Value {
    let mut props = serde_json::to_value(&a.facts).unwrap_or(Value::Null);
    let c = a.counts();
    if let Some(o) = props.as_object_mut() {
        o.insert("killed".into(), Value::from(c.killed));
        o.insert("injured".into(), Value::from(c.injured));
    }
    json!({
        "type": "Feature",
        "id": a.id,
        "geometry": geometry_value(&Geometry::Point(a.place)),
        "properties": props,
    })
}

/// Every accident in full, as a GeoJSON FeatureCollection.
pub fn accidents_collection(all: &[Accident]) -> Value {
    json!({
        "type": "FeatureCollection",
        "numberReturned": all.len(),
        "features": all.iter().map(accident_feature).collect::<Vec<_>>(),
    })
}

/// What the public may see of one accident: `public_summary`, nothing else.
pub fn public_accident(a: &Accident) -> Value {
    serde_json::to_value(public_summary(a)).unwrap_or(Value::Null)
}

/// What the public may see of every accident.
pub fn public_accidents(all: &[Accident]) -> Value {
    json!({
        "accidents": all.iter().map(public_accident).collect::<Vec<_>>(),
        "count": all.len(),
        "place_rounded_to_deg": cairn_core::accident::PUBLIC_PLACE_DEG,
        "note": "Counts only: victims' details and exact places are not published.",
    })
}

/// A zone as a GeoJSON Feature, with its area in km².
pub fn zone_feature(z: &Zone) -> Value {
    let mut props = serde_json::to_value(&z.facts).unwrap_or(Value::Null);
    if let Some(o) = props.as_object_mut() {
        o.insert("area_km2".into(), Value::from(zone_km2(z)));
    }
    json!({
        "type": "Feature",
        "id": z.id,
        "geometry": geometry_value(&Geometry::MultiPolygon(z.geometry.clone())),
        "properties": props,
    })
}

/// A zone's area on the ellipsoid in km², to three decimals.
pub fn zone_km2(z: &Zone) -> f64 {
    (cairn_core::release::area_m2(&z.geometry) / 1e3).round() / 1e3
}

/// The revisions of a record, oldest first: number, time, author and reason.
pub fn revisions_json(h: &[RecordRevision]) -> Value {
    Value::Array(
        h.iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "revision": i + 1,
                    "recorded_at": r.recorded_at,
                    "author": r.author,
                    "reason": r.reason,
                })
            })
            .collect(),
    )
}

/// `POST /api/accidents`: records an accident (officers, admins and field teams). The body is a
/// GeoJSON Feature: a Point at the place and the accident's facts as properties.
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let by = allow(&caller, ACCIDENT_WRITERS, "recording an accident")?;
    let Json(v) = b?;
    let (mut facts, place) = read_accident_feature(&v, &state.catalogue(), chrono::Utc::now())
        .map_err(|ps| ApiError::bad_request(problems_text(&ps)))?;
    if caller.role == Role::Field && facts.source.is_none() {
        facts.source = caller.organisation.clone();
    }
    let a = state
        .store(move |state, s| s.add_accident(&facts, place, &state.catalogue(), &by))
        .await?
        .map_err(|e| match e {
            ReleaseError::NotFound(p) | ReleaseError::Refused(p) => {
                ApiError::bad_request(Problem::new(input_field(&p.field), p.message).to_string())
            }
            ReleaseError::Invalid(ps) => ApiError::bad_request(problems_text(
                &ps.into_iter()
                    .map(|p| Problem::new(input_field(&p.field), p.message))
                    .collect::<Vec<_>>(),
            )),
            ReleaseError::Store(e) => ApiError::from(e),
        })?;
    let body = if sees_victims(&caller) {
        accident_feature(&a)
    } else {
        public_accident(&a)
    };
    let mut r = if sees_victims(&caller) {
        geojson(StatusCode::CREATED, body)
    } else {
        (StatusCode::CREATED, Json(body)).into_response()
    };
    if let Ok(h) = HeaderValue::from_str(&format!("/api/accidents/{}", a.id)) {
        r.headers_mut().insert(header::LOCATION, h);
    }
    Ok(r)
}

/// `GET /api/accidents`: every accident, in full for officers, auditors and admins, else only
/// their public summaries.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let all = state
        .store(move |_, s| s.accidents())
        .await?
        .map_err(ApiError::from)?;
    Ok(if sees_victims(&caller) {
        geojson(StatusCode::OK, accidents_collection(&all))
    } else {
        Json(public_accidents(&all)).into_response()
    })
}

/// `GET /api/accidents/{id}`: one accident, split by role as the list is.
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let a = state
        .store({
            let id = id.clone();
            move |_, s| s.get_accident(&id)
        })
        .await?
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found(format!("id: there is no accident {id}")))?;
    Ok(if sees_victims(&caller) {
        geojson(StatusCode::OK, accident_feature(&a))
    } else {
        Json(public_accident(&a)).into_response()
    })
}

/// `GET /api/zones`: every zone as a GeoJSON FeatureCollection (officers, auditors, admins).
pub async fn zones(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    allow(&caller, RESTRICTED_READERS, "reading zones")?;
    let all = state
        .store(move |_, s| s.zones())
        .await?
        .map_err(ApiError::from)?;
    Ok(geojson(
        StatusCode::OK,
        json!({
            "type": "FeatureCollection",
            "numberReturned": all.len(),
            "features": all.iter().map(zone_feature).collect::<Vec<_>>(),
        }),
    ))
}

/// `GET /api/zones/{id}`: one zone as a GeoJSON Feature with its revisions (officers, auditors,
/// admins).
pub async fn zone(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    allow(&caller, RESTRICTED_READERS, "reading zones")?;
    let (z, h) = state
        .store({
            let id = id.clone();
            move |_, s| {
                let z = s.get_zone(&id)?;
                let h = s.record_history("zone", &id)?;
                Ok::<_, cairn_store::StoreError>((z, h))
            }
        })
        .await?
        .map_err(ApiError::from)?;
    let z = z.ok_or_else(|| ApiError::not_found(format!("id: there is no zone {id}")))?;
    let mut v = zone_feature(&z);
    v["revisions"] = revisions_json(&h);
    Ok(geojson(StatusCode::OK, v))
}
