//! Which hazards a route's corridor touches, and where along the route it enters and leaves each.

use cairn_core::Shape;
use geo::Intersects;
use geo_types::{Coord, LineString, Rect};

use crate::geodesy::{LocalPlane, degrees_covering, distance};

/// Longest piece a route is cut into, in metres, so that each piece's local plane is exact enough.
pub const PIECE_M: f64 = 500.0;

/// One straight piece of a route with its place along the route.
#[derive(Clone, Copy, Debug)]
pub struct Piece {
    pub a: Coord<f64>,
    pub b: Coord<f64>,
    /// Metres along the route where the piece starts.
    pub start_m: f64,
    pub length_m: f64,
    /// The plane tangent at the piece's middle, in which its corridor is worked out.
    pub plane: LocalPlane,
}

/// Cuts a route into pieces of at most `PIECE_M` metres; returns them and the route's length.
pub fn pieces(route: &LineString<f64>) -> (Vec<Piece>, f64) {
    let mut out = Vec::new();
    let mut along = 0.0;
    for w in route.0.windows(2) {
        let len = distance(w[0], w[1]);
        let n = ((len / PIECE_M).ceil() as usize).max(1);
        for k in 0..n {
            let (t0, t1) = (k as f64 / n as f64, (k + 1) as f64 / n as f64);
            let lerp = |t: f64| Coord {
                x: w[0].x + t * (w[1].x - w[0].x),
                y: w[0].y + t * (w[1].y - w[0].y),
            };
            let (a, b) = (lerp(t0), lerp(t1));
            let l = if n == 1 { len } else { distance(a, b) };
            let mid = Coord {
                x: (a.x + b.x) / 2.0,
                y: (a.y + b.y) / 2.0,
            };
            out.push(Piece {
                a,
                b,
                start_m: along,
                length_m: l,
                plane: LocalPlane::at(mid),
            });
            along += l;
        }
    }
    (out, along)
}

/// Buffers reused from one piece and hazard to the next, so that a route check allocates
/// little whatever its length.
#[derive(Default)]
pub struct Scratch {
    iv: Vec<(f64, f64)>,
    merged: Vec<(f64, f64)>,
    extra: Vec<(f64, f64)>,
}

/// The box in degrees, around a piece, that holds every place within `r` metres of it.
pub fn reach(piece: &Piece, r: f64) -> Rect<f64> {
    let (dlat, dlon) = degrees_covering(r, piece.a.y.abs().max(piece.b.y.abs()));
    Rect::new(
        Coord {
            x: piece.a.x.min(piece.b.x) - dlon,
            y: piece.a.y.min(piece.b.y) - dlat,
        },
        Coord {
            x: piece.a.x.max(piece.b.x) + dlon,
            y: piece.a.y.max(piece.b.y) + dlat,
        },
    )
}

/// True when the segment a–b surely stays out of the box.
#[inline]
fn edge_misses(a: Coord<f64>, b: Coord<f64>, bx: &Rect<f64>) -> bool {
    a.x.max(b.x) < bx.min().x
        || a.x.min(b.x) > bx.max().x
        || a.y.max(b.y) < bx.min().y
        || a.y.min(b.y) > bx.max().y
}

/// The parts of a piece, as fractions [u0, u1] of it, that lie within `r` metres of the shape.
pub fn piece_intervals(piece: &Piece, shape: &Shape, r: f64) -> Vec<(f64, f64)> {
    let mut scratch = Scratch::default();
    let bbox = shape.bbox().unwrap_or(Rect::new(piece.a, piece.a));
    piece_intervals_into(piece, shape, bbox, r, &mut scratch).to_vec()
}

