//! The transparency report in the style of Ottawa Convention Article 7 for a period: (c) areas
//! that contain or are suspected to contain anti-personnel mines, (i) measures to warn the
//! population, and the sector's usual figures (land released by method, devices found and
//! destroyed, post-release finds, casualties, open hazard by oblast). Computed from plain inputs,
//! with no I/O, and rendered as one self-contained HTML page (charts drawn here as inline SVG) or
//! as CSV in long format.
//!
//! Dates: a period is whole days `[from, to]`, both included, in UTC. An activity counts on the
//! day it `ended`; a land release on the day its activity ended (the release's valid date: when
//! the land was released on the ground; `released_at` is only when Cairn recorded it, and falls
//! back in when the activity is missing); an accident on the day it `occurred_at`; a post-release
//! find on the day it was recorded (the only date it carries).
//!
//! Editions: `Restricted` lists every area of section (c) with id, device types, quantities and
//! emplacement dates. `Public` lists in detail only the areas the public may see in detail
//! (`public::public_view` answers `Detailed`) and that carry nothing from an emplacement record;
//! every other area of (c) appears only as a count and an area per oblast. Victims' names and
//! notes are never read.
//!
//! Nothing withheld can be worked out from the public edition: its figures of restricted areas
//! (section (c) withheld, and the other restricted open hazards) stand for groups of at least
//! [`PUBLIC_MIN_GROUP`] areas, none of which makes up more than [`PUBLIC_MAX_SHARE`] of the
//! group's m², rounded to [`PUBLIC_ROUND_M2`]; an oblast whose group is smaller is merged with
//! the smallest others into [`OTHER_OBLASTS`] until that group is large enough, and when all of
//! them together are not, none is shown ("fewer than 5"). Every total is the sum of the rows
//! shown, so a total less its rows gives nothing back. Open hazards by oblast and by marking
//! count, in this edition, the areas shown in detail (the public map's own), with restricted
//! areas only as the protected groups.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

use chrono::{Datelike, NaiveDate};
use geo::{BooleanOps, BoundingRect};
use geo_types::{Coord, MultiPolygon, Rect};
use rstar::{AABB, RTree, RTreeObject};

use crate::accident::{Accident, AgeGroup, Outcome, Role, Sex};
use crate::area::{HazardArea, HowKnown, Marking, Timestamp, WireEnum};
use crate::catalogue::{Catalogue, Category};
use crate::certificate::esc;
use crate::lang::{Lang, thousands};
use crate::public::{PublicView, public_view};
use crate::release::{
    Activity, ActivityKind, DeviceAction, Find, Release, ReleaseMethod, SLIVER_M2, area_m2,
    shape_polygons,
};
use crate::validate::Problem;
use crate::zone::{Zone, ZoneKind};

/// The label of land in no oblast zone.
pub const OUTSIDE: &str = "outside any oblast";

/// The fewest restricted areas a figure of the public edition may stand for.
pub const PUBLIC_MIN_GROUP: u64 = 5;
/// The largest share of a public figure's m² that one restricted area may make up.
pub const PUBLIC_MAX_SHARE: f64 = 0.75;
/// The public edition rounds the m² of restricted areas to this (one hectare).
pub const PUBLIC_ROUND_M2: f64 = 10_000.0;
/// The row of the public edition merging oblasts with too few restricted areas to be shown.
pub const OTHER_OBLASTS: &str = "other oblasts (merged)";

// ---------------------------------------------------------------------------------------------
// Periods and months.

/// Whole days from `from` to `to`, both included (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// A period; `from` after `to` is refused, naming `from`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, Problem> {
        if from > to {
            return Err(Problem::new(
                "from",
                format!("{from} is after the end of the period ({to})"),
            ));
        }
        Ok(Period { from, to })
    }

    /// True when the day lies in the period.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }

    /// Every calendar month the period touches, in order.
    pub fn months(&self) -> Vec<Month> {
        let mut out = vec![Month::of(self.from)];
        let last = Month::of(self.to);
        while *out.last().unwrap_or(&last) < last {
            let m = out[out.len() - 1].next();
            out.push(m);
        }
        out
    }

    /// `FROM/TO` (ISO 8601 interval of dates), the period column of whole-period rows.
    pub fn label(&self) -> String {
        format!("{}/{}", self.from, self.to)
    }
}

/// A calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// The month of a day.
    pub fn of(d: NaiveDate) -> Month {
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Which readers a report is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edition {
    /// Anyone: restricted areas only as counts and areas per oblast.
    Public,
    /// Officers, auditors and administrators: everything.
    Restricted,
}

impl WireEnum for Edition {
    const ALL: &'static [(Edition, &'static str)] = &[
        (Edition::Public, "public"),
        (Edition::Restricted, "restricted"),
    ];
}

// ---------------------------------------------------------------------------------------------
// Oblasts.

struct Edge {
    a: Coord<f64>,
    b: Coord<f64>,
    zone: usize,
}

impl RTreeObject for Edge {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> AABB<[f64; 2]> {
        AABB::from_corners([self.a.x, self.a.y], [self.b.x, self.b.y])
    }
}

/// Oblast zones prepared for splitting areas: each zone's box, and every boundary edge in one
/// R-tree, so that an area far from any border is placed by one point-in-polygon test (a ray
/// whose crossings are read from the tree) and only an area a border crosses is intersected.
pub struct Oblasts {
    names: Vec<String>,
    geometry: Vec<MultiPolygon<f64>>,
    boxes: Vec<Rect<f64>>,
    edges: RTree<Edge>,
}

impl fmt::Debug for Oblasts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Oblasts")
            .field("names", &self.names)
            .finish()
    }
}

impl Oblasts {
    /// The zones of kind `oblast` among `zones`, in id order.
    pub fn new(zones: &[Zone]) -> Oblasts {
        let mut z: Vec<&Zone> = zones
            .iter()
            .filter(|z| z.facts.kind == ZoneKind::Oblast)
            .collect();
        z.sort_by(|a, b| a.id.cmp(&b.id));
        let mut names = Vec::new();
        let mut geometry = Vec::new();
        let mut boxes = Vec::new();
        let mut edges = Vec::new();
        for zone in z {
            let Some(bb) = zone.geometry.bounding_rect() else {
                continue;
            };
            let i = names.len();
            for p in &zone.geometry.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    for w in ring.0.windows(2) {
                        edges.push(Edge {
                            a: w[0],
                            b: w[1],
                            zone: i,
                        });
                    }
                }
            }
            names.push(zone.facts.name.clone());
            geometry.push(zone.geometry.clone());
            boxes.push(bb);
        }
        Oblasts {
            names,
            geometry,
            boxes,
            edges: RTree::bulk_load(edges),
        }
    }

    /// The oblasts' names, in the order their indexes refer to.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Even-odd ray test: is `p` inside zone `z`?
    fn contains(&self, z: usize, p: Coord<f64>) -> bool {
        let ray = AABB::from_corners([p.x, p.y], [self.boxes[z].max().x, p.y]);
        let mut inside = false;
        for e in self.edges.locate_in_envelope_intersecting(&ray) {
            if e.zone != z || (e.a.y > p.y) == (e.b.y > p.y) {
                continue;
            }
            let x = e.a.x + (p.y - e.a.y) * (e.b.x - e.a.x) / (e.b.y - e.a.y);
            if x > p.x {
                inside = !inside;
            }
        }
        inside
    }

    /// Splits land of `total_m2` square metres among the oblasts: `(Some(index), m²)` per oblast
    /// it lies in, `(None, m²)` for the part in none, largest first. The parts add up to the
    /// total (the part in none is what the oblasts' parts leave).
    pub fn split(&self, land: &MultiPolygon<f64>, total_m2: f64) -> Vec<(Option<usize>, f64)> {
        let Some(bb) = land.bounding_rect() else {
            return vec![(None, total_m2)];
        };
        let env = AABB::from_corners([bb.min().x, bb.min().y], [bb.max().x, bb.max().y]);
        let near: BTreeSet<usize> = self
            .edges
            .locate_in_envelope_intersecting(&env)
            .map(|e| e.zone)
            .collect();
        let first = land.0.first().and_then(|p| p.exterior().0.first().copied());
        // Fast path: no border of a zone near the land, and the land inside that zone.
        if let Some(c) = first {
            for z in 0..self.names.len() {
                if !near.contains(&z) && rects_meet(&self.boxes[z], &bb) && self.contains(z, c) {
                    return vec![(Some(z), total_m2)];
                }
            }
        }
        let mut parts = Vec::new();
        let mut inside = 0.0;
        for z in near {
            let m2 = area_m2(&land.intersection(&self.geometry[z])).min(total_m2 - inside);
            if m2 >= SLIVER_M2 {
                parts.push((Some(z), m2));
                inside += m2;
            }
        }
        let rest = total_m2 - inside;
        if rest >= SLIVER_M2 || parts.is_empty() {
            parts.push((None, rest.max(0.0)));
        } else if let Some(p) = parts.first_mut() {
            // A sliver outside every zone is measurement noise: the largest part keeps it.
            p.1 += rest;
        }
        parts.sort_by(|a, b| b.1.total_cmp(&a.1));
        parts
    }

    /// The name of an oblast index, or [`OUTSIDE`].
    pub fn name(&self, z: Option<usize>) -> &str {
        z.map(|i| self.names[i].as_str()).unwrap_or(OUTSIDE)
    }
}

fn rects_meet(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

// ---------------------------------------------------------------------------------------------
// The report.

/// Everything a report is computed from, besides the areas (which are added one at a time).
#[derive(Clone, Copy, Debug)]
pub struct ReportInput<'a> {
    pub period: Period,
    pub edition: Edition,
    pub catalogue: &'a Catalogue,
    /// Every zone; those of kind `oblast` are used.
    pub zones: &'a [Zone],
    pub activities: &'a [Activity],
    pub releases: &'a [Release],
    pub finds: &'a [Find],
    pub accidents: &'a [Accident],
    /// When the report is made: the date of the state of the areas it shows.
    pub generated_at: Timestamp,
}

/// An anti-personnel device group of a mined area, as section (c) lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct MinedDevices {
    pub device_type: String,
    pub name: String,
    /// `None`: unknown.
    pub quantity: Option<u64>,
    pub emplaced_from: Option<NaiveDate>,
    pub emplaced_to: Option<NaiveDate>,
}

/// An area of section (c) listed in detail.
#[derive(Clone, Debug, PartialEq)]
pub struct MinedArea {
    pub id: String,
    pub status: crate::Status,
    /// Oblasts the area lies in, largest share first.
    pub oblasts: Vec<String>,
    pub m2: f64,
    pub devices: Vec<MinedDevices>,
}

