//! Distance in metres from a place to a hazard's shape, with the closest point and bearing.

use cairn_core::Shape;
use geo::Intersects;
use geo_types::{Coord, LineString, Point};

use crate::geodesy::{LocalPlane, inverse};

/// How far a place is from a hazard: 0 when inside (boundary included), else the geodesic
/// distance to the closest point of the hazard (its radius or width included).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Closest {
    pub distance_m: f64,
    /// Initial bearing from the place towards the closest point, degrees from north; 0 when inside.
    pub bearing_deg: f64,
}

/// True when `q` lies in the hazard (polygon boundary included; within radius or half width).
pub fn contains(shape: &Shape, q: Coord<f64>) -> bool {
    match shape {
        Shape::Polygon(p) => p.intersects(&Point(q)),
        Shape::MultiPolygon(m) => m.intersects(&Point(q)),
        _ => closest(shape, q).distance_m == 0.0,
    }
}

/// The distance and bearing from `q` to `shape`.
pub fn closest(shape: &Shape, q: Coord<f64>) -> Closest {
    match shape {
        Shape::Polygon(p) => {
            if p.intersects(&Point(q)) {
                return Closest {
                    distance_m: 0.0,
                    bearing_deg: 0.0,
                };
            }
            closest_on_lines(q, std::iter::once(p.exterior()).chain(p.interiors()), 0.0)
        }
        Shape::MultiPolygon(m) => {
            if m.intersects(&Point(q)) {
                return Closest {
                    distance_m: 0.0,
                    bearing_deg: 0.0,
                };
            }
            closest_on_lines(
                q,
                m.0.iter()
                    .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())),
                0.0,
            )
        }
        Shape::Spot { at, radius_m } => {
            let (d, az) = inverse(q, at.0);
            if d <= *radius_m {
                Closest {
                    distance_m: 0.0,
                    bearing_deg: 0.0,
                }
            } else {
                Closest {
                    distance_m: d - radius_m,
                    bearing_deg: az,
                }
            }
        }
        Shape::Linear { line, width_m } => {
            closest_on_lines(q, std::iter::once(line), width_m / 2.0)
        }
    }
}

/// The closest point on a set of polylines (straight in longitude and latitude), less `minus`
/// metres. Candidate edges are found in a plane tangent at `q`; every edge whose planar distance
/// is within the plane's distortion of the best is then measured exactly on the ellipsoid.
fn closest_on_lines<'a>(
    q: Coord<f64>,
    lines: impl Iterator<Item = &'a LineString<f64>> + Clone,
    minus: f64,
) -> Closest {
    let plane = LocalPlane::at(q);
    let mut best_planar = f64::INFINITY;
    let foot = |a: Coord<f64>, b: Coord<f64>| -> (f64, f64) {
        let (pa, pb) = (plane.project(a), plane.project(b));
        let d = Coord {
            x: pb.x - pa.x,
            y: pb.y - pa.y,
        };
        let len2 = d.x * d.x + d.y * d.y;
        let t = if len2 == 0.0 {
            0.0
        } else {
            (-(pa.x * d.x + pa.y * d.y) / len2).clamp(0.0, 1.0)
        };
        let (x, y) = (pa.x + t * d.x, pa.y + t * d.y);
        ((x * x + y * y).sqrt(), t)
    };
    for l in lines.clone() {
        for w in l.0.windows(2) {
            best_planar = best_planar.min(foot(w[0], w[1]).0);
        }
        if l.0.len() == 1 {
            best_planar = best_planar.min(foot(l.0[0], l.0[0]).0);
        }
    }
    // The plane's scale is right to about 1 % within 50 km of q; measure every edge that close.
    let limit = best_planar * 1.02 + 1.0;
    let mut best = Closest {
        distance_m: f64::INFINITY,
        bearing_deg: 0.0,
    };
    for l in lines {
        for w in l.0.windows(2) {
            let (pd, t) = foot(w[0], w[1]);
            if pd > limit {
                continue;
            }
            let p = Coord {
                x: w[0].x + t * (w[1].x - w[0].x),
                y: w[0].y + t * (w[1].y - w[0].y),
            };
            let (d, az) = inverse(q, p);
            if d < best.distance_m {
                best = Closest {
                    distance_m: d,
                    bearing_deg: az,
                };
            }
        }
    }
    if best.distance_m <= minus {
        Closest {
            distance_m: 0.0,
            bearing_deg: 0.0,
        }
    } else {
        Closest {
            distance_m: best.distance_m - minus,
            bearing_deg: best.bearing_deg,
        }
    }
}
