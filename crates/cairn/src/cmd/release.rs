//! `cairn activity add`, `cairn release`, `cairn find`, `cairn releases`, `cairn status` and
//! `cairn certificate`: field work and land release on the store directly, with the same rules
//! and the same attribution as the HTTP API.

use std::path::{Path, PathBuf};

use cairn_core::release::{ActivityFacts, ActivityKind, ReleaseMethod};
use cairn_core::{Evidence, EvidenceKind, Status, WireEnum};
use cairn_formats::release::{read_devices, read_polygons};
use cairn_store::sqlite::release::{FindRequest, NewActivity, ReleaseError, ReleaseRequest};
use chrono::NaiveDate;
use geo_types::{MultiPolygon, Point};
use serde_json::Value;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn activity`.
#[derive(clap::Args, Debug)]
pub struct ActivityArgs {
    #[command(subcommand)]
    pub what: ActivityCmd,
}

/// Activity commands.
#[derive(clap::Subcommand, Debug)]
pub enum ActivityCmd {
    /// Record an activity on an area: survey, clearance, marking or risk education.
    Add {
        /// The hazardous area worked.
        #[arg(long)]
        area: String,
        /// non-technical-survey (nts), technical-survey (ts), clearance, marking, risk-education (eore).
        #[arg(long)]
        kind: String,
        /// The organisation that did the work.
        #[arg(long)]
        org: String,
        /// The team.
        #[arg(long)]
        team: Option<String>,
        /// First day of work (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Last day of work (YYYY-MM-DD).
        #[arg(long)]
        to: String,
        /// GeoJSON file with the Polygon or MultiPolygon worked (geometry, Feature or a collection of one).
        #[arg(long)]
        geometry: PathBuf,
        /// JSON file with the devices found or destroyed: [{"type", "count", "depth_cm", "action"}].
        #[arg(long)]
        devices: Option<PathBuf>,
        /// What the work found or concluded.
        #[arg(long)]
        outcome: Option<String>,
        /// People at a risk-education session (EORE beneficiaries).
        #[arg(long)]
        participants: Option<u64>,
        /// Who records it (default: $CAIRN_AUTHOR, else the login name).
        #[arg(long)]
        by: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `cairn release`.
#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    /// The hazardous area.
    #[arg(long)]
    pub area: String,
    /// cancel (needs a non-technical survey), reduce (technical survey) or clear (clearance).
    #[arg(long)]
    pub method: String,
    /// The activity whose evidence supports the release.
    #[arg(long)]
    pub activity: String,
    /// GeoJSON file with the Polygon or MultiPolygon to release.
    #[arg(long)]
    pub geometry: PathBuf,
    /// Who releases the land.
    #[arg(long)]
    pub by: String,
    /// Why, in a sentence.
    #[arg(long)]
    pub reason: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cairn find`.
#[derive(clap::Args, Debug)]
pub struct FindArgs {
    /// The land release on whose land the item was found.
    #[arg(long)]
    pub release: String,
    /// Longitude (WGS 84).
    #[arg(long, allow_negative_numbers = true)]
    pub lon: f64,
    /// Latitude (WGS 84).
    #[arg(long, allow_negative_numbers = true)]
    pub lat: f64,
    /// The device type from the catalogue.
    #[arg(long)]
    pub device_type: String,
    /// How many.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Depth in centimetres.
    #[arg(long)]
    pub depth_cm: Option<f64>,
    /// What was found, in words.
    #[arg(long)]
    pub description: Option<String>,
    /// Who records the find.
    #[arg(long)]
    pub by: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cairn releases`.
#[derive(clap::Args, Debug)]
pub struct ReleasesArgs {
    /// The hazardous area.
    pub area: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cairn status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// The hazardous area.
    pub area: String,
    /// The new status: suspected or confirmed (release statuses come from `cairn release`).
    #[arg(long)]
    pub to: String,
    /// Why, in a sentence.
    #[arg(long)]
    pub reason: String,
    /// Evidence given with the change: direct or indirect.
    #[arg(long, requires = "evidence")]
    pub evidence_kind: Option<String>,
    /// The evidence, in words.
    #[arg(long)]
    pub evidence: Option<String>,
    /// Who changes it (default: $CAIRN_AUTHOR, else the login name).
    #[arg(long)]
    pub by: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cairn certificate`.
#[derive(clap::Args, Debug)]
pub struct CertificateArgs {
    /// The land release.
    pub release: String,
    /// The file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// The language of the certificate: uk or en.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// html (a printable page) or pdf (default: pdf when the output's name ends in .pdf, else
    /// html).
    #[arg(long)]
    pub format: Option<String>,
}

fn read_json(path: &Path) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::input(format!("{}: not valid JSON: {e}", path.display())))
}

