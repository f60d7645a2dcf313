//! The in-memory spatial read model: an R*-tree over the current hazards, answering place,
//! route, box and nearest queries in metres. Built from the store at start (bulk load) and kept
//! current on every write by `upsert`, without a rebuild.

pub mod distance;
pub mod geodesy;
pub mod grid;
mod names;
pub mod prepared;
pub mod route;
pub mod shared;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_core::{Catalogue, HazardArea, Shape, Status};
use geo::Intersects;
use geo_types::{Coord, LineString, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::Serialize;

pub use distance::{Closest, closest, contains};
use distance::{closest_in, closest_outside};
use geodesy::LocalPlane;
use grid::{Grid, Source};
use names::Names;
use prepared::Prepared;
pub use shared::{HoldsShape, ShapeRef};

/// Farthest a "nearest hazard" is looked for, in metres.
pub const NEAREST_LIMIT_M: f64 = 50_000.0;

/// What the index keeps of a hazard: enough to answer queries, nothing more.
#[derive(Clone, Debug, PartialEq)]
pub struct Hazard {
    pub id: Arc<str>,
    pub status: Status,
    /// Bit set of device categories (`1 << Category as u8`).
    pub categories: u8,
    /// The shape, shared with whatever else holds it (the record, a public feature).
    pub shape: ShapeRef,
}

impl Hazard {
    /// The index's view of a record, with a copy of its shape of its own.
    pub fn from_area(a: &HazardArea, catalogue: &Catalogue) -> Hazard {
        Hazard::with_shape(a, ShapeRef::from(a.shape.clone()), catalogue)
    }

    /// The index's view of a record whose shape `shape` refers to (held once, elsewhere).
    pub fn with_shape(a: &HazardArea, shape: ShapeRef, catalogue: &Catalogue) -> Hazard {
        Hazard::shared(Arc::from(a.id.as_str()), a, shape, catalogue)
    }

    /// As `with_shape`, with the id too held elsewhere (`id` must be the record's).
    pub fn shared(id: Arc<str>, a: &HazardArea, shape: ShapeRef, catalogue: &Catalogue) -> Hazard {
        debug_assert!(*shape == a.shape && *id == *a.id);
        let categories = a
            .props
            .devices
            .iter()
            .map(|g| category_bit(catalogue.get(&g.device_type).map(|t| t.category)))
            .fold(0, |x, b| x | b);
        Hazard {
            id,
            status: a.props.status,
            categories,
            shape,
        }
    }
}

/// The bit of a device category in `Hazard::categories`; unknown types count as `other`.
pub fn category_bit(c: Option<cairn_core::Category>) -> u8 {
    use cairn_core::Category::*;
    1 << match c {
        Some(ApMine) => 0,
        Some(AtMine) => 1,
        Some(ClusterMunitionRemnant) => 2,
        Some(Uxo) => 3,
        Some(Ied) => 4,
        Some(Other) | None => 5,
    }
}

/// Which hazards a query considers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Filter {
    /// Statuses to include; `None` means the open hazards (suspected, confirmed, reduced).
    pub statuses: Option<Vec<Status>>,
    /// Device categories (bit set) of which a hazard must have at least one; `None` for all.
    pub categories: Option<u8>,
}

impl Filter {
    /// Every hazard, whatever its status (released and reported too) or categories.
    pub fn every_status() -> Filter {
        Filter {
            statuses: Some(
                <Status as cairn_core::WireEnum>::ALL
                    .iter()
                    .map(|(s, _)| *s)
                    .collect(),
            ),
            categories: None,
        }
    }

    /// True for the default filter: the open hazards, every category.
    pub fn is_default(&self) -> bool {
        self.statuses.is_none() && self.categories.is_none()
    }

    /// True when the hazard passes.
    pub fn admits(&self, h: &Hazard) -> bool {
        self.admits_parts(h.status, h.categories)
    }

    /// True when a hazard of this status and these categories passes.
    #[inline]
    pub fn admits_parts(&self, status: Status, categories: u8) -> bool {
        let status_ok = match &self.statuses {
            None => status.is_open_hazard(),
            Some(s) => s.contains(&status),
        };
        status_ok && self.categories.is_none_or(|c| categories & c != 0)
    }
}

