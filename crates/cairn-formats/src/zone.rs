//! Reading zones (permitted zones, oblasts, other administrative areas) from a GeoJSON
//! FeatureCollection of Polygon and MultiPolygon features. The whole file is checked before
//! anything is returned: every problem names the feature by its index (`features[2]`) and the
//! field at fault, so one bad feature refuses the file with a complete list.

use std::collections::BTreeMap;

use cairn_core::zone::{Zone, ZoneFacts, ZoneKind, validate_zone, zone_id_from_name};
use cairn_core::{Problem, Shape};
use serde_json::{Map, Value};

use crate::props::kind_of;
use crate::release::read_polygons;

/// How to read a zone file: the kind given to every zone and the properties holding name and id.
#[derive(Clone, Debug)]
pub struct ZoneOptions {
    pub kind: ZoneKind,
    /// The property with the zone's name (default `name`).
    pub name_field: String,
    /// A property with the zone's id, used before the feature's own `id` when given.
    pub id_field: Option<String>,
}

impl ZoneOptions {
    /// Names from `name`, ids from the features' `id` (else from the name).
    pub fn new(kind: ZoneKind) -> ZoneOptions {
        ZoneOptions {
            kind,
            name_field: "name".into(),
            id_field: None,
        }
    }
}

/// Reads every zone of a FeatureCollection, or every problem of every feature.
pub fn read_zones(v: &Value, opts: &ZoneOptions) -> Result<Vec<Zone>, Vec<Problem>> {
    let features = match (v.get("type").and_then(Value::as_str), v.get("features")) {
        (Some("FeatureCollection"), Some(Value::Array(f))) => f,
        _ => {
            return Err(vec![Problem::new(
                "type",
                format!(
                    "a zone file must be a GeoJSON FeatureCollection of Polygon or MultiPolygon features, not {}",
                    match v.get("type") {
                        Some(t) => kind_of(t),
                        None => kind_of(v),
                    }
                ),
            )]);
        }
    };
    if features.is_empty() {
        return Err(vec![Problem::new(
            "features",
            "is empty: the file holds no zone",
        )]);
    }
    let mut problems = Vec::new();
    let mut zones = Vec::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for (i, f) in features.iter().enumerate() {
        let mut p = Vec::new();
        let zone = read_zone(f, opts, &mut p);
        if let Some(z) = &zone
            && let Some(first) = ids.insert(z.id.clone(), i)
        {
            p.push(Problem::new(
                "id",
                format!("{} is also the id of features[{first}]", z.id),
            ));
        }
        problems.extend(
            p.into_iter()
                .map(|p| Problem::new(format!("features[{i}].{}", p.field), p.message)),
        );
        zones.extend(zone);
    }
    if problems.is_empty() {
        Ok(zones)
    } else {
        Err(problems)
    }
}

fn feature_id(
    o: &Map<String, Value>,
    opts: &ZoneOptions,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let as_id = |v: &Value, field: String, problems: &mut Vec<Problem>| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        other => {
            problems.push(Problem::new(
                field,
                format!("must be text or a number, not {}", kind_of(other)),
            ));
            None
        }
    };
    if let Some(name) = &opts.id_field
        && let Some(v) = o
            .get("properties")
            .and_then(Value::as_object)
            .and_then(|p| p.get(name))
        && let Some(id) = as_id(v, format!("properties.{name}"), problems)
    {
        return Some(id);
    }
    o.get("id").and_then(|v| as_id(v, "id".into(), problems))
}

