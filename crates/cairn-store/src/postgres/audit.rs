//! What the compliance audit reads, from the PostgreSQL store: the emplacement records as they are
//! now with their timelines, and the other areas' ids, statuses and timelines, computed by GROUP
//! BY over the whole history as in the SQLite store (`sqlite/audit.rs`).

use std::collections::HashMap;

use cairn_core::{HazardArea, Status, Timeline, Timestamp, TrackedArea, WireEnum};
use postgres::Row;

use super::{PgStore, SELECT_REV, row_to_stored};
use crate::StoreError;
use crate::records::corrupt;

const EMPLACEMENT: &str = "r.kind = 'area' AND r.props->>'emplacement' IS NOT NULL";

/// The timeline columns of a GROUP BY record_id over revisions `r` joined with changesets `c`.
const TIMELINE_COLUMNS: &str = "min(c.recorded_at), \
     min(CASE WHEN r.props->>'marking' IN ('marked', 'fenced') THEN c.recorded_at END), \
     min(CASE WHEN r.status IN ('reported', 'suspected', 'confirmed', 'reduced') THEN c.recorded_at END), \
     min(CASE WHEN r.status IN ('cancelled', 'cleared', 'closed') THEN c.recorded_at END)";

impl PgStore {
    /// When each area was first marked by a marking activity.
    fn marking_activities(&self) -> Result<HashMap<String, Timestamp>, StoreError> {
        self.with(|c| {
            let rows = c.query(
                "SELECT r.props->>'area_id', min(c.recorded_at) FROM revisions r \
                 JOIN changesets c ON c.id = r.changeset \
                 WHERE r.kind = 'activity' AND r.props->>'kind' = 'marking' GROUP BY 1",
                &[],
            )?;
            let mut out = HashMap::new();
            for r in rows {
                let id: Option<String> = r.try_get(0)?;
                if let Some(id) = id {
                    out.insert(id, r.try_get(1)?);
                }
            }
            Ok(out)
        })
    }
}

/// A timeline from a row whose columns `at..at + 4` are `TIMELINE_COLUMNS`.
fn timeline_of(
    r: &Row,
    at: usize,
    id: &str,
    activities: &HashMap<String, Timestamp>,
) -> Result<Timeline, StoreError> {
    let marked: Option<Timestamp> = r.try_get(at + 1)?;
    let marked = match (marked, activities.get(id)) {
        (Some(a), Some(b)) => Some(a.min(*b)),
        (a, b) => a.or(b.copied()),
    };
    let first: Option<Timestamp> = r.try_get(at)?;
    Ok(Timeline {
        first_recorded: first.ok_or_else(|| corrupt(id, "an area without revisions"))?,
        first_marked: marked,
        first_public: r.try_get(at + 2)?,
        first_released: r.try_get(at + 3)?,
    })
}

impl crate::AuditStore for PgStore {
    fn audit_subjects(&self) -> Result<Vec<(HazardArea, Timeline)>, StoreError> {
        let activities = self.marking_activities()?;
        self.with(|c| {
            let mut timelines: HashMap<String, Timeline> = HashMap::new();
            for r in c.query(
                &format!(
                    "SELECT r.record_id, {TIMELINE_COLUMNS} \
                     FROM revisions r JOIN changesets c ON c.id = r.changeset \
                     WHERE r.kind = 'area' AND r.record_id IN (SELECT r.record_id FROM revisions r WHERE {EMPLACEMENT}) \
                     GROUP BY r.record_id"
                ),
                &[],
            )? {
                let id: String = r.try_get(0)?;
                let t = timeline_of(&r, 1, &id, &activities)?;
                timelines.insert(id, t);
            }
            let mut out = Vec::new();
            for r in c.query(
                &format!(
                    "{SELECT_REV} JOIN heads h ON h.kind = r.kind AND h.record_id = r.record_id AND h.rev = r.rev \
                     WHERE {EMPLACEMENT} ORDER BY r.record_id"
                ),
                &[],
            )? {
                let a = row_to_stored(&r)?.area;
                let Some(t) = timelines.remove(&a.id) else {
                    return Err(corrupt(&a.id, "an area without revisions"));
                };
                out.push((a, t));
            }
            Ok(out)
        })
    }

    fn audit_other_hazards(&self) -> Result<Vec<TrackedArea>, StoreError> {
        let activities = self.marking_activities()?;
        let mut out = Vec::new();
        self.for_each_row(
            &format!(
                "SELECT r.record_id, {TIMELINE_COLUMNS}, \
                 max(CASE WHEN h.rev = r.rev THEN r.status END), \
                 max(CASE WHEN h.rev = r.rev AND r.props->>'emplacement' IS NOT NULL THEN 1 ELSE 0 END) \
                 FROM revisions r JOIN changesets c ON c.id = r.changeset \
                 JOIN heads h ON h.kind = r.kind AND h.record_id = r.record_id \
                 WHERE r.kind = 'area' GROUP BY r.record_id ORDER BY r.record_id"
            ),
            &[],
            &mut |r| {
                let emplacement: i32 = r.try_get(6)?;
                if emplacement == 1 {
                    return Ok(());
                }
                let id: String = r.try_get(0)?;
                let status: String = r.try_get(5)?;
                let status = Status::parse(&status)
                    .map_err(|m| corrupt(&id, format!("status: {m}")))?;
                let timeline = timeline_of(r, 1, &id, &activities)?;
                if status.is_open_hazard() || timeline.first_public.is_some() {
                    out.push(TrackedArea {
                        id,
                        status,
                        timeline,
                    });
                }
                Ok(())
            },
        )?;
        Ok(out)
    }
}
