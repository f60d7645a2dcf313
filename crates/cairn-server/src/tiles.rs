//! Mapbox Vector Tile 2.1 encoding of hazards in Web Mercator tiles, drawn so that a tile never
//! shows a hazard smaller than it is.
//!
//! # Which path applies
//!
//! A tile either shows each hazard on its own ([`encode`]) or shows a grid of covering cells
//! ([`aggregate`] then [`encode_cells`]); [`aggregates`] decides:
//!
//! - below zoom [`DETAIL_MIN_ZOOM`] (z0–z9), always cells: hazards are then a few pixels at most;
//! - from z10 on, each hazard on its own, unless the tile holds more than
//!   [`MAX_DETAILED_FEATURES`] hazards, when it shows cells too.
//!
//! A cell is one of [`GRID`] × [`GRID`] squares of a tile (64 tile units, 4 pixels of 256). It is
//! drawn when any part of any hazard touches it, with the number of hazards touching it and the
//! most severe of their ranks, so the cells drawn together cover every hazard.
//!
//! # Why the drawn shape covers the hazard
//!
//! Everything is worked in tile units (4096 to a tile side, y downward). Let `S` be the tile
//! with its [`BUFFER`] of 64 units around. The promise is: every point of a hazard that lies in
//! `S` lies inside the decoded polygon (closed, under the nonzero and the even-odd fill rules).
//!
//! 0. *Small hazards.* Longitude maps to x and latitude to y, each monotonically, so the box of
//!    a hazard's longitudes and latitudes maps onto a box containing the hazard's image (for a
//!    spot or a track, grown by its reach as in step 3). When that box is less than
//!    [`SMALL_HAZARD`] units (four pixels) across both ways, `Q` is the box grown by d: it holds
//!    the disc of radius d around every hazard point, and at that size the box and the outline
//!    look the same. This spares the boolean operations below for most hazards at low detail.
//! 1. *Rounding.* A ring whose vertices each move to the nearest integers moves every point of
//!    its outline by at most δ = √2/2 (each point of an edge is a convex combination of the two
//!    ends). Moving the ring's points along straight lines from old to new places never passes
//!    over a point `p` farther than δ from the ring, so the ring's winding number around `p` is
//!    the same before and after. Hence if a covering set `Q` (a union of polygons) contains the
//!    disc of radius d = [`MARGIN`] = 1 > δ around every hazard point in `S`, every such point
//!    keeps the winding number +1 after rounding: it is filled. Dropping repeated vertices,
//!    back-and-forth spikes and hole rings can only keep or raise that. A part of `Q` less than
//!    [`SMALL`] units across is drawn as its bounding box widened to integers instead (floor of
//!    the minimum, ceiling of the maximum), which contains it outright.
//! 2. *Curved edges.* Edges are straight in longitude and latitude, so in Mercator they bow a
//!    little (y is not linear in latitude). The bow of an edge from φ1 to φ2 is at most
//!    k · sec φ · tan φ · Δφ² / 8, with k the tile units per radian and φ the larger |latitude|;
//!    edges are split in longitude and latitude until that is at most [`SAG`] (or the reached
//!    bound `s` is carried), and `s` is added to every margin.
//! 3. *Metres.* On WGS 84 both radii of curvature are at least a(1 − e²) = 6,335,439 m, so a
//!    path of `m` metres changes latitude by at most m / 6,335,439 radians and its Mercator
//!    length is at most k · (m / 6,335,439) · sec(|φ| + m / 6,335,439). A spot of radius `r`
//!    thus lies within ρ of its centre's image, and a corridor of half-width `h` within that
//!    reach of its line. Spots are drawn as a regular polygon whose inscribed circle has radius
//!    ρ + d (16 sides below z14, 32 from there).
//! 4. *Simplification.* Rings and lines are simplified (Douglas–Peucker) with tolerance
//!    t = [`TOLERANCE`]: each dropped vertex lies within `t` of the segment that replaces it, so
//!    the whole original outline lies within `t` of the simplified one, and moving one onto the
//!    other (straight lines, within the segment's convex `t`-neighbourhood) keeps every winding
//!    number around points farther than `t` from the simplified outline. For a polygon `X`
//!    (the hazard clipped as in step 5) and its simplification `Σ`, the covering set is
//!    `Q = Σ ∪ ⋃ H(e, t + d + s)` over the edges `e` of `Σ`, where `H(e, r)` is the hexagon
//!    `e ⊕ [−r, r]²`, which contains every point within `r` of `e`. Take a hazard point `p` in
//!    `S` and `q` within `d` of it. If `q` is in `X` and farther than `t` from `Σ`'s outline, its
//!    winding number in `Σ` is that in `X`, +1. Otherwise `q` is within `t + d + s` of that
//!    outline (the segment from `p`, or from the point of `X` within `s` of `p`, to `q` crosses
//!    `X`'s outline, which lies within `t` of `Σ`'s): it is in a hexagon. Lines are covered by
//!    the hexagons of their simplified segments with `r = h' + s + t + d`, where `h'` is the
//!    half-width in tile units from step 3.
//! 5. *Clipping.* Polygons are clipped to `S` grown by 1 + s units before simplification, and any
//!    covering set reaching beyond `S` grown by four units is clipped to that; the disc of
//!    radius `d` around a point of `S` lies within both.
//!
//! The boolean operations (i_overlay through `geo`) snap to a fixed-point grid of half the
//! operands' extent over 2²⁹: under 0.01 tile units unless one hazard spans more than five
//! million units (some 700 km at z16). The slack between δ ≈ 0.707 and d = 1 absorbs that.

use std::collections::HashMap;
use std::f64::consts::PI;

use cairn_core::Shape;
use geo::{BooleanOps, BoundingRect, Intersects, Orient, orient::Direction, unary_union};
use geo_types::{Coord, Line, LineString, MultiPolygon, Point, Polygon, Rect};

/// The side of a tile in tile units.
pub const EXTENT: u32 = 4096;
/// The margin kept around a tile, in tile units (4 pixels of a 256-pixel tile).
pub const BUFFER: u32 = 64;
/// [`BUFFER`] in pixels of a 256-pixel tile: the `buffer_px` to give [`tile_bbox`].
pub const BUFFER_PX: f64 = BUFFER as f64 * 256.0 / EXTENT as f64;
/// The lowest zoom served.
pub const MIN_ZOOM: u8 = 0;
/// The highest zoom served; clients overzoom beyond it.
pub const MAX_ZOOM: u8 = 16;
/// Below this zoom a tile shows covering cells rather than individual hazards.
pub const DETAIL_MIN_ZOOM: u8 = 10;
/// A tile with more hazards than this shows covering cells at any zoom.
pub const MAX_DETAILED_FEATURES: usize = 2000;
/// Cells per tile side in the covering grid.
pub const GRID: u32 = 64;
/// Distance, in tile units, by which a covering set reaches past the hazard before rounding; it
/// exceeds the largest move of a rounded vertex, √2/2.
pub const MARGIN: f64 = 1.0;
/// Hazards whose box is narrower and shorter than this many tile units (four pixels of 256) are
/// drawn as that box widened by [`MARGIN`] (step 0 of the module's argument).
pub const SMALL_HAZARD: f64 = 64.0;
/// Largest bow of a projected edge, in tile units, before the edge is split.
pub const SAG: f64 = 0.1;
/// Douglas–Peucker tolerance in tile units.
pub const TOLERANCE: f64 = 1.0;
/// Parts of a tile geometry smaller than this in both directions, in tile units, are drawn as
/// their integer bounding box.
pub const SMALL: f64 = 4.0;

/// One feature to put in a tile.
#[derive(Clone, Debug)]
pub struct TileFeature<'a> {
    pub id: Option<u64>,
    pub shape: &'a Shape,
    /// Attributes: key and value (string, f64, i64 or bool).
    pub props: Vec<(&'a str, TileValue)>,
}

/// The value of a tile attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum TileValue {
    String(String),
    Float(f64),
    Int(i64),
    Bool(bool),
}

/// A cell of the covering grid of one tile, drawn because hazards touch it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateCell {
    /// The cell's corners in tile units: the smaller x and y, then the larger.
    pub min: [i32; 2],
    pub max: [i32; 2],
    /// How many hazards touch the cell.
    pub count: u32,
    /// The highest severity rank among them.
    pub severity: u8,
}

/// The lon/lat bounding box of tile z/x/y, with `buffer_px` of 256 added around (for querying
/// features). Longitudes are kept within ±180°; the box does not wrap the antimeridian.
pub fn tile_bbox(z: u8, x: u32, y: u32, buffer_px: f64) -> (Coord<f64>, Coord<f64>) {
    let frame = Frame::new(z, x, y);
    let b = buffer_px * EXTENT as f64 / 256.0;
    let e = EXTENT as f64;
    let nw = frame.unproject(Coord { x: -b, y: -b });
    let se = frame.unproject(Coord { x: e + b, y: e + b });
    (
        Coord {
            x: nw.x.max(-180.0),
            y: se.y,
        },
        Coord {
            x: se.x.min(180.0),
            y: nw.y,
        },
    )
}

/// True when a tile at zoom `z` holding `n` hazards shows covering cells rather than the
/// hazards themselves.
pub fn aggregates(z: u8, n: usize) -> bool {
    z < DETAIL_MIN_ZOOM || n > MAX_DETAILED_FEATURES
}

