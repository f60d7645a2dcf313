//! The server's read model: every current record, the public view of each, and a spatial index
//! for each audience, built from the store at start.
//!
//! Dates the public sees tell nothing withheld: a public feature's `data_date` is the moment the
//! service began to show it as it is now — the write that made what the public sees of it so
//! (a new zone, a changed outline or public field), or, for what was already so when the model
//! was built, that moment — never the time of a write that changed nothing the public sees (a
//! restricted record behind an unchanged zone, a hidden field of a public record). The model's
//! `public_date`, the newest of those moments, is what public answers give as the data's date;
//! `data_date`, the newest write of any record, only callers with a token see.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use cairn_core::WireEnum;
use cairn_core::public::{DangerZone, PublicDetail, PublicView, public_view};
use cairn_core::{Catalogue, Shape, Status, Timestamp};
use cairn_index::{BuiltGrid, GridPlan, Hazard, HoldsShape, Index, ShapeRef};
use cairn_store::{Store, StoreError, StoredArea};

use crate::pyramid::Pyramid;
use crate::vt::rank;
use geo_types::Rect;
use serde_json::{Map, Value};

/// A record as the model holds it. Its shape is the one copy the indexes and its public feature
/// refer to (`ShapeRef`).
#[derive(Debug)]
pub struct Record(pub StoredArea);

impl Deref for Record {
    type Target = StoredArea;
    fn deref(&self) -> &StoredArea {
        &self.0
    }
}

impl HoldsShape for Record {
    fn shape(&self) -> &Shape {
        &self.0.area.shape
    }
}

/// A reference to a record's own shape.
fn shape_of(r: &Arc<Record>) -> ShapeRef {
    ShapeRef::new(r.clone())
}

/// A feature as the public may see it.
#[derive(Clone, Debug)]
pub struct PublicFeature {
    pub id: Arc<str>,
    /// A public record's own shape (shared with it), or a danger zone's polygon.
    pub shape: ShapeRef,
    /// What `public_view` gave, besides the shape: kept as it is (a few hundred bytes) and turned
    /// into wire properties when asked (`props`), rather than held as a map of JSON values.
    seen: Seen,
    /// `reported`, `suspected`, `confirmed`, `reduced`, or `danger-zone` for a generalised
    /// restricted area.
    pub status_label: &'static str,
}

/// The public fields of a public feature, as `public_view` decided them.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Area(Box<PublicDetail>),
    /// The zone's own fields (its polygon is the feature's shape).
    Zone(Box<DangerZone>),
}

impl Seen {
    fn date(&self) -> Timestamp {
        match self {
            Seen::Area(d) => d.data_date,
            Seen::Zone(z) => z.data_date,
        }
    }
}

