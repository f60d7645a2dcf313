//! `cairn backup FILE`: an online copy of a SQLite store, taken while the service runs, checked
//! (SQLite's integrity check, and the same history as the store when nothing was written during
//! the copy). A PostgreSQL store is backed up by PostgreSQL's own tools; the command says how.

use std::path::PathBuf;

use cairn_store::SqliteStore;
use cairn_store::sqlite::OpenMode;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn backup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The new file to write the copy to (it must not exist).
    pub file: PathBuf,
}

/// Runs `cairn backup`.
pub fn run(cli: &Cli, a: &Args) -> CmdResult {
    let Some(db) = cli.db_file() else {
        return Err(Failure::input(format!(
            "--db {}: a PostgreSQL store is backed up with PostgreSQL's tools, online and \
             consistent: `pg_dump --format=custom --file=cairn.dump 'URL'`, restored into an \
             empty database with `pg_restore --dbname='URL' cairn.dump` (see README, Backups)",
            super::redact(&cli.db())
        )));
    };
    let target = a.file.display().to_string();
    if a.file.exists() {
        return Err(Failure::input(format!(
            "{target}: the file exists; cairn backup writes a new file and never overwrites one"
        )));
    }
    let store = SqliteStore::open(&db, OpenMode::ReadOnly)?;
    let before = cairn_store::Store::last_change(&store)?;
    let held = store.backup_to(&a.file)?;
    let copy = SqliteStore::open(&a.file, OpenMode::ReadOnly)?;
    let check = cairn_store::Store::integrity_check(&copy)?;
    if check != "ok" {
        return Err(Failure::internal(format!(
            "{target}: the copy fails SQLite's integrity check: {check}"
        )));
    }
    // Written meanwhile, the store has moved on and the copy is a consistent earlier moment.
    let same = if cairn_store::Store::last_change(&store)? == held && held == before {
        let (a, b) = (
            cairn_store::Store::content_digest(&store)?,
            cairn_store::Store::content_digest(&copy)?,
        );
        if a != b {
            return Err(Failure::internal(format!(
                "{target}: the copy's history differs from the store's ({b} against {a})"
            )));
        }
        ", history identical to the store's"
    } else {
        ", the store has moved on since"
    };
    outln!(
        "backed up {} to {target}: up to change {held}, integrity ok{same}",
        store.path()
    );
    Ok(0)
}
