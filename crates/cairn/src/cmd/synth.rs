//! `cairn synth` writes the fictional data set; `cairn demo` loads it into a fresh store.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use cairn_core::residual::estimate_area;
use cairn_core::{Catalogue, HazardArea, Status, WireEnum};
use cairn_formats::geojson::{FeatureCollectionWriter, write_area};
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, SqliteStore};
use cairn_synth::{Synth, default_until};

use crate::Cli;
use crate::fail::{CmdResult, Failure};
use crate::progress;

/// Arguments of `cairn synth`: `--areas N -o FILE` writes areas to a file; `cairn synth
/// history` writes a period of work into the store.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub what: Option<SynthCmd>,
    /// How many areas.
    #[arg(long)]
    pub areas: Option<u64>,
    /// The seed; the same seed and size always give the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The end of the synthetic time line (RFC 3339); fixed by default so that output is stable.
    #[arg(long)]
    pub until: Option<String>,
    /// The output file (.geojson or .csv).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

/// `cairn synth history`.
#[derive(clap::Subcommand, Debug)]
pub enum SynthCmd {
    /// Write a fictional period of mine action over the areas in the store (--db): surveys,
    /// clearance, marking, risk education, land release, post-release finds and accidents;
    /// approximate oblast outlines are added first when the store has none.
    History(HistoryArgs),
}

/// Arguments of `cairn synth history`.
#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// First day of the period (YYYY-MM-DD).
    #[arg(long)]
    pub from: String,
    /// Last day of the period (YYYY-MM-DD), not after today.
    #[arg(long)]
    pub to: String,
    /// The seed; the same store, seed and period always give the same history.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Who the writes are attributed to.
    #[arg(long, default_value = "cairn synth history")]
    pub by: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cairn demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Where the service listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// How many areas in the demo data set.
    #[arg(long, default_value_t = 5000)]
    pub areas: u64,
    /// Load and summarise only; do not serve.
    #[arg(long)]
    pub no_serve: bool,
    /// A base map to serve under the hazards (PMTiles or MBTiles, Protomaps schema), as for
    /// `cairn serve --basemap`.
    #[arg(long, value_name = "FILE")]
    pub basemap: Option<PathBuf>,
}

/// Generates areas `range` on both cores, in order.
fn generate(synth: &Synth, start: u64, end: u64) -> Vec<HazardArea> {
    let mid = start + (end - start) / 2;
    std::thread::scope(|s| {
        let h = s.spawn(|| (mid..end).map(|i| synth.area(i)).collect::<Vec<_>>());
        let mut a: Vec<HazardArea> = (start..mid).map(|i| synth.area(i)).collect();
        a.extend(h.join().unwrap_or_default());
        a
    })
}

/// Runs `cairn synth` (or `cairn synth history`).
pub fn run(cli: &Cli, args: &Args) -> CmdResult {
    if let Some(SynthCmd::History(h)) = &args.what {
        return history(cli, h);
    }
    let (Some(areas), Some(output)) = (args.areas, args.output.as_ref()) else {
        return Err(Failure::input(
            "synth needs --areas N and -o FILE (or the subcommand history)",
        ));
    };
    write_areas(args, areas, output)
}

/// Parses a day given to a flag.
pub fn parse_day(flag: &str, s: &str) -> Result<chrono::NaiveDate, Failure> {
    s.trim()
        .parse()
        .map_err(|_| Failure::input(format!("{flag}: {s:?} is not a date (YYYY-MM-DD)")))
}

/// Runs `cairn synth history`.
fn history(cli: &Cli, args: &HistoryArgs) -> CmdResult {
    let from = parse_day("--from", &args.from)?;
    let to = parse_day("--to", &args.to)?;
    let catalogue = cli.catalogue()?;
    let mut store = super::open_existing(cli)?;
    let s = run_history(&mut *store, &catalogue, args.seed, from, to, &args.by)?;
    if args.json {
        outln!(
            "{}",
            serde_json::json!({
                "activities": s.activities.iter().map(|(k, v)| (k.as_str(), *v)).collect::<BTreeMap<_, _>>(),
                "releases": s.releases.iter().map(|(k, v)| (k.as_str(), *v)).collect::<BTreeMap<_, _>>(),
                "released_m2": s.released_m2,
                "confirmed": s.confirmed,
                "marked": s.marked,
                "finds": s.finds,
                "accidents": s.accidents,
                "casualties": s.casualties,
                "participants": s.participants,
                "zones_added": s.zones_added,
                "refused": s.refused,
            })
        );
    } else {
        print_history(&s, from, to);
    }
    Ok(0)
}

/// Writes the history, turning its errors into failures naming the flag.
fn run_history(
    store: &mut dyn cairn_store::Backend,
    catalogue: &Catalogue,
    seed: u64,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    by: &str,
) -> Result<cairn_synth::history::HistorySummary, Failure> {
    use cairn_synth::history::{HistoryError, populate};
    populate(store, catalogue, seed, from, to, by).map_err(|e| match e {
        HistoryError::Period { field, message } => Failure::input(format!("--{field}: {message}")),
        HistoryError::Store(e) => e.into(),
    })
}

