//! The tile endpoints: `/tiles/{z}/{x}/{y}.mvt` and `/tiles.json`. Each audience gets tiles
//! from its own index (the public's holds only public shapes and danger zones); tiles are
//! cached until the data change.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::WireEnum;
use cairn_index::{Filter, Hazard};
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::public_label;
use crate::ogc::base_url;
use crate::tiles::{self, TileFeature, TileValue};
use crate::{AppState, ReadModel};

/// The layer every tile holds.
pub const LAYER: &str = "hazards";
/// Tiles kept in the cache before it is emptied.
pub const CACHE_TILES: usize = 50_000;

/// How severe a status is, for the colour of aggregated cells: higher is worse.
pub(crate) fn rank(label: &str) -> u8 {
    match label {
        "confirmed" | "danger-zone" => 3,
        "suspected" => 2,
        "reported" => 0,
        _ => 1,
    }
}

fn rank_label(r: u8) -> &'static str {
    match r {
        3 => "confirmed",
        2 => "suspected",
        1 => "reduced",
        _ => "reported",
    }
}

/// `GET /tiles/{z}/{x}/{y}.mvt`.
pub async fn tile(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((z, x, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let bad = |name: &str, v: &str| {
        ApiError::bad_request(format!(
            "tile {name} must be a whole number in range, not {v:?}"
        ))
    };
    let zi: u8 = z.parse().map_err(|_| bad("z", &z))?;
    if zi > tiles::MAX_ZOOM {
        return Err(ApiError::not_found(format!(
            "tiles go up to zoom {}, not {zi}",
            tiles::MAX_ZOOM
        )));
    }
    let n = 1u64 << zi;
    let xi: u32 = x
        .parse()
        .ok()
        .filter(|v| u64::from(*v) < n)
        .ok_or_else(|| bad("x", &x))?;
    let y = file.strip_suffix(".mvt").ok_or_else(|| {
        ApiError::not_found(format!(
            "tiles are at /tiles/{{z}}/{{x}}/{{y}}.mvt, not {file:?}"
        ))
    })?;
    let yi: u32 = y
        .parse()
        .ok()
        .filter(|v| u64::from(*v) < n)
        .ok_or_else(|| bad("y", y))?;
    let public = !caller.role.sees_restricted();
    state.metrics().tiles.fetch_add(1, Ordering::Relaxed);
    let key = (public, zi, xi, yi);
    let last_modified = state.model().date_for(!public);
    if let Some(d) = state.tile_cache_get(&key) {
        return Ok(mvt(d, &headers, last_modified));
    }
    // Drawn on the light compute pool (`limits.rs`): a dense tile is CPU work.
    let bytes = state
        .compute_light("a tile", move |state| draw(state, public, zi, xi, yi))
        .await?;
    let drawn = Drawn::new(Bytes::from(bytes));
    state.tile_cache_put(key, drawn.clone());
    Ok(mvt(drawn, &headers, last_modified))
}

/// A drawn tile and its entity tag: a hash of its bytes, so that the tag changes exactly when
/// the tile does, whatever changed it (a write, a new catalogue, a zone redrawn).
#[derive(Clone, Debug)]
pub struct Drawn {
    pub bytes: Bytes,
    pub etag: String,
}

impl Drawn {
    pub fn new(bytes: Bytes) -> Drawn {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        Drawn {
            etag: format!("\"t{:016x}-{}\"", h.finish(), bytes.len()),
            bytes,
        }
    }
}

/// Draws one tile for an audience.
fn draw(state: &AppState, public: bool, zi: u8, xi: u32, yi: u32) -> Vec<u8> {
    draw_model(&state.model(), public, zi, xi, yi)
}

/// Draws one tile for an audience from a read model (the public's when `public`).
pub fn draw_model(m: &ReadModel, public: bool, zi: u8, xi: u32, yi: u32) -> Vec<u8> {
    if zi < tiles::DETAIL_MIN_ZOOM && m.cells_ready() {
        // Low zooms: the covering cells computed with the read model.
        let pyramid = if public { &m.public_cells } else { &m.cells };
        let cells = pyramid.cells(zi, xi, yi);
        tiles::encode_cells(LAYER, &cells, |r| TileValue::String(rank_label(r).into()))
    } else {
        // From the index: every tile from zoom 10, and a low-zoom tile while the covering cells
        // are still being built after a start (`tiles::aggregates` draws it as cells, each
        // hazard rasterised as the pyramid would have it).
        debug_assert!(zi >= tiles::DETAIL_MIN_ZOOM || tiles::aggregates(zi, 0));
        let (min, max) = tiles::tile_bbox(zi, xi, yi, tiles::BUFFER_PX);
        let idx = if public { &m.public_index } else { &m.index };
        let hits: Vec<&Hazard> = idx.in_bbox(min, max, &Filter::default());
        let label = |h: &Hazard| {
            if public {
                public_label(h.status, h.categories)
            } else {
                h.status.as_str()
            }
        };
        if tiles::aggregates(zi, hits.len()) {
            let shapes: Vec<_> = hits.iter().map(|h| (&*h.shape, rank(label(h)))).collect();
            let cells = tiles::aggregate(zi, xi, yi, &shapes);
            tiles::encode_cells(LAYER, &cells, |r| TileValue::String(rank_label(r).into()))
        } else {
            let features: Vec<TileFeature<'_>> = hits
                .iter()
                .map(|h| {
                    let status = label(h);
                    let mut props = vec![
                        ("id", TileValue::String(h.id.to_string())),
                        ("status", TileValue::String(status.into())),
                    ];
                    props.push((
                        "kind",
                        TileValue::String(
                            if status == "danger-zone" {
                                "danger-zone"
                            } else {
                                "hazardous-area"
                            }
                            .into(),
                        ),
                    ));
                    if let Some(f) = m.public.get(&*h.id).filter(|_| public) {
                        if let Some(n) = f.name() {
                            props.push(("name", TileValue::String(n.into())));
                        }
                    } else if let Some(s) = m.areas.get(&*h.id).filter(|_| !public)
                        && let Some(n) = &s.area.props.name
                    {
                        props.push(("name", TileValue::String(n.clone())));
                    }
                    TileFeature {
                        id: None,
                        shape: &h.shape,
                        props,
                    }
                })
                .collect();
            tiles::encode(zi, xi, yi, LAYER, &features)
        }
    }
}

/// A tile's answer: 304 when the client holds it already (`If-None-Match`), else the tile, with
/// its ETag and the date of the data its audience sees as `Last-Modified`.
fn mvt(d: Drawn, headers: &HeaderMap, last_modified: Option<cairn_core::Timestamp>) -> Response {
    let mut r = if crate::conventions::none_match(headers, &d.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile")],
            d.bytes,
        )
            .into_response()
    };
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    if let Ok(v) = HeaderValue::from_str(&d.etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(t) = last_modified
        && let Ok(v) = HeaderValue::from_str(&http_date(t))
    {
        h.insert(header::LAST_MODIFIED, v);
    }
    r
}

/// An HTTP date (RFC 9110 IMF-fixdate).
pub(crate) fn http_date(t: cairn_core::Timestamp) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `GET /tiles.json`: TileJSON 3.0.
pub async fn tilejson(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let b = base_url(&headers);
    let m = state.model();
    let extent = if caller.role.sees_restricted() {
        m.extent
    } else {
        m.public_extent
    };
    let bounds = extent
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
        .unwrap_or([-180.0, -85.0511, 180.0, 85.0511]);
    let mut doc = tiles::tilejson(
        &format!("{b}/tiles/{{z}}/{{x}}/{{y}}.mvt"),
        LAYER,
        &[
            ("id", "String: the record's id, or a zone's id"),
            (
                "status",
                "String: confirmed, suspected, reduced, or danger-zone",
            ),
            ("kind", "String: hazardous-area or danger-zone"),
            ("name", "String: the area's name"),
            ("count", "Number: hazards in an aggregated cell (low zooms)"),
        ],
        bounds,
    );
    doc["name"] = json!("Cairn hazards");
    doc["attribution"] = json!("Cairn hazard records");
    if let Some(d) = m.date_for(caller.role.sees_restricted()) {
        doc["description"] = json!(format!("Hazardous areas as recorded at {}", d.to_rfc3339()));
    }
    let body = doc.to_string();
    let drawn = Drawn::new(Bytes::from(body));
    let mut r = if crate::conventions::none_match(&headers, &drawn.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], drawn.bytes).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&drawn.etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Some(t) = m.date_for(caller.role.sees_restricted())
        && let Ok(v) = HeaderValue::from_str(&http_date(t))
    {
        r.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    r
}
