//! Activities and land release (IMAS 07.11): which activity may release land by which method, the
//! remaining hazard as the original geometry minus everything released (robust boolean operations
//! of `geo`, backed by i_overlay), the status an area takes afterwards, the status transitions
//! that evidence supports, and post-release finds. Areas are measured on the WGS 84 ellipsoid
//! (`area_m2`: an exact equal-area integral over the authalic latitude), never in square degrees.

use chrono::NaiveDate;
use geo::{BooleanOps, Orient, orient::Direction};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use serde::{Deserialize, Serialize};

use crate::area::{Evidence, EvidenceKind, HazardArea, Shape, Status, Timestamp, WireEnum};
use crate::validate::Problem;

/// Parts of a boolean result smaller than this many square metres are numerical slivers, not
/// land: a remainder made only of them counts as nothing, so the area closes; holes smaller than
/// this in the remaining hazard are filled (the hazard is kept, the conservative choice).
pub const SLIVER_M2: f64 = 1.0;

/// The radius in metres of the hazard a post-release find re-opens around the find place: a
/// conservative default for a single item of AP or AT ordnance (the fragmentation hazard of most
/// AP mines and sub-munitions is well inside it), until a survey draws the real extent.
pub const FIND_RADIUS_M: f64 = 50.0;

/// How far outside the released land (in metres) a find may be placed and still be taken as on
/// it: the GPS accuracy of a hand-held receiver in the field.
pub const FIND_SLACK_M: f64 = 25.0;

// ---------------------------------------------------------------------------------------------
// Activities.

/// What kind of work an activity was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityKind {
    NonTechnicalSurvey,
    TechnicalSurvey,
    Clearance,
    Marking,
    RiskEducation,
}

impl WireEnum for ActivityKind {
    const ALL: &'static [(ActivityKind, &'static str)] = &[
        (ActivityKind::NonTechnicalSurvey, "non-technical-survey"),
        (ActivityKind::TechnicalSurvey, "technical-survey"),
        (ActivityKind::Clearance, "clearance"),
        (ActivityKind::Marking, "marking"),
        (ActivityKind::RiskEducation, "risk-education"),
    ];
}

impl ActivityKind {
    /// Parses a wire name or one of the sector's short names (nts, ts, eore).
    pub fn parse_loose(s: &str) -> Result<ActivityKind, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nts" => Ok(ActivityKind::NonTechnicalSurvey),
            "ts" => Ok(ActivityKind::TechnicalSurvey),
            "eore" => Ok(ActivityKind::RiskEducation),
            other => ActivityKind::parse(other).map_err(|m| format!("{m} (or nts, ts, eore)")),
        }
    }

    /// A label for people, with the standard it follows.
    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::NonTechnicalSurvey => "Non-technical survey (IMAS 08.10)",
            ActivityKind::TechnicalSurvey => "Technical survey (IMAS 08.20)",
            ActivityKind::Clearance => "Clearance (IMAS 09.10)",
            ActivityKind::Marking => "Marking (IMAS 08.40)",
            ActivityKind::RiskEducation => "Risk education (IMAS 12.10)",
        }
    }
}

/// Whether an activity found a device (and left it for others) or destroyed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceAction {
    Found,
    Destroyed,
}

impl WireEnum for DeviceAction {
    const ALL: &'static [(DeviceAction, &'static str)] = &[
        (DeviceAction::Found, "found"),
        (DeviceAction::Destroyed, "destroyed"),
    ];
}

/// Devices of one type that an activity found or destroyed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    #[serde(rename = "type")]
    pub device_type: String,
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth_cm: Option<f64>,
    pub action: DeviceAction,
}

/// What is recorded about an activity besides its id and the geometry worked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityFacts {
    pub kind: ActivityKind,
    pub area_id: String,
    pub organisation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub started: NaiveDate,
    pub ended: NaiveDate,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// People who took part in a risk-education session (EORE beneficiaries); only for
    /// risk education.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<u64>,
}

/// The most participants one risk-education session may record: a session is a meeting, not a
/// broadcast (mass-media campaigns are counted elsewhere).
pub const MAX_PARTICIPANTS: u64 = 100_000;

/// An activity on one hazardous area: its id, facts and the land worked.
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub id: String,
    pub facts: ActivityFacts,
    pub geometry: MultiPolygon<f64>,
}

impl Activity {
    /// Devices found (not destroyed) and destroyed, each summed over every type.
    pub fn device_totals(&self) -> (u64, u64) {
        let mut t = (0, 0);
        for d in &self.facts.devices {
            match d.action {
                DeviceAction::Found => t.0 += d.count,
                DeviceAction::Destroyed => t.1 += d.count,
            }
        }
        t
    }
}

