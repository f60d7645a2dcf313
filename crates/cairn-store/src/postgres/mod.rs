//! The PostgreSQL/PostGIS backend: the store shared by several Cairn servers. One database (its
//! `public` schema, or the first schema of the URL's `search_path`), migrations embedded and run on
//! open, geometry in PostGIS so GIS officers can query the tables with QGIS or psql directly.
//!
//! It keeps exactly what the SQLite backend keeps, in the same shape (`revisions`, `changesets`,
//! `heads`, `counters`, …; see `migrations/`), and answers every method of the boundary alike: the
//! same WKB bytes come back (`ST_AsBinary(geom, 'NDR')` of what `ST_GeomFromWKB` stored, compared
//! byte for byte to find unchanged records), the same JSON text (`json`, not `jsonb`, keeps it as
//! written), the same ids in the same byte order (record ids and names are `COLLATE "C"`).
//!
//! Writers are serialised: every write transaction that records a changeset takes the
//! transaction-scoped advisory lock `WRITER_LOCK` first, then numbers its changeset
//! `max(id) + 1` and stamps its recorded time at commit, strictly after the last one. Changeset
//! numbers therefore become visible in the order they were given, so a follower that has read
//! `last_change() = N` can never later see a changeset numbered N or below appear: the change feed
//! (`changed_areas(after, upto)`) neither misses nor repeats a change. (With a sequence instead,
//! transaction 7 could commit before transaction 6 and a follower at 7 would skip 6.) The price is
//! throughput: one write transaction at a time across every server on the database, as in SQLite
//! (where the file lock does the same). A write transaction is short (one area through the door is
//! a few statements; an import holds the lock for its whole batch), so the ceiling is about a few
//! hundred to a few thousand small writes a second, far above what a mine action centre's
//! operators make; reads, and report intake (which writes no changeset), never wait for it.
//!
//! Durability: every session runs with `synchronous_commit = on`, so a commit (a report above all)
//! is on disk before it is answered.

mod audit;
mod catalogue;
mod dump;
mod reports;
mod users;

pub use dump::restore_into;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};

use cairn_core::{HazardArea, Timestamp};
use geo_types::Geometry;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};

use crate::commands::{CommandStore, CommandTx, RecordRow};
use crate::records::{
    AREA, area_json, corrupt, decode_area, from_micros, geometry, now, op_name, parse_op, to_micros,
};
use crate::sqlite::OpenMode;
use crate::sqlite::zones::RecordRevision;
use crate::{
    ChangeMeta, ChangeSummary, Op, PutOutcome, Revision, Store, StoreError, StoreStats, StoredArea,
    Writer, encode_wkb,
};

/// The migrations by number, in order; each runs once, in the transaction that opens the store,
/// and is recorded in `schema_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/001_records.sql")),
    (2, include_str!("migrations/002_users.sql")),
    (3, include_str!("migrations/003_reports.sql")),
    (4, include_str!("migrations/004_catalogue.sql")),
    (5, include_str!("migrations/005_notify.sql")),
];

/// The advisory lock every changeset-writing transaction holds (`pg_advisory_xact_lock`).
pub(crate) const WRITER_LOCK: i64 = i64::from_be_bytes(*b"\0CAIRNWR");
/// The advisory lock held while migrations run, so that servers opening at once do not race.
const MIGRATION_LOCK: i64 = i64::from_be_bytes(*b"\0CAIRNMG");
/// Rows fetched at a time when visiting every area.
const FETCH: i64 = 2000;

/// A store in a PostgreSQL database with PostGIS.
pub struct PgStore {
    client: RefCell<Client>,
    /// The URL without its password, for messages and `reopen`'s errors.
    shown: String,
    /// The URL as given, for `reopen`.
    url: String,
    /// How deep `for_each_area` visits are nested (each uses a cursor in one transaction).
    visiting: Cell<u32>,
    /// The write path's statements, prepared once per connection (a statement given as text is
    /// parsed again on every call: one more round trip for each of a write's few statements).
    statements: HashMap<&'static str, Statement>,
    /// How to connect again after the database restarted or the connection broke.
    config: postgres::Config,
    /// The session's settings, run on every new connection.
    session: String,
    /// Bumped on every new connection: `statements` and `listening` belong to one connection.
    generation: Cell<u64>,
    /// The generation of the connection `statements` were prepared on.
    statements_generation: u64,
    /// The generation of the connection that runs `LISTEN` for the change feed, if any.
    listening: Cell<Option<u64>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.shown).finish()
    }
}

/// `url` without the password, if it has one.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}

