//! Reads inside a write transaction, for writes that must check what they replace (optimistic
//! locking over HTTP): the record as this transaction sees it, under the store's write lock, so
//! nothing can change between the check and the write.

use rusqlite::params;

use super::{AREA, SqliteTx, row_to_stored};
use crate::{StoreError, StoredArea};

impl SqliteTx<'_> {
    /// The current revision of a record as this transaction sees it, read under its lock:
    /// committed, or put earlier in this transaction (whose changeset row is written only at
    /// commit, so it is joined loosely and carries this transaction's attribution and no time).
    pub(crate) fn head_area(&self, id: &str) -> Result<Option<StoredArea>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT r.rev, r.record_id, r.seq, r.op, r.changeset, coalesce(c.recorded_at, 0), \
             coalesce(c.author, ?3), coalesce(c.reason, ?4), c.source, r.geom, r.props, r.command \
             FROM revisions r LEFT JOIN changesets c ON c.id = r.changeset \
             JOIN heads h ON h.rev = r.rev WHERE h.kind = ?1 AND h.record_id = ?2",
        )?;
        let mut rows = stmt.query(params![AREA, id, self.meta.author, self.meta.reason])?;
        match rows.next()? {
            Some(r) => Ok(Some(row_to_stored(r)?)),
            None => Ok(None),
        }
    }
}
