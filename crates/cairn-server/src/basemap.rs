//! The base map of `cairn serve --basemap FILE`: vector tiles of roads, rivers, fields and places
//! from a PMTiles v3 or MBTiles file in the OpenStreetMap-derived Protomaps schema, the file a
//! national authority makes once for its country with `pmtiles extract`. Routes:
//! `/basemap/{z}/{x}/{y}.mvt` (the file's tiles) and `/basemap.json` (TileJSON 3.0 from the
//! file's header and metadata; `204 No Content` when there is no file); and, with or without a file, `/fonts/{fontstack}/{range}.pbf`,
//! the glyphs the page's labels are drawn with (embedded, `web/glyphs/`).
//!
//! Tiles go out as the file holds them: a gzip-compressed tile is sent with `Content-Encoding:
//! gzip` to a client that accepts it and decompressed for one that does not (each form has its
//! own ETag). A tile the file lacks inside its zooms (sea, or outside an extract) is `204 No
//! Content`, which map clients draw as empty; a zoom beyond the file's is 404; a z, x or y that
//! is not a tile is 400 naming it. The file is memory-mapped (PMTiles) or opened read-only
//! (MBTiles) once at start; a file that cannot be read stops the start with a sentence naming
//! it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pmtiles::{AsyncPmTilesReader, Compression, MmapBackend, TileCoord, TileType};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::ogc::base_url;

/// What the page is told when the file's metadata names no attribution: the Protomaps schema is
/// made from OpenStreetMap, whose licence (ODbL) asks for this.
pub const OSM_ATTRIBUTION: &str = "© OpenStreetMap contributors";
/// Base-map tiles change only when the file is replaced and the service restarted; clients keep
/// them a day and then revalidate with the ETag.
const TILE_CACHE: &str = "public, max-age=86400";
/// The TileJSON names the tiles' URLs, which follow the request's host: revalidated each time.
const JSON_CACHE: &str = "no-cache";
/// Glyphs are embedded, so they change only with Cairn.
const GLYPH_CACHE: &str = "public, max-age=604800";
const MVT: &str = "application/vnd.mapbox-vector-tile";
const PBF: &str = "application/x-protobuf";

/// Why a base-map file cannot be served: one sentence naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BasemapError(String);

/// How the file stores its tiles.
enum Source {
    Pmtiles(AsyncPmTilesReader<MmapBackend>),
    /// MBTiles: a SQLite file; its tiles are in TMS order (y counted from the south).
    Mbtiles(Mutex<rusqlite::Connection>),
}

/// An open base-map file and what its header and metadata say.
pub struct Basemap {
    source: Source,
    path: PathBuf,
    /// "pmtiles" or "mbtiles".
    pub format: &'static str,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// West, south, east, north.
    pub bounds: [f64; 4],
    /// Longitude, latitude, zoom.
    pub center: Option<[f64; 3]>,
    /// The attribution to show, as plain text.
    pub attribution: String,
    /// The metadata's name, description, version and vector_layers, passed on in the TileJSON.
    metadata: serde_json::Map<String, Value>,
}

impl std::fmt::Debug for Basemap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Basemap")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("zooms", &(self.min_zoom, self.max_zoom))
            .finish_non_exhaustive()
    }
}

/// A tile as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTile {
    pub bytes: Bytes,
    pub gzip: bool,
}

fn is_gzip(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b])
}