/// Encodes one layer named `layer` with the given features into a complete MVT tile (bytes,
/// uncompressed). Each feature becomes a polygon or multipolygon covering its hazard within the
/// tile and its buffer; features wholly outside are left out.
pub fn encode(z: u8, x: u32, y: u32, layer: &str, features: &[TileFeature<'_>]) -> Vec<u8> {
    let frame = Frame::new(z, x, y);
    let mut builder = LayerBuilder::new(layer);
    for f in features {
        let polygons = cover(&frame, f.shape);
        if !polygons.is_empty() {
            builder.add(f.id, &f.props, &polygons);
        }
    }
    builder.finish()
}

/// The cells of the [`GRID`] of tile z/x/y that any of `shapes` touches, with how many touch
/// each and their highest severity rank (the number beside each shape; higher is more severe).
/// The cells together cover every part of every shape within the tile. Cells come in rows from
/// the top, each from the left.
pub fn aggregate(z: u8, x: u32, y: u32, shapes: &[(&Shape, u8)]) -> Vec<AggregateCell> {
    let frame = Frame::new(z, x, y);
    let g = GRID as usize;
    let mut count = vec![0u32; g * g];
    let mut severity = vec![0u8; g * g];
    let mut last = vec![usize::MAX; g * g];
    for (i, (shape, rank)) in shapes.iter().enumerate() {
        touched_cells(&frame, shape, &mut |cx, cy| {
            let k = cy * g + cx;
            if last[k] != i {
                last[k] = i;
                count[k] += 1;
                severity[k] = severity[k].max(*rank);
            }
        });
    }
    let size = (EXTENT / GRID) as i32;
    let mut cells = Vec::new();
    for cy in 0..g {
        for cx in 0..g {
            let k = cy * g + cx;
            if count[k] > 0 {
                let (x0, y0) = (cx as i32 * size, cy as i32 * size);
                cells.push(AggregateCell {
                    min: [x0, y0],
                    max: [x0 + size, y0 + size],
                    count: count[k],
                    severity: severity[k],
                });
            }
        }
    }
    cells
}

/// The cells of the [`GRID`] of tile z/x/y that `shape` touches, as [`aggregate`] finds them
/// (column, row; rows from the top).
pub(crate) fn cells_touched(
    z: u8,
    x: u32,
    y: u32,
    shape: &Shape,
    mark: &mut dyn FnMut(usize, usize),
) {
    touched_cells(&Frame::new(z, x, y), shape, mark);
}

/// The tiles of zoom `z` that `shape` may touch (its covering box, one tile unit more around),
/// as inclusive ranges of x and y.
pub(crate) fn tiles_touched(z: u8, shape: &Shape) -> Option<(u32, u32, u32, u32)> {
    let b = hazard_box(&Frame::new(z, 0, 0), shape)?;
    let e = EXTENT as f64;
    let last = (1u64 << z) as f64 - 1.0;
    let at = |v: f64| ((v / e).floor().clamp(0.0, last)) as u32;
    Some((
        at(b.min().x - 1.0),
        at(b.max().x + 1.0),
        at(b.min().y - 1.0),
        at(b.max().y + 1.0),
    ))
}

/// Encodes covering cells as one layer named `layer`. Cells with the same count and severity
/// are drawn as one multipolygon feature, runs of neighbours in a row as one rectangle, with
/// the attributes `count` (an integer: how many hazards touch each of its cells) and `status`
/// (what `status` gives for the severity rank). On dense synthetic data (a million areas) such
/// tiles stay under 65 KB.
pub fn encode_cells(
    layer: &str,
    cells: &[AggregateCell],
    status: impl Fn(u8) -> TileValue,
) -> Vec<u8> {
    // Runs as [x0, y0, x1, y1], grouped by (count, severity) in order of first appearance.
    let mut groups: Vec<CellGroup> = Vec::new();
    let mut index: HashMap<(u32, u8), usize> = HashMap::new();
    for c in cells {
        let key = (c.count, c.severity);
        let i = *index.entry(key).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        let runs = &mut groups[i].1;
        match runs.last_mut() {
            Some(r) if r[1] == c.min[1] && r[3] == c.max[1] && r[2] == c.min[0] => r[2] = c.max[0],
            _ => runs.push([c.min[0], c.min[1], c.max[0], c.max[1]]),
        }
    }
    let mut builder = LayerBuilder::new(layer);
    for ((count, severity), runs) in groups {
        // Each ring starts at its lower left corner (y downward) and ends at its lower right,
        // where the next run of the row starts: positive area, short moves.
        let polygons: Vec<TilePolygon> = runs
            .iter()
            .map(|r| vec![vec![[r[0], r[3]], [r[0], r[1]], [r[2], r[1]], [r[2], r[3]]]])
            .collect();
        let props = [
            ("count", TileValue::Int(i64::from(count))),
            ("status", status(severity)),
        ];
        builder.add(None, &props, &polygons);
    }
    builder.finish()
}

/// TileJSON 3.0 for the service: `tiles_url` like "http://host/tiles/{z}/{x}/{y}.mvt", with
/// vector_layers describing `layer` and its fields (name and description), minzoom 0,
/// maxzoom 16, and `bounds` as [west, south, east, north].
pub fn tilejson(
    tiles_url: &str,
    layer: &str,
    fields: &[(&str, &str)],
    bounds: [f64; 4],
) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::json!({
        "tilejson": "3.0.0",
        "tiles": [tiles_url],
        "scheme": "xyz",
        "vector_layers": [{
            "id": layer,
            "fields": fields,
            "minzoom": MIN_ZOOM,
            "maxzoom": MAX_ZOOM,
        }],
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
    })
}

/// The smallest radius of curvature of the WGS 84 ellipsoid, a(1 − e²), in metres.
const MIN_RADIUS_M: f64 = 6_335_439.0;
/// The latitude at which Web Mercator's square world ends.
const MAX_LAT: f64 = 85.051_128_779_806_59;
/// How far past `S` polygons are clipped, in tile units, besides the bow of their edges.
const CLIP_GROW: f64 = 1.0;
/// How far past `S` any covering set may reach, in tile units.
const KEEP_GROW: f64 = 4.0;
/// Most pieces one edge is split into to bound its bow.
const MAX_SPLIT: f64 = 1024.0;

/// Cells of one count and severity, as runs [x0, y0, x1, y1].
type CellGroup = ((u32, u8), Vec<[i32; 4]>);
/// A ring of integer tile coordinates, not closed (the first point is not repeated).
type Ring = Vec<[i32; 2]>;
/// An exterior ring (positive area in tile coordinates) followed by its holes.
type TilePolygon = Vec<Ring>;

/// The Web Mercator frame of one tile.
#[derive(Clone, Copy, Debug)]
struct Frame {
    z: u8,
    /// The world's side in tile units.
    world: f64,
    /// The tile's top-left corner in world tile units.
    ox: f64,
    oy: f64,
}

impl Frame {
    fn new(z: u8, x: u32, y: u32) -> Frame {
        let e = EXTENT as f64;
        Frame {
            z,
            world: e * 2f64.powi(i32::from(z)),
            ox: f64::from(x) * e,
            oy: f64::from(y) * e,
        }
    }

    /// Lon/lat in degrees to tile units.
    fn project(&self, c: Coord<f64>) -> Coord<f64> {
        let lat = c.y.clamp(-MAX_LAT, MAX_LAT).to_radians();
        let wx = (c.x + 180.0) / 360.0;
        let wy = 0.5 - (PI / 4.0 + lat / 2.0).tan().ln() / (2.0 * PI);
        Coord {
            x: wx * self.world - self.ox,
            y: wy * self.world - self.oy,
        }
    }

    /// Tile units to lon/lat in degrees.
    fn unproject(&self, p: Coord<f64>) -> Coord<f64> {
        let wx = (p.x + self.ox) / self.world;
        let wy = (p.y + self.oy) / self.world;
        Coord {
            x: wx * 360.0 - 180.0,
            y: (PI * (1.0 - 2.0 * wy)).sinh().atan().to_degrees(),
        }
    }

    /// Tile units per radian of longitude.
    fn per_radian(&self) -> f64 {
        self.world / (2.0 * PI)
    }

    /// The farthest, in tile units, that a path of `m` metres can lead from a point at most
    /// `abs_lat` degrees from the equator (step 3 of the module's argument).
    fn reach(&self, m: f64, abs_lat: f64) -> f64 {
        let angle = m.max(0.0) / MIN_RADIUS_M;
        let lat = (abs_lat.to_radians() + angle).min(MAX_LAT.to_radians());
        self.per_radian() * angle / lat.cos()
    }

    /// A bound, in tile units, on how far the image of the lon/lat-straight edge a–b bows away
    /// from the straight segment between the images of its ends.
    fn bow(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
        let lat = a.y.abs().max(b.y.abs()).min(MAX_LAT).to_radians();
        let dphi = (b.y - a.y).to_radians();
        self.per_radian() * lat.tan() / lat.cos() * dphi * dphi / 8.0
    }

    /// Projects a lon/lat path, splitting edges so that the projected chords stay within the
    /// returned bound of the image of each edge.
    fn project_path(&self, coords: &[Coord<f64>]) -> (Vec<Coord<f64>>, f64) {
        let mut out = Vec::with_capacity(coords.len());
        let mut bow = 0.0f64;
        for (i, &c) in coords.iter().enumerate() {
            if i > 0 {
                let a = coords[i - 1];
                let whole = self.bow(a, c);
                let k = if whole > SAG {
                    (whole / SAG).sqrt().ceil().min(MAX_SPLIT)
                } else {
                    1.0
                };
                bow = bow.max(whole / (k * k));
                let n = k as usize;
                for j in 1..n {
                    let t = j as f64 / k;
                    out.push(self.project(Coord {
                        x: a.x + (c.x - a.x) * t,
                        y: a.y + (c.y - a.y) * t,
                    }));
                }
            }
            out.push(self.project(c));
        }
        (out, bow)
    }
}

