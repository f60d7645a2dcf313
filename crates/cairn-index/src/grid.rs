//! The point-location grid: every hazard's edges bucketed into small cells ("leaves") of a grid
//! over longitude and latitude, so that a place check reads only the hazards and the edges in the
//! place's own leaf and in the few leaves its accuracy radius reaches, laid out together in memory,
//! instead of walking a tree to dozens of candidate hazards and reading each one's rings. On this
//! kind of machine a dependent read from main memory costs 170–400 ns, so the layout is built to
//! need few of them: a dense directory of tiles, one table of leaves, and each leaf one block.
//!
//! Tiles are 1/64 degree of longitude by 1/128 degree of latitude; each is cut into 2^L × 2^L
//! leaves, L from 0 to `MAX_LEVEL` chosen by how many edges the tile holds. Every border is an
//! integer over a power of two, so a place's tile and leaf and every comparison with a border are
//! exact. A leaf lists, for each hazard:
//!
//! - nothing, when the hazard neither touches nor contains it;
//! - a cover entry, when the leaf lies wholly inside the polygon (no edge's box meets the leaf);
//! - runs, for a polygon whose edges' boxes meet the leaf: maximal chains of consecutive such
//!   edges, their vertices copied into the leaf, and one parity bit `P0`; for a track, the chains
//!   whose boxes widened by half its width meet the leaf; for a spot, its centre.
//!
//! Containment is the crossing-number test of `distance.rs` (a ray eastwards, Shewchuk's exact
//! `orient2d`), split at the leaf. Let E be the hazard's edges listed in the leaf (those whose
//! closed box meets the leaf's closed box [x0, x1] × [y0, y1]) and q a place in the leaf. An edge
//! not in E has a box apart from the leaf, so the ray from q can cross it only when it lies wholly
//! east of x1 and straddles q's latitude; call those edges R. Then
//!
//!   inside(q) = ⊕_{e ∈ E} crosses(e, q) ⊕ ⊕_{e ∈ R} straddles(e, q.y).
//!
//! The second term at the leaf's bottom, y = y0, is the stored bit `P0`. Moving up from y0 to q.y
//! it changes once for each vertex v with y0 < v.y ≤ q.y that ends exactly one edge of R (a vertex
//! between two edges of R changes both). The other edge at such a vertex meets the leaf's band of
//! latitudes at v, east of x1, and is not in R, so it is in E: v is an end of one of the leaf's
//! runs, lying east of x1. So with the runs at hand,
//!
//!   inside(q) = P0 ⊕ ⊕_{e ∈ E} crosses(e, q) ⊕ #{run ends v : v.x > x1, y0 < v.y ≤ q.y},
//!
//! with q on an edge of E (the only edges that can pass through q) meaning inside. The parity is
//! taken over all of a hazard's rings at once (even-odd), which for a valid polygon or
//! multipolygon is containment. A leaf with no runs of a polygon is inside it exactly when `P0`
//! is set: that is the cover entry. A run cut in two (at 65,535 vertices) has one more pair of
//! ends at the same vertex, which toggle twice and so change nothing.
//!
//! Distances need no parity: a hazard within r metres of q has its nearest boundary point in a
//! leaf that the box of r around q meets, and that point's edge is listed there.
//!
//! The nearest hazard to a place that is in or near none starts from the directory's site map:
//! for every tile of the window around the data, a hazard (the "site") and an upper bound on the
//! distance from any point of the tile to it, or the knowledge that no open hazard lies within
//! `SITE_REACH_M`. The search then reads only the leaves within that bound, nearest first,
//! tightening it as it goes. Sites are hints kept true: a write adds its hazard as a site where the
//! map had none, and a site whose hazard is removed is marked unknown, which sends that tile's
//! searches to the R-tree until the next build.

use std::cell::RefCell;

use cairn_core::{Shape, Status, WireEnum};
use geo_types::{Coord, LineString, Rect};

use crate::distance::{crossing, foot2, lerp};
use crate::geodesy::{self, LocalPlane};
use crate::{Filter, Hazard};

/// Tiles per degree of longitude.
const TX: f64 = 64.0;
/// Tiles per degree of latitude.
const TY: f64 = 128.0;
/// Finest cut of a tile: 2^5 × 2^5 leaves of about 36 m × 27 m in Ukraine.
const MAX_LEVEL: u32 = 5;
/// Edges per leaf aimed at when choosing a tile's level. Measured on 1,000,000 synthetic areas
/// (examples/profile_points): 48 made 2.9 GB of leaves and 7.9 µs per place near hazards; 192 makes
/// 1.4 GB and 7.6 µs; 384, 1.1 GB and 9.0 µs; 768, 1.0 GB and 11.9 µs.
const TARGET_EDGES: f64 = 192.0;
/// A hazard whose box meets more tiles than this is kept out of the grid and checked on its own.
pub const MAX_TILES: i64 = 4096;
/// Place checks whose accuracy box meets more tiles than this ask the R-tree instead.
pub const MAX_BOX_TILES: i64 = 16;
/// How far the site map looks for an open hazard: the place check's nearest-hazard limit.
pub const SITE_REACH_M: f64 = crate::NEAREST_LIMIT_M;
/// Most tiles in the dense window (16 bytes each): tiles outside it are found by hashing.
const MAX_WINDOW: i64 = 1 << 23;
/// Most open hazards outside the window that nearest-hazard searches look through one by one;
/// with more, the R-tree answers them all.
const MAX_OUTSIDE: usize = 64;
/// Tiles per side of a block in the open-hazard summary.
const BLOCK: i64 = 16;

/// The kinds of hazard entries in a leaf.
const POLYGON: u64 = 0;
const LINE: u64 = 1;
const SPOT: u64 = 2;
/// The parity bit P0, on the first run of a polygon in a leaf.
const P0: u64 = 1 << 2;
/// The run is a whole ring: it has no ends.
const CLOSED: u64 = 1 << 3;
/// Longest run, in vertices.
const MAX_RUN: usize = u16::MAX as usize;

/// A site slot meaning: no open hazard within `SITE_REACH_M` of the tile.
const NO_SITE: u32 = u32::MAX;
/// A site slot meaning: unknown (its hazard was removed); ask the R-tree.
const UNKNOWN_SITE: u32 = u32::MAX - 1;

/// A hash for tile keys (a multiply and a shift; the keys are not chosen by anyone hostile).
#[derive(Clone, Copy, Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, k: u64) {
        let h = (k ^ (k >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.0 = h ^ (h >> 32);
    }
}

type KeyBuild = std::hash::BuildHasherDefault<KeyHasher>;

fn key(ix: i64, iy: i64) -> u64 {
    ((ix as u32 as u64) << 32) | iy as u32 as u64
}

/// A tile's place along a Hilbert curve over all tiles (2^32 a side), which alone determines the
/// tile (`tile_of_order` reads it back).
fn tile_order(ix: i64, iy: i64) -> u64 {
    cairn_core::hilbert::distance(
        32,
        ix as i32 as u32 as u64 ^ (1 << 31),
        iy as i32 as u32 as u64 ^ (1 << 31),
    )
}

/// The tile at a place along the curve of `tile_order`.
fn tile_of_order(d: u64) -> (i64, i64) {
    let (x, y) = cairn_core::hilbert::cell(32, d);
    (
        ((x ^ (1 << 31)) as u32 as i32) as i64,
        ((y ^ (1 << 31)) as u32 as i32) as i64,
    )
}

fn unkey(k: u64) -> (i64, i64) {
    ((k >> 32) as u32 as i32 as i64, k as u32 as i32 as i64)
}

/// A tile's place in the leaf table: (first leaf + 1) in the low 40 bits and its level above;
/// 0 for a tile that holds nothing.
fn tile_value(base: usize, level: u32) -> u64 {
    (base as u64 + 1) | u64::from(level) << 40
}

fn tile_parts(v: u64) -> Option<(usize, u32)> {
    (v != 0).then(|| (((v & ((1 << 40) - 1)) - 1) as usize, (v >> 40) as u32))
}

/// The rectangle of tiles held densely, with the site map's reach in tiles.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    ix0: i64,
    iy0: i64,
    w: i64,
    h: i64,
    /// Tiles that surely cover `SITE_REACH_M` east–west and north–south anywhere in the window.
    kx: i64,
    ky: i64,
}

impl Window {
    fn index(&self, ix: i64, iy: i64) -> Option<usize> {
        let (x, y) = (ix - self.ix0, iy - self.iy0);
        (x >= 0 && y >= 0 && x < self.w && y < self.h).then(|| (y * self.w + x) as usize)
    }
    fn blocks_w(&self) -> i64 {
        (self.w + BLOCK - 1) / BLOCK
    }
    fn block_of(&self, i: usize) -> usize {
        let (x, y) = (i as i64 % self.w, i as i64 / self.w);
        ((y / BLOCK) * self.blocks_w() + x / BLOCK) as usize
    }
}

/// A tile's site: a hazard's slot and an upper bound, in metres, on the distance from any point of
/// the tile to that hazard.
#[derive(Clone, Copy, Debug)]
struct Site {
    slot: u32,
    bound_m: f32,
    /// The hazard's covering box, rounded outwards: (min x, min y, max x, max y).
    bbox: [f32; 4],
}

/// `v` as an f32 no greater (`down`) or no less than it.
fn f32_outward(v: f64, down: bool) -> f32 {
    let f = v as f32;
    match (down, f64::from(f).partial_cmp(&v)) {
        (true, Some(std::cmp::Ordering::Greater)) => f.next_down(),
        (false, Some(std::cmp::Ordering::Less)) => f.next_up(),
        _ => f,
    }
}

