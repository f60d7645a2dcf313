//! Reading activities, devices and the polygons of land worked or released from JSON, for the
//! HTTP API and the command line alike. Every problem names the field at fault.

use cairn_core::release::{ActivityFacts, ActivityKind, DeviceAction, DeviceRecord};
use cairn_core::{Problem, WireEnum};
use chrono::NaiveDate;
use geo_types::{Geometry, MultiPolygon};
use serde_json::{Map, Value};

use crate::geojson::read_geometry;
use crate::props::kind_of;
use crate::record::build_geometry;

/// Reads a Polygon or MultiPolygon given as a GeoJSON geometry, a Feature, or a
/// FeatureCollection of one feature. `field` names the value in messages.
pub fn read_polygons(
    v: &Value,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<MultiPolygon<f64>> {
    let g = match v.get("type").and_then(Value::as_str) {
        Some("Feature") => v.get("geometry").unwrap_or(&Value::Null),
        Some("FeatureCollection") => {
            let features = v.get("features").and_then(Value::as_array);
            match features.map(|f| f.as_slice()) {
                Some([one]) => one.get("geometry").unwrap_or(&Value::Null),
                _ => {
                    problems.push(Problem::new(
                        field,
                        "a FeatureCollection must hold exactly one feature with a Polygon or MultiPolygon",
                    ));
                    return None;
                }
            }
        }
        _ => v,
    };
    let mut own = Vec::new();
    let raw = read_geometry(g, &mut own);
    let built = raw.and_then(|r| build_geometry(&r, &format!("{field}.coordinates"), &mut own));
    // read_geometry names its fields `geometry...`: rename them after `field`.
    for p in own {
        let f = match p.field.strip_prefix("geometry") {
            Some(rest) if !p.field.starts_with(field) => format!("{field}{rest}"),
            _ => p.field,
        };
        problems.push(Problem::new(f, p.message));
    }
    match built? {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        Geometry::MultiPolygon(m) => Some(m),
        other => {
            problems.push(Problem::new(
                format!("{field}.type"),
                format!(
                    "must be a Polygon or MultiPolygon, not {}",
                    cairn_core::area::geometry_type_name(&other)
                ),
            ));
            None
        }
    }
}

fn text<'a>(o: &'a Map<String, Value>, name: &str, problems: &mut Vec<Problem>) -> Option<&'a str> {
    match o.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            problems.push(Problem::new(
                name,
                format!("must be text, not {}", kind_of(other)),
            ));
            None
        }
    }
}

fn date(o: &Map<String, Value>, name: &str, problems: &mut Vec<Problem>) -> Option<NaiveDate> {
    let s = text(o, name, problems);
    match s {
        None => {
            if !o.contains_key(name) || o[name].is_null() {
                problems.push(Problem::new(name, "is required: a date such as 2026-11-20"));
            }
            None
        }
        Some(s) => match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                problems.push(Problem::new(
                    name,
                    format!("must be a date such as 2026-11-20, not {s:?}"),
                ));
                None
            }
        },
    }
}

/// Reads a list of devices found or destroyed: `[{"type", "count", "depth_cm"?, "action"}]`.
pub fn read_devices(v: &Value, field: &str, problems: &mut Vec<Problem>) -> Vec<DeviceRecord> {
    let Some(items) = v.as_array() else {
        problems.push(Problem::new(
            field,
            format!("must be a list of devices, not {}", kind_of(v)),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, d) in items.iter().enumerate() {
        let f = |n: &str| format!("{field}[{i}].{n}");
        let Some(o) = d.as_object() else {
            problems.push(Problem::new(
                format!("{field}[{i}]"),
                "must be an object with type, count and action",
            ));
            continue;
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["type", "count", "depth_cm", "action"].contains(&k.as_str()))
        {
            problems.push(Problem::new(
                f(k),
                "is not a field of a device; the fields are type, count, depth_cm, action",
            ));
        }
        let ty = match o.get("type") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => {
                problems.push(Problem::new(
                    f("type"),
                    "is required: a device type id from the catalogue",
                ));
                None
            }
        };
        let count = match o.get("count") {
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(other) => {
                problems.push(Problem::new(
                    f("count"),
                    format!("must be a whole number of at least 1, not {other}"),
                ));
                None
            }
            None => {
                problems.push(Problem::new(f("count"), "is required"));
                None
            }
        };
        let depth_cm = match o.get("depth_cm") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(other) => {
                problems.push(Problem::new(
                    f("depth_cm"),
                    format!("must be a number of centimetres, not {other}"),
                ));
                None
            }
        };
        let action = match o.get("action").and_then(Value::as_str) {
            Some(s) => match DeviceAction::parse(s) {
                Ok(a) => Some(a),
                Err(m) => {
                    problems.push(Problem::new(f("action"), m));
                    None
                }
            },
            None => {
                problems.push(Problem::new(f("action"), "is required: found or destroyed"));
                None
            }
        };
        if let (Some(device_type), Some(count), Some(action)) = (ty, count, action) {
            out.push(DeviceRecord {
                device_type,
                count,
                depth_cm,
                action,
            });
        }
    }
    out
}