impl PgStore {
    /// Connects to the database at `url` and migrates it. `Create` creates Cairn's schema in a
    /// database without it; `Existing` and `ReadOnly` need a database where a Cairn store was
    /// created (`ReadOnly` also needs every migration applied, and refuses every write).
    pub fn open(url: &str, mode: OpenMode) -> Result<PgStore, StoreError> {
        let shown = redact(url);
        let open_err = |message: String| StoreError::Open {
            path: shown.clone(),
            message,
        };
        // The scheme is case-insensitive (RFC 3986); the client's parser wants it in lower case.
        let lowered;
        let url = match url.find("://") {
            Some(i) if url[..i].bytes().any(|b| b.is_ascii_uppercase()) => {
                lowered = format!("{}{}", url[..i].to_ascii_lowercase(), &url[i..]);
                lowered.as_str()
            }
            _ => url,
        };
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| open_err(format!("not a PostgreSQL URL: {e}")))?;
        // A database that cannot be reached must fail a call in seconds, not hang the server's
        // connection (and every request waiting for it) for the operating system's minutes:
        // unless the URL says otherwise, give up connecting after 5 s, and probe an idle
        // connection after 30 s so that a vanished peer is noticed.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        if config.get_keepalives_idle() == std::time::Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(std::time::Duration::from_secs(30));
        }
        let mut session = String::from(
            "SET synchronous_commit = on; SET application_name = 'cairn'; SET client_min_messages = warning;",
        );
        if mode == OpenMode::ReadOnly {
            session.push_str(" SET default_transaction_read_only = on;");
        }
        let client =
            connect(&config, &session).map_err(|e| open_err(format!("cannot connect: {e}")))?;
        let store = PgStore {
            client: RefCell::new(client),
            shown: shown.clone(),
            url: url.to_string(),
            visiting: Cell::new(0),
            statements: HashMap::new(),
            config,
            session,
            generation: Cell::new(0),
            statements_generation: 0,
            listening: Cell::new(None),
        };
        store.migrate(mode).map_err(|e| match e {
            StoreError::Postgres(e) => open_err(e.to_string()),
            other => other,
        })?;
        Ok(store)
    }

    /// Connects again if the connection is closed (the database restarted, the network broke):
    /// every call starts here, so a store outlives its database's restarts. A connection that
    /// cannot be made is `StoreError::Unavailable`; nothing is retried inside a transaction (a
    /// transaction cut by a broken connection failed, and its caller was told).
    fn revive(&self) -> Result<(), StoreError> {
        let mut client = self
            .client
            .try_borrow_mut()
            .map_err(|_| busy(&self.shown))?;
        if !client.is_closed() {
            return Ok(());
        }
        let fresh = connect(&self.config, &self.session).map_err(|e| StoreError::Unavailable {
            message: format!("{}: {e}", self.shown),
        })?;
        *client = fresh;
        self.generation.set(self.generation.get() + 1);
        Ok(())
    }

    /// The connection for a write, connected again if it was closed; the statements prepared on
    /// a closed connection are forgotten.
    fn client_mut(&mut self) -> Result<&mut Client, StoreError> {
        self.revive()?;
        if self.statements_generation != self.generation.get() {
            self.statements.clear();
            self.statements_generation = self.generation.get();
        }
        Ok(self.client.get_mut())
    }

    /// Waits until the database announces a changeset (`NOTIFY cairn_changes`, sent by a trigger
    /// when a changeset row commits) or `limit` passes. The first call on a connection runs
    /// `LISTEN`; a notification that came while no one waited is taken at once.
    pub fn wait_for_notification(&self, limit: std::time::Duration) -> Result<bool, StoreError> {
        self.revive()?;
        let generation = self.generation.get();
        let mut client = self
            .client
            .try_borrow_mut()
            .map_err(|_| busy(&self.shown))?;
        if self.listening.get() != Some(generation) {
            client.batch_execute("LISTEN cairn_changes")?;
            self.listening.set(Some(generation));
        }
        let mut notifications = client.notifications();
        // Whatever is pending first, without waiting; then wait.
        if notifications.iter().count()? > 0 {
            return Ok(true);
        }
        Ok(notifications.timeout_iter(limit).next()?.is_some())
    }

    /// The URL without its password, for messages.
    pub fn redacted_url(&self) -> &str {
        &self.shown
    }

    /// Runs every migration not yet applied, in one transaction under `MIGRATION_LOCK`.
    fn migrate(&self, mode: OpenMode) -> Result<(), StoreError> {
        let open_err = |message: String| StoreError::Open {
            path: self.shown.clone(),
            message,
        };
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction()?;
        if mode != OpenMode::ReadOnly {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        }
        let has = |tx: &mut Transaction<'_>, table: &str| -> Result<bool, StoreError> {
            Ok(tx
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])?
                .get(0))
        };
        let applied: Vec<i64> = if has(&mut tx, "schema_migrations")? {
            tx.query("SELECT number FROM schema_migrations ORDER BY number", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect()
        } else {
            if has(&mut tx, "revisions")? || has(&mut tx, "changesets")? {
                return Err(open_err(
                    "this database has tables of its own (revisions, changesets) but is not a Cairn store".into(),
                ));
            }
            if mode != OpenMode::Create {
                return Err(open_err(
                    "no Cairn store in this database; create it with `cairn init`".into(),
                ));
            }
            Vec::new()
        };
        if let Some(&found) = applied.iter().max()
            && found > known
        {
            return Err(StoreError::TooNew {
                path: self.shown.clone(),
                found,
                known,
            });
        }
        let missing: Vec<&(i64, &str)> = MIGRATIONS
            .iter()
            .filter(|(n, _)| !applied.contains(n))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if mode == OpenMode::ReadOnly {
            return Err(open_err(
                "the store needs a migration; open it once for writing".into(),
            ));
        }
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
             number bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )?;
        for (n, sql) in missing {
            tx.batch_execute(sql)
                .map_err(|e| open_err(format!("migration {n}: {e}")))?;
            tx.execute("INSERT INTO schema_migrations (number) VALUES ($1)", &[n])?;
        }
        catalogue::write_shipped(&mut tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Starts an atomic change attributed to `meta`, holding the writer lock until it ends.
    pub fn begin(&mut self, meta: ChangeMeta) -> Result<PgTx<'_>, StoreError> {
        self.client_mut()?;
        let mut tx = self.client.get_mut().transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
        let statements = &mut self.statements;
        let changeset: i64 = tx
            .query_one("SELECT coalesce(max(id), 0) + 1 FROM changesets", &[])?
            .get(0);
        let next_area: i64 = tx
            .query_one("SELECT value FROM counters WHERE name = 'area_id'", &[])?
            .get(0);
        Ok(PgTx {
            tx,
            statements,
            meta,
            changeset,
            next_area,
            summary: ChangeSummary {
                changeset,
                ..Default::default()
            },
            geom_buf: Vec::new(),
            territory: None,
        })
    }

    /// Runs `f` with the connection, for reads.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.revive()?;
        let mut c = self
            .client
            .try_borrow_mut()
            .map_err(|_| busy(&self.shown))?;
        f(&mut c)
    }

    /// Visits the rows of `sql` through a cursor, `FETCH` rows at a time, without holding the
    /// connection while `f` runs (so `f` may read the store too), in one read-only snapshot.
    fn for_each_row(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let depth = self.visiting.get();
        let cursor = format!("cairn_visit_{depth}");
        if depth == 0 {
            self.with(|c| Ok(c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?))?;
        }
        self.visiting.set(depth + 1);
        let result = (|| {
            self.with(|c| {
                c.execute(
                    &format!("DECLARE {cursor} NO SCROLL CURSOR FOR {sql}"),
                    params,
                )?;
                Ok(())
            })?;
            let mut n = 0;
            loop {
                let rows =
                    self.with(|c| Ok(c.query(&format!("FETCH {FETCH} FROM {cursor}"), &[])?))?;
                for r in &rows {
                    f(r)?;
                    n += 1;
                }
                if (rows.len() as i64) < FETCH {
                    break;
                }
            }
            self.with(|c| Ok(c.batch_execute(&format!("CLOSE {cursor}"))?))?;
            Ok(n)
        })();
        self.visiting.set(depth);
        if depth == 0 {
            let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = self.with(|c| Ok(c.batch_execute(end)?));
            let n = result?;
            ended?;
            return Ok(n);
        }
        result
    }

    /// The newest changeset recorded at or before `t`, if any.
    fn changeset_as_of(c: &mut Client, t: Timestamp) -> Result<Option<i64>, StoreError> {
        Ok(c.query_one(
            "SELECT max(id) FROM changesets WHERE recorded_at <= $1",
            &[&t],
        )?
        .get(0))
    }
}

