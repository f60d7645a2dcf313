//! Reads inside a write transaction, for writes that must check what they replace (optimistic
//! locking over HTTP): the record as this transaction sees it, under the store's write lock, so
//! nothing can change between the check and the write.

use rusqlite::params;

use super::{AREA, SELECT_REV, SqliteTx, row_to_stored};
use crate::{StoreError, StoredArea};

impl SqliteTx<'_> {
    /// The committed current revision of a record, read under this transaction's lock.
    pub fn current_area(&self, id: &str) -> Result<Option<StoredArea>, StoreError> {
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
