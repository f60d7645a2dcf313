//! Exports of the store, for `cairn export` and `GET /api/export`: the hazardous areas in full or
//! as the public may see them, as GeoJSON, CSV or GeoPackage. A GeoPackage holds each hazard as
//! its footprint (a `MULTIPOLYGON` layer, `centre_wkt` beside `radius_m`/`width_m`) and, in full
//! and as things are now, one more layer for each other kind of record (`export_layers.rs`).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use cairn_core::public::{PublicView, public_view};
use cairn_core::{Catalogue, HazardArea, Timestamp, WireEnum};
use cairn_formats::geojson::{FeatureCollectionWriter, footprint_properties, write_area};
use cairn_formats::gpkg::{Column, ColumnType, GeometryType, GpkgWriter, Value as GValue};
use cairn_store::StoreError;
use serde_json::{Map, Value};

/// The hazardous areas' layer (and GeoJSON collection) name.
pub const AREAS_LAYER: &str = "hazardous_areas";

/// A file format of an export.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    GeoJson,
    Csv,
    Gpkg,
}

/// What to export.
#[derive(Clone, Debug)]
pub struct Export {
    pub format: Format,
    /// The state recorded at this time, or now.
    pub as_of: Option<Timestamp>,
    /// Only what the public may see.
    pub public: bool,
    /// GeoJSON: each hazard as its footprint with `centre_wkt` (as GIS clients get it over HTTP)
    /// rather than its own shape with `radius_m`/`width_m` (Cairn's exchange form, which
    /// `cairn import` reads). A GeoPackage always holds footprints; CSV the shape as WKT.
    pub footprints: bool,
}

/// Writes the export `what` of `store` to `path` (a new file), calling `tick` once per record
/// read, and says how many features each layer holds (the hazardous areas' first). The public
/// data's date is `data_date` (the state exported: now, or the time asked). An error is a
/// sentence for the caller to put after the file's name.
pub fn write(
    store: &dyn cairn_store::Backend,
    what: &Export,
    path: &Path,
    catalogue: &Catalogue,
    data_date: Timestamp,
    tick: &mut dyn FnMut(),
) -> Result<Vec<(&'static str, u64)>, String> {
    let (format, as_of, public) = (what.format, what.as_of, what.public);
    let out_err = |e: String| format!("cannot write: {e}");
    let mut sink: Box<dyn Sink> = match format {
        Format::GeoJson => {
            let f = File::create(path).map_err(|e| out_err(e.to_string()))?;
            Box::new(GeoJsonSink {
                w: FeatureCollectionWriter::new(BufWriter::with_capacity(1 << 20, f), AREAS_LAYER)
                    .map_err(|e| out_err(e.to_string()))?,
                footprints: what.footprints,
            })
        }
        Format::Csv => {
            let f = File::create(path).map_err(|e| out_err(e.to_string()))?;
            let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, f));
            if public {
                w.write_record(PUBLIC_COLUMNS.iter().map(|(n, _)| *n))
                    .map_err(|e| out_err(e.to_string()))?;
            } else {
                cairn_formats::csv::write_header(&mut w).map_err(|e| out_err(e.to_string()))?;
            }
            Box::new(CsvSink(w))
        }
        Format::Gpkg => {
            // The footprint is the geometry (a MultiPolygon for every record: GDAL and QGIS
            // test and draw the ground a spot or corridor reaches), its centre a column of WKT.
            let cols: Vec<Column> = if public { PUBLIC_COLUMNS } else { FULL_COLUMNS }
                .iter()
                .filter(|(n, _)| *n != "wkt")
                .map(|(n, t)| match *n {
                    "reported_at" | "data_date" => Column::new(*n, ColumnType::DateTime),
                    _ => Column::new(*n, *t),
                })
                .chain(std::iter::once(Column::new("centre_wkt", ColumnType::Text)))
                .collect();
            let w = GpkgWriter::create_typed(
                path,
                AREAS_LAYER,
                if public {
                    "Hazardous areas as the public may see them (Cairn)"
                } else {
                    "Hazardous areas (Cairn)"
                },
                GeometryType::MultiPolygon,
                &cols,
            )
            .map_err(|e| out_err(e.to_string()))?;
            Box::new(GpkgSink { w: Some(w), cols })
        }
    };
    let mut n = 0u64;
    let mut failure: Option<String> = None;
    // Restricted records that generalise to the same zone are shown once, as the service does.
    let mut zones_seen = std::collections::HashSet::new();
    store
        .for_each_area(as_of, &mut |s| {
            tick();
            let r = if public {
                match public_view(&s.area, catalogue, data_date) {
                    None => Ok(()),
                    Some(PublicView::Zone(z)) if !zones_seen.insert(z.id()) => Ok(()),
                    Some(v) => {
                        n += 1;
                        let (id, geometry, props) = public_row(v, &s.area.id);
                        sink.row(id.as_deref(), &geometry, &props)
                    }
                }
            } else {
                n += 1;
                sink.area(&s.area)
            };
            r.map_err(|e| {
                failure = Some(out_err(e));
                StoreError::Corrupt {
                    id: s.area.id.clone(),
                    message: "export stopped".into(),
                }
            })
        })
        .map_err(|e| failure.take().unwrap_or_else(|| e.to_string()))?;
    sink.finish().map_err(out_err)?;
    let mut layers = vec![(AREAS_LAYER, n)];
    // The other kinds of record, each a layer of its own, in full and as they are now only.
    if format == Format::Gpkg && !public && as_of.is_none() {
        layers.extend(crate::export_layers::write_layers(store, path)?);
    }
    Ok(layers)
}