/// Areas counted but not listed (public edition): per oblast.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Withheld {
    pub areas: u64,
    pub m2: f64,
    /// The largest single area of the group (not published; for the dominance rule).
    pub largest_m2: f64,
}

impl Withheld {
    fn add(&mut self, m2: f64) {
        self.areas += 1;
        self.m2 += m2;
        self.largest_m2 = self.largest_m2.max(m2);
    }

    fn merge(&mut self, o: &Withheld) {
        self.areas += o.areas;
        self.m2 += o.m2;
        self.largest_m2 = self.largest_m2.max(o.largest_m2);
    }

    /// True when the group may be published: enough areas, none dominating.
    fn publishable(&self) -> bool {
        self.areas >= PUBLIC_MIN_GROUP && self.largest_m2 <= PUBLIC_MAX_SHARE * self.m2
    }
}

/// Restricted areas per oblast as the public edition may show them: every group publishable,
/// the oblasts too small merged into [`OTHER_OBLASTS`] (with the smallest publishable ones, until
/// the merged group is publishable too), m² rounded; `true` as second value when some areas
/// could not be shown at all (all groups together too few or dominated).
pub fn protect(groups: &BTreeMap<String, Withheld>) -> (BTreeMap<String, Withheld>, bool) {
    let mut shown: BTreeMap<String, Withheld> = BTreeMap::new();
    let mut other = Withheld::default();
    for (k, w) in groups {
        if w.publishable() {
            shown.insert(k.clone(), *w);
        } else {
            other.merge(w);
        }
    }
    while other.areas > 0 && !other.publishable() {
        // Merge the smallest group shown (fewest areas, then least m², then name).
        let Some(k) = shown
            .iter()
            .min_by(|a, b| {
                a.1.areas
                    .cmp(&b.1.areas)
                    .then(a.1.m2.total_cmp(&b.1.m2))
                    .then(a.0.cmp(b.0))
            })
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        if let Some(w) = shown.remove(&k) {
            other.merge(&w);
        }
    }
    let suppressed = other.areas > 0 && !other.publishable();
    if other.areas > 0 && !suppressed {
        shown.insert(OTHER_OBLASTS.to_string(), other);
    }
    for w in shown.values_mut() {
        w.m2 = (w.m2 / PUBLIC_ROUND_M2).round() * PUBLIC_ROUND_M2;
        w.largest_m2 = 0.0;
    }
    (shown, suppressed)
}

/// Open hazards per oblast: count (by the oblast holding the largest share) and area (split).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OblastFigures {
    pub areas: u64,
    pub m2: f64,
}

/// Section (i): measures to warn the population.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Warning {
    /// Marking activities ended in the period, and the distinct areas they marked.
    pub marking_activities: u64,
    pub areas_marked: u64,
    /// Open hazards now, by marking state (`unrecorded` when none is recorded).
    pub open_by_marking: BTreeMap<&'static str, u64>,
    /// Open hazards now on the public map: in detail, and as generalised danger zones.
    pub on_map_detailed: u64,
    pub on_map_as_zones: u64,
    /// Risk-education sessions and participants per month.
    pub eore_sessions: BTreeMap<Month, u64>,
    pub eore_participants: BTreeMap<Month, u64>,
}

/// Casualty figures of one month.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonthCasualties {
    pub killed: u64,
    pub injured: u64,
    /// Keyed `(group, outcome)`: group is a role, sex or age group word.
    pub by_role: BTreeMap<(&'static str, &'static str), u64>,
    pub by_sex: BTreeMap<(&'static str, &'static str), u64>,
    pub by_age: BTreeMap<(&'static str, &'static str), u64>,
    pub accidents: u64,
}

/// A breakdown of casualties in the HTML table: its name, its words, and where its counts are.
type CasualtyGroup = (
    &'static str,
    Vec<&'static str>,
    fn(&MonthCasualties) -> &BTreeMap<(&'static str, &'static str), u64>,
);

/// The report, for one edition.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub period: Period,
    pub edition: Edition,
    pub generated_at: Timestamp,
    pub months: Vec<Month>,
    /// Section (c), listed in detail (every area in the restricted edition).
    pub mined_areas: Vec<MinedArea>,
    /// Section (c), counted only (public edition), per oblast, protected by [`protect`].
    pub mined_withheld: BTreeMap<String, Withheld>,
    /// Public edition: some areas of (c) whose detail is restricted are too few to be shown.
    pub mined_withheld_suppressed: bool,
    /// Public edition: the other restricted open hazards (no AP mines), protected likewise.
    pub open_withheld: BTreeMap<String, Withheld>,
    pub open_withheld_suppressed: bool,
    pub mined_total: Withheld,
    /// AP devices of (c): the sum of known quantities, and groups of unknown quantity.
    pub mined_known_devices: u64,
    pub mined_unknown_groups: u64,
    pub warning: Warning,
    /// Land released per month and method: m² and number of releases. In the public edition,
    /// only the releases of areas it gives in detail; the others are in `released_withheld`.
    pub released_m2: BTreeMap<(Month, ReleaseMethod), f64>,
    pub released_count: BTreeMap<(Month, ReleaseMethod), u64>,
    /// Public edition: the releases of areas it withholds, over the whole period and every
    /// method, when they are at least [`PUBLIC_MIN_GROUP`] with none dominating (m² rounded);
    /// `released_withheld_suppressed` when there were some but too few to show.
    pub released_withheld: Option<Withheld>,
    pub released_withheld_suppressed: bool,
    /// Devices found and destroyed by activities ended in the period, by category.
    pub devices: BTreeMap<(Category, DeviceAction), u64>,
    /// Activities ended in the period, by kind.
    pub activities: BTreeMap<ActivityKind, u64>,
    /// Post-release finds recorded in the period: finds and items, per month.
    pub finds: BTreeMap<Month, (u64, u64)>,
    pub casualties: BTreeMap<Month, MonthCasualties>,
    /// Open hazards now, per oblast (and [`OUTSIDE`]); in the public edition only the areas
    /// shown in detail (restricted ones are in `mined_withheld` and `open_withheld`).
    pub open_by_oblast: BTreeMap<String, OblastFigures>,
}

/// Builds a report: `new`, then `add_area` for every current area, then `finish`.
#[derive(Debug)]
pub struct ReportBuilder<'a> {
    input: ReportInput<'a>,
    oblasts: Oblasts,
    report: Report,
    /// The danger zones the public map shows, by id.
    zones: BTreeSet<String>,
    /// Public edition: the areas given in detail (shown as they are on the map); a release of
    /// any other area is counted only in `released_withheld`.
    detailed: BTreeSet<String>,
    /// The period's releases: month, method, area and m².
    releases: Vec<(Month, ReleaseMethod, String, f64)>,
}