impl Basemap {
    /// Opens a PMTiles v3 or MBTiles file, telling them apart by their first bytes.
    pub async fn open(path: &Path) -> Result<Basemap, BasemapError> {
        let shown = path.display().to_string();
        let fail = |why: String| BasemapError(format!("--basemap {shown}: {why}"));
        let mut head = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|e| fail(format!("cannot read the file ({e})")))?;
        if head[..n].starts_with(b"PMTiles") {
            Self::open_pmtiles(path).await.map_err(fail)
        } else if head[..n].starts_with(b"SQLite format 3\0") {
            Self::open_mbtiles(path).map_err(fail)
        } else {
            Err(fail(
                "is neither a PMTiles v3 nor an MBTiles file (see README, \"A base map\", for how to make one)"
                    .into(),
            ))
        }
    }

    async fn open_pmtiles(path: &Path) -> Result<Basemap, String> {
        let reader = AsyncPmTilesReader::new_with_path(path)
            .await
            .map_err(|e| format!("is not a readable PMTiles v3 file ({e})"))?;
        let h = reader.get_header();
        if h.tile_type != TileType::Mvt {
            return Err(format!(
                "holds {:?} tiles, not vector tiles (MVT) in the Protomaps schema",
                h.tile_type
            ));
        }
        if !matches!(h.tile_compression, Compression::Gzip | Compression::None) {
            return Err(format!(
                "its tiles are compressed with {:?}; Cairn serves gzip-compressed or uncompressed tiles (pmtiles extract keeps a Protomaps build's gzip)",
                h.tile_compression
            ));
        }
        if h.min_zoom > h.max_zoom || h.max_zoom > 30 {
            return Err(format!(
                "its header names zooms {} to {}",
                h.min_zoom, h.max_zoom
            ));
        }
        let metadata = match reader.get_metadata().await {
            Ok(text) if text.trim().is_empty() => serde_json::Map::new(),
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => m,
                _ => return Err("its metadata is not a JSON object".into()),
            },
            // An archive written without metadata.
            Err(pmtiles::PmtError::InvalidMetadata) => serde_json::Map::new(),
            Err(e) => return Err(format!("its metadata cannot be read ({e})")),
        };
        let bounds = [
            h.min_longitude,
            h.min_latitude,
            h.max_longitude,
            h.max_latitude,
        ];
        let center = Some([
            h.center_longitude,
            h.center_latitude,
            f64::from(h.center_zoom),
        ]);
        let (min_zoom, max_zoom) = (h.min_zoom, h.max_zoom);
        let b = Basemap {
            attribution: attribution(&metadata),
            source: Source::Pmtiles(reader),
            path: path.to_path_buf(),
            format: "pmtiles",
            min_zoom,
            max_zoom,
            bounds,
            center,
            metadata,
        };
        // A file whose directories are damaged fails here rather than on a visitor's request.
        b.get(min_zoom, 0, 0)
            .await
            .map_err(|e| format!("its tiles cannot be read ({e})"))?;
        Ok(b)
    }

    fn open_mbtiles(path: &Path) -> Result<Basemap, String> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("cannot be opened as SQLite ({e})"))?;
        let mut meta: Vec<(String, String)> = Vec::new();
        {
            let mut st = conn
                .prepare("SELECT name, value FROM metadata")
                .map_err(|e| format!("is not an MBTiles file: no metadata table ({e})"))?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| format!("its metadata cannot be read ({e})"))?;
            for r in rows {
                meta.push(r.map_err(|e| format!("its metadata cannot be read ({e})"))?);
            }
        }
        let get = |k: &str| {
            meta.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_string())
        };
        if let Some(f) = get("format")
            && f != "pbf"
            && f != "mvt"
        {
            return Err(format!(
                "holds {f} tiles, not vector tiles (pbf) in the Protomaps schema"
            ));
        }
        let (lo, hi): (Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT min(zoom_level), max(zoom_level) FROM tiles",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| format!("is not an MBTiles file: no tiles table ({e})"))?;
        let zoom = |k: &str, found: Option<i64>| -> Result<u8, String> {
            let v = match get(k) {
                Some(v) => v
                    .parse::<i64>()
                    .map_err(|_| format!("its metadata {k} {v:?} is not a zoom"))?,
                None => found.ok_or("holds no tiles")?,
            };
            u8::try_from(v)
                .ok()
                .filter(|z| *z <= 30)
                .ok_or_else(|| format!("its metadata {k} {v} is not a zoom"))
        };
        let (min_zoom, max_zoom) = (zoom("minzoom", lo)?, zoom("maxzoom", hi)?);
        if min_zoom > max_zoom {
            return Err(format!("its metadata names zooms {min_zoom} to {max_zoom}"));
        }
        let numbers = |k: &str, n: usize| -> Result<Option<Vec<f64>>, String> {
            let Some(v) = get(k) else { return Ok(None) };
            let p: Result<Vec<f64>, _> = v.split(',').map(|s| s.trim().parse::<f64>()).collect();
            match p {
                Ok(p) if p.len() == n && p.iter().all(|x| x.is_finite()) => Ok(Some(p)),
                _ => Err(format!("its metadata {k} {v:?} is not {n} numbers")),
            }
        };
        let bounds = numbers("bounds", 4)?
            .map(|b| [b[0], b[1], b[2], b[3]])
            .unwrap_or([-180.0, -85.051_129, 180.0, 85.051_129]);
        let center = numbers("center", 3)?.map(|c| [c[0], c[1], c[2]]);
        let mut metadata = match get("json") {
            None => serde_json::Map::new(),
            Some(j) => match serde_json::from_str::<Value>(&j) {
                Ok(Value::Object(m)) => m,
                _ => return Err("its metadata json is not a JSON object".into()),
            },
        };
        for k in ["name", "description", "version", "attribution"] {
            if let Some(v) = get(k) {
                metadata.insert(k.into(), Value::String(v));
            }
        }
        Ok(Basemap {
            attribution: attribution(&metadata),
            source: Source::Mbtiles(Mutex::new(conn)),
            path: path.to_path_buf(),
            format: "mbtiles",
            min_zoom,
            max_zoom,
            bounds,
            center,
            metadata,
        })
    }

    /// The tile at z/x/y (XYZ order) as the file holds it, or `None` when the file has none.
    pub async fn get(&self, z: u8, x: u32, y: u32) -> Result<Option<RawTile>, String> {
        match &self.source {
            Source::Pmtiles(r) => {
                let coord = TileCoord::new(z, x, y).map_err(|e| e.to_string())?;
                let gzip = r.get_header().tile_compression == Compression::Gzip;
                Ok(r.get_tile(coord)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|bytes| RawTile { bytes, gzip }))
            }
            Source::Mbtiles(_) => self.get_blocking(z, x, y),
        }
    }

    /// The tile at z/x/y from an MBTiles file (a SQLite read that may wait on the disk: call it
    /// off the async threads); `None` for PMTiles, which [`Basemap::get`] reads.
    pub fn get_blocking(&self, z: u8, x: u32, y: u32) -> Result<Option<RawTile>, String> {
        let Source::Mbtiles(conn) = &self.source else {
            return Ok(None);
        };
        let row = (1u64 << z) - 1 - u64::from(y);
        let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
        let found: Option<Vec<u8>> = conn
            .query_row(
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                rusqlite::params![z, x, row as i64],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e.to_string()),
            })?;
        Ok(found.map(|b| RawTile {
            gzip: is_gzip(&b),
            bytes: Bytes::from(b),
        }))
    }

    /// The TileJSON 3.0 document, with tile URLs on `base`.
    pub fn tilejson(&self, base: &str) -> Value {
        let mut j = json!({
            "tilejson": "3.0.0",
            "tiles": [format!("{base}/basemap/{{z}}/{{x}}/{{y}}.mvt")],
            "scheme": "xyz",
            "minzoom": self.min_zoom,
            "maxzoom": self.max_zoom,
            "bounds": self.bounds,
            "attribution": self.attribution,
            "vector_layers": self.metadata.get("vector_layers").cloned().unwrap_or(json!([])),
            "format": self.format,
        });
        if let Some(c) = self.center {
            j["center"] = json!(c);
        }
        for k in ["name", "description", "version"] {
            if let Some(v) = self.metadata.get(k).filter(|v| v.is_string()) {
                j[k] = v.clone();
            }
        }
        j
    }
}

