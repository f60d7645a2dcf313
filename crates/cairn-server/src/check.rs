//! `GET /api/check/point` and `POST /api/check/route`: the engine's answers with plain advice in
//! Ukrainian and English. The public is answered from the public view, so a check inside a
//! restricted area says "danger" without revealing its perimeter.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Query, State, rejection::QueryRejection};
use cairn_index::{Filter, PointAnswer, RouteAnswer};
use geo_types::{Coord, LineString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::{ReadModel, public_label};
use axum::response::IntoResponse;
use serde::Serialize;

/// Query of a place check.
#[derive(Debug, Deserialize)]
pub struct PointQuery {
    lon: Option<String>,
    lat: Option<String>,
    accuracy: Option<String>,
    at: Option<String>,
}

fn number(v: &Option<String>, name: &str, required: bool) -> Result<Option<f64>, ApiError> {
    match v {
        None if required => Err(ApiError::bad_request(format!(
            "parameter {name} is required"
        ))),
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!("parameter {name} must be a number, not {s:?}"))
            }),
    }
}

/// Checks the `at` parameter: the service answers for the data it holds now.
fn check_at(at: &Option<String>, m: &ReadModel, public: bool) -> Result<(), ApiError> {
    if let Some(s) = at {
        // A date alone means its first moment, as every "at" time does (cairn_core::time).
        let t = cairn_core::time::parse_instant(s, cairn_core::time::Cautious::Earliest)
            .map_err(|e| ApiError::bad_request(format!("parameter at: {e}")))?;
        // The public's date, for the public: the newest write's would be told by bisection.
        if m.date_for(!public).is_some_and(|d| t < d) {
            return Err(ApiError::bad_request(
                "parameter at: this service answers for the current data only; for a past state use `cairn check --at` on the store",
            ));
        }
    }
    Ok(())
}

/// Plain advice for a place, in Ukrainian and English. The page answers offline from a kept
/// area with the same words (`adviceReported`, `adviceDanger`, `adviceClear` in web/i18n.js; a
/// test below holds the two together).
#[derive(Serialize, Clone, Copy)]
struct Advice {
    danger: bool,
    en: &'static str,
    uk: &'static str,
}

const ADVICE_REPORTED: Advice = Advice {
    danger: true,
    en: "DANGER: explosive ordnance was reported here and the place is not yet surveyed. Keep away until it is checked. Do not touch anything. Go back the way you came and call 101 or 112.",
    uk: "НЕБЕЗПЕКА: тут повідомили про вибухонебезпечні предмети, місце ще не обстежене. Не наближайтеся, доки його не перевірять. Нічого не торкайтеся. Повертайтеся тим шляхом, яким прийшли, і телефонуйте 101 або 112.",
};

const ADVICE_DANGER: Advice = Advice {
    danger: true,
    en: "DANGER: you may be in a hazardous area. Stop. Do not touch anything. Go back only the way you came, stepping in your own footprints, and call 101 or 112.",
    uk: "НЕБЕЗПЕКА: ви можете бути в небезпечній зоні. Зупиніться. Нічого не торкайтеся. Повертайтеся лише тим шляхом, яким прийшли, ступаючи у власні сліди, і телефонуйте 101 або 112.",
};

const ADVICE_CLEAR: Advice = Advice {
    danger: false,
    en: "No recorded hazard here. This does not mean the place is safe: explosive ordnance may be anywhere in former combat areas. Report anything suspicious: 101 or 112.",
    uk: "Тут немає зареєстрованої небезпеки. Це не означає, що місце безпечне: вибухонебезпечні предмети можуть бути будь-де в колишніх районах бойових дій. Повідомляйте про все підозріле: 101 або 112.",
};

