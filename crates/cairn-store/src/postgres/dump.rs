//! `Dump` for PostgreSQL: the same logical tables and columns as SQLite's dump (SQLite's tables
//! are the logical ones), so that a dump from either backend restores into the other and both
//! digest alike. What differs physically is converted here, column by column (`LOGICAL`):
//!
//! - times: `timestamptz` here, microseconds since 1970 UTC there (`Cell::Int`); both keep
//!   microseconds, so they convert exactly;
//! - geometry: PostGIS `geometry` here, WKB there; `ST_AsBinary(geom, 'NDR')` gives back the
//!   bytes `ST_GeomFromWKB` stored;
//! - `revisions.minx … maxy`: SQLite's bounding box columns, which PostgreSQL has no need of (its
//!   GiST index boxes the geometry itself): the dump computes them from the geometry as SQLite's
//!   writer does (`geo`'s `bounding_rect`), a restore leaves them out;
//! - props: `json` here (the text as written), TEXT there;
//! - `report_triage.by` is `decided_by` here (`by` is reserved in PostgreSQL);
//! - `reports.place`, a generated column, is not moved.
//!
//! A restore runs in one transaction holding `WRITER_LOCK` (and `MIGRATION_LOCK` when it also
//! creates the schema), so no server writes beside it; it lifts the append-only triggers for that
//! transaction only, sets the identity sequences after the restored ids, and dumps its own rows
//! before committing to verify them.

use cairn_core::Timestamp;
use geo::BoundingRect;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Transaction};

use super::{MIGRATION_LOCK, MIGRATIONS, PgStore, WRITER_LOCK, redact};
use crate::StoreError;
use crate::dump::{Cell, Digest, Digester, Dump, DumpSink, TABLES, Tee, verify};
use crate::records::{from_micros, geometry, to_micros};

/// How a logical column is kept in PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Int,
    Real,
    Text,
    Blob,
    /// `timestamptz`; microseconds in the dump.
    Time,
    /// `json`; its text in the dump.
    Json,
    /// PostGIS geometry; NDR WKB in the dump.
    Geom,
    /// A side of the geometry's bounding box (min x, min y, max x, max y): dumped, not stored.
    BBox(u8),
}

/// A logical column: its name in the dump, its kind and its physical name here.
struct Column {
    name: &'static str,
    kind: Kind,
    pg: &'static str,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        pg: name,
    }
}

/// A logical table: its columns in SQLite's order, and the order of its rows (its key: the same
/// order SQLite's dump gives by ordering on every column, since the key is unique).
struct Table {
    name: &'static str,
    columns: &'static [Column],
    order: &'static str,
    /// The identity column, whose sequence a restore moves past the restored ids.
    identity: Option<&'static str>,
}

use Kind::*;

const LOGICAL: &[Table] = &[
    Table {
        name: "changesets",
        columns: &[
            col("id", Int),
            col("recorded_at", Time),
            col("author", Text),
            col("reason", Text),
            col("source", Text),
        ],
        order: "id",
        identity: None,
    },
    Table {
        name: "revisions",
        columns: &[
            col("rev", Int),
            col("kind", Text),
            col("record_id", Text),
            col("seq", Int),
            col("changeset", Int),
            col("op", Text),
            col("status", Text),
            col("classification", Text),
            col("minx", BBox(0)),
            col("miny", BBox(1)),
            col("maxx", BBox(2)),
            col("maxy", BBox(3)),
            col("geom", Geom),
            col("props", Json),
            col("command", Text),
        ],
        order: "rev",
        identity: Some("rev"),
    },
    Table {
        name: "heads",
        columns: &[
            col("kind", Text),
            col("record_id", Text),
            col("rev", Int),
            col("seq", Int),
        ],
        order: "kind COLLATE \"C\", record_id COLLATE \"C\"",
        identity: None,
    },
    Table {
        name: "counters",
        columns: &[col("name", Text), col("value", Int)],
        order: "name COLLATE \"C\"",
        identity: None,
    },
    Table {
        name: "organisations",
        columns: &[col("id", Int), col("name", Text), col("created_at", Time)],
        order: "id",
        identity: Some("id"),
    },
    Table {
        name: "users",
        columns: &[
            col("id", Int),
            col("name", Text),
            col("role", Text),
            col("organisation_id", Int),
            col("created_at", Time),
            col("disabled_at", Time),
        ],
        order: "id",
        identity: Some("id"),
    },
    Table {
        name: "tokens",
        columns: &[
            col("id", Int),
            col("user_id", Int),
            col("hash", Blob),
            col("created_at", Time),
            col("expires_at", Time),
            col("revoked_at", Time),
        ],
        order: "id",
        identity: Some("id"),
    },
    Table {
        name: "reports",
        columns: &[
            col("id", Int),
            col("reference", Text),
            col("received_at", Time),
            col("lon", Real),
            col("lat", Real),
            col("accuracy_m", Real),
            col("category", Text),
            col("description", Text),
            col("seen_at", Time),
            col("photo_type", Text),
            col("photo", Blob),
        ],
        order: "id",
        identity: Some("id"),
    },
    Table {
        name: "report_triage",
        columns: &[
            col("id", Int),
            col("report_id", Int),
            col("at", Time),
            Column {
                name: "by",
                kind: Text,
                pg: "decided_by",
            },
            col("action", Text),
            col("area_id", Text),
            col("reason", Text),
            col("changeset", Int),
        ],
        order: "id",
        identity: Some("id"),
    },
    Table {
        name: "catalogue_versions",
        columns: &[
            col("version", Int),
            col("changeset", Int),
            col("toml", Text),
        ],
        order: "version",
        identity: None,
    },
];