/// Opens a connection with the session's settings.
fn connect(config: &postgres::Config, session: &str) -> Result<Client, postgres::Error> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(session)?;
    Ok(client)
}

fn busy(shown: &str) -> StoreError {
    StoreError::Open {
        path: shown.to_string(),
        message: "the connection is busy (a store call from inside another's callback)".into(),
    }
}

/// True when `e` says the database cannot be reached now rather than that a statement failed:
/// the connection closed or broke, or the server is shutting down, starting or refusing
/// connections (SQLSTATE classes 08 and 57P).
pub(crate) fn unreachable(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08") || c.starts_with("57P")
        }
        // No SQLSTATE: the client's own failure (an I/O error on the socket, a timeout).
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// The columns of an area's revision, in the order `row_to_stored` reads them.
const SELECT_REV: &str = "SELECT r.rev, r.record_id, r.seq, r.op, r.changeset, c.recorded_at, c.author, c.reason, c.source, \
     ST_AsBinary(r.geom, 'NDR'), r.props::text, r.command \
     FROM revisions r JOIN changesets c ON c.id = r.changeset";

fn row_to_stored(r: &Row) -> Result<StoredArea, StoreError> {
    let id: String = r.try_get(1)?;
    let op: String = r.try_get(3)?;
    let geom: Vec<u8> = r.try_get(9)?;
    let props: String = r.try_get(10)?;
    Ok(StoredArea {
        area: decode_area(&id, &geom, &props)?,
        revision: Revision {
            rev: r.try_get(0)?,
            seq: r.try_get(2)?,
            op: parse_op(&id, &op)?,
            changeset: r.try_get(4)?,
            recorded_at: r.try_get(5)?,
            author: r.try_get(6)?,
            reason: r.try_get(7)?,
            source: r.try_get(8)?,
            command: r.try_get(11)?,
        },
    })
}