impl<'a> ReportBuilder<'a> {
    /// A builder; everything but the areas is counted here.
    pub fn new(input: ReportInput<'a>) -> ReportBuilder<'a> {
        let p = input.period;
        let months = p.months();
        let mut report = Report {
            period: p,
            edition: input.edition,
            generated_at: input.generated_at,
            months: months.clone(),
            mined_areas: Vec::new(),
            mined_withheld: BTreeMap::new(),
            mined_withheld_suppressed: false,
            open_withheld: BTreeMap::new(),
            open_withheld_suppressed: false,
            mined_total: Withheld::default(),
            mined_known_devices: 0,
            mined_unknown_groups: 0,
            warning: Warning::default(),
            released_m2: BTreeMap::new(),
            released_count: BTreeMap::new(),
            released_withheld: None,
            released_withheld_suppressed: false,
            devices: BTreeMap::new(),
            activities: BTreeMap::new(),
            finds: BTreeMap::new(),
            casualties: BTreeMap::new(),
            open_by_oblast: BTreeMap::new(),
        };
        for m in &months {
            for (method, _) in ReleaseMethod::ALL {
                report.released_m2.insert((*m, *method), 0.0);
                report.released_count.insert((*m, *method), 0);
            }
            report.casualties.insert(*m, MonthCasualties::default());
            report.finds.insert(*m, (0, 0));
            report.warning.eore_sessions.insert(*m, 0);
            report.warning.eore_participants.insert(*m, 0);
        }
        let category = |t: &str| {
            input
                .catalogue
                .get(t)
                .map(|d| d.category)
                .unwrap_or(Category::Other)
        };
        // Activities, by the day they ended.
        let mut ended: BTreeMap<&str, NaiveDate> = BTreeMap::new();
        let mut marked = BTreeSet::new();
        for a in input.activities {
            ended.insert(a.id.as_str(), a.facts.ended);
            if !p.contains(a.facts.ended) {
                continue;
            }
            let m = Month::of(a.facts.ended);
            *report.activities.entry(a.facts.kind).or_default() += 1;
            for d in &a.facts.devices {
                *report
                    .devices
                    .entry((category(&d.device_type), d.action))
                    .or_default() += d.count;
            }
            match a.facts.kind {
                ActivityKind::Marking => {
                    report.warning.marking_activities += 1;
                    marked.insert(a.facts.area_id.as_str());
                }
                ActivityKind::RiskEducation => {
                    *report.warning.eore_sessions.entry(m).or_default() += 1;
                    *report.warning.eore_participants.entry(m).or_default() +=
                        a.facts.participants.unwrap_or(0);
                }
                _ => {}
            }
        }
        report.warning.areas_marked = marked.len() as u64;
        // Releases, by the day their activity ended.
        let mut releases = Vec::new();
        for r in input.releases {
            let day = ended
                .get(r.facts.activity_id.as_str())
                .copied()
                .unwrap_or_else(|| r.facts.released_at.date_naive());
            if !p.contains(day) {
                continue;
            }
            let k = (Month::of(day), r.facts.method);
            *report.released_m2.entry(k).or_default() += r.facts.released_m2;
            *report.released_count.entry(k).or_default() += 1;
            releases.push((k.0, k.1, r.facts.area_id.clone(), r.facts.released_m2));
        }
        for f in input.finds {
            let day = f.facts.recorded_at.date_naive();
            if p.contains(day) {
                let e = report.finds.entry(Month::of(day)).or_default();
                e.0 += 1;
                e.1 += f.facts.count;
            }
        }
        for a in input.accidents {
            let day = a.facts.occurred_at.date_naive();
            if !p.contains(day) {
                continue;
            }
            let c = report.casualties.entry(Month::of(day)).or_default();
            c.accidents += 1;
            for v in &a.facts.casualties {
                let o = v.outcome.as_str();
                match v.outcome {
                    Outcome::Killed => c.killed += 1,
                    Outcome::Injured => c.injured += 1,
                }
                *c.by_role.entry((role_word(v.role), o)).or_default() += 1;
                *c.by_sex.entry((sex_word(v.sex), o)).or_default() += 1;
                *c.by_age.entry((age_word(v.age_group), o)).or_default() += 1;
            }
        }
        ReportBuilder {
            oblasts: Oblasts::new(input.zones),
            input,
            report,
            zones: BTreeSet::new(),
            detailed: BTreeSet::new(),
            releases,
        }
    }

    /// Counts one current area: open hazards by oblast, marking and the public map, and section
    /// (c) when it holds AP devices.
    pub fn add_area(&mut self, area: &HazardArea) {
        if self.input.edition == Edition::Public
            && matches!(
                public_view(area, self.input.catalogue, self.input.generated_at),
                Some(PublicView::Detailed { .. })
            )
        {
            self.detailed.insert(area.id.clone());
        }
        if !area.props.status.is_open_hazard() {
            return;
        }
        let land = shape_polygons(&area.shape);
        let m2 = area_m2(&land);
        let split = self.oblasts.split(&land, m2);
        let primary = self
            .oblasts
            .name(split.first().and_then(|s| s.0))
            .to_string();
        let view = public_view(area, self.input.catalogue, self.input.generated_at);
        let in_detail = matches!(view, Some(PublicView::Detailed { .. }));
        let public = self.input.edition == Edition::Public;
        let r = &mut self.report;
        match &view {
            Some(PublicView::Detailed { .. }) => r.warning.on_map_detailed += 1,
            Some(PublicView::Zone(z)) => {
                self.zones.insert(z.id());
            }
            None => {}
        }
        let ap: Vec<&crate::DeviceGroup> = area
            .props
            .devices
            .iter()
            .filter(|g| {
                self.input
                    .catalogue
                    .get(&g.device_type)
                    .is_some_and(|t| t.category == Category::ApMine)
            })
            .collect();
        let from_record = area.props.emplacement.is_some()
            || area
                .props
                .devices
                .iter()
                .any(|g| g.how_known == Some(HowKnown::Record));
        // The public edition counts by oblast and marking only the areas it gives in detail (shown
        // in detail on the map, and in (c) listed); the others go to the protected groups below.
        let listed = in_detail && (ap.is_empty() || !from_record);
        if !public || listed {
            for (z, part) in &split {
                r.open_by_oblast
                    .entry(self.oblasts.name(*z).to_string())
                    .or_default()
                    .m2 += part;
            }
            r.open_by_oblast.entry(primary.clone()).or_default().areas += 1;
            *r.warning
                .open_by_marking
                .entry(
                    area.props
                        .marking
                        .map(Marking::as_str)
                        .unwrap_or("unrecorded"),
                )
                .or_default() += 1;
        }
        if ap.is_empty() {
            if public && !listed {
                r.open_withheld.entry(primary).or_default().add(m2);
            }
            return;
        }
        r.mined_total.add(m2);
        // Device counts are restricted detail (public.rs shows the public categories only):
        // the public edition neither lists nor sums them.
        if !public {
            for g in &ap {
                match g.quantity {
                    Some(q) => r.mined_known_devices += q,
                    None => r.mined_unknown_groups += 1,
                }
            }
        }
        let detailed = match self.input.edition {
            Edition::Restricted => true,
            Edition::Public => listed,
        };
        if !detailed {
            r.mined_withheld.entry(primary).or_default().add(m2);
            return;
        }
        r.mined_areas.push(MinedArea {
            id: area.id.clone(),
            status: area.props.status,
            oblasts: split
                .iter()
                .map(|(z, _)| self.oblasts.name(*z).to_string())
                .collect(),
            m2,
            devices: if public {
                // What `public_view` shows of a public record: the category, nothing more.
                vec![MinedDevices {
                    device_type: Category::ApMine.as_str().into(),
                    name: Category::ApMine.label().into(),
                    quantity: None,
                    emplaced_from: None,
                    emplaced_to: None,
                }]
            } else {
                ap.iter()
                    .map(|g| MinedDevices {
                        device_type: g.device_type.clone(),
                        name: self
                            .input
                            .catalogue
                            .get(&g.device_type)
                            .map(|t| t.name.clone())
                            .unwrap_or_default(),
                        quantity: g.quantity,
                        emplaced_from: g.emplaced_from.map(|t| t.date_naive()),
                        emplaced_to: g.emplaced_to.map(|t| t.date_naive()),
                    })
                    .collect()
            },
        });
    }

    /// The report; in the public edition with every group of restricted areas protected
    /// ([`protect`]) and every total the sum of what is shown.
    pub fn finish(mut self) -> Report {
        let r = &mut self.report;
        r.mined_areas.sort_by(|a, b| a.id.cmp(&b.id));
        r.warning.on_map_as_zones = self.zones.len() as u64;
        if r.edition == Edition::Public {
            let (mined, mined_suppressed) = protect(&r.mined_withheld);
            let (open, open_suppressed) = protect(&r.open_withheld);
            r.mined_withheld = mined;
            r.mined_withheld_suppressed = mined_suppressed;
            r.open_withheld = open;
            r.open_withheld_suppressed = open_suppressed;
            let mut total = Withheld::default();
            for a in &r.mined_areas {
                total.areas += 1;
                total.m2 += a.m2;
            }
            for w in r.mined_withheld.values() {
                total.areas += w.areas;
                total.m2 += w.m2;
            }
            r.mined_total = total;
            // Land released: by month and method only for areas given in detail; the releases
            // of withheld areas (one alone in its month would give its exact m²) as one group
            // over the period, when it may be published, else only said to exist.
            r.released_m2.values_mut().for_each(|v| *v = 0.0);
            r.released_count.values_mut().for_each(|v| *v = 0);
            let mut withheld = Withheld::default();
            for (m, method, area, m2) in &self.releases {
                if self.detailed.contains(area) {
                    *r.released_m2.entry((*m, *method)).or_default() += m2;
                    *r.released_count.entry((*m, *method)).or_default() += 1;
                } else {
                    withheld.add(*m2);
                }
            }
            if withheld.areas > 0 {
                if withheld.publishable() {
                    withheld.m2 = (withheld.m2 / PUBLIC_ROUND_M2).round() * PUBLIC_ROUND_M2;
                    withheld.largest_m2 = 0.0;
                    r.released_withheld = Some(withheld);
                } else {
                    r.released_withheld_suppressed = true;
                }
            }
        }
        self.report
    }
}

/// A report over areas given as a slice.
pub fn build(input: ReportInput<'_>, areas: &[HazardArea]) -> Report {
    let mut b = ReportBuilder::new(input);
    for a in areas {
        b.add_area(a);
    }
    b.finish()
}

fn role_word(r: Role) -> &'static str {
    r.as_str()
}

fn sex_word(s: Sex) -> &'static str {
    s.as_str()
}

fn age_word(a: AgeGroup) -> &'static str {
    a.as_str()
}

impl Report {
    /// Land released in the period by method: m² and releases.
    pub fn released_total(&self, method: ReleaseMethod) -> (f64, u64) {
        let m2 = self
            .released_m2
            .iter()
            .filter(|((_, k), _)| *k == method)
            .map(|(_, v)| v)
            .sum();
        let n = self
            .released_count
            .iter()
            .filter(|((_, k), _)| *k == method)
            .map(|(_, v)| v)
            .sum();
        (m2, n)
    }

    /// Killed and injured over the period.
    pub fn casualty_totals(&self) -> (u64, u64) {
        self.casualties
            .values()
            .fold((0, 0), |t, c| (t.0 + c.killed, t.1 + c.injured))
    }
}

// ---------------------------------------------------------------------------------------------
// CSV.