/// The metadata's attribution as plain text (Protomaps builds write HTML links), or
/// [`OSM_ATTRIBUTION`] when it names none or does not credit OpenStreetMap.
fn attribution(metadata: &serde_json::Map<String, Value>) -> String {
    let raw = metadata
        .get("attribution")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut text = String::new();
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        OSM_ATTRIBUTION.into()
    } else if text.to_lowercase().contains("openstreetmap") {
        text
    } else {
        format!("{text} · {OSM_ATTRIBUTION}")
    }
}

/// True when the client accepts a gzip-encoded answer (`Accept-Encoding`, q above 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            (coding == "gzip" || coding == "x-gzip" || coding == "*") && q > 0.0
        })
}

/// A strong ETag per tile content and form: a hash of the bytes as stored, marked for the gzip
/// form.
fn tile_etag(raw: &[u8], gzip_sent: bool) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    raw.hash(&mut h);
    format!(
        "\"b{:016x}-{}{}\"",
        h.finish(),
        raw.len(),
        if gzip_sent { "-gz" } else { "" }
    )
}

fn no_basemap() -> ApiError {
    ApiError::not_found(
        "this service has no base map: start it with `cairn serve --basemap FILE` (README, \"A base map\")",
    )
}

/// `GET /basemap.json`: the TileJSON, or `204 No Content` when the service has no base map (the
/// page asks on every load; a 404 there would be logged as an error by every browser).
pub async fn tilejson(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(b) = state.basemap() else {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(JSON_CACHE));
        return r;
    };
    let mut r = axum::Json(b.tilejson(&base_url(&headers))).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(JSON_CACHE));
    r
}

