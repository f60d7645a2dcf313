//! The GeoPackage export's layers for the kinds of record other than hazardous areas: activities,
//! land releases, post-release finds, accidents and zones, one layer each, their fields those of
//! the API's answers for that kind (`releases.rs`, `accidents.rs`: one wire form, so a GIS
//! officer finds the same names in QGIS as in the API), each column's type read from the values
//! (numbers, moments as DATETIME, flags, nested values as JSON text).

use std::path::Path;

use cairn_formats::gpkg::{Column, ColumnType, GeometryType, GpkgWriter, Value as GValue};
use geo_types::Geometry;
use serde_json::{Map, Value};

use crate::accidents::{accident_feature, zone_feature};
use crate::releases::{activity_json, find_json, release_json};

/// One feature of a layer: its id, geometry and properties.
type Row = (String, Geometry<f64>, Map<String, Value>);

/// A layer to write: its table name, description, geometry type and rows.
struct Layer {
    table: &'static str,
    description: &'static str,
    geometry: GeometryType,
    rows: Vec<Row>,
}

/// Adds a layer for each other kind of record to the finished GeoPackage at `path`; says how
/// many features each holds.
pub fn write_layers(
    store: &dyn cairn_store::Backend,
    path: &Path,
) -> Result<Vec<(&'static str, u64)>, String> {
    let err = |e: cairn_store::StoreError| format!("cannot read the store: {e}");
    let without = |mut v: Value, keys: &[&str]| -> Map<String, Value> {
        if let Some(o) = v.as_object_mut() {
            for k in keys {
                o.remove(*k);
            }
        }
        match v {
            Value::Object(o) => o,
            _ => Map::new(),
        }
    };
    let feature = |f: Value| -> Map<String, Value> {
        match f.get("properties") {
            Some(Value::Object(p)) => p.clone(),
            _ => Map::new(),
        }
    };
    let layers = [
        Layer {
            table: "activities",
            description: "Survey, clearance and marking activities on hazardous areas (Cairn)",
            geometry: GeometryType::MultiPolygon,
            rows: store
                .all_activities()
                .map_err(err)?
                .into_iter()
                .map(|a| {
                    let props = without(activity_json(&a), &["geometry"]);
                    (a.id, Geometry::MultiPolygon(a.geometry), props)
                })
                .collect(),
        },
        Layer {
            table: "releases",
            description: "Land released by cancellation, technical survey or clearance (Cairn)",
            geometry: GeometryType::MultiPolygon,
            rows: store
                .all_releases()
                .map_err(err)?
                .into_iter()
                .map(|r| {
                    let props = without(release_json(&r, &[]), &["geometry", "post_release_finds"]);
                    (r.id, Geometry::MultiPolygon(r.geometry), props)
                })
                .collect(),
        },
        Layer {
            table: "post_release_finds",
            description: "Devices found on land after its release (Cairn)",
            geometry: GeometryType::Point,
            rows: store
                .all_finds()
                .map_err(err)?
                .into_iter()
                .map(|f| {
                    let props = without(find_json(&f), &["lon", "lat"]);
                    (f.id, Geometry::Point(f.at), props)
                })
                .collect(),
        },
        Layer {
            table: "accidents",
            description: "Accidents and their casualties (Cairn; restricted)",
            geometry: GeometryType::Point,
            rows: store
                .accidents()
                .map_err(err)?
                .into_iter()
                .map(|a| {
                    let props = feature(accident_feature(&a));
                    (a.id, Geometry::Point(a.place), props)
                })
                .collect(),
        },
        Layer {
            table: "zones",
            description: "Zones: permitted zones, oblasts and other administrative areas (Cairn)",
            geometry: GeometryType::MultiPolygon,
            rows: store
                .zones()
                .map_err(err)?
                .into_iter()
                .map(|z| {
                    let props = feature(zone_feature(&z));
                    (z.id, Geometry::MultiPolygon(z.geometry), props)
                })
                .collect(),
        },
    ];
    layers.into_iter().map(|l| write_layer(path, l)).collect()
}

