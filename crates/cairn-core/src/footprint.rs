//! A hazard's footprint: the ground it covers as polygons, for every reader that knows only
//! polygons — GIS clients through OGC API – Features and GeoPackage, which test a box against a
//! feature's own geometry (a bare point of a spot of radius 60 m fails a box 40 m from it), and
//! the land-release arithmetic.
//!
//! A polygon is its own footprint. A spot and a corridor are drawn *outward*: the outline
//! contains every point within the radius (the half-width) of the centre point (of the centre
//! line, whose edges run straight in longitude and latitude) measured on the WGS 84 ellipsoid,
//! so a GIS client never leaves out ground the hazard reaches. The argument:
//!
//! 1. *The plane.* Shapes are drawn on an equirectangular plane at an origin φ0 (`Plane`), whose
//!    scales kx0 = N(φ0)·cos φ0 and ky0 = M(φ0) (metres per radian) are the true ones at φ0 only.
//!    A point within `r` metres of the centre is reached by a geodesic of length at most `r`,
//!    which stays within Δ = r / 6,335,439 radians of latitude (both radii of curvature are at
//!    least a(1 − e²) = 6,335,439 m). Along it the plane measures each step at most
//!    `stretch` = max(kx0 / kx(φ), ky0 / ky(φ)) times its true length, over the latitudes the
//!    path may reach; both ratios are monotonic in |φ| on either side of the equator, so their
//!    largest values are at the ends of that latitude band (`stretch`). The point is therefore
//!    within `r · stretch` of the centre on the plane (for a corridor: of the nearest point of its
//!    line, as the plane is affine in longitude and latitude and keeps the line's edges straight).
//! 2. *The polygon.* A disc of radius ρ is inside a regular polygon of `n` sides whose vertices lie
//!    on the circle of radius ρ / cos(π / n); a corridor's round caps and joins (geo's buffer,
//!    i_overlay, arcs in steps of about [`ARC_STEP`], longer where a cap meets a side) are drawn at
//!    ρ / cos(ARC_STEP), which holds for steps up to 2 · ARC_STEP. ρ is `r · stretch` plus a millimetre for rounding.
//!
//! The tests check it against geodesics (geographiclib through geo): points just inside the
//! radius in every direction, at several latitudes, lie inside the outline.

use geo::algorithm::buffer::{BufferStyle, LineCap, LineJoin};
use geo::{Buffer, Orient, orient::Direction};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use crate::area::Shape;
use crate::release::Plane;

/// Sides of a spot's outline.
pub const CIRCLE_SIDES: usize = 64;
/// The largest angle (radians) between two vertices of a corridor's round cap or join (tested:
/// `a_corridor_outline_holds_the_whole_corridor`).
pub const ARC_STEP: f64 = 0.1;
/// The smallest radius of curvature of the WGS 84 ellipsoid, a(1 − e²), in metres.
const MIN_RADIUS_M: f64 = 6_335_439.0;
/// Added to every reach for rounding, in metres.
const SLACK_M: f64 = 0.001;

/// The ground a shape covers as polygons (right-hand rule): a polygon as it is, a spot and a
/// corridor as outlines that contain all of it (the module's argument).
pub fn footprint(shape: &Shape) -> MultiPolygon<f64> {
    match shape {
        Shape::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Shape::MultiPolygon(m) => m.clone(),
        Shape::Spot { at, radius_m } => {
            let plane = Plane::at(at.0);
            let reach = radius_m * stretch(at.y(), at.y(), *radius_m) + SLACK_M;
            let corner = reach / (std::f64::consts::PI / CIRCLE_SIDES as f64).cos();
            let ring: Vec<Coord<f64>> = (0..=CIRCLE_SIDES)
                .map(|i| {
                    let a = (i % CIRCLE_SIDES) as f64 / CIRCLE_SIDES as f64 * std::f64::consts::TAU;
                    plane.unproject(Coord {
                        x: corner * a.cos(),
                        y: corner * a.sin(),
                    })
                })
                .collect();
            MultiPolygon(vec![Polygon::new(LineString(ring), vec![])])
        }
        Shape::Linear { line, width_m } => {
            let (Some(lo), Some(hi)) = (
                line.0.iter().map(|c| c.y).reduce(f64::min),
                line.0.iter().map(|c| c.y).reduce(f64::max),
            ) else {
                return MultiPolygon(vec![]);
            };
            let lon = {
                let (a, b) = line
                    .0
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c.x), b.max(c.x)));
                (a + b) / 2.0
            };
            let plane = Plane::at(Coord {
                x: lon,
                y: (lo + hi) / 2.0,
            });
            let half = width_m / 2.0;
            let reach = half * stretch(lo, hi, half) + SLACK_M;
            let projected = LineString(line.0.iter().map(|c| plane.project(*c)).collect());
            // i_overlay divides an arc into steps of about the angle asked (π / 31 for 0.1), but
            // where a cap meets a side the step may be longer (a proptest found a point at the
            // half-width just outside with ρ / cos(ARC_STEP / 2)): the outline is drawn at
            // ρ / cos(ARC_STEP), which holds for steps up to twice ARC_STEP, 0.5 % wider.
            let asked = ARC_STEP * 0.9;
            let style = BufferStyle::new(reach / ARC_STEP.cos())
                .line_join(LineJoin::Round(asked))
                .line_cap(LineCap::Round(asked));
            let corridor = projected.buffer_with_style(style);
            let un = |l: LineString<f64>| {
                LineString(l.0.into_iter().map(|c| plane.unproject(c)).collect())
            };
            MultiPolygon(
                corridor
                    .0
                    .into_iter()
                    .map(|p| {
                        let (ext, ints) = p.into_inner();
                        Polygon::new(un(ext), ints.into_iter().map(un).collect())
                    })
                    .collect(),
            )
            .orient(Direction::Default)
        }
    }
}

