//! The device-type catalogue: generic explosive-ordnance types with their persistence profiles.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::residual::Profile;

/// The catalogue shipped with Cairn, as editable TOML.
pub const BUILTIN_TOML: &str = include_str!("../data/device-types.toml");

/// The broad category of a device type, as used in reports and public warnings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    ApMine,
    AtMine,
    ClusterMunitionRemnant,
    Uxo,
    Ied,
    Other,
}

impl Category {
    /// The wire name, e.g. `ap-mine`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::ApMine => "ap-mine",
            Category::AtMine => "at-mine",
            Category::ClusterMunitionRemnant => "cluster-munition-remnant",
            Category::Uxo => "uxo",
            Category::Ied => "ied",
            Category::Other => "other",
        }
    }

    /// Plain English label for people.
    pub fn label(self) -> &'static str {
        match self {
            Category::ApMine => "anti-personnel mine",
            Category::AtMine => "anti-tank mine",
            Category::ClusterMunitionRemnant => "cluster munition remnant",
            Category::Uxo => "unexploded ordnance",
            Category::Ied => "improvised explosive device",
            Category::Other => "other explosive ordnance",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One generic device type.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceType {
    pub id: String,
    pub name: String,
    pub category: Category,
    pub profile: Profile,
    /// Manufacturer's claimed failure fraction of the self-destruct mechanism; shown, never used.
    pub claimed_sd_fail: Option<f64>,
    /// Manufacturer's claimed residual fraction after self-deactivation; shown, never used.
    pub claimed_residual: Option<f64>,
}

impl DeviceType {
    /// True when the type has a self-destruct or self-deactivation mechanism.
    pub fn is_non_persistent(&self) -> bool {
        matches!(self.profile, Profile::NonPersistent { .. })
    }
}

/// The set of device types an import is checked against.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalogue {
    types: BTreeMap<String, DeviceType>,
}

/// Why a catalogue file could not be used; names the entry and field at fault.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue is not valid TOML: {0}")]
    Toml(String),
    #[error("catalogue entry {index} ({id}): {message}")]
    Entry {
        index: usize,
        id: String,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    device_type: Vec<RawType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawType {
    id: String,
    name: String,
    category: Category,
    persistence: String,
    sd_max_hours: Option<f64>,
    sd_fail: Option<f64>,
    sda_max_days: Option<f64>,
    residual: Option<f64>,
    claimed_sd_fail: Option<f64>,
    claimed_residual: Option<f64>,
}

impl Catalogue {
    /// The catalogue shipped with Cairn.
    pub fn builtin() -> Catalogue {
        // The shipped file is checked by a unit test, so a failure here is a build defect.
        Catalogue::from_toml(BUILTIN_TOML).expect("the built-in device catalogue is valid")
    }

    /// Parses and checks a catalogue; every entry must be complete and consistent.
    pub fn from_toml(text: &str) -> Result<Catalogue, CatalogueError> {
        let raw: RawCatalogue =
            toml::from_str(text).map_err(|e| CatalogueError::Toml(e.to_string()))?;
        let mut types = BTreeMap::new();
        for (index, t) in raw.device_type.into_iter().enumerate() {
            let entry_err = |message: String| CatalogueError::Entry {
                index: index + 1,
                id: t.id.clone(),
                message,
            };
            if t.id.trim().is_empty() {
                return Err(entry_err("id is empty".into()));
            }
            let profile = match t.persistence.as_str() {
                "persistent" => {
                    if t.sd_max_hours.is_some() || t.sda_max_days.is_some() {
                        return Err(entry_err(
                            "a persistent type cannot have sd_max_hours or sda_max_days".into(),
                        ));
                    }
                    Profile::Persistent
                }
                "non-persistent" => {
                    let need = |v: Option<f64>, name: &str| {
                        v.ok_or_else(|| {
                            entry_err(format!("non-persistent type needs field {name}"))
                        })
                    };
                    let sd_max_h = need(t.sd_max_hours, "sd_max_hours")?;
                    let sda_max_d = need(t.sda_max_days, "sda_max_days")?;
                    let sd_fail = need(t.sd_fail, "sd_fail")?;
                    let residual = need(t.residual, "residual")?;
                    let profile = Profile::NonPersistent {
                        sd_max_s: (sd_max_h * 3600.0).round() as i64,
                        sd_fail,
                        sda_max_s: (sda_max_d * 86400.0).round() as i64,
                        residual,
                    };
                    profile.check().map_err(entry_err)?;
                    profile
                }
                other => {
                    return Err(entry_err(format!(
                        "persistence must be \"persistent\" or \"non-persistent\", not {other:?}"
                    )));
                }
            };
            let dt = DeviceType {
                id: t.id.clone(),
                name: t.name,
                category: t.category,
                profile,
                claimed_sd_fail: t.claimed_sd_fail,
                claimed_residual: t.claimed_residual,
            };
            if types.insert(t.id.clone(), dt).is_some() {
                return Err(entry_err("id appears twice in the catalogue".into()));
            }
        }
        Ok(Catalogue { types })
    }

    /// Looks a type up by id.
    pub fn get(&self, id: &str) -> Option<&DeviceType> {
        self.types.get(id)
    }

    /// Every type, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &DeviceType> {
        self.types.values()
    }

    /// A short list of known ids for error messages.
    pub fn known_ids(&self) -> String {
        self.types.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_parses_with_planning_ceilings() {
        let c = Catalogue::from_toml(BUILTIN_TOML).unwrap();
        let t = c.get("ap-mine-nonpersistent-15d").unwrap();
        assert_eq!(t.category, Category::ApMine);
        assert_eq!(
            t.profile,
            Profile::NonPersistent {
                sd_max_s: 15 * 86400,
                sd_fail: 0.10,
                sda_max_s: 120 * 86400,
                residual: 0.001
            }
        );
        assert_eq!(
            c.get("ap-mine-persistent").unwrap().profile,
            Profile::Persistent
        );
        for cat in [
            Category::ApMine,
            Category::AtMine,
            Category::ClusterMunitionRemnant,
            Category::Uxo,
            Category::Ied,
            Category::Other,
        ] {
            assert!(c.iter().any(|t| t.category == cat), "no type of {cat}");
        }
    }

    #[test]
    fn bad_catalogues_name_the_entry() {
        let dup = "[[device_type]]\nid='a'\nname='A'\ncategory='uxo'\npersistence='persistent'\n\
                   [[device_type]]\nid='a'\nname='B'\ncategory='uxo'\npersistence='persistent'\n";
        let e = Catalogue::from_toml(dup).unwrap_err().to_string();
        assert!(e.contains("entry 2 (a)") && e.contains("twice"), "{e}");
        let missing = "[[device_type]]\nid='np'\nname='N'\ncategory='ap-mine'\npersistence='non-persistent'\nsd_max_hours=4\n";
        let e = Catalogue::from_toml(missing).unwrap_err().to_string();
        assert!(e.contains("np") && e.contains("sda_max_days"), "{e}");
        let bad = "[[device_type]]\nid='np'\nname='N'\ncategory='ap-mine'\npersistence='non-persistent'\nsd_max_hours=4\nsda_max_days=120\nsd_fail=1.5\nresidual=0.001\n";
        let e = Catalogue::from_toml(bad).unwrap_err().to_string();
        assert!(e.contains("sd_fail"), "{e}");
        let e = Catalogue::from_toml(
            "[[device_type]]\nid='x'\nname='X'\ncategory='tank'\npersistence='persistent'\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("category") || e.contains("tank"), "{e}");
    }
}
