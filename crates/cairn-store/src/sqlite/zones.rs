//! Zones and accidents in the SQLite store: records in `revisions` (kind `zone` and `accident`)
//! with the same append-only history and attribution as hazardous areas (migration 006). Their
//! commands and readers are `crate::commands`'; here is what a record's history is, read from SQLite.

use geo_types::Geometry;
use rusqlite::params;

use super::SqliteStore;
use crate::StoreError;
use crate::records::{corrupt, from_micros, geometry};

/// A revision of a record other than an area: when, by whom, why, and its properties.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordRevision {
    pub seq: i64,
    pub recorded_at: cairn_core::Timestamp,
    pub author: String,
    pub reason: String,
    pub geometry: Geometry<f64>,
    pub props: serde_json::Value,
}

impl SqliteStore {
    /// Every revision of a record that is not an area (a zone, an accident, an activity…), oldest
    /// first; empty when there is no such record.
    pub(super) fn record_revisions(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Vec<RecordRevision>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.seq, c.recorded_at, c.author, c.reason, r.geom, r.props FROM revisions r \
             JOIN changesets c ON c.id = r.changeset WHERE r.kind = ?1 AND r.record_id = ?2 ORDER BY r.seq",
        )?;
        let mut rows = stmt.query(params![kind, id])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let micros: i64 = r.get(1)?;
            let props: String = r.get(5)?;
            out.push(RecordRevision {
                seq: r.get(0)?,
                recorded_at: from_micros(micros).ok_or_else(|| corrupt(id, "recorded time"))?,
                author: r.get(2)?,
                reason: r.get(3)?,
                geometry: geometry(
                    id,
                    r.get_ref(4)?
                        .as_blob()
                        .map_err(|e| corrupt(id, e.to_string()))?,
                )?,
                props: serde_json::from_str(&props)
                    .map_err(|e| corrupt(id, format!("properties: {e}")))?,
            });
        }
        Ok(out)
    }
}