/// The tile with its buffer (`S`), grown by `g` units.
fn area_grown(g: f64) -> Rect<f64> {
    let lo = -(BUFFER as f64) - g;
    let hi = (EXTENT + BUFFER) as f64 + g;
    Rect::new(Coord { x: lo, y: lo }, Coord { x: hi, y: hi })
}

fn rect_grown(r: Rect<f64>, g: f64) -> Rect<f64> {
    Rect::new(
        Coord {
            x: r.min().x - g,
            y: r.min().y - g,
        },
        Coord {
            x: r.max().x + g,
            y: r.max().y + g,
        },
    )
}

fn rects_meet(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

fn rect_within(inner: &Rect<f64>, outer: &Rect<f64>) -> bool {
    inner.min().x >= outer.min().x
        && inner.min().y >= outer.min().y
        && inner.max().x <= outer.max().x
        && inner.max().y <= outer.max().y
}

/// The covering polygons of a shape in integer tile coordinates, empty when it misses the tile.
fn cover(frame: &Frame, shape: &Shape) -> Vec<TilePolygon> {
    let Some(b) = hazard_box(frame, shape).filter(|b| rects_meet(b, &area_grown(0.0))) else {
        return Vec::new();
    };
    // Step 0: a hazard a few pixels across is drawn as its box widened by the margin.
    if b.width() < SMALL_HAZARD && b.height() < SMALL_HAZARD {
        let q = MultiPolygon(vec![rect_grown(b, MARGIN).to_polygon()]);
        return quantise(&clip_to_keep(q));
    }
    let q = match shape {
        Shape::Polygon(p) => cover_polygons(frame, std::slice::from_ref(p)),
        Shape::MultiPolygon(m) => cover_polygons(frame, &m.0),
        Shape::Spot { at, radius_m } => cover_spot(frame, *at, *radius_m),
        Shape::Linear { line, width_m } => cover_line(frame, line, *width_m),
    };
    q.map(|q| quantise(&q)).unwrap_or_default()
}

/// Step 4 of the module's argument for polygons.
fn cover_polygons(frame: &Frame, polygons: &[Polygon<f64>]) -> Option<MultiPolygon<f64>> {
    let mut bow = 0.0f64;
    let mut projected = Vec::with_capacity(polygons.len());
    for p in polygons {
        let (exterior, b) = frame.project_path(&p.exterior().0);
        bow = bow.max(b);
        let mut holes = Vec::with_capacity(p.interiors().len());
        for h in p.interiors() {
            let (ring, b) = frame.project_path(&h.0);
            bow = bow.max(b);
            holes.push(LineString(ring));
        }
        projected.push(Polygon::new(LineString(exterior), holes));
    }
    let chord = MultiPolygon(projected).orient(Direction::Default);
    let bbox = chord.bounding_rect()?;
    if !rects_meet(&rect_grown(bbox, bow), &area_grown(0.0)) {
        return None;
    }
    let clip = area_grown(CLIP_GROW + bow);
    let clipped = if rect_within(&bbox, &clip) {
        chord
    } else {
        chord
            .intersection(&clip.to_polygon())
            .orient(Direction::Default)
    };
    let reach = TOLERANCE + MARGIN + bow;
    let mut pieces: Vec<Polygon<f64>> = Vec::new();
    let mut kept: Vec<Polygon<f64>> = Vec::new();
    for p in &clipped {
        let exterior = simplify_ring(&p.exterior().0, TOLERANCE);
        add_hexagons(&exterior, reach, &mut pieces);
        let mut holes = Vec::new();
        for h in p.interiors() {
            let ring = simplify_ring(&h.0, TOLERANCE);
            add_hexagons(&ring, reach, &mut pieces);
            if ring.len() >= 4 {
                holes.push(LineString(ring));
            }
        }
        // A ring of fewer than three points winds around nothing; dropping it and its holes
        // only adds to the covering set, which its hexagons already surround.
        if exterior.len() >= 4 {
            kept.push(Polygon::new(LineString(exterior), holes));
        }
    }
    if pieces.is_empty() {
        return None;
    }
    // The first ring given sets the fill rule; a hexagon is counter-clockwise, so "positive".
    pieces.extend(kept);
    Some(clip_to_keep(unary_union(&pieces)))
}

/// Step 3 of the module's argument for spots.
fn cover_spot(frame: &Frame, at: Point<f64>, radius_m: f64) -> Option<MultiPolygon<f64>> {
    let c = frame.project(at.0);
    let rho = frame.reach(radius_m, at.y().abs());
    let disc = Rect::new(
        Coord {
            x: c.x - rho,
            y: c.y - rho,
        },
        Coord {
            x: c.x + rho,
            y: c.y + rho,
        },
    );
    if !rects_meet(&disc, &area_grown(0.0)) {
        return None;
    }
    let sides = if frame.z >= 14 { 32 } else { 16 };
    let corner = (rho + MARGIN) / (PI / f64::from(sides)).cos();
    let mut ring: Vec<Coord<f64>> = (0..sides)
        .map(|k| {
            let a = 2.0 * PI * f64::from(k) / f64::from(sides);
            Coord {
                x: c.x + corner * a.cos(),
                y: c.y + corner * a.sin(),
            }
        })
        .collect();
    ring.push(ring[0]);
    let polygon = Polygon::new(LineString(ring), vec![]);
    Some(clip_to_keep(MultiPolygon(vec![polygon])))
}

/// Steps 3 and 4 of the module's argument for linear hazards.
fn cover_line(frame: &Frame, line: &LineString<f64>, width_m: f64) -> Option<MultiPolygon<f64>> {
    if line.0.is_empty() {
        return None;
    }
    let (points, bow) = frame.project_path(&line.0);
    let max_lat = line.0.iter().map(|c| c.y.abs()).fold(0.0, f64::max);
    let half = frame.reach(width_m / 2.0, max_lat);
    let simplified = simplify_open(&points, TOLERANCE);
    let r = half + bow + TOLERANCE + MARGIN;
    let keep = area_grown(KEEP_GROW);
    let mut pieces = Vec::new();
    let segments: Vec<(Coord<f64>, Coord<f64>)> = if simplified.len() == 1 {
        vec![(simplified[0], simplified[0])]
    } else {
        simplified.windows(2).map(|w| (w[0], w[1])).collect()
    };
    for (a, b) in segments {
        let reach = rect_grown(Rect::new(a, b), r);
        if rects_meet(&reach, &keep) {
            pieces.push(hexagon(a, b, r));
        }
    }
    if pieces.is_empty() {
        return None;
    }
    Some(clip_to_keep(unary_union(&pieces)))
}

/// Clips a covering set to `S` grown by [`KEEP_GROW`] when it reaches beyond.
fn clip_to_keep(q: MultiPolygon<f64>) -> MultiPolygon<f64> {
    let keep = area_grown(KEEP_GROW);
    let q = match q.bounding_rect() {
        Some(b) if !rect_within(&b, &keep) => q.intersection(&keep.to_polygon()),
        _ => q,
    };
    q.orient(Direction::Default)
}

/// Adds the hexagon `e ⊕ [−r, r]²` of every edge of a closed ring.
fn add_hexagons(ring: &[Coord<f64>], r: f64, out: &mut Vec<Polygon<f64>>) {
    match ring.len() {
        0 => {}
        1 => out.push(hexagon(ring[0], ring[0], r)),
        _ => {
            for w in ring.windows(2) {
                out.push(hexagon(w[0], w[1], r));
            }
        }
    }
}

/// The Minkowski sum of the segment a–b and the square [−r, r]², counter-clockwise.
fn hexagon(a: Coord<f64>, b: Coord<f64>, r: f64) -> Polygon<f64> {
    // Order the ends so that the segment runs left to right (or upward when vertical); the sum
    // is then the square at `a` swept to `b`, whose hull is listed corner by corner.
    let (a, b) = if (a.x, a.y) <= (b.x, b.y) {
        (a, b)
    } else {
        (b, a)
    };
    let c = |p: Coord<f64>, sx: f64, sy: f64| Coord {
        x: p.x + sx * r,
        y: p.y + sy * r,
    };
    // Counter-clockwise in the mathematical sense (positive area), starting at a's lower left.
    let pts = if b.y >= a.y {
        vec![
            c(a, -1.0, -1.0),
            c(a, 1.0, -1.0),
            c(b, 1.0, -1.0),
            c(b, 1.0, 1.0),
            c(b, -1.0, 1.0),
            c(a, -1.0, 1.0),
        ]
    } else {
        vec![
            c(a, -1.0, -1.0),
            c(b, -1.0, -1.0),
            c(b, 1.0, -1.0),
            c(b, 1.0, 1.0),
            c(a, 1.0, 1.0),
            c(a, -1.0, 1.0),
        ]
    };
    let mut ring = pts;
    ring.push(ring[0]);
    Polygon::new(LineString(ring), vec![])
}

/// Distance from `p` to the segment a–b.
fn segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((p.x - a.x - t * dx).powi(2) + (p.y - a.y - t * dy).powi(2)).sqrt()
}

