//! The device catalogue in the SQLite store (migration 007): every version kept whole as TOML in
//! `catalogue_versions`, numbered 1, 2, 3… and written in an attributed changeset of its own, so
//! that a residual estimate or an audit can name the version it used and be run again with it.
//!
//! Version 1 is the catalogue shipped with the Cairn that created (or upgraded) the store,
//! written once by the migration with author `cairn`. The version in force at recorded time T is
//! the newest whose changeset was recorded at or before T; before version 1 was recorded (a time
//! before the store existed) it is version 1. A new version is refused when it would make an area's
//! devices unknown, and an import equal to the version in force writes nothing.

use cairn_core::catalogue::{BUILTIN_TOML, CatalogueError};
use cairn_core::{Catalogue, DeviceType, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{SqliteStore, insert_changeset};
use crate::records::{from_micros, to_micros};
use crate::{ChangeMeta, StoreError};

/// The author of version 1.
pub const SHIPPED_AUTHOR: &str = "cairn";
/// The reason recorded for version 1.
pub const SHIPPED_REASON: &str = "the device catalogue shipped with Cairn";

/// A catalogue with the number of the version it is.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionedCatalogue {
    pub version: i64,
    pub catalogue: Catalogue,
}

/// One version's attribution: which changeset wrote it, when, who and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CatalogueVersion {
    pub version: i64,
    pub changeset: i64,
    pub recorded_at: Timestamp,
    pub author: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// How a version changed one device type from the version before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TypeChangeKind {
    Added,
    Changed,
    Removed,
}

/// One device type's change in one version: the type before and after (none when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct TypeChange {
    pub version: CatalogueVersion,
    pub kind: TypeChangeKind,
    pub before: Option<DeviceType>,
    pub after: Option<DeviceType>,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq)]
pub enum CatalogueImport {
    /// A new version was written.
    Written(CatalogueVersion),
    /// The catalogue equals the version in force (this number): nothing was written.
    Unchanged(i64),
}

/// Why a catalogue was not imported. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueImportError {
    /// The text is not a valid catalogue; the error names the entry and field.
    #[error(transparent)]
    Invalid(#[from] CatalogueError),
    /// A type the new version lacks is used by an area's devices.
    #[error(
        "device type {device_type} is used by area {area} (and perhaps others): without it that area's devices would become unknown, which changes its residual estimate; keep the type, or correct the areas first"
    )]
    InUse { device_type: String, area: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn corrupt(version: i64, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        id: format!("device catalogue version {version}"),
        message: message.into(),
    }
}

pub(crate) fn parse(version: i64, toml: &str) -> Result<Catalogue, StoreError> {
    Catalogue::from_toml(toml).map_err(|e| corrupt(version, e.to_string()))
}

/// The version in force at recorded time `as_of` (now when `None`) as its number and text: the
/// newest recorded at or before it, else the first; `None` when the store has no version at all.
pub(super) fn in_force(
    conn: &Connection,
    as_of: Option<Timestamp>,
) -> Result<Option<(i64, String)>, StoreError> {
    let newest = match as_of {
        None => conn
            .query_row(
                "SELECT version, toml FROM catalogue_versions ORDER BY version DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
        Some(t) => conn
            .query_row(
                "SELECT v.version, v.toml FROM catalogue_versions v JOIN changesets c ON c.id = v.changeset \
                 WHERE c.recorded_at <= ?1 ORDER BY v.version DESC LIMIT 1",
                [to_micros(t)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
    };
    if newest.is_some() {
        return Ok(newest);
    }
    Ok(conn
        .query_row(
            "SELECT version, toml FROM catalogue_versions ORDER BY version LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Writes version 1, the shipped catalogue, when the store has no version yet; part of the
/// migration's transaction.
pub(super) fn write_shipped(conn: &Connection) -> Result<(), StoreError> {
    let any: Option<i64> = conn
        .query_row("SELECT version FROM catalogue_versions LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    if any.is_some() {
        return Ok(());
    }
    let changeset: i64 =
        conn.query_row("SELECT coalesce(max(id), 0) + 1 FROM changesets", [], |r| {
            r.get(0)
        })?;
    insert_changeset(
        conn,
        changeset,
        &ChangeMeta {
            author: SHIPPED_AUTHOR.into(),
            reason: SHIPPED_REASON.into(),
            source: Some("cairn-core/data/device-types.toml".into()),
        },
    )?;
    conn.execute(
        "INSERT INTO catalogue_versions (version, changeset, toml) VALUES (1, ?1, ?2)",
        params![changeset, BUILTIN_TOML],
    )?;
    Ok(())
}

/// One current area whose devices name `device_type`, if any.
pub(super) fn area_using(
    conn: &Connection,
    device_type: &str,
) -> Result<Option<String>, StoreError> {
    // The text search only narrows the areas whose JSON is read; json_each decides.
    Ok(conn
        .query_row(
            "SELECT h.record_id FROM heads h JOIN revisions r ON r.rev = h.rev, json_each(r.props, '$.devices') d \
             WHERE h.kind = 'area' AND instr(r.props, ?1) > 0 AND json_extract(d.value, '$.type') = ?2 \
             ORDER BY h.record_id LIMIT 1",
            params![format!("\"{device_type}\""), device_type],
            |r| r.get(0),
        )
        .optional()?)
}

impl crate::CatalogueStore for SqliteStore {
    /// The catalogue in force at recorded time `as_of` (now when `None`) with its version
    /// number. A time before version 1 was recorded gets version 1.
    fn catalogue(&self, as_of: Option<Timestamp>) -> Result<VersionedCatalogue, StoreError> {
        match in_force(&self.conn, as_of)? {
            Some((version, toml)) => Ok(VersionedCatalogue {
                catalogue: parse(version, &toml)?,
                version,
            }),
            // Every migrated store has version 1; this is for a store read before it could be.
            None => Ok(VersionedCatalogue {
                version: 1,
                catalogue: Catalogue::builtin(),
            }),
        }
    }

    /// The text of one version as it was imported, or `None` when there is no such version.
    fn catalogue_text(&self, version: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT toml FROM catalogue_versions WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every version, oldest first, with its changeset's attribution.
    fn catalogue_versions(&self) -> Result<Vec<CatalogueVersion>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT v.version, v.changeset, c.recorded_at, c.author, c.reason, c.source \
             FROM catalogue_versions v JOIN changesets c ON c.id = v.changeset ORDER BY v.version",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let version: i64 = r.get(0)?;
            out.push(CatalogueVersion {
                version,
                changeset: r.get(1)?,
                recorded_at: from_micros(r.get(2)?)
                    .ok_or_else(|| corrupt(version, "bad recorded time"))?,
                author: r.get(3)?,
                reason: r.get(4)?,
                source: r.get(5)?,
            });
        }
        Ok(out)
    }

    fn catalogue_changes(&self) -> Result<Vec<TypeChange>, StoreError> {
        crate::commands::catalogue_changes(self)
    }

    fn device_type_history(&self, id: &str) -> Result<Vec<TypeChange>, StoreError> {
        crate::commands::device_type_history(self, id)
    }

    fn import_catalogue(
        &mut self,
        toml: &str,
        meta: ChangeMeta,
    ) -> Result<CatalogueImport, CatalogueImportError> {
        crate::commands::import_catalogue(self, toml, meta)
    }
}
