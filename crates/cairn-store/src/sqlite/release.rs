//! Activities, land releases, post-release finds and status changes in the SQLite store. Each is a
//! record in `revisions` (kind `activity`, `release`, `find`) written in a changeset attributed to
//! whoever did it, beside the new revision of the hazardous area it changes, in one transaction:
//! a refused or failed request leaves the store as it was. The rules are `cairn_core::release`'s.

use cairn_core::release::{
    Activity, ActivityFacts, FIND_RADIUS_M, Find, FindFacts, Release, ReleaseFacts, ReleaseMethod,
    area_after, area_for_find, check_find_place, check_transition, plan_release,
};
use cairn_core::validate::validate_shape;
use cairn_core::{Catalogue, Evidence, HazardArea, Problem, Shape, Status, WireEnum};
use chrono::{Datelike, Utc};
use geo::BoundingRect;
use geo_types::{Geometry, MultiPolygon, Point};
use rusqlite::{Connection, OptionalExtension, params};

use super::{AREA, SELECT_REV, SqliteStore, SqliteTx, from_micros, row_to_stored, to_micros};
use crate::{ChangeMeta, Op, StoreError, Writer, decode_wkb, encode_wkb};

pub(super) const ACTIVITY: &str = "activity";
pub(super) const RELEASE: &str = "release";
pub(super) const FIND: &str = "find";

/// An activity to record.
#[derive(Clone, Debug)]
pub struct NewActivity {
    pub facts: ActivityFacts,
    pub geometry: MultiPolygon<f64>,
}

/// A land release to make.
#[derive(Clone, Debug)]
pub struct ReleaseRequest {
    pub area_id: String,
    pub method: ReleaseMethod,
    pub activity_id: String,
    pub geometry: MultiPolygon<f64>,
    pub reason: Option<String>,
}

/// An item found on released land.
#[derive(Clone, Debug)]
pub struct FindRequest {
    pub release_id: String,
    pub at: Point<f64>,
    pub device_type: String,
    pub count: u64,
    pub depth_cm: Option<f64>,
    pub description: Option<String>,
}

/// Why a request was not carried out. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// A record the request names does not exist; the problem names the field.
    #[error("{0}")]
    NotFound(Problem),
    /// The input is malformed; every problem names its field.
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// The evidence or the area's state does not support the request.
    #[error("{0}")]
    Refused(Problem),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ReleaseError {
    fn from(e: rusqlite::Error) -> ReleaseError {
        ReleaseError::Store(e.into())
    }
}

/// A release as made: the release and the area's new revision.
#[derive(Clone, Debug)]
pub struct ReleaseOutcome {
    pub release: Release,
    pub area: HazardArea,
    pub changeset: i64,
}

/// A find as recorded, and the area it opened.
#[derive(Clone, Debug)]
pub struct FindOutcome {
    pub find: Find,
    pub area: HazardArea,
    pub changeset: i64,
}

pub(super) fn corrupt(id: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        id: id.to_string(),
        message: message.into(),
    }
}

pub(super) fn multipolygon(id: &str, g: Geometry<f64>) -> Result<MultiPolygon<f64>, StoreError> {
    match g {
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        Geometry::MultiPolygon(m) => Ok(m),
        _ => Err(corrupt(id, "geometry is not a polygon")),
    }
}

/// Reads the current (head) revision of a record of `kind`: its geometry and properties.
pub(super) fn head(
    conn: &Connection,
    kind: &str,
    id: &str,
) -> Result<Option<(Geometry<f64>, String)>, StoreError> {
    let row: Option<(Vec<u8>, String)> = conn
        .prepare_cached(
            "SELECT r.geom, r.props FROM heads h JOIN revisions r ON r.rev = h.rev WHERE h.kind = ?1 AND h.record_id = ?2",
        )?
        .query_row(params![kind, id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Ok(None),
        Some((g, p)) => Ok(Some((
            decode_wkb(&g).map_err(|e| corrupt(id, format!("geometry: {e}")))?,
            p,
        ))),
    }
}

/// Every current record of `kind` whose property `field` is `value`, in id order.
fn heads_where(
    conn: &Connection,
    kind: &str,
    field: &str,
    value: &str,
) -> Result<Vec<(String, Geometry<f64>, String)>, StoreError> {
    // The condition repeats the partial indexes' own (kind = '...') so SQLite uses them.
    let sql = format!(
        "SELECT r.record_id, r.geom, r.props FROM revisions r JOIN heads h ON h.rev = r.rev \
         WHERE r.kind = '{kind}' AND json_extract(r.props, '$.{field}') = ?1 ORDER BY r.record_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([value])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let g = decode_wkb(
            r.get_ref(1)?
                .as_blob()
                .map_err(|e| corrupt(&id, e.to_string()))?,
        )
        .map_err(|e| corrupt(&id, format!("geometry: {e}")))?;
        out.push((id, g, r.get(2)?));
    }
    Ok(out)
}

