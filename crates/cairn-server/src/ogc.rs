//! OGC API – Features (Part 1 core, GeoJSON, OpenAPI 3.0; Part 3 queryables and CQL2 text and
//! JSON with the spatial functions; Part 8 sorting) under `/ogc`, with media types as GDAL,
//! OWSLib and QGIS expect them.

use std::sync::atomic::Ordering;

use axum::extract::{Path, Query, State, rejection::QueryRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::{Shape, Timestamp};
use cairn_formats::geojson::{footprint_properties, footprint_value};
use geo::Intersects;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::cql2::{self, QueryableType};
use crate::error::ApiError;
use crate::model::ReadModel;

/// The one collection so far.
pub const COLLECTION: &str = "hazardous-areas";
/// Items per page when the client gives no limit, and the most it may ask for.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;

pub(crate) const JSON: &str = "application/json";
pub(crate) const GEOJSON: &str = "application/geo+json";
pub const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";

/// The conformance classes this service implements.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    // Part 8 (draft): `sortby` on the items, over the sortables at `/sortables`.
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sortables",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/features-sorting",
    // Part 4 (create, replace, update, delete), in the spelling of the approved standard and in
    // the `req` spelling of its drafts, which some clients still look for. QGIS decides from
    // OPTIONS and Allow alone; GDAL does not edit through OGC API – Features.
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/req/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/req/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/req/features",
];

/// The queryables of the collection for a caller: name, CQL2 type, JSON Schema type and format.
fn queryables(
    full: bool,
) -> Vec<(
    &'static str,
    QueryableType,
    &'static str,
    Option<&'static str>,
)> {
    let mut q = vec![
        ("status", QueryableType::String, "string", None),
        ("name", QueryableType::String, "string", None),
        ("marking", QueryableType::String, "string", None),
        ("organisation", QueryableType::String, "string", None),
        (
            "reported_at",
            QueryableType::Timestamp,
            "string",
            Some("date-time"),
        ),
    ];
    if full {
        q.push(("classification", QueryableType::String, "string", None));
    } else {
        q.push(("kind", QueryableType::String, "string", None));
    }
    // Each feature's footprint (`feature_json`), for the spatial functions of CQL2.
    q.push((
        GEOMETRY,
        QueryableType::Geometry,
        "",
        Some("geometry-multipolygon"),
    ));
    q
}

/// The name of the geometry queryable.
pub const GEOMETRY: &str = "geometry";

/// The base URL of the service as the client reached it.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

