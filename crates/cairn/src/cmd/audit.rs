//! `cairn audit --policy FILE [--json] [--at TIME]`: the compliance audit of the supply
//! conditions; exit 1 when any violation is found (interfaces.md).

use cairn_core::time::Cautious;
use std::io::Write;
use std::path::PathBuf;

use cairn_audit::run::{LoadedPolicy, RunError, run};
use clap::Args as ClapArgs;

use crate::Cli;
use crate::cmd::{open_existing, parse_time_arg};
use crate::fail::{CmdResult, Failure};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The policy file (TOML); docs/policy.example.toml documents every rule.
    #[arg(long)]
    pub policy: PathBuf,
    /// Judge deadlines, with the device catalogue in force then, at this time (RFC 3339, or a date
    /// meaning its first moment, 00:00:00Z); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the audit as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run_cmd(cli: &Cli, a: &Args) -> CmdResult {
    let at = match &a.at {
        Some(s) => parse_time_arg("--at", s, Cautious::Earliest)?,
        None => chrono::Utc::now(),
    };
    let loaded = LoadedPolicy::read(&a.policy).map_err(to_failure)?;
    let store = open_existing(cli)?;
    let audit = run(&*store, &loaded, at).map_err(to_failure)?;
    // Buffered: stdout is line-buffered, and a million violations are millions of lines.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = if a.json {
        serde_json::to_writer_pretty(&mut out, &audit)
            .map_err(std::io::Error::from)
            .and_then(|_| writeln!(out))
    } else {
        table(&mut out, &audit, &store.location(), &loaded.name)
    };
    let written = written.and_then(|_| out.flush());
    match written {
        // A reader that stops early (`| head`) is not a failure of the audit.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(Failure::internal(format!("writing the audit: {e}")));
        }
        _ => {}
    }
    Ok(if audit.violations.is_empty() { 0 } else { 1 })
}

fn table(
    out: &mut impl Write,
    audit: &cairn_audit::Audit,
    store: &str,
    policy_file: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Audit of {store} against {} at {}, device catalogue version {}",
        audit.policy.as_deref().unwrap_or(policy_file),
        audit.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        audit
            .catalogue_version
            .map_or_else(|| "unknown".to_string(), |v| v.to_string())
    )?;
    writeln!(
        out,
        "{} records in scope, {} of them emplacement records",
        audit.records, audit.emplacement_records
    )?;
    for rule in &audit.rules {
        let n = audit.counts.get(rule).copied().unwrap_or(0);
        writeln!(
            out,
            "  {rule:<20} {n} violation{}",
            if n == 1 { "" } else { "s" }
        )?;
    }
    if !audit.violations.is_empty() {
        writeln!(out)?;
        writeln!(out, "{:<20} {:<14} {:<20} WHAT", "RULE", "RECORD", "BEGAN")?;
        for v in &audit.violations {
            writeln!(
                out,
                "{:<20} {:<14} {:<20} {}",
                v.rule,
                v.record,
                v.began.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                v.summary
            )?;
        }
    }
    Ok(())
}

fn to_failure(e: RunError) -> Failure {
    match e {
        RunError::Store(s) => s.into(),
        other => Failure::input(other.to_string()),
    }
}
