//! What the compliance audit reads: the emplacement records as they are now, each with its
//! timeline (first recorded, first marked, first on the public map, first released), and — for
//! deadline rules over every hazard — the other areas' ids, statuses and timelines without their
//! geometry or properties. Timelines are computed in SQL over the whole history, not replayed.
//!
//! Emplacement records are found through the partial index of migration 006, named with INDEXED
//! BY: the planner otherwise prefers the (kind, record_id) key and reads every area's JSON.
//! Current revisions are matched on heads' own key (kind, record_id): heads has no index on rev,
//! and joining on it alone scans heads once per record (that made the first 1M-area audit take
//! minutes).

use std::collections::HashMap;

use cairn_core::{HazardArea, Status, Timeline, TrackedArea, WireEnum};

use super::{AREA, SqliteStore, row_to_stored};
use crate::StoreError;
use crate::records::from_micros;

const EMPLACEMENT: &str = "r.kind = 'area' AND json_extract(r.props, '$.emplacement') IS NOT NULL";

/// The timeline columns of a GROUP BY record_id over revisions `r` joined with changesets `c`.
const TIMELINE_COLUMNS: &str = "min(c.recorded_at), \
     min(CASE WHEN json_extract(r.props, '$.marking') IN ('marked', 'fenced') THEN c.recorded_at END), \
     min(CASE WHEN r.status IN ('reported', 'suspected', 'confirmed', 'reduced') THEN c.recorded_at END), \
     min(CASE WHEN r.status IN ('cancelled', 'cleared', 'closed') THEN c.recorded_at END)";

fn time(us: Option<i64>, id: &str) -> Result<Option<cairn_core::Timestamp>, StoreError> {
    us.map(|u| {
        from_micros(u).ok_or_else(|| StoreError::Corrupt {
            id: id.to_string(),
            message: "bad recorded time".into(),
        })
    })
    .transpose()
}

impl SqliteStore {
    /// When each area was first marked by a marking activity (recorded time, microseconds).
    fn marking_activities(&self) -> Result<HashMap<String, i64>, StoreError> {
        let mut out = HashMap::new();
        let mut stmt = self.conn.prepare(
            "SELECT json_extract(r.props, '$.area_id'), min(c.recorded_at) FROM revisions r \
             JOIN changesets c ON c.id = r.changeset \
             WHERE r.kind = 'activity' AND json_extract(r.props, '$.kind') = 'marking' GROUP BY 1",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: Option<String> = r.get(0)?;
            if let Some(id) = id {
                out.insert(id, r.get(1)?);
            }
        }
        Ok(out)
    }

    /// A timeline from a row whose columns `at..at + 4` are `TIMELINE_COLUMNS`.
    fn timeline_of(
        r: &rusqlite::Row<'_>,
        at: usize,
        id: &str,
        activities: &HashMap<String, i64>,
    ) -> Result<Timeline, StoreError> {
        let marked: Option<i64> = r.get(at + 1)?;
        let marked = match (marked, activities.get(id)) {
            (Some(a), Some(b)) => Some(a.min(*b)),
            (a, b) => a.or(b.copied()),
        };
        Ok(Timeline {
            first_recorded: time(Some(r.get(at)?), id)?.expect("some in, some out"),
            first_marked: time(marked, id)?,
            first_public: time(r.get(at + 2)?, id)?,
            first_released: time(r.get(at + 3)?, id)?,
        })
    }
}

impl crate::AuditStore for SqliteStore {
    /// Every emplacement record as it is now, with its timeline, in id order.
    fn audit_subjects(&self) -> Result<Vec<(HazardArea, Timeline)>, StoreError> {
        // The GROUP BYs sort hundreds of thousands of rows: in memory, not in temporary files.
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        let activities = self.marking_activities()?;
        let mut timelines: HashMap<String, Timeline> = HashMap::new();
        {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT r.record_id, {TIMELINE_COLUMNS} \
                 FROM revisions r JOIN changesets c ON c.id = r.changeset \
                 WHERE r.kind = '{AREA}' AND r.record_id IN \
                 (SELECT r.record_id FROM revisions r INDEXED BY revisions_emplacement WHERE {EMPLACEMENT}) \
                 GROUP BY r.record_id"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let t = Self::timeline_of(r, 1, &id, &activities)?;
                timelines.insert(id, t);
            }
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT r.rev, r.record_id, r.seq, r.op, r.changeset, c.recorded_at, c.author, c.reason, c.source, r.geom, r.props \
             FROM revisions r INDEXED BY revisions_emplacement JOIN changesets c ON c.id = r.changeset \
             JOIN heads h ON h.kind = r.kind AND h.record_id = r.record_id AND h.rev = r.rev \
             WHERE {EMPLACEMENT} ORDER BY r.record_id"
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let a = row_to_stored(r)?.area;
            let Some(t) = timelines.remove(&a.id) else {
                return Err(StoreError::Corrupt {
                    id: a.id,
                    message: "an area without revisions".into(),
                });
            };
            out.push((a, t));
        }
        Ok(out)
    }

    /// Every area that is not (now) an emplacement record and is or was an open hazard: id,
    /// current status and timeline, in id order, in one pass over the history.
    fn audit_other_hazards(&self) -> Result<Vec<TrackedArea>, StoreError> {
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        let activities = self.marking_activities()?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT r.record_id, {TIMELINE_COLUMNS}, \
             max(CASE WHEN h.rev = r.rev THEN r.status END), \
             max(CASE WHEN h.rev = r.rev AND json_extract(r.props, '$.emplacement') IS NOT NULL THEN 1 ELSE 0 END) \
             FROM revisions r JOIN changesets c ON c.id = r.changeset \
             JOIN heads h ON h.kind = r.kind AND h.record_id = r.record_id \
             WHERE r.kind = '{AREA}' GROUP BY r.record_id ORDER BY r.record_id"
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let emplacement: i64 = r.get(6)?;
            if emplacement == 1 {
                continue;
            }
            let id: String = r.get(0)?;
            let status: String = r.get(5)?;
            let status = Status::parse(&status).map_err(|m| StoreError::Corrupt {
                id: id.clone(),
                message: format!("status: {m}"),
            })?;
            let timeline = Self::timeline_of(r, 1, &id, &activities)?;
            if status.is_open_hazard() || timeline.first_public.is_some() {
                out.push(TrackedArea {
                    id,
                    status,
                    timeline,
                });
            }
        }
        Ok(out)
    }
}