fn typed(body: String, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

pub(crate) fn link(href: String, rel: &str, ty: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": ty, "title": title})
}

/// `GET /ogc`: the landing page.
pub async fn landing(headers: HeaderMap) -> Response {
    let b = base_url(&headers);
    typed(
        json!({
            "title": "Cairn hazard records",
            "description": "Hazardous areas of explosive ordnance as Cairn records them. Without a token: what the public may see.",
            "links": [
                link(format!("{b}/ogc"), "self", JSON, "This document"),
                link(format!("{b}/ogc/api"), "service-desc", OPENAPI, "The API definition"),
                link(format!("{b}/ogc/api.html"), "service-doc", "text/html", "The API documentation"),
                link(format!("{b}/ogc/conformance"), "conformance", JSON, "Conformance classes"),
                link(format!("{b}/ogc/collections"), "data", JSON, "The collections"),
            ]
        })
        .to_string(),
        JSON,
    )
}

/// `GET /ogc/conformance`.
pub async fn conformance() -> Response {
    typed(json!({ "conformsTo": CONFORMANCE }).to_string(), JSON)
}

fn collection_json(b: &str, m: &ReadModel, full: bool) -> Value {
    let extent = if full { m.extent } else { m.public_extent };
    let bbox = extent
        .map(|r| vec![r.min().x, r.min().y, r.max().x, r.max().y])
        .unwrap_or_else(|| vec![-180.0, -90.0, 180.0, 90.0]);
    json!({
        "id": COLLECTION,
        "title": "Hazardous areas",
        "description": if full { "Every current hazardous area with its recorded fields. Each feature is the ground the hazard covers (a MultiPolygon; a spot or corridor with centre_wkt and radius_m or width_m). datetime selects by reported_at, when the hazard was reported; a record without it is not selected." } else { "Open hazards the public must be warned of; restricted records appear only as generalised danger zones. Each feature is the ground the hazard covers (a MultiPolygon; a spot or corridor with centre_wkt and radius_m or width_m). datetime selects by reported_at, when the hazard was reported; danger zones have no time of their own and are not selected by datetime." },
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": {
            "spatial": { "bbox": [bbox], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84" },
            "temporal": { "interval": [[null, m.date_for(full)]] }
        },
        "links": [
            link(format!("{b}/ogc/collections/{COLLECTION}"), "self", JSON, "This collection"),
            link(format!("{b}/ogc/collections/{COLLECTION}/items"), "items", GEOJSON, "The features"),
            link(format!("{b}/ogc/collections/{COLLECTION}/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json", "Queryables"),
            link(format!("{b}/ogc/collections/{COLLECTION}/sortables"), "http://www.opengis.net/def/rel/ogc/1.0/sortables", "application/schema+json", "Sortables"),
            link(format!("{b}/ogc/collections/{COLLECTION}/schema"), "http://www.opengis.net/def/rel/ogc/1.0/schema", "application/schema+json", "The features' schema"),
            // GDAL types the layer's fields from this link (as `describedBy`), not from the first
            // page, where a field no feature of it carries would be missing.
            link(format!("{b}/ogc/collections/{COLLECTION}/schema"), "describedBy", "application/schema+json", "The features' schema"),
        ]
    })
}

/// `GET /ogc/collections`.
pub async fn collections(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let b = base_url(&headers);
    let m = state.model();
    typed(
        json!({
            "links": [link(format!("{b}/ogc/collections"), "self", JSON, "The collections")],
            "collections": [collection_json(&b, &m, caller.role.sees_restricted())],
        })
        .to_string(),
        JSON,
    )
}

pub(crate) fn check_collection(id: &str) -> Result<(), ApiError> {
    if id == COLLECTION {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no collection {id:?}; the collection is {COLLECTION:?}"
        )))
    }
}

/// `GET /ogc/collections/{id}`.
pub async fn collection(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_collection(&id)?;
    let b = base_url(&headers);
    let m = state.model();
    Ok(typed(
        collection_json(&b, &m, caller.role.sees_restricted()).to_string(),
        JSON,
    ))
}

/// `GET /ogc/collections/{id}/queryables`.
pub async fn queryables_doc(
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_collection(&id)?;
    Ok(queryables_schema(
        &base_url(&headers),
        "queryables",
        caller.role.sees_restricted(),
        true,
    ))
}

/// `GET /ogc/collections/{id}/sortables` (Part 8): the queryables `sortby` may name, every one
/// but the geometry, as the caller sees them.
pub async fn sortables_doc(
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_collection(&id)?;
    Ok(queryables_schema(
        &base_url(&headers),
        "sortables",
        caller.role.sees_restricted(),
        false,
    ))
}

/// The JSON Schema of the queryables (`/queryables`, with the geometry) or of those `sortby` may
/// name (`/sortables`, without it), for callers who see everything (`full`) or the public.
fn queryables_schema(b: &str, what: &str, full: bool, with_geometry: bool) -> Response {
    let mut props = Map::new();
    for (name, kind, ty, format) in queryables(full) {
        let mut p = if kind == QueryableType::Geometry {
            if !with_geometry {
                continue;
            }
            // Part 3: a spatial queryable has a format and no type.
            json!({ "title": name, "x-ogc-role": "primary-geometry" })
        } else {
            json!({ "type": ty, "title": name })
        };
        if let Some(f) = format {
            p["format"] = json!(f);
        }
        props.insert(name.into(), p);
    }
    typed(
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("{b}/ogc/collections/{COLLECTION}/{what}"),
            "type": "object",
            "title": "Hazardous areas",
            "properties": props,
            "additionalProperties": false,
        })
        .to_string(),
        "application/schema+json",
    )
}

