//! Turns a parsed feature or row into a checked record, shared by every input format.

use cairn_core::validate::{
    build_line, build_polygon, check_id, validate_properties, validate_shape,
};
use cairn_core::{AreaProperties, Catalogue, Problem, Shape, Timestamp};
use geo_types::{Geometry, MultiPolygon, Point};

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
