//! Reads inside a write transaction, for writes that must check what they replace (optimistic
//! locking over HTTP): the record as this transaction sees it, under the store's write lock, so
//! nothing can change between the check and the write.

use cairn_core::HazardArea;
use rusqlite::params;

use super::{AREA, SELECT_REV, SqliteTx, row_to_stored};
use crate::{PutOutcome, StoreError, StoredArea, Writer};

impl SqliteTx<'_> {
    /// The current revision of a record as this transaction sees it, read under its lock.
    pub(crate) fn head_area(&self, id: &str) -> Result<Option<StoredArea>, StoreError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "{SELECT_REV} JOIN heads h ON h.rev = r.rev WHERE h.kind = ?1 AND h.record_id = ?2"
        ))?;
        let mut rows = stmt.query(params![AREA, id])?;
        match rows.next()? {
            Some(r) => Ok(Some(row_to_stored(r)?)),
            None => Ok(None),
        }
    }
}

impl SqliteTx<'_> {
    /// Stores `area` as written by the store's own `command` (release, find, status, triage),
    /// whose rules the caller has checked.
    pub(crate) fn put_area_by(
        &mut self,
        command: &'static str,
        area: &HazardArea,
    ) -> Result<PutOutcome, StoreError> {
        self.command = Some(command);
        let r = self.put_area(area);
        self.command = None;
        r
    }
}
