//! Another system's records made into Cairn's on the way in (`cairn import --mapping`,
//! `--mgrs-column`): each feature's properties are renamed, their codes mapped and defaults set
//! by a mapping file, and a column of MGRS references gives the geometry, before the feature is
//! read and checked like any other. Works on a feature as GeoJSON, so every input format (GeoJSON,
//! CSV, and whatever GDAL reads) goes through the same code.
//!
//! A mapping file is TOML:
//!
//! ```toml
//! [fields]            # their field = Cairn's field
//! Statut = "status"
//! Typ = "device_type"
//!
//! [values.status]     # Cairn's field: their code = Cairn's value
//! CHA = "confirmed"
//! SHA = "suspected"
//!
//! [defaults]          # set when a feature has no value (after renaming)
//! classification = "restricted"
//! ```
//!
//! The flat names `device_type`, `quantity`, `emplaced_from`, `emplaced_to` (one device group) and
//! `evidence_kind`, `evidence_description`, `evidence_source` are folded into `devices` and
//! `evidence`, as the CSV reader does. Fields a mapping does not name are kept as they are.

use std::collections::BTreeMap;

use cairn_core::{Catalogue, Classification, EvidenceKind, Marking, Problem, Status, WireEnum};
use serde_json::{Map, Value};
use toml::Spanned;

/// What to do to every feature on the way in.
#[derive(Clone, Debug, Default)]
pub struct Adapt {
    /// The property holding an MGRS reference that gives the feature's geometry.
    pub mgrs_column: Option<String>,
    pub mapping: Option<Mapping>,
}

/// A mapping file, checked.
#[derive(Clone, Debug, Default)]
pub struct Mapping {
    fields: BTreeMap<String, String>,
    values: BTreeMap<String, BTreeMap<String, Value>>,
    defaults: BTreeMap<String, Value>,
}

/// The fields a mapping may name as Cairn's.
pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "status",
    "classification",
    "organisation",
    "marking",
    "reported_at",
    "radius_m",
    "width_m",
    "devices",
    "reference_points",
    "emplacement",
    "device_type",
    "quantity",
    "emplaced_from",
    "emplaced_to",
    "evidence_kind",
    "evidence_description",
    "evidence_source",
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    fields: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    values: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    #[serde(default)]
    defaults: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

impl Mapping {
    /// Reads and checks a mapping file's text; an error names the file (`name`), the line and the
    /// key at fault.
    pub fn parse(name: &str, text: &str, catalogue: &Catalogue) -> Result<Mapping, String> {
        let line = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
        let raw: RawMapping = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(": line {}", line(s.start)))
                .unwrap_or_default();
            format!("{name}{at}: {}", e.message())
        })?;
        let bad =
            |at: usize, key: String, m: String| format!("{name}: line {}: {key}: {m}", line(at));
        let field = |f: &Spanned<String>, key: String| -> Result<String, String> {
            if FIELDS.contains(&f.get_ref().as_str()) {
                Ok(f.get_ref().clone())
            } else {
                Err(bad(
                    f.span().start,
                    key,
                    format!(
                        "{:?} is not a Cairn field; one of {}",
                        f.get_ref(),
                        FIELDS.join(", ")
                    ),
                ))
            }
        };
        let mut m = Mapping::default();
        let mut targets = BTreeMap::new();
        for (from, to) in &raw.fields {
            let key = format!("fields.{}", from.get_ref());
            let to = field(to, key.clone())?;
            if let Some(other) = targets.insert(to.clone(), from.get_ref().clone()) {
                return Err(bad(
                    from.span().start,
                    key,
                    format!("{other} is already mapped to {to}"),
                ));
            }
            m.fields.insert(from.get_ref().clone(), to);
        }
        // A value the mapping gives for `to` (a code's or a default): text or a number that the
        // field accepts, else an error naming its line and key.
        let value = |v: &Spanned<toml::Value>, to: &str, key: String| -> Result<Value, String> {
            let value = scalar(v.get_ref()).ok_or_else(|| {
                bad(
                    v.span().start,
                    key.clone(),
                    "must be text or a number".into(),
                )
            })?;
            check_value(to, &value, catalogue).map_err(|e| bad(v.span().start, key, e))?;
            Ok(value)
        };
        for (target, table) in &raw.values {
            let to = field(target, format!("values.{}", target.get_ref()))?;
            let mut codes = BTreeMap::new();
            for (code, v) in table {
                let key = format!("values.{to}.{}", code.get_ref());
                codes.insert(code.get_ref().clone(), value(v, &to, key)?);
            }
            m.values.insert(to, codes);
        }
        for (target, v) in &raw.defaults {
            let to = field(target, format!("defaults.{}", target.get_ref()))?;
            let v = value(v, &to, format!("defaults.{to}"))?;
            m.defaults.insert(to, v);
        }
        Ok(m)
    }

    /// Renames, maps codes and sets defaults in one feature's properties.
    fn apply(&self, props: &mut Map<String, Value>) {
        let old = std::mem::take(props);
        for (k, v) in old {
            let k = self.fields.get(&k).cloned().unwrap_or(k);
            props.insert(k, v);
        }
        for (field, codes) in &self.values {
            if let Some(v) = props.get_mut(field) {
                let code = match &*v {
                    Value::String(s) => s.trim().to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                if let Some(to) = codes.get(&code) {
                    *v = to.clone();
                }
            }
        }
        for (field, v) in &self.defaults {
            match props.get(field) {
                None | Some(Value::Null) => {
                    props.insert(field.clone(), v.clone());
                }
                Some(Value::String(s)) if s.trim().is_empty() => {
                    props.insert(field.clone(), v.clone());
                }
                _ => {}
            }
        }
    }
}