impl PublicFeature {
    /// The public properties, ready for the wire.
    pub fn props(&self) -> Map<String, Value> {
        match &self.seen {
            Seen::Area(detail) => {
                let mut props = match serde_json::to_value(detail) {
                    Ok(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                props.remove("id");
                props.insert("kind".into(), Value::from("hazardous-area"));
                if let Some(r) = self.shape.radius_m() {
                    props.insert("radius_m".into(), Value::from(r));
                }
                if let Some(w) = self.shape.width_m() {
                    props.insert("width_m".into(), Value::from(w));
                }
                if let Some(c) = cairn_formats::geojson::centre_wkt(&self.shape) {
                    props.insert("centre_wkt".into(), Value::from(c));
                }
                props
            }
            Seen::Zone(z) => {
                let mut props = match serde_json::to_value(z) {
                    Ok(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                props.insert("kind".into(), Value::from("danger-zone"));
                props
            }
        }
    }

    /// The public name of a public record (a zone has none).
    pub fn name(&self) -> Option<&str> {
        match &self.seen {
            Seen::Area(d) => d.name.as_deref(),
            Seen::Zone(_) => None,
        }
    }

    /// When the public began to see it as it is (its `data_date`).
    pub fn data_date(&self) -> Timestamp {
        self.seen.date()
    }

    /// This feature with the date `earlier` was shown with (the two the same but for their
    /// dates, `same_as`). The shape stays this one's: keeping `earlier` whole would keep the
    /// record it was made from, a copy of the geometry, alive beside the current one.
    pub fn dated_as(&self, earlier: &PublicFeature) -> PublicFeature {
        debug_assert!(self.same_as(earlier));
        PublicFeature {
            seen: earlier.seen.clone(),
            ..self.clone()
        }
    }

    /// True when the public sees the same in both, their dates aside.
    pub fn same_as(&self, other: &PublicFeature) -> bool {
        self.id == other.id
            && self.status_label == other.status_label
            && self.shape == other.shape
            && match (&self.seen, &other.seen) {
                (Seen::Area(a), Seen::Area(b)) => {
                    let mut a = a.clone();
                    a.data_date = b.data_date;
                    a == *b
                }
                (Seen::Zone(a), Seen::Zone(b)) => {
                    let mut a = a.clone();
                    a.data_date = b.data_date;
                    a == *b
                }
                _ => false,
            }
    }
}

/// Everything the service answers from, for one moment of the store.
#[derive(Debug, Default)]
pub struct ReadModel {
    /// Every current record by id (the keys share the index entries' ids).
    pub areas: BTreeMap<Arc<str>, Arc<Record>>,
    pub index: Index,
    pub public: BTreeMap<Arc<str>, Arc<PublicFeature>>,
    pub public_index: Index,
    /// Covering cells of the low zooms' tiles, for callers who see everything and for the public.
    pub cells: Pyramid,
    pub public_cells: Pyramid,
    /// When the newest data was recorded (any record: for callers with a token only).
    pub data_date: Option<Timestamp>,
    /// When what the public sees last changed (or the model was built): the public's data date.
    pub public_date: Option<Timestamp>,
    pub extent: Option<Rect<f64>>,
    pub public_extent: Option<Rect<f64>>,
    /// The change feed's number this model has reached: every changeset up to it is applied.
    pub seq: i64,
    /// While the covering cells are still to be built (a model that answers before they are,
    /// `from_areas_core`): every count a write made since their plan, to be made again in them
    /// when they arrive (`install_cells`). Low-zoom tiles are drawn from the indexes meanwhile.
    cells_pending: Option<CellsPending>,
}

/// The counts writes made while the covering cells were being built: (public pyramid, shape,
/// rank, counted in rather than out), in order.
#[derive(Debug, Default)]
struct CellsPending {
    plan: u64,
    changes: Vec<(bool, ShapeRef, u8, bool)>,
}

/// The numbers of the covering cells' plans (as `cairn_index`'s grid plans are numbered).
static CELL_PLANS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What both covering-cell pyramids are built from, as the model held it when the plan was taken
/// (`ReadModel::plan`): each open record's shape (with its rank, and a mask of the pyramids it
/// counts in) and each danger zone's.
#[derive(Debug)]
pub struct CellsPlan {
    plan: u64,
    ranked: Vec<(ShapeRef, u8, u8)>,
}

/// Both pyramids built from a plan, for `ReadModel::install_cells`.
#[derive(Debug)]
pub struct BuiltCells {
    plan: u64,
    cells: Pyramid,
    public_cells: Pyramid,
}

impl CellsPlan {
    /// Rasterises every shape once, on two threads.
    pub fn build(self) -> BuiltCells {
        let ranked: Vec<(&Shape, u8, u8)> =
            self.ranked.iter().map(|(s, r, m)| (&**s, *r, *m)).collect();
        let (cells, public_cells) = Pyramid::build_pair(&ranked);
        BuiltCells {
            plan: self.plan,
            cells,
            public_cells,
        }
    }
}

/// What a model that answers before it is complete still needs: its covering cells and its
/// public point-location grid, each built apart from the model and installed in it when done.
#[derive(Debug)]
pub struct Plan {
    pub cells: CellsPlan,
    pub grid: Option<GridPlan>,
}

fn union(a: Option<Rect<f64>>, b: Option<Rect<f64>>) -> Option<Rect<f64>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Rect::new(
            geo_types::Coord {
                x: a.min().x.min(b.min().x),
                y: a.min().y.min(b.min().y),
            },
            geo_types::Coord {
                x: a.max().x.max(b.max().x),
                y: a.max().y.max(b.max().y),
            },
        )),
        (x, None) | (None, x) => x,
    }
}

impl ReadModel {
    /// Builds the model from the store's current state, complete.
    pub fn load<S: Store + ?Sized>(
        store: &S,
        catalogue: &Catalogue,
    ) -> Result<ReadModel, StoreError> {
        let mut model = ReadModel::load_core(store, catalogue)?;
        model.complete();
        Ok(model)
    }

