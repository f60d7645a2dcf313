//! Covering cells for the low zooms, computed once per read model instead of per tile.
//!
//! Below [`DETAIL_MIN_ZOOM`] a tile shows the cells of its [`GRID`] that hazards touch (see
//! `tiles.rs`), and a tile at zoom 6 over a dense region holds a hundred thousand hazards: found,
//! sorted and rasterised on every cold request, that took most of a second. Here every open
//! hazard is rasterised once, on the grid of zoom [`BASE_ZOOM`] tiles by the very same
//! `touched_cells`, giving the cells of level `BASE_ZOOM + 6` (cells of 1/64 of a tile side) it
//! touches. A cell of a coarser level is the union of its four children, so a hazard touches it
//! exactly when it touches one of them: each hazard's cells at every coarser level are the
//! parents of its fine cells, counted once per hazard. The covering promise of `tiles.rs` carries
//! over unchanged (the cells drawn are the cells touched), and so does `count` (how many hazards
//! touch the cell).
//!
//! Each level is a B-tree keyed by Morton code: the 64 × 64 cells of one tile are one contiguous
//! run of codes, one range query. Each cell counts its hazards per severity rank, so that a
//! write can take a hazard out (`remove`) and put its new shape in (`add`) without a rebuild.

use std::collections::BTreeMap;

use cairn_core::Shape;

use crate::tiles::{AggregateCell, DETAIL_MIN_ZOOM, EXTENT, GRID, cells_touched, tiles_touched};

/// The zoom whose tiles' grids give the finest cells.
pub const BASE_ZOOM: u8 = DETAIL_MIN_ZOOM - 1;
/// log2 of [`GRID`].
const GRID_BITS: u8 = 6;
const _: () = assert!(1 << GRID_BITS == GRID);

/// Severity ranks run from 0 to this.
const MAX_RANK: usize = 3;

/// How many hazards of each severity rank touch a cell.
type Counts = [u32; MAX_RANK + 1];

/// Covering cells for every zoom below [`DETAIL_MIN_ZOOM`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pyramid {
    /// Index `z`: the cells of the tiles of zoom `z` (level `z + 6`), by Morton code.
    levels: Vec<BTreeMap<u64, Counts>>,
}

/// Interleaves the bits of x and y (x in the even bits).
fn morton(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        v = (v | (v << 1)) & 0x5555_5555_5555_5555;
        v
    }
    spread(x) | (spread(y) << 1)
}

fn unmorton(code: u64) -> (u32, u32) {
    fn squash(mut v: u64) -> u32 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v >> 4)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v >> 8)) & 0x0000_ffff_0000_ffff;
        v = (v | (v >> 16)) & 0x0000_0000_ffff_ffff;
        v as u32
    }
    (squash(code), squash(code >> 1))
}

/// The cells of every level that one hazard touches, each once, into `out[z]`; `fine` is scratch.
fn cells_of(shape: &Shape, fine: &mut Vec<(u32, u32)>, out: &mut [Vec<u64>]) {
    fine.clear();
    let Some((x0, x1, y0, y1)) = tiles_touched(BASE_ZOOM, shape) else {
        return;
    };
    for tx in x0..=x1 {
        for ty in y0..=y1 {
            cells_touched(BASE_ZOOM, tx, ty, shape, &mut |cx, cy| {
                fine.push((tx * GRID + cx as u32, ty * GRID + cy as u32));
            });
        }
    }
    for (z, level) in out.iter_mut().enumerate() {
        let shift = BASE_ZOOM - z as u8;
        let from = level.len();
        level.extend(fine.iter().map(|&(x, y)| morton(x >> shift, y >> shift)));
        level[from..].sort_unstable();
        let mut k = from;
        for i in from..level.len() {
            if i == from || level[i] != level[k - 1] {
                level[k] = level[i];
                k += 1;
            }
        }
        level.truncate(k);
    }
}

/// Every (code, rank) a run of hazards contributes at each level, each hazard counted once per
/// cell, for each of two pyramids: a hazard goes into the first when bit 1 of its mask is set, the
/// second when bit 2 is (a shape shown to both audiences is rasterised once).
fn contributions<'a>(
    hazards: impl Iterator<Item = (&'a Shape, u8, u8)>,
) -> [Vec<Vec<(u64, u8)>>; 2] {
    let levels = usize::from(DETAIL_MIN_ZOOM);
    let mut out: [Vec<Vec<(u64, u8)>>; 2] = [vec![Vec::new(); levels], vec![Vec::new(); levels]];
    let mut fine = Vec::new();
    let mut one: Vec<Vec<u64>> = vec![Vec::new(); levels];
    for (shape, rank, mask) in hazards {
        one.iter_mut().for_each(Vec::clear);
        cells_of(shape, &mut fine, &mut one);
        for (k, o) in out.iter_mut().enumerate() {
            if mask & (1 << k) != 0 {
                for (o, l) in o.iter_mut().zip(&one) {
                    o.extend(l.iter().map(|&c| (c, rank)));
                }
            }
        }
    }
    out
}