/// Douglas–Peucker on `pts[first..=last]`, marking the points to keep.
fn douglas_peucker(pts: &[Coord<f64>], keep: &mut [bool], first: usize, last: usize, tol: f64) {
    let mut stack = vec![(first, last)];
    while let Some((i, j)) = stack.pop() {
        keep[i] = true;
        keep[j] = true;
        if j <= i + 1 {
            continue;
        }
        let mut far = i;
        let mut far_d = -1.0;
        for k in i + 1..j {
            let d = segment_distance(pts[k], pts[i], pts[j]);
            if d > far_d {
                far = k;
                far_d = d;
            }
        }
        if far_d > tol {
            stack.push((i, far));
            stack.push((far, j));
        }
    }
}

/// Simplifies an open path; every dropped point is within `tol` of the segment replacing it.
fn simplify_open(pts: &[Coord<f64>], tol: f64) -> Vec<Coord<f64>> {
    if pts.len() <= 2 {
        return pts.to_vec();
    }
    let mut keep = vec![false; pts.len()];
    douglas_peucker(pts, &mut keep, 0, pts.len() - 1, tol);
    pts.iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(p, _)| *p)
        .collect()
}

/// Simplifies a closed ring (first point repeated at the end, or not); returns it closed. The
/// ring is split at its first point and the point farthest from it.
fn simplify_ring(ring: &[Coord<f64>], tol: f64) -> Vec<Coord<f64>> {
    let mut pts: Vec<Coord<f64>> = ring.to_vec();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() <= 3 {
        if let Some(&first) = pts.first() {
            pts.push(first);
        }
        return pts;
    }
    let first = pts[0];
    let far = (1..pts.len())
        .max_by(|&i, &j| {
            let di = (pts[i].x - first.x).hypot(pts[i].y - first.y);
            let dj = (pts[j].x - first.x).hypot(pts[j].y - first.y);
            di.total_cmp(&dj)
        })
        .unwrap_or(1);
    pts.push(first);
    let mut keep = vec![false; pts.len()];
    let last = pts.len() - 1;
    douglas_peucker(&pts, &mut keep, 0, far, tol);
    douglas_peucker(&pts, &mut keep, far, last, tol);
    pts.iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(p, _)| *p)
        .collect()
}

/// Rounds a covering set to integer tile coordinates (step 1 of the module's argument).
fn quantise(q: &MultiPolygon<f64>) -> Vec<TilePolygon> {
    let mut out = Vec::with_capacity(q.0.len());
    for p in q {
        let Some(b) = p.exterior().bounding_rect() else {
            continue;
        };
        if b.width() < SMALL && b.height() < SMALL {
            out.push(vec![integer_box(b)]);
            continue;
        }
        let exterior = round_ring(p.exterior());
        if exterior.len() < 3 || twice_area(&exterior) <= 0 {
            out.push(vec![integer_box(b)]);
            continue;
        }
        let mut rings = vec![exterior];
        for h in p.interiors() {
            let ring = round_ring(h);
            // Holes that collapse or turn over are dropped: that only adds coverage.
            if ring.len() >= 3 && twice_area(&ring) < 0 {
                rings.push(ring);
            }
        }
        out.push(rings);
    }
    out
}

/// The box widened outward to integers, at least one unit each way, with positive area.
fn integer_box(b: Rect<f64>) -> Ring {
    let x0 = b.min().x.floor() as i32;
    let y0 = b.min().y.floor() as i32;
    let x1 = (b.max().x.ceil() as i32).max(x0 + 1);
    let y1 = (b.max().y.ceil() as i32).max(y0 + 1);
    vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
}

/// Rounds a ring's vertices, then drops repeated points and back-and-forth spikes.
fn round_ring(ring: &LineString<f64>) -> Ring {
    let mut pts: Ring = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let p = [c.x.round() as i32, c.y.round() as i32];
        if pts.last() != Some(&p) {
            pts.push(p);
        }
    }
    loop {
        let n = pts.len();
        if n < 3 {
            return pts;
        }
        let mut changed = false;
        let mut i = 0;
        while i < pts.len() && pts.len() >= 3 {
            let n = pts.len();
            let prev = pts[(i + n - 1) % n];
            let next = pts[(i + 1) % n];
            if pts[i] == next || prev == next {
                pts.remove(i);
                changed = true;
                i = i.saturating_sub(1);
            } else {
                i += 1;
            }
        }
        if !changed {
            return pts;
        }
    }
}

/// Twice the signed area of a ring by the surveyor's formula in tile coordinates (positive for
/// an exterior ring in MVT, which looks clockwise with y downward).
fn twice_area(ring: &[[i32; 2]]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let a = ring[i];
            let b = ring[(i + 1) % n];
            i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1])
        })
        .sum()
}

/// A box in tile units that surely holds the hazard: the image of its lon/lat box (Web
/// Mercator keeps each axis in order), widened by the reach of its radius or half-width.
fn hazard_box(frame: &Frame, shape: &Shape) -> Option<Rect<f64>> {
    let (lonlat, metres) = match shape {
        Shape::Polygon(p) => (p.exterior().bounding_rect()?, 0.0),
        Shape::MultiPolygon(m) => (m.bounding_rect()?, 0.0),
        Shape::Spot { at, radius_m } => (Rect::new(at.0, at.0), *radius_m),
        Shape::Linear { line, width_m } => (line.bounding_rect()?, width_m / 2.0),
    };
    let b = Rect::new(frame.project(lonlat.min()), frame.project(lonlat.max()));
    if metres > 0.0 {
        let lat = lonlat.min().y.abs().max(lonlat.max().y.abs());
        Some(rect_grown(b, frame.reach(metres, lat)))
    } else {
        Some(b)
    }
}

/// The side of a grid cell in tile units.
const CELL: f64 = (EXTENT / GRID) as f64;

/// The closed square of cell `cx`, `cy`.
fn cell_rect(cx: usize, cy: usize) -> Rect<f64> {
    Rect::new(
        Coord {
            x: cx as f64 * CELL,
            y: cy as f64 * CELL,
        },
        Coord {
            x: (cx + 1) as f64 * CELL,
            y: (cy + 1) as f64 * CELL,
        },
    )
}

/// The cells, as columns `x0..=x1` and rows `y0..=y1`, that a box within the tile may touch;
/// `None` when it misses the tile.
fn cell_range(r: Rect<f64>) -> Option<(usize, usize, usize, usize)> {
    let e = EXTENT as f64;
    if r.max().x < 0.0 || r.max().y < 0.0 || r.min().x > e || r.min().y > e {
        return None;
    }
    let g = GRID as usize;
    let at = |v: f64| ((v / CELL).floor().max(0.0) as usize).min(g - 1);
    Some((at(r.min().x), at(r.max().x), at(r.min().y), at(r.max().y)))
}

/// Calls `mark` for every cell within `r` that passes `test`; when `r` lies within one cell, the
/// shape inside it surely touches that cell and `test` is skipped.
fn mark_cells(r: Rect<f64>, test: &dyn Fn(Rect<f64>) -> bool, mark: &mut dyn FnMut(usize, usize)) {
    let Some((x0, x1, y0, y1)) = cell_range(r) else {
        return;
    };
    if x0 == x1 && y0 == y1 && rect_within(&r, &cell_rect(x0, y0)) {
        mark(x0, y0);
        return;
    }
    for cy in y0..=y1 {
        for cx in x0..=x1 {
            if test(cell_rect(cx, cy)) {
                mark(cx, cy);
            }
        }
    }
}

/// Calls `mark` with every cell of the tile's grid that the shape touches, perhaps more than
/// once. A cell is marked when the hazard's outline, widened by the bow of its edges, meets it,
/// or when its centre is inside the hazard: a cell the hazard touches either meets the outline
/// or lies wholly inside.
fn touched_cells(frame: &Frame, shape: &Shape, mark: &mut dyn FnMut(usize, usize)) {
    let Some(outer) = hazard_box(frame, shape) else {
        return;
    };
    let Some((x0, x1, y0, y1)) = cell_range(outer) else {
        return;
    };
    if x0 == x1 && y0 == y1 && rect_within(&outer, &cell_rect(x0, y0)) {
        mark(x0, y0);
        return;
    }
    match shape {
        Shape::Polygon(_) | Shape::MultiPolygon(_) => {
            let polygons: &[Polygon<f64>] = match shape {
                Shape::Polygon(p) => std::slice::from_ref(p),
                Shape::MultiPolygon(m) => &m.0,
                _ => &[],
            };
            let mut bow = 0.0f64;
            let mut projected = Vec::with_capacity(polygons.len());
            for p in polygons {
                let (exterior, b) = frame.project_path(&p.exterior().0);
                bow = bow.max(b);
                let mut holes = Vec::new();
                for h in p.interiors() {
                    let (ring, b) = frame.project_path(&h.0);
                    bow = bow.max(b);
                    holes.push(LineString(ring));
                }
                projected.push(Polygon::new(LineString(exterior), holes));
            }
            // A hazard narrower or shorter than a cell holds no whole cell, so every cell it
            // touches meets its outline.
            let holds_cells = outer.width() >= CELL && outer.height() >= CELL;
            // Holes run against exteriors, so that winding numbers add up (nonzero rule).
            let chord = if holds_cells {
                MultiPolygon(projected).orient(Direction::Default)
            } else {
                MultiPolygon(projected)
            };
            let edges: Vec<Line<f64>> = chord
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|r| r.lines())
                .collect();
            // Cells the outline meets; the true outline is within `bow` of the chords.
            for e in &edges {
                mark_cells(
                    rect_grown(Rect::new(e.start, e.end), bow),
                    &|c| e.intersects(&rect_grown(c, bow)),
                    mark,
                );
            }
            // Cells whose centre is inside, row by row.
            let mut crossings: Vec<(f64, i32)> = Vec::new();
            let rows = (y0..=y1).filter(|_| holds_cells);
            for cy in rows {
                let yc = (cy as f64 + 0.5) * CELL;
                crossings.clear();
                for e in &edges {
                    let (a, b) = (e.start, e.end);
                    if (a.y <= yc) != (b.y <= yc) {
                        let x = a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y);
                        crossings.push((x, if b.y > a.y { 1 } else { -1 }));
                    }
                }
                crossings.sort_by(|p, q| p.0.total_cmp(&q.0));
                let mut winding = 0;
                for w in crossings.windows(2) {
                    winding += w[0].1;
                    if winding == 0 {
                        continue;
                    }
                    let from = (w[0].0 / CELL - 0.5).ceil().max(x0 as f64);
                    let to = (w[1].0 / CELL - 0.5).floor().min(x1 as f64);
                    let mut cx = from;
                    while cx <= to {
                        mark(cx as usize, cy);
                        cx += 1.0;
                    }
                }
            }
        }
        Shape::Spot { at, radius_m } => {
            let c = frame.project(at.0);
            let rho = frame.reach(*radius_m, at.y().abs());
            mark_cells(
                outer,
                &|cell| {
                    let dx = (cell.min().x - c.x).max(0.0).max(c.x - cell.max().x);
                    let dy = (cell.min().y - c.y).max(0.0).max(c.y - cell.max().y);
                    dx.hypot(dy) <= rho
                },
                mark,
            );
        }
        Shape::Linear { line, width_m } => {
            let (points, bow) = frame.project_path(&line.0);
            let max_lat = line.0.iter().map(|c| c.y.abs()).fold(0.0, f64::max);
            let r = frame.reach(width_m / 2.0, max_lat) + bow;
            if let [p] = points[..] {
                mark_cells(
                    rect_grown(Rect::new(p, p), r),
                    &|c| Point(p).intersects(&rect_grown(c, r)),
                    mark,
                );
            }
            for w in points.windows(2) {
                let seg = Line::new(w[0], w[1]);
                mark_cells(
                    rect_grown(Rect::new(w[0], w[1]), r),
                    &|c| seg.intersects(&rect_grown(c, r)),
                    mark,
                );
            }
        }
    }
}

