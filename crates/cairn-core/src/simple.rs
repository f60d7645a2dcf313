//! A fast proof that a polygon is valid, for the common case: a sweep finds no two segments
//! that meet except neighbours at their shared vertex. Anything it cannot prove valid goes to
//! geo's full validation, which alone decides that a geometry is invalid and says why.

use geo::{Contains, Intersects, Kernel, Orientation, kernels::RobustKernel};
use geo_types::{Coord, Line, LineString, MultiPolygon, Polygon};

/// True when the polygon is certainly valid; false means "not proven", not "invalid".
pub fn polygon_is_surely_valid(p: &Polygon<f64>) -> bool {
    let rings: Vec<&LineString<f64>> = std::iter::once(p.exterior()).chain(p.interiors()).collect();
    if !rings_are_simple_and_disjoint(&rings) {
        return false;
    }
    // With no crossings, each hole lies wholly inside or outside the shell and the other holes.
    let shell = Polygon::new(p.exterior().clone(), vec![]);
    for (i, h) in p.interiors().iter().enumerate() {
        let Some(c) = h.0.first() else { return false };
        if !shell.contains(c) {
            return false;
        }
        for (j, other) in p.interiors().iter().enumerate() {
            if i != j && Polygon::new(other.clone(), vec![]).contains(c) {
                return false;
            }
        }
    }
    true
}

/// True when every part is surely valid and no part overlaps or touches another.
pub fn multipolygon_is_surely_valid(m: &MultiPolygon<f64>) -> bool {
    if !m.0.iter().all(polygon_is_surely_valid) {
        return false;
    }
    let rings: Vec<&LineString<f64>> =
        m.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .collect();
    if !rings_are_simple_and_disjoint(&rings) {
        return false;
    }
    // No crossings between parts: they overlap only if one holds a vertex of another.
    for (i, a) in m.0.iter().enumerate() {
        for (j, b) in m.0.iter().enumerate() {
            if i != j {
                match a.exterior().0.first() {
                    Some(c) if !b.contains(c) => {}
                    _ => return false,
                }
            }
        }
    }
    true
}

struct Seg {
    lo: f64,
    hi: f64,
    other_lo: f64,
    other_hi: f64,
    ring: usize,
    index: usize,
    ring_len: usize,
    line: Line<f64>,
}

/// Sweeps all segments of all rings along the longer axis and checks every pair whose boxes meet.
fn rings_are_simple_and_disjoint(rings: &[&LineString<f64>]) -> bool {
    let (mut minx, mut maxx, mut miny, mut maxy) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for r in rings {
        for c in &r.0 {
            minx = minx.min(c.x);
            maxx = maxx.max(c.x);
            miny = miny.min(c.y);
            maxy = maxy.max(c.y);
        }
    }
    let along_x = maxx - minx >= maxy - miny;
    let key = |c: Coord<f64>| if along_x { (c.x, c.y) } else { (c.y, c.x) };
    let mut segs = Vec::new();
    for (ri, r) in rings.iter().enumerate() {
        let n = r.0.len().saturating_sub(1);
        if n < 3 || r.0.first() != r.0.last() {
            return false;
        }
        for i in 0..n {
            let (a, b) = (r.0[i], r.0[i + 1]);
            if a == b {
                return false;
            }
            let (ka, kb) = (key(a), key(b));
            segs.push(Seg {
                lo: ka.0.min(kb.0),
                hi: ka.0.max(kb.0),
                other_lo: ka.1.min(kb.1),
                other_hi: ka.1.max(kb.1),
                ring: ri,
                index: i,
                ring_len: n,
                line: Line::new(a, b),
            });
        }
    }
    segs.sort_by(|a, b| a.lo.total_cmp(&b.lo));
    let mut active: Vec<usize> = Vec::new();
    for k in 0..segs.len() {
        let s = &segs[k];
        active.retain(|&j| segs[j].hi >= s.lo);
        for &j in &active {
            let t = &segs[j];
            if t.other_hi < s.other_lo || t.other_lo > s.other_hi {
                continue;
            }
            if !pair_ok(s, t) {
                return false;
            }
        }
        active.push(k);
    }
    true
}

