//! Turns a parsed feature or row into a checked record, shared by every input format.

use cairn_core::validate::{
    build_line, build_polygon, check_id, validate_properties, validate_shape,
};
use cairn_core::{AreaProperties, Catalogue, Problem, Shape, Timestamp};
use geo_types::{Geometry, MultiPolygon, Point};
use std::str::FromStr;
use wkt::Wkt;

use crate::props::ReadProps;

/// A record that passed every check; its id may still be assigned by the store.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub id: Option<String>,
    pub shape: Shape,
    pub props: AreaProperties,
}

/// Raw coordinates of a geometry as read, before any checks.
#[derive(Clone, Debug)]
pub enum RawGeometry {
    Point([f64; 2]),
    LineString(Vec<[f64; 2]>),
    Polygon(Vec<Vec<[f64; 2]>>),
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
    /// A type a hazardous area cannot have, by its GeoJSON name.
    Other(String),
}

/// Checks raw coordinates and builds the geometry; `field` names the coordinates.
pub fn build_geometry(
    raw: &RawGeometry,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<Geometry<f64>> {
    match raw {
        RawGeometry::Point(p) => cairn_core::validate::check_position(*p, field, problems)
            .then(|| Geometry::Point(Point::new(p[0], p[1]))),
        RawGeometry::LineString(l) => build_line(l, field, problems).map(Geometry::LineString),
        RawGeometry::Polygon(rings) => build_polygon(rings, field, problems).map(Geometry::Polygon),
        RawGeometry::MultiPolygon(parts) => {
            if parts.is_empty() {
                problems.push(Problem::new(
                    field,
                    "multipolygon has no parts (empty geometry)",
                ));
                return None;
            }
            let polys: Vec<_> = parts
                .iter()
                .enumerate()
                .map(|(i, rings)| build_polygon(rings, &format!("{field}[{i}]"), problems))
                .collect();
            polys
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(|p| Geometry::MultiPolygon(MultiPolygon(p)))
        }
        RawGeometry::Other(name) => {
            problems.push(Problem::new(
                "geometry.type",
                format!(
                    "a hazardous area must be a Polygon, MultiPolygon, Point (with radius_m) or LineString (with width_m), not {name}"
                ),
            ));
            None
        }
    }
}

/// Reads WKT text into raw coordinates; problems name `field`.
pub fn read_wkt(text: &str, field: &str, problems: &mut Vec<Problem>) -> Option<RawGeometry> {
    if text.is_empty() {
        problems.push(Problem::new(field, "is empty (no WKT)"));
        return None;
    }
    let w = match Wkt::<f64>::from_str(text) {
        Ok(w) => w,
        Err(e) => {
            problems.push(Problem::new(field, format!("is not valid WKT: {e}")));
            return None;
        }
    };
    let ring = |l: &wkt::types::LineString<f64>| -> Vec<[f64; 2]> {
        l.coords().iter().map(|c| [c.x, c.y]).collect()
    };
    let poly = |p: &wkt::types::Polygon<f64>| -> Vec<Vec<[f64; 2]>> {
        p.rings().iter().map(ring).collect()
    };
    Some(match &w {
        Wkt::Point(p) => match p.coord() {
            Some(c) => RawGeometry::Point([c.x, c.y]),
            None => {
                problems.push(Problem::new(field, "POINT EMPTY is an empty geometry"));
                return None;
            }
        },
        Wkt::LineString(l) => RawGeometry::LineString(ring(l)),
        Wkt::Polygon(p) => RawGeometry::Polygon(poly(p)),
        Wkt::MultiPolygon(m) => RawGeometry::MultiPolygon(m.polygons().iter().map(poly).collect()),
        Wkt::MultiPoint(_) => RawGeometry::Other("MultiPoint".into()),
        Wkt::MultiLineString(_) => RawGeometry::Other("MultiLineString".into()),
        Wkt::GeometryCollection(_) => RawGeometry::Other("GeometryCollection".into()),
    })
}

/// How far (degrees, about a centimetre) a vertex of a spot's or corridor's outline as sent back
/// may lie from the one Cairn draws and still be taken as that outline.
const OUTLINE_SLACK_DEG: f64 = 1e-7;

/// The spot or corridor a feature stands for when it carries `centre_wkt` (the form Cairn publishes
/// to GIS clients: the outline as geometry, the centre and radius or width as properties). The
/// outline sent must be the one drawn from them: it is derived, so a hazard is moved or resized
/// by its centre, radius or width, and one given an outline of its own drops those.
fn published_outline(
    geometry: Geometry<f64>,
    p: &ReadProps,
    problems: &mut Vec<Problem>,
) -> Option<Shape> {
    let centre = p.centre.clone()?;
    let shape = match Shape::from_parts(centre.clone(), p.radius_m, p.width_m) {
        Ok(s) => s,
        Err(ps) => {
            problems.extend(ps);
            return None;
        }
    };
    let same = match &geometry {
        Geometry::Point(_) | Geometry::LineString(_) => geometry == centre,
        Geometry::Polygon(poly) => same_outline(
            &MultiPolygon(vec![poly.clone()]),
            &cairn_core::footprint::footprint(&shape),
        ),
        Geometry::MultiPolygon(m) => same_outline(m, &cairn_core::footprint::footprint(&shape)),
        _ => false,
    };
    if !same {
        problems.push(Problem::new(
            "geometry",
            format!(
                "is not the outline Cairn draws for the {} that properties.centre_wkt and {} describe: move or resize the hazard by changing those, or remove centre_wkt, radius_m and width_m to give it this outline as drawn",
                if shape.radius_m().is_some() { "spot" } else { "corridor" },
                if shape.radius_m().is_some() { "radius_m" } else { "width_m" },
            ),
        ));
        return None;
    }
    Some(shape)
}

/// True when two outlines have the same parts and rings, vertex for vertex within
/// `OUTLINE_SLACK_DEG` (either orientation).
fn same_outline(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    use geo::{Orient, orient::Direction};
    let (a, b) = (a.orient(Direction::Default), b.orient(Direction::Default));
    let ring = |x: &geo_types::LineString<f64>, y: &geo_types::LineString<f64>| {
        x.0.len() == y.0.len()
            && x.0.iter().zip(&y.0).all(|(p, q)| {
                (p.x - q.x).abs() <= OUTLINE_SLACK_DEG && (p.y - q.y).abs() <= OUTLINE_SLACK_DEG
            })
    };
    a.0.len() == b.0.len()
        && a.0.iter().zip(&b.0).all(|(p, q)| {
            p.interiors().len() == q.interiors().len()
                && ring(p.exterior(), q.exterior())
                && p.interiors()
                    .iter()
                    .zip(q.interiors())
                    .all(|(h, k)| ring(h, k))
        })
}

/// Combines the parts read from one feature into a checked record, or every problem found.
pub fn build_record(
    id: Option<String>,
    geometry: Option<Geometry<f64>>,
    props: Option<ReadProps>,
    mut problems: Vec<Problem>,
    catalogue: &Catalogue,
    now: Timestamp,
) -> Result<Candidate, Vec<Problem>> {
    if let Some(id) = &id
        && let Err(m) = check_id(id)
    {
        problems.push(Problem::new("id", m));
    }
    let shape = match (geometry, &props) {
        (Some(g), Some(p)) if p.centre.is_some() => {
            published_outline(g, p, &mut problems).map(|s| {
                let s = s.oriented();
                validate_shape(&s, &mut problems);
                s
            })
        }
        (Some(g), Some(p)) => {
            // A radius or width on a polygon is refused by `from_parts`, which then drops the
            // polygon: check it here so that its own problems are listed too.
            if p.radius_m.is_some() || p.width_m.is_some() {
                match &g {
                    Geometry::Polygon(poly) => {
                        validate_shape(&Shape::Polygon(poly.clone()), &mut problems)
                    }
                    Geometry::MultiPolygon(m) => {
                        validate_shape(&Shape::MultiPolygon(m.clone()), &mut problems)
                    }
                    _ => {}
                }
            }
            match Shape::from_parts(g, p.radius_m, p.width_m) {
                Ok(s) => {
                    let s = s.oriented();
                    validate_shape(&s, &mut problems);
                    Some(s)
                }
                Err(ps) => {
                    problems.extend(ps);
                    None
                }
            }
        }
        (Some(g), None) => {
            // Properties had problems; still check the geometry so that every problem is listed.
            let s = match g {
                Geometry::Polygon(p) => Some(Shape::Polygon(p)),
                Geometry::MultiPolygon(m) => Some(Shape::MultiPolygon(m)),
                _ => None,
            };
            if let Some(s) = s {
                validate_shape(&s, &mut problems);
            }
            None
        }
        _ => None,
    };
    if let Some(p) = &props {
        validate_properties(&p.props, catalogue, now, &mut problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    match (shape, props) {
        (Some(shape), Some(p)) => Ok(Candidate {
            id,
            shape,
            props: p.props,
        }),
        _ => Err(vec![Problem::new("feature", "could not be read")]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geojson::{footprint_properties, footprint_value, read_feature};
    use cairn_core::HazardArea;
    use geo_types::line_string;
    use serde_json::{Value, json};

    fn read_back(v: &Value) -> Result<Candidate, Vec<Problem>> {
        let f = read_feature(1, v);
        build_record(
            f.id,
            f.geometry,
            f.props,
            f.problems,
            &Catalogue::builtin(),
            chrono::Utc::now(),
        )
    }

    fn published(shape: Shape) -> (HazardArea, Value) {
        let mut v = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]},
            "properties": {"status": "suspected", "classification": "public", "radius_m": 1.0}});
        let props = read_back(&v).expect("a valid record").props;
        let area = HazardArea {
            id: "HA-000001".into(),
            shape,
            props,
        };
        v["geometry"] = footprint_value(&area.shape);
        v["properties"] = Value::Object(footprint_properties(&area));
        (area, v)
    }

    #[test]
    fn spots_and_corridors_published_as_outlines_read_back_as_themselves() {
        let spot = Shape::Spot {
            at: Point::new(36.2, 49.9),
            radius_m: 62.8,
        };
        let line = Shape::Linear {
            line: line_string![(x: 36.0, y: 49.0), (x: 36.01, y: 49.02), (x: 36.03, y: 49.02)],
            width_m: 40.0,
        };
        for shape in [spot, line] {
            let (area, v) = published(shape);
            assert_eq!(v["geometry"]["type"], "MultiPolygon");
            assert_eq!(read_back(&v).expect("reads back").shape, area.shape);
        }
    }

    #[test]
    fn a_bad_centre_is_refused_with_its_field() {
        let (_, v) = published(Shape::Spot {
            at: Point::new(36.2, 49.9),
            radius_m: 62.8,
        });
        for (centre, says) in [
            (json!("POINT(36.2"), "is not valid WKT"),
            (
                json!("POLYGON((0 0,1 0,1 1,0 0))"),
                "must be the WKT of a POINT",
            ),
            (json!(12), "must be WKT text"),
            (json!("POINT(36.3 49.9)"), "is not the outline"),
        ] {
            let mut w = v.clone();
            w["properties"]["centre_wkt"] = centre.clone();
            let problems = read_back(&w).expect_err("refused");
            let text = problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            assert!(text.contains(says), "{centre}: {text}");
            assert!(
                text.contains("centre_wkt") || text.starts_with("geometry"),
                "{text}"
            );
        }
        // Without its radius, the centre describes nothing: named too.
        let mut w = v.clone();
        w["properties"].as_object_mut().unwrap().remove("radius_m");
        let problems = read_back(&w).expect_err("refused");
        assert!(
            problems.iter().any(|p| p.to_string().contains("radius_m")),
            "{problems:?}"
        );
    }
}