/// A value as a map key, so that equal values share one entry in the layer's table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ValueKey {
    String(String),
    Float(u64),
    Int(i64),
    Bool(bool),
}

impl ValueKey {
    fn of(v: &TileValue) -> ValueKey {
        match v {
            TileValue::String(s) => ValueKey::String(s.clone()),
            TileValue::Float(f) => ValueKey::Float(f.to_bits()),
            TileValue::Int(i) => ValueKey::Int(*i),
            TileValue::Bool(b) => ValueKey::Bool(*b),
        }
    }
}

/// Builds one layer of the MVT 2.1 protocol buffer by hand: the schema is tiny.
struct LayerBuilder {
    name: String,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    values: Vec<TileValue>,
    value_index: HashMap<ValueKey, u32>,
    /// Encoded `features` fields (field 2 of Layer), one after another.
    features: Vec<u8>,
}

impl LayerBuilder {
    fn new(name: &str) -> LayerBuilder {
        LayerBuilder {
            name: name.to_string(),
            keys: Vec::new(),
            key_index: HashMap::new(),
            values: Vec::new(),
            value_index: HashMap::new(),
            features: Vec::new(),
        }
    }

    fn add(&mut self, id: Option<u64>, props: &[(&str, TileValue)], polygons: &[TilePolygon]) {
        let geometry = polygon_commands(polygons);
        if geometry.is_empty() {
            return;
        }
        let mut tags = Vec::with_capacity(props.len() * 2);
        for (k, v) in props {
            let ki = match self.key_index.get(*k) {
                Some(&i) => i,
                None => {
                    let i = self.keys.len() as u32;
                    self.keys.push(k.to_string());
                    self.key_index.insert(k.to_string(), i);
                    i
                }
            };
            let vk = ValueKey::of(v);
            let vi = match self.value_index.get(&vk) {
                Some(&i) => i,
                None => {
                    let i = self.values.len() as u32;
                    self.values.push(v.clone());
                    self.value_index.insert(vk, i);
                    i
                }
            };
            tags.push(ki);
            tags.push(vi);
        }
        let mut f = Vec::with_capacity(geometry.len() * 2 + tags.len() + 16);
        if let Some(id) = id {
            put_varint_field(&mut f, 1, id);
        }
        if !tags.is_empty() {
            put_packed(&mut f, 2, &tags);
        }
        // GeomType POLYGON.
        put_varint_field(&mut f, 3, 3);
        put_packed(&mut f, 4, &geometry);
        put_bytes(&mut self.features, 2, &f);
    }

    fn finish(self) -> Vec<u8> {
        let mut layer = Vec::with_capacity(self.features.len() + 64);
        put_varint_field(&mut layer, 15, 2);
        put_bytes(&mut layer, 1, self.name.as_bytes());
        layer.extend_from_slice(&self.features);
        for k in &self.keys {
            put_bytes(&mut layer, 3, k.as_bytes());
        }
        for v in &self.values {
            let mut m = Vec::new();
            match v {
                TileValue::String(s) => put_bytes(&mut m, 1, s.as_bytes()),
                TileValue::Float(f) => {
                    put_key(&mut m, 3, 1);
                    m.extend_from_slice(&f.to_le_bytes());
                }
                TileValue::Int(i) => put_varint_field(&mut m, 4, *i as u64),
                TileValue::Bool(b) => put_varint_field(&mut m, 7, u64::from(*b)),
            }
            put_bytes(&mut layer, 4, &m);
        }
        put_varint_field(&mut layer, 5, u64::from(EXTENT));
        let mut tile = Vec::with_capacity(layer.len() + 8);
        put_bytes(&mut tile, 3, &layer);
        tile
    }
}

