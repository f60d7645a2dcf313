//! CSV with a WKT geometry column (or lon/lat columns for spot hazards), one record per row.
//!
//! Columns: `id`, `wkt` (also `geometry` or `WKT`) or `lon` and `lat`, the simple properties by
//! name, `evidence_kind`, `evidence_description`, `evidence_source`, `devices` as a JSON array
//! (or `device_type`, `quantity`, `emplaced_from`, `emplaced_to` for a single group),
//! `reference_points` and `emplacement` as JSON, and any other column kept as an extra property.

use std::io::{Read, Write};
use std::str::FromStr;

use cairn_core::{HazardArea, Problem, WireEnum};
use serde_json::{Map, Value};

use crate::geojson::ReadFeature;
use crate::props::read_properties;
use crate::record::{RawGeometry, build_geometry};

/// Why a CSV file could not be read as a whole.
#[derive(Debug, thiserror::Error)]
pub enum CsvError<E> {
    #[error("line {line}: {message}")]
    Syntax { line: u64, message: String },
    #[error("{0}")]
    Header(String),
    #[error("{0}")]
    Callback(E),
}

const GEOM_COLUMNS: &[&str] = &["wkt", "WKT", "geometry", "geom", "the_geom"];

/// Reads every row, calling `on_row` with the row as a feature (its number is the row's line).
pub fn read_csv<R: Read, E>(
    reader: R,
    on_header: &mut dyn FnMut(&[String]),
    on_row: &mut dyn FnMut(ReadFeature) -> Result<(), E>,
) -> Result<u64, CsvError<E>> {
    read_csv_adapted(reader, None, b',', on_header, on_row)
}