/// A hazard hit by a query. Ids are borrowed from the index: an answer is read while the index
/// is, and copying them (or counting references to them) would cost a trip to memory each.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hit<'a> {
    pub id: &'a str,
    pub status: Status,
    /// The hazard's device categories (as `Hazard::categories`).
    #[serde(skip)]
    pub categories: u8,
}

/// A hazard near a place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Near<'a> {
    pub id: &'a str,
    pub status: Status,
    /// The hazard's device categories (as `Hazard::categories`).
    #[serde(skip)]
    pub categories: u8,
    pub distance_m: f64,
}

/// The nearest hazard to a place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Nearest<'a> {
    pub id: &'a str,
    pub status: Status,
    /// The hazard's device categories (as `Hazard::categories`).
    #[serde(skip)]
    pub categories: u8,
    pub distance_m: f64,
    pub bearing_deg: f64,
}

/// The answer to a place check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointAnswer<'a> {
    pub inside: Vec<Hit<'a>>,
    pub within_accuracy: Vec<Near<'a>>,
    pub nearest: Option<Nearest<'a>>,
}

/// A hazard a route's corridor touches.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteHit<'a> {
    pub id: &'a str,
    pub status: Status,
    /// The hazard's device categories (as `Hazard::categories`).
    #[serde(skip)]
    pub categories: u8,
    /// Metres along the route where the corridor first touches the hazard, and last leaves it.
    pub enter_m: f64,
    pub leave_m: f64,
    /// Every stretch of the route in the hazard's reach, [from, to] metres along the route.
    pub stretches: Vec<[f64; 2]>,
}

/// The answer to a route check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteAnswer<'a> {
    pub length_m: f64,
    pub width_m: f64,
    /// Length of route along which the corridor touches any hazard.
    pub at_risk_m: f64,
    pub hazards: Vec<RouteHit<'a>>,
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// What the index keeps in a slot: the hazard, its covering box, and its rings prepared when it is
/// too large for the grid.
#[derive(Clone, Debug)]
struct Slot {
    hazard: Hazard,
    bbox: Rect<f64>,
    prepared: Prepared,
}

/// The spatial read model.
///
/// Place checks read the point-location grid (`grid.rs`); routes, boxes, the nearest hazards for
/// other filters, and place checks with an accuracy wider than the grid suits read an R*-tree of
/// covering boxes. The tree holds each box in (longitude × `squash`, latitude), where `squash` is
/// the cosine of the data's middle latitude: a degree of longitude is that much shorter than a
/// degree of latitude, so distances in the tree are nearly the same in every direction and bound
/// distances in metres tightly (see `k_nearest`).
#[derive(Clone, Debug)]
pub struct Index {
    tree: RTree<Entry>,
    slots: Vec<Option<Slot>>,
    /// Each slot's id, held densely for answers.
    names: Names,
    free: Vec<u32>,
    /// Slot by id; the keys share the hazards' own ids.
    by_id: HashMap<Arc<str>, u32>,
    squash: f64,
    /// The point-location grid over every hazard but the very largest; none in an index built
    /// for a few queries (`build_without_grid`), which asks the tree instead, or while the grid
    /// is built apart (`grid_plan`).
    grid: Option<Grid>,
    /// While a grid is built apart: its plan's number and every slot written since the plan was
    /// taken, with what the slot held then, so that `install_grid` can bring the grid up to the
    /// index as it is when the grid arrives.
    since_plan: Option<(u64, Touched)>,
}

/// Slots written since a grid plan, each with what it held when the plan was taken.
type Touched = HashMap<u32, Option<(Hazard, Rect<f64>)>>;

/// The numbers of grid plans (one counter for the process, so a grid is never installed in an
/// index it was not planned for).
static PLANS: AtomicU64 = AtomicU64::new(1);

/// Everything a point-location grid is built from, as an index held it when the plan was taken
/// (`Index::grid_plan`): built on any thread (`GridPlan::build`) while the index goes on answering
/// (from its tree) and taking writes, then installed (`Index::install_grid`).
#[derive(Debug)]
pub struct GridPlan {
    number: u64,
    sources: Vec<(u32, Hazard, Rect<f64>)>,
}

/// A grid built from a plan, to be installed in the index the plan came from.
#[derive(Debug)]
pub struct BuiltGrid {
    number: u64,
    grid: Grid,
}

