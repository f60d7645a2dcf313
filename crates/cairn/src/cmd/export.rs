//! `cairn export`: the current or a past state, in full or as the public may see it.

use cairn_core::time::Cautious;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use cairn_core::public::{PublicView, public_view};
use cairn_core::{Catalogue, HazardArea, Timestamp, WireEnum};
use cairn_formats::geojson::{FeatureCollectionWriter, write_area};
use cairn_formats::gpkg::{Column, ColumnType, GeometryType, GpkgWriter, Value as GValue};
use cairn_store::StoreError;
use serde_json::{Map, Value};

use crate::Cli;
use crate::fail::{CmdResult, Failure};
use crate::progress;

/// Arguments of `cairn export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// geojson, csv or gpkg (default: from the output file's extension).
    #[arg(long, value_parser = ["geojson", "csv", "gpkg"])]
    pub format: Option<String>,
    /// Export the state as it was recorded at this time (RFC 3339, or a date meaning its first
    /// moment, 00:00:00Z).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Export only what the public may see: public records' public fields, restricted ones as generalised zones.
    #[arg(long)]
    pub public: bool,
    /// The output file; written whole or not at all.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Format {
    GeoJson,
    Csv,
    Gpkg,
}

/// Runs the export.
pub fn run(cli: &Cli, args: &Args) -> CmdResult {
    let format = match args.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("gpkg") => Format::Gpkg,
        Some(_) => Format::GeoJson,
        None => match args
            .output
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Format::Csv,
            Some("gpkg") => Format::Gpkg,
            Some("geojson") | Some("json") => Format::GeoJson,
            _ => {
                return Err(Failure::input(format!(
                    "{}: cannot tell the format from the name; give --format geojson, csv or gpkg",
                    args.output.display()
                )));
            }
        },
    };
    let as_of = args
        .as_of
        .as_deref()
        .map(|s| super::parse_time_arg("--as-of", s, Cautious::Earliest))
        .transpose()?;
    let store = super::open_existing(cli)?;
    // The catalogue in force at the state exported.
    let catalogue = store.catalogue(as_of)?.catalogue;
    let stats = store.stats()?;
    // The state exported is the store's as of now (or `--as-of`): never the newest write's own
    // time, which a public export would give away for a restricted record behind a zone.
    let data_date = as_of.unwrap_or_else(chrono::Utc::now);
    // A device or a pipe (`-o /dev/stdout`, `-o /dev/null`) is written to as it is: renaming a
    // file over it would replace the device itself.
    let special = std::fs::metadata(&args.output).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if special {
        let bar = progress::bar(stats.areas, false, "exporting");
        let n = write(
            &*store,
            format,
            &args.output,
            as_of,
            args.public,
            &catalogue,
            data_date,
            &bar,
        )?;
        bar.finish_and_clear();
        outln!("exported {n} to {}", args.output.display());
        return Ok(0);
    }
    // Write beside the target, then rename: a reader never sees half a file.
    let dir = args
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.cairn-tmp-{}",
        args.output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let bar = progress::bar(stats.areas, false, "exporting");
    let result = write(
        &*store,
        format,
        &tmp,
        as_of,
        args.public,
        &catalogue,
        data_date,
        &bar,
    );
    bar.finish_and_clear();
    let n = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // A full export holds restricted records: readable by its owner only, like the store.
    #[cfg(unix)]
    if !args.public {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
    }
    std::fs::rename(&tmp, &args.output).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Failure::input(format!("{}: cannot write: {e}", args.output.display()))
    })?;
    outln!(
        "exported {n} {} to {}{}",
        if args.public {
            "public features"
        } else {
            "areas"
        },
        args.output.display(),
        as_of
            .map(|t| format!(" as of {}", t.to_rfc3339()))
            .unwrap_or_default()
    );
    Ok(0)
}

#[allow(clippy::too_many_arguments)]
fn write(
    store: &dyn cairn_store::Backend,
    format: Format,
    path: &Path,
    as_of: Option<Timestamp>,
    public: bool,
    catalogue: &Catalogue,
    data_date: Timestamp,
    bar: &indicatif::ProgressBar,
) -> Result<u64, Failure> {
    let out_err = |e: String| Failure::input(format!("{}: cannot write: {e}", path.display()));
    let mut sink: Box<dyn Sink> = match format {
        Format::GeoJson => {
            let f = File::create(path).map_err(|e| out_err(e.to_string()))?;
            Box::new(GeoJsonSink(
                FeatureCollectionWriter::new(
                    BufWriter::with_capacity(1 << 20, f),
                    "hazardous_areas",
                )
                .map_err(|e| out_err(e.to_string()))?,
            ))
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
                "hazardous_areas",
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
    let mut failure: Option<Failure> = None;
    // Restricted records that generalise to the same zone are shown once, as the service does.
    let mut zones_seen = std::collections::HashSet::new();
    store
        .for_each_area(as_of, &mut |s| {
            bar.inc(1);
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
        .map_err(|e| failure.take().unwrap_or_else(|| Failure::from(e)))?;
    sink.finish().map_err(out_err)?;
    Ok(n)
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

struct GeoJsonSink<W: std::io::Write>(FeatureCollectionWriter<W>);

impl<W: std::io::Write> Sink for GeoJsonSink<W> {
    fn area(&mut self, a: &HazardArea) -> Result<(), String> {
        write_area(&mut self.0, a).map_err(|e| e.to_string())
    }
    fn row(
        &mut self,
        id: Option<&str>,
        g: &geo_types::Geometry<f64>,
        props: &Map<String, Value>,
    ) -> Result<(), String> {
        self.0.write(id, g, props).map_err(|e| e.to_string())
    }
    fn finish(self: Box<Self>) -> Result<(), String> {
        let (mut w, _) = self.0.finish().map_err(|e| e.to_string())?;
        std::io::Write::flush(&mut w).map_err(|e| e.to_string())
    }
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
        let radius = props.get("radius_m").and_then(Value::as_f64);
        let width = props.get("width_m").and_then(Value::as_f64);
        let shape = cairn_core::Shape::from_parts(g.clone(), radius, width)
            .map_err(|_| format!("feature {_id:?}: not a hazard's shape"))?;
        let centre = cairn_formats::geojson::centre_wkt(&shape);
        let g = &geo_types::Geometry::MultiPolygon(cairn_core::footprint::footprint(&shape));
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