/// The properties a feature of the collection may carry, with their JSON Schema, for callers who
/// see everything (`full`) or for the public: every feature is a MultiPolygon, its footprint.
fn returnables(full: bool) -> Vec<(&'static str, Value)> {
    let text = || json!({"type": "string"});
    let time = || json!({"type": "string", "format": "date-time"});
    let number = || json!({"type": "number"});
    let mut p = vec![
        ("name", text()),
        ("status", text()),
        ("marking", text()),
        ("organisation", text()),
        ("reported_at", time()),
        ("radius_m", number()),
        ("width_m", number()),
        (
            "centre_wkt",
            json!({"type": "string", "description": "the centre point of a spot or the centre line of a corridor, as WKT (longitude latitude); the geometry is its outline"}),
        ),
    ];
    if full {
        p.extend([
            ("classification", text()),
            ("evidence", json!({"type": "object"})),
            ("devices", json!({"type": "array"})),
            ("reference_points", json!({"type": "array"})),
            ("emplacement", json!({"type": "object"})),
        ]);
    } else {
        p.extend([
            ("kind", text()),
            ("evidence", text()),
            (
                "device_categories",
                json!({"type": "array", "items": {"type": "string"}}),
            ),
            ("danger", json!({"type": "boolean"})),
            ("danger_en", text()),
            ("danger_uk", text()),
            ("data_date", time()),
        ]);
    }
    p
}

/// `GET /ogc/collections/{id}/schema`: the features' schema (OGC API – Features Part 5), a
/// GeoJSON feature whose geometry is a MultiPolygon and whose properties are `returnables`.
pub async fn schema_doc(
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_collection(&id)?;
    let b = base_url(&headers);
    let props: Map<String, Value> = returnables(caller.role.sees_restricted())
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok(typed(
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("{b}/ogc/collections/{COLLECTION}/schema"),
            "title": "Hazardous areas",
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "string"},
                "geometry": {"format": "geometry-multipolygon", "x-ogc-role": "primary-geometry"},
                "properties": {"type": "object", "properties": props},
            },
        })
        .to_string(),
        "application/schema+json",
    ))
}

/// Query of the items request.
#[derive(Debug, Deserialize)]
pub struct ItemsQuery {
    limit: Option<String>,
    offset: Option<String>,
    bbox: Option<String>,
    datetime: Option<String>,
    filter: Option<String>,
    #[serde(rename = "filter-lang")]
    filter_lang: Option<String>,
    #[serde(rename = "filter-crs")]
    filter_crs: Option<String>,
    sortby: Option<String>,
    f: Option<String>,
    #[serde(flatten)]
    other: std::collections::BTreeMap<String, String>,
}

fn parse_bbox(s: &str) -> Result<(f64, f64, f64, f64), ApiError> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_request(format!(
                "parameter bbox must be four numbers minLon,minLat,maxLon,maxLat, not {s:?}"
            ))
        })?;
    if v.len() != 4 || v.iter().any(|x| !x.is_finite()) {
        return Err(ApiError::bad_request(format!(
            "parameter bbox must be four numbers minLon,minLat,maxLon,maxLat, not {s:?}"
        )));
    }
    if v[1] > v[3] || v[0] > v[2] || v[0] < -180.0 || v[2] > 180.0 || v[1] < -90.0 || v[3] > 90.0 {
        return Err(ApiError::bad_request(format!(
            "parameter bbox {s:?}: need minLon <= maxLon and minLat <= maxLat within WGS 84 (boxes across the antimeridian are not supported)"
        )));
    }
    Ok((v[0], v[1], v[2], v[3]))
}