fn advice(a: &PointAnswer) -> Advice {
    let only_reported = a
        .inside
        .iter()
        .map(|h| (h.status, h.categories))
        .chain(a.within_accuracy.iter().map(|h| (h.status, h.categories)))
        .all(|(s, c)| s == cairn_core::Status::Reported && public_label(s, c) == "reported");
    if (!a.inside.is_empty() || !a.within_accuracy.is_empty()) && only_reported {
        ADVICE_REPORTED
    } else if !a.inside.is_empty() || !a.within_accuracy.is_empty() {
        ADVICE_DANGER
    } else {
        ADVICE_CLEAR
    }
}

/// The answer to a place check on the wire (interfaces.md), serialized straight from the
/// engine's answer with no tree of values in between.
#[derive(Serialize)]
struct PointReply<'a> {
    point: [f64; 2],
    accuracy_m: f64,
    at: chrono::DateTime<chrono::Utc>,
    data_date: Option<cairn_core::Timestamp>,
    data_checked_at: cairn_core::Timestamp,
    inside: Vec<HitReply<'a>>,
    within_accuracy: Vec<HitReply<'a>>,
    nearest: Option<HitReply<'a>>,
    advice: Advice,
}

#[derive(Serialize)]
struct HitReply<'a> {
    id: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bearing_deg: Option<f64>,
}

fn round1(v: f64) -> f64 {
    // Adding zero turns a negative zero into zero.
    (v * 10.0).round() / 10.0 + 0.0
}

