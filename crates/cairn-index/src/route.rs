//! Which hazards a route's corridor touches, and where along the route it enters and leaves each.

use cairn_core::Shape;
use geo::Intersects;
use geo_types::{Coord, LineString, Point};

use crate::geodesy::{LocalPlane, distance};

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
            out.push(Piece {
                a,
                b,
                start_m: along,
                length_m: l,
            });
            along += l;
        }
    }
    (out, along)
}

/// The parts of a piece, as fractions [u0, u1] of it, that lie within `r` metres of the shape.
pub fn piece_intervals(piece: &Piece, shape: &Shape, r: f64) -> Vec<(f64, f64)> {
    let mid = Coord {
        x: (piece.a.x + piece.b.x) / 2.0,
        y: (piece.a.y + piece.b.y) / 2.0,
    };
    let plane = LocalPlane::at(mid);
    let p0 = plane.project(piece.a);
    let p1 = plane.project(piece.b);
    let d = Coord {
        x: p1.x - p0.x,
        y: p1.y - p0.y,
    };
    let mut iv: Vec<(f64, f64)> = Vec::new();
    let add_line = |line: &LineString<f64>, radius: f64, iv: &mut Vec<(f64, f64)>| {
        let pts: Vec<Coord<f64>> = line.0.iter().map(|c| plane.project(*c)).collect();
        if pts.len() == 1
            && let Some(x) = disc(p0, d, pts[0], radius)
        {
            iv.push(x);
        }
        for w in pts.windows(2) {
            if let Some(x) = capsule(p0, d, w[0], w[1], radius) {
                iv.push(x);
            }
        }
    };
    match shape {
        Shape::Polygon(p) => {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                add_line(ring, r, &mut iv);
            }
        }
        Shape::MultiPolygon(m) => {
            for p in &m.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    add_line(ring, r, &mut iv);
                }
            }
        }
        Shape::Spot { at, radius_m } => {
            if let Some(x) = disc(p0, d, plane.project(at.0), radius_m + r) {
                iv.push(x);
            }
        }
        Shape::Linear { line, width_m } => add_line(line, width_m / 2.0 + r, &mut iv),
    }
    let mut merged = merge(iv);
    // Inside a polygon but farther than r from its boundary: fill the gaps that lie inside.
    if matches!(shape, Shape::Polygon(_) | Shape::MultiPolygon(_)) {
        let mut cuts = vec![0.0];
        for (a, b) in &merged {
            cuts.push(*a);
            cuts.push(*b);
        }
        cuts.push(1.0);
        let mut extra = Vec::new();
        for pair in cuts.chunks(2) {
            let (g0, g1) = (pair[0], pair[1]);
            if g1 > g0 {
                let um = (g0 + g1) / 2.0;
                let c = plane.unproject(Coord {
                    x: p0.x + um * d.x,
                    y: p0.y + um * d.y,
                });
                let inside = match shape {
                    Shape::Polygon(p) => p.intersects(&Point(c)),
                    Shape::MultiPolygon(m) => m.intersects(&Point(c)),
                    _ => false,
                };
                if inside {
                    extra.push((g0, g1));
                }
            }
        }
        if !extra.is_empty() {
            merged.extend(extra);
            merged = merge(merged);
        }
    }
    merged
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