/// The longest text accepted in an activity's free-text fields, in bytes.
pub const MAX_TEXT: usize = 4000;

/// Checks an activity's facts against the catalogue and today's date; every problem names its field.
pub fn validate_activity(
    facts: &ActivityFacts,
    catalogue: &crate::Catalogue,
    today: NaiveDate,
    problems: &mut Vec<Problem>,
) {
    if facts.organisation.trim().is_empty() {
        problems.push(Problem::new(
            "organisation",
            "is required and must not be empty",
        ));
    }
    for (name, v) in [
        ("organisation", Some(&facts.organisation)),
        ("team", facts.team.as_ref()),
        ("outcome", facts.outcome.as_ref()),
    ] {
        if let Some(s) = v
            && s.len() > MAX_TEXT
        {
            problems.push(Problem::new(
                name,
                format!("is longer than {MAX_TEXT} bytes"),
            ));
        }
    }
    if facts.started > facts.ended {
        problems.push(Problem::new(
            "started",
            format!(
                "the activity starts ({}) after it ends ({})",
                facts.started, facts.ended
            ),
        ));
    }
    // A day of slack for time zones east of UTC.
    if facts.ended > today + chrono::Duration::days(1) {
        problems.push(Problem::new(
            "ended",
            format!(
                "{} is in the future; record an activity once it is done",
                facts.ended
            ),
        ));
    }
    for (i, d) in facts.devices.iter().enumerate() {
        let f = |n: &str| format!("devices[{i}].{n}");
        if catalogue.get(&d.device_type).is_none() {
            problems.push(Problem::new(
                f("type"),
                format!(
                    "unknown device type {:?}; the catalogue has {}",
                    d.device_type,
                    catalogue.known_ids()
                ),
            ));
        }
        if d.count == 0 {
            problems.push(Problem::new(f("count"), "must be at least 1"));
        }
        if let Some(x) = d.depth_cm
            && !(x.is_finite() && (0.0..=1000.0).contains(&x))
        {
            problems.push(Problem::new(
                f("depth_cm"),
                format!("must be a depth from 0 to 1000 cm, not {x}"),
            ));
        }
    }
    if let Some(n) = facts.participants {
        if facts.kind != ActivityKind::RiskEducation {
            problems.push(Problem::new(
                "participants",
                format!(
                    "counts the people at a risk-education session; a {} activity has none",
                    facts.kind.as_str()
                ),
            ));
        } else if !(1..=MAX_PARTICIPANTS).contains(&n) {
            problems.push(Problem::new(
                "participants",
                format!("must be from 1 to {MAX_PARTICIPANTS}, not {n}"),
            ));
        }
    }
    let kind_finds_devices = matches!(
        facts.kind,
        ActivityKind::NonTechnicalSurvey | ActivityKind::TechnicalSurvey | ActivityKind::Clearance
    );
    if !kind_finds_devices
        && facts
            .devices
            .iter()
            .any(|d| d.action == DeviceAction::Destroyed)
    {
        problems.push(Problem::new(
            "devices",
            format!(
                "a {} activity does not destroy devices; record the destruction with the survey or clearance that did it",
                facts.kind.as_str()
            ),
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Land release.

/// How land is released (IMAS 07.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseMethod {
    Cancel,
    Reduce,
    Clear,
}

impl WireEnum for ReleaseMethod {
    const ALL: &'static [(ReleaseMethod, &'static str)] = &[
        (ReleaseMethod::Cancel, "cancel"),
        (ReleaseMethod::Reduce, "reduce"),
        (ReleaseMethod::Clear, "clear"),
    ];
}

impl ReleaseMethod {
    /// The activity whose evidence supports this method.
    pub fn required_activity(self) -> ActivityKind {
        match self {
            ReleaseMethod::Cancel => ActivityKind::NonTechnicalSurvey,
            ReleaseMethod::Reduce => ActivityKind::TechnicalSurvey,
            ReleaseMethod::Clear => ActivityKind::Clearance,
        }
    }

    /// The status word of land released this way: cancelled, reduced or cleared.
    pub fn released_status(self) -> Status {
        match self {
            ReleaseMethod::Cancel => Status::Cancelled,
            ReleaseMethod::Reduce => Status::Reduced,
            ReleaseMethod::Clear => Status::Cleared,
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            ReleaseMethod::Cancel => "Cancelled by non-technical survey",
            ReleaseMethod::Reduce => "Reduced by technical survey",
            ReleaseMethod::Clear => "Cleared by clearance",
        }
    }
}

/// What is recorded about a land release besides its id and the geometry released.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReleaseFacts {
    pub area_id: String,
    pub method: ReleaseMethod,
    pub activity_id: String,
    /// Who released the land (attributed in history as well).
    pub by: String,
    /// When Cairn recorded the release.
    pub released_at: Timestamp,
    /// The handover certificate's number, unique in the store: `HC-YYYY-NNNNNN`.
    pub certificate: String,
    /// The part of the request that was still hazardous, in m²: this release's area.
    pub released_m2: f64,
    /// The area's hazard before and after, in m².
    pub before_m2: f64,
    pub remaining_m2: f64,
    pub status_before: Status,
    pub status_after: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A land release: the land released (the request clipped to the hazard that remained).
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub id: String,
    pub facts: ReleaseFacts,
    pub geometry: MultiPolygon<f64>,
}

