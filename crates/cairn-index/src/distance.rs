//! Distance in metres from a place to a hazard's shape, with the closest point and bearing.

use cairn_core::Shape;
use geo_types::{Coord, LineString, Polygon};

use crate::geodesy::{LocalPlane, inverse};
use crate::prepared::{Prepared, RingBands};

/// How far a place is from a hazard: 0 when inside (boundary included), else the geodesic
/// distance to the closest point of the hazard (its radius or width included).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

/// One edge's part in the crossing-number test of `q` against a closed ring: `None` when `q`
/// lies on the edge, else whether the ray from `q` eastwards crosses it. Exact on the boundary:
/// the sign of a straddling edge's turn comes from Shewchuk's adaptive `orient2d`, so a place on
/// an edge or a vertex is found on it whatever the rounding (as GEOS finds it).
#[inline(always)]
pub(crate) fn crossing(a: Coord<f64>, b: Coord<f64>, q: Coord<f64>) -> Option<bool> {
    if a == q {
        return None;
    }
    if (a.y > q.y) != (b.y > q.y) {
        let o = robust::orient2d(
            robust::Coord { x: a.x, y: a.y },
            robust::Coord { x: b.x, y: b.y },
            robust::Coord { x: q.x, y: q.y },
        );
        if o == 0.0 {
            return None;
        }
        // q is left of an upward edge, or right of a downward one: the ray east crosses it.
        Some((o > 0.0) == (b.y > a.y))
    } else if a.y == q.y && b.y == q.y && (a.x.min(b.x)..=a.x.max(b.x)).contains(&q.x) {
        None
    } else {
        Some(false)
    }
}

/// Where `q` lies against a closed ring.
fn ring_side(ring: &LineString<f64>, q: Coord<f64>) -> Side {
    let mut inside = false;
    for w in ring.0.windows(2) {
        match crossing(w[0], w[1], q) {
            None => return Side::On,
            Some(c) => inside ^= c,
        }
    }
    if inside { Side::Inside } else { Side::Outside }
}

/// Where `q` lies against a closed ring, feeding every edge to `scan` on the way (one pass over
/// the vertices for both questions); stops early when `q` is on the ring.
fn ring_side_scan(ring: &LineString<f64>, q: Coord<f64>, scan: &mut EdgeScan) -> Side {
    let pts = &ring.0;
    let Some(&first) = pts.first() else {
        return Side::Outside;
    };
    let mut inside = false;
    let (mut a, mut pa) = (first, scan.plane.project(first));
    for &b in &pts[1..] {
        match crossing(a, b, q) {
            None => return Side::On,
            Some(c) => inside ^= c,
        }
        let pb = scan.plane.project(b);
        scan.edge(a, pa, b, pb);
        (a, pa) = (b, pb);
    }
    if inside { Side::Inside } else { Side::Outside }
}

/// True when `q` lies in the polygon or on its boundary, measuring the boundary into `scan`
/// when it does not (`scan` is incomplete when the answer is true).
fn polygon_scan(p: &Polygon<f64>, q: Coord<f64>, scan: &mut EdgeScan) -> bool {
    let mut inside = match ring_side_scan(p.exterior(), q, scan) {
        Side::On => return true,
        Side::Inside => true,
        Side::Outside => false,
    };
    for h in p.interiors() {
        match ring_side_scan(h, q, scan) {
            Side::On => return true,
            Side::Inside => inside = false,
            Side::Outside => {}
        }
    }
    inside
}