/// True when two shapes cover the same ground as published, their footprints equal: a polygon and
/// a multipolygon of that one polygon, or a spot and its outline. A write of one over the other
/// keeps the stored form (`cairn_store`'s one door), so that a GIS client sending back a feature
/// as it got it changes nothing.
pub fn same_ground(a: &Shape, b: &Shape) -> bool {
    a == b || footprint(a) == footprint(b)
}

/// How much longer the plane at the middle of latitudes `lo`..`hi` (degrees) measures a path
/// than it is, for paths reaching `reach_m` beyond that band (the module's step 1).
fn stretch(lo: f64, hi: f64, reach_m: f64) -> f64 {
    let mid = (lo + hi) / 2.0;
    let delta = (reach_m / MIN_RADIUS_M).to_degrees();
    let (kx0, ky0) = scales(mid);
    [lo - delta, hi + delta]
        .into_iter()
        .map(|phi| phi.clamp(-89.9, 89.9))
        .map(|phi| {
            let (kx, ky) = scales(phi);
            (kx0 / kx).max(ky0 / ky)
        })
        .fold(1.0, f64::max)
        * (1.0 + 1e-9)
}

/// The WGS 84 scales (metres per radian of longitude and of latitude) at latitude `phi` degrees.
fn scales(phi: f64) -> (f64, f64) {
    const A: f64 = 6_378_137.0;
    const F: f64 = 1.0 / 298.257_223_563;
    let e2 = F * (2.0 - F);
    let p = phi.to_radians();
    let w = (1.0 - e2 * p.sin() * p.sin()).sqrt();
    (A / w * p.cos(), A * (1.0 - e2) / (w * w * w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Destination, Distance, Geodesic};
    use geo_types::{Point, line_string, polygon};
    use proptest::prelude::*;

    /// Every point `reach` metres (a hair less) from `from` in 360 directions is inside `fp`.
    fn covers_around(fp: &MultiPolygon<f64>, from: Point<f64>, reach: f64) -> Result<(), String> {
        for deg in 0..360 {
            let p = Geodesic.destination(from, f64::from(deg), reach * (1.0 - 1e-9));
            if !fp.contains(&p) {
                return Err(format!(
                    "{p:?}, {reach} m from {from:?} at {deg}°, is outside"
                ));
            }
        }
        Ok(())
    }

    #[test]
    fn a_polygon_is_its_own_footprint() {
        let p = polygon![(x: 36.0, y: 49.0), (x: 36.1, y: 49.0), (x: 36.1, y: 49.1), (x: 36.0, y: 49.0)];
        assert_eq!(footprint(&Shape::Polygon(p.clone())), MultiPolygon(vec![p]));
    }

    #[test]
    fn a_spot_outline_is_close_to_its_circle() {
        let at = Point::new(36.2, 49.9);
        let fp = footprint(&Shape::Spot { at, radius_m: 62.8 });
        covers_around(&fp, at, 62.8).unwrap();
        // Outward, but not by much: every vertex within 0.2 % of the radius.
        for c in fp.0[0].exterior().0.iter() {
            let d = Geodesic.distance(at, Point(*c));
            assert!((62.8..62.8 * 1.002).contains(&d), "vertex at {d} m");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_spot_outline_holds_the_whole_spot(
            lon in -179.0f64..179.0,
            lat in -84.0f64..84.0,
            radius in 0.5f64..20_000.0,
        ) {
            let at = Point::new(lon, lat);
            let fp = footprint(&Shape::Spot { at, radius_m: radius });
            prop_assert!(covers_around(&fp, at, radius).is_ok(), "{:?}", covers_around(&fp, at, radius));
        }

        #[test]
        fn a_corridor_outline_holds_the_whole_corridor(
            lon in -170.0f64..170.0,
            lat in -80.0f64..80.0,
            steps in prop::collection::vec((-0.3f64..0.3, -0.3f64..0.3), 1..5),
            width in 1.0f64..2_000.0,
        ) {
            let mut line = vec![Coord { x: lon, y: lat }];
            for (dx, dy) in steps {
                let last = *line.last().expect("a vertex");
                line.push(Coord { x: last.x + dx, y: last.y + dy });
            }
            let fp = footprint(&Shape::Linear { line: LineString(line.clone()), width_m: width });
            // Points along each edge (straight in longitude and latitude), and all around them.
            for w in line.windows(2) {
                for k in 0..=8 {
                    let t = f64::from(k) / 8.0;
                    let on = Point::new(w[0].x + t * (w[1].x - w[0].x), w[0].y + t * (w[1].y - w[0].y));
                    prop_assert!(covers_around(&fp, on, width / 2.0).is_ok(), "{:?}", covers_around(&fp, on, width / 2.0));
                }
            }
        }
    }

    #[test]
    fn a_long_corridor_far_north_is_still_covered() {
        // 300 km from south to north at 60–63°: the plane's scale changes by 9 % along it.
        let line = line_string![(x: 30.0, y: 60.0), (x: 30.5, y: 61.5), (x: 30.0, y: 63.0)];
        let fp = footprint(&Shape::Linear {
            line: line.clone(),
            width_m: 500.0,
        });
        for c in line.0.iter() {
            covers_around(&fp, Point(*c), 250.0).unwrap();
        }
        assert!(fp.0.iter().all(|p| p.interiors().is_empty()));
    }
}