/// What a release will do, computed before anything is written.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleasePlan {
    /// The land released: the request within the remaining hazard, slivers dropped.
    pub released: MultiPolygon<f64>,
    /// The hazard that remains; `None` when nothing (or only slivers) remains.
    pub remaining: Option<MultiPolygon<f64>>,
    pub released_m2: f64,
    pub before_m2: f64,
    pub remaining_m2: f64,
    pub status_after: Status,
}

/// Area in square metres on the WGS 84 ellipsoid of polygons as RFC 7946 draws them: edges are
/// straight lines in longitude and latitude, the same lines the boolean operations cut along.
///
/// Computed exactly on the ellipsoid with the authalic latitude β (an equal-area mapping onto a
/// sphere of radius R_q): area = R_q² |∮ sin β dλ| by Green's theorem, each edge integrated with
/// three-point Gauss–Legendre along its straight course (exact for edges along a parallel or a
/// meridian; far below a square millimetre for any other edge of a hazardous area). The geodesic
/// polygon area (Karney's, `geo::GeodesicArea`) would join the vertices by geodesics instead,
/// which bow towards the pole: cutting an edge then changes the area of land nobody released
/// (245 m² on a 3.7 km strip at 44° N, found by the property test below), so released and
/// remaining would not add up to the original. Rings are assumed not to cross the antimeridian.
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(polygon_m2).sum()
}

/// The area of one polygon, as [`area_m2`] measures it: the shell less its holes.
pub fn polygon_m2(p: &Polygon<f64>) -> f64 {
    let holes: f64 = p.interiors().iter().map(|r| ring_m2(r).abs()).sum();
    (ring_m2(p.exterior()).abs() - holes).max(0.0)
}

/// The signed area enclosed by a ring, in m².
fn ring_m2(ring: &LineString<f64>) -> f64 {
    const A: f64 = 6_378_137.0;
    const F: f64 = 1.0 / 298.257_223_563;
    let e2 = F * (2.0 - F);
    let e = e2.sqrt();
    let q = |s: f64| {
        (1.0 - e2)
            * (s / (1.0 - e2 * s * s) - (1.0 / (2.0 * e)) * ((1.0 - e * s) / (1.0 + e * s)).ln())
    };
    let qp = q(1.0);
    let sin_beta = |phi_deg: f64| q(phi_deg.to_radians().sin()) / qp;
    // Three-point Gauss–Legendre on [0, 1].
    let k = 0.5 * (0.6f64).sqrt();
    let nodes = [
        (0.5 - k, 5.0 / 18.0),
        (0.5, 4.0 / 9.0),
        (0.5 + k, 5.0 / 18.0),
    ];
    let mut sum = 0.0;
    for w in ring.0.windows(2) {
        let (a, b) = (w[0], w[1]);
        let dl = (b.x - a.x).to_radians();
        if dl == 0.0 {
            continue;
        }
        let dphi = b.y - a.y;
        let mean = if dphi == 0.0 {
            sin_beta(a.y)
        } else {
            nodes
                .iter()
                .map(|(t, wt)| wt * sin_beta(a.y + t * dphi))
                .sum()
        };
        sum += dl * mean;
    }
    -A * A * qp / 2.0 * sum
}

/// A shape as polygons: a spot becomes a circle and a line a corridor, both drawn outward
/// (`footprint`: they contain every point the hazard reaches).
pub fn shape_polygons(shape: &Shape) -> MultiPolygon<f64> {
    crate::footprint::footprint(shape)
}

