//! The store's own commands, once for every backend: activities, land release, post-release
//! finds, status changes, zones and accidents, and the readers of those records. Each command
//! checks its input, begins a backend's write transaction (`CommandStore::begin_tx`), reads what
//! it needs under that transaction's lock, applies `cairn_core`'s rules and writes its records
//! and the area's new revision in one changeset; a refused or failed request writes nothing
//! (dropping the transaction rolls it back). A backend supplies the primitives (`CommandTx`,
//! `CommandStore`): a record's head, records by a property, counters, and writes.

use cairn_core::accident::{Accident, AccidentFacts, validate_accident};
use cairn_core::release::{
    Activity, FIND_RADIUS_M, Find, FindFacts, Release, ReleaseFacts, area_after, area_for_find,
    check_find_place, check_transition, plan_release,
};
use cairn_core::validate::validate_shape;
use cairn_core::zone::{Zone, ZoneFacts, validate_zone};
use cairn_core::{Catalogue, Evidence, HazardArea, Problem, Shape, Status, WireEnum};
use chrono::{Datelike, Utc};
use geo_types::{Geometry, MultiPolygon, Point};

use crate::records::{
    ACCIDENT, ACTIVITY, AREA, FIND, RELEASE, TERRITORY, TERRITORY_ID, ZONE, accident_of,
    activity_of, corrupt, find_of, json, now, release_of, zone_of,
};
use crate::sqlite::catalogue::{
    self, CatalogueImport, CatalogueImportError, TypeChange, TypeChangeKind,
};
use crate::sqlite::release::{
    FindOutcome, FindRequest, NewActivity, ReleaseError, ReleaseOutcome, ReleaseRequest,
};
use crate::sqlite::zones::RecordRevision;
use crate::{ChangeMeta, ChangeSummary, PutOutcome, StoreError, WriteError, Writer};
use cairn_core::command::{Actor, Command};
use cairn_core::territory::Territory;
use std::sync::Arc;

/// A record's current geometry and JSON; with its id where several are listed.
pub(crate) type RecordRow = (String, Geometry<f64>, String);

/// A backend's open write transaction, as the store's own commands use it.
pub(crate) trait CommandTx: Writer {
    /// Where this transaction keeps the territory once read (`territory`).
    fn territory_slot(&mut self) -> &mut Option<Arc<Territory>>;