    /// Builds the model from the store's current state, answering before it is complete: the
    /// records, the public features and both indexes' trees, without the public point-location
    /// grid and the covering cells (`plan`, then `install_cells` and `install_grid`). Every answer
    /// is exact meanwhile: place checks ask the tree, low-zoom tiles are drawn from the indexes.
    pub fn load_core<S: Store + ?Sized>(
        store: &S,
        catalogue: &Catalogue,
    ) -> Result<ReadModel, StoreError> {
        let started = std::time::Instant::now();
        let (areas, data_date) = read_records(store)?;
        let read = started.elapsed();
        let read_rss = resident_mib();
        let model = ReadModel::from_areas_core(areas, catalogue, data_date);
        tracing::info!(
            areas = model.areas.len(),
            public = model.public.len(),
            read_ms = read.as_millis() as u64,
            read_rss_mib = read_rss,
            build_ms = (started.elapsed() - read).as_millis() as u64,
            rss_mib = resident_mib(),
            "read model answering (grid and covering cells to come)"
        );
        Ok(model)
    }

    /// Builds the model from records already read (keyed by their ids).
    pub fn from_areas(
        areas: BTreeMap<Arc<str>, Arc<Record>>,
        catalogue: &Catalogue,
        data_date: Option<Timestamp>,
    ) -> ReadModel {
        let mut model = ReadModel::from_areas_core(areas, catalogue, data_date);
        model.complete();
        model
    }

    /// Builds what `from_areas_core` left out, here and now.
    pub fn complete(&mut self) {
        let Some(plan) = self.plan() else { return };
        let t = std::time::Instant::now();
        let installed = self.install_cells(plan.cells.build());
        debug_assert!(installed);
        tracing::info!(
            pyramids_ms = t.elapsed().as_millis() as u64,
            rss_mib = resident_mib(),
            "covering cells built"
        );
        if let Some(grid) = plan.grid {
            let t = std::time::Instant::now();
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let installed = self.install_grid(grid.build(threads));
            debug_assert!(installed);
            tracing::info!(
                grid_ms = t.elapsed().as_millis() as u64,
                rss_mib = resident_mib(),
                grid_mib = self.public_index.grid_census().0 >> 20,
                "public point-location grid built"
            );
        }
    }

