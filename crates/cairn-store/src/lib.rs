//! Cairn's store: the `Store` trait and its backends, SQLite (embedded, one file) and
//! PostgreSQL/PostGIS (shared by several servers). History is append-only: every create and edit
//! is a new revision with author, time and reason, and past states stay readable. `open` picks the
//! backend from what it is given: a `postgres://` URL or a file path.

mod boundary;
mod commands;
pub mod dump;
mod geom;
pub mod postgres;
mod records;
pub mod sqlite;

use cairn_core::command::{Actor, Command, Refusal};
use cairn_core::{HazardArea, Timestamp};
use serde::Serialize;

pub use boundary::{
    AuditStore, Backend, CatalogueStore, PeriodStore, ReleaseStore, ReportStore, TokenStore,
    UserStore, ZoneStore,
};
pub use geom::{GeomError, decode_wkb, encode_wkb};

/// The store's traits, for `use cairn_store::prelude::*` where a store's methods are called.
pub mod prelude {
    pub use crate::{
        AuditStore, Backend, CatalogueStore, PeriodStore, ReleaseStore, ReportStore, Store,
        TokenStore, UserStore, Writer, ZoneStore,
    };
}
pub use crate::postgres::PgStore;
pub use sqlite::{OpenMode, SqliteStore};

/// True when `target` names a PostgreSQL database (`postgres://` or `postgresql://`) rather
/// than a SQLite file.
pub fn is_postgres_url(target: &str) -> bool {
    let t = target.trim_start();
    ["postgres://", "postgresql://"]
        .iter()
        .any(|p| t.len() >= p.len() && t[..p.len()].eq_ignore_ascii_case(p))
}

/// Opens a store: a `postgres://` or `postgresql://` URL opens the PostgreSQL/PostGIS backend
/// (`PgStore`), anything else is the path of a SQLite file (`SqliteStore`). Migrations run on
/// open, as each backend documents; `mode` means the same for both (`Create` makes a missing
/// SQLite file; a PostgreSQL database must exist, and its schema is created in it).
pub fn open(target: &str, mode: OpenMode) -> Result<Box<dyn Backend>, StoreError> {
    if is_postgres_url(target) {
        Ok(Box::new(PgStore::open(target.trim(), mode)?))
    } else {
        Ok(Box::new(SqliteStore::open(
            std::path::Path::new(target),
            mode,
        )?))
    }
}

/// Who makes a change, and why. Every write carries one.
#[derive(Clone, Debug)]
pub struct ChangeMeta {
    pub author: String,
    pub reason: String,
    /// Where the change came from, e.g. the imported file's name.
    pub source: Option<String>,
}

/// What a put did to the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    Updated,
    /// The record already had exactly this content; no revision was written.
    Unchanged,
}

/// The kind of a revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
}

/// One revision's metadata.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Revision {
    /// Store-wide revision number, increasing.
    pub rev: i64,
    /// The record's own revision number: 1, 2, 3, …
    pub seq: i64,
    pub op: Op,
    pub changeset: i64,
    /// When Cairn learned this (recorded time).
    pub recorded_at: Timestamp,
    pub author: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The domain command that wrote it (`create`, `migrate`, `edit`, `correct`, `release`,
    /// `find`, `status`, `triage`); none for revisions older than schema 8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// A record as stored at one revision.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredArea {
    pub area: HazardArea,
    pub revision: Revision,
}

/// What one committed change did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    pub changeset: i64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// Counts for a summary of the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub areas: u64,
    pub revisions: u64,
    pub changesets: u64,
    pub last_recorded_at: Option<Timestamp>,
}

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {message}")]
    Open { path: String, message: String },
    #[error("store {path} was written by a newer Cairn (schema {found}, this one knows {known})")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("store database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("store database error: {0}")]
    Postgres(::postgres::Error),
    /// The database cannot be reached now (restarting, down, the network broken): nothing was
    /// written; the same call may succeed once it is back (`PgStore` connects again by itself).
    #[error("the database is unreachable ({message})")]
    Unavailable { message: String },
    #[error("record {id}: stored data is damaged: {message}")]
    Corrupt { id: String, message: String },
    #[error("could not encode record {id}: {message}")]
    Encode { id: String, message: String },
    /// A restored store's rows, read back, are not the rows its source gave (`dump::Dump`).
    #[error("{target}: {message}")]
    Mismatch { target: String, message: String },
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> StoreError {
        if postgres::unreachable(&e) {
            StoreError::Unavailable {
                message: e.to_string(),
            }
        } else {
            StoreError::Postgres(e)
        }
    }
}