fn print_history(
    s: &cairn_synth::history::HistorySummary,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) {
    outln!("fictional history {from} to {to}:");
    outln!(
        "  activities: {}",
        join(s.activities.iter().map(|(k, v)| (k.as_str(), *v)))
    );
    outln!(
        "  land releases: {} ({:.1} m² in all); {} areas confirmed by survey; {} marked",
        join(s.releases.iter().map(|(k, v)| (k.as_str(), *v))),
        s.released_m2,
        s.confirmed,
        s.marked
    );
    outln!(
        "  post-release finds: {}; accidents: {} with {} casualties; risk-education participants: {}",
        s.finds,
        s.accidents,
        s.casualties,
        s.participants
    );
    if s.zones_added > 0 {
        outln!("  approximate oblast outlines added: {}", s.zones_added);
    }
    if s.refused > 0 {
        outln!(
            "  steps the store's rules refused (that area's work stopped): {}",
            s.refused
        );
    }
}

/// Writes `cairn synth --areas N -o FILE`.
fn write_areas(args: &Args, areas: u64, out: &std::path::Path) -> CmdResult {
    let until = match &args.until {
        Some(s) => super::parse_time_arg("--until", s, cairn_core::time::Cautious::Latest)?,
        None => default_until(),
    };
    if areas == 0 {
        return Err(Failure::input("--areas must be at least 1"));
    }
    let synth = Synth::new(args.seed, until);
    let err = |e: std::io::Error| Failure::input(format!("{}: cannot write: {e}", out.display()));
    let csv_out = out
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.eq_ignore_ascii_case("csv"))
        .unwrap_or(false);
    let tmp = out.with_extension("cairn-tmp");
    let f = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(err)?);
    let bar = progress::bar(areas, false, "generating");
    const CHUNK: u64 = 8192;
    let result = (|| -> Result<(), Failure> {
        if csv_out {
            let mut w = csv::Writer::from_writer(f);
            cairn_formats::csv::write_header(&mut w).map_err(|e| Failure::input(e.to_string()))?;
            let mut i = 0;
            while i < areas {
                let end = (i + CHUNK).min(areas);
                for a in generate(&synth, i, end) {
                    cairn_formats::csv::write_area(&mut w, &a)
                        .map_err(|e| Failure::input(e.to_string()))?;
                }
                bar.set_position(end);
                i = end;
            }
            w.flush().map_err(err)?;
        } else {
            let mut w =
                FeatureCollectionWriter::new(f, "cairn synthetic hazardous areas (fictional)")
                    .map_err(err)?;
            let mut i = 0;
            while i < areas {
                let end = (i + CHUNK).min(areas);
                for a in generate(&synth, i, end) {
                    write_area(&mut w, &a).map_err(err)?;
                }
                bar.set_position(end);
                i = end;
            }
            w.finish().map_err(err)?;
        }
        Ok(())
    })();
    bar.finish_and_clear();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, out).map_err(err)?;
    outln!(
        "wrote {} fictional areas (seed {}) to {}",
        areas,
        args.seed,
        out.display()
    );
    Ok(0)
}

