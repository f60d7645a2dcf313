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
    let frame = Frame::of(piece);
    let Scratch { iv, merged, extra } = scratch;
    iv.clear();
    let mut known = (1.0, 0.0);
    match shape {
        Shape::Polygon(p) => {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                frame.chain(r, &ring.0, &mut known, iv);
            }
        }
        Shape::MultiPolygon(m) => {
            for p in &m.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    frame.chain(r, &ring.0, &mut known, iv);
                }
            }
        }
        Shape::Spot { at, radius_m } => frame.chain(radius_m + r, &[at.0], &mut known, iv),
        Shape::Linear { line, width_m } => frame.chain(width_m / 2.0 + r, &line.0, &mut known, iv),
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
                let c = frame.plane.unproject(Coord {
                    x: frame.p0.x + um * frame.d.x,
                    y: frame.p0.y + um * frame.d.y,
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

/// A piece's plane and frame: x along the piece from 0 to `len`, y across it, in metres.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    piece: Piece,
    pub plane: LocalPlane,
    /// The piece's ends in the plane, and its direction.
    pub p0: Coord<f64>,
    pub d: Coord<f64>,
    pub len: f64,
    ux: f64,
    uy: f64,
}

impl Frame {
    /// The frame of a piece.
    pub fn of(piece: &Piece) -> Frame {
        let plane = piece.plane;
        let p0 = plane.project(piece.a);
        let p1 = plane.project(piece.b);
        let d = Coord {
            x: p1.x - p0.x,
            y: p1.y - p0.y,
        };
        let len = (d.x * d.x + d.y * d.y).sqrt();
        let (ux, uy) = if len > 0.0 {
            (d.x / len, d.y / len)
        } else {
            (1.0, 0.0)
        };
        Frame {
            piece: *piece,
            plane,
            p0,
            d,
            len,
            ux,
            uy,
        }
    }

    /// The box in degrees that holds every place within `r` metres of the piece.
    pub fn reach_box(&self, r: f64) -> Rect<f64> {
        reach(&self.piece, r)
    }

    /// A point of the plane in the frame.
    #[inline(always)]
    fn frame(&self, c: Coord<f64>) -> (f64, f64) {
        let (x, y) = (c.x - self.p0.x, c.y - self.p0.y);
        (x * self.ux + y * self.uy, y * self.ux - x * self.uy)
    }

    /// Whether a box in degrees may come within `r` metres of the piece: the frame-aligned box
    /// round its four corners is tested, which holds the box.
    pub fn may_reach(&self, b: Rect<f64>, r: f64) -> bool {
        let mut lo = (f64::INFINITY, f64::INFINITY);
        let mut hi = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for c in [
            b.min(),
            b.max(),
            Coord {
                x: b.min().x,
                y: b.max().y,
            },
            Coord {
                x: b.max().x,
                y: b.min().y,
            },
        ] {
            let (x, y) = self.frame(self.plane.project(c));
            lo = (lo.0.min(x), lo.1.min(y));
            hi = (hi.0.max(x), hi.1.max(y));
        }
        // A margin for the plane's own error at these few hundred metres.
        let r = r + 0.01 * r + 0.1;
        !(hi.1 < -r || lo.1 > r || hi.0 < -r || lo.0 > self.len + r)
    }

    /// The parts [u0, u1] of the piece within `radius` of a chain of `n` vertices `pts(i)` (one
    /// vertex: a point), appended to `out`. `known` is a part of the piece already known to lie
    /// within reach of the same hazard (empty when u0 > u1); it grows as this chain is read.
    ///
    /// Most edges of a chain that runs inside the corridor cannot add to what is known: each
    /// vertex v within `radius` of the piece's line puts [x − s, x + s] in reach (s = √(r² − y²),
    /// in the frame), and consecutive such vertices join (the edge between them stays within the
    /// band too); an edge's reach lies within [min x − r', max x + r'], r' = √(r² − min y²) when
    /// it does not cross the line. Only edges whose reach is not inside what is known are solved
    /// exactly; the answer is the same union as solving every edge.
    pub fn chain(
        &self,
        radius: f64,
        pts: &[Coord<f64>],
        known: &mut (f64, f64),
        out: &mut Vec<(f64, f64)>,
    ) {
        let n = pts.len();
        if n == 0 {
            return;
        }
        if n == 1 {
            if let Some(x) = disc(self.p0, self.d, self.plane.project(pts[0]), radius) {
                out.push(x);
            }
            return;
        }
        // Vertices outside the box that holds every place within `radius` of the piece are not
        // projected: an edge with both ends beyond the same side of it cannot reach the piece.
        let bx = self.reach_box(radius);
        let outcode = |c: Coord<f64>| -> u8 {
            u8::from(c.x < bx.min().x)
                | u8::from(c.x > bx.max().x) << 1
                | u8::from(c.y < bx.min().y) << 2
                | u8::from(c.y > bx.max().y) << 3
        };
        let (lo, hi) = (-radius, self.len + radius);
        let inv = if self.len > 0.0 { 1.0 / self.len } else { 0.0 };
        let r2 = radius * radius;
        let grow = |known: &mut (f64, f64), (a, b): (f64, f64)| {
            if known.0 > known.1 || (b - a > known.1 - known.0 && (a > known.1 || b < known.0)) {
                *known = (a, b);
            } else if a <= known.1 && b >= known.0 {
                *known = (known.0.min(a), known.1.max(b));
            }
        };
        let vertex_reach = |x: f64, y: f64| -> Option<(f64, f64)> {
            (y.abs() <= radius && self.len > 0.0).then(|| {
                let s = (r2 - y * y).sqrt();
                (((x - s) * inv).max(0.0), ((x + s) * inv).min(1.0))
            })
        };
        let close_band =
            |band: &mut Option<(f64, f64)>, known: &mut (f64, f64), out: &mut Vec<(f64, f64)>| {
                if let Some((a, b)) = band.take()
                    && a <= b
                {
                    out.push((a, b));
                    grow(known, (a, b));
                }
            };
        // A vertex's outcode, and its place in the plane and the frame once worked out.
        type Seen = (u8, Option<(Coord<f64>, f64, f64)>);
        let project = |c: Coord<f64>| {
            let p = self.plane.project(c);
            let (x, y) = self.frame(p);
            (p, x, y)
        };
        let mut a: Seen = (outcode(pts[0]), None);
        let mut a_at = pts[0];
        if a.0 == 0 {
            a.1 = Some(project(a_at));
        }
        // The stretch put in reach by the current run of vertices within the band.
        let mut band: Option<(f64, f64)> = a.1.and_then(|(_, x, y)| vertex_reach(x, y));
        for &c in &pts[1..] {
            let mut b: Seen = (outcode(c), None);
            if b.0 == 0 {
                b.1 = Some(project(c));
            }
            // The band of vertices goes on while both ends are within it.
            match (band.is_some(), b.1.and_then(|(_, x, y)| vertex_reach(x, y))) {
                (true, Some((c0, d0))) => band = band.map(|(a0, b0)| (a0.min(c0), b0.max(d0))),
                (_, v) => {
                    close_band(&mut band, known, out);
                    band = v;
                }
            }
            if a.0 & b.0 == 0 {
                let (pa, xa, ya) = *a.1.get_or_insert_with(|| project(a_at));
                let (pb, xb, yb) = *b.1.get_or_insert_with(|| project(c));
                let outside = (ya > radius && yb > radius)
                    || (ya < -radius && yb < -radius)
                    || (xa < lo && xb < lo)
                    || (xa > hi && xb > hi);
                if !outside {
                    let reach = if (ya > 0.0) != (yb > 0.0) || ya == 0.0 || yb == 0.0 {
                        radius
                    } else {
                        let m = ya.abs().min(yb.abs());
                        (r2 - m * m).max(0.0).sqrt()
                    };
                    let r0 = ((xa.min(xb) - reach) * inv).max(0.0);
                    let r1 = ((xa.max(xb) + reach) * inv).min(1.0);
                    let within = |k: (f64, f64)| k.0 <= k.1 && r0 >= k.0 && r1 <= k.1;
                    let settled = self.len > 0.0 && (within(*known) || band.is_some_and(within));
                    if !settled && let Some(x) = capsule(self.p0, self.d, pa, pb, radius) {
                        out.push(x);
                        grow(known, x);
                    }
                }
            }
            (a, a_at) = (b, c);
        }
        close_band(&mut band, known, out);
    }
}

/// Sorts and joins overlapping or touching intervals of `iv` into `out`.
pub fn merge_into(iv: &mut [(f64, f64)], out: &mut Vec<(f64, f64)>) {
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

    /// The union of every edge's capsule interval: what `Frame::chain` must equal.
    fn every_capsule(f: &Frame, radius: f64, pts: &[Coord<f64>]) -> Vec<(f64, f64)> {
        let mut iv = Vec::new();
        if pts.len() == 1 {
            iv.extend(disc(f.p0, f.d, f.plane.project(pts[0]), radius));
        }
        for w in pts.windows(2) {
            let (a, b) = (f.plane.project(w[0]), f.plane.project(w[1]));
            iv.extend(capsule(f.p0, f.d, a, b, radius));
        }
        merge(iv)
    }

    #[test]
    fn a_chain_skipping_settled_edges_equals_every_capsule() {
        let mut seed = 0xc4a1_u64;
        let mut unit = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut compared = 0;
        for case in 0..3_000 {
            // A piece of up to 500 m somewhere in Ukraine, in any direction (some of length 0).
            let a = Coord {
                x: 30.0 + unit() * 8.0,
                y: 46.0 + unit() * 5.0,
            };
            let (len, dir) = (
                if case % 50 == 0 { 0.0 } else { unit() * 500.0 },
                unit() * 6.3,
            );
            let b = Coord {
                x: a.x + len * dir.sin() / 75_000.0,
                y: a.y + len * dir.cos() / 111_000.0,
            };
            let (pieces, _) = pieces(&LineString::from(vec![a, b]));
            let f = Frame::of(&pieces[0]);
            // A wandering chain of up to 80 vertices near the piece, sometimes closed.
            let n = 1 + (unit() * 80.0) as usize;
            let mut c = Coord {
                x: a.x + (unit() - 0.5) * 0.012,
                y: a.y + (unit() - 0.5) * 0.008,
            };
            let mut pts = Vec::with_capacity(n + 1);
            for _ in 0..n {
                pts.push(c);
                c.x += (unit() - 0.5) * 0.003;
                c.y += (unit() - 0.5) * 0.002;
            }
            if n > 2 && case % 3 == 0 {
                pts.push(pts[0]);
            }
            let radius = [0.0, 5.0, 50.0, 250.0, 1_000.0][case % 5];
            let mut out = Vec::new();
            let mut known = (1.0, 0.0);
            f.chain(radius, &pts, &mut known, &mut out);
            let got = merge(out);
            let want = every_capsule(&f, radius, &pts);
            assert_eq!(got.len(), want.len(), "case {case}: {got:?} vs {want:?}");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9,
                    "case {case}: {got:?} vs {want:?}"
                );
            }
            compared += got.len();
        }
        assert!(compared > 1_000, "only {compared} stretches compared");
    }

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