fn table(name: &str) -> Option<&'static Table> {
    LOGICAL.iter().find(|t| t.name == name)
}

/// What a column's SELECT reads (`None`: computed, not read).
fn select_expr(c: &Column) -> Option<String> {
    Some(match c.kind {
        BBox(_) => return None,
        Geom => format!("ST_AsBinary({}, 'NDR')", c.pg),
        Json => format!("{}::text", c.pg),
        _ => c.pg.to_string(),
    })
}

/// Writes every logical table from `c` to `sink`; the caller's transaction makes it one moment.
fn dump_on(c: &mut impl GenericClient, sink: &mut dyn DumpSink) -> Result<(), StoreError> {
    debug_assert_eq!(
        LOGICAL.iter().map(|t| t.name).collect::<Vec<_>>(),
        TABLES.to_vec()
    );
    for t in LOGICAL {
        let read: Vec<&Column> = t
            .columns
            .iter()
            .filter(|c| select_expr(c).is_some())
            .collect();
        let exprs: Vec<String> = read.iter().filter_map(|c| select_expr(c)).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            exprs.join(", "),
            t.name,
            t.order
        );
        let names: Vec<String> = t.columns.iter().map(|c| c.name.to_string()).collect();
        sink.table(t.name, &names)?;
        let geom_at = read.iter().position(|c| c.kind == Geom);
        let no_params: [&(dyn ToSql + Sync); 0] = [];
        let mut rows = c.query_raw(sql.as_str(), no_params)?;
        let mut cells = Vec::with_capacity(t.columns.len());
        while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
            let bbox = match geom_at {
                Some(i) => {
                    let wkb: Vec<u8> = r.try_get(i)?;
                    geometry(&format!("{} row", t.name), &wkb)?.bounding_rect()
                }
                None => None,
            };
            cells.clear();
            let mut i = 0;
            for c in t.columns {
                let cell = match c.kind {
                    BBox(side) => match bbox {
                        None => Cell::Null,
                        Some(b) => Cell::Real(match side {
                            0 => b.min().x,
                            1 => b.min().y,
                            2 => b.max().x,
                            _ => b.max().y,
                        }),
                    },
                    Int => r
                        .try_get::<_, Option<i64>>(i)?
                        .map_or(Cell::Null, Cell::Int),
                    Real => r
                        .try_get::<_, Option<f64>>(i)?
                        .map_or(Cell::Null, Cell::Real),
                    Text | Json => r
                        .try_get::<_, Option<String>>(i)?
                        .map_or(Cell::Null, Cell::Text),
                    Blob | Geom => r
                        .try_get::<_, Option<Vec<u8>>>(i)?
                        .map_or(Cell::Null, Cell::Blob),
                    Time => r
                        .try_get::<_, Option<Timestamp>>(i)?
                        .map_or(Cell::Null, |t| Cell::Int(to_micros(t))),
                };
                if !matches!(c.kind, BBox(_)) {
                    i += 1;
                }
                cells.push(cell);
            }
            sink.row(&cells)?;
        }
    }
    Ok(())
}