/// A pyramid from the contributions of its hazards (in any order).
fn counted(parts: Vec<Vec<Vec<(u64, u8)>>>) -> Pyramid {
    let mut parts = parts.into_iter();
    let Some(mut first) = parts.next() else {
        return Pyramid::default();
    };
    for p in parts {
        for (v, w) in first.iter_mut().zip(p) {
            v.extend(w);
        }
    }
    let levels = first
        .into_iter()
        .map(|mut v| {
            v.sort_unstable_by_key(|&(c, _)| c);
            let mut cells: Vec<(u64, Counts)> = Vec::new();
            for &(code, rank) in v.iter() {
                let r = usize::from(rank).min(MAX_RANK);
                match cells.last_mut() {
                    Some(last) if last.0 == code => last.1[r] += 1,
                    _ => {
                        let mut c = Counts::default();
                        c[r] = 1;
                        cells.push((code, c));
                    }
                }
            }
            cells.into_iter().collect()
        })
        .collect();
    Pyramid { levels }
}

impl Pyramid {
    /// Rasterises the hazards (each with its severity rank, 0 to 3) on two threads.
    pub fn build(hazards: &[(&Shape, u8)]) -> Pyramid {
        let with_mask: Vec<(&Shape, u8, u8)> = hazards.iter().map(|&(s, r)| (s, r, 1)).collect();
        Pyramid::build_pair(&with_mask).0
    }

    /// Two pyramids at once, rasterising each shape once on two threads: each hazard (shape,
    /// severity rank 0 to 3, mask) counts in the first pyramid when bit 1 of its mask is set and in
    /// the second when bit 2 is.
    pub fn build_pair(hazards: &[(&Shape, u8, u8)]) -> (Pyramid, Pyramid) {
        let half = hazards.len() / 2;
        let (a, b) = hazards.split_at(half);
        let ([a1, a2], [b1, b2]) = std::thread::scope(|s| {
            let h = s.spawn(|| contributions(b.iter().copied()));
            let ca = contributions(a.iter().copied());
            (ca, h.join().expect("a pyramid thread panicked"))
        });
        std::thread::scope(|s| {
            let h = s.spawn(|| counted(vec![a2, b2]));
            let first = counted(vec![a1, b1]);
            (first, h.join().expect("a pyramid thread panicked"))
        })
    }

    /// Counts a hazard in (after a write).
    pub fn add(&mut self, shape: &Shape, rank: u8) {
        self.change(shape, rank, true);
    }

    /// Counts a hazard out, as it was added (before a write replaces or closes it).
    pub fn remove(&mut self, shape: &Shape, rank: u8) {
        self.change(shape, rank, false);
    }

    fn change(&mut self, shape: &Shape, rank: u8, add: bool) {
        let n = usize::from(DETAIL_MIN_ZOOM);
        if self.levels.len() < n {
            self.levels.resize_with(n, BTreeMap::new);
        }
        let mut one: Vec<Vec<u64>> = vec![Vec::new(); n];
        cells_of(shape, &mut Vec::new(), &mut one);
        let r = usize::from(rank).min(MAX_RANK);
        for (level, codes) in self.levels.iter_mut().zip(&one) {
            for &code in codes {
                if add {
                    level.entry(code).or_default()[r] += 1;
                } else if let Some(c) = level.get_mut(&code) {
                    c[r] = c[r].saturating_sub(1);
                    if c.iter().all(|&k| k == 0) {
                        level.remove(&code);
                    }
                }
            }
        }
    }

    /// The covering cells of tile z/x/y (z below [`DETAIL_MIN_ZOOM`]), as `tiles::aggregate`
    /// gives them: rows from the top, each from the left.
    pub fn cells(&self, z: u8, x: u32, y: u32) -> Vec<AggregateCell> {
        let Some(level) = self.levels.get(usize::from(z)) else {
            return Vec::new();
        };
        let tile = morton(x, y);
        let (lo, hi) = (tile << (2 * GRID_BITS), (tile + 1) << (2 * GRID_BITS));
        let size = (EXTENT / GRID) as i32;
        let mut cells: Vec<AggregateCell> = level
            .range(lo..hi)
            .map(|(&code, counts)| {
                let (gx, gy) = unmorton(code);
                let (cx, cy) = ((gx - x * GRID) as i32, (gy - y * GRID) as i32);
                AggregateCell {
                    min: [cx * size, cy * size],
                    max: [(cx + 1) * size, (cy + 1) * size],
                    count: counts.iter().sum(),
                    severity: counts.iter().rposition(|&k| k > 0).unwrap_or(0) as u8,
                }
            })
            .collect();
        cells.sort_unstable_by_key(|c| (c.min[1], c.min[0]));
        cells
    }

    /// Cells held, over all levels.
    pub fn len(&self) -> usize {
        self.levels.iter().map(BTreeMap::len).sum()
    }