    /// As `from_areas`, without the public point-location grid and the covering cells: what a
    /// service needs to answer exactly, the rest to be built apart (`plan`).
    pub fn from_areas_core(
        areas: BTreeMap<Arc<str>, Arc<Record>>,
        catalogue: &Catalogue,
        data_date: Option<Timestamp>,
    ) -> ReadModel {
        // What the public sees now is dated from now: no record's own time says when it was
        // last written (`keep_dates` carries dates over from a model built before).
        let date = chrono::Utc::now();
        // Each record's index entry and public feature, worked out on every core, a run of
        // records each, then joined in the records' order (so that of the records shown as one
        // zone the last stays, as inserting them one by one would have it).
        let records: Vec<(&Arc<str>, &Arc<Record>)> = areas.iter().collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let run = records.len().div_ceil(threads).max(1);
        let parts: Vec<Derived> = std::thread::scope(|scope| {
            let handles: Vec<_> = records
                .chunks(run)
                .map(|part| scope.spawn(move || derive(part, catalogue, date)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        drop(records);
        let (mut extent, mut public_extent) = (None, None);
        let mut hazards = Vec::with_capacity(areas.len());
        let mut shown = Vec::with_capacity(parts.iter().map(|p| p.public.len()).sum());
        for p in parts {
            extent = union(extent, p.extent);
            public_extent = union(public_extent, p.public_extent);
            hazards.extend(p.hazards);
            shown.extend(p.public.into_iter().map(|f| (f.id.clone(), Arc::new(f))));
        }
        let public: BTreeMap<Arc<str>, Arc<PublicFeature>> = shown.into_iter().collect();
        // The public's place checks, the busiest question, read the point-location grid once it
        // is built (`plan`); those of field teams, officers, auditors and admins the tree alone
        // (tens of microseconds each), which spares the service a second grid's memory and
        // start-up time. The two trees are built side by side.
        let derived = date.signed_duration_since(chrono::Utc::now()).abs();
        tracing::info!(
            derive_ms = derived.num_milliseconds(),
            rss_mib = resident_mib(),
            "hazards and public features derived"
        );
        let t = std::time::Instant::now();
        let (public_index, index) = std::thread::scope(|scope| {
            let full = scope.spawn(move || Index::build_without_grid(hazards));
            let public_index = Index::build_without_grid(public.values().map(|f| public_hazard(f)));
            let full = full.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            (public_index, full)
        });
        tracing::info!(
            index_ms = t.elapsed().as_millis() as u64,
            rss_mib = resident_mib(),
            "both indexes' trees built"
        );
        ReadModel {
            index,
            cells: Pyramid::default(),
            public_cells: Pyramid::default(),
            areas,
            public_date: (!public.is_empty()).then_some(date),
            public,
            public_index,
            data_date,
            extent,
            public_extent,
            seq: 0,
            cells_pending: Some(CellsPending::default()),
        }
    }

    /// What is still to be built for this model to be complete, as it holds now; from now on
    /// every write is noted, so that what is built from the plan can be brought up to the model
    /// as it is when installed. `None` when the model is complete. A second plan replaces the
    /// first (whose parts are then not installed).
    pub fn plan(&mut self) -> Option<Plan> {
        let pending = self.cells_pending.as_mut()?;
        pending.plan = CELL_PLANS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        pending.changes.clear();
        let cells = CellsPlan {
            plan: pending.plan,
            ranked: ranked_shapes(&self.areas, &self.public),
        };
        Some(Plan {
            cells,
            grid: self.public_index.grid_plan(),
        })
    }

    /// Installs covering cells built from this model's plan, after counting in them every write
    /// made since the plan. False (nothing installed) when they were planned for another model
    /// or an earlier plan.
    pub fn install_cells(&mut self, built: BuiltCells) -> bool {
        match &self.cells_pending {
            Some(p) if p.plan == built.plan => {}
            _ => return false,
        }
        let pending = self.cells_pending.take().expect("checked above");
        let (mut cells, mut public_cells) = (built.cells, built.public_cells);
        for (public, shape, rank, add) in pending.changes {
            let p = if public {
                &mut public_cells
            } else {
                &mut cells
            };
            if add {
                p.add(&shape, rank);
            } else {
                p.remove(&shape, rank);
            }
        }
        self.cells = cells;
        self.public_cells = public_cells;
        true
    }

    /// Installs the public point-location grid built from this model's plan, after putting in it
    /// every write made since the plan (`Index::install_grid`).
    pub fn install_grid(&mut self, built: BuiltGrid) -> bool {
        self.public_index.install_grid(built)
    }

    /// True when the covering cells are built (low-zoom tiles read them; else the indexes).
    pub fn cells_ready(&self) -> bool {
        self.cells_pending.is_none()
    }

    /// What is still being built, for `/health`: empty for a complete model.
    pub fn building(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if !self.cells_ready() {
            v.push("covering cells");
        }
        if !self.public_index.has_grid() {
            v.push("point-location grid");
        }
        v
    }

    /// Counts a shape in or out of a pyramid, or notes the count for cells still being built.
    fn count(&mut self, public: bool, shape: &ShapeRef, rank: u8, add: bool) {
        if let Some(p) = &mut self.cells_pending {
            p.changes.push((public, shape.clone(), rank, add));
            return;
        }
        let p = if public {
            &mut self.public_cells
        } else {
            &mut self.cells
        };
        if add {
            p.add(shape, rank);
        } else {
            p.remove(shape, rank);
        }
    }
}

/// What a run of records gives the model: their index entries and public features, in the
/// records' order, and the extents of both.
struct Derived {
    hazards: Vec<Hazard>,
    public: Vec<PublicFeature>,
    extent: Option<Rect<f64>>,
    public_extent: Option<Rect<f64>>,
}

fn derive(
    records: &[(&Arc<str>, &Arc<Record>)],
    catalogue: &Catalogue,
    date: Timestamp,
) -> Derived {
    let mut d = Derived {
        hazards: Vec::with_capacity(records.len()),
        public: Vec::with_capacity(records.len()),
        extent: None,
        public_extent: None,
    };
    for &(id, r) in records {
        d.hazards
            .push(Hazard::shared(id.clone(), &r.area, shape_of(r), catalogue));
        d.extent = union(d.extent, r.area.shape.covering_bbox());
        if let Some(f) = public_feature(id, r, catalogue, date) {
            d.public_extent = union(d.public_extent, f.shape.covering_bbox());
            d.public.push(f);
        }
    }
    d
}

/// Every current area in the store, keyed by id, and when the newest data was recorded.
type Records = (BTreeMap<Arc<str>, Arc<Record>>, Option<Timestamp>);

fn read_records<S: Store + ?Sized>(store: &S) -> Result<Records, StoreError> {
    let mut areas = BTreeMap::new();
    store.for_each_area(None, &mut |s| {
        areas.insert(Arc::from(s.area.id.as_str()), Arc::new(Record(s)));
        Ok(())
    })?;
    Ok((areas, store.stats()?.last_recorded_at))
}

impl ReadModel {
    /// The data's date for a caller: the newest write for callers with a token, the moment
    /// what the public sees last changed for the public.
    pub fn date_for(&self, sees_restricted: bool) -> Option<Timestamp> {
        if sees_restricted {
            self.data_date
        } else {
            self.public_date
        }
    }

    /// After a rebuild: every public feature the public sees unchanged from `old` keeps its
    /// date, and the public date moves only when something the public sees changed.
    pub fn keep_dates(&mut self, old: &ReadModel) {
        let mut changed = self.public.len() != old.public.len();
        for (id, f) in self.public.iter_mut() {
            match old.public.get(id) {
                Some(o) if o.same_as(f) => *f = Arc::new(f.dated_as(o)),
                _ => changed = true,
            }
        }
        if !changed {
            self.public_date = old.public_date;
        }
    }

    /// Brings the model up to date with one record's new current revision, as just committed:
    /// the record, its hazard in the full index, and what the public sees of it (its feature
    /// and public index entry, or its share of a danger zone). Costs a few index operations
    /// instead of a rebuild. Features of other records keep the data date they were built with
    /// (a restart shows the newest date on all); the model's own `data_date` becomes the write's.
    /// Extents only grow: an extent a little too large is harmless, one too small is not.
    pub fn apply(&mut self, s: StoredArea, catalogue: &Catalogue) {
        let date = s.revision.recorded_at;
        let open = cairn_index::Filter::default();
        if self
            .areas
            .get(s.area.id.as_str())
            .is_some_and(|old| old.revision.rev == s.revision.rev)
        {
            // Already applied (the feed may hand a revision over twice).
            return;
        }
        let id: Arc<str> = match self.areas.get_key_value(s.area.id.as_str()) {
            Some((k, _)) => k.clone(),
            None => Arc::from(s.area.id.as_str()),
        };
        let s = Arc::new(Record(s));
        // What the public saw under the ids this write may touch, to tell afterwards whether
        // anything the public sees changed (only then do dates move).
        let mut touched: Vec<Arc<str>> = Vec::with_capacity(2);
        for f in [self.areas.get(&id), Some(&s)]
            .into_iter()
            .flatten()
            .filter_map(|x| public_feature(&id, x, catalogue, date))
        {
            if !touched.contains(&f.id) {
                touched.push(f.id);
            }
        }
        let before: Vec<(Arc<str>, Option<Arc<PublicFeature>>)> = touched
            .into_iter()
            .map(|t| {
                let b = self.public.get(&t).cloned();
                (t, b)
            })
            .collect();
        if let Some(old) = self.areas.get(&id).cloned() {
            let h = Hazard::shared(id.clone(), &old.area, shape_of(&old), catalogue);
            if open.admits(&h) {
                self.count(false, &h.shape, rank(h.status.as_str()), false);
            }
            if let Some(f) = public_feature(&id, &old, catalogue, date) {
                let shared =
                    f.status_label == "danger-zone" && self.zone_used_by_other(&f, &id, catalogue);
                if !shared {
                    if let Some(shown) = self.public.remove(&f.id) {
                        self.count(true, &shown.shape, rank(shown.status_label), false);
                    }
                    self.public_index.remove(&f.id);
                }
            }
        }
        let h = Hazard::shared(id.clone(), &s.area, shape_of(&s), catalogue);
        if open.admits(&h) {
            self.count(false, &h.shape, rank(h.status.as_str()), true);
        }
        self.index.upsert(h);
        self.extent = union(self.extent, s.area.shape.covering_bbox());
        if let Some(f) = public_feature(&id, &s, catalogue, date) {
            self.public_extent = union(self.public_extent, f.shape.covering_bbox());
            // A zone already shown (for another record) is replaced, not counted twice.
            if let Some(shown) = self.public.get(&f.id).cloned() {
                self.count(true, &shown.shape, rank(shown.status_label), false);
            }
            self.count(true, &f.shape, rank(f.status_label), true);
            self.public_index.upsert(public_hazard(&f));
            self.public.insert(f.id.clone(), Arc::new(f));
        }
        self.areas.insert(id, s);
        self.data_date = Some(self.data_date.map_or(date, |d| d.max(date)));
        let mut changed = false;
        for (t, b) in before {
            match (b, self.public.get(&t)) {
                // Seen the same by the public: it keeps what it was shown with, date included.
                (Some(b), Some(a)) if b.same_as(a) => {
                    let kept = Arc::new(a.dated_as(&b));
                    self.public.insert(t, kept);
                }
                (None, None) => {}
                _ => changed = true,
            }
        }
        if changed {
            self.public_date = Some(self.public_date.map_or(date, |d| d.max(date)));
        }
    }

    /// True when a record other than `except` is also shown to the public as zone `zone`.
    fn zone_used_by_other(
        &self,
        zone: &PublicFeature,
        except: &str,
        catalogue: &Catalogue,
    ) -> bool {
        let Some(r) = zone.shape.covering_bbox() else {
            return false;
        };
        let all = cairn_index::Filter::every_status();
        // A record shown as this zone lies inside it, so its box meets the zone's.
        self.index
            .in_bbox(r.min(), r.max(), &all)
            .into_iter()
            .filter(|h| &*h.id != except)
            .filter_map(|h| self.areas.get(&*h.id))
            // Only an open restricted record is shown as a zone: the others are passed over
            // without working out their public view.
            .filter(|other| {
                other.area.props.classification == cairn_core::area::Classification::Restricted
                    && other.area.props.status.is_open_hazard()
            })
            .any(|other| {
                matches!(
                    public_view(&other.area, catalogue, Timestamp::default()),
                    Some(PublicView::Zone(z)) if z.id() == *zone.id
                )
            })
    }
}

/// Marks the public index's entries that stand for generalised danger zones: a bit above the
/// device categories' (the public index carries no categories otherwise), so that a hit's
/// label is read from the index by id (a hash lookup) rather than from the ordered map of
/// public features (a string-compared tree walk, a sixth of a place check's time on 1M areas).
const ZONE_MARK: u8 = 1 << 7;

/// The process's resident set in MiB, for the start-up log (0 where /proc is not).
pub(crate) fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| (pages * 4096) >> 20)
}

/// The public index's entry for a public feature: its id and shape shared with it.
fn public_hazard(f: &PublicFeature) -> Hazard {
    Hazard {
        id: f.id.clone(),
        // The public index only holds open hazards; zones count as confirmed for filtering.
        status: match f.status_label {
            "reported" => Status::Reported,
            "suspected" => Status::Suspected,
            "reduced" => Status::Reduced,
            _ => Status::Confirmed,
        },
        categories: if f.status_label == "danger-zone" {
            ZONE_MARK
        } else {
            0
        },
        shape: f.shape.clone(),
    }
}

/// The wire status label of a public index entry of this status and these categories (as a hit
/// of the public index carries them), without looking the entry up.
pub fn public_label(status: Status, categories: u8) -> &'static str {
    if categories & ZONE_MARK != 0 {
        return "danger-zone";
    }
    match status {
        Status::Reported => "reported",
        Status::Suspected => "suspected",
        Status::Reduced => "reduced",
        _ => "confirmed",
    }
}

/// What the low zooms' covering cells count: the open records (for callers who see everything)
/// and the public features, ranked by their labels as tiles rank them, as `Pyramid::add` would
/// count them one by one, each with a mask of the pyramids it counts in (`Pyramid::build_pair`):
/// a public record's shape, the same for both audiences, is rasterised once for both.
fn ranked_shapes(
    areas: &BTreeMap<Arc<str>, Arc<Record>>,
    public: &BTreeMap<Arc<str>, Arc<PublicFeature>>,
) -> Vec<(ShapeRef, u8, u8)> {
    let open = cairn_index::Filter::default();
    let mut ranked: Vec<(ShapeRef, u8, u8)> = Vec::with_capacity(areas.len() + public.len() / 8);
    for (id, r) in areas {
        if !open.admits_parts(r.area.props.status, 0) {
            continue;
        }
        let rank_all = rank(r.area.props.status.as_str());
        let mine = shape_of(r);
        let shown = public
            .get(id)
            .filter(|f| matches!(f.seen, Seen::Area(_)) && ShapeRef::same_copy(&f.shape, &mine));
        match shown {
            Some(f) => {
                debug_assert_eq!(rank(f.status_label), rank_all);
                ranked.push((mine, rank_all, 0b11));
            }
            None => ranked.push((mine, rank_all, 0b01)),
        }
    }
    for f in public.values() {
        if matches!(f.seen, Seen::Zone(_)) {
            ranked.push((f.shape.clone(), rank(f.status_label), 0b10));
        }
    }
    ranked
}

/// The public feature for a record (whose id is `id`), if the public is to see it at all. A public
/// record's feature shares the record's shape and id.
fn public_feature(
    id: &Arc<str>,
    r: &Arc<Record>,
    catalogue: &Catalogue,
    date: Timestamp,
) -> Option<PublicFeature> {
    match public_view(&r.area, catalogue, date)? {
        PublicView::Detailed { shape, detail } => {
            debug_assert!(shape == r.area.shape && *detail.id == **id);
            Some(PublicFeature {
                id: id.clone(),
                status_label: public_label(detail.status, 0),
                shape: shape_of(r),
                seen: Seen::Area(Box::new(detail)),
            })
        }
        PublicView::Zone(mut z) => {
            let zone_id = z.id();
            let polygon = std::mem::replace(
                &mut z.polygon,
                geo_types::Polygon::new(geo_types::LineString(Vec::new()), Vec::new()),
            );
            Some(PublicFeature {
                id: Arc::from(zone_id),
                shape: ShapeRef::from(Shape::Polygon(polygon)),
                seen: Seen::Zone(Box::new(z)),
                status_label: "danger-zone",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::HazardArea;
    use cairn_core::area::{AreaProperties, Classification, DeviceGroup};
    use cairn_store::{Op, Revision};
    use geo_types::polygon;
    use std::sync::Weak;

    /// A public confirmed area at revision `rev`, recorded `rev` seconds after a fixed moment,
    /// with `quantity` devices (a field the public does not see).
    fn record(rev: i64, quantity: u64) -> StoredArea {
        StoredArea {
            area: HazardArea {
                id: "HA-1".into(),
                shape: Shape::Polygon(polygon![
                    (x: 36.0, y: 49.0), (x: 36.01, y: 49.0), (x: 36.01, y: 49.01), (x: 36.0, y: 49.0)
                ]),
                props: AreaProperties {
                    name: Some("Field by the road".into()),
                    status: Status::Confirmed,
                    classification: Classification::Public,
                    evidence: None,
                    devices: vec![DeviceGroup {
                        device_type: "ap-mine-nonpersistent-15d".into(),
                        quantity: Some(quantity),
                        emplaced_from: None,
                        emplaced_to: None,
                        how_known: None,
                    }],
                    reference_points: vec![],
                    marking: None,
                    organisation: None,
                    reported_at: None,
                    emplacement: None,
                    extra: Default::default(),
                },
            },
            revision: Revision {
                rev,
                seq: rev,
                op: if rev == 1 { Op::Create } else { Op::Update },
                changeset: rev,
                recorded_at: chrono::DateTime::from_timestamp(1_800_000_000 + rev, 0)
                    .expect("a valid time"),
                author: "test".into(),
                reason: "test".into(),
                source: None,
                command: None,
            },
        }
    }

    fn model_of(s: StoredArea) -> ReadModel {
        let mut areas = BTreeMap::new();
        areas.insert(Arc::from(s.area.id.as_str()), Arc::new(Record(s)));
        ReadModel::from_areas(areas, &Catalogue::builtin(), None)
    }

    fn held(m: &ReadModel) -> Weak<Record> {
        Arc::downgrade(&m.areas["HA-1"])
    }

    #[test]
    fn a_record_its_indexes_and_its_public_feature_share_one_shape() {
        let m = model_of(record(1, 40));
        let r = &m.areas["HA-1"];
        let mine = shape_of(r);
        let f = &m.public["HA-1"];
        assert!(ShapeRef::same_copy(&f.shape, &mine));
        for idx in [&m.index, &m.public_index] {
            let h = idx.get("HA-1").expect("indexed");
            assert!(ShapeRef::same_copy(&h.shape, &mine));
            // One id too, the model's key.
            assert!(Arc::ptr_eq(
                &h.id,
                m.areas.keys().next().expect("one record")
            ));
        }
        // The properties made on request are the wire's: no device count, no type.
        let p = f.props();
        assert_eq!(p["kind"], "hazardous-area");
        assert_eq!(p["name"], "Field by the road");
        assert!(!p.contains_key("id") && !p.contains_key("devices"));
        assert_eq!(f.name(), Some("Field by the road"));
    }

    #[test]
    fn a_hidden_change_keeps_the_public_date_and_lets_the_old_record_go() {
        let mut m = model_of(record(1, 40));
        let shown = m.public["HA-1"].data_date();
        let old = held(&m);
        m.apply(record(2, 41), &Catalogue::builtin());
        let f = &m.public["HA-1"];
        // The public sees nothing new: the date it was shown with stays.
        assert_eq!(f.data_date(), shown);
        // The feature now refers to the current record's shape, and nothing keeps the replaced
        // record (a second copy of its geometry) alive.
        assert!(ShapeRef::same_copy(&f.shape, &shape_of(&m.areas["HA-1"])));
        assert!(old.upgrade().is_none());
    }

    #[test]
    fn a_rebuild_keeps_dates_without_keeping_the_old_model_alive() {
        let before = model_of(record(1, 40));
        let shown = before.public["HA-1"].data_date();
        let old = held(&before);
        let mut after = model_of(record(1, 40));
        after.keep_dates(&before);
        drop(before);
        assert_eq!(after.public["HA-1"].data_date(), shown);
        assert!(old.upgrade().is_none());
    }
}