/// A record's id, geometry and JSON from columns 0, 1 (WKB) and 2 (text).
fn record_row(r: &Row) -> Result<RecordRow, StoreError> {
    let id: String = r.try_get(0)?;
    let wkb: Vec<u8> = r.try_get(1)?;
    let g = geometry(&id, &wkb)?;
    Ok((id, g, r.try_get(2)?))
}

fn head(
    c: &mut impl GenericClient,
    kind: &str,
    id: &str,
) -> Result<Option<(Geometry<f64>, String)>, StoreError> {
    let row = c.query_opt(
        "SELECT ST_AsBinary(r.geom, 'NDR'), r.props::text FROM heads h JOIN revisions r ON r.rev = h.rev \
         WHERE h.kind = $1 AND h.record_id = $2",
        &[&kind, &id],
    )?;
    match row {
        None => Ok(None),
        Some(r) => {
            let wkb: Vec<u8> = r.try_get(0)?;
            Ok(Some((geometry(id, &wkb)?, r.try_get(1)?)))
        }
    }
}

fn heads_where(
    c: &mut impl GenericClient,
    kind: &str,
    field: &str,
    value: &str,
) -> Result<Vec<RecordRow>, StoreError> {
    // `field` is one of the store's own property names, never input.
    debug_assert!(field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    let sql = format!(
        "SELECT r.record_id, ST_AsBinary(r.geom, 'NDR'), r.props::text FROM revisions r JOIN heads h ON h.rev = r.rev \
         WHERE r.kind = $1 AND r.props->>'{field}' = $2 ORDER BY r.record_id"
    );
    c.query(&sql, &[&kind, &value])?
        .iter()
        .map(record_row)
        .collect()
}

impl crate::Backend for PgStore {
    fn reopen(&self, read_only: bool) -> Result<Box<dyn crate::Backend>, StoreError> {
        let mode = if read_only {
            OpenMode::ReadOnly
        } else {
            OpenMode::Existing
        };
        Ok(Box::new(PgStore::open(&self.url, mode)?))
    }

    fn location(&self) -> String {
        self.shown.clone()
    }
}

impl Store for PgStore {
    fn begin(&mut self, meta: ChangeMeta) -> Result<Box<dyn Writer + '_>, StoreError> {
        Ok(Box::new(PgStore::begin(self, meta)?))
    }

    fn get_area(
        &self,
        id: &str,
        as_of: Option<Timestamp>,
    ) -> Result<Option<StoredArea>, StoreError> {
        self.with(|c| {
            let rev: Option<i64> = match as_of {
                None => c
                    .query_opt(
                        "SELECT rev FROM heads WHERE kind = $1 AND record_id = $2",
                        &[&AREA, &id],
                    )?
                    .map(|r| r.get(0)),
                Some(t) => match Self::changeset_as_of(c, t)? {
                    None => None,
                    Some(cs) => c
                        .query_one(
                            "SELECT max(rev) FROM revisions WHERE kind = $1 AND record_id = $2 AND changeset <= $3",
                            &[&AREA, &id, &cs],
                        )?
                        .get(0),
                },
            };
            let Some(rev) = rev else { return Ok(None) };
            c.query_opt(&format!("{SELECT_REV} WHERE r.rev = $1"), &[&rev])?
                .map(|r| row_to_stored(&r))
                .transpose()
        })
    }

    fn for_each_area(
        &self,
        as_of: Option<Timestamp>,
        f: &mut dyn FnMut(StoredArea) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut visit = |r: &Row| f(row_to_stored(r)?);
        match as_of {
            None => self.for_each_row(
                &format!(
                    "{SELECT_REV} JOIN heads h ON h.rev = r.rev WHERE h.kind = '{AREA}' ORDER BY h.record_id"
                ),
                &[],
                &mut visit,
            ),
            Some(t) => match self.with(|c| Self::changeset_as_of(c, t))? {
                None => Ok(0),
                Some(cs) => self.for_each_row(
                    &format!(
                        "{SELECT_REV} JOIN (SELECT max(rev) AS m FROM revisions WHERE kind = '{AREA}' AND changeset <= $1 GROUP BY record_id) x \
                         ON x.m = r.rev ORDER BY r.record_id"
                    ),
                    &[&cs],
                    &mut visit,
                ),
            },
        }
    }

    fn history(&self, id: &str) -> Result<Vec<StoredArea>, StoreError> {
        self.with(|c| {
            c.query(
                &format!(
                    "{SELECT_REV} WHERE r.kind = '{AREA}' AND r.record_id = $1 ORDER BY r.seq"
                ),
                &[&id],
            )?
            .iter()
            .map(row_to_stored)
            .collect()
        })
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.with(|c| {
            let r = c.query_one(
                "SELECT (SELECT count(*) FROM heads WHERE kind = 'area'), (SELECT count(*) FROM revisions), \
                 (SELECT count(*) FROM changesets), (SELECT max(recorded_at) FROM changesets)",
                &[],
            )?;
            Ok(StoreStats {
                areas: r.get::<_, i64>(0) as u64,
                revisions: r.get::<_, i64>(1) as u64,
                changesets: r.get::<_, i64>(2) as u64,
                last_recorded_at: r.get(3),
            })
        })
    }

    /// A stable digest of every changeset, revision and catalogue version, for tests that prove
    /// nothing changed.
    fn content_digest(&self) -> Result<String, StoreError> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut n = 0u64;
        self.for_each_row(
            "SELECT rev, kind, record_id, seq, changeset, op, ST_AsBinary(geom, 'NDR'), props::text FROM revisions ORDER BY rev",
            &[],
            &mut |r| {
                r.try_get::<_, i64>(0)?.hash(&mut h);
                r.try_get::<_, String>(1)?.hash(&mut h);
                r.try_get::<_, String>(2)?.hash(&mut h);
                r.try_get::<_, i64>(3)?.hash(&mut h);
                r.try_get::<_, i64>(4)?.hash(&mut h);
                r.try_get::<_, String>(5)?.hash(&mut h);
                r.try_get::<_, Vec<u8>>(6)?.hash(&mut h);
                r.try_get::<_, String>(7)?.hash(&mut h);
                n += 1;
                Ok(())
            },
        )?;
        let mut c = 0u64;
        self.for_each_row(
            "SELECT id, recorded_at, author, reason, source FROM changesets ORDER BY id",
            &[],
            &mut |r| {
                r.try_get::<_, i64>(0)?.hash(&mut h);
                to_micros(r.try_get::<_, Timestamp>(1)?).hash(&mut h);
                r.try_get::<_, String>(2)?.hash(&mut h);
                r.try_get::<_, String>(3)?.hash(&mut h);
                r.try_get::<_, Option<String>>(4)?.hash(&mut h);
                c += 1;
                Ok(())
            },
        )?;
        self.for_each_row(
            "SELECT version, changeset, toml FROM catalogue_versions ORDER BY version",
            &[],
            &mut |r| {
                r.try_get::<_, i64>(0)?.hash(&mut h);
                r.try_get::<_, i64>(1)?.hash(&mut h);
                r.try_get::<_, String>(2)?.hash(&mut h);
                Ok(())
            },
        )?;
        Ok(format!(
            "{c} changesets, {n} revisions, digest {:016x}",
            h.finish()
        ))
    }

    /// PostgreSQL checks its pages itself; this checks what the schema cannot: every head names
    /// the newest revision of its record, every stored geometry is readable PostGIS with SRID
    /// 4326, and recorded times strictly increase with changeset numbers. `ok` when all hold.
    fn integrity_check(&self) -> Result<String, StoreError> {
        self.with(|c| {
            let r = c.query_one(
                "SELECT \
                 (SELECT count(*) FROM heads h WHERE h.rev <> (SELECT max(rev) FROM revisions r WHERE r.kind = h.kind AND r.record_id = h.record_id)), \
                 (SELECT count(*) FROM revisions WHERE ST_SRID(geom) <> 4326), \
                 (SELECT count(*) FROM (SELECT recorded_at <= lag(recorded_at) OVER (ORDER BY id) AS bad FROM changesets) x WHERE bad)",
                &[],
            )?;
            let (heads, srid, times): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
            let mut problems = Vec::new();
            if heads > 0 {
                problems.push(format!("{heads} heads do not name their newest revision"));
            }
            if srid > 0 {
                problems.push(format!("{srid} geometries are not in SRID 4326"));
            }
            if times > 0 {
                problems.push(format!("{times} changesets are not later than the one before"));
            }
            Ok(if problems.is_empty() {
                "ok".to_string()
            } else {
                problems.join("; ")
            })
        })
    }

    fn last_change(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            Ok(
                c.query_one("SELECT coalesce(max(id), 0) FROM changesets", &[])?
                    .get(0),
            )
        })
    }

    fn changed_areas(&self, after: i64, upto: i64) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let rows = c.query(
                "SELECT DISTINCT record_id FROM revisions WHERE changeset > $1 AND changeset <= $2 AND kind = 'area'",
                &[&after, &upto],
            )?;
            let ids: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
            Ok(ids.into_iter().collect())
        })
    }

    fn wait_for_change(&self, limit: std::time::Duration) -> Result<bool, StoreError> {
        self.wait_for_notification(limit)
    }
}

