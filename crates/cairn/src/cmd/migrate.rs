//! `cairn migrate --from STORE --to STORE`: moves a whole store — every revision, changeset,
//! report with its photo, user, organisation, token hash and catalogue version — into a new,
//! empty store of either backend, and verifies it. Stores are named as `--db` names them (a file,
//! `sqlite:FILE`, or a `postgres://` address), so a migration goes SQLite → PostgreSQL,
//! PostgreSQL → SQLite, or between two stores of one backend.
//!
//! The source is only read, from one consistent moment. The target is written in one
//! transaction, which digests the rows as they pass (counts per table and a SHA-256), dumps its
//! own rows before it commits and compares: a difference, like any failure, rolls it all back (a
//! new SQLite file is removed; a PostgreSQL database is left as it was, even its schema when the
//! migration created it). After the commit the target is dumped once more from a new connection
//! and must give the same digest.

use std::path::PathBuf;

use cairn_store::dump::{Digest, Dump};
use cairn_store::sqlite::OpenMode;
use cairn_store::{PgStore, SqliteStore, Store, StoreError};

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn migrate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store to copy from (it is only read): a SQLite file (`sqlite:FILE` or a path) or a
    /// `postgres://` address.
    #[arg(long)]
    pub from: String,
    /// The new store to copy to: a SQLite file that does not exist yet, or a `postgres://`
    /// address of a database without a Cairn store or with an empty one (`cairn init`).
    #[arg(long)]
    pub to: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// A store named on the command line.
enum Named {
    File(PathBuf),
    Url(String),
}

impl Named {
    fn parse(name: &str) -> Named {
        if super::is_database_url(name) {
            Named::Url(name.trim().to_string())
        } else {
            Named::File(PathBuf::from(name.strip_prefix("sqlite:").unwrap_or(name)))
        }
    }

    /// The name for messages: a URL without its password.
    fn shown(&self) -> String {
        match self {
            Named::File(p) => p.display().to_string(),
            Named::Url(u) => super::redact(u),
        }
    }
}

/// An open store of either backend.
enum Opened {
    Sqlite(SqliteStore),
    Pg(Box<PgStore>),
}

impl Opened {
    fn open(named: &Named, mode: OpenMode) -> Result<Opened, StoreError> {
        Ok(match named {
            Named::File(p) => Opened::Sqlite(SqliteStore::open(p, mode)?),
            Named::Url(u) => Opened::Pg(Box::new(PgStore::open(u, mode)?)),
        })
    }

    fn dump(&self) -> &dyn Dump {
        match self {
            Opened::Sqlite(s) => s,
            Opened::Pg(s) => &**s,
        }
    }

    fn last_change(&self) -> Result<i64, StoreError> {
        match self {
            Opened::Sqlite(s) => s.last_change(),
            Opened::Pg(s) => s.last_change(),
        }
    }
}

/// A store's failure, said of the flag that named the store (its exit code kept).
fn of(flag: &str, e: impl Into<Failure>) -> Failure {
    let f = e.into();
    Failure {
        code: f.code,
        message: format!("{flag}: {}", f.message),
    }
}

/// Runs `cairn migrate`.
pub fn run(_cli: &Cli, a: &Args) -> CmdResult {
    let (from, to) = (Named::parse(&a.from), Named::parse(&a.to));
    let same = match (&from, &to) {
        (Named::File(f), Named::File(t)) => f == t,
        (Named::Url(f), Named::Url(t)) => f == t,
        _ => false,
    };
    if same {
        return Err(Failure::input(format!(
            "--from and --to both name {}; a migration copies a store into another, new one",
            to.shown()
        )));
    }
    if let Named::File(p) = &from
        && !p.exists()
    {
        return Err(Failure::input(format!(
            "--from {}: no such store",
            p.display()
        )));
    }
    if let Named::File(p) = &to
        && p.exists()
    {
        return Err(Failure::input(format!(
            "--to {}: the file exists; a migration writes a new store and never into an existing one",
            p.display()
        )));
    }
    let source = Opened::open(&from, OpenMode::ReadOnly).map_err(|e| of("--from", e))?;
    let wrote = match &to {
        Named::File(p) => {
            let result = (|| -> Result<Digest, StoreError> {
                let mut target = SqliteStore::open(p, OpenMode::Create)?;
                target.restore_from(source.dump())
            })();
            if result.is_err() {
                // No half-made store is left behind.
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
                }
            }
            result.map_err(|e| of("--to", e))?
        }
        Named::Url(u) => {
            cairn_store::postgres::restore_into(u, source.dump()).map_err(|e| of("--to", e))?
        }
    };
    // Committed: read back once more, through a connection of its own.
    let target = Opened::open(&to, OpenMode::ReadOnly).map_err(|e| of("--to", e))?;
    let got = Digest::of(target.dump()).map_err(|e| of("--to", e))?;
    if let Some(why) = got.mismatch(&wrote) {
        return Err(Failure::internal(format!(
            "--to {}: after the commit, {why}",
            to.shown()
        )));
    }
    let change = target.last_change().map_err(|e| of("--to", e))?;
    if a.json {
        let counts: serde_json::Map<String, serde_json::Value> = got
            .counts
            .iter()
            .map(|(t, n)| (t.clone(), (*n).into()))
            .collect();
        outln!(
            "{}",
            serde_json::json!({"from": from.shown(), "to": to.shown(),
                "change": change, "counts": counts, "sha256": got.sha256})
        );
    } else {
        outln!(
            "migrated {} to {} up to change {change}, verified (sha256 {}):",
            from.shown(),
            to.shown(),
            got.sha256
        );
        for (table, n) in &got.counts {
            outln!("  {table}: {n} rows");
        }
    }
    Ok(0)
}