/// One end of a `datetime` interval: an RFC 3339 time, or a date alone read as `how` says (the
/// whole day: its first moment for a start, its last for an end), also as GDAL 3.6 sends a date
/// (`2026-01-01T`, the time left empty).
fn parse_instant(s: &str, how: cairn_core::time::Cautious) -> Result<Option<Timestamp>, ApiError> {
    if s.is_empty() || s == ".." {
        return Ok(None);
    }
    let date = s.strip_suffix('T').filter(|d| d.len() == 10).unwrap_or(s);
    cairn_core::time::parse_instant(date, how)
        .map(Some)
        .map_err(|_| {
            ApiError::bad_request(format!(
                "parameter datetime: {s:?} is not an RFC 3339 time, a date (YYYY-MM-DD) or \"..\""
            ))
        })
}

fn parse_datetime(s: &str) -> Result<(Option<Timestamp>, Option<Timestamp>), ApiError> {
    use cairn_core::time::Cautious::{Earliest, Latest};
    let (a, b) = match s.split_once('/') {
        Some((a, b)) => (parse_instant(a, Earliest)?, parse_instant(b, Latest)?),
        None => {
            let from = parse_instant(s, Earliest)?.ok_or_else(|| {
                ApiError::bad_request("parameter datetime: \"..\" needs an interval")
            })?;
            (Some(from), parse_instant(s, Latest)?)
        }
    };
    if let (Some(x), Some(y)) = (a, b)
        && x > y
    {
        return Err(ApiError::bad_request(
            "parameter datetime: the interval's start is after its end",
        ));
    }
    Ok((a, b))
}

fn parse_count(
    v: &Option<String>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match v {
        None => Ok(default),
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if n <= max && (name != "limit" || n >= 1) => Ok(n),
            // A page larger than the most served is served at the most, with next links: OGC API
            // – Features Part 1 (/req/core/fc-limit-response-1) wants it capped, not refused, and
            // the cap bounds the page's cost all the same (`limits.rs`).
            Ok(n) if name == "limit" && n > max => Ok(max),
            _ => Err(ApiError::bad_request(format!(
                "parameter {name} must be a whole number from {} to {max}, not {s:?}",
                if name == "limit" { 1 } else { 0 }
            ))),
        },
    }
}

/// One feature ready for the wire.
struct Item<'a> {
    id: &'a str,
    shape: &'a Shape,
    props: Map<String, Value>,
}

/// A feature as GIS clients get it: the hazard's footprint as its geometry (a MultiPolygon for
/// every record, spots and corridors drawn outward), so that a client testing a box or drawing the
/// layer against the geometry itself sees all the ground the hazard reaches.
fn feature_json(i: &Item<'_>) -> Value {
    json!({ "type": "Feature", "id": i.id, "geometry": footprint_value(i.shape), "properties": i.props })
}

fn bbox_hits(shape: &Shape, b: (f64, f64, f64, f64)) -> bool {
    let rect = geo_types::Rect::new(
        geo_types::Coord { x: b.0, y: b.1 },
        geo_types::Coord { x: b.2, y: b.3 },
    );
    match shape {
        Shape::Polygon(p) => p.intersects(&rect),
        Shape::MultiPolygon(m) => m.intersects(&rect),
        // Spots and corridors: their outline as published (`feature_json`).
        _ => {
            shape.covering_bbox().is_some_and(|r| r.intersects(&rect))
                && cairn_core::footprint::footprint(shape).intersects(&rect)
        }
    }
}

