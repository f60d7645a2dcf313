//! `cairn correct`: an information officer's correction of a wrong record, the one command that
//! may weaken a hazard (a lower status, a smaller or moved outline, fewer devices, public →
//! restricted). The change is a JSON merge patch of the area's GeoJSON feature, read as the HTTP
//! doors read it (`cairn_formats::patch`), checked by the one door with command `correct` and a
//! mandatory reason, and recorded as such in history.

use std::path::PathBuf;

use cairn_core::WireEnum;
use cairn_core::command::{Actor, Command};
use cairn_store::{ChangeMeta, WriteError};
use serde_json::Value;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn correct`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The hazardous area to correct.
    pub area: String,
    /// A JSON file with the change: `{"properties": {...}, "geometry": {...}}` (a merge patch of
    /// the feature; a null removes a property).
    #[arg(long)]
    pub patch: PathBuf,
    /// What was wrong with the record and how it is known (required).
    #[arg(long)]
    pub reason: String,
    /// Who corrects it (default: $CAIRN_AUTHOR, else the login name).
    #[arg(long)]
    pub by: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cairn correct`.
pub fn run(cli: &Cli, a: &Args) -> CmdResult {
    let name = a.patch.display().to_string();
    if a.reason.trim().is_empty() {
        return Err(Failure::input(
            "--reason must say what was wrong with the record; a correction is never silent",
        ));
    }
    let by = a.by.clone().unwrap_or_else(super::default_author);
    if by.trim().is_empty() {
        return Err(Failure::input("--by must not be empty"));
    }
    let text = std::fs::read_to_string(&a.patch)
        .map_err(|e| Failure::input(format!("{name}: cannot read: {e}")))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::input(format!("{name}: not valid JSON: {e}")))?;
    let Value::Object(p) = v else {
        return Err(Failure::input(format!(
            "{name}: must be a JSON object with properties and/or geometry to change"
        )));
    };
    let id = a.area.trim();
    let bad = |ps: Vec<cairn_core::Problem>| {
        Failure::input(format!(
            "{name}: {}; nothing was written",
            ps.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))
    };
    cairn_formats::patch::check_patch(&p, id).map_err(bad)?;
    let catalogue = cli.catalogue()?;
    let mut store = super::open_existing(cli)?;
    let mut tx = store.begin(ChangeMeta {
        author: by.trim().to_string(),
        reason: a.reason.trim().to_string(),
        source: Some(format!("cairn correct --patch {name}")),
    })?;
    let before = tx
        .current_area(id)?
        .ok_or_else(|| Failure::input(format!("no area {id} in the store")))?;
    let after = cairn_formats::patch::apply_patch(&before.area, &p, &catalogue, chrono::Utc::now())
        .map_err(bad)?;
    let weaker = cairn_core::command::weakenings(&before.area, &after);
    match tx.write_area(Command::Correct, Actor::ADMIN, &after) {
        Ok(_) => {}
        Err(WriteError::Refused(r)) => {
            return Err(Failure::input(format!(
                "{id}: refused: {r}; nothing was written"
            )));
        }
        Err(WriteError::Store(e)) => return Err(e.into()),
    }
    let summary = tx.commit()?;
    if a.json {
        let out = serde_json::json!({
            "id": id,
            "status": after.props.status.as_str(),
            "changeset": summary.changeset,
            "weakened": weaker.iter().map(|(f, m)| serde_json::json!({"field": f, "change": m})).collect::<Vec<_>>(),
        });
        outln!("{}", out);
    } else if summary.changeset == 0 {
        outln!("{id}: the correction changes nothing; nothing was written");
    } else {
        outln!(
            "{id}: corrected by {} (changeset {}){}",
            by.trim(),
            summary.changeset,
            if weaker.is_empty() {
                String::new()
            } else {
                format!(
                    "; it weakens the hazard: {}",
                    weaker
                        .iter()
                        .map(|(_, m)| m.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        );
    }
    Ok(0)
}
