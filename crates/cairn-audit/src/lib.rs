//! The compliance audit: a policy's rules (see `policy.rs`) checked against records, each
//! violation naming the record, the rule, the evidence and the time it began.
//!
//! Pure: the caller reads the records, their timelines, the zones and the settlements from the
//! store and passes them in. The rules:
//!
//! - `permitted-zones`: the AP part of an emplacement record outside the union of the permitted
//!   zones, in m² on the ellipsoid (`cairn_core::release::area_m2`). A grid over the union,
//!   classified once (inside, outside, border), settles most records from their bounding box;
//!   only records whose box meets a border cell are cut exactly (i_overlay), against the union
//!   clipped to their box.
//! - `ap-lifetime`: every AP device group's type non-persistent, its designed self-destruct time
//!   (or the longer lifetime the record states) and self-deactivation deadline within limits.
//! - `apii-record`: the facts of Amended Protocol II, Technical Annex 1, each missing one named.
//! - `marking`, `public-warning`: done within a time of first recording, judged at `at`.
//! - `settlement-distance`: the distance from every settlement to every AP emplacement record,
//!   by the place-check engine (`cairn_index`, geodesic metres), the nearest one reported.

pub mod policy;

use std::collections::BTreeMap;

use cairn_core::release::{area_m2, shape_polygons};
use cairn_core::residual::Profile;
use cairn_core::zone::Zone;
use cairn_core::{
    Catalogue, Category, DeviceGroup, HazardArea, HowKnown, Shape, Status, Timeline, Timestamp,
    TrackedArea, WireEnum,
};
use geo::{BooleanOps, BoundingRect, Intersects};
use geo_types::{Coord, Line, MultiPolygon, Rect};
use serde::Serialize;
use serde_json::{Value, json};

pub use policy::{Policy, PolicyError, Scope};

/// A settlement the distance rule measures from.
#[derive(Clone, Debug, PartialEq)]
pub struct Settlement {
    pub name: String,
    pub lon: f64,
    pub lat: f64,
}

/// A record to audit: the area as it is now and its timeline.
#[derive(Clone, Debug)]
pub struct Subject {
    pub area: HazardArea,
    pub timeline: Timeline,
}

/// One violation of one rule by one record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    pub record: String,
    pub rule: &'static str,
    /// One sentence for people.
    pub summary: String,
    /// The facts behind it, for machines.
    pub evidence: Value,
    /// When the violation began.
    pub began: Timestamp,
}

/// The audit's result.
#[derive(Clone, Debug, Serialize)]
pub struct Audit {
    pub policy: Option<String>,
    pub at: Timestamp,
    /// The version of the store's device catalogue the rules judged device types by (the one
    /// in force at `at`); set by `run::run`, absent for an audit of records given by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalogue_version: Option<i64>,
    pub rules: Vec<&'static str>,
    /// The permitted zones the `permitted-zones` rule measured against (ids).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permitted_zones: Vec<String>,
    /// Records looked at, and how many of them are emplacement records.
    pub records: u64,
    pub emplacement_records: u64,
    /// Violations per rule (every rule of the policy, zeros included).
    pub counts: BTreeMap<&'static str, u64>,
    /// Sorted by rule (in the policy's order), then record, then start.
    pub violations: Vec<Violation>,
}

/// Everything the rules need besides the records.
#[derive(Debug)]
pub struct Context<'a> {
    pub policy: &'a Policy,
    pub catalogue: &'a Catalogue,
    /// The zones `Policy::permitted` chose.
    pub permitted: Vec<&'a Zone>,
    pub settlements: &'a [Settlement],
    /// When deadlines are judged (normally now).
    pub at: Timestamp,
}

fn is_ap(catalogue: &Catalogue, device_type: &str) -> bool {
    catalogue
        .get(device_type)
        .is_some_and(|t| t.category == Category::ApMine)
}