/// `GET /ogc/collections/{id}/items`.
pub async fn items(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<ItemsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    check_collection(&id)?;
    let Query(q) = q?;
    if q.f
        .as_deref()
        .is_some_and(|f| f != "json" && f != "geojson")
    {
        return Err(ApiError::bad_request(
            "parameter f: only json (GeoJSON) is offered",
        ));
    }
    let limit = parse_count(&q.limit, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = parse_count(&q.offset, "offset", 0, usize::MAX / 2)?;
    let bbox = q.bbox.as_deref().map(parse_bbox).transpose()?;
    let datetime = q.datetime.as_deref().map(parse_datetime).transpose()?;
    let json_filter = match q.filter_lang.as_deref() {
        None | Some(cql2::FILTER_LANG) => false,
        Some(cql2::FILTER_LANG_JSON) => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "parameter filter-lang: cql2-text and cql2-json are supported",
            ));
        }
    };
    if q.filter_crs
        .as_deref()
        .is_some_and(|c| c != "http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    {
        return Err(ApiError::bad_request(
            "parameter filter-crs: only CRS84 is supported",
        ));
    }
    let full = caller.role.sees_restricted();
    let qs: Vec<(&str, QueryableType)> = queryables(full)
        .into_iter()
        .map(|(n, t, _, _)| (n, t))
        .collect();
    let mut filters = Vec::new();
    if let Some(f) = q.filter.as_deref() {
        let parsed = if json_filter {
            cql2::parse_json(f, &qs).map_err(|e| e.to_string())
        } else {
            cql2::parse(f, &qs).map_err(|e| e.to_string())
        };
        filters.push(parsed.map_err(|e| ApiError::bad_request(format!("parameter filter: {e}")))?);
    }
    let sortby = q
        .sortby
        .as_deref()
        .map(|s| cql2::parse_sortby(s, &qs))
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("parameter sortby: {e}")))?;
    // Queryables as query parameters (Part 3, queryables-query-parameters): `status=confirmed`
    // is `status = 'confirmed'`, ANDed with the filter.
    for (k, v) in &q.other {
        let Some((_, kind)) = qs.iter().find(|(n, _)| n == k) else {
            let names: Vec<&str> = qs.iter().map(|(n, _)| *n).collect();
            return Err(ApiError::bad_request(format!(
                "parameter {k:?} is not known; use limit, offset, bbox, datetime, filter, filter-lang, filter-crs, sortby, or a queryable ({})",
                names.join(", ")
            )));
        };
        filters.push(
            cql2::equals(k, *kind, v)
                .map_err(|e| ApiError::bad_request(format!("parameter {k}: {e}")))?,
        );
    }
    let filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(cql2::Expr::And(filters)),
    };
    state.metrics().items.fetch_add(1, Ordering::Relaxed);
    let b = base_url(&headers);
    // A page may scan every feature and write thousands: on the compute pool (`limits.rs`).
    state
        .compute("an item page", move |state| {
            items_page(
                state, &q, full, limit, offset, bbox, datetime, filter, sortby, &b,
            )
        })
        .await
}