/// Column names and GeoPackage types of a full export (`wkt` only in CSV).
const FULL_COLUMNS: &[(&str, ColumnType)] = &[
    ("id", ColumnType::Text),
    ("wkt", ColumnType::Text),
    ("name", ColumnType::Text),
    ("status", ColumnType::Text),
    ("classification", ColumnType::Text),
    ("evidence_kind", ColumnType::Text),
    ("evidence_description", ColumnType::Text),
    ("evidence_source", ColumnType::Text),
    ("devices", ColumnType::Text),
    ("reference_points", ColumnType::Text),
    ("marking", ColumnType::Text),
    ("organisation", ColumnType::Text),
    ("reported_at", ColumnType::Text),
    ("radius_m", ColumnType::Real),
    ("width_m", ColumnType::Real),
    ("emplacement", ColumnType::Text),
    ("extra", ColumnType::Text),
];

/// Column names of a public export.
const PUBLIC_COLUMNS: &[(&str, ColumnType)] = &[
    ("id", ColumnType::Text),
    ("wkt", ColumnType::Text),
    ("kind", ColumnType::Text),
    ("name", ColumnType::Text),
    ("status", ColumnType::Text),
    ("marking", ColumnType::Text),
    ("organisation", ColumnType::Text),
    ("reported_at", ColumnType::Text),
    ("evidence", ColumnType::Text),
    ("device_categories", ColumnType::Text),
    ("radius_m", ColumnType::Real),
    ("width_m", ColumnType::Real),
    ("danger", ColumnType::Integer),
    ("danger_en", ColumnType::Text),
    ("danger_uk", ColumnType::Text),
    ("data_date", ColumnType::Text),
];

/// Turns a public view into an exported row; zones carry no id.
fn public_row(
    v: PublicView,
    _id: &str,
) -> (Option<String>, geo_types::Geometry<f64>, Map<String, Value>) {
    match v {
        PublicView::Detailed { shape, detail } => {
            let mut m = match serde_json::to_value(&detail) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            let id = m.remove("id").and_then(|v| v.as_str().map(str::to_string));
            m.insert("kind".into(), Value::from("hazardous-area"));
            if let Some(r) = shape.radius_m() {
                m.insert("radius_m".into(), Value::from(r));
            }
            if let Some(w) = shape.width_m() {
                m.insert("width_m".into(), Value::from(w));
            }
            (id, shape.geometry(), m)
        }
        PublicView::Zone(z) => {
            let mut m = match serde_json::to_value(&z) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            m.insert("kind".into(), Value::from("danger-zone"));
            (Some(z.id()), geo_types::Geometry::Polygon(z.polygon), m)
        }
    }
}

