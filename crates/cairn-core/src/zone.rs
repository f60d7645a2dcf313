//! Zones: named polygons that policies and reports refer to — zones where emplacement is
//! permitted, and administrative areas such as oblasts. Zones are records with history like
//! every other: a re-imported zone is a new revision, never an overwrite.

use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};

use crate::area::WireEnum;
use crate::validate::Problem;

/// What a zone is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZoneKind {
    /// A zone where emplacement of AP devices is permitted by the supply conditions.
    Permitted,
    /// An oblast (first-level administrative area); reports give figures per oblast.
    Oblast,
    /// Any other administrative area (raion, hromada).
    Admin,
    Other,
}

impl WireEnum for ZoneKind {
    const ALL: &'static [(ZoneKind, &'static str)] = &[
        (ZoneKind::Permitted, "permitted"),
        (ZoneKind::Oblast, "oblast"),
        (ZoneKind::Admin, "admin"),
        (ZoneKind::Other, "other"),
    ];
}

/// What is recorded about a zone besides its id and geometry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneFacts {
    pub name: String,
    pub kind: ZoneKind,
    /// Where the outline comes from (a decree, a data set and its licence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A zone: a stable id (given, or `Z-` and a slug of the name), facts and outline.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    pub id: String,
    pub facts: ZoneFacts,
    pub geometry: MultiPolygon<f64>,
}

/// An id made from a zone's name: `Z-` and its lower-case ASCII letters and digits, other runs
/// as `-`; `None` when the name has none (a Cyrillic name needs an id of its own).
pub fn zone_id_from_name(name: &str) -> Option<String> {
    let mut s = String::from("Z-");
    let mut dash = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
            dash = false;
        } else if !dash && s.len() > 2 {
            s.push('-');
            dash = true;
        }
    }
    while s.ends_with('-') {
        s.pop();
    }
    (s.len() > 2).then(|| s.chars().take(crate::validate::MAX_ID_LEN).collect())
}

/// Checks a zone's facts and outline; every problem names its field.
pub fn validate_zone(zone: &Zone, problems: &mut Vec<Problem>) {
    if let Err(m) = crate::validate::check_id(&zone.id) {
        problems.push(Problem::new("id", m));
    }
    if zone.facts.name.trim().is_empty() {
        problems.push(Problem::new(
            "properties.name",
            "is required and must not be empty",
        ));
    }
    if zone.facts.name.len() > 200 {
        problems.push(Problem::new("properties.name", "is longer than 200 bytes"));
    }
    crate::validate::validate_shape(
        &crate::area::Shape::MultiPolygon(zone.geometry.clone()),
        problems,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_names() {
        assert_eq!(
            zone_id_from_name("Kharkiv Oblast").unwrap(),
            "Z-kharkiv-oblast"
        );
        assert_eq!(
            zone_id_from_name("  Permitted zone 3 (east) ").unwrap(),
            "Z-permitted-zone-3-east"
        );
        assert_eq!(zone_id_from_name("Київська область"), None);
    }
}