/// The CSV header.
pub const CSV_HEADER: &str = "section,period,key,value";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// The report as CSV in long format: one figure per line, `section,period,key,value`. `period`
/// is a month (`YYYY-MM`), the whole period (`FROM/TO`) or, for the state of the store when the
/// report was made, that day (`YYYY-MM-DD`). Areas are in m². The sections and keys are listed
/// in CHANGELOG.md; the first line is [`CSV_HEADER`].
pub fn render_csv(r: &Report) -> String {
    let mut out = String::new();
    let mut row = |section: &str, period: &str, key: &str, value: String| {
        let _ = writeln!(
            out,
            "{},{},{},{}",
            section,
            csv_field(period),
            csv_field(key),
            csv_field(&value)
        );
    };
    let whole = r.period.label();
    let now = r.generated_at.date_naive().to_string();
    row("report", &whole, "edition", r.edition.as_str().to_string());
    row(
        "report",
        &whole,
        "generated_at",
        r.generated_at.to_rfc3339(),
    );
    // Section (c).
    row(
        "mined_areas",
        &now,
        "areas",
        r.mined_total.areas.to_string(),
    );
    row("mined_areas", &now, "m2", num(r.mined_total.m2));
    let public = r.edition == Edition::Public;
    if !public {
        row(
            "mined_areas",
            &now,
            "ap_devices_known",
            r.mined_known_devices.to_string(),
        );
        row(
            "mined_areas",
            &now,
            "ap_groups_quantity_unknown",
            r.mined_unknown_groups.to_string(),
        );
    }
    for a in &r.mined_areas {
        row(
            "mined_area",
            &now,
            &format!("{}/status", a.id),
            a.status.as_str().into(),
        );
        row(
            "mined_area",
            &now,
            &format!("{}/oblast", a.id),
            a.oblasts.join(" / "),
        );
        row("mined_area", &now, &format!("{}/m2", a.id), num(a.m2));
        for (i, d) in a.devices.iter().enumerate() {
            let k = |f: &str| format!("{}/{i}/{f}", a.id);
            row("mined_area", &now, &k("type"), d.device_type.clone());
            if public {
                continue;
            }
            row(
                "mined_area",
                &now,
                &k("quantity"),
                d.quantity.map_or("unknown".into(), |q| q.to_string()),
            );
            row(
                "mined_area",
                &now,
                &k("emplaced_from"),
                d.emplaced_from.map_or("unknown".into(), |t| t.to_string()),
            );
            row(
                "mined_area",
                &now,
                &k("emplaced_to"),
                d.emplaced_to.map_or("unknown".into(), |t| t.to_string()),
            );
        }
    }
    for (section, groups, suppressed) in [
        (
            "mined_withheld",
            &r.mined_withheld,
            r.mined_withheld_suppressed,
        ),
        (
            "open_withheld",
            &r.open_withheld,
            r.open_withheld_suppressed,
        ),
    ] {
        for (oblast, w) in groups {
            row(
                section,
                &now,
                &format!("{oblast}/areas"),
                w.areas.to_string(),
            );
            row(section, &now, &format!("{oblast}/m2"), num(w.m2));
        }
        if suppressed {
            row(
                section,
                &now,
                "not_shown",
                format!("fewer than {PUBLIC_MIN_GROUP} areas, or one dominating"),
            );
        }
    }
    // Section (i).
    let w = &r.warning;
    row(
        "warning",
        &whole,
        "marking_activities",
        w.marking_activities.to_string(),
    );
    row(
        "warning",
        &whole,
        "areas_marked",
        w.areas_marked.to_string(),
    );
    for (k, v) in &w.open_by_marking {
        row("warning", &now, &format!("open_{k}"), v.to_string());
    }
    row(
        "warning",
        &now,
        "on_public_map_detailed",
        w.on_map_detailed.to_string(),
    );
    row(
        "warning",
        &now,
        "on_public_map_as_zones",
        w.on_map_as_zones.to_string(),
    );
    for m in &r.months {
        let p = m.to_string();
        row(
            "risk_education",
            &p,
            "sessions",
            w.eore_sessions.get(m).copied().unwrap_or(0).to_string(),
        );
        row(
            "risk_education",
            &p,
            "participants",
            w.eore_participants.get(m).copied().unwrap_or(0).to_string(),
        );
    }
    // Sector figures.
    for ((m, method), v) in &r.released_m2 {
        row("released_m2", &m.to_string(), method.as_str(), num(*v));
    }
    for ((m, method), v) in &r.released_count {
        row(
            "released_count",
            &m.to_string(),
            method.as_str(),
            v.to_string(),
        );
    }
    if let Some(w) = &r.released_withheld {
        row("released_withheld", &whole, "m2", num(w.m2));
        row("released_withheld", &whole, "releases", w.areas.to_string());
    } else if r.released_withheld_suppressed {
        row(
            "released_withheld",
            &whole,
            "note",
            format!("fewer than {PUBLIC_MIN_GROUP} releases, or one dominating"),
        );
    }
    for (kind, n) in &r.activities {
        row("activities", &whole, kind.as_str(), n.to_string());
    }
    for ((cat, action), n) in &r.devices {
        row(
            "devices",
            &whole,
            &format!("{}/{}", cat.as_str(), action.as_str()),
            n.to_string(),
        );
    }
    for (m, (finds, items)) in &r.finds {
        row(
            "post_release_finds",
            &m.to_string(),
            "finds",
            finds.to_string(),
        );
        row(
            "post_release_finds",
            &m.to_string(),
            "items",
            items.to_string(),
        );
    }
    for (m, c) in &r.casualties {
        let p = m.to_string();
        row("casualties", &p, "accidents", c.accidents.to_string());
        row("casualties", &p, "killed", c.killed.to_string());
        row("casualties", &p, "injured", c.injured.to_string());
        for (section, map) in [
            ("casualties_role", &c.by_role),
            ("casualties_sex", &c.by_sex),
            ("casualties_age", &c.by_age),
        ] {
            for ((g, o), n) in map {
                row(section, &p, &format!("{g}/{o}"), n.to_string());
            }
        }
    }
    for (oblast, f) in &r.open_by_oblast {
        row(
            "open_hazard",
            &now,
            &format!("{oblast}/areas"),
            f.areas.to_string(),
        );
        row("open_hazard", &now, &format!("{oblast}/m2"), num(f.m2));
    }
    format!("{CSV_HEADER}\n{out}")
}

// ---------------------------------------------------------------------------------------------
// HTML.

/// A stacked bar chart per month as inline SVG, with a y axis of round ticks and a legend.
fn bar_chart(
    id: &str,
    title: &str,
    unit: &str,
    months: &[String],
    series: &[ChartSeries],
) -> String {
    const W: f64 = 760.0;
    const H: f64 = 300.0;
    const LEFT: f64 = 64.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 34.0;
    const BOTTOM: f64 = 46.0;
    let n = months.len().max(1);
    let ChartScale { totals, step, top } = ChartScale::of(months.len(), series);
    let plot_h = H - TOP - BOTTOM;
    let plot_w = W - LEFT - RIGHT;
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.7).max(2.0);
    let y = |v: f64| TOP + plot_h - v / top * plot_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg class="chart" id="{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{t}" data-total="{total}">
<title>{t}</title>
<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{t}</text>"##,
        t = esc(title),
        total = num(totals.iter().sum()),
    );
    let mut v = 0.0;
    while v <= top + step * 1e-9 {
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{x2}" y2="{yy:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end">{label}</text>"##,
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty = yy + 4.0,
            label = short(v),
        );
        v += step;
    }
    let _ = writeln!(
        s,
        r##"<text x="12" y="{ym:.1}" font-size="11" transform="rotate(-90 12 {ym:.1})" text-anchor="middle">{unit}</text>"##,
        ym = TOP + plot_h / 2.0,
        unit = esc(unit)
    );
    for (i, m) in months.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut base = 0.0;
        for ser in series {
            let val = ser.values.get(i).copied().unwrap_or(0.0);
            if val > 0.0 {
                let (y0, y1) = (y(base), y(base + val));
                let _ = writeln!(
                    s,
                    r##"<rect class="bar" x="{x:.1}" y="{y1:.1}" width="{bar_w:.1}" height="{h:.1}" fill="{c}"><title>{m} {l}: {v}</title></rect>"##,
                    h = (y0 - y1).max(0.5),
                    c = ser.colour,
                    l = esc(&ser.label),
                    v = num(val),
                );
            }
            base += val;
        }
        if n <= 13 || i % 2 == 0 {
            let _ = writeln!(
                s,
                r##"<text x="{cx:.1}" y="{ty}" font-size="11" text-anchor="middle">{m}</text>"##,
                cx = x + bar_w / 2.0,
                ty = H - BOTTOM + 16.0,
            );
        }
    }
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{b}" x2="{x2}" y2="{b}" stroke="#000"/>"##,
        b = TOP + plot_h,
        x2 = W - RIGHT
    );
    let mut lx = LEFT;
    for ser in series {
        let _ = writeln!(
            s,
            r##"<rect x="{lx:.1}" y="{ly}" width="12" height="12" fill="{c}"/><text x="{tx:.1}" y="{ty}" font-size="12">{l}</text>"##,
            ly = H - 16.0,
            c = ser.colour,
            tx = lx + 16.0,
            ty = H - 6.0,
            l = esc(&ser.label),
        );
        lx += 28.0 + 7.0 * ser.label.chars().count() as f64;
    }
    s.push_str("</svg>\n");
    s
}

/// A stacked bar chart's scale, the same on the page and in the PDF: each month's total, a round
/// step between the ticks (about four of them) and the axis's top, a whole number of steps at
/// or above the largest total (1 when every total is 0).
#[derive(Clone, Debug, PartialEq)]
pub struct ChartScale {
    pub totals: Vec<f64>,
    pub step: f64,
    pub top: f64,
}

impl ChartScale {
    pub fn of(months: usize, series: &[ChartSeries]) -> ChartScale {
        let totals: Vec<f64> = (0..months.max(1))
            .map(|i| {
                series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                    .sum()
            })
            .collect();
        let max = totals.iter().copied().fold(0.0, f64::max);
        let step = nice_step(max / 4.0);
        let top = if max > 0.0 {
            (max / step).ceil() * step
        } else {
            1.0
        };
        ChartScale { totals, step, top }
    }
}

/// A round step (1, 2 or 5 times a power of ten) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", num(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", num(v / 1e3))
    } else {
        num(v)
    }
}

/// A piece of the report as both renderings show it: the page (`render_html_in`) and the PDF
/// (`cairn-docs`) are drawn from the same blocks, so they say the same in either language.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A section heading (level 2) or a sub-heading (level 3).
    Heading(u8, String),
    Para(String),
    Note(String),
    /// Rows of label and value.
    Facts(Vec<(String, String)>),
    /// A table; `total` when its last row sums the others.
    Table {
        class: &'static str,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        numeric: Vec<bool>,
        total: bool,
    },
    /// A stacked bar chart per month.
    Chart {
        id: &'static str,
        title: String,
        unit: String,
        months: Vec<String>,
        series: Vec<ChartSeries>,
    },
}

/// A series of a chart: its label, colour (`#rrggbb`) and one value per month.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSeries {
    pub label: String,
    pub colour: &'static str,
    pub values: Vec<f64>,
}

/// The report as words of one language: its title, the line under it, the edition's note, the
/// blocks and the closing note.
#[derive(Clone, Debug)]
pub struct ReportText {
    pub title: String,
    pub period: String,
    pub edition: String,
    pub blocks: Vec<Block>,
    pub closing: String,
}

/// A wire word of the report (a marking, a casualty's role, sex or age group) for people.
fn word(lang: Lang, w: &str) -> String {
    let uk = match w {
        "unmarked" => "не позначено",
        "partially-marked" => "позначено частково",
        "marked" => "позначено",
        "fenced" => "огороджено",
        "unrecorded" => "позначення не зазначено",
        "unknown" => "невідомо",
        "civilian" => "цивільні",
        "deminer" => "сапери",
        "military" => "військові",
        "female" => "жінки",
        "male" => "чоловіки",
        "child" => "діти",
        "adult" => "дорослі",
        "killed" => "загинули",
        "injured" => "поранені",
        other => return other.replace('-', " "),
    };
    match lang {
        Lang::Uk => uk.to_string(),
        Lang::En => w.replace('-', " "),
    }
}

fn km2_in(m2: f64, lang: Lang) -> String {
    lang.decimal(m2 / 1e6, 4)
}

fn withheld_blocks(
    out: &mut Vec<Block>,
    groups: &BTreeMap<String, Withheld>,
    suppressed: bool,
    lang: Lang,
) {
    if groups.is_empty() && !suppressed {
        out.push(Block::Para(lang.pick("Немає.", "None.").into()));
        return;
    }
    if !groups.is_empty() {
        out.push(Block::Table {
            class: "withheld",
            header: vec![
                lang.pick("Область", "Oblast").into(),
                lang.pick("Території", "Areas").into(),
                lang.pick("км²", "km²").into(),
            ],
            rows: groups
                .iter()
                .map(|(o, w)| vec![oblast_name(o, lang), thousands(w.areas), km2_in(w.m2, lang)])
                .collect(),
            numeric: vec![false, true, true],
            total: false,
        });
    }
    if suppressed {
        out.push(Block::Note(match lang {
            Lang::En => format!("Fewer than {PUBLIC_MIN_GROUP} further areas (or one making up most of their area): not counted here, so that none can be made out."),
            Lang::Uk => format!("Ще менше ніж {PUBLIC_MIN_GROUP} території (або одна, що становить більшу частину їхньої площі): тут не враховано, щоб жодну з них не можна було розпізнати."),
        }));
    }
}