/// Inserts a dump's rows into the logical tables, inside a restoring transaction.
struct Inserter<'a, 'b> {
    tx: &'a mut Transaction<'b>,
    table: Option<&'static Table>,
    /// For each column of the dump: the logical column it fills, or `None` (a bounding box side).
    columns: Vec<Option<&'static Column>>,
    statement: Option<postgres::Statement>,
}

fn wrong(table: &str, column: &str, cell: &Cell) -> StoreError {
    StoreError::Corrupt {
        id: format!("{table}.{column}"),
        message: format!("a value of the wrong kind for this column: {cell:?}"),
    }
}

impl DumpSink for Inserter<'_, '_> {
    fn table(&mut self, name: &str, columns: &[String]) -> Result<(), StoreError> {
        let t = table(name).ok_or_else(|| StoreError::Corrupt {
            id: name.to_string(),
            message: "not a table of a Cairn store".into(),
        })?;
        self.columns.clear();
        let (mut names, mut values) = (Vec::new(), Vec::new());
        for given in columns {
            let c =
                t.columns
                    .iter()
                    .find(|c| c.name == given)
                    .ok_or_else(|| StoreError::Corrupt {
                        id: format!("{name}.{given}"),
                        message: "not a column of a Cairn store's table".into(),
                    })?;
            if matches!(c.kind, BBox(_)) {
                self.columns.push(None);
                continue;
            }
            self.columns.push(Some(c));
            names.push(format!("\"{}\"", c.pg));
            let n = names.len();
            values.push(match c.kind {
                Geom => format!("ST_GeomFromWKB(${n}, 4326)"),
                Json => format!("${n}::text::json"),
                _ => format!("${n}"),
            });
        }
        // Ids are kept as they were: identity columns take the given values.
        let sql = format!(
            "INSERT INTO {name} ({}) OVERRIDING SYSTEM VALUE VALUES ({})",
            names.join(", "),
            values.join(", ")
        );
        self.statement = Some(self.tx.prepare(&sql)?);
        self.table = Some(t);
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError> {
        let (Some(t), Some(st)) = (self.table, self.statement.as_ref()) else {
            return Err(StoreError::Corrupt {
                id: "dump".into(),
                message: "a row before its table".into(),
            });
        };
        if cells.len() != self.columns.len() {
            return Err(StoreError::Corrupt {
                id: t.name.into(),
                message: format!(
                    "a row of {} values for {} columns",
                    cells.len(),
                    self.columns.len()
                ),
            });
        }
        let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(cells.len());
        for (cell, c) in cells.iter().zip(&self.columns) {
            let Some(c) = c else { continue };
            let bad = || wrong(t.name, c.name, cell);
            params.push(match (c.kind, cell) {
                (Int, Cell::Int(i)) => Box::new(*i),
                (Int, Cell::Null) => Box::new(None::<i64>),
                (Real, Cell::Real(r)) => Box::new(*r),
                (Real, Cell::Null) => Box::new(None::<f64>),
                (Text | Json, Cell::Text(s)) => Box::new(s.clone()),
                (Text | Json, Cell::Null) => Box::new(None::<String>),
                (Blob | Geom, Cell::Blob(b)) => Box::new(b.clone()),
                (Blob | Geom, Cell::Null) => Box::new(None::<Vec<u8>>),
                (Time, Cell::Int(us)) => Box::new(from_micros(*us).ok_or_else(bad)?),
                (Time, Cell::Null) => Box::new(None::<Timestamp>),
                _ => return Err(bad()),
            });
        }
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref()).collect();
        self.tx.execute(st, &refs)?;
        Ok(())
    }
}

/// Whether the store holds anything a person wrote (more than creating it wrote), as a
/// sentence naming what, for the refusal.
fn held(tx: &mut Transaction<'_>) -> Result<Option<String>, StoreError> {
    let r = tx.query_one(
        "SELECT (SELECT count(*) FROM revisions), (SELECT count(*) FROM reports), \
         (SELECT count(*) FROM users), (SELECT count(*) FROM organisations), \
         (SELECT count(*) FROM tokens), (SELECT count(*) FROM catalogue_versions WHERE version > 1)",
        &[],
    )?;
    let names = [
        "revisions",
        "reports",
        "users",
        "organisations",
        "tokens",
        "catalogue versions",
    ];
    let found: Vec<String> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let k: i64 = r.get(i);
            (k > 0).then(|| format!("{n}: {k}"))
        })
        .collect();
    Ok((!found.is_empty()).then(|| found.join(", ")))
}