/// Where `q` lies against a ring, reading only the edges of the prepared bands: those crossing
/// `q`'s latitude for the side, and those within `dlat` degrees of latitude of `q` for `scan`.
fn ring_side_banded(
    ring: &LineString<f64>,
    bands: &RingBands,
    q: Coord<f64>,
    dlat: f64,
    scan: &mut EdgeScan,
) -> Side {
    if bands.bands() == 0 {
        return ring_side_scan(ring, q, scan);
    }
    let pts = &ring.0;
    let mut inside = false;
    if let Some(b) = bands.band(q.y) {
        for &e in bands.edges(b) {
            let e = e as usize;
            match crossing(pts[e], pts[e + 1], q) {
                None => return Side::On,
                Some(c) => inside ^= c,
            }
        }
    }
    if let Some((lo, hi)) = bands.bands_between(q.y - dlat, q.y + dlat) {
        for b in lo..=hi {
            for &e in bands.edges(b) {
                let e = e as usize;
                let (a, c) = (pts[e], pts[e + 1]);
                // An edge listed in several bands is measured in the first one read.
                if bands.first_band(a.y.min(c.y)).max(lo) != b {
                    continue;
                }
                scan.edge(a, scan.plane.project(a), c, scan.plane.project(c));
            }
        }
    }
    if inside { Side::Inside } else { Side::Outside }
}

/// Whether `q` lies in a polygon shape (boundary included), and if not, its distance when that is
/// at most `within_m` (`None` when farther): reads only the prepared bands' edges near `q`.
pub fn polygon_within(
    plane: &LocalPlane,
    shape: &Shape,
    prepared: &Prepared,
    q: Coord<f64>,
    within_m: f64,
) -> (bool, Option<Closest>) {
    if prepared.is_empty() {
        let (inside, c) = polygon_distance(plane, shape, q);
        return (inside, (!inside && c.distance_m <= within_m).then_some(c));
    }
    let (dlat, _) = crate::geodesy::degrees_covering(within_m, q.y);
    let mut scan = EdgeScan::new(plane);
    let parts: &[Polygon<f64>] = match shape {
        Shape::Polygon(p) => std::slice::from_ref(p),
        Shape::MultiPolygon(m) => &m.0,
        _ => return (false, Some(closest_outside(plane, shape, q))),
    };
    let mut rings = prepared.rings();
    let default = RingBands::default();
    for p in parts {
        let mut inside = false;
        for (i, ring) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            let bands = rings.next().unwrap_or(&default);
            match ring_side_banded(ring, bands, q, dlat, &mut scan) {
                Side::On => return (true, None),
                Side::Inside if i == 0 => inside = true,
                Side::Inside => inside = false,
                Side::Outside if i == 0 => {}
                Side::Outside => {}
            }
        }
        if inside {
            return (true, None);
        }
    }
    if scan.n_kept == 0 && !scan.overflow {
        return (false, None);
    }
    let lines = parts
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()));
    let c = scan.finish(q, lines, 0.0);
    (false, (c.distance_m <= within_m).then_some(c))
}

/// Whether `q` lies in a polygon shape (boundary included) and, when it does not, how far it is
/// (which may round to 0 a hair outside): one pass over the vertices answers both.
pub fn polygon_distance(plane: &LocalPlane, shape: &Shape, q: Coord<f64>) -> (bool, Closest) {
    let mut scan = EdgeScan::new(plane);
    let inside = match shape {
        Shape::Polygon(p) => polygon_scan(p, q, &mut scan),
        Shape::MultiPolygon(m) => {
            let mut inside = false;
            for p in &m.0 {
                if polygon_scan(p, q, &mut scan) {
                    inside = true;
                    break;
                }
            }
            inside
        }
        _ => return (false, closest_outside(plane, shape, q)),
    };
    if inside {
        return (true, Closest::default());
    }
    let c = match shape {
        Shape::Polygon(p) => {
            scan.finish(q, std::iter::once(p.exterior()).chain(p.interiors()), 0.0)
        }
        Shape::MultiPolygon(m) => scan.finish(
            q,
            m.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())),
            0.0,
        ),
        _ => unreachable!("polygon shapes only"),
    };
    (false, c)
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
    match shape {
        Shape::Polygon(_) | Shape::MultiPolygon(_) => polygon_distance(plane, shape, q).1,
        _ => closest_outside(plane, shape, q),
    }
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
pub(crate) fn planar_limit2(best2: f64) -> f64 {
    let l = best2.sqrt() * 1.02 + 1.0;
    l * l
}