/// An oblast's name as the report gives it (the two names Cairn makes itself are translated).
fn oblast_name(o: &str, lang: Lang) -> String {
    match (lang, o) {
        (Lang::Uk, OUTSIDE) => "поза будь-якою областю".into(),
        (Lang::Uk, OTHER_OBLASTS) => "інші області (об'єднано)".into(),
        _ => o.to_string(),
    }
}

/// The report's words and blocks in `lang`.
pub fn report_text(r: &Report, lang: Lang) -> ReportText {
    let p = |uk: &'static str, en: &'static str| lang.pick(uk, en).to_string();
    let mut b: Vec<Block> = Vec::new();
    let now = lang.datetime(r.generated_at);
    let edition = match (r.edition, lang) {
        (Edition::Public, Lang::En) => {
            "Public edition: what the public map shows. Areas whose detail is restricted are counted per oblast, without ids; no edition for the public gives device types, quantities or dates (the public sees categories only)."
        }
        (Edition::Public, Lang::Uk) => {
            "Публічне видання: те, що показує публічна мапа. Території, відомості про які мають обмежений доступ, враховано за областями, без ідентифікаторів; жодне публічне видання не наводить типів предметів, їхньої кількості чи дат (публіка бачить лише категорії)."
        }
        (Edition::Restricted, Lang::En) => {
            "Restricted edition: every area is listed with its device types, quantities and emplacement dates. Not for publication."
        }
        (Edition::Restricted, Lang::Uk) => {
            "Видання з обмеженим доступом: кожну територію наведено з типами предметів, їхньою кількістю та датами встановлення. Не для оприлюднення."
        }
    };
    // Section (c).
    let quantities = match (r.edition, lang) {
        (Edition::Public, Lang::En) => {
            "device types, quantities and emplacement dates are not published in this edition"
                .to_string()
        }
        (Edition::Public, Lang::Uk) => {
            "типи предметів, їхню кількість і дати встановлення в цьому виданні не оприлюднено"
                .to_string()
        }
        (Edition::Restricted, Lang::En) => format!(
            "{} anti-personnel mines of known quantity, and {} device groups whose quantity is unknown",
            thousands(r.mined_known_devices),
            thousands(r.mined_unknown_groups)
        ),
        (Edition::Restricted, Lang::Uk) => format!(
            "протипіхотних мін відомої кількості: {}; груп предметів невідомої кількості: {}",
            thousands(r.mined_known_devices),
            thousands(r.mined_unknown_groups)
        ),
    };
    b.push(Block::Heading(
        2,
        p(
            "(c) Території, де є або підозрюється наявність протипіхотних мін",
            "(c) Areas containing or suspected to contain anti-personnel mines",
        ),
    ));
    b.push(Block::Para(match lang {
        Lang::En => format!(
            "State of the records on {now}: {} open hazardous areas with anti-personnel mines, {} km² in all; {quantities}.",
            thousands(r.mined_total.areas),
            km2_in(r.mined_total.m2, lang)
        ),
        Lang::Uk => format!(
            "Стан записів на {now}: відкритих небезпечних територій із протипіхотними мінами — {}, загалом {} км²; {quantities}.",
            thousands(r.mined_total.areas),
            km2_in(r.mined_total.m2, lang)
        ),
    }));
    if !r.mined_areas.is_empty() {
        let unknown = p("невідомо", "unknown");
        let unpublished = p("не оприлюднено", "not published");
        let date = |d: Option<NaiveDate>| d.map_or(unknown.clone(), |d| lang.date(d));
        let mut rows = Vec::new();
        for a in &r.mined_areas {
            for (i, d) in a.devices.iter().enumerate() {
                let head = if i == 0 {
                    vec![
                        a.id.clone(),
                        lang.status(a.status).to_string(),
                        a.oblasts
                            .iter()
                            .map(|o| oblast_name(o, lang))
                            .collect::<Vec<_>>()
                            .join(" / "),
                        km2_in(a.m2, lang),
                    ]
                } else {
                    vec![String::new(); 4]
                };
                let tail = if r.edition == Edition::Public {
                    vec![d.name.clone(), unpublished.clone(), unpublished.clone()]
                } else {
                    vec![
                        format!("{} ({})", d.name, d.device_type),
                        d.quantity.map_or(unknown.clone(), thousands),
                        format!("{} – {}", date(d.emplaced_from), date(d.emplaced_to)),
                    ]
                };
                rows.push(head.into_iter().chain(tail).collect());
            }
        }
        b.push(Block::Table {
            class: "mined",
            header: vec![
                p("Територія", "Area"),
                p("Статус", "Status"),
                p("Область", "Oblast"),
                p("км²", "km²"),
                p("Тип предмета", "Device type"),
                p("Кількість", "Quantity"),
                p("Встановлено", "Emplaced"),
            ],
            rows,
            numeric: vec![false, false, false, true, false, true, false],
            total: false,
        });
    }
    if r.edition == Edition::Public {
        b.push(Block::Heading(
            3,
            p(
                "Території, відомості про які мають обмежений доступ",
                "Areas whose detail is restricted",
            ),
        ));
        b.push(Block::Note(match lang {
            Lang::En => format!(
                "These areas are shown on the public map as generalised danger zones. Their exact outlines, device types, quantities and dates are withheld to protect sources and the people clearing them; their count and area are given here per oblast, for groups of at least {PUBLIC_MIN_GROUP} areas none of which makes up more than {:.0}% of the group's area, rounded to the hectare. Smaller groups are merged into “{OTHER_OBLASTS}”.",
                PUBLIC_MAX_SHARE * 100.0
            ),
            Lang::Uk => format!(
                "Ці території показано на публічній мапі як узагальнені небезпечні зони. Їхні точні межі, типи предметів, кількість і дати приховано, щоб захистити джерела та людей, які їх очищують; їхню кількість і площу наведено тут за областями, для груп щонайменше з {PUBLIC_MIN_GROUP} територій, жодна з яких не становить понад {:.0}% площі групи, з округленням до гектара. Менші групи об'єднано в «{}».",
                PUBLIC_MAX_SHARE * 100.0,
                oblast_name(OTHER_OBLASTS, lang)
            ),
        }));
        withheld_blocks(&mut b, &r.mined_withheld, r.mined_withheld_suppressed, lang);
    }
    // Section (i).
    let w = &r.warning;
    let sessions: u64 = w.eore_sessions.values().sum();
    let participants: u64 = w.eore_participants.values().sum();
    let open: u64 = w.open_by_marking.values().sum();
    b.push(Block::Heading(
        2,
        p(
            "(i) Заходи з попередження населення",
            "(i) Measures to warn the population",
        ),
    ));
    let mut facts = vec![
        (
            p(
                "Заходи з позначення за період",
                "Marking activities in the period",
            ),
            thousands(w.marking_activities),
        ),
        (
            p(
                "Територій позначено за період",
                "Areas marked in the period",
            ),
            thousands(w.areas_marked),
        ),
        (
            p("Відкритих небезпек зараз", "Open hazards now"),
            thousands(open),
        ),
    ];
    for (k, v) in &w.open_by_marking {
        facts.push((
            format!("  {} {}", p("з них", "of them"), word(lang, k)),
            thousands(*v),
        ));
    }
    facts.push((
        p(
            "Відкритих небезпек на публічній мапі",
            "Open hazards on the public map",
        ),
        match lang {
            Lang::En => format!(
                "{} ({} in detail, {} as generalised danger zones)",
                thousands(w.on_map_detailed + w.on_map_as_zones),
                thousands(w.on_map_detailed),
                thousands(w.on_map_as_zones)
            ),
            Lang::Uk => format!(
                "{} (докладно — {}, як узагальнені небезпечні зони — {})",
                thousands(w.on_map_detailed + w.on_map_as_zones),
                thousands(w.on_map_detailed),
                thousands(w.on_map_as_zones)
            ),
        },
    ));
    facts.push((
        p(
            "Заняття з інформування про ризики (IMAS 12.10)",
            "Risk-education sessions (IMAS 12.10)",
        ),
        thousands(sessions),
    ));
    facts.push((
        p(
            "Учасники інформування про ризики",
            "Participants in risk education",
        ),
        thousands(participants),
    ));
    b.push(Block::Facts(facts));
    // Land release.
    let months = &r.months;
    let month_labels: Vec<String> = months.iter().map(|m| lang.month(m.year, m.month)).collect();
    let per_month = |method: ReleaseMethod| -> Vec<f64> {
        months
            .iter()
            .map(|m| r.released_m2.get(&(*m, method)).copied().unwrap_or(0.0) / 1e6)
            .collect()
    };
    b.push(Block::Heading(2, p("Звільнена земля", "Land released")));
    b.push(Block::Chart {
        id: "chart-released",
        title: p(
            "Звільнена земля за місяцями та способами (км²)",
            "Land released per month by method (km²)",
        ),
        unit: p("км²", "km²"),
        months: month_labels.clone(),
        series: vec![
            ChartSeries {
                label: p("скасовано (НТО)", "cancelled (NTS)"),
                colour: "#8ecae6",
                values: per_month(ReleaseMethod::Cancel),
            },
            ChartSeries {
                label: p("зменшено (ТО)", "reduced (TS)"),
                colour: "#219ebc",
                values: per_month(ReleaseMethod::Reduce),
            },
            ChartSeries {
                label: p("очищено", "cleared"),
                colour: "#2e7d32",
                values: per_month(ReleaseMethod::Clear),
            },
        ],
    });
    let mut header = vec![p("Місяць", "Month")];
    for (m, _) in ReleaseMethod::ALL {
        let word = match (lang, m) {
            (Lang::En, m) => m.released_status().as_str(),
            (Lang::Uk, ReleaseMethod::Cancel) => "скасовано",
            (Lang::Uk, ReleaseMethod::Reduce) => "зменшено",
            (Lang::Uk, ReleaseMethod::Clear) => "очищено",
        };
        header.push(format!("{word} ({})", p("км²", "km²")));
    }
    header.push(p("Разом (км²)", "Total (km²)"));
    header.push(p("Звільнень", "Releases"));
    let mut rows = Vec::new();
    for (m, label) in months.iter().zip(&month_labels) {
        let mut row = vec![label.clone()];
        let mut t = 0.0;
        let mut n = 0;
        for (method, _) in ReleaseMethod::ALL {
            let v = r.released_m2.get(&(*m, *method)).copied().unwrap_or(0.0);
            t += v;
            n += r.released_count.get(&(*m, *method)).copied().unwrap_or(0);
            row.push(km2_in(v, lang));
        }
        row.push(km2_in(t, lang));
        row.push(n.to_string());
        rows.push(row);
    }
    let mut total = vec![p("Період", "Period")];
    let (mut t, mut n) = (0.0, 0);
    let m2_word = p("м²", "m²");
    for (method, _) in ReleaseMethod::ALL {
        let (m2, c) = r.released_total(*method);
        t += m2;
        n += c;
        total.push(format!(
            "{} ({} {m2_word})",
            km2_in(m2, lang),
            thousands(m2.round() as u64)
        ));
    }
    total.push(format!(
        "{} ({} {m2_word})",
        km2_in(t, lang),
        thousands(t.round() as u64)
    ));
    total.push(n.to_string());
    rows.push(total);
    b.push(Block::Table {
        class: "released",
        header,
        rows,
        numeric: vec![false, true, true, true, true, true],
        total: true,
    });
    if let Some(w) = &r.released_withheld {
        b.push(Block::Note(match lang {
            Lang::En => format!(
                "Besides these, {} releases of areas withheld from the public released {} km² in the period (rounded to the hectare; not shown by month or method).",
                w.areas,
                km2_in(w.m2, lang)
            ),
            Lang::Uk => format!(
                "Крім того, звільнень територій, прихованих від публіки, — {}; вони звільнили за період {} км² (з округленням до гектара; не показано за місяцями чи способами).",
                w.areas,
                km2_in(w.m2, lang)
            ),
        }));
    } else if r.released_withheld_suppressed {
        b.push(Block::Note(match lang {
            Lang::En => format!("Fewer than {PUBLIC_MIN_GROUP} releases of areas withheld from the public (or one making up most of their area) are not counted here, so that none can be made out."),
            Lang::Uk => format!("Менше ніж {PUBLIC_MIN_GROUP} звільнень територій, прихованих від публіки (або одне, що становить більшу частину їхньої площі), тут не враховано, щоб жодне з них не можна було розпізнати."),
        }));
    }
    // Activities and devices.
    b.push(Block::Heading(
        2,
        p(
            "Роботи та виявлені вибухонебезпечні предмети",
            "Work and explosive ordnance found",
        ),
    ));
    b.push(Block::Table {
        class: "activities",
        header: vec![
            p(
                "Робота (завершена за період)",
                "Activity (ended in the period)",
            ),
            p("Кількість", "Number"),
        ],
        rows: ActivityKind::ALL
            .iter()
            .map(|(k, _)| {
                vec![
                    lang.activity(*k).to_string(),
                    thousands(r.activities.get(k).copied().unwrap_or(0)),
                ]
            })
            .collect(),
        numeric: vec![false, true],
        total: false,
    });
    let cats: BTreeSet<Category> = r.devices.keys().map(|k| k.0).collect();
    let mut rows: Vec<Vec<String>> = cats
        .iter()
        .map(|c| {
            let get = |a| r.devices.get(&(*c, a)).copied().unwrap_or(0);
            vec![
                lang.category(*c).to_string(),
                thousands(get(DeviceAction::Found)),
                thousands(get(DeviceAction::Destroyed)),
            ]
        })
        .collect();
    if rows.is_empty() {
        rows.push(vec![
            p(
                "За період нічого не зареєстровано.",
                "None recorded in the period.",
            ),
            String::new(),
            String::new(),
        ]);
    }
    b.push(Block::Table {
        class: "devices",
        header: vec![
            p("Категорія", "Category"),
            p("Виявлено", "Found"),
            p("Знищено", "Destroyed"),
        ],
        rows,
        numeric: vec![false, true, true],
        total: false,
    });
    let (finds, items) = r.finds.values().fold((0, 0), |t, f| (t.0 + f.0, t.1 + f.1));
    b.push(Block::Para(match lang {
        Lang::En => format!(
            "Post-release finds recorded in the period: {} ({} items), each re-opening hazard on released land.",
            thousands(finds),
            thousands(items)
        ),
        Lang::Uk => format!(
            "Знахідок після звільнення, зареєстрованих за період: {} (предметів: {}); кожна знову відкриває небезпеку на звільненій землі.",
            thousands(finds),
            thousands(items)
        ),
    }));
    // Casualties.
    let (killed, injured) = r.casualty_totals();
    b.push(Block::Heading(2, p("Жертви", "Casualties")));
    b.push(Block::Chart {
        id: "chart-casualties",
        title: p("Жертви за місяцями", "Casualties per month"),
        unit: p("осіб", "people"),
        months: month_labels.clone(),
        series: vec![
            ChartSeries {
                label: word(lang, "killed"),
                colour: "#b00020",
                values: months
                    .iter()
                    .map(|m| r.casualties.get(m).map_or(0.0, |c| c.killed as f64))
                    .collect(),
            },
            ChartSeries {
                label: word(lang, "injured"),
                colour: "#f4a261",
                values: months
                    .iter()
                    .map(|m| r.casualties.get(m).map_or(0.0, |c| c.injured as f64))
                    .collect(),
            },
        ],
    });
    let groups: [CasualtyGroup; 3] = [
        ("Role", Role::ALL.iter().map(|(_, n)| *n).collect(), |c| {
            &c.by_role
        }),
        ("Sex", Sex::ALL.iter().map(|(_, n)| *n).collect(), |c| {
            &c.by_sex
        }),
        (
            "Age group",
            AgeGroup::ALL.iter().map(|(_, n)| *n).collect(),
            |c| &c.by_age,
        ),
    ];
    b.push(Block::Para(match lang {
        Lang::En => format!(
            "{} people killed and {} injured in the period.",
            thousands(killed),
            thousands(injured)
        ),
        Lang::Uk => format!(
            "За період загинуло осіб: {}, поранено: {}.",
            thousands(killed),
            thousands(injured)
        ),
    }));
    let mut header = vec![
        p("Місяць", "Month"),
        p("Нещасні випадки", "Accidents"),
        word(lang, "killed"),
        word(lang, "injured"),
    ];
    if lang == Lang::En {
        header[2] = "Killed".into();
        header[3] = "Injured".into();
    }
    for (group, words, _) in &groups {
        for w in words {
            header.push(if *w == "unknown" {
                match lang {
                    Lang::En => format!("{} unknown", group.to_lowercase()),
                    Lang::Uk => match *group {
                        "Role" => "роль невідома".to_string(),
                        "Sex" => "стать невідома".to_string(),
                        _ => "вік невідомий".to_string(),
                    },
                }
            } else {
                word(lang, w)
            });
        }
    }
    let mut rows = Vec::new();
    let mut sum = MonthCasualties::default();
    for (m, label) in months.iter().zip(&month_labels) {
        let c = r.casualties.get(m).cloned().unwrap_or_default();
        let mut row = vec![
            label.clone(),
            c.accidents.to_string(),
            c.killed.to_string(),
            c.injured.to_string(),
        ];
        for (_, words, f) in &groups {
            for w in words {
                let k = f(&c).get(&(w, "killed")).copied().unwrap_or(0);
                let i = f(&c).get(&(w, "injured")).copied().unwrap_or(0);
                row.push((k + i).to_string());
            }
        }
        rows.push(row);
        sum.accidents += c.accidents;
        sum.killed += c.killed;
        sum.injured += c.injured;
        for (k, v) in c.by_role {
            *sum.by_role.entry(k).or_default() += v;
        }
        for (k, v) in c.by_sex {
            *sum.by_sex.entry(k).or_default() += v;
        }
        for (k, v) in c.by_age {
            *sum.by_age.entry(k).or_default() += v;
        }
    }
    let mut total = vec![
        p("Період", "Period"),
        sum.accidents.to_string(),
        sum.killed.to_string(),
        sum.injured.to_string(),
    ];
    for (_, words, f) in &groups {
        for w in words {
            let k = f(&sum).get(&(w, "killed")).copied().unwrap_or(0);
            let i = f(&sum).get(&(w, "injured")).copied().unwrap_or(0);
            total.push(format!("{k} / {i}"));
        }
    }
    rows.push(total);
    let cols = header.len();
    b.push(Block::Table {
        class: "casualties",
        header,
        rows,
        numeric: std::iter::once(false)
            .chain(std::iter::repeat_n(true, cols - 1))
            .collect(),
        total: true,
    });
    b.push(Block::Note(p(
        "У місячних клітинках загиблих і поранених враховано разом; у рядку періоду — загинули / поранені. Роль: цивільні, сапери (під час роботи), військові. Діти — особи до 18 років.",
        "Monthly cells count killed and injured together; the period row gives killed / injured. Role: civilian, deminer (at work), military. Children are under 18.",
    )));
    // Open hazard by oblast.
    b.push(Block::Heading(
        2,
        p(
            "Відкриті небезпечні території за областями",
            "Open hazardous area by oblast",
        ),
    ));
    b.push(Block::Note(match lang {
        Lang::En => format!(
            "State of the records on {now}. An area crossing an oblast border is split along it; areas are counted in the oblast holding their largest part.{}",
            if r.edition == Edition::Public {
                " This edition counts here the areas the public map shows in detail; areas whose detail is restricted follow, in groups as in section (c)."
            } else {
                ""
            }
        ),
        Lang::Uk => format!(
            "Стан записів на {now}. Територію, яку перетинає межа області, поділено по ній; території враховано в області, де лежить їхня найбільша частина.{}",
            if r.edition == Edition::Public {
                " Це видання враховує тут території, які публічна мапа показує докладно; далі йдуть території з обмеженим доступом, групами, як у розділі (c)."
            } else {
                ""
            }
        ),
    }));
    let mut rows = Vec::new();
    let mut total = OblastFigures::default();
    for (o, f) in &r.open_by_oblast {
        total.areas += f.areas;
        total.m2 += f.m2;
        rows.push(vec![
            oblast_name(o, lang),
            thousands(f.areas),
            km2_in(f.m2, lang),
        ]);
    }
    if r.edition == Edition::Public {
        for (what, groups) in [
            (
                p(
                    "з обмеженим доступом, з протипіхотними мінами",
                    "restricted, with anti-personnel mines",
                ),
                &r.mined_withheld,
            ),
            (
                p("з обмеженим доступом, інші", "restricted, other"),
                &r.open_withheld,
            ),
        ] {
            for (o, w) in groups {
                total.areas += w.areas;
                total.m2 += w.m2;
                rows.push(vec![
                    format!("{} ({what})", oblast_name(o, lang)),
                    thousands(w.areas),
                    km2_in(w.m2, lang),
                ]);
            }
        }
    }
    rows.push(vec![
        p("Усі", "All"),
        thousands(total.areas),
        km2_in(total.m2, lang),
    ]);
    b.push(Block::Table {
        class: "oblasts",
        header: vec![
            p("Область", "Oblast"),
            p("Відкриті небезпеки", "Open hazards"),
            p("км²", "km²"),
        ],
        rows,
        numeric: vec![false, true, true],
        total: true,
    });
    if r.edition == Edition::Public && (r.mined_withheld_suppressed || r.open_withheld_suppressed) {
        b.push(Block::Note(match lang {
            Lang::En => format!("Some areas whose detail is restricted are not counted here: fewer than {PUBLIC_MIN_GROUP} of them, or one making up most of their area. They are on the public map as danger zones."),
            Lang::Uk => format!("Деякі території з обмеженим доступом тут не враховано: їх менше ніж {PUBLIC_MIN_GROUP}, або одна з них становить більшу частину їхньої площі. На публічній мапі вони є як небезпечні зони."),
        }));
    }
    let period = match lang {
        Lang::En => format!(
            "Period {} to {} (whole days, UTC). Generated {now}.",
            r.period.from, r.period.to
        ),
        Lang::Uk => format!(
            "Період: з {} по {} (цілі доби, UTC). Складено {now}.",
            lang.date(r.period.from),
            lang.date(r.period.to)
        ),
    };
    ReportText {
        title: p(
            "Звіт про прозорість (за зразком статті 7 Оттавської конвенції)",
            "Transparency report (Ottawa Convention Article 7 style)",
        ),
        period,
        edition: edition.to_string(),
        blocks: b,
        closing: p(
            "Звільнену землю враховано в місяці, коли завершилася відповідна робота (день звільнення землі на місцевості). Площі виміряно на еліпсоїді WGS 84; точкову небезпеку враховано як її коло, лінійну — як її смугу.",
            "Land released is counted in the month its activity ended (the day the land was released on the ground). Areas are measured on the WGS 84 ellipsoid; a spot hazard counts as its circle, a linear one as its corridor.",
        ),
    }
}