/// As `piece_intervals`, into reused buffers, given a box around the shape; the answer is
/// borrowed from `scratch`.
pub fn piece_intervals_into<'s>(
    piece: &Piece,
    shape: &Shape,
    bbox: Rect<f64>,
    r: f64,
    scratch: &'s mut Scratch,
) -> &'s [(f64, f64)] {
    let plane = piece.plane;
    let p0 = plane.project(piece.a);
    let p1 = plane.project(piece.b);
    let d = Coord {
        x: p1.x - p0.x,
        y: p1.y - p0.y,
    };
    let Scratch { iv, merged, extra } = scratch;
    iv.clear();
    // The piece's frame: x along it from 0 to `len`, y across it.
    let len = (d.x * d.x + d.y * d.y).sqrt();
    let (ux, uy) = if len > 0.0 {
        (d.x / len, d.y / len)
    } else {
        (1.0, 0.0)
    };
    let frame = |c: Coord<f64>| {
        let (x, y) = (c.x - p0.x, c.y - p0.y);
        (x * ux + y * uy, y * ux - x * uy)
    };
    // Edges wholly outside the piece's reach (for the radius used) cannot meet its corridor:
    // first a box test in degrees, then in the piece's frame.
    let add_line = |line: &LineString<f64>, radius: f64, iv: &mut Vec<(f64, f64)>| {
        let bx = reach(piece, radius);
        let pts = &line.0;
        if pts.len() == 1 {
            if let Some(x) = disc(p0, d, plane.project(pts[0]), radius) {
                iv.push(x);
            }
            return;
        }
        let (lo, hi) = (-radius, len + radius);
        for w in pts.windows(2) {
            if edge_misses(w[0], w[1], &bx) {
                continue;
            }
            let (pa, pb) = (plane.project(w[0]), plane.project(w[1]));
            let ((xa, ya), (xb, yb)) = (frame(pa), frame(pb));
            if (ya > radius && yb > radius)
                || (ya < -radius && yb < -radius)
                || (xa < lo && xb < lo)
                || (xa > hi && xb > hi)
            {
                continue;
            }
            if let Some(x) = capsule(p0, d, pa, pb, radius) {
                iv.push(x);
            }
        }
    };
    match shape {
        Shape::Polygon(p) => {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                add_line(ring, r, iv);
            }
        }
        Shape::MultiPolygon(m) => {
            for p in &m.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    add_line(ring, r, iv);
                }
            }
        }
        Shape::Spot { at, radius_m } => {
            if let Some(x) = disc(p0, d, plane.project(at.0), radius_m + r) {
                iv.push(x);
            }
        }
        Shape::Linear { line, width_m } => add_line(line, width_m / 2.0 + r, iv),
    }
    merge_into(iv, merged);
    // Inside a polygon but farther than r from its boundary: fill the gaps that lie inside.
    if matches!(shape, Shape::Polygon(_) | Shape::MultiPolygon(_)) {
        extra.clear();
        // The gaps: before the first interval, between intervals, and after the last.
        let starts = merged.iter().map(|iv| iv.0).chain(std::iter::once(1.0));
        let ends = std::iter::once(0.0).chain(merged.iter().map(|iv| iv.1));
        for (g0, g1) in ends.zip(starts) {
            if g1 > g0 {
                let um = (g0 + g1) / 2.0;
                let c = plane.unproject(Coord {
                    x: p0.x + um * d.x,
                    y: p0.y + um * d.y,
                });
                if bbox.intersects(&c) && crate::distance::contains(shape, c) {
                    extra.push((g0, g1));
                }
            }
        }
        if !extra.is_empty() {
            iv.clear();
            iv.extend_from_slice(merged);
            iv.extend_from_slice(extra);
            merge_into(iv, merged);
        }
    }
    merged
}