/// The work of an items request, on the compute pool.
#[allow(clippy::too_many_arguments)]
fn items_page(
    state: &AppState,
    q: &ItemsQuery,
    full: bool,
    limit: usize,
    offset: usize,
    bbox: Option<(f64, f64, f64, f64)>,
    datetime: Option<(Option<Timestamp>, Option<Timestamp>)>,
    filter: Option<cql2::Expr>,
    sortby: Option<Vec<cql2::SortKey>>,
    b: &str,
) -> Response {
    let m = state.model();
    // Candidate ids in id order: the index narrows a bbox query; otherwise every feature.
    let boxed: Vec<&str>;
    let candidates: Box<dyn Iterator<Item = &str>> = match bbox {
        Some(b) => {
            let all = cairn_index::Filter::every_status();
            let idx = if full { &m.index } else { &m.public_index };
            boxed = idx
                .in_bbox(
                    geo_types::Coord { x: b.0, y: b.1 },
                    geo_types::Coord { x: b.2, y: b.3 },
                    &all,
                )
                .into_iter()
                .map(|h| &*h.id)
                .collect();
            Box::new(boxed.iter().copied())
        }
        None if full => Box::new(m.areas.keys().map(|k| &**k)),
        None => Box::new(m.public.keys().map(|k| &**k)),
    };
    let mut matched = 0usize;
    let mut page: Vec<Value> = Vec::new();
    // With sortby, every match with its sort values; paged once sorted (a stable sort of the
    // id order, so ties keep it and every page of a sorted set is from the same order).
    let mut sorted: Vec<(Vec<cql2::SortValue>, &str)> = Vec::new();
    // Properties are built only when a filter or sort needs them or the feature is on the page.
    let needs_props = filter.is_some() || datetime.is_some() || sortby.is_some();
    let props_of = |cid: &str| -> Option<Map<String, Value>> {
        if full {
            m.areas.get(cid).map(|s| footprint_properties(&s.area))
        } else {
            m.public.get(cid).map(|f| f.props())
        }
    };
    for cid in candidates {
        let (fid, shape): (&str, &Shape) = if full {
            let Some(s) = m.areas.get(cid) else { continue };
            (s.area.id.as_str(), &s.area.shape)
        } else {
            let Some(f) = m.public.get(cid) else { continue };
            (&*f.id, &*f.shape)
        };
        if let Some(b) = bbox
            && !bbox_hits(shape, b)
        {
            continue;
        }
        let mut props = None;
        if needs_props {
            let p = props_of(cid).unwrap_or_default();
            if let Some((from, to)) = datetime {
                let t = p
                    .get("reported_at")
                    .and_then(Value::as_str)
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| t.with_timezone(&chrono::Utc));
                // A feature's time is its record's own, `reported_at`. A feature without one is not
                // selected (Part 1, /req/core/fc-time-response): a danger zone has no time of its
                // own the public may know (its records' would tell restricted dates), and the
                // moment it was shown would match any recent interval.
                if !t.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t <= e)) {
                    continue;
                }
            }
            // What the caller sees alone: for the public, the public feature's properties and
            // published shape (a danger zone's polygon, never the records inside it).
            if let Some(expr) = &filter
                && !cql2::eval_feature(
                    expr,
                    &Seen {
                        props: &p,
                        shape,
                        footprint: std::cell::OnceCell::new(),
                    },
                )
            {
                continue;
            }
            if let Some(keys) = &sortby {
                sorted.push((cql2::sort_values(keys, &|name| p.get(name).cloned()), cid));
                matched += 1;
                continue;
            }
            props = Some(p);
        }
        if matched >= offset && page.len() < limit {
            let props = props.or_else(|| props_of(cid)).unwrap_or_default();
            page.push(feature_json(&Item {
                id: fid,
                shape,
                props,
            }));
        }
        matched += 1;
    }
    if let Some(keys) = &sortby {
        sorted.sort_by(|a, b| cql2::compare_sort_values(keys, &a.0, &b.0));
        for (_, cid) in sorted.iter().skip(offset).take(limit) {
            let item = if full {
                m.areas.get(*cid).map(|s| Item {
                    id: &s.area.id,
                    shape: &s.area.shape,
                    props: footprint_properties(&s.area),
                })
            } else {
                m.public.get(*cid).map(|f| Item {
                    id: &f.id,
                    shape: &f.shape,
                    props: f.props(),
                })
            };
            page.extend(item.as_ref().map(feature_json));
        }
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (k, v) in [
        ("bbox", &q.bbox),
        ("datetime", &q.datetime),
        ("filter", &q.filter),
        ("filter-lang", &q.filter_lang),
        ("filter-crs", &q.filter_crs),
        ("sortby", &q.sortby),
    ] {
        if let Some(v) = v {
            params.push((k.into(), v.clone()));
        }
    }
    params.extend(q.other.iter().map(|(k, v)| (k.clone(), v.clone())));
    let url = |off: usize| {
        let mut p = params.clone();
        p.push(("limit".into(), limit.to_string()));
        p.push(("offset".into(), off.to_string()));
        let qs: Vec<String> = p
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("{b}/ogc/collections/{COLLECTION}/items?{}", qs.join("&"))
    };
    let mut links = vec![link(url(offset), "self", GEOJSON, "This page")];
    if offset + page.len() < matched {
        links.push(link(url(offset + limit), "next", GEOJSON, "Next page"));
    }
    if offset > 0 {
        links.push(link(
            url(offset.saturating_sub(limit)),
            "prev",
            GEOJSON,
            "Previous page",
        ));
    }
    links.push(link(
        format!("{b}/ogc/collections/{COLLECTION}"),
        "collection",
        JSON,
        "The collection",
    ));
    let body = json!({
        "type": "FeatureCollection",
        "timeStamp": chrono::Utc::now(),
        "numberMatched": matched,
        "numberReturned": page.len(),
        "features": page,
        "links": links,
    });
    typed(body.to_string(), GEOJSON)
}