impl GridPlan {
    /// Builds the grid on up to `threads` threads.
    pub fn build(self, threads: usize) -> BuiltGrid {
        let sources: Vec<Source<'_>> = self
            .sources
            .iter()
            .map(|(slot, hazard, bbox)| Source {
                slot: *slot,
                hazard,
                bbox: *bbox,
            })
            .collect();
        let grid = Grid::build(&sources, threads.max(1));
        drop(sources);
        BuiltGrid {
            number: self.number,
            grid,
        }
    }

    /// Hazards the plan holds.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// True when the plan holds no hazard.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

impl Default for Index {
    fn default() -> Index {
        Index {
            tree: RTree::new(),
            slots: Vec::new(),
            names: Names::default(),
            free: Vec::new(),
            by_id: HashMap::new(),
            squash: 1.0,
            grid: None,
            since_plan: None,
        }
    }
}

/// Every held hazard whose box meets `b` (as the grid's `insert` asks when it cuts a tile finer),
/// but those `skip` names.
fn around<'a>(
    tree: &'a RTree<Entry>,
    slots: &'a [Option<Slot>],
    squash: f64,
    b: Rect<f64>,
    skip: impl Fn(u32) -> bool,
) -> Vec<Source<'a>> {
    let bx = AABB::from_corners(
        [b.min().x * squash, b.min().y],
        [b.max().x * squash, b.max().y],
    );
    tree.locate_in_envelope_intersecting(&bx)
        .filter(|e| !skip(e.data))
        .filter_map(|e| {
            slots[e.data as usize].as_ref().map(|s| Source {
                slot: e.data,
                hazard: &s.hazard,
                bbox: s.bbox,
            })
        })
        .collect()
}

fn rect_of(h: &Hazard) -> Option<Rect<f64>> {
    h.shape.covering_bbox()
}

/// The place of `c` along a Hilbert curve over `extent` (2^16 cells a side).
fn hilbert(extent: Rect<f64>, c: Coord<f64>) -> u64 {
    const N: u64 = 1 << 16;
    let cell = |v: f64, lo: f64, span: f64| -> u64 {
        if span <= 0.0 {
            return 0;
        }
        (((v - lo) / span * N as f64) as u64).min(N - 1)
    };
    cairn_core::hilbert::distance(
        16,
        cell(c.x, extent.min().x, extent.width()),
        cell(c.y, extent.min().y, extent.height()),
    )
}

/// Rings prepared in latitude bands, for a hazard too large for the grid only.
fn prepare(h: &Hazard, r: Rect<f64>) -> Prepared {
    if grid::is_big(r) {
        Prepared::new(&h.shape)
    } else {
        Prepared::default()
    }
}

/// A hazard's place in a place check: inside, or within the accuracy at a distance and bearing.
enum Placed {
    Inside,
    Within(f64, f64),
}

impl Index {
    /// A box in degrees as the tree holds it.
    fn aabb(&self, min: [f64; 2], max: [f64; 2]) -> AABB<[f64; 2]> {
        AABB::from_corners(
            [min[0] * self.squash, min[1]],
            [max[0] * self.squash, max[1]],
        )
    }

    fn entry(&self, r: Rect<f64>, slot: u32) -> Entry {
        GeomWithData::new(
            Rectangle::from_corners(
                [r.min().x * self.squash, r.min().y],
                [r.max().x * self.squash, r.max().y],
            ),
            slot,
        )
    }

    /// Bulk-loads an index from hazards (later duplicates of an id replace earlier ones), with the
    /// point-location grid: for a service or anything asking many place checks.
    pub fn build(hazards: impl IntoIterator<Item = Hazard>) -> Index {
        let mut idx = Index::build_without_grid(hazards);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let sources: Vec<Source<'_>> = idx.sources().collect();
        let grid = Grid::build(&sources, threads);
        drop(sources);
        idx.grid = Some(grid);
        idx
    }

