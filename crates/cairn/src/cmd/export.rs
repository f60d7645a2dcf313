//! `cairn export`: the current or a past state, in full or as the public may see it.

use cairn_core::time::Cautious;
use std::path::{Path, PathBuf};

use cairn_core::{Catalogue, Timestamp};
use cairn_server::export::{Export, Format};

use crate::Cli;
use crate::fail::{CmdResult, Failure};
use crate::progress;

/// Arguments of `cairn export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// geojson, csv or gpkg (default: from the output file's extension).
    #[arg(long, value_parser = ["geojson", "csv", "gpkg"])]
    pub format: Option<String>,
    /// Export the state as it was recorded at this time (RFC 3339, or a date meaning its first
    /// moment, 00:00:00Z).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Export only what the public may see: public records' public fields, restricted ones as generalised zones.
    #[arg(long)]
    pub public: bool,
    /// The output file; written whole or not at all.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

/// Runs the export.
pub fn run(cli: &Cli, args: &Args) -> CmdResult {
    let format = match args.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("gpkg") => Format::Gpkg,
        Some(_) => Format::GeoJson,
        None => match args
            .output
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Format::Csv,
            Some("gpkg") => Format::Gpkg,
            Some("geojson") | Some("json") => Format::GeoJson,
            _ => {
                return Err(Failure::input(format!(
                    "{}: cannot tell the format from the name; give --format geojson, csv or gpkg",
                    args.output.display()
                )));
            }
        },
    };
    let as_of = args
        .as_of
        .as_deref()
        .map(|s| super::parse_time_arg("--as-of", s, Cautious::Earliest))
        .transpose()?;
    let store = super::open_existing(cli)?;
    // The catalogue in force at the state exported.
    let catalogue = store.catalogue(as_of)?.catalogue;
    let stats = store.stats()?;
    // The state exported is the store's as of now (or `--as-of`): never the newest write's own
    // time, which a public export would give away for a restricted record behind a zone.
    let data_date = as_of.unwrap_or_else(chrono::Utc::now);
    // A device or a pipe (`-o /dev/stdout`, `-o /dev/null`) is written to as it is: renaming a
    // file over it would replace the device itself.
    let special = std::fs::metadata(&args.output).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if special {
        let bar = progress::bar(stats.areas, false, "exporting");
        let what = export_of(format, as_of, args.public);
        let n = write(&*store, &what, &args.output, &catalogue, data_date, &bar)?;
        bar.finish_and_clear();
        outln!("exported {} to {}", n.0, args.output.display());
        return Ok(0);
    }
    // Write beside the target, then rename: a reader never sees half a file.
    let dir = args
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.cairn-tmp-{}",
        args.output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let bar = progress::bar(stats.areas, false, "exporting");
    let what = export_of(format, as_of, args.public);
    let result = write(&*store, &what, &tmp, &catalogue, data_date, &bar);
    bar.finish_and_clear();
    let n = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // A full export holds restricted records: readable by its owner only, like the store.
    #[cfg(unix)]
    if !args.public {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
    }
    std::fs::rename(&tmp, &args.output).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Failure::input(format!("{}: cannot write: {e}", args.output.display()))
    })?;
    outln!(
        "exported {} {} to {}{}{}",
        n.0,
        if args.public {
            "public features"
        } else {
            "areas"
        },
        args.output.display(),
        as_of
            .map(|t| format!(" as of {}", t.to_rfc3339()))
            .unwrap_or_default(),
        n.1
    );
    Ok(0)
}

fn export_of(format: Format, as_of: Option<Timestamp>, public: bool) -> Export {
    Export {
        format,
        as_of,
        public,
        // Cairn's GeoJSON keeps each hazard's own shape, as `cairn import` reads it back.
        footprints: false,
    }
}

/// Writes the export; says how many hazardous areas it holds and, for a GeoPackage with more
/// layers, what they hold (` (layers: activities 3, …)`).
fn write(
    store: &dyn cairn_store::Backend,
    what: &Export,
    path: &Path,
    catalogue: &Catalogue,
    data_date: Timestamp,
    bar: &indicatif::ProgressBar,
) -> Result<(u64, String), Failure> {
    let layers =
        cairn_server::export::write(store, what, path, catalogue, data_date, &mut || bar.inc(1))
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    let others: Vec<String> = layers
        .iter()
        .skip(1)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    let areas = layers.first().map_or(0, |(_, n)| *n);
    Ok(if others.is_empty() {
        (areas, String::new())
    } else {
        (areas, format!(" (more layers: {})", others.join(", ")))
    })
}