/// An open write transaction on a PostgreSQL store, holding the writer lock.
pub struct PgTx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
    meta: ChangeMeta,
    changeset: i64,
    next_area: i64,
    summary: ChangeSummary,
    geom_buf: Vec<u8>,
    /// The territory of operations, read once per transaction (`commands::territory`).
    territory: Option<std::sync::Arc<cairn_core::territory::Territory>>,
}

impl std::fmt::Debug for PgTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTx")
            .field("changeset", &self.changeset)
            .finish()
    }
}

/// Records changeset `id` attributed to `meta`, under the writer lock. Its recorded time is the
/// commit time, strictly after every earlier changeset's; it is returned.
pub(crate) fn insert_changeset(
    tx: &mut Transaction<'_>,
    id: i64,
    meta: &ChangeMeta,
) -> Result<Timestamp, StoreError> {
    let last: Option<Timestamp> = tx
        .query_one("SELECT max(recorded_at) FROM changesets", &[])?
        .get(0);
    let now = now();
    let recorded_at = match last {
        Some(l) if l >= now => {
            from_micros(to_micros(l) + 1).ok_or_else(|| StoreError::Corrupt {
                id: format!("changeset {id}"),
                message: "recorded time out of range".into(),
            })?
        }
        _ => now,
    };
    tx.execute(
        "INSERT INTO changesets (id, recorded_at, author, reason, source) VALUES ($1, $2, $3, $4, $5)",
        &[&id, &recorded_at, &meta.author, &meta.reason, &meta.source],
    )?;
    Ok(recorded_at)
}

