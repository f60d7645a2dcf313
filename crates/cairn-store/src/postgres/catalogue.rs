//! The device catalogue in the PostgreSQL store (migration 4), as in the SQLite store
//! (`sqlite/catalogue.rs` explains the versions): whole TOML texts, each in a changeset of its
//! own, version 1 the shipped catalogue written when the store is created.

use cairn_core::catalogue::BUILTIN_TOML;
use cairn_core::{Catalogue, Timestamp};
use postgres::{GenericClient, Transaction};

use super::{PgStore, insert_changeset};
use crate::sqlite::catalogue::{
    CatalogueImport, CatalogueImportError, CatalogueVersion, SHIPPED_AUTHOR, SHIPPED_REASON,
    TypeChange, VersionedCatalogue, parse,
};
use crate::{ChangeMeta, StoreError};

/// The version in force at recorded time `as_of` (now when `None`) as its number and text: the
/// newest recorded at or before it, else the first; `None` when the store has no version at all.
pub(super) fn in_force(
    c: &mut impl GenericClient,
    as_of: Option<Timestamp>,
) -> Result<Option<(i64, String)>, StoreError> {
    let newest = match as_of {
        None => c.query_opt(
            "SELECT version, toml FROM catalogue_versions ORDER BY version DESC LIMIT 1",
            &[],
        )?,
        Some(t) => c.query_opt(
            "SELECT v.version, v.toml FROM catalogue_versions v JOIN changesets c ON c.id = v.changeset \
             WHERE c.recorded_at <= $1 ORDER BY v.version DESC LIMIT 1",
            &[&t],
        )?,
    };
    let row = match newest {
        Some(r) => Some(r),
        None => c.query_opt(
            "SELECT version, toml FROM catalogue_versions ORDER BY version LIMIT 1",
            &[],
        )?,
    };
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Writes version 1, the shipped catalogue, when the store has no version yet; part of the
/// migration's transaction (which holds the writer lock).
pub(super) fn write_shipped(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    if tx
        .query_opt("SELECT version FROM catalogue_versions LIMIT 1", &[])?
        .is_some()
    {
        return Ok(());
    }
    let changeset: i64 = tx
        .query_one("SELECT coalesce(max(id), 0) + 1 FROM changesets", &[])?
        .get(0);
    insert_changeset(
        tx,
        changeset,
        &ChangeMeta {
            author: SHIPPED_AUTHOR.into(),
            reason: SHIPPED_REASON.into(),
            source: Some("cairn-core/data/device-types.toml".into()),
        },
    )?;
    tx.execute(
        "INSERT INTO catalogue_versions (version, changeset, toml) VALUES (1, $1, $2)",
        &[&changeset, &BUILTIN_TOML],
    )?;
    Ok(())
}

/// One current area whose devices name `device_type`, if any.
pub(super) fn area_using(
    c: &mut impl GenericClient,
    device_type: &str,
) -> Result<Option<String>, StoreError> {
    // The text search only narrows the areas whose JSON is read; the device list decides.
    Ok(c
        .query_opt(
            "SELECT h.record_id FROM heads h JOIN revisions r ON r.rev = h.rev \
             CROSS JOIN LATERAL json_array_elements(CASE WHEN json_typeof(r.props->'devices') = 'array' \
                 THEN r.props->'devices' ELSE '[]'::json END) d \
             WHERE h.kind = 'area' AND strpos(r.props::text, $1) > 0 AND d->>'type' = $2 \
             ORDER BY h.record_id LIMIT 1",
            &[&format!("\"{device_type}\""), &device_type],
        )?
        .map(|r| r.get(0)))
}

impl crate::CatalogueStore for PgStore {
    fn catalogue(&self, as_of: Option<Timestamp>) -> Result<VersionedCatalogue, StoreError> {
        match self.with(|c| in_force(c, as_of))? {
            Some((version, toml)) => Ok(VersionedCatalogue {
                catalogue: parse(version, &toml)?,
                version,
            }),
            None => Ok(VersionedCatalogue {
                version: 1,
                catalogue: Catalogue::builtin(),
            }),
        }
    }

    fn catalogue_text(&self, version: i64) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT toml FROM catalogue_versions WHERE version = $1",
                &[&version],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn catalogue_versions(&self) -> Result<Vec<CatalogueVersion>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT v.version, v.changeset, c.recorded_at, c.author, c.reason, c.source \
                 FROM catalogue_versions v JOIN changesets c ON c.id = v.changeset ORDER BY v.version",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(CatalogueVersion {
                    version: r.try_get(0)?,
                    changeset: r.try_get(1)?,
                    recorded_at: r.try_get(2)?,
                    author: r.try_get(3)?,
                    reason: r.try_get(4)?,
                    source: r.try_get(5)?,
                })
            })
            .collect()
        })
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