/// `read_csv` with another `delimiter`, each row first made Cairn's by `adapt` (a mapping, an MGRS
/// column giving the geometry; `crate::adapt`).
pub fn read_csv_adapted<R: Read, E>(
    reader: R,
    adapt: Option<&crate::adapt::Adapt>,
    delimiter: u8,
    on_header: &mut dyn FnMut(&[String]),
    on_row: &mut dyn FnMut(ReadFeature) -> Result<(), E>,
) -> Result<u64, CsvError<E>> {
    let mgrs_column = adapt.and_then(|a| a.mgrs_column.as_deref());
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(delimiter)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| CsvError::Header(format!("cannot read the header row: {e}")))?
        .clone();
    on_header(&headers.iter().map(str::to_string).collect::<Vec<_>>());
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let geom_col = GEOM_COLUMNS.iter().find_map(|n| col(n));
    let lon_col = col("lon").or_else(|| col("longitude")).or_else(|| col("x"));
    let lat_col = col("lat").or_else(|| col("latitude")).or_else(|| col("y"));
    if let Some(m) = mgrs_column
        && col(m).is_none()
    {
        return Err(CsvError::Header(format!(
            "the header row ({}) has no column {m:?} (--mgrs-column)",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    }
    let (geom_col, lon_col, lat_col) = if mgrs_column.is_some() {
        (None, None, None)
    } else {
        (geom_col, lon_col, lat_col)
    };
    if mgrs_column.is_none() && geom_col.is_none() && (lon_col.is_none() || lat_col.is_none()) {
        return Err(CsvError::Header(format!(
            "the header row ({}) has no geometry column: name one wkt (or geometry), or give lon and lat columns",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    }
    let mut count = 0u64;
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(CsvError::Syntax {
                    line,
                    message: e.to_string(),
                });
            }
        }
        count += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(count + 1);
        let mut problems = Vec::new();
        let mut map = Map::new();
        let mut id = None;
        let mut device = Map::new();
        let mut evidence = Map::new();
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim();
            let v = record.get(i).unwrap_or("").trim();
            if v.is_empty() || Some(i) == geom_col || Some(i) == lon_col || Some(i) == lat_col {
                continue;
            }
            match h {
                "id" => id = Some(v.to_string()),
                "devices" | "reference_points" | "emplacement" => {
                    match serde_json::from_str::<Value>(v) {
                        Ok(j) => {
                            map.insert(h.into(), j);
                        }
                        Err(e) => problems.push(Problem::new(
                            format!("properties.{h}"),
                            format!("column {h} must hold JSON: {e}"),
                        )),
                    }
                }
                "extra" if v.starts_with('{') => {
                    match serde_json::from_str::<Map<String, Value>>(v) {
                        Ok(m) => {
                            for (k, x) in m {
                                map.entry(k).or_insert(x);
                            }
                        }
                        Err(e) => problems.push(Problem::new(
                            "properties.extra",
                            format!("column extra must hold a JSON object: {e}"),
                        )),
                    }
                }
                "radius_m" | "width_m" => match f64::from_str(v) {
                    Ok(x) if x.is_finite() => {
                        map.insert(h.into(), number(x));
                    }
                    _ => problems.push(Problem::new(
                        format!("properties.{h}"),
                        format!("{v:?} is not a number of metres"),
                    )),
                },
                "quantity" => match v.parse::<i64>() {
                    Ok(q) => {
                        device.insert("quantity".into(), Value::from(q));
                    }
                    Err(_) if v.eq_ignore_ascii_case("unknown") => {
                        device.insert("quantity".into(), Value::Null);
                    }
                    Err(_) => {
                        device.insert("quantity".into(), Value::String(v.into()));
                    }
                },
                "device_type" => {
                    device.insert("type".into(), Value::String(v.into()));
                }
                "emplaced_from" | "emplaced_to" => {
                    device.insert(h.into(), Value::String(v.into()));
                }
                "evidence_kind" | "evidence_description" | "evidence_source" => {
                    evidence.insert(h["evidence_".len()..].into(), Value::String(v.into()));
                }
                _ => {
                    map.insert(h.into(), Value::String(v.into()));
                }
            }
        }
        if !device.is_empty() {
            if map.contains_key("devices") {
                problems.push(Problem::new(
                    "properties.devices",
                    "give either a devices column or device_type/quantity columns, not both",
                ));
            } else {
                map.insert("devices".into(), Value::Array(vec![Value::Object(device)]));
            }
        }
        if !evidence.is_empty() {
            map.insert("evidence".into(), Value::Object(evidence));
        }
        let mut from_adapt = None;
        if let Some(a) = adapt.filter(|a| a.is_active()) {
            let mut f = serde_json::json!({"type": "Feature", "geometry": null, "properties": Value::Object(std::mem::take(&mut map))});
            problems.extend(a.apply(&mut f));
            if let Value::Object(m) = f["properties"].take() {
                map = m;
            }
            if id.is_none()
                && let Some(v) = map.remove("id")
            {
                id = match v {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
            }
            if mgrs_column.is_some() {
                from_adapt = Some(f["geometry"].take());
            }
        }
        let raw = match (from_adapt, geom_col) {
            (Some(Value::Null), _) => None,
            (Some(g), _) => crate::geojson::read_geometry(&g, &mut problems),
            (None, geom_col) => match geom_col {
                Some(g) => {
                    let text = record.get(g).unwrap_or("").trim();
                    crate::record::read_wkt(text, "geometry", &mut problems)
                }
                None => {
                    let lon = record.get(lon_col.unwrap_or(0)).unwrap_or("").trim();
                    let lat = record.get(lat_col.unwrap_or(0)).unwrap_or("").trim();
                    match (f64::from_str(lon), f64::from_str(lat)) {
                        (Ok(x), Ok(y)) => Some(RawGeometry::Point([x, y])),
                        _ => {
                            problems.push(Problem::new(
                                "geometry",
                                format!("lon {lon:?} and lat {lat:?} must be numbers"),
                            ));
                            None
                        }
                    }
                }
            },
        };
        let geometry = raw.and_then(|r| build_geometry(&r, "geometry", &mut problems));
        let props = read_properties(&map, &mut problems);
        on_row(ReadFeature {
            number: line,
            id,
            geometry,
            props,
            problems,
            raw: crate::geojson::Raw::Csv(record.iter().map(str::to_string).collect()),
        })
        .map_err(CsvError::Callback)?;
    }
    Ok(count)
}

fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// The CSV columns written by `write_csv_area`, in order.
pub const COLUMNS: &[&str] = &[
    "id",
    "wkt",
    "name",
    "status",
    "classification",
    "evidence_kind",
    "evidence_description",
    "evidence_source",
    "devices",
    "reference_points",
    "marking",
    "organisation",
    "reported_at",
    "radius_m",
    "width_m",
    "emplacement",
    "extra",
];

/// Writes the header row.
pub fn write_header<W: Write>(w: &mut csv::Writer<W>) -> csv::Result<()> {
    w.write_record(COLUMNS)
}

/// Writes one area as a row.
pub fn write_area<W: Write>(w: &mut csv::Writer<W>, a: &HazardArea) -> csv::Result<()> {
    use wkt::ToWkt;
    let p = &a.props;
    let json = |v: &dyn erased::ToJson| v.to_json();
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let t = |t: Option<cairn_core::Timestamp>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default()
    };
    let num = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    let record: [String; 17] = [
        a.id.clone(),
        a.shape.geometry().wkt_string(),
        opt(&p.name),
        p.status.as_str().into(),
        p.classification.as_str().into(),
        p.evidence
            .as_ref()
            .map(|e| e.kind.as_str().to_string())
            .unwrap_or_default(),
        p.evidence
            .as_ref()
            .and_then(|e| e.description.clone())
            .unwrap_or_default(),
        p.evidence
            .as_ref()
            .and_then(|e| e.source.clone())
            .unwrap_or_default(),
        if p.devices.is_empty() {
            String::new()
        } else {
            json(&p.devices)
        },
        if p.reference_points.is_empty() {
            String::new()
        } else {
            json(&p.reference_points)
        },
        p.marking
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        opt(&p.organisation),
        t(p.reported_at),
        num(a.shape.radius_m()),
        num(a.shape.width_m()),
        p.emplacement.as_ref().map(|e| json(e)).unwrap_or_default(),
        if p.extra.is_empty() {
            String::new()
        } else {
            json(&p.extra)
        },
    ];
    w.write_record(&record)
}

mod erased {
    /// Serialises any value to JSON text for a CSV cell.
    pub trait ToJson {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> ToJson for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