/// A candidate feature as a filter sees it: its properties and its footprint, drawn only when a
/// spatial function needs more than its covering box.
struct Seen<'a> {
    props: &'a Map<String, Value>,
    shape: &'a Shape,
    footprint: std::cell::OnceCell<geo_types::Geometry<f64>>,
}

impl cql2::Feature for Seen<'_> {
    fn property(&self, name: &str) -> Option<Value> {
        self.props.get(name).cloned()
    }

    fn geometry(&self, name: &str) -> Option<&geo_types::Geometry<f64>> {
        (name == GEOMETRY).then(|| {
            self.footprint.get_or_init(|| {
                geo_types::Geometry::MultiPolygon(cairn_core::footprint::footprint(self.shape))
            })
        })
    }

    fn envelope(&self, name: &str) -> Option<geo_types::Rect<f64>> {
        (name == GEOMETRY)
            .then(|| self.shape.covering_bbox())
            .flatten()
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A strong ETag of a public feature: the start of the SHA-256 of its JSON.
fn public_etag(feature: &Value) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(feature.to_string().as_bytes());
    let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"p{hex}\"")
}

/// `GET /ogc/collections/{id}/items/{featureId}`, with an ETag; `If-None-Match` gives 304.
pub async fn item(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    check_collection(&id)?;
    let m = state.model();
    let (body, etag) =
        if caller.role.sees_restricted() {
            let s = m.areas.get(fid.as_str()).ok_or_else(|| {
                ApiError::not_found(format!("no feature {fid:?} in {COLLECTION}"))
            })?;
            (
                feature_json(&Item {
                    id: &s.area.id,
                    shape: &s.area.shape,
                    props: footprint_properties(&s.area),
                }),
                format!("\"r{}\"", s.revision.rev),
            )
        } else {
            let f = m.public.get(fid.as_str()).ok_or_else(|| {
                ApiError::not_found(format!("no feature {fid:?} in {COLLECTION}"))
            })?;
            let body = feature_json(&Item {
                id: &f.id,
                shape: &f.shape,
                props: f.props(),
            });
            // The public's ETag comes from what the public sees alone, so it changes only when
            // that does (a revision number would count the restricted record's edits).
            let etag = public_etag(&body);
            (body, etag)
        };
    if crate::conventions::none_match(&headers, &etag) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Ok(r);
    }
    let b = base_url(&headers);
    let mut body = body;
    body["links"] = json!([
        link(
            format!("{b}/ogc/collections/{COLLECTION}/items/{}", encode(&fid)),
            "self",
            GEOJSON,
            "This feature"
        ),
        link(
            format!("{b}/ogc/collections/{COLLECTION}"),
            "collection",
            JSON,
            "The collection"
        ),
    ]);
    let mut r = typed(body.to_string(), GEOJSON);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}
