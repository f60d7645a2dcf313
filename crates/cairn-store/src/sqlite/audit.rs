//! What the compliance audit reads: the records in scope as they are now, each with its
//! timeline (first recorded, first marked, first on the public map, first released), computed in
//! SQL over the whole history rather than by replaying it. Emplacement records are found through
//! the partial index of migration 006, named with INDEXED BY: the planner otherwise prefers the
//! (kind, record_id) key and reads every area's JSON. Current revisions are matched on heads'
//! own key (kind, record_id): heads has no index on rev, and joining on it alone scans heads
//! once per record (that made the first 1M-area audit take minutes).

use std::collections::HashMap;

use cairn_core::{HazardArea, Timeline};

use super::{AREA, SELECT_REV, SqliteStore, from_micros, row_to_stored};
use crate::StoreError;

/// Which areas to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditScope {
    /// Emplacement records only.
    EmplacementRecords,
    /// Emplacement records and every area that is or was an open hazard.
    AllHazards,
}

const EMPLACEMENT: &str = "r.kind = 'area' AND json_extract(r.props, '$.emplacement') IS NOT NULL";

impl SqliteStore {
    /// The areas in `scope` as they are now, each with its timeline, in id order.
    pub fn audit_subjects(
        &self,
        scope: AuditScope,
    ) -> Result<Vec<(HazardArea, Timeline)>, StoreError> {
        let time =
            |us: Option<i64>, id: &str| -> Result<Option<cairn_core::Timestamp>, StoreError> {
                us.map(|u| {
                    from_micros(u).ok_or_else(|| StoreError::Corrupt {
                        id: id.to_string(),
                        message: "bad recorded time".into(),
                    })
                })
                .transpose()
            };
        // Marking activities count as marking from when they were recorded.
        let mut marked_by_activity: HashMap<String, i64> = HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT json_extract(r.props, '$.area_id'), min(c.recorded_at) FROM revisions r \
                 JOIN changesets c ON c.id = r.changeset \
                 WHERE r.kind = 'activity' AND json_extract(r.props, '$.kind') = 'marking' GROUP BY 1",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let id: Option<String> = r.get(0)?;
                if let Some(id) = id {
                    marked_by_activity.insert(id, r.get(1)?);
                }
            }
        }
        let filter = match scope {
            AuditScope::EmplacementRecords => format!(
                "r.kind = '{AREA}' AND r.record_id IN (SELECT r.record_id FROM revisions r INDEXED BY revisions_emplacement WHERE {EMPLACEMENT})"
            ),
            AuditScope::AllHazards => format!("r.kind = '{AREA}'"),
        };
        let mut timelines: HashMap<String, Timeline> = HashMap::new();
        {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT r.record_id, min(c.recorded_at), \
                 min(CASE WHEN json_extract(r.props, '$.marking') IN ('marked', 'fenced') THEN c.recorded_at END), \
                 min(CASE WHEN r.status IN ('suspected', 'confirmed', 'reduced') THEN c.recorded_at END), \
                 min(CASE WHEN r.status IN ('cancelled', 'cleared', 'closed') THEN c.recorded_at END) \
                 FROM revisions r JOIN changesets c ON c.id = r.changeset WHERE {filter} GROUP BY r.record_id"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let first: i64 = r.get(1)?;
                let marked: Option<i64> = r.get(2)?;
                let marked = match (marked, marked_by_activity.get(&id)) {
                    (Some(a), Some(b)) => Some(a.min(*b)),
                    (a, b) => a.or(b.copied()),
                };
                let t = Timeline {
                    first_recorded: time(Some(first), &id)?.expect("some"),
                    first_marked: time(marked, &id)?,
                    first_public: time(r.get(3)?, &id)?,
                    first_released: time(r.get(4)?, &id)?,
                };
                timelines.insert(id, t);
            }
        }
        let heads = match scope {
            AuditScope::EmplacementRecords => format!(
                "SELECT r.rev, r.record_id, r.seq, r.op, r.changeset, c.recorded_at, c.author, c.reason, c.source, r.geom, r.props \
                 FROM revisions r INDEXED BY revisions_emplacement JOIN changesets c ON c.id = r.changeset \
                 JOIN heads h ON h.kind = r.kind AND h.record_id = r.record_id AND h.rev = r.rev \
                 WHERE {EMPLACEMENT} ORDER BY r.record_id"
            ),
            AuditScope::AllHazards => format!(
                "{SELECT_REV} JOIN heads h ON h.rev = r.rev WHERE h.kind = '{AREA}' ORDER BY r.record_id"
            ),
        };
        let mut stmt = self.conn.prepare(&heads)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let a = row_to_stored(r)?.area;
            let in_scope = scope == AuditScope::EmplacementRecords
                || a.props.emplacement.is_some()
                || a.props.status.is_open_hazard()
                || timelines
                    .get(&a.id)
                    .is_some_and(|t| t.first_public.is_some());
            if !in_scope {
                continue;
            }
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
}