/// The land two areas share (i_overlay's intersection, right-hand rule), parts and holes under
/// [`SLIVER_M2`] dropped or filled: what a release takes of a hazard, and what a parcel shares
/// with one (`parcel.rs`). Measure it with [`area_m2`].
pub fn common_land(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let a = a.clone().orient(Direction::Default);
    let b = b.clone().orient(Direction::Default);
    without_slivers(a.intersection(&b))
}

/// Drops parts smaller than [`SLIVER_M2`] and fills holes smaller than it; right-hand rule.
pub fn without_slivers(mp: MultiPolygon<f64>) -> MultiPolygon<f64> {
    let parts =
        mp.0.into_iter()
            .filter_map(|p| {
                let (ext, ints) = p.into_inner();
                if ring_m2(&ext).abs() < SLIVER_M2 {
                    return None;
                }
                let holes = ints
                    .into_iter()
                    .filter(|h| ring_m2(h).abs() >= SLIVER_M2)
                    .collect();
                let p = Polygon::new(ext, holes);
                (polygon_m2(&p) >= SLIVER_M2).then_some(p)
            })
            .collect();
    MultiPolygon(parts).orient(Direction::Default)
}

/// True when land of this status may be released.
pub fn releasable(status: Status) -> bool {
    matches!(
        status,
        Status::Suspected | Status::Confirmed | Status::Reduced
    )
}

/// Plans releasing `requested` of `area` by `method` on the evidence of `activity`, or says why
/// the evidence does not support it (the problem names the request's field at fault).
pub fn plan_release(
    area: &HazardArea,
    activity: &Activity,
    method: ReleaseMethod,
    requested: &MultiPolygon<f64>,
) -> Result<ReleasePlan, Problem> {
    if activity.facts.area_id != area.id {
        return Err(Problem::new(
            "activity_id",
            format!(
                "activity {} worked area {}, not {}; land is released on the evidence of work on that area",
                activity.id, activity.facts.area_id, area.id
            ),
        ));
    }
    let needed = method.required_activity();
    if activity.facts.kind != needed {
        return Err(Problem::new(
            "activity_id",
            format!(
                "to {} land needs a {} activity (IMAS 07.11); {} is {}",
                method.as_str(),
                needed.as_str(),
                activity.id,
                activity.facts.kind.as_str()
            ),
        ));
    }
    if !releasable(area.props.status) {
        let why = match area.props.status {
            Status::Reported => {
                "it is only reported: triage and survey it first (make it suspected or confirmed)"
            }
            Status::Closed => "it is closed: nothing of it remains hazardous",
            _ => "its status does not allow release",
        };
        return Err(Problem::new(
            "area_id",
            format!("area {} cannot be released: {why}", area.id),
        ));
    }
    let direct = area
        .props
        .evidence
        .as_ref()
        .is_some_and(|e| e.kind == EvidenceKind::Direct);
    if method == ReleaseMethod::Cancel && direct {
        return Err(Problem::new(
            "method",
            format!(
                "area {} is confirmed by direct evidence; non-technical survey cancels only land suspected on indirect evidence; reduce it by technical survey or clear it",
                area.id
            ),
        ));
    }
    let requested = requested.clone().orient(Direction::Default);
    let outside = without_slivers(requested.difference(&activity.geometry));
    let outside_m2 = area_m2(&outside);
    if outside_m2 >= SLIVER_M2 {
        return Err(Problem::new(
            "geometry",
            format!(
                "{outside_m2:.1} m² of the land to release lies outside the land worked by activity {}; release only what the activity covered",
                activity.id
            ),
        ));
    }
    let current = shape_polygons(&area.shape).orient(Direction::Default);
    let before_m2 = area_m2(&current);
    let released = common_land(&current, &requested);
    let released_m2 = area_m2(&released);
    if released.0.is_empty() || released_m2 < SLIVER_M2 {
        return Err(Problem::new(
            "geometry",
            format!(
                "the land to release does not overlap what remains of area {} (less than {SLIVER_M2} m² in common)",
                area.id
            ),
        ));
    }
    let remaining = without_slivers(current.difference(&requested));
    let remaining_m2 = area_m2(&remaining);
    let closed = remaining.0.is_empty() || remaining_m2 < SLIVER_M2;
    Ok(ReleasePlan {
        released,
        remaining: (!closed).then_some(remaining),
        released_m2,
        before_m2,
        remaining_m2: if closed { 0.0 } else { remaining_m2 },
        // What remains keeps the evidence status it had: a partial release takes land off the
        // map, never the warning off what is left (confirmed stays confirmed).
        status_after: if closed {
            Status::Closed
        } else {
            area.props.status
        },
    })
}