trait Sink {
    fn area(&mut self, a: &HazardArea) -> Result<(), String>;
    fn row(
        &mut self,
        id: Option<&str>,
        g: &geo_types::Geometry<f64>,
        props: &Map<String, Value>,
    ) -> Result<(), String>;
    fn finish(self: Box<Self>) -> Result<(), String>;
}

struct GeoJsonSink<W: std::io::Write> {
    w: FeatureCollectionWriter<W>,
    /// Each hazard as its footprint with `centre_wkt` (as GIS clients get it), or its own shape.
    footprints: bool,
}

impl<W: std::io::Write> Sink for GeoJsonSink<W> {
    fn area(&mut self, a: &HazardArea) -> Result<(), String> {
        if self.footprints {
            let g = geo_types::Geometry::MultiPolygon(cairn_core::footprint::footprint(&a.shape));
            self.w
                .write(Some(&a.id), &g, &footprint_properties(a))
                .map_err(|e| e.to_string())
        } else {
            write_area(&mut self.w, a).map_err(|e| e.to_string())
        }
    }
    fn row(
        &mut self,
        id: Option<&str>,
        g: &geo_types::Geometry<f64>,
        props: &Map<String, Value>,
    ) -> Result<(), String> {
        if self.footprints {
            let (g, centre) = footprint_of(id, g, props)?;
            let mut props = props.clone();
            if let Some(c) = centre {
                props.insert("centre_wkt".into(), Value::from(c));
            }
            self.w.write(id, &g, &props).map_err(|e| e.to_string())
        } else {
            self.w.write(id, g, props).map_err(|e| e.to_string())
        }
    }
    fn finish(self: Box<Self>) -> Result<(), String> {
        let (mut w, _) = self.w.finish().map_err(|e| e.to_string())?;
        std::io::Write::flush(&mut w).map_err(|e| e.to_string())
    }
}

/// A public row's footprint and, for a spot or corridor, its centre as WKT.
fn footprint_of(
    id: Option<&str>,
    g: &geo_types::Geometry<f64>,
    props: &Map<String, Value>,
) -> Result<(geo_types::Geometry<f64>, Option<String>), String> {
    let radius = props.get("radius_m").and_then(Value::as_f64);
    let width = props.get("width_m").and_then(Value::as_f64);
    let shape = cairn_core::Shape::from_parts(g.clone(), radius, width)
        .map_err(|_| format!("feature {id:?}: not a hazard's shape"))?;
    let centre = cairn_formats::geojson::centre_wkt(&shape);
    Ok((
        geo_types::Geometry::MultiPolygon(cairn_core::footprint::footprint(&shape)),
        centre,
    ))
}

struct CsvSink<W: std::io::Write>(csv::Writer<W>);

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

impl<W: std::io::Write> Sink for CsvSink<W> {
    fn area(&mut self, a: &HazardArea) -> Result<(), String> {
        cairn_formats::csv::write_area(&mut self.0, a).map_err(|e| e.to_string())
    }
    fn row(
        &mut self,
        id: Option<&str>,
        g: &geo_types::Geometry<f64>,
        props: &Map<String, Value>,
    ) -> Result<(), String> {
        use wkt_writer::ToWkt;
        let row: Vec<String> = PUBLIC_COLUMNS
            .iter()
            .map(|(n, _)| match *n {
                "id" => id.unwrap_or("").to_string(),
                "wkt" => g.wkt_string(),
                other => cell(props.get(other)),
            })
            .collect();
        self.0.write_record(&row).map_err(|e| e.to_string())
    }
    fn finish(mut self: Box<Self>) -> Result<(), String> {
        self.0.flush().map_err(|e| e.to_string())
    }
}

mod wkt_writer {
    pub use wkt::ToWkt;
}

struct GpkgSink {
    w: Option<GpkgWriter>,
    cols: Vec<Column>,
}