/// The report as one self-contained HTML page in English: no script, no external request;
/// charts are inline SVG.
pub fn render_html(r: &Report) -> String {
    render_html_in(r, Lang::En)
}

/// The report as one self-contained HTML page in `lang`.
pub fn render_html_in(r: &Report, lang: Lang) -> String {
    let t = report_text(r, lang);
    let mut body = String::new();
    for block in &t.blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(body, "<h{level}>{}</h{level}>", esc(text));
            }
            Block::Para(text) => {
                let _ = writeln!(body, "<p>{}</p>", esc(text));
            }
            Block::Note(text) => {
                let _ = writeln!(body, "<p class=\"note\">{}</p>", esc(text));
            }
            Block::Facts(rows) => {
                body.push_str("<table class=\"facts\">\n");
                for (k, v) in rows {
                    let _ = writeln!(
                        body,
                        "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td></tr>",
                        esc(k).replacen("  ", "&nbsp;&nbsp;", 1),
                        esc(v)
                    );
                }
                body.push_str("</table>\n");
            }
            Block::Table {
                class,
                header,
                rows,
                numeric,
                total,
            } => {
                let n = |i: usize| {
                    if numeric.get(i).copied().unwrap_or(false) {
                        " class=\"n\""
                    } else {
                        ""
                    }
                };
                let _ = write!(body, "<table class=\"{class}\"><thead><tr>");
                for (i, h) in header.iter().enumerate() {
                    let _ = write!(body, "<th scope=\"col\"{}>{}</th>", n(i), esc(h));
                }
                body.push_str("</tr></thead><tbody>\n");
                for (k, row) in rows.iter().enumerate() {
                    let last = *total && k + 1 == rows.len();
                    body.push_str(if last { "<tr class=\"total\">" } else { "<tr>" });
                    for (i, c) in row.iter().enumerate() {
                        let _ = write!(body, "<td{}>{}</td>", n(i), esc(c));
                    }
                    body.push_str("</tr>\n");
                }
                body.push_str("</tbody></table>\n");
            }
            Block::Chart {
                id,
                title,
                unit,
                months,
                series,
            } => body.push_str(&bar_chart(id, title, unit, months, series)),
        }
    }
    format!(
        r##"<!doctype html>
<html lang="{lang_attr}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} {from} – {to} ({edition_word})</title>
<style>
body {{ font-family: sans-serif; max-width: 64rem; margin: 1.5rem auto; padding: 0 1rem; color: #111; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.2rem; margin-top: 2rem; border-bottom: 2px solid #333; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }}
th, td {{ border: 1px solid #999; padding: .25rem .45rem; text-align: left; vertical-align: top; }}
thead th, .facts th {{ background: #f2f2f2; }}
.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.total td {{ font-weight: bold; background: #fafafa; }}
.note {{ color: #444; font-size: .85rem; }}
.edition {{ padding: .5rem .75rem; border-left: 4px solid {edition_colour}; background: #f7f7f7; }}
svg.chart {{ max-width: 760px; display: block; margin: .5rem 0; }}
@media print {{ body {{ margin: 0; }} @page {{ size: A4; margin: 15mm; }} h2 {{ break-after: avoid; }} }}
</style></head>
<body>
<h1>{title}</h1>
<p>{period}</p>
<p class="edition" data-edition="{edition_word}">{edition}</p>
{body}
<p class="note">{closing}</p>
</body></html>
"##,
        lang_attr = lang.as_str(),
        title = esc(&t.title),
        from = r.period.from,
        to = r.period.to,
        period = esc(&t.period),
        edition = esc(&t.edition),
        closing = esc(&t.closing),
        edition_word = r.edition.as_str(),
        edition_colour = match r.edition {
            Edition::Public => "#2e7d32",
            Edition::Restricted => "#b00020",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;
    use crate::accident::{AccidentFacts, ActivityAtTime, Casualty};
    use crate::area::{AreaProperties, Classification, DeviceGroup, Evidence, EvidenceKind, Shape};
    use crate::release::{ActivityFacts, DeviceRecord, ReleaseFacts};
    use crate::zone::ZoneFacts;
    use geo_types::{MultiPolygon, Point, polygon};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)],
        ])
    }

    fn zone(id: &str, name: &str, g: MultiPolygon<f64>) -> Zone {
        Zone {
            id: id.into(),
            facts: ZoneFacts {
                name: name.into(),
                kind: ZoneKind::Oblast,
                source: None,
                description: None,
            },
            geometry: g,
        }
    }

    fn area(id: &str, class: Classification, g: MultiPolygon<f64>, ty: &str) -> HazardArea {
        HazardArea {
            id: id.into(),
            shape: Shape::MultiPolygon(g),
            props: AreaProperties {
                name: Some(format!("secret name of {id}")),
                status: Status::Confirmed,
                classification: class,
                evidence: Some(Evidence {
                    kind: EvidenceKind::Direct,
                    description: Some("seen".into()),
                    source: None,
                }),
                devices: vec![DeviceGroup {
                    device_type: ty.into(),
                    quantity: Some(40),
                    emplaced_from: Some("2026-03-01T00:00:00Z".parse().unwrap()),
                    emplaced_to: None,
                    how_known: None,
                }],
                reference_points: vec![],
                marking: Some(Marking::Marked),
                organisation: None,
                reported_at: None,
                emplacement: None,
                extra: Default::default(),
            },
        }
    }

    fn activity(id: &str, kind: ActivityKind, ended: &str) -> Activity {
        Activity {
            id: id.into(),
            facts: ActivityFacts {
                kind,
                area_id: "HA-000001".into(),
                organisation: "Org".into(),
                team: None,
                started: day(ended),
                ended: day(ended),
                devices: if kind == ActivityKind::Clearance {
                    vec![DeviceRecord {
                        device_type: "ap-mine-persistent".into(),
                        count: 3,
                        depth_cm: None,
                        action: DeviceAction::Destroyed,
                    }]
                } else {
                    vec![]
                },
                outcome: None,
                participants: (kind == ActivityKind::RiskEducation).then_some(25),
            },
            geometry: rect(36.0, 49.0, 36.01, 49.01),
        }
    }

    fn release(id: &str, activity_id: &str, m2: f64) -> Release {
        Release {
            id: id.into(),
            facts: ReleaseFacts {
                area_id: "HA-000001".into(),
                method: ReleaseMethod::Clear,
                activity_id: activity_id.into(),
                by: "x".into(),
                released_at: "2026-11-25T10:00:00Z".parse().unwrap(),
                certificate: "HC-2026-000001".into(),
                released_m2: m2,
                before_m2: m2,
                remaining_m2: 0.0,
                status_before: Status::Confirmed,
                status_after: Status::Closed,
                reason: None,
            },
            geometry: rect(36.0, 49.0, 36.01, 49.01),
        }
    }

    fn accident(at: &str, name: &str) -> Accident {
        Accident {
            id: "AC-000001".into(),
            place: Point::new(36.0, 49.0),
            facts: AccidentFacts {
                occurred_at: at.parse().unwrap(),
                device_category: Category::ApMine,
                device_type: None,
                activity: ActivityAtTime::Farming,
                area_id: None,
                description: None,
                source: None,
                casualties: vec![Casualty {
                    outcome: Outcome::Killed,
                    sex: Sex::Female,
                    age_group: AgeGroup::Child,
                    role: Role::Civilian,
                    name: Some(name.into()),
                    notes: Some("private notes".into()),
                }],
            },
        }
    }

    #[test]
    fn months_of_a_period_and_its_edges() {
        let p = Period::new(day("2025-11-26"), day("2026-02-01")).unwrap();
        let m: Vec<String> = p.months().iter().map(|m| m.to_string()).collect();
        assert_eq!(m, ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert!(Period::new(day("2026-02-02"), day("2026-02-01")).is_err());
        assert_eq!(
            Period::new(day("2026-02-01"), day("2026-02-01"))
                .unwrap()
                .months()
                .len(),
            1
        );
    }

    #[test]
    fn events_on_the_last_day_count_and_the_day_after_does_not() {
        let c = Catalogue::builtin();
        let p = Period::new(day("2026-01-01"), day("2026-03-31")).unwrap();
        let activities = [
            activity("A1", ActivityKind::Clearance, "2026-03-31"),
            activity("A2", ActivityKind::Clearance, "2026-04-01"),
            activity("A3", ActivityKind::RiskEducation, "2026-01-01"),
            activity("A4", ActivityKind::RiskEducation, "2025-12-31"),
        ];
        let releases = [release("LR-1", "A1", 1000.0), release("LR-2", "A2", 500.0)];
        let accidents = [
            accident("2026-03-31T23:59:59Z", "Secret Victim"),
            accident("2026-04-01T00:00:00Z", "Secret Victim"),
        ];
        let r = build(
            ReportInput {
                period: p,
                edition: Edition::Restricted,
                catalogue: &c,
                zones: &[],
                activities: &activities,
                releases: &releases,
                finds: &[],
                accidents: &accidents,
                generated_at: "2026-11-25T10:00:00Z".parse().unwrap(),
            },
            &[],
        );
        let march = Month {
            year: 2026,
            month: 3,
        };
        let jan = Month {
            year: 2026,
            month: 1,
        };
        assert_eq!(r.months.len(), 3);
        assert_eq!(r.released_m2[&(march, ReleaseMethod::Clear)], 1000.0);
        assert_eq!(r.released_total(ReleaseMethod::Clear), (1000.0, 1));
        assert_eq!(r.devices[&(Category::ApMine, DeviceAction::Destroyed)], 3);
        assert_eq!(r.casualties[&march].killed, 1);
        assert_eq!(r.casualty_totals(), (1, 0));
        assert_eq!(r.warning.eore_sessions[&jan], 1);
        assert_eq!(r.warning.eore_participants.values().sum::<u64>(), 25);
        assert!(!r.released_m2.keys().any(|(m, _)| m.month == 4));
        for text in [render_csv(&r), render_html(&r)] {
            assert!(!text.contains("Secret Victim"), "{text}");
            assert!(!text.contains("private notes"), "{text}");
        }
        let csv = render_csv(&r);
        assert!(csv.starts_with("section,period,key,value\n"), "{csv}");
        assert!(csv.contains("released_m2,2026-03,clear,1000\n"), "{csv}");
        assert!(csv.contains("casualties,2026-03,killed,1\n"), "{csv}");
        assert!(
            csv.contains("casualties_sex,2026-03,female/killed,1\n"),
            "{csv}"
        );
    }

    /// A release of a withheld area, alone in its month, would give that area's exact m² in the
    /// public edition's "land released" by month and method; it is counted only in a group of
    /// at least `PUBLIC_MIN_GROUP` releases over the period, and the restricted edition keeps it.
    #[test]
    fn releases_of_withheld_areas_are_not_shown_by_month_in_the_public_edition() {
        let c = Catalogue::builtin();
        let p = Period::new(day("2026-01-01"), day("2026-03-31")).unwrap();
        let activities = [activity("A1", ActivityKind::Clearance, "2026-03-31")];
        let secret = area(
            "HA-000001",
            Classification::Restricted,
            rect(36.0, 49.0, 36.01, 49.01),
            "ap-mine-persistent",
        );
        let report = |edition: Edition, releases: &[Release]| {
            build(
                ReportInput {
                    period: p,
                    edition,
                    catalogue: &c,
                    zones: &[],
                    activities: &activities,
                    releases,
                    finds: &[],
                    accidents: &[],
                    generated_at: "2026-11-25T10:00:00Z".parse().unwrap(),
                },
                std::slice::from_ref(&secret),
            )
        };
        let one = [release("LR-1", "A1", 1234.5)];
        let public = report(Edition::Public, &one);
        assert_eq!(public.released_total(ReleaseMethod::Clear), (0.0, 0));
        assert!(public.released_withheld_suppressed);
        for text in [render_csv(&public), render_html(&public)] {
            assert!(
                !text.contains("1234") && !text.contains("1,234") && !text.contains("1 234"),
                "{text}"
            );
        }
        let restricted = report(Edition::Restricted, &one);
        assert_eq!(restricted.released_total(ReleaseMethod::Clear), (1234.5, 1));
        // Five releases of like size make a group the public edition may show, rounded.
        let five: Vec<Release> = (1..=5)
            .map(|i| release(&format!("LR-{i}"), "A1", 20_000.0 + i as f64))
            .collect();
        let public = report(Edition::Public, &five);
        let w = public.released_withheld.expect("a group of five is shown");
        assert_eq!((w.areas, w.m2), (5, 100_000.0));
        assert!(
            render_csv(&public).contains("released_withheld,2026-01-01/2026-03-31,releases,5\n")
                || render_csv(&public).contains(",releases,5\n")
        );
    }

    #[test]
    fn an_area_across_a_border_is_split_and_the_parts_add_up() {
        let zones = [
            zone("Z-west", "West Oblast", rect(35.0, 48.0, 36.0, 50.0)),
            zone("Z-east", "East Oblast", rect(36.0, 48.0, 37.0, 50.0)),
        ];
        let o = Oblasts::new(&zones);
        // A field 0.01° wide, a quarter west of the border and three quarters east of it.
        let land = rect(35.9975, 49.0, 36.0075, 49.005);
        let total = area_m2(&land);
        let parts = o.split(&land, total);
        assert_eq!(parts.len(), 2, "{parts:?}");
        let sum: f64 = parts.iter().map(|p| p.1).sum();
        assert!((sum - total).abs() < 1e-6 * total, "{sum} vs {total}");
        assert_eq!(o.name(parts[0].0), "East Oblast");
        assert_eq!(o.name(parts[1].0), "West Oblast");
        let west = area_m2(&rect(35.9975, 49.0, 36.0, 49.005));
        assert!((parts[1].1 - west).abs() < 0.01, "{} vs {west}", parts[1].1);
        // Inside one zone: the fast path, the whole area.
        let inside = rect(36.5, 49.0, 36.51, 49.01);
        let p = o.split(&inside, area_m2(&inside));
        assert_eq!(p, vec![(Some(0), area_m2(&inside))]);
        assert_eq!(o.name(Some(0)), "East Oblast");
        // Partly beyond every zone: the rest is outside any oblast.
        let edge = rect(36.995, 49.0, 37.005, 49.005);
        let p = o.split(&edge, area_m2(&edge));
        assert_eq!(o.name(p[1].0), OUTSIDE);
        assert!((p.iter().map(|x| x.1).sum::<f64>() - area_m2(&edge)).abs() < 1e-6);
        // Far away: outside.
        let far = rect(30.0, 49.0, 30.01, 49.01);
        assert_eq!(o.split(&far, 5.0), vec![(None, 5.0)]);
    }

    #[test]
    fn the_public_edition_counts_restricted_areas_without_detail() {
        let c = Catalogue::builtin();
        let zones = [zone("Z-east", "East Oblast", rect(36.0, 48.0, 37.0, 50.0))];
        let areas = [
            area(
                "HA-000001",
                Classification::Public,
                rect(36.1, 49.0, 36.11, 49.01),
                "ap-mine-persistent",
            ),
            area(
                "HA-000002",
                Classification::Restricted,
                rect(36.2, 49.0, 36.21, 49.01),
                "ap-mine-nonpersistent-15d",
            ),
            area(
                "HA-000003",
                Classification::Public,
                rect(36.3, 49.0, 36.31, 49.01),
                "at-mine-persistent",
            ),
        ];
        let input = |edition| ReportInput {
            period: Period::new(day("2026-01-01"), day("2026-12-31")).unwrap(),
            edition,
            catalogue: &c,
            zones: &zones,
            activities: &[],
            releases: &[],
            finds: &[],
            accidents: &[],
            generated_at: "2026-11-25T10:00:00Z".parse().unwrap(),
        };
        let restricted = build(input(Edition::Restricted), &areas);
        assert_eq!(restricted.mined_areas.len(), 2);
        assert_eq!(restricted.mined_total.areas, 2);
        assert_eq!(restricted.open_by_oblast["East Oblast"].areas, 3);
        let html = render_html(&restricted);
        assert!(html.contains("HA-000002") && html.contains("ap-mine-nonpersistent-15d"));
        let public = build(input(Edition::Public), &areas);
        assert_eq!(public.mined_areas.len(), 1);
        // One restricted area is too few to be shown: its m² would be exact.
        assert!(public.mined_withheld.is_empty() && public.mined_withheld_suppressed);
        assert_eq!(public.mined_total.areas, 1);
        assert_eq!(public.open_by_oblast["East Oblast"].areas, 2);
        for text in [render_html(&public), render_csv(&public)] {
            assert!(!text.contains("HA-000002"), "{text}");
            assert!(!text.contains("ap-mine-nonpersistent-15d"), "{text}");
            assert!(!text.contains("secret name"), "{text}");
            assert!(text.contains("HA-000001"), "{text}");
            // Not even a public record's device type or count: the public sees categories only,
            // as on the map (public.rs).
            assert!(!text.contains("ap-mine-persistent"), "{text}");
            assert!(!text.contains("/0/quantity"), "{text}");
            assert!(!text.contains("ap_devices_known"), "{text}");
        }
        assert_eq!(public.mined_known_devices, 0);
        assert!(render_html(&public).contains("not published"));
        assert!(render_csv(&restricted).contains("HA-000001/0/quantity"));
    }

    fn group(sizes: &[f64]) -> Withheld {
        let mut w = Withheld::default();
        for m2 in sizes {
            w.add(*m2);
        }
        w
    }

    #[test]
    fn small_or_dominated_groups_are_merged_and_the_rest_never_shown_alone() {
        let even = [20_000.0; 5];
        let mut g = BTreeMap::new();
        g.insert("A".to_string(), group(&even));
        g.insert("B".to_string(), group(&[10_000.0, 12_345.0]));
        g.insert("C".to_string(), group(&[30_000.0; 6]));
        // B is too small; merged with the smallest publishable group (A), the row is shown.
        let (shown, suppressed) = protect(&g);
        assert!(!suppressed);
        assert_eq!(shown.keys().collect::<Vec<_>>(), ["C", OTHER_OBLASTS]);
        assert_eq!(shown[OTHER_OBLASTS].areas, 7);
        // Rounded to the hectare: 122,345 m² is shown as 120,000.
        assert_eq!(shown[OTHER_OBLASTS].m2, 120_000.0);
        // A group of five where one area is most of the m² is not published on its own.
        let mut d = BTreeMap::new();
        d.insert("D".to_string(), group(&[1_000_000.0, 1.0, 1.0, 1.0, 1.0]));
        let (shown, suppressed) = protect(&d);
        assert!(shown.is_empty() && suppressed);
        // Fewer than five in all: nothing but the fact.
        let mut e = BTreeMap::new();
        e.insert("E".to_string(), group(&[5_000.0, 6_000.0]));
        e.insert("F".to_string(), group(&[7_000.0]));
        let (shown, suppressed) = protect(&e);
        assert!(shown.is_empty() && suppressed);
        // Enough areas everywhere: every oblast shown, nothing merged.
        let mut h = BTreeMap::new();
        h.insert("G".to_string(), group(&even));
        h.insert("H".to_string(), group(&even));
        let (shown, suppressed) = protect(&h);
        assert!(!suppressed);
        assert_eq!(shown.len(), 2);
    }
}