/// The area after a release: the remaining hazard and the status `reduced`, or, when nothing
/// remains, status `closed` with the land released over the area's life as its geometry (the
/// outline of released land for maps; a closed area is no hazard).
pub fn area_after(
    area: &HazardArea,
    plan: &ReleasePlan,
    earlier_releases: &[MultiPolygon<f64>],
) -> HazardArea {
    let mut out = area.clone();
    out.props.status = plan.status_after;
    let geometry = match &plan.remaining {
        Some(r) => r.clone(),
        None => {
            let mut all = plan.released.clone();
            for g in earlier_releases {
                all = all.union(g);
            }
            all.orient(Direction::Default)
        }
    };
    out.shape = if geometry.0.len() == 1 {
        Shape::Polygon(geometry.0[0].clone())
    } else {
        Shape::MultiPolygon(geometry)
    };
    out
}

// ---------------------------------------------------------------------------------------------
// Status transitions.

/// Checks a status change that is not a release, on the area's evidence, the evidence given with
/// the change and the activities recorded on the area. Returns the evidence the area will carry.
/// Which transitions are allowed is decided by `command::check` (the one door's rules, as for
/// every other edit); this only works out the evidence that supports the new status.
pub fn check_transition(
    area: &HazardArea,
    to: Status,
    given: Option<&Evidence>,
    activities: &[Activity],
) -> Result<Option<Evidence>, Problem> {
    use crate::command::{Actor, Command, check};
    let refused = |r: crate::command::Refusal| {
        let field = r.field.strip_prefix("properties.").unwrap_or(&r.field);
        Problem::new(field, format!("{} (rule {})", r.message, r.rule))
    };
    let from = area.props.status;
    if from == to {
        return Err(Problem::new(
            "status",
            format!("area {} is already {to}", area.id),
        ));
    }
    if let Some(e) = given
        && e.description.as_deref().is_none_or(|d| d.trim().is_empty())
    {
        return Err(Problem::new(
            "evidence.description",
            "evidence needs a description of what was seen, found or learned",
        ));
    }
    let with = |evidence: Option<Evidence>| {
        let mut a = area.clone();
        a.props.status = to;
        a.props.evidence = evidence;
        a
    };
    let stated = given.or(area.props.evidence.as_ref()).cloned();
    // A status change keeps the shape and reference points, which `check` then does not test
    // against the territory: any territory gives the same answer.
    let territory = crate::territory::Territory::ukraine();
    // The transition itself first, so that a forbidden one is named as such whatever the evidence.
    if let Err(r) = check(
        Command::Edit,
        Actor::ADMIN,
        Some(area),
        &with(stated.clone()),
        &territory,
    ) && !matches!(
        r.rule,
        "confirmed-needs-direct-evidence" | "suspected-needs-evidence"
    ) {
        return Err(refused(r));
    }
    let evidence = match to {
        Status::Confirmed => Some(direct_evidence(area, given, activities)?),
        Status::Suspected => Some(stated.ok_or_else(|| {
            Problem::new(
                "evidence",
                "suspicion needs evidence (indirect is enough): give evidence with kind and description (rule suspected-needs-evidence)",
            )
        })?),
        _ => stated,
    };
    let after = with(evidence);
    check(Command::Edit, Actor::ADMIN, Some(area), &after, &territory).map_err(refused)?;
    Ok(after.props.evidence)
}

/// The direct evidence that confirms `area`: given with the change, already on the area, or
/// the devices an activity on the area found.
fn direct_evidence(
    area: &HazardArea,
    given: Option<&Evidence>,
    activities: &[Activity],
) -> Result<Evidence, Problem> {
    if let Some(e) = given {
        if e.kind == EvidenceKind::Direct {
            return Ok(e.clone());
        }
        return Err(Problem::new(
            "evidence.kind",
            "confirming needs direct evidence (an item seen, found or an accident); the evidence given is indirect (rule confirmed-needs-direct-evidence)",
        ));
    }
    if let Some(e) = area
        .props
        .evidence
        .as_ref()
        .filter(|e| e.kind == EvidenceKind::Direct)
    {
        return Ok(e.clone());
    }
    if let Some(a) = activities
        .iter()
        .find(|a| a.facts.area_id == area.id && a.facts.devices.iter().any(|d| d.count > 0))
    {
        let (found, destroyed) = a.device_totals();
        return Ok(Evidence {
            kind: EvidenceKind::Direct,
            description: Some(format!(
                "{} found {found} and destroyed {destroyed} device(s) on the area",
                a.facts.kind.as_str()
            )),
            source: Some(format!("activity {}", a.id)),
        });
    }
    Err(Problem::new(
        "evidence",
        format!(
            "confirming needs direct evidence: give evidence of kind direct with a description, or record a survey activity on area {} that found devices; its evidence is {} (rule confirmed-needs-direct-evidence)",
            area.id,
            area.props
                .evidence
                .as_ref()
                .map(|e| e.kind.as_str())
                .unwrap_or("none")
        ),
    ))
}