    /// The current geometry and JSON of a record of `kind`, as this transaction sees it.
    fn record_head(
        &mut self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(Geometry<f64>, String)>, StoreError>;

    /// Every current record of `kind` whose property `field` is `value`, in id order.
    fn records_where(
        &mut self,
        kind: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordRow>, StoreError>;

    /// The next number of a counter (`activity_id`, `release_id`, `find_id`, `accident_id`).
    fn next_number(&mut self, counter: &str) -> Result<i64, StoreError>;

    /// Writes a new revision of a record that is not a hazardous area.
    fn put_record(
        &mut self,
        kind: &str,
        id: &str,
        geometry: &Geometry<f64>,
        props: &str,
    ) -> Result<(), StoreError>;

    /// Stores `area`, naming the `command` that wrote it in its revision (none for `put_area`);
    /// `known_new` when the caller has just found no record of its id, so the head need not be
    /// read again (an import is mostly new records).
    fn put_by(
        &mut self,
        command: Option<&'static str>,
        area: &HazardArea,
        known_new: bool,
    ) -> Result<PutOutcome, StoreError>;

    /// Advances the transaction's area id counter and returns its new value.
    fn bump_area_number(&mut self) -> i64;

    /// Stores `area` as written by the store's own `command` (release, find, status, triage),
    /// whose rules the caller has checked.
    fn put_area_by(
        &mut self,
        command: &'static str,
        area: &HazardArea,
    ) -> Result<PutOutcome, StoreError> {
        self.put_by(Some(command), area, false)
    }

    /// Counts a record left alone because it was equal.
    fn count_unchanged(&mut self);

    /// The catalogue version in force now, as this transaction sees it: number and text.
    fn catalogue_in_force(&mut self) -> Result<Option<(i64, String)>, StoreError>;

    /// One current area whose devices name `device_type`, if any.
    fn area_using(&mut self, device_type: &str) -> Result<Option<String>, StoreError>;

    /// Writes catalogue version `version` in this changeset (counted as an update, so the
    /// changeset is kept).
    fn insert_catalogue_version(&mut self, version: i64, toml: &str) -> Result<(), StoreError>;
}

/// A backend, as the store's own commands use it.
pub(crate) trait CommandStore {
    type Tx<'a>: CommandTx
    where
        Self: 'a;

    /// Starts a write transaction attributed to `meta`.
    fn begin_tx(&mut self, meta: ChangeMeta) -> Result<Self::Tx<'_>, StoreError>;

    /// The current geometry and JSON of a record of `kind`.
    fn record_head(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(Geometry<f64>, String)>, StoreError>;

    /// Every current record of `kind` whose property `field` is `value`, in id order.
    fn records_where(
        &self,
        kind: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordRow>, StoreError>;

    /// Every current record of `kind`, in id order.
    fn current_records(&self, kind: &str) -> Result<Vec<RecordRow>, StoreError>;

    /// Every revision of a record that is not an area, oldest first (`ZoneStore::record_history`).
    fn revisions_of(&self, kind: &str, id: &str) -> Result<Vec<RecordRevision>, StoreError>;
}

/// `Writer::write_area`, the one door: reads the record `area` replaces under the transaction's
/// lock, checks `command` by `actor` (an import's `Migrate` over an existing record is checked as
/// an `Edit`), and stores it with the command named in its revision. A refusal writes nothing.
pub(crate) fn write_area(
    w: &mut impl CommandTx,
    command: Command,
    actor: Actor<'_>,
    area: &HazardArea,
) -> Result<PutOutcome, WriteError> {
    let before = w.current_area(&area.id)?;
    let command = match (command, &before) {
        (Command::Migrate, Some(_)) => Command::Edit,
        (c, _) => c,
    };
    // The same ground sent in another form (a polygon as a multipolygon of one part, as GIS
    // clients get every hazard) keeps the stored form: such a write changes nothing.
    let kept;
    let area = match &before {
        Some(b)
            if b.area.shape != area.shape
                && cairn_core::footprint::same_ground(&b.area.shape, &area.shape) =>
        {
            kept = HazardArea {
                shape: b.area.shape.clone(),
                ..area.clone()
            };
            &kept
        }
        _ => area,
    };
    let territory = territory(w)?;
    cairn_core::command::check(
        command,
        actor,
        before.as_ref().map(|b| &b.area),
        area,
        &territory,
    )?;
    Ok(w.put_by(Some(command.as_str()), area, before.is_none())?)
}

/// The store's territory of operations as `w` sees it, read once per transaction: the record of
/// kind `territory` when one was set, else the default (`Territory::ukraine`).
pub(crate) fn territory(w: &mut impl CommandTx) -> Result<Arc<Territory>, StoreError> {
    if let Some(t) = w.territory_slot().clone() {
        return Ok(t);
    }
    let t = match w.record_head(TERRITORY, TERRITORY_ID)? {
        Some((g, p)) => Arc::new(territory_of(g, &p)?),
        None => Territory::ukraine(),
    };
    *w.territory_slot() = Some(t.clone());
    Ok(t)
}

/// The territory record's facts: its name.
#[derive(serde::Serialize, serde::Deserialize)]
struct TerritoryFacts {
    name: String,
}

fn territory_of(g: Geometry<f64>, props: &str) -> Result<Territory, StoreError> {
    let facts: TerritoryFacts = serde_json::from_str(props)
        .map_err(|e| corrupt(TERRITORY_ID, format!("territory: {e}")))?;
    let outline = match g {
        Geometry::MultiPolygon(m) => m,
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        _ => return Err(corrupt(TERRITORY_ID, "territory: not a polygon")),
    };
    Territory::new(&facts.name, outline).map_err(|m| corrupt(TERRITORY_ID, m))
}

/// `ZoneStore::territory`: the territory in force now.
pub(crate) fn current_territory(s: &impl CommandStore) -> Result<Arc<Territory>, StoreError> {
    Ok(match s.record_head(TERRITORY, TERRITORY_ID)? {
        Some((g, p)) => Arc::new(territory_of(g, &p)?),
        None => Territory::ukraine(),
    })
}

/// `ZoneStore::set_territory`: records `t` as the territory of operations, in a changeset of its
/// own (nothing when it is the one in force).
pub(crate) fn set_territory(
    s: &mut impl CommandStore,
    t: &Territory,
    meta: ChangeMeta,
) -> Result<ChangeSummary, StoreError> {
    let mut w = s.begin_tx(meta)?;
    if *territory(&mut w)? == *t {
        w.count_unchanged();
        return commit(w);
    }
    let props = serde_json::to_string(&TerritoryFacts {
        name: t.name().to_string(),
    })
    .map_err(|e| corrupt(TERRITORY_ID, e.to_string()))?;
    w.put_record(
        TERRITORY,
        TERRITORY_ID,
        &Geometry::MultiPolygon(t.outline().clone()),
        &props,
    )?;
    commit(w)
}

/// `Writer::new_area_id`: the next `HA-nnnnnn` not used by any record, this transaction included.
pub(crate) fn new_area_id(w: &mut impl CommandTx) -> Result<String, StoreError> {
    loop {
        let id = format!("HA-{:06}", w.bump_area_number());
        if !w.area_exists(&id)? {
            return Ok(id);
        }
    }
}

fn commit(w: impl CommandTx) -> Result<ChangeSummary, StoreError> {
    Box::new(w).commit()
}

fn decode_all<T>(
    rows: Vec<RecordRow>,
    f: fn(String, Geometry<f64>, &str) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(|(id, g, p)| f(id, g, &p)).collect()
}

fn one<T>(
    row: Option<(Geometry<f64>, String)>,
    id: &str,
    f: fn(String, Geometry<f64>, &str) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    row.map(|(g, p)| f(id.to_string(), g, &p)).transpose()
}

fn sort_releases(mut v: Vec<Release>) -> Vec<Release> {
    v.sort_by_key(|a| a.facts.released_at);
    v
}

fn no_area(field: &str, id: &str) -> ReleaseError {
    ReleaseError::NotFound(Problem::new(
        field,
        format!("there is no hazardous area {id}"),
    ))
}

/// Checks the topology of a request's polygon; problems name `geometry...`.
fn check_geometry(g: &MultiPolygon<f64>) -> Result<(), ReleaseError> {
    let mut problems = Vec::new();
    validate_shape(&Shape::MultiPolygon(g.clone()), &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ReleaseError::Invalid(problems))
    }
}

// ---------------------------------------------------------------------------------------------
// Readers.

pub(crate) fn get_activity(
    s: &impl CommandStore,
    id: &str,
) -> Result<Option<Activity>, StoreError> {
    one(s.record_head(ACTIVITY, id)?, id, activity_of)
}

pub(crate) fn activities_for_area(
    s: &impl CommandStore,
    area_id: &str,
) -> Result<Vec<Activity>, StoreError> {
    decode_all(s.records_where(ACTIVITY, "area_id", area_id)?, activity_of)
}

pub(crate) fn get_release(s: &impl CommandStore, id: &str) -> Result<Option<Release>, StoreError> {
    one(s.record_head(RELEASE, id)?, id, release_of)
}

pub(crate) fn releases_for_area(
    s: &impl CommandStore,
    area_id: &str,
) -> Result<Vec<Release>, StoreError> {
    Ok(sort_releases(decode_all(
        s.records_where(RELEASE, "area_id", area_id)?,
        release_of,
    )?))
}

pub(crate) fn finds_for_release(
    s: &impl CommandStore,
    release_id: &str,
) -> Result<Vec<Find>, StoreError> {
    decode_all(s.records_where(FIND, "release_id", release_id)?, find_of)
}

pub(crate) fn all_activities(s: &impl CommandStore) -> Result<Vec<Activity>, StoreError> {
    decode_all(s.current_records(ACTIVITY)?, activity_of)
}

pub(crate) fn all_releases(s: &impl CommandStore) -> Result<Vec<Release>, StoreError> {
    decode_all(s.current_records(RELEASE)?, release_of)
}

pub(crate) fn all_finds(s: &impl CommandStore) -> Result<Vec<Find>, StoreError> {
    decode_all(s.current_records(FIND)?, find_of)
}

pub(crate) fn zones(s: &impl CommandStore) -> Result<Vec<Zone>, StoreError> {
    decode_all(s.current_records(ZONE)?, zone_of)
}

pub(crate) fn get_zone(s: &impl CommandStore, id: &str) -> Result<Option<Zone>, StoreError> {
    one(s.record_head(ZONE, id)?, id, zone_of)
}

pub(crate) fn accidents(s: &impl CommandStore) -> Result<Vec<Accident>, StoreError> {
    decode_all(s.current_records(ACCIDENT)?, accident_of)
}

pub(crate) fn get_accident(
    s: &impl CommandStore,
    id: &str,
) -> Result<Option<Accident>, StoreError> {
    one(s.record_head(ACCIDENT, id)?, id, accident_of)
}

/// The transparency report for `period` in `edition`, from the store as it is now: every
/// activity, release, find, accident and zone, and the current areas one at a time.
pub(crate) fn transparency_report<S: crate::Store + crate::ZoneStore + crate::PeriodStore>(
    s: &S,
    catalogue: &Catalogue,
    period: cairn_core::transparency::Period,
    edition: cairn_core::transparency::Edition,
    generated_at: cairn_core::Timestamp,
) -> Result<cairn_core::transparency::Report, StoreError> {
    use cairn_core::transparency::{ReportBuilder, ReportInput};
    let zones = s.zones()?;
    let activities = s.all_activities()?;
    let releases = s.all_releases()?;
    let finds = s.all_finds()?;
    let accidents = s.accidents()?;
    let mut b = ReportBuilder::new(ReportInput {
        period,
        edition,
        catalogue,
        zones: &zones,
        activities: &activities,
        releases: &releases,
        finds: &finds,
        accidents: &accidents,
        generated_at,
    });
    s.for_each_area(None, &mut |a| {
        b.add_area(&a.area);
        Ok(())
    })?;
    Ok(b.finish())
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// Records an activity on an area, attributed to `by`.
pub(crate) fn add_activity(
    s: &mut impl CommandStore,
    new: &NewActivity,
    catalogue: &Catalogue,
    by: &str,
) -> Result<Activity, ReleaseError> {
    let mut problems = Vec::new();
    cairn_core::release::validate_activity(
        &new.facts,
        catalogue,
        Utc::now().date_naive(),
        &mut problems,
    );
    validate_shape(&Shape::MultiPolygon(new.geometry.clone()), &mut problems);
    if !problems.is_empty() {
        return Err(ReleaseError::Invalid(problems));
    }
    let meta = ChangeMeta {
        author: by.to_string(),
        reason: format!(
            "{} on area {} by {}",
            new.facts.kind.as_str(),
            new.facts.area_id,
            new.facts.organisation
        ),
        source: Some("activity".into()),
    };
    let mut w = s.begin_tx(meta)?;
    if w.current_area(&new.facts.area_id)?.is_none() {
        return Err(no_area("area_id", &new.facts.area_id));
    }
    let id = format!("ACT-{:06}", w.next_number("activity_id")?);
    let geometry = Geometry::MultiPolygon(new.geometry.clone());
    w.put_record(ACTIVITY, &id, &geometry, &json(&id, &new.facts)?)?;
    commit(w)?;
    Ok(Activity {
        id,
        facts: new.facts.clone(),
        geometry: new.geometry.clone(),
    })
}

/// Releases part of an area on the evidence of an activity, attributed to `by`: the release
/// record and the area's new revision (remaining geometry and status) in one changeset.
pub(crate) fn release_land(
    s: &mut impl CommandStore,
    req: &ReleaseRequest,
    by: &str,
) -> Result<ReleaseOutcome, ReleaseError> {
    check_geometry(&req.geometry)?;
    let meta = ChangeMeta {
        author: by.to_string(),
        reason: format!(
            "land release: {} of part of {} on the evidence of {}{}",
            req.method.as_str(),
            req.area_id,
            req.activity_id,
            req.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        source: Some("release".into()),
    };
    let mut w = s.begin_tx(meta)?;
    let area = w
        .current_area(&req.area_id)?
        .map(|a| a.area)
        .ok_or_else(|| no_area("area_id", &req.area_id))?;
    let activity = one(
        w.record_head(ACTIVITY, &req.activity_id)?,
        &req.activity_id,
        activity_of,
    )?
    .ok_or_else(|| {
        ReleaseError::NotFound(Problem::new(
            "activity_id",
            format!("there is no activity {}", req.activity_id),
        ))
    })?;
    let plan =
        plan_release(&area, &activity, req.method, &req.geometry).map_err(ReleaseError::Refused)?;
    let earlier: Vec<MultiPolygon<f64>> = if plan.remaining.is_none() {
        sort_releases(decode_all(
            w.records_where(RELEASE, "area_id", &area.id)?,
            release_of,
        )?)
        .into_iter()
        .map(|r| r.geometry)
        .collect()
    } else {
        Vec::new()
    };
    let n = w.next_number("release_id")?;
    let id = format!("LR-{n:06}");
    let released_at = now();
    let release = Release {
        facts: ReleaseFacts {
            area_id: area.id.clone(),
            method: req.method,
            activity_id: activity.id.clone(),
            by: by.to_string(),
            released_at,
            certificate: format!("HC-{}-{n:06}", released_at.year()),
            released_m2: plan.released_m2,
            before_m2: plan.before_m2,
            remaining_m2: plan.remaining_m2,
            status_before: area.props.status,
            status_after: plan.status_after,
            reason: req.reason.clone(),
        },
        geometry: plan.released.clone(),
        id,
    };
    w.put_record(
        RELEASE,
        &release.id,
        &Geometry::MultiPolygon(release.geometry.clone()),
        &json(&release.id, &release.facts)?,
    )?;
    let new_area = area_after(&area, &plan, &earlier);
    w.put_area_by("release", &new_area)?;
    let summary = commit(w)?;
    Ok(ReleaseOutcome {
        release,
        area: new_area,
        changeset: summary.changeset,
    })
}

/// Records an item found on released land, attributed to `by`, and opens a confirmed area of
/// [`FIND_RADIUS_M`] around it, in one changeset.
pub(crate) fn record_find(
    s: &mut impl CommandStore,
    req: &FindRequest,
    catalogue: &Catalogue,
    by: &str,
) -> Result<FindOutcome, ReleaseError> {
    let mut problems = Vec::new();
    if catalogue.get(&req.device_type).is_none() {
        problems.push(Problem::new(
            "type",
            format!(
                "unknown device type {:?}; the catalogue has {}",
                req.device_type,
                catalogue.known_ids()
            ),
        ));
    }
    if req.count == 0 {
        problems.push(Problem::new("count", "must be at least 1"));
    }
    if let Some(d) = req.depth_cm
        && !(d.is_finite() && (0.0..=1000.0).contains(&d))
    {
        problems.push(Problem::new(
            "depth_cm",
            format!("must be a depth from 0 to 1000 cm, not {d}"),
        ));
    }
    let [x, y] = [req.at.x(), req.at.y()];
    if !cairn_core::validate::position_ok([x, y]) || !x.is_finite() || !y.is_finite() {
        problems.push(Problem::new(
            "lon",
            format!("({x}, {y}) is not a WGS 84 longitude and latitude"),
        ));
    }
    if !problems.is_empty() {
        return Err(ReleaseError::Invalid(problems));
    }
    let meta = ChangeMeta {
        author: by.to_string(),
        reason: format!(
            "post-release find of {} × {} on land released by {}",
            req.count, req.device_type, req.release_id
        ),
        source: Some("post-release find".into()),
    };
    let mut w = s.begin_tx(meta)?;
    let release = one(
        w.record_head(RELEASE, &req.release_id)?,
        &req.release_id,
        release_of,
    )?
    .ok_or_else(|| {
        ReleaseError::NotFound(Problem::new(
            "release_id",
            format!("there is no land release {}", req.release_id),
        ))
    })?;
    check_find_place(&release, req.at).map_err(|p| ReleaseError::Invalid(vec![p]))?;
    let original = w
        .current_area(&release.facts.area_id)?
        .map(|a| a.area)
        .ok_or_else(|| corrupt(&release.id, "its area is missing"))?;
    let id = format!("PRF-{:06}", w.next_number("find_id")?);
    let area_id = w.new_area_id()?;
    let find = Find {
        facts: FindFacts {
            release_id: release.id.clone(),
            area_id: release.facts.area_id.clone(),
            device_type: req.device_type.clone(),
            count: req.count,
            depth_cm: req.depth_cm,
            description: req.description.clone(),
            by: by.to_string(),
            recorded_at: now(),
            opened_area: area_id.clone(),
            radius_m: FIND_RADIUS_M,
        },
        at: req.at,
        id,
    };
    w.put_record(
        FIND,
        &find.id,
        &Geometry::Point(find.at),
        &json(&find.id, &find.facts)?,
    )?;
    let area = area_for_find(area_id, &find, &original);
    w.put_area_by("find", &area)?;
    let summary = commit(w)?;
    Ok(FindOutcome {
        find,
        area,
        changeset: summary.changeset,
    })
}

/// Changes an area's status (reported → suspected → confirmed) when the evidence supports it,
/// attributed to `by` with `reason`.
pub(crate) fn change_status(
    s: &mut impl CommandStore,
    area_id: &str,
    to: Status,
    evidence: Option<&Evidence>,
    reason: &str,
    by: &str,
) -> Result<HazardArea, ReleaseError> {
    let meta = ChangeMeta {
        author: by.to_string(),
        reason: format!("status {}: {reason}", to.as_str()),
        source: Some("status".into()),
    };
    let mut w = s.begin_tx(meta)?;
    let mut area = w
        .current_area(area_id)?
        .map(|a| a.area)
        .ok_or_else(|| no_area("area_id", area_id))?;
    let activities = decode_all(w.records_where(ACTIVITY, "area_id", area_id)?, activity_of)?;
    let e = check_transition(&area, to, evidence, &activities).map_err(ReleaseError::Refused)?;
    area.props.status = to;
    area.props.evidence = e;
    w.put_area_by("status", &area)?;
    commit(w)?;
    Ok(area)
}

/// Writes zones in one changeset: new ids are created, changed ones get a new revision, equal
/// ones are left alone. Every zone is checked first; one bad zone writes nothing.
pub(crate) fn put_zones(
    s: &mut impl CommandStore,
    zones: &[Zone],
    meta: ChangeMeta,
) -> Result<ChangeSummary, ReleaseError> {
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, z) in zones.iter().enumerate() {
        let mut p = Vec::new();
        validate_zone(z, &mut p);
        if !seen.insert(z.id.as_str()) {
            p.push(Problem::new("id", format!("{} appears twice", z.id)));
        }
        problems.extend(
            p.into_iter()
                .map(|p| Problem::new(format!("zones[{i}] ({}).{}", z.id, p.field), p.message)),
        );
    }
    if !problems.is_empty() {
        return Err(ReleaseError::Invalid(problems));
    }
    let mut w = s.begin_tx(meta)?;
    for z in zones {
        let props = json(&z.id, &z.facts)?;
        let geometry = Geometry::MultiPolygon(z.geometry.clone());
        if let Some((g, p)) = w.record_head(ZONE, &z.id)?
            && g == geometry
            && serde_json::from_str::<ZoneFacts>(&p).ok().as_ref() == Some(&z.facts)
        {
            w.count_unchanged();
            continue;
        }
        w.put_record(ZONE, &z.id, &geometry, &props)?;
    }
    Ok(commit(w)?)
}

/// Records an accident, attributed to `by`. An `area_id` must name an existing area.
pub(crate) fn add_accident(
    s: &mut impl CommandStore,
    facts: &AccidentFacts,
    place: Point<f64>,
    catalogue: &Catalogue,
    by: &str,
) -> Result<Accident, ReleaseError> {
    let mut problems = Vec::new();
    validate_accident(facts, place, catalogue, Utc::now(), &mut problems);
    if !problems.is_empty() {
        return Err(ReleaseError::Invalid(problems));
    }
    let count = |o| facts.casualties.iter().filter(|c| c.outcome == o).count();
    let meta = ChangeMeta {
        author: by.to_string(),
        reason: format!(
            "accident on {} ({} killed, {} injured)",
            facts.occurred_at.date_naive(),
            count(cairn_core::accident::Outcome::Killed),
            count(cairn_core::accident::Outcome::Injured),
        ),
        source: Some("accident".into()),
    };
    let mut w = s.begin_tx(meta)?;
    if let Some(a) = &facts.area_id
        && w.record_head(AREA, a)?.is_none()
    {
        return Err(no_area("area_id", a));
    }
    let id = format!("AC-{:06}", w.next_number("accident_id")?);
    w.put_record(ACCIDENT, &id, &Geometry::Point(place), &json(&id, facts)?)?;
    commit(w)?;
    Ok(Accident {
        id,
        facts: facts.clone(),
        place,
    })
}

// ---------------------------------------------------------------------------------------------
// The device catalogue's history.

/// Every change to every device type, version by version (each version compared with the one
/// before it; every type of version 1 is `Added`), oldest first and by type id within a version.
pub(crate) fn catalogue_changes(
    s: &impl crate::CatalogueStore,
) -> Result<Vec<TypeChange>, StoreError> {
    let mut out = Vec::new();
    let mut before = Catalogue::from_toml("device_type = []")
        .map_err(|e| catalogue::corrupt(0, format!("the empty catalogue: {e}")))?;
    for v in s.catalogue_versions()? {
        let text = s
            .catalogue_text(v.version)?
            .ok_or_else(|| catalogue::corrupt(v.version, "missing"))?;
        let after = catalogue::parse(v.version, &text)?;
        let ids: std::collections::BTreeSet<&str> = before
            .iter()
            .chain(after.iter())
            .map(|t| t.id.as_str())
            .collect();
        for id in ids {
            let (b, a) = (before.get(id), after.get(id));
            let kind = match (b, a) {
                (None, Some(_)) => TypeChangeKind::Added,
                (Some(_), None) => TypeChangeKind::Removed,
                (Some(x), Some(y)) if x != y => TypeChangeKind::Changed,
                _ => continue,
            };
            out.push(TypeChange {
                version: v.clone(),
                kind,
                before: b.cloned(),
                after: a.cloned(),
            });
        }
        before = after;
    }
    Ok(out)
}

/// Writes `toml` as the next catalogue version, attributed to `meta`, when it parses, differs
/// from the version in force and keeps every device type the current areas use. Otherwise
/// nothing is written: an equal catalogue is `Unchanged`, anything else an error.
pub(crate) fn import_catalogue(
    s: &mut (impl CommandStore + crate::CatalogueStore),
    toml: &str,
    meta: ChangeMeta,
) -> Result<CatalogueImport, CatalogueImportError> {
    let new = Catalogue::from_toml(toml)?;
    let mut w = s.begin_tx(meta)?;
    // Read under the write transaction's lock: no other version or area can come between.
    let current = w.catalogue_in_force()?;
    if let Some((version, text)) = &current {
        let old = catalogue::parse(*version, text)?;
        if old == new {
            return Ok(CatalogueImport::Unchanged(*version));
        }
        for t in old.iter().filter(|t| new.get(&t.id).is_none()) {
            if let Some(area) = w.area_using(&t.id)? {
                return Err(CatalogueImportError::InUse {
                    device_type: t.id.clone(),
                    area,
                });
            }
        }
    }
    let version = current.map_or(0, |(v, _)| v) + 1;
    w.insert_catalogue_version(version, toml)?;
    let changeset = commit(w)?.changeset;
    let v = s
        .catalogue_versions()?
        .into_iter()
        .find(|v| v.version == version && v.changeset == changeset)
        .ok_or_else(|| catalogue::corrupt(version, "not found after it was written"))?;
    Ok(CatalogueImport::Written(v))
}

/// Every change to one device type, oldest first; empty when no version ever had it.
pub(crate) fn device_type_history(
    s: &impl crate::CatalogueStore,
    id: &str,
) -> Result<Vec<TypeChange>, StoreError> {
    Ok(catalogue_changes(s)?
        .into_iter()
        .filter(|c| {
            c.before
                .as_ref()
                .or(c.after.as_ref())
                .map(|t| t.id.as_str())
                == Some(id)
        })
        .collect())
}

/// Implements `ReleaseStore`, `ZoneStore` and `PeriodStore` for a backend (a `CommandStore`)
/// with this module's commands and readers: every backend gets the same, written once.
macro_rules! shared_stores {
    ($store:ty) => {
        impl $crate::ReleaseStore for $store {
            fn add_activity(
                &mut self,
                new: &$crate::sqlite::release::NewActivity,
                catalogue: &cairn_core::Catalogue,
                by: &str,
            ) -> Result<cairn_core::release::Activity, $crate::sqlite::release::ReleaseError> {
                $crate::commands::add_activity(self, new, catalogue, by)
            }

            fn get_activity(
                &self,
                id: &str,
            ) -> Result<Option<cairn_core::release::Activity>, $crate::StoreError> {
                $crate::commands::get_activity(self, id)
            }

            fn activities_for_area(
                &self,
                area_id: &str,
            ) -> Result<Vec<cairn_core::release::Activity>, $crate::StoreError> {
                $crate::commands::activities_for_area(self, area_id)
            }

            fn release_land(
                &mut self,
                req: &$crate::sqlite::release::ReleaseRequest,
                by: &str,
            ) -> Result<
                $crate::sqlite::release::ReleaseOutcome,
                $crate::sqlite::release::ReleaseError,
            > {
                $crate::commands::release_land(self, req, by)
            }

            fn get_release(
                &self,
                id: &str,
            ) -> Result<Option<cairn_core::release::Release>, $crate::StoreError> {
                $crate::commands::get_release(self, id)
            }

            fn releases_for_area(
                &self,
                area_id: &str,
            ) -> Result<Vec<cairn_core::release::Release>, $crate::StoreError> {
                $crate::commands::releases_for_area(self, area_id)
            }

            fn finds_for_release(
                &self,
                release_id: &str,
            ) -> Result<Vec<cairn_core::release::Find>, $crate::StoreError> {
                $crate::commands::finds_for_release(self, release_id)
            }

            fn record_find(
                &mut self,
                req: &$crate::sqlite::release::FindRequest,
                catalogue: &cairn_core::Catalogue,
                by: &str,
            ) -> Result<$crate::sqlite::release::FindOutcome, $crate::sqlite::release::ReleaseError>
            {
                $crate::commands::record_find(self, req, catalogue, by)
            }

            fn change_status(
                &mut self,
                area_id: &str,
                to: cairn_core::Status,
                evidence: Option<&cairn_core::Evidence>,
                reason: &str,
                by: &str,
            ) -> Result<cairn_core::HazardArea, $crate::sqlite::release::ReleaseError> {
                $crate::commands::change_status(self, area_id, to, evidence, reason, by)
            }
        }

        impl $crate::ZoneStore for $store {
            fn record_history(
                &self,
                kind: &str,
                id: &str,
            ) -> Result<Vec<$crate::sqlite::zones::RecordRevision>, $crate::StoreError> {
                $crate::commands::CommandStore::revisions_of(self, kind, id)
            }

            fn put_zones(
                &mut self,
                zones: &[cairn_core::zone::Zone],
                meta: $crate::ChangeMeta,
            ) -> Result<$crate::ChangeSummary, $crate::sqlite::release::ReleaseError> {
                $crate::commands::put_zones(self, zones, meta)
            }

            fn zones(&self) -> Result<Vec<cairn_core::zone::Zone>, $crate::StoreError> {
                $crate::commands::zones(self)
            }

            fn get_zone(
                &self,
                id: &str,
            ) -> Result<Option<cairn_core::zone::Zone>, $crate::StoreError> {
                $crate::commands::get_zone(self, id)
            }

            fn territory(
                &self,
            ) -> Result<std::sync::Arc<cairn_core::territory::Territory>, $crate::StoreError> {
                $crate::commands::current_territory(self)
            }

            fn set_territory(
                &mut self,
                territory: &cairn_core::territory::Territory,
                meta: $crate::ChangeMeta,
            ) -> Result<$crate::ChangeSummary, $crate::StoreError> {
                $crate::commands::set_territory(self, territory, meta)
            }

            fn add_accident(
                &mut self,
                facts: &cairn_core::accident::AccidentFacts,
                place: geo_types::Point<f64>,
                catalogue: &cairn_core::Catalogue,
                by: &str,
            ) -> Result<cairn_core::accident::Accident, $crate::sqlite::release::ReleaseError> {
                $crate::commands::add_accident(self, facts, place, catalogue, by)
            }

            fn accidents(&self) -> Result<Vec<cairn_core::accident::Accident>, $crate::StoreError> {
                $crate::commands::accidents(self)
            }

            fn get_accident(
                &self,
                id: &str,
            ) -> Result<Option<cairn_core::accident::Accident>, $crate::StoreError> {
                $crate::commands::get_accident(self, id)
            }
        }

        impl $crate::PeriodStore for $store {
            fn all_activities(
                &self,
            ) -> Result<Vec<cairn_core::release::Activity>, $crate::StoreError> {
                $crate::commands::all_activities(self)
            }

            fn all_releases(
                &self,
            ) -> Result<Vec<cairn_core::release::Release>, $crate::StoreError> {
                $crate::commands::all_releases(self)
            }

            fn all_finds(&self) -> Result<Vec<cairn_core::release::Find>, $crate::StoreError> {
                $crate::commands::all_finds(self)
            }

            fn transparency_report(
                &self,
                catalogue: &cairn_core::Catalogue,
                period: cairn_core::transparency::Period,
                edition: cairn_core::transparency::Edition,
                generated_at: cairn_core::Timestamp,
            ) -> Result<cairn_core::transparency::Report, $crate::StoreError> {
                $crate::commands::transparency_report(
                    self,
                    catalogue,
                    period,
                    edition,
                    generated_at,
                )
            }
        }
    };
}
pub(crate) use shared_stores;
