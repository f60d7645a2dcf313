//! `cairn territory set | show`: the store's territory of operations, the land where its hazards
//! may lie. Every area write through every door is checked against it (`cairn_core::territory`,
//! rule `territory`); by default it is Ukraine and 50 km around it.

use std::path::PathBuf;

use cairn_core::territory::{Territory, outline_from_geojson};
use cairn_store::ChangeMeta;
use cairn_store::sqlite::OpenMode;
use serde_json::{Value, json};

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn territory`.
#[derive(clap::Args, Debug)]
pub struct TerritoryArgs {
    #[command(subcommand)]
    pub what: TerritoryCmd,
}

/// Territory commands.
#[derive(clap::Subcommand, Debug)]
pub enum TerritoryCmd {
    /// Set the territory from a GeoJSON Polygon or MultiPolygon (a geometry, a Feature, or a
    /// FeatureCollection of one feature), in longitude and latitude, margin included.
    Set {
        /// The GeoJSON file.
        file: PathBuf,
        /// Its name, said when a position is refused (default: the feature's `name` property).
        #[arg(long)]
        name: Option<String>,
        /// Who sets it (default: $CAIRN_AUTHOR, else the login name).
        #[arg(long)]
        author: Option<String>,
        /// Why, in a sentence.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Show the territory in force: its name and bounding box (`--json`: a GeoJSON Feature).
    Show {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cairn territory`.
pub fn run(cli: &Cli, args: &TerritoryArgs) -> CmdResult {
    match &args.what {
        TerritoryCmd::Set {
            file,
            name,
            author,
            reason,
        } => set(cli, file, name.as_deref(), author.clone(), reason.clone()),
        TerritoryCmd::Show { json } => show(cli, *json),
    }
}

fn set(
    cli: &Cli,
    file: &std::path::Path,
    name: Option<&str>,
    author: Option<String>,
    reason: Option<String>,
) -> CmdResult {
    let shown = file.display();
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::input(format!("{shown}: cannot read: {e}")))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::input(format!("{shown}: not valid JSON: {e}")))?;
    let feature = match v["type"].as_str() {
        Some("FeatureCollection") => match v["features"].as_array().map(|f| f.as_slice()) {
            Some([one]) => one.clone(),
            _ => {
                return Err(Failure::input(format!(
                    "{shown}: a territory is one feature; this collection has {}",
                    v["features"].as_array().map(|f| f.len()).unwrap_or(0)
                )));
            }
        },
        Some("Feature") => v.clone(),
        _ => json!({"type": "Feature", "geometry": v, "properties": {}}),
    };
    let outline = outline_from_geojson(&feature["geometry"])
        .map_err(|m| Failure::input(format!("{shown}: geometry: {m}")))?;
    let name = name
        .map(str::to_string)
        .or_else(|| feature["properties"]["name"].as_str().map(str::to_string))
        .ok_or_else(|| {
            Failure::input(format!(
                "{shown}: give the territory a name with --name (or a name property)"
            ))
        })?;
    let territory =
        Territory::new(&name, outline).map_err(|m| Failure::input(format!("{shown}: {m}")))?;
    let meta = ChangeMeta {
        author: author.unwrap_or_else(super::default_author),
        reason: reason.unwrap_or_else(|| format!("territory of operations from {shown}")),
        source: file.file_name().map(|n| n.to_string_lossy().into_owned()),
    };
    if meta.author.trim().is_empty() || meta.reason.trim().is_empty() {
        return Err(Failure::input("--author and --reason must not be empty"));
    }
    let mut store = super::open_store(cli, OpenMode::Create)?;
    let summary = store.set_territory(&territory, meta)?;
    match summary.changeset {
        0 => outln!("the territory is already {name}; nothing changed"),
        c => outln!("territory of operations: {name} (changeset {c})"),
    }
    Ok(0)
}

fn show(cli: &Cli, as_json: bool) -> CmdResult {
    use geo::BoundingRect;
    let store = super::open_existing(cli)?;
    let t = store.territory()?;
    let bbox = t
        .outline()
        .bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    if as_json {
        let geometry = cairn_formats::geojson::geometry_value(&geo_types::Geometry::MultiPolygon(
            t.outline().clone(),
        ));
        let v = json!({"type": "Feature", "bbox": bbox, "geometry": geometry,
            "properties": {"name": t.name()}});
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        outln!("{}", t.name());
        if let Some([a, b, c, d]) = bbox {
            outln!("longitude {a} to {c}, latitude {b} to {d}");
        }
    }
    Ok(0)
}