/// Parses the z, x and y of a tile request, naming the one that is wrong.
pub fn parse_tile(z: &str, x: &str, file: &str) -> Result<(u8, u32, u32), ApiError> {
    let bad = |name: &str, v: &str, max: u64| {
        ApiError::bad_request(format!(
            "base-map tile {name} must be a whole number from 0 to {max}, not {v:?}"
        ))
    };
    let zi: u8 = z
        .parse()
        .ok()
        .filter(|z| *z <= 30)
        .ok_or_else(|| bad("z", z, 30))?;
    let n = 1u64 << zi;
    let xi: u32 = x
        .parse()
        .ok()
        .filter(|v| u64::from(*v) < n)
        .ok_or_else(|| bad("x", x, n - 1))?;
    let y = file
        .strip_suffix(".mvt")
        .or_else(|| file.strip_suffix(".pbf"))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "base-map tiles are at /basemap/{{z}}/{{x}}/{{y}}.mvt, not {file:?}"
            ))
        })?;
    let yi: u32 = y
        .parse()
        .ok()
        .filter(|v| u64::from(*v) < n)
        .ok_or_else(|| bad("y", y, n - 1))?;
    Ok((zi, xi, yi))
}

/// `GET /basemap/{z}/{x}/{y}.mvt`.
pub async fn tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath((z, x, file)): UrlPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (zi, xi, yi) = parse_tile(&z, &x, &file)?;
    let Some(b) = state.basemap() else {
        return Err(no_basemap());
    };
    if zi < b.min_zoom || zi > b.max_zoom {
        return Err(ApiError::not_found(format!(
            "the base map holds zooms {} to {}, not {zi}",
            b.min_zoom, b.max_zoom
        )));
    }
    let found = match &b.source {
        // A read from SQLite may wait on the disk: off the async threads.
        Source::Mbtiles(_) => {
            let b = b.clone();
            tokio::task::spawn_blocking(move || b.get_blocking(zi, xi, yi))
                .await
                .map_err(ApiError::internal)?
        }
        Source::Pmtiles(_) => b.get(zi, xi, yi).await,
    }
    .map_err(|e| {
        ApiError::internal(format!(
            "base map {}: tile {zi}/{xi}/{yi}: {e}",
            b.path.display()
        ))
    })?;
    let Some(raw) = found else {
        // Inside the file's zooms but not in it (open sea, outside an extract): empty.
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(TILE_CACHE));
        return Ok(r);
    };
    let send_gzip = raw.gzip && accepts_gzip(&headers);
    let tag = tile_etag(&raw.bytes, send_gzip);
    let mut r = if crate::conventions::none_match(&headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if raw.gzip && !send_gzip {
        let mut out = Vec::with_capacity(raw.bytes.len() * 3);
        flate2::read::MultiGzDecoder::new(&raw.bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| {
                ApiError::internal(format!(
                    "base map {}: tile {zi}/{xi}/{yi} is not valid gzip: {e}",
                    b.path.display()
                ))
            })?;
        ([(header::CONTENT_TYPE, MVT)], out).into_response()
    } else {
        let mut r = ([(header::CONTENT_TYPE, MVT)], raw.bytes).into_response();
        if send_gzip {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(TILE_CACHE));
    if raw.gzip {
        h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    Ok(r)
}

/// The glyph ranges Cairn ships: (fontstack, first code point, the PBF), built by
/// `scripts/data/make-glyphs.sh` from Noto Sans (web/glyphs/).
pub const GLYPHS: &[(&str, u32, &[u8])] = &[
    (
        "Noto Sans Regular",
        0,
        include_bytes!("../../../web/glyphs/Noto Sans Regular/0-255.pbf"),
    ),
    (
        "Noto Sans Regular",
        256,
        include_bytes!("../../../web/glyphs/Noto Sans Regular/256-511.pbf"),
    ),
    (
        "Noto Sans Regular",
        1024,
        include_bytes!("../../../web/glyphs/Noto Sans Regular/1024-1279.pbf"),
    ),
    (
        "Noto Sans Regular",
        8192,
        include_bytes!("../../../web/glyphs/Noto Sans Regular/8192-8447.pbf"),
    ),
    (
        "Noto Sans Bold",
        0,
        include_bytes!("../../../web/glyphs/Noto Sans Bold/0-255.pbf"),
    ),
    (
        "Noto Sans Bold",
        256,
        include_bytes!("../../../web/glyphs/Noto Sans Bold/256-511.pbf"),
    ),
    (
        "Noto Sans Bold",
        1024,
        include_bytes!("../../../web/glyphs/Noto Sans Bold/1024-1279.pbf"),
    ),
    (
        "Noto Sans Bold",
        8192,
        include_bytes!("../../../web/glyphs/Noto Sans Bold/8192-8447.pbf"),
    ),
];

/// The fontstack the page asks for when it names none Cairn ships.
const FALLBACK_FONT: &str = "Noto Sans Regular";

/// An empty glyph range (a `glyphs` message holding one fontstack with its name and range and no
/// glyph): the answer for a range Cairn does not ship, so that a label with such characters lacks
/// them instead of failing to load.
fn empty_range(name: &str, range: &str) -> Vec<u8> {
    fn field(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
        out.push(tag);
        let mut n = bytes.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(bytes);
    }
    let mut stack = Vec::new();
    field(0x0a, name.as_bytes(), &mut stack);
    field(0x12, range.as_bytes(), &mut stack);
    let mut out = Vec::new();
    field(0x0a, &stack, &mut out);
    out
}

/// `GET /fonts/{fontstack}/{range}.pbf`: a fontstack may list several fonts separated by commas;
/// the first one Cairn ships answers.
pub async fn glyphs(
    headers: HeaderMap,
    UrlPath((stack, file)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "glyph range must be START-END.pbf with START a multiple of 256 below 65536 and END = START + 255, not {file:?}"
        ))
    };
    let (a, b) = file
        .strip_suffix(".pbf")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let start: u32 = a.parse().map_err(|_| bad())?;
    let end: u32 = b.parse().map_err(|_| bad())?;
    if !start.is_multiple_of(256) || start >= 65536 || end != start + 255 {
        return Err(bad());
    }
    if stack.is_empty() || stack.len() > 200 {
        return Err(ApiError::bad_request(
            "glyph fontstack must name one to a few fonts",
        ));
    }
    let fonts: Vec<&str> = stack.split(',').map(str::trim).collect();
    let font = fonts
        .iter()
        .copied()
        .find(|f| GLYPHS.iter().any(|(n, _, _)| n == f))
        .unwrap_or(FALLBACK_FONT);
    let body: Vec<u8> = match GLYPHS.iter().find(|(n, s, _)| *n == font && *s == start) {
        Some((_, _, pbf)) => pbf.to_vec(),
        None => empty_range(font, &format!("{start}-{end}")),
    };
    let tag = tile_etag(&body, false);
    let mut r = if crate::conventions::none_match(&headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, PBF)], body).into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(GLYPH_CACHE));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use pmtiles::PmTilesWriter;
    use tower::ServiceExt;

    /// What the test files hold: a distinct body per tile, so that a wrong tile shows.
    fn body_of(z: u8, x: u32, y: u32) -> Vec<u8> {
        format!("tile {z}/{x}/{y} ").repeat(40).into_bytes()
    }

    /// A PMTiles file with every tile of zooms 0 to 2 but 2/3/3, gzip-compressed or not.
    fn write_pmtiles(path: &Path, compression: Compression) {
        let meta = json!({
            "name": "Test base map",
            "attribution": "<a href=\"https://example.org\">Protomaps</a> © <a href=\"https://openstreetmap.org\">OpenStreetMap</a>",
            "vector_layers": [{"id": "water", "fields": {}}],
        });
        let mut w = PmTilesWriter::new(TileType::Mvt)
            .tile_compression(compression)
            .min_zoom(0)
            .max_zoom(2)
            .bounds(22.0, 44.0, 41.0, 53.0)
            .center(31.0, 49.0)
            .center_zoom(2)
            .metadata(meta.to_string())
            .create(std::fs::File::create(path).expect("create"))
            .expect("writer");
        for z in 0..=2u8 {
            for x in 0..(1u32 << z) {
                for y in 0..(1u32 << z) {
                    if (z, x, y) != (2, 3, 3) {
                        w.add_tile(TileCoord::new(z, x, y).expect("coord"), &body_of(z, x, y))
                            .expect("add");
                    }
                }
            }
        }
        w.finalize().expect("finalize");
    }

    /// An MBTiles file (TMS rows) with zooms 0 and 1, tiles gzip-compressed.
    fn write_mbtiles(path: &Path) {
        use std::io::Write;
        let c = rusqlite::Connection::open(path).expect("sqlite");
        c.execute_batch(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             INSERT INTO metadata VALUES ('format', 'pbf'), ('minzoom', '0'), ('maxzoom', '1'),
               ('bounds', '22,44,41,53'), ('name', 'MBTiles test'),
               ('json', '{\"vector_layers\":[{\"id\":\"roads\",\"fields\":{}}]}');",
        )
        .expect("schema");
        for (z, x, y) in [
            (0u8, 0u32, 0u32),
            (1, 0, 0),
            (1, 1, 0),
            (1, 0, 1),
            (1, 1, 1),
        ] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&body_of(z, x, y)).expect("gzip");
            let row = (1u32 << z) - 1 - y;
            c.execute(
                "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![z, x, row, gz.finish().expect("gzip")],
            )
            .expect("insert");
        }
    }

    fn app(basemap: Option<Basemap>) -> Router {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = cairn_store::SqliteStore::open(
            &dir.path().join("b.db"),
            cairn_store::sqlite::OpenMode::Create,
        )
        .expect("store");
        let state = AppState::new(store, cairn_core::Catalogue::builtin()).expect("state");
        state.set_basemap(basemap);
        Router::new()
            .route("/basemap/{z}/{x}/{file}", get(tile))
            .route("/basemap.json", get(tilejson))
            .route("/fonts/{fontstack}/{range}", get(glyphs))
            .with_state(state)
    }

    async fn call(
        app: &Router,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = app
            .clone()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let (parts, body) = r.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(b)
            .read_to_end(&mut out)
            .expect("a gzip body");
        out
    }

    fn problem_detail(headers: &HeaderMap, body: &[u8]) -> String {
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        let v: Value = serde_json::from_slice(body).expect("problem JSON");
        v["detail"].as_str().expect("detail").to_string()
    }

    #[tokio::test]
    async fn gzip_tiles_go_out_as_stored_to_clients_that_accept_gzip_and_decompressed_to_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ua.pmtiles");
        write_pmtiles(&path, Compression::Gzip);
        let app = app(Some(Basemap::open(&path).await.expect("open")));

        let (s, h, gz) = call(
            &app,
            "/basemap/2/1/2.mvt",
            &[("accept-encoding", "gzip, br")],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], MVT);
        assert_eq!(h[header::CONTENT_ENCODING], "gzip");
        assert_eq!(h[header::VARY], "Accept-Encoding");
        assert_eq!(h[header::CACHE_CONTROL], TILE_CACHE);
        assert_eq!(gunzip(&gz), body_of(2, 1, 2));
        let gz_tag = h[header::ETAG].to_str().expect("etag").to_string();

        for accept in [None, Some("identity"), Some("gzip;q=0")] {
            let hs: Vec<(&str, &str)> =
                accept.map(|a| ("accept-encoding", a)).into_iter().collect();
            let (s, h, plain) = call(&app, "/basemap/2/1/2.mvt", &hs).await;
            assert_eq!(s, StatusCode::OK, "{accept:?}");
            assert!(!h.contains_key(header::CONTENT_ENCODING), "{accept:?}");
            assert_eq!(plain, body_of(2, 1, 2), "{accept:?}");
            assert_ne!(
                h[header::ETAG].to_str().expect("etag"),
                gz_tag,
                "each form has its own tag"
            );
        }

        // Revalidation: 304 with the tag, the tile again with another.
        let (s, h, body) = call(
            &app,
            "/basemap/2/1/2.mvt",
            &[("accept-encoding", "gzip"), ("if-none-match", &gz_tag)],
        )
        .await;
        assert_eq!(s, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        assert_eq!(h[header::ETAG].to_str().expect("etag"), gz_tag);
        let (_, _, other) = call(&app, "/basemap/2/1/1.mvt", &[("accept-encoding", "gzip")]).await;
        assert_eq!(gunzip(&other), body_of(2, 1, 1));
        let (s, _, _) = call(
            &app,
            "/basemap/2/1/1.mvt",
            &[("accept-encoding", "gzip"), ("if-none-match", &gz_tag)],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "another tile's tag is not a match");
    }

    #[tokio::test]
    async fn uncompressed_tiles_are_sent_as_they_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plain.pmtiles");
        write_pmtiles(&path, Compression::None);
        let app = app(Some(Basemap::open(&path).await.expect("open")));
        let (s, h, body) = call(&app, "/basemap/1/0/1.mvt", &[("accept-encoding", "gzip")]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!h.contains_key(header::CONTENT_ENCODING));
        assert_eq!(body, body_of(1, 0, 1));
    }

    #[tokio::test]
    async fn zooms_beyond_the_file_are_404_missing_tiles_204_and_bad_coordinates_400_naming_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ua.pmtiles");
        write_pmtiles(&path, Compression::Gzip);
        let app = app(Some(Basemap::open(&path).await.expect("open")));

        let (s, h, body) = call(&app, "/basemap/3/0/0.mvt", &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(problem_detail(&h, &body).contains("zooms 0 to 2, not 3"));

        let (s, _, body) = call(&app, "/basemap/2/3/3.mvt", &[]).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "a tile the file lacks is empty");
        assert!(body.is_empty());

        for (path, name) in [
            ("/basemap/abc/0/0.mvt", "tile z"),
            ("/basemap/31/0/0.mvt", "tile z"),
            ("/basemap/2/4/0.mvt", "tile x"),
            ("/basemap/2/-1/0.mvt", "tile x"),
            ("/basemap/2/0/4.mvt", "tile y"),
            ("/basemap/2/0/y.mvt", "tile y"),
        ] {
            let (s, h, body) = call(&app, path, &[]).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
            let detail = problem_detail(&h, &body);
            assert!(detail.contains(name), "{path}: {detail}");
        }
        let (s, _, _) = call(&app, "/basemap/2/0/0.png", &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_tilejson_tells_the_file_s_zooms_bounds_and_attribution() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ua.pmtiles");
        write_pmtiles(&path, Compression::Gzip);
        let app = app(Some(Basemap::open(&path).await.expect("open")));
        let (s, h, body) = call(&app, "/basemap.json", &[("host", "127.0.0.1:9")]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], "application/json");
        let j: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(j["tilejson"], "3.0.0");
        assert_eq!(j["tiles"][0], "http://127.0.0.1:9/basemap/{z}/{x}/{y}.mvt");
        assert_eq!(j["minzoom"], 0);
        assert_eq!(j["maxzoom"], 2);
        assert_eq!(j["bounds"], json!([22.0, 44.0, 41.0, 53.0]));
        assert_eq!(j["name"], "Test base map");
        assert_eq!(
            j["attribution"], "Protomaps © OpenStreetMap",
            "HTML links dropped"
        );
        assert_eq!(j["vector_layers"][0]["id"], "water");
    }

    #[tokio::test]
    async fn without_a_base_map_there_is_no_tilejson_and_tiles_say_how_to_get_one() {
        let app = app(None);
        let (s, _, body) = call(&app, "/basemap.json", &[]).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert!(body.is_empty());
        let (s, h, body) = call(&app, "/basemap/0/0/0.mvt", &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(problem_detail(&h, &body).contains("--basemap"));
    }

    #[tokio::test]
    async fn an_mbtiles_file_is_served_in_xyz_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ua.mbtiles");
        write_mbtiles(&path);
        let b = Basemap::open(&path).await.expect("open");
        assert_eq!((b.format, b.min_zoom, b.max_zoom), ("mbtiles", 0, 1));
        assert_eq!(
            b.attribution, OSM_ATTRIBUTION,
            "no attribution in the file: OSM's"
        );
        let app = app(Some(b));
        for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (s, h, body) = call(
                &app,
                &format!("/basemap/1/{x}/{y}.mvt"),
                &[("accept-encoding", "gzip")],
            )
            .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(h[header::CONTENT_ENCODING], "gzip");
            assert_eq!(gunzip(&body), body_of(1, x, y), "1/{x}/{y}");
            let (_, _, plain) = call(&app, &format!("/basemap/1/{x}/{y}.mvt"), &[]).await;
            assert_eq!(plain, body_of(1, x, y));
        }
        let (_, _, j) = call(&app, "/basemap.json", &[]).await;
        let j: Value = serde_json::from_slice(&j).expect("json");
        assert_eq!(j["vector_layers"][0]["id"], "roads");
        assert_eq!(j["name"], "MBTiles test");
    }

    #[tokio::test]
    async fn a_missing_or_damaged_file_is_refused_with_a_sentence_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nowhere.pmtiles");
        let garbage = dir.path().join("garbage.pmtiles");
        std::fs::write(&garbage, b"this is not a tile archive at all").expect("write");
        let good = dir.path().join("good.pmtiles");
        write_pmtiles(&good, Compression::Gzip);
        let cut = dir.path().join("cut.pmtiles");
        let bytes = std::fs::read(&good).expect("read");
        std::fs::write(&cut, &bytes[..200]).expect("write");
        let empty_db = dir.path().join("empty.mbtiles");
        rusqlite::Connection::open(&empty_db)
            .expect("sqlite")
            .execute_batch("CREATE TABLE t (a INTEGER);")
            .expect("table");
        for p in [&missing, &garbage, &cut, &empty_db] {
            let e = Basemap::open(p).await.expect_err("refused").to_string();
            assert!(
                e.starts_with(&format!("--basemap {}: ", p.display())),
                "{e}"
            );
            assert!(!e.contains('\n'), "one sentence: {e}");
        }
    }

    #[tokio::test]
    async fn glyphs_are_served_for_the_shipped_ranges_and_empty_for_others() {
        let app = app(None);
        let (s, h, body) = call(&app, "/fonts/Noto%20Sans%20Regular/1024-1279.pbf", &[]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], PBF);
        assert!(body.len() > 10_000, "the Cyrillic range");
        let tag = h[header::ETAG].to_str().expect("etag").to_string();
        let (s, _, _) = call(
            &app,
            "/fonts/Noto%20Sans%20Regular/1024-1279.pbf",
            &[("if-none-match", &tag)],
        )
        .await;
        assert_eq!(s, StatusCode::NOT_MODIFIED);
        // A stack naming an unknown font first: the first shipped one answers.
        let (_, _, bold) = call(&app, "/fonts/Nope,Noto%20Sans%20Bold/0-255.pbf", &[]).await;
        assert_eq!(
            bold,
            GLYPHS
                .iter()
                .find(|g| g.0 == "Noto Sans Bold" && g.1 == 0)
                .expect("bold")
                .2
        );
        // A range not shipped is an empty, valid range.
        let (s, _, empty) = call(&app, "/fonts/Noto%20Sans%20Regular/19968-20223.pbf", &[]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(empty, empty_range("Noto Sans Regular", "19968-20223"));
        assert_eq!(empty[0], 0x0a);
        for bad in [
            "0-254.pbf",
            "1-256.pbf",
            "65536-65791.pbf",
            "a-b.pbf",
            "0-255.png",
        ] {
            let (s, h, body) =
                call(&app, &format!("/fonts/Noto%20Sans%20Regular/{bad}"), &[]).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
            assert!(problem_detail(&h, &body).contains("glyph range"), "{bad}");
        }
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(v).expect("value"),
            );
            m
        };
        assert!(accepts_gzip(&h("gzip")));
        assert!(accepts_gzip(&h("br;q=1.0, gzip;q=0.8, *;q=0.1")));
        assert!(accepts_gzip(&h("*")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("br, identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
