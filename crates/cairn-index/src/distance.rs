//! Distance in metres from a place to a hazard's shape, with the closest point and bearing.

use cairn_core::Shape;
use geo_types::{Coord, LineString, Polygon};

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
        Shape::Polygon(p) => polygon_contains(p, q),
        Shape::MultiPolygon(m) => m.0.iter().any(|p| polygon_contains(p, q)),
        _ => closest(shape, q).distance_m == 0.0,
    }
}

/// Where a place lies against a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Inside,
    On,
    Outside,
}

/// Crossing-number test of a place against a closed ring, exact on the boundary: the sign of
/// each straddling edge's turn comes from Shewchuk's adaptive `orient2d`, so a place on an edge
/// or a vertex is found on it whatever the rounding (as GEOS finds it).
fn ring_side(ring: &LineString<f64>, q: Coord<f64>) -> Side {
    let pts = &ring.0;
    let mut inside = false;
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a == q {
            return Side::On;
        }
        if (a.y > q.y) != (b.y > q.y) {
            let o = robust::orient2d(
                robust::Coord { x: a.x, y: a.y },
                robust::Coord { x: b.x, y: b.y },
                robust::Coord { x: q.x, y: q.y },
            );
            if o == 0.0 {
                return Side::On;
            }
            // q is left of an upward edge, or right of a downward one: the ray east crosses it.
            if (o > 0.0) == (b.y > a.y) {
                inside = !inside;
            }
        } else if a.y == q.y && b.y == q.y && (a.x.min(b.x)..=a.x.max(b.x)).contains(&q.x) {
            return Side::On;
        }
    }
    if inside { Side::Inside } else { Side::Outside }
}

/// True when `q` lies in the polygon or on its boundary (a hole's boundary included).
pub fn polygon_contains(p: &Polygon<f64>, q: Coord<f64>) -> bool {
    match ring_side(p.exterior(), q) {
        Side::Outside => false,
        Side::On => true,
        Side::Inside => p
            .interiors()
            .iter()
            .all(|h| ring_side(h, q) != Side::Inside),
    }
}

/// The distance and bearing from `q` to `shape`.
pub fn closest(shape: &Shape, q: Coord<f64>) -> Closest {
    closest_in(&LocalPlane::at(q), shape, q)
}

/// As `closest`, with the plane tangent at `q` already made (one per query, not per hazard).
pub fn closest_in(plane: &LocalPlane, shape: &Shape, q: Coord<f64>) -> Closest {
    let inside = match shape {
        Shape::Polygon(p) => polygon_contains(p, q),
        Shape::MultiPolygon(m) => m.0.iter().any(|p| polygon_contains(p, q)),
        _ => false,
    };
    if inside {
        return Closest {
            distance_m: 0.0,
            bearing_deg: 0.0,
        };
    }
    closest_outside(plane, shape, q)
}

/// The distance and bearing from `q` to `shape`, when `q` is known not to lie inside a polygon
/// shape (it may still lie within a spot's radius or a track's width).
pub fn closest_outside(plane: &LocalPlane, shape: &Shape, q: Coord<f64>) -> Closest {
    match shape {
        Shape::Polygon(p) => closest_on_lines(
            plane,
            q,
            std::iter::once(p.exterior()).chain(p.interiors()),
            0.0,
        ),
        Shape::MultiPolygon(m) => closest_on_lines(
            plane,
            q,
            m.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())),
            0.0,
        ),
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
            closest_on_lines(plane, q, std::iter::once(line), width_m / 2.0)
        }
    }
}

/// The plane's scale is right to about 1 % within 50 km of its origin: every edge whose planar
/// distance is within this of the best planar distance is measured on the ellipsoid. Squared
/// distances in, squared limit out.
fn planar_limit2(best2: f64) -> f64 {
    let l = best2.sqrt() * 1.02 + 1.0;
    l * l
}

/// At most this many edges are kept for measuring on the ellipsoid during the first pass; when
/// more come within the limit, a second pass measures them all.
const KEPT: usize = 6;

/// Squared planar distance from the plane's origin to the segment pa–pb, and the foot's
/// fraction along it.
#[inline]
fn foot2(pa: Coord<f64>, pb: Coord<f64>) -> (f64, f64) {
    let d = Coord {
        x: pb.x - pa.x,
        y: pb.y - pa.y,
    };
    let dot = -(pa.x * d.x + pa.y * d.y);
    if dot <= 0.0 {
        return (pa.x * pa.x + pa.y * pa.y, 0.0);
    }
    let len2 = d.x * d.x + d.y * d.y;
    if dot >= len2 {
        return (pb.x * pb.x + pb.y * pb.y, 1.0);
    }
    let t = dot / len2;
    let (x, y) = (pa.x + t * d.x, pa.y + t * d.y);
    (x * x + y * y, t)
}

