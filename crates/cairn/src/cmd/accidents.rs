//! `cairn accident add | list | show`: accidents and their casualties on the store directly,
//! read and checked as the HTTP API reads them. `list --public` prints only what the public may
//! see (`cairn_core::accident::public_summary`).

use std::path::PathBuf;

use cairn_core::Problem;
use cairn_core::accident::{Accident, public_summary};
use cairn_formats::accident::{input_field, read_accident_feature};
use cairn_store::sqlite::release::ReleaseError;
use serde_json::Value;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn accident`.
#[derive(clap::Args, Debug)]
pub struct AccidentArgs {
    #[command(subcommand)]
    pub what: AccidentCmd,
}

/// Accident commands.
#[derive(clap::Subcommand, Debug)]
pub enum AccidentCmd {
    /// Record an accident from a GeoJSON Feature: a Point at the place, the facts as properties.
    Add {
        /// The GeoJSON Feature file.
        file: PathBuf,
        /// Who records it (default: $CAIRN_AUTHOR, else the login name).
        #[arg(long)]
        author: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the accidents.
    List {
        /// Only what the public may see: date, rough place, category, activity, counts.
        #[arg(long)]
        public: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show one accident in full, with its history.
    Show {
        /// The accident's id (AC-NNNNNN).
        id: String,
        /// Machine-readable output (a GeoJSON Feature).
        #[arg(long)]
        json: bool,
    },
}

fn print_json(v: &Value) {
    outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn joined(ps: &[Problem]) -> String {
    ps.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs `cairn accident`.
pub fn run(cli: &Cli, args: &AccidentArgs) -> CmdResult {
    match &args.what {
        AccidentCmd::Add { file, author, json } => add(cli, file, author.as_deref(), *json),
        AccidentCmd::List { public, json } => list(cli, *public, *json),
        AccidentCmd::Show { id, json } => show(cli, id, *json),
    }
}

fn add(cli: &Cli, file: &std::path::Path, author: Option<&str>, as_json: bool) -> CmdResult {
    let author = author
        .map(str::to_string)
        .unwrap_or_else(super::default_author);
    if author.trim().is_empty() {
        return Err(Failure::input("--author must not be empty"));
    }
    let shown = file.display();
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::input(format!("{shown}: cannot read: {e}")))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::input(format!("{shown}: not valid JSON: {e}")))?;
    let catalogue = cli.catalogue()?;
    let (facts, place) = read_accident_feature(&v, &catalogue, chrono::Utc::now())
        .map_err(|ps| Failure::input(format!("{shown}: {}", joined(&ps))))?;
    let mut store = super::open_existing(cli)?;
    let a = store
        .add_accident(&facts, place, &catalogue, author.trim())
        .map_err(|e| match e {
            ReleaseError::Store(e) => e.into(),
            ReleaseError::NotFound(p) | ReleaseError::Refused(p) => Failure::input(format!(
                "{shown}: {}",
                Problem::new(input_field(&p.field), p.message)
            )),
            ReleaseError::Invalid(ps) => Failure::input(format!(
                "{shown}: {}",
                joined(
                    &ps.into_iter()
                        .map(|p| Problem::new(input_field(&p.field), p.message))
                        .collect::<Vec<_>>()
                )
            )),
        })?;
    if as_json {
        print_json(&cairn_server::accidents::accident_feature(&a));
    } else {
        let c = a.counts();
        outln!(
            "{}: accident on {} at {:.5}, {:.5} ({}), {} killed, {} injured (by {})",
            a.id,
            a.facts.occurred_at.date_naive(),
            a.place.x(),
            a.place.y(),
            a.facts.device_category,
            c.killed,
            c.injured,
            author.trim()
        );
    }
    Ok(0)
}

fn list(cli: &Cli, public: bool, as_json: bool) -> CmdResult {
    let store = super::open_existing(cli)?;
    let all = store.accidents()?;
    if as_json {
        print_json(&if public {
            cairn_server::accidents::public_accidents(&all)
        } else {
            cairn_server::accidents::accidents_collection(&all)
        });
        return Ok(0);
    }
    if all.is_empty() {
        outln!("no accidents in {}", store.location());
    }
    for a in &all {
        if public {
            let s = public_summary(a);
            outln!(
                "{}  {}  ~{:.2}, {:.2}  {:<24}  {:<22}  {} killed, {} injured ({} children, {} civilians)",
                s.id,
                s.date,
                s.place[0],
                s.place[1],
                s.device_category.as_str(),
                activity_name(a),
                s.killed,
                s.injured,
                s.children,
                s.civilians
            );
        } else {
            let c = a.counts();
            outln!(
                "{}  {}  {:.5}, {:.5}  {:<24}  {:<22}  {} killed, {} injured{}",
                a.id,
                a.facts
                    .occurred_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                a.place.x(),
                a.place.y(),
                a.facts.device_category.as_str(),
                activity_name(a),
                c.killed,
                c.injured,
                a.facts
                    .area_id
                    .as_ref()
                    .map(|id| format!("  in {id}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(0)
}

fn activity_name(a: &Accident) -> &'static str {
    use cairn_core::WireEnum;
    a.facts.activity.as_str()
}

fn show(cli: &Cli, id: &str, as_json: bool) -> CmdResult {
    let store = super::open_existing(cli)?;
    let id = id.trim();
    let Some(a) = store.get_accident(id)? else {
        return Err(Failure::input(format!(
            "no accident {id} in {}",
            store.location()
        )));
    };
    let h = store.record_history("accident", id)?;
    if as_json {
        let mut v = cairn_server::accidents::accident_feature(&a);
        v["revisions"] = cairn_server::accidents::revisions_json(&h);
        print_json(&v);
        return Ok(0);
    }
    let f = &a.facts;
    let c = a.counts();
    outln!("{}  accident of {}", a.id, f.occurred_at.to_rfc3339());
    outln!("  place: {:.6}, {:.6}", a.place.x(), a.place.y());
    outln!(
        "  device: {}{}",
        f.device_category,
        f.device_type
            .as_ref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default()
    );
    outln!("  activity: {}", activity_name(&a));
    for (k, v) in [
        ("area", &f.area_id),
        ("source", &f.source),
        ("description", &f.description),
    ] {
        if let Some(v) = v {
            outln!("  {k}: {v}");
        }
    }
    outln!("  casualties: {} killed, {} injured", c.killed, c.injured);
    for (i, v) in f.casualties.iter().enumerate() {
        use cairn_core::WireEnum;
        outln!(
            "    [{i}] {} {} {} {}{}{}",
            v.outcome.as_str(),
            v.sex.as_str(),
            v.age_group.as_str(),
            v.role.as_str(),
            v.name
                .as_ref()
                .map(|n| format!(", name: {n}"))
                .unwrap_or_default(),
            v.notes
                .as_ref()
                .map(|n| format!(", notes: {n}"))
                .unwrap_or_default()
        );
    }
    outln!("  revisions:");
    for (i, r) in h.iter().enumerate() {
        outln!(
            "    {}  {}  by {}: {}",
            i + 1,
            r.recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            r.author,
            r.reason
        );
    }
    Ok(0)
}
