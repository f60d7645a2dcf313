//! Reading a parcel of land for the extract of "Is my land affected?": GeoJSON (a Polygon or
//! MultiPolygon geometry, a Feature of one, or a FeatureCollection of such features, joined) or
//! KML (every `Polygon` of the document, joined). Problems name the field at fault; the parcel's
//! own checks (validity, size) are `cairn_core::parcel::check_parcel`'s.

use cairn_core::Problem;
use geo::BooleanOps;
use geo_types::{MultiPolygon, Polygon};
use serde_json::Value;

use crate::release::read_polygons;

/// Reads a parcel from the bytes of a GeoJSON or KML document (told apart by their first
/// character). Fields are named after `field`.
pub fn read_parcel(body: &[u8], field: &str) -> Result<MultiPolygon<f64>, Vec<Problem>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| vec![Problem::new(field, "is not UTF-8 text (GeoJSON or KML)")])?;
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.is_empty() {
        return Err(vec![Problem::new(
            field,
            "is empty: give a GeoJSON Polygon or MultiPolygon (geometry, Feature or FeatureCollection) or a KML document",
        )]);
    }
    if t.starts_with('<') {
        return read_kml(t, field);
    }
    let v: Value = serde_json::from_str(t).map_err(|e| {
        vec![Problem::new(
            field,
            format!("is neither KML nor valid JSON: {e}"),
        )]
    })?;
    read_geojson(&v, field)
}

/// Joins polygons read from several features into one parcel.
fn join(parts: Vec<MultiPolygon<f64>>) -> MultiPolygon<f64> {
    let mut it = parts.into_iter();
    let first = it.next().unwrap_or_else(|| MultiPolygon(Vec::new()));
    it.fold(first, |a, b| a.union(&b))
}

/// A GeoJSON parcel.
pub fn read_geojson(v: &Value, field: &str) -> Result<MultiPolygon<f64>, Vec<Problem>> {
    let mut problems = Vec::new();
    if v.get("type").and_then(Value::as_str) == Some("FeatureCollection") {
        let Some(features) = v.get("features").and_then(Value::as_array) else {
            return Err(vec![Problem::new(
                format!("{field}.features"),
                "must be an array of features",
            )]);
        };
        if features.is_empty() {
            return Err(vec![Problem::new(
                format!("{field}.features"),
                "is empty: give at least one feature with a Polygon or MultiPolygon",
            )]);
        }
        let mut parts = Vec::new();
        for (i, f) in features.iter().enumerate() {
            if let Some(mp) =
                read_polygons(f, &format!("{field}.features[{i}].geometry"), &mut problems)
            {
                parts.push(mp);
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        return Ok(join(parts));
    }
    let geometry_field = if v.get("type").and_then(Value::as_str) == Some("Feature") {
        format!("{field}.geometry")
    } else {
        field.to_string()
    };
    match read_polygons(v, &geometry_field, &mut problems) {
        Some(mp) if problems.is_empty() => Ok(mp),
        _ if problems.is_empty() => Err(vec![Problem::new(
            field,
            "must be a GeoJSON Polygon or MultiPolygon",
        )]),
        _ => Err(problems),
    }
}

/// Reads a KML `coordinates` text: `lon,lat[,alt]` tuples separated by white space.
fn kml_ring(text: &str, field: &str, problems: &mut Vec<Problem>) -> Vec<[f64; 2]> {
    let mut out = Vec::new();
    for (j, tuple) in text.split_whitespace().enumerate() {
        let nums: Vec<Option<f64>> = tuple
            .split(',')
            .map(|n| n.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect();
        match nums.as_slice() {
            [Some(lon), Some(lat)] | [Some(lon), Some(lat), Some(_)] => out.push([*lon, *lat]),
            _ => problems.push(Problem::new(
                format!("{field}[{j}]"),
                format!("{tuple:?} is not lon,lat or lon,lat,alt in degrees"),
            )),
        }
    }
    out
}

/// A KML parcel: every Polygon in the document.
pub fn read_kml(text: &str, field: &str) -> Result<MultiPolygon<f64>, Vec<Problem>> {
    let doc = roxmltree::Document::parse(text).map_err(|e| {
        vec![Problem::new(
            field,
            format!("is not well-formed KML (XML): {e}"),
        )]
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "kml" {
        return Err(vec![Problem::new(
            field,
            format!(
                "is XML whose root is <{}>, not <kml>",
                root.tag_name().name()
            ),
        )]);
    }
    let mut problems = Vec::new();
    let mut polygons: Vec<Polygon<f64>> = Vec::new();
    let polys: Vec<_> = root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Polygon")
        .collect();
    if polys.is_empty() {
        return Err(vec![Problem::new(
            field,
            "KML holds no Polygon: draw the parcel as a polygon (a line or a point is not a parcel)",
        )]);
    }
    for (i, p) in polys.iter().enumerate() {
        let pf = format!("{field}.Polygon[{i}]");
        let mut rings = Vec::new();
        for (which, name) in [("outerBoundaryIs", "outer"), ("innerBoundaryIs", "inner")] {
            for (k, b) in p
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == which)
                .enumerate()
            {
                let rf = format!("{pf}.{which}[{k}].LinearRing.coordinates");
                let coords = b
                    .descendants()
                    .find(|c| c.is_element() && c.tag_name().name() == "coordinates")
                    .and_then(|c| c.text())
                    .unwrap_or("");
                let ring = kml_ring(coords, &rf, &mut problems);
                if name == "outer" && k > 0 {
                    problems.push(Problem::new(&rf, "a Polygon has one outerBoundaryIs"));
                }
                rings.push(ring);
            }
        }
        if rings.is_empty() {
            problems.push(Problem::new(&pf, "has no outerBoundaryIs"));
            continue;
        }
        if let Some(poly) =
            cairn_core::validate::build_polygon(&rings, &format!("{pf}.rings"), &mut problems)
        {
            polygons.push(poly);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(join(
        polygons
            .into_iter()
            .map(|p| MultiPolygon(vec![p]))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kml_and_geojson_parcels_and_named_problems() {
        let kml = r#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>Поле</name>
<Polygon><outerBoundaryIs><LinearRing><coordinates>
30.0,50.0,0 30.01,50.0,0 30.01,50.01,0 30.0,50.01,0 30.0,50.0,0
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"#;
        let mp = read_parcel(kml.as_bytes(), "body").unwrap();
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 5);
        let bad = read_parcel(b"<kml><Polygon>", "body").unwrap_err();
        assert!(bad[0].message.contains("KML"), "{bad:?}");
        let bad = read_parcel(
            br#"<kml><Polygon><outerBoundaryIs><LinearRing><coordinates>30,50 x,y 30,50</coordinates></LinearRing></outerBoundaryIs></Polygon></kml>"#,
            "body",
        )
        .unwrap_err();
        assert!(bad[0].field.contains("coordinates[1]"), "{bad:?}");
        let fc = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[30,50],[30.01,50],[30.01,50.01],[30,50]]]}},
 {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[31,50],[31.01,50],[31.01,50.01],[31,50]]]}}]}"#;
        assert_eq!(read_parcel(fc.as_bytes(), "body").unwrap().0.len(), 2);
        let bad = read_parcel(br#"{"type":"Point","coordinates":[30,50]}"#, "body").unwrap_err();
        assert!(bad[0].field.starts_with("body"), "{bad:?}");
    }
}
