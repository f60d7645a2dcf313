//! `cairn zone import | list | show`: zones (permitted zones, oblasts, other administrative
//! areas) from GeoJSON into the store, atomically and with history: a re-import writes new
//! revisions only of the zones that changed.

use std::path::PathBuf;

use cairn_core::WireEnum;
use cairn_core::zone::ZoneKind;
use cairn_formats::zone::{ZoneOptions, read_zones};
use cairn_store::ChangeMeta;
use cairn_store::sqlite::release::ReleaseError;
use serde_json::{Value, json};

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn zone`.
#[derive(clap::Args, Debug)]
pub struct ZoneArgs {
    #[command(subcommand)]
    pub what: ZoneCmd,
}

/// Zone commands.
#[derive(clap::Subcommand, Debug)]
pub enum ZoneCmd {
    /// Import a GeoJSON FeatureCollection of Polygon or MultiPolygon zones, atomically.
    Import {
        /// The GeoJSON file.
        file: PathBuf,
        /// What the zones are: permitted, oblast, admin or other.
        #[arg(long)]
        kind: String,
        /// The property holding each zone's name.
        #[arg(long, default_value = "name")]
        name_field: String,
        /// A property holding each zone's id (default: the feature's id, else one made from the name).
        #[arg(long)]
        id_field: Option<String>,
        /// Who imports (default: $CAIRN_AUTHOR, else the login name).
        #[arg(long)]
        author: Option<String>,
        /// Why, in a sentence.
        #[arg(long)]
        reason: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the zones: id, name, kind and area.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show one zone with its history.
    Show {
        /// The zone's id.
        id: String,
        /// Machine-readable output (a GeoJSON Feature with its revisions).
        #[arg(long)]
        json: bool,
    },
}

fn print_json(v: &Value) {
    outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Runs `cairn zone`.
pub fn run(cli: &Cli, args: &ZoneArgs) -> CmdResult {
    match &args.what {
        ZoneCmd::Import {
            file,
            kind,
            name_field,
            id_field,
            author,
            reason,
            json,
        } => import(
            cli,
            file,
            kind,
            name_field,
            id_field.as_deref(),
            author.as_deref(),
            reason.as_deref(),
            *json,
        ),
        ZoneCmd::List { json } => list(cli, *json),
        ZoneCmd::Show { id, json } => show(cli, id, *json),
    }
}

#[allow(clippy::too_many_arguments)]
fn import(
    cli: &Cli,
    file: &std::path::Path,
    kind: &str,
    name_field: &str,
    id_field: Option<&str>,
    author: Option<&str>,
    reason: Option<&str>,
    as_json: bool,
) -> CmdResult {
    let kind = ZoneKind::parse(kind.trim()).map_err(|m| Failure::input(format!("--kind: {m}")))?;
    if name_field.trim().is_empty() {
        return Err(Failure::input("--name-field must not be empty"));
    }
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
    let opts = ZoneOptions {
        kind,
        name_field: name_field.trim().to_string(),
        id_field: id_field
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty()),
    };
    let zones = read_zones(&v, &opts).map_err(|ps| {
        Failure::input(format!(
            "{shown}: {} problem(s), nothing imported:\n  {}",
            ps.len(),
            ps.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n  ")
        ))
    })?;
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.to_string());
    let meta = ChangeMeta {
        author: author.trim().to_string(),
        reason: reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} zones imported from {file_name}", kind.as_str())),
        source: Some(file_name),
    };
    let mut store = super::open_existing(cli)?;
    let sum = store.put_zones(&zones, meta).map_err(|e| match e {
        ReleaseError::Store(e) => e.into(),
        other => Failure::input(format!("{shown}: {other}; nothing imported")),
    })?;
    if as_json {
        print_json(&json!({
            "file": shown.to_string(),
            "kind": kind.as_str(),
            "zones": zones.len(),
            "created": sum.created,
            "updated": sum.updated,
            "unchanged": sum.unchanged,
            "ids": zones.iter().map(|z| z.id.as_str()).collect::<Vec<_>>(),
        }));
    } else {
        outln!(
            "{shown}: {} {} zone(s): {} created, {} updated, {} unchanged",
            zones.len(),
            kind.as_str(),
            sum.created,
            sum.updated,
            sum.unchanged
        );
    }
    Ok(0)
}

fn list(cli: &Cli, as_json: bool) -> CmdResult {
    let store = super::open_existing(cli)?;
    let zones = store.zones()?;
    if as_json {
        print_json(&Value::Array(
            zones
                .iter()
                .map(|z| {
                    json!({
                        "id": z.id,
                        "name": z.facts.name,
                        "kind": z.facts.kind.as_str(),
                        "area_km2": cairn_server::accidents::zone_km2(z),
                        "source": z.facts.source,
                    })
                })
                .collect(),
        ));
        return Ok(0);
    }
    if zones.is_empty() {
        outln!("no zones in {}", store.location());
    }
    for z in &zones {
        outln!(
            "{:<24}  {:<9}  {:>14.3} km²  {}",
            z.id,
            z.facts.kind.as_str(),
            cairn_server::accidents::zone_km2(z),
            z.facts.name
        );
    }
    Ok(0)
}

fn show(cli: &Cli, id: &str, as_json: bool) -> CmdResult {
    let store = super::open_existing(cli)?;
    let id = id.trim();
    let Some(z) = store.get_zone(id)? else {
        return Err(Failure::input(format!(
            "no zone {id} in {}",
            store.location()
        )));
    };
    let h = store.record_history("zone", id)?;
    if as_json {
        let mut v = cairn_server::accidents::zone_feature(&z);
        v["revisions"] = cairn_server::accidents::revisions_json(&h);
        print_json(&v);
        return Ok(0);
    }
    outln!("{}  {}", z.id, z.facts.name);
    outln!("  kind: {}", z.facts.kind.as_str());
    outln!(
        "  area: {:.3} km² in {} part(s)",
        cairn_server::accidents::zone_km2(&z),
        z.geometry.0.len()
    );
    if let Some(s) = &z.facts.source {
        outln!("  source: {s}");
    }
    if let Some(d) = &z.facts.description {
        outln!("  description: {d}");
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
