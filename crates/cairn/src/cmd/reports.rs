//! `cairn reports list | show | triage`: the information officer's view of reports from the
//! public, on the store directly (the same decisions as `POST /api/reports/{ref}/triage`).

use std::path::PathBuf;

use cairn_core::WireEnum;
use cairn_core::report::{MAX_REASON_CHARS, ReportState, check_text, parse_reference};
use cairn_store::sqlite::reports::{Decision, Report, TriageError};

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn reports`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: ReportsCmd,
}

/// Report commands.
#[derive(clap::Subcommand, Debug)]
pub enum ReportsCmd {
    /// The queue: reports in a state, oldest first.
    List {
        /// new (the default), linked, opened, dismissed or all.
        #[arg(long, default_value = "new")]
        state: String,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// One report, with its triage decision.
    Show {
        /// The reference the reporter was given, e.g. R-7K3Q-9XPM.
        reference: String,
        /// Write the report's photo to this file.
        #[arg(long)]
        photo: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Decide about a report: link it to an area, open a new reported area, or dismiss it.
    #[command(group(clap::ArgGroup::new("decision").required(true).args(["link", "open", "dismiss"])))]
    Triage {
        /// The report's reference.
        reference: String,
        /// The report is about this existing hazardous area.
        #[arg(long, value_name = "AREA")]
        link: Option<String>,
        /// Open a new hazardous area with status `reported` around the report's place.
        #[arg(long)]
        open: bool,
        /// The report needs no area, for this reason.
        #[arg(long, value_name = "REASON")]
        dismiss: Option<String>,
        /// Who decides (default: $CAIRN_AUTHOR, else the login name).
        #[arg(long)]
        by: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cairn reports`.
pub fn run(cli: &Cli, args: &Args) -> CmdResult {
    match &args.what {
        ReportsCmd::List { state, limit, json } => list(cli, state, *limit, *json),
        ReportsCmd::Show {
            reference,
            photo,
            json,
        } => show(cli, reference, photo.as_ref(), *json),
        ReportsCmd::Triage {
            reference,
            link,
            open,
            dismiss,
            by,
            json,
        } => {
            let decision = match (link, open, dismiss) {
                (Some(a), false, None) if !a.trim().is_empty() => Decision::Link {
                    area_id: a.trim().to_string(),
                },
                (Some(_), false, None) => {
                    return Err(Failure::input("--link needs an area id such as HA-000123"));
                }
                (None, true, None) => Decision::Open,
                (None, false, Some(r)) => {
                    let r = check_text(r, MAX_REASON_CHARS)
                        .map_err(|m| Failure::input(format!("--dismiss: the reason {m}")))?;
                    if r.is_empty() {
                        return Err(Failure::input("--dismiss needs a reason"));
                    }
                    Decision::Dismiss { reason: r }
                }
                _ => {
                    return Err(Failure::input(
                        "give exactly one of --link AREA, --open or --dismiss REASON",
                    ));
                }
            };
            let by = by.clone().unwrap_or_else(super::default_author);
            if by.trim().is_empty() {
                return Err(Failure::input("--by must not be empty"));
            }
            triage(cli, reference, &decision, by.trim(), *json)
        }
    }
}

fn reference(s: &str) -> Result<String, Failure> {
    parse_reference(s).map_err(Failure::input)
}

fn list(cli: &Cli, state: &str, limit: u64, json: bool) -> CmdResult {
    let filter = match state {
        "all" => None,
        s => Some(ReportState::parse(s).map_err(|m| Failure::input(format!("--state: {m}, all")))?),
    };
    let store = super::open_existing(cli)?;
    let (reports, total) = store.list_reports(filter, limit, 0)?;
    if json {
        let out = serde_json::json!({"state": state, "total": total, "reports": reports});
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(0);
    }
    if reports.is_empty() {
        outln!("no reports ({state})");
        return Ok(0);
    }
    for r in &reports {
        outln!(
            "{}  {}  {:<9}  {:<19}  {:.5}, {:.5}{}  {}",
            r.reference,
            r.received_at.format("%Y-%m-%d %H:%M"),
            r.state,
            r.category,
            r.lat,
            r.lon,
            if r.photo.is_some() { "  [photo]" } else { "" },
            first_line(&r.description, 50)
        );
    }
    if total > reports.len() as u64 {
        outln!("… {} of {total} shown", reports.len());
    }
    Ok(0)
}

fn first_line(s: &str, n: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() > n {
        format!("{}…", line.chars().take(n).collect::<String>())
    } else {
        line.to_string()
    }
}

fn show(cli: &Cli, r: &str, photo: Option<&PathBuf>, json: bool) -> CmdResult {
    let r = reference(r)?;
    let store = super::open_existing(cli)?;
    let Some(report) = store.get_report(&r)? else {
        return Err(Failure::input(format!(
            "no report {r} in {}",
            store.location()
        )));
    };
    if let Some(path) = photo {
        let Some((_, bytes)) = store.report_photo(&r)? else {
            return Err(Failure::input(format!("report {r} has no photo")));
        };
        std::fs::write(path, bytes)
            .map_err(|e| Failure::input(format!("{}: cannot write: {e}", path.display())))?;
        eprintln!("photo written to {}", path.display());
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print_report(&report);
    }
    Ok(0)
}

fn print_report(r: &Report) {
    outln!("{}  ({})", r.reference, r.state);
    outln!("  received  {}", r.received_at.to_rfc3339());
    outln!(
        "  place     {:.6}, {:.6} (lat, lon){}",
        r.lat,
        r.lon,
        r.accuracy_m
            .map(|a| format!(", accuracy ±{a} m"))
            .unwrap_or_default()
    );
    outln!("  what      {}", r.category);
    if let Some(t) = r.seen_at {
        outln!("  seen      {}", t.to_rfc3339());
    }
    if !r.description.is_empty() {
        for (i, line) in r.description.lines().enumerate() {
            outln!(
                "  {}{line}",
                if i == 0 { "text      " } else { "          " }
            );
        }
    }
    if let Some(p) = &r.photo {
        outln!(
            "  photo     {}, {} bytes (cairn reports show {} --photo FILE)",
            p.media_type,
            p.bytes,
            r.reference
        );
    }
    match &r.triage {
        None => outln!("  triage    not yet"),
        Some(t) => {
            let what = match (t.action.as_str(), &t.area_id, &t.reason) {
                ("link", Some(a), _) => format!("linked to {a}"),
                ("open", Some(a), _) => format!("opened as reported area {a}"),
                ("dismiss", _, Some(reason)) => format!("dismissed: {reason}"),
                (a, _, _) => a.to_string(),
            };
            outln!("  triage    {what}, by {} at {}", t.by, t.at.to_rfc3339());
        }
    }
}

fn triage(cli: &Cli, r: &str, decision: &Decision, by: &str, json: bool) -> CmdResult {
    let r = reference(r)?;
    let mut store = super::open_existing(cli)?;
    let record = match store.triage_report(&r, decision, by) {
        Ok(rec) => rec,
        Err(TriageError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(Failure::input(e.to_string())),
    };
    let Some(report) = store.get_report(&r)? else {
        return Err(Failure::internal(format!(
            "report {r} vanished after triage"
        )));
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        match (record.action.as_str(), &record.area_id) {
            ("open", Some(a)) => outln!(
                "{r}: opened as reported area {a} (by {by}); a running `cairn serve` shows it once restarted"
            ),
            ("link", Some(a)) => outln!("{r}: linked to {a} (by {by})"),
            _ => outln!("{r}: dismissed (by {by})"),
        }
    }
    Ok(0)
}