/// Runs `cairn demo`: a fresh store with the demo data set, and its summary.
pub fn demo(cli: &Cli, args: &DemoArgs) -> CmdResult {
    // A base map that cannot be served stops the demo before it builds anything.
    let basemap = super::serve::open_basemap(args.basemap.as_deref())?;
    let on_database = cli.db.as_deref().filter(|d| super::is_database_url(d));
    let path = match on_database {
        // On PostgreSQL the demo fills a database without a Cairn store, or with an empty one.
        Some(_) => PathBuf::from("."),
        None => cli
            .db
            .clone()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("cairn-demo.db")),
    };
    if on_database.is_none() {
        if cli.db.is_some() && path.exists() {
            return Err(Failure::input(format!(
                "{}: the demo builds a fresh store and will not touch an existing file; name a new path or remove it",
                path.display()
            )));
        }
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", path.display()));
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| {
                    Failure::internal(format!("{}: cannot remove: {e}", p.display()))
                })?;
            }
        }
    }
    let shown = match on_database {
        Some(url) => super::redact(url),
        None => path.display().to_string(),
    };
    let mut store: Box<dyn cairn_store::Backend> = match on_database {
        Some(url) => {
            let store = cairn_store::open(url, OpenMode::Create)?;
            if store.stats()?.revisions != 0 {
                return Err(Failure::input(format!(
                    "--db {shown}: the demo builds a fresh store and will not touch one that holds records; name an empty database"
                )));
            }
            store
        }
        None => Box::new(SqliteStore::open(&path, OpenMode::Create)?),
    };
    // The catalogue a new store holds (the shipped one, version 1).
    let catalogue = store.catalogue(None)?.catalogue;
    let synth = Synth::new(2026, default_until());
    let areas = generate(&synth, 0, args.areas);
    let mut tx = store.begin(ChangeMeta {
        author: "cairn demo".into(),
        reason: "fictional demo data set".into(),
        source: Some(format!("cairn synth --areas {} --seed 2026", args.areas)),
    })?;
    for a in &areas {
        // Through the one door, as existing data migrated into a new store.
        tx.write_area(
            cairn_core::command::Command::Migrate,
            cairn_core::command::Actor::ADMIN,
            a,
        )
        .map_err(|e| Failure::internal(format!("demo area {}: {e}", a.id)))?;
    }
    tx.commit()?;
    // The 50 fictional zones (oblast-like outlines and permitted zones), for the audit and the
    // transparency report's figures per oblast.
    store
        .put_zones(
            &cairn_synth::zones::fictional_zones(),
            ChangeMeta {
                author: "cairn demo".into(),
                reason: "fictional zones of the demo data set".into(),
                source: Some("cairn_synth::zones".into()),
            },
        )
        .map_err(|e| Failure::internal(format!("the demo's zones: {e}")))?;
    let to = chrono::Utc::now().date_naive();
    let from = to - chrono::Duration::days(364);
    let h = run_history(&mut *store, &catalogue, 2026, from, to, "cairn demo")?;
    print_summary(&*store, &catalogue)?;
    print_history(&h, from, to);
    outln!();
    outln!("Demo store: {shown}. Try: cairn --db {shown} show HA-000001");
    if args.no_serve {
        return Ok(0);
    }
    super::serve::serve_store(
        store,
        catalogue,
        &args.addr,
        "info",
        cairn_server::reports::ReportsConfig::default(),
        Some(demo_policy(&path)?),
        basemap,
    )
}

/// The example policy (docs/policy.example.toml), embedded, for the demo's auditors' page.
const DEMO_POLICY: &str = include_str!("../../../../docs/policy.example.toml");

/// The demo's audit policy, named after the file it was embedded from.
fn demo_policy(db: &std::path::Path) -> Result<cairn_audit::run::LoadedPolicy, Failure> {
    let dir = db.parent().unwrap_or(std::path::Path::new("."));
    cairn_audit::run::LoadedPolicy::from_text(DEMO_POLICY, "docs/policy.example.toml", dir)
        .map_err(|e| Failure::internal(format!("the embedded demo policy: {e}")))
}

/// Prints counts by status, classification and device category, and the residual-hazard picture.
pub fn print_summary(
    store: &dyn cairn_store::Backend,
    catalogue: &Catalogue,
) -> Result<(), Failure> {
    let now = chrono::Utc::now();
    let mut by_status: BTreeMap<Status, u64> = BTreeMap::new();
    let mut by_class: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut by_cat: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut open, mut np_groups, mut np_live, mut np_after_sd, mut np_after_sda) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut expected_np = 0.0f64;
    let n = store.for_each_area(None, &mut |s| {
        let p = &s.area.props;
        *by_status.entry(p.status).or_default() += 1;
        *by_class.entry(p.classification.as_str()).or_default() += 1;
        if p.status.is_open_hazard() {
            open += 1;
        }
        for g in &p.devices {
            let t = catalogue.get(&g.device_type);
            *by_cat
                .entry(t.map(|t| t.category.as_str()).unwrap_or("other"))
                .or_default() += 1;
        }
        let est = estimate_area(&p.devices, catalogue, now);
        for g in &est.groups {
            if !g.persistent {
                np_groups += 1;
                match g.p_functioning {
                    p if p >= 1.0 => np_live += 1,
                    p if p > 0.01 => np_after_sd += 1,
                    _ => np_after_sda += 1,
                }
                expected_np += g.expected.unwrap_or(0.0);
            }
        }
        Ok(())
    })?;
    outln!(
        "Cairn store {}: {n} hazardous areas, {open} open hazards",
        store.location()
    );
    outln!(
        "  by status:         {}",
        join(by_status.iter().map(|(k, v)| (k.as_str(), *v)))
    );
    outln!(
        "  by classification: {}",
        join(by_class.iter().map(|(k, v)| (*k, *v)))
    );
    outln!(
        "  device groups:     {}",
        join(by_cat.iter().map(|(k, v)| (*k, *v)))
    );
    outln!(
        "  non-persistent device groups: {np_groups}: {np_live} within their self-destruct time, {np_after_sd} past it (10% planning failure), {np_after_sda} past self-deactivation (1 in 1,000 residual)"
    );
    outln!(
        "  expected still-functioning non-persistent devices (known quantities): {expected_np:.1}"
    );
    outln!("  {}", cairn_core::residual::CAVEAT);
    Ok(())
}

fn join<'a>(it: impl Iterator<Item = (&'a str, u64)>) -> String {
    it.map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
