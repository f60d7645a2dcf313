//! `cairn catalogue list | show | import | versions`: the device catalogue, versioned in the
//! store. Every command that judges devices (show, check, export, audit, import…) reads the
//! catalogue in force from the store through `in_force`, so a result depends on nothing unrecorded.

use std::path::PathBuf;

use cairn_core::residual::Profile;
use cairn_core::time::Cautious;
use cairn_core::{Catalogue, DeviceType, Timestamp};
use cairn_store::ChangeMeta;
use cairn_store::sqlite::catalogue::{
    CatalogueImport, CatalogueImportError, CatalogueVersion, TypeChange, VersionedCatalogue,
};
use serde_json::{Value, json};

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn catalogue`.
#[derive(clap::Args, Debug)]
pub struct CatalogueArgs {
    #[command(subcommand)]
    pub what: CatalogueCmd,
}

/// Catalogue commands.
#[derive(clap::Subcommand, Debug)]
pub enum CatalogueCmd {
    /// The device types of the version in force: id, category, persistence profile, name.
    List {
        /// The version in force at this recorded time (RFC 3339, or a date meaning its first
        /// moment); default now.
        #[arg(long)]
        at: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// One device type's profile now, and every version that changed it: who, when, why.
    Show {
        /// The type's id, e.g. ap-mine-nonpersistent-15d.
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Record a catalogue file (TOML, the format of the shipped device-types.toml) as the next
    /// version; an identical one writes nothing.
    Import {
        /// The catalogue file.
        file: PathBuf,
        /// Who changes the catalogue (default: $CAIRN_AUTHOR, else the login name).
        #[arg(long)]
        author: Option<String>,
        /// Why, in a sentence (required).
        #[arg(long)]
        reason: String,
    },
    /// Every version: number, changeset, recorded time, author, reason.
    Versions {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// The store's catalogue in force at recorded time `as_of` (now when `None`). A store not yet
/// created will get the shipped catalogue as version 1, so that is what it has.
pub fn in_force(cli: &Cli, as_of: Option<Timestamp>) -> Result<VersionedCatalogue, Failure> {
    if cli.db_file().is_some_and(|path| !path.exists()) {
        return Ok(VersionedCatalogue {
            version: 1,
            catalogue: Catalogue::builtin(),
        });
    }
    Ok(super::open_existing(cli)?.catalogue(as_of)?)
}

/// Runs `cairn catalogue`.
pub fn run(cli: &Cli, args: &CatalogueArgs) -> CmdResult {
    match &args.what {
        CatalogueCmd::List { at, json } => list(cli, at.as_deref(), *json),
        CatalogueCmd::Show { id, json } => show(cli, id, *json),
        CatalogueCmd::Import {
            file,
            author,
            reason,
        } => import(cli, file, author.as_deref(), reason),
        CatalogueCmd::Versions { json } => versions(cli, *json),
    }
}

fn time(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn print_json(v: &Value) {
    outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// A device type as JSON, with its profile in the catalogue file's own units.
pub fn type_json(t: &DeviceType) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "category": t.category,
    });
    match t.profile {
        Profile::Persistent => v["persistence"] = json!("persistent"),
        Profile::NonPersistent {
            sd_max_s,
            sd_fail,
            sda_max_s,
            residual,
        } => {
            v["persistence"] = json!("non-persistent");
            v["sd_max_hours"] = json!(sd_max_s as f64 / 3600.0);
            v["sd_fail"] = json!(sd_fail);
            v["sda_max_days"] = json!(sda_max_s as f64 / 86400.0);
            v["residual"] = json!(residual);
        }
    }
    if let Some(x) = t.claimed_sd_fail {
        v["claimed_sd_fail"] = json!(x);
    }
    if let Some(x) = t.claimed_residual {
        v["claimed_residual"] = json!(x);
    }
    v
}

/// A persistence profile in a few words.
fn profile_text(p: &Profile) -> String {
    match *p {
        Profile::Persistent => "persistent".into(),
        Profile::NonPersistent {
            sd_max_s,
            sd_fail,
            sda_max_s,
            residual,
        } => format!(
            "non-persistent: self-destruct by {} h (failing {sd_fail}), self-deactivation by {} d (residual {residual})",
            sd_max_s as f64 / 3600.0,
            sda_max_s as f64 / 86400.0
        ),
    }
}

fn version_json(v: &CatalogueVersion) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn attribution(v: &CatalogueVersion) -> String {
    format!(
        "recorded {} by {}: {}",
        time(v.recorded_at),
        v.author,
        v.reason
    )
}

fn list(cli: &Cli, at: Option<&str>, json: bool) -> CmdResult {
    let at = at
        .map(|s| super::parse_time_arg("--at", s, Cautious::Earliest))
        .transpose()?;
    let store = super::open_existing(cli)?;
    let c = store.catalogue(at)?;
    let about = store
        .catalogue_versions()?
        .into_iter()
        .find(|v| v.version == c.version);
    if json {
        print_json(&json!({
            "version": c.version,
            "attribution": about.as_ref().map(version_json),
            "types": c.catalogue.iter().map(type_json).collect::<Vec<_>>(),
        }));
        return Ok(0);
    }
    outln!(
        "Device catalogue version {}{} ({} types)",
        c.version,
        about
            .as_ref()
            .map(|v| format!(", {}", attribution(v)))
            .unwrap_or_default(),
        c.catalogue.iter().count()
    );
    outln!("{:<32} {:<26} {:<15} NAME", "ID", "CATEGORY", "PERSISTENCE");
    for t in c.catalogue.iter() {
        outln!(
            "{:<32} {:<26} {:<15} {}",
            t.id,
            t.category.as_str(),
            if t.is_non_persistent() {
                "non-persistent"
            } else {
                "persistent"
            },
            t.name
        );
    }
    Ok(0)
}

fn change_json(c: &TypeChange) -> Value {
    json!({
        "version": c.version.version,
        "changeset": c.version.changeset,
        "recorded_at": c.version.recorded_at,
        "author": c.version.author,
        "reason": c.version.reason,
        "change": c.kind,
        "before": c.before.as_ref().map(type_json),
        "after": c.after.as_ref().map(type_json),
    })
}

fn show(cli: &Cli, id: &str, json: bool) -> CmdResult {
    let store = super::open_existing(cli)?;
    let now = store.catalogue(None)?;
    let history = store.device_type_history(id)?;
    if history.is_empty() {
        return Err(Failure::input(format!(
            "no device type {id} in any catalogue version; version {} has {}",
            now.version,
            now.catalogue.known_ids()
        )));
    }
    let current = now.catalogue.get(id);
    if json {
        print_json(&json!({
            "id": id,
            "version": now.version,
            "type": current.map(type_json),
            "changes": history.iter().map(change_json).collect::<Vec<_>>(),
        }));
        return Ok(0);
    }
    match current {
        Some(t) => {
            outln!("{}  {}", t.id, t.name);
            outln!("  category     {} ({})", t.category, t.category.label());
            outln!("  persistence  {}", profile_text(&t.profile));
            if let Some(x) = t.claimed_sd_fail {
                outln!("  claimed self-destruct failure {x} (shown, never used)");
            }
            if let Some(x) = t.claimed_residual {
                outln!("  claimed residual {x} (shown, never used)");
            }
            outln!("  in catalogue version {} (in force now)", now.version);
        }
        None => outln!(
            "{id}: not in catalogue version {} (in force now)",
            now.version
        ),
    }
    outln!("Versions that changed it:");
    for c in &history {
        let what = match (&c.before, &c.after) {
            (None, Some(a)) => format!("added, {}", profile_text(&a.profile)),
            (Some(_), None) => "removed".to_string(),
            (Some(b), Some(a)) => describe_change(b, a),
            (None, None) => String::new(),
        };
        outln!(
            "  version {}  {}  {}  ({})",
            c.version.version,
            attribution(&c.version),
            what,
            c.version.source.as_deref().unwrap_or("no source")
        );
    }
    Ok(0)
}

/// What changed in a type between two versions, field by field.
fn describe_change(b: &DeviceType, a: &DeviceType) -> String {
    let mut parts = Vec::new();
    if b.name != a.name {
        parts.push(format!("name {:?} → {:?}", b.name, a.name));
    }
    if b.category != a.category {
        parts.push(format!("category {} → {}", b.category, a.category));
    }
    if b.profile != a.profile {
        parts.push(format!(
            "persistence {} → {}",
            profile_text(&b.profile),
            profile_text(&a.profile)
        ));
    }
    if b.claimed_sd_fail != a.claimed_sd_fail || b.claimed_residual != a.claimed_residual {
        parts.push("manufacturer's claims changed".into());
    }
    format!("changed: {}", parts.join("; "))
}

fn import(cli: &Cli, file: &PathBuf, author: Option<&str>, reason: &str) -> CmdResult {
    let name = file.display().to_string();
    if reason.trim().is_empty() {
        return Err(Failure::input(
            "--reason: say why the catalogue changes, in a sentence",
        ));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::input(format!("{name}: cannot read catalogue: {e}")))?;
    let mut store = super::open_existing(cli)?;
    let meta = ChangeMeta {
        author: author.map_or_else(super::default_author, str::to_string),
        reason: reason.to_string(),
        source: Some(name.clone()),
    };
    match store.import_catalogue(&text, meta) {
        Ok(CatalogueImport::Written(v)) => {
            outln!(
                "{name}: recorded as device catalogue version {} (changeset {}, {})",
                v.version,
                v.changeset,
                attribution(&v)
            );
            Ok(0)
        }
        Ok(CatalogueImport::Unchanged(v)) => {
            outln!("{name}: identical to device catalogue version {v}, in force; nothing written");
            Ok(0)
        }
        Err(CatalogueImportError::Store(e)) => Err(e.into()),
        Err(e) => Err(Failure::input(format!("{name}: {e}; nothing written"))),
    }
}

fn versions(cli: &Cli, json: bool) -> CmdResult {
    let store = super::open_existing(cli)?;
    let all = store.catalogue_versions()?;
    if json {
        print_json(&Value::Array(all.iter().map(version_json).collect()));
        return Ok(0);
    }
    outln!(
        "{:<8} {:<10} {:<21} {:<16} REASON",
        "VERSION",
        "CHANGESET",
        "RECORDED",
        "AUTHOR"
    );
    for v in &all {
        outln!(
            "{:<8} {:<10} {:<21} {:<16} {}",
            v.version,
            v.changeset,
            time(v.recorded_at),
            v.author,
            v.reason
        );
    }
    Ok(0)
}