impl PgTx<'_> {
    /// The statement of `sql`, prepared on this connection the first time it is asked for.
    fn stmt(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    /// Makes the change durable and visible, all of it at once.
    pub fn commit(mut self) -> Result<ChangeSummary, StoreError> {
        if self.summary.created == 0 && self.summary.updated == 0 {
            // Nothing changed: no changeset is recorded, and the transaction ends without effect.
            self.summary.changeset = 0;
            self.tx.commit()?;
            return Ok(self.summary);
        }
        insert_changeset(&mut self.tx, self.changeset, &self.meta)?;
        let st =
            self.stmt("UPDATE counters SET value = greatest(value, $1) WHERE name = 'area_id'")?;
        self.tx.execute(&st, &[&self.next_area])?;
        self.tx.commit()?;
        Ok(self.summary)
    }

    /// The current revision of an area as this transaction sees it, read under its lock:
    /// committed, or put earlier in this transaction (whose changeset row is written only at
    /// commit, so it is joined loosely and carries this transaction's attribution and no time).
    fn head_area(&mut self, id: &str) -> Result<Option<StoredArea>, StoreError> {
        let st = self.stmt("SELECT r.rev, r.record_id, r.seq, r.op, r.changeset, coalesce(c.recorded_at, 'epoch'::timestamptz), \
             coalesce(c.author, $3), coalesce(c.reason, $4), c.source, ST_AsBinary(r.geom, 'NDR'), r.props::text, r.command \
             FROM revisions r LEFT JOIN changesets c ON c.id = r.changeset \
             JOIN heads h ON h.rev = r.rev WHERE h.kind = $1 AND h.record_id = $2")?;
        let row = self
            .tx
            .query_opt(&st, &[&AREA, &id, &self.meta.author, &self.meta.reason])?;
        row.map(|r| row_to_stored(&r)).transpose()
    }

    /// Stores `area`, written by `command`; `known_new` when the caller has just found no record
    /// of its id.
    fn put(
        &mut self,
        command: Option<&'static str>,
        area: &HazardArea,
        known_new: bool,
    ) -> Result<PutOutcome, StoreError> {
        let geometry = area.shape.geometry();
        encode_wkb(&geometry, &mut self.geom_buf).map_err(|e| StoreError::Encode {
            id: area.id.clone(),
            message: e.to_string(),
        })?;
        let props = area_json(area)?;
        let head = if known_new {
            None
        } else {
            let st = self.stmt("SELECT h.seq, ST_AsBinary(r.geom, 'NDR'), r.props::text FROM heads h JOIN revisions r ON r.rev = h.rev \
                 WHERE h.kind = $1 AND h.record_id = $2")?;
            self.tx.query_opt(&st, &[&AREA, &area.id])?
        };
        let (seq, op) = match &head {
            Some(r) => {
                let g: Vec<u8> = r.try_get(1)?;
                let p: String = r.try_get(2)?;
                if g == self.geom_buf && p == props {
                    self.summary.unchanged += 1;
                    return Ok(PutOutcome::Unchanged);
                }
                (r.try_get::<_, i64>(0)? + 1, Op::Update)
            }
            None => (1, Op::Create),
        };
        let st = self.stmt("INSERT INTO revisions (kind, record_id, seq, changeset, op, status, classification, geom, props, command) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, ST_GeomFromWKB($8, 4326), $9::text::json, $10) RETURNING rev")?;
        let rev: i64 = self
            .tx
            .query_one(
                &st,
                &[
                    &AREA,
                    &area.id,
                    &seq,
                    &self.changeset,
                    &op_name(op),
                    &cairn_core::WireEnum::as_str(area.props.status),
                    &cairn_core::WireEnum::as_str(area.props.classification),
                    &self.geom_buf,
                    &props,
                    &command,
                ],
            )?
            .get(0);
        self.set_head(AREA, &area.id, rev, seq)?;
        // Keep the id counter ahead of ids given in imports that follow the HA-nnnnnn pattern.
        if let Some(n) = area
            .id
            .strip_prefix("HA-")
            .and_then(|s| s.parse::<i64>().ok())
        {
            self.next_area = self.next_area.max(n);
        }
        match op {
            Op::Create => {
                self.summary.created += 1;
                Ok(PutOutcome::Created)
            }
            Op::Update => {
                self.summary.updated += 1;
                Ok(PutOutcome::Updated)
            }
        }
    }

    fn set_head(&mut self, kind: &str, id: &str, rev: i64, seq: i64) -> Result<(), StoreError> {
        let st = self.stmt(
            "INSERT INTO heads (kind, record_id, rev, seq) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, record_id) DO UPDATE SET rev = excluded.rev, seq = excluded.seq",
        )?;
        self.tx.execute(&st, &[&kind, &id, &rev, &seq])?;
        Ok(())
    }
}