/// Replaces the content of the store in `tx` (which holds `WRITER_LOCK`) with `source`'s dump
/// and verifies it; the caller commits. `shown` names the store in messages.
fn restore_in(
    tx: &mut Transaction<'_>,
    source: &dyn Dump,
    shown: &str,
) -> Result<Digest, StoreError> {
    if let Some(what) = held(tx)? {
        return Err(StoreError::Open {
            path: shown.to_string(),
            message: format!(
                "the store already holds records ({what}); a migration writes only into a new, \
                 empty store (a new database, or one where `cairn init` alone has run)"
            ),
        });
    }
    // The append-only triggers, lifted for this transaction only, by ALTER TABLE … DISABLE
    // TRIGGER rather than `SET LOCAL session_replication_role = replica`: ALTER TABLE is
    // transactional (a rollback puts the triggers back, a commit puts them back as they were
    // since they are enabled again below) and holds an ACCESS EXCLUSIVE lock until the end, so no
    // other session ever sees them off; it needs only the tables' ownership, which the store's
    // user has, where the replication role needs a superuser; and it lifts exactly these
    // triggers, where the replica role also silences the foreign keys' internal triggers, so a
    // faulty dump would commit dangling references.
    let lifted: Vec<(String, String)> = tx
        .query(
            "SELECT c.relname::text, t.tgname::text FROM pg_trigger t \
             JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid \
             WHERE p.proname = 'cairn_refuse_change' AND NOT t.tgisinternal AND t.tgenabled <> 'D' \
             AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) ORDER BY 1, 2",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (table, trigger) in &lifted {
        tx.batch_execute(&format!(
            "ALTER TABLE \"{table}\" DISABLE TRIGGER \"{trigger}\""
        ))?;
    }
    // What creating the store wrote (counters at zero, the shipped catalogue in changeset 1) is
    // replaced by the source's.
    for t in TABLES.iter().rev() {
        tx.batch_execute(&format!("DELETE FROM {t}"))?;
    }
    let wrote = {
        let mut inserter = Inserter {
            tx: &mut *tx,
            table: None,
            columns: Vec::new(),
            statement: None,
        };
        let mut tee = Tee {
            sink: &mut inserter,
            digester: Digester::new(),
        };
        source.dump(&mut tee)?;
        tee.digester.finish()
    };
    // Later writes continue after the restored ids: changesets and catalogue versions number
    // themselves `max + 1`, records by `counters` (restored), and the identity columns by their
    // sequences, set here.
    for t in LOGICAL {
        if let Some(c) = t.identity {
            tx.query_one(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', '{c}'), \
                     (SELECT coalesce(max({c}), 0) + 1 FROM {0}), false)",
                    t.name
                ),
                &[],
            )?;
        }
    }
    // The deferred foreign keys (revisions and catalogue versions to their changesets, triage to
    // the changeset that opened an area) are checked now: every restored reference must hold,
    // and ALTER TABLE refuses to run while checks are pending.
    tx.batch_execute("SET CONSTRAINTS ALL IMMEDIATE")?;
    for (table, trigger) in &lifted {
        tx.batch_execute(&format!(
            "ALTER TABLE \"{table}\" ENABLE TRIGGER \"{trigger}\""
        ))?;
    }
    // Checked inside the transaction: the rows as the store gives them back.
    let mut read_back = Digester::new();
    dump_on(&mut *tx, &mut read_back)?;
    verify(&wrote, &read_back.finish(), shown)?;
    Ok(wrote)
}

