//! Validation that reports every problem of a record, each naming the field at fault.

use std::fmt;

use chrono::{DateTime, Utc};
use geo::Validation;
use geo::algorithm::validation::{GeometryIndex, InvalidMultiPolygon, InvalidPolygon, RingRole};
use geo_types::{Coord, LineString, Polygon};
use serde::Serialize;

use crate::area::{AreaProperties, HazardArea, Shape};
use crate::catalogue::Catalogue;

/// One problem with an input record: the field (a JSON-path-like name) and a sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Longest id accepted.
pub const MAX_ID_LEN: usize = 64;

/// The prefix of the ids of generalised danger zones (`zone-…`), reserved: no record may take
/// an id in it, in any letter case, so a record can never stand in for a published zone.
pub const ZONE_ID_PREFIX: &str = "zone-";

/// True when `id` lies in the danger zones' reserved namespace.
pub fn in_zone_namespace(id: &str) -> bool {
    id.len() >= ZONE_ID_PREFIX.len()
        && id.as_bytes()[..ZONE_ID_PREFIX.len()].eq_ignore_ascii_case(ZONE_ID_PREFIX.as_bytes())
}

/// Checks a record id: 1 to 64 characters of letters, digits, `-`, `_` or `.`, not beginning
/// with `zone-` (the danger zones' namespace).
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("id is empty".into());
    }
    if in_zone_namespace(id) {
        return Err(format!(
            "id {id:?} begins with {ZONE_ID_PREFIX:?}, which is reserved for the public's generalised danger zones; choose another id (or leave it out to have one assigned)"
        ));
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!("id is longer than {MAX_ID_LEN} characters"));
    }
    if id.chars().all(|c| c == '.') {
        return Err(format!(
            "id {id:?} is only dots, which web addresses cannot carry; use letters or digits"
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "id {id:?} contains {c:?}; use letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(())
}

/// True when a position is finite, with longitude in [-180, 180] and latitude in [-90, 90].
pub fn position_ok(p: [f64; 2]) -> bool {
    (-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1])
}

/// Checks one position: finite, longitude in [-180, 180], latitude in [-90, 90].
pub fn check_position(p: [f64; 2], field: &str, problems: &mut Vec<Problem>) -> bool {
    let [x, y] = p;
    if !x.is_finite() || !y.is_finite() {
        problems.push(Problem::new(field, "coordinate is not a finite number"));
        return false;
    }
    let mut ok = true;
    if !(-180.0..=180.0).contains(&x) {
        problems.push(Problem::new(
            field,
            format!("longitude {x} is outside -180..180 (are longitude and latitude swapped, or is this not WGS 84?)"),
        ));
        ok = false;
    }
    if !(-90.0..=90.0).contains(&y) {
        problems.push(Problem::new(
            field,
            format!("latitude {y} is outside -90..90 (is this not WGS 84?)"),
        ));
        ok = false;
    }
    ok
}

/// Builds a polygon from raw rings, reporting unclosed, short and out-of-range rings.
/// `field` names the polygon, e.g. `geometry.coordinates` or `geometry.coordinates[2]`.
pub fn build_polygon(
    rings: &[Vec<[f64; 2]>],
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<Polygon<f64>> {
    let before = problems.len();
    if rings.is_empty() {
        problems.push(Problem::new(field, "polygon has no rings (empty geometry)"));
        return None;
    }
    let mut out = Vec::with_capacity(rings.len());
    for (i, ring) in rings.iter().enumerate() {
        let rf = format!("{field}[{i}]");
        let which = if i == 0 { "exterior ring" } else { "hole" };
        for (j, p) in ring.iter().enumerate() {
            if !position_ok(*p) {
                check_position(*p, &format!("{rf}[{j}]"), problems);
            }
        }
        if ring.len() < 4 {
            problems.push(Problem::new(
                &rf,
                format!(
                    "{which} has {} positions; a closed ring needs at least 4",
                    ring.len()
                ),
            ));
        } else if ring.first() != ring.last() {
            problems.push(Problem::new(
                &rf,
                format!("{which} is not closed: its first and last positions differ"),
            ));
        }
        out.push(LineString(
            ring.iter().map(|&[x, y]| Coord { x, y }).collect(),
        ));
    }
    if problems.len() > before {
        return None;
    }
    let mut it = out.into_iter();
    let exterior = it.next()?;
    Some(Polygon::new(exterior, it.collect()))
}

/// Builds a line from raw positions.
pub fn build_line(
    positions: &[[f64; 2]],
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<LineString<f64>> {
    let before = problems.len();
    for (j, p) in positions.iter().enumerate() {
        if !position_ok(*p) {
            check_position(*p, &format!("{field}[{j}]"), problems);
        }
    }
    if positions.len() < 2 {
        problems.push(Problem::new(
            field,
            format!(
                "line has {} positions; it needs at least 2",
                positions.len()
            ),
        ));
    }
    if problems.len() > before {
        return None;
    }
    Some(LineString(
        positions.iter().map(|&[x, y]| Coord { x, y }).collect(),
    ))
}

/// Checks a shape's topology (self-intersections, holes outside shells, overlapping parts) and
/// its radius or width.
pub fn validate_shape(shape: &Shape, problems: &mut Vec<Problem>) {
    match shape {
        Shape::Polygon(p) => {
            check_areas(p, "geometry.coordinates", problems);
            if crate::simple::polygon_is_surely_valid(p) {
                return;
            }
            for e in p.validation_errors() {
                problems.push(polygon_problem(&e, "geometry.coordinates"));
            }
        }
        Shape::MultiPolygon(m) => {
            if m.0.is_empty() {
                problems.push(Problem::new(
                    "geometry.coordinates",
                    "multipolygon has no parts (empty geometry)",
                ));
            }
            for (i, p) in m.0.iter().enumerate() {
                check_areas(p, &format!("geometry.coordinates[{i}]"), problems);
            }
            if crate::simple::multipolygon_is_surely_valid(m) {
                return;
            }
            for e in m.validation_errors() {
                problems.push(match &e {
                    InvalidMultiPolygon::InvalidPolygon(GeometryIndex(i), inner) => {
                        polygon_problem(inner, &format!("geometry.coordinates[{i}]"))
                    }
                    InvalidMultiPolygon::ElementsOverlaps(GeometryIndex(a), GeometryIndex(b))
                    | InvalidMultiPolygon::ElementsTouchOnALine(
                        GeometryIndex(a),
                        GeometryIndex(b),
                    ) => Problem::new(
                        format!("geometry.coordinates[{a}]"),
                        format!("{e} (parts {a} and {b} of the MultiPolygon)"),
                    ),
                });
            }
        }
        Shape::Spot { radius_m, .. } => {
            if !(radius_m.is_finite() && *radius_m > 0.0 && *radius_m <= 50_000.0) {
                problems.push(Problem::new(
                    "properties.radius_m",
                    format!("radius_m must be a number of metres above 0 and at most 50000, not {radius_m}"),
                ));
            }
        }
        Shape::Linear { line, width_m } => {
            if !(width_m.is_finite() && *width_m > 0.0 && *width_m <= 10_000.0) {
                problems.push(Problem::new(
                    "properties.width_m",
                    format!("width_m must be a number of metres above 0 and at most 10000, not {width_m}"),
                ));
            }
            if line.0.windows(2).all(|w| w[0] == w[1]) {
                problems.push(Problem::new(
                    "geometry.coordinates",
                    "line has no length: all its positions are the same",
                ));
            }
        }
    }
}

/// Every ring must enclose some area; a ring with none can never contain a point.
fn check_areas(p: &Polygon<f64>, field: &str, problems: &mut Vec<Problem>) {
    use geo::Area;
    for (i, r) in std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
    {
        if Polygon::new(r.clone(), vec![]).unsigned_area() == 0.0 {
            problems.push(Problem::new(
                format!("{field}[{i}]"),
                "ring encloses no area: all its positions lie on one line",
            ));
        }
    }
}

/// Names the ring a topology problem is about, as a path into the GeoJSON coordinates.
fn polygon_problem(e: &InvalidPolygon, field: &str) -> Problem {
    let ring = |r: &RingRole| match r {
        RingRole::Exterior => 0,
        RingRole::Interior(i) => i + 1,
    };
    let (role, text) = match e {
        InvalidPolygon::TooFewPointsInRing(r)
        | InvalidPolygon::SelfIntersection(r)
        | InvalidPolygon::NonFiniteCoord(r, _)
        | InvalidPolygon::InteriorRingNotContainedInExteriorRing(r) => {
            (Some(ring(r)), e.to_string())
        }
        InvalidPolygon::IntersectingRingsOnALine(a, b)
        | InvalidPolygon::IntersectingRingsOnAnArea(a, b) => (
            Some(ring(b)),
            format!("{e} (rings {} and {} of the coordinates)", ring(a), ring(b)),
        ),
    };
    // geo counts holes from 0; in the GeoJSON coordinates the shell is ring 0 and hole i is i + 1.
    let mut text = text;
    if let InvalidPolygon::TooFewPointsInRing(RingRole::Interior(i))
    | InvalidPolygon::SelfIntersection(RingRole::Interior(i))
    | InvalidPolygon::NonFiniteCoord(RingRole::Interior(i), _)
    | InvalidPolygon::InteriorRingNotContainedInExteriorRing(RingRole::Interior(i)) = e
    {
        text = text.replace(
            &RingRole::Interior(*i).to_string(),
            &format!("hole (ring {})", i + 1),
        );
    }
    if let InvalidPolygon::IntersectingRingsOnALine(a, b)
    | InvalidPolygon::IntersectingRingsOnAnArea(a, b) = e
    {
        for r in [a, b] {
            if let RingRole::Interior(i) = r {
                text = text.replace(&r.to_string(), &format!("hole (ring {})", i + 1));
            }
        }
    }
    match role {
        Some(r) => Problem::new(format!("{field}[{r}]"), text),
        None => Problem::new(field, text),
    }
}

/// Checks the properties against the catalogue and the present time `now`.
pub fn validate_properties(
    props: &AreaProperties,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
    problems: &mut Vec<Problem>,
) {
    // A little slack for clocks in the field that run ahead.
    let future = now + chrono::Duration::minutes(10);
    if let Some(t) = props.reported_at
        && t > future
    {
        problems.push(Problem::new(
            "properties.reported_at",
            format!("{} is in the future", t.to_rfc3339()),
        ));
    }
    for (i, g) in props.devices.iter().enumerate() {
        let f = |name: &str| format!("properties.devices[{i}].{name}");
        if catalogue.get(&g.device_type).is_none() {
            problems.push(Problem::new(
                f("type"),
                format!(
                    "unknown device type {:?}; the catalogue has {}",
                    g.device_type,
                    catalogue.known_ids()
                ),
            ));
        }
        if let (Some(a), Some(b)) = (g.emplaced_from, g.emplaced_to)
            && a > b
        {
            problems.push(Problem::new(
                f("emplaced_from"),
                format!(
                    "emplacement range is reversed: emplaced_from {} is after emplaced_to {}",
                    a.to_rfc3339(),
                    b.to_rfc3339()
                ),
            ));
        }
        for (name, t) in [
            ("emplaced_from", g.emplaced_from),
            ("emplaced_to", g.emplaced_to),
        ] {
            if let Some(t) = t
                && t > future
            {
                problems.push(Problem::new(
                    f(name),
                    format!("{} is in the future", t.to_rfc3339()),
                ));
            }
        }
    }
    for (i, p) in props.reference_points.iter().enumerate() {
        check_position(*p, &format!("properties.reference_points[{i}]"), problems);
    }
    for (name, v) in [("name", &props.name), ("organisation", &props.organisation)] {
        if let Some(s) = v
            && s.len() > 1000
        {
            problems.push(Problem::new(
                format!("properties.{name}"),
                "is longer than 1000 bytes",
            ));
        }
    }
}

/// Validates a whole record; an empty result means it may be stored.
pub fn validate_area(area: &HazardArea, catalogue: &Catalogue, now: DateTime<Utc>) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(m) = check_id(&area.id) {
        problems.push(Problem::new("id", m));
    }
    validate_shape(&area.shape, &mut problems);
    validate_properties(&area.props, catalogue, now, &mut problems);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(pts: &[(f64, f64)]) -> Vec<[f64; 2]> {
        pts.iter().map(|&(x, y)| [x, y]).collect()
    }

    #[test]
    fn polygon_problems_are_all_reported() {
        let mut p = Vec::new();
        let r = build_polygon(
            &[
                ring(&[(36.0, 49.0), (36.1, 49.0), (36.1, 49.1), (36.0, 49.2)]),
                ring(&[(200.0, 49.0), (f64::NAN, 49.0)]),
            ],
            "geometry.coordinates",
            &mut p,
        );
        assert!(r.is_none());
        let text: Vec<String> = p.iter().map(|x| x.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("[0]") && t.contains("not closed")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("[1][0]") && t.contains("longitude 200")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("[1][1]") && t.contains("finite")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("[1]") && t.contains("at least 4")),
            "{text:?}"
        );
    }

    #[test]
    fn self_intersection_is_found() {
        let mut p = Vec::new();
        let bowtie = build_polygon(
            &[ring(&[
                (0.0, 0.0),
                (1.0, 1.0),
                (1.0, 0.0),
                (0.0, 1.0),
                (0.0, 0.0),
            ])],
            "geometry.coordinates",
            &mut p,
        )
        .unwrap();
        validate_shape(&Shape::Polygon(bowtie), &mut p);
        assert!(
            p.iter().any(|x| x.message.contains("self-intersection")),
            "{p:?}"
        );
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_id("HA-000123").is_ok());
        assert!(check_id("").is_err());
        assert!(check_id("a b").unwrap_err().contains("' '"));
        assert!(check_id(&"x".repeat(65)).is_err());
        for reserved in ["zone-3615-4995-3617-4997", "ZONE-1", "Zone-x"] {
            assert!(
                check_id(reserved).unwrap_err().contains("reserved"),
                "{reserved}"
            );
        }
        assert!(check_id("zone").is_ok());
        assert!(check_id("zoned-1").is_ok());
    }
}