// ---------------------------------------------------------------------------------------------
// Post-release finds.

/// What is recorded about an item found on released land.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindFacts {
    pub release_id: String,
    /// The area the release belonged to.
    pub area_id: String,
    #[serde(rename = "type")]
    pub device_type: String,
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth_cm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub by: String,
    pub recorded_at: Timestamp,
    /// The hazardous area opened around the find.
    pub opened_area: String,
    pub radius_m: f64,
}

/// An item found on released land.
#[derive(Clone, Debug, PartialEq)]
pub struct Find {
    pub id: String,
    pub facts: FindFacts,
    pub at: Point<f64>,
}

/// Checks that a find lies on (or within [`FIND_SLACK_M`] of) the land a release released.
pub fn check_find_place(release: &Release, at: Point<f64>) -> Result<(), Problem> {
    use geo::{Distance, Euclidean};
    let plane = Plane::at(at.0);
    let mut nearest = f64::INFINITY;
    for p in &release.geometry.0 {
        let un = |l: &LineString<f64>| LineString(l.0.iter().map(|c| plane.project(*c)).collect());
        let q = Polygon::new(un(p.exterior()), p.interiors().iter().map(un).collect());
        nearest = nearest.min(Euclidean.distance(&Point::new(0.0, 0.0), &q));
    }
    if nearest <= FIND_SLACK_M {
        Ok(())
    } else {
        Err(Problem::new(
            "lon",
            format!(
                "the place is {nearest:.0} m from the land released by {}; a post-release find must lie on it (within {FIND_SLACK_M} m)",
                release.id
            ),
        ))
    }
}