impl Dump for PgStore {
    fn dump(&self, sink: &mut dyn DumpSink) -> Result<(), StoreError> {
        self.with(|c| {
            // One snapshot: every table from the same moment, whatever commits meanwhile.
            let mut tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            dump_on(&mut tx, sink)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn restore_from(&mut self, source: &dyn Dump) -> Result<Digest, StoreError> {
        let shown = self.shown.clone();
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
            let digest = restore_in(&mut tx, source, &shown)?;
            tx.commit()?;
            Ok(digest)
        })
    }
}

/// Restores `source` into the database at `url` in one transaction: the store's schema is
/// created in that transaction when the database has none yet, so a failure leaves the database
/// exactly as it was, with or without a Cairn store. The store must be empty (nothing but what
/// creating it wrote). Returns the digest of the rows moved, verified before the commit.
pub fn restore_into(url: &str, source: &dyn Dump) -> Result<Digest, StoreError> {
    let shown = redact(url);
    let open_err = |message: String| StoreError::Open {
        path: shown.clone(),
        message,
    };
    let mut client = connect(url).map_err(|e| open_err(e.to_string()))?;
    let result = (|| {
        let mut tx = client.transaction()?;
        // The locks every opener and writer takes, in their order: no migration of the schema
        // and no changeset beside this one.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
        create_schema(&mut tx, &shown)?;
        let digest = restore_in(&mut tx, source, &shown)?;
        tx.commit()?;
        Ok(digest)
    })();
    result.map_err(|e| match e {
        StoreError::Postgres(e) => open_err(describe(&e)),
        other => other,
    })
}

/// A PostgreSQL error in full: the server's message, with its detail and the table and column
/// it names (the client's own text for a database error is only "db error").
fn describe(e: &postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        return e.to_string();
    };
    let mut s = db.message().to_string();
    if let Some(d) = db.detail() {
        s.push_str(&format!(" ({d})"));
    }
    match (db.table(), db.column()) {
        (Some(t), Some(c)) => s.push_str(&format!(" in {t}.{c}")),
        (Some(t), None) => s.push_str(&format!(" in {t}")),
        _ => {}
    }
    if let Some(w) = db.where_() {
        s.push_str(&format!("; {}", w.lines().next().unwrap_or_default()));
    }
    s
}

/// A session as `PgStore::open` makes one.
fn connect(url: &str) -> Result<Client, String> {
    let lowered = match url.find("://") {
        Some(i) => format!("{}{}", url[..i].to_ascii_lowercase(), &url[i..]),
        None => url.to_string(),
    };
    let config: postgres::Config = lowered
        .trim()
        .parse()
        .map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
    let mut client = config
        .connect(NoTls)
        .map_err(|e| format!("cannot connect: {e}"))?;
    client
        .batch_execute(
            "SET synchronous_commit = on; SET application_name = 'cairn migrate'; \
             SET client_min_messages = warning;",
        )
        .map_err(|e| e.to_string())?;
    Ok(client)
}

/// Brings the schema in `tx` up to date as opening the store would (`PgStore::migrate`), inside
/// the restoring transaction. The shipped catalogue is not written: the restore brings the
/// source's.
fn create_schema(tx: &mut Transaction<'_>, shown: &str) -> Result<(), StoreError> {
    let has = |tx: &mut Transaction<'_>, table: &str| -> Result<bool, StoreError> {
        Ok(tx
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])?
            .get(0))
    };
    let applied: Vec<i64> = if has(tx, "schema_migrations")? {
        tx.query("SELECT number FROM schema_migrations", &[])?
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else if has(tx, "revisions")? || has(tx, "changesets")? {
        return Err(StoreError::Open {
            path: shown.to_string(),
            message: "this database has tables of its own (revisions, changesets) but is not a \
                      Cairn store"
                .into(),
        });
    } else {
        Vec::new()
    };
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if let Some(&found) = applied.iter().max()
        && found > known
    {
        return Err(StoreError::TooNew {
            path: shown.to_string(),
            found,
            known,
        });
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
         number bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    )?;
    for (n, sql) in MIGRATIONS.iter().filter(|(n, _)| !applied.contains(n)) {
        tx.batch_execute(sql).map_err(|e| StoreError::Open {
            path: shown.to_string(),
            message: format!("migration {n}: {e}"),
        })?;
        tx.execute("INSERT INTO schema_migrations (number) VALUES ($1)", &[n])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dump::Collected;
    use crate::sqlite::{OpenMode, SqliteStore};

    /// The logical columns are SQLite's, table by table and in order: what makes a dump of either
    /// backend restore into the other and digest alike.
    #[test]
    fn the_logical_tables_are_the_sqlite_stores_tables() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
        let mut got = Collected::default();
        store.dump(&mut got).unwrap();
        let sqlite: Vec<(String, Vec<String>)> =
            got.0.into_iter().map(|t| (t.name, t.columns)).collect();
        let here: Vec<(String, Vec<String>)> = LOGICAL
            .iter()
            .map(|t| {
                (
                    t.name.to_string(),
                    t.columns.iter().map(|c| c.name.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(here, sqlite);
    }
}
