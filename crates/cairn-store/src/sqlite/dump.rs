//! `Dump` for SQLite: the logical tables are the physical ones, read in one read transaction
//! (one consistent moment) and restored in one write transaction with the append-only triggers
//! lifted for its duration only (the seeded rows of a new store are replaced) and put back,
//! verified by dumping the transaction's own rows before it commits.

use rusqlite::types::{Value, ValueRef};

use super::SqliteStore;
use crate::StoreError;
use crate::dump::{Cell, Digest, Digester, Dump, DumpSink, TABLES, Tee, verify};

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(r) => Cell::Real(r),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    }
}

fn value(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Integer(*i),
        Cell::Real(r) => Value::Real(*r),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Blob(b) => Value::Blob(b.clone()),
    }
}

/// Inserts a dump's rows into the tables of an open transaction.
struct Inserter<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    sql: String,
}

impl DumpSink for Inserter<'_> {
    fn table(&mut self, name: &str, columns: &[String]) -> Result<(), StoreError> {
        if !TABLES.contains(&name) {
            return Err(StoreError::Corrupt {
                id: name.to_string(),
                message: "not a table of a Cairn store".into(),
            });
        }
        let quoted: Vec<String> = columns
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        self.sql = format!(
            "INSERT INTO \"{name}\" ({}) VALUES ({})",
            quoted.join(", "),
            marks.join(", ")
        );
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError> {
        let values: Vec<Value> = cells.iter().map(value).collect();
        self.tx
            .prepare_cached(&self.sql)?
            .execute(rusqlite::params_from_iter(values))?;
        Ok(())
    }
}

/// Writes every table of `TABLES` from `conn` to `sink`: the caller holds the transaction that
/// makes it one moment.
fn dump_on(conn: &rusqlite::Connection, sink: &mut dyn DumpSink) -> Result<(), StoreError> {
    for table in TABLES {
        // Rows in the order of their values, column by column: the same order from any
        // backend (each table's first columns are its key).
        let width = conn
            .prepare(&format!("SELECT * FROM \"{table}\" LIMIT 0"))?
            .column_count();
        let order: Vec<String> = (1..=width).map(|i| i.to_string()).collect();
        let mut stmt = conn.prepare(&format!(
            "SELECT * FROM \"{table}\" ORDER BY {}",
            order.join(", ")
        ))?;
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        sink.table(table, &columns)?;
        let mut rows = stmt.query([])?;
        let mut cells = Vec::with_capacity(columns.len());
        while let Some(r) = rows.next()? {
            cells.clear();
            for i in 0..columns.len() {
                cells.push(cell(r.get_ref(i)?));
            }
            sink.row(&cells)?;
        }
    }
    Ok(())
}

impl Dump for SqliteStore {
    fn dump(&self, sink: &mut dyn DumpSink) -> Result<(), StoreError> {
        // One read transaction: every table from the same moment, whatever commits meanwhile.
        self.conn.execute_batch("BEGIN")?;
        let result = dump_on(&self.conn, sink);
        self.conn.execute_batch("COMMIT")?;
        result
    }

    fn restore_from(&mut self, source: &dyn Dump) -> Result<Digest, StoreError> {
        let tx = self.conn.transaction()?;
        let held: i64 = tx.query_row(
            "SELECT (SELECT count(*) FROM revisions) + (SELECT count(*) FROM reports) \
             + (SELECT count(*) FROM users) + (SELECT count(*) FROM organisations) \
             + (SELECT count(*) FROM tokens) + (SELECT count(*) FROM catalogue_versions WHERE version > 1)",
            [],
            |r| r.get(0),
        )?;
        if held > 0 {
            return Err(StoreError::Open {
                path: self.path.clone(),
                message: "the store already holds records; a migration writes only into a new, empty store".into(),
            });
        }
        // The append-only triggers, lifted inside this transaction only: a failure rolls their
        // removal back with everything else.
        let triggers: Vec<(String, String)> = {
            let mut stmt =
                tx.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (name, _) in &triggers {
            tx.execute_batch(&format!("DROP TRIGGER \"{name}\""))?;
        }
        for table in TABLES.iter().rev() {
            tx.execute_batch(&format!("DELETE FROM \"{table}\""))?;
        }
        let wrote = {
            let mut inserter = Inserter {
                tx: &tx,
                sql: String::new(),
            };
            let mut tee = Tee {
                sink: &mut inserter,
                digester: Digester::new(),
            };
            source.dump(&mut tee)?;
            tee.digester.finish()
        };
        for (_, sql) in &triggers {
            tx.execute_batch(sql)?;
        }
        let mut read_back = Digester::new();
        dump_on(&tx, &mut read_back)?;
        verify(&wrote, &read_back.finish(), &self.path)?;
        tx.commit()?;
        Ok(wrote)
    }
}
