//! An audit of a store: the policy file read, its zones found, the settlements loaded, the
//! records in scope read with their timelines, the device catalogue in force at the audit's time
//! read from the store, and the rules run. Shared by `cairn audit` and the
//! auditors' HTTP endpoint.

use std::path::{Path, PathBuf};

use cairn_core::Timestamp;

use crate::policy::{Policy, PolicyError, Scope, SettlementSource};
use crate::{Audit, Context, Settlement, Subject, audit};

/// Why an audit could not run.
#[derive(Debug)]
pub enum RunError {
    /// The policy (or a file it names) is at fault: the message names the file and line.
    Policy(PolicyError),
    /// Something else named in the policy could not be read.
    Input(String),
    Store(cairn_store::StoreError),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Policy(e) => e.fmt(f),
            RunError::Input(m) => f.write_str(m),
            RunError::Store(e) => e.fmt(f),
        }
    }
}

impl From<cairn_store::StoreError> for RunError {
    fn from(e: cairn_store::StoreError) -> RunError {
        RunError::Store(e)
    }
}

/// A policy with where it came from (for errors and relative paths).
#[derive(Clone, Debug)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub name: String,
    pub dir: PathBuf,
}

impl LoadedPolicy {
    /// Reads and parses a policy file.
    pub fn read(path: &Path) -> Result<LoadedPolicy, RunError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunError::Input(format!("cannot read policy {}: {e}", path.display())))?;
        Self::from_text(
            &text,
            &path.display().to_string(),
            path.parent().unwrap_or(Path::new(".")),
        )
    }

    /// Parses policy text; `name` names it in errors, `dir` anchors relative file names.
    pub fn from_text(text: &str, name: &str, dir: &Path) -> Result<LoadedPolicy, RunError> {
        Ok(LoadedPolicy {
            policy: Policy::parse(text, name).map_err(RunError::Policy)?,
            name: name.to_string(),
            dir: dir.to_path_buf(),
        })
    }
}

/// The GeoNames settlements shipped with Cairn.
pub fn geonames() -> Vec<Settlement> {
    cairn_synth::reference()
        .settlements
        .iter()
        .map(|s| Settlement {
            name: s.name.clone(),
            lon: s.lon,
            lat: s.lat,
        })
        .collect()
}

/// Settlements from a GeoJSON file of Point features with a `name`.
pub fn settlements_from_file(path: &Path) -> Result<Vec<Settlement>, RunError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RunError::Input(format!("cannot read settlements {}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| RunError::Input(format!("{}: not JSON: {e}", path.display())))?;
    let features = v
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or_else(|| {
            RunError::Input(format!(
                "{}: not a GeoJSON FeatureCollection",
                path.display()
            ))
        })?;
    let mut out = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let bad = |m: &str| RunError::Input(format!("{}: features[{i}]: {m}", path.display()));
        let c = f
            .pointer("/geometry/coordinates")
            .and_then(|c| c.as_array())
            .filter(|_| f.pointer("/geometry/type").and_then(|t| t.as_str()) == Some("Point"))
            .ok_or_else(|| bad("geometry must be a Point"))?;
        let (Some(lon), Some(lat)) = (
            c.first().and_then(|x| x.as_f64()),
            c.get(1).and_then(|x| x.as_f64()),
        ) else {
            return Err(bad("geometry.coordinates must be [longitude, latitude]"));
        };
        if !cairn_core::validate::position_ok([lon, lat]) {
            return Err(bad("geometry.coordinates are not a longitude and latitude"));
        }
        let name = f
            .pointer("/properties/name")
            .and_then(|n| n.as_str())
            .ok_or_else(|| bad("properties.name is missing"))?;
        out.push(Settlement {
            name: name.to_string(),
            lon,
            lat,
        });
    }
    Ok(out)
}

/// Audits the store against the policy at time `at`, judging device types by the store's device
/// catalogue in force at `at` (so an audit at a time before a catalogue change gives the result it
/// gave then); the audit names that version.
pub fn run(
    store: &dyn cairn_store::Backend,
    loaded: &LoadedPolicy,
    at: Timestamp,
) -> Result<Audit, RunError> {
    let versioned = store.catalogue(Some(at))?;
    let catalogue = &versioned.catalogue;
    let p = &loaded.policy;
    let zones = store.zones()?;
    let permitted = p
        .permitted(&zones, &loaded.name)
        .map_err(RunError::Policy)?;
    let settlements = match &p.settlement_distance {
        None => Vec::new(),
        Some(s) => match &s.settlements {
            SettlementSource::GeoNames => geonames(),
            SettlementSource::File(f) => settlements_from_file(&loaded.dir.join(f))?,
        },
    };
    let wide = [&p.marking, &p.public_warning].iter().any(|d| {
        d.as_ref()
            .is_some_and(|d| d.applies_to == Scope::AllHazards)
    });
    let subjects: Vec<Subject> = store
        .audit_subjects()?
        .into_iter()
        .map(|(area, timeline)| Subject { area, timeline })
        .collect();
    let others = if wide {
        store.audit_other_hazards()?
    } else {
        Vec::new()
    };
    let mut result = audit(
        &subjects,
        &others,
        &Context {
            policy: p,
            catalogue,
            permitted,
            settlements: &settlements,
            at,
        },
    );
    result.catalogue_version = Some(versioned.version);
    Ok(result)
}