const NO_BOX: [f32; 4] = [0.0; 4];

/// The grid.
#[derive(Clone, Debug, Default)]
pub struct Grid {
    window: Window,
    /// Per window tile, row by row: `tile_value`.
    dense: Vec<u64>,
    /// Tiles outside the window.
    sparse: std::collections::HashMap<u64, u64, KeyBuild>,
    /// Every tile's leaves, each tile's in one stretch, row by row from the south-west.
    leaves: Vec<Leaf>,
    /// Per window tile: how many open hazards' boxes meet it; per block of tiles, their sum.
    open: Vec<u32>,
    open_blocks: Vec<u32>,
    /// Per window tile: its site.
    sites: Vec<Site>,
    /// Open hazards whose boxes reach outside the window, which the site map does not see: a
    /// nearest-hazard search that could reach one of them goes to the R-tree.
    outside: Vec<(u32, Rect<f64>)>,
    /// Slots of hazards too large for the grid.
    big: Vec<u32>,
}

/// A leaf's entries, packed in one allocation of 64-bit words: word 0 holds the number of cover
/// entries (low half) and of runs (high half); then one word per cover entry (slot, status,
/// categories); then one word per run (slot; status, flags and categories; its number of
/// vertices); then the runs' vertices in order, two words each (the bits of longitude and
/// latitude). A track's or spot's run starts with a vertex whose longitude is its radius in
/// metres (half a track's width). Entries are sorted by slot; a hazard's runs keep their order.
type Leaf = Option<Box<[u64]>>;

/// One hazard as the grid reads it.
pub struct Source<'a> {
    pub slot: u32,
    pub hazard: &'a Hazard,
    /// The box that covers the hazard with its radius or width.
    pub bbox: Rect<f64>,
}

fn cover_word(slot: u32, status: u8, cats: u8) -> u64 {
    u64::from(slot) | u64::from(status) << 32 | u64::from(cats) << 40
}

/// A run's word: slot (bits 0–31), status (32–34), flags (35–39: kind, P0, closed), categories
/// (40–47), number of vertices (48–63).
fn run_word(slot: u32, status: u8, cats: u8, flags: u64, len: usize) -> u64 {
    u64::from(slot)
        | u64::from(status & 7) << 32
        | flags << 35
        | u64::from(cats) << 40
        | (len as u64) << 48
}

#[inline]
fn w_slot(w: u64) -> u32 {
    w as u32
}
#[inline]
fn w_status(w: u64) -> u8 {
    ((w >> 32) & 7) as u8
}
#[inline]
fn w_cover_status(w: u64) -> u8 {
    (w >> 32) as u8
}
#[inline]
fn w_flags(w: u64) -> u64 {
    (w >> 35) & 31
}
#[inline]
fn w_cats(w: u64) -> u8 {
    (w >> 40) as u8
}
#[inline]
fn w_len(w: u64) -> usize {
    (w >> 48) as usize
}

/// A leaf read in place.
#[derive(Clone, Copy)]
struct LeafView<'a> {
    covers: &'a [u64],
    runs: &'a [u64],
    vertices: &'a [u64],
}

impl<'a> LeafView<'a> {
    #[inline]
    fn new(w: &'a [u64]) -> LeafView<'a> {
        let n_cover = w[0] as u32 as usize;
        let n_runs = (w[0] >> 32) as usize;
        let (covers, rest) = w[1..].split_at(n_cover);
        let (runs, vertices) = rest.split_at(n_runs);
        LeafView {
            covers,
            runs,
            vertices,
        }
    }
}

#[inline(always)]
fn vertex_at(v: &[u64], i: usize) -> Coord<f64> {
    Coord {
        x: f64::from_bits(v[2 * i]),
        y: f64::from_bits(v[2 * i + 1]),
    }
}

/// A leaf with one hazard's entries added: covers (all of `slot`) and runs (word, vertex words).
/// The leaf's covers and runs are sorted by slot (as `build_tile` lays them); the new ones go
/// after those of lower or equal slot, so a hazard's runs keep their order. One allocation, no
/// unpacking: a write touching hundreds of leaves must stay within milliseconds.
fn leaf_with(old: Option<&[u64]>, slot: u32, covers: &[u64], runs: &[(u64, &[u64])]) -> Leaf {
    let empty = [0u64];
    let v = LeafView::new(old.unwrap_or(&empty));
    debug_assert!(v.covers.is_sorted_by_key(|&c| w_slot(c)));
    debug_assert!(v.runs.is_sorted_by_key(|&r| w_slot(r)));
    let ci = v.covers.partition_point(|&c| w_slot(c) <= slot);
    let ri = v.runs.partition_point(|&r| w_slot(r) <= slot);
    let vi: usize = v.runs[..ri].iter().map(|&r| 2 * w_len(r)).sum();
    let new_words: usize = runs.iter().map(|(_, p)| p.len()).sum();
    let (n_covers, n_runs) = (v.covers.len() + covers.len(), v.runs.len() + runs.len());
    if n_covers + n_runs == 0 {
        return None;
    }
    let mut w = Vec::with_capacity(1 + n_covers + n_runs + v.vertices.len() + new_words);
    w.push(n_covers as u64 | (n_runs as u64) << 32);
    w.extend_from_slice(&v.covers[..ci]);
    w.extend_from_slice(covers);
    w.extend_from_slice(&v.covers[ci..]);
    w.extend_from_slice(&v.runs[..ri]);
    w.extend(runs.iter().map(|(r, _)| *r));
    w.extend_from_slice(&v.runs[ri..]);
    w.extend_from_slice(&v.vertices[..vi]);
    for (_, p) in runs {
        w.extend_from_slice(p);
    }
    w.extend_from_slice(&v.vertices[vi..]);
    Some(w.into_boxed_slice())
}

/// A leaf without a hazard's entries, or `None` when it held none of them (nothing to change).
fn leaf_without(old: &[u64], slot: u32) -> Option<Leaf> {
    let v = LeafView::new(old);
    let covers = v.covers.iter().filter(|&&c| w_slot(c) != slot).count();
    let runs = v.runs.iter().filter(|&&r| w_slot(r) != slot).count();
    if covers == v.covers.len() && runs == v.runs.len() {
        return None;
    }
    if covers + runs == 0 {
        return Some(None);
    }
    let mut w = Vec::with_capacity(old.len());
    w.push(covers as u64 | (runs as u64) << 32);
    w.extend(v.covers.iter().filter(|&&c| w_slot(c) != slot));
    w.extend(v.runs.iter().filter(|&&r| w_slot(r) != slot));
    let mut at = 0;
    for &r in v.runs {
        let n = 2 * w_len(r);
        if w_slot(r) != slot {
            w.extend_from_slice(&v.vertices[at..at + n]);
        }
        at += n;
    }
    Some(Some(w.into_boxed_slice()))
}

/// The place of a tile or leaf border: exact, as every value is an integer over a power of two.
#[inline]
fn border(i: i64, per_degree: f64) -> f64 {
    i as f64 / per_degree
}

/// The range of cells (of `per_degree` cells per degree) whose closed extent meets [lo, hi]:
/// cell i spans [i, i + 1] / per_degree. Exact: `lo * per_degree` only scales by a power of two.
#[inline]
fn cells_meeting(lo: f64, hi: f64, per_degree: f64) -> (i64, i64) {
    (ceil_i(lo * per_degree) - 1, floor_i(hi * per_degree))
}

/// ⌊x⌋ for finite |x| < 2^62, without a call into libm (the baseline x86-64 target has no
/// rounding instruction).
#[inline(always)]
fn floor_i(x: f64) -> i64 {
    let i = x as i64;
    i - i64::from(x < i as f64)
}

/// ⌈x⌉, as `floor_i`.
#[inline(always)]
fn ceil_i(x: f64) -> i64 {
    let i = x as i64;
    i + i64::from(x > i as f64)
}

/// Leaves per degree at a tile level.
#[inline]
fn scale(level: u32) -> (f64, f64) {
    let n = (1u64 << level) as f64;
    (TX * n, TY * n)
}

/// True when a hazard with this covering box is kept out of the grid: its box meets more than
/// `MAX_TILES` tiles, or is not finite.
pub fn is_big(b: Rect<f64>) -> bool {
    let finite = [b.min().x, b.min().y, b.max().x, b.max().y]
        .iter()
        .all(|v| v.is_finite() && v.abs() <= 1000.0);
    if !finite {
        return true;
    }
    let (x0, x1) = cells_meeting(b.min().x, b.max().x, TX);
    let (y0, y1) = cells_meeting(b.min().y, b.max().y, TY);
    (x1 - x0 + 1).saturating_mul(y1 - y0 + 1) > MAX_TILES
}

/// Rings of a polygon shape: exteriors and holes of every part.
fn rings(shape: &Shape) -> impl Iterator<Item = &LineString<f64>> + Clone {
    let parts: &[geo_types::Polygon<f64>] = match shape {
        Shape::Polygon(p) => std::slice::from_ref(p),
        Shape::MultiPolygon(m) => &m.0,
        _ => &[],
    };
    parts
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
}

/// Half a track's width in degrees of latitude and longitude, surely covering it.
fn track_margin(s: &Source<'_>) -> (f64, f64) {
    match &*s.hazard.shape {
        Shape::Linear { width_m, .. } => geodesy::degrees_covering(
            width_m / 2.0,
            s.bbox.max().y.abs().max(s.bbox.min().y.abs()),
        ),
        _ => (0.0, 0.0),
    }
}

/// Buffers one thread reuses while building tiles.
#[derive(Default)]
struct TileScratch {
    /// (leaf, cover word), in the order made (by slot).
    covers: Vec<(u32, u64)>,
    /// (leaf, run word, first word in `words`).
    runs: Vec<(u32, u64, u32)>,
    /// The runs' vertices (and radii), as words.
    words: Vec<u64>,
    /// Edge incidences: leaf << 52 | ring << 32 | edge.
    inc: Vec<u64>,
    /// Edges straddling a row's bottom: (row, min longitude × leaves per degree).
    east: Vec<(u32, f64)>,
    p0: Vec<bool>,
    has_runs: Vec<bool>,
    count: Vec<u32>,
    /// Runs of one ring in one leaf: (first edge, edges).
    ring_runs: Vec<(usize, usize)>,
}

impl TileScratch {
    fn clear(&mut self) {
        self.covers.clear();
        self.runs.clear();
        self.words.clear();
    }

