//! An online copy of a SQLite store (`VACUUM INTO`): a consistent snapshot taken while the
//! service and other commands keep reading and writing, written to a new file readable only by
//! its owner, then checked.

use std::path::Path;

use super::SqliteStore;
use crate::{Store, StoreError};

impl SqliteStore {
    /// Writes a consistent copy of the whole store (every revision, changeset, report with its
    /// photo, user, token hash and catalogue version) to `target`, which must not exist. The
    /// file is created with mode 0600 before SQLite fills it. Returns the change number the
    /// copy holds.
    pub fn backup_to(&self, target: &Path) -> Result<i64, StoreError> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(target).map_err(|e| StoreError::Open {
            path: target.display().to_string(),
            message: format!("cannot create the copy: {e}"),
        })?;
        let written = self
            .conn
            .execute("VACUUM INTO ?1", [target.to_string_lossy()]);
        if let Err(e) = written {
            let _ = std::fs::remove_file(target);
            return Err(e.into());
        }
        let copy = SqliteStore::open(target, super::OpenMode::ReadOnly)?;
        copy.last_change()
    }
}
