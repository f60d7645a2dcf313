//! The `cairn` command line: argument parsing and glue; the work is done in the library crates.

/// `outln!` for the commands' output: a reader that stops early (`cairn zone list | head`)
/// ends the process quietly with status 141, as a process killed by SIGPIPE reports in a shell
/// (never 0: a script reading a check's status must not take a cut-off answer for success),
/// instead of the panic `outln!` raises. Any other failure to write is reported and ends it
/// with status 1.
macro_rules! outln {
    () => {
        $crate::out_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out_line(format_args!($($arg)*))
    };
}

/// Writes one line of a command's output to standard output (see `outln!`).
pub(crate) fn out_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("cairn: writing to standard output: {e}");
        std::process::exit(1);
    }
}

mod cmd;
mod fail;
mod progress;

/// mimalloc instead of glibc's malloc: the import's parser and store threads allocate and free
/// each other's memory, and glibc's arena locks cost it a futex call per feature or so (strace:
/// 110,000 futex calls on 100,000 areas).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::fail::Failure;

/// Cairn: an open information system for humanitarian mine action.
#[derive(Parser, Debug)]
#[command(name = "cairn", version, about, long_about = None)]
pub struct Cli {
    /// The store: a file (SQLite) or a `postgres://` address. Default: $CAIRN_DB, else
    /// ./cairn.db.
    #[arg(long, global = true, env = "CAIRN_DB")]
    pub db: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create an empty store (does nothing to an existing one).
    Init,
    /// Import a GeoJSON FeatureCollection or CSV file, atomically.
    Import(cmd::import::Args),
    /// Export the current or a past state as GeoJSON, CSV or GeoPackage.
    Export(cmd::export::Args),
    /// Copy the whole store, online, to a new file, and check the copy.
    Backup(cmd::backup::Args),
    /// Move a whole store, history and all, into a new store, and verify it.
    Migrate(cmd::migrate::Args),
    /// Show one record with its residual-hazard estimate.
    Show(cmd::show::ShowArgs),
    /// Show every revision of a record: time, author, reason, what changed.
    History(cmd::show::HistoryArgs),
    /// Check a place or a route against the recorded hazards.
    Check(cmd::check::Args),
    /// Write a realistic, fictional data set for tests, demos and benchmarks.
    Synth(cmd::synth::Args),
    /// Build a fresh store with the demo data set, show its summary, and serve it.
    Demo(cmd::synth::DemoArgs),
    /// Serve the HTTP API and the public map.
    Serve(cmd::serve::Args),
    /// Create, list and revoke API tokens.
    Token(cmd::serve::TokenArgs),
    /// Reports of suspicious objects from the public: list, show, triage.
    Reports(cmd::reports::Args),
    /// Add, list and disable users (each with a role and an organisation).
    User(cmd::users::UserArgs),
    /// Add and list organisations.
    Org(cmd::users::OrgArgs),
    /// Record field work on an area: survey, clearance, marking, risk education.
    Activity(cmd::release::ActivityArgs),
    /// Release part of an area (cancel, reduce or clear) on the evidence of an activity.
    Release(cmd::release::ReleaseArgs),
    /// Record an item found on released land; it re-opens hazard there.
    Find(cmd::release::FindArgs),
    /// An area's land releases and post-release finds.
    Releases(cmd::release::ReleasesArgs),
    /// Change an area's status (suspected, confirmed) when the evidence supports it.
    Status(cmd::release::StatusArgs),
    /// An officer's correction of a wrong record (the one change that may weaken a hazard).
    Correct(cmd::correct::Args),
    /// Write the handover certificate of a land release as a printable HTML page.
    Certificate(cmd::release::CertificateArgs),
    /// Audit the records against a policy of supply conditions; exit 1 when any is violated.
    Audit(cmd::audit::Args),
    /// Zones used by policies and reports (permitted zones, oblasts): import, list, show.
    Zone(cmd::zones::ZoneArgs),
    /// The territory of operations, where hazards may lie (default: Ukraine and 50 km around it).
    Territory(cmd::territory::TerritoryArgs),
    /// Accidents and their casualties: add, list, show.
    Accident(cmd::accidents::AccidentArgs),
    /// Reports over a period: `report transparency` (Ottawa Convention Article 7 style).
    Report(cmd::report::Args),
    /// The device catalogue, versioned in the store: list, show, import, versions.
    Catalogue(cmd::catalogue::CatalogueArgs),
}

impl Cli {
    /// The store after flags and environment: a file's path or a database's address.
    pub fn db(&self) -> String {
        self.db.clone().unwrap_or_else(|| "cairn.db".to_string())
    }

    /// The store's file, when it is one (SQLite); `None` for a database server's address.
    pub fn db_file(&self) -> Option<PathBuf> {
        let db = self.db();
        (!cmd::is_database_url(&db)).then(|| PathBuf::from(db))
    }

    /// The device catalogue in force now: the store's (`cairn catalogue`), never a file beside it.
    pub fn catalogue(&self) -> Result<cairn_core::Catalogue, Failure> {
        Ok(cmd::catalogue::in_force(self, None)?.catalogue)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match &cli.command {
        Command::Init => cmd::init(&cli),
        Command::Import(a) => cmd::import::run(&cli, a),
        Command::Export(a) => cmd::export::run(&cli, a),
        Command::Backup(a) => cmd::backup::run(&cli, a),
        Command::Migrate(a) => cmd::migrate::run(&cli, a),
        Command::Show(a) => cmd::show::show(&cli, a),
        Command::History(a) => cmd::show::history(&cli, a),
        Command::Check(a) => cmd::check::run(&cli, a),
        Command::Synth(a) => cmd::synth::run(&cli, a),
        Command::Demo(a) => cmd::synth::demo(&cli, a),
        Command::Serve(a) => cmd::serve::run(&cli, a),
        Command::Token(a) => cmd::serve::token(&cli, a),
        Command::Reports(a) => cmd::reports::run(&cli, a),
        Command::User(a) => cmd::users::user(&cli, a),
        Command::Org(a) => cmd::users::org(&cli, a),
        Command::Activity(a) => cmd::release::activity(&cli, a),
        Command::Release(a) => cmd::release::release(&cli, a),
        Command::Find(a) => cmd::release::find(&cli, a),
        Command::Releases(a) => cmd::release::releases(&cli, a),
        Command::Status(a) => cmd::release::status(&cli, a),
        Command::Correct(a) => cmd::correct::run(&cli, a),
        Command::Certificate(a) => cmd::release::certificate(&cli, a),
        Command::Audit(a) => cmd::audit::run_cmd(&cli, a),
        Command::Zone(a) => cmd::zones::run(&cli, a),
        Command::Territory(a) => cmd::territory::run(&cli, a),
        Command::Accident(a) => cmd::accidents::run(&cli, a),
        Command::Report(a) => cmd::report::run(&cli, a),
        Command::Catalogue(a) => cmd::catalogue::run(&cli, a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("cairn: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}