fn lerp(a: Coord<f64>, b: Coord<f64>, t: f64) -> Coord<f64> {
    Coord {
        x: a.x + t * (b.x - a.x),
        y: a.y + t * (b.y - a.y),
    }
}

/// The closest point on a set of polylines (straight in longitude and latitude), less `minus`
/// metres. Candidate edges are found in a plane tangent at `q`; every edge whose planar distance
/// is within the plane's distortion of the best is then measured on the ellipsoid.
fn closest_on_lines<'a>(
    plane: &LocalPlane,
    q: Coord<f64>,
    lines: impl Iterator<Item = &'a LineString<f64>> + Clone,
    minus: f64,
) -> Closest {
    // First pass: the best planar distance, keeping the foot points of the edges near it.
    let mut best2 = f64::INFINITY;
    let mut limit2 = f64::INFINITY;
    let mut kept: [(f64, Coord<f64>); KEPT] = [(0.0, Coord { x: 0.0, y: 0.0 }); KEPT];
    let mut n_kept = 0;
    let mut overflow = false;
    for l in lines.clone() {
        let pts = &l.0;
        let Some(&first) = pts.first() else { continue };
        let (mut a, mut pa) = (first, plane.project(first));
        let single = pts.len() == 1;
        for &b in pts.iter().skip(1).chain(single.then_some(&first)) {
            let pb = plane.project(b);
            let (d2, t) = foot2(pa, pb);
            if d2 <= limit2 {
                if d2 < best2 {
                    best2 = d2;
                    limit2 = planar_limit2(d2);
                    let mut k = 0;
                    for i in 0..n_kept {
                        if kept[i].0 <= limit2 {
                            kept[k] = kept[i];
                            k += 1;
                        }
                    }
                    n_kept = k;
                }
                if n_kept < KEPT {
                    kept[n_kept] = (d2, lerp(a, b, t));
                    n_kept += 1;
                } else {
                    overflow = true;
                }
            }
            (a, pa) = (b, pb);
        }
    }
    let mut best = Closest {
        distance_m: f64::INFINITY,
        bearing_deg: 0.0,
    };
    let mut measure = |p: Coord<f64>| {
        let (d, az) = inverse(q, p);
        if d < best.distance_m {
            best = Closest {
                distance_m: d,
                bearing_deg: az,
            };
        }
    };
    if overflow {
        for l in lines {
            let pts = &l.0;
            let segs = pts.windows(2).map(|w| (w[0], w[1]));
            let single = (pts.len() == 1).then(|| (pts[0], pts[0]));
            for (a, b) in segs.chain(single) {
                let (d2, t) = foot2(plane.project(a), plane.project(b));
                if d2 <= limit2 {
                    measure(lerp(a, b, t));
                }
            }
        }
    } else {
        for &(d2, p) in &kept[..n_kept] {
            if d2 <= limit2 {
                measure(p);
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

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Intersects;
    use geo_types::{Point, polygon};

    #[test]
    fn own_containment_agrees_with_geo_on_edges_vertices_and_holes() {
        let p = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 2.0, y: 2.0), (x: 0.0, y: 4.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 0.5), (x: 3.0, y: 0.5), (x: 3.0, y: 1.5), (x: 1.0, y: 1.5), (x: 1.0, y: 0.5)]],
        );
        let mut checked = 0;
        // Every point of a 0.25 grid: many on edges, vertices, the hole's boundary and the notch.
        for i in -4..=20 {
            for j in -4..=20 {
                let q = Coord {
                    x: i as f64 * 0.25,
                    y: j as f64 * 0.25,
                };
                assert_eq!(polygon_contains(&p, q), p.intersects(&Point(q)), "{q:?}");
                checked += 1;
            }
        }
        // Points on a slanted edge, computed in floating point.
        for k in 0..=100 {
            let t = k as f64 / 100.0;
            let q = Coord {
                x: 4.0 - 2.0 * t,
                y: 4.0 - 2.0 * t,
            };
            assert_eq!(polygon_contains(&p, q), p.intersects(&Point(q)), "{q:?}");
            checked += 1;
        }
        assert_eq!(checked, 25 * 25 + 101);
        assert!(polygon_contains(&p, Coord { x: 2.0, y: 2.0 }));
        assert!(!polygon_contains(&p, Coord { x: 2.0, y: 1.0 }));
        assert!(polygon_contains(&p, Coord { x: 1.0, y: 1.0 }));
        assert!(!polygon_contains(&p, Coord { x: 2.0, y: 3.0 }));
    }
}