impl StoreError {
    /// True when the store could not be reached: the request may be tried again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// Why a write through the one door did not happen: the domain's rules refused it, or the
/// store failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A store of records with full history. Backends: SQLite (`SqliteStore`) and PostgreSQL/PostGIS
/// (`PgStore`).
pub trait Store {
    /// Starts an atomic change attributed to `meta`: an open write transaction, which dropping
    /// without `commit` leaves without effect.
    fn begin(&mut self, meta: ChangeMeta) -> Result<Box<dyn Writer + '_>, StoreError>;

    /// One area as it is now, or as it was at recorded time `as_of`.
    fn get_area(
        &self,
        id: &str,
        as_of: Option<Timestamp>,
    ) -> Result<Option<StoredArea>, StoreError>;

    /// Visits every area as it is now, or as it was at `as_of`, in id order. Returns the count.
    fn for_each_area(
        &self,
        as_of: Option<Timestamp>,
        f: &mut dyn FnMut(StoredArea) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError>;

    /// Every revision of one area, oldest first.
    fn history(&self, id: &str) -> Result<Vec<StoredArea>, StoreError>;

    /// Counts for a summary.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// A stable digest of every changeset, revision and catalogue version, for tests that prove
    /// nothing changed.
    fn content_digest(&self) -> Result<String, StoreError>;

    /// The backend's own consistency check; `ok` when the store is sound.
    fn integrity_check(&self) -> Result<String, StoreError>;

    /// The change feed's head: the number of the newest committed changeset (0 when none).
    /// Numbers are assigned at commit and strictly increase in commit order.
    fn last_change(&self) -> Result<i64, StoreError>;

    /// The change feed: the ids of the areas that changesets after `after` (up to `upto`, both
    /// numbers of `last_change`) wrote, each once, in id order. A reader that applies each one's
    /// current revision has caught up to `upto`; applying a revision twice is harmless.
    fn changed_areas(&self, after: i64, upto: i64) -> Result<Vec<String>, StoreError>;

    /// Waits until a changeset may have been committed since the last call, or `limit` passed:
    /// what the change feed's follower does between catch-ups. The default polls (waits a tenth
    /// of a second, or `limit` if shorter); PostgreSQL is woken by `NOTIFY`. Returns true when
    /// told of a change. Whatever it returns, the follower catches up by number.
    fn wait_for_change(&self, limit: std::time::Duration) -> Result<bool, StoreError> {
        std::thread::sleep(limit.min(POLL_INTERVAL));
        Ok(false)
    }
}

/// How often a follower polls a store that cannot announce its changes (SQLite: another process
/// writes the file).
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// The writing half of a transaction.
pub trait Writer {
    /// The one door for an area: reads the record `area` replaces under this transaction's lock,
    /// checks `command` by `actor` with `cairn_core::command::check` (an import's `Migrate` over
    /// an existing record is checked as an `Edit`), and stores it with the command named in its
    /// revision. A refusal writes nothing.
    fn write_area(
        &mut self,
        command: Command,
        actor: Actor<'_>,
        area: &HazardArea,
    ) -> Result<PutOutcome, WriteError>;

    /// The record as this transaction sees it (committed, or put earlier in it).
    fn current_area(&mut self, id: &str) -> Result<Option<StoredArea>, StoreError>;

    /// Stores `area` without the domain's checks: the primitive under `write_area`, for the
    /// store's own commands that check their rules themselves (release, find, status, triage)
    /// and for test fixtures. No door calls it.
    fn put_area(&mut self, area: &HazardArea) -> Result<PutOutcome, StoreError>;

    /// A fresh area id (`HA-000001`, …) not used by any record, this transaction included.
    fn new_area_id(&mut self) -> Result<String, StoreError>;

    /// True when an area with this id exists (committed, or put earlier in this transaction).
    fn area_exists(&mut self, id: &str) -> Result<bool, StoreError>;

    /// Makes the change durable and visible, all of it at once.
    fn commit(self: Box<Self>) -> Result<ChangeSummary, StoreError>;
}
