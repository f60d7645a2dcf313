//! `cairn migrate --from STORE --to STORE`: moves a whole store — every revision, changeset,
//! report with its photo, user, organisation, token hash and catalogue version — into a new,
//! empty store, and verifies it: the counts of every table and a SHA-256 over every row of the
//! two stores' dumps must agree. Stores are named as `--db` names them (a file, `sqlite:FILE`, or a
//! `postgres://` address).

use std::path::PathBuf;

use cairn_store::SqliteStore;
use cairn_store::dump::{Digest, Dump};
use cairn_store::sqlite::OpenMode;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn migrate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store to copy from (it is only read).
    #[arg(long)]
    pub from: String,
    /// The new store to copy to: a file that does not exist yet.
    #[arg(long)]
    pub to: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// A store named on the command line, as a SQLite file.
fn sqlite_file(flag: &str, name: &str) -> Result<PathBuf, Failure> {
    if super::is_database_url(name) {
        return Err(Failure::input(format!(
            "{flag} {}: migrating to or from PostgreSQL is not in this build yet; \
             SQLite files only",
            super::redact(name)
        )));
    }
    Ok(PathBuf::from(name.strip_prefix("sqlite:").unwrap_or(name)))
}

/// Runs `cairn migrate`.
pub fn run(_cli: &Cli, a: &Args) -> CmdResult {
    let from = sqlite_file("--from", &a.from)?;
    let to = sqlite_file("--to", &a.to)?;
    if !from.exists() {
        return Err(Failure::input(format!(
            "--from {}: no such store",
            from.display()
        )));
    }
    if to.exists() {
        return Err(Failure::input(format!(
            "--to {}: the file exists; a migration writes a new store and never into an existing one",
            to.display()
        )));
    }
    let source = SqliteStore::open(&from, OpenMode::ReadOnly)?;
    let started_at = cairn_store::Store::last_change(&source)?;
    let result = (|| -> Result<Digest, Failure> {
        let mut target = SqliteStore::open(&to, OpenMode::Create)?;
        target.restore_from(&source)?;
        let (want, got) = (Digest::of(&source)?, Digest::of(&target)?);
        if want != got {
            if cairn_store::Store::last_change(&source)? != started_at {
                return Err(Failure::input(format!(
                    "--from {}: the store was written during the migration; stop its writers and run it again",
                    from.display()
                )));
            }
            return Err(Failure::internal(format!(
                "--to {}: the copy differs from the store (counts {:?} against {:?})",
                to.display(),
                got.counts,
                want.counts
            )));
        }
        Ok(got)
    })();
    let digest = match result {
        Ok(d) => d,
        Err(e) => {
            // No half-made store is left behind.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
            }
            return Err(e);
        }
    };
    if a.json {
        let counts: serde_json::Map<String, serde_json::Value> = digest
            .counts
            .iter()
            .map(|(t, n)| (t.clone(), (*n).into()))
            .collect();
        outln!(
            "{}",
            serde_json::json!({"from": from.display().to_string(), "to": to.display().to_string(),
                "change": started_at, "counts": counts, "sha256": digest.sha256})
        );
    } else {
        outln!(
            "migrated {} to {} up to change {started_at}, verified (sha256 {}):",
            from.display(),
            to.display(),
            digest.sha256
        );
        for (table, n) in &digest.counts {
            outln!("  {table}: {n} rows");
        }
    }
    Ok(0)
}