/// The hazardous area a post-release find opens: confirmed on the direct evidence of the item, a
/// spot of [`FIND_RADIUS_M`] around it, with the classification and organisation of the area the
/// release belonged to.
pub fn area_for_find(id: String, find: &Find, released_from: &HazardArea) -> HazardArea {
    use crate::area::{AreaProperties, DeviceGroup, HowKnown};
    let mut extra = std::collections::BTreeMap::new();
    extra.insert(
        "post_release_find".into(),
        serde_json::Value::from(find.id.clone()),
    );
    extra.insert(
        "release".into(),
        serde_json::Value::from(find.facts.release_id.clone()),
    );
    HazardArea {
        id,
        shape: Shape::Spot {
            at: find.at,
            radius_m: find.facts.radius_m,
        },
        props: AreaProperties {
            name: Some(format!(
                "Post-release find {} on land released by {} (area {})",
                find.id, find.facts.release_id, find.facts.area_id
            )),
            status: Status::Confirmed,
            classification: released_from.props.classification,
            evidence: Some(Evidence {
                kind: EvidenceKind::Direct,
                description: Some(format!(
                    "{} × {} found on released land{}",
                    find.facts.count,
                    find.facts.device_type,
                    find.facts
                        .description
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                )),
                source: Some(format!("post-release find {}", find.id)),
            }),
            devices: vec![DeviceGroup {
                device_type: find.facts.device_type.clone(),
                quantity: Some(find.facts.count),
                emplaced_from: None,
                emplaced_to: None,
                how_known: Some(HowKnown::Observation),
            }],
            reference_points: vec![],
            marking: None,
            organisation: released_from.props.organisation.clone(),
            reported_at: Some(find.facts.recorded_at),
            emplacement: None,
            extra,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// A local plane in metres.

/// An equirectangular plane tangent at an origin, with the WGS 84 radii of curvature there.
#[derive(Clone, Copy, Debug)]
pub struct Plane {
    origin: Coord<f64>,
    kx: f64,
    ky: f64,
}

impl Plane {
    /// The plane at `origin` (lon, lat).
    pub fn at(origin: Coord<f64>) -> Plane {
        const A: f64 = 6_378_137.0;
        const F: f64 = 1.0 / 298.257_223_563;
        let e2 = F * (2.0 - F);
        let phi = origin.y.to_radians();
        let s = phi.sin();
        let w = (1.0 - e2 * s * s).sqrt();
        let n = A / w;
        let m = A * (1.0 - e2) / (w * w * w);
        Plane {
            origin,
            kx: n * phi.cos() * std::f64::consts::PI / 180.0,
            ky: m * std::f64::consts::PI / 180.0,
        }
    }

    /// (lon, lat) to metres east and north of the origin.
    pub fn project(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: (c.x - self.origin.x) * self.kx,
            y: (c.y - self.origin.y) * self.ky,
        }
    }

    /// Metres east and north back to (lon, lat).
    pub fn unproject(&self, p: Coord<f64>) -> Coord<f64> {
        Coord {
            x: self.origin.x + p.x / self.kx,
            y: self.origin.y + p.y / self.ky,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::{AreaProperties, Classification};
    use geo::Validation;
    use geo_types::polygon;
    use proptest::prelude::*;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)],
        ])
    }

    fn area(status: Status, evidence: EvidenceKind, g: MultiPolygon<f64>) -> HazardArea {
        HazardArea {
            id: "HA-000001".into(),
            shape: Shape::MultiPolygon(g),
            props: AreaProperties {
                name: None,
                status,
                classification: Classification::Public,
                evidence: Some(Evidence {
                    kind: evidence,
                    description: Some("x".into()),
                    source: None,
                }),
                devices: vec![],
                reference_points: vec![],
                marking: None,
                organisation: None,
                reported_at: None,
                emplacement: None,
                extra: Default::default(),
            },
        }
    }

    fn activity(kind: ActivityKind, g: MultiPolygon<f64>) -> Activity {
        Activity {
            id: "ACT-000001".into(),
            facts: ActivityFacts {
                kind,
                area_id: "HA-000001".into(),
                organisation: "Org".into(),
                team: None,
                started: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                ended: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                devices: vec![],
                outcome: None,
                participants: None,
            },
            geometry: g,
        }
    }

    #[test]
    fn participants_only_for_risk_education_and_in_range() {
        let c = crate::Catalogue::builtin();
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let g = rect(36.0, 49.9, 36.01, 49.91);
        let check = |kind, n| {
            let mut a = activity(kind, g.clone());
            a.facts.participants = n;
            let mut p = Vec::new();
            validate_activity(&a.facts, &c, today, &mut p);
            p.iter().map(|p| p.field.clone()).collect::<Vec<_>>()
        };
        assert!(check(ActivityKind::RiskEducation, Some(35)).is_empty());
        assert!(check(ActivityKind::RiskEducation, None).is_empty());
        assert_eq!(
            check(ActivityKind::RiskEducation, Some(0)),
            ["participants"]
        );
        assert_eq!(check(ActivityKind::Clearance, Some(3)), ["participants"]);
    }

    #[test]
    fn partial_then_full_release() {
        let g = rect(36.0, 49.9, 36.01, 49.91);
        let a = area(Status::Confirmed, EvidenceKind::Direct, g.clone());
        let ts = activity(ActivityKind::TechnicalSurvey, g.clone());
        let half = rect(36.0, 49.9, 36.005, 49.91);
        let p = plan_release(&a, &ts, ReleaseMethod::Reduce, &half).unwrap();
        assert_eq!(
            p.status_after,
            Status::Confirmed,
            "what remains stays confirmed"
        );
        assert!((p.released_m2 + p.remaining_m2 - p.before_m2).abs() < 0.01);
        assert!((p.released_m2 / p.before_m2 - 0.5).abs() < 0.001);
        assert!(p.remaining.as_ref().unwrap().is_valid());
        let a2 = area_after(&a, &p, &[]);
        let clr = activity(ActivityKind::Clearance, g.clone());
        let p2 = plan_release(&a2, &clr, ReleaseMethod::Clear, &g).unwrap();
        assert_eq!(p2.status_after, Status::Closed);
        assert!(p2.remaining.is_none());
        let closed = area_after(&a2, &p2, std::slice::from_ref(&p.released));
        let m = shape_polygons(&closed.shape);
        assert!((area_m2(&m) - p.before_m2).abs() < 1.0);
    }

    #[test]
    fn evidence_rules() {
        let g = rect(36.0, 49.9, 36.01, 49.91);
        let a = area(Status::Confirmed, EvidenceKind::Direct, g.clone());
        let nts = activity(ActivityKind::NonTechnicalSurvey, g.clone());
        assert_eq!(
            plan_release(&a, &nts, ReleaseMethod::Cancel, &g)
                .unwrap_err()
                .field,
            "method"
        );
        assert_eq!(
            plan_release(&a, &nts, ReleaseMethod::Clear, &g)
                .unwrap_err()
                .field,
            "activity_id"
        );
        let small = activity(ActivityKind::Clearance, rect(36.0, 49.9, 36.001, 49.901));
        assert_eq!(
            plan_release(&a, &small, ReleaseMethod::Clear, &g)
                .unwrap_err()
                .field,
            "geometry"
        );
        let s = area(Status::Suspected, EvidenceKind::Indirect, g.clone());
        assert_eq!(
            check_transition(&s, Status::Confirmed, None, &[])
                .unwrap_err()
                .field,
            "evidence"
        );
        assert!(check_transition(&s, Status::Cleared, None, &[]).is_err());
        let ind = Evidence {
            kind: EvidenceKind::Indirect,
            description: Some("locals say".into()),
            source: None,
        };
        assert_eq!(
            check_transition(&s, Status::Confirmed, Some(&ind), &[])
                .unwrap_err()
                .field,
            "evidence.kind"
        );
        let mut ts = activity(ActivityKind::TechnicalSurvey, g);
        ts.facts.devices.push(DeviceRecord {
            device_type: "x".into(),
            count: 2,
            depth_cm: None,
            action: DeviceAction::Destroyed,
        });
        let e = check_transition(&s, Status::Confirmed, None, &[ts])
            .unwrap()
            .unwrap();
        assert_eq!(e.kind, EvidenceKind::Direct);
    }

    #[test]
    fn area_is_exact_for_a_graticule_rectangle_and_close_to_geodesic_for_small_polygons() {
        use geo::GeodesicArea;
        // A 1° × 1° cell between 49° and 50° N: the ellipsoidal zone area formula, independently.
        let cell = rect(36.0, 49.0, 37.0, 50.0);
        let a: f64 = 6_378_137.0;
        let f = 1.0 / 298.257_223_563;
        let b = a * (1.0 - f);
        let e = (1.0 - b * b / (a * a)).sqrt();
        let zone = |phi: f64| {
            let s = phi.to_radians().sin();
            std::f64::consts::PI
                * b
                * b
                * (s / (1.0 - e * e * s * s)
                    + (1.0 / (2.0 * e)) * ((1.0 + e * s) / (1.0 - e * s)).ln())
        };
        let want = (zone(50.0) - zone(49.0)) / 360.0;
        assert!(
            (area_m2(&cell) - want).abs() < 1e-6 * want,
            "{} vs {want}",
            area_m2(&cell)
        );
        // For a field with short edges the two areas agree to well under a square metre.
        let field = rect(36.0, 49.9, 36.002, 49.901);
        let g = field.geodesic_area_unsigned();
        assert!(
            (area_m2(&field) - g).abs() < 0.01,
            "{} vs {g}",
            area_m2(&field)
        );
    }

    #[test]
    fn spot_is_released_as_a_circle() {
        let s = Shape::Spot {
            at: Point::new(36.0, 50.0),
            radius_m: 100.0,
        };
        let m = area_m2(&shape_polygons(&s));
        let circle = std::f64::consts::PI * 100.0 * 100.0;
        assert!(m >= circle && m < circle * 1.01, "{m}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Released plus remaining is the original area, for random rectangles.
        #[test]
        fn released_and_remaining_add_up(
            x in 22.0f64..40.0, y in 44.0f64..52.0,
            w in 0.0005f64..0.05, h in 0.0005f64..0.05,
            fx in -0.5f64..1.2, fy in -0.5f64..1.2, fw in 0.05f64..1.5, fh in 0.05f64..1.5,
        ) {
            let g = rect(x, y, x + w, y + h);
            let a = area(Status::Suspected, EvidenceKind::Indirect, g.clone());
            let (rx, ry) = (x + fx * w, y + fy * h);
            let req = rect(rx, ry, rx + fw * w, ry + fh * h);
            let nts = activity(ActivityKind::NonTechnicalSurvey, req.clone());
            let original = area_m2(&g);
            match plan_release(&a, &nts, ReleaseMethod::Cancel, &req) {
                Ok(p) => {
                    prop_assert!((p.before_m2 - original).abs() <= 1e-6 * original + 0.01);
                    let sum = p.released_m2 + p.remaining_m2;
                    // Slivers under 1 m² may be dropped on either side.
                    prop_assert!((sum - original).abs() <= 1e-6 * original + 2.0 * SLIVER_M2,
                        "released {} + remaining {} != original {}", p.released_m2, p.remaining_m2, original);
                    if let Some(r) = &p.remaining {
                        prop_assert!(r.is_valid());
                    }
                    prop_assert!(p.released.is_valid());
                }
                Err(e) => prop_assert_eq!(e.field, "geometry"),
            }
        }
    }
}