/// The device groups an emplacement record states, with their index: those known from the
/// record (`how_known = record`) when any is marked so, else every group. Devices found later by
/// survey in the same area (old persistent mines, UXO) are not the recording party's emplacement.
pub fn record_groups(a: &HazardArea) -> Vec<(usize, &DeviceGroup)> {
    let any_record = a
        .props
        .devices
        .iter()
        .any(|g| g.how_known == Some(HowKnown::Record));
    a.props
        .devices
        .iter()
        .enumerate()
        .filter(|(_, g)| !any_record || g.how_known == Some(HowKnown::Record))
        .collect()
}

fn has_ap(catalogue: &Catalogue, a: &HazardArea) -> bool {
    record_groups(a)
        .iter()
        .any(|(_, g)| is_ap(catalogue, &g.device_type))
}

/// When the AP devices were laid: the earliest time any AP group may have been emplaced, else
/// when the record was made.
fn laid_at(catalogue: &Catalogue, s: &Subject) -> Timestamp {
    record_groups(&s.area)
        .into_iter()
        .filter(|(_, g)| is_ap(catalogue, &g.device_type))
        .filter_map(|(_, g)| g.emplaced_from.or(g.emplaced_to))
        .min()
        .unwrap_or(s.timeline.first_recorded)
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Human text for an area: m² below a hectare, else km².
fn human_area(m2: f64) -> String {
    if m2 < 10_000.0 {
        format!("{m2:.1} m²")
    } else {
        format!("{:.4} km²", m2 / 1e6)
    }
}

/// Human text for a duration: whole days, else hours, else minutes.
pub fn human(d: chrono::Duration) -> String {
    let m = d.num_minutes();
    if m % 1440 == 0 {
        format!("{} days", m / 1440)
    } else if m % 60 == 0 {
        format!("{} hours", m / 60)
    } else {
        format!("{m} minutes")
    }
}

/// Runs every rule of the policy over the subjects (the emplacement records are those with an
/// `emplacement`; others are ignored but counted) and, for deadline rules that apply to all
/// hazards, over `others`: the hazards that are not emplacement records.
pub fn audit(subjects: &[Subject], others: &[TrackedArea], ctx: &Context<'_>) -> Audit {
    let p = ctx.policy;
    let mut v = Vec::new();
    let emplacement: Vec<&Subject> = subjects
        .iter()
        .filter(|s| s.area.props.emplacement.is_some())
        .collect();
    let ap: Vec<&Subject> = emplacement
        .iter()
        .copied()
        .filter(|s| has_ap(ctx.catalogue, &s.area))
        .collect();
    if let Some(rule) = &p.permitted_zones {
        let cover = ZoneCover::new(&ctx.permitted);
        for s in &ap {
            let mp = shape_polygons(&s.area.shape);
            let outside = cover.outside(&mp);
            if outside > rule.tolerance_m2 {
                let total = area_m2(&mp);
                let wholly = outside >= total - rule.tolerance_m2;
                v.push(Violation {
                    record: s.area.id.clone(),
                    rule: "permitted-zones",
                    summary: format!(
                        "AP devices recorded {} outside the permitted zones: {} of {}",
                        if wholly { "wholly" } else { "partly" },
                        human_area(outside),
                        human_area(total)
                    ),
                    evidence: json!({
                        "outside_km2": outside / 1e6,
                        "area_km2": total / 1e6,
                        "wholly_outside": wholly,
                    }),
                    began: laid_at(ctx.catalogue, s),
                });
            }
        }
    }
    if let Some(rule) = &p.ap_lifetime {
        for s in &ap {
            let mut findings = Vec::new();
            let stated_h = s
                .area
                .props
                .emplacement
                .as_ref()
                .and_then(|e| e.fuze_lifetime_hours);
            for (i, g) in record_groups(&s.area) {
                if !is_ap(ctx.catalogue, &g.device_type) {
                    continue;
                }
                let Some(t) = ctx.catalogue.get(&g.device_type) else {
                    continue;
                };
                match t.profile {
                    Profile::Persistent => findings.push(format!(
                        "devices[{i}] {} is persistent: it has no self-destruct or self-deactivation",
                        g.device_type
                    )),
                    Profile::NonPersistent {
                        sd_max_s,
                        sda_max_s,
                        ..
                    } => {
                        let sd = chrono::Duration::seconds(sd_max_s);
                        if sd > rule.max_self_destruct {
                            findings.push(format!(
                                "devices[{i}] {} self-destructs within {}, beyond the {} allowed",
                                g.device_type,
                                human(sd),
                                human(rule.max_self_destruct)
                            ));
                        }
                        let sda = chrono::Duration::seconds(sda_max_s);
                        if sda > rule.max_self_deactivation {
                            findings.push(format!(
                                "devices[{i}] {} self-deactivates within {}, beyond the {} allowed",
                                g.device_type,
                                human(sda),
                                human(rule.max_self_deactivation)
                            ));
                        }
                    }
                }
            }
            if let Some(h) = stated_h {
                let stated = chrono::Duration::milliseconds((h * 3_600_000.0).round() as i64);
                if stated > rule.max_self_destruct {
                    findings.push(format!(
                        "the record states a fuze lifetime of {h} hours, beyond the {} allowed",
                        human(rule.max_self_destruct)
                    ));
                }
            }
            if !findings.is_empty() {
                v.push(Violation {
                    record: s.area.id.clone(),
                    rule: "ap-lifetime",
                    summary: findings.join("; "),
                    evidence: json!({ "findings": findings }),
                    began: laid_at(ctx.catalogue, s),
                });
            }
        }
    }
    if let Some(rule) = &p.apii_record {
        for s in &emplacement {
            let missing = apii_missing(ctx.catalogue, &s.area, rule.min_reference_points);
            if !missing.is_empty() {
                v.push(Violation {
                    record: s.area.id.clone(),
                    rule: "apii-record",
                    summary: format!("the emplacement record lacks {}", missing.join("; ")),
                    evidence: json!({ "missing": missing }),
                    began: s.timeline.first_recorded,
                });
            }
        }
    }
    for (name, rule, done) in [
        (
            "marking",
            &p.marking,
            (|t: &Timeline| t.first_marked) as fn(&Timeline) -> Option<Timestamp>,
        ),
        ("public-warning", &p.public_warning, |t: &Timeline| {
            t.first_public
        }),
    ] {
        let Some(rule) = rule else { continue };
        // Emplacement records are in either scope; other hazards only in `all-hazards`.
        let others = others
            .iter()
            .filter(|_| rule.applies_to == Scope::AllHazards)
            .map(|o| (o.id.as_str(), &o.timeline));
        for (id, timeline) in emplacement
            .iter()
            .map(|s| (s.area.id.as_str(), &s.timeline))
            .chain(others)
        {
            if let Some(x) =
                deadline_violation(name, rule.within, id, timeline, done(timeline), ctx.at)
            {
                v.push(x);
            }
        }
    }
    if let Some(rule) = &p.settlement_distance {
        v.extend(settlement_violations(&ap, rule.minimum_m, ctx));
    }
    let order = |r: &str| {
        p.enabled()
            .iter()
            .position(|x| *x == r)
            .unwrap_or(usize::MAX)
    };
    v.sort_by(|a, b| (order(a.rule), &a.record, a.began).cmp(&(order(b.rule), &b.record, b.began)));
    let mut counts: BTreeMap<&'static str, u64> = p.enabled().into_iter().map(|r| (r, 0)).collect();
    for x in &v {
        *counts.entry(x.rule).or_default() += 1;
    }
    Audit {
        policy: p.name.clone(),
        at: ctx.at,
        catalogue_version: None,
        rules: p.enabled(),
        permitted_zones: if p.permitted_zones.is_some() {
            ctx.permitted.iter().map(|z| z.id.clone()).collect()
        } else {
            Vec::new()
        },
        records: (subjects.len() + others.len()) as u64,
        emplacement_records: emplacement.len() as u64,
        counts,
        violations: v,
    }
}

/// What an emplacement record lacks of APII TA 1, in the annex's order.
pub fn apii_missing(catalogue: &Catalogue, a: &HazardArea, min_refs: usize) -> Vec<String> {
    let mut m = Vec::new();
    let e = a.props.emplacement.as_deref().cloned().unwrap_or_default();
    let n = a.props.reference_points.len();
    if n < min_refs {
        m.push(format!("reference points ({n} of the {min_refs} required)"));
    }
    if !matches!(a.shape, Shape::Polygon(_) | Shape::MultiPolygon(_)) {
        m.push(format!(
            "a perimeter (the record is a {}, not a polygon)",
            a.shape.type_name()
        ));
    }
    let groups = record_groups(a);
    if groups.is_empty() {
        m.push("device types and numbers (no device group)".into());
    }
    for (i, g) in &groups {
        if g.quantity.is_none() {
            m.push(format!(
                "the number of devices in devices[{i}] ({})",
                g.device_type
            ));
        }
    }
    if e.method.is_none() {
        m.push("the emplacing method".into());
    }
    if e.fuze.is_none() {
        m.push("the fuze type".into());
    }
    let non_persistent = groups.iter().any(|(_, g)| {
        catalogue
            .get(&g.device_type)
            .is_some_and(|t| t.is_non_persistent())
    });
    if non_persistent && e.fuze_lifetime_hours.is_none() {
        m.push("the fuze lifetime (self-destruct period) of its non-persistent devices".into());
    }
    for (i, g) in &groups {
        match (g.emplaced_from, g.emplaced_to) {
            (Some(_), Some(_)) => {}
            (None, None) => m.push(format!("the date and time laid of devices[{i}]")),
            (None, Some(_)) => m.push(format!(
                "the earliest time laid (emplaced_from) of devices[{i}]"
            )),
            (Some(_), None) => m.push(format!(
                "the latest time laid (emplaced_to) of devices[{i}]"
            )),
        }
    }
    if e.anti_handling.is_none() {
        m.push("whether anti-handling devices were fitted".into());
    }
    m
}

/// A deadline rule for one record: due `within` after first recording; done at `done`.
fn deadline_violation(
    rule: &'static str,
    within: chrono::Duration,
    id: &str,
    t: &Timeline,
    done: Option<Timestamp>,
    at: Timestamp,
) -> Option<Violation> {
    if t.first_recorded > at {
        return None;
    }
    let deadline = t.first_recorded + within;
    if deadline >= at {
        // Not yet due (a deadline exactly now is still met by anything done now).
        return None;
    }
    let done = done.filter(|d| *d <= at);
    if done.is_some_and(|d| d <= deadline) {
        return None;
    }
    // Land released by the deadline needs no marking or warning.
    if t.first_released.is_some_and(|r| r <= deadline) {
        return None;
    }
    let what = if rule == "marking" {
        "marking"
    } else {
        "a public warning (the area on the public map)"
    };
    let (summary, late) = match done {
        Some(d) => (
            format!(
                "{what} was recorded {} after recording, later than the {} allowed",
                human_span(d - t.first_recorded),
                human(within)
            ),
            json!(rfc3339(d)),
        ),
        None => (
            format!(
                "no {what} recorded {} after recording (limit {})",
                human_span(at - t.first_recorded),
                human(within)
            ),
            Value::Null,
        ),
    };
    Some(Violation {
        record: id.to_string(),
        rule,
        summary,
        evidence: json!({
            "recorded_at": rfc3339(t.first_recorded),
            "deadline": rfc3339(deadline),
            "done_at": late,
            "within": human(within),
        }),
        began: deadline,
    })
}

/// A span of time for people: days and hours.
fn human_span(d: chrono::Duration) -> String {
    let h = d.num_hours();
    if h >= 48 {
        format!("{} days {} hours", h / 24, h % 24)
    } else if h >= 1 {
        format!("{h} hours {} minutes", d.num_minutes() % 60)
    } else {
        format!("{} minutes", d.num_minutes())
    }
}

fn settlement_violations(ap: &[&Subject], minimum_m: f64, ctx: &Context<'_>) -> Vec<Violation> {
    use cairn_index::{Filter, Hazard, Index};
    // Accuracies of kilometres: the tree answers these alone.
    let index =
        Index::build_without_grid(ap.iter().map(|s| Hazard::from_area(&s.area, ctx.catalogue)));
    let every = Filter {
        statuses: Some(Status::ALL.iter().map(|(s, _)| *s).collect()),
        categories: None,
    };
    // The nearest settlement within the minimum, per record.
    let mut nearest: BTreeMap<String, (f64, &Settlement)> = BTreeMap::new();
    for st in ctx.settlements {
        let a = index.check_point(
            Coord {
                x: st.lon,
                y: st.lat,
            },
            minimum_m,
            &every,
        );
        let hits = a.inside.iter().map(|h| (h.id.to_string(), 0.0)).chain(
            a.within_accuracy
                .iter()
                .map(|n| (n.id.to_string(), n.distance_m)),
        );
        for (id, d) in hits {
            let e = nearest.entry(id).or_insert((d, st));
            if d < e.0 {
                *e = (d, st);
            }
        }
    }
    let by_id: BTreeMap<&str, &Subject> = ap.iter().map(|s| (s.area.id.as_str(), *s)).collect();
    nearest
        .into_iter()
        .filter(|(_, (d, _))| *d < minimum_m)
        .filter_map(|(id, (d, st))| {
            let s = by_id.get(id.as_str())?;
            Some(Violation {
                summary: if d == 0.0 {
                    format!(
                        "AP devices recorded around {} (the settlement's point is inside the area)",
                        st.name
                    )
                } else {
                    format!(
                        "AP devices recorded {:.0} m from {}, nearer than the {:.0} m allowed",
                        d, st.name, minimum_m
                    )
                },
                evidence: json!({
                    "settlement": st.name,
                    "settlement_at": [st.lon, st.lat],
                    "distance_m": (d * 10.0).round() / 10.0,
                    "minimum_m": minimum_m,
                }),
                began: laid_at(ctx.catalogue, s),
                rule: "settlement-distance",
                record: id,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The permitted zones' union, and a grid that settles most records without polygon arithmetic.

const CELL_DEG: f64 = 0.02;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cell {
    Outside,
    Inside,
    Border,
}

/// The union of the permitted zones with a classified grid over it.
struct ZoneCover {
    union: MultiPolygon<f64>,
    origin: Coord<f64>,
    cols: usize,
    rows: usize,
    cells: Vec<Cell>,
}

impl ZoneCover {
    fn new(zones: &[&Zone]) -> ZoneCover {
        let mut union = MultiPolygon::<f64>(vec![]);
        for z in zones {
            union = if union.0.is_empty() {
                z.geometry.clone()
            } else {
                union.union(&z.geometry)
            };
        }
        let Some(b) = union.bounding_rect() else {
            return ZoneCover {
                union,
                origin: Coord { x: 0.0, y: 0.0 },
                cols: 0,
                rows: 0,
                cells: vec![],
            };
        };
        let origin = Coord {
            x: (b.min().x / CELL_DEG).floor() * CELL_DEG - CELL_DEG,
            y: (b.min().y / CELL_DEG).floor() * CELL_DEG - CELL_DEG,
        };
        let cols = ((b.max().x - origin.x) / CELL_DEG).ceil() as usize + 2;
        let rows = ((b.max().y - origin.y) / CELL_DEG).ceil() as usize + 2;
        let mut cells = vec![Cell::Outside; cols * rows];
        let edges: Vec<Line<f64>> = union
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.lines())
            .collect();
        let cell_rect = |c: usize, r: usize| {
            Rect::new(
                Coord {
                    x: origin.x + c as f64 * CELL_DEG,
                    y: origin.y + r as f64 * CELL_DEG,
                },
                Coord {
                    x: origin.x + (c + 1) as f64 * CELL_DEG,
                    y: origin.y + (r + 1) as f64 * CELL_DEG,
                },
            )
        };
        // Every cell an edge touches (closed cells: an edge along a grid line marks both sides).
        for e in &edges {
            let c0 = (((e.start.x.min(e.end.x) - origin.x) / CELL_DEG).floor() as isize - 1).max(0)
                as usize;
            let c1 = ((((e.start.x.max(e.end.x) - origin.x) / CELL_DEG).floor() as isize + 1)
                as usize)
                .min(cols - 1);
            let r0 = (((e.start.y.min(e.end.y) - origin.y) / CELL_DEG).floor() as isize - 1).max(0)
                as usize;
            let r1 = ((((e.start.y.max(e.end.y) - origin.y) / CELL_DEG).floor() as isize + 1)
                as usize)
                .min(rows - 1);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    if cells[r * cols + c] != Cell::Border && e.intersects(&cell_rect(c, r)) {
                        cells[r * cols + c] = Cell::Border;
                    }
                }
            }
        }
        // The rest by crossings along each row's middle: a cell no edge touches is wholly on one
        // side, the side of its centre.
        for r in 0..rows {
            let y = origin.y + (r as f64 + 0.5) * CELL_DEG;
            let mut xs: Vec<f64> = edges
                .iter()
                .filter(|e| (e.start.y > y) != (e.end.y > y))
                .map(|e| {
                    e.start.x + (y - e.start.y) / (e.end.y - e.start.y) * (e.end.x - e.start.x)
                })
                .collect();
            xs.sort_by(f64::total_cmp);
            for c in 0..cols {
                let i = r * cols + c;
                if cells[i] == Cell::Border {
                    continue;
                }
                let x = origin.x + (c as f64 + 0.5) * CELL_DEG;
                let crossings = xs.partition_point(|v| *v < x);
                if crossings % 2 == 1 {
                    cells[i] = Cell::Inside;
                }
            }
        }
        ZoneCover {
            union,
            origin,
            cols,
            rows,
            cells,
        }
    }

    /// How the cells under a box are classified: all inside, all outside, or mixed (`Border`).
    fn classify(&self, b: Rect<f64>) -> Cell {
        if self.cols == 0 {
            return Cell::Outside;
        }
        let col = |x: f64| ((x - self.origin.x) / CELL_DEG).floor();
        let row = |y: f64| ((y - self.origin.y) / CELL_DEG).floor();
        let (c0, c1, r0, r1) = (
            col(b.min().x),
            col(b.max().x),
            row(b.min().y),
            row(b.max().y),
        );
        let out_of_grid = c0 < 0.0 || r0 < 0.0 || c1 >= self.cols as f64 || r1 >= self.rows as f64;
        let mut seen_in = false;
        let mut seen_out = out_of_grid;
        let clamp = |v: f64, n: usize| v.clamp(0.0, (n - 1) as f64) as usize;
        for r in clamp(r0, self.rows)..=clamp(r1, self.rows) {
            for c in clamp(c0, self.cols)..=clamp(c1, self.cols) {
                match self.cells[r * self.cols + c] {
                    Cell::Border => return Cell::Border,
                    Cell::Inside => seen_in = true,
                    Cell::Outside => seen_out = true,
                }
                if seen_in && seen_out {
                    return Cell::Border;
                }
            }
        }
        if seen_in { Cell::Inside } else { Cell::Outside }
    }

    /// The part of `mp` outside the union, in m².
    fn outside(&self, mp: &MultiPolygon<f64>) -> f64 {
        let Some(b) = mp.bounding_rect() else {
            return 0.0;
        };
        match self.classify(b) {
            Cell::Inside => 0.0,
            Cell::Outside => area_m2(mp),
            Cell::Border => {
                let pad = CELL_DEG;
                let window = Rect::new(
                    Coord {
                        x: b.min().x - pad,
                        y: b.min().y - pad,
                    },
                    Coord {
                        x: b.max().x + pad,
                        y: b.max().y + pad,
                    },
                )
                .to_polygon();
                let local = self.union.intersection(&MultiPolygon(vec![window]));
                area_m2(&mp.difference(&local))
            }
        }
    }
}

pub mod run;
