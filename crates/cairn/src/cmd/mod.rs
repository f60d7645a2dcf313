//! One module per command; helpers they share.

pub mod accidents;
pub mod audit;
pub mod catalogue;
pub mod check;
pub mod correct;
pub mod export;
pub mod import;
pub mod release;
pub mod report;
pub mod reports;
pub mod serve;
pub mod show;
pub mod synth;
pub mod users;
pub mod zones;

use cairn_core::Timestamp;
use cairn_core::time::{Cautious, parse_instant};
use cairn_store::SqliteStore;
use cairn_store::sqlite::OpenMode;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// `cairn init`: creates the store, or leaves an existing one as it is.
pub fn init(cli: &Cli) -> CmdResult {
    let path = cli.db_path();
    let existed = path.exists();
    let store = SqliteStore::open(&path, OpenMode::Create)?;
    if existed {
        outln!("store {} already exists; left unchanged", store.path());
    } else {
        outln!("created store {}", store.path());
    }
    Ok(0)
}

/// Opens the store for reading; it must exist.
pub fn open_existing(cli: &Cli) -> Result<SqliteStore, Failure> {
    Ok(SqliteStore::open(&cli.db_path(), OpenMode::Existing)?)
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