    fn push_run(&mut self, leaf: u32, word: u64, pts: impl Iterator<Item = Coord<f64>>) {
        let at = self.words.len() as u32;
        for c in pts {
            self.words.push(c.x.to_bits());
            self.words.push(c.y.to_bits());
        }
        self.runs.push((leaf, word, at));
    }
}

/// A hazard's edges as `choose_level` counts them, worked out once per hazard rather than once per
/// tile it meets: how many, and their boxes' mean width and height in tiles (each at most one).
#[derive(Clone, Copy, Debug, Default)]
pub struct EdgeStats {
    n: f64,
    w: f64,
    h: f64,
}

/// The `EdgeStats` of a hazard.
pub fn edge_stats(s: &Source<'_>) -> EdgeStats {
    let (mut n, mut w, mut h) = (0.0f64, 0.0f64, 0.0f64);
    let mut add = |lo_x: f64, lo_y: f64, hi_x: f64, hi_y: f64| {
        n += 1.0;
        w += ((hi_x - lo_x) * TX).min(1.0);
        h += ((hi_y - lo_y) * TY).min(1.0);
    };
    match &*s.hazard.shape {
        Shape::Polygon(_) | Shape::MultiPolygon(_) => {
            for ring in rings(&s.hazard.shape) {
                for e in ring.0.windows(2) {
                    add(
                        e[0].x.min(e[1].x),
                        e[0].y.min(e[1].y),
                        e[0].x.max(e[1].x),
                        e[0].y.max(e[1].y),
                    );
                }
            }
        }
        Shape::Linear { line, .. } => {
            let (dlat, dlon) = track_margin(s);
            for e in line.0.windows(2) {
                add(
                    e[0].x.min(e[1].x) - dlon,
                    e[0].y.min(e[1].y) - dlat,
                    e[0].x.max(e[1].x) + dlon,
                    e[0].y.max(e[1].y) + dlat,
                );
            }
        }
        Shape::Spot { .. } => add(
            s.bbox.min().x,
            s.bbox.min().y,
            s.bbox.max().x,
            s.bbox.max().y,
        ),
    }
    if n > 0.0 {
        EdgeStats {
            n,
            w: w / n,
            h: h / n,
        }
    } else {
        EdgeStats::default()
    }
}

/// The level for a tile: the coarsest at which the leaves its hazards' edges meet average at most
/// `TARGET_EDGES` a leaf, estimated from each hazard's `EdgeStats` and the share of its box that
/// lies in the tile (its edges taken as spread evenly over its box). A poor estimate costs speed
/// or memory, never an answer.
fn choose_level(ix: i64, iy: i64, sources: &[(&Source<'_>, EdgeStats)]) -> u32 {
    let tile = [
        border(ix, TX),
        border(iy, TY),
        border(ix + 1, TX),
        border(iy + 1, TY),
    ];
    // Σ n, Σ n·(w + h), Σ n·w·h over the hazards' edges in the tile.
    let mut sums = [0.0f64; 3];
    for (s, e) in sources {
        let b = s.bbox;
        let share = |lo: f64, hi: f64, t0: f64, t1: f64| {
            if hi > lo {
                ((hi.min(t1) - lo.max(t0)) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                1.0
            }
        };
        let f = share(b.min().x, b.max().x, tile[0], tile[2])
            * share(b.min().y, b.max().y, tile[1], tile[3]);
        let n = e.n * f;
        sums[0] += n;
        sums[1] += n * (e.w + e.h);
        sums[2] += n * e.w * e.h;
    }
    (0..=MAX_LEVEL)
        .find(|&l| {
            let n = f64::from(1u32 << l);
            let estimate = sums[0] + n * sums[1] + n * n * sums[2];
            estimate <= TARGET_EDGES * n * n
        })
        .unwrap_or(MAX_LEVEL)
}

/// Pushes runs of `len` vertices `pts(0..len)`, cut at `MAX_RUN`, flagged `flags` (the first
/// only keeps P0; pieces of a cut ring are not closed).
fn push_runs(
    sc: &mut TileScratch,
    leaf: u32,
    head: (u32, u8, u8),
    mut flags: u64,
    prefix: Option<Coord<f64>>,
    len: usize,
    pts: impl Fn(usize) -> Coord<f64>,
) {
    let room = MAX_RUN - usize::from(prefix.is_some());
    if len > room {
        flags &= !CLOSED;
    }
    let mut from = 0;
    loop {
        // Each piece repeats the previous piece's last vertex.
        let to = (from + room).min(len);
        let n = to - from + usize::from(prefix.is_some());
        let word = run_word(head.0, head.1, head.2, flags, n);
        sc.push_run(leaf, word, prefix.into_iter().chain((from..to).map(&pts)));
        flags &= !P0;
        if to >= len {
            break;
        }
        from = to - 1;
    }
}

/// A hazard's entries in the tile (ix, iy) cut at `level`, into `sc` (leaf numbers within the
/// tile, row by row).
fn emit(ix: i64, iy: i64, level: u32, s: &Source<'_>, sc: &mut TileScratch) {
    let n = 1i64 << level;
    let (sx, sy) = scale(level);
    let (gx0, gy0) = (ix * n, iy * n);
    let h = s.hazard;
    let head = (s.slot, h.status as u8, h.categories);
    let clamp_cols = |(a, b): (i64, i64)| (a.max(gx0), b.min(gx0 + n - 1));
    let clamp_rows = |(a, b): (i64, i64)| (a.max(gy0), b.min(gy0 + n - 1));
    let leaf_of = |gx: i64, gy: i64| ((gy - gy0) * n + (gx - gx0)) as u32;
    let b = s.bbox;
    let (c0, c1) = clamp_cols(cells_meeting(b.min().x, b.max().x, sx));
    let (r0, r1) = clamp_rows(cells_meeting(b.min().y, b.max().y, sy));
    if c0 > c1 || r0 > r1 {
        return;
    }
    match &*h.shape {
        Shape::Spot { at, radius_m } => {
            for gy in r0..=r1 {
                for gx in c0..=c1 {
                    let radius = Coord {
                        x: *radius_m,
                        y: 0.0,
                    };
                    push_runs(sc, leaf_of(gx, gy), head, SPOT, Some(radius), 1, |_| at.0);
                }
            }
        }
        Shape::Linear { line, width_m } => {
            let (dlat, dlon) = track_margin(s);
            let pts = &line.0;
            if pts.is_empty() {
                return;
            }
            sc.inc.clear();
            // A one-point track is one degenerate edge.
            let n_edges = pts.len().saturating_sub(1).max(1);
            for e in 0..n_edges {
                let (a, b) = (pts[e], pts[(e + 1).min(pts.len() - 1)]);
                let (ec0, ec1) =
                    clamp_cols(cells_meeting(a.x.min(b.x) - dlon, a.x.max(b.x) + dlon, sx));
                let (er0, er1) =
                    clamp_rows(cells_meeting(a.y.min(b.y) - dlat, a.y.max(b.y) + dlat, sy));
                for gy in er0..=er1 {
                    for gx in ec0..=ec1 {
                        sc.inc.push(u64::from(leaf_of(gx, gy)) << 52 | e as u64);
                    }
                }
            }
            sc.inc.sort_unstable();
            let radius = Coord {
                x: width_m / 2.0,
                y: 0.0,
            };
            let mut i = 0;
            while i < sc.inc.len() {
                let leaf = (sc.inc[i] >> 52) as u32;
                let first = (sc.inc[i] & 0xffff_ffff) as usize;
                let mut last = first;
                let mut j = i + 1;
                while j < sc.inc.len()
                    && (sc.inc[j] >> 52) as u32 == leaf
                    && (sc.inc[j] & 0xffff_ffff) as usize == last + 1
                {
                    last += 1;
                    j += 1;
                }
                let end = (last + 1).min(pts.len() - 1);
                push_runs(sc, leaf, head, LINE, Some(radius), end - first + 1, |k| {
                    pts[first + k]
                });
                i = j;
            }
        }
        Shape::Polygon(_) | Shape::MultiPolygon(_) => {
            let rings = rings(&h.shape);
            let cols = (c1 - c0 + 1) as usize;
            let rows = (r1 - r0 + 1) as usize;
            sc.inc.clear();
            sc.east.clear();
            // The tile's extent: an edge below, above or west of it adds nothing here.
            let (tx0, ty0, ty1) = (border(ix, TX), border(iy, TY), border(iy + 1, TY));
            for (k, ring) in rings.clone().enumerate() {
                for (e, w) in ring.0.windows(2).enumerate() {
                    let (a, b) = (w[0], w[1]);
                    let (lo_y, hi_y) = (a.y.min(b.y), a.y.max(b.y));
                    let (lo_x, hi_x) = (a.x.min(b.x), a.x.max(b.x));
                    if hi_y < ty0 || lo_y > ty1 || hi_x < tx0 {
                        continue;
                    }
                    let (ec0, ec1) = clamp_cols(cells_meeting(lo_x, hi_x, sx));
                    let (er0, er1) = clamp_rows(cells_meeting(lo_y, hi_y, sy));
                    for gy in er0..=er1 {
                        for gx in ec0..=ec1 {
                            sc.inc.push(
                                u64::from(leaf_of(gx, gy)) << 52 | (k as u64) << 32 | e as u64,
                            );
                        }
                    }
                    // Rows whose bottom y0 = gy / sy satisfies lo_y <= y0 < hi_y: the edge
                    // straddles it.
                    let first = ceil_i(lo_y * sy).max(r0);
                    let last = (ceil_i(hi_y * sy) - 1).min(r1);
                    let minx = lo_x * sx;
                    for gy in first..=last {
                        sc.east.push(((gy - r0) as u32, minx));
                    }
                }
            }
            sc.inc.sort_unstable();
            sc.east
                .sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            // P0 of every leaf of the hazard's box in this tile: per row, the parity of the
            // straddling edges with min x * sx > gx + 1, the leaf's east border.
            sc.p0.clear();
            sc.p0.resize(cols * rows, false);
            sc.has_runs.clear();
            sc.has_runs.resize(cols * rows, false);
            let mut i = 0;
            while i < sc.east.len() {
                let r = sc.east[i].0 as usize;
                let mut j = i;
                while j < sc.east.len() && sc.east[j].0 as usize == r {
                    j += 1;
                }
                let xs = &sc.east[i..j];
                let mut k = xs.len();
                for gx in (c0..=c1).rev() {
                    let x1 = (gx + 1) as f64;
                    while k > 0 && xs[k - 1].1 > x1 {
                        k -= 1;
                    }
                    sc.p0[r * cols + (gx - c0) as usize] = (xs.len() - k) % 2 == 1;
                }
                i = j;
            }
            // Runs per leaf, per ring.
            let mut i = 0;
            while i < sc.inc.len() {
                let leaf = (sc.inc[i] >> 52) as u32;
                let (gx, gy) = (gx0 + i64::from(leaf) % n, gy0 + i64::from(leaf) / n);
                let cell = ((gy - r0) as usize) * cols + (gx - c0) as usize;
                sc.has_runs[cell] = true;
                let mut first_run = true;
                let mut j = i;
                while j < sc.inc.len() && (sc.inc[j] >> 52) as u32 == leaf {
                    let ring_i = ((sc.inc[j] >> 32) & 0xf_ffff) as usize;
                    let mut end = j;
                    while end < sc.inc.len() && sc.inc[end] >> 32 == sc.inc[j] >> 32 {
                        end += 1;
                    }
                    let ring = &rings.clone().nth(ring_i).expect("an incidence's ring").0;
                    let m = ring.len() - 1;
                    // Maximal runs of consecutive edges, joined round the ring's closing vertex.
                    let edge = |t: usize| (sc.inc[t] & 0xffff_ffff) as usize;
                    let mut runs = std::mem::take(&mut sc.ring_runs);
                    runs.clear();
                    for t in j..end {
                        match runs.last_mut() {
                            Some((s0, len)) if *s0 + *len == edge(t) => *len += 1,
                            _ => runs.push((edge(t), 1)),
                        }
                    }
                    let whole = end - j >= m;
                    if !whole && runs.len() > 1 {
                        let (fs, flen) = runs[0];
                        let (ls, llen) = runs[runs.len() - 1];
                        if fs == 0 && ls + llen == m {
                            runs.pop();
                            runs[0] = (ls, llen + flen);
                        }
                    }
                    if whole {
                        runs.clear();
                        runs.push((0, m));
                    }
                    for &(start, len) in &runs {
                        let mut flags = POLYGON;
                        if whole {
                            flags |= CLOSED;
                        }
                        if first_run && sc.p0[cell] {
                            flags |= P0;
                        }
                        first_run = false;
                        push_runs(sc, leaf, head, flags, None, len + 1, |t| {
                            ring[(start + t) % m]
                        });
                    }
                    sc.ring_runs = runs;
                    j = end;
                }
                i = j;
            }
            for r in 0..rows {
                for c in 0..cols {
                    let cell = r * cols + c;
                    if sc.p0[cell] && !sc.has_runs[cell] {
                        let leaf = leaf_of(c0 + c as i64, r0 + r as i64);
                        sc.covers.push((leaf, cover_word(head.0, head.1, head.2)));
                    }
                }
            }
        }
    }
}

/// Packs the entries in `sc` into the leaves of a tile of `n_leaves` leaves.
fn pack_tile(sc: &mut TileScratch, n_leaves: usize) -> Vec<Leaf> {
    // Words per leaf: header, covers, runs, vertices.
    sc.count.clear();
    sc.count.resize(n_leaves, 0);
    for &(l, _) in &sc.covers {
        sc.count[l as usize] += 1;
    }
    for &(l, w, _) in &sc.runs {
        sc.count[l as usize] += 1 + 2 * w_len(w) as u32;
    }
    let mut out: Vec<Vec<u64>> = sc
        .count
        .iter()
        .map(|&c| {
            if c == 0 {
                Vec::new()
            } else {
                let mut v = Vec::with_capacity(1 + c as usize);
                v.push(0);
                v
            }
        })
        .collect();
    for &(l, w) in &sc.covers {
        let v = &mut out[l as usize];
        v.push(w);
        v[0] += 1;
    }
    for &(l, w, _) in &sc.runs {
        let v = &mut out[l as usize];
        v.push(w);
        v[0] += 1 << 32;
    }
    for &(l, w, at) in &sc.runs {
        let at = at as usize;
        out[l as usize].extend_from_slice(&sc.words[at..at + 2 * w_len(w)]);
    }
    out.into_iter()
        .map(|v| (!v.is_empty()).then(|| v.into_boxed_slice()))
        .collect()
}

/// Builds one tile from the hazards whose boxes meet it, sorted by slot, with their `EdgeStats`.
fn build_tile(
    k: u64,
    sources: &[(&Source<'_>, EdgeStats)],
    sc: &mut TileScratch,
) -> (u32, Vec<Leaf>) {
    let (ix, iy) = unkey(k);
    let level = choose_level(ix, iy, sources);
    sc.clear();
    for (s, _) in sources {
        emit(ix, iy, level, s, sc);
    }
    (level, pack_tile(sc, 1 << (2 * level)))
}

/// What a place check found in the grid.
#[derive(Default, Debug)]
pub struct Found {
    /// (slot, status, categories) of each hazard containing the place.
    pub inside: Vec<(u32, Status, u8)>,
    /// (slot, status, categories, distance, bearing) of each hazard not containing the place, within the accuracy.
    pub within: Vec<(u32, Status, u8, f64, f64)>,
}

/// The nearest hazard as the grid finds it.
#[derive(Debug, PartialEq)]
pub enum Nearest {
    /// (slot, status, metres, bearing).
    Found(u32, Status, u8, f64, f64),
    /// No admitted hazard within the limit.
    NoneWithin,
    /// The grid cannot say here: ask the R-tree.
    Unknown,
}

/// A candidate closest point: slot, status, squared planar distance, the point, radius, polygon,
/// categories.
type Foot = (u32, u8, f64, Coord<f64>, f64, bool, u8);

/// Buffers a place check reuses.
#[derive(Default)]
struct Scratch {
    feet: Vec<Foot>,
    heap: std::collections::BinaryHeap<Visit>,
}

/// A block of tiles (`BLOCK_ITEM` | block index), a tile (window index) or a leaf (`LEAF_ITEM` |
/// leaf table index) to visit, by a lower bound
/// on its distance; the heap pops the nearest first.
struct Visit(f64, u64);

const LEAF_ITEM: u64 = 1 << 63;
const BLOCK_ITEM: u64 = 1 << 62;

impl PartialEq for Visit {
    fn eq(&self, o: &Visit) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl Eq for Visit {}
impl PartialOrd for Visit {
    fn partial_cmp(&self, o: &Visit) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Visit {
    fn cmp(&self, o: &Visit) -> std::cmp::Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fn status_of(s: u8) -> Status {
    Status::ALL[usize::from(s).min(Status::ALL.len() - 1)].0
}

/// Walks the runs of a leaf that `skip` and `filter` admit, in `plane`: for each edge (or a run's
/// lone point) calls `visit` with the run word, its radius, the squared planar distance from the
/// plane's origin to the edge's foot, and the foot on the ground.
#[inline(always)]
fn walk_feet(
    v: LeafView<'_>,
    plane: &LocalPlane,
    filter: &Filter,
    skip: impl Fn(u32, u64) -> bool,
    mut visit: impl FnMut(u64, f64, f64, Coord<f64>),
) {
    let mut at = 0usize;
    for &r in v.runs {
        let len = w_len(r);
        let pts = &v.vertices[at..at + 2 * len];
        at += 2 * len;
        let kind = w_flags(r) & 3;
        if skip(w_slot(r), kind) || !filter.admits_parts(status_of(w_status(r)), w_cats(r)) {
            continue;
        }
        let (radius, from) = if kind == POLYGON {
            (0.0, 0)
        } else {
            (f64::from_bits(pts[0]), 1)
        };
        let mut a = vertex_at(pts, from);
        let mut pa = plane.project(a);
        if len - from == 1 {
            visit(r, radius, pa.x * pa.x + pa.y * pa.y, a);
            continue;
        }
        for t in from + 1..len {
            let b = vertex_at(pts, t);
            let pb = plane.project(b);
            let (d2, f) = foot2(pa, pb);
            visit(r, radius, d2, lerp(a, b, f));
            (a, pa) = (b, pb);
        }
    }
}

/// The foot of run `r` at squared planar distance `d2`, at `c` on the ground.
#[inline(always)]
fn foot(r: u64, radius: f64, d2: f64, c: Coord<f64>) -> Foot {
    (
        w_slot(r),
        w_status(r),
        d2,
        c,
        radius,
        w_flags(r) & 3 == POLYGON,
        w_cats(r),
    )
}

/// Collects the feet of a leaf's runs that may lie within `reach` metres of the plane's origin
/// (plus each run's radius), skipping what `skip` refuses.
#[inline]
fn leaf_feet(
    v: LeafView<'_>,
    plane: &LocalPlane,
    reach: f64,
    filter: &Filter,
    skip: impl Fn(u32, u64) -> bool,
    feet: &mut Vec<Foot>,
) {
    walk_feet(v, plane, filter, skip, |r, radius, d2, c| {
        // Planar distances beyond this cannot be within reach.
        let limit = (reach + radius + 1.0) * 1.02;
        if d2 <= limit * limit {
            feet.push(foot(r, radius, d2, c));
        }
    });
}

/// Collects the feet of a leaf's open hazards that may beat `best` (an upper bound in metres on
/// the nearest one's distance), tightening it as they come: a geodesic distance differs from the
/// plane's by at most the plane's slack.
#[inline]
fn nearest_feet(
    v: LeafView<'_>,
    plane: &LocalPlane,
    filter: &Filter,
    best: &mut f64,
    feet: &mut Vec<Foot>,
) {
    walk_feet(
        v,
        plane,
        filter,
        |_, _| false,
        |r, radius, d2, c| {
            let d = d2.sqrt();
            let slack = plane.slack(d);
            if d - slack - radius <= *best {
                *best = best.min(d + slack - radius);
                feet.push(foot(r, radius, d2, c));
            }
        },
    );
}

/// Whether `q` lies in the polygon whose runs in leaf `v` are `runs` (their vertices starting at
/// word `at`), the leaf's east border being `x1` and its bottom `y0`: the parity of the header.
fn polygon_contains(
    v: &LeafView<'_>,
    runs: std::ops::Range<usize>,
    at: usize,
    q: Coord<f64>,
    x1: f64,
    y0: f64,
) -> bool {
    let mut parity = false;
    let mut off = at;
    for &rk in &v.runs[runs] {
        let len = w_len(rk);
        let pts = &v.vertices[off..off + 2 * len];
        off += 2 * len;
        parity ^= w_flags(rk) & P0 != 0;
        let mut a = vertex_at(pts, 0);
        for t in 1..len {
            let b = vertex_at(pts, t);
            // Only edges straddling q's latitude, or level with it, matter.
            if (a.y > q.y) != (b.y > q.y) || a.y == q.y {
                match crossing(a, b, q) {
                    // On the boundary: inside.
                    None => return true,
                    Some(c) => parity ^= c,
                }
            }
            a = b;
        }
        if w_flags(rk) & CLOSED == 0 {
            for e in [vertex_at(pts, 0), a] {
                if e.x > x1 && e.y > y0 && e.y <= q.y {
                    parity = !parity;
                }
            }
        }
    }
    parity
}

impl Grid {
    /// Builds the grid over hazards, on up to `threads` threads.
    pub fn build(sources: &[Source<'_>], threads: usize) -> Grid {
        let mut grid = Grid {
            window: window_for(sources),
            ..Grid::default()
        };
        // (tile key, source index), for the hazards the grid holds.
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(sources.len() * 3);
        for (i, s) in sources.iter().enumerate() {
            if is_big(s.bbox) {
                grid.big.push(s.slot);
                continue;
            }
            let b = s.bbox;
            let (x0, x1) = cells_meeting(b.min().x, b.max().x, TX);
            let (y0, y1) = cells_meeting(b.min().y, b.max().y, TY);
            for iy in y0..=y1 {
                for ix in x0..=x1 {
                    pairs.push((tile_order(ix, iy), i as u32));
                }
            }
        }
        // Tiles in Hilbert order, so that the tiles a thread builds one after another share
        // most of their hazards while those are still in cache.
        pairs.sort_unstable();
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut i = 0;
        while i < pairs.len() {
            let mut j = i;
            while j < pairs.len() && pairs[j].0 == pairs[i].0 {
                j += 1;
            }
            groups.push((i, j));
            i = j;
        }
        let threads = threads.max(1);
        // Each hazard's edge statistics, once, on every thread.
        let stats: Vec<EdgeStats> = std::thread::scope(|scope| {
            let chunk = sources.len().div_ceil(threads).max(1);
            let handles: Vec<_> = sources
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(edge_stats).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a grid thread panicked"))
                .collect()
        });
        let next = std::sync::atomic::AtomicUsize::new(0);
        const CHUNK: usize = 256;
        let built: Vec<Vec<(usize, u32, Vec<Leaf>)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (pairs, groups, next, stats) = (&pairs, &groups, &next, &stats);
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        let mut sc = TileScratch::default();
                        let mut srcs: Vec<(&Source<'_>, EdgeStats)> = Vec::new();
                        loop {
                            let g = next.fetch_add(CHUNK, std::sync::atomic::Ordering::Relaxed);
                            if g >= groups.len() {
                                break;
                            }
                            for (gi, &(a, b)) in
                                groups[g..(g + CHUNK).min(groups.len())].iter().enumerate()
                            {
                                srcs.clear();
                                srcs.extend(
                                    pairs[a..b]
                                        .iter()
                                        .map(|p| (&sources[p.1 as usize], stats[p.1 as usize])),
                                );
                                let (ix, iy) = tile_of_order(pairs[a].0);
                                let (level, leaves) = build_tile(key(ix, iy), &srcs, &mut sc);
                                out.push((g + gi, level, leaves));
                            }
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a grid thread panicked"))
                .collect()
        });
        let mut built: Vec<(usize, u32, Vec<Leaf>)> = built.into_iter().flatten().collect();
        built.sort_unstable_by_key(|b| b.0);
        let win = grid.window;
        grid.dense = vec![0; (win.w * win.h) as usize];
        grid.leaves
            .reserve(built.iter().map(|b| b.2.len()).sum::<usize>());
        for (g, level, leaves) in built {
            let value = tile_value(grid.leaves.len(), level);
            grid.leaves.extend(leaves);
            let (ix, iy) = tile_of_order(pairs[groups[g].0].0);
            grid.set_tile(key(ix, iy), value);
        }
        grid.build_sites(sources);
        grid
    }

    fn set_tile(&mut self, k: u64, value: u64) {
        let (ix, iy) = unkey(k);
        match self.window.index(ix, iy) {
            Some(i) => self.dense[i] = value,
            None if value == 0 => {
                self.sparse.remove(&k);
            }
            None => {
                self.sparse.insert(k, value);
            }
        }
    }

    #[inline]
    fn tile(&self, ix: i64, iy: i64) -> Option<(usize, u32)> {
        match self.window.index(ix, iy) {
            Some(i) => tile_parts(self.dense[i]),
            None => self.sparse.get(&key(ix, iy)).and_then(|&v| tile_parts(v)),
        }
    }

    /// The open-hazard counts and the site map, from scratch.
    fn build_sites(&mut self, sources: &[Source<'_>]) {
        let win = self.window;
        let n = (win.w * win.h) as usize;
        self.open = vec![0; n];
        self.open_blocks = vec![0; (win.blocks_w() * ((win.h + BLOCK - 1) / BLOCK)) as usize];
        self.sites = vec![
            Site {
                slot: NO_SITE,
                bound_m: f32::INFINITY,
                bbox: NO_BOX,
            };
            n
        ];
        if n == 0 {
            return;
        }
        let open = Filter::default();
        let planes: Vec<LocalPlane> = (0..win.h).map(|y| self.row_plane(y)).collect();
        for s in sources {
            if !open.admits(s.hazard) || is_big(s.bbox) {
                continue;
            }
            self.count_open(s.slot, s.bbox, 1);
            // Each tile the hazard's box meets takes it as a site when it is the best there.
            let (x0, x1) = cells_meeting(s.bbox.min().x, s.bbox.max().x, TX);
            let (y0, y1) = cells_meeting(s.bbox.min().y, s.bbox.max().y, TY);
            for iy in y0..=y1 {
                for ix in x0..=x1 {
                    if let Some(i) = win.index(ix, iy) {
                        let plane = planes[(iy - win.iy0) as usize];
                        self.offer_site(i, s.slot, s.bbox, &plane);
                    }
                }
            }
        }
        // Which tiles have an open hazard's tile within the reach box: a prefix sum of occupancy.
        let (w, h) = (win.w as usize, win.h as usize);
        let mut sum = vec![0u32; (w + 1) * (h + 1)];
        for y in 0..h {
            for x in 0..w {
                let o = u32::from(self.open[y * w + x] > 0);
                sum[(y + 1) * (w + 1) + x + 1] =
                    o + sum[y * (w + 1) + x + 1] + sum[(y + 1) * (w + 1) + x]
                        - sum[y * (w + 1) + x];
            }
        }
        let reached = |x: usize, y: usize| {
            let (x0, x1) = (
                x.saturating_sub(win.kx as usize),
                (x + win.kx as usize + 1).min(w),
            );
            let (y0, y1) = (
                y.saturating_sub(win.ky as usize),
                (y + win.ky as usize + 1).min(h),
            );
            // The rectangle's count, rearranged to stay in unsigned arithmetic: non-zero.
            sum[y1 * (w + 1) + x1] + sum[y0 * (w + 1) + x0]
                != sum[y0 * (w + 1) + x1] + sum[y1 * (w + 1) + x0]
        };
        // Two passes spread each site to the neighbours it serves better (a chamfer sweep); every
        // bound stays a true bound, as each is measured from the hazard's own box.
        let offer = |grid: &mut Grid, i: usize, from: usize| {
            let s = grid.sites[from];
            if s.slot < UNKNOWN_SITE {
                // The box as the site holds it, rounded outwards: a bound from it is still one.
                let [x0, y0, x1, y1] = s.bbox.map(f64::from);
                let b = Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 });
                grid.offer_site(i, s.slot, b, &planes[i / w]);
            }
        };
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if x > 0 {
                    offer(self, i, i - 1);
                }
                if y > 0 {
                    offer(self, i, i - w);
                    if x > 0 {
                        offer(self, i, i - w - 1);
                    }
                    if x + 1 < w {
                        offer(self, i, i - w + 1);
                    }
                }
            }
        }
        for y in (0..h).rev() {
            for x in (0..w).rev() {
                let i = y * w + x;
                if x + 1 < w {
                    offer(self, i, i + 1);
                }
                if y + 1 < h {
                    offer(self, i, i + w);
                    if x + 1 < w {
                        offer(self, i, i + w + 1);
                    }
                    if x > 0 {
                        offer(self, i, i + w - 1);
                    }
                }
            }
        }
        for y in 0..h {
            for x in 0..w {
                if !reached(x, y) {
                    self.sites[y * w + x] = Site {
                        slot: NO_SITE,
                        bound_m: f32::INFINITY,
                        bbox: NO_BOX,
                    };
                }
            }
        }
    }

    /// The plane in which `offer_site` measures the tiles of window row `y`.
    fn row_plane(&self, y: i64) -> LocalPlane {
        let iy = self.window.iy0 + y;
        LocalPlane::at(Coord {
            x: 0.0,
            y: (border(iy, TY) + border(iy + 1, TY)) / 2.0,
        })
    }

    /// Adds `by` to the open counts of the window tiles an open hazard's box meets, and keeps the
    /// list of open hazards reaching outside the window.
    fn count_open(&mut self, slot: u32, b: Rect<f64>, by: i32) {
        let win = self.window;
        let (x0, x1) = cells_meeting(b.min().x, b.max().x, TX);
        let (y0, y1) = cells_meeting(b.min().y, b.max().y, TY);
        if win.index(x0, y0).is_none() || win.index(x1, y1).is_none() {
            if by > 0 {
                self.outside.push((slot, b));
            } else if let Some(p) = self.outside.iter().position(|o| o.0 == slot) {
                self.outside.swap_remove(p);
            }
        }
        for iy in y0..=y1 {
            for ix in x0..=x1 {
                if let Some(i) = win.index(ix, iy) {
                    self.open[i] = self.open[i].wrapping_add_signed(by);
                    let bi = win.block_of(i);
                    self.open_blocks[bi] = self.open_blocks[bi].wrapping_add_signed(by);
                }
            }
        }
    }

    /// Makes `slot` (with box `b`) the site of window tile `i` when it bounds the tile better.
    fn offer_site(&mut self, i: usize, slot: u32, b: Rect<f64>, plane: &LocalPlane) {
        let win = self.window;
        let (ix, iy) = (win.ix0 + i as i64 % win.w, win.iy0 + i as i64 / win.w);
        let t = [
            border(ix, TX),
            border(iy, TY),
            border(ix + 1, TX),
            border(iy + 1, TY),
        ];
        // Any point of the tile is within this of any point of the hazard's box: the farthest
        // pair of corners, measured in a plane at the tile's row (`row_plane`) with a margin for
        // its scale.
        let lo = plane.project(Coord {
            x: t[0].min(b.min().x),
            y: t[1].min(b.min().y),
        });
        let hi = plane.project(Coord {
            x: t[2].max(b.max().x),
            y: t[3].max(b.max().y),
        });
        let (dx, dy) = (hi.x - lo.x, hi.y - lo.y);
        let bound = ((dx * dx + dy * dy).sqrt() * 1.02 + 1.0) as f32;
        let site = &mut self.sites[i];
        if site.slot >= UNKNOWN_SITE || bound < site.bound_m {
            *site = Site {
                slot,
                bound_m: bound,
                bbox: [
                    f32_outward(b.min().x, true),
                    f32_outward(b.min().y, true),
                    f32_outward(b.max().x, false),
                    f32_outward(b.max().y, false),
                ],
            };
        }
    }

    /// Adds a hazard (its slot must not be in the grid already). `around` gives every hazard
    /// whose box meets a box, this one included, for cutting a tile finer when it has grown.
    pub fn insert<'h>(&mut self, s: &Source<'_>, around: impl Fn(Rect<f64>) -> Vec<Source<'h>>) {
        if is_big(s.bbox) {
            self.big.push(s.slot);
            return;
        }
        let b = s.bbox;
        let (x0, x1) = cells_meeting(b.min().x, b.max().x, TX);
        let (y0, y1) = cells_meeting(b.min().y, b.max().y, TY);
        let mut sc = TileScratch::default();
        for iy in y0..=y1 {
            for ix in x0..=x1 {
                let k = key(ix, iy);
                let (base, level) = match self.tile(ix, iy) {
                    Some(t) => t,
                    None => {
                        let base = self.leaves.len();
                        self.leaves.push(None);
                        self.set_tile(k, tile_value(base, 0));
                        (base, 0)
                    }
                };
                sc.clear();
                emit(ix, iy, level, s, &mut sc);
                self.merge(base, s.slot, &mut sc);
                if self.overfull(base, level) {
                    // Cut the tile finer, from the hazards now in it.
                    let tb = Rect::new(
                        Coord {
                            x: border(ix, TX),
                            y: border(iy, TY),
                        },
                        Coord {
                            x: border(ix + 1, TX),
                            y: border(iy + 1, TY),
                        },
                    );
                    let mut owned = around(tb);
                    owned.retain(|o| !is_big(o.bbox));
                    owned.sort_by_key(|o| o.slot);
                    let refs: Vec<(&Source<'_>, EdgeStats)> =
                        owned.iter().map(|o| (o, edge_stats(o))).collect();
                    let (new_level, leaves) = build_tile(k, &refs, &mut sc);
                    for l in &mut self.leaves[base..base + (1 << (2 * level))] {
                        *l = None;
                    }
                    let new_base = self.leaves.len();
                    self.leaves.extend(leaves);
                    self.set_tile(k, tile_value(new_base, new_level));
                }
            }
        }
        if Filter::default().admits(s.hazard) && !self.sites.is_empty() {
            self.count_open(s.slot, b, 1);
            // Tiles that had no site within reach, or an unknown one, take this hazard.
            let win = self.window;
            for iy in (y0 - win.ky).max(win.iy0)..=(y1 + win.ky).min(win.iy0 + win.h - 1) {
                for ix in (x0 - win.kx).max(win.ix0)..=(x1 + win.kx).min(win.ix0 + win.w - 1) {
                    if let Some(i) = win.index(ix, iy) {
                        let near = (x0..=x1).contains(&ix) && (y0..=y1).contains(&iy);
                        if near || self.sites[i].slot >= UNKNOWN_SITE {
                            let plane = self.row_plane(iy - win.iy0);
                            self.offer_site(i, s.slot, b, &plane);
                        }
                    }
                }
            }
        }
    }

    /// Adds one hazard's entries in `sc` (all of slot `slot`) to the leaves of the tile starting
    /// at `base`: covers and runs sorted by leaf (stably, so the hazard's runs keep their order),
    /// then each leaf rewritten once with its share.
    fn merge(&mut self, base: usize, slot: u32, sc: &mut TileScratch) {
        sc.covers.sort_by_key(|c| c.0);
        sc.runs.sort_by_key(|r| r.0);
        let (mut i, mut j) = (0, 0);
        let mut covers: Vec<u64> = Vec::new();
        let mut runs: Vec<(u64, &[u64])> = Vec::new();
        while i < sc.covers.len() || j < sc.runs.len() {
            let l = match (sc.covers.get(i), sc.runs.get(j)) {
                (Some(c), Some(r)) => c.0.min(r.0),
                (Some(c), None) => c.0,
                (None, Some(r)) => r.0,
                (None, None) => break,
            };
            covers.clear();
            runs.clear();
            while let Some(&(_, c)) = sc.covers.get(i).filter(|c| c.0 == l) {
                covers.push(c);
                i += 1;
            }
            while let Some(&(_, w, at)) = sc.runs.get(j).filter(|r| r.0 == l) {
                let at = at as usize;
                runs.push((w, &sc.words[at..at + 2 * w_len(w)]));
                j += 1;
            }
            let leaf = &mut self.leaves[base + l as usize];
            *leaf = leaf_with(leaf.as_deref(), slot, &covers, &runs);
        }
    }

    /// True when some leaf of the tile holds far more than a tile's level aims at (as writes into
    /// a tile cut coarsely at build can make it).
    fn overfull(&self, base: usize, level: u32) -> bool {
        level < MAX_LEVEL
            && self.leaves[base..base + (1 << (2 * level))]
                .iter()
                .flatten()
                .any(|w| {
                    let v = LeafView::new(w);
                    v.vertices.len() as f64 > 16.0 * TARGET_EDGES
                })
    }

    /// Removes a hazard's entries, given it as it was inserted.
    pub fn remove(&mut self, s: &Source<'_>) {
        let (slot, bbox) = (s.slot, s.bbox);
        if let Some(p) = self.big.iter().position(|&b| b == slot) {
            self.big.swap_remove(p);
            return;
        }
        let (x0, x1) = cells_meeting(bbox.min().x, bbox.max().x, TX);
        let (y0, y1) = cells_meeting(bbox.min().y, bbox.max().y, TY);
        for iy in y0..=y1 {
            for ix in x0..=x1 {
                let Some((base, level)) = self.tile(ix, iy) else {
                    continue;
                };
                let n = 1i64 << level;
                let (sx, sy) = scale(level);
                let (c0, c1) = cells_meeting(bbox.min().x, bbox.max().x, sx);
                let (r0, r1) = cells_meeting(bbox.min().y, bbox.max().y, sy);
                for gy in r0.max(iy * n)..=r1.min(iy * n + n - 1) {
                    for gx in c0.max(ix * n)..=c1.min(ix * n + n - 1) {
                        let li = base + ((gy - iy * n) * n + (gx - ix * n)) as usize;
                        if let Some(w) = &self.leaves[li]
                            && let Some(changed) = leaf_without(w, slot)
                        {
                            self.leaves[li] = changed;
                        }
                    }
                }
            }
        }
        if Filter::default().admits(s.hazard) && !self.sites.is_empty() {
            self.count_open(slot, bbox, -1);
            // Sites naming this hazard no longer bound anything.
            let win = self.window;
            for iy in (y0 - win.ky).max(win.iy0)..=(y1 + win.ky).min(win.iy0 + win.h - 1) {
                for ix in (x0 - win.kx).max(win.ix0)..=(x1 + win.kx).min(win.ix0 + win.w - 1) {
                    if let Some(i) = win.index(ix, iy)
                        && self.sites[i].slot == slot
                    {
                        self.sites[i] = Site {
                            slot: UNKNOWN_SITE,
                            bound_m: f32::INFINITY,
                            bbox: NO_BOX,
                        };
                    }
                }
            }
        }
    }

    /// Slots of the hazards kept out of the grid.
    pub fn big(&self) -> &[u32] {
        &self.big
    }

    /// Bytes held: the directory, the site map, the leaf table and the leaves.
    pub fn heap_bytes(&self) -> usize {
        self.dense.capacity() * 8
            + self.sparse.capacity() * 24
            + self.open.capacity() * 4
            + self.open_blocks.capacity() * 4
            + self.sites.capacity() * std::mem::size_of::<Site>()
            + self.leaves.capacity() * std::mem::size_of::<Leaf>()
            + self
                .leaves
                .iter()
                .flatten()
                .map(|l| l.len() * 8 + 16)
                .sum::<usize>()
    }

    /// Leaves, vertices and words held, for the memory report.
    pub fn census(&self) -> (usize, usize, usize) {
        let mut n = (0, 0, 0);
        for w in self.leaves.iter().flatten() {
            n.0 += 1;
            n.1 += LeafView::new(w).vertices.len() / 2;
            n.2 += w.len();
        }
        n
    }

    /// True when the box of `accuracy_m` around `q` meets few enough tiles for the grid.
    pub fn suits(&self, q: Coord<f64>, accuracy_m: f64) -> bool {
        let (dlat, dlon) = geodesy::degrees_covering(accuracy_m, q.y);
        let (x0, x1) = cells_meeting(q.x - dlon, q.x + dlon, TX);
        let (y0, y1) = cells_meeting(q.y - dlat, q.y + dlat, TY);
        (x1 - x0 + 1) * (y1 - y0 + 1) <= MAX_BOX_TILES && q.x.is_finite() && q.y.is_finite()
    }

    /// Hazards containing `q` and those within `accuracy_m` of it, among those `filter` admits
    /// (call only where `suits`).
    pub fn check_point(&self, q: Coord<f64>, accuracy_m: f64, filter: &Filter) -> Found {
        let mut found = Found::default();
        let admits = |status: u8, cats: u8| filter.admits_parts(status_of(status), cats);
        // Containment from the place's own leaf.
        let ix = floor_i(q.x * TX);
        let iy = floor_i(q.y * TY);
        if let Some((base, level)) = self.tile(ix, iy) {
            let n = 1i64 << level;
            let (sx, sy) = scale(level);
            let gx = floor_i(q.x * sx);
            let gy = floor_i(q.y * sy);
            let li = base + ((gy - iy * n) * n + (gx - ix * n)) as usize;
            if let Some(w) = &self.leaves[li] {
                let v = LeafView::new(w);
                let x1 = border(gx + 1, sx);
                let y0 = border(gy, sy);
                for &c in v.covers {
                    if admits(w_cover_status(c), w_cats(c)) {
                        found
                            .inside
                            .push((w_slot(c), status_of(w_cover_status(c)), w_cats(c)));
                    }
                }
                let mut at = 0usize;
                let mut i = 0;
                while i < v.runs.len() {
                    let r = v.runs[i];
                    let slot = w_slot(r);
                    let mut j = i + 1;
                    while j < v.runs.len() && w_slot(v.runs[j]) == slot {
                        j += 1;
                    }
                    let words: usize = v.runs[i..j].iter().map(|&w| 2 * w_len(w)).sum();
                    if w_flags(r) & 3 == POLYGON
                        && admits(w_status(r), w_cats(r))
                        && polygon_contains(&v, i..j, at, q, x1, y0)
                    {
                        found.inside.push((slot, status_of(w_status(r)), w_cats(r)));
                    }
                    at += words;
                    i = j;
                }
            }
        }
        found.inside.sort_unstable_by_key(|h| h.0);
        // Distances: every leaf the accuracy box meets.
        let (dlat, dlon) = geodesy::degrees_covering(accuracy_m, q.y);
        let plane = LocalPlane::at(q);
        SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let feet = &mut scratch.feet;
            feet.clear();
            let inside = &found.inside;
            let skip = |slot: u32, kind: u64| {
                kind == POLYGON
                    && (accuracy_m == 0.0 || inside.binary_search_by_key(&slot, |h| h.0).is_ok())
            };
            let (tx0, tx1) = cells_meeting(q.x - dlon, q.x + dlon, TX);
            let (ty0, ty1) = cells_meeting(q.y - dlat, q.y + dlat, TY);
            for tiy in ty0..=ty1 {
                for tix in tx0..=tx1 {
                    let Some((base, level)) = self.tile(tix, tiy) else {
                        continue;
                    };
                    let n = 1i64 << level;
                    let (sx, sy) = scale(level);
                    let (c0, c1) = cells_meeting(q.x - dlon, q.x + dlon, sx);
                    let (r0, r1) = cells_meeting(q.y - dlat, q.y + dlat, sy);
                    for gy in r0.max(tiy * n)..=r1.min(tiy * n + n - 1) {
                        for gx in c0.max(tix * n)..=c1.min(tix * n + n - 1) {
                            let li = base + ((gy - tiy * n) * n + (gx - tix * n)) as usize;
                            if let Some(w) = &self.leaves[li] {
                                leaf_feet(LeafView::new(w), &plane, accuracy_m, filter, skip, feet);
                            }
                        }
                    }
                }
            }
            measure(
                q,
                feet,
                crate::distance::planar_limit2,
                |slot, status, cats, d, bearing, polygon| {
                    if d <= 0.0 && !polygon {
                        found.inside.push((slot, status, cats));
                    } else if d <= accuracy_m {
                        found.within.push((slot, status, cats, d, bearing));
                    }
                },
            );
        });
        found.inside.sort_unstable_by_key(|h| h.0);
        found.inside.dedup_by_key(|h| h.0);
        found
    }

    /// The nearest open hazard to `q` within `SITE_REACH_M`, for the default filter, when the
    /// site map can say; `names` breaks ties between equally near hazards.
    pub fn nearest<'n>(&self, q: Coord<f64>, names: impl Fn(u32) -> &'n str) -> Nearest {
        let ix = floor_i(q.x * TX);
        let iy = floor_i(q.y * TY);
        let win = self.window;
        let Some(ti) = win.index(ix, iy) else {
            return Nearest::Unknown;
        };
        let site = self.sites[ti];
        if site.slot == UNKNOWN_SITE {
            return Nearest::Unknown;
        }
        let filter = Filter::default();
        let plane = LocalPlane::at(q);
        // `best` is an upper bound, in metres, on the nearest open hazard's distance: the site's
        // bound for the tile, or the farthest corner of the site's box from q.
        let mut best = f64::from(site.bound_m).min(SITE_REACH_M);
        if site.slot < UNKNOWN_SITE {
            let [x0, y0, x1, y1] = site.bbox.map(f64::from);
            let far = Coord {
                x: if q.x - x0 > x1 - q.x { x0 } else { x1 },
                y: if q.y - y0 > y1 - q.y { y0 } else { y1 },
            };
            let p = plane.project(far);
            let d = (p.x * p.x + p.y * p.y).sqrt();
            best = best.min(d + plane.slack(d));
        }
        // An open hazard outside the window, within reach, is one the map cannot see.
        let reach = if site.slot == NO_SITE {
            SITE_REACH_M
        } else {
            best
        };
        if self.outside.len() > MAX_OUTSIDE
            || self.outside.iter().any(|&(_, b)| {
                LocalPlane::lower_bound(plane.distance_to_box(b.min(), b.max())) <= reach
            })
        {
            return Nearest::Unknown;
        }
        if site.slot == NO_SITE {
            return Nearest::NoneWithin;
        }
        // A lower bound on the distance to the cells [x, x + span] × [y, y + span] of a grid of
        // sx × sy cells per degree (blocks and tiles of the directory, or a tile's leaves).
        let lb_cells = |x: i64, y: i64, span: i64, sx: f64, sy: f64| {
            let d = plane.distance_to_box(
                Coord {
                    x: border(x, sx),
                    y: border(y, sy),
                },
                Coord {
                    x: border(x + span, sx),
                    y: border(y + span, sy),
                },
            );
            d - plane.slack(d)
        };
        SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let Scratch { feet, heap, .. } = &mut *scratch;
            feet.clear();
            heap.clear();
            // Best first over blocks of tiles, tiles and leaves, by a lower bound on their
            // distance: a block or tile popped is opened into what it holds within the bound, a
            // leaf popped is read; the search ends when the nearest left is beyond the bound.
            let bw = win.blocks_w();
            let bh = (win.h + BLOCK - 1) / BLOCK;
            let range = |best: f64, per_degree_x: f64, per_degree_y: f64| {
                let (dlat, dlon) = geodesy::degrees_covering(best, q.y);
                let (x0, x1) = cells_meeting(q.x - dlon, q.x + dlon, per_degree_x);
                let (y0, y1) = cells_meeting(q.y - dlat, q.y + dlat, per_degree_y);
                (x0, x1, y0, y1)
            };
            let (x0, x1, y0, y1) = range(best, TX, TY);
            let (bx0, bx1) = (
                (x0 - win.ix0).max(0) / BLOCK,
                (x1 - win.ix0).min(win.w - 1) / BLOCK,
            );
            let (by0, by1) = (
                (y0 - win.iy0).max(0) / BLOCK,
                (y1 - win.iy0).min(win.h - 1) / BLOCK,
            );
            for by in by0..=by1.min(bh - 1) {
                for bx in bx0..=bx1.min(bw - 1) {
                    if self.open_blocks[(by * bw + bx) as usize] == 0 {
                        continue;
                    }
                    let (tx, ty) = (win.ix0 + bx * BLOCK, win.iy0 + by * BLOCK);
                    let lb = lb_cells(tx, ty, BLOCK, TX, TY);
                    if lb <= best {
                        heap.push(Visit(lb, BLOCK_ITEM | (by * bw + bx) as u64));
                    }
                }
            }
            while let Some(Visit(lb, item)) = heap.pop() {
                if lb > best {
                    break;
                }
                if item & BLOCK_ITEM != 0 {
                    let bi = (item & !BLOCK_ITEM) as i64;
                    let (bx, by) = (bi % bw, bi / bw);
                    let (x0, x1, y0, y1) = range(best, TX, TY);
                    let xs = (win.ix0 + bx * BLOCK).max(x0)
                        ..=(win.ix0 + bx * BLOCK + BLOCK - 1)
                            .min(x1)
                            .min(win.ix0 + win.w - 1);
                    for ty in (win.iy0 + by * BLOCK).max(y0)
                        ..=(win.iy0 + by * BLOCK + BLOCK - 1)
                            .min(y1)
                            .min(win.iy0 + win.h - 1)
                    {
                        for tx in xs.clone() {
                            let i = ((ty - win.iy0) * win.w + (tx - win.ix0)) as usize;
                            if self.open[i] == 0 {
                                continue;
                            }
                            let lb = lb_cells(tx, ty, 1, TX, TY);
                            if lb <= best {
                                heap.push(Visit(lb, i as u64));
                            }
                        }
                    }
                } else if item & LEAF_ITEM == 0 {
                    let i = item as usize;
                    let (tx, ty) = (win.ix0 + i as i64 % win.w, win.iy0 + i as i64 / win.w);
                    let Some((base, level)) = tile_parts(self.dense[i]) else {
                        continue;
                    };
                    let n = 1i64 << level;
                    let (sx, sy) = scale(level);
                    let (c0, c1, r0, r1) = range(best, sx, sy);
                    for gy in r0.max(ty * n)..=r1.min(ty * n + n - 1) {
                        for gx in c0.max(tx * n)..=c1.min(tx * n + n - 1) {
                            let li = base + ((gy - ty * n) * n + (gx - tx * n)) as usize;
                            if self.leaves[li].is_none() {
                                continue;
                            }
                            let lb = lb_cells(gx, gy, 1, sx, sy);
                            if lb <= best {
                                heap.push(Visit(lb, LEAF_ITEM | li as u64));
                            }
                        }
                    }
                } else if let Some(w) = &self.leaves[(item & !LEAF_ITEM) as usize] {
                    nearest_feet(LeafView::new(w), &plane, &filter, &mut best, feet);
                }
            }
            // Only hazards whose planar best could still beat the bound are measured, and of
            // each only the feet that could beat its own best.
            feet.retain(|f| {
                let d = f.2.sqrt();
                d - plane.slack(d) - f.4 <= best
            });
            let mut answer = Nearest::NoneWithin;
            let mut answer_name: Option<&str> = None;
            let band = |d2: f64| {
                let d = d2.sqrt();
                let l = d + 2.0 * plane.slack(d);
                l * l
            };
            measure(q, feet, band, |slot, status, cats, d, bearing, _| {
                if d > SITE_REACH_M {
                    return;
                }
                let better = match &answer {
                    Nearest::Found(_, _, _, bd, _) => {
                        d < *bd || (d == *bd && Some(names(slot)) < answer_name)
                    }
                    _ => true,
                };
                if better {
                    answer = Nearest::Found(slot, status, cats, d, bearing);
                    answer_name = Some(names(slot));
                }
            });
            answer
        })
    }
}

/// Measures on the ellipsoid, per hazard, every foot within `band` (of squared planar distances)
/// of its planar best, and reports the
/// hazard's distance (less its radius; never below 0) and the bearing to its closest point.
fn measure(
    q: Coord<f64>,
    feet: &mut [Foot],
    band: impl Fn(f64) -> f64,
    mut report: impl FnMut(u32, Status, u8, f64, f64, bool),
) {
    if feet.is_empty() {
        return;
    }
    feet.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
    let mut i = 0;
    while i < feet.len() {
        let slot = feet[i].0;
        let mut j = i;
        while j < feet.len() && feet[j].0 == slot {
            j += 1;
        }
        let limit2 = band(feet[i].2);
        let (mut best, mut bearing) = (f64::INFINITY, 0.0);
        for f in &feet[i..j] {
            if f.2 > limit2 {
                break;
            }
            let (d, az) = geodesy::inverse(q, f.3);
            if d < best {
                (best, bearing) = (d, az);
            }
        }
        let (radius, polygon) = (feet[i].4, feet[i].5);
        let d = (best - radius).max(0.0);
        report(
            slot,
            status_of(feet[i].1),
            feet[i].6,
            d,
            if d == 0.0 && !polygon { 0.0 } else { bearing },
            polygon,
        );
        i = j;
    }
}

/// The window of tiles held densely: round every hazard (or, when that is too wide, the middle
/// 99.8 % of them), widened by the site map's reach, and at most `MAX_WINDOW` tiles.
fn window_for(sources: &[Source<'_>]) -> Window {
    let mut xs: Vec<i64> = Vec::with_capacity(sources.len());
    let mut ys: Vec<i64> = Vec::with_capacity(sources.len());
    for s in sources.iter().filter(|s| !is_big(s.bbox)) {
        let c = s.bbox.center();
        xs.push(floor_i(c.x * TX));
        ys.push(floor_i(c.y * TY));
    }
    if xs.is_empty() {
        return Window::default();
    }
    xs.sort_unstable();
    ys.sort_unstable();
    let q = |v: &[i64], f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
    // Every hazard when that fits; else the middle 99.8 % of them.
    let all = (xs[xs.len() - 1] - xs[0] + 240) * (ys[ys.len() - 1] - ys[0] + 240) <= MAX_WINDOW;
    let (lo_f, hi_f) = if all { (0.0, 1.0) } else { (0.001, 0.999) };
    let (lo_y, hi_y) = (q(&ys, lo_f), q(&ys, hi_f));
    // The reach in tiles, at the window's most poleward latitude.
    let lat = (border(lo_y, TY).abs().max(border(hi_y + 1, TY).abs()) + 1.0).min(85.0);
    let ky = (SITE_REACH_M / (110_574.0 / TY)).ceil() as i64 + 1;
    let kx = (SITE_REACH_M / (111_319.0 * lat.to_radians().cos() / TX)).ceil() as i64 + 1;
    let (mut x0, mut x1) = (q(&xs, lo_f) - kx - 1, q(&xs, hi_f) + kx + 1);
    let (mut y0, mut y1) = (lo_y - ky - 1, hi_y + ky + 1);
    // Too large: shrink round the middle.
    while (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_WINDOW {
        let (mx, my) = (q(&xs, 0.5), q(&ys, 0.5));
        x0 = (x0 + mx) / 2;
        x1 = (x1 + mx) / 2;
        y0 = (y0 + my) / 2;
        y1 = (y1 + my) / 2;
    }
    Window {
        ix0: x0,
        iy0: y0,
        w: x1 - x0 + 1,
        h: y1 - y0 + 1,
        kx,
        ky,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_order_round_trips_and_keeps_neighbours_near() {
        let mut seed = 0x7113_u64;
        for _ in 0..100_000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let ix = (seed >> 33) as i64 % 23_040 - 11_520;
            let iy = (seed >> 11) as i64 % 11_520 - 5_760;
            assert_eq!(tile_of_order(tile_order(ix, iy)), (ix, iy));
        }
        // Along the curve, consecutive places are neighbouring tiles.
        let d = tile_order(2_300, 6_200);
        let (a, b) = (tile_of_order(d), tile_of_order(d + 1));
        assert_eq!((a.0 - b.0).abs() + (a.1 - b.1).abs(), 1);
    }

    #[test]
    fn floor_and_ceil_without_libm() {
        for v in [
            -3.5,
            -3.0,
            -2.999,
            -0.0,
            0.0,
            0.2,
            1.0,
            1.5,
            1e15,
            -1e15 - 0.5,
        ] {
            assert_eq!(floor_i(v), v.floor() as i64, "{v}");
            assert_eq!(ceil_i(v), v.ceil() as i64, "{v}");
        }
    }
}