fn read_geometry_file(path: &Path) -> Result<MultiPolygon<f64>, Failure> {
    let v = read_json(path)?;
    let mut problems = Vec::new();
    match read_polygons(&v, "geometry", &mut problems) {
        Some(g) if problems.is_empty() => Ok(g),
        _ => Err(Failure::input(format!(
            "{}: {}",
            path.display(),
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

fn date(name: &str, s: &str) -> Result<NaiveDate, Failure> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        Failure::input(format!(
            "{name}: must be a date such as 2026-11-20, not {s:?}"
        ))
    })
}

fn failure(e: ReleaseError) -> Failure {
    match e {
        ReleaseError::Store(e) => e.into(),
        other => Failure::input(other.to_string()),
    }
}

fn print_json(v: &Value) {
    outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn by_or_default(by: &Option<String>) -> Result<String, Failure> {
    let by = by.clone().unwrap_or_else(super::default_author);
    if by.trim().is_empty() {
        return Err(Failure::input("--by must not be empty"));
    }
    Ok(by.trim().to_string())
}

/// Runs `cairn activity`.
pub fn activity(cli: &Cli, args: &ActivityArgs) -> CmdResult {
    let ActivityCmd::Add {
        area,
        kind,
        org,
        team,
        from,
        to,
        geometry,
        devices,
        outcome,
        participants,
        by,
        json,
    } = &args.what;
    let kind =
        ActivityKind::parse_loose(kind).map_err(|m| Failure::input(format!("--kind: {m}")))?;
    let geometry = read_geometry_file(geometry)?;
    let devices = match devices {
        None => Vec::new(),
        Some(p) => {
            let v = read_json(p)?;
            let mut problems = Vec::new();
            let d = read_devices(&v, "devices", &mut problems);
            if !problems.is_empty() {
                return Err(Failure::input(format!(
                    "{}: {}",
                    p.display(),
                    problems
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                )));
            }
            d
        }
    };
    let new = NewActivity {
        facts: ActivityFacts {
            kind,
            area_id: area.trim().to_string(),
            organisation: org.trim().to_string(),
            team: team.clone().filter(|t| !t.trim().is_empty()),
            started: date("--from", from)?,
            ended: date("--to", to)?,
            devices,
            outcome: outcome.clone().filter(|t| !t.trim().is_empty()),
            participants: *participants,
        },
        geometry,
    };
    let by = by_or_default(by)?;
    let catalogue = cli.catalogue()?;
    let mut store = super::open_existing(cli)?;
    let a = store.add_activity(&new, &catalogue, &by).map_err(failure)?;
    if *json {
        print_json(&cairn_server::releases::activity_json(&a));
    } else {
        let (found, destroyed) = a.device_totals();
        outln!(
            "{}: {} on {} by {} ({} to {}), {:.0} m² worked, {found} device(s) found, {destroyed} destroyed",
            a.id,
            a.facts.kind.as_str(),
            a.facts.area_id,
            a.facts.organisation,
            a.facts.started,
            a.facts.ended,
            cairn_core::release::area_m2(&a.geometry)
        );
    }
    Ok(0)
}

/// Runs `cairn release`.
pub fn release(cli: &Cli, a: &ReleaseArgs) -> CmdResult {
    let method = ReleaseMethod::parse(a.method.trim())
        .map_err(|m| Failure::input(format!("--method: {m}")))?;
    if a.by.trim().is_empty() {
        return Err(Failure::input("--by must not be empty"));
    }
    let req = ReleaseRequest {
        area_id: a.area.trim().to_string(),
        method,
        activity_id: a.activity.trim().to_string(),
        geometry: read_geometry_file(&a.geometry)?,
        reason: a.reason.clone(),
    };
    let mut store = super::open_existing(cli)?;
    let out = store.release_land(&req, a.by.trim()).map_err(failure)?;
    if a.json {
        let mut v = cairn_server::releases::release_json(&out.release, &[]);
        v["area"] =
            serde_json::json!({"id": out.area.id, "status": out.area.props.status.as_str()});
        print_json(&v);
    } else {
        let f = &out.release.facts;
        outln!(
            "{}: {} {:.1} m² of {} on the evidence of {} (by {}); {:.1} m² remain, area now {}; certificate {}",
            out.release.id,
            f.method.released_status(),
            f.released_m2,
            f.area_id,
            f.activity_id,
            f.by,
            f.remaining_m2,
            f.status_after,
            f.certificate
        );
    }
    Ok(0)
}

/// Runs `cairn find`.
pub fn find(cli: &Cli, a: &FindArgs) -> CmdResult {
    if a.by.trim().is_empty() {
        return Err(Failure::input("--by must not be empty"));
    }
    let req = FindRequest {
        release_id: a.release.trim().to_string(),
        at: Point::new(a.lon, a.lat),
        device_type: a.device_type.trim().to_string(),
        count: a.count,
        depth_cm: a.depth_cm,
        description: a.description.clone(),
    };
    let catalogue = cli.catalogue()?;
    let mut store = super::open_existing(cli)?;
    let out = store
        .record_find(&req, &catalogue, a.by.trim())
        .map_err(failure)?;
    if a.json {
        let mut v = cairn_server::releases::find_json(&out.find);
        v["area"] =
            serde_json::json!({"id": out.area.id, "status": out.area.props.status.as_str()});
        print_json(&v);
    } else {
        outln!(
            "{}: {} × {} found on land released by {}; hazard re-opened as confirmed area {} ({} m around the find)",
            out.find.id,
            out.find.facts.count,
            out.find.facts.device_type,
            out.find.facts.release_id,
            out.area.id,
            out.find.facts.radius_m
        );
    }
    Ok(0)
}

/// Runs `cairn releases AREA`.
pub fn releases(cli: &Cli, a: &ReleasesArgs) -> CmdResult {
    let store = super::open_existing(cli)?;
    let Some(area) = store.get_area(a.area.trim(), None)? else {
        return Err(Failure::input(format!(
            "no hazardous area {} in {}",
            a.area,
            store.location()
        )));
    };
    let releases = store.releases_for_area(&area.area.id)?;
    let mut finds = Vec::new();
    for r in &releases {
        finds.push(store.finds_for_release(&r.id)?);
    }
    if a.json {
        let v = serde_json::json!({
            "area_id": area.area.id,
            "status": area.area.props.status.as_str(),
            "releases": releases.iter().zip(&finds).map(|(r, f)| cairn_server::releases::release_json(r, f)).collect::<Vec<_>>(),
        });
        print_json(&v);
        return Ok(0);
    }
    outln!("{}  ({})", area.area.id, area.area.props.status);
    if releases.is_empty() {
        outln!("  no land released");
    }
    for (r, f) in releases.iter().zip(&finds) {
        outln!(
            "  {}  {}  {:<6}  {:>12.1} m²  by {} on {}  certificate {}{}",
            r.id,
            r.facts.released_at.format("%Y-%m-%d"),
            r.facts.method.as_str(),
            r.facts.released_m2,
            r.facts.by,
            r.facts.activity_id,
            r.facts.certificate,
            if f.is_empty() {
                String::new()
            } else {
                format!("  {} post-release find(s)", f.len())
            }
        );
    }
    Ok(0)
}

/// Runs `cairn status AREA --to STATUS`.
pub fn status(cli: &Cli, a: &StatusArgs) -> CmdResult {
    let to = Status::parse(a.to.trim()).map_err(|m| Failure::input(format!("--to: {m}")))?;
    let evidence = match (&a.evidence_kind, &a.evidence) {
        (None, None) => None,
        (kind, Some(text)) => Some(Evidence {
            kind: EvidenceKind::parse(kind.as_deref().unwrap_or("indirect"))
                .map_err(|m| Failure::input(format!("--evidence-kind: {m}")))?,
            description: Some(text.clone()),
            source: None,
        }),
        (Some(_), None) => return Err(Failure::input("--evidence-kind needs --evidence TEXT")),
    };
    if a.reason.trim().is_empty() {
        return Err(Failure::input("--reason must not be empty"));
    }
    let by = by_or_default(&a.by)?;
    let mut store = super::open_existing(cli)?;
    let area = store
        .change_status(a.area.trim(), to, evidence.as_ref(), a.reason.trim(), &by)
        .map_err(failure)?;
    if a.json {
        print_json(
            &serde_json::json!({"id": area.id, "status": area.props.status.as_str(), "evidence": area.props.evidence}),
        );
    } else {
        outln!("{}: now {} (by {by})", area.id, area.props.status);
    }
    Ok(0)
}

/// Runs `cairn certificate RELEASE -o FILE [--lang uk|en] [--format html|pdf]`.
pub fn certificate(cli: &Cli, a: &CertificateArgs) -> CmdResult {
    let lang = cairn_core::lang::Lang::parse(&a.lang)
        .map_err(|m| Failure::input(format!("--lang: {m}")))?;
    let pdf = match a.format.as_deref() {
        Some("pdf") => true,
        Some("html") => false,
        Some(other) => {
            return Err(Failure::input(format!(
                "--format: {other:?} is not one of html, pdf"
            )));
        }
        None => a
            .output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf")),
    };
    let store = super::open_existing(cli)?;
    let Some(doc) = cairn_server::releases::certificate_doc(&*store, a.release.trim(), lang, pdf)?
    else {
        return Err(Failure::input(format!(
            "no land release {} in {}",
            a.release,
            store.location()
        )));
    };
    std::fs::write(&a.output, doc)
        .map_err(|e| Failure::input(format!("{}: cannot write: {e}", a.output.display())))?;
    outln!(
        "certificate for {} written to {}",
        a.release,
        a.output.display()
    );
    Ok(0)
}
