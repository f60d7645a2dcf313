//! One module per command; helpers they share.

pub mod accidents;
pub mod audit;
pub mod backup;
pub mod catalogue;
pub mod check;
pub mod correct;
pub mod export;
mod gdal_source;
pub mod import;
pub mod migrate;
pub mod release;
pub mod report;
pub mod reports;
pub mod serve;
pub mod show;
pub mod synth;
pub mod territory;
pub mod users;
pub mod zones;

use cairn_core::Timestamp;
use cairn_core::time::{Cautious, parse_instant};
use cairn_store::Backend;
use cairn_store::sqlite::OpenMode;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// `cairn init`: creates the store, or leaves an existing one as it is.
pub fn init(cli: &Cli) -> CmdResult {
    let existed = cli.db_file().map(|path| path.exists());
    let store = open_store(cli, OpenMode::Create)?;
    if existed == Some(true) {
        outln!("store {} already exists; left unchanged", store.location());
    } else if existed.is_none() {
        // A database server's store: opening it created or brought its schema up to date.
        outln!("store {} ready", store.location());
    } else {
        outln!("created store {}", store.location());
    }
    Ok(0)
}

/// Opens the store `--db` (or `$CAIRN_DB`) names, whichever backend it is: a file is SQLite, a
/// `postgres://` address PostgreSQL/PostGIS. Every command reaches the store through this.
pub fn open_store(cli: &Cli, mode: OpenMode) -> Result<Box<dyn Backend>, Failure> {
    Ok(cairn_store::open(&cli.db(), mode)?)
}

/// Opens the store for reading; it must exist.
pub fn open_existing(cli: &Cli) -> Result<Box<dyn Backend>, Failure> {
    open_store(cli, OpenMode::Existing)
}

/// Whether `--db` names a database server rather than a file.
pub fn is_database_url(db: &str) -> bool {
    cairn_store::is_postgres_url(db)
}

/// A database address without its password, for messages.
pub fn redact(db: &str) -> String {
    cairn_store::postgres::redact(db)
}

/// Parses a time given on the command line: RFC 3339, or a date read as `how` says (`--at` and
/// `--as-of` take `Cautious::Earliest`, the first moment of the day; see `cairn_core::time`).
pub fn parse_time_arg(name: &str, s: &str, how: Cautious) -> Result<Timestamp, Failure> {
    parse_instant(s, how).map_err(|m| Failure::input(format!("{name}: {m}")))
}

/// The author to record when none is given: $CAIRN_AUTHOR, else the login name.
pub fn default_author() -> String {
    std::env::var("CAIRN_AUTHOR")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into())
}