    /// True when no hazard touches any cell.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::aggregate;
    use geo_types::{Coord, LineString, Point, Polygon};

    fn square(lon: f64, lat: f64, d: f64) -> Shape {
        Shape::Polygon(Polygon::new(
            LineString::from(vec![
                (lon, lat),
                (lon + d, lat),
                (lon + d, lat + d),
                (lon, lat + d),
                (lon, lat),
            ]),
            vec![],
        ))
    }

    #[test]
    fn adding_and_removing_match_a_rebuild() {
        let shapes: Vec<Shape> = (0..60)
            .map(|i| {
                let f = f64::from(i);
                square(
                    30.0 + (f * 0.031) % 1.0,
                    50.0 + (f * 0.017) % 0.5,
                    0.002 + (f % 5.0) * 0.01,
                )
            })
            .collect();
        let ranked: Vec<(&Shape, u8)> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| (s, (i % 3) as u8 + 1))
            .collect();
        let mut p = Pyramid::build(&ranked[..40]);
        for &(s, r) in &ranked[40..] {
            p.add(s, r);
        }
        for &(s, r) in &ranked[..10] {
            p.remove(s, r);
        }
        let rebuilt = Pyramid::build(&ranked[10..]);
        assert_eq!(p.levels, rebuilt.levels);
        assert!(rebuilt.len() > 100);
        for &(s, r) in &ranked[10..] {
            p.remove(s, r);
        }
        assert!(p.is_empty());
    }

    #[test]
    fn morton_round_trips() {
        for (x, y) in [(0, 0), (1, 0), (0, 1), (32767, 12345), (5, 9)] {
            assert_eq!(unmorton(morton(x, y)), (x, y));
        }
        assert_eq!(morton(1, 0), 1);
        assert_eq!(morton(0, 1), 2);
    }

    #[test]
    fn pyramid_cells_cover_direct_aggregation_at_every_low_zoom() {
        // Hazards of many sizes, some on cell and tile borders, around Kharkiv and across the
        // z4 tile border at 33.75 E, with a spot and a track.
        let mut shapes = Vec::new();
        for i in 0..200 {
            let f = i as f64;
            let d = 0.001 + (f % 7.0) * 0.004;
            shapes.push(square(
                33.70 + (f * 0.013) % 0.3,
                49.9 + (f * 0.007) % 0.2,
                d,
            ));
            shapes.push(square(
                23.0 + (f * 0.0791) % 16.0,
                45.0 + (f * 0.0373) % 7.0,
                d,
            ));
        }
        shapes.push(square(33.75, 50.0, 0.5));
        shapes.push(Shape::Spot {
            at: Point(Coord { x: 36.23, y: 49.99 }),
            radius_m: 300.0,
        });
        shapes.push(Shape::Linear {
            line: LineString::from(vec![(36.0, 50.0), (36.4, 50.1)]),
            width_m: 20.0,
        });
        let ranked: Vec<(&Shape, u8)> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| (s, (i % 3) as u8 + 1))
            .collect();
        let p = Pyramid::build(&ranked);
        assert!(!p.is_empty());
        let (mut compared, mut equal, mut direct_total, mut pyramid_total) = (0, 0, 0u64, 0u64);
        for z in 3..DETAIL_MIN_ZOOM {
            let mut tiles = std::collections::BTreeSet::new();
            for s in &shapes {
                let (x0, x1, y0, y1) = tiles_touched(z, s).unwrap();
                for x in x0..=x1 {
                    for y in y0..=y1 {
                        tiles.insert((x, y));
                    }
                }
            }
            for (x, y) in tiles {
                let direct = aggregate(z, x, y, &ranked);
                let from_pyramid = p.cells(z, x, y);
                // Every cell drawn directly is drawn from the pyramid, with at least its count
                // and severity: a hazard exactly on a cell's border may be found touching it at
                // one zoom's rounding and not at another's, and the pyramid keeps it.
                for d in &direct {
                    let c = from_pyramid
                        .iter()
                        .find(|c| c.min == d.min)
                        .unwrap_or_else(|| panic!("tile {z}/{x}/{y}: cell {d:?} missing"));
                    assert!(
                        c.count >= d.count && c.severity >= d.severity,
                        "{z}/{x}/{y}: {c:?} < {d:?}"
                    );
                }
                equal += usize::from(from_pyramid == direct);
                direct_total += direct.iter().map(|c| u64::from(c.count)).sum::<u64>();
                pyramid_total += from_pyramid.iter().map(|c| u64::from(c.count)).sum::<u64>();
                compared += 1;
            }
        }
        assert!(compared > 30, "only {compared} tiles compared");
        // Border cases are rare: almost every tile is the same, and counts differ by under 1 %.
        assert!(
            equal * 10 >= compared * 9,
            "{equal} of {compared} tiles equal"
        );
        assert!(
            pyramid_total * 100 <= direct_total * 101,
            "{pyramid_total} vs {direct_total}"
        );
    }
}
