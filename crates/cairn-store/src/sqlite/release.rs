//! Activities, land releases, post-release finds and status changes in the SQLite store. Each is a
//! record in `revisions` (kind `activity`, `release`, `find`) written in a changeset attributed to
//! whoever did it, beside the new revision of the hazardous area it changes, in one transaction:
//! a refused or failed request leaves the store as it was. The rules are `cairn_core::release`'s;
//! the commands themselves are `crate::commands`, shared with every backend: this file gives
//! them SQLite's primitives.

use cairn_core::release::{ActivityFacts, Find, Release, ReleaseMethod};
use cairn_core::{HazardArea, Problem};
use geo::BoundingRect;
use geo_types::{Geometry, MultiPolygon, Point};
use rusqlite::{Connection, OptionalExtension, params};

use super::zones::RecordRevision;
use super::{SqliteStore, SqliteTx};
use crate::commands::{CommandStore, CommandTx, RecordRow};
use crate::records::{corrupt, geometry, op_name};
use crate::{ChangeMeta, Op, StoreError, encode_wkb};

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

impl super::SqliteStore {
    /// Every current record of `kind` whose property `field` is `value`, in id order.
    fn heads_where(
        conn: &Connection,
        kind: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordRow>, StoreError> {
        // The condition repeats the partial indexes' own (kind = '...') so SQLite uses them.
        let sql = format!(
            "SELECT r.record_id, r.geom, r.props FROM revisions r JOIN heads h ON h.rev = r.rev \
             WHERE r.kind = '{kind}' AND json_extract(r.props, '$.{field}') = ?1 ORDER BY r.record_id"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        record_rows(stmt.query([value])?)
    }
}

/// Records from rows of id, geometry (WKB) and JSON.
fn record_rows(mut rows: rusqlite::Rows<'_>) -> Result<Vec<RecordRow>, StoreError> {
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let g = geometry(
            &id,
            r.get_ref(1)?
                .as_blob()
                .map_err(|e| corrupt(&id, e.to_string()))?,
        )?;
        out.push((id, g, r.get(2)?));
    }
    Ok(out)
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
        Some((g, p)) => Ok(Some((geometry(id, &g)?, p))),
    }
}

impl CommandTx for SqliteTx<'_> {
    fn territory_slot(&mut self) -> &mut Option<std::sync::Arc<cairn_core::territory::Territory>> {
        &mut self.territory
    }

    fn record_head(
        &mut self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(Geometry<f64>, String)>, StoreError> {
        head(&self.tx, kind, id)
    }

    fn records_where(
        &mut self,
        kind: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordRow>, StoreError> {
        SqliteStore::heads_where(&self.tx, kind, field, value)
    }

    fn next_number(&mut self, counter: &str) -> Result<i64, StoreError> {
        Ok(self.tx.query_row(
            "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
            [counter],
            |r| r.get(0),
        )?)
    }

    fn put_record(
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
                op_name(op),
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

    fn put_by(
        &mut self,
        command: Option<&'static str>,
        area: &HazardArea,
        known_new: bool,
    ) -> Result<crate::PutOutcome, StoreError> {
        self.put(command, area, known_new)
    }

    fn bump_area_number(&mut self) -> i64 {
        self.next_area += 1;
        self.next_area
    }

    fn count_unchanged(&mut self) {
        self.summary.unchanged += 1;
    }

    fn catalogue_in_force(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        super::catalogue::in_force(&self.tx, None)
    }

    fn area_using(&mut self, device_type: &str) -> Result<Option<String>, StoreError> {
        super::catalogue::area_using(&self.tx, device_type)
    }

    fn insert_catalogue_version(&mut self, version: i64, toml: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO catalogue_versions (version, changeset, toml) VALUES (?1, ?2, ?3)",
            params![version, self.changeset, toml],
        )?;
        self.summary.updated += 1;
        Ok(())
    }
}

impl CommandStore for SqliteStore {
    type Tx<'a> = SqliteTx<'a>;

    fn begin_tx(&mut self, meta: ChangeMeta) -> Result<SqliteTx<'_>, StoreError> {
        self.begin(meta)
    }

    fn record_head(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(Geometry<f64>, String)>, StoreError> {
        head(&self.conn, kind, id)
    }

    fn records_where(
        &self,
        kind: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordRow>, StoreError> {
        SqliteStore::heads_where(&self.conn, kind, field, value)
    }

    fn revisions_of(&self, kind: &str, id: &str) -> Result<Vec<RecordRevision>, StoreError> {
        self.record_revisions(kind, id)
    }

    fn current_records(&self, kind: &str) -> Result<Vec<RecordRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.record_id, r.geom, r.props FROM heads h JOIN revisions r ON r.rev = h.rev \
             WHERE h.kind = ?1 ORDER BY h.record_id",
        )?;
        record_rows(stmt.query([kind])?)
    }
}

crate::commands::shared_stores!(SqliteStore);