impl Writer for PgTx<'_> {
    fn write_area(
        &mut self,
        command: cairn_core::command::Command,
        actor: cairn_core::command::Actor<'_>,
        area: &HazardArea,
    ) -> Result<PutOutcome, crate::WriteError> {
        crate::commands::write_area(self, command, actor, area)
    }

    fn current_area(&mut self, id: &str) -> Result<Option<StoredArea>, StoreError> {
        self.head_area(id)
    }

    fn put_area(&mut self, area: &HazardArea) -> Result<PutOutcome, StoreError> {
        self.put(None, area, false)
    }

    fn new_area_id(&mut self) -> Result<String, StoreError> {
        crate::commands::new_area_id(self)
    }

    fn area_exists(&mut self, id: &str) -> Result<bool, StoreError> {
        let st = self.stmt("SELECT 1 FROM heads WHERE kind = $1 AND record_id = $2")?;
        Ok(self.tx.query_opt(&st, &[&AREA, &id])?.is_some())
    }

    fn commit(self: Box<Self>) -> Result<ChangeSummary, StoreError> {
        PgTx::commit(*self)
    }
}

impl CommandTx for PgTx<'_> {
    fn territory_slot(&mut self) -> &mut Option<std::sync::Arc<cairn_core::territory::Territory>> {
        &mut self.territory
    }

    fn record_head(
        &mut self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(Geometry<f64>, String)>, StoreError> {
        head(&mut self.tx, kind, id)
    }

    fn records_where(
        &mut self,
        kind: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordRow>, StoreError> {
        heads_where(&mut self.tx, kind, field, value)
    }

    fn next_number(&mut self, counter: &str) -> Result<i64, StoreError> {
        let st =
            self.stmt("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value")?;
        Ok(self.tx.query_one(&st, &[&counter])?.get(0))
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
        let st = self.stmt("SELECT seq FROM heads WHERE kind = $1 AND record_id = $2")?;
        let seq: Option<i64> = self.tx.query_opt(&st, &[&kind, &id])?.map(|r| r.get(0));
        let (seq, op) = match seq {
            Some(s) => (s + 1, Op::Update),
            None => (1, Op::Create),
        };
        let st = self.stmt("INSERT INTO revisions (kind, record_id, seq, changeset, op, geom, props) \
                 VALUES ($1, $2, $3, $4, $5, ST_GeomFromWKB($6, 4326), $7::text::json) RETURNING rev")?;
        let rev: i64 = self
            .tx
            .query_one(
                &st,
                &[
                    &kind,
                    &id,
                    &seq,
                    &self.changeset,
                    &op_name(op),
                    &self.geom_buf,
                    &props,
                ],
            )?
            .get(0);
        self.set_head(kind, id, rev, seq)?;
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
    ) -> Result<PutOutcome, StoreError> {
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
        catalogue::in_force(&mut self.tx, None)
    }

    fn area_using(&mut self, device_type: &str) -> Result<Option<String>, StoreError> {
        catalogue::area_using(&mut self.tx, device_type)
    }

    fn insert_catalogue_version(&mut self, version: i64, toml: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO catalogue_versions (version, changeset, toml) VALUES ($1, $2, $3)",
            &[&version, &self.changeset, &toml],
        )?;
        self.summary.updated += 1;
        Ok(())
    }
}