/// At most this many edges are kept for measuring on the ellipsoid during the first pass; when
/// more come within the limit, a second pass measures them all.
const KEPT: usize = 6;

/// Squared planar distance from the plane's origin to the segment pa–pb, and the foot's
/// fraction along it.
#[inline]
pub(crate) fn foot2(pa: Coord<f64>, pb: Coord<f64>) -> (f64, f64) {
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

pub(crate) fn lerp(a: Coord<f64>, b: Coord<f64>, t: f64) -> Coord<f64> {
    Coord {
        x: a.x + t * (b.x - a.x),
        y: a.y + t * (b.y - a.y),
    }
}

/// The closest point on a set of polylines, gathered edge by edge: the best planar distance in
/// the plane tangent at `q`, with the foot points of the edges near it kept for measuring on
/// the ellipsoid.
struct EdgeScan<'p> {
    plane: &'p LocalPlane,
    best2: f64,
    limit2: f64,
    kept: [(f64, Coord<f64>); KEPT],
    n_kept: usize,
    overflow: bool,
}

impl<'p> EdgeScan<'p> {
    fn new(plane: &'p LocalPlane) -> EdgeScan<'p> {
        EdgeScan {
            plane,
            best2: f64::INFINITY,
            limit2: f64::INFINITY,
            kept: [(0.0, Coord { x: 0.0, y: 0.0 }); KEPT],
            n_kept: 0,
            overflow: false,
        }
    }

    /// One edge a–b, with its ends already projected as pa and pb.
    #[inline(always)]
    fn edge(&mut self, a: Coord<f64>, pa: Coord<f64>, b: Coord<f64>, pb: Coord<f64>) {
        let (d2, t) = foot2(pa, pb);
        if d2 > self.limit2 {
            return;
        }
        if d2 < self.best2 {
            self.best2 = d2;
            self.limit2 = planar_limit2(d2);
            let limit2 = self.limit2;
            let mut k = 0;
            for i in 0..self.n_kept {
                if self.kept[i].0 <= limit2 {
                    self.kept[k] = self.kept[i];
                    k += 1;
                }
            }
            self.n_kept = k;
        }
        if self.n_kept < KEPT {
            self.kept[self.n_kept] = (d2, lerp(a, b, t));
            self.n_kept += 1;
        } else {
            self.overflow = true;
        }
    }

    /// Every edge of the polylines (a one-point line is a degenerate edge).
    fn lines<'a>(&mut self, lines: impl Iterator<Item = &'a LineString<f64>>) {
        for l in lines {
            let pts = &l.0;
            let Some(&first) = pts.first() else { continue };
            let (mut a, mut pa) = (first, self.plane.project(first));
            if pts.len() == 1 {
                self.edge(a, pa, a, pa);
                continue;
            }
            for &b in &pts[1..] {
                let pb = self.plane.project(b);
                self.edge(a, pa, b, pb);
                (a, pa) = (b, pb);
            }
        }
    }

    /// The closest point of the same polylines, measured on the ellipsoid, less `minus` metres.
    /// `lines` is read again only when more edges came near the best than could be kept.
    fn finish<'a>(
        self,
        q: Coord<f64>,
        lines: impl Iterator<Item = &'a LineString<f64>>,
        minus: f64,
    ) -> Closest {
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
        if self.overflow {
            for l in lines {
                let pts = &l.0;
                let segs = pts.windows(2).map(|w| (w[0], w[1]));
                let single = (pts.len() == 1).then(|| (pts[0], pts[0]));
                for (a, b) in segs.chain(single) {
                    let (d2, t) = foot2(self.plane.project(a), self.plane.project(b));
                    if d2 <= self.limit2 {
                        measure(lerp(a, b, t));
                    }
                }
            }
        } else {
            for &(d2, p) in &self.kept[..self.n_kept] {
                if d2 <= self.limit2 {
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
    let mut scan = EdgeScan::new(plane);
    scan.lines(lines.clone());
    scan.finish(q, lines, minus)
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
