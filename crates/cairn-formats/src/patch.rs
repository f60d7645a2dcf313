//! Changes to a stored area given as a JSON merge patch (RFC 7396) of its GeoJSON feature: the
//! body of an OGC API Part 4 `PATCH`, of an officer's correction over HTTP and of
//! `cairn correct --patch`. One reading for every door, so a patch means the same everywhere.

use cairn_core::{HazardArea, Problem};
use std::str::FromStr;

use serde_json::{Map, Value, json};

use crate::geojson::{area_properties, geometry_value, read_feature, read_geometry};
use crate::record::{Candidate, build_geometry, build_record};

/// The members a patch may have.
pub const PATCH_MEMBERS: &[&str] = &["type", "id", "geometry", "properties"];

/// Applies an RFC 7396 JSON merge patch to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The first member of `p` a patch may not have, if any.
pub fn unknown_member(p: &Map<String, Value>) -> Option<&String> {
    p.keys().find(|k| !PATCH_MEMBERS.contains(&k.as_str()))
}

/// Checks what can be checked of a patch without the record it applies to: its members, its
/// id (which must be `id` when given), its type, its geometry and the shape of its properties.
/// Every problem names its member.
pub fn check_patch(p: &Map<String, Value>, id: &str) -> Result<(), Vec<Problem>> {
    if let Some(k) = unknown_member(p) {
        return Err(vec![Problem::new(
            k.clone(),
            format!(
                "is not a member a patch may change; it takes {}",
                PATCH_MEMBERS.join(", ")
            ),
        )]);
    }
    match p.get("id") {
        None => {}
        Some(Value::String(s)) if s == id => {}
        Some(other) => {
            return Err(vec![Problem::new(
                "id",
                format!("is {other} but the record is {id:?}; an id cannot be changed"),
            )]);
        }
    }
    if let Some(t) = p.get("type")
        && t != "Feature"
    {
        return Err(vec![Problem::new(
            "type",
            format!("must be \"Feature\", not {t}"),
        )]);
    }
    match p.get("geometry") {
        None => {}
        Some(Value::Null) => {
            return Err(vec![Problem::new(
                "geometry",
                "cannot be removed: a hazardous area needs a geometry; send a new one or leave it out",
            )]);
        }
        Some(g) => {
            let mut problems = Vec::new();
            if let Some(raw) = read_geometry(g, &mut problems) {
                build_geometry(&raw, "geometry.coordinates", &mut problems);
            }
            if !problems.is_empty() {
                return Err(problems);
            }
        }
    }
    if let Some(props) = p.get("properties")
        && !props.is_object()
    {
        return Err(vec![Problem::new(
            "properties",
            "must be an object of the properties to change (null removes one)",
        )]);
    }
    Ok(())
}

/// The area `before` with patch `p` applied, checked in full by the import's validation.
pub fn apply_patch(
    before: &HazardArea,
    p: &Map<String, Value>,
    catalogue: &cairn_core::Catalogue,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<HazardArea, Vec<Problem>> {
    let mut merged = json!({
        "type": "Feature",
        "id": before.id,
        "geometry": geometry_value(&before.shape.geometry()),
        "properties": area_properties(before),
    });
    if let Some(props) = p.get("properties") {
        merge_patch(&mut merged["properties"], props);
    }
    if let Some(g) = p.get("geometry") {
        merged["geometry"] = g.clone();
    } else if let Some(centre) = p
        .get("properties")
        .and_then(|q| q.get("centre_wkt"))
        .and_then(Value::as_str)
        .and_then(|t| wkt::Wkt::<f64>::from_str(t).ok())
        .and_then(|w| geo_types::Geometry::try_from(w).ok())
    {
        // A new centre without a new outline moves the spot or corridor: its outline follows.
        merged["geometry"] = geometry_value(&centre);
        if let Some(Value::Object(props)) = merged.get_mut("properties") {
            props.remove("centre_wkt");
        }
    }
    let f = read_feature(1, &merged);
    let c: Candidate = build_record(f.id, f.geometry, f.props, f.problems, catalogue, now)?;
    Ok(HazardArea {
        id: before.id.clone(),
        shape: c.shape,
        props: c.props,
    })
}