/// `GET /api/check/point`.
pub async fn point(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<PointQuery>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(q) = q?;
    let lon = number(&q.lon, "lon", true)?.unwrap_or_default();
    let lat = number(&q.lat, "lat", true)?.unwrap_or_default();
    if !cairn_core::validate::position_ok([lon, lat]) {
        return Err(ApiError::bad_request(format!(
            "parameters lon and lat must be WGS 84 degrees (lon -180..180, lat -90..90), not {lon}, {lat}"
        )));
    }
    let accuracy = number(&q.accuracy, "accuracy", false)?.unwrap_or(0.0);
    if !(0.0..=10_000.0).contains(&accuracy) {
        return Err(ApiError::bad_request(format!(
            "parameter accuracy must be 0 to 10000 metres, not {accuracy}"
        )));
    }
    let m = state.model();
    let public = !caller.role.sees_restricted();
    check_at(&q.at, &m, public)?;
    state.metrics().point_checks.fetch_add(1, Ordering::Relaxed);
    let p = Coord { x: lon, y: lat };
    let ans = if public {
        m.public_index.check_point(p, accuracy, &Filter::default())
    } else {
        m.index.check_point(p, accuracy, &Filter::default())
    };
    // The public sees the public label of what it hit (a generalised zone is "danger-zone").
    let label = |s: cairn_core::Status, categories: u8| {
        if public {
            public_label(s, categories)
        } else {
            cairn_core::WireEnum::as_str(s)
        }
    };
    let reply = PointReply {
        point: [lon, lat],
        accuracy_m: accuracy,
        at: chrono::Utc::now(),
        data_date: m.date_for(!public),
        data_checked_at: state.data_checked_at(!public),
        inside: ans
            .inside
            .iter()
            .map(|h| HitReply {
                id: h.id,
                status: label(h.status, h.categories),
                distance_m: None,
                bearing_deg: None,
            })
            .collect(),
        within_accuracy: ans
            .within_accuracy
            .iter()
            .map(|h| HitReply {
                id: h.id,
                status: label(h.status, h.categories),
                distance_m: Some(round1(h.distance_m)),
                bearing_deg: None,
            })
            .collect(),
        nearest: ans.nearest.as_ref().map(|n| HitReply {
            id: n.id,
            status: label(n.status, n.categories),
            distance_m: Some(round1(n.distance_m)),
            bearing_deg: Some(round1(n.bearing_deg)),
        }),
        advice: advice(&ans),
    };
    // Written while the model is read, as the reply borrows its ids.
    let body = serde_json::to_vec(&reply).map_err(ApiError::internal)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Query of a route check.
#[derive(Debug, Deserialize, Clone)]
pub struct RouteQuery {
    width: Option<String>,
    at: Option<String>,
}

/// The largest route accepted, in vertices (422 beyond, as the OpenAPI's maxItems).
pub const MAX_ROUTE_VERTICES: usize = 10_000;
/// The longest route accepted, in metres (422 beyond).
pub const MAX_ROUTE_LENGTH_M: f64 = 1_000_000.0;
/// The widest corridor accepted, in metres.
pub const MAX_ROUTE_WIDTH_M: f64 = 20_000.0;
/// The widest corridor the public may ask for, in metres (422 beyond; the map offers up to
/// 250 m). A check's work grows with its positions times the hazards within the corridor's
/// reach: 10,000 positions zig-zagging 20 km wide through a dense region took seconds of CPU.
pub const MAX_PUBLIC_WIDTH_M: f64 = 1_000.0;
/// The public's cost limit of a route check: the corridor's area, length times width, in km²
/// (422 beyond): 1,000 km at 100 m, or 100 km at the widest 1 km. Token holders are bounded by
/// the pool's per-request budget instead.
pub const MAX_PUBLIC_CORRIDOR_KM2: f64 = 100.0;

fn read_route(v: &Value) -> Result<(LineString<f64>, Option<f64>), ApiError> {
    let (g, width) = match v["type"].as_str() {
        Some("LineString") => (v, None),
        Some("Feature") => {
            let width = match &v["properties"] {
                Value::Null => None,
                Value::Object(p) => match p.get("width") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(w) if (0.1..=20_000.0).contains(&w) => Some(w),
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "body: properties.width must be from 0.1 to 20000 metres, not {n}"
                            )));
                        }
                    },
                    Some(_) => {
                        return Err(ApiError::bad_request(
                            "body: properties.width must be a number of metres",
                        ));
                    }
                },
                _ => {
                    return Err(ApiError::bad_request(
                        "body: properties must be an object or null",
                    ));
                }
            };
            (&v["geometry"], width)
        }
        _ => {
            return Err(ApiError::bad_request(
                "body must be a GeoJSON LineString, or a Feature whose geometry is one",
            ));
        }
    };
    if g["type"].as_str() != Some("LineString") {
        return Err(ApiError::bad_request(
            "body: geometry.type must be LineString",
        ));
    }
    let coords = g["coordinates"].as_array().ok_or_else(|| {
        ApiError::bad_request("body: geometry.coordinates must be an array of positions")
    })?;
    if coords.len() > MAX_ROUTE_VERTICES {
        return Err(crate::limits::over_cost(format!(
            "body: geometry.coordinates has {} positions; a route may have at most {MAX_ROUTE_VERTICES} (cost limit)",
            coords.len()
        )));
    }
    let mut problems = Vec::new();
    let raw: Vec<[f64; 2]> = coords
        .iter()
        .enumerate()
        .filter_map(|(j, p)| {
            cairn_formats::props::position(p, &format!("geometry.coordinates[{j}]"), &mut problems)
        })
        .collect();
    match cairn_core::validate::build_line(&raw, "geometry.coordinates", &mut problems) {
        Some(l) if problems.is_empty() => Ok((l, width)),
        _ => Err(ApiError::bad_request(format!(
            "body: {}",
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// `POST /api/check/route`. The route is read and checked on the compute pool
/// (`AppState::compute`): a long route through a dense region is CPU work that must not hold an
/// async worker.
pub async fn route(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<RouteQuery>, QueryRejection>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q?;
    let Json(body) = body?;
    let public = !caller.role.sees_restricted();
    state
        .compute("a route check", move |state| {
            route_answer(state, &q, &body, public)
        })
        .await?
        .map(Json)
}

fn route_answer(
    state: &AppState,
    q: &RouteQuery,
    body: &Value,
    public: bool,
) -> Result<Value, ApiError> {
    let (line, body_width) = read_route(body)?;
    let width = number(&q.width, "width", false)?
        .or(body_width)
        .unwrap_or(50.0);
    if !(0.1..=MAX_ROUTE_WIDTH_M).contains(&width) {
        return Err(ApiError::bad_request(format!(
            "parameter width must be from 0.1 to {MAX_ROUTE_WIDTH_M} metres, not {width}"
        )));
    }
    let length: f64 = line
        .0
        .windows(2)
        .map(|w| cairn_index::geodesy::distance(w[0], w[1]))
        .sum();
    if length > MAX_ROUTE_LENGTH_M {
        return Err(crate::limits::over_cost(format!(
            "body: the route is {:.0} km long; a route may be at most {} km (cost limit)",
            length / 1000.0,
            MAX_ROUTE_LENGTH_M / 1000.0
        )));
    }
    if public && width > MAX_PUBLIC_WIDTH_M {
        return Err(crate::limits::over_cost(format!(
            "parameter width: a public route check's corridor may be at most {MAX_PUBLIC_WIDTH_M} m wide, not {width} m (cost limit)"
        )));
    }
    let corridor_km2 = length / 1000.0 * width / 1000.0;
    if public && corridor_km2 > MAX_PUBLIC_CORRIDOR_KM2 {
        return Err(crate::limits::over_cost(format!(
            "parameter width: a corridor of {width} m along {:.1} km is {corridor_km2:.1} km²; a public route check may cover at most {MAX_PUBLIC_CORRIDOR_KM2} km² (length times width, cost limit): narrow the corridor or split the route",
            length / 1000.0
        )));
    }
    let m = state.model();
    check_at(&q.at, &m, public)?;
    state.metrics().route_checks.fetch_add(1, Ordering::Relaxed);
    let ans: RouteAnswer = if public {
        m.public_index.check_route(&line, width, &Filter::default())
    } else {
        m.index.check_route(&line, width, &Filter::default())
    };
    let status = |s: cairn_core::Status, categories: u8| {
        if public {
            public_label(s, categories)
        } else {
            cairn_core::WireEnum::as_str(s)
        }
    };
    let danger = !ans.hazards.is_empty();
    Ok(json!({
        "length_m": round1(ans.length_m),
        "width_m": width,
        "at_risk_m": round1(ans.at_risk_m),
        "data_date": m.date_for(!public),
        "data_checked_at": state.data_checked_at(!public),
        "hazards": ans.hazards.iter().map(|h| json!({
            "id": h.id, "status": status(h.status, h.categories),
            "enter_m": round1(h.enter_m), "leave_m": round1(h.leave_m),
        })).collect::<Vec<_>>(),
        "advice": if danger {
            json!({"danger": true,
                "en": "DANGER: this route passes through or near recorded hazardous areas. Do not use it; choose another route.",
                "uk": "НЕБЕЗПЕКА: цей маршрут проходить через зареєстровані небезпечні території або поруч із ними. Не користуйтеся ним; оберіть інший маршрут."})
        } else {
            json!({"danger": false,
                "en": "No recorded hazard along this route. This does not mean it is safe: keep to paved roads and paths in use.",
                "uk": "Уздовж цього маршруту немає зареєстрованих небезпек. Це не означає, що він безпечний: тримайтеся доріг і стежок, якими користуються."})
        },
    }))
}

#[cfg(test)]
mod advice_tests {
    use super::*;

    /// The page's offline answers (web/i18n.js) say exactly what the service says online.
    #[test]
    fn the_page_gives_the_same_advice_offline() {
        let page = include_str!("../../../web/i18n.js");
        for (key, advice) in [
            ("adviceReported", ADVICE_REPORTED),
            ("adviceDanger", ADVICE_DANGER),
            ("adviceClear", ADVICE_CLEAR),
        ] {
            for text in [advice.uk, advice.en] {
                let line = format!("{key}: '{text}',");
                assert!(
                    page.contains(&line),
                    "web/i18n.js should have `{line}`: the offline answer must match the service's"
                );
            }
        }
    }
}