fn scalar(v: &toml::Value) -> Option<Value> {
    match v {
        toml::Value::String(s) => Some(Value::String(s.clone())),
        toml::Value::Integer(i) => Some(Value::from(*i)),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number),
        toml::Value::Boolean(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// A value a mapping gives must be one Cairn takes for that field.
fn check_value(field: &str, v: &Value, catalogue: &Catalogue) -> Result<(), String> {
    let text = v.as_str().unwrap_or_default();
    match field {
        "status" => Status::parse(text).map(|_| ()),
        "classification" => Classification::parse(text).map(|_| ()),
        "marking" => Marking::parse(text).map(|_| ()),
        "evidence_kind" => EvidenceKind::parse(text).map(|_| ()),
        "device_type" if catalogue.get(text).is_none() => Err(format!(
            "{text:?} is not a device type of the catalogue (cairn catalogue list)"
        )),
        _ => Ok(()),
    }
}

impl Adapt {
    /// True when there is anything to do.
    pub fn is_active(&self) -> bool {
        self.mgrs_column.is_some() || self.mapping.is_some()
    }

    /// Applies the mapping and the MGRS column to a GeoJSON feature; the problems name the
    /// property at fault (`properties.COLUMN`).
    pub fn apply(&self, feature: &mut Value) -> Vec<Problem> {
        let mut problems = Vec::new();
        let Some(props) = feature.get_mut("properties").and_then(Value::as_object_mut) else {
            return problems;
        };
        if let Some(m) = &self.mapping {
            m.apply(props);
        }
        fold(props, &mut problems);
        let mut geometry = None;
        if let Some(col) = &self.mgrs_column {
            let field = format!("properties.{col}");
            match props.remove(col) {
                None | Some(Value::Null) => problems.push(Problem::new(
                    field,
                    "is empty: this row needs an MGRS reference (--mgrs-column)",
                )),
                Some(Value::String(s)) => match crate::mgrs::square(&s) {
                    Ok(sq) => geometry = Some(square_geometry(&sq, props)),
                    Err(m) => problems.push(Problem::new(field, m)),
                },
                Some(other) => problems.push(Problem::new(
                    field,
                    format!("must be an MGRS reference as text, not {other}"),
                )),
            }
        }
        if let Some(g) = geometry {
            feature["geometry"] = g;
        } else if self.mgrs_column.is_some() {
            feature["geometry"] = Value::Null;
        }
        problems
    }
}

/// The geometry of a hazard given by an MGRS square: the square itself; or, for a spot hazard
/// (a `radius_m` given), a spot at the square's centre whose radius also covers the whole square
/// (the radius given plus half the square's diagonal), so the hazard is never smaller than the
/// reference allows.
fn square_geometry(sq: &crate::mgrs::Square, props: &mut Map<String, Value>) -> Value {
    let radius = props.get("radius_m").and_then(|r| match r {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    });
    match radius {
        Some(r) if r.is_finite() && r > 0.0 => {
            let grown = r + sq.side_m * std::f64::consts::SQRT_2 / 2.0;
            props.insert(
                "radius_m".into(),
                serde_json::Number::from_f64((grown * 100.0).ceil() / 100.0)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
            );
            serde_json::json!({"type": "Point", "coordinates": sq.centre})
        }
        _ => serde_json::json!({"type": "Polygon", "coordinates": [sq.ring]}),
    }
}

/// Folds the flat device and evidence names into `devices` and `evidence`.
fn fold(props: &mut Map<String, Value>, problems: &mut Vec<Problem>) {
    let mut device = Map::new();
    for k in ["device_type", "quantity", "emplaced_from", "emplaced_to"] {
        if let Some(v) = props.remove(k) {
            if v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()) {
                continue;
            }
            let v = match (k, &v) {
                ("quantity", Value::String(s)) if s.trim().eq_ignore_ascii_case("unknown") => {
                    Value::Null
                }
                ("quantity", Value::String(s)) => s
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or(v.clone()),
                _ => v,
            };
            device.insert(if k == "device_type" { "type" } else { k }.into(), v);
        }
    }
    if !device.is_empty() {
        if props.contains_key("devices") {
            problems.push(Problem::new(
                "properties.devices",
                "give either devices or device_type/quantity, not both",
            ));
        } else {
            props.insert("devices".into(), Value::Array(vec![Value::Object(device)]));
        }
    }
    let mut evidence = Map::new();
    for k in ["evidence_kind", "evidence_description", "evidence_source"] {
        if let Some(v) = props.remove(k)
            && !v.is_null()
        {
            evidence.insert(k["evidence_".len()..].into(), v);
        }
    }
    if !evidence.is_empty() && !props.contains_key("evidence") {
        props.insert("evidence".into(), Value::Object(evidence));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<Mapping, String> {
        Mapping::parse("map.toml", text, &Catalogue::builtin())
    }

    #[test]
    fn a_mapping_renames_maps_codes_and_sets_defaults() {
        let m = parse(
            "[fields]\nStatut = \"status\"\nTyp = \"device_type\"\nAnzahl = \"quantity\"\n\n[values.status]\nCHA = \"confirmed\"\nSHA = \"suspected\"\n\n[defaults]\nclassification = \"restricted\"\nevidence_kind = \"indirect\"\nevidence_description = \"national database\"\n",
        )
        .unwrap();
        let adapt = Adapt {
            mgrs_column: None,
            mapping: Some(m),
        };
        let mut f = json!({"type": "Feature", "geometry": null, "properties": {
            "Statut": "SHA", "Typ": "ap-mine-persistent", "Anzahl": "12", "Other": "kept"}});
        assert!(adapt.apply(&mut f).is_empty());
        assert_eq!(
            f["properties"],
            json!({"status": "suspected", "classification": "restricted", "Other": "kept",
                "devices": [{"type": "ap-mine-persistent", "quantity": 12}],
                "evidence": {"kind": "indirect", "description": "national database"}})
        );
    }

    #[test]
    fn a_bad_mapping_is_refused_naming_the_line_and_key() {
        for (text, says) in [
            (
                "[fields]\nStatut = \"stauts\"\n",
                "map.toml: line 2: fields.Statut: \"stauts\" is not a Cairn field",
            ),
            (
                "[values.status]\nCHA = \"confirmd\"\n",
                "map.toml: line 2: values.status.CHA:",
            ),
            (
                "\n[defaults]\nclassification = [1]\n",
                "map.toml: line 3: defaults.classification: must be text",
            ),
            (
                "[values.device_type]\nPMN = \"pmn-2\"\n",
                "map.toml: line 2: values.device_type.PMN: \"pmn-2\" is not a device type",
            ),
            ("[feilds]\nA = \"status\"\n", "map.toml: line 1"),
            (
                "[fields]\nA = \"status\"\nB = \"status\"\n",
                "fields.B: A is already mapped to status",
            ),
            ("[fields\n", "map.toml: line 1"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
