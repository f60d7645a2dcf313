//! The one door's rules for writing a hazardous area. Every way a change arrives — import, OGC
//! API Part 4, the command line, the officer's pages, field sync — names what it is doing (a
//! [`Command`]) and who does it (an [`Actor`]), and `check` decides with the record it replaces,
//! the same way whichever door it came through. The store runs `check` inside the write's own
//! transaction (`cairn_store::Writer::write_area`), so no door can write around it.
//!
//! The rules (domain.md, "Statuses" and "One door"):
//! - a record's status moves only along the transitions of domain.md: reported → suspected →
//!   confirmed, suspected or confirmed only on evidence (confirmed on direct evidence); the release
//!   statuses (cancelled, reduced, cleared, closed) only by land release on an activity's evidence;
//!   released land never reopens (a later find is a post-release find, a new area);
//! - a new record starts open (reported, suspected or confirmed), except when existing national
//!   data is migrated (`Command::Migrate`, an import), which may bring a record in any state with
//!   its provenance in the changeset;
//! - a change that weakens a hazard (a lower status, a smaller or moved outline, fewer devices,
//!   public → restricted) is never a side effect of an edit: it is a `Command::Correct`, by an
//!   information officer or an admin, with a reason, and shows as such in history;
//! - field users write only records of their organisation, never publish and never weaken;
//! - no record takes an id in the danger zones' namespace (`validate::check_id`);
//! - no position given (a new record's, or a changed outline's vertices, centre or centre line,
//!   and its reference points) lies outside the store's territory of operations (`territory.rs`),
//!   the refusal saying when latitude and longitude look swapped. A record whose shape an edit
//!   leaves as it was is not checked again, so that a narrower territory set later never locks
//!   the records already kept.

use std::collections::BTreeMap;

use geo::BooleanOps;

use crate::area::{Classification, EvidenceKind, HazardArea, Status, WireEnum};
use crate::release::{SLIVER_M2, area_m2, shape_polygons, without_slivers};
use crate::territory::Territory;

/// What a write does to an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// A new record made by an editor (OGC `POST`, a triaged report, a field submission).
    Create,
    /// A record of existing data brought in by import: new records may arrive in any state.
    /// Over an existing record an import is an `Edit`.
    Migrate,
    /// A change to an existing record (OGC `PUT`/`PATCH`, a re-import, a field submission):
    /// may strengthen a hazard or add detail, never weaken it.
    Edit,
    /// An information officer's correction of a wrong record, with a reason: may weaken.
    Correct,
}

impl Command {
    /// The name recorded with the changeset.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Create => "create",
            Command::Migrate => "migrate",
            Command::Edit => "edit",
            Command::Correct => "correct",
        }
    }
}

/// The role a writer acts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An operator's field team: records of their organisation only.
    Field,
    /// An information officer of the authority.
    Officer,
    /// An administrator (and whoever holds the store file: the command line acts as one).
    Admin,
}

/// Who makes a write.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub role: Role,
    pub organisation: Option<&'a str>,
}

impl Actor<'static> {
    /// The command line: whoever holds the store file administers it.
    pub const ADMIN: Actor<'static> = Actor {
        role: Role::Admin,
        organisation: None,
    };
}

/// How a refusal is answered: over HTTP 403, 409 or 422; on the command line exit 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// The actor's role may not make this change.
    Forbidden,
    /// The change contradicts the record's state (a transition domain.md forbids).
    Conflict,
    /// The change is not supported by what it carries (e.g. confirmed without direct evidence).
    Invalid,
}

/// Why a write was refused: the rule, the field at fault and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// A stable name of the rule, e.g. `status-transition`, `weakening-needs-correction`.
    pub rule: &'static str,
    pub field: String,
    pub message: String,
    pub kind: RefusalKind,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (rule {})", self.field, self.message, self.rule)
    }
}

impl std::error::Error for Refusal {}