pub(super) fn activity_of(
    id: String,
    g: Geometry<f64>,
    props: &str,
) -> Result<Activity, StoreError> {
    let facts: ActivityFacts =
        serde_json::from_str(props).map_err(|e| corrupt(&id, format!("properties: {e}")))?;
    Ok(Activity {
        geometry: multipolygon(&id, g)?,
        facts,
        id,
    })
}

pub(super) fn release_of(id: String, g: Geometry<f64>, props: &str) -> Result<Release, StoreError> {
    let facts: ReleaseFacts =
        serde_json::from_str(props).map_err(|e| corrupt(&id, format!("properties: {e}")))?;
    Ok(Release {
        geometry: multipolygon(&id, g)?,
        facts,
        id,
    })
}

pub(super) fn find_of(id: String, g: Geometry<f64>, props: &str) -> Result<Find, StoreError> {
    let facts: FindFacts =
        serde_json::from_str(props).map_err(|e| corrupt(&id, format!("properties: {e}")))?;
    let Geometry::Point(at) = g else {
        return Err(corrupt(&id, "a find's geometry is not a point"));
    };
    Ok(Find { at, facts, id })
}

fn area_head(conn: &Connection, id: &str) -> Result<Option<HazardArea>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT_REV} JOIN heads h ON h.rev = r.rev WHERE h.kind = '{AREA}' AND h.record_id = ?1"
    ))?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(r) => Ok(Some(row_to_stored(r)?.area)),
        None => Ok(None),
    }
}

fn activities_of_area(conn: &Connection, area_id: &str) -> Result<Vec<Activity>, StoreError> {
    heads_where(conn, ACTIVITY, "area_id", area_id)?
        .into_iter()
        .map(|(id, g, p)| activity_of(id, g, &p))
        .collect()
}

fn releases_of_area(conn: &Connection, area_id: &str) -> Result<Vec<Release>, StoreError> {
    let mut v: Vec<Release> = heads_where(conn, RELEASE, "area_id", area_id)?
        .into_iter()
        .map(|(id, g, p)| release_of(id, g, &p))
        .collect::<Result<_, _>>()?;
    v.sort_by_key(|a| a.facts.released_at);
    Ok(v)
}

fn finds_of_release(conn: &Connection, release_id: &str) -> Result<Vec<Find>, StoreError> {
    heads_where(conn, FIND, "release_id", release_id)?
        .into_iter()
        .map(|(id, g, p)| find_of(id, g, &p))
        .collect()
}

/// The current time at the store's resolution (microseconds).
pub(super) fn now() -> cairn_core::Timestamp {
    let t = Utc::now();
    from_micros(to_micros(t)).unwrap_or(t)
}

impl SqliteTx<'_> {
    /// The next number of a counter (`activity_id`, `release_id`, `find_id`).
    pub(super) fn next_number(&mut self, counter: &str) -> Result<i64, StoreError> {
        Ok(self.tx.query_row(
            "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
            [counter],
            |r| r.get(0),
        )?)
    }

    /// Writes a new revision of a record that is not a hazardous area.
    pub(super) fn put_record(
        &mut self,
        kind: &str,
        id: &str,
        geometry: &Geometry<f64>,
        props: &str,
    ) -> Result<(), StoreError> {
        encode_wkb(geometry, &mut self.geom_buf).map_err(|e| StoreError::Encode {
            id: id.to_string(),
            message: e.to_string(),
        })?;
        let seq: Option<i64> = self
            .tx
            .prepare_cached("SELECT seq FROM heads WHERE kind = ?1 AND record_id = ?2")?
            .query_row(params![kind, id], |r| r.get(0))
            .optional()?;
        let (seq, op) = match seq {
            Some(s) => (s + 1, Op::Update),
            None => (1, Op::Create),
        };
        let bbox = geometry.bounding_rect();
        self.tx
            .prepare_cached(
                "INSERT INTO revisions (kind, record_id, seq, changeset, op, minx, miny, maxx, maxy, geom, props) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                kind,
                id,
                seq,
                self.changeset,
                if op == Op::Create { "create" } else { "update" },
                bbox.map(|b| b.min().x),
                bbox.map(|b| b.min().y),
                bbox.map(|b| b.max().x),
                bbox.map(|b| b.max().y),
                self.geom_buf,
                props
            ])?;
        let rev = self.tx.last_insert_rowid();
        self.tx
            .prepare_cached(
                "INSERT INTO heads (kind, record_id, rev, seq) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (kind, record_id) DO UPDATE SET rev = excluded.rev, seq = excluded.seq",
            )?
            .execute(params![kind, id, rev, seq])?;
        match op {
            Op::Create => self.summary.created += 1,
            Op::Update => self.summary.updated += 1,
        }
        Ok(())
    }
}

pub(super) fn json<T: serde::Serialize>(id: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Encode {
        id: id.to_string(),
        message: e.to_string(),
    })
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