/// The fields of an activity.
pub const ACTIVITY_FIELDS: &[&str] = &[
    "area_id",
    "kind",
    "organisation",
    "team",
    "started",
    "ended",
    "geometry",
    "devices",
    "outcome",
    "participants",
];

/// Reads an activity: its facts and the land worked. Every problem is returned, each naming its field.
pub fn read_activity(v: &Value) -> Result<(ActivityFacts, MultiPolygon<f64>), Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(o) = v.as_object() else {
        return Err(vec![Problem::new(
            "body",
            format!("must be a JSON object with {}", ACTIVITY_FIELDS.join(", ")),
        )]);
    };
    for k in o.keys() {
        if !ACTIVITY_FIELDS.contains(&k.as_str()) {
            problems.push(Problem::new(
                k.as_str(),
                format!(
                    "is not a field of an activity; the fields are {}",
                    ACTIVITY_FIELDS.join(", ")
                ),
            ));
        }
    }
    let area_id = text(o, "area_id", &mut problems)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if area_id.is_none() && !problems.iter().any(|p| p.field == "area_id") {
        problems.push(Problem::new(
            "area_id",
            "is required: the hazardous area worked",
        ));
    }
    let kind = match text(o, "kind", &mut problems) {
        Some(s) => ActivityKind::parse_loose(s)
            .map_err(|m| problems.push(Problem::new("kind", m)))
            .ok(),
        None => {
            if !problems.iter().any(|p| p.field == "kind") {
                problems.push(Problem::new(
                    "kind",
                    format!(
                        "is required: one of {}",
                        ActivityKind::ALL
                            .iter()
                            .map(|(_, n)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            None
        }
    };
    let organisation = text(o, "organisation", &mut problems).map(str::trim);
    if organisation.is_none_or(str::is_empty) && !problems.iter().any(|p| p.field == "organisation")
    {
        problems.push(Problem::new(
            "organisation",
            "is required: who did the work",
        ));
    }
    let team = text(o, "team", &mut problems).map(|s| s.trim().to_string());
    let outcome = text(o, "outcome", &mut problems).map(|s| s.trim().to_string());
    let participants = match o.get("participants") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(other) => {
            problems.push(Problem::new(
                "participants",
                format!("must be a whole number of people, not {other}"),
            ));
            None
        }
    };
    let started = date(o, "started", &mut problems);
    let ended = date(o, "ended", &mut problems);
    let geometry = match o.get("geometry") {
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                "geometry",
                "is required: the Polygon or MultiPolygon of the land worked",
            ));
            None
        }
        Some(g) => read_polygons(g, "geometry", &mut problems),
    };
    let devices = match o.get("devices") {
        None | Some(Value::Null) => Vec::new(),
        Some(d) => read_devices(d, "devices", &mut problems),
    };
    match (area_id, kind, organisation, started, ended, geometry) {
        (Some(area_id), Some(kind), Some(org), Some(started), Some(ended), Some(g))
            if problems.is_empty() =>
        {
            Ok((
                ActivityFacts {
                    kind,
                    area_id: area_id.to_string(),
                    organisation: org.to_string(),
                    team: team.filter(|s| !s.is_empty()),
                    started,
                    ended,
                    devices,
                    outcome: outcome.filter(|s| !s.is_empty()),
                    participants,
                },
                g,
            ))
        }
        _ => Err(problems),
    }
}