fn refuse(
    rule: &'static str,
    kind: RefusalKind,
    field: &str,
    message: impl Into<String>,
) -> Refusal {
    Refusal {
        rule,
        kind,
        field: field.into(),
        message: message.into(),
    }
}

/// Decides whether `actor` may write `after` over `before` (`None`: no such record yet) by
/// `command`, in a store whose territory of operations is `territory`. Pure: the caller reads
/// `before` and the territory under the write's own lock.
pub fn check(
    command: Command,
    actor: Actor<'_>,
    before: Option<&HazardArea>,
    after: &HazardArea,
    territory: &Territory,
) -> Result<(), Refusal> {
    if let Err(m) = crate::validate::check_id(&after.id) {
        return Err(refuse("id-namespace", RefusalKind::Invalid, "id", m));
    }
    check_territory(before, after, territory)?;
    if let Some(b) = before
        && command == Command::Create
    {
        return Err(refuse(
            "id-exists",
            RefusalKind::Conflict,
            "id",
            format!(
                "a record with id {:?} exists; leave the id out to have one assigned, or edit that record",
                b.id
            ),
        ));
    }
    check_role(command, actor, before, after)?;
    match before {
        None => check_new(command, after),
        Some(b) => check_change(command, b, after),
    }
}

/// Every position given lies inside the territory: the shape's when it is new or changed, and
/// each reference point not already recorded.
fn check_territory(
    before: Option<&HazardArea>,
    after: &HazardArea,
    territory: &Territory,
) -> Result<(), Refusal> {
    let outside = |field: String, m: String| refuse("territory", RefusalKind::Invalid, &field, m);
    if before.is_none_or(|b| b.shape != after.shape) {
        territory
            .check_shape(&after.shape)
            .map_err(|m| outside("geometry".into(), m))?;
    }
    for (i, p) in after.props.reference_points.iter().enumerate() {
        if before.is_some_and(|b| b.props.reference_points.contains(p)) {
            continue;
        }
        territory
            .check_position(p[0], p[1])
            .map_err(|m| outside(format!("properties.reference_points[{i}]"), m))?;
    }
    Ok(())
}

fn org_name(o: Option<&str>) -> String {
    o.map(|o| format!("organisation {o:?}"))
        .unwrap_or_else(|| "no organisation".into())
}

fn check_role(
    command: Command,
    actor: Actor<'_>,
    before: Option<&HazardArea>,
    after: &HazardArea,
) -> Result<(), Refusal> {
    if command == Command::Correct && actor.role == Role::Field {
        return Err(refuse(
            "correction-by-officer",
            RefusalKind::Forbidden,
            "command",
            "a correction that may weaken a hazard is an information officer's decision; a field user's token cannot make one",
        ));
    }
    if actor.role != Role::Field {
        return Ok(());
    }
    let own = actor.organisation;
    if own.is_none() {
        return Err(refuse(
            "field-organisation",
            RefusalKind::Forbidden,
            "organisation",
            "a field user writes only records of their organisation, and this user has none (cairn user add --org)",
        ));
    }
    if let Some(b) = before
        && b.props.organisation.as_deref() != own
    {
        return Err(refuse(
            "field-organisation",
            RefusalKind::Forbidden,
            "organisation",
            format!(
                "{} belongs to {}; a field user writes only records of their own ({})",
                b.id,
                org_name(b.props.organisation.as_deref()),
                org_name(own)
            ),
        ));
    }
    if after.props.organisation.as_deref() != own {
        return Err(refuse(
            "field-organisation",
            RefusalKind::Forbidden,
            "properties.organisation",
            format!(
                "a field user writes only records of their own ({}), not of {}",
                org_name(own),
                org_name(after.props.organisation.as_deref())
            ),
        ));
    }
    if after.props.classification == Classification::Public
        && before.is_none_or(|b| b.props.classification != Classification::Public)
    {
        return Err(refuse(
            "publish-by-officer",
            RefusalKind::Forbidden,
            "properties.classification",
            "publishing a record (public) is for information officers; a field user's records stay restricted until an officer publishes them",
        ));
    }
    Ok(())
}