/// MoveTo, LineTo and ClosePath commands with zigzag deltas for polygons' rings.
fn polygon_commands(polygons: &[TilePolygon]) -> Vec<u32> {
    let command = |id: u32, count: usize| (id & 7) | ((count as u32) << 3);
    let zigzag = |v: i32| ((v << 1) ^ (v >> 31)) as u32;
    let mut out = Vec::new();
    let mut cursor = [0i32; 2];
    for polygon in polygons {
        for ring in polygon {
            if ring.len() < 3 {
                continue;
            }
            out.push(command(1, 1));
            out.push(zigzag(ring[0][0] - cursor[0]));
            out.push(zigzag(ring[0][1] - cursor[1]));
            cursor = ring[0];
            out.push(command(2, ring.len() - 1));
            for p in &ring[1..] {
                out.push(zigzag(p[0] - cursor[0]));
                out.push(zigzag(p[1] - cursor[1]));
                cursor = *p;
            }
            out.push(command(7, 1));
        }
    }
    out
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_key(buf: &mut Vec<u8>, field: u32, wire_type: u32) {
    put_varint(buf, u64::from((field << 3) | wire_type));
}

fn put_varint_field(buf: &mut Vec<u8>, field: u32, v: u64) {
    put_key(buf, field, 0);
    put_varint(buf, v);
}

fn put_bytes(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(buf, field, 2);
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

fn put_packed(buf: &mut Vec<u8>, field: u32, values: &[u32]) {
    let mut m = Vec::with_capacity(values.len() * 2);
    for v in values {
        put_varint(&mut m, u64::from(*v));
    }
    put_bytes(buf, field, &m);
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Status;
    use geo::{Area, Bearing, Contains, Destination, Geodesic};
    use geo_types::Geometry;
    use mvt_reader::Reader;
    use mvt_reader::feature::{Feature, Value};
    use mvt_reader::layer::Layer;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Tile coordinates of a lon/lat by the slippy-map formulas, apart from `Frame`.
    fn osm(z: u8, x: u32, y: u32, c: Coord<f64>) -> Coord<f64> {
        let n = 2f64.powi(i32::from(z));
        let lat = c.y.to_radians();
        let tx = n * (c.x + 180.0) / 360.0;
        let ty = n * (1.0 - lat.tan().asinh() / PI) / 2.0;
        Coord {
            x: (tx - f64::from(x)) * 4096.0,
            y: (ty - f64::from(y)) * 4096.0,
        }
    }

    /// The tile at zoom `z` holding a lon/lat.
    fn tile_of(z: u8, c: Coord<f64>) -> (u32, u32) {
        let t = osm(z, 0, 0, c);
        let n = 1u32 << z;
        (
            ((t.x / 4096.0).floor() as u32).min(n - 1),
            ((t.y / 4096.0).floor() as u32).min(n - 1),
        )
    }

    fn decode(bytes: &[u8]) -> (Vec<Layer>, Vec<Feature<f64>>) {
        let r = Reader::new(bytes.to_vec()).expect("the tile decodes");
        let layers = r.get_layer_metadata().expect("layer metadata");
        let features = r.get_features_as::<f64>(0).expect("features decode");
        (layers, features)
    }

    fn polygons_of(g: &Geometry<f64>) -> Vec<Polygon<f64>> {
        match g {
            Geometry::Polygon(p) => vec![p.clone()],
            Geometry::MultiPolygon(m) => m.0.clone(),
            other => panic!("not a polygon: {other:?}"),
        }
    }

    fn in_buffered_tile(t: Coord<f64>) -> bool {
        let lo = -(BUFFER as f64);
        let hi = (EXTENT + BUFFER) as f64;
        t.x >= lo && t.x <= hi && t.y >= lo && t.y <= hi
    }

    fn lerp(a: Coord<f64>, b: Coord<f64>, t: f64) -> Coord<f64> {
        Coord {
            x: a.x + (b.x - a.x) * t,
            y: a.y + (b.y - a.y) * t,
        }
    }

    fn offset(c: Coord<f64>, dx_m: f64, dy_m: f64) -> Coord<f64> {
        Coord {
            x: c.x + dx_m / (111_320.0 * c.y.to_radians().cos()),
            y: c.y + dy_m / 110_574.0,
        }
    }

    /// Points of a hazard, in lon/lat: its vertices, points along its edges, points inside,
    /// and points at its radius or half-width from the centre or line.
    fn check_points(shape: &Shape, rng: &mut StdRng) -> Vec<Coord<f64>> {
        let mut out = Vec::new();
        match shape {
            Shape::Polygon(_) | Shape::MultiPolygon(_) => {
                let m = match shape {
                    Shape::Polygon(p) => MultiPolygon(vec![p.clone()]),
                    Shape::MultiPolygon(m) => m.clone(),
                    _ => unreachable!(),
                };
                for p in &m {
                    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                        for w in ring.0.windows(2) {
                            for t in [0.0, 0.25, 0.5, 0.75] {
                                out.push(lerp(w[0], w[1], t));
                            }
                        }
                    }
                }
                let b = m.bounding_rect().expect("a box");
                for _ in 0..40 {
                    let c = Coord {
                        x: rng.random_range(b.min().x..=b.max().x),
                        y: rng.random_range(b.min().y..=b.max().y),
                    };
                    if m.contains(&Point(c)) {
                        out.push(c);
                    }
                }
            }
            Shape::Spot { at, radius_m } => {
                out.push(at.0);
                for k in 0..72 {
                    let bearing = f64::from(k) * 5.0;
                    out.push(Geodesic.destination(*at, bearing, *radius_m).0);
                    out.push(Geodesic.destination(*at, bearing, radius_m * 0.7).0);
                }
            }
            Shape::Linear { line, width_m } => {
                let h = width_m / 2.0;
                for w in line.0.windows(2) {
                    let bearing = Geodesic.bearing(Point(w[0]), Point(w[1]));
                    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
                        let p = Point(lerp(w[0], w[1], t));
                        out.push(p.0);
                        out.push(Geodesic.destination(p, bearing + 90.0, h).0);
                        out.push(Geodesic.destination(p, bearing - 90.0, h).0);
                    }
                }
                for c in &line.0 {
                    for k in 0..24 {
                        out.push(Geodesic.destination(Point(*c), f64::from(k) * 15.0, h).0);
                    }
                }
            }
        }
        out
    }

    fn star(rng: &mut StdRng, c: Coord<f64>, size: f64, hole: bool) -> Polygon<f64> {
        let n = rng.random_range(if hole { 8..60 } else { 3..60 });
        let ring = |rng: &mut StdRng, lo: f64, hi: f64| -> LineString<f64> {
            let mut pts: Vec<Coord<f64>> = (0..n)
                .map(|i| {
                    let a = (f64::from(i) + rng.random_range(0.0..0.8)) / f64::from(n)
                        * std::f64::consts::TAU;
                    let r = size * rng.random_range(lo..hi);
                    offset(c, r * a.cos(), r * a.sin())
                })
                .collect();
            pts.push(pts[0]);
            LineString(pts)
        };
        let exterior = ring(rng, 0.3, 1.0);
        let holes = if hole {
            vec![ring(rng, 0.05, 0.15)]
        } else {
            vec![]
        };
        Polygon::new(exterior, holes)
    }

    fn random_shape(rng: &mut StdRng) -> Shape {
        let c = if rng.random_bool(0.8) {
            Coord {
                x: rng.random_range(22.0..40.0),
                y: rng.random_range(44.0..52.5),
            }
        } else {
            Coord {
                x: rng.random_range(-170.0..170.0),
                y: rng.random_range(-70.0..70.0),
            }
        };
        let size = 10f64.powf(rng.random_range(0.3..4.0));
        let shape = match rng.random_range(0..4) {
            0 => {
                let hole = rng.random_bool(0.3);
                Shape::Polygon(star(rng, c, size, hole))
            }
            1 => {
                let a = star(rng, c, size, false);
                let b = star(rng, offset(c, size * 2.5, size * 0.5), size, true);
                Shape::MultiPolygon(MultiPolygon(vec![a, b]))
            }
            2 => Shape::Spot {
                at: Point(c),
                radius_m: size,
            },
            _ => {
                let mut pts = vec![c];
                let mut heading: f64 = rng.random_range(0.0..360.0);
                for _ in 0..rng.random_range(1..9) {
                    heading += rng.random_range(-60.0..60.0);
                    let step = size * rng.random_range(0.2..1.5);
                    let last = *pts.last().expect("a point");
                    let h = heading.to_radians();
                    pts.push(offset(last, step * h.sin(), step * h.cos()));
                }
                Shape::Linear {
                    line: LineString(pts),
                    width_m: rng.random_range(1.0..100.0),
                }
            }
        };
        shape.oriented()
    }

    /// Asserts that every check point of `shape` inside the buffered tile is in the decoded
    /// feature; returns how many points were checked.
    fn assert_covers(z: u8, x: u32, y: u32, shape: &Shape, rng: &mut StdRng) -> usize {
        let feature = TileFeature {
            id: Some(7),
            shape,
            props: vec![],
        };
        let bytes = encode(z, x, y, "hazards", &[feature]);
        let (_, features) = decode(&bytes);
        let geometry = features.first().map(|f| f.geometry.clone());
        let mut checked = 0;
        for c in check_points(shape, rng) {
            let t = osm(z, x, y, c);
            if !in_buffered_tile(t) {
                continue;
            }
            checked += 1;
            let Some(g) = &geometry else {
                panic!(
                    "{shape:?} at {z}/{x}/{y}: no feature, yet {c:?} (tile {t:?}) is in the tile"
                );
            };
            assert!(
                g.intersects(&Point(t)),
                "{shape:?} at {z}/{x}/{y}: {c:?} (tile {t:?}) is not covered by {g:?}"
            );
        }
        checked
    }

    /// The signed area of a ring by the surveyor's formula (a `LineString` itself has none).
    fn ring_area(r: &LineString<f64>) -> f64 {
        Polygon::new(r.clone(), vec![]).signed_area()
    }

    fn assert_winding(g: &Geometry<f64>) {
        for p in polygons_of(g) {
            assert!(
                ring_area(p.exterior()) > 0.0,
                "exterior rings have positive area in tile coordinates: {p:?}"
            );
            for h in p.interiors() {
                assert!(ring_area(h) < 0.0, "holes have negative area: {p:?}");
            }
        }
    }

    #[test]
    fn tile_bbox_matches_known_values() {
        let (min, max) = tile_bbox(0, 0, 0, 0.0);
        assert!((min.x + 180.0).abs() < 1e-9 && (max.x - 180.0).abs() < 1e-9);
        assert!((min.y + MAX_LAT).abs() < 1e-9 && (max.y - MAX_LAT).abs() < 1e-9);
        let (min, max) = tile_bbox(1, 0, 0, 0.0);
        assert!(
            (min.x + 180.0).abs() < 1e-9 && max.x.abs() < 1e-9,
            "{min:?} {max:?}"
        );
        assert!(
            min.y.abs() < 1e-9 && (max.y - MAX_LAT).abs() < 1e-9,
            "{min:?} {max:?}"
        );
        // Zoom 10 tile 612/355 (Kyiv region): the slippy-map formulas give its corners.
        let (min, max) = tile_bbox(10, 612, 355, 0.0);
        let lon = |x: f64| x / 1024.0 * 360.0 - 180.0;
        let lat = |y: f64| (PI * (1.0 - 2.0 * y / 1024.0)).sinh().atan().to_degrees();
        assert!((min.x - lon(612.0)).abs() < 1e-9 && (max.x - lon(613.0)).abs() < 1e-9);
        assert!((max.y - lat(355.0)).abs() < 1e-9 && (min.y - lat(356.0)).abs() < 1e-9);
        // A buffer of 4 pixels widens it by 4/256 of a tile each way in longitude.
        let (bmin, bmax) = tile_bbox(10, 612, 355, BUFFER_PX);
        let w = 360.0 / 1024.0 * 4.0 / 256.0;
        assert!((bmin.x - (min.x - w)).abs() < 1e-9 && (bmax.x - (max.x + w)).abs() < 1e-9);
        assert!(bmin.y < min.y && bmax.y > max.y);
        // The buffer is clamped at the antimeridian.
        assert_eq!(tile_bbox(1, 0, 0, BUFFER_PX).0.x, -180.0);
    }

    #[test]
    fn projection_agrees_with_the_slippy_map_formulas() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let c = Coord {
                x: rng.random_range(-180.0..180.0),
                y: rng.random_range(-85.0..85.0),
            };
            let z = rng.random_range(0..=16u8);
            let (x, y) = tile_of(z, c);
            let f = Frame::new(z, x, y);
            let a = f.project(c);
            let b = osm(z, x, y, c);
            assert!(
                (a.x - b.x).abs() < 1e-6 && (a.y - b.y).abs() < 1e-6,
                "{a:?} {b:?}"
            );
            let back = f.unproject(a);
            assert!((back.x - c.x).abs() < 1e-9 && (back.y - c.y).abs() < 1e-9);
        }
    }

    #[test]
    fn encoded_tiles_decode_with_layer_ids_attributes_and_winding() {
        let field = Shape::Polygon(star(
            &mut StdRng::seed_from_u64(2),
            Coord { x: 36.23, y: 49.99 },
            800.0,
            true,
        ))
        .oriented();
        let spot = Shape::Spot {
            at: Point::new(36.25, 49.98),
            radius_m: 50.0,
        };
        let track = Shape::Linear {
            line: LineString(vec![
                Coord { x: 36.20, y: 49.97 },
                Coord {
                    x: 36.21,
                    y: 49.975,
                },
                Coord {
                    x: 36.22,
                    y: 49.972,
                },
            ]),
            width_m: 20.0,
        };
        let far = Shape::Spot {
            at: Point::new(-70.0, -30.0),
            radius_m: 50.0,
        };
        let features = vec![
            TileFeature {
                id: Some(1),
                shape: &field,
                props: vec![
                    ("id", TileValue::String("HA-000001".into())),
                    ("status", TileValue::String("confirmed".into())),
                    ("area_m2", TileValue::Float(1234.5)),
                    ("rank", TileValue::Int(-3)),
                    ("danger", TileValue::Bool(true)),
                ],
            },
            TileFeature {
                id: Some(2),
                shape: &spot,
                props: vec![("status", TileValue::String("confirmed".into()))],
            },
            TileFeature {
                id: None,
                shape: &track,
                props: vec![("status", TileValue::String("suspected".into()))],
            },
            TileFeature {
                id: Some(4),
                shape: &far,
                props: vec![],
            },
        ];
        let z = 12;
        let (x, y) = tile_of(z, Coord { x: 36.23, y: 49.98 });
        let bytes = encode(z, x, y, "hazards", &features);
        let (layers, decoded) = decode(&bytes);
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].name, "hazards");
        assert_eq!(layers[0].extent, 4096);
        assert_eq!(layers[0].version, 2);
        // The far spot is outside the tile and left out.
        assert_eq!(layers[0].feature_count, 3);
        assert_eq!(decoded.len(), 3);
        assert_eq!(
            decoded.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec![Some(1), Some(2), None]
        );
        let props = decoded[0].properties.as_ref().expect("properties");
        assert_eq!(props["id"], Value::String("HA-000001".into()));
        assert_eq!(props["status"], Value::String("confirmed".into()));
        assert_eq!(props["area_m2"], Value::Double(1234.5));
        assert_eq!(props["rank"], Value::Int(-3));
        assert_eq!(props["danger"], Value::Bool(true));
        let props = decoded[2].properties.as_ref().expect("properties");
        assert_eq!(props["status"], Value::String("suspected".into()));
        assert_eq!(props.len(), 1);
        for f in &decoded {
            assert_winding(&f.geometry);
        }
        // The field's hole survives, wound the other way.
        let p = polygons_of(&decoded[0].geometry);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].interiors().len(), 1);
    }

    #[test]
    fn holes_stay_open_and_outlines_stay_covered() {
        let c = Coord { x: 36.0, y: 50.0 };
        let square = |half: f64| {
            LineString(vec![
                offset(c, -half, -half),
                offset(c, half, -half),
                offset(c, half, half),
                offset(c, -half, half),
                offset(c, -half, -half),
            ])
        };
        let shape = Shape::Polygon(Polygon::new(square(500.0), vec![square(200.0)])).oriented();
        let z = 14;
        let (x, y) = tile_of(z, c);
        let mut rng = StdRng::seed_from_u64(3);
        assert!(assert_covers(z, x, y, &shape, &mut rng) > 0);
        let bytes = encode(
            z,
            x,
            y,
            "hazards",
            &[TileFeature {
                id: None,
                shape: &shape,
                props: vec![],
            }],
        );
        let (_, decoded) = decode(&bytes);
        let g = &decoded[0].geometry;
        assert_winding(g);
        assert!(
            !g.intersects(&Point(osm(z, x, y, c))),
            "the hole's middle is open"
        );
        // Drawn outward by a few units at most: the area is close to the true one.
        let drawn: f64 = polygons_of(g).iter().map(|p| p.unsigned_area()).sum();
        let upm = Frame::new(z, x, y).reach(1.0, 50.0);
        let truth = (1000.0f64.powi(2) - 400.0f64.powi(2)) * upm * upm;
        assert!(
            drawn >= truth * 0.99 && drawn < truth * 1.03,
            "{drawn} vs {truth}"
        );
    }

    #[test]
    fn every_point_of_random_hazards_is_covered_at_every_zoom() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut checked = 0;
        for i in 0..1500 {
            let shape = random_shape(&mut rng);
            let z = (i % 17) as u8;
            let anchor = match &shape {
                Shape::Polygon(p) => p.exterior().0[0],
                Shape::MultiPolygon(m) => m.0[0].exterior().0[0],
                Shape::Spot { at, .. } => at.0,
                Shape::Linear { line, .. } => line.0[0],
            };
            let (mut x, mut y) = tile_of(z, anchor);
            // Half the time a neighbouring tile, to exercise clipping and the buffer.
            let n = 1u32 << z;
            if rng.random_bool(0.5) && n > 2 {
                x = (x + 1).min(n - 1);
                y = y.saturating_sub(rng.random_range(0..2));
            }
            checked += assert_covers(z, x, y, &shape, &mut rng);
        }
        assert!(checked > 50_000, "{checked}");
    }

    #[test]
    fn long_edges_bowing_in_mercator_stay_covered() {
        // Edges straight in lon/lat bow by several units in a z16 tile when they span
        // kilometres of latitude; both sides of the bow are tried.
        let mut rng = StdRng::seed_from_u64(8);
        let mut checked = 0;
        for lat in [48.0, 60.0, -55.0] {
            let a = Coord { x: 30.0, y: lat };
            let b = Coord {
                x: 30.02,
                y: lat + 0.06,
            };
            let c = Coord {
                x: 30.08,
                y: lat + 0.01,
            };
            let shapes = [
                Shape::Polygon(Polygon::new(LineString(vec![a, b, c, a]), vec![])).oriented(),
                Shape::Polygon(Polygon::new(LineString(vec![a, c, b, a]), vec![])).oriented(),
                Shape::Linear {
                    line: LineString(vec![a, b]),
                    width_m: 2.0,
                },
            ];
            for shape in &shapes {
                for z in [15u8, 16] {
                    for edge in [(a, b), (b, c), (c, a)] {
                        let (x, y) = tile_of(z, lerp(edge.0, edge.1, 0.5));
                        checked += assert_covers(z, x, y, shape, &mut rng);
                        let bytes = encode(
                            z,
                            x,
                            y,
                            "h",
                            &[TileFeature {
                                id: None,
                                shape,
                                props: vec![],
                            }],
                        );
                        let (_, decoded) = decode(&bytes);
                        let Some(f) = decoded.first() else {
                            continue;
                        };
                        for k in 0..=400 {
                            let t = osm(z, x, y, lerp(edge.0, edge.1, f64::from(k) / 400.0));
                            if in_buffered_tile(t) && matches!(shape, Shape::Polygon(_)) {
                                checked += 1;
                                assert!(f.geometry.intersects(&Point(t)), "z{z} {t:?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn tiny_hazards_at_low_zoom_become_whole_units() {
        let mut rng = StdRng::seed_from_u64(5);
        for z in 0..=9u8 {
            let spot = Shape::Spot {
                at: Point::new(37.123, 47.987),
                radius_m: 3.0,
            };
            let (x, y) = tile_of(z, spot.geometry().bounding_rect().expect("a box").min());
            assert!(assert_covers(z, x, y, &spot, &mut rng) > 0);
            let bytes = encode(
                z,
                x,
                y,
                "h",
                &[TileFeature {
                    id: None,
                    shape: &spot,
                    props: vec![],
                }],
            );
            let (_, decoded) = decode(&bytes);
            let p = polygons_of(&decoded[0].geometry);
            assert_eq!(p.len(), 1);
            // A box of whole units, at least one each way.
            let b = p[0].bounding_rect().expect("a box");
            assert!(
                b.width() >= 1.0 && b.height() >= 1.0 && b.width() <= 4.0,
                "{b:?}"
            );
            assert_eq!(p[0].exterior().0.len(), 5);
        }
    }

    #[test]
    fn clipping_keeps_geometry_near_the_tile() {
        // A polygon much larger than a z16 tile.
        let c = Coord { x: 30.5, y: 50.4 };
        let big = Shape::Polygon(star(&mut StdRng::seed_from_u64(6), c, 5000.0, false)).oriented();
        let z = 16;
        let (x, y) = tile_of(z, c);
        let bytes = encode(
            z,
            x,
            y,
            "h",
            &[TileFeature {
                id: None,
                shape: &big,
                props: vec![],
            }],
        );
        let (_, decoded) = decode(&bytes);
        let b = decoded[0].geometry.bounding_rect().expect("a box");
        let lim = (EXTENT + BUFFER) as f64 + KEEP_GROW + 1.0;
        assert!(
            b.min().x >= -lim + 4096.0 - 4096.0 && b.max().x <= lim,
            "{b:?}"
        );
        assert!(
            b.min().y >= -(BUFFER as f64) - KEEP_GROW - 1.0 && b.max().y <= lim,
            "{b:?}"
        );
        // The tile is inside the hazard: all of it is covered.
        for t in [
            [-64.0, -64.0],
            [4160.0, -64.0],
            [4160.0, 4160.0],
            [-64.0, 4160.0],
        ] {
            assert!(decoded[0].geometry.intersects(&Point::new(t[0], t[1])));
        }
        assert!(
            bytes.len() < 200,
            "a tile inside a hazard is a square: {}",
            bytes.len()
        );
    }

    fn rank(s: Status) -> u8 {
        match s {
            Status::Confirmed => 3,
            Status::Suspected => 2,
            Status::Reduced => 1,
            _ => 0,
        }
    }

    fn status_name(r: u8) -> TileValue {
        TileValue::String(
            match r {
                3 => "confirmed",
                2 => "suspected",
                1 => "reduced",
                _ => "other",
            }
            .into(),
        )
    }

    #[test]
    fn cells_count_hazards_and_keep_the_worst_status() {
        let z = 8;
        let (x, y) = tile_of(z, Coord { x: 36.0, y: 49.0 });
        let f = Frame::new(z, x, y);
        // Two spots in one cell, one in another, one outside the tile.
        let cell_centre = |cx: f64, cy: f64| {
            f.unproject(Coord {
                x: (cx + 0.5) * 64.0,
                y: (cy + 0.5) * 64.0,
            })
        };
        let a = Shape::Spot {
            at: Point(cell_centre(10.0, 20.0)),
            radius_m: 10.0,
        };
        let b = Shape::Spot {
            at: Point(cell_centre(10.0, 20.0)),
            radius_m: 20.0,
        };
        let c = Shape::Spot {
            at: Point(cell_centre(30.0, 5.0)),
            radius_m: 20.0,
        };
        let d = Shape::Spot {
            at: Point(f.unproject(Coord {
                x: -500.0,
                y: 100.0,
            })),
            radius_m: 20.0,
        };
        let cells = aggregate(z, x, y, &[(&a, 2), (&b, 3), (&c, 1), (&d, 3)]);
        assert_eq!(
            cells,
            vec![
                AggregateCell {
                    min: [30 * 64, 5 * 64],
                    max: [31 * 64, 6 * 64],
                    count: 1,
                    severity: 1
                },
                AggregateCell {
                    min: [10 * 64, 20 * 64],
                    max: [11 * 64, 21 * 64],
                    count: 2,
                    severity: 3
                },
            ]
        );
        let bytes = encode_cells("hazards", &cells, status_name);
        let (layers, decoded) = decode(&bytes);
        assert_eq!(layers[0].name, "hazards");
        assert_eq!(decoded.len(), 2);
        let p = decoded[1].properties.as_ref().expect("properties");
        assert_eq!(p["count"], Value::Int(2));
        assert_eq!(p["status"], Value::String("confirmed".into()));
        assert_winding(&decoded[1].geometry);
        let r = decoded[1].geometry.bounding_rect().expect("a box");
        assert_eq!(
            (r.min().x, r.min().y, r.max().x, r.max().y),
            (640.0, 1280.0, 704.0, 1344.0)
        );
        // A long diagonal track marks a band of cells, not its whole bounding box.
        let track = Shape::Linear {
            line: LineString(vec![
                f.unproject(Coord { x: 10.0, y: 10.0 }),
                f.unproject(Coord {
                    x: 4000.0,
                    y: 4000.0,
                }),
            ]),
            width_m: 10.0,
        };
        let cells = aggregate(z, x, y, &[(&track, 2)]);
        assert!(cells.len() >= 63 && cells.len() < 64 * 4, "{}", cells.len());
    }

    fn synth_hazards(n: u64) -> Vec<(Shape, Status, String)> {
        let s = cairn_synth::Synth::new(1, cairn_synth::default_until());
        (0..n)
            .map(|i| s.area(i))
            .filter(|a| a.props.status.is_open_hazard())
            .map(|a| (a.shape, a.props.status, a.id))
            .collect()
    }

    /// The tile at zoom `z` holding the most hazards (by the middle of their boxes).
    fn densest_tile(z: u8, hazards: &[(Shape, Status, String)]) -> (u32, u32) {
        let mut counts: HashMap<(u32, u32), usize> = HashMap::new();
        for (s, _, _) in hazards {
            if let Some(b) = s.bbox() {
                *counts.entry(tile_of(z, b.center())).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|(t, n)| (*n, *t))
            .map(|(t, _)| t)
            .expect("some hazards")
    }

    fn in_tile(z: u8, x: u32, y: u32, hazards: &[(Shape, Status, String)]) -> Vec<usize> {
        let (min, max) = tile_bbox(z, x, y, BUFFER_PX);
        let q = Rect::new(min, max);
        (0..hazards.len())
            .filter(|&i| {
                hazards[i]
                    .0
                    .covering_bbox()
                    .is_some_and(|b| rects_meet(&b, &q))
            })
            .collect()
    }

    #[test]
    fn cells_cover_every_synthetic_hazard() {
        let hazards = synth_hazards(4000);
        let mut rng = StdRng::seed_from_u64(7);
        for z in [6u8, 9, 11] {
            let (x, y) = densest_tile(z, &hazards);
            let chosen = in_tile(z, x, y, &hazards);
            let shapes: Vec<(&Shape, u8)> = chosen
                .iter()
                .map(|&i| (&hazards[i].0, rank(hazards[i].1)))
                .collect();
            let cells = aggregate(z, x, y, &shapes);
            let marked: HashMap<(i32, i32), &AggregateCell> = cells
                .iter()
                .map(|c| ((c.min[0] / 64, c.min[1] / 64), c))
                .collect();
            let mut touching = 0;
            for &i in &chosen {
                let mut inside = false;
                for c in check_points(&hazards[i].0, &mut rng) {
                    let t = osm(z, x, y, c);
                    if !(0.0..=4096.0).contains(&t.x) || !(0.0..=4096.0).contains(&t.y) {
                        continue;
                    }
                    inside = true;
                    // The cell holding the point, or a neighbour when it sits on a cell edge.
                    let cx = (t.x / 64.0).floor() as i32;
                    let cy = (t.y / 64.0).floor() as i32;
                    let found = [(0, 0), (-1, 0), (0, -1), (-1, -1)].iter().any(|(dx, dy)| {
                        marked.get(&(cx + dx, cy + dy)).is_some_and(|cell| {
                            let r = Rect::new(
                                Coord {
                                    x: f64::from(cell.min[0]),
                                    y: f64::from(cell.min[1]),
                                },
                                Coord {
                                    x: f64::from(cell.max[0]),
                                    y: f64::from(cell.max[1]),
                                },
                            );
                            r.intersects(&Point(t)) && cell.severity >= rank(hazards[i].1)
                        })
                    });
                    assert!(
                        found,
                        "z{z}: {} point {c:?} (tile {t:?}) not in a cell",
                        hazards[i].2
                    );
                }
                touching += usize::from(inside);
            }
            let total: u32 = cells.iter().map(|c| c.count).sum();
            assert!(
                total as usize >= touching && touching > 0,
                "{total} {touching}"
            );
            assert!(cells.iter().all(|c| c.count as usize <= chosen.len()));
        }
    }

    /// Encodes the densest tile of `n` synthetic areas at each zoom the way the service would;
    /// returns (zoom, hazards in the tile, aggregated, bytes, milliseconds).
    fn dense_tile_sizes(n: u64) -> Vec<(u8, usize, bool, usize, u128)> {
        let hazards = synth_hazards(n);
        let mut out = Vec::new();
        for z in [6u8, 8, 10, 12, 14] {
            let (x, y) = densest_tile(z, &hazards);
            let chosen = in_tile(z, x, y, &hazards);
            let start = std::time::Instant::now();
            let agg = aggregates(z, chosen.len());
            let bytes = if agg {
                let shapes: Vec<(&Shape, u8)> = chosen
                    .iter()
                    .map(|&i| (&hazards[i].0, rank(hazards[i].1)))
                    .collect();
                encode_cells("hazards", &aggregate(z, x, y, &shapes), status_name)
            } else {
                let features: Vec<TileFeature<'_>> = chosen
                    .iter()
                    .map(|&i| TileFeature {
                        id: Some(i as u64),
                        shape: &hazards[i].0,
                        props: vec![
                            ("id", TileValue::String(hazards[i].2.clone())),
                            ("status", status_name(rank(hazards[i].1))),
                        ],
                    })
                    .collect();
                encode(z, x, y, "hazards", &features)
            };
            let ms = start.elapsed().as_millis();
            // Every tile must decode.
            decode(&bytes);
            out.push((z, chosen.len(), agg, bytes.len(), ms));
        }
        out
    }

    #[test]
    fn dense_tiles_stay_small() {
        for (z, n, agg, size, ms) in dense_tile_sizes(20_000) {
            println!("z{z}: {n} hazards, aggregated {agg}, {size} bytes, {ms} ms");
            if z <= 8 {
                assert!(size < 60_000, "z{z}: {size} bytes");
            }
        }
    }

    #[test]
    fn tilejson_describes_the_layer() {
        let j = tilejson(
            "http://host/tiles/{z}/{x}/{y}.mvt",
            "hazards",
            &[("id", "Hazard id"), ("status", "Status")],
            [22.0, 44.0, 40.5, 52.5],
        );
        assert_eq!(j["tilejson"], "3.0.0");
        assert_eq!(j["tiles"][0], "http://host/tiles/{z}/{x}/{y}.mvt");
        assert_eq!(j["vector_layers"][0]["id"], "hazards");
        assert_eq!(j["vector_layers"][0]["fields"]["status"], "Status");
        assert_eq!(j["vector_layers"][0]["fields"]["id"], "Hazard id");
        assert_eq!(j["minzoom"], 0);
        assert_eq!(j["maxzoom"], 16);
        assert_eq!(j["bounds"], serde_json::json!([22.0, 44.0, 40.5, 52.5]));
    }

    #[test]
    fn the_path_depends_on_zoom_and_count() {
        assert!(aggregates(9, 1));
        assert!(!aggregates(10, 2000));
        assert!(aggregates(14, 2001));
    }
}
