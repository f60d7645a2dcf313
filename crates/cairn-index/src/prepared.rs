//! Prepared polygons: each ring's edges bucketed into latitude bands, so that a place check
//! reads only the edges that can matter: those crossing the place's latitude (for containment)
//! and those within the accuracy radius's band of latitudes (for distance), instead of every
//! edge of every candidate. Built once per hazard when it enters the index.

use cairn_core::Shape;
use geo_types::LineString;

/// Rings with fewer edges than this are scanned whole: bands would not pay for themselves.
const MIN_EDGES: usize = 16;
/// Average edges per band aimed at.
const EDGES_PER_BAND: usize = 4;
/// Most bands a ring gets.
const MAX_BANDS: usize = 64;

/// One ring's edges by latitude band. Edge `e` joins vertices `e` and `e + 1`; an edge is listed
/// in every band its latitude range meets.
#[derive(Clone, Debug, Default)]
pub struct RingBands {
    y0: f64,
    y1: f64,
    scale: f64,
    /// In one allocation (one cache miss fewer per ring): `bands + 1` offsets, each band's edges
    /// starting at `data[bands + 1 + offset]`, then the edges. Empty when the ring is scanned whole.
    data: Box<[u32]>,
}

impl RingBands {
    fn new(ring: &LineString<f64>) -> RingBands {
        let pts = &ring.0;
        let n_edges = pts.len().saturating_sub(1);
        if n_edges < MIN_EDGES || pts.len() > u32::MAX as usize / 2 {
            return RingBands::default();
        }
        let (y0, y1) = pts
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                (lo.min(c.y), hi.max(c.y))
            });
        if y1 <= y0 || !y0.is_finite() || !y1.is_finite() {
            return RingBands::default();
        }
        let k = (n_edges / EDGES_PER_BAND).clamp(2, MAX_BANDS);
        let mut rb = RingBands {
            y0,
            y1,
            scale: k as f64 / (y1 - y0),
            data: Box::default(),
        };
        let span = |w: &[geo_types::Coord<f64>]| {
            let (lo, hi) = (w[0].y.min(w[1].y), w[0].y.max(w[1].y));
            (rb.band_of(lo, k), rb.band_of(hi, k))
        };
        let mut counts = vec![0u32; k + 1];
        for w in pts.windows(2) {
            let (b0, b1) = span(w);
            for c in &mut counts[b0..=b1] {
                *c += 1;
            }
        }
        let mut offsets = vec![0u32; k + 1];
        for b in 0..k {
            offsets[b + 1] = offsets[b] + counts[b];
        }
        let mut fill = offsets.clone();
        let mut data = offsets;
        data.resize(k + 1 + fill[k] as usize, 0);
        for (e, w) in pts.windows(2).enumerate() {
            let (b0, b1) = span(w);
            for f in &mut fill[b0..=b1] {
                data[k + 1 + *f as usize] = e as u32;
                *f += 1;
            }
        }
        rb.data = data.into_boxed_slice();
        rb
    }

    fn band_of(&self, y: f64, k: usize) -> usize {
        let b = ((y - self.y0) * self.scale).floor();
        if b <= 0.0 { 0 } else { (b as usize).min(k - 1) }
    }

    /// Number of bands; 0 when the ring is scanned whole.
    pub fn bands(&self) -> usize {
        if self.data.is_empty() {
            0
        } else {
            ((self.y1 - self.y0) * self.scale).round() as usize
        }
    }

    /// The band holding latitude `y`, when `y` lies within the ring's latitudes.
    pub fn band(&self, y: f64) -> Option<usize> {
        (y >= self.y0 && y <= self.y1).then(|| self.band_of(y, self.bands()))
    }

    /// The bands meeting latitudes [lo, hi], when any do.
    pub fn bands_between(&self, lo: f64, hi: f64) -> Option<(usize, usize)> {
        if hi < self.y0 || lo > self.y1 {
            return None;
        }
        let k = self.bands();
        Some((
            self.band_of(lo.max(self.y0), k),
            self.band_of(hi.min(self.y1), k),
        ))
    }

    /// The edges listed in band `b`.
    pub fn edges(&self, b: usize) -> &[u32] {
        let base = self.bands() + 1;
        &self.data[base + self.data[b] as usize..base + self.data[b + 1] as usize]
    }

    /// The first band an edge whose lowest latitude is `lo_y` is listed in.
    pub fn first_band(&self, lo_y: f64) -> usize {
        self.band_of(lo_y, self.bands())
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.data.len() * 4
    }
}

/// A hazard's rings, prepared: for a polygon its exterior then its holes; for a multipolygon the
/// same for each part in turn; nothing for spots and tracks, nor when no ring is long enough.
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    /// The first ring's bands, held inline (one cache miss fewer per hazard).
    first: RingBands,
    /// The other rings' bands.
    rest: Box<[RingBands]>,
}

impl Prepared {
    /// Prepares a shape's rings.
    pub fn new(shape: &Shape) -> Prepared {
        let rings: Vec<RingBands> = match shape {
            Shape::Polygon(p) => std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(RingBands::new)
                .collect(),
            Shape::MultiPolygon(m) => {
                m.0.iter()
                    .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                    .map(RingBands::new)
                    .collect()
            }
            _ => Vec::new(),
        };
        if rings.iter().all(|r| r.bands() == 0) {
            return Prepared::default();
        }
        let mut rings = rings.into_iter();
        let first = rings.next().unwrap_or_default();
        Prepared {
            first,
            rest: rings.collect(),
        }
    }

    /// True when no ring has bands (every ring is scanned whole).
    pub fn is_empty(&self) -> bool {
        self.first.bands() == 0 && self.rest.is_empty()
    }

    /// The rings' bands in order.
    pub fn rings(&self) -> impl Iterator<Item = &RingBands> {
        std::iter::once(&self.first).chain(self.rest.iter())
    }
}

impl Prepared {
    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.rest.len() * std::mem::size_of::<RingBands>()
            + self.rings().map(RingBands::heap_bytes).sum::<usize>()
    }
}