    /// What the point-location grid of this index is built from, for building it apart (on
    /// another thread, without holding the index): from now until `install_grid`, the index
    /// notes every slot a write changes. Place checks meanwhile ask the tree, exactly as an
    /// index without a grid does. `None` when the index has its grid already. A second plan
    /// replaces the first (whose grid will then not be installed).
    pub fn grid_plan(&mut self) -> Option<GridPlan> {
        if self.grid.is_some() {
            return None;
        }
        let number = PLANS.fetch_add(1, Ordering::Relaxed);
        self.since_plan = Some((number, HashMap::new()));
        let sources = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, s)| s.as_ref().map(|s| (slot as u32, s.hazard.clone(), s.bbox)))
            .collect();
        Some(GridPlan { number, sources })
    }

    /// True while a grid is being built apart for this index (`grid_plan` taken, not installed).
    pub fn grid_pending(&self) -> bool {
        self.since_plan.is_some()
    }

    /// True when the index has its point-location grid.
    pub fn has_grid(&self) -> bool {
        self.grid.is_some()
    }

    /// Installs a grid built from this index's plan, after bringing it up to the index as it is
    /// now: every slot a write changed since the plan is taken out of the grid as it was then
    /// and put back as it is now, as `upsert` and `remove` would have done. Returns false (and
    /// installs nothing) when the grid was not planned for this index as it is (another plan
    /// came after it, or the index has a grid).
    pub fn install_grid(&mut self, built: BuiltGrid) -> bool {
        match &self.since_plan {
            Some((n, _)) if *n == built.number && self.grid.is_none() => {}
            _ => return false,
        }
        let (_, touched) = self.since_plan.take().expect("checked above");
        let mut grid = built.grid;
        for (&slot, was) in &touched {
            if let Some((hazard, bbox)) = was {
                grid.remove(&Source {
                    slot,
                    hazard,
                    bbox: *bbox,
                });
            }
        }
        // Slots held now, put back in order; a tile cut finer meanwhile is cut from the hazards
        // already in the grid (and the one going in), never from one still to come.
        let mut coming: Vec<u32> = touched
            .keys()
            .copied()
            .filter(|&slot| self.slots[slot as usize].is_some())
            .collect();
        coming.sort_unstable();
        let mut waiting: HashSet<u32> = coming.iter().copied().collect();
        for slot in coming {
            let s = self.slots[slot as usize].as_ref().expect("held");
            let (tree, slots, squash) = (&self.tree, &self.slots, self.squash);
            let waiting_now = &waiting;
            grid.insert(
                &Source {
                    slot,
                    hazard: &s.hazard,
                    bbox: s.bbox,
                },
                |b| {
                    around(tree, slots, squash, b, |o| {
                        o != slot && waiting_now.contains(&o)
                    })
                },
            );
            waiting.remove(&slot);
        }
        self.grid = Some(grid);
        true
    }

    /// Notes what a slot held before a write changes it, while a grid is built apart.
    fn note(&mut self, slot: u32) {
        if let Some((_, touched)) = &mut self.since_plan {
            touched.entry(slot).or_insert_with(|| {
                self.slots
                    .get(slot as usize)
                    .and_then(Option::as_ref)
                    .map(|s| (s.hazard.clone(), s.bbox))
            });
        }
    }

    /// As `build`, without the grid: quicker to build for a command asking one place check, a
    /// route, or checks with accuracies of kilometres, which the tree answers alone.
    pub fn build_without_grid(hazards: impl IntoIterator<Item = Hazard>) -> Index {
        let mut idx = Index::gather(hazards);
        idx.tree = idx.bulk_tree();
        idx
    }

    /// The hazards in slots, in Hilbert order, named and deduplicated (later duplicates of an id
    /// replace earlier ones), without the tree or the grid.
    fn gather(hazards: impl IntoIterator<Item = Hazard>) -> Index {
        let mut idx = Index::default();
        let hazards = hazards.into_iter();
        let mut held: Vec<Option<(Hazard, Rect<f64>)>> = Vec::with_capacity(hazards.size_hint().0);
        let mut extent: Option<Rect<f64>> = None;
        for h in hazards {
            let Some(r) = rect_of(&h) else { continue };
            extent = Some(extent.map_or(r, |e| {
                Rect::new(
                    Coord {
                        x: e.min().x.min(r.min().x),
                        y: e.min().y.min(r.min().y),
                    },
                    Coord {
                        x: e.max().x.max(r.max().x),
                        y: e.max().y.max(r.max().y),
                    },
                )
            }));
            held.push(Some((h, r)));
        }
        // Slots in Hilbert order of the hazards' middles: hazards near one another on the ground
        // then sit near one another in the slot table, which a tile of the grid, a route or a
        // nearest-hazard search reads together. (Key, position in the input.)
        let mut order: Vec<(u64, u32)> = Vec::with_capacity(held.len());
        if let Some(extent) = extent {
            order.extend(held.iter().enumerate().filter_map(|(i, h)| {
                h.as_ref()
                    .map(|(_, r)| (hilbert(extent, r.center()), i as u32))
            }));
            order.sort_unstable();
        }
        idx.slots.reserve(order.len());
        idx.by_id.reserve(order.len());
        idx.names.reserve(order.len());
        // The input position of each slot's hazard: of two with one id, the later one stays.
        let mut came: Vec<u32> = Vec::with_capacity(order.len());
        for &(_, i) in &order {
            let Some((h, r)) = held[i as usize].take() else {
                continue;
            };
            let slot = idx.slots.len() as u32;
            if let Some(&other) = idx.by_id.get(&*h.id) {
                if came[other as usize] > i {
                    continue;
                }
                idx.slots[other as usize] = None;
                idx.names.clear(other);
                idx.free.push(other);
            }
            idx.by_id.insert(h.id.clone(), slot);
            idx.names.set(slot, &h.id);
            let prepared = prepare(&h, r);
            idx.slots.push(Some(Slot {
                hazard: h,
                bbox: r,
                prepared,
            }));
            came.push(i);
        }
        if let Some(e) = extent {
            idx.squash = ((e.min().y + e.max().y) / 2.0)
                .clamp(-80.0, 80.0)
                .to_radians()
                .cos();
        }
        idx
    }

    /// The R*-tree over the slots' boxes.
    fn bulk_tree(&self) -> RTree<Entry> {
        let entries = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, s)| s.as_ref().map(|s| self.entry(s.bbox, slot as u32)))
            .collect();
        RTree::bulk_load(entries)
    }

    fn sources(&self) -> impl Iterator<Item = Source<'_>> {
        self.slots.iter().enumerate().filter_map(|(slot, s)| {
            s.as_ref().map(|s| Source {
                slot: slot as u32,
                hazard: &s.hazard,
                bbox: s.bbox,
            })
        })
    }

    /// The id of the hazard in a slot.
    fn name(&self, slot: u32) -> &str {
        self.names.get(slot)
    }

    /// Number of hazards held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Bytes the point-location grid holds, and its leaves, vertices and words.
    pub fn grid_census(&self) -> (usize, (usize, usize, usize)) {
        self.grid
            .as_ref()
            .map_or((0, (0, 0, 0)), |g| (g.heap_bytes(), g.census()))
    }

    /// Adds a hazard or replaces the one with its id.
    pub fn upsert(&mut self, h: Hazard) {
        // Unchanged (a generalised zone shown for several records, written again for one of
        // them): nothing to do, and taking a large zone out of the grid and back costs tens of
        // milliseconds.
        if let Some(&slot) = self.by_id.get(&*h.id)
            && let Some(s) = self.slots[slot as usize].as_mut()
            && s.hazard == h
        {
            // The same values, but the new entry's shape and id may be other copies: take them,
            // so that the index never keeps a replaced record (and its geometry) alive. The grid
            // holds slot numbers and its own words, no references.
            s.hazard = h;
            return;
        }
        self.remove(&h.id);
        let Some(r) = rect_of(&h) else { return };
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        self.note(slot);
        self.by_id.insert(h.id.clone(), slot);
        self.names.set(slot, &h.id);
        self.tree.insert(self.entry(r, slot));
        let prepared = prepare(&h, r);
        self.slots[slot as usize] = Some(Slot {
            hazard: h,
            bbox: r,
            prepared,
        });
        let Index {
            tree,
            slots,
            grid,
            squash,
            ..
        } = self;
        let Some(grid) = grid else { return };
        let hazard = &slots[slot as usize].as_ref().expect("just stored").hazard;
        grid.insert(
            &Source {
                slot,
                hazard,
                bbox: r,
            },
            |b| around(tree, slots, *squash, b, |_| false),
        );
    }

    /// Removes a hazard; returns whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        self.note(slot);
        if let Some(s) = self.slots[slot as usize].take() {
            self.tree.remove(&self.entry(s.bbox, slot));
            if let Some(g) = &mut self.grid {
                g.remove(&Source {
                    slot,
                    hazard: &s.hazard,
                    bbox: s.bbox,
                });
            }
        }
        self.names.clear(slot);
        self.free.push(slot);
        true
    }

    /// The hazard with this id.
    pub fn get(&self, id: &str) -> Option<&Hazard> {
        self.by_id
            .get(id)
            .and_then(|&s| self.slots[s as usize].as_ref().map(|s| &s.hazard))
    }

    /// Every hazard, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Hazard> {
        self.slots.iter().flatten().map(|s| &s.hazard)
    }

    fn candidates(&self, min: [f64; 2], max: [f64; 2]) -> impl Iterator<Item = (u32, &Slot)> {
        self.tree
            .locate_in_envelope_intersecting(&self.aabb(min, max))
            .filter_map(|e| self.slots[e.data as usize].as_ref().map(|s| (e.data, s)))
    }

    /// A place check: hazards containing `q` (lon, lat), those within `accuracy_m` of it, and the
    /// nearest one within 50 km.
    pub fn check_point(&self, q: Coord<f64>, accuracy_m: f64, filter: &Filter) -> PointAnswer<'_> {
        let accuracy_m = accuracy_m.max(0.0);
        let mut inside: Vec<Hit<'_>> = Vec::new();
        // Hazards within the accuracy radius, with the bearing towards each.
        let mut within: Vec<(Near<'_>, f64)> = Vec::new();
        let mut add = |slot: u32, status: Status, categories: u8, placed: Placed| match placed {
            Placed::Inside => inside.push(Hit {
                id: self.name(slot),
                status,
                categories,
            }),
            Placed::Within(d, bearing) => within.push((
                Near {
                    id: self.name(slot),
                    status,
                    categories,
                    distance_m: d,
                },
                bearing,
            )),
        };
        let plane = LocalPlane::at(q);
        if let Some(grid) = self.grid.as_ref().filter(|g| g.suits(q, accuracy_m)) {
            let found = grid.check_point(q, accuracy_m, filter);
            for (slot, status, cats) in found.inside {
                add(slot, status, cats, Placed::Inside);
            }
            for (slot, status, cats, d, bearing) in found.within {
                add(slot, status, cats, Placed::Within(d, bearing));
            }
            for &slot in grid.big() {
                if let Some(s) = self.slots[slot as usize].as_ref()
                    && let Some(p) = place(s, &plane, q, accuracy_m, filter)
                {
                    add(slot, s.hazard.status, s.hazard.categories, p);
                }
            }
        } else {
            let (dlat, dlon) = geodesy::degrees_covering(accuracy_m, q.y);
            for (slot, s) in self.candidates([q.x - dlon, q.y - dlat], [q.x + dlon, q.y + dlat]) {
                if let Some(p) = place(s, &plane, q, accuracy_m, filter) {
                    add(slot, s.hazard.status, s.hazard.categories, p);
                }
            }
        }
        inside.sort_by(|a, b| a.id.cmp(b.id));
        within.sort_by(|(a, _), (b, _)| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then_with(|| a.id.cmp(b.id))
        });
        let nearest = match (inside.first(), within.first()) {
            (Some(h), _) => Some(Nearest {
                id: h.id,
                status: h.status,
                categories: h.categories,
                distance_m: 0.0,
                bearing_deg: 0.0,
            }),
            // Everything nearer than the accuracy radius was looked at above.
            (None, Some((n, bearing))) => Some(Nearest {
                id: n.id,
                status: n.status,
                categories: n.categories,
                distance_m: n.distance_m,
                bearing_deg: *bearing,
            }),
            (None, None) => self.nearest_outside(q, filter),
        };
        PointAnswer {
            inside,
            within_accuracy: within.into_iter().map(|(n, _)| n).collect(),
            nearest,
        }
    }

    /// The nearest admitted hazard within 50 km of a place that lies in none: from the grid's
    /// site map when it can say, else from the tree.
    fn nearest_outside(&self, q: Coord<f64>, filter: &Filter) -> Option<Nearest<'_>> {
        let Some(grid) = self.grid.as_ref().filter(|_| filter.is_default()) else {
            return self.nearest(q, filter, NEAREST_LIMIT_M);
        };
        let from_grid = match grid.nearest(q, |slot| self.name(slot)) {
            grid::Nearest::Unknown => return self.nearest(q, filter, NEAREST_LIMIT_M),
            grid::Nearest::NoneWithin => None,
            grid::Nearest::Found(slot, status, categories, d, bearing) => Some(Nearest {
                id: self.name(slot),
                status,
                categories,
                distance_m: d,
                bearing_deg: bearing,
            }),
        };
        // Hazards too large for the grid are measured one by one.
        let plane = LocalPlane::at(q);
        let mut best = from_grid;
        for &slot in grid.big() {
            let Some(s) = self.slots[slot as usize].as_ref() else {
                continue;
            };
            let limit = best.as_ref().map_or(NEAREST_LIMIT_M, |b| b.distance_m);
            if !filter.admits(&s.hazard)
                || LocalPlane::lower_bound(plane.distance_to_box(s.bbox.min(), s.bbox.max()))
                    > limit
            {
                continue;
            }
            let c = closest_in(&plane, &s.hazard.shape, q);
            let id = self.name(slot);
            let better = match &best {
                None => c.distance_m <= NEAREST_LIMIT_M,
                Some(b) => {
                    c.distance_m < b.distance_m || (c.distance_m == b.distance_m && id < b.id)
                }
            };
            if better {
                best = Some(Nearest {
                    id,
                    status: s.hazard.status,
                    categories: s.hazard.categories,
                    distance_m: c.distance_m,
                    bearing_deg: c.bearing_deg,
                });
            }
        }
        best
    }

    /// The nearest admitted hazard within `limit_m`.
    pub fn nearest(&self, q: Coord<f64>, filter: &Filter, limit_m: f64) -> Option<Nearest<'_>> {
        self.k_nearest(q, 1, limit_m, filter).into_iter().next()
    }

    /// Up to `k` admitted hazards nearest to `q` within `limit_m`, nearest first.
    pub fn k_nearest(
        &self,
        q: Coord<f64>,
        k: usize,
        limit_m: f64,
        filter: &Filter,
    ) -> Vec<Nearest<'_>> {
        if k == 0 {
            return Vec::new();
        }
        // A lower bound on metres per unit of tree distance near q: a degree of latitude is at
        // least 110,574 m; a squashed degree of longitude at least 111,319 m · cos φ / squash,
        // φ the most poleward latitude within the limit.
        let (dlat, _) = geodesy::degrees_covering(limit_m, q.y);
        let phi = (q.y.abs() + dlat).min(89.9).to_radians();
        let m_per_unit = 110_574.0f64.min(111_319.0 * phi.cos() / self.squash) * 0.99;
        let plane = LocalPlane::at(q);
        let mut found: Vec<Nearest<'_>> = Vec::new();
        let at = [q.x * self.squash, q.y];
        for (e, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&at) {
            let lower = d2.sqrt() * m_per_unit;
            let kth = if found.len() >= k {
                found[k - 1].distance_m
            } else {
                limit_m
            };
            if lower > kth {
                break;
            }
            let Some(s) = self.slots[e.data as usize].as_ref() else {
                continue;
            };
            if !filter.admits(&s.hazard)
                || LocalPlane::lower_bound(plane.distance_to_box(s.bbox.min(), s.bbox.max())) > kth
            {
                continue;
            }
            let c = closest_in(&plane, &s.hazard.shape, q);
            if c.distance_m <= kth {
                found.push(Nearest {
                    id: self.name(e.data),
                    status: s.hazard.status,
                    categories: s.hazard.categories,
                    distance_m: c.distance_m,
                    bearing_deg: c.bearing_deg,
                });
                found.sort_by(|a, b| {
                    a.distance_m
                        .total_cmp(&b.distance_m)
                        .then_with(|| a.id.cmp(b.id))
                });
                found.truncate(k);
            }
        }
        found
    }

    /// Hazards whose covering box meets the box, sorted by id.
    pub fn in_bbox(&self, min: Coord<f64>, max: Coord<f64>, filter: &Filter) -> Vec<&Hazard> {
        let mut v: Vec<&Hazard> = self
            .candidates([min.x, min.y], [max.x, max.y])
            .map(|(_, s)| &s.hazard)
            .filter(|h| filter.admits(h))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// A route check: every admitted hazard within `width_m / 2` of the route, with where the
    /// corridor enters and leaves it, and the length of route at risk.
    pub fn check_route(
        &self,
        line: &LineString<f64>,
        width_m: f64,
        filter: &Filter,
    ) -> RouteAnswer<'_> {
        let r = (width_m / 2.0).max(0.0);
        let (pieces, length_m) = route::pieces(line);
        let mut per: HashMap<u32, Vec<(f64, f64)>> = HashMap::new();
        self.route_from_tree(&pieces, r, filter, &mut per);
        let mut all = Vec::new();
        let mut hazards: Vec<RouteHit<'_>> = per
            .into_iter()
            .filter_map(|(slot, iv)| {
                let s = self.slots[slot as usize].as_ref()?;
                let merged = route::merge(iv);
                all.extend(merged.iter().copied());
                Some(RouteHit {
                    id: self.name(slot),
                    status: s.hazard.status,
                    categories: s.hazard.categories,
                    enter_m: merged.first()?.0,
                    leave_m: merged.last()?.1,
                    stretches: merged.iter().map(|&(a, b)| [a, b]).collect(),
                })
            })
            .collect();
        hazards.sort_by(|a, b| a.enter_m.total_cmp(&b.enter_m).then_with(|| a.id.cmp(b.id)));
        let at_risk_m = route::merge(all).iter().map(|(a, b)| b - a).sum();
        RouteAnswer {
            length_m,
            width_m,
            at_risk_m,
            hazards,
        }
    }

    /// The route's stretches per hazard: per piece, the hazards whose boxes meet its reach.
    fn route_from_tree(
        &self,
        pieces: &[route::Piece],
        r: f64,
        filter: &Filter,
        per: &mut HashMap<u32, Vec<(f64, f64)>>,
    ) {
        let mut scratch = route::Scratch::default();
        for p in pieces {
            let bx = route::reach(p, r);
            let (min, max) = ([bx.min().x, bx.min().y], [bx.max().x, bx.max().y]);
            for (slot, s) in self.candidates(min, max) {
                if !filter.admits(&s.hazard) {
                    continue;
                }
                for &(u0, u1) in
                    route::piece_intervals_into(p, &s.hazard.shape, s.bbox, r, &mut scratch)
                {
                    per.entry(slot)
                        .or_default()
                        .push((p.start_m + u0 * p.length_m, p.start_m + u1 * p.length_m));
                }
            }
        }
    }
}