fn release_only(to: Status) -> Refusal {
    refuse(
        "release-by-activity",
        RefusalKind::Conflict,
        "properties.status",
        format!(
            "{to} is reached only by land release on the evidence of an activity (cairn release, POST /api/releases), never set by an edit"
        ),
    )
}

fn check_new(command: Command, after: &HazardArea) -> Result<(), Refusal> {
    let s = after.props.status;
    if command == Command::Migrate {
        // Existing national data may arrive in any state, marked as imported with its provenance.
        return Ok(());
    }
    if s.is_release() {
        return Err(release_only(s));
    }
    check_evidence(after)
}

/// Confirmed needs direct evidence; suspected needs evidence of some kind when set by an edit.
fn check_evidence(after: &HazardArea) -> Result<(), Refusal> {
    if after.props.status == Status::Confirmed
        && after
            .props
            .evidence
            .as_ref()
            .is_none_or(|e| e.kind != EvidenceKind::Direct)
    {
        return Err(refuse(
            "confirmed-needs-direct-evidence",
            RefusalKind::Invalid,
            "properties.evidence",
            format!(
                "confirmed needs direct evidence (an item seen or found, an accident); the evidence given is {}",
                after
                    .props
                    .evidence
                    .as_ref()
                    .map(|e| e.kind.as_str())
                    .unwrap_or("none")
            ),
        ));
    }
    Ok(())
}

fn check_change(command: Command, b: &HazardArea, after: &HazardArea) -> Result<(), Refusal> {
    let (from, to) = (b.props.status, after.props.status);
    if from != to {
        if matches!(from, Status::Cancelled | Status::Cleared | Status::Closed) {
            return Err(refuse(
                "released-stays-released",
                RefusalKind::Conflict,
                "properties.status",
                format!(
                    "{} is {from}: its land was released and handed over; an item found there is recorded as a post-release find (cairn find, POST /api/releases/{{id}}/finds), which opens a new area",
                    b.id
                ),
            ));
        }
        if to.is_release() {
            return Err(release_only(to));
        }
        let (Some(f), Some(t)) = (from.strength(), to.strength()) else {
            return Err(release_only(to));
        };
        if t > f {
            check_evidence(after)?;
            if to == Status::Suspected && after.props.evidence.is_none() {
                return Err(refuse(
                    "suspected-needs-evidence",
                    RefusalKind::Invalid,
                    "properties.evidence",
                    "suspicion needs evidence (indirect is enough): give evidence with kind and description",
                ));
            }
        }
    }
    if to == Status::Confirmed && (from != to || b.props.evidence != after.props.evidence) {
        check_evidence(after)?;
    }
    let weaker = weakenings(b, after);
    if !weaker.is_empty() && command != Command::Correct {
        return Err(refuse(
            "weakening-needs-correction",
            RefusalKind::Conflict,
            weaker[0].0,
            format!(
                "this change weakens hazard {}: {}; an edit may add to a hazard but never take from it. An information officer records a correction with a reason instead (cairn correct, POST /api/areas/{}/corrections)",
                b.id,
                weaker
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                b.id
            ),
        ));
    }
    Ok(())
}