/// Sorts and joins overlapping or touching intervals of `iv` into `out`.
fn merge_into(iv: &mut [(f64, f64)], out: &mut Vec<(f64, f64)>) {
    iv.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    out.clear();
    for &(a, b) in iv.iter() {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
}

/// Sorts and joins overlapping or touching intervals.
pub fn merge(mut iv: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    iv.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(iv.len());
    for (a, b) in iv {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Where the segment p0 + u·d, u in [0, 1], lies within `r` of the point `c`.
fn disc(p0: Coord<f64>, d: Coord<f64>, c: Coord<f64>, r: f64) -> Option<(f64, f64)> {
    let f = Coord {
        x: p0.x - c.x,
        y: p0.y - c.y,
    };
    let a = d.x * d.x + d.y * d.y;
    let b = 2.0 * (d.x * f.x + d.y * f.y);
    let cc = f.x * f.x + f.y * f.y - r * r;
    if a == 0.0 {
        return (cc <= 0.0).then_some((0.0, 1.0));
    }
    let disc = b * b - 4.0 * a * cc;
    if disc < 0.0 {
        return None;
    }
    let s = disc.sqrt();
    clip((-b - s) / (2.0 * a), (-b + s) / (2.0 * a))
}

/// Where the segment p0 + u·d lies within `r` of the segment from `a` to `b`: the line meets the
/// convex capsule in one interval, the union of its meetings with the two end discs and the strip.
fn capsule(
    p0: Coord<f64>,
    d: Coord<f64>,
    a: Coord<f64>,
    b: Coord<f64>,
    r: f64,
) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for c in [a, b] {
        if let Some((x, y)) = disc(p0, d, c, r) {
            lo = lo.min(x);
            hi = hi.max(y);
        }
    }
    let e = Coord {
        x: b.x - a.x,
        y: b.y - a.y,
    };
    let len = (e.x * e.x + e.y * e.y).sqrt();
    if len > 0.0 {
        let t = Coord {
            x: e.x / len,
            y: e.y / len,
        };
        let n = Coord { x: -t.y, y: t.x };
        let q = Coord {
            x: p0.x - a.x,
            y: p0.y - a.y,
        };
        // s(u) = s0 + u·sd in [0, len]; h(u) = h0 + u·hd in [-r, r].
        let (s0, sd) = (q.x * t.x + q.y * t.y, d.x * t.x + d.y * t.y);
        let (h0, hd) = (q.x * n.x + q.y * n.y, d.x * n.x + d.y * n.y);
        let mut range = (0.0f64, 1.0f64);
        for (v0, vd, min, max) in [(s0, sd, 0.0, len), (h0, hd, -r, r)] {
            if vd == 0.0 {
                if v0 < min || v0 > max {
                    range = (1.0, 0.0);
                }
            } else {
                let (u1, u2) = ((min - v0) / vd, (max - v0) / vd);
                range = (range.0.max(u1.min(u2)), range.1.min(u1.max(u2)));
            }
        }
        if range.0 <= range.1 {
            lo = lo.min(range.0);
            hi = hi.max(range.1);
        }
    }
    if lo <= hi { clip(lo, hi) } else { None }
}

fn clip(a: f64, b: f64) -> Option<(f64, f64)> {
    let (a, b) = (a.max(0.0), b.min(1.0));
    (a <= b).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capsule_and_disc_intervals() {
        let p0 = Coord { x: -10.0, y: 0.0 };
        let d = Coord { x: 20.0, y: 0.0 };
        // A disc of radius 2 at the origin covers x in [-2, 2]: u in [0.4, 0.6].
        let (a, b) = disc(p0, d, Coord { x: 0.0, y: 0.0 }, 2.0).unwrap();
        assert!((a - 0.4).abs() < 1e-12 && (b - 0.6).abs() < 1e-12);
        // A vertical segment from (0,1) to (0,5) with radius 1 touches the x axis only at x = 0.
        let (a, b) = capsule(
            p0,
            d,
            Coord { x: 0.0, y: 1.0 },
            Coord { x: 0.0, y: 5.0 },
            1.0,
        )
        .unwrap();
        assert!((a - 0.5).abs() < 1e-9 && (b - 0.5).abs() < 1e-9, "{a} {b}");
        // A parallel segment 1 m away with radius 1.5: x in [-1.5-1.118, 3+1.118].
        let (a, b) = capsule(
            p0,
            d,
            Coord { x: -1.5, y: 1.0 },
            Coord { x: 3.0, y: 1.0 },
            1.5,
        )
        .unwrap();
        let h = (1.5f64 * 1.5 - 1.0).sqrt();
        assert!((a - (10.0 - 1.5 - h) / 20.0).abs() < 1e-9 && (b - (13.0 + h) / 20.0).abs() < 1e-9);
        assert!(
            capsule(
                p0,
                d,
                Coord { x: 0.0, y: 3.0 },
                Coord { x: 1.0, y: 3.0 },
                1.0
            )
            .is_none()
        );
        assert_eq!(
            merge(vec![(0.5, 0.6), (0.1, 0.2), (0.15, 0.3)]),
            vec![(0.1, 0.3), (0.5, 0.6)]
        );
    }
}