/// Where a place lies against one hazard, measured on its own (for the hazards the grid does not
/// hold, and for accuracies wider than it suits): `None` when neither inside nor within the
/// accuracy, or not admitted.
fn place(
    s: &Slot,
    plane: &LocalPlane,
    q: Coord<f64>,
    accuracy_m: f64,
    filter: &Filter,
) -> Option<Placed> {
    let (h, r) = (&s.hazard, s.bbox);
    if !filter.admits(h) {
        return None;
    }
    let is_polygon = matches!(*h.shape, Shape::Polygon(_) | Shape::MultiPolygon(_));
    let (in_polygon, c) = if is_polygon && r.intersects(&q) {
        // Containment, and the distance when within the accuracy radius, reading only the
        // prepared edges near q.
        match distance::polygon_within(plane, &h.shape, &s.prepared, q, accuracy_m) {
            (true, _) => (true, Closest::default()),
            (false, Some(c)) if accuracy_m > 0.0 => (false, c),
            (false, _) => return None,
        }
    } else {
        // A place outside a polygon's box is never inside it, however small its distance rounds
        // to; at accuracy 0 only spots and tracks (radius, width) remain to check.
        if (is_polygon && accuracy_m == 0.0)
            || LocalPlane::lower_bound(plane.distance_to_box(r.min(), r.max())) > accuracy_m
        {
            return None;
        }
        (false, closest_outside(plane, &h.shape, q))
    };
    if in_polygon || (!is_polygon && c.distance_m == 0.0) {
        Some(Placed::Inside)
    } else if c.distance_m <= accuracy_m {
        Some(Placed::Within(c.distance_m, c.bearing_deg))
    } else {
        None
    }
}