impl Sink for GpkgSink {
    fn area(&mut self, a: &HazardArea) -> Result<(), String> {
        let p = &a.props;
        let json = |v: &dyn Fn() -> Option<String>| v();
        let devices = json(&|| {
            (!p.devices.is_empty()).then(|| serde_json::to_string(&p.devices).unwrap_or_default())
        });
        let refs = json(&|| {
            (!p.reference_points.is_empty())
                .then(|| serde_json::to_string(&p.reference_points).unwrap_or_default())
        });
        let extra = json(&|| {
            (!p.extra.is_empty()).then(|| serde_json::to_string(&p.extra).unwrap_or_default())
        });
        let emplacement = json(&|| {
            p.emplacement
                .as_ref()
                .map(|e| serde_json::to_string(e).unwrap_or_default())
        });
        let reported = p.reported_at.map(cairn_formats::gpkg::datetime);
        let centre = cairn_formats::geojson::centre_wkt(&a.shape);
        fn text(s: Option<&str>) -> GValue<'_> {
            s.map(GValue::Text).unwrap_or(GValue::Null)
        }
        let real = |x: Option<f64>| x.map(GValue::Real).unwrap_or(GValue::Null);
        let values = [
            GValue::Text(&a.id),
            text(p.name.as_deref()),
            GValue::Text(p.status.as_str()),
            GValue::Text(p.classification.as_str()),
            text(p.evidence.as_ref().map(|e| e.kind.as_str())),
            text(p.evidence.as_ref().and_then(|e| e.description.as_deref())),
            text(p.evidence.as_ref().and_then(|e| e.source.as_deref())),
            text(devices.as_deref()),
            text(refs.as_deref()),
            text(p.marking.map(|m| m.as_str())),
            text(p.organisation.as_deref()),
            text(reported.as_deref()),
            real(a.shape.radius_m()),
            real(a.shape.width_m()),
            text(emplacement.as_deref()),
            text(extra.as_deref()),
            text(centre.as_deref()),
        ];
        let footprint =
            geo_types::Geometry::MultiPolygon(cairn_core::footprint::footprint(&a.shape));
        self.w
            .as_mut()
            .ok_or("writer closed")?
            .add(&footprint, &values)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    fn row(
        &mut self,
        _id: Option<&str>,
        g: &geo_types::Geometry<f64>,
        props: &Map<String, Value>,
    ) -> Result<(), String> {
        let id_owned = _id.map(str::to_string);
        // The footprint as the geometry, the centre of a spot or corridor as a column.
        let (footprint, centre) = footprint_of(_id, g, props)?;
        let g = &footprint;
        let cells: Vec<(String, Option<Value>)> = self
            .cols
            .iter()
            .map(|c| {
                let v = match c.name.as_str() {
                    "id" => id_owned.clone().map(Value::from),
                    "centre_wkt" => centre.clone().map(Value::from),
                    // DATETIME columns take the GeoPackage form of the moment.
                    _ if c.ty == ColumnType::DateTime => props
                        .get(&c.name)
                        .and_then(Value::as_str)
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| Value::from(cairn_formats::gpkg::datetime(t.to_utc()))),
                    _ => props.get(&c.name).cloned(),
                };
                (c.name.clone(), v)
            })
            .collect();
        let texts: Vec<String> = cells.iter().map(|(_, v)| cell(v.as_ref())).collect();
        let values: Vec<GValue<'_>> = self
            .cols
            .iter()
            .zip(cells.iter().zip(&texts))
            .map(|(c, ((_, v), t))| match (v, &c.ty) {
                (None | Some(Value::Null), _) => GValue::Null,
                (Some(Value::Number(n)), ColumnType::Real) => {
                    GValue::Real(n.as_f64().unwrap_or(0.0))
                }
                (Some(Value::Bool(b)), ColumnType::Integer) => GValue::Integer(*b as i64),
                _ => GValue::Text(t),
            })
            .collect();
        self.w
            .as_mut()
            .ok_or("writer closed")?
            .add(g, &values)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    fn finish(mut self: Box<Self>) -> Result<(), String> {
        match self.w.take() {
            Some(w) => w.finish().map(|_| ()).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Over HTTP.

/// One export at a time per server: an export of a country's data reads every record. Others
/// wait their turn, up to `MAX_WAITING` of them and `MAX_WAIT` each; beyond, 503.
static EXPORTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
static WAITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
const MAX_WAITING: usize = 8;
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// How long a client is asked to wait when too many exports are waiting.
const BUSY_RETRY_S: u32 = 30;

/// Query of `GET /api/export`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadQuery {
    format: Option<String>,
    view: Option<String>,
    as_of: Option<String>,
}

/// `GET /api/export?format=gpkg|geojson|csv[&view=public][&as_of=TIME]`: the hazardous areas as a
/// file. Officers, auditors and admins get everything (a GeoPackage with a layer for each kind of
/// record) unless they ask for `view=public`; everyone else gets what the public may see, as the
/// public export of `cairn export --public`. `as_of` (a past state) is for the former only: the
/// public's past views side by side would date the restricted records behind a zone.
pub async fn download(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    caller: crate::auth::Caller,
    q: Result<axum::extract::Query<DownloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use crate::error::ApiError;
    use axum::http::{HeaderValue, header};
    let axum::extract::Query(q) = q?;
    let format = match q.format.as_deref().unwrap_or("gpkg") {
        "gpkg" => Format::Gpkg,
        "geojson" | "json" => Format::GeoJson,
        "csv" => Format::Csv,
        other => {
            return Err(ApiError::bad_request(format!(
                "parameter format: {other:?} is not one of gpkg, geojson, csv"
            )));
        }
    };
    let full_reader = crate::accidents::RESTRICTED_READERS.contains(&caller.role);
    let public = match q.view.as_deref() {
        None => !full_reader,
        Some("public") => true,
        Some("full") if full_reader => false,
        Some("full") => {
            return Err(ApiError::forbidden(
                "parameter view: the full export is for officers, auditors and admins; others get view=public",
            ));
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "parameter view: {other:?} is not one of full, public"
            )));
        }
    };
    let as_of = match q.as_of.as_deref() {
        None => None,
        Some(_) if !full_reader => {
            return Err(ApiError::forbidden(
                "parameter as_of: past states are exported for officers, auditors and admins only",
            ));
        }
        Some(t) => Some(
            cairn_core::time::parse_instant(t, cairn_core::time::Cautious::Earliest)
                .map_err(|e| ApiError::bad_request(format!("parameter as_of: {e}")))?,
        ),
    };
    let permit = {
        use std::sync::atomic::Ordering::SeqCst;
        let queued = WAITING.fetch_add(1, SeqCst);
        let permit = if queued < MAX_WAITING {
            tokio::time::timeout(MAX_WAIT, EXPORTING.acquire())
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        };
        WAITING.fetch_sub(1, SeqCst);
        permit
    };
    let Some(permit) = permit else {
        use axum::response::IntoResponse;
        let mut r =
            ApiError::unavailable("too many exports are waiting on this server; try again shortly")
                .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(BUSY_RETRY_S));
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(r);
    };
    let what = Export {
        format,
        as_of,
        public,
        footprints: true,
    };
    let who = caller.name.clone().unwrap_or_else(|| "the public".into());
    let file = tokio::task::spawn_blocking(move || -> Result<std::fs::File, String> {
        let _permit = permit;
        // A connection of its own (opened here: a PostgreSQL client blocks), so that a long
        // export holds up no write.
        let reader = state
            .with_store(|s| s.reopen(true))
            .map_err(|e| e.to_string())?;
        let catalogue = reader
            .catalogue(what.as_of)
            .map_err(|e| e.to_string())?
            .catalogue;
        let dir = std::env::temp_dir().join(format!(
            "cairn-export-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("export");
        let data_date = what.as_of.unwrap_or_else(chrono::Utc::now);
        let written = write(&*reader, &what, &path, &catalogue, data_date, &mut || {});
        // Opened before it is removed: the answer streams from the open file, and nothing of a
        // full export stays on the disk.
        let file = written.and_then(|layers| {
            tracing::info!(by = %who, public = what.public, ?layers, "export made");
            std::fs::File::open(&path).map_err(|e| e.to_string())
        });
        let _ = std::fs::remove_dir_all(&dir);
        file
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let (ty, ext) = match format {
        Format::Gpkg => ("application/geopackage+sqlite3", "gpkg"),
        Format::GeoJson => ("application/geo+json", "geojson"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let name = format!(
        "cairn-hazardous-areas{}-{}.{ext}",
        if public { "-public" } else { "" },
        as_of
            .unwrap_or_else(chrono::Utc::now)
            .format("%Y%m%dT%H%MZ")
    );
    let len = file.metadata().map(|m| m.len()).ok();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    let mut r = axum::response::Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if public {
            "public, max-age=300"
        } else {
            "no-store"
        }),
    );
    Ok(r)
}
