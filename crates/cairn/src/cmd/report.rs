//! `cairn report transparency`: the Ottawa Convention Article 7 style report for a period, as
//! one self-contained HTML page, a PDF (`cairn_docs`), in Ukrainian or English, or as CSV in long
//! format (`cairn_core::transparency`).

use std::path::PathBuf;

use cairn_core::WireEnum;
use cairn_core::transparency::{Edition, Period, render_csv, render_html_in};

use crate::Cli;
use crate::cmd::synth::parse_day;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: ReportCmd,
}

/// The reports.
#[derive(clap::Subcommand, Debug)]
pub enum ReportCmd {
    /// Article 7 style: (c) mined areas, (i) warnings, land released, devices, casualties.
    Transparency(TransparencyArgs),
}

/// Arguments of `cairn report transparency`.
#[derive(clap::Args, Debug)]
pub struct TransparencyArgs {
    /// First day of the period (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: String,
    /// Last day of the period, included (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub to: String,
    /// The output file.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// html (one page with charts), pdf (the same, as a PDF) or csv (long format:
    /// section,period,key,value).
    #[arg(long, default_value = "html")]
    pub format: String,
    /// The language of the page or PDF: uk or en.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// restricted (everything; the default, since whoever holds the store may see it) or public.
    #[arg(long, default_value = "restricted")]
    pub edition: String,
}

/// Runs `cairn report`.
pub fn run(cli: &Cli, args: &Args) -> CmdResult {
    let ReportCmd::Transparency(a) = &args.what;
    let from = parse_day("--from", &a.from)?;
    let to = parse_day("--to", &a.to)?;
    let period = Period::new(from, to).map_err(|p| Failure::input(format!("--{p}")))?;
    let format = match a.format.as_str() {
        f @ ("html" | "csv" | "pdf") => f,
        other => {
            return Err(Failure::input(format!(
                "--format: {other:?} is not one of html, csv, pdf"
            )));
        }
    };
    let lang = cairn_core::lang::Lang::parse(&a.lang)
        .map_err(|m| Failure::input(format!("--lang: {m}")))?;
    let edition =
        Edition::parse(&a.edition).map_err(|m| Failure::input(format!("--edition: {m}")))?;
    let catalogue = cli.catalogue()?;
    let store = super::open_existing(cli)?;
    let report = store.transparency_report(&catalogue, period, edition, chrono::Utc::now())?;
    let text = match format {
        "csv" => render_csv(&report).into_bytes(),
        "pdf" => cairn_docs::transparency::report_pdf(&report, lang),
        _ => render_html_in(&report, lang).into_bytes(),
    };
    let out = &a.output;
    let tmp = out.with_extension("cairn-tmp");
    let err = |e: std::io::Error| Failure::input(format!("{}: cannot write: {e}", out.display()));
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, out).map_err(err)?;
    let (killed, injured) = report.casualty_totals();
    outln!(
        "wrote the {} transparency report ({}, {} to {}) to {}: {} areas with AP mines, {} killed and {} injured",
        edition.as_str(),
        a.format,
        period.from,
        period.to,
        out.display(),
        report.mined_total.areas,
        killed,
        injured
    );
    Ok(0)
}
