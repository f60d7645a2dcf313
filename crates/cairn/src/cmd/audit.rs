//! `cairn audit --policy FILE [--json] [--at TIME]`: the compliance audit of the supply
//! conditions; exit 1 when any violation is found (interfaces.md).

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
    /// Judge deadlines at this time (RFC 3339, or a date meaning its end); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the audit as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run_cmd(cli: &Cli, a: &Args) -> CmdResult {
    let at = match &a.at {
        Some(s) => parse_time_arg("--at", s)?,
        None => chrono::Utc::now(),
    };
    let loaded = LoadedPolicy::read(&a.policy).map_err(to_failure)?;
    let store = open_existing(cli)?;
    let catalogue = cli.catalogue()?;
    let audit = run(&store, &loaded, &catalogue, at).map_err(to_failure)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&audit).map_err(|e| Failure::internal(e.to_string()))?
        );
    } else {
        println!(
            "Audit of {} against {} at {}",
            store.path(),
            audit.policy.as_deref().unwrap_or(&loaded.name),
            audit.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        println!(
            "{} records in scope, {} of them emplacement records",
            audit.records, audit.emplacement_records
        );
        for (rule, n) in &audit.counts {
            println!(
                "  {rule:<20} {n} violation{}",
                if *n == 1 { "" } else { "s" }
            );
        }
        if !audit.violations.is_empty() {
            println!();
            println!("{:<20} {:<14} {:<20} WHAT", "RULE", "RECORD", "BEGAN");
            for v in &audit.violations {
                println!(
                    "{:<20} {:<14} {:<20} {}",
                    v.rule,
                    v.record,
                    v.began.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    v.summary
                );
            }
        }
    }
    Ok(if audit.violations.is_empty() { 0 } else { 1 })
}

fn to_failure(e: RunError) -> Failure {
    match e {
        RunError::Store(s) => s.into(),
        other => Failure::input(other.to_string()),
    }
}