impl crate::ReleaseStore for SqliteStore {
    /// Records an activity on an area, attributed to `by`.
    fn add_activity(
        &mut self,
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
        let mut w = self.begin(meta)?;
        let area = area_head(&w.tx, &new.facts.area_id)?;
        if area.is_none() {
            return Err(ReleaseError::NotFound(Problem::new(
                "area_id",
                format!("there is no hazardous area {}", new.facts.area_id),
            )));
        }
        let id = format!("ACT-{:06}", w.next_number("activity_id")?);
        let geometry = Geometry::MultiPolygon(new.geometry.clone());
        w.put_record(ACTIVITY, &id, &geometry, &json(&id, &new.facts)?)?;
        w.commit()?;
        Ok(Activity {
            id,
            facts: new.facts.clone(),
            geometry: new.geometry.clone(),
        })
    }

    /// One activity as it is now.
    fn get_activity(&self, id: &str) -> Result<Option<Activity>, StoreError> {
        head(&self.conn, ACTIVITY, id)?
            .map(|(g, p)| activity_of(id.to_string(), g, &p))
            .transpose()
    }

    /// Every activity recorded on an area, in id order.
    fn activities_for_area(&self, area_id: &str) -> Result<Vec<Activity>, StoreError> {
        activities_of_area(&self.conn, area_id)
    }

    /// Releases part of an area on the evidence of an activity, attributed to `by`: the release
    /// record and the area's new revision (remaining geometry and status) in one changeset.
    fn release_land(
        &mut self,
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
        let mut w = self.begin(meta)?;
        let area = area_head(&w.tx, &req.area_id)?.ok_or_else(|| {
            ReleaseError::NotFound(Problem::new(
                "area_id",
                format!("there is no hazardous area {}", req.area_id),
            ))
        })?;
        let activity = head(&w.tx, ACTIVITY, &req.activity_id)?
            .map(|(g, p)| activity_of(req.activity_id.clone(), g, &p))
            .transpose()?
            .ok_or_else(|| {
                ReleaseError::NotFound(Problem::new(
                    "activity_id",
                    format!("there is no activity {}", req.activity_id),
                ))
            })?;
        let plan = plan_release(&area, &activity, req.method, &req.geometry)
            .map_err(ReleaseError::Refused)?;
        let earlier: Vec<MultiPolygon<f64>> = if plan.remaining.is_none() {
            releases_of_area(&w.tx, &area.id)?
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
        let summary = w.commit()?;
        Ok(ReleaseOutcome {
            release,
            area: new_area,
            changeset: summary.changeset,
        })
    }

    /// One release.
    fn get_release(&self, id: &str) -> Result<Option<Release>, StoreError> {
        head(&self.conn, RELEASE, id)?
            .map(|(g, p)| release_of(id.to_string(), g, &p))
            .transpose()
    }

    /// Every release of an area, oldest first.
    fn releases_for_area(&self, area_id: &str) -> Result<Vec<Release>, StoreError> {
        releases_of_area(&self.conn, area_id)
    }

    /// Every item found on the land of a release.
    fn finds_for_release(&self, release_id: &str) -> Result<Vec<Find>, StoreError> {
        finds_of_release(&self.conn, release_id)
    }

    /// Records an item found on released land, attributed to `by`, and opens a confirmed area
    /// of [`FIND_RADIUS_M`] around it, in one changeset.
    fn record_find(
        &mut self,
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
        let mut w = self.begin(meta)?;
        let release = head(&w.tx, RELEASE, &req.release_id)?
            .map(|(g, p)| release_of(req.release_id.clone(), g, &p))
            .transpose()?
            .ok_or_else(|| {
                ReleaseError::NotFound(Problem::new(
                    "release_id",
                    format!("there is no land release {}", req.release_id),
                ))
            })?;
        check_find_place(&release, req.at).map_err(|p| ReleaseError::Invalid(vec![p]))?;
        let original = area_head(&w.tx, &release.facts.area_id)?
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
        let summary = w.commit()?;
        Ok(FindOutcome {
            find,
            area,
            changeset: summary.changeset,
        })
    }

    /// Changes an area's status (reported → suspected → confirmed) when the evidence supports
    /// it, attributed to `by` with `reason`.
    fn change_status(
        &mut self,
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
        let mut w = self.begin(meta)?;
        let mut area = area_head(&w.tx, area_id)?.ok_or_else(|| {
            ReleaseError::NotFound(Problem::new(
                "area_id",
                format!("there is no hazardous area {area_id}"),
            ))
        })?;
        let activities = activities_of_area(&w.tx, area_id)?;
        let e =
            check_transition(&area, to, evidence, &activities).map_err(ReleaseError::Refused)?;
        area.props.status = to;
        area.props.evidence = e;
        w.put_area_by("status", &area)?;
        w.commit()?;
        Ok(area)
    }
}