impl CommandStore for PgStore {
    type Tx<'a> = PgTx<'a>;

    fn begin_tx(&mut self, meta: ChangeMeta) -> Result<PgTx<'_>, StoreError> {
        self.begin(meta)
    }

    fn record_head(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(Geometry<f64>, String)>, StoreError> {
        self.with(|c| head(c, kind, id))
    }

    fn records_where(
        &self,
        kind: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordRow>, StoreError> {
        self.with(|c| heads_where(c, kind, field, value))
    }

    fn revisions_of(&self, kind: &str, id: &str) -> Result<Vec<RecordRevision>, StoreError> {
        self.with(|c| {
            let rows = c.query(
                "SELECT r.seq, c.recorded_at, c.author, c.reason, ST_AsBinary(r.geom, 'NDR'), r.props::text \
                 FROM revisions r JOIN changesets c ON c.id = r.changeset \
                 WHERE r.kind = $1 AND r.record_id = $2 ORDER BY r.seq",
                &[&kind, &id],
            )?;
            rows.iter()
                .map(|r| {
                    let wkb: Vec<u8> = r.try_get(4)?;
                    let props: String = r.try_get(5)?;
                    Ok(RecordRevision {
                        seq: r.try_get(0)?,
                        recorded_at: r.try_get(1)?,
                        author: r.try_get(2)?,
                        reason: r.try_get(3)?,
                        geometry: geometry(id, &wkb)?,
                        props: serde_json::from_str(&props)
                            .map_err(|e| corrupt(id, format!("properties: {e}")))?,
                    })
                })
                .collect()
        })
    }

    fn current_records(&self, kind: &str) -> Result<Vec<RecordRow>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT r.record_id, ST_AsBinary(r.geom, 'NDR'), r.props::text FROM heads h JOIN revisions r ON r.rev = h.rev \
                 WHERE h.kind = $1 ORDER BY h.record_id",
                &[&kind],
            )?
            .iter()
            .map(record_row)
            .collect()
        })
    }
}

crate::commands::shared_stores!(PgStore);