/// Every way `after` says less of a hazard than `before`, each with the field it concerns:
/// a lower status, an outline that no longer covers the old one, fewer devices of a type (an
/// unknown quantity counts as more than any number), public → restricted, direct evidence
/// taken from a confirmed record.
pub fn weakenings(before: &HazardArea, after: &HazardArea) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let (from, to) = (before.props.status, after.props.status);
    if let (Some(f), Some(t)) = (from.strength(), to.strength())
        && t < f
    {
        out.push((
            "properties.status",
            format!("status {from} → {to} is lower"),
        ));
    }
    if before.shape != after.shape {
        let old = shape_polygons(&before.shape);
        let new = shape_polygons(&after.shape);
        let lost = without_slivers(old.difference(&new));
        let lost_m2 = area_m2(&lost);
        if lost_m2 >= SLIVER_M2 {
            out.push((
                "geometry",
                format!(
                    "the new outline leaves {lost_m2:.1} m² of the old one uncovered (smaller or moved)"
                ),
            ));
        }
    }
    fn counts(a: &HazardArea) -> BTreeMap<&str, Option<u64>> {
        let mut m: BTreeMap<&str, Option<u64>> = BTreeMap::new();
        for g in &a.props.devices {
            let e = m.entry(g.device_type.as_str()).or_insert(Some(0));
            *e = match (*e, g.quantity) {
                (Some(x), Some(q)) => Some(x.saturating_add(q)),
                _ => None,
            };
        }
        m
    }
    let (old, new) = (counts(before), counts(after));
    for (t, n) in &old {
        let fewer = match (n, new.get(t)) {
            (_, None) => true,
            (None, Some(Some(_))) => true,
            (Some(a), Some(Some(b))) => b < a,
            (_, Some(None)) => false,
        };
        if fewer {
            let say = |q: Option<&Option<u64>>| match q {
                None => "none".to_string(),
                Some(None) => "an unknown number".to_string(),
                Some(Some(n)) => n.to_string(),
            };
            out.push((
                "properties.devices",
                format!(
                    "devices of type {t}: {} → {}",
                    say(Some(n)),
                    say(new.get(t))
                ),
            ));
        }
    }
    if before.props.classification == Classification::Public
        && after.props.classification == Classification::Restricted
    {
        out.push((
            "properties.classification",
            "public → restricted hides the record's outline and detail from the public".into(),
        ));
    }
    if to == Status::Confirmed
        && before
            .props
            .evidence
            .as_ref()
            .is_some_and(|e| e.kind == EvidenceKind::Direct)
        && after
            .props
            .evidence
            .as_ref()
            .is_none_or(|e| e.kind != EvidenceKind::Direct)
    {
        out.push((
            "properties.evidence",
            "the direct evidence of a confirmed record is taken away".into(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::{AreaProperties, DeviceGroup, Evidence, Shape};
    use geo_types::{Point, polygon};

    fn area(status: Status, kind: Option<EvidenceKind>) -> HazardArea {
        HazardArea {
            id: "HA-000001".into(),
            shape: Shape::Polygon(polygon![
                (x: 36.0, y: 49.9), (x: 36.01, y: 49.9), (x: 36.01, y: 49.91), (x: 36.0, y: 49.91)
            ]),
            props: AreaProperties {
                status,
                classification: Classification::Public,
                organisation: Some("Org A".into()),
                evidence: kind.map(|kind| Evidence {
                    kind,
                    description: Some("seen".into()),
                    source: None,
                }),
                devices: vec![DeviceGroup {
                    device_type: "ap-mine-persistent".into(),
                    quantity: Some(10),
                    emplaced_from: None,
                    emplaced_to: None,
                    how_known: None,
                }],
                name: None,
                reference_points: vec![],
                marking: None,
                reported_at: None,
                emplacement: None,
                extra: Default::default(),
            },
        }
    }

    const OFFICER: Actor<'static> = Actor {
        role: Role::Officer,
        organisation: None,
    };
    const FIELD: Actor<'static> = Actor {
        role: Role::Field,
        organisation: Some("Org A"),
    };

    fn ua() -> std::sync::Arc<Territory> {
        Territory::ukraine()
    }

    fn rule(r: Result<(), Refusal>) -> &'static str {
        r.err().map(|e| e.rule).unwrap_or("allowed")
    }

    #[test]
    fn transitions_follow_domain_md() {
        use Status::*;
        let direct = Some(EvidenceKind::Direct);
        let indirect = Some(EvidenceKind::Indirect);
        let cases = [
            (Reported, Suspected, indirect, "allowed"),
            (Reported, Confirmed, direct, "allowed"),
            (Suspected, Confirmed, direct, "allowed"),
            (
                Suspected,
                Confirmed,
                indirect,
                "confirmed-needs-direct-evidence",
            ),
            (Reported, Suspected, None, "suspected-needs-evidence"),
            (Confirmed, Suspected, direct, "weakening-needs-correction"),
            (Confirmed, Reported, direct, "weakening-needs-correction"),
            (Confirmed, Cleared, direct, "release-by-activity"),
            (Confirmed, Closed, direct, "release-by-activity"),
            (Suspected, Cancelled, indirect, "release-by-activity"),
            (Confirmed, Reduced, direct, "release-by-activity"),
            (Closed, Confirmed, direct, "released-stays-released"),
            (Cleared, Suspected, indirect, "released-stays-released"),
            (Reduced, Confirmed, direct, "allowed"),
        ];
        for (from, to, ev, want) in cases {
            let b = area(from, ev);
            let mut a = b.clone();
            a.props.status = to;
            assert_eq!(
                rule(check(Command::Edit, OFFICER, Some(&b), &a, &ua())),
                want,
                "{from} → {to}"
            );
        }
    }

    #[test]
    fn a_correction_may_weaken_but_not_release() {
        let b = area(Status::Confirmed, Some(EvidenceKind::Direct));
        let mut a = b.clone();
        a.props.status = Status::Suspected;
        assert_eq!(
            rule(check(Command::Correct, OFFICER, Some(&b), &a, &ua())),
            "allowed"
        );
        assert_eq!(
            rule(check(Command::Correct, FIELD, Some(&b), &a, &ua())),
            "correction-by-officer"
        );
        a.props.status = Status::Closed;
        assert_eq!(
            rule(check(Command::Correct, OFFICER, Some(&b), &a, &ua())),
            "release-by-activity"
        );
    }

    #[test]
    fn weakening_edits_are_found() {
        let b = area(Status::Confirmed, Some(EvidenceKind::Direct));
        let edit = |f: &dyn Fn(&mut HazardArea)| {
            let mut a = b.clone();
            f(&mut a);
            rule(check(Command::Edit, OFFICER, Some(&b), &a, &ua()))
        };
        assert_eq!(edit(&|_| {}), "allowed");
        assert_eq!(edit(&|a| a.props.name = Some("x".into())), "allowed");
        assert_eq!(edit(&|a| a.props.devices[0].quantity = Some(11)), "allowed");
        assert_eq!(edit(&|a| a.props.devices[0].quantity = None), "allowed");
        assert_eq!(
            edit(&|a| a.props.devices[0].quantity = Some(9)),
            "weakening-needs-correction"
        );
        assert_eq!(
            edit(&|a| a.props.devices.clear()),
            "weakening-needs-correction"
        );
        assert_eq!(
            edit(&|a| a.props.classification = Classification::Restricted),
            "weakening-needs-correction"
        );
        assert_eq!(
            edit(&|a| a.props.evidence.as_mut().unwrap().kind = EvidenceKind::Indirect),
            "confirmed-needs-direct-evidence"
        );
        // A larger outline is fine; a smaller or moved one is not.
        assert_eq!(
            edit(&|a| a.shape = Shape::Polygon(polygon![
                (x: 35.99, y: 49.89), (x: 36.02, y: 49.89), (x: 36.02, y: 49.92), (x: 35.99, y: 49.92)
            ])),
            "allowed"
        );
        assert_eq!(
            edit(&|a| a.shape = Shape::Polygon(polygon![
                (x: 36.0, y: 49.9), (x: 36.005, y: 49.9), (x: 36.005, y: 49.91), (x: 36.0, y: 49.91)
            ])),
            "weakening-needs-correction"
        );
        assert_eq!(
            edit(&|a| a.shape = Shape::Spot {
                at: Point::new(36.005, 49.905),
                radius_m: 10.0
            }),
            "weakening-needs-correction"
        );
    }

    #[test]
    fn new_records_and_ids() {
        let mut a = area(Status::Closed, Some(EvidenceKind::Direct));
        assert_eq!(
            rule(check(Command::Migrate, OFFICER, None, &a, &ua())),
            "allowed"
        );
        assert_eq!(
            rule(check(Command::Create, OFFICER, None, &a, &ua())),
            "release-by-activity"
        );
        a.props.status = Status::Confirmed;
        a.props.evidence.as_mut().unwrap().kind = EvidenceKind::Indirect;
        assert_eq!(
            rule(check(Command::Create, OFFICER, None, &a, &ua())),
            "confirmed-needs-direct-evidence"
        );
        a.props.status = Status::Reported;
        assert_eq!(
            rule(check(Command::Create, OFFICER, None, &a, &ua())),
            "allowed"
        );
        a.id = "zone-3600-4990-3601-4991".into();
        assert_eq!(
            rule(check(Command::Migrate, OFFICER, None, &a, &ua())),
            "id-namespace"
        );
    }

    #[test]
    fn field_users_stay_in_their_organisation_and_never_publish() {
        let mut a = area(Status::Reported, None);
        a.props.classification = Classification::Restricted;
        assert_eq!(
            rule(check(Command::Create, FIELD, None, &a, &ua())),
            "allowed"
        );
        a.props.classification = Classification::Public;
        assert_eq!(
            rule(check(Command::Create, FIELD, None, &a, &ua())),
            "publish-by-officer"
        );
        a.props.classification = Classification::Restricted;
        a.props.organisation = Some("Org B".into());
        assert_eq!(
            rule(check(Command::Create, FIELD, None, &a, &ua())),
            "field-organisation"
        );
        let b = area(Status::Confirmed, Some(EvidenceKind::Direct));
        let mut lower = b.clone();
        lower.props.status = Status::Reported;
        assert_eq!(
            rule(check(Command::Edit, FIELD, Some(&b), &lower, &ua())),
            "weakening-needs-correction"
        );
    }

    #[test]
    fn positions_outside_the_territory_are_refused_at_every_command() {
        let ok = area(Status::Confirmed, Some(EvidenceKind::Direct));
        let mut swapped = ok.clone();
        swapped.shape = Shape::Spot {
            at: Point::new(49.9, 36.0),
            radius_m: 20.0,
        };
        for command in [
            Command::Create,
            Command::Migrate,
            Command::Edit,
            Command::Correct,
        ] {
            let before = matches!(command, Command::Edit | Command::Correct).then_some(&ok);
            let r = check(command, OFFICER, before, &swapped, &ua()).unwrap_err();
            assert_eq!((r.rule, r.field.as_str()), ("territory", "geometry"));
            assert!(
                r.message.contains("latitude and longitude look swapped"),
                "{r}"
            );
        }
        let mut far_point = ok.clone();
        far_point.props.reference_points = vec![[36.0, 49.9], [2.35, 48.85]];
        let r = check(Command::Migrate, OFFICER, None, &far_point, &ua()).unwrap_err();
        assert_eq!(r.field, "properties.reference_points[1]");
        assert!(!r.message.contains("swapped"), "{r}");
        // An unchanged outside shape is not checked again (a territory narrowed later).
        let elsewhere = Territory::new(
            "elsewhere",
            geo_types::MultiPolygon(vec![polygon![
                (x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)
            ]]),
        )
        .unwrap();
        let mut renamed = ok.clone();
        renamed.props.name = Some("renamed".into());
        assert_eq!(
            rule(check(
                Command::Edit,
                OFFICER,
                Some(&ok),
                &renamed,
                &elsewhere
            )),
            "allowed"
        );
        assert_eq!(
            rule(check(Command::Migrate, OFFICER, None, &ok, &elsewhere)),
            "territory"
        );
    }
}