/// Neighbours in one ring may meet only at their shared vertex, without folding back on each
/// other; any other pair must not meet at all.
fn pair_ok(s: &Seg, t: &Seg) -> bool {
    if s.ring == t.ring {
        let n = s.ring_len;
        let next = |i: usize| (i + 1) % n;
        let (first, second) = if next(s.index) == t.index {
            (s, t)
        } else if next(t.index) == s.index {
            (t, s)
        } else {
            return !s.line.intersects(&t.line);
        };
        // `first` ends where `second` starts; the far end of `second` must not be collinear
        // with `first` (a spike or an overlap), which the full validation judges instead.
        return RobustKernel::orient2d(first.line.start, first.line.end, second.line.end)
            != Orientation::Collinear;
    }
    !s.line.intersects(&t.line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Validation;
    use proptest::prelude::*;

    fn poly(pts: &[(f64, f64)]) -> Polygon<f64> {
        let mut ls: LineString<f64> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
        ls.close();
        Polygon::new(ls, vec![])
    }

    #[test]
    fn known_cases() {
        assert!(polygon_is_surely_valid(&poly(&[
            (0.0, 0.0),
            (1.0, 0.0),
            (1.0, 1.0),
            (0.0, 1.0)
        ])));
        assert!(!polygon_is_surely_valid(&poly(&[
            (0.0, 0.0),
            (1.0, 1.0),
            (1.0, 0.0),
            (0.0, 1.0)
        ])));
        // A spike goes to the full validation.
        assert!(!polygon_is_surely_valid(&poly(&[
            (0.0, 0.0),
            (2.0, 0.0),
            (1.0, 0.0),
            (1.0, 1.0)
        ])));
        let with_hole = Polygon::new(
            poly(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)])
                .exterior()
                .clone(),
            vec![
                poly(&[(1.0, 1.0), (2.0, 1.0), (2.0, 2.0)])
                    .exterior()
                    .clone(),
            ],
        );
        assert!(polygon_is_surely_valid(&with_hole));
        let hole_outside = Polygon::new(
            poly(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)])
                .exterior()
                .clone(),
            vec![
                poly(&[(5.0, 1.0), (6.0, 1.0), (6.0, 2.0)])
                    .exterior()
                    .clone(),
            ],
        );
        assert!(!polygon_is_surely_valid(&hole_outside));
        let a = poly(&[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]);
        let b = poly(&[(2.0, 0.0), (3.0, 0.0), (3.0, 1.0)]);
        let inside = poly(&[(0.5, 0.1), (0.9, 0.1), (0.9, 0.5)]);
        assert!(multipolygon_is_surely_valid(&MultiPolygon(vec![
            a.clone(),
            b
        ])));
        assert!(!multipolygon_is_surely_valid(&MultiPolygon(vec![
            a, inside
        ])));
    }

    proptest! {
        // The fast check never calls valid what geo's full validation calls invalid.
        #[test]
        fn never_accepts_what_geo_rejects(pts in prop::collection::vec((0i32..8, 0i32..8), 3..12),
                                          hole in prop::collection::vec((0i32..8, 0i32..8), 3..6)) {
            let p = poly(&pts.iter().map(|&(x, y)| (x as f64, y as f64)).collect::<Vec<_>>());
            if polygon_is_surely_valid(&p) {
                prop_assert!(p.is_valid(), "{p:?}");
            }
            let h = poly(&hole.iter().map(|&(x, y)| (x as f64 * 0.5 + 1.0, y as f64 * 0.5 + 1.0)).collect::<Vec<_>>());
            let ph = Polygon::new(p.exterior().clone(), vec![h.exterior().clone()]);
            if polygon_is_surely_valid(&ph) {
                prop_assert!(ph.is_valid(), "{ph:?}");
            }
            let m = MultiPolygon(vec![p.clone(), h]);
            if multipolygon_is_surely_valid(&m) {
                prop_assert!(m.is_valid(), "{m:?}");
            }
        }
    }
}