fn write_layer(path: &Path, layer: Layer) -> Result<(&'static str, u64), String> {
    let columns = columns_of(&layer.rows);
    let mut w = GpkgWriter::add_layer(
        path,
        layer.table,
        layer.description,
        layer.geometry,
        &columns,
    )
    .map_err(|e| e.to_string())?;
    for (id, geometry, props) in &layer.rows {
        let texts: Vec<Option<String>> = columns
            .iter()
            .map(|c| match (c.name.as_str(), c.ty) {
                ("id", _) => Some(id.clone()),
                (_, ColumnType::DateTime) => props
                    .get(&c.name)
                    .and_then(Value::as_str)
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| cairn_formats::gpkg::datetime(t.to_utc())),
                (_, ColumnType::Text) => match props.get(&c.name) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                },
                _ => None,
            })
            .collect();
        let values: Vec<GValue<'_>> = columns
            .iter()
            .zip(&texts)
            .map(|(c, t)| match (c.ty, props.get(&c.name), t) {
                (_, _, Some(t)) => GValue::Text(t),
                (ColumnType::Integer, Some(Value::Bool(b)), _) => GValue::Integer(i64::from(*b)),
                (ColumnType::Integer, Some(Value::Number(n)), _) => {
                    n.as_i64().map_or(GValue::Null, GValue::Integer)
                }
                (ColumnType::Real, Some(Value::Number(n)), _) => {
                    n.as_f64().map_or(GValue::Null, GValue::Real)
                }
                _ => GValue::Null,
            })
            .collect();
        w.add(geometry, &values).map_err(|e| e.to_string())?;
    }
    let n = w.finish().map_err(|e| e.to_string())?;
    Ok((layer.table, n))
}

/// The columns of a layer: `id`, then every property (in the properties' order), typed by every
/// value it takes: whole numbers INTEGER, other numbers REAL, flags INTEGER, text that is always a
/// moment DATETIME, anything else (other text, nested values) TEXT.
fn columns_of(rows: &[Row]) -> Vec<Column> {
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        Nothing,
        Integer,
        Real,
        Flag,
        Moment,
        Text,
    }
    let mut order: Vec<(String, Seen)> = Vec::new();
    for (_, _, props) in rows {
        for (k, v) in props {
            if k == "id" {
                continue;
            }
            let this = match v {
                Value::Null => Seen::Nothing,
                Value::Bool(_) => Seen::Flag,
                Value::Number(n) if n.is_i64() || n.is_u64() => Seen::Integer,
                Value::Number(_) => Seen::Real,
                Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Seen::Moment,
                _ => Seen::Text,
            };
            let slot = match order.iter_mut().find(|(name, _)| name == k) {
                Some((_, s)) => s,
                None => {
                    order.push((k.clone(), Seen::Nothing));
                    &mut order.last_mut().expect("just pushed").1
                }
            };
            *slot = match (*slot, this) {
                (a, Seen::Nothing) => a,
                (Seen::Nothing, b) => b,
                (a, b) if a == b => a,
                (Seen::Integer, Seen::Real) | (Seen::Real, Seen::Integer) => Seen::Real,
                _ => Seen::Text,
            };
        }
    }
    std::iter::once(Column::new("id", ColumnType::Text))
        .chain(order.into_iter().map(|(name, seen)| {
            let ty = match seen {
                Seen::Integer | Seen::Flag => ColumnType::Integer,
                Seen::Real => ColumnType::Real,
                Seen::Moment => ColumnType::DateTime,
                Seen::Nothing | Seen::Text => ColumnType::Text,
            };
            Column::new(name, ty)
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_are_typed_by_every_value_they_take() {
        let row = |v: Value| -> Row {
            (
                "x".into(),
                Geometry::Point(geo_types::Point::new(0.0, 0.0)),
                match v {
                    Value::Object(o) => o,
                    _ => unreachable!(),
                },
            )
        };
        let rows = vec![
            row(
                json!({"id": "A", "n": 1, "x": 1, "at": "2026-01-01T00:00:00Z", "ok": true, "tags": ["a"], "note": null}),
            ),
            row(json!({"n": 2, "x": 2.5, "at": "not a time", "ok": false, "note": "n"})),
        ];
        let cols: Vec<(String, ColumnType)> = columns_of(&rows)
            .into_iter()
            .map(|c| (c.name, c.ty))
            .collect();
        assert_eq!(
            cols,
            [
                ("id".to_string(), ColumnType::Text),
                ("at".into(), ColumnType::Text),
                ("n".into(), ColumnType::Integer),
                ("note".into(), ColumnType::Text),
                ("ok".into(), ColumnType::Integer),
                ("tags".into(), ColumnType::Text),
                ("x".into(), ColumnType::Real),
            ]
        );
    }
}