fn read_zone(f: &Value, opts: &ZoneOptions, problems: &mut Vec<Problem>) -> Option<Zone> {
    let Some(o) = f.as_object() else {
        problems.push(Problem::new(
            "type",
            format!("must be a GeoJSON Feature, not {}", kind_of(f)),
        ));
        return None;
    };
    if o.get("type").and_then(Value::as_str) != Some("Feature") {
        problems.push(Problem::new("type", "must be \"Feature\""));
    }
    let empty = Map::new();
    let props = match o.get("properties") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => &empty,
        Some(other) => {
            problems.push(Problem::new(
                "properties",
                format!("must be an object, not {}", kind_of(other)),
            ));
            &empty
        }
    };
    let name_field = format!("properties.{}", opts.name_field);
    let name = match props.get(&opts.name_field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            problems.push(Problem::new(
                &name_field,
                "is required: the zone's name (choose another property with --name-field)",
            ));
            None
        }
        Some(other) => {
            problems.push(Problem::new(
                &name_field,
                format!("must be text, not {}", kind_of(other)),
            ));
            None
        }
    };
    let text = |k: &str, problems: &mut Vec<Problem>| match props.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(other) => {
            problems.push(Problem::new(
                format!("properties.{k}"),
                format!("must be text, not {}", kind_of(other)),
            ));
            None
        }
    };
    let source = text("source", problems);
    let description = text("description", problems);
    let id = feature_id(o, opts, problems).or_else(|| name.as_deref().and_then(zone_id_from_name));
    if id.is_none() && name.is_some() {
        problems.push(Problem::new(
            "id",
            format!(
                "is missing: the feature has no id{} and its name {:?} gives none (only Latin letters and digits make an id); give each feature an id",
                opts.id_field
                    .as_ref()
                    .map(|f| format!(" (nor a property {f})"))
                    .unwrap_or_default(),
                name.as_deref().unwrap_or_default()
            ),
        ));
    }
    let geometry = match o.get("geometry") {
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                "geometry",
                "is required: the zone's Polygon or MultiPolygon",
            ));
            None
        }
        Some(g) => read_polygons(g, "geometry", problems),
    }
    .map(|m| match Shape::MultiPolygon(m).oriented() {
        Shape::MultiPolygon(m) => m,
        _ => unreachable!("orienting keeps the kind of shape"),
    });
    let zone = Zone {
        id: id.clone().unwrap_or_else(|| "Z-unnamed".into()),
        facts: ZoneFacts {
            name: name.clone().unwrap_or_default(),
            kind: opts.kind,
            source,
            description,
        },
        geometry: geometry.clone()?,
    };
    // The zone's own checks: id, name length, topology. A missing name was reported above.
    let mut own = Vec::new();
    validate_zone(&zone, &mut own);
    // A Polygon was read as a MultiPolygon of one part: name its rings as the input has them.
    let was_polygon = o
        .get("geometry")
        .and_then(|g| g.get("type"))
        .and_then(Value::as_str)
        == Some("Polygon");
    for mut p in own {
        if was_polygon && let Some(rest) = p.field.strip_prefix("geometry.coordinates[0]") {
            p.field = format!("geometry.coordinates{rest}");
        }
        if p.field == "properties.name" {
            if name.is_some() {
                problems.push(Problem::new(&name_field, p.message));
            }
        } else if p.field == "id" {
            if id.is_some() {
                problems.push(p);
            }
        } else {
            problems.push(p);
        }
    }
    (id.is_some() && name.is_some()).then_some(zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(x: f64) -> Value {
        json!({"type": "Polygon", "coordinates": [[[x, 48.0], [x + 1.0, 48.0], [x + 1.0, 49.0], [x, 49.0], [x, 48.0]]]})
    }

    #[test]
    fn ids_come_from_the_id_field_the_feature_or_the_name() {
        let v = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "Z-one", "geometry": square(30.0), "properties": {"name": "First", "code": "UA-63"}},
            {"type": "Feature", "geometry": square(32.0), "properties": {"name": "Second zone"}},
        ]});
        let z = read_zones(&v, &ZoneOptions::new(ZoneKind::Oblast)).unwrap();
        assert_eq!(
            z.iter().map(|z| z.id.as_str()).collect::<Vec<_>>(),
            ["Z-one", "Z-second-zone"]
        );
        let mut o = ZoneOptions::new(ZoneKind::Oblast);
        o.id_field = Some("code".into());
        let z = read_zones(&v, &o).unwrap();
        assert_eq!(z[0].id, "UA-63");
        assert_eq!(z[1].id, "Z-second-zone");
    }

    #[test]
    fn every_bad_feature_is_named() {
        let v = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": square(30.0), "properties": {"name": "Good"}},
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[30, 48], [31, 49], [31, 48], [30, 49], [30, 48]]]}, "properties": {"name": "Bow tie"}},
            {"type": "Feature", "geometry": square(34.0), "properties": {}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [30, 48]}, "properties": {"name": "Dot"}},
            {"type": "Feature", "geometry": square(36.0), "properties": {"name": "Київ"}},
            {"type": "Feature", "geometry": square(38.0), "properties": {"name": "good"}},
        ]});
        let ps = read_zones(&v, &ZoneOptions::new(ZoneKind::Permitted)).unwrap_err();
        let fields: Vec<&str> = ps.iter().map(|p| p.field.as_str()).collect();
        // The bow tie is a Polygon: its ring is coordinates[0], as in the input.
        assert_eq!(fields[0], "features[1].geometry.coordinates[0]", "{ps:?}");
        assert!(fields.contains(&"features[2].properties.name"), "{ps:?}");
        assert!(fields.contains(&"features[3].geometry.type"), "{ps:?}");
        assert!(fields.contains(&"features[4].id"), "{ps:?}");
        assert!(fields.contains(&"features[5].id"), "{ps:?}");
        assert!(
            !fields.iter().any(|f| f.starts_with("features[0]")),
            "{ps:?}"
        );
    }
}
